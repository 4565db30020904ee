"""One run: fine-tune a model on a task with a recipe and a seed, choose the checkpoint (the last epoch, or the best
on a holdout carved from train, or -- labelled -- on dev; ``train.selection``), evaluate on dev, predict test. A card
whose test splits are labelled (LEPISZCZE) reports on test and selects on dev.

Uses ``transformers.Trainer`` with dynamic padding, length-grouped batches, cached tokenization and fused AdamW; on
a GPU, bf16. Checkpoints every epoch (or ``checkpoint_steps``) make an interrupted run resume where it stopped.
Returns a ``RunRecord``; writing it is the caller's job (so a failed run leaves no record).

``run_one`` is its steps in order: read the data, tokenize it, build the model and method, the Trainer, train,
predict and score, save the model, and the record. The order is part of the result: the seed is set before the
head is initialised, and the teacher (distillation) is loaded after the student.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchkit import __version__
from benchkit.cards.schema import TaskCard
from benchkit.contracts.recipe import Recipe
from benchkit.contracts.run_records import (
    CardRef,
    Costs,
    MethodRef,
    ModelRef,
    Provenance,
    RunRecord,
    Selection,
    SplitResult,
    write_predictions,
)
from benchkit.errors import BenchkitError, Problem
from benchkit.metrics import METRICS
from benchkit.scoring.split import evaluate_split
from benchkit.scoring.task import gold_groups, gold_targets
from benchkit.train import decoders, distributed
from benchkit.train.costs import Latency, inference_latency, optimizer_state_bytes
from benchkit.train.heads import head_for
from benchkit.train.inference import (
    encode_for_prediction,
    model_inputs,
    ordered_trainer_class,
    predict_in_file_order,
    quiet_libraries,
)
from benchkit.train.memory import PeakMemory
from benchkit.train.methods import MethodSpec, method_spec, prepare_model, save_trained, training_args
from benchkit.train.selection import (
    choose_selection,
    selected_epoch,
    selection_curve,
    selection_metrics,
    selection_score,
)
from benchkit.train.spec import Progress, RunSpec

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("benchkit.run")

# Fused AdamW on every device: on a CPU, torch's default per-parameter loop spends about 0.15 s a step on MiniLM's
# 23M parameters, the fused kernel 0.03 s (measured on 2 cores; bench/main_command.py shows the effect end to end).
OPTIMIZER = "adamw_torch_fused"
LOG_STEPS = 10  # the loss is read back (a host synchronisation on a GPU) every this many steps, and checked
MODEL_DIR = "model"  # the run's final model, inside its folder


@dataclass
class RunData:
    """A run's data: its frames (the selection holdout carved), the part each split plays, and the tokenized splits
    (evaluation splits sorted by length)."""
    frames: dict[str, pd.DataFrame]
    datasets: Any  # the frames as a DatasetDict (train capped at max_train_samples)
    train_split: str
    dev_splits: list[str]
    test_splits: list[str]
    selection: Selection
    selection_split: str | None  # None: no selection, the last epoch is kept
    tokenized: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)

    @property
    def best(self) -> bool:
        return self.selection_split is not None


@dataclass
class Scored:
    """What predicting the evaluation splits (and the companion tasks') produced."""
    results: dict[str, SplitResult]  # the reported splits
    dev_results: dict[str, SplitResult]  # dev, when test is reported
    predictions: dict[str, str]  # split (or "<task>:<split>") -> predictions file, relative to the run folder
    diagnostics: dict[str, SplitResult]  # the companion tasks' labelled splits
    companion_rows: dict[str, int]
    eval_seconds: float
    latency: Latency
    optimizer_state_bytes: int


@dataclass
class Trained:
    """What training produced, for the record."""
    trainer: Any
    args: Any
    trainable: int
    total: int
    train_seconds: float
    memory: PeakMemory
    curve: list[tuple[float, float]]
    teacher: dict[str, Any] | None
    pruned: dict[str, Any] | None  # a search trial the median rule stopped
    scored: Scored | None = None  # None when pruned


class Clock:
    """Training seconds of this run, across resumes: those spent before its checkpoint, and since ``start``."""

    def __init__(self, spent: float) -> None:
        self.spent = spent
        self.start()

    def start(self) -> None:
        self.started = time.perf_counter()

    def __call__(self) -> float:
        return self.spent + time.perf_counter() - self.started


def run_one(spec: RunSpec, progress: Progress | None = None) -> RunRecord:
    import torch
    import transformers

    if spec.mode != "fine-tune":  # a generative model asked with the card's prompt: nothing to train
        from benchkit.train.prompted import run_prompted

        return run_prompted(spec, progress)
    quiet_libraries()
    spec.folder.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    head = head_for(spec.card, spec.recipe)
    data = read_data(spec)
    transformers.set_seed(spec.seed)  # before the head is initialised
    tokenizer = tokenize_splits(spec, data, head)
    method = method_spec(spec.method, spec.method_options)
    model = build_model(spec, method, head)
    checkpoint_dir = spec.folder / "checkpoints"
    args = training_arguments(spec, method, cuda, data.best, checkpoint_dir)
    trained = train(spec, data, head, method, model, tokenizer, args, progress, cuda)
    if trained.pruned is not None:
        if distributed.is_main():
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return pruned_record(spec, data, trained)
    model_dir = MODEL_DIR if spec.recipe.save_model else None
    if model_dir is not None and distributed.is_main():  # the other data-parallel processes record the same folder
        save_model(trained.trainer.model, tokenizer, spec.folder, method, str(spec.model.path))
    if distributed.is_main():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return run_record(spec, data, trained, model_dir)


# -- data --------------------------------------------------------------------------------------------------------


def read_data(spec: RunSpec) -> RunData:
    """The task's frames (kept by the grid's data check), the part each split plays, the selection split (carved
    from train for a holdout), and train capped at ``max_train_samples`` (a seeded subset)."""
    from benchkit.loading import to_dataset_dict
    from benchkit.train import frames as frame_cache

    card, recipe = spec.card, spec.recipe
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
    datasets = to_dataset_dict(card, frames)
    if recipe.max_train_samples and recipe.max_train_samples < len(datasets[train_split]):
        datasets[train_split] = datasets[train_split].shuffle(seed=spec.seed).select(range(recipe.max_train_samples))
        selection = selection.model_copy(update={"train_rows": recipe.max_train_samples})
    return RunData(frames, datasets, train_split, dev_splits, test_splits, selection, selection_split)


def tokenize_splits(spec: RunSpec, data: RunData, head: Any) -> Any:
    """Tokenize every split (through the cache), fingerprint its rows, sort the evaluation splits by length; returns
    the tokenizer."""
    from transformers import AutoTokenizer

    from benchkit.train.features import cache_key, rows_fingerprint, tokenize, tokenizer_sha256
    from benchkit.train.inference import by_length

    card, recipe = spec.card, spec.recipe
    tokenizer = AutoTokenizer.from_pretrained(str(spec.model.path))
    if decoders.is_causal(spec.model.path):  # a padding token (EOS) for batches; the side the method needs
        decoders.prepare_tokenizer(tokenizer, spec.model.path, left="prompt" in spec.method.split("+"))
    tokenizer_hash = tokenizer_sha256(spec.model.path)
    for split, rows in data.datasets.items():
        data.fingerprints[split] = rows_fingerprint(rows)
        key = cache_key(data.fingerprints[split], tokenizer_hash, head, recipe.max_length, card)
        encoded, hit = tokenize(rows, tokenizer, card, head, recipe.max_length, spec.cache_dir, key)
        log.info("tokenized %s/%s: %d rows (%s)", card.id, split, len(encoded), "cache" if hit else "new")
        data.tokenized[split] = encoded if split == data.train_split else by_length(encoded)
    return tokenizer


# -- model, arguments, Trainer -----------------------------------------------------------------------------------


def build_model(spec: RunSpec, method: MethodSpec, head: Any) -> Any:
    """The head's model over the base model, prepared for the method (adapters, frozen parts), and the head's
    wrapper (windows for tagging)."""
    model = prepare_model(method, head.build(str(spec.model.path), spec.card))
    if head.wrap is not None:
        model = head.wrap(model, spec.recipe.max_length, spec.recipe.window_stride)
    return model


def _precision(recipe: Recipe, cuda: bool) -> dict[str, bool]:
    import torch

    wanted = recipe.precision
    if wanted == "auto":
        wanted = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if wanted != "fp32" and not cuda:
        wanted = "fp32"  # mixed precision on CPU is slower than fp32 for these model sizes
    return {"bf16": wanted == "bf16", "fp16": wanted == "fp16"}


def _effective_precision(args: Any) -> str:
    return "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"


def training_arguments(spec: RunSpec, method: MethodSpec, cuda: bool, best: bool, checkpoint_dir: Path) -> Any:
    """The Trainer's arguments from the recipe: evaluation and checkpoints every epoch (or ``checkpoint_steps``),
    the best checkpoint loaded at the end when the recipe selects one."""
    from transformers import TrainingArguments

    card, recipe = spec.card, spec.recipe
    primary = card.primary_metric
    every: dict[str, Any] = ({"strategy": "steps", "steps": recipe.checkpoint_steps} if recipe.checkpoint_steps
                             else {"strategy": "epoch"})
    eval_batch = recipe.eval_batch_size or recipe.batch_size * (8 if cuda else 2)
    return TrainingArguments(
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


def _resume_point(checkpoint_dir: Path, log_file: Path) -> tuple[Path | None, float]:
    """The checkpoint to resume from (None: a fresh start, earlier leftovers removed) and the training seconds
    spent before it."""
    from benchkit.train import checkpoints

    resume = checkpoints.last_checkpoint(checkpoint_dir)
    if resume is None and distributed.is_main():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        log_file.unlink(missing_ok=True)
    spent = checkpoints.seconds_before(checkpoint_dir, checkpoints.step_of(resume)) if resume else 0.0
    return resume, spent


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


def _callbacks(spec: RunSpec, progress: Progress | None, log_file: Path, checkpoint_dir: Path, clock: Clock,
               best: bool) -> tuple[list[Any], Any]:
    """The Trainer's callbacks: progress and the loss log, checkpoint timing, a search trial's pruning (also
    returned: it holds whether the trial stopped) and early stopping."""
    from transformers import EarlyStoppingCallback

    from benchkit.train import checkpoints

    callbacks = [_trainer_callback(progress, log_file), checkpoints.checkpoint_callback(checkpoint_dir, clock, best)]
    pruning = None
    if best and spec.extra.get("prune"):  # a search trial: stop when the median rule says so
        from benchkit.train.pruning import pruning_callback

        pruning = pruning_callback(spec.extra["prune"], spec.card.primary_metric)
        callbacks.append(pruning)
    if best and spec.recipe.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(spec.recipe.early_stopping_patience))
    return callbacks, pruning


def _trainer_class(card: TaskCard, head: Any, method: MethodSpec) -> tuple[type, dict[str, Any] | None]:
    """The Trainer class (evaluating in dataset order; distilling from the method's teacher, loaded here) and what
    the record says of the teacher."""
    from transformers import Trainer

    trainer_class = ordered_trainer_class(Trainer)
    distill = method.options.get("distill")
    if distill is None:
        return trainer_class, None
    from benchkit.task_types import TASK_TYPES
    from benchkit.train.distill import distilling_trainer_class, load_teacher

    if head.loss is not None or head.name.startswith("sft"):
        raise BenchkitError(Problem(f"distill does not support the {head.name} head (it has its own loss)",
                                    field="--method", hint="distil a classification, regression or tagging task"))
    teacher, teacher_info = load_teacher(str(distill["teacher"]), card)
    return distilling_trainer_class(trainer_class, teacher, float(distill["temperature"]), float(distill["weight"]),
                                    TASK_TYPES.get(card.type).target == "number"), teacher_info


def _trainer(spec: RunSpec, data: RunData, head: Any, model: Any, tokenizer: Any, args: Any, trainer_class: type,
             callbacks: list[Any]) -> Any:
    from transformers import PrinterCallback

    best = data.best
    metrics = (selection_metrics(spec.card, head, data.frames[data.selection_split],
                                 data.tokenized[data.selection_split]) if data.selection_split is not None else None)
    trainer = trainer_class(model=model, args=args, data_collator=head.collate(tokenizer),
                            train_dataset=model_inputs(data.tokenized[data.train_split]),
                            eval_dataset=model_inputs(data.tokenized[data.selection_split]) if best else None,
                            processing_class=tokenizer, compute_metrics=metrics,
                            compute_loss_func=head.loss, callbacks=callbacks)
    if head.loss is not None:
        trainer.loss_is_scaled_for_ga = False  # the head's loss is a per-batch mean
    trainer.remove_callback(PrinterCallback)  # our progress display and train_log.jsonl replace its prints
    return trainer


# -- training and evaluation -------------------------------------------------------------------------------------


def train(spec: RunSpec, data: RunData, head: Any, method: MethodSpec, model: Any, tokenizer: Any, args: Any,
          progress: Progress | None, cuda: bool) -> Trained:
    """Train (resuming from the last checkpoint), then, unless the trial was pruned, predict and score; peak memory
    covers both."""
    from benchkit.train.checkpoints import step_of

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    checkpoint_dir = Path(args.output_dir)
    log_file = spec.folder / "train_log.jsonl"
    resume, spent = _resume_point(checkpoint_dir, log_file)
    clock = Clock(spent)
    callbacks, pruning = _callbacks(spec, progress, log_file, checkpoint_dir, clock, data.best)
    trainer_class, teacher = _trainer_class(spec.card, head, method)
    trainer = _trainer(spec, data, head, model, tokenizer, args, trainer_class, callbacks)
    if resume is not None:
        log.info("resuming from %s (step %d, %.1f s of training done)", resume.name, step_of(resume), spent)
    with PeakMemory(cuda) as memory:
        clock.start()  # right before training
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        train_seconds = clock()
        if progress:
            progress.stop()
        curve = selection_curve(trainer, spec.card.primary_metric)
        pruned = pruning.pruned if pruning is not None else None  # a pruned trial: no result to report
        scored = predict_and_score(spec, data, head, trainer, tokenizer, args) if pruned is None else None
    return Trained(trainer, args, trainable, total, train_seconds, memory, curve, teacher, pruned, scored)


def _split_result(evaluation: Any) -> SplitResult:
    return SplitResult(examples=evaluation.examples, metrics=evaluation.metrics, score=evaluation.score,
                       ci=evaluation.ci)


def predict_and_score(spec: RunSpec, data: RunData, head: Any, trainer: Any, tokenizer: Any, args: Any) -> Scored:
    """Predict dev and test (written in file order), score the labelled splits with a bootstrap CI, predict the
    companion tasks, and measure inference latency and the optimizer's state."""
    card, frames = spec.card, data.frames
    started = time.perf_counter()
    results: dict[str, SplitResult] = {}
    predictions: dict[str, str] = {}
    dev_results: dict[str, SplitResult] = {}
    labelled = data.dev_splits + [s for s in data.test_splits if card.splits[s].labels == "present"]
    reported = [s for s in labelled if s.startswith("test")] or data.dev_splits
    for split in data.dev_splits + data.test_splits:
        predicted = predict_in_file_order(trainer, data.tokenized[split], head, card)
        path = Path("predictions") / f"{split}.jsonl"
        if distributed.is_main():
            write_predictions(spec.folder / path, list(frames[split]["id"]), predicted)
        predictions[split] = str(path)
        if split in labelled:
            evaluation = evaluate_split(card, split, gold_targets(card, frames[split]), predicted,
                                        resamples=spec.recipe.bootstrap_resamples, seed=spec.seed,
                                        groups=gold_groups(card, frames[split]))
            (results if split in reported else dev_results)[split] = _split_result(evaluation)
    diagnostics: dict[str, SplitResult] = {}
    companion_rows: dict[str, int] = {}
    for companion in spec.extra.get("companions", []):
        written, scored, rows = _predict_companion(trainer, companion, spec, tokenizer)
        predictions.update(written)
        diagnostics.update(scored)
        companion_rows.update(rows)
    eval_seconds = time.perf_counter() - started
    latency_split = (data.dev_splits + data.test_splits)[0]
    latency = inference_latency(trainer.model, data.tokenized[latency_split], head.collate(tokenizer),
                                trainer.args.device, latency_split, _effective_precision(args))
    return Scored(results, dev_results, predictions, diagnostics, companion_rows, eval_seconds, latency,
                  optimizer_state_bytes(trainer.optimizer))


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
    from benchkit.loading import to_dataset_dict
    from benchkit.train import frames as frame_cache

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
        encoded = encode_for_prediction(data[split], tokenizer, companion, head, spec.recipe.max_length)
        path = Path("predictions") / companion.id.replace("/", "__") / f"{split}.jsonl"
        predicted = predict_in_file_order(trainer, encoded, head, companion)  # file order: AX-g pairs stay adjacent
        if distributed.is_main():
            write_predictions(spec.folder / path, list(data[split]["id"]), predicted)
        key = f"{companion.id}:{split}"
        written[key] = str(path)
        if companion.splits[split].labels == "present":
            scored[key] = _split_result(evaluate_split(companion, split, gold_targets(companion, frames[split]),
                                                       predicted, resamples=spec.recipe.bootstrap_resamples,
                                                       seed=spec.seed))
    return written, scored, {key: len(frames[key.rsplit(":", 1)[1]]) for key in written}


def save_model(model: Any, tokenizer: Any, folder: Path, method: MethodSpec, base: str) -> str:
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


# -- the record --------------------------------------------------------------------------------------------------


def _what_ran(spec: RunSpec) -> dict[str, Any]:
    """The record's fields that say what ran: the same for a finished and a pruned run."""
    return {"config_hash": spec.config_hash, "suite": spec.suite,
            "task": CardRef(id=spec.card.id, version=spec.card.version),
            "model": ModelRef(name=spec.model.name, source=spec.model.source, revision=spec.model.revision,
                              sha256=spec.model.sha256),
            "seed": spec.seed, "recipe": spec.recipe.model_dump(), "recipe_sources": spec.recipe_sources,
            "primary_metric": spec.card.primary_metric, "trial": spec.extra.get("trial")}


def _costs(trained: Trained, train_rows: int, epochs: float, **measured: Any) -> Costs:
    """Training's costs, with what evaluation measured (``measured``: none for a pruned run)."""
    return Costs(trainable_parameters=trained.trainable, total_parameters=trained.total,
                 peak_memory_bytes=trained.memory.peak, peak_memory_kind=trained.memory.kind,
                 train_seconds=round(trained.train_seconds, 3), train_samples=train_rows, epochs=epochs,
                 train_samples_per_second=round(train_rows * epochs / max(trained.train_seconds, 1e-9), 3),
                 **measured)


def _provenance(spec: RunSpec, run: RunData, args: Any, **sources: Any) -> Provenance:
    """Where the run's inputs came from, and on what it ran (``sources``: its data files and companions)."""
    from benchkit.cards.identity import card_fields
    from benchkit.environment import git_state, hardware, library_versions, now

    commit, dirty = git_state()
    return Provenance(benchkit_version=__version__, git_commit=commit, git_dirty=dirty, rows=run.fingerprints,
                      card=card_fields(spec.card), libraries=library_versions(), created=now(),
                      hardware={**hardware(), "precision": _effective_precision(args), "optimizer": args.optim,
                                "processes": distributed.world_size()}, **sources)


def run_record(spec: RunSpec, data: RunData, trained: Trained, model_dir: str | None) -> RunRecord:
    """The finished run's record: results, checkpoint selection, predictions, costs and provenance."""
    trainer, scored, primary = trained.trainer, trained.scored, spec.card.primary_metric
    assert scored is not None
    epochs_run = float(trainer.state.epoch or spec.recipe.epochs)
    epoch = selected_epoch(trainer, primary)
    frames = data.frames
    data_files = {split: entry.model_copy(update={"rows": len(frames[split])}) if split in frames else entry
                  for split, entry in spec.data.items()}
    companion_files = {key: entry.model_copy(update={"rows": scored.companion_rows[key]})
                       if key in scored.companion_rows else entry
                       for key, entry in spec.extra.get("companion_data", {}).items()}
    derived = {split: {**split_spec.derive.model_dump(by_alias=True), "rows": len(frames[split])}
               for split, split_spec in spec.card.splits.items() if split_spec.derive and split in frames}
    latency = scored.latency
    costs = _costs(trained, len(data.tokenized[data.train_split]), epochs_run, eval_seconds=round(scored.eval_seconds, 3),
                   optimizer_state_bytes=scored.optimizer_state_bytes, inference_ms_per_example=latency.ms_per_example,
                   inference_batch_size=latency.batch_size, inference_split=latency.split,
                   inference_sample_seed=latency.seed, inference_precision=latency.precision)
    provenance = _provenance(spec, data, trained.args, data=data_files, companions=companion_files, derived=derived)
    return RunRecord(
        **_what_ran(spec), method=MethodRef(name=spec.method, options=spec.method_options, teacher=trained.teacher),
        results=scored.results, score=sum(r.score for r in scored.results.values()) / len(scored.results),
        dev_results=scored.dev_results, selected_epoch=epoch, selection_curve=trained.curve,
        selection_score=selection_score(trainer, trained.curve, data.best), selection=data.selection,
        predictions=scored.predictions, diagnostics=scored.diagnostics, model_dir=model_dir, costs=costs,
        provenance=provenance)


def pruned_record(spec: RunSpec, data: RunData, trained: Trained) -> RunRecord:
    """The record of a search trial the median rule stopped: its curve up to the stop, no reported results."""
    epochs = float(trained.trainer.state.epoch or 0.0)
    return RunRecord(
        **_what_ran(spec), method=MethodRef(name=spec.method, options=spec.method_options), results={},
        score=float("nan"), selected_epoch=None, selection=data.selection, selection_curve=trained.curve,
        selection_score=None, pruned=trained.pruned, predictions={},
        costs=_costs(trained, len(data.tokenized[data.train_split]), epochs, eval_seconds=0.0),
        provenance=_provenance(spec, data, trained.args, data=spec.data))
