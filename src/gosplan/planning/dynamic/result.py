"""The result of a multi-period plan: :class:`DynamicPlan` (labelled frames that check
themselves without a solver), :func:`read_back` from the solver's arrays, and the
manifest that reproduces it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.planning.dynamic.lp import Layout, consumption_levels
from gosplan.planning.dynamic.spec import DynamicSpec, MaxConsumption, Objective

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
                bad.append(
                    f"{name}: {int(viol.sum())} violation(s); first in period {labels[t]!r}, {cols[k]!r}: residual {resid[t, k]:.3g}"
                )

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
                    bad.append(
                        f"investment rate: period {spec.periods[t]!r} invests {Z[t] @ kv:.6g}, "
                        f"not {spec.investment_rate[t]:.4g} x {income[t]:.6g}"
                    )
        return bad


def _frame(values: np.ndarray, periods: pd.Index, cols: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(values, index=periods.copy(), columns=cols.copy())


def manifest(economy: Economy, spec: DynamicSpec, objective: Objective, options: Any) -> dict[str, Any]:
    """Hashes of the inputs, the objective, solver options and versions: enough to
    reproduce and check the plan."""
    from datetime import datetime, timezone

    from gosplan.planning.plan import digest, economy_digest, versions

    arrays = {
        name: digest(getattr(spec, name))
        for name in ("final_demand", "factor_supply", "depreciation", "lag", "initial_capacity", "start", "investment_weights")
    }
    arrays["investment_shares"] = digest(spec.investment_shares) if spec.investment_shares is not None else None
    arrays["investment_rate"] = digest(spec.investment_rate) if spec.investment_rate is not None else None
    return {
        "economy": economy_digest(economy),
        "capital": digest(economy.capital) if economy.capital is not None else None,
        "periods": [str(p) for p in spec.periods],
        "spec": arrays,
        "terminal": {"kind": spec.terminal.kind, "growth": spec.terminal.growth},
        "objective": {
            "kind": type(objective).__name__,
            **{
                f.name: (digest(v) if isinstance(v, (pd.Series, pd.DataFrame)) else v)
                for f in dataclasses.fields(objective)
                for v in [getattr(objective, f.name)]
            },
        },
        "options": options.as_dict(),
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def read_back(economy: Economy, spec: DynamicSpec, objective: Objective, lp, layout: Layout, res) -> DynamicPlan:
    T, P, J, F, Jc = layout.T, layout.P, layout.J, layout.F, layout.Jc
    per = spec.periods
    x = res.x
    X = np.maximum(x[layout.cols("x")].reshape(T, J), 0.0)
    Z = np.maximum(x[layout.cols("z")].reshape(T, Jc), 0.0)
    K = x[layout.cols("k")].reshape(T + 1, Jc)
    cap_idx = layout.cap_idx
    cap_ids = economy.activity_ids[cap_idx]
    Kc = economy.capital[:, cap_idx] if Jc else sp.csr_array((P, 0))
    made = X @ economy.make.T
    used = X @ economy.use.T
    inv = Z @ Kc.T if Jc else np.zeros((T, P))
    basket, nu = consumption_levels(objective, economy, spec)
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

