"""Single-label classification metrics over label strings (GLUE, SuperGLUE, KLEJ, LEPISZCZE)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from benchkit.metrics.base import METRICS, Metric


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


METRICS.add(
    "accuracy",
    Metric("accuracy", "labels", accuracy, description="fraction of exact label matches", options=("labels",)),
    aliases=("acc",),
)
METRICS.add(
    "f1",
    Metric(
        "f1",
        "labels",
        f1,
        description="F1 of the named positive label (binary F1; MRPC/QQP 'equivalent'/'duplicate', KLEJ '1')",
        options=("positive_label", "labels"),
        required_options=("positive_label",),
    ),
)
_F1_DESCRIPTIONS = {
    "macro": "unweighted mean of per-class F1; with `labels` over ALL those labels (absent ones count 0: SuperGLUE CB), "
    "without `labels` over the labels present (HF evaluate / LEPISZCZE)",
    "micro": "F1 from pooled counts (equals accuracy for single-label data over all labels)",
    "weighted": "per-class F1 weighted by reference support",
}
for _average, _description in _F1_DESCRIPTIONS.items():
    METRICS.add(
        f"f1_{_average}",
        Metric(f"f1_{_average}", "labels", _f1_average(_average), description=_description, options=("labels",)),
    )
METRICS.add(
    "mcc",
    Metric(
        "mcc",
        "labels",
        mcc,
        description="Matthews correlation (K-class R_K for GLUE AX); constant predictions give 0.0 as in sklearn",
        options=("labels",),
    ),
    aliases=("matthews_correlation", "r3"),
)
