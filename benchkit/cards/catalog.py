"""Find cards: by id (``glue``, ``glue/sst2``) in the card roots, or by path.

Roots, in order: the current directory (a user's own benchmark repo), ``$BENCHKIT_CARD_PATH``
(os.pathsep-separated), and the built-in cards -- from a source checkout (the repo root) or from an
installed wheel (``benchkit/_builtin``, where the build copies ``tasks/``, ``benchmarks/``, ``templates/``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benchkit.cards.loader import load_suite_card, load_task_card, read_with_extends
from benchkit.cards.schema import SuiteCard, TaskCard
from benchkit.contracts.formats import FORMATS
from benchkit.errors import BenchkitError, Problem, did_you_mean

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def builtin_root() -> Path:
    wheel = PACKAGE_DIR / "_builtin"
    if (wheel / "tasks").is_dir():
        return wheel
    return PACKAGE_DIR.parent  # source checkout or editable install


def card_roots() -> list[Path]:
    candidates = [Path.cwd()]
    candidates += [Path(p) for p in os.environ.get("BENCHKIT_CARD_PATH", "").split(os.pathsep) if p]
    candidates.append(builtin_root())
    roots: list[Path] = []
    for root in candidates:
        root = root.resolve()
        if root not in roots and ((root / "tasks").is_dir() or (root / "benchmarks").is_dir()):
            roots.append(root)
    return roots


def task_ids() -> list[str]:
    ids: dict[str, None] = {}
    for root in card_roots():
        for path in sorted((root / "tasks").glob("*/*.yaml")):
            if not path.name.startswith("_"):
                ids[f"{path.parent.name}/{path.stem}"] = None
    return list(ids)


def suite_ids() -> list[str]:
    ids: dict[str, None] = {}
    for root in card_roots():
        for path in sorted((root / "benchmarks").glob("*.yaml")):
            if not path.name.startswith("_"):
                ids[path.stem] = None
    return list(ids)


def _not_a_directory(ref: str) -> None:
    """A folder given where a card is expected gets its own message, not 'no such card'."""
    if Path(ref).is_dir():
        cards = sorted(p.name for p in Path(ref).glob("*.yaml"))
        hint = f"name a card file inside it, e.g. {cards[0]}" if cards else "name the .yaml file"
        raise BenchkitError(Problem("is a directory, expected a YAML card", file=ref, hint=hint))


def task_path(ref: str) -> Path:
    if ref.endswith((".yaml", ".yml")):
        return Path(ref)
    for root in card_roots():
        path = root / "tasks" / f"{ref}.yaml"
        if path.is_file():
            return path
    if Path(ref).is_file():
        return Path(ref)
    _not_a_directory(ref)
    raise BenchkitError(Problem(f"no task card '{ref}'", hint=did_you_mean(ref, task_ids()) or
                                "run 'benchkit ls' to list tasks, or pass the card's path"))


def suite_path(ref: str) -> Path:
    if ref.endswith((".yaml", ".yml")):
        return Path(ref)
    for root in card_roots():
        path = root / "benchmarks" / f"{ref}.yaml"
        if path.is_file():
            return path
    _not_a_directory(ref)
    raise BenchkitError(Problem(f"no suite card '{ref}'", hint=did_you_mean(ref, suite_ids()) or
                                "run 'benchkit ls' to list suites, or pass the card's path"))


@lru_cache(maxsize=None)
def _task_card(path: Path) -> TaskCard:
    return load_task_card(path)


def load_task(ref: str) -> TaskCard:
    path = task_path(ref).resolve()
    card = _task_card(path)
    if not ref.endswith((".yaml", ".yml")) and card.id != ref:
        raise BenchkitError(Problem(f"card id is '{card.id}', but it was found as '{ref}'", file=str(path), field="id",
                                    hint=f"rename the file to tasks/{card.id}.yaml or fix its id"))
    return card


@dataclass(frozen=True)
class Suite:
    card: SuiteCard
    path: Path
    tasks: tuple[TaskCard, ...]


def suite_data_dir(suite: Suite, data_dir: Path | None) -> Path:
    """The given --data-dir, else the data the suite card ships (``data_dir:``, relative to the card), else -- for a
    suite whose tasks all read the Hub (LEPISZCZE) -- the current folder, where local copies are looked up before
    the Hub is; must exist."""
    directory = data_dir or ((suite.path.parent / suite.card.data_dir).resolve() if suite.card.data_dir else None)
    if directory is None and suite.tasks and not any(FORMATS.get(t.source.format).local for t in suite.tasks):
        return Path.cwd()
    if directory is None:
        raise BenchkitError(Problem(f"suite {suite.card.id} ships no data", field="--data-dir",
                                    hint="pass --data-dir with its files in the official layout"))
    if not directory.is_dir():
        raise BenchkitError(Problem("data directory not found", file=str(directory), field="--data-dir",
                                    hint="pass the folder that holds the task folders"))
    return directory


def shipped_data_dir(task: TaskCard) -> Path | None:
    """The data folder that the task's suite card ships (glue-mini), or None."""
    if task.suite not in suite_ids():
        return None
    suite = load_suite(task.suite)
    return (suite.path.parent / suite.card.data_dir).resolve() if suite.card.data_dir else None


def load_suite(ref: str) -> Suite:
    path = suite_path(ref).resolve()
    card = load_suite_card(path)
    lines = read_with_extends(path).lines
    tasks: list[TaskCard] = []
    problems: list[Problem] = []
    if card.data_dir is not None:
        from benchkit.cards.paths import benchmark_root, leaves_by_name

        root = benchmark_root(path)
        if leaves_by_name(card.data_dir, path.parent, root):  # what it names; a data folder that is a link is followed
            where = lines.get(("data_dir",), (str(path), None))
            raise BenchkitError(Problem(f"data_dir '{card.data_dir}' is outside this benchmark ({root})",
                                        file=where[0], line=where[1], field="data_dir",
                                        hint="ship the data inside the benchmark, e.g. data_dir: ../data/<suite>, or "
                                             "pass --data-dir"))
    for index, pinned in enumerate(card.tasks):
        try:
            task = load_task(pinned.id)
        except BenchkitError as err:
            problems.extend(err.problems)
            continue
        if task.version != pinned.version:
            where = lines.get(("tasks", index, "version"), (str(path), None))
            problems.append(Problem(
                f"suite pins {pinned.id} {pinned.version}, but its card is version {task.version}", file=where[0],
                line=where[1], field=f"tasks[{index}].version",
                hint="pin the card's version in the suite, or restore the pinned card"))
        tasks.append(task)
    if problems:
        raise BenchkitError(*problems)
    return Suite(card, path, tuple(tasks))


def is_suite_ref(ref: str) -> bool:
    """A reference names a suite when it is a suite id or a YAML file holding ``score_rule``."""
    if ref.endswith((".yaml", ".yml")):
        path = Path(ref)
        return path.is_file() and "score_rule:" in path.read_text(encoding="utf-8", errors="replace")
    return "/" not in ref
