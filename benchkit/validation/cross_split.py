"""Checks across the splits of one task: examples shared between train and dev/test (leakage)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchkit.cards.schema import TaskCard
from benchkit.errors import Problem
from benchkit.loading import input_keys
from benchkit.validation import rules

if TYPE_CHECKING:
    import pandas as pd


def leakage(card: TaskCard, frames: dict[str, "pd.DataFrame"], files: dict[str, str],
            location_kinds: dict[str, str], max_rows: int) -> list[Problem]:
    severity = rules.severity(card, "leakage")
    if severity == "off":
        return []
    # A card that sets leakage to warning says the benchmark keeps these overlaps (GLUE's CoLA, STS-B, and glue-mini,
    # whose cards extend them; KLEJ NKJP-NER): they are known, not something to remove.
    hint = rules.hint(card, "leakage", "remove it from one split, or set checks.leakage in the card if the benchmark "
                                       "keeps it")
    problems: list[Problem] = []
    trains = [s for s in frames if s.startswith("train")]
    for train in trains:
        seen: dict[tuple, int] = {}
        for key, location in zip(input_keys(frames[train]), frames[train]["_location"]):
            seen.setdefault(key, location)
        for split in frames:
            if split.startswith("train"):
                continue
            hits = [(loc, seen[key]) for key, loc in zip(input_keys(frames[split]), frames[split]["_location"]) if key in seen]
            kind = location_kinds.get(split, "line")
            for location, train_location in hits[:max_rows]:
                problems.append(Problem(
                    f"leakage: the same input is in {train} ({location_kinds.get(train, 'line')} {train_location})",
                    file=files.get(split), line=location, location_kind=kind, severity=severity,  # type: ignore[arg-type]
                    hint=hint))
            if len(hits) > max_rows:
                problems.append(Problem(f"... and {len(hits) - max_rows} more rows of {split} also in {train}",
                                        file=files.get(split), severity=severity))  # type: ignore[arg-type]
    return problems
