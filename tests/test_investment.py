"""Councils' funded projects in the multi-year plan: what they need per year, whether the
economy carries them with its consumption floors, and which projects and limits clash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gosplan.democracy.investment import (
    investment_table,
    plan_budget_round,
    plan_funded,
    project_requirements,
)
from gosplan.economy import Economy
from gosplan.errors import SchemaError, UnknownIdError
from gosplan.testing import steel_and_bread

PROJECTS = pd.DataFrame(
    {"cost": [1000.0, 1000.0, 1000.0, 10.0], "name": ["bakery A", "bakery B", "bakery C", "harvest festival"]},
    index=["P1", "P2", "P3", "P4"],
)
MAPPING = {
    "P1": {"activity": "bakery", "capacity": 20, "first_period": 2},
    "P2": {"activity": "bakery", "capacity": 20, "first_period": 2},
    "P3": {"activity": "bakery", "capacity": 20, "first_period": 3},
    "P4": {"start": 3, "labour": 2.0, "factor": "labour"},
}
SETTINGS = {"final_demand": pd.Series({"bread": 150.0}), "money_goods": {"bread": 1.0}}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return investment_table(PROJECTS, MAPPING)


# -- (a) a feasible funded set ----------------------------------------------------------------


def test_feasible_set_is_carried_and_verified(table):
    e = steel_and_bread()
    r = plan_funded(e, 4, table, ["P1", "P3", "P4"], **SETTINGS)
    assert r.feasible and r.clash is None and r.suggestion is None
    assert r.plan.verify(e) == []
    # bakery capacity: 20 started in period 1 (usable in 2) and 20 started in 2 (usable in 3)
    assert r.plan.new_capacity.loc[1, "bakery"] >= 20 - 1e-7
    assert r.plan.new_capacity.loc[2, "bakery"] >= 20 - 1e-7
    assert r.plan.capacity.loc[3, "bakery"] >= 240 - 1e-6
    # capital goods in the start year: 2 steel per unit of bakery capacity
    assert r.goods.loc[1, "steel"] == pytest.approx(40.0) and r.goods.loc[2, "steel"] == pytest.approx(40.0)
    # the festival: 10 bread of collective consumption and 2 hours in period 3
    assert r.goods.loc[3, "bread"] == pytest.approx(10.0) and r.labour.loc[3, "labour"] == pytest.approx(2.0)
    assert r.plan.consumption.loc[3, "bread"] >= 160.0 - 1e-6
    assert r.plan.factor_supply.loc[3, "labour"] == pytest.approx(98.0)
    assert r.plan.factor_use.loc[3, "labour"] <= 98.0 + 1e-6
    # embodied labour by hand: 40 steel need 40/0.9 gross at 0.5 h; 10 bread 4 h
    assert r.embodied_labour.loc[1, "labour"] == pytest.approx(40 / 0.9 * 0.5)
    assert r.embodied_labour.loc[3, "labour"] == pytest.approx(4.0)
    text = "\n".join(r.summary())
    assert "carries every funded project" in text
    # the festival's shadow cost bounds what the plan loses by carrying it (concave value)
    without = plan_funded(e, 4, table, ["P1", "P3"], **SETTINGS)
    loss = without.plan.objective_value - r.plan.objective_value
    assert (r.shadow_costs >= -1e-9).all() and list(r.shadow_costs.index) == ["P1", "P3", "P4"]
    assert 0 < loss <= r.shadow_costs["P4"] + 1e-7


def _roomy() -> Economy:
    return steel_and_bread(labour=1000.0, mill=500.0)


project_st = st.tuples(
    st.sampled_from(["mill", "bakery", None]),
    st.floats(0.5, 10.0),
    st.integers(2, 5),  # first period of a capacity project / start of another
    st.integers(1, 3),  # duration of a project without capacity
    st.floats(0.0, 50.0),  # cost
    st.floats(0.0, 5.0),  # direct labour
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(project_st, min_size=1, max_size=5), st.sampled_from([1, 2]))
def test_per_year_needs_add_up_to_the_projects_totals(specs, lag):
    """Property: per-year needs add up to each project's totals (capital coefficients x
    capacity, cost x money_goods, direct labour), the plan carries the set in a roomy
    economy, verifies, and builds at least the projects' capacity."""
    e = _roomy()
    T = 6
    ids = [f"Q{i}" for i in range(len(specs))]
    projects = pd.DataFrame({"cost": [s[4] + 1.0 for s in specs]}, index=ids)
    mapping = {}
    for pid, (act, cap, first, dur, _, lab) in zip(ids, specs, strict=True):
        row = {"labour": lab, "factor": "labour"}
        if act is None:
            row.update({"start": min(first, T - dur + 1), "duration": dur})
        else:
            row.update({"activity": act, "capacity": cap, "first_period": max(first, 1 + lag)})
        mapping[pid] = row
    table = investment_table(projects, mapping)
    mg = {"bread": 0.5, "steel": 0.1}
    settings_ = {"final_demand": pd.Series({"bread": 50.0}), "lag": lag}
    req = project_requirements(e, T, table, money_goods=mg, **settings_)
    K = e.capital.toarray()
    tot = req.groupby(["project", "kind", "id"])["quantity"].sum()
    for pid in ids:
        r = table.loc[pid]
        if r["capacity"] > 0:
            j = e.activity_ids.get_loc(r["activity"])
            assert tot.get((pid, "capital goods", "steel"), 0.0) == pytest.approx(K[0, j] * r["capacity"])
            starts = req[(req.project == pid) & (req.kind == "capital goods")]["period"].unique()
            assert list(starts) == [int(r["first_period"]) - lag]
        else:
            assert tot.get((pid, "goods", "bread"), 0.0) == pytest.approx(r["cost"] * 0.5)
            assert tot.get((pid, "goods", "steel"), 0.0) == pytest.approx(r["cost"] * 0.1)
        assert tot.get((pid, "labour", "labour"), 0.0) == pytest.approx(r["labour"])
    rep = plan_funded(e, T, table, ids, money_goods=mg, **settings_)
    assert rep.feasible
    assert rep.plan.verify(e) == []
    assert rep.goods.to_numpy().sum() == pytest.approx(req[req.kind != "labour"]["quantity"].sum())
    assert rep.labour.to_numpy().sum() == pytest.approx(req[req.kind == "labour"]["quantity"].sum())
    by_year = req[req.kind == "labour"].groupby("period")["quantity"].sum().reindex(range(1, T + 1), fill_value=0.0)
    np.testing.assert_allclose(rep.labour.sum(axis=1).to_numpy(), by_year.to_numpy(), rtol=1e-12, atol=1e-12)
    # with no depreciation, capacity usable in a period is at least the initial one plus
    # every project finished by then
    for act in ("mill", "bakery"):
        k0 = e.activities.at[act, "capacity"]
        built = table[(table.activity == act) & (table.capacity > 0)]
        for t in range(1, T + 1):
            done = built[built.first_period.astype(int) <= t]["capacity"].sum()
            assert rep.plan.capacity.loc[t, act] >= k0 + done - 1e-6


# -- (b) a funded set the economy cannot carry ---------------------------------------------


def test_too_much_investment_for_the_labour_names_projects_and_limits(table):
    """By hand: in period 1 the bread floor of 150 takes 60 of the 100 hours; the other 40
    make 80 steel gross, 72 net of the mill's own use. Bakeries A and B need 2 x 20 x 2 = 80
    steel in period 1 (to be usable in period 2): either fits, both do not."""
    e = steel_and_bread()
    r = plan_funded(e, 4, table, ["P1", "P2", "P3", "P4"], **SETTINGS)
    assert not r.feasible and r.plan is None
    assert r.clash.projects == ("P1", "P2")
    assert r.clash.limit_ids == {("floor", "bread", 1), ("factor", "labour", 1)}
    msg = r.clash.message({"P1": "bakery A", "P2": "bakery B"})
    assert "P1 (bakery A), P2 (bakery B)" in msg and "supply of 'labour' in 1 (100)" in msg
    # least changes: 8 more steel need 8 / 0.9 x 0.5 = 4.44 more hours, or 11.1 less bread
    lim = r.relaxations["limits"]
    assert list(zip(lim.kind, lim.id, lim.period)) == [("factor", "labour", 1)]
    assert lim["new"].iloc[0] == pytest.approx(100 + 8 / 0.9 * 0.5)
    fl = r.relaxations["floors"]
    assert list(zip(fl.kind, fl.id, fl.period)) == [("floor", "bread", 1)]
    assert fl["new"].iloc[0] == pytest.approx(150 - 8 / 0.9 * 0.5 / 0.4)
    # suggestion in the order given: P2 is the one that no longer fits
    assert r.suggestion == ("P1", "P3", "P4")
    assert r.suggested_plan.verify(e) == []
    # either relaxation, applied, carries all four
    supply = pd.DataFrame({"labour": [lim["new"].iloc[0] + 1e-6, 100, 100, 100]}, index=pd.RangeIndex(1, 5))
    assert plan_funded(e, 4, table, ["P1", "P2", "P3", "P4"], factor_supply=supply, **SETTINGS).feasible
    floors = pd.DataFrame({"bread": [fl["new"].iloc[0] - 1e-6, 150, 150, 150]}, index=pd.RangeIndex(1, 5))
    assert plan_funded(e, 4, table, ["P1", "P2", "P3", "P4"], final_demand=floors, money_goods={"bread": 1.0}).feasible
    # another priority order drops the other bakery
    r2 = plan_funded(e, 4, table, ["P1", "P2", "P3", "P4"], priority=["P2", "P3", "P1", "P4"], **SETTINGS)
    assert r2.suggestion == ("P2", "P3", "P4")


def test_too_much_investment_for_heavy_industry_names_the_mill():
    """Plenty of labour but a mill of capacity 50: at most 45 steel net in period 1, and
    bakeries A and B need 80 of it; the plan can enlarge the mill only from period 2."""
    e = steel_and_bread(labour=1000.0, mill=50.0)
    table = investment_table(PROJECTS, MAPPING)
    r = plan_funded(e, 4, table, ["P1", "P2"], final_demand=pd.Series({"bread": 150.0}))
    assert r.clash.projects == ("P1", "P2")
    assert r.clash.limit_ids == {("capacity", "mill", 1)}
    assert "initial capacity of 'mill' (50)" in r.clash.message()
    assert r.suggestion == ("P1",)
    lim = r.relaxations["limits"]
    assert list(zip(lim.kind, lim.id, lim.period)) == [("capacity", "mill", 1)]
    assert lim["change"].iloc[0] == pytest.approx((80 - 45) / 0.9)
    assert r.relaxations["floors"].empty  # cutting bread frees no steel
    assert any("cannot carry" in line for line in r.summary())


# -- errors a council can cause -------------------------------------------------------------


def test_errors_name_the_project_and_say_what_to_do(table):
    e = steel_and_bread()
    with pytest.raises(UnknownIdError, match=r"project\(s\) \['P9'\] are not in"):
        investment_table(PROJECTS, {"P9": {"activity": "mill", "capacity": 1}})
    with pytest.raises(SchemaError, match="'P1', field 'capacity': 'lots' is not a number"):
        investment_table(PROJECTS, {"P1": {"activity": "mill", "capacity": "lots"}})
    with pytest.raises(SchemaError, match="'P1' adds capacity but names no 'activity'"):
        investment_table(PROJECTS, {"P1": {"capacity": 3}})
    bad = investment_table(PROJECTS, {"P1": {"activity": "forge", "capacity": 3}})
    with pytest.raises(UnknownIdError, match="project 'P1' .*activity 'forge' is not in the economy"):
        plan_funded(e, 4, bad, ["P1"])
    early = investment_table(PROJECTS, {"P1": {"activity": "mill", "capacity": 3, "first_period": 1}})
    with pytest.raises(SchemaError, match="project 'P1' .*must be started 1 period.*move first_period to 2"):
        plan_funded(e, 4, early, ["P1"])
    with pytest.raises(SchemaError, match="project 'P4' .*adds no capacity .*give money_goods"):
        plan_funded(e, 4, investment_table(PROJECTS), ["P4"])
    with pytest.raises(UnknownIdError, match="funded project 'P7' is not in the investment table"):
        plan_funded(e, 4, table, ["P1", "P7"], **SETTINGS)
    with pytest.raises(SchemaError, match=r"'P4' \(harvest festival\): 2 period\(s\) from 2 run past the plan's last period 2"):
        plan_funded(e, 2, investment_table(PROJECTS, {"P4": {"start": 2, "duration": 2}}), ["P4"], **SETTINGS)
    with pytest.raises(SchemaError, match=r"'P4' \(harvest festival\), start: 3 is not one of the plan's periods \[1, 2\]"):
        plan_funded(e, 2, investment_table(PROJECTS, {"P4": {"start": 3}}), ["P4"], **SETTINGS)
    with pytest.raises(SchemaError, match="priority must list the funded projects"):
        plan_funded(e, 4, table, ["P1", "P3"], priority=["P1"], **SETTINGS)


# -- (c) election -> rule -> funded projects -> plan -----------------------------------------


ASSEN_CAPACITY = {"9": "ind_b_new", "11": "ind_b_new", "8": "ind_b_new", "10": "ind_b_new", "6": "ind_a_new"}


def _assen(scale: float):
    from gosplan.democracy.pabulib import read_pabulib
    from gosplan.examples.ussr_1923 import ussr_1923_setup
    from gosplan.planning.dynamic import MaxConsumption

    e = read_pabulib("assen_2024")
    s = ussr_1923_setup()
    mapping = {p: {"activity": a, "capacity": float(e.projects.at[p, "cost"]) * scale} for p, a in ASSEN_CAPACITY.items()}
    outcome, report = plan_budget_round(
        e, s.economy, s.periods, mapping, "equal-shares", MaxConsumption(basket=s.basket),
        money_goods={"ind_b": scale, "ind_a": scale / 2}, labour_factor="industrial_labour",
        cost_in_labour=scale * 1e-3, **s.common,
    )
    return e, s, outcome, report


def test_assen_round_trip_into_the_ussr_plan():
    """Assen 2024 (Pabulib, 84 voters, EUR 100,000): Equal Shares with add1 funds the nine
    projects the city funded (the file's `selected` column); mapped into the USSR 1924/25
    economy at an illustrative 1 EUR = 1,000 roubles (projects 9, 11, 6 build modern plant,
    the others are collective consumption), the plan carries them and verifies."""
    e, s, outcome, r = _assen(1e-3)
    selected = set(e.projects.index[e.projects["selected"].astype(int) == 1])
    assert set(outcome.funded) == selected and len(selected) == 9
    assert r.funded == outcome.funded  # the rule's order is the priority
    assert r.feasible and r.plan.verify(s.economy) == []
    K = s.economy.capital.toarray()
    col = {a: s.economy.activity_ids.get_loc(a) for a in ("ind_a_new", "ind_b_new")}
    # projects 9 and 11 (ind_b_new, lag 1) start in 1924/25; 6 (ind_a_new, lag 2) too, usable in 1926/27
    cap_b = (21000 + 15000) * 1e-3
    assert r.plan.new_capacity.loc["1924/25", "ind_b_new"] >= cap_b - 1e-7
    assert r.plan.new_capacity.loc["1924/25", "ind_a_new"] >= 11.0 - 1e-7
    assert r.projects.loc["6", "construction_start"] == "1924/25"
    cons = [p for p in outcome.funded if p not in ASSEN_CAPACITY]
    cost = float(e.projects.loc[cons, "cost"].astype(float).sum())
    want_a = K[1, col["ind_b_new"]] * cap_b + K[1, col["ind_a_new"]] * 11.0 + cost * 1e-3 / 2
    assert r.goods.loc["1924/25", "ind_a"] == pytest.approx(want_a)
    assert r.goods.loc["1924/25", "ind_b"] == pytest.approx(cost * 1e-3)
    total_cost = float(e.projects.loc[list(outcome.funded), "cost"].astype(float).sum())
    assert r.labour["industrial_labour"].sum() == pytest.approx(total_cost * 1e-6)
    assert (r.embodied_labour.loc["1924/25"] > 0).all()


def test_assen_too_large_for_1924_gives_a_feasible_maximal_suggestion():
    """The same round at 1 EUR = 10,000 roubles does not fit the economy of 1924/25; the
    clash names funded projects and limits of that year, and the suggestion is feasible
    and maximal: adding back any dropped project makes the plan impossible again."""
    e, s, outcome, r = _assen(1e-2)
    assert not r.feasible
    assert r.clash.projects and set(r.clash.projects) <= set(outcome.funded)
    assert {p for (_, _, p) in r.clash.limit_ids} == {"1924/25"}
    assert ("factor", "industrial_labour", "1924/25") in r.clash.limit_ids
    assert r.suggested_plan.verify(s.economy) == []
    dropped = [p for p in r.priority if p not in r.suggestion]
    assert dropped
    from gosplan.planning.dynamic import MaxConsumption

    table = investment_table(e, {p: {"activity": a, "capacity": float(e.projects.at[p, "cost"]) * 1e-2} for p, a in ASSEN_CAPACITY.items()})
    for p in dropped:
        trial = [q for q in r.priority if q in r.suggestion or q == p]
        again = plan_funded(
            s.economy, s.periods, table, trial, MaxConsumption(basket=s.basket), money_goods={"ind_b": 1e-2, "ind_a": 5e-3},
            labour_factor="industrial_labour", cost_in_labour=1e-5, suggest=False, relax=False, **s.common,
        )
        assert not again.feasible and p in again.clash.projects


PB = """META
key;value
description;steel-and-bread council, test round
num_projects;4
num_votes;5
budget;3000
vote_type;approval
rule;greedy
currency;hours
PROJECTS
project_id;cost;name;activity;capacity;first_period;start
P1;1000;bakery A;bakery;20;2;
P2;1000;bakery B;bakery;20;2;
P3;1000;bakery C;bakery;20;3;
P4;10;harvest festival;;;;3
VOTES
voter_id;vote
v1;P2,P1
v2;P2,P1,P4
v3;P2,P3
v4;P1,P4
v5;P2
"""


def test_pabulib_round_with_investment_columns_and_costs_in_hours():
    """A .pb file whose project table carries the investment columns; costs are hours of
    labour (spread over the construction year). Greedy by votes funds P2 (4 votes), P1 (3),
    P4 (2) and then P3 no longer fits; the plan cannot carry both bakeries in period 1, and
    going down the rule's order it keeps P2 and the festival."""
    from gosplan.democracy.pabulib import parse_pabulib

    e = parse_pabulib(PB, "council.pb")
    econ = steel_and_bread(labour=3000.0, mill=75.0)
    outcome, r = plan_budget_round(
        e, econ, 4, rule="greedy", final_demand=pd.Series({"bread": 150.0}), money_goods={"bread": 1.0},
        labour_factor="labour", cost_in_labour=1.0,
    )
    assert outcome.funded == ("P2", "P1", "P4")
    assert r.labour.loc[1, "labour"] == pytest.approx(2000.0)  # two bakeries' hours in their construction year
    assert r.labour.loc[3, "labour"] == pytest.approx(10.0)
    assert list(r.projects["construction_start"]) == [1, 1, 3]
    assert list(r.projects["first_period"]) == [2, 2, None]
    assert not r.feasible
    assert r.clash.projects == ("P2", "P1")
    assert r.clash.limit_ids == {("capacity", "mill", 1)}
    assert r.suggestion == ("P2", "P4")
    assert r.suggested_plan.verify(econ) == []


def test_cli_invest_prints_needs_clash_and_suggestion(tmp_path):
    """``gosplan invest`` on Assen 2024 into the USSR example, once carried and once not."""
    from typer.testing import CliRunner

    from gosplan.cli import app

    election = "assen_2024"
    mapping = tmp_path / "map.csv"
    mapping.write_text("project,activity,capacity\n9,ind_b_new,21\n11,ind_b_new,15\n6,ind_a_new,11\n")
    out = tmp_path / "needs.csv"
    runner = CliRunner()
    ok = runner.invoke(app, ["invest", election, "--mapping", str(mapping), "--money-goods", "ind_b=0.001", "--out", str(out)],
                       terminal_width=200)
    assert ok.exit_code == 0, ok.output
    assert "funded 9 of 14 projects" in ok.output and "carries every funded project" in ok.output
    needs = pd.read_csv(out, dtype={"project": str})
    assert set(needs["project"]) == {"3", "9", "2", "11", "13", "14", "5", "6", "12"}
    assert needs.loc[needs.project == "9", "quantity"].sum() == pytest.approx(21 * 0.9)  # 0.9 ind_a per unit of ind_b_new
    big = tmp_path / "big.csv"
    big.write_text("project,activity,capacity\n9,ind_b_new,2100\n11,ind_b_new,1500\n6,ind_a_new,1100\n")
    bad = runner.invoke(app, ["invest", election, "--mapping", str(big), "--money-goods", "ind_b=0.01"], terminal_width=200)
    assert bad.exit_code == 0, bad.output
    assert "The clash" in bad.output and "suggestion in order of priority: keep" in bad.output


def test_collective_consumption_clashes_with_a_fixed_capacity():
    """No capital at all: a bakery of fixed capacity 100 (labour for 120) must bake the
    floor of 80 and the loaves of the fairs (one loaf per unit of cost) in period 1. Fairs
    of 10 and 15 fit alone, not together: 5 more loaves of capacity, or 5 fewer on the floor,
    would carry both. A fair of 30 cannot be carried even alone, and is named alone."""
    e = Economy(
        products=["bread"],
        activities=pd.DataFrame({"capacity": [100.0]}, index=["bakery"]),
        factors=pd.DataFrame({"available": [30.0]}, index=["labour"]),
        use=np.zeros((1, 1)), make=np.eye(1), factor_use=np.array([[0.25]]),
    )
    t = investment_table(pd.DataFrame({"cost": [10.0, 15.0, 30.0], "name": ["small fair", "fair", "big fair"]}, index=["a", "b", "c"]))
    kw = {"final_demand": pd.Series({"bread": 80.0}), "money_goods": {"bread": 1.0}}
    r = plan_funded(e, 3, t, ["b", "a"], **kw)
    assert r.clash.projects == ("b", "a")
    assert r.clash.limit_ids == {("floor", "bread", 1), ("capacity", "bakery", 1)}
    assert "the funded projects b (fair), a (small fair) cannot be carried" in r.clash.message(dict(t["name"]))
    lim, fl = r.relaxations["limits"], r.relaxations["floors"]
    assert list(zip(lim.kind, lim.id, lim.period, lim.new)) == [("capacity", "bakery", 1, pytest.approx(105.0))]
    assert list(zip(fl.kind, fl.id, fl.period, fl.new)) == [("floor", "bread", 1, pytest.approx(75.0))]
    assert r.suggestion == ("b",)
    ok = plan_funded(e, 3, t, ["a", "b"], final_demand=pd.Series({"bread": 75.0}), money_goods={"bread": 1.0})
    assert ok.feasible and ok.plan.verify(e) == []
    assert ok.plan.consumption.loc[1, "bread"] >= 100.0 - 1e-6  # floor 75 plus the fairs' 25
    alone = plan_funded(e, 3, t, ["c", "a"], **kw)
    assert alone.clash.projects == ("c",) and alone.suggestion == ("a",)
    empty = plan_funded(e, 3, t, [], **kw)
    assert empty.feasible and empty.goods.to_numpy().sum() == 0.0


def test_a_plan_impossible_without_projects_is_an_error_naming_its_limits(table):
    """A bread floor of 300 needs 120 hours of the 100 in every period: no project is to
    blame, and the error names the floor and the supply of one (any) period."""
    from gosplan.planning.dynamic import InfeasibleDynamicPlanError

    with pytest.raises(
        InfeasibleDynamicPlanError,
        match=r"even without the funded projects.*consumption floor of 'bread' in (\d) \(300\); supply of 'labour' in \1 \(100\)",
    ):
        plan_funded(steel_and_bread(), 4, table, ["P1"], final_demand=pd.Series({"bread": 300.0}))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["bakery", "mill", None]), st.floats(1.0, 30.0), st.integers(2, 3)), min_size=1, max_size=6))
@example([("bakery", 20.0, 2), ("bakery", 30.0, 2), ("mill", 5.0, 2), (None, 30.0, 2), ("bakery", 10.0, 2), ("bakery", 1.0, 3)])
def test_suggestion_is_the_greedy_walk_down_the_priority_order(specs):
    """The bisection finds the same set as checking each project in turn: keep a project
    when the plan carries it with those kept before it."""
    e = steel_and_bread()
    ids = [f"R{i}" for i in range(len(specs))]
    projects = pd.DataFrame({"cost": [10.0 * c for _, c, _ in specs]}, index=ids)
    mapping = {
        pid: ({"activity": a, "capacity": c, "first_period": f} if a else {"start": f})
        for pid, (a, c, f) in zip(ids, specs, strict=True)
    }
    table = investment_table(projects, mapping)
    r = plan_funded(e, 4, table, ids, relax=False, **SETTINGS)
    kept: list[str] = []
    for p in ids:
        if plan_funded(e, 4, table, kept + [p], suggest=False, relax=False, **SETTINGS).feasible:
            kept.append(p)
    if r.feasible:
        assert kept == ids
    else:
        assert len(kept) < len(ids)
        assert r.suggestion == tuple(kept)
        assert r.suggested_plan.verify(e) == []


def test_without_an_iis_the_clash_is_read_off_the_elastic_programs(table, monkeypatch):
    """Where HiGHS finds no IIS (it fails on some larger plans), the report still names
    projects and limits: the projects the plan cannot carry in full when it carries as
    much of each as it can, and the limits the least change stretches."""
    import gosplan.planning.solver as solver

    def no_iis(*args, **kwargs):
        raise SchemaError("HiGHS could not compute an irreducible infeasible subset of this program")

    monkeypatch.setattr(solver, "iis_detail", no_iis)
    r = plan_funded(steel_and_bread(), 4, table, ["P1", "P2", "P3", "P4"], relax=False, **SETTINGS)
    assert r.clash.method == "elastic"
    assert len(r.clash.projects) == 1 and r.clash.projects[0] in {"P1", "P2"}
    assert r.clash.limit_ids == {("factor", "labour", 1)}
    assert r.suggestion == ("P1", "P3", "P4")
