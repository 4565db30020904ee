"""A generative model's answer read back as a card's target, and how it was read (pure functions, no torch).

Every parser returns what it found and ``how`` it found it, so a run can say how much of its score rests on
lenient reading (``ParseStats.fallback_share``):

* ``exact``: the answer is the verbaliser, the number, the JSON list, as written;
* ``normalised``: equal after normalising (case, whitespace, surrounding punctuation and quotes), or the number or
  JSON found inside other text;
* ``edit_distance``: (labels) no verbaliser equals the answer; the closest one was taken (rule in ``parse_label``);
* ``unparsed``: nothing usable: the value is None (labels, numbers) or every tag is O (tagging). The parser does not
  guess a label for an unparsed answer: the runner, which needs a prediction for every example, chooses one (and
  counts it here as unparsed).

Labels (``parse_label``): the answer is cut at its first line and stripped. Exact, then normalised equality with a
verbaliser; otherwise every verbaliser is compared with every run of as many words in the normalised answer (and
with the whole answer) by Levenshtein distance, and the best is the smallest distance, then the earliest position
in the answer (so an answer that starts with a verbaliser, "negative, because ...", gets it, and "The answer is
negative" finds "negative" at distance 0), then the verbaliser with more words ("not entailment" over
"entailment" at one position), then the label listed first.

Numbers (``parse_number``): the first number in the text: digits with an optional decimal part after "." or "," (a
comma is always the decimal separator, as Polish writes "2,5"; thousands separators are not read), an optional sign
("-", "−" or "+") not glued to a preceding word ("COVID-19" is 19, not -19).

Tagging (``entities_json``, ``parse_entities``): a sentence's entities as a JSON list of ``{"type": word, "text":
"tokens joined by spaces"}`` in sentence order, the type written as its word (``type_words``: PER -> "person";
a type without a word is written as itself). Reading an answer back:

* the answer is a JSON list: ``exact``; a JSON list inside other text or a code fence: ``normalised``; no JSON
  list at all (malformed JSON, a JSON object, empty answer): ``unparsed``, every tag O;
* each entity's type is its word, or the type's own name (``exact`` when written exactly, ``normalised`` when
  only case-insensitively); its text is found as a run of the sentence's tokens, compared with whitespace removed
  (``exact``), or case-insensitively (``normalised``); matching goes left to right: the first occurrence that
  starts after the previous entity's, else the first occurrence anywhere that uses no token already taken, so each
  occurrence of a repeated text is taken once, in order;
* an entity that is not an object with a string ``type`` and ``text``, whose type is unknown, whose text is not
  in the tokens (or only over tokens already taken), or whose tags are not labels of the card is dropped and
  counted (``ParsedEntities.dropped``); the answer's ``how`` is still that of its JSON and the entities kept.

The tags written follow the card's scheme: IOB2 ``B-X I-X``; IOB1 ``I-X I-X``, with ``B-X`` only on the first token
of a chunk right after a chunk of the same type (as ``validation.tag_scheme`` checks); BIOES ``S-X`` alone, else
``B-X I-X ... E-X``; plain: the type itself on every token of the entity (a run of one plain tag is one entity).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

How = Literal["exact", "normalised", "edit_distance", "unparsed"]
HOWS: tuple[How, ...] = ("exact", "normalised", "edit_distance", "unparsed")
FALLBACKS = ("edit_distance", "unparsed")
SCHEMES = ("IOB1", "IOB2", "BIOES", "plain")
_RANK = {how: i for i, how in enumerate(HOWS)}


@dataclass(frozen=True)
class Parsed:
    """What an answer was read as: ``value`` (an official label string, a number, or None) and ``how``."""

    value: Any
    how: How
    distance: int | None = None  # edit_distance: the Levenshtein distance of the verbaliser taken


@dataclass
class ParseStats:
    """Counts of how a run's answers were read; ``dropped`` counts entities dropped from tagging answers."""

    counts: Counter = field(default_factory=Counter)
    dropped: int = 0

    def add(self, parsed: Parsed | str, dropped: int = 0) -> None:
        how = parsed.how if isinstance(parsed, Parsed) else parsed
        if how not in HOWS:
            raise ValueError(f"unknown how {how!r}; one of {', '.join(HOWS)}")
        self.counts[how] += 1
        self.dropped += dropped

    def update(self, items: Iterable[Parsed | str]) -> ParseStats:
        for item in items:
            self.add(item)
        return self

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def fallback_share(self) -> float:
        """(edit_distance + unparsed) / total; 0.0 when nothing was read."""
        total = self.total
        return sum(self.counts[h] for h in FALLBACKS) / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**{how: self.counts[how] for how in HOWS}, "total": self.total, "dropped": self.dropped,
                "fallback_share": self.fallback_share}


# -- labels ---------------------------------------------------------------------------------------------------------

_QUOTES = "\"'`«»„“”‘’‚‹›"


def _is_edge(char: str) -> bool:
    """Stripped from both ends by normalisation: whitespace, punctuation, quotes, symbols such as * (markdown)."""
    return char.isspace() or char in _QUOTES or unicodedata.category(char)[0] in "PS"


def normalise(text: str) -> str:
    """Lower-cased (casefold), whitespace collapsed, surrounding punctuation and quotes stripped."""
    text = " ".join(text.casefold().split())
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.split("\n", 1)[0].strip() if stripped else ""


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edits (insertions, deletions, substitutions) from a to b."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _words(text: str) -> list[str]:
    """Words of a normalised text, each without its surrounding punctuation ("negative," -> "negative")."""
    return [w for w in (normalise(w) for w in text.split()) if w]


def parse_label(text: str, verbalizers: Mapping[str, str]) -> Parsed:
    """The label whose verbaliser the answer is (see the module's rule); value None and "unparsed" for an empty
    answer (empty after normalisation), whose prediction the runner chooses."""
    if not verbalizers:
        raise ValueError("parse_label needs the card's verbalizers")
    answer = first_line(text)
    for label, verbaliser in verbalizers.items():
        if answer == verbaliser.strip():
            return Parsed(label, "exact")
    norm = normalise(answer)
    if not norm:
        return Parsed(None, "unparsed")
    for label, verbaliser in verbalizers.items():
        if norm == normalise(verbaliser):
            return Parsed(label, "normalised")
    words = _words(norm)
    best: tuple[int, int, int, int] | None = None
    chosen = None
    for index, (label, verbaliser) in enumerate(verbalizers.items()):
        target = _words(normalise(verbaliser))
        k = max(len(target), 1)
        phrase = " ".join(target)
        # (distance, position) over the windows of k words, and the whole answer at position 0
        candidates = [(levenshtein(norm, phrase), 0)]
        candidates += [(levenshtein(" ".join(words[i:i + k]), phrase), i) for i in range(max(len(words) - k + 1, 1))]
        distance, position = min(candidates)
        key = (distance, position, -len(target), index)
        if best is None or key < best:
            best, chosen = key, label
    assert best is not None
    return Parsed(chosen, "edit_distance", distance=best[0])


# -- numbers --------------------------------------------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.,])([-−+]?)([0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)(?![0-9])")


def parse_number(text: str) -> Parsed:
    """The first number in the text: "exact" when the stripped text is just that number, "normalised" when it
    stands in other text ("about 4", "3.8 out of 5"), "unparsed" (value None) when there is none."""
    stripped = text.strip()
    match = NUMBER.search(stripped)
    if match is None:
        return Parsed(None, "unparsed")
    sign, digits = match.groups()
    value = float(digits.replace(",", "."))
    if sign in ("-", "−"):
        value = -value
    how: How = "exact" if match.span() == (0, len(stripped)) else "normalised"
    return Parsed(value, how)


def expected_value(logprobs: Sequence[float], numbers: Sequence[float]) -> float:
    """Sum of p_i * n_i, p the softmax over the numeric verbalisers' log-likelihoods."""
    if len(logprobs) != len(numbers) or not numbers:
        raise ValueError(f"expected_value needs one log-likelihood per number ({len(logprobs)} for {len(numbers)})")
    top = max(logprobs)
    if top == -math.inf or math.isnan(top):
        raise ValueError("no number has a finite log-likelihood")
    weights = [math.exp(lp - top) for lp in logprobs]
    total = sum(weights)
    return sum(w * n for w, n in zip(weights, numbers)) / total


# -- entities -------------------------------------------------------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    return (tag[0], tag[2:]) if len(tag) > 2 and tag[1] == "-" else ("O", "")


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; one of {', '.join(SCHEMES)}")


def spans(tags: Sequence[str], scheme: str) -> list[tuple[str, int, int]]:
    """The chunks (type, start, end exclusive) of a tag sequence, in order. Prefixed schemes are chunked leniently,
    as conlleval (seqeval's conll mode) does: B- and S- start a chunk, I- and E- continue one of their type (or
    start one), E- and S- end it; plain: each run of one tag other than O."""
    _check_scheme(scheme)
    found: list[tuple[str, int, int]] = []
    start, kind, closed = None, "", True
    for i, tag in enumerate(list(tags)):
        if scheme == "plain":
            prefix, typ = ("O", "") if tag == "O" else ("I", tag)
        else:
            prefix, typ = _split(tag)
        continues = start is not None and not closed and typ == kind and prefix in ("I", "E")
        if scheme == "IOB1" and prefix == "B":
            continues = False
        if not continues and start is not None:
            found.append((kind, start, i))
            start = None
        if prefix == "O":
            continue
        if start is None:
            start, kind = i, typ
        closed = prefix in ("E", "S")
    if start is not None:
        found.append((kind, start, len(tags)))
    return found


def chunk_tags(typ: str, length: int, scheme: str, after_same_type: bool) -> list[str]:
    """One chunk's tags in a scheme; ``after_same_type``: the chunk directly follows a chunk of its type (IOB1's B-)."""
    if scheme == "plain":
        return [typ] * length
    if scheme == "IOB2":
        return [f"B-{typ}"] + [f"I-{typ}"] * (length - 1)
    if scheme == "IOB1":
        return [f"B-{typ}" if after_same_type else f"I-{typ}"] + [f"I-{typ}"] * (length - 1)
    if scheme == "BIOES":
        return [f"S-{typ}"] if length == 1 else [f"B-{typ}"] + [f"I-{typ}"] * (length - 2) + [f"E-{typ}"]
    raise ValueError(f"unknown tag scheme {scheme!r}; one of {', '.join(SCHEMES)}")


def entity_types(label_names: Sequence[str], scheme: str) -> list[str]:
    """The types of a tag set in first-seen order: B-PER, I-PER -> PER; plain: every label but O."""
    if scheme == "plain":
        return [n for n in label_names if n != "O"]
    return list(dict.fromkeys(n.split("-", 1)[1] for n in label_names if "-" in n))


def _word(typ: str, type_words: Mapping[str, str]) -> str:
    return type_words.get(typ, typ)


def entities_json(tokens: Sequence[str], tags: Sequence[str], scheme: str, type_words: Mapping[str, str]) -> str:
    """The gold answer of a tagged sentence (a few-shot shot): its entities as a JSON list, in order."""
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
    entities = [{"type": _word(typ, type_words), "text": " ".join(str(t) for t in tokens[start:end])}
                for typ, start, end in spans(tags, scheme)]
    return json.dumps(entities, ensure_ascii=False)


@dataclass(frozen=True)
class ParsedEntities:
    tags: list[str]
    how: How
    dropped: int = 0  # entities of the answer that were not kept (unknown type, text not in the tokens, ...)
    kept: int = 0


_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def _json_list(text: str) -> tuple[list[Any] | None, How]:
    """The JSON list an answer holds, and whether it was the whole answer ("exact") or found inside text."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        value = None
    else:
        if isinstance(value, list):
            return value, "exact"
    candidates = [m.group(1) for m in _FENCE.finditer(stripped)]
    decoder = json.JSONDecoder()
    for source in [*candidates, stripped]:
        source = source.strip()
        try:
            value = json.loads(source)
        except ValueError:
            pass
        else:
            if isinstance(value, list):
                return value, "normalised"
        for match in re.finditer(r"\[", source):  # a list starting at some "[", trailing text ignored
            try:
                value, _ = decoder.raw_decode(source, match.start())
            except ValueError:
                continue
            if isinstance(value, list):
                return value, "normalised"
    return None, "unparsed"


def _squash(text: str) -> str:
    return "".join(text.split())


def _occurrences(tokens: Sequence[str], text: str, fold: bool) -> list[tuple[int, int]]:
    """Every run of tokens (start, end) whose concatenation is the text, whitespace removed."""
    want = _squash(text)
    if fold:
        want = want.casefold()
    if not want:
        return []
    pieces = [_squash(str(t)).casefold() if fold else _squash(str(t)) for t in tokens]
    found = []
    for start in range(len(pieces)):
        if not pieces[start] or not want.startswith(pieces[start]):
            continue
        joined = ""
        for end in range(start, len(pieces)):
            joined += pieces[end]
            if joined == want:
                found.append((start, end + 1))
                break
            if not want.startswith(joined):
                break
    return found


def read_entities(text: str, tokens: Sequence[str], scheme: str, type_words: Mapping[str, str],
                  label_names: Sequence[str]) -> ParsedEntities:
    """A tagging answer read back as one tag per token in the card's scheme, with how and the entities dropped."""
    _check_scheme(scheme)
    tags = ["O"] * len(tokens)
    items, how = _json_list(text)
    if items is None:
        return ParsedEntities(tags, "unparsed")
    types = entity_types(label_names, scheme)
    labels = set(label_names)
    by_word: dict[str, str] = {}
    by_folded: dict[str, str] = {}
    for typ in types:  # the word first; the type's own name too; first type wins a shared word
        for name in (_word(typ, type_words), typ):
            by_word.setdefault(name, typ)
            by_folded.setdefault(name.casefold(), typ)
    taken = [False] * len(tokens)
    owner: list[str | None] = [None] * len(tokens)
    chosen: list[tuple[str, int, int]] = []
    cursor, dropped = 0, 0
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("text"), str)):
            dropped += 1
            continue
        word = item["type"].strip()
        typ = by_word.get(word)
        item_how: How = "exact"
        if typ is None:
            typ = by_folded.get(word.casefold())
            item_how = "normalised"
        if typ is None:
            dropped += 1
            continue
        place = None
        for fold in (False, True):
            free = [(s, e) for s, e in _occurrences(tokens, item["text"], fold) if not any(taken[s:e])]
            place = next(((s, e) for s, e in free if s >= cursor), None) or (free[0] if free else None)
            if place is not None:
                if fold:
                    item_how = "normalised"
                break
        if place is None:
            dropped += 1
            continue
        start, end = place
        for i in range(start, end):
            taken[i] = True
            owner[i] = typ
        chosen.append((typ, start, end))
        cursor = end
        if _RANK[item_how] > _RANK[how]:
            how = item_how
    kept = 0
    for typ, start, end in sorted(chosen, key=lambda c: c[1]):
        after_same = start > 0 and owner[start - 1] == typ
        chunk = chunk_tags(typ, end - start, scheme, after_same)
        if scheme == "IOB1" and chunk[0] not in labels and f"I-{typ}" in labels:
            chunk[0] = f"I-{typ}"  # a tag set without B-X: the two chunks read as one, still valid IOB1
        if not all(t in labels for t in chunk):
            dropped += 1
            for i in range(start, end):
                owner[i] = None
            continue
        tags[start:end] = chunk
        kept += 1
    return ParsedEntities(tags, how, dropped, kept)


def parse_entities(text: str, tokens: Sequence[str], scheme: str, type_words: Mapping[str, str],
                   label_names: Sequence[str]) -> tuple[list[str], str]:
    """One tag per token in the card's scheme (labels of ``label_names`` only) and how the answer was read; the
    entities dropped are counted by ``read_entities``."""
    parsed = read_entities(text, tokens, scheme, type_words, label_names)
    return parsed.tags, parsed.how
