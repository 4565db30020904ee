"""A span-aware classifier (WiC, WSC): the encoder's [CLS] vector and the mean vector of each marked span, side by
side, into one linear layer. The spans are the card's marks (``benchkit.compose``), so the head reads what the card
points at (the target word in both sentences; the candidate and the pronoun) rather than only the pooled sentence.

It is a plain ``torch.nn.Module`` around ``AutoModel``; ``save_pretrained`` writes the encoder in the usual layout
plus ``span_head.safetensors`` and ``span_head.json``, and ``load`` restores both (a folder without them gets a
fresh head, as fine-tuning starts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

HEAD_WEIGHTS = "span_head.safetensors"
HEAD_CONFIG = "span_head.json"


class SpanClassifier(torch.nn.Module):
    def __init__(self, encoder: Any, num_labels: int, num_spans: int, labels: list[str]):
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config  # the Trainer reads model.config
        self.num_labels, self.num_spans, self.labels = num_labels, num_spans, labels
        hidden = encoder.config.hidden_size
        self.dropout = torch.nn.Dropout(getattr(encoder.config, "hidden_dropout_prob", 0.1) or 0.1)
        self.classifier = torch.nn.Linear(hidden * (num_spans + 1), num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, span_tokens: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> Any:
        from transformers.modeling_outputs import SequenceClassifierOutput

        extra = {k: v for k, v in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)) if v is not None}
        hidden = self.encoder(input_ids=input_ids, **extra).last_hidden_state  # (batch, length, hidden)
        assert span_tokens is not None, "span_tokens come from the span head's encoding"
        positions = torch.arange(hidden.size(1), device=hidden.device)
        inside = (positions >= span_tokens[..., :1]) & (positions <= span_tokens[..., 1:])  # (batch, spans, length)
        weights = inside.to(hidden.dtype)
        pooled = weights @ hidden / weights.sum(-1, keepdim=True).clamp(min=1)  # mean over each span's tokens
        features = torch.cat([hidden[:, 0], pooled.flatten(1)], dim=-1)
        logits = self.classifier(self.dropout(features))
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder: str, **kwargs: Any) -> None:
        from safetensors.torch import save_file

        self.encoder.save_pretrained(folder, **kwargs)
        save_file({k: v.contiguous() for k, v in self.classifier.state_dict().items()}, str(Path(folder) / HEAD_WEIGHTS))
        (Path(folder) / HEAD_CONFIG).write_text(json.dumps(
            {"num_labels": self.num_labels, "num_spans": self.num_spans, "labels": self.labels}, indent=2) + "\n",
            encoding="utf-8")


def load(folder: str, labels: list[str], num_spans: int) -> SpanClassifier:
    """The encoder of ``folder`` with its span head when the folder holds one (a finished run), else a fresh one."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    model = SpanClassifier(AutoModel.from_pretrained(folder), len(labels), num_spans, labels)
    config = Path(folder) / HEAD_CONFIG
    if config.is_file():
        saved = json.loads(config.read_text(encoding="utf-8"))
        if saved.get("labels") != labels or saved.get("num_spans") != num_spans:
            raise ValueError(f"{folder}: its span head was trained for labels {saved.get('labels')} and "
                             f"{saved.get('num_spans')} span(s), not {labels} and {num_spans}")
        model.classifier.load_state_dict(load_file(str(Path(folder) / HEAD_WEIGHTS)))
    return model
