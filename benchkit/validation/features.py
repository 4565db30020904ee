"""A typed source's declared features (a Hub dataset's ``Features``) against the card, before any row is checked.

The card reads a column as a role; the dataset declares what the column holds. A mismatch means the card describes
another version of the dataset (or another dataset), so it is reported once, naming the column, what the dataset
declares and what the card expects, instead of once per row:

* text roles need string columns (``tokens``: a list of strings);
* a class label needs a ClassLabel or a string/integer column; a ClassLabel's names must all be labels the card knows
  (through ``labels.map``), and a card label no ClassLabel name gives is a warning;
* tags need a list of ClassLabel or of strings, with the same rule for the names;
* a regression target needs a number column.
"""

from __future__ import annotations

from benchkit.cards.schema import TEXT_ROLES, TaskCard
from benchkit.errors import Problem, did_you_mean
from benchkit.sources import RawTable
from benchkit.sources.base import DeclaredColumn
from benchkit.task_types import TASK_TYPES


def _describe(declared: DeclaredColumn) -> str:
    if declared.kind == "class_label":
        return f"ClassLabel{list(declared.names)}"
    if declared.kind == "list":
        inner = f"ClassLabel{list(declared.names)}" if declared.item == "class_label" else declared.item
        return f"a list of {inner}"
    return {"text": "a string", "number": "a number"}.get(declared.kind, "a value of another type")


def _expected(card: TaskCard, role: str) -> tuple[set[tuple[str, str | None]], str]:
    """The (kind, item kind) a role accepts, and how to say it."""
    target = TASK_TYPES.get(card.type).target
    if role == "tokens":
        return {("list", "text")}, "a list of strings"
    if role in TEXT_ROLES:
        return {("text", None)}, "a string"
    if role == "tags":
        return {("list", "class_label"), ("list", "text")}, "a list of ClassLabel or of strings"
    if role == "label" and target == "number":
        return {("number", None)}, "a number"
    if role == "label" and target == "class":
        return {("class_label", None), ("text", None), ("number", None)}, "a ClassLabel, a string or an integer"
    return set(), ""


def check_declared(card: TaskCard, split: str, table: RawTable) -> list[Problem]:
    if not table.declared:
        return []
    problems: list[Problem] = []
    for role, column in card.split_fields(split).columns().items():
        declared = table.declared.get(column) if isinstance(column, str) else None
        if declared is None:
            continue
        accepted, wanted = _expected(card, role)
        if accepted and (declared.kind, declared.item) not in accepted:
            problems.append(Problem(
                f"the dataset declares column '{column}' as {_describe(declared)}; the card reads it as "
                f"{role}, which needs {wanted}", file=table.source, field=f"fields.{role}",
                hint="is fields." + role + " the right column? the card may describe another version of the dataset"))
            continue
        if declared.names and card.labels is not None and role in ("label", "tags"):
            problems += _names(card, role, column, declared, table)
    return problems


def _names(card: TaskCard, role: str, column: str, declared: DeclaredColumn, table: RawTable) -> list[Problem]:
    assert card.labels is not None
    known = card.labels.raw_values()
    unknown = [name for name in declared.names if card.labels.to_name(name) is None]
    if unknown:
        hint = did_you_mean(unknown[0], known) or (
            "the card's labels.names (or labels.map) must cover the dataset's names; is the card's revision the "
            "dataset's?")
        return [Problem(f"the dataset's ClassLabel names for '{column}' {list(declared.names)} include "
                        f"{unknown} that the card's labels {known} do not", file=table.source, field=f"fields.{role}",
                        hint=hint)]
    given = {card.labels.to_name(name) for name in declared.names}
    never = [name for name in card.labels.names if name not in given]
    if never:
        return [Problem(f"the card's label(s) {never} are none of the dataset's ClassLabel names "
                        f"{list(declared.names)} for '{column}'", file=table.source, field=f"fields.{role}",
                        severity="warning", hint="remove them from labels.names, or check the dataset version")]
    return []
