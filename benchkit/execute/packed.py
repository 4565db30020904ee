"""Run a plan as several runs at once per device, each in its own process, across every visible GPU (or the CPU).

A grid is hundreds of small runs, and one small run leaves a large GPU mostly idle. So the packed executor keeps up
to N runs going on each device (``--runs-per-device N``), or as many as fit (``auto``): the device's memory divided
by the run's measured footprint (the peak memory of a finished run of the same model and method, else of the
group's first run, which then runs alone to measure it).

Each run stays what it is in the in-process executor: its own process (``execute.worker``), folder, log, checkpoints
and atomically written record, so the grid resumes exactly as before. Packing gives each run a memory share (a GPU
memory fraction, or a data-segment cap on CPU); a run that runs out of memory in its share fails alone, is retried
alone on a device of its own with the whole memory, and never takes its neighbours down.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.contracts.run_records import RunRecord, iter_records
from benchkit.execute.local import GridProgress, GridResult, RunInterrupted, claim_turn, done_line
from benchkit.train.spec import RunSpec, run_label

MAX_RUNS_PER_DEVICE = 16  # beyond this an H100/H200 gains nothing on GLUE-sized runs (issue 13's measurements)
HEADROOM = 0.9  # of a device's memory, what packing hands out (the CUDA context and fragmentation take the rest)
SPEC_FILE, RESULT_FILE, OUTPUT_FILE = ".worker-spec.pkl", ".worker-result.json", "worker.out"


@dataclass(frozen=True)
class Device:
    name: str  # "cuda:0", "cpu"
    memory: int  # bytes that packing divides among the device's runs (--memory-per-device, else all of it)
    visible: str | None = None  # CUDA_VISIBLE_DEVICES for its runs; None: the CPU
    threads: int = 1  # CPU cores its runs share
    total: int = 0  # the device's own memory (0: the same as ``memory``)


def parse_size(text: str) -> int:
    """``8G``, ``512M``, ``1.5G`` or bytes."""
    units = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))


def local_devices(memory: int | None = None) -> list[Device]:
    """Every visible GPU, each with its total memory (or ``memory``); without one, the CPU with the machine's memory
    (or ``memory``) and its cores."""
    import torch

    if torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = [v.strip() for v in visible.split(",")] if visible else [str(i) for i in range(torch.cuda.device_count())]
        totals = [torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count())]
        return [Device(f"cuda:{i}", memory or total, visible=ids[i], total=total) for i, total in enumerate(totals)]
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return [Device("cpu", memory or total, threads=len(os.sched_getaffinity(0)))]


def measured_footprints(out: Path, gpu: bool) -> dict[tuple[str, str], int]:
    """Peak memory of finished runs per (model, method), measured the way this device measures it."""
    kind = "cuda_max_allocated" if gpu else "process_rss"
    footprints: dict[tuple[str, str], int] = {}
    for _, record in iter_records(out / "runs"):
        if record.costs.peak_memory_kind == kind and record.costs.peak_memory_bytes:
            key = (record.model.name, record.method.name)
            footprints[key] = max(footprints.get(key, 0), int(record.costs.peak_memory_bytes))
    return footprints


@dataclass
class Launched:
    spec: RunSpec
    device: Device
    share: int  # bytes of the device's memory the run may use
    process: subprocess.Popen[bytes]
    alone: bool
    claim: Any = None  # the run's claim (execute.claims), held while its process trains


@dataclass
class Scheduler:
    """Which run starts next, where, and with what share of memory."""

    devices: list[Device]
    runs_per_device: int | None  # None: auto, from footprints
    footprints: dict[tuple[str, str], int]
    reserved: dict[str, int] = field(default_factory=dict)  # device -> bytes handed out
    running: dict[str, int] = field(default_factory=dict)  # device -> runs
    alone: set[str] = field(default_factory=set)  # config hashes retried alone after running out of memory
    measuring: set[tuple[str, str]] = field(default_factory=set)  # groups whose first run measures the footprint

    def share(self, spec: RunSpec, device: Device) -> int | None:
        """The memory share ``spec`` gets on ``device``; None: it runs alone (the whole device)."""
        if spec.config_hash in self.alone:
            return None
        if self.runs_per_device is not None:
            return int(device.memory * (1.0 if self.runs_per_device == 1 else HEADROOM) / self.runs_per_device)
        footprint = self.footprints.get(_group(spec))
        if footprint is None:
            return None
        runs = max(1, min(MAX_RUNS_PER_DEVICE, int(device.memory * HEADROOM // footprint)))
        return int(device.memory * HEADROOM / runs)

    def place(self, spec: RunSpec) -> tuple[Device, int, bool] | None:
        group = _group(spec)
        if group in self.measuring:
            return None  # wait for the group's first run to measure its footprint
        for device in self.devices:
            share = self.share(spec, device)
            used, count = self.reserved.get(device.name, 0), self.running.get(device.name, 0)
            if share is None:
                if count == 0:
                    return device, device.memory, True
                continue
            if count < MAX_RUNS_PER_DEVICE and used + share <= device.memory:
                return device, share, share >= device.memory  # one run per device: it has the device alone
        return None

    def take(self, spec: RunSpec, device: Device, share: int, alone: bool) -> None:
        self.reserved[device.name] = self.reserved.get(device.name, 0) + (device.memory if alone else share)
        self.running[device.name] = self.running.get(device.name, 0) + 1
        if alone and self.runs_per_device is None and _group(spec) not in self.footprints:
            self.measuring.add(_group(spec))

    def release(self, launched: Launched, record: RunRecord | None) -> None:
        device = launched.device
        self.reserved[device.name] -= device.memory if launched.alone else launched.share
        self.running[device.name] -= 1
        group = _group(launched.spec)
        self.measuring.discard(group)
        if record is not None and record.costs.peak_memory_bytes and group not in self.footprints:
            self.footprints[group] = int(record.costs.peak_memory_bytes)


def _group(spec: RunSpec) -> tuple[str, str]:
    return spec.model.name, spec.method


def worker_env(device: Device, share: int, runs_on_device: int) -> dict[str, str]:
    """The environment of a run's process on ``device``: its GPU (or none) and its memory share in bytes, which the
    worker turns into a fraction of the GPU's own memory (``worker.memory_fraction``), so --memory-per-device caps a
    run alone on its GPU too; on CPU, its cores."""
    from benchkit.execute.worker import SHARE_ENV

    env = {SHARE_ENV: str(int(share))}
    if device.visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = device.visible
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
        threads = str(max(1, device.threads // max(1, runs_on_device)))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    return env


def _launch(spec: RunSpec, device: Device, share: int, runs_on_device: int) -> subprocess.Popen[bytes]:
    spec.folder.mkdir(parents=True, exist_ok=True)
    (spec.folder / SPEC_FILE).write_bytes(pickle.dumps(spec))
    (spec.folder / RESULT_FILE).unlink(missing_ok=True)
    env = {**os.environ, **worker_env(device, share, runs_on_device)}
    output = (spec.folder / OUTPUT_FILE).open("ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "benchkit.execute.worker", str(spec.folder / SPEC_FILE),
                                 str(spec.folder / RESULT_FILE)], env=env, stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        output.close()


def _outcome(launched: Launched, code: int) -> tuple[str, str, RunRecord | None]:
    from benchkit.contracts.run_records import RECORD_NAME
    from benchkit.execute.worker import EXIT_OOM

    folder = launched.spec.folder
    result_file = folder / RESULT_FILE
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else {}
    for name in (SPEC_FILE, RESULT_FILE):
        (folder / name).unlink(missing_ok=True)
    output = folder / OUTPUT_FILE
    if output.is_file() and not output.stat().st_size:
        output.unlink()
    status = result.get("status") or ("done" if code == 0 else "oom" if code == EXIT_OOM else "failed")
    if status == "done":
        return status, "", RunRecord.parse(json.loads((folder / RECORD_NAME).read_text(encoding="utf-8")))
    message = result.get("message") or (f"the run's process was killed by signal {-code}" if code < 0
                                        else f"the run's process exited with code {code}")
    return status, message, None


def execute_packed(plan: list[RunSpec], out: Path, progress: GridProgress, devices: list[Device],
                   runs_per_device: int | None, poll_seconds: float = 0.2) -> GridResult:
    """Run ``plan`` with up to ``runs_per_device`` runs at once per device (None: as many as their measured
    footprints allow). Finished runs (same configuration hash) are skipped, as in the in-process executor, and each
    run is claimed before its process starts (``execute.claims``): runs another command holds wait until the
    others have started, and count as skipped once that command has written their records."""
    from benchkit.execute.claims import Waits

    waits = Waits()
    result = GridResult()
    finished = {record.config_hash: path for path, record in iter_records(out / "runs")}
    gpu = devices[0].visible is not None
    scheduler = Scheduler(devices, runs_per_device, measured_footprints(out, gpu))
    pending: deque[RunSpec] = deque()
    for spec in plan:
        if spec.config_hash in finished:
            result.skipped.append((spec, finished[spec.config_hash]))
            progress.print(f"skip  {run_label(spec)}: done earlier ({finished[spec.config_hash].parent})")
        else:
            pending.append(spec)
    running: list[Launched] = []
    try:
        while pending or running:
            pending = _start_what_fits(pending, running, scheduler, waits, result, progress, runs_per_device)
            time.sleep(poll_seconds)
            _collect_finished(running, pending, scheduler, result, progress)
    except KeyboardInterrupt:
        for launched in running:
            launched.process.terminate()
        for launched in running:
            launched.process.wait()
            launched.claim.release()
        raise RunInterrupted(f"interrupted with {len(running)} run(s) going ({len(result.done)} finished and kept, "
                             f"{len(pending) + len(running)} left)") from None
    order = {spec.config_hash: i for i, spec in enumerate(plan)}
    result.done.sort(key=lambda item: order[item[0].config_hash])
    return result


def _start_what_fits(pending: deque[RunSpec], running: list[Launched], scheduler: Scheduler, waits: Any,
                     result: GridResult, progress: GridProgress, runs_per_device: int | None) -> deque[RunSpec]:
    """Claim and launch every pending run that fits on a device now (adding it to ``running``); returns the runs
    still waiting, in order."""
    waiting: deque[RunSpec] = deque()
    while pending:
        spec = pending.popleft()
        placed = scheduler.place(spec) if waits.due(spec.config_hash) else None
        if placed is None:
            waiting.append(spec)
            if spec.config_hash in scheduler.alone:  # it waits for an idle device: start nothing else
                waiting.extend(pending)
                pending.clear()
            continue
        claim, held = claim_turn(spec, run_label(spec), waits, result, progress)
        if claim is None:
            if held:
                waiting.append(spec)
            continue
        device, share, alone = placed
        scheduler.take(spec, device, share, alone)
        runs_here = scheduler.running[device.name]
        try:
            process = _launch(spec, device, share, 1 if alone else max(runs_here, runs_per_device or 1))
        except BaseException:
            claim.release()
            raise
        running.append(Launched(spec, device, share, process, alone, claim))
        how = "alone" if alone else f"{share / 2 ** 30:.1f} GiB of {device.memory / 2 ** 30:.1f}"
        progress.print(f"start {run_label(spec)} on {device.name} ({how})")
    return waiting


def _collect_finished(running: list[Launched], pending: deque[RunSpec], scheduler: Scheduler, result: GridResult,
                      progress: GridProgress) -> None:
    """Take the runs whose processes ended out of ``running``: done, failed, or out of memory in a shared device
    (queued first in ``pending``, to run alone)."""
    for launched in [r for r in running if r.process.poll() is not None]:
        running.remove(launched)
        try:
            status, message, record = _outcome(launched, int(launched.process.returncode))
        finally:
            launched.claim.release()
        scheduler.release(launched, record)
        label = run_label(launched.spec)
        if status == "done" and record is not None:
            result.done.append((launched.spec, record))
            progress.print(done_line(label, record))
        elif status == "oom" and not launched.alone:
            scheduler.alone.add(launched.spec.config_hash)
            pending.appendleft(launched.spec)
            progress.print(f"OOM   {label}: out of memory in its share of {launched.device.name}; retrying it alone")
        else:
            result.failed.append((launched.spec, message))
            progress.print(f"FAIL  {label}: {message[:300]} (log: {launched.spec.folder / 'run.log'})")
        progress.run_finished()
