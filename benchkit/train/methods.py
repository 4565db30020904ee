"""Fine-tuning methods: how a model is prepared before training (which parameters train, which wrappers apply).

One registry; the loop asks the method to prepare the model and records its name and options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from benchkit.registry import Registry


@dataclass(frozen=True)
class Method:
    name: str
    prepare: Callable[[Any, dict[str, Any]], Any]  # (model, options) -> model to train
    description: str


METHODS: Registry[Method] = Registry("method")

METHODS.add("full", Method("full", lambda model, options: model, "full fine-tuning: every parameter trains"),
            aliases=("full-ft",))
