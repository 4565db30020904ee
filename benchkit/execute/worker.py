"""One run in its own process, for executors that run several at once (``execute.packed``) or elsewhere (Slurm).

``python -m benchkit.execute.worker SPEC RESULT`` reads a pickled ``RunSpec``, trains it within its memory share, writes
its record (atomically, as the in-process executor does) and then ``RESULT``: ``{"status": "done" | "oom" | "failed",
"message": ...}``. Its exit code says the same (0, ``EXIT_OOM``, 1), so a parent that lost the result file still knows.

The memory share is what packing gives each run, in bytes: on a GPU, the share divided by the GPU's own total memory
(``torch.cuda.set_per_process_memory_fraction``, so a run that outgrows its share fails alone instead of starving
its neighbours, and ``--memory-per-device`` caps a run that has the GPU alone too); on CPU, a cap on the process's data segment (``RLIMIT_DATA``). An out-of-memory error is reported as
``oom`` so the executor can retry the run with a larger share.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_OOM = 75  # EX_TEMPFAIL: try again (with more memory)
EXIT_ORPHANED = 143  # its command is gone (as a SIGTERM would end it)
SHARE_ENV = "BENCHKIT_MEMORY_SHARE"  # bytes the run may use (GPU or CPU)
# under a memory cap, a thread's stack or a library's pages that cannot be mapped are out-of-memory errors too
OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "can't start new thread",
                "cannot map zero-fill pages")


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's and the CPU allocator's out-of-memory errors (torch raises the CPU one as a RuntimeError; a library
    that cannot map its pages raises an ImportError)."""
    import torch

    if isinstance(error, (MemoryError, torch.OutOfMemoryError)):
        return True
    return any(m in str(error).lower() for m in OOM_MESSAGES)


def memory_fraction(share: int, total: int) -> float:
    """The fraction of a GPU's ``total`` memory that caps a process to ``share`` bytes."""
    if share <= 0 or total <= 0:
        raise ValueError(f"memory share {share} of {total} bytes")
    return min(1.0, share / total)


def apply_memory_share() -> str:
    """Cap this process to its share (``SHARE_ENV``); what was capped, for the run's log."""
    share = os.environ.get(SHARE_ENV)
    if not share:
        return "none (the whole device)"
    import torch

    limit = int(float(share))
    if torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory  # the run's one visible GPU
        fraction = memory_fraction(limit, total)
        torch.cuda.set_per_process_memory_fraction(fraction, 0)
        return f"{limit} bytes (CUDA memory fraction {fraction:.6f} of the GPU's {total} bytes)"
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    return f"{limit} bytes (RLIMIT_DATA)"


def run_spec_file(spec_path: Path, result_path: Path) -> int:
    from benchkit.contracts.run_records import write_record
    from benchkit.execute.local import QuietProgress, run_log
    from benchkit.train.loop import run_one

    spec = pickle.loads(spec_path.read_bytes())
    spec.folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any]
    # appended to: a run retried (alone, after running out of memory) or resumed keeps its earlier attempts' lines
    with run_log(spec.folder, append=(spec.folder / "run.log").is_file()):
        log = logging.getLogger("benchkit")
        try:
            cap = apply_memory_share()
            log.info("run %s (config %s), pid %d, memory share %s, devices %s", spec.card.id, spec.config_hash,
                     os.getpid(), os.environ.get(SHARE_ENV, "all"), os.environ.get("CUDA_VISIBLE_DEVICES", "-"))
            log.info("memory cap %s", cap)
            record = run_one(spec, QuietProgress(lambda _line: None))
            write_record(spec.folder, record)
            result, code = {"status": "done"}, 0
        except Exception as error:  # reported to the executor, which decides: retry with more memory, or fail
            oom = is_out_of_memory(error)
            log.error("run failed%s:\n%s", " (out of memory)" if oom else "", traceback.format_exc())
            message = " ".join(str(error).split()) or type(error).__name__
            result, code = {"status": "oom" if oom else "failed", "message": message}, EXIT_OOM if oom else 1
    from benchkit.atomic import write_atomic

    write_atomic(result_path, json.dumps(result) + "\n")
    return code


ORPHAN_CHECK_SECONDS = 2.0


def exit_with_parent(parent: int, every: float = ORPHAN_CHECK_SECONDS) -> None:
    """Stop this worker when the command that started it is gone (killed, its node lost): the command's run claim
    dies with it, so a worker left training would train beside whichever command takes the claim over next."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        logging.getLogger("benchkit").error("the command that started this run (pid %d) is gone: stopping", parent)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()



def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m benchkit.execute.worker SPEC RESULT", file=sys.stderr)
        return 2
    exit_with_parent(os.getppid())
    return run_spec_file(Path(argv[0]), Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
