"""Cluster execution on CPU: the Slurm executor through submitit's local executor (one array job per grid, runs
grouped per task, resubmission submits only runs without a record)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from release_helpers import invoke

pytestmark = pytest.mark.xdist_group("cluster")

RECIPE = ("--set", "epochs=1", "--set", "max_train_samples=48", "--set", "max_length=64", "--set",
          "bootstrap_resamples=0", "--set", "select=last", "--set", "save_model=false")


def submit(tiny_model: Path, out: Path) -> str:
    pytest.importorskip("submitit")
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--seeds", "1,2,3",
                    *RECIPE, "--executor", "slurm", "--cluster-backend", "local", "--runs-per-job", "2", "--wait",
                    "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    return result.output


def test_a_grid_is_one_array_job_and_resubmission_skips_finished_runs(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    output = submit(tiny_model, out)
    assert "submitted array job" in output and "2 task(s) of up to 2 run(s), 3 run(s) (0 done earlier)" in output
    assert "3 run(s) done, 0 skipped (done earlier), 0 failed" in output
    records = sorted(out.glob("runs/**/record.json"))
    assert [json.loads(p.read_text())["seed"] for p in records] == [1, 2, 3]
    submission = json.loads(next((out / "slurm").glob("*.json")).read_text())
    assert sorted(len(runs) for runs in submission.values()) == [1, 2]  # runs per array task
    assert sorted(f for runs in submission.values() for f in runs) == sorted(str(p.parent) for p in records)
    assert "nothing to submit: all 3 run(s) have records" in submit(tiny_model, out)
    shutil.rmtree(records[1].parent)  # a run lost (or cut short by its time limit): only it is submitted again
    again = submit(tiny_model, out)
    assert "1 task(s) of up to 2 run(s), 1 run(s) (2 done earlier)" in again
    assert "1 run(s) done, 2 skipped (done earlier), 0 failed" in again
    assert records[1].is_file()
