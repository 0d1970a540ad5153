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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import GosplanError, SchemaError, UnknownIdError

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
_LIMIT_COLUMNS = ["kind", "id", "period", "limit", "constraint"]
_FLOOR = 1e-6


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
    cols: dict[str, list[Any]] = {c: [table[c].iloc[i] if c in table.columns else None for i in range(len(table))] for c in INVESTMENT_COLUMNS}
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


@dataclass(frozen=True, eq=False)
class _Needs:
    """The funded projects' needs as plain arrays aligned to the plan."""

    ids: list[str]
    goods: np.ndarray  # (n, T, P) collective consumption (projects without capacity)
    capital_goods: np.ndarray  # (n, T, P) capital goods of capacity projects
    labour: np.ndarray  # (n, T, F) direct labour
    capacity: list[tuple[int, int, float]]  # per project: (activity position or -1, start period, capacity)
    ready: list[int]  # per project: first period of its capacity, or the period after it ends


def _needs(
    economy: Economy,
    spec: Any,
    table: pd.DataFrame,
    ids: Sequence[str],
    money_goods: pd.Series | Mapping[str, float] | None,
    cost_in_labour: float | None,
    labour_factor: str | None,
) -> _Needs:
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
                raise SchemaError(f"{where}: activity {act!r} ties up no capital, so it has no capacity to build; map the project to an activity with capital coefficients")
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
                raise SchemaError(f"{where}: {d} period(s) from {periods[s]!r} run past the plan's last period {periods[-1]!r}; lengthen the plan or shorten the project")
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
    return _Needs(list(ids), goods, capital_goods, labour, capacity, ready)


def _long(needs: _Needs, economy: Economy, periods: pd.Index) -> pd.DataFrame:
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


# -- the plan with the projects imposed ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _ProjectLP:
    lp: Any
    layout: Any
    n_base: int  # columns of the plan before the project columns
    m_base: int  # rows of the plan before the link rows
    link: list[tuple[int, int]]  # (capital activity position, start period) of each link row

    @property
    def m_projects(self) -> int:
        """First of the rows ``y_q >= 1`` (one per project)."""
        return self.m_base + len(self.link)


def _with_projects(lp: Any, layout: Any, needs: _Needs) -> _ProjectLP:
    """The plan's program with one column per funded project and its needs.

    Column ``y_q`` enters the balance rows with ``-goods`` (collective consumption), the
    factor rows with ``+labour``, and one link row per (activity, start period) holding the
    plan's new capacity at or above the projects': ``z_{j,s} - sum_q capacity_q y_q >= 0``.
    The project is imposed by a row ``y_q >= 1`` with ``y_q >= 0``, not by fixing the
    column: an IIS search that drops the row leaves ``y_q`` free to be 0 (the project not
    built), while dropping a fixed column's bounds would let a project *make* goods. More
    than one of a project never helps the plan, so ``y_q`` stays at 1 and the row's dual is
    the project's marginal cost in the plan's objective.
    """
    from gosplan.planning.solver import LinearProgram

    P, F, Jc = layout.P, layout.F, layout.Jc
    n = len(needs.ids)
    m, nb = lp.A.shape
    b0, f0 = layout.row_blocks["balance"][0], layout.row_blocks["factor"][0]
    rows, cols, vals = [], [], []
    q, t, p = np.nonzero(needs.goods)
    rows.append(b0 + t * P + p)
    cols.append(q)
    vals.append(-needs.goods[q, t, p])
    q, t, f = np.nonzero(needs.labour)
    rows.append(f0 + t * F + f)
    cols.append(q)
    vals.append(needs.labour[q, t, f])
    Y = sp.csc_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n)
    ) if n else sp.csc_array((m, 0))
    cap_pos = {int(j): k for k, j in enumerate(layout.cap_idx)}
    link: list[tuple[int, int]] = []
    lr, lc, lv = [], [], []
    z0 = layout.col_blocks["z"][0]
    for qi, (j, s, c) in enumerate(needs.capacity):
        if j < 0:
            continue
        key = (j, s)
        if key not in link:
            link.append(key)
            r = len(link) - 1
            lr.append(r)
            lc.append(z0 + s * Jc + cap_pos[j])
            lv.append(1.0)
        lr.append(link.index(key))
        lc.append(nb + qi)
        lv.append(-c)
    L = sp.csc_array((lv, (lr, lc)), shape=(len(link), nb + n))
    On = sp.csc_array((np.ones(n), (np.arange(n), nb + np.arange(n))), shape=(n, nb + n))
    A = sp.vstack([sp.hstack([lp.A, Y], format="csc"), L, On], format="csc")
    ext = LinearProgram(
        c=np.concatenate([lp.c, np.zeros(n)]),
        A=A,
        row_lower=np.concatenate([lp.row_lower, np.zeros(len(link)), np.ones(n)]),
        row_upper=np.concatenate([lp.row_upper, np.full(len(link), np.inf), np.full(n, np.inf)]),
        col_lower=np.concatenate([lp.col_lower, np.zeros(n)]),
        col_upper=np.concatenate([lp.col_upper, np.full(n, np.inf)]),
        sense=lp.sense,
        offset=lp.offset,
    )
    return _ProjectLP(ext, layout, nb, m, link)


def _subset(plp: _ProjectLP, keep: np.ndarray, zero_cost: bool = False) -> Any:
    """The same program with the projects outside ``keep`` switched off (y fixed at 0).

    Feasibility is checked on the least-factor-cost program, not with a zero objective:
    HiGHS 1.13 leaves zero-objective programs near the edge of feasibility undecided
    ("unknown") far more often, and takes ten times longer on them (bench_investment).
    """
    lp = plp.lp
    hi = lp.col_upper.copy()
    hi[plp.n_base :] = np.where(keep, np.inf, 0.0)
    rlo = lp.row_lower.copy()
    rlo[plp.m_projects :] = keep.astype(float)
    c = np.zeros_like(lp.c) if zero_cost else lp.c
    return dataclasses.replace(lp, c=c, col_upper=hi, row_lower=rlo)


def _is_feasible(lp: Any, options: Any) -> bool:
    from gosplan.planning.solver import SolverStatus, solve_lp

    # a program at the edge of feasibility can leave one method undecided ("unknown"):
    # the dual simplex without presolve and then the interior point method try again
    tries = (options, dataclasses.replace(options, method="dual_simplex", presolve=False), dataclasses.replace(options, method="ipm"))
    for opts in tries:
        res = solve_lp(lp, opts)
        if res.status is SolverStatus.OPTIMAL:
            return True
        if res.status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED):
            return False
        if res.status in (SolverStatus.TIME_LIMIT, SolverStatus.ITERATION_LIMIT, SolverStatus.INTERRUPTED):
            break
    raise GosplanError(
        f"the feasibility check of the plan ended {res.status.value} ({res.solver_status}) with {len(tries)} methods; "
        "the plan is at the edge of feasibility or badly scaled: rescale the units, or raise the time limit"
    )


@dataclass(frozen=True, eq=False)
class Clash:
    """Which funded projects and which limits of the economy cannot go together.

    ``projects``: ids of the funded projects in the clash (an irreducible infeasible subset:
    drop any one of them, or relax any one limit, and this particular conflict is gone).
    ``limits``: one row per limit (``kind``: ``factor`` supply, consumption ``floor``,
    ``capacity`` (initial or fixed), ``technique`` (not yet available), ``terminal``
    condition, fixed ``investment`` rule; ``id`` of the factor, product or activity;
    ``period``; ``limit`` its value; ``constraint`` in words). ``linking``: the other
    constraints that tie them together (balances of intermediate goods, capacity
    accumulation; the non-negativity of levels and investment, which takes part in most
    conflicts, is left out), in words. ``method``: ``"iis"``, or ``"elastic"`` where HiGHS
    could not compute an IIS: then ``projects`` are those the plan cannot carry in full when
    it carries as much of every project as it can, and ``limits`` those the least change of
    limits stretches (a conflict, not necessarily an irreducible one).
    """

    projects: tuple[str, ...]
    limits: pd.DataFrame
    linking: tuple[str, ...] = ()
    method: str = "iis"

    @property
    def limit_ids(self) -> set[tuple[str, str, Any]]:
        """``{(kind, id, period)}`` of the limits."""
        return set(zip(self.limits["kind"], self.limits["id"], self.limits["period"], strict=True))

    def message(self, names: Mapping[str, str] | None = None) -> str:
        names = names or {}
        projects = ", ".join(f"{p} ({names[p]})" if names.get(p, p) != p else p for p in self.projects) or "(none)"
        limits = "; ".join(self.limits["constraint"]) or "(none)"
        return f"the funded projects {projects} cannot be carried together with: {limits}"


def _clash(plps: Sequence[_ProjectLP], economy: Economy, spec: Any, needs: _Needs, keep: np.ndarray, options: Any) -> Clash | None:
    """The IIS of the first of ``plps`` (the same plan written two ways) for which HiGHS
    computes one, read back in the economy's terms; ``None`` if it computes none."""
    from gosplan.planning.solver import iis_detail

    periods = spec.periods
    for plp in plps:
        try:
            d = iis_detail(_subset(plp, keep, zero_cost=True), options)
            break
        except SchemaError:
            continue
    else:
        return None
    lay = plp.layout
    projects: list[str] = []
    limits: list[dict[str, Any]] = []
    linking: list[str] = []
    cap_ids = economy.activity_ids[lay.cap_idx]

    def block(i: int, blocks: Mapping[str, tuple[int, int]]) -> tuple[str, int]:
        for name, (a, b) in blocks.items():
            if a <= i < b:
                return name, i - a
        return "", i

    for i, side in zip(d.rows, d.row_sides, strict=True):
        i = int(i)
        if i >= plp.m_projects:
            projects.append(needs.ids[i - plp.m_projects])
            continue
        if i >= plp.m_base:
            j, s = plp.link[i - plp.m_base]
            linking.append(f"new capacity of {economy.activity_ids[j]!r} started in {periods[s]!r} covers the funded projects'")
            continue
        name, r = block(i, lay.row_blocks)
        if name == "balance":
            t, p = divmod(r, lay.P)
            floor = float(spec.final_demand[t, p])
            pid = str(economy.product_ids[p])
            if floor > 0 and side in ("lower", "boxed"):
                limits.append({"kind": "floor", "id": pid, "period": periods[t], "limit": floor,
                               "constraint": f"consumption floor of {pid!r} in {periods[t]!r} ({floor:g})"})
            else:
                linking.append(f"balance of {pid!r} in {periods[t]!r}")
        elif name == "factor":
            t, f = divmod(r, lay.F)
            fid = str(economy.factor_ids[f])
            sup = float(spec.factor_supply[t, f])
            limits.append({"kind": "factor", "id": fid, "period": periods[t], "limit": sup,
                           "constraint": f"supply of {fid!r} in {periods[t]!r} ({sup:g})"})
        elif name == "capacity":
            t, k = divmod(r, lay.Jc)
            linking.append(f"capacity of {cap_ids[k]!r} in {periods[t]!r}")
        elif name == "accumulation":
            t, k = divmod(r, lay.Jc)
            linking.append(f"accumulation of capacity of {cap_ids[k]!r} after {periods[t]!r}")
        elif name == "terminal":
            kind = spec.terminal.kind
            if kind == "capacity":
                what = str(cap_ids[r])
            else:
                Kc = sp.csr_array(economy.capital[:, lay.cap_idx])
                what = str(economy.product_ids[np.flatnonzero(np.diff(Kc.indptr) > 0)[r]])
            limits.append({"kind": "terminal", "id": what, "period": periods[-1], "limit": np.nan,
                           "constraint": f"terminal condition: {kind} of {what!r} not run down after {periods[-1]!r}"})
        elif name in ("share", "investment_total", "investment_rate"):
            t = r // lay.Jc if name == "share" else r
            limits.append({"kind": "investment", "id": name, "period": periods[t], "limit": np.nan,
                           "constraint": f"fixed investment rule ({name}) in {periods[t]!r}"})
        else:
            linking.append(f"{name} row {r}")
    k0 = lay.col_blocks["k"][0]
    for c, side in zip(d.cols, d.col_sides, strict=True):
        c = int(c)
        if c >= plp.n_base:
            continue  # y_q >= 0: a project is named by its row y_q >= 1
        name, r = block(c, lay.col_blocks)
        if name == "x":
            t, j = divmod(r, lay.J)
            aid = str(economy.activity_ids[j])
            if t < spec.start[j]:
                limits.append({"kind": "technique", "id": aid, "period": periods[t], "limit": 0.0,
                               "constraint": f"technique {aid!r} not yet available in {periods[t]!r}"})
            elif side in ("upper", "boxed"):
                cap = float(spec.static_capacity[j])
                limits.append({"kind": "capacity", "id": aid, "period": periods[t], "limit": cap,
                               "constraint": f"capacity of {aid!r} in {periods[t]!r} ({cap:g})"})
            # a level's lower bound (>= 0) takes part in most conflicts and says nothing
        elif name == "k":
            if c - k0 < lay.Jc:  # later capacities are only bounded below by 0
                aid = str(cap_ids[c - k0])
                cap = float(spec.initial_capacity[lay.cap_idx[c - k0]])
                limits.append({"kind": "capacity", "id": aid, "period": periods[0], "limit": cap,
                               "constraint": f"initial capacity of {aid!r} ({cap:g})"})
        elif name == "z":
            t, k = divmod(r, lay.Jc)
            if side in ("upper", "boxed"):
                linking.append(f"no investment in {cap_ids[k]!r} started in {periods[t]!r} (it would finish after the plan)")
        elif name != "u":  # consumption levels >= 0 take part in most conflicts
            linking.append(f"bounds of {name} column {r}")
    lim = pd.DataFrame(limits, columns=_LIMIT_COLUMNS)
    return Clash(tuple(projects), lim, tuple(linking))


def _elastic_clash(plp: _ProjectLP, needs: _Needs, limits: pd.DataFrame, options: Any) -> Clash:
    """Where no IIS is to be had: carry as much of every project as the plan can
    (``max sum_q y_q``, ``0 <= y_q <= 1``) and name those not carried in full, with the
    limits that the least change of limits stretches."""
    from gosplan.planning.solver import SolverStatus, solve_lp

    lp = _subset(plp, np.ones(len(needs.ids), dtype=bool))
    n0 = plp.n_base
    c = np.zeros_like(lp.c)
    c[n0:] = 1.0
    hi = lp.col_upper.copy()
    hi[n0:] = 1.0
    rlo = lp.row_lower.copy()
    rlo[plp.m_projects :] = 0.0
    res = solve_lp(dataclasses.replace(lp, c=c, col_upper=hi, row_lower=rlo, sense="max"), options)
    short = () if res.status is not SolverStatus.OPTIMAL else tuple(
        p for p, y in zip(needs.ids, res.x[n0:], strict=True) if y < 1.0 - 1e-7
    )
    lim = pd.DataFrame(
        {
            "kind": limits["kind"],
            "id": limits["id"],
            "period": limits["period"],
            "limit": limits["current"],
            "constraint": [f"{k} {i!r} in {t!r} ({v:g})" for k, i, t, v in zip(limits["kind"], limits["id"], limits["period"], limits["current"], strict=True)],
        },
        columns=_LIMIT_COLUMNS,
    )
    return Clash(short, lim, (), "elastic")


def _least_change(plp: _ProjectLP, economy: Economy, spec: Any, *, floors: bool, factors: bool, options: Any) -> pd.DataFrame:
    """The least weighted relative change of limits (factor supplies and capacities) or of
    floors that carries every funded project: elastic programming (Chinneck 2008, ch. 7),

        min sum_{f,t} g_{f,t} / supply_{f,t} + sum_{j,t} h_{j,t} / k_{j,1} + sum_{p,t} e_{p,t} / floor_{p,t}
        s.t. factor_use x_t + labour_t - g_t <= supply_t,  x_{j,t} - k_{j,t} - h_{j,t} <= 0,
             balance_t + e_t >= floor_t,  0 <= e <= floor.

    The capacity change ``h`` is plant in place in that year beyond what the plan's
    investment builds (its ``current`` value in the table is the initial capacity); an
    activity without capital coefficients has its fixed capacity stretched the same way.
    """
    from gosplan.planning.solver import SolverStatus, solve_lp

    lay = plp.layout
    lp = _subset(plp, np.ones(len(plp.lp.c) - plp.n_base, dtype=bool))
    m, n = lp.A.shape
    A, row_lo, row_hi, col_hi = lp.A, lp.row_lower, lp.row_upper, lp.col_upper.copy()
    rows, signs, costs, caps, meta = [], [], [], [], []
    if factors:
        sup = spec.factor_supply.ravel()
        idx = np.flatnonzero(np.isfinite(sup))
        rows.append(lay.row_blocks["factor"][0] + idx)
        signs.append(-np.ones(len(idx)))
        costs.append(1.0 / np.maximum(np.abs(sup[idx]), _FLOOR))
        caps.append(np.full(len(idx), np.inf))
        meta += [("factor", str(economy.factor_ids[i % lay.F]), spec.periods[i // lay.F], sup[i]) for i in idx]
        if lay.Jc:
            # capacity rows x_{j,t} - k_{j,t} - h_{j,t} <= 0: more plant in place in year t,
            # weighted against the initial capacity of the activity
            k0 = np.tile(spec.initial_capacity[lay.cap_idx], lay.T)
            idx = np.arange(lay.T * lay.Jc)
            rows.append(lay.row_blocks["capacity"][0] + idx)
            signs.append(-np.ones(len(idx)))
            costs.append(1.0 / np.maximum(np.abs(k0), _FLOOR))
            caps.append(np.full(len(idx), np.inf))
            cap_ids = economy.activity_ids[lay.cap_idx]
            meta += [("capacity", str(cap_ids[i % lay.Jc]), spec.periods[i // lay.Jc], k0[i]) for i in idx]
        # an activity without capital is bounded by a fixed capacity: its bound becomes a
        # row x_{j,t} - h_{j,t} <= capacity_j so that it, too, can stretch
        static = np.tile(spec.static_capacity, lay.T)
        running = (np.arange(lay.T)[:, None] >= spec.start[None, :]).ravel()
        idx = np.flatnonzero(np.isfinite(static) & running)
        if len(idx):
            x0 = lay.col_blocks["x"][0]
            A = sp.vstack([A, sp.csc_array((np.ones(len(idx)), (np.arange(len(idx)), x0 + idx)), shape=(len(idx), n))], format="csc")
            row_lo = np.concatenate([row_lo, np.full(len(idx), -np.inf)])
            row_hi = np.concatenate([row_hi, static[idx]])
            col_hi[x0 + idx] = np.inf
            rows.append(m + np.arange(len(idx)))
            signs.append(-np.ones(len(idx)))
            costs.append(1.0 / np.maximum(static[idx], _FLOOR))
            caps.append(np.full(len(idx), np.inf))
            meta += [("capacity", str(economy.activity_ids[i % lay.J]), spec.periods[i // lay.J], static[i]) for i in idx]
    if floors:
        fd = spec.final_demand.ravel()
        idx = np.flatnonzero(fd > 0)
        rows.append(lay.row_blocks["balance"][0] + idx)
        signs.append(np.ones(len(idx)))
        costs.append(1.0 / np.maximum(fd[idx], _FLOOR))
        caps.append(fd[idx])
        meta += [("floor", str(economy.product_ids[i % lay.P]), spec.periods[i // lay.P], fd[i]) for i in idx]
    cols = pd.DataFrame(columns=["kind", "id", "period", "current", "change", "new", "relative"])
    if not meta:
        return cols
    r = np.concatenate(rows)
    k = len(r)
    E = sp.csc_array((np.concatenate(signs), (r, np.arange(k))), shape=(A.shape[0], k))
    from gosplan.planning.solver import LinearProgram

    el = LinearProgram(
        c=np.concatenate([np.zeros(n), np.concatenate(costs)]),
        A=sp.hstack([A, E], format="csc"),
        row_lower=row_lo,
        row_upper=row_hi,
        col_lower=np.concatenate([lp.col_lower, np.zeros(k)]),
        col_upper=np.concatenate([col_hi, np.concatenate(caps)]),
        sense="min",
    )
    res = solve_lp(el, options)
    if res.status is not SolverStatus.OPTIMAL:
        return cols
    ch = res.x[n:]
    cur = np.array([m_[3] for m_ in meta])
    sign = np.array([-1.0 if m_[0] == "floor" else 1.0 for m_ in meta])
    keep = ch > 1e-9 * np.maximum(1.0, np.abs(cur))
    out = pd.DataFrame(
        {
            "kind": [meta[i][0] for i in np.flatnonzero(keep)],
            "id": [meta[i][1] for i in np.flatnonzero(keep)],
            "period": [meta[i][2] for i in np.flatnonzero(keep)],
            "current": cur[keep],
            "change": (sign * ch)[keep],
        }
    )
    out["new"] = out["current"] + out["change"]
    out["relative"] = out["change"] / out["current"].abs()
    return out.sort_values("relative", key=np.abs, ascending=False, ignore_index=True)


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
                ch = "; ".join(f"{r.kind} {r.id} in {r.period}: {r.current:,.4g} -> {r.new:,.4g} ({r.relative:+.1%})" for r in tab.head(6).itertuples())
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


def _adjusted(plan: Any, needs: _Needs, keep: np.ndarray) -> Any:
    """The plan read back with the projects' collective consumption and direct labour made
    explicit, so that :meth:`DynamicPlan.verify` checks them: floors and consumption include
    the goods; the supply of each factor is what the projects' labour leaves."""
    goods = needs.goods[keep].sum(axis=0)
    labour = needs.labour[keep].sum(axis=0)
    spec = dataclasses.replace(plan.spec, final_demand=plan.spec.final_demand + goods, factor_supply=plan.spec.factor_supply - labour)
    return dataclasses.replace(
        plan,
        consumption=plan.consumption + goods,
        surplus=plan.surplus - goods,
        factor_supply=plan.factor_supply - labour,
        spec=spec,
    )


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
    from gosplan.planning.dynamic import (
        InfeasibleDynamicPlanError,
        MaxConsumption,
        ReachTargets,
        read_back,
        build_dynamic_lp,
        dynamic_spec,
    )
    from gosplan.planning.solver import SolverOptions, SolverStatus, solve_lp

    ids = [str(p) for p in getattr(funded, "funded", funded)]
    if len(set(ids)) != len(ids):
        raise SchemaError(f"funded: project(s) {sorted({p for p in ids if ids.count(p) > 1})} listed twice")
    order = ids if priority is None else [str(p) for p in priority]
    if sorted(order) != sorted(ids):
        raise SchemaError(f"priority must list the funded projects once each: missing {sorted(set(ids) - set(order))}, extra {sorted(set(order) - set(ids))}")
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
    fplp = _with_projects(flp, flay, needs)
    # HiGHS 1.13 finds no IIS of some programs it finds one for once consumption-level
    # columns are present: the same plan written with them is the second try
    iis_plps = [fplp]
    if not isinstance(objective, ReachTargets):
        iis_plps.append(_with_projects(*build_dynamic_lp(economy, spec, MaxConsumption()), needs))
    every = np.ones(len(ids), dtype=bool)

    def solve_with(keep: np.ndarray) -> tuple[Any, pd.Series]:
        lp, lay = build_dynamic_lp(economy, spec, objective)
        plp = _with_projects(lp, lay, needs)
        sub = _subset(plp, keep, zero_cost=False)
        res = solve_lp(sub, options)
        if res.status is not SolverStatus.OPTIMAL:
            raise GosplanError(
                f"the plan with the funded projects was not solved to optimality: {res.status.value} ({res.solver_status}); "
                "an unbounded plan lacks a limit (factor supply, capacity); otherwise raise the time limit"
            )
        # the row y_q >= 1 is at its lower bound; HiGHS's dual of a maximisation is <= 0 there
        dual = res.row_duals[plp.m_projects :] * (1.0 if sub.sense == "min" else -1.0)
        costs = pd.Series(dual, index=pd.Index(ids, name="project"), name="shadow_cost")[keep]
        return _adjusted(read_back(economy, spec, objective, sub, lay, res), needs, keep), costs

    if _is_feasible(_subset(fplp, every), options):
        plan, costs = solve_with(every)
        emb = pd.DataFrame(_embodied(plan, economy, goods_all.sum(axis=0)), index=per.copy(), columns=economy.factor_ids.copy())
        return InvestmentReport(True, tuple(ids), table, req, goods, labour, emb, plan, priority=tuple(ids), shadow_costs=costs)

    none = np.zeros(len(ids), dtype=bool)
    if not _is_feasible(_subset(fplp, none), options):
        alone = _clash(iis_plps, economy, spec, needs, none, options)
        raise InfeasibleDynamicPlanError(
            "the plan is impossible even without the funded projects: its own floors and limits clash ("
            + ("; ".join(alone.limits["constraint"]) if alone is not None and len(alone.limits) else "see plan_dynamic's diagnosis")
            + "); lower the floors or allow more factors or initial capacity before imposing projects",
            list(alone.limits["constraint"]) if alone is not None else [],
        )
    clash = _clash(iis_plps, economy, spec, needs, every, options)
    relaxations: dict[str, pd.DataFrame] = {}
    if relax or clash is None:
        relaxations["limits"] = _least_change(fplp, economy, spec, floors=False, factors=True, options=options)
        relaxations["floors"] = _least_change(fplp, economy, spec, floors=True, factors=False, options=options)
    if clash is None:
        clash = _elastic_clash(fplp, needs, relaxations["limits"], options)
    suggestion = suggested_plan = costs = None
    if suggest:
        keep = _priority_subset(lambda k: _is_feasible(_subset(fplp, k), options), len(ids))
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
