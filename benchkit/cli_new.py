"""``benchkit new task FILE... --suite NAME``: a task card inferred from data files, written with a comment on every
guess, then validated against the files."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from benchkit.errors import BenchkitError, Problem

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@click.group("new")
def new_group() -> None:
    """Scaffold cards from data: a task card inferred from its files."""


def _task_name(files: list[Path], given: str | None) -> str:
    name = given or files[0].resolve().parent.name.lower().replace(" ", "-")
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
              help="The suite's data folder, which holds the files' folder (default: data/SUITE, else the folder "
                   "above the files').")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True,
              help="The benchmark's folder (it holds tasks/ and benchmarks/).")
@click.option("--text", "text", multiple=True, help="The text column (twice for a pair); overrides the guess.")
@click.option("--label", help="The label column; overrides the guess.")
@click.option("--type", "task_type", help="The task type; overrides the guess.")
@click.option("--yes", is_flag=True, help="Take every guess without asking (for scripts).")
@click.option("--force", is_flag=True, help="Replace an existing card.")
def new_task(files: tuple[Path, ...], suite: str, task: str | None, language: str | None, data_dir: Path | None,
             root: Path, text: tuple[str, ...], label: str | None, task_type: str | None, yes: bool,
             force: bool) -> None:
    """Infer a task card from its data FILES (train, dev, test by their names): format, delimiter, quoting, header,
    encoding; text, label and id columns; task type, label set, metrics. Prints what it guessed and how sure it is,
    writes tasks/SUITE/TASK.yaml with a comment on every guess, and validates it against the files."""
    from benchkit.scaffold.card_writer import render
    from benchkit.scaffold.infer import infer_card

    paths = [Path(f) for f in files]
    name = _task_name(paths, task)
    if data_dir is None:
        data_dir = root / "data" / suite if (root / "data" / suite).is_dir() else paths[0].resolve().parent.parent
    language = language or _suite_language(root, suite)
    inferred = infer_card(paths, suite, name, data_dir, language=language, text=list(text) or None, label=label,
                          task_type=task_type)
    for line in inferred.report:
        click.echo(f"  {line}")
    unsure = [line for line in inferred.report if "(guess:" in line]
    if unsure and not yes:
        if not sys.stdin.isatty():
            raise BenchkitError(Problem(f"unsure: {unsure[0]}", field="--yes",
                                        hint="confirm the guesses with --yes, or give the column with --text/--label"))
        if not click.confirm("Write the card with these guesses?", default=True):
            raise BenchkitError(Problem("not written", field="--yes", hint="give the columns with --text/--label"))
    target = root / "tasks" / suite / f"{name}.yaml"
    if target.exists() and not force:
        raise BenchkitError(Problem("a card is already there", file=str(target), field="--task",
                                    hint="pass --force to replace it, or --task to name another"))
    header = [f"Inferred by 'benchkit new task' from {', '.join(p.name for p in paths)}. Each guess has a comment: "
              "how sure (certain, likely, guess) and why.",
              "Fill in description, license, citation and homepage; check the label names."]
    from benchkit.atomic import write_atomic

    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, render(inferred.card, inferred.notes, header))
    click.echo(f"wrote {target}")
    from benchkit.cards.loader import load_task_card
    from benchkit.validation.runner import validate_task

    report = validate_task(load_task_card(target), data_dir, strict=True, max_per_check=5)
    splits = ", ".join(f"{s} {report.rows.get(s, state)}" for s, state in report.splits.items())
    click.echo(f"validate {target}: {report.status} ({splits})")
    if report.errors:
        raise BenchkitError(*report.errors)


def _suite_language(root: Path, suite: str) -> str:
    import yaml

    card = root / "benchmarks" / f"{suite}.yaml"
    if card.is_file():
        languages = (yaml.safe_load(card.read_text(encoding="utf-8")) or {}).get("languages") or []
        if languages:
            return str(languages[0])
    raise BenchkitError(Problem(f"no language for suite {suite}", field="--language",
                                hint="pass --language, e.g. --language pol-Latn (or create the suite card first)"))
