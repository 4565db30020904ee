"""manifest.json: what a release was built from and what it holds, with a sha256 for everything.

Suite and task card versions (and the sha256 of each card file, ``extends:`` chain included), the sha256 of every
data split, the DVC lock state where the release is built inside a DVC repository, kit version and git commit,
the models, methods and run records included, the score rule and CI settings, the evaluation splits and checkpoint
selection behind the scores, the creation time, and the sha256 of every file of the release. ``manifest_sha256``
covers the manifest itself (computed with that key absent).

Schema 2: the release holds a copy of each run record and its predictions (``runs/<the record's path under --runs>``,
a leading ``runs/`` not doubled), so it verifies wherever it is copied; ``runs[].record`` is that path inside the
release and ``runs[].source`` the record's path under the original runs folder. Schema 1 (no copies) still verifies.
The release also holds copies of its suite and task cards (``extends:`` parents included) under ``cards/``, named by
``files[].copy`` of each card in the manifest; verify reads them, so it needs no benchmark checkout (releases built
before the copies verify against the cards the catalog finds, as before).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.cards.roots import task_path
from benchkit.errors import BenchkitError, Problem
from benchkit.files import file_sha256
from benchkit.release import drops
from benchkit.release.collect import RELEASE_MARKER, DataFileState, Run
from benchkit.release.scores import CISettings, Entry, eval_splits, on_dev_text, selection_summary, selection_text

SCHEMA = "benchkit.release/2"
SCHEMAS = ("benchkit.release/1", SCHEMA)  # verify reads both; 1 had no copies of the runs
MANIFEST_NAME = RELEASE_MARKER
RUNS_FOLDER = "runs"
CARDS_FOLDER = "cards"  # copies of the suite and task cards the release was built from


def card_files(path: Path) -> list[Path]:
    """A card file and the files it extends, child first."""
    import yaml

    chain: list[Path] = []
    current: Path | None = path.resolve()
    while current is not None and current not in chain and current.is_file():
        chain.append(current)
        data = yaml.safe_load(current.read_text(encoding="utf-8-sig")) or {}
        parent = data.get("extends") if isinstance(data, dict) else None
        current = (current.parent / parent).resolve() if isinstance(parent, str) else None
    return chain


def display_path(path: Path) -> str:
    """Relative to the working directory when below it (what a reader of the manifest can open), else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def location(path: Path, release_dir: Path) -> dict[str, str]:
    """Where a folder was, so verify can find it again: as displayed, absolute, and relative to the release."""
    return {"path": display_path(path), "absolute": str(path.resolve()),
            "from_release": os.path.relpath(path.resolve(), release_dir.resolve())}


def run_paths(runs: list[Run]) -> dict[str, str]:
    """Where each record goes inside the release: runs/<its path under --runs>, a leading runs/ not doubled (so
    the default layout keeps its paths); all prefixed when that would make two records collide."""
    prefix = f"{RUNS_FOLDER}/"
    placed = {r.rel: r.rel if r.rel.startswith(prefix) else prefix + r.rel for r in runs}
    if len(set(placed.values())) < len(placed):
        placed = {r.rel: prefix + r.rel for r in runs}
    return placed


def copy_runs(runs: list[Run], folder: Path) -> dict[str, dict[str, Any]]:
    """Copy each record and its predictions files into the release folder (byte for byte): record rel path ->
    {"record": path in the release, "predictions": {split: {"file" (relative to the record), "sha256"}}}."""
    out: dict[str, dict[str, Any]] = {}
    placed = run_paths(runs)
    for run in runs:
        place = placed[run.rel]
        target = folder / place
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run.path, target)
        if file_sha256(target) != run.sha256:
            raise BenchkitError(Problem("run record changed while the release was built", file=str(run.path),
                                        hint="build the release again once the runs are finished"))
        predictions: dict[str, dict[str, str]] = {}
        for key, file in sorted(run.record.predictions.items()):
            source = run.folder / file
            if not source.is_file():
                continue  # absent predictions are refused where they are needed (CI, submissions)
            if PurePosixPath(file).is_absolute() or ".." in PurePosixPath(file).parts:
                raise BenchkitError(Problem(f"predictions path '{file}' leaves the run folder", file=str(run.path),
                                            field=f"predictions.{key}", hint="paths are relative to the record"))
            copy = target.parent / file
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            predictions[key] = {"file": file, "sha256": file_sha256(copy)}
        out[run.rel] = {"record": place, "predictions": predictions}
    return out


def selection_state(runs: list[Run]) -> dict[str, Any]:
    """What the scores are measured on and how the checkpoints were chosen, over a set of runs."""
    summary = selection_summary(runs)
    return {"eval_splits": eval_splits(runs), "selection": summary, "selection_text": selection_text(summary),
            "selected_on_dev": on_dev_text(summary)}


def _suite_card_files(suite: Suite) -> list[list[Path]]:
    """The suite card's chain, then each task card's chain (child first)."""
    return [card_files(suite.path)] + [card_files(task_path(card.id)) for card in suite.tasks]


def card_places(suite: Suite) -> dict[Path, str]:
    """Where each card file goes inside the release: ``cards/<its path under its card root>`` (``benchmarks/x.yaml``,
    ``tasks/x/y.yaml``, shared ``_*.yaml`` beside them), so the copies' relative ``extends:`` still resolve. A file
    outside every card root (an ``extends:`` reaching elsewhere) places all files under their common folder."""
    from benchkit.cards.roots import card_roots

    files = list(dict.fromkeys(f for chain in _suite_card_files(suite) for f in chain))
    roots = [*card_roots(), *{f.parent.parent for f in files if f.parent.name == "benchmarks"}]

    def under(path: Path) -> str | None:
        return next((path.relative_to(r).as_posix() for r in roots if path.is_relative_to(r)), None)

    places = {f: under(f) for f in files}
    if any(p is None for p in places.values()) or len(set(places.values())) < len(places):
        common = Path(os.path.commonpath([f.parent for f in files]))
        places = {f: f.relative_to(common).as_posix() for f in files}
    return {f: f"{CARDS_FOLDER}/{place}" for f, place in places.items()}


def copy_cards(suite: Suite, folder: Path) -> dict[Path, str]:
    """Copy the suite and task cards (with their ``extends:`` parents) into the release: verify reads these copies,
    so a release verifies from any folder, not only from the benchmark it was built in."""
    places = card_places(suite)
    for source, place in places.items():
        target = folder / place
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return places


def cards_state(suite: Suite, copies: dict[Path, str] | None = None) -> dict[str, Any]:
    def described(files: list[Path]) -> list[dict[str, str]]:
        return [{"path": display_path(f), "sha256": file_sha256(f),
                 **({"copy": copies[f]} if copies and f in copies else {})} for f in files]

    suite_files, *task_files = _suite_card_files(suite)
    tasks = [{"id": card.id, "version": card.version, "files": described(files)}
             for card, files in zip(suite.tasks, task_files)]
    return {"suite": {"id": suite.card.id, "version": suite.card.version, "files": described(suite_files)},
            "tasks": tasks}


def dvc_state(start: Path, exclude_outs: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The DVC repository's dvc.lock (sha256 and per-stage dep/out hashes), found from ``start`` upwards."""
    import yaml

    for folder in [start.resolve(), *start.resolve().parents]:
        if (folder / ".dvc").is_dir():
            lock = folder / "dvc.lock"
            if not lock.is_file():
                return {"root": str(folder), "lock": None}
            data = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
            stages = {}
            for name, stage in (data.get("stages") or {}).items():
                outs = {o["path"]: o.get("md5") or o.get("hash") for o in stage.get("outs", []) or []}
                if any(out.rstrip("/") in exclude_outs for out in outs):
                    continue  # the stage building this release: its entry is from the previous build
                stages[name] = {"cmd": stage.get("cmd"),
                                "deps": {d["path"]: d.get("md5") or d.get("hash") for d in stage.get("deps", []) or []},
                                "params": stage.get("params") or {}, "outs": outs}
            return {"root": str(folder), "lock": "dvc.lock", "sha256": file_sha256(lock), "stages": stages}
        if (folder / ".git").exists():
            return None
    return None


def kit_state() -> dict[str, Any]:
    from benchkit import __version__
    from benchkit.environment import git_state

    commit, dirty = git_state()
    return {"benchkit_version": __version__, "git_commit": commit, "git_dirty": dirty}


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "entry": entry.slug, "model": entry.model.name, "method": entry.method.name,
        "method_options": entry.method.options, "mode": entry.mode, "prompts": entry.prompts,
        "answer_flags": entry.parse_flags,
        "seeds": sorted({r.record.seed for r in entry.runs}),
        "tasks": sorted({r.record.task.id for r in entry.runs}),
        "partial": entry.suite.partial, "missing": list(entry.suite.missing),
        "suite_score": entry.suite.value, "suite_score_label": entry.suite.label,
        "suite_score_seeds": None if entry.seed_scores is None else
        {"mean": entry.seed_scores.mean, "std": entry.seed_scores.std, "n": entry.seed_scores.n},
        "ci": None if entry.ci is None else {"low": entry.ci[0], "high": entry.ci[1]},
        "task_scores": {c: {"mean": s.score.mean, "std": s.score.std, "n": s.score.n, "seeds": list(s.seeds),
                            "ci": None if s.ci is None else {"low": s.ci[0], "high": s.ci[1]}}
                        for c, s in entry.tasks.items()},
        "costs": entry.costs, "recipes": entry.recipes,
        "eval_splits": entry.eval_splits, "selection": entry.selection, "selection_text": entry.selection_text,
        "selected_on_dev": entry.on_dev_text,
        "searches": entry.searches,  # the searches that chose the recipes (release.searches)
        # not part of the suite score: companion tasks scored from the predictions of their evaluator's runs
        "diagnostics": {key: {"task": d.task_id, "split": d.split, "evaluated_with": d.evaluated_with,
                              "examples": d.examples, "seeds": list(d.seeds), "in_suite_score": False,
                              "metrics": {m: {"mean": s.mean, "std": s.std, "n": s.n,
                                              "ci": None if m not in d.ci else {"low": d.ci[m][0], "high": d.ci[m][1]}}
                                          for m, s in d.metrics.items()}}
                        for key, d in entry.diagnostics.items()},
        # evaluation-only suites (AdvGLUE): the drop from the source runs' scores on their own splits
        **({"drop": drops.manifest_entry(entry.drop)} if entry.drop else {}),
    }


def build(*, suite: Suite, version: str, created: str, forced: bool, release_dir: Path, data_dir: Path,
          runs_dir: Path, data: dict[str, dict[str, DataFileState | None]], runs: list[Run], entries: list[Entry],
          ci: CISettings, submissions: list[dict[str, Any]], kit: dict[str, Any],
          dvc: dict[str, Any] | None, copies: dict[str, dict[str, Any]],
          cards: dict[Path, str] | None = None) -> dict[str, Any]:
    rule = suite.card.rule
    cards = cards_state(suite, cards)
    scored = {t.id: t.scored for t in suite.card.tasks}
    models: dict[tuple[str, str], dict[str, Any]] = {}
    methods: dict[str, dict[str, Any]] = {}
    for run in runs:
        model = run.record.model
        models[(model.name, model.sha256)] = model.model_dump()
        method = run.record.method
        dumped = method.model_dump(exclude_none=True)  # a teacher only where the method distils
        methods[json.dumps(dumped, sort_keys=True)] = dumped
    return {
        "schema": SCHEMA,
        "release": {"suite": suite.card.id, "version": version, "created": created, "forced": forced},
        "suite": {**cards["suite"], "name": suite.card.name, "submission_format": suite.card.submission_format},
        "tasks": [{**task, "name": card.name, "scored": scored.get(card.id, True),
                   "evaluated_with": card.evaluated_with,
                   "data": {split: {"file": state.file, "sha256": state.sha256}
                            for split, state in data.get(card.id, {}).items() if state is not None},
                   "missing_data": [split for split, state in data.get(card.id, {}).items() if state is None]}
                  for task, card in zip(cards["tasks"], suite.tasks)],
        "data_dir": location(data_dir, release_dir),
        "runs_dir": location(runs_dir, release_dir),
        "kit": kit,
        "records_kit": sorted({(r.record.provenance.benchkit_version, r.record.provenance.git_commit or "")
                               for r in runs}),
        "dvc": dvc,
        "score_rule": {"name": rule.name, "label": rule.label},
        "confidence_intervals": ci.describe(),
        "evaluation": selection_state(runs),
        "models": list(models.values()),
        "methods": list(methods.values()),
        "entries": [_entry(e) for e in entries],
        "runs": [{"record": copies[r.rel]["record"], "source": r.rel, "sha256": r.sha256, "task": r.record.task.id,
                  "model": r.record.model.name, "method": r.record.method.name, "seed": r.record.seed,
                  "config_hash": r.record.config_hash, "eval_splits": sorted(r.record.results),
                  "diagnostics": sorted(r.record.diagnostics),
                  **({"source_run": {"task": r.record.source.task.id, "config_hash": r.record.source.config_hash,
                                     "splits": {s: d.source_split for s, d in r.record.drops.items()}}}
                     if r.record.source else {}),
                  "selection": {**r.record.selection_used.model_dump(), "label": r.record.selection_used.label},
                  "predictions": copies[r.rel]["predictions"]}
                 for r in runs],
        "submissions": submissions,
        "files": {},
    }


def release_files(folder: Path) -> dict[str, str]:
    """Every file of a release folder except the manifest: relative posix path -> sha256."""
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST_NAME}


def self_hash(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def clean(value: Any) -> Any:
    """JSON-safe: non-finite floats (e.g. the sd of one seed) become null."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def write(folder: Path, manifest: dict[str, Any]) -> Path:
    manifest = clean(manifest)
    manifest["files"] = release_files(folder)
    manifest["manifest_sha256"] = self_hash(manifest)
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
