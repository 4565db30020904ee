"""Checkpoint selection: the last epoch, or the best by the primary metric on a holdout carved from train or --
labelled -- on dev; the selection metric the Trainer evaluates each epoch, and what the record says of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from benchkit.cards.schema import TaskCard
from benchkit.contracts.recipe import Recipe
from benchkit.contracts.run_records import Selection
from benchkit.errors import BenchkitError, Problem
from benchkit.scoring.task import compute_metrics, gold_groups, gold_targets
from benchkit.train.inference import decode_columns, in_sorted_order

if TYPE_CHECKING:
    import pandas as pd

HOLDOUT = "train_holdout"  # the selection split carved from train (never reported)


def choose_selection(card: TaskCard, frames: dict[str, pd.DataFrame], train_split: str, dev_splits: list[str],
                     recipe: Recipe, reports_test: bool = False) -> tuple[dict[str, pd.DataFrame], Selection, str | None]:
    """Carve the selection split out of train when the recipe selects on a holdout; returns the frames, the
    selection as recorded, and the split evaluated for selection (None: no selection, the last epoch is kept).

    A card that reports on labelled test splits (LEPISZCZE) selects on its dev split: dev is then not a reported
    split, so no holdout is needed to keep selection and reporting apart."""
    from benchkit.cards.schema import Derive
    from benchkit.loading import split_off

    if recipe.select == "last":
        return frames, Selection(rule="last", train_rows=len(frames[train_split])), None
    if recipe.select_on == "dev" or reports_test:
        split = dev_splits[0]
        return frames, Selection(rule="best", split=split, rows=len(frames[split]),
                                 train_rows=len(frames[train_split])), split
    if len(frames[train_split]) < 2:
        raise BenchkitError(Problem(f"{card.id}: {len(frames[train_split])} training row(s), too few to carve a "
                                    "selection holdout", field="recipe.select", hint="--set select=last"))
    derive = Derive.model_validate({"from": train_split, "fraction": recipe.holdout_fraction, "stratify": True,
                                    "seed": recipe.holdout_seed})
    frames = dict(frames)
    frames[train_split], frames[HOLDOUT] = split_off(card, frames[train_split], derive)
    return frames, Selection(rule="best", split=HOLDOUT, derive=derive.model_dump(by_alias=True),
                             rows=len(frames[HOLDOUT]), train_rows=len(frames[train_split])), HOLDOUT


def selection_metrics(card: TaskCard, head: Any, frame: pd.DataFrame,
                      tokenized: Any) -> Callable[[Any], dict[str, float]]:
    """The Trainer's ``compute_metrics`` on the selection split (``tokenized``, length-sorted; ``frame``, its rows in
    file order): the primary metric only."""
    primary = card.primary_metric
    gold = in_sorted_order(tokenized, gold_targets(card, frame))
    groups = gold_groups(card, frame)
    sorted_groups = in_sorted_order(tokenized, groups) if groups is not None else None

    def metrics(prediction: Any) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        predicted = head.decode(logits, card, decode_columns(tokenized))
        return {primary: compute_metrics(card, gold, predicted, sorted_groups)[primary]}

    return metrics


def selection_curve(trainer: Any, primary: str) -> list[tuple[float, float]]:
    """[epoch, primary metric on the selection split] at each evaluation (across resumes: the log history is part
    of the checkpoint)."""
    return [(float(e["epoch"]), float(e[f"eval_{primary}"])) for e in trainer.state.log_history
            if f"eval_{primary}" in e]


def selection_score(trainer: Any, curve: list[tuple[float, float]], best: bool) -> float | None:
    if not best or not curve:
        return None
    return float(trainer.state.best_metric) if trainer.state.best_metric is not None else curve[-1][1]


def selected_epoch(trainer: Any, primary: str) -> float | None:
    best = trainer.state.best_metric
    if best is None:
        return float(trainer.state.epoch) if trainer.state.epoch else None
    for entry in trainer.state.log_history:
        if entry.get(f"eval_{primary}") == best:
            return float(entry["epoch"])
    return None
