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


def sst2_benchmark(root: Path) -> Path:
    """A benchmark of its own under ``root``: tasks/glue/{_glue,sst2}.yaml with the row counts of the embedded
    glue-mini SST-2 rows, and those rows in data/SST-2. Returns the card."""
    import shutil

    (root / "tasks" / "glue").mkdir(parents=True)
    for name in ("_glue.yaml", "sst2.yaml"):
        shutil.copy(REPO / "tasks" / "glue" / name, root / "tasks" / "glue" / name)
    shutil.copytree(REPO / "data" / "glue-mini" / "SST-2", root / "data" / "SST-2")
    card = root / "tasks" / "glue" / "sst2.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace("rows: 67349", "rows: 1500")
                    .replace("rows: 872", "rows: 436").replace("rows: 1821", "rows: 436"), encoding="utf-8")
    return card
