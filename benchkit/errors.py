"""One exception family for user errors: each names where, what was expected, and a hint.

The CLI prints ``Problem.format()`` on one line and exits 2. Library code raises ``BenchkitError``
for anything a user can fix (a bad card, a bad file, a bad argument) and lets real bugs propagate.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a card, a file or an argument."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    hint: str | None = None
    severity: Severity = "error"
    # "line" for text files, "row" for formats without lines (parquet, hub), "record" for JSON arrays.
    location_kind: str = "line"

    def format(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}" if self.location_kind == "line" else f" {self.location_kind} {self.line}"
            where += ": "
        elif self.line is not None:
            where = f"{self.location_kind} {self.line}: "
        what = f"{self.field}: " if self.field else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        text = f"{where}{what}{self.message}{hint}"
        return " ".join(text.split("\n"))  # always one line


class BenchkitError(Exception):
    """A user-facing error carrying one or more problems."""

    def __init__(self, problem: Problem | str, *more: Problem):
        first = Problem(problem) if isinstance(problem, str) else problem
        self.problems: list[Problem] = [first, *more]
        super().__init__(first.format())


@dataclass
class Report:
    """Collects problems instead of stopping at the first one."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' suggestion, or None when nothing is close."""
    choices = list(choices)
    same_letters = [c for c in choices if str(c).casefold() == str(word).casefold()]
    if same_letters:  # 'entailment' for 'ENTAILMENT': difflib compares case-sensitively and finds nothing
        return f"did you mean '{same_letters[0]}'?"
    matches = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None
