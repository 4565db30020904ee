"""The KLEJ task cards and suite card, through the CLI as a user runs it, on fixture files in the layout of the official
zips (tests/fixtures/klej/PROVENANCE.md): validate, show, score (against sklearn, scipy and a hand computation of AR's
1 - wMAE), bad inputs, and run + release with a tiny model.

The cards state the published row counts and the fixtures hold a few rows each, so on the fixtures the official cards
report exactly one row-count error per split file and nothing else; every other check reads the files through cards
that extend the official ones with the fixture counts, as tests/test_superglue_cards.py does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from card_helpers import card_with_rows
from conftest import FIXTURES, REPO
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, f1_score

from benchkit.cards import catalog
from benchkit.scoring.rules import SCORE_RULES

DATA = FIXTURES / "klej"
ROWS_HINT = "the file may be truncated, modified or another version of the dataset"
PUBLISHED = json.loads((FIXTURES / "published_rows.json").read_text(encoding="utf-8"))["klej"]

# task -> (columns of train.tsv, label column, {split: published rows}); reference section 3.1 and the KLEJ baselines'
# task.py. CBD, DYK and PSC ship no dev.tsv: their dev split is carved from train by the card.
CARDS: dict[str, tuple[list[str], str, dict[str, int]]] = {
    "klej/nkjp-ner": (["sentence", "target"], "target", {"train": 15794, "dev": 1941, "test": 2058}),
    "klej/cdsc-e": (["pair_ID", "sentence_A", "sentence_B", "entailment_judgment"], "entailment_judgment",
                    {"train": 8000, "dev": 1000, "test": 1000}),
    "klej/cdsc-r": (["pair_ID", "sentence_A", "sentence_B", "relatedness_score"], "relatedness_score",
                    {"train": 8000, "dev": 1000, "test": 1000}),
    "klej/cbd": (["sentence", "target"], "target", {"train": 10041, "test": 1000}),
    "klej/polemo2.0-in": (["sentence", "target"], "target", {"train": 5783, "dev": 723, "test": 722}),
    "klej/polemo2.0-out": (["sentence", "target"], "target", {"train": 5783, "dev": 494, "test": 494}),
    "klej/dyk": (["q_id", "question", "answer", "target"], "target", {"train": 4154, "test": 1029}),
    "klej/psc": (["extract_text", "summary_text", "label"], "label", {"train": 4302, "test": 1078}),
    "klej/ar": (["text", "rating"], "rating", {"train": 9577, "dev": 1002, "test": 1006}),
}
FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test_features.tsv"}
POLEMO = ["__label__meta_amb", "__label__meta_minus_m", "__label__meta_plus_m", "__label__meta_zero"]
LABELS: dict[str, list[str] | None] = {
    "klej/nkjp-ner": ["geogName", "noEntity", "orgName", "persName", "placeName", "time"],
    "klej/cdsc-e": ["NEUTRAL", "CONTRADICTION", "ENTAILMENT"],
    "klej/cdsc-r": None,
    "klej/cbd": ["0", "1"],
    "klej/polemo2.0-in": POLEMO,
    "klej/polemo2.0-out": POLEMO,
    "klej/dyk": ["0", "1"],
    "klej/psc": ["0", "1"],
    "klej/ar": None,
}
METRICS = {"klej/cdsc-r": "spearman", "klej/ar": "klej_ar_score", "klej/cbd": "f1", "klej/dyk": "f1", "klej/psc": "f1"}
DERIVED = ("klej/cbd", "klej/dyk", "klej/psc")
DERIVE = {"from": "train", "fraction": 0.1, "stratify": True, "seed": 42}


def benchkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=600)


def folder(task: str) -> str:
    return "klej_" + task.split("/")[1]  # the folder scripts/download_klej.sh unzips klej_<task>.zip into


def tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    """An oracle that shares no code with the readers: the header line, then one row per line split on tabs (the
    files are read with quoting=3, so quotes are plain characters)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == ""  # every line ends with a newline
    header, *rows = [line.split("\t") for line in lines[:-1]]
    assert all(len(row) == len(header) for row in rows)
    return header, rows


def column(task: str, split: str, name: str, data: Path = DATA) -> list[str]:
    header, rows = tsv(data / folder(task) / FILES[split])
    return [row[header.index(name)] for row in rows]


def file_rows(task: str) -> dict[str, int]:
    return {split: len(tsv(DATA / folder(task) / FILES[split])[1]) for split in CARDS[task][2]}


def write_fixture_card(where: Path, task: str) -> Path:
    """The official card with the fixture's row counts (counted independently); derived splits keep no count."""
    return card_with_rows(where / f"{task.split('/')[1]}.yaml", task, file_rows(task))


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("klej-cards")
    return {task: write_fixture_card(where, task) for task in CARDS}


def write_predictions(path: Path, ids: list[str], predictions: list[Any]) -> Path:
    pairs = list(zip(ids, predictions))[::-1]  # reverse order: ids are matched, not positions
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in pairs), encoding="utf-8")
    return path


def score(card: Path, predictions: Path) -> dict[str, Any]:
    result = benchkit("score", str(card), str(predictions), "--data-dir", str(DATA), "--json", "--resamples", "0")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------------------------
# the cards


@pytest.mark.parametrize("task", list(CARDS))
def test_cards_state_the_published_facts(task: str) -> None:
    card = catalog.load_task(task)
    columns, label, rows = CARDS[task]
    assert (card.source.format, card.source.dir) == ("tsv", folder(task))
    read = card.source.read
    assert (read.header, read.quoting, read.encoding, read.skip_blank_lines) == (True, "none", "utf-8", False)
    assert card.language == "pol-Latn" and card.homepage == "https://klejbenchmark.com/"
    assert "KLEJ" in card.citation and card.license
    fields = card.fields.columns()
    assert fields["label"] == label and fields.get("id") is None  # ids: row index, so files keep their order
    assert set(fields.values()) <= set(columns)
    assert {s: spec.rows for s, spec in card.splits.items() if spec.file} == rows
    assert {s: spec.file for s, spec in card.splits.items() if spec.file} == {s: FILES[s] for s in rows}
    assert {s for s, spec in card.splits.items() if spec.labels == "hidden"} == {"test"}
    if task in DERIVED:
        assert card.splits["dev"].file is None
        assert card.splits["dev"].derive.model_dump(by_alias=True) == DERIVE
    else:
        assert card.splits["dev"].derive is None
    assert (card.labels.names if card.labels else None) == LABELS[task]
    (metric,) = card.metrics
    assert metric.name == card.primary_metric == METRICS.get(task, "accuracy")
    if metric.name == "f1":
        assert metric.options == {"positive_label": "1"}
    assert card.type == ("regression" if task in ("klej/cdsc-r", "klej/ar") else
                         "single_text_classification" if "text_pair" not in fields else "text_pair_classification")
    # the KLEJ score rule reads exactly this metric for this task
    assert SCORE_RULES.get("klej").metrics[task] == (metric.name,)


def test_suite_card_is_wired_to_the_klej_rule_and_writer() -> None:
    suite = catalog.load_suite("klej")
    rule = SCORE_RULES.get("klej")
    assert [t.id for t in suite.tasks] == list(rule.tasks) == list(CARDS)
    assert (suite.card.score_rule, suite.card.submission_format) == ("klej", "klej")
    assert suite.card.submission_url == "https://klejbenchmark.com/"


@pytest.mark.parametrize("model", list(PUBLISHED))
def test_the_suite_reproduces_the_published_klej_rows(model: str) -> None:
    """The published per-task scores (reference 3.2) through the suite card's rule give the published KLEJ score."""
    from benchkit.scoring.scores import SuiteScoreInput, suite_score

    suite = catalog.load_suite("klej")
    row = PUBLISHED[model]
    assert set(row["results"]) == {t.id for t in suite.tasks}
    result = suite_score(SuiteScoreInput.from_results(row["results"]), suite.card.score_rule)
    assert round(result.value, row["decimals"]) == row["score"]  # 80.53 (HerBERT), 84.66 (XLM-R large)
    assert round(result.value, row["stated_decimals"]) == row["stated"]  # as published: 80.5, 84.7
    assert len(result.task_scores) == 9


# ---------------------------------------------------------------------------------------------------------------
# validate and show


def test_fixtures_are_in_the_official_layout() -> None:
    for task, (columns, label, rows) in CARDS.items():
        names = sorted(p.name for p in (DATA / folder(task)).iterdir())
        assert names == sorted(FILES[s] for s in rows), task
        assert tsv(DATA / folder(task) / "train.tsv")[0] == columns
        assert tsv(DATA / folder(task) / "test_features.tsv")[0] == [c for c in columns if c != label]
        text = "".join((DATA / folder(task) / FILES[s]).read_text(encoding="utf-8") for s in rows)
        assert set(text) & set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"), task  # Polish diacritics, UTF-8


@pytest.mark.parametrize("task", list(CARDS))
def test_validate_on_the_fixtures(task: str, cards: dict[str, Path]) -> None:
    rows = CARDS[task][2]
    found = file_rows(task)
    official = benchkit("validate", task, "--data-dir", str(DATA))
    assert official.returncode == 2 and "Traceback" not in official.stderr
    assert official.stderr.splitlines() == [
        f"error: {DATA}/{folder(task)}/{FILES[split]}: splits.{split}.rows: expected {n} rows, found {found[split]} "
        f"(hint: {ROWS_HINT})" for split, n in rows.items()]

    result = benchkit("validate", str(cards[task]), "--data-dir", str(DATA), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["errors"], report["warnings"]) == (0, 0)
    (entry,) = report["tasks"]
    assert entry["task"] == task and entry["status"] == "ok" and entry["problems"] == []
    assert entry["splits"] == {"train": "ok", "dev": "ok", "test": "ok"}
    if task in DERIVED:  # dev carved out of train: 10% per label, train keeps the rest
        labels = Counter(column(task, "train", CARDS[task][1]))
        dev = sum(round(0.1 * n) for n in labels.values())
        assert entry["rows"] == {"train": found["train"] - dev, "dev": dev, "test": found["test"]}
    else:
        assert entry["rows"] == found


def test_validate_the_whole_suite_on_the_fixtures(cards: dict[str, Path]) -> None:
    where = next(iter(cards.values())).parent
    (where / "tasks" / "klej").mkdir(parents=True, exist_ok=True)
    for path in cards.values():
        shutil.copy(path, where / "tasks" / "klej" / path.name)
    result = benchkit("validate", "klej", "--data-dir", str(DATA), cwd=where)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "checked 9 task(s), cards and data: 0 error(s), 0 warning(s)"


@pytest.mark.parametrize("task", list(CARDS))
def test_show_reports_rows_read_and_official_label_strings(task: str, cards: dict[str, Path]) -> None:
    result = benchkit("show", str(cards[task]), "--data-dir", str(DATA), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["id"] == task and info["language"] == "pol-Latn"
    label = CARDS[task][1]
    splits = info["splits"]
    assert splits["test"]["labels"] == "hidden" and splits["test"]["rows"] == file_rows(task)["test"]
    if task in DERIVED:
        assert splits["dev"]["derived_from"] == "train" and splits["dev"]["file"] is None
    labelled = Counter(column(task, "train", label)) + (Counter() if task in DERIVED else
                                                        Counter(column(task, "dev", label)))
    assert splits["train"]["rows"] + splits["dev"]["rows"] == sum(labelled.values())
    if LABELS[task] is not None:
        shown = Counter(splits["train"]["label_distribution"]) + Counter(splits["dev"]["label_distribution"])
        assert dict(shown) == dict(labelled)  # the strings exactly as in the files
        assert list(splits["dev"]["label_distribution"]) == LABELS[task]


def test_derived_dev_is_stratified_seeded_and_disjoint_from_train(cards: dict[str, Path]) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.validation.frames import load_frames

    for task in DERIVED:
        card = load_task_card(cards[task])
        first, again = load_frames(card, DATA), load_frames(card, DATA)
        assert first["dev"]["id"].tolist() == again["dev"]["id"].tolist()  # seeded
        assert not set(first["dev"]["id"]) & set(first["train"]["id"])  # never report on train rows
        assert sorted(map(int, [*first["dev"]["id"], *first["train"]["id"]])) == list(range(file_rows(task)["train"]))
        assert Counter(first["dev"]["label"]) == {"0": 1, "1": 1}  # stratified: 10% of each label


# ---------------------------------------------------------------------------------------------------------------
# score: each official metric against an independent computation


def _dev(task: str, cards: dict[str, Path]) -> tuple[list[str], list[str]]:
    """(ids, gold strings) of the dev split: the file's rows, or for a carved dev the train rows benchkit chose."""
    label = CARDS[task][1]
    if task in DERIVED:
        from benchkit.cards.loader import load_task_card
        from benchkit.validation.frames import load_frames

        ids = load_frames(load_task_card(cards[task]), DATA)["dev"]["id"].tolist()
        train = column(task, "train", label)
        return ids, [train[int(i)] for i in ids]
    gold = column(task, "dev", label)
    return [str(i) for i in range(len(gold))], gold


@pytest.mark.parametrize("task", ["klej/nkjp-ner", "klej/cdsc-e", "klej/polemo2.0-in", "klej/polemo2.0-out"])
def test_score_accuracy_matches_sklearn(task: str, cards: dict[str, Path], tmp_path: Path) -> None:
    ids, gold = _dev(task, cards)
    names = LABELS[task]
    pred = [names[(names.index(g) + 1) % len(names)] if i % 3 == 1 else g for i, g in enumerate(gold)]
    out = score(cards[task], write_predictions(tmp_path / "p.jsonl", ids, pred))
    expected = accuracy_score(gold, pred)
    assert 0 < expected < 1
    assert out["metrics"] == {"accuracy": pytest.approx(expected, abs=1e-12)}
    assert out["score"] == pytest.approx(expected, abs=1e-12) and out["split"] == "dev"


@pytest.mark.parametrize("task", DERIVED)
def test_score_f1_of_class_1_matches_sklearn(task: str, cards: dict[str, Path], tmp_path: Path) -> None:
    ids, gold = _dev(task, cards)
    assert sorted(gold) == ["0", "1"]
    pred = ["1", "1"]  # one true positive, one false positive: F1 of class 1 = 2/3 (of class 0: 0)
    out = score(cards[task], write_predictions(tmp_path / "p.jsonl", ids, pred))
    expected = f1_score([int(g) for g in gold], [int(p) for p in pred])  # the baselines: f1_score(true, pred)
    assert expected == pytest.approx(2 / 3)
    assert out["metrics"] == {"f1": pytest.approx(expected, abs=1e-12)} and out["examples"] == 2


def test_score_f1_of_class_1_on_more_rows(cards: dict[str, Path], tmp_path: Path) -> None:
    """CBD scored on a card whose dev is a larger carve (40%), so precision and recall both differ from 1."""
    card = cards["klej/cbd"].parent / "cbd-40.yaml"  # beside the card it extends: a card reaches no other folder
    card.write_text(f"extends: {cards['klej/cbd'].name}\nsplits:\n  dev: {{derive: {{from: train, fraction: 0.4, "
                    "stratify: true, seed: 42}}\n", encoding="utf-8")
    from benchkit.cards.loader import load_task_card
    from benchkit.validation.frames import load_frames

    ids = load_frames(load_task_card(card), DATA)["dev"]["id"].tolist()
    train = column("klej/cbd", "train", "target")
    gold = [train[int(i)] for i in ids]
    pred = ["1" if i % 3 else "0" for i in range(len(gold))]
    out = score(card, write_predictions(tmp_path / "p.jsonl", ids, pred))
    expected = f1_score([int(g) for g in gold], [int(p) for p in pred])
    assert 0 < expected < 1
    assert out["metrics"] == {"f1": pytest.approx(expected, abs=1e-12)}


def test_score_cdsc_r_spearman_matches_scipy(cards: dict[str, Path], tmp_path: Path) -> None:
    ids, gold = _dev("klej/cdsc-r", cards)
    true = [float(g) for g in gold]
    pred = [t + (0.9 if i % 2 else -0.7) * (i % 3) for i, t in enumerate(true)]
    out = score(cards["klej/cdsc-r"], write_predictions(tmp_path / "p.jsonl", ids, pred))
    expected = spearmanr(a=pred, b=true)[0]  # the baselines' call
    assert 0 < expected < 1
    assert out["metrics"] == {"spearman": pytest.approx(expected, abs=1e-12)}


def test_score_ar_is_one_minus_wmae_by_hand(cards: dict[str, Path], tmp_path: Path) -> None:
    """AR: 1 - wMAE/4, wMAE = the mean over the distinct true ratings of the MAE within each (the KLEJ baselines'
    metrics.py: groupby('y_true') -> mean_absolute_error -> np.mean; task.py: 1 - wmae / 4). Unclipped predictions."""
    ids, gold = _dev("klej/ar", cards)
    true = [float(g) for g in gold]
    assert len(set(true)) < len(true)  # a repeated rating, so the per-class weighting matters
    pred = [3.5, 4.0, 5.5, 0.5, 3.0, 2.75]  # 5.5 and 0.5 lie outside [1, 5]: scored as they are
    by_class: dict[float, list[float]] = {}
    for t, p in zip(true, pred):
        by_class.setdefault(t, []).append(abs(t - p))
    wmae = sum(sum(errors) / len(errors) for errors in by_class.values()) / len(by_class)
    expected = 1 - wmae / 4
    plain = 1 - sum(abs(t - p) for t, p in zip(true, pred)) / len(true) / 4
    assert expected != pytest.approx(plain)  # not the plain MAE
    out = score(cards["klej/ar"], write_predictions(tmp_path / "p.jsonl", ids, pred))
    assert out["metrics"] == {"klej_ar_score": pytest.approx(expected, abs=1e-12)}


# ---------------------------------------------------------------------------------------------------------------
# bad inputs: one line each naming file, line, field and a hint; exit 2; no traceback


def _bad(tmp_path: Path, task: str, split: str, change: Any) -> tuple[Path, subprocess.CompletedProcess[str]]:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = data / folder(task) / FILES[split]
    change(path)
    return path, benchkit("validate", "--data-dir", str(data), str(_card_for(tmp_path, task)))


def _card_for(tmp_path: Path, task: str) -> Path:
    where = tmp_path / "cards"
    where.mkdir(exist_ok=True)
    return write_fixture_card(where, task)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    return line


def test_cp1250_file_where_utf8_is_declared(tmp_path: Path) -> None:
    def recode(path: Path) -> None:
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp1250"))

    path, result = _bad(tmp_path, "klej/polemo2.0-out", "dev", recode)
    line = path.read_bytes().split(b"\n")
    first = next(i for i, text in enumerate(line) if any(b > 0x7F for b in text)) + 1
    message = _one_line(result)
    assert message.startswith(f"error: {path}:{first}: read.encoding: cannot decode byte 0x")
    assert message.endswith("as utf-8 (hint: re-save the file as UTF-8 or set read.encoding in the card "
                            "(e.g. cp1250 or iso8859-2 for a legacy Central European file))")


def test_latin2_file_where_utf8_is_declared(tmp_path: Path) -> None:
    def recode(path: Path) -> None:
        path.write_bytes(path.read_text(encoding="utf-8").encode("iso8859-2"))

    path, result = _bad(tmp_path, "klej/cdsc-e", "train", recode)
    assert f"error: {path}:2: read.encoding: cannot decode byte" in _one_line(result)  # line 2: 'Zażółć'


def test_label_in_the_wrong_case(tmp_path: Path) -> None:
    def lower(path: Path) -> None:
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[3] = lines[3].replace("\tENTAILMENT", "\tentailment")
        path.write_text("\n".join(lines), encoding="utf-8")

    assert column("klej/cdsc-e", "dev", "entailment_judgment")[2] == "ENTAILMENT"
    path, result = _bad(tmp_path, "klej/cdsc-e", "dev", lower)
    assert _one_line(result) == (
        f"error: {path}:4: entailment_judgment: label 'entailment' is not one of ['NEUTRAL', 'CONTRADICTION', "
        "'ENTAILMENT'] (hint: did you mean 'ENTAILMENT'?)")


def test_test_features_that_carry_labels(tmp_path: Path) -> None:
    def labelled(path: Path) -> None:  # the labelled dev file copied in the place of test_features.tsv
        shutil.copy(path.parent / "dev.tsv", path)

    path, result = _bad(tmp_path, "klej/ar", "test", labelled)
    n = len(tsv(DATA / "klej_ar" / "dev.tsv")[1])
    lines = [line for line in result.stderr.splitlines() if "labels present" in line]
    assert lines == [(f"error: {path}:2: fields.label: labels present in a split the card marks hidden: column "
                     f"'rating' holds values in {n} of {n} rows (hint: is this the labelled file? test_features.tsv "
                     "ships without labels)")]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # with the fixture's test row count in the card, that is the only problem
    card = tmp_path / "cards" / "ar.yaml"
    card.write_text(card.read_text().replace("test: {rows: 3}", f"test: {{rows: {n}}}"), encoding="utf-8")
    again = benchkit("validate", "--data-dir", str(path.parent.parent), str(card))
    assert _one_line(again) == lines[0]


def test_test_features_with_an_empty_label_column_pass(tmp_path: Path) -> None:
    """A hidden split whose file has the label column but no values in it holds no labels: not an error."""
    def empty_column(path: Path) -> None:
        header, rows = tsv(path)
        path.write_text("\t".join([*header, "target"]) + "\n" + "".join("\t".join([*r, ""]) + "\n" for r in rows),
                        encoding="utf-8")

    _, result = _bad(tmp_path, "klej/nkjp-ner", "test", empty_column)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------------------------
# run and release (a tiny BERT on CPU)


def test_run_then_release_writes_the_klej_submission(tiny_model: Path, tmp_path: Path) -> None:
    """The whole suite (cards with the fixture counts found in the working folder first), one epoch each; then the
    release: the submission zip of test_pred_<task>.tsv files and a leaderboard whose Polish text renders."""
    where = tmp_path / "work"
    (where / "tasks" / "klej").mkdir(parents=True)
    for task in CARDS:
        write_fixture_card(where / "tasks" / "klej", task)
    out = tmp_path / "results"
    common = ["--data-dir", str(DATA), "--model", str(tiny_model), "--set", "epochs=1", "--set",
              "bootstrap_resamples=20", "--out", str(out), "--quiet"]
    # first three tasks (as a user starts), then the rest: the first runs are kept, not redone
    first = benchkit("run", "klej", "--task", "klej/cdsc-r", "--task", "klej/ar", "--task", "klej/cbd", *common,
                     cwd=where)
    assert first.returncode == 0, first.stdout + first.stderr
    records = {json.loads(p.read_text())["task"]["id"]: json.loads(p.read_text())
               for p in out.glob("runs/**/record.json")}
    assert set(records) == {"klej/cdsc-r", "klej/ar", "klej/cbd"}
    cbd = records["klej/cbd"]
    assert cbd["provenance"]["derived"] == {"dev": {**DERIVE, "rows": 2}}  # the record names the carved dev split
    assert "dev" not in cbd["provenance"]["data"] and cbd["results"]["dev"]["examples"] == 2
    assert set(cbd["results"]) == {"dev"} and cbd["selection"]["split"] == "train_holdout"  # never on train or dev
    assert records["klej/ar"]["provenance"]["derived"] == {}
    ar = records["klej/ar"]["results"]["dev"]["metrics"]
    assert set(ar) == {"klej_ar_score"}

    rest = benchkit("run", "klej", *common, cwd=where)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "3 skipped" in rest.stdout
    result = benchkit("release", "klej", "--version", "1.0.0", "--runs", str(out), "--data-dir", str(DATA),
                      "--resamples", "20", cwd=where)
    assert result.returncode == 0, result.stdout + result.stderr
    release = out / "releases" / "klej" / "1.0.0"
    manifest = json.loads((release / "manifest.json").read_text())
    (entry,) = manifest["entries"]
    records = {json.loads(p.read_text())["task"]["id"]: json.loads(p.read_text())
               for p in out.glob("runs/klej/**/record.json")}
    assert set(entry["task_scores"]) == set(CARDS)
    # the KLEJ rule: the unweighted mean of the 9 task scores (each its one metric on dev)
    task_scores = {t: records[t]["results"]["dev"]["metrics"][SCORE_RULES.get("klej").metrics[t][0]] for t in CARDS}
    assert entry["suite_score"] == pytest.approx(sum(task_scores.values()) / 9)
    (submission,) = manifest["submissions"]
    with zipfile.ZipFile(release / submission["archive"]) as archive:
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    assert sorted(files) == sorted(f"test_pred_{t.split('/')[1]}.tsv" for t in CARDS)
    for task in CARDS:
        lines = files[f"test_pred_{task.split('/')[1]}.tsv"].split("\n")
        assert lines[0] == "target" and lines[-1] == ""
        values = lines[1:-1]
        assert len(values) == file_rows(task)["test"]  # one row per line of test_features.tsv, in its order
        if LABELS[task] is None:
            assert all(float(v) == float(v) for v in values)
        else:
            assert set(values) <= set(LABELS[task])  # the strings exactly as in the files
    # Polish text renders as written (UTF-8, no entities, no mojibake): the suite description and the NKJP-NER
    # task heading on the page, the citations in the datasheet
    html = (release / "leaderboard.html").read_text(encoding="utf-8")
    assert "Kompleksowa Lista Ewaluacji Językowych" in html and "Narodowy Korpus Języka Polskiego" in html
    assert "JÄ" not in html and "&#281;" not in html  # not mojibake, not an entity for ę
    datasheet = (release / "datasheet.md").read_text(encoding="utf-8")
    assert "Przepiórkowski" in datasheet and "Kocoń, Miłkowski and Zaśko-Zielińska" in datasheet
