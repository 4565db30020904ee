"""A release folder is what people archive and share: it holds its run records and predictions and verifies wherever
it is copied, looking for its data only where the data files really are. Also: the default release location, picking
one configuration out of a results folder, and every score naming its split and how its checkpoint was selected."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from release_helpers import SUITE, copy_data, copy_runs, edit_json, invoke, one_line_errors, record_of, shared_runs

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("release-runs")

slow = pytest.mark.slow


def release(runs: Path, *extra: Any, version: str = "1.0.0", cwd: Path | None = None):
    with contextlib.chdir(cwd or runs.parent):
        return invoke("release", SUITE, "--version", version, "--runs", runs, "--resamples", "0", *extra)


def verify(folder: Path, *extra: Any, cwd: Path):
    with contextlib.chdir(cwd):
        return invoke("release", "verify", folder, *extra)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    return shared_runs(tmp_path_factory, tiny_model)


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory, runs: Path) -> dict[str, Path]:
    """A release built (default location) from private copies of the runs and data, copied with ``cp -r`` into
    another folder; then the original runs folder is moved away."""
    root = tmp_path_factory.mktemp("portable")
    own = copy_runs(runs, root / "results")
    data = copy_data(root)
    built = release(own, "--data-dir", data)
    assert built.exit_code == 0, built.output
    folder = own / "releases" / SUITE / "1.0.0"  # default --out: <runs>/releases
    assert built.stdout.strip().endswith(f"leaderboard: {folder / 'leaderboard.html'}")
    again = release(own, "--data-dir", data, version="1.0.1")  # the copies inside 1.0.0 are not runs of 1.0.1
    assert again.exit_code == 0, again.output
    second = json.loads((own / "releases" / SUITE / "1.0.1" / "manifest.json").read_text())
    assert len(second["runs"]) == 10 and not any(r["source"].startswith("releases/") for r in second["runs"])
    (root / "shared" / "deep").mkdir(parents=True)
    copy = root / "shared" / "deep" / "1.0.0"
    subprocess.run(["cp", "-r", str(folder), str(copy)], check=True)
    moved_runs = own.rename(root / "results-moved")
    return {"root": root, "copy": copy, "data": data, "runs": moved_runs}


@slow
def test_a_copied_release_verifies_without_its_runs_folder(moved: dict[str, Path], tmp_path: Path) -> None:
    copy = moved["copy"]
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["schema"] == "benchkit.release/2"
    for run in manifest["runs"]:  # records and predictions inside the release, covered by `files`
        assert (copy / run["record"]).is_file() and run["record"] in manifest["files"]
        for entry in run["predictions"].values():
            assert (copy / run["record"]).parent.joinpath(entry["file"]).is_file()
    ok = verify(copy, cwd=tmp_path)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"{copy}: all ") and "hashes match" in ok.stdout and not ok.stderr
    as_json = json.loads(verify(copy, "--json", cwd=tmp_path).stdout)
    assert as_json["ok"] is True and as_json["notes"] == []


@slow
def test_the_data_are_found_only_where_the_files_are(moved: dict[str, Path], tmp_path: Path) -> None:
    copy, data = moved["copy"], moved["data"]
    away = data.rename(tmp_path / "data-elsewhere")
    try:
        (line,) = one_line_errors(verify(copy, cwd=tmp_path))
        assert line.startswith("error: data/glue-mini: --data-dir: data folder not found: none of data/glue-mini, ")
        assert "(relative to the release) holds the release's 12 data files (e.g. SST-2/train.tsv)" in line
        assert "so their hashes were not checked" in line
        assert "(hint: pass --data-dir DIR with the data the release was built from, or --skip-data" in line
        ok = verify(copy, "--data-dir", away, cwd=tmp_path)
        assert ok.exit_code == 0, ok.output
        skipped = verify(copy, "--skip-data", cwd=tmp_path)
        assert skipped.exit_code == 0, skipped.output
        assert "note: data not checked (--skip-data): 12 data hashes of the manifest unverified" in skipped.stderr
        (tmp_path / "empty").mkdir()
        (line,) = one_line_errors(verify(copy, "--data-dir", tmp_path / "empty", cwd=tmp_path))
        assert f"data folder not found: --data-dir {tmp_path / 'empty'} holds none of the release's 12" in line
    finally:
        away.rename(data)


def test_find_takes_the_candidate_that_holds_the_files_not_any_folder(tmp_path: Path) -> None:
    from benchkit.release.verify import _find

    release = tmp_path / "a" / "b"
    release.mkdir(parents=True)
    real = tmp_path / "real"
    entry = {"from_release": "../..", "absolute": str(real), "path": "nowhere"}  # ../.. is a folder, without files
    assert _find(release, entry, None, ["X/train.tsv"]) is None
    (real / "X").mkdir(parents=True)
    (real / "X" / "train.tsv").write_text("x\n")
    assert _find(release, entry, None, ["X/train.tsv"]) == real.resolve()


@slow
def test_a_tampered_copied_predictions_file_is_named(moved: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(moved["copy"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    run = manifest["runs"][0]
    predictions = (copy / run["record"]).parent / run["predictions"]["dev"]["file"]
    predictions.write_text(predictions.read_text().replace('"prediction": ', '"prediction":  ', 1))
    (line,) = one_line_errors(verify(copy, cwd=tmp_path))
    assert line.startswith(f"error: {predictions}: sha256: predictions 'dev' changed since the release (sha256 "
                           f"{run['predictions']['dev']['sha256'][:12]} in the manifest")


@slow
def test_runs_compares_the_original_records(moved: dict[str, Path], tmp_path: Path) -> None:
    originals = copy_runs(moved["runs"], tmp_path / "originals")
    manifest = json.loads((moved["copy"] / "manifest.json").read_text())
    run = manifest["runs"][1]
    predictions = (originals / run["source"]).parent / run["predictions"]["dev"]["file"]
    predictions.write_text(predictions.read_text() + "\n")
    (line,) = one_line_errors(verify(moved["copy"], "--runs", originals, cwd=tmp_path))
    assert line.startswith(f"error: {predictions}: sha256: original predictions 'dev' changed since the release")


# --------------------------------------------------------------------------------------------------------------
# one configuration out of a results folder that holds several


@pytest.fixture(scope="module")
def two_configs(tmp_path_factory: pytest.TempPathFactory, runs: Path, tiny_model: Path) -> dict[str, Any]:
    """The shared runs plus one STS-B run of another configuration (epochs=2) for the tiny model's seed 1."""
    root = tmp_path_factory.mktemp("configs")
    own = copy_runs(runs, root / "results")
    hashes = frozenset(json.loads(p.read_text())["config_hash"] for p in (own / "runs").rglob("record.json"))
    original = record_of(own, "glue-mini/stsb", tiny_model.name, 1)
    other = original.parent.with_name("seed1-other")
    shutil.copytree(original.parent, other)

    def change(record: dict[str, Any]) -> None:
        record["recipe"]["epochs"] = 2
        record["config_hash"] = "f" * len(record["config_hash"])

    edit_json(other / "record.json", change)
    return {"root": root, "runs": own, "plan": hashes, "original": original, "other": other / "record.json"}


@slow
def test_two_configurations_are_refused_naming_the_recipe_fields_and_where_picks_one(two_configs: dict[str, Any],
                                                                                     tiny_model: Path) -> None:
    from benchkit.release.collect import value_text

    own = two_configs["runs"]
    first, second = sorted(p.relative_to(own).as_posix() for p in (two_configs["original"], two_configs["other"]))
    epochs = {p.relative_to(own).as_posix(): value_text(json.loads(p.read_text())["recipe"]["epochs"])
              for p in (two_configs["original"], two_configs["other"])}  # as the records hold them: 1.0, 2
    (line,) = one_line_errors(release(own))
    assert (f"error: {own}: recipe.epochs: 2 records of glue-mini/stsb for model '{tiny_model}', method full, seed 1 "
            f"with different recipes (epochs differ): epochs={epochs[first]} ({first}); epochs={epochs[second]} "
            f"({second}) (hint: release one configuration: add --where epochs={epochs[first]} or --where "
            f"epochs={epochs[second]}, or pass --runs a folder that holds only one)") == line
    picked = release(own, "--where", "epochs=1", "--no-submissions")
    assert picked.exit_code == 0, picked.output
    manifest = json.loads((own / "releases" / SUITE / "1.0.0" / "manifest.json").read_text())
    assert {r["config_hash"] for r in manifest["runs"]} == two_configs["plan"]
    (line,) = one_line_errors(release(own, "--where", "epocs=1", version="1.0.1"))
    assert "no record has the recipe field 'epocs'" in line and "epochs" in line
    (line,) = one_line_errors(release(own, "--where", "epochs=7", version="1.0.1"))
    assert "no run records of suite glue-mini with recipe epochs=7 under this folder (found 11 record(s) of " \
           "glue-mini with other configurations) (hint: the records have epochs: 1.0, 2)" in line


@slow
def test_release_options_configs_keep_only_the_planned_runs(two_configs: dict[str, Any], tmp_path: Path) -> None:
    from benchkit.errors import BenchkitError
    from benchkit.release.build import ReleaseOptions, build_release
    from benchkit.release.scores import CISettings

    options = ReleaseOptions(version="2.0.0", runs_dir=two_configs["runs"], out_dir=tmp_path / "releases",
                             ci=CISettings(resamples=0), submissions=False, configs=two_configs["plan"])
    with contextlib.chdir(tmp_path):
        folder = build_release(SUITE, options, warn=lambda _: None)
        manifest = json.loads((folder / "manifest.json").read_text())
        assert folder == tmp_path / "releases" / SUITE / "2.0.0"
        assert {r["config_hash"] for r in manifest["runs"]} == two_configs["plan"]
        with pytest.raises(BenchkitError, match=r"no run records of suite glue-mini among the 1 planned "
                                                r"configuration\(s\) under this folder \(found 11 record\(s\)"):
            build_release(SUITE, ReleaseOptions(version="2.0.1", runs_dir=two_configs["runs"],
                                                configs=frozenset({"0" * 64})), warn=lambda _: None)


# --------------------------------------------------------------------------------------------------------------
# every score names its split and how the checkpoint was selected


@slow
def test_scores_name_their_split_and_selection(tmp_path: Path, runs: Path, tiny_model: Path) -> None:
    import pandas as pd

    own = copy_runs(runs, tmp_path / "results")
    for path in (own / "runs").rglob("record.json"):
        def change(record: dict[str, Any]) -> None:
            if not record["model"]["name"].endswith(tiny_model.name):  # tiny-b: best epoch on a holdout of train
                record["selection"] = {"rule": "best", "split": "train_holdout", "rows": 50, "train_rows": 450,
                                       "derive": {"from": "train", "fraction": 0.1, "stratify": True, "seed": 0}}
            elif record["seed"] == 1:
                record["selection"] = {"rule": "best", "split": "dev"}
            else:  # a record written before selection was recorded: read from its recipe (select=last)
                record.pop("selection", None)
        edit_json(path, change)
    built = release(own, "--no-submissions")
    assert built.exit_code == 0, built.output
    mixed = "last epoch, no selection (4 of 8 runs); selected on dev (4 of 8 runs)"
    holdout = "best epoch on a 10% holdout of train"
    assert f"(on dev; {mixed})" in built.stdout and f"(on dev; {holdout})" in built.stdout
    folder = own / "releases" / SUITE / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = {e["model"]: e for e in manifest["entries"]}
    tiny, other = entries[str(tiny_model)], entries[str(runs / "models" / "tiny-b")]
    assert tiny["eval_splits"] == other["eval_splits"] == ["dev"]
    assert tiny["selection_text"] == mixed and tiny["selected_on_dev"] == "selected on dev (4 of 8 runs)"
    assert other["selection_text"] == holdout and other["selected_on_dev"] == ""
    assert manifest["evaluation"]["selected_on_dev"] == "selected on dev (4 of 10 runs)"
    by_seed = {(r["model"], r["seed"]): r["selection"] for r in manifest["runs"]}
    assert by_seed[(str(tiny_model), 1)] == {"rule": "best", "split": "dev", "derive": None, "rows": None,
                                             "train_rows": None, "label": "selected on dev"}
    assert by_seed[(str(tiny_model), 2)]["label"] == "last epoch, no selection"

    frame = pd.read_parquet(folder / "results.parquet")
    labels = {(m, s): (sel, rule, None if pd.isna(split) else split) for m, s, sel, rule, split in
              frame[["model", "seed", "selection", "selection_rule", "selection_split"]].itertuples(index=False)}
    assert labels[(str(tiny_model), 1)] == ("selected on dev", "best", "dev")
    assert labels[(str(tiny_model), 2)] == ("last epoch, no selection", "last", None)
    assert labels[(str(runs / "models" / "tiny-b"), 1)] == (holdout, "best", "train_holdout")
    assert set(frame["eval_splits"]) == {"dev"}

    html = (folder / "leaderboard.html").read_text()
    assert ("<caption>All scores are on the dev split. Checkpoint selection: last epoch, no selection (4 of 10 runs); "
            "selected on dev (4 of 10 runs); best epoch on a 10% holdout of train (2 of 10 runs)") in html
    row = html[html.index(f'<tr data-entry="{tiny["entry"]}"'):]
    row = row[:row.index("</tr>")]
    score = row[row.index('class="number score"'):]
    badge = f'<span class="badge dev" title="{mixed}">selected on dev (4 of 8 runs)</span>'
    assert score[:score.index("</td>")].endswith(badge)  # next to the score
    assert f'<span class="sel" title="checkpoint selection">{mixed}</span>' in row
    row_b = html[html.index(f'<tr data-entry="{other["entry"]}"'):]
    row_b = row_b[:row_b.index("</tr>")]
    assert 'class="badge dev"' not in row_b
    assert f'<span class="sel" title="checkpoint selection">{holdout}</span>' in row_b

    md = (folder / "leaderboard.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert "**selected on dev (4 of 8 runs)** |" in table[2] and table[2].endswith(f"| {mixed} |")
    assert "selected on dev" not in table[3] and table[3].endswith(f"| {holdout} |")
    sheet = (folder / "datasheet.md").read_text()
    assert "Scores of this release (leaderboard, results, manifest) are measured on the dev split" in sheet
    assert ("Checkpoint selection: last epoch, no selection (4 of 10 runs); selected on dev (4 of 10 runs); best "
            "epoch on a 10% holdout of train (2 of 10 runs).") in sheet
    assert "Runs selected on dev (4 of 10 runs) had their epoch chosen on the split their scores are reported" in sheet
