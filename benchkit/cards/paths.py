"""Cards from strangers are data: the paths a card names stay inside its benchmark.

A card's data paths (``source.dir``, a split's ``file``) are relative to the data folder and may not climb out of it
(``..``) or start from the root; once resolved (links followed) they must still be inside it. ``extends:`` and a suite's
``data_dir`` are relative to the card and must resolve inside the card's benchmark root: the folder that holds its
``tasks/`` or ``benchmarks/`` folder (the card's own folder for a card that stands alone). ``extends:`` may also name a
catalog card, by id (``extends: glue/sst2``) or by path: benchkit's own cards and those on $BENCHKIT_CARD_PATH.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

CARD_FOLDERS = ("tasks", "benchmarks")


def climbs_out(value: str) -> str | None:
    """Why the relative path ``value`` would leave the folder it is relative to, or None."""
    for flavour in (PurePosixPath(value), PureWindowsPath(value)):
        if flavour.is_absolute() or flavour.drive or flavour.root:
            return "is absolute"
        if ".." in flavour.parts:
            return "climbs out with '..'"
    return None


def benchmark_root(card: Path) -> Path:
    """The folder holding the card's ``tasks/`` or ``benchmarks/`` folder; the card's folder if none does."""
    card = card.resolve()
    for parent in card.parents:
        if parent.name in CARD_FOLDERS:
            return parent.parent
    return card.parent


def outside(path: Path, root: Path) -> Path | None:
    """Where ``path`` really is (links followed) when that is outside ``root``; None when it is inside."""
    real = path.resolve()
    return None if real.is_relative_to(root.resolve()) else real


def trusted_roots() -> list[Path]:
    """Card folders a card may extend from wherever it is: benchkit's own cards and those on $BENCHKIT_CARD_PATH
    (chosen by the user, unlike a card's own paths)."""
    import os

    from benchkit.cards.catalog import builtin_root

    roots = [builtin_root()] + [Path(p) for p in os.environ.get("BENCHKIT_CARD_PATH", "").split(os.pathsep) if p]
    return [root.resolve() for root in roots]


def catalog_card(ref: str) -> Path | None:
    """The catalog card a bare id names (``glue/sst2`` a task, ``glue`` a suite), or None."""
    from benchkit.cards import catalog
    from benchkit.errors import BenchkitError

    if ref.endswith((".yaml", ".yml")):
        return None
    try:
        return catalog.task_path(ref) if "/" in ref else catalog.suite_path(ref)
    except BenchkitError:
        return None
