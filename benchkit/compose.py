"""Columns a card computes from the columns a file has: declarative, field substitution and marking only.

* ``fields.id`` / ``fields.group`` naming several columns: their values joined with '-' (MultiRC "0-1-7");
* ``inputs.<role>``: a template (``"{word}: {sentence1}"``) whose ``{column}``s are replaced by the column values, after
  ``marks`` insert markers around spans given by character offsets (WiC) or word indices (WSC);
* ``lists.<role>``: a list column turned into a list of strings (ReCoRD: entity offsets into the passage -> entity
  strings; answer objects -> their text).

``prepare`` adds the computed columns (named ``@<role>``) to a ``RawTable``. A row whose values do not fit (a span
outside its text, spans that cross, a missing value, a gold answer that is not a candidate) is dropped with one Problem naming its
file, line and field, like the rows a reader cannot parse; the schema checks then see only well-formed rows.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from benchkit.cards.columns import PLACEHOLDER, computed, template_columns
from benchkit.errors import Problem, did_you_mean
from benchkit.sources.base import RawTable, raw_key

if TYPE_CHECKING:
    from benchkit.cards.schema import Compose, ListItems, Mark, TaskCard

# The marked spans of a row: [input, start, end] per mark, in the card's order, where input is the position of the
# sequence the composed role is (0: the first text the model reads, 1: the second, as heads pair them) and
# [start, end) are character offsets into it, markers included. Span-aware heads find their tokens from these.
SPANS = computed("spans")
SEQUENCE_OF = {"text": 0, "question": 0, "text_pair": 1, "context": 1}
_MAX_WARNINGS = 20


def _fill(template: str, values: dict[str, str]) -> tuple[str, dict[str, int]]:
    """The filled template, and where the first substitution of each column starts in it."""
    out: list[str] = []
    starts: dict[str, int] = {}
    size = 0
    position = 0
    for match in PLACEHOLDER.finditer(template):
        literal = template[position:match.start()]
        token = match.group(0)
        piece = token[0] if token in ("{{", "}}") else values[match.group(1).strip()]
        if token not in ("{{", "}}"):
            starts.setdefault(match.group(1).strip(), size + len(literal))
        out += [literal, piece]
        size += len(literal) + len(piece)
        position = match.end()
    out.append(template[position:])
    return "".join(out), starts


class RowError(ValueError):
    def __init__(self, message: str, field: str, hint: str):
        super().__init__(message)
        self.field = field
        self.hint = hint


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _integer(row: dict[str, Any], column: str, mark_field: str) -> int:
    value = row.get(column)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise RowError(f"span offset {column} is {value!r}, expected an integer", column,
                       f"{mark_field}: offsets are integers (character offsets or word indices)")
    return value


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch not in string.punctuation).strip()


def _mark(text: str, marks: "list[Mark]", row: dict[str, Any],
          warnings: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """Insert each mark's open/close markers around its span. Spans lie inside the text and may nest (WSC: a
    pronoun inside its candidate); crossing spans are an error. Returns the marked text and, per mark (in the given
    order), the character span it covers in it, markers included.

    Nesting is marked outside in: where spans start at the same place the outer one opens first, where they end at
    the same place the inner one closes first ("[*his* son]", "[a friend of *his*]"); of two equal spans the one the
    card lists first is the outer. A span that ends where another starts closes before the other opens."""
    unit = marks[0].unit
    if any(m.unit != unit for m in marks):
        raise RowError("marks on one field mix word and character spans", marks[0].field, "use one unit per field")
    pieces = text.split() if unit == "word" else list(text)
    spans = []
    for order, mark in enumerate(marks):
        start = _integer(row, mark.start, f"inputs mark on {mark.field}")
        if mark.end is not None:
            end = _integer(row, mark.end, f"inputs mark on {mark.field}") + (1 if mark.end_inclusive else 0)
            expected = None
        else:
            expected = raw_key(row.get(mark.text))
            end = start + (len(expected.split()) if unit == "word" else len(expected))
        size = len(pieces)
        if not 0 <= start < end <= size:
            what = "words" if unit == "word" else "characters"
            raise RowError(f"span [{start}, {end}) of {mark.field} ({mark.start}"
                           f"{'/' + mark.end if mark.end else ''}) falls outside its text ({size} {what})",
                           mark.start, "check the offsets against the text (word indices count whitespace-separated "
                           "words; character ends are exclusive unless end_inclusive)")
        covered = (" " if unit == "word" else "").join(pieces[start:end])
        if expected is not None and _normal(covered) != _normal(expected):
            warnings.append((mark.text or mark.start, f"span text {expected!r} does not match {covered!r} at "
                                                      f"{unit} {start} of {mark.field}"))
        spans.append((start, end, order, mark))
    spans.sort(key=lambda s: (s[0], -s[1], s[2]))  # outer before inner
    _refuse_crossing(spans)
    if unit == "word":  # word spans become character spans of the words joined by single spaces
        text = " ".join(pieces)
        starts = [0]
        for word in pieces:
            starts.append(starts[-1] + len(word) + 1)
        spans = [(starts[s], starts[e - 1] + len(pieces[e - 1]), o, m) for s, e, o, m in spans]
    return _insert(text, spans, len(marks))


def _refuse_crossing(spans: "list[tuple[int, int, int, Mark]]") -> None:
    """Spans sorted outer before inner either nest or are disjoint; one that starts inside another and ends after
    it crosses it."""
    open_spans: list[tuple[int, int, int, Mark]] = []
    for span in spans:
        while open_spans and open_spans[-1][1] <= span[0]:
            open_spans.pop()
        if open_spans and span[1] > open_spans[-1][1]:
            outer = open_spans[-1]
            raise RowError(f"spans of {span[3].field} cross ([{outer[0]}, {outer[1]}) and [{span[0]}, {span[1]})): "
                           f"one starts inside the other and ends after it", span[3].start,
                           "marks on one field may nest (one span inside another) but not cross")
        open_spans.append(span)


def _insert(text: str, spans: "list[tuple[int, int, int, Mark]]", count: int) -> tuple[str, list[tuple[int, int]]]:
    """The text with the markers of character spans (sorted outer before inner, nested or disjoint) inserted, and
    each span's place in it (by the card's order), markers included."""
    opening: dict[int, list[tuple[int, int, int, Mark]]] = {}
    closing: dict[int, list[tuple[int, int, int, Mark]]] = {}
    for span in spans:
        opening.setdefault(span[0], []).append(span)  # outer first
        closing.setdefault(span[1], []).insert(0, span)  # inner first
    out: list[str] = []
    size = 0
    placed: list[list[int]] = [[0, 0] for _ in range(count)]
    for position in range(len(text) + 1):
        for _start, _end, order, mark in closing.get(position, []):
            out.append(mark.close)
            size += len(mark.close)
            placed[order][1] = size
        for _start, _end, order, mark in opening.get(position, []):
            placed[order][0] = size
            out.append(mark.open)
            size += len(mark.open)
        if position < len(text):
            out.append(text[position])
            size += 1
    return "".join(out), [(start, end) for start, end in placed]


def _compose(spec: "Compose", row: dict[str, Any], warnings: list[tuple[str, str]]) -> tuple[str, list[list[int]]]:
    """The composed input and the character span ([start, end)) of each of its marks, in the card's order."""
    values: dict[str, str] = {}
    for name in template_columns(spec.template):
        value = row.get(name)
        if _missing(value):
            raise RowError("missing value", name, "every row needs the fields its input template names")
        values[name] = raw_key(value)
    by_field: dict[str, list[Mark]] = {}
    for mark in spec.marks:
        by_field.setdefault(mark.field, []).append(mark)
    within: dict[int, tuple[str, tuple[int, int]]] = {}
    for name, marks in by_field.items():
        values[name], covered = _mark(values[name], marks, row, warnings)
        within.update({id(m): (name, c) for m, c in zip(marks, covered)})
    text, starts = _fill(spec.template, values)
    spans = []
    for mark in spec.marks:
        name, (start, end) = within[id(mark)]
        spans.append([starts[name] + start, starts[name] + end])
    return text, spans


def _items(spec: "ListItems", column: str, row: dict[str, Any]) -> list[str]:
    items = row.get(column)
    if not isinstance(items, list):
        raise RowError(f"expected a list, found {type(items).__name__}", column, "this field holds a list")
    out: list[str] = []
    text = None
    if spec.span_of is not None:
        text = row.get(spec.span_of)
        if not isinstance(text, str):
            raise RowError(f"expected the text the spans point into, found {type(text).__name__}", spec.span_of,
                           "lists.<role>.span_of names the text column")
    for position, item in enumerate(items):
        where = f"{column}[{position}]"
        if text is not None:
            if not isinstance(item, dict):
                raise RowError(f"{where} is {type(item).__name__}, expected {{{spec.start}, {spec.end}}}", column,
                               "span items are objects with start and end offsets")
            start, end = _integer(item, spec.start, where), _integer(item, spec.end, where)
            stop = end + (1 if spec.end_inclusive else 0)
            if not 0 <= start < stop <= len(text):
                raise RowError(f"{where} span [{start}, {end}{']' if spec.end_inclusive else ')'} falls outside "
                               f"{spec.span_of} ({len(text)} characters)", column,
                               "offsets are character positions into the text" +
                               (" (end inclusive)" if spec.end_inclusive else " (end exclusive)"))
            out.append(text[start:stop])
        elif spec.key is not None:
            value = item.get(spec.key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                raise RowError(f"{where} has no string '{spec.key}'", column,
                               f"each item is an object with a '{spec.key}' string")
            out.append(value)
        else:
            if not isinstance(item, str):
                raise RowError(f"{where} is {type(item).__name__}, expected a string", column,
                               "set lists.<role>.key for objects, or span_of for offsets")
            out.append(item)
    return sorted(set(out)) if spec.unique else out


def prepare(card: "TaskCard", split: str, table: RawTable) -> RawTable:
    """The table with the card's computed columns added; rows that cannot be computed are dropped with a Problem."""
    from benchkit.task_types import TASK_TYPES

    fields = card.split_fields(split)
    joined = {role: fields.sources(role) for role in ("id", "group") if isinstance(getattr(fields, role), list)}
    target = TASK_TYPES.get(card.type)
    hidden = card.splits[split].labels == "hidden"
    lists = {role: spec for role, spec in card.lists.items() if not (hidden and role == target.target_field)}
    if not (joined or card.inputs or lists):
        return table
    present = set(map(str, table.frame.columns))
    problems = list(table.problems)
    needed: dict[str, str] = {}  # column -> where the card names it
    for role, columns in joined.items():
        needed.update({c: f"fields.{role}" for c in columns})
    for role, spec in card.inputs.items():
        needed.update({c: f"inputs.{role}" for c in template_columns(spec.template)})
        for mark in spec.marks:
            needed.update({c: f"inputs.{role}.marks" for c in (mark.field, mark.start, mark.end, mark.text) if c})
    for role, spec in lists.items():
        needed[fields.sources(role)[0]] = f"fields.{role}"
        if spec.span_of:
            needed[spec.span_of] = f"lists.{role}.span_of"
    absent = [c for c in needed if c not in present]
    if absent:
        known = sorted(present)
        problems += [Problem(f"column '{c}' not found; the file has {known}", file=table.source,
                             field=needed[c], hint=did_you_mean(c, known) or "fix the card or check the file's format")
                     for c in absent]
        return RawTable(table.source, table.frame, table.locations, table.location_kind, problems, table.declared)

    records = table.frame.to_dict("records")
    computed_values: dict[str, list[Any]] = {computed(r): [] for r in (*joined, *card.inputs, *lists)}
    if any(spec.marks for spec in card.inputs.values()):
        computed_values[SPANS] = []
    keep: list[int] = []
    warnings: list[Problem] = []
    span_text = card.checks.severity("span_text")  # the card's severity for a span text that does not match
    span_hint = ("the span covers other words than its text says: a known mismatch of the official files, kept as "
                 "published (the card sets checks.span_text: warning)" if span_text == "warning" else
                 "the span covers other words than its text says; check the offsets, or set checks.span_text in "
                 "the card if the benchmark keeps it")
    for index, row in enumerate(records):
        row_warnings: list[tuple[str, str]] = []
        try:
            values: dict[str, Any] = {}
            for role, columns in joined.items():
                parts = [row.get(c) for c in columns]
                gap = next((c for c, v in zip(columns, parts) if _missing(v)), None)
                if gap is not None:
                    raise RowError("missing value", gap, f"every row needs the columns of fields.{role}")
                values[computed(role)] = "-".join(raw_key(v) for v in parts)
            marked: list[list[int]] = []
            for role, spec in card.inputs.items():
                values[computed(role)], spans = _compose(spec, row, row_warnings)
                marked += [[SEQUENCE_OF[role], *span] for span in spans]
            if any(spec.marks for spec in card.inputs.values()):
                values[SPANS] = marked
            for role, spec in lists.items():
                values[computed(role)] = _items(spec, fields.sources(role)[0], row)
            _check_gold(card, target, values, fields)
        except RowError as err:
            problems.append(table.problem(index, str(err), field=err.field, hint=err.hint))
            continue
        for name, value in values.items():
            computed_values[name].append(value)
        keep.append(index)
        if span_text != "off":
            warnings += [table.problem(index, message, field=column, severity=span_text, hint=span_hint)
                         for column, message in row_warnings]
    if len(warnings) > _MAX_WARNINGS:
        rest = len(warnings) - _MAX_WARNINGS
        warnings = warnings[:_MAX_WARNINGS] + [Problem(f"... and {rest} more span-text mismatches", file=table.source,
                                                       severity=span_text)]  # type: ignore[arg-type]
    frame = table.frame.iloc[keep].reset_index(drop=True)
    for name, column in computed_values.items():
        frame[name] = column
    return RawTable(table.source, frame, [table.locations[i] for i in keep], table.location_kind,
                    problems + warnings, table.declared)


def _check_gold(card: "TaskCard", target: Any, values: dict[str, Any], fields: Any) -> None:
    """Candidate choice: every gold answer must be one of the row's candidates (else the task cannot be learned)."""
    if target.target != "candidate":
        return
    golds, candidates = values.get(computed(target.target_field)), values.get(computed("candidates"))
    if golds is None or candidates is None:
        return
    if not golds:
        raise RowError("no gold answer", fields.sources(target.target_field)[0],
                       "a labelled row needs at least one answer; mark the split labels: hidden if it has none")
    pool = set(candidates)
    stray = [g for g in golds if g not in pool]
    if stray:
        raise RowError(f"gold answer {stray[0]!r} is not among the row's {len(candidates)} candidates",
                       fields.sources(target.target_field)[0],
                       did_you_mean(stray[0], candidates) or "check the answer and candidate offsets")
