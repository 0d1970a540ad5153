"""Councils' funded projects as investment in a multi-year plan.

A budget round (`gosplan.democracy.budgeting`) says which projects the councils fund; this
module says whether the economy can build them. Each project either adds *capacity* to an
activity of the economy from a given period on (a new bakery line, a clinic: investment) or
adds none (a festival, a course: collective consumption of goods and labour in the years it
is carried out). The funded projects are imposed on the multi-year plan of
`gosplan.planning.dynamic` together with its consumption floors and factor supplies, and the
report says, per year, what they need in products and labour, whether the plan carries them,
and if not which projects and which limits clash, in the economy's own terms, with the least
change of limits or floors that would carry them and the projects that would still fit going
down the councils' order of priority, so the councils can vote again on a feasible set.

How a project enters the plan (the dynamic model's own convention: Leontief 1953, *Studies
in the Structure of the American Economy*, ch. 3; the lag as in Dorfman, Samuelson and
Solow 1958, ch. 12):

- a capacity project of ``capacity`` units for activity ``j`` usable from period ``f`` is
  investment ``z_{j,s} >= capacity`` started in ``s = f - lag_j``; its capital goods,
  ``capital[:, j] * capacity``, are delivered out of period ``s``'s output, as the model
  delivers every investment's goods when construction starts;
- a project without capacity needs ``cost * money_goods`` (product quantities per unit of
  the election's currency) spread evenly over its ``duration`` periods from ``start``; these
  goods are collective consumption, so the plan's floors and consumption include them;
- direct labour (column ``labour`` of factor ``factor``, or the cost itself when costs are
  hours of labour: ``cost_in_labour``) is spread evenly over the construction years (the lag
  of a capacity project, the duration of another) and comes off the factor's supply.

Each funded project is one column of the plan's program held at 1 by a row of its own, so
an irreducible infeasible subset (Chinneck 2008, *Feasibility and Infeasibility in
Optimization*, ch. 6) names the projects it contains, and the row's dual prices the project
in the plan's objective. A capacity project is a floor under the plan's own investment, not
an addition to it: the plan may build more of that activity if it pays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gosplan.economy import Economy
from gosplan.errors import SchemaError, UnknownIdError
from gosplan.planning.dynamic.projects import Clash, ProjectNeeds

__all__ = [
    "Clash",
    "InvestmentReport",
    "investment_table",
    "plan_budget_round",
    "plan_funded",
    "project_requirements",
]

#: Columns of the investment table (besides name, cost, category, district).
INVESTMENT_COLUMNS = ("activity", "capacity", "first_period", "start", "duration", "labour", "factor")
_REQ_COLUMNS = ["project", "period", "kind", "id", "quantity"]


# -- the investment table ---------------------------------------------------------------------


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or (isinstance(v, str) and not v.strip())


def _label(v: Any) -> Any:
    """A period label as plain Python: tables read from files or dicts give numpy scalars
    and floats for whole numbers (a column with gaps is float)."""
    v = v.item() if isinstance(v, np.generic) else v
    return int(v) if isinstance(v, float) and v.is_integer() else v


def investment_table(
    projects: Any,
    mapping: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per candidate project: its budget facts and how it enters the plan.

    Parameters
    ----------
    projects : a :class:`~gosplan.democracy.pabulib.Election` or its project table (indexed
        by project id, with a ``cost`` column). Any of the columns ``activity``,
        ``capacity``, ``first_period``, ``start``, ``duration``, ``labour``, ``factor``
        that the table carries (a Pabulib file may) are read.
    mapping : project id -> {column: value} (or a DataFrame indexed by project id) for the
        same columns; it overrides the table. ``activity`` and ``capacity``: the activity
        whose capacity the project adds to and by how much (units of the activity's level),
        usable from ``first_period`` (default: the earliest the lag allows). ``start`` and
        ``duration``: when a project without capacity is carried out (default: the first
        period, one period). ``labour``: direct labour of factor ``factor`` in all.

    Returns
    -------
    DataFrame indexed by ``project`` with ``name``, ``cost``, ``category``, ``district``
    and the columns above (``capacity`` and ``labour`` 0 and ``duration`` 1 where not given).
    """
    table = getattr(projects, "projects", projects)
    if not isinstance(table, pd.DataFrame) or "cost" not in table.columns:
        raise SchemaError("investment_table: give an Election or a project table indexed by project id with a 'cost' column")
    source = getattr(projects, "source", "project table")
    out = pd.DataFrame(index=pd.Index([str(i) for i in table.index], name="project"))
    out["name"] = [str(v) for v in table["name"]] if "name" in table.columns else list(out.index)
    out["cost"] = pd.to_numeric(table["cost"], errors="coerce").to_numpy(dtype=float)
    for col in ("category", "district"):
        out[col] = [None if _blank(v) else str(v) for v in table[col]] if col in table.columns else None
    cols: dict[str, list[Any]] = {
        c: [table[c].iloc[i] if c in table.columns else None for i in range(len(table))] for c in INVESTMENT_COLUMNS
    }
    if mapping is not None:
        m = mapping if isinstance(mapping, pd.DataFrame) else pd.DataFrame.from_dict(dict(mapping), orient="index")
        m.index = pd.Index([str(i) for i in m.index])
        unknown = m.index.difference(out.index)
        if len(unknown):
            raise UnknownIdError(
                f"investment mapping: project(s) {list(unknown[:10])} are not in {source}; known: {list(out.index[:10])}"
            )
        extra = [c for c in m.columns if c not in INVESTMENT_COLUMNS]
        if extra:
            raise SchemaError(f"investment mapping: unknown column(s) {extra}; use {list(INVESTMENT_COLUMNS)}")
        pos = out.index.get_indexer(m.index)
        for c in m.columns:
            for i, v in zip(pos, m[c], strict=True):
                if not _blank(v):
                    cols[c][i] = v
    for c in ("activity", "factor"):
        out[c] = [None if _blank(v) else str(v) for v in cols[c]]
    for c in ("first_period", "start"):
        out[c] = pd.Series([None if _blank(v) else _label(v) for v in cols[c]], index=out.index, dtype=object)
    for c, default in (("capacity", 0.0), ("labour", 0.0), ("duration", 1.0)):
        vals = []
        for pid, v in zip(out.index, cols[c], strict=True):
            try:
                x = default if _blank(v) else float(v)
            except (TypeError, ValueError):
                raise SchemaError(f"{source}: project {pid!r}, field {c!r}: {v!r} is not a number") from None
            if not np.isfinite(x) or x < 0:
                raise SchemaError(f"{source}: project {pid!r}, field {c!r}: {v!r} must be a finite number >= 0")
            vals.append(x)
        out[c] = vals
    bad = (out["duration"] < 1) | (out["duration"] != np.round(out["duration"]))
    if bad.any():
        raise SchemaError(f"{source}: project {out.index[bad.to_numpy()][0]!r}, field 'duration': give a whole number of periods >= 1")
    out["duration"] = out["duration"].astype(np.int64)
    nocost = ~np.isfinite(out["cost"].to_numpy()) | (out["cost"].to_numpy() < 0)
    if nocost.any():
        raise SchemaError(f"{source}: project {out.index[nocost][0]!r}, field 'cost' must be a number >= 0")
    has_cap = out["capacity"].to_numpy() > 0
    no_act = has_cap & out["activity"].isna().to_numpy()
    if no_act.any():
        raise SchemaError(f"{source}: project {out.index[no_act][0]!r} adds capacity but names no 'activity'; say which activity it builds")
    return out


# -- what each project needs, year by year ------------------------------------------------------


def _period_pos(value: Any, periods: pd.Index, what: str) -> int:
    if value in periods:
        return int(periods.get_loc(value))
    by_text = {str(p): i for i, p in enumerate(periods)}
    if str(value) in by_text:
        return by_text[str(value)]
    raise SchemaError(f"{what}: {value!r} is not one of the plan's periods {list(periods)}")


def _needs(
    economy: Economy,
    spec: Any,
    table: pd.DataFrame,
    ids: Sequence[str],
    money_goods: pd.Series | Mapping[str, float] | None,
    cost_in_labour: float | None,
    labour_factor: str | None,
) -> ProjectNeeds:
    periods = spec.periods
    T, P, F = spec.T, len(economy.products), len(economy.factors)
    mg = None
    if money_goods is not None:
        s = pd.Series(money_goods, dtype=float)
        unknown = s.index.difference(economy.product_ids)
        if len(unknown):
            raise UnknownIdError(f"money_goods: unknown product(s) {list(map(str, unknown))}; known: {list(economy.product_ids[:10])}")
        if (s < 0).any() or not np.isfinite(s).all():
            raise SchemaError("money_goods: quantities per unit of cost must be finite and >= 0")
        mg = s.reindex(economy.product_ids).fillna(0.0).to_numpy()
    if labour_factor is not None and labour_factor not in economy.factor_ids:
        raise UnknownIdError(f"labour_factor {labour_factor!r} is not a factor of the economy; known: {list(economy.factor_ids)}")
    if cost_in_labour is not None and labour_factor is None:
        raise SchemaError("cost_in_labour needs labour_factor: say which factor the costs are hours of")
    n = len(ids)
    goods = np.zeros((n, T, P))
    capital_goods = np.zeros((n, T, P))
    labour = np.zeros((n, T, F))
    capacity: list[tuple[int, int, float]] = []
    ready: list[int] = []
    K = economy.capital.toarray() if economy.capital is not None else np.zeros((P, len(economy.activities)))
    for q, pid in enumerate(ids):
        if pid not in table.index:
            raise UnknownIdError(f"funded project {pid!r} is not in the investment table; known: {list(table.index[:10])}")
        r = table.loc[pid]
        where = f"project {pid!r} ({r['name']})"
        if r["capacity"] > 0:
            act = r["activity"]
            if act not in economy.activity_ids:
                raise UnknownIdError(f"{where}: activity {act!r} is not in the economy; known: {list(economy.activity_ids[:10])}")
            j = int(economy.activity_ids.get_loc(act))
            if not spec.capital_activities[j]:
                raise SchemaError(
                    f"{where}: activity {act!r} ties up no capital, so it has no capacity to build; "
                    "map the project to an activity with capital coefficients"
                )
            lag = int(spec.lag[j])
            f = lag if _blank(r["first_period"]) else _period_pos(r["first_period"], periods, f"{where}, first_period")
            s = f - lag
            if s < 0:
                raise SchemaError(
                    f"{where}: capacity of {act!r} usable from {periods[f]!r} must be started {lag} period(s) earlier, "
                    f"before the plan's first period {periods[0]!r}; move first_period to {periods[min(lag, T - 1)]!r} or later"
                )
            capital_goods[q, s] = K[:, j] * r["capacity"]
            capacity.append((j, s, float(r["capacity"])))
            ready.append(f)
            years = range(s, f)
        else:
            s = 0 if _blank(r["start"]) else _period_pos(r["start"], periods, f"{where}, start")
            d = int(r["duration"])
            if s + d > T:
                raise SchemaError(
                    f"{where}: {d} period(s) from {periods[s]!r} run past the plan's last period {periods[-1]!r}; "
                    "lengthen the plan or shorten the project"
                )
            years = range(s, s + d)
            if mg is not None:
                goods[q, s : s + d] = r["cost"] * mg / d
            capacity.append((-1, s, 0.0))
            ready.append(s + d)
        total_labour = float(r["labour"])
        fac = labour_factor if _blank(r["factor"]) else str(r["factor"])
        if cost_in_labour is not None:
            total_labour += float(r["cost"]) * float(cost_in_labour)
        if total_labour > 0:
            if fac is None:
                raise SchemaError(f"{where}: direct labour {total_labour:g} of which factor? give a 'factor' column or labour_factor")
            if fac not in economy.factor_ids:
                raise UnknownIdError(f"{where}: factor {fac!r} is not in the economy; known: {list(economy.factor_ids)}")
            labour[q, list(years), economy.factor_ids.get_loc(fac)] = total_labour / len(years)
        if r["capacity"] == 0 and not goods[q].any() and not labour[q].any():
            raise SchemaError(
                f"{where} adds no capacity and its cost cannot be turned into goods or labour: map it to an activity "
                "(activity, capacity), give money_goods (product quantities per unit of cost), or its direct labour"
            )
    return ProjectNeeds(list(ids), goods, capital_goods, labour, capacity, ready)


def _long(needs: ProjectNeeds, economy: Economy, periods: pd.Index) -> pd.DataFrame:
    parts = []
    for arr, kind, labels in (
        (needs.capital_goods, "capital goods", economy.product_ids),
        (needs.goods, "goods", economy.product_ids),
        (needs.labour, "labour", economy.factor_ids),
    ):
        q, t, k = np.nonzero(arr)
        if len(q):
            parts.append(
                pd.DataFrame(
                    {
                        "project": np.asarray(needs.ids, dtype=object)[q],
                        "period": np.asarray(periods, dtype=object)[t],
                        "kind": kind,
                        "id": labels.to_numpy(dtype=object)[k],
                        "quantity": arr[q, t, k],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=_REQ_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def project_requirements(
    economy: Economy,
    periods: int | Sequence[Any],
    projects: pd.DataFrame,
    funded: Sequence[str] | None = None,
    *,
    money_goods: pd.Series | Mapping[str, float] | None = None,
    labour_factor: str | None = None,
    cost_in_labour: float | None = None,
    **plan_settings: Any,
) -> pd.DataFrame:
    """What each project needs in each period, without solving a plan.

    ``capital goods``: ``capital[:, j] * capacity`` in the period construction starts
    (``first_period - lag_j``); ``goods``: ``cost * money_goods / duration`` in each
    period a project without capacity runs; ``labour``: direct labour spread evenly over
    the construction (or running) periods. See the module docstring for the rules.

    Parameters
    ----------
    economy, periods, plan_settings : as for :func:`gosplan.planning.dynamic.plan_dynamic`
        (``lag`` gives the gestation lags).
    projects : the :func:`investment_table`.
    funded : the projects to cost (default: every project in the table).

    Returns
    -------
    Long DataFrame ``project, period, kind, id, quantity`` (``kind``: ``capital goods``,
    ``goods`` or ``labour``; ``id``: a product or factor).
    """
    from gosplan.planning.dynamic import dynamic_spec

    spec = dynamic_spec(economy, periods, **plan_settings)
    ids = list(projects.index) if funded is None else [str(p) for p in funded]
    return _long(_needs(economy, spec, projects, ids, money_goods, cost_in_labour, labour_factor), economy, spec.periods)


def _embodied(plan: Any, economy: Economy, goods: np.ndarray) -> np.ndarray:
    """Labour (every factor) embodied in ``goods`` (T x P) at the techniques the plan runs.

    In period t, product p's inputs and factors per unit are those of the activities that
    make it, weighted by their output: ``A_t = use diag(x_t) S' / out_t`` and
    ``l_t = factor_use diag(x_t) S' / out_t`` with ``S`` the share of each activity's output
    going to each product (1 for single-output activities). The vertically integrated
    factor coefficients ``v_t = l_t (I - A_t)^{-1}`` (Pasinetti 1973, "The notion of
    vertical integration in economic analysis", *Metroeconomica* 25) value the goods.
    """
    X = plan.levels.to_numpy()
    make = economy.make.toarray()
    use = economy.use.toarray()
    fu = economy.factor_use.toarray()
    share = make / np.maximum(make.sum(axis=0, keepdims=True), 1e-300)
    T, P = goods.shape
    out = np.zeros((T, len(economy.factors)))
    for t in range(T):
        if not goods[t].any():
            continue
        w = share * X[t][None, :]  # (P, J): activity j's output attributed to product p
        q = w.sum(axis=1)
        made = q > 0
        A = (use @ w.T)[np.ix_(made, made)] / q[made][None, :]
        L = (fu @ w.T)[:, made] / q[made][None, :]
        v = np.linalg.solve((np.eye(int(made.sum())) - A).T, L.T).T  # v (I - A) = l
        out[t] = v @ goods[t][made]
    return out


@dataclass(frozen=True, eq=False)
class InvestmentReport:
    """The councils' funded projects in the multi-year plan.

    Attributes
    ----------
    feasible
        Whether the plan carries every funded project together with its floors and limits.
    projects
        The funded projects (in priority order) with their investment columns, the period
        construction starts, and totals: ``capital_goods``, ``goods``, ``direct_labour``.
    requirements
        Long table ``project, period, kind, id, quantity`` (see :func:`project_requirements`).
    goods, labour
        Per period: what the funded projects need in each product (capital and other goods)
        and in direct labour of each factor.
    embodied_labour
        Per period and factor: the labour the goods embody at the techniques the plan runs
        (``None`` when the plan is impossible).
    plan
        The plan with every funded project (``None`` when impossible). Its ``consumption`` and
        the floors in its ``spec`` include the goods of projects without capacity (collective
        consumption); its ``factor_supply`` is what the projects' direct labour leaves for
        the economy's activities.
    clash
        When impossible: the projects and limits that clash.
    relaxations
        When impossible: ``{"limits": ..., "floors": ...}``, the least relative rise of factor
        supplies and capacities, or cut of consumption floors, that carries every funded
        project (columns ``kind, id, period, current, change, new, relative``; an empty
        table: that kind of change alone cannot).
    priority
        The order in which projects were considered for the suggestion.
    suggestion
        When impossible: the projects kept going down ``priority``, adding each that the plan
        can still carry with those kept before it.
    suggested_plan
        The plan carrying the suggestion.
    shadow_costs
        Per project carried (all funded, or the suggestion): the marginal cost of the
        project in the plan's objective (the dual of its row ``y_q >= 1``; for the default
        objective, discounted consumption-basket levels forgone). The plan loses at most
        this much by carrying the project (the value of a linear program is concave in a
        right-hand side), and at least its marginal cost at zero.
    """

    feasible: bool
    funded: tuple[str, ...]
    projects: pd.DataFrame
    requirements: pd.DataFrame
    goods: pd.DataFrame
    labour: pd.DataFrame
    embodied_labour: pd.DataFrame | None
    plan: Any
    clash: Clash | None = None
    relaxations: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    priority: tuple[str, ...] = ()
    suggestion: tuple[str, ...] | None = None
    suggested_plan: Any = None
    shadow_costs: pd.Series | None = None

    def share_of_output(self) -> pd.DataFrame | None:
        """The funded projects' goods as a share of each product's gross output per period."""
        plan = self.plan if self.plan is not None else None
        if plan is None:
            return None
        out = plan.outputs
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self.goods.to_numpy() / out.to_numpy()
        r = np.where(self.goods.to_numpy() == 0, 0.0, r)
        return pd.DataFrame(r, index=out.index.copy(), columns=out.columns.copy())

    def summary(self) -> list[str]:
        """Lines a council can read out."""
        names = dict(zip(self.projects.index, self.projects["name"], strict=True))
        lines = [f"{len(self.funded)} funded project(s): " + ", ".join(self.funded)]
        for t, row in self.goods.iterrows():
            g = ", ".join(f"{p} {v:,.4g}" for p, v in row.items() if v) or "no goods"
            lab = ", ".join(f"{f} {v:,.4g}" for f, v in self.labour.loc[t].items() if v)
            if self.embodied_labour is not None:
                emb = ", ".join(f"{f} {v:,.4g}" for f, v in self.embodied_labour.loc[t].items() if v)
                lab = "; ".join(x for x in (f"direct {lab}" if lab else "", f"embodied {emb}" if emb else "") if x)
            lines.append(f"  {t}: {g}" + (f"; labour: {lab}" if lab else ""))
        if self.feasible:
            lines.append("the plan carries every funded project together with the consumption floors")
            return lines
        lines.append(self.clash.message(names) if self.clash is not None else "the plan cannot carry the funded projects")
        for kind, tab in self.relaxations.items():
            if len(tab):
                ch = "; ".join(
                    f"{r.kind} {r.id} in {r.period}: {r.current:,.4g} -> {r.new:,.4g} ({r.relative:+.1%})" for r in tab.head(6).itertuples()
                )
                lines.append(f"  least change of {kind} alone: {ch}")
            else:
                lines.append(f"  changing {kind} alone cannot carry every funded project")
        if self.suggestion is not None:
            dropped = [p for p in self.priority if p not in self.suggestion]
            lines.append(
                "suggestion in order of priority: keep " + (", ".join(self.suggestion) or "none")
                + "; drop " + (", ".join(dropped) or "none")
            )
        return lines


def _priority_subset(feasible: Any, n: int) -> np.ndarray:
    """Go down the priority order keeping each project that still fits with those kept.

    Feasibility is monotone (dropping a project only relaxes the plan), so instead of one
    check per project the first project that no longer fits is found by bisection over the
    prefixes of the projects not yet decided: ``O(d log n)`` checks for ``d`` dropped
    projects, the same set as one check per project. ``feasible(mask) -> bool``.
    """
    keep = np.zeros(n, dtype=bool)
    lo = 0  # projects before lo are decided
    while lo < n:
        trial = keep.copy()
        trial[lo:] = True
        if feasible(trial):
            return trial
        # smallest i >= lo with keep + projects lo..i infeasible
        a, b = lo, n - 1
        while a < b:
            mid = (a + b) // 2
            trial = keep.copy()
            trial[lo : mid + 1] = True
            if feasible(trial):
                a = mid + 1
            else:
                b = mid
        keep[lo:a] = True
        lo = a + 1
    return keep


def plan_funded(
    economy: Economy,
    periods: int | Sequence[Any],
    projects: pd.DataFrame,
    funded: Sequence[str] | Any,
    objective: Any = None,
    *,
    money_goods: pd.Series | Mapping[str, float] | None = None,
    labour_factor: str | None = None,
    cost_in_labour: float | None = None,
    priority: Sequence[str] | None = None,
    suggest: bool = True,
    relax: bool = True,
    options: Any = None,
    **plan_settings: Any,
) -> InvestmentReport:
    """Impose the councils' funded projects on a multi-year plan and report.

    The plan is :func:`gosplan.planning.dynamic.plan_dynamic`'s linear program with every
    funded project fixed in it (module docstring): its capital goods and new capacity, its
    collective consumption and its direct labour, together with the consumption floors,
    factor supplies, capacities and terminal condition of ``plan_settings``. When no plan
    carries them, an irreducible infeasible subset of the program names the clashing
    projects and limits; elastic programs find the least relative rise of factor supplies,
    or cut of floors, that would carry them all (Chinneck 2008, ch. 6-7); and the projects
    are taken in ``priority`` order, each kept if the plan still carries it with those kept
    before (a maximal feasible subset, the first in that order; not necessarily the
    largest in number).

    Parameters
    ----------
    economy, periods, objective, options, plan_settings : as for
        :func:`~gosplan.planning.dynamic.plan_dynamic` (``final_demand`` floors,
        ``factor_growth``, ``lag``, ``depreciation``, ``initial_capacity``, ...).
    projects : the :func:`investment_table` of the round.
    funded : the funded project ids, or the round's
        :class:`~gosplan.democracy.budgeting.Outcome` (its ``funded``, in the rule's order).
    money_goods : product -> quantity per unit of cost, for projects without capacity.
    labour_factor, cost_in_labour : the factor of direct labour where a project names
        none; with ``cost_in_labour``, each project's cost times it is direct labour of
        that factor (costs in hours of labour).
    priority : order for the suggestion (default: ``funded``'s order).
    suggest, relax : compute the suggestion and the relaxations when impossible.

    Returns
    -------
    InvestmentReport

    Raises
    ------
    InfeasibleDynamicPlanError
        When the plan is impossible even without the projects (its floors and limits
        clash on their own); the message names them.
    """
    from gosplan.planning.diagnose import is_feasible
    from gosplan.planning.dynamic import InfeasibleDynamicPlanError, MaxConsumption, ReachTargets, build_dynamic_lp, dynamic_spec
    from gosplan.planning.dynamic import projects as pj
    from gosplan.planning.solver import SolverOptions

    ids = [str(p) for p in getattr(funded, "funded", funded)]
    if len(set(ids)) != len(ids):
        raise SchemaError(f"funded: project(s) {sorted({p for p in ids if ids.count(p) > 1})} listed twice")
    order = ids if priority is None else [str(p) for p in priority]
    if sorted(order) != sorted(ids):
        raise SchemaError(
            f"priority must list the funded projects once each: missing {sorted(set(ids) - set(order))}, "
            f"extra {sorted(set(order) - set(ids))}"
        )
    ids = order
    objective = MaxConsumption() if objective is None else objective
    options = options or SolverOptions()
    spec = dynamic_spec(economy, periods, **plan_settings)
    needs = _needs(economy, spec, projects, ids, money_goods, cost_in_labour, labour_factor)
    per = spec.periods
    req = _long(needs, economy, per)
    goods_all = needs.goods + needs.capital_goods
    goods = pd.DataFrame(goods_all.sum(axis=0), index=per.copy(), columns=economy.product_ids.copy())
    labour = pd.DataFrame(needs.labour.sum(axis=0), index=per.copy(), columns=economy.factor_ids.copy())
    table = projects.loc[ids].copy()
    table["construction_start"] = pd.Series([per[s] for _, s, _ in needs.capacity], index=table.index, dtype=object)
    table["first_period"] = pd.Series([per[f] if j >= 0 else None for (j, _, _), f in zip(needs.capacity, needs.ready, strict=True)],
                                      index=table.index, dtype=object)
    table["capital_goods"] = needs.capital_goods.sum(axis=(1, 2))
    table["goods"] = needs.goods.sum(axis=(1, 2))
    table["direct_labour"] = needs.labour.sum(axis=(1, 2))

    # feasibility does not depend on the objective but for ReachTargets' targets, and the
    # objective's own columns (consumption levels) would only clutter the diagnosis
    feas_obj = objective if isinstance(objective, ReachTargets) else ReachTargets()
    flp, flay = build_dynamic_lp(economy, spec, feas_obj)
    fplp = pj.impose_projects(flp, flay, needs)
    # HiGHS 1.13 finds no IIS of some programs it finds one for once consumption-level
    # columns are present: the same plan written with them is the second try
    iis_plps = [fplp]
    if not isinstance(objective, ReachTargets):
        iis_plps.append(pj.impose_projects(*build_dynamic_lp(economy, spec, MaxConsumption()), needs))
    every = np.ones(len(ids), dtype=bool)

    def solve_with(keep: np.ndarray) -> tuple[Any, pd.Series]:
        return pj.plan_with_projects(economy, spec, objective, needs, keep, options)

    if is_feasible(pj.kept(fplp, every), options):
        plan, costs = solve_with(every)
        emb = pd.DataFrame(_embodied(plan, economy, goods_all.sum(axis=0)), index=per.copy(), columns=economy.factor_ids.copy())
        return InvestmentReport(True, tuple(ids), table, req, goods, labour, emb, plan, priority=tuple(ids), shadow_costs=costs)

    none = np.zeros(len(ids), dtype=bool)
    if not is_feasible(pj.kept(fplp, none), options):
        alone = pj.clash(iis_plps, economy, spec, needs, none, options)
        raise InfeasibleDynamicPlanError(
            "the plan is impossible even without the funded projects: its own floors and limits clash ("
            + ("; ".join(alone.limits["constraint"]) if alone is not None and len(alone.limits) else "see plan_dynamic's diagnosis")
            + "); lower the floors or allow more factors or initial capacity before imposing projects",
            list(alone.limits["constraint"]) if alone is not None else [],
        )
    clash = pj.clash(iis_plps, economy, spec, needs, every, options)
    relaxations: dict[str, pd.DataFrame] = {}
    if relax or clash is None:
        relaxations["limits"] = pj.least_change(fplp, economy, spec, floors=False, factors=True, options=options)
        relaxations["floors"] = pj.least_change(fplp, economy, spec, floors=True, factors=False, options=options)
    if clash is None:
        clash = pj.elastic_clash(fplp, needs, relaxations["limits"], options)
    suggestion = suggested_plan = costs = None
    if suggest:
        keep = _priority_subset(lambda k: is_feasible(pj.kept(fplp, k), options), len(ids))
        suggestion = tuple(p for p, k in zip(ids, keep, strict=True) if k)
        suggested_plan, costs = solve_with(keep)
    return InvestmentReport(
        False, tuple(ids), table, req, goods, labour, None, None, clash, relaxations, tuple(ids), suggestion, suggested_plan,
        costs,
    )


def plan_budget_round(
    election: Any,
    economy: Economy,
    periods: int | Sequence[Any],
    mapping: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
    rule: str = "equal-shares",
    objective: Any = None,
    **kwargs: Any,
) -> tuple[Any, InvestmentReport]:
    """Election -> rule -> funded projects -> multi-year plan, in one call.

    Runs the budget rule (:func:`gosplan.democracy.budgeting.allocate`) on ``election``,
    builds the :func:`investment_table` from its projects and ``mapping``, and imposes the
    funded projects on the plan (:func:`plan_funded`, which takes ``kwargs``), in the rule's
    order of selection. Returns ``(outcome, report)``.
    """
    from gosplan.democracy.budgeting import allocate

    outcome = allocate(election, rule)
    table = investment_table(election, mapping)
    return outcome, plan_funded(economy, periods, table, outcome, objective, **kwargs)
