"""The results table: one row per run with every metric, score and cost -> results.parquet and results.jsonl.

Columns: identity (suite, task, model, method, seed, config hash), ``score`` (the record's task score) and
``rule_score`` (the task score under the suite's score rule), the splits they are measured on (``eval_splits``,
comma-separated) and how the checkpoint was chosen (``selection``: its label, e.g. "selected on dev";
``selection_rule`` best|last; ``selection_split`` train_holdout|dev|null), per evaluation split
``metrics.<split>.<metric>``,
``metrics.<split>.examples`` and the record's own CI of the split score (``ci_low``/``ci_high``), the same for the
diagnostics the run scored (``diagnostics.<task>:<split>.<metric>``, e.g. ``diagnostics.superglue/axb:test.mcc``
in the RTE runs' rows; never part of ``score``), the costs, and provenance (kit version, commit, creation time, the path of the release's copy of the record and its sha256).
Missing values are null.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchkit.contracts.run_records import Costs, SplitResult
from benchkit.release.collect import Run
from benchkit.release.scores import Entry, mode_of

ID_COLUMNS = ("suite", "suite_version", "task", "task_version", "model", "model_source", "model_revision",
              "model_sha256", "method", "method_options", "mode", "prompt", "prompt_sha256", "answer_fallback_share",
              "seed", "entry", "config_hash", "primary_metric", "score",
              "rule_score", "eval_splits", "selection", "selection_rule", "selection_split", "selected_epoch",
              "selected_on_dev", "recipe_search")
# Every cost a record carries, in its order (the latency sample's split, seed and precision included).
COST_COLUMNS = tuple(Costs.model_fields)
# Evaluation-only records (AdvGLUE): the run whose model predicted (present only in releases that have such records).
SOURCE_COLUMNS = ("source_task", "source_config_hash")
TAIL_COLUMNS = ("recipe", "benchkit_version", "git_commit", "created", "record", "record_sha256")


def _rule_score(entry: Entry, run: Run) -> float | None:
    """The run's task score under the suite rule: its seed's value in the entry's per-task summaries."""
    values = [s for c, s in entry.tasks.items() if s.task_id == run.record.task.id]
    if len(values) != 1 or run.record.seed not in values[0].seeds:
        return None
    summary = values[0]
    return summary.score.values[summary.seeds.index(run.record.seed)]


def _result_columns(prefix: str, result: SplitResult) -> dict[str, Any]:
    """One scored split's columns (an evaluation split's or a diagnostic's): its metrics, score, size and CI."""
    columns: dict[str, Any] = {f"{prefix}.{metric}": value for metric, value in result.metrics.items()}
    columns.update({f"{prefix}.score": result.score, f"{prefix}.examples": result.examples,
                    f"{prefix}.ci_low": result.ci.get("low") if result.ci else None,
                    f"{prefix}.ci_high": result.ci.get("high") if result.ci else None})
    return columns


def rows(entries: list[Entry]) -> list[dict[str, Any]]:
    from benchkit.release.manifest import run_paths

    placed = run_paths([run for entry in entries for run in entry.runs])  # the copies inside the release
    from benchkit.release.searches import run_searches

    out: list[dict[str, Any]] = []
    for entry in entries:
        searched = run_searches(entry)
        for run in entry.runs:
            r = run.record
            row: dict[str, Any] = {
                "suite": r.suite.id, "suite_version": r.suite.version, "task": r.task.id, "task_version": r.task.version,
                "model": r.model.name, "model_source": r.model.source, "model_revision": r.model.revision,
                "model_sha256": r.model.sha256, "method": r.method.name,
                "method_options": json.dumps(r.method.options, sort_keys=True), "seed": r.seed, "entry": entry.slug,
                "mode": mode_of(r.prompting), "prompt": r.prompting.prompt if r.prompting else None,
                "prompt_sha256": r.prompting.prompt_sha256 if r.prompting else None,
                "answer_fallback_share": max((s.fallback_share for s in r.prompting.parse.values()), default=None)
                if r.prompting else None,
                "config_hash": r.config_hash, "primary_metric": r.primary_metric, "score": r.score,
                "rule_score": _rule_score(entry, run), "eval_splits": ",".join(sorted(r.results)),
                "selection": r.selection_used.label, "selection_rule": r.selection_used.rule,
                "selection_split": r.selection_used.split, "selected_epoch": r.selected_epoch,
                # the search whose chosen recipe this run reruns (its report: searches/<id>/ in the release)
                "recipe_search": searched.get(r.config_hash),
                "selected_on_dev": r.selection_used.on_dev or any(
                    s["selection"]["on_dev"] for s in entry.searches if s["id"] == searched.get(r.config_hash)),
            }
            for split, result in r.results.items():
                row.update(_result_columns(f"metrics.{split}", result))
                drop = r.drops.get(split)  # evaluation-only records (AdvGLUE): the drop from the source run's split
                if drop is not None:
                    row[f"metrics.{split}.source_score"] = drop.source_score
                    row[f"metrics.{split}.drop"] = drop.value
                    row[f"metrics.{split}.drop_ci_low"] = drop.ci.get("low") if drop.ci else None
                    row[f"metrics.{split}.drop_ci_high"] = drop.ci.get("high") if drop.ci else None
            if r.source is not None:
                row.update({"source_task": r.source.task.id, "source_config_hash": r.source.config_hash})
            for key, result in r.diagnostics.items():
                row.update(_result_columns(f"diagnostics.{key}", result))
            row.update({name: getattr(r.costs, name) for name in COST_COLUMNS})
            row.update({"recipe": json.dumps(r.recipe, sort_keys=True), "benchkit_version": r.provenance.benchkit_version,
                        "git_commit": r.provenance.git_commit, "created": r.provenance.created,
                        "record": placed[run.rel], "record_sha256": run.sha256})
            out.append(row)
    return out


def columns(table: list[dict[str, Any]]) -> list[str]:
    metric_columns = sorted({k for row in table for k in row if k.startswith("metrics.")})
    diagnostic_columns = sorted({k for row in table for k in row if k.startswith("diagnostics.")})
    sources = [c for c in SOURCE_COLUMNS if any(c in row for row in table)]
    return [*ID_COLUMNS, *sources, *metric_columns, *diagnostic_columns, *COST_COLUMNS, *TAIL_COLUMNS]


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write(table: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Write results.parquet and results.jsonl (same rows, same columns, nulls where a run lacks a metric)."""
    import pandas as pd

    names = columns(table)
    frame = pd.DataFrame([{name: row.get(name) for name in names} for row in table], columns=names)
    for name in names:
        if name.startswith(("metrics.", "diagnostics.")) or name in ("score", "rule_score", "selected_epoch"):
            frame[name] = frame[name].astype("float64")
    parquet = folder / "results.parquet"
    frame.to_parquet(parquet, index=False)
    jsonl = folder / "results.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for row in table:
            handle.write(json.dumps({name: _json_value(row.get(name)) for name in names}, ensure_ascii=False) + "\n")
    return [parquet, jsonl]
