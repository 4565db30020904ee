"""Diagnostic-set metrics: SuperGLUE AX-g (Winogender) gender parity. (AX-b and GLUE AX use ``mcc``.)"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from benchkit.metrics.base import INPUT_KINDS, AdditiveStats, InputKindSpec, Metric, add_metric, fail


def _check_pairs(references: Sequence[object], predictions: Sequence[object]) -> None:
    INPUT_KINDS.get("labels").check(references, predictions)
    if len(predictions) % 2:
        raise fail(
            f"gender parity needs an even number of examples (consecutive pairs), got {len(predictions)}",
            hint="keep the AX-g file order; examples 2i and 2i+1 must be the two gendered variants of one hypothesis",
        )


INPUT_KINDS.add("pairs", InputKindSpec("pairs", _check_pairs, "label strings in file order; examples 2i, 2i+1 pair up"))


def gender_parity(references: Sequence[str], predictions: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """Fraction of consecutive pairs (2i, 2i+1), in file order, whose two predictions are identical (jiant v1).

    Uses predictions only; ``references`` are accepted for a uniform signature. Meaningless without high accuracy.
    """
    preds = np.asarray(list(predictions), dtype=object)
    if len(preds) % 2:
        raise ValueError("gender_parity needs an even number of predictions")
    return float(np.mean(preds[0::2] == preds[1::2]))


def gender_parity_stats(references: Sequence[str], predictions: Sequence[str],
                        labels: Sequence[str] | None = None) -> AdditiveStats:
    """(pair predicted alike, 1) on the first member of each pair: additive over whole pairs, the unit the bootstrap
    resamples for a pair metric."""
    preds = np.asarray(list(predictions), dtype=object)
    if len(preds) % 2:
        raise ValueError("gender_parity needs an even number of predictions")
    stats = np.zeros((len(preds), 2))
    stats[0::2, 0] = preds[0::2] == preds[1::2]
    stats[0::2, 1] = 1.0
    return AdditiveStats(stats, lambda summed: summed[:, 0] / summed[:, 1])


add_metric(Metric("gender_parity", "pairs", gender_parity,
                  description="AX-g: fraction of consecutive prediction pairs (2i, 2i+1) that agree",
                  options=("labels",), additive=gender_parity_stats, pairs_share="text_pair"))
