"""CoNLL column files: one token per line, a blank line between sentences, ``-DOCSTART-`` skipped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import FORMATS, Format, RawTable, read_text

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source


def read_conll(path: str, options: "ReadOptions", source: "Source") -> RawTable:
    import pandas as pd

    text = read_text(path, options.encoding)
    sentences: list[tuple[list[str], list[str]]] = []
    locations: list[int] = []
    problems: list[Problem] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    needed = max(options.token_column, options.tag_column) + 1 if options.tag_column >= 0 else None

    def flush() -> None:
        nonlocal tokens, tags
        if tokens:
            sentences.append((tokens, tags))
            locations.append(start)
        tokens, tags = [], []

    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        cells = line.split(options.delimiter) if options.delimiter else line.split()
        if cells[0] == "-DOCSTART-":
            flush()
            continue
        if len(cells) < (needed or max(options.token_column + 1, -options.tag_column)):
            problems.append(Problem(f"expected at least {needed or -options.tag_column} columns, found {len(cells)}",
                                    file=path, line=number, hint="token lines hold the token and its tag, separated by whitespace"))
            continue
        if not tokens:
            start = number
        tokens.append(cells[options.token_column])
        tags.append(cells[options.tag_column])
    flush()
    if not sentences and not problems:
        raise BenchkitError(Problem("file is empty: no sentences", file=path, hint="check that the download completed"))
    frame = pd.DataFrame({"tokens": [s[0] for s in sentences], "tags": [s[1] for s in sentences]}, dtype=object)
    return RawTable(path, frame, locations, "line", problems)


FORMATS.add("conll", Format("conll", read_conll, frozenset({"encoding", "delimiter", "token_column", "tag_column"}),
                            "CoNLL columns (CoNLL-2003): columns 'tokens' and 'tags', one sentence per row"))
