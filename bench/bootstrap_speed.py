"""Bootstrap CIs: the per-resample slow path against the sufficient-statistics fast path, on the same data and draws.

    python bench/bootstrap_speed.py [--resamples 1000] [--slow-resamples 20] [--out /tmp/bootstrap-speed]

Data: a CoNLL-2003-sized dev file (3,250 sentences, ~51k tokens, ~5.9k chunks of PER/LOC/ORG/MISC in IOB2, the
sizes of the real valid.txt) and predictions that miss, retype or cut about 8% of the chunks and invent a few,
written by a seeded RNG into ``--out`` and scored through ``benchkit score conll2003/eng-iob2`` (the real card,
reader and CLI); then the glue-mini release's suite CI on the embedded dev data with seeded predictions of two seeds.
The slow path is today's engine (every metric of the card recomputed from the drawn examples per resample); it runs
``--slow-resamples`` resamples and its per-resample cost is multiplied out to ``--resamples``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

TYPES = ("PER", "LOC", "ORG", "MISC")
TYPE_SHARE = (0.31, 0.31, 0.23, 0.15)  # CoNLL-2003 dev: 1842 PER, 1837 LOC, 1341 ORG, 922 MISC


def synthetic_conll(rng: np.random.Generator, sentences: int = 3250) -> list[list[str]]:
    """IOB2 tag lists shaped like CoNLL-2003 dev: ~15.8 tokens and ~1.8 chunks per sentence, chunks of 1-3 tokens."""
    out: list[list[str]] = []
    for _ in range(sentences):
        length = int(np.clip(rng.poisson(15.8), 2, 120))
        tags = ["O"] * length
        position = int(rng.integers(0, 3))
        for _ in range(int(rng.poisson(1.83))):
            size = int(rng.choice([1, 2, 3], p=[0.55, 0.35, 0.10]))
            if position + size > length:
                break
            kind = str(rng.choice(TYPES, p=TYPE_SHARE))
            tags[position:position + size] = [f"B-{kind}"] + [f"I-{kind}"] * (size - 1)
            position += size + 1 + int(rng.integers(0, 4))
        out.append(tags)
    return out


def noisy_predictions(rng: np.random.Generator, gold: list[list[str]]) -> list[list[str]]:
    """A ~92%-F1 tagger: per chunk, 3% missed, 3% retyped, 2% cut short; a few chunks invented on O tokens."""
    out = []
    for tags in gold:
        pred = list(tags)
        for i, tag in enumerate(tags):
            if tag.startswith("B-"):
                roll = rng.random()
                end = i + 1
                while end < len(tags) and tags[end] == "I-" + tag[2:]:
                    end += 1
                if roll < 0.03:
                    pred[i:end] = ["O"] * (end - i)
                elif roll < 0.06:
                    other = str(rng.choice([t for t in TYPES if t != tag[2:]]))
                    pred[i:end] = [f"B-{other}"] + [f"I-{other}"] * (end - i - 1)
                elif roll < 0.08 and end - i > 1:
                    pred[end - 1] = "O"
            elif tag == "O" and rng.random() < 0.004 and (i == 0 or pred[i - 1] == "O"):
                pred[i] = f"B-{rng.choice(TYPES)}"
        out.append(pred)
    return out


def write_conll(folder: Path, seed: int = 0) -> Path:
    """<folder>/data/conll2003/valid.txt and <folder>/predictions.jsonl; returns the data folder."""
    rng = np.random.default_rng(seed)
    gold = synthetic_conll(rng)
    pred = noisy_predictions(rng, gold)
    data = folder / "data" / "conll2003"
    data.mkdir(parents=True, exist_ok=True)
    lines = ["-DOCSTART- -X- -X- O", ""]
    for k, tags in enumerate(gold):
        if k and k % 15 == 0:
            lines += ["-DOCSTART- -X- -X- O", ""]
        lines += [f"w{k}_{i} NN I-NP {tag}" for i, tag in enumerate(tags)] + [""]
    (data / "valid.txt").write_text("\n".join(lines), encoding="utf-8")
    with (folder / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for k, tags in enumerate(pred):
            handle.write(json.dumps({"id": str(k), "prediction": tags}) + "\n")
    return folder / "data"


def cli_seconds(args: list[str]) -> tuple[float, dict[str, Any]]:
    """CPU seconds (user + system) of one ``benchkit`` command and its JSON output (CPU, not wall: the machine may
    be shared)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "benchkit.cli", *args, "--json"], check=False, capture_output=True,
                          text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(done.stderr)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), json.loads(done.stdout)


def slow_split(card: Any, refs: list[Any], preds: list[Any], groups: Any, resamples: int, seed: int) -> float:
    """CPU seconds of the per-resample engine (scoring.bootstrap_ci over the card's task score) for ``resamples``."""
    from benchkit.scoring.bootstrap import bootstrap_ci
    from benchkit.scoring.task import resampling_units, task_split_score

    units = resampling_units(card, len(refs), groups)
    grouped = groups is not None

    def score(r: Any, p: Any, groups: Any = None) -> float:
        return task_split_score(card, list(r), list(p), list(groups) if grouped and groups is not None else None)

    started = time.process_time()
    bootstrap_ci(refs, preds, score, resamples=resamples, seed=seed, groups=units)
    return time.process_time() - started


def conll_rows(folder: Path, resamples: int, slow_resamples: int) -> list[tuple[str, float, float]]:
    from benchkit.cards import catalog
    from benchkit.predictions import read_predictions
    from benchkit.scoring.bootstrap import split_ci
    from benchkit.scoring.task import compute_metrics, gold_targets
    from benchkit.validation.frames import load_frames

    data = write_conll(folder)
    base = ["score", "conll2003/eng-iob2", str(folder / "predictions.jsonl"), "--data-dir", str(data)]
    none, _ = cli_seconds([*base, "--resamples", "0"])
    fast, result = cli_seconds([*base, "--resamples", str(resamples)])
    card = catalog.load_task("conll2003/eng-iob2")
    frame = load_frames(card, data, ["dev"])["dev"]
    refs, preds = gold_targets(card, frame), read_predictions(folder / "predictions.jsonl", card, frame)
    compute_metrics(card, refs, preds)  # imports warmed up
    slow = slow_split(card, refs, preds, None, slow_resamples, 0) / slow_resamples * resamples
    started = time.process_time()
    split_ci(card, refs, preds, point=0.0, resamples=resamples, seed=0)
    fast_only = time.process_time() - started
    print(f"conll2003/eng-iob2 synthetic dev: {len(refs)} sentences, seqeval_f1 "
          f"{result['metrics']['seqeval_f1']:.4f}, CI [{result['ci']['low']:.4f}, {result['ci']['high']:.4f}]")
    return [("benchkit score conll2003/eng-iob2 --resamples 0", none, none),
            (f"benchkit score conll2003/eng-iob2 --resamples {resamples}", none + slow, fast),
            (f"  its {resamples} resamples alone (in process: bootstrap_ci vs split_ci)", slow, fast_only)]


def old_release_loop(suite: Any, cards: dict[str, Any], gold: dict[str, Any], runs: dict[str, Any],
                     resamples: int, seed: int) -> None:
    """The release CI as benchkit computed it before benchkit.scoring.bootstrap: per resample, task and drawn seed, every
    metric of the card recomputed from the drawn examples, then the score rule."""
    from benchkit.scoring.bootstrap import Units
    from benchkit.scoring.scores import rule_score
    from benchkit.scoring.task import compute_metrics, resampling_units

    rng = np.random.default_rng(seed)
    units = {t: {s: Units(len(gold[t][s]), resampling_units(cards[t], len(gold[t][s]), None)) for s in gold[t]}
             for t in runs}
    for _ in range(resamples):
        results = {}
        for task, rs in runs.items():
            drawn = rng.integers(0, len(rs), size=len(rs))
            draws = {s: u.expand(u.draw(rng))[0] for s, u in units[task].items()}
            sums: dict[str, dict[str, list[float]]] = {}
            cache: dict[int, dict[str, dict[str, float]]] = {}
            for i in drawn.tolist():
                if i not in cache:
                    cache[i] = {s: compute_metrics(cards[task], [gold[task][s][j] for j in idx],
                                                   [rs[i][s][j] for j in idx]) for s, idx in draws.items()}
                for s, values in cache[i].items():
                    for m, v in values.items():
                        sums.setdefault(s, {}).setdefault(m, []).append(v)
            results[task] = {s: {m: float(np.mean(v)) for m, v in ms.items()} for s, ms in sums.items()}
        rule_score(suite, results)


def release_rows(resamples: int, slow_resamples: int) -> list[tuple[str, float, float]]:
    """The glue-mini release's suite CI (``release.scores.bootstrap_suite``) on the embedded dev data, two seeds per
    task of seeded noisy predictions (75% of labels right, STS-B gold + N(0, 1))."""
    from benchkit.cards import catalog
    from benchkit.release.scores import CISettings, bootstrap_suite
    from benchkit.scoring.task import gold_targets
    from benchkit.validation.frames import load_frames

    suite = catalog.load_suite("glue-mini")
    cards = {card.id: card for card in suite.tasks}
    rng = np.random.default_rng(1)
    gold, runs = {}, {}
    for task, card in cards.items():
        data = catalog.shipped_data_dir(card)
        assert data is not None
        gold[task] = {"dev": gold_targets(card, load_frames(card, data, ["dev"])["dev"])}
        runs[task] = []
        for _ in range(2):
            refs = gold[task]["dev"]
            preds = ([r + float(rng.normal(0, 1)) for r in refs] if card.labels is None else
                     [r if rng.random() < 0.75 else str(rng.choice(card.labels.names)) for r in refs])
            runs[task].append({"dev": preds})
    from benchkit.scoring.task import compute_metrics

    for task, card in cards.items():  # imports (scipy) and caches warmed up for both paths
        compute_metrics(card, gold[task]["dev"], runs[task][0]["dev"])
    started = time.process_time()
    interval, _ = bootstrap_suite(suite, cards, gold, runs, {}, CISettings(resamples=resamples))
    fast = time.process_time() - started
    started = time.process_time()
    old_release_loop(suite, cards, gold, runs, slow_resamples, 0)
    slow = (time.process_time() - started) / slow_resamples * resamples
    sizes = ", ".join(f"{t.split('/')[1]} {len(g['dev'])}" for t, g in gold.items())
    print(f"glue-mini release CI: dev {sizes}; 2 seeds per task; suite CI {interval}")
    return [(f"glue-mini release suite CI, {resamples} resamples", slow, fast)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--slow-resamples", type=int, default=20, help="resamples the slow path really runs")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bootstrap-speed"))
    args = parser.parse_args()
    rows = conll_rows(args.out, args.resamples, args.slow_resamples) + release_rows(args.resamples,
                                                                                   args.slow_resamples)
    print(f"\nCPU seconds\n{'what':<62} {'slow path':>12} {'fast path':>12} {'ratio':>8}")
    for what, slow, fast in rows:
        print(f"{what:<62} {slow:12.2f} {fast:12.2f} {slow / fast:8.1f}x")


if __name__ == "__main__":
    main()
