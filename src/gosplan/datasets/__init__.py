"""Real economies shipped inside gosplan, loadable by name.

Each dataset is a folder beside this file holding the economy in gosplan's table
format (Parquet, under ``economy/``) and a ``PROVENANCE.md`` that says where every number comes
from. ``scripts/build_datasets.py`` rebuilds the folders from the published
files in ``shared/data`` with the readers of :mod:`gosplan.sources.published`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from gosplan.errors import UnknownIdError

HERE = Path(__file__).parent

#: name -> one line on what it is
DATASETS = {
    "uk_2010": "ONS UK Input-Output Analytical Tables 2010, 127 products, GBP million (Crown copyright, OGL)",
    "usa_2014": "WIOD 2016 USA national IO table 2014, 56 industries, USD million, with hours and persons (CC BY 4.0)",
    "wiod_2011_7regions": "WIOD 2013 world IO table 2011 aggregated to 7 regions x 35 sectors, USD million",
}


def names() -> list[str]:
    """The names of the shipped datasets."""
    return list(DATASETS)


def path(name: str) -> Path:
    """The folder of a shipped dataset."""
    if name not in DATASETS:
        raise UnknownIdError(f"unknown dataset {name!r}; shipped datasets: {', '.join(DATASETS)}")
    return HERE / name


def provenance(name: str) -> str:
    """The provenance text of a shipped dataset."""
    return (path(name) / "PROVENANCE.md").read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def load(name: str):
    """Load a shipped economy by name (see :data:`DATASETS`). The result is immutable and cached."""
    from gosplan.sources.tables import read_economy

    return read_economy(path(name) / "economy")
