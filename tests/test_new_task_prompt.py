"""``benchkit new task`` writes a default ``prompt:`` block (scaffold.infer.default_prompt): class tasks ask a question
naming the labels in the card's language, regression scores the range's whole numbers, tagging asks for JSON
entities; the written card validates and its prompt resolves against the language's prompt file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from benchkit.cards.loader import load_task_card
from benchkit.cards.prompts import choice_texts, instruction_text, query_text, resolve_prompt
from benchkit.cards.roots import card_roots
from benchkit.scaffold.card_writer import render
from benchkit.scaffold.infer import default_prompt, default_verbalizers, infer_card

CONLL = REPO / "tests" / "fixtures" / "conll2003"
OPINIONS = [("Świetna książka, polecam każdemu czytelnikowi!", "pozytywny"),
            ("Nudna, źle napisana i za długa.", "negatywny"),
            ("Żółw idzie powoli, ale w końcu dociera do celu.", "neutralny")]
PAIRS = [("A man is playing a guitar on the stage.", "A man plays music.", "entailment"),
         ("The cat sleeps on the warm sofa all day.", "A dog is barking at the mailman.", "not_entailment")]


def _card(tmp_path: Path, files: list[Path], suite: str, task: str, language: str, **kwargs):
    """The inferred card written as ``benchkit new task`` writes it, loaded, with its YAML text."""
    inferred = infer_card(files, suite, task, tmp_path / "data", language=language, **kwargs)
    path = tmp_path / "tasks" / suite / f"{task}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render(inferred.card, inferred.notes, ["test"])
    path.write_text(text, encoding="utf-8")
    return load_task_card(path), text, inferred


def _folder(tmp_path: Path, *parts: str) -> Path:
    folder = tmp_path.joinpath("data", *parts)
    folder.mkdir(parents=True)
    return folder


def test_polish_classification_asks_in_polish_with_the_labels_as_verbalisers(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "opinie")
    rows = [(f"{t} (opinia {i})", y) for i in range(10) for t, y in OPINIONS]
    (folder / "train.jsonl").write_text("".join(json.dumps({"tekst": t, "etykieta": y}, ensure_ascii=False) + "\n"
                                                for t, y in rows), encoding="utf-8")
    card, text, _ = _card(tmp_path, [folder / "train.jsonl"], "polski", "opinie", "pol-Latn")
    assert "# prompt: a default to edit" in text and "docs/prompts.md" in text
    prompt = resolve_prompt(card, card_roots())
    assert prompt.source == "benchkit new task (default from the label names)"
    assert prompt.verbalizers == {"negatywny": "negatywny", "neutralny": "neutralny", "pozytywny": "pozytywny"}
    assert prompt.answer_prefix == "Odpowiedź:"  # prompts/pol-Latn.yaml
    query = query_text(prompt, {"text": "Nudna, źle napisana i za długa."})
    assert query == ("Nudna, źle napisana i za długa.\nPytanie: Która z tych odpowiedzi pasuje do tego tekstu: "
                     "negatywny, neutralny czy pozytywny?\nOdpowiedź:")
    assert choice_texts(prompt, "class", card.labels.names, {}) == ["negatywny", "neutralny", "pozytywny"]


def test_english_pair_classification(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "pairs")
    lines = ["premise\thypothesis\tlabel"] + [f"{p} ({i})\t{h} ({i})\t{y}" for i in range(12) for p, h, y in PAIRS]
    (folder / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    card, _, _ = _card(tmp_path, [folder / "train.tsv"], "mine", "pairs", "eng-Latn")
    assert card.type == "text_pair_classification"
    prompt = resolve_prompt(card, card_roots())
    assert prompt.verbalizers == {"entailment": "entailment", "not_entailment": "not entailment"}
    assert prompt.input == "{text}\n{text_pair}\nQuestion: Which fits these two texts: entailment or not entailment?"
    assert query_text(prompt, {"text": "A.", "text_pair": "B."}).endswith("\nAnswer:")


def test_regression_scores_the_whole_numbers_of_a_small_range(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "sts")
    lines = ["sentence1\tsentence2\tscore"] + [f"{p} ({i})\t{h} ({i})\t{i % 11 / 2:.1f}"
                                                for i in range(30) for p, h, _ in PAIRS]
    (folder / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    card, _, _ = _card(tmp_path, [folder / "train.tsv"], "mine", "sts", "eng-Latn")
    assert card.type == "regression"
    prompt = resolve_prompt(card, card_roots())
    assert prompt.numbers == [0, 1, 2, 3, 4, 5]
    assert prompt.source == "benchkit new task (default from the value range)"
    assert "On a scale from 0 to 5" in prompt.input
    assert choice_texts(prompt, "number", None, {}) == ["0", "1", "2", "3", "4", "5"]
    # a wide range: no numbers to score, the model writes one
    wide = default_prompt({"type": "regression", "language": "eng-Latn", "fields": {"text": "t", "label": "y"},
                           "value_range": [0.0, 100.0]})
    assert wide is not None and "numbers" not in wide and wide["answer"] == "generate"


def test_iob1_tagging_asks_for_json_entities(tmp_path: Path) -> None:
    files = [CONLL / "eng.train", CONLL / "eng.testa"]
    card, text, _ = _card(tmp_path, files, "mine", "conll", "eng-Latn", source_dir="conll2003")
    assert card.labels.scheme == "IOB1"
    prompt = resolve_prompt(card, card_roots())
    assert set(prompt.verbalizers) == {"LOC", "MISC", "ORG", "PER"}
    instruction = instruction_text(prompt, card.labels.names)
    assert 'each as {"type": ..., "text": ...}' in instruction and "LOC" in instruction
    assert query_text(prompt, {"tokens": ["Peter", "Blackburn"]}) == "Peter Blackburn\nAnswer:"
    assert yaml.safe_load(text)["prompt"]["input"] == "{tokens}"


def test_plain_tags_are_named_in_the_instruction(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "pos")
    sentences = ["Ala subst\nma fin\nkota subst\n. interp\n", "Śpi fin\n. interp\n"]
    (folder / "train.conll").write_text("\n".join(sentences * 5), encoding="utf-8")
    card, _, _ = _card(tmp_path, [folder / "train.conll"], "polski", "pos", "pol-Latn")
    assert card.labels.scheme == "plain"
    prompt = resolve_prompt(card, card_roots())
    assert prompt.verbalizers is None  # plain tags have no types to verbalise
    assert "fin, interp, subst" in instruction_text(prompt, card.labels.names)


def test_verbalisers_stay_distinct() -> None:
    assert default_verbalizers(["not_entailment", "entailment"]) == {"not_entailment": "not entailment",
                                                                     "entailment": "entailment"}
    assert default_verbalizers(["a_b", "a b"]) == {"a_b": "a_b", "a b": "a b"}  # the names as written
    assert default_verbalizers(["0", "1"]) == {"0": "0", "1": "1"}
    card = {"type": "single_text_classification", "language": "xyz-Latn", "fields": {"text": "t", "label": "y"},
            "labels": {"names": ["{odd}", "plain"]}}
    prompt = default_prompt(card)  # braces in a label are escaped in the template; other languages get English
    assert prompt is not None and prompt["input"] == "{text}\nQuestion: Is this text {{odd}} or plain?"


def _benchkit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, check=False,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1"})


def test_the_written_card_has_its_prompt_and_validates(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "mine", "opinie")
    rows = [(f"{t} (opinia {i})", y) for i in range(10) for t, y in OPINIONS]
    for split, chunk in (("train", rows[:24]), ("dev", rows[24:])):
        (folder / f"{split}.tsv").write_text("tekst\tetykieta\n" + "".join(f"{t}\t{y}\n" for t, y in chunk),
                                             encoding="utf-8")
    done = _benchkit(tmp_path, "new", "task", "data/mine/opinie/train.tsv", "data/mine/opinie/dev.tsv", "--suite",
                     "mine", "--language", "pol-Latn", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prompt: a default from the label names" in done.stdout
    path = tmp_path / "tasks" / "mine" / "opinie.yaml"
    text = path.read_text(encoding="utf-8")
    assert '  source: "benchkit new task (default from the label names)"' in text
    assert "# prompt: a default to edit" in text and "see docs/prompts.md" in text
    checked = _benchkit(tmp_path, "validate", str(path), "--data-dir", "data/mine")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert resolve_prompt(load_task_card(path), card_roots()).input.startswith("{text}\nPytanie:")


@pytest.mark.parametrize("language, word", [("eng-Latn", "Question:"), ("pol-Latn", "Pytanie:"), ("pl", "Pytanie:"),
                                            ("deu-Latn", "Question:")])
def test_wording_follows_the_language(language: str, word: str) -> None:
    card = {"type": "single_text_classification", "language": language, "fields": {"text": "t", "label": "y"},
            "labels": {"names": ["a", "b", "c"]}}
    assert word in default_prompt(card)["input"]
