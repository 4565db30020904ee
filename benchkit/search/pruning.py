"""Median pruning of search trials, on the per-epoch selection metric, as Optuna's ``MedianPruner`` defines it.

At its n-th evaluation on the selection split, a trial stops when the best value it has reached so far is worse than
the median of the completed trials' values at their n-th evaluation; never before ``startup_trials`` trials have
completed, never at the first ``warmup_evaluations`` evaluations, and never at a trial's last evaluation (stopping
then saves nothing, and the trial's result is complete). The medians are computed by the search before it
starts a trial, from the completed trials' records (``selection_curve``), and travel with the run as plain data
(``RunSpec.extra["prune"]``), so a trial prunes itself in whichever process or node trains it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MedianRule:
    startup_trials: int = 3
    warmup_evaluations: int = 1

    def thresholds(self, curves: list[list[float]], higher_is_better: bool) -> dict[str, Any] | None:
        """{"medians": {evaluation: median}, "higher_is_better", "trials"} from the completed trials' curves; None
        while too few trials have completed."""
        if len(curves) < self.startup_trials or not curves:
            return None
        longest = max(len(c) for c in curves)
        medians = {n: statistics.median(c[n - 1] for c in curves if len(c) >= n)
                   for n in range(self.warmup_evaluations + 1, longest + 1)}
        return {"medians": medians, "higher_is_better": higher_is_better, "trials": len(curves)} if medians else None


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
