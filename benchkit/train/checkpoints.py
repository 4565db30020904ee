"""Checkpoints of a run in progress, so an interrupted run resumes where it stopped with the same result.

``transformers.Trainer`` writes ``checkpoints/checkpoint-<step>/`` (weights, optimizer, scheduler, RNG states, and
``trainer_state.json`` last), every epoch or every ``checkpoint_steps``. A checkpoint counts only when its
``trainer_state.json`` parses: a run killed while saving leaves an incomplete folder, which is ignored and removed.
``timing.json`` keeps the training seconds spent up to each checkpoint, so a resumed run's record reports the whole
training time, not only the part after the resume. The folder is deleted when the run has finished.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from benchkit.atomic import write_atomic

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TIMING = "timing.json"


def _complete(folder: Path) -> bool:
    try:
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def last_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint under ``root``; newer incomplete ones are removed."""
    if not root.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))),
                   reverse=True)
    for _, folder in found:
        if _complete(folder):
            return folder
        shutil.rmtree(folder, ignore_errors=True)
    return None


def step_of(checkpoint: Path) -> int:
    match = CHECKPOINT.match(checkpoint.name)
    assert match is not None
    return int(match.group(1))


def seconds_before(root: Path, step: int) -> float:
    """Training seconds already spent when the checkpoint at ``step`` was written (0 when unknown)."""
    try:
        return float(json.loads((root / TIMING).read_text(encoding="utf-8")).get(str(step), 0.0))
    except (OSError, ValueError):
        return 0.0


def checkpoint_callback(root: Path, clock: Any, keep_final: bool) -> Any:
    """Records the training seconds at each save; with ``keep_final`` False, skips the save after the last step
    (the run ends right after it: nothing would resume from it)."""
    from transformers import TrainerCallback

    class Checkpoints(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if not keep_final and state.global_step >= state.max_steps:
                control.should_save = False

        on_epoch_end = on_step_end  # the Trainer asks to save after the last step or epoch, whichever strategy

        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            path = root / TIMING
            try:
                timing = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                timing = {}
            timing[str(state.global_step)] = round(clock(), 3)
            write_atomic(path, json.dumps(timing, sort_keys=True))

    return Checkpoints()
