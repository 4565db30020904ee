"""Where each closed vocabulary lives: one line per registry, imported on first use."""

from __future__ import annotations

from importlib import import_module

from benchkit.registry import Registry

LOCATIONS: dict[str, tuple[str, str]] = {
    "task_types": ("benchkit.task_types", "TASK_TYPES"),
    "formats": ("benchkit.sources", "FORMATS"),
    "metrics": ("benchkit.metrics", "METRICS"),
    "score_rules": ("benchkit.scoring", "SCORE_RULES"),
    "submission_formats": ("benchkit.submission_formats", "SUBMISSION_FORMATS"),
}


def get(name: str) -> Registry:
    module, attribute = LOCATIONS[name]
    return getattr(import_module(module), attribute)
