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
from benchkit.train.provenance import file_sha256
from benchkit.train.records import RunRecord

from conftest import FIXTURES, REPO, SHARED

MINI = REPO / "data" / "glue-mini"
TINY_RECIPE = ["--set", "epochs=1", "--set", "max_train_samples=48", "--set", "batch_size=16",
               "--set", "bootstrap_resamples=20"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "benchkit.cli", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=900, env=env)


def records(out: Path) -> dict[Path, RunRecord]:
    return {p: RunRecord.parse(json.loads(p.read_text())) for p in sorted((out / "runs").rglob("record.json"))}


@pytest.fixture(scope="module")
def grid(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("grid")
    result = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/sst2", "--task", "glue-mini/stsb",
                     "--seeds", "1,2", "--out", str(out), "--quiet", *TINY_RECIPE, cwd=out)
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
        assert (record.provenance.hardware["precision"], record.provenance.hardware["optimizer"]) == ("fp32", "adamw_torch")
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
    data = tmp_path / "data"
    shutil.copytree(MINI, data)
    with (data / "CoLA" / "train.tsv").open("a", encoding="utf-8") as handle:
        handle.write("gj04\t1\tonly three fields\n")  # a ragged row
    out = tmp_path / "out"
    result = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/cola", "--task", "glue-mini/sst2",
                     "--data-dir", str(data), "--out", str(out), "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL  glue-mini/cola" in result.stdout and "ragged row: expected 4 fields, found 3" in result.stdout
    assert "1 run(s) done, 0 skipped (done earlier), 1 failed" in result.stdout
    assert [r.task.id for r in records(out).values()] == ["glue-mini/sst2"]
    log = next((out / "runs").rglob("cola/**/run.log")).read_text()
    assert "ragged row" in log


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

    result = run_cli(str(FIXTURES / "copa" / "copa.yaml"), "--model", str(tiny_model), "--data-dir",
                     str(FIXTURES / "copa"), "--out", str(tmp_path / "copa-out"), "--quiet", *TINY_RECIPE, cwd=tmp_path)
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
