"""Every GLUE card on the real files: official row counts, label distributions, first and last rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from card_helpers import card_with_rows

from benchkit.cards import catalog
from benchkit.cards.loader import load_task_card
from benchkit.validation.frames import load_frames, load_task_data

from conftest import FIXTURES, REPO

# (task, split) -> (file, rows, label distribution in the card's label order); counts from the reference
# (SST-2 dev 428/444, QNLI dev 2702/2761) and, for the rest, counted in the files with awk.
REAL = {
    ("glue/cola", "train"): ("CoLA/train.tsv", 8551, {"unacceptable": 2528, "acceptable": 6023}),
    ("glue/cola", "dev"): ("CoLA/dev.tsv", 1043, {"unacceptable": 322, "acceptable": 721}),
    ("glue/sst2", "train"): ("SST-2/train.tsv", 67349, {"negative": 29780, "positive": 37569}),
    ("glue/sst2", "dev"): ("SST-2/dev.tsv", 872, {"negative": 428, "positive": 444}),
    ("glue/mrpc", "train"): ("MRPC/train.tsv", 3668, {"not_equivalent": 1194, "equivalent": 2474}),
    ("glue/mrpc", "dev"): ("MRPC/dev.tsv", 408, {"not_equivalent": 129, "equivalent": 279}),
    ("glue/stsb", "train"): ("STS-B/train.tsv", 5749, None),
    ("glue/stsb", "dev"): ("STS-B/dev.tsv", 1500, None),
    ("glue/rte", "train"): ("RTE/train.tsv", 2490, {"entailment": 1249, "not_entailment": 1241}),
    ("glue/rte", "dev"): ("RTE/dev.tsv", 277, {"entailment": 146, "not_entailment": 131}),
    ("glue/wnli", "dev"): ("WNLI/dev.tsv", 71, {"not_entailment": 40, "entailment": 31}),
    ("glue/qnli", "dev"): ("QNLI/dev.tsv", 5463, {"entailment": 2702, "not_entailment": 2761}),
}

# First and last rows as (id, text, text_pair, label), read off the files.
EDGES = {
    ("glue/cola", "dev"): (("0", "The sailors rode the breeze clear of the rocks.", None, "acceptable"),
                           ("1042", "John talked to Bill about himself.", None, "acceptable")),
    ("glue/sst2", "dev"): (("0", "it 's a charming and often affecting journey . ", None, "positive"),
                           ("871", "looking aristocratic , luminous yet careworn in jane hamilton 's exemplary costumes , "
                                   "rampling gives a performance that could not be improved upon . ' ", None, "positive")),
    ("glue/mrpc", "dev"): (("0", "He said the foodservice pie business doesn't fit the company's long-term growth strategy.",
                            '"The foodservice pie business does not fit our long-term growth strategy.', "equivalent"),
                           ("407", "Ex-KGB agent Putin added that the Beatles were considered 'propaganda of an alien ideology'.",
                            "In Soviet times the Beatles' music \"was considered propaganda of an alien ideology.", "equivalent")),
    ("glue/stsb", "dev"): (("0", "A man with a hard hat is dancing.", "A man wearing a hard hat is dancing.", 5.0),
                           ("1499", "New video shows US police officers beating mentally-ill man",
                            "New York police officer critically wounded in hatchet attack", 0.0)),
    ("glue/wnli", "dev"): (("0", "The drain is clogged with hair. It has to be cleaned.", "The hair has to be cleaned.",
                            "not_entailment"),
                           ("70", "George got free tickets to the play, but he gave them to Eric, because he was not "
                                  "particularly eager to see it.", "Eric was not particularly eager to see it.", "not_entailment")),
    ("glue/qnli", "dev"): (("0", "What came into force after the new constitution was herald?",
                            "As of that day, the new constitution heralding the Second Republic came into force.", "entailment"),
                           None),
    ("glue/rte", "dev"): (("0", "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, "
                                "according to the Christopher Reeve Foundation.", "Christopher Reeve had an accident.",
                           "not_entailment"), None),
}


def _independent_rows(path: Path, header: bool) -> list[list[str]]:
    """An oracle that shares no code with the readers: non-empty lines split on tabs."""
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.split("\n") if line]
    return [line.split("\t") for line in lines[1 if header else 0:]]


@pytest.mark.parametrize(("task", "split"), sorted(REAL))
def test_real_glue_files_load_with_official_counts(glue_dir: Path, task: str, split: str) -> None:
    file, rows, distribution = REAL[(task, split)]
    card = catalog.load_task(task)
    frame = load_frames(card, glue_dir, [split])[split]
    assert len(frame) == rows == card.splits[split].rows
    if distribution is not None:
        counts = frame["label"].value_counts().to_dict()
        assert counts == distribution
    else:
        assert frame["label"].between(0.0, 5.0).all()
    # Every row equals the independent parse, in order (so nothing merged, dropped or NaN-ed).
    oracle = _independent_rows(glue_dir / file, header=task != "glue/cola")
    text_column = {"glue/cola": 3, "glue/sst2": 0, "glue/mrpc": 3, "glue/stsb": 7}.get(task, 1)
    assert list(frame["text"]) == [row[text_column] for row in oracle]
    ids = [row[0] for row in oracle] if task in ("glue/stsb", "glue/rte", "glue/wnli", "glue/qnli") else \
        [str(i) for i in range(rows)]
    assert list(frame["id"]) == ids


@pytest.mark.parametrize(("task", "split"), sorted(EDGES))
def test_first_and_last_rows(glue_dir: Path, task: str, split: str) -> None:
    frame = load_frames(catalog.load_task(task), glue_dir, [split])[split]
    first, last = EDGES[(task, split)]
    for expected, row in ((first, frame.iloc[0]), (last, frame.iloc[-1])):
        if expected is None:
            continue
        ident, text, pair, label = expected
        assert row["id"] == ident
        assert row["text"] == text
        if pair is not None:
            assert row["text_pair"] == pair
        assert row["label"] == label


def test_mrpc_bom_is_stripped_and_quotes_stay_text(glue_dir: Path) -> None:
    assert (glue_dir / "MRPC/dev.tsv").read_bytes().startswith(b"\xef\xbb\xbf")
    frame = load_frames(catalog.load_task("glue/mrpc"), glue_dir, ["dev"])["dev"]
    # QUOTE_NONE: an unbalanced quote does not swallow the following lines.
    assert frame.iloc[0]["text_pair"].startswith('"The foodservice')


def test_dataset_dict_keeps_official_label_strings(glue_dir: Path) -> None:
    data = load_task_data(catalog.load_task("glue/wnli"), glue_dir, ["dev"])
    feature = data["dev"].features["label"]
    assert feature.names == ["not_entailment", "entailment"]  # HF order for WNLI: 0 = not_entailment
    assert feature.int2str(data["dev"][0]["label"]) == "not_entailment"
    assert data["dev"].features["id"].dtype == "string"


def _fixture_card(tmp_path: Path, task: str, rows: dict[str, int]) -> Path:
    """The real card with the expected row counts of the small fixture files."""
    return card_with_rows(tmp_path / f"{task.split('/')[1]}.yaml", task, rows)


def test_qqp_card_on_official_format_fixture(tmp_path: Path) -> None:
    card = load_task_card(_fixture_card(tmp_path, "glue/qqp", {"train": 6, "dev": 3, "test": 4}))
    frames = load_frames(card, FIXTURES / "glue")
    assert frames["train"]["id"].tolist()[:2] == ["133273", "402555"]
    assert frames["train"]["label"].value_counts().to_dict() == {"not_duplicate": 4, "duplicate": 2}
    assert frames["train"].iloc[-1]["text"] == "null"  # stays text, not NaN
    assert frames["test"]["label"].isna().all()
    assert frames["test"].iloc[-1][["text", "text_pair"]].tolist() == ["NA", "N/A"]


def test_mnli_card_has_matched_and_mismatched_splits(tmp_path: Path) -> None:
    rows = {"train": 6, "dev_matched": 3, "dev_mismatched": 2, "test_matched": 2, "test_mismatched": 1}
    card = load_task_card(_fixture_card(tmp_path, "glue/mnli", rows))
    frames = load_frames(card, FIXTURES / "glue")
    assert {s: len(f) for s, f in frames.items()} == rows
    assert frames["dev_matched"]["label"].tolist() == ["neutral", "contradiction", "entailment"]
    assert frames["train"]["text"].iloc[0].startswith("Conceptually cream skimming")
    assert frames["test_matched"].iloc[1][["text", "text_pair"]].tolist() == ["n/a", "null"]
    assert card.labels.names == ["entailment", "neutral", "contradiction"]


def test_ax_card_is_test_only_with_hidden_labels(tmp_path: Path) -> None:
    card = load_task_card(_fixture_card(tmp_path, "glue/ax", {"test": 3}))
    frames = load_frames(card, FIXTURES / "glue")
    assert list(frames) == ["test"]
    assert frames["test"]["id"].tolist() == ["0", "1", "2"]
    assert card.evaluated_with == "glue/mnli"
    data = load_task_data(card, FIXTURES / "glue")
    assert data["test"]["label"] == [-1, -1, -1]


def test_glue_suite_pins_every_card() -> None:
    suite = catalog.load_suite("glue")
    assert [t.id for t in suite.tasks] == ["glue/cola", "glue/sst2", "glue/mrpc", "glue/stsb", "glue/qqp", "glue/mnli",
                                          "glue/qnli", "glue/rte", "glue/wnli", "glue/ax"]
    assert [t.id for t in suite.card.tasks if not t.scored] == ["glue/ax"]
    assert suite.card.score_rule == "glue" and suite.card.submission_format == "glue"
    assert catalog.load_suite(str(REPO / "benchmarks" / "glue.yaml")).card.id == "glue"
