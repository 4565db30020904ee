"""A hosted leaderboard: submission archives scored against private test labels, kept as versioned releases.

``score_submission`` reads an archive in the suite's official format (``submission_readers``), checks every task's
predictions as ``benchkit score`` checks a predictions file, and scores them on the private labels: the card's
metrics per test split, the suite's score rule, and a percentile bootstrap CI over the test examples
(``scores.bootstrap_suite``, one run per task).

The private labels folder mirrors the data folder: each test split's file at the card's path, with the card's label
column filled (GLUE: ``SST-2/test.tsv`` with a ``label`` column). The cards read it as a labelled split.

``add_entry`` writes the scored submission into a NEW leaderboard version, never an edit of an old one::

    <leaderboard>/<suite>/<version>/
        manifest.json        suite and card versions, the labels' sha256 per split, the previous version,
                             the entries in rank order, the sha256 of every file below
        leaderboard.md       the ranked table (test scores x100, CIs in brackets)
        leaderboard.html     the same, one self-contained sortable page
        leaderboard.json     the ranked rows, machine-readable
        entries/<slug>.json  one per submission: who, when, the archive's sha256, every metric, score and CI
        archives/<slug>.zip  the submitted archive, byte for byte

The previous version's entries are carried over after checking their hashes against its manifest; a version scored
on other labels, cards or suite version is refused (start a new leaderboard folder instead). Versions are built in a
temporary sibling folder and renamed into place, so a failure leaves nothing half-written; the rename never
overwrites (``atomic.building_dir``), so of two submissions scored at once into one version exactly one enters
it and the other gets a one-line error (submit it again: it goes into the next version).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.release.leaderboard import pct
from benchkit.release.scores import CISettings

LEADERBOARD_SCHEMA = "benchkit.leaderboard/1"
ENTRY_SCHEMA = "benchkit.leaderboard-entry/1"
FIRST_VERSION = "1.0.0"
SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ScoredSubmission:
    suite: Suite
    archive: Path
    archive_sha256: str
    format: str
    results: dict[str, dict[str, dict[str, Any]]]  # task -> split -> {"examples": n, "metrics": {...}}
    suite_score: float
    suite_label: str
    partial: bool
    task_scores: dict[str, float]  # the score rule's columns ("task" or "task[split]")
    diagnostics: dict[str, float]  # unscored tasks (GLUE AX): task -> primary metric, mean over its test splits
    ci: tuple[float, float] | None
    task_cis: dict[str, tuple[float, float]]
    labels: dict[str, dict[str, Any]]  # "task:split" -> {"file", "sha256", "rows"}
    ci_settings: CISettings
    extra_files: list[str] = field(default_factory=list)  # archive members that no task reads


def labelled_card(card: TaskCard) -> TaskCard:
    """The card with its test splits read as labelled: how the private labels folder is read."""
    splits = {name: spec.model_copy(update={"labels": "present"}) if name.startswith("test") else spec
              for name, spec in card.splits.items()}
    return card.model_copy(update={"splits": splits})


def scored_splits(suite: Suite) -> list[tuple[TaskCard, str, str]]:
    """``submission_writers.format_splits`` of the suite's format, refused where it has none or one that carries
    scores instead of predictions (``_format``)."""
    from benchkit.release.submission_writers import SUBMISSION_WRITERS, format_splits

    return format_splits(suite, SUBMISSION_WRITERS.get(_format(suite)))


def _format(suite: Suite) -> str:
    from benchkit.release.submission_readers import SUBMISSION_READERS

    fmt = suite.card.submission_format
    if fmt is None:
        raise BenchkitError(Problem(f"suite {suite.card.id} has no submission_format", field="submission_format",
                                    hint="set submission_format in the suite card (glue, superglue or klej)"))
    if fmt not in SUBMISSION_READERS.names():
        raise BenchkitError(Problem(f"the {fmt} submission format carries scores, not test predictions: there is "
                                    "nothing to score against private labels", field="submission_format",
                                    hint=f"submission formats that can be scored: "
                                         f"{', '.join(SUBMISSION_READERS.names())}"))
    return fmt


def _private_frames(suite: Suite, labels_dir: Path) -> tuple[dict[tuple[str, str], Any], dict[str, dict[str, Any]]]:
    """(task, split) -> the labelled test frame, and "task:split" -> {file, sha256, rows}; missing files are named."""
    from benchkit.files import file_sha256
    from benchkit.loading import locate
    from benchkit.validation.frames import load_frames

    if not labels_dir.is_dir():
        raise BenchkitError(Problem("private labels folder not found", file=str(labels_dir), field="--labels",
                                    hint="pass the folder with the labelled test files, laid out as the data folder"))
    frames: dict[tuple[str, str], Any] = {}
    hashes: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for card, split, _ in scored_splits(suite):
        labelled = labelled_card(card)
        where = locate(labelled, split, labels_dir)
        if where is not None and not where.hub and not where.exists:
            problems.append(Problem(f"no private labels for {card.id} {split}", file=where.location, field="--labels",
                                    hint=f"--labels holds each test file with its label column, at the data "
                                         f"folder's path {card.source.dir}/{card.splits[split].file}"))
            continue
        try:
            frames[(card.id, split)] = load_frames(labelled, labels_dir, [split])[split]
        except BenchkitError as err:
            problems.extend(err.problems)
            continue
        if where is not None and not where.hub:
            path = Path(where.location)
            hashes[f"{card.id}:{split}"] = {"file": path.relative_to(labels_dir).as_posix(),
                                             "sha256": file_sha256(path), "rows": len(frames[(card.id, split)])}
    if problems:
        raise BenchkitError(*problems)
    return frames, hashes


def score_submission(suite: Suite, archive_path: Path, labels_dir: Path, settings: CISettings) -> ScoredSubmission:
    """Read, check and score one archive; raises BenchkitError with one problem per bad file, row or id."""
    from benchkit.files import file_sha256
    from benchkit.predictions import check_predictions
    from benchkit.release.scores import bootstrap_suite
    from benchkit.release.submission_readers import SUBMISSION_READERS, SubmissionArchive
    from benchkit.scoring.scores import rule_score
    from benchkit.scoring.task import compute_metrics, gold_groups, gold_targets

    fmt = _format(suite)
    wanted = scored_splits(suite)
    if not wanted:
        raise BenchkitError(Problem(f"no task of suite {suite.card.id} has a test split the {fmt} format has a file "
                                    "for", field="submission_format", hint="check the suite's tasks and format"))
    frames, label_hashes = _private_frames(suite, labels_dir)
    reader = SUBMISSION_READERS.get(fmt)
    problems: list[Problem] = []
    predictions: dict[tuple[str, str], list[Any]] = {}
    with SubmissionArchive(archive_path) as archive:
        for card, split, name in wanted:
            source = archive.source(name)
            text = archive.read(name)
            if text is None:
                problems.append(Problem(f"the archive has no {name} ({card.id} {split})", file=f"{archive_path}:{name}",
                                        hint=f"a {fmt} submission holds {', '.join(n for _, _, n in wanted)}"
                                             + (f"; found {', '.join((archive.names() or archive.extra)[:12])}"
                                                if archive.names() or archive.extra else "; the archive is empty")))
                continue
            frame = frames[(card.id, split)]
            ids = [str(i) for i in frame["id"]]
            read = reader.read(card, split, text, ids, source)
            if read.problems:
                problems.extend(read.problems)
                continue
            try:
                predictions[(card.id, split)] = check_predictions(read.items, card, frame, source,
                                                                  label_hint=read.label_hint)
            except BenchkitError as err:
                problems.extend(err.problems)
        extra = [n for n in archive.names() if n not in {name for _, _, name in wanted}] + archive.extra
    if problems:
        raise BenchkitError(*problems)

    cards = {card.id: labelled_card(card) for card, _, _ in wanted}
    gold = {t: {} for t in cards}
    groups: dict[str, dict[str, list[Any]]] = {t: {} for t in cards}
    runs: dict[str, list[dict[str, list[Any]]]] = {t: [{}] for t in cards}
    results: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in cards}
    for card, split, _ in wanted:
        frame = frames[(card.id, split)]
        targets, found = gold_targets(cards[card.id], frame), gold_groups(card, frame)
        gold[card.id][split], runs[card.id][0][split] = targets, predictions[(card.id, split)]
        if found is not None:
            groups[card.id][split] = found
        results[card.id][split] = {"examples": len(targets),
                                   "metrics": compute_metrics(card, targets, predictions[(card.id, split)], found)}
    point = rule_score(suite, {t: {s: r["metrics"] for s, r in splits.items()} for t, splits in results.items()})
    scored = {t.id for t in suite.card.tasks if t.scored}
    diagnostics = {t: sum(r["metrics"][cards[t].primary_metric] for r in splits.values()) / len(splits)
                   for t, splits in results.items() if t not in scored}
    ci, task_cis = (bootstrap_suite(suite, cards, gold, runs, groups, settings) if settings.resamples > 0
                    else (None, {}))
    return ScoredSubmission(
        suite=suite, archive=archive_path, format=fmt,
        archive_sha256=file_sha256(archive_path) if archive_path.is_file() else "",
        results=results, suite_score=point.value, suite_label=point.label, partial=point.partial,
        task_scores=dict(point.task_scores), diagnostics=diagnostics, ci=ci, task_cis=task_cis,
        labels=label_hashes, ci_settings=settings, extra_files=sorted(set(extra)))


# ---------------------------------------------------------------------------------------------------------------
# leaderboard versions


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.split(r"[-+]", version, maxsplit=1)[0].split("."))


def versions(folder: Path, suite_id: str) -> list[str]:
    """The leaderboard's versions, oldest first (folders with a manifest)."""
    from benchkit.release.build import VERSION

    base = folder / suite_id
    found = [d.name for d in base.iterdir() if d.is_dir() and VERSION.match(d.name) and (d / "manifest.json").is_file()
             ] if base.is_dir() else []
    return sorted(found, key=_version_key)


def next_version(previous: str | None) -> str:
    if previous is None:
        return FIRST_VERSION
    major, minor, _ = _version_key(previous)[:3]
    return f"{major}.{minor + 1}.0"


def entry_slug(name: str) -> str:
    return SLUG.sub("-", name).strip(".-_")[:80] or "submission"


def _manifest(version_dir: Path) -> dict[str, Any]:
    path = version_dir / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BenchkitError(Problem(f"unreadable leaderboard manifest: {err}", file=str(path),
                                    hint="restore the leaderboard folder from its copy or version control")) from None
    if not isinstance(data, dict) or data.get("schema") != LEADERBOARD_SCHEMA:
        raise BenchkitError(Problem(f"not a benchkit leaderboard manifest (schema {data.get('schema')!r})"
                                    if isinstance(data, dict) else "not a benchkit leaderboard manifest",
                                    file=str(path), field="schema", hint=f"expected {LEADERBOARD_SCHEMA}"))
    return data


def _previous_entries(version_dir: Path, suite: Suite, scored: ScoredSubmission) -> tuple[list[dict[str, Any]],
                                                                                         dict[str, Any]]:
    """The previous version's entries, with their files checked against its manifest and its labels, cards and
    suite version checked against this submission's."""
    from benchkit.files import file_sha256

    manifest = _manifest(version_dir)
    where = str(version_dir / "manifest.json")
    problems: list[Problem] = []
    if manifest["suite"] != {"id": suite.card.id, "version": suite.card.version}:
        problems.append(Problem(f"the leaderboard is of suite {manifest['suite']['id']} {manifest['suite']['version']},"
                                f" not {suite.card.id} {suite.card.version}", file=where, field="suite",
                                hint="start a new leaderboard folder for the new suite version (--leaderboard)"))
    cards = {c.id: c.version for c in suite.tasks}
    if manifest["tasks"] != cards:
        problems.append(Problem(f"the leaderboard's entries were scored with card versions {manifest['tasks']}, the "
                                f"suite has {cards}", file=where, field="tasks",
                                hint="start a new leaderboard folder for the new cards (--leaderboard)"))
    labels = {k: v["sha256"] for k, v in manifest["labels"].items()}
    now = {k: v["sha256"] for k, v in scored.labels.items()}
    if labels != now:
        changed = sorted(k for k in set(labels) | set(now) if labels.get(k) != now.get(k))
        problems.append(Problem(f"the private labels differ from those the leaderboard was scored on: "
                                f"{', '.join(changed)}", file=where, field="labels",
                                hint="score with the same --labels, or start a new leaderboard folder"))
    for rel, digest in manifest["files"].items():
        path = version_dir / rel
        if not path.is_file() or file_sha256(path) != digest:
            problems.append(Problem("a file of the leaderboard does not match its manifest: "
                                    + ("missing" if not path.is_file() else f"sha256 {file_sha256(path)[:12]}, "
                                                                            f"recorded {digest[:12]}"),
                                    file=str(path), hint="leaderboard versions are immutable: restore the file"))
    if problems:
        raise BenchkitError(*problems)
    entries = [json.loads((version_dir / "entries" / f"{slug}.json").read_text(encoding="utf-8"))
               for slug in manifest["entries"]]
    return entries, manifest


def entry_record(scored: ScoredSubmission, slug: str, name: str, model: str | None, url: str | None,
                 description: str | None, version: str, created: str) -> dict[str, Any]:
    def interval(ci: tuple[float, float] | None) -> dict[str, float] | None:
        return None if ci is None else {"low": ci[0], "high": ci[1]}

    return {
        "schema": ENTRY_SCHEMA, "entry": slug, "name": name, "model": model, "url": url, "description": description,
        "submitted": created, "added_in": version,
        "archive": {"file": f"archives/{slug}.zip", "sha256": scored.archive_sha256, "format": scored.format,
                    "original_name": scored.archive.name},
        "suite_score": scored.suite_score, "suite_score_label": scored.suite_label, "partial": scored.partial,
        "ci": interval(scored.ci),
        "task_scores": {c: {"score": v, "ci": interval(scored.task_cis.get(c))} for c, v in scored.task_scores.items()},
        "diagnostics": scored.diagnostics,
        "results": scored.results,
        "ci_settings": scored.ci_settings.describe() | {"unit": "test examples with replacement, per task"},
    }


def add_entry(folder: Path, scored: ScoredSubmission, name: str, model: str | None = None, url: str | None = None,
              description: str | None = None, version: str | None = None) -> Path:
    """Write ``<folder>/<suite>/<version>/``: the previous version's entries and this one, ranked."""
    from benchkit.files import file_sha256
    from benchkit.release.build import check_version
    from benchkit.release.submission_writers import zip_folder

    suite = scored.suite
    existing = versions(folder, suite.card.id)
    previous = existing[-1] if existing else None
    version = check_version(version) if version is not None else next_version(previous)
    final = folder / suite.card.id / version
    if final.exists():
        raise _version_exists(suite.card.id, version, final)
    if previous is not None and _version_key(version) <= _version_key(previous):
        raise BenchkitError(Problem(f"version {version} is not after the latest leaderboard version {previous}",
                                    field="--version", hint=f"e.g. --version {next_version(previous)}"))
    entries, _ = _previous_entries(folder / suite.card.id / previous, suite, scored) if previous else ([], {})
    packed: Path | None = None
    if scored.archive.is_dir():  # an unpacked submission is kept as the deterministic zip of its files
        from benchkit.atomic import temp_path

        final.parent.mkdir(parents=True, exist_ok=True)
        packed = temp_path(final.parent / "submission", ".zip")
        names = [p.relative_to(scored.archive).as_posix() for p in sorted(scored.archive.rglob("*")) if p.is_file()]
        zip_folder(scored.archive, names, packed)
        scored.archive_sha256 = file_sha256(packed)
    try:
        return _write_version(folder, final, scored, entries, name, model, url, description, version, previous, packed)
    finally:
        if packed is not None:
            packed.unlink(missing_ok=True)


def _write_version(folder: Path, final: Path, scored: ScoredSubmission, entries: list[dict[str, Any]], name: str,
                   model: str | None, url: str | None, description: str | None, version: str, previous: str | None,
                   packed: Path | None) -> Path:
    from benchkit.atomic import building_dir
    from benchkit.files import file_sha256
    from benchkit.release.manifest import kit_state

    suite = scored.suite
    slug = entry_slug(name)
    for entry in entries:
        if entry["entry"] == slug:
            raise BenchkitError(Problem(f"the leaderboard already has an entry named {entry['name']!r} (added in "
                                        f"{entry['added_in']})", field="--name",
                                        hint="give this submission a name of its own"))
        if scored.archive_sha256 and entry["archive"]["sha256"] == scored.archive_sha256:
            raise BenchkitError(Problem(f"this archive was already scored as entry {entry['name']!r} (added in "
                                        f"{entry['added_in']})", file=str(scored.archive),
                                        hint="each archive enters the leaderboard once"))
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    new = entry_record(scored, slug, name, model, url, description, version, created)
    ranked = rank(entries + [new])

    taken = partial(_version_exists, suite.card.id, version, final,
                    " (another submission created it while this one was scored)")
    with building_dir(final, taken=taken) as work:
        (work / "entries").mkdir()
        (work / "archives").mkdir()
        for entry in entries:
            for rel in (f"entries/{entry['entry']}.json", entry["archive"]["file"]):
                shutil.copyfile(folder / suite.card.id / previous / rel, work / rel)  # type: ignore[operator]
        (work / "entries" / f"{slug}.json").write_text(json.dumps(new, indent=2, ensure_ascii=False) + "\n",
                                                       encoding="utf-8")
        shutil.copyfile(packed or scored.archive, work / new["archive"]["file"])
        kit = kit_state()
        write_pages(work, suite, ranked, version, created, kit)
        files = {p.relative_to(work).as_posix(): file_sha256(p) for p in sorted(work.rglob("*")) if p.is_file()}
        manifest = {
            "schema": LEADERBOARD_SCHEMA, "suite": {"id": suite.card.id, "version": suite.card.version},
            "tasks": {c.id: c.version for c in suite.tasks}, "version": version, "created": created,
            "previous": previous, "added": slug, "entries": [e["entry"] for e in ranked],
            "submission_format": scored.format, "labels": scored.labels, "kit": kit, "files": files,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
    return final


def _version_exists(suite_id: str, version: str, final: Path, how: str = "") -> BenchkitError:
    return BenchkitError(Problem(f"leaderboard {suite_id} {version} already exists{how}", file=str(final),
                                 field="--version", hint="leaderboard versions are immutable: submit again with a "
                                                         "new --version, or leave it out for the next one"))


def rank(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete entries first, then by suite score (best first), then by submission time (earlier first)."""
    def key(entry: dict[str, Any]) -> tuple[Any, ...]:
        score = entry["suite_score"]
        return (entry["partial"], -(score if math.isfinite(score) else float("-inf")), entry["submitted"],
                entry["entry"])

    return sorted(entries, key=key)


# ---------------------------------------------------------------------------------------------------------------
# pages


def _ci(ci: dict[str, float] | None) -> str:
    return "" if not ci else f"[{pct(ci['low'])}, {pct(ci['high'])}]"


def _column_label(column: str) -> str:
    task, _, split = column.partition("[")
    label = task.split("/", 1)[-1]
    return f"{label} [{split.rstrip(']')}]" if split else label


def table(suite: Suite, entries: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Columns and rows (each cell: text, sort value, CI) of the ranked entries."""
    order = {card.id: i for i, card in enumerate(suite.tasks)}
    columns_seen = {c for e in entries for c in e["task_scores"]}
    task_columns = sorted(columns_seen, key=lambda c: (order.get(c.split("[", 1)[0], len(order)), c))
    diagnostics = sorted({d for e in entries for d in e["diagnostics"]}, key=lambda d: (order.get(d, len(order)), d))
    cards = {card.id: card for card in suite.tasks}
    columns = ([{"key": "rank", "label": "#", "type": "number", "title": "rank by suite score (complete entries "
                                                                          "first, then earlier submissions)"},
                {"key": "name", "label": "submission", "type": "text", "title": ""},
                {"key": "model", "label": "model", "type": "text", "title": ""},
                {"key": "score", "label": "score", "type": "number", "title": "suite score on the test split(s)"}]
               + [{"key": f"task:{c}", "label": _column_label(c), "type": "number", "title": c} for c in task_columns]
               + [{"key": f"diag:{d}", "label": f"{_column_label(d)} {cards[d].primary_metric if d in cards else ''} "
                                                 "(diagnostic)", "type": "number",
                   "title": f"{d}: not part of the suite score"} for d in diagnostics]
               + [{"key": "submitted", "label": "submitted", "type": "text", "title": "UTC"}])
    rows = []
    for number, entry in enumerate(entries, start=1):
        cells = {
            "rank": {"text": str(number), "value": str(number), "ci": ""},
            "name": {"text": entry["name"], "value": entry["name"].lower(), "ci": "", "url": entry.get("url") or ""},
            "model": {"text": entry.get("model") or "–", "value": (entry.get("model") or "").lower(), "ci": ""},
            "score": {"text": pct(entry["suite_score"]), "value": repr(entry["suite_score"]), "ci": _ci(entry["ci"])},
            "submitted": {"text": entry["submitted"][:10], "value": entry["submitted"], "ci": ""},
        }
        for column in task_columns:
            found = entry["task_scores"].get(column)
            cells[f"task:{column}"] = ({"text": pct(found["score"]), "value": repr(found["score"]),
                                        "ci": _ci(found["ci"])} if found else {"text": "–", "value": "", "ci": ""})
        for key in diagnostics:
            value = entry["diagnostics"].get(key)
            cells[f"diag:{key}"] = {"text": pct(value), "value": "" if value is None else repr(value), "ci": ""}
        rows.append({"entry": entry["entry"], "partial": entry["partial"], "cells": cells,
                     "description": entry.get("description") or ""})
    return columns, rows


def write_pages(folder: Path, suite: Suite, entries: list[dict[str, Any]], version: str, created: str,
                kit: dict[str, Any]) -> None:
    from benchkit.release.templating import render

    columns, rows = table(suite, entries)
    ci_levels = sorted({e["ci_settings"]["level"] for e in entries if e["ci"]})
    context = {
        "suite": {"id": suite.card.id, "version": suite.card.version, "name": suite.card.name,
                  "description": suite.card.description, "citation": suite.card.citation or ""},
        "release": {"version": version, "created": created}, "kit": kit,
        "rule": {"label": suite.card.rule.label},
        "ci_level_pct": ", ".join(f"{level * 100:g}%" for level in ci_levels),
        "columns": columns, "rows": rows, "any_partial": any(r["partial"] for r in rows),
        "has_diagnostics": any(c["key"].startswith("diag:") for c in columns),
        "tasks": [{"id": c.id, "version": c.version} for c in suite.tasks],
    }
    (folder / "leaderboard.md").write_text(render("submissions.md.j2", **context), encoding="utf-8")
    (folder / "leaderboard.html").write_text(render("submissions.html.j2", **context), encoding="utf-8")
    summary = [{"rank": i, "entry": e["entry"], "name": e["name"], "model": e.get("model"), "url": e.get("url"),
                "submitted": e["submitted"], "suite_score": e["suite_score"], "ci": e["ci"], "partial": e["partial"],
                "task_scores": {c: v["score"] for c, v in e["task_scores"].items()}, "diagnostics": e["diagnostics"],
                "split": "test"} for i, e in enumerate(entries, start=1)]
    (folder / "leaderboard.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
