"""Nested records unfolded into rows, as a card declares with ``read.unnest`` (no code in cards).

``unnest: [{path: passage.questions, as: question}, {path: question.answers, as: answer}]`` turns one MultiRC
paragraph into one row per answer option; each row keeps its parents' values (``idx``, ``passage.text``,
``question.idx``, ``question.question``) next to its own (``answer.idx``, ``answer.text``, ``answer.label``), so ids,
groups and submission lines can be rebuilt from any level. Objects are flattened to dotted columns first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchkit.cards.schema import Unnest


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns (``target.span1_text``); lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class NestingError(ValueError):
    """A record does not have the nesting the card declares; ``field`` names the declared path."""

    def __init__(self, message: str, field: str, hint: str):
        super().__init__(message)
        self.field = field
        self.hint = hint


def unfold(obj: dict[str, Any], steps: "list[Unnest] | None") -> list[dict[str, Any]]:
    """One flat row per innermost item (just the flattened object without steps); raises NestingError."""
    rows = [flatten(obj)]
    for step in steps or []:
        unfolded: list[dict[str, Any]] = []
        for row in rows:
            if step.path not in row:
                found = ", ".join(sorted(row)[:12]) + (", ..." if len(row) > 12 else "")
                raise NestingError(f"nested record has no key '{step.path}' (its keys: {found})",
                                   f"read.unnest.{step.path}", "every record needs the keys the card's unnest: "
                                   "declares; check the file against the official format")
            items = row[step.path]
            if not isinstance(items, list):
                raise NestingError(f"'{step.path}' is {type(items).__name__}, expected a list of objects",
                                   f"read.unnest.{step.path}", "unnest: unfolds lists of objects")
            parent = {k: v for k, v in row.items() if k != step.path}
            for position, item in enumerate(items):
                if not isinstance(item, dict):
                    raise NestingError(f"'{step.path}[{position}]' is {type(item).__name__}, expected an object",
                                       f"read.unnest.{step.path}", "unnest: unfolds lists of objects")
                unfolded.append({**parent, **flatten(item, f"{step.as_}.")})
        rows = unfolded
    return rows
