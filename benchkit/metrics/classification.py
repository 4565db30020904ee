"""Single-label classification metrics over label strings (GLUE, SuperGLUE, KLEJ, LEPISZCZE)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from benchkit.metrics.base import AdditiveStats, Metric, add_metric


def _array(values: Sequence[str]) -> np.ndarray:
    # object dtype: no copy for the object arrays bootstrap resamples, and == is elementwise on any strings
    return np.asarray(values, dtype=object)


def accuracy(references: Sequence[str], predictions: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """Fraction of exact label matches. ``labels`` is only used for validation."""
    return float(np.mean(_array(references) == _array(predictions)))


def _confusion(
    references: Sequence[str], predictions: Sequence[str], labels: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Confusion matrix (rows = reference, columns = prediction) over ``labels`` plus any other label seen.

    numpy instead of sklearn: these metrics run once per bootstrap resample, where sklearn's input checks dominate.
    Equality with sklearn is what tests/test_metrics.py checks.
    """
    index = {label: i for i, label in enumerate(labels or ())}
    values = np.concatenate([_array(references), _array(predictions)])
    # a dict pass beats np.unique here (hashing vs sorting strings; measured ~3x on 80k labels)
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    n, k = len(references), len(index)
    matrix = np.bincount(codes[:n] * k + codes[n:], minlength=k * k).reshape(k, k)
    return matrix.astype(float), list(index)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # sklearn's zero_division=0: a 0/0 ratio counts as 0
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _per_class_f1(matrix: np.ndarray) -> np.ndarray:
    tp = np.diag(matrix)
    return _safe_divide(2 * tp, matrix.sum(axis=0) + matrix.sum(axis=1))  # 2TP / (2TP + FP + FN)


def f1(
    references: Sequence[str],
    predictions: Sequence[str],
    positive_label: str | None = None,
    labels: Sequence[str] | None = None,
) -> float:
    """F1 of ``positive_label`` against all other labels (MRPC/QQP/CBD/DYK/PSC: sklearn binary F1 with pos_label=1).

    One-vs-rest, so the result does not depend on how many other labels occur; 0.0 when the label never occurs.
    """
    if positive_label is None:  # compute_metric reports this with a hint; keep direct calls honest too
        raise ValueError("f1 needs positive_label")
    y_true = _array(references) == positive_label
    y_pred = _array(predictions) == positive_label
    tp = float(np.sum(y_true & y_pred))
    denominator = float(np.sum(y_true) + np.sum(y_pred))
    return 2 * tp / denominator if denominator else 0.0


def _f1_average(average: str):
    def compute(references: Sequence[str], predictions: Sequence[str], labels: Sequence[str] | None = None) -> float:
        # With labels=..., the average runs over exactly those labels, and a label absent from both sides counts as
        # F1 0 (jiant's CB scheme; sklearn with labels= and zero_division=0). Without labels, only labels present in
        # references or predictions are averaged (sklearn's default, hence HF evaluate and LEPISZCZE).
        matrix, _ = _confusion(references, predictions, labels)
        k = len(labels) if labels is not None else len(matrix)  # compute_metric guarantees no label outside `labels`
        matrix = matrix[:k, :k]
        per_class = _per_class_f1(matrix)
        if average == "macro":
            return float(per_class.mean())
        if average == "weighted":
            support = matrix.sum(axis=1)
            return float(per_class @ support / support.sum()) if support.sum() else 0.0
        tp = np.trace(matrix)  # micro: pooled counts
        return float(_safe_divide(np.array(2 * tp), np.array(matrix.sum(axis=0).sum() + matrix.sum(axis=1).sum())))

    compute.__name__ = f"f1_{average}"
    return compute


def mcc(references: Sequence[str], predictions: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """Matthews correlation; on K classes this is Gorodkin's R_K (GLUE AX "R3"), computed as sklearn's
    matthews_corrcoef does. Constant predictions (or references) give 0.0, as in sklearn."""
    matrix, _ = _confusion(references, predictions, None)
    t, p = matrix.sum(axis=1), matrix.sum(axis=0)
    s, correct = matrix.sum(), np.trace(matrix)
    cov_pred, cov_true = s * s - p @ p, s * s - t @ t
    if cov_pred * cov_true == 0:
        return 0.0
    return float((correct * s - t @ p) / np.sqrt(cov_pred * cov_true))


# ---------------------------------------------------------------------------------------------------------------
# additive statistics (bootstrap): per-example counts whose sums give each metric exactly as the functions above do


def _share(hits: np.ndarray) -> AdditiveStats:
    """A mean of per-example 0/1 (or real) values: columns (value, 1)."""
    stats = np.column_stack([np.asarray(hits, dtype=float), np.ones(len(hits))])
    return AdditiveStats(stats, lambda summed: summed[:, 0] / summed[:, 1])


def accuracy_stats(references: Sequence[str], predictions: Sequence[str],
                   labels: Sequence[str] | None = None) -> AdditiveStats:
    return _share(_array(references) == _array(predictions))


def binary_f1_value(summed: np.ndarray) -> np.ndarray:
    """2TP / (|gold positives| + |predicted positives|) from columns (tp, gold, predicted); 0 where undefined."""
    denominator = summed[:, 1] + summed[:, 2]
    return _safe_divide(2 * summed[:, 0], denominator)


def f1_stats(references: Sequence[str], predictions: Sequence[str], positive_label: str | None = None,
             labels: Sequence[str] | None = None) -> AdditiveStats:
    if positive_label is None:
        raise ValueError("f1 needs positive_label")
    y_true, y_pred = _array(references) == positive_label, _array(predictions) == positive_label
    return AdditiveStats(np.column_stack([y_true & y_pred, y_true, y_pred]).astype(float), binary_f1_value)


def _confusion_stats(references: Sequence[str], predictions: Sequence[str],
                     labels: Sequence[str] | None) -> tuple[np.ndarray, int]:
    """One-hot (reference, prediction) cell per example over ``labels`` plus every other label seen: summed, the
    resample's confusion matrix (rows = reference), with the label codes of the whole data."""
    index = {label: i for i, label in enumerate(labels or ())}
    values = np.concatenate([_array(references), _array(predictions)])
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    n, k = len(references), len(index)
    cells = np.zeros((n, k * k))
    cells[np.arange(n), codes[:n] * k + codes[n:]] = 1.0
    return cells, k


def _f1_average_stats(average: str):
    def additive(references: Sequence[str], predictions: Sequence[str],
                 labels: Sequence[str] | None = None) -> AdditiveStats:
        cells, size = _confusion_stats(references, predictions, labels)
        kept = len(labels) if labels is not None else size

        def value(summed: np.ndarray) -> np.ndarray:
            matrix = summed.reshape(-1, size, size)[:, :kept, :kept]
            predicted, gold = matrix.sum(axis=1), matrix.sum(axis=2)
            tp = np.diagonal(matrix, axis1=1, axis2=2)
            per_class = _safe_divide(2 * tp, predicted + gold)
            if average == "macro":
                # with labels: every label counts; without: only the labels present in the resample (as f1_macro)
                present = np.full(per_class.shape, True) if labels is not None else (predicted + gold) > 0
                return per_class.sum(axis=1) / present.sum(axis=1)
            if average == "weighted":
                return _safe_divide((per_class * gold).sum(axis=1), gold.sum(axis=1))
            return _safe_divide(2 * tp.sum(axis=1), predicted.sum(axis=1) + gold.sum(axis=1))

        return AdditiveStats(cells, value)

    return additive


def mcc_stats(references: Sequence[str], predictions: Sequence[str],
              labels: Sequence[str] | None = None) -> AdditiveStats:
    cells, size = _confusion_stats(references, predictions, None)

    def value(summed: np.ndarray) -> np.ndarray:
        matrix = summed.reshape(-1, size, size)
        t, p = matrix.sum(axis=2), matrix.sum(axis=1)
        s, correct = matrix.sum(axis=(1, 2)), np.trace(matrix, axis1=1, axis2=2)
        cov_pred, cov_true = s * s - (p * p).sum(axis=1), s * s - (t * t).sum(axis=1)
        product = cov_pred * cov_true
        root = np.sqrt(np.where(product == 0, 1.0, product))
        return np.where(product == 0, 0.0, (correct * s - (t * p).sum(axis=1)) / root)

    return AdditiveStats(cells, value)


add_metric(Metric("accuracy", "labels", accuracy, description="fraction of exact label matches", options=("labels",),
                  additive=accuracy_stats), aliases=("acc",))
add_metric(Metric("f1", "labels", f1,
                  description="F1 of the named positive label (binary F1; MRPC/QQP 'equivalent'/'duplicate', KLEJ '1')",
                  options=("positive_label", "labels"), required_options=("positive_label",), additive=f1_stats))
_F1_DESCRIPTIONS = {
    "macro": "unweighted mean of per-class F1; with `labels` over ALL those labels (absent ones count 0: SuperGLUE CB), "
    "without `labels` over the labels present (HF evaluate / LEPISZCZE)",
    "micro": "F1 from pooled counts (equals accuracy for single-label data over all labels)",
    "weighted": "per-class F1 weighted by reference support",
}
for _average, _description in _F1_DESCRIPTIONS.items():
    add_metric(Metric(f"f1_{_average}", "labels", _f1_average(_average), description=_description, options=("labels",),
                      additive=_f1_average_stats(_average)))
add_metric(Metric(
    "mcc", "labels", mcc,
    description="Matthews correlation (K-class R_K for GLUE AX); constant predictions give 0.0 as in sklearn",
    options=("labels",), additive=mcc_stats), aliases=("matthews_correlation", "r3"))
