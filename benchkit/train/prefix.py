"""Prefix tuning (Li & Liang 2021; P-tuning v2, Liu et al. 2022): trained key and value vectors that every
self-attention layer attends to before the input, and the task head; the encoder's weights stay frozen.

peft's prefix tuning hands the prefixes to the model as past key values, which transformers 5's encoders (BERT,
RoBERTa, ELECTRA, ...) no longer take. So the prefixes enter through transformers' attention interface instead: the
model's attention implementation is swapped for a registered wrapper (``benchkit_prefix_<sdpa|eager>``) that prepends
the layer's prefix keys and values and widens the attention mask, then calls the original implementation. Any model
whose self-attention goes through that interface works; others are refused before training.

The prefixes and the head are saved apart from the base model (``prefix_config.json``, ``prefix_model.safetensors``
and the task model's ``config.json``, with its labels, in the run's model folder) and load back over it with ``load``.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

import torch
from torch import nn

CONFIG_NAME = "prefix_config.json"
WEIGHTS_NAME = "prefix_model.safetensors"
ATTRIBUTE = "benchkit_prefix"  # the prefix encoder's name on the task model (so it trains, checkpoints and reloads)
SUPPORTED = ("sdpa", "eager")


class PrefixEncoder(nn.Module):
    """Per layer, ``num_virtual_tokens`` key and value vectors for every head. With ``projection`` the prefixes are
    re-parametrised through a two-layer MLP over a smaller embedding (Li & Liang's stabilising trick); without it they
    are trained directly (P-tuning v2)."""

    def __init__(self, layers: int, heads: int, head_dim: int, num_virtual_tokens: int, projection: bool,
                 projection_hidden: int) -> None:
        super().__init__()
        self.shape = (layers, 2, heads, num_virtual_tokens, head_dim)
        width = layers * 2 * heads * head_dim
        self.projection = projection
        if projection:
            self.embedding = nn.Embedding(num_virtual_tokens, heads * head_dim)
            self.mlp = nn.Sequential(nn.Linear(heads * head_dim, projection_hidden), nn.Tanh(),
                                     nn.Linear(projection_hidden, width))
        else:
            self.embedding = nn.Embedding(num_virtual_tokens, width)
            nn.init.normal_(self.embedding.weight, std=0.02)  # the scale of BERT-like keys and values at init

    def forward(self) -> torch.Tensor:
        """(layers, 2, heads, tokens, head_dim)."""
        tokens = self.embedding.weight
        flat = self.mlp(tokens) if self.projection else tokens
        layers, two, heads, n, head_dim = self.shape
        return flat.view(n, layers, two, heads, head_dim).permute(1, 2, 3, 0, 4)


def _attention_modules(model: nn.Module) -> list[nn.Module]:
    """The model's self-attention modules that call transformers' attention interface, in layer order."""
    found = [m for m in model.modules()
             if type(m).__name__.endswith("SelfAttention") and hasattr(m, "attention_head_size")
             and hasattr(m, "num_attention_heads") and hasattr(m, "key") and hasattr(m, "value")
             and getattr(m, "config", None) is not None]
    return found


def supported(model: nn.Module) -> str | None:
    """Why prefix tuning cannot apply to ``model``, or None."""
    config = getattr(model, "config", None)
    if not _attention_modules(model):
        return (f"model type {getattr(config, 'model_type', '?')!r} has no self-attention that goes through "
                "transformers' attention interface")
    implementation = getattr(config, "_attn_implementation", None) or "sdpa"
    if implementation.removeprefix("benchkit_prefix_") not in SUPPORTED:
        return f"its attention implementation is {implementation!r}; prefix tuning wraps sdpa or eager"
    return None


def _prefixed(inner_name: str) -> Any:
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    def attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                  attention_mask: torch.Tensor | None, **kwargs: Any) -> Any:
        link = getattr(module, "_benchkit_prefix", None)
        encoder = link[0]() if link else None
        if encoder is not None:
            prefix = encoder()[link[1]]  # (2, heads, tokens, head_dim)
            batch, tokens = key.shape[0], prefix.shape[2]
            keys = prefix[0].unsqueeze(0).expand(batch, -1, -1, -1).to(key.dtype)
            values = prefix[1].unsqueeze(0).expand(batch, -1, -1, -1).to(value.dtype)
            key, value = torch.cat([keys, key], dim=2), torch.cat([values, value], dim=2)
            if attention_mask is not None:  # every query sees every prefix token
                visible = (torch.ones if attention_mask.dtype == torch.bool else torch.zeros)(
                    (*attention_mask.shape[:-1], tokens), dtype=attention_mask.dtype, device=attention_mask.device)
                attention_mask = torch.cat([visible, attention_mask], dim=-1)
        if inner_name == "eager":  # each model defines its own eager attention, beside its attention module
            import sys

            inner = sys.modules[type(module).__module__].eager_attention_forward
        else:
            inner = ALL_ATTENTION_FUNCTIONS[inner_name]
        return inner(module, query, key, value, attention_mask, **kwargs)

    return attention


def _register() -> None:
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS, AttentionInterface

    for inner in SUPPORTED:
        name = f"benchkit_prefix_{inner}"
        if name not in ALL_ATTENTION_FUNCTIONS:
            AttentionInterface.register(name, _prefixed(inner))
            ALL_MASK_ATTENTION_FUNCTIONS.register(name, ALL_MASK_ATTENTION_FUNCTIONS[inner])


def add_prefix(model: nn.Module, num_virtual_tokens: int, projection: bool = False,
               projection_hidden: int = 512, train_only: list[str] | None = None) -> nn.Module:
    """Attach trainable prefixes to ``model`` (in place) and freeze everything but them and the modules named in
    ``train_only`` (the task head)."""
    reason = supported(model)
    if reason:
        raise ValueError(reason)
    _register()
    attention = _attention_modules(model)
    first = attention[0]
    encoder = PrefixEncoder(len(attention), int(first.num_attention_heads), int(first.attention_head_size),
                            num_virtual_tokens, projection, projection_hidden)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith(tuple(f"{h}." for h in train_only or []))
    model.add_module(ATTRIBUTE, encoder)
    for index, module in enumerate(attention):
        # a weak link: a strong one would make the encoder a child of every layer (and save it once per layer)
        object.__setattr__(module, "_benchkit_prefix", (weakref.ref(encoder), index))
    implementation = (model.config._attn_implementation or "sdpa").removeprefix("benchkit_prefix_")
    model.set_attn_implementation(f"benchkit_prefix_{implementation}")
    model.config.benchkit_prefix = {"num_virtual_tokens": num_virtual_tokens, "projection": projection,
                                    "projection_hidden": projection_hidden, "train_only": list(train_only or [])}
    return model


def save(model: nn.Module, folder: Path, base: str) -> None:
    """The prefixes and the head (every trainable tensor), apart from the base model, with what rebuilds them."""
    from safetensors.torch import save_file

    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
               if name in trainable}
    save_file(weights, str(folder / WEIGHTS_NAME))
    model.config.save_pretrained(str(folder))  # its labels, for predictions and for checks against a task
    settings = dict(model.config.benchkit_prefix)
    (folder / CONFIG_NAME).write_text(json.dumps({"base_model_name_or_path": base, **settings}, indent=2) + "\n",
                                      encoding="utf-8")


def base_of(folder: Path) -> str | None:
    return json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")).get("base_model_name_or_path")


def load(model: nn.Module, folder: Path) -> nn.Module:
    """``model`` (the base model with its task head) with the saved prefixes and head."""
    from safetensors.torch import load_file

    settings = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    add_prefix(model, int(settings["num_virtual_tokens"]), bool(settings["projection"]),
               int(settings["projection_hidden"]), settings.get("train_only"))
    weights = load_file(str(folder / WEIGHTS_NAME))
    missing = set(weights) - set(model.state_dict())
    if missing:
        raise ValueError(f"{folder / WEIGHTS_NAME} holds tensors the model lacks: {sorted(missing)[:3]}")
    model.load_state_dict(weights, strict=False)
    return model
