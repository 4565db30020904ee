"""Reading official test-submission archives back: the inverse of ``release.submission_writers``.

``SUBMISSION_READERS`` is keyed by the same format names as ``SUBMISSION_WRITERS`` (a suite card's
``submission_format``); the writer's ``file_name`` says which file of the archive holds a task's split. A reader turns
one file's text into ``(line, example id, prediction)`` items with the predictions in the card's official form (label
strings, numbers), which then get the checks of every predictions source (``predictions.check_predictions``: missing,
unknown and duplicate ids, unknown labels). What a reader refuses itself is the file's shape: a wrong header, a row
with the wrong number of columns, invalid JSON, a row count that cannot be aligned. Every message names the file
inside the archive, ``<archive>:<member>:<line>``.

* glue: ``index<TAB>prediction`` header; file codes (0/1) for tasks whose card maps codes to labels (CoLA, SST-2, MRPC,
  QQP, WNLI), label strings for the NLI tasks and AX, numbers for STS-B.
* superglue: JSON lines ``{"idx": ..., "label": ...}``; BoolQ/WiC/WSC true/false (any case, or JSON booleans), COPA
  0/1, CB/RTE/AX-b/AX-g label strings, ReCoRD answer strings; MultiRC nested per paragraph.
* klej: header ``target`` and one prediction per line in test-file order (the file has no ids).
* lepiszcze has no reader: its submissions carry scores, not predictions.

``SubmissionArchive`` opens a zip (or an unpacked folder) without extracting anything: members are read into memory
by name, at the archive's top level or inside one top-level folder, with a size cap against zip bombs.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.registry import Registry
from benchkit.release.submission_writers import SUPERGLUE_FILES, is_number, truth_of
from benchkit.sources.base import raw_key

MAX_MEMBER_BYTES = 1 << 30  # one file of a submission; GLUE's largest (QQP, 391k lines) is about 4 MB
IGNORED_PREFIXES = ("__MACOSX/",)  # what macOS's archiver adds


@dataclass
class ReadFile:
    """One submission file, read: the predictions found, the problems of its shape, and the hint an unknown label
    gets (the format's own label forms)."""

    items: list[tuple[int, str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    label_hint: str | None = None


@dataclass(frozen=True)
class SubmissionReader:
    name: str
    # (card, split, the file's text, the test split's example ids in file order, the file's name for messages)
    read: Callable[[TaskCard, str, str, list[str], str], ReadFile]


SUBMISSION_READERS: Registry[SubmissionReader] = Registry("submission reader")


def _lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers (``\\r\\n`` line ends accepted)."""
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]


def _number(text: str) -> Any:
    """A float where the text is one (non-finite numbers are refused by the checks), else the text itself."""
    try:
        return float(text)
    except ValueError:
        return text


def _value(card: TaskCard, raw: str, codes_only: list[tuple[int, str]], number: int) -> Any:
    """A prediction in the card's official form: a number (regression), the label string of a file code (cards that
    map codes: the format writes codes; a label string in their place is noted in ``codes_only``), else the text."""
    if is_number(card):
        return _number(raw)
    if card.labels is None or card.labels.map is None:
        return raw
    name = card.labels.to_name(raw)
    if name is None and raw in card.labels.names:
        codes_only.append((number, raw))
    return raw if name is None else name


def _codes_problem(card: TaskCard, codes_only: list[tuple[int, str]], source: str) -> Problem:
    values = sorted({v for _, v in codes_only})
    return Problem(f"{len(codes_only)} prediction(s) are label strings {values}, where this file holds file codes",
                   file=source, line=codes_only[0][0], field="prediction",
                   hint=_label_forms(card, source.rsplit(":", 1)[-1]))


def _label_forms(card: TaskCard, name: str) -> str:
    if card.labels is None:
        return f"{name} holds numbers"
    if card.labels.map is not None:
        codes = ", ".join(f"{code} ({label})" for code, label in card.labels.map.items())
        return f"{name} holds the file codes {codes}"
    return f"{name} holds the label strings {', '.join(card.labels.names)}"


# ---------------------------------------------------------------------------------------------------------------
# GLUE

GLUE_HEADER = (("index", "id", "idx"), ("prediction", "label"))


def _glue_read(card: TaskCard, split: str, text: str, ids: list[str], source: str) -> ReadFile:
    out = ReadFile(label_hint=None if is_number(card) else _label_forms(card, source.rsplit(":", 1)[-1]))
    lines = _lines(text)
    if not lines:
        out.problems.append(Problem("the file is empty", file=source, hint="write the header 'index<TAB>prediction' "
                                                                          "and one line per test example"))
        return out
    (first, header), rows = lines[0], lines[1:]
    names = [cell.strip().lower() for cell in header.split("\t")]
    if len(names) != 2 or names[0] not in GLUE_HEADER[0] or names[1] not in GLUE_HEADER[1]:
        out.problems.append(Problem(f"expected the header 'index<TAB>prediction', found {header[:80]!r}", file=source,
                                    line=first, hint="the first line of every GLUE submission file is the header "
                                                     "'index<TAB>prediction'"))
        return out
    codes_only: list[tuple[int, str]] = []
    for number, line in rows:
        cells = line.split("\t")
        if len(cells) != 2:
            out.problems.append(Problem(f"expected 2 tab-separated columns (index, prediction), found {len(cells)}",
                                        file=source, line=number, hint="one 'index<TAB>prediction' line per example"))
            continue
        out.items.append((number, cells[0].strip(), _value(card, cells[1].strip(), codes_only, number)))
    if codes_only:
        out.problems.append(_codes_problem(card, codes_only, source))
    return out


SUBMISSION_READERS.add("glue", SubmissionReader("glue", _glue_read))

# ---------------------------------------------------------------------------------------------------------------
# SuperGLUE


def _truth_labels(card: TaskCard) -> dict[bool, str]:
    """True/False -> the card's label string with that meaning."""
    out: dict[bool, str] = {}
    for name in card.labels.names if card.labels else []:
        truth = truth_of(card, name)
        if truth is not None:
            out.setdefault(truth, name)
    return out


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _superglue_value(card: TaskCard, kind: str, value: Any) -> Any:
    """The official label string of a SuperGLUE submission value; the value itself when it has none (the checks
    then report it as an unknown label)."""
    if kind in ("bool_lower", "bool_title"):
        truth = _truth(value)
        return _truth_labels(card).get(truth, value) if truth is not None else value
    if kind == "choice":
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            return value
        code = str(int(value))
        names = card.labels.names if card.labels else []
        if card.labels and card.labels.map is not None:
            return card.labels.map.get(code, value)
        return names[int(code)] if int(code) < len(names) else value
    return value  # label strings (CB, RTE, AX-b, AX-g) and ReCoRD answers


def _superglue_hint(card: TaskCard, kind: str, name: str) -> str:
    if kind in ("bool_lower", "bool_title", "multirc"):
        return f"{name} labels are true/false" if kind != "multirc" else f"{name} answer labels are 0/1"
    if kind == "choice":
        return f"{name} labels are the choice index 0 or 1"
    return _label_forms(card, name)


def _multirc_items(obj: dict[str, Any], number: int, card: TaskCard, source: str,
                   out: ReadFile) -> None:
    truth = _truth_labels(card)
    passage = obj.get("passage")
    questions = passage.get("questions") if isinstance(passage, dict) else None
    if not isinstance(questions, list):
        out.problems.append(Problem("expected {\"idx\": ..., \"passage\": {\"questions\": [...]}}", file=source,
                                    line=number, hint="MultiRC lines nest questions and answers per paragraph"))
        return
    for question in questions:
        answers = question.get("answers") if isinstance(question, dict) else None
        if not isinstance(answers, list) or "idx" not in question:
            out.problems.append(Problem("expected each question as {\"idx\": ..., \"answers\": [...]}", file=source,
                                        line=number, hint="MultiRC lines nest questions and answers per paragraph"))
            return
        for answer in answers:
            if not isinstance(answer, dict) or "idx" not in answer or "label" not in answer:
                out.problems.append(Problem("expected each answer as {\"idx\": ..., \"label\": 0 or 1}", file=source,
                                            line=number, hint="MultiRC answer labels are 0/1"))
                return
            label = answer["label"]
            value = truth.get(bool(label), label) if label in (0, 1) and not isinstance(label, float) else label
            out.items.append((number, f"{raw_key(obj['idx'])}-{raw_key(question['idx'])}-{raw_key(answer['idx'])}",
                              value))


def _superglue_read(card: TaskCard, split: str, text: str, ids: list[str], source: str) -> ReadFile:
    name = source.rsplit(":", 1)[-1]
    kind = SUPERGLUE_FILES[card.id.split("/", 1)[1]][1]
    out = ReadFile(label_hint=_superglue_hint(card, kind, name))
    for number, line in _lines(text):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            out.problems.append(Problem(f"invalid JSON: {err.msg}", file=source, line=number,
                                        hint='each line is one object: {"idx": ..., "label": ...}'))
            continue
        if not isinstance(obj, dict) or "idx" not in obj or (kind != "multirc" and "label" not in obj):
            out.problems.append(Problem("expected an object with keys 'idx' and 'label'"
                                        + (" (MultiRC: 'idx' and 'passage')" if kind == "multirc" else ""),
                                        file=source, line=number, hint='e.g. {"idx": 0, "label": "entailment"}'))
            continue
        if kind == "multirc":
            _multirc_items(obj, number, card, source, out)
        else:
            out.items.append((number, raw_key(obj["idx"]), _superglue_value(card, kind, obj["label"])))
    return out


SUBMISSION_READERS.add("superglue", SubmissionReader("superglue", _superglue_read))

# ---------------------------------------------------------------------------------------------------------------
# KLEJ


def _klej_read(card: TaskCard, split: str, text: str, ids: list[str], source: str) -> ReadFile:
    name = source.rsplit(":", 1)[-1]
    out = ReadFile(label_hint=None if is_number(card) else _label_forms(card, name))
    lines = _lines(text)
    if not lines or lines[0][1].strip().lower() != "target":
        found = repr(lines[0][1][:80]) if lines else "an empty file"
        out.problems.append(Problem(f"expected the header 'target', found {found}", file=source,
                                    line=lines[0][0] if lines else None,
                                    hint="KLEJ submission files have one column, headed 'target'"))
        return out
    rows = lines[1:]
    for number, line in rows:
        if "\t" in line:
            out.problems.append(Problem(f"expected one column, found {len(line.split(chr(9)))}", file=source,
                                        line=number, hint="KLEJ submission files hold only the 'target' column"))
    if len(rows) != len(ids):
        out.problems.append(Problem(f"expected {len(ids)} predictions (one per test example, in the test file's "
                                    f"order), found {len(rows)}", file=source,
                                    hint="KLEJ files carry no ids: write one line per row of the test file"))
    if out.problems:
        return out
    codes_only: list[tuple[int, str]] = []
    for (number, line), example_id in zip(rows, ids):
        out.items.append((number, example_id, _value(card, line.strip(), codes_only, number)))
    if codes_only:
        out.problems.append(_codes_problem(card, codes_only, source))
    return out


SUBMISSION_READERS.add("klej", SubmissionReader("klej", _klej_read))

# ---------------------------------------------------------------------------------------------------------------
# archives


class SubmissionArchive:
    """A submission as a zip file or an unpacked folder; members are found by file name at the top level or inside a
    single top-level folder (how people often zip), and read into memory, never extracted."""

    def __init__(self, path: Path):
        self.path = path
        self.label = path.name
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}  # file name -> member (zip) or relative path (folder)
        if path.is_dir():
            files = [p for p in sorted(path.rglob("*")) if p.is_file()]
            for file in files:  # an unpacked archive's links (unzip recreates them) must not reach outside it
                if not file.resolve().is_relative_to(path.resolve()):
                    raise BenchkitError(Problem(f"unsafe member {file.relative_to(path).as_posix()!r}: a link to "
                                                f"{file.resolve()}, outside the submission", file=str(path),
                                                hint="submission files are plain files inside the archive"))
            self._index([p.relative_to(path).as_posix() for p in files])
            return
        if not path.is_file():
            raise BenchkitError(Problem("submission archive not found", file=str(path),
                                        hint="pass the .zip file (or its unpacked folder)"))
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise BenchkitError(Problem(f"not a zip archive: {err}", file=str(path),
                                        hint="submissions are zip files of the official files "
                                             "(as 'benchkit release' writes them)")) from None
        self._index([info.filename for info in self._zip.infolist() if not info.is_dir()])

    def _index(self, names: list[str]) -> None:
        kept = [n for n in names if not n.startswith(IGNORED_PREFIXES) and not PurePosixPath(n).name.startswith(".")]
        for name in kept:
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or ":" in parts[0]:
                raise BenchkitError(Problem(f"unsafe member path {name!r}", file=str(self.path),
                                            hint="archive members are plain file names (no absolute paths, no '..')"))
        tops = {PurePosixPath(n).parts[0] for n in kept if len(PurePosixPath(n).parts) > 1}
        nested = len(tops) == 1 and all(len(PurePosixPath(n).parts) == 2 for n in kept)
        for name in kept:
            parts = PurePosixPath(name).parts
            if len(parts) == 1 or (nested and len(parts) == 2):
                self._members.setdefault(parts[-1], name)
        self.extra = sorted(n for n in kept if self._members.get(PurePosixPath(n).name) != n)

    def names(self) -> list[str]:
        return sorted(self._members)

    def source(self, name: str) -> str:
        """How messages name a member: ``<archive>:<member>``."""
        return f"{self.path}:{self._members.get(name, name)}"

    def read(self, name: str) -> str | None:
        """A member's text (UTF-8, a BOM dropped); None when the archive has no such file."""
        member = self._members.get(name)
        if member is None:
            return None
        if self._zip is not None:
            info = self._zip.getinfo(member)
            if info.file_size > MAX_MEMBER_BYTES:
                raise self._too_large(name)
            with self._zip.open(info) as handle:
                data = handle.read(MAX_MEMBER_BYTES + 1)
        else:
            file = self.path / member
            if file.stat().st_size > MAX_MEMBER_BYTES:
                raise self._too_large(name)
            data = file.read_bytes()
        if len(data) > MAX_MEMBER_BYTES:
            raise self._too_large(name)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise BenchkitError(Problem(f"not UTF-8: {err.reason} at byte {err.start}", file=self.source(name),
                                        hint="write submission files as UTF-8")) from None

    def _too_large(self, name: str) -> BenchkitError:
        return BenchkitError(Problem(f"larger than {MAX_MEMBER_BYTES >> 20} MiB uncompressed", file=self.source(name),
                                     hint="a submission file holds one line per test example"))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> SubmissionArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
