"""CLI commands for releases and the DVC pipeline: ``release`` (build, verify), ``prepare`` and ``dvc``.

Click only; the work happens in ``benchkit.release.*``, imported inside the commands so ``benchkit --help`` stays
fast. ``register(main)`` adds the commands to the ``benchkit`` group (idempotent).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from benchkit.errors import BenchkitError, Problem

if TYPE_CHECKING:
    from benchkit.release.scores import CISettings


class DefaultGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to a default subcommand:
    ``benchkit release glue-mini --version 1.0.0`` runs ``release build``; ``benchkit release verify DIR`` verifies."""

    def __init__(self, *args: Any, default: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


PATH = click.Path(path_type=Path)
DIR = click.Path(path_type=Path, file_okay=False)


def ci_options(resamples: int, level: float, ci_seed: int) -> CISettings:
    """The bootstrap options of a command (--resamples, --level, --ci-seed), checked."""
    from benchkit.release.scores import CISettings

    if resamples < 0:
        raise BenchkitError(Problem(f"resamples must be >= 0, got {resamples}", field="--resamples"))
    if not 0 < level < 1:
        raise BenchkitError(Problem(f"level must be in (0, 1), got {level}", field="--level", hint="e.g. 0.95"))
    return CISettings(resamples, level, ci_seed)


@click.group("release", cls=DefaultGroup, default="build")
def release_group() -> None:
    """Build a versioned release of a suite (default), or verify one.

    \b
    benchkit release SUITE --version 1.0.0 [--runs results] [--out results/releases] [--where epochs=3]
    benchkit release verify results/releases/SUITE/1.0.0 [--data-dir DIR | --skip-data] [--runs results]
    """


@release_group.command("build")
@click.argument("suite")
@click.option("--version", "version", required=True, help="Release version, MAJOR.MINOR.PATCH (immutable once written).")
@click.option("--runs", "runs_dir", type=DIR, default=Path("results"), show_default=True,
              help="Folder with the run records (the --out of 'benchkit run'); searched recursively.")
@click.option("--out", "out_dir", type=DIR,
              help="Releases folder: the release goes to <out>/<suite>/<version>/ (default: <runs>/releases, where "
                   "'benchkit run --release' puts it).")
@click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
              help="Release only the runs whose effective recipe has this value, e.g. --where epochs=3 (repeatable; "
                   "picks one configuration when --runs holds several).")
@click.option("--data-dir", type=DIR, help="The suite's data (default: the data the suite card ships).")
@click.option("--force", is_flag=True, help="Replace an existing release of this version (with a warning).")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples of the suite-score CI (0: none).")
@click.option("--level", default=0.95, show_default=True, help="Confidence level of the CIs.")
@click.option("--ci-seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--no-submissions", is_flag=True, help="Do not write the official test-submission archives.")
def release_build(suite: str, version: str, runs_dir: Path, out_dir: Path | None, where: tuple[str, ...],
                  data_dir: Path | None, force: bool, resamples: int, level: float, ci_seed: int,
                  no_submissions: bool) -> None:
    """Turn a suite's run records into <out>/<suite>/<version>/: manifest, results, leaderboard, datasheet,
    submission archives and a copy of the records and predictions. Refuses to overwrite a version, and to mix
    records built from different card versions or data, or two configurations of one seed (--where picks one)."""
    from benchkit.release.build import ReleaseOptions, build_release
    from benchkit.release.collect import parse_where

    options = ReleaseOptions(version=version, runs_dir=runs_dir, out_dir=out_dir, data_dir=data_dir, force=force,
                             ci=ci_options(resamples, level, ci_seed), submissions=not no_submissions,
                             where=parse_where(where))
    warnings = _check_suite_data(suite, data_dir)  # the checks of validate and run: an error stops here (exit 2)
    folder = build_release(suite, options, warn=lambda message: click.echo(message, err=True))
    for problem in warnings:  # printed with the release they qualify (a refused release reports its refusal alone)
        click.echo(f"{problem.severity}: {problem.format()}", err=True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    click.echo(f"release {manifest['release']['suite']} {version}: {len(manifest['runs'])} run(s), "
               f"{len(manifest['entries'])} model/method entr{'y' if len(manifest['entries']) == 1 else 'ies'} "
               f"-> {folder}")
    for entry in manifest["entries"]:
        ci = entry["ci"]
        click.echo(f"  {entry['model']} / {entry['method']}: {entry['suite_score'] * 100:.2f}"
                   + (f" [{ci['low'] * 100:.2f}, {ci['high'] * 100:.2f}]" if ci else "")
                   + (" PARTIAL" if entry["partial"] else "")
                   + f" (on {', '.join(entry['eval_splits'])}; {entry['selection_text']})")
    click.echo(f"leaderboard: {folder / 'leaderboard.html'}")


def _check_suite_data(suite_ref: str, data_dir: Path | None) -> list[Problem]:
    """Every task's data through the checks of ``benchkit validate`` (``validation.runner``): errors raise
    (nothing is written), the warnings are returned. Missing files are left to the release, which names those the
    runs used."""
    from benchkit.cards import catalog
    from benchkit.validation.runner import enforce, validate_task

    suite = catalog.load_suite(suite_ref)
    directory = catalog.suite_data_dir(suite, data_dir)
    reports = [validate_task(card, directory) for card in suite.tasks]
    for report in reports:
        report.problems = [p for p in report.problems if p is not report.missing_data]
    warnings: list[Problem] = []
    enforce(reports, warnings.append)
    return warnings


@release_group.command("verify")
@click.argument("folder", type=DIR)
@click.option("--data-dir", type=DIR, help="Where the release's data are now (default: where they were).")
@click.option("--skip-data", is_flag=True,
              help="Do not check the data hashes (e.g. a release shared without its data); noted in the output.")
@click.option("--runs", "runs_dir", type=DIR,
              help="Also compare the original run records and predictions in this folder (the release holds copies).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def release_verify(folder: Path, data_dir: Path | None, skip_data: bool, runs_dir: Path | None, as_json: bool) -> None:
    """Recompute every hash a release pins (its files, its copies of the run records and predictions, the data,
    the cards) and report what changed. Works on a copied release. Exit code 0 when everything matches, 2 otherwise
    (data that cannot be found count as a change unless --skip-data)."""
    from benchkit.release.verify import verify_release

    if skip_data and data_dir is not None:
        raise BenchkitError(Problem("--skip-data and --data-dir exclude each other", field="--skip-data"))
    report = verify_release(folder, data_dir, runs_dir, skip_data)
    if as_json:
        click.echo(json.dumps({"release": str(folder), "ok": report.ok, "checked": report.checked,
                               "changes": [p.format() for p in report.changes], "notes": report.notes}, indent=2))
        if not report.ok:
            sys.exit(2)
        return
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if not report.ok:
        click.echo(f"{folder}: {len(report.changes)} change(s) in {report.checked} checked hashes")
        raise BenchkitError(*report.changes)
    click.echo(f"{folder}: all {report.checked} hashes match")


@click.command("prepare")
@click.argument("task")
@click.option("--data-dir", type=DIR, help="The task's data (default: the data its suite card ships).")
@click.option("--out", "out", type=DIR, required=True, help="Folder for <split>.parquet and prepared.json.")
def prepare_command(task: str, data_dir: Path | None, out: Path) -> None:
    """Validate a task's data and write its canonical splits as parquet (the DVC prepare stage)."""
    from benchkit.cards import catalog
    from benchkit.cards.catalog import suite_data_dir
    from benchkit.release.prepare import prepare_task

    card = catalog.load_task(task)
    directory = data_dir if data_dir is not None else suite_data_dir(catalog.load_suite(card.suite), None)
    if not directory.is_dir():
        raise BenchkitError(Problem("data directory not found", file=str(directory), field="--data-dir",
                                    hint="pass the folder that holds the task folders"))
    info = prepare_task(card, directory, out)
    click.echo(f"{card.id}: " + ", ".join(f"{s} {v['rows']}" for s, v in info["splits"].items()) + f" -> {out}")


@click.group("dvc", cls=DefaultGroup, default="generate")
def dvc_group() -> None:
    """Generate a suite's DVC pipeline (default), or run one of its helper steps.

    \b
    benchkit dvc SUITE [--model M] [--seeds 1,2,3] [--set epochs=1] [--release-version 1.0.0]
    """


@dvc_group.command("generate")
@click.argument("suite")
@click.option("--root", type=DIR, default=Path("."), show_default=True,
              help="The DVC repository: dvc.yaml and params.yaml go here; paths in them are relative to it.")
@click.option("--data-dir", type=DIR, help="The suite's data inside the repository (default: the suite card's).")
@click.option("--model", "models", multiple=True, help="Model(s) for params.yaml (alias, Hub id or local folder).")
@click.option("--seeds", help="Seeds for params.yaml, e.g. 1,2,3.")
@click.option("--method", help="Fine-tuning method for params.yaml.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="A recipe field for params.yaml.")
@click.option("--release-version", help="Release version for params.yaml.")
@click.option("--resamples", type=int, help="Bootstrap resamples of the release CI, for params.yaml.")
@click.option("--level", type=float, help="CI level, for params.yaml.")
@click.option("--force", is_flag=True, help="Replace a dvc.yaml that benchkit did not generate.")
def dvc_generate(suite: str, root: Path, data_dir: Path | None, models: tuple[str, ...], seeds: str | None,
                 method: str | None, overrides: tuple[str, ...], release_version: str | None,
                 resamples: int | None, level: float | None, force: bool) -> None:
    """Write dvc.yaml (stages generated from the suite's cards: prepare each task -> run -> release) and
    params.yaml (the grid and recipe; existing values are kept unless given here)."""
    from benchkit.cards import catalog
    from benchkit.cards.catalog import suite_data_dir
    from benchkit.execute.runs import parse_seeds
    from benchkit.release.build import check_version
    from benchkit.release.dvc_pipeline import write_pipeline
    from benchkit.train.recipes import parse_overrides

    loaded = catalog.load_suite(suite)
    directory = suite_data_dir(loaded, data_dir)
    updates: dict[str, Any] = {}
    if models:
        updates["models"] = list(models)
    if seeds is not None:
        updates["seeds"] = ",".join(str(s) for s in parse_seeds(seeds))
    if method is not None:
        from benchkit.train.methods import METHODS

        updates["method"] = METHODS.canonical(method)
    if overrides:
        updates["recipe"] = parse_overrides(overrides)
    release: dict[str, Any] = {}
    if release_version is not None:
        release["version"] = check_version(release_version)
    if resamples is not None:
        release["resamples"] = resamples
    if level is not None:
        release["level"] = level
    if release:
        updates["release"] = release
    dvc_yaml, params_yaml, spec = write_pipeline(loaded, root, directory, updates, force=force)
    click.echo(f"wrote {dvc_yaml} ({len(spec['stages'])} stages: {', '.join(spec['stages'])}) and {params_yaml}")
    click.echo("next: dvc repro  (builds the release; a second repro does nothing)")


@dvc_group.command("recipe")
@click.option("--params", "params_file", type=PATH, default=Path("params.yaml"), show_default=True)
@click.option("--models", type=int, required=True, help="How many models dvc.yaml was generated for.")
@click.option("--out", type=PATH, required=True, help="The recipe file to write.")
def dvc_recipe(params_file: Path, models: int, out: Path) -> None:
    """The pipeline's recipe stage: params.yaml's recipe section, checked, as a file for 'benchkit run --recipe'."""
    from benchkit.release.dvc_pipeline import write_recipe

    recipe = write_recipe(params_file, models, out)
    click.echo(f"recipe ({len(recipe)} field(s) from {params_file}) -> {out}")


@click.command("publish")
@click.argument("release", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--repo", required=True, metavar="ORG/NAME", help="The Hub dataset repository to create or update.")
@click.option("--data-dir", type=DIR, help="The suite's data (default: where the release read them).")
@click.option("--dry-run", "dry_run", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Write the folder that would be uploaded to DIR, list it, and upload nothing.")
@click.option("--private", is_flag=True, help="Create the repository private.")
def publish_command(release: Path, repo: str, data_dir: Path | None, dry_run: Path | None, private: bool) -> None:
    """Upload RELEASE (a folder written by 'benchkit release') to the Hugging Face Hub as a dataset: each task's
    splits as parquet (labels withheld where the card hides them), a dataset card from the cards and the datasheet,
    and the leaderboard. The token comes from HF_TOKEN or 'huggingface-cli login' and is never written or printed."""
    import re

    from benchkit.release.publish import build_folder, upload

    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", repo):
        raise BenchkitError(Problem(f"--repo must be ORG/NAME, not {repo!r}", field="--repo",
                                    hint="e.g. --repo my-lab/klej-bench"))
    if dry_run is not None:
        metadata = build_folder(release, data_dir, dry_run)
        files = sorted(p for p in dry_run.rglob("*") if p.is_file())
        for path in files:
            click.echo(f"{path.stat().st_size:>12,}  {path.relative_to(dry_run).as_posix()}")
        click.echo(f"dry run: {len(files)} file(s) in {dry_run} for dataset {repo} ({len(metadata['configs'])} "
                   f"config(s)); nothing uploaded")
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="benchkit-publish-") as tmp:
        folder = Path(tmp) / "dataset"
        build_folder(release, data_dir, folder)
        url = upload(folder, repo, private, f"benchkit release {release.parent.name} {release.name}")
    click.echo(f"published {release} -> {url}")


def register(main: click.Group) -> None:
    """Add release, prepare, dvc and publish to the benchkit command group (once)."""
    for command in (release_group, prepare_command, dvc_group, publish_command):
        if command.name not in main.commands:
            main.add_command(command)
