"""From metric values to task scores, suite scores and seed statistics; bootstrap CIs come from ``benchkit.bootstrap``
(its generic ``bootstrap_ci``/``paired_bootstrap``/``unpaired_bootstrap`` are re-exported here).

Shapes:
* a task's metric values: ``{metric_name: value}``;
* ``TaskResult = {evaluation_split: {metric_name: value}}``. A task's score is the mean over its evaluation splits of
  the per-split task score, so MNLI evaluated on matched + mismatched counts once as mean(m, mm) with no special case.

Scoring is scale-agnostic (means only): benchkit stores metrics on [0, 1]; feeding published x100 numbers gives x100
scores. Suite rules live in ``SCORE_RULES``; each names its convention in ``label`` because "GLUE average" means
different things in different papers (reference section 1.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from benchkit.errors import BenchkitError, Problem
from benchkit.registry import Registry

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
class ScoreRule:
    """A suite aggregation convention: the mean of per-task entries.

    A metric slot is a metric name or alternatives "a|b" (the first one present is used), so one rule covers e.g.
    LEPISZCZE's f1_macro for classifiers (``f1_macro``) and taggers (``seqeval_f1_macro``).
    """

    name: str
    label: str  # printed next to the number: says which convention this is
    tasks: tuple[str, ...] | None = None  # the published scored set; None = the tasks the suite marks scored
    exclude: tuple[str, ...] = ()  # scored by the suite but deliberately left out by this convention
    metrics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # per-task slots pinned by the convention
    default_metrics: tuple[str, ...] | None = None  # slots for tasks not in ``metrics``; None = the card's metrics
    split_entries: tuple[str, ...] = ()  # tasks whose evaluation splits count as separate entries
    min_splits: Mapping[str, int] = field(default_factory=dict)  # e.g. MNLI needs matched AND mismatched


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


SCORE_RULES: Registry[ScoreRule] = Registry("score rule")


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
        return [t for t, e in by_id.items() if e.scored and t not in rule.exclude]
    # A published rule fixes its task set; a suite card that disagrees with it is a configuration error.
    extra = [t for t, e in by_id.items() if e.scored and t not in rule.tasks and t not in rule.exclude]
    unscored = [t for t in rule.tasks if t in by_id and not by_id[t].scored]
    if extra or unscored:
        raise _error(
            f"score rule '{rule.name}' counts exactly {list(rule.tasks)}, but the suite marks "
            + "; ".join([f"{extra} as scored"] * bool(extra) + [f"{unscored} as not scored"] * bool(unscored)),
            hint="fix the suite's scored flags, or use a rule such as 'mean' that follows the suite",
        )
    return list(rule.tasks)


def suite_score(inputs: SuiteScoreInput, rule: str, *, partial: bool = False) -> SuiteScore:
    """Aggregate task results with the named rule.

    Refuses (BenchkitError naming the tasks) when a scored task has no result, unless ``partial=True``: then the
    score is over the tasks present and is labelled PARTIAL with the missing tasks listed.
    """
    spec = SCORE_RULES.get(rule)
    by_id: dict[str, TaskScoreInput] = {}
    for entry in inputs.tasks:
        if entry.task_id in by_id:
            raise _error(f"task '{entry.task_id}' appears twice in the suite input")
        by_id[entry.task_id] = entry
    selected = _selected_tasks(spec, by_id)

    missing: dict[str, str] = {}
    for task in selected:
        result = by_id[task].result if task in by_id else None
        if not result:
            missing[task] = "no result"
        elif len(result) < spec.min_splits.get(task, 1):
            missing[task] = f"needs {spec.min_splits[task]} evaluation splits, got {sorted(result)}"
    if missing and not partial:
        raise _error(
            f"cannot compute the '{spec.name}' score: missing "
            + ", ".join(f"{t} ({why})" for t, why in missing.items()),
            hint="evaluate the missing tasks, or pass partial=True for a score labelled partial",
        )

    scores: dict[str, float] = {}
    for task in selected:
        if task in missing:
            continue
        entry = by_id[task]
        slots = spec.metrics.get(task, spec.default_metrics if spec.default_metrics is not None else entry.score_metrics)
        assert entry.result is not None
        per_split = {s: _entry_score(v, slots, f"{task} [{s}]") for s, v in entry.result.items()}
        if task in spec.split_entries:
            scores.update({f"{task}[{s}]": v for s, v in per_split.items()})
        else:
            scores[task] = float(np.mean(list(per_split.values())))
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


_GLUE_TASKS = ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli")
SCORE_RULES.add(
    "glue",
    ScoreRule(
        "glue",
        "GLUE score (leaderboard rule: mean of 9 task scores; MRPC/QQP = mean(F1, acc), STS-B = mean(Pearson, "
        "Spearman), MNLI = mean(matched, mismatched); WNLI included, AX excluded)",
        tasks=tuple(f"glue/{t}" for t in _GLUE_TASKS),
        metrics={
            "glue/cola": ("mcc",),
            "glue/mrpc": ("f1", "accuracy"),
            "glue/stsb": ("pearson", "spearman"),
            "glue/qqp": ("f1", "accuracy"),
            **{f"glue/{t}": ("accuracy",) for t in ("sst2", "mnli", "qnli", "rte", "wnli")},
        },
        min_splits={"glue/mnli": 2},
    ),
)
SCORE_RULES.add(
    "glue_paper_average",
    ScoreRule(
        "glue_paper_average",
        "GLUE paper average (BERT-paper convention, NOT the leaderboard GLUE score: WNLI excluded, MNLI-m and "
        "MNLI-mm as separate entries, one metric per task: F1 for MRPC/QQP, Spearman for STS-B, MCC for CoLA)",
        tasks=tuple(f"glue/{t}" for t in _GLUE_TASKS if t != "wnli"),
        exclude=("glue/wnli",),
        metrics={
            "glue/cola": ("mcc",),
            "glue/mrpc": ("f1",),
            "glue/stsb": ("spearman",),
            "glue/qqp": ("f1",),
            **{f"glue/{t}": ("accuracy",) for t in ("sst2", "mnli", "qnli", "rte")},
        },
        split_entries=("glue/mnli",),
        min_splits={"glue/mnli": 2},
    ),
)
SCORE_RULES.add(
    "superglue",
    ScoreRule(
        "superglue",
        "SuperGLUE score (mean of 8 task scores; CB = mean(macro-F1, acc), MultiRC = mean(F1a, EM), "
        "ReCoRD = mean(F1, EM); AX-b and AX-g excluded)",
        tasks=tuple(f"superglue/{t}" for t in ("boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc")),
        metrics={
            "superglue/cb": ("f1_macro", "accuracy"),
            "superglue/multirc": ("multirc_f1a", "multirc_em"),
            "superglue/record": ("record_f1", "record_em"),
            **{f"superglue/{t}": ("accuracy",) for t in ("boolq", "copa", "rte", "wic", "wsc")},
        },
    ),
)
SCORE_RULES.add(
    "klej",
    ScoreRule(
        "klej",
        "KLEJ score (unweighted mean of the 9 task scores; AR = 1 - wMAE, CBD/DYK/PSC = F1 of class 1)",
        tasks=tuple(
            f"klej/{t}"
            for t in ("nkjp-ner", "cdsc-e", "cdsc-r", "cbd", "polemo2.0-in", "polemo2.0-out", "dyk", "psc", "ar")
        ),
        metrics={
            "klej/cdsc-r": ("spearman",),
            "klej/ar": ("klej_ar_score",),
            **{f"klej/{t}": ("f1",) for t in ("cbd", "dyk", "psc")},
            **{f"klej/{t}": ("accuracy",) for t in ("nkjp-ner", "cdsc-e", "polemo2.0-in", "polemo2.0-out")},
        },
    ),
)
SCORE_RULES.add(
    "lepiszcze",
    ScoreRule(
        "lepiszcze",
        "LEPISZCZE average (mean over DATASETS, not tasks, of f1_macro; seqeval conll-mode macro F1 for taggers)",
        default_metrics=("f1_macro|seqeval_f1_macro",),
    ),
)
SCORE_RULES.add(
    "mean",
    ScoreRule("mean", "mean of task scores (tasks and score metrics as the suite card defines them)"),
)
SCORE_RULES.add(
    "advglue",
    ScoreRule(
        "advglue",
        "AdvGLUE score (leaderboard rule: mean of 5 task scores; QQP = mean(accuracy, F1), MNLI = mean(matched, "
        "mismatched); reproduces the published scores, e.g. BERT 33.69, DeBERTa 60.86)",
        tasks=tuple(f"advglue/{t}" for t in ("sst2", "qqp", "mnli", "qnli", "rte")),
        metrics={
            "advglue/qqp": ("accuracy", "f1"),
            **{f"advglue/{t}": ("accuracy",) for t in ("sst2", "mnli", "qnli", "rte")},
        },
        min_splits={"advglue/mnli": 2},
    ),
)


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


# ---------------------------------------------------------------------------------------------------------------
# bootstrap: the one resampling engine lives in benchkit.bootstrap; its generic API is kept importable from here

from benchkit.bootstrap import (
    CI_METHODS,
    BootstrapCI,
    CIMethod,
    MetricFn,
    PairedBootstrap,
    bootstrap_ci,
    paired_bootstrap,
    unpaired_bootstrap,
)

__all__ = [
    "CI_METHODS", "SCORE_RULES", "BootstrapCI", "CIMethod", "MetricFn", "PairedBootstrap", "ScoreRule", "SeedStats",
    "SuiteScore", "SuiteScoreInput", "TaskResult", "TaskScoreInput", "aggregate_seeds", "bootstrap_ci",
    "paired_bootstrap", "result_score", "seed_stats", "suite_score", "task_score", "unpaired_bootstrap",
]
