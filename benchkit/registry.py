"""One generic registry for every closed vocabulary: task types, formats, metrics, score rules, ...

Entries are registered by name (with optional aliases) from the module that implements them;
third-party plugins register through the ``benchkit.plugins`` entry-point group. Unknown names raise
a ``BenchkitError`` with a did-you-mean hint.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from benchkit.errors import BenchkitError, Problem, did_you_mean

T = TypeVar("T")

_plugins_loaded = False


def load_plugins() -> None:
    """Import every module registered under the ``benchkit.plugins`` entry-point group, once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="benchkit.plugins"):
        ep.load()


class Registry(Generic[T]):
    """Name -> entry, with aliases and did-you-mean lookups."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def add(self, name: str, entry: T, *, aliases: tuple[str, ...] = ()) -> T:
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
        self._entries[name] = entry
        for alias in aliases:
            self._aliases[alias] = name
        return entry

    def register(self, name: str, *, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Decorator form of ``add``."""

        def decorate(entry: T) -> T:
            return self.add(name, entry, aliases=aliases)

        return decorate

    def canonical(self, name: str) -> str:
        load_plugins()
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise BenchkitError(
            Problem(
                f"unknown {self.kind} '{name}'; expected one of: {', '.join(sorted(self._entries))}",
                hint=did_you_mean(name, [*self._entries, *self._aliases]),
            )
        )

    def get(self, name: str) -> T:
        return self._entries[self.canonical(name)]

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._entries or name in self._aliases

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        load_plugins()
        return iter(sorted(self._entries.items()))
