"""Recipes as data: hyperparameters layered from kit defaults, the suite card, the model alias, a recipe file and
the command line. The effective values, and which layer set each one, go into every run record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benchkit.contracts.recipe import RECIPE_FIELDS, Recipe
from benchkit.errors import BenchkitError, Problem, did_you_mean


def parse_overrides(pairs: tuple[str, ...], origin: str = "--set") -> dict[str, Any]:
    """``key=value`` pairs (values parsed as YAML scalars) into a dict, with did-you-mean on unknown keys."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise BenchkitError(Problem(f"expected key=value, got '{pair}'", field=origin, hint="e.g. --set learning_rate=1e-4"))
        if "." in key:  # a method's option (lora.r=8): checked against the method by train.methods.method_spec
            try:
                out[key] = yaml.safe_load(value)
            except yaml.YAMLError:
                raise BenchkitError(Problem(f"the value of '{key}' is not valid YAML: '{value}'", field=origin,
                                            hint=f"quote a text value: {origin} '{key}=\"{value}\"'")) from None
            continue
        if key not in RECIPE_FIELDS:
            raise BenchkitError(Problem(f"unknown recipe field '{key}'", field=origin,
                                        hint=did_you_mean(key, RECIPE_FIELDS) or f"fields: {', '.join(RECIPE_FIELDS)}"))
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:  # e.g. epochs=[1: one line, not a parser traceback
            detail = ": ".join(filter(None, (getattr(err, "context", None), getattr(err, "problem", None))))
            example = Recipe.model_fields[key].default
            message = f"the value of '{key}' is not valid YAML: '{value}'" + (f" ({detail})" if detail else "")
            raise BenchkitError(Problem(message, field=origin, hint=f"give a plain value, e.g. {origin} {key}="
                                        f"{1 if example is None else example}; quote a text value: "
                                        f"{origin} '{key}=\"{value}\"'")) from None
    return out


SECTIONS = ("tasks", "search")  # recipe-file keys that are not recipe fields


@dataclass(frozen=True)
class RecipeFile:
    """A recipe file: recipe fields for every task, per-task fields over them (``tasks:``, what ``benchkit search``
    writes; method options such as ``lora.r`` allowed there), and an optional search space (``search:``, read by
    ``benchkit search`` only)."""

    fields: dict[str, Any]
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: dict[str, Any] | None = None
    doc: Any = None  # the YamlDoc: the line of every key, for messages
    path: Path | None = None


def _check_fields(data: dict[str, Any], doc: Any, path: Path, prefix: tuple[str, ...] = (),
                  options: bool = False) -> None:
    """Unknown keys (with did-you-mean) and each value's type, with its line; the merged layers are checked again
    by resolve_recipe. ``options``: dotted method options (``lora.r``) are allowed and checked by the method."""
    fields = {k: v for k, v in data.items() if not (options and "." in str(k))}
    unknown = [k for k in fields if k not in RECIPE_FIELDS]
    if unknown:
        file, line = doc.line_of((*prefix, str(unknown[0]))) or (str(path), None)  # `1: x` has the int key 1
        raise BenchkitError(Problem(f"unknown recipe field '{unknown[0]}'", file=file, line=line, field=unknown[0],
                                    hint=did_you_mean(str(unknown[0]), RECIPE_FIELDS) or
                                    f"fields: {', '.join(RECIPE_FIELDS)}"))
    try:
        Recipe(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""  # no loc: a check across fields
        file, line = doc.line_of((*prefix, key) if key else prefix) or (str(path), None)
        example = Recipe.model_fields[key].default if key in Recipe.model_fields else None
        raise BenchkitError(Problem(f"{first['msg'][0].lower()}{first['msg'][1:]}, got {first.get('input')!r}",
                                    file=file, line=line if key else None, field=key or None,
                                    hint=f"e.g. {key}: {1 if example is None else example}" if key else None)) from None


def load_recipe_document(path: Path) -> RecipeFile:
    from benchkit.cards.yaml_source import read_yaml

    doc = read_yaml(path, kind="recipe file")
    fields = {k: v for k, v in doc.data.items() if k not in SECTIONS}
    _check_fields(fields, doc, path)
    tasks = doc.data.get("tasks") or {}
    if not isinstance(tasks, dict) or not all(isinstance(v, dict) for v in tasks.values()):
        file, line = doc.line_of(("tasks",)) or (str(path), None)
        raise BenchkitError(Problem("expected task ids mapped to recipe fields", file=file, line=line, field="tasks",
                                    hint="e.g. tasks: {glue/rte: {learning_rate: 1.0e-4}}"))
    for task, values in tasks.items():
        _check_fields(values, doc, path, ("tasks", str(task)), options=True)
    search = doc.data.get("search")
    if search is not None and not isinstance(search, dict):
        file, line = doc.line_of(("search",)) or (str(path), None)
        raise BenchkitError(Problem("expected recipe fields mapped to distributions", file=file, line=line,
                                    field="search", hint="e.g. search: {learning_rate: {log_uniform: [1.0e-5, 3.0e-4]}}"))
    return RecipeFile(fields, {str(k): v for k, v in tasks.items()}, search, doc, path)



def resolve_recipe(layers: list[tuple[str, dict[str, Any]]]) -> tuple[Recipe, dict[str, str]]:
    """Apply layers in order (later wins); returns the recipe and, per field, the layer that set it."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {name: "default" for name in RECIPE_FIELDS}
    for origin, layer in layers:
        for key, value in layer.items():
            values[key] = value
            sources[key] = origin
    try:
        return Recipe(**values), sources
    except ValidationError as err:
        first = err.errors()[0]
        if not first["loc"]:  # a check across fields (window_stride against max_length): name both layers
            message = str(first["msg"]).removeprefix("Value error, ")
            raise BenchkitError(Problem(message, field="recipe.window_stride",
                                        hint=f"window_stride set by {sources['window_stride']}, max_length by "
                                             f"{sources['max_length']}")) from None
        key = str(first["loc"][0])
        raise BenchkitError(Problem(f"{first['msg']}, got {first.get('input')!r}", field=f"recipe.{key}",
                                    hint=f"set by {sources.get(key, '?')}")) from None
