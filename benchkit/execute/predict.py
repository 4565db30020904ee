"""``benchkit predict --file``: a new file in a card's format read as the card's one split, so a finished run's model
(``train.inference``) can label new data in the ``benchkit score`` format."""

from __future__ import annotations

from pathlib import Path

from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem


def file_card(card: TaskCard, file: Path) -> tuple[TaskCard, Path]:
    """The card with one split, ``test``, read from ``file`` in the layout of the card's labelled files (its base
    fields and read options: GLUE's SST-2 file ``sentence<TAB>label`` with a header), and the folder to read it from;
    the label column may be absent or empty, and ids are row indices unless the card's base fields name an id
    column."""
    from benchkit.cards.schema import Split
    from benchkit.contracts.formats import FORMATS

    if not FORMATS.get(card.source.format).local:
        raise BenchkitError(Problem(f"{card.id} reads format '{card.source.format}'; --file needs a file format",
                                    field="--file", hint="pass --split with --data-dir, or write the rows as the "
                                                         "card's local layout"))
    split = Split(file=file.name, labels="hidden")
    card = card.model_copy(update={"splits": {"test": split}, "source": card.source.model_copy(update={"dir": "."})})
    return card, file.absolute().parent  # as named: a DVC-tracked file is a link whose target has another name
