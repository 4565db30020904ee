"""A Hugging Face Hub dataset at a pinned revision, or a local copy of one, through ``datasets``.

Where the data come from (a local copy under ``--data-dir``, or the Hub) is decided in ``sources.hub_local``; the
loader hands this reader a ``Source`` whose ``repo`` is the local folder in the first case. ClassLabel columns (and
lists of ClassLabel, as tagging datasets store tags) are turned into their label strings so labels travel as
strings; the dataset's declared features are kept on the table for ``validation.schema`` to compare with the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import DeclaredColumn, RawTable, register_reader
from benchkit.sources.hub_local import local_copy, resolve_revision
from benchkit.sources.parquet import to_python

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source


def _declared(feature: Any) -> DeclaredColumn:
    import datasets

    if isinstance(feature, datasets.ClassLabel):
        return DeclaredColumn("class_label", tuple(feature.names))
    item = getattr(feature, "feature", None)
    if item is not None:  # List / Sequence / LargeList
        inner = _declared(item)
        return DeclaredColumn("list", inner.names, inner.kind)
    dtype = getattr(feature, "dtype", None)
    if dtype in ("string", "large_string"):
        return DeclaredColumn("text")
    if dtype == "bool" or (dtype or "").startswith(("int", "uint", "float")):
        return DeclaredColumn("number")
    return DeclaredColumn("other")


def _readme_configs(folder: Path) -> list[str]:
    """Config names a repository's dataset card declares (``configs:`` in its YAML header)."""
    readme = folder / "README.md"
    if not readme.is_file():
        return []
    import yaml

    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return []
    try:
        header = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return []
    configs = header.get("configs") if isinstance(header, dict) else None
    return [c["config_name"] for c in configs or [] if isinstance(c, dict) and "config_name" in c]


def _load_copy(folder: Path, split: str, source: "Source") -> Any:
    import datasets

    copy = local_copy(source, folder)
    if copy.layout == "export":
        saved = datasets.load_from_disk(str(copy.folder))
        if isinstance(saved, datasets.Dataset):
            return saved
        if split not in saved:
            raise ValueError(f"Unknown split \"{split}\". Should be one of {list(saved)}.")
        return saved[split]
    if copy.layout == "parquet_conversion":
        return datasets.load_dataset(str(folder), data_dir=copy.config_dir, split=split)
    name = source.config if source.config in _readme_configs(folder) else None
    return datasets.load_dataset(str(folder), name, split=split)


def _load_hub(split: str, source: "Source") -> tuple[Any, str]:
    import datasets

    revision = resolve_revision(source)
    where = f"hub:{source.repo}" + (f"/{source.config}" if source.config else "") + f"@{revision}"
    return datasets.load_dataset(source.repo, source.config, revision=revision, split=split), where


def _read(split: str, source: "Source", where: str, load: Any) -> RawTable:
    """Load with ``load() -> (dataset, where)``, with benchkit's messages for what datasets raises."""
    import datasets

    quiet = not datasets.utils.are_progress_bars_disabled()
    if quiet:  # "Generating train split" bars would interleave with benchkit's own output
        datasets.disable_progress_bars()
    try:
        data, where = load()
    except RuntimeError as err:  # datasets >= 4 refuses repositories that hold a loading script
        raise BenchkitError(Problem(
            f"cannot load split '{split}': {str(err).splitlines()[0]}", file=where,
            hint=f"download the Hub's Parquet conversion into --data-dir: huggingface-cli download {source.repo} "
                 f"--repo-type dataset --revision refs/convert/parquet --local-dir <data-dir>/{source.dir}")) from None
    except ValueError as err:
        message = str(err).splitlines()[0]
        hint = "check the split name in the card" if "split" in message.lower() else "check source.repo/config"
        raise BenchkitError(Problem(f"cannot load split '{split}': {message}", file=where, hint=hint)) from None
    except (FileNotFoundError, ConnectionError, OSError, datasets.exceptions.DatasetNotFoundError) as err:
        raise BenchkitError(Problem(
            f"cannot load the dataset: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=where,
            hint="check source.repo, source.config and source.revision; offline, the dataset must be in the local "
                 "cache or in --data-dir under the card's source.dir")) from None
    finally:
        if quiet:
            datasets.enable_progress_bars()
    frame = to_python(data.to_pandas())
    declared = {name: _declared(feature) for name, feature in data.features.items()}
    for name, column in declared.items():
        if column.kind == "class_label":  # ints -> the dataset's own label strings; -1 = hidden
            frame[name] = [column.names[int(v)] if v is not None and v >= 0 else None for v in frame[name]]
        elif column.kind == "list" and column.item == "class_label":
            frame[name] = [None if v is None else [column.names[int(t)] for t in v] for v in frame[name]]
    return RawTable(where, frame, list(range(len(frame))), "row", declared=declared)


def read_hub(split: str, options: "ReadOptions", source: "Source") -> RawTable:
    """A split from the Hub (or its cache) at the card's revision; a local folder given as ``source.repo`` is read
    as a local copy."""
    if Path(source.repo or "").is_dir():
        return read_copy(Path(source.repo or ""), split, source)
    where = f"hub:{source.repo}" + (f"/{source.config}" if source.config else "") + f"@{source.revision}"
    return _read(split, source, where, lambda: _load_hub(split, source))


def read_copy(folder: Path, split: str, source: "Source") -> RawTable:
    """A split from a local copy of the dataset (see ``sources.hub_local``); messages name the folder."""
    return _read(split, source, str(folder), lambda: (_load_copy(folder, split, source), str(folder)))


register_reader("hub", read_hub, read_copy=read_copy)
