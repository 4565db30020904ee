"""Peak memory of one run: CUDA's allocator peak on a GPU, else the process's resident set sampled in a thread
(``ru_maxrss`` never goes down, so it cannot tell one run of a grid from the next)."""

from __future__ import annotations

import resource
import threading
from pathlib import Path


def _rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # non-Linux fallback (kB on Linux, B on macOS)


class PeakMemory:
    def __init__(self, cuda: bool, interval: float = 0.05):
        self.cuda = cuda
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def kind(self) -> str:
        return "cuda_max_allocated" if self.cuda else "process_rss"

    def __enter__(self) -> "PeakMemory":
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            self.peak = _rss_bytes()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc: object) -> None:
        if self.cuda:
            import torch

            self.peak = int(torch.cuda.max_memory_allocated())
        else:
            self._stop.set()
            if self._thread:
                self._thread.join()
            self.peak = max(self.peak, _rss_bytes())
