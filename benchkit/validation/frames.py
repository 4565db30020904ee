"""A task's canonical frames, read and checked: what the commands that go on with the data (run, score, release,
show) load. Each split is read (``benchkit.loading``), checked (``validation.schema.check_table``: a table that fails
is never converted) and converted; derived splits are then carved. Unlike ``validation.runner.validate_task``, which reports, any error
is raised (every error found, together) and warnings are not shown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchkit.cards.schema import TaskCard
from benchkit.contracts.formats import FORMATS
from benchkit.errors import BenchkitError, Problem
from benchkit.loading import canonical_frame, carve, locate, missing_problem, read_split, to_dataset_dict
from benchkit.validation.schema import check_table

if TYPE_CHECKING:
    import datasets
    import pandas as pd


def load_frames(card: TaskCard, data_dir: Path, splits: list[str] | None = None) -> dict[str, "pd.DataFrame"]:
    """Read, check and convert the card's splits; raises BenchkitError listing every problem found."""
    wanted = splits or list(card.splits)
    needed = {card.splits[s].derive.from_ if card.splits[s].derive else s for s in wanted}
    frames: dict[str, "pd.DataFrame"] = {}
    problems: list[Problem] = []
    for split in [s for s in card.splits if s in needed]:
        where = locate(card, split, data_dir)
        if where is None:
            continue
        if not where.exists and not where.is_dir and FORMATS.get(card.source.format).local:
            problems.append(missing_problem(card, where))
            continue
        try:
            table = read_split(card, split, data_dir)
        except BenchkitError as err:
            problems.extend(p for p in err.problems if p not in problems)  # a whole Hub dataset's: once
            continue
        found = table.problems + check_table(card, split, table)
        errors = [p for p in found if p.severity == "error"]
        if errors:
            problems.extend(errors)
            continue
        frames[split] = canonical_frame(card, split, table)
    if problems:
        raise BenchkitError(*problems)
    frames = carve(card, frames)
    return {s: frames[s] for s in wanted if s in frames}


def load_task_data(card: TaskCard, data_dir: Path, splits: list[str] | None = None) -> "datasets.DatasetDict":
    return to_dataset_dict(card, load_frames(card, data_dir, splits))
