"""Load a card: read YAML with line numbers, apply ``extends:``, validate, turn every error into a Problem."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from benchkit.cards.paths import benchmark_root, outside
from benchkit.cards.roots import catalog_card, trusted_roots
from benchkit.cards.schema import CardValueError, SuiteCard, TaskCard
from benchkit.cards.yaml_source import Loc, YamlDoc, read_yaml
from benchkit.errors import BenchkitError, Problem, did_you_mean

M = TypeVar("M", bound=BaseModel)


def _merge(base: Any, overlay: Any) -> Any:
    """Mappings merge key by key; anything else in the overlay replaces the base."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return overlay


def read_with_extends(path: Path, _chain: tuple[Path, ...] = ()) -> YamlDoc:
    """Read a card and the cards it extends (paths relative to the card), child values winning."""
    doc = read_yaml(path)
    parent = doc.data.pop("extends", None)
    if parent is None:
        return doc
    where = doc.lines.get(("extends",), (str(path), 1))
    if not isinstance(parent, str):
        raise BenchkitError(Problem("expected a file path", file=where[0], line=where[1], field="extends",
                                    hint="e.g. extends: _glue.yaml (relative to this card)"))
    root = benchmark_root(path)
    target = path.parent / parent
    if not target.exists():
        target = catalog_card(parent) or target  # a catalog card by id: extends: glue/sst2
    parent_path = target.resolve()
    if all(outside(target, allowed) is not None for allowed in (root, *trusted_roots())):
        raise BenchkitError(Problem(f"'{parent}' is outside this benchmark ({root}) and not a catalog card",
                                    file=where[0], line=where[1], field="extends",
                                    hint="extend a card of this benchmark by a path relative to this card (extends: "
                                         "_glue.yaml), or a catalog card by its id (extends: glue/sst2)"))
    if parent_path in _chain or parent_path == path.resolve():
        raise BenchkitError(Problem(f"'{parent}' extends this card again (a cycle)", file=where[0], line=where[1],
                                    field="extends", hint="remove one of the extends: lines"))
    if parent_path.is_dir():
        raise BenchkitError(Problem(f"'{parent}' is a directory, expected a card file", file=where[0], line=where[1],
                                    field="extends", hint=f"name the .yaml file inside {parent_path}"))
    if not parent_path.is_file():
        raise BenchkitError(Problem(f"'{parent}' not found", file=where[0], line=where[1], field="extends",
                                    hint=f"the path is relative to the card: looked for {parent_path}"))
    base = read_with_extends(parent_path, (*_chain, path.resolve()))
    _drop_unmatched(base, doc.data)
    lines = {loc: line for loc, line in base.lines.items() if loc != ("extends",)}
    lines.update(doc.lines)
    return YamlDoc(_merge(base.data, doc.data), lines)


# Keys whose value describes others: a child that sets one of those others and not the key itself inherits no value
# for it. A suite card's score data name its rule and its tasks; `extends: glue` with its own task list (or its own
# score_rule) and no score: block is scored by the rule it names, as before score rules were data.
# A task card's prompt names its labels (verbalisers) and its type's roles: a child with labels or a type of its
# own (Polish label strings over a LEPISZCZE card) inherits no prompt, rather than one that no longer fits.
GOES_WITH = {"score": ("score_rule", "tasks"), "prompt": ("labels.names", "type")}


def _sets(child: dict[str, Any], dotted: str) -> bool:
    value: Any = child
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _drop_unmatched(base: YamlDoc, child: Any) -> None:
    if not isinstance(child, dict) or not isinstance(base.data, dict):
        return
    for key, others in GOES_WITH.items():
        if key not in child and key in base.data and any(_sets(child, other) for other in others):
            del base.data[key]
            for loc in [loc for loc in base.lines if loc[:1] == (key,)]:
                del base.lines[loc]


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation can hold, looking through Optional, list and dict."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation]
    args = typing.get_args(annotation)
    if origin in (list, tuple):
        return [a for arg in args[:1] for a in _unwrap(arg)]
    if origin is dict:
        return _unwrap(args[1])
    return [a for arg in args for a in _unwrap(arg)]


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names a mapping at ``loc`` may hold (for did-you-mean on unknown fields)."""
    current: list[Any] = [model]
    for part in loc:
        found: list[Any] = []
        for cls in current:
            if isinstance(cls, type) and issubclass(cls, BaseModel):
                for name, info in cls.model_fields.items():
                    if part in (name, info.alias):
                        found.extend(_unwrap(info.annotation))
            else:
                found.append(cls)  # a list index or dict key: stay on the element type
        current = [c for c in found if c is not type(None)] or current
        if all(not (isinstance(c, type) and issubclass(c, BaseModel)) for c in current):
            current = found
    keys: list[str] = []
    for cls in current:
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            keys.extend(info.alias or name for name, info in cls.model_fields.items())
    return keys


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(err: ValidationError, doc: YamlDoc, model: type[BaseModel], file: str) -> list[Problem]:
    problems: list[Problem] = []
    items = [(tuple(p for p in item["loc"] if p not in ("function-after", "function-before")), item)
             for item in err.errors()]
    # A misspelt field is reported once, as unknown with a did-you-mean, not also as a missing required field.
    misspelt = {(*loc[:-1], match) for loc, item in items if item["type"] == "extra_forbidden"
                for match in difflib.get_close_matches(str(loc[-1]), _allowed_keys(model, loc[:-1]), n=1, cutoff=0.6)}
    for loc, item in items:
        kind = item["type"]
        hint: str | None = None
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            message = f"unknown field '{loc[-1]}'"
            hint = did_you_mean(str(loc[-1]), allowed) or f"allowed fields here: {', '.join(allowed)}"
        elif kind == "missing":
            if loc in misspelt:
                continue
            message = f"missing required field '{loc[-1]}'"
            hint = "add it to the card (see tasks/glue/sst2.yaml for a complete example)"
            if len(loc) == 1:  # a top-level field has no line to point at
                problems.append(Problem(message, file=file, field=_dotted(loc), hint=hint))
                continue
        elif isinstance(item.get("ctx", {}).get("error"), CardValueError):
            error = item["ctx"]["error"]
            message, hint = str(error), error.hint
            loc = (*loc, *error.loc)
        else:
            value = item.get("input")
            got = repr(value)
            message = f"{item['msg'][0].lower()}{item['msg'][1:]}, got {got if len(got) < 60 else got[:57] + '...'}"
            if kind == "string_type" and isinstance(value, (bool, int, float)):  # `version: 1.0`, `language: no`
                hint = f"YAML reads this value as {'a boolean' if isinstance(value, bool) else 'a number'}; quote it"
        where = doc.line_of(loc)
        problems.append(Problem(message, file=where[0] if where else file, line=where[1] if where else None,
                                field=_dotted(loc) or None, hint=hint))
    return problems


def load_model(path: Path, model: type[M]) -> M:
    doc = read_with_extends(path)
    try:
        return model.model_validate(doc.data)
    except ValidationError as err:
        raise BenchkitError(*_problems(err, doc, model, str(path))) from None
    except BenchkitError:
        raise


def load_task_card(path: Path) -> TaskCard:
    return load_model(path, TaskCard)


def load_suite_card(path: Path) -> SuiteCard:
    return load_model(path, SuiteCard)
