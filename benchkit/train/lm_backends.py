"""The engines a prompted run asks a causal language model through: transformers (CPU or GPU, tested here) or vLLM
(optional, on a GPU). One interface, so the runner (``train.prompted``) never asks which: score the answers of
each context, generate greedily, and say what the model is (window, parameters, precision)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchkit.errors import BenchkitError, Problem
from benchkit.registry import Registry
from benchkit.train.lm_scoring import ChoiceScore, Request, Usage


@dataclass
class Engine:
    name: str
    tokenizer: Any
    window: int
    parameters: int
    precision: str  # fp32, bf16, fp16
    device: str
    # (requests, answer lengths in characters, usage) -> scores per answer
    score: Callable[[Sequence[Request], Sequence[Sequence[int]], Usage], list[list[ChoiceScore]]]
    # (contexts, max new tokens, stop strings, usage) -> texts
    generate: Callable[[Sequence[Sequence[int]], int, Sequence[str], Usage], list[str]]


def _precision(dtype: Any) -> str:
    return {"torch.float32": "fp32", "torch.bfloat16": "bf16", "torch.float16": "fp16"}.get(str(dtype), str(dtype))


def window_of(config: Any, tokenizer: Any) -> int:
    """The model's context window in tokens: its position embeddings (the tokenizer's limit when smaller)."""
    window = next((getattr(config, n) for n in ("max_position_embeddings", "n_positions", "max_sequence_length")
                   if isinstance(getattr(config, n, None), int)), None)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit < 10**8:
        window = min(window, limit) if window else limit
    return int(window or 2048)


def _transformers(path: str, batch_size: int | None, seed: int) -> Engine:
    import torch

    from benchkit.train.lm_scoring import generate_greedy, load_causal, score_choices

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else None
    model, tokenizer = load_causal(path, device=device, dtype=dtype)
    size = batch_size or (64 if device == "cuda" else 16)
    window = window_of(model.config, tokenizer)
    return Engine(
        "transformers", tokenizer, window, sum(p.numel() for p in model.parameters()),
        _precision(next(model.parameters()).dtype), device,
        lambda requests, chars, usage: score_choices(model, requests, batch_size=size, device=device, window=window,
                                                     chars=chars, usage=usage),
        lambda contexts, new, stop, usage: generate_greedy(model, tokenizer, contexts, max_new_tokens=new, stop=stop,
                                                           batch_size=size, device=device, window=window,
                                                           usage=usage))


def _vllm(path: str, batch_size: int | None, seed: int) -> Engine:
    from transformers import AutoConfig, AutoTokenizer

    from benchkit.train import vllm_backend

    if not vllm_backend.available():
        raise BenchkitError(Problem("the vllm backend needs vLLM installed and a CUDA GPU", field="backend",
                                    hint="pip install vllm on a GPU machine, or --set backend=transformers"))
    llm = vllm_backend.load(path, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    window = vllm_backend.model_window(llm) or window_of(AutoConfig.from_pretrained(path), tokenizer)
    return Engine(
        "vllm", tokenizer, window, 0, "auto", "cuda",
        lambda requests, chars, usage: vllm_backend.score_choices(llm, requests, window=window, chars=chars,
                                                                  usage=usage),
        lambda contexts, new, stop, usage: vllm_backend.generate_greedy(llm, contexts, max_new_tokens=new, stop=stop,
                                                                        window=window, usage=usage))


# name -> (model path, batch size or None, seed) -> Engine
LM_BACKENDS: Registry[Callable[[str, int | None, int], Engine]] = Registry("language-model backend")
LM_BACKENDS.add("transformers", _transformers)
LM_BACKENDS.add("vllm", _vllm)
