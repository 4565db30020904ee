"""Search spaces as data: recipe fields (and method options such as ``lora.r``) mapped to distributions.

In a recipe file's ``search:`` section, or in ``benchkit/search/spaces.yaml`` (the default space per method)::

    search:
      learning_rate: {log_uniform: [1.0e-5, 3.0e-4], grid: 3}   # grid: how many points the grid strategy takes
      warmup_ratio: {uniform: [0.0, 0.2]}
      epochs: {int_uniform: [2, 5]}
      batch_size: {choice: [16, 32]}
      lora.r: {choice: [4, 8, 16]}

Distributions: ``log_uniform`` and ``uniform`` ([low, high], floats), ``int_uniform`` ([low, high], integers,
both ends included) and ``choice`` (a list of values). The grid strategy enumerates ``choice`` values and ``grid``
evenly spaced points of the others (log-spaced for ``log_uniform``; every integer of an ``int_uniform`` without
``grid``).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem, did_you_mean

KINDS = ("log_uniform", "uniform", "int_uniform", "choice")


@dataclass(frozen=True)
class Distribution:
    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()
    grid: int | None = None

    def sample(self, rng: random.Random) -> Any:
        if self.kind == "choice":
            return self.values[rng.randrange(len(self.values))]
        assert self.low is not None and self.high is not None
        if self.kind == "int_uniform":
            return rng.randint(int(self.low), int(self.high))
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def grid_points(self, name: str) -> list[Any]:
        if self.kind == "choice":
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.kind == "int_uniform" and self.grid is None:
            return list(range(int(self.low), int(self.high) + 1))
        if self.grid is None:
            raise BenchkitError(Problem(f"the grid strategy needs a number of points for '{name}' ({self.kind})",
                                        field=f"search.{name}", hint=f"add grid: N, e.g. {{{self.kind}: "
                                                                     f"[{self.low}, {self.high}], grid: 3}}"))
        if self.grid == 1:
            return [self._at(0.5)]
        return [self._at(i / (self.grid - 1)) for i in range(self.grid)]

    def _at(self, t: float) -> Any:
        assert self.low is not None and self.high is not None
        if self.kind == "log_uniform":
            return float(f"{math.exp(math.log(self.low) + t * (math.log(self.high) - math.log(self.low))):.4g}")
        if self.kind == "int_uniform":
            return int(round(self.low + t * (self.high - self.low)))
        return float(f"{self.low + t * (self.high - self.low):.4g}")

    def suggest(self, trial: Any, name: str) -> Any:
        """The value an Optuna trial suggests."""
        if self.kind == "choice":
            return trial.suggest_categorical(name, list(self.values))
        if self.kind == "int_uniform":
            return trial.suggest_int(name, int(self.low), int(self.high))  # type: ignore[arg-type]
        return trial.suggest_float(name, self.low, self.high, log=self.kind == "log_uniform")

    def describe(self) -> str:
        if self.kind == "choice":
            return f"choice {list(self.values)}"
        return f"{self.kind} [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class SearchSpace:
    params: dict[str, Distribution]
    source: str  # where it came from, for the report

    def grid(self) -> list[dict[str, Any]]:
        names = list(self.params)
        axes = [self.params[n].grid_points(n) for n in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*axes)]

    def sample(self, rng: random.Random) -> dict[str, Any]:
        return {name: dist.sample(rng) for name, dist in self.params.items()}

    def describe(self) -> dict[str, str]:
        return {name: dist.describe() for name, dist in self.params.items()}

    def without(self, names: set[str]) -> SearchSpace:
        """The space less the parameters ``names`` (fields fixed for every trial with ``--set``)."""
        return SearchSpace({n: d for n, d in self.params.items() if n not in names}, self.source)


def _problem(message: str, name: str, where: tuple[str, int | None], hint: str) -> BenchkitError:
    return BenchkitError(Problem(message, file=where[0], line=where[1], field=f"search.{name}", hint=hint))


def parse_distribution(name: str, spec: Any, where: tuple[str, int | None]) -> Distribution:
    example = "e.g. {log_uniform: [1.0e-5, 3.0e-4]} or {choice: [16, 32]}"
    if not isinstance(spec, dict):
        raise _problem(f"expected a distribution, got {spec!r}", name, where, example)
    kinds = [k for k in spec if k in KINDS]
    extra = [k for k in spec if k not in (*KINDS, "grid")]
    if extra:
        raise _problem(f"unknown key '{extra[0]}'", name, where,
                       did_you_mean(str(extra[0]), (*KINDS, "grid")) or f"distributions: {', '.join(KINDS)}")
    if len(kinds) != 1:
        raise _problem(f"expected exactly one of {', '.join(KINDS)}", name, where, example)
    kind, value = kinds[0], spec[kinds[0]]
    grid = spec.get("grid")
    if grid is not None and (isinstance(grid, bool) or not isinstance(grid, int) or grid < 1):
        raise _problem(f"grid must be a whole number of points from 1, got {grid!r}", name, where, "e.g. grid: 3")
    if kind == "choice":
        if not isinstance(value, list) or not value or len({repr(v) for v in value}) != len(value):
            raise _problem(f"choice needs a list of distinct values, got {value!r}", name, where, "e.g. {choice: [16, 32]}")
        return Distribution("choice", values=tuple(value))
    numeric = isinstance(value, list) and len(value) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not numeric or value[0] >= value[1]:
        raise _problem(f"{kind} needs [low, high] with low < high, got {value!r}", name, where,
                       f"e.g. {{{kind}: [1.0e-5, 3.0e-4]}}")
    if kind == "log_uniform" and value[0] <= 0:
        raise _problem(f"log_uniform needs low > 0, got {value[0]!r}", name, where, "use uniform for ranges from 0")
    if kind == "int_uniform" and not all(isinstance(v, int) for v in value):
        raise _problem(f"int_uniform needs whole numbers, got {value!r}", name, where, "e.g. {int_uniform: [2, 5]}")
    return Distribution(kind, float(value[0]), float(value[1]), grid=grid)


def parse_space(data: dict[str, Any], file: str, line_of: Any = None) -> SearchSpace:
    """A ``search:`` mapping checked key by key: recipe fields or method options (``lora.r``), each a distribution."""
    from benchkit.contracts.recipe import RECIPE_FIELDS

    if not data:
        raise BenchkitError(Problem("the search space is empty", file=file, field="search",
                                    hint="name at least one recipe field, e.g. learning_rate: {log_uniform: "
                                         "[1.0e-5, 3.0e-4]}"))
    params = {}
    for name, spec in data.items():
        where = (line_of(("search", str(name))) if line_of else None) or (file, None)
        name = str(name)
        if "." not in name and name not in RECIPE_FIELDS:
            raise _problem(f"unknown recipe field '{name}'", name, where,
                           did_you_mean(name, RECIPE_FIELDS) or "a recipe field, or a method option such as lora.r")
        if name in ("select", "select_on", "holdout_fraction", "holdout_seed", "save_model", "bootstrap_resamples"):
            raise _problem(f"'{name}' is part of the selection protocol, not a hyperparameter", name, where,
                           "set it for the whole search with --set (or --select-on)")
        params[name] = parse_distribution(name, spec, where)
    return SearchSpace(params, file)


def default_space(method: str) -> SearchSpace:
    """The space ``benchkit/search/spaces.yaml`` gives the method (the first part of a combination such as
    lora+adamw8bit), else its ``default`` entry."""
    import yaml

    path = Path(__file__).with_name("spaces.yaml")
    spaces = yaml.safe_load(path.read_text(encoding="utf-8"))
    key = method.split("+", 1)[0]
    return parse_space(spaces.get(key) or spaces["default"], f"{path} ({key if key in spaces else 'default'})")
