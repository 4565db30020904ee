"""Shared by the release tests: the benchkit CLI with the release commands, and real runs of the tiny model on the
embedded glue-mini, made once per test session and reused by test_release.py and test_leaderboard_browser.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from conftest import REPO

SUITE = "glue-mini"
DATA = REPO / "data" / "glue-mini"
TASKS = ("glue-mini/sst2", "glue-mini/cola", "glue-mini/mrpc", "glue-mini/stsb")
TINY_RECIPE = ("--set", "epochs=1", "--set", "max_train_samples=48", "--set", "bootstrap_resamples=0", "--set", "select=last",
               "--set", "max_length=64")


def cli() -> click.Group:
    from benchkit.cli import main
    from benchkit.cli.release import register

    register(main)  # a no-op once cli.py registers the release commands itself
    return main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli(), [str(a) for a in args], catch_exceptions=False)


def shared_runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    """Records of two entries: the tiny model on every task with seeds 1 and 2, and a second small model (tiny-b)
    on SST-2 and MRPC with seed 1 only (a partial entry). 10 runs, about a minute and a half on 2 CPU cores."""
    base = tmp_path_factory.getbasetemp() / "release-runs"
    done = base / "done"
    if done.exists():
        return base
    if base.exists():
        shutil.rmtree(base)
    base.mkdir()
    model_b = make_model_b(base / "models" / "tiny-b", tiny_model)
    first = invoke("run", SUITE, "--model", tiny_model, "--seeds", "1,2", "--out", base, *TINY_RECIPE, "--quiet")
    assert first.exit_code == 0, first.output
    second = invoke("run", SUITE, "--task", "glue-mini/sst2", "--task", "glue-mini/mrpc", "--model", model_b,
                    "--seeds", "1", "--out", base, *TINY_RECIPE, "--quiet")
    assert second.exit_code == 0, second.output
    done.touch()
    return base


def make_model_b(folder: Path, tiny_model: Path) -> Path:
    """A second real model (1 layer, hidden 48: other weights, other size) with the tiny model's tokenizer."""
    import transformers

    config = transformers.BertConfig(vocab_size=30522, hidden_size=48, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=96, max_position_embeddings=512)
    transformers.set_seed(1)
    transformers.BertModel(config).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(str(tiny_model)).save_pretrained(folder)
    return folder


def copy_runs(runs: Path, target: Path) -> Path:
    """A private copy of the records and predictions (without the tokenization cache)."""
    shutil.copytree(runs / "runs", target / "runs")
    return target


def copy_data(target: Path) -> Path:
    folder = target / "data" / SUITE
    shutil.copytree(DATA, folder)
    return folder


def one_line_errors(result: Result) -> list[str]:
    """The stderr lines of a refusal: exit 2, each line one error/warning/note."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert lines and all(line.startswith(("error: ", "warning: ", "note: ")) for line in lines), result.stderr
    return lines


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def record_of(copy: Path, task: str, model_suffix: str, seed: int) -> Path:
    for path in sorted((copy / "runs").rglob("record.json")):
        data = json.loads(path.read_text())
        if data["task"]["id"] == task and data["model"]["name"].endswith(model_suffix) and data["seed"] == seed:
            return path
    raise AssertionError("record not found")
