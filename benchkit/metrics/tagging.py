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
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from benchkit.errors import did_you_mean
from benchkit.metrics.base import METRICS, OPTION_CHECKS, Metric, fail, undefined
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


def _seqeval(score: str, average: str):
    def compute(
        references: Sequence[Sequence[str]],
        predictions: Sequence[Sequence[str]],
        mode: Mode = "conll",
        scheme: str | None = None,
    ) -> float:
        import seqeval.metrics
        import seqeval.scheme

        y_true = [list(s) for s in references]
        y_pred = [list(s) for s in predictions]
        kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
        spec = None if scheme is None else TAG_SCHEMES.get(scheme)
        if mode == "strict":
            if spec is None:  # compute_metric reports this with a hint
                raise ValueError("strict mode needs a scheme")
            kwargs.update(mode="strict", scheme=getattr(seqeval.scheme, spec.seqeval_scheme))
        elif spec is not None and spec.conll_prefix_map:
            rename = spec.conll_prefix_map
            y_true, y_pred = ([[rename.get(t[0], t[0]) + t[1:] for t in s] for s in side] for side in (y_true, y_pred))
        with warnings.catch_warnings():
            # prefix-less tags (scheme plain: POS tags, AspectEmo) are chunked as seqeval chunks any tag; its
            # "seems not to be NE tag" warning per tag says only that
            warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
            if not _has_entities(y_true + y_pred, kwargs.get("scheme")):
                return undefined(f"seqeval {score} ({average})", "no entities in references nor predictions", 0.0)
            return float(getattr(seqeval.metrics, f"{score}_score")(y_true, y_pred, **kwargs))

    compute.__name__ = f"seqeval_{score}_{average}"
    return compute


for _score in ("f1", "precision", "recall"):
    for _average in ("micro", "macro", "weighted"):
        _name = f"seqeval_{_score}" if _average == "micro" else f"seqeval_{_score}_{_average}"
        METRICS.add(
            _name,
            Metric(
                _name,
                "tags",
                _seqeval(_score, _average),
                description=f"span-level {_score}, {_average} average over entity types (seqeval)",
                options=("mode", "scheme"),
            ),
        )


def _check_entity_type(value: Any, _r: Sequence[Any], _p: Sequence[Any], _o: Mapping[str, Any]) -> None:
    if not isinstance(value, str) or not value:
        raise fail(f"entity_type must be an entity type such as PER, got {value!r}", field="entity_type",
                   hint="the type without its B-/I- prefix, e.g. entity_type: LOC")


OPTION_CHECKS.add("entity_type", _check_entity_type)


def seqeval_f1_type(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]],
                    entity_type: str | None = None, mode: Mode = "conll", scheme: str | None = None) -> float:
    """Span-level F1 of one entity type (CoNLL reports PER, LOC, ORG and MISC each), in conll or strict mode."""
    import seqeval.metrics
    import seqeval.scheme

    if entity_type is None:  # compute_metric reports this with a hint
        raise ValueError("seqeval_f1_type needs entity_type")
    kwargs: dict[str, Any] = {"output_dict": True, "zero_division": 0}
    y_true, y_pred = [list(s) for s in references], [list(s) for s in predictions]
    if mode == "strict":
        if scheme is None:
            raise ValueError("strict mode needs a scheme")
        kwargs.update(mode="strict", scheme=getattr(seqeval.scheme, TAG_SCHEMES.get(scheme).seqeval_scheme))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        report = seqeval.metrics.classification_report(y_true, y_pred, **kwargs)
    if entity_type not in report:
        return undefined(f"seqeval F1 of {entity_type}", "the type occurs in neither references nor predictions", 0.0)
    return float(report[entity_type]["f1-score"])


METRICS.add("seqeval_f1_type", Metric("seqeval_f1_type", "tags", seqeval_f1_type,
                                      description="span-level F1 of one entity type (seqeval; option entity_type)",
                                      options=("entity_type", "mode", "scheme"), required_options=("entity_type",)))
