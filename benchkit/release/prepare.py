"""``benchkit prepare TASK --out DIR``: a task's data read, validated and converted to canonical splits, written
as ``<split>.parquet`` (columns: id, the role columns, label/tags with official strings, ``source_location``: the
1-based line or 0-based row in the split file) plus ``prepared.json`` (card version, each split file's sha256 and
row count). The DVC ``prepare`` stage of each task; a task whose data fail validation stops the pipeline there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchkit.atomic import building_dir
from benchkit.cards.schema import TaskCard
from benchkit.loading import locate, split_identity
from benchkit.validation.frames import load_frames


def prepare_task(card: TaskCard, data_dir: Path, out: Path) -> dict[str, Any]:
    frames = load_frames(card, data_dir)  # raises BenchkitError listing every data problem
    with building_dir(out, replace=True, suffix=".preparing") as work:
        splits: dict[str, Any] = {}
        for split, frame in frames.items():
            frame = frame.rename(columns={"_location": "source_location"})
            frame.to_parquet(work / f"{split}.parquet", index=False)
            spec = card.splits[split]
            where = locate(card, spec.derive.from_ if spec.derive else split, data_dir)
            name, digest = split_identity(card, where, data_dir) if where is not None else (None, None)
            splits[split] = {"rows": len(frame), "parquet": f"{split}.parquet",
                             "derived_from": spec.derive.from_ if spec.derive else None,
                             "file": Path(name).as_posix() if name and not name.startswith("hub:") else name,
                             "sha256": digest}
        info = {"task": card.id, "version": card.version, "splits": splits}
        (work / "prepared.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info
