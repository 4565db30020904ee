"""Bootstrap resampling: one engine for every CI benchkit reports (``benchkit score``, runs, releases, drops, hosted
scoring), with the resampling unit as a parameter.

* ``Units``: what one resample draws with replacement -- single examples, the card's groups (MultiRC questions) or
  the consecutive pairs of a pair metric (AX-g). A resample is ``rng.integers(0, units, size=units)``, the draws
  every caller has always made, so CIs stay what they were for a given seed.
* ``Draws``: the unit counts of every resample of one example set (a resamples x units matrix).
* ``SplitScorer``: a card's metrics on one (gold, predictions) pair as functions of those counts. A metric with
  additive statistics (``Metric.additive``: per-example true positives, predicted and gold chunks per type for span
  F1; confusion cells for accuracy, F1, MCC; centred sums for Pearson) is computed for all resamples at once as
  counts @ per-unit stats; one with a vectorised form of example multiplicities (``Metric.weighted``: Spearman's
  ranks) gets the counts themselves; any other is recomputed on each resample's drawn examples. Either way a
  resample's value equals the metric on the drawn examples (tests/test_bootstrap_fast.py checks it against
  ``slow_values``, today's per-resample path).
* the CIs built on them: ``split_ci`` (one split's task score), ``two_level_suite`` (a release's suite score:
  seeds, then examples), ``two_level_metrics`` (diagnostics), ``two_level_drops`` (AdvGLUE drops); and the generic
  ``bootstrap_ci``/``paired_bootstrap``/``unpaired_bootstrap`` for any metric function, which call that function
  once per resample.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchkit.errors import BenchkitError, Problem
from benchkit.metrics import METRICS
from benchkit.registry import Registry
from benchkit.scoring.scores import ScoredSuite, rule_score
from benchkit.scoring.task import ScoredCard, compute_metrics, metric_options, resampling_units, task_split_score

Interval = tuple[float, float]
MetricFn = Callable[..., float]  # metric_fn(references, predictions) or, with groups, (..., groups=group_ids)
CIMethod = Callable[[float, np.ndarray, float], Interval]
CI_METHODS: Registry[CIMethod] = Registry("bootstrap CI method")
BLOCK_CELLS = 1 << 20  # resamples x units per block (8 MiB of float64 per array)


def _error(message: str, hint: str | None = None) -> BenchkitError:
    return BenchkitError(Problem(message, hint=hint))


# ---------------------------------------------------------------------------------------------------------------
# intervals


def quantiles(values: np.ndarray | Sequence[float], level: float) -> Interval:
    low, high = np.quantile(np.asarray(values, dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def percentile_interval(values: np.ndarray | Sequence[float], level: float) -> Interval | None:
    """The central ``level`` percentile interval of bootstrap draws (non-finite draws dropped); None without any."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    return quantiles(array, level) if array.size else None


def _percentile(point: float, stats: np.ndarray, level: float) -> Interval:
    return quantiles(stats, level)


def _basic(point: float, stats: np.ndarray, level: float) -> Interval:
    # reverse percentile: reflects the bootstrap quantiles around the point estimate
    low, high = quantiles(stats, level)
    return 2 * point - high, 2 * point - low


CI_METHODS.add("percentile", _percentile)
CI_METHODS.add("basic", _basic, aliases=("reverse_percentile",))


# ---------------------------------------------------------------------------------------------------------------
# units and draws


class Units:
    """The resampling units of one example set: examples (``keys`` None) or whole units keyed by ``keys`` (one key
    per example; units in order of first appearance, members in file order). With ``fresh_ids`` the drawn examples
    carry one new group id per drawn unit, so a unit drawn twice counts as two (MultiRC questions)."""

    def __init__(self, size: int, keys: Sequence[Hashable] | None = None, *, fresh_ids: bool = False):
        self.size, self.fresh_ids = size, fresh_ids
        self.member_of: np.ndarray | None = None
        self.count = size
        if keys is not None:
            if len(keys) != size:
                raise _error(f"groups has {len(keys)} keys for {size} examples")
            index: dict[Any, int] = {}
            self.member_of = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=size)
            self.order = np.argsort(self.member_of, kind="stable")  # examples sorted by unit
            self.sizes = np.bincount(self.member_of, minlength=len(index))
            self.starts = np.cumsum(self.sizes) - self.sizes
            self.count = len(index)

    @property
    def kind(self) -> str:
        return "example" if self.member_of is None else "group"

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.count, size=self.count)

    def expand(self, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The drawn examples' indices (each unit's members together, in draw order) and, with ``fresh_ids``, their
        group ids."""
        if self.member_of is None:
            return picks, None
        lengths = self.sizes[picks]
        # positions of every member of every picked unit, without a Python loop over units
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        indices = self.order[np.repeat(self.starts[picks], lengths) + offsets]
        return indices, (np.repeat(np.arange(len(picks)), lengths) if self.fresh_ids else None)

    def per_example(self, counts: np.ndarray) -> np.ndarray:
        """Unit counts (b, units) as each example's multiplicity (b, examples): members share their unit's count."""
        return counts if self.member_of is None else counts[:, self.member_of]

    def per_unit(self, stats: np.ndarray) -> np.ndarray:
        """Per-example statistics summed over each unit's members: (units, k)."""
        if self.member_of is None:
            return stats
        return np.add.reduceat(stats[self.order], self.starts, axis=0)


class Draws:
    """The unit counts of each of ``resamples`` resamples of one example set (a row stays zero, and ``taken`` False,
    for a resample that did not draw this set: drops draw only the seeds a resample picked)."""

    def __init__(self, units: Units, resamples: int):
        self.units = units
        self.counts = np.zeros((resamples, units.count), dtype=np.uint8)
        self.taken = np.zeros(resamples, dtype=bool)

    def draw(self, row: int, rng: np.random.Generator) -> None:
        counts = np.bincount(self.units.draw(rng), minlength=self.units.count)
        if counts.max() > np.iinfo(self.counts.dtype).max:  # a unit drawn 256+ times: tiny sets only
            self.counts = self.counts.astype(np.int64)
        self.counts[row] = counts
        self.taken[row] = True

    def blocks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """(rows, float64 counts of those rows), in blocks small enough to multiply."""
        step = max(1, BLOCK_CELLS // max(1, self.units.count))
        for start in range(0, len(self.counts), step):
            rows = slice(start, min(start + step, len(self.counts)))
            yield rows, self.counts[rows].astype(float)

    def picks(self, row: int) -> np.ndarray:
        """One resample's drawn units (sorted: the metrics are sums or symmetric in the drawn units)."""
        return np.repeat(np.arange(self.units.count), self.counts[row])


def objects(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array, so fancy indexing works for labels, numbers, tag lists and gold-answer lists alike."""
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


# ---------------------------------------------------------------------------------------------------------------
# a card's metrics on resamples


@dataclass
class _MetricPlan:
    key: str
    compute: Callable[..., float]
    options: dict[str, Any]
    takes_groups: bool
    unit_stats: np.ndarray | None  # (units, k) for an additive metric, else None
    value: Callable[[np.ndarray], np.ndarray] | None
    weighted: Callable[[np.ndarray], np.ndarray] | None  # f(example weights (b, n)) -> (b,), else None

    @property
    def vectorised(self) -> bool:
        return self.unit_stats is not None or self.weighted is not None


class SplitScorer:
    """Every metric of ``card`` on one split's gold and predictions, resampled over ``units``: ``values(draws)``
    gives each metric's value on every resample, ``scores(draws)`` the task score (mean of the score metrics)."""

    def __init__(self, card: ScoredCard, references: Sequence[Any], predictions: Sequence[Any], units: Units,
                 groups: Sequence[Any] | None = None):
        self.card, self.units = card, units
        self.refs, self.preds = objects(references), objects(predictions)
        self.plans: list[_MetricPlan] = []
        for ref in card.metrics:
            metric = METRICS.get(ref.name)
            options = metric_options(card, ref)
            takes_groups = groups is not None and "groups" in metric.options
            if takes_groups:
                options["groups"] = list(groups)  # type: ignore[arg-type]
            stats = None if metric.additive is None else metric.additive(references, predictions, **options)
            weighted = None if stats is not None or metric.weighted is None or takes_groups else \
                metric.weighted(references, predictions, **options)
            if takes_groups:
                del options["groups"]  # resamples get fresh ids per drawn unit
            self.plans.append(_MetricPlan(ref.key, metric.compute, options, takes_groups,
                                          None if stats is None else units.per_unit(stats.per_example),
                                          None if stats is None else stats.value, weighted))

    def values(self, draws: Draws) -> dict[str, np.ndarray]:
        """metric key -> (resamples,) values; NaN on rows the draws did not take."""
        out = {p.key: np.full(len(draws.counts), np.nan) for p in self.plans}
        vectorised = [p for p in self.plans if p.vectorised]
        if vectorised:
            for rows, counts in draws.blocks():
                for plan in vectorised:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        if plan.unit_stats is not None and plan.value is not None:
                            out[plan.key][rows] = plan.value(counts @ plan.unit_stats)
                        elif plan.weighted is not None:
                            out[plan.key][rows] = plan.weighted(self.units.per_example(counts))
        for plan in self.plans:
            values = out[plan.key]
            # the other metrics, and the rows a vectorised one could not decide (NaN: Pearson's near-constant
            # sides), are computed on the drawn examples themselves
            redo = np.flatnonzero(draws.taken & ~np.isfinite(values)) if plan.vectorised else \
                np.flatnonzero(draws.taken)
            for row in redo:
                values[row] = self._direct(plan, draws.picks(int(row)))
            values[~draws.taken] = np.nan
        return out

    def _direct(self, plan: _MetricPlan, picks: np.ndarray) -> float:
        index, ids = self.units.expand(picks)
        options = dict(plan.options, groups=list(ids)) if plan.takes_groups and ids is not None else plan.options
        return float(plan.compute(list(self.refs[index]), list(self.preds[index]), **options))

    def scores(self, draws: Draws) -> np.ndarray:
        values = self.values(draws)
        names = list(values) if self.card.score_metrics is None else list(self.card.score_metrics)
        return np.stack([values[n] for n in names], axis=1).mean(axis=1)  # row by row, as task_score's np.mean


def card_units(card: ScoredCard, size: int, groups: Sequence[Any] | None) -> Units:
    """The card's resampling units for one split (``scoring.task.resampling_units``): groups get fresh ids per draw."""
    return Units(size, resampling_units(card, size, groups), fresh_ids=groups is not None)


def slow_values(card: ScoredCard, references: Sequence[Any], predictions: Sequence[Any], units: Units,
                draws: Draws, groups: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
    """The reference path: ``scoring.task.compute_metrics`` (validated, every metric from the raw examples) on each
    resample's drawn examples. What ``SplitScorer.values`` must equal."""
    refs, preds = objects(references), objects(predictions)
    out: dict[str, list[float]] = {}
    for row in range(len(draws.counts)):
        index, ids = units.expand(draws.picks(row))
        values = compute_metrics(card, list(refs[index]), list(preds[index]),
                                 list(ids) if groups is not None and ids is not None else None)
        for key, value in values.items():
            out.setdefault(key, []).append(value)
    return {k: np.asarray(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------------------------
# CIs built on the scorer


@dataclass(frozen=True)
class BootstrapCI:
    point: float  # the metric on the full data
    low: float
    high: float
    level: float
    resamples: int
    method: str
    seed: int
    unit: str  # "example" or "group": what was resampled


@dataclass(frozen=True)
class PairedBootstrap:
    difference: float  # metric(a) - metric(b) on the full data
    low: float
    high: float
    p_value: float  # two-sided: 2 * min(share of resampled differences <= 0, share >= 0), capped at 1
    score_a: float
    score_b: float
    level: float
    resamples: int
    method: str
    seed: int
    unit: str

    @property
    def differs(self) -> bool:
        """Whether the CI of the difference excludes 0 at ``level``."""
        return self.low > 0 or self.high < 0


def _check_args(n: int, m: int, resamples: int, level: float, method: str) -> CIMethod:
    if n != m:
        raise _error(f"{n} references but {m} predictions")
    if n == 0:
        raise _error("bootstrap needs at least one example")
    if resamples < 1:
        raise _error(f"resamples must be >= 1, got {resamples}")
    if not 0 < level < 1:
        raise _error(f"level must be in (0, 1), got {level}", hint="e.g. 0.95")
    return CI_METHODS.get(method)


def _p_value(deltas: np.ndarray) -> float:
    return min(1.0, 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))))


UNPAIRED_UNIT = "example, each set resampled independently"


@dataclass(frozen=True)
class _Resampling:
    """The settings every generic bootstrap takes, checked once, and the results they build."""

    resamples: int
    level: float
    method: str
    seed: int

    def check(self, *sets: tuple[Sequence[Any], Sequence[Any]]) -> CIMethod:
        """Each (references, predictions) set checked; the CI method."""
        for references, predictions in sets:
            interval = _check_args(len(references), len(predictions), self.resamples, self.level, self.method)
        return interval

    def ci(self, interval: CIMethod, point: float, stats: np.ndarray, unit: str) -> BootstrapCI:
        low, high = interval(point, stats, self.level)
        return BootstrapCI(point, low, high, self.level, self.resamples, CI_METHODS.canonical(self.method), self.seed,
                           unit)

    def difference(self, interval: CIMethod, score_a: float, score_b: float, deltas: np.ndarray,
                   unit: str) -> PairedBootstrap:
        difference = score_a - score_b
        low, high = interval(difference, deltas, self.level)
        return PairedBootstrap(difference, low, high, _p_value(deltas), score_a, score_b, self.level, self.resamples,
                               CI_METHODS.canonical(self.method), self.seed, unit)


def split_ci(card: ScoredCard, references: Sequence[Any], predictions: Sequence[Any], *, point: float,
             resamples: int = 1000, level: float = 0.95, method: str = "percentile", seed: int = 0,
             groups: Sequence[Any] | None = None) -> BootstrapCI:
    """CI of one split's task score over examples (or whole groups / pairs: ``card_units``); ``point`` is the task
    score on the full data. The draws are those of ``bootstrap_ci`` with the same seed and units."""
    settings = _Resampling(resamples, level, method, seed)
    interval = settings.check((references, predictions))
    units = card_units(card, len(references), groups)
    draws = Draws(units, resamples)
    rng = np.random.default_rng(seed)
    for row in range(resamples):
        draws.draw(row, rng)
    stats = SplitScorer(card, references, predictions, units, groups).scores(draws)
    return settings.ci(interval, point, stats, units.kind)


def _mean_over(values: dict[int, dict[str, dict[str, np.ndarray]]], drawn: Sequence[int],
               row: int) -> dict[str, dict[str, float]]:
    """split -> metric -> the mean over the drawn runs (in draw order, repeats counted) of their values on ``row``,
    over the runs that have that split and metric."""
    sums: dict[str, dict[str, list[float]]] = {}
    for i in drawn:
        for split, metrics in values[i].items():
            for metric, series in metrics.items():
                sums.setdefault(split, {}).setdefault(metric, []).append(series[row])
    return {s: {m: float(np.mean(v)) for m, v in ms.items()} for s, ms in sums.items()}


def _intervals(suite_values: list[float], task_values: dict[str, list[float]],
               level: float) -> tuple[Interval | None, dict[str, Interval]]:
    """The percentile intervals of the suite's resampled values and of each column's (columns without any left out)."""
    return (percentile_interval(suite_values, level),
            {c: i for c, v in task_values.items() if (i := percentile_interval(v, level)) is not None})


def two_level_suite(suite: ScoredSuite, cards: dict[str, ScoredCard], gold: dict[str, dict[str, list[Any]]],
                    runs: dict[str, list[dict[str, list[Any]]]], groups: dict[str, dict[str, list[Any]]],
                    resamples: int, level: float, seed: int) -> tuple[Interval | None, dict[str, Interval]]:
    """The suite score's and each rule column's percentile CI: per resample and task, the runs (seeds) drawn with
    replacement, then each split's units; each drawn run's metrics on the drawn examples averaged over the drawn
    runs; the score rule applied (``release.scores.bootstrap_suite``)."""
    rng = np.random.default_rng(seed)
    tasks = list(runs)
    splits = {t: sorted({s for run in rs for s in run}) for t, rs in runs.items()}
    units = {t: {s: card_units(cards[t], len(gold[t][s]), groups.get(t, {}).get(s)) for s in splits[t]}
             for t in tasks}
    draws = {t: {s: Draws(units[t][s], resamples) for s in splits[t]} for t in tasks}
    drawn_runs = {t: np.zeros((resamples, len(runs[t])), dtype=np.int64) for t in tasks}
    for row in range(resamples):  # the order of today's draws: per task, its seeds, then each split's units
        for task in tasks:
            drawn_runs[task][row] = rng.integers(0, len(runs[task]), size=len(runs[task]))
            for split in splits[task]:
                draws[task][split].draw(row, rng)
    values = {t: {i: {s: SplitScorer(cards[t], gold[t][s], run[s], units[t][s], groups.get(t, {}).get(s))
                      .values(draws[t][s]) for s in splits[t] if s in run}
                  for i, run in enumerate(runs[t])} for t in tasks}
    suite_values: list[float] = []
    task_values: dict[str, list[float]] = {}
    for row in range(resamples):
        results = {t: _mean_over(values[t], drawn_runs[t][row].tolist(), row) for t in tasks}
        scored = rule_score(suite, results)
        suite_values.append(scored.value)
        for column, value in scored.task_scores.items():
            task_values.setdefault(column, []).append(value)
    return _intervals(suite_values, task_values, level)


def two_level_metrics(card: ScoredCard, gold: list[Any], runs: list[list[Any]], metrics: list[str], resamples: int,
                      level: float, seed: int) -> dict[str, Interval]:
    """Per metric, the two-level percentile CI of one split scored by several runs: seeds with replacement, then the
    card's units (whole pairs for a pair metric such as AX-g's gender parity), averaged over the drawn seeds."""
    rng = np.random.default_rng(seed)
    units = card_units(card, len(gold), None)  # diagnostics have no group field; pair metrics resample whole pairs
    draws = Draws(units, resamples)
    drawn_runs = np.zeros((resamples, len(runs)), dtype=np.int64)
    for row in range(resamples):
        drawn_runs[row] = rng.integers(0, len(runs), size=len(runs))
        draws.draw(row, rng)
    values = {i: {"": SplitScorer(card, gold, run, units).values(draws)} for i, run in enumerate(runs)}
    out: dict[str, list[float]] = {m: [] for m in metrics}
    for row in range(resamples):
        means = _mean_over(values, drawn_runs[row].tolist(), row)[""]
        for m in metrics:
            out[m].append(means[m])
    return {m: i for m, series in out.items() if (i := percentile_interval(series, level)) is not None}


@dataclass
class DropRun:
    """One evaluation-only run's splits: its own gold and predictions, and its source run's on the source split."""

    ours: dict[str, tuple[list[Any], list[Any]]]
    theirs: dict[str, tuple[list[Any], list[Any]]]


def two_level_drops(suite: ScoredSuite, cards: dict[str, ScoredCard], tasks: dict[str, list[DropRun]],
                    resamples: int, level: float, seed: int) -> tuple[Interval | None, dict[str, Interval]]:
    """The CI of the suite drop (rule on the source metrics - rule on the records' metrics) and of each column's:
    per resample and task, the seeds with replacement, then for each drawn run the evaluation examples AND the
    source split's examples, each set on its own (``release.drops``)."""
    rng = np.random.default_rng(seed)
    draws = {t: [{s: (Draws(Units(len(g)), resamples), Draws(Units(len(run.theirs[s][0])), resamples))
                  for s, (g, _) in run.ours.items()} for run in rs] for t, rs in tasks.items()}
    drawn_runs: dict[str, list[list[int]]] = {t: [] for t in tasks}
    for row in range(resamples):  # today's order: per task its seeds, then per distinct drawn seed each split's sets
        for task, rs in tasks.items():
            drawn = rng.integers(0, len(rs), size=len(rs)).tolist()
            drawn_runs[task].append(drawn)
            for i in sorted(set(drawn)):
                for split in rs[i].ours:
                    mine, other = draws[task][i][split]
                    mine.draw(row, rng)
                    other.draw(row, rng)
    ours = {t: {i: {s: SplitScorer(cards[t], *run.ours[s], draws[t][i][s][0].units).values(draws[t][i][s][0])
                    for s in run.ours} for i, run in enumerate(rs)} for t, rs in tasks.items()}
    theirs = {t: {i: {s: SplitScorer(cards[t], *run.theirs[s], draws[t][i][s][1].units).values(draws[t][i][s][1])
                      for s in run.ours} for i, run in enumerate(rs)} for t, rs in tasks.items()}
    suite_values: list[float] = []
    task_values: dict[str, list[float]] = {}
    for row in range(resamples):
        results = {t: _mean_over(ours[t], drawn_runs[t][row], row) for t in tasks}
        sources = {t: _mean_over(theirs[t], drawn_runs[t][row], row) for t in tasks}
        before, after = rule_score(suite, sources), rule_score(suite, results)
        suite_values.append(before.value - after.value)
        for column, value in after.task_scores.items():
            if column in before.task_scores:
                task_values.setdefault(column, []).append(before.task_scores[column] - value)
    return _intervals(suite_values, task_values, level)


# ---------------------------------------------------------------------------------------------------------------
# any metric function: one call per resample


def _call(metric_fn: MetricFn, refs: np.ndarray, preds: np.ndarray, groups: np.ndarray | Sequence[Any] | None) -> float:
    return float(metric_fn(refs, preds) if groups is None else metric_fn(refs, preds, groups=groups))


def bootstrap_ci(references: Sequence[Any], predictions: Sequence[Any], metric_fn: MetricFn, resamples: int = 1000,
                 level: float = 0.95, method: str = "percentile", seed: int = 0,
                 groups: Sequence[Any] | None = None) -> BootstrapCI:
    """Bootstrap confidence interval of ``metric_fn(references, predictions)`` over examples.

    With ``groups`` (one key per example, e.g. the MultiRC question of each answer) whole groups are resampled and
    ``metric_fn`` is called as ``metric_fn(refs, preds, groups=ids)`` with fresh ids per drawn group.
    Deterministic for a given ``seed``. (A card's metrics: ``split_ci``, the same draws without a call per resample.)
    """
    settings = _Resampling(resamples, level, method, seed)
    interval = settings.check((references, predictions))
    refs, preds = objects(references), objects(predictions)
    point = _call(metric_fn, refs, preds, groups)
    units = Units(len(refs), groups, fresh_ids=True)
    rng = np.random.default_rng(seed)
    stats = np.empty(resamples)
    for b in range(resamples):
        idx, ids = units.expand(units.draw(rng))
        stats[b] = _call(metric_fn, refs[idx], preds[idx], ids)
    return settings.ci(interval, point, stats, units.kind)


def paired_bootstrap(references: Sequence[Any], preds_a: Sequence[Any], preds_b: Sequence[Any], metric_fn: MetricFn,
                     resamples: int = 1000, level: float = 0.95, method: str = "percentile", seed: int = 0,
                     groups: Sequence[Any] | None = None) -> PairedBootstrap:
    """Paired bootstrap of metric(a) - metric(b): both systems are scored on the SAME resampled examples, so
    example difficulty cancels out. ``differs`` says whether the CI excludes 0; ``p_value`` is the two-sided share
    of resamples on which the sign of the difference flips (a bootstrap sign test, resolution 2 / resamples)."""
    settings = _Resampling(resamples, level, method, seed)
    interval = settings.check((references, preds_a))
    if len(preds_b) != len(preds_a):
        raise _error(f"system a has {len(preds_a)} predictions but system b has {len(preds_b)}")
    refs, a, b = objects(references), objects(preds_a), objects(preds_b)
    score_a, score_b = _call(metric_fn, refs, a, groups), _call(metric_fn, refs, b, groups)
    units = Units(len(refs), groups, fresh_ids=True)
    rng = np.random.default_rng(seed)
    deltas = np.empty(resamples)
    for r in range(resamples):
        idx, ids = units.expand(units.draw(rng))
        deltas[r] = _call(metric_fn, refs[idx], a[idx], ids) - _call(metric_fn, refs[idx], b[idx], ids)
    return settings.difference(interval, score_a, score_b, deltas, units.kind)


def unpaired_bootstrap(references_a: Sequence[Any], predictions_a: Sequence[Any], references_b: Sequence[Any],
                       predictions_b: Sequence[Any], metric_fn: MetricFn, resamples: int = 1000, level: float = 0.95,
                       method: str = "percentile", seed: int = 0) -> PairedBootstrap:
    """Bootstrap of metric(a) - metric(b) where a and b are DIFFERENT example sets scored by one system (a GLUE dev
    split and its adversarial version): each resample draws each set with replacement on its own, since no example
    of one set corresponds to an example of the other. Same fields as ``paired_bootstrap`` (unit "example, each set
    resampled independently")."""
    settings = _Resampling(resamples, level, method, seed)
    interval = settings.check((references_a, predictions_a), (references_b, predictions_b))
    refs_a, preds_a = objects(references_a), objects(predictions_a)
    refs_b, preds_b = objects(references_b), objects(predictions_b)
    score_a, score_b = _call(metric_fn, refs_a, preds_a, None), _call(metric_fn, refs_b, preds_b, None)
    units_a, units_b = Units(len(refs_a)), Units(len(refs_b))
    rng = np.random.default_rng(seed)
    deltas = np.empty(resamples)
    for r in range(resamples):
        ia, ib = units_a.draw(rng), units_b.draw(rng)
        deltas[r] = _call(metric_fn, refs_a[ia], preds_a[ia], None) - _call(metric_fn, refs_b[ib], preds_b[ib], None)
    return settings.difference(interval, score_a, score_b, deltas, UNPAIRED_UNIT)


def unpaired_split_ci(card: ScoredCard, references_a: Sequence[Any], predictions_a: Sequence[Any],
                      references_b: Sequence[Any], predictions_b: Sequence[Any], *, resamples: int = 1000,
                      level: float = 0.95, method: str = "percentile", seed: int = 0) -> PairedBootstrap:
    """``unpaired_bootstrap`` of the card's task score (the drop of an evaluation-only split from its source split),
    with the same draws, from the metrics' additive statistics."""
    settings = _Resampling(resamples, level, method, seed)
    interval = settings.check((references_a, predictions_a), (references_b, predictions_b))
    score_a = task_split_score(card, list(references_a), list(predictions_a))
    score_b = task_split_score(card, list(references_b), list(predictions_b))
    draws_a, draws_b = Draws(Units(len(references_a)), resamples), Draws(Units(len(references_b)), resamples)
    rng = np.random.default_rng(seed)
    for row in range(resamples):
        draws_a.draw(row, rng)
        draws_b.draw(row, rng)
    deltas = (SplitScorer(card, references_a, predictions_a, draws_a.units).scores(draws_a)
              - SplitScorer(card, references_b, predictions_b, draws_b.units).scores(draws_b))
    return settings.difference(interval, score_a, score_b, deltas, UNPAIRED_UNIT)
