"""``benchkit show``: a task's card and, given data, its splits with row counts and label distribution.

``render_task`` prints what ``describe_task`` returns; it lives here because it reads exactly the keys built here (one
place to change the description's shape). Lengths in a model's tokens are added by the CLI (``train.lengths``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from benchkit.cards.paths import broken_link
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError
from benchkit.loading import locate, missing_problem
from benchkit.task_types import TASK_TYPES

if TYPE_CHECKING:
    import pandas as pd

# How the caller reads a task's splits, checked (``validation.frames.load_frames``: describe and validation are
# siblings, so the caller hands it over).
LoadFrames = Callable[[TaskCard, Path, list[str]], dict[str, "pd.DataFrame"]]


def _distribution(card: TaskCard, values: list[Any], frame: Any) -> dict[str, Any]:
    target = TASK_TYPES.get(card.type).target
    present = [v for v in values if isinstance(v, list) or (v is not None and v == v)]
    if target == "candidate":  # no label set: how many candidates a row offers, how many of them are gold
        sizes = [len(c) for c in frame["candidates"]]
        out = {"candidates_min": min(sizes), "candidates_mean": round(sum(sizes) / len(sizes), 2),
               "candidates_max": max(sizes)}
        if present:
            out["answers_mean"] = round(sum(len(v) for v in present) / len(present), 2)
        return out
    if not present:
        return {}
    if target == "number":
        import statistics

        return {"min": min(present), "mean": round(statistics.fmean(present), 4), "max": max(present)}
    counts = Counter(t for v in present for t in v) if target == "tags" else Counter(present)
    return {name: counts.get(name, 0) for name in card.labels.names}  # card order, zeros included


def describe_task(card: TaskCard, data_dir: Path | None, load_frames: LoadFrames) -> dict[str, Any]:
    """The card, and with data its splits: rows, label distribution, groups."""
    return describe_with_frames(card, data_dir, load_frames)[0]


def describe_with_frames(card: TaskCard, data_dir: Path | None,
                         load_frames: LoadFrames) -> tuple[dict[str, Any], dict[str, "pd.DataFrame"]]:
    """``describe_task``'s description, and the canonical frames of the splits present (for what a caller adds, such
    as ``show --model``'s lengths in a model's tokens)."""
    info: dict[str, Any] = {
        "id": card.id, "version": card.version, "name": card.name, "type": card.type, "language": card.language,
        "license": card.license, "labels": card.labels.names if card.labels else None,
        "metrics": [m.key for m in card.metrics], "primary_metric": card.primary_metric,
        "data_dir": str(data_dir) if data_dir else None, "splits": {},
    }
    available: list[str] = []
    for split, spec in card.splits.items():
        where = locate(card, split, data_dir) if data_dir else None
        if where is not None and not where.exists and broken_link(Path(where.location)) is not None:
            raise BenchkitError(missing_problem(card, where))  # a broken workspace, not data yet to download
        entry: dict[str, Any] = {"labels": spec.labels, "expected_rows": spec.rows,
                                 "file": where.location if where else spec.file or (
                                     f"hub:{card.source.repo}:{spec.hf_split}" if spec.hf_split else None)}
        if spec.derive:
            entry["derived_from"] = spec.derive.from_
        if data_dir is not None:
            origin = locate(card, spec.derive.from_, data_dir) if spec.derive else where
            entry["present"] = bool(origin and (origin.exists or spec.hf_split))
            if entry["present"]:
                available.append(split)
        info["splits"][split] = entry
    if not available:
        return info, {}
    frames = load_frames(card, data_dir, available)  # type: ignore[arg-type]
    target = TASK_TYPES.get(card.type).target_field
    for split, frame in frames.items():
        info["splits"][split]["rows"] = len(frame)
        info["splits"][split]["label_distribution"] = _distribution(card, list(frame[target]), frame)
        if "group" in frame:
            info["splits"][split]["groups"] = int(frame["group"].nunique())
    return info, frames


def render_task(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{info['id']}[/bold] {info['version']}  {info['name']}")
    console.print(f"type {info['type']}, language {info['language']}, metrics {', '.join(info['metrics'])} "
                  f"(primary {info['primary_metric']})")
    console.print(f"licence: {info['license']}")
    with_data = info["data_dir"] is not None  # without data, rows and label distribution would be empty columns
    table = Table("split", "labels", *(("rows",) if with_data else ()), "expected",
                  *(("label distribution",) if with_data else ()), "file")
    for split, entry in info["splits"].items():
        rows = entry.get("rows")
        if with_data and not entry.get("present"):
            rows_text = "missing"
        else:
            rows_text = "" if rows is None else str(rows)
        dist = entry.get("label_distribution") or {}
        if "candidates_min" in dist:  # candidate choice: candidates per row, gold answers per row
            dist_text = (f"{dist['candidates_min']}-{dist['candidates_max']} candidates (mean "
                         f"{dist['candidates_mean']})" + (f", {dist['answers_mean']} answers" if "answers_mean" in dist else ""))
        else:
            dist_text = ", ".join(f"{k} {v}" for k, v in dist.items())
        if entry.get("groups") is not None:
            rows_text += f" ({entry['groups']} groups)"
        expected = "" if entry["expected_rows"] is None else str(entry["expected_rows"])
        origin = entry.get("derived_from") and f"derived from {entry['derived_from']}" or str(entry["file"])
        cells = (split, entry["labels"], rows_text, expected, dist_text, origin) if with_data else (
            split, entry["labels"], expected, origin)
        table.add_row(*cells)
    console.print(table)
    if info.get("lengths"):
        lengths = Table("split", "tokens: min", "median", "p90", "max", "over the window", "windows",
                        title=f"lengths in {info['model']} tokens (window {info['window']})", title_justify="left")
        for split, r in info["lengths"].items():
            if r:
                lengths.add_row(split, str(r["min"]), str(r["median"]), str(r["p90"]), str(r["max"]),
                                str(r["over_window"]), str(r["windows"]))
        console.print(lengths)
