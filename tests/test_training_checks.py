"""Checks made during training without a host synchronisation per step: the loss is read back where it is logged
(every LOG_STEPS steps), and a non-finite loss fails the run with what to change."""

from __future__ import annotations

import json
from pathlib import Path

from release_helpers import invoke


def test_a_diverging_run_fails_with_what_to_change(tiny_model: Path, tmp_path: Path) -> None:
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--set", "epochs=1",
                    "--set", "max_length=64", "--set", "bootstrap_resamples=0", "--set", "learning_rate=1e12",
                    "--set", "max_grad_norm=1e30", "--out", tmp_path, "--quiet", "--no-release")
    assert result.exit_code == 1
    assert ("learning_rate: the training loss became nan by step 10 (hint: lower the learning rate (--set "
            "learning_rate=...), or use precision fp32 (--set precision=fp32))") in result.output
    assert not list(tmp_path.glob("runs/**/record.json"))  # a failed run leaves no record


def test_the_loss_is_logged_every_few_steps(tiny_model: Path, tmp_path: Path) -> None:
    from benchkit.train.loop import LOG_STEPS

    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--set", "epochs=1",
                    "--set", "max_length=64", "--set", "bootstrap_resamples=0", "--set", "max_train_samples=640",
                    "--set", "select=last", "--out", tmp_path, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    record = json.loads(next(tmp_path.glob("runs/**/record.json")).read_text())
    total = 640 // record["recipe"]["batch_size"]
    log = next(tmp_path.glob("runs/**/train_log.jsonl")).read_text().splitlines()
    steps = [entry["step"] for entry in map(json.loads, log) if "loss" in entry]
    assert steps == list(range(LOG_STEPS, total + 1, LOG_STEPS)) and len(steps) >= 2
