"""What one run is (``RunSpec``: a task, a model, a method, a recipe and a seed, and its folder), as the executors
plan it and the training loop (``train.loop.run_one``) trains it, and the progress display a run reports to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchkit.cards.schema import TaskCard
from benchkit.contracts.recipe import Recipe
from benchkit.contracts.run_records import CardRef, DataFile
from benchkit.train.models import ResolvedModel


class Progress(Protocol):
    def start(self, total_steps: int, description: str) -> None: ...
    def update(self, step: int, epoch: float) -> None: ...
    def stop(self) -> None: ...


@dataclass
class RunSpec:
    suite: CardRef
    card: TaskCard
    data_dir: Path
    data: dict[str, DataFile]
    model: ResolvedModel
    method: str
    method_options: dict[str, Any]
    seed: int
    recipe: Recipe
    recipe_sources: dict[str, str]
    config_hash: str
    folder: Path
    cache_dir: Path | None = None
    # companions, companion_data (tasks predicted with this run's model); trial and prune (a search trial)
    extra: dict[str, Any] = field(default_factory=dict)
    # fine-tune, or zero-shot / few-shot: a generative model asked with the card's prompt (extra: prompt,
    # prompt_sha256, shots)
    mode: str = "fine-tune"


def run_label(spec: RunSpec) -> str:
    """The run as progress lines name it (a plain function: test doubles of a spec need no method)."""
    return f"{spec.card.id} {spec.model.name} {spec.method} seed {spec.seed}"
