"""The classic growth models: closed forms against the general multi-period planner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan.errors import SchemaError
from gosplan.planning.dynamic import MaxTerminalStocks, plan_dynamic
from gosplan.planning.presets import (
    dynamic_leontief_economy,
    dynamic_leontief_path,
    feldman_continuous,
    feldman_economy,
    feldman_growth_rate,
    feldman_path,
    feldman_plan,
    leontief_balanced_growth,
    von_neumann,
)

# -- Feldman -------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma,v1,v2,dep", [(0.4, 3.0, 2.0, 0.0), (0.25, 2.5, 1.5, 0.05), (1.0, 4.0, 2.0, 0.0)])
def test_feldman_plan_equals_closed_form(gamma, v1, v2, dep):
    """Domar (1957), 'A Soviet Model of Growth', eqs. 5-8 (discrete form): the general
    planner, given Feldman's fixed investment share, reproduces the closed-form path."""
    T = 10
    closed = feldman_path(gamma, v1, v2, 10.0, 30.0, T, depreciation=dep)
    plan = feldman_plan(gamma, v1, v2, 10.0, 30.0, T, depreciation=dep)
    np.testing.assert_allclose(plan.levels["sector_1"].to_numpy(), closed["investment"].to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(plan.levels["sector_2"].to_numpy(), closed["consumption"].to_numpy(), rtol=1e-8)
    assert plan.verify(feldman_economy(v1, v2)) == []
    # all of sector 1's output is invested, a share gamma of it in sector 1 (value of
    # capital per unit of capacity is v1 resp. v2)
    z = plan.new_capacity
    np.testing.assert_allclose((v1 * z["sector_1"]).to_numpy()[:-1], gamma * closed["investment"].to_numpy()[:-1], rtol=1e-8)


def test_feldman_growth_rate_and_turnpike_of_income():
    """Investment grows at exactly gamma / v1 per period; income's growth rate tends to it
    (Domar 1957: 'the rate of growth of income approaches gamma / v1')."""
    g = feldman_growth_rate(0.3, 3.0)
    assert g == pytest.approx(0.1)
    p = feldman_path(0.3, 3.0, 2.0, 10.0, 90.0, 300)
    inv_growth = p["investment"].pct_change().dropna().to_numpy()
    np.testing.assert_allclose(inv_growth, 0.1, rtol=1e-12)
    y = p["income"].to_numpy()
    early, late = y[1] / y[0] - 1, y[-1] / y[-2] - 1
    assert early < late < 0.1
    assert late == pytest.approx(0.1, rel=1e-6)
    # a higher share for the means-of-production sector: slower at first, faster later
    lo = feldman_path(0.2, 3.0, 2.0, 10.0, 90.0, 60)
    hi = feldman_path(0.5, 3.0, 2.0, 10.0, 90.0, 60)
    assert hi["consumption"].iloc[1] < lo["consumption"].iloc[1]
    assert hi["consumption"].iloc[-1] > lo["consumption"].iloc[-1]


def test_feldman_discrete_tends_to_continuous():
    """With period length h, the discrete model (capital coefficients v / h) tends to
    Domar's continuous solution I(t) = I0 exp(gamma t / v1) as h -> 0."""
    gamma, v1, v2, t = 0.35, 3.0, 2.0, 10.0
    cont = feldman_continuous(gamma, v1, v2, 10.0, 30.0, t).iloc[0]
    errs = []
    for h in (0.1, 0.01, 0.001):
        n = round(t / h)
        disc = feldman_path(gamma, v1 / h, v2 / h, 10.0, 30.0, n + 1).iloc[-1]
        errs.append(abs(disc["consumption"] - cont["consumption"]) / cont["consumption"])
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-3


def test_feldman_checks_its_parameters():
    with pytest.raises(SchemaError, match="gamma"):
        feldman_path(1.5, 3.0, 2.0, 1.0, 1.0, 5)
    with pytest.raises(SchemaError, match="capital coefficients"):
        feldman_path(0.5, 0.0, 2.0, 1.0, 1.0, 5)


# -- dynamic Leontief ------------------------------------------------------------------------


def _random_AB(seed: int, n: int):
    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(n)]
    A = pd.DataFrame(rng.uniform(0, 0.6 / n, (n, n)), index=ids, columns=ids)
    B = pd.DataFrame(rng.uniform(0.1, 2.0 / n, (n, n)), index=ids, columns=ids)
    return A, B


def test_dynamic_leontief_path_satisfies_the_model():
    """x_t = A x_t + B (x_{t+1} - x_t) + c_t holds in every period (Leontief 1953, ch. 3)."""
    A, B = _random_AB(1, 4)
    c = np.full((5, 4), 0.1)
    g, xbar = leontief_balanced_growth(A, B)
    path = dynamic_leontief_path(A, B, c, 10 * xbar.to_numpy())
    X = path.to_numpy()
    for t in range(5):
        lhs = X[t]
        rhs = A.to_numpy() @ X[t] + B.to_numpy() @ (X[t + 1] - X[t]) + c[t]
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_balanced_growth_is_an_eigenpath_and_the_plans_turnpike():
    """The balanced path grows at g with (I - A) x = g B x; the general planner, asked for
    the largest uniform expansion of capacity from x in T periods with no consumption,
    finds (1 + g)^T (the von Neumann-Leontief ray is the fastest; Dorfman, Samuelson and
    Solow 1958, ch. 12)."""
    A, B = _random_AB(7, 5)
    g, xbar = leontief_balanced_growth(A, B)
    assert g > 0
    np.testing.assert_allclose(
        (np.eye(5) - A.to_numpy()) @ xbar.to_numpy(), g * B.to_numpy() @ xbar.to_numpy(), rtol=1e-9
    )
    path = dynamic_leontief_path(A, B, np.zeros((3, 5)), xbar.to_numpy())
    np.testing.assert_allclose(path.iloc[3].to_numpy(), (1 + g) ** 3 * xbar.to_numpy(), rtol=1e-8)
    eco = dynamic_leontief_economy(A, B)
    T = 6
    plan = plan_dynamic(eco, T, MaxTerminalStocks(proportions=xbar), initial_capacity=xbar, terminal="none")
    assert plan.objective_value == pytest.approx((1 + g) ** T, rel=1e-7)
    assert plan.verify(eco) == []


def test_dynamic_leontief_needs_invertible_B():
    A, B = _random_AB(2, 3)
    B.iloc[2, :] = 0.0
    with pytest.raises(SchemaError, match="singular"):
        dynamic_leontief_path(A, B, np.zeros((2, 3)), np.ones(3))


# -- von Neumann -----------------------------------------------------------------------------


def _vn_conditions(vn, inputs, outputs, tol=1e-7):
    """von Neumann's (1945/46) equilibrium conditions: B x >= alpha A x, p B <= alpha p A
    (no process earns more than the interest factor), p B x > 0."""
    A, B = inputs.to_numpy(), outputs.to_numpy()
    x, p = vn.intensities.to_numpy(), vn.prices.to_numpy()
    assert (B @ x - vn.alpha * A @ x >= -tol).all()
    assert (p @ B - vn.alpha * p @ A <= tol).all()
    assert p @ B @ x > 0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6))
def test_von_neumann_leontief_case_is_perron_root(seed, n):
    """With one process per good and outputs B = I, alpha = 1 / rho(A), intensities and
    prices the right and left Perron vectors of A (Perron-Frobenius; KMT 1956, sec. 4)."""
    rng = np.random.default_rng(seed)
    ids = [f"g{i}" for i in range(n)]
    A = pd.DataFrame(rng.uniform(0.05, 1.0, (n, n)), index=ids, columns=ids)
    B = pd.DataFrame(np.eye(n), index=ids, columns=ids)
    vn = von_neumann(A, B)
    vals, right = np.linalg.eig(A.to_numpy())
    k = int(np.argmax(vals.real))
    assert vn.alpha == pytest.approx(1 / vals[k].real, rel=1e-8)
    r = np.abs(right[:, k].real)
    np.testing.assert_allclose(vn.intensities.to_numpy(), r / r.sum(), rtol=1e-5, atol=1e-8)
    lvals, left = np.linalg.eig(A.to_numpy().T)
    kl = int(np.argmax(lvals.real))
    q = np.abs(left[:, kl].real)
    np.testing.assert_allclose(vn.prices.to_numpy(), q / q.sum(), rtol=1e-5, atol=1e-8)
    _vn_conditions(vn, A, B)


def test_von_neumann_joint_production_and_decomposable_case():
    """Two processes that each reproduce one good (1 -> 2 and 1 -> 3): the economy can
    grow by the factor 3 by running the second alone; the first good is then free
    (price 0) - the rule of free goods of von Neumann (1945/46)."""
    ids, procs = ["g1", "g2"], ["p1", "p2"]
    A = pd.DataFrame(np.eye(2), index=ids, columns=procs)
    B = pd.DataFrame([[2.0, 0.0], [0.0, 3.0]], index=ids, columns=procs)
    vn = von_neumann(A, B)
    assert vn.alpha == pytest.approx(3.0, rel=1e-9)
    assert vn.rate == pytest.approx(2.0, rel=1e-9)
    assert vn.prices["g1"] == pytest.approx(0.0, abs=1e-9)
    _vn_conditions(vn, A, B)
    # joint production: each process yields both goods
    A2 = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=ids, columns=procs)
    B2 = pd.DataFrame([[1.5, 1.0], [0.8, 2.0]], index=ids, columns=procs)
    vn2 = von_neumann(A2, B2)
    _vn_conditions(vn2, A2, B2)
    # maximality: any alpha a bit higher admits no intensities (checked by brute force)
    grid = np.linspace(0, 1, 2001)
    X = np.vstack([grid, 1 - grid])
    ok = ((B2.to_numpy() - (vn2.alpha * 1.0001) * A2.to_numpy()) @ X >= 0).all(axis=0)
    assert not ok.any()
    ok_at = ((B2.to_numpy() - (vn2.alpha * 0.9999) * A2.to_numpy()) @ X >= 0).all(axis=0)
    assert ok_at.any()


def test_von_neumann_errors():
    ids = ["a", "b"]
    A = pd.DataFrame([[1.0, 0.0], [0.0, 0.0]], index=ids, columns=["p", "q"])
    B = pd.DataFrame(np.eye(2), index=ids, columns=["p", "q"])
    with pytest.raises(SchemaError, match="process 'q' uses no input"):
        von_neumann(A, B)
