"""Knowledge distillation (Hinton et al. 2015): the student learns from the gold labels and from a teacher's soft
targets, ``loss = (1 - weight) * hard + weight * T^2 * KL(teacher_T || student_T)`` with both distributions softened
by the temperature T. For regression heads the soft term is the squared error to the teacher's output; for tagging
heads the KL is averaged over the tokens that carry a label (the first subword of each word).

The teacher is a finished run of the same task (its saved model, full or adapter) or a model folder with the same
label set; it runs in eval mode without gradients on every training batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "span_tokens")


def load_teacher(where: str, card: TaskCard) -> tuple[Any, dict[str, Any]]:
    """The teacher model and what the student's record says of it (``{"run": folder, "config_hash": ...}`` or
    ``{"model": folder}``)."""
    from benchkit.train.inference import trained_model

    record, model_dir, info = check_teacher(where, card)
    return trained_model(model_dir, card, record), info


def check_teacher(where: str, card: TaskCard) -> tuple[Any, Path, dict[str, Any]]:
    """Before any training: the teacher is a finished run of this task that kept its model, or a model folder, and
    predicts this task's label set. Returns (its record or None, its model folder, what the record says of it)."""
    import json

    from benchkit.contracts.run_records import RECORD_NAME
    from benchkit.train.adapters import adapter_format
    from benchkit.train.inference import read_run

    folder = Path(where).expanduser()
    if (folder / RECORD_NAME).is_file():
        record = read_run(folder)
        if record.task.id != card.id:
            raise BenchkitError(Problem(f"the teacher run is of task {record.task.id}, not {card.id}",
                                        file=str(folder), field="distill.teacher",
                                        hint="distil from a finished run of the same task"))
        if record.model_dir is None or not (folder / record.model_dir).is_dir():
            raise BenchkitError(Problem("the teacher run kept no model", file=str(folder), field="distill.teacher",
                                        hint="rerun the teacher without --set save_model=false"))
        model_dir = folder / record.model_dir
        info = {"run": str(folder.resolve()), "config_hash": record.config_hash, "model": record.model.name}
    elif (folder / "config.json").is_file() or adapter_format(folder) is not None:
        record, model_dir, info = None, folder, {"model": str(folder.resolve())}
    else:
        raise BenchkitError(Problem("not a finished run nor a model folder", file=str(folder), field="distill.teacher",
                                    hint="pass a run folder (it holds record.json) or a model folder"))
    config = model_dir / "config.json"
    if card.labels is not None and config.is_file():
        labels = json.loads(config.read_text(encoding="utf-8")).get("id2label")
        names = [labels[k] for k in sorted(labels, key=int)] if labels else None
        if names is None:
            raise BenchkitError(Problem("the teacher folder names no labels: not a model trained on this task",
                                        file=str(model_dir), field="distill.teacher",
                                        hint="distil from a finished run of this task, or a model folder saved with "
                                             "its label names (id2label)"))
        if names != list(card.labels.names):
            raise BenchkitError(Problem(f"the teacher predicts labels {names}, the task has {list(card.labels.names)}",
                                        file=str(model_dir), field="distill.teacher",
                                        hint="distil from a teacher trained on this task's label set"))
    return record, model_dir, info


def distillation_loss(student: Any, teacher: Any, labels: Any, hard: Any, temperature: float, weight: float,
                      regression: bool) -> Any:
    import torch.nn.functional as F

    if regression:
        soft = F.mse_loss(student.float().squeeze(-1), teacher.float().squeeze(-1))
    else:
        t = float(temperature)
        log_student = F.log_softmax(student.float() / t, dim=-1)
        target = F.softmax(teacher.float() / t, dim=-1)
        per_item = F.kl_div(log_student, target, reduction="none").sum(-1) * t * t
        if per_item.dim() > 1 and labels is not None:  # tokens: only those with a label
            mask = (labels != -100).float()
            soft = (per_item * mask).sum() / mask.sum().clamp(min=1)
        else:
            soft = per_item.mean()
    if hard is None:
        return soft
    return (1 - weight) * hard + weight * soft


def distilling_trainer_class(base: type, teacher: Any, temperature: float, weight: float, regression: bool) -> type:
    import torch

    class DistillingTrainer(base):  # type: ignore[misc, valid-type]
        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            outputs = model(**inputs)
            with torch.no_grad():
                if next(teacher.parameters()).device != inputs["input_ids"].device:
                    teacher.to(inputs["input_ids"].device)
                teacher_logits = teacher(**{k: v for k, v in inputs.items() if k in MODEL_INPUTS}).logits
            loss = distillation_loss(outputs.logits, teacher_logits, inputs.get("labels"), outputs.loss,
                                     temperature, weight, regression)
            return (loss, outputs) if return_outputs else loss

    return DistillingTrainer
