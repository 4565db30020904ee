"""One split's evaluation: every metric of the card, the task score and its bootstrap CI (``benchkit score``, runs,
evaluation-only runs)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from benchkit.scoring.bootstrap import split_ci
from benchkit.scoring.scores import task_score
from benchkit.scoring.task import ScoredCard, compute_metrics


@dataclass
class SplitEvaluation:
    task: str
    split: str
    examples: int
    metrics: dict[str, float]
    score: float
    primary_metric: str
    ci: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_split(card: ScoredCard, split: str, references: Sequence[Any], predictions: Sequence[Any], *,
                   resamples: int = 1000, level: float = 0.95, seed: int = 0,
                   groups: Sequence[Any] | None = None) -> SplitEvaluation:
    """Every metric, the task score, and (resamples > 0) a bootstrap CI of the task score over examples (or over
    whole groups / pairs, see ``scoring.task.resampling_units``), from the metrics' additive statistics."""
    metrics = compute_metrics(card, references, predictions, groups)
    result = SplitEvaluation(card.id, split, len(references), metrics, task_score(metrics, card.score_metrics),
                             card.primary_metric)
    if resamples > 0:
        # A metric over consecutive pairs (AX-g gender parity) is only defined on whole pairs, MultiRC EM on whole
        # questions: those units are resampled, their members staying together in each draw.
        ci = split_ci(card, references, predictions, point=result.score, resamples=resamples, level=level, seed=seed,
                      groups=groups)
        result.ci = {"of": "task score", "low": ci.low, "high": ci.high, "level": ci.level, "resamples": ci.resamples,
                     "method": ci.method, "seed": ci.seed, "unit": ci.unit}
    return result
