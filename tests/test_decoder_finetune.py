"""Decoder-only (causal) models train with the same methods as encoders: a classifier on the last token (LoRA and full
fine-tuning through the real CLI, the saved model reloads and predicts the same), what a causal model cannot train
is refused before training, and batches pad with EOS without moving the last token."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, _tiny_causal_builder

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("decoder_finetune")

DEV = REPO / "data" / "glue-mini" / "SST-2" / "dev.tsv"
QUICK = ("--set", "bootstrap_resamples=0", "--set", "select=last", "--set", "max_length=64")
# What a random-init decoder with LoRA reaches on glue-mini SST-2 in under a minute of CPU: the 2-layer model with
# hidden 256 (frozen random embeddings: wider ones carry more of the words), 5 epochs at 2e-3 reach 60.1% dev
# accuracy against a majority class of 50.9%; the test asks for 5 points above the majority.
LEARNS = ("--set", "epochs=5", "--set", "learning_rate=2e-3", *QUICK)
MARGIN = 0.05


def cli(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=900, env=env, check=False)


def gold_labels() -> dict[str, str]:
    """SST-2 dev's labels as the card names them (ids are the data rows' indices)."""
    with DEV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return {str(i): ("positive" if row[1] == "1" else "negative") for i, row in enumerate(rows)}


def predictions(folder: Path, split: str = "dev") -> dict[str, Any]:
    lines = (folder / "predictions" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["id"]: row["prediction"] for row in map(json.loads, lines)}


def only_run(out: Path) -> tuple[Path, dict[str, Any]]:
    (record,) = sorted((out / "runs").rglob("record.json"))
    return record.parent, json.loads(record.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wider_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_causal_builder()(tmp_path_factory.mktemp("tiny-causal-256"), hidden=256)


@pytest.fixture(scope="module")
def lora_run(wider_causal: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    pytest.importorskip("peft")
    out = tmp_path_factory.mktemp("decoder-lora")
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--model", wider_causal, "--method", "lora",
                 "--seeds", "1", "--out", out, "--quiet", "--no-release", *LEARNS, cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return only_run(out)


@pytest.fixture(scope="module")
def full_run(tiny_causal: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("decoder-full")
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_causal, "--method", "full",
                 "--seeds", "1", "--out", out, "--quiet", "--no-release", "--set", "epochs=1",
                 "--set", "max_train_samples=64", *QUICK, cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return only_run(out)


def test_causal_models_are_told_from_encoders(tiny_causal: Path, tiny_model: Path,
                                             full_run: tuple[Path, dict[str, Any]]) -> None:
    from benchkit.train.decoders import config_is_causal, is_causal

    assert is_causal(tiny_causal) and not is_causal(tiny_model)
    assert is_causal(full_run[0] / "model")  # a saved LlamaForSequenceClassification is still a decoder
    assert not is_causal(tiny_causal / "absent")
    assert config_is_causal({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]})
    assert config_is_causal({"model_type": "qwen2"})  # no architectures listed: the causal-LM mapping decides
    assert not config_is_causal({"model_type": "bert", "architectures": ["BertLMHeadModel"]})  # an encoder
    assert not config_is_causal({"model_type": "t5", "is_encoder_decoder": True})


def test_lora_on_a_causal_model_learns_sst2(lora_run: tuple[Path, dict[str, Any]]) -> None:
    folder, record = lora_run
    gold, predicted = gold_labels(), predictions(folder)
    assert sorted(predicted) == sorted(gold) and set(predicted.values()) <= {"negative", "positive"}
    accuracy = sum(predicted[i] == label for i, label in gold.items()) / len(gold)
    majority = Counter(gold.values()).most_common(1)[0][1] / len(gold)
    assert accuracy == pytest.approx(record["results"]["dev"]["metrics"]["accuracy"])
    assert accuracy >= majority + MARGIN, (accuracy, majority)
    # LoRA on q_proj and v_proj (peft's default for Llama) and the classification head "score" trains in full
    adapter = json.loads((folder / "model" / "adapter_config.json").read_text(encoding="utf-8"))
    assert sorted(adapter["target_modules"]) == ["q_proj", "v_proj"] and adapter["modules_to_save"] == ["score"]
    hidden, layers, r = 256, 2, 8
    assert record["costs"]["trainable_parameters"] == layers * 2 * (2 * hidden * r) + hidden * 2


def test_the_lora_model_reloads_and_predicts_the_same(lora_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    folder, _ = lora_run
    tokenizer = json.loads((folder / "model" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tokenizer["pad_token"] == tokenizer["eos_token"]  # padded with EOS, saved with the model
    out = tmp_path / "dev.jsonl"
    result = cli("predict", folder, "--split", "dev", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    again = {row["id"]: row["prediction"] for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert again == predictions(folder)


def test_a_full_fine_tune_saves_a_model_that_reloads(full_run: tuple[Path, dict[str, Any]], tiny_causal: Path,
                                                     tmp_path: Path) -> None:
    folder, record = full_run
    assert record["results"]["dev"]["examples"] == len(gold_labels())
    config = json.loads((folder / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["LlamaForSequenceClassification"]
    assert config["pad_token_id"] == config["eos_token_id"] == 1
    out = tmp_path / "dev.jsonl"
    result = cli("predict", folder, "--split", "dev", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    again = {row["id"]: row["prediction"] for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert again == predictions(folder)


def test_padding_with_eos_keeps_each_rows_last_token(tiny_causal: Path) -> None:
    """pad == eos: the classifier pools the rightmost non-pad token, so a padded row scores as it does alone."""
    import torch
    from transformers import AutoTokenizer

    from benchkit.cards.catalog import load_task
    from benchkit.train import decoders
    from benchkit.train.heads import HEADS

    card = load_task("glue-mini/sst2")
    tokenizer = decoders.prepare_tokenizer(AutoTokenizer.from_pretrained(str(tiny_causal)), tiny_causal)
    assert tokenizer.pad_token_id == tokenizer.eos_token_id and tokenizer.padding_side == "right"
    model = HEADS.get("class").build(str(tiny_causal), card).eval()
    assert model.config.pad_token_id == tokenizer.eos_token_id
    texts = ["a gorgeous , witty , seductive movie .", "bad"]
    with torch.no_grad():
        batch = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
        alone = torch.cat([model(**tokenizer([t], return_tensors="pt")).logits for t in texts])
    assert torch.allclose(batch, alone, atol=1e-5)


def test_prompt_tunings_left_padding_is_saved_with_the_tokenizer(tiny_causal: Path, tmp_path: Path) -> None:
    """peft's soft prompt reaches the model as inputs_embeds (no pad ids to find the last token by): those batches pad
    on the left, and the saved tokenizer says so, so ``benchkit predict`` pads as the run did."""
    from transformers import AutoTokenizer

    from benchkit.train import decoders

    tokenizer = decoders.prepare_tokenizer(AutoTokenizer.from_pretrained(str(tiny_causal)), tiny_causal, left=True)
    tokenizer.save_pretrained(str(tmp_path))
    again = AutoTokenizer.from_pretrained(str(tmp_path))
    assert again.padding_side == "left" and again.pad_token == again.eos_token


def test_pairs_are_separated_for_a_tokenizer_that_would_join_them(tiny_causal: Path, tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from benchkit.train.decoders import pair_separator

    assert pair_separator(AutoTokenizer.from_pretrained(str(tiny_causal))) == "\n"  # byte-level BPE concatenates
    assert pair_separator(AutoTokenizer.from_pretrained(str(tiny_model))) == ""  # BERT's [SEP]


@pytest.mark.parametrize("head", ["tags", "choice", "candidate", "span"])
def test_heads_a_causal_model_cannot_train_are_refused_before_training(head: str, tiny_causal: Path,
                                                                      tiny_model: Path) -> None:
    from benchkit.errors import BenchkitError
    from benchkit.train.decoders import check_head

    with pytest.raises(BenchkitError) as caught:
        check_head(tiny_causal, head, "some/task")
    problem = caught.value.problems[0]
    assert problem.field == "--model" and problem.hint and "decoder-only" in problem.message
    check_head(tiny_model, head, "some/task")  # encoders train them
    check_head(tiny_causal, "class", "some/task")


def test_lora_targets_come_from_peft_for_llama(tiny_causal: Path) -> None:
    pytest.importorskip("peft")
    from benchkit.train.methods import method_spec, preflight

    preflight(method_spec("lora"), str(tiny_causal))  # q_proj/v_proj found on the meta-device model
    preflight(method_spec("ia3"), str(tiny_causal))


# --- SFT: the label's verbaliser after the card's prompt -----------------------------------------------------------

SFT = ("--set", "objective=sft", "--set", "epochs=1", "--set", "max_train_samples=128", "--set", "learning_rate=2e-3",
       "--set", "bootstrap_resamples=0", "--set", "max_length=64")


def sft_batch(tokenizer: Any, texts: list[str], labels: list[int], setting: str = "auto",
              max_length: int = 64) -> tuple[Any, dict[str, list], Any]:
    from benchkit.cards.catalog import load_task
    from benchkit.train.heads import head_for

    card = load_task("glue-mini/sst2")
    head = head_for(card, {"objective": "sft", "chat_template": setting})
    encoded = head.encode({"id": [str(i) for i in range(len(texts))], "text": texts, "label": labels}, tokenizer,
                          card, max_length)
    return head, encoded, card


@pytest.mark.parametrize("fixture", ["tiny_causal", "tiny_causal_chat"])
def test_sft_scores_each_label_as_the_zero_shot_engine_does(fixture: str, request: pytest.FixtureRequest) -> None:
    """Before training, the SFT head's label scores are the zero-shot engine's log-likelihoods (lm_scoring), so an
    SFT model is scored exactly as zero-shot asks the model; the training loss counts the gold answer only."""
    import torch
    from transformers import AutoTokenizer

    from benchkit.train import decoders
    from benchkit.train.lm_scoring import score_choices

    folder = request.getfixturevalue(fixture)
    tokenizer = decoders.prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder)), folder)
    head, encoded, card = sft_batch(tokenizer, ["a gorgeous , witty , seductive movie .", "bad"], [1, 0])
    model = head.wrap(head.build(str(folder), card), 64, 0).eval()
    batch = head.collate(tokenizer)([{k: encoded[k][i] for k in encoded} for i in range(2)])
    with torch.no_grad():
        scores = model(**batch).logits
    requests = [([t for t, m in zip(ids[0], masks[0]) if m == 0],
                 [[t for t, m in zip(s, ms) if m == decoders.ANSWER] for s, ms in zip(ids, masks)])
                for ids, masks in zip(encoded["input_ids"], encoded["answer_mask"])]
    engine = [[c.logprob for c in row] for row in score_choices(model.inner, requests)]
    assert torch.allclose(scores, torch.tensor(engine), atol=1e-4)
    model.train()
    with torch.no_grad():
        loss = model(**batch).loss  # the gold answers' tokens (and their ends), mean per token
    gold = [(ids[label], masks[label]) for ids, masks, label in zip(encoded["input_ids"], encoded["answer_mask"],
                                                                   [1, 0])]
    assert loss > 0 and all(sum(1 for m in masks if m) >= 2 for _, masks in gold)


def test_sft_under_a_chat_template_is_a_user_message_and_an_assistant_reply(tiny_causal_chat: Path) -> None:
    from transformers import AutoTokenizer

    from benchkit.train import decoders

    tokenizer = decoders.prepare_tokenizer(AutoTokenizer.from_pretrained(str(tiny_causal_chat)), tiny_causal_chat)
    head, encoded, _ = sft_batch(tokenizer, ["bad"], [0])
    ids, masks = encoded["input_ids"][0][1], encoded["answer_mask"][0][1]  # the "positive" answer
    text = tokenizer.decode(ids)
    assert text.startswith("<s><|user|>\nbad\nQuestion:") and "Answer:</s>\n<|assistant|>\npositive</s>" in text
    answer = tokenizer.decode([t for t, m in zip(ids, masks) if m == decoders.ANSWER])
    assert answer.strip() == "positive"  # the reply (the generation prompt's newline moves to it, as lm-eval does)
    assert [tokenizer.convert_ids_to_tokens(t) for t, m in zip(ids, masks) if m == decoders.END] == ["</s>"]
    off, plain, _ = sft_batch(tokenizer, ["bad"], [0], setting="off")
    assert off.name != head.name  # cached apart
    assert tokenizer.decode(plain["input_ids"][0][1]) == "bad\nQuestion: Is this sentence positive or negative?\n" \
                                                         "Answer: positive</s>"


def test_sft_answers_are_never_truncated(tiny_causal: Path) -> None:
    from transformers import AutoTokenizer

    from benchkit.train import decoders

    tokenizer = decoders.prepare_tokenizer(AutoTokenizer.from_pretrained(str(tiny_causal)), tiny_causal)
    long = " ".join(["a gorgeous , witty , seductive movie ."] * 10)
    _, encoded, _ = sft_batch(tokenizer, [long], [1], max_length=16)
    for ids, masks in zip(encoded["input_ids"][0], encoded["answer_mask"][0]):
        assert len(ids) == 16 and masks[0] == 0  # the context lost its first tokens
        assert tokenizer.decode([t for t, m in zip(ids, masks) if m]).strip() in ("negative</s>", "positive</s>")


@pytest.fixture(scope="module")
def sft_run(tiny_causal: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    pytest.importorskip("peft")
    out = tmp_path_factory.mktemp("decoder-sft")
    # select=best (the default): evaluates the holdout every epoch and loads the best checkpoint back
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_causal, "--method", "lora",
                 "--seeds", "1", "--out", out, "--quiet", "--no-release", *SFT, cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return only_run(out)


def test_sft_runs_end_to_end_and_predicts_label_strings(sft_run: tuple[Path, dict[str, Any]], tiny_causal: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoTokenizer

    from benchkit.cards.catalog import load_task
    from benchkit.train.heads import head_for

    folder, record = sft_run
    assert record["recipe"]["objective"] == "sft" and record["selection"]["split"]
    predicted = predictions(folder)
    assert sorted(predicted) == sorted(gold_labels()) and set(predicted.values()) <= {"negative", "positive"}
    adapter = json.loads((folder / "model" / "adapter_config.json").read_text(encoding="utf-8"))
    assert sorted(adapter["target_modules"]) == ["q_proj", "v_proj"] and not adapter["modules_to_save"]
    # the saved adapter over the base model, through the run's head, predicts what the run wrote
    card = load_task("glue-mini/sst2")
    head = head_for(card, record["recipe"])
    model = head.wrap(PeftModel.from_pretrained(head.build(str(tiny_causal), card), str(folder / "model")), 64, 0)
    tokenizer = AutoTokenizer.from_pretrained(str(folder / "model"))
    gold = gold_labels()
    with DEV.open(encoding="utf-8", newline="") as handle:
        texts = [row[0] for row in list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
    ids = sorted(gold, key=int)[:24]
    encoded = head.encode({"id": ids, "text": [texts[int(i)] for i in ids], "label": [0] * len(ids)}, tokenizer,
                          card, 64)
    batch = head.collate(tokenizer)([{k: encoded[k][i] for k in encoded if k != "labels"} for i in range(len(ids))])
    with torch.no_grad():
        again = head.decode(model.eval()(**batch).logits.numpy(), card, {})
    assert again == [predicted[i] for i in ids]


def test_what_sft_cannot_train_is_refused_before_training(tiny_causal: Path, tiny_model: Path) -> None:
    from benchkit.cards.catalog import load_task
    from benchkit.errors import BenchkitError
    from benchkit.train.methods import method_spec, preflight

    sst2, stsb = load_task("glue-mini/sst2"), load_task("glue-mini/stsb")
    sft = {"objective": "sft"}
    preflight(method_spec("lora"), str(tiny_causal), sst2, sft)
    for spec, model, card, field in ((method_spec("full"), tiny_model, sst2, "objective"),  # an encoder
                                     (method_spec("full"), tiny_causal, stsb, "objective"),  # a number target
                                     (method_spec("prompt"), tiny_causal, sst2, "--method")):
        with pytest.raises(BenchkitError) as caught:
            preflight(spec, str(model), card, sft)
        assert caught.value.problems[0].field == field and caught.value.problems[0].hint
