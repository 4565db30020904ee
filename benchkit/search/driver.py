"""``benchkit search``: per task, propose trials, train each as an ordinary run, choose a recipe, rerun it with the
final seeds.

* **Trials are runs.** A trial is the base recipe (suite < model < method < ``--recipe`` < ``--set``) with the
  trial's point on top, trained with the trial seed by the executor ``benchkit run`` uses (in process, packed onto
  devices, or on Slurm); its record carries ``trial`` (search id, number, point). Records are found by configuration
  hash, so a resumed search trains nothing twice, and a search that proposes a point another search already trained
  reuses its record.
* **Baseline first.** Trial 0 is the base recipe itself (``--no-baseline`` leaves it out): the report says what the
  chosen recipe gains over it on the selection split.
* **Selection protocol.** The objective is the primary metric on the run's selection split at its best epoch
  (``RunRecord.selection_score``): by default a holdout carved from train (stratified, seeded, recorded), so dev is
  reported once, by the reruns; ``--select-on dev`` selects on dev, and every score of it is labelled
  "selected on dev"; a task whose card reports labelled test splits selects on dev either way (dev is not reported
  there) and is labelled "selected on dev, reported on test". Ties go to the lower trial number (the baseline first).
* **Pruning.** With ``--prune`` (the default), ``search.pruning.MedianRule`` stops a trial whose selection metric
  falls below the completed trials' median at the same evaluation; its record is marked pruned.
* **Outputs.** ``<out>/searches/<suite>/<search id>/``: ``search.json`` (rewritten after every batch of trials),
  ``report.md``, ``trials.csv``, a plot per task, and ``chosen.yaml``, the chosen recipes as a recipe file whose
  ``tasks:`` sections ``benchkit run --recipe`` takes (the same configurations, so the same records).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit.atomic import write_atomic
from benchkit.cards.schema import TaskCard
from benchkit.contracts.run_records import reports_test, selection_protocol
from benchkit.contracts.search_records import SEARCH_NAME, SEARCH_SCHEMA, search_folder
from benchkit.errors import BenchkitError, Problem
from benchkit.execute.local import GridResult
from benchkit.execute.runs import RunInputs
from benchkit.search.pruning import MedianRule
from benchkit.search.space import SearchSpace
from benchkit.train.spec import RunSpec


@dataclass(frozen=True)
class SearchOptions:
    method: str
    strategy: str
    trials: int | None  # None: the grid's size (grid only)
    seed: int  # of the strategy's proposals
    trial_seed: int  # the training seed of every trial
    final_seeds: list[int]
    prune: MedianRule | None
    baseline: bool = True
    batch: int = 1  # trials handed to the executor at once (runs per device x devices)


@dataclass
class Outcome:
    number: int  # 0: the baseline
    point: dict[str, Any]
    state: str  # complete, pruned or failed
    value: float | None
    curve: list[float]
    epochs: float | None = None
    seconds: float | None = None
    record: str | None = None  # relative to --out
    config_hash: str = ""
    message: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # every searched parameter as the run used it

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "point": self.point, "values": self.values, "state": self.state,
                "value": self.value,
                "curve": self.curve, "epochs": self.epochs, "seconds": self.seconds, "record": self.record,
                "config_hash": self.config_hash, **({"message": self.message} if self.message else {})}


@dataclass
class TaskSearch:
    card: TaskCard
    outcomes: list[Outcome] = field(default_factory=list)
    chosen: Outcome | None = None
    reruns: list[dict[str, Any]] = field(default_factory=list)


def search_id(inputs: RunInputs, options: SearchOptions, space: SearchSpace) -> str:
    """Stable for the same command: the same id resumes the same search; another space or base recipe, another id."""
    key = {"space": {n: repr(d) for n, d in space.params.items()}, "file": inputs.recipe_file, "cli": inputs.overrides,
           "tasks": inputs.recipe_tasks, "method_options": inputs.method_options, "model": inputs.models[0].sha256,
           "strategy": options.strategy, "trials": options.trials, "seed": options.seed,
           "trial_seed": options.trial_seed, "baseline": options.baseline,
           "prune": None if options.prune is None else [options.prune.startup_trials, options.prune.warmup_evaluations]}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{inputs.models[0].slug}__{options.method}__{options.strategy}-{digest}"


def split_point(point: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(recipe fields, method options) of a point."""
    return ({k: v for k, v in point.items() if "." not in k}, {k: v for k, v in point.items() if "." in k})


def fixed_by_set(space: SearchSpace, fixed: dict[str, Any], echo: Callable[[str], None]) -> SearchSpace:
    """The space less the fields ``--set`` fixes: ``--set`` holds for every trial, so a point must not override it."""
    named = [name for name in space.params if name in fixed]
    if not named:
        return space
    rest = space.without(set(named))
    if not rest.params:
        raise BenchkitError(Problem(f"--set fixes every parameter of the search space ({', '.join(named)}): nothing "
                                    "to search", field="--set", hint="drop one of those --set, or search other "
                                    "fields (a search: section in the --recipe file)"))
    echo("--set fixes " + ", ".join(f"{n}={fixed[n]}" for n in named) + " for every trial: left out of the search "
         "space (" + "; ".join(f"{n} {space.params[n].describe()}" for n in named) + ")")
    return rest


class Search:
    def __init__(self, inputs: RunInputs, options: SearchOptions, space: SearchSpace, out: Path,
                 cache_dir: Path | None, execute: Callable[..., GridResult], progress: Callable[[int], Any],
                 echo: Callable[[str], None]):
        from benchkit.search.strategies import SEARCH_STRATEGIES

        if len(inputs.models) != 1:
            raise BenchkitError(Problem(f"a search tunes one model, got {len(inputs.models)}", field="--model",
                                        hint="run one search per model"))
        space = fixed_by_set(space, {**inputs.overrides, **inputs.method_options}, echo)
        self.inputs, self.options, self.space, self.out = inputs, options, space, out
        self.cache_dir, self.execute, self.progress, self.echo = cache_dir, execute, progress, echo
        self.strategy = SEARCH_STRATEGIES.get(options.strategy)
        self.id = search_id(inputs, options, space)
        self.folder = search_folder(out, inputs.suite.card.id, self.id)
        self.tasks: dict[str, TaskSearch] = {}
        self.selection: dict[str, Any] = {}
        self.created = datetime.now(UTC).replace(microsecond=0).isoformat()
        try:  # a resumed search keeps the time it was first started
            self.created = json.loads((self.folder / SEARCH_NAME).read_text(encoding="utf-8"))["created"]
        except (OSError, ValueError, KeyError):
            pass

    # -- planning -------------------------------------------------------------------------------------------------

    def _companions(self, card: TaskCard) -> list[TaskCard]:
        return [t for t in self.inputs.tasks if card.id in t.evaluators]

    def plan(self, card: TaskCard, point: dict[str, Any], seeds: list[int]) -> list[RunSpec]:
        from benchkit.execute.plan import RecipeLayers, build_plan

        fields, method_options = split_point(point)
        specs = build_plan(self.inputs.suite, [card, *self._companions(card)], self.inputs.models, seeds,
                           self.options.method, RecipeLayers(self.inputs.recipe_file, {**self.inputs.overrides, **fields},
                                                             self.inputs.recipe_tasks),
                           self.inputs.data_dir, self.out, self.cache_dir, {**self.inputs.method_options,
                                                                             **method_options})
        return [s for s in specs if s.card.id == card.id]

    def check_protocol(self, spec: RunSpec) -> None:
        if spec.recipe.select != "best":
            raise BenchkitError(Problem("a search compares trials on their selection split, but the recipe keeps the "
                                        "last epoch (select: last)", field="recipe.select",
                                        hint=f"drop select=last (set by {spec.recipe_sources.get('select', '?')})"))

    # -- trials ---------------------------------------------------------------------------------------------------

    def _maximize(self, card: TaskCard) -> bool:
        from benchkit.metrics import METRICS

        return METRICS.get(next(m.name for m in card.metrics if m.key == card.primary_metric)).higher_is_better

    def _thresholds(self, task: TaskSearch) -> dict[str, Any] | None:
        if self.options.prune is None:
            return None
        curves = [o.curve for o in task.outcomes if o.state == "complete" and o.curve]
        return self.options.prune.thresholds(curves, self._maximize(task.card))

    def _outcome(self, number: int, point: dict[str, Any], spec: RunSpec, record: Any, path: Path | None,
                 message: str = "") -> Outcome:
        recipe = spec.recipe.model_dump()
        values = {name: spec.method_options.get(name) if "." in name else recipe.get(name) for name in self.space.params}
        if record is None:
            return Outcome(number, point, "failed", None, [], config_hash=spec.config_hash, message=message,
                           values=values)
        curve = [value for _, value in record.selection_curve]
        rel = path.relative_to(self.out).as_posix() if path is not None else None
        state = "pruned" if record.pruned is not None else "complete"
        return Outcome(number, point, state, record.selection_score if state == "complete" else None, curve,
                       record.costs.epochs, record.costs.train_seconds, rel, spec.config_hash, values=values)

    def _run_batch(self, task: TaskSearch, batch: list[tuple[int, dict[str, Any]]]) -> list[Outcome]:
        from benchkit.contracts.run_records import RECORD_NAME, RunRecord, iter_records

        thresholds = self._thresholds(task)
        specs = []
        for number, point in batch:
            (spec,) = self.plan(task.card, point, [self.options.trial_seed])
            self.check_protocol(spec)
            spec.extra = {**spec.extra, "trial": {"search": self.id, "number": number, "point": point}}
            if number > 0 and thresholds is not None:
                spec.extra["prune"] = thresholds
            specs.append(spec)
        existing = {r.config_hash: (p, r) for p, r in iter_records(self.out / "runs", pruned=True)}
        to_run = [s for s in specs if s.config_hash not in existing]
        result = self.execute(to_run, self.out, self.progress(len(to_run))) if to_run else GridResult()
        existing.update({s.config_hash: (s.folder / RECORD_NAME, r) for s, r in result.done})
        for s, path in result.skipped:  # trained by another command on this folder while this one waited
            existing[s.config_hash] = (path, RunRecord.parse(json.loads(path.read_text(encoding="utf-8"))))
        failed = {s.config_hash: m for s, m in result.failed}
        outcomes = []
        for (number, point), spec in zip(batch, specs):
            path, record = existing.get(spec.config_hash, (None, None))
            outcomes.append(self._outcome(number, point, spec, record, path, failed.get(spec.config_hash, "")))
        return outcomes

    def _numbers(self, proposer: Any) -> list[int]:
        size = proposer.size()
        trials = self.options.trials
        if size is not None:
            if trials is not None and trials < size:
                raise BenchkitError(Problem(f"the grid has {size} points, more than --trials {trials}",
                                            field="--trials", hint=f"pass --trials {size} (or leave it out for the "
                                                                   "grid), or give fewer grid points"))
            trials = size
        assert trials is not None
        return ([0] if self.options.baseline else []) + list(range(1, trials + 1))

    def search_task(self, card: TaskCard) -> TaskSearch:
        task = self.tasks.setdefault(card.id, TaskSearch(card))
        proposer = self.strategy.make(self.space, self.options.seed, self.folder, card.id, self._maximize(card))
        numbers = self._numbers(proposer)
        self.echo(f"search {card.id}: {len([n for n in numbers if n > 0])} trial(s) ({self.options.strategy})"
                  + (" after the baseline" if self.options.baseline else "") + f", trial seed {self.options.trial_seed}")
        for start in range(0, len(numbers), max(1, self.options.batch)):
            batch = [(n, {} if n == 0 else proposer.ask(n - 1)) for n in numbers[start:start + max(1, self.options.batch)]]
            for outcome in self._run_batch(task, batch):
                task.outcomes.append(outcome)
                if outcome.number > 0:
                    proposer.tell(outcome.number - 1, outcome.point, outcome.value, outcome.state, outcome.curve)
                self.echo(f"trial {card.id} #{outcome.number} {_point_text(outcome.point) or 'baseline recipe'}: "
                          + (f"{card.primary_metric} {outcome.value * 100:.2f}" if outcome.value is not None
                             else outcome.state))
            self.write_state()
        complete = [o for o in task.outcomes if o.state == "complete" and o.value is not None]
        if not complete:
            raise BenchkitError(Problem(f"no trial of {card.id} completed ({len(task.outcomes)} tried)",
                                        file=str(self.folder / SEARCH_NAME), field="trials",
                                        hint="see the failed trials' run.log; fix the space or the data"))
        sign = 1 if self._maximize(card) else -1
        task.chosen = max(complete, key=lambda o: (sign * o.value, -o.number))  # type: ignore[operator]
        return task

    def rerun(self, task: TaskSearch) -> list[RunSpec]:
        assert task.chosen is not None
        specs = self.plan(task.card, task.chosen.point, self.options.final_seeds)
        return specs

    # -- outputs --------------------------------------------------------------------------------------------------

    def recipe_document(self) -> dict[str, Any]:
        """The chosen recipes as a recipe file: the base recipe file's fields for every task, then per task the
        search's --set overrides and the chosen point."""
        tasks = {}
        for task_id, task in self.tasks.items():
            if task.chosen is not None:
                fields, options = split_point(task.chosen.point)
                tasks[task_id] = {**self.inputs.recipe_tasks.get(task_id, {}), **self.inputs.overrides,
                                  **self.inputs.method_options, **fields, **options}
        return {**self.inputs.recipe_file, "tasks": tasks}

    def protocol(self, specs: list[RunSpec]) -> None:
        """How trials are compared, from the planned recipe (the same for every trial: the space cannot change it)."""
        spec = specs[0]
        self.selection = {**selection_protocol(spec.recipe.select_on == "dev", spec.recipe.holdout_fraction,
                                               spec.recipe.holdout_seed,
                                               sorted({s.card.id for s in specs if reports_test(s.card)}),
                                               any(not reports_test(s.card) for s in specs)),
                          "objective": f"{spec.card.primary_metric} (each task's primary metric) on the selection "
                                       "split at the trial's best epoch"}

    def state(self) -> dict[str, Any]:
        return {
            "schema": SEARCH_SCHEMA, "id": self.id, "created": self.created,
            "updated": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "suite": {"id": self.inputs.suite.card.id, "version": self.inputs.suite.card.version},
            "model": self.inputs.models[0].name, "method": self.options.method, "strategy": self.options.strategy,
            "trials": self.options.trials, "seed": self.options.seed, "trial_seed": self.options.trial_seed,
            "final_seeds": self.options.final_seeds, "baseline": self.options.baseline,
            "selection": self.selection,
            "pruning": None if self.options.prune is None else {
                "rule": "median", "startup_trials": self.options.prune.startup_trials,
                "warmup_evaluations": self.options.prune.warmup_evaluations},
            "space": self.space.describe(), "space_source": self.space.source,
            "base": {"recipe_file": self.inputs.recipe_file, "set": self.inputs.overrides,
                     "method_options": self.inputs.method_options},
            "tasks": {task_id: {
                "primary_metric": task.card.primary_metric,
                "trials": [o.to_dict() for o in task.outcomes],
                "baseline": next((o.value for o in task.outcomes if o.number == 0), None),
                "chosen": None if task.chosen is None else {"number": task.chosen.number, "point": task.chosen.point,
                                                            "value": task.chosen.value},
                "reruns": task.reruns} for task_id, task in self.tasks.items()},
            "recipe_file": "chosen.yaml",
        }

    def write_state(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / SEARCH_NAME, json.dumps(self.state(), indent=2, ensure_ascii=False) + "\n")

    def write_outputs(self) -> None:
        import yaml

        from benchkit.search.report import write_report

        self.write_state()
        trainable = {t.id for t in self.inputs.suite.tasks if any(s.startswith("train") for s in t.splits)}
        only = "" if set(self.tasks) >= trainable else "".join(f" --task {t}" for t in self.tasks)  # a --task search
        header = (f"# Chosen by benchkit search {self.id} ({self.options.strategy}, "
                  f"{self.state()['selection']['label']}).\n# benchkit run {self.inputs.suite.card.id}{only} --model "
                  f"{self.inputs.models[0].name} --method {self.options.method} --recipe chosen.yaml --seeds "
                  f"{','.join(map(str, self.options.final_seeds))} trains the same runs.\n")
        write_atomic(self.folder / "chosen.yaml", header + yaml.safe_dump(self.recipe_document(), sort_keys=False,
                                                                          allow_unicode=True))
        write_report(self.folder, self.state(), self.space)


def _point_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())


def run_search(search: Search, echo: Callable[[str], None]) -> tuple[list[RunSpec], GridResult]:
    """Every task's trials, then the chosen recipes' reruns with the final seeds; returns the rerun plan and its
    result. The data of every task are checked before the first trial (bad data: exit 2, nothing trained)."""
    from benchkit.execute.runs import check_data

    trainable = [t for t in search.inputs.tasks if any(s.startswith("train") for s in t.splits)]
    if not trainable:
        raise BenchkitError(Problem(f"no task of {search.inputs.suite.card.id} has a train split: nothing to tune",
                                    field="target", hint="search a suite or task that trains (evaluation-only suites "
                                                         "such as advglue reuse the runs of their source tasks)"))
    first = [spec for card in trainable for spec in search.plan(card, {}, [search.options.trial_seed])]
    for spec in first:
        search.check_protocol(spec)
    if first:
        search.protocol(first)
    check_data(first, search.out)
    for card in trainable:
        search.search_task(card)
    reruns: list[RunSpec] = []
    for card in trainable:
        task = search.tasks[card.id]
        specs = search.rerun(task)
        task.reruns = [{"seed": s.seed, "config_hash": s.config_hash} for s in specs]
        reruns.extend(specs)
        chosen = task.chosen
        assert chosen is not None
        baseline = next((o.value for o in task.outcomes if o.number == 0), None)
        echo(f"chosen {card.id}: trial #{chosen.number} {_point_text(chosen.point) or 'baseline recipe'}, "
             f"{card.primary_metric} {chosen.value * 100:.2f} on the selection split"  # type: ignore[operator]
             + (f" (baseline {baseline * 100:.2f})" if baseline is not None else ""))
    search.write_state()
    result = search.execute(reruns, search.out, search.progress(len(reruns)))
    search.write_outputs()
    return reruns, result
