"""Leaderboard numbers: one entry per (model, method), seeds aggregated, suite score with a bootstrap CI.

* Per task and seed, the task score is the suite's score rule applied to that run's metrics (so the per-task
  columns are the numbers the rule averages). Columns show mean +- sample sd over seeds.
* The entry's suite score applies the rule to the seed-mean metrics (= the mean of the per-seed suite scores when
  every seed ran every task). A suite score over fewer tasks than the rule needs is labelled PARTIAL.
* The CI is a two-level percentile bootstrap: each resample draws, per task independently, the seeds with
  replacement and the evaluation examples with replacement, recomputes every drawn run's metrics on the drawn
  examples from its predictions, averages them over the drawn seeds and applies the score rule. It so covers both
  seed variance and the finite evaluation set. The same resamples give per-task CIs.
* Diagnostics (AX-b, AX-g: labelled splits of tasks evaluated with another task's model, scored in the records of
  that task's runs) are shown per entry, every metric as mean +- sd over seeds with a CI from the same two-level
  bootstrap (pairs of AX-g resampled whole), drawn from an RNG of their own. They never enter the suite score.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.cards.schema import TaskCard
from benchkit.contracts.run_records import MethodRef, ModelRef
from benchkit.release.collect import Run, entry_key
from benchkit.release.drops import summarize_drops
from benchkit.scoring.scores import SeedStats, SuiteScore, rule_score, seed_stats

CI_METHOD = "percentile"
CI_UNIT = "two-level: seeds with replacement, then evaluation examples with replacement, per task"


@dataclass(frozen=True)
class CISettings:
    resamples: int = 1000
    level: float = 0.95
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        return {"method": CI_METHOD, "level": self.level, "resamples": self.resamples, "seed": self.seed,
                "unit": CI_UNIT}


@dataclass
class TaskSummary:
    task_id: str
    column: str  # the score rule's entry name: the task id, or "task[split]" for rules that split a task
    seeds: tuple[int, ...]
    score: SeedStats
    ci: tuple[float, float] | None = None


@dataclass
class DiagnosticSummary:
    """A companion task's labelled split, scored from the predictions of the entry's runs of its evaluator task."""

    key: str  # "<task id>:<split>", as in RunRecord.diagnostics
    task_id: str
    split: str
    evaluated_with: str  # the task whose runs predicted it (e.g. superglue/rte)
    examples: int
    seeds: tuple[int, ...]
    metrics: dict[str, SeedStats]  # in the card's metric order (AX-g: gender_parity, accuracy)
    primary: str  # the card's primary metric (AX-g: accuracy; gender parity alone is meaningless)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)  # metric -> CI


@dataclass
class Entry:
    slug: str
    model: ModelRef
    method: MethodRef
    runs: list[Run]
    metrics: dict[str, dict[str, dict[str, SeedStats]]]  # task -> split -> metric -> stats over seeds
    tasks: dict[str, TaskSummary]  # column -> summary
    suite: SuiteScore
    seed_scores: SeedStats | None  # per-seed suite scores, over the seeds that ran every evaluated task
    ci: tuple[float, float] | None
    costs: dict[str, Any]
    recipes: list[dict[str, Any]] = field(default_factory=list)
    selection: list[dict[str, Any]] = field(default_factory=list)  # selection_summary(runs)
    eval_splits: list[str] = field(default_factory=list)  # the splits every score of the entry is measured on
    diagnostics: dict[str, DiagnosticSummary] = field(default_factory=dict)  # key -> summary, in suite task order
    drop: Any = None  # release.drops.DropSummary: evaluation-only records' drop from their source runs (AdvGLUE)
    searches: list[dict[str, Any]] = field(default_factory=list)  # release.searches.link: the searches behind it

    @property
    def label(self) -> str:
        return f"{display_model(self.model.name)} / {self.method.name}"

    @property
    def mode(self) -> str:
        """fine-tuned, zero-shot or k-shot (a row's runs share their method, so their mode)."""
        return mode_of(self.runs[0].record.prompting) if self.runs else "fine-tuned"

    @property
    def prompts(self) -> list[str]:
        """The prompts a prompted entry's runs asked with (name and short hash), in task order."""
        return list(dict.fromkeys(f"{r.record.prompting.prompt} ({r.record.prompting.prompt_sha256[:8]})"
                                  for r in self.runs if r.record.prompting is not None))

    @property
    def parse_flags(self) -> list[str]:
        """Tasks and splits where 10% or more of the generated answers needed the fallback or were unparsed."""
        return [f"{r.record.task.id}/{split}: {stats.fallback_share:.0%}" for r in self.runs
                if r.record.prompting is not None for split, stats in r.record.prompting.parse.items() if stats.flagged]


    @property
    def selection_text(self) -> str:
        from benchkit.release.searches import search_text

        return "; ".join([selection_text(self.selection), *(search_text(s) for s in self.searches)])

    @property
    def on_dev_text(self) -> str:
        """"selected on dev", with the share of runs when not all were; "" when none was (a recipe searched on dev
        counts as selected on dev)."""
        text = on_dev_text(self.selection)
        return text or ("selected on dev" if any(s["selection"]["on_dev"] for s in self.searches) else "")


def selection_summary(runs: list[Run]) -> list[dict[str, Any]]:
    """How the runs' checkpoints were chosen, one item per protocol (most runs first): label, rule, split, on_dev
    and the number of runs. Old records without the field are read as their recipe's ``select`` implied."""
    items: dict[str, dict[str, Any]] = {}
    for run in runs:
        chosen = run.record.selection_used
        item = items.setdefault(chosen.label, {"label": chosen.label, "rule": chosen.rule, "split": chosen.split,
                                               "on_dev": chosen.on_dev, "runs": 0})
        item["runs"] += 1
    return sorted(items.values(), key=lambda i: (-i["runs"], i["label"]))


def selection_text(summary: list[dict[str, Any]]) -> str:
    """One protocol: its label; several: each with its share, e.g. "selected on dev (2 of 4 runs); ..."."""
    total = sum(i["runs"] for i in summary)
    if len(summary) == 1:
        return summary[0]["label"]
    return "; ".join(f"{i['label']} ({i['runs']} of {total} runs)" for i in summary)


def on_dev_text(summary: list[dict[str, Any]]) -> str:
    total = sum(i["runs"] for i in summary)
    on_dev = sum(i["runs"] for i in summary if i["on_dev"])
    if not on_dev:
        return ""
    return "selected on dev" + ("" if on_dev == total else f" ({on_dev} of {total} runs)")


def eval_splits(runs: list[Run]) -> list[str]:
    return sorted({split for run in runs for split in run.record.results})


def display_model(name: str) -> str:
    """Local folders are shown by their last part (the full path is in the manifest and results)."""
    return Path(name).name if ("/" in name and Path(name).is_absolute()) or name.startswith(".") else name


def slug_for(model: str, method: str, options: dict[str, Any]) -> str:
    base = model.replace("\\", "/").replace("/", "--").replace("@", "-at-").replace(" ", "_").strip(".-") or "model"
    slug = f"{base}__{method}"
    if options:
        import hashlib

        slug += "-" + hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:8]
    return slug


def _metric_means(runs: list[Run]) -> dict[str, dict[str, float]]:
    splits: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for split, result in run.record.results.items():
            for metric, value in result.metrics.items():
                splits.setdefault(split, {}).setdefault(metric, []).append(value)
    return {s: {m: sum(v) / len(v) for m, v in ms.items()} for s, ms in splits.items()}


def _column_task(column: str) -> str:
    return column.split("[", 1)[0]


def summarize(suite: Suite, runs: list[Run], gold: GoldData | None, ci: CISettings) -> list[Entry]:
    """Entries sorted complete-first, then by suite score (best first)."""
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault(entry_key(run.record), []).append(run)
    entries: list[Entry] = []
    for (model_name, method_name, options), group in groups.items():
        by_task: dict[str, list[Run]] = {}
        for run in group:
            by_task.setdefault(run.record.task.id, []).append(run)
        by_task = {card.id: by_task[card.id] for card in suite.tasks if card.id in by_task}
        by_task = {t: rs for t, rs in by_task.items() if any(r.record.results for r in rs)}
        mean_results = {t: _metric_means(rs) for t, rs in by_task.items()}
        point = rule_score(suite, mean_results)

        # per seed: task scores (under the rule) and, where a seed ran every evaluated task, the suite score
        seeds = sorted({r.record.seed for r in group})
        per_seed_tasks: dict[str, dict[int, float]] = {}
        complete_seed_scores: list[float] = []
        for seed in seeds:
            results = {t: {s: dict(v.metrics) for s, v in next(r for r in rs if r.record.seed == seed).record.results.items()}
                       for t, rs in by_task.items() if any(r.record.seed == seed for r in rs)}
            scored = rule_score(suite, results)
            for column, value in scored.task_scores.items():
                per_seed_tasks.setdefault(column, {})[seed] = value
            if set(results) == set(by_task):
                complete_seed_scores.append(scored.value)
        tasks = {column: TaskSummary(_column_task(column), column, tuple(sorted(values)),
                                     seed_stats([values[s] for s in sorted(values)]))
                 for column, values in per_seed_tasks.items() if column in point.task_scores}

        metrics = {t: {split: {m: seed_stats([r.record.results[split].metrics[m] for r in rs
                                              if split in r.record.results and m in r.record.results[split].metrics])
                               for m in values} for split, values in mean_results[t].items()}
                   for t, rs in by_task.items()}
        first = group[0].record
        entry = Entry(
            slug=slug_for(model_name, method_name, first.method.options), model=first.model, method=first.method,
            runs=sorted(group, key=lambda r: (r.record.task.id, r.record.seed)), metrics=metrics, tasks=tasks,
            suite=point, seed_scores=seed_stats(complete_seed_scores) if complete_seed_scores else None, ci=None,
            costs=_costs(group, by_task), recipes=_distinct([r.record.recipe for r in group]),
            selection=selection_summary(group), eval_splits=eval_splits(group))
        if gold is not None and ci.resamples > 0:
            entry.ci, task_cis = _bootstrap(suite, by_task, gold, ci)
            for column, interval in task_cis.items():
                if column in entry.tasks:
                    entry.tasks[column].ci = interval
        entry.diagnostics = summarize_diagnostics(suite, group, gold, ci)
        entry.drop = summarize_drops(suite, by_task, gold, ci)
        entries.append(entry)
    entries.sort(key=lambda e: (e.suite.partial, -_finite(e.suite.value), e.model.name, e.method.name))
    return entries


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _distinct(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _costs(group: list[Run], by_task: dict[str, list[Run]]) -> dict[str, Any]:
    costs = [r.record.costs for r in group]
    kinds = sorted({c.peak_memory_kind for c in costs})
    train_time = sum(sum(r.record.costs.train_seconds for r in rs) / len(rs) for rs in by_task.values())
    return {
        "trainable_parameters": max(c.trainable_parameters for c in costs),
        "total_parameters": max(c.total_parameters for c in costs),
        "peak_memory_bytes": max(c.peak_memory_bytes for c in costs),
        "peak_memory_kind": "/".join(kinds),
        "train_seconds": round(train_time, 3),
        "train_samples_per_second": round(sum(c.train_samples_per_second for c in costs) / len(costs), 3),
        # None when a record predates the measurement (then the leaderboard shows "–")
        "optimizer_state_bytes": (max(c.optimizer_state_bytes for c in costs)
                                  if all(c.optimizer_state_bytes is not None for c in costs) else None),
        "inference_ms_per_example": (round(sum(c.inference_ms_per_example for c in costs) / len(costs), 4)
                                     if all(c.inference_ms_per_example is not None for c in costs) else None),
    }


def diagnostic_cards(suite: Suite) -> list[TaskCard]:
    """The suite's tasks evaluated with another task's model (GLUE AX, AX-b, AX-g), in suite order."""
    return [card for card in suite.tasks if card.evaluators]


def diagnostic_runs(card: TaskCard, key: str, runs: list[Run]) -> tuple[str, list[Run]] | None:
    """The evaluator task and its runs that scored this diagnostic (the first evaluator, in the card's order, with
    such runs), one per seed."""
    for evaluator in card.evaluators:
        found = sorted((r for r in runs if r.record.task.id == evaluator and key in r.record.diagnostics),
                       key=lambda r: r.record.seed)
        if found:
            return evaluator, found
    return None


def summarize_diagnostics(suite: Suite, runs: list[Run], gold: GoldData | None,
                          settings: CISettings) -> dict[str, DiagnosticSummary]:
    """Per diagnostic split scored by these runs: each metric's mean +- sd over seeds, and (with gold and
    resamples) its two-level bootstrap CI."""
    out: dict[str, DiagnosticSummary] = {}
    for card in diagnostic_cards(suite):
        for split in card.splits:
            key = f"{card.id}:{split}"
            found = diagnostic_runs(card, key, runs)
            if found is None:
                continue
            evaluator, chosen = found
            results = [r.record.diagnostics[key] for r in chosen]
            metrics = {m.key: seed_stats([res.metrics[m.key] for res in results]) for m in card.metrics
                       if all(m.key in res.metrics for res in results)}
            summary = DiagnosticSummary(key, card.id, split, evaluator, results[0].examples,
                                        tuple(r.record.seed for r in chosen), metrics, card.primary_metric)
            if gold is not None and settings.resamples > 0 and key in gold.diagnostic_gold:
                summary.ci = _bootstrap_diagnostic(card, gold.diagnostic_gold[key],
                                                   [gold.diagnostic_predictions[r.rel][key] for r in chosen],
                                                   list(metrics), settings)
            out[key] = summary
    return out


# ---------------------------------------------------------------------------------------------------------------
# bootstrap


@dataclass
class GoldData:
    """Gold targets of each task's evaluation splits, and each run's predictions aligned with them."""

    cards: dict[str, TaskCard]
    gold: dict[str, dict[str, list[Any]]]  # task -> split -> gold targets
    predictions: dict[str, dict[str, list[Any]]]  # record rel path -> split -> predictions aligned with gold
    # diagnostics: "<task>:<split>" -> gold targets; record rel path -> "<task>:<split>" -> aligned predictions
    diagnostic_gold: dict[str, list[Any]] = field(default_factory=dict)
    diagnostic_predictions: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    # task -> split -> the group key of each example (the card's group field, MultiRC questions), where it has one
    groups: dict[str, dict[str, list[Any]]] = field(default_factory=dict)


def load_gold(suite: Suite, runs: list[Run], data_dir: Path) -> GoldData:
    """Read gold dev targets and every run's dev predictions (validated: ids must match the gold split), and the
    same for the diagnostics the runs scored (companion tasks of the suite)."""
    from benchkit.errors import BenchkitError, Problem
    from benchkit.predictions import read_predictions
    from benchkit.scoring.task import gold_groups, gold_targets
    from benchkit.validation.frames import load_frames

    cards = {card.id: card for card in suite.tasks}
    wanted: dict[str, set[str]] = {}
    for run in runs:
        wanted.setdefault(run.record.task.id, set()).update(run.record.results)
    frames = {task: load_frames(cards[task], data_dir, sorted(splits)) for task, splits in wanted.items() if splits}
    gold = {task: {split: gold_targets(cards[task], frame) for split, frame in fs.items()} for task, fs in frames.items()}
    groups = {task: {split: found for split, frame in fs.items() if (found := gold_groups(cards[task], frame)) is not None}
              for task, fs in frames.items()}
    predictions: dict[str, dict[str, list[Any]]] = {}
    problems: list[Problem] = []
    for run in runs:
        task = run.record.task.id
        predictions[run.rel] = {}
        for split in run.record.results:
            path = run.predictions(split)
            if path is None or not path.is_file():
                problems.append(Problem(f"the record has no predictions file for split '{split}'", file=str(run.path),
                                        field=f"predictions.{split}",
                                        hint="the bootstrap CI needs them: rerun the run, or pass --resamples 0"))
                continue
            try:
                predictions[run.rel][split] = read_predictions(path, cards[task], frames[task][split])
            except BenchkitError as err:
                problems.extend(err.problems)
    diagnostic_gold: dict[str, list[Any]] = {}
    diagnostic_frames: dict[str, Any] = {}
    diagnostic_predictions: dict[str, dict[str, list[Any]]] = {}
    for card in diagnostic_cards(suite):
        for split in card.splits:
            key = f"{card.id}:{split}"
            found = diagnostic_runs(card, key, runs)
            for run in found[1] if found else []:
                path = run.predictions(key)
                if path is None or not path.is_file():
                    problems.append(Problem(f"the record has no predictions file for the diagnostic '{key}'",
                                            file=str(run.path), field=f"predictions.{key}",
                                            hint="the bootstrap CI needs them: rerun the run, or pass --resamples 0"))
                    continue
                try:
                    if key not in diagnostic_frames:
                        diagnostic_frames[key] = load_frames(card, data_dir, [split])[split]
                        diagnostic_gold[key] = gold_targets(card, diagnostic_frames[key])
                    diagnostic_predictions.setdefault(run.rel, {})[key] = read_predictions(
                        path, card, diagnostic_frames[key])
                except BenchkitError as err:
                    problems.extend(err.problems)
    if problems:
        raise BenchkitError(*problems)
    return GoldData(cards, gold, predictions, diagnostic_gold, diagnostic_predictions, groups)


def _bootstrap_diagnostic(card: TaskCard, gold: list[Any], runs: list[list[Any]], metrics: list[str],
                          settings: CISettings) -> dict[str, tuple[float, float]]:
    """Per metric, the two-level percentile bootstrap CI: seeds with replacement, then examples with replacement
    (whole consecutive pairs for a card with a pair metric, such as AX-g's gender parity), the metrics of each drawn
    run averaged over the drawn seeds (``bootstrap.two_level_metrics``)."""
    from benchkit.scoring.bootstrap import two_level_metrics

    return two_level_metrics(card, gold, runs, metrics, settings.resamples, settings.level, settings.seed)


def _bootstrap(suite: Suite, by_task: dict[str, list[Run]], gold: GoldData,
               settings: CISettings) -> tuple[tuple[float, float] | None, dict[str, tuple[float, float]]]:
    runs = {task: [gold.predictions[r.rel] for r in rs] for task, rs in by_task.items()}
    return bootstrap_suite(suite, gold.cards, gold.gold, runs, gold.groups, settings)


def bootstrap_suite(suite: Suite, cards: dict[str, TaskCard], gold: dict[str, dict[str, list[Any]]],
                    runs: dict[str, list[dict[str, list[Any]]]], groups: dict[str, dict[str, list[Any]]],
                    settings: CISettings) -> tuple[tuple[float, float] | None, dict[str, tuple[float, float]]]:
    """The suite score's and each rule column's percentile CI: per resample and task, the runs (seeds) drawn with
    replacement, then each split's examples (or whole units, ``bootstrap.Units``); each drawn run's metrics on the
    drawn examples averaged over the drawn runs; the score rule applied. ``runs``: task -> one {split: predictions
    aligned with ``gold[task][split]``} per run (a scored submission is a single run). ``bootstrap.two_level_suite``
    computes every resample's metrics at once from their additive statistics."""
    from benchkit.scoring.bootstrap import two_level_suite

    return two_level_suite(suite, cards, gold, runs, groups, settings.resamples, settings.level, settings.seed)


def shot_cuts(entry: Entry) -> list[str]:
    """Tasks where prompts lost shots to fit the model's window: task, prompts cut, the fewest shots kept."""
    return [f"{r.record.task.id}: {sum(r.record.prompting.truncated.values())} prompts with fewer shots (fewest "
            f"{r.record.prompting.fewest_shots})" for r in entry.runs
            if r.record.prompting is not None and r.record.prompting.truncated]


def mode_of(prompting: Any) -> str:
    """A record's mode as leaderboards show it: fine-tuned, zero-shot or k-shot."""
    if prompting is None:
        return "fine-tuned"
    return "zero-shot" if prompting.shots == 0 else f"{prompting.shots}-shot"
