"""A Hugging Face Hub dataset at a pinned revision, through ``datasets.load_dataset``.

Works offline from the local cache (``HF_DATASETS_OFFLINE=1``) and from a local dataset folder given as
``source.repo``. ClassLabel columns are turned into their label strings so labels travel as strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import FORMATS, Format, RawTable
from benchkit.sources.parquet import to_python

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source


def read_hub(split: str, options: "ReadOptions", source: "Source") -> RawTable:
    import datasets

    where = f"hub:{source.repo}" + (f"/{source.config}" if source.config else "") + f"@{source.revision}"
    try:
        data = datasets.load_dataset(source.repo, source.config, revision=source.revision, split=split)
    except ValueError as err:
        message = str(err).splitlines()[0]
        hint = "check the split name in the card" if "split" in message.lower() else "check source.repo/config"
        raise BenchkitError(Problem(f"cannot load split '{split}': {message}", file=where, hint=hint)) from None
    except (FileNotFoundError, ConnectionError, OSError, datasets.exceptions.DatasetNotFoundError) as err:
        raise BenchkitError(Problem(
            f"cannot load the dataset: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=where,
            hint="check source.repo, source.config and source.revision; offline, the dataset must be in the local cache")) from None
    frame = to_python(data.to_pandas())
    for name, feature in data.features.items():
        if isinstance(feature, datasets.ClassLabel):  # ints -> the dataset's own label strings; -1 = hidden
            frame[name] = [feature.int2str(int(v)) if v is not None and v >= 0 else None for v in frame[name]]
    return RawTable(where, frame, list(range(len(frame))), "row")


FORMATS.add("hub", Format("hub", read_hub, frozenset(), "a Hugging Face Hub dataset: source.repo, source.config, "
                                                       "source.revision (pinned); splits name hf_split", local=False))
