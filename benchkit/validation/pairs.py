"""Do the consecutive rows a pair metric pairs up really belong together?

AX-g's gender parity compares the predictions of rows 2i and 2i+1, the two gendered variants of one Winogender
sentence: they share the hypothesis and differ in the premise's pronoun. jiant's scorer asserts that each pair shares
its hypothesis (``sent2_str``) rather than trusting row order; here the data check does the same, for every metric that
declares the role its pairs share (``Metric.pairs_share``), so a shuffled, filtered or re-sorted file is an error at the
first row out of place instead of a silently meaningless parity.
"""

from __future__ import annotations

from benchkit.cards.schema import TaskCard
from benchkit.errors import Problem
from benchkit.loading import role_columns
from benchkit.sources import RawTable


def _shared_roles(card: TaskCard) -> list[tuple[str, str]]:
    from benchkit.metrics import METRICS

    found = [(ref.key, METRICS.get(ref.name).pairs_share) for ref in card.metrics]
    return [(key, role) for key, role in found if role is not None]


def pair_problems(card: TaskCard, split: str, table: RawTable) -> list[Problem]:
    """One problem per pair metric: an odd row count, or the first pair whose rows differ in the shared role (with the
    number of such pairs)."""
    problems: list[Problem] = []
    columns = role_columns(card, split)
    for key, role in _shared_roles(card):
        column = columns.get(role)
        if column is None or column not in table.frame.columns or not len(table.frame):
            continue
        values = list(table.frame[column])
        if len(values) % 2:
            problems.append(table.problem(len(values) - 1, f"{key} pairs consecutive rows (2i, 2i+1), but the file has "
                                          f"{len(values)} rows: the last has no partner", field=f"fields.{role}",
                                          hint="use the official file, unfiltered and in its order"))
            continue
        # a missing or non-text value is the schema check's problem at its own row, not a second one here
        bad = [i for i in range(0, len(values), 2) if isinstance(values[i], str) and isinstance(values[i + 1], str)
               and values[i] != values[i + 1]]
        if bad:
            first = bad[0]
            where = table.location_kind
            problems.append(table.problem(
                first + 1,
                f"{key} pairs this row with the previous one ({where} {table.locations[first]}), but their "
                f"'{column}' differ: {values[first]!r} vs {values[first + 1]!r}"
                + (f" ({len(bad)} of {len(values) // 2} pairs differ)" if len(bad) > 1 else ""),
                field=f"fields.{role}",
                hint="rows 2i and 2i+1 must be the two variants of one example; use the official file in its order"))
    return problems
