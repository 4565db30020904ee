"""``benchkit submissions``: host a leaderboard by scoring submission archives against private test labels.

Click only; the work happens in ``benchkit.release.hosted`` (imported inside the command, so ``benchkit --help``
stays fast).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchkit.errors import BenchkitError, Problem


@click.group("submissions")
def submissions_group() -> None:
    """Score submission archives against private test labels and keep a versioned leaderboard.

    \b
    benchkit submissions score SUITE ARCHIVE --labels PRIVATE_DIR --name NAME [--leaderboard results/leaderboard]
    """


@submissions_group.command("score")
@click.argument("suite")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--labels", "labels_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The private test labels: the test files with their label column, laid out as the data folder.")
@click.option("--name", help="The entry's name on the leaderboard (default: the archive's file name).")
@click.option("--model", help="The model the submission used, as shown on the leaderboard.")
@click.option("--url", help="A link for the entry (paper, code): http(s) only.")
@click.option("--description", help="One line about the submission.")
@click.option("--leaderboard", "leaderboard_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("results/leaderboard"), show_default=True,
              help="Leaderboard folder: the new version goes to <leaderboard>/<suite>/<version>/.")
@click.option("--version", help="The new leaderboard version (default: the latest one's next minor; 1.0.0 first).")
@click.option("--score-only", is_flag=True, help="Score and print; add nothing to the leaderboard.")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples of the CIs (0: none).")
@click.option("--level", default=0.95, show_default=True, help="Confidence level of the CIs.")
@click.option("--ci-seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
def score_command(suite: str, archive: Path, labels_dir: Path, name: str | None, model: str | None, url: str | None,
                  description: str | None, leaderboard_dir: Path, version: str | None, score_only: bool,
                  resamples: int, level: float, ci_seed: int, as_json: bool) -> None:
    """Score ARCHIVE (a zip in the suite's official submission format, or its unpacked folder) against the private
    test labels, with the checks of 'benchkit score', and add it as an entry to a new version of the leaderboard
    (previous versions are never edited)."""
    from datetime import UTC, datetime

    from benchkit.cards import catalog
    from benchkit.cli.release import ci_options
    from benchkit.release.hosted import add_entry, entry_record, entry_slug, score_submission

    settings = ci_options(resamples, level, ci_seed)
    if url is not None and not url.startswith(("https://", "http://")):
        raise BenchkitError(Problem(f"not a web link: {url!r}", field="--url", hint="e.g. https://arxiv.org/abs/..."))
    for field_name, text in (("--name", name), ("--model", model), ("--description", description)):
        if text is not None and ("\n" in text or not text.strip()):
            raise BenchkitError(Problem(f"expected one non-empty line, got {text!r}", field=field_name))
    loaded = catalog.load_suite(suite)
    name = name or archive.name.removesuffix(".zip")
    scored = score_submission(loaded, archive, labels_dir, settings)
    for extra in scored.extra_files:
        click.echo(f"note: {archive}: {extra} is not a file of the {scored.format} format; ignored", err=True)
    folder = None
    if score_only:
        created = datetime.now(UTC).replace(microsecond=0).isoformat()
        entry = entry_record(scored, entry_slug(name), name, model, url, description, "", created)
    else:
        folder = add_entry(leaderboard_dir, scored, name, model, url, description, version)
        entry = json.loads((folder / "entries" / f"{entry_slug(name)}.json").read_text(encoding="utf-8"))
    if as_json:
        click.echo(json.dumps(entry, indent=2, ensure_ascii=False))
        return
    ci = entry["ci"]
    click.echo(f"{name}: {loaded.card.id} {entry['suite_score'] * 100:.2f}"
               + (f" [{ci['low'] * 100:.2f}, {ci['high'] * 100:.2f}]" if ci else "")
               + (" PARTIAL" if entry["partial"] else "") + f" ({entry['suite_score_label']}; on the test labels)")
    for task, splits in entry["results"].items():
        for split, result in splits.items():
            metrics = ", ".join(f"{m} {v * 100:.2f}" for m, v in result["metrics"].items())
            click.echo(f"  {task} {split} ({result['examples']} examples): {metrics}")
    if folder is not None:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        place = manifest["entries"].index(entry["entry"]) + 1
        click.echo(f"leaderboard {loaded.card.id} {manifest['version']}: rank {place} of {len(manifest['entries'])} "
                   f"-> {folder / 'leaderboard.html'}")
