"""Inference: predictions in the split's file order, and trained models loaded back.

Evaluation batches are sorted by length (``by_length``: similar lengths pad less) and predicted with a Trainer
that keeps the dataset order (``ordered_trainer_class``); ``predict_in_file_order`` puts each prediction back on
its example. The training loop (``train.loop``), distillation's teacher (``train.distill``), ``benchkit predict``
and evaluation-only suites all predict this way.

``trained_model`` is the one way a saved run model is loaded back: the head's model from ``<run>/model/``, with the
run's adapter (``train/adapters.py``: peft's or prefix tuning's) applied over its base model, and the head's wrapper
(windows for tagging) with the run's recipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchkit.cards.schema import TaskCard
from benchkit.contracts.run_records import RECORD_NAME, RunRecord
from benchkit.errors import BenchkitError, Problem


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


# -- ordered prediction ------------------------------------------------------------------------------------------


def by_length(dataset: Any) -> Any:
    """Evaluation batches of similar lengths pad less; ``_order`` remembers each row's place in the file."""
    import numpy as np

    order = np.argsort(-np.asarray(dataset["length"]), kind="stable")
    return dataset.add_column("_order", list(range(len(dataset)))).select(order)


def encode_for_prediction(dataset: Any, tokenizer: Any, card: TaskCard, head: Any, max_length: int) -> Any:
    """A split tokenized (uncached) and sorted by length, ready for ``predict_in_file_order``."""
    from benchkit.train.features import tokenize

    encoded, _ = tokenize(dataset, tokenizer, card, head, max_length, None, "")
    return by_length(encoded)


def in_sorted_order(dataset: Any, values: list[Any]) -> list[Any]:
    """``values`` in file order, rearranged as the length-sorted ``dataset``."""
    return [values[i] for i in dataset["_order"]]


def in_file_order(dataset: Any, values: list[Any]) -> list[Any]:
    """``values`` of the length-sorted ``dataset``, back in file order."""
    out: list[Any] = [None] * len(values)
    for position, value in zip(dataset["_order"], values):
        out[position] = value
    return out


def decode_columns(dataset: Any) -> dict[str, Any]:
    """The columns a head's decoder reads besides the logits (words, their subword positions, candidates)."""
    return {name: dataset[name] for name in ("tokens", "word_index", "candidates") if name in dataset.column_names}


def model_inputs(dataset: Any, labels: bool = True) -> Any:
    """The columns the model takes (and, with ``labels``, its labels)."""
    drop = [c for c in ("id", "tokens", "word_index", "candidates", "_order") if c in dataset.column_names]
    if not labels and "labels" in dataset.column_names:
        drop.append("labels")
    return dataset.remove_columns(drop)


def ordered_trainer_class(base: type) -> type:
    """transformers 5 applies ``group_by_length`` to evaluation batches too, which returns predictions in a shuffled
    order; evaluation here must stay in dataset order (the inputs are pre-sorted by length instead, see by_length)."""
    from torch.utils.data import SequentialSampler

    class OrderedEvalTrainer(base):  # type: ignore[misc, valid-type]
        def _get_eval_sampler(self, eval_dataset: Any) -> Any:
            return SequentialSampler(eval_dataset) if eval_dataset is not None else None

    return OrderedEvalTrainer


def predict_in_file_order(trainer: Any, dataset: Any, head: Any, card: TaskCard) -> list[Any]:
    """Predictions for a length-sorted split (see ``by_length``), returned in the split's file order. Labels are
    left out: the Trainer would otherwise score them with the selection split's metric function."""
    output = trainer.predict(model_inputs(dataset, labels=False))
    logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    return in_file_order(dataset, head.decode(logits, card, decode_columns(dataset)))


# -- trained models ----------------------------------------------------------------------------------------------


def read_run(folder: Path) -> RunRecord:
    """The record of a finished run, given its folder or its record file."""
    path = folder / RECORD_NAME if folder.is_dir() else folder
    if not path.is_file():
        raise BenchkitError(Problem("no run record here", file=str(path), hint="pass a run folder (it holds "
                                                                               f"{RECORD_NAME}) under <out>/runs/"))
    return RunRecord.parse(json.loads(path.read_text(encoding="utf-8")))


def trained_model(model_dir: Path, card: TaskCard, record: RunRecord | None = None) -> Any:
    """The run's model ready to predict: a full model as saved, or the base model with the saved adapter."""
    from benchkit.train.adapters import adapter_format
    from benchkit.train.heads import head_for

    quiet_libraries()  # no weight-loading bars between the predictions
    head = head_for(card, record.recipe if record else None)  # an SFT run reloads its SFT head
    adapter = adapter_format(model_dir)
    if adapter is not None:
        base = adapter.base(model_dir) or (record.model.source if record else None)
        if not base or not Path(base).exists():
            from benchkit.train.models import resolve_model

            base = str(resolve_model(record.model.name).path) if record else base
        model = adapter.load(head.build(str(base), card), model_dir)
    else:
        model = head.build(str(model_dir), card)
    if head.wrap is not None:
        recipe = record.recipe if record else {}
        model = head.wrap(model, int(recipe.get("max_length", 128)), int(recipe.get("window_stride", 32)))
    return model.eval()


def predict_frames(model: Any, model_dir: Path, card: TaskCard, frames: dict[str, Any],
                   recipe: dict[str, Any]) -> dict[str, list[Any]]:
    """Predictions per split, in file order, of a loaded model (``trained_model``) with the tokenizer saved beside
    it, batched as the run's recipe says."""
    import tempfile

    import torch
    from transformers import AutoTokenizer, Trainer, TrainingArguments

    from benchkit.loading import to_dataset_dict
    from benchkit.train.heads import head_for

    quiet_libraries()
    cuda = torch.cuda.is_available()
    head = head_for(card, recipe)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    data = to_dataset_dict(card, frames)
    batch = recipe.get("eval_batch_size") or int(recipe.get("batch_size", 32)) * (8 if cuda else 2)
    out: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="benchkit-predict-") as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=batch, use_cpu=not cuda, report_to="none",
                                 disable_tqdm=True, dataloader_num_workers=0,
                                 bf16=cuda and torch.cuda.is_bf16_supported())
        trainer = ordered_trainer_class(Trainer)(model=model, args=args, data_collator=head.collate(tokenizer),
                                                 processing_class=tokenizer)
        for split in frames:
            encoded = encode_for_prediction(data[split], tokenizer, card, head, int(recipe.get("max_length", 128)))
            out[split] = predict_in_file_order(trainer, encoded, head, card)
    return out
