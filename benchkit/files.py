"""L0: files the same way everywhere: content hashes, and where benchkit's own cards, templates and data lie."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_root() -> Path:
    """The folder holding the built-in ``tasks/``, ``benchmarks/``, ``templates/``: ``benchkit/_builtin`` in an
    installed wheel (the build copies them there), else the source checkout's root (also an editable install)."""
    wheel = PACKAGE_DIR / "_builtin"
    if (wheel / "tasks").is_dir():
        return wheel
    return PACKAGE_DIR.parent
