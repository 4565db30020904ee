"""Load cards: by id (``glue``, ``glue/sst2``) in the card roots (``cards.roots``), or by path; a suite with its
pinned tasks, and the data folder it reads."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benchkit.cards.loader import load_suite_card, load_task_card, read_with_extends
from benchkit.cards.paths import benchmark_root, leaves_by_name
from benchkit.cards.roots import suite_ids, suite_path, task_path
from benchkit.cards.schema import SuiteCard, TaskCard
from benchkit.contracts.formats import FORMATS
from benchkit.errors import BenchkitError, Problem
from benchkit.scoring.rules import unknown_slots


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
    problems.extend(_rule_problems(card, tasks, path, lines))
    if problems:
        raise BenchkitError(*problems)
    return Suite(card, path, tuple(tasks))


def _rule_problems(card: SuiteCard, tasks: list[TaskCard], path: Path,
                   lines: dict[tuple[str | int, ...], tuple[str, int]]) -> list[Problem]:
    """Each metric of the card's score data that a scored task's card does not report (a named rule is the
    registry's: checked when it was written)."""
    if card.score is None:
        return []
    scored = {t.id for t in card.tasks if t.scored}
    keys = {task.id: [m.key for m in task.metrics] for task in tasks if task.id in scored}
    problems: list[Problem] = []
    for task, slot, loc in unknown_slots(card.rule, keys):
        where = lines.get(("score", *loc), (str(path), None))
        problems.append(Problem(f"the score rule counts metric '{slot}' of {task}, which its card does not report",
                                file=where[0], line=where[1],
                                field="score" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc),
                                hint=f"{task} reports: {', '.join(keys[task])}"))
    return problems


def is_suite_ref(ref: str) -> bool:
    """A reference names a suite when it is a suite id or a YAML file holding ``score_rule``."""
    if ref.endswith((".yaml", ".yml")):
        path = Path(ref)
        return path.is_file() and "score_rule:" in path.read_text(encoding="utf-8", errors="replace")
    return "/" not in ref
