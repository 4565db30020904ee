"""Test cards: an official card extended with the row counts of a small fixture (the official cards state the
published counts, which the fixtures do not have)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def card_with_rows(path: Path, task: str, rows: dict[str, int]) -> Path:
    """Write ``path``: the built-in card of ``task`` (``<suite>/<task>``) with these expected rows per split."""
    splits = "".join(f"  {split}: {{rows: {n}}}\n" for split, n in rows.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"extends: {REPO / 'tasks' / (task + '.yaml')}\n" + (f"splits:\n{splits}" if splits else ""),
                    encoding="utf-8")
    return path
