"""``benchkit new task``: a card inferred from data files. On the real GLUE files the inferred card reads the same
rows and labels as the built-in card and picks the same task type; non-ASCII JSONL and CoNLL files get cards that
validate; unsure guesses are confirmed with --yes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_GLUE

SHARED = SHARED_GLUE
needs_shared = pytest.mark.skipif(not (SHARED / "SST-2").is_dir(), reason="needs the GLUE files of ../shared/data/glue")


def new_task(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", "new", "task", *map(str, args)], cwd=root,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})


@needs_shared
@pytest.mark.parametrize("folder, builtin", [("SST-2", "glue/sst2"), ("MRPC", "glue/mrpc"), ("STS-B", "glue/stsb"),
                                             ("CoLA", "glue/cola")])
def test_inferred_glue_cards_read_what_the_builtin_cards_read(folder: str, builtin: str, tmp_path: Path) -> None:
    from benchkit.cards import catalog
    from benchkit.cards.loader import load_task_card
    from benchkit.validation.frames import load_frames
    from benchkit.scaffold.card_writer import render
    from benchkit.scaffold.infer import infer_card

    files = [SHARED / folder / "train.tsv", SHARED / folder / "dev.tsv"]
    inferred = infer_card(files, "mine", folder.lower(), SHARED, language="eng-Latn")
    card_path = tmp_path / "tasks" / "mine" / f"{folder.lower()}.yaml"
    card_path.parent.mkdir(parents=True)
    card_path.write_text(render(inferred.card, inferred.notes, ["test"]), encoding="utf-8")
    card = load_task_card(card_path)
    reference = catalog.load_task(builtin)
    assert card.type == reference.type
    ours = load_frames(card, SHARED, ["train", "dev"])
    theirs = load_frames(reference, SHARED, ["train", "dev"])
    for split in ("train", "dev"):
        assert len(ours[split]) == len(theirs[split]) == reference.splits[split].rows
        for role in ("text", "text_pair"):
            if role in theirs[split]:
                assert list(ours[split][role]) == list(theirs[split][role])
        if reference.labels is None:  # regression: the same numbers
            assert list(ours[split]["label"]) == list(theirs[split]["label"])
        else:  # the file's codes, which the built-in card names: the same labels under its map
            names = {str(code): name for code, name in reference.labels.map.items()}
            assert [names[v] for v in ours[split]["label"]] == list(theirs[split]["label"])


@needs_shared
def test_the_card_is_written_with_its_guesses_and_validated(tmp_path: Path) -> None:
    shutil.copytree(SHARED / "SST-2", tmp_path / "data" / "mine" / "sst2")
    unsure = new_task(tmp_path, "data/mine/sst2/train.tsv", "data/mine/sst2/dev.tsv", "--suite", "mine",
                      "--language", "eng-Latn")
    assert unsure.returncode == 0, unsure.stdout + unsure.stderr  # every guess is at least likely: no question
    card = (tmp_path / "tasks" / "mine" / "sst2.yaml").read_text(encoding="utf-8")
    assert "# fields.text: likely: the only column of running text" in card
    assert "# source.read.header: certain: column 2 holds numbers below a first row naming it 'label'" in card
    assert "validate tasks/mine/sst2.yaml: ok (train 67349, dev 872)" in unsure.stdout
    again = new_task(tmp_path, "data/mine/sst2/train.tsv", "--suite", "mine", "--language", "eng-Latn")
    assert again.returncode == 2 and "a card is already there" in again.stderr  # never overwritten silently


def test_non_ascii_jsonl_and_conll_cards_validate(tmp_path: Path) -> None:
    data = tmp_path / "data" / "polski"
    (data / "opinie").mkdir(parents=True)
    rows = [(f"{text} (opinia {i})", label) for i in range(10)
            for text, label in (("Świetna książka, polecam każdemu!", "pozytywny"), ("Nudna i źle napisana.",
                                "negatywny"), ("Żółw idzie powoli, ale dociera do celu.", "neutralny"))]
    for split, chunk in (("train", rows[:24]), ("dev", rows[24:])):
        (data / "opinie" / f"{split}.jsonl").write_text(
            "".join(json.dumps({"tekst": t, "etykieta": y}, ensure_ascii=False) + "\n" for t, y in chunk),
            encoding="utf-8")
    (data / "ner").mkdir()
    places = {"train": ["Gdańsku", "Krakowie", "Poznaniu"], "dev": ["Łodzi", "Wrocławiu"]}
    for split, names in places.items():
        sentences = [f"Wałęsa B-PER\nmieszka O\nw O\n{place} B-LOC\n. O\n" for place in names]
        sentences += [f"{place.rstrip('u')} B-LOC\nto O\nmiasto O\n. O\n" for place in names]
        (data / "ner" / f"{split}.conll").write_text("\n".join(sentences), encoding="utf-8")
    text = new_task(tmp_path, "data/polski/opinie/train.jsonl", "data/polski/opinie/dev.jsonl", "--suite",
                    "polski", "--language", "pol-Latn", "--yes")
    assert text.returncode == 0, text.stdout + text.stderr
    card = (tmp_path / "tasks" / "polski" / "opinie.yaml").read_text(encoding="utf-8")
    assert "fields: {text: tekst, label: etykieta}" in card
    assert "labels: {names: [negatywny, neutralny, pozytywny]}" in card
    ner = new_task(tmp_path, "data/polski/ner/train.conll", "data/polski/ner/dev.conll", "--suite", "polski",
                   "--language", "pol-Latn", "--yes")
    assert ner.returncode == 0, ner.stdout + ner.stderr
    card = (tmp_path / "tasks" / "polski" / "ner.yaml").read_text(encoding="utf-8")
    assert "type: token_classification" in card and "scheme: IOB2" in card
    assert "validate tasks/polski/ner.yaml: ok" in ner.stdout


def test_an_unsure_guess_needs_yes_or_a_flag_in_scripts(tmp_path: Path) -> None:
    data = tmp_path / "data" / "s" / "t"
    data.mkdir(parents=True)
    lines = [f"{i}\t{'ab'[i % 2]}\tthe quick brown fox number {i} jumps" for i in range(40)]  # no header, no names
    (data / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    unsure = new_task(tmp_path, "data/s/t/train.tsv", "--suite", "s", "--language", "eng-Latn")
    assert unsure.returncode == 2
    assert unsure.stderr.strip().startswith("error: --yes: unsure: label column: label (guess:")
    assert not (tmp_path / "tasks").exists()
    flagged = new_task(tmp_path, "data/s/t/train.tsv", "--suite", "s", "--language", "eng-Latn", "--label", "col2")
    assert flagged.returncode == 0, flagged.stdout + flagged.stderr
