"""The causal-LM engine (benchkit/train/lm_scoring.py) against a brute-force reference and lm-evaluation-harness's
own HFLM, on the tiny Llama-architecture model (tests/conftest.py's ``tiny_causal``)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from benchkit.train import lm_scoring
from benchkit.train.lm_scoring import (
    Usage,
    encode_context,
    encode_pair,
    generate_greedy,
    load_causal,
    score_choices,
    score_texts,
)

CONTEXTS = ["Question: is the movie good? Answer:", "the film was", "yes",
            "a long and boring film that never ends, and the actors are bad. Overall it was",
            "Review: great fun for the whole family\nSentiment:"]
CHOICES = [" positive", " negative", " no", " it was great fun", " True"]


@pytest.fixture(scope="module")
def causal(tiny_causal: Path):
    return load_causal(str(tiny_causal), device="cpu")


@pytest.fixture(scope="module")
def hflm(tiny_causal: Path):
    lm_eval_hf = pytest.importorskip("lm_eval.models.huggingface")
    return lm_eval_hf.HFLM(pretrained=str(tiny_causal), batch_size=2, device="cpu")


def _requests(tokenizer) -> list[tuple[list[int], list[list[int]]]]:
    """Mixed-length contexts, each with 1-, 2- and 3-token continuations (a varying number of them)."""
    requests = []
    for i, text in enumerate(CONTEXTS):
        words = tokenizer.encode(" it was great fun for the whole family, and the actors are bad")
        continuations = [words[i:i + n] for n in (1 + i % 3, 3, 2, 1)][: 2 + i % 3]
        requests.append((encode_context(tokenizer, text), continuations))
    return requests


def _brute(model, context: list[int], continuation: list[int]) -> tuple[float, bool]:
    """One full forward over context + continuation: log_softmax, gather."""
    with torch.no_grad():
        logits = model(torch.tensor([context + continuation])).logits[0].float()
    logp = torch.log_softmax(logits, -1)[len(context) - 1:len(context) - 1 + len(continuation)]
    targets = torch.tensor(continuation)
    return float(logp.gather(-1, targets[:, None]).sum()), bool((logp.argmax(-1) == targets).all())


@pytest.mark.parametrize("batch_size", [1, 3])
def test_score_choices_equals_brute_force(causal, batch_size: int) -> None:
    model, tokenizer = causal
    requests = _requests(tokenizer)
    assert {len(c) for _, conts in requests for c in conts} >= {1, 2, 3}
    usage = Usage()
    scores = score_choices(model, requests, batch_size=batch_size, device="cpu", usage=usage)
    assert [len(s) for s in scores] == [len(conts) for _, conts in requests]
    for (context, continuations), example in zip(requests, scores):
        for continuation, score in zip(continuations, example):
            logprob, greedy = _brute(model, context, continuation)
            assert score.logprob == pytest.approx(logprob, abs=1e-4)
            assert score.greedy == greedy and score.tokens == len(continuation)
    # every context ran once, every continuation ran all but its last token
    assert usage.context_tokens == sum(len(ctx) for ctx, _ in requests)
    assert usage.continuation_tokens == sum(len(c) - 1 for _, conts in requests for c in conts)


def test_score_choices_truncates_the_context_as_lm_eval(causal) -> None:
    """Over the window, each choice keeps the last window + 1 - len(choice) context tokens: choices of different
    lengths then see different contexts, and each still equals the brute force over lm-eval's input."""
    model, tokenizer = causal
    context = encode_context(tokenizer, CONTEXTS[3])
    continuations = [tokenizer.encode(" positive")[:1], tokenizer.encode(" it was great fun")[:3]]
    window = len(context) - 2
    (scores,) = score_choices(model, [(context, continuations)], batch_size=2, window=window)
    for continuation, score in zip(continuations, scores):
        kept = (context + continuation)[-(window + 1):]
        logprob, _ = _brute(model, kept[:len(kept) - len(continuation)], continuation)
        assert score.logprob == pytest.approx(logprob, abs=1e-4)


def test_encode_pair_matches_lm_eval(causal, hflm) -> None:
    _, tokenizer = causal
    pairs = [("Question: good? Answer: ", "yes"), ("the film was", " bad"), ("Sentiment:\n", "positive"),
             ("x  ", " y"), (tokenizer.bos_token + "Review: fun", " ok")]
    for context, continuation in pairs:
        assert encode_pair(tokenizer, context, continuation) == tuple(hflm._encode_pair(context, continuation))
    # HFLM's default add_bos_token=None keeps the tokenizer's own special tokens: this one adds no BOS
    assert hflm.add_bos_token is None
    assert encode_context(tokenizer, "the film") == hflm.tok_encode("the film")
    assert encode_context(tokenizer, "the film", add_bos=True)[0] == tokenizer.bos_token_id
    # an empty context is the prefix token (BOS), as lm-eval's loglikelihood makes it
    assert encode_pair(tokenizer, "", " yes") == ([tokenizer.bos_token_id], tokenizer.encode(" yes"))


def test_score_texts_equals_lm_eval_loglikelihood(causal, hflm) -> None:
    from lm_eval.api.instance import Instance

    model, tokenizer = causal
    examples = [(CONTEXTS[0] + " ", ["yes", "no"]), (CONTEXTS[1], [" great", " bad and boring"]),
                (CONTEXTS[4], [" positive", " negative", " neutral"])]
    instances = [Instance("loglikelihood", {}, (context, choice), i)
                 for i, (context, choice) in enumerate((c, ch) for c, chs in examples for ch in chs)]
    theirs = hflm.loglikelihood(instances, disable_tqdm=True)
    ours = [s for example in score_texts(model, tokenizer, examples, batch_size=2) for s in example]
    assert len(ours) == len(theirs)
    for score, (logprob, greedy) in zip(ours, theirs):
        assert score.logprob == pytest.approx(logprob, abs=1e-4) and score.greedy == greedy
    first = score_texts(model, tokenizer, examples[:1])[0]
    assert [s.chars for s in first] == [3, 2]


def test_generate_greedy_equals_per_example_generate(causal) -> None:
    model, tokenizer = causal
    contexts = [encode_context(tokenizer, text) for text in CONTEXTS]
    pad_before = tokenizer.pad_token
    usage = Usage()
    texts = generate_greedy(model, tokenizer, contexts, max_new_tokens=6, stop=[], batch_size=3, usage=usage)
    assert tokenizer.pad_token == pad_before  # the caller's tokenizer is not changed
    for context, text in zip(contexts, texts):
        with torch.no_grad():
            out = model.generate(torch.tensor([context]), max_new_tokens=6, do_sample=False,
                                 pad_token_id=tokenizer.eos_token_id)
        assert text == tokenizer.decode(out[0, len(context):], skip_special_tokens=True)
    assert usage.context_tokens == sum(len(c) for c in contexts) and usage.continuation_tokens > 0
    # a stop string cuts the text at its first occurrence
    stop = next(t[1:3] for t in texts if len(t) > 3)
    cut = generate_greedy(model, tokenizer, contexts, max_new_tokens=6, stop=[stop], batch_size=2)
    for full, text in zip(texts, cut):
        assert stop not in text and full.startswith(text)
        assert text == (full[:full.index(stop)] if stop in full else full)


def test_cut_at_stop() -> None:
    assert lm_scoring.cut_at_stop("yes\n\nQuestion: no", ["\n\n", "Question:"]) == "yes"
    assert lm_scoring.cut_at_stop("yes", ["", "\n"]) == "yes"


@pytest.mark.gpu
def test_vllm_backend_matches_the_hf_engine(tmp_path_factory: pytest.TempPathFactory) -> None:
    """vLLM's prompt_logprobs scores and greedy texts agree with the HF engine (on CUDA, both in float16)."""
    from benchkit.train import vllm_backend

    if not vllm_backend.available():
        pytest.skip("needs vllm and a CUDA GPU")
    from conftest import _tiny_causal_builder

    # head size 64: what vLLM's attention kernels support (the default tiny model's is 16)
    folder = _tiny_causal_builder()(tmp_path_factory.mktemp("tiny-causal-vllm"), hidden=128, heads=2)
    model, tokenizer = load_causal(str(folder), device="cuda", dtype=torch.float16)
    llm = vllm_backend.load(str(folder), dtype="float16", gpu_memory_utilization=0.3, enforce_eager=True)
    requests = _requests(tokenizer)
    ours = score_choices(model, requests, batch_size=4)
    theirs = vllm_backend.score_choices(llm, requests)
    for mine, other in zip(ours, theirs):
        assert [s.tokens for s in mine] == [s.tokens for s in other]
        assert [s.logprob for s in other] == pytest.approx([s.logprob for s in mine], abs=0.05)
    contexts = [encode_context(tokenizer, text) for text in CONTEXTS]
    texts = vllm_backend.generate_greedy(llm, contexts, max_new_tokens=4, stop=["\n"])
    assert len(texts) == len(contexts) and all("\n" not in t for t in texts)
