"""The structured interior-point method for multi-period Leontief plans: the same
optimum as HiGHS's simplex, certified from the arrays; T = 1 against one period;
impossible plans still named; plans it does not apply to refused or handed on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan.errors import SchemaError
from gosplan.planning.dynamic import (
    InfeasibleDynamicPlanError,
    MaxConsumption,
    MaxTerminalStocks,
    ReachTargets,
    Terminal,
    build_dynamic_lp,
    dynamic_spec,
    plan_dynamic,
)
from gosplan.planning.dynamic_approx import relative_accuracy
from gosplan.planning.dynamic_ipm import ACCURACY, solve_structured, why_not
from gosplan.planning.solver import SolverOptions, SolverStatus, solve_lp

from test_dynamic import _synthetic, two_sector

STRUCTURED = SolverOptions(method="structured_ipm")
EXACT = SolverOptions(method="dual_simplex", tol=1e-9)


def _case(n: int, T: int, seed: int, structure: str = "random", **extra):
    eco, d = _synthetic(n, seed, structure)
    lags = pd.Series(np.where(np.arange(n) % 3 == 0, 2, 1), index=eco.activity_ids)
    kw = dict(final_demand=0.5 * d, depreciation=0.05, lag=lags, factor_growth=0.02) | extra
    return eco, d, kw


def _against_simplex(eco, T, objective, kw):
    """Plan with the structured method and with HiGHS's dual simplex on the same LP."""
    plan = plan_dynamic(eco, T, objective, **kw, options=STRUCTURED)
    spec = dynamic_spec(eco, T, **kw)
    lp, _ = build_dynamic_lp(eco, spec, objective)
    exact = solve_lp(lp, EXACT)
    assert exact.status is SolverStatus.OPTIMAL
    return plan, exact


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(8, 40),
    T=st.integers(1, 6),
    seed=st.integers(0, 50),
    structure=st.sampled_from(["random", "sectors"]),
    discount=st.floats(0.0, 0.1),
)
def test_equals_the_simplex_optimum(n, T, seed, structure, discount):
    """Property: on random Leontief economies the structured method's plan is optimal
    (certified from the arrays), verifies, and has the simplex optimum's value."""
    eco, d, kw = _case(n, T, seed, structure)
    plan, exact = _against_simplex(eco, T, MaxConsumption(basket=d, discount=discount), kw)
    assert plan.status is SolverStatus.OPTIMAL
    assert plan.solver["method"] == "structured_ipm"
    acc = plan.solver["accuracy"]
    assert acc["primal"] <= ACCURACY and acc["dual"] <= ACCURACY and acc["gap"] <= ACCURACY
    # the certificate bounds the gap to the optimum by ACCURACY (relative), not tighter:
    # n = 36, T = 1, seed 30 (sectors) lands 1.1e-9 below the simplex optimum
    assert plan.objective_value == pytest.approx(exact.objective, rel=ACCURACY)
    assert plan.verify(eco) == []


@pytest.mark.parametrize(
    "name",
    ["growth", "terminal_capacity", "no_terminal", "reach_targets", "terminal_proportions", "terminal_stocks"],
)
def test_every_objective_and_terminal_condition(name):
    """Uniform growth (one consumption level), conditions on one activity's capacity
    (terminal capacity, capacity targets, proportions: rows local to an activity),
    conditions on stocks of several activities, costs on levels: each equals the
    simplex optimum."""
    n, T = 30, 5
    eco, d, kw = _case(n, T, seed=3)
    ids = eco.activity_ids
    cap = eco.activities["capacity"]
    objective = {
        "growth": MaxConsumption(basket=d, growth=0.02),
        "terminal_capacity": MaxConsumption(basket=d, discount=0.03),
        "no_terminal": MaxConsumption(basket=d, discount=0.03, terminal_weight=0.1),
        "reach_targets": ReachTargets(
            capacity=1.3 * cap.iloc[:5], stocks=pd.Series([50.0], index=[eco.product_ids[0]]), discount=0.02
        ),
        "terminal_proportions": MaxTerminalStocks(proportions=pd.Series(cap.to_numpy(), index=ids)),
        "terminal_stocks": MaxTerminalStocks(),
    }[name]
    extra = {"terminal_capacity": {"terminal": "capacity"}, "no_terminal": {"terminal": "none"},
             "terminal_stocks": {"terminal": Terminal("stocks", growth=0.01)}}.get(name, {})
    plan, exact = _against_simplex(eco, T, objective, kw | extra)
    assert plan.status is SolverStatus.OPTIMAL
    assert plan.objective_value == pytest.approx(exact.objective, rel=1e-9)
    assert plan.verify(eco) == []


def test_lifted_duals_certify_the_full_program():
    """The certificate is recomputed from the full LP: the lifted prices satisfy the
    stationarity of levels and capacity exactly, and a perturbed price is caught."""
    n, T = 25, 4
    eco, d, kw = _case(n, T, seed=7)
    spec = dynamic_spec(eco, T, **kw)
    lp, layout = build_dynamic_lp(eco, spec, MaxConsumption(basket=d, discount=0.03))
    res, reason = solve_structured(lp, layout, spec, SolverOptions())
    assert reason == "" and res.status is SolverStatus.OPTIMAL
    acc = relative_accuracy(lp, res.x, res.row_duals, res.col_duals)
    assert acc == res.info["accuracy"]
    y = res.row_duals.copy()
    y[layout.rows("balance")] *= 1.01
    bad = relative_accuracy(lp, res.x, y, lp.c - lp.A.T @ y)
    assert bad["dual"] > 1e-4 or bad["gap"] > 1e-4


@pytest.mark.parametrize("objective", ["basket", "labour"])
def test_one_period_equals_the_one_period_plan(objective):
    """With T = 1 the structured method's plan is the one-period plan of
    gosplan.planning.optimal (the two-sector economy without the modern technique
    is a Leontief economy)."""
    from gosplan.planning.optimal import optimal_plan
    from gosplan.planning.targets import Targets

    eco = two_sector(modern=False)
    floors = pd.Series({"grain": 20.0, "goods": 5.0})
    basket = pd.Series({"grain": 1.0, "goods": 0.5})
    if objective == "basket":
        one = optimal_plan(eco, Targets(floors=floors, basket=basket), "basket")
        dyn = plan_dynamic(eco, 1, MaxConsumption(basket=basket), final_demand=floors, terminal="none", options=STRUCTURED)
        assert dyn.consumption_level.iloc[0] == pytest.approx(one.basket_multiple, rel=1e-9)
    else:
        one = optimal_plan(eco, Targets(floors=floors * 3), "labour")
        dyn = plan_dynamic(eco, 1, ReachTargets(), final_demand=floors * 3, terminal="none", options=STRUCTURED)
    assert dyn.solver["method"] == "structured_ipm"
    assert dyn.objective_value == pytest.approx(one.objective_value, rel=1e-9)
    np.testing.assert_allclose(dyn.levels.iloc[0].to_numpy(), one.levels.reindex(eco.activity_ids).to_numpy(), rtol=1e-7, atol=1e-9)
    assert dyn.verify(eco) == []


def test_impossible_plan_still_names_the_clash():
    """Floors the economy cannot feed: the interior-point iteration stalls, HiGHS
    takes over and the report names the clashing constraints."""
    eco, d, kw = _case(30, 4, seed=1)
    with pytest.raises(InfeasibleDynamicPlanError) as info:
        plan_dynamic(eco, 4, MaxConsumption(basket=d), **(kw | {"final_demand": 3.0 * d}), options=STRUCTURED)
    assert any("balance of product" in c for c in info.value.constraints)


def test_refuses_plans_it_does_not_apply_to():
    """Alternative techniques (three activities, two products) or fixed investment
    shares: asked for by name, the method says why not; "auto" hands them to HiGHS."""
    eco = two_sector(modern=True)
    kw = dict(final_demand=pd.Series({"grain": 20.0, "goods": 5.0}), new_techniques={"ind_new": 2})
    with pytest.raises(SchemaError, match="structured_ipm.*products and activities"):
        plan_dynamic(eco, 3, MaxConsumption(), **kw, options=STRUCTURED)
    old = two_sector(modern=False)
    spec = dynamic_spec(old, 3, investment_shares={"farm": 0.5, "ind_old": 0.5})
    lp, layout = build_dynamic_lp(old, spec, MaxConsumption())
    assert "investment shares" in why_not(lp, layout, spec)


def test_auto_takes_it_for_large_plans():
    """From STRUCTURED_FROM levels on, the default method is the structured one."""
    from gosplan.planning.dynamic import STRUCTURED_FROM

    n, T = 120, 10
    assert n * T >= STRUCTURED_FROM
    eco, d, kw = _case(n, T, seed=0, structure="sectors")
    plan = plan_dynamic(eco, T, MaxConsumption(basket=d, discount=0.03), **kw)
    assert plan.status is SolverStatus.OPTIMAL and plan.solver["method"] == "structured_ipm"
    assert plan.solver["accuracy"]["gap"] <= ACCURACY
    assert plan.verify(eco) == []
