"""Correlation metrics for regression tasks (STS-B, CDSC-R).

Undefined correlations (a constant side, or fewer than 2 examples) return 0.0 with an ``UndefinedMetricWarning``
instead of scipy's nan: a constant predictor carries no association, which mirrors sklearn's MCC = 0.0 for constant
predictions, and a nan would silently turn every aggregate (task score, suite score, seed mean) into nan.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from benchkit.metrics.base import AdditiveStats, Metric, add_metric, undefined


def _correlation(name: str, statistic: Callable[[np.ndarray, np.ndarray], float]):
    def compute(references: Sequence[float], predictions: Sequence[float]) -> float:
        y_true = np.asarray(references, dtype=float)
        y_pred = np.asarray(predictions, dtype=float)
        if len(y_true) < 2:
            return undefined(name, "fewer than 2 examples", 0.0)
        if np.ptp(y_pred) == 0 or np.ptp(y_true) == 0:
            return undefined(name, "constant predictions or references", 0.0)
        return float(statistic(y_pred, y_true))

    compute.__name__ = name
    return compute


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import pearsonr

    return pearsonr(x, y)[0]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return spearmanr(x, y)[0]


pearson = _correlation("pearson", _pearson)
spearman = _correlation("spearman", _spearman)


def pearson_stats(references: Sequence[float], predictions: Sequence[float]) -> AdditiveStats:
    """Sums of the values centred on the full data's means (so the sums of squares keep their precision), their
    squares and products. A resample whose spread is too small to tell a constant side from rounding comes back NaN:
    the bootstrap recomputes those with ``pearson`` itself (which returns 0.0 for a constant side)."""
    x = np.asarray(predictions, dtype=float)
    y = np.asarray(references, dtype=float)
    dx, dy = x - x.mean(), y - y.mean()
    stats = np.column_stack([np.ones(len(x)), dx, dy, dx * dx, dy * dy, dx * dy])

    def value(summed: np.ndarray) -> np.ndarray:
        n, sx, sy, sxx, syy, sxy = summed.T
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        unsure = (vx <= 1e-9 * sxx) | (vy <= 1e-9 * syy) | (n < 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.clip((sxy - sx * sy / n) / np.sqrt(vx * vy), -1.0, 1.0)
        return np.where(unsure, np.nan, r)

    return AdditiveStats(stats, value)


def _weighted_ranks(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """f(weights (b, n)) -> (b, n): each example's rank within each resample, ties given their average rank (as
    scipy's rankdata), from the multiplicities of the sorted distinct values."""
    _, inverse = np.unique(values, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) != 0])

    def ranks(weights: np.ndarray) -> np.ndarray:
        per_value = np.add.reduceat(weights[:, order], starts, axis=1)
        below = np.cumsum(per_value, axis=1) - per_value
        return (below + (per_value + 1) / 2)[:, inverse]

    return ranks


def spearman_weighted(references: Sequence[float], predictions: Sequence[float]) -> Callable[[np.ndarray], np.ndarray]:
    """Spearman's rho of resamples given as example multiplicities. Ranks are halves of integers and their mean is
    (N + 1) / 2, so the centred sums are exact in float64 and a constant side is an exact zero variance (0.0, as
    ``spearman`` returns with its warning)."""
    rank_x = _weighted_ranks(np.asarray(predictions, dtype=float))
    rank_y = _weighted_ranks(np.asarray(references, dtype=float))

    def value(weights: np.ndarray) -> np.ndarray:
        size = weights.sum(axis=1, keepdims=True)
        dx, dy = rank_x(weights) - (size + 1) / 2, rank_y(weights) - (size + 1) / 2
        vx, vy, cov = (weights * dx * dx).sum(axis=1), (weights * dy * dy).sum(axis=1), (weights * dx * dy).sum(axis=1)
        defined = (vx > 0) & (vy > 0) & (size[:, 0] >= 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0)
        return np.where(defined, rho, 0.0)

    return value


add_metric(Metric("pearson", "scores", pearson, description="Pearson r on raw outputs (no clipping); undefined -> 0.0",
                  additive=pearson_stats))
add_metric(Metric("spearman", "scores", spearman, description="Spearman rho on raw outputs; undefined -> 0.0",
                  weighted=spearman_weighted), aliases=("spearmanr",))
