"""Readers and writers: gosplan's own table format, pymrio, and the raw formats of shipped data.

``read_economy`` takes a path in gosplan's format (a folder of CSV or Parquet
tables, or an Excel workbook) or the name of a shipped dataset.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from gosplan import datasets
from gosplan.sources.tables import read_economy as _read_path
from gosplan.sources.tables import write_economy


def read_economy(source: str | os.PathLike):
    """An economy from a path in gosplan's format or a shipped dataset's name
    (:func:`gosplan.datasets.names` with kind ``economy``)."""
    path = datasets.resolve(source, "economy")
    if path.is_relative_to(datasets.HERE):
        return _shipped(path)
    return _read_path(path)


@lru_cache(maxsize=8)
def _shipped(path: Path):
    # a shipped economy never changes and Economy is immutable: read it once per process
    return _read_path(path)


__all__ = ["read_economy", "write_economy"]
