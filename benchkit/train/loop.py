"""One run: fine-tune a model on a task with a recipe and a seed, choose the checkpoint (the last epoch, or the best
on a holdout carved from train, or -- labelled -- on dev), evaluate on dev, predict test. A card whose test splits
are labelled (LEPISZCZE) reports on test and selects on dev.

Uses ``transformers.Trainer`` with dynamic padding, length-grouped batches, cached tokenization and fused AdamW; on
a GPU, bf16. Checkpoints every epoch (or ``checkpoint_steps``) make an interrupted run resume where it stopped.
Returns a ``RunRecord``; writing it is the caller's job (so a failed run leaves no record).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from benchkit import __version__
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.evaluate import compute_metrics, evaluate_split, gold_groups
from benchkit.metrics import METRICS
from benchkit.train.heads import head_for
from benchkit.train.memory import PeakMemory
from benchkit.train import distributed
from benchkit.train.costs import inference_latency, optimizer_state_bytes
from benchkit.train.methods import method_spec, prepare_model, save_trained, training_args
from benchkit.train.models import ResolvedModel
from benchkit.contracts.recipe import Recipe
from benchkit.contracts.run_records import (CardRef, Costs, DataFile, MethodRef, ModelRef, Provenance, RunRecord, Selection,
                                    SplitResult, write_predictions)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("benchkit.run")


class Progress(Protocol):
    def start(self, total_steps: int, description: str) -> None: ...
    def update(self, step: int, epoch: float) -> None: ...
    def stop(self) -> None: ...


HOLDOUT = "train_holdout"  # the selection split carved from train (never reported)


@dataclass
class RunSpec:
    suite: CardRef
    card: TaskCard
    data_dir: Path
    data: dict[str, DataFile]
    model: ResolvedModel
    method: str
    method_options: dict[str, Any]
    seed: int
    recipe: Recipe
    recipe_sources: dict[str, str]
    config_hash: str
    folder: Path
    cache_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _trainer_callback(progress: Progress | None, log_file: Path) -> Any:
    from transformers import TrainerCallback

    class Callback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            if progress:
                progress.start(state.max_steps, "training")
                progress.update(state.global_step, state.epoch or 0.0)

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if progress:
                progress.update(state.global_step, state.epoch or 0.0)

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                raise BenchkitError(Problem(f"the training loss became {loss} by step {state.global_step}",
                                            field="learning_rate", hint="lower the learning rate (--set "
                                            "learning_rate=...), or use precision fp32 (--set precision=fp32)"))
            if not state.is_world_process_zero:
                return
            with log_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"step": state.global_step, "epoch": state.epoch, **(logs or {})}) + "\n")

    return Callback()


def _effective_precision(args: Any) -> str:
    return "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"


def _precision(recipe: Recipe, cuda: bool) -> dict[str, bool]:
    import torch

    wanted = recipe.precision
    if wanted == "auto":
        wanted = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if wanted != "fp32" and not cuda:
        wanted = "fp32"  # mixed precision on CPU is slower than fp32 for these model sizes
    return {"bf16": wanted == "bf16", "fp16": wanted == "fp16"}


# Fused AdamW on every device: on a CPU, torch's default per-parameter loop spends about 0.15 s a step on MiniLM's
# 23M parameters, the fused kernel 0.03 s (measured on 2 cores; bench/main_command.py shows the effect end to end).
OPTIMIZER = "adamw_torch_fused"
LOG_STEPS = 10  # the loss is read back (a host synchronisation on a GPU) every this many steps, and checked


def choose_selection(card: TaskCard, frames: dict[str, "pd.DataFrame"], train_split: str, dev_splits: list[str],
                     recipe: Recipe, reports_test: bool = False) -> tuple[dict[str, "pd.DataFrame"], Selection, str | None]:
    """Carve the selection split out of train when the recipe selects on a holdout; returns the frames, the
    selection as recorded, and the split evaluated for selection (None: no selection, the last epoch is kept).

    A card that reports on labelled test splits (LEPISZCZE) selects on its dev split: dev is then not a reported
    split, so no holdout is needed to keep selection and reporting apart."""
    from benchkit.cards.schema import Derive
    from benchkit.loading import split_off

    if recipe.select == "last":
        return frames, Selection(rule="last", train_rows=len(frames[train_split])), None
    if recipe.select_on == "dev" or reports_test:
        split = dev_splits[0]
        return frames, Selection(rule="best", split=split, rows=len(frames[split]),
                                 train_rows=len(frames[train_split])), split
    if len(frames[train_split]) < 2:
        raise BenchkitError(Problem(f"{card.id}: {len(frames[train_split])} training row(s), too few to carve a "
                                    "selection holdout", field="recipe.select", hint="--set select=last"))
    derive = Derive.model_validate({"from": train_split, "fraction": recipe.holdout_fraction, "stratify": True,
                                    "seed": recipe.holdout_seed})
    frames = dict(frames)
    frames[train_split], frames[HOLDOUT] = split_off(card, frames[train_split], derive)
    return frames, Selection(rule="best", split=HOLDOUT, derive=derive.model_dump(by_alias=True),
                             rows=len(frames[HOLDOUT]), train_rows=len(frames[train_split])), HOLDOUT


def run_one(spec: RunSpec, progress: Progress | None = None) -> RunRecord:
    import torch
    import transformers
    from transformers import AutoTokenizer, EarlyStoppingCallback, PrinterCallback, Trainer, TrainingArguments

    from benchkit.loading import to_dataset_dict
    from benchkit.train import checkpoints
    from benchkit.train import frames as frame_cache
    from benchkit.train.features import cache_key, rows_fingerprint, tokenize, tokenizer_sha256
    from benchkit.cards.identity import card_fields
    from benchkit.environment import git_state, hardware, library_versions, now

    quiet_libraries()
    card, recipe = spec.card, spec.recipe
    spec.folder.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    head = head_for(card)
    companions: list[TaskCard] = spec.extra.get("companions", [])
    frame_cache.retain({card.id, *(c.id for c in companions)})  # read once by the grid's data check
    frames = frame_cache.frames(card, spec.data_dir)
    train_split = next(s for s in frames if s.startswith("train"))
    dev_splits = [s for s in frames if s.startswith("dev") and card.splits[s].labels == "present"]
    test_splits = [s for s in frames if s.startswith("test")]
    if not dev_splits:
        raise BenchkitError(Problem(f"{card.id} has no labelled dev split to evaluate on", field="splits",
                                    hint="add a dev split to the card (a file, or derive: from train)"))
    reports_test = any(card.splits[s].labels == "present" for s in test_splits)
    frames, selection, selection_split = choose_selection(card, frames, train_split, dev_splits, recipe, reports_test)
    data = to_dataset_dict(card, frames)
    if recipe.max_train_samples and recipe.max_train_samples < len(data[train_split]):
        data[train_split] = data[train_split].shuffle(seed=spec.seed).select(range(recipe.max_train_samples))
        selection = selection.model_copy(update={"train_rows": recipe.max_train_samples})

    transformers.set_seed(spec.seed)  # before the head is initialised
    tokenizer = AutoTokenizer.from_pretrained(str(spec.model.path))
    tokenizer_hash = tokenizer_sha256(spec.model.path)
    tokenized: dict[str, Any] = {}
    fingerprints: dict[str, str] = {}
    for split in data:
        fingerprints[split] = rows_fingerprint(data[split])
        key = cache_key(fingerprints[split], tokenizer_hash, head, recipe.max_length, card)
        tokenized[split], hit = tokenize(data[split], tokenizer, card, head, recipe.max_length, spec.cache_dir, key)
        log.info("tokenized %s/%s: %d rows (%s)", card.id, split, len(tokenized[split]), "cache" if hit else "new")
        if split != train_split:
            tokenized[split] = _by_length(tokenized[split])

    method = method_spec(spec.method, spec.method_options)
    model = prepare_model(method, head.build(str(spec.model.path), card))
    if head.wrap is not None:
        model = head.wrap(model, recipe.max_length, recipe.window_stride)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    primary = card.primary_metric
    best = selection_split is not None
    gold_selection = (_in_sorted_order(tokenized[selection_split], list(frames[selection_split][_target(card)]))
                      if best else [])
    selection_groups = gold_groups(card, frames[selection_split]) if best else None
    group_selection = (_in_sorted_order(tokenized[selection_split], selection_groups)
                       if selection_groups is not None else None)

    def selection_metrics(prediction: Any) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        predicted = head.decode(logits, card, _columns(tokenized[selection_split]))
        return {primary: compute_metrics(card, gold_selection, predicted, group_selection)[primary]}

    every: dict[str, Any] = ({"strategy": "steps", "steps": recipe.checkpoint_steps} if recipe.checkpoint_steps
                             else {"strategy": "epoch"})
    eval_batch = recipe.eval_batch_size or recipe.batch_size * (8 if cuda else 2)
    checkpoint_dir = spec.folder / "checkpoints"
    args = TrainingArguments(
        output_dir=str(checkpoint_dir), per_device_train_batch_size=distributed.per_process_batch(recipe.batch_size),
        per_device_eval_batch_size=eval_batch, learning_rate=recipe.learning_rate, num_train_epochs=recipe.epochs,
        warmup_steps=recipe.warmup_ratio, weight_decay=recipe.weight_decay, lr_scheduler_type=recipe.lr_scheduler,
        max_grad_norm=recipe.max_grad_norm, gradient_accumulation_steps=recipe.gradient_accumulation,
        seed=spec.seed, data_seed=spec.seed, eval_strategy=every["strategy"] if best else "no",
        eval_steps=every.get("steps"), save_strategy=every["strategy"], save_steps=every.get("steps"),
        save_total_limit=1, save_only_model=False,  # optimizer, scheduler and RNG states too: resumable
        load_best_model_at_end=best, metric_for_best_model=primary if best else None,
        greater_is_better=METRICS.get(next(m.name for m in card.metrics if m.key == primary)).higher_is_better,
        train_sampling_strategy="group_by_length" if recipe.group_by_length else "random", length_column_name="length",
        use_cpu=not cuda, report_to="none", disable_tqdm=True,
        # No host synchronisation per step: the Trainer's per-step NaN filter reads the loss back every step, so
        # it is off, and the loss is checked where it is logged (every LOG_STEPS steps, _trainer_callback).
        logging_strategy="steps", logging_steps=LOG_STEPS, logging_nan_inf_filter=False,
        dataloader_num_workers=2 if cuda else 0, dataloader_pin_memory=cuda, dataloader_persistent_workers=cuda,
        ddp_find_unused_parameters=False,
        **{"optim": OPTIMIZER, **_precision(recipe, cuda), **training_args(method)})  # a method may set optim
    resume = checkpoints.last_checkpoint(checkpoint_dir)
    log_file = spec.folder / "train_log.jsonl"
    if resume is None and distributed.is_main():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        log_file.unlink(missing_ok=True)
    spent = checkpoints.seconds_before(checkpoint_dir, checkpoints.step_of(resume)) if resume else 0.0
    started = time.perf_counter()  # reset right before training; the clock reads it when called

    def clock() -> float:
        """Training seconds of this run, across resumes."""
        return spent + time.perf_counter() - started

    callbacks = [_trainer_callback(progress, log_file), checkpoints.checkpoint_callback(checkpoint_dir, clock, best)]
    pruning = None
    if best and spec.extra.get("prune"):  # a search trial: stop when the median rule says so
        from benchkit.search.pruning import pruning_callback

        pruning = pruning_callback(spec.extra["prune"], primary)
        callbacks.append(pruning)
    if best and recipe.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(recipe.early_stopping_patience))
    trainer_class, teacher_info = _ordered_trainer_class(Trainer), None
    distill = method.options.get("distill")
    if distill is not None:  # the teacher's soft targets join the loss
        from benchkit.task_types import TASK_TYPES
        from benchkit.train.distill import distilling_trainer_class, load_teacher

        if head.loss is not None:
            raise BenchkitError(Problem(f"distill does not support the {head.name} head (it has its own loss)",
                                        field="--method", hint="distil a classification, regression or tagging task"))
        teacher, teacher_info = load_teacher(str(distill["teacher"]), card)
        trainer_class = distilling_trainer_class(trainer_class, teacher, float(distill["temperature"]),
                                                 float(distill["weight"]), TASK_TYPES.get(card.type).target == "number")
    trainer = trainer_class(model=model, args=args, data_collator=head.collate(tokenizer),
                      train_dataset=_model_inputs(tokenized[train_split]),
                      eval_dataset=_model_inputs(tokenized[selection_split]) if best else None,
                      processing_class=tokenizer, compute_metrics=selection_metrics if best else None,
                      compute_loss_func=head.loss, callbacks=callbacks)
    if head.loss is not None:
        trainer.loss_is_scaled_for_ga = False  # the head's loss is a per-batch mean
    trainer.remove_callback(PrinterCallback)  # our progress display and train_log.jsonl replace its prints
    if resume is not None:
        log.info("resuming from %s (step %d, %.1f s of training done)", resume.name, checkpoints.step_of(resume), spent)
    with PeakMemory(cuda) as memory:
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        train_seconds = clock()
        if progress:
            progress.stop()
        curve = _selection_curve(trainer, primary)
        stopped = pruning is not None and pruning.pruned is not None  # a pruned trial: no result to report
        if not stopped:
            started_eval = time.perf_counter()
            results: dict[str, SplitResult] = {}
            predictions: dict[str, str] = {}
            dev_results: dict[str, SplitResult] = {}
            labelled = dev_splits + [s for s in test_splits if card.splits[s].labels == "present"]
            reported = [s for s in labelled if s.startswith("test")] or dev_splits
            for split in dev_splits + test_splits:
                predicted = predict_in_file_order(trainer, tokenized[split], head, card)
                path = Path("predictions") / f"{split}.jsonl"
                if distributed.is_main():
                    write_predictions(spec.folder / path, list(frames[split]["id"]), predicted)
                predictions[split] = str(path)
                if split in labelled:
                    evaluation = evaluate_split(card, split, list(frames[split][_target(card)]), predicted,
                                                resamples=recipe.bootstrap_resamples, seed=spec.seed,
                                                groups=gold_groups(card, frames[split]))
                    (results if split in reported else dev_results)[split] = SplitResult(
                        examples=evaluation.examples, metrics=evaluation.metrics, score=evaluation.score, ci=evaluation.ci)
            diagnostics: dict[str, SplitResult] = {}
            companion_rows: dict[str, int] = {}
            for companion in companions:
                written, scored, rows = _predict_companion(trainer, companion, spec, tokenizer)
                predictions.update(written)
                diagnostics.update(scored)
                companion_rows.update(rows)
            eval_seconds = time.perf_counter() - started_eval
            latency_split = (dev_splits + test_splits)[0]
            latency = inference_latency(trainer.model, tokenized[latency_split], head.collate(tokenizer),
                                        trainer.args.device, latency_split, _effective_precision(args))
            state_bytes = optimizer_state_bytes(trainer.optimizer)
    if stopped:
        if distributed.is_main():
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return _pruned_record(spec, selection, curve, pruning.pruned, train_seconds, memory, trainable, total,
                              len(tokenized[train_split]), float(trainer.state.epoch or 0.0), fingerprints, args)
    epochs_run = float(trainer.state.epoch or recipe.epochs)
    selected_epoch = _selected_epoch(trainer, primary)
    model_dir = (save_model(trainer.model, tokenizer, spec.folder, method, str(spec.model.path)) if recipe.save_model
                 else None) if distributed.is_main() else (MODEL_DIR if recipe.save_model else None)
    if distributed.is_main():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    data_files = {split: entry.model_copy(update={"rows": len(frames[split])}) if split in frames else entry
                  for split, entry in spec.data.items()}
    companion_files = {key: entry.model_copy(update={"rows": companion_rows[key]}) if key in companion_rows else entry
                       for key, entry in spec.extra.get("companion_data", {}).items()}
    train_rows = len(tokenized[train_split])
    commit, dirty = git_state()
    return RunRecord(
        config_hash=spec.config_hash, suite=spec.suite, task=CardRef(id=card.id, version=card.version),
        model=ModelRef(name=spec.model.name, source=spec.model.source, revision=spec.model.revision,
                       sha256=spec.model.sha256),
        method=MethodRef(name=spec.method, options=spec.method_options, teacher=teacher_info), seed=spec.seed,
        recipe=recipe.model_dump(), recipe_sources=spec.recipe_sources, primary_metric=primary, results=results,
        score=sum(r.score for r in results.values()) / len(results), dev_results=dev_results,
        selected_epoch=selected_epoch, selection_curve=curve,
        selection_score=_selection_score(trainer, curve, best), trial=spec.extra.get("trial"),
        selection=selection, predictions=predictions, diagnostics=diagnostics, model_dir=model_dir,
        costs=Costs(trainable_parameters=trainable, total_parameters=total, peak_memory_bytes=memory.peak,
                    peak_memory_kind=memory.kind, train_seconds=round(train_seconds, 3),
                    eval_seconds=round(eval_seconds, 3), train_samples=train_rows, epochs=epochs_run,
                    train_samples_per_second=round(train_rows * epochs_run / max(train_seconds, 1e-9), 3),
                    optimizer_state_bytes=state_bytes, inference_ms_per_example=latency.ms_per_example,
                    inference_batch_size=latency.batch_size, inference_split=latency.split,
                    inference_sample_seed=latency.seed, inference_precision=latency.precision),
        provenance=Provenance(benchkit_version=__version__, git_commit=commit, git_dirty=dirty, data=data_files,
                              rows=fingerprints, companions=companion_files, card=card_fields(card),
                              derived={split: {**spec_.derive.model_dump(by_alias=True), "rows": len(frames[split])}
                                       for split, spec_ in card.splits.items() if spec_.derive and split in frames},
                              libraries=library_versions(), created=now(),
                              hardware={**hardware(), "precision": _effective_precision(args), "optimizer": args.optim,
                                        "processes": distributed.world_size()}),
    )


def predict_in_file_order(trainer: Any, dataset: Any, head: Any, card: TaskCard) -> list[Any]:
    """Predictions for a length-sorted split (see ``_by_length``), returned in the split's file order. Labels are
    left out: the Trainer would otherwise score them with the selection split's metric function."""
    output = trainer.predict(_model_inputs(dataset, labels=False))
    logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    return _in_file_order(dataset, head.decode(logits, card, _columns(dataset)))


def companion_splits(companion: TaskCard, data_dir: Path) -> list[str]:
    """The splits of a companion task that a run of its evaluator predicts: its test splits whose files exist."""
    from benchkit.loading import locate

    return [s for s in companion.splits if s.startswith("test")
            and (w := locate(companion, s, data_dir)) is not None and w.exists]


def _predict_companion(trainer: Any, companion: TaskCard, spec: RunSpec,
                       tokenizer: Any) -> tuple[dict[str, str], dict[str, SplitResult], dict[str, int]]:
    """Predict the test splits of a task evaluated with this task's model (GLUE AX with the MNLI model, AX-b and
    AX-g with the RTE model); score those whose labels are present (AX-b, AX-g; GLUE AX hides them) with the
    companion card's metrics and a bootstrap CI. Returns, keyed "<task>:<split>", the predictions files, the results
    and the rows predicted."""
    from benchkit.errors import BenchkitError
    from benchkit.loading import to_dataset_dict
    from benchkit.train import frames as frame_cache
    from benchkit.train.features import tokenize

    splits = companion_splits(companion, spec.data_dir)
    if not splits:
        log.warning("%s: no test data for %s under %s; skipped", spec.card.id, companion.id, spec.data_dir)
        return {}, {}, {}
    try:
        frames = frame_cache.frames(companion, spec.data_dir, splits)
    except BenchkitError as err:
        log.warning("%s: cannot read %s: %s", spec.card.id, companion.id, err)
        return {}, {}, {}
    data = to_dataset_dict(companion, frames)
    head = head_for(companion)
    written: dict[str, str] = {}
    scored: dict[str, SplitResult] = {}
    for split in splits:
        encoded, _ = tokenize(data[split], tokenizer, companion, head, spec.recipe.max_length, None, "")
        encoded = _by_length(encoded)
        path = Path("predictions") / companion.id.replace("/", "__") / f"{split}.jsonl"
        predicted = predict_in_file_order(trainer, encoded, head, companion)  # file order: AX-g pairs stay adjacent
        if distributed.is_main():
            write_predictions(spec.folder / path, list(data[split]["id"]), predicted)
        key = f"{companion.id}:{split}"
        written[key] = str(path)
        if companion.splits[split].labels == "present":
            evaluation = evaluate_split(companion, split, list(frames[split][_target(companion)]), predicted,
                                        resamples=spec.recipe.bootstrap_resamples, seed=spec.seed)
            scored[key] = SplitResult(examples=evaluation.examples, metrics=evaluation.metrics,
                                      score=evaluation.score, ci=evaluation.ci)
    return written, scored, {key: len(frames[key.rsplit(":", 1)[1]]) for key in written}


def _ordered_trainer_class(base: type) -> type:
    """transformers 5 applies ``group_by_length`` to evaluation batches too, which returns predictions in a shuffled
    order; evaluation here must stay in dataset order (the inputs are pre-sorted by length instead, see _sorted)."""
    from torch.utils.data import SequentialSampler

    class OrderedEvalTrainer(base):  # type: ignore[misc, valid-type]
        def _get_eval_sampler(self, eval_dataset: Any) -> Any:
            return SequentialSampler(eval_dataset) if eval_dataset is not None else None

    return OrderedEvalTrainer


def quiet_libraries() -> None:
    """Library chatter goes to the run's log file (our handler on the 'transformers' logger), not the console."""
    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.disable_default_handler()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    import warnings

    # peft asks transformers a deprecated question on every adapter; the answer is right, the warning is noise
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def _target(card: TaskCard) -> str:
    from benchkit.task_types import TASK_TYPES

    return TASK_TYPES.get(card.type).target_field


def _columns(dataset: Any) -> dict[str, Any]:
    return {name: dataset[name] for name in ("tokens", "word_index", "candidates") if name in dataset.column_names}


def _by_length(dataset: Any) -> Any:
    """Evaluation batches of similar lengths pad less; ``_order`` remembers each row's place in the file."""
    import numpy as np

    order = np.argsort(-np.asarray(dataset["length"]), kind="stable")
    return dataset.add_column("_order", list(range(len(dataset)))).select(order)


def _in_sorted_order(dataset: Any, values: list[Any]) -> list[Any]:
    return [values[i] for i in dataset["_order"]]


def _in_file_order(dataset: Any, values: list[Any]) -> list[Any]:
    out: list[Any] = [None] * len(values)
    for position, value in zip(dataset["_order"], values):
        out[position] = value
    return out


def _model_inputs(dataset: Any, labels: bool = True) -> Any:
    drop = [c for c in ("id", "tokens", "word_index", "candidates", "_order") if c in dataset.column_names]
    if not labels and "labels" in dataset.column_names:
        drop.append("labels")
    return dataset.remove_columns(drop)


MODEL_DIR = "model"  # the run's final model, inside its folder


def save_model(model: Any, tokenizer: Any, folder: Path, method: Any, base: str) -> str:
    """The run's final model (the reported checkpoint: the selected epoch's weights) and its tokenizer, saved to
    ``<folder>/model/``, built aside and renamed into place (``benchkit.atomic.install_dir``), so the folder holds a
    complete model or none. Returns the path relative to ``folder`` (``RunRecord.model_dir``)."""
    import tempfile

    from benchkit.atomic import install_dir

    work = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIR}.", suffix=".building", dir=folder))
    try:
        save_trained(method, model, work, base)
        tokenizer.save_pretrained(str(work))
        install_dir(work, folder / MODEL_DIR)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return MODEL_DIR


def _selection_curve(trainer: Any, primary: str) -> list[tuple[float, float]]:
    """[epoch, primary metric on the selection split] at each evaluation (across resumes: the log history is part
    of the checkpoint)."""
    return [(float(e["epoch"]), float(e[f"eval_{primary}"])) for e in trainer.state.log_history
            if f"eval_{primary}" in e]


def _selection_score(trainer: Any, curve: list[tuple[float, float]], best: bool) -> float | None:
    if not best or not curve:
        return None
    return float(trainer.state.best_metric) if trainer.state.best_metric is not None else curve[-1][1]


def _pruned_record(spec: RunSpec, selection: Selection, curve: list[tuple[float, float]], pruned: Any,
                   train_seconds: float, memory: Any, trainable: int, total: int, train_rows: int, epochs: float,
                   fingerprints: dict[str, str], args: Any) -> RunRecord:
    """The record of a search trial the median rule stopped: its curve up to the stop, no reported results."""
    from benchkit.cards.identity import card_fields
    from benchkit.environment import git_state, hardware, library_versions, now

    commit, dirty = git_state()
    return RunRecord(
        config_hash=spec.config_hash, suite=spec.suite, task=CardRef(id=spec.card.id, version=spec.card.version),
        model=ModelRef(name=spec.model.name, source=spec.model.source, revision=spec.model.revision,
                       sha256=spec.model.sha256),
        method=MethodRef(name=spec.method, options=spec.method_options), seed=spec.seed,
        recipe=spec.recipe.model_dump(), recipe_sources=spec.recipe_sources, primary_metric=spec.card.primary_metric,
        results={}, score=float("nan"), selected_epoch=None, selection=selection, selection_curve=curve,
        selection_score=None, pruned=pruned, trial=spec.extra.get("trial"), predictions={},
        costs=Costs(trainable_parameters=trainable, total_parameters=total, peak_memory_bytes=memory.peak,
                    peak_memory_kind=memory.kind, train_seconds=round(train_seconds, 3), eval_seconds=0.0,
                    train_samples=train_rows, epochs=epochs,
                    train_samples_per_second=round(train_rows * epochs / max(train_seconds, 1e-9), 3)),
        provenance=Provenance(benchkit_version=__version__, git_commit=commit, git_dirty=dirty, data=spec.data,
                              rows=fingerprints, card=card_fields(spec.card), libraries=library_versions(),
                              created=now(),
                              hardware={**hardware(), "precision": _effective_precision(args), "optimizer": args.optim,
                                        "processes": distributed.world_size()}))


def _selected_epoch(trainer: Any, primary: str) -> float | None:
    best = trainer.state.best_metric
    if best is None:
        return float(trainer.state.epoch) if trainer.state.epoch else None
    for entry in trainer.state.log_history:
        if entry.get(f"eval_{primary}") == best:
            return float(entry["epoch"])
    return None

