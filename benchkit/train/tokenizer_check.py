"""Does a model's tokenizer keep the characters of the task's language?

An English uncased tokenizer (BERT uncased, MiniLM) normalises with NFD and strips accents, so Polish "zażółć" reaches
the model as "zazołc" (ł has no decomposition and survives, the rest lose their marks): the model can still be
fine-tuned, but it never sees the difference between "żądać" and "zadać". ``benchkit run`` warns before the grid
when a non-English task's training texts lose characters this way; lower-casing alone is a model's choice and is
not reported.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

from benchkit.errors import Problem

SAMPLE_ROWS = 2000
# Report when the changed characters are at least this share of the sample's letters (a stray accented name in an
# English corpus is not worth a warning; Polish diacritics are several percent of its letters).
MIN_SHARE = 0.002


def changed_characters(tokenizer: Any, texts: Iterable[str]) -> tuple[dict[str, str], float]:
    """Non-ASCII letters the tokenizer's normaliser changes (other than by lower-casing) -> what they become, and
    the share of the texts' letters they make up. Tokenizers without a fast normaliser report nothing."""
    normalizer = getattr(getattr(tokenizer, "backend_tokenizer", None), "normalizer", None)
    if normalizer is None:
        return {}, 0.0
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(c for c in text if c.isalpha())
    letters = sum(counts.values())
    changed: dict[str, str] = {}
    for char in sorted(c for c in counts if not c.isascii()):
        normalized = normalizer.normalize_str(char)
        if normalized not in (char, char.lower(), unicodedata.normalize("NFC", char.lower())):
            changed[char] = normalized
    share = sum(counts[c] for c in changed) / letters if letters else 0.0
    return changed, share


def tokenizer_warning(task: str, language: str, model: str, tokenizer: Any, texts: Iterable[str]) -> Problem | None:
    if language.split("-")[0] == "eng":
        return None
    changed, share = changed_characters(tokenizer, texts)
    if not changed or share < MIN_SHARE:
        return None
    shown = ", ".join(f"{c!r}->{v!r}" for c, v in list(changed.items())[:6]) + (", ..." if len(changed) > 6 else "")
    return Problem(f"{task} ({language}): the tokenizer of {model} changes {len(changed)} character(s) of the training "
                   f"texts ({share:.1%} of their letters): {shown}; the model never sees them", severity="warning",
                   field="model", hint="use a cased multilingual or language-specific model (e.g. herbert-base for "
                                       "Polish, xlm-roberta-base)")
