"""The shipped data: every dataset in the catalogue is where it says, with its provenance, and
loads by name through its reader."""

from __future__ import annotations

import pytest

from gosplan import datasets
from gosplan.errors import UnknownIdError


@pytest.mark.parametrize("name", datasets.names())
def test_every_dataset_has_its_file_and_provenance(name):
    assert datasets.DATASETS[name].path(name).exists()
    text = datasets.provenance(name).lower()
    assert any(word in text for word in ("licen", "cc by", "copyright", "open data")), f"{name}: no licence stated"


@pytest.mark.parametrize("name, voters, projects, budget", [
    ("assen_2024", 84, 14, 100_000),
    ("swiecie_2023", 2553, 22, 1_070_000),
    ("czestochowa_2024_lisiniec", 1356, 34, 364_210),
    ("czestochowa_2024_mirow", 379, 11, 272_579),
])
def test_the_four_elections_load_by_name(name, voters, projects, budget):
    """Counts from each file's META (num_votes, num_projects, budget), Pabulib @ 88cfaba3."""
    from gosplan.democracy.pabulib import read_pabulib

    e = read_pabulib(name)
    assert (e.n_voters, len(e.projects), e.budget) == (voters, projects, budget)


def test_price_series_and_councils_load_by_name():
    from gosplan.democracy.participatory import load_pequod_councils, read_pequod_trace
    from gosplan.prices import read_price_series

    prices = read_price_series("ussr_1922_1924")
    assert len(prices) == 15 and {"date", "series", "value"} <= set(prices.columns)
    councils = load_pequod_councils("dep1ex01")
    assert councils is not None
    assert len(read_pequod_trace("dep1ex01_trace")) == 2  # two planning years


def test_an_unknown_name_lists_what_is_shipped():
    from gosplan.democracy.pabulib import read_pabulib

    with pytest.raises(UnknownIdError, match="assen_2024"):
        read_pabulib("assen_2025")
    with pytest.raises(UnknownIdError, match="usa_2014"):
        datasets.resolve("usa_2015", "economy")
    # a name of another kind is not taken for this one
    with pytest.raises(UnknownIdError, match="shipped election"):
        read_pabulib("uk_2010")
