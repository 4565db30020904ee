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
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.loading import locate, split_identity
from benchkit.cards.identity import card_fields, changed_card_fields
from benchkit.files import file_sha256 as sha256_file  # also used by the other release modules
from benchkit.contracts.run_records import RECORD_NAME, RunRecord

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
        runs.append(Run(path, path.relative_to(runs_dir).as_posix(), sha256_file(path), record))
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
        if len(hashes) > 1:
            problems.append(Problem(
                f"records of {task_id} scored the diagnostic {key} on different data ({file}): "
                + "; ".join(f"sha256 {_short(h)} ({_paths(rs)})" for h, rs in sorted(hashes.items())),
                file=str(runs_dir), field=f"provenance.companions.{key}",
                hint="a release pins one data hash per split: rerun the runs on the old data or move them out"))
            continue
        (recorded,) = hashes
        now = data.get(companion, {}).get(split)
        if now is None and split in data.get(companion, {}):
            problems.append(Problem(
                f"missing data: split '{split}' of {companion} ({file}) was scored by the {task_id} runs but is not "
                "in the data folder", file=str(runs_dir), field=f"provenance.companions.{key}",
                hint="a release hashes the data its runs used: pass --data-dir with them"))
        elif now is not None and now.sha256 != recorded:
            problems.append(Problem(
                f"data file {now.file} of {companion} has sha256 {_short(now.sha256)} now, but the {task_id} records "
                f"scored it on {_short(recorded)}: {_paths(hashes[recorded])}", file=str(runs_dir),
                field=f"provenance.companions.{key}",
                hint="restore the data the runs used (e.g. dvc checkout), or rerun the runs on the new data"))
    return problems


def _card_content(task_id: str, group: list[Run], card: TaskCard) -> list[Problem]:
    """Records trained on other card content than the card read now (same version): one problem per set of changed
    fields, naming the first record, the card file and the field. Records without ``provenance.card`` (written
    before benchkit recorded it) are not checked here; ``unchecked_card_records`` lets the release warn about them."""
    from benchkit.cards.catalog import task_path

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


def collect_runs(runs_dir: Path, suite: Suite, data: dict[str, dict[str, DataFileState | None]],
                 configs: frozenset[str] | None = None, where: Mapping[str, Any] | None = None) -> list[Run]:
    """The suite's records under ``runs_dir``, checked for one card version and one data hash per split.

    ``configs`` (config hashes, e.g. of a run plan) and ``where`` (recipe values) keep only the matching records,
    before any check: other configurations in the same results folder are normal and not refused.
    """
    everything = [r for r in read_runs(runs_dir) if r.record.pruned is None]  # pruned search trials hold no result
    suite_id = suite.card.id
    ours = [r for r in everything if r.record.suite.id == suite_id]
    runs, said, have = _filter(ours, runs_dir, configs, where or {})
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
        else:  # one version, the card's: was it the same content?
            problems.extend(_card_content(task_id, group, cards[task_id]))
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
        problems.extend(_diagnostic_data(task_id, group, data, runs_dir))
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
                problems.append(_duplicates(task_id, model, method, seed, rs, runs_dir))
    if problems:
        raise BenchkitError(*problems)
    return sorted(runs, key=lambda r: (r.record.task.id, *entry_key(r.record), r.record.seed))
