"""Run a plan in this process, one run after another: skip what is done, isolate failures, show progress.

A run's record is written atomically after it finishes, so a killed grid leaves finished runs intact and no
half-written record; the interrupted run is simply redone next time.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from benchkit.train.loop import RunSpec, run_one
from benchkit.train.records import RunRecord, iter_records, write_record


@dataclass
class GridResult:
    done: list[tuple[RunSpec, RunRecord]] = field(default_factory=list)
    skipped: list[tuple[RunSpec, Path]] = field(default_factory=list)
    failed: list[tuple[RunSpec, str]] = field(default_factory=list)


class RichProgress:
    """Grid progress (runs) and the current run's steps, epochs and ETA."""

    def __init__(self, total_runs: int):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(), transient=False)
        self.grid = self.bar.add_task("grid", total=total_runs)
        self.steps: int | None = None
        self.label = ""

    def __enter__(self) -> "RichProgress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def run_label(self, label: str) -> None:
        self.label = label

    def start(self, total_steps: int, description: str) -> None:
        if self.steps is not None:
            self.bar.remove_task(self.steps)
        self.steps = self.bar.add_task(f"  {self.label} epoch 0", total=total_steps)

    def advance(self, steps: int, epoch: float) -> None:
        if self.steps is not None:
            self.bar.update(self.steps, advance=steps, description=f"  {self.label} epoch {epoch:.2f}")

    def stop(self) -> None:
        if self.steps is not None:
            self.bar.remove_task(self.steps)
            self.steps = None

    def run_finished(self) -> None:
        self.bar.advance(self.grid)

    def print(self, message: str) -> None:
        self.bar.console.print(message, highlight=False)


class QuietProgress:
    def __init__(self, echo) -> None:  # noqa: ANN001
        self.echo = echo

    def __enter__(self) -> "QuietProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run_label(self, label: str) -> None: ...
    def start(self, total_steps: int, description: str) -> None: ...
    def advance(self, steps: int, epoch: float) -> None: ...
    def stop(self) -> None: ...
    def run_finished(self) -> None: ...

    def print(self, message: str) -> None:
        self.echo(message)


def _label(spec: RunSpec) -> str:
    return f"{spec.card.id} {spec.model.name} {spec.method} seed {spec.seed}"


def execute(plan: list[RunSpec], out: Path, progress: RichProgress | QuietProgress) -> GridResult:
    result = GridResult()
    finished = {record.config_hash: path for path, record in iter_records(out / "runs")}
    with progress:
        for spec in plan:
            label = _label(spec)
            if spec.config_hash in finished:
                result.skipped.append((spec, finished[spec.config_hash]))
                progress.print(f"skip  {label}: done earlier ({finished[spec.config_hash].parent})")
                progress.run_finished()
                continue
            progress.run_label(label)
            spec.folder.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(spec.folder / "run.log", mode="w", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            loggers = [logging.getLogger("benchkit"), logging.getLogger("transformers")]
            for logger in loggers:
                logger.addHandler(handler)
                logger.setLevel(logging.INFO)
            try:
                logging.getLogger("benchkit").info("run %s (config %s)", label, spec.config_hash)
                record = run_one(spec, progress)
                write_record(spec.folder, record)
                result.done.append((spec, record))
                main = record.results[next(iter(record.results))]
                progress.print(f"done  {label}: score {record.score * 100:.2f} "
                               f"({', '.join(f'{k} {v * 100:.2f}' for k, v in main.metrics.items())}), "
                               f"train {record.costs.train_seconds:.0f}s")
            except Exception as err:  # one failing run must not stop the grid
                progress.stop()
                logging.getLogger("benchkit").error("run failed:\n%s", traceback.format_exc())
                message = " ".join(str(err).split()) or type(err).__name__
                result.failed.append((spec, message))
                progress.print(f"FAIL  {label}: {message[:300]} (log: {spec.folder / 'run.log'})")
            finally:
                for logger in loggers:
                    logger.removeHandler(handler)
                handler.close()
                progress.run_finished()
    return result
