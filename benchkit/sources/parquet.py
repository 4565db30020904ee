"""Parquet files (the Hub's own conversion format)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchkit.errors import BenchkitError, Problem
from benchkit.sources.base import RawTable, check_file, register_reader

if TYPE_CHECKING:
    from benchkit.cards.schema import ReadOptions, Source


def to_python(frame):
    """Arrow list cells arrive as numpy arrays; the rest of the kit expects plain lists."""
    import numpy as np

    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = [v.tolist() if isinstance(v, np.ndarray) else v for v in frame[column]]
    return frame.astype(object)


def read_parquet(path: str, options: "ReadOptions", source: "Source") -> RawTable:
    import pandas as pd
    import pyarrow

    check_file(path)
    try:
        frame = pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as err:
        raise BenchkitError(Problem(f"not a readable Parquet file: {str(err).splitlines()[0]}", file=path,
                                    hint="check the file and the card's source.format")) from None
    return RawTable(path, to_python(frame), list(range(len(frame))), "row")


register_reader("parquet", read_parquet)
