"""Where a Hub-sourced card's data comes from: a local copy under ``--data-dir``, or the Hub at a revision.

A card with ``source.format: hub`` and a ``source.dir`` reads ``<data-dir>/<source.dir>`` when that folder exists, so
the same card works behind a firewall. The folder may be

* the dataset repository as downloaded (``huggingface-cli download <repo> --repo-type dataset --revision <sha>
  --local-dir <data-dir>/<source.dir>``): data files that ``datasets`` finds by its split naming rules, with the
  repository's README ``configs:`` if it has them;
* the Hub's Parquet conversion (``--revision refs/convert/parquet``): ``<config>/<split>/NNNN.parquet``;
* an export made with ``datasets`` (``DatasetDict.save_to_disk``): ``dataset_dict.json`` at the top, or in
  ``<config>/``.

Otherwise the data come from the Hub (or its local cache) at ``source.revision``. A card whose revision could not be
confirmed says ``revision: unconfirmed``; it is then read at the commit the Hub's default branch points to now, and
that commit is what run records keep.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from benchkit.errors import BenchkitError, Problem

if TYPE_CHECKING:
    from benchkit.cards.schema import Source

UNCONFIRMED = "unconfirmed"
# Files that describe a repository rather than hold its data; hashing them would tie a run to its README.
_NOT_DATA = {".gitattributes", "README.md", "dataset_infos.json"}

Layout = Literal["export", "parquet_conversion", "repository"]


@dataclass(frozen=True)
class LocalCopy:
    folder: Path  # the folder datasets reads (for an export or conversion: the config's own folder when it has one)
    layout: Layout
    config_dir: str | None = None  # repository layout: the config's data_dir inside the folder, if any


def local_folder(source: "Source", data_dir: Path | None) -> Path | None:
    """``<data-dir>/<source.dir>`` when the card names a folder and it exists."""
    if data_dir is None or source.dir in ("", "."):
        return None
    folder = Path(data_dir) / source.dir
    return folder if folder.is_dir() else None


def local_copy(source: "Source", folder: Path) -> LocalCopy:
    config = source.config
    for candidate in ([folder / config] if config else []) + [folder]:
        if (candidate / "dataset_dict.json").is_file():
            return LocalCopy(candidate, "export")
    if config and (folder / config).is_dir() and not (folder / "README.md").is_file():
        return LocalCopy(folder, "parquet_conversion", config)
    scripts = sorted(p.name for p in folder.glob("*.py"))
    has_data = any(p.suffix in (".parquet", ".arrow", ".jsonl", ".json", ".csv", ".tsv", ".txt")
                   for p in folder.rglob("*") if p.is_file() and not _hidden(p, folder))
    if scripts and not has_data:
        raise BenchkitError(Problem(
            f"the folder holds a loading script ({scripts[0]}) and no data files; datasets 4 and later run no scripts",
            file=str(folder), field="source.dir",
            hint=f"download the Hub's Parquet conversion instead: huggingface-cli download {source.repo} --repo-type "
                 f"dataset --revision refs/convert/parquet --local-dir {folder}"))
    return LocalCopy(folder, "repository")


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def folder_sha256(folder: Path) -> str:
    """One digest over the data files of a local copy (relative path and content of each, in sorted order);
    hidden folders (huggingface-cli's ``.cache``) and repository descriptions are left out."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if _hidden(path, folder) or path.name in _NOT_DATA:
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def resolve_revision(source: "Source") -> str:
    """The commit to read: the card's pinned revision, or for ``unconfirmed`` the default branch's commit now (from
    the Hub, or offline from the local cache's ``refs/main``)."""
    assert source.repo and source.revision
    if source.revision != UNCONFIRMED:
        return source.revision
    from huggingface_hub import constants

    ref = Path(constants.HF_HUB_CACHE) / f"datasets--{source.repo.replace('/', '--')}" / "refs" / "main"
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false") or constants.HF_HUB_OFFLINE
    if not offline:
        from huggingface_hub import HfApi

        try:
            sha = HfApi().dataset_info(source.repo).sha
            if sha:
                return sha
        except Exception:  # noqa: BLE001 -- any Hub failure falls back to the cache below
            pass
    if ref.is_file():
        return ref.read_text(encoding="utf-8").strip()
    raise BenchkitError(Problem(
        f"cannot resolve the revision of {source.repo}: the card's revision is unconfirmed and the Hub cannot be "
        f"reached (nor is the dataset in the local cache {ref.parent.parent})", file=f"hub:{source.repo}",
        field="source.revision",
        hint=f"download it into --data-dir ({source.dir}), or pin a commit with source.revision"))
