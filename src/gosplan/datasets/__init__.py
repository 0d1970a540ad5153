"""The real data shipped inside gosplan, and its catalogue.

Each dataset is a folder beside this file with its data and a ``PROVENANCE.md`` that says where
every number comes from and under which licence. This package only knows where things are; the
readers load them by name (:func:`gosplan.sources.read_economy`,
:func:`gosplan.democracy.pabulib.read_pabulib`, :func:`gosplan.prices.read_price_series`,
:func:`gosplan.democracy.participatory.load_pequod_councils`), each through :func:`resolve`.
``scripts/build_datasets.py`` rebuilds the economies from the raw sources kept in the
repository's ``data/`` folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gosplan.errors import UnknownIdError

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Dataset:
    kind: str  #: economy | world | election | prices | councils | trace | results | parameters
    file: str  #: what the readers of its kind read, relative to the dataset's folder
    title: str
    folder: str = ""  #: when several datasets share one folder

    def path(self, name: str) -> Path:
        return HERE / (self.folder or name) / self.file


#: name -> where it is and what it holds
DATASETS = {
    "uk_2010": Dataset(
        "economy", "economy",
        "ONS UK Input-Output Analytical Tables 2010, 127 products, GBP million (Crown copyright, OGL)",
    ),
    "uk_2010_published": Dataset(
        "results", "published_results.json",
        "ONS's published Leontief inverse and Type I multipliers for uk_2010 (OGL)",
        "uk_2010",
    ),
    "usa_2014": Dataset(
        "economy", "economy",
        "WIOD 2016 USA national IO table 2014, 56 industries, USD million, with hours and persons (CC BY 4.0)",
    ),
    "wiod_2011_7regions": Dataset(
        "economy", "economy",
        "WIOD 2013 world IO table 2011 aggregated to 7 regions x 35 sectors, USD million",
    ),
    "wiod_2011": Dataset(
        "world", "world",
        "WIOD 2013 world table 2011, 41 regions x 35 sectors, as a world to plan (value added as a stated proxy for labour)",
    ),
    "assen_2024": Dataset(
        "election", "election.pb",
        "Pabulib: Assen 2024, approval, 84 voters, 14 projects, EUR 100,000 (Equal Shares, add1)",
    ),
    "swiecie_2023": Dataset(
        "election", "election.pb",
        "Pabulib: Swiecie 2023, approval, 2,553 voters, 22 projects, PLN 1,070,000 (Equal Shares, add1)",
    ),
    "czestochowa_2024_lisiniec": Dataset(
        "election", "election.pb",
        "Pabulib: Czestochowa 2024, Lisiniec, cumulative, 1,356 voters, 34 projects, PLN 364,210 (greedy)",
    ),
    "czestochowa_2024_mirow": Dataset(
        "election", "election.pb",
        "Pabulib: Czestochowa 2024, Mirow, cumulative, 379 voters, 11 projects, PLN 272,579 (greedy)",
    ),
    "ussr_1922_1924": Dataset(
        "prices", "prices.csv",
        "Soviet industrial and agricultural price indices 1913-1926 (1913 = 100), the 1923 scissors, one source per row",
    ),
    "ussr_1923": Dataset(
        "parameters", "parameters.csv",
        "the demo's USSR 1924/25: three sectors, each parameter sourced, derived or marked illustrative",
    ),
    "dep1ex01": Dataset(
        "councils", "councils.json.gz",
        "Hahnel's participatory-planning experiment 1: 3,000 consumer and 3,000 worker councils (simulated, EPL-1.0)",
    ),
    "dep1ex01_trace": Dataset(
        "trace", "trace.csv.gz",
        "the pequod-cljs trace of dep1ex01: prices, supplies and demands per planning round",
        "dep1ex01",
    ),
}


def names(kind: str | None = None) -> list[str]:
    """The names of the shipped datasets, of one kind if given."""
    return [n for n, d in DATASETS.items() if kind is None or d.kind == kind]


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownIdError(f"unknown dataset {name!r}; shipped datasets: {', '.join(DATASETS)}") from None


def path(name: str) -> Path:
    """The folder of a shipped dataset."""
    d = _dataset(name)
    return HERE / (d.folder or name)


def provenance(name: str) -> str:
    """The provenance text of a shipped dataset."""
    return (path(name) / "PROVENANCE.md").read_text(encoding="utf-8")


def resolve(source: str | os.PathLike, kind: str) -> Path:
    """The path a reader of ``kind`` should read: ``source`` itself when it exists on disk,
    else the file of the shipped dataset of that kind and name."""
    p = Path(source)
    d = DATASETS.get(str(source))
    if p.exists() or (d is None and (p.suffix or len(p.parts) > 1)):
        return p  # a path: its reader says what is wrong with it
    if d is not None and d.kind == kind:
        return d.path(str(source))
    raise UnknownIdError(f"{source}: no such file, nor a shipped {kind} dataset; shipped: {', '.join(names(kind))}")
