"""What is specific to decoder-only (causal) language models fine-tuned with the existing methods: Llama, Qwen,
Mistral, GPT-2 and their kin.

Two objectives (the recipe's ``objective``):

* ``classifier``: transformers' ``*ForSequenceClassification`` over the causal checkpoint (a ``score`` layer on the
  last token). Its forward takes the rightmost token that is not the padding token, which handles right and left
  padding alike; a tokenizer without a padding token (Llama's, Mistral's, GPT-2's) gets its EOS token as one, and
  the model's ``config.pad_token_id`` is that same id (``pad_token_id``), saved with the run's model. Batches are
  padded on the right, except for prompt tuning: peft passes the soft prompt as ``inputs_embeds``, where the
  model cannot see padding and takes the last position, so those batches are padded on the left. Classification
  and regression heads only: tagging windows assume [CLS]/[SEP] framing and multiple choice has no causal
  architecture (``check_head``, before any training).
* ``sft``: the model learns to write the label's verbaliser after the card's prompt (``cards.prompts``): causal LM
  loss on the answer tokens only; it predicts by scoring each label's verbaliser log-likelihood after the prompt
  (``sft_*`` below; the head is ``heads.HEADS["sft"]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem

CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
# heads a causal model trains with (the SFT objective is its own head)
CAUSAL_HEADS = ("class", "number", "sft")
PAIR_SEPARATOR = "\n"  # between a pair's texts when the tokenizer's pair template puts nothing between them


# -- is a checkpoint a decoder-only model? ------------------------------------------------------------------------


def _config(path: str | Path) -> dict[str, Any] | None:
    folder = Path(str(path)).expanduser()
    file = folder / "config.json"
    if file.is_file():
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    adapter = folder / "adapter_config.json"  # a run's saved adapter: its base model decides
    if adapter.is_file():
        try:
            base = json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (OSError, ValueError):
            return None
        return _config(base) if base and Path(base).expanduser().is_dir() else None
    if folder.exists():
        return None
    try:  # a Hub id in the local cache
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(str(path)).to_dict()
    except Exception:  # noqa: BLE001 - not a model we can read: not causal
        return None


def config_is_causal(config: dict[str, Any]) -> bool:
    """A decoder-only model's config: not an encoder-decoder; its architectures end in ForCausalLM/LMHeadModel, or
    its model type is in transformers' causal-LM mapping and not in the masked-LM one (BERT and RoBERTa have causal
    heads too, and are encoders)."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if config.get("is_encoder_decoder"):
        return False
    model_type = config.get("model_type") or ""
    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return False
    if any(str(a).endswith(CAUSAL_SUFFIXES) for a in config.get("architectures") or []):
        return True
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


def is_causal(path: str | Path) -> bool:
    """Whether the model at ``path`` (a folder, a run's saved model or adapter, or a cached Hub id) is decoder-only."""
    config = _config(path)
    return config is not None and config_is_causal(config)


def check_head(model_path: str | Path, head: str, card_id: str) -> None:
    """Before any training: a causal model trains classification and regression heads (and SFT), nothing else."""
    if head in CAUSAL_HEADS or not is_causal(model_path):
        return
    why = {"tags": "token tagging reads documents in [CLS] ... [SEP] windows and each token would see only its left "
                   "context",
           "choice": "transformers has no multiple-choice architecture for decoder-only models",
           "candidate": "transformers has no multiple-choice architecture for decoder-only models",
           "span": "the span head pools a [CLS] vector that a decoder-only model does not have"}.get(
        head, f"the {head} head is built for encoders")
    raise BenchkitError(Problem(f"{card_id} uses the {head} head, which a decoder-only model ({model_path}) cannot "
                                f"train: {why}", field="--model",
                                hint="use an encoder model (BERT, RoBERTa, ...) for this task, or a decoder-only "
                                     "model on a classification or regression task"))


# -- padding -------------------------------------------------------------------------------------------------------


def pad_token_id(folder: str | Path, tokenizer: Any = None) -> int | None:
    """The padding id a causal model and its batches share: the tokenizer's own padding token, else the config's
    ``pad_token_id``, else the EOS token (the usual choice for Llama, Mistral and GPT-2)."""
    if tokenizer is None:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except Exception:  # noqa: BLE001 - an adapter-only folder, say: the config decides
            tokenizer = None
    if tokenizer is not None and tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    config = _config(folder) or {}
    text = config.get("text_config") or {}
    for value in (config.get("pad_token_id"), text.get("pad_token_id"),
                  tokenizer.eos_token_id if tokenizer is not None else None,
                  config.get("eos_token_id"), text.get("eos_token_id")):
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            return int(value)
    return None


def prepare_tokenizer(tokenizer: Any, folder: str | Path, left: bool = False) -> Any:
    """A causal model's tokenizer ready for batching: a padding token (``pad_token_id``) and the padding side
    (right; ``left`` for prompt tuning, whose soft prompt hides the padding from the model)."""
    if tokenizer.pad_token is None:
        pad = pad_token_id(folder, tokenizer)
        if pad is None:
            raise BenchkitError(Problem(f"{folder}: the tokenizer has no padding, EOS or configured pad token to pad "
                                        "batches with", field="--model",
                                        hint="give the model's tokenizer a pad_token (tokenizer_config.json)"))
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad)
    tokenizer.padding_side = "left" if left else "right"
    init = getattr(tokenizer, "init_kwargs", None)
    if isinstance(init, dict):  # saved with the run's model: a reloaded tokenizer pads the same side
        init["padding_side"] = tokenizer.padding_side
    return tokenizer


def model_kwargs(folder: str | Path) -> dict[str, Any]:
    """``from_pretrained`` arguments of a causal model's task head: its ``pad_token_id`` (the sequence classifier
    finds each row's last token by it)."""
    if not is_causal(folder):
        return {}
    pad = pad_token_id(folder)
    return {"pad_token_id": pad} if pad is not None else {}


def pair_separator(tokenizer: Any) -> str:
    """What goes between a pair's two texts: nothing where the tokenizer's pair template separates them (BERT's
    [SEP], Llama's BOS), else a newline (GPT-2 and byte-level BPE tokenizers concatenate the two)."""
    cached = getattr(tokenizer, "_benchkit_pair_separator", None)
    if cached is not None:
        return cached
    first, second = (tokenizer(t, add_special_tokens=False)["input_ids"] for t in ("a", "b"))
    pair, joined = tokenizer("a", "b")["input_ids"], first + second
    together = any(pair[i:i + len(joined)] == joined for i in range(len(pair) - len(joined) + 1))
    separator = PAIR_SEPARATOR if together else ""
    try:
        tokenizer._benchkit_pair_separator = separator
    except AttributeError:  # a tokenizer that refuses attributes: computed each time
        pass
    return separator


# -- SFT: the label's verbaliser written after the card's prompt ----------------------------------------------------
# Each example is encoded once per label: the context (the prompt's instruction and query, as zero-shot asks it:
# ``cards.prompts.context_text`` with no shots; under a chat template the user message, with the generation prompt)
# and each label's answer (target delimiter + verbaliser; under a chat template the verbaliser alone, as the assistant
# reply), tokenized as lm-evaluation-harness does (``lm_scoring.encode_pair``), then the end of the answer (EOS; under
# a chat template the template's end of the assistant turn). ``answer_mask`` marks the answer tokens 1 and its end 2.
# Training: causal LM loss on the gold label's answer and end tokens only. Prediction: each label's summed
# log-likelihood of its answer tokens (1s) after the context, the label with the highest wins (lm-eval's ``acc``).
# Answers are never truncated: a context too long for max_length loses its first tokens (lm-eval's left truncation).

ANSWER, END = 1, 2
_PROMPTS: dict[int, tuple[Any, Any]] = {}


def sft_prompt(card: Any) -> Any:
    """The card's resolved prompt (``cards.prompts.resolve_prompt`` over the card roots), once per card object."""
    cached = _PROMPTS.get(id(card))
    if cached is not None and cached[0] is card:
        return cached[1]
    from benchkit.cards.prompts import resolve_prompt
    from benchkit.cards.roots import card_roots

    prompt = resolve_prompt(card, card_roots())
    _PROMPTS[id(card)] = (card, prompt)
    return prompt


def check_sft(card: Any, model_path: str | Path | None = None) -> None:
    """Before training with ``objective: sft``: a classification card with a prompt and verbalisers, a causal model."""
    from benchkit.task_types import TASK_TYPES

    target = TASK_TYPES.get(card.type).target
    if target != "class":
        raise BenchkitError(Problem(f"objective sft trains label verbalisers; {card.id}'s answers are its {target}s",
                                    field="objective", hint="use objective classifier (the default) for this task"))
    if model_path is not None and not is_causal(model_path):
        raise BenchkitError(Problem(f"objective sft needs a decoder-only (causal) language model; {model_path} is "
                                    "not one", field="objective",
                                    hint="give a causal model (Llama, Qwen, Mistral, GPT-2, ...), or objective "
                                         "classifier"))
    sft_prompt(card)  # a card without a prompt says so here


def use_chat(tokenizer: Any, setting: str) -> bool:
    """Whether prompts go through the tokenizer's chat template (recipe ``chat_template``: auto, on, off)."""
    has = bool(getattr(tokenizer, "chat_template", None))
    if setting == "on" and not has:
        raise BenchkitError(Problem(f"{getattr(tokenizer, 'name_or_path', 'the model')}: the tokenizer has no chat "
                                    "template", field="chat_template", hint="--set chat_template=auto or off"))
    return has and setting != "off"


def _end_ids(tokenizer: Any, user: str | None, context: str, context_ids: list[int], answer_ids: list[int],
             reply: str, add_bos: bool | None) -> list[int]:
    """What follows the answer in training: EOS; under a chat template (``user``: the user message) the template's
    end of the assistant turn."""
    from benchkit.train.lm_scoring import encode_context

    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if user is None:
        return eos
    full = tokenizer.apply_chat_template([{"role": "user", "content": user}, {"role": "assistant", "content": reply}],
                                         tokenize=False)
    if not full.startswith(context + reply):
        return eos
    tail = full[len(context) + len(reply):].rstrip()  # the turn's end, without the newline after it
    if not tail:
        return eos
    ids = encode_context(tokenizer, context + reply + tail, add_bos)
    head = context_ids + answer_ids
    return ids[len(head):] if ids[:len(head)] == head and len(ids) > len(head) else eos


def sft_encode(batch: dict[str, list], tokenizer: Any, card: Any, max_length: int, chat_setting: str = "auto"
               ) -> dict[str, list]:
    from benchkit.cards.prompts import context_text, instruction_text, query_text
    from benchkit.train.lm_scoring import encode_pair

    prompt = sft_prompt(card)
    names = list(card.labels.names)
    verbalisers = [(prompt.verbalizers or {})[n] for n in names]
    chat = use_chat(tokenizer, chat_setting)
    add_bos = False if chat else None  # a chat template writes its own BOS
    delimiter = "" if chat else prompt.target_delimiter
    instruction = instruction_text(prompt, names)
    columns = [c for c in batch if c not in ("label", "id")]
    out: dict[str, list] = {"input_ids": [], "attention_mask": [], "answer_mask": [], "labels": []}
    for i, label in enumerate(batch["label"]):
        row = {c: batch[c][i] for c in columns}
        try:
            text = context_text(prompt, instruction, [], query_text(prompt, row))
        except KeyError as err:
            raise BenchkitError(Problem(f"{card.id}: the prompt names {err}, which fine-tuning data do not carry",
                                        field="prompt.input", hint="write the input template over the card's roles "
                                                                   "(text, text_pair, question, ...)")) from None
        context = (tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                 add_generation_prompt=True) if chat else text)
        pieces = []
        for verbaliser in verbalisers:
            context_ids, answer_ids = encode_pair(tokenizer, context, delimiter + verbaliser, add_bos)
            end = _end_ids(tokenizer, text if chat else None, context, context_ids, answer_ids, verbaliser, add_bos)
            pieces.append((context_ids, answer_ids, end))
        room = max_length - max(len(a) + len(e) for _, a, e in pieces)
        if room < 1:
            raise BenchkitError(Problem(f"{card.id}: an answer of {max_length - room} tokens leaves no room for the "
                                        f"prompt in max_length {max_length}", field="max_length",
                                        hint="raise max_length (--set max_length=...)"))
        ids, masks = [], []
        for context_ids, answer_ids, end in pieces:
            kept = context_ids[-room:]
            ids.append(kept + answer_ids + end)
            masks.append([0] * len(kept) + [ANSWER] * len(answer_ids) + [END] * len(end))
        out["input_ids"].append(ids)
        out["attention_mask"].append([[1] * len(s) for s in ids])
        out["answer_mask"].append(masks)
        out["labels"].append(label)
    return out


def sft_collator(tokenizer: Any) -> Any:
    """Batches of (examples x labels x tokens), right-padded with the padding token; labels: the gold label index."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(features[0]["input_ids"])
        width = max(len(s) for f in features for s in f["input_ids"])
        shape = (len(features), n, width)
        ids = torch.full(shape, pad, dtype=torch.long)
        mask = torch.zeros(shape, dtype=torch.long)
        answer = torch.zeros(shape, dtype=torch.long)
        for b, f in enumerate(features):
            for c, sequence in enumerate(f["input_ids"]):
                ids[b, c, :len(sequence)] = torch.tensor(sequence)
                mask[b, c, :len(sequence)] = 1
                if "answer_mask" in f:  # costs.inference_latency keeps only the usual columns: no answers marked
                    answer[b, c, :len(sequence)] = torch.tensor(f["answer_mask"][c])
        batch = {"input_ids": ids, "attention_mask": mask, "answer_mask": answer}
        if "labels" in features[0]:  # absent when predicting
            batch["labels"] = torch.tensor([int(f["labels"]) for f in features], dtype=torch.long)
        return batch

    return collate


def sft_build(folder: str, card: Any) -> Any:
    from transformers import AutoModelForCausalLM

    check_sft(card, folder)
    return AutoModelForCausalLM.from_pretrained(folder, **model_kwargs(folder))


def sft_wrap(model: Any, window: int, stride: int) -> Any:
    """The model a run trains and predicts with (``window`` and ``stride`` are the tagging head's; unused)."""
    return sft_scorer(model)


def _keeps_logits(model: Any) -> bool:
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False


def _sft_module() -> type:
    import torch

    class Scorer(torch.nn.Module):
        """A causal LM trained on its gold answers and scoring every label's answer (``sft_encode``'s layout)."""

        # the tied names state_dict leaves out: the Trainer, finding just these missing in a checkpoint it loads
        # back, calls tie_weights instead of warning
        _keys_to_ignore_on_save: list[str] | None = None

        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner
            self.config = inner.config  # the Trainer reads model.config
            self._keep = _keeps_logits(inner)

        def _token_logprobs(self, ids: torch.Tensor, mask: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
            """log p(token t | tokens before it) at every position of the answers (0 elsewhere), (rows, L - 1)."""
            positions = (answer > 0).float().argmax(-1)  # each row's first answer token
            first = int(positions.min().item()) if len(positions) else 1
            keep = ids.size(1) - max(first - 1, 0)  # logits from the one before the earliest answer token on
            kwargs = {"logits_to_keep": keep} if self._keep else {}
            logits = self.inner(input_ids=ids, attention_mask=mask, **kwargs).logits
            logits = logits[:, -keep:] if logits.size(1) > keep else logits
            start = ids.size(1) - logits.size(1)  # the position the first kept logit stands at
            targets = ids[:, start + 1:]
            scores = -torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, logits.size(-1)),
                                                        targets.reshape(-1), reduction="none")
            out = scores.new_zeros(ids.size(0), ids.size(1) - 1)
            out[:, start:] = scores.view(ids.size(0), -1)
            return out

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                    answer_mask: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> Any:
            from transformers.modeling_outputs import SequenceClassifierOutput

            rows, choices, length = input_ids.shape
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            assert answer_mask is not None, "the sft head's batches carry answer_mask"
            if self.training and labels is not None:  # the gold answers only: LM loss on their answer and end tokens
                pick = torch.arange(rows, device=input_ids.device), labels.clamp(min=0)
                ids, mask, answer = input_ids[pick], attention_mask[pick], answer_mask[pick]
                logprobs = self._token_logprobs(ids, mask, answer)
                counted = (answer[:, 1:] > 0).float()
                loss = -(logprobs * counted).sum() / counted.sum().clamp(min=1.0)
                return SequenceClassifierOutput(loss=loss, logits=logprobs.new_zeros(rows, choices))
            def flat(tensor: torch.Tensor) -> torch.Tensor:
                return tensor.reshape(rows * choices, length)

            logprobs = self._token_logprobs(flat(input_ids), flat(attention_mask), flat(answer_mask))
            scores = (logprobs * (flat(answer_mask)[:, 1:] == ANSWER).float()).sum(-1).view(rows, choices)
            loss = torch.nn.functional.cross_entropy(scores, labels) if labels is not None and (labels >= 0).all() \
                else None
            return SequenceClassifierOutput(loss=loss, logits=scores)

        def state_dict(self, *args: Any, **kwargs: Any) -> Any:
            """Tied weights (the LM head is the input embedding in most small decoders) once: the Trainer writes a
            wrapper's checkpoints as one safetensors file, which refuses shared tensors; loading the kept name
            fills the shared parameter."""
            state = super().state_dict(*args, **kwargs)
            seen: set[tuple[int, tuple[int, ...]]] = set()
            dropped: list[str] = []
            for key in list(state):
                value = state[key]
                if not hasattr(value, "data_ptr") or value.numel() == 0:
                    continue
                mark = (value.data_ptr(), tuple(value.shape))
                if mark in seen:
                    del state[key]
                    dropped.append(key)
                seen.add(mark)
            self._keys_to_ignore_on_save = dropped or None
            return state

        def tie_weights(self, *args: Any, **kwargs: Any) -> None:
            inner = self.inner.get_base_model() if hasattr(self.inner, "get_base_model") else self.inner
            inner.tie_weights(*args, **kwargs)

        def save_pretrained(self, folder: str, **kwargs: Any) -> None:
            self.inner.save_pretrained(folder, **kwargs)

    return Scorer


def sft_scorer(inner: Any) -> Any:
    """The SFT model over ``inner`` (a causal LM, or peft's model over one); the class is built on first use, as
    torch is imported lazily."""
    global _SCORER
    if _SCORER is None:
        _SCORER = _sft_module()
    return _SCORER(inner)


_SCORER: type | None = None
