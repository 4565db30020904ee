"""Score predictions of one task split with the card's metrics; the task score is their mean."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from benchkit.cards.schema import MetricRef, TaskCard
from benchkit.metrics import METRICS, compute_metric
from benchkit.task_types import TASK_TYPES


def metric_options(card: TaskCard, ref: MetricRef) -> dict[str, Any]:
    """The card's options for a metric, plus what the card itself implies (its label set, its tag scheme)."""
    accepted = METRICS.get(ref.name).options
    options = dict(ref.options)
    if card.labels is not None:
        if "labels" in accepted:
            options.setdefault("labels", list(card.labels.names))
        if "scheme" in accepted and card.labels.scheme:
            options.setdefault("scheme", card.labels.scheme)
    return options


def compute_metrics(card: TaskCard, references: Sequence[Any], predictions: Sequence[Any]) -> dict[str, float]:
    return {ref.name: compute_metric(ref.name, references, predictions, **metric_options(card, ref))
            for ref in card.metrics}


def task_split_score(card: TaskCard, references: Sequence[Any], predictions: Sequence[Any]) -> float:
    from benchkit.scoring import task_score

    return task_score(compute_metrics(card, references, predictions))


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


def evaluate_split(card: TaskCard, split: str, references: Sequence[Any], predictions: Sequence[Any], *,
                   resamples: int = 1000, level: float = 0.95, seed: int = 0) -> SplitEvaluation:
    """Every metric, the task score, and (resamples > 0) a bootstrap CI of the task score over examples."""
    from benchkit.scoring import bootstrap_ci, task_score

    metrics = compute_metrics(card, references, predictions)
    result = SplitEvaluation(card.id, split, len(references), metrics, task_score(metrics), card.primary_metric)
    if resamples > 0:
        # A metric over consecutive pairs (AX-g gender parity) is only defined on whole pairs: resample pairs, whose
        # two members stay adjacent in each draw, instead of single examples that would pair up at random.
        pairs = any(METRICS.get(ref.name).input_kind == "pairs" for ref in card.metrics)
        ci = bootstrap_ci(references, predictions,
                          lambda r, p, groups=None: task_split_score(card, list(r), list(p)),
                          resamples=resamples, level=level, seed=seed,
                          groups=[i // 2 for i in range(len(references))] if pairs else None)
        result.ci = {"of": "task score", "low": ci.low, "high": ci.high, "level": ci.level, "resamples": ci.resamples,
                     "method": ci.method, "seed": ci.seed, "unit": ci.unit}
    return result


def gold_targets(card: TaskCard, frame: Any) -> list[Any]:
    return list(frame[TASK_TYPES.get(card.type).target_field])
