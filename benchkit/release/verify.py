"""``benchkit release verify DIR``: recompute every hash a release pins and report what changed.

Checked: the manifest's own hash; every file of the release (changed, missing, added), the copies of the run
records and predictions among them (named as such); every data split file; every card file (and each card's
version), in the release's own copies of the cards (older releases: the cards found from here); with ``--runs``, the original records and predictions too. A release verifies wherever it is copied: its
records travel with it; only the data (not copied: they can be large) are looked up outside, in ``--data-dir`` or
else where the release was built (relative to the release, the absolute path, the displayed path), taking the
candidate that really holds the data files. When none does, that is a change (exit 2: the scores are claims about
those data, and a verify that passed without them would say more than it checked) unless ``--skip-data``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from benchkit.errors import BenchkitError, Problem
from benchkit.files import file_sha256
from benchkit.release.manifest import MANIFEST_NAME, SCHEMAS, release_files, self_hash


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


def _held(candidate: Path, expected: list[str]) -> int:
    return sum((candidate / name).is_file() for name in expected)


def _find(folder: Path, entry: dict[str, str], given: Path | None, expected: list[str]) -> Path | None:
    """``given``, else the candidate holding the most of the expected files; None when none holds any (a path
    relative to a moved release can land on an unrelated folder, e.g. ``/``: being a folder is not enough)."""
    if given is not None:
        return given
    best, most = None, 0
    for candidate in (folder / entry["from_release"], Path(entry["absolute"]), Path(entry["path"])):
        held = _held(candidate, expected)
        if held > most:
            best, most = candidate.resolve(), held
    return best


def load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise BenchkitError(Problem("release folder not found", file=str(folder),
                                    hint="pass a release folder, e.g. results/releases/glue-mini/1.0.0"))
    if not path.is_file():
        raise BenchkitError(Problem("no manifest.json: not a benchkit release", file=str(path),
                                    hint="pass the folder that 'benchkit release' wrote"))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise BenchkitError(Problem(f"manifest is not valid JSON: {err}", file=str(path),
                                    hint="restore it from the published release")) from None
    if not isinstance(manifest, dict) or manifest.get("schema") not in SCHEMAS:
        raise BenchkitError(Problem(f"unknown manifest schema {manifest.get('schema') if isinstance(manifest, dict) else None!r}",
                                    file=str(path), field="schema", hint=f"expected one of {', '.join(SCHEMAS)}"))
    return manifest


def _compare(report: VerifyReport, path: Path, shown: str, expected: str, what: str, hint: str) -> None:
    report.checked += 1
    if not path.is_file():
        report.changes.append(Problem(f"{what} is missing (sha256 {_short(expected)} in the manifest)", file=shown,
                                      field="sha256", hint=hint))
        return
    now = file_sha256(path)
    if now != expected:
        report.changes.append(Problem(f"{what} changed since the release (sha256 {_short(expected)} in the manifest, "
                                      f"{_short(now)} now)", file=shown, field="sha256", hint=hint))


def _run_files(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A manifest run's record and predictions files: (path relative to the root holding the record, sha256, what)."""
    base = PurePosixPath(run["record"]).parent
    return [(run["record"], run["sha256"], "run record")] + [
        ((base / entry["file"]).as_posix(), entry["sha256"], f"predictions '{key}'")
        for key, entry in run.get("predictions", {}).items()]


def _check_runs(report: VerifyReport, root: Path, runs: list[dict[str, Any]], key: str, what: str,
                hint: str) -> None:
    """Each run's record and predictions under ``root``, the record at ``run[key]``."""
    for run in runs:
        for rel, digest, kind in _run_files({**run, "record": run[key]}):
            _compare(report, root / rel, str(root / rel), digest, f"{what}{kind}", hint)


def _check_data(report: VerifyReport, folder: Path, manifest: dict[str, Any], data_dir: Path | None,
                skip: bool) -> None:
    files = [(task["id"], split, entry) for task in manifest["tasks"] for split, entry in task["data"].items()]
    expected = [entry["file"] for _, _, entry in files]
    if not files:
        return
    if skip:
        report.notes.append(f"data not checked (--skip-data): {len(files)} data hashes of the manifest unverified")
        return
    where = manifest["data_dir"]
    root = _find(folder, where, data_dir, expected)
    if root is None or _held(root, expected) == 0:
        tried = f"--data-dir {data_dir}" if data_dir is not None else "none of " + ", ".join(dict.fromkeys(
            [where["path"], where["absolute"], f"{where['from_release']} (relative to the release)"]))
        report.changes.append(Problem(
            f"data folder not found: {tried} holds {'none of ' if data_dir is not None else ''}the release's "
            f"{len(files)} data files (e.g. {expected[0]}), so their hashes were not checked",
            file=str(data_dir) if data_dir is not None else where["path"], field="--data-dir",
            hint="pass --data-dir DIR with the data the release was built from, or --skip-data to verify the "
                 "release without them"))
        return
    for task_id, split, entry in files:
        _compare(report, root / entry["file"], str(root / entry["file"]), entry["sha256"],
                 f"data of {task_id} split '{split}'",
                 "restore the release's data (e.g. dvc checkout), or build a new version from the new data")


def _pinned_cards(manifest: dict[str, Any]) -> list[tuple[str, str, str, list[dict[str, str]]]]:
    suite = manifest["suite"]
    return [("suite", suite["id"], suite["version"], suite["files"])] + [
        ("task", t["id"], t["version"], t["files"]) for t in manifest["tasks"]]


def card_copies(manifest: dict[str, Any]) -> set[str]:
    """The release's copies of its cards (paths inside the release); empty for releases built before the copies."""
    return {entry["copy"] for *_, pinned in _pinned_cards(manifest) for entry in pinned if "copy" in entry}


def _check_card_copies(report: VerifyReport, folder: Path, manifest: dict[str, Any]) -> None:
    """Each card's copy in the release: its sha256 as pinned, and the card it holds loads with the pinned id and
    version. Needs nothing outside the release, so it holds wherever the release is copied."""
    from benchkit.cards.loader import load_suite_card, load_task_card

    for kind, card_id, version, pinned in _pinned_cards(manifest):
        before = len(report.changes)
        for entry in pinned:
            report.checked += 1
            path = folder / entry["copy"]
            if not path.is_file():
                report.changes.append(Problem(f"{kind} card {card_id}: its copy in the release is missing (sha256 "
                                              f"{_short(entry['sha256'])} in the manifest)", file=str(path),
                                              field="sha256", hint="restore it from the published release"))
            elif file_sha256(path) != entry["sha256"]:
                report.changes.append(Problem(f"{kind} card {card_id} changed since the release (sha256 "
                                              f"{_short(entry['sha256'])} in the manifest, {_short(file_sha256(path))} "
                                              "now)", file=str(path), field="sha256",
                                              hint="releases are immutable: restore the release's copy of the card"))
        first = folder / pinned[0]["copy"]
        if len(report.changes) > before:  # a changed or missing file: loading it would say nothing more
            continue
        try:
            card = load_suite_card(first) if kind == "suite" else load_task_card(first)
        except BenchkitError as err:
            report.changes.append(Problem(f"{kind} card {card_id}: its copy in the release does not load: "
                                          f"{err.problems[0].message}", file=str(first), field="card",
                                          hint="restore the release from the published one"))
            continue
        if (card.id, card.version) != (card_id, version):
            report.changes.append(Problem(f"{kind} card copy holds {card.id} {card.version}, the release pins "
                                          f"{card_id} {version}", file=str(first), field="version",
                                          hint="restore the release from the published one"))
    _note_live_cards(report, manifest)


def _note_live_cards(report: VerifyReport, manifest: dict[str, Any]) -> None:
    """Cards found from here (the benchmark checkout) that differ from the release's copies: a note, not a change
    (the release was checked against its own copies; the benchmark may have moved on to new versions)."""
    from benchkit.cards import roots
    from benchkit.release.manifest import card_files

    for kind, card_id, _, pinned in _pinned_cards(manifest):
        try:
            path = roots.suite_path(card_id) if kind == "suite" else roots.task_path(card_id)
        except BenchkitError:
            continue  # not found from here: the copy is all there is
        if [file_sha256(f) for f in card_files(path)] != [e["sha256"] for e in pinned]:
            report.notes.append(f"{kind} card {card_id} found here ({path}) differs from the release's copy; the "
                                "release was verified against its copy")


def _check_cards(report: VerifyReport, folder: Path, manifest: dict[str, Any]) -> None:
    from benchkit.cards import catalog, roots
    from benchkit.release.manifest import card_files, display_path

    cards = _pinned_cards(manifest)
    if cards and all("copy" in entry for *_, pinned in cards for entry in pinned):
        _check_card_copies(report, folder, manifest)
        return
    for kind, card_id, version, pinned in cards:  # a release without copies: the cards found from here
        try:
            path = roots.suite_path(card_id) if kind == "suite" else roots.task_path(card_id)
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
        current = [(display_path(f), file_sha256(f)) for f in card_files(path)]
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


def verify_release(folder: Path, data_dir: Path | None = None, runs_dir: Path | None = None,
                   skip_data: bool = False) -> VerifyReport:
    """Every hash the release pins; ``runs_dir`` also compares the original records and predictions there."""
    manifest = load_manifest(folder)
    report = VerifyReport(folder)
    shown = str(folder)

    report.checked += 1
    if manifest.get("manifest_sha256") != self_hash(manifest):
        report.changes.append(Problem("manifest.json was edited after the release was built (its own sha256 "
                                      "does not match)", file=str(folder / MANIFEST_NAME), field="manifest_sha256",
                                      hint="restore it from the published release"))

    runs = manifest.get("runs", [])
    copied = [run for run in runs if "source" in run]  # schema 2: records and predictions inside the release
    _check_runs(report, folder, copied, "record", "",
                "releases are immutable: restore it from the published release, or build a new version")
    inside = {rel for run in copied for rel, *_ in _run_files(run)}  # checked above, under their own names
    inside |= card_copies(manifest)  # checked with the cards, named as cards

    files = manifest.get("files", {})
    for name, digest in files.items():
        if name not in inside:
            _compare(report, folder / name, f"{shown}/{name}", digest, "release file",
                     "releases are immutable: restore the file, or build a new version")
    for name in sorted(set(release_files(folder)) - set(files)):
        report.changes.append(Problem("file added to the release after it was built", file=f"{shown}/{name}",
                                      hint="remove it, or build a new version"))

    _check_data(report, folder, manifest, data_dir, skip_data)
    _check_cards(report, folder, manifest)

    if copied and runs_dir is not None:
        _check_runs(report, runs_dir, copied, "source", "original ",
                    "the release holds its own copy; restore the original, or build a new version from it")
    legacy = [run for run in runs if "source" not in run]  # schema 1: the records are only in the runs folder
    if legacy:
        root = _find(folder, manifest["runs_dir"], runs_dir, [run["record"] for run in legacy])
        if root is None:
            report.notes.append(f"runs folder {manifest['runs_dir']['path']} not found: run records not checked "
                                "(pass --runs to check them)")
        else:
            _check_runs(report, root, legacy, "record", "", "restore the record, or build a new version")
    return report
