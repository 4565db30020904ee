"""A generated card as YAML, with a comment beside every guess: how sure it is and why."""

from __future__ import annotations

from typing import Any

import yaml

ORDER = ("extends", "id", "version", "name", "description", "language", "license", "citation", "homepage", "type",
         "source", "fields", "labels", "value_range", "splits", "checks", "metrics", "primary_metric", "score_metrics")


def _block(key: str, value: Any) -> str:
    if not isinstance(value, (dict, list)):
        return yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=116)
    inline = key in ("fields", "value_range", "metrics", "score_metrics", "checks") or (
        key == "labels" and len(str(value)) < 100)
    if inline:
        return f"{key}: " + yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=1000,
                                          default_flow_style=True).strip() + "\n"
    return yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=116, default_flow_style=None)


def render(card: dict[str, Any], notes: dict[tuple[str, ...], str], header: list[str]) -> str:
    lines = [f"# {line}" if line else "#" for line in header]
    for key in sorted(card, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        for where, note in sorted(notes.items()):
            if where[0] == key:
                lines.append(f"# {'.'.join(where)}: {note}")
        lines.append(_block(key, card[key]).rstrip())
    return "\n".join(lines) + "\n"
