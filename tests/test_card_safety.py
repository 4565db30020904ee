"""Cards from strangers are data, never a risk: paths stay inside the benchmark and its data folder, YAML aliases
cannot blow up, and no YAML tag builds objects or runs code. Each case is one line and exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from card_helpers import sst2_benchmark
from conftest import REPO


def validate(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # a subprocess with a timeout: an alias bomb must not keep validate busy (it did for minutes before)
    return subprocess.run([sys.executable, "-m", "benchkit.cli", "validate", *map(str, args)], capture_output=True,
                          text=True, timeout=60, cwd=cwd, env={**os.environ, "DVC_NO_ANALYTICS": "1"})


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture()
def benchmark(tmp_path: Path) -> Path:
    """A benchmark of its own: tasks/glue/{_glue,sst2}.yaml and data/SST-2 (the embedded rows)."""
    root = tmp_path / "bench"
    card = sst2_benchmark(root)
    assert validate(card, "--data-dir", root / "data").returncode == 0
    return root


def test_a_billion_laughs_card_is_refused(tmp_path: Path) -> None:
    lines = ["id: bomb/laughs", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    card = tmp_path / "bomb.yaml"
    card.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert one_line(validate(card)) == (
        f"error: {card}:2: the YAML expands to more than 100,000 values through its anchors and aliases (&name, "
        "*name) (hint: write the values out; a card needs no alias that repeats or contains itself)")


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    card = tmp_path / "loop.yaml"
    card.write_text("id: x/loop\nloop: &l [*l]\n", encoding="utf-8")
    assert "nesting deeper than 64 levels through its anchors and aliases" in one_line(validate(card))


def test_a_tag_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    card = tmp_path / "code.yaml"
    card.write_text(f"id: x/code\nversion: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    assert one_line(validate(card)) == (
        f"error: {card}:2: the YAML tag tag:yaml.org,2002:python/object/apply:os.system is refused: a card holds "
        "plain data, and tags that build objects or run code are never read (hint: remove the tag and write the "
        "value itself)")
    assert not marker.exists()


@pytest.mark.parametrize("extends", ["../../../outside.yaml", "/etc/hostname"])
def test_extends_cannot_leave_the_benchmark(extends: str, benchmark: Path) -> None:
    (benchmark.parent / "outside.yaml").write_text("id: outside/card\n", encoding="utf-8")
    card = benchmark / "tasks" / "glue" / "sst2.yaml"
    card.write_text(card.read_text().replace("extends: _glue.yaml", f"extends: {extends}"), encoding="utf-8")
    assert one_line(validate(card, "--data-dir", benchmark / "data")) == (
        f"error: {card}:1: extends: '{extends}' is outside this benchmark ({benchmark}) and not a catalog card (hint: "
        "extend a card of this benchmark by a path relative to this card (extends: _glue.yaml), or a catalog card by "
        "its id (extends: glue/sst2))")


@pytest.mark.parametrize("how", ["id", "path"])
def test_a_card_may_extend_a_catalog_card_by_id_or_path(how: str, benchmark: Path) -> None:
    card = benchmark / "tasks" / "glue" / "mine.yaml"
    parent = "glue-mini/sst2" if how == "id" else str(REPO / "tasks" / "glue-mini" / "sst2.yaml")
    card.write_text(f"extends: {parent}\nid: glue/mine\n", encoding="utf-8")
    result = validate(card, "--data-dir", REPO / "data" / "glue-mini")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("field, old, new", [
    ("file", "file: train.tsv", "file: ../../secret.tsv"),
    ("file", "file: train.tsv", "file: /etc/passwd"),
    ("dir", "source: {dir: SST-2}", "source: {dir: ../..}"),
])
def test_data_paths_cannot_climb_out_of_the_data_folder(field: str, old: str, new: str, benchmark: Path) -> None:
    card = benchmark / "tasks" / "glue" / "sst2.yaml"
    card.write_text(card.read_text().replace(old, new), encoding="utf-8")
    line = one_line(validate(card, "--data-dir", benchmark / "data"))
    assert "a card's data paths stay inside the data folder (hint: give a path relative to --data-dir" in line
    assert line.startswith(f"error: {card}:")


def test_a_link_the_user_placed_in_the_data_folder_is_followed(benchmark: Path, tmp_path: Path) -> None:
    # the rule is about what a card names; a link inside the data folder is the user's (DVC's symlink cache makes
    # every tracked file one, into .dvc/cache): tests/test_links.py
    elsewhere = tmp_path / "elsewhere.tsv"
    shutil.copy(benchmark / "data" / "SST-2" / "train.tsv", elsewhere)
    link = benchmark / "data" / "SST-2" / "train.tsv"
    link.unlink()
    link.symlink_to(elsewhere)
    done = validate(benchmark / "tasks" / "glue" / "sst2.yaml", "--data-dir", benchmark / "data")
    assert done.returncode == 0 and "train 1500" in done.stdout, done.stdout + done.stderr


def test_a_suite_data_dir_cannot_leave_the_benchmark(benchmark: Path) -> None:
    (benchmark / "benchmarks").mkdir()
    suite = benchmark / "benchmarks" / "mine.yaml"
    suite.write_text("id: mine\nversion: 1.0.0\nname: Mine\ndescription: mine\nlanguages: [eng-Latn]\ntasks:\n  - {id: glue/sst2, version: 1.0.0}\n"
                     "score_rule: mean\ndata_dir: ../../elsewhere\n", encoding="utf-8")
    (benchmark.parent / "elsewhere").mkdir()
    line = one_line(validate(suite, cwd=benchmark))
    assert "data_dir: data_dir '../../elsewhere' is outside this benchmark" in line
