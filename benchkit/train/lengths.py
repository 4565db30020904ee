"""Example lengths in a model's tokens, against its window: how many documents a tagging task (or texts a
sequence task) must read in windows, and how long they are (``benchkit show TASK --model M``)."""

from __future__ import annotations

from typing import Any

from benchkit.cards.schema import TEXT_ROLES, TaskCard


def token_lengths(tokenizer: Any, frame: Any) -> list[int]:
    """Model tokens per row, special tokens included: word lists as pre-split words, texts (and pairs) as texts."""
    if "tokens" in frame:
        encoded = tokenizer([list(t) for t in frame["tokens"]], is_split_into_words=True, truncation=False)
        return [len(ids) for ids in encoded["input_ids"]]
    first = next((r for r in TEXT_ROLES if r in frame), None)
    if first is None:
        return []
    second = next((r for r in TEXT_ROLES[1:] if r in frame and r != first), None)
    texts = [str(t) for t in frame[first]]
    pairs = [str(t) for t in frame[second]] if second else None
    encoded = tokenizer(texts, pairs, truncation=False) if pairs else tokenizer(texts, truncation=False)
    return [len(ids) for ids in encoded["input_ids"]]


def length_report(lengths: list[int], window: int, stride: int = 0) -> dict[str, Any]:
    import numpy as np

    if not lengths:
        return {}
    values = np.asarray(lengths)
    over = values > window
    return {"window": window, "min": int(values.min()), "median": int(np.median(values)),
            "p90": int(np.percentile(values, 90)), "max": int(values.max()), "over_window": int(over.sum()),
            "windows": int(sum(_windows(int(n), window, stride) for n in values))}


def _windows(length: int, window: int, stride: int = 0) -> int:
    from benchkit.train.windows import plan_windows

    return len(plan_windows([length], window, min(stride, window - 3)))


def describe_lengths(card: TaskCard, frames: dict[str, Any], tokenizer: Any, window: int,
                     stride: int = 0) -> dict[str, Any]:
    """Per split: token lengths against the window, and how many windows of ``stride`` overlap they take."""
    return {split: length_report(token_lengths(tokenizer, frame), window, stride) for split, frame in frames.items()}
