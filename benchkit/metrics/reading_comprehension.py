"""Reading-comprehension metrics: MultiRC (F1a, EM), ReCoRD (token F1, EM) and plain exact match.

ReCoRD follows the official v1.0 script (as copied into HF evaluate ``super_glue/record_evaluation.py``): SQuAD
normalisation (lowercase, strip punctuation, drop articles a|an|the, collapse whitespace), token F1 from a Counter
intersection, max over the gold answers per query, mean over queries; an unanswered query (None) scores 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache
from typing import Any, Callable, Hashable, Mapping, Sequence

import numpy as np

from benchkit.errors import did_you_mean
from benchkit.metrics.base import OPTION_CHECKS, AdditiveStats, Metric, add_metric, fail
from benchkit.metrics.classification import _share, f1_stats
from benchkit.metrics.classification import f1 as _binary_f1
from benchkit.registry import Registry

# ---------------------------------------------------------------------------------------------------------------
# answer normalisation

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@lru_cache(maxsize=1 << 16)  # bootstrap resampling re-scores the same strings many times
def squad_normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


NORMALIZERS: Registry[Callable[[str], str]] = Registry("answer normalisation")
NORMALIZERS.add("none", lambda text: text)
NORMALIZERS.add("strip", str.strip)
NORMALIZERS.add("lower", lambda text: text.strip().lower())
NORMALIZERS.add("squad", squad_normalize)


def _check_normalize(value: Any, _r: Sequence[Any], _p: Sequence[Any], _o: Mapping[str, Any]) -> None:
    if value not in NORMALIZERS:
        raise fail(
            f"normalize must be one of {NORMALIZERS.names()}, got {value!r}",
            field="normalize",
            hint=did_you_mean(str(value), NORMALIZERS.names()),
        )


OPTION_CHECKS.add("normalize", _check_normalize)


def exact_match(references: Sequence[str], predictions: Sequence[str], normalize: str = "none") -> float:
    """Fraction of predictions equal to their reference after the chosen normalisation."""
    norm = NORMALIZERS.get(normalize)
    return float(np.mean([norm(r) == norm(p) for r, p in zip(references, predictions)]))


# ---------------------------------------------------------------------------------------------------------------
# ReCoRD


def _token_f1(prediction: str, gold: str) -> float:
    pred_tokens = squad_normalize(prediction).split()
    gold_tokens = squad_normalize(gold).split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _token_em(prediction: str, gold: str) -> float:
    return float(squad_normalize(prediction) == squad_normalize(gold))


def _record(per_answer: Callable[[str, str], float]):
    def compute(references: Sequence[Sequence[str]], predictions: Sequence[str | None]) -> float:
        return float(
            np.mean(
                [0.0 if pred is None else max(per_answer(pred, gold) for gold in golds)
                 for golds, pred in zip(references, predictions)]
            )
        )

    return compute


record_f1 = _record(_token_f1)
record_em = _record(_token_em)

# ---------------------------------------------------------------------------------------------------------------
# MultiRC


def multirc_f1a(
    references: Sequence[str],
    predictions: Sequence[str],
    positive_label: str = "True",
    groups: Sequence[Hashable] | None = None,
    labels: Sequence[str] | None = None,
) -> float:
    """Binary F1 over all answer options pooled (not the per-question ``f1_m``). ``groups`` is accepted so that one
    option set serves both MultiRC metrics; it does not change F1a. ``labels`` is only used for validation."""
    return _binary_f1(references, predictions, positive_label=positive_label)


def multirc_em(
    references: Sequence[str],
    predictions: Sequence[str],
    groups: Sequence[Hashable] | None = None,
    labels: Sequence[str] | None = None,
) -> float:
    """Mean over questions of 'every answer option of the question is labelled correctly'. ``labels`` validates only."""
    if groups is None:
        raise ValueError("multirc_em needs groups")
    index: dict[Hashable, int] = {}
    question = np.fromiter((index.setdefault(g, len(index)) for g in groups), dtype=np.int64, count=len(groups))
    wrong = np.asarray(list(references), dtype=object) != np.asarray(list(predictions), dtype=object)
    errors_per_question = np.bincount(question, weights=wrong.astype(float), minlength=len(index))
    return float(np.mean(errors_per_question == 0))


# ---------------------------------------------------------------------------------------------------------------
# additive statistics (bootstrap)


def exact_match_stats(references: Sequence[str], predictions: Sequence[str], normalize: str = "none") -> AdditiveStats:
    norm = NORMALIZERS.get(normalize)
    return _share(np.asarray([norm(r) == norm(p) for r, p in zip(references, predictions)]))


def _record_stats(per_answer: Callable[[str, str], float]):
    def additive(references: Sequence[Sequence[str]], predictions: Sequence[str | None]) -> AdditiveStats:
        return _share(np.asarray([0.0 if pred is None else max(per_answer(pred, gold) for gold in golds)
                                  for golds, pred in zip(references, predictions)]))

    return additive


def multirc_f1a_stats(references: Sequence[str], predictions: Sequence[str], positive_label: str = "True",
                      groups: Sequence[Hashable] | None = None, labels: Sequence[str] | None = None) -> AdditiveStats:
    return f1_stats(references, predictions, positive_label=positive_label)


def multirc_em_stats(references: Sequence[str], predictions: Sequence[str], groups: Sequence[Hashable] | None = None,
                     labels: Sequence[str] | None = None) -> AdditiveStats:
    """Each question's (fully correct, 1) on its first answer option: additive over whole questions, which is how
    the bootstrap resamples MultiRC (a question drawn twice counts twice, as with fresh group ids)."""
    if groups is None:
        raise ValueError("multirc_em needs groups")
    index: dict[Hashable, int] = {}
    question = np.fromiter((index.setdefault(g, len(index)) for g in groups), dtype=np.int64, count=len(groups))
    wrong = np.asarray(list(references), dtype=object) != np.asarray(list(predictions), dtype=object)
    correct = np.bincount(question, weights=wrong.astype(float), minlength=len(index)) == 0
    first = np.zeros(len(groups), dtype=bool)
    first[np.unique(question, return_index=True)[1]] = True
    stats = np.column_stack([first & correct[question], first]).astype(float)
    return AdditiveStats(stats, lambda summed: summed[:, 0] / summed[:, 1])


add_metric(Metric("exact_match", "labels", exact_match,
                  description="string equality after the `normalize` option (none|strip|lower|squad)",
                  options=("normalize",), additive=exact_match_stats), aliases=("em",))
add_metric(Metric("record_f1", "grouped_answers", record_f1,
                  description="ReCoRD: max-over-gold SQuAD token F1, mean over queries",
                  additive=_record_stats(_token_f1)))
add_metric(Metric("record_em", "grouped_answers", record_em, description="ReCoRD: max-over-gold normalised exact match",
                  additive=_record_stats(_token_em)))
add_metric(Metric("multirc_f1a", "grouped_labels", multirc_f1a,
                  description="MultiRC F1a: binary F1 over all answer options, positive label 'True'",
                  options=("positive_label", "groups", "labels"), additive=multirc_f1a_stats))
add_metric(Metric(
    "multirc_em", "grouped_labels", multirc_em,
    description="MultiRC EM: fraction of questions (option `groups`: one question key per answer) fully correct",
    options=("groups", "labels"), required_options=("groups",), additive=multirc_em_stats))
