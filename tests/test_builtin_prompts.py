"""The built-in prompts (docs/prompts.md): every built-in task card that trains or is evaluated has a prompt: block
that resolves over its language's file and renders one example; the prompts that copy lm-evaluation-harness 0.4.13
give its exact context and continuations; the Polish ones are Polish; a bad prompt in a card is one problem at its
line.

Rows are real where the repository or the shared data folder has them (data/glue-mini, the real GLUE dev files, the
format samples of SuperGLUE, KLEJ, AdvGLUE and CoNLL-2003, read without their row-count check), else made up from
the card's roles.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SHARED, SHARED_GLUE

from benchkit.cards.catalog import load_task
from benchkit.cards.prompts import (
    choice_texts,
    instruction_text,
    query_text,
    resolve_prompt,
    tag_types,
)
from benchkit.cards.roots import card_roots, task_ids
from benchkit.errors import BenchkitError
from benchkit.loading import canonical_frame, prompt_rows, read_split
from benchkit.task_types import TASK_TYPES

SAMPLES = SHARED / "data"


def _asked(task_id: str) -> bool:
    card = load_task(task_id)
    return "train" in card.splits or bool(card.evaluated_with)


BUILTIN = [t for t in task_ids() if _asked(t)]

# task id -> (split, format sample under <shared>/data, where the card looks for that split's file)
FORMAT_SAMPLES = {
    "superglue/boolq": ("dev", "superglue/_format_samples/BoolQ.val.first20.jsonl", "BoolQ/val.jsonl"),
    "superglue/cb": ("dev", "superglue/_format_samples/CB.val.first1.jsonl", "CB/val.jsonl"),
    "superglue/copa": ("dev", "superglue/_format_samples/COPA.val.first1.jsonl", "COPA/val.jsonl"),
    "superglue/multirc": ("dev", "superglue/_format_samples/MultiRC.val.first1.jsonl", "MultiRC/val.jsonl"),
    "superglue/rte": ("dev", "superglue/_format_samples/RTE.val.first1.jsonl", "RTE/val.jsonl"),
    "superglue/wsc": ("dev", "superglue/_format_samples/WSC.val.first1.jsonl", "WSC/val.jsonl"),
    "superglue/wic": ("dev", "superglue/_format_samples/WiC.val.first1.jsonl", "WiC/val.jsonl"),
    "klej/ar": ("dev", "klej/_format_samples/AR.dev.noheader.first2.tsv", "klej_ar/dev.tsv"),
    "klej/nkjp-ner": ("dev", "klej/_format_samples/NKJP-NER.dev.first20.tsv", "klej_nkjp-ner/dev.tsv"),
    "klej/polemo2.0-in": ("dev", "klej/_format_samples/PolEmo2.0-IN.dev.first2.tsv", "klej_polemo2.0-in/dev.tsv"),
    "advglue/sst2": ("dev", "advglue/_format_samples/dev.sample.json", "dev.json"),
    "advglue/rte": ("dev", "advglue/_format_samples/dev.sample.json", "dev.json"),
    "conll2003/eng": ("dev", "conll2003/_format_samples/eng.testa.first20lines.txt", "conll2003/eng.testa"),
}
GLUE_MINI = {"glue-mini/cola", "glue-mini/mrpc", "glue-mini/sst2", "glue-mini/stsb"}


def _made_up_row(card, prompt) -> dict:
    """One example with every role of the card and every column its prompt names."""
    row: dict = {"id": "0"}
    roles = card._given_roles(TASK_TYPES.get(card.type))
    for role in roles:
        row[role] = f"An example {role}."
    if "tokens" in roles:
        row["tokens"] = ["John", "Smith", "lives", "in", "Berlin", "."]
    if TASK_TYPES.get(card.type).target == "choice":
        row["choices"] = ["The first choice.", "The second choice."]
    if "candidates" in roles:
        row["candidates"] = ["Berlin", "John Smith"]
    for column in prompt.columns:
        row[column] = f"An example {column}."
    for role, mapping in prompt.maps.items():  # a value the map knows (COPA's question: cause)
        row[role] = next(iter(mapping))
    return row


def _real_row(card, tmp_path: Path) -> dict | None:
    if card.id in GLUE_MINI:
        return prompt_rows(canonical_frame(card, "dev", read_split(card, "dev", REPO / "data" / "glue-mini")))[0]
    if card.id.startswith("glue/") and card.source.dir and (SHARED_GLUE / card.source.dir).is_dir():
        split = next(s for s in card.splits if s.startswith("dev") or s == "test")
        if (SHARED_GLUE / card.source.dir / card.splits[split].file).is_file():
            return prompt_rows(canonical_frame(card, split, read_split(card, split, SHARED_GLUE)))[0]
    if card.id in FORMAT_SAMPLES:
        split, sample, target = FORMAT_SAMPLES[card.id]
        if (SAMPLES / sample).is_file():
            (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SAMPLES / sample, tmp_path / target)
            return prompt_rows(canonical_frame(card, split, read_split(card, split, tmp_path)))[0]
    return None


def test_the_builtin_cards_are_found():
    assert len(BUILTIN) >= 50
    assert {"glue/sst2", "glue/ax", "superglue/copa", "advglue/mnli", "conll2003/eng-doc", "klej/ar",
            "lepiszcze/punctuation", "gonerd/gonerd"} <= set(BUILTIN)


@pytest.mark.parametrize("task_id", BUILTIN)
def test_every_builtin_card_has_a_prompt_that_renders(task_id, tmp_path):
    card = load_task(task_id)
    prompt = resolve_prompt(card, card_roots())
    assert prompt.source, f"{task_id}: say where the prompt came from"
    target = TASK_TYPES.get(card.type).target
    names = card.labels.names if card.labels else None
    row = _real_row(card, tmp_path) or _made_up_row(card, prompt)

    query = query_text(prompt, row)
    assert query.strip()
    assert query.endswith(prompt.answer_prefix)
    instruction = instruction_text(prompt, names)
    assert isinstance(instruction, str)
    if target == "tags":
        assert prompt.answer == "generate" and prompt.instruction, f"{task_id}: tagging asks for a JSON list"
        assert '[{"type": ' in instruction  # the doubled braces came out single
        if prompt.verbalizers is not None:
            assert set(prompt.verbalizers) == set(tag_types(names)), f"{task_id}: a word for every entity type"
            assert all(prompt.verbalizers[t] in instruction for t in tag_types(names))
        return
    answers = choice_texts(prompt, target, names, row)
    assert answers and all(a.strip() for a in answers)
    if target == "class":
        assert set(prompt.verbalizers or {}) == set(names), f"{task_id}: a verbaliser for every label"
        assert len({a.strip() for a in answers}) == len(names), f"{task_id}: distinct verbalisers"
    elif target == "number":
        low, high = card.value_range
        assert prompt.numbers and min(prompt.numbers) == low and max(prompt.numbers) == high
        assert f"{low:g}" in query and f"{high:g}" in query  # the input names the scale
    else:
        assert prompt.verbalizers is None
        assert len(answers) == len(row["choices" if target == "choice" else "candidates"])


@pytest.mark.parametrize("task_id", [t for t in BUILTIN if load_task(t).language == "pol-Latn"])
def test_polish_prompts_are_polish(task_id):
    card = load_task(task_id)
    prompt = resolve_prompt(card, card_roots())
    assert prompt.answer_prefix == "Odpowiedź:"
    text = " ".join([prompt.input or "", prompt.instruction, *(prompt.verbalizers or {}).values()])
    assert re.search("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]", text), f"{task_id}: no Polish letter in its prompt"
    assert "in Polish" in prompt.source


def test_german_conll_is_asked_in_german():
    prompt = resolve_prompt(load_task("conll2003/deu"), card_roots())
    assert prompt.answer_prefix == "Antwort:" and "Eigennamen" in prompt.instruction
    assert prompt.verbalizers == {"PER": "Person", "LOC": "Ort", "ORG": "Organisation", "MISC": "Sonstiges"}


def test_glue_mini_inherits_the_glue_prompts():
    for name in ("cola", "mrpc", "sst2", "stsb"):
        assert load_task(f"glue-mini/{name}").prompt == load_task(f"glue/{name}").prompt


# -- lm-evaluation-harness 0.4.13's exact strings (its YAML, written out by hand) ---------------------------------


def _texts(task_id: str, row: dict) -> tuple[str, list[str]]:
    card = load_task(task_id)
    prompt = resolve_prompt(card, card_roots())
    target = TASK_TYPES.get(card.type).target
    answers = choice_texts(prompt, target, card.labels.names if card.labels else None, row)
    return query_text(prompt, row), [prompt.target_delimiter + a for a in answers]


def test_sst2_is_lm_evals():
    # doc_to_text: "{{sentence}}\nQuestion: Is this sentence positive or negative?\nAnswer:"
    # doc_to_choice: ["negative", "positive"], target_delimiter " "
    query, answers = _texts("glue/sst2", {"text": "it 's a charming and often affecting journey . "})
    assert query == "it 's a charming and often affecting journey . \nQuestion: Is this sentence positive or negative?\nAnswer:"
    assert answers == [" negative", " positive"]


def test_rte_is_lm_evals():
    # doc_to_text: "{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:"; doc_to_choice: ["True", "False"]
    # (label 0 entailment, 1 not_entailment)
    row = {"text": "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.",
           "text_pair": "Christopher Reeve had an accident."}
    query, answers = _texts("glue/rte", row)
    assert query == ("Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.\n"
                     "Question: Christopher Reeve had an accident. True or False?\nAnswer:")
    assert answers == [" True", " False"]
    assert load_task("glue/rte").labels.names == ["entailment", "not_entailment"]


def test_boolq_is_lm_evals():
    # doc_to_text: "{{passage}}\nQuestion: {{question}}?\nAnswer:"; doc_to_choice: ["no", "yes"] (0 False, 1 True)
    row = {"text": "does ethanol take more energy make that produces",
           "text_pair": "Ethanol fuel -- All biomass goes through at least some of these steps."}
    query, answers = _texts("superglue/boolq", row)
    assert query == ("Ethanol fuel -- All biomass goes through at least some of these steps.\n"
                     "Question: does ethanol take more energy make that produces?\nAnswer:")
    assert answers == [" no", " yes"]
    assert load_task("superglue/boolq").labels.names == ["false", "true"]


@pytest.mark.parametrize("question, connector", [("effect", "therefore"), ("cause", "because")])
def test_copa_is_lm_evals(question, connector):
    # utils.doc_to_text: doc["premise"].strip()[:-1] + " because"/" therefore" (no "Answer:");
    # utils.doc_to_choice: " " + choice[0].lower() + choice[1:], after target_delimiter " " (two spaces)
    row = {"premise": "The man turned on the faucet. ", "question": question,
           "choices": ["The toilet filled with water.", "Water flowed from the spout."]}
    query, answers = _texts("superglue/copa", row)
    assert query == f"The man turned on the faucet {connector}"
    assert answers == ["  the toilet filled with water.", "  water flowed from the spout."]


def test_copa_reads_the_raw_columns_of_the_official_file(tmp_path):
    card = load_task("superglue/copa")
    row = _real_row(card, tmp_path)
    if row is None:
        pytest.skip(f"COPA format sample not found under {SAMPLES}")
    assert (row["premise"], row["question"]) == ("The man turned on the faucet.", "effect")
    query, answers = _texts("superglue/copa", row)
    assert query == "The man turned on the faucet therefore"
    assert answers == ["  the toilet filled with water.", "  water flowed from the spout."]


# -- a bad prompt in a card: one problem at its line ---------------------------------------------------------------

CARD = """\
id: test/sst
version: 1.0.0
name: Test
description: A card for the prompt checks.
language: eng-Latn
license: test
citation: test
homepage: https://example.org/
type: single_text_classification
source: {format: tsv, dir: D}
fields: {text: sentence, label: label}
labels: {names: [negative, positive], map: {0: negative, 1: positive}}
splits:
  train: {file: train.tsv}
  dev: {file: dev.tsv}
metrics: [accuracy]
primary_metric: accuracy
prompt:
  input: "{text}\\nQuestion: Is this sentence positive or negative?"
  verbalizers: {negative: negative, positive: positive}
"""


def _problems(tmp_path: Path, text: str):
    path = tmp_path / "card.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BenchkitError) as caught:
        load_task(str(path))
    return caught.value.problems


def test_the_good_card_loads(tmp_path):
    path = tmp_path / "card.yaml"
    path.write_text(CARD, encoding="utf-8")
    assert load_task(str(path)).prompt.verbalizers == {"negative": "negative", "positive": "positive"}


@pytest.mark.parametrize("old, new, line, field, message", [
    ('input: "{text}', 'input: "{sentence}', 19, "prompt.input",
     "the template names 'sentence', which is not a role of this card"),
    ("verbalizers: {negative: negative, positive: positive}", "verbalizers: {negative: negative}", 20,
     "prompt.verbalizers", "no verbaliser for label 'positive'"),
    ("verbalizers: {negative: negative, positive: positive}", "verbalizers: {negative: 'no', positive: 'no'}", 20,
     "prompt.verbalizers.negative", "labels 'negative' and 'positive' have one verbaliser 'no'"),
    ('input: "{text}', 'input: "{text|shout}', 19, "prompt.input", "unknown filter 'shout' in {text|...}"),
], ids=["unknown-role", "missing-verbaliser", "shared-verbaliser", "unknown-filter"])
def test_a_bad_prompt_is_one_problem_at_its_line(tmp_path, old, new, line, field, message):
    assert old in CARD
    problems = _problems(tmp_path, CARD.replace(old, new))
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.message, problem.line, problem.field) == (message, line, field)
    assert problem.file == str(tmp_path / "card.yaml")


def test_the_cli_reports_a_bad_prompt_with_exit_code_2(tmp_path):
    path = tmp_path / "card.yaml"
    path.write_text(CARD.replace('input: "{text}', 'input: "{txt}'), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "benchkit.cli", "validate", str(path)], check=False,
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert (f"error: {path}:19: prompt.input: the template names 'txt', which is not a role of this card"
            in done.stdout + done.stderr)
    assert "Traceback" not in done.stderr



# -- against lm-evaluation-harness's own task files, where it is installed -----------------------------------------

# task id -> (lm-eval task file, the lm-eval document's field for each benchkit role)
LM_EVAL_TEMPLATES = {
    "glue/cola": ("glue/cola/default.yaml", {"sentence": "text"}),
    "glue/sst2": ("glue/sst2/default.yaml", {"sentence": "text"}),
    "glue/mrpc": ("glue/mrpc/default.yaml", {"sentence1": "text", "sentence2": "text_pair"}),
    "glue/qqp": ("glue/qqp/default.yaml", {"question1": "text", "question2": "text_pair"}),
    "glue/qnli": ("glue/qnli/default.yaml", {"question": "text", "sentence": "text_pair"}),
    "glue/rte": ("glue/rte/default.yaml", {"sentence1": "text", "sentence2": "text_pair"}),
    "glue/wnli": ("glue/wnli/default.yaml", {"sentence1": "text", "sentence2": "text_pair"}),
    "superglue/boolq": ("super_glue/boolq/default.yaml", {"passage": "text_pair", "question": "text"}),
    "superglue/cb": ("super_glue/cb/default.yaml", {"premise": "text", "hypothesis": "text_pair"}),
    "superglue/rte": ("super_glue/rte/default.yaml", {"premise": "text", "hypothesis": "text_pair"}),
}


def _lm_eval_task(relative: str) -> dict:
    import importlib.util

    import yaml

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lm-evaluation-harness is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "tasks" / relative
    if not path.is_file():
        pytest.skip(f"{path} not found")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


@pytest.mark.parametrize("task_id", sorted(LM_EVAL_TEMPLATES))
def test_the_copied_prompts_render_as_lm_evals_yaml(task_id):
    """lm-eval's doc_to_text (a Jinja template) on a document, and its choices in label order, are benchkit's
    query and answers on the same example."""
    jinja2 = pytest.importorskip("jinja2")
    relative, roles = LM_EVAL_TEMPLATES[task_id]
    task = _lm_eval_task(relative)
    doc = {field: f"The {field} of an example, with 'quotes' & more." for field in roles}
    context = jinja2.Template(task["doc_to_text"], keep_trailing_newline=True).render(**doc)
    continuations = [task.get("target_delimiter", " ") + choice for choice in task["doc_to_choice"]]
    query, answers = _texts(task_id, {role: doc[field] for field, role in roles.items()})
    assert query == context
    assert answers == continuations
    assert task["output_type"] == "multiple_choice"
