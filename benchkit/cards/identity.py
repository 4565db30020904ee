"""A card's identity for run records: canonical content hashes, per field, of what shapes training and scoring."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from benchkit.cards.schema import TaskCard

# The task card fields that shape training and evaluation: what a run read (source, splits, fields), how it turned
# rows into inputs and targets (type, inputs, lists, entity_spans, labels with their map, value_range) and how it
# scored them (metrics, primary_metric, score_metrics). Name, description, citation, homepage, language, licence,
# checks and evaluated_with change no number of the card's own runs; id and version are hashed on their own.
CARD_CONTENT = ("type", "source", "fields", "labels", "value_range", "splits", "metrics", "primary_metric",
                "score_metrics", "entity_spans", "inputs", "lists")
CARD_CONTENT_EXCLUDE = {"source": {"revision_source"}}  # where a pinned commit was seen: a comment
KEYED = ("splits", "inputs", "lists")  # mappings keyed by the card's own names: one level deeper (splits.train.file)


def card_content(card: TaskCard) -> dict[str, Any]:
    """The card's content that shapes training and evaluation, as canonical JSON values (defaults filled in, so an
    explicit default and an omitted one are the same content)."""
    dumped = card.model_dump(mode="json", by_alias=True, include=set(CARD_CONTENT), exclude=CARD_CONTENT_EXCLUDE)
    return {key: dumped.get(key) for key in CARD_CONTENT}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def card_fields(card: TaskCard) -> dict[str, str]:
    """Dotted card path -> sha256 (16 hex) of its canonical value: ``labels.map``, ``source.read``,
    ``splits.train.file``, ``inputs.text.template``, ``metrics``. Stored in each run record
    (``provenance.card``), so a release can name the field a record was trained with differently."""
    out: dict[str, str] = {}
    for key, value in card_content(card).items():
        depth = 3 if key in KEYED else 2
        _flatten(out, key, value, depth - 1)
    return out


def _flatten(out: dict[str, str], path: str, value: Any, depth: int) -> None:
    if value is None or value == {} or value == []:  # unset: absent (a field set later shows as added)
        return
    if depth > 0 and isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(out, f"{path}.{key}", inner, depth - 1)
        return
    out[path] = _digest(value)


def card_sha256(card: TaskCard) -> str:
    """One hash over the card's training and evaluation content (enters the run's configuration hash)."""
    return hashlib.sha256(json.dumps(card_content(card), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def changed_card_fields(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """The dotted paths whose content differs between a record's card and the card now (added or removed too)."""
    return sorted(k for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k))
