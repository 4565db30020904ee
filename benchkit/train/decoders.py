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
