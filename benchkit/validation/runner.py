"""The one set of data checks: ``benchkit validate``, ``benchkit run`` (before the grid) and ``benchkit release``
all call ``validate_task`` per task: files, then each split's schema (validation.schema), then across splits
(validation.cross_split). Every problem is collected, none fatal; the card's ``checks:`` say which findings are
errors and which are warnings (cards.schema.DATA_CHECKS). ``enforce`` treats them the same way for every command:
errors stop it (exit 2, nothing written), warnings are printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from benchkit.cards.paths import broken_link
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.loading import canonical_frame, carve, locate, missing_problem, read_split
from benchkit.validation.cross_split import leakage
from benchkit.validation.schema import MAX_PER_CHECK, check_table

if TYPE_CHECKING:
    import pandas as pd

SplitStatus = Literal["ok", "missing", "invalid", "derived", "unchecked"]


@dataclass
class TaskReport:
    task: str
    splits: dict[str, SplitStatus] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # the canonical frames of the splits read and checked (derived splits carved), for the commands that go on
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    missing_data: Problem | None = None  # the one problem naming the missing files, if any (also in problems)

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
                  max_per_check: int = MAX_PER_CHECK, splits: list[str] | None = None) -> TaskReport:
    """Every problem of a task's data. ``splits`` limits the check to those splits (and the splits they are carved
    from), e.g. the companion splits a run predicts; leakage is then checked among the splits read."""
    report = TaskReport(card.id)
    wanted = [s for s in card.splits if splits is None or s in splits]
    needed = {card.splits[s].derive.from_ if card.splits[s].derive else s for s in wanted}
    if data_dir is None:
        report.splits = {s: "unchecked" for s in wanted}
        return report
    frames = {}
    files: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for split in [s for s in card.splits if s in needed]:
        where = locate(card, split, data_dir)
        if where is None:
            report.splits[split] = "derived"
            continue
        files[split] = where.location
        if not where.exists and not where.is_dir and card.splits[split].hf_split is None:
            # a link whose target is gone is a broken workspace (an emptied DVC cache), an error even without --strict
            broken = broken_link(Path(where.location)) is not None
            report.splits[split] = "invalid" if broken else "missing"
            if broken:
                report.problems.append(missing_problem(card, where))
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
        report.missing_data = Problem(
            f"missing data: {', '.join(f'{s} ({card.splits[s].file})' for s in missing)} not found", file=str(folder),
            field=card.id, severity="error" if strict else "warning",
            hint="download the official files into --data-dir in the official layout"
                 + ("" if strict else "; missing data fails validation only with --strict"))
        report.problems.insert(0, report.missing_data)
    carved = carve(card, frames)
    for split, spec in card.splits.items():
        if spec.derive is not None and split in wanted:
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
    report.frames = {s: carved[s] for s in wanted if s in carved}
    return report


def wrong_folder(cards: list[TaskCard], reports: list[TaskReport], data_dir: Path) -> Problem | None:
    """An error when the data folder holds no split of any task: a wrong --data-dir rather than missing data."""
    states = [state for report in reports for state in report.splits.values()]
    if any(state in ("ok", "invalid") for state in states) or "missing" not in states:
        return None
    example = next((Path(data_dir, c.source.dir, s.file).as_posix() for c in cards for s in c.splits.values()
                    if s.file), None)
    return Problem(f"no split of any of the {len(cards)} task(s) was found: this is probably not the folder of the "
                   f"official files", file=str(data_dir), field="--data-dir",
                   hint="pass the folder that holds the task folders in the official layout"
                        + (f" (e.g. {example})" if example else ""))


def enforce(reports: list[TaskReport], warn: Callable[[Problem], None]) -> None:
    """What ``run`` and ``release`` do with the reports, as ``validate`` does: any error stops the command
    (BenchkitError: every problem, warnings included, one line each; exit 2; nothing written), else each warning
    is printed with ``warn``."""
    problems = [p for report in reports for p in report.problems]
    if any(p.severity == "error" for p in problems):
        raise BenchkitError(*problems)
    for report in reports:
        for problem in condensed_warnings(report):
            warn(problem)


def condensed_warnings(report: TaskReport) -> list[Problem]:
    """A task's warnings as a command that goes on prints them: one line per check and hint, naming how many rows it
    found and where the first is (``validate`` lists every row). A check with one finding keeps its own line."""
    by_check: dict[tuple[str | None, str | None], list[Problem]] = {}
    for problem in report.problems:
        by_check.setdefault((problem.field, problem.hint), []).append(problem)
    out: list[Problem] = []
    for (check, hint), found in by_check.items():
        if len(found) == 1:
            out.append(found[0])
            continue
        first = found[0]
        files = sorted({Path(p.file).name for p in found if p.file})
        where = f"{first.file}:{first.line}" if first.line is not None else str(first.file)
        out.append(Problem(f"{len(found)} findings in {', '.join(files)}; the first at {where}: {first.message}",
                           field=f"{report.task}: {check}" if check else report.task, severity=first.severity,
                           hint=f"{hint}; benchkit validate {report.task} lists each" if hint else
                           f"benchkit validate {report.task} lists each"))
    return out
