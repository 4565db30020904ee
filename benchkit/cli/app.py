"""The ``benchkit`` command group and what every command shares: one line per user error and exit code 2, the
``--data-dir`` option. Click only: heavy imports happen inside the commands, so ``benchkit --help`` starts without
torch, transformers, datasets or dvc."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from benchkit import __version__
from benchkit.errors import BenchkitError, Problem

F = TypeVar("F", bound=Callable[..., Any])


def print_problem(problem: Problem) -> None:
    click.echo(f"{problem.severity}: {problem.format()}", err=True)


class Cli(click.Group):
    """Turns user errors into one line each on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchkitError as err:
            for problem in err.problems:
                print_problem(problem)
            ctx.exit(2)
        except KeyboardInterrupt as err:  # Ctrl-C: exit 130 (128 + SIGINT) as shells expect
            # Only an interrupted grid (execute.local.RunInterrupted, which carries a message) keeps work a rerun
            # resumes; anything else (score, validate, ...) has nothing to resume.
            what = getattr(err, "message", None)
            click.echo(f"{what}; rerun the same command to resume" if what else "interrupted", err=True)
            ctx.exit(130)
        except (OSError, UnicodeError) as err:  # e.g. permission denied on a data file
            if os.environ.get("BENCHKIT_DEBUG"):
                raise
            click.echo(f"error: {err} (hint: check the path and its permissions)", err=True)
            ctx.exit(2)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="benchkit")
def main() -> None:
    """benchkit: build, version and run NLU benchmarks from declarative task and suite cards."""


DATA_DIR = click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                        help="Folder with the suite's data files, laid out as in the official download "
                             "(default: the data the suite card ships, if any).")


def grid_target(models_help: str, tasks_help: str) -> Callable[[F], F]:
    """TARGET (a suite or one task), ``--model`` and ``--task``: what ``benchkit run`` and ``benchkit search`` train
    (``execute.runs.resolve_run_inputs`` reads them), each command with its own help."""

    def decorate(command: F) -> F:
        command = click.option("--task", "only_tasks", multiple=True, help=tasks_help)(command)
        command = click.option("--model", "models", multiple=True, help=models_help)(command)
        return click.argument("target", required=False)(command)

    return decorate


def check_data_dir(data_dir: Path | None) -> None:
    """A --data-dir that does not exist is an error (validate, show, score: the same message)."""
    if data_dir is not None and not data_dir.is_dir():
        raise BenchkitError(Problem("data directory not found", file=str(data_dir),
                                    hint="pass the folder that holds the task folders (e.g. CoLA/, SST-2/)"))
