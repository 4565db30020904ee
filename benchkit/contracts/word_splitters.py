"""The word splitters an ``entity_spans:`` card may name: declared, deterministic regular expressions, so the words
(and the tags written for them by ``benchkit.entity_spans``) are the same wherever the card is read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchkit.registry import Registry


@dataclass(frozen=True)
class WordSplitter:
    name: str
    pattern: str  # a word is a match of this regular expression
    description: str

    def words(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(self.pattern, text)]


WORD_SPLITTERS: Registry[WordSplitter] = Registry("word splitter")
WORD_SPLITTERS.add("words", WordSplitter(
    "words", r"\w+(?:[-'’.]\w+)*|[^\w\s]",
    "runs of letters and digits (joined by - ' ’ or . inside a word: 'well-known', 'U.S', '3.5'), and each other "
    "non-space character on its own"))
WORD_SPLITTERS.add("whitespace", WordSplitter("whitespace", r"\S+", "maximal runs of non-space characters"))
