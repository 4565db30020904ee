"""How a search proposes its trials, by name: ``grid``, ``random`` (both without Optuna) and ``optuna`` (TPE).

A proposer hands out (trial number, point) pairs and is told each trial's outcome. Grid and random points are a
deterministic function of the space, the trial number and the search seed, so a resumed search proposes the same
points and finds their records. Optuna's study lives in a journal file in the search folder; a resumed search reloads
it, and first re-proposes the trials that were asked but never told (the search was killed during them).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from benchkit.errors import BenchkitError, Problem
from benchkit.registry import Registry
from benchkit.search.space import SearchSpace


class Proposer(Protocol):
    def size(self) -> int | None: ...  # how many points exist (grid), None: unbounded
    def ask(self, number: int) -> dict[str, Any]: ...
    def tell(self, number: int, point: dict[str, Any], value: float | None, state: str,
             curve: list[float]) -> None: ...


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    # (space, search seed, search folder, study name, maximize) -> proposer
    make: Callable[[SearchSpace, int, Path, str, bool], Proposer]


SEARCH_STRATEGIES: Registry[Strategy] = Registry("search strategy")


class GridProposer:
    def __init__(self, space: SearchSpace, seed: int, folder: Path, study: str, maximize: bool):
        self.points = space.grid()

    def size(self) -> int | None:
        return len(self.points)

    def ask(self, number: int) -> dict[str, Any]:
        return self.points[number]

    def tell(self, number: int, point: dict[str, Any], value: float | None, state: str, curve: list[float]) -> None:
        pass


class RandomProposer:
    def __init__(self, space: SearchSpace, seed: int, folder: Path, study: str, maximize: bool):
        self.space, self.seed, self.study = space, seed, study

    def size(self) -> int | None:
        return None

    def ask(self, number: int) -> dict[str, Any]:
        return self.space.sample(random.Random(f"{self.seed}:{self.study}:{number}"))  # the same point on resume

    def tell(self, number: int, point: dict[str, Any], value: float | None, state: str, curve: list[float]) -> None:
        pass


class OptunaProposer:
    """TPE (seeded) over the space; outcomes told with their per-evaluation values, pruned trials as pruned."""

    def __init__(self, space: SearchSpace, seed: int, folder: Path, study: str, maximize: bool):
        try:
            import optuna
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend
        except ImportError:
            raise BenchkitError(Problem("the optuna strategy needs Optuna", field="--strategy",
                                        hint="pip install 'benchkit[search]' (or optuna), or use --strategy random")) from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        folder.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(folder / "optuna.journal")))
        self.optuna, self.space = optuna, space
        self.study = optuna.create_study(study_name=study, storage=storage, load_if_exists=True,
                                         direction="maximize" if maximize else "minimize",
                                         sampler=optuna.samplers.TPESampler(seed=seed))
        self.trials: dict[int, Any] = {}  # our trial number -> optuna trial (asked this session or waiting)

    def size(self) -> int | None:
        return None

    def _by_number(self, number: int) -> Any | None:
        for frozen in self.study.get_trials(deepcopy=False):
            if frozen.user_attrs.get("benchkit_number") == number:
                return frozen
        return None

    def ask(self, number: int) -> dict[str, Any]:
        known = self._by_number(number)
        if known is not None and known.state == self.optuna.trial.TrialState.RUNNING:
            # asked before the search was killed: propose the same point again, tell it when it finishes
            self.trials[number] = known
            return {name: known.params[name] for name in self.space.params}
        if known is not None:  # told earlier: its point, nothing to tell again
            return {name: known.params[name] for name in self.space.params}
        trial = self.study.ask()
        trial.set_user_attr("benchkit_number", number)
        self.trials[number] = trial
        return {name: dist.suggest(trial, name) for name, dist in self.space.params.items()}

    def tell(self, number: int, point: dict[str, Any], value: float | None, state: str, curve: list[float]) -> None:
        trial = self.trials.pop(number, None)
        if trial is None:
            return
        trial_id = trial._trial_id
        storage = self.study._storage
        for step, intermediate in enumerate(curve, start=1):
            storage.set_trial_intermediate_value(trial_id, step, intermediate)
        states = self.optuna.trial.TrialState
        if state == "complete" and value is not None:
            self.study.tell(trial_id, value)
        elif state == "pruned":
            self.study.tell(trial_id, state=states.PRUNED)
        else:
            self.study.tell(trial_id, state=states.FAIL)


SEARCH_STRATEGIES.add("grid", Strategy("grid", "every point of the grid (choice values x grid points of ranges)",
                                       GridProposer))
SEARCH_STRATEGIES.add("random", Strategy("random", "points drawn at random from the space (seeded)", RandomProposer))
SEARCH_STRATEGIES.add("optuna", Strategy("optuna", "Optuna's TPE sampler (seeded), told each trial's outcome",
                                         OptunaProposer), aliases=("tpe",))
