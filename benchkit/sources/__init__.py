"""Readers: one per format declared in ``benchkit.contracts.formats``, each turning files (or a Hub dataset) into a
``RawTable``.

Importing this package is cheap: readers import pandas/pyarrow/datasets inside their functions.
"""

from __future__ import annotations

from benchkit.sources.base import READERS, RawTable, read_table, reader, register_reader
from benchkit.sources import delimited, jsonfiles, conll, parquet, hub  # noqa: F401  (register readers)

__all__ = ["READERS", "RawTable", "read_table", "reader", "register_reader"]
