"""SuperGLUE beyond flat rows: nested records (MultiRC, ReCoRD), inputs composed from fields and spans (WiC, WSC),
candidate lists that vary per example (ReCoRD), with their bad inputs, scores and training runs.

Oracles share no code with benchkit: rows are counted and composed with plain ``json`` here, and scores come from
``tests/fixtures/superglue/reference_scores.py`` (the official MultiRC / ReCoRD v1.0 scoring, stdlib only).
"""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from card_helpers import card_with_rows

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "fixtures" / "superglue"
FILES = {"train": "train.jsonl", "dev": "val.jsonl", "test": "test.jsonl"}
FOLDERS = {"multirc": "MultiRC", "record": "ReCoRD", "wic": "WiC", "wsc": "WSC"}

_spec = importlib.util.spec_from_file_location("reference_scores", DATA / "reference_scores.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)  # type: ignore[union-attr]


def benchkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def oracle_rows(task: str, split: str, data: Path = DATA) -> int:
    """Rows benchkit should read: answers (MultiRC), queries (ReCoRD), lines (WiC, WSC)."""
    objects = lines(data / FOLDERS[task] / FILES[split])
    if task == "multirc":
        return sum(len(q["answers"]) for o in objects for q in o["passage"]["questions"])
    if task == "record":
        return sum(len(o["qas"]) for o in objects)
    return len(objects)


def write_cards(root: Path, data: Path = DATA) -> Path:
    """A card folder (cwd for the CLI) whose SuperGLUE cards extend the official ones with the fixture row counts,
    plus the official suite card."""
    (root / "tasks" / "superglue").mkdir(parents=True, exist_ok=True)
    (root / "benchmarks").mkdir(exist_ok=True)
    shutil.copy(REPO / "benchmarks" / "superglue.yaml", root / "benchmarks" / "superglue.yaml")
    for path in sorted((REPO / "tasks" / "superglue").glob("[a-z]*.yaml")):
        task = path.stem
        if task in FOLDERS:
            counts = {s: oracle_rows(task, s, data) for s in FILES}
        else:  # flat files: one row per line
            from benchkit.cards import catalog

            card = catalog.load_task(str(path))
            counts = {s: len(lines(data / card.source.dir / spec.file)) for s, spec in card.splits.items()}
        card_with_rows(root / "tasks" / "superglue" / path.name, f"superglue/{task}", counts)
    return root


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cards(tmp_path_factory.mktemp("superglue-cards"))


# ---------------------------------------------------------------------------------------------------------------
# reading: rows per split, ids, groups, candidates, composed inputs


@pytest.mark.parametrize("task", sorted(FOLDERS))
def test_show_reports_the_rows_read_per_split(task: str, cards: Path) -> None:
    result = benchkit("show", f"superglue/{task}", "--data-dir", str(DATA), "--json", cwd=cards)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    splits = report["splits"] if "splits" in report else report
    got = {s: (entry["rows"] if isinstance(entry, dict) else entry) for s, entry in splits.items()}
    assert got == {s: oracle_rows(task, s) for s in FILES}


def _frames(task: str, cards: Path, split: str = "dev", data: Path = DATA):
    from benchkit.cards import catalog
    from benchkit.validation.frames import load_frames

    card = catalog.load_task(str(cards / "tasks" / "superglue" / f"{task}.yaml"))
    return card, load_frames(card, data, [split])[split]


def test_multirc_unfolds_paragraphs_into_answer_rows_that_keep_their_ids(cards: Path) -> None:
    card, frame = _frames("multirc", cards)
    expected = []
    for paragraph in lines(DATA / "MultiRC" / "val.jsonl"):
        for question in paragraph["passage"]["questions"]:
            for answer in question["answers"]:
                expected.append((f"{paragraph['idx']}-{question['idx']}-{answer['idx']}",
                                 f"{paragraph['idx']}-{question['idx']}", paragraph["passage"]["text"],
                                 f"{question['question']} {answer['text']}", ["False", "True"][answer["label"]]))
    got = list(zip(frame["id"], frame["group"], frame["text"], frame["text_pair"], frame["label"]))
    assert got == expected
    assert card.type == "grouped_classification"


def test_record_rows_are_queries_with_the_unique_entity_strings_as_candidates(cards: Path) -> None:
    _, frame = _frames("record", cards)
    expected = []
    for passage in lines(DATA / "ReCoRD" / "val.jsonl"):
        text = passage["passage"]["text"]
        entities = sorted({text[e["start"]:e["end"] + 1] for e in passage["passage"]["entities"]})
        for qa in passage["qas"]:
            expected.append((str(qa["idx"]), qa["query"], text, entities, sorted({a["text"] for a in qa["answers"]})))
    got = list(zip(frame["id"], frame["question"], frame["context"], frame["candidates"], frame["label"]))
    assert got == expected
    assert all(set(golds) <= set(candidates) for *_, candidates, golds in got)


def test_record_test_split_reads_queries_without_answers(cards: Path) -> None:
    _, frame = _frames("record", cards, "test")
    assert len(frame) == oracle_rows("record", "test") and frame["label"].isna().all()


def test_wic_marks_the_target_word_in_both_sentences(cards: Path) -> None:
    _, frame = _frames("wic", cards)
    for row, (text, pair) in zip(lines(DATA / "WiC" / "val.jsonl"), zip(frame["text"], frame["text_pair"])):
        s1, s2 = row["sentence1"], row["sentence2"]
        assert text == (f"{row['word']}: {s1[:row['start1']]}*{s1[row['start1']:row['end1']]}*{s1[row['end1']:]}")
        assert pair == f"{s2[:row['start2']]}*{s2[row['start2']:row['end2']]}*{s2[row['end2']:]}"


def test_wsc_marks_the_candidate_and_the_pronoun_by_word_index(cards: Path) -> None:
    _, frame = _frames("wsc", cards)
    for row, text in zip(lines(DATA / "WSC" / "val.jsonl"), frame["text"]):
        words = row["text"].split()
        target = row["target"]
        s1, n1 = target["span1_index"], len(target["span1_text"].split())
        s2, n2 = target["span2_index"], len(target["span2_text"].split())
        words[s1] = "[" + words[s1]
        words[s1 + n1 - 1] += "]"
        words[s2] = "*" + words[s2]
        words[s2 + n2 - 1] += "*"
        assert text == " ".join(words)


# ---------------------------------------------------------------------------------------------------------------
# bad input: one line (file, line, field, hint), exit 2, no traceback -- in validate and in run


def _broken_copy(tmp_path: Path, task: str, split: str, edit) -> Path:  # noqa: ANN001
    data = tmp_path / "data"
    shutil.copytree(DATA / FOLDERS[task], data / FOLDERS[task])
    path = data / FOLDERS[task] / FILES[split]
    text = path.read_text(encoding="utf-8").split("\n")
    path.write_text("\n".join(edit(text)), encoding="utf-8")
    return data


def _edit_object(line_index: int, change):  # noqa: ANN001
    def edit(text: list[str]) -> list[str]:
        obj = json.loads(text[line_index])
        change(obj)
        text[line_index] = json.dumps(obj)
        return text

    return edit


def _drop_questions(obj: dict[str, Any]) -> None:
    del obj["passage"]["questions"]


def _wic_span_outside(obj: dict[str, Any]) -> None:
    obj["end1"] = len(obj["sentence1"]) + 5


def _wsc_span_outside(obj: dict[str, Any]) -> None:
    obj["target"]["span2_index"] = len(obj["text"].split()) + 3


def _record_gold_not_a_candidate(obj: dict[str, Any]) -> None:
    obj["qas"][0]["answers"] = [{"start": 0, "end": 3, "text": "Nobody at all"}]


BROKEN = {
    "malformed JSONL line": ("multirc", "dev", lambda t: t[:1] + ['{"idx": 99, "passage": {"text": "x",'] + t[1:],
                             2, "invalid JSON", None),
    "nested record missing a declared key": ("multirc", "dev", _edit_object(1, _drop_questions), 2,
                                             "no key 'passage.questions'", "read.unnest.passage.questions"),
    "span outside its text (characters)": ("wic", "dev", _edit_object(2, _wic_span_outside), 3,
                                           "falls outside its text", "start1"),
    "span outside its text (words)": ("wsc", "train", _edit_object(0, _wsc_span_outside), 1,
                                      "falls outside its text", "target.span2_index"),
    "gold answer not among the candidates": ("record", "train", _edit_object(0, _record_gold_not_a_candidate), 1,
                                             "'Nobody at all' is not among", "qa.answers"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_bad_input_is_one_line_with_file_line_field_and_hint(case: str, cards: Path, tmp_path: Path) -> None:
    task, split, edit, line, message, field = BROKEN[case]
    data = _broken_copy(tmp_path, task, split, edit)
    result = benchkit("validate", f"superglue/{task}", "--data-dir", str(data), cwd=cards)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [x for x in (result.stdout + result.stderr).splitlines() if x.startswith("error:")]
    path = data / FOLDERS[task] / FILES[split]
    wanted = [x for x in errors if message in x]
    assert wanted, errors
    assert f"{path}:{line}:" in wanted[0] and "(hint:" in wanted[0]
    if field:
        assert f" {field}:" in wanted[0] or f":{field}:" in wanted[0], wanted[0]


def test_run_refuses_bad_nested_data_before_training(cards: Path, tmp_path: Path, tiny_model: Path) -> None:
    data = _broken_copy(tmp_path, "record", "train", _edit_object(0, _record_gold_not_a_candidate))
    out = tmp_path / "results"
    result = benchkit("run", "superglue", "--task", "superglue/record", "--data-dir", str(data), "--model",
                      str(tiny_model), "--set", "epochs=1", "--out", str(out), cwd=cards)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "is not among the row's" in result.stdout + result.stderr
    assert not list(out.glob("runs/**/record.json"))


def test_template_naming_a_missing_column_is_reported(tmp_path: Path) -> None:
    card = tmp_path / "wic.yaml"
    card.write_text(f"extends: {REPO / 'tasks/superglue/wic.yaml'}\n"
                    "inputs:\n  text: {template: '{lemma}: {sentence1}'}\n"
                    "splits:\n  train: {rows: 6}\n  dev: {rows: 4}\n  test: {rows: 2}\n", encoding="utf-8")
    result = benchkit("validate", str(card), "--data-dir", str(DATA))
    assert result.returncode == 2
    problems = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(problems) == 3  # one per split file; no row-count noise
    assert all("inputs.text: column 'lemma' not found" in x and "'word'" in x for x in problems)


def test_card_rejects_a_stray_brace_in_a_template(tmp_path: Path) -> None:
    card = tmp_path / "wic.yaml"
    card.write_text(f"extends: {REPO / 'tasks/superglue/wic.yaml'}\n"
                    "inputs:\n  text: {template: '{word: {sentence1}'}\n", encoding="utf-8")
    result = benchkit("validate", str(card))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "template" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------------------
# scores equal the official scorers, computed independently


def _score(cards: Path, task: str, predictions: list[tuple[Any, Any]], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / f"{task}.jsonl"
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in predictions[::-1]),
                    encoding="utf-8")
    result = benchkit("score", f"superglue/{task}", str(path), "--data-dir", str(DATA), "--json",
                      "--resamples", "50", cwd=cards)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_score_multirc_f1a_and_em_equal_the_official_computation(cards: Path, tmp_path: Path) -> None:
    gold = reference.multirc_gold(DATA / "MultiRC" / "val.jsonl")
    rng = random.Random(3)
    # right on most answers, so some questions are entirely right (EM) and some are not
    predicted = {key: (label if rng.random() < 0.8 else 1 - label) for key, label in gold.items()}
    f1a, em = reference.multirc(DATA / "MultiRC" / "val.jsonl", predicted)
    out = _score(cards, "multirc", [(k, ["False", "True"][v]) for k, v in predicted.items()], tmp_path)
    assert out["metrics"]["multirc_f1a"] == pytest.approx(f1a)
    assert out["metrics"]["multirc_em"] == pytest.approx(em)
    assert 0 < em < 1 and out["score"] == pytest.approx((f1a + em) / 2)
    assert out["ci"]["unit"] == "group"  # whole questions are resampled


def test_score_record_f1_and_em_equal_the_official_v1_script(cards: Path, tmp_path: Path) -> None:
    passages = lines(DATA / "ReCoRD" / "val.jsonl")
    queries = [qa for p in passages for qa in p["qas"]]
    # one prediction matching a non-first gold after normalisation, one partly overlapping wrong entity
    predicted = {}
    for i, qa in enumerate(queries):
        golds = [a["text"] for a in qa["answers"]]
        predicted[qa["idx"]] = golds[-1].upper() + "." if i == 0 else golds[0].split()[0] + " of the world"
    f1, em = reference.record(DATA / "ReCoRD" / "val.jsonl", predicted)
    out = _score(cards, "record", list(predicted.items()), tmp_path)
    assert out["metrics"]["record_f1"] == pytest.approx(f1)
    assert out["metrics"]["record_em"] == pytest.approx(em)
    assert 0 < f1 < 1


@pytest.mark.parametrize("task", ["wic", "wsc"])
def test_score_wic_and_wsc_accuracy_on_the_official_label_strings(task: str, cards: Path, tmp_path: Path) -> None:
    rows = lines(DATA / FOLDERS[task] / "val.jsonl")
    names = {"wic": ("false", "true"), "wsc": ("False", "True")}[task]
    gold = [names[int(r["label"])] for r in rows]
    predicted = [names[0]] * len(rows)  # the majority-free baseline: everything "false"
    expected = sum(g == p for g, p in zip(gold, predicted)) / len(rows)
    out = _score(cards, task, [(r["idx"], p) for r, p in zip(rows, predicted)], tmp_path)
    assert out["metrics"] == {"accuracy": pytest.approx(expected)} and 0 < expected < 1


# ---------------------------------------------------------------------------------------------------------------
# training: every new head trains with `benchkit run` and predicts in the official form


def test_run_trains_the_nested_and_composed_tasks_and_predicts_official_values(cards: Path, tmp_path: Path,
                                                                              tiny_model: Path) -> None:
    out = tmp_path / "results"
    tasks = [f"superglue/{t}" for t in sorted(FOLDERS)]
    args = [x for t in tasks for x in ("--task", t)]
    result = benchkit("run", "superglue", *args, "--data-dir", str(DATA), "--model", str(tiny_model),
                      "--set", "epochs=1", "--set", "bootstrap_resamples=20", "--out", str(out), "--quiet",
                      cwd=cards)
    assert result.returncode == 0, result.stdout + result.stderr
    records = {json.loads(p.read_text())["task"]["id"]: p for p in out.glob("runs/**/record.json")}
    assert set(records) >= set(tasks)
    for task in tasks:
        path = records[task]
        record = json.loads(path.read_text())
        short = task.split("/")[1]
        predictions = lines(path.parent / record["predictions"]["test"])
        dev = lines(path.parent / record["predictions"]["dev"])
        assert len(predictions) == oracle_rows(short, "test") and len(dev) == oracle_rows(short, "dev")
        if short == "record":
            candidates = {}
            for passage in lines(DATA / "ReCoRD" / "test.jsonl"):
                text = passage["passage"]["text"]
                for qa in passage["qas"]:
                    candidates[str(qa["idx"])] = {text[e["start"]:e["end"] + 1] for e in passage["passage"]["entities"]}
            assert all(p["prediction"] in candidates[p["id"]] for p in predictions)
            assert set(record["results"]["dev"]["metrics"]) == {"record_f1", "record_em"}
        elif short == "multirc":
            assert all(p["prediction"] in ("False", "True") for p in predictions)
            assert all(len(p["id"].split("-")) == 3 for p in predictions)
            assert set(record["results"]["dev"]["metrics"]) == {"multirc_f1a", "multirc_em"}
        else:
            names = {"wic": ("false", "true"), "wsc": ("False", "True")}[short]
            assert all(p["prediction"] in names for p in predictions)


# ---------------------------------------------------------------------------------------------------------------
# the span head (WiC, WSC): it reads the tokens of the marked spans


@pytest.mark.parametrize("task", ["wic", "wsc"])
def test_span_head_finds_the_tokens_of_each_marked_span(task: str, cards: Path, tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from benchkit.loading import to_dataset_dict
    from benchkit.train.heads import head_for

    card, frame = _frames(task, cards)
    head = head_for(card)
    assert head.name == "span"
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    batch = to_dataset_dict(card, {"dev": frame})["dev"][:]
    encoded = head.encode(batch, tokenizer, card, 128)
    texts = [list(frame["text"]), list(frame["text_pair"]) if "text_pair" in frame else None]
    for row, (spans, tokens) in enumerate(zip(frame["spans"], encoded["span_tokens"])):
        assert len(tokens) == 2
        for (which, start, end), (first, last) in zip(spans, tokens):
            marked = texts[which][row][start:end]
            assert marked[0] in "*[" and marked[-1] in "*]"
            decoded = tokenizer.decode(encoded["input_ids"][row][first:last + 1])
            assert decoded.replace(" ", "") == marked.lower().replace(" ", "")


def test_span_model_saves_and_loads_its_head(tiny_model: Path, tmp_path: Path) -> None:
    import torch

    from benchkit.train.span_model import load

    torch.manual_seed(0)
    model = load(str(tiny_model), ["false", "true"], 2).eval()
    inputs = {"input_ids": torch.tensor([[101, 1008, 2465, 1008, 2003, 1008, 2204, 1008, 102]]),
              "span_tokens": torch.tensor([[[1, 3], [5, 7]]])}
    before = model(**inputs).logits
    model.save_pretrained(str(tmp_path / "model"))
    again = load(str(tmp_path / "model"), ["false", "true"], 2).eval()
    assert torch.allclose(before, again(**inputs).logits)
    with pytest.raises(ValueError, match="span head was trained for labels"):
        load(str(tmp_path / "model"), ["False", "True"], 2)


def test_span_classification_card_must_mark_spans(tmp_path: Path) -> None:
    card = tmp_path / "wic.yaml"
    card.write_text(f"extends: {REPO / 'tasks/superglue/wic.yaml'}\n"
                    "inputs:\n  text: {template: '{sentence1}', marks: []}\n"
                    "  text_pair: {template: '{sentence2}', marks: []}\n",
                    encoding="utf-8")
    result = benchkit("validate", str(card))
    assert result.returncode == 2 and "reads marked spans, and the card marks none" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------------------
# the whole suite: run every task, release, official submission zip


def test_run_and_release_the_whole_suite_with_the_official_submission_zip(cards: Path, tmp_path: Path,
                                                                           tiny_model: Path) -> None:
    import zipfile

    out = tmp_path / "results"
    result = benchkit("run", "superglue", "--data-dir", str(DATA), "--model", str(tiny_model), "--set", "epochs=1",
                      "--set", "select=last", "--set", "bootstrap_resamples=20", "--out", str(out), "--quiet",
                      cwd=cards)
    assert result.returncode == 0, result.stdout + result.stderr
    result = benchkit("release", "superglue", "--version", "1.0.0", "--runs", str(out), "--data-dir", str(DATA),
                      "--resamples", "50", cwd=cards)
    assert result.returncode == 0, result.stdout + result.stderr
    release = out / "releases" / "superglue" / "1.0.0"
    manifest = json.loads((release / "manifest.json").read_text())
    (entry,) = manifest["entries"]
    scored = ("boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc")
    assert set(entry["task_scores"]) == {f"superglue/{t}" for t in scored}
    # the SuperGLUE rule: the mean of the 8 task scores, each the mean of its metrics (CB, MultiRC, ReCoRD: two)
    records = {json.loads(p.read_text())["task"]["id"]: json.loads(p.read_text()) for p in out.glob("runs/**/record.json")}
    task_scores = {t: sum(records[f"superglue/{t}"]["results"]["dev"]["metrics"].values())
                   / len(records[f"superglue/{t}"]["results"]["dev"]["metrics"]) for t in scored}
    assert entry["suite_score"] == pytest.approx(sum(task_scores.values()) / 8)
    assert entry["ci"]["low"] <= entry["suite_score"] <= entry["ci"]["high"]  # MultiRC resampled by question
    (submission,) = manifest["submissions"]
    with zipfile.ZipFile(release / submission["archive"]) as archive:
        names = sorted(archive.namelist())
        files = {n: [json.loads(x) for x in archive.read(n).decode().splitlines()] for n in names}
    assert names == sorted(["BoolQ.jsonl", "CB.jsonl", "COPA.jsonl", "MultiRC.jsonl", "ReCoRD.jsonl", "RTE.jsonl",
                            "WiC.jsonl", "WSC.jsonl", "AX-b.jsonl", "AX-g.jsonl"])
    # MultiRC: one line per paragraph, nested questions and answers with 0/1 labels, every test answer present
    paragraphs = lines(DATA / "MultiRC" / "test.jsonl")
    assert [line["idx"] for line in files["MultiRC.jsonl"]] == [p["idx"] for p in paragraphs]
    for line, paragraph in zip(files["MultiRC.jsonl"], paragraphs):
        expected = [(q["idx"], [a["idx"] for a in q["answers"]]) for q in paragraph["passage"]["questions"]]
        got = [(q["idx"], [a["idx"] for a in q["answers"]]) for q in line["passage"]["questions"]]
        assert got == expected
        assert all(a["label"] in (0, 1) for q in line["passage"]["questions"] for a in q["answers"])
    # ReCoRD: one line per query, the label an entity string of its passage
    queries = {qa["idx"]: p["passage"] for p in lines(DATA / "ReCoRD" / "test.jsonl") for qa in p["qas"]}
    assert sorted(x["idx"] for x in files["ReCoRD.jsonl"]) == sorted(queries)
    for x in files["ReCoRD.jsonl"]:
        text = queries[x["idx"]]["text"]
        assert x["label"] in {text[e["start"]:e["end"] + 1] for e in queries[x["idx"]]["entities"]}
    assert {x["label"] for x in files["WSC.jsonl"]} <= {"True", "False"}
    assert {x["label"] for x in files["WiC.jsonl"]} <= {"true", "false"}
    assert {x["label"] for x in files["BoolQ.jsonl"]} <= {"true", "false"}
    assert {x["label"] for x in files["COPA.jsonl"]} <= {0, 1}
    assert all(set(x) == {"idx", "label"} for n, xs in files.items() if n != "MultiRC.jsonl" for x in xs)
    assert all(isinstance(x["idx"], int) for n in ("WiC.jsonl", "WSC.jsonl", "ReCoRD.jsonl") for x in files[n])
    board = (release / "leaderboard.md").read_text()
    assert "(diagnostic)" in board
