"""A task card inferred from data files: which file is which split, which column is the text, the label and the id,
the task type, the label set and the metrics that suit them. Each choice is a ``Guess`` (how sure, and why), written
as a comment beside its line of the card; ``choices`` (from flags or answers) override any guess.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem
from benchkit.scaffold.sniff import Guess, Sniffed, sniff

# a file-name word -> the split it names: CoNLL-2003's eng.train/eng.testa/eng.testb (testa is the dev set), Hub and
# SuperGLUE's val/validation, dev/valid, test; a word joined to it by '_' is the split's suffix (dev_matched)
SPLIT_WORDS = {"train": "train", "training": "train", "dev": "dev", "development": "dev", "val": "dev",
               "valid": "dev", "validation": "dev", "testa": "dev", "test": "test", "testb": "test", "eval": "test"}
NOT_SUFFIXES = {"features", "labels", "label", "data", "set", "split", "file", "text", "texts", "clean", "all",
                "full", "first", "sample", "noheader", "unlabeled", "unlabelled", "public"}
ID_NAMES = {"id", "idx", "index", "guid", "uid", "example_id", "pair_id", "qid"}
LABEL_NAMES = {"label", "labels", "gold_label", "target", "class", "category", "sentiment", "score", "rating",
               "quality", "y", "polarity", "emotion", "stance"}
PAIR_NAMES = (("sentence1", "sentence2"), ("#1 string", "#2 string"), ("premise", "hypothesis"),
              ("question", "sentence"), ("question", "passage"), ("text_a", "text_b"), ("text1", "text2"),
              ("question1", "question2"), ("sentence_a", "sentence_b"), ("context", "question"))
# Classes are imbalanced (macro-F1 is the task score, accuracy beside it) when the largest holds over 60% of train, or,
# with three classes or more, when the smallest holds under half of an even share (README: A task card from data files)
IMBALANCED = 0.6
RARE = 0.5


def split_of(path: Path) -> str | None:
    """The split a file's name names (``dev_matched`` for dev_matched.tsv), or None."""
    name = path.name.lower()
    for match in re.finditer(r"[a-z]+", name):
        split = SPLIT_WORDS.get(match.group())
        if split is None:
            continue
        suffix = re.match(r"_([a-z]+)", name[match.end():])
        if suffix and suffix.group(1) not in NOT_SUFFIXES and suffix.group(1) not in SPLIT_WORDS:
            return f"{split}_{suffix.group(1)}"
        return split
    return None


@dataclass
class Column:
    name: str
    index: int
    values: list[Any]

    @property
    def present(self) -> list[str]:
        """The values as the readers pass them on (JSON true/false as written), empty ones left out."""
        return [_text(v) for v in self.values if v is not None and _text(v) != ""]

    @property
    def empty_share(self) -> float:
        return 1 - len(self.present) / max(1, len(self.values))

    @property
    def numeric(self) -> bool:
        present = self.present
        return bool(present) and all(_number(v) is not None for v in present)

    @property
    def integral(self) -> bool:
        return self.numeric and all(float(v).is_integer() for v in self.present)

    @property
    def distinct(self) -> int:
        return len(set(self.present))

    @property
    def words(self) -> float:
        present = self.present
        return sum(len(v.split()) for v in present) / max(1, len(present))


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Inferred:
    """The card as data (``card``), a comment per card path (``notes``: ("type",) -> "guess: ..."), and the report."""

    card: dict[str, Any]
    notes: dict[tuple[str, ...], str] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)

    def note(self, where: tuple[str, ...], guess: Guess, what: str) -> None:
        self.notes[where] = f"{guess.sure}: {guess.why}"
        self.report.append(f"{what}: {guess.value} ({guess.sure}: {guess.why})")


def _columns(sniffed: Sniffed) -> list[Column]:
    return [Column(name, i, [row[i] if i < len(row) else None for row in sniffed.rows])
            for i, name in enumerate(sniffed.columns)]


def _pick_id(columns: list[Column], total: int) -> tuple[Column | None, Guess | None]:
    for column in columns:
        if column.name.lower() in ID_NAMES and column.distinct == len(column.present) and column.present:
            return column, Guess(column.name, "likely", f"named {column.name!r}, and its values are unique")
    return None, None


def _pick_label(columns: list[Column], given: str | None) -> tuple[Column | None, Guess | None]:
    if given:
        found = next((c for c in columns if c.name == given), None)
        if found is None:
            raise BenchkitError(Problem(f"no column {given!r}", field="--label",
                                        hint=f"the columns are: {', '.join(c.name for c in columns)}"))
        return found, Guess(given, "certain", "given with --label")
    for column in columns:
        if column.name.lower() in LABEL_NAMES and column.present:
            return column, Guess(column.name, "likely", f"named {column.name!r}")
    candidates = [c for c in columns if c.empty_share < 0.2 and c.words <= 2 and 2 <= c.distinct <= 50
                  and c.distinct < 0.5 * max(1, len(c.present))]
    candidates.sort(key=lambda c: (not c.integral, c.distinct))
    if candidates:
        best = candidates[0]
        kind = "whole numbers" if best.integral else "short values"
        return best, Guess(best.name, "guess", f"{best.distinct} distinct {kind} in every row")
    numeric = [c for c in columns if c.numeric and not c.integral and c.empty_share < 0.2]
    if numeric:
        return numeric[-1], Guess(numeric[-1].name, "guess", "the last column of fractional numbers")
    return None, None


def _pick_texts(columns: list[Column], taken: set[str], given: list[str] | None) -> tuple[list[Column], Guess]:
    if given:
        chosen = [c for c in columns if c.name in given]
        missing = set(given) - {c.name for c in chosen}
        if missing:
            raise BenchkitError(Problem(f"no column {min(missing)!r}", field="--text",
                                        hint=f"the columns are: {', '.join(c.name for c in columns)}"))
        return sorted(chosen, key=lambda c: given.index(c.name)), Guess(given, "certain", "given with --text")
    # running text: three words or more on average (labels are a word or two), and not a handful of values
    texts = [c for c in columns if c.name not in taken and not c.numeric and c.words >= 3
             and c.distinct >= min(3, len(c.present))]
    if not texts:
        raise BenchkitError(Problem("no column looks like text (three words or more on average)",
                                    field="--text", hint=f"name it: --text COLUMN; the columns are: "
                                                         f"{', '.join(c.name for c in columns)}"))
    lowered = {c.name.lower(): c for c in texts}
    for first, second in PAIR_NAMES:
        if first in lowered and second in lowered:
            return [lowered[first], lowered[second]], Guess([lowered[first].name, lowered[second].name], "likely",
                                                            f"a known pair of names ({first}, {second})")
    if len(texts) == 1:
        return texts, Guess([texts[0].name], "likely", f"the only column of running text ({texts[0].words:.1f} "
                                                       "words on average)")
    pair = texts[:2]
    return pair, Guess([c.name for c in pair], "guess", f"the first two of {len(texts)} text columns "
                                                        f"({', '.join(c.name for c in texts)})")


def _order(values: list[str]) -> list[str]:
    if all(_number(v) is not None for v in values):
        return sorted(values, key=float)
    return sorted(values)


def splits_of(files: list[Path]) -> dict[str, Path]:
    """Split name -> file, by the files' names; one unnamed file is train. Refuses a file it cannot place."""
    if not files:
        raise BenchkitError(Problem("no data files given", field="FILE", hint="e.g. benchkit new task data/x/train.tsv"))
    splits: dict[str, Path] = {}
    for path in files:
        split = split_of(path)
        if split is None and "train" not in splits and not any(split_of(f) == "train" for f in files):
            split = "train"  # the one file without a split's name is the training data
        if split is None or split in splits:
            raise BenchkitError(Problem("cannot tell which split this file is" if split is None else
                                        f"a second file for split '{split}' (the first is {splits[split]})",
                                        file=str(path), field="FILE",
                                        hint="name the files by split: train.*, dev.* (or val.*, valid.*, "
                                             "validation.*, CoNLL's eng.testa), test.* (or eng.testb); a suffix "
                                             "names a second one (dev_matched.tsv)"))
        splits[split] = path
    return dict(sorted(splits.items(), key=lambda item: (["train", "dev", "test"].index(item[0].split("_")[0]),
                                                         item[0])))


def infer_card(files: list[Path], suite: str, task: str, data_dir: Path, *, language: str,
               text: list[str] | None = None, label: str | None = None, task_type: str | None = None,
               source_dir: str | None = None) -> Inferred:
    """Infer the card of task ``suite/task`` from its data ``files``: in one folder under ``data_dir``, or (with
    ``source_dir``) wherever they are, to be placed in ``data_dir/source_dir`` under their own names. Without a
    train file the task is evaluation-only (dev or test files alone: AdvGLUE-like suites, zero-shot models)."""
    splits = splits_of(files)
    if source_dir is None:
        from benchkit.scaffold.place import within

        folders = {p.absolute().parent for p in splits.values()}  # a DVC-tracked file's link target is not its place
        if len(folders) != 1:
            raise BenchkitError(Problem("the files are in different folders", field="FILE",
                                        hint="put a task's split files in one folder under the data folder"))
        folder = folders.pop()
        inside = within(folder, data_dir)
        if inside is None:
            raise BenchkitError(Problem(f"the files are outside the data folder {data_dir}", file=str(folder),
                                        field="--data-dir", hint="move them under the data folder, or pass --data-dir"))
        source_dir = inside
    sniffed = {split: sniff(path) for split, path in splits.items()}
    base_split = next(iter(sniffed))  # train where there is one: the sample the columns and labels are read from
    train = sniffed[base_split]
    out = Inferred(card={})
    card: dict[str, Any] = {"id": f"{suite}/{task}", "version": "0.1.0", "name": task,
                            "description": f"{task} (describe the task: where the texts come from and what the "
                                           "labels mean)",
                            "language": language, "license": "unknown (state the data's licence)",
                            "citation": "unknown (cite the data's source)", "homepage": "unknown"}
    out.card = card
    source: dict[str, Any] = {"format": train.format.value, "dir": source_dir}
    out.note(("source", "format"), train.format, "format")
    read: dict[str, Any] = {}
    if train.format.value in ("tsv", "csv"):
        header = train.read["header"]
        read["header"] = header.value
        out.note(("source", "read", "header"), header, "header row")
        if not header.value:
            read["columns"] = train.columns  # renamed below once the roles are known
        quoting = train.read["quoting"]
        read["quoting"] = quoting.value
        out.note(("source", "read", "quoting"), quoting, "quoting")
        if train.read["delimiter"].value not in ("\t", ","):
            read["delimiter"] = train.read["delimiter"].value
            out.note(("source", "read", "delimiter"), train.read["delimiter"], "delimiter")
    if train.encoding.value not in ("utf-8", "binary"):
        read["encoding"] = train.encoding.value
        out.note(("source", "read", "encoding"), train.encoding, "encoding")
    if read:
        source["read"] = read
    card["source"] = source

    if train.format.value == "conll":
        _token_task(out, train, sniffed)
    else:
        _table_task(out, train, sniffed, text, label, task_type, read, base_split)
    split_entries: dict[str, Any] = {}
    for split, info in sniffed.items():
        entry: dict[str, Any] = {"file": splits[split].name, "rows": info.total_rows}
        hidden = split != base_split and out.card.get("_label_column") is not None and _labels_hidden(
            info, out.card["_label_column"], train)
        if hidden:
            entry["labels"] = "hidden"
            out.report.append(f"{split}: labels hidden (the file has no values in the label column)")
        split_entries[split] = entry
    if base_split != "train":
        out.notes[("splits",)] = (f"no train file: an evaluation-only task ({base_split} read as given), for models "
                                  "trained elsewhere or used zero-shot; to evaluate the models of another task, "
                                  "name it: evaluated_with: [suite/task]")
        out.report.append(f"splits: {', '.join(split_entries)}: no train file, so an evaluation-only task "
                          f"(columns and labels read from {base_split})")
    elif not any(s.startswith("dev") for s in split_entries):
        split_entries["dev"] = {"derive": {"from": "train", "fraction": 0.1, "seed": 0}}
        out.notes[("splits", "dev")] = ("no dev file: 10% of train, stratified, seed 0, from the rows whose input "
                                        "occurs once in train (so dev shares no input with train)")
        out.report.append("dev: derived from train (10%, stratified, seed 0): no dev file was given")
    card["splits"] = split_entries
    card.pop("_label_column", None)
    _default_prompt(out)
    return out


def _labels_hidden(info: Sniffed, label_column: tuple[str, int], train: Sniffed) -> bool:
    """A split without label values: no label column (by name in a file with a header), or an empty one."""
    name, position = label_column
    headed = info.read.get("header") is not None and info.read["header"].value
    if headed or info.format.value in ("jsonl", "json", "parquet"):
        if name not in info.columns:
            return True
        position = info.columns.index(name)
    return all(position >= len(row) or row[position] in (None, "") for row in info.rows)


def _table_task(out: Inferred, train: Sniffed, sniffed: dict[str, Sniffed], text: list[str] | None,
                label: str | None, task_type: str | None, read: dict[str, Any], base: str = "train") -> None:
    """Columns, type, labels and metrics of a table task, read from the ``base`` split's sample (train, or the
    first split of an evaluation-only task)."""
    card = out.card
    columns = _columns(train)
    id_column, id_guess = _pick_id(columns, train.total_rows)
    label_column, label_guess = _pick_label([c for c in columns if c is not id_column], label)
    taken = {c.name for c in (id_column, label_column) if c is not None}
    texts, text_guess = _pick_texts(columns, taken, text)
    if label_column is None:
        raise BenchkitError(Problem("no column looks like the label", field="--label", file=str(train.path),
                                    hint=f"name it: --label COLUMN; the columns are: "
                                         f"{', '.join(c.name for c in columns)}"))
    if not read.get("header", True):  # a file without a header: name the columns by their roles
        _name_by_role(read, columns, id_column, label_column, texts)
        label_guess = Guess(label_column.name, label_guess.sure, label_guess.why)
        text_guess = Guess([c.name for c in texts], text_guess.sure, text_guess.why)
    fields: dict[str, Any] = {"text": texts[0].name}
    if len(texts) > 1:
        fields["text_pair"] = texts[1].name
    fields["label"] = label_column.name
    if id_column is not None:
        fields = {"id": id_column.name, **fields}
        out.note(("fields", "id"), id_guess, "id column")  # type: ignore[arg-type]
    out.note(("fields", "label"), label_guess, "label column")  # type: ignore[arg-type]
    out.note(("fields", "text"), text_guess, "text column(s)")
    kind = _table_type(task_type, label_column, texts)
    card["type"] = kind.value
    out.note(("type",), kind, "task type")
    card["fields"] = fields
    card["_label_column"] = (label_column.name, label_column.index)
    if kind.value == "regression":
        _regression_target(out, label_column, base)
    else:
        _class_labels(out, label_column, sniffed, base)


def _name_by_role(read: dict[str, Any], columns: list[Column], id_column: Column | None, label_column: Column,
                  texts: list[Column]) -> None:
    """A file without a header: its columns are named by their roles (label, text, text_pair, id) in ``read``."""
    names = [c.name for c in columns]
    renames = {label_column.name: "label", texts[0].name: "text"}
    if len(texts) > 1:
        renames[texts[1].name] = "text_pair"
    if id_column is not None:
        renames[id_column.name] = "id"
    read["columns"] = [renames.get(n, n) for n in names]
    for column in (label_column, *texts, *([id_column] if id_column else [])):
        column.name = renames[column.name]


def _table_type(task_type: str | None, label_column: Column, texts: list[Column]) -> Guess:
    """The task type: given, else regression for a label of many numbers, else classification of one or two texts."""
    regression = (not label_column.integral and label_column.numeric) or (
        label_column.numeric and label_column.distinct > 20)
    if task_type:
        return Guess(task_type, "certain", "given with --type")
    if regression:
        return Guess("regression", "likely", f"the label holds {label_column.distinct} distinct numbers")
    if len(texts) > 1:
        return Guess("text_pair_classification", "likely", f"two text columns and {label_column.distinct} labels")
    return Guess("single_text_classification", "likely", f"one text column and {label_column.distinct} labels")


def _regression_target(out: Inferred, label_column: Column, base: str) -> None:
    values = [float(v) for v in label_column.present]
    out.card["value_range"] = [min(values), max(values)]
    out.notes[("value_range",)] = f"guess: the smallest and largest score in {base}; widen it to the scale's ends"
    _metrics(out, ["pearson", "spearman"], ["pearson", "spearman"],
             "regression: the task score is the mean of Pearson and Spearman correlation (as GLUE scores STS-B)")


def _class_labels(out: Inferred, label_column: Column, sniffed: dict[str, Sniffed], base: str) -> None:
    """The label set (every labelled split's values) and the metrics its balance calls for."""
    card = out.card
    values = set(label_column.present)
    for info in sniffed.values():  # labels seen in any labelled split
        if info.read.get("header") and info.read["header"].value:
            index = info.columns.index(label_column.name) if label_column.name in info.columns else None
        else:
            index = label_column.index
        if index is not None:
            values.update(_text(row[index]) for row in info.rows if index < len(row) and row[index] not in (None, ""))
    names = _order(sorted(values))
    card["labels"] = {"names": names}
    out.notes[("labels", "names")] = ("the label strings as the files write them; to name codes, keep these as "
                                      "map keys: map: {0: negative, 1: positive}")
    counts = {v: label_column.present.count(v) for v in names}
    imbalance = _imbalance(counts, base)
    if imbalance:
        _metrics(out, ["f1_macro", "accuracy"], ["f1_macro"],
                 f"imbalanced classes ({imbalance}): the task score is macro-F1 alone (score_metrics), accuracy is "
                 "reported beside it")
    else:
        largest = max(counts.values()) / max(1, sum(counts.values()))
        _metrics(out, ["accuracy"], ["accuracy"], f"balanced classes (the largest holds {largest:.0%} of {base}): "
                                                  "the task score is accuracy")
    out.report.append(f"labels: {', '.join(names)} ({'; '.join(f'{k} {v}' for k, v in counts.items())} in the "
                      f"{base} sample)")
    out.report.append(f"metrics: {', '.join(card['metrics'])} ({out.notes[('metrics',)]})")


def _imbalance(counts: dict[str, int], base: str = "train") -> str | None:
    """Which documented rule finds the classes imbalanced (IMBALANCED, RARE), said with the numbers; None if none."""
    total = max(1, sum(counts.values()))
    largest, smallest = max(counts, key=counts.__getitem__), min(counts, key=counts.__getitem__)
    if counts[largest] / total > IMBALANCED:
        return f"the largest, {largest}, holds {counts[largest] / total:.0%} of {base}, over {IMBALANCED:.0%}"
    even = total / len(counts)
    if len(counts) > 2 and counts[smallest] < RARE * even:
        return (f"the smallest, {smallest}, holds {counts[smallest] / total:.0%} of {base}, under half of an even "
                f"share ({1 / len(counts):.0%})")
    return None


def _metrics(out: Inferred, metrics: list[str], scored: list[str], why: str) -> None:
    """The card's metrics, its primary metric (the first) and the metrics whose mean is the task score, stated
    explicitly (score_metrics) so the comment says what will be scored."""
    out.card["metrics"] = metrics
    out.card["primary_metric"] = metrics[0]
    out.card["score_metrics"] = scored
    out.notes[("metrics",)] = why


def _token_task(out: Inferred, train: Sniffed, sniffed: dict[str, Sniffed]) -> None:
    card = out.card
    card["type"] = "token_classification"
    out.note(("type",), Guess("token_classification", "likely", "tokens with one tag each"), "task type")
    card["fields"] = {"tokens": "tokens", "tags": "tags"}
    tags = sorted({t for info in sniffed.values() for _, row_tags in info.rows for t in row_tags})
    prefixes = {t.split("-", 1)[0] for t in tags if "-" in t}
    # a chunk that opens with I- (after O, another type, or at a sentence's start) is IOB1's
    starts_with_inside = any(tag.startswith("I-") and (i == 0 or tag_list[i - 1][2:] != tag[2:])
                             for _, tag_list in train.rows for i, tag in enumerate(tag_list))
    if not prefixes:
        scheme = Guess("plain", "likely", "tags without B-/I- prefixes")
    elif {"S", "E"} & prefixes:
        scheme = Guess("BIOES", "likely", "S- and E- tags")
    elif starts_with_inside or "B" not in prefixes:
        scheme = Guess("IOB1", "likely", "chunks start with I- (B- only separates adjacent chunks)")
    else:
        scheme = Guess("IOB2", "likely", "every chunk starts with B-")
    ordered, added = _tag_set(tags, scheme.value)
    card["labels"] = {"names": ordered, "scheme": scheme.value}
    out.note(("labels", "scheme"), scheme, "tag scheme")
    if added:
        out.notes[("labels", "names")] = (f"the tags seen, completed with {', '.join(added)}: every {scheme.value} tag "
                                          "of each entity type seen (" + (
                                              "IOB1 writes B- only between adjacent chunks of one type, so a "
                                              "sample may lack it" if scheme.value == "IOB1" else
                                              "a sample may lack some") + ")")
    if scheme.value == "plain":
        _metrics(out, ["seqeval_f1_macro", "seqeval_f1"], ["seqeval_f1_macro"],
                 "the task score is per-tag F1, macro-averaged over the tags (as LEPISZCZE scores POS tagging); "
                 "micro-F1 is reported beside it")
    else:
        _metrics(out, ["seqeval_f1", "seqeval_precision", "seqeval_recall"], ["seqeval_f1"],
                 "the task score is entity-level F1 (seqeval); precision and recall are reported beside it")
    out.report.append(f"tags: {', '.join(ordered)}" + (f" (completed with {', '.join(added)}, which the files do "
                                                       f"not hold: every {scheme.value} tag of each type seen)"
                                                       if added else ""))
    out.report.append(f"metrics: {', '.join(card['metrics'])} ({out.notes[('metrics',)]})")


SCHEME_PREFIXES = {"IOB1": ("B", "I"), "IOB2": ("B", "I"), "BIOES": ("B", "I", "E", "S")}


def _tag_set(tags: list[str], scheme: str) -> tuple[list[str], list[str]]:
    """(O first, then every tag the scheme allows for each entity type seen, sorted; the tags added to those seen).
    A test file may hold a tag that train does not (IOB1's B-LOC), and a label set must name it."""
    seen = set(tags)
    prefixes = SCHEME_PREFIXES.get(scheme, ())
    types = {t.split("-", 1)[1] for t in seen if "-" in t and t.split("-", 1)[0] in prefixes}
    full = seen | {f"{prefix}-{kind}" for kind in types for prefix in prefixes}
    ordered = (["O"] if "O" in full else []) + sorted(t for t in full if t != "O")
    return ordered, [t for t in ordered if t not in seen]


# -- a default prompt (benchkit.cards.prompts): how a generative language model is asked the task -----------------

PROMPT_SOURCE = "benchkit new task (default from the label names)"
PROMPT_SOURCE_RANGE = "benchkit new task (default from the value range)"
MAX_NUMBERS = 11  # regression: the range's whole numbers are scored as answers when there are at most this many
# The wording of the default prompts per language (the part of the card's language code before "-": eng-Latn -> eng;
# two-letter codes too); other languages get the English wording. The answer prefix is the language's prompt file's
# (prompts/<language>.yaml). {what}: the input named in the question; {choices}: the verbalisers, or a range.
PROMPT_WORDING: dict[str, dict[str, str]] = {
    "eng": {"one": "this text", "two": "these two texts", "one_of": "this text", "two_of": "these two texts",
            "or": "or", "two_labels": "Question: Is {what} {choices}?",
            "two_labels_pair": "Question: Which fits {what_of}: {choices}?",
            "labels": "Question: Which of these fits {what_of}: {choices}?",
            "scale": "Question: On a scale from {low} to {high}, what score fits {what_of}?",
            "tags": "Find the entities of these types in the text: {types}. Answer with a JSON list of the entities "
                    "in the order they occur, each as {{\"type\": ..., \"text\": ...}} with its words as the text "
                    "writes them; [] if there are none."},
    "pol": {"one": "ten tekst", "two": "te dwa teksty", "one_of": "tego tekstu", "two_of": "tych dwóch tekstów",
            "or": "czy", "two_labels": "Pytanie: Czy {what} to {choices}?",
            "labels": "Pytanie: Która z tych odpowiedzi pasuje do {what_of}: {choices}?",
            "scale": "Pytanie: Jaka ocena w skali od {low} do {high} pasuje do {what_of}?",
            "tags": "Znajdź w tekście nazwy tych typów: {types}. Odpowiedz listą JSON tych nazw w kolejności "
                    "występowania, każda jako {{\"type\": ..., \"text\": ...}} ze słowami zapisanymi tak jak w "
                    "tekście; [] jeśli nie ma żadnej."},
}
LANGUAGE_ALIASES = {"en": "eng", "pl": "pol"}


def prompt_wording(language: str) -> dict[str, str]:
    """The default prompt's wording for a language code (eng-Latn, pol-Latn, pl); English for any other."""
    code = language.split("-", 1)[0].lower()
    return PROMPT_WORDING.get(LANGUAGE_ALIASES.get(code, code), PROMPT_WORDING["eng"])


def _literal(text: str) -> str:
    """Text put into a template as written: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def default_verbalizers(names: list[str]) -> dict[str, str] | None:
    """Each label's verbaliser: its name, underscores to spaces (not_entailment -> not entailment); the names as
    written where that would make two alike; None where even those are not distinct (or one is blank)."""
    for texts in ([n.replace("_", " ").strip() for n in names], [n.strip() for n in names]):
        if all(texts) and len(set(texts)) == len(texts):
            return dict(zip(names, texts))
    return None


def _listing(texts: list[str], conjunction: str) -> str:
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} {conjunction} {texts[-1]}"


def default_prompt(card: dict[str, Any]) -> dict[str, Any] | None:
    """A ``prompt:`` block for an inferred card (a default to edit): class tasks an input over their roles with a
    question naming the labels (the label names as verbalisers), regression the range's whole numbers as ``numbers``
    (at most MAX_NUMBERS; a wider or fractional range is answered by generation), tagging an instruction asking for
    the entities as JSON. None when the card has no such default (labels that make no distinct verbalisers)."""
    wording = prompt_wording(str(card.get("language", "eng")))
    fields = card.get("fields", {})
    kind = card.get("type")
    if kind == "token_classification":
        labels = card.get("labels", {})
        names = list(labels.get("names", []))
        if labels.get("scheme") == "plain":  # no prefixed types: the tags themselves are the types, named literally
            types = _literal(", ".join(n for n in names if n != "O"))
            return {"source": PROMPT_SOURCE, "instruction": wording["tags"].replace("{types}", types),
                    "input": "{tokens}"}
        kinds = list(dict.fromkeys(n.split("-", 1)[1] for n in names if "-" in n))
        prompt: dict[str, Any] = {"source": PROMPT_SOURCE, "instruction": wording["tags"], "input": "{tokens}"}
        verbalizers = default_verbalizers(kinds)
        if verbalizers:
            prompt["verbalizers"] = verbalizers
        return prompt
    pair = "text_pair" in fields
    text = "{text}\n{text_pair}" if pair else "{text}"
    what, what_of = wording["two" if pair else "one"], wording["two_of" if pair else "one_of"]
    if kind == "regression":
        low, high = card["value_range"]
        whole = list(range(math.ceil(low), math.floor(high) + 1))
        numbers = 2 <= len(whole) <= MAX_NUMBERS
        ends = [int(v) if float(v).is_integer() else v for v in (low, high)]
        question = wording["scale"].format(low=ends[0], high=ends[1], what_of=what_of)
        prompt = {"source": PROMPT_SOURCE_RANGE, "input": f"{text}\n{_literal(question)}"}
        if numbers:
            prompt["numbers"] = whole
        else:
            prompt["answer"] = "generate"
        return prompt
    names = list(card.get("labels", {}).get("names", []))
    verbalizers = default_verbalizers(names)
    if verbalizers is None:
        return None
    texts = list(verbalizers.values())
    template = wording["labels"]
    if len(texts) == 2:
        template = wording.get("two_labels_pair", wording["two_labels"]) if pair else wording["two_labels"]
    question = template.format(what=what, what_of=what_of, choices=_listing(texts, wording["or"]))
    return {"source": PROMPT_SOURCE, "input": f"{text}\n{_literal(question)}", "verbalizers": verbalizers}


def _default_prompt(out: Inferred) -> None:
    prompt = default_prompt(out.card)
    if prompt is None:
        out.report.append("prompt: none (the label names make no distinct verbalisers; write a prompt: block, see "
                          "docs/prompts.md)")
        return
    out.card["prompt"] = prompt
    out.notes[("prompt",)] = ("a default to edit: how a generative language model is asked this task (zero-shot, "
                              "few-shot, SFT); see docs/prompts.md")
    names = out.card.get("labels", {}).get("names", []) if out.card.get("type") != "token_classification" else []
    if names and all(_number(n) is not None for n in names):
        out.notes[("prompt",)] += ("; the labels are codes: when you name them (labels.map), key the verbalizers "
                                   "by the new names and give each its word")
    out.report.append("prompt: a default from the " + ("value range" if out.card.get("type") == "regression" else
                                                       "label names") + ", to edit (docs/prompts.md)")
