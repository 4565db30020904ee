"""Predictions from a finished run: its saved model (a full model, or an adapter over its base model) on a split of
the task's data or on a new file in the card's format, written in the ``benchkit score`` format (one
``{"id", "prediction"}`` line per example, official label strings), so a reference baseline can label new data.

``trained_model`` is the one way a saved run model is loaded back (also by evaluation-only suites): the head's model
from ``<run>/model/``, with the run's adapter (``train/adapters.py``: peft's or prefix tuning's) applied over its
base model, and the head's wrapper (windows for tagging) with the run's recipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.contracts.run_records import RECORD_NAME, RunRecord


def read_run(folder: Path) -> RunRecord:
    path = folder / RECORD_NAME if folder.is_dir() else folder
    if not path.is_file():
        raise BenchkitError(Problem("no run record here", file=str(path), hint="pass a run folder (it holds "
                                                                               f"{RECORD_NAME}) under <out>/runs/"))
    return RunRecord.parse(json.loads(path.read_text(encoding="utf-8")))


def trained_model(model_dir: Path, card: TaskCard, record: RunRecord | None = None) -> Any:
    """The run's model ready to predict: a full model as saved, or the base model with the saved adapter."""
    from benchkit.train.adapters import adapter_format
    from benchkit.train.heads import head_for
    from benchkit.train.loop import quiet_libraries

    quiet_libraries()  # no weight-loading bars between the predictions
    head = head_for(card)
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
    """Predictions per split, in file order."""
    import tempfile

    import torch
    from transformers import AutoTokenizer, Trainer, TrainingArguments

    from benchkit.loading import to_dataset_dict
    from benchkit.train.features import tokenize
    from benchkit.train.heads import head_for
    from benchkit.train.loop import _by_length, _ordered_trainer_class, predict_in_file_order, quiet_libraries

    quiet_libraries()
    cuda = torch.cuda.is_available()
    head = head_for(card)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    data = to_dataset_dict(card, frames)
    batch = recipe.get("eval_batch_size") or int(recipe.get("batch_size", 32)) * (8 if cuda else 2)
    out: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="benchkit-predict-") as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=batch, use_cpu=not cuda, report_to="none",
                                 disable_tqdm=True, dataloader_num_workers=0,
                                 bf16=cuda and torch.cuda.is_bf16_supported())
        trainer = _ordered_trainer_class(Trainer)(model=model, args=args, data_collator=head.collate(tokenizer),
                                                  processing_class=tokenizer)
        for split in frames:
            encoded, _ = tokenize(data[split], tokenizer, card, head, int(recipe.get("max_length", 128)), None, "")
            out[split] = predict_in_file_order(trainer, _by_length(encoded), head, card)
    return out


def file_card(card: TaskCard, file: Path) -> tuple[TaskCard, Path]:
    """The card with one split, ``test``, read from ``file`` in the layout of the card's labelled files (its base
    fields and read options: GLUE's SST-2 file ``sentence<TAB>label`` with a header), and the folder to read it from;
    the label column may be absent or empty, and ids are row indices unless the card's base fields name an id
    column."""
    from benchkit.cards.schema import Split
    from benchkit.sources import FORMATS

    if not FORMATS.get(card.source.format).local:
        raise BenchkitError(Problem(f"{card.id} reads format '{card.source.format}'; --file needs a file format",
                                    field="--file", hint="pass --split with --data-dir, or write the rows as the "
                                                         "card's local layout"))
    split = Split(file=file.name, labels="hidden")
    card = card.model_copy(update={"splits": {"test": split}, "source": card.source.model_copy(update={"dir": "."})})
    return card, file.absolute().parent  # as named: a DVC-tracked file is a link whose target has another name
