"""Hosting a leaderboard: `benchkit submissions score SUITE ARCHIVE --labels PRIVATE_DIR`.

The private labels of glue-mini are real: its test files are halves of the official GLUE dev files, and
`scripts/make_glue_mini.py --private-labels` recovers their labels from those files (../shared/data/glue). The
round trip scores the archive `benchkit release` wrote for the tiny model's runs and compares every number with one
computed here from the runs' own test predictions and the labels, with sklearn and scipy. The broken-archive tests
edit a correct archive (the labels written as predictions) one fault at a time. The codecs of SuperGLUE and KLEJ are
checked as the inverse of their writers.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SHARED_GLUE
from release_helpers import DATA, SUITE, invoke, one_line_errors, shared_runs
from test_release import _card

pytestmark = pytest.mark.xdist_group("release-runs")  # the shared runs are made once per worker

GLUE_FILES = {"glue-mini/sst2": ("SST-2", "label"), "glue-mini/cola": ("CoLA", "label"),
              "glue-mini/mrpc": ("MRPC", "Quality"), "glue-mini/stsb": ("STS-B", "score")}


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED_GLUE / "SST-2" / "dev.tsv").is_file():
        pytest.skip(f"the official GLUE dev files are not at {SHARED_GLUE}")
    spec = importlib.util.spec_from_file_location("make_glue_mini", REPO / "scripts" / "make_glue_mini.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path_factory.mktemp("private-labels")
    script.write_private_labels(SHARED_GLUE, DATA, out)
    return out


def label_rows(labels: Path, task: str) -> list[dict[str, str]]:
    folder, _ = GLUE_FILES[task]
    with (labels / folder / "test.tsv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def oracle_archive(labels: Path, target: Path, edit: dict[str, Any] | None = None) -> Path:
    """A GLUE archive whose predictions are the labels themselves; ``edit``: file name -> text, or None to leave
    the file out."""
    files = {}
    for task, (folder, column) in GLUE_FILES.items():
        rows = label_rows(labels, task)
        files[f"{folder}.tsv"] = "index\tprediction\n" + "".join(f"{r['index']}\t{r[column]}\n" for r in rows)
    for name, text in (edit or {}).items():
        if text is None:
            files.pop(name)
        else:
            files[name] = text
    with zipfile.ZipFile(target, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return target


def score(*args: Any) -> Any:
    return invoke("submissions", "score", SUITE, *args)


# ---------------------------------------------------------------------------------------------------------------
# round trip: a release's archive scores back to the numbers of its runs' test predictions


@pytest.fixture(scope="module")
def release_archive(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    runs = shared_runs(tmp_path_factory, tiny_model)
    out = tmp_path_factory.mktemp("hosted-release")
    result = invoke("release", SUITE, "--version", "1.0.0", "--runs", runs, "--out", out, "--resamples", "0")
    assert result.exit_code == 0, result.output
    folder = out / SUITE / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    (info,) = [s for s in manifest["submissions"] if s["archive"]]
    return {"runs": runs, "archive": folder / info["archive"], "chosen": info["runs"]}


def expected_metrics(task: str, labels: Path, predictions: dict[str, Any]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    _, column = GLUE_FILES[task]
    rows = label_rows(labels, task)
    if task == "glue-mini/stsb":  # the archive holds the score clipped to [0, 5] and rounded to 3 decimals
        gold = [float(r[column]) for r in rows]
        pred = [round(min(max(float(predictions[r["index"]]), 0.0), 5.0), 3) for r in rows]
        if len(set(pred)) == 1:  # a barely trained model: benchkit scores an undefined correlation as 0
            return {"pearson": 0.0, "spearman": 0.0}
        return {"pearson": float(pearsonr(gold, pred)[0]), "spearman": float(spearmanr(gold, pred)[0])}
    names = {"glue-mini/sst2": ["negative", "positive"], "glue-mini/cola": ["unacceptable", "acceptable"],
             "glue-mini/mrpc": ["not_equivalent", "equivalent"]}[task]
    gold = [int(r[column]) for r in rows]
    pred = [names.index(predictions[r["index"]]) for r in rows]
    if task == "glue-mini/sst2":
        return {"accuracy": accuracy_score(gold, pred)}
    if task == "glue-mini/cola":
        return {"mcc": matthews_corrcoef(gold, pred)}
    return {"f1": f1_score(gold, pred), "accuracy": accuracy_score(gold, pred)}


@pytest.mark.slow
def test_a_release_archive_scores_back_to_its_runs_numbers(release_archive: dict[str, Any], labels: Path,
                                                          tmp_path: Path) -> None:
    runs = release_archive["runs"]
    result = score(release_archive["archive"], "--labels", labels, "--name", "tiny baseline", "--leaderboard",
                   tmp_path / "board", "--resamples", "200", "--json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    task_scores = []
    for task, rel in release_archive["chosen"].items():
        record = json.loads((runs / rel).read_text())
        predictions = {}
        for line in ((runs / rel).parent / record["predictions"]["test"]).read_text().splitlines():
            obj = json.loads(line)
            predictions[obj["id"]] = obj["prediction"]
        expected = expected_metrics(task, labels, predictions)
        got = entry["results"][task]["test"]
        assert got["examples"] == len(predictions)
        assert got["metrics"] == pytest.approx(expected, abs=1e-9), task
        task_scores.append(sum(expected.values()) / len(expected))
        assert entry["task_scores"][task]["score"] == pytest.approx(task_scores[-1], abs=1e-9)
        ci = entry["task_scores"][task]["ci"]
        assert ci["low"] <= task_scores[-1] <= ci["high"]
    assert entry["suite_score"] == pytest.approx(sum(task_scores) / len(task_scores), abs=1e-9)
    assert entry["ci"]["low"] <= entry["suite_score"] <= entry["ci"]["high"] and not entry["partial"]
    folder = tmp_path / "board" / SUITE / "1.0.0"
    assert (folder / "archives" / "tiny-baseline.zip").read_bytes() == release_archive["archive"].read_bytes()
    assert "| 1 | tiny baseline |" in (folder / "leaderboard.md").read_text()


# ---------------------------------------------------------------------------------------------------------------
# versions: each submission makes a new leaderboard version; old ones never change


def test_each_submission_makes_a_new_version_and_old_versions_stay_as_they_were(labels: Path,
                                                                                  tmp_path: Path) -> None:
    from benchkit.files import file_sha256

    board = tmp_path / "board"
    perfect = oracle_archive(labels, tmp_path / "perfect.zip")
    first = score(perfect, "--labels", labels, "--name", "Oracle", "--model", "the labels", "--leaderboard", board,
                  "--resamples", "0")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Oracle: glue-mini 100.00 (")
    v1 = board / SUITE / "1.0.0"
    before = {p.relative_to(v1).as_posix(): file_sha256(p) for p in v1.rglob("*") if p.is_file()}

    flipped = {r["index"]: str(1 - int(r["label"])) for r in label_rows(labels, "glue-mini/sst2")}
    sst2 = "index\tprediction\n" + "".join(f"{i}\t{v}\n" for i, v in flipped.items())
    worse = oracle_archive(labels, tmp_path / "worse.zip", {"SST-2.tsv": sst2})
    second = score(worse, "--labels", labels, "--name", "Contrarian", "--url", "https://example.org/paper",
                   "--leaderboard", board, "--resamples", "0")
    assert second.exit_code == 0, second.output
    assert "leaderboard glue-mini 1.1.0: rank 2 of 2" in second.stdout
    v2 = board / SUITE / "1.1.0"
    manifest = json.loads((v2 / "manifest.json").read_text())
    assert manifest["previous"] == "1.0.0" and manifest["entries"] == ["Oracle", "Contrarian"]
    assert manifest["added"] == "Contrarian"
    rows = json.loads((v2 / "leaderboard.json").read_text())
    assert [(r["name"], r["suite_score"]) for r in rows] == [("Oracle", 1.0), ("Contrarian", pytest.approx(0.75))]
    assert rows[1]["task_scores"]["glue-mini/sst2"] == 0.0
    html = (v2 / "leaderboard.html").read_text()
    assert html.count("<tr data-entry=") == 2 and 'href="https://example.org/paper"' in html
    for rel, digest in manifest["files"].items():
        assert file_sha256(v2 / rel) == digest
    after = {p.relative_to(v1).as_posix(): file_sha256(p) for p in v1.rglob("*") if p.is_file()}
    assert after == before  # the old version is untouched

    again = score(perfect, "--labels", labels, "--name", "Oracle again", "--leaderboard", board, "--resamples", "0")
    (line,) = one_line_errors(again)
    assert "this archive was already scored as entry 'Oracle' (added in 1.0.0)" in line
    taken = score(perfect, "--labels", labels, "--name", "Contrarian", "--leaderboard", board, "--version", "1.1.0")
    assert "leaderboard glue-mini 1.1.0 already exists" in one_line_errors(taken)[0]

    (v2 / "entries" / "Oracle.json").write_text("{}")  # a tampered version is not built upon
    tampered = score(worse, "--labels", labels, "--name", "Third", "--leaderboard", board, "--resamples", "0")
    (line,) = one_line_errors(tampered)
    assert "entries/Oracle.json: a file of the leaderboard does not match its manifest" in line
    assert sorted(p.name for p in (board / SUITE).iterdir()) == ["1.0.0", "1.1.0"]


def test_other_private_labels_are_refused_by_an_existing_leaderboard(labels: Path, tmp_path: Path) -> None:
    import shutil

    board = tmp_path / "board"
    assert score(oracle_archive(labels, tmp_path / "a.zip"), "--labels", labels, "--name", "a", "--leaderboard",
                 board, "--resamples", "0").exit_code == 0
    other = tmp_path / "other-labels"
    shutil.copytree(labels, other)
    text = (other / "CoLA" / "test.tsv").read_text().splitlines()
    text[1] = text[1][:-1] + ("0" if text[1].endswith("1") else "1")
    (other / "CoLA" / "test.tsv").write_text("\n".join(text) + "\n")
    refused = score(oracle_archive(other, tmp_path / "c.zip"), "--labels", other, "--name", "c", "--leaderboard",
                    board, "--resamples", "0")
    (line,) = one_line_errors(refused)
    assert "the private labels differ from those the leaderboard was scored on: glue-mini/cola:test" in line


# ---------------------------------------------------------------------------------------------------------------
# broken archives: one line per problem, naming the file inside the archive


def test_a_broken_archive_gets_one_line_per_problem_naming_the_file_inside_it(labels: Path, tmp_path: Path) -> None:
    sst2 = label_rows(labels, "glue-mini/sst2")
    mrpc = label_rows(labels, "glue-mini/mrpc")
    stsb = label_rows(labels, "glue-mini/stsb")
    broken = oracle_archive(labels, tmp_path / "broken.zip", {
        "CoLA.tsv": None,  # missing file
        # wrong ids: the first example left out, an id that is not in the test split
        "MRPC.tsv": "index\tprediction\n" + "".join(f"{r['index']}\t{r['Quality']}\n" for r in mrpc[1:]) + "9999\t1\n",
        # wrong label strings: the GLUE format writes SST-2's file codes 0/1, never 'positive' or '2'
        "SST-2.tsv": "index\tprediction\n" + "".join(f"{r['index']}\t{'2' if n == 3 else r['label']}\n"
                                                     for n, r in enumerate(sst2)),
        "STS-B.tsv": "index\tscore\n" + "".join(f"{r['index']}\t{r['score']}\n" for r in stsb),  # wrong header
    })
    lines = one_line_errors(score(broken, "--labels", labels, "--leaderboard", tmp_path / "board"))
    assert len(lines) == 5, lines
    text = "\n".join(lines)
    assert f"error: {broken}:CoLA.tsv: the archive has no CoLA.tsv (glue-mini/cola test)" in text
    assert f"error: {broken}:MRPC.tsv: id: 1 prediction id(s) not in the gold split: '9999'" in text
    assert f"error: {broken}:MRPC.tsv: id: 1 gold example(s) have no prediction: '0'" in text
    assert (f"error: {broken}:SST-2.tsv: prediction: unknown label(s) ['2'] for id(s) '3' (hint: SST-2.tsv holds "
            "the file codes 0 (negative), 1 (positive))") in text
    assert f"error: {broken}:STS-B.tsv:1: expected the header 'index<TAB>prediction', found 'index\\tscore'" in text
    assert not (tmp_path / "board").exists()  # nothing written

    strings = oracle_archive(labels, tmp_path / "strings.zip", {
        "SST-2.tsv": "index\tprediction\n" + "".join(f"{r['index']}\t{'positive' if r['label'] == '1' else 'negative'}"
                                                     "\n" for r in sst2)})
    (line,) = one_line_errors(score(strings, "--labels", labels, "--score-only"))
    assert line.startswith(f"error: {strings}:SST-2.tsv:2: prediction: {len(sst2)} prediction(s) are label strings "
                           "['negative', 'positive'], where this file holds file codes")
    duplicated = oracle_archive(labels, tmp_path / "dup.zip", {
        "SST-2.tsv": "index\tprediction\n0\t1\n" + "".join(f"{r['index']}\t{r['label']}\n" for r in sst2)})
    (line,) = one_line_errors(score(duplicated, "--labels", labels, "--score-only"))
    assert line == f"error: {duplicated}:SST-2.tsv: id: duplicate prediction ids: '0' (hint: give each example " \
                   "exactly one prediction)"


def test_archives_that_are_not_submissions_are_refused(labels: Path, tmp_path: Path) -> None:
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    assert "not a zip archive" in one_line_errors(score(not_zip, "--labels", labels, "--score-only"))[0]
    escape = tmp_path / "escape.zip"
    with zipfile.ZipFile(escape, "w") as archive:
        archive.writestr("../SST-2.tsv", "index\tprediction\n")
    assert "unsafe member path '../SST-2.tsv'" in one_line_errors(score(escape, "--labels", labels, "--score-only"))[0]
    latin = oracle_archive(labels, tmp_path / "latin1.zip", {"SST-2.tsv": None})
    with zipfile.ZipFile(latin, "a") as archive:
        archive.writestr("SST-2.tsv", "index\tprediction\n0\tcaf\xe9\n".encode("latin-1"))
    (line,) = one_line_errors(score(latin, "--labels", labels, "--score-only"))
    assert line.startswith(f"error: {latin}:SST-2.tsv: not UTF-8")
    missing = score(tmp_path / "absent.zip", "--labels", labels, "--score-only")
    assert "submission archive not found" in one_line_errors(missing)[0]
    no_labels = score(oracle_archive(labels, tmp_path / "ok.zip"), "--labels", tmp_path / "nowhere", "--score-only")
    assert "private labels folder not found" in one_line_errors(no_labels)[0]
    unlabelled = score(oracle_archive(labels, tmp_path / "ok2.zip"), "--labels", DATA, "--score-only")
    assert any("SST-2/test.tsv" in line for line in one_line_errors(unlabelled))  # the public files hold no labels
    lepiszcze = invoke("submissions", "score", "lepiszcze", not_zip, "--labels", labels, "--score-only")
    assert "the lepiszcze submission format carries scores, not test predictions" in one_line_errors(lepiszcze)[0]


def test_a_zipped_folder_and_an_unpacked_folder_are_read_like_the_archive(labels: Path, tmp_path: Path) -> None:
    flat = oracle_archive(labels, tmp_path / "flat.zip")
    nested = tmp_path / "nested.zip"
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(flat) as source, zipfile.ZipFile(nested, "w") as target:
        for name in source.namelist():
            target.writestr(f"my-submission/{name}", source.read(name))
            (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
            (unpacked / name).write_bytes(source.read(name))
        target.writestr("__MACOSX/my-submission/._SST-2.tsv", b"\x00\x05")
    scores = []
    for archive in (flat, nested, unpacked):
        result = score(archive, "--labels", labels, "--score-only", "--json", "--resamples", "0")
        assert result.exit_code == 0, result.output
        scores.append(json.loads(result.stdout)["suite_score"])
    assert scores == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------------------------------------------------------
# the readers are the writers' inverse (SuperGLUE and KLEJ; GLUE above, end to end)


def _round_trip(fmt: str, predictions: list[Any], tmp_path: Path) -> dict[str, list[tuple[str, Any]]]:
    import pandas as pd

    from benchkit.predictions import check_predictions
    from benchkit.release.submission_readers import SUBMISSION_READERS
    from benchkit.release.submission_writers import SUBMISSION_WRITERS

    writer, reader = SUBMISSION_WRITERS.get(fmt), SUBMISSION_READERS.get(fmt)
    writer.write(predictions, tmp_path)
    out = {}
    for preds in predictions:
        name = writer.file_name(preds.card, preds.split)
        text = (tmp_path / name).read_text(encoding="utf-8")
        read = reader.read(preds.card, preds.split, text, preds.ids, f"sub.zip:{name}")
        assert not read.problems, read.problems
        values = check_predictions(read.items, preds.card, pd.DataFrame({"id": preds.ids}), name)
        out[preds.card.id] = list(zip(preds.ids, values))
    return out


def test_superglue_files_read_back_to_the_labels_written(tmp_path: Path) -> None:
    from benchkit.release.submission_writers import TestPredictions

    booleans = {"names": ["False", "True"]}
    boolq, wsc = _card("superglue/boolq", labels=booleans), _card("superglue/wsc", labels=booleans)
    wic = _card("superglue/wic", labels={"names": ["false", "true"], "map": {"false": "false", "true": "true"}})
    copa = _card("superglue/copa", labels={"names": ["choice1", "choice2"], "map": {0: "choice1", 1: "choice2"}})
    cb = _card("superglue/cb", "text_pair_classification", labels={"names": ["entailment", "contradiction", "neutral"]})
    multirc = _card("superglue/multirc", "text_pair_classification", labels=booleans)
    given = [
        TestPredictions(boolq, "test", ["0", "1", "2"], ["True", "False", "True"]),
        TestPredictions(wsc, "test", ["0", "1"], ["False", "True"]),
        TestPredictions(wic, "test", ["0", "1"], ["true", "false"]),
        TestPredictions(copa, "test", ["0", "1"], ["choice2", "choice1"]),
        TestPredictions(cb, "test", ["0", "1", "2"], ["neutral", "entailment", "contradiction"]),
        TestPredictions(multirc, "test", ["0-0-0", "0-0-1", "0-1-0", "1-0-0"], ["True", "False", "True", "False"]),
    ]
    read = _round_trip("superglue", given, tmp_path)
    for preds in given:
        assert read[preds.card.id] == list(zip(preds.ids, preds.values)), preds.card.id


def test_klej_files_read_back_in_test_file_order(tmp_path: Path) -> None:
    from benchkit.release.submission_writers import TestPredictions

    polemo = _card("klej/polemo2.0-in", labels={"names": ["__label__meta_amb", "__label__meta_plus_m"]})
    cbd = _card("klej/cbd", labels={"names": ["not_harmful", "harmful"], "map": {0: "not_harmful", 1: "harmful"}})
    cdsc_r = _card("klej/cdsc-r", "regression", value_range=[0.0, 5.0])
    given = [TestPredictions(polemo, "test", ["a", "b"], ["__label__meta_plus_m", "__label__meta_amb"]),
             TestPredictions(cbd, "test", ["7", "8", "9"], ["harmful", "not_harmful", "harmful"]),
             TestPredictions(cdsc_r, "test", ["0", "1"], [4.25, 0.5])]
    read = _round_trip("klej", given, tmp_path)
    for preds in given:
        assert read[preds.card.id] == list(zip(preds.ids, preds.values)), preds.card.id


def test_klej_and_superglue_shape_errors_name_the_file_and_line() -> None:
    from benchkit.release.submission_readers import SUBMISSION_READERS

    cbd = _card("klej/cbd", labels={"names": ["not_harmful", "harmful"], "map": {0: "not_harmful", 1: "harmful"}})
    short = SUBMISSION_READERS.get("klej").read(cbd, "test", "target\n1\n", ["0", "1"], "sub.zip:test_pred_cbd.tsv")
    assert [p.format() for p in short.problems] == [
        "sub.zip:test_pred_cbd.tsv: expected 2 predictions (one per test example, in the test file's order), found 1 "
        "(hint: KLEJ files carry no ids: write one line per row of the test file)"]
    cb = _card("superglue/cb", "text_pair_classification", labels={"names": ["entailment", "contradiction", "neutral"]})
    bad = SUBMISSION_READERS.get("superglue").read(cb, "test", '{"idx": 0, "label": "neutral"}\n{"idx": 1}\nnope\n',
                                                   ["0", "1"], "sub.zip:CB.jsonl")
    assert [p.format() for p in bad.problems] == [
        "sub.zip:CB.jsonl:2: expected an object with keys 'idx' and 'label' (hint: e.g. {\"idx\": 0, \"label\": "
        "\"entailment\"})",
        "sub.zip:CB.jsonl:3: invalid JSON: Expecting value (hint: each line is one object: {\"idx\": ..., \"label\": "
        "...})"]
