"""Typed card models (pydantic v2, ``extra="forbid"``): what a task card and a suite card may say.

Closed vocabularies (task types, formats, metrics, score rules, submission formats) are registries,
checked here at load time with did-you-mean hints, so plugins can extend them without touching this file.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from benchkit.cards.columns import computed, template_columns
from benchkit.cards.paths import climbs_out
from benchkit.cards.prompts import Prompt, PromptValueError, check_prompt
from benchkit.contracts.formats import FORMATS
from benchkit.contracts.recipe import RECIPE_FIELDS
from benchkit.contracts.word_splitters import WORD_SPLITTERS
from benchkit.errors import did_you_mean
from benchkit.metrics import METRICS
from benchkit.registry import Registry
from benchkit.scoring.rules import SCORE_RULES, RuleDataError, ScoreRule
from benchkit.submission_formats import SUBMISSION_FORMATS
from benchkit.task_types import TASK_TYPES, TaskType

TEXT_ROLES = ("text", "text_pair", "question", "context")
SPLIT_NAME = re.compile(r"^(train|dev|test)(_[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{3}-[A-Z][a-z]{3}$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
TASK_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*$")


class CardValueError(ValueError):
    """A validation failure that carries a hint for the one-line message."""

    def __init__(self, message: str, hint: str | None = None, loc: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.hint = hint
        self.loc = loc  # where in the card, relative to the model that raised it


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _in_registry(registry: Registry[Any], value: str) -> str:
    """The canonical name of ``value`` in ``registry``; an unknown name is a card error with a did-you-mean hint."""
    if value not in registry:
        raise CardValueError(f"unknown {registry.kind} '{value}'; expected one of: {', '.join(registry.names())}",
                             did_you_mean(value, registry.names()))
    return registry.canonical(value)


def _language(value: str) -> str:
    if not LANGUAGE.match(value):
        raise CardValueError(f"'{value}' is not an ISO 639-3 code with a script",
                             "write e.g. eng-Latn, pol-Latn, rus-Cyrl (ISO 639-3 code, '-', ISO 15924 script)")
    return value


def _version(value: str) -> str:
    if not VERSION.match(value):
        raise CardValueError(f"'{value}' is not a version", "write MAJOR.MINOR.PATCH, e.g. 1.0.0")
    return value


class ReadOptions(Strict):
    """Reader options; each format accepts only the subset it declares (``Format.options``)."""

    # "auto": the first line is the header when it spells ``columns``, else data (a file shared without its header
    # line, such as the commonly shared copy of KLEJ AR's dev.tsv)
    header: bool | Literal["auto"] = True
    columns: list[str] | None = None
    delimiter: str | None = None
    quoting: Literal["none", "minimal", "all"] | None = None
    quotechar: str = '"'
    encoding: str = "utf-8"
    skip_blank_lines: bool = True
    records_path: str | None = None
    unnest: list["Unnest"] | None = None
    token_column: int = 0
    tag_column: int = -1
    # conll: one row per sentence (blank-line separated), or per document (-DOCSTART- separated; a file without
    # markers is one document)
    unit: Literal["sentence", "document"] = "sentence"

    @field_validator("delimiter", "quotechar")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise CardValueError(f"{value!r} is not a single character", "e.g. delimiter: \"\\t\" or quotechar: \"'\"")
        return value

    def merged(self, override: "ReadOptions | None") -> "ReadOptions":
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))


class Unnest(Strict):
    """One level of nested records to unfold: each item of the list at ``path`` becomes a row of its own that keeps
    its parents' values; the item's keys become columns ``<as>.<key>`` (MultiRC: paragraph -> questions -> answers)."""

    path: str = Field(min_length=1)
    as_: str = Field(alias="as", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


ReadOptions.model_rebuild()


def _inside_data(value: str | None, what: str) -> str | None:
    if value is not None and (why := climbs_out(value)):
        raise CardValueError(f"{what} '{value}' {why}: a card's data paths stay inside the data folder",
                             "give a path relative to --data-dir, e.g. SST-2/train.tsv")
    return value


class Source(Strict):
    format: str
    dir: str = "."
    read: ReadOptions = ReadOptions()
    repo: str | None = None
    config: str | None = None
    # A Hub commit (pinned), or "unconfirmed" where none could be confirmed: then revision_source must say why, and
    # the data are read at the commit the default branch points to when read (which run records keep).
    revision: str | None = None
    # Where the pinned revision was seen (a Hub page, a config that pins it), or why none could be confirmed.
    revision_source: str | None = None

    _v_format = field_validator("format")(lambda cls, v: _in_registry(FORMATS, v))
    _v_dir = field_validator("dir")(lambda cls, v: _inside_data(v, "dir"))

    @model_validator(mode="after")
    def _fits_format(self) -> "Source":
        fmt = FORMATS.get(self.format)
        extra = sorted(set(self.read.model_fields_set) - fmt.options)
        if extra:
            raise CardValueError(f"read option(s) {extra} do not apply to format '{self.format}'",
                                 f"{self.format} accepts: {', '.join(sorted(fmt.options)) or 'no options'}",
                                 ("read", extra[0]))
        if fmt.local and (self.repo or self.revision):
            raise CardValueError(f"repo/revision are for format 'hub', not '{self.format}'", "remove them or use format: hub")
        if not fmt.local:
            if not self.repo:
                raise CardValueError("format 'hub' needs source.repo", "e.g. repo: nyu-mll/glue")
            if not self.revision:
                raise CardValueError("format 'hub' needs a pinned source.revision",
                                     "pin the dataset's commit sha so the data cannot change under the card")
            if self.revision in ("main", "master"):
                raise CardValueError(f"source.revision '{self.revision}' is a branch, which moves",
                                     "pin a commit sha, or write revision: unconfirmed with revision_source: why",
                                     ("revision",))
            if self.revision == "unconfirmed" and not self.revision_source:
                raise CardValueError("source.revision is unconfirmed and revision_source does not say why",
                                     "write what was looked up and why no commit could be confirmed",
                                     ("revision_source",))
        elif self.revision_source:
            raise CardValueError(f"revision_source is for format 'hub', not '{self.format}'", "remove it",
                                 ("revision_source",))
        return self


ColumnOrColumns = str | list[str]


class Fields(Strict):
    """Which columns hold what. Which ones a card needs depends on its task type.

    ``id`` and ``group`` may list several columns: their values are joined with '-' (MultiRC's answer id
    "<paragraph>-<question>-<answer>", its question key "<paragraph>-<question>").
    """

    id: ColumnOrColumns | None = None
    group: ColumnOrColumns | None = None
    text: str | None = None
    text_pair: str | None = None
    question: str | None = None
    context: str | None = None
    label: str | None = None
    tokens: str | None = None
    tags: str | None = None
    choices: list[str] | None = None
    candidates: str | None = None

    @field_validator("id", "group")
    @classmethod
    def _some_columns(cls, value: ColumnOrColumns | None) -> ColumnOrColumns | None:
        if isinstance(value, list) and not value:
            raise CardValueError("an empty list of columns", "name one column, or several to join with '-'")
        return value

    def columns(self) -> dict[str, str]:
        """Role -> column name, for the roles that are set (choices expand to choices[0], ...; a role made of
        several columns maps to its computed column, see ``benchkit.compose``)."""
        out: dict[str, str] = {}
        for role, value in self.model_dump(exclude_none=True).items():
            if role == "choices":
                out.update({f"choices[{i}]": c for i, c in enumerate(value)})
            elif isinstance(value, list):
                out[role] = computed(role)
            else:
                out[role] = value
        return out

    def sources(self, role: str) -> list[str]:
        """The file column(s) a role is read from."""
        value = getattr(self, role)
        return [] if value is None else value if isinstance(value, list) else [value]


class Labels(Strict):
    names: list[str] = Field(min_length=1)
    map: dict[str, str] | None = None
    # Chunk scheme of tags: IOB1, IOB2 (BIO), BIOES; or "plain" for tags with no chunk prefix (POS tags,
    # AspectEmo's a_plus_m), which seqeval chunks as it does any tag (LEPISZCZE scored them so).
    scheme: Literal["IOB1", "IOB2", "BIOES", "plain"] | None = None

    @field_validator("map", mode="before")
    @classmethod
    def _string_keys(cls, value: Any) -> Any:
        # YAML reads `0: negative` with an int key; raw values are matched as strings.
        if isinstance(value, dict):
            return {("true" if k is True else "false" if k is False else str(k)): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Labels":
        dupes = sorted({n for n in self.names if self.names.count(n) > 1})
        if dupes:
            raise CardValueError(f"duplicate label name(s) {dupes}", "each official label string appears once")
        for raw, name in (self.map or {}).items():
            if name not in self.names:
                raise CardValueError(f"map sends '{raw}' to '{name}', which is not in labels.names",
                                     did_you_mean(name, self.names) or f"labels.names is {self.names}")
        return self

    def to_name(self, raw: str) -> str | None:
        """Official label string for a raw file value; None when it is not a known value."""
        if self.map is not None:
            return self.map.get(raw)
        return raw if raw in self.names else None

    def raw_values(self) -> list[str]:
        return list(self.map) if self.map is not None else list(self.names)


class Derive(Strict):
    """A split carved out of another (``from``), e.g. a dev split for tasks that ship none."""

    from_: str = Field(alias="from")
    fraction: float = Field(gt=0, lt=1)
    stratify: bool = True
    seed: int = 0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldsOverride(Fields):
    """Per-split field overrides (GLUE test files have an ``index`` id column that train/dev lack)."""


class ReadOverride(ReadOptions):
    pass


class Split(Strict):
    file: str | None = None
    hf_split: str | None = None
    labels: Literal["present", "hidden"] = "present"
    rows: int | None = Field(default=None, ge=0)
    fields: FieldsOverride | None = None
    read: ReadOverride | None = None
    derive: Derive | None = None

    _v_file = field_validator("file")(lambda cls, v: _inside_data(v, "file"))

    @model_validator(mode="after")
    def _one_origin(self) -> "Split":
        origins = [name for name in ("file", "hf_split", "derive") if getattr(self, name) is not None]
        if len(origins) != 1:
            raise CardValueError(f"a split needs exactly one of file, hf_split, derive (found {origins or 'none'})",
                                 "file: for local formats, hf_split: for format hub, derive: to carve it from another split")
        return self


class EntitySpans(Strict):
    """Token and tag lists computed from a text with character-offset entity spans (``benchkit/entity_spans.py``):
    ``text`` and ``spans`` name the columns, ``start``/``end``/``label`` the keys of each span object (``end``
    exclusive), ``splitter`` the declared word splitter (``WORD_SPLITTERS``). Tags come out in IOB2."""

    text: str
    spans: str
    start: str = "start"
    end: str = "end"
    label: str = "label"
    splitter: str = "words"

    _v_splitter = field_validator("splitter")(lambda cls, v: _in_registry(WORD_SPLITTERS, v))


class MetricRef(Strict):
    name: str
    options: dict[str, Any] = {}
    # The key the value is reported under (default: the name), so one metric can be listed with other options, e.g.
    # `{name: seqeval_f1, mode: strict, as: seqeval_f1_strict}` next to `seqeval_f1`.
    as_: str | None = Field(None, alias="as", pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: Any) -> Any:
        # `- accuracy` or `- {name: f1, positive_label: equivalent}`
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "options" not in value:
            return {"name": value.get("name"), "options": {k: v for k, v in value.items() if k not in ("name", "as")},
                    **({"as": value["as"]} if "as" in value else {})}
        return value

    @property
    def key(self) -> str:
        return self.as_ or self.name

    @model_validator(mode="after")
    def _known(self) -> "MetricRef":
        _in_registry(METRICS, self.name)  # the name as written (an alias too) is kept
        accepted = set(METRICS.get(self.name).options)
        extra = sorted(set(self.options) - accepted)
        if extra:
            raise CardValueError(f"metric '{self.name}' takes no option(s) {extra}", did_you_mean(extra[0], accepted)
                                 or f"it accepts: {', '.join(sorted(accepted)) or 'no options'}")
        return self


class Mark(Strict):
    """A span of a field marked in the composed input, e.g. WiC's target word ``*class*`` or WSC's pronoun.

    ``start`` names the column holding the span's start (a character offset, or a word index into the text split
    on whitespace with ``unit: word``); the span ends at ``end`` (exclusive unless ``end_inclusive``) or, without
    ``end``, after the text of the ``text`` column (its length in characters or words).
    """

    field: str
    start: str
    end: str | None = None
    text: str | None = None
    unit: Literal["char", "word"] = "char"
    end_inclusive: bool = False
    open: str = "*"
    close: str = "*"

    @model_validator(mode="after")
    def _bounded(self) -> "Mark":
        if (self.end is None) == (self.text is None):
            raise CardValueError("a mark needs exactly one of end, text",
                                 "end: the column with the span's end offset, or text: the column with the span's text")
        return self


class Compose(Strict):
    """A model input built from fields: ``{column}`` is replaced by the column's value (``{{``/``}}`` are braces),
    after the marks are inserted. Substitution and marking only: no expressions."""

    template: str = Field(min_length=1)
    marks: list[Mark] = []

    @model_validator(mode="after")
    def _parses(self) -> "Compose":
        try:
            names = template_columns(self.template)
        except ValueError as err:
            raise CardValueError(f"template {self.template!r}: {err}", "write {column} for a field, {{ and }} for braces",
                                 ("template",)) from None
        for mark in self.marks:
            if mark.field not in names:
                raise CardValueError(f"a mark on '{mark.field}', which the template {self.template!r} does not use",
                                     f"mark a field the template names: {', '.join(names)}", ("marks",))
        return self


class ListItems(Strict):
    """How a list column becomes a list of strings: items are strings, or objects whose ``key`` holds the string,
    or ``{start, end}`` offsets into the ``span_of`` column (ReCoRD's entities, end inclusive)."""

    key: str | None = None
    span_of: str | None = None
    start: str = "start"
    end: str = "end"
    end_inclusive: bool = False
    unique: bool = True  # duplicates dropped and the rest sorted, as the HF loader does for ReCoRD
    fill: str | None = None  # a placeholder in the question that each candidate fills (ReCoRD's @placeholder)

    @model_validator(mode="after")
    def _one_kind(self) -> "ListItems":
        if self.key is not None and self.span_of is not None:
            raise CardValueError("list items are read with key or span_of, not both", "objects with a text key: key;"
                                 " offsets into a text: span_of")
        return self


Severity = Literal["error", "warning", "off"]

# The data checks a card can set, and what each finds. One set of checks serves `validate`, `run` and `release`
# (benchkit/validation/runner.py); every other check of the data (labels in the label set, columns present, ids
# unique, ...) is always an error: without it the data cannot be read as the card says.
DATA_CHECKS: dict[str, str] = {
    "empty_text": "a text field that is empty or only whitespace",
    "leakage": "an input of a train split repeated in a dev or test split",
    "row_count": "a split whose row count differs from the card's splits.<split>.rows",
    "span_text": "a marked span whose text (inputs.<role>.marks[].text) differs from the words at its index",
}


class CheckRule(Strict):
    """What one data check's findings are: ``error`` (the default: new data must be clean), ``warning`` (a quirk the
    official files are known to have, kept as published) or ``off``; ``reason`` says why, for the datasheet."""

    severity: Severity = "error"
    reason: str | None = None


class Checks(Strict):
    """A card's ``checks:``, one entry per data check: a severity (``leakage: warning``) or ``{severity, reason}``.
    Cards inherit it through ``extends:`` key by key, like any mapping."""

    empty_text: CheckRule = CheckRule()
    leakage: CheckRule = CheckRule()
    row_count: CheckRule = CheckRule()
    span_text: CheckRule = CheckRule()

    @field_validator("*", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"severity": value} if isinstance(value, str) else value

    def severity(self, check: str) -> Severity:
        return self.rule(check).severity

    def rule(self, check: str) -> CheckRule:
        if check not in DATA_CHECKS:
            raise KeyError(f"unknown data check '{check}'")
        rule: CheckRule = getattr(self, check)
        return rule

    def relaxed(self) -> dict[str, CheckRule]:
        """The checks the card sets to other than error, with their reasons (what the datasheet lists)."""
        return {name: self.rule(name) for name in DATA_CHECKS if self.severity(name) != "error"}


class TaskCard(Strict):
    id: str
    version: str
    name: str
    description: str
    language: str
    license: str
    citation: str
    homepage: str
    type: str
    source: Source
    fields: Fields
    labels: Labels | None = None
    value_range: tuple[float, float] | None = None
    splits: dict[str, Split] = Field(min_length=1)
    metrics: list[MetricRef] = Field(min_length=1)
    primary_metric: str
    # The metrics whose mean is the task score (default: all of the card's metrics); the others are reported only
    # (LEPISZCZE: the score is macro-F1, accuracy is shown next to it).
    score_metrics: list[str] | None = None
    # Token classification from a text with character-offset spans instead of token and tag lists.
    entity_spans: EntitySpans | None = None
    # Model inputs composed from several fields (role -> template and marks), and list-valued fields (role -> how
    # their items become strings); see benchkit/compose.py.
    inputs: dict[str, Compose] = {}
    lists: dict[str, ListItems] = {}
    # The task(s) whose model predicts this one (GLUE AX: glue/mnli). A list when several tasks train the same kind
    # of model (AdvGLUE SST-2: glue/sst2 and the embedded glue-mini/sst2); `evaluators` reads both spellings.
    evaluated_with: str | list[str] | None = None
    # Severity of each data check (DATA_CHECKS): error by default; warning where the official files keep a known quirk.
    checks: Checks = Checks()
    # How a generative language model is asked (zero-/few-shot, SFT): benchkit/cards/prompts.py. The card's parts;
    # its language's prompt file (prompts/<language>.yaml) gives the rest.
    prompt: Prompt | None = None

    _v_version = field_validator("version")(lambda cls, v: _version(v))
    _v_language = field_validator("language")(lambda cls, v: _language(v))

    @field_validator("id", "evaluated_with")
    @classmethod
    def _task_id(cls, value: str | list[str] | None) -> str | list[str] | None:
        for item in [value] if isinstance(value, str) else value or []:
            if not TASK_ID.match(item):
                raise CardValueError(f"'{item}' is not a task id", "task ids are <suite>/<task>, e.g. glue/sst2")
        if isinstance(value, list) and not value:
            raise CardValueError("evaluated_with is an empty list", "name the task(s) whose model predicts this one")
        return value

    _v_type = field_validator("type")(lambda cls, v: _in_registry(TASK_TYPES, v))

    @field_validator("splits")
    @classmethod
    def _split_names(cls, value: dict[str, Split]) -> dict[str, Split]:
        for name, split in value.items():
            if not SPLIT_NAME.match(name):
                raise CardValueError(f"split name '{name}' is not train, dev or test (optionally with a suffix)",
                                     did_you_mean(name, ["train", "dev", "test"]) or "e.g. dev_matched, test_mismatched",
                                     (name,))
        # A derived split is carved out of a split read from its own file (or hf_split) with its labels: a split
        # derived from itself, from another derived split (chains, cycles) or from hidden labels has nothing to carve.
        origins = sorted((n for n, s in value.items() if not s.derive and s.labels == "present"),
                         key=lambda n: not n.startswith("train"))
        hint = "derive from a split with its own file (or hf_split) and labels present" + (
            f", e.g. from: {origins[0]}" if origins else "")
        for name, split in value.items():
            if not split.derive:
                continue
            parent, where = split.derive.from_, (name, "derive", "from")
            if parent not in value:
                raise CardValueError(f"split '{name}' derives from '{parent}', which the card does not define",
                                     did_you_mean(parent, list(value)) or hint, where)
            if parent == name:
                raise CardValueError(f"split '{name}' derives from itself", hint, where)
            grandparent = value[parent].derive
            if grandparent is not None:
                raise CardValueError(f"split '{name}' derives from '{parent}', which is itself derived "
                                     f"(from '{grandparent.from_}')", hint, where)
            if value[parent].labels == "hidden":
                raise CardValueError(f"split '{name}' derives from '{parent}', whose labels are hidden", hint, where)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "TaskCard":
        task_type = TASK_TYPES.get(self.type)
        self._check_fields(task_type, self._given_roles(task_type))
        self._check_target(task_type)
        self._check_split_origins()
        self._check_metric_names()
        self._check_prompt(task_type)
        return self

    def _check_prompt(self, task_type: TaskType) -> None:
        if self.prompt is None:
            return
        roles = self._given_roles(task_type)
        if task_type.target == "choice":
            roles |= {"choices"}
        try:
            check_prompt(self.prompt, roles, task_type.target, self.labels.names if self.labels else None)
        except PromptValueError as err:
            raise CardValueError(str(err), err.hint, ("prompt", *err.loc)) from None

    def _given_roles(self, task_type: TaskType) -> set[str]:
        """The roles the card gives: its fields, its composed inputs, and the tokens and tags of entity_spans."""
        given = set(self.fields.model_dump(exclude_none=True))
        for role in self.inputs:
            if role in given:
                raise CardValueError(f"role '{role}' is both a field and a composed input", "keep one of them",
                                     ("inputs", role))
            if role not in TEXT_ROLES:
                raise CardValueError(f"inputs.{role}: only text roles are composed", f"compose one of {list(TEXT_ROLES)}",
                                     ("inputs", role))
        given |= set(self.inputs)
        if self.entity_spans is not None:
            if task_type.target != "tags":
                raise CardValueError("entity_spans is for token classification", "remove it", ("entity_spans",))
            doubled = sorted({"tokens", "tags"} & given)
            if doubled:
                raise CardValueError(f"fields {doubled} and entity_spans both give the tokens and tags",
                                     "keep one of them", ("entity_spans",))
            if self.labels is not None and self.labels.scheme not in (None, "IOB2"):
                raise CardValueError("entity_spans writes IOB2 tags", "set labels.scheme: IOB2", ("labels", "scheme"))
            given |= {"tokens", "tags"}
        for role in self.lists:
            if role not in given - set(self.inputs):
                raise CardValueError(f"lists.{role}: the card has no field '{role}'",
                                     "lists: describes the items of a list-valued field named under fields:",
                                     ("lists", role))
        return given

    def _check_fields(self, task_type: TaskType, given: set[str]) -> None:
        """The given roles are those the task type needs and knows."""
        allowed = set(task_type.required_fields) | set(task_type.optional_fields)
        # A test-only task with hidden labels (GLUE AX) has no label column anywhere.
        labelled = any(split.labels == "present" for split in self.splits.values())
        required = [f for f in task_type.required_fields if labelled or f != task_type.target_field]
        missing = [f for f in required if f not in given]
        if missing:
            raise CardValueError(f"task type '{self.type}' needs fields {missing}",
                                 f"name the column(s) for {', '.join(missing)} under fields:", ("fields",))
        extra = sorted(given - allowed)
        if extra:
            raise CardValueError(f"task type '{self.type}' has no field(s) {extra}",
                                 f"its fields are: {', '.join(sorted(allowed))}", ("fields", extra[0]))
        if task_type.marked_spans and not any(spec.marks for spec in self.inputs.values()):
            raise CardValueError(f"task type '{self.type}' reads marked spans, and the card marks none",
                                 "compose the text under inputs: with marks: [{field, start, end or text}]", ("inputs",))

    def _check_target(self, task_type: TaskType) -> None:
        """Labels for the targets that have a label set, a value range for regression only."""
        if task_type.target == "candidate":
            if self.labels is not None:
                raise CardValueError("a candidate-choice card has no label set", "the answers are candidate strings; "
                                     "remove labels:", ("labels",))
        elif task_type.target == "number":
            if self.labels is not None:
                raise CardValueError("a regression card has no labels", "use value_range: [min, max] instead", ("labels",))
        elif self.labels is None:
            raise CardValueError(f"task type '{self.type}' needs labels", "list the official label strings under labels.names")
        if task_type.target == "tags" and self.labels and self.labels.scheme is None:
            raise CardValueError("token classification needs labels.scheme",
                                 "one of IOB1, IOB2, BIOES, or plain for tags without B-/I- prefixes", ("labels",))
        if self.value_range is not None and task_type.target != "number":
            raise CardValueError("value_range is only for regression", "remove it", ("value_range",))
        if self.value_range is not None and not self.value_range[0] < self.value_range[1]:
            raise CardValueError(f"value_range {list(self.value_range)} is not [min, max] with min < max",
                                 "e.g. value_range: [0.0, 5.0]", ("value_range",))

    def _check_split_origins(self) -> None:
        """Each split is read the way the source's format reads: files for local formats, hf_split for the Hub."""
        fmt = FORMATS.get(self.source.format)
        for name, split in self.splits.items():
            if split.hf_split and fmt.local:
                raise CardValueError(f"split '{name}' uses hf_split with local format '{self.source.format}'",
                                     "use file: for local files", ("splits", name, "hf_split"))
            if split.file and not fmt.local:
                raise CardValueError(f"split '{name}' uses file with format 'hub'", "use hf_split: for Hub datasets",
                                     ("splits", name, "file"))
            if split.read is not None:
                extra_options = sorted(set(split.read.model_fields_set) - fmt.options)
                if extra_options:
                    raise CardValueError(f"split '{name}': read option(s) {extra_options} do not apply to format "
                                         f"'{self.source.format}'", None, ("splits", name, "read", extra_options[0]))

    def _check_metric_names(self) -> None:
        """Metric keys are unique, and score_metrics and primary_metric name some of them."""
        names = [m.key for m in self.metrics]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise CardValueError(f"metric '{repeated[0]}' is listed twice", "give the second one another key with as:",
                                 ("metrics",))
        for name in self.score_metrics or []:
            if name not in names:
                raise CardValueError(f"score_metrics names '{name}', which is not among the card's metrics {names}",
                                     did_you_mean(name, names) or "name metrics listed under metrics:",
                                     ("score_metrics",))
        if self.score_metrics == []:
            raise CardValueError("score_metrics is empty", "name at least one metric, or remove it", ("score_metrics",))
        if self.primary_metric not in names:
            raise CardValueError(f"primary_metric '{self.primary_metric}' is not among the card's metrics {names}",
                                 did_you_mean(self.primary_metric, names)
                                 or "name one of the metrics listed under metrics:", ("primary_metric",))

    @property
    def suite(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def evaluators(self) -> list[str]:
        """The tasks whose models predict this one (empty: the task trains its own)."""
        value = self.evaluated_with
        return [value] if isinstance(value, str) else list(value or [])

    def split_fields(self, split: str) -> Fields:
        override = self.splits[split].fields
        if override is None:
            return self.fields
        return self.fields.model_copy(update=override.model_dump(exclude_unset=True))

    def split_read(self, split: str) -> ReadOptions:
        return self.source.read.merged(self.splits[split].read)


class SuiteTask(Strict):
    id: str
    version: str
    scored: bool = True

    _v_version = field_validator("version")(lambda cls, v: _version(v))


def _parsed_rule(name: str, data: dict[str, Any]) -> ScoreRule:
    try:
        return ScoreRule.from_data(name, data)
    except RuleDataError as err:
        raise CardValueError(str(err), err.hint, err.loc) from None


class SuiteCard(Strict):
    id: str
    version: str
    name: str
    description: str
    languages: list[str] = Field(min_length=1)
    homepage: str | None = None
    citation: str | None = None
    # Empty only while a suite is scaffolded (benchkit new suite; benchkit new task adds each task here).
    tasks: list[SuiteTask] = []
    # The score rule as data (benchkit.scoring.rules: which metrics of which tasks count, how they average); without
    # it, score_rule names a registered rule. Declared before score_rule, whose check reads it.
    score: dict[str, Any] | None = None
    score_rule: str  # the rule's name, printed in manifests and leaderboards
    submission_format: str | None = None
    # Where test predictions are submitted (the benchmark's server keeps the test labels); None: no server.
    submission_url: str | None = None
    # Where the suite's data lives when --data-dir is not given, relative to this card (the embedded default).
    data_dir: str | None = None
    # The suite's default hyperparameters (benchkit.contracts.recipe.Recipe fields); models and users override them.
    recipe: dict[str, Any] = {}

    _v_version = field_validator("version")(lambda cls, v: _version(v))

    @field_validator("recipe")
    @classmethod
    def _recipe_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = [k for k in value if k not in RECIPE_FIELDS]
        if unknown:
            raise CardValueError(f"unknown recipe field '{unknown[0]}'",
                                 did_you_mean(unknown[0], RECIPE_FIELDS) or f"fields: {', '.join(RECIPE_FIELDS)}",
                                 (unknown[0],))
        return value

    @field_validator("id")
    @classmethod
    def _suite_id(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", value):
            raise CardValueError(f"'{value}' is not a suite id", "lower-case letters, digits, '-', '_' and '.'")
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return [_language(v) for v in value]

    _rule: ScoreRule = PrivateAttr()

    @field_validator("score")
    @classmethod
    def _rule_data(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _parsed_rule("score", value)  # the vocabulary; the name and the tasks are checked with the card
        return value

    @field_validator("score_rule")
    @classmethod
    def _known_rule(cls, value: str, info: ValidationInfo) -> str:
        # A rule stated as data may take any name; a bare name must be registered (and "score" absent from
        # info.data means its data failed, already reported).
        return _in_registry(SCORE_RULES, value) if "score" in info.data and info.data["score"] is None else value

    @model_validator(mode="after")
    def _the_rule(self) -> SuiteCard:
        """The card's rule: its data, naming only tasks of the suite, and the registered rule of its name if any."""
        if self.score is None:
            self._rule = SCORE_RULES.get(self.score_rule)
            return self
        rule = _parsed_rule(self.score_rule, self.score)
        listed = {t.id for t in self.tasks}
        for task, loc in rule.task_ids():
            if task not in listed:
                raise CardValueError(f"the score rule names '{task}', which is not a task of this suite",
                                     did_you_mean(task, sorted(listed)) or "list it under tasks:", ("score", *loc))
        extra, unscored = rule.flag_conflicts({t.id: t.scored for t in self.tasks})
        if extra or unscored:
            raise CardValueError("; ".join([f"score.tasks leaves out {extra}, which the suite scores"] * bool(extra)
                                           + [f"score.tasks counts {unscored}, which the suite marks scored: false"]
                                           * bool(unscored)),
                                 "list every scored task under score.tasks (or exclude:), and only those",
                                 ("score", "tasks"))
        if self.score_rule in SCORE_RULES and SCORE_RULES.get(self.score_rule) != rule:
            raise CardValueError(f"score_rule '{self.score_rule}' is a registered rule, and this card's score data "
                                 "state another one", "give the card's rule a name of its own", ("score_rule",))
        self._rule = rule
        return self

    @property
    def rule(self) -> ScoreRule:
        """The suite's score rule (``benchkit.scoring.rules.ScoreRule``)."""
        return self._rule

    _v_submission = field_validator("submission_format")(
        lambda cls, v: None if v is None else _in_registry(SUBMISSION_FORMATS, v))

    @field_validator("tasks")
    @classmethod
    def _unique(cls, value: list[SuiteTask]) -> list[SuiteTask]:
        ids = [t.id for t in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise CardValueError(f"task(s) {dupes} listed twice", "list each task once")
        return value
