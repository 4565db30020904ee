"""Generated answers read back as targets (benchkit.train.answers): labels, numbers, expected values, entities."""

from __future__ import annotations

import json
import math

import pytest

from benchkit.train.answers import (
    ParseStats,
    entities_json,
    expected_value,
    parse_entities,
    parse_label,
    parse_number,
    read_entities,
    spans,
)
from benchkit.validation.tag_scheme import CHECKS

SST2 = {"negative": "negative", "positive": "positive"}  # tasks/glue/sst2.yaml's verbalisers
RTE = {"entailment": "yes", "not_entailment": "no"}
MNLI = {"entailment": "entailment", "neutral": "neutral", "contradiction": "contradiction"}
QNLI = {"entailment": "entailment", "not_entailment": "not entailment"}


# -- labels ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, label, how", [
    ("positive", "positive", "exact"),
    (" positive\n\nThe review praises the film.", "positive", "exact"),  # cut at the first line
    (" Positive.", "positive", "normalised"),
    ('"NEGATIVE"', "negative", "normalised"),
    ("**negative**", "negative", "normalised"),
    ("The answer is negative", "negative", "edit_distance"),
    ("negative, because the reviewer hated it", "negative", "edit_distance"),
    ("posittive", "positive", "edit_distance"),
    ("", None, "unparsed"),
    ("  \n ", None, "unparsed"),
    ("...", None, "unparsed"),
])
def test_parse_label(text, label, how):
    parsed = parse_label(text, SST2)
    assert (parsed.value, parsed.how) == (label, how)


def test_parse_label_rules():
    assert parse_label("The answer is negative", SST2).distance == 0
    assert parse_label("posittive", SST2).distance == 1
    assert parse_label("Yes.", RTE).value == "entailment"
    assert parse_label("no", RTE).how == "exact"
    # the verbaliser the answer starts with wins over one found later
    assert parse_label("neutral, not a contradiction", MNLI).value == "neutral"
    # at one position the verbaliser with more words wins: "not entailment" over "entailment"
    assert parse_label("not entailment, the second sentence", QNLI).value == "not_entailment"
    assert parse_label("entailment, clearly", QNLI).value == "entailment"
    # ties go to the label listed first
    assert parse_label("xyz", {"a": "abc", "b": "abd"}).value == "a"
    assert parse_label("xyz", {"b": "abd", "a": "abc"}).value == "b"


def test_parse_stats():
    stats = ParseStats().update(parse_label(t, SST2) for t in ["positive", " Positive.", "posittive", "", "negative"])
    assert stats.total == 5
    assert stats.counts["exact"] == 2 and stats.counts["unparsed"] == 1
    assert stats.fallback_share == pytest.approx(2 / 5)
    assert stats.as_dict()["edit_distance"] == 1
    assert ParseStats().fallback_share == 0.0
    with pytest.raises(ValueError):
        stats.add("guessed")


# -- numbers --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value, how", [
    ("3.8", 3.8, "exact"),
    (" 4\n", 4.0, "exact"),
    ("about 4", 4.0, "normalised"),
    ("2,5", 2.5, "exact"),  # Polish decimal comma
    ("Ocena: 2,5.", 2.5, "normalised"),
    ("-1.5", -1.5, "exact"),
    ("The score is −2", -2.0, "normalised"),
    ("3.8 out of 5", 3.8, "normalised"),
    ("COVID-19 cases", 19.0, "normalised"),  # a hyphen inside a word is no minus
    ("none", None, "unparsed"),
    ("", None, "unparsed"),
])
def test_parse_number(text, value, how):
    parsed = parse_number(text)
    assert parsed.how == how
    assert parsed.value == (None if value is None else pytest.approx(value))


def test_expected_value():
    numbers = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert expected_value([math.log(1 / 6)] * 6, numbers) == pytest.approx(2.5)
    assert expected_value([0.0, -math.inf, -math.inf, -math.inf, -math.inf, -math.inf], numbers) == 0.0
    logprobs = [-1000.0, -1001.0]  # large magnitudes stay stable
    assert expected_value(logprobs, [1.0, 2.0]) == pytest.approx(1 + 1 / (1 + math.e))
    with pytest.raises(ValueError):
        expected_value([0.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        expected_value([-math.inf], [1.0])


# -- entities -------------------------------------------------------------------------------------------------------

WORDS = {"PER": "person", "LOC": "location", "ORG": "organisation", "MISC": "miscellaneous"}
CONLL = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
CONLL_BIOES = ["O"] + [f"{p}-{t}" for t in ("PER", "ORG", "LOC", "MISC") for p in "BIES"]

# tests/fixtures/conll2003/eng.train (IOB1: "France Germany" are two adjacent LOC chunks)
IOB1_ROWS = [
    (["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
     ["I-ORG", "O", "I-MISC", "O", "O", "O", "I-MISC", "O", "O"]),
    (["Talks", "between", "France", "Germany", "and", "Britain", "ended", "."],
     ["O", "O", "I-LOC", "B-LOC", "O", "I-LOC", "O", "O"]),
    (["West", "Indian", "all-rounder", "Phil", "Simmons"], ["I-MISC", "I-MISC", "O", "I-PER", "I-PER"]),
]
# /work/shared/data/conll2003/_format_samples/valid.first20lines.txt (IOB2)
IOB2_ROWS = [
    (["CRICKET", "-", "LEICESTERSHIRE", "TAKE", "OVER", "AT", "TOP", "AFTER", "INNINGS", "VICTORY", "."],
     ["O", "O", "B-ORG", "O", "O", "O", "O", "O", "O", "O", "O"]),
    (["LONDON", "1996-08-30"], ["B-LOC", "O"]),
    (["Talks", "between", "France", "Germany", "and", "Britain", "ended", "."],
     ["O", "O", "B-LOC", "B-LOC", "O", "B-LOC", "O", "O"]),
    (["West", "Indian", "all-rounder", "Phil", "Simmons"], ["B-MISC", "I-MISC", "O", "B-PER", "I-PER"]),
]
BIOES_ROWS = [
    (["West", "Indian", "all-rounder", "Phil", "Lloyd", "Simmons"], ["B-MISC", "E-MISC", "O", "B-PER", "I-PER", "E-PER"]),
    (["Talks", "between", "France", "Germany", "and", "Britain", "ended", "."],
     ["O", "O", "S-LOC", "S-LOC", "O", "S-LOC", "O", "O"]),
]
ASPECTEMO = ["O", "a_minus_m", "a_minus_s", "a_zero", "a_plus_s", "a_plus_m", "a_amb"]


def _valid(tags, scheme):
    check = CHECKS.get(scheme)
    previous = "O"
    for tag in tags:
        assert check is None or check(previous, tag) is None, (previous, tag, tags)
        previous = tag
    if scheme == "BIOES":
        assert previous[0] not in "BI"


@pytest.mark.parametrize("scheme, rows, labels", [("IOB1", IOB1_ROWS, CONLL), ("IOB2", IOB2_ROWS, CONLL),
                                                  ("BIOES", BIOES_ROWS, CONLL_BIOES)])
def test_entities_round_trip(scheme, rows, labels):
    for tokens, tags in rows:
        gold = entities_json(tokens, tags, scheme, WORDS)
        parsed, how = parse_entities(gold, tokens, scheme, WORDS, labels)
        assert parsed == tags, gold
        assert how == "exact"
        _valid(parsed, scheme)


def test_entities_json_shape():
    tokens, tags = IOB1_ROWS[1]
    assert json.loads(entities_json(tokens, tags, "IOB1", WORDS)) == [
        {"type": "location", "text": "France"}, {"type": "location", "text": "Germany"},
        {"type": "location", "text": "Britain"}]
    tokens, tags = IOB2_ROWS[0]
    assert entities_json(tokens, ["O"] * len(tokens), "IOB2", WORDS) == "[]"
    # a type without a word is written as itself
    assert json.loads(entities_json(["Phil", "Simmons"], ["B-PER", "I-PER"], "IOB2", {})) == [
        {"type": "PER", "text": "Phil Simmons"}]


def test_plain_scheme_round_trip():
    tokens = ["Obsługa", "bardzo", "miła", ",", "ale", "jedzenie", "zimne"]
    tags = ["a_plus_m", "O", "O", "O", "O", "a_minus_m", "O"]
    gold = entities_json(tokens, tags, "plain", {})
    assert json.loads(gold) == [{"type": "a_plus_m", "text": "Obsługa"}, {"type": "a_minus_m", "text": "jedzenie"}]
    assert parse_entities(gold, tokens, "plain", {}, ASPECTEMO) == (tags, "exact")


def test_iob1_chunk_start():
    # IOB1: I- starts a chunk; B- only after a chunk of the same type
    tokens = ["Talks", "between", "France", "Germany", "and", "Britain", "ended", "."]
    answer = '[{"type": "location", "text": "France"}, {"type": "location", "text": "Germany"}]'
    tags, _ = parse_entities(answer, tokens, "IOB1", WORDS, CONLL)
    assert tags == ["O", "O", "I-LOC", "B-LOC", "O", "O", "O", "O"]
    answer = '[{"type": "location", "text": "France"}, {"type": "person", "text": "Germany"}]'
    tags, _ = parse_entities(answer, tokens, "IOB1", WORDS, CONLL)
    assert tags == ["O", "O", "I-LOC", "I-PER", "O", "O", "O", "O"]
    _valid(tags, "IOB1")


TOKENS, TAGS = IOB2_ROWS[3]


@pytest.mark.parametrize("answer", [
    '[{"type": "person", "text": "Phil Simmons"',  # cut off
    "Phil Simmons is a person.",
    '{"type": "person", "text": "Phil Simmons"}',  # not a list
    "",
])
def test_unparsed_entities(answer):
    parsed = read_entities(answer, TOKENS, "IOB2", WORDS, CONLL)
    assert parsed.tags == ["O"] * len(TOKENS)
    assert parsed.how == "unparsed"


def test_code_fenced_and_wrapped_json():
    gold = entities_json(TOKENS, TAGS, "IOB2", WORDS)
    for answer in (f"```json\n{gold}\n```", f"Here are the entities:\n{gold}\nHope this helps!", f"```\n{gold}```"):
        assert parse_entities(answer, TOKENS, "IOB2", WORDS, CONLL) == (TAGS, "normalised")


def test_type_words_and_text_leniently():
    answer = '[{"type": "Miscellaneous", "text": "West Indian"}, {"type": "PER", "text": "Phil Simmons"}]'
    assert parse_entities(answer, TOKENS, "IOB2", WORDS, CONLL) == (TAGS, "normalised")
    answer = '[{"type": "miscellaneous", "text": "west indian"}, {"type": "person", "text": "Phil  Simmons"}]'
    assert parse_entities(answer, TOKENS, "IOB2", WORDS, CONLL) == (TAGS, "normalised")


def test_dropped_entities():
    answer = json.dumps([{"type": "animal", "text": "Phil"},  # unknown type
                         {"type": "person", "text": "Courtney Walsh"},  # not in the sentence
                         {"type": "person"},  # no text
                         "Phil Simmons",  # not an object
                         {"type": "person", "text": "Phil Simmons"}])
    parsed = read_entities(answer, TOKENS, "IOB2", WORDS, CONLL)
    assert parsed.tags == ["O", "O", "O", "B-PER", "I-PER"]
    assert (parsed.how, parsed.dropped, parsed.kept) == ("exact", 4, 1)
    stats = ParseStats()
    stats.add(parsed.how, dropped=parsed.dropped)
    assert stats.as_dict()["dropped"] == 4
    # a type the card's labels do not have
    parsed = read_entities('[{"type": "person", "text": "Phil"}]', TOKENS, "IOB2", WORDS, ["O", "B-LOC", "I-LOC"])
    assert parsed.tags == ["O"] * 5 and parsed.dropped == 1


def test_repeated_entity_text():
    tokens = ["Germany", "beat", "Germany", "'s", "neighbours", ",", "said", "Germany"]
    tags = ["B-LOC", "O", "B-LOC", "O", "O", "O", "O", "B-LOC"]
    gold = entities_json(tokens, tags, "IOB2", WORDS)
    assert parse_entities(gold, tokens, "IOB2", WORDS, CONLL) == (tags, "exact")
    # named twice: the first two occurrences, in order
    twice = '[{"type": "location", "text": "Germany"}, {"type": "location", "text": "Germany"}]'
    assert parse_entities(twice, tokens, "IOB2", WORDS, CONLL)[0] == ["B-LOC", "O", "B-LOC"] + ["O"] * 5
    # named more often than it occurs: the extra one is dropped
    four = json.dumps([{"type": "location", "text": "Germany"}] * 4)
    parsed = read_entities(four, tokens, "IOB2", WORDS, CONLL)
    assert parsed.tags == tags and parsed.dropped == 1
    # listed out of order: a later entity named first still finds its tokens, an earlier one after it too
    answer = '[{"type": "person", "text": "Phil Simmons"}, {"type": "miscellaneous", "text": "West Indian"}]'
    assert parse_entities(answer, TOKENS, "IOB2", WORDS, CONLL)[0] == TAGS


def test_token_pieces_joined():
    # tokens split off punctuation; the model writes the text as it reads
    tokens = ["Sydney", "'s", "U.S.", "Open", "final"]
    answer = '[{"type": "miscellaneous", "text": "U.S. Open"}]'
    assert parse_entities(answer, tokens, "BIOES", WORDS, CONLL_BIOES)[0] == ["O", "O", "B-MISC", "E-MISC", "O"]
    answer = '[{"type": "location", "text": "Sydney\'s"}]'
    assert parse_entities(answer, tokens, "BIOES", WORDS, CONLL_BIOES)[0] == ["B-LOC", "E-LOC", "O", "O", "O"]


def test_spans_lenient_chunking():
    assert spans(["I-PER", "I-PER", "B-PER", "O"], "IOB1") == [("PER", 0, 2), ("PER", 2, 3)]
    assert spans(["O", "I-PER", "I-PER", "B-PER"], "IOB2") == [("PER", 1, 3), ("PER", 3, 4)]  # a stray I- starts one
    assert spans(["B-PER", "I-LOC", "E-LOC", "I-LOC"], "BIOES") == [("PER", 0, 1), ("LOC", 1, 3), ("LOC", 3, 4)]
    assert spans(["S-PER", "S-PER", "B-LOC", "E-LOC"], "BIOES") == [("PER", 0, 1), ("PER", 1, 2), ("LOC", 2, 4)]
    with pytest.raises(ValueError):
        spans(["O"], "BILOU")


@pytest.mark.parametrize("tags", [["I-PER", "I-PER", "B-PER", "O", "I-LOC", "B-ORG", "I-ORG"],
                                  ["B-PER", "I-PER", "I-LOC", "O", "I-LOC", "I-LOC", "B-LOC"],
                                  ["S-PER", "B-LOC", "I-LOC", "E-LOC", "E-LOC", "B-ORG", "O", "S-ORG"]])
def test_spans_agree_with_seqeval_conll_mode(tags):
    from seqeval.metrics.sequence_labeling import get_entities

    scheme = "BIOES" if any(t[0] in "SE" for t in tags) else "IOB1"
    assert [(t, s, e + 1) for t, s, e in get_entities(tags)] == spans(tags, scheme)
