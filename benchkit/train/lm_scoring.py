"""The causal-LM engine of zero-/few-shot evaluation: tokenizing as lm-evaluation-harness does, scoring choices,
greedy generation. Pure functions over a transformers model and tokenizer; the runner renders prompts and calls these.

Semantics follow lm-evaluation-harness 0.4.13 (``HFLM``), so our numbers compare with theirs:

- ``encode_pair`` is ``LM._encode_pair`` plus ``LM.loglikelihood``'s empty-context branch: trailing spaces of the
  context move to the continuation, the continuation is ``encode(context + continuation)[len(encode(context)):]``.
  ``add_bos=None`` is HFLM's default (``add_bos_token=None``): the tokenizer's own special tokens
  (``add_special_tokens=True``: Llama/Gemma tokenizers add BOS, GPT-2/Qwen do not), none when the text already
  starts with the BOS text.
- ``score_choices`` returns what ``_loglikelihood_tokens`` returns per (context, continuation) (sum of log-probs,
  whether every token is the argmax), with its left truncation: ``(context + continuation)[-(window + 1):][:-1]``
  is the input, so the context keeps its last ``window + 1 - len(continuation)`` tokens.
- ``generate_greedy`` is ``generate_until`` with greedy decoding: contexts left-truncated to
  ``window - max_new_tokens``, generation stops at EOS or a stop string, the text is cut at the first stop string.

Speed is where we differ from HFLM: the context of an example is run once and every choice continues from its
cache (HFLM runs one full sequence per choice). One-token choices are read from the context's last logits; longer
choices run only their own tokens over the cache (expanded per choice). Batches are sorted by length and left-padded
with an attention mask and explicit position ids, so padding changes nothing but float rounding.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

Request = tuple[list[int], list[list[int]]]
"""One example to score: its context ids and each choice's continuation ids."""


@dataclass
class ChoiceScore:
    """One choice's score: ``logprob`` (sum over its tokens), ``tokens`` and ``chars`` (the normalisers of
    acc_norm-style metrics), ``greedy`` (every token is the model's argmax: lm-eval's ``is_greedy``)."""

    logprob: float
    tokens: int
    chars: int
    greedy: bool


@dataclass
class Usage:
    """What went through the model, for the run's costs. ``context_tokens`` and ``continuation_tokens`` count real
    tokens fed to the model (a scored choice feeds all but its last token; generation feeds what it generated),
    ``padded_tokens`` every position computed (padding included), ``forward_passes`` the model calls (a generate
    call counts once). Pass one in to accumulate across calls."""

    context_tokens: int = 0
    continuation_tokens: int = 0
    padded_tokens: int = 0
    forward_passes: int = 0

    @property
    def tokens(self) -> int:
        """Real tokens processed: context plus continuation/generated."""
        return self.context_tokens + self.continuation_tokens


# -- tokenizing ----------------------------------------------------------------------------------------------------


def prefix_token_id(tokenizer: Any) -> int:
    """The token that stands for an empty context (HFLM's ``prefix_token_id``): BOS, else EOS."""
    return tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id


def encode_context(tokenizer: Any, text: str, add_bos: bool | None = None) -> list[int]:
    """Token ids of a context as HFLM's ``tok_encode`` gives them: ``add_bos=None`` keeps the tokenizer's own special
    tokens, ``False`` adds none, ``True`` makes sure the ids start with BOS (what HFLM's ``add_bos_token=True`` does by
    reconfiguring the tokenizer; we never change the caller's). A text that already starts with the BOS text gets no
    special tokens, so a chat template's BOS is not doubled."""
    kwargs: dict[str, bool] = {} if add_bos is None else {"add_special_tokens": bool(add_bos)}
    prefix = prefix_token_id(tokenizer)
    if prefix is not None and text.startswith(tokenizer.decode(prefix)) and tokenizer.decode(prefix):
        kwargs = {"add_special_tokens": False}
        add_bos = None
    ids = list(tokenizer.encode(text, **kwargs))
    bos = tokenizer.bos_token_id
    if add_bos and bos is not None and (not ids or ids[0] != bos):
        ids = [bos, *ids]
    return ids


def encode_pair(tokenizer: Any, context: str, continuation: str,
                add_bos: bool | None = None) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) exactly as lm-eval's ``loglikelihood`` makes them for a causal model.

    Trailing spaces of the context move to the continuation (BPE merges a space with the word after it), and the
    continuation is cut from the encoding of the whole string, so its tokens are the ones the model would see. An
    empty context becomes the prefix token (BOS, else EOS)."""
    if context == "":
        ids = list(tokenizer.encode(continuation, add_special_tokens=False))
        prefix = prefix_token_id(tokenizer)
        return ([prefix], ids) if not ids or ids[0] != prefix else (ids[:1], ids[1:])
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = encode_context(tokenizer, context + continuation, add_bos)
    context_ids = encode_context(tokenizer, context, add_bos)
    return context_ids, whole[len(context_ids):]


def model_window(model: Any, tokenizer: Any = None) -> int | None:
    """The model's context length as lm-eval resolves it (``resolve_max_length``): the text config's
    ``n_positions`` / ``max_position_embeddings`` / ``n_ctx``, else the tokenizer's ``model_max_length``; None if
    neither says."""
    config = getattr(model, "config", None)
    config = getattr(config, "text_config", None) or config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, attr, None)
        if value is not None:
            return int(value)
    length = getattr(tokenizer, "model_max_length", None)
    return int(length) if length is not None and length < int(1e29) else None


# -- scoring -------------------------------------------------------------------------------------------------------


def _device_of(model: Any, device: Any) -> torch.device:
    import torch

    if device is not None:
        return torch.device(device)
    return next(model.parameters()).device


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and their attention mask (the last real token of every row sits in the last column)."""
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
    return ids.to(device), mask.to(device)


def _accepts(model: Any, name: str) -> bool:
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def _truncated_context(context: list[int], continuation: list[int], window: int | None) -> list[int]:
    """lm-eval's left truncation: the input is ``(context + continuation)[-(window + 1):][:-1]``."""
    if not continuation:
        raise ValueError("a continuation has no tokens (lm-eval scores none such)")
    if window is None or len(context) + len(continuation) <= window + 1:
        return context
    if len(continuation) > window:
        raise ValueError(f"a continuation of {len(continuation)} tokens exceeds the model's window ({window})")
    return context[len(context) + len(continuation) - (window + 1):]


def score_choices(model: Any, requests: Sequence[Request], *, batch_size: int = 8, device: Any = None,
                  window: int | None = None, chars: Sequence[Sequence[int]] | None = None,
                  usage: Usage | None = None) -> list[list[ChoiceScore]]:
    """Score every choice of every example: sum of log-probs of its tokens given the context, in input order.

    ``window`` (default: ``model_window(model)``) left-truncates contexts as lm-eval does; choices whose truncated
    contexts differ are scored from separate contexts, so each matches lm-eval exactly. ``chars`` gives each
    choice's length in characters (``ChoiceScore.chars``; 0 without it). ``batch_size`` counts contexts; the pass
    over multi-token choices has one row per such choice of the batch.
    """
    import torch

    device = _device_of(model, device)
    window = model_window(model) if window is None else window
    usage = usage if usage is not None else Usage()
    # units: (example, context ids, choice indices): one per distinct (truncated) context of an example
    units: list[tuple[int, list[int], list[int]]] = []
    for e, (context, continuations) in enumerate(requests):
        by_context: dict[tuple[int, ...], list[int]] = {}
        for c, continuation in enumerate(continuations):
            by_context.setdefault(tuple(_truncated_context(list(context), list(continuation), window)), []).append(c)
        units.extend((e, list(ctx), choices) for ctx, choices in by_context.items())
    if any(not ctx for _, ctx, _ in units):
        raise ValueError("an empty context (encode_pair gives the prefix token for one)")
    order = sorted(range(len(units)), key=lambda u: -len(units[u][1]))
    results: list[list[ChoiceScore | None]] = [[None] * len(continuations) for _, continuations in requests]
    keep_last = {"logits_to_keep": 1} if _accepts(model, "logits_to_keep") else {}
    model_was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), max(1, batch_size)):
                batch = [units[u] for u in order[start:start + max(1, batch_size)]]
                _score_batch(model, requests, batch, results, chars, device, usage, keep_last)
    finally:
        model.train(model_was_training)
    return [[score for score in scores if score is not None] for scores in results]


def _score_batch(model: Any, requests: Sequence[Request], batch: list[tuple[int, list[int], list[int]]],
                 results: list[list[ChoiceScore | None]], chars: Sequence[Sequence[int]] | None, device: Any,
                 usage: Usage, keep_last: dict[str, int]) -> None:
    """One batch of contexts: a cached forward over the contexts, then one forward over all multi-token choices."""
    import torch

    contexts = [ctx for _, ctx, _ in batch]
    ids, mask = _left_pad(contexts, 0, device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    rows = [(b, c) for b, (e, _, choices) in enumerate(batch) for c in choices
            if len(requests[e][1][c]) > 1]
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=bool(rows), **keep_last)
    usage.forward_passes += 1
    usage.context_tokens += sum(len(ctx) for ctx in contexts)
    usage.padded_tokens += ids.numel()
    last = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # [batch, vocab]: predicts each first token
    last_argmax = last.argmax(-1).tolist()
    first: dict[tuple[int, int], tuple[float, bool]] = {}
    for b, (e, _, choices) in enumerate(batch):
        for c in choices:
            token = requests[e][1][c][0]
            first[(b, c)] = (float(last[b, token]), last_argmax[b] == token)
    rest: dict[tuple[int, int], tuple[float, bool]] = {}
    if rows:
        cache = getattr(out, "cache", None)
        if cache is None:
            cache = out.past_key_values
        select = torch.tensor([b for b, _ in rows], dtype=torch.long, device=device)
        cache.batch_select_indices(select)
        feeds = [requests[batch[b][0]][1][c][:-1] for b, c in rows]
        width = max(len(feed) for feed in feeds)
        feed_ids = torch.zeros((len(rows), width), dtype=torch.long)
        feed_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, feed in enumerate(feeds):
            feed_ids[r, :len(feed)] = torch.tensor(feed, dtype=torch.long)
            feed_mask[r, :len(feed)] = 1
        feed_ids, feed_mask = feed_ids.to(device), feed_mask.to(device)
        context_lengths = mask.sum(-1)[select]
        feed_positions = context_lengths[:, None] + torch.arange(width, device=device)[None, :]
        out = model(input_ids=feed_ids, attention_mask=torch.cat([mask[select], feed_mask], dim=-1),
                    position_ids=feed_positions, use_cache=True,
                    **{"cache" if _accepts(model, "cache") else "past_key_values": cache})
        usage.forward_passes += 1
        usage.continuation_tokens += sum(len(feed) for feed in feeds)
        usage.padded_tokens += feed_ids.numel()
        logp = torch.log_softmax(out.logits.float(), dim=-1)  # [rows, width, vocab]: predicts tokens 2..n
        for r, (b, c) in enumerate(rows):
            targets = torch.tensor(requests[batch[b][0]][1][c][1:], dtype=torch.long, device=device)
            scored = logp[r, :len(targets)]
            rest[(b, c)] = (float(scored.gather(-1, targets[:, None]).sum()),
                            bool((scored.argmax(-1) == targets).all()))
        del cache, out
    for b, (e, _, choices) in enumerate(batch):
        for c in choices:
            logprob, greedy = first[(b, c)]
            more_logprob, more_greedy = rest.get((b, c), (0.0, True))
            continuation = requests[e][1][c]
            results[e][c] = ChoiceScore(logprob=logprob + more_logprob, tokens=len(continuation),
                                        chars=int(chars[e][c]) if chars is not None else 0,
                                        greedy=greedy and more_greedy)


def score_texts(model: Any, tokenizer: Any, examples: Sequence[tuple[str, Sequence[str]]], *,
                add_bos: bool | None = None, batch_size: int = 8, device: Any = None, window: int | None = None,
                usage: Usage | None = None) -> list[list[ChoiceScore]]:
    """``score_choices`` over texts: each (context, choices) encoded by ``encode_pair``; ``chars`` is each choice
    string's length (lm-eval's acc_norm normaliser)."""
    requests: list[Request] = []
    for context, choices in examples:
        pairs = [encode_pair(tokenizer, context, choice, add_bos) for choice in choices]
        # encode_pair gives every choice the same context ids (the context string is the same)
        requests.append((pairs[0][0] if pairs else encode_context(tokenizer, context, add_bos),
                         [continuation for _, continuation in pairs]))
    window = model_window(model, tokenizer) if window is None else window
    return score_choices(model, requests, batch_size=batch_size, device=device, window=window,
                         chars=[[len(choice) for choice in choices] for _, choices in examples], usage=usage)


# -- generation ----------------------------------------------------------------------------------------------------


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text up to the first occurrence of any stop string (lm-eval's ``postprocess_generated_text``)."""
    cut = len(text)
    for string in stop:
        if string:
            at = text.find(string)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


def pad_id_for(tokenizer: Any) -> int:
    """A padding id for batches, without touching the tokenizer: its pad token, else unk, else EOS (lm-eval's
    ``configure_pad_token`` order). Padded positions are masked, so which id it is changes nothing."""
    for value in (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.eos_token_id):
        if value is not None:
            return int(value)
    return 0


def _stop_criteria(tokenizer: Any, stop: Sequence[str], prompt_width: int) -> Any:
    """Stop a row once a stop string appears in its generated text (lm-eval's ``MultiTokenEOSCriteria``: the last
    ``len(encode(stop)) + 2`` generated tokens, decoded, never the prompt; transformers' ``stop_strings`` also
    match across the prompt's tail, so a prompt ending in ":" would stop at a generated ":" for stop "::")."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    lookback = max(len(tokenizer.encode(s, add_special_tokens=False)) for s in stop) + 2

    class StopOnText(StoppingCriteria):
        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            tails = tokenizer.batch_decode(input_ids[:, prompt_width:][:, -lookback:])
            return torch.tensor([any(s in tail for s in stop) for tail in tails], dtype=torch.bool,
                                device=input_ids.device)

    return StoppingCriteriaList([StopOnText()])


def generate_greedy(model: Any, tokenizer: Any, contexts: Sequence[Sequence[int]], *, max_new_tokens: int,
                    stop: Sequence[str] = (), batch_size: int = 8, device: Any = None, window: int | None = None,
                    usage: Usage | None = None) -> list[str]:
    """Greedy continuations of token-id contexts, in input order, each cut at its first stop string.

    Contexts are sorted by length, left-padded (the tokenizer's pad token, else unk/EOS: the tokenizer is never
    changed) and left-truncated to ``window - max_new_tokens`` (lm-eval's ``max_ctx_len``); generation stops at
    EOS or when every row of the batch has produced a stop string.
    """
    import torch

    device = _device_of(model, device)
    window = model_window(model, tokenizer) if window is None else window
    usage = usage if usage is not None else Usage()
    limit = None if window is None else window - max_new_tokens
    if limit is not None and limit <= 0:
        raise ValueError(f"max_new_tokens ({max_new_tokens}) must be less than the model's window ({window})")
    prompts = [list(ctx)[-limit:] if limit is not None else list(ctx) for ctx in contexts]
    if any(not prompt for prompt in prompts):
        raise ValueError("an empty context (start it with the BOS token)")
    pad = pad_id_for(tokenizer)
    eos = getattr(model.generation_config, "eos_token_id", None)
    eos_ids = set([eos] if isinstance(eos, int) else (eos or [])) | (
        {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set())
    stop = [s for s in stop if s]
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    texts: list[str] = [""] * len(prompts)
    step = max(1, batch_size)
    model_was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), step):
                chunk = order[start:start + step]
                ids, mask = _left_pad([prompts[i] for i in chunk], pad, device)
                extra = {"stopping_criteria": _stop_criteria(tokenizer, stop, ids.shape[1])} if stop else {}
                out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                     do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None,
                                     pad_token_id=pad, eos_token_id=sorted(eos_ids) or None, **extra)
                new = out[:, ids.shape[1]:].tolist()
                usage.forward_passes += 1
                usage.context_tokens += int(mask.sum())
                usage.padded_tokens += ids.numel() + len(chunk) * len(new[0]) if new else ids.numel()
                for i, tokens in zip(chunk, new):
                    end = next((k for k, token in enumerate(tokens) if token in eos_ids), len(tokens))
                    usage.continuation_tokens += min(end + 1, len(tokens))
                    texts[i] = cut_at_stop(tokenizer.decode(tokens[:end], skip_special_tokens=True), stop)
    finally:
        model.train(model_was_training)
    return texts


# -- loading -------------------------------------------------------------------------------------------------------


def load_causal(path: str, device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """A causal LM and its tokenizer from a folder or Hub name, in eval mode on ``device`` (CUDA when available,
    else CPU). ``dtype`` is passed to ``from_pretrained`` (None: the checkpoint's own, "auto" as transformers)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(path)
    kwargs = {"dtype": dtype} if dtype is not None else {}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs).to(device)
    model.eval()
    return model, tokenizer
