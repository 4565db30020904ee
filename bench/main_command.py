"""Where the time of the README's main command goes: `benchkit run` (glue-mini, minilm-l6, then the release) in an
empty folder with an empty tokenization cache, as a new user first runs it.

Per run, from its record and run.log: setup (model load, data reading, tokenization), training, evaluation
(dev/test predictions, bootstrap CI); then start-up (imports, planning, before the first run) and the release.

Usage: python bench/main_command.py [--checkout PATH] [--out DIR] [-- extra benchkit run arguments]
  --checkout  the benchkit checkout to time (default: this one), e.g. a `git worktree` of an older commit
Prints a table and the glue-mini suite score line; exit code is benchkit's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _log_start(run_log: Path) -> float:
    first = run_log.read_text(encoding="utf-8").splitlines()[0]
    return datetime.strptime(first[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=REPO)
    parser.add_argument("--out", type=Path, help="Working folder (default: a new temporary one).")
    args, extra = parser.parse_known_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="benchkit-main-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(args.checkout.resolve()), "BENCHKIT_CACHE": str(work / "cache"),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "DVC_NO_ANALYTICS": "1"}
    started = time.time()
    result = subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "--quiet", *[a for a in extra if a != "--"]],
                            cwd=work, env=env, capture_output=True, text=True)
    ended = time.time()
    print(result.stdout[-3000:] if result.returncode == 0 else result.stdout + result.stderr)

    rows = []
    for path in sorted((work / "results" / "runs").rglob("record.json")):
        if "releases" in path.parts:
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        begun, finished = _log_start(path.parent / "run.log"), path.stat().st_mtime
        costs = record["costs"]
        rows.append((record["task"]["id"], begun, finished, costs["train_seconds"], costs["eval_seconds"],
                     costs["train_samples"] * costs["epochs"] / max(costs["train_seconds"], 1e-9), record["score"]))
    rows.sort(key=lambda r: r[1])
    print(f"{'phase':<22} {'seconds':>8}  {'train samples/s':>15}  {'score':>6}")
    if rows:
        print(f"{'start-up':<22} {rows[0][1] - started:>8.1f}")
    for task, begun, finished, train, evaluate, rate, score in rows:
        setup = finished - begun - train - evaluate
        print(f"{task + ' setup':<22} {setup:>8.1f}")
        print(f"{task + ' training':<22} {train:>8.1f}  {rate:>15.1f}  {score * 100:>6.2f}")
        print(f"{task + ' evaluation':<22} {evaluate:>8.1f}")
    if rows:
        print(f"{'release':<22} {ended - rows[-1][2]:>8.1f}")
    print(f"{'total':<22} {ended - started:>8.1f}")
    print(f"folder: {work}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
