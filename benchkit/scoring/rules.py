"""Suite score rules as data: which metrics of which tasks count, and how they average.

A suite card states its rule under ``score:`` (as lm-evaluation-harness states a group's aggregation in YAML)::

    score_rule: glue            # the rule's name: printed in manifests; other suite cards may name it
    score:
      label: GLUE score (...)   # printed next to the number: "GLUE average" means different things in papers
      tasks:                    # the published scored set, in order; absent: the tasks the suite marks scored
        glue/cola: [mcc]        # the metrics averaged into the task score; absent/null: the card's score_metrics
        glue/mrpc: [f1, accuracy]
        glue/mnli: {metrics: [accuracy], min_splits: 2}   # matched AND mismatched, averaged into one task score
      metrics: [f1_macro|seqeval_f1_macro]   # slots for tasks the rule does not pin ("a|b": the first one present)
      exclude: [glue/wnli]      # scored by the suite, left out by this rule

A task's score is the mean of its slots on each evaluation split, then the mean over its splits (``split_entries:
true`` counts each split as an entry of its own, as the BERT paper's GLUE average does with MNLI-m and MNLI-mm);
the suite score is the unweighted mean of the entries. Tasks marked ``scored: false`` in the suite (diagnostics)
never count. ``score_rule: NAME`` without ``score:`` names a rule of ``SCORE_RULES``: the rules the built-in suite
cards state (read from those cards on first use), plus the two no card states: ``mean`` (what ``score: {}`` says;
benchkit's single-task suites use it) and ``glue_paper_average`` (a published convention no suite scores by).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import yaml

from benchkit.files import builtin_root
from benchkit.registry import Registry

Loc = tuple[str | int, ...]
RULE_KEYS = ("label", "tasks", "metrics", "exclude")
TASK_KEYS = ("metrics", "min_splits", "split_entries")
MEAN_LABEL = "mean of task scores (tasks and score metrics as the suite card defines them)"


class RuleDataError(ValueError):
    """Rule data that does not parse: a message, a hint and where in the ``score:`` block."""

    def __init__(self, message: str, hint: str | None = None, loc: Loc = ()):
        super().__init__(message)
        self.hint, self.loc = hint, loc


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

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, Any]) -> ScoreRule:
        """The rule a ``score:`` block states (RuleDataError, with its place in the block, when it does not parse)."""
        _keys(data, RULE_KEYS, ())
        label = data.get("label", MEAN_LABEL if not data else name)
        if not isinstance(label, str) or not label:
            raise RuleDataError("label must be a non-empty text", "say which convention the number follows",
                                ("label",))
        tasks_data = data.get("tasks")
        pinned = [] if tasks_data is None else list(_tasks(tasks_data))
        return cls(
            name, label,
            tasks=None if tasks_data is None else tuple(task for task, _ in pinned),
            exclude=_ids(data.get("exclude", []), ("exclude",)),
            metrics={task: entry.metrics for task, entry in pinned if entry.metrics is not None},
            default_metrics=_slots(data["metrics"], ("metrics",)) if data.get("metrics") is not None else None,
            split_entries=tuple(task for task, entry in pinned if entry.split_entries),
            min_splits={task: entry.min_splits for task, entry in pinned if entry.min_splits is not None},
        )

    def counted(self, scored: Sequence[str]) -> list[str]:
        """The tasks this rule counts, of a suite whose scored tasks are ``scored``."""
        return list(self.tasks) if self.tasks is not None else [t for t in scored if t not in self.exclude]

    def flag_conflicts(self, scored: Mapping[str, bool]) -> tuple[list[str], list[str]]:
        """Where a rule with a fixed task set disagrees with a suite's ``scored`` flags (task -> flag): the tasks the
        suite scores that the rule neither counts nor excludes, and those it counts that the suite does not score."""
        if self.tasks is None:
            return [], []
        extra = [t for t, flag in scored.items() if flag and t not in self.tasks and t not in self.exclude]
        return extra, [t for t in self.tasks if t in scored and not scored[t]]

    def slots(self, task: str) -> tuple[str, ...] | None:
        """The metric slots of ``task`` (None: its card's score_metrics)."""
        return self.metrics.get(task, self.default_metrics)

    def task_ids(self) -> list[tuple[str, Loc]]:
        """Every task id the rule names, with where it names it."""
        return [*((t, ("tasks", t)) for t in self.tasks or ()),
                *((t, ("exclude", i)) for i, t in enumerate(self.exclude))]


@dataclass(frozen=True)
class _TaskEntry:
    metrics: tuple[str, ...] | None
    min_splits: int | None
    split_entries: bool


def _keys(data: Any, allowed: Sequence[str], loc: Loc) -> None:
    if not isinstance(data, Mapping):
        raise RuleDataError(f"expected a mapping, got {data!r}", f"fields: {', '.join(allowed)}", loc)
    for key in data:
        if key not in allowed:
            raise RuleDataError(f"unknown field '{key}'", f"fields here: {', '.join(allowed)}", (*loc, key))


def _slots(value: Any, loc: Loc) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise RuleDataError(f"expected a list of metric keys, got {value!r}", "e.g. [f1, accuracy]", loc)
    for i, slot in enumerate(value):
        if not isinstance(slot, str) or not all(slot.split("|")):
            raise RuleDataError(f"'{slot}' is not a metric key", "a key of the card's metrics, or 'a|b' for "
                                "the first of a and b the task has", (*loc, i))
    return tuple(value)


def _ids(value: Any, loc: Loc) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleDataError(f"expected a list of task ids, got {value!r}", "e.g. [glue/wnli]", loc)
    return tuple(value)


def _tasks(data: Any) -> Iterator[tuple[str, _TaskEntry]]:
    if not isinstance(data, Mapping) or not data:
        raise RuleDataError(f"expected task id -> metric keys, got {data!r}", "e.g. {glue/cola: [mcc]}", ("tasks",))
    for task, entry in data.items():
        loc: Loc = ("tasks", task)
        if entry is None or isinstance(entry, list):
            yield task, _TaskEntry(None if entry is None else _slots(entry, loc), None, False)
            continue
        _keys(entry, TASK_KEYS, loc)
        splits = entry.get("min_splits")
        if splits is not None and (not isinstance(splits, int) or isinstance(splits, bool) or splits < 1):
            raise RuleDataError(f"min_splits must be a whole number >= 1, got {splits!r}", None, (*loc, "min_splits"))
        separate = entry.get("split_entries", False)
        if not isinstance(separate, bool):
            raise RuleDataError(f"split_entries must be true or false, got {separate!r}", None,
                                (*loc, "split_entries"))
        metrics = entry.get("metrics")
        yield task, _TaskEntry(None if metrics is None else _slots(metrics, (*loc, "metrics")), splits, separate)


def unknown_slots(rule: ScoreRule, metric_keys: Mapping[str, Sequence[str]]) -> list[tuple[str, str, Loc]]:
    """(task, slot, where) for each slot of a task counted by the rule that names none of that task's metric keys
    (``metric_keys``: the suite's scored tasks -> their cards' metric keys)."""
    out: list[tuple[str, str, Loc]] = []
    for task in rule.counted(list(metric_keys)):
        slots = rule.slots(task)
        for i, slot in enumerate(slots or ()):
            if task in metric_keys and not any(name in metric_keys[task] for name in slot.split("|")):
                out.append((task, slot, ("tasks", task, i) if task in rule.metrics else ("metrics", i)))
    return out


# ---------------------------------------------------------------------------------------------------------------
# named rules


def _builtin_suite_cards() -> list[Path]:
    return sorted((builtin_root() / "benchmarks").glob("*.yaml"))


class NamedRules(Registry[ScoreRule]):
    """The named rules; on first use, the rules the built-in suite cards state as data are added under their
    ``score_rule`` names (a card's own check compares a card naming a registered rule with it)."""

    def __init__(self) -> None:
        super().__init__("score rule")
        self._read = False

    def _read_builtin(self) -> None:
        if self._read:
            return
        self._read = True
        for path in _builtin_suite_cards():
            card = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            name, data = card.get("score_rule"), card.get("score")
            if isinstance(name, str) and isinstance(data, Mapping) and name not in self._entries:
                try:
                    self.add(name, ScoreRule.from_data(name, data))
                except RuleDataError:
                    continue  # that card's own check reports it, with its file and line

    def canonical(self, name: str) -> str:
        self._read_builtin()
        return super().canonical(name)

    def __contains__(self, name: object) -> bool:
        self._read_builtin()
        return super().__contains__(name)

    def names(self) -> list[str]:
        self._read_builtin()
        return super().names()

    def items(self) -> Iterator[tuple[str, ScoreRule]]:
        self._read_builtin()
        return super().items()


SCORE_RULES = NamedRules()
SCORE_RULES.add("mean", ScoreRule.from_data("mean", {}))
SCORE_RULES.add("glue_paper_average", ScoreRule.from_data("glue_paper_average", {
    "label": "GLUE paper average (BERT-paper convention, NOT the leaderboard GLUE score: WNLI excluded, MNLI-m and "
             "MNLI-mm as separate entries, one metric per task: F1 for MRPC/QQP, Spearman for STS-B, MCC for CoLA)",
    "tasks": {"glue/cola": ["mcc"], "glue/sst2": ["accuracy"], "glue/mrpc": ["f1"], "glue/stsb": ["spearman"],
              "glue/qqp": ["f1"], "glue/mnli": {"metrics": ["accuracy"], "min_splits": 2, "split_entries": True},
              "glue/qnli": ["accuracy"], "glue/rte": ["accuracy"]},
    "exclude": ["glue/wnli"],
}))


def rule_of(name: str, data: Mapping[str, Any] | None) -> ScoreRule:
    """A suite card's rule: its ``score:`` data, else the registered rule ``name`` (BenchkitError if unknown)."""
    return SCORE_RULES.get(name) if data is None else ScoreRule.from_data(name, data)
