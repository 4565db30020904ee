"""Releases end to end from the embedded glue-mini with a tiny real model: every file of the release checked
against its sources (manifest hashes against the data, result rows against the records, the GLUE submission files'
exact layout against the test files and predictions), the refusals, and verify after a byte of data changes."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from release_helpers import (
    DATA,
    SUITE,
    TASKS,
    copy_data,
    copy_runs,
    edit_json,
    invoke,
    one_line_errors,
    record_of,
    shared_runs,
)

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("release-runs")

slow = pytest.mark.slow  # each builds on real runs of the tiny model (about a minute for the first)

FILES = ("manifest.json", "results.parquet", "results.jsonl", "leaderboard.html", "leaderboard.md", "datasheet.md")
GLUE_FILES = {"glue-mini/sst2": "SST-2.tsv", "glue-mini/cola": "CoLA.tsv", "glue-mini/mrpc": "MRPC.tsv",
              "glue-mini/stsb": "STS-B.tsv"}
# The official 0/1 codes of the binary GLUE tasks (reference 1.5), written out here independently of the cards.
GLUE_CODES = {"glue-mini/sst2": {"negative": "0", "positive": "1"},
              "glue-mini/cola": {"unacceptable": "0", "acceptable": "1"},
              "glue-mini/mrpc": {"not_equivalent": "0", "equivalent": "1"}}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release(out: Path, runs: Path, *extra: Any, version: str = "1.0.0", data: Path | None = None,
            cwd: Path | None = None):
    args = ["release", SUITE, "--version", version, "--runs", runs, "--out", out, *extra]
    if data is not None:
        args += ["--data-dir", data]
    with contextlib.chdir(cwd or out.parent):
        return invoke(*args)


def records(runs: Path) -> dict[str, dict[str, Any]]:
    return {p.relative_to(runs).as_posix(): json.loads(p.read_text()) for p in sorted((runs / "runs").rglob("record.json"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    return shared_runs(tmp_path_factory, tiny_model)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, runs: Path) -> dict[str, Any]:
    """One release built from the shared runs with a private copy of the data (verify tests change bytes in it)."""
    root = tmp_path_factory.mktemp("release")
    data = copy_data(root)
    result = release(root / "releases", runs, "--resamples", "100", data=data, cwd=root)
    assert result.exit_code == 0, result.output
    folder = root / "releases" / SUITE / "1.0.0"
    return {"root": root, "folder": folder, "data": data, "result": result,
            "manifest": json.loads((folder / "manifest.json").read_text())}


@slow
def test_release_writes_every_file_and_prints_the_leaderboard(built: dict[str, Any]) -> None:
    folder = built["folder"]
    for name in FILES:
        assert (folder / name).is_file(), name
    last = built["result"].stdout.strip().splitlines()[-1]
    assert last == f"leaderboard: {folder / 'leaderboard.html'}"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], "temporary build folders left behind"


@slow
def test_manifest_pins_cards_data_kit_models_and_files(built: dict[str, Any], runs: Path, tiny_model: Path) -> None:
    from benchkit import __version__
    from benchkit.cards.catalog import load_suite

    manifest, folder, data = built["manifest"], built["folder"], built["data"]
    suite = load_suite(SUITE)
    assert manifest["release"]["suite"] == SUITE and manifest["release"]["version"] == "1.0.0"
    assert manifest["release"]["created"].endswith("+00:00") and manifest["release"]["forced"] is False
    assert manifest["suite"]["id"] == SUITE and manifest["suite"]["version"] == suite.card.version
    assert manifest["suite"]["files"][0]["sha256"] == sha256(suite.path)
    assert [t["id"] for t in manifest["tasks"]] == list(TASKS)
    for task, card in zip(manifest["tasks"], suite.tasks):
        assert task["version"] == card.version
        assert task["files"][0]["sha256"] == sha256(REPO / "tasks" / f"{card.id}.yaml")
        assert task["files"][1]["path"].endswith(f"tasks/glue/{card.id.split('/')[1]}.yaml")  # the extends chain
        assert set(task["data"]) == {"train", "dev", "test"}
        for split, entry in task["data"].items():
            assert entry["sha256"] == sha256(data / entry["file"]) == sha256(DATA / entry["file"]), (task["id"], split)
    assert manifest["kit"]["benchkit_version"] == __version__
    assert manifest["dvc"] is None  # built outside a DVC repository
    assert manifest["score_rule"]["name"] == "mean"
    assert manifest["confidence_intervals"] == {
        "method": "percentile", "level": 0.95, "resamples": 100, "seed": 0,
        "unit": "two-level: seeds with replacement, then evaluation examples with replacement, per task"}
    assert {m["name"] for m in manifest["models"]} == {str(tiny_model), str(runs / "models" / "tiny-b")}
    assert manifest["methods"] == [{"name": "full", "options": {}}]
    recs = records(runs)
    assert {r["source"]: r["sha256"] for r in manifest["runs"]} == {rel: sha256(runs / rel) for rel in recs}
    for run in manifest["runs"]:  # the release holds the records and predictions, at their paths under --runs
        assert run["record"] == run["source"] and manifest["files"][run["record"]] == run["sha256"]
        assert set(run["predictions"]) == set(recs[run["source"]]["predictions"])
        for entry in run["predictions"].values():
            assert manifest["files"][f"{Path(run['record']).parent.as_posix()}/{entry['file']}"] == entry["sha256"]
        assert run["eval_splits"] == ["dev"] and run["selection"]["label"] == "last epoch, no selection"
    assert manifest["evaluation"]["eval_splits"] == ["dev"]
    assert manifest["evaluation"]["selection_text"] == "last epoch, no selection"
    assert manifest["files"] == {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(folder.rglob("*"))
                                 if p.is_file() and p.name != "manifest.json"}


@slow
def test_entries_aggregate_seeds_with_a_ci_and_label_partial(built: dict[str, Any], runs: Path, tiny_model: Path) -> None:
    entries = {e["model"]: e for e in built["manifest"]["entries"]}
    full, partial = entries[str(tiny_model)], entries[str(runs / "models" / "tiny-b")]
    assert full["partial"] is False and full["seeds"] == [1, 2] and full["tasks"] == sorted(TASKS)
    assert partial["partial"] is True and partial["missing"] == ["glue-mini/cola", "glue-mini/stsb"]
    assert "PARTIAL" in partial["suite_score_label"]
    recs = [r for r in records(runs).values() if r["model"]["name"] == str(tiny_model)]
    # task score per seed = the record's score (glue-mini's 'mean' rule averages the card's metrics); suite = mean
    per_task = {t: [r["score"] for r in recs if r["task"]["id"] == t] for t in TASKS}
    assert full["suite_score"] == pytest.approx(sum(sum(v) / len(v) for v in per_task.values()) / len(TASKS))
    for task, values in per_task.items():
        stats = full["task_scores"][task]
        assert stats["mean"] == pytest.approx(sum(values) / 2) and stats["n"] == 2
        assert stats["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    assert full["ci"]["low"] <= full["suite_score"] <= full["ci"]["high"]
    assert full["ci"]["high"] - full["ci"]["low"] > 0
    assert full["costs"]["trainable_parameters"] == max(r["costs"]["trainable_parameters"] for r in recs)
    train_time = sum(sum(r["costs"]["train_seconds"] for r in recs if r["task"]["id"] == t) / 2 for t in TASKS)
    assert full["costs"]["train_seconds"] == pytest.approx(train_time, abs=1e-3)


@slow
def test_results_have_one_row_per_run_matching_the_records(built: dict[str, Any], runs: Path) -> None:
    import pandas as pd

    folder = built["folder"]
    frame = pd.read_parquet(folder / "results.parquet")
    lines = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    recs = records(runs)
    assert len(frame) == len(lines) == len(recs) == 10
    assert list(frame.columns) == list(lines[0])
    for row, line in zip(frame.to_dict("records"), lines):
        for key, value in line.items():
            if value is None:
                assert row[key] is None or (isinstance(row[key], float) and math.isnan(row[key])), key
            else:
                assert row[key] == pytest.approx(value) if isinstance(value, float) else row[key] == value, key
    by_record = {line["record"]: line for line in lines}
    assert set(by_record) == set(recs)
    for rel, rec in recs.items():
        row = by_record[rel]
        assert (row["task"], row["model"], row["method"], row["seed"]) == (
            rec["task"]["id"], rec["model"]["name"], rec["method"]["name"], rec["seed"])
        assert row["config_hash"] == rec["config_hash"] and row["record_sha256"] == sha256(runs / rel)
        assert row["score"] == pytest.approx(rec["score"])
        assert (row["eval_splits"], row["selection"], row["selection_rule"], row["selection_split"]) == (
            "dev", "last epoch, no selection", "last", None)
        for split, result in rec["results"].items():
            for metric, value in result["metrics"].items():
                assert row[f"metrics.{split}.{metric}"] == pytest.approx(value)
            assert row[f"metrics.{split}.examples"] == result["examples"]
        for cost, value in rec["costs"].items():
            assert row[cost] == value, cost


def _test_ids(card_id: str) -> list[str]:
    folder = {"glue-mini/sst2": "SST-2", "glue-mini/cola": "CoLA", "glue-mini/mrpc": "MRPC", "glue-mini/stsb": "STS-B"}
    with (DATA / folder[card_id] / "test.tsv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    column = rows[0].index("index")
    return [row[column] for row in rows[1:]]


@slow
def test_glue_submission_has_the_official_layout(built: dict[str, Any], runs: Path, tiny_model: Path) -> None:
    manifest, folder = built["manifest"], built["folder"]
    made = [s for s in manifest["submissions"] if s["archive"]]
    skipped = [s for s in manifest["submissions"] if not s["archive"]]
    assert len(made) == 1 and len(skipped) == 1 and "partial" in skipped[0]["skipped"]
    info = made[0]
    recs = records(runs)
    for task, rel in info["runs"].items():  # per task, the seed with the best dev score
        rivals = [r for r in recs.values() if r["task"]["id"] == task and r["model"]["name"] == str(tiny_model)]
        assert recs[rel]["score"] == max(r["score"] for r in rivals)
    with zipfile.ZipFile(folder / info["archive"]) as archive:
        assert sorted(archive.namelist()) == sorted(GLUE_FILES.values())
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    for task, name in GLUE_FILES.items():
        text = files[name]
        assert text.endswith("\n") and "\r" not in text
        lines = text.splitlines()
        assert lines[0] == "index\tprediction"
        rows = [line.split("\t") for line in lines[1:]]
        assert all(len(row) == 2 for row in rows)
        ids = _test_ids(task)
        assert [row[0] for row in rows] == ids
        record_dir = (runs / info["runs"][task]).parent
        predictions = {}
        for line in (record_dir / recs[info["runs"][task]]["predictions"]["test"]).read_text().splitlines():
            obj = json.loads(line)
            predictions[obj["id"]] = obj["prediction"]
        for index, value in rows:
            if task == "glue-mini/stsb":
                assert value == str(round(min(max(predictions[index], 0.0), 5.0), 3))
                assert 0.0 <= float(value) <= 5.0 and len(value.split(".")[1]) <= 3
            else:
                assert value == GLUE_CODES[task][predictions[index]]
        assert (folder / "submissions" / info["entry"] / name).read_text() == text


@slow
def test_leaderboard_and_datasheet_content(built: dict[str, Any], runs: Path) -> None:
    folder, manifest = built["folder"], built["manifest"]
    html = (folder / "leaderboard.html").read_text()
    assert '<table id="leaderboard">' in html and 'data-key="score"' in html and 'data-key="trainable"' in html
    assert html.count("<tr data-entry=") == 2 and '<span class="badge"' in html
    assert "data:image/png;base64," in html and "<script>" in html
    for forbidden in ('src="http', "src='http", 'href="http://', "<link", "@import", "url(http"):
        assert forbidden not in html, forbidden  # self-contained: nothing fetched from elsewhere
    assert "percentile bootstrap, 100 resamples" in html
    assert ("<caption>All scores are on the dev split. Checkpoint selection: last epoch, no selection (all 10 runs)"
            in html)
    assert html.count('<span class="sel" title="checkpoint selection">last epoch, no selection</span>') == 2
    assert 'class="badge dev"' not in html
    md = (folder / "leaderboard.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0].startswith("| # | model | method | suite score | sst2 | cola | mrpc | stsb | trainable params")
    assert table[0].endswith("| seeds | selection |") and table[2].endswith("| last epoch, no selection |")
    assert len(table) == 4 and "(partial)" in table[3]
    assert "All scores are on the dev split. Checkpoint selection: last epoch, no selection (all 10 runs)" in md
    full = next(e for e in manifest["entries"] if not e["partial"])
    assert f"{full['suite_score'] * 100:.2f}" in table[2]
    sheet = (folder / "datasheet.md").read_text()
    from benchkit.cards.catalog import load_task

    for task in manifest["tasks"]:
        card = load_task(task["id"])
        assert f"`{card.id}` {card.version}" in sheet and card.license in sheet  # Markdown: an apostrophe stays one
        assert " ".join(card.citation.split()) in sheet
        for entry in task["data"].values():
            assert entry["sha256"] in sheet
    assert "| train | present | 1500 | negative" in sheet  # SST-2 split sizes and label distribution
    assert "measured on the dev split" in sheet
    assert "Checkpoint selection: last epoch, no selection (all 10 runs)." in sheet
    assert sheet.count("- Scores of this release measured on: dev") == 4


@slow
def test_templates_autoescape(tmp_path: Path, runs: Path) -> None:
    """A model name with markup cannot inject it into the page or the Markdown."""
    copy = copy_runs(runs, tmp_path / "copy")
    for path in (copy / "runs").rglob("record.json"):
        data = json.loads(path.read_text())
        if data["model"]["name"].endswith("tiny-b"):
            data["model"]["name"] = "<script>alert(1)</script>|x"
            path.write_text(json.dumps(data))
    result = release(tmp_path / "out", copy, "--resamples", "0", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / SUITE / "1.0.0"
    html = (folder / "leaderboard.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = (folder / "leaderboard.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in md


# --------------------------------------------------------------------------------------------------------------
# refusals


@slow
def test_refuses_to_overwrite_a_version_and_force_replaces_it_with_a_warning(tmp_path: Path, runs: Path) -> None:
    out = tmp_path / "releases"
    assert release(out, runs, "--resamples", "0").exit_code == 0
    folder = out / SUITE / "1.0.0"
    before = sha256(folder / "manifest.json")
    again = release(out, runs, "--resamples", "0")
    (line,) = one_line_errors(again)
    assert "release glue-mini 1.0.0 already exists" in line and "immutable" in line and "--force" in line
    assert sha256(folder / "manifest.json") == before
    forced = release(out, runs, "--resamples", "0", "--force")
    assert forced.exit_code == 0, forced.output
    assert "warning: --force: replacing the existing release glue-mini 1.0.0" in forced.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["release"]["forced"] is True
    assert sorted(p.name for p in (out / SUITE).iterdir()) == ["1.0.0"]  # no temporary folders left


@slow
def test_refuses_bad_versions_and_missing_records(tmp_path: Path, runs: Path) -> None:
    (line,) = one_line_errors(release(tmp_path / "out", runs, version="v1"))
    assert "'v1' is not a release version" in line and "MAJOR.MINOR.PATCH" in line
    (tmp_path / "empty").mkdir()
    (line,) = one_line_errors(release(tmp_path / "out", tmp_path / "empty"))
    assert "no run records of suite glue-mini" in line and "benchkit run glue-mini" in line
    (line,) = one_line_errors(release(tmp_path / "out", tmp_path / "nowhere"))
    assert "runs folder not found" in line
    assert not (tmp_path / "out" / SUITE / "1.0.0").exists()


@slow
def test_refuses_records_of_different_card_versions(tmp_path: Path, runs: Path, tiny_model: Path) -> None:
    copy = copy_runs(runs, tmp_path / "copy")
    path = record_of(copy, "glue-mini/sst2", tiny_model.name, 2)
    edit_json(path, lambda d: d["task"].update(version="0.9.0"))
    lines = one_line_errors(release(tmp_path / "out", copy))
    (line,) = [line for line in lines if "glue-mini/sst2" in line]
    rel = path.relative_to(copy).as_posix()
    assert "records of glue-mini/sst2 mix card versions: 0.9.0 (" + rel in line and "1.0.0 (" in line
    assert not (tmp_path / "out" / SUITE / "1.0.0").exists()


@slow
def test_refuses_records_of_different_data(tmp_path: Path, runs: Path, tiny_model: Path) -> None:
    copy = copy_runs(runs, tmp_path / "copy")
    path = record_of(copy, "glue-mini/mrpc", tiny_model.name, 1)
    edit_json(path, lambda d: d["provenance"]["data"]["train"].update(sha256="0" * 64))
    (line,) = one_line_errors(release(tmp_path / "out", copy))
    assert "records of glue-mini/mrpc were built from different data for split 'train' (MRPC/train.tsv)" in line
    assert "sha256 000000000000 (" + path.relative_to(copy).as_posix() in line
    assert sha256(DATA / "MRPC" / "train.tsv")[:12] in line


@slow
def test_refuses_when_the_data_changed_since_the_runs(tmp_path: Path, runs: Path) -> None:
    data = copy_data(tmp_path)
    dev = data / "CoLA" / "dev.tsv"
    dev.write_bytes(dev.read_bytes().replace(b"The", b"Tha", 1))
    lines = one_line_errors(release(tmp_path / "out", runs, data=data))
    (line,) = lines
    assert f"data file CoLA/dev.tsv of glue-mini/cola has sha256 {sha256(dev)[:12]} now" in line
    assert "restore the data the runs used" in line
    (data / "STS-B" / "test.tsv").unlink()
    lines = one_line_errors(release(tmp_path / "out", runs, data=data))
    assert len(lines) == 2 and any("missing data: split 'test' of glue-mini/stsb (STS-B/test.tsv) was used by the "
                                   "runs" in line for line in lines)


@slow
def test_refuses_an_unreadable_record(tmp_path: Path, runs: Path, tiny_model: Path) -> None:
    copy = copy_runs(runs, tmp_path / "copy")
    path = record_of(copy, "glue-mini/cola", tiny_model.name, 1)
    path.write_text(path.read_text()[:100])
    (line,) = one_line_errors(release(tmp_path / "out", copy))
    assert line.startswith(f"error: {path}: unreadable run record") and "move it out of --runs" in line


@slow
def test_refuses_a_submission_with_a_missing_test_id(tmp_path: Path, runs: Path, tiny_model: Path) -> None:
    copy = copy_runs(runs, tmp_path / "copy")
    for seed in (1, 2):
        predictions = record_of(copy, "glue-mini/sst2", tiny_model.name, seed).parent / "predictions" / "test.jsonl"
        lines = predictions.read_text().splitlines(keepends=True)
        predictions.write_text("".join(line for line in lines if json.loads(line)["id"] != "7"))
    errors = one_line_errors(release(tmp_path / "out", copy, "--resamples", "0"))
    assert len(errors) == 1
    assert "glue submission, glue-mini/sst2 test: 1 gold example(s) have no prediction: '7'" in errors[0]
    assert "predictions/test.jsonl" in errors[0]
    assert not (tmp_path / "out" / SUITE).exists() or not list((tmp_path / "out" / SUITE).iterdir())
    assert release(tmp_path / "out", copy, "--resamples", "0", "--no-submissions").exit_code == 0


# --------------------------------------------------------------------------------------------------------------
# verify


@slow
def test_verify_passes_then_reports_each_change(tmp_path: Path, runs: Path) -> None:
    data = copy_data(tmp_path)
    assert release(tmp_path / "out", runs, "--resamples", "0", data=data, cwd=tmp_path).exit_code == 0
    folder = tmp_path / "out" / SUITE / "1.0.0"
    ok = invoke("release", "verify", folder)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"{folder}: all ") and "hashes match" in ok.stdout

    train = data / "SST-2" / "train.tsv"
    raw = bytearray(train.read_bytes())
    raw[200] = ord("#") if raw[200] != ord("#") else ord("%")  # one byte
    train.write_bytes(bytes(raw))
    changed = invoke("release", "verify", folder)
    lines = one_line_errors(changed)
    assert len(lines) == 1 and str(train) in lines[0]
    assert "data of glue-mini/sst2 split 'train' changed since the release" in lines[0]
    as_json = json.loads(invoke("release", "verify", folder, "--json").stdout)
    assert as_json["ok"] is False and len(as_json["changes"]) == 1

    (folder / "leaderboard.md").write_text("edited\n")
    (folder / "extra.txt").write_text("x\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["release"]["version"] = "9.9.9"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    record = runs / manifest["runs"][0]["record"]
    lines = one_line_errors(invoke("release", "verify", folder, "--runs", _runs_copy(tmp_path, runs, record)))
    text = "\n".join(lines)
    assert "manifest.json was edited after the release was built" in text
    assert "leaderboard.md: sha256: release file changed since the release" in text
    assert "extra.txt: file added to the release after it was built" in text
    assert "run record changed since the release" in text
    assert str(train) in text


def _runs_copy(tmp_path: Path, runs: Path, record: Path) -> Path:
    copy = copy_runs(runs, tmp_path / "runs-copy")
    edited = copy / record.relative_to(runs)
    edited.write_text(edited.read_text() + " ")
    return copy


def test_verify_refuses_a_folder_that_is_not_a_release(tmp_path: Path) -> None:
    (line,) = one_line_errors(invoke("release", "verify", tmp_path))
    assert "no manifest.json: not a benchkit release" in line


# --------------------------------------------------------------------------------------------------------------
# the release and dvc commands start fast; the committed pipeline is the generated one


@pytest.mark.parametrize("argv", [["release", "--help"], ["release", "verify", "--help"], ["dvc", "--help"],
                                  ["prepare", "--help"]])
def test_release_commands_import_no_heavy_libraries(argv: list[str]) -> None:
    script = ("import sys\nfrom benchkit.cli import main\nfrom benchkit.cli.release import register\nregister(main)\n"
              f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
              "print('HEAVY=' + ','.join(m for m in ('torch', 'transformers', 'datasets', 'dvc', 'matplotlib') "
              "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "Usage:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_top_level_dvc_yaml_is_the_generated_one() -> None:
    import yaml

    from benchkit.cards.catalog import load_suite
    from benchkit.release.dvc_pipeline import MARKER, check_params, pipeline

    text = (REPO / "dvc.yaml").read_text()
    assert text.startswith(MARKER)
    params = check_params(yaml.safe_load((REPO / "params.yaml").read_text()))
    assert yaml.safe_load(text) == pipeline(load_suite(SUITE), REPO, DATA, params)


def test_cli_line_is_wired() -> None:
    """cli.py registers the release commands (benchkit release/prepare/dvc from the installed entry point)."""
    out = subprocess.run([sys.executable, "-m", "benchkit.cli", "--help"], check=False, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    for command in ("release", "prepare", "dvc"):
        assert f"  {command} " in out.stdout, f"'benchkit {command}' missing: add the cli_release.register line"



# --------------------------------------------------------------------------------------------------------------
# submission writers, on real cards (GLUE) and cards built here (SuperGLUE, KLEJ: their cards are not written yet)


def _card(task_id: str, type_: str = "single_text_classification", labels: dict[str, Any] | None = None,
          **extra: Any):
    from benchkit.cards.schema import TaskCard

    fields = {"text": "t", "label": "y"} if type_ != "text_pair_classification" else {"text": "a", "text_pair": "b",
                                                                                        "label": "y"}
    data = {"id": task_id, "version": "1.0.0", "name": task_id, "description": "d", "language": "eng-Latn",
            "license": "l", "citation": "c", "homepage": "h", "type": type_, "source": {"format": "jsonl"},
            "fields": fields, "splits": {"train": {"file": "train.jsonl"}, "test": {"file": "test.jsonl",
                                                                                   "labels": "hidden"}},
            "metrics": ["accuracy"] if type_ != "regression" else ["spearman"],
            "primary_metric": "accuracy" if type_ != "regression" else "spearman", **extra}
    if labels is not None:
        data["labels"] = labels
    return TaskCard.model_validate(data)


def _write(fmt: str, predictions: list, tmp_path: Path) -> dict[str, str]:
    from benchkit.release.submission_writers import SUBMISSION_WRITERS

    names = SUBMISSION_WRITERS.get(fmt).write(predictions, tmp_path)
    return {name: (tmp_path / name).read_text(encoding="utf-8") for name in names}


def test_every_submission_format_has_a_writer() -> None:
    from benchkit.release.submission_writers import SUBMISSION_WRITERS
    from benchkit.submission_formats import SUBMISSION_FORMATS

    assert set(SUBMISSION_FORMATS.names()) == set(SUBMISSION_WRITERS.names())
    # LEPISZCZE publishes scores, not test predictions: its writer takes every run of an entry
    assert SUBMISSION_WRITERS.get("lepiszcze").write_results is not None


def test_glue_writer_files_codes_nli_strings_and_stsb_clipping(tmp_path: Path) -> None:
    from benchkit.cards.catalog import load_task
    from benchkit.release.submission_writers import TestPredictions

    mnli, ax, stsb, cola = (load_task(t) for t in ("glue/mnli", "glue/ax", "glue/stsb", "glue/cola"))
    rte, wnli = load_task("glue/rte"), load_task("glue/wnli")
    files = _write("glue", [
        TestPredictions(mnli, "test_matched", ["0", "1"], ["entailment", "contradiction"]),
        TestPredictions(mnli, "test_mismatched", ["0"], ["neutral"]),
        TestPredictions(ax, "test", ["0"], ["contradiction"]),
        TestPredictions(stsb, "test", ["0", "1", "2", "3"], [-0.3, 5.2, 3.14159, 2.0]),
        TestPredictions(cola, "test", ["0", "1"], ["acceptable", "unacceptable"]),
        TestPredictions(rte, "test", ["0"], ["not_entailment"]),
        TestPredictions(wnli, "test", ["0", "1"], ["entailment", "not_entailment"]),
    ], tmp_path)
    assert files == {
        "MNLI-m.tsv": "index\tprediction\n0\tentailment\n1\tcontradiction\n",
        "MNLI-mm.tsv": "index\tprediction\n0\tneutral\n",
        "AX.tsv": "index\tprediction\n0\tcontradiction\n",
        "STS-B.tsv": "index\tprediction\n0\t0.0\n1\t5.0\n2\t3.142\n3\t2.0\n",
        "CoLA.tsv": "index\tprediction\n0\t1\n1\t0\n",
        "RTE.tsv": "index\tprediction\n0\tnot_entailment\n",
        "WNLI.tsv": "index\tprediction\n0\t1\n1\t0\n",
    }


def test_glue_writer_refuses_a_task_it_has_no_file_for(tmp_path: Path) -> None:
    from benchkit.errors import BenchkitError
    from benchkit.release.submission_writers import TestPredictions

    card = _card("glue/unknown", labels={"names": ["a", "b"]})
    with pytest.raises(BenchkitError, match="GLUE submission format has no file for this task"):
        _write("glue", [TestPredictions(card, "test", ["0"], ["a"])], tmp_path)


def test_superglue_writer_label_forms_and_nesting(tmp_path: Path) -> None:
    from benchkit.release.submission_writers import TestPredictions

    booleans = {"names": ["False", "True"]}
    boolq, wic, wsc = (_card(f"superglue/{t}", labels=booleans) for t in ("boolq", "wic", "wsc"))
    copa = _card("superglue/copa", labels={"names": ["choice1", "choice2"]})
    cb = _card("superglue/cb", "text_pair_classification", labels={"names": ["entailment", "contradiction", "neutral"]})
    multirc = _card("superglue/multirc", "text_pair_classification", labels=booleans)
    record = _card("superglue/record", labels={"names": ["entity"]})
    files = _write("superglue", [
        TestPredictions(boolq, "test", ["0", "1"], ["True", "False"]),
        TestPredictions(wic, "test", ["0"], ["False"]),
        TestPredictions(wsc, "test", ["0", "1"], ["True", "False"]),
        TestPredictions(copa, "test", ["0", "1"], ["choice2", "choice1"]),
        TestPredictions(cb, "test", ["0"], ["neutral"]),
        TestPredictions(multirc, "test", ["0-0-0", "0-0-1", "0-1-0", "1-0-0"], ["True", "False", "True", "False"]),
        TestPredictions(record, "test", ["5", "6"], ["Obama", "the U.N."]),
    ], tmp_path)
    lines = {name: [json.loads(line) for line in text.splitlines()] for name, text in files.items()}
    assert lines["BoolQ.jsonl"] == [{"idx": 0, "label": "true"}, {"idx": 1, "label": "false"}]
    assert lines["WiC.jsonl"] == [{"idx": 0, "label": "false"}]
    assert lines["WSC.jsonl"] == [{"idx": 0, "label": "True"}, {"idx": 1, "label": "False"}]
    assert lines["COPA.jsonl"] == [{"idx": 0, "label": 1}, {"idx": 1, "label": 0}]
    assert lines["CB.jsonl"] == [{"idx": 0, "label": "neutral"}]
    assert lines["MultiRC.jsonl"] == [
        {"idx": 0, "passage": {"questions": [{"idx": 0, "answers": [{"idx": 0, "label": 1}, {"idx": 1, "label": 0}]},
                                             {"idx": 1, "answers": [{"idx": 0, "label": 1}]}]}},
        {"idx": 1, "passage": {"questions": [{"idx": 0, "answers": [{"idx": 0, "label": 0}]}]}}]
    assert lines["ReCoRD.jsonl"] == [{"idx": 5, "label": "Obama"}, {"idx": 6, "label": "the U.N."}]


def test_klej_writer_target_column_with_original_strings(tmp_path: Path) -> None:
    from benchkit.release.submission_writers import TestPredictions

    polemo = _card("klej/polemo2.0-in", labels={"names": ["__label__meta_amb", "__label__meta_plus_m"]})
    cbd = _card("klej/cbd", labels={"names": ["not_harmful", "harmful"], "map": {0: "not_harmful", 1: "harmful"}})
    cdsc_r = _card("klej/cdsc-r", "regression", value_range=[0.0, 5.0])
    files = _write("klej", [
        TestPredictions(polemo, "test", ["0", "1"], ["__label__meta_plus_m", "__label__meta_amb"]),
        TestPredictions(cbd, "test", ["0", "1", "2"], ["harmful", "not_harmful", "harmful"]),
        TestPredictions(cdsc_r, "test", ["0", "1"], [4.25, -0.5]),
    ], tmp_path)
    assert files == {"test_pred_polemo2.0-in.tsv": "target\n__label__meta_plus_m\n__label__meta_amb\n",
                     "test_pred_cbd.tsv": "target\n1\n0\n1\n",
                     "test_pred_cdsc-r.tsv": "target\n4.25\n-0.5\n"}


def test_zip_archives_are_deterministic(tmp_path: Path) -> None:
    from benchkit.release.submission_writers import zip_folder

    (tmp_path / "A.tsv").write_text("index\tprediction\n0\t1\n")
    (tmp_path / "B.tsv").write_text("index\tprediction\n")
    zip_folder(tmp_path, ["B.tsv", "A.tsv"], tmp_path / "one.zip")
    zip_folder(tmp_path, ["A.tsv", "B.tsv"], tmp_path / "two.zip")
    assert sha256(tmp_path / "one.zip") == sha256(tmp_path / "two.zip")
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["A.tsv", "B.tsv"]
