"""Prompts as data: how a task card is asked of a generative language model (zero-shot, few-shot, SFT).

A card's ``prompt:`` block (inherited through ``extends:`` like any field) holds the task's parts: an input template
over the card's roles (``{text}``, ``{text_pair}``, ``{question}``, ...; raw file columns the prompt names under
``columns:``), a verbaliser per label, the choice template of multiple-choice tasks. A per-language file,
``prompts/<language>.yaml`` in a card root (``cards.roots``), holds what the cards of one language share (the
answer prefix, separators, the wording of instructions); the card's own values win. ``resolve_prompt`` merges the
two into the ``Prompt`` a run uses; its hash (``prompt_sha256``) is part of the run's identity.

Templates: ``{role}`` or ``{role|filter|filter}`` (filters in ``PROMPT_FILTERS``: ``strip``, ``lower_first``,
``drop_last``, ``map`` through ``maps.<role>``, ...); ``{{`` and ``}}`` are braces (JSON in an instruction).
The context a model reads, as lm-evaluation-harness builds it::

    instruction + separator + (shot example + separator) * k + query
    query   = input + "\\n" + answer_prefix            (no newline and prefix when answer_prefix is "")
    example = query + target_delimiter + answer         (or the ``example`` template over {query} and {answer})
    answers = target_delimiter + verbaliser, for each label (or each choice, or each number)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from benchkit.cards.columns import PLACEHOLDER  # the card language's one template syntax ({name|filter|...})
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.registry import Registry

PROMPT_DIR = "prompts"  # <card root>/prompts/<language>.yaml
# Names every template may use besides the roles: the label verbalisers listed (instructions), one choice's text
# (choice templates), the query and answer (few-shot example templates).
INSTRUCTION_NAMES = frozenset({"labels", "types"})
ANSWER_MODES = ("loglikelihood", "generate")


class PromptValueError(ValueError):
    """A prompt problem found while a card is validated: message, hint, and the location under ``prompt``."""

    def __init__(self, message: str, hint: str | None = None, loc: tuple = ()):
        super().__init__(message)
        self.hint = hint
        self.loc = loc


class Prompt(BaseModel):
    """One task's prompt. Every field is optional in a card: what the card leaves out comes from its language's
    prompt file, then from these defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None  # shown on leaderboards; default: the task id
    source: str | None = None  # where the prompt came from (a paper, lm-evaluation-harness's task, its author)
    instruction: str = ""  # before the shots; may name {labels} (the verbalisers) and {types} (entity types)
    input: str | None = None  # template over the card's roles (and ``columns``): the question asked of one example
    columns: list[str] = []  # raw columns of the data files the templates name besides the roles
    answer_prefix: str = "Answer:"  # on its own line after the input ("" for none)
    target_delimiter: str = " "  # between the query and the answer
    verbalizers: dict[str, str] | None = None  # label -> the text the model scores or writes; tagging: type -> text
    numbers: list[float] | None = None  # regression: the values scored as answers (expected value over them)
    choice: str = "{choice}"  # multiple choice: one choice's answer text (template over the roles and {choice})
    example: str | None = None  # few-shot example template over {query} and {answer}; default query+delimiter+answer
    separator: str = "\n\n"  # after the instruction and after each shot
    shots: int = Field(5, ge=0)  # k for --mode few-shot (--set shots=K overrides)
    answer: Literal["loglikelihood", "generate"] | None = None  # None: the task type's (tags generate, others score)
    max_new_tokens: int = Field(32, ge=1)  # generation's bound (tagging: scaled by the input's words, see runner)
    stop: list[str] = ["\n\n"]  # generation stops at the first of these
    maps: dict[str, dict[str, str]] = {}  # role -> value -> text, for the ``map`` filter (COPA: cause -> because)


# -- templates ---------------------------------------------------------------------------------------------------


def _join(value: Any) -> str:
    return " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


# name -> (value, the prompt's map for the role) -> value. ``map`` is the one that reads the prompt.
PROMPT_FILTERS: Registry[Callable[[Any, Mapping[str, str] | None], Any]] = Registry("prompt filter")
for _name, _filter in (
    ("strip", lambda v, m: str(v).strip()),
    ("lower", lambda v, m: str(v).lower()),
    ("upper", lambda v, m: str(v).upper()),
    ("lower_first", lambda v, m: _lower_first(str(v))),
    ("upper_first", lambda v, m: _upper_first(str(v))),
    ("drop_last", lambda v, m: str(v)[:-1]),  # lm-evaluation-harness's COPA: the premise without its full stop
    ("rstrip_period", lambda v, m: str(v).rstrip(".")),
    ("join", lambda v, m: _join(v)),  # a token list as text
    ("join_comma", lambda v, m: ", ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)),
    ("map", lambda v, m: (m or {}).get(str(v), str(v))),
):
    PROMPT_FILTERS.add(_name, _filter)


def placeholders(template: str) -> list[tuple[str, list[str]]]:
    """The (name, filters) a template names, in order; ValueError on a stray brace or an empty name."""
    found = []
    for match in PLACEHOLDER.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise ValueError(f"unmatched '{token}' at position {match.start()} (write {{{{ or }}}} for a brace)")
        name, *filters = [part.strip() for part in match.group(1).split("|")]
        if not name:
            raise ValueError(f"empty {{}} at position {match.start()}")
        found.append((name, filters))
    return found


def render(template: str, values: Mapping[str, Any], maps: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Fill a template: each ``{name|filters}`` with its value (lists joined by spaces), ``{{``/``}}`` as braces."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name, *filters = [part.strip() for part in match.group(1).split("|")]
        value = values[name]
        for filter_name in filters:
            value = PROMPT_FILTERS.get(filter_name)(value, (maps or {}).get(name))
        return _join(value)

    return PLACEHOLDER.sub(fill, template)


# -- checks against the card (called by TaskCard's validator, so problems carry the card line) --------------------


def _check_template(template: str, allowed: set[str], loc: tuple, hint_names: list[str]) -> None:
    try:
        found = placeholders(template)
    except ValueError as err:
        raise PromptValueError(f"template: {err}", "e.g. '{text}\\nQuestion: ...'", loc) from None
    for name, filters in found:
        if name not in allowed:
            raise PromptValueError(f"the template names '{name}', which is not a role of this card",
                                   did_you_mean(name, sorted(allowed)) or
                                   f"name one of {', '.join(sorted(hint_names))}, or list a file column under "
                                   f"prompt.columns", loc)
        for filter_name in filters:
            if filter_name not in PROMPT_FILTERS:
                raise PromptValueError(f"unknown filter '{filter_name}' in {{{name}|...}}",
                                       did_you_mean(filter_name, PROMPT_FILTERS.names()) or
                                       f"filters: {', '.join(PROMPT_FILTERS.names())}", loc)


def tag_types(label_names: list[str]) -> list[str]:
    """Entity types of a tag set (B-PER, I-PER -> PER), in first-seen order; O is none."""
    return list(dict.fromkeys(t.split("-", 1)[1] for t in label_names if "-" in t))


def check_prompt(prompt: Prompt, roles: set[str], target: str, label_names: list[str] | None) -> None:
    """The card's prompt names only its roles (and its declared columns), known filters, and a distinct verbaliser
    for every label; raises PromptValueError with the location under ``prompt``."""
    doubled = sorted(set(prompt.columns) & roles)
    if doubled:
        raise PromptValueError(f"columns names '{doubled[0]}', which is already a role of this card",
                               f"name the role in templates ({{{doubled[0]}}}) and drop it from columns", ("columns",))
    values = (roles - {"label", "tags"}) | set(prompt.columns)
    if prompt.input is not None:
        _check_template(prompt.input, values, ("input",), sorted(values))
    _check_template(prompt.instruction, values | INSTRUCTION_NAMES, ("instruction",), sorted(values))
    _check_template(prompt.choice, values | {"choice"}, ("choice",), sorted(values | {"choice"}))
    if prompt.example is not None:
        _check_template(prompt.example, values | {"query", "answer"}, ("example",), ["query", "answer"])
    for role in prompt.maps:
        if role not in values:
            raise PromptValueError(f"maps names '{role}', which is not a role of this card",
                                   did_you_mean(role, sorted(values)), ("maps", role))
    if prompt.verbalizers is None:
        return
    if target == "class":
        known = list(label_names or [])
        what = "label"
    elif target == "tags":
        known = tag_types(label_names or [])
        what = "entity type"
    else:
        raise PromptValueError(f"verbalizers are for labels; this card's answers are its {target}s",
                               "remove verbalizers (multiple choice: the choice template says what is scored)",
                               ("verbalizers",))
    for label in prompt.verbalizers:
        if label not in known:
            raise PromptValueError(f"verbalizers names '{label}', which is not a {what} of this card",
                                   did_you_mean(label, known) or f"its {what}s: {', '.join(known)}",
                                   ("verbalizers", label))
    if target == "class":
        missing = [label for label in known if label not in prompt.verbalizers]
        if missing:
            raise PromptValueError(f"no verbaliser for label '{missing[0]}'",
                                   f"give every label its text: verbalizers: {{{missing[0]}: ...}}", ("verbalizers",))
    texts = list(prompt.verbalizers.values())
    for label, text in prompt.verbalizers.items():
        if not text.strip():
            raise PromptValueError(f"the verbaliser of '{label}' is empty", "give it the word the model should say",
                                   ("verbalizers", label))
        others = [other for other, t in prompt.verbalizers.items() if t.strip() == text.strip() and other != label]
        if others:
            raise PromptValueError(f"labels '{label}' and '{others[0]}' have one verbaliser '{text}'",
                                   "give each label its own text, or the model's answer cannot tell them apart",
                                   ("verbalizers", label))
    del texts


# -- resolution: the card's prompt over its language's ------------------------------------------------------------


def language_file(language: str, roots: list[Path]) -> Path | None:
    """``prompts/<language>.yaml`` in the first card root that has it."""
    for root in roots:
        path = root / PROMPT_DIR / f"{language}.yaml"
        if path.is_file():
            return path
    return None


def _language_defaults(path: Path) -> dict[str, Any]:
    from pydantic import ValidationError

    from benchkit.cards.yaml_source import read_yaml

    doc = read_yaml(path)
    data = dict(doc.data or {})
    data.pop("language", None)
    try:
        Prompt.model_validate(data)
    except ValidationError as err:
        item = err.errors()[0]
        loc = tuple(item["loc"])
        file, line = doc.line_of(loc) or (str(path), None)
        raise BenchkitError(Problem(item["msg"], file=file, line=line, field=".".join(map(str, loc)) or None,
                                    hint=f"fields of a prompt: {', '.join(Prompt.model_fields)}")) from None
    for key in ("input", "verbalizers", "numbers", "columns", "maps"):  # task parts belong in the task's card
        if key in data:
            file, line = doc.line_of((key,)) or (str(path), None)
            raise BenchkitError(Problem(f"'{key}' is a task's part, not a language's", file=file, line=line,
                                        field=key, hint="move it into the task card's prompt: block"))
    return data


def resolve_prompt(card: Any, roots: list[Path]) -> Prompt:
    """The prompt a run of ``card`` uses: the card's ``prompt:`` over its language's prompt file; a card without an
    input template cannot be asked."""
    own = card.prompt
    if own is None or own.input is None:
        raise BenchkitError(Problem(f"{card.id} has no prompt to ask a language model with", field="prompt.input",
                                    hint="add a prompt: block with an input template and verbalizers (benchkit new "
                                         "task writes one; see docs/prompts.md)"))
    path = language_file(card.language, roots)
    base = _language_defaults(path) if path is not None else {}
    merged = {**base, **own.model_dump(exclude_unset=True)}
    merged.setdefault("name", card.id)
    return Prompt.model_validate(merged)


def prompt_sha256(prompt: Prompt) -> str:
    return hashlib.sha256(json.dumps(prompt.model_dump(), sort_keys=True).encode()).hexdigest()


# -- one example's texts ------------------------------------------------------------------------------------------


def query_text(prompt: Prompt, row: Mapping[str, Any]) -> str:
    assert prompt.input is not None
    text = render(prompt.input, row, prompt.maps)
    return f"{text}\n{prompt.answer_prefix}" if prompt.answer_prefix else text


def instruction_text(prompt: Prompt, label_names: list[str] | None) -> str:
    labels = ", ".join((prompt.verbalizers or {}).get(n, n) for n in label_names or [])
    types = ", ".join((prompt.verbalizers or {}).get(t, t) for t in tag_types(label_names or []))
    return render(prompt.instruction, {"labels": labels, "types": types})


def format_number(value: float) -> str:
    """A numeric verbaliser as written: 3.0 -> '3', 2.5 -> '2.5'."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def choice_texts(prompt: Prompt, target: str, label_names: list[str] | None, row: Mapping[str, Any]) -> list[str]:
    """The answers scored for one example, without the target delimiter: each label's verbaliser (class), each
    choice through the choice template (choice), each candidate (candidate), each number (number)."""
    if target == "class":
        return [(prompt.verbalizers or {})[n] for n in label_names or []]
    if target == "choice":
        return [render(prompt.choice, {**row, "choice": c}, prompt.maps) for c in row["choices"]]
    if target == "candidate":
        return [render(prompt.choice, {**row, "choice": c}, prompt.maps) for c in row["candidates"]]
    if target == "number":
        return [format_number(n) for n in prompt.numbers or []]
    raise ValueError(f"no scored answers for target '{target}'")


def example_text(prompt: Prompt, query: str, answer: str) -> str:
    if prompt.example is not None:
        return render(prompt.example, {"query": query, "answer": answer})
    return f"{query}{prompt.target_delimiter}{answer}"


def context_text(prompt: Prompt, instruction: str, shots: list[str], query: str) -> str:
    """The whole context: the instruction, the shots (each an example text), the query."""
    head = f"{instruction}{prompt.separator}" if instruction else ""
    return head + "".join(f"{shot}{prompt.separator}" for shot in shots) + query
