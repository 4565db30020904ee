"""``benchkit search``: hyperparameter search for reference baselines (click only; the work is in
``benchkit.search``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from benchkit.cli.app import grid_target
from benchkit.errors import BenchkitError, Problem


@click.command("search")
@grid_target(models_help="The model to tune (alias, Hub id[@revision] or local folder). Default: minilm-l6.",
             tasks_help="Search only these tasks of the suite; repeatable.")
@click.option("--method", default="full", show_default=True, help="The fine-tuning method (one; e.g. lora+adamw8bit).")
@click.option("--strategy", default="random", show_default=True,
              help="grid (every point), random (seeded draws) or optuna (TPE; needs optuna).")
@click.option("--trials", type=click.IntRange(min=1), help="Trials per task, besides the baseline (default: 8; grid: "
                                                            "its size).")
@click.option("--recipe", "recipe_file", type=click.Path(path_type=Path),
              help="Recipe file: fixed fields, and the space to search in its search: section (default: the method's "
                   "space in benchkit/search/spaces.yaml).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="A recipe field fixed for every trial (and taken out of the search space).")
@click.option("--seeds", default="1,2,3", show_default=True,
              help="Seeds the chosen recipe is rerun with (reported by the release).")
@click.option("--trial-seed", type=int, help="The seed every trial trains with (default: the first of --seeds; "
                                             "that rerun then reuses the chosen trial's run).")
@click.option("--search-seed", default=0, show_default=True, help="Seed of the random and optuna proposals.")
@click.option("--select-on", type=click.Choice(["holdout", "dev"]), default=None,
              help="Compare trials on a holdout carved from train (default) or on dev (labelled 'selected on dev' "
                   "wherever its scores appear).")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Stop trials below the completed trials' median at the same evaluation (Optuna's median rule).")
@click.option("--prune-startup", default=3, show_default=True, type=click.IntRange(min=1),
              help="Completed trials before any pruning.")
@click.option("--prune-warmup", default=1, show_default=True, type=click.IntRange(min=0),
              help="Evaluations (epochs) at the start of a trial never pruned.")
@click.option("--no-baseline", is_flag=True, help="Do not train the base recipe as trial 0.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder with the suite's data files (default: the data the suite card ships, if any).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("results"), show_default=True,
              help="Runs go to OUT/runs, the search to OUT/searches/<suite>/<id>/.")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), help="Tokenization cache.")
@click.option("--release", "release_version", metavar="VERSION",
              help="Then build the release OUT/releases/<suite>/VERSION from the reruns.")
@click.option("--quiet", is_flag=True, help="No progress display: one line per run.")
@click.option("--runs-per-device", "--runs-per-gpu", "runs_per_device", metavar="N|auto",
              help="Train N trials at once on each device (each in its own process); pruning then compares with the "
                   "trials completed before each batch.")
@click.option("--memory-per-device", metavar="SIZE", help="Memory packing divides on each device, e.g. 60G.")
@click.option("--executor", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="Where trials train: this machine, or Slurm (one array job per batch of trials, waited for).")
@click.option("--partition", help="Slurm: the partition.")
@click.option("--gpus-per-node", type=click.IntRange(min=0), default=1, show_default=True, help="Slurm: GPUs per task.")
@click.option("--time-limit", type=click.IntRange(min=1), default=240, show_default=True, help="Slurm: minutes per task.")
@click.option("--cluster-backend", type=click.Choice(["slurm", "local"]), default="slurm", show_default=True,
              help="Slurm executor: 'local' runs the array job as processes on this machine.")
def search_command(target: str | None, models: tuple[str, ...], only_tasks: tuple[str, ...], method: str,
                   strategy: str, trials: int | None, recipe_file: Path | None, overrides: tuple[str, ...], seeds: str,
                   trial_seed: int | None, search_seed: int, select_on: str | None, prune: bool, prune_startup: int,
                   prune_warmup: int, no_baseline: bool, data_dir: Path | None, out: Path, cache_dir: Path | None,
                   release_version: str | None, quiet: bool, runs_per_device: str | None,
                   memory_per_device: str | None, executor: str, partition: str | None, gpus_per_node: int,
                   time_limit: int, cluster_backend: str) -> None:
    """Search a recipe per task of TARGET (a suite, or one task; default: the embedded glue-mini), choose it on the
    selection split, rerun it with --seeds, and write the search report and the chosen recipe file.

    Every trial is an ordinary run record: an interrupted search resumes without retraining finished trials."""
    from benchkit.execute.local import progress_for
    from benchkit.execute.runs import executor_for, packing_options, resolve_run_inputs, summarize
    from benchkit.search.driver import Search, SearchOptions, run_search
    from benchkit.search.pruning import MedianRule
    from benchkit.search.space import default_space, parse_space
    from benchkit.search.strategies import SEARCH_STRATEGIES
    from benchkit.train.methods import METHODS

    strategy = SEARCH_STRATEGIES.canonical(strategy)
    if "," in method:
        raise BenchkitError(Problem(f"a search tunes one method, got '{method}'", field="--method",
                                    hint="run one search per method; compare the releases"))
    overrides = overrides + ((f"select_on={select_on}",) if select_on else ())
    inputs = resolve_run_inputs(target, models, only_tasks, seeds, data_dir, recipe_file, overrides, allow_search=True)
    from benchkit.train.recipes import load_recipe_document

    document = load_recipe_document(recipe_file) if recipe_file else None
    if document is not None and document.search is not None:
        space = parse_space(document.search, str(recipe_file), document.doc.line_of)
    else:
        space = default_space(METHODS.canonical(method.split("+", 1)[0]) if method.split("+", 1)[0] in METHODS
                              else method)
    if strategy != "grid" and trials is None:
        trials = 8
    execute = executor_for(runs_per_device, memory_per_device)
    count, memory = packing_options(runs_per_device, memory_per_device)
    if executor == "slurm":
        from benchkit.execute.slurm import SlurmOptions, submit_grid

        slurm = SlurmOptions(backend=cluster_backend, partition=partition, gpus_per_node=gpus_per_node,
                             time_minutes=time_limit, wait=True)

        def execute(plan, run_out, progress):  # type: ignore[no-untyped-def]
            return submit_grid(plan, run_out, click.echo, slurm, count, memory)

    batch = (count or 1) * (gpus_per_node if executor == "slurm" else 1)
    options = SearchOptions(method=method, strategy=strategy, trials=trials, seed=search_seed,
                            trial_seed=inputs.seeds[0] if trial_seed is None else trial_seed, final_seeds=inputs.seeds,
                            prune=MedianRule(prune_startup, prune_warmup) if prune else None,
                            baseline=not no_baseline, batch=batch)
    search = Search(inputs, options, space, out, cache_dir, execute,
                    lambda n: progress_for(n, quiet, click.echo), click.echo)
    click.echo(f"search {search.id}: {inputs.suite.card.id}, {len(inputs.tasks)} task(s), model "
               f"{inputs.models[0].name}, method {method}; space: "
               + "; ".join(f"{n} {d}" for n, d in search.space.describe().items()))
    plan, result = run_search(search, click.echo)
    summarize(result, out, click.echo)
    click.echo(f"search report: {search.folder / 'report.md'}; chosen recipes: {search.folder / 'chosen.yaml'}")
    if result.failed:
        sys.exit(1)
    if release_version:
        from benchkit.cli.run import release_after_run

        release_after_run(inputs, plan, out, release_version, click.echo)
