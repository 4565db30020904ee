"""Named-entity suites: CoNLL-2003 (IOB1 and IOB2 files, sentences and documents) and the long-document GONERD (token
lists or a text with character spans), through the CLI on fixtures (tests/fixtures/conll2003, tests/fixtures/gonerd):
counts, scheme checks, bad inputs, score against an independent span-level scorer, and windowed training and
prediction for documents longer than the model's window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from card_helpers import card_with_rows
from release_helpers import invoke, one_line_errors
from conftest import FIXTURES, REPO, SHARED

from benchkit.cards.loader import load_task_card
from benchkit.loading import read_split
from benchkit.validation.frames import load_frames

CONLL = FIXTURES / "conll2003"
GONERD = FIXTURES / "gonerd"
IOB1_FILES = {"train": "eng.train", "dev": "eng.testa", "test": "eng.testb"}
IOB2_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}




def oracle(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """(document, tokens, tags) per sentence, read with plain string splitting (shares no code with the reader)."""
    sentences, document, tokens, tags, seen = [], 0, [], [], False
    for line in path.read_text(encoding="utf-8").split("\n") + [""]:
        cells = line.split()
        if not cells or cells[0] == "-DOCSTART-":
            if tokens:
                sentences.append((document, tokens, tags))
                seen = True
            tokens, tags = [], []
            if cells and seen:
                document, seen = document + 1, False
            continue
        tokens.append(cells[0])
        tags.append(cells[-1])
    return sentences


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("conll-work") / "tasks" / "conll2003"
    out = {}
    for task, files in (("eng", IOB1_FILES), ("eng-iob2", IOB2_FILES)):
        out[task] = card_with_rows(where / f"{task}.yaml", f"conll2003/{task}",
                                   {s: len(oracle(CONLL / f)) for s, f in files.items()})
    out["eng-doc"] = card_with_rows(where / "eng-doc.yaml", "conll2003/eng-doc",
                                    {s: len({d for d, _, _ in oracle(CONLL / f)}) for s, f in IOB1_FILES.items()})
    return out


# ---------------------------------------------------------------------------------------------------------------
# CoNLL-2003: both schemes, sentences and documents


@pytest.mark.parametrize(("task", "files"), [("eng", IOB1_FILES), ("eng-iob2", IOB2_FILES)])
def test_both_schemes_load_with_their_sentence_and_document_counts(task: str, files: dict[str, str],
                                                                   cards: dict[str, Path]) -> None:
    result = invoke("validate", cards[task], "--data-dir", FIXTURES, "--json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["tasks"]
    assert entry["status"] == "ok" and entry["rows"] == {s: len(oracle(CONLL / f)) for s, f in files.items()}
    frames = load_frames(load_task_card(cards[task]), FIXTURES)
    for split, file in files.items():
        expected = oracle(CONLL / file)
        frame = frames[split].sort_values("_location")
        assert [list(t) for t in frame["tokens"]] == [t for _, t, _ in expected]
        assert [list(t) for t in frame["tags"]] == [g for _, _, g in expected]
        table = read_split(load_task_card(cards[task]), split, FIXTURES)  # the reader's own columns
        assert list(table.frame["document"]) == [d for d, _, _ in expected]
    # -DOCSTART- at the top (eng.train), absent at the top (eng.testa, as the real file's first lines), at the end
    assert [d for d, _, _ in oracle(CONLL / "eng.train")] == [0, 0, 0, 1, 1]
    assert [d for d, _, _ in oracle(CONLL / "eng.testa")] == [0, 0, 1]


def test_documents_as_rows(cards: dict[str, Path]) -> None:
    train = read_split(load_task_card(cards["eng-doc"]), "train", FIXTURES).frame
    sentences = oracle(CONLL / "eng.train")
    assert len(train) == 2
    assert list(train.iloc[0]["tokens"]) == [t for d, tokens, _ in sentences if d == 0 for t in tokens]
    assert list(train["sentences"]) == [3, 2] and list(train["document"]) == [0, 1]
    assert train.iloc[1]["@lines"][0] == 21  # the line of the second document's first token


def test_the_real_format_samples_load() -> None:
    samples = SHARED / "data" / "conll2003" / "_format_samples"
    if not samples.is_dir():
        pytest.skip("the shared format samples are not here")
    from benchkit.cards.schema import ReadOptions, Source
    from benchkit.sources.conll import read_conll

    for name, documents in (("eng.testa.first20lines.txt", [0, 0, 0]), ("valid.first20lines.txt", [0, 0, 0])):
        table = read_conll(str(samples / name), ReadOptions(), Source(format="conll"))
        assert list(table.frame["document"]) == documents and not table.problems


@pytest.mark.parametrize(("card", "file", "line", "tag", "after", "other"), [
    ("eng", "train.txt", 3, "B-ORG", "O", "IOB2"),
    ("eng-iob2", "eng.train", 3, "I-ORG", "O", "IOB1"),
])
def test_a_file_in_the_other_scheme_is_an_error_at_its_line(card: str, file: str, line: int, tag: str, after: str,
                                                            other: str, cards: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "conll2003"
    data.mkdir()
    files = IOB1_FILES if card == "eng" else IOB2_FILES
    for split, name in files.items():
        (data / name).write_bytes((CONLL / (file if split == "train" else name)).read_bytes())
    errors = one_line_errors(invoke("validate", cards[card], "--data-dir", tmp_path))
    scheme = "IOB1" if card == "eng" else "IOB2"
    assert len(errors) == 1 and errors[0].startswith(
        f"error: {data / files['train']}:{line}: labels.scheme: tag '{tag}' after '{after}' breaks the card's scheme "
        f"{scheme}: ")
    assert errors[0].endswith(f"(hint: is the file in {other}? then set labels.scheme: {other})")


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace("rejects VBZ I-VP O", "rejects VBZ O"),
     "{file}:4: 3 column(s), but the file's token lines have 4 (line 3) (hint: a token with a space in it, a missing "
     "tag, or a merged line; one token per line, its columns separated by whitespace)"),
    (lambda t: t.replace("Blackburn NNP I-NP I-PER", "Blackburn NNP I-NP I-PERSON"),
     "{file}:13: tags: tag(s) ['I-PERSON'] not in the tag set ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', "
     "'I-LOC', 'B-MISC', 'I-MISC'] (hint: add missing tags to labels.names)"),
    (lambda t: t.replace("-DOCSTART- -X- -X- O\n", "-DOCSTART- -X- -X- O\n\n-DOCSTART- -X- -X- O\n", 1),
     "{file}:3: read.unit: empty document: no sentence between the -DOCSTART- of line 1 and this one (hint: remove "
     "the extra -DOCSTART- line, or restore the document's sentences)"),
])
def test_bad_conll_lines(edit: Any, expected: str, cards: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "conll2003"
    data.mkdir()
    for name in IOB1_FILES.values():
        (data / name).write_bytes((CONLL / name).read_bytes())
    train = data / "eng.train"
    train.write_text(edit(train.read_text(encoding="utf-8")), encoding="utf-8")
    errors = one_line_errors(invoke("validate", cards["eng"], "--data-dir", tmp_path))
    assert f"error: {expected.format(file=train)}" in errors, errors


# ---------------------------------------------------------------------------------------------------------------
# score against an independent span-level scorer


def chunks(tags: list[str], strict: bool) -> set[tuple[int, int, str]]:
    """(start, end, type) chunks of IOB2-style tags. Lenient (conlleval): a chunk starts at B-, or at an I- after O or
    another type, and ends before O, another type or a B-. Strict (IOB2): a chunk is B-X followed by I-X; an I- that
    does not continue one belongs to no chunk."""
    out: set[tuple[int, int, str]] = set()
    start, kind = None, None
    for i, tag in enumerate(tags + ["O"]):
        prefix, typ = (tag[0], tag[2:]) if tag != "O" else ("O", None)
        continues = prefix == "I" and typ == kind and start is not None
        if start is not None and not continues:
            out.add((start, i, kind))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and not continues and not strict):
            start, kind = i, typ
    return out


def f1(gold: list[list[str]], pred: list[list[str]], strict: bool, only: str | None = None) -> float:
    g = {(n, *c) for n, s in enumerate(gold) for c in chunks(s, strict) if only in (None, c[2])}
    p = {(n, *c) for n, s in enumerate(pred) for c in chunks(s, strict) if only in (None, c[2])}
    tp = len(g & p)
    return 2 * tp / (len(g) + len(p)) if g or p else 0.0


def test_score_equals_an_independent_span_level_computation(cards: dict[str, Path], tmp_path: Path) -> None:
    card = cards["eng-iob2"]
    frame = load_frames(load_task_card(card), FIXTURES, ["train"])["train"]
    gold = [list(t) for t in frame["tags"]]
    # errors of every kind: a missed entity, a wrong type, a chunk cut short, and an I- that starts a chunk
    predicted = [list(t) for t in gold]
    predicted[0][0] = "O"  # EU missed
    predicted[0][2] = "B-LOC"  # German: wrong type
    predicted[1][1] = "B-PER"  # Blackburn split off Peter
    predicted[3][2] = "I-LOC"  # France starts with I-: lenient counts it, strict IOB2 does not
    rows = [{"id": i, "prediction": p} for i, p in zip(frame["id"], predicted)]
    file = tmp_path / "p.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke("score", card, file, "--data-dir", FIXTURES, "--split", "train", "--json", "--resamples", "0")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["seqeval_f1"] == pytest.approx(f1(gold, predicted, strict=False))
    assert metrics["seqeval_f1_strict"] == pytest.approx(f1(gold, predicted, strict=True))
    assert metrics["seqeval_f1_strict"] < metrics["seqeval_f1"]
    for kind in ("PER", "LOC", "ORG", "MISC"):
        assert metrics[f"f1_{kind}"] == pytest.approx(f1(gold, predicted, strict=False, only=kind)), kind


# ---------------------------------------------------------------------------------------------------------------
# windows: documents five times longer than the window


def test_every_position_takes_exactly_one_window_the_one_with_most_context() -> None:
    from benchkit.train.windows import assignment, context, plan_windows

    window, stride = 12, 4
    lengths = [5 * window, 7, window, window + 1]
    windows = plan_windows(lengths, window, stride)
    chosen = assignment(windows, lengths)
    for row, length in enumerate(lengths):
        mine = [w for w in windows if w.row == row]
        covered = [p for w in mine for p in range(w.start, w.start + w.length)]
        assert set(covered) == set(range(1, length - 1))  # content positions: all covered
        assert all(chosen[row][p] >= 0 for p in range(1, length - 1)) and chosen[row][0] == -1
        for p in range(1, length - 1):  # the chosen window gives p at least the context of any other window
            scores = {i: context(w)[p - w.start].item() for i, w in enumerate(windows)
                      if w.row == row and w.start <= p < w.start + w.length}
            assert scores[chosen[row][p]] == max(scores.values())
    assert len([w for w in windows if w.row == 0]) > 5  # the long document really is read in windows


class OracleTagger:
    """A real torch model whose tag for a token is a fixed function of its token id (the gold tags of the test are
    built from the same function), so the merged predictions must equal gold wherever the merge is right."""

    def __new__(cls, labels: int, vocab: int):  # type: ignore[misc]
        import torch
        from transformers.modeling_outputs import TokenClassifierOutput

        class Module(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.config = type("Config", (), {"max_position_embeddings": 512, "pad_token_id": 0})()
                table = torch.full((vocab, labels), -5.0)
                table[torch.arange(vocab), torch.arange(vocab) % labels] = 5.0
                self.table = torch.nn.Parameter(table)

            def forward(self, input_ids: Any, attention_mask: Any = None) -> Any:
                # position-dependent only through the window: a token's logits never depend on which window reads it
                return TokenClassifierOutput(logits=self.table[input_ids])

        return Module()


def test_window_merge_with_a_perfect_tagger_gives_f1_one(tiny_model: Path) -> None:
    import random

    import torch
    from seqeval.metrics import f1_score
    from transformers import AutoTokenizer

    from benchkit.train.heads import HEADS
    from benchkit.train.windows import WindowedTagger

    card = load_task_card(REPO / "tasks" / "conll2003" / "eng-iob2.yaml")
    names = card.labels.names
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    rng = random.Random(0)
    vocabulary = [w for w in tokenizer.vocab if w.isalpha() and len(w) > 3][:400]
    window = 16
    documents = [[rng.choice(vocabulary) for _ in range(5 * window + rng.randint(0, 9))] for _ in range(3)]
    head = HEADS.get("tags")
    batch = {"tokens": documents, "tags": [[0] * len(d) for d in documents]}
    encoded = head.encode(batch, tokenizer, card, window)
    assert all(len(ids) > 4 * window for ids in encoded["input_ids"])  # whole documents, not truncated
    gold = [[names[tokenizer.convert_tokens_to_ids(tokenizer.tokenize(w)[0]) % len(names)] for w in d]
            for d in documents]
    collate = head.collate(tokenizer)
    features = [{"input_ids": i, "attention_mask": m, "labels": l, "word_index": w} for i, m, l, w in
                zip(encoded["input_ids"], encoded["attention_mask"], encoded["labels"], encoded["word_index"])]
    inputs = collate(features)
    model = WindowedTagger(OracleTagger(len(names), len(tokenizer)), window=window, stride=4)
    with torch.no_grad():
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
    predicted = head.decode(logits.numpy(), card, {"tokens": documents, "word_index": encoded["word_index"]})
    assert [len(p) for p in predicted] == [len(d) for d in documents]  # one tag per word, every word
    assert predicted == gold
    assert f1_score(gold, predicted) == 1.0


# ---------------------------------------------------------------------------------------------------------------
# runs: CoNLL sentences, GONERD documents in both JSON shapes through the window path


def test_run_conll2003_trains_and_evaluates(tiny_model: Path, cards: dict[str, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cards["eng"].parent.parent.parent)
    out = tmp_path / "out"
    result = invoke("run", "conll2003", "--task", "conll2003/eng", "--data-dir", FIXTURES, "--model", tiny_model,
                    "--set", "epochs=1", "--set", "bootstrap_resamples=0", "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    (path,) = out.glob("runs/**/record.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert set(record["results"]) == {"test"} and record["selection"]["split"] == "dev"
    metrics = record["results"]["test"]["metrics"]
    assert {"seqeval_f1", "seqeval_f1_strict", "f1_PER", "f1_LOC", "f1_ORG", "f1_MISC"} <= set(metrics)
    predictions = [json.loads(line) for line in (path.parent / "predictions" / "test.jsonl").read_text().splitlines()]
    assert [len(p["prediction"]) for p in predictions] == [len(t) for _, t, _ in oracle(CONLL / "eng.testb")]


@pytest.fixture(scope="module")
def gonerd_cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("gonerd-work")
    tasks = work / "tasks" / "gonerd"
    tasks.mkdir(parents=True)
    base = REPO / "tasks" / "gonerd" / "gonerd.yaml"
    (tasks / "gonerd.yaml").write_text(f"extends: {base}\nsource: {{dir: tokens}}\n", encoding="utf-8")
    (tasks / "spans.yaml").write_text(
        f"extends: {base}\nid: gonerd/spans\nsource: {{dir: spans}}\nfields: {{tokens: null, tags: null}}\n"
        "entity_spans: {text: text, spans: entities}\n", encoding="utf-8")
    (work / "benchmarks").mkdir()
    (work / "benchmarks" / "gonerd.yaml").write_text(
        f"extends: {REPO / 'benchmarks' / 'gonerd.yaml'}\ntasks:\n  - {{id: gonerd/gonerd, version: 1.0.0}}\n"
        "  - {id: gonerd/spans, version: 1.0.0}\n", encoding="utf-8")
    return work


def test_the_two_json_shapes_give_the_same_documents(gonerd_cards: Path) -> None:
    tokens = load_frames(load_task_card(gonerd_cards / "tasks" / "gonerd" / "gonerd.yaml"), GONERD)
    spans = load_frames(load_task_card(gonerd_cards / "tasks" / "gonerd" / "spans.yaml"), GONERD)
    for split in ("train", "dev", "test"):
        assert [list(t) for t in tokens[split]["tokens"]] == [list(t) for t in spans[split]["tokens"]]
        assert [list(t) for t in tokens[split]["tags"]] == [list(t) for t in spans[split]["tags"]]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda r: r["entities"][0].update(end=r["entities"][0]["end"] - 2),
     "ends inside the word"),
    (lambda r: r["entities"].append({"start": len(r["text"]) - 3, "end": len(r["text"]) + 5, "label": "LOC"}),
     "runs past the text"),
    (lambda r: r.update(text=""), "empty document: no text"),
])
def test_bad_spans_are_one_line_each(edit: Any, message: str, gonerd_cards: Path, tmp_path: Path) -> None:
    folder = tmp_path / "spans"
    folder.mkdir()
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        lines = (GONERD / "spans" / name).read_text(encoding="utf-8").splitlines()
        if name == "val.jsonl":
            record = json.loads(lines[1])
            edit(record)
            lines[1] = json.dumps(record)
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = one_line_errors(invoke("validate", gonerd_cards / "tasks" / "gonerd" / "spans.yaml",
                                    "--data-dir", tmp_path))
    (error,) = [e for e in errors if "entity_spans" in e]
    assert error.startswith(f"error: {folder} row 1: entity_spans.entities: ") and message in error


def test_the_other_shape_is_named_with_an_example_row(gonerd_cards: Path, tmp_path: Path) -> None:
    card = tmp_path / "wrong.yaml"
    card.write_text(f"extends: {REPO / 'tasks' / 'gonerd' / 'gonerd.yaml'}\nsource: {{dir: spans}}\n", encoding="utf-8")
    errors = one_line_errors(invoke("validate", card, "--data-dir", GONERD))
    assert errors[0].startswith(f"error: {GONERD / 'spans'}: fields.tokens: column 'tokens' (fields.tokens) not found; "
                                "the file has ['id', 'text', 'entities']; first row: {\"id\": ")


def test_gonerd_trains_and_evaluates_whole_documents_through_windows(tiny_model: Path, gonerd_cards: Path,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(gonerd_cards)
    shown = invoke("show", "gonerd/spans", "--data-dir", GONERD, "--model", tiny_model, "--max-length", "32", "--json")
    assert shown.exit_code == 0, shown.output
    lengths = json.loads(shown.stdout)["lengths"]
    assert lengths["test"]["over_window"] == 3 and lengths["test"]["min"] > 4 * 32  # every document, 4x and more
    out = tmp_path / "out"
    result = invoke("run", "gonerd", "--data-dir", GONERD, "--model", tiny_model, "--set", "epochs=1",
                    "--set", "max_length=32", "--set", "window_stride=8", "--set", "bootstrap_resamples=0",
                    "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    for path in out.glob("runs/**/record.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["recipe"]["max_length"] == 32 and set(record["results"]) == {"test"}
        predicted = [json.loads(line)["prediction"]
                     for line in (path.parent / "predictions" / "test.jsonl").read_text().splitlines()]
        words = [len(json.loads(line)["tokens"]) for line in (GONERD / "tokens" / "test.jsonl").read_text().splitlines()]
        assert [len(p) for p in predicted] == words  # whole documents, one tag per word
        assert set(t for p in predicted for t in p) <= set(load_task_card(REPO / "tasks/gonerd/gonerd.yaml").labels.names)
    assert len(list(out.glob("runs/**/record.json"))) == 2
