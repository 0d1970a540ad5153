"""What a council's proposal costs (gosplan.democracy.costing)."""

from __future__ import annotations

import numpy as np
import pytest

from gosplan.democracy import costing
from gosplan.errors import SchemaError
from gosplan.sources import read_economy


def test_base_year_costs_what_the_base_year_used():
    """The base year's final demand needs exactly the hours the table records as worked
    (B x, summed over industries): the labour values of total final demand."""
    cat = costing.catalogue("usa_2014")
    eco = read_economy("usa_2014")
    # factor_use holds hours per unit of each activity; levels are the base year's activity levels
    hours = float((eco.factor_use @ eco.levels.to_numpy())[list(eco.factor_ids).index("hours")])
    need = {c.factor: c for c in cat.cost(cat.base_basket())}
    assert need["hours"].against == "base year"
    assert need["hours"].supplies == pytest.approx(hours, rel=1e-9)
    # U has zero final demand, so nothing is clipped and the base basket is the base year's
    assert need["hours"].needs == pytest.approx(hours, rel=1e-9)
    assert not need["hours"].over


def test_five_per_cent_more_of_everything_needs_five_per_cent_more_labour():
    cat = costing.catalogue("usa_2014")
    basket = costing.basket(cat, group_changes={g: 5.0 for g in cat.groups})
    assert set(basket) == set(cat.products.index)
    for c in cat.cost(basket):
        assert c.share == pytest.approx(1.05, rel=1e-9)
        assert c.over
        assert "your proposal needs" in c.sentence() and "the base year used" in c.sentence()


def test_labour_cost_is_labour_values_times_amounts():
    from gosplan.analysis import labour_values

    cat = costing.catalogue("usa_2014")
    lv = labour_values(read_economy("usa_2014")).loc["hours"]
    need = {c.factor: c.needs for c in cat.cost({"A01": 10.0, "Q": 2.5})}
    assert need["hours"] == pytest.approx(10.0 * lv["A01"] + 2.5 * lv["Q"], rel=1e-12)


def test_a_products_own_amount_beats_its_change_which_beats_its_group():
    cat = costing.catalogue("usa_2014")
    base = cat.products["base"]
    out = costing.basket(cat, amounts={"A01": 7.0}, changes={"A02": -50.0},
                         group_changes={"A Agriculture, forestry and fishing": 10.0})
    assert out == {"A01": 7.0, "A02": pytest.approx(base["A02"] / 2, abs=1e-6),
                   "A03": pytest.approx(base["A03"] * 1.1, abs=1e-6)}


def test_unknown_group_and_impossible_change_are_refused_by_name():
    cat = costing.catalogue("usa_2014")
    with pytest.raises(SchemaError, match="unknown group 'Z Nowhere'"):
        costing.basket(cat, group_changes={"Z Nowhere": 5.0})
    with pytest.raises(SchemaError, match="change of 'A01' is -150.0 %"):
        costing.basket(cat, changes={"A01": -150.0})
    with pytest.raises(SchemaError, match="unknown product 'XX'"):
        costing.basket(cat, changes={"XX": 1.0})


def test_group_priorities_reach_every_product_of_the_group_and_a_products_own_wins():
    cat = costing.catalogue("uk_2010")
    out = costing.priorities(cat, products={"10-1": 3.0}, groups={"C Manufacturing": 2.0})
    manufacturing = cat.products.index[cat.products["group"] == "C Manufacturing"]
    assert set(out) == set(manufacturing)
    assert out["10-1"] == 3.0 and out["20A"] == 2.0


def test_the_base_amount_is_total_final_demand_clipped_at_zero():
    cat = costing.catalogue("uk_2010")
    total = read_economy("uk_2010").final_demand.sum(axis=1)
    assert total["05"] < 0 and cat.products.loc["05", "base"] == 0.0
    assert cat.products.loc["01", "base"] == pytest.approx(total["01"])
    assert (cat.products["base"] >= 0).all()


def test_an_economy_without_labour_is_costed_in_its_unsigned_factors():
    cat = costing.catalogue("wiod_2011_7regions")
    assert list(cat.factors.index) == ["value_added_and_adjustments"]
    assert np.isfinite(cat.costs.to_numpy()).all()


@pytest.mark.parametrize(("value", "unit", "text"), [
    (262_600.0, "million hours worked by employees", "262.6 billion hours worked by employees"),
    (801_796.0, "GBP million", "801.8 billion GBP"),
    (1_620_000.0, "GBP million", "1.6 trillion GBP"),
    (155_800.0, "thousand persons engaged", "155.8 million persons engaged"),
    (12.0, "thousand persons engaged", "12,000 persons engaged"),
    (3.25, "tonnes", "3.2 tonnes"),
])
def test_quantities_read_as_people_say_them(value, unit, text):
    assert costing.format_quantity(value, unit) == text


def test_a_limited_factor_is_set_against_what_the_economy_can_supply():
    workforce = costing.FactorCost("hours", "labour (hours)", "million hours worked by employees", 41_200.0, 38_000.0,
                                   "available")
    assert workforce.over and workforce.share == pytest.approx(41.2 / 38.0)
    assert workforce.sentence() == ("labour (hours): your proposal needs 41.2 billion hours worked by employees; "
                                    "the workforce supplies 38.0 billion hours worked by employees")
    land = costing.FactorCost("land", "farmland", "thousand hectares", 900.0, 1_000.0, "available")
    assert not land.over
    assert land.sentence() == "farmland: your proposal needs 900,000 hectares; the economy can supply 1.0 million hectares"


def test_an_economy_stating_its_workforce_costs_against_it(monkeypatch):
    """With hours limited to 250,000 million, the base year's final demand needs more than the workforce supplies."""
    import dataclasses

    import gosplan.sources

    eco = read_economy("usa_2014")
    factors = eco.factors.copy()
    factors.loc["hours", "available"] = 250_000.0
    limited = dataclasses.replace(eco, factors=factors)
    monkeypatch.setattr(gosplan.sources, "read_economy", lambda name: limited)
    cat = costing.catalogue.__wrapped__("usa_2014")  # past the cache of the shipped economy
    need = {c.factor: c for c in cat.cost(cat.base_basket())}
    assert need["hours"].against == "available" and need["hours"].supplies == 250_000.0
    assert need["hours"].over and "the workforce supplies 250.0 billion hours" in need["hours"].sentence()
    assert need["persons"].against == "base year"
