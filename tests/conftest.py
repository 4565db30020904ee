from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The real GLUE files: $BENCHKIT_GLUE_DIR, else the shared folder beside the checkout (or at /work/shared).
SHARED_GLUE = next((p for p in (Path(os.environ.get("BENCHKIT_GLUE_DIR", "/nonexistent")),
                                REPO.parent / "shared" / "data" / "glue", Path("/work/shared/data/glue")) if p.is_dir()),
                   REPO.parent / "shared" / "data" / "glue")
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE files (train/dev of CoLA, SST-2, MRPC, STS-B, RTE; dev of WNLI, QNLI)."""
    if not SHARED_GLUE.is_dir():
        pytest.skip(f"real GLUE files not found at {SHARED_GLUE} (set BENCHKIT_GLUE_DIR)")
    return SHARED_GLUE
