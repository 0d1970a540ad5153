"""Multi-period plans: stock-flow identities, lags, depreciation, technical change,
terminal conditions, shadow prices, impossible plans, and T = 1 against one period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan.economy import Economy
from gosplan.errors import SchemaError, UnknownIdError
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
from gosplan.testing import two_sector


@pytest.fixture(scope="module")
def eco() -> Economy:
    return two_sector()


@pytest.fixture(scope="module")
def plan(eco):
    return plan_dynamic(
        eco,
        6,
        MaxConsumption(basket=pd.Series({"grain": 1.0, "goods": 0.5}), discount=0.05),
        final_demand=pd.Series({"grain": 20.0, "goods": 5.0}),
        factor_growth=0.02,
        depreciation={"farm": 0.05, "ind_old": 0.08, "ind_new": 0.05},
        lag={"farm": 1, "ind_old": 1, "ind_new": 2},
        new_techniques={"ind_new": 2},
    )


def test_plan_verifies_and_is_labelled(eco, plan):
    assert plan.verify(eco) == []
    assert list(plan.levels.index) == [1, 2, 3, 4, 5, 6]
    assert list(plan.levels.columns) == ["farm", "ind_old", "ind_new"]
    assert list(plan.outputs.columns) == ["grain", "goods"]
    assert plan.levels.index.name == "period"
    assert plan.solver["gap"] < 1e-7
    frames = plan.to_frames()
    assert set(frames) >= {"levels", "outputs", "consumption", "investment", "stocks", "prices", "path"}


def test_verify_catches_a_broken_identity(eco, plan):
    import dataclasses

    broken = plan.levels.copy()
    broken.iloc[2, 0] *= 1.1
    bad = dataclasses.replace(plan, levels=broken)
    problems = bad.verify(eco)
    assert any("outputs = make x" in p for p in problems)
    cap = plan.capacity.copy()
    cap.iloc[3, 1] += 1.0
    problems = dataclasses.replace(plan, capacity=cap).verify(eco)
    assert any("accumulation" in p for p in problems)


def test_new_technique_waits_and_needs_investment(eco, plan):
    # not before its first period; and with a two-period lag and no initial capacity,
    # the earliest it can run is period 1 + 2 = 3
    assert plan.levels.loc[1, "ind_new"] == 0.0
    assert plan.capacity.loc[1, "ind_new"] == 0.0
    assert plan.capacity.loc[2, "ind_new"] == 0.0
    assert plan.levels.loc[2, "ind_new"] == 0.0
    # the modern technique saves labour, so the plan builds it
    assert plan.capacity["ind_new"].iloc[-1] > 0
    assert plan.levels["ind_new"].iloc[-1] > 0


def test_gestation_lag_and_depreciation(eco, plan):
    """k_{t+1} = (1 - delta) k_t + z_{t+1-lag}, read off the labelled frames."""
    k = pd.concat([plan.capacity, plan.terminal_capacity.to_frame().T.set_axis([7])])
    z = plan.new_capacity
    for t in range(1, 7):
        assert k.loc[t + 1, "farm"] == pytest.approx(0.95 * k.loc[t, "farm"] + z.loc[t, "farm"], rel=1e-9, abs=1e-9)
        fed = z.loc[t - 1, "ind_new"] if t >= 2 else 0.0
        assert k.loc[t + 1, "ind_new"] == pytest.approx(0.95 * k.loc[t, "ind_new"] + fed, rel=1e-9, abs=1e-9)
    # capacity started in the last period (or, with lag 2, the last two) is of no use
    assert z.loc[6, "ind_new"] == 0.0


def test_terminal_condition_keeps_the_capital(eco):
    kw = dict(
        final_demand=pd.Series({"grain": 20.0, "goods": 5.0}),
        depreciation=0.1,
        new_techniques={"ind_new": 1},
    )
    obj = MaxConsumption(basket=pd.Series({"grain": 1.0, "goods": 0.5}))
    keep = plan_dynamic(eco, 4, obj, terminal="stocks", **kw)
    eat = plan_dynamic(eco, 4, obj, terminal="none", **kw)
    start_stock = keep.stocks.iloc[0]
    end_keep = (keep.terminal_capacity.to_numpy() @ eco.capital[:, :].toarray().T)
    assert (end_keep >= start_stock.to_numpy() - 1e-7).all()
    # without the condition the plan eats its capital at the end, and consumes more
    end_eat = eat.terminal_capacity.to_numpy() @ eco.capital.toarray().T
    assert end_eat[1] < start_stock["goods"] - 1.0
    assert eat.objective_value > keep.objective_value
    grow = plan_dynamic(eco, 4, obj, terminal=Terminal("capacity", growth=0.01), **kw)
    assert (grow.terminal_capacity.to_numpy() >= 1.01**4 * grow.capacity.iloc[0].to_numpy() - 1e-7).all()
    assert grow.verify(eco) == []


def test_uniform_growth_of_the_basket(eco):
    basket = pd.Series({"grain": 1.0, "goods": 0.5})
    plan = plan_dynamic(eco, 5, MaxConsumption(basket=basket, growth=0.03), new_techniques={"ind_new": 1})
    c = plan.consumption["grain"].to_numpy()
    np.testing.assert_allclose(c / c[0], 1.03 ** np.arange(5), rtol=1e-9)
    assert plan.verify(eco) == []


def test_shadow_prices_are_marginal_values(eco):
    """A product's shadow price is the objective's change per unit of extra floor
    (the envelope theorem; Dorfman, Samuelson and Solow 1958, ch. 7), checked by a
    finite difference."""
    basket = pd.Series({"grain": 1.0, "goods": 0.5})
    floors = pd.DataFrame({"grain": [20.0] * 4, "goods": [5.0] * 4}, index=pd.RangeIndex(1, 5, name="period"))
    kw = dict(depreciation=0.05, new_techniques={"ind_new": 1})
    base = plan_dynamic(eco, 4, MaxConsumption(basket=basket), final_demand=floors, **kw)
    eps = 1e-3
    more = floors.copy()
    more.loc[3, "goods"] += eps
    moved = plan_dynamic(eco, 4, MaxConsumption(basket=basket), final_demand=more, **kw)
    dobj = (base.objective_value - moved.objective_value) / eps
    assert dobj == pytest.approx(base.prices.loc[3, "goods"], rel=1e-4, abs=1e-7)
    assert (base.prices.to_numpy() >= -1e-9).all()
    # labour binds in a plan that maximises consumption: its price is positive
    assert (base.factor_prices["labour"] > 0).all()


def test_reach_targets_at_least_cost(eco):
    target = pd.Series({"ind_new": 30.0})
    plan = plan_dynamic(
        eco,
        5,
        ReachTargets(capacity=target),
        final_demand=pd.Series({"grain": 20.0, "goods": 5.0}),
        new_techniques={"ind_new": 1},
        terminal="none",
    )
    assert plan.capacity.loc[5, "ind_new"] >= 30.0 - 1e-7
    assert plan.sense == "min"
    assert plan.verify(eco) == []
    # it costs labour to build: more labour than a plan with no target
    free = plan_dynamic(
        eco, 5, ReachTargets(), final_demand=pd.Series({"grain": 20.0, "goods": 5.0}), new_techniques={"ind_new": 1}, terminal="none"
    )
    assert plan.objective_value > free.objective_value


def test_impossible_plan_names_the_clash(eco):
    """A target that needs more investment than the economy can save is impossible,
    and the report names the clashing constraints."""
    with pytest.raises(InfeasibleDynamicPlanError) as info:
        plan_dynamic(
            eco,
            3,
            ReachTargets(capacity=pd.Series({"ind_new": 500.0})),
            final_demand=pd.Series({"grain": 20.0, "goods": 5.0}),
            new_techniques={"ind_new": 1},
        )
    err = info.value
    text = str(err)
    assert "capacity target" in text
    assert any("capacity target" in c for c in err.constraints)
    # investment goods come out of the balance of goods, or labour limits their making
    assert any("balance of product 'goods'" in c or "supply of factor 'labour'" in c for c in err.constraints)


def test_max_terminal_stocks_respects_floors(eco):
    floors = pd.Series({"grain": 30.0, "goods": 8.0})
    plan = plan_dynamic(eco, 4, MaxTerminalStocks(), final_demand=floors, new_techniques={"ind_new": 1})
    assert (plan.consumption.to_numpy() >= floors.to_numpy() - 1e-9).all()
    assert plan.terminal_capacity.sum() > plan.capacity.iloc[0].sum()
    assert plan.verify(eco) == []


def test_lp_is_one_block_program(eco):
    spec = dynamic_spec(eco, 7, new_techniques={"ind_new": 1}, investment_shares={"farm": 0.5, "ind_old": 0.5, "ind_new": 0.0})
    lp, layout = build_dynamic_lp(eco, spec, MaxConsumption())
    T, P, J, F, Jc = 7, 2, 3, 1, 3
    assert lp.shape[1] == T * J + T * Jc + (T + 1) * Jc + T + T
    # balance, factor, capacity, accumulation, shares, totals, terminal (one per capital product)
    assert lp.shape[0] == T * P + T * F + T * Jc + T * Jc + T * Jc + T + 1


def test_errors_name_the_culprit(eco):
    with pytest.raises(UnknownIdError, match="steelworks"):
        dynamic_spec(eco, 3, new_techniques={"steelworks": 2})
    with pytest.raises(SchemaError, match="add up to"):
        dynamic_spec(eco, 3, new_techniques={"ind_new": 1}, investment_shares={"farm": 0.5, "ind_old": 0.2})
    with pytest.raises(SchemaError, match="lag of activity 'farm'"):
        dynamic_spec(eco, 3, new_techniques={"ind_new": 1}, lag={"farm": 0})
    with pytest.raises(SchemaError, match="initial capacity"):
        dynamic_spec(eco, 3)  # ind_new ties up capital, has no capacity and is not new
    with pytest.raises(SchemaError, match="depreciation of activity 'farm'"):
        dynamic_spec(eco, 3, new_techniques={"ind_new": 1}, depreciation={"farm": 1.5})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    T=st.integers(1, 5),
    dep=st.floats(0.0, 0.3),
    lag=st.integers(1, 3),
    growth=st.floats(-0.02, 0.05),
    discount=st.floats(0.0, 0.2),
    start=st.integers(1, 3),
)
def test_every_plan_verifies(T, dep, lag, growth, discount, start):
    """Property: every returned plan satisfies every stock-flow identity in every period."""
    eco = two_sector()
    start = min(start, T)
    plan = plan_dynamic(
        eco,
        T,
        MaxConsumption(basket=pd.Series({"grain": 1.0, "goods": 1.0}), discount=discount),
        final_demand=pd.Series({"grain": 10.0, "goods": 2.0}),
        factor_growth=growth,
        depreciation=dep,
        lag={"ind_new": lag},
        new_techniques={"ind_new": start},
        terminal="none",
    )
    assert plan.verify(eco, tol=1e-6) == []


@pytest.mark.parametrize("modern", [False, True])
def test_one_period_equals_the_one_period_plan(modern):
    """With T = 1 (no terminal condition) the dynamic model is the one-period plan of
    gosplan.planning.optimal: same objective value, levels and shadow prices, for
    the basket objective and for least labour."""
    from gosplan.planning.optimal import optimal_plan
    from gosplan.planning.targets import Targets

    eco = two_sector(modern=modern)
    floors = pd.Series({"grain": 20.0, "goods": 5.0})
    basket = pd.Series({"grain": 1.0, "goods": 0.5})
    extra = {"initial_capacity": {"ind_new": 25.0}} if modern else {}
    caps = {"ind_new": 25.0} if modern else None
    one = optimal_plan(eco, Targets(floors=floors, basket=basket), "basket", capacities=caps)
    dyn = plan_dynamic(eco, 1, MaxConsumption(basket=basket), final_demand=floors, terminal="none", **extra)
    assert dyn.objective_value == pytest.approx(one.objective_value, rel=1e-9)
    assert dyn.consumption_level.iloc[0] == pytest.approx(one.basket_multiple, rel=1e-9)
    np.testing.assert_allclose(dyn.levels.iloc[0].to_numpy(), one.levels.reindex(eco.activity_ids).to_numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dyn.prices.iloc[0].to_numpy(), one.valuations.reindex(eco.product_ids).to_numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        dyn.factor_prices.iloc[0].to_numpy(), one.factor_valuations.reindex(eco.factor_ids).to_numpy(), rtol=1e-7, atol=1e-9
    )
    # least labour for fixed floors
    one_l = optimal_plan(eco, Targets(floors=floors * 3), "labour", capacities=caps)
    dyn_l = plan_dynamic(eco, 1, ReachTargets(), final_demand=floors * 3, terminal="none", **extra)
    assert dyn_l.objective_value == pytest.approx(one_l.objective_value, rel=1e-9)
    assert dyn_l.verify(eco) == []


def test_cli_plan_periods(tmp_path):
    """``gosplan plan --periods T`` runs the multi-period planner (here on the shipped
    UK 2010 table, which has no capital: every period is the one-period plan)."""
    from typer.testing import CliRunner

    from gosplan.cli import app

    out = tmp_path / "p"
    res = CliRunner().invoke(
        app, ["plan", "uk_2010", "--final-demand", "1.0", "--periods", "2", "--objective", "factor:compensation", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "2-period plan" in res.output and "stock-flow identities hold" in res.output
    levels = pd.read_parquet(out / "levels.parquet")
    assert len(levels) == 2


def test_saving_more_than_the_economy_can_is_impossible(eco):
    """Investing 90 % of net output while feeding the floors cannot be done; the
    report names the investment rate and what it clashes with."""
    with pytest.raises(InfeasibleDynamicPlanError) as info:
        plan_dynamic(
            eco,
            3,
            MaxConsumption(),
            final_demand=pd.Series({"grain": 20.0, "goods": 5.0}),
            new_techniques={"ind_new": 1},
            investment_rate=0.9,
        )
    names = info.value.constraints
    assert any("fixed investment rate in period" in c for c in names)
    assert any("balance of product" in c for c in names)


# -- the approximate (first-order, repaired and certified) path -----------------------------


def _synthetic(n: int, seed: int, structure: str = "random"):
    """A small random economy with capital, as in benchmarks/bench_dynamic.py."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from bench_dynamic import synthetic_economy
    finally:
        sys.path.pop(0)
    return synthetic_economy(n, seed=seed, depreciation=0.05, structure=structure)


def _approx_case(n: int, T: int, seed: int = 0):
    eco, d = _synthetic(n, seed)
    lags = pd.Series(np.where(np.arange(n) % 3 == 0, 2, 1), index=eco.activity_ids)
    kw = dict(final_demand=0.5 * d, depreciation=0.05, lag=lags, factor_growth=0.02)
    return eco, MaxConsumption(basket=d, discount=0.03), kw


def test_pdlp_plan_is_approximate_feasible_and_near_the_exact_optimum():
    """PDLP's plan, repaired, is exactly feasible (verify passes at the default
    tolerance), is marked APPROXIMATE (never OPTIMAL), cannot beat the simplex
    optimum, and its certified gap bounds its distance from it."""
    from gosplan.planning.solver import SolverOptions, SolverStatus

    eco, obj, kw = _approx_case(60, 5)
    exact = plan_dynamic(eco, 5, obj, **kw)
    approx = plan_dynamic(eco, 5, obj, **kw, options=SolverOptions(method="pdlp", tol=1e-6), accuracy=1e-3)
    assert exact.status is SolverStatus.OPTIMAL
    assert approx.status is SolverStatus.APPROXIMATE and not approx.status.ok
    assert approx.verify(eco) == []
    acc = approx.solver["accuracy"]
    assert acc["primal"] <= 1e-7 and acc["dual"] <= 1e-3 and acc["gap"] <= 1e-3
    # a feasible plan of a maximisation is at most the optimum; the gap bounds the loss
    assert approx.objective_value <= exact.objective_value * (1 + 1e-9)
    loss = (exact.objective_value - approx.objective_value) / exact.objective_value
    assert loss <= 1e-3 + 1e-6, loss


def test_pdlp_refuses_an_accuracy_it_cannot_certify():
    from gosplan.errors import GosplanError
    from gosplan.planning.solver import SolverOptions

    eco, obj, kw = _approx_case(40, 4)
    with pytest.raises(GosplanError, match="not solved to optimality"):
        plan_dynamic(eco, 4, obj, **kw, options=SolverOptions(method="pdlp", tol=1e-2), accuracy=1e-12)


def test_relative_accuracy_of_an_exact_solution_is_tiny():
    from gosplan.planning.solver import SolverOptions, relative_accuracy, solve_lp

    eco = two_sector(modern=False)
    spec = dynamic_spec(eco, 4, final_demand=pd.Series({"grain": 20.0, "goods": 5.0}), depreciation=0.05)
    lp, _ = build_dynamic_lp(eco, spec, MaxConsumption())
    r = solve_lp(lp, SolverOptions(method="dual_simplex"))
    acc = relative_accuracy(lp, r.x, r.row_duals, r.col_duals)
    assert acc["primal"] < 1e-9 and acc["dual"] < 1e-9 and acc["gap"] < 1e-9
    # a wrong dual is caught
    bad = relative_accuracy(lp, r.x, r.row_duals * 1.1, r.col_duals)
    assert bad["dual"] > 1e-3 or bad["gap"] > 1e-3


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), noise=st.floats(1e-6, 1e-2), T=st.integers(2, 5))
def test_repair_makes_any_nearby_point_feasible(seed, noise, T):
    """Perturb the optimal path (relative noise on every column); the repair returns
    a point that meets every row and bound of the LP to rounding."""
    from gosplan.planning.dynamic.methods.approx import repair_max_consumption
    from gosplan.planning.solver import SolverOptions, primal_infeasibility, solve_lp

    eco, obj, kw = _approx_case(30, T, seed=seed % 7)
    spec = dynamic_spec(eco, T, **kw)
    lp, layout = build_dynamic_lp(eco, spec, obj)
    r = solve_lp(lp, SolverOptions(method="dual_simplex"))
    rng = np.random.default_rng(seed)
    x = r.x * (1 + noise * rng.standard_normal(len(r.x)))
    y = repair_max_consumption(lp, layout, spec, eco, x)
    assert y is not None
    ax = lp.A @ y
    assert primal_infeasibility(lp, y, ax) <= 1e-9 * max(1.0, np.abs(ax).max())
    assert lp.c @ y <= r.objective * (1 + 1e-9)


def test_layout_finds_rows_and_columns_by_name(eco):
    """The public Layout: the balance row of product p in period t holds (make - use) of
    the levels of period t; a block added by add_columns / add_rows is found by its name
    and the program's existing rows and columns keep their places."""
    import scipy.sparse as sp

    from gosplan.errors import SchemaError

    spec = dynamic_spec(eco, 3, new_techniques={"ind_new": 1})
    lp, layout = build_dynamic_lp(eco, spec, MaxConsumption())
    A = sp.csr_array(lp.A)
    t, p = 1, 1  # goods in period 2
    row = int(layout.row("balance", t, p))
    assert layout.row_block(row) == ("balance", t * layout.P + p)
    x = [int(layout.col("x", t, j)) for j in range(layout.J)]
    assert np.allclose(A[[row]][:, x].toarray().ravel(), (eco.make - eco.use).toarray()[p])
    m, n = lp.shape
    extra = sp.csc_array((np.ones(1), ([row], [0])), shape=(m, 1))
    lp2, lay2 = layout.add_columns(lp, "extra", extra, c=[0.0], upper=[2.0])
    assert lay2.cols("extra") == slice(n, n + 1) and lay2.col_block(n) == ("extra", 0)
    assert lp2.col_upper[n] == 2.0 and lay2.row("balance", t, p) == row
    lp3, lay3 = lay2.add_rows(lp2, "cap_extra", sp.csc_array((np.ones(1), ([0], [n])), shape=(1, n + 1)), 0.0, 1.0)
    assert lay3.rows("cap_extra") == slice(m, m + 1) and lay3.shape == lp3.shape == (m + 1, n + 1)
    with pytest.raises(SchemaError, match="already has a column block 'extra'"):
        lay2.add_columns(lp2, "extra", extra)
    with pytest.raises(SchemaError, match="add_rows 'bad': 1 columns, the program has"):
        layout.add_rows(lp, "bad", sp.csc_array((1, 1)), 0.0, 1.0)
