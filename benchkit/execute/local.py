"""Run a plan in this process, one run after another: skip what is done, isolate failures, show progress.

A run's record is written atomically after it finishes, so a killed grid leaves finished runs intact and no
half-written record; the interrupted run resumes from its last checkpoint next time (``train.checkpoints``).
Ctrl-C raises ``RunInterrupted``: the CLI says how to resume and exits 130.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections import deque
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from benchkit.contracts.run_records import RunRecord, iter_records, write_record
from benchkit.train import distributed
from benchkit.train.loop import run_one
from benchkit.train.spec import RunSpec, run_label


def done_line(label: str, record: RunRecord) -> str:
    """The progress line of a finished run (or of a search trial the median rule stopped)."""
    if record.pruned is not None:
        p = record.pruned
        return (f"pruned {label}: {record.primary_metric} {p.value * 100:.2f} on the selection split at evaluation "
                f"{p.evaluation} (epoch {p.epoch:g}), below the median {p.median * 100:.2f} of {p.trials} trial(s)")
    if record.trial is not None and record.selection_score is not None:
        # a search trial shows what the search compares, never the reported split it must not be chosen on
        return (f"done  {label}: trial {record.trial.number}, {record.primary_metric} "
                f"{record.selection_score * 100:.2f} on the selection split, train {record.costs.train_seconds:.0f}s")
    split, main = next(iter(record.results.items()))
    return (f"done  {label}: {split} {record.primary_metric} {main.metrics[record.primary_metric] * 100:.2f}, "
            f"task score {record.score * 100:.2f} ({record.selection_used.label}), "
            f"train {record.costs.train_seconds:.0f}s")


@dataclass
class GridResult:
    done: list[tuple[RunSpec, RunRecord]] = field(default_factory=list)
    skipped: list[tuple[RunSpec, Path]] = field(default_factory=list)
    failed: list[tuple[RunSpec, str]] = field(default_factory=list)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a grid: the CLI prints ``message`` and exits 130; finished runs are kept, the interrupted run
    resumes from its last checkpoint when the same command is run again."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RichProgress:
    """For a terminal: the grid bar (runs) and the current run's steps with epoch and ETA. Descriptions stay short
    and numbers never shrink, so an 80-column terminal shows every task id (printed on its own line) and number."""

    def __init__(self, total_runs: int, console: Any = None):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False,
                            console=console, expand=False)
        self.grid = self.bar.add_task("runs", total=total_runs)
        self.steps: int | None = None
        self.epochs = 0.0

    def __enter__(self) -> "RichProgress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.bar.__exit__(*exc)

    def run_started(self, label: str, epochs: float) -> None:
        self.epochs = epochs
        self.bar.console.print(f"run   {label}", highlight=False, soft_wrap=True)

    def start(self, total_steps: int, description: str) -> None:
        self.stop()
        self.steps = self.bar.add_task(self._epoch(0.0), total=total_steps)

    def _epoch(self, epoch: float) -> str:
        return f"  epoch {epoch:.2f}/{self.epochs:g}"

    def update(self, step: int, epoch: float) -> None:
        if self.steps is not None:
            self.bar.update(self.steps, completed=step, description=self._epoch(epoch))

    def stop(self) -> None:
        if self.steps is not None:
            self.bar.remove_task(self.steps)
            self.steps = None

    def run_finished(self) -> None:
        self.bar.advance(self.grid)

    def print(self, message: str) -> None:
        self.bar.console.print(message, highlight=False, soft_wrap=True)


class LineProgress:
    """For output that is not a terminal (a log file, CI, nohup): plain lines, one per epoch and at least one every
    ``every`` seconds, each with the step, epoch, elapsed time and ETA of the current run."""

    def __init__(self, echo: Callable[[str], None], total_runs: int, every: float = 30.0):
        self.echo = echo
        self.total_runs = total_runs
        self.every = every
        self.done_runs = 0
        self.label = ""
        self.epochs = 0.0
        self.total_steps = 0
        self.started = 0.0
        self.first_step = 0
        self.last_line = 0.0
        self.last_epoch = 0

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run_started(self, label: str, epochs: float) -> None:
        self.label, self.epochs = label, epochs
        self.echo(f"run   {label} (run {self.done_runs + 1} of {self.total_runs})")

    def start(self, total_steps: int, description: str) -> None:
        self.total_steps, self.started, self.last_line = total_steps, time.monotonic(), time.monotonic()
        self.first_step, self.last_epoch = -1, 0

    def update(self, step: int, epoch: float) -> None:
        now = time.monotonic()
        if self.first_step < 0:  # the first update tells where a resumed run starts
            self.first_step, self.last_epoch = step, int(epoch)
            if step:
                self.echo(f"      {self.label}: resumed at step {step}/{self.total_steps}")
            return
        if int(epoch) == self.last_epoch and now - self.last_line < self.every:
            return
        self.last_epoch, self.last_line = int(epoch), now
        elapsed = now - self.started
        rate = (step - self.first_step) / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {_clock((self.total_steps - step) / rate)}" if rate > 0 and step < self.total_steps else ""
        self.echo(f"      {self.label}: step {step}/{self.total_steps}, epoch {epoch:.2f}/{self.epochs:g}, "
                  f"{_clock(elapsed)} elapsed{eta}")

    def stop(self) -> None: ...

    def run_finished(self) -> None:
        self.done_runs += 1

    def print(self, message: str) -> None:
        self.echo(message)


class QuietProgress:
    """``--quiet``: one line per run (done, skipped, failed), nothing in between."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo

    def __enter__(self) -> "QuietProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run_started(self, label: str, epochs: float) -> None: ...
    def start(self, total_steps: int, description: str) -> None: ...
    def update(self, step: int, epoch: float) -> None: ...
    def stop(self) -> None: ...
    def run_finished(self) -> None: ...

    def print(self, message: str) -> None:
        self.echo(message)


GridProgress = RichProgress | LineProgress | QuietProgress


def progress_for(total_runs: int, quiet: bool, echo: Callable[[str], None]) -> GridProgress:
    """Quiet when asked; live bars on a terminal; plain lines when the output goes to a file or a pipe."""
    if quiet:
        return QuietProgress(echo)
    return RichProgress(total_runs) if sys.stdout.isatty() else LineProgress(echo, total_runs)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@contextmanager
def run_log(folder: Path, append: bool = False) -> Iterator[None]:
    """While a run (or an evaluation) works in ``folder``, benchkit's and transformers' log lines go to its
    ``run.log`` (appended to when the run resumes)."""
    handler = logging.FileHandler(folder / "run.log", mode="a" if append else "w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger("benchkit"), logging.getLogger("transformers")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()


def execute(plan: list[RunSpec], out: Path, progress: GridProgress) -> GridResult:
    """Run ``plan`` one run after another. Each run is claimed first (``execute.claims``): a run another command
    holds is put off until the others are done, then waited for (its record counts as skipped), so two commands on
    one folder share the grid and never train one configuration twice."""
    from benchkit.execute.claims import Waits

    result = GridResult()
    finished = {record.config_hash: path for path, record in iter_records(out / "runs")}
    waits = Waits()
    queue = deque(plan)
    with progress:
        while queue:
            spec = queue.popleft()
            label = run_label(spec)
            if spec.config_hash in finished:
                result.skipped.append((spec, finished[spec.config_hash]))
                progress.print(f"skip  {label}: done earlier ({finished[spec.config_hash].parent})")
                progress.run_finished()
                continue
            if not waits.due(spec.config_hash):
                queue.append(spec)
                if not any(waits.due(s.config_hash) for s in queue):
                    _pause(waits, queue, result, len(plan))
                continue
            # of a run's data-parallel processes, the launching command holds the claims (claims_held_by_parent)
            claim, held = claim_turn(spec, label, waits, result, progress)
            if claim is None:
                if held:
                    queue.append(spec)
                continue
            with claim:
                _train(spec, label, progress, result, len(plan))
    order = {spec.config_hash: i for i, spec in enumerate(plan)}
    result.done.sort(key=lambda item: order[item[0].config_hash])
    return result


def claim_turn(spec: RunSpec, label: str, waits: Any, result: GridResult, progress: GridProgress) -> tuple[Any, bool]:
    """This command's turn at ``spec``, for every executor: (its claim, False) to train it now; (None, False) when
    another command already wrote its record (counted as skipped); (None, True) when another command holds it
    (queue it again: it is waited for once nothing else is left to start)."""
    from benchkit.execute.claims import take_turn

    turn = take_turn(spec.folder, spec.config_hash, "trial" in spec.extra)
    if turn.record is not None:
        waits.done(spec.config_hash)
        result.skipped.append((spec, turn.record))
        progress.print(f"skip  {label}: done by another command ({turn.record.parent})")
        progress.run_finished()
        return None, False
    if turn.claim is None:
        assert turn.holder is not None
        waits.hold(spec.config_hash, turn.holder, label, progress.print)
        return None, True
    waits.done(spec.config_hash)
    return turn.claim, False


def _pause(waits: Any, queue: deque[RunSpec], result: GridResult, total: int) -> None:
    try:
        waits.pause(s.config_hash for s in queue)
    except KeyboardInterrupt:
        raise RunInterrupted(f"interrupted while waiting for runs other commands hold ({len(result.done)} run(s) "
                             f"finished and kept, {total - len(result.done) - len(result.skipped)} left)") from None


def _train(spec: RunSpec, label: str, progress: GridProgress, result: GridResult, total: int) -> None:
    progress.run_started(label, spec.recipe.epochs)
    spec.folder.mkdir(parents=True, exist_ok=True)
    resuming = (spec.folder / "checkpoints").is_dir()
    main = distributed.is_main()  # of a run's data-parallel processes, only the main one writes
    with run_log(spec.folder, append=resuming) if main else nullcontext():
        try:
            logging.getLogger("benchkit").info("run %s (config %s)", label, spec.config_hash)
            record = run_one(spec, progress)
            if main:
                write_record(spec.folder, record)
            result.done.append((spec, record))
            progress.print(done_line(label, record))
        except KeyboardInterrupt:
            progress.stop()
            logging.getLogger("benchkit").warning("interrupted by the user")
            raise RunInterrupted(f"interrupted during {label} ({len(result.done)} run(s) finished and kept, "
                                 f"{total - len(result.done) - len(result.skipped)} left)") from None
        except Exception as err:  # one failing run must not stop the grid
            progress.stop()
            logging.getLogger("benchkit").error("run failed:\n%s", traceback.format_exc())
            message = " ".join(str(err).split()) or type(err).__name__
            result.failed.append((spec, message))
            progress.print(f"FAIL  {label}: {message[:300]} (log: {spec.folder / 'run.log'})")
            progress.run_finished()
        else:
            progress.run_finished()
