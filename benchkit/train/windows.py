"""Token classification over sliding windows, so a document longer than the model's window is tagged whole.

``WindowedTagger`` wraps a token-classification model. A batch holds whole documents, tokenized without truncation
(``[CLS] content [SEP]``). Each document whose length exceeds the window is cut into windows of ``window - 2`` content
tokens, each framed by [CLS] and [SEP], consecutive windows overlapping by ``stride`` tokens. The windows run through
the model in chunks, and their logits are merged back into one row per document: each token takes the logits of the
window where it has the most context (the larger of its distances to the nearer window edge; a window edge that is
the document's own edge counts as unlimited context). The loss is computed on the merged logits, so every token
counts once, from the window that predicts it, in training as in prediction. Documents that fit pass through
unchanged.

``save_pretrained`` writes the inner model, so a run's saved model loads like any token-classification model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

UNLIMITED = 1 << 30  # the context a document's own edge gives



@dataclass(frozen=True)
class Window:
    row: int  # the document's row in the batch
    start: int  # first content position (in the document's token positions) the window covers
    length: int  # content tokens in the window
    first: bool  # the window starts at the document's first content token
    last: bool  # the window ends at the document's last content token


def plan_windows(lengths: list[int], window: int, stride: int) -> list[Window]:
    """Windows of each document (``lengths``: real tokens per row, [CLS] and [SEP] included)."""
    content = window - 2
    if content < 1 or not 0 <= stride < content:
        raise ValueError(f"a window of {window} tokens holds {content} content tokens; the stride (overlap) must be "
                         f"at least 0 and below that, got {stride}")
    step = content - stride
    windows: list[Window] = []
    for row, length in enumerate(lengths):
        inner = max(length - 2, 0)
        start = 0
        while True:
            size = min(content, inner - start)
            windows.append(Window(row, start + 1, max(size, 0), start == 0, start + size >= inner))
            if start + size >= inner:
                break
            start += step
    return windows


def assignment(windows: list[Window], lengths: list[int]) -> list[list[int]]:
    """Per document and token position: the index (in ``windows``) of the window whose prediction the token takes,
    the one where it has the most context (ties: the earlier window); -1 for [CLS], [SEP] and padding."""
    chosen = [[-1] * n for n in lengths]
    best = [[-1] * n for n in lengths]
    for index, window in enumerate(windows):
        for offset, score in enumerate(context(window).tolist()):
            position = window.start + offset
            if score > best[window.row][position]:
                best[window.row][position], chosen[window.row][position] = score, index
    return chosen


def context(window: Window) -> torch.Tensor:
    """Per content token of the window: its context (distance to the nearer edge, unlimited at document edges)."""
    offsets = torch.arange(window.length)
    left = offsets if not window.first else torch.full_like(offsets, UNLIMITED)
    right = (window.length - 1 - offsets) if not window.last else torch.full_like(offsets, UNLIMITED)
    return torch.minimum(left, right)


class WindowedTagger(torch.nn.Module):
    def __init__(self, inner: Any, window: int, stride: int, chunk: int = 32):
        super().__init__()
        self.inner = inner
        self.config = inner.config  # the Trainer reads model.config
        limit = getattr(inner.config, "max_position_embeddings", None) or window
        self.window = min(window, limit)
        self.stride = stride
        self.chunk = chunk  # windows per forward pass
        plan_windows([self.window + 1], self.window, stride)  # a bad stride fails here, before training

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> Any:
        from transformers.modeling_outputs import TokenClassifierOutput

        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if input_ids.size(1) <= self.window:
            logits = self.inner(input_ids=input_ids, attention_mask=attention_mask).logits
        else:
            logits = self._windowed(input_ids, attention_mask)
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                                                     ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits)

    def _windowed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lengths = [int(n) for n in attention_mask.sum(-1).tolist()]
        windows = plan_windows(lengths, self.window, self.stride)
        chosen = assignment(windows, lengths)
        pad = self.config.pad_token_id or 0
        merged: torch.Tensor | None = None
        for begin in range(0, len(windows), self.chunk):
            part = windows[begin:begin + self.chunk]
            ids = torch.full((len(part), self.window), pad, dtype=input_ids.dtype, device=input_ids.device)
            mask = torch.zeros_like(ids)
            for i, w in enumerate(part):
                ids[i, 0] = input_ids[w.row, 0]  # [CLS]
                ids[i, 1:1 + w.length] = input_ids[w.row, w.start:w.start + w.length]
                ids[i, 1 + w.length] = input_ids[w.row, lengths[w.row] - 1]  # [SEP]
                mask[i, :w.length + 2] = 1
            logits = self.inner(input_ids=ids, attention_mask=mask).logits
            if merged is None:
                merged = logits.new_zeros((*input_ids.shape, logits.size(-1)))
            for i, w in enumerate(part):
                index = begin + i
                if w.first:  # the document's [CLS] and [SEP]: from its first window (their labels are ignored)
                    merged[w.row, 0] = logits[i, 0]
                    merged[w.row, lengths[w.row] - 1] = logits[i, 1 + w.length]
                mine = [o for o in range(w.length) if chosen[w.row][w.start + o] == index]
                if mine:
                    offsets = torch.tensor(mine, device=input_ids.device)
                    merged[w.row, w.start + offsets] = logits[i, 1 + offsets]
        assert merged is not None
        return merged

    def save_pretrained(self, folder: str, **kwargs: Any) -> None:
        self.inner.save_pretrained(folder, **kwargs)
