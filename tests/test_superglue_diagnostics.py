"""SuperGLUE diagnostics and submissions, end to end on the fixtures (tests/fixtures/superglue) with the tiny model:
the RTE run predicts AX-b and AX-g and scores them (MCC; gender parity and accuracy) into the record's `diagnostics`,
never into its score; the release shows them per entry, aggregated over seeds with a CI, labelled as diagnostics and
outside the suite score; the SuperGLUE submission archive holds the official files, AX-b/AX-g from the RTE run.
GLUE AX (hidden labels) is still only predicted. Bad data stop `benchkit run` before the grid (exit 2).

The suite card is a temporary one (score rule `mean`, the six tasks whose cards the fixtures serve), with cards that
extend the official ones with the fixture row counts, found first because the CLI runs in the folder holding them.
Every expected number is computed here from the prediction files and the fixture gold with sklearn or by hand.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from card_helpers import card_with_rows
from conftest import FIXTURES, REPO
from sklearn.metrics import accuracy_score, matthews_corrcoef
from test_run import TINY_RECIPE, records, run_cli
from test_superglue_cards import DATA, benchkit, path_of, rows_of, write_fixture_card

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("superglue-diagnostics")

SUITE = "sg-slice"
TASKS = ("superglue/boolq", "superglue/cb", "superglue/copa", "superglue/rte")
DIAGNOSTICS = ("superglue/axb", "superglue/axg")
KEYS = {"superglue/axb": "superglue/axb:test", "superglue/axg": "superglue/axg:test"}
SEEDS = (1, 2)


def write_suite(folder: Path, tasks: tuple[str, ...] = TASKS, diagnostics: tuple[str, ...] = DIAGNOSTICS) -> Path:
    (folder / "tasks" / "superglue").mkdir(parents=True, exist_ok=True)
    for task in (*tasks, *diagnostics):
        write_fixture_card(folder / "tasks" / "superglue", task)
    (folder / "benchmarks").mkdir(exist_ok=True)
    lines = "".join(f"  - {{id: {t}, version: 1.0.0}}\n" for t in tasks)
    lines += "".join(f"  - {{id: {t}, version: 1.0.0, scored: false}}\n" for t in diagnostics)
    suite = folder / "benchmarks" / f"{SUITE}.yaml"
    suite.write_text(f"id: {SUITE}\nversion: 1.0.0\nname: SuperGLUE slice\ndescription: the tasks the fixtures serve\n"
                     f"languages: [eng-Latn]\ntasks:\n{lines}score_rule: mean\nsubmission_format: superglue\n",
                     encoding="utf-8")
    return suite


def predictions_of(path: Path) -> dict[str, Any]:
    return {row["id"]: row["prediction"] for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def expected_diagnostics(task: str, predictions: dict[str, Any]) -> dict[str, float]:
    """The metrics from the prediction file and the fixture gold, in file order, sharing no code with benchkit."""
    rows = rows_of(path_of(task, "test"))
    gold = [row["label"] for row in rows]
    pred = [predictions[str(row["idx"])] for row in rows]
    assert len(predictions) == len(rows)
    if task == "superglue/axb":
        return {"mcc": float(matthews_corrcoef(gold, pred))}
    pairs = [(pred[i], pred[i + 1]) for i in range(0, len(pred) - 1, 2)]
    return {"gender_parity": sum(a == b for a, b in pairs) / len(pairs), "accuracy": accuracy_score(gold, pred)}


@pytest.fixture(scope="module")
def built(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two seeds of the four tasks, then the release (as `benchkit run --release` builds it)."""
    work = tmp_path_factory.mktemp("sg-diagnostics")
    write_suite(work)
    out = work / "out"
    result = run_cli(SUITE, "--model", str(tiny_model), "--data-dir", str(DATA), "--seeds", ",".join(map(str, SEEDS)),
                     "--out", str(out), "--quiet", *TINY_RECIPE, "--release", "1.0.0", cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr
    release = out / "releases" / SUITE / "1.0.0"
    return {"work": work, "out": out, "result": result, "release": release, "records": records(out),
            "manifest": json.loads((release / "manifest.json").read_text(encoding="utf-8"))}


def _rte(built: dict[str, Any]) -> dict[int, tuple[Path, Any]]:
    return {r.seed: (p, r) for p, r in built["records"].items() if r.task.id == "superglue/rte"}


def test_the_rte_record_scores_the_diagnostics_outside_its_score(built: dict[str, Any]) -> None:
    rte = _rte(built)
    assert sorted(rte) == list(SEEDS)
    for path, record in rte.values():
        assert set(record.diagnostics) == set(KEYS.values())
        for task, key in KEYS.items():
            predicted = predictions_of(path.parent / record.predictions[key])
            assert record.predictions[key] == f"predictions/{task.replace('/', '__')}/test.jsonl"
            result = record.diagnostics[key]
            assert result.metrics == pytest.approx(expected_diagnostics(task, predicted), abs=1e-12)
            assert list(result.metrics) == (["mcc"] if task == "superglue/axb" else ["gender_parity", "accuracy"])
            assert result.examples == len(rows_of(path_of(task, "test")))
            assert result.ci is not None and result.ci["resamples"] == 20 and result.ci["low"] <= result.ci["high"]
            assert result.ci["unit"] == ("group" if task == "superglue/axg" else "example")  # AX-g pairs kept whole
            file = record.provenance.companions[key]
            assert file.file == f"{'AX-b' if task == 'superglue/axb' else 'AX-g'}/{path_of(task, 'test').name}"
            assert file.rows == result.examples
        # the task score is RTE's own (dev accuracy); the diagnostics never enter it
        assert set(record.results) == {"dev"}
        assert record.score == pytest.approx(record.results["dev"].metrics["accuracy"])
    others = [r for r in built["records"].values() if r.task.id != "superglue/rte"]
    assert len(others) == 3 * len(SEEDS) and not any(r.diagnostics or r.provenance.companions for r in others)


def test_the_release_aggregates_diagnostics_over_seeds_and_leaves_them_out_of_the_suite_score(
        built: dict[str, Any]) -> None:
    (entry,) = built["manifest"]["entries"]
    by_task: dict[str, list[float]] = {}
    for record in built["records"].values():
        by_task.setdefault(record.task.id, []).append(record.score)
    assert set(entry["task_scores"]) == set(TASKS) and not entry["partial"]
    task_means = {t: sum(v) / len(v) for t, v in by_task.items()}
    assert entry["suite_score"] == pytest.approx(sum(task_means.values()) / len(TASKS), abs=1e-12)
    assert [t["id"] for t in built["manifest"]["tasks"] if not t["scored"]] == list(DIAGNOSTICS)

    rte = _rte(built)
    assert list(entry["diagnostics"]) == [KEYS[t] for t in DIAGNOSTICS]
    for task, key in KEYS.items():
        per_seed = [expected_diagnostics(task, predictions_of(p.parent / r.predictions[key])) for p, r in rte.values()]
        shown = entry["diagnostics"][key]
        assert (shown["task"], shown["split"], shown["evaluated_with"]) == (task, "test", "superglue/rte")
        assert shown["seeds"] == list(SEEDS) and shown["in_suite_score"] is False
        assert list(shown["metrics"]) == list(per_seed[0])
        for metric, stats in shown["metrics"].items():
            values = [seed[metric] for seed in per_seed]
            mean = sum(values) / len(values)
            assert stats["mean"] == pytest.approx(mean, abs=1e-12) and stats["n"] == len(SEEDS)
            sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
            assert stats["std"] == pytest.approx(sd, abs=1e-12)
            assert stats["ci"]["low"] <= stats["ci"]["high"]
            assert min(values) - 1e-9 <= stats["ci"]["high"] and stats["ci"]["low"] <= max(values) + 1e-9
    assert [run["diagnostics"] for run in built["manifest"]["runs"] if run["task"] == "superglue/rte"] == [
        sorted(KEYS.values())] * len(SEEDS)


def test_the_leaderboard_shows_the_diagnostics_labelled_in_the_official_order(built: dict[str, Any]) -> None:
    (entry,) = built["manifest"]["entries"]
    md = (built["release"] / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| # |"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells[cells.index("rte") + 1:cells.index("rte") + 3] == ["axb MCC (diagnostic)", "axg GP/Acc (diagnostic)"]
    row = [c.strip() for c in next(line for line in md.splitlines() if line.startswith("| 1 |")).strip("|").split("|")]
    axb, axg = (entry["diagnostics"][KEYS[t]]["metrics"] for t in DIAGNOSTICS)
    assert row[cells.index("axb MCC (diagnostic)")].startswith(f"{axb['mcc']['mean'] * 100:.2f} ± ")
    axg_cell = row[cells.index("axg GP/Acc (diagnostic)")]
    assert axg_cell.startswith(f"{axg['gender_parity']['mean'] * 100:.2f}/{axg['accuracy']['mean'] * 100:.2f} ± ")
    ci = axg["gender_parity"]["ci"], axg["accuracy"]["ci"]
    assert axg_cell.endswith(f"[{ci[0]['low'] * 100:.2f}, {ci[0]['high'] * 100:.2f}]/"
                             f"[{ci[1]['low'] * 100:.2f}, {ci[1]['high'] * 100:.2f}]")
    assert "are not part of the suite score" in md
    html = (built["release"] / "leaderboard.html").read_text(encoding="utf-8")
    assert 'data-key="diag:superglue/axb:test" data-type="number" class="diag"' in html
    assert ">axg GP/Acc (diagnostic)</th>" in html
    sheet = (built["release"] / "datasheet.md").read_text(encoding="utf-8")
    assert sheet.count("test (diagnostic: predicted by the superglue/rte runs; not part of the suite score)") == 2
    rows = [json.loads(line) for line in (built["release"] / "results.jsonl").read_text().splitlines()]
    for row in rows:
        record = next(r for r in built["records"].values() if r.config_hash == row["config_hash"])
        mcc = row["diagnostics.superglue/axb:test.mcc"]
        assert mcc == (record.diagnostics[KEYS["superglue/axb"]].metrics["mcc"] if record.diagnostics else None)
    verify = benchkit("release", "verify", str(built["release"]), "--data-dir", str(DATA), cwd=built["work"])
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_superglue_archive_holds_the_official_files_and_the_diagnostics_come_from_the_rte_run(
        built: dict[str, Any]) -> None:
    (info,) = built["manifest"]["submissions"]
    archive = built["release"] / info["archive"]
    with zipfile.ZipFile(archive) as handle:
        assert handle.namelist() == ["AX-b.jsonl", "AX-g.jsonl", "BoolQ.jsonl", "CB.jsonl", "COPA.jsonl", "RTE.jsonl"]
        files = {name: [json.loads(line) for line in handle.read(name).decode("utf-8").splitlines()]
                 for name in handle.namelist()}
    chosen: dict[str, tuple[Path, Any]] = {}
    for path, record in built["records"].items():  # best dev score per task, ties to the lowest seed
        best = chosen.get(record.task.id)
        if best is None or (-record.score, record.seed) < (-best[1].score, best[1].seed):
            chosen[record.task.id] = (path, record)
    assert info["seeds"] == {task: record.seed for task, (_, record) in sorted(chosen.items())}
    rte_path, rte = chosen["superglue/rte"]
    names = {"superglue/boolq": "BoolQ.jsonl", "superglue/cb": "CB.jsonl", "superglue/copa": "COPA.jsonl",
             "superglue/rte": "RTE.jsonl", "superglue/axb": "AX-b.jsonl", "superglue/axg": "AX-g.jsonl"}
    for task, name in names.items():
        path, record = chosen.get(task, (rte_path, rte))
        predicted = predictions_of(path.parent / record.predictions[KEYS.get(task, "test")])
        rows = rows_of(path_of(task, "test"))
        assert [line["idx"] for line in files[name]] == [int(row["idx"]) for row in rows]  # ints, AX-b's "0" too
        labels = [line["label"] for line in files[name]]
        expected = [predicted[str(row["idx"])] for row in rows]
        if task == "superglue/copa":
            assert labels == [["choice1", "choice2"].index(p) for p in expected]
            assert all(type(v) is int for v in labels)
        else:  # BoolQ "true"/"false" (lower case); CB, RTE, AX-b, AX-g label strings
            assert labels == expected and set(labels) <= {"true", "false", "entailment", "contradiction", "neutral",
                                                          "not_entailment"}


def test_changed_diagnostic_data_are_refused_by_the_release_and_rerun_the_rte_run(built: dict[str, Any],
                                                                                    tiny_model: Path,
                                                                                    tmp_path: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.train.models import resolve_model

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    axb = path_of("superglue/axb", "test", data)
    lines = axb.read_text(encoding="utf-8").split("\n")
    row = json.loads(lines[0])
    row["label"] = "entailment" if row["label"] == "not_entailment" else "not_entailment"
    lines[0] = json.dumps(row)
    axb.write_text("\n".join(lines), encoding="utf-8")
    result = benchkit("release", SUITE, "--version", "9.0.0", "--runs", str(built["out"]), "--data-dir", str(data),
                      "--out", str(tmp_path / "releases"), cwd=built["work"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {built['out']}: provenance.companions.superglue/axb:test: data file "
                           "AX-b/AX-b.jsonl of superglue/axb has sha256 ")
    assert "but the superglue/rte records scored it on" in line and line.endswith(
        "(hint: restore the data the runs used (e.g. dvc checkout), or rerun the runs on the new data)")
    # ... and a rerun on the new data is a new configuration of RTE (its record scores AX-b), not of the others
    import os

    cwd = os.getcwd()
    os.chdir(built["work"])
    try:
        suite = catalog.load_suite(SUITE)
        model = resolve_model(str(tiny_model))
        plans = [{s.card.id: s.config_hash for s in build_plan(suite, list(suite.tasks), [model], [1], "full",
                                                                 RecipeLayers({}, {}), d, tmp_path / "o")}
                 for d in (DATA, data)]
    finally:
        os.chdir(cwd)
    assert {t for t in plans[0] if plans[0][t] != plans[1][t]} == {"superglue/rte"}


# ---------------------------------------------------------------------------------------------------------------
# GLUE AX: hidden labels, predicted by the MNLI run and written to AX.tsv, never scored


def test_glue_ax_is_still_only_predicted(tiny_model: Path, tmp_path: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.train.models import resolve_model

    glue = FIXTURES / "glue"
    (tmp_path / "tasks" / "glue").mkdir(parents=True)
    rows = {"glue/mnli": {"train": 6, "dev_matched": 3, "dev_mismatched": 2, "test_matched": 2, "test_mismatched": 1},
            "glue/ax": {"test": 3}}
    for task, counts in rows.items():
        card_with_rows((tmp_path / "tasks" / task).with_suffix(".yaml"), task, counts)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "mnli-ax.yaml").write_text(
        "id: mnli-ax\nversion: 1.0.0\nname: MNLI and AX\ndescription: a test slice\nlanguages: [eng-Latn]\n"
        "tasks:\n  - {id: glue/mnli, version: 1.0.0}\n  - {id: glue/ax, version: 1.0.0, scored: false}\n"
        "score_rule: mean\nsubmission_format: glue\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("mnli-ax", "--model", str(tiny_model), "--data-dir", str(glue), "--out", str(out), "--quiet",
                     *TINY_RECIPE, "--set", "select=last", "--release", "1.0.0", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (path, record), = records(out).items()
    assert record.diagnostics == {} and record.predictions["glue/ax:test"] == "predictions/glue__ax/test.jsonl"
    assert set(record.provenance.companions) == {"glue/ax:test"}
    ax = predictions_of(path.parent / record.predictions["glue/ax:test"])
    release = out / "releases" / "mnli-ax" / "1.0.0"
    manifest = json.loads((release / "manifest.json").read_text())
    (entry,) = manifest["entries"]
    assert entry["diagnostics"] == {} and set(entry["task_scores"]) == {"glue/mnli"}
    assert "(diagnostic)" not in (release / "leaderboard.md").read_text()
    with zipfile.ZipFile(release / manifest["submissions"][0]["archive"]) as handle:
        lines = handle.read("AX.tsv").decode().splitlines()
    assert lines == ["index\tprediction", *(f"{i}\t{p}" for i, p in ax.items())]
    # The MNLI run's identity does not depend on the AX file (hidden labels: only predicted), as before.
    changed = tmp_path / "changed"
    shutil.copytree(glue, changed)
    with (changed / "diagnostic" / "diagnostic.tsv").open("a", encoding="utf-8") as handle:
        handle.write("3\tA new premise.\tA new hypothesis.\n")
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        suite = catalog.load_suite("mnli-ax")
        model = resolve_model(str(tiny_model))
        hashes = [[s.config_hash for s in build_plan(suite, list(suite.tasks), [model], [1], "full",
                                                     RecipeLayers({}, {}), d, out)] for d in (glue, changed)]
    finally:
        os.chdir(cwd)
    assert len(hashes[0]) == 1 and hashes[0] == hashes[1]


# ---------------------------------------------------------------------------------------------------------------
# bad data: `benchkit run` refuses before the grid (one line each, exit 2, no traceback, nothing written)


def _break_line(path: Path, line: int, change: Any) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = change(lines[line - 1])
    path.write_text("\n".join(lines), encoding="utf-8")


def test_run_refuses_a_malformed_jsonl_line_before_the_grid(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    val = path_of("superglue/rte", "dev", data)
    _break_line(val, 3, lambda text: text[:-1])  # the closing brace
    write_suite(tmp_path, ("superglue/rte",))
    out = tmp_path / "out"
    result = run_cli(SUITE, "--model", str(tiny_model), "--data-dir", str(data), "--out", str(out), "--quiet",
                     *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {val}:3: invalid JSON: Expecting ")
    assert line.endswith("(hint: each line must hold one complete JSON object)")
    assert result.stdout == "" and not out.exists()


def test_run_refuses_bad_data_of_a_companion_before_the_grid(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    axg = path_of("superglue/axg", "test", data)
    _break_line(axg, 5, lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "hypothesis"}))
    write_suite(tmp_path, ("superglue/rte",))
    out = tmp_path / "out"
    result = run_cli(SUITE, "--model", str(tiny_model), "--data-dir", str(data), "--out", str(out), "--quiet",
                     *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        (f"error: {axg}:5: hypothesis: missing value (hint: every row needs this field; check for absent keys or "
         "empty cells)")]
    assert not out.exists()


def test_run_refuses_a_ragged_tsv_row_before_the_grid(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "glue-mini", data)
    train = data / "CoLA" / "train.tsv"
    line = 7
    _break_line(train, line, lambda text: "\t".join(text.split("\t")[:3]))  # a row with 3 of its 4 fields
    out = tmp_path / "out"
    result = run_cli("glue-mini", "--model", str(tiny_model), "--task", "glue-mini/sst2", "--task", "glue-mini/cola",
                     "--data-dir", str(data), "--out", str(out), "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        (f"error: {train}:{line}: ragged row: expected 4 fields, found 3 (hint: fields are separated by a tab with "
         "quoting 'none'; a stray separator or quote splits or merges fields)")]
    assert not out.exists()  # not even the SST-2 run, planned first, was started


def test_the_data_check_keeps_the_first_task_for_its_runs(tiny_model: Path, tmp_path: Path) -> None:
    """The check reads each planned task once; the frames of the first task to run stay for its runs (and seeds),
    the others are read again by their runs; finished tasks are not read at all."""
    from benchkit.cards import catalog
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.execute.runs import check_data
    from benchkit.train import frames
    from benchkit.train.models import resolve_model

    suite = catalog.load_suite("glue-mini")
    tasks = [catalog.load_task("glue-mini/sst2"), catalog.load_task("glue-mini/cola")]
    plan = build_plan(suite, tasks, [resolve_model(str(tiny_model))], [1, 2], "full", RecipeLayers({}, {}),
                      REPO / "data" / "glue-mini", tmp_path / "out")
    frames.clear()
    check_data(plan, tmp_path / "out")
    cached = dict(frames._CACHE)
    assert {key[0] for key in cached} == {"glue-mini/sst2"}
    first = frames.frames(tasks[0], REPO / "data" / "glue-mini")
    assert all(first[s] is f for s, f in next(iter(cached.values())).items())  # the same objects: not read again
    frames.clear()


def test_frames_are_read_again_when_a_file_changes(tmp_path: Path) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.train import frames

    data = tmp_path / "data"
    shutil.copytree(DATA / "RTE", data / "RTE")
    card = load_task_card(write_fixture_card(tmp_path, "superglue/rte"))
    frames.clear()
    first = frames.frames(card, data)
    assert frames.frames(card, data)["dev"] is first["dev"]
    val = data / "RTE" / "val.jsonl"
    row = json.loads(val.read_text(encoding="utf-8").splitlines()[0])
    _break_line(val, 1, lambda text: json.dumps({**row, "premise": row["premise"] + " Changed."}))
    again = frames.frames(card, data)
    assert again["dev"] is not first["dev"] and again["dev"]["text"].iloc[0].endswith(" Changed.")
    frames.retain({"superglue/other"})
    assert frames._CACHE == {}


# ---------------------------------------------------------------------------------------------------------------
# the SuperGLUE submission writer, through its public functions, with predictions shaped as runs write them


def _card(task: str, names: list[str], label_map: dict[Any, str] | None = None,
          type_: str = "text_pair_classification") -> Any:
    from benchkit.cards.schema import TaskCard

    labels: dict[str, Any] = {"names": names, **({"map": label_map} if label_map else {})}
    return TaskCard.model_validate({
        "id": task, "version": "1.0.0", "name": task, "description": "d", "language": "eng-Latn", "license": "l",
        "citation": "c", "homepage": "h", "type": type_, "source": {"format": "jsonl", "dir": "X"},
        "fields": {"id": "idx", "text": "a", "text_pair": "b", "label": "label"}, "labels": labels,
        "splits": {"train": {"file": "train.jsonl"}, "test": {"file": "test.jsonl", "labels": "hidden"}},
        "metrics": ["accuracy"], "primary_metric": "accuracy"})


# WiC and WSC cards may spell their booleans either way: the files must not change (WiC lower case, WSC capitalised).
SPELLINGS = {"lower, no map": (["false", "true"], None),
             "capitalised, mapped from JSON booleans": (["False", "True"], {False: "False", True: "True"})}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_the_superglue_writer_writes_the_ten_official_files(spelling: str, tmp_path: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.release.submission_writers import SUBMISSION_WRITERS, TestPredictions, zip_folder

    names, label_map = SPELLINGS[spelling]
    boolq, cb, copa, rte, axb, axg = (catalog.load_task(f"superglue/{t}")
                                      for t in ("boolq", "cb", "copa", "rte", "axb", "axg"))
    wic, wsc = _card("superglue/wic", names, label_map), _card("superglue/wsc", names, label_map)
    multirc = _card("superglue/multirc", ["False", "True"], {0: "False", 1: "True"})
    record = _card("superglue/record", ["entity"])
    true_, false_ = names[1], names[0]

    # MultiRC: one row per answer option, id "<paragraph>-<question>-<answer>" (the fixture's real test paragraph)
    paragraphs = rows_of(DATA / "MultiRC" / "test.jsonl")
    mrc_ids = [f"{p['idx']}-{q['idx']}-{a['idx']}" for p in paragraphs for q in p["passage"]["questions"]
               for a in q["answers"]]
    mrc_values = ["True" if i % 3 == 0 else "False" for i in range(len(mrc_ids))]
    # ReCoRD: one row per query, id the query idx, the prediction an entity string of the passage (end inclusive)
    passages = rows_of(DATA / "ReCoRD" / "test.jsonl")
    rec_ids = [str(q["idx"]) for p in passages for q in p["qas"]]
    rec_values = [p["passage"]["text"][p["passage"]["entities"][1]["start"]:p["passage"]["entities"][1]["end"] + 1]
                  for p in passages for _ in p["qas"]]
    axb_ids = [str(r["idx"]) for r in rows_of(path_of("superglue/axb", "test"))]  # "0", ... (strings in the file)
    predictions = [
        TestPredictions(boolq, "test", ["0", "1", "2"], ["true", "false", "true"]),
        TestPredictions(cb, "test", ["0", "1", "2"], ["contradiction", "neutral", "entailment"]),
        TestPredictions(copa, "test", ["0", "1"], ["choice2", "choice1"]),
        TestPredictions(multirc, "test", mrc_ids, mrc_values),
        TestPredictions(record, "test", rec_ids, rec_values),
        TestPredictions(rte, "test", ["0", "1"], ["not_entailment", "entailment"]),
        TestPredictions(wic, "test", ["0", "1"], [true_, false_]),
        TestPredictions(wsc, "test", ["0", "1"], [false_, true_]),
        TestPredictions(axb, "test", axb_ids, ["entailment", "not_entailment"] * (len(axb_ids) // 2)),
        TestPredictions(axg, "test", ["0", "1"], ["not_entailment", "not_entailment"]),
    ]
    written = SUBMISSION_WRITERS.get("superglue").write(predictions, tmp_path / "files")
    zip_folder(tmp_path / "files", written, tmp_path / "submission.zip")
    with zipfile.ZipFile(tmp_path / "submission.zip") as handle:
        assert handle.namelist() == sorted(["BoolQ.jsonl", "CB.jsonl", "COPA.jsonl", "MultiRC.jsonl", "ReCoRD.jsonl",
                                            "RTE.jsonl", "WiC.jsonl", "WSC.jsonl", "AX-b.jsonl", "AX-g.jsonl"])
        text = {name: handle.read(name).decode("utf-8") for name in handle.namelist()}
    lines = {name: [json.loads(line) for line in body.splitlines()] for name, body in text.items()}
    assert text["BoolQ.jsonl"] == ('{"idx": 0, "label": "true"}\n{"idx": 1, "label": "false"}\n'
                                   '{"idx": 2, "label": "true"}\n')
    assert lines["CB.jsonl"] == [{"idx": 0, "label": "contradiction"}, {"idx": 1, "label": "neutral"},
                                 {"idx": 2, "label": "entailment"}]
    assert lines["COPA.jsonl"] == [{"idx": 0, "label": 1}, {"idx": 1, "label": 0}]
    assert all(type(line["label"]) is int for line in lines["COPA.jsonl"])
    assert lines["RTE.jsonl"] == [{"idx": 0, "label": "not_entailment"}, {"idx": 1, "label": "entailment"}]
    assert lines["WiC.jsonl"] == [{"idx": 0, "label": "true"}, {"idx": 1, "label": "false"}]  # lower case
    assert lines["WSC.jsonl"] == [{"idx": 0, "label": "False"}, {"idx": 1, "label": "True"}]  # capitalised
    assert lines["AX-b.jsonl"] == [{"idx": int(i), "label": v} for i, v in zip(axb_ids, predictions[8].values)]
    assert lines["AX-g.jsonl"] == [{"idx": 0, "label": "not_entailment"}, {"idx": 1, "label": "not_entailment"}]
    assert all(type(line["idx"]) is int for name in lines for line in lines[name])
    # ReCoRD: one line per query, the answer entity string
    assert lines["ReCoRD.jsonl"] == [{"idx": int(i), "label": v} for i, v in zip(rec_ids, rec_values)]
    assert all(isinstance(line["label"], str) and line["label"] for line in lines["ReCoRD.jsonl"])
    # MultiRC: one line per paragraph, its questions and their answers nested in file order, labels 0/1
    expected, k = [], 0
    for p in paragraphs:
        questions = []
        for q in p["passage"]["questions"]:
            answers = []
            for a in q["answers"]:
                answers.append({"idx": a["idx"], "label": 1 if mrc_values[k] == "True" else 0})
                k += 1
            questions.append({"idx": q["idx"], "answers": answers})
        expected.append({"idx": p["idx"], "passage": {"questions": questions}})
    assert lines["MultiRC.jsonl"] == expected and len(lines["MultiRC.jsonl"]) == len(paragraphs)


def test_the_superglue_writer_reads_booleans_by_meaning_and_refuses_what_is_not_one(tmp_path: Path) -> None:
    from benchkit.errors import BenchkitError
    from benchkit.release.submission_writers import TestPredictions, superglue_value

    # spelled any way, mapped from any file value: the meaning decides (a file code never overrides the name)
    for names, label_map in [(["false", "true"], None), (["False", "True"], {0: "False", 1: "True"}),
                             (["FALSE", "TRUE"], {"f": "FALSE", "t": "TRUE"}),
                             (["false", "true"], {1: "false", 0: "true"})]:
        preds = TestPredictions(_card("superglue/wsc", names, label_map), "test", [], [])
        assert [superglue_value(preds, "bool_title", v) for v in names] == ["False", "True"]
        assert [superglue_value(preds, "bool_lower", v) for v in names] == ["false", "true"]
    preds = TestPredictions(_card("superglue/wsc", ["no_coref", "coref"]), "test", [], [], "p.jsonl")
    with pytest.raises(BenchkitError, match="cannot write label 'coref' as true/false"):
        superglue_value(preds, "bool_title", "coref")
