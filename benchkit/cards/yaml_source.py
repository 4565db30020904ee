"""YAML reading that remembers the line of every key, so card errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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


# A card is a few hundred values. YAML aliases can make a short file expand to billions ("billion laughs"), and an
# alias inside its own anchor to an endless structure: both are refused while the file is walked, before anything
# is built from it.
MAX_VALUES = 100_000
MAX_DEPTH = 64


class _Budget:
    def __init__(self) -> None:
        self.values = 0


def _walk(node: yaml.Node, loc: Loc, file: str, lines: dict[Loc, tuple[str, int]],
          budget: _Budget | None = None) -> None:
    budget = budget or _Budget()
    budget.values += 1
    if budget.values > MAX_VALUES or len(loc) > MAX_DEPTH:
        what = (f"more than {MAX_VALUES:,} values" if budget.values > MAX_VALUES
                else f"nesting deeper than {MAX_DEPTH} levels")
        raise BenchkitError(Problem(f"the YAML expands to {what} through its anchors and aliases (&name, *name)",
                                    file=file, line=node.start_mark.line + 1,
                                    hint="write the values out; a card needs no alias that repeats or contains itself"))
    lines.setdefault(loc, (file, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]` or `{[1, 2]: x}`: unhashable, and no field name
                raise BenchkitError(Problem(f"a key must be a plain name, found a {key_node.id}", file=file, line=line,
                                            hint="write 'name: value'; quote a key that starts with [ or {"))
            if key in seen:
                raise BenchkitError(Problem(f"duplicate key '{key}' (first on line {seen[key]})", file=file, line=line,
                                            hint="a key may appear once per mapping"))
            seen[key] = line
            lines[(*loc, key)] = (file, line)
            _walk(value_node, (*loc, key), file, lines, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = (file, item.start_mark.line + 1)
            _walk(item, (*loc, index), file, lines, budget)


@dataclass(frozen=True)
class _Kind:
    """How read_yaml's messages name the file it reads: a card, or a recipe file (``benchkit run --recipe``)."""

    noun: str
    syntax: str  # "malformed {syntax}: ..."
    fields: str  # "expected a mapping of {fields} at the top level"
    not_found_hint: str
    example_hint: str
    mapping_hint: str


KINDS = {
    "card": _Kind("card", "YAML", "fields", "run 'benchkit ls' to list the built-in cards",
                  "see tasks/glue/sst2.yaml for a complete task card", "a card is 'key: value' lines"),
    "recipe file": _Kind("recipe file", "YAML in the recipe file", "recipe fields", "check the path given to --recipe",
                         "a recipe file holds recipe fields, e.g. 'epochs: 3'",
                         "a recipe file is 'field: value' lines, e.g. 'epochs: 3'"),
}


def read_yaml(path: Path, kind: Literal["card", "recipe file"] = "card") -> YamlDoc:
    """A YAML mapping with the line of every key; ``kind`` ("card" or "recipe file") words the messages."""
    file, what = str(path), KINDS[kind]
    if path.is_dir():
        raise BenchkitError(Problem(f"is a directory, expected a YAML {what.noun}", file=file,
                                    hint="name the .yaml file"))
    if not path.exists():
        raise BenchkitError(Problem(f"{what.noun} not found", file=file, hint=what.not_found_hint))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise BenchkitError(Problem(f"not UTF-8: cannot decode byte 0x{raw[err.start]:02x}", file=file, line=line,
                                    hint=f"save the {what.noun} as UTF-8")) from None
    if not text.strip():
        raise BenchkitError(Problem(f"empty {what.noun}: the file holds no YAML", file=file, hint=what.example_hint))
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise BenchkitError(Problem(f"empty {what.noun}: the file holds only comments", file=file,
                                        hint=what.example_hint))
        if not isinstance(node, yaml.MappingNode):
            raise BenchkitError(Problem(f"expected a mapping of {what.fields} at the top level, found a {node.id}",
                                        file=file, line=node.start_mark.line + 1, hint=what.mapping_hint))
        lines: dict[Loc, tuple[str, int]] = {}
        _walk(node, (), file, lines)
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as err:  # a tag the safe loader does not build: !!python/object...
        mark = err.problem_mark or err.context_mark
        tag = (err.problem or "").rpartition("tag ")[2].strip("'") or "?"
        raise BenchkitError(Problem(f"the YAML tag {tag} is refused: a {what.noun} holds plain data, and tags that "
                                    "build objects or run code are never read", file=file,
                                    line=mark.line + 1 if mark else None,
                                    hint="remove the tag and write the value itself")) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = err.problem or ""
        if err.context:  # e.g. "while parsing a flow sequence", which may have started lines earlier
            started = err.context_mark.line + 1 if err.context_mark else None
            since = f" started on line {started}" if started is not None and mark and started != mark.line + 1 else ""
            message = f"{err.context}{since}: {message}" if message else err.context
        raise BenchkitError(Problem(f"malformed {what.syntax}: {message}", file=file,
                                    line=mark.line + 1 if mark else None,
                                    hint="check indentation, colons and quotes around this line")) from None
    except yaml.YAMLError as err:
        raise BenchkitError(Problem(f"malformed {what.syntax}: {err}", file=file,
                                    hint=f"check the {what.noun}'s syntax")) from None
    finally:
        loader.dispose()
    return YamlDoc(data, lines)
