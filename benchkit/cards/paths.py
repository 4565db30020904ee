"""Cards from strangers are data: the paths a card names stay inside its benchmark.

The rule is about what a card may *name*, not about links the user placed in their own folders. A card's data paths
(``source.dir``, a split's ``file``) are relative to the data folder and may not climb out of it (``..``) or start from
the root; a link found inside the data folder is followed wherever it leads (DVC's ``cache.type: symlink`` makes every
tracked file a link into ``.dvc/cache``), and a link whose target is missing is named with its target. A suite's
``data_dir`` is relative to the card and may only climb (leading ``..``) to the card's benchmark root: the folder that
holds its ``tasks/`` or ``benchmarks/`` folder (the card's own folder for a card that stands alone); below it, links
are followed too. ``extends:`` must resolve inside the benchmark root. ``extends:`` may also name a
catalog card, by id (``extends: glue/sst2``) or by path: benchkit's own cards and those on $BENCHKIT_CARD_PATH.
"""

from __future__ import annotations

import os
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


def leaves_by_name(value: str, base: Path, root: Path) -> bool:
    """Whether the relative path ``value``, taken from the real folder ``base``, leaves ``root`` by what it names:
    it is absolute, or its ``..`` come after a name (they would climb out of wherever a link there leads), or its
    leading ``..`` climb above ``root``. Links below are not followed: they are the user's."""
    parts = PurePosixPath(value.replace("\\", "/")).parts
    climbs = next((i for i, part in enumerate(parts) if part != ".."), len(parts))
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).drive or ".." in parts[climbs:]:
        return True
    start = base.resolve()
    for _ in range(climbs):
        start = start.parent
    return not Path(os.path.normpath(start / Path(*parts[climbs:]) if parts[climbs:] else start)).is_relative_to(
        root.resolve())


def broken_link(path: Path) -> tuple[Path, str] | None:
    """(the link, where it points) when ``path`` or a folder above it is a link whose target is missing (a DVC cache
    emptied by ``dvc gc``, a data folder on a disk not mounted); None otherwise."""
    for link in (path, *path.parents):
        if link.is_symlink() and not link.exists():
            return link, os.readlink(link)
    return None


def as_named(path: Path) -> Path:
    """``path`` made absolute with its folders' links followed but its own name kept: a DVC workspace file that is a
    link into ``.dvc/cache`` is still named where the user put it (data/x/train.tsv, not .dvc/cache/files/...)."""
    return path.parent.resolve() / path.name
