"""A task card's metrics on one split's gold and predictions, and the task score they average into.

The card is seen through ``ScoredCard``, a Protocol of the few fields scoring reads (its metrics, label names, tag
scheme, score metrics, group field and task type), so this layer needs nothing of ``benchkit.cards``:
``cards.schema.TaskCard`` satisfies it as it is, and callers and tests keep passing cards. (A data object built
from the card would be a second copy of those fields, built at every call site; the Protocol is checked by the type
checker at no cost.)
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

from benchkit.metrics import METRICS, compute_metric
from benchkit.scoring.scores import ScoredTask, task_score
from benchkit.task_types import TASK_TYPES


class MetricEntry(Protocol):
    """One metric of a card: its registered name, its options, the key its value is reported under."""

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    @property
    def key(self) -> str: ...


class LabelSet(Protocol):
    @property
    def names(self) -> Sequence[str]: ...

    @property
    def scheme(self) -> str | None: ...


class GroupField(Protocol):
    @property
    def group(self) -> Any: ...


class ScoredCard(ScoredTask, Protocol):
    """What scoring needs of a task card (with ``ScoredTask``'s id and score metrics)."""

    @property
    def type(self) -> str: ...

    @property
    def metrics(self) -> Sequence[MetricEntry]: ...

    @property
    def labels(self) -> LabelSet | None: ...

    @property
    def fields(self) -> GroupField: ...

    @property
    def primary_metric(self) -> str: ...


def metric_options(card: ScoredCard, ref: MetricEntry) -> dict[str, Any]:
    """The card's options for a metric, plus what the card itself implies (its label set, its tag scheme)."""
    accepted = METRICS.get(ref.name).options
    options = dict(ref.options)
    if card.labels is not None:
        if "labels" in accepted:
            options.setdefault("labels", list(card.labels.names))
        if "scheme" in accepted and card.labels.scheme and card.labels.scheme != "plain":  # plain: no prefixes
            options.setdefault("scheme", card.labels.scheme)
    return options


def compute_metrics(card: ScoredCard, references: Sequence[Any], predictions: Sequence[Any],
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


def task_split_score(card: ScoredCard, references: Sequence[Any], predictions: Sequence[Any],
                     groups: Sequence[Any] | None = None) -> float:
    return task_score(compute_metrics(card, references, predictions, groups), card.score_metrics)


def resampling_units(card: ScoredCard, size: int, groups: Sequence[Any] | None) -> list[Any] | None:
    """What a bootstrap resamples as one unit: the card's groups (MultiRC questions), the consecutive pairs of a
    pair metric (AX-g), or single examples (None)."""
    if groups is not None:
        return list(groups)
    if any(METRICS.get(ref.name).input_kind == "pairs" for ref in card.metrics):
        return [i // 2 for i in range(size)]
    return None


def gold_targets(card: ScoredCard, frame: Any) -> list[Any]:
    """The gold targets of a split's canonical frame (the task type's target column)."""
    return list(frame[TASK_TYPES.get(card.type).target_field])


def gold_groups(card: ScoredCard, frame: Any) -> list[str] | None:
    """The group key of each example (the card's ``group`` field), or None."""
    return list(frame["group"]) if card.fields.group is not None and "group" in frame else None
