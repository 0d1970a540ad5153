"""Readers and writers: gosplan's own table format, pymrio, and the raw formats of shipped data.

``read_economy`` takes a path in gosplan's format (a folder of CSV or Parquet
tables, or an Excel workbook) or the name of a shipped dataset.
"""

from __future__ import annotations

import os
from pathlib import Path

from gosplan.sources.tables import write_economy
from gosplan.sources.tables import read_economy as _read_path


def read_economy(source: str | os.PathLike):
    """An economy from a path in gosplan's format or a shipped dataset's name."""
    from gosplan import datasets

    path = Path(source)
    if not path.exists() and str(source) in datasets.names():
        return datasets.load(str(source))
    return _read_path(path)


__all__ = ["read_economy", "write_economy"]
