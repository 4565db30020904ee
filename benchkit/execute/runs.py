"""What ``benchkit run`` needs before it can plan: the suite and tasks, models, seeds, data folder and recipe layers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from benchkit.cards import catalog
from benchkit.cards.catalog import Suite
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.execute.local import GridResult
from benchkit.train.models import ResolvedModel, resolve_model
from benchkit.train.recipes import load_recipe_file, parse_overrides

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


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BenchkitError(Problem(f"seeds must be integers, got '{text}'", field="--seeds", hint="e.g. --seeds 1,2,3")) from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise BenchkitError(Problem(f"expected distinct seeds, got '{text}'", field="--seeds", hint="e.g. --seeds 1,2,3"))
    return seeds


def _suite_of(card: TaskCard, card_path: Path) -> Suite:
    """The task's suite card, or a one-task suite (plain mean) for a task card that belongs to none."""
    from benchkit.cards.schema import SuiteCard, SuiteTask

    if card.suite in catalog.suite_ids():
        return catalog.load_suite(card.suite)
    single = SuiteCard(id=card.suite, version=card.version, name=card.name, description=f"the single task {card.id}",
                       languages=[card.language], tasks=[SuiteTask(id=card.id, version=card.version)], score_rule="mean")
    return Suite(single, card_path.resolve(), (card,))


def resolve_run_inputs(target: str | None, models: tuple[str, ...], only_tasks: tuple[str, ...], seeds: str,
                       data_dir: Path | None, recipe_file: Path | None, overrides: tuple[str, ...]) -> RunInputs:
    target = target or DEFAULT_SUITE
    if catalog.is_suite_ref(target):
        suite = catalog.load_suite(target)
        tasks = list(suite.tasks)
    else:
        card = catalog.load_task(target)
        suite = _suite_of(card, Path(target) if target.endswith((".yaml", ".yml")) else catalog.task_path(target))
        tasks = [card]
    if only_tasks:
        known = {t.id: t for t in suite.tasks}
        unknown = [t for t in only_tasks if t not in known]
        if unknown:
            raise BenchkitError(Problem(f"task '{unknown[0]}' is not in suite {suite.card.id}", field="--task",
                                        hint=did_you_mean(unknown[0], known) or f"its tasks: {', '.join(known)}"))
        tasks = [known[t] for t in only_tasks]
    # Tasks evaluated with another task's model (GLUE AX) come along with that task.
    tasks += [t for t in suite.tasks if t.evaluated_with in {x.id for x in tasks} and t not in tasks]
    directory = catalog.suite_data_dir(suite, data_dir)
    return RunInputs(suite, tasks, [resolve_model(m) for m in (models or (DEFAULT_MODEL,))], parse_seeds(seeds),
                     directory, load_recipe_file(recipe_file) if recipe_file else {}, parse_overrides(overrides))


def summarize(result: GridResult, out: Path, echo: Callable[[str], None]) -> None:
    rows = [(spec, record) for spec, record in result.done]
    rows += [(spec, None) for spec, _ in result.skipped]
    echo("")
    echo(f"{'task':<18} {'model':<14} {'seed':>4} {'score':>7}  {'primary':<18} {'train s':>8}  status")
    from benchkit.train.records import RunRecord
    import json

    for spec, record in rows:
        if record is None:
            path = next(p for s, p in result.skipped if s is spec)
            record = RunRecord.parse(json.loads(path.read_text(encoding="utf-8")))
            status = "done earlier"
        else:
            status = "done"
        split = next(iter(record.results))
        primary = f"{record.primary_metric} {record.results[split].metrics[record.primary_metric] * 100:.2f}"
        echo(f"{spec.card.id:<18} {spec.model.name[:14]:<14} {spec.seed:>4} {record.score * 100:>7.2f}  {primary:<18} "
             f"{record.costs.train_seconds:>8.1f}  {status}")
    for spec, message in result.failed:
        echo(f"{spec.card.id:<18} {spec.model.name[:14]:<14} {spec.seed:>4} {'-':>7}  {'-':<18} {'-':>8}  FAILED: {message[:120]}")
    echo("")
    echo(f"{len(result.done)} run(s) done, {len(result.skipped)} skipped (done earlier), {len(result.failed)} failed")
    echo(f"results: {(out / 'runs').resolve()}")


def release_after_run(inputs: RunInputs, out: Path, version: str, echo: Callable[[str], None]) -> Path:
    """Build OUT/releases/<suite>/<version> from the suite's runs in OUT. Releases are immutable: when that version
    exists and was built from exactly the runs now in OUT (and verifies), it is reported up to date, else refused."""
    import json

    from benchkit.release.build import ReleaseOptions, build_release, release_dir
    from benchkit.release.collect import collect_runs, current_data
    from benchkit.release.verify import verify_release

    releases = out / "releases"
    existing = release_dir(releases, inputs.suite.card.id, version)
    if existing.exists():
        manifest = json.loads((existing / "manifest.json").read_text(encoding="utf-8"))
        built_from = sorted(run["config_hash"] for run in manifest.get("runs", []))
        now = sorted(run.record.config_hash for run in collect_runs(
            out, inputs.suite, current_data(inputs.suite, inputs.data_dir)))
        if built_from == now and verify_release(existing, inputs.data_dir, out).ok:
            echo(f"release {inputs.suite.card.id} {version} is up to date with these runs: {existing}")
            return existing / "leaderboard.html"
        raise BenchkitError(Problem(f"release {inputs.suite.card.id} {version} exists and was built from other runs",
                                    file=str(existing), field="--release",
                                    hint="releases are immutable: pass a new --release version"))
    suite_ref = str(inputs.suite.path) if inputs.suite.path.suffix in (".yaml", ".yml") else inputs.suite.card.id
    final = build_release(suite_ref, ReleaseOptions(version=version, runs_dir=out, out_dir=releases,
                                                    data_dir=inputs.data_dir), warn=echo)
    echo(f"release: {final}")
    return final / "leaderboard.html"
