"""Data-parallel training of one run over several processes (``benchkit run --processes N``, launched through
accelerate; NCCL on GPUs, gloo on CPU). Every process trains and predicts (the Trainer shards batches and gathers
predictions in order); only the main process writes: predictions, the model, the record, logs and progress.

The recipe's batch size stays the examples per optimizer step: each of N processes takes batch_size / N, so a run's
scores and configuration hash do not depend on how many processes trained it.
"""

from __future__ import annotations

import os

from benchkit.errors import BenchkitError, Problem


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def per_process_batch(batch_size: int, processes: int | None = None) -> int:
    world = processes or world_size()
    if batch_size % world:
        raise BenchkitError(Problem(f"batch_size {batch_size} does not split evenly over {world} processes",
                                    field="batch_size", hint=f"use a batch size divisible by {world}, or "
                                                             "--set gradient_accumulation to reach it"))
    return batch_size // world
