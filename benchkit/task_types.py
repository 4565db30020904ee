"""The closed set of task types. Adding a type (e.g. span QA) is one ``TASK_TYPES.add`` call.

A task type says which card fields it needs and what its target looks like; readers, validators and
(later) heads dispatch on these attributes instead of on type names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchkit.registry import Registry

# What a target value is: one label string, a number, a tag sequence, the name of one of fixed choices, or the
# gold strings among a per-example list of candidates.
TargetKind = Literal["class", "number", "tags", "choice", "candidate"]


@dataclass(frozen=True)
class TaskType:
    name: str
    required_fields: tuple[str, ...]
    optional_fields: tuple[str, ...]
    target: TargetKind
    target_field: str
    description: str
    head: str | None = None  # the head that models it (benchkit.train.heads.HEADS); None: the one of its target kind
    marked_spans: bool = False  # its inputs must mark spans (card inputs: ... marks:), which the head reads

    @property
    def head_name(self) -> str:
        return self.head or self.target

    @property
    def text_fields(self) -> tuple[str, ...]:
        """Fields holding input text (validated as non-empty strings)."""
        return tuple(f for f in (*self.required_fields, *self.optional_fields) if f in _TEXT_FIELDS)


_TEXT_FIELDS = frozenset({"text", "text_pair", "question", "context"})
# Fields that group rows (MultiRC's question key): metrics taking a ``groups`` option get them, and bootstrap CIs
# resample whole groups.
GROUP_FIELD = "group"

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
    TaskType("grouped_classification", ("text", "group", "label"), ("id", "text_pair"), "class", "label",
             "one or two texts -> one label, rows grouped (MultiRC: answer options grouped by question)"),
    TaskType("span_classification", ("text", "label"), ("id", "text_pair"), "class", "label",
             "one or two texts with marked spans -> one label, read from the spans' own representations (WiC, WSC)",
             head="span", marked_spans=True),
    TaskType("candidate_choice", ("context", "candidates", "label"), ("id", "question"), "candidate", "label",
             "a context, a question and a per-example list of candidate strings -> the right candidate; gold is one "
             "or more of them (ReCoRD)"),
):
    TASK_TYPES.add(_entry.name, _entry)
