"""Span-level sequence-labelling metrics (seqeval), for NER-style tagging tasks.

Options:
* ``mode``: "conll" (default; conlleval's lenient chunking, what LEPISZCZE uses: seqeval mode=None) or "strict"
  (only chunks well-formed under ``scheme`` count; seqeval mode="strict").
* ``scheme``: "IOB1", "IOB2", "IOBES" (alias "BIOES") or "BILOU". Required for strict mode. When given, every tag
  is checked to be "O" or "<prefix>-<type>" with a prefix of that scheme. Without a scheme (conll mode) tags go to
  seqeval unchanged, which is how LEPISZCZE scored prefix-less tag sets such as AspectEmo.

IOB1 (original CoNLL-2003: "I-" starts a chunk, "B-" only separates two adjacent chunks of one type) is chunked
correctly by conll mode and by seqeval's strict IOB1 scheme; scoring IOB1 data as strict IOB2 would drop every
chunk that starts with "I-", which is why the scheme must be declared.

When neither side has any entity the scores are undefined; they return 0.0 (seqeval's zero_division default) with
a warning, for every average, instead of seqeval's nan for the macro average.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchkit.errors import did_you_mean
from benchkit.metrics.base import OPTION_CHECKS, AdditiveStats, Metric, add_metric, fail, undefined
from benchkit.registry import Registry

Mode = str  # "conll" | "strict"


@dataclass(frozen=True)
class TagScheme:
    name: str
    prefixes: frozenset[str]
    seqeval_scheme: str  # class name in seqeval.scheme, used in strict mode
    # prefix renames so that seqeval's conll-mode chunker (which knows B/I/E/S) reads the scheme
    conll_prefix_map: Mapping[str, str] = field(default_factory=dict)


TAG_SCHEMES: Registry[TagScheme] = Registry("tagging scheme")
TAG_SCHEMES.add("IOB1", TagScheme("IOB1", frozenset("IB"), "IOB1"))
TAG_SCHEMES.add("IOB2", TagScheme("IOB2", frozenset("IB"), "IOB2"), aliases=("BIO",))
TAG_SCHEMES.add("IOBES", TagScheme("IOBES", frozenset("IBES"), "IOBES"), aliases=("BIOES",))
TAG_SCHEMES.add("BILOU", TagScheme("BILOU", frozenset("BILU"), "BILOU", {"L": "E", "U": "S"}))

MODES = ("conll", "strict")


def _check_mode(value: Any, _r: Sequence[Any], _p: Sequence[Any], options: Mapping[str, Any]) -> None:
    if value not in MODES:
        raise fail(f"mode must be one of {MODES}, got {value!r}", field="mode", hint=did_you_mean(str(value), MODES))
    if value == "strict" and options.get("scheme") is None:
        raise fail("strict mode needs a scheme", field="scheme", hint=f"pass scheme= one of {TAG_SCHEMES.names()}")


def _check_scheme(value: Any, references: Sequence[Any], predictions: Sequence[Any], _: Mapping[str, Any]) -> None:
    scheme = TAG_SCHEMES.get(value)
    for side, sentences in (("references", references), ("predictions", predictions)):
        for i, sentence in enumerate(sentences):
            for j, tag in enumerate(sentence):
                if tag != "O" and not (len(tag) > 2 and tag[0] in scheme.prefixes and tag[1] == "-"):
                    raise fail(
                        f"{side}[{i}][{j}] = {tag!r} is not a {scheme.name} tag",
                        field=side,
                        hint=f"expected 'O' or one of {sorted(scheme.prefixes)} + '-<type>'; is the scheme right?",
                    )


OPTION_CHECKS.add("mode", _check_mode)
OPTION_CHECKS.add("scheme", _check_scheme)


def _has_entities(sentences: list[list[str]], strict_scheme: Any) -> bool:
    """Whether seqeval finds any chunk, with the chunker the chosen mode uses."""
    if strict_scheme is None:
        from seqeval.metrics.sequence_labeling import get_entities

        return bool(get_entities(sentences))
    from seqeval.scheme import Entities

    return any(Entities(sentences, strict_scheme).entities)


def _prepare(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], mode: Mode,
             scheme: str | None) -> tuple[list[list[str]], list[list[str]], Any]:
    """The tag lists and strict-mode scheme class every seqeval metric chunks with (overall, per type, bootstrap):
    strict mode chunks under the declared scheme; conll mode renames BILOU's L-/U- to E-/S-, which its chunker knows."""
    import seqeval.scheme

    y_true = [list(s) for s in references]
    y_pred = [list(s) for s in predictions]
    spec = None if scheme is None else TAG_SCHEMES.get(scheme)
    if mode == "strict":
        if spec is None:  # compute_metric reports this with a hint
            raise ValueError("strict mode needs a scheme")
        return y_true, y_pred, getattr(seqeval.scheme, spec.seqeval_scheme)
    if spec is not None and spec.conll_prefix_map:
        rename = spec.conll_prefix_map
        y_true, y_pred = ([[rename.get(t[0], t[0]) + t[1:] for t in s] for s in side] for side in (y_true, y_pred))
    return y_true, y_pred, None


def _seqeval_inputs(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], mode: Mode,
                    scheme: str | None, **kwargs: Any) -> tuple[list[list[str]], list[list[str]], Any, dict[str, Any]]:
    """The tags as ``_prepare`` chunks them, the strict scheme class (None: conll mode) and seqeval's keyword arguments
    (``kwargs``, zero_division 0, and strict mode with its scheme)."""
    y_true, y_pred, strict = _prepare(references, predictions, mode, scheme)
    options: dict[str, Any] = {**kwargs, "zero_division": 0}
    if strict is not None:
        options.update(mode="strict", scheme=strict)
    return y_true, y_pred, strict, options


@contextmanager
def _quiet_seqeval() -> Iterator[None]:
    """seqeval warns on every tag without a chunk prefix ("O"-like tags of plain schemes): expected here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        yield


def _seqeval(score: str, average: str):
    def compute(
        references: Sequence[Sequence[str]],
        predictions: Sequence[Sequence[str]],
        mode: Mode = "conll",
        scheme: str | None = None,
    ) -> float:
        import seqeval.metrics

        y_true, y_pred, strict, kwargs = _seqeval_inputs(references, predictions, mode, scheme, average=average)
        with _quiet_seqeval():
            if not _has_entities(y_true + y_pred, strict):
                return undefined(f"seqeval {score} ({average})", "no entities in references nor predictions", 0.0)
            return float(getattr(seqeval.metrics, f"{score}_score")(y_true, y_pred, **kwargs))

    compute.__name__ = f"seqeval_{score}_{average}"
    return compute


# ---------------------------------------------------------------------------------------------------------------
# additive statistics (bootstrap): per sentence and entity type, true positives, predicted and gold chunks


def _chunks(sentences: list[list[str]], strict: Any) -> list[set[tuple[str, int, int]]]:
    """Each sentence's chunks (type, start, end) with the chunker seqeval uses in that mode."""
    out: list[set[tuple[str, int, int]]] = [set() for _ in sentences]
    if strict is not None:
        from seqeval.scheme import Entities

        for i, found in enumerate(Entities(sentences, strict).entities):
            out[i] = {(e.tag, e.start, e.end) for e in found}
        return out
    from seqeval.metrics.sequence_labeling import get_entities

    # seqeval flattens a corpus with one "O" after each sentence, so no chunk crosses sentences
    starts = np.cumsum([0] + [len(s) + 1 for s in sentences[:-1]])
    for kind, begin, end in get_entities(sentences):
        i = int(np.searchsorted(starts, begin, side="right")) - 1
        out[i].add((kind, begin - int(starts[i]), end - int(starts[i])))
    return out


def _chunk_counts(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], mode: Mode,
                  scheme: str | None) -> tuple[list[str], np.ndarray]:
    """The entity types (sorted, as seqeval orders them) and per sentence the columns tp, predicted, gold per type."""
    y_true, y_pred, strict = _prepare(references, predictions, mode, scheme)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        gold, found = _chunks(y_true, strict), _chunks(y_pred, strict)
    types = sorted({c[0] for side in (gold, found) for chunks in side for c in chunks})
    column = {t: i for i, t in enumerate(types)}
    stats = np.zeros((len(y_true), 3 * len(types)))
    for i, (g, f) in enumerate(zip(gold, found)):
        for offset, chunks in ((0, g & f), (len(types), f), (2 * len(types), g)):
            for chunk in chunks:
                stats[i, offset + column[chunk[0]]] += 1
    return types, stats


def _prf(tp: np.ndarray, predicted: np.ndarray, gold: np.ndarray) -> dict[str, np.ndarray]:
    """seqeval's precision, recall and F1 (zero_division=0), elementwise, in its order of operations."""
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted != 0)
    recall = np.divide(tp, gold, out=np.zeros_like(tp), where=gold != 0)
    denominator = precision + recall
    f1 = 2.0 * precision * recall / np.where(denominator == 0, 1.0, denominator)
    return {"precision": precision, "recall": recall, "f1": f1}


def _seqeval_stats(score: str, average: str):
    def additive(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], mode: Mode = "conll",
                 scheme: str | None = None) -> AdditiveStats:
        types, stats = _chunk_counts(references, predictions, mode, scheme)
        k = len(types)

        def value(summed: np.ndarray) -> np.ndarray:
            tp, predicted, gold = summed[:, :k], summed[:, k:2 * k], summed[:, 2 * k:]
            present = (predicted + gold) > 0  # seqeval averages over the types found in the resample
            if average == "micro":
                values = _prf(tp.sum(axis=1), predicted.sum(axis=1), gold.sum(axis=1))[score]
            elif average == "macro":
                values = _prf(tp, predicted, gold)[score].sum(axis=1) / np.maximum(present.sum(axis=1), 1)
            else:
                weights = gold.sum(axis=1)
                values = np.divide((_prf(tp, predicted, gold)[score] * gold).sum(axis=1), weights,
                                   out=np.zeros(len(summed)), where=weights > 0)
            return np.where(present.any(axis=1), values, 0.0)  # no entity at all: undefined, 0.0

        return AdditiveStats(stats, value)

    return additive


for _score in ("f1", "precision", "recall"):
    for _average in ("micro", "macro", "weighted"):
        _name = f"seqeval_{_score}" if _average == "micro" else f"seqeval_{_score}_{_average}"
        add_metric(Metric(_name, "tags", _seqeval(_score, _average),
                          description=f"span-level {_score}, {_average} average over entity types (seqeval)",
                          options=("mode", "scheme"), additive=_seqeval_stats(_score, _average)))


def _check_entity_type(value: Any, _r: Sequence[Any], _p: Sequence[Any], _o: Mapping[str, Any]) -> None:
    if not isinstance(value, str) or not value:
        raise fail(f"entity_type must be an entity type such as PER, got {value!r}", field="entity_type",
                   hint="the type without its B-/I- prefix, e.g. entity_type: LOC")


OPTION_CHECKS.add("entity_type", _check_entity_type)


def seqeval_f1_type(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]],
                    entity_type: str | None = None, mode: Mode = "conll", scheme: str | None = None) -> float:
    """Span-level F1 of one entity type (CoNLL reports PER, LOC, ORG and MISC each), in conll or strict mode, the
    tags chunked as the overall F1 chunks them (``_prepare``: BILOU renamed for conll mode)."""
    import seqeval.metrics

    if entity_type is None:  # compute_metric reports this with a hint
        raise ValueError("seqeval_f1_type needs entity_type")
    y_true, y_pred, _, kwargs = _seqeval_inputs(references, predictions, mode, scheme, output_dict=True)
    with _quiet_seqeval():
        report = seqeval.metrics.classification_report(y_true, y_pred, **kwargs)
    if entity_type not in report:
        return undefined(f"seqeval F1 of {entity_type}", "the type occurs in neither references nor predictions", 0.0)
    return float(report[entity_type]["f1-score"])


def seqeval_f1_type_stats(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]],
                          entity_type: str | None = None, mode: Mode = "conll",
                          scheme: str | None = None) -> AdditiveStats:
    if entity_type is None:
        raise ValueError("seqeval_f1_type needs entity_type")
    types, stats = _chunk_counts(references, predictions, mode, scheme)
    if entity_type not in types:  # never found: 0.0 in every resample, as the metric says
        return AdditiveStats(np.zeros((len(stats), 1)), lambda summed: np.zeros(len(summed)))
    k, j = len(types), types.index(entity_type)
    return AdditiveStats(stats[:, [j, k + j, 2 * k + j]],
                         lambda summed: _prf(summed[:, 0], summed[:, 1], summed[:, 2])["f1"])


add_metric(Metric("seqeval_f1_type", "tags", seqeval_f1_type,
                  description="span-level F1 of one entity type (seqeval; option entity_type)",
                  options=("entity_type", "mode", "scheme"), required_options=("entity_type",),
                  additive=seqeval_f1_type_stats))
