"""The classic growth models, in closed form and as multi-period plans.

Each preset gives the published model's own solution (a formula or a small
algorithm) and, where it fits, the same model built as an :class:`Economy` for
:func:`gosplan.planning.dynamic.plan_dynamic`, so the general machinery can be
checked against the closed form:

* Feldman's two-sector model (G. A. Feldman, "K teorii tempov narodnogo dokhoda",
  *Planovoe khozyaistvo* 1928, nos. 11-12; in the form of E. D. Domar, "A Soviet
  Model of Growth", 1957, in *Essays in the Theory of Economic Growth*, ch. IX);
* the dynamic Leontief model ``x_t = A x_t + B (x_{t+1} - x_t) + c_t`` (W. Leontief
  et al., *Studies in the Structure of the American Economy*, 1953, ch. 3);
* von Neumann's balanced growth (J. von Neumann, "A Model of General Economic
  Equilibrium", *Review of Economic Studies* 13, 1945/46) computed by the
  algorithm of Kemeny, Morgenstern and Thompson ("A Generalization of the von
  Neumann Model of an Expanding Economy", *Econometrica* 24, 1956): bisection on
  the growth factor with a linear feasibility check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import ConvergenceError, SchemaError

__all__ = [
    "VonNeumannGrowth",
    "dynamic_leontief_economy",
    "dynamic_leontief_path",
    "feldman_continuous",
    "feldman_economy",
    "feldman_growth_rate",
    "feldman_path",
    "feldman_plan",
    "leontief_balanced_growth",
    "von_neumann",
]


# -- Feldman ---------------------------------------------------------------------------


def _check_feldman(gamma: float, v1: float, v2: float) -> None:
    if not 0 < gamma <= 1:
        raise SchemaError(f"gamma (share of investment going to the sector making means of production) must be in (0, 1], not {gamma}")
    if v1 <= 0 or v2 <= 0:
        raise SchemaError(f"capital coefficients v1, v2 must be > 0, not {v1}, {v2}")


def feldman_growth_rate(gamma: float, v1: float, depreciation: float = 0.0) -> float:
    """The long-run growth rate of Feldman's economy: ``gamma / v1 - depreciation``.

    Investment (the output of sector 1, making means of production) grows at
    ``gamma / v1`` per period, where ``gamma`` is the share of investment put back
    into sector 1 and ``v1`` its capital-output ratio; consumption and income
    approach the same rate (Domar 1957, eq. 9 and the discussion after it).
    """
    _check_feldman(gamma, v1, 1.0)
    return gamma / v1 - depreciation


def feldman_path(
    gamma: float,
    v1: float,
    v2: float,
    investment0: float,
    consumption0: float,
    periods: int,
    depreciation: float = 0.0,
) -> pd.DataFrame:
    """Closed-form path of Feldman's model in discrete time.

    Sector 1 makes means of production at capacity ``I_t = K1_t / v1``, sector 2
    consumer goods ``C_t = K2_t / v2``; a share ``gamma`` of ``I_t`` is added to
    sector 1's capital, the rest to sector 2's, usable next period; both stocks
    depreciate at rate ``d``. With ``r = 1 - d + gamma / v1``:

        I_t = I_1 r^(t-1),
        C_t = (1 - d)^(t-1) C_1 + (1 - gamma) v1 / (gamma v2) I_1 (r^(t-1) - (1 - d)^(t-1)),

    the discrete form of Domar (1957, eqs. 5-8). Returns a period x {investment,
    consumption, income, investment_share_of_income} frame, periods 1..T.
    """
    _check_feldman(gamma, v1, v2)
    t = np.arange(periods, dtype=float)
    keep = 1.0 - depreciation
    r = keep + gamma / v1
    inv = investment0 * r**t
    cons = keep**t * consumption0 + (1.0 - gamma) * v1 / (gamma * v2) * investment0 * (r**t - keep**t)
    out = pd.DataFrame(
        {"investment": inv, "consumption": cons, "income": inv + cons},
        index=pd.RangeIndex(1, periods + 1, name="period"),
    )
    out["investment_share_of_income"] = out["investment"] / out["income"]
    return out


def feldman_continuous(gamma: float, v1: float, v2: float, investment0: float, consumption0: float, t: Any) -> pd.DataFrame:
    """Domar's continuous-time solution of Feldman's model.

    ``I(t) = I_0 exp(gamma t / v1)`` and
    ``C(t) = C_0 + (1 - gamma) v1 / (gamma v2) I_0 (exp(gamma t / v1) - 1)``
    (Domar 1957, eqs. 5 and 8, with ``v1``, ``v2`` the capital coefficients of the
    two sectors). ``t`` is a scalar or an array of times.
    """
    _check_feldman(gamma, v1, v2)
    tt = np.atleast_1d(np.asarray(t, dtype=float))
    e = np.exp(gamma * tt / v1)
    inv = investment0 * e
    cons = consumption0 + (1.0 - gamma) * v1 / (gamma * v2) * investment0 * (e - 1.0)
    return pd.DataFrame({"investment": inv, "consumption": cons, "income": inv + cons}, index=pd.Index(tt, name="t"))


def feldman_economy(v1: float, v2: float, labour: tuple[float, float] | None = None) -> Economy:
    """Feldman's two-sector economy as an :class:`Economy`.

    Products ``means_of_production`` and ``consumer_goods``, one activity each
    (``sector_1``, ``sector_2``), no intermediate use; one unit of capacity of
    sector i ties up ``v_i`` units of means of production. Labour (optional) is
    the only factor; Feldman assumes it is never short.
    """
    _check_feldman(1.0, v1, v2)
    lab = np.array([list(labour or (0.0, 0.0))])
    return Economy(
        products=pd.DataFrame({"name": ["means of production", "consumer goods"]}, index=["means_of_production", "consumer_goods"]),
        activities=["sector_1", "sector_2"],
        factors=["labour"],
        use=np.zeros((2, 2)),
        make=np.eye(2),
        factor_use=lab,
        capital=np.array([[v1, v2], [0.0, 0.0]]),
        name="Feldman two-sector model",
        meta={"source": "Feldman 1928; Domar 1957, 'A Soviet Model of Growth'"},
    )


def feldman_plan(
    gamma: float,
    v1: float,
    v2: float,
    investment0: float,
    consumption0: float,
    periods: int,
    depreciation: float = 0.0,
    options: Any = None,
):
    """Feldman's model run through the general multi-period planner.

    The investment share ``gamma`` is imposed as a fixed share of new capital
    (``investment_shares``); the plan maximises consumption with a small value on
    terminal stocks so that capacity is used in the last period too. Its levels
    must equal :func:`feldman_path`.
    """
    from gosplan.planning.dynamic import MaxConsumption, plan_dynamic

    _check_feldman(gamma, v1, v2)
    eco = feldman_economy(v1, v2)
    return plan_dynamic(
        eco,
        periods,
        MaxConsumption(basket=pd.Series({"consumer_goods": 1.0}), terminal_weight=1e-3),
        initial_capacity={"sector_1": investment0, "sector_2": consumption0},
        investment_shares={"sector_1": gamma, "sector_2": 1.0 - gamma},
        depreciation=depreciation,
        terminal="none",
        options=options,
    )


# -- the dynamic Leontief model ------------------------------------------------------------


def _square(M: Any, n: int | None, what: str) -> sp.csc_array:
    m = sp.csc_array(M.to_numpy(dtype=float) if isinstance(M, pd.DataFrame) else M, dtype=np.float64)
    if m.shape[0] != m.shape[1] or (n is not None and m.shape[0] != n):
        raise SchemaError(f"{what}: shape {m.shape}, expected a square matrix{'' if n is None else f' of {n}'}")
    return m


def dynamic_leontief_path(A: Any, B: Any, final_demand: Any, x0: Any) -> pd.DataFrame:
    """Forward solution of the dynamic Leontief model.

    ``x_t = A x_t + B (x_{t+1} - x_t) + c_t``, solved period by period for
    ``x_{t+1}``: ``B x_{t+1} = (I - A + B) x_t - c_t`` (Leontief 1953, ch. 3; Miller
    and Blair 2009, sec. 13.2). ``B`` (capital coefficients) is factored once and
    must be invertible; an economy whose products are not all capital goods has a
    singular ``B`` and is planned with :func:`~gosplan.planning.dynamic.plan_dynamic`
    instead. The forward solution is known to be unstable (Dorfman, Samuelson and
    Solow 1958, ch. 12): small errors grow at the model's fastest rate.

    ``final_demand``: T x n (DataFrame or array) of ``c_1..c_T``; ``x0``: ``x_1``.
    Returns ``x_1..x_{T+1}`` as a period x product frame.
    """
    from scipy.sparse.linalg import splu

    labels = A.index if isinstance(A, pd.DataFrame) else None
    Am = _square(A, None, "A")
    n = Am.shape[0]
    Bm = _square(B, n, "B")
    C = np.asarray(final_demand.to_numpy() if isinstance(final_demand, pd.DataFrame) else final_demand, dtype=float)
    C = C.reshape(-1, n)
    try:
        lu = splu(sp.csc_matrix(Bm))
    except RuntimeError as exc:
        raise SchemaError(
            "B (capital coefficients) is singular, so x_{t+1} is not determined by x_t; "
            "products that are not capital goods have zero rows in B. Use plan_dynamic for such economies"
        ) from exc
    M = sp.identity(n, format="csc") - Am + Bm
    xs = [np.asarray(x0, dtype=float).reshape(n)]
    for c in C:
        xs.append(lu.solve(M @ xs[-1] - c))
    cols = labels if labels is not None else pd.RangeIndex(n, name="product")
    return pd.DataFrame(np.array(xs), index=pd.RangeIndex(1, len(xs) + 1, name="period"), columns=cols)


def leontief_balanced_growth(A: Any, B: Any) -> tuple[float, pd.Series]:
    """Maximal balanced growth rate of the closed dynamic Leontief model.

    With ``c = 0`` and ``x_t = (1 + g)^t x``, ``(I - A) x = g B x``: ``1/g`` is the
    dominant eigenvalue of ``(I - A)^{-1} B``, found here from the generalized
    eigenproblem ``B x = mu (I - A) x`` (no inverse is formed), and ``x`` its
    non-negative eigenvector (Leontief 1953, ch. 3; Dorfman, Samuelson and Solow
    1958, sec. 11-3). Returns ``(g, x)`` with ``x`` summing to 1.
    """
    import scipy.linalg as sla

    labels = A.index if isinstance(A, pd.DataFrame) else None
    Am = _square(A, None, "A").toarray()
    n = Am.shape[0]
    Bm = _square(B, n, "B").toarray()
    if n > 2000:
        raise SchemaError(f"leontief_balanced_growth uses a dense eigensolver; {n} products is too many (at most 2000)")
    mu, vecs = sla.eig(Bm, np.eye(n) - Am)
    finite = np.isfinite(mu)
    if not finite.any():
        raise SchemaError("B is zero: no capital, no balanced growth")
    mu = np.where(finite, mu, 0)
    k = int(np.argmax(np.where(np.abs(mu.imag) < 1e-9 * np.abs(mu).max(), mu.real, -np.inf)))
    if mu[k].real <= 0:
        raise SchemaError("no positive balanced growth: (I - A)^{-1} B has no positive eigenvalue")
    v = np.real(vecs[:, k])
    v = v / v.sum()
    if (v < -1e-9).any():
        raise SchemaError("the dominant eigenvector has mixed signs: the economy is not productive (check A)")
    v = np.maximum(v, 0.0)
    cols = labels if labels is not None else pd.RangeIndex(n, name="product")
    return float(1.0 / mu[k].real), pd.Series(v, index=cols, name="proportions")


def dynamic_leontief_economy(A: pd.DataFrame, B: pd.DataFrame, labour: pd.Series | None = None) -> Economy:
    """The dynamic Leontief model as an :class:`Economy` (one activity per product,
    ``capital = B``) for :func:`~gosplan.planning.dynamic.plan_dynamic`."""
    from gosplan.economy import from_coefficients

    Bm = B.reindex(index=A.index, columns=A.columns).fillna(0.0)
    lab = None if labour is None else pd.DataFrame([labour.reindex(A.index).fillna(0.0).to_numpy()], index=["labour"], columns=A.index)
    return from_coefficients(A, lab, capital=Bm.to_numpy(), name="dynamic Leontief model")


# -- von Neumann ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VonNeumannGrowth:
    """The von Neumann equilibrium: growth factor ``alpha`` (= interest factor),
    process ``intensities`` and goods ``prices`` (each summing to 1)."""

    alpha: float
    intensities: pd.Series
    prices: pd.Series
    iterations: int

    @property
    def rate(self) -> float:
        """The maximal balanced growth rate ``alpha - 1`` (equal to the interest rate)."""
        return self.alpha - 1.0


def _vn_check(inputs: np.ndarray, outputs: np.ndarray, alpha: float):
    """The KMT feasibility LP at growth factor ``alpha``.

    ``max s`` over ``x >= 0, sum x = 1`` with ``(B - alpha A) x >= s``: the economy
    can grow at ``alpha`` iff ``s >= 0``. Its duals on the goods rows are the prices.
    """
    from gosplan.planning.solver import LinearProgram, SolverOptions, solve_lp

    m, n = inputs.shape
    M = outputs - alpha * inputs
    A = sp.csc_array(np.block([[M, -np.ones((m, 1))], [np.ones((1, n)), np.zeros((1, 1))]]))
    c = np.zeros(n + 1)
    c[-1] = 1.0
    lp = LinearProgram(
        c=c,
        A=A,
        row_lower=np.r_[np.zeros(m), 1.0],
        row_upper=np.r_[np.full(m, np.inf), 1.0],
        col_lower=np.r_[np.zeros(n), -np.inf],
        col_upper=np.full(n + 1, np.inf),
        sense="max",
    )
    return solve_lp(lp, SolverOptions(method="simplex", tol=1e-10))


def von_neumann(inputs: pd.DataFrame, outputs: pd.DataFrame, tol: float = 1e-10, max_iter: int = 200) -> VonNeumannGrowth:
    """Maximal balanced growth of a von Neumann economy, and its prices.

    Goods x processes matrices ``A`` (inputs) and ``B`` (outputs, one period later).
    The technological expansion factor is the largest ``alpha`` with ``B x >= alpha A x``
    for some intensities ``x >= 0, x != 0`` (von Neumann 1945/46). Following Kemeny,
    Morgenstern and Thompson (1956), it is found by bisection on ``alpha``, each step a
    linear feasibility check: ``max s`` s.t. ``(B - alpha A) x >= s 1``, ``1'x = 1``;
    ``alpha`` is feasible iff ``s >= 0``. At the root the duals of the goods rows are
    prices ``p >= 0`` with ``p (B - alpha A) <= 0`` (no process earns more than the
    interest factor ``alpha``); the equilibrium requires ``p B x > 0``, checked here.
    The bracket starts at ``[0, max_j 1'b_j / 1'a_j]`` (summing the goods rows).
    """
    if not isinstance(inputs, pd.DataFrame) or not isinstance(outputs, pd.DataFrame):
        raise SchemaError("von_neumann: give inputs and outputs as goods x processes DataFrames")
    outputs = outputs.reindex(index=inputs.index, columns=inputs.columns)
    if outputs.isna().any().any():
        raise SchemaError("von_neumann: inputs and outputs must have the same goods and processes")
    Am, Bm = inputs.to_numpy(dtype=float), outputs.to_numpy(dtype=float)
    if (Am < 0).any() or (Bm < 0).any():
        raise SchemaError("von_neumann: inputs and outputs must be >= 0")
    colin = Am.sum(axis=0)
    if (colin <= 0).any():
        bad = inputs.columns[colin <= 0][0]
        raise SchemaError(f"von_neumann: process {bad!r} uses no input, so the economy could grow without bound")
    if (Bm.sum(axis=1) <= 0).any():
        bad = inputs.index[Bm.sum(axis=1) <= 0][0]
        raise SchemaError(f"von_neumann: good {bad!r} is made by no process (KMT assume every good can be produced)")
    lo, hi = 0.0, float(np.max(Bm.sum(axis=0) / colin)) * (1 + 1e-9)
    it = 0
    while hi - lo > tol * max(1.0, hi) and it < max_iter:
        mid = 0.5 * (lo + hi)
        res = _vn_check(Am, Bm, mid)
        if res.objective >= 0:
            lo = mid
        else:
            hi = mid
        it += 1
    if it >= max_iter:
        raise ConvergenceError(f"von_neumann: bisection did not reach tol={tol} in {max_iter} steps")
    res = _vn_check(Am, Bm, lo)
    m, n = Am.shape
    x = np.maximum(res.x[:n], 0.0)
    p = np.maximum(-res.row_duals[:m], 0.0)  # a maximisation's >= rows have non-positive HiGHS duals
    if p.sum() <= 0 or x.sum() <= 0:
        raise ConvergenceError("von_neumann: no non-zero prices or intensities at the growth factor found")
    x, p = x / x.sum(), p / p.sum()
    if p @ Bm @ x <= 1e-12:
        raise SchemaError(
            "von_neumann: at the technological expansion factor the value of output p B x is zero; "
            "the economy decomposes (KMT 1956): study its parts separately"
        )
    return VonNeumannGrowth(
        alpha=lo,
        intensities=pd.Series(x, index=inputs.columns.copy(), name="intensity"),
        prices=pd.Series(p, index=inputs.index.copy(), name="price"),
        iterations=it,
    )

