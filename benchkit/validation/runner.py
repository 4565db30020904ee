"""``benchkit validate``: cards, then files, then the data itself; every problem collected, none fatal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.loading import canonical_frame, carve, locate, read_split
from benchkit.validation.cross_split import leakage
from benchkit.validation.schema import MAX_PER_CHECK, check_table

SplitStatus = Literal["ok", "missing", "invalid", "derived", "unchecked"]


@dataclass
class TaskReport:
    task: str
    splits: dict[str, SplitStatus] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def status(self) -> str:
        if self.errors:
            return "errors"
        if "missing" in self.splits.values():
            return "missing data" if all(s in ("missing", "derived") for s in self.splits.values()) else "partial data"
        if all(s == "unchecked" for s in self.splits.values()):
            return "card ok"
        return "ok"


def validate_task(card: TaskCard, data_dir: Path | None, *, strict: bool = False,
                  max_per_check: int = MAX_PER_CHECK) -> TaskReport:
    report = TaskReport(card.id)
    if data_dir is None:
        report.splits = {s: "unchecked" for s in card.splits}
        return report
    frames = {}
    files: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for split in card.splits:
        where = locate(card, split, data_dir)
        if where is None:
            report.splits[split] = "derived"
            continue
        files[split] = where.location
        if not where.exists and not where.is_dir and card.splits[split].hf_split is None:
            report.splits[split] = "missing"
            continue
        try:
            table = read_split(card, split, data_dir)
        except BenchkitError as err:
            report.splits[split] = "invalid"
            # a problem with a whole local copy (a folder of a Hub dataset) comes once, not once per split
            report.problems.extend(p for p in err.problems if p not in report.problems)
            continue
        found = table.problems + check_table(card, split, table, max_per_check)
        report.problems.extend(found)
        report.rows[split] = len(table.frame) + sum(p.severity == "error" and p.line is not None for p in table.problems)
        kinds[split] = table.location_kind
        if any(p.severity == "error" for p in found):
            report.splits[split] = "invalid"
            continue
        report.splits[split] = "ok"
        frames[split] = canonical_frame(card, split, table)
    missing = [s for s, state in report.splits.items() if state == "missing"]
    if missing:
        folder = data_dir / card.source.dir
        report.problems.insert(0, Problem(
            f"missing data: {', '.join(f'{s} ({card.splits[s].file})' for s in missing)} not found", file=str(folder),
            field=card.id, severity="error" if strict else "warning",
            hint="download the official files into --data-dir in the official layout"
                 + ("" if strict else "; missing data fails validation only with --strict")))
    carved = carve(card, frames)
    for split, spec in card.splits.items():
        if spec.derive is not None:
            parent_status = report.splits.get(spec.derive.from_)
            report.splits[split] = "ok" if split in carved else ("missing" if parent_status == "missing" else "invalid")
            if split in carved:
                report.rows[split] = len(carved[split])
                report.rows[spec.derive.from_] = len(carved[spec.derive.from_])
                files[split] = files.get(spec.derive.from_, "")
                kinds[split] = kinds.get(spec.derive.from_, "line")
                if spec.rows is not None and len(carved[split]) != spec.rows:
                    report.problems.append(Problem(
                        f"expected {spec.rows} rows, found {len(carved[split])} carved from {spec.derive.from_}",
                        file=files[split], field=f"splits.{split}.rows",
                        hint="a derived split takes round(fraction x size) rows (per label when stratified); "
                             "fix rows or derive.fraction"))
    report.problems.extend(leakage(card, carved, files, kinds, max_per_check))
    return report
