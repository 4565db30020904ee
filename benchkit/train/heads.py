"""Heads: how each task-type target is modelled, tokenized and decoded back to official label strings.

One registry keyed by ``TaskType.target`` ("class", "number", "tags", "choice"); the loop never asks which
type a task is, it asks its head.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

from benchkit.cards.schema import TaskCard
from benchkit.registry import Registry
from benchkit.task_types import TASK_TYPES
from benchkit.train import decoders

if TYPE_CHECKING:
    import numpy as np

IGNORE = -100  # label id the loss ignores (non-first subwords, special tokens)


@dataclass(frozen=True)
class Head:
    name: str
    build: Callable[[str, TaskCard], Any]  # (model folder, card) -> a transformers model
    encode: Callable[[dict[str, list], Any, TaskCard, int], dict[str, list]]  # batch, tokenizer, card, max_length
    decode: Callable[["np.ndarray", TaskCard, dict[str, Any]], list[Any]]  # logits, card, dataset columns -> predictions
    collate: Callable[[Any], Callable]  # tokenizer -> collator (dynamic padding)
    loss: Callable[..., Any] | None = None  # (outputs, labels, num_items_in_batch) -> per-batch mean loss; None: the model's
    keep: tuple[str, ...] = ()  # dataset columns that decoding needs besides id and tokens (kept through tokenization)
    # (model, window, stride) -> the model a run trains: the tags head reads documents longer than the window in
    # overlapping windows (train/windows.py); None: the model as built
    wrap: Callable[[Any, int, int], Any] | None = None


HEADS: Registry[Head] = Registry("head")


def pad_multiple() -> int | None:
    """Batches padded to a multiple of 8 feed a GPU's tensor cores; on a CPU that only adds work (SST-2's 13-token
    sentences would pad to 16)."""
    import torch

    return 8 if torch.cuda.is_available() else None


def objective(recipe: Any) -> str:
    """The recipe's training objective ("classifier": the task type's head; "sft": label-text generation by a
    causal LM), from a Recipe or a record's recipe dict; "classifier" where the recipe has no such field."""
    value = recipe.get("objective") if isinstance(recipe, dict) else getattr(recipe, "objective", None)
    return str(value or "classifier")


def head_for(card: TaskCard, recipe: Any = None) -> Head:
    """The card's head: its task type's, or the SFT head when the recipe's objective is "sft" (with the recipe's
    chat_template setting, and the card's prompt hash in its name: tokenization is cached under the head's name)."""
    if objective(recipe) == "sft":
        return sft_head(card, recipe)
    return HEADS.get(TASK_TYPES.get(card.type).head_name)


def sft_head(card: TaskCard, recipe: Any = None) -> Head:
    from functools import partial

    from benchkit.cards.prompts import prompt_sha256

    decoders.check_sft(card)
    setting = (recipe.get("chat_template") if isinstance(recipe, dict) else getattr(recipe, "chat_template", None))
    setting = str(setting or "auto")
    base = HEADS.get("sft")
    name = f"sft-chat_{setting}-{prompt_sha256(decoders.sft_prompt(card))[:12]}"
    return replace(base, name=name, encode=partial(decoders.sft_encode, chat_setting=setting))


def _label_maps(card: TaskCard) -> dict[str, Any]:
    names = card.labels.names if card.labels else []
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


def _texts(batch: dict[str, list]) -> tuple[list[str], list[str] | None]:
    first = batch["text"] if "text" in batch else batch["question"]
    second = batch.get("text_pair") or (batch.get("context") if "text" not in batch else None)
    return first, second


# --- sequence classification and regression -------------------------------------------------------------------

def _build_sequence(num_labels: Callable[[TaskCard], int], problem: str | None) -> Callable[[str, TaskCard], Any]:
    def build(folder: str, card: TaskCard) -> Any:
        from transformers import AutoModelForSequenceClassification

        extra = _label_maps(card) if card.labels else {}
        return AutoModelForSequenceClassification.from_pretrained(
            folder, num_labels=num_labels(card), problem_type=problem, **extra, **decoders.model_kwargs(folder))

    return build


def _encode_sequence(batch: dict[str, list], tokenizer: Any, card: TaskCard, max_length: int) -> dict[str, list]:
    first, second = _texts(batch)
    if second is not None and (separator := decoders.pair_separator(tokenizer)):
        first = [f + separator for f in first]  # a causal tokenizer that would run the two texts together
    encoded = tokenizer(first, second, truncation=True, max_length=max_length)
    encoded["labels"] = batch["label"]
    return encoded


def _padding_collator(tokenizer: Any) -> Callable:
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_multiple())


def _decode_class(logits: "np.ndarray", card: TaskCard, columns: dict[str, Any]) -> list[Any]:
    names = card.labels.names
    return [names[i] for i in logits.argmax(-1).tolist()]


def _decode_number(logits: "np.ndarray", card: TaskCard, columns: dict[str, Any]) -> list[Any]:
    return [float(v) for v in logits.reshape(len(logits), -1)[:, 0].tolist()]


HEADS.add("class", Head("class", _build_sequence(lambda c: len(c.labels.names), "single_label_classification"),
                        _encode_sequence, _decode_class, _padding_collator))
HEADS.add("number", Head("number", _build_sequence(lambda c: 1, "regression"), _encode_sequence, _decode_number,
                         _padding_collator))


# --- token classification: labels on the first subword of each word ----------------------------------------------

def _build_tokens(folder: str, card: TaskCard) -> Any:
    from transformers import AutoModelForTokenClassification

    return AutoModelForTokenClassification.from_pretrained(folder, num_labels=len(card.labels.names), **_label_maps(card))


def _encode_tokens(batch: dict[str, list], tokenizer: Any, card: TaskCard, max_length: int) -> dict[str, list]:
    # whole documents, not truncated: WindowedTagger reads what exceeds max_length in windows
    encoded = tokenizer(batch["tokens"], is_split_into_words=True, truncation=False)
    labels, first_subword = [], []
    for row, tags in enumerate(batch["tags"]):
        previous = None
        row_labels, row_first = [], []
        for word in encoded.word_ids(row):
            is_first = word is not None and word != previous
            row_labels.append(tags[word] if is_first and tags else IGNORE)
            row_first.append(word if is_first else -1)
            previous = word
        labels.append(row_labels)
        first_subword.append(row_first)
    encoded["labels"] = labels
    encoded["word_index"] = first_subword
    return encoded


def _token_collator(tokenizer: Any) -> Callable:
    from transformers import DataCollatorForTokenClassification

    inner = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=pad_multiple())

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        return inner([{k: v for k, v in f.items() if k != "word_index"} for f in features])

    return collate


def _decode_tokens(logits: "np.ndarray", card: TaskCard, columns: dict[str, Any]) -> list[Any]:
    """One tag per word (the first subword's prediction); a word without one (a tokenizer that drops it) is tagged 'O'
    (or the first tag) so lengths always match."""
    names = card.labels.names
    outside = "O" if "O" in names else names[0]
    best = logits.argmax(-1)
    predictions = []
    for row, (tokens, word_index) in enumerate(zip(columns["tokens"], columns["word_index"])):
        tags = [outside] * len(tokens)
        for position, word in enumerate(word_index):
            if word >= 0 and position < best.shape[1]:
                tags[word] = names[int(best[row, position])]
        predictions.append(tags)
    return predictions


def _windowed(model: Any, window: int, stride: int) -> Any:
    from benchkit.train.windows import WindowedTagger

    return WindowedTagger(model, window, stride)


HEADS.add("tags", Head("tags", _build_tokens, _encode_tokens, _decode_tokens, _token_collator, wrap=_windowed))


# --- multiple choice: one (context, choice) pair per candidate ---------------------------------------------------

def _build_choice(folder: str, card: TaskCard) -> Any:
    from transformers import AutoModelForMultipleChoice

    return AutoModelForMultipleChoice.from_pretrained(folder)


def _encode_choice(batch: dict[str, list], tokenizer: Any, card: TaskCard, max_length: int) -> dict[str, list]:
    contexts = [" ".join(filter(None, parts)) for parts in zip(batch.get("context") or [None] * len(batch["choices"]),
                                                               batch.get("question") or [None] * len(batch["choices"]))]
    n = len(batch["choices"][0])
    first = [c for c in contexts for _ in range(n)]
    second = [choice for choices in batch["choices"] for choice in choices]
    flat = tokenizer(first, second, truncation=True, max_length=max_length)
    encoded = {key: [values[i * n:(i + 1) * n] for i in range(len(contexts))] for key, values in flat.items()}
    encoded["labels"] = batch["label"]
    return encoded


def _choice_collator(tokenizer: Any) -> Callable:
    import torch

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(features[0]["input_ids"])
        flat = [{k: f[k][i] for k in f if k != "labels"} for f in features for i in range(n)]
        batch = tokenizer.pad(flat, padding=True, pad_to_multiple_of=pad_multiple(), return_tensors="pt")
        batch = {k: v.view(len(features), n, -1) for k, v in batch.items()}
        if "labels" in features[0]:  # absent when predicting a hidden-label test split
            batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch

    return collate


HEADS.add("choice", Head("choice", _build_choice, _encode_choice, _decode_class, _choice_collator))


# --- candidate choice: a per-example list of candidates (ReCoRD), each scored against the context --------------
# The model is the multiple-choice architecture (one score per candidate); batches pad the candidate axis by
# repeating a row's first candidate, and the labels say which positions are gold (1), other candidates (0) or
# padding (-1), so the loss is -log P(any gold) over the row's real candidates only.

def _candidate_texts(batch: dict[str, list], card: TaskCard) -> tuple[list[str], list[str], list[int]]:
    spec = card.lists.get("candidates")
    fill = spec.fill if spec is not None else None
    questions = batch.get("question") or [""] * len(batch["candidates"])
    first: list[str] = []
    second: list[str] = []
    counts: list[int] = []
    for context, question, candidates in zip(batch["context"], questions, batch["candidates"]):
        for candidate in candidates:
            first.append(context)
            # ReCoRD's query holds @placeholder: each candidate is written into it; otherwise it follows the question
            second.append(question.replace(fill, candidate) if fill and fill in question
                          else " ".join(filter(None, (question, candidate))))
        counts.append(len(candidates))
    return first, second, counts


def _encode_candidates(batch: dict[str, list], tokenizer: Any, card: TaskCard, max_length: int) -> dict[str, list]:
    first, second, counts = _candidate_texts(batch, card)
    flat = tokenizer(first, second, truncation=True, max_length=max_length)
    encoded: dict[str, list] = {key: [] for key in flat}
    offset = 0
    for count in counts:
        for key, values in flat.items():
            encoded[key].append(values[offset:offset + count])
        offset += count
    answers = batch.get("answers") or [[] for _ in counts]
    encoded["labels"] = [[1.0 if c in set(golds) else 0.0 for c in candidates]
                         for candidates, golds in zip(batch["candidates"], answers)]
    return encoded


def _candidate_collator(tokenizer: Any) -> Callable:
    import torch

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        width = max(len(f["input_ids"]) for f in features)
        keys = [k for k in features[0] if k != "labels"]
        flat = [{k: f[k][min(i, len(f["input_ids"]) - 1)] for k in keys} for f in features for i in range(width)]
        batch = tokenizer.pad(flat, padding=True, pad_to_multiple_of=pad_multiple(), return_tensors="pt")
        batch = {k: v.view(len(features), width, -1) for k, v in batch.items()}
        if "labels" in features[0]:
            batch["labels"] = torch.tensor([list(f["labels"]) + [-1.0] * (width - len(f["labels"])) for f in features])
        return batch

    return collate


def _candidate_loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
    """Mean over rows of -log(sum of the gold candidates' probabilities), padding positions left out."""
    import torch

    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    floor = torch.finfo(logits.dtype).min
    everything = torch.logsumexp(logits.masked_fill(labels < 0, floor), dim=-1)
    gold = torch.logsumexp(logits.masked_fill(labels <= 0, floor), dim=-1)
    has_gold = (labels > 0).any(dim=-1)
    return (everything - gold)[has_gold].mean() if has_gold.any() else logits.sum() * 0.0


def _decode_candidates(logits: "np.ndarray", card: TaskCard, columns: dict[str, Any]) -> list[Any]:
    """The highest-scoring candidate string of each row (padding positions, beyond its candidates, ignored)."""
    out = []
    for row, candidates in zip(logits, columns["candidates"]):
        scores = row[:len(candidates)]
        out.append(candidates[int(scores.argmax())])
    return out


HEADS.add("candidate", Head("candidate", _build_choice, _encode_candidates, _decode_candidates, _candidate_collator,
                            loss=_candidate_loss, keep=("candidates",)))


# --- span classification: [CLS] plus the mean vector of each marked span (WiC, WSC) ----------------------------

def _build_spans(folder: str, card: TaskCard) -> Any:
    from benchkit.train.span_model import load

    return load(folder, list(card.labels.names), sum(len(spec.marks) for spec in card.inputs.values()))


def _encode_spans(batch: dict[str, list], tokenizer: Any, card: TaskCard, max_length: int) -> dict[str, list]:
    """Each mark's [first, last] token: the tokens overlapping its characters (markers included) in its text."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{card.id}: span classification needs a fast tokenizer (character offsets of tokens)")
    first, second = _texts(batch)
    encoded = tokenizer(first, second, truncation=True, max_length=max_length, return_offsets_mapping=True)
    tokens = []
    for row, spans in enumerate(batch["spans"]):
        sequence = encoded.sequence_ids(row)
        offsets = encoded["offset_mapping"][row]
        row_tokens = []
        for which, start, end in spans:
            inside = [t for t, (s, (a, b)) in enumerate(zip(sequence, offsets)) if s == which and a < end and b > start]
            row_tokens.append([inside[0], inside[-1]] if inside else [0, 0])  # cut off by max_length: [CLS] stands in
        tokens.append(row_tokens)
    del encoded["offset_mapping"]
    encoded["span_tokens"] = tokens
    encoded["labels"] = batch["label"]
    return encoded


def _span_collator(tokenizer: Any) -> Callable:
    import torch

    inner = _padding_collator(tokenizer)

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        spans = torch.tensor([f["span_tokens"] for f in features], dtype=torch.long)
        batch = inner([{k: v for k, v in f.items() if k != "span_tokens"} for f in features])
        batch["span_tokens"] = spans
        return batch

    return collate


HEADS.add("span", Head("span", _build_spans, _encode_spans, _decode_class, _span_collator))


# --- SFT (decoder-only models): the label's verbaliser after the card's prompt, scored per label ---------------------
# (train/decoders.py: the encoding, the collator, the model that trains on the gold answer and scores every label)

HEADS.add("sft", Head("sft", decoders.sft_build, decoders.sft_encode, _decode_class, decoders.sft_collator,
                      wrap=decoders.sft_wrap))
