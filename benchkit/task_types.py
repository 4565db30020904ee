"""The closed set of task types. Adding a type (e.g. span QA) is one ``TASK_TYPES.add`` call.

A task type says which card fields it needs and what its target looks like; readers, validators and
(later) heads dispatch on these attributes instead of on type names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchkit.registry import Registry

# What a target value is: one label string, a number, a tag sequence, or the index/name of a choice.
TargetKind = Literal["class", "number", "tags", "choice"]


@dataclass(frozen=True)
class TaskType:
    name: str
    required_fields: tuple[str, ...]
    optional_fields: tuple[str, ...]
    target: TargetKind
    target_field: str
    description: str

    @property
    def text_fields(self) -> tuple[str, ...]:
        """Fields holding input text (validated as non-empty strings)."""
        return tuple(f for f in (*self.required_fields, *self.optional_fields) if f in _TEXT_FIELDS)


_TEXT_FIELDS = frozenset({"text", "text_pair", "question", "context"})

TASK_TYPES: Registry[TaskType] = Registry("task type")

for _entry in (
    TaskType("single_text_classification", ("text", "label"), ("id",), "class", "label",
             "one text -> one label (CoLA, SST-2)"),
    TaskType("text_pair_classification", ("text", "text_pair", "label"), ("id",), "class", "label",
             "two texts -> one label (MRPC, MNLI, RTE)"),
    TaskType("regression", ("text", "label"), ("id", "text_pair"), "number", "label",
             "one or two texts -> a real number (STS-B, KLEJ AR)"),
    TaskType("token_classification", ("tokens", "tags"), ("id",), "tags", "tags",
             "a token sequence -> one tag per token, in a BIO scheme (CoNLL-2003 NER)"),
    TaskType("multiple_choice", ("choices", "label"), ("id", "context", "question"), "choice", "label",
             "a context and N candidate answers -> the right one (COPA)"),
):
    TASK_TYPES.add(_entry.name, _entry)
