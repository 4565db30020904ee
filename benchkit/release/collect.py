"""Read a suite's run records for a release and refuse what must not be mixed.

A release pins one card version and one data hash per split. Records built from different card versions or data
hashes (or from data that no longer matches the files on disk), or from other card content at the same version
(an edited label map, inputs template, split, metric: ``provenance.card``), are refused, naming the versions/hashes
or the changed card field and the record paths, so the user knows which runs to redo or move away.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.cards.identity import card_fields, changed_card_fields
from benchkit.cards.schema import TaskCard
from benchkit.contracts.run_records import RECORD_NAME, RunRecord
from benchkit.errors import BenchkitError, Problem
from benchkit.files import file_sha256
from benchkit.loading import locate, split_identity

SHOWN = 3  # record paths listed per group in a refusal
RELEASE_MARKER = "manifest.json"  # a folder holding one is a release: its copies of records are not runs


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
            if where is None:
                continue
            if where.hub:
                name, digest = split_identity(card, where, data_dir)
                out[card.id][split] = DataFileState(name, digest)
                continue
            path = Path(where.location)
            out[card.id][split] = (DataFileState(path.relative_to(data_dir).as_posix(), file_sha256(path))
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


def _record_paths(runs_dir: Path) -> list[Path]:
    """record.json files under the folder, except the copies inside releases (``<runs>/releases`` by default) and
    inside releases being built (``.<version>.*.building``): a release must not feed the next one."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(runs_dir):
        if RELEASE_MARKER in files and Path(folder) != runs_dir:
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if not d.endswith(".building"))
        if RECORD_NAME in files:
            found.append(Path(folder) / RECORD_NAME)
    return sorted(found)


def read_runs(runs_dir: Path) -> list[Run]:
    """Every record.json under the folder; an unreadable one is refused (a release must not silently drop runs)."""
    if not runs_dir.is_dir():
        raise BenchkitError(Problem("runs folder not found", file=str(runs_dir), field="--runs",
                                    hint="pass the --out folder of 'benchkit run' (default: results)"))
    runs: list[Run] = []
    problems: list[Problem] = []
    for path in _record_paths(runs_dir):
        try:
            record = RunRecord.parse(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError) as err:
            first = " ".join(str(err).split())[:200]
            problems.append(Problem(f"unreadable run record: {first}", file=str(path),
                                    hint="restore it, or move it out of --runs"))
            continue
        runs.append(Run(path, path.relative_to(runs_dir).as_posix(), file_sha256(path), record))
    if problems:
        raise BenchkitError(*problems)
    return runs


def value_text(value: Any) -> str:
    """A recipe value as written on the command line (``--where``, ``--set``)."""
    return value if isinstance(value, str) else json.dumps(value)


def parse_where(pairs: Iterable[str]) -> dict[str, Any]:
    """``key=value`` filters on the records' effective recipe; values as JSON where they parse (1, 1e-05, true),
    else as text (last)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise BenchkitError(Problem(f"expected key=value, got '{pair}'", field="--where",
                                        hint="e.g. --where epochs=3"))
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = text
    return out


def _filter(runs: list[Run], runs_dir: Path, configs: frozenset[str] | None,
            where: Mapping[str, Any]) -> tuple[list[Run], str, str]:
    """The runs the caller asked for, a phrase saying which and, for ``where``, the values the records have (both
    for the 'no records' refusal)."""
    from benchkit.errors import did_you_mean

    said = have = ""
    if configs is not None:
        runs = [r for r in runs if r.record.config_hash in configs]
        said += f" among the {len(configs)} planned configuration(s)"
    if where:
        keys = {k for r in runs for k in r.record.recipe}
        for key in where:
            if runs and key not in keys:
                raise BenchkitError(Problem(f"no record has the recipe field '{key}'", file=str(runs_dir),
                                            field="--where", hint=did_you_mean(key, keys) or
                                            f"fields: {', '.join(sorted(keys))}"))
        have = "; ".join(f"{k}: " + ", ".join(value_text(v) for v in _distinct_values(
            [r.record.recipe[k] for r in runs if k in r.record.recipe])) for k in where)
        runs = [r for r in runs if all(k in r.record.recipe and r.record.recipe[k] == v for k, v in where.items())]
        said += " with recipe " + ", ".join(f"{k}={value_text(v)}" for k, v in where.items())
    return runs, said, have


def _recipe_difference(runs: list[Run]) -> list[str]:
    keys = sorted({k for r in runs for k in r.record.recipe})
    return [k for k in keys if len({json.dumps(r.record.recipe.get(k), sort_keys=True) for r in runs}) > 1]


def _duplicates(task_id: str, model: str, method: str, seed: int, runs: list[Run], runs_dir: Path) -> Problem:
    """Two configurations of one seed: name the recipe fields that differ and an option that picks one of them."""
    runs = sorted(runs, key=lambda r: r.rel)
    keys = _recipe_difference(runs)
    head = f"{len(runs)} records of {task_id} for model '{model}', method {method}, seed {seed}"
    if not keys:
        return Problem(f"{head} with the same recipe but different configurations (other inputs, e.g. the tokenizer, "
                       f"differ): {_paths(runs)}", file=str(runs_dir), field="config_hash",
                       hint="pass --runs a folder that holds one configuration")
    shown = "; ".join(", ".join(f"{k}={value_text(r.record.recipe.get(k))}" for k in keys) + f" ({r.rel})"
                      for r in runs[:SHOWN])
    more = f" and {len(runs) - SHOWN} more" if len(runs) > SHOWN else ""
    options = " or ".join(f"--where {keys[0]}={value_text(v)}"
                          for v in _distinct_values([r.record.recipe.get(keys[0]) for r in runs]))
    return Problem(f"{head} with different recipes ({', '.join(keys)} differ): {shown}{more}", file=str(runs_dir),
                   field=f"recipe.{keys[0]}",
                   hint=f"release one configuration: add {options}, or pass --runs a folder that holds only one")


def _distinct_values(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _pinned_data(hashes: dict[str, list[Run]], now: DataFileState | None, absent: bool, *, owner: str, field: str,
                 mixed: str, used: str, built: str, runs_dir: Path) -> Problem | None:
    """One split's data across a group of records: one hash, and the hash of the file on disk now (``absent``: the
    suite lists the split but its file is not there). ``mixed``, ``used`` and ``built`` word the three refusals."""
    if len(hashes) > 1:
        shown = "; ".join(f"sha256 {_short(h)} ({_paths(rs)})" for h, rs in sorted(hashes.items()))
        return Problem(f"{mixed}: {shown}", file=str(runs_dir), field=field,
                       hint="a release pins one data hash per split: rerun the runs on the old data or move them out")
    (recorded,) = hashes
    if now is None and absent:
        return Problem(f"missing data: {used} but is not in the data folder", file=str(runs_dir), field=field,
                       hint="a release hashes the data its runs used: pass --data-dir with them")
    if now is not None and now.sha256 != recorded:
        return Problem(f"data file {now.file} of {owner} has sha256 {_short(now.sha256)} now, but {built} "
                       f"{_short(recorded)}: {_paths(hashes[recorded])}", file=str(runs_dir), field=field,
                       hint="restore the data the runs used (e.g. dvc checkout), or rerun the runs on the new data")
    return None


def _split_data(task_id: str, group: list[Run], data: dict[str, dict[str, DataFileState | None]],
                runs_dir: Path) -> list[Problem]:
    """The data a task's records were built from: one hash per split, the file on disk now."""
    problems: list[Problem] = []
    present = data.get(task_id, {})
    for split in sorted({s for r in group for s in r.record.provenance.data}):
        hashes = _groups([r for r in group if split in r.record.provenance.data],
                         lambda r, split=split: r.record.provenance.data[split].sha256)
        file = next(iter(hashes.values()))[0].record.provenance.data[split].file
        problem = _pinned_data(
            hashes, present.get(split), split in present, owner=task_id, field=f"provenance.data.{split}",
            mixed=f"records of {task_id} were built from different data for split '{split}' ({file})",
            used=f"split '{split}' of {task_id} ({file}) was used by the runs", built="the records were built from",
            runs_dir=runs_dir)
        if problem is not None:
            problems.append(problem)
    return problems


def _diagnostic_data(task_id: str, group: list[Run], data: dict[str, dict[str, DataFileState | None]],
                     runs_dir: Path) -> list[Problem]:
    """The data of the diagnostics scored by a task's runs (AX-b, AX-g with RTE): one hash per split across the
    records, and the hash of the file on disk now (for diagnostics of tasks in the suite)."""
    problems: list[Problem] = []
    keys = sorted({k for r in group for k in r.record.diagnostics if k in r.record.provenance.companions})
    for key in keys:
        users = [r for r in group if key in r.record.diagnostics and key in r.record.provenance.companions]
        hashes = _groups(users, lambda r, key=key: r.record.provenance.companions[key].sha256)
        file = users[0].record.provenance.companions[key].file
        companion, split = key.rsplit(":", 1)
        present = data.get(companion, {})
        problem = _pinned_data(
            hashes, present.get(split), split in present, owner=companion, field=f"provenance.companions.{key}",
            mixed=f"records of {task_id} scored the diagnostic {key} on different data ({file})",
            used=f"split '{split}' of {companion} ({file}) was scored by the {task_id} runs",
            built=f"the {task_id} records scored it on", runs_dir=runs_dir)
        if problem is not None:
            problems.append(problem)
    return problems


def _card_content(task_id: str, group: list[Run], card: TaskCard) -> list[Problem]:
    """Records trained on other card content than the card read now (same version): one problem per set of changed
    fields, naming the first record, the card file and the field. Records without ``provenance.card`` (written
    before benchkit recorded it) are not checked here; ``unchecked_card_records`` lets the release warn about them."""
    from benchkit.cards.roots import task_path

    now = card_fields(card)
    changed = _groups([r for r in group if r.record.provenance.card],
                      lambda r: tuple(changed_card_fields(r.record.provenance.card, now)))
    try:
        where = str(task_path(card.id))
    except BenchkitError:
        where = card.id
    problems = []
    for fields, runs in sorted(changed.items()):
        if not fields:
            continue
        runs = sorted(runs, key=lambda r: r.rel)
        more = f" ({len(runs)} records: {_paths(runs)})" if len(runs) > 1 else ""
        problems.append(Problem(
            f"record of {task_id} was trained with another {', '.join(fields)} than the task card {where} (version "
            f"{card.version}) has now{more}", file=str(runs[0].path), field=fields[0],
            hint="the card changed without a new version: bump its version and rerun ('benchkit run'), or restore "
                 "the card the records were trained with"))
    return problems


def unchecked_card_records(runs: list[Run]) -> list[str]:
    """Warnings for records written before run records carried their card's content: a release accepts them (their
    card version and data hashes are checked as before) but cannot tell whether the card changed since."""
    old = _groups([r for r in runs if not r.record.provenance.card], lambda r: r.record.task.id)
    return [f"warning: {len(rs)} record(s) of {task_id} predate card content in run records, so an edit of the card "
            f"at version {rs[0].record.task.version} cannot be detected: {_paths(rs)} (rerun them to record it)"
            for task_id, rs in sorted(old.items())]


def _selected(runs_dir: Path, suite: Suite, configs: frozenset[str] | None, where: Mapping[str, Any]) -> list[Run]:
    """The suite's records the caller asked for; none is refused, saying what the folder holds instead."""
    everything = [r for r in read_runs(runs_dir) if r.record.pruned is None]  # pruned search trials hold no result
    suite_id = suite.card.id
    ours = [r for r in everything if r.record.suite.id == suite_id]
    runs, said, have = _filter(ours, runs_dir, configs, where)
    if not runs:
        others = sorted({r.record.suite.id for r in everything} - {suite_id})
        found = ([f"{len(ours)} record(s) of {suite_id} with other configurations"] if ours else []) + (
            [f"records of {', '.join(others)}"] if others else [])
        hint = (f"the records have {have}" if have else
                f"run 'benchkit run {suite_id} --out {runs_dir}' first, or pass the folder that holds its records")
        raise BenchkitError(Problem(
            f"no run records of suite {suite_id}{said} under this folder"
            + (f" (found {'; '.join(found)})" if found else ""), file=str(runs_dir),
            field="--where" if have else "--runs", hint=hint))
    return runs


def _suite_version(runs: list[Run], suite: Suite, runs_dir: Path) -> list[Problem]:
    """Records built from another version of the suite card."""
    return [Problem(f"{len(group)} record(s) were built from suite card {suite.card.id} {version}, but the suite card "
                    f"is {suite.card.version}: {_paths(group)}", file=str(runs_dir), field="suite.version",
                    hint="rerun them with the current suite card, or move them out of --runs")
            for version, group in sorted(_groups(runs, lambda r: r.record.suite.version).items())
            if version != suite.card.version]


def _card_version(task_id: str, group: list[Run], card: TaskCard, runs_dir: Path) -> list[Problem]:
    """One card version across a task's records, the one the suite pins, and (then) the same card content."""
    versions = _groups(group, lambda r: r.record.task.version)
    if len(versions) > 1:
        return [Problem(
            f"records of {task_id} mix card versions: "
            + "; ".join(f"{v} ({_paths(rs)})" for v, rs in sorted(versions.items())), file=str(runs_dir),
            field="task.version", hint="a release pins one card version: rerun the old runs or move them out")]
    if next(iter(versions)) != card.version:
        return [Problem(
            f"records of {task_id} were built from card version {next(iter(versions))}, but the suite pins "
            f"{card.version}: {_paths(group)}", file=str(runs_dir), field="task.version",
            hint="rerun them with the current card")]
    return _card_content(task_id, group, card)  # one version, the card's: was it the same content?


def _model_weights(task_id: str, group: list[Run], runs_dir: Path) -> list[Problem]:
    """One set of weights per model name."""
    problems: list[Problem] = []
    for model, rs in sorted(_groups(group, lambda r: r.record.model.name).items()):
        weights = _groups(rs, lambda r: r.record.model.sha256)
        if len(weights) > 1:
            problems.append(Problem(
                f"records of {task_id} use model '{model}' with different weights: "
                + "; ".join(f"sha256 {_short(h)} ({_paths(x)})" for h, x in sorted(weights.items())),
                file=str(runs_dir), field="model.sha256",
                hint="name the models differently, or move the old runs out"))
    return problems


def _seed_duplicates(task_id: str, group: list[Run], runs_dir: Path) -> list[Problem]:
    """One record per (model, method, seed)."""
    return [_duplicates(task_id, model, method, seed, rs, runs_dir)
            for (model, method, _, seed), rs in sorted(
                _groups(group, lambda r: (*entry_key(r.record), r.record.seed)).items())
            if len(rs) > 1]


def _task_problems(task_id: str, group: list[Run], cards: dict[str, TaskCard], suite_id: str,
                   data: dict[str, dict[str, DataFileState | None]], runs_dir: Path) -> list[Problem]:
    """Everything that must not be mixed among one task's records."""
    if task_id not in cards:
        return [Problem(f"{len(group)} record(s) of task {task_id}, which suite {suite_id} does not list: "
                        f"{_paths(group)}", file=str(runs_dir), field="task.id", hint="move them out of --runs")]
    return [*_card_version(task_id, group, cards[task_id], runs_dir), *_split_data(task_id, group, data, runs_dir),
            *_diagnostic_data(task_id, group, data, runs_dir), *_model_weights(task_id, group, runs_dir),
            *_seed_duplicates(task_id, group, runs_dir)]


def collect_runs(runs_dir: Path, suite: Suite, data: dict[str, dict[str, DataFileState | None]],
                 configs: frozenset[str] | None = None, where: Mapping[str, Any] | None = None) -> list[Run]:
    """The suite's records under ``runs_dir``, checked for one card version and one data hash per split.

    ``configs`` (config hashes, e.g. of a run plan) and ``where`` (recipe values) keep only the matching records,
    before any check: other configurations in the same results folder are normal and not refused.
    """
    runs = _selected(runs_dir, suite, configs, where or {})
    cards = {card.id: card for card in suite.tasks}
    problems = _suite_version(runs, suite, runs_dir)
    for task_id, group in sorted(_groups(runs, lambda r: r.record.task.id).items()):
        problems.extend(_task_problems(task_id, group, cards, suite.card.id, data, runs_dir))
    if problems:
        raise BenchkitError(*problems)
    return sorted(runs, key=lambda r: (r.record.task.id, *entry_key(r.record), r.record.seed))
