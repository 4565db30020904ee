"""Evaluation-only suites (AdvGLUE): `benchkit run` trains nothing, it predicts with the models of finished runs.

A task is evaluation-only when it has no train split, has a labelled split, and its card names in ``evaluated_with``
tasks of OTHER suites (AdvGLUE's sst2: glue/sst2 and glue-mini/sst2). For each such task, every finished run under
``--out`` whose task is one of those evaluators (a "source run") is evaluated:

* its saved model (``<run>/model/``, ``RunRecord.model_dir``) predicts the task's labelled splits; the model's head
  outputs indices into the evaluating card's labels, so the saved config's ``id2label`` must equal the task card's
  ``labels.names`` (else a one-line error);
* the predictions are scored with the task card's metrics and a bootstrap CI (``scoring.split.evaluate_split``);
* per split, the drop from the source run's score on its own split (the split of the same name, else its dev split):
  both scored with THIS card's metrics, the source's from its dev predictions file and the gold of its data (found
  with ``--reference-data-dir``, else in the data its suite ships, and checked against the sha256 the run recorded),
  with a bootstrap CI of the difference that resamples the two example sets independently
  (``bootstrap.unpaired_split_ci``: ``scoring.bootstrap.unpaired_bootstrap``'s draws, from the metrics' statistics).

One record per (source run, task), in the ``RunRecord`` contract (``source`` and ``drops`` set; model, method, seed,
recipe and checkpoint selection are the source run's), written atomically under
``<out>/runs/<suite>/<task>/<model>/<method>/seed<N>-<hash>/`` and keyed by a hash of the card version, the data
sha256 and the source run's configuration hash, so a rerun skips what is done and ``benchkit release`` reads the
records like any others. Bad input (unknown keys in a shared file, unreadable data, label orders that differ, the
source's data not found) stops everything with one line per problem before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.cards import catalog, roots
from benchkit.cards.catalog import Suite
from benchkit.cards.identity import card_sha256
from benchkit.cards.schema import TaskCard
from benchkit.contracts.run_records import CardRef, DataFile, Drop, RunRecord
from benchkit.errors import BenchkitError, Problem

log = logging.getLogger("benchkit.run")


def is_evaluation_only(card: TaskCard) -> bool:
    return (bool(card.evaluators) and all(e.split("/", 1)[0] != card.suite for e in card.evaluators)
            and not any(s.startswith("train") for s in card.splits)
            and any(spec.labels == "present" for spec in card.splits.values()))


def evaluation_only_target(target: str | None, only_tasks: tuple[str, ...]) -> tuple[Suite, list[TaskCard]] | None:
    """The suite and tasks ``benchkit run TARGET [--task ...]`` names when every one of them is evaluation-only;
    None otherwise (a training run: ``execute.runs.resolve_run_inputs`` handles it and its errors)."""
    from benchkit.execute.runs import DEFAULT_SUITE

    target = target or DEFAULT_SUITE
    if catalog.is_suite_ref(target):
        suite = catalog.load_suite(target)
        tasks = list(suite.tasks)
    else:
        card = catalog.load_task(target)
        if card.suite not in roots.suite_ids():
            return None
        suite = catalog.load_suite(card.suite)
        tasks = [card]
    if only_tasks:
        known = {t.id: t for t in suite.tasks}
        if any(t not in known for t in only_tasks):
            return None
        tasks = [known[t] for t in only_tasks]
    if not tasks or not all(is_evaluation_only(t) for t in tasks):
        return None
    return suite, tasks


@dataclass
class Evaluation:
    """One planned (source run, task)."""

    card: TaskCard
    source_path: Path  # the source run's record.json
    source: RunRecord
    config_hash: str
    folder: Path
    data: dict[str, DataFile]

    @property
    def label(self) -> str:
        return f"{self.card.id} {self.source.model.name} {self.source.method.name} seed {self.source.seed}"


@dataclass
class EvaluationResult:
    done: list[tuple[Evaluation, RunRecord]] = field(default_factory=list)
    skipped: list[tuple[Evaluation, Path]] = field(default_factory=list)
    failed: list[tuple[Evaluation, str]] = field(default_factory=list)


def evaluation_hash(card: TaskCard, data: dict[str, DataFile], source_hash: str) -> str:
    config = {"task": card.id, "task_version": card.version, "card": card_sha256(card),
              "data": {s: d.sha256 for s, d in sorted(data.items())}, "source_run": source_hash}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def model_slug(name: str) -> str:
    """As ``train.models.ResolvedModel.slug``: the model part of a run folder."""
    return name.replace("/", "--").replace("@", "-at-").strip(".-") or "model"


def labelled_splits(card: TaskCard) -> list[str]:
    return [s for s, spec in card.splits.items() if spec.labels == "present"]


def source_split(split: str, source: RunRecord) -> str | None:
    """The source run's split a split of this task is compared with: the same name, else its only dev split."""
    if split in source.results:
        return split
    dev = [s for s in source.results if s.startswith("dev")]
    return dev[0] if len(dev) == 1 else None


def _suites_of(task_ids: list[str]) -> list[str]:
    return sorted({t.split("/", 1)[0] for t in task_ids})


def plan_evaluations(suite: Suite, tasks: list[TaskCard], data_dir: Path, out: Path, *, models: tuple[str, ...] = (),
                     seeds: list[int] | None = None, method: str | None = None) -> list[Evaluation]:
    """Every (finished source run, task) under ``out/runs``, optionally only those of the given model names, seeds
    and method. Raises when no source run is found for any task (run the evaluators' suite first)."""
    from benchkit.contracts.run_records import iter_records
    from benchkit.execute.plan import data_files

    runs_dir = out / "runs"
    sources = [(p, r) for p, r in iter_records(runs_dir) if r.source is None and r.results]
    plan: list[Evaluation] = []
    for card in tasks:
        data = data_files(card, data_dir)
        found = [(p, r) for p, r in sources if r.task.id in card.evaluators and (not models or r.model.name in models)
                 and (seeds is None or r.seed in seeds) and (method is None or r.method.name == method)]
        for path, record in sorted(found, key=lambda f: (f[1].task.id, f[1].model.name, f[1].method.name, f[1].seed,
                                                         str(f[0]))):
            digest = evaluation_hash(card, data, record.config_hash)
            folder = (runs_dir / suite.card.id / card.id.split("/", 1)[1] / model_slug(record.model.name) /
                      record.method.name / f"seed{record.seed}-{digest[:10]}")
            plan.append(Evaluation(card, path, record, digest, folder, data))
    if not plan:
        evaluators = [e for card in tasks for e in card.evaluators]
        picked = " of the given --model/--seeds/--method" if models or seeds is not None or method else ""
        first = _suites_of(evaluators)
        raise BenchkitError(Problem(
            f"no finished run{picked} of {', '.join(dict.fromkeys(evaluators))} under this folder: nothing to "
            f"evaluate {suite.card.id} with", file=str(runs_dir), field="--out",
            hint=f"{suite.card.id} trains nothing; run {' or '.join(first)} first with the same --out (e.g. "
                 f"'benchkit run {first[-1]} --out {out}'), then rerun this command"))
    return plan


def _check_reference(source_card: TaskCard, record: RunRecord, split: str, given: Path | None,
                     found: dict[tuple[str, str], Path]) -> Path | Problem:
    """The data folder holding the source split's file with the sha256 the run recorded: --reference-data-dir,
    else the data the source's suite ships (glue-mini)."""
    from benchkit.files import file_sha256

    entry = record.provenance.data.get(split)
    if entry is None:
        return Problem(f"the record names no data file for split '{split}'", field=f"provenance.data.{split}",
                       hint="rerun that run with the current benchkit")
    key = (source_card.id, entry.sha256)
    if key in found:
        return found[key]
    candidates = [d for d in (given, catalog.shipped_data_dir(source_card)) if d is not None]
    differing: list[str] = []
    for folder in candidates:
        path = folder / entry.file
        if path.is_file():
            if file_sha256(path) == entry.sha256:
                found[key] = folder
                return folder
            differing.append(str(path))
    what = f"the {split} data of the {record.task.id} run ({entry.file}, sha256 {entry.sha256[:12]})"
    if differing:
        return Problem(f"{what} differ from {', '.join(differing)}", field="--reference-data-dir",
                       hint="pass --reference-data-dir with the data that run used (its --data-dir)")
    return Problem(f"cannot find {what} to compute the drop", field="--reference-data-dir",
                   hint=f"pass --reference-data-dir DIR, the --data-dir of the {source_card.suite} runs")


def preflight(plan: list[Evaluation], runs_dir: Path, reference_data_dir: Path | None,
              echo: Callable[[str], None]) -> tuple[list[Evaluation], dict[tuple[str, str, str], Any]]:
    """Before anything is written: what can be evaluated, and the gold frames of the source splits (keyed by source
    task, split and file sha256). A source run without a saved model is left out with a warning (one line, with a hint); a
    label order that differs, a source card of another version, a split that cannot be paired, source data not found
    or unreadable are errors (all raised together)."""
    from transformers import AutoConfig

    from benchkit.validation.frames import load_frames

    problems: list[Problem] = []
    kept: list[Evaluation] = []
    folders: dict[tuple[str, str], Path] = {}
    gold: dict[tuple[str, str, str], Any] = {}
    for ev in plan:
        folder = ev.source_path.parent
        model_dir = folder / ev.source.model_dir if ev.source.model_dir else None
        if model_dir is None or not model_dir.is_dir():
            warning = Problem(
                f"the {ev.source.task.id} run kept no model, so {ev.card.id} cannot be predicted with it",
                file=str(ev.source_path), field="model_dir", severity="warning",
                hint="runs keep their model unless --set save_model=false (or made before benchkit kept models): "
                     "move that run's folder away and run it again to retrain it")
            echo(f"warning: {warning.format()}")
            continue
        source_card = catalog.load_task(ev.source.task.id)
        if source_card.version != ev.source.task.version:
            problems.append(Problem(f"the {ev.source.task.id} run used card version {ev.source.task.version}, but "
                                    f"the card is {source_card.version} now", file=str(ev.source_path),
                                    field="task.version", hint="rerun that run with the current card"))
            continue
        if ev.card.labels is not None:
            config = AutoConfig.from_pretrained(str(model_dir))
            names = [str(config.id2label[i]) for i in sorted(config.id2label)]
            if names != list(ev.card.labels.names):
                problems.append(Problem(
                    f"the model of the {ev.source.task.id} run predicts the labels {names} (in that order), but "
                    f"{ev.card.id} lists {ev.card.labels.names}", file=str(roots.task_path(ev.card.id)),
                    field="labels.names", hint=f"list the labels in the order of {ev.source.task.id}'s card"))
                continue
        for split in labelled_splits(ev.card):
            paired = source_split(split, ev.source)
            if paired is None:
                problems.append(Problem(
                    f"cannot tell which split of the {ev.source.task.id} run to compare {ev.card.id} {split} with "
                    f"(it has {sorted(ev.source.results)})", file=str(roots.task_path(ev.card.id)),
                    field=f"splits.{split}", hint="name the split like one of the source task's splits"))
                continue
            where = _check_reference(source_card, ev.source, paired, reference_data_dir, folders)
            if isinstance(where, Problem):
                problems.append(Problem(where.message, file=str(ev.source_path), field=where.field, hint=where.hint))
                continue
            key = (source_card.id, paired, ev.source.provenance.data[paired].sha256)
            if key not in gold:
                try:
                    gold[key] = load_frames(source_card, where, [paired])[paired]
                except BenchkitError as err:
                    problems.extend(err.problems)
        kept.append(ev)
    if problems:
        raise BenchkitError(*dict.fromkeys(problems))
    return kept, gold


def _predict(model_dir: Path, card: TaskCard, frames: dict[str, Any], recipe: dict[str, Any]) -> tuple[
        dict[str, list[Any]], dict[str, str], str]:
    """Predictions per split in file order, the rows' fingerprints, and the precision used."""
    import torch

    from benchkit.loading import to_dataset_dict
    from benchkit.train.features import rows_fingerprint
    from benchkit.train.inference import predict_frames, trained_model

    model = trained_model(model_dir, card)  # the label order was checked against the saved config
    predicted = predict_frames(model, model_dir, card, frames, recipe)
    data = to_dataset_dict(card, frames)
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return predicted, {s: rows_fingerprint(data[s]) for s in frames}, "bf16" if bf16 else "fp32"


def _drop(ev: Evaluation, split: str, gold: list[Any], values: list[Any], score: float, source_card: TaskCard,
          reference: dict[tuple[str, str, str], Any], resamples: int) -> tuple[Drop, DataFile]:
    """The drop on ``split`` from the source run's score on its own split, with this card's metrics, from its
    predictions and gold (copied beside this record's predictions), with a bootstrap CI of the difference; and the
    source's data file of that split."""
    from benchkit.atomic import write_atomic
    from benchkit.predictions import read_predictions
    from benchkit.scoring.bootstrap import unpaired_split_ci
    from benchkit.scoring.scores import task_score
    from benchkit.scoring.task import compute_metrics, gold_targets

    card, source = ev.card, ev.source
    paired = source_split(split, source)
    assert paired is not None  # checked by preflight
    entry = source.provenance.data[paired]
    gold_frame = reference[(source_card.id, paired, entry.sha256)]  # read by preflight
    source_gold = gold_targets(source_card, gold_frame)
    source_predicted = read_predictions(ev.source_path.parent / source.predictions[paired], source_card, gold_frame)
    source_metrics = compute_metrics(card, source_gold, source_predicted)
    copy = Path("predictions") / "source" / f"{paired}.jsonl"
    write_atomic(ev.folder / copy, "".join(json.dumps({"id": i, "gold": g, "prediction": p}, ensure_ascii=False)
                                           + "\n" for i, g, p in zip(gold_frame["id"], source_gold, source_predicted)))
    ci = None
    if resamples > 0:
        difference = unpaired_split_ci(card, source_gold, source_predicted, gold, values, resamples=resamples,
                                       seed=source.seed)
        ci = {"of": "drop", "low": difference.low, "high": difference.high, "level": difference.level,
              "resamples": difference.resamples, "method": difference.method, "seed": difference.seed,
              "unit": difference.unit}
    source_score = task_score(source_metrics, card.score_metrics)
    return Drop(split=split, source_split=paired, score=score, source_score=source_score,
                source_metrics=source_metrics, source_examples=len(source_gold), value=source_score - score, ci=ci,
                source_predictions=str(copy)), entry


def evaluate(ev: Evaluation, frames: dict[str, Any], suite: Suite, runs_dir: Path,
             reference: dict[tuple[str, str, str], Any]) -> RunRecord:
    """Predict, score and compare one (source run, task); writes the predictions files, returns the record."""
    import torch

    from benchkit import __version__
    from benchkit.cards.identity import card_fields
    from benchkit.contracts.run_records import Costs, Provenance, SourceRun, SplitResult, write_predictions
    from benchkit.environment import git_state, hardware, library_versions, now
    from benchkit.scoring.split import evaluate_split
    from benchkit.scoring.task import gold_targets
    from benchkit.train.memory import PeakMemory

    card, source = ev.card, ev.source
    source_folder = ev.source_path.parent
    model_dir = source_folder / (source.model_dir or "")
    resamples = int(source.recipe.get("bootstrap_resamples", 1000))
    started = time.perf_counter()
    with PeakMemory(torch.cuda.is_available()) as memory:
        predicted, fingerprints, precision = _predict(model_dir, card, frames, source.recipe)
    results: dict[str, SplitResult] = {}
    predictions: dict[str, str] = {}
    drops: dict[str, Drop] = {}
    source_card = catalog.load_task(source.task.id)
    source_data: dict[str, DataFile] = {}
    for split, values in predicted.items():
        path = Path("predictions") / f"{split}.jsonl"
        write_predictions(ev.folder / path, list(frames[split]["id"]), values)
        predictions[split] = str(path)
        gold = gold_targets(card, frames[split])
        evaluation = evaluate_split(card, split, gold, values, resamples=resamples, seed=source.seed)
        results[split] = SplitResult(examples=evaluation.examples, metrics=evaluation.metrics, score=evaluation.score,
                                     ci=evaluation.ci)
        drop, source_file = _drop(ev, split, gold, values, evaluation.score, source_card, reference, resamples)
        drops[split], source_data[drop.source_split] = drop, source_file
        predictions[f"source:{split}"] = drop.source_predictions
    eval_seconds = time.perf_counter() - started
    data = {s: d.model_copy(update={"rows": len(frames[s])}) if s in frames else d for s, d in ev.data.items()}
    commit, dirty = git_state()
    return RunRecord(
        config_hash=ev.config_hash, suite=CardRef(id=suite.card.id, version=suite.card.version),
        task=CardRef(id=card.id, version=card.version), model=source.model, method=source.method, seed=source.seed,
        recipe=source.recipe, recipe_sources=source.recipe_sources, primary_metric=card.primary_metric,
        results=results, score=sum(r.score for r in results.values()) / len(results),
        selected_epoch=source.selected_epoch, selection=source.selection, predictions=predictions,
        costs=Costs(trainable_parameters=source.costs.trainable_parameters,
                    total_parameters=source.costs.total_parameters, peak_memory_bytes=memory.peak,
                    peak_memory_kind=memory.kind, train_seconds=0.0, eval_seconds=round(eval_seconds, 3),
                    train_samples=0, epochs=0.0, train_samples_per_second=0.0),
        provenance=Provenance(benchkit_version=__version__, git_commit=commit, git_dirty=dirty, data=data,
                              rows=fingerprints, card=card_fields(card), libraries=library_versions(),
                              created=now(),
                              hardware={**hardware(), "precision": precision}),
        source=SourceRun(task=source.task, config_hash=source.config_hash,
                         record=ev.source_path.relative_to(runs_dir).as_posix(),
                         model_dir=model_dir.relative_to(runs_dir).as_posix(), data=source_data),
        drops=drops,
    )


def _read_frames(suite: Suite, tasks: list[TaskCard], data_dir: Path) -> dict[str, dict[str, Any]]:
    """The suite's checks across cards, then every task's labelled splits, read and checked: all problems at once."""
    from benchkit.validation.frames import load_frames
    from benchkit.validation.suite_checks import evaluator_labels, unread_keys

    problems = [p for p in evaluator_labels(suite) + unread_keys(suite, data_dir) if p.severity == "error"]
    frames: dict[str, dict[str, Any]] = {}
    for card in tasks:
        try:
            frames[card.id] = load_frames(card, data_dir, labelled_splits(card))
        except BenchkitError as err:
            problems.extend(err.problems)
    if problems:  # the cards of one shared file report its faults once each
        raise BenchkitError(*dict.fromkeys(problems))
    return frames


def run_evaluation_only(suite: Suite, tasks: list[TaskCard], *, data_dir: Path | None, out: Path,
                        reference_data_dir: Path | None, models: tuple[str, ...] = (), seeds: list[int] | None = None,
                        method: str | None = None, echo: Callable[[str], None] = print) -> EvaluationResult:
    from benchkit.contracts.run_records import iter_records, write_record
    from benchkit.execute.local import run_log

    directory = catalog.suite_data_dir(suite, data_dir)
    runs_dir = out / "runs"
    frames = _read_frames(suite, tasks, directory)
    plan = plan_evaluations(suite, tasks, directory, out, models=models, seeds=seeds, method=method)
    for card in tasks:
        if not any(ev.card.id == card.id for ev in plan):
            echo(f"note: {card.id}: no finished run of {' or '.join(card.evaluators)} under {runs_dir}; not evaluated")
    finished = {record.config_hash: path for path, record in iter_records(runs_dir)}
    todo = [ev for ev in plan if ev.config_hash not in finished]
    todo, reference = preflight(todo, runs_dir, reference_data_dir, echo)
    if not todo and not any(ev.config_hash in finished for ev in plan):
        raise BenchkitError(Problem(f"none of the {len(plan)} source run(s) kept its model: nothing to evaluate",
                                    file=str(runs_dir), field="model_dir",
                                    hint="rerun those runs (their folders moved away) so that they keep their models"))
    echo(f"plan: {len(plan)} evaluation(s) of {suite.card.id} with the models of finished runs, "
         f"{len(todo)} to do; data {directory}")
    result = EvaluationResult()
    for ev in plan:
        if ev.config_hash in finished:
            result.skipped.append((ev, finished[ev.config_hash]))
            echo(f"skip  {ev.label}: done earlier ({finished[ev.config_hash].parent})")
            continue
        if ev not in todo:
            continue
        ev.folder.mkdir(parents=True, exist_ok=True)
        with run_log(ev.folder):
            try:
                log.info("evaluate %s with the model of %s (config %s)", ev.label, ev.source_path.parent,
                         ev.config_hash)
                record = evaluate(ev, frames[ev.card.id], suite, runs_dir, reference)
                write_record(ev.folder, record)
                result.done.append((ev, record))
                echo(f"done  {ev.label}: {_summary(record)}")
            except Exception as err:  # noqa: BLE001  (one failing evaluation must not stop the others)
                log.error("evaluation failed:\n%s", traceback.format_exc())
                message = " ".join(str(err).split()) or type(err).__name__
                result.failed.append((ev, message))
                echo(f"FAIL  {ev.label}: {message[:300]} (log: {ev.folder / 'run.log'})")
    echo(f"{len(result.done)} evaluation(s) done, {len(result.skipped)} skipped (done earlier), "
         f"{len(result.failed)} failed")
    echo(f"results: {runs_dir.resolve()}")
    return result


def _summary(record: RunRecord) -> str:
    """ "dev accuracy 55.00; drop from glue-mini/sst2 dev 12.30 [3.10, 22.00]" """
    parts = []
    for split, result in record.results.items():
        text = f"{split} {record.primary_metric} {result.metrics[record.primary_metric] * 100:.2f}"
        drop = record.drops.get(split)
        if drop is not None and record.source is not None:
            ci = f" [{drop.ci['low'] * 100:.2f}, {drop.ci['high'] * 100:.2f}]" if drop.ci else ""
            text += f", drop from {record.source.task.id} {drop.source_split} {drop.value * 100:.2f}{ci}"
        parts.append(text)
    return "; ".join(parts)
