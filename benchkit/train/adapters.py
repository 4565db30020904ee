"""Saved adapters: a method's trained part kept apart from the base model, and how each kind loads back.

A kind is known by the file that marks its folder: peft's ``adapter_config.json`` (LoRA, IA3, prompt tuning) or
benchkit's ``prefix_config.json`` (prefix tuning). Each names its base model, which is read from where it was
trained, or else from the run record's model alias.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AdapterFormat:
    marker: str  # the file that marks a folder holding this kind of adapter
    base: Callable[[Path], str | None]  # the base model it was trained over
    load: Callable[[Any, Path], Any]  # (base model with its head, folder) -> the model with the adapter


def _peft_base(folder: Path) -> str | None:
    return json.loads((folder / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")


def _peft_load(model: Any, folder: Path) -> Any:
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(folder))


def _prefix_base(folder: Path) -> str | None:
    from benchkit.train import prefix

    return prefix.base_of(folder)


def _prefix_load(model: Any, folder: Path) -> Any:
    from benchkit.train import prefix

    return prefix.load(model, folder)


ADAPTER_FORMATS = (AdapterFormat("adapter_config.json", _peft_base, _peft_load),
                   AdapterFormat("prefix_config.json", _prefix_base, _prefix_load))


def adapter_format(folder: Path) -> AdapterFormat | None:
    """The kind of adapter saved in ``folder``, or None for a full model."""
    return next((f for f in ADAPTER_FORMATS if (folder / f.marker).is_file()), None)
