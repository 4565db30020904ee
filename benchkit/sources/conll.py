"""CoNLL column files (CoNLL-2003): one token per line with its columns, the token first and the NER tag last (by
default), a blank line between sentences, ``-DOCSTART-`` lines between documents.

``-DOCSTART-`` may sit anywhere: at the top (the original files), between sentences, or at the end of a file; a file
without any is one document. Rows are sentences (``read.unit: sentence``) or whole documents (``unit: document``:
the sentences of a document, in order, as one token sequence). Every row keeps its document (``document``, 0-based
within the file), its sentence count, and the line of each of its tokens (``@lines``), so a message about a tag names
the exact line.

Bad lines are reported, not guessed at: a line whose column count differs from the file's (the count of its first
token line), and a document marker followed by no sentence before the next marker (an empty document).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import RawTable, read_text, register_reader

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source

LINES = "@lines"  # per row: the line of each token
DOCSTART = "-DOCSTART-"


def read_conll(path: str, options: "ReadOptions", source: "Source") -> RawTable:
    import pandas as pd

    text = read_text(path, options.encoding)
    rows: list[dict[str, object]] = []
    locations: list[int] = []
    problems: list[Problem] = []
    sentence: list[tuple[str, str, int]] = []  # (token, tag, line)
    document, document_line, document_sentences = 0, None, 0
    width: tuple[int, int] | None = None  # (columns, line of the first token line): the file's column count

    def flush() -> None:
        nonlocal sentence, document_sentences
        if sentence:
            rows.append({"tokens": [t for t, _, _ in sentence], "tags": [g for _, g, _ in sentence],
                         "document": document, LINES: [n for _, _, n in sentence]})
            locations.append(sentence[0][2])
            document_sentences += 1
        sentence = []

    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        cells = line.split(options.delimiter) if options.delimiter else line.split()
        if cells[0] == DOCSTART:
            flush()
            if document_line is not None and document_sentences == 0:
                problems.append(Problem(f"empty document: no sentence between the {DOCSTART} of line {document_line} "
                                        f"and this one", file=path, line=number, field="read.unit",
                                        hint=f"remove the extra {DOCSTART} line, or restore the document's sentences"))
            if document_line is not None or rows:
                document += 1
            document_line, document_sentences = number, 0
            continue
        if width is None:
            width = (len(cells), number)
        elif len(cells) != width[0]:
            problems.append(Problem(f"{len(cells)} column(s), but the file's token lines have {width[0]} (line "
                                    f"{width[1]})", file=path, line=number,
                                    hint="a token with a space in it, a missing tag, or a merged line; one token per "
                                         "line, its columns separated by whitespace"))
            continue
        needed = max(options.token_column + 1, -options.tag_column if options.tag_column < 0 else options.tag_column + 1)
        if len(cells) < needed:
            problems.append(Problem(f"expected at least {needed} columns, found {len(cells)}", file=path, line=number,
                                    hint="token lines hold the token and its tag, separated by whitespace"))
            continue
        sentence.append((cells[options.token_column], cells[options.tag_column], number))
    flush()
    if not rows and not problems:
        raise BenchkitError(Problem("file is empty: no sentences", file=path, hint="check that the download completed"))
    if options.unit == "document":
        rows, locations = _documents(rows, locations)
    frame = pd.DataFrame({key: [r[key] for r in rows] for key in ("tokens", "tags", "document", LINES)}, dtype=object)
    frame["sentences"] = [r.get("sentences", 1) for r in rows]
    return RawTable(path, frame, locations, "line", problems)


def _documents(rows: list[dict[str, object]], locations: list[int]) -> tuple[list[dict[str, object]], list[int]]:
    """Sentences joined into one row per document, in file order; a document starts where its first sentence does."""
    merged: list[dict[str, object]] = []
    starts: list[int] = []
    for row, line in zip(rows, locations):
        if merged and merged[-1]["document"] == row["document"]:
            last = merged[-1]
            for key in ("tokens", "tags", LINES):
                last[key] = [*last[key], *row[key]]  # type: ignore[misc]
            last["sentences"] = int(last["sentences"]) + 1  # type: ignore[call-overload]
        else:
            merged.append({**row, "sentences": 1})
            starts.append(line)
    return merged, starts


register_reader("conll", read_conll)
