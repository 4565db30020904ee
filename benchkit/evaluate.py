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
        if "scheme" in accepted and card.labels.scheme and card.labels.scheme != "plain":  # plain: no prefixes
            options.setdefault("scheme", card.labels.scheme)
    return options


def compute_metrics(card: TaskCard, references: Sequence[Any], predictions: Sequence[Any],
                    groups: Sequence[Any] | None = None) -> dict[str, float]:
    """Every metric of the card; ``groups`` (one key per example, the card's ``group`` field) go to the metrics that
    take them (MultiRC EM groups answer options by question)."""
    out = {}
    for ref in card.metrics:
        options = metric_options(card, ref)
        if groups is not None and "groups" in METRICS.get(ref.name).options:
            options["groups"] = list(groups)
        out[ref.key] = compute_metric(ref.name, references, predictions, **options)
    return out


def task_split_score(card: TaskCard, references: Sequence[Any], predictions: Sequence[Any],
                     groups: Sequence[Any] | None = None) -> float:
    from benchkit.scoring import task_score

    return task_score(compute_metrics(card, references, predictions, groups), card.score_metrics)


def resampling_units(card: TaskCard, size: int, groups: Sequence[Any] | None) -> list[Any] | None:
    """What a bootstrap resamples as one unit: the card's groups (MultiRC questions), the consecutive pairs of a
    pair metric (AX-g), or single examples (None)."""
    if groups is not None:
        return list(groups)
    if any(METRICS.get(ref.name).input_kind == "pairs" for ref in card.metrics):
        return [i // 2 for i in range(size)]
    return None


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
                   resamples: int = 1000, level: float = 0.95, seed: int = 0,
                   groups: Sequence[Any] | None = None) -> SplitEvaluation:
    """Every metric, the task score, and (resamples > 0) a bootstrap CI of the task score over examples (or over
    whole groups / pairs, see ``resampling_units``), from the metrics' additive statistics (``benchkit.bootstrap``)."""
    from benchkit.bootstrap import split_ci
    from benchkit.scoring import task_score

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


def gold_targets(card: TaskCard, frame: Any) -> list[Any]:
    return list(frame[TASK_TYPES.get(card.type).target_field])


def gold_groups(card: TaskCard, frame: Any) -> list[str] | None:
    """The group key of each example (the card's ``group`` field), or None."""
    return list(frame["group"]) if _grouped(card) and "group" in frame else None


def _grouped(card: TaskCard) -> bool:
    return card.fields.group is not None
