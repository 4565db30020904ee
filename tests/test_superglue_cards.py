"""The SuperGLUE task cards that fit the card language as it is (BoolQ, CB, COPA, RTE, AX-b, AX-g), through the CLI as
a user runs it, on fixture files in the official JSONL layout: validate, show, score (against sklearn or a hand count),
bad inputs, and run with a tiny model.

The cards state the published row counts and the fixtures hold a few rows each (tests/fixtures/superglue/PROVENANCE.md),
so on the fixtures the official cards report exactly one row-count error per split file and nothing else; every other
check reads the files through cards that extend the official ones with the fixture counts, as tests/test_glue_cards.py
does for QQP, MNLI and AX.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from card_helpers import card_with_rows
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from benchkit.cards import catalog
from benchkit.scoring.rules import SCORE_RULES

from conftest import FIXTURES, REPO
from test_run import TINY_RECIPE, records, run_cli

DATA = FIXTURES / "superglue"
ROWS_HINT = "the file may be truncated, modified or another version of the dataset"

# task -> (folder, {split: (file, published rows)}); rows as published (HF super_glue num_examples, reference 2.1).
CARDS: dict[str, tuple[str, dict[str, tuple[str, int]]]] = {
    "superglue/boolq": ("BoolQ", {"train": ("train.jsonl", 9427), "dev": ("val.jsonl", 3270),
                                  "test": ("test.jsonl", 3245)}),
    "superglue/cb": ("CB", {"train": ("train.jsonl", 250), "dev": ("val.jsonl", 56), "test": ("test.jsonl", 250)}),
    "superglue/copa": ("COPA", {"train": ("train.jsonl", 400), "dev": ("val.jsonl", 100),
                                "test": ("test.jsonl", 500)}),
    "superglue/rte": ("RTE", {"train": ("train.jsonl", 2490), "dev": ("val.jsonl", 277),
                              "test": ("test.jsonl", 3000)}),
    "superglue/axb": ("AX-b", {"test": ("AX-b.jsonl", 1104)}),
    "superglue/axg": ("AX-g", {"test": ("AX-g.jsonl", 356)}),
}
LABELS = {
    "superglue/boolq": ["false", "true"],
    "superglue/cb": ["entailment", "contradiction", "neutral"],
    "superglue/copa": ["choice1", "choice2"],
    "superglue/rte": ["entailment", "not_entailment"],
    "superglue/axb": ["entailment", "not_entailment"],
    "superglue/axg": ["entailment", "not_entailment"],
}
METRICS = {
    "superglue/boolq": ["accuracy"],
    "superglue/cb": ["f1_macro", "accuracy"],
    "superglue/copa": ["accuracy"],
    "superglue/rte": ["accuracy"],
    "superglue/axb": ["mcc"],
    "superglue/axg": ["gender_parity", "accuracy"],
}
DIAGNOSTICS = ("superglue/axb", "superglue/axg")


def benchkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def rows_of(path: Path) -> list[dict[str, Any]]:
    """An oracle that shares no code with the readers: one json.loads per non-blank line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def official(task: str, value: Any) -> str:
    """The file's label value as the official string, mapped by hand (BoolQ: JSON booleans; COPA: 0/1)."""
    if task == "superglue/boolq":
        assert value is True or value is False, value
        return "true" if value else "false"
    if task == "superglue/copa":
        assert value in (0, 1) and not isinstance(value, bool), value
        return ["choice1", "choice2"][value]
    assert isinstance(value, str), value
    return value


def path_of(task: str, split: str, data: Path = DATA) -> Path:
    folder, splits = CARDS[task]
    return data / folder / splits[split][0]


def counts(task: str) -> dict[str, int]:
    return {split: len(rows_of(path_of(task, split))) for split in CARDS[task][1]}


def write_fixture_card(folder: Path, task: str) -> Path:
    """The official card with the fixture's row counts (counted independently)."""
    return card_with_rows(folder / f"{task.split('/')[1]}.yaml", task, counts(task))


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("superglue-cards")
    return {task: write_fixture_card(folder, task) for task in CARDS}


def write_predictions(path: Path, ids: list[Any], predictions: list[Any]) -> Path:
    # ids as the files write them (JSON ints, AX-b strings), in reverse order: ids are matched, not positions
    pairs = list(zip(ids, predictions))[::-1]
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in pairs), encoding="utf-8")
    return path


def score(card: Path, predictions: Path, *extra: str) -> dict[str, Any]:
    result = benchkit("score", str(card), str(predictions), "--data-dir", str(DATA), "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------------------------
# the cards


@pytest.mark.parametrize("task", list(CARDS))
def test_cards_state_the_published_facts(task: str) -> None:
    card = catalog.load_task(task)
    folder, splits = CARDS[task]
    assert (card.source.format, card.source.dir, card.fields.id) == ("jsonl", folder, "idx")
    assert {s: (spec.file, spec.rows) for s, spec in card.splits.items()} == splits
    assert card.labels is not None and card.labels.names == LABELS[task]
    assert [m.name for m in card.metrics] == METRICS[task] and card.primary_metric in METRICS[task]
    hidden = {s for s, spec in card.splits.items() if spec.labels == "hidden"}
    # AX-b.jsonl and AX-g.jsonl carry their gold labels (the HF loader reads them); the other test files do not.
    assert hidden == (set() if task in DIAGNOSTICS else {"test"})
    assert card.evaluated_with == ("superglue/rte" if task in DIAGNOSTICS else None)
    assert card.language == "eng-Latn" and card.homepage
    # The SuperGLUE score rule finds the metrics it averages for this task (the diagnostics are not in it).
    slots = SCORE_RULES.get("superglue").metrics.get(task)
    assert (slots is None) == (task in DIAGNOSTICS)
    assert set(slots or ()) <= set(METRICS[task])


def test_diagnostics_use_the_label_order_of_the_rte_model() -> None:
    rte = catalog.load_task("superglue/rte")
    for task in DIAGNOSTICS:
        assert catalog.load_task(task).labels.names == rte.labels.names  # the RTE head's ids decode their predictions


# ---------------------------------------------------------------------------------------------------------------
# validate


@pytest.mark.parametrize("task", list(CARDS))
def test_validate_on_the_fixtures(task: str, cards: dict[str, Path]) -> None:
    folder, splits = CARDS[task]
    found = counts(task)
    official_card = benchkit("validate", task, "--data-dir", str(DATA))
    assert official_card.returncode == 2 and "Traceback" not in official_card.stderr
    # The official card: one row-count error per split file (the fixtures are small), nothing else.
    assert official_card.stderr.splitlines() == [
        f"error: {DATA}/{folder}/{file}: splits.{split}.rows: expected {rows} rows, found {found[split]} "
        f"(hint: {ROWS_HINT})" for split, (file, rows) in splits.items()]
    assert official_card.stdout.splitlines()[-1] == (
        f"checked 1 task(s), cards and data: {len(splits)} error(s), 0 warning(s)")

    result = benchkit("validate", str(cards[task]), "--data-dir", str(DATA), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["errors"], report["warnings"]) == (0, 0)
    (entry,) = report["tasks"]
    assert entry["task"] == task and entry["status"] == "ok" and entry["problems"] == []
    assert entry["rows"] == found and entry["splits"] == {split: "ok" for split in splits}


# ---------------------------------------------------------------------------------------------------------------
# show


@pytest.mark.parametrize("task", list(CARDS))
def test_show_reports_rows_read_and_official_label_strings(task: str, cards: dict[str, Path]) -> None:
    result = benchkit("show", str(cards[task]), "--data-dir", str(DATA), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["id"] == task and info["labels"] == LABELS[task] and info["metrics"] == METRICS[task]
    card = catalog.load_task(task)
    for split, entry in info["splits"].items():
        rows = rows_of(path_of(task, split))
        assert entry["present"] is True and entry["rows"] == len(rows) == entry["expected_rows"]
        if card.splits[split].labels == "hidden":
            assert entry["labels"] == "hidden" and entry["label_distribution"] == {}
            assert all("label" not in row for row in rows)  # test files carry no label
        else:
            expected = Counter(official(task, row["label"]) for row in rows)
            assert entry["labels"] == "present"
            # every official string, in the card's order, zeros included; nothing else (no True/1/"True")
            assert list(entry["label_distribution"]) == LABELS[task]
            assert entry["label_distribution"] == {name: expected.get(name, 0) for name in LABELS[task]}
            assert sum(entry["label_distribution"].values()) == len(rows)


def test_boolq_labels_are_lower_case_strings_from_json_booleans(cards: dict[str, Path]) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.validation.frames import load_frames, load_task_data

    card = load_task_card(cards["superglue/boolq"])
    frames = load_frames(card, DATA)
    dev = rows_of(path_of("superglue/boolq", "dev"))
    assert frames["dev"]["label"].tolist() == ["true" if row["label"] else "false" for row in dev]
    assert frames["dev"]["id"].tolist() == [str(row["idx"]) for row in dev]
    assert frames["test"]["label"].isna().all()
    data = load_task_data(card, DATA, ["dev"])
    assert data["dev"].features["label"].names == ["false", "true"]  # HF order: 0 False, 1 True


# ---------------------------------------------------------------------------------------------------------------
# score


def _flip(labels: list[str], names: list[str], every: int = 3) -> list[str]:
    """Every third prediction wrong (the next label in the card's order), the rest right."""
    return [names[(names.index(g) + 1) % len(names)] if i % every == 1 else g for i, g in enumerate(labels)]


@pytest.mark.parametrize("task", ["superglue/boolq", "superglue/copa", "superglue/rte"])
def test_score_accuracy_matches_sklearn(task: str, cards: dict[str, Path], tmp_path: Path) -> None:
    rows = rows_of(path_of(task, "dev"))
    gold = [official(task, row["label"]) for row in rows]
    pred = _flip(gold, LABELS[task])
    out = score(cards[task], write_predictions(tmp_path / "p.jsonl", [r["idx"] for r in rows], pred),
                "--resamples", "0")
    expected = accuracy_score(gold, pred)
    assert 0 < expected < 1
    assert out["metrics"] == {"accuracy": pytest.approx(expected, abs=1e-12)}
    assert out["score"] == pytest.approx(expected, abs=1e-12)
    assert (out["split"], out["examples"], out["ci"]) == ("dev", len(rows), None)


def test_score_cb_accuracy_and_macro_f1_over_the_three_classes(cards: dict[str, Path], tmp_path: Path) -> None:
    task = "superglue/cb"
    rows = rows_of(path_of(task, "dev"))
    gold = [official(task, row["label"]) for row in rows]
    assert set(gold) == set(LABELS[task])
    pred = ["entailment", "contradiction", "entailment", "entailment", "contradiction", "neutral", "neutral", "neutral"]
    out = score(cards[task], write_predictions(tmp_path / "cb.jsonl", [r["idx"] for r in rows], pred),
                "--resamples", "0")
    f1 = f1_score(gold, pred, labels=LABELS[task], average="macro", zero_division=0)  # the official (jiant) mean
    acc = accuracy_score(gold, pred)
    assert out["metrics"] == {"f1_macro": pytest.approx(f1, abs=1e-12), "accuracy": pytest.approx(acc, abs=1e-12)}
    assert out["score"] == pytest.approx((f1 + acc) / 2, abs=1e-12)  # the SuperGLUE rule's CB entry
    assert out["primary_metric"] == "f1_macro"


def test_score_axb_mcc_on_its_labelled_test_split(cards: dict[str, Path], tmp_path: Path) -> None:
    task = "superglue/axb"
    rows = rows_of(path_of(task, "test"))
    gold = [row["label"] for row in rows]
    pred = ["not_entailment", "entailment", "not_entailment", "entailment", "not_entailment", "not_entailment"]
    predictions = write_predictions(tmp_path / "axb.jsonl", [r["idx"] for r in rows], pred)
    out = score(cards[task], predictions, "--split", "test", "--resamples", "0")
    expected = matthews_corrcoef(gold, pred)
    assert 0 < expected < 1
    assert out["metrics"] == {"mcc": pytest.approx(expected, abs=1e-12)} and out["split"] == "test"
    # Without --split: a test-only task has no dev split to default to.
    bare = benchkit("score", str(cards[task]), str(predictions), "--data-dir", str(DATA))
    assert bare.returncode == 2 and bare.stderr.splitlines() == [
        "error: --split: task superglue/axb has no dev split; name the split to score (hint: e.g. --split test)"]


def test_score_axg_gender_parity_and_accuracy(cards: dict[str, Path], tmp_path: Path) -> None:
    task = "superglue/axg"
    rows = rows_of(path_of(task, "test"))
    # The fixture's pairs: lines 2i and 2i+1 share the hypothesis, differ in the premise (the pronoun).
    for first, second in zip(rows[0::2], rows[1::2]):
        assert first["hypothesis"] == second["hypothesis"] and first["premise"] != second["premise"]
    gold = [row["label"] for row in rows]
    pred = ["not_entailment", "entailment", "not_entailment", "not_entailment", "entailment", "entailment"]
    out = score(cards[task], write_predictions(tmp_path / "axg.jsonl", [r["idx"] for r in rows], pred),
                "--split", "test", "--resamples", "200")
    parity = sum(pred[i] == pred[i + 1] for i in range(0, len(pred), 2)) / (len(pred) // 2)  # 2 of 3 pairs agree
    acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
    assert (parity, acc) == (2 / 3, 5 / 6)
    assert out["metrics"] == {"gender_parity": pytest.approx(parity, abs=1e-12),
                              "accuracy": pytest.approx(acc, abs=1e-12)}
    assert out["primary_metric"] == "accuracy"
    assert out["ci"]["unit"] == "group"  # whole pairs are resampled
    assert out["ci"]["low"] <= out["score"] <= out["ci"]["high"]


def test_axg_bootstrap_keeps_the_pairs_together() -> None:
    """Resampling single examples would pair predictions at random: with every pair predicted alike (parity 1.0) and
    every label right, each resample of whole pairs scores 1.0, so the CI is [1, 1]."""
    from benchkit.scoring.split import evaluate_split

    card = catalog.load_task("superglue/axg")
    gold = [label for i in range(50) for label in ["entailment" if i % 3 == 0 else "not_entailment"] * 2]
    result = evaluate_split(card, "test", gold, list(gold), resamples=200)
    assert result.metrics == {"gender_parity": 1.0, "accuracy": 1.0}
    assert result.ci is not None and (result.ci["low"], result.ci["high"], result.ci["unit"]) == (1.0, 1.0, "group")


# ---------------------------------------------------------------------------------------------------------------
# bad inputs: one line each naming file:line, field and a hint; exit 2; no traceback; the same in validate and score


def _drop_closing_brace(text: str) -> str:
    return text[:-1]


def _without(key: str) -> Any:
    return lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != key})


def _with(key: str, value: Any) -> Any:
    return lambda text: json.dumps({**json.loads(text), key: value})


HINT_FIELD = "every row needs this field; check for absent keys or empty cells"
BAD = {
    # name: (task, split, 1-based line, how the line changes, expected message after "{file}:{line}: ")
    "malformed JSON line": (
        "superglue/boolq", "dev", 3, _drop_closing_brace,
        "invalid JSON: Expecting ',' delimiter at column 468 (hint: each line must hold one complete JSON object)"),
    "row missing a declared field": (
        "superglue/cb", "dev", 4, _without("hypothesis"), f"hypothesis: missing value (hint: {HINT_FIELD})"),
    "BoolQ label in HF's spelling": (
        "superglue/boolq", "dev", 2, _with("label", "True"),
        "label: label 'True' is not one of ['false', 'true'] (hint: did you mean 'true'?)"),
    "RTE label outside the set": (
        "superglue/rte", "dev", 2, _with("label", "entailed"),
        "label: label 'entailed' is not one of ['entailment', 'not_entailment'] (hint: did you mean 'entailment'?)"),
    "COPA label outside the set": (
        "superglue/copa", "dev", 3, _with("label", 2),
        ("label: label '2' is not one of ['0', '1'] (hint: if it is an official label, add it to labels.names (or "
         "labels.map))")),
    "AX-g row missing its hypothesis": (
        "superglue/axg", "test", 5, _without("hypothesis"), f"hypothesis: missing value (hint: {HINT_FIELD})"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_line_with_file_line_field_and_hint(name: str, cards: dict[str, Path], tmp_path: Path) -> None:
    task, split, line, change, message = BAD[name]
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = path_of(task, split, data)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = change(lines[line - 1])
    path.write_text("\n".join(lines), encoding="utf-8")
    expected = [f"error: {path}:{line}: {message}"]

    result = benchkit("validate", str(cards[task]), "--data-dir", str(data))
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2 and result.stderr.splitlines() == expected
    assert result.stdout.splitlines()[-1] == "checked 1 task(s), cards and data: 1 error(s), 0 warning(s)"

    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": 0, "prediction": "x"}\n', encoding="utf-8")
    scored = benchkit("score", str(cards[task]), str(predictions), "--split", split, "--data-dir", str(data))
    assert "Traceback" not in scored.stderr + scored.stdout
    assert scored.returncode == 2 and scored.stderr.splitlines() == expected


# ---------------------------------------------------------------------------------------------------------------
# run (a tiny BERT on CPU)


def _predictions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("task", ["superglue/boolq", "superglue/copa"])
def test_run_trains_and_predicts_official_labels(task: str, cards: dict[str, Path], tiny_model: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(str(cards[task]), "--model", str(tiny_model), "--data-dir", str(DATA), "--out", str(out),
                     "--quiet", *TINY_RECIPE, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (path, record), = records(out).items()
    assert record.task.id == task and record.results["dev"].examples == counts(task)["dev"]
    assert record.selection.rule == "best"  # the holdout is carved from the few train rows
    for split in ("dev", "test"):
        predicted = _predictions(path.parent / record.predictions[split])
        assert [p["id"] for p in predicted] == [str(r["idx"]) for r in rows_of(path_of(task, split))]
        assert {p["prediction"] for p in predicted} <= set(LABELS[task])


def test_rte_run_predicts_the_diagnostics_with_its_model(tiny_model: Path, tmp_path: Path) -> None:
    """A suite with RTE and its diagnostics (cards found in the working folder first): the RTE run writes AX-b and AX-g
    test predictions, which `benchkit score` then scores on their labelled test files."""
    (tmp_path / "tasks" / "superglue").mkdir(parents=True)
    for task in ("superglue/rte", *DIAGNOSTICS):
        write_fixture_card(tmp_path / "tasks" / "superglue", task)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "rte-diagnostics.yaml").write_text(
        "id: rte-diagnostics\nversion: 1.0.0\nname: RTE and its diagnostics\ndescription: a test slice\n"
        "languages: [eng-Latn]\ntasks:\n  - {id: superglue/rte, version: 1.0.0}\n"
        "  - {id: superglue/axb, version: 1.0.0, scored: false}\n"
        "  - {id: superglue/axg, version: 1.0.0, scored: false}\nscore_rule: mean\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("rte-diagnostics", "--task", "superglue/rte", "--model", str(tiny_model), "--data-dir", str(DATA),
                     "--out", str(out), "--quiet", *TINY_RECIPE, "--set", "select=last", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (path, record), = records(out).items()
    assert record.task.id == "superglue/rte"
    for task in DIAGNOSTICS:
        file = path.parent / record.predictions[f"{task}:test"]
        predicted = _predictions(file)
        rows = rows_of(path_of(task, "test"))
        assert [p["id"] for p in predicted] == [str(r["idx"]) for r in rows]
        assert {p["prediction"] for p in predicted} <= set(LABELS[task])
        scored = benchkit("score", task, str(file), "--split", "test", "--data-dir", str(DATA), "--json",
                          "--resamples", "0", cwd=tmp_path)
        assert scored.returncode == 0, scored.stderr
        metrics = json.loads(scored.stdout)["metrics"]
        gold, pred = [r["label"] for r in rows], [p["prediction"] for p in predicted]
        if task == "superglue/axb":
            assert metrics == {"mcc": pytest.approx(matthews_corrcoef(gold, pred), abs=1e-12)}
        else:
            parity = sum(pred[i] == pred[i + 1] for i in range(0, len(pred), 2)) / (len(pred) // 2)
            assert metrics == {"gender_parity": pytest.approx(parity, abs=1e-12),
                               "accuracy": pytest.approx(accuracy_score(gold, pred), abs=1e-12)}
