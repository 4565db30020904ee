"""Where ``benchkit new task`` puts a task's files: a task whose files sit in one folder of the suite's data folder
reads them there; files from anywhere else are copied to ``<data folder>/<task>/<name>`` (said in one line each) and,
in a DVC repository, tracked with ``dvc add``. Nothing is copied before the card inferred from the files validates:
``staged`` links the files into a temporary data folder shaped like the final one, which is what is validated."""

from __future__ import annotations

import contextlib
import filecmp
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchkit.errors import BenchkitError, Problem


@dataclass
class Placement:
    """The files' folder under the data folder (``source.dir``) and the copies that put them there."""

    data_dir: Path
    source_dir: str
    copies: list[tuple[Path, Path]] = field(default_factory=list)  # (given file, its place under the data folder)

    @property
    def folder(self) -> Path:
        return self.data_dir / self.source_dir


def plan(files: list[Path], data_dir: Path, task: str, force: bool = False) -> Placement:
    """Files already in one folder under ``data_dir`` stay; otherwise each goes to ``data_dir/task/<its name>``. A
    different file already at a place is refused (``--force`` replaces it)."""
    folders = {f.absolute().parent for f in files}
    if len(folders) == 1:
        inside = within(next(iter(folders)), data_dir)
        if inside is not None:
            return Placement(data_dir, inside)
    placement = Placement(data_dir, task)
    names: dict[str, Path] = {}
    for file in files:
        if file.name in names:
            raise BenchkitError(Problem(f"two files named {file.name} ({names[file.name]} and {file})", file=str(file),
                                        field="FILE", hint="rename one: both would be copied to "
                                                           f"{placement.folder}/{file.name}"))
        names[file.name] = file
        target = placement.folder / file.name
        if target.exists() and file.resolve() == target.resolve():
            continue  # already in place
        if target.exists() and not force and not filecmp.cmp(file, target, shallow=False):
            raise BenchkitError(Problem(f"a different file is already at {target}", file=str(file), field="FILE",
                                        hint="pass --force to replace it, or --task to name another task"))
        placement.copies.append((file, target))
    return placement


def within(folder: Path, data_dir: Path) -> str | None:
    """``folder`` relative to ``data_dir``, or None: as named (a DVC-tracked file is a link into .dvc/cache, but its
    folder is where the user put it), else with links followed (a data folder that is a link to another disk)."""
    for candidate, root in ((folder.absolute(), data_dir.absolute()), (folder.resolve(), data_dir.resolve())):
        if candidate.is_relative_to(root):
            return candidate.relative_to(root).as_posix() or "."
    return None


@contextlib.contextmanager
def staged(files: list[Path], placement: Placement) -> Iterator[Path]:
    """A temporary data folder holding the files at their final places, as links to the given files."""
    with tempfile.TemporaryDirectory(prefix="benchkit-new-task-") as tmp:
        folder = Path(tmp) / placement.source_dir
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            (folder / file.name).symlink_to(file.resolve())
        yield Path(tmp)


def copy_in(placement: Placement, echo: Callable[[str], None]) -> None:
    """Copy each file to its place (a temporary file renamed, so a crash leaves no half file)."""
    for source, target in placement.copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.copying")
        shutil.copyfile(source, part)
        if target.is_symlink() or target.exists():
            target.unlink()  # a DVC-protected link or read-only hardlink is replaced, not written through
        part.replace(target)
        echo(f"copied {source} to {target}")


def dvc_root(start: Path) -> Path | None:
    """The DVC repository holding ``start`` (a folder with ``.dvc/``), or None."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def track(placement: Placement, root: Path, echo: Callable[[str], None]) -> None:
    """``dvc add`` what holds the copied files when the benchmark is a DVC repository: the output that already
    tracks them (data/SUITE.dvc), else the suite's data folder as a whole (as ``new suite`` documents), else (other
    outputs inside it) the task's folder."""
    repo = dvc_root(root)
    if repo is None or not placement.copies:
        return
    folder = placement.folder.resolve()
    if not folder.is_relative_to(repo):
        return  # a data folder outside the repository is not DVC's to track here
    data = placement.data_dir.resolve()
    tracked = next((f for f in (folder, *folder.parents) if f.is_relative_to(repo) and f != repo
                    and f.with_name(f.name + ".dvc").is_file()), None)
    inner = any(data.rglob("*.dvc")) if data.is_dir() else False
    what = tracked or (data if data != repo and not inner else folder)
    done = subprocess.run([sys.executable, "-m", "dvc", "add", "-q", str(what.relative_to(repo))], cwd=repo,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:  # the card and the copies are in place and valid: say what is left to do
        echo(f"warning: dvc add {what.relative_to(repo)} failed ({(done.stderr or done.stdout).strip()[:200]}); "
             "the card and the files are in place: track them by hand")
        return
    dvc_file = what.with_name(what.name + ".dvc").relative_to(repo)
    echo(f"dvc: tracking {what.relative_to(repo)} ({dvc_file}; git add {dvc_file} "
         f"{(what.parent / '.gitignore').relative_to(repo)})")
