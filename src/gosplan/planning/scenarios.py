"""Scenarios: several multi-period plans of one economy, priced and compared.

A :class:`Scenario` is a name, an objective and the choices that set it apart
(fixed investment shares for a market-led baseline, techniques allowed, any
other keyword of :func:`~gosplan.planning.dynamic.plan_dynamic`). :func:`compare`
runs each on the same economy and the same common data, prices each period with
the Leontief price model (:func:`gosplan.prices.leontief_prices`) at the mix of
techniques the plan actually uses, and computes the scissors index (price index
of one group of products, e.g. manufactures, over another's, e.g. farm goods;
base period 1). Results are labelled frames; nothing here prints or draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy, from_coefficients
from gosplan.errors import SchemaError, UnknownIdError
from gosplan.planning.dynamic import DynamicPlan, MaxConsumption, Objective, plan_dynamic

__all__ = [
    "Comparison",
    "Scenario",
    "compare",
    "fixed_share_baseline",
    "period_prices",
    "technique_prices",
]


@dataclass(frozen=True)
class Scenario:
    """One plan to run: ``objective`` and keyword overrides of :func:`plan_dynamic`
    (e.g. ``investment_shares``, ``new_techniques``) on top of the common ones."""

    name: str
    objective: Objective = field(default_factory=MaxConsumption)
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


def fixed_share_baseline(
    economy: Economy,
    shares: Mapping[str, float] | pd.Series,
    *,
    name: str = "baseline",
    objective: Objective | None = None,
    description: str = "",
) -> Scenario:
    """A market-led baseline: every activity keeps a fixed share of investment.

    ``shares``: activity -> share of total investment (valued at the capital goods'
    weights), the base-year pattern carried forward, as under the New Economic
    Policy where each trust reinvested in its own plant; activities not named (new
    techniques among them) get none. Shares are normalised to sum to 1.
    """
    s = pd.Series(shares, dtype=float)
    unknown = s.index.difference(economy.activity_ids)
    if len(unknown):
        raise UnknownIdError(f"baseline shares: unknown activit(ies) {list(map(str, unknown))}")
    if (s < 0).any() or s.sum() <= 0:
        raise SchemaError("baseline shares must be >= 0 with a positive sum")
    s = s / s.sum()
    return Scenario(
        name=name,
        objective=objective or MaxConsumption(),
        settings={"investment_shares": s},
        description=description or "fixed investment shares (market-led baseline)",
    )


# -- prices at the techniques in use ---------------------------------------------------------


def _single_output(economy: Economy) -> np.ndarray:
    """For each activity, the one product it makes (the price model needs it)."""
    mk = economy.make.tocsc()
    counts = np.diff(mk.indptr)
    if (counts != 1).any():
        bad = economy.activity_ids[counts != 1][0]
        raise SchemaError(
            f"the price model here needs single-output activities; {bad!r} makes {int(counts[economy.activity_ids.get_loc(bad)])} products"
        )
    return mk.indices.copy()


def technique_prices(
    economy: Economy,
    weights: np.ndarray,
    unit_cost: np.ndarray,
    depreciation: np.ndarray | None = None,
) -> pd.Series:
    """Leontief prices of the economy at a mix of techniques.

    ``weights`` (per activity, >= 0) say how much each technique contributes to its
    product, e.g. its level in a period; each product's input coefficients are the
    output-weighted average of its techniques' (``use / make``), and so are its
    primary cost (``unit_cost``, per unit of level) and its capital consumption
    (``depreciation * capital``, an input like any other). Products none of whose
    techniques run are priced at the plain average of their techniques. Then
    ``p = p (A + D) + v`` is solved by :func:`gosplan.prices.leontief_prices`
    (Miller and Blair 2009, sec. 2.6; capital consumption as in Leontief 1953, ch. 3).
    """
    from gosplan.prices import leontief_prices

    prod = _single_output(economy)
    P, J = len(economy.products), len(economy.activities)
    out_per_level = np.asarray(economy.make.sum(axis=0)).ravel()
    w = np.asarray(weights, dtype=float) * out_per_level
    total = np.bincount(prod, weights=w, minlength=P)
    idle = total <= 0
    if idle.any():
        w = np.where(idle[prod], 1.0, w)
        total = np.bincount(prod, weights=w, minlength=P)
    share = w / total[prod]  # share of each technique in its product's output
    scale = sp.diags_array(share / out_per_level)
    onto = sp.csr_array((np.ones(J), (np.arange(J), prod)), shape=(J, P))
    inputs = economy.use
    if depreciation is not None and economy.capital is not None:
        inputs = inputs + economy.capital @ sp.diags_array(np.asarray(depreciation, dtype=float))
    A = sp.csr_array(inputs @ scale @ onto)
    v = (np.asarray(unit_cost, dtype=float) * share / out_per_level) @ onto
    eco = from_coefficients(
        A,
        sp.csr_array(v.reshape(1, -1)),
        products=economy.products[["unit"]] if "unit" in economy.products else list(economy.product_ids),
        factors=["unit_cost"],
    )
    return leontief_prices(eco)


def period_prices(
    economy: Economy,
    plan: DynamicPlan,
    unit_cost: pd.Series | Mapping[str, float] | None = None,
    *,
    capital_consumption: bool = True,
) -> pd.DataFrame:
    """Leontief prices in each period of a plan, at the techniques it runs then.

    ``unit_cost``: activity -> primary cost per unit of level (wages and other
    value added); default: the sum of the activity's factor inputs (each factor at
    price 1). With ``capital_consumption`` the plan's depreciation of each
    activity's capital is a cost. Returns period x product prices.
    """
    if unit_cost is None:
        uc = np.asarray(economy.factor_use.sum(axis=0)).ravel()
    else:
        s = pd.Series(unit_cost, dtype=float)
        unknown = s.index.difference(economy.activity_ids)
        if len(unknown):
            raise UnknownIdError(f"unit_cost: unknown activit(ies) {list(map(str, unknown[:10]))}")
        missing = economy.activity_ids.difference(s.index)
        if len(missing):
            raise SchemaError(f"unit_cost: no cost for activit(ies) {list(map(str, missing[:10]))}; give every activity one")
        uc = s.reindex(economy.activity_ids).to_numpy()
    dep = plan.spec.depreciation if capital_consumption else None
    rows = [technique_prices(economy, plan.levels.loc[t].to_numpy(), uc, dep).to_numpy() for t in plan.periods]
    return pd.DataFrame(np.vstack(rows), index=plan.periods.copy(), columns=economy.product_ids.copy())


def _scissors(prices: pd.DataFrame, weights: pd.Series, up: Sequence[str], down: Sequence[str]) -> pd.DataFrame:
    from gosplan.prices import price_index, scissors_index

    base = prices.index[0]
    idx = price_index(prices, weights, base, groups={"up": list(up), "down": list(down)})
    return scissors_index(idx["up"], idx["down"], base=base)


# -- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """The plans of several scenarios with their prices and scissors paths.

    ``plans`` and ``prices`` by scenario name; ``scissors``: period x scenario
    (index of the ``up`` group's prices over the ``down`` group's, base period 1);
    ``price_lines``: period x (scenario, up/down) price indices.
    """

    plans: dict[str, DynamicPlan]
    prices: dict[str, pd.DataFrame]
    scissors: pd.DataFrame
    price_lines: pd.DataFrame
    up: tuple[str, ...]
    down: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """One row per (scenario, period): output, consumption and investment per
        product, the two price indices and the scissors index."""
        frames = []
        for name, plan in self.plans.items():
            parts = {
                "output": plan.outputs,
                "consumption": plan.consumption,
                "investment": plan.investment,
            }
            df = pd.concat(
                {f"{k}_{p}": v[p] for k, v in parts.items() for p in v.columns}, axis=1
            )
            df["total_investment"] = plan.total_investment
            df["consumption_level"] = plan.consumption_level
            df["price_index_up"] = self.price_lines[(name, "up")]
            df["price_index_down"] = self.price_lines[(name, "down")]
            df["scissors_index"] = self.scissors[name]
            df.insert(0, "scenario", name)
            frames.append(df.reset_index())
        return pd.concat(frames, ignore_index=True)

    def summary(self, consumption: Sequence[str] | None = None) -> pd.DataFrame:
        """Per scenario: objective, consumption and all final use summed over the
        periods, total investment, terminal capacity, and the scissors index in the
        last period.

        ``consumption``: the products households consume (default: every product,
        so that ``consumption`` equals ``final_use``); final use of other products
        (e.g. investment goods for sectors outside the model) is in ``final_use`` only.
        """
        rows = {}
        for name, plan in self.plans.items():
            cons = plan.consumption if consumption is None else plan.consumption[list(consumption)]
            rows[name] = {
                "objective": plan.objective_value,
                "consumption": float(cons.to_numpy().sum()),
                "final_use": float(plan.consumption.to_numpy().sum()),
                "investment": float(plan.total_investment.sum()),
                "terminal_capacity": float(plan.terminal_capacity.sum()),
                "scissors_last": float(self.scissors[name].iloc[-1]),
            }
        return pd.DataFrame(rows).T.rename_axis("scenario")


def compare(
    economy: Economy,
    scenarios: Sequence[Scenario],
    periods: int | Sequence[Any],
    *,
    up: Sequence[str],
    down: Sequence[str],
    unit_cost: pd.Series | Mapping[str, float] | None = None,
    index_weights: pd.Series | None = None,
    progress: Callable[[str, int, int], Any] | None = None,
    **common: Any,
) -> Comparison:
    """Run scenarios on one economy and compare their paths and price scissors.

    Parameters
    ----------
    economy : the economy (single-output activities, for the price model).
    scenarios : the plans; each one's ``settings`` override ``common``.
    periods : T or period labels.
    up, down : product groups of the scissors (manufactures, farm goods); the
        index is the ``up`` group's Laspeyres price index over the ``down`` group's,
        base period 1 (ILO/IMF CPI Manual 2004, ch. 15).
    unit_cost : activity -> primary cost per unit of level (see :func:`period_prices`).
    index_weights : product -> quantity weights of the price indices (default: the
        first scenario's gross output in period 1).
    progress : called as ``progress(scenario_name, k, n)`` before each scenario and
        ``progress("", n, n)`` at the end.
    common : keywords of :func:`plan_dynamic` shared by every scenario.
    """
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names) or not names:
        raise SchemaError(f"scenario names must be unique and at least one: {names}")
    for group, what in ((up, "up"), (down, "down")):
        unknown = [p for p in group if p not in economy.product_ids]
        if unknown or not len(group):
            raise UnknownIdError(f"scissors group {what!r}: unknown or no product(s) {unknown}")
    plans: dict[str, DynamicPlan] = {}
    prices: dict[str, pd.DataFrame] = {}
    for k, sc in enumerate(scenarios):
        if progress is not None:
            progress(sc.name, k, len(scenarios))
        kwargs = {**common, **dict(sc.settings)}
        plans[sc.name] = plan_dynamic(economy, periods, sc.objective, **kwargs)
        prices[sc.name] = period_prices(economy, plans[sc.name], unit_cost)
    if index_weights is None:
        first = plans[names[0]]
        index_weights = first.outputs.iloc[0]
    sc_frames = {n: _scissors(prices[n], index_weights, up, down) for n in names}
    scissors = pd.DataFrame({n: f["ratio"] for n, f in sc_frames.items()})
    scissors.index.name = "period"
    lines = pd.concat({n: f[["up", "down"]] for n, f in sc_frames.items()}, axis=1)
    if progress is not None:
        progress("", len(scenarios), len(scenarios))
    return Comparison(plans=plans, prices=prices, scissors=scissors, price_lines=lines, up=tuple(up), down=tuple(down))
