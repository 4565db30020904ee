"""``benchkit score``: a predictions file against a task split's gold labels, with a bootstrap CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from benchkit.cli.app import DATA_DIR, check_data_dir, main
from benchkit.errors import BenchkitError, Problem

if TYPE_CHECKING:
    from benchkit.cards.schema import TaskCard


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
    from benchkit.predictions import read_predictions
    from benchkit.scoring.split import evaluate_split
    from benchkit.scoring.task import gold_groups, gold_targets
    from benchkit.validation.frames import load_frames

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
    check_data_dir(data_dir)
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




def _hidden_labels_hint(card: TaskCard) -> str:
    """What to score instead of a hidden split, and where its labels are: the suite's server, if it has one."""
    from benchkit.cards import roots
    from benchkit.cards.loader import load_suite_card

    labelled = [s for s, spec in card.splits.items() if spec.labels == "present" and not s.startswith("train")]
    instead = (f"score {' or '.join(labelled)} instead (--split {labelled[0]})" if labelled
               else f"{card.id} has no split with labels")
    suite = load_suite_card(roots.suite_path(card.suite)) if card.suite in roots.suite_ids() else None
    if suite is not None and suite.submission_url:
        return (f"{instead}; {suite.name} keeps the test labels on its server: submit test predictions at "
                f"{suite.submission_url}")
    return f"{instead}; {card.suite} distributes no test labels and has no submission server"
