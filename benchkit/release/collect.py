"""Read a suite's run records for a release and refuse what must not be mixed.

A release pins one card version and one data hash per split. Records built from different card versions or data
hashes (or from data that no longer matches the files on disk) are refused, naming the versions/hashes and the
record paths, so the user knows which runs to redo or move away.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.errors import BenchkitError, Problem
from benchkit.loading import locate
from benchkit.train.provenance import file_sha256 as sha256_file  # noqa: F401  (re-exported for release modules)
from benchkit.train.records import RECORD_NAME, RunRecord

SHOWN = 3  # record paths listed per group in a refusal


@dataclass(frozen=True)
class DataFileState:
    """A split file as it is on disk now."""

    file: str  # relative to the data folder, posix
    sha256: str


@dataclass(frozen=True)
class Run:
    path: Path  # the record.json
    rel: str  # the record's path relative to the runs folder (posix)
    sha256: str  # of record.json
    record: RunRecord

    @property
    def folder(self) -> Path:
        return self.path.parent

    def predictions(self, key: str) -> Path | None:
        rel = self.record.predictions.get(key)
        return None if rel is None else self.folder / rel


def entry_key(record: RunRecord) -> tuple[str, str, str]:
    """Runs of one leaderboard row share model and method (seeds and tasks vary)."""
    return record.model.name, record.method.name, json.dumps(record.method.options, sort_keys=True)


def current_data(suite: Suite, data_dir: Path) -> dict[str, dict[str, DataFileState | None]]:
    """Task id -> split -> the split file's hash now (None: the file is absent; refused later if a run used it)."""
    out: dict[str, dict[str, DataFileState | None]] = {}
    for card in suite.tasks:
        out[card.id] = {}
        for split in card.splits:
            where = locate(card, split, data_dir)
            if where is None or card.splits[split].hf_split:
                continue
            path = Path(where.location)
            out[card.id][split] = (DataFileState(path.relative_to(data_dir).as_posix(), sha256_file(path))
                                   if path.is_file() else None)
    return out


def _paths(runs: Iterable[Run]) -> str:
    rels = sorted(r.rel for r in runs)
    shown = ", ".join(rels[:SHOWN])
    return shown + (f" and {len(rels) - SHOWN} more" if len(rels) > SHOWN else "")


def _short(digest: str) -> str:
    return digest[:12]


def _groups(runs: Iterable[Run], key: Any) -> dict[Any, list[Run]]:
    out: dict[Any, list[Run]] = {}
    for run in runs:
        out.setdefault(key(run), []).append(run)
    return out


def read_runs(runs_dir: Path) -> list[Run]:
    """Every record.json under the folder; an unreadable one is refused (a release must not silently drop runs)."""
    if not runs_dir.is_dir():
        raise BenchkitError(Problem("runs folder not found", file=str(runs_dir), field="--runs",
                                    hint="pass the --out folder of 'benchkit run' (default: results)"))
    runs: list[Run] = []
    problems: list[Problem] = []
    for path in sorted(runs_dir.rglob(RECORD_NAME)):
        try:
            record = RunRecord.parse(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError) as err:
            first = " ".join(str(err).split())[:200]
            problems.append(Problem(f"unreadable run record: {first}", file=str(path),
                                    hint="restore it, or move it out of --runs"))
            continue
        runs.append(Run(path, path.relative_to(runs_dir).as_posix(), sha256_file(path), record))
    if problems:
        raise BenchkitError(*problems)
    return runs


def collect_runs(runs_dir: Path, suite: Suite, data: dict[str, dict[str, DataFileState | None]]) -> list[Run]:
    """The suite's records under ``runs_dir``, checked for one card version and one data hash per split."""
    everything = read_runs(runs_dir)
    suite_id = suite.card.id
    runs = [r for r in everything if r.record.suite.id == suite_id]
    if not runs:
        others = sorted({r.record.suite.id for r in everything})
        raise BenchkitError(Problem(
            f"no run records of suite {suite_id} under this folder"
            + (f" (found records of {', '.join(others)})" if others else ""), file=str(runs_dir), field="--runs",
            hint=f"run 'benchkit run {suite_id} --out {runs_dir}' first, or pass the folder that holds its records"))

    problems: list[Problem] = []
    cards = {card.id: card for card in suite.tasks}
    for version, group in sorted(_groups(runs, lambda r: r.record.suite.version).items()):
        if version != suite.card.version:
            problems.append(Problem(
                f"{len(group)} record(s) were built from suite card {suite_id} {version}, but the suite card is "
                f"{suite.card.version}: {_paths(group)}", file=str(runs_dir), field="suite.version",
                hint="rerun them with the current suite card, or move them out of --runs"))
    for task_id, group in sorted(_groups(runs, lambda r: r.record.task.id).items()):
        if task_id not in cards:
            problems.append(Problem(f"{len(group)} record(s) of task {task_id}, which suite {suite_id} does not "
                                    f"list: {_paths(group)}", file=str(runs_dir), field="task.id",
                                    hint="move them out of --runs"))
            continue
        versions = _groups(group, lambda r: r.record.task.version)
        if len(versions) > 1:
            problems.append(Problem(
                f"records of {task_id} mix card versions: "
                + "; ".join(f"{v} ({_paths(rs)})" for v, rs in sorted(versions.items())), file=str(runs_dir),
                field="task.version", hint="a release pins one card version: rerun the old runs or move them out"))
        elif next(iter(versions)) != cards[task_id].version:
            problems.append(Problem(
                f"records of {task_id} were built from card version {next(iter(versions))}, but the suite pins "
                f"{cards[task_id].version}: {_paths(group)}", file=str(runs_dir), field="task.version",
                hint="rerun them with the current card"))
        splits = sorted({s for r in group for s in r.record.provenance.data})
        for split in splits:
            hashes = _groups([r for r in group if split in r.record.provenance.data],
                             lambda r, split=split: r.record.provenance.data[split].sha256)
            file = next(iter(hashes.values()))[0].record.provenance.data[split].file
            if len(hashes) > 1:
                problems.append(Problem(
                    f"records of {task_id} were built from different data for split '{split}' ({file}): "
                    + "; ".join(f"sha256 {_short(h)} ({_paths(rs)})" for h, rs in sorted(hashes.items())),
                    file=str(runs_dir), field=f"provenance.data.{split}",
                    hint="a release pins one data hash per split: rerun the runs on the old data or move them out"))
                continue
            now = data.get(task_id, {}).get(split)
            (recorded,) = hashes
            if now is None and split in data.get(task_id, {}):
                problems.append(Problem(
                    f"missing data: split '{split}' of {task_id} ({file}) was used by the runs but is not in the data "
                    f"folder", file=str(runs_dir), field=f"provenance.data.{split}",
                    hint="a release hashes the data its runs used: pass --data-dir with them"))
            elif now is not None and now.sha256 != recorded:
                problems.append(Problem(
                    f"data file {now.file} of {task_id} has sha256 {_short(now.sha256)} now, but the records were "
                    f"built from {_short(recorded)}: {_paths(hashes[recorded])}", file=str(runs_dir),
                    field=f"provenance.data.{split}",
                    hint="restore the data the runs used (e.g. dvc checkout), or rerun the runs on the new data"))
        for model, rs in sorted(_groups(group, lambda r: r.record.model.name).items()):
            weights = _groups(rs, lambda r: r.record.model.sha256)
            if len(weights) > 1:
                problems.append(Problem(
                    f"records of {task_id} use model '{model}' with different weights: "
                    + "; ".join(f"sha256 {_short(h)} ({_paths(x)})" for h, x in sorted(weights.items())),
                    file=str(runs_dir), field="model.sha256",
                    hint="name the models differently, or move the old runs out"))
        for (model, method, _, seed), rs in sorted(
                _groups(group, lambda r: (*entry_key(r.record), r.record.seed)).items()):
            if len(rs) > 1:
                problems.append(Problem(
                    f"{len(rs)} records of {task_id} for model '{model}', method {method}, seed {seed} (different "
                    f"configurations): {_paths(rs)}", file=str(runs_dir), field="seed",
                    hint="keep one run per seed: move the others out of --runs"))
    if problems:
        raise BenchkitError(*problems)
    return sorted(runs, key=lambda r: (r.record.task.id, *entry_key(r.record), r.record.seed))
