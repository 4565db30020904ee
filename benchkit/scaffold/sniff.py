"""What a data file is, guessed from its bytes: format, encoding and byte-order mark, delimiter, quoting and header
(delimited text), and a sample of its rows as columns of strings. Every guess carries how sure it is and why, so a
generated card can say so next to each line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem

SAMPLE_ROWS = 5000
EXTENSIONS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
              ".parquet": "parquet", ".conll": "conll", ".conllu": "conll", ".iob": "conll", ".bio": "conll"}


@dataclass(frozen=True)
class Guess:
    value: Any
    sure: str  # "certain", "likely" or "guess"
    why: str


@dataclass
class Sniffed:
    path: Path
    format: Guess
    encoding: Guess
    columns: list[str]  # names: the header's, or generated (col1, col2, ...) for a file without one
    rows: list[list[Any]]  # a sample, one list per row, in column order (conll: [tokens, tags])
    total_rows: int  # rows in the whole file (sentences for conll)
    read: dict[str, Guess] = field(default_factory=dict)  # reader options (header, delimiter, quoting, ...)


def _decode(path: Path) -> tuple[str, Guess]:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
        return text, Guess("utf-8", "certain", "decodes as UTF-8" + (" (with a byte-order mark, which is dropped)"
                                                                       if bom else ""))
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        for encoding in ("cp1250", "cp1252", "latin-1"):
            try:
                return raw.decode(encoding), Guess(encoding, "guess", f"not UTF-8 (byte 0x{raw[error.start]:02x} "
                                                                      f"on line {line}); decodes as {encoding}")
            except UnicodeDecodeError:
                continue
    raise BenchkitError(Problem("cannot decode the file as text", file=str(path), hint="save it as UTF-8"))


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip() != ""


def _parse(text: str, delimiter: str, quoting: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting, quotechar='"', strict=False)
    return [row for row in reader if row]


def _consistency(rows: list[list[str]]) -> float:
    """The share of rows with the most common field count."""
    if not rows:
        return 0.0
    counts: dict[int, int] = {}
    for row in rows:
        counts[len(row)] = counts.get(len(row), 0) + 1
    return max(counts.values()) / len(rows)


def _header(rows: list[list[str]]) -> Guess:
    """A first row is a header when none of its values is a number while some column below holds numbers, or when
    its values are short names and differ in kind from the rows below."""
    first, rest = rows[0], rows[1:200]
    if any(_is_number(v) for v in first):
        return Guess(False, "likely", f"the first row holds a number ({next(v for v in first if _is_number(v))!r})")
    for index, value in enumerate(first):
        below = [row[index] for row in rest if index < len(row) and row[index] != ""]
        if below and sum(map(_is_number, below)) >= 0.9 * len(below):
            return Guess(True, "certain", f"column {index + 1} holds numbers below a first row naming it {value!r}")
    if all(len(v) <= 40 and len(v.split()) <= 3 for v in first) and rest:
        longest = max(len(v) for row in rest for v in row) if rest else 0
        if longest > 2 * max(len(v) for v in first):
            return Guess(True, "likely", "the first row's values are short names, the rows below longer texts")
    return Guess(False, "guess", "the first row looks like the rows below it")


def _no_rows(path: Path, why: str) -> BenchkitError:
    return BenchkitError(Problem(f"no data rows: {why}", file=str(path), field="FILE",
                                 hint="pass the split's file with its rows (one example per line or record)"))


def _names_only(row: list[str]) -> bool:
    """A row of column names (a header): identifier-like values, none a number."""
    return all(re.fullmatch(r"[A-Za-z_#][\w .#-]{0,39}", v.strip()) and len(v.split()) <= 3 and not _is_number(v)
               for v in row)


def _json_records(path: Path, text: str) -> tuple[list[Any], Guess]:
    """The records of a JSON array or a JSON Lines file; a line that is not JSON is one problem at its line."""
    if text.lstrip().startswith("["):
        try:
            return json.loads(text), Guess("json", "certain", "the file is one JSON array")
        except ValueError as err:
            raise BenchkitError(Problem(f"not valid JSON: {err}", file=str(path), field="FILE",
                                        hint="fix the file, or save it as JSON Lines (one object per line)")) from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as err:
            raise BenchkitError(Problem(f"not a JSON object: {err.msg}", file=str(path), line=number, field="FILE",
                                        hint="JSON Lines hold one JSON object per line")) from None
    return records, Guess("jsonl", "certain", "one JSON object per line")


def _delimited(path: Path, text: str, extension_format: str | None) -> tuple[str, list[str], list[list[str]], int,
                                                                              dict[str, Guess]]:
    lines = text.splitlines()[:200]
    candidates = ["\t", ",", ";", "|"]
    counts = {d: sum(line.count(d) for line in lines) for d in candidates}
    expected = {"tsv": "\t", "csv": ","}.get(extension_format or "")
    if expected and counts[expected] >= len(lines) * 0.8:
        delimiter, why = expected, f"the .{path.suffix.lstrip('.')} extension, and every line holds it"
    else:
        delimiter = max(candidates, key=lambda d: (counts[d], d == "\t"))
        why = f"the most frequent of tab, comma, semicolon and bar ({counts[delimiter]} in the first lines)"
    name = "tsv" if delimiter == "\t" else "csv"
    options = {"delimiter": Guess(delimiter, "likely", why)}
    plain = _parse(text, delimiter, csv.QUOTE_NONE)
    quoted = _parse(text, delimiter, csv.QUOTE_MINIMAL)
    has_quotes = any(v.startswith('"') for row in plain[:2000] for v in row)
    if not has_quotes:
        options["quoting"] = Guess("none" if name == "tsv" else "minimal", "likely", "no field starts with a quote")
        rows = plain if name == "tsv" else quoted
    elif _consistency(plain) >= _consistency(quoted) and len(plain) >= len(quoted):
        # GLUE's TSVs: quotes are text (a sentence may start with one), and quote-aware reading would merge lines
        options["quoting"] = Guess("none", "likely", f"reading quotes as text keeps {len(plain):,} rows of equal "
                                                     f"width; quote-aware reading gives {len(quoted):,}")
        rows = plain
    else:
        options["quoting"] = Guess("minimal", "likely", "quoted fields hold delimiters or line breaks")
        rows = quoted
    if not rows:
        raise _no_rows(path, "the file is empty")
    header = _header(rows)
    if len(rows) == 1 and _names_only(rows[0]):
        raise _no_rows(path, f"the file holds only a header ({', '.join(rows[0])})")
    options["header"] = header
    width = max((len(r) for r in rows[:2000]), default=0)
    columns = rows[0] if header.value else [f"col{i + 1}" for i in range(width)]
    data = rows[1:] if header.value else rows
    return name, columns, data[:SAMPLE_ROWS], len(data), options


def _conll(text: str) -> tuple[list[list[Any]], int, dict[str, Guess]]:
    sentences: list[list[Any]] = []
    tokens: list[str] = []
    tags: list[str] = []
    widths: set[int] = set()
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if tokens:
                sentences.append([tokens, tags])
                tokens, tags = [], []
            continue
        widths.add(len(parts))
        tokens.append(parts[0])
        tags.append(parts[-1])
    if tokens:
        sentences.append([tokens, tags])
    options = {"tag_column": Guess(-1, "likely", f"the last of {max(widths, default=0)} columns holds the tags")}
    return sentences[:SAMPLE_ROWS], len(sentences), options


def _looks_conll(text: str) -> bool:
    lines = [line for line in text.splitlines()[:400] if line.strip()]
    if not lines:
        return False
    short = sum(1 for line in lines if 2 <= len(line.split()) <= 6 and len(line) < 80)
    blank_separated = "\n\n" in text[:20000]
    return blank_separated and short >= 0.9 * len(lines)


def sniff(path: Path) -> Sniffed:
    if not path.is_file():
        raise BenchkitError(Problem("not a file", file=str(path), hint="pass the data files, e.g. data/x/train.tsv"))
    extension = EXTENSIONS.get(path.suffix.lower())
    if extension == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as err:
            raise BenchkitError(Problem(f"not a Parquet file: {err}", file=str(path), field="FILE",
                                        hint="pass the split's .parquet file as written by pyarrow or datasets")) \
                from None
        if table.num_rows == 0:
            raise _no_rows(path, "the table has no rows")
        columns = table.column_names
        sample = table.slice(0, SAMPLE_ROWS).to_pylist()
        return Sniffed(path, Guess("parquet", "certain", "the .parquet extension"), Guess("binary", "certain", ""),
                       columns, [[row.get(c) for c in columns] for row in sample], table.num_rows)
    text, encoding = _decode(path)
    if extension in ("jsonl", "json") or text.lstrip()[:1] in ("{", "["):
        records, fmt = _json_records(path, text)
        records = [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
        if not records:
            raise _no_rows(path, "the file holds no JSON object" + (
                "" if text.strip() else " (it is empty)") + (
                "; nested records are read with source.read.records_path, which new task does not infer"
                if text.strip() else ""))
        columns = list(dict.fromkeys(k for r in records[:SAMPLE_ROWS] for k in r))
        rows = [[r.get(c) for c in columns] for r in records[:SAMPLE_ROWS]]
        return Sniffed(path, fmt, encoding, columns, rows, len(records))
    if not text.strip():
        raise _no_rows(path, "the file is empty")
    if extension == "conll" or (extension is None and _looks_conll(text)):
        rows, total, options = _conll(text)
        if not rows:
            raise _no_rows(path, "the file holds no token line")
        why = "the extension" if extension else "token-per-line blocks separated by blank lines"
        return Sniffed(path, Guess("conll", "likely", why), encoding, ["tokens", "tags"], rows, total, options)
    name, columns, rows, total, options = _delimited(path, text, extension)
    fmt = Guess(name, "likely", options["delimiter"].why)
    return Sniffed(path, fmt, encoding, columns, rows, total, options)
