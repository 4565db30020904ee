"""Do a file's tags follow the chunk scheme the card declares (``labels.scheme``)?

CoNLL-2003 ships under one format in two schemes: the original files (``eng.train``) in IOB1, where a chunk starts
with I- and B- only separates two adjacent chunks of one type, and the common re-tagging (``train.txt``) in IOB2,
where every chunk starts with B-. Scored under the wrong scheme, chunks are silently lost or split, so a file that
breaks the declared scheme is an error, at the line of the first tag that breaks it:

* IOB2: I-X must follow B-X or I-X;
* IOB1: B-X must follow I-X or B-X (a B- after O, or after another type, is IOB2's chunk start);
* BIOES: I-X and E-X must follow B-X or I-X; after B-X or I-X comes I-X or E-X.

``plain`` tag sets (no prefixes) have nothing to check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchkit.cards.schema import TaskCard
from benchkit.errors import Problem
from benchkit.loading import role_columns
from benchkit.sources import RawTable

LINES = "@lines"  # per-token lines, where the reader gives them (conll)


def _split(tag: str) -> tuple[str, str]:
    return (tag[0], tag[2:]) if len(tag) > 2 and tag[1] == "-" else ("O", "")


def _iob2(previous: str, tag: str) -> str | None:
    (p, ptype), (t, ttype) = _split(previous), _split(tag)
    if t == "I" and not (p in "BI" and p != "O" and ptype == ttype):
        return "a chunk starts with B- in IOB2"
    return None


def _iob1(previous: str, tag: str) -> str | None:
    (p, ptype), (t, ttype) = _split(previous), _split(tag)
    if t == "B" and not (p in "BI" and p != "O" and ptype == ttype):
        return "in IOB1 a chunk starts with I-, and B- only separates two adjacent chunks of one type"
    return None


def _bioes(previous: str, tag: str) -> str | None:
    (p, ptype), (t, ttype) = _split(previous), _split(tag)
    inside = p in ("B", "I") and ptype == ttype
    if t in ("I", "E") and not inside:
        return "I- and E- continue a chunk begun with B- in BIOES"
    if p in ("B", "I") and t not in ("I", "E"):
        return "a chunk begun with B- ends with E- in BIOES"
    return None


CHECKS: dict[str, Callable[[str, str], str | None]] = {"IOB2": _iob2, "IOB1": _iob1, "BIOES": _bioes}
OTHER = {"IOB2": "IOB1", "IOB1": "IOB2"}  # the scheme a file that breaks this one is usually in
MAX_SHOWN = 1


def scheme_problems(card: TaskCard, split: str, table: RawTable) -> list[Problem]:
    scheme = card.labels.scheme if card.labels else None
    check = CHECKS.get(scheme or "")
    column = role_columns(card, split).get("tags")
    if check is None or column is None or column not in table.frame.columns:
        return []
    found: list[tuple[int, int, str, str, str]] = []  # (row, token index, previous, tag, why)
    for row, tags in enumerate(table.frame[column]):
        if not isinstance(tags, list):
            continue
        previous = "O"
        for index, tag in enumerate(tags):
            tag = str(tag)
            why = check(previous, tag)
            if why is not None:
                found.append((row, index, previous, tag, why))
            previous = tag
        if scheme == "BIOES" and _split(previous)[0] in ("B", "I"):
            found.append((row, len(tags), previous, "(end)", "a chunk begun with B- ends with E- in BIOES"))
    if not found:
        return []
    problems = []
    lines = table.frame[LINES] if LINES in table.frame.columns else None
    for row, index, previous, tag, why in found[:MAX_SHOWN]:
        line: Any = lines[row][index] if lines is not None and index < len(lines[row]) else table.locations[row]
        kind = "line" if lines is not None else table.location_kind
        other = OTHER.get(scheme or "")
        hint = (f"is the file in {other}? then set labels.scheme: {other}" if other
                else "fix the tags or the card's labels.scheme")
        problems.append(Problem(f"tag {tag!r} after {previous!r} breaks the card's scheme {scheme}: {why}"
                                + (f" ({len(found)} such tags in this file)" if len(found) > 1 else ""),
                                file=table.source, line=line, field="labels.scheme", hint=hint, location_kind=kind))
    return problems
