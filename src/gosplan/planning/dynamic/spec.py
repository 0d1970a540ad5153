"""What a multi-period plan is asked: its objective, terminal condition and the
normalised specification (:func:`dynamic_spec`) every other part of the plan reads,
validated once with errors that name the product, activity or period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from gosplan.economy import Economy, align
from gosplan.errors import GosplanError, SchemaError, UnknownIdError


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


def per_activity(value: float | pd.Series | Mapping[str, float], economy: Economy, what: str, default: float) -> np.ndarray:
    J = len(economy.activities)
    if isinstance(value, (int, float, np.floating, np.integer)):
        return np.full(J, float(value))
    s = pd.Series(value, dtype=float)
    unknown = s.index.difference(economy.activity_ids)
    if len(unknown):
        raise UnknownIdError(f"{what}: unknown activit(ies) {list(map(str, unknown[:10]))}; known: {list(economy.activity_ids[:10])}")
    return s.reindex(economy.activity_ids).fillna(default).to_numpy(dtype=float)


def period_frame(value: Any, periods: pd.Index, ids: pd.Index, what: str, default: float) -> np.ndarray:
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

    fd = period_frame(final_demand, pidx, economy.product_ids, "final_demand", 0.0)

    available = economy.factors["available"].to_numpy(dtype=float)
    if factor_supply is not None:
        if not isinstance(factor_supply, pd.DataFrame):
            raise SchemaError("factor_supply must be a period x factor DataFrame; use factor_growth for growth rates")
        given = factor_supply.reindex(columns=economy.factor_ids)
        given = given.fillna(pd.Series(available, index=economy.factor_ids))
        supply = period_frame(given, pidx, economy.factor_ids, "factor_supply", np.inf)
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

    dep = per_activity(depreciation, economy, "depreciation", 0.0)
    if ((dep < 0) | (dep > 1)).any():
        bad = economy.activity_ids[(dep < 0) | (dep > 1)][0]
        raise SchemaError(f"depreciation of activity {bad!r} is {dep[economy.activity_ids.get_loc(bad)]}; give a rate in [0, 1]")
    lags = per_activity(lag, economy, "lag", 1.0)
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
        shares = period_frame(investment_shares, pidx, economy.activity_ids, "investment_shares", 0.0)
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

