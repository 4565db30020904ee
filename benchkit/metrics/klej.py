"""KLEJ-specific metric: Allegro Reviews (AR) score = 1 - wMAE."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from benchkit.metrics.base import AdditiveStats, Metric, add_metric


def klej_ar_score(references: Sequence[float], predictions: Sequence[float]) -> float:
    """1 - wMAE on ratings rescaled by (y - 1) / 4, where wMAE is the mean over the distinct TRUE rating classes of the
    MAE within each class (macro-averaged MAE). Predictions are not clipped (allegro/klejbenchmark-allegroreviews)."""
    y_true = (np.asarray(references, dtype=float) - 1.0) / 4.0
    y_pred = (np.asarray(predictions, dtype=float) - 1.0) / 4.0
    classes, member = np.unique(y_true, return_inverse=True)
    per_class_error = np.bincount(member, weights=np.abs(y_true - y_pred), minlength=len(classes))
    per_class_mae = per_class_error / np.bincount(member, minlength=len(classes))
    return float(1.0 - per_class_mae.mean())


def klej_ar_stats(references: Sequence[float], predictions: Sequence[float]) -> AdditiveStats:
    """Per true rating class (of the whole data, sorted as np.unique sorts them): (member, absolute error)."""
    y_true = (np.asarray(references, dtype=float) - 1.0) / 4.0
    y_pred = (np.asarray(predictions, dtype=float) - 1.0) / 4.0
    classes, member = np.unique(y_true, return_inverse=True)
    stats = np.zeros((len(y_true), 2 * len(classes)))
    stats[np.arange(len(y_true)), member] = 1.0
    stats[np.arange(len(y_true)), len(classes) + member] = np.abs(y_true - y_pred)

    def value(summed: np.ndarray) -> np.ndarray:
        count, error = summed[:, :len(classes)], summed[:, len(classes):]
        present = count > 0  # a class absent from the resample is not averaged, as np.unique would not list it
        mae = np.divide(error, count, out=np.zeros_like(error), where=present)
        return 1.0 - mae.sum(axis=1) / present.sum(axis=1)

    return AdditiveStats(stats, value)


add_metric(Metric("klej_ar_score", "scores", klej_ar_score,
                  description="KLEJ AR: 1 - macro-over-true-rating MAE on ratings rescaled by (y-1)/4, no clipping",
                  additive=klej_ar_stats))
