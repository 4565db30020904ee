"""Official files with known quirks load through the built-in cards, which state the rule (``checks:``), and
``validate``, ``run`` and ``release`` apply one set of data checks.

The data folders are built from the real format samples in ``../shared/data/<suite>/_format_samples`` plus rows
that reproduce each documented quirk in the official files' format, padded with made-up rows in the same format to
the published row counts (the built-in cards check them):

* SuperGLUE WSC val: a pronoun span inside its candidate span. The real val example could not be found with the
  tools at hand, so the row is written in its shape (span2 inside span1, both word indices as the official files
  give them).
* KLEJ AR dev, as commonly shared: 25 texts that are empty or only whitespace.
* KLEJ NKJP-NER: sentences repeated within train and between train and dev (5 across, such as "Nie sądzisz ?").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SHARED
from release_helpers import invoke

from benchkit.cards import catalog

from benchkit.cards.schema import Mark
from benchkit.compose import RowError, _mark

SAMPLES = SHARED / "data"
SUPERGLUE = SAMPLES / "superglue" / "_format_samples"
KLEJ = SAMPLES / "klej" / "_format_samples"

if not SUPERGLUE.is_dir() or not KLEJ.is_dir():
    pytest.skip(f"format samples not found under {SAMPLES}", allow_module_level=True)

WSC_NESTED = {"text": "Mr. Moncrieff visited Chester 's luxurious New York apartment, thinking that it belonged to his "
                      "son Edward .",
              "target": {"span2_index": 14, "span1_index": 14, "span1_text": "his son Edward", "span2_text": "his"},
              "idx": 1, "label": False}


def _wsc_row(i: int) -> dict[str, Any]:
    return {"text": f"Anna told Maria {i} stories because she liked them .",
            "target": {"span2_index": 6, "span1_index": 0, "span1_text": "Anna", "span2_text": "she"},
            "idx": i, "label": i % 2 == 0}


def wsc_folder(root: Path, extra: list[dict[str, Any]] = ()) -> Path:  # type: ignore[assignment]
    """WSC/val.jsonl with the published 104 rows: the real first row, the nested row, made-up rows."""
    lines = [(SUPERGLUE / "WSC.val.first1.jsonl").read_text(encoding="utf-8").strip(), json.dumps(WSC_NESTED)]
    lines += [json.dumps(row) for row in extra]
    lines += [json.dumps(_wsc_row(i)) for i in range(len(lines), 104)]
    (root / "WSC").mkdir(parents=True)
    (root / "WSC" / "val.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _validate(target: str, data: Path) -> tuple[Any, dict[str, Any]]:
    human = invoke("validate", target, "--data-dir", data)
    report = json.loads(invoke("validate", target, "--data-dir", data, "--json").stdout)
    return human, report


def _task(report: dict[str, Any], task: str) -> dict[str, Any]:
    return next(t for t in report["tasks"] if t["task"] == task)


# WSC: nested spans ----------------------------------------------------------------------------------------------

def test_validate_superglue_accepts_a_pronoun_inside_its_candidate(tmp_path: Path) -> None:
    result, report = _validate("superglue", wsc_folder(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    wsc = _task(report, "superglue/wsc")
    assert wsc["rows"] == {"dev": 104} and wsc["splits"]["dev"] == "ok"
    assert not [p for p in wsc["problems"] if p["severity"] == "error"]


def test_nested_marks_are_marked_outer_first(tmp_path: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.validation.frames import load_frames

    data = wsc_folder(tmp_path / "data")
    dev = load_frames(catalog.load_task("superglue/wsc"), data, ["dev"])["dev"]
    row = dev[dev["id"] == "1"].iloc[0]
    assert row["text"].endswith("it belonged to [*his* son Edward] .")
    (_, c_start, c_end), (_, p_start, p_end) = row["spans"]
    assert row["text"][c_start:c_end] == "[*his* son Edward]" and row["text"][p_start:p_end] == "*his*"


def test_crossing_spans_are_one_error_naming_the_row(tmp_path: Path) -> None:
    crossing = {"text": "The trophy did not fit in the brown suitcase because it was too big .",
                "target": {"span1_index": 6, "span1_text": "the brown suitcase", "span2_index": 7,
                           "span2_text": "brown suitcase because"}, "idx": 2, "label": False}
    data = wsc_folder(tmp_path / "data", [crossing])
    result = invoke("validate", "superglue/wsc", "--data-dir", data)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [(f"error: {data}/WSC/val.jsonl:3: target.span2_index: spans of text cross ([6, 9) and [7, 10)): "
                       "one starts inside the other and ends after it (hint: marks on one field may nest (one span "
                       "inside another) but not cross)")]


MARKS = [Mark(field="t", start="s1", text="t1", unit="word", open="[", close="]"),
         Mark(field="t", start="s2", text="t2", unit="word", open="*", close="*")]


@pytest.mark.parametrize("row, marked, spans", [
    ({"s1": 1, "t1": "his son", "s2": 1, "t2": "his"}, "Ask [*his* son] now", [(4, 15), (5, 10)]),  # same start
    ({"s1": 1, "t1": "a friend of his", "s2": 4, "t2": "his"}, "Ask [a friend of *his*] now", [(4, 23), (17, 22)]),
    ({"s1": 1, "t1": "him", "s2": 1, "t2": "him"}, "Ask [*him*] now", [(4, 11), (5, 10)]),  # equal: card order
    ({"s1": 1, "t1": "him", "s2": 2, "t2": "now"}, "Ask [him] *now*", [(4, 9), (10, 15)]),  # disjoint, adjacent
])
def test_the_marking_of_nested_word_spans(row: dict[str, Any], marked: str, spans: list[tuple[int, int]]) -> None:
    text = {"Ask [*his* son] now": "Ask his son now", "Ask [a friend of *his*] now": "Ask a friend of his now"}.get(
        marked, "Ask him now")
    assert _mark(text, MARKS, row, []) == (marked, spans)


def test_nested_character_spans_and_crossing_ones() -> None:
    marks = [Mark(field="t", start="a", end="b"), Mark(field="t", start="c", end="d", open="<", close=">")]
    assert _mark("hello world", marks, {"a": 0, "b": 11, "c": 6, "d": 11}, []) == ("*hello <world>*", [(0, 15), (7, 14)])
    assert _mark("hello world", marks, {"a": 0, "b": 5, "c": 5, "d": 11}, []) == ("*hello*< world>", [(0, 7), (7, 15)])
    with pytest.raises(RowError, match=r"cross \(\[0, 7\) and \[6, 11\)\)"):
        _mark("hello world", marks, {"a": 0, "b": 7, "c": 6, "d": 11}, [])


# KLEJ: empty texts in AR dev, repeated sentences in NKJP-NER ----------------------------------------------------

SHARED = ["Nie sądzisz ?", "No tak .", "Dlaczego ?", "Dziękuję bardzo .", "I co dalej ?"]  # 5 across train/dev
LABELS = ["geogName", "noEntity", "orgName", "persName", "placeName", "time"]


def klej_folder(root: Path, ar_header: bool = True) -> Path:
    ar = root / "klej_ar"
    ar.mkdir(parents=True)
    real = (KLEJ / "AR.dev.noheader.first2.tsv").read_text(encoding="utf-8").splitlines()
    empty = ["\t3.0"] * 20 + [" \t5.0", "  \t1.0", "\u00a0\t4.0", " \t2.0", "   \t3.0"]  # 25: empty or whitespace
    made_up = [f"Recenzja numer {i} : produkt zgodny z opisem .\t{1 + i % 5}.0" for i in range(1002 - 2 - 25)]
    header = ["text\trating"] if ar_header else []  # the copy commonly shared has no header line
    (ar / "dev.tsv").write_text("\n".join([*header, *real, *empty, *made_up]) + "\n", encoding="utf-8")

    ner = root / "klej_nkjp-ner"
    ner.mkdir()
    dev = (KLEJ / "NKJP-NER.dev.first20.tsv").read_text(encoding="utf-8").splitlines()  # header + 20 real rows
    dev += [f"{s}\tnoEntity" for s in SHARED]
    dev += [f"Zdanie rozwojowe {i} z Krakowa .\t{LABELS[i % 6]}" for i in range(1941 - 20 - 5)]
    train = ["sentence\ttarget", *(f"{s}\tnoEntity" for s in SHARED), *(f"{s}\tnoEntity" for s in SHARED[:2])]
    train += [f"Zdanie treningowe {i} z Gdańska .\t{LABELS[i % 6]}" for i in range(15794 - 7)]
    (ner / "dev.tsv").write_text("\n".join(dev) + "\n", encoding="utf-8")
    (ner / "train.tsv").write_text("\n".join(train) + "\n", encoding="utf-8")
    return root


def test_validate_klej_accepts_the_official_quirks_as_warnings(tmp_path: Path) -> None:
    result, report = _validate("klej", klej_folder(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    ar, ner = _task(report, "klej/ar"), _task(report, "klej/nkjp-ner")
    assert ar["rows"]["dev"] == 1002 and ner["rows"] == {"train": 15794, "dev": 1941}
    empties = [p["message"] for p in ar["problems"] if "empty or whitespace-only" in p["message"]]
    assert len(empties) == 20 and all(p["severity"] == "warning" for p in ar["problems"])  # 20 listed, 5 counted
    assert any("... and 5 more rows failing the same check (non_empty_text)" in p["message"] for p in ar["problems"])
    assert "a known quirk of the official files, kept as published (the card sets checks.empty_text: warning)" \
        in empties[0]
    leaks = [p for p in ner["problems"] if "leakage" in p["message"]]
    assert len(leaks) == 5 and all(p["severity"] == "warning" for p in leaks)
    assert f"{tmp_path}/data/klej_nkjp-ner/dev.tsv:22: leakage: the same input is in train (line 2)" in leaks[0]["message"]


def test_the_ar_dev_file_as_commonly_shared_without_its_header_line(tmp_path: Path) -> None:
    result, report = _validate("klej/ar", klej_folder(tmp_path / "data", ar_header=False))
    assert result.exit_code == 0, result.output
    ar = _task(report, "klej/ar")
    assert ar["rows"]["dev"] == 1002  # the first line is a review, not a header
    assert f"{tmp_path}/data/klej_ar/dev.tsv:3: text: empty or whitespace-only text ''" in ar["problems"][1]["message"]


def test_new_data_gets_errors_and_a_card_extending_a_builtin_inherits_its_checks(tmp_path: Path) -> None:
    data = klej_folder(tmp_path / "data")
    inherits = tmp_path / "inherits.yaml"
    inherits.write_text(f"extends: {REPO / 'tasks/klej/ar.yaml'}\n", encoding="utf-8")
    assert invoke("validate", inherits, "--data-dir", data).exit_code == 0
    strict = tmp_path / "strict.yaml"
    strict.write_text(f"extends: {REPO / 'tasks/klej/ar.yaml'}\nchecks: {{empty_text: error}}\n", encoding="utf-8")
    refused = invoke("validate", strict, "--data-dir", data)
    assert refused.exit_code == 2
    assert f"error: {data}/klej_ar/dev.tsv:4: text: empty or whitespace-only text '' (hint: fill in the text or " \
           "drop the row)" in refused.stderr.splitlines()
    off = tmp_path / "off.yaml"
    off.write_text(f"extends: {REPO / 'tasks/klej/ar.yaml'}\nchecks:\n  empty_text: {{severity: 'off', reason: x}}\n",
                   encoding="utf-8")
    quiet = invoke("validate", off, "--data-dir", data)
    assert quiet.exit_code == 0 and "empty" not in quiet.stderr


def test_a_check_the_card_language_does_not_know_is_a_card_error(tmp_path: Path) -> None:
    card = tmp_path / "card.yaml"
    card.write_text(f"extends: {REPO / 'tasks/klej/ar.yaml'}\nchecks: {{empty_texts: warning}}\n", encoding="utf-8")
    result = invoke("validate", card)
    assert result.exit_code == 2 and "empty_texts" in result.stderr and "did you mean 'empty_text'" in result.stderr


def test_a_wrong_data_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    result = invoke("validate", "klej", "--data-dir", tmp_path / "elsewhere")
    assert result.exit_code == 2
    assert (f"error: {tmp_path}/elsewhere: --data-dir: no split of any of the 9 task(s) was found: this is probably "
            f"not the folder of the official files (hint: pass the folder that holds the task folders in the official "
            f"layout (e.g. {tmp_path}/elsewhere/klej_nkjp-ner/train.tsv))") in result.stderr.splitlines()
    # one task's files found: the others are missing data, a warning as before
    klej_folder(tmp_path / "some")
    assert invoke("validate", "klej", "--data-dir", tmp_path / "some").exit_code == 0


# one set of checks: run and release refuse what validate refuses ------------------------------------------------

CARD = """\
id: leaky/sst
version: 1.0.0
name: Leaky
description: A card whose dev split repeats a train sentence.
language: eng-Latn
license: test
citation: test
homepage: https://example.org/
type: single_text_classification
source: {format: tsv, dir: D}
fields: {text: sentence, label: label}
labels: {names: [negative, positive], map: {0: negative, 1: positive}}
splits:
  train: {file: train.tsv}
  dev: {file: dev.tsv}
metrics: [accuracy]
primary_metric: accuracy
"""
SUITE = """\
id: leaky
version: 1.0.0
name: Leaky
description: One task with leakage.
languages: [eng-Latn]
homepage: https://example.org/
citation: test
tasks:
  - {id: leaky/sst, version: 1.0.0}
score_rule: mean
"""


@pytest.fixture
def leaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tasks" / "leaky").mkdir(parents=True)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "tasks" / "leaky" / "sst.yaml").write_text(CARD, encoding="utf-8")
    (tmp_path / "benchmarks" / "leaky.yaml").write_text(SUITE, encoding="utf-8")
    (tmp_path / "data" / "D").mkdir(parents=True)
    (tmp_path / "data" / "D" / "train.tsv").write_text("sentence\tlabel\nit is good\t1\nit is bad\t0\n"
                                                       "a fine film\t1\nawful stuff\t0\n", encoding="utf-8")
    (tmp_path / "data" / "D" / "dev.tsv").write_text("sentence\tlabel\nfine film\t1\nit is  bad\t0\n", encoding="utf-8")
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


LEAK = ("data/D/dev.tsv:3: leakage: the same input is in train (line 3) (hint: remove it from one split, or set "
        "checks.leakage in the card if the benchmark keeps it)")


def _errors(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_validate_run_and_release_refuse_the_same_leakage(leaky: Path, tiny_model: Path) -> None:
    validated = invoke("validate", "leaky", "--data-dir", "data")
    ran = invoke("run", "leaky", "--model", tiny_model, "--data-dir", "data", "--out", "out", "--quiet")
    released = invoke("release", "leaky", "--version", "1.0.0", "--runs", "runs", "--out", "releases",
                      "--data-dir", "data")
    assert validated.exit_code == ran.exit_code == released.exit_code == 2
    assert f"error: {LEAK}" in _errors(validated)
    assert _errors(ran) == _errors(released) == [f"error: {LEAK}"]
    assert not (leaky / "out").exists() and not (leaky / "releases").exists()  # nothing written


def test_run_prints_the_warnings_validate_prints(leaky: Path, tiny_model: Path) -> None:
    card = leaky / "tasks" / "leaky" / "sst.yaml"
    card.write_text(CARD + "checks: {leakage: warning}\n", encoding="utf-8")
    validated = invoke("validate", "leaky", "--data-dir", "data")
    warning = [line for line in _errors(validated) if "leakage" in line]
    assert validated.exit_code == 0 and len(warning) == 1 and warning[0].startswith("warning: ")
    ran = invoke("run", "leaky", "--model", tiny_model, "--data-dir", "data", "--out", "out", "--quiet",
                 "--no-release", "--set", "epochs=1", "--set", "batch_size=4", "--set", "max_length=64")
    assert ran.exit_code == 0, ran.output
    assert [line for line in _errors(ran) if "leakage" in line] == warning
    shutil.rmtree(leaky / "out")


def test_the_datasheet_quotes_the_checks_a_card_relaxes(tmp_path: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.release import datasheet

    suite = catalog.load_suite("glue-mini")  # its CoLA and STS-B cards extend GLUE's, which keep leakage as a warning
    text = datasheet.write(tmp_path, suite, "1.0.0", catalog.suite_data_dir(suite, None), {}, "data", []).read_text()
    assert ("- Data check `leakage`: warning (the official dev file keeps 16 sentences that are also in train), as the "
            "card sets it for the official files") in text.splitlines()
    assert text.count("- Data check `") == 2  # CoLA and STS-B only


def test_run_and_release_print_one_line_per_relaxed_check() -> None:
    """`validate` lists every finding; a command that goes on (run, release) prints one line per task and check:
    glue-mini's CoLA keeps 5 inputs that are also in train (dev and test), its STS-B one."""
    from benchkit.validation.runner import condensed_warnings, validate_task

    suite = catalog.load_suite("glue-mini")
    cards = {card.id: card for card in suite.tasks}
    cola = validate_task(cards["glue-mini/cola"], REPO / "data" / "glue-mini", strict=True)
    assert len(cola.problems) == 5 and all(p.severity == "warning" for p in cola.problems)
    (line,) = condensed_warnings(cola)
    text = line.format()
    assert line.severity == "warning" and text.startswith("glue-mini/cola: 5 findings in dev.tsv, test.tsv; the first at ")
    assert "leakage" in text and text.endswith("benchkit validate glue-mini/cola lists each)")
    stsb = validate_task(cards["glue-mini/stsb"], REPO / "data" / "glue-mini", strict=True)
    assert condensed_warnings(stsb) == stsb.problems  # a single finding keeps its own line
