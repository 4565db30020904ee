"""The drop of evaluation-only records (AdvGLUE) from their source runs' scores, per leaderboard entry.

Each such record (``RunRecord.drops``) holds, per evaluation split, the source run's metrics on its own split under
this task's card (e.g. glue/sst2 dev accuracy for advglue/sst2) and a file of that split's gold and predictions. Per
entry (model, method):

* the suite drop is the suite's score rule applied to the seed-mean source metrics minus the same rule applied to the
  seed-mean metrics of the records (so the drop is in the rule's units: AdvGLUE's QQP mean(accuracy, F1), MNLI
  mean(matched, mismatched)); per task column, the task's source score minus its score;
* the CI is a two-level percentile bootstrap like the suite score's: per resample and task, the seeds with
  replacement, then for each drawn run the evaluation examples AND the source split's examples, each set on its own
  (they are different examples), from an RNG of its own. Tasks of the entry without drops are left out of both sides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.errors import BenchkitError, Problem
from benchkit.release.collect import Run
from benchkit.scoring.scores import rule_score


@dataclass
class DropSummary:
    value: float  # source score under the suite rule - the entry's score, over the tasks with drops
    source_score: float
    score: float
    ci: tuple[float, float] | None
    tasks: dict[str, tuple[float, tuple[float, float] | None]] = field(default_factory=dict)  # column -> drop, CI
    sources: list[str] = field(default_factory=list)  # "<source task> <split>", e.g. "glue-mini/sst2 dev"


def _mean_metrics(values: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    splits: dict[str, dict[str, list[float]]] = {}
    for result in values:
        for split, metrics in result.items():
            for name, value in metrics.items():
                splits.setdefault(split, {}).setdefault(name, []).append(value)
    return {s: {m: sum(v) / len(v) for m, v in ms.items()} for s, ms in splits.items()}


def _source_examples(run: Run, split: str) -> tuple[list[Any], list[Any]]:
    """Gold and predictions of the source split compared with ``split`` (the record's copy)."""
    drop = run.record.drops[split]
    path = run.folder / drop.source_predictions
    if not path.is_file():
        raise BenchkitError(Problem(f"the record's source predictions for split '{split}' are missing", file=str(path),
                                    field=f"drops.{split}.source_predictions",
                                    hint="rerun the evaluation (benchkit run on the suite), or pass --resamples 0"))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["gold"] for row in rows], [row["prediction"] for row in rows]


def summarize_drops(suite: Suite, by_task: dict[str, list[Run]], gold: Any, settings: Any) -> DropSummary | None:
    """The entry's drop (None: no run of it has drops). ``gold`` is the release's ``scores.GoldData`` (None: no CI)."""
    tasks = {t: rs for t, rs in by_task.items() if rs and all(r.record.drops for r in rs)}
    if not tasks:
        return None
    source = {t: _mean_metrics([{s: d.source_metrics for s, d in r.record.drops.items()} for r in rs])
              for t, rs in tasks.items()}
    scored = {t: _mean_metrics([{s: dict(res.metrics) for s, res in r.record.results.items()} for r in rs])
              for t, rs in tasks.items()}
    before, after = rule_score(suite, source), rule_score(suite, scored)
    summary = DropSummary(before.value - after.value, before.value, after.value, None,
                          {c: (before.task_scores[c] - after.task_scores[c], None)
                           for c in after.task_scores if c in before.task_scores},
                          sorted({f"{r.record.source.task.id} {d.source_split}" for rs in tasks.values() for r in rs
                                  for d in r.record.drops.values() if r.record.source is not None}))
    if gold is not None and settings.resamples > 0:
        summary.ci, task_cis = _bootstrap(suite, tasks, gold, settings)
        summary.tasks = {c: (v, task_cis.get(c)) for c, (v, _) in summary.tasks.items()}
    return summary


def _bootstrap(suite: Suite, tasks: dict[str, list[Run]], gold: Any,
               settings: Any) -> tuple[tuple[float, float] | None, dict[str, tuple[float, float]]]:
    from benchkit.scoring.bootstrap import DropRun, two_level_drops

    runs = {t: [DropRun({s: (gold.gold[t][s], gold.predictions[r.rel][s]) for s in r.record.drops},
                        {s: _source_examples(r, s) for s in r.record.drops}) for r in rs] for t, rs in tasks.items()}
    return two_level_drops(suite, gold.cards, runs, settings.resamples, settings.level, settings.seed)


def manifest_entry(summary: DropSummary) -> dict[str, Any]:
    return {"value": summary.value, "source_score": summary.source_score, "score": summary.score,
            "ci": None if summary.ci is None else {"low": summary.ci[0], "high": summary.ci[1]},
            "sources": summary.sources,
            "tasks": {c: {"value": v, "ci": None if ci is None else {"low": ci[0], "high": ci[1]}}
                      for c, (v, ci) in summary.tasks.items()}}


def note(entries: list[Any]) -> str:
    """The leaderboard's sentence on the drop column ("" when no entry has one)."""
    sources = sorted({s for e in entries if getattr(e, "drop", None) for s in e.drop.sources})
    if not sources:
        return ""
    return ("Drop: the score of the same models on the dev split(s) their runs were evaluated on ("
            + ", ".join(sources) + "), under this suite's score rule and metrics, minus the score here; a positive "
            "drop is a loss. Below it, its CI: a two-level bootstrap resampling the seeds and, independently, both "
            "example sets. Per task, the task's drop is under its score.")
