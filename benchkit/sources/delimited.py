"""TSV and CSV, read line by line so every row keeps its line number and ragged rows are reported."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import RawTable, read_text, register_reader

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source

_QUOTING = {"none": csv.QUOTE_NONE, "minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL}


def _ragged(path: str, line: int, expected: int, found: int, options: "ReadOptions", quoting: str,
            default_delimiter: str) -> Problem:
    delimiter = options.delimiter or default_delimiter
    return Problem(f"ragged row: expected {expected} fields, found {found}", file=path, line=line,
                   hint=f"fields are separated by {'a tab' if delimiter == chr(9) else repr(delimiter)}"
                        f" with quoting '{quoting}'; a stray separator or quote splits or merges fields")


def _reader(default_delimiter: str, default_quoting: str):
    def read(path: str, options: "ReadOptions", source: "Source") -> RawTable:
        import pandas as pd

        text = read_text(path, options.encoding)
        quoting = options.quoting or default_quoting
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=options.delimiter or default_delimiter,
                          quoting=_QUOTING[quoting], quotechar=options.quotechar, strict=True)
        records: list[list[str]] = []
        locations: list[int] = []
        problems: list[Problem] = []
        columns = list(options.columns) if options.columns else None
        header_pending = options.header
        consumed = 0  # physical lines consumed so far; a record starts on the next one
        try:
            for record in rows:
                start, consumed = consumed + 1, rows.line_num
                if not record and options.skip_blank_lines:
                    continue
                if header_pending:
                    header_pending = False
                    if options.header == "auto":
                        if columns is None:
                            raise BenchkitError(Problem(
                                "read.header is auto but read.columns is not set", file=path, field="read.columns",
                                hint="list the column names the header line spells"))
                        if [cell.strip() for cell in record] != columns:  # no header line: this line is data
                            if len(record) != len(columns):
                                problems.append(_ragged(path, start, len(columns), len(record), options, quoting,
                                                        default_delimiter))
                            else:
                                records.append(record)
                                locations.append(start)
                        continue
                    if columns is None:
                        columns = record
                        dupes = sorted({c for c in columns if columns.count(c) > 1})
                        if dupes:
                            raise BenchkitError(Problem(
                                f"duplicate column name(s) {dupes} in the header", file=path, line=start,
                                hint="name the columns explicitly with read.columns"))
                    continue
                if columns is None:
                    raise BenchkitError(Problem(
                        "read.header is false but read.columns is not set", file=path, field="read.columns",
                        hint="list the column names of this header-less file"))
                if len(record) != len(columns):
                    problems.append(_ragged(path, start, len(columns), len(record), options, quoting,
                                            default_delimiter))
                    continue
                records.append(record)
                locations.append(start)
        except csv.Error as err:
            # the record that failed starts on the line after the last one read whole (a quote may run to EOF)
            raise BenchkitError(Problem(
                f"malformed {source.format.upper()}: {err}", file=path, line=consumed + 1,
                hint="check read.quoting and read.quotechar; a quoted field may be unclosed")) from None
        if columns is None:
            raise BenchkitError(Problem("file is empty: no header and no rows", file=path,
                                        hint="check that the download completed"))
        frame = pd.DataFrame(records, columns=columns, dtype=object)
        return RawTable(path, frame, locations, "line", problems)

    return read


register_reader("tsv", _reader("\t", "none"))
register_reader("csv", _reader(",", "minimal"))
