"""The CLI end to end, as a user runs it: ls, show, validate on the real GLUE files; start-up imports; wheel cards."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

HEAVY = ("torch", "transformers", "datasets", "dvc")


def benchkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _imports_after(argv: list[str]) -> list[str]:
    script = ("import sys\nfrom benchkit.cli import main\n"
              f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
              f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    line = [l for l in out.stdout.splitlines() if l.startswith("HEAVY=")][0]
    return [m for m in line[len("HEAVY="):].split(",") if m]


@pytest.mark.parametrize("argv", [["--help"], ["ls"], ["validate", "glue"], ["validate", "tasks/glue/mrpc.yaml"]])
def test_fast_commands_import_no_heavy_libraries(argv: list[str]) -> None:
    assert _imports_after(argv) == []


def test_ls_lists_glue() -> None:
    result = benchkit("ls", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    glue = next(s for s in listing["suites"] if s["id"] == "glue")
    assert glue["score_rule"] == "glue" and len(glue["tasks"]) == 10
    assert {"glue/cola", "glue/mnli", "glue/ax"} <= {t["id"] for t in listing["tasks"]}
    human = benchkit("ls")
    assert "glue/stsb" in human.stdout and "regression" in human.stdout


def test_show_prints_splits_counts_and_distribution(glue_dir: Path) -> None:
    result = benchkit("show", "glue/sst2", "--data-dir", str(glue_dir), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["splits"]["dev"]["rows"] == 872
    assert info["splits"]["dev"]["label_distribution"] == {"negative": 428, "positive": 444}
    assert info["splits"]["test"]["present"] is False and info["splits"]["test"]["labels"] == "hidden"
    human = benchkit("show", "glue/mrpc", "--data-dir", str(glue_dir))
    assert human.returncode == 0 and "3668" in human.stdout and "missing" in human.stdout


def test_show_without_data_shows_the_card() -> None:
    info = json.loads(benchkit("show", "glue/mnli", "--json").stdout)
    assert list(info["splits"]) == ["train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched"]
    assert info["splits"]["dev_matched"]["expected_rows"] == 9815


def test_validate_glue_on_real_files_passes_and_reports_missing_data(glue_dir: Path) -> None:
    result = benchkit("validate", "benchmarks/glue.yaml", "--data-dir", str(glue_dir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    status = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.startswith("glue/")}
    assert status["glue/sst2"] == "partial" and status["glue/qqp"] == "missing" and status["glue/ax"] == "missing"
    assert (f"warning: {glue_dir}/QQP: glue/qqp: missing data: train (train.tsv), dev (dev.tsv), test (test.tsv) not "
            "found (hint: download the official files into --data-dir in the official layout; missing data fails "
            "validation only with --strict)") in result.stderr.splitlines()
    # CoLA and STS-B keep a few train sentences in dev; the cards declare it, so they are warnings.
    assert f"warning: {glue_dir}/CoLA/dev.tsv:944: leakage: the same input is in train (line 5053)" in result.stderr
    assert result.stdout.strip().endswith("checked 10 task(s), cards and data: 0 error(s), 32 warning(s)")


def test_validate_strict_fails_on_missing_data(glue_dir: Path) -> None:
    result = benchkit("validate", "glue", "--data-dir", str(glue_dir), "--strict")
    assert result.returncode == 2
    assert f"error: {glue_dir}/QNLI: glue/qnli: missing data: train (train.tsv), test (test.tsv) not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_single_task_clean(glue_dir: Path) -> None:
    result = benchkit("validate", "glue/rte", "--data-dir", str(glue_dir), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["errors"] == 0
    assert report["tasks"][0]["rows"] == {"train": 2490, "dev": 277}


@pytest.mark.slow
def test_builtin_cards_are_found_from_an_installed_wheel(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("benchkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "benchkit/_builtin/tasks/glue/sst2.yaml" in names and "benchkit/_builtin/benchmarks/glue.yaml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # what pip install puts on sys.path (no RECORD bookkeeping needed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("from benchkit.cards import catalog, roots; s = catalog.load_suite('glue'); "
              "print(roots.builtin_root()); print(len(s.tasks))")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {script}"],
                         cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    root, count = out.stdout.split()
    assert Path(root) == site / "benchkit" / "_builtin" and count == "10"


def test_suites_that_ship_data_are_checked_with_it() -> None:
    result = benchkit("validate", "glue-mini", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["data_dir"] == str(REPO / "data" / "glue-mini")
    assert {t["task"]: t["rows"]["train"] for t in report["tasks"]} == {
        "glue-mini/sst2": 1500, "glue-mini/cola": 1500, "glue-mini/mrpc": 1000, "glue-mini/stsb": 1000}
    info = json.loads(benchkit("show", "glue-mini/mrpc", "--json").stdout)
    assert info["splits"]["dev"]["label_distribution"] == {"not_equivalent": 65, "equivalent": 140}
