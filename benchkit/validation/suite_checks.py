"""Checks across the task cards of a suite, run by ``benchkit validate SUITE`` and before an evaluation-only run.

* ``unread_keys``: a JSON file that several task cards read, each under its own top-level key (``read.records_path``;
  AdvGLUE's dev.json keyed sst2, qqp, mnli, mnli-mm, qnli, rte), holds no key that none of the suite's cards reads:
  a misspelt or unexpected key (``sst-2``, HF's ``mnli_mismatched``) would otherwise be silently left out.
* ``evaluator_labels``: a task predicted by another task's model (``evaluated_with``) lists its labels in the order of
  that task's card, since the model's head outputs indices into the evaluating card's ``labels.names``.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchkit.cards.catalog import Suite
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.loading import locate


def top_level_keys(text: str) -> list[tuple[str, int]]:
    """The keys of a JSON object document with the 1-based line of each, in file order. A document that is not an
    object gives none; a malformed one gives the keys before the fault (the reader reports the fault itself)."""
    whitespace = json.decoder.WHITESPACE  # type: ignore[attr-defined]
    decoder = json.JSONDecoder()
    keys: list[tuple[str, int]] = []
    try:
        i = whitespace.match(text, 0).end()
        if text[i] != "{":
            return keys
        i += 1
        while True:
            i = whitespace.match(text, i).end()
            if text[i] == "}" or text[i] != '"':
                return keys
            start = i
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            i = whitespace.match(text, i).end()
            if text[i] != ":":
                return keys
            _, i = decoder.raw_decode(text, whitespace.match(text, i + 1).end())
            keys.append((key, text.count("\n", 0, start) + 1))
            i = whitespace.match(text, i).end()
            if text[i] != ",":
                return keys
            i += 1
    except (ValueError, IndexError):
        return keys


def unread_keys(suite: Suite, data_dir: Path) -> list[Problem]:
    """One error per top-level key of a shared JSON file that no card of the suite reads (file, line, key, hint)."""
    from benchkit.sources.base import read_text

    read: dict[str, dict[str, str]] = {}  # file -> first key of each records_path -> encoding
    for card in suite.tasks:
        if card.source.format != "json":
            continue
        for split in card.splits:
            where = locate(card, split, data_dir)
            options = card.split_read(split)
            if where is None or not where.exists or not options.records_path:
                continue
            read.setdefault(where.location, {})[options.records_path.split(".")[0]] = options.encoding
    problems: list[Problem] = []
    for file, known in read.items():
        try:
            text = read_text(file, next(iter(known.values())))
        except BenchkitError:
            continue  # the readers report an unreadable file
        for key, line in top_level_keys(text):
            if key not in known:
                read_by_cards = (f"the suite's cards read {', '.join(known)}; a new task needs a card with "
                                 f"read.records_path: {key}")
                problems.append(Problem(f"no task of suite {suite.card.id} reads this key", file=file, line=line,
                                        field=key,
                                        hint=" ".join(filter(None, [did_you_mean(key, known), read_by_cards]))))
    return problems


def evaluator_labels(suite: Suite) -> list[Problem]:
    """A task evaluated with another task's model must name a known task and list the same labels in its order."""
    from benchkit.cards import catalog, roots
    from benchkit.cards.loader import read_with_extends

    problems: list[Problem] = []
    for card in suite.tasks:
        if not card.evaluators:
            continue
        path = roots.task_path(card.id)
        lines = read_with_extends(path).lines
        for evaluator in card.evaluators:
            try:
                other = catalog.load_task(evaluator)
            except BenchkitError:
                file, line = lines.get(("evaluated_with",), (str(path), None))
                problems.append(Problem(f"{card.id} is evaluated with '{evaluator}', which no task card defines",
                                        file=file, line=line, field="evaluated_with",
                                        hint=did_you_mean(evaluator, roots.task_ids())
                                        or "name the task whose model predicts this one, e.g. glue/sst2"))
                continue
            if card.labels is None or other.labels is None or card.labels.names == other.labels.names:
                continue
            file, line = lines.get(("labels", "names"), (str(path), None))
            problems.append(Problem(
                f"{card.id} lists its labels as {card.labels.names}, but the model of {evaluator} predicts "
                f"{other.labels.names} (indices into that card's labels)", file=file, line=line,
                field="labels.names", hint=f"list the labels in {evaluator}'s order: {other.labels.names}"))
    return problems
