"""Training throughput and dev score: benchkit's runner vs. the plain Hugging Face path, same everything else.

The baseline is `transformers.Trainer` configured as `run_glue.py` does by default: every example padded to
max_length (128) and `default_data_collator`, random batches. benchkit uses dynamic padding, length-grouped
batches and cached tokenization (and, on a GPU, bf16 and fused AdamW). Both train the same model on the same rows
with the same learning rate, batch size, epochs, warmup, weight decay and seed, keep the last epoch, and are
scored on the same dev split with the same metric code.

Usage: python bench/train_speed.py [--task glue-mini/sst2] [--model minilm-l6] [--epochs 1] [--max-train-samples 1000]
Prints samples/s of each, their ratio, peak memory, and the dev metrics of each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def plain_trainer(task: str, model_spec: str, data_dir: Path, recipe: dict, seed: int) -> dict:
    import torch
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    from benchkit.cards import catalog
    from benchkit.loading import to_dataset_dict
    from benchkit.scoring.task import compute_metrics
    from benchkit.train.memory import PeakMemory
    from benchkit.train.models import resolve_model
    from benchkit.validation.frames import load_frames

    transformers.utils.logging.disable_default_handler()
    card = catalog.load_task(task)
    frames = load_frames(card, data_dir, ["train", "dev"])
    data = to_dataset_dict(card, frames)
    train = data["train"].shuffle(seed=seed).select(range(min(recipe["max_train_samples"], len(data["train"]))))
    model_folder = str(resolve_model(model_spec).path)
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    pair = "text_pair" in train.column_names

    def encode(batch: dict) -> dict:  # run_glue.py: padding="max_length" (pad_to_max_length=True by default)
        args = (batch["text"], batch["text_pair"]) if pair else (batch["text"],)
        out = tokenizer(*args, padding="max_length", max_length=recipe["max_length"], truncation=True)
        out["label"] = batch["label"]
        return out

    columns = [c for c in train.column_names if c != "label"]
    train_enc = train.map(encode, batched=True, remove_columns=columns)
    dev_enc = data["dev"].map(encode, batched=True, remove_columns=columns)
    regression = card.labels is None
    transformers.set_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(model_folder, num_labels=1 if regression else
                                                               len(card.labels.names))
    cuda = torch.cuda.is_available()
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=recipe["batch_size"],
                             per_device_eval_batch_size=recipe["batch_size"], learning_rate=recipe["learning_rate"],
                             num_train_epochs=recipe["epochs"], warmup_steps=recipe["warmup_ratio"],
                             weight_decay=recipe["weight_decay"], seed=seed, use_cpu=not cuda, report_to="none",
                             save_strategy="no", eval_strategy="no", disable_tqdm=True, logging_strategy="no")
    trainer = Trainer(model=model, args=args, train_dataset=train_enc, data_collator=default_data_collator)
    with PeakMemory(cuda) as memory:
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    logits = trainer.predict(dev_enc).predictions
    predicted = ([float(v) for v in logits[:, 0]] if regression else [card.labels.names[i] for i in logits.argmax(-1)])
    gold = list(frames["dev"]["label"])
    return {"samples_per_second": len(train) * recipe["epochs"] / seconds, "train_seconds": seconds,
            "peak_memory_bytes": memory.peak, "dev": compute_metrics(card, gold, predicted), "rows": len(train)}


def benchkit_runner(task: str, model_spec: str, data_dir: Path, recipe: dict, seed: int) -> dict:
    out = Path(tempfile.mkdtemp())
    overrides = [f"--set={k}={v}" for k, v in recipe.items()] + ["--set=select=last", "--set=bootstrap_resamples=0"]
    subprocess.run([sys.executable, "-m", "benchkit.cli", "run", task, "--model", model_spec, "--seeds", str(seed),
                    "--data-dir", str(data_dir), "--out", str(out), "--quiet", *overrides], check=True,
                   capture_output=True, text=True)
    record = json.loads(next((out / "runs").rglob("record.json")).read_text())
    costs = record["costs"]
    return {"samples_per_second": costs["train_samples_per_second"], "train_seconds": costs["train_seconds"],
            "peak_memory_bytes": costs["peak_memory_bytes"], "dev": record["results"]["dev"]["metrics"],
            "rows": costs["train_samples"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="glue-mini/sst2")
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "glue-mini")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-train-samples", type=int, default=1000)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    recipe = {"learning_rate": args.learning_rate, "batch_size": args.batch_size, "epochs": args.epochs,
              "max_length": 128, "warmup_ratio": 0.1, "weight_decay": 0.01, "max_train_samples": args.max_train_samples}
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU x{os.cpu_count()}"
    print(f"task {args.task}, model {args.model}, {device}, recipe {recipe}, seed {args.seed}")
    base = plain_trainer(args.task, args.model, args.data_dir, recipe, args.seed)
    ours = benchkit_runner(args.task, args.model, args.data_dir, recipe, args.seed)
    for name, result in (("plain Trainer (run_glue defaults: pad to 128)", base), ("benchkit", ours)):
        dev = ", ".join(f"{k} {v * 100:.2f}" for k, v in result["dev"].items())
        print(f"{name:<48} {result['samples_per_second']:8.1f} samples/s  train {result['train_seconds']:7.1f}s  "
              f"peak mem {result['peak_memory_bytes'] / 2**20:7.0f} MiB  dev {dev}")
    print(f"speed ratio benchkit / plain: {ours['samples_per_second'] / base['samples_per_second']:.2f}x; "
          f"peak memory ratio: {ours['peak_memory_bytes'] / base['peak_memory_bytes']:.2f}x")


if __name__ == "__main__":
    main()
