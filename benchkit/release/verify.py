"""``benchkit release verify DIR``: recompute every hash a release pins and report what changed.

Checked: the manifest's own hash; every file of the release (changed, missing, added); every data split file; every
card file (and each card's version); every run record and predictions file. Folders are found where the release
was built (relative to the release first, then the absolute path), or where ``--data-dir``/``--runs`` point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem
from benchkit.release.collect import sha256_file
from benchkit.release.manifest import MANIFEST_NAME, SCHEMA, release_files, self_hash


@dataclass
class VerifyReport:
    release: Path
    checked: int = 0
    changes: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.changes


def _short(digest: str | None) -> str:
    return (digest or "none")[:12]


def _find(folder: Path, entry: dict[str, str], given: Path | None) -> Path | None:
    if given is not None:
        return given
    for candidate in (folder / entry["from_release"], Path(entry["absolute"]), Path(entry["path"])):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise BenchkitError(Problem("release folder not found", file=str(folder),
                                    hint="pass a release folder, e.g. releases/glue-mini/1.0.0"))
    if not path.is_file():
        raise BenchkitError(Problem("no manifest.json: not a benchkit release", file=str(path),
                                    hint="pass the folder that 'benchkit release' wrote"))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise BenchkitError(Problem(f"manifest is not valid JSON: {err}", file=str(path),
                                    hint="restore it from the published release")) from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BenchkitError(Problem(f"unknown manifest schema {manifest.get('schema') if isinstance(manifest, dict) else None!r}",
                                    file=str(path), field="schema", hint=f"expected {SCHEMA}"))
    return manifest


def _compare(report: VerifyReport, path: Path, shown: str, expected: str, what: str, hint: str) -> None:
    report.checked += 1
    if not path.is_file():
        report.changes.append(Problem(f"{what} is missing (sha256 {_short(expected)} in the manifest)", file=shown,
                                      field="sha256", hint=hint))
        return
    now = sha256_file(path)
    if now != expected:
        report.changes.append(Problem(f"{what} changed since the release (sha256 {_short(expected)} in the manifest, "
                                      f"{_short(now)} now)", file=shown, field="sha256", hint=hint))


def verify_release(folder: Path, data_dir: Path | None = None, runs_dir: Path | None = None) -> VerifyReport:
    from benchkit.cards import catalog
    from benchkit.release.manifest import card_files, display_path

    manifest = load_manifest(folder)
    report = VerifyReport(folder)
    shown = str(folder)

    report.checked += 1
    if manifest.get("manifest_sha256") != self_hash(manifest):
        report.changes.append(Problem("manifest.json was edited after the release was built (its own sha256 "
                                      "does not match)", file=str(folder / MANIFEST_NAME), field="manifest_sha256",
                                      hint="restore it from the published release"))

    files = manifest.get("files", {})
    now = release_files(folder)
    for name, digest in files.items():
        _compare(report, folder / name, f"{shown}/{name}", digest, "release file",
                 "releases are immutable: restore the file, or build a new version")
    for name in sorted(set(now) - set(files)):
        report.changes.append(Problem("file added to the release after it was built", file=f"{shown}/{name}",
                                      hint="remove it, or build a new version"))

    data_root = _find(folder, manifest["data_dir"], data_dir)
    if data_root is None:
        report.changes.append(Problem("data folder not found: the data hashes could not be checked",
                                      file=manifest["data_dir"]["path"], field="--data-dir",
                                      hint="pass --data-dir with the release's data"))
    else:
        for task in manifest["tasks"]:
            for split, entry in task["data"].items():
                _compare(report, data_root / entry["file"], str(data_root / entry["file"]), entry["sha256"],
                         f"data of {task['id']} split '{split}'",
                         "restore the release's data (e.g. dvc checkout), or build a new version from the new data")

    suite = manifest["suite"]
    cards = [("suite", suite["id"], suite["version"], suite["files"])]
    cards += [("task", t["id"], t["version"], t["files"]) for t in manifest["tasks"]]
    for kind, card_id, version, pinned in cards:
        try:
            path = catalog.suite_path(card_id) if kind == "suite" else catalog.task_path(card_id)
            card = catalog.load_suite(card_id).card if kind == "suite" else catalog.load_task(card_id)
        except BenchkitError as err:
            report.changes.append(Problem(f"{kind} card {card_id} cannot be loaded now: {err.problems[0].message}",
                                          field="card", hint="restore the card the release was built from"))
            continue
        report.checked += 1
        if card.version != version:
            report.changes.append(Problem(f"{kind} card {card_id} is version {card.version} now, the release pins "
                                          f"{version}", file=str(path), field="version",
                                          hint="restore the pinned card, or build a new release"))
        current = [(display_path(f), sha256_file(f)) for f in card_files(path)]
        if [Path(p).name for p, _ in current] != [Path(e["path"]).name for e in pinned]:
            report.changes.append(Problem(f"{kind} card {card_id} is now made of {[p for p, _ in current]}, the "
                                          f"release pins {[e['path'] for e in pinned]}", file=str(path),
                                          field="extends", hint="restore the card the release was built from"))
        for (now_path, digest), entry in zip(current, pinned):
            report.checked += 1
            if digest != entry["sha256"]:
                report.changes.append(Problem(f"{kind} card {card_id} changed since the release (sha256 "
                                              f"{_short(entry['sha256'])} in the manifest, {_short(digest)} now)",
                                              file=now_path, field="sha256",
                                              hint="restore the card, or bump its version and build a new release"))

    runs_root = _find(folder, manifest["runs_dir"], runs_dir)
    if runs_root is None:
        report.notes.append(f"runs folder {manifest['runs_dir']['path']} not found: run records not checked "
                            "(pass --runs to check them)")
    else:
        for run in manifest["runs"]:
            record = runs_root / run["record"]
            _compare(report, record, str(record), run["sha256"], "run record",
                     "restore the record, or build a new version")
            for key, entry in run.get("predictions", {}).items():
                path = record.parent / entry["file"]
                _compare(report, path, str(path), entry["sha256"], f"predictions '{key}'",
                         "restore the predictions, or build a new version")
    return report
