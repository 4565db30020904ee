"""L0 contract: the search record. ``benchkit search`` writes ``<runs>/searches/<suite>/<id>/search.json`` with this
schema tag (rewritten after every batch of trials); a release finds a suite's searches here and links their reruns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEARCH_SCHEMA = "benchkit.search/1"
SEARCH_NAME = "search.json"


def search_folder(runs_dir: Path, suite_id: str, search_id: str) -> Path:
    return runs_dir / "searches" / suite_id / search_id


def find_searches(runs_dir: Path, suite_id: str) -> list[tuple[Path, dict[str, Any]]]:
    """The suite's searches under the runs folder (unreadable files are skipped: they hold no result)."""
    found = []
    for path in sorted((runs_dir / "searches" / suite_id).glob(f"*/{SEARCH_NAME}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("schema") == SEARCH_SCHEMA:
            found.append((path.parent, data))
    return found
