"""Token and tag lists from a text with character-offset entity spans: the second shape JSON NER data comes in.

A card with ``entity_spans: {text, spans, start, end, label, splitter}`` reads, per row, the text and its list of
span objects, splits the text into words with a declared, deterministic splitter (``WORD_SPLITTERS``), and writes
the computed columns ``@tokens`` and ``@tags`` (IOB2: B- on a span's first word, I- on the rest, O elsewhere), which
the card's ``tokens`` and ``tags`` roles then read. A span must start and end on word boundaries of the splitter;
a span that cuts a word, runs past the text, covers no word, or overlaps another drops its row with one problem that
names the span and the word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchkit.cards.columns import computed
from benchkit.contracts.word_splitters import WORD_SPLITTERS
from benchkit.errors import Problem
from benchkit.sources import RawTable

if TYPE_CHECKING:
    from benchkit.cards.schema import EntitySpans, TaskCard

TOKENS, TAGS = computed("tokens"), computed("tags")


class SpanError(ValueError):
    pass


def tags_from_spans(text: str, spans: list[Any], spec: "EntitySpans") -> tuple[list[str], list[str]]:
    if not isinstance(text, str) or not text.strip():
        raise SpanError("empty document: no text")
    if not isinstance(spans, list):
        raise SpanError(f"expected a list of spans, found {type(spans).__name__}")
    words = WORD_SPLITTERS.get(spec.splitter).words(text)
    starts = {s: i for i, (s, _) in enumerate(words)}
    ends = {e: i for i, (_, e) in enumerate(words)}
    tags = ["O"] * len(words)
    for span in sorted(spans, key=lambda s: (s.get(spec.start, 0), s.get(spec.end, 0)) if isinstance(s, dict) else (0, 0)):
        if not isinstance(span, dict) or any(k not in span for k in (spec.start, spec.end, spec.label)):
            raise SpanError(f"span {span!r} lacks {spec.start!r}, {spec.end!r} or {spec.label!r}")
        start, end, label = span[spec.start], span[spec.end], span[spec.label]
        if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end:
            raise SpanError(f"span [{start}, {end}) is not a character range start < end")
        if end > len(text):
            raise SpanError(f"entity span [{start}, {end}) {label} runs past the text ({len(text)} characters)")
        for side, offset, table in (("starts", start, starts), ("ends", end, ends)):
            if offset not in table:
                word = next(((a, b) for a, b in words if a < offset < b), None)
                if word is not None:
                    raise SpanError(f"entity span [{start}, {end}) {label} {text[start:end]!r} {side} inside the word "
                                    f"{text[word[0]:word[1]]!r} (characters {word[0]}-{word[1]})")
        first, last = _first_word(words, start), _last_word(words, end)
        if first is None or last is None or first > last:
            raise SpanError(f"entity span [{start}, {end}) {label} {text[start:end]!r} covers no word")
        if any(t != "O" for t in tags[first:last + 1]):
            raise SpanError(f"entity span [{start}, {end}) {label} overlaps another span")
        tags[first] = f"B-{label}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{label}"
    return [text[a:b] for a, b in words], tags


def _first_word(words: list[tuple[int, int]], start: int) -> int | None:
    return next((i for i, (a, _) in enumerate(words) if a >= start), None)


def _last_word(words: list[tuple[int, int]], end: int) -> int | None:
    return next((i for i in range(len(words) - 1, -1, -1) if words[i][1] <= end), None)


def add_span_tags(card: "TaskCard", split: str, table: RawTable) -> RawTable:
    """``table`` with ``@tokens``/``@tags`` computed from the card's ``entity_spans`` (rows that fail are dropped,
    each with a problem); unchanged for cards without it."""
    from benchkit.errors import did_you_mean

    spec = card.entity_spans
    if spec is None:
        return table
    hidden = card.splits[split].labels == "hidden"
    present = list(map(str, table.frame.columns))
    needed = [spec.text] + ([] if hidden else [spec.spans])
    absent = [c for c in needed if c not in present]
    if absent:
        example = table.example()
        return RawTable(table.source, table.frame, table.locations, table.location_kind, table.problems + [
            Problem(f"column '{c}' not found; the file has {present}{example}", file=table.source,
                    field=f"entity_spans.{'text' if c == spec.text else 'spans'}",
                    hint=did_you_mean(c, present) or "the card's entity_spans names the text and span columns; "
                                                     "is the file in the other shape (token and tag lists)?")
            for c in absent], table.declared)
    keep, tokens, tags, problems = [], [], [], list(table.problems)
    for index, row in enumerate(table.frame.to_dict("records")):
        try:
            words, row_tags = tags_from_spans(row[spec.text], [] if hidden else row[spec.spans], spec)
        except SpanError as err:
            problems.append(table.problem(index, str(err), field=f"entity_spans.{spec.spans}",
                                          hint="spans are [start, end) character offsets on word boundaries of the "
                                               f"'{spec.splitter}' splitter"))
            continue
        keep.append(index)
        tokens.append(words)
        tags.append(None if hidden else row_tags)
    frame = table.frame.iloc[keep].reset_index(drop=True)
    frame[TOKENS] = tokens
    frame[TAGS] = tags
    return RawTable(table.source, frame, [table.locations[i] for i in keep], table.location_kind, problems,
                    table.declared)
