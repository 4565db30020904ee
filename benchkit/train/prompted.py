"""One zero- or few-shot run: a generative language model asked with the card's prompt, no training.

The same run as a fine-tuning run everywhere else: the task's frames, its splits (dev reported, test predicted;
labelled test splits reported), predictions in file order, the card's metrics with a bootstrap CI, a ``RunRecord``
(with ``prompting``: mode, shots, prompt and its hash, how answers were read, truncation, parse shares).

How a task is answered follows its target (``TaskType.target``) and the prompt's ``answer``:
- class, choice, candidate: the log-likelihood of each answer after the context (``lm_scoring.score_choices``: the
  context encoded once, every answer scored from its cached state); the prediction is the largest sum
  (lm-evaluation-harness's acc); acc_norm (divided by the answer's characters) is recorded beside it. With
  ``answer: generate`` the greedy answer is parsed to a label (``answers.parse_label``).
- number: the expected value over the prompt's numeric verbalisers, or a number parsed from the greedy answer.
- tags: the entities generated as JSON, mapped back to one tag per token (``answers.parse_entities``).

Few-shot examples come from train, stratified by label, drawn per example from the run's seed and the example's
id (so each seed draws other shots, and a rerun the same). A prompt longer than the model's window loses shots,
last first, never its input; an input that does not fit even alone is bad input, raised before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import __version__
from benchkit.cards.prompts import (
    Prompt,
    choice_texts,
    context_text,
    example_text,
    format_number,
    instruction_text,
    query_text,
    tag_types,
)
from benchkit.cards.schema import TaskCard
from benchkit.contracts.run_records import (
    AnswerStats,
    CardRef,
    Costs,
    MethodRef,
    ModelRef,
    Prompting,
    Provenance,
    RunRecord,
    Selection,
    SplitResult,
    write_predictions,
)
from benchkit.errors import BenchkitError, Problem
from benchkit.scoring.split import evaluate_split
from benchkit.scoring.task import gold_groups, gold_targets
from benchkit.task_types import TASK_TYPES
from benchkit.train.lm_backends import Engine, window_of
from benchkit.train.memory import PeakMemory
from benchkit.train.spec import Progress, RunSpec

log = logging.getLogger("benchkit.run")

PROMPTED_MODES = ("zero-shot", "few-shot")
FLAG_SHARE = 0.10  # answers needing the fallback or unparsed: a score with this share or more is flagged


@dataclass
class Asked:
    """One example's prompt: its context, the answers scored (loglikelihood) and how many shots it kept."""
    context: str
    answers: list[str]
    shots: int
    row: dict[str, Any]


@dataclass
class SplitAnswers:
    predictions: list[Any]
    acc_norm_predictions: list[Any] | None = None
    stats: dict[str, int] = field(default_factory=dict)


def answer_mode(prompt: Prompt, target: str) -> str:
    """How the task is answered: the prompt's choice, else generation for tags and for numbers without numeric
    verbalisers, else log-likelihood."""
    if prompt.answer is not None:
        return prompt.answer
    if target == "tags" or (target == "number" and not prompt.numbers):
        return "generate"
    return "loglikelihood"


def check_answerable(prompt: Prompt, card: TaskCard) -> str:
    """The answer mode, or bad input when the prompt cannot answer this card that way."""
    target = TASK_TYPES.get(card.type).target
    mode = answer_mode(prompt, target)
    where = {"field": "prompt", "file": None}
    if target == "tags" and mode != "generate":
        raise BenchkitError(Problem(f"{card.id}: tagging is answered by generating the entities", **where,
                                    hint="set prompt.answer: generate (or leave it out)"))
    if target == "class" and not prompt.verbalizers:
        raise BenchkitError(Problem(f"{card.id}: the prompt has no verbalizers", **where,
                                    hint="give each label its text: prompt.verbalizers: {label: text, ...}"))
    if target == "number" and mode == "loglikelihood" and not prompt.numbers:
        raise BenchkitError(Problem(f"{card.id}: scoring a regression needs numeric verbalisers", **where,
                                    hint="set prompt.numbers: [0, 1, 2, 3, 4, 5], or prompt.answer: generate"))
    if target in ("choice", "candidate") and mode != "loglikelihood":
        raise BenchkitError(Problem(f"{card.id}: a {target} task is answered by scoring its choices", **where,
                                    hint="set prompt.answer: loglikelihood (or leave it out)"))
    return mode


# -- shots -------------------------------------------------------------------------------------------------------


def _seeded(seed: int, key: str) -> random.Random:
    """A generator per (seed, example): stable across processes (Python's hash() of a string is not)."""
    return random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big"))


def _stratum(row: dict[str, Any], target: str) -> str:
    return str(row.get("label")) if target in ("class", "choice") else ""


class ShotPool:
    """The train rows shots are drawn from, grouped by label once (drawing then costs O(k) per example)."""

    def __init__(self, pool: list[dict[str, Any]], target: str):
        self.strata: dict[str, list[dict[str, Any]]] = {}
        for row in pool:
            self.strata.setdefault(_stratum(row, target), []).append(row)
        self.names = sorted(self.strata)
        self.size = len(pool)

    def draw(self, k: int, seed: int, key: str) -> list[dict[str, Any]]:
        """k shot examples for one prompt: labels taken in turn (in a seeded order), each a seeded draw without
        replacement from that label's rows; unlabelled targets draw plainly."""
        if k == 0 or not self.size:
            return []
        rng = _seeded(seed, key)
        order = list(self.names)
        rng.shuffle(order)
        counts = dict.fromkeys(order, 0)
        taken = 0
        while taken < min(k, self.size):  # round robin over the labels that have rows left
            for name in order:
                if taken < k and counts[name] < len(self.strata[name]):
                    counts[name] += 1
                    taken += 1
        shots = [row for name in order for row in rng.sample(self.strata[name], counts[name])]
        rng.shuffle(shots)  # labels interleaved, not in a fixed cycle
        return shots


def draw_shots(pool: list[dict[str, Any]], k: int, seed: int, key: str, target: str) -> list[dict[str, Any]]:
    """One prompt's shots from ``pool`` (see ``ShotPool.draw``)."""
    return ShotPool(pool, target).draw(k, seed, key)


# -- the texts of one example ------------------------------------------------------------------------------------


class Asker:
    """The card's prompt applied to rows: the gold answer of a shot, the scored answers, the whole context."""

    def __init__(self, prompt: Prompt, card: TaskCard, chat: Any | None):
        self.prompt = prompt
        self.card = card
        self.target = TASK_TYPES.get(card.type).target
        self.labels = card.labels.names if card.labels else None
        self.instruction = instruction_text(prompt, self.labels)
        self.chat = chat  # the tokenizer whose chat template wraps the prompt, or None

    def type_words(self) -> dict[str, str]:
        types = tag_types(self.labels or [])
        return {t: (self.prompt.verbalizers or {}).get(t, t) for t in types}

    def gold_answer(self, row: dict[str, Any]) -> str:
        target, label = self.target, row.get("tags" if self.target == "tags" else "label")
        if target == "class":
            return (self.prompt.verbalizers or {})[label]
        if target == "choice":
            return choice_texts(self.prompt, target, self.labels, row)[(self.labels or []).index(label)]
        if target == "candidate":
            return choice_texts(self.prompt, "choice", None, {**row, "choices": list(label)[:1]})[0]
        if target == "number":
            numbers = self.prompt.numbers
            if numbers:  # the nearest numeric verbaliser, as the model is asked to answer
                return format_number(min(numbers, key=lambda n: abs(n - float(label))))
            return format_number(round(float(label), 1))
        from benchkit.train.answers import entities_json

        return entities_json(list(row["tokens"]), list(label), self.card.labels.scheme or "IOB2", self.type_words())

    def answers(self, row: dict[str, Any], mode: str) -> list[str]:
        if mode != "loglikelihood":
            return []
        return [self.delimiter + text for text in choice_texts(self.prompt, self.target, self.labels, row)]

    @property
    def delimiter(self) -> str:
        """Between the context and a scored answer: none after a chat template's assistant turn."""
        return "" if self.chat is not None else self.prompt.target_delimiter

    def context(self, row: dict[str, Any], shots: list[dict[str, Any]]) -> str:
        examples = [example_text(self.prompt, query_text(self.prompt, shot), self.gold_answer(shot)) for shot in shots]
        text = context_text(self.prompt, self.instruction, examples, query_text(self.prompt, row))
        if self.chat is None:
            return text
        return self.chat.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                             add_generation_prompt=True)


# -- the run -----------------------------------------------------------------------------------------------------


def use_chat_template(tokenizer: Any, setting: str, model_label: str) -> bool:
    has = bool(getattr(tokenizer, "chat_template", None))
    if setting == "on" and not has:
        raise BenchkitError(Problem(f"model {model_label} has no chat template", field="chat_template",
                                    hint="--set chat_template=auto (use one when the tokenizer has it) or off"))
    return has and setting != "off"


@dataclass
class Encoded:
    context: list[int]
    answers: list[list[int]]
    shots: int
    chars: list[int] = field(default_factory=list)  # each answer's length in characters (acc_norm's divisor)


def fit_window(asker: Asker, tokenizer: Any, row: dict[str, Any], shots: list[dict[str, Any]], mode: str,
               window: int, new_tokens: int, add_bos: bool | None) -> Encoded | None:
    """The example's context and answers in tokens, with as many of its shots as fit the window (dropped last
    first); None when the input does not fit even without shots."""
    from benchkit.train.lm_scoring import encode_context, encode_pair

    answers = asker.answers(row, mode)
    for kept in range(len(shots), -1, -1):
        context = asker.context(row, shots[:kept])
        if answers:
            pairs = [encode_pair(tokenizer, context, answer, add_bos) for answer in answers]
            context_ids = pairs[0][0]
            answer_ids = [p[1] for p in pairs]
            longest = max(len(p[0]) + len(p[1]) for p in pairs)
        else:
            context_ids, answer_ids = encode_context(tokenizer, context, add_bos), []
            longest = len(context_ids) + new_tokens
        if longest <= window:
            return Encoded(context_ids, answer_ids, kept, [len(a) - len(asker.delimiter) for a in answers])
    return None


def _new_tokens(asker: Asker, row: dict[str, Any], window: int) -> int:
    """Generation's bound: the prompt's; for tagging enough for JSON naming every word (rounded up to a power of
    two, so a split generates in a few groups of one bound, and at most half the window)."""
    if asker.target != "tags":
        return asker.prompt.max_new_tokens
    wanted = max(asker.prompt.max_new_tokens, 12 * len(row["tokens"]) + 8)
    return min(1 << (wanted - 1).bit_length(), max(asker.prompt.max_new_tokens, window // 2))


def _fallback_label(card: TaskCard, pool: list[dict[str, Any]]) -> Any:
    """The prediction for an answer that could not be parsed: the majority label of train (a guess that
    carries no information), counted as unparsed."""
    from collections import Counter

    labels = [row.get("label") for row in pool if row.get("label") is not None]
    return Counter(labels).most_common(1)[0][0] if labels else (card.labels.names[0] if card.labels else None)


def read_answers(asker: Asker, mode: str, encoded: list[Encoded], rows: list[dict[str, Any]], engine: Engine,
                 pool: list[dict[str, Any]]) -> tuple[SplitAnswers, int]:
    """Predictions for one split, and the tokens run through the model."""
    from benchkit.train import answers as parse
    from benchkit.train.lm_scoring import Usage

    target, labels = asker.target, asker.labels
    usage = Usage()
    if mode == "loglikelihood":
        scores = engine.score([(e.context, e.answers) for e in encoded], [e.chars for e in encoded], usage)
        tokens = usage.tokens
        predictions, normed = [], []
        for row, example_scores in zip(rows, scores):
            sums = [s.logprob for s in example_scores]
            norms = [s.logprob / max(s.chars, 1) for s in example_scores]
            if target == "number":
                predictions.append(parse.expected_value(sums, list(asker.prompt.numbers or [])))
                continue
            options = labels if target in ("class", "choice") else list(row["candidates"])
            predictions.append(options[max(range(len(sums)), key=sums.__getitem__)])
            normed.append(options[max(range(len(norms)), key=norms.__getitem__)])
        return SplitAnswers(predictions, normed if target != "number" else None), tokens
    bounds = [_new_tokens(asker, row, engine.window) for row in rows]
    texts = [""] * len(rows)
    for bound in sorted(set(bounds)):  # each group under the bound its prompts were fitted with: none is cut
        group = [i for i, b in enumerate(bounds) if b == bound]
        for i, text in zip(group, engine.generate([encoded[i].context for i in group], bound,
                                                  list(asker.prompt.stop), usage)):
            texts[i] = text
    tokens = usage.tokens
    stats: dict[str, int] = {}
    predictions = []
    fallback = _fallback_label(asker.card, pool) if target == "class" else None
    for row, text in zip(rows, texts):
        if target == "class":
            parsed = parse.parse_label(text, asker.prompt.verbalizers or {})
            value, how = (parsed.value if parsed.value is not None else fallback), parsed.how
        elif target == "number":
            parsed = parse.parse_number(text)
            low, high = asker.card.value_range or (0.0, 1.0)
            value = parsed.value if parsed.value is not None else (low + high) / 2
            how = parsed.how
        else:
            value, how = parse.parse_entities(text, list(row["tokens"]), asker.card.labels.scheme or "IOB2",
                                              asker.type_words(), list(labels or []))
        stats[how] = stats.get(how, 0) + 1
        predictions.append(value)
    return SplitAnswers(predictions, None, stats), tokens


def _answer_stats(counts: dict[str, int]) -> AnswerStats:
    total = sum(counts.values()) or 1
    share = (counts.get("edit_distance", 0) + counts.get("unparsed", 0)) / total
    return AnswerStats(counts=dict(sorted(counts.items())), fallback_share=round(share, 4), flagged=share >= FLAG_SHARE)


def prepare_split(asker: Asker, mode: str, frame: Any, pool: ShotPool, k: int, spec: RunSpec,
                  split: str, tokenizer: Any, window: int, add_bos: bool | None
                  ) -> tuple[list[dict], list[Encoded], list[str]]:
    """The split's rows, each encoded with the shots that fit, and the ids of rows whose input alone does not fit."""
    from benchkit.loading import prompt_rows

    rows = prompt_rows(frame)
    encoded: list[Encoded] = []
    too_long: list[str] = []
    for row in rows:
        shots = pool.draw(k, spec.seed, f"{split}:{row['id']}")
        fitted = fit_window(asker, tokenizer, row, shots, mode, window, _new_tokens(asker, row, window), add_bos)
        if fitted is None:
            too_long.append(str(row["id"]))
        else:
            encoded.append(fitted)
    return rows, encoded, too_long


def window_problem(card: TaskCard, window: int, too_long: dict[str, list[str]]) -> Problem:
    counts = ", ".join(f"{split}: {len(ids)}" for split, ids in too_long.items())
    first = next(f"{split} id {ids[0]}" for split, ids in too_long.items())
    return Problem(f"{sum(map(len, too_long.values()))} example(s) of {card.id} ({counts}) do not fit the model's "
                   f"window of {window} tokens even without shots (e.g. {first}); shots are dropped first, the input "
                   "is never cut", field="--model",
                   hint="use a model with a longer context window, or a shorter prompt (prompt.input, "
                        "prompt.instruction)")


def run_prompted(spec: RunSpec, progress: Progress | None = None) -> RunRecord:
    """Ask the model every evaluation split (everything is encoded and checked before anything is written), write
    the predictions, score them, and return the record."""
    import torch

    from benchkit.train import frames as frame_cache
    from benchkit.train.inference import quiet_libraries
    from benchkit.train.lm_backends import LM_BACKENDS

    quiet_libraries()
    card, recipe = spec.card, spec.recipe
    prompt: Prompt = spec.extra["prompt"]
    k = int(spec.extra.get("shots", 0))
    mode = check_answerable(prompt, card)
    frame_cache.retain({card.id})
    frames = frame_cache.frames(card, spec.data_dir)
    train_split = next((s for s in frames if s.startswith("train")), None)
    labelled = [s for s in frames if not s.startswith("train") and card.splits[s].labels == "present"]
    evaluated = [s for s in frames if not s.startswith("train")]
    reports_test = any(s.startswith("test") for s in labelled)
    reported = [s for s in labelled if s.startswith("test")] if reports_test else [s for s in labelled
                                                                                    if s.startswith("dev")]
    from benchkit.loading import prompt_rows

    pool = prompt_rows(frames[train_split]) if train_split is not None else []
    engine = LM_BACKENDS.get(recipe.backend)(str(spec.model.path), recipe.eval_batch_size, spec.seed)
    tokenizer, window, device = engine.tokenizer, engine.window, engine.device
    chat = use_chat_template(tokenizer, recipe.chat_template, spec.model.name)
    asker = Asker(prompt, card, tokenizer if chat else None)
    tokenizer.model_max_length = 10**9  # lengths were checked against the window, not warned about
    add_bos = False if chat else None  # a chat template writes its own BOS
    shot_pool = ShotPool(pool, asker.target)
    prepared = {split: prepare_split(asker, mode, frames[split], shot_pool, k, spec, split, tokenizer, window,
                                     add_bos) for split in evaluated}
    too_long = {split: ids for split, (_, _, ids) in prepared.items() if ids}
    if too_long:  # the preflight refuses these before the grid; a direct call refuses them before writing
        raise BenchkitError(window_problem(card, window, too_long))
    cuda = device == "cuda"
    spec.folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, SplitResult] = {}
    dev_results: dict[str, SplitResult] = {}
    predictions: dict[str, str] = {}
    acc_norm: dict[str, float] = {}
    parse_stats: dict[str, AnswerStats] = {}
    truncated: dict[str, int] = {}
    tokens = 0
    examples = 0
    if progress:
        progress.start(len(evaluated), f"asking ({mode}, {k}-shot)")
    started = time.perf_counter()
    with PeakMemory(cuda) as memory, torch.inference_mode():
        for done, split in enumerate(evaluated, start=1):
            rows, encoded, _ = prepared[split]
            answered, used = read_answers(asker, mode, encoded, rows, engine, pool)
            tokens += used
            examples += len(rows)
            cut = sum(1 for e in encoded if e.shots < k)
            if cut:
                truncated[split] = cut
            path = Path("predictions") / f"{split}.jsonl"
            write_predictions(spec.folder / path, list(frames[split]["id"]), answered.predictions)
            predictions[split] = str(path)
            if answered.stats:
                parse_stats[split] = _answer_stats(answered.stats)
            if split in labelled:
                gold = gold_targets(card, frames[split])
                evaluation = evaluate_split(card, split, gold, answered.predictions,
                                            resamples=recipe.bootstrap_resamples, seed=spec.seed,
                                            groups=gold_groups(card, frames[split]))
                result = SplitResult(examples=evaluation.examples, metrics=evaluation.metrics, score=evaluation.score,
                                     ci=evaluation.ci)
                (results if split in reported else dev_results)[split] = result
                if answered.acc_norm_predictions is not None:
                    hits = [p in g if isinstance(g, (list, tuple)) else p == g
                            for p, g in zip(answered.acc_norm_predictions, gold) if g is not None]
                    acc_norm[split] = round(sum(hits) / max(len(hits), 1), 6)
            if progress:
                progress.update(done, float(done))
        seconds = time.perf_counter() - started
    if progress:
        progress.stop()
    fewest = min((e.shots for _, encoded, _ in prepared.values() for e in encoded), default=k)
    prompting = Prompting(mode="few-shot" if spec.mode == "few-shot" else "zero-shot", shots=k,
                          prompt=prompt.name or card.id, prompt_sha256=spec.extra["prompt_sha256"],
                          prompt_source=prompt.source, answer=mode, acc_norm=acc_norm, chat_template=chat,
                          backend=engine.name, window=window, truncated=truncated,
                          fewest_shots=fewest if truncated else None, parse=parse_stats,
                          flagged=any(s.flagged for s in parse_stats.values()))
    return _record(spec, frames, engine, memory, seconds, tokens, examples, results, dev_results, predictions,
                   prompting, len(pool), evaluated[0] if evaluated else "dev", recipe.eval_batch_size)


def _record(spec: RunSpec, frames: dict[str, Any], engine: Engine, memory: PeakMemory, seconds: float,
            tokens: int, examples: int, results: dict[str, SplitResult], dev_results: dict[str, SplitResult],
            predictions: dict[str, str], prompting: Prompting, train_rows: int, first_split: str,
            batch_size: int | None) -> RunRecord:
    from benchkit.cards.identity import card_fields
    from benchkit.environment import git_state, hardware, library_versions, now
    from benchkit.loading import to_dataset_dict
    from benchkit.train.features import rows_fingerprint

    commit, dirty = git_state()
    precision, device = engine.precision, engine.device
    costs = Costs(trainable_parameters=0, total_parameters=engine.parameters,
                  peak_memory_bytes=memory.peak, peak_memory_kind=memory.kind, train_seconds=0.0,
                  eval_seconds=round(seconds, 3), train_samples=0, epochs=0.0, train_samples_per_second=0.0,
                  optimizer_state_bytes=0, inference_ms_per_example=round(1000 * seconds / max(examples, 1), 3),
                  inference_batch_size=batch_size or (64 if device == "cuda" else 16),
                  inference_split=first_split, inference_sample_seed=None,
                  inference_precision=precision, tokens_processed=tokens,
                  examples_per_second=round(examples / max(seconds, 1e-9), 3))
    data_files = {split: entry.model_copy(update={"rows": len(frames[split])}) if split in frames else entry
                  for split, entry in spec.data.items()}
    provenance = Provenance(benchkit_version=__version__, git_commit=commit, git_dirty=dirty, data=data_files,
                            rows={s: rows_fingerprint(d) for s, d in to_dataset_dict(spec.card, frames).items()},
                            card=card_fields(spec.card), libraries=library_versions(), created=now(),
                            hardware={**hardware(), "precision": precision, "device": device, "processes": 1})
    score = sum(r.score for r in results.values()) / len(results) if results else float("nan")
    return RunRecord(
        config_hash=spec.config_hash, suite=spec.suite, task=CardRef(id=spec.card.id, version=spec.card.version),
        model=ModelRef(name=spec.model.name, source=spec.model.source, revision=spec.model.revision,
                       sha256=spec.model.sha256),
        method=MethodRef(name=spec.method, options=spec.method_options), seed=spec.seed,
        recipe=spec.recipe.model_dump(), recipe_sources=spec.recipe_sources, primary_metric=spec.card.primary_metric,
        results=results, score=score, dev_results=dev_results, selected_epoch=None,
        selection=Selection(rule="none", train_rows=train_rows), predictions=predictions, costs=costs,
        provenance=provenance, prompting=prompting, trial=spec.extra.get("trial"))


# -- before the grid: what is bad input, found before anything is written ----------------------------------------


@dataclass(frozen=True)
class PromptedRun:
    """What the plan knows of a prompted run: its method's name and options (a leaderboard row each), the prompt."""
    method: str
    options: dict[str, Any]
    prompt: Prompt
    prompt_sha256: str
    shots: int
    folder: str


def plan_prompted(card: TaskCard, model: Any, mode: str, shots: int | None) -> PromptedRun:
    """Check a (task, model, mode) before planning it: the model is a causal language model, the card has a
    prompt that can answer it, the mode's shots."""
    from benchkit.cards.prompts import prompt_sha256, resolve_prompt
    from benchkit.cards.roots import card_roots
    from benchkit.train.decoders import is_causal

    if not is_causal(str(model.path)):
        raise BenchkitError(Problem(f"model {model.name} is not a causal (decoder-only) language model: --mode {mode} "
                                    "asks a model to continue a prompt", field="--model",
                                    hint="give a causal model (Llama, Qwen, Mistral, GPT-2, ...), or fine-tune this "
                                         "one: --mode fine-tune"))
    prompt = resolve_prompt(card, card_roots())
    check_answerable(prompt, card)
    k = 0 if mode == "zero-shot" else (prompt.shots if shots is None else shots)
    if mode == "few-shot" and k == 0:
        raise BenchkitError(Problem(f"few-shot with 0 shots for {card.id}", field="shots",
                                    hint="--set shots=K with K >= 1, or --mode zero-shot"))
    options = {"shots": k} if mode == "few-shot" else {}
    return PromptedRun(mode, options, prompt, prompt_sha256(prompt), k, "zero-shot" if k == 0 else f"{k}-shot")


def preflight(plan: list[RunSpec]) -> list[Problem]:
    """After the data check (frames cached): each prompted run's shots fit its train split, its chat-template
    setting its tokenizer, and every prompt its model's window (shots dropped, never the input). Bad input
    raises before any run starts; prompts that lose shots are returned as warnings."""
    from transformers import AutoConfig, AutoTokenizer

    from benchkit.loading import prompt_rows
    from benchkit.train import frames as frame_cache
    from benchkit.train.inference import quiet_libraries

    quiet_libraries()
    problems: list[Problem] = []
    warnings: list[Problem] = []
    checked: set[tuple[str, str, int, str]] = set()
    for spec in plan:
        if spec.mode not in PROMPTED_MODES:
            continue
        key = (spec.card.id, str(spec.model.path), int(spec.extra["shots"]), spec.recipe.chat_template)
        if key in checked:
            continue
        checked.add(key)
        card, k = spec.card, int(spec.extra["shots"])
        if spec.recipe.backend == "vllm":
            from benchkit.train import vllm_backend

            if not vllm_backend.available():
                problems.append(Problem("the vllm backend needs vLLM installed and a CUDA GPU", field="backend",
                                        hint="pip install vllm on a GPU machine, or --set backend=transformers"))
                continue
        frames = frame_cache.frames(card, spec.data_dir)
        train_split = next((s for s in frames if s.startswith("train")), None)
        pool = prompt_rows(frames[train_split]) if train_split is not None else []
        if k > len(pool):
            problems.append(Problem(f"{k} shots asked for {card.id}, whose train split has {len(pool)} example(s)",
                                    field="shots", hint=f"--set shots={len(pool)} or fewer"))
            continue
        tokenizer = AutoTokenizer.from_pretrained(str(spec.model.path))
        chat = use_chat_template(tokenizer, spec.recipe.chat_template, spec.model.name)

        window = window_of(AutoConfig.from_pretrained(str(spec.model.path)), tokenizer)  # no weights loaded
        tokenizer.model_max_length = 10**9  # lengths are checked against the window here, not warned about
        asker = Asker(spec.extra["prompt"], card, tokenizer if chat else None)
        mode = check_answerable(spec.extra["prompt"], card)
        too_long, cut, fewest, asked = {}, 0, k, 0
        shot_pool = ShotPool(pool, asker.target)
        for split in (s for s in frames if not s.startswith("train")):
            _, encoded, ids = prepare_split(asker, mode, frames[split], shot_pool, k, spec, split, tokenizer, window,
                                            False if chat else None)
            if ids:
                too_long[split] = ids
            cut += sum(1 for e in encoded if e.shots < k)
            fewest = min([fewest, *(e.shots for e in encoded)])
            asked += len(encoded)
        if too_long:
            problems.append(window_problem(card, window, too_long))
        elif cut:
            warnings.append(Problem(f"{card.id}: {cut} of {asked} prompts lose shots to fit {spec.model.name}'s window "
                                    f"of {window} tokens (the fewest kept: {fewest} of {k}); the last shots go first, "
                                    "the input is never cut, and the record says how many", field="shots",
                                    severity="warning", hint="fewer shots (--set shots=K) or a model with a longer "
                                                             "window"))
    if problems:
        raise BenchkitError(*problems)
    return warnings
