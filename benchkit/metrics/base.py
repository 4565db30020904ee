"""The metric vocabulary: the ``Metric`` entry, the ``METRICS`` registry and input validation.

Family modules (classification, regression, ...) register into ``METRICS`` at import. The package imports only
numpy and benchkit at top level: scipy and seqeval are imported inside the compute functions so that
``import benchkit.metrics`` stays cheap for the CLI. Classification metrics are plain numpy (fast under bootstrap);
the tests check them against sklearn.

Conventions:
* every ``compute`` returns a plain ``float`` on the [0, 1] scale (leaderboards print x100);
* labels are the official label STRINGS, never integer ids (id orders differ between HF, jiant and fairseq);
* ``compute`` trusts its input; ``compute_metric`` validates lengths, kinds and options first and raises
  ``BenchkitError`` with a hint. For bootstrap loops, validate once with ``compute_metric`` and then resample
  ``METRICS.get(name).compute`` (with the same options) to skip re-validating every resample.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np

from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.registry import Registry

InputKind = Literal["labels", "scores", "tags", "grouped_labels", "grouped_answers", "pairs"]


class UndefinedMetricWarning(UserWarning):
    """A metric was undefined on this input (e.g. a correlation with a constant side) and a documented fallback was used."""


@dataclass(frozen=True)
class AdditiveStats:
    """A metric as a function of per-example statistics that add up over examples (a bootstrap resample's stats are
    the drawn examples' rows summed with their multiplicities: one matrix product for every resample at once).

    ``per_example`` is (examples, k); ``value`` maps summed rows (b, k) to the metric on each of them (b,), computed as
    ``compute`` does, so that a resample's value equals ``compute`` on the drawn examples."""

    per_example: np.ndarray
    value: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metric:
    name: str
    input_kind: InputKind
    compute: Callable[..., float]  # compute(references, predictions, **options) -> float on the [0, 1] scale
    higher_is_better: bool = True
    description: str = ""
    options: tuple[str, ...] = ()  # keyword options ``compute`` accepts
    required_options: tuple[str, ...] = ()  # subset of ``options`` that must be given
    # additive(references, predictions, **options) -> AdditiveStats, for metrics that have exact additive statistics
    # (counts, sums); without either capability the bootstrap recomputes ``compute`` on each resample
    additive: Callable[..., AdditiveStats] | None = None
    # weighted(references, predictions, **options) -> f(weights (b, examples)) -> (b,): the metric on b resamples given
    # each example's multiplicity, vectorised, for metrics without additive statistics (Spearman's ranks)
    weighted: Callable[..., Callable[[np.ndarray], np.ndarray]] | None = None
    # pair metrics: the text role the two members of each consecutive pair share (AX-g: text_pair, the hypothesis),
    # checked on the data at load time so that a mis-ordered file is an error, not a silently wrong score
    pairs_share: str | None = None


METRICS: Registry[Metric] = Registry("metric")


def add_metric(metric: Metric, *, aliases: tuple[str, ...] = ()) -> Metric:
    """Register ``metric`` under its own name."""
    return METRICS.add(metric.name, metric, aliases=aliases)


@dataclass(frozen=True)
class InputKindSpec:
    """How to check one input kind; ``check`` raises BenchkitError on the first bad item."""

    name: str
    check: Callable[[Sequence[Any], Sequence[Any]], None]
    description: str = ""


# Options are checked by name (not by metric), so e.g. ``labels`` means the same thing for every metric.
OptionCheck = Callable[[Any, Sequence[Any], Sequence[Any], Mapping[str, Any]], None]
INPUT_KINDS: Registry[InputKindSpec] = Registry("metric input kind")
OPTION_CHECKS: Registry[OptionCheck] = Registry("metric option")


def fail(message: str, *, field: str | None = None, hint: str | None = None) -> BenchkitError:
    """A BenchkitError for bad metric input (callers ``raise fail(...)``)."""
    return BenchkitError(Problem(message, field=field, hint=hint))


def undefined(metric: str, why: str, fallback: float) -> float:
    """Warn that ``metric`` is undefined here and return the documented fallback value."""
    warnings.warn(f"{metric} is undefined ({why}); returning {fallback}", UndefinedMetricWarning, stacklevel=3)
    return fallback


# ---------------------------------------------------------------------------------------------------------------
# input kinds


def _check_strings(values: Sequence[Any], side: str) -> None:
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise fail(
                f"{side}[{i}] is {value!r} ({type(value).__name__}); labels must be the official label strings",
                field=side,
                hint="map label ids to their strings first (id orders differ between sources)",
            )


def _check_labels(references: Sequence[Any], predictions: Sequence[Any]) -> None:
    _check_strings(references, "references")
    _check_strings(predictions, "predictions")


def _check_scores(references: Sequence[Any], predictions: Sequence[Any]) -> None:
    for side, values in (("references", references), ("predictions", predictions)):
        for i, value in enumerate(values):
            # numbers.Real covers numpy scalars; bool is excluded because it is almost surely a label passed by mistake
            if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)) or not math.isfinite(value):
                raise fail(f"{side}[{i}] is {value!r}; expected a finite number", field=side)


def _check_tags(references: Sequence[Any], predictions: Sequence[Any]) -> None:
    for i, (ref, pred) in enumerate(zip(references, predictions)):
        if isinstance(ref, str) or isinstance(pred, str):
            raise fail(f"example {i} is a string; tag inputs are one list of tags per sentence", field="references")
        if len(ref) != len(pred):
            raise fail(
                f"example {i} has {len(ref)} reference tags but {len(pred)} predicted tags",
                field="predictions",
                hint="predict exactly one tag per token",
            )
        _check_strings(ref, f"references[{i}]")
        _check_strings(pred, f"predictions[{i}]")


def _check_answers(references: Sequence[Any], predictions: Sequence[Any]) -> None:
    for i, golds in enumerate(references):
        if isinstance(golds, str) or len(golds) == 0:
            raise fail(f"references[{i}] must be a non-empty list of gold answer strings", field="references")
        _check_strings(golds, f"references[{i}]")
    for i, pred in enumerate(predictions):
        if pred is not None and not isinstance(pred, str):  # None = unanswered, scores 0 as in the official script
            raise fail(f"predictions[{i}] is {pred!r}; expected an answer string or None", field="predictions")


INPUT_KINDS.add("labels", InputKindSpec("labels", _check_labels, "one label string per example"))
INPUT_KINDS.add("grouped_labels", InputKindSpec("grouped_labels", _check_labels, "one label string per answer option"))
# "pairs" is registered by diagnostics.py, next to the metric that defines what a pair is.
INPUT_KINDS.add("scores", InputKindSpec("scores", _check_scores, "one finite number per example"))
INPUT_KINDS.add("tags", InputKindSpec("tags", _check_tags, "one list of tag strings per sentence"))
INPUT_KINDS.add(
    "grouped_answers",
    InputKindSpec("grouped_answers", _check_answers, "gold: list of answer strings; prediction: string or None"),
)


# ---------------------------------------------------------------------------------------------------------------
# options shared by several families


def _check_label_set(value: Any, references: Sequence[Any], predictions: Sequence[Any], _: Mapping[str, Any]) -> None:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise fail("option 'labels' must be a list of label strings", field="labels")
    if len(set(value)) != len(value) or not value:
        raise fail(f"option 'labels' must be non-empty with no duplicates, got {list(value)}", field="labels")
    allowed = set(value)
    for side, values in (("references", references), ("predictions", predictions)):
        for i, label in enumerate(values):
            if label not in allowed:
                raise fail(
                    f"{side}[{i}] = {label!r} is not one of the labels {list(value)}",
                    field=side,
                    hint=did_you_mean(label, allowed) or "check the label strings and their case",
                )


def _check_positive_label(value: Any, references: Sequence[Any], predictions: Sequence[Any], options: Mapping[str, Any]) -> None:
    if not isinstance(value, str):
        raise fail(f"option 'positive_label' must be a label string, got {value!r}", field="positive_label")
    known = set(options["labels"]) if options.get("labels") is not None else set(references) | set(predictions)
    if value not in known:
        # F1 of a label that never occurs is silently 0: almost always a typo or a case mismatch ("True" vs "true")
        raise fail(
            f"positive_label {value!r} occurs in neither the label set nor the data ({sorted(known)})",
            field="positive_label",
            hint=did_you_mean(value, known),
        )


def _check_groups(value: Any, references: Sequence[Any], _p: Sequence[Any], _o: Mapping[str, Any]) -> None:
    if isinstance(value, str) or len(value) != len(references):
        raise fail(
            f"option 'groups' must give one question key per answer ({len(references)}), got "
            f"{'a string' if isinstance(value, str) else len(value)}",
            field="groups",
        )


OPTION_CHECKS.add("labels", _check_label_set)
OPTION_CHECKS.add("positive_label", _check_positive_label)
OPTION_CHECKS.add("groups", _check_groups)


# ---------------------------------------------------------------------------------------------------------------
# the validated entry point


def _defaults(metric: Metric) -> dict[str, Any]:
    params = inspect.signature(metric.compute).parameters
    return {
        name: params[name].default
        for name in metric.options
        if name in params and params[name].default is not inspect.Parameter.empty
    }


def compute_metric(name: str, references: Sequence[Any], predictions: Sequence[Any], **options: Any) -> float:
    """Validate the input of metric ``name`` and compute it (a float on the [0, 1] scale).

    Raises ``BenchkitError`` for an unknown metric or option, a missing required option, a length mismatch, an
    empty input, a value of the wrong kind, or a label outside the ``labels`` option.
    """
    metric = METRICS.get(name)
    for option in options:
        if option not in metric.options:
            raise fail(
                f"metric '{metric.name}' has no option '{option}'; it accepts: {', '.join(metric.options) or 'none'}",
                field=option,
                hint=did_you_mean(option, metric.options),
            )
    missing = [o for o in metric.required_options if options.get(o) is None]
    if missing:
        raise fail(
            f"metric '{metric.name}' needs option(s) {', '.join(missing)}",
            field=missing[0],
            hint=f"e.g. compute_metric('{metric.name}', refs, preds, {missing[0]}=...)",
        )
    references, predictions = list(references), list(predictions)
    if len(references) != len(predictions):
        raise fail(
            f"{len(references)} references but {len(predictions)} predictions for metric '{metric.name}'",
            hint="predictions must be aligned one-to-one with the references",
        )
    if not references:
        raise fail(f"metric '{metric.name}' needs at least one example")
    INPUT_KINDS.get(metric.input_kind).check(references, predictions)
    # Defaults from the signature are checked too, e.g. multirc_f1a's positive_label="True" against the data.
    effective = {**_defaults(metric), **{k: v for k, v in options.items() if v is not None}}
    for option, value in effective.items():
        if value is not None and option in OPTION_CHECKS:
            OPTION_CHECKS.get(option)(value, references, predictions, effective)
    return float(metric.compute(references, predictions, **options))
