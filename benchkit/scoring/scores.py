"""From metric values to task scores, suite scores and seed statistics.

Shapes:
* a task's metric values: ``{metric_name: value}``;
* ``TaskResult = {evaluation_split: {metric_name: value}}``. A task's score is the mean over its evaluation splits of
  the per-split task score, so MNLI evaluated on matched + mismatched counts once as mean(m, mm) with no special case.

Scoring is scale-agnostic (means only): benchkit stores metrics on [0, 1]; feeding published x100 numbers gives x100
scores. A suite's score follows its rule (``benchkit.scoring.rules``: rules as data, and the named ones); bootstrap
CIs come from ``benchkit.scoring.bootstrap``, which sits above this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import numpy as np

from benchkit.errors import BenchkitError, Problem
from benchkit.scoring.rules import SCORE_RULES, ScoreRule

TaskResult = dict[str, dict[str, float]]


def _error(message: str, hint: str | None = None) -> BenchkitError:
    return BenchkitError(Problem(message, hint=hint))


# ---------------------------------------------------------------------------------------------------------------
# task scores


def task_score(metric_values: Mapping[str, float], score_metrics: Sequence[str] | None = None) -> float:
    """Mean of a task's metric values, or of the named subset (e.g. MRPC: mean(f1, accuracy))."""
    names = list(metric_values) if score_metrics is None else list(score_metrics)
    if not names:
        raise _error("a task score needs at least one metric value")
    absent = [n for n in names if n not in metric_values]
    if absent:
        raise _error(f"metric(s) {absent} missing; have {sorted(metric_values)}", hint="evaluate the task with them")
    return float(np.mean([metric_values[n] for n in names]))


def result_score(result: Mapping[str, Mapping[str, float]], score_metrics: Sequence[str] | None = None) -> float:
    """A task's score from its TaskResult: the mean over evaluation splits of the per-split task score."""
    if not result:
        raise _error("a task result needs at least one evaluation split")
    return float(np.mean([task_score(values, score_metrics) for values in result.values()]))


# ---------------------------------------------------------------------------------------------------------------
# suite scores


@dataclass(frozen=True)
class TaskScoreInput:
    """One task of a suite as a score rule sees it."""

    task_id: str  # "<suite>/<HF config name>", e.g. "glue/mnli", "klej/polemo2.0-in"
    result: TaskResult | None  # None (or empty) = not evaluated
    scored: bool = True  # the suite card's flag; diagnostics such as glue/ax are not scored
    score_metrics: tuple[str, ...] | None = None  # the card's metrics averaged into the task score; None = all


@dataclass(frozen=True)
class SuiteScoreInput:
    tasks: tuple[TaskScoreInput, ...]

    @classmethod
    def from_results(
        cls,
        results: Mapping[str, TaskResult | None],
        *,
        not_scored: Sequence[str] = (),
        score_metrics: Mapping[str, Sequence[str]] | None = None,
    ) -> SuiteScoreInput:
        metrics = score_metrics or {}
        return cls(
            tuple(
                TaskScoreInput(
                    task_id,
                    result,
                    scored=task_id not in not_scored,
                    score_metrics=tuple(metrics[task_id]) if task_id in metrics else None,
                )
                for task_id, result in results.items()
            )
        )


@dataclass(frozen=True)
class SuiteScore:
    rule: str
    label: str  # the rule's label; says PARTIAL and what is missing when partial
    value: float
    partial: bool
    missing: tuple[str, ...]
    task_scores: Mapping[str, float]  # entry -> score; split entries are named "task[split]"
    excluded: tuple[str, ...]  # tasks present in the input but not counted by this rule

    def describe(self, scale: float = 100.0, decimals: int = 1) -> str:
        """One line, e.g. 'GLUE score (...): 80.5'. ``scale`` = 100 for [0, 1] values, 1 for published x100 values."""
        return f"{self.label}: {self.value * scale:.{decimals}f}"


def _slot_value(values: Mapping[str, float], slot: str, where: str) -> float:
    for name in slot.split("|"):
        if name in values:
            return values[name]
    raise _error(
        f"{where}: the score rule needs metric {' or '.join(slot.split('|'))}; have {sorted(values)}",
        hint="evaluate the task with that metric",
    )


def _entry_score(values: Mapping[str, float], slots: Sequence[str] | None, where: str) -> float:
    if slots is None:
        return task_score(values)
    return float(np.mean([_slot_value(values, slot, where) for slot in slots]))


def _selected_tasks(rule: ScoreRule, by_id: Mapping[str, TaskScoreInput]) -> list[str]:
    if rule.tasks is None:
        return rule.counted([t for t, e in by_id.items() if e.scored])
    # A published rule fixes its task set; a suite card that disagrees with it is a configuration error.
    extra, unscored = rule.flag_conflicts({t: e.scored for t, e in by_id.items()})
    if extra or unscored:
        raise _error(
            f"score rule '{rule.name}' counts exactly {list(rule.tasks)}, but the suite marks "
            + "; ".join([f"{extra} as scored"] * bool(extra) + [f"{unscored} as not scored"] * bool(unscored)),
            hint="fix the suite's scored flags, or use a rule such as 'mean' that follows the suite",
        )
    return list(rule.tasks)


def _by_id(inputs: SuiteScoreInput) -> dict[str, TaskScoreInput]:
    by_id: dict[str, TaskScoreInput] = {}
    for entry in inputs.tasks:
        if entry.task_id in by_id:
            raise _error(f"task '{entry.task_id}' appears twice in the suite input")
        by_id[entry.task_id] = entry
    return by_id


def _missing(rule: ScoreRule, selected: list[str], by_id: Mapping[str, TaskScoreInput]) -> dict[str, str]:
    """Selected task -> why it cannot be scored (no result, or fewer evaluation splits than the rule needs)."""
    missing: dict[str, str] = {}
    for task in selected:
        result = by_id[task].result if task in by_id else None
        if not result:
            missing[task] = "no result"
        elif len(result) < rule.min_splits.get(task, 1):
            missing[task] = f"needs {rule.min_splits[task]} evaluation splits, got {sorted(result)}"
    return missing


def _entry_scores(rule: ScoreRule, tasks: list[str], by_id: Mapping[str, TaskScoreInput]) -> dict[str, float]:
    """Entry -> score: each task's mean over its splits, or one entry per split for the rule's split entries."""
    scores: dict[str, float] = {}
    for task in tasks:
        entry = by_id[task]
        default = rule.default_metrics if rule.default_metrics is not None else entry.score_metrics
        slots = rule.metrics.get(task, default)
        assert entry.result is not None
        per_split = {s: _entry_score(v, slots, f"{task} [{s}]") for s, v in entry.result.items()}
        if task in rule.split_entries:
            scores.update({f"{task}[{s}]": v for s, v in per_split.items()})
        else:
            scores[task] = float(np.mean(list(per_split.values())))
    return scores


def suite_score(inputs: SuiteScoreInput, rule: str | ScoreRule, *, partial: bool = False) -> SuiteScore:
    """Aggregate task results with a rule (or the rule of that name).

    Refuses (BenchkitError naming the tasks) when a scored task has no result, unless ``partial=True``: then the
    score is over the tasks present and is labelled PARTIAL with the missing tasks listed.
    """
    spec = rule if isinstance(rule, ScoreRule) else SCORE_RULES.get(rule)
    by_id = _by_id(inputs)
    selected = _selected_tasks(spec, by_id)
    missing = _missing(spec, selected, by_id)
    if missing and not partial:
        raise _error(
            f"cannot compute the '{spec.name}' score: missing "
            + ", ".join(f"{t} ({why})" for t, why in missing.items()),
            hint="evaluate the missing tasks, or pass partial=True for a score labelled partial",
        )
    scores = _entry_scores(spec, [t for t in selected if t not in missing], by_id)
    if not scores:
        raise _error(f"nothing to score with rule '{spec.name}': every scored task is missing")

    label = spec.label + (f" [PARTIAL: missing {', '.join(missing)}]" if missing else "")
    return SuiteScore(
        rule=spec.name,
        label=label,
        value=float(np.mean(list(scores.values()))),
        partial=bool(missing),
        missing=tuple(missing),
        task_scores=scores,
        excluded=tuple(t for t in by_id if t not in selected),
    )


# ---------------------------------------------------------------------------------------------------------------
# a suite's score under its own rule


class ScoredTask(Protocol):
    """What a suite score needs of a task card (``cards.schema.TaskCard`` has it)."""

    @property
    def id(self) -> str: ...

    @property
    def score_metrics(self) -> Sequence[str] | None: ...


class SuiteTaskFlag(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def scored(self) -> bool: ...


class ScoredSuiteCard(Protocol):
    @property
    def tasks(self) -> Sequence[SuiteTaskFlag]: ...

    @property
    def rule(self) -> ScoreRule: ...


class ScoredSuite(Protocol):
    """What a suite score needs of a loaded suite (``cards.catalog.Suite`` has it): its card's scored flags and
    rule, and its task cards' score metrics."""

    @property
    def card(self) -> ScoredSuiteCard: ...

    @property
    def tasks(self) -> Sequence[ScoredTask]: ...


def _rule_inputs(suite: ScoredSuite, results: Mapping[str, TaskResult]) -> SuiteScoreInput:
    # Each card's score_metrics travel with it: a rule that does not pin a task's metrics (``mean``) averages exactly
    # those, not every metric the card reports (CoNLL: entity F1, not F1 with precision, recall and per-type F1).
    scored = {t.id: t.scored for t in suite.card.tasks}
    return SuiteScoreInput(tuple(TaskScoreInput(card.id, results.get(card.id), scored=scored.get(card.id, True),
                                                score_metrics=tuple(card.score_metrics) if card.score_metrics else None)
                                 for card in suite.tasks))


def rule_score(suite: ScoredSuite, results: Mapping[str, TaskResult]) -> SuiteScore:
    """The suite's score rule on task -> split -> metric values (partial: labelled, not refused)."""
    return suite_score(_rule_inputs(suite, results), suite.card.rule, partial=True)


# ---------------------------------------------------------------------------------------------------------------
# seeds


@dataclass(frozen=True)
class SeedStats:
    mean: float
    std: float  # SAMPLE standard deviation (ddof=1), as papers report "mean ± std over runs"; nan for one seed
    n: int
    values: tuple[float, ...]


def seed_stats(values: Sequence[float]) -> SeedStats:
    """Mean and sample std (ddof=1) over seeds. One seed has no spread estimate: std is nan, not a misleading 0."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise _error("seed statistics need at least one value")
    std = float(np.std(array, ddof=1)) if array.size > 1 else float("nan")
    return SeedStats(float(array.mean()), std, int(array.size), tuple(float(v) for v in array))


def aggregate_seeds(results: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, SeedStats]]:
    """Per split and metric, the SeedStats over several seeds' TaskResults (which must have the same keys)."""
    if not results:
        raise _error("aggregate_seeds needs at least one result")
    shape = {split: sorted(values) for split, values in results[0].items()}
    for i, result in enumerate(results[1:], start=1):
        if {split: sorted(values) for split, values in result.items()} != shape:
            raise _error(f"seed result {i} has splits/metrics {dict(result)} unlike seed result 0 {shape}")
    return {
        split: {metric: seed_stats([r[split][metric] for r in results]) for metric in metrics}
        for split, metrics in shape.items()
    }
