"""Cards from strangers are data: the paths a card names stay inside its benchmark.

A card's data paths (``source.dir``, a split's ``file``) are relative to the data folder and may not climb out of it
(``..``) or start from the root; once resolved (links followed) they must still be inside it. ``extends:`` and a suite's
``data_dir`` are relative to the card and must resolve inside the card's benchmark root: the folder that holds its
``tasks/`` or ``benchmarks/`` folder (the card's own folder for a card that stands alone).
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
