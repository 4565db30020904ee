"""Ctrl-C during `benchkit run`: exit 130 with a one-line hint, honest progress, and a rerun that resumes the
interrupted run from its last checkpoint to exactly the result of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_run import records, run_cli

# Long enough (about 250 steps of the tiny model) for a signal to land between the first checkpoint and the end.
ARGS = ["glue-mini", "--task", "glue-mini/sst2", "--seeds", "1", "--no-release", "--set", "epochs=3",
        "--set", "batch_size=16", "--set", "bootstrap_resamples=0"]


def _default_ctrl_c() -> None:
    """In the run's process, Ctrl-C as at a terminal: a test suite started in the background (``cmd &`` in a script)
    has SIGINT ignored, which its child processes would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _checkpoint_written(out: Path) -> bool:
    return any((p / "trainer_state.json").is_file() for p in (out / "runs").rglob("checkpoint-*"))


def test_ctrl_c_exits_130_and_the_rerun_resumes_to_the_same_result(tiny_model: Path, tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    reference = run_cli(*ARGS, "--model", str(tiny_model), "--out", str(straight), cwd=tmp_path)
    assert reference.returncode == 0, reference.stdout + reference.stderr

    out = tmp_path / "interrupted"
    argv = [sys.executable, "-m", "benchkit.cli", "run", *ARGS, "--model", str(tiny_model), "--out", str(out)]
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"}, preexec_fn=_default_ctrl_c)
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None and not _checkpoint_written(out):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert stderr.strip().splitlines()[-1] == ("interrupted during glue-mini/sst2 " + str(tiny_model) + " full seed 1 "
                                               "(0 run(s) finished and kept, 1 left); rerun the same command to resume")
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert "done  " not in stdout and not records(out)  # nothing reported finished, no record written

    again = run_cli(*ARGS, "--model", str(tiny_model), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resumed at step " in again.stdout and "1 run(s) done, 0 skipped" in again.stdout
    (path, resumed), = records(out).items()
    (ref_path, expected), = records(straight).items()
    assert "resuming from checkpoint-" in (path.parent / "run.log").read_text()
    assert resumed.config_hash == expected.config_hash
    assert resumed.results["dev"].metrics == expected.results["dev"].metrics
    assert resumed.selected_epoch == expected.selected_epoch
    for split in ("dev", "test"):
        assert (path.parent / resumed.predictions[split]).read_text() == \
               (ref_path.parent / expected.predictions[split]).read_text()
    assert resumed.costs.train_seconds > 0 and not (path.parent / "checkpoints").exists()
    at = int(again.stdout.split("resumed at step ", 1)[1].split("/", 1)[0])
    steps = [json.loads(line)["step"] for line in (path.parent / "train_log.jsonl").read_text().splitlines()]
    assert min(steps) < at < max(steps)  # the training log spans the whole run, before and after the resume


def test_checkpoints_every_n_steps_resume_mid_epoch(tiny_model: Path, tmp_path: Path) -> None:
    """`checkpoint_steps` checkpoints inside an epoch: a run stopped mid-epoch resumes at that step, same result."""
    args = [*ARGS, "--set", "checkpoint_steps=20", "--set", "select=last", "--model", str(tiny_model)]
    straight = run_cli(*args, "--out", str(tmp_path / "straight"), cwd=tmp_path)
    assert straight.returncode == 0, straight.stdout + straight.stderr
    out = tmp_path / "interrupted"
    process = subprocess.Popen([sys.executable, "-m", "benchkit.cli", "run", *args, "--out", str(out)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_ctrl_c)
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None and not _checkpoint_written(out):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    again = run_cli(*args, "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    at = int(again.stdout.split("resumed at step ", 1)[1].split("/", 1)[0])
    assert at % 20 == 0 and at % 85  # a checkpoint inside an epoch (85 steps per epoch)
    (path, resumed), = records(out).items()
    (ref_path, expected), = records(tmp_path / "straight").items()
    assert resumed.results["dev"].metrics == expected.results["dev"].metrics
    assert (path.parent / resumed.predictions["dev"]).read_text() == \
           (ref_path.parent / expected.predictions["dev"]).read_text()
