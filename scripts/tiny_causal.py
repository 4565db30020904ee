"""Build a tiny decoder-only language model for tests and benchmarks: a Llama-architecture model from a small config
(random weights) with a byte-level BPE tokenizer trained here on the repo's glue-mini texts.

    python scripts/tiny_causal.py OUT_DIR [--chat-template] [--layers 2] [--hidden 64]

Real code paths, no Hub: the folder loads with ``AutoModelForCausalLM`` / ``AutoTokenizer`` like any local model.
Like Llama's, the tokenizer has a BOS and an EOS token and no padding token (benchkit must handle that).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A Llama-style chat template (what a tokenizer of an instruction-tuned model ships), for the chat-template paths.
CHAT_TEMPLATE = ("{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
                 "{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def corpus_texts(data_dir: Path = REPO / "data" / "glue-mini") -> list[str]:
    """Every text cell of the glue-mini TSV files (the tokenizer's training corpus)."""
    texts: list[str] = []
    for path in sorted(data_dir.rglob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                texts.extend(cell for cell in row if any(c.isalpha() for c in cell))
    return texts


def build(folder: Path, *, layers: int = 2, hidden: int = 64, heads: int = 4, vocab_size: int = 2000,
          chat_template: bool = False, seed: int = 0, window: int = 512) -> Path:
    import transformers
    from tokenizers import ByteLevelBPETokenizer

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus_texts() + ["Question: Answer: True False yes no positive negative"],
                            vocab_size=vocab_size, min_frequency=2, special_tokens=["<s>", "</s>", "<unk>"])
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>",
                                                     eos_token="</s>", unk_token="<unk>", model_max_length=window)
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                                      max_position_embeddings=window, bos_token_id=tokenizer.bos_token_id,
                                      eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    transformers.set_seed(seed)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--chat-template", action="store_true")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    print(build(args.out, layers=args.layers, hidden=args.hidden, chat_template=args.chat_template))


if __name__ == "__main__":
    main()
