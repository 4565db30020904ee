"""Start-up and validation time of the CLI: ``benchkit --help`` and ``benchkit validate`` on the GLUE files.

Usage: python bench/cli_speed.py [--data-dir ../shared/data/glue] [--repeat 5]
Reports the median wall time of each command over --repeat runs (each a fresh process, as a user runs it),
and, as the baseline, the start-up of a bare ``python -c pass`` on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str], repeat: int) -> tuple[float, int]:
    times = []
    code = 0
    for _ in range(repeat):
        start = time.perf_counter()
        code = subprocess.run(argv, cwd=REPO, capture_output=True).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data" / "glue"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "benchkit.cli"]
    rows = [
        ("python -c pass (interpreter baseline)", [sys.executable, "-c", "pass"]),
        ("benchkit --help", [*cli, "--help"]),
        ("benchkit ls", [*cli, "ls"]),
        ("benchkit validate glue (cards only)", [*cli, "validate", "glue"]),
        (f"benchkit validate glue --data-dir {args.data_dir}", [*cli, "validate", "glue", "--data-dir", args.data_dir]),
    ]
    print(f"{'command':<72} {'median s':>9}  exit")
    for label, argv in rows:
        seconds, code = timed(argv, args.repeat)
        print(f"{label:<72} {seconds:>9.3f}  {code}")


if __name__ == "__main__":
    main()
