"""A pandera schema per (card, split): columns present, texts non-empty, labels in the label set,
numeric regression targets in range, unique ids, aligned tokens and tags. Failures become Problems
that name the file, the line (or row) and the column."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable

from benchkit.cards.columns import is_computed
from benchkit.cards.schema import TEXT_ROLES, TaskCard
from benchkit.errors import Problem, did_you_mean
from benchkit.loading import convert_target, role_columns
from benchkit.sources import RawTable
from benchkit.sources.base import raw_key
from benchkit.task_types import TASK_TYPES
from benchkit.validation import rules
from benchkit.validation.features import check_declared
from benchkit.validation.pairs import pair_problems
from benchkit.validation.tag_scheme import scheme_problems

if TYPE_CHECKING:
    import pandera.pandas as pa

MAX_PER_CHECK = 20  # rows listed per (column, check); the rest are counted in one summary line


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _non_empty(value: Any) -> bool:
    return not isinstance(value, str) or value.strip() != ""


def _is_id(value: Any) -> bool:
    return not isinstance(value, (list, dict, bool))


def _first_of_each_id(column: Any) -> Any:
    # Compared as canonical ids (raw_key), so 1 and "1" collide, and list or dict ids cannot crash the check.
    return ~column.map(raw_key).duplicated(keep="first")


def _converts(card: TaskCard) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        try:
            convert_target(card, value)
        except (ValueError, TypeError):
            return False
        return True

    return check


def _in_range(card: TaskCard) -> Callable[[Any], bool]:
    low, high = card.value_range or (float("-inf"), float("inf"))

    def check(value: Any) -> bool:
        try:
            return low <= convert_target(card, value) <= high
        except (ValueError, TypeError):
            return True  # reported by the numeric check

    return check


def build_schema(card: TaskCard, split: str) -> "pa.DataFrameSchema":
    import pandas as pd
    import pandera.pandas as pa

    columns = role_columns(card, split)
    task_type = TASK_TYPES.get(card.type)
    schema_columns: dict[str, pa.Column] = {}
    for role, column in columns.items():
        checks: list[pa.Check] = []
        if role in TEXT_ROLES or role.startswith("choices["):
            checks = [pa.Check(_is_text, element_wise=True, name="is_text")]
            if rules.severity(card, "empty_text") != "off":
                checks.append(pa.Check(_non_empty, element_wise=True, name="non_empty_text"))
        elif role == task_type.target_field:
            checks = [pa.Check(_converts(card), element_wise=True, name=f"valid_{task_type.target}")]
            if task_type.target == "number" and card.value_range:
                checks.append(pa.Check(_in_range(card), element_wise=True, name="in_range"))
        elif role == "candidates":
            checks = [pa.Check(lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(t, str) and t for t in v),
                               element_wise=True, name="candidate_list")]
        elif role in ("id", "group"):
            checks = [pa.Check(_is_id, element_wise=True, name="valid_id")]
            if role == "id":
                checks.append(pa.Check(_first_of_each_id, name="unique_id"))
        elif role == "tokens":
            checks = [pa.Check(lambda v: isinstance(v, list) and all(isinstance(t, str) and t for t in v),
                               element_wise=True, name="token_list")]
        schema_columns[column] = pa.Column(None, checks=checks, nullable=False, required=True)
    frame_checks = []
    if "tokens" in columns and "tags" in columns:
        tokens, tags = columns["tokens"], columns["tags"]
        # a boolean Series per row (a plain list would be read as one truthy value and never fail)
        frame_checks.append(pa.Check(
            lambda df: pd.Series([isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                                  for a, b in zip(df[tokens], df[tags])], index=df.index, dtype=bool),
            name="tags_align"))
    return pa.DataFrameSchema(schema_columns, checks=frame_checks, strict=False, coerce=False)


def _message(card: TaskCard, check: str, column: str, value: Any, table: RawTable) -> tuple[str, str | None]:
    shown = repr(value) if len(repr(value)) < 80 else repr(value)[:77] + "..."
    if check == "is_text":
        return f"expected text, found {type(value).__name__} {shown}", "text fields hold strings"
    if check == "non_empty_text":
        return f"empty or whitespace-only text {shown}", rules.hint(card, "empty_text", "fill in the text or drop the row")
    if check == "valid_class" or check == "valid_choice":
        known = card.labels.raw_values() if card.labels else []
        return (f"label {raw_key(value)!r} is not one of {known}",
                did_you_mean(raw_key(value), known) or "if it is an official label, add it to labels.names (or labels.map)")
    if check == "valid_tags":
        known = card.labels.raw_values() if card.labels else []
        bad = [t for t in value if card.labels.to_name(raw_key(t)) is None] if isinstance(value, list) else value
        return f"tag(s) {bad!r} not in the tag set {known}", "add missing tags to labels.names"
    if check == "valid_number":
        return f"expected a number, found {shown}", "regression targets are numbers such as 3.8"
    if check == "in_range":
        low, high = card.value_range or (None, None)
        return f"{shown} is outside value_range [{low}, {high}]", "fix the value or the card's value_range"
    if check == "candidate_list":
        return "expected a non-empty list of candidate strings", "check the candidates field and lists: spec"
    if check == "valid_candidate":
        return f"expected a non-empty list of answer strings, found {shown}", "check the label field and lists: spec"
    if check == "token_list":
        return "expected a non-empty list of non-empty tokens", "check the tokens column"
    if check == "tags_align":
        return "tokens and tags differ in length", "every token needs exactly one tag"
    if check == "valid_id":
        return f"expected an id (text or a number), found {type(value).__name__} {shown}", "ids are scalar values"
    if check == "unique_id":
        key = raw_key(value)
        first = next((table.locations[i] for i, v in enumerate(table.frame[column]) if raw_key(v) == key), None)
        kind = table.location_kind
        return (f"duplicate id {shown}", f"ids must be unique within a split; first seen on {kind} {first}")
    if check == "not_nullable":
        return "missing value", "every row needs this field; check for absent keys or empty cells"
    return f"failed check '{check}' with {shown}", None


# The pandera checks that are data checks a card can relax (cards.schema.DATA_CHECKS), by check name.
RELAXABLE = {"non_empty_text": "empty_text"}

# Formats of records whose keys are not visible in a header line: a missing column's message shows the first row.
RECORD_FORMATS = frozenset({"json", "jsonl", "hub", "parquet"})


def check_table(card: TaskCard, split: str, table: RawTable, max_per_check: int = MAX_PER_CHECK) -> list[Problem]:
    """Every schema problem in one split's table, plus the expected row count."""
    import pandera.pandas as pa

    problems: list[Problem] = []
    columns = role_columns(card, split)
    present = list(map(str, table.frame.columns))
    missing = [(role, col) for role, col in columns.items() if col not in present]
    # A computed column is absent only when its source columns are, which benchkit.compose has reported.
    for role, column in [(r, c) for r, c in missing if not is_computed(c)]:
        problems.append(Problem(f"column '{column}' (fields.{role.split('[')[0]}) not found; the file has {present}"
                                f"{table.example() if card.source.format in RECORD_FORMATS else ''}",
                                file=table.source, field=f"fields.{role}",
                                hint=did_you_mean(column, present) or "fix the card's fields or read.columns/header"))
    declared = check_declared(card, split, table)
    problems.extend(declared)
    problems.extend(_labels_in_hidden_split(card, split, table))
    # a column declared as another type would fail on every row: the one problem above says it
    if not missing and len(table.frame) and not any(p.severity == "error" for p in declared):
        try:
            build_schema(card, split).validate(table.frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            problems.extend(_failures(card, table, err.failure_cases, max_per_check))
        problems.extend(scheme_problems(card, split, table))
        problems.extend(pair_problems(card, split, table))
    expected = card.splits[split].rows
    found = len(table.frame) + sum(p.severity == "error" and p.line is not None for p in table.problems)
    if found == 0 and expected != 0:
        problems.append(Problem("no data rows" + (f" (the card expects {expected})" if expected else ""), file=table.source,
                                hint="a header alone is not data; check that the download completed"))
    elif expected is not None and found != expected and rules.severity(card, "row_count") != "off":
        problems.append(Problem(f"expected {expected} rows, found {found}", file=table.source, field=f"splits.{split}.rows",
                                severity=rules.severity(card, "row_count"),
                                hint=rules.hint(card, "row_count", "the file may be truncated, modified or another "
                                                                   "version of the dataset")))
    return problems


def _labels_in_hidden_split(card: TaskCard, split: str, table: RawTable) -> list[Problem]:
    """A split the card marks ``labels: hidden`` whose file fills the card's label column: the labelled file in the
    place of the unlabelled one (e.g. KLEJ's test_features.tsv). One problem, at the first row with a label."""
    if card.splits[split].labels != "hidden":
        return []
    target = TASK_TYPES.get(card.type).target_field
    column = card.split_fields(split).columns().get(target)
    if not isinstance(column, str) or column not in table.frame.columns:
        return []
    import pandas as pd

    def labelled(value: Any) -> bool:  # None, NaN, pd.NA and blank cells hold no label
        if isinstance(value, str):
            return bool(value.strip())
        return isinstance(value, (list, dict)) or not pd.isna(value)

    filled = [i for i, v in enumerate(table.frame[column]) if labelled(v)]
    if not filled:  # an empty column (Hub test splits: -1 read as missing) holds no labels
        return []
    where = card.splits[split].file or "this split's file"
    return [table.problem(filled[0], f"labels present in a split the card marks hidden: column '{column}' holds values "
                                     f"in {len(filled)} of {len(table.frame)} rows", field=f"fields.{target}",
                          hint=f"is this the labelled file? {where} ships without labels")]


def _failures(card: TaskCard, table: RawTable, cases: "Any", max_per_check: int) -> list[Problem]:
    by_check: dict[tuple[str, str], list[tuple[int, Any]]] = defaultdict(list)
    for record in cases.to_dict("records"):
        column = record.get("column") or ""
        check = str(record.get("check"))
        index = record.get("index")
        if index is None or index != index:  # NaN: a whole-column failure
            continue
        by_check[(str(column), check)].append((int(index), record.get("failure_case")))
    # a check over the whole row (tags_align) fails once per column of the row: report it once, on the tags column
    aligned = [key for key in by_check if key[1] == "tags_align"]
    if aligned:
        rows = {index: case for key in aligned for index, case in by_check.pop(key)}
        by_check[(role_columns(card, "train").get("tags") or aligned[0][0], "tags_align")] = sorted(
            rows.items(), key=lambda row: row[0])
    problems: list[Problem] = []
    for (column, check), rows in by_check.items():
        rows.sort()
        # a check the card can relax (checks: in the card) has the card's severity; every other check is an error
        severity = rules.severity(card, RELAXABLE[check]) if check in RELAXABLE else "error"
        for index, _ in rows[:max_per_check]:
            value = table.frame.iloc[index][column] if column in table.frame else None
            message, hint = _message(card, check, column, value, table)
            problems.append(table.problem(index, message, field=column or None, hint=hint, severity=severity))
        if len(rows) > max_per_check:
            problems.append(Problem(f"... and {len(rows) - max_per_check} more rows failing the same check ({check})",
                                    file=table.source, field=column or None, severity=severity))
    return problems
