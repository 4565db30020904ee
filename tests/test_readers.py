"""Every reader (tsv, csv, jsonl, json, conll, parquet, hub) against real format samples and hand-built files.

Expected values are computed here independently of benchkit (plain ``json``/``str.split`` over the same bytes),
so a reader that drops, merges, renumbers or re-types a row fails. Cards are YAML written into ``tmp_path``.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from benchkit.cards.loader import load_task_card
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError
from benchkit.loading import read_split
from benchkit.validation.frames import load_frames, load_task_data

REPO = Path(__file__).resolve().parents[1]
# The shared data folder beside the checkout (or at /work/shared/data): real GLUE files and other suites' samples.
SHARED = next((p for p in (REPO.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
              Path("/work/shared/data"))
GLUE = SHARED / "glue"
SUPERGLUE = SHARED / "superglue" / "_format_samples"
KLEJ = SHARED / "klej" / "_format_samples"
CONLL = SHARED / "conll2003" / "_format_samples"
ADVGLUE = SHARED / "advglue" / "_format_samples"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="the shared data folder is not on this machine")

COMMON = """\
id: test/task
version: 1.0.0
name: Test task
description: A card written by the reader tests.
license: test
citation: test
homepage: https://example.org/
"""

CONLL_TAGS = "[O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC, B-MISC, I-MISC]"


def card_from(tmp_path: Path, body: str, *, common: bool = True, name: str = "card.yaml",
              language: str = "eng-Latn") -> TaskCard:
    path = tmp_path / name
    head = f"{COMMON}language: {language}\n" if common else ""
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return load_task_card(path)


def records(frame, columns: list[str]) -> list[dict]:
    return [dict(zip(columns, row)) for row in zip(*(list(frame[c]) for c in columns))]


# ---------------------------------------------------------------------------------------------------------------
# tsv


TSV_CARD = """\
type: single_text_classification
source:
  format: tsv
  dir: data
  read: {header: true}
fields: {text: sentence, label: label}
labels: {names: [negative, positive], map: {0: negative, 1: positive}}
splits:
  train: {file: train.tsv}
metrics: [accuracy]
primary_metric: accuracy
"""


def test_tsv_header_bom_crlf_quotes_null_strings_and_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    lines = [
        "\ufeffsentence\tlabel",  # 1: header with a UTF-8 BOM
        "null\t1",  # 2
        "",  # 3: blank, skipped
        "NA\t0",  # 4
        'say "hi\t1',  # 5: an unbalanced quote stays inside its field
        "nan\t0",  # 6
        "",  # 7
        "",  # 8
        '"\t1',  # 9: a field that is only a quote
        "None\t0",  # 10
    ]
    (tmp_path / "data" / "train.tsv").write_bytes("\r\n".join(lines).encode("utf-8") + b"\r\n")
    card = card_from(tmp_path, TSV_CARD)

    table = read_split(card, "train", tmp_path)
    assert list(table.frame.columns) == ["sentence", "label"]  # no '\ufeffsentence'
    assert table.locations == [2, 4, 5, 6, 9, 10]
    assert table.location_kind == "line"
    assert table.problems == []
    expected = [("null", "1"), ("NA", "0"), ('say "hi', "1"), ("nan", "0"), ('"', "1"), ("None", "0")]
    assert records(table.frame, ["sentence", "label"]) == [{"sentence": s, "label": lab} for s, lab in expected]
    assert all(type(v) is str for v in table.frame["sentence"])  # not NaN / None
    assert not any("\r" in v for column in ("sentence", "label") for v in table.frame[column])

    frame = load_frames(card, tmp_path)["train"]
    assert list(frame["id"]) == ["0", "1", "2", "3", "4", "5"]
    assert list(frame["text"]) == [s for s, _ in expected]
    assert list(frame["label"]) == ["positive", "negative", "positive", "negative", "positive", "negative"]
    assert list(frame["_location"]) == [2, 4, 5, 6, 9, 10]

    data = load_task_data(card, tmp_path)
    assert data["train"].features["label"].names == ["negative", "positive"]
    assert data["train"]["text"][:4] == ["null", "NA", 'say "hi', "nan"]
    assert data["train"]["label"] == [1, 0, 1, 0, 1, 0]


def test_tsv_quoting_minimal_would_merge_what_quoting_none_keeps(tmp_path: Path) -> None:
    """The same bytes under quoting 'minimal' read differently: proves the default 'none' is in effect."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.tsv").write_text('sentence\tlabel\n"a\t1\nb"\t0\nc\t1\n', encoding="utf-8")
    card = card_from(tmp_path, TSV_CARD)
    table = read_split(card, "train", tmp_path)
    assert records(table.frame, ["sentence", "label"]) == [
        {"sentence": '"a', "label": "1"}, {"sentence": 'b"', "label": "0"}, {"sentence": "c", "label": "1"}]
    assert table.locations == [2, 3, 4]

    minimal = card_from(tmp_path, TSV_CARD.replace("read: {header: true}", "read: {header: true, quoting: minimal}"),
                        name="minimal.yaml")
    table = read_split(minimal, "train", tmp_path)
    assert records(table.frame, ["sentence", "label"]) == [
        {"sentence": "a\t1\nb", "label": "0"}, {"sentence": "c", "label": "1"}]
    assert table.locations == [2, 4]  # the quoted record starts on line 2 and spans line 3


def test_tsv_without_header_uses_explicit_columns(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.tsv").write_text("1\tfirst\n\n0\tsecond\n", encoding="utf-8")
    body = TSV_CARD.replace("read: {header: true}", "read: {header: false, columns: [label, sentence]}")
    card = card_from(tmp_path, body)
    table = read_split(card, "train", tmp_path)
    assert list(table.frame.columns) == ["label", "sentence"]
    assert records(table.frame, ["label", "sentence"]) == [
        {"label": "1", "sentence": "first"}, {"label": "0", "sentence": "second"}]
    assert table.locations == [1, 3]  # the first line is data, not a header


def test_tsv_skip_blank_lines_false_reports_the_blank_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.tsv").write_text("sentence\tlabel\na\t1\n\nb\t0\n", encoding="utf-8")
    body = TSV_CARD.replace("read: {header: true}", "read: {header: true, skip_blank_lines: false}")
    card = card_from(tmp_path, body)
    table = read_split(card, "train", tmp_path)
    assert table.locations == [2, 4]
    assert [p.format() for p in table.problems] == [
        f"{tmp_path}/data/train.tsv:3: ragged row: expected 2 fields, found 0 (hint: fields are separated by a tab "
        "with quoting 'none'; a stray separator or quote splits or merges fields)"]


@needs_shared
def test_tsv_real_mrpc_bom_and_unbalanced_quote() -> None:
    card = load_task_card(REPO / "tasks" / "glue" / "mrpc.yaml")
    raw = (GLUE / "MRPC" / "dev.tsv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").split("\n")
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:] if line]

    table = read_split(card, "dev", GLUE)
    assert list(table.frame.columns) == header and header[0] == "Quality"
    assert len(table.frame) == 408 == len(rows)
    assert table.locations == list(range(2, 410))
    assert [list(r) for r in table.frame.itertuples(index=False)] == rows
    # line 2 holds a lone '"' at the start of '#2 String': one field, not the start of a multi-line field
    assert table.frame.iloc[0]["#2 String"] == rows[0][4] and rows[0][4].startswith('"The foodservice')

    frame = load_frames(card, GLUE, ["dev"])["dev"]
    assert Counter(frame["label"]) == Counter("equivalent" if r[0] == "1" else "not_equivalent" for r in rows)


@needs_shared
def test_tsv_real_cola_without_header() -> None:
    card = load_task_card(REPO / "tasks" / "glue" / "cola.yaml")
    lines = (GLUE / "CoLA" / "dev.tsv").read_text(encoding="utf-8").split("\n")
    rows = [line.split("\t") for line in lines if line]
    frame = load_frames(card, GLUE, ["dev"])["dev"]
    assert len(frame) == 1043 == len(rows)
    assert frame.iloc[0]["text"] == "The sailors rode the breeze clear of the rocks."
    assert list(frame["text"]) == [r[3] for r in rows]
    assert list(frame["label"]) == ["acceptable" if r[1] == "1" else "unacceptable" for r in rows]
    assert list(frame["_location"]) == [i + 1 for i, line in enumerate(lines) if line]
    assert list(frame["id"]) == [str(i) for i in range(1043)]


@needs_shared
def test_tsv_klej_nkjp_ner_with_header(tmp_path: Path) -> None:
    path = KLEJ / "NKJP-NER.dev.first20.tsv"
    lines = path.read_text(encoding="utf-8").split("\n")
    rows = [line.split("\t") for line in lines[1:] if line]
    assert lines[0] == "sentence\ttarget" and len(rows) == 20
    card = card_from(tmp_path, f"""\
        type: single_text_classification
        source: {{format: tsv, dir: .}}
        fields: {{text: sentence, label: target}}
        labels: {{names: [noEntity, orgName, persName, placeName, geogName, time]}}
        splits:
          dev: {{file: {path.name}, rows: 20}}
        metrics: [accuracy]
        primary_metric: accuracy
        """, language="pol-Latn")
    frame = load_frames(card, path.parent)["dev"]
    assert list(frame["text"]) == [r[0] for r in rows]
    assert list(frame["label"]) == [r[1] for r in rows]
    assert Counter(frame["label"]) == {"persName": 7, "placeName": 5, "orgName": 4, "time": 2, "noEntity": 2}
    assert list(frame["_location"]) == list(range(2, 22))
    assert frame.iloc[0]["text"].startswith("Z zasady podczas terapii w Głoskowie")  # decoded as UTF-8


@needs_shared
def test_tsv_klej_ar_without_header_regression(tmp_path: Path) -> None:
    path = KLEJ / "AR.dev.noheader.first2.tsv"
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n") if line]
    card = card_from(tmp_path, f"""\
        type: regression
        source:
          format: tsv
          dir: .
          read: {{header: false, columns: [text, rating]}}
        fields: {{text: text, label: rating}}
        value_range: [1.0, 5.0]
        splits:
          dev: {{file: {path.name}, rows: 2}}
        metrics: [klej_ar_score]
        primary_metric: klej_ar_score
        """, language="pol-Latn")
    frame = load_frames(card, path.parent)["dev"]
    assert list(frame["label"]) == [3.0, 4.0] == [float(r[1]) for r in rows]
    assert list(frame["text"]) == [r[0] for r in rows]
    assert list(frame["_location"]) == [1, 2]
    data = load_task_data(card, path.parent)
    assert data["dev"].features["label"].dtype == "float32"
    assert data["dev"]["label"] == [3.0, 4.0]


# ---------------------------------------------------------------------------------------------------------------
# csv


def test_csv_rfc4180_quotes_and_embedded_newline(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_bytes(
        b'sentence,label\r\n"a, b",1\r\n"multi\r\nline ""quoted""",0\r\n\r\nplain,1\r\n"",0\r\n')
    card = card_from(tmp_path, TSV_CARD.replace("format: tsv", "format: csv").replace("train.tsv", "train.csv"))
    table = read_split(card, "train", tmp_path)
    assert records(table.frame, ["sentence", "label"]) == [
        {"sentence": "a, b", "label": "1"},
        {"sentence": 'multi\r\nline "quoted"', "label": "0"},
        {"sentence": "plain", "label": "1"},
        {"sentence": "", "label": "0"},
    ]
    assert table.locations == [2, 3, 6, 7]  # the record starts on line 3 and ends on line 4


# ---------------------------------------------------------------------------------------------------------------
# jsonl


def _jsonl(path: Path) -> list[tuple[int, dict]]:
    return [(number, json.loads(line)) for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1)
            if line.strip()]


@needs_shared
@pytest.mark.parametrize("labels", ['{names: ["false", "true"]}',
                                    '{names: ["no", "yes"], map: {"false": "no", "true": "yes"}}',
                                    '{names: ["no", "yes"], map: {false: "no", true: "yes"}}'])
def test_jsonl_superglue_boolq_boolean_labels(tmp_path: Path, labels: str) -> None:
    rows = _jsonl(SUPERGLUE / "BoolQ.val.first20.jsonl")
    assert len(rows) == 20 and all(isinstance(obj["label"], bool) for _, obj in rows)
    card = card_from(tmp_path, f"""\
        type: text_pair_classification
        source: {{format: jsonl, dir: .}}
        fields: {{id: idx, text: question, text_pair: passage, label: label}}
        labels: {labels}
        splits:
          dev: {{file: BoolQ.val.first20.jsonl, rows: 20}}
        metrics: [accuracy]
        primary_metric: accuracy
        """)
    names = card.labels.names
    frame = load_frames(card, SUPERGLUE)["dev"]
    assert list(frame["id"]) == [str(obj["idx"]) for _, obj in rows]
    assert list(frame["text"]) == [obj["question"] for _, obj in rows]
    assert list(frame["text_pair"]) == [obj["passage"] for _, obj in rows]
    assert list(frame["label"]) == [names[1] if obj["label"] else names[0] for _, obj in rows]
    assert list(frame["_location"]) == [n for n, _ in rows] == list(range(1, 21))
    data = load_task_data(card, SUPERGLUE)
    assert data["dev"].features["label"].names == names
    assert data["dev"]["label"] == [int(obj["label"]) for _, obj in rows]


@needs_shared
def test_jsonl_superglue_wsc_nested_objects_flatten_to_dotted_columns(tmp_path: Path) -> None:
    ((_, obj),) = _jsonl(SUPERGLUE / "WSC.val.first1.jsonl")
    card = card_from(tmp_path, f"""\
        type: text_pair_classification
        source: {{format: jsonl, dir: .}}
        fields: {{id: idx, text: target.span1_text, text_pair: target.span2_text, label: label}}
        labels: {{names: [different, same], map: {{"false": different, "true": same}}}}
        splits:
          dev: {{file: WSC.val.first1.jsonl}}
        metrics: [accuracy]
        primary_metric: accuracy
        """)
    table = read_split(card, "dev", SUPERGLUE)
    assert sorted(table.frame.columns) == sorted(
        ["text", "idx", "label", "target.span1_index", "target.span2_index", "target.span1_text", "target.span2_text"])
    assert table.frame.iloc[0]["target.span2_index"] == obj["target"]["span2_index"] == 47
    frame = load_frames(card, SUPERGLUE)["dev"]
    assert records(frame, ["id", "text", "text_pair", "label"]) == [
        {"id": "0", "text": "anyone", "text_pair": "him", "label": "different"}]


@needs_shared
def test_jsonl_superglue_copa_integer_labels_and_cb_string_labels(tmp_path: Path) -> None:
    ((_, copa),) = _jsonl(SUPERGLUE / "COPA.val.first1.jsonl")
    card = card_from(tmp_path, f"""\
        type: multiple_choice
        source: {{format: jsonl, dir: .}}
        fields: {{id: idx, context: premise, question: question, choices: [choice1, choice2], label: label}}
        labels: {{names: [choice1, choice2], map: {{"0": choice1, "1": choice2}}}}
        splits:
          dev: {{file: COPA.val.first1.jsonl}}
        metrics: [accuracy]
        primary_metric: accuracy
        """)
    frame = load_frames(card, SUPERGLUE)["dev"]
    assert copa["label"] == 1
    assert records(frame, ["context", "question", "choices", "label"]) == [
        {"context": copa["premise"], "question": "effect", "choices": [copa["choice1"], copa["choice2"]],
         "label": "choice2"}]

    ((_, cb),) = _jsonl(SUPERGLUE / "CB.val.first1.jsonl")
    card = card_from(tmp_path, f"""\
        type: text_pair_classification
        source: {{format: jsonl, dir: .}}
        fields: {{id: idx, text: premise, text_pair: hypothesis, label: label}}
        labels: {{names: [entailment, contradiction, neutral]}}
        splits:
          dev: {{file: CB.val.first1.jsonl}}
        metrics: [accuracy]
        primary_metric: accuracy
        """, name="cb.yaml")
    frame = load_frames(card, SUPERGLUE)["dev"]
    assert records(frame, ["text", "text_pair", "label"]) == [
        {"text": cb["premise"], "text_pair": "Valence was helping", "label": "contradiction"}]


def test_jsonl_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text(
        '{"s": "a", "y": 0}\n\n  \n{"s": "b", "y": 1}\r\n{"s": "null", "y": 0}\n', encoding="utf-8")
    card = card_from(tmp_path, """\
        type: single_text_classification
        source: {format: jsonl, dir: data}
        fields: {text: s, label: y}
        labels: {names: [neg, pos], map: {0: neg, 1: pos}}
        splits:
          train: {file: train.jsonl}
        metrics: [accuracy]
        primary_metric: accuracy
        """)
    frame = load_frames(card, tmp_path)["train"]
    assert records(frame, ["text", "label", "_location"]) == [
        {"text": "a", "label": "neg", "_location": 1}, {"text": "b", "label": "pos", "_location": 4},
        {"text": "null", "label": "neg", "_location": 5}]


# ---------------------------------------------------------------------------------------------------------------
# json


ADV_CARD = """\
type: single_text_classification
source:
  format: json
  dir: {dir}
  read: {{records_path: {records_path}}}
fields: {{id: idx, text: sentence, label: label}}
labels: {{names: [negative, positive], map: {{0: negative, 1: positive}}}}
splits:
  dev: {{file: dev.sample.json, rows: 20}}
metrics: [accuracy]
primary_metric: accuracy
"""


@needs_shared
def test_json_advglue_records_path(tmp_path: Path) -> None:
    entries = json.loads((ADVGLUE / "dev.sample.json").read_text(encoding="utf-8"))["sst2"]
    assert len(entries) == 20
    card = card_from(tmp_path, ADV_CARD.format(dir=".", records_path="sst2"))
    table = read_split(card, "dev", ADVGLUE)
    assert table.location_kind == "record"
    assert table.locations == list(range(20))
    frame = load_frames(card, ADVGLUE)["dev"]
    assert list(frame["id"]) == [str(e["idx"]) for e in entries]
    assert list(frame["text"]) == [e["sentence"] for e in entries]
    assert list(frame["label"]) == [["negative", "positive"][e["label"]] for e in entries]


@needs_shared
def test_json_records_path_names_a_missing_key(tmp_path: Path) -> None:
    card = card_from(tmp_path, ADV_CARD.format(dir=".", records_path="sst-2"))
    with pytest.raises(BenchkitError) as err:
        load_frames(card, ADVGLUE)
    assert [p.format() for p in err.value.problems] == [
        f"{ADVGLUE}/dev.sample.json: read.records_path: records_path 'sst-2': no key 'sst-2' (found ['mnli', "
        "'mnli-mm', 'qnli', 'qqp', 'rte', 'sst2']) (hint: name the key that holds the list of records)"]


def test_json_nested_records_path_and_record_numbers(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dev.sample.json").write_text(json.dumps(
        {"data": {"sst2": [{"idx": 7, "sentence": "x", "label": 1}, {"idx": 9, "sentence": "y", "label": 0}]}}))
    card = card_from(tmp_path, ADV_CARD.format(dir="data", records_path="data.sst2").replace("rows: 20", "rows: 2"))
    frame = load_frames(card, tmp_path)["dev"]
    assert records(frame, ["id", "text", "label", "_location"]) == [
        {"id": "7", "text": "x", "label": "positive", "_location": 0},
        {"id": "9", "text": "y", "label": "negative", "_location": 1}]


# ---------------------------------------------------------------------------------------------------------------
# conll


def _conll_sentences(path: Path, column: int = -1) -> list[tuple[int, list[str], list[str]]]:
    """Independent parse: (start line, tokens, tags) per blank-line separated block, -DOCSTART- dropped."""
    out: list[tuple[int, list[str], list[str]]] = []
    current: list[tuple[int, list[str]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n") + [""], start=1):
        if line.strip() and not line.startswith("-DOCSTART-"):
            current.append((number, line.split()))
        elif current:
            out.append((current[0][0], [c[0] for _, c in current], [c[column] for _, c in current]))
            current = []
    return out


CONLL_CARD = """\
type: token_classification
source:
  format: conll
  dir: {dir}
  read: {{token_column: 0, tag_column: -1}}
fields: {{tokens: tokens, tags: tags}}
labels: {{names: {tags}, scheme: {scheme}}}
splits:
  dev: {{file: {file}, rows: 3}}
metrics: [seqeval_f1]
primary_metric: seqeval_f1
"""


def conll_card(tmp_path: Path, file: str, scheme: str, *, tags: str = CONLL_TAGS, tag_column: int = -1,
               name: str = "card.yaml") -> TaskCard:
    body = CONLL_CARD.format(dir=".", tags=tags, scheme=scheme, file=file)
    return card_from(tmp_path, body.replace("tag_column: -1", f"tag_column: {tag_column}"), name=name)


@needs_shared
@pytest.mark.parametrize(("file", "scheme", "starts"), [("eng.testa.first20lines.txt", "IOB1", [1, 13, 16]),
                                                        ("valid.first20lines.txt", "IOB2", [3, 15, 18])])
def test_conll2003_iob1_and_iob2(tmp_path: Path, file: str, scheme: str, starts: list[int]) -> None:
    expected = _conll_sentences(CONLL / file)
    assert [s for s, _, _ in expected] == starts
    card = conll_card(tmp_path, file, scheme)
    table = read_split(card, "dev", CONLL)
    assert list(table.frame.columns) == ["tokens", "tags", "document", "@lines", "sentences"]
    assert table.locations == starts
    assert list(table.frame["document"]) == [0, 0, 0]  # one document: a -DOCSTART- at the top, or none
    assert [lines[0] for lines in table.frame["@lines"]] == starts  # each token's own line
    frame = load_frames(card, CONLL)["dev"]
    assert list(frame["tokens"]) == [tokens for _, tokens, _ in expected]
    assert list(frame["tags"]) == [tags for _, _, tags in expected]
    assert "-DOCSTART-" not in [t for tokens in frame["tokens"] for t in tokens]
    assert frame.iloc[0]["tokens"][:3] == ["CRICKET", "-", "LEICESTERSHIRE"]
    assert frame.iloc[0]["tags"][2] == ("I-ORG" if scheme == "IOB1" else "B-ORG")
    data = load_task_data(card, CONLL)
    names = data["dev"].features["tags"].feature.names
    assert [[names[i] for i in seq] for seq in data["dev"]["tags"]] == [tags for _, _, tags in expected]


@needs_shared
def test_conll_tag_column_picks_the_column(tmp_path: Path) -> None:
    """tag_column 2 reads the chunk tags instead of the NER tags (and 3 is the same as -1)."""
    file = "valid.first20lines.txt"
    chunk_card = conll_card(tmp_path, file, "IOB2", tags="[O, B-NP, I-NP, B-PP, I-PP, B-VP, I-VP]", tag_column=2)
    frame = load_frames(chunk_card, CONLL)["dev"]
    assert list(frame["tags"]) == [tags for _, _, tags in _conll_sentences(CONLL / file, column=2)]
    assert frame.iloc[0]["tags"][:3] == ["B-NP", "O", "B-NP"]
    ner_card = conll_card(tmp_path, file, "IOB2", tag_column=3, name="ner.yaml")
    frame = load_frames(ner_card, CONLL)["dev"]
    assert list(frame["tags"]) == [tags for _, _, tags in _conll_sentences(CONLL / file)]


# ---------------------------------------------------------------------------------------------------------------
# parquet


def test_parquet_written_with_pandas(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "data").mkdir()
    pd.DataFrame({"uid": ["a1", "a2", "a3"], "sentence": ["good", "null", "bad"], "label": [1, 1, 0]}).to_parquet(
        tmp_path / "data" / "train.parquet")
    card = card_from(tmp_path, """\
        type: single_text_classification
        source: {format: parquet, dir: data}
        fields: {id: uid, text: sentence, label: label}
        labels: {names: [negative, positive], map: {0: negative, 1: positive}}
        splits:
          train: {file: train.parquet, rows: 3}
        metrics: [accuracy]
        primary_metric: accuracy
        """)
    table = read_split(card, "train", tmp_path)
    assert table.location_kind == "row" and table.locations == [0, 1, 2]
    frame = load_frames(card, tmp_path)["train"]
    assert records(frame, ["id", "text", "label"]) == [
        {"id": "a1", "text": "good", "label": "positive"}, {"id": "a2", "text": "null", "label": "positive"},
        {"id": "a3", "text": "bad", "label": "negative"}]


def test_parquet_list_columns_become_python_lists(tmp_path: Path) -> None:
    import pandas as pd

    (tmp_path / "data").mkdir()
    pd.DataFrame({"tokens": [["EU", "rejects"], ["Peter"]], "ner": [["B-ORG", "O"], ["B-PER"]]}).to_parquet(
        tmp_path / "data" / "dev.parquet")
    card = card_from(tmp_path, f"""\
        type: token_classification
        source: {{format: parquet, dir: data}}
        fields: {{tokens: tokens, tags: ner}}
        labels: {{names: {CONLL_TAGS}, scheme: IOB2}}
        splits:
          dev: {{file: dev.parquet}}
        metrics: [seqeval_f1]
        primary_metric: seqeval_f1
        """)
    frame = load_frames(card, tmp_path)["dev"]
    assert records(frame, ["tokens", "tags"]) == [
        {"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}, {"tokens": ["Peter"], "tags": ["B-PER"]}]
    assert all(type(v) is list for v in frame["tokens"])


# ---------------------------------------------------------------------------------------------------------------
# hub (a local dataset folder, offline)


@pytest.fixture
def local_hub_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # datasets reads these at import time: keep the current process offline and its cache in tmp_path too
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    features = datasets.Features({"idx": datasets.Value("int32"), "sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    folder = tmp_path / "my-dataset"
    splits = {"train": {"idx": [0, 1, 2], "sentence": ["good", "bad", "fine"], "label": [1, 0, 1]},
              "validation": {"idx": [10, 11], "sentence": ["nice", "awful"], "label": [1, 0]},
              "test": {"idx": [20, 21], "sentence": ["hm", "meh"], "label": [-1, -1]}}
    for split, columns in splits.items():
        datasets.Dataset.from_dict(columns, features=features).to_parquet(
            str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    return folder


HUB_CARD = """\
type: single_text_classification
source: {{format: hub, repo: {repo}, revision: 0123456789abcdef0123456789abcdef01234567}}
fields: {{id: idx, text: sentence, label: label}}
labels: {{names: [negative, positive], map: {{neg: negative, pos: positive}}}}
splits:
  train: {{hf_split: train, rows: 3}}
  dev: {{hf_split: validation, rows: 2}}
  test: {{hf_split: test, labels: hidden, rows: 2}}
metrics: [accuracy]
primary_metric: accuracy
"""


def test_hub_local_folder_classlabel_ints_become_strings(tmp_path: Path, local_hub_dataset: Path) -> None:
    card = card_from(tmp_path, HUB_CARD.format(repo=local_hub_dataset))
    table = read_split(card, "dev", tmp_path)
    assert table.source == str(local_hub_dataset)  # a local folder is named as itself
    assert table.location_kind == "row" and table.locations == [0, 1]
    assert list(table.frame["label"]) == ["pos", "neg"]  # the ClassLabel's own strings, not 1/0
    assert list(read_split(card, "test", tmp_path).frame["label"]) == [None, None]  # -1 = hidden

    frames = load_frames(card, tmp_path)
    assert records(frames["train"], ["id", "text", "label"]) == [
        {"id": "0", "text": "good", "label": "positive"}, {"id": "1", "text": "bad", "label": "negative"},
        {"id": "2", "text": "fine", "label": "positive"}]
    assert list(frames["dev"]["label"]) == ["positive", "negative"]
    assert list(frames["test"]["id"]) == ["20", "21"]

    data = load_task_data(card, tmp_path)
    assert data["dev"].features["label"].names == ["negative", "positive"]
    assert data["dev"]["label"] == [1, 0]
    assert data["test"]["label"] == [-1, -1]


def test_hub_unknown_split_is_a_user_error(tmp_path: Path, local_hub_dataset: Path) -> None:
    card = card_from(tmp_path, HUB_CARD.format(repo=local_hub_dataset).replace("hf_split: validation", "hf_split: dev"))
    with pytest.raises(BenchkitError) as err:
        load_frames(card, tmp_path, ["dev"])
    (problem,) = err.value.problems
    assert problem.file == str(local_hub_dataset)
    assert problem.format().startswith(f"{problem.file}: cannot load split 'dev': ")
    assert problem.hint == "check the split name in the card"


# ---------------------------------------------------------------------------------------------------------------
# derived splits


@needs_shared
def test_derived_split_is_deterministic_stratified_and_disjoint(tmp_path: Path) -> None:
    def derived(seed: int, name: str) -> dict:
        card = card_from(tmp_path, f"""\
            extends: {REPO / "tasks" / "glue" / "cola.yaml"}
            splits:
              dev: {{file: null, rows: null, derive: {{from: train, fraction: 0.1, stratify: true, seed: {seed}}}}}
            """, common=False, name=name)
        assert card.splits["dev"].derive is not None and card.splits["train"].rows == 8551
        return load_frames(card, GLUE, ["train", "dev"])

    lines = (GLUE / "CoLA" / "train.tsv").read_text(encoding="utf-8").split("\n")
    rows = [line.split("\t") for line in lines if line]
    first, again, other = derived(7, "a.yaml"), derived(7, "b.yaml"), derived(8, "c.yaml")

    train_ids, dev_ids = list(first["train"]["id"]), list(first["dev"]["id"])
    assert dev_ids == list(again["dev"]["id"]) and train_ids == list(again["train"]["id"])  # same seed, same split
    assert set(dev_ids) != set(other["dev"]["id"])  # another seed, another split
    assert not set(dev_ids) & set(train_ids)
    assert sorted(map(int, dev_ids + train_ids)) == list(range(len(rows)))  # nothing lost, nothing twice

    # ids are 0-based row indices into the parent file, and each row keeps its own text, label and line
    for frame in (first["dev"], first["train"]):
        for id_, text, label, location in zip(frame["id"], frame["text"], frame["label"], frame["_location"]):
            row = rows[int(id_)]
            assert (text, label, location) == (row[3], "acceptable" if row[1] == "1" else "unacceptable", int(id_) + 1)

    # stratified: each class contributes round(fraction * its size)
    sizes = Counter("acceptable" if r[1] == "1" else "unacceptable" for r in rows)
    assert Counter(first["dev"]["label"]) == {label: round(0.1 * n) for label, n in sizes.items()}
    assert len(first["dev"]) + len(first["train"]) == 8551

    data = load_task_data(load_task_card(tmp_path / "a.yaml"), GLUE, ["dev"])
    assert list(data) == ["dev"] and data["dev"].features["label"].names == ["unacceptable", "acceptable"]
    assert data["dev"]["id"] == dev_ids


def test_derived_split_without_stratify_takes_the_fraction(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    lines = ["sentence\tlabel"] + [f"s{i}\t{int(i < 90)}" for i in range(100)]
    (tmp_path / "data" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    derive = "  dev: {derive: {from: train, fraction: 0.2, stratify: false}}"
    body = TSV_CARD.replace("  train: {file: train.tsv}", "  train: {file: train.tsv}\n" + derive)
    frames = load_frames(card_from(tmp_path, body), tmp_path)
    assert len(frames["dev"]) == 20 and len(frames["train"]) == 80
    assert all(text == f"s{id_}" for id_, text in zip(frames["dev"]["id"], frames["dev"]["text"]))
    stratified = load_frames(card_from(tmp_path, body.replace("stratify: false", "stratify: true"), name="s.yaml"),
                             tmp_path)
    assert Counter(stratified["dev"]["label"]) == {"positive": 18, "negative": 2}


def test_unnest_serves_any_nested_json_not_only_superglue(tmp_path: Path) -> None:
    """A SQuAD-shaped JSON file (data -> paragraphs -> qas) with its boolean 'is_impossible' as the label: the same
    card mechanism unfolds it into one row per question that keeps its article title and paragraph context."""
    data = {"version": "v2.0", "data": [
        {"title": "Warsaw", "paragraphs": [
            {"context": "Warsaw is the capital of Poland.", "qas": [
                {"id": "q1", "question": "What is the capital of Poland?", "is_impossible": False},
                {"id": "q2", "question": "What is the capital of Mars?", "is_impossible": True}]},
            {"context": "The Vistula flows through Warsaw.", "qas": [
                {"id": "q3", "question": "Which river flows through Warsaw?", "is_impossible": False}]}]},
        {"title": "Kraków", "paragraphs": [
            {"context": "Kraków lies on the Vistula.", "qas": [
                {"id": "q4", "question": "Who founded Kraków in 1990?", "is_impossible": True}]}]}]}
    (tmp_path / "dev.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    card = card_from(tmp_path, f"""\
        type: text_pair_classification
        source:
          format: json
          dir: .
          read:
            records_path: data
            unnest: [{{path: paragraphs, as: paragraph}}, {{path: paragraph.qas, as: qa}}]
        fields: {{id: qa.id, text: qa.question, label: qa.is_impossible}}
        inputs:
          text_pair: {{template: "{{title}}: {{paragraph.context}}"}}
        labels: {{names: [answerable, unanswerable], map: {{"false": answerable, "true": unanswerable}}}}
        splits:
          dev: {{file: dev.json, rows: 4}}
        metrics: [accuracy]
        primary_metric: accuracy
        """)
    frame = load_frames(card, tmp_path)["dev"]
    assert records(frame, ["id", "text_pair", "label"]) == [
        {"id": "q1", "text_pair": "Warsaw: Warsaw is the capital of Poland.", "label": "answerable"},
        {"id": "q2", "text_pair": "Warsaw: Warsaw is the capital of Poland.", "label": "unanswerable"},
        {"id": "q3", "text_pair": "Warsaw: The Vistula flows through Warsaw.", "label": "answerable"},
        {"id": "q4", "text_pair": "Kraków: Kraków lies on the Vistula.", "label": "unanswerable"}]
    assert list(frame["_location"]) == [0, 0, 0, 1]  # the record (article) each row came from
