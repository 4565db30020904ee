"""From a task card and a data directory to canonical splits.

read (one RawTable per split file) -> [checked by benchkit.validation, which calls the steps here in this order:
``validation.frames.load_frames``] -> canonical frame per split (id, role columns, official label strings) -> derived
splits carved out -> optionally a ``datasets.DatasetDict`` with ClassLabel features carrying the label strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchkit.cards.columns import computed
from benchkit.cards.schema import TEXT_ROLES, Derive, TaskCard
from benchkit.compose import SPANS
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.sources import RawTable, read_table, reader
from benchkit.sources.base import raw_key
from benchkit.task_types import TASK_TYPES

if TYPE_CHECKING:
    import datasets
    import numpy as np
    import pandas as pd


@dataclass
class SplitFile:
    """Where a split's data lives, and whether it is there."""

    split: str
    location: str  # a file path; a Hub split's local copy (folder); or hub:<repo>[/<config>]@<revision>:<split>
    exists: bool
    is_dir: bool = False
    hub: bool = False  # a Hub split (``hf_split``), read from the local copy or the Hub


def locate(card: TaskCard, split: str, data_dir: Path) -> SplitFile | None:
    """None for derived splits, which have no file of their own."""
    from benchkit.sources.hub_local import local_folder

    spec = card.splits[split]
    if spec.derive is not None:
        return None
    if spec.hf_split is not None:
        folder = local_folder(card.source, data_dir)
        if folder is not None:
            return SplitFile(split, str(folder), exists=True, is_dir=True, hub=True)
        config = f"/{card.source.config}" if card.source.config else ""
        return SplitFile(split, f"hub:{card.source.repo}{config}@{card.source.revision}:{spec.hf_split}", exists=True,
                         hub=True)
    # the card's own words stay inside the data folder (cards.schema refuses '..' and absolute paths); a link the
    # user placed there is followed wherever it leads (DVC's symlink cache: every tracked file is one; cards.paths)
    path = data_dir / card.source.dir / spec.file
    return SplitFile(split, str(path), exists=path.is_file(), is_dir=path.is_dir())


def split_identity(card: TaskCard, where: SplitFile, data_dir: Path) -> tuple[str, str]:
    """(what the record names, its sha256) for a split that exists: a file's path under ``data_dir`` and content
    hash; a Hub split's local copy (its data files' digest); or the Hub split at the commit read (an ``unconfirmed``
    revision resolved to the commit it points to now), whose digest is that of its name."""
    import hashlib

    from benchkit.files import file_sha256
    from benchkit.sources.hub_local import folder_sha256, resolve_revision

    if not where.hub:
        return str(Path(where.location).relative_to(data_dir)), file_sha256(Path(where.location))
    if where.is_dir:
        folder = Path(where.location)
        name = str(folder.relative_to(data_dir)) + f":{card.splits[where.split].hf_split}"
        return name, folder_sha256(folder)
    config = f"/{card.source.config}" if card.source.config else ""
    name = f"hub:{card.source.repo}{config}@{resolve_revision(card.source)}:{card.splits[where.split].hf_split}"
    return name, hashlib.sha256(name.encode()).hexdigest()


def read_split(card: TaskCard, split: str, data_dir: Path) -> RawTable:
    from benchkit.entity_spans import add_span_tags

    return add_span_tags(card, split, _read_prepared(card, split, data_dir))


def _read_prepared(card: TaskCard, split: str, data_dir: Path) -> RawTable:
    from benchkit.compose import prepare

    where = locate(card, split, data_dir)
    assert where is not None, "derived splits are carved, not read"
    spec = card.splits[split]
    if spec.hf_split is not None and where.is_dir:  # a local copy of a Hub dataset
        read_copy = reader(card.source.format).read_copy
        assert read_copy is not None, "only formats that read local copies locate one"
        return prepare(card, split, read_copy(Path(where.location), spec.hf_split, card.source))
    if spec.hf_split is not None:
        return prepare(card, split, read_table(spec.hf_split, card.source, card.split_read(split)))
    return prepare(card, split, read_table(where.location, card.source, card.split_read(split)))


def missing_problem(card: TaskCard, where: SplitFile, severity: str = "error") -> Problem:
    from benchkit.cards.paths import broken_link

    broken = broken_link(Path(where.location))
    if broken is not None:
        link, target = broken
        return Problem(f"split '{where.split}' of {card.id}: the link {link} leads to {target}, which does not exist",
                       file=where.location, severity=severity,  # type: ignore[arg-type]
                       hint="restore the target (for a DVC-tracked file: dvc checkout, or dvc pull from the "
                            "remote), or replace the link with the file")
    return Problem(f"missing data: split '{where.split}' of {card.id} not found", file=where.location,
                   severity=severity,  # type: ignore[arg-type]
                   hint=f"download the official files into --data-dir so that {card.source.dir}/"
                        f"{card.splits[where.split].file} exists")


def role_columns(card: TaskCard, split: str) -> dict[str, str]:
    """Role -> column for this split (labels left out of hidden-label splits)."""
    columns = card.split_fields(split).columns()
    columns.update({role: computed(role) for role in (*card.inputs, *card.lists)})
    if card.entity_spans is not None:  # benchkit.entity_spans writes them
        columns.update({"tokens": computed("tokens"), "tags": computed("tags")})
    if card.splits[split].labels == "hidden":
        columns.pop(TASK_TYPES.get(card.type).target_field, None)
    return columns


def convert_target(card: TaskCard, value: Any) -> Any:
    """A raw target value -> its canonical form (label string, float, tag list); raises ValueError."""
    target = TASK_TYPES.get(card.type).target
    if target == "candidate":  # gold strings, computed by benchkit.compose from the card's lists: spec
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"expected a non-empty list of answer strings, found {value!r}")
        return list(value)
    if target == "number":
        number = float(raw_key(value)) if not isinstance(value, (int, float)) else float(value)
        if not math.isfinite(number):
            raise ValueError(f"'{value}' is not a finite number")
        return number
    assert card.labels is not None
    if target == "tags":
        if not isinstance(value, list):
            raise ValueError(f"expected a list of tags, found {type(value).__name__}")
        tags = [card.labels.to_name(raw_key(tag)) for tag in value]
        if None in tags:
            raise ValueError(f"unknown tag '{value[tags.index(None)]}'")
        return tags
    name = card.labels.to_name(raw_key(value))
    if name is None:
        raise ValueError(f"unknown label '{raw_key(value)}'")
    return name


def canonical_frame(card: TaskCard, split: str, table: RawTable) -> "pd.DataFrame":
    """Canonical columns: ``id``, the role columns, ``label`` (or ``tags``), ``_location``.

    Assumes the table passed ``benchkit.validation.schema.check_table``; ids default to the 0-based row index.
    """
    import pandas as pd

    columns = role_columns(card, split)
    task_type = TASK_TYPES.get(card.type)
    frame = pd.DataFrame(index=range(len(table.frame)))
    frame["id"] = ([raw_key(v) for v in table.frame[columns["id"]]] if "id" in columns
                   else [str(i) for i in range(len(table.frame))])
    for role in (*TEXT_ROLES, "tokens", "candidates"):
        if role in columns:
            frame[role] = list(table.frame[columns[role]])
    if "group" in columns:
        frame["group"] = [raw_key(v) for v in table.frame[columns["group"]]]
    if SPANS in table.frame.columns:  # marked spans of composed inputs (benchkit.compose), for span-aware heads
        frame["spans"] = list(table.frame[SPANS])
    choice_columns = [c for r, c in columns.items() if r.startswith("choices[")]
    if choice_columns:
        frame["choices"] = [list(row) for row in zip(*(table.frame[c] for c in choice_columns))]
    target = task_type.target_field
    if target in columns:
        frame[target] = [convert_target(card, v) for v in table.frame[columns[target]]]
    else:
        frame[target] = None
    for column in card.prompt.columns if card.prompt is not None else []:  # raw columns a prompt names (COPA)
        if column not in table.frame.columns:
            raise BenchkitError(Problem(f"the prompt names column '{column}', which split '{split}' has not",
                                        file=table.source, field="prompt.columns",
                                        hint=did_you_mean(column, [str(c) for c in table.frame.columns]) or
                                        f"its columns: {', '.join(map(str, table.frame.columns))}"))
        frame[prompt_column(column)] = list(table.frame[column])
    frame["_location"] = table.locations
    return frame


PROMPT_COLUMN = "prompt:"  # a raw file column kept for the prompt, beside the canonical ones


def prompt_column(column: str) -> str:
    return f"{PROMPT_COLUMN}{column}"


def prompt_rows(frame: "pd.DataFrame") -> list[dict[str, Any]]:
    """The frame's rows as a prompt's templates read them: the roles, and the raw columns the prompt named."""
    names = {c: c[len(PROMPT_COLUMN):] if c.startswith(PROMPT_COLUMN) else c for c in frame.columns}
    return [{names[c]: v for c, v in row.items()} for row in frame.to_dict("records")]


def input_keys(frame: "pd.DataFrame") -> list[tuple]:
    """An example's identity as "the same input": its whitespace-normalised input texts (tokens, choices). The
    leakage check (validation.cross_split) and the carve below share this one definition."""
    roles = [r for r in (*TEXT_ROLES, "tokens", "choices") if r in frame]

    def norm(value: object) -> object:
        if isinstance(value, list):
            return tuple(" ".join(str(v).split()) for v in value)
        return " ".join(str(value).split())

    return [tuple(norm(v) for v in row) for row in zip(*(frame[r] for r in roles))]


def _repeated_inputs(parent: "pd.DataFrame") -> "np.ndarray":
    """Rows whose input (the leakage check's key) occurs more than once in ``parent``. A carve never takes them (nor
    a group holding one), so a derived split shares no input with what its parent keeps: it passes the leakage
    check by construction (CoNLL's many one-token ':' sentences stay in train)."""
    import numpy as np

    keys = input_keys(parent)
    counts: dict[tuple, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return np.asarray([counts[key] > 1 for key in keys], dtype=bool)


def split_off(card: TaskCard, parent: "pd.DataFrame", derive: Derive) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """(rest, carved): ``derive.fraction`` of ``parent`` carved out, stratified by label for class and choice targets,
    deterministic per ``derive.seed``, from rows whose input is not repeated in the parent (all rows when every input
    is). At least one row is carved and one kept when the parent has two or more."""
    import numpy as np

    rng = np.random.default_rng(derive.seed)
    target = TASK_TYPES.get(card.type)
    repeated = _repeated_inputs(parent)
    if "group" in parent.columns:  # grouped rows (MultiRC answer options of one question) are carved as whole groups
        # a group is left out only when one of its inputs is also in another group: inputs repeated within a group
        # move with it and leak nothing
        groups_of: dict[tuple, set[Any]] = {}
        for key, group in zip(input_keys(parent), parent["group"]):
            groups_of.setdefault(key, set()).add(group)
        shared = {g for groups in groups_of.values() if len(groups) > 1 for g in groups}
        every = list(dict.fromkeys(parent["group"]))
        keys = [k for k in every if k not in shared] or every
        take = min(max(int(round(derive.fraction * len(every))), 1), len(keys), len(every) - 1) if len(every) >= 2 else 0
        chosen_keys = set(rng.permutation(np.asarray(keys, dtype=object))[:take].tolist())
        mask = parent["group"].isin(chosen_keys).to_numpy()
        return parent[~mask].reset_index(drop=True), parent[mask].reset_index(drop=True)
    groups = (parent.groupby(target.target_field, sort=True).indices.values()
              if derive.stratify and target.target in ("class", "choice") else [np.arange(len(parent))])
    chosen: list[int] = []
    for indices in groups:
        take = int(round(derive.fraction * len(indices)))
        pool = [i for i in indices if not repeated[i]] or list(indices)
        chosen.extend(rng.permutation(np.asarray(pool))[:take].tolist())
    if not chosen and len(parent) >= 2:  # a tiny parent: rounding per class took nothing
        unique = np.flatnonzero(~repeated) if (~repeated).any() else np.arange(len(parent))
        chosen = [int(unique[rng.integers(len(unique))])]
    if len(chosen) == len(parent) and len(parent) >= 2:
        chosen = chosen[:-1]
    mask = np.zeros(len(parent), dtype=bool)
    mask[chosen] = True
    return parent[~mask].reset_index(drop=True), parent[mask].reset_index(drop=True)


def carve(card: TaskCard, frames: dict[str, "pd.DataFrame"]) -> dict[str, "pd.DataFrame"]:
    """Cut derived splits out of their parents (the parent keeps the rest); deterministic per seed."""
    out = dict(frames)
    for name, spec in card.splits.items():
        if spec.derive is None or spec.derive.from_ not in out:
            continue
        out[spec.derive.from_], out[name] = split_off(card, out[spec.derive.from_], spec.derive)
    return out


def to_dataset_dict(card: TaskCard, frames: dict[str, "pd.DataFrame"]) -> "datasets.DatasetDict":
    """Canonical splits as a DatasetDict: ClassLabel ids (-1 where hidden) that keep the official strings."""
    import datasets

    task_type = TASK_TYPES.get(card.type)
    result = {}
    for split, frame in frames.items():
        features: dict[str, Any] = {"id": datasets.Value("string")}
        data: dict[str, Any] = {"id": list(frame["id"])}
        for role in TEXT_ROLES:
            if role in frame:
                features[role] = datasets.Value("string")
                data[role] = list(frame[role])
        if "tokens" in frame:
            features["tokens"] = datasets.Sequence(datasets.Value("string"))
            data["tokens"] = list(frame["tokens"])
        for role in ("choices", "candidates"):
            if role in frame:
                features[role] = datasets.Sequence(datasets.Value("string"))
                data[role] = list(frame[role])
        if "group" in frame:
            features["group"] = datasets.Value("string")
            data["group"] = list(frame["group"])
        if "spans" in frame:
            features["spans"] = datasets.Sequence(datasets.Sequence(datasets.Value("int32")))
            data["spans"] = list(frame["spans"])
        values = list(frame[task_type.target_field])
        if task_type.target == "candidate":  # the gold strings ([] where hidden); the head finds their positions
            features["answers"] = datasets.Sequence(datasets.Value("string"))
            data["answers"] = [v if isinstance(v, list) else [] for v in values]
        elif task_type.target == "number":
            features["label"] = datasets.Value("float32")
            data["label"] = [float("nan") if v is None else v for v in values]
        elif task_type.target == "tags":
            label = datasets.ClassLabel(names=card.labels.names)
            features["tags"] = datasets.Sequence(label)
            data["tags"] = [[label.str2int(t) for t in v] if v is not None else [] for v in values]
        else:
            label = datasets.ClassLabel(names=card.labels.names)
            features["label"] = label
            data["label"] = [label.str2int(v) if v is not None else -1 for v in values]
        result[split] = datasets.Dataset.from_dict(data, features=datasets.Features(features))
    return datasets.DatasetDict(result)
