"""The reader interface: a format turns one split's file (or Hub split) into a ``RawTable``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from benchkit.contracts.formats import FORMATS
from benchkit.errors import BenchkitError, Problem
from benchkit.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

    from benchkit.cards.schema import ReadOptions, Source

LocationKind = Literal["line", "row", "record"]


@dataclass(frozen=True)
class DeclaredColumn:
    """What a typed source (a Hub dataset's features) says a column holds, so the card can be checked against it
    before any row is: ``kind`` text, number, class_label, list or other; ``names`` the ClassLabel names in order
    (of the items, for a list); ``item`` the kind of a list's items."""

    kind: Literal["text", "number", "class_label", "list", "other"]
    names: tuple[str, ...] = ()
    item: str | None = None


@dataclass
class RawTable:
    """A split as read from its file: raw values, plus where each row came from.

    ``locations[i]`` is the 1-based line of row i for text formats, or its 0-based row/record index
    otherwise; every message about row i names it. ``problems`` are rows the reader had to drop
    (ragged rows, unparsable JSON lines), reported together rather than one at a time.
    """

    source: str
    frame: "pd.DataFrame"
    locations: list[int]
    location_kind: LocationKind = "line"
    problems: list[Problem] = field(default_factory=list)
    declared: dict[str, DeclaredColumn] = field(default_factory=dict)  # column -> declared type (Hub features)

    def example(self) -> str:
        """'; first row: {...}' (its raw values, cut at 200 characters), for messages about a file whose columns are
        not what the card expects; empty for a table without rows."""
        if not len(self.frame):
            return ""
        first = {k: v for k, v in self.frame.iloc[0].to_dict().items() if not str(k).startswith("@")}
        text = json.dumps(first, ensure_ascii=False, default=str)
        return f"; first row: {text[:200]}{'...' if len(text) > 200 else ''}"

    def problem(self, row: int, message: str, *, field: str | None = None, hint: str | None = None,
                severity: Literal["error", "warning"] = "error") -> Problem:
        return Problem(message, file=self.source, line=self.locations[row], field=field, hint=hint,
                       severity=severity, location_kind=self.location_kind)


Reader = Callable[[str, "ReadOptions", "Source"], RawTable]


@dataclass(frozen=True)
class FormatReader:
    """How a declared format (``benchkit.contracts.formats.FORMATS``) is read."""

    read: Reader
    # For non-local formats: read a split from a local copy (folder, split name, source); None: no local copies.
    read_copy: Callable[[Path, str, "Source"], RawTable] | None = None


READERS: Registry[FormatReader] = Registry("format reader")


def register_reader(name: str, read: Reader, read_copy: Callable[[Path, str, "Source"], RawTable] | None = None) -> None:
    """Register the reader of a format; the format must be declared in ``contracts.formats`` (unknown: an error)."""
    READERS.add(FORMATS.get(name).name, FormatReader(read, read_copy))


def reader(format_name: str) -> FormatReader:
    return READERS.get(FORMATS.canonical(format_name))


def read_table(target: str, source: "Source", options: "ReadOptions") -> RawTable:
    """Read one split with the source's format; ``target`` is a file path, or a Hub split name."""
    return reader(source.format).read(target, options, source)


def check_file(path: str) -> Path:
    p = Path(path)
    if p.is_dir():
        raise BenchkitError(Problem("is a directory, expected a file", file=path,
                                    hint="point the split's 'file' at the data file inside it"))
    if not p.exists():
        raise BenchkitError(Problem("file not found", file=path,
                                    hint="check --data-dir and the card's source.dir / split file"))
    return p


def read_text(path: str, encoding: str) -> str:
    """Decode a whole file; a UTF-8 byte-order mark is dropped (MRPC's files start with one)."""
    raw = check_file(path).read_bytes()
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        enc = "utf-8-sig"
    try:
        return raw.decode(enc)
    except LookupError:
        raise BenchkitError(Problem(f"unknown encoding '{encoding}'", file=path, field="read.encoding",
                                    hint="use a Python codec name such as utf-8, cp1250 or utf-16")) from None
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise BenchkitError(Problem(
            f"cannot decode byte 0x{raw[err.start]:02x} as {encoding}", file=path, line=line,
            field="read.encoding", hint="re-save the file as UTF-8 or set read.encoding in the card "
                                        "(e.g. cp1250 or iso8859-2 for a legacy Central European file)")) from None


def raw_key(value: Any) -> str:
    """The string form of a raw value, used to match labels: JSON scalars keep their JSON spelling."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)
