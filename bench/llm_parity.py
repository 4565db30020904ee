"""Zero-shot parity with lm-evaluation-harness 0.4.13: benchkit's ``--mode zero-shot`` against lm-eval's own
sst2 / rte / boolq / copa tasks, on the same local data, with the same causal LM, example by example. No Hub.

    python bench/llm_parity.py                          # builds the tiny model(s), all four tasks (a few minutes)
    python bench/llm_parity.py --model-dir M --tasks sst2,copa --limit 50 --out /tmp/parity

Model: ``scripts/tiny_causal.py``'s Llama-architecture model from a config (random weights, BPE tokenizer trained on
glue-mini), with a 1024-token window: "tiny" (2 layers, hidden 64) on every row and, for the speed columns, "small" (4 layers, hidden 256) on
the first 100 rows of each task; ``--model-dir`` (repeatable) takes existing folders instead (every row, or --limit).

Data (local, official formats): GLUE SST-2 and RTE dev.tsv (``--glue-dir``), the SuperGLUE BoolQ (20 rows) and COPA
(1 row) val.jsonl format samples (``--superglue-samples``).

lm-eval side: the task configs under ``bench/lm_eval_tasks/`` (lm-eval's own default.yaml files copied verbatim but for
the task name and the local data: the files are converted to the HF datasets' rows as JSONL), run through
``lm_eval.simple_evaluate`` (num_fewshot=0, log_samples) with a prebuilt ``HFLM`` (so model loading is not timed).
Timed: the ``simple_evaluate`` call (task building from the local JSONL, requests, scoring, metrics), and separately
the model's ``loglikelihood`` calls alone.

benchkit side: ``python -m benchkit.cli run CARD --model M --mode zero-shot --data-dir D --out O --seeds 1`` on a
data folder in the cards' official layout built from the same rows (test files: the first 8 dev rows, unlabelled,
since the shared folders have none). CARD extends the built-in card (tasks/glue/sst2.yaml, ...: its fields, labels and
prompt unchanged) and only states these files' row counts (the built-in cards refuse other counts; for BoolQ/COPA,
whose train file repeats the format sample, the leakage check is off). Timed: the whole CLI process (start-up and
model load included), and the record's ``costs.examples_per_second`` (its evaluation of dev + test).

Compared: the choice of each example (lm-eval's argmax of the summed continuation log-likelihoods, mapped to the
card's label strings) against benchkit's prediction; acc on both sides; acc_norm (argmax of loglikelihood / characters
of the choice) is computed from lm-eval's log-likelihoods, though these four lm-eval tasks report acc only.
Exits 1 when any choice differs (and prints the first differing example's prompt on both sides), 2 when benchkit's
side could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TASK_TEMPLATES = Path(__file__).resolve().parent / "lm_eval_tasks"
GLUE_DIR = Path("/work/shared/data/glue")
SUPERGLUE_SAMPLES = Path("/work/shared/data/superglue/_format_samples")

# Our task name -> the lm-eval task (bench/lm_eval_tasks/<name>.yaml), benchkit's card id, the card's label string for
# each of lm-eval's choice indexes (doc_to_choice order), and a note for the table.
TASKS: dict[str, dict[str, Any]] = {
    "sst2": {"lm_eval": "parity_sst2", "card": "glue/sst2", "labels": ["negative", "positive"]},
    "rte": {"lm_eval": "parity_rte", "card": "glue/rte", "labels": ["entailment", "not_entailment"]},
    "boolq": {"lm_eval": "parity_boolq", "card": "superglue/boolq", "labels": ["false", "true"]},
    "copa": {"lm_eval": "parity_copa", "card": "superglue/copa", "labels": ["choice1", "choice2"]},
}
# The built models; "small" (for the speed columns) on the first 100 rows of each task unless --limit says otherwise.
TEST_ROWS = 8  # the unlabelled test files benchkit's cards expect: the first dev rows (benchkit predicts them too)
# A 1024-token window (scripts/tiny_causal.py's default is 512): some BoolQ passages are over 512 tokens with this
# small BPE vocabulary, which lm-eval left-truncates while benchkit refuses the run (it never cuts the input).
WINDOW = 1024
MODELS = {"tiny": {"layers": 2, "hidden": 64, "limit": None}, "small": {"layers": 4, "hidden": 256, "limit": 100}}


# -- data -----------------------------------------------------------------------------------------------------------


def read_glue_tsv(path: Path) -> list[dict[str, str]]:
    """A GLUE TSV as the official files are read: tab-separated, no quoting, no NA conversion (every cell a str)."""
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False, dtype=str)
    return frame.to_dict("records")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def load_rows(task: str, glue_dir: Path, samples: Path, limit: int | None) -> list[dict[str, Any]]:
    """The official rows of one task's dev split (the first ``limit``)."""
    if task == "sst2":
        rows = read_glue_tsv(glue_dir / "SST-2" / "dev.tsv")
    elif task == "rte":
        rows = read_glue_tsv(glue_dir / "RTE" / "dev.tsv")
    elif task == "boolq":
        rows = read_jsonl(samples / "BoolQ.val.first20.jsonl")
    elif task == "copa":
        rows = read_jsonl(samples / "COPA.val.first1.jsonl")
    else:
        raise SystemExit(f"unknown task {task!r} (known: {', '.join(TASKS)})")
    return rows[:limit] if limit else rows


def hf_rows(task: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The official rows as the HF datasets lm-eval's configs load (nyu-mll/glue, aps/super_glue) hold them."""
    if task == "sst2":
        return [{"sentence": r["sentence"], "label": int(r["label"]), "idx": i} for i, r in enumerate(rows)]
    if task == "rte":
        names = TASKS["rte"]["labels"]
        return [{"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": names.index(r["label"]),
                 "idx": int(r["index"])} for r in rows]
    if task == "boolq":
        return [{"question": r["question"], "passage": r["passage"], "idx": r["idx"], "label": int(bool(r["label"]))}
                for r in rows]
    return [dict(r) for r in rows]  # copa: the same fields as HF's


def card_gold(task: str, hf_row: dict[str, Any]) -> str:
    return TASKS[task]["labels"][int(hf_row["label"])]


def materialize_lm_eval_tasks(work: Path, tasks: list[str], per_task_rows: dict[str, list[dict]]) -> Path:
    """The lm-eval task folder this run uses: the templates of bench/lm_eval_tasks with @DATA_DIR@ filled in, and the
    JSONL files they load."""
    data_dir = work / "lm_eval_data"
    task_dir = work / "lm_eval_tasks"
    task_dir.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        write_jsonl(data_dir / f"{task}.validation.jsonl", hf_rows(task, per_task_rows[task]))
        text = (TASK_TEMPLATES / f"{TASKS[task]['lm_eval']}.yaml").read_text(encoding="utf-8")
        (task_dir / f"{TASKS[task]['lm_eval']}.yaml").write_text(text.replace("@DATA_DIR@", str(data_dir)),
                                                                 encoding="utf-8")
    shutil.copy(TASK_TEMPLATES / "utils.py", task_dir / "utils.py")  # lm-eval's COPA functions, verbatim
    return task_dir


def write_benchkit_data(work: Path, tasks: list[str], per_task_rows: dict[str, list[dict]], glue_dir: Path) -> Path:
    """A data folder in the cards' official layout (glue/sst2: SST-2/{train,dev,test}.tsv; superglue/boolq:
    BoolQ/{train,val,test}.jsonl ...) holding the same dev rows. The shared folders have no test files: each test file
    is written in the official test layout (an index/idx column, no label) from the first TEST_ROWS dev rows."""
    root = work / "benchkit_data"
    for task in tasks:
        rows = per_task_rows[task]
        if task in ("sst2", "rte"):
            folder = root / ("SST-2" if task == "sst2" else "RTE")
            folder.mkdir(parents=True, exist_ok=True)
            train = glue_dir / folder.name / "train.tsv"
            if not (folder / "train.tsv").exists():
                (folder / "train.tsv").symlink_to(train)
            columns = ["sentence", "label"] if task == "sst2" else ["index", "sentence1", "sentence2", "label"]
            test_columns = ["index", "sentence"] if task == "sst2" else ["index", "sentence1", "sentence2"]
            with (folder / "dev.tsv").open("w", encoding="utf-8", newline="") as handle:
                handle.write("\t".join(columns) + "\n")
                for row in rows:
                    handle.write("\t".join(row[c] for c in columns) + "\n")
            with (folder / "test.tsv").open("w", encoding="utf-8", newline="") as handle:
                handle.write("\t".join(test_columns) + "\n")
                for i, row in enumerate(rows[:TEST_ROWS]):
                    handle.write("\t".join(str(i) if c == "index" else row[c] for c in test_columns) + "\n")
        else:
            folder = root / ("BoolQ" if task == "boolq" else "COPA")
            write_jsonl(folder / "val.jsonl", rows)
            write_jsonl(folder / "train.jsonl", rows)
            write_jsonl(folder / "test.jsonl", [{k: v for k, v in r.items() if k != "label"} for r in rows[:TEST_ROWS]])
        write_child_card(root, task, rows)
    return root


def write_child_card(root: Path, task: str, rows: list[dict[str, Any]]) -> Path:
    """``<root>/cards/<task>.yaml``: a card extending benchkit's built-in one (its fields, labels and prompt) that
    only states the row counts of these files (the built-in cards check the official counts; the dev rows may be
    --limit'ed, the test files are a few dev rows, and the SuperGLUE train files are the format samples, so their
    leakage check is off)."""
    card = TASKS[task]["card"]
    counts = {"dev": len(rows), "test": min(len(rows), TEST_ROWS)}
    if task in ("boolq", "copa"):
        counts["train"] = len(rows)
    path = root / "cards" / f"{task}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    splits = "".join(f"  {split}: {{rows: {n}}}\n" for split, n in counts.items())
    checks = ""
    if task in ("boolq", "copa"):  # train is the dev rows again (zero-shot reads no train; the card wants a file)
        checks = ('checks:\n  leakage: {severity: "off", reason: "llm_parity: the train file repeats the dev format '
                  'sample"}\n')
    path.write_text(f"extends: {REPO / 'tasks' / (card + '.yaml')}\nid: parity/{task}\nsplits:\n{splits}{checks}",
                    encoding="utf-8")
    return path


# -- the model ------------------------------------------------------------------------------------------------------


def build_model(folder: Path, layers: int, hidden: int, window: int = WINDOW) -> Path:
    if (folder / "config.json").exists():
        return folder
    spec = importlib.util.spec_from_file_location("tiny_causal", REPO / "scripts" / "tiny_causal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(folder, layers=layers, hidden=hidden, window=window)


def describe_model(folder: Path) -> str:
    config = json.loads((folder / "config.json").read_text())
    return (f"{config.get('model_type')} {config.get('num_hidden_layers')} layers, hidden {config.get('hidden_size')}, "
            f"vocab {config.get('vocab_size')}")


# -- lm-eval side ---------------------------------------------------------------------------------------------------


def _ll(resp: Any) -> float:
    """One choice's log-likelihood from a logged ``resps``/``filtered_resps`` entry ([ll, is_greedy], possibly as
    strings, possibly nested once)."""
    while isinstance(resp, (list, tuple)) and resp and isinstance(resp[0], (list, tuple)):
        resp = resp[0]
    value = resp[0] if isinstance(resp, (list, tuple)) else resp
    return float(value)


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))  # first maximum, as numpy's argmax


def lm_eval_examples(task: str, samples: list[dict[str, Any]], target_delimiter: str = " ") -> list[dict[str, Any]]:
    """Per example: doc index, id, prompt (context) and continuations, the choices' log-likelihoods, the choice (acc)
    and the length-normalised choice (acc_norm, as lm-eval's: loglikelihood / characters of the doc_to_choice
    string, i.e. the continuation without the target delimiter), gold, and lm-eval's own acc."""
    labels = TASKS[task]["labels"]
    out = []
    for sample in sorted(samples, key=lambda s: s["doc_id"]):
        arguments = sample["arguments"]
        if isinstance(arguments, dict):  # {"gen_args_0": {"arg_0": ctx, "arg_1": cont}, ...}
            pairs = [(a["arg_0"], a["arg_1"]) for a in arguments.values()]
        else:
            pairs = [tuple(a) for a in arguments]
        resps = sample.get("filtered_resps") or sample["resps"]
        lls = [_ll(r) for r in resps]
        continuations = [cont for _, cont in pairs]
        choice = _argmax(lls)
        choices = [c.removeprefix(target_delimiter) for c in continuations]
        choice_norm = _argmax([ll / len(c) for ll, c in zip(lls, choices)])
        gold = sample["target"]
        doc = sample["doc"]
        gold_index = int(doc["label"])
        if float(choice == gold_index) != float(sample["acc"]):
            raise RuntimeError(f"{task} doc {sample['doc_id']}: argmax {choice} vs gold {gold_index} disagrees "
                               f"with lm-eval's acc {sample['acc']}")
        out.append({
            "doc_id": sample["doc_id"], "id": str(doc.get("idx", sample["doc_id"])), "context": pairs[0][0],
            "continuations": continuations, "lls": lls, "choice": choice, "choice_norm": choice_norm,
            "prediction": labels[choice], "prediction_norm": labels[choice_norm], "gold": labels[gold_index],
            "target": gold, "acc": float(sample["acc"]), "acc_norm": float(choice_norm == gold_index),
        })
    return out


def run_lm_eval(model_dir: Path, tasks: list[str], task_dir: Path, batch_size: int,
                quiet: bool = True) -> dict[str, dict[str, Any]]:
    """Each task through ``lm_eval.simple_evaluate`` with one prebuilt HFLM; per task: examples, acc, timings."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # "aggregation is not defined" etc. for every task
    lm = HFLM(pretrained=str(model_dir), batch_size=batch_size, device="cpu")
    load_s = time.perf_counter() - start
    scoring = {"s": 0.0, "requests": 0}
    loglikelihood = lm.loglikelihood

    def timed_loglikelihood(requests, *args, **kwargs):
        begin = time.perf_counter()
        result = loglikelihood(requests, *args, **kwargs)
        scoring["s"] += time.perf_counter() - begin
        scoring["requests"] += len(requests)
        return result

    lm.loglikelihood = timed_loglikelihood
    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    info = {"add_bos_token": lm.add_bos_token, "max_length": lm.max_length, "prefix_token_id": lm.prefix_token_id,
            "truncation": "left, to the last max_length+1 tokens of context+continuation (huggingface.py)",
            "batch_size": batch_size, "load_s": load_s}
    results: dict[str, dict[str, Any]] = {}
    for task in tasks:
        name = TASKS[task]["lm_eval"]
        scoring.update(s=0.0, requests=0)
        begin = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()) if quiet else contextlib.nullcontext():  # progress bars
            evaluation = lm_eval.simple_evaluate(model=lm, tasks=[name], task_manager=manager, num_fewshot=0,
                                                 batch_size=batch_size, log_samples=True, device="cpu",
                                                 bootstrap_iters=0, verbosity="ERROR")
        wall = time.perf_counter() - begin
        delimiter = evaluation["configs"][name].get("target_delimiter", " ")
        examples = lm_eval_examples(task, evaluation["samples"][name], delimiter)
        metrics = evaluation["results"][name]
        truncated = 0
        for example in examples:  # inputs longer than the model's window: lm-eval keeps their last max_length tokens
            lengths = [sum(map(len, lm._encode_pair(example["context"], cont))) for cont in example["continuations"]]
            example["tokens"] = lengths
            truncated += max(lengths) > lm.max_length
        first = examples[0]
        lm_tokens = sum(min(length, lm.max_length + 1) - 1 for e in examples for length in e["tokens"])
        results[task] = {
            "examples": examples, "n": len(examples), "tokens_per_example": lm_tokens / len(examples), "wall_s": wall, "scoring_s": scoring["s"],
            "requests": scoring["requests"], "truncated": truncated, "acc": metrics.get("acc,none"), "acc_norm": metrics.get("acc_norm,none"),
            "acc_norm_computed": sum(e["acc_norm"] for e in examples) / len(examples),
            "tokens": token_details(lm, first["context"], first["continuations"]), "info": info,
        }
    return results


def token_details(lm: Any, context: str, continuations: list[str]) -> dict[str, Any]:
    """How lm-eval tokenizes the first example: ``_encode_pair`` (trailing context spaces moved to the continuation;
    whole string encoded, then split at the context's length), and whether a BOS token leads."""
    pairs = []
    for cont in continuations:
        context_enc, cont_enc = lm._encode_pair(context, cont)
        pairs.append({"continuation": cont, "context_tokens": len(context_enc), "first_context_ids": context_enc[:3],
                      "continuation_ids": cont_enc,
                      "continuation_pieces": lm.tokenizer.convert_ids_to_tokens(cont_enc)})
    bos = lm.tokenizer.bos_token_id
    return {"bos_prepended": bool(pairs) and pairs[0]["first_context_ids"][:1] == [bos], "bos_token_id": bos,
            "pairs": pairs}


# -- benchkit side --------------------------------------------------------------------------------------------------


def benchkit_ready() -> tuple[bool, str]:
    probe = subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "--help"], cwd=REPO, capture_output=True, check=False,
                           text=True)
    text = probe.stdout + probe.stderr
    if probe.returncode != 0:
        return False, f"`benchkit run --help` failed: {text.strip()[-400:]}"
    if "zero-shot" not in text:
        return False, "`benchkit run --help` names no --mode zero-shot"
    return True, ""


def run_benchkit(model_dir: Path, task: str, data_dir: Path, out: Path, env: dict[str, str],
                 extra: list[str], examples: int) -> dict[str, Any]:
    """One ``benchkit run`` (timed as a whole process); its dev predictions and run record. ``examples``: how many
    examples the run evaluates (dev and test rows), for the whole-process rate."""
    card = data_dir / "cards" / f"{task}.yaml"  # the built-in card, with these files' row counts
    command = [sys.executable, "-m", "benchkit.cli", "run", str(card), "--model", str(model_dir),
               "--mode", "zero-shot", "--data-dir", str(data_dir), "--out", str(out), "--seeds", "1",
               "--set", "bootstrap_resamples=20", "--no-release", "--quiet", *extra]
    begin = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - begin
    result: dict[str, Any] = {"command": command, "wall_s": wall, "rc": proc.returncode, "examples": examples,
                              "log": (proc.stdout + proc.stderr)[-3000:]}
    if proc.returncode != 0:
        return result
    predictions = sorted(out.rglob("predictions/dev.jsonl"), key=lambda p: p.stat().st_mtime)
    if not predictions:
        result["error"] = f"no predictions/dev.jsonl under {out}"
        return result
    pred_path = predictions[-1]
    result["predictions_path"] = str(pred_path)
    result["predictions"] = read_jsonl(pred_path)
    record_path = next((p / "record.json" for p in [pred_path.parent, *pred_path.parents]
                        if (p / "record.json").exists()), None)
    if record_path is not None:
        result["record_path"] = str(record_path)
        result["record"] = json.loads(record_path.read_text(encoding="utf-8"))
    return result


def _find(obj: Any, keys: tuple[str, ...]) -> Any:
    """The first value under any of ``keys`` anywhere in a nested dict/list (the run record's layout may vary)."""
    if isinstance(obj, dict):
        for key in keys:
            if key in obj and not isinstance(obj[key], (dict, list)):
                return obj[key]
        for value in obj.values():
            found = _find(value, keys)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for value in obj:
            found = _find(value, keys)
            if found is not None:
                return found
    return None


def benchkit_accuracy(record: dict[str, Any] | None) -> float | None:
    if not record:
        return None
    results = record.get("results")
    value = _find(results, ("dev/accuracy", "accuracy")) if results is not None else None
    return float(value) if isinstance(value, (int, float)) else None


def benchkit_costs(record: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """(evaluation seconds, evaluation examples per second) as the run record's ``costs`` reports them (the rate
    over every evaluated split)."""
    costs = (record or {}).get("costs") or {}
    seconds, rate = costs.get("eval_seconds"), costs.get("examples_per_second")
    return (float(seconds) if seconds else None), (float(rate) if rate else None)


def benchkit_acc_norm(record: dict[str, Any] | None) -> float | None:
    value = ((record or {}).get("prompting") or {}).get("acc_norm", {}).get("dev")
    return float(value) if isinstance(value, (int, float)) else None


def benchkit_prompt_of(record: dict[str, Any] | None, example_id: str, index: int) -> Any:
    """benchkit's prompt/scoring details for one example from the record's ``prompting`` section, when present."""
    prompting = (record or {}).get("prompting")
    if not prompting:
        return None
    for key in ("examples", "per_example", "scores", "details"):
        items = prompting.get(key) if isinstance(prompting, dict) else None
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict) and str(item.get("id")) == example_id:
                    return item
            if index < len(items):
                return items[index]
    return {k: v for k, v in prompting.items() if not isinstance(v, list)} if isinstance(prompting, dict) else None


# -- comparison -----------------------------------------------------------------------------------------------------


def compare(task: str, lm_examples: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """Example by example: benchkit's prediction (a label string) against lm-eval's choice mapped to the card's
    labels. Matched by id (RTE index, BoolQ/COPA idx, SST-2 row number), else by order."""
    by_id = {str(p["id"]): p["prediction"] for p in predictions}
    ids = [e["id"] for e in lm_examples]
    matched_by = "id"
    if not all(i in by_id for i in ids):
        matched_by = "order"
        if len(predictions) != len(lm_examples):
            return {"n": len(lm_examples), "identical": 0, "matched_by": "none", "differences": [],
                    "error": f"{len(predictions)} benchkit predictions for {len(lm_examples)} examples, ids differ "
                             f"(benchkit: {[p['id'] for p in predictions[:3]]}..., lm-eval: {ids[:3]}...)"}
        by_id = {e["id"]: p["prediction"] for e, p in zip(lm_examples, predictions)}
    differences = []
    correct = 0
    for index, example in enumerate(lm_examples):
        theirs = by_id[example["id"]]
        correct += theirs == example["gold"]
        if theirs != example["prediction"]:
            differences.append({"index": index, "id": example["id"], "lm_eval": example["prediction"],
                                "benchkit": theirs, "lls": example["lls"]})
    n = len(lm_examples)
    return {"n": n, "identical": n - len(differences), "matched_by": matched_by, "differences": differences,
            "benchkit_acc_computed": correct / n if n else None}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = [("model", "model"), ("task", "task"), ("examples", "n"), ("identical", "identical"),
               ("lm-eval acc", "lm_acc"), ("benchkit acc", "bk_acc"), ("lm-eval acc_norm*", "lm_acc_norm"),
               ("benchkit acc_norm", "bk_acc_norm"),
               ("lm-eval ex/s", "lm_eps"), ("lm-eval score ex/s", "lm_score_eps"), ("benchkit ex/s", "bk_eps"),
               ("benchkit score ex/s", "bk_score_eps"), ("ratio", "ratio"), ("batch lm/bk", "batch"),
               ("tokens/ex lm", "lm_tok"), ("tokens/ex bk", "bk_tok"), ("note", "note")]
    digits = {"ratio": 2, "lm_tok": 0, "bk_tok": 0}
    cells = [[_fmt(row.get(key), 1 if key.endswith("eps") else digits.get(key, 3)) for _, key in columns]
             for row in rows]
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (title, _) in enumerate(columns)]
    print(" | ".join(title.ljust(w) for (title, _), w in zip(columns, widths)))
    print("-+-".join("-" * w for w in widths))
    for c in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(c, widths)))
    print("* acc_norm: argmax of loglikelihood / characters of the continuation, computed from lm-eval's "
          "log-likelihoods (these lm-eval tasks report acc only). ex/s: examples per second; 'ex/s' times "
          "simple_evaluate (lm-eval) or the whole CLI process over dev + test rows (benchkit: model load included); "
          "'score ex/s' lm-eval's loglikelihood calls alone, benchkit's costs.examples_per_second (its record). "
          "ratio: benchkit score ex/s / lm-eval score ex/s (the wall columns when a score rate is missing). "
          "tokens/ex: tokens run through the model per example (lm-eval: every choice's context+continuation; "
          "benchkit: costs.tokens_processed / dev+test examples).")


def print_prompts(task: str, result: dict[str, Any]) -> None:
    first = result["examples"][0]
    tokens = result["tokens"]
    print(f"\n[{task}] lm-eval doc {first['doc_id']} context (repr):\n  {first['context']!r}")
    for pair in tokens["pairs"]:
        print(f"  continuation {pair['continuation']!r}: context {pair['context_tokens']} tokens "
              f"(starts {pair['first_context_ids']}), continuation ids {pair['continuation_ids']} "
              f"{pair['continuation_pieces']}")
    print(f"  BOS ({tokens['bos_token_id']}) prepended: {tokens['bos_prepended']}")


# -- main -----------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, action="append",
                        help="a local causal LM folder (repeatable); default: build 'tiny' and 'small'")
    parser.add_argument("--models", default="tiny,small", help="which built models when no --model-dir")
    parser.add_argument("--out", type=Path, help="working folder (default: a temporary one, removed)")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--limit", type=int, help="the first N dev rows of each task (every model)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="lm-eval's batch size (default: benchkit's inference batch on CPU, 16)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads on both sides (1: on a shared 2-core machine 2 threads ran 20x slower)")
    parser.add_argument("--glue-dir", type=Path, default=GLUE_DIR)
    parser.add_argument("--superglue-samples", type=Path, default=SUPERGLUE_SAMPLES)
    parser.add_argument("--skip-benchkit", action="store_true", help="lm-eval side only")
    parser.add_argument("--benchkit-arg", action="append", default=[], help="extra argument to `benchkit run`")
    parser.add_argument("--verbose", action="store_true", help="show lm-eval's progress bars and warnings")
    parser.add_argument("--json", type=Path, help="write every per-example detail here")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for task in tasks:
        if task not in TASKS:
            parser.error(f"unknown task {task!r} (known: {', '.join(TASKS)})")
    temporary = args.out is None
    work = Path(tempfile.mkdtemp(prefix="llm-parity-")) if temporary else args.out
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.model_dir:
            models = {path.name: (path, args.limit) for path in args.model_dir}
        else:
            models = {}
            for name in args.models.split(","):
                spec = MODELS[name]
                models[name] = (build_model(work / "models" / name, spec["layers"], spec["hidden"]),
                                args.limit if args.limit else spec["limit"])
        prepared: dict[int | None, tuple[Path, Path]] = {}  # limit -> (lm-eval task folder, benchkit data folder)
        for _, limit in models.values():
            if limit not in prepared:
                rows = {task: load_rows(task, args.glue_dir, args.superglue_samples, limit) for task in tasks}
                folder = work / f"data-{limit or 'all'}"
                prepared[limit] = (materialize_lm_eval_tasks(folder, tasks, rows),
                                   write_benchkit_data(folder, tasks, rows, args.glue_dir))

        ready, why_not = (False, "--skip-benchkit") if args.skip_benchkit else benchkit_ready()
        if not ready:
            print(f"benchkit side not run: {why_not}")
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        table, details, failures, benchkit_errors = [], {}, 0, 0
        for model_name, (model_dir, limit) in models.items():
            task_dir, data_dir = prepared[limit]
            print(f"\n== model {model_name}: {model_dir} ({describe_model(model_dir)})")
            lm_results = run_lm_eval(model_dir, tasks, task_dir, args.batch_size, quiet=not args.verbose)
            info = next(iter(lm_results.values()))["info"]
            print(f"lm-eval HFLM: add_bos_token={info['add_bos_token']} max_length={info['max_length']} "
                  f"prefix_token_id={info['prefix_token_id']} batch_size={info['batch_size']} "
                  f"(model load {info['load_s']:.2f}s, not timed)")
            for task in tasks:
                result = lm_results[task]
                print_prompts(task, result)
                row = {"model": model_name, "task": task, "n": result["n"], "lm_acc": result["acc"],
                       "lm_acc_norm": result["acc_norm"] if result["acc_norm"] is not None
                       else result["acc_norm_computed"],
                       "lm_eps": result["n"] / result["wall_s"], "lm_tok": result["tokens_per_example"],
                       "batch": f"{args.batch_size}/-",
                       "lm_score_eps": result["n"] / result["scoring_s"] if result["scoring_s"] else None,
                       "note": "; ".join(filter(None, [
                           "1 row (the format sample)" if task == "copa" and result["n"] == 1 else "",
                           "20 rows (the format sample)" if task == "boolq" and result["n"] == 20 else "",
                           f"{result['truncated']} over {info['max_length']} tokens (left-truncated)"
                           if result["truncated"] else ""]))}
                details[f"{model_name}/{task}"] = {"lm_eval": {k: v for k, v in result.items()}}
                if ready:
                    out = work / "benchkit_out" / model_name / task
                    bk = run_benchkit(model_dir, task, data_dir, out, env, args.benchkit_arg,
                                      result["n"] + min(result["n"], TEST_ROWS))
                    details[f"{model_name}/{task}"]["benchkit"] = {k: v for k, v in bk.items() if k != "record"}
                    if "predictions" not in bk:
                        benchkit_errors += 1
                        row["identical"] = "error"
                        row["note"] = (row["note"] + "; " if row["note"] else "") + "benchkit failed"
                        print(f"\n[{task}] benchkit run failed (rc {bk['rc']}): {' '.join(bk['command'])}\n"
                              f"{bk.get('error', '')}{bk['log']}")
                    else:
                        comparison = compare(task, result["examples"], bk["predictions"])
                        details[f"{model_name}/{task}"]["comparison"] = comparison
                        record = bk.get("record")
                        row["identical"] = f"{comparison['identical']}/{comparison['n']}"
                        row["bk_acc"] = benchkit_accuracy(record)
                        if row["bk_acc"] is None:
                            row["bk_acc"] = comparison.get("benchkit_acc_computed")
                        row["bk_acc_norm"] = benchkit_acc_norm(record)
                        _, row["bk_score_eps"] = benchkit_costs(record)
                        costs = (record or {}).get("costs") or {}
                        row["batch"] = f"{args.batch_size}/{costs.get('inference_batch_size') or '-'}"
                        if costs.get("tokens_processed"):
                            row["bk_tok"] = costs["tokens_processed"] / bk["examples"]
                        row["bk_eps"] = bk["examples"] / bk["wall_s"]
                        if row["bk_score_eps"] and row["lm_score_eps"]:
                            row["ratio"] = row["bk_score_eps"] / row["lm_score_eps"]
                        else:
                            row["ratio"] = row["bk_eps"] / row["lm_eps"]
                        if comparison.get("error"):
                            failures += 1
                            print(f"\n[{task}] cannot compare: {comparison['error']}")
                        elif comparison["differences"]:
                            failures += 1
                            first = comparison["differences"][0]
                            example = result["examples"][first["index"]]
                            print(f"\n[{task}] first differing example: id {first['id']}: lm-eval "
                                  f"{first['lm_eval']!r} (lls {first['lls']}), benchkit {first['benchkit']!r}")
                            print(f"  lm-eval context {example['context']!r}, continuations "
                                  f"{example['continuations']!r}")
                            print(f"  benchkit: {json.dumps(benchkit_prompt_of(record, first['id'], first['index']))[:2000]}")
                table.append(row)
        print()
        print_table(table)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(details, indent=1, default=str), encoding="utf-8")
        if failures:
            print(f"\nFAIL: choices differ on {failures} task run(s)")
            return 1
        if ready and benchkit_errors:
            print(f"\nbenchkit failed on {benchkit_errors} task run(s)")
            return 2
        if not ready and not args.skip_benchkit:
            return 2
        return 0
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
