"""Correlation metrics for regression tasks (STS-B, CDSC-R).

Undefined correlations (a constant side, or fewer than 2 examples) return 0.0 with an ``UndefinedMetricWarning``
instead of scipy's nan: a constant predictor carries no association, which mirrors sklearn's MCC = 0.0 for constant
predictions, and a nan would silently turn every aggregate (task score, suite score, seed mean) into nan.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from benchkit.metrics.base import METRICS, AdditiveStats, Metric, undefined


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


METRICS.add(
    "pearson",
    Metric("pearson", "scores", pearson, description="Pearson r on raw outputs (no clipping); undefined -> 0.0",
           additive=pearson_stats),
)
METRICS.add(
    "spearman",
    Metric("spearman", "scores", spearman, description="Spearman rho on raw outputs; undefined -> 0.0"),
    aliases=("spearmanr",),
)
