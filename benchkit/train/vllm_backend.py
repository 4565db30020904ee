"""The causal-LM engine's two operations over vLLM (``score_choices``, ``generate_greedy``), for large models on GPU.

vLLM is optional and imported lazily (``available()`` says whether it can run here). Semantics follow
lm-evaluation-harness 0.4.13's ``VLLM`` model, so results compare with ``benchkit.train.lm_scoring`` (same
``ChoiceScore``, ``Usage``, ``cut_at_stop``):

- scoring runs each context + choice as a prompt with ``SamplingParams(prompt_logprobs=1, max_tokens=1)``:
  vLLM returns, per prompt position, the log-prob of the actual token (and of the top one, which gives
  ``greedy``); position 0 has none. vLLM needs one position to generate, so a sequence keeps at most
  ``window - 1`` tokens (lm-eval's VLLM truncates the same way; the HF engine keeps ``window + 1`` because it
  never feeds the last token). With ``enable_prefix_caching`` (``load`` sets it) the shared context of an
  example's choices is computed once, the point of the HF engine's cache, done by vLLM's scheduler.
- generation is greedy (``temperature=0``), stops at the stop strings (vLLM leaves them out of the text) and EOS;
  contexts are left-truncated to ``window - max_new_tokens``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from benchkit.train.lm_scoring import ChoiceScore, Request, Usage, cut_at_stop


def available() -> bool:
    """vLLM is importable and a CUDA GPU is present (vLLM's main backend needs one)."""
    if importlib.util.find_spec("vllm") is None:
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def load(path: str, *, dtype: str = "auto", max_model_len: int | None = None, seed: int = 0,
         gpu_memory_utilization: float = 0.9, **kwargs: Any) -> Any:
    """A ``vllm.LLM`` over a folder or Hub name, with prefix caching on (choices share their context's KV)."""
    from vllm import LLM

    options: dict[str, Any] = {"model": path, "dtype": dtype, "seed": seed, "enable_prefix_caching": True,
                               "gpu_memory_utilization": gpu_memory_utilization, **kwargs}
    if max_model_len is not None:
        options["max_model_len"] = max_model_len
    return LLM(**options)


def model_window(llm: Any) -> int | None:
    """The engine's ``max_model_len`` (None where this vLLM version hides it)."""
    for path in (("llm_engine", "model_config", "max_model_len"), ("llm_engine", "vllm_config", "model_config",
                                                                    "max_model_len")):
        value: Any = llm
        for name in path:
            value = getattr(value, name, None)
        if value is not None:
            return int(value)
    return None


def _logprob(value: Any) -> float:
    """A prompt log-prob entry as a float (vLLM returns ``Logprob`` objects, older versions floats)."""
    return float(getattr(value, "logprob", value))


def score_choices(llm: Any, requests: Sequence[Request], *, window: int | None = None,
                  chars: Sequence[Sequence[int]] | None = None, usage: Usage | None = None,
                  use_tqdm: bool = False) -> list[list[ChoiceScore]]:
    """Sum of log-probs of each choice's tokens given its context, in input order (as the HF engine's)."""
    from vllm import SamplingParams, TokensPrompt

    window = model_window(llm) if window is None else window
    usage = usage if usage is not None else Usage()
    limit = None if window is None else window - 1
    prompts: list[Any] = []
    spans: list[tuple[int, int, int]] = []  # (example, choice, context length kept)
    for e, (context, continuations) in enumerate(requests):
        for c, continuation in enumerate(continuations):
            if not continuation:
                raise ValueError("a continuation has no tokens (lm-eval scores none such)")
            whole = list(context) + list(continuation)
            if limit is not None and len(whole) > limit:
                if len(continuation) >= limit:
                    raise ValueError(f"a continuation of {len(continuation)} tokens exceeds the window ({window})")
                whole = whole[-limit:]
            prompts.append(TokensPrompt(prompt_token_ids=whole))
            spans.append((e, c, len(whole) - len(continuation)))
    params = SamplingParams(temperature=0, prompt_logprobs=1, max_tokens=1, detokenize=False)
    outputs = llm.generate(prompts, sampling_params=params, use_tqdm=use_tqdm) if prompts else []
    results: list[list[ChoiceScore | None]] = [[None] * len(continuations) for _, continuations in requests]
    for prompt, (e, c, kept), output in zip(prompts, spans, outputs):
        tokens = prompt["prompt_token_ids"]
        logprob, greedy = 0.0, True
        for position in range(kept, len(tokens)):
            entries = {token: _logprob(value) for token, value in (output.prompt_logprobs[position] or {}).items()}
            logprob += entries[tokens[position]]
            greedy = greedy and max(entries, key=entries.get) == tokens[position]
        cached = int(getattr(output, "num_cached_tokens", 0) or 0)
        usage.context_tokens += max(0, kept - cached)
        usage.continuation_tokens += len(tokens) - max(kept, cached)
        usage.padded_tokens += len(tokens) - cached
        results[e][c] = ChoiceScore(logprob=logprob, tokens=len(tokens) - kept, greedy=greedy,
                                    chars=int(chars[e][c]) if chars is not None else 0)
    usage.forward_passes += 1 if prompts else 0
    return [[score for score in scores if score is not None] for scores in results]


def generate_greedy(llm: Any, contexts: Sequence[Sequence[int]], *, max_new_tokens: int, stop: Sequence[str] = (),
                    window: int | None = None, usage: Usage | None = None, use_tqdm: bool = False) -> list[str]:
    """Greedy continuations of token-id contexts, in input order, each cut at its first stop string."""
    from vllm import SamplingParams, TokensPrompt

    window = model_window(llm) if window is None else window
    usage = usage if usage is not None else Usage()
    limit = None if window is None else window - max_new_tokens
    if limit is not None and limit <= 0:
        raise ValueError(f"max_new_tokens ({max_new_tokens}) must be less than the model's window ({window})")
    prompts = [TokensPrompt(prompt_token_ids=list(ctx)[-limit:] if limit is not None else list(ctx))
               for ctx in contexts]
    stop = [s for s in stop if s]
    params = SamplingParams(temperature=0, max_tokens=max_new_tokens, stop=stop or None)
    outputs = llm.generate(prompts, sampling_params=params, use_tqdm=use_tqdm) if prompts else []
    texts = []
    for prompt, output in zip(prompts, outputs):
        completion = output.outputs[0]
        usage.context_tokens += len(prompt["prompt_token_ids"])
        usage.continuation_tokens += len(completion.token_ids)
        usage.padded_tokens += len(prompt["prompt_token_ids"]) + len(completion.token_ids)
        texts.append(cut_at_stop(completion.text, stop))
    usage.forward_passes += 1 if prompts else 0
    return texts
