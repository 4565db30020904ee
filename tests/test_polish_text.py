"""Polish text end to end: diacritics survive reading, tokenising, predictions and the leaderboard page with a
tokenizer that keeps them, and ``benchkit run`` warns when a model's tokenizer strips them (MiniLM's uncased English
tokenizer turns "zażółć" into "zazołc")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from release_helpers import invoke
from conftest import FIXTURES, minilm_folder

from benchkit.train.tokenizer_check import changed_characters, tokenizer_warning

PANGRAM = "Zażółć gęślą jaźń"
DATA = FIXTURES / "lepiszcze"



def test_the_polish_tokenizer_keeps_diacritics_and_maps_back(tiny_polish_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_polish_model))
    encoded = tokenizer(PANGRAM, return_offsets_mapping=True, add_special_tokens=False)
    pieces = [PANGRAM[a:b] for a, b in encoded["offset_mapping"]]
    assert "".join(pieces) == PANGRAM.replace(" ", "")  # every character, accents included, is in some token
    assert tokenizer.decode(encoded["input_ids"]) == PANGRAM
    assert changed_characters(tokenizer, [PANGRAM, "ŻÓŁW ĆMA"]) == ({}, 0.0)


def test_an_english_uncased_tokenizer_is_reported_for_polish_text() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_folder()))
    assert tokenizer.tokenize(PANGRAM)[0] == "za"  # 'ż' -> 'z': the model never sees the diacritic
    changed, share = changed_characters(tokenizer, [PANGRAM])
    assert changed == {"ó": "o", "ą": "a", "ć": "c", "ę": "e", "ń": "n", "ś": "s", "ź": "z", "ż": "z"}  # not ł
    assert share == pytest.approx(8 / 15)  # 8 of the 15 letters
    warning = tokenizer_warning("lepiszcze/psc", "pol-Latn", "minilm-l6", tokenizer, [PANGRAM])
    assert warning is not None and warning.severity == "warning"
    assert warning.format().startswith("model: lepiszcze/psc (pol-Latn): the tokenizer of minilm-l6 changes 8 "
                                       "character(s) of the training texts (53.3% of their letters): 'ó'->'o', ")
    assert tokenizer_warning("glue/sst2", "eng-Latn", "minilm-l6", tokenizer, ["café"]) is None  # English: not asked


def test_polish_labels_and_names_survive_run_predictions_and_leaderboard(tiny_polish_model: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A new-language card, as a researcher writes one: Polish label strings and task name over the PolEmo 2.0
    fixture; trained with the Polish tokenizer (no warning), predictions and the leaderboard keep the strings."""
    work = tmp_path / "work"
    (work / "tasks" / "opinie").mkdir(parents=True)
    (work / "benchmarks").mkdir()
    (work / "tasks" / "opinie" / "ocena.yaml").write_text(f"""\
extends: {Path(__file__).resolve().parent.parent / "tasks" / "lepiszcze" / "polemo2-official.yaml"}
id: opinie/ocena
name: Opinie konsumentów (ocena ogólna)
labels:
  names: [neutralna, zła, dobra, ambiwalentna]
  map: {{zero: neutralna, minus: zła, plus: dobra, amb: ambiwalentna}}
splits:
  train: {{rows: 6}}
  dev: {{rows: 3}}
  test: {{rows: 3}}
""", encoding="utf-8")
    (work / "benchmarks" / "opinie.yaml").write_text("""\
id: opinie
version: 0.1.0
name: Opinie
description: "Zbiór zadań oceny opinii w języku polskim (źródło: PolEmo 2.0)."
languages: [pol-Latn]
tasks:
  - {id: opinie/ocena, version: 1.0.0}
score_rule: mean
""", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "work")
    out = tmp_path / "results"
    result = invoke("run", "opinie", "--data-dir", DATA,
                    "--model", tiny_polish_model, "--set", "epochs=1", "--set", "bootstrap_resamples=0",
                    "--set", "max_length=64", "--out", out, "--quiet", "--release", "1.0.0")
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.stderr  # the tokenizer keeps the diacritics
    (record_path,) = out.glob("runs/**/record.json")
    predictions = record_path.parent / "predictions" / "test.jsonl"
    values = [json.loads(line)["prediction"] for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert values and set(values) <= {"neutralna", "zła", "dobra", "ambiwalentna"}
    html = (out / "releases" / "opinie" / "1.0.0" / "leaderboard.html").read_text(encoding="utf-8")
    assert "Zbiór zadań oceny opinii w języku polskim (źródło: PolEmo 2.0)." in html  # as written: no entities
    datasheet = (out / "releases" / "opinie" / "1.0.0" / "datasheet.md").read_text(encoding="utf-8")
    assert "Opinie konsumentów (ocena ogólna)" in datasheet and "zła" in datasheet
