"""Readers: one per format, each turning files (or a Hub dataset) into a ``RawTable``.

Importing this package is cheap: readers import pandas/pyarrow/datasets inside their functions.
"""

from __future__ import annotations

from benchkit.sources.base import FORMATS, Format, RawTable, read_table
from benchkit.sources import delimited, jsonfiles, conll, parquet, hub  # noqa: F401  (register formats)

__all__ = ["FORMATS", "Format", "RawTable", "read_table"]
