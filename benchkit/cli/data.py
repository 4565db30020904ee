"""``benchkit ls``, ``show`` and ``validate``: the catalog, one task's data, the data checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from benchkit.cli.app import DATA_DIR, check_data_dir, main, print_problem


@main.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_command(as_json: bool) -> None:
    """List the suites and tasks that benchkit can find."""
    from benchkit.cards import catalog, roots

    suites = []
    for suite_id in roots.suite_ids():
        suite = catalog.load_suite(suite_id)
        suites.append({"id": suite.card.id, "version": suite.card.version, "name": suite.card.name,
                       "score_rule": suite.card.score_rule, "tasks": [t.id for t in suite.tasks],
                       "path": str(suite.path)})
    tasks = []
    for task_id in roots.task_ids():
        card = catalog.load_task(task_id)
        tasks.append({"id": card.id, "version": card.version, "type": card.type, "language": card.language,
                      "splits": list(card.splits), "metrics": [m.key for m in card.metrics],
                      "primary_metric": card.primary_metric})
    if as_json:
        click.echo(json.dumps({"suites": suites, "tasks": tasks}, indent=2))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Column, Table

    # Readable at 80 columns: ids, versions, types and rules never wrap or get cut (light borders and one space of
    # padding leave them room); names and splits wrap, metrics one per line at most, a longer word folds.
    def column(header: str, wrap: bool = False, max_width: int | None = None) -> Column:
        return Column(header, no_wrap=not wrap, overflow="fold", max_width=max_width)

    style: dict[str, Any] = {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False, "padding": (0, 0, 0, 0),
                             "title_justify": "left"}
    console = Console()
    table = Table(column("suite"), column("version"), column("name", wrap=True), column("score rule"),
                  column("tasks"), title="Suites", **style)
    for s in suites:
        table.add_row(s["id"], s["version"], s["name"], s["score_rule"], str(len(s["tasks"])))
    console.print(table)
    # One table per language (in its title, not a column), and the primary metric only: at 80 columns the room goes
    # to whole ids and types. `benchkit show TASK` (and --json here) list every split and metric.
    for language in sorted({t["language"] for t in tasks}):
        group = [t for t in tasks if t["language"] == language]
        table = Table(column("task"), column("version"), column("type"), column("primary metric", wrap=True),
                      title=f"Tasks (language {language})", **style)
        for t in group:
            table.add_row(t["id"], t["version"], t["type"], t["primary_metric"])
        console.print(table)


@main.command("show")
@click.argument("task")
@DATA_DIR
@click.option("--model", default=None, help="Also report example lengths in this model's tokens (alias, Hub id or "
                                            "folder) and how many exceed its window.")
@click.option("--max-length", type=click.IntRange(min=8), default=None,
              help="The window for --model (default: the suite recipe's max_length).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(task: str, data_dir: Path | None, model: str | None, max_length: int | None, as_json: bool) -> None:
    """Show a task's card, splits, row counts and label distribution."""
    from benchkit.cards import catalog, roots
    from benchkit.describe import describe_with_frames
    from benchkit.validation.frames import load_frames

    check_data_dir(data_dir)
    card = catalog.load_task(task)
    tokenizer, window, stride = None, 0, 0
    if model is not None:
        from transformers import AutoTokenizer

        from benchkit.contracts.recipe import Recipe
        from benchkit.train.models import resolve_model

        suite = catalog.load_suite(card.suite) if card.suite in roots.suite_ids() else None
        recipe = suite.card.recipe if suite else {}
        window = max_length or int(recipe.get("max_length", Recipe().max_length))
        stride = int(recipe.get("window_stride", Recipe().window_stride))
        stride = stride if stride < window - 2 else (window - 2) // 4  # a --max-length below the suite's stride
        tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(model).path))
    info, frames = describe_with_frames(card, data_dir or catalog.shipped_data_dir(card), load_frames)
    if model is not None:
        from benchkit.train.lengths import describe_lengths

        if frames:  # each split's lengths in the model's tokens, against its window
            info["lengths"] = describe_lengths(card, frames, tokenizer, window, stride)
        info.update(model=model, window=window)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    from benchkit.describe import render_task

    render_task(info)
    if info["data_dir"] is None:  # the card alone: say what rows and label counts need
        example = next((Path("DIR", card.source.dir, s.file).as_posix() for s in card.splits.values() if s.file), None)
        click.echo("rows and label distribution need the data: pass --data-dir DIR"
                   + (f", the folder of the official files (e.g. {example})" if example else ""))


@main.command("validate")
@click.argument("target")
@DATA_DIR
@click.option("--strict", is_flag=True, help="Treat missing data files as errors.")
@click.option("--max-per-check", default=20, show_default=True, help="Rows listed per failing check and file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_command(target: str, data_dir: Path | None, strict: bool, max_per_check: int, as_json: bool) -> None:
    """Check a suite or task card, and with --data-dir its data files.

    TARGET is a suite id (glue), a task id (glue/sst2) or a card's path. Exit code 0 when clean
    (warnings allowed), 2 when any error is found.
    """
    from benchkit.cards import catalog
    from benchkit.validation.runner import validate_task, wrong_folder
    from benchkit.validation.suite_checks import evaluator_labels, unread_keys

    check_data_dir(data_dir)
    suite = catalog.load_suite(target) if catalog.is_suite_ref(target) else None
    cards = list(suite.tasks) if suite is not None else [catalog.load_task(target)]
    if data_dir is None and cards:  # a suite that ships its data (glue-mini) is checked with it
        data_dir = catalog.shipped_data_dir(cards[0])
    reports = [validate_task(card, data_dir, strict=strict, max_per_check=max_per_check) for card in cards]
    # Across the suite's cards: evaluators' label orders; keys of a shared JSON file (AdvGLUE's dev.json) none reads.
    across = [] if suite is None else evaluator_labels(suite) + (unread_keys(suite, data_dir) if data_dir else [])
    nothing = wrong_folder(cards, reports, data_dir) if data_dir else None  # not one split found: a wrong folder
    across += [nothing] if nothing else []
    errors = sum(len(r.errors) for r in reports) + sum(p.severity == "error" for p in across)
    warnings = sum(len(r.problems) - len(r.errors) for r in reports) + sum(p.severity != "error" for p in across)
    if as_json:
        click.echo(json.dumps({"target": target, "data_dir": str(data_dir) if data_dir else None, "errors": errors,
                               "warnings": warnings, "tasks": [
                                   {"task": r.task, "status": r.status, "splits": r.splits, "rows": r.rows,
                                    "problems": [{"severity": p.severity, "message": p.format()} for p in r.problems]}
                                   for r in reports],
                               "suite_problems": [{"severity": p.severity, "message": p.format()} for p in across]},
                              indent=2))
    else:
        for report in reports:
            splits = ", ".join(f"{s} {report.rows[s]}" if s in report.rows else f"{s} {state}"
                               for s, state in report.splits.items())
            click.echo(f"{report.task:<16} {report.status:<13} {splits}")
        for report in reports:
            for problem in report.problems:
                print_problem(problem)
        for problem in across:
            print_problem(problem)
        scope = "cards and data" if data_dir else "cards only (pass --data-dir to check the data)"
        click.echo(f"checked {len(reports)} task(s), {scope}: {errors} error(s), {warnings} warning(s)")
    if errors:
        sys.exit(2)
