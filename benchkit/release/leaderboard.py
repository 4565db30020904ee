"""leaderboard.html (one self-contained page) and leaderboard.md, from templates/leaderboard.{html,md}.j2.

The page holds a sortable table (click a header; ``?sort=<column>&dir=asc|desc`` sorts on load through the same
click handler), the suite score with its CI, per-task scores, efficiency columns (trainable parameters, peak
memory, training time) and a PNG plot of score against trainable parameters and against training time, inlined as
base64. No external resources. The caption names the split(s) the scores are measured on and the checkpoint
selection; each entry states its selection, and entries with runs selected on dev carry a "selected on dev" badge
next to the score (their scores are optimistic). Diagnostics (AX-b, AX-g) get columns of their own after the task
columns, labelled as diagnostics, every metric in the card's order as the benchmark's leaderboard shows them
(AX-g "GP/Acc"); the caption says they are not part of the suite score.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.release.scores import (
    CISettings,
    DiagnosticSummary,
    Entry,
    display_model,
    on_dev_text,
    selection_summary,
    selection_text,
    shot_cuts,
)
from benchkit.scoring.scores import SeedStats


def pct(value: float | None, digits: int = 2) -> str:
    """A score as the leaderboards show it: a percentage with two decimals; a dash for none or NaN."""
    return "–" if value is None or not math.isfinite(value) else f"{value * 100:.{digits}f}"


def _stats_text(stats: SeedStats | None) -> str:
    if stats is None:
        return "–"
    return pct(stats.mean) + (f" ± {pct(stats.std)}" if stats.n > 1 and math.isfinite(stats.std) else "")


def _ci_text(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{pct(ci[0])}, {pct(ci[1])}]"


def human_count(n: int) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return str(n)


def human_bytes(n: int) -> str:
    for size, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= size:
            return f"{n / size:.1f} {suffix}"
    return f"{n} B"


def human_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"


def _value(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else repr(float(x))


# How the benchmarks' leaderboards abbreviate metrics in column headers (SuperGLUE: AX-b "MCC", AX-g "GP/Acc").
METRIC_ABBREVIATIONS = {"mcc": "MCC", "gender_parity": "GP", "accuracy": "Acc", "f1": "F1", "f1_macro": "F1",
                        "pearson": "Pearson", "spearman": "Spearman"}


def metric_abbreviation(name: str) -> str:
    return METRIC_ABBREVIATIONS.get(name, name)


def diagnostic_columns(suite: Suite, entries: list[Entry]) -> list[str]:
    """The diagnostics any entry has, in suite task order ("<task>:<split>")."""
    order = {card.id: i for i, card in enumerate(suite.tasks)}
    seen = {key: d for e in entries for key, d in e.diagnostics.items()}
    return sorted(seen, key=lambda k: (order.get(seen[k].task_id, len(order)), k))


def _diagnostic_label(suite: Suite, entries: list[Entry], key: str) -> tuple[str, str]:
    """Header ("axb MCC (diagnostic)") and its tooltip."""
    summary = next(e.diagnostics[key] for e in entries if key in e.diagnostics)
    card = next((c for c in suite.tasks if c.id == summary.task_id), None)
    names = [m.key for m in card.metrics] if card else list(summary.metrics)
    split = "" if summary.split == "test" else f" [{summary.split}]"
    label = f"{_task_label(summary.task_id)}{split} {'/'.join(metric_abbreviation(m) for m in names)} (diagnostic)"
    title = (f"diagnostic: {summary.task_id} on the {summary.split} split ({summary.examples} examples), predicted by "
             f"the {summary.evaluated_with} runs; {'/'.join(names)}; not part of the suite score")
    return label, title


def _diagnostic_cell(summary: DiagnosticSummary | None) -> dict[str, str]:
    if summary is None or not summary.metrics:
        return {"text": "–", "value": "", "title": "not run", "ci": ""}
    stats = list(summary.metrics.values())
    text = "/".join(pct(s.mean) for s in stats)
    if all(s.n > 1 and math.isfinite(s.std) for s in stats):
        text += " ± " + "/".join(pct(s.std) for s in stats)
    ci = "/".join(_ci_text(summary.ci.get(m)) or "–" for m in summary.metrics) if summary.ci else ""
    primary = summary.metrics.get(summary.primary, stats[0])  # AX-g sorts by accuracy, its primary metric
    return {"text": text, "value": _value(primary.mean), "ci": ci,
            "title": f"{summary.key}: {'/'.join(summary.metrics)}, {len(summary.seeds)} seed(s) "
                     f"of {summary.evaluated_with} {ci}".strip()}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str  # "number" or "text": how the page sorts it
    title: str = ""


def task_columns(suite: Suite, entries: list[Entry]) -> list[str]:
    order = {card.id: i for i, card in enumerate(suite.tasks)}
    seen = {column: summary.task_id for e in entries for column, summary in e.tasks.items()}
    return sorted(seen, key=lambda c: (order.get(seen[c], len(order)), c))


def _task_splits(entries: list[Entry], column: str) -> list[str]:
    if "[" in column:  # a rule's column for one split of a task: "task[split]"
        return [column.split("[", 1)[1].rstrip("]")]
    return sorted({s for e in entries for r in e.runs if r.record.task.id == column for s in r.record.results})


def _task_label(column: str) -> str:
    return column.split("/", 1)[1] if "/" in column else column


def table(suite: Suite, entries: list[Entry]) -> tuple[list[Column], list[dict[str, Any]]]:
    """Columns and rows (each cell: text, sort value, tooltip) shared by the HTML and Markdown templates."""
    tasks = task_columns(suite, entries)
    diagnostics = diagnostic_columns(suite, entries)
    on = splits_text(sorted({s for e in entries for s in e.eval_splits}))
    columns = [Column("rank", "#", "number", "rank by suite score (complete entries first)"),
               Column("model", "model", "text"), Column("method", "method", "text"),
               Column("score", "suite score", "number", f"on {on}; mean ± sd over seeds; CI below"),
               *[Column(f"task:{c}", _task_label(c), "number", f"{c} on {splits_text(_task_splits(entries, c))}")
                 for c in tasks],
               *[Column(f"diag:{k}", label, "number", title)
                 for k in diagnostics for label, title in [_diagnostic_label(suite, entries, k)]],
               Column("trainable", "trainable params", "number", "largest over the entry's runs"),
               Column("memory", "peak memory", "number", "largest over the entry's runs"),
               Column("time", "training time", "number", "sum over tasks of the mean over seeds"),
               Column("optimizer", "optimizer state", "number", "largest over the entry's runs: bytes the optimizer "
                                                               "keeps (AdamW: two fp32 moments per trained weight)"),
               Column("latency", "latency / example", "number", "mean over the entry's runs: one forward pass over "
                                                               "a batch of 32, per example"),
               Column("seeds", "seeds", "number")]
    if any(e.mode != "fine-tuned" for e in entries):  # language models asked with prompts rank beside fine-tuned ones
        columns.insert(3, Column("mode", "mode", "text", "fine-tuned, or a language model asked zero- or k-shot with "
                                                         "the task's prompt (named in the tooltip)"))
    drops = any(e.drop for e in entries)  # evaluation-only suites (AdvGLUE): the drop from the source runs' scores
    if drops:
        columns.insert(next(i for i, c in enumerate(columns) if c.key == "score") + 1, Column("drop", "drop", "number", "the source runs' score on their own dev split(s) minus the "
                                                           "suite score (same rule); CI below"))
    rows = []
    for rank, entry in enumerate(entries, start=1):
        seeds = sorted({r.record.seed for r in entry.runs})
        cells: dict[str, dict[str, str]] = {
            "rank": {"text": str(rank), "value": str(rank), "title": ""},
            "model": {"text": display_model(entry.model.name), "value": display_model(entry.model.name).lower(),
                      "title": f"{entry.model.name} (sha256 {entry.model.sha256[:12]})"},
            "method": {"text": entry.method.name, "value": entry.method.name, "title": ""},
            "mode": {"text": entry.mode + (" ⚑" if entry.parse_flags else ""), "value": entry.mode,
                     "title": "; ".join([*(["prompts: " + ", ".join(entry.prompts)] if entry.prompts else []),
                                         *(["answers needing the fallback or unparsed: " + ", ".join(entry.parse_flags)]
                                           if entry.parse_flags else []),
                                         *(["shots dropped to fit the window: " + ", ".join(shot_cuts(entry))]
                                           if shot_cuts(entry) else [])])},
            "score": {"text": pct(entry.suite.value)
                      + (f" ± {pct(entry.seed_scores.std)}" if entry.seed_scores and entry.seed_scores.n > 1 else ""),
                      "value": _value(entry.suite.value), "title": entry.suite.label, "ci": _ci_text(entry.ci)},
        }
        for column in tasks:
            summary = entry.tasks.get(column)
            cells[f"task:{column}"] = {
                "text": _stats_text(summary.score) if summary else "–",
                "value": _value(summary.score.mean) if summary else "",
                "title": (f"{column}: {summary.score.n} seed(s) {_ci_text(summary.ci)}".strip() if summary
                          else f"{column}: not run"),
                "ci": _ci_text(summary.ci) if summary else ""}
        for key in diagnostics:
            cells[f"diag:{key}"] = _diagnostic_cell(entry.diagnostics.get(key))
        if drops:
            drop = entry.drop
            cells["drop"] = ({"text": pct(drop.value), "value": _value(drop.value), "ci": _ci_text(drop.ci),
                              "title": f"{pct(drop.source_score)} on {', '.join(drop.sources)} - {pct(drop.score)} "
                                       "here"}
                             if drop else {"text": "–", "value": "", "title": "no source runs"})
            for column, (value, ci) in (entry.drop.tasks.items() if entry.drop else []):
                if f"task:{column}" in cells:
                    cells[f"task:{column}"]["drop"] = f"drop {pct(value)} {_ci_text(ci)}".strip()
        costs = entry.costs
        cells["trainable"] = {"text": human_count(costs["trainable_parameters"]),
                              "value": str(costs["trainable_parameters"]),
                              "title": f"{costs['trainable_parameters']:,} of {costs['total_parameters']:,}"}
        cells["memory"] = {"text": human_bytes(costs["peak_memory_bytes"]), "value": str(costs["peak_memory_bytes"]),
                           "title": f"{costs['peak_memory_bytes']:,} bytes ({costs['peak_memory_kind']})"}
        cells["time"] = {"text": human_seconds(costs["train_seconds"]), "value": str(costs["train_seconds"]),
                         "title": f"{costs['train_seconds']:.1f} s"}
        state, latency = costs.get("optimizer_state_bytes"), costs.get("inference_ms_per_example")
        cells["optimizer"] = ({"text": human_bytes(state), "value": str(state), "title": f"{state:,} bytes"}
                              if state is not None else {"text": "–", "value": "", "title": "not measured"})
        cells["latency"] = ({"text": f"{latency:.2f} ms", "value": str(latency), "title": f"{latency} ms per example"}
                            if latency is not None else {"text": "–", "value": "", "title": "not measured"})
        cells["seeds"] = {"text": str(len(seeds)), "value": str(len(seeds)), "title": ", ".join(map(str, seeds))}
        for cell in cells.values():
            cell.setdefault("ci", "")
            cell.setdefault("drop", "")
        rows.append({"entry": entry.slug, "partial": entry.suite.partial, "missing": list(entry.suite.missing),
                     "cells": cells, "selection": entry.selection_text, "on_dev": entry.on_dev_text})
    return columns, rows


def splits_text(splits: list[str]) -> str:
    """"the dev split", "the dev_matched and dev_mismatched splits"."""
    if not splits:
        return "no split"
    if len(splits) == 1:
        return f"the {splits[0]} split"
    return f"the {', '.join(splits[:-1])} and {splits[-1]} splits"


def task_details(suite: Suite, entries: list[Entry]) -> list[dict[str, Any]]:
    """Per task: every metric of every entry, mean ± sd over seeds."""
    out = []
    for card in suite.tasks:
        lines = []
        for entry in entries:
            for split, metrics in entry.metrics.get(card.id, {}).items():
                lines.append({"entry": entry.label, "split": split,
                              "metrics": [{"name": m, "text": _stats_text(s)} for m, s in metrics.items()],
                              "seeds": max((s.n for s in metrics.values()), default=0)})
            for diagnostic in entry.diagnostics.values():
                if diagnostic.task_id == card.id:
                    lines.append({"entry": entry.label, "split": f"{diagnostic.split} (diagnostic)",
                                  "metrics": [{"name": m, "text": _stats_text(s)
                                               + (f" {_ci_text(diagnostic.ci[m])}" if m in diagnostic.ci else "")}
                                              for m, s in diagnostic.metrics.items()],
                                  "seeds": len(diagnostic.seeds)})
        if lines:
            out.append({"id": card.id, "name": card.name, "primary": card.primary_metric, "rows": lines})
    return out


def _plain(text: str) -> str:
    """Text matplotlib prints as is (a '$' would start mathtext)."""
    return text.replace("$", r"\$")


COUNT_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, ""))
BYTE_UNITS = (((1 << 30), " GiB"), ((1 << 20), " MiB"), ((1 << 10), " KiB"), (1.0, " B"))


def _unit_of(value: float, units: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    return next(((size, suffix) for size, suffix in units if value >= size), units[-1])


def unit_labels(values: list[float], units: tuple[tuple[float, str], ...],
                unit: tuple[float, str] | None = None) -> list[str]:
    """Tick labels in human units (each value's own, or one ``unit`` for the axis) with the fewest decimals, up to 3,
    that keep them apart and true to half a percent: ticks at 1.60, 1.65 and 1.70 GiB read so, not "1.6 GiB" twice,
    and 0.5 GiB is never "0 GiB"."""
    labels: list[str] = []
    for digits in range(4):
        labels, true = [], True
        for value in values:
            size, suffix = unit or _unit_of(value, units)
            shown = round(value / size, digits)
            true = true and abs(shown * size - value) <= 0.005 * abs(value)
            labels.append(f"{shown:.{digits}f}{suffix}" if value > 0 else "0")
        if true and len(set(labels)) == len(labels):
            break
    return labels


def _unit_axis(axis: Any, units: tuple[tuple[float, str], ...], values: list[float], log: bool) -> None:
    """Ticks in human units: on a linear axis few, at round numbers of one unit (the largest value's); on a log axis
    1, 10 and 100 of each unit (10 MiB, 100 MiB, 1 GiB), each in its own unit."""
    from matplotlib.ticker import Formatter, Locator, MaxNLocator, NullFormatter

    unit = None if log else _unit_of(max(values), units)

    class UnitTicks(Formatter):
        def format_ticks(self, values: Any) -> list[str]:
            return unit_labels(list(values), units, unit)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return unit_labels([x], units, unit)[0]

    if unit is not None:
        size = unit[0]

        class UnitLocator(MaxNLocator):
            def tick_values(self, vmin: float, vmax: float) -> Any:
                return super().tick_values(vmin / size, vmax / size) * size

        axis.set_major_locator(UnitLocator(nbins=5, steps=[1, 2, 5, 10]))  # no 2.5: 1.625 would print as 1.62
    else:
        decades = sorted({size * 10 ** k for i, (size, _) in enumerate(units) for k in range(4 if i == 0 else 3)})

        class UnitDecades(Locator):
            def __call__(self) -> Any:
                return self.tick_values(*self.axis.get_view_interval())

            def tick_values(self, vmin: float, vmax: float) -> Any:
                return [t for t in decades if min(vmin, vmax) <= t <= max(vmin, vmax)]

        axis.set_major_locator(UnitDecades())
    axis.set_major_formatter(UnitTicks())
    axis.set_minor_formatter(NullFormatter())


def plot_png(entries: list[Entry], title: str, ylabel: str = "suite score") -> str | None:
    """Suite score against trainable parameters, peak memory and training time, one point per (model, method) with
    its CI, as base64 PNG (None: no entries)."""
    figure = cost_figure(entries, title, ylabel)
    if figure is None:
        return None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def cost_figure(entries: list[Entry], title: str, ylabel: str = "suite score") -> Any:
    """The figure of ``plot_png`` (a matplotlib Figure), or None without entries."""
    points = [e for e in entries if math.isfinite(e.suite.value)]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 3.8), dpi=100, layout="constrained")
    axes = figure.subplots(1, 3, sharey=True)
    for ax, key, label in ((axes[0], "trainable_parameters", "trainable parameters"),
                           (axes[1], "peak_memory_bytes", "peak memory"),
                           (axes[2], "train_seconds", "training time (s, all tasks, mean over seeds)")):
        xs = [max(e.costs[key], 1e-9) for e in points]
        for e, x in zip(points, xs):
            y = e.suite.value * 100
            err = None
            if e.ci is not None:
                err = [[max(y - e.ci[0] * 100, 0)], [max(e.ci[1] * 100 - y, 0)]]
            ax.errorbar([x], [y], yerr=err, fmt="o", capsize=3, markersize=7,
                        markerfacecolor="white" if e.suite.partial else None)
            rightmost = len(xs) > 1 and x == max(xs)  # label to the left so it stays inside the axes
            ax.annotate(_plain(e.label + (" (partial)" if e.suite.partial else "")), (x, y), textcoords="offset points",
                        xytext=(-6, 6) if rightmost else (6, 6), ha="right" if rightmost else "left", fontsize=8)
        log = max(xs) / min(xs) > 20
        if log:
            ax.set_xscale("log")
        if key in ("trainable_parameters", "peak_memory_bytes"):
            _unit_axis(ax.xaxis, COUNT_UNITS if key == "trainable_parameters" else BYTE_UNITS, xs, log)
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(_plain(ylabel))
    figure.suptitle(_plain(title), fontsize=10)
    return figure


def diagnostics_text(suite: Suite, entries: list[Entry]) -> str:
    """One sentence on the diagnostic columns ("" when there are none)."""
    keys = diagnostic_columns(suite, entries)
    if not keys:
        return ""
    found = [next(e.diagnostics[k] for e in entries if k in e.diagnostics) for k in keys]
    names = ", ".join(f"{_task_label(d.task_id)} ({'/'.join(metric_abbreviation(m) for m in d.metrics)}, "
                      f"{d.split} split)" for d in found)
    by = ", ".join(sorted({d.evaluated_with for d in found}))
    return (f"Diagnostics {names} are predicted by the models of the {by} runs, scored on their labelled split "
            "(mean ± sd over those runs' seeds; CI below: two-level bootstrap, pairs kept whole for pair metrics) "
            "and are not part of the suite score.")


def context(suite: Suite, entries: list[Entry], version: str, created: str, ci: CISettings,
            kit: dict[str, Any]) -> dict[str, Any]:
    columns, rows = table(suite, entries)
    rule = suite.card.rule
    selection = selection_summary([run for entry in entries for run in entry.runs])  # the release's protocols
    diagnostics = diagnostics_text(suite, entries)
    from benchkit.release.drops import note

    return {
        "diagnostics": diagnostics,
        "drop_note": note(entries),
        "evaluation": {"splits": splits_text(sorted({s for e in entries for s in e.eval_splits})),
                       "selection": selection_text(selection), "on_dev": on_dev_text(selection),
                       "all_same": len(selection) == 1, "runs": sum(i["runs"] for i in selection)},
        "suite": {"id": suite.card.id, "version": suite.card.version, "name": suite.card.name,
                  "description": suite.card.description, "homepage": suite.card.homepage or "",
                  "citation": suite.card.citation or ""},
        "release": {"version": version, "created": created},
        "rule": {"name": rule.name, "label": rule.label},
        "ci": ci.describe(), "ci_level_pct": f"{ci.level * 100:g}%",
        "columns": columns, "rows": rows, "details": task_details(suite, entries),
        "any_partial": any(r["partial"] for r in rows), "kit": kit,
        "tasks": [{"id": c.id, "version": c.version, "name": c.name} for c in suite.tasks],
    }


def write(folder: Path, suite: Suite, entries: list[Entry], version: str, created: str, ci: CISettings,
          kit: dict[str, Any]) -> list[Path]:
    from benchkit.release.templating import render

    ctx = context(suite, entries, version, created, ci, kit)
    plot = plot_png(entries, f"{suite.card.name} {version}: suite score vs cost",
                    f"suite score ({ctx['evaluation']['splits']})")
    html = folder / "leaderboard.html"
    html.write_text(render("leaderboard.html.j2", **ctx, plot=plot), encoding="utf-8")
    md = folder / "leaderboard.md"
    md.write_text(render("leaderboard.md.j2", **ctx), encoding="utf-8")
    return [html, md]
