"""Column names in the card language: the ``{column}``s a template names, and the ``@<role>`` columns computed for a
card (joined ids, composed inputs, list items, span tags). Cards check templates with these; ``benchkit.compose``
fills them in."""

from __future__ import annotations

import re

PREFIX = "@"
# {{ and }} are braces; {name} is a column; a lone brace is an error
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def computed(role: str) -> str:
    """The name of the column holding a computed role."""
    return f"{PREFIX}{role}"


def is_computed(column: str) -> bool:
    return column.startswith(PREFIX)


def template_columns(template: str) -> list[str]:
    """The columns a template names, in order; raises ValueError on a stray brace or an empty name."""
    names = []
    for match in PLACEHOLDER.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise ValueError(f"unmatched '{token}' at position {match.start()}")
        name = match.group(1).strip()
        if not name:
            raise ValueError(f"empty {{}} at position {match.start()}")
        names.append(name)
    return names
