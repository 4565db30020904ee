"""Newcomer fixes (issue 22, item 11): `search --set` fixes a field for every trial, a Hub model missing offline fails
fast with the alias it matches, Ctrl-C in `score` promises no resume, make_glue_mini's missing selection.json, the
README's extras, and cost plots whose tick labels are distinct."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import REPO
from release_helpers import invoke

FAST = ("--set", "max_train_samples=48", "--set", "max_length=48", "--set", "bootstrap_resamples=0",
        "--set", "batch_size=16")


def _records(out: Path) -> dict[str, Any]:
    from benchkit.train.records import iter_records

    return {r.config_hash: r for _, r in iter_records(out / "runs", pruned=True)}


# ---------------------------------------------------------------------------------------------------------------
# search --set


def test_search_set_fixes_the_field_for_every_trial_and_leaves_it_out_of_the_space(tmp_path: Path,
                                                                                  tiny_model: Path) -> None:
    out = tmp_path / "out"
    result = invoke("search", "glue-mini/sst2", "--model", tiny_model, "--out", out, "--quiet", *FAST,
                    "--set", "epochs=1", "--strategy", "random", "--trials", "2", "--no-baseline", "--no-prune",
                    "--seeds", "1")
    assert result.exit_code == 0, result.output
    # the default space of full fine-tuning names epochs and batch_size: said once, in one line
    (line,) = [x for x in result.output.splitlines() if x.startswith("--set fixes")]
    assert line == ("--set fixes epochs=1, batch_size=16 for every trial: left out of the search space (epochs choice "
                    "[2, 3, 4]; batch_size choice [16, 32])")
    (path,) = (out / "searches" / "glue-mini").glob("*/search.json")
    state = json.loads(path.read_text())
    assert "epochs" not in state["space"] and "batch_size" not in state["space"] and "learning_rate" in state["space"]
    trials = state["tasks"]["glue-mini/sst2"]["trials"]
    assert [t["number"] for t in trials] == [1, 2]
    found = _records(out)
    for trial in trials:
        assert "epochs" not in trial["point"]
        record = found[trial["config_hash"]]
        assert record.recipe["epochs"] == 1 and record.recipe["batch_size"] == 16 and trial["epochs"] == 1
    chosen = (path.parent / "chosen.yaml").read_text()
    assert "epochs: 1\n" in chosen


def test_search_refuses_a_set_that_fixes_the_whole_space(tmp_path: Path, tiny_model: Path) -> None:
    recipe = tmp_path / "space.yaml"
    recipe.write_text("search:\n  epochs: {choice: [1, 2]}\n")
    result = invoke("search", "glue-mini/sst2", "--model", tiny_model, "--out", tmp_path / "out", "--recipe", recipe,
                    "--set", "epochs=1")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --set: --set fixes every parameter of the search space (epochs): nothing "
                                     "to search (hint: drop one of those --set, or search other fields (a search: "
                                     "section in the --recipe file))")
    assert not (tmp_path / "out").exists()
