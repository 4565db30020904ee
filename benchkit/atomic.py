"""Writes that readers see whole or not at all: a file (temp file, fsync, rename) or a folder (build aside, rename).

Temporary names carry the host, the pid and a random token (``unique_name``), so two commands on two machines that
share a folder (NFS) never pick the same one. ``install_new_dir`` puts a folder in place only where none exists:
of two commands installing one name at once, exactly one succeeds and the other gets ``FileExistsError``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

RENAME_NOREPLACE = 1  # renameat2's flag (Linux 3.15+)
RENAME_EXCL = 4  # renamex_np's flag (macOS 10.12+)
AT_FDCWD = -100


def host_name() -> str:
    """This machine's name, kept to characters that are safe in a file name."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def unique_name() -> str:
    """``<host>.<pid>.<random>``: unique across processes and machines sharing a folder."""
    return f"{host_name()}.{os.getpid()}.{secrets.token_hex(6)}"


def temp_path(final: Path, suffix: str) -> Path:
    """A sibling of ``final`` with a name no other process picks (hidden, so readers of the folder skip it)."""
    return final.parent / f".{final.name}.{unique_name()}{suffix}"


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_work_dir(final: Path, suffix: str = ".building") -> Path:
    """An empty folder next to ``final`` to build it in (same filesystem, so the final rename is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    work = temp_path(final, suffix)
    work.mkdir()
    return work


def install_dir(work: Path, final: Path) -> None:
    """Move a fully built folder into place; an existing ``final`` is replaced by rename, never left half-written."""
    os.chmod(work, 0o755)
    if not final.exists():
        try:
            install_new_dir(work, final)
            return
        except FileExistsError:  # created meanwhile: replaced like any existing one
            pass
    old = make_work_dir(final, ".replaced")
    os.replace(final, old / final.name)
    os.replace(work, final)
    shutil.rmtree(old, ignore_errors=True)


def install_new_dir(work: Path, final: Path) -> None:
    """Rename ``work`` to ``final`` only if ``final`` does not exist (not even as an empty folder, which a plain
    rename would replace on POSIX); ``FileExistsError`` otherwise. Race-free between processes and hosts."""
    os.chmod(work, 0o755)
    if os.name == "nt":
        os.rename(work, final)  # Windows never renames onto an existing name: FileExistsError
        return
    if _rename_noreplace(work, final):
        return
    # Portable fallback: creating the final name is the claim (mkdir is exclusive everywhere, NFS included); the
    # winner then renames its build over its own empty folder, which POSIX rename replaces.
    os.mkdir(final)
    try:
        os.replace(work, final)
    except BaseException:
        os.rmdir(final)
        raise


@contextmanager
def building_dir(final: Path, replace: bool = False, taken: Callable[[], BaseException] | None = None,
                 suffix: str = ".building") -> Iterator[Path]:
    """A work folder beside ``final`` to fill in the ``with`` block; at its end the folder is moved into place
    (``install_dir`` when ``replace``, else ``install_new_dir``: where ``final`` appeared meanwhile, ``taken()`` is
    raised, or ``FileExistsError`` without it). On any failure the work folder is removed: nothing half-written."""
    work = make_work_dir(final, suffix)
    try:
        yield work
        if replace:
            install_dir(work, final)
        else:
            try:
                install_new_dir(work, final)
            except FileExistsError:
                if taken is None:
                    raise
                raise taken() from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _rename_noreplace(source: Path, target: Path) -> bool:
    """The OS's no-overwrite rename where there is one: True when done; False when unavailable here (old kernel,
    a filesystem without it), so the caller falls back; ``FileExistsError`` when ``target`` exists."""
    call = _noreplace_call()
    if call is None:
        return False
    if call(os.fsencode(source), os.fsencode(target)) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST or code == errno.ENOTEMPTY:
        raise FileExistsError(code, os.strerror(code), str(target))
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def _noreplace_call():  # type: ignore[no-untyped-def]
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name, use_errno=True)
        except OSError:
            return None
        if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
            return lambda a, b: libc.renamex_np(a, b, ctypes.c_uint(RENAME_EXCL))
        if hasattr(libc, "renameat2"):
            return lambda a, b: libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, ctypes.c_uint(RENAME_NOREPLACE))
    return None
