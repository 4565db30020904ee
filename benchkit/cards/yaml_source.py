"""YAML reading that remembers the line of every key, so card errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchkit.errors import BenchkitError, Problem

Loc = tuple[str | int, ...]


class YamlDoc:
    """A parsed YAML mapping plus ``lines``: location path -> (file, 1-based line)."""

    def __init__(self, data: dict[str, Any], lines: dict[Loc, tuple[str, int]]):
        self.data = data
        self.lines = lines

    def line_of(self, loc: Loc) -> tuple[str, int] | None:
        """The line of the deepest known prefix of ``loc``."""
        for end in range(len(loc), -1, -1):
            hit = self.lines.get(tuple(loc[:end]))
            if hit:
                return hit
        return None


def _walk(node: yaml.Node, loc: Loc, file: str, lines: dict[Loc, tuple[str, int]]) -> None:
    lines.setdefault(loc, (file, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise BenchkitError(Problem(f"duplicate key '{key}' (first on line {seen[key]})", file=file, line=line,
                                            hint="a key may appear once per mapping"))
            seen[key] = line
            lines[(*loc, key)] = (file, line)
            _walk(value_node, (*loc, key), file, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = (file, item.start_mark.line + 1)
            _walk(item, (*loc, index), file, lines)


def read_yaml(path: Path) -> YamlDoc:
    file = str(path)
    if path.is_dir():
        raise BenchkitError(Problem("is a directory, expected a YAML card", file=file, hint="name the .yaml file"))
    if not path.exists():
        raise BenchkitError(Problem("card not found", file=file, hint="run 'benchkit ls' to list the built-in cards"))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise BenchkitError(Problem(f"not UTF-8: cannot decode byte 0x{raw[err.start]:02x}", file=file, line=line,
                                    hint="save the card as UTF-8")) from None
    if not text.strip():
        raise BenchkitError(Problem("empty card: the file holds no YAML", file=file,
                                    hint="see tasks/glue/sst2.yaml for a complete task card"))
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise BenchkitError(Problem("empty card: the file holds only comments", file=file,
                                        hint="see tasks/glue/sst2.yaml for a complete task card"))
        if not isinstance(node, yaml.MappingNode):
            raise BenchkitError(Problem(f"expected a mapping of fields at the top level, found a {node.id}", file=file,
                                        line=node.start_mark.line + 1, hint="a card is 'key: value' lines"))
        lines: dict[Loc, tuple[str, int]] = {}
        _walk(node, (), file, lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = err.problem or ""
        if err.context:  # e.g. "while parsing a flow sequence", which may have started lines earlier
            started = err.context_mark.line + 1 if err.context_mark else None
            since = f" started on line {started}" if started is not None and mark and started != mark.line + 1 else ""
            message = f"{err.context}{since}: {message}" if message else err.context
        raise BenchkitError(Problem(f"malformed YAML: {message}", file=file, line=mark.line + 1 if mark else None,
                                    hint="check indentation, colons and quotes around this line")) from None
    except yaml.YAMLError as err:
        raise BenchkitError(Problem(f"malformed YAML: {err}", file=file, hint="check the card's syntax")) from None
    finally:
        loader.dispose()
    return YamlDoc(data, lines)
