"""A card's severity for one data check (``checks:`` in the card, error by default) and the hint that goes with it:
a check the card relaxes says the finding is a known quirk kept as published; an error says how to fix it (the
check's own hint)."""

from __future__ import annotations

from benchkit.cards.schema import Severity, TaskCard

# What a finding of each check is when the official files keep it (the wording of the warning's hint).
KNOWN = {"leakage": "a known overlap", "empty_text": "a known quirk", "row_count": "a known quirk",
         "span_text": "a known mismatch"}


def severity(card: TaskCard, check: str) -> Severity:
    return card.checks.severity(check)


def hint(card: TaskCard, check: str, fix: str) -> str:
    level = severity(card, check)
    if level == "warning":
        return f"{KNOWN[check]} of the official files, kept as published (the card sets checks.{check}: warning)"
    return fix
