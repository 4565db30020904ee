"""The canonical frames of the task being run (and of its companions), read and checked once for a grid.

``benchkit run`` checks every planned task's data before the grid starts (``execute.runs.check_data``), and each run
of a task needs the same frames again (every seed, every model). ``frames`` keeps what ``validation.frames.load_frames``
returned, so the check's read serves the runs that follow it, and a task's seeds share one read. Only the current
task group (a task and its companions) is kept: ``retain`` drops the rest, so the frames of other tasks neither
accumulate nor count in the peak memory recorded for a run (on a CPU, the process RSS).

An entry is keyed by the card's full content, the data folder and, per split file, its size, inode and
modification time, so an edited file or card is read again. Callers must not modify the frames they get (the dict
is a copy; the DataFrames are shared).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchkit.cards.schema import TaskCard

if TYPE_CHECKING:
    import pandas as pd

_CACHE: dict[tuple[Any, ...], dict[str, pd.DataFrame]] = {}


def _key(card: TaskCard, data_dir: Path, splits: list[str] | None) -> tuple[Any, ...]:
    from benchkit.loading import locate

    files = []
    for split in card.splits:
        where = locate(card, split, data_dir)
        if where is None:
            continue
        if where.hub:  # a local copy: every file's stat; the Hub: the pinned revision in the location
            folder = Path(where.location)
            stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))
                          if p.is_file()) if where.is_dir else ()
            files.append((split, where.location, stats))
            continue
        try:
            stat = os.stat(where.location)
        except OSError:
            files.append((split, None))
            continue
        files.append((split, stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns))
    return (card.id, card.model_dump_json(), str(Path(data_dir).resolve()), tuple(splits or ()), tuple(files))


def frames(card: TaskCard, data_dir: Path, splits: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """``validation.frames.load_frames(card, data_dir, splits)``, read once while the card and its files stay the same."""
    from benchkit.validation.frames import load_frames

    key = _key(card, data_dir, splits)
    if key not in _CACHE:
        _CACHE[key] = load_frames(card, data_dir, splits)
    return dict(_CACHE[key])


def store(card: TaskCard, data_dir: Path, splits: list[str] | None, checked: dict[str, pd.DataFrame]) -> None:
    """Keep frames read and checked elsewhere (``execute.runs.check_data``, by ``validation.runner``) as what
    ``frames(card, data_dir, splits)`` returns."""
    _CACHE[_key(card, data_dir, splits)] = dict(checked)


def retain(card_ids: set[str] | frozenset[str]) -> None:
    """Keep only the frames of these tasks."""
    for key in [k for k in _CACHE if k[0] not in card_ids]:
        del _CACHE[key]


def clear() -> None:
    _CACHE.clear()
