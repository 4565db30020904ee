"""What ``benchkit run`` needs before it can plan: the suite and tasks, models, seeds, data folder and recipe layers."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from benchkit.cards import catalog, roots
from benchkit.cards.catalog import Suite
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.execute.local import GridResult
from benchkit.train.models import ResolvedModel, resolve_model
from benchkit.train.recipes import load_recipe_document, parse_overrides
from benchkit.train.spec import RunSpec

DEFAULT_SUITE = "glue-mini"
DEFAULT_MODEL = "minilm-l6"


@dataclass
class RunInputs:
    suite: Suite
    tasks: list[TaskCard]
    models: list[ResolvedModel]
    seeds: list[int]
    data_dir: Path
    recipe_file: dict[str, Any]
    overrides: dict[str, Any]
    method_options: dict[str, Any]  # --set <method>.<option>=value
    recipe_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # the recipe file's per-task sections


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BenchkitError(Problem(f"seeds must be integers, got '{text}'", field="--seeds", hint="e.g. --seeds 1,2,3")) from None
    if not seeds:
        raise BenchkitError(Problem(f"expected seeds, got '{text}'", field="--seeds", hint="e.g. --seeds 1,2,3"))
    return list(dict.fromkeys(seeds))  # a repeated seed is one run


def _suite_of(card: TaskCard, card_path: Path) -> Suite:
    """The task's suite card, or a one-task suite (plain mean) for a task card that belongs to none."""
    from benchkit.cards.schema import SuiteCard, SuiteTask

    if card.suite in roots.suite_ids():
        return catalog.load_suite(card.suite)
    single = SuiteCard(id=card.suite, version=card.version, name=card.name, description=f"the single task {card.id}",
                       languages=[card.language], tasks=[SuiteTask(id=card.id, version=card.version)], score_rule="mean")
    return Suite(single, card_path.resolve(), (card,))


def resolve_run_inputs(target: str | None, models: tuple[str, ...], only_tasks: tuple[str, ...], seeds: str,
                       data_dir: Path | None, recipe_file: Path | None, overrides: tuple[str, ...],
                       allow_search: bool = False) -> RunInputs:
    target = target or DEFAULT_SUITE
    if catalog.is_suite_ref(target):
        suite = catalog.load_suite(target)
        tasks = list(suite.tasks)
        if not tasks:
            raise BenchkitError(Problem(f"suite {suite.card.id} has no tasks yet", file=str(suite.path),
                                        field="tasks", hint=f"add one from its data files: benchkit new task "
                                                            f"FILE... --suite {suite.card.id}"))
    else:
        card = catalog.load_task(target)
        suite = _suite_of(card, Path(target) if target.endswith((".yaml", ".yml")) else roots.task_path(target))
        tasks = [card]
    if only_tasks:
        known = {t.id: t for t in suite.tasks}
        unknown = [t for t in only_tasks if t not in known]
        if unknown:
            raise BenchkitError(Problem(f"task '{unknown[0]}' is not in suite {suite.card.id}", field="--task",
                                        hint=did_you_mean(unknown[0], known) or f"its tasks: {', '.join(known)}"))
        tasks = [known[t] for t in only_tasks]
    # Tasks evaluated with another task's model (GLUE AX) come along with that task.
    tasks += [t for t in suite.tasks if set(t.evaluators) & {x.id for x in tasks} and t not in tasks]
    directory = catalog.suite_data_dir(suite, data_dir)
    # Cheap checks of what the user typed first: a typo in --set must not wait for a model download.
    seed_list = parse_seeds(seeds)
    parsed = parse_overrides(overrides)
    cli_layer = {k: v for k, v in parsed.items() if "." not in k}
    method_options = {k: v for k, v in parsed.items() if "." in k}
    document = load_recipe_document(recipe_file) if recipe_file else None
    if document is not None and document.search is not None and not allow_search:
        file, line = document.doc.line_of(("search",)) or (str(recipe_file), None)
        raise BenchkitError(Problem("the recipe file holds a search space: a run trains one recipe", file=file,
                                    line=line, field="search", hint=f"search it: benchkit search {target} --recipe "
                                                                    f"{recipe_file}; or drop the search section"))
    if document is not None:
        ids = {t.id for t in suite.tasks}
        for task in document.tasks:
            if task not in ids:
                file, line = document.doc.line_of(("tasks", task)) or (str(recipe_file), None)
                raise BenchkitError(Problem(f"task '{task}' is not in suite {suite.card.id}", file=file, line=line,
                                            field="tasks", hint=did_you_mean(task, ids) or
                                            f"its tasks: {', '.join(sorted(ids))}"))
    # a repeated --model is one model (build_plan also plans each configuration once)
    return RunInputs(suite, tasks, [resolve_model(m) for m in dict.fromkeys(models or (DEFAULT_MODEL,))], seed_list, directory,
                     document.fields if document else {}, cli_layer, method_options,
                     document.tasks if document else {})


def _print_warning(problem: Problem) -> None:
    print(f"{problem.severity}: {problem.format()}", file=sys.stderr)


def check_data(plan: list[RunSpec], out: Path, warn: Callable[[Problem], None] = _print_warning) -> None:
    """Check the data of every task with a run still to do, and of the companion splits its runs predict, before
    the grid starts, with the checks of ``benchkit validate`` (``validation.runner``: the card's ``checks:``,
    leakage included; missing files are errors): any error is bad input (one line per problem with file, line,
    field and hint; exit 2; nothing written), not a failed run; warnings go to ``warn``. Tasks whose runs are all
    done earlier are not read.

    The frames checked stay in ``benchkit.train.frames`` for the runs: tasks are checked in reverse plan order, so the
    first task's frames are the ones kept and its runs do not read the files again.
    """
    from benchkit.contracts.run_records import iter_records
    from benchkit.train import frames as frame_cache
    from benchkit.train.loop import companion_splits
    from benchkit.validation.runner import TaskReport, enforce, validate_task

    done = {record.config_hash for _, record in iter_records(out / "runs")}
    groups: dict[str, RunSpec] = {}
    for spec in plan:
        if spec.config_hash not in done:
            groups.setdefault(spec.card.id, spec)
    found: list[list[TaskReport]] = []
    checked: set[str] = set()
    for spec in reversed(list(groups.values())):
        companions: list[TaskCard] = spec.extra.get("companions", [])
        frame_cache.retain({spec.card.id, *(c.id for c in companions)})
        reports: list[TaskReport] = []
        for card, splits in [(spec.card, None), *((c, companion_splits(c, spec.data_dir)) for c in companions)]:
            if card.id in checked or splits == []:
                continue
            checked.add(card.id)
            report = validate_task(card, spec.data_dir, strict=True, splits=splits)
            if not report.errors:
                frame_cache.store(card, spec.data_dir, splits, report.frames)
            reports.append(report)
        found.insert(0, reports)
    try:
        enforce([report for group in found for report in group], warn)
    except BenchkitError:
        frame_cache.clear()
        raise


def tokenizer_warnings(plan: list[RunSpec]) -> list[Problem]:
    """Per (task, model) with runs planned: a warning when the model's tokenizer drops the task language's
    characters (``train.tokenizer_check``), read from the training texts the data check kept."""
    from transformers import AutoTokenizer

    from benchkit.cards.schema import TEXT_ROLES
    from benchkit.train import frames as frame_cache
    from benchkit.train.tokenizer_check import SAMPLE_ROWS, tokenizer_warning

    warnings: list[Problem] = []
    tokenizers: dict[str, Any] = {}
    seen: set[tuple[str, str]] = set()
    for spec in plan:
        key = (spec.card.id, str(spec.model.path))
        if key in seen or spec.card.language.split("-")[0] == "eng":
            continue
        seen.add(key)
        try:
            frames = frame_cache.frames(spec.card, spec.data_dir)
        except BenchkitError:  # check_data reported it
            continue
        train = next((f for s, f in frames.items() if s.startswith("train")), None)
        if train is None:
            continue
        texts: list[str] = []
        for role in (*TEXT_ROLES, "tokens"):
            if role in train:
                values = list(train[role][:SAMPLE_ROWS])
                texts += [" ".join(v) if isinstance(v, list) else str(v) for v in values]
        if str(spec.model.path) not in tokenizers:
            tokenizers[str(spec.model.path)] = AutoTokenizer.from_pretrained(str(spec.model.path))
        found = tokenizer_warning(spec.card.id, spec.card.language, spec.model.name,
                                  tokenizers[str(spec.model.path)], texts)
        if found is not None:
            warnings.append(found)
    return warnings


def summarize(result: GridResult, out: Path, echo: Callable[[str], None]) -> None:
    """The grid as a table that fits 80 columns, then how the reported checkpoints were selected."""
    import json

    from benchkit.contracts.run_records import RunRecord

    rows: list[tuple[RunSpec, RunRecord, str]] = [(spec, record, "done") for spec, record in result.done]
    rows += [(spec, RunRecord.parse(json.loads(path.read_text(encoding="utf-8"))), "earlier")
             for spec, path in result.skipped]
    echo("")
    echo(f"{'task':<20} {'model':<12} {'seed':>4} {'score':>6}  {'split and primary metric':<24} {'train':>6}  run")
    selections: dict[str, int] = {}
    for spec, record, status in rows:
        if record.pruned is not None:
            echo(f"{_cut(spec.card.id, 20):<20} {_cut(spec.model.name, 12):<12} {spec.seed:>4} {'-':>6}  "
                 f"{'pruned (search trial)':<24} {record.costs.train_seconds:>5.0f}s  {status}")
            continue
        split, main = next(iter(record.results.items()))
        primary = f"{split} {record.primary_metric} {main.metrics[record.primary_metric] * 100:.2f}"
        echo(f"{_cut(spec.card.id, 20):<20} {_cut(spec.model.name, 12):<12} {spec.seed:>4} {record.score * 100:>6.2f}  "
             f"{primary:<24} {record.costs.train_seconds:>5.0f}s  {status}")
        label = record.selection_used.label
        selections[label] = selections.get(label, 0) + 1
    for spec, message in result.failed:
        echo(f"{_cut(spec.card.id, 20):<20} {_cut(spec.model.name, 12):<12} {spec.seed:>4} {'-':>6}  {'-':<24} {'-':>6}  "
             f"FAILED: {message[:120]}")
    echo("")
    if selections:
        echo("checkpoints: " + "; ".join(f"{label} ({n} run(s))" if len(selections) > 1 else label
                                         for label, n in selections.items()))
    echo(f"{len(result.done)} run(s) done, {len(result.skipped)} skipped (done earlier), {len(result.failed)} failed")
    echo(f"results: {(out / 'runs').resolve()}")


def _cut(text: str, width: int) -> str:
    """Long model names (local paths) and task ids keep their end, which tells them apart."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def packing_options(runs_per_device: str | None, memory_per_device: str | None) -> tuple[int | None, int | None]:
    """``--runs-per-device`` (None: auto) and ``--memory-per-device`` in bytes (None: the device's), checked: bad
    values are one-line errors before anything is planned."""
    count: int | None = 1
    if runs_per_device is not None and runs_per_device.strip().lower() != "auto":
        try:
            count = int(runs_per_device)
        except ValueError:
            count = 0
        if count < 1:
            raise BenchkitError(Problem(f"--runs-per-device must be a whole number from 1 or 'auto', not "
                                        f"{runs_per_device!r}", field="--runs-per-device",
                                        hint="e.g. --runs-per-device 8, or auto to fit runs to the device's memory"))
    elif runs_per_device is not None:
        count = None
    memory = None
    if memory_per_device is not None:
        from benchkit.execute.packed import parse_size

        try:
            memory = parse_size(memory_per_device)
        except ValueError:
            memory = 0
        if memory <= 0:
            raise BenchkitError(Problem(f"--memory-per-device must be a size such as 60G or 512M, not "
                                        f"{memory_per_device!r}", field="--memory-per-device",
                                        hint="a number with K, M, G or T"))
    return count, memory


def executor_for(runs_per_device: str | None, memory_per_device: str | None) -> Callable[..., GridResult]:
    """The in-process executor (one run at a time, as before), or the packed one when runs go several at once or
    several GPUs are visible."""
    from benchkit.execute.local import execute

    count, memory = packing_options(runs_per_device, memory_per_device)
    if runs_per_device is None and memory is None:
        import torch

        if torch.cuda.device_count() <= 1:
            return execute
    from benchkit.execute.packed import execute_packed, local_devices

    devices = local_devices(memory)

    def packed(plan: list[RunSpec], out: Path, progress: Any) -> GridResult:
        return execute_packed(plan, out, progress, devices, count)

    return packed
