"""Scaffolding a benchmark: ``benchkit new suite NAME --language LANG`` (the suite card, its task and data folders, git
and DVC where missing), and ``benchkit new task FILE... --suite NAME`` (a task card inferred from data files, written
with a comment on every guess, validated against the files and added to the suite card)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from benchkit.errors import BenchkitError, Problem

if TYPE_CHECKING:
    from benchkit.scaffold.infer import Inferred
    from benchkit.scaffold.place import Placement
    from benchkit.validation.runner import TaskReport

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@click.group("new")
def new_group() -> None:
    """Scaffold a benchmark: a suite, then a task card inferred from each task's data files."""


SUITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _git_top(root: Path) -> Path | None:
    import subprocess

    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True)
    except FileNotFoundError:
        raise BenchkitError(Problem("git is not installed", field="new suite",
                                    hint="install git (the benchmark is versioned with git and DVC)")) from None
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def _run(command: list[str], cwd: Path) -> None:
    import subprocess

    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchkitError(Problem(f"'{' '.join(command[:3])}' failed: {(done.stderr or done.stdout).strip()[:200]}",
                                    file=str(cwd), hint="run it by hand to see why"))


@new_group.command("suite")
@click.argument("name")
@click.option("--language", "languages", multiple=True, required=True,
              help="ISO 639-3 code with script, e.g. pol-Latn; repeatable.")
@click.option("--title", help="The suite's display name (default: NAME).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True,
              help="The benchmark's folder (created if missing).")
@click.option("--yes", is_flag=True, help="Add to an existing git repository without asking (for scripts).")
def new_suite(name: str, languages: tuple[str, ...], title: str | None, root: Path, yes: bool) -> None:
    """Create benchmark NAME: benchmarks/NAME.yaml, tasks/NAME/ and data/NAME/, in a git repository with DVC
    (initialised where missing; an existing repository is changed only after you confirm, or with --yes)."""
    import sys as _sys

    from benchkit.atomic import write_atomic
    from benchkit.cards.loader import load_suite_card
    from benchkit.scoring.rules import MEAN_LABEL

    if not SUITE_NAME.match(name):
        raise BenchkitError(Problem(f"'{name}' is not a suite name", field="NAME",
                                    hint="lower-case letters, digits, '-', '_' and '.', e.g. polski"))
    card_path = root / "benchmarks" / f"{name}.yaml"
    if card_path.exists():
        raise BenchkitError(Problem("the suite already exists", file=str(card_path), field="NAME",
                                    hint="add tasks with: benchkit new task FILE... --suite " + name))
    root.mkdir(parents=True, exist_ok=True)
    top = _git_top(root)
    if top is not None and not yes:
        if not _sys.stdin.isatty():
            raise BenchkitError(Problem(f"{root.resolve()} is inside the git repository {top}", field="--yes",
                                        hint="pass --yes to add the suite to it, or choose another --root"))
        if not click.confirm(f"Add suite {name} to the git repository at {top}?", default=False):
            raise BenchkitError(Problem("nothing changed", field="--yes", hint="choose another --root"))
    if top is None:
        _run(["git", "init", "-q"], root)
        top = root.resolve()
        click.echo(f"git: initialised {top}")
    if not (top / ".dvc").is_dir():
        _run([_sys.executable, "-m", "dvc", "init", "-q"], top)
        click.echo(f"dvc: initialised {top / '.dvc'}")
    _ignore_outputs(root)
    (root / "tasks" / name).mkdir(parents=True, exist_ok=True)
    data = root / "data" / name
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "README.md").exists():
        write_atomic(data / "README.md", f"# Data of {name}\n\nOne folder per task, with its split files named "
                                         "train.*, dev.* (or valid.*) and test.*, in their official format. Then:\n\n"
                                         f"    benchkit new task data/{name}/<task>/train.tsv ... --suite {name}\n"
                                         f"    dvc add data/{name}\n")
    recipe = "{learning_rate: 2.0e-5, batch_size: 32, epochs: 3, max_length: 128, warmup_ratio: 0.1, weight_decay: 0.01}"
    write_atomic(card_path, "\n".join([
        f"# Created by 'benchkit new suite'. Tasks are added by 'benchkit new task FILE... --suite {name}'.",
        f"id: {name}", "version: 0.1.0", f"name: {json.dumps(title or name, ensure_ascii=False)}",
        f"description: {json.dumps(f'{title or name}: describe the benchmark, its tasks and its sources.', ensure_ascii=False)}",
        f"languages: [{', '.join(languages)}]", "tasks: []",
        "# The suite score, as data (benchkit/scoring/rules.py): the unweighted mean over the scored tasks",
        "# (scored: false leaves one out) of each task's score, the mean of its card's score_metrics. To pin",
        "# what counts, name the rule (score_rule: <name>) and list each task with its metrics under",
        "# score.tasks, e.g. <suite>/<task>: [accuracy].",
        "score_rule: mean", "score:", f"  label: {MEAN_LABEL}", f"data_dir: ../data/{name}",
        "# Hyperparameters of the baselines (models and --set override them).", f"recipe: {recipe}", ""]))
    load_suite_card(card_path)  # what it wrote validates
    click.echo(f"wrote {card_path}, {root / 'tasks' / name}/, {data}/")
    click.echo(f"next: put each task's files in {data}/<task>/ and run benchkit new task {data}/<task>/train.<ext> "
               f"... --suite {name}")


# What `benchkit run`, `release`, `search` and the DVC pipeline write under a benchmark's root: outputs, not sources
# (DVC tracks releases/ as a stage output), so `git add .` of the walkthrough must not commit them.
OUTPUT_FOLDERS = ("/results/", "/releases/", "/records/", "/prepared/")


def _ignore_outputs(root: Path) -> None:
    """Add the output folders to root/.gitignore (created if missing; lines already there are kept)."""
    from benchkit.atomic import write_atomic

    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    missing = [line for line in OUTPUT_FOLDERS if line not in text.splitlines()]
    if missing:
        head = text + ("\n" if text and not text.endswith("\n") else "")
        write_atomic(path, head + "# outputs of benchkit run, release and search, and of the DVC pipeline\n"
                     + "".join(f"{line}\n" for line in missing))


def _task_name(files: list[Path], given: str | None) -> str:
    # the folder the file is in as named (a DVC-tracked file is a link into .dvc/cache/files/md5/<xx>/)
    name = given or files[0].absolute().parent.name.lower().replace(" ", "-")
    if not TASK_NAME.match(name):
        raise BenchkitError(Problem(f"'{name}' is not a task name", field="--task",
                                    hint="lower-case letters, digits, '-' and '_', e.g. --task sentiment"))
    return name


@new_group.command("task")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--suite", required=True, help="The suite the task belongs to (its cards go to tasks/SUITE/).")
@click.option("--task", "task", help="The task's name (default: the files' folder, lower-cased).")
@click.option("--language", help="ISO 639-3 code with script, e.g. pol-Latn (default: the suite card's first).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The suite's data folder (default: data/SUITE, else the folder above the files'). Files "
                   "elsewhere are copied to DATA_DIR/TASK/.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True,
              help="The benchmark's folder (it holds tasks/ and benchmarks/).")
@click.option("--text", "text", multiple=True, help="The text column (twice for a pair); overrides the guess.")
@click.option("--label", help="The label column; overrides the guess.")
@click.option("--type", "task_type", help="The task type; overrides the guess.")
@click.option("--yes", is_flag=True, help="Take every guess without asking (for scripts).")
@click.option("--force", is_flag=True, help="Replace an existing card (and a different file where one is copied).")
def new_task(files: tuple[Path, ...], suite: str, task: str | None, language: str | None, data_dir: Path | None,
             root: Path, text: tuple[str, ...], label: str | None, task_type: str | None, yes: bool,
             force: bool) -> None:
    """Infer a task card from its data FILES (train, dev, test by their names; dev or test alone: an
    evaluation-only task): format, delimiter, quoting, header, encoding; text, label and id columns; task type, label
    set, metrics. Files outside the suite's data folder are copied into DATA_DIR/TASK/ (and tracked with DVC in a DVC
    repository). Prints what it guessed and how sure it is, validates the card against the files, and only then
    writes tasks/SUITE/TASK.yaml with a comment on every guess and adds it to the suite card."""
    from benchkit.scaffold import place
    from benchkit.scaffold.infer import infer_card

    paths = [Path(f) for f in files]
    name = _task_name(paths, task)
    if data_dir is None:
        data_dir = root / "data" / suite if (root / "data" / suite).is_dir() else paths[0].absolute().parent.parent
    language = language or _suite_language(root, suite)
    target = root / "tasks" / suite / f"{name}.yaml"
    if target.exists() and not force:
        raise BenchkitError(Problem("a card is already there", file=str(target), field="--task",
                                    hint="pass --force to replace it, or --task to name another"))
    placement = place.plan(paths, data_dir, name, force)
    inferred = infer_card(paths, suite, name, data_dir, language=language, text=list(text) or None, label=label,
                          task_type=task_type, source_dir=placement.source_dir)
    with place.staged(paths, placement) as staged_data:
        status = _checked(inferred, paths, staged_data, placement)
    for line in inferred.report:
        click.echo(f"  {line}")
    unsure = [line for line in inferred.report if "(guess:" in line]
    if unsure and not yes:
        if not sys.stdin.isatty():
            raise BenchkitError(Problem(f"unsure: {unsure[0]}", field="--yes",
                                        hint="confirm the guesses with --yes, or give the column with --text/--label"))
        if not click.confirm("Write the card with these guesses?", default=True):
            raise BenchkitError(Problem("not written", field="--yes", hint="give the columns with --text/--label"))
    from benchkit.atomic import write_atomic
    from benchkit.scaffold.card_writer import render

    place.copy_in(placement, click.echo)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, render(inferred.card, inferred.notes, _header(paths)))
    click.echo(f"wrote {target}")
    _add_to_suite(root, suite, f"{suite}/{name}")
    place.track(placement, root, click.echo)
    click.echo(f"validate {target}: {status}")


def _header(paths: list[Path]) -> list[str]:
    return [(f"Inferred by 'benchkit new task' from {', '.join(p.name for p in paths)}. Each guess has a comment: "
             "how sure (certain, likely, guess) and why."),
            "Fill in description, license, citation and homepage; check the label names."]


def _validate(inferred: Inferred, paths: list[Path], data_dir: Path) -> TaskReport:
    """The inferred card, as it will be written, validated against the files (in a temporary folder)."""
    import tempfile

    from benchkit.cards.loader import load_task_card
    from benchkit.scaffold.card_writer import render
    from benchkit.validation.runner import validate_task

    with tempfile.TemporaryDirectory(prefix="benchkit-card-") as tmp:
        card_path = Path(tmp) / "tasks" / inferred.card["id"].split("/")[0] / (inferred.card["id"].split("/")[1]
                                                                                + ".yaml")
        card_path.parent.mkdir(parents=True)
        card_path.write_text(render(inferred.card, inferred.notes, _header(paths)), encoding="utf-8")
        return validate_task(load_task_card(card_path), data_dir, strict=True, max_per_check=5)


def _checked(inferred: Inferred, paths: list[Path], data_dir: Path, placement: Placement) -> str:
    """Validate before anything is written. Inputs the given files share across splits (the official files' own
    overlap: a carve never makes one) become ``checks.leakage: warning``, a guess to confirm; any other problem
    refuses the card (exit 2, nothing written). Returns the status line."""
    report = _validate(inferred, paths, data_dir)
    leaks = [p for p in report.errors if p.message.startswith(("leakage:", "... and"))]
    if leaks and len(leaks) == len(report.errors):
        inferred.card["checks"] = {"leakage": "warning"}
        shown = len([p for p in leaks if p.message.startswith("leakage:")])
        inferred.notes[("checks", "leakage")] = (f"guess: the given files share inputs across splits ({shown}+ "
                                                 "rows); kept as published and reported as warnings; remove them "
                                                 "from one split, or keep this if the benchmark keeps them")
        first = _at_place(leaks[0], data_dir, placement, paths)
        inferred.report.append("checks.leakage: warning (guess: the given files share inputs across splits, e.g. "
                               f"{first.file}:{first.line}; kept as published, reported as warnings)")
        report = _validate(inferred, paths, data_dir)
    if report.errors:
        raise BenchkitError(*[_at_place(p, data_dir, placement, paths) for p in report.errors])
    splits = ", ".join(f"{s} {report.rows.get(s, state)}" for s, state in report.splits.items())
    return f"{report.status} ({splits})"


def _at_place(problem: Problem, staged_data: Path, placement: Placement, paths: list[Path]) -> Problem:
    """A problem found in the staged copy, naming the given file instead."""
    import dataclasses

    for path in paths:
        if problem.file == str(staged_data / placement.source_dir / path.name):
            return dataclasses.replace(problem, file=str(path))
    return problem


def _suite_language(root: Path, suite: str) -> str:
    import yaml

    card = root / "benchmarks" / f"{suite}.yaml"
    if card.is_file():
        languages = (yaml.safe_load(card.read_text(encoding="utf-8")) or {}).get("languages") or []
        if languages:
            return str(languages[0])
    raise BenchkitError(Problem(f"no language for suite {suite}", field="--language",
                                hint="pass --language, e.g. --language pol-Latn (or create the suite card first)"))


def _add_to_suite(root: Path, suite: str, task_id: str) -> None:
    """List the task in the suite card (a line appended to its tasks, the rest of the file as written)."""
    from benchkit.atomic import write_atomic
    from benchkit.cards.loader import load_suite_card

    path = root / "benchmarks" / f"{suite}.yaml"
    if not path.is_file():
        return
    card = load_suite_card(path)
    if any(t.id == task_id for t in card.tasks):
        return
    entry = f"{{id: {task_id}, version: 0.1.0}}"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("tasks:"))
    if lines[at].strip() == "tasks: []":
        lines[at:at + 1] = ["tasks:", f"  - {entry}"]
    else:
        end = at + 1
        while end < len(lines) and (lines[end].startswith((" ", "-")) or not lines[end].strip()):
            end += 1
        lines.insert(end, f"  - {entry}")
    write_atomic(path, "\n".join(lines) + "\n")
    load_suite_card(path)
    click.echo(f"added {task_id} to {path}")
