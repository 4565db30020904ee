"""Costs measured the same way for every method and model, beyond time and peak memory (train/memory.py): the
optimizer's state in bytes, and inference latency per example at a fixed batch size, on a seeded sample of a stated
split, in the precision the run trained (and so evaluated) in."""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

LATENCY_BATCH = 32  # examples per timed forward pass: the same for every method and model
LATENCY_REPEATS = 10
LATENCY_WARMUP = 2
LATENCY_SEED = 0  # which examples of the split are timed: the same rows for every run of a task


@dataclass(frozen=True)
class Latency:
    ms_per_example: float
    batch_size: int  # examples timed (LATENCY_BATCH, or the whole split when smaller)
    split: str
    seed: int  # of the sample: LATENCY_SEED
    precision: str  # fp32, bf16 or fp16: the autocast the run trained and evaluated under


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


def latency_sample(rows: int, size: int, seed: int = LATENCY_SEED) -> list[int]:
    """``size`` row indices of a split of ``rows``, drawn with a seeded generator (kept in file order): a fixed,
    stated sample rather than the file's first rows, which may all be short or of one kind."""
    return sorted(random.Random(seed).sample(range(rows), size))


def autocast(device: Any, precision: str) -> Any:
    """The Trainer's mixed precision (``bf16``/``fp16`` training arguments run the forward pass under autocast, in
    training and evaluation alike); fp32: no autocast."""
    import torch

    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def inference_latency(model: Any, dataset: Any, collate: Any, device: Any, split: str,
                      precision: str = "fp32") -> Latency:
    """Milliseconds per example of a forward pass over one batch of up to LATENCY_BATCH examples of ``split`` (a
    seeded sample, ``latency_sample``), in eval mode without gradients and in the run's ``precision``: the fastest
    of LATENCY_REPEATS passes after LATENCY_WARMUP (the minimum is the least disturbed by other work on the machine,
    which only ever adds time)."""
    import torch

    size = min(LATENCY_BATCH, len(dataset))
    if size == 0:
        return Latency(0.0, 0, split, LATENCY_SEED, precision)
    keep = [c for c in dataset.column_names if c in ("input_ids", "attention_mask", "token_type_ids", "word_index",
                                                    "span_tokens", "answer_mask")]
    rows = [{k: dataset[i][k] for k in keep} for i in latency_sample(len(dataset), size)]
    batch = {k: v.to(device) for k, v in collate(rows).items() if hasattr(v, "to") and k != "labels"}
    was_training = model.training
    model.eval()
    seconds = []
    with torch.no_grad(), autocast(device, precision):
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
    return Latency(round(min(seconds) / size * 1000, 4), size, split, LATENCY_SEED, precision)
