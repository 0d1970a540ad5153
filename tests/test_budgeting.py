"""Tests of gosplan.democracy.budgeting: budget rules on real and random elections.

Reference results:
- the cities' own funded sets, the ``selected`` column of the Pabulib files (Faliszewski et
  al., IJCAI 2023; mirror pabulib/pabulib_files at commit 88cfaba3): Assen 2024 and Świecie
  2023 used the Method of Equal Shares with add1 (META ``rule;equalshares/add1``), both
  Częstochowa 2024 districts greedy on cumulative ballots (META ``rule;greedy``);
- pabutools 1.2 (Boehmer, Faliszewski, Janeczko, Peters, Pierczyński, Schierreich, Skowron,
  Szufa), the field's reference library, run on the same elections.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan.democracy.budgeting import Outcome, Rule, allocate, equal_shares, greedy, phragmen
from gosplan.democracy.pabulib import Election, read_pabulib
from gosplan.errors import SchemaError


def pabulib_dir() -> Path:
    """The raw Pabulib files kept in the repository (the shipped elections are copies of them)."""
    return Path(__file__).resolve().parents[1] / "data" / "pabulib"


def load(name: str) -> Election:
    return read_pabulib(pabulib_dir() / f"{name}.pb")


def city_selected(e: Election) -> set[str]:
    return set(e.projects.index[e.projects["selected"] == 1])


# ---------------------------------------------------------------- pabutools bridge
def pabu(e: Election, approval: bool = False):
    """The election as pabutools' (instance, profile), built object by object."""
    from fractions import Fraction

    from pabutools.election import (
        ApprovalBallot,
        ApprovalProfile,
        CumulativeBallot,
        CumulativeProfile,
        Instance,
        Project,
    )

    projects = {pid: Project(pid, Fraction(str(c))) for pid, c in e.projects["cost"].items()}
    inst = Instance(projects.values(), budget_limit=Fraction(e.meta["budget"]))
    if e.points is None or approval:
        ballots = [ApprovalBallot(projects[p] for p in e.ballot(v).index) for v in e.voter_ids]
        return inst, ApprovalProfile(ballots, instance=inst)
    ballots = [CumulativeBallot({projects[p]: Fraction(int(x)) for p, x in e.ballot(v).items()}) for v in e.voter_ids]
    return inst, CumulativeProfile(ballots, instance=inst)


def pabu_mes(e: Election, add1: bool = True, sat: str = "cost") -> set[str]:
    from pabutools.election import Cardinality_Sat, Cost_Sat
    from pabutools.rules import exhaustion_by_budget_increase, method_of_equal_shares

    inst, prof = pabu(e)
    sat_class = Cost_Sat if sat == "cost" else Cardinality_Sat
    if not add1:
        return {p.name for p in method_of_equal_shares(inst, prof, sat_class=sat_class)}
    out = exhaustion_by_budget_increase(
        inst, prof, method_of_equal_shares, {"sat_class": sat_class}, budget_step=prof.num_ballots()
    )
    return {p.name for p in out}


def pabu_greedy(e: Election) -> set[str]:
    from pabutools.election import AdditiveSatisfaction, Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare

    class PointsTimesCost(AdditiveSatisfaction):
        """Satisfaction points x cost: its welfare per unit of cost is the score."""

        def __init__(self, instance, profile, ballot):
            super().__init__(instance, profile, ballot, lambda i, p, b, proj, pre: b.get(proj, 0) * proj.cost)

    inst, prof = pabu(e)
    sat = PointsTimesCost if e.points is not None else Cost_Sat
    return {p.name for p in greedy_utilitarian_welfare(inst, prof, sat_class=sat)}


def pabu_phragmen(e: Election) -> set[str]:
    from pabutools.rules import sequential_phragmen

    inst, prof = pabu(e, approval=True)
    out = {p.name for p in sequential_phragmen(inst, prof)}
    # gosplan never funds a project nobody names (pabutools adds them last, at infinite load)
    named = set(e.project_ids[e.support()["voters"].to_numpy() > 0])
    return out & named


# ---------------------------------------------------------------- real elections
def test_assen_equal_shares_add1_matches_city():
    """Assen 2024 (EUR 100,000, 84 voters): the 9 projects the city funded by Equal Shares/add1."""
    e = load("Netherlands_Assen_2024")
    o = equal_shares(e)
    assert set(o.funded) == city_selected(e)
    assert o.total_cost == 76_700  # sum of the selected projects' costs in the file
    assert o.add1_steps is not None and o.add1_steps > 0


def test_swiecie_equal_shares_add1_matches_city():
    """Świecie 2023 (PLN 1,070,000, 2,553 voters): the 17 projects the city funded by Equal Shares/add1."""
    e = load("Poland_Swiecie_2023")
    o = equal_shares(e)
    assert set(o.funded) == city_selected(e)
    assert len(o.funded) == 17
    assert o.total_cost == float(e.projects.loc[e.projects["selected"] == 1, "cost"].sum())


@pytest.mark.parametrize("name", ["Poland_Czestochowa_2024_Mirow", "Poland_Czestochowa_2024_Lisiniec"])
def test_czestochowa_greedy_matches_city(name):
    """Częstochowa 2024 districts (cumulative ballots, 10 points): greedy by score reproduces 'selected'."""
    e = load(name)
    o = greedy(e)
    assert set(o.funded) == city_selected(e)
    # greedy is exhaustive: nothing unfunded fits in what is left
    left = e.budget - o.total_cost
    assert not (o.projects.loc[~o.projects["funded"], "cost"] <= left).any()


def test_assen_agrees_with_pabutools():
    e = load("Netherlands_Assen_2024")
    assert set(equal_shares(e).funded) == pabu_mes(e)
    assert set(equal_shares(e, completion=None).funded) == pabu_mes(e, add1=False)
    assert set(greedy(e).funded) == pabu_greedy(e)
    assert set(phragmen(e).funded) == pabu_phragmen(e)


@pytest.mark.parametrize("name", ["Poland_Czestochowa_2024_Mirow", "Poland_Czestochowa_2024_Lisiniec"])
def test_czestochowa_agrees_with_pabutools(name):
    e = load(name)
    assert set(greedy(e).funded) == pabu_greedy(e)
    assert set(phragmen(e).funded) == pabu_phragmen(e)
    assert set(equal_shares(e, completion=None).funded) == pabu_mes(e, add1=False)


def test_swiecie_agrees_with_pabutools():
    """Greedy, Phragmén and plain Equal Shares (one run each in pabutools, about a second);
    the add1 comparison (pabutools about 17 s) is in benchmarks/bench_budgeting.py."""
    e = load("Poland_Swiecie_2023")
    assert set(greedy(e).funded) == pabu_greedy(e)
    assert set(phragmen(e).funded) == pabu_phragmen(e)
    assert set(equal_shares(e, completion=None).funded) == pabu_mes(e, add1=False)


@pytest.mark.slow
def test_mirow_equal_shares_add1_agrees_with_pabutools():
    """pabutools takes about 11 s here (617 add1 steps in exact fractions)."""
    e = load("Poland_Czestochowa_2024_Mirow")
    assert set(equal_shares(e).funded) == pabu_mes(e)


# ---------------------------------------------------------------- explanations
def test_equal_shares_explains_payments_and_shortfalls():
    """Świecie: c12 (PLN 150,000, 1,030 approvals) is bought first, every supporter paying
    150,000 / 1,030 = 145.63; c16 falls short of its cost."""
    e = load("Poland_Swiecie_2023")
    o = equal_shares(e)
    t = o.projects
    assert t.loc["c12", "order"] == 1
    assert t.loc["c12", "price"] == pytest.approx(150_000 / 1030)
    assert t.loc["c12", "explanation"].startswith("funded in round 1: 1,030 supporters paid 145.63 PLN each")
    # what supporters paid adds up to the cost of every funded project
    funded = t[t["funded"]]
    paid_full = funded["payers_full"] * funded["price"]
    assert (paid_full <= funded["cost"] + 1e-6).all()
    assert t.loc["c16", "explanation"].startswith("not funded: unaffordable")
    assert "of its cost 150,000 PLN" in t.loc["c16", "explanation"]
    # the add1 share: budget / voters + steps
    assert o.per_voter_budget == pytest.approx(1_070_000 / 2553 + o.add1_steps)
    assert any("add1" in line for line in o.summary())


def test_greedy_explains_rank_and_money_left():
    e = load("Poland_Czestochowa_2024_Mirow")
    o = greedy(e)
    t = o.projects
    assert t.loc["795", "explanation"] == "funded: rank 1 with 1,547 points; its cost 117,579 PLN fitted in the 272,579 PLN left"
    assert t.loc["64", "explanation"].startswith("not funded: rank 5 with 188 points; its cost 59,400 PLN exceeded the")


def test_satisfied_share_and_spending():
    e = load("Poland_Czestochowa_2024_Mirow")
    o = greedy(e)
    funded = set(o.funded)
    hit = [any(p in funded for p in e.ballot(v).index) for v in e.voter_ids]
    assert o.satisfied_share == pytest.approx(np.mean(hit))
    assert o.spending["district"].to_dict() == {"Mirów": pytest.approx(o.total_cost)}


def test_spending_splits_listed_categories():
    projects = pd.DataFrame(
        {"cost": [10, 20, 30], "category": ["parks,sport", "sport", "culture"], "district": ["N", "S", "S"]},
        index=["a", "b", "c"],
    )
    e = Election.from_ballots({"budget": 30, "vote_type": "approval"}, projects, {"x": ["a", "b"], "y": ["c"]})
    o = greedy(e)  # a and b have 1 vote each, as has c; ids order a, b first; c does not fit
    assert o.funded == ("a", "b")
    assert o.spending["category"].to_dict() == {"sport": 25.0, "parks": 5.0}
    assert o.spending["district"].to_dict() == {"S": 20.0, "N": 10.0}


def test_allocate_by_name_and_unknown_rule():
    e = load("Netherlands_Assen_2024")
    assert isinstance(allocate(e, "greedy"), Outcome)
    assert allocate(e, Rule.PHRAGMEN).rule is Rule.PHRAGMEN
    with pytest.raises(SchemaError, match="unknown budget rule 'borda'"):
        allocate(e, "borda")


# ---------------------------------------------------------------- random elections
@st.composite
def approval_elections(draw, vote_type="approval"):
    m = draw(st.integers(1, 6))
    costs = draw(st.lists(st.integers(1, 30), min_size=m, max_size=m))
    budget = draw(st.integers(max(costs), max(max(costs), sum(costs))))
    n = draw(st.integers(1, 7))
    ids = [f"p{i}" for i in range(m)]
    ballots = {}
    for v in range(n):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=m))
        if vote_type == "cumulative":
            ballots[f"v{v}"] = {p: draw(st.integers(0, 4)) for p in chosen}
        else:
            ballots[f"v{v}"] = chosen
    projects = pd.DataFrame({"cost": costs}, index=ids)
    return Election.from_ballots({"budget": budget, "vote_type": vote_type}, projects, ballots)


FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(approval_elections())
def test_equal_shares_add1_agrees_with_pabutools(e):
    assert set(equal_shares(e).funded) == pabu_mes(e)


@FEW
@given(approval_elections())
def test_equal_shares_plain_and_cardinality_agree_with_pabutools(e):
    assert set(equal_shares(e, completion=None).funded) == pabu_mes(e, add1=False)
    assert set(equal_shares(e, satisfaction="cardinality", completion=None).funded) == pabu_mes(e, add1=False, sat="card")


@FEW
@given(approval_elections())
def test_greedy_and_phragmen_agree_with_pabutools(e):
    assert set(greedy(e).funded) == pabu_greedy(e)
    assert set(phragmen(e).funded) == pabu_phragmen(e)


@FEW
@given(approval_elections("cumulative"))
def test_cumulative_rules_agree_with_pabutools(e):
    assert set(greedy(e).funded) == pabu_greedy(e)
    assert set(phragmen(e).funded) == pabu_phragmen(e)
    assert set(equal_shares(e, completion=None).funded) == pabu_mes(e, add1=False)
    assert set(equal_shares(e).funded) == pabu_mes(e)


@FEW
@given(approval_elections())
def test_outcomes_are_feasible_and_explained(e):
    for rule in Rule:
        o = allocate(e, rule)
        assert o.total_cost <= e.budget + 1e-9
        assert o.total_cost == pytest.approx(float(e.costs[[e.project_ids.get_loc(p) for p in o.funded]].sum()))
        assert o.projects["explanation"].str.len().min() > 0
        assert list(o.projects.index[o.projects["funded"]].sort_values()) == sorted(o.funded)
    es = equal_shares(e)
    t = es.projects[es.projects["funded"] & (es.projects["cost"] > 0)]
    # a funded project's supporters paid its cost: full payers at the cap plus the rest
    assert ((t["payers_full"] * t["price"]) <= t["cost"] * (1 + 1e-9)).all()


def test_identical_ballots_grouping_changes_nothing():
    """Duplicating every ballot (same shares per voter) leaves Equal Shares' outcome unchanged
    when the budget doubles too: the method is scale invariant."""
    e = load("Netherlands_Assen_2024")
    ballots = {}
    for v in e.voter_ids:
        ballots[v] = list(e.ballot(v).index)
        ballots[v + "-twin"] = list(e.ballot(v).index)
    twin = Election.from_ballots(
        {"budget": e.budget, "vote_type": "approval", "min_length": 2}, e.projects[["cost"]], ballots
    )
    assert set(equal_shares(twin, completion=None).funded) == set(equal_shares(e, completion=None).funded)


def test_no_voters():
    projects = pd.DataFrame({"cost": [1]}, index=["a"])
    e = Election.from_ballots({"budget": 5, "vote_type": "approval"}, projects, {})
    assert equal_shares(e).funded == ()
    assert phragmen(e).funded == ()


def test_add1_stops_before_overspending_and_says_so():
    """Budget 29, two voters; p1 (16) approved by both, p0 (8) by v1, p2 (8) by v0.
    Share 14.5: p1 costs each 8, leaving 6.5 < 8: {p1}, not exhaustive (13 left).
    Share 15.5: the same, 7.5 left each. Share 16.5: 8.5 left, p0 and p2 are bought too,
    32 > 29: add1 keeps the share-15.5 outcome {p1} (hand computation)."""
    projects = pd.DataFrame({"cost": [8, 16, 8]}, index=["p0", "p1", "p2"])
    e = Election.from_ballots({"budget": 29, "vote_type": "approval"}, projects, {"v0": ["p1", "p2"], "v1": ["p0", "p1"]})
    o = equal_shares(e)
    assert o.funded == ("p1",)
    assert o.add1_steps == 1 and o.per_voter_budget == 15.5
    assert o.projects.loc["p1", "explanation"] == "funded in round 1: 2 supporters paid 8 each; cost 16"
    assert o.projects.loc["p0", "explanation"] == (
        "not funded: unaffordable once round 1 funded 'p1': its 1 supporter had 7.50 of its cost 8 (94%); "
        "with a share of 16.50 it would be funded but the outcome would exceed the budget"
    )
    assert set(o.funded) == pabu_mes(e)


def test_add1_constant_once_every_voter_can_pay_alone():
    """A project nobody names never makes the outcome exhaustive; the completion stops once
    each voter's share covers their whole ballot (here 10), where the outcome is constant
    (pabutools steps on to its bound, budget x (voters + 1), with the same answer)."""
    projects = pd.DataFrame({"cost": [10, 1]}, index=["a", "b"])
    e = Election.from_ballots({"budget": 12, "vote_type": "approval"}, projects, {"x": ["a"], "y": ["a"], "z": []})
    o = equal_shares(e)
    assert o.funded == ("a",)
    assert o.per_voter_budget == pytest.approx(10.0)  # 4 + 6 steps
    assert set(o.funded) == pabu_mes(e)
    assert o.projects.loc["b", "explanation"] == "not funded: no voter named it"


def test_cli_budget_prints_outcome(tmp_path):
    from typer.testing import CliRunner

    import gosplan.cli.budget  # noqa: F401  (registers the command)
    from gosplan.cli._app import app

    out = tmp_path / "mirow.csv"
    path = pabulib_dir() / "Poland_Czestochowa_2024_Mirow.pb"
    res = CliRunner().invoke(app, ["budget", str(path), "--rule", "greedy", "--compare", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "matches the 4 projects the city funded" in res.output
    assert "rule: greedy" in res.output
    table = pd.read_csv(out, index_col=0)
    assert int(table["funded"].sum()) == 4
    res = CliRunner().invoke(app, ["budget", str(path), "--rule", "equal-shares"])
    assert res.exit_code == 0, res.output
    assert "add1 completion" in res.output
    res = CliRunner().invoke(app, ["budget", str(path), "--rule", "lottery"])
    assert res.exit_code != 0


def test_payment_cap_solves_its_equation_row_by_row():
    """The cap alpha of Equal Shares solves sum_i w_i min(b_i, alpha) = cost, the least such.
    The first row is built so that the poor/rich fixed point adds one voter per pass (each
    budget lies between the caps of two successive passes; weights halve so the cap keeps
    moving): 29 passes, so the sorting fallback runs. A row's answer does not depend on the
    rows beside it."""
    from gosplan.democracy.budgeting import _caps

    chain = 30
    w = np.concatenate([2.0 ** (chain - np.arange(chain)), [1.0]])
    total, cost = w.sum(), w.sum()
    slow = np.full(len(w), 1e6)
    slow[0] = 0.0
    alpha, paid, wp = cost / total, 0.0, 0.0
    for j in range(1, chain):
        paid += w[j - 1] * slow[j - 1]
        wp += w[j - 1]
        nxt = (cost - paid) / (total - wp)  # the cap once voters 0..j-1 pay all they have
        slow[j] = (alpha + nxt) / 2  # rich at the old cap, poor at the new one
        alpha = nxt
    fast = np.full(len(w), 10.0)
    both = _caps(np.vstack([slow, fast]), w, total, cost)
    for row, a in zip((slow, fast), both):
        assert (w * np.minimum(row, a)).sum() == pytest.approx(cost, rel=1e-12)
        assert (w * np.minimum(row, a * (1 - 1e-9))).sum() < cost  # the least one
    assert both[0] == pytest.approx(3.0) and both[1] == pytest.approx(1.0)
    assert _caps(slow[None, :], w, total, cost)[0] == both[0]
    assert _caps(fast[None, :], w, total, cost)[0] == both[1]


def test_batched_add1_steps_equal_single_runs_bitwise():
    """add1 runs consecutive steps side by side; each must be exactly the run alone (the
    explaining replay relies on it)."""
    from gosplan.democracy import budgeting as B

    e = load("Poland_Swiecie_2023")
    pr = B._profile(e)
    ctx = B._mes_context(pr)
    u = pr.costs.copy()
    shares = e.budget / e.n_voters + np.arange(100, 108)
    runs = B._mes_runs(pr, ctx, shares, u)
    for share, run in zip(shares, runs):
        alone = B._mes_runs(pr, ctx, np.array([share]), u)[0]
        assert alone.funded == run.funded
        assert np.array_equal(alone.budgets, run.budgets)


def test_voter_satisfaction_and_json():
    import json

    from gosplan.democracy.budgeting import voter_satisfaction

    e = load("Netherlands_Assen_2024")
    o = equal_shares(e)
    count = voter_satisfaction(e, o, "count")
    funded_votes = o.projects.loc[o.projects["funded"], "voters"].sum()
    assert count.sum() == funded_votes  # every funded approval counted once
    assert (count > 0).mean() == pytest.approx(o.satisfied_share)
    cost = voter_satisfaction(e, o)
    assert cost.sum() == pytest.approx((o.projects.loc[o.projects["funded"], ["voters", "cost"]].prod(axis=1)).sum())
    d = json.loads(json.dumps(o.to_dict()))
    assert d["funded"] == list(o.funded) and d["add1_steps"] == o.add1_steps
    assert {r["project_id"] for r in d["projects"] if r["funded"]} == set(o.funded)
    with pytest.raises(SchemaError, match="measure='joy'"):
        voter_satisfaction(e, o, "joy")
