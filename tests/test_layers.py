"""The one-way layers (docs/architecture.md) hold: import-linter's layers contract in pyproject.toml is kept, and
benchkit's import graph, read from the AST with imports inside functions counted, has no circle among its parts nor
among its modules. The AST check is tested on a package with a circle made for the purpose, so it can fail."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("level", ["part", "module"])
def test_benchkit_has_no_import_circle(level: str) -> None:
    graph = _import_graph()
    assert graph.circles(graph.graph(level)) == []


def test_the_ast_check_sees_a_circle_made_by_a_deferred_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "core.py").write_text("def f():\n    from pkg.high import g  # climbs a layer, later\n")
    (package / "high.py").write_text("from pkg.low.core import f\n\ndef g():\n    return f\n")
    graph = _import_graph()
    assert graph.circles(graph.graph("part", package)) == [["pkg.high", "pkg.low"]]
    assert graph.circles(graph.graph("module", package)) == [["pkg.high", "pkg.low.core"]]
    (package / "low" / "core.py").write_text("def f():\n    return 1\n")
    assert graph.circles(graph.graph("module", package)) == []


def test_the_import_linter_layers_contract_is_kept() -> None:
    if shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed: pip install -e '.[dev]'")
    result = subprocess.run(["lint-imports", "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "kept, 0 broken" in result.stdout


def test_the_architecture_doc_matches_the_tree() -> None:
    """docs/architecture.md names only files that exist, and its layer table places every part of benchkit."""
    import re

    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:benchkit|tests|bench|scripts)/[\w/.]+\.(?:py|yaml))`", doc))
    assert named, "the doc names no files"
    assert sorted(p for p in named if not (REPO / p).exists()) == []
    table = doc[doc.index("## Layers"):doc.index("## Where a newcomer adds")]
    parts = {p.stem if p.is_file() else p.name for p in (REPO / "benchkit").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert sorted(p for p in parts if f"`{p}" not in table) == []
