"""Where cards are found: the card roots, the card ids in them, and a card's file by id.

Roots, in order: the current directory (a user's own benchmark repo), ``$BENCHKIT_CARD_PATH``
(os.pathsep-separated), and the built-in cards -- from a source checkout (the repo root) or from an
installed wheel (``benchkit/_builtin``, where the build copies ``tasks/``, ``benchmarks/``, ``templates/``).
Finding reads no card, so the loader (``extends:`` by id) and the catalog (cards by id) both build on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.files import builtin_root


def _card_path_env() -> list[Path]:
    return [Path(p) for p in os.environ.get("BENCHKIT_CARD_PATH", "").split(os.pathsep) if p]


def card_roots() -> list[Path]:
    candidates = [Path.cwd(), *_card_path_env(), builtin_root()]
    roots: list[Path] = []
    for root in candidates:
        root = root.resolve()
        if root not in roots and ((root / "tasks").is_dir() or (root / "benchmarks").is_dir()):
            roots.append(root)
    return roots


def trusted_roots() -> list[Path]:
    """Card folders a card may extend from wherever it is: benchkit's own cards and those on $BENCHKIT_CARD_PATH
    (chosen by the user, unlike a card's own paths)."""
    return [root.resolve() for root in [builtin_root(), *_card_path_env()]]


def _ids(pattern: str) -> list[str]:
    """The ids of the cards matching ``pattern`` in every root, first root first; ``_``-files are partial cards."""
    ids: dict[str, None] = {}
    for root in card_roots():
        for path in sorted(root.glob(pattern)):
            if not path.name.startswith("_"):
                ids[path.relative_to(root).with_suffix("").as_posix().split("/", 1)[1]] = None
    return list(ids)


def task_ids() -> list[str]:
    return _ids("tasks/*/*.yaml")


def suite_ids() -> list[str]:
    return _ids("benchmarks/*.yaml")


def _not_a_directory(ref: str) -> None:
    """A folder given where a card is expected gets its own message, not 'no such card'."""
    if Path(ref).is_dir():
        cards = sorted(p.name for p in Path(ref).glob("*.yaml"))
        hint = f"name a card file inside it, e.g. {cards[0]}" if cards else "name the .yaml file"
        raise BenchkitError(Problem("is a directory, expected a YAML card", file=ref, hint=hint))


def _card_path(ref: str, folder: str, kind: str, ids: Callable[[], list[str]], *, any_file: bool) -> Path:
    """The card a reference names: a .yaml path as given, else ``<root>/<folder>/<ref>.yaml`` in the first root that
    has it (else, with ``any_file``, an existing file of that name)."""
    if ref.endswith((".yaml", ".yml")):
        return Path(ref)
    for root in card_roots():
        path = root / folder / f"{ref}.yaml"
        if path.is_file():
            return path
    if any_file and Path(ref).is_file():
        return Path(ref)
    _not_a_directory(ref)
    raise BenchkitError(Problem(f"no {kind} card '{ref}'", hint=did_you_mean(ref, ids()) or
                                f"run 'benchkit ls' to list {kind}s, or pass the card's path"))


def task_path(ref: str) -> Path:
    return _card_path(ref, "tasks", "task", task_ids, any_file=True)


def suite_path(ref: str) -> Path:
    return _card_path(ref, "benchmarks", "suite", suite_ids, any_file=False)


def catalog_card(ref: str) -> Path | None:
    """The catalog card a bare id names (``glue/sst2`` a task, ``glue`` a suite), or None."""
    if ref.endswith((".yaml", ".yml")):
        return None
    try:
        return task_path(ref) if "/" in ref else suite_path(ref)
    except BenchkitError:
        return None
