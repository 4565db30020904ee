"""Median pruning of search trials, on the per-epoch selection metric, as Optuna's ``MedianPruner`` defines it.

At its n-th evaluation on the selection split, a trial stops when the best value it has reached so far is worse than
the median of the completed trials' values at their n-th evaluation; never before ``startup_trials`` trials have
completed, never at the first ``warmup_evaluations`` evaluations, and never at a trial's last evaluation. The search
computes the medians here before it starts a trial, from the completed trials' records (``selection_curve``); the
trial applies them while it trains (``train.pruning``).
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
        while too few trials have completed. A trial carries them in ``RunSpec.extra["prune"]``."""
        if len(curves) < self.startup_trials or not curves:
            return None
        longest = max(len(c) for c in curves)
        medians = {n: statistics.median(c[n - 1] for c in curves if len(c) >= n)
                   for n in range(self.warmup_evaluations + 1, longest + 1)}
        return {"medians": medians, "higher_is_better": higher_is_better, "trials": len(curves)} if medians else None
