"""datasheet.md: which split the release's scores come from and how the checkpoints were selected, the seed of each
task's predictions in each submission archive and the rule that chose it, then per task its
description, language, licence, citation, split sizes, label distribution and data hashes, rendered from
templates/datasheet.md.j2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.release.collect import DataFileState, Run


def _distribution(dist: dict[str, Any] | None) -> str:
    if not dist:
        return "–"
    if set(dist) == {"min", "mean", "max"}:
        return f"min {dist['min']:g}, mean {dist['mean']:g}, max {dist['max']:g}"
    total = sum(dist.values()) or 1
    return ", ".join(f"{name} {count} ({count / total:.1%})" for name, count in dist.items())


def tasks_info(suite: Suite, data_dir: Path, data: dict[str, dict[str, DataFileState | None]]) -> list[dict[str, Any]]:
    from benchkit.describe import describe_task
    from benchkit.validation.frames import load_frames

    scored = {t.id: t.scored for t in suite.card.tasks}
    out = []
    for card in suite.tasks:
        info = describe_task(card, data_dir, load_frames)
        splits = []
        for name, entry in info["splits"].items():
            state = data.get(card.id, {}).get(name)
            rows = entry.get("rows")
            splits.append({"name": name, "labels": entry["labels"], "rows": "–" if rows is None else rows,
                           "distribution": _distribution(entry.get("label_distribution"))
                           if entry["labels"] == "present" else "hidden",
                           "file": state.file if state else (f"derived from {entry['derived_from']}"
                                                             if entry.get("derived_from") else str(entry["file"])),
                           "sha256": state.sha256 if state else ("missing" if name in data.get(card.id, {})
                                                                 else "–")})
        out.append({"id": card.id, "version": card.version, "name": card.name, "description": card.description.strip(),
                    "type": card.type, "language": card.language, "license": card.license,
                    "citation": card.citation.strip(), "homepage": card.homepage,
                    "labels": card.labels.names if card.labels else None, "value_range": card.value_range,
                    "metrics": [m.key for m in card.metrics], "primary_metric": card.primary_metric,
                    "evaluated_with": "`, `".join(card.evaluators), "scored": scored.get(card.id, True), "splits": splits,
                    # the data checks the card relaxes for quirks of the official files, with the card's reasons
                    "checks": [{"name": name, "severity": rule.severity, "reason": rule.reason}
                               for name, rule in card.checks.relaxed().items()]})
    return out


def evaluation_info(suite: Suite, runs: list[Run]) -> dict[str, Any]:
    """The splits the scores are measured on (per task) and the selection protocol(s), with run counts."""
    from benchkit.release.scores import eval_splits, on_dev_text, selection_summary, selection_text

    summary = selection_summary(runs)
    per_task = {card.id: eval_splits([r for r in runs if r.record.task.id == card.id]) for card in suite.tasks}
    diagnostics: list[str] = []
    for card in suite.tasks:  # companion tasks scored in the records of their evaluator's runs (AX-b, AX-g)
        for split in card.splits:
            key = f"{card.id}:{split}"
            by = sorted({r.record.task.id for r in runs if key in r.record.diagnostics})
            if by:
                per_task[card.id] = per_task.get(card.id, []) + [
                    f"{split} (diagnostic: predicted by the {', '.join(by)} runs; not part of the suite score)"]
                diagnostics.append(f"{card.id} {split}")
    return {"splits": eval_splits(runs), "per_task": {t: s for t, s in per_task.items() if s},
            "selection": selection_text(summary), "on_dev": on_dev_text(summary),
            "runs": len(runs), "all_same": len(summary) == 1, "diagnostics": diagnostics}


def submissions_info(submissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per archive written: its entry, the seed of each task's predictions in it and the rule that chose them."""
    return [{"entry": info["entry"], "archive": info["archive"], "rule": info.get("seed_rule", ""),
             "seeds": [{"task": task, "seeds": ", ".join(map(str, seeds if isinstance(seeds, list) else [seeds]))}
                       for task, seeds in info.get("seeds", {}).items()]}
            for info in submissions if info.get("archive")]


def write(folder: Path, suite: Suite, version: str, data_dir: Path, data: dict[str, dict[str, DataFileState | None]],
          data_dir_label: str, runs: list[Run], submissions: list[dict[str, Any]] | None = None) -> Path:
    from benchkit.release.templating import render

    path = folder / "datasheet.md"
    path.write_text(render(
        "datasheet.md.j2", suite={"id": suite.card.id, "version": suite.card.version, "name": suite.card.name,
                                  "description": suite.card.description.strip(), "citation": suite.card.citation or ""},
        release={"version": version}, data_dir=data_dir_label, tasks=tasks_info(suite, data_dir, data),
        evaluation=evaluation_info(suite, runs), submissions=submissions_info(submissions or [])),
        encoding="utf-8")
    return path
