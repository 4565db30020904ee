"""Costs measured the same way for every method and model, beyond time and peak memory (train/memory.py): the
optimizer's state in bytes, and inference latency per example at a fixed batch size."""

from __future__ import annotations

import time
from typing import Any

LATENCY_BATCH = 32  # examples per timed forward pass: the same for every method and model
LATENCY_REPEATS = 10
LATENCY_WARMUP = 2


def optimizer_state_bytes(optimizer: Any) -> int:
    """Bytes of every tensor the optimizer keeps per parameter (AdamW: two moments in fp32; 8-bit AdamW: uint8 states
    and their quantization statistics; GaLore: moments of the low-rank projection)."""
    import torch

    if optimizer is None:
        return 0
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                total += value.numel() * value.element_size()
    return total


def inference_latency(model: Any, dataset: Any, collate: Any, device: Any) -> tuple[float, int]:
    """Milliseconds per example of a forward pass over one batch of up to LATENCY_BATCH examples, in eval mode without
    gradients: the fastest of LATENCY_REPEATS passes after LATENCY_WARMUP (the minimum is the least disturbed by other
    work on the machine, which only ever adds time); returns (ms per example, batch size)."""
    import torch

    size = min(LATENCY_BATCH, len(dataset))
    if size == 0:
        return 0.0, 0
    keep = [c for c in dataset.column_names if c in ("input_ids", "attention_mask", "token_type_ids", "word_index",
                                                    "span_tokens")]
    rows = [{k: dataset[i][k] for k in keep} for i in range(size)]
    batch = {k: v.to(device) for k, v in collate(rows).items() if hasattr(v, "to") and k != "labels"}
    was_training = model.training
    model.eval()
    seconds = []
    with torch.no_grad():
        for attempt in range(LATENCY_WARMUP + LATENCY_REPEATS):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(**batch)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if attempt >= LATENCY_WARMUP:  # the first passes warm caches, allocators and kernels
                seconds.append(time.perf_counter() - start)
    model.train(was_training)
    return round(min(seconds) / size * 1000, 4), size
