"""A generated card as YAML, with a comment beside every guess: how sure it is and why."""

from __future__ import annotations

import json
from typing import Any

import yaml

ORDER = ("extends", "id", "version", "name", "description", "language", "license", "citation", "homepage", "type",
         "source", "fields", "labels", "value_range", "splits", "checks", "metrics", "primary_metric", "score_metrics",
         "prompt")
PROMPT_ORDER = ("name", "source", "instruction", "input", "columns", "answer_prefix", "target_delimiter", "verbalizers",
                "numbers", "choice", "example", "separator", "shots", "answer", "max_new_tokens", "stop", "maps")


def _scalar(value: Any) -> str:
    """A JSON value is a YAML flow value: strings double-quoted with their escapes (a template's \\n stays one line)."""
    return json.dumps(value, ensure_ascii=False)


def _prompt_block(prompt: dict[str, Any]) -> str:
    lines = ["prompt:"]
    for key in sorted(prompt, key=lambda k: PROMPT_ORDER.index(k) if k in PROMPT_ORDER else len(PROMPT_ORDER)):
        value = prompt[key]
        if isinstance(value, dict):
            text = "{" + ", ".join(f"{_scalar(str(k))}: {_scalar(v)}" for k, v in value.items()) + "}"
        elif isinstance(value, list):
            text = "[" + ", ".join(_scalar(v) for v in value) + "]"
        else:
            text = _scalar(value)
        lines.append(f"  {key}: {text}")
    return "\n".join(lines) + "\n"


def _block(key: str, value: Any) -> str:
    if key == "prompt" and isinstance(value, dict):
        return _prompt_block(value)
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
