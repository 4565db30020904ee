"""Predictions files: JSONL, one ``{"id": ..., "prediction": ...}`` per example, checked against a gold split.

Ids are the card's example ids (the id column, or the 0-based row index in the split file). Predictions carry the
official label strings, numbers for regression, or tag lists. Every problem is collected, and each names the
offending ids, so a user can fix a whole file in one go.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.sources.base import raw_key
from benchkit.sources.jsonfiles import json_lines
from benchkit.task_types import TASK_TYPES

if TYPE_CHECKING:
    import pandas as pd

SHOWN_IDS = 10


def _ids(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def _check_value(card: TaskCard, value: Any, tokens: Any) -> str | None:
    """Why a prediction is unusable, or None."""
    target = TASK_TYPES.get(card.type).target
    if target == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"expected a finite number, found {value!r}"
        return None
    if target == "candidate":  # any answer string, as the official ReCoRD script accepts (it normalises both sides)
        return None if isinstance(value, str) else f"expected an answer string, found {value!r}"
    assert card.labels is not None
    if target == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            return f"expected a list of tag strings, found {value!r}"
        if isinstance(tokens, list) and len(value) != len(tokens):
            return f"{len(value)} tags for {len(tokens)} tokens"
        unknown = [t for t in value if t not in card.labels.names]
        return f"unknown tag(s) {unknown}" if unknown else None
    if not isinstance(value, str) or value not in card.labels.names:
        return f"unknown label {value!r}"
    return None


def read_predictions(path: Path, card: TaskCard, gold: "pd.DataFrame") -> list[Any]:
    """Predictions aligned with the gold frame's rows; raises BenchkitError listing every problem."""
    file = str(path)
    if path.is_dir():
        raise BenchkitError(Problem("is a directory, expected a JSONL predictions file", file=file))
    if not path.is_file():
        raise BenchkitError(Problem("predictions file not found", file=file, hint="check the path"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise BenchkitError(Problem(f"not UTF-8: {err.reason}", file=file, hint="write predictions as UTF-8 JSONL")) from None
    problems: list[Problem] = []
    items: list[tuple[int, Any, Any]] = []
    for number, obj, error in json_lines(text):
        if error is not None:
            problems.append(Problem(f"invalid JSON: {error.msg}", file=file, line=number,
                                    hint='each line is one object: {"id": ..., "prediction": ...}'))
            continue
        if not isinstance(obj, dict) or "id" not in obj or "prediction" not in obj:
            problems.append(Problem("expected an object with keys 'id' and 'prediction'", file=file, line=number,
                                    hint='e.g. {"id": "0", "prediction": "entailment"}'))
            continue
        items.append((number, obj["id"], obj["prediction"]))
    if not items and not problems:
        raise BenchkitError(Problem("no predictions in the file", file=file, hint="write one JSON object per line"))
    return check_predictions(items, card, gold, file, problems)


def check_predictions(items: list[tuple[int, Any, Any]], card: TaskCard, gold: "pd.DataFrame", file: str,
                      problems: list[Problem] | None = None, label_hint: str | None = None) -> list[Any]:
    """The checks every predictions source gets (a JSONL file, a file inside a submission archive): ``items`` are
    (line, example id, prediction in the official form); duplicate, unknown and missing ids and unusable values are
    reported, each naming ``file``. ``label_hint`` replaces the hint of an unknown label (a submission format's own
    label forms). Returns the predictions aligned with the gold frame's rows; raises BenchkitError listing every
    problem (with ``problems`` found earlier)."""
    problems = list(problems or [])
    found: dict[str, Any] = {}
    lines: dict[str, int] = {}
    duplicates: list[str] = []
    for number, example_id, value in items:
        key = raw_key(example_id)
        if key in found:
            duplicates.append(key)
            continue
        found[key] = value
        lines[key] = number
    gold_ids = list(gold["id"])
    gold_set = set(gold_ids)
    if duplicates:
        problems.append(Problem(f"duplicate prediction ids: {_ids(sorted(set(duplicates)))}", file=file, field="id",
                                hint="give each example exactly one prediction"))
    unknown = [i for i in found if i not in gold_set]
    if unknown:
        problems.append(Problem(f"{len(unknown)} prediction id(s) not in the gold split: {_ids(unknown)}", file=file,
                                field="id", hint=did_you_mean(unknown[0], gold_ids[:1000]) or
                                f"gold ids look like {_ids(gold_ids[:3])} (the card's id column or the 0-based row index)"))
    missing = [i for i in gold_ids if i not in found]
    if missing:
        problems.append(Problem(f"{len(missing)} gold example(s) have no prediction: {_ids(missing)}", file=file,
                                field="id", hint="predict every example of the split"))
    tokens = dict(zip(gold_ids, gold["tokens"])) if "tokens" in gold else {}
    bad: dict[str, list[str]] = {}  # reason -> ids; unknown labels are grouped under one reason
    for key, value in found.items():
        why = _check_value(card, value, tokens.get(key))
        if why is not None and key in gold_set:
            bad.setdefault("unknown label" if why.startswith("unknown label") else why, []).append(key)
    for why, keys in bad.items():
        if why == "unknown label":
            values = sorted({raw_key(found[k]) for k in keys})
            mapped = {v: card.labels.to_name(v) for v in values if card.labels and card.labels.map}
            hint = (f"predictions use the official label strings {card.labels.names}"
                    + (f"; file codes map as {mapped}" if any(mapped.values()) else ""))
            problems.append(Problem(f"unknown label(s) {values} for id(s) {_ids(keys)}", file=file,
                                    field="prediction", hint=label_hint or did_you_mean(values[0], card.labels.names) or hint))
        else:
            problems.append(Problem(f"{why} for id(s) {_ids(keys)}", file=file, line=lines[keys[0]], field="prediction",
                                    hint="see the task's card for the expected prediction form"))
    if problems:
        raise BenchkitError(*problems)
    return [found[i] for i in gold_ids]
