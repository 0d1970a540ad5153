"""Multi-period plans: building up capital over t = 1..T as one linear program.

The economy's activities run at levels ``x_t`` in every period. An activity with
capital coefficients (a column of ``Economy.capital``) cannot run above its
*capacity* ``k_t``; each unit of capacity ties up ``capital[:, j]`` of stocks, so
the stock of product p held by activity j is ``capital[p, j] * k_{j,t}``. Capacity
grows by investment ``z_{j,t}`` (new capacity started in t, usable from t + lag,
its capital goods delivered out of period t's output) and shrinks by depreciation:

    k_{j,t+1} = (1 - delta_j) k_{j,t} + z_{j,t+1-lag_j}

and every period balances products and factors:

    (make - use) x_t - capital z_t >= floor_t + u_t basket_t,   factor_use x_t <= supply_t.

Techniques not yet known (``new_techniques``) start with no capacity and cannot
run before their first period. Terminal conditions keep the plan from eating its
capital in the last years. The model is built as one sparse block LP (a loop over
nothing but block kinds: Kronecker products stack the periods) and solved through
:mod:`gosplan.planning.solver`; the result is a :class:`DynamicPlan` of labelled
period x product / activity / factor frames that checks itself without a solver.

This is the dynamic input-output model of Leontief (1953, *Studies in the Structure
of the American Economy*, ch. 3), written as a linear program in the manner of
Dorfman, Samuelson and Solow (1958, *Linear Programming and Economic Analysis*,
ch. 11-12), with activities (alternative techniques) chosen by the plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy, align
from gosplan.errors import GosplanError, SchemaError, UnknownIdError

__all__ = [
    "DynamicPlan",
    "DynamicSpec",
    "InfeasibleDynamicPlanError",
    "MaxConsumption",
    "MaxTerminalStocks",
    "ReachTargets",
    "Terminal",
    "build_dynamic_lp",
    "dynamic_spec",
    "plan_dynamic",
]


class InfeasibleDynamicPlanError(GosplanError):
    """No path meets every constraint; ``constraints`` names a clashing set."""

    def __init__(self, message: str, constraints: list[str] | None = None):
        super().__init__(message)
        self.constraints = constraints or []


# -- objectives and terminal conditions ---------------------------------------------


@dataclass(frozen=True)
class MaxConsumption:
    """Maximise consumption along the path.

    Consumption in period t is ``floor_t + u_t * basket_t``. With ``growth=None``
    the plan maximises the discounted sum ``sum_t u_t / (1 + discount)^(t-1)``;
    with a ``growth`` rate it keeps one level ``u`` and the basket grows uniformly,
    ``basket_t = (1 + growth)^(t-1) basket``, and maximises ``u``. ``basket`` is a
    Series (product -> quantity), a period x product DataFrame, or None (one unit of
    every product that is in the economy's base-year final demand, else of every
    product). ``terminal_weight`` values one unit of every terminal capital stock
    (in basket-level units), so the last periods' output of capital goods is not
    a matter of indifference.
    """

    basket: pd.Series | pd.DataFrame | None = None
    discount: float = 0.0
    growth: float | None = None
    terminal_weight: float = 0.0


@dataclass(frozen=True)
class ReachTargets:
    """Reach capacity or stock targets by the last period at least factor cost.

    ``capacity``: activity -> capacity usable in period T; ``stocks``: product ->
    capital stock (summed over activities) usable in period T. Cost is
    ``sum_t sum_f cost_f * factor use_{f,t} / (1 + discount)^(t-1)`` with
    ``cost`` a factor -> weight Series (default 1 for every factor).
    """

    capacity: pd.Series | None = None
    stocks: pd.Series | None = None
    cost: pd.Series | None = None
    discount: float = 0.0


@dataclass(frozen=True)
class MaxTerminalStocks:
    """Maximise what the plan leaves behind, consumption held at its floors.

    With ``proportions`` (activity -> capacity) the plan maximises the scale ``u``
    of terminal capacity ``k_{T+1} >= u * proportions`` (uniform expansion);
    otherwise the weighted terminal stocks ``sum_p weights_p * stock_{p,T+1}``
    (default weight 1 per unit of every product).
    """

    weights: pd.Series | None = None
    proportions: pd.Series | None = None


Objective = MaxConsumption | ReachTargets | MaxTerminalStocks


@dataclass(frozen=True)
class Terminal:
    """Terminal condition on what the plan hands on after period T.

    ``kind="stocks"``: the capital stock of every product, summed over activities,
    is at least ``(1 + growth)^T`` times its initial value (techniques may change,
    the stock may not shrink); ``"capacity"``: the same for every activity's
    capacity; ``"none"``: no condition (the plan may run its capital down).
    """

    kind: Literal["none", "stocks", "capacity"] = "stocks"
    growth: float = 0.0


# -- the normalised specification ------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DynamicSpec:
    """Everything but the objective, as plain arrays aligned to the economy.

    ``final_demand`` (T x P floors), ``factor_supply`` (T x F), ``depreciation``
    and ``lag`` and ``initial_capacity`` and ``start`` (first period index, 0-based)
    per activity, ``investment_shares`` (T x J or None), ``investment_weights`` (P),
    ``capital_activities`` (bool per activity), ``static_capacity`` (J, the level
    bound of activities without capital).
    """

    periods: pd.Index
    final_demand: np.ndarray
    factor_supply: np.ndarray
    depreciation: np.ndarray
    lag: np.ndarray
    initial_capacity: np.ndarray
    start: np.ndarray
    investment_shares: np.ndarray | None
    investment_weights: np.ndarray
    investment_rate: np.ndarray | None
    capital_activities: np.ndarray
    static_capacity: np.ndarray
    terminal: Terminal = field(default_factory=Terminal)

    @property
    def T(self) -> int:
        return len(self.periods)


def _per_activity(value: float | pd.Series | Mapping[str, float], economy: Economy, what: str, default: float) -> np.ndarray:
    J = len(economy.activities)
    if isinstance(value, (int, float, np.floating, np.integer)):
        return np.full(J, float(value))
    s = pd.Series(value, dtype=float)
    unknown = s.index.difference(economy.activity_ids)
    if len(unknown):
        raise UnknownIdError(f"{what}: unknown activit(ies) {list(map(str, unknown[:10]))}; known: {list(economy.activity_ids[:10])}")
    return s.reindex(economy.activity_ids).fillna(default).to_numpy(dtype=float)


def _period_frame(value: Any, periods: pd.Index, ids: pd.Index, what: str, default: float) -> np.ndarray:
    """A T x n array from None, a scalar, a Series over ids or a period x id DataFrame."""
    T, n = len(periods), len(ids)
    if value is None:
        return np.full((T, n), default)
    if isinstance(value, pd.DataFrame):
        df = value.astype(float)
        unknown = df.columns.difference(ids)
        if len(unknown):
            raise UnknownIdError(f"{what}: unknown id(s) {list(map(str, unknown[:10]))}")
        missing = periods.difference(df.index)
        if len(missing):
            raise SchemaError(f"{what}: no row for period(s) {list(missing[:10])}; give one row per period")
        out = df.reindex(index=periods, columns=ids).fillna(default).to_numpy()
    elif isinstance(value, (pd.Series, Mapping)):
        s = pd.Series(value, dtype=float)
        unknown = s.index.difference(ids)
        if len(unknown):
            raise UnknownIdError(f"{what}: unknown id(s) {list(map(str, unknown[:10]))}")
        out = np.tile(s.reindex(ids).fillna(default).to_numpy(), (T, 1))
    else:
        out = np.full((T, n), float(value))
    if np.isnan(out).any():
        raise SchemaError(f"{what}: a value is NaN; fill it with a number")
    return out


def dynamic_spec(
    economy: Economy,
    periods: int | Sequence[Any],
    *,
    final_demand: pd.Series | pd.DataFrame | None = None,
    factor_supply: pd.DataFrame | None = None,
    factor_growth: float | pd.Series | Mapping[str, float] = 0.0,
    depreciation: float | pd.Series | Mapping[str, float] = 0.0,
    lag: int | pd.Series | Mapping[str, int] = 1,
    initial_capacity: pd.Series | Mapping[str, float] | None = None,
    new_techniques: Mapping[str, Any] | None = None,
    investment_shares: pd.Series | pd.DataFrame | Mapping[str, float] | None = None,
    investment_weights: pd.Series | Mapping[str, float] | None = None,
    investment_rate: float | pd.Series | None = None,
    terminal: Terminal | str = "stocks",
) -> DynamicSpec:
    """Check and normalise the data of a multi-period plan (see :func:`plan_dynamic`)."""
    if isinstance(periods, (int, np.integer)):
        if periods < 1:
            raise SchemaError(f"periods must be at least 1, not {periods}")
        pidx = pd.RangeIndex(1, int(periods) + 1, name="period")
    else:
        pidx = pd.Index(list(periods), name="period")
        if len(pidx) == 0 or pidx.duplicated().any():
            raise SchemaError("periods: give at least one period and no period twice")
    T = len(pidx)
    P, J = len(economy.products), len(economy.activities)
    terminal = Terminal(terminal) if isinstance(terminal, str) else terminal
    if terminal.kind not in ("none", "stocks", "capacity"):
        raise SchemaError(f"terminal kind must be 'none', 'stocks' or 'capacity', not {terminal.kind!r}")

    fd = _period_frame(final_demand, pidx, economy.product_ids, "final_demand", 0.0)

    available = economy.factors["available"].to_numpy(dtype=float)
    if factor_supply is not None:
        if not isinstance(factor_supply, pd.DataFrame):
            raise SchemaError("factor_supply must be a period x factor DataFrame; use factor_growth for growth rates")
        given = factor_supply.reindex(columns=economy.factor_ids)
        given = given.fillna(pd.Series(available, index=economy.factor_ids))
        supply = _period_frame(given, pidx, economy.factor_ids, "factor_supply", np.inf)
    else:
        if isinstance(factor_growth, (int, float, np.floating)):
            g = np.full(len(available), float(factor_growth))
        else:
            gs = pd.Series(factor_growth, dtype=float)
            unknown = gs.index.difference(economy.factor_ids)
            if len(unknown):
                raise UnknownIdError(f"factor_growth: unknown factor(s) {list(map(str, unknown))}")
            g = gs.reindex(economy.factor_ids).fillna(0.0).to_numpy()
        if (g <= -1).any():
            raise SchemaError("factor_growth: a rate must be above -1")
        supply = available[None, :] * (1.0 + g[None, :]) ** np.arange(T)[:, None]
        supply = np.where(np.isinf(available)[None, :], np.inf, supply)
    if (supply < 0).any():
        raise SchemaError("factor supply must be >= 0 in every period")

    cap_mat = economy.capital
    has_capital = (np.diff(cap_mat.tocsc().indptr) > 0) if cap_mat is not None else np.zeros(J, dtype=bool)

    dep = _per_activity(depreciation, economy, "depreciation", 0.0)
    if ((dep < 0) | (dep > 1)).any():
        bad = economy.activity_ids[(dep < 0) | (dep > 1)][0]
        raise SchemaError(f"depreciation of activity {bad!r} is {dep[economy.activity_ids.get_loc(bad)]}; give a rate in [0, 1]")
    lags = _per_activity(lag, economy, "lag", 1.0)
    if (lags < 1).any() or (lags != np.round(lags)).any():
        bad = economy.activity_ids[(lags < 1) | (lags != np.round(lags))][0]
        raise SchemaError(f"lag of activity {bad!r} must be a whole number of periods >= 1")
    lags = lags.astype(np.int64)

    start = np.zeros(J, dtype=np.int64)
    new = dict(new_techniques or {})
    unknown = [a for a in new if a not in economy.activity_ids]
    if unknown:
        raise UnknownIdError(f"new_techniques: unknown activit(ies) {unknown}")
    for a, first in new.items():
        if first not in pidx:
            raise SchemaError(f"new_techniques: first period {first!r} of {a!r} is not one of the periods {list(pidx)}")
        start[economy.activity_ids.get_loc(a)] = pidx.get_loc(first)
    is_new = np.zeros(J, dtype=bool)
    if new:
        is_new[economy.activity_ids.get_indexer(list(new))] = True

    static = economy.activities["capacity"].to_numpy(dtype=float)
    cap0 = np.where(has_capital, static, np.inf)
    if economy.levels is not None:
        cap0 = np.where(has_capital & np.isinf(cap0), economy.levels.to_numpy(), cap0)
    cap0 = np.where(is_new & has_capital, 0.0, cap0)
    if initial_capacity is not None:
        ic = pd.Series(initial_capacity, dtype=float)
        unknown = ic.index.difference(economy.activity_ids)
        if len(unknown):
            raise UnknownIdError(f"initial_capacity: unknown activit(ies) {list(map(str, unknown[:10]))}")
        pos = economy.activity_ids.get_indexer(ic.index)
        cap0[pos] = ic.to_numpy()
    missing = has_capital & ~np.isfinite(cap0)
    if missing.any():
        names = list(economy.activity_ids[missing][:10])
        raise SchemaError(
            f"activities {names} tie up capital but have no initial capacity; give `initial_capacity`, "
            "a finite `capacity` in the activities table, or base-year `levels`"
        )
    if (cap0[has_capital] < 0).any():
        raise SchemaError("initial capacity must be >= 0")

    if investment_weights is None:
        w = np.ones(P)
    else:
        w = align(pd.Series(investment_weights, dtype=float), economy.product_ids, "investment_weights").to_numpy()
    shares = None
    if investment_shares is not None:
        shares = _period_frame(investment_shares, pidx, economy.activity_ids, "investment_shares", 0.0)
        if (shares < 0).any():
            raise SchemaError("investment_shares must be >= 0")
        off = (shares > 0) & ~has_capital[None, :]
        if off.any():
            bad = economy.activity_ids[off.any(axis=0)][0]
            raise SchemaError(f"investment_shares: activity {bad!r} ties up no capital, so it cannot receive investment")
        tot = shares.sum(axis=1)
        if np.abs(tot - 1.0).max() > 1e-9:
            t = int(np.argmax(np.abs(tot - 1.0)))
            raise SchemaError(f"investment_shares: shares of period {pidx[t]!r} add up to {tot[t]:.6g}, not 1")
    rate = None
    if investment_rate is not None:
        if isinstance(investment_rate, pd.Series):
            missing = pidx.difference(investment_rate.index)
            if len(missing):
                raise SchemaError(f"investment_rate: no rate for period(s) {list(missing[:10])}")
            rate = investment_rate.reindex(pidx).to_numpy(dtype=float)
        else:
            rate = np.full(T, float(investment_rate))
        if not np.isfinite(rate).all() or (rate < 0).any() or (rate >= 1).any():
            raise SchemaError("investment_rate: a share of net output in [0, 1) per period")
        if not has_capital.any():
            raise SchemaError("investment_rate needs capital coefficients (Economy.capital): there is nothing to invest in")
    return DynamicSpec(
        periods=pidx,
        final_demand=fd,
        factor_supply=supply,
        depreciation=dep,
        lag=lags,
        initial_capacity=cap0,
        start=start,
        investment_shares=shares,
        investment_weights=w,
        investment_rate=rate,
        capital_activities=has_capital,
        static_capacity=np.where(has_capital, np.inf, static),
        terminal=terminal,
    )


# -- the block LP -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Layout:
    """Where each block of columns and rows sits in the LP."""

    T: int
    P: int
    J: int
    F: int
    Jc: int
    cap_idx: np.ndarray
    nu: int
    n_inv: int
    col_blocks: dict[str, tuple[int, int]]
    row_blocks: dict[str, tuple[int, int]]

    def cols(self, name: str) -> slice:
        a, b = self.col_blocks[name]
        return slice(a, b)

    def rows(self, name: str) -> slice:
        a, b = self.row_blocks[name]
        return slice(a, b)


def _zeros(m: int, n: int) -> sp.csr_array:
    return sp.csr_array((m, n))


def _consumption_levels(objective: Objective, economy: Economy, spec: DynamicSpec) -> tuple[np.ndarray, int]:
    """Basket per period (T x P) and the number of level variables (T, 1 or 0)."""
    T, P = spec.T, len(economy.products)
    if not isinstance(objective, MaxConsumption):
        return np.zeros((T, P)), 0
    if objective.basket is None:
        if economy.final_demand is not None and economy.final_demand.to_numpy().sum(axis=1).max() > 0:
            b = np.maximum(economy.final_demand.to_numpy().sum(axis=1), 0.0)
        else:
            b = np.ones(P)
        basket = np.tile(b, (T, 1))
    else:
        basket = _period_frame(objective.basket, spec.periods, economy.product_ids, "basket", 0.0)
    if (basket < 0).any() or not (basket.sum(axis=1) > 0).all():
        raise SchemaError("basket: quantities must be >= 0 with at least one positive in every period")
    if objective.growth is not None:
        basket = basket * (1.0 + objective.growth) ** np.arange(T)[:, None]
        return basket, 1
    return basket, T


def build_dynamic_lp(economy: Economy, spec: DynamicSpec, objective: Objective):
    """The block LP of a multi-period plan and its layout.

    Columns: levels ``x`` (T x J), new capacity ``z`` (T x Jc), capacity ``k``
    ((T+1) x Jc, ``k_1`` fixed at the initial capacity), consumption levels ``u``,
    and total investment per period ``I`` where investment shares are fixed.
    Rows: product balances, factor limits, capacity limits, accumulation, fixed
    investment shares, targets and terminal conditions (see the module docstring).
    Returns ``(LinearProgram, layout)``.
    """
    from gosplan.planning.solver import LinearProgram

    T = spec.T
    P, J, F = len(economy.products), len(economy.activities), len(economy.factors)
    cap_idx = np.flatnonzero(spec.capital_activities)
    Jc = len(cap_idx)
    N = sp.csr_array(economy.make - economy.use)
    Fm = economy.factor_use
    Kc = sp.csr_array(economy.capital[:, cap_idx]) if Jc else _zeros(P, 0)
    S = sp.csr_array((np.ones(Jc), (np.arange(Jc), cap_idx)), shape=(Jc, J))
    IT = sp.identity(T, format="csr")
    basket, nu = _consumption_levels(objective, economy, spec)
    if isinstance(objective, MaxTerminalStocks) and objective.proportions is not None:
        nu = 1
    shares = spec.investment_shares
    n_inv = T if shares is not None else 0

    nx, nz, nk = T * J, T * Jc, (T + 1) * Jc
    col_sizes = {"x": nx, "z": nz, "k": nk, "u": nu, "I": n_inv}
    col_blocks, pos = {}, 0
    for name, size in col_sizes.items():
        col_blocks[name] = (pos, pos + size)
        pos += size
    ncols = pos

    def row(**blocks: sp.sparray) -> sp.csr_array:
        m = next(iter(blocks.values())).shape[0]
        return sp.hstack([blocks.get(name, _zeros(m, size)) for name, size in col_sizes.items()], format="csr")

    rows: list[tuple[str, sp.csr_array, np.ndarray, np.ndarray]] = []

    # product balances: (make - use) x_t - K z_t - u_t b_t >= floor_t
    if nu == T and isinstance(objective, MaxConsumption):
        Bu = sp.csr_array((-basket.ravel(), (np.arange(T * P), np.repeat(np.arange(T), P))), shape=(T * P, T))
    elif nu == 1 and isinstance(objective, MaxConsumption):
        Bu = sp.csr_array(-basket.reshape(-1, 1))
    else:
        Bu = _zeros(T * P, nu)
    rows.append(
        (
            "balance",
            row(x=sp.kron(IT, N, format="csr"), z=sp.kron(IT, -Kc, format="csr"), u=Bu),
            spec.final_demand.ravel(),
            np.full(T * P, np.inf),
        )
    )
    # factors: factor_use x_t <= supply_t
    rows.append(("factor", row(x=sp.kron(IT, Fm, format="csr")), np.full(T * F, -np.inf), spec.factor_supply.ravel()))
    if Jc:
        # capacity: x_{j,t} - k_{j,t} <= 0
        Ek = sp.eye(T, T + 1, format="csr")
        rows.append(
            (
                "capacity",
                row(x=sp.kron(IT, S, format="csr"), k=-sp.kron(Ek, sp.identity(Jc), format="csr")),
                np.full(T * Jc, -np.inf),
                np.zeros(T * Jc),
            )
        )
        # accumulation: k_{t+1} - (1 - delta) k_t - z_{t+1-lag} = 0, t = 1..T
        keep = sp.diags_array(1.0 - spec.depreciation[cap_idx])
        Ak = sp.kron(sp.eye(T, T + 1, k=1), sp.identity(Jc), format="csr") - sp.kron(Ek, keep, format="csr")
        lag = spec.lag[cap_idx]
        tt, jj = np.meshgrid(np.arange(T), np.arange(Jc), indexing="ij")
        src = tt + 1 - lag[None, :]  # z period feeding k_{t+1}
        ok = src >= 0
        Az = sp.csr_array(
            (-np.ones(int(ok.sum())), ((tt * Jc + jj)[ok], (src * Jc + jj)[ok])), shape=(T * Jc, T * Jc)
        )
        rows.append(("accumulation", row(k=Ak, z=Az), np.zeros(T * Jc), np.zeros(T * Jc)))
        if shares is not None:
            kv = spec.investment_weights @ Kc  # value of the capital of one unit of capacity
            Sh = sp.csr_array((-shares[:, cap_idx].ravel(), (np.arange(T * Jc), np.repeat(np.arange(T), Jc))), shape=(T * Jc, T))
            rows.append(
                ("share", row(z=sp.kron(IT, sp.diags_array(kv), format="csr"), I=Sh), np.zeros(T * Jc), np.zeros(T * Jc))
            )
            rows.append(
                (
                    "investment_total",
                    row(z=sp.kron(IT, sp.csr_array(kv.reshape(1, -1)), format="csr"), I=-sp.identity(T, format="csr")),
                    np.zeros(T),
                    np.zeros(T),
                )
            )
        if spec.investment_rate is not None:
            # value of new capital = rate x value of net output (national income at the weights)
            kv = spec.investment_weights @ Kc
            wN = sp.csr_array((spec.investment_weights @ N).reshape(1, -1))
            Ax = sp.kron(sp.diags_array(-spec.investment_rate), wN, format="csr")
            rows.append(
                ("investment_rate", row(x=Ax, z=sp.kron(IT, sp.csr_array(kv.reshape(1, -1)), format="csr")), np.zeros(T), np.zeros(T))
            )
        k0 = spec.initial_capacity[cap_idx]
        last = sp.csr_array((np.ones(Jc), (np.arange(Jc), T * Jc + np.arange(Jc))), shape=(Jc, nk))
        before = sp.csr_array((np.ones(Jc), (np.arange(Jc), (T - 1) * Jc + np.arange(Jc))), shape=(Jc, nk))
        grow = (1.0 + spec.terminal.growth) ** T
        if spec.terminal.kind == "capacity":
            rows.append(("terminal", row(k=last), grow * k0, np.full(Jc, np.inf)))
        elif spec.terminal.kind == "stocks":
            held = np.flatnonzero(np.diff(Kc.indptr) > 0)
            Kh = sp.csr_array(Kc[held])
            rows.append(("terminal", row(k=sp.csr_array(Kh @ last)), grow * (Kh @ k0), np.full(len(held), np.inf)))
        if isinstance(objective, ReachTargets):
            if objective.capacity is not None:
                tc = pd.Series(objective.capacity, dtype=float)
                pos_ = economy.activity_ids.get_indexer(tc.index)
                if (pos_ < 0).any():
                    raise UnknownIdError(f"capacity target: unknown activit(ies) {list(tc.index[pos_ < 0])}")
                loc = pd.Index(cap_idx).get_indexer(pos_)
                if (loc < 0).any():
                    raise SchemaError(
                        f"capacity target: activit(ies) {list(tc.index[loc < 0])} tie up no capital, "
                        "so they have no capacity to build; target their output instead"
                    )
                sel = sp.csr_array((np.ones(len(loc)), (np.arange(len(loc)), loc)), shape=(len(loc), Jc))
                rows.append(("target_capacity", row(k=sp.csr_array(sel @ before)), tc.to_numpy(), np.full(len(loc), np.inf)))
            if objective.stocks is not None:
                ts = pd.Series(objective.stocks, dtype=float)
                pos_ = economy.product_ids.get_indexer(ts.index)
                if (pos_ < 0).any():
                    raise UnknownIdError(f"stock target: unknown product(s) {list(ts.index[pos_ < 0])}")
                rows.append(
                    ("target_stock", row(k=sp.csr_array(Kc[pos_] @ before)), ts.to_numpy(), np.full(len(pos_), np.inf))
                )
        if isinstance(objective, MaxTerminalStocks) and objective.proportions is not None:
            pr = pd.Series(objective.proportions, dtype=float)
            pos_ = economy.activity_ids.get_indexer(pr.index)
            if (pos_ < 0).any():
                raise UnknownIdError(f"proportions: unknown activit(ies) {list(pr.index[pos_ < 0])}")
            loc = pd.Index(cap_idx).get_indexer(pos_)
            if (loc < 0).any():
                raise SchemaError(f"proportions: activit(ies) {list(pr.index[loc < 0])} tie up no capital")
            sel = sp.csr_array((np.ones(len(loc)), (np.arange(len(loc)), loc)), shape=(len(loc), Jc))
            rows.append(
                (
                    "terminal_proportions",
                    row(k=sp.csr_array(sel @ last), u=sp.csr_array(-pr.to_numpy().reshape(-1, 1))),
                    np.zeros(len(loc)),
                    np.full(len(loc), np.inf),
                )
            )
    elif isinstance(objective, ReachTargets) and (objective.capacity is not None or objective.stocks is not None):
        raise SchemaError("targets on capacity or stocks need capital coefficients (Economy.capital)")

    row_blocks, pos = {}, 0
    for name, m, _, _ in rows:
        row_blocks[name] = (pos, pos + m.shape[0])
        pos += m.shape[0]
    A = sp.vstack([m for _, m, _, _ in rows], format="csc")
    row_lower = np.concatenate([lo for _, _, lo, _ in rows])
    row_upper = np.concatenate([hi for _, _, _, hi in rows])

    # bounds
    col_lower = np.zeros(ncols)
    col_upper = np.full(ncols, np.inf)
    xu = np.tile(spec.static_capacity, (T, 1))
    xu[np.arange(T)[:, None] < spec.start[None, :]] = 0.0
    col_upper[col_blocks["x"][0] : col_blocks["x"][1]] = xu.ravel()
    if Jc:
        lag = spec.lag[cap_idx]
        # capacity finished after the horizon is of no use to the plan, so such
        # investment is barred - unless fixed shares or a fixed rate make the
        # economy keep starting projects (work in progress at the end)
        fixed_rule = spec.investment_shares is not None or spec.investment_rate is not None
        zu = np.where((np.arange(T)[:, None] + lag[None, :] <= T) | fixed_rule, np.inf, 0.0)
        col_upper[col_blocks["z"][0] : col_blocks["z"][1]] = zu.ravel()
        k0 = spec.initial_capacity[cap_idx]
        a = col_blocks["k"][0]
        col_lower[a : a + Jc] = k0
        col_upper[a : a + Jc] = k0

    # objective
    c = np.zeros(ncols)
    beta = None
    if isinstance(objective, MaxConsumption):
        sense = "max"
        if objective.discount <= -1:
            raise SchemaError("discount rate must be above -1")
        beta = (1.0 + objective.discount) ** -np.arange(T)
        c[col_blocks["u"][0] : col_blocks["u"][1]] = beta if nu == T else 1.0
        if objective.terminal_weight and Jc:
            a = col_blocks["k"][0] + T * Jc
            c[a : a + Jc] = objective.terminal_weight * np.asarray(Kc.sum(axis=0)).ravel()
    elif isinstance(objective, ReachTargets):
        sense = "min"
        w = (
            np.ones(F)
            if objective.cost is None
            else align(pd.Series(objective.cost, dtype=float).reindex(economy.factor_ids).fillna(0.0), economy.factor_ids, "cost").to_numpy()
        )
        beta = (1.0 + objective.discount) ** -np.arange(T)
        c[col_blocks["x"][0] : col_blocks["x"][1]] = np.kron(beta, w @ Fm)
    elif isinstance(objective, MaxTerminalStocks):
        sense = "max"
        if objective.proportions is not None:
            c[col_blocks["u"][0]] = 1.0
        elif Jc:
            w = (
                np.ones(P)
                if objective.weights is None
                else pd.Series(objective.weights, dtype=float).reindex(economy.product_ids).fillna(0.0).to_numpy()
            )
            a = col_blocks["k"][0] + T * Jc
            c[a : a + Jc] = w @ Kc
    else:
        raise SchemaError(f"unknown objective {objective!r}; use MaxConsumption, ReachTargets or MaxTerminalStocks")

    lp = LinearProgram(c=c, A=A, row_lower=row_lower, row_upper=row_upper, col_lower=col_lower, col_upper=col_upper, sense=sense)
    layout = _Layout(T=T, P=P, J=J, F=F, Jc=Jc, cap_idx=cap_idx, nu=nu, n_inv=n_inv, col_blocks=col_blocks, row_blocks=row_blocks)
    return lp, layout


# -- naming rows and columns (for diagnoses) -----------------------------------------------


_ROW_TEXT = {
    "balance": "balance of product {id} in period {t}",
    "factor": "supply of factor {id} in period {t}",
    "capacity": "capacity of activity {id} in period {t}",
    "accumulation": "accumulation of capacity of {id} into period {t1}",
    "share": "fixed investment share of activity {id} in period {t}",
    "investment_total": "total investment in period {t}",
    "investment_rate": "fixed investment rate in period {t}",
}


def _row_name(i: int, layout: _Layout, economy: Economy, periods: pd.Index, objective: Objective) -> str:
    for name, (a, b) in layout.row_blocks.items():
        if a <= i < b:
            r = i - a
            if name in ("balance",):
                t, k = divmod(r, layout.P)
                return _ROW_TEXT[name].format(id=repr(economy.product_ids[k]), t=periods[t])
            if name == "factor":
                t, k = divmod(r, layout.F)
                return _ROW_TEXT[name].format(id=repr(economy.factor_ids[k]), t=periods[t])
            if name in ("capacity", "share"):
                t, k = divmod(r, layout.Jc)
                return _ROW_TEXT[name].format(id=repr(economy.activity_ids[layout.cap_idx[k]]), t=periods[t])
            if name == "accumulation":
                t, k = divmod(r, layout.Jc)
                nxt = periods[t + 1] if t + 1 < len(periods) else f"after {periods[-1]}"
                return _ROW_TEXT[name].format(id=repr(economy.activity_ids[layout.cap_idx[k]]), t1=nxt)
            if name in ("investment_total", "investment_rate"):
                return _ROW_TEXT[name].format(t=periods[r])
            if name == "terminal":
                return f"terminal condition ({r}): capital must not be run down after period {periods[-1]}"
            if name == "target_capacity":
                return f"capacity target #{r} (ReachTargets.capacity) in period {periods[-1]}"
            if name == "target_stock":
                return f"stock target #{r} (ReachTargets.stocks) in period {periods[-1]}"
            return f"{name} row {r}"
    return f"row {i}"


def _col_name(j: int, layout: _Layout, economy: Economy, periods: pd.Index) -> str:
    for name, (a, b) in layout.col_blocks.items():
        if a <= j < b:
            r = j - a
            if name == "x":
                t, k = divmod(r, layout.J)
                return f"bounds on the level of activity {economy.activity_ids[k]!r} in period {periods[t]} (capacity or not yet available)"
            if name == "z":
                t, k = divmod(r, layout.Jc)
                return f"investment in {economy.activity_ids[layout.cap_idx[k]]!r} in period {periods[t]}"
            if name == "k":
                t, k = divmod(r, layout.Jc)
                if t == 0:
                    return f"initial capacity of activity {economy.activity_ids[layout.cap_idx[k]]!r}"
                return f"capacity of {economy.activity_ids[layout.cap_idx[k]]!r} >= 0"
            return f"{name} column {r}"
    return f"column {j}"


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DynamicPlan:
    """A multi-period plan: labelled period x product / activity / factor frames.

    ``levels`` (period x activity), ``outputs`` (gross, ``make @ x``), ``intermediate``
    (``use @ x``), ``investment`` (capital goods delivered for new capacity, period x
    product), ``new_capacity`` (period x capital-using activity), ``capacity``
    (usable in each period) and ``terminal_capacity`` (after the last period),
    ``stocks`` (capital stock of each product usable in each period, summed over
    activities), ``consumption`` (floors plus basket), ``surplus`` (output left over:
    free disposal), ``factor_use`` and ``factor_supply``, and the plan's valuations:
    ``prices`` (shadow price of one more unit of each product in each period, in
    objective units, positive when it helps), ``factor_prices`` and
    ``capacity_prices``. ``consumption_level`` is the basket level per period.
    """

    status: Any
    objective_value: float
    sense: str
    levels: pd.DataFrame
    outputs: pd.DataFrame
    intermediate: pd.DataFrame
    investment: pd.DataFrame
    new_capacity: pd.DataFrame
    capacity: pd.DataFrame
    terminal_capacity: pd.Series
    stocks: pd.DataFrame
    consumption: pd.DataFrame
    surplus: pd.DataFrame
    factor_use: pd.DataFrame
    factor_supply: pd.DataFrame
    prices: pd.DataFrame
    factor_prices: pd.DataFrame
    capacity_prices: pd.DataFrame
    consumption_level: pd.Series
    total_investment: pd.Series
    spec: DynamicSpec
    solver: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def periods(self) -> pd.Index:
        return self.spec.periods

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every period-indexed result as a DataFrame (for Parquet or CSV)."""
        names = (
            "levels outputs intermediate investment new_capacity capacity stocks consumption surplus "
            "factor_use factor_supply prices factor_prices capacity_prices"
        ).split()
        out = {n: getattr(self, n) for n in names}
        out["path"] = pd.DataFrame({"consumption_level": self.consumption_level, "total_investment": self.total_investment})
        return out

    def verify(self, economy: Economy, tol: float = 1e-6) -> list[str]:
        """Check every stock-flow identity in every period, without a solver.

        Recomputes from the levels, new capacity and economy: gross output
        ``make x_t``, use, factor use; the balance ``(make - use) x_t - capital z_t -
        consumption_t - surplus_t = 0`` with ``surplus >= 0`` and consumption above
        its floors; ``x <= capacity``; ``k_{t+1} = (1 - delta) k_t + z_{t+1-lag}``;
        factor use within supply; levels zero before a technique's first period;
        terminal condition; fixed investment shares. Tolerances are relative to
        the size of each identity's terms (``tol * max(1, |term|)``).

        Returns the list of violations (empty when the plan is consistent).
        """
        spec = self.spec
        bad: list[str] = []
        ids = economy.product_ids

        def check(name: str, resid: np.ndarray, scale: np.ndarray, labels: Sequence[str] | pd.Index, cols: pd.Index) -> None:
            viol = np.abs(resid) > tol * np.maximum(1.0, np.abs(scale))
            if viol.any():
                t, k = np.argwhere(viol)[0]
                bad.append(f"{name}: {int(viol.sum())} violation(s); first in period {labels[t]!r}, {cols[k]!r}: residual {resid[t, k]:.3g}")

        def check_nonneg(name: str, v: np.ndarray, scale: np.ndarray, cols: pd.Index) -> None:
            viol = v < -tol * np.maximum(1.0, np.abs(scale))
            if viol.any():
                t, k = np.argwhere(viol)[0]
                bad.append(f"{name}: {int(viol.sum())} violation(s); first in period {spec.periods[t]!r}, {cols[k]!r}: {v[t, k]:.3g}")

        if not self.levels.columns.equals(economy.activity_ids) or not self.outputs.columns.equals(ids):
            return ["the plan's labels do not match this economy; verify it against the economy it was made for"]
        X = self.levels.to_numpy()
        check_nonneg("levels >= 0", X, X, economy.activity_ids)
        made = X @ economy.make.T
        used = X @ economy.use.T
        check("outputs = make x", self.outputs.to_numpy() - made, made, spec.periods, ids)
        check("intermediate = use x", self.intermediate.to_numpy() - used, used, spec.periods, ids)
        cap_idx = np.flatnonzero(spec.capital_activities)
        Z = self.new_capacity.to_numpy()
        inv = Z @ economy.capital[:, cap_idx].T if len(cap_idx) else np.zeros_like(made)
        check("investment = capital z", self.investment.to_numpy() - inv, inv, spec.periods, ids)
        C = self.consumption.to_numpy()
        S = self.surplus.to_numpy()
        resid = made - used - inv - C - S
        check("balance (make - use) x - capital z - consumption - surplus = 0", resid, made, spec.periods, ids)
        check_nonneg("surplus >= 0", S, made, ids)
        check_nonneg("consumption >= floor", C - spec.final_demand, C, ids)
        fu = X @ economy.factor_use.T
        check("factor use = factor_use x", self.factor_use.to_numpy() - fu, fu, spec.periods, economy.factor_ids)
        sup = np.where(np.isinf(spec.factor_supply), np.abs(fu) + 1.0, spec.factor_supply)
        check_nonneg("factor use <= supply", sup - fu, fu, economy.factor_ids)
        early = np.arange(spec.T)[:, None] < spec.start[None, :]
        if (np.abs(X[early]) > tol).any():
            bad.append("a new technique runs before its first period")
        static = np.where(np.isinf(spec.static_capacity), np.abs(X).max(initial=0) + 1.0, spec.static_capacity)
        check_nonneg("levels <= static capacity", static[None, :] - X, X, economy.activity_ids)
        if len(cap_idx):
            cap_ids = economy.activity_ids[cap_idx]
            K = self.capacity.to_numpy()
            Kall = np.vstack([K, self.terminal_capacity.to_numpy()[None, :]])
            if np.abs(K[0] - spec.initial_capacity[cap_idx]).max(initial=0) > tol * max(1.0, np.abs(K[0]).max(initial=0)):
                bad.append("capacity in the first period differs from the initial capacity")
            check_nonneg("levels <= capacity", K - X[:, cap_idx], K, cap_ids)
            check_nonneg("new capacity >= 0", Z, Z, cap_ids)
            lag = spec.lag[cap_idx]
            feed = np.zeros_like(K)
            for t in range(spec.T):  # one step per period; coefficients are vector operations
                src = t + 1 - lag
                ok = src >= 0
                feed[t, ok] = Z[src[ok], np.flatnonzero(ok)]
            acc = Kall[1:] - (1.0 - spec.depreciation[cap_idx])[None, :] * Kall[:-1] - feed
            labels = list(spec.periods[1:]) + [f"after {spec.periods[-1]}"]
            check("accumulation k_{t+1} = (1 - delta) k_t + z_{t+1-lag}", acc, Kall[1:], labels, cap_ids)
            stock = Kall @ economy.capital[:, cap_idx].T
            check("stocks = capital k", self.stocks.to_numpy() - stock[:-1], stock[:-1], spec.periods, ids)
            grow = (1.0 + spec.terminal.growth) ** spec.T
            if spec.terminal.kind == "capacity":
                gap = Kall[-1] - grow * Kall[0]
                if (gap < -tol * np.maximum(1.0, Kall[0])).any():
                    bad.append(f"terminal capacity of {cap_ids[int(np.argmin(gap))]!r} is below the condition")
            elif spec.terminal.kind == "stocks":
                gap = stock[-1] - grow * stock[0]
                if (gap < -tol * np.maximum(1.0, np.abs(stock[0]))).any():
                    bad.append(f"terminal stock of {ids[int(np.argmin(gap))]!r} is below the condition")
            if spec.investment_shares is not None:
                kv = spec.investment_weights @ economy.capital[:, cap_idx]
                val = Z * kv[None, :]
                tot = val.sum(axis=1, keepdims=True)
                check(
                    "investment shares fixed",
                    val - spec.investment_shares[:, cap_idx] * tot,
                    np.broadcast_to(tot, val.shape),
                    spec.periods,
                    cap_ids,
                )
            if spec.investment_rate is not None:
                kv = spec.investment_weights @ economy.capital[:, cap_idx]
                income = (made - used) @ spec.investment_weights
                gap = Z @ kv - spec.investment_rate * income
                if (np.abs(gap) > tol * np.maximum(1.0, np.abs(income))).any():
                    t = int(np.argmax(np.abs(gap)))
                    bad.append(f"investment rate: period {spec.periods[t]!r} invests {Z[t] @ kv:.6g}, not {spec.investment_rate[t]:.4g} x {income[t]:.6g}")
        return bad


def _frame(values: np.ndarray, periods: pd.Index, cols: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(values, index=periods.copy(), columns=cols.copy())


def plan_dynamic(
    economy: Economy,
    periods: int | Sequence[Any],
    objective: Objective | None = None,
    *,
    final_demand: pd.Series | pd.DataFrame | None = None,
    factor_supply: pd.DataFrame | None = None,
    factor_growth: float | pd.Series | Mapping[str, float] = 0.0,
    depreciation: float | pd.Series | Mapping[str, float] = 0.0,
    lag: int | pd.Series | Mapping[str, int] = 1,
    initial_capacity: pd.Series | Mapping[str, float] | None = None,
    new_techniques: Mapping[str, Any] | None = None,
    investment_shares: pd.Series | pd.DataFrame | Mapping[str, float] | None = None,
    investment_weights: pd.Series | Mapping[str, float] | None = None,
    investment_rate: float | pd.Series | None = None,
    terminal: Terminal | str = "stocks",
    options: Any = None,
    progress: Callable[[dict[str, Any]], Any] | None = None,
    diagnose: bool = True,
    accuracy: float = 1e-3,
) -> DynamicPlan:
    """The best multi-period plan of an economy over ``periods``.

    Parameters
    ----------
    economy : the economy; its ``capital`` coefficients make capacity a stock that
        must be built. An activity with capital starts at ``initial_capacity``
        (default: its ``capacity`` column, else its base-year level); one without
        capital is bounded in every period by its ``capacity`` column.
    periods : T, or the period labels (e.g. years).
    objective : :class:`MaxConsumption` (default), :class:`ReachTargets` or
        :class:`MaxTerminalStocks`.
    final_demand : consumption floors (product Series, or period x product).
    factor_supply, factor_growth : factor supply per period (period x factor), or
        the ``available`` column grown at these rates per period.
    depreciation, lag : per activity (or one value): the share of capacity lost per
        period, and the periods from starting an investment to using it (>= 1).
    new_techniques : activity -> first period it may run; such an activity starts
        with no capacity, so it needs investment first.
    investment_shares : fix each activity's share of total investment (valued at
        ``investment_weights`` per unit of capital good, default 1): the
        market-led baseline of :mod:`gosplan.planning.scenarios`.
    investment_rate : fix the value of new capital in each period to this share
        of the value of net output (national income at ``investment_weights``):
        a savings rate, as in Feldman's and Harrod-Domar's models.
    terminal : :class:`Terminal` or its kind (``"stocks"``, ``"capacity"``, ``"none"``).
    options : :class:`gosplan.planning.solver.SolverOptions`. With ``method="auto"``
        (the default) a large plan of a Leontief economy (each activity makes one
        product, each product is made by one activity) is solved by the exact
        structured interior-point method of :mod:`gosplan.planning.dynamic_ipm`
        (n = 1,000 products x T = 10 periods in under 20 s on one core; certified optimal from the
        arrays, ``plan.solver["accuracy"]``); every other plan, or one where that
        method fails, by HiGHS. ``method="structured_ipm"`` asks for it at any size.
    progress : called with the solver's progress dicts.
    diagnose : when the plan is impossible, find the clashing constraints (an
        irreducible infeasible subset; Chinneck 2008) and name them. Where the
        structured method found, before iterating, rows that the final demand
        floors alone break (a capacity before any investment arrives, a factor
        supply, a level bound) of a plan of ``STRUCTURED_FROM`` levels or more,
        those rows are named instead: HiGHS's subset of such a program takes
        minutes and may fail.
    accuracy : with ``options.method == "pdlp"`` and a :class:`MaxConsumption`
        objective, the first-order solution is repaired to an exactly feasible plan
        (:mod:`gosplan.planning.dynamic_approx`) and accepted with status
        ``SolverStatus.APPROXIMATE`` when its relative dual infeasibility and
        relative gap to PDLP's dual bound, recomputed from the arrays, are within
        ``accuracy`` and ``plan.verify`` passes; such a plan is never called
        optimal. A fast path for large plans that the exact structured method
        does not take (alternative techniques). With another objective a PDLP or
        no-crossover answer that falls short of an exact solve's accuracy (see
        :func:`gosplan.planning.solver.solve_lp`) is likewise ``APPROXIMATE``, kept
        only when ``plan.verify`` passes; ``plan.solver["accuracy"]`` holds its figures.

    Returns
    -------
    DynamicPlan

    Raises
    ------
    InfeasibleDynamicPlanError
        When no path meets every constraint (e.g. targets need more investment than
        the economy can save); its message and ``constraints`` name the clash. A
        large plan that the structured method proved impossible by its prices
        (Farkas's lemma) is reported at once with the certificate's figures, the
        least investment and consumption any plan would need against what the
        factor supply allows, and no ``constraints``.
    """
    from gosplan.planning.solver import EXACT_TOL, SolverOptions, SolverStatus, irreducible_infeasible_subset, solve_lp

    objective = MaxConsumption() if objective is None else objective
    spec = dynamic_spec(
        economy,
        periods,
        final_demand=final_demand,
        factor_supply=factor_supply,
        factor_growth=factor_growth,
        depreciation=depreciation,
        lag=lag,
        initial_capacity=initial_capacity,
        new_techniques=new_techniques,
        investment_shares=investment_shares,
        investment_weights=investment_weights,
        investment_rate=investment_rate,
        terminal=terminal,
    )
    lp, layout = build_dynamic_lp(economy, spec, objective)
    options = options or SolverOptions()
    clash = None  # what the structured method found of an impossible plan
    if options.method == "pdlp" and isinstance(objective, MaxConsumption):
        from gosplan.planning.dynamic_approx import solve_approximate

        res = solve_approximate(lp, layout, spec, economy, options, accuracy, progress)
    else:
        res, fallback, clash = _try_structured(lp, layout, spec, options, progress)
        _raise_if_proved_impossible(clash, layout)
        if res is None:
            res = solve_lp(lp, options, progress)
            if fallback:
                res.info["structured_failure"] = fallback
    if res.status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED):
        names: list[str] = []
        unnamed = ""
        # the structured method's row test named the rows that the floors alone break, and
        # HiGHS agrees the plan is impossible: from STRUCTURED_FROM levels on, name those
        # rather than wait for HiGHS's IIS, which on such programs took 3.8 s at n = 100 x
        # T = 10 and 99 s at n = 300 and then failed (highspy 1.13); below, the IIS is
        # quick and also names the floors
        floors_alone = (clash is not None and clash.get("test") == "row"
                        and layout.J * layout.T >= STRUCTURED_FROM)
        if diagnose:
            if floors_alone:
                rows, cols = clash["rows"], clash["cols"]
            else:
                try:
                    rows, cols = irreducible_infeasible_subset(lp, options)
                except SchemaError:  # HiGHS's IIS fails on some large programs
                    rows, cols = (), ()
                    unnamed = " (HiGHS could not name the clashing constraints)"
            names = [_row_name(int(i), layout, economy, spec.periods, objective) for i in rows]
            names += [_col_name(int(j), layout, economy, spec.periods) for j in cols]
        shown = "; ".join(names[:12]) + (f"; ... ({len(names)} in all)" if len(names) > 12 else "")
        clashing = "The final demand floors alone break these constraints" if floors_alone else "These constraints clash"
        raise InfeasibleDynamicPlanError(
            "the multi-period plan is impossible: no path meets every constraint" + unnamed
            + (f". {clashing}: {shown}" if names else "")
            + ". Lower the targets or floors, lengthen the horizon, or allow more factors or initial capacity",
            names,
        )
    if res.status is not SolverStatus.OPTIMAL and res.status is not SolverStatus.APPROXIMATE:
        raise GosplanError(
            f"the multi-period plan was not solved to optimality: {res.status.value} ({res.solver_status}); "
            "an unbounded plan lacks a limit (factor supply, capacity); otherwise raise the time limit"
            + (", tighten options.tol or use an exact method" if options.method == "pdlp" else "")
        )
    plan = _read_back(economy, spec, objective, lp, layout, res)
    if res.status is SolverStatus.APPROXIMATE:
        bad = plan.verify(economy)
        tol = float(options.tol)
        while bad and res.info.get("pdlp_iterations", 0) and tol > EXACT_TOL:
            # PDLP stops on norms of the whole (scaled) program: HiGHS 1.16 at tol = 1e-5
            # leaves residuals of 1e-5 in single identities, which verify (1e-6 of each
            # term) rejects; tighten tenfold, down to the exact tolerance, until they hold
            tol = max(tol / 10, EXACT_TOL)
            again = solve_lp(lp, dataclasses.replace(options, tol=tol), progress)
            if again.status is not SolverStatus.OPTIMAL and again.status is not SolverStatus.APPROXIMATE:
                break
            res = again
            res.info["tightened_tol"] = tol
            plan = _read_back(economy, spec, objective, lp, layout, res)
            bad = plan.verify(economy) if res.status is SolverStatus.APPROXIMATE else []
        if bad:
            raise GosplanError(
                "the approximate multi-period plan failed its stock-flow check: " + "; ".join(bad[:3])
                + "; use an exact method (options.method='auto')"
            )
    object.__setattr__(plan, "manifest", _manifest(economy, spec, objective, options))
    return plan


#: "auto" tries the structured interior-point method from this many levels (J x T) on
#: (n = 100 x T = 10: 0.2 s against HiGHS's 1.4 s); below it HiGHS's simplex takes a
#: fraction of a second and returns a vertex.
STRUCTURED_FROM = 1_000


def _raise_if_proved_impossible(clash: dict[str, Any] | None, layout: _Layout) -> None:
    """Raise for a large plan that the structured method's Farkas test proved impossible.

    Its row prices bound every plan's investment and consumption from below; above
    what the factor supply allows (:func:`gosplan.planning.dynamic_ipm._size_bound`),
    no plan exists. HiGHS then took 34 s to agree at n = 300 x T = 10 (0.4 s for the
    structured method) and its IIS failed, so from ``STRUCTURED_FROM`` levels on the
    certificate is reported instead; below, HiGHS confirms and names the clash."""
    if not clash or clash.get("test") != "farkas" or layout.J * layout.T < STRUCTURED_FROM:
        return
    if not clash["proved"]:
        return  # the iteration stopped on its own heuristic, not on a proof: HiGHS decides
    radius, bound = float(clash["radius"]), float(clash["size_bound"])
    raise InfeasibleDynamicPlanError(
        "the multi-period plan is impossible: the prices of the structured method's iterates prove "
        f"(Farkas's lemma) that every plan meeting the floors needs investment and consumption of at least "
        f"{radius:,.6g} in all, more than the factor supply of all periods allows ({bound:,.6g}). Lower the "
        "targets or floors, lengthen the horizon, or allow more factors or initial capacity",
        [],
    )


def _try_structured(lp: Any, layout: _Layout, spec: DynamicSpec, options: Any, progress: Any) -> tuple[Any, str, Any]:
    """The structured interior-point method's result, or None and why it gave way to
    HiGHS (see :mod:`gosplan.planning.dynamic_ipm`); third, what it found of an
    impossible plan (its ``info["infeasible"]``), or None."""
    if options.method not in ("auto", "structured_ipm"):
        return None, "", None
    if options.method == "auto" and layout.J * layout.T < STRUCTURED_FROM:
        return None, "", None
    from gosplan.planning.dynamic_ipm import solve_structured
    from gosplan.planning.solver import SolverStatus

    res, reason = solve_structured(lp, layout, spec, options, progress)
    if res is None:
        if options.method == "structured_ipm":
            raise SchemaError(f"method 'structured_ipm' does not apply to this plan: {reason}; use method 'auto'")
        return None, "", None
    if res.status in (SolverStatus.OPTIMAL, SolverStatus.TIME_LIMIT, SolverStatus.INTERRUPTED):
        return res, "", None
    return None, res.info.get("failure", str(res.status)), res.info.get("infeasible")  # HiGHS decides


def _manifest(economy: Economy, spec: DynamicSpec, objective: Objective, options: Any) -> dict[str, Any]:
    """Hashes of the inputs, the objective, solver options and versions: enough to
    reproduce and check the plan."""
    from datetime import datetime, timezone

    from gosplan.planning.plan import _sha, economy_digest, versions

    arrays = {
        name: _sha(getattr(spec, name))
        for name in ("final_demand", "factor_supply", "depreciation", "lag", "initial_capacity", "start", "investment_weights")
    }
    arrays["investment_shares"] = _sha(spec.investment_shares) if spec.investment_shares is not None else None
    arrays["investment_rate"] = _sha(spec.investment_rate) if spec.investment_rate is not None else None
    return {
        "economy": economy_digest(economy),
        "capital": _sha(economy.capital) if economy.capital is not None else None,
        "periods": [str(p) for p in spec.periods],
        "spec": arrays,
        "terminal": {"kind": spec.terminal.kind, "growth": spec.terminal.growth},
        "objective": {
            "kind": type(objective).__name__,
            **{
                f.name: (_sha(v) if isinstance(v, (pd.Series, pd.DataFrame)) else v)
                for f in dataclasses.fields(objective)
                for v in [getattr(objective, f.name)]
            },
        },
        "options": options.as_dict(),
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _read_back(economy: Economy, spec: DynamicSpec, objective: Objective, lp, layout: _Layout, res) -> DynamicPlan:
    T, P, J, F, Jc = layout.T, layout.P, layout.J, layout.F, layout.Jc
    per = spec.periods
    x = res.x
    X = np.maximum(x[layout.cols("x")].reshape(T, J), 0.0)
    Z = np.maximum(x[layout.cols("z")].reshape(T, Jc), 0.0)
    K = x[layout.cols("k")].reshape(T + 1, Jc)
    cap_idx = layout.cap_idx
    cap_ids = economy.activity_ids[cap_idx]
    Kc = economy.capital[:, cap_idx] if Jc else _zeros(P, 0)
    made = X @ economy.make.T
    used = X @ economy.use.T
    inv = Z @ Kc.T if Jc else np.zeros((T, P))
    basket, nu = _consumption_levels(objective, economy, spec)
    if isinstance(objective, MaxConsumption):
        u = x[layout.cols("u")]
        level = np.broadcast_to(u, (T,)) if nu == 1 else u
        cons = spec.final_demand + level[:, None] * basket
    else:
        level = np.zeros(T)
        cons = spec.final_demand.copy()
    surplus = made - used - inv - cons
    stocks = (K @ Kc.T)[:-1] if Jc else np.zeros((T, P))
    sign = 1.0 if lp.sense == "min" else -1.0
    y = res.row_duals
    prices = sign * y[layout.rows("balance")].reshape(T, P)
    fprices = -sign * y[layout.rows("factor")].reshape(T, F)
    cprices = -sign * y[layout.rows("capacity")].reshape(T, Jc) if Jc else np.zeros((T, 0))
    kv = spec.investment_weights @ Kc if Jc else np.zeros(0)
    total_inv = Z @ kv if Jc else np.zeros(T)
    return DynamicPlan(
        status=res.status,
        objective_value=res.objective,
        sense=lp.sense,
        levels=_frame(X, per, economy.activity_ids),
        outputs=_frame(made, per, economy.product_ids),
        intermediate=_frame(used, per, economy.product_ids),
        investment=_frame(inv, per, economy.product_ids),
        new_capacity=_frame(Z, per, cap_ids),
        capacity=_frame(K[:-1], per, cap_ids),
        terminal_capacity=pd.Series(K[-1], index=cap_ids.copy(), name="terminal_capacity"),
        stocks=_frame(stocks, per, economy.product_ids),
        consumption=_frame(cons, per, economy.product_ids),
        surplus=_frame(surplus, per, economy.product_ids),
        factor_use=_frame(X @ economy.factor_use.T, per, economy.factor_ids),
        factor_supply=_frame(spec.factor_supply, per, economy.factor_ids),
        prices=_frame(prices, per, economy.product_ids),
        factor_prices=_frame(fprices, per, economy.factor_ids),
        capacity_prices=_frame(cprices, per, cap_ids),
        consumption_level=pd.Series(np.asarray(level, dtype=float), index=per.copy(), name="consumption_level"),
        total_investment=pd.Series(total_inv, index=per.copy(), name="total_investment"),
        spec=spec,
        solver={
            "method": res.method,
            "seconds": res.seconds,
            "iterations": res.iterations,
            "gap": res.gap,
            "primal_infeasibility": res.primal_infeasibility,
            "dual_infeasibility": res.dual_infeasibility,
            "status": str(res.status),
            **({"accuracy": res.info["accuracy"]} if "accuracy" in res.info else {}),
            **({"structured_failure": res.info["structured_failure"]} if "structured_failure" in res.info else {}),
            **({"tightened_tol": res.info["tightened_tol"]} if "tightened_tol" in res.info else {}),
            "rows": lp.shape[0],
            "columns": lp.shape[1],
            "nnz": int(lp.A.nnz),
        },
    )
