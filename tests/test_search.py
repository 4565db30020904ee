"""`benchkit search`: spaces as data, grid/random/optuna trials as ordinary run records, median pruning, resuming a
killed search, the chosen recipe file, and a release that names its search and selection protocol.

Trials train the tiny config-built BERT on a few rows of the embedded glue-mini (CPU, seconds each).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from release_helpers import invoke, one_line_errors

FAST = ("--set", "max_train_samples=48", "--set", "max_length=48", "--set", "bootstrap_resamples=0",
        "--set", "batch_size=16")


def search(tiny_model: Path, out: Path, *extra: Any) -> Any:
    return invoke("search", "glue-mini", "--model", tiny_model, "--out", out, "--quiet", *FAST, *extra)


def records(out: Path, pruned: bool = True) -> dict[str, Any]:
    from benchkit.contracts.run_records import iter_records

    return {r.config_hash: (p, r) for p, r in iter_records(out / "runs", pruned=pruned)}


def search_state(out: Path) -> dict[str, Any]:
    (path,) = (out / "searches" / "glue-mini").glob("*/search.json")
    return json.loads(path.read_text())


# ---------------------------------------------------------------------------------------------------------------
# spaces


def test_spaces_parse_sample_and_grid() -> None:
    import random

    from benchkit.search.space import default_space, parse_space

    space = parse_space({"learning_rate": {"log_uniform": [1e-5, 1e-3], "grid": 3}, "epochs": {"int_uniform": [2, 3]},
                         "batch_size": {"choice": [16, 32]}, "warmup_ratio": {"uniform": [0.0, 0.2], "grid": 2},
                         "lora.r": {"choice": [4, 8]}}, "space.yaml")
    grid = space.grid()
    assert len(grid) == 3 * 2 * 2 * 2 * 2
    assert sorted({p["learning_rate"] for p in grid}) == [1e-5, 1e-4, 1e-3]
    assert sorted({p["epochs"] for p in grid}) == [2, 3] and sorted({p["warmup_ratio"] for p in grid}) == [0.0, 0.2]
    draws = [space.sample(random.Random(i)) for i in range(200)]
    assert all(1e-5 <= d["learning_rate"] <= 1e-3 and d["epochs"] in (2, 3) and d["lora.r"] in (4, 8) for d in draws)
    assert sum(d["learning_rate"] < 1e-4 for d in draws) > 60  # log-uniform: half the draws below the geometric mean
    assert space.sample(random.Random(7)) == space.sample(random.Random(7))
    for method in ("full", "lora", "bitfit", "galore", "unknown"):
        assert default_space(method).params


@pytest.mark.parametrize(("space", "expected"), [
    ({"learning_rat": {"log_uniform": [1e-5, 1e-3]}}, "unknown recipe field 'learning_rat' (hint: did you mean "
                                                       "'learning_rate'?)"),
    ({"learning_rate": {"log_uniform": [0, 1e-3]}}, "log_uniform needs low > 0"),
    ({"epochs": {"choice": []}}, "choice needs a list of distinct values"),
    ({"epochs": {"int_uniform": [2.5, 4]}}, "int_uniform needs whole numbers"),
    ({"epochs": {"between": [1, 2]}}, "unknown key 'between'"),
    ({"select_on": {"choice": ["dev", "holdout"]}}, "'select_on' is part of the selection protocol"),
])
def test_a_bad_space_is_one_line_naming_the_file_and_line(tmp_path: Path, tiny_model: Path, space: dict[str, Any],
                                                          expected: str) -> None:
    import yaml

    recipe = tmp_path / "space.yaml"
    recipe.write_text("epochs: 1\n" + yaml.safe_dump({"search": space}))
    result = search(tiny_model, tmp_path / "out", "--recipe", recipe, "--task", "glue-mini/sst2")
    (line,) = one_line_errors(result)
    assert line.startswith(f"error: {recipe}:3: search.") and expected in line, line
    assert not (tmp_path / "out").exists()


def test_run_refuses_a_recipe_with_a_search_space(tmp_path: Path, tiny_model: Path) -> None:
    recipe = tmp_path / "space.yaml"
    recipe.write_text("epochs: 1\nsearch:\n  learning_rate: {log_uniform: [1.0e-5, 1.0e-3]}\n")
    result = invoke("run", "glue-mini", "--model", tiny_model, "--recipe", recipe, "--out", tmp_path / "out")
    (line,) = one_line_errors(result)
    assert line.startswith(f"error: {recipe}:2: search: the recipe file holds a search space")


# ---------------------------------------------------------------------------------------------------------------
# pruning


def test_the_median_rule() -> None:
    from benchkit.search.pruning import MedianRule
    from benchkit.train.pruning import should_prune

    rule = MedianRule(startup_trials=2, warmup_evaluations=1)
    assert rule.thresholds([[0.5, 0.6]], True) is None  # too few completed trials
    thresholds = rule.thresholds([[0.5, 0.6, 0.7], [0.4, 0.8], [0.1, 0.2, 0.3]], True)
    assert thresholds == {"medians": {2: 0.6, 3: 0.5}, "higher_is_better": True, "trials": 3}
    assert should_prune([0.9], thresholds) is None  # warm-up: the first evaluation is never judged
    assert should_prune([0.3, 0.55], thresholds) == (0.55, 0.6)
    assert should_prune([0.7, 0.55], thresholds) is None  # the best so far counts, as in Optuna
    lower = rule.thresholds([[1.0, 0.5], [1.0, 0.7]], False)
    assert should_prune([0.9, 0.65], lower) == (0.65, 0.6) and should_prune([0.9, 0.55], lower) is None


def test_a_pruned_trial_stops_is_recorded_as_pruned_and_is_no_result(tmp_path: Path, tiny_model: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.execute.local import QuietProgress, execute
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.train.models import resolve_model

    suite = catalog.load_suite("glue-mini")
    sst2 = [t for t in suite.tasks if t.id == "glue-mini/sst2"]
    cli = {"epochs": 3, "max_train_samples": 48, "max_length": 48, "bootstrap_resamples": 0}
    (spec,) = build_plan(suite, sst2, [resolve_model(str(tiny_model))], [1], "full", RecipeLayers({}, cli),
                         catalog.suite_data_dir(suite, None),
                         tmp_path)
    spec.extra = {**spec.extra, "prune": {"medians": {2: 1.01}, "higher_is_better": True, "trials": 4},
                  "trial": {"search": "s", "number": 3, "point": {"epochs": 3}}}
    lines: list[str] = []
    result = execute([spec], tmp_path, QuietProgress(lines.append))
    ((_, record),) = result.done
    assert record.pruned is not None and record.pruned.evaluation == 2 and record.pruned.median == 1.01
    assert record.pruned.trials == 4 and record.pruned.value == max(v for _, v in record.selection_curve)
    assert len(record.selection_curve) == 2 and record.costs.epochs == pytest.approx(2.0)
    assert record.results == {} and record.predictions == {} and record.trial.number == 3
    assert any(line.startswith("pruned glue-mini/sst2") and "below the median 101.00 of 4 trial(s)" in line
               for line in lines), lines
    assert records(tmp_path, pruned=False) == {} and spec.config_hash in records(tmp_path)
    # a plain run of the same configuration trains it (a pruned trial is not a result)
    spec.extra = {k: v for k, v in spec.extra.items() if k not in ("prune", "trial")}
    again = execute([spec], tmp_path, QuietProgress(lines.append))
    ((_, full),) = again.done
    assert full.pruned is None and len(full.selection_curve) == 3 and full.results
    assert full.selection_score == max(v for _, v in full.selection_curve)


# ---------------------------------------------------------------------------------------------------------------
# searches


def test_a_random_search_chooses_on_the_holdout_and_its_recipe_file_reproduces_the_reruns(tmp_path: Path,
                                                                                          tiny_model: Path) -> None:
    out = tmp_path / "out"
    result = search(tiny_model, out, "--task", "glue-mini/stsb", "--strategy", "random", "--trials", "3",
                    "--seeds", "1,2", "--set", "epochs=2", "--prune-startup", "1", "--prune-warmup", "0",
                    "--release", "1.0.0")
    assert result.exit_code == 0, result.output
    state = search_state(out)
    task = state["tasks"]["glue-mini/stsb"]
    assert [t["number"] for t in task["trials"]] == [0, 1, 2, 3]
    assert state["selection"]["label"] == "selected on a 10% holdout of train" and not state["selection"]["on_dev"]
    complete = [t for t in task["trials"] if t["state"] == "complete"]
    chosen = task["chosen"]
    assert chosen["value"] == max(t["value"] for t in complete) and chosen["value"] >= task["baseline"]
    found = records(out)
    for trial in task["trials"]:  # every trial is a record, with its point, curve and state
        _, record = found[trial["config_hash"]]
        assert record.trial.search == state["id"] and record.trial.number == trial["number"]
        assert [v for _, v in record.selection_curve] == trial["curve"]
        assert (record.pruned is not None) == (trial["state"] == "pruned")
        if trial["number"] and trial["state"] == "complete":
            assert record.selection_score == trial["value"] and record.recipe["learning_rate"] == pytest.approx(
                trial["point"]["learning_rate"])
    # the median rule held: startup 1, no warm-up; each trial is judged against the trials completed before it
    done: list[list[float]] = []
    for trial in task["trials"]:
        if done and trial["number"] > 0:
            for k in range(1, len(trial["curve"]) + 1):
                at_k = [c[k - 1] for c in done if len(c) >= k]
                if at_k:
                    import statistics

                    below = max(trial["curve"][:k]) < statistics.median(at_k)
                    last = k == 2  # epochs=2: the last evaluation is never judged
                    assert (below and not last) == (trial["state"] == "pruned" and k == len(trial["curve"])), (trial, k)
                    if below:
                        break
        if trial["state"] == "complete":
            done.append(trial["curve"])
    # reruns: the chosen recipe with seeds 1 and 2; the recipe file reproduces exactly those runs
    folder = out / "searches" / "glue-mini" / state["id"]
    assert {r["seed"] for r in task["reruns"]} == {1, 2}
    assert (folder / "report.md").read_text().count("| ") > 10 and (folder / "glue-mini__stsb.png").is_file()
    assert (folder / "trials.csv").read_text().splitlines()[0].startswith("task,trial,")
    again = invoke("run", "glue-mini", "--task", "glue-mini/stsb", "--model", tiny_model, "--recipe",
                   folder / "chosen.yaml", "--seeds", "1,2", "--out", out, "--quiet", "--no-release")
    assert again.exit_code == 0, again.output
    assert "0 run(s) done, 2 skipped" in again.output
    # the release names the search and its protocol, and carries its report
    release = out / "releases" / "glue-mini" / "1.0.0"
    manifest = json.loads((release / "manifest.json").read_text())
    (entry,) = manifest["entries"]
    assert {r["config_hash"] for r in manifest["runs"]} == {r["config_hash"] for r in task["reruns"]}
    (linked,) = entry["searches"]
    assert linked["id"] == state["id"] and linked["tasks"]["glue-mini/stsb"]["chosen"] == chosen
    text = ("recipe from a random search of 3 trial(s) per task and the baseline, selected on a 10% holdout of train, "
            "rerun with seeds 1, 2")
    assert text in entry["selection_text"] and not entry["selected_on_dev"]
    assert text in (release / "leaderboard.md").read_text() and text in (release / "leaderboard.html").read_text()
    rows = [json.loads(line) for line in (release / "results.jsonl").read_text().splitlines()]
    assert {row["recipe_search"] for row in rows} == {state["id"]} and not any(r["selected_on_dev"] for r in rows)
    assert (release / "searches" / state["id"] / "report.md").is_file()
    assert invoke("release", "verify", release).exit_code == 0


def test_a_killed_search_resumes_without_redoing_finished_trials(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "out"
    args = ["search", "glue-mini", "--task", "glue-mini/sst2", "--model", str(tiny_model), "--out", str(out),
            "--quiet", *FAST, "--set", "epochs=1", "--trials", "3", "--seeds", "1", "--no-prune"]
    process = subprocess.Popen([sys.executable, "-m", "benchkit.cli", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "DVC_NO_ANALYTICS": "1"},
                               start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "runs").rglob("record.json"))) < 2:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # as a crash or a pre-empted node would
    process.wait()
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("record.json")}
    assert len(before) >= 2
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    for path, mtime in before.items():
        assert path.stat().st_mtime_ns == mtime  # not trained again
    state = search_state(out)
    assert [t["number"] for t in state["tasks"]["glue-mini/sst2"]["trials"]] == [0, 1, 2, 3]
    trained_now = result.output.count("done  glue-mini/sst2")
    assert trained_now == 4 - len(before)  # the trials left; the rerun with seed 1 is the chosen trial itself


def test_a_grid_search_trains_every_point_and_refuses_too_few_trials(tmp_path: Path, tiny_model: Path) -> None:
    recipe = tmp_path / "grid.yaml"
    recipe.write_text("epochs: 1\nsearch:\n  learning_rate: {log_uniform: [1.0e-4, 1.0e-3], grid: 2}\n")
    refused = search(tiny_model, tmp_path / "a", "--task", "glue-mini/sst2", "--strategy", "grid", "--recipe", recipe,
                     "--trials", "1")
    assert "the grid has 2 points, more than --trials 1" in one_line_errors(refused)[0]
    # both points at once, each in its own process (the packed executor): the trial travels with the run
    result = search(tiny_model, tmp_path / "b", "--task", "glue-mini/sst2", "--strategy", "grid", "--recipe", recipe,
                    "--seeds", "1", "--no-baseline", "--runs-per-device", "2")
    assert result.exit_code == 0, result.output
    state = search_state(tmp_path / "b")
    trials = state["tasks"]["glue-mini/sst2"]["trials"]
    assert [t["point"] for t in trials] == [{"learning_rate": 1e-4}, {"learning_rate": 1e-3}]
    found = records(tmp_path / "b")
    assert [found[t["config_hash"]][1].trial.number for t in trials] == [1, 2]
    assert all(found[t["config_hash"]][1].trial.search == state["id"] for t in trials)


def test_an_optuna_search_keeps_its_study_and_a_dev_selected_release_says_so(tmp_path: Path, tiny_model: Path) -> None:
    pytest.importorskip("optuna")
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    out = tmp_path / "out"
    args = ("--task", "glue-mini/sst2", "--strategy", "optuna", "--trials", "2", "--seeds", "1", "--set", "epochs=1",
            "--select-on", "dev")
    result = search(tiny_model, out, *args, "--release", "1.0.0")
    assert result.exit_code == 0, result.output
    state = search_state(out)
    assert state["selection"]["on_dev"] and state["selection"]["label"] == "selected on dev"
    folder = out / "searches" / "glue-mini" / state["id"]
    storage = JournalStorage(JournalFileBackend(str(folder / "optuna.journal")))
    study = optuna.load_study(study_name="glue-mini/sst2", storage=storage)
    told = [t for t in study.trials if t.state.is_finished()]
    assert len(told) == 2 and [t.user_attrs["benchkit_number"] for t in told] == [0, 1]
    trials = state["tasks"]["glue-mini/sst2"]["trials"][1:]
    assert [t.params for t in told] == [t["point"] for t in trials]
    again = search(tiny_model, out, *args)
    assert again.exit_code == 0 and "done  " not in again.output  # resumed: nothing trained
    assert len(optuna.load_study(study_name="glue-mini/sst2", storage=storage).trials) == 2
    release = out / "releases" / "glue-mini" / "1.0.0"
    rows = [json.loads(line) for line in (release / "results.jsonl").read_text().splitlines()]
    assert rows and all(r["selected_on_dev"] and r["recipe_search"] == state["id"] for r in rows)
    assert "**selected on dev**" in (release / "leaderboard.md").read_text()
    assert '<span class="badge dev"' in (release / "leaderboard.html").read_text()
