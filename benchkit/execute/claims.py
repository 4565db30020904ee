"""Run claims: which command trains a run right now, so that two commands on one results folder (two terminals, two
job-array tasks, a resubmitted grid) never train one configuration twice.

A claim is ``<run folder>/claim.json``, created with ``O_CREAT | O_EXCL`` (exclusive on local filesystems and NFS v3+).
It names the owner's host and pid, a unique token, the start time and a heartbeat, which a background thread of the
owner rewrites in place every ``$BENCHKIT_CLAIM_HEARTBEAT`` seconds (default 15) while the run trains; the owner
deletes it when the run ends (its record is written first). A claim is stale when its heartbeat is older than
``$BENCHKIT_CLAIM_STALE`` seconds (default 120), or at once when its owner ran on this host and its pid is gone.
Hosts sharing a results folder must keep their clocks within that limit of each other (NTP), as heartbeats are
compared with the reader's clock.

Taking over a stale claim is race-free: takers go one at a time (``claim.json.takeover``, created exclusively);
the one holding that lock checks that the claim is still the very one it judged stale (same token and heartbeat)
and replaces it by its own with a rename, so the claim file never disappears on the way and no other command can
create one in between.

The executors take a claim before a run starts (``claim_run``) and, finding a live one, run their other runs first
and then wait for it: its record appears (the run counts as done by the other command) or its claim goes away or
goes stale (this command then trains it, resuming from its checkpoints).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from benchkit.atomic import host_name, unique_name

if TYPE_CHECKING:
    from benchkit.train.spec import RunSpec

CLAIM_NAME = "claim.json"
HEARTBEAT_ENV, STALE_ENV, POLL_ENV = "BENCHKIT_CLAIM_HEARTBEAT", "BENCHKIT_CLAIM_STALE", "BENCHKIT_CLAIM_POLL"
HELD_ENV = "BENCHKIT_CLAIMS_HELD"  # set by a command whose child processes train runs it has claimed (--processes)

log = logging.getLogger("benchkit")


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def heartbeat_seconds() -> float:
    return _seconds(HEARTBEAT_ENV, 15.0)


def stale_seconds() -> float:
    return _seconds(STALE_ENV, 120.0)


def poll_seconds() -> float:
    """How often a waiting command looks again at the runs other commands hold."""
    return _seconds(POLL_ENV, 2.0)


def _clock(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Holder:
    """Who holds a claim, as its file says (a file not yet written, or unreadable: its mtime is its heartbeat)."""

    host: str
    pid: int
    token: str
    started: float
    heartbeat: float

    def stale(self, now: float | None = None) -> str | None:
        """Why the claim is stale, or None while its owner is alive."""
        if self.host == host_name() and self.pid > 0 and not _pid_alive(self.pid):
            return f"its process {self.pid} on {self.host} is gone"
        age = (now if now is not None else time.time()) - self.heartbeat
        limit = stale_seconds()
        return f"no heartbeat for {age:.0f}s (limit {limit:g}s, ${STALE_ENV})" if age > limit else None

    def describe(self) -> str:
        return (f"host {self.host} pid {self.pid} (since {_clock(self.started)}, heartbeat "
                f"{max(0.0, time.time() - self.heartbeat):.0f}s ago)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def read_holder(path: Path) -> Holder | None:
    """The claim at ``path``; None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
        stamp = path.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        data = json.loads(text)
        return Holder(str(data["host"]), int(data["pid"]), str(data["token"]), float(data["started"]),
                      float(data["heartbeat"]))
    except (ValueError, KeyError, TypeError):  # being written, or written by a process that died first
        return Holder("unknown", 0, "", stamp, stamp)


class RunClaim:
    """A claim this process holds: a heartbeat thread keeps it fresh until ``release``."""

    def __init__(self, path: Path, fd: int, holder: Holder):
        self.path, self.fd, self.holder = path, fd, holder
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._write(holder.heartbeat)
        self._thread = threading.Thread(target=self._beat, name=f"claim {path.parent.name}", daemon=True)

    def start(self) -> RunClaim:
        """Start the heartbeat, once the claim is in place."""
        self._thread.start()
        return self

    def _content(self, beat: float) -> bytes:
        h = self.holder
        head = json.dumps({"host": h.host, "pid": h.pid, "token": h.token, "started": round(h.started, 6),
                           "started_utc": _clock(h.started)})
        # the heartbeat has a fixed width, so rewriting it in place never changes the file's length
        return f'{head[:-1]}, "heartbeat": {beat:17.6f}}}\n'.encode()

    def _write(self, beat: float) -> None:
        """Rewrite the claim through its own descriptor: a claim taken over (replaced by the new owner's file) is
        never touched again under its name, so a late heartbeat cannot overwrite the new owner's."""
        with self._lock:
            if self.fd < 0:
                return
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.write(self.fd, self._content(beat))
            os.fsync(self.fd)  # on NFS, other hosts see it now, not at close

    def _beat(self) -> None:
        while not self._stop.wait(heartbeat_seconds()):
            try:
                self._write(time.time())
                if not self.held():
                    log.warning("the claim %s was taken over by another command (no heartbeat seen in time)",
                                self.path)
                    return
            except OSError as error:  # a full disk or a lost mount: the claim goes stale, the run goes on
                log.warning("could not refresh the claim %s: %s", self.path, error)

    def held(self) -> bool:
        """Whether ``claim.json`` is still this claim's file: False only when it is gone or another file. A passing
        error (NFS's ESTALE or EIO) says nothing about the owner, so the heartbeat goes on beating through it."""
        try:
            mine, there = os.fstat(self.fd), os.stat(self.path)
        except FileNotFoundError:
            return False
        except OSError as error:
            log.warning("could not look at the claim %s: %s", self.path, error)
            return True
        return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)

    def release(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self.fd < 0:
                return
            if self.held():
                self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "RunClaim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _create(path: Path) -> RunClaim | None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return None
    return _own(path, fd)


def _own(path: Path, fd: int) -> RunClaim:
    now = time.time()
    return RunClaim(path, fd, Holder(host_name(), os.getpid(), unique_name(), now, now))


def _take_over(path: Path, judged: Holder) -> RunClaim | None:
    """Replace the stale claim ``judged`` by this process's claim; None when another command was quicker.

    Takers go one at a time (``<claim>.takeover``, created exclusively), and the claim file never disappears on the
    way (the new claim replaces the stale one by rename), so no command can create a claim in between."""
    lock = path.with_name(path.name + ".takeover")
    try:
        lock_fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        _clear_stale_lock(lock)
        return None
    try:
        current = read_holder(path)
        if current is None or (current.token, current.heartbeat) != (judged.token, judged.heartbeat):
            return None  # released or refreshed or already taken over since we looked
        fresh = path.with_name(f".{path.name}.{unique_name()}.new")
        claim = _own(path, os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        try:
            os.replace(fresh, path)
        except BaseException:
            claim.release()
            fresh.unlink(missing_ok=True)
            raise
        return claim
    finally:
        os.close(lock_fd)
        lock.unlink(missing_ok=True)


def _clear_stale_lock(lock: Path) -> None:
    """A takeover lock lives for milliseconds; one older than a minute belongs to a taker that died holding it."""
    try:
        if time.time() - lock.stat().st_mtime > 60:
            lock.unlink(missing_ok=True)
    except FileNotFoundError:
        pass


def claim_run(folder: Path) -> RunClaim | Holder:
    """Claim the run in ``folder``: this process's claim, or the live claim of another process. A stale claim is
    taken over (logged with its owner)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CLAIM_NAME
    while True:
        claim = _create(path)
        if claim is not None:
            return claim.start()
        holder = read_holder(path)
        if holder is None:
            continue  # released between our two looks: try again
        reason = holder.stale()
        if reason is None:
            return holder
        claim = _take_over(path, holder)
        if claim is not None:
            log.warning("took over the stale claim of %s on %s: %s", holder.describe(), folder, reason)
            return claim.start()
        time.sleep(0.05)  # another command is taking it over: look again


def claims_held_by_parent() -> bool:
    """The processes of a data-parallel run (``--processes``) never claim (they could not agree to wait or skip):
    the ``benchkit run`` that launches them holds the claims (``hold_plan``)."""
    return os.environ.get(HELD_ENV) == "1" or int(os.environ.get("WORLD_SIZE", "1")) > 1


class NoClaim:
    """The claim of a run whose claim another process holds for this one (``claims_held_by_parent``)."""

    def release(self) -> None: ...

    def __enter__(self) -> "NoClaim":
        return self

    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class Turn:
    """What a command may do with a run: train it (``claim``), wait for its ``holder``, or take its ``record``,
    written by another command."""

    claim: RunClaim | NoClaim | None = None
    holder: Holder | None = None
    record: Path | None = None


def finished_record(folder: Path, config_hash: str, pruned: bool = False) -> Path | None:
    """The run's record, when one of this configuration is in its folder. A pruned trial's record counts only for
    search trials (``pruned``): a plain run of that configuration trains it (as ``iter_records`` has it)."""
    from benchkit.contracts.run_records import RECORD_NAME

    path = folder / RECORD_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("config_hash") != config_hash:
        return None
    return path if pruned or not data.get("pruned") else None


def take_turn(folder: Path, config_hash: str, trial: bool = False) -> Turn:
    """Claim the run unless it is done or another command holds it. The record is looked for again once the claim
    is taken: the command that held it may have finished between the two looks. ``trial``: a search trial, for
    which a pruned record is done too."""
    if claims_held_by_parent():
        return Turn(claim=NoClaim())
    record = finished_record(folder, config_hash, trial)
    if record is not None:
        return Turn(record=record)
    got = claim_run(folder)
    if isinstance(got, Holder):
        return Turn(holder=got)
    record = finished_record(folder, config_hash, trial)
    if record is not None:
        got.release()
        return Turn(record=record)
    return Turn(claim=got)


class Waits:
    """The runs other commands hold: when to look at each again, and the one line said when a wait starts."""

    def __init__(self) -> None:
        self.next_look: dict[str, float] = {}

    def hold(self, config_hash: str, holder: Holder, label: str, say: Callable[[str], None]) -> None:
        if config_hash not in self.next_look:
            say(f"wait  {label}: claimed by another command, {holder.describe()}; running the others first, then "
                "waiting for it")
        self.next_look[config_hash] = time.monotonic() + poll_seconds()

    def due(self, config_hash: str) -> bool:
        return time.monotonic() >= self.next_look.get(config_hash, 0.0)

    def pause(self, hashes: Iterable[str]) -> None:
        """Sleep until the first of ``hashes`` is due for another look."""
        soonest = min((self.next_look.get(h, 0.0) for h in hashes), default=0.0)
        time.sleep(max(0.0, soonest - time.monotonic()))

    def done(self, config_hash: str) -> None:
        self.next_look.pop(config_hash, None)


@contextmanager
def hold_plan(plan: list[RunSpec], say: Callable[[str], None]) -> Iterator[None]:
    """Claim every run of ``plan`` not done yet (waiting for those other commands hold) and keep the claims while
    the block runs: for data-parallel runs (``--processes``), whose processes cannot agree to wait or skip, the
    launching command claims and its processes train (``HELD_ENV``)."""
    from benchkit.train.spec import run_label

    held: list[RunClaim | NoClaim] = []
    waits = Waits()
    # Claims are taken in one global order (by configuration hash) and a held run is waited for before any later
    # one is claimed: two such commands on one folder then never each hold a run the other waits for (a deadlock,
    # since both heartbeats keep their claims fresh).
    queue = sorted(plan, key=lambda s: s.config_hash)
    try:
        while queue:
            spec = queue[0]
            if not waits.due(spec.config_hash):
                waits.pause([spec.config_hash])
                continue
            turn = take_turn(spec.folder, spec.config_hash)
            if turn.holder is not None:
                waits.hold(spec.config_hash, turn.holder, run_label(spec), say)
                continue
            queue.pop(0)
            if turn.claim is not None:
                held.append(turn.claim)
        os.environ[HELD_ENV] = "1"
        yield
    finally:
        os.environ.pop(HELD_ENV, None)
        for claim in held:
            claim.release()
