"""A search trial prunes itself: the part of median pruning that runs inside the training loop.

The search (``search.pruning.MedianRule``) computes, before it starts a trial, the medians of the completed trials'
selection metric at each evaluation, and passes them as plain data (``RunSpec.extra["prune"]``), so a trial prunes
itself in whichever process or node trains it. After each evaluation on the selection split, the trial stops when
the best value it has reached so far is worse than the median at that evaluation; never at its last evaluation
(stopping then saves nothing, and the trial's result is complete).
"""

from __future__ import annotations

from typing import Any


def should_prune(values: list[float], thresholds: dict[str, Any]) -> tuple[float, float] | None:
    """(best so far, median) when the trial with these values (one per evaluation so far) is to stop, else None."""
    median = thresholds["medians"].get(len(values)) or thresholds["medians"].get(str(len(values)))
    if median is None:
        return None
    best = max(values) if thresholds["higher_is_better"] else min(values)
    worse = best < median if thresholds["higher_is_better"] else best > median
    return (best, median) if worse else None


def pruning_callback(thresholds: dict[str, Any], primary: str) -> Any:
    """A TrainerCallback that applies the rule after each evaluation and stops training; ``.pruned`` then holds the
    record's ``Pruned`` fields."""
    from transformers import TrainerCallback

    class PruningCallback(TrainerCallback):
        pruned: dict[str, Any] | None = None

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            # the log history is restored with a checkpoint, so the count survives a resume
            values = [float(e[f"eval_{primary}"]) for e in state.log_history if f"eval_{primary}" in e]
            last = state.max_steps and state.global_step >= state.max_steps  # stopping now would save nothing
            found = should_prune(values, thresholds) if values and not last else None
            if found is not None:
                self.pruned = {"evaluation": len(values), "epoch": float(state.epoch or 0.0), "value": found[0],
                               "median": found[1], "trials": thresholds["trials"]}
                control.should_training_stop = True

    return PruningCallback()
