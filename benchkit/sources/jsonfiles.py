"""JSON Lines (one object per line) and JSON (an array of objects, optionally under a key path)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import RawTable, read_text, register_reader
from benchkit.sources.nested import NestingError, unfold

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source


def _frame(objects: list[dict[str, Any]]):
    import pandas as pd

    columns: dict[str, None] = {}
    for obj in objects:
        columns.update(dict.fromkeys(obj))
    return pd.DataFrame.from_records(objects, columns=list(columns)).astype(object)


def json_lines(text: str) -> Iterator[tuple[int, Any, json.JSONDecodeError | None]]:
    """Each non-blank line of a JSON Lines text: (its 1-based number, its value, None), or (number, None, the
    error) for a line that is not JSON. Readers of data files and of predictions files word their problems."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            yield number, None, err
            continue
        yield number, value, None


def read_jsonl(path: str, options: "ReadOptions", source: "Source") -> RawTable:
    text = read_text(path, options.encoding)
    objects: list[dict[str, Any]] = []
    locations: list[int] = []
    problems: list[Problem] = []
    for number, obj, error in json_lines(text):
        if error is not None:
            problems.append(Problem(f"invalid JSON: {error.msg} at column {error.colno}", file=path, line=number,
                                    hint="each line must hold one complete JSON object"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(f"expected a JSON object, found {type(obj).__name__}", file=path, line=number,
                                    hint="JSON Lines files hold one object per line"))
            continue
        try:
            rows = unfold(obj, options.unnest)
        except NestingError as err:
            problems.append(Problem(str(err), file=path, line=number, field=err.field, hint=err.hint))
            continue
        objects.extend(rows)
        locations.extend([number] * len(rows))
    if not objects and not problems:
        raise BenchkitError(Problem("file is empty: no JSON objects", file=path, hint="check that the download completed"))
    return RawTable(path, _frame(objects), locations, "line", problems)


def read_json(path: str, options: "ReadOptions", source: "Source") -> RawTable:
    text = read_text(path, options.encoding)
    if not text.strip():
        raise BenchkitError(Problem("file is empty", file=path, hint="check that the download completed"))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BenchkitError(Problem(f"invalid JSON: {err.msg} at column {err.colno}", file=path, line=err.lineno,
                                    hint="if the file holds one object per line, use format: jsonl")) from None
    for key in (options.records_path or "").split(".") if options.records_path else []:
        if not isinstance(data, dict) or key not in data:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise BenchkitError(Problem(f"records_path '{options.records_path}': no key '{key}' (found {found})",
                                        file=path, field="read.records_path", hint="name the key that holds the list of records"))
        data = data[key]
    if not isinstance(data, list):
        raise BenchkitError(Problem(f"expected a JSON array of records, found {type(data).__name__}", file=path,
                                    field="read.records_path", hint="set read.records_path to the key that holds the records"))
    objects: list[dict[str, Any]] = []
    locations: list[int] = []
    problems: list[Problem] = []
    for index, obj in enumerate(data):
        if isinstance(obj, dict):
            try:
                rows = unfold(obj, options.unnest)
            except NestingError as err:
                problems.append(Problem(str(err), file=path, line=index, field=err.field, hint=err.hint,
                                        location_kind="record"))
                continue
            objects.extend(rows)
            locations.extend([index] * len(rows))
        else:
            problems.append(Problem(f"expected a JSON object, found {type(obj).__name__}", file=path, line=index,
                                    location_kind="record", hint="every record must be an object"))
    return RawTable(path, _frame(objects), locations, "record", problems)


register_reader("jsonl", read_jsonl)
register_reader("json", read_json)
