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
from gosplan.planning.dynamic.methods.ipm import ACCURACY, solve_structured
from gosplan.planning.dynamic.methods.reduction import why_not
from gosplan.planning.solver import (
    SolverOptions,
    SolverStatus,
    relative_accuracy,
    solve_lp,
)
from gosplan.testing import two_sector

from test_dynamic import _synthetic

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


def test_impossible_plan_whose_clash_highs_cannot_name_is_still_reported(monkeypatch):
    """The same small plan with HiGHS's IIS failing: the plan is reported impossible, and
    the message says the clash could not be named instead of raising HiGHS's error."""

    def failing_iis(*a, **k):
        raise SchemaError("HiGHS could not compute an irreducible infeasible subset of this program")

    monkeypatch.setattr("gosplan.planning.solver.irreducible_infeasible_subset", failing_iis)
    eco, d, kw = _case(30, 4, seed=1)
    with pytest.raises(InfeasibleDynamicPlanError, match="could not name the clashing constraints") as info:
        plan_dynamic(eco, 4, MaxConsumption(basket=d), **(kw | {"final_demand": 3.0 * d}), options=STRUCTURED)
    assert info.value.constraints == []


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


# -- impossible plans: given up early, before HiGHS names the clash ------------------------------


def _lp(eco, T, d, kw):
    spec = dynamic_spec(eco, T, **kw)
    lp, layout = build_dynamic_lp(eco, spec, MaxConsumption(basket=d, discount=0.03))
    return spec, lp, layout


def _floor_levels(lp, layout, t):
    """Levels that meet period t's floors and nothing else, ``N^{-1} floor_t``, solved
    from the LP's own balance rows (independent of the reduction)."""
    import scipy.sparse.linalg as spla

    P, J = layout.P, layout.J
    bal, xs = layout.rows("balance"), layout.cols("x")
    r0, c0 = bal.start + t * P, xs.start + t * J
    N = lp.A.tocsr()[r0 : r0 + P][:, c0 : c0 + J].tocsc()
    return spla.spsolve(N, lp.row_lower[r0 : r0 + P])


def _growing(n: int, T: int, growth: float, seed: int = 0):
    """Final demand growing by ``growth`` a period and labour by ``growth + 0.1``: the
    floors alone fit every period's labour and initial capacity, the investment
    that the growing floors need does not once growth passes about 0.155 (n = 100,
    T = 10, seed 0): a plan impossible only through its investment."""
    eco, d, kw = _case(n, T, seed)
    per = pd.RangeIndex(1, T + 1, name="period")
    fd = pd.DataFrame([0.5 * d.to_numpy() * (1 + growth) ** t for t in range(T)], index=per, columns=d.index)
    return eco, d, kw | {"final_demand": fd, "factor_growth": growth + 0.1}


def test_impossible_large_plan_given_up_before_iterating_and_named(monkeypatch):
    """n = 100 x T = 10 ("auto" takes the structured method): labour in period 6 cut
    to a tenth. The structured method gives up before its first iteration, on the
    one factor row that the floors alone break (checked against the floors' own
    labour need), and HiGHS's IIS names that row."""
    from gosplan.planning.dynamic import STRUCTURED_FROM
    from gosplan.planning.dynamic.methods import ipm as dynamic_ipm

    n, T = 100, 10
    assert n * T >= STRUCTURED_FROM
    eco, d, kw = _case(n, T, seed=0)
    per = pd.RangeIndex(1, T + 1, name="period")
    supply = pd.DataFrame([eco.factors["available"].to_numpy() * 1.02**t for t in range(T)], index=per, columns=eco.factor_ids)
    supply.iloc[5] *= 0.1
    kw = {k: v for k, v in kw.items() if k != "factor_growth"} | {"factor_supply": supply}
    seen = []
    solve = dynamic_ipm.solve_structured

    def spy(*args, **kwargs):
        res, reason = solve(*args, **kwargs)
        seen.append(res)
        return res, reason

    monkeypatch.setattr(dynamic_ipm, "solve_structured", spy)
    with pytest.raises(InfeasibleDynamicPlanError) as info:
        plan_dynamic(eco, T, MaxConsumption(basket=d, discount=0.03), **kw)
    assert "supply of factor 'labour' in period 6" in info.value.constraints
    [res] = seen
    assert res.status is SolverStatus.NOT_SOLVED and res.iterations == 0
    clash = res.info["infeasible"]
    assert clash["test"] == "row" and "infeasible" in res.info["failure"]
    _, lp, layout = _lp(eco, T, d, kw)
    row = layout.rows("factor").start + 5 * layout.F
    assert clash["rows"] == [row] and clash["cols"] == []
    x0 = _floor_levels(lp, layout, 5)
    xs = layout.cols("x")
    use = lp.A.tocsr()[row : row + 1][:, xs.start + 5 * layout.J : xs.start + 6 * layout.J] @ x0
    assert use.item() > 2 * lp.row_upper[row]


def test_floors_beyond_initial_capacity_found_before_iterating():
    """Floors three times the feasible ones: the first period, before any investment
    arrives, needs more than the initial capacity. The reported capacity rows of
    that period are exactly those whose floor-only level exceeds the initial
    capacity (by more than the certificate could hide), no iteration is spent, and
    HiGHS confirms the plan impossible."""
    n, T = 100, 10
    eco, d, kw = _case(n, T, seed=0)
    kw = kw | {"final_demand": 1.5 * d}
    spec, lp, layout = _lp(eco, T, d, kw)
    res, reason = solve_structured(lp, layout, spec, SolverOptions())
    assert reason == "" and res.status is SolverStatus.NOT_SOLVED and res.iterations == 0
    clash = res.info["infeasible"]
    assert clash["test"] == "row"
    cap, Jc = layout.rows("capacity"), layout.Jc
    reported = {r - cap.start for r in clash["rows"] if cap.start <= r < cap.start + Jc}
    x0 = _floor_levels(lp, layout, 0)[layout.cap_idx]
    ks = layout.cols("k")
    k0 = lp.col_lower[ks.start : ks.start + Jc]
    expected = set(np.flatnonzero((x0 - k0) / (1 + x0 + k0) > 10 * ACCURACY).tolist())
    assert expected and reported == expected
    with pytest.raises(InfeasibleDynamicPlanError):
        plan_dynamic(eco, T, MaxConsumption(basket=d, discount=0.03), **kw, diagnose=False)


def test_impossible_investment_stopped_by_a_farkas_certificate():
    """Floors that fit every period's labour and initial capacity but need more
    investment than labour allows: no single row shows it, the prices of the
    iterates do. The iteration stops within 15 iterations (it stalled after 21
    before), its prices proving every plan larger than the factor supply allows;
    HiGHS agrees the plan is impossible."""
    from gosplan.planning.dynamic.methods.ipm import _size_bound
    from gosplan.planning.dynamic.methods.reduction import reduce_plan

    n, T = 100, 10
    eco, d, kw = _growing(n, T, 0.2)
    spec, lp, layout = _lp(eco, T, d, kw)
    res, _ = solve_structured(lp, layout, spec, SolverOptions())
    assert res.status is SolverStatus.NOT_SOLVED
    cert = res.info["infeasible"]
    assert cert["test"] == "farkas" and "Farkas" in res.info["failure"]
    assert res.iterations <= 15 and cert["iteration"] == res.iterations - 1
    assert cert["proved"] and cert["radius"] > cert["size_bound"] == pytest.approx(_size_bound(reduce_plan(lp, layout, spec)[0]), rel=1e-5)
    assert solve_lp(lp, SolverOptions()).status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED)


def test_large_plan_proved_impossible_is_reported_without_highs(monkeypatch):
    """n = 100 x T = 10, growth 0.2: the Farkas test proves every plan larger than the
    factor supply allows, so plan_dynamic reports it at once, with both figures, instead
    of asking HiGHS (34 s at n = 300, and its IIS fails); HiGHS, asked directly, agrees.
    At growth 0.154 the same path still returns the optimal plan."""
    import gosplan.planning.solver as solver

    n, T = 100, 10
    eco, d, kw = _growing(n, T, 0.2)
    asked = []
    real = solver.solve_lp
    monkeypatch.setattr(solver, "solve_lp", lambda *a, **k: asked.append(1) or real(*a, **k))
    with pytest.raises(InfeasibleDynamicPlanError, match="Farkas") as err:
        plan_dynamic(eco, T, MaxConsumption(basket=d, discount=0.03), **kw)
    assert not asked and err.value.constraints == []
    _, lp, _ = _lp(eco, T, d, kw)
    assert real(lp, SolverOptions()).status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED)
    eco, d, kw = _growing(n, T, 0.154)
    assert plan_dynamic(eco, T, MaxConsumption(basket=d, discount=0.03), **kw).status is SolverStatus.OPTIMAL


def test_tight_feasible_plan_is_not_given_up():
    """Just below the growth the investment can carry (0.154 against the impossible
    0.156): the structured method still certifies the optimum, which is the
    simplex's, and its investment and consumption lie within the bound the
    infeasibility test compares against."""
    from gosplan.planning.dynamic.methods.ipm import _size_bound
    from gosplan.planning.dynamic.methods.reduction import reduce_plan

    n, T = 100, 10
    eco, d, kw = _growing(n, T, 0.154)
    spec, lp, layout = _lp(eco, T, d, kw)
    res, _ = solve_structured(lp, layout, spec, SolverOptions())
    assert res.status is SolverStatus.OPTIMAL and "infeasible" not in res.info
    exact = solve_lp(lp, SolverOptions())
    assert exact.status is SolverStatus.OPTIMAL
    assert res.objective == pytest.approx(exact.objective, rel=1e-7)
    size = res.x[layout.cols("z")].sum() + res.x[layout.cols("u")].sum()
    assert 0 < size <= _size_bound(reduce_plan(lp, layout, spec)[0])


def test_impossible_large_plan_named_without_waiting_for_highs_iis(monkeypatch):
    """Floors 1.5 times the feasible ones at n = 100 x T = 10: HiGHS 1.13's IIS of this
    program took 3.8 s and then failed (99 s at n = 300), which once made plan_dynamic
    raise a SchemaError. The structured method's row test has already found the
    capacity rows the floors alone break: those are named, and the IIS is not asked for."""
    from gosplan.planning.dynamic.lp import row_name

    n, T = 100, 10
    eco, d, kw = _case(n, T, seed=0)
    kw = kw | {"final_demand": 1.5 * d}
    spec, lp, layout = _lp(eco, T, d, kw)
    res, _ = solve_structured(lp, layout, spec, SolverOptions())
    expected = res.info["infeasible"]["rows"]
    asked = []
    monkeypatch.setattr("gosplan.planning.solver.irreducible_infeasible_subset", lambda *a, **k: asked.append(1))
    with pytest.raises(InfeasibleDynamicPlanError) as err:
        plan_dynamic(eco, T, MaxConsumption(basket=d, discount=0.03), **kw)
    assert not asked
    names = err.value.constraints
    assert expected and len(names) == len(expected)
    assert names == [row_name(int(i), layout, eco, spec.periods, MaxConsumption(basket=d, discount=0.03))
                     for i in expected]
    assert "floors alone break these constraints" in str(err.value)
