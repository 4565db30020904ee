"""One run trained data-parallel over two CPU processes (gloo), launched through accelerate by
``benchkit run --processes 2``: one record, complete predictions, the same configuration as a one-process run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("data-parallel")

RECIPE = ("--set", "epochs=1", "--set", "max_train_samples=64", "--set", "max_length=64", "--set",
          "bootstrap_resamples=0", "--set", "select=last")


def run(tiny_model: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "glue-mini", "--task", "glue-mini/sst2",
                           "--model", str(tiny_model), *RECIPE, "--out", str(out), "--quiet", "--no-release", *extra],
                          capture_output=True, text=True, timeout=600)


def test_two_gloo_processes_train_one_run_and_write_one_record(tiny_model: Path, tmp_path: Path) -> None:
    result = run(tiny_model, tmp_path / "ddp", "--processes", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("1 run(s) done") == 1  # the other process prints nothing
    [path] = list((tmp_path / "ddp").glob("runs/**/record.json"))
    record = json.loads(path.read_text())
    assert record["provenance"]["hardware"]["processes"] == 2
    dev = [json.loads(line) for line in (path.parent / "predictions" / "dev.jsonl").read_text().splitlines()]
    assert sorted(int(row["id"]) for row in dev) == list(range(record["results"]["dev"]["examples"]))
    assert (path.parent / "model" / "model.safetensors").is_file()
    log = (path.parent / "run.log").read_text()
    assert log.count("INFO benchkit: run glue-mini/sst2") == 1 and "Traceback" not in log
    # one process, same configuration: the same run (batch_size is per optimizer step, split among processes)
    single = run(tiny_model, tmp_path / "single")
    assert single.returncode == 0, single.stdout + single.stderr
    [alone] = [json.loads(p.read_text()) for p in (tmp_path / "single").glob("runs/**/record.json")]
    assert alone["config_hash"] == record["config_hash"]
    assert alone["provenance"]["hardware"]["processes"] == 1


def test_a_batch_that_does_not_split_over_the_processes_is_one_line(tiny_model: Path, tmp_path: Path) -> None:
    result = run(tiny_model, tmp_path / "ddp", "--processes", "2", "--set", "batch_size=15")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: batch_size: batch_size 15 does not split evenly over 2 processes (hint: use a batch size divisible "
        "by 2, or --set gradient_accumulation to reach it)"]
    assert not (tmp_path / "ddp" / "runs").exists()
