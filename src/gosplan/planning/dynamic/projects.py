"""Funded projects imposed on a multi-year plan's program, through its public
:class:`~gosplan.planning.dynamic.lp.Layout`: one column per project held at 1 by a row of
its own (so an irreducible infeasible subset names the projects in it, and the row's dual
prices the project), the projects' goods in the balance rows, their labour in the factor
rows, and a link row per (activity, start period) that holds the plan's new capacity at or
above the projects'. Then: is the plan with a set of them possible (:func:`kept`,
:func:`gosplan.planning.diagnose.is_feasible`), which projects and limits clash
(:func:`clash`, :func:`elastic_clash`), the least change of limits or floors that carries
them (:func:`least_change`), and the plan that carries a set (:func:`plan_with_projects`).
The table of projects and the report are :mod:`gosplan.democracy.investment`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import GosplanError, SchemaError
from gosplan.planning.dynamic.lp import Layout, build_dynamic_lp
from gosplan.planning.dynamic.result import DynamicPlan, read_back
from gosplan.planning.dynamic.spec import DynamicSpec, Objective

_LIMIT_COLUMNS = ["kind", "id", "period", "limit", "constraint"]


@dataclass(frozen=True, eq=False)
class ProjectNeeds:
    """Funded projects' needs as plain arrays aligned to a plan (``n`` projects)."""

    ids: list[str]
    goods: np.ndarray  # (n, T, P) collective consumption (projects without capacity)
    capital_goods: np.ndarray  # (n, T, P) capital goods of capacity projects
    labour: np.ndarray  # (n, T, F) direct labour
    capacity: list[tuple[int, int, float]]  # per project: (activity position or -1, start period, capacity)
    ready: list[int]  # per project: first period of its capacity, or the period after it ends


@dataclass(frozen=True, eq=False)
class ProjectProgram:
    """A plan's program with the projects' blocks: columns ``projects`` (``y_q``), rows
    ``project_link`` (one per ``link`` entry: capital activity position, start period)
    and ``project`` (``y_q >= 1``)."""

    lp: Any
    layout: Layout
    link: list[tuple[int, int]]


def impose_projects(lp: Any, layout: Layout, needs: ProjectNeeds) -> ProjectProgram:
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
    n = len(needs.ids)
    m = lp.A.shape[0]
    rows, cols, vals = [], [], []
    q, t, p = np.nonzero(needs.goods)
    rows.append(layout.row("balance", t, p))
    cols.append(q)
    vals.append(-needs.goods[q, t, p])
    q, t, f = np.nonzero(needs.labour)
    rows.append(layout.row("factor", t, f))
    cols.append(q)
    vals.append(needs.labour[q, t, f])
    Y = sp.csc_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n)
    ) if n else sp.csc_array((m, 0))
    lp, layout = layout.add_columns(lp, "projects", Y)
    nb = layout.col_blocks["projects"][0]
    cap_pos = {int(j): k for k, j in enumerate(layout.cap_idx)}
    link: list[tuple[int, int]] = []
    lr, lc, lv = [], [], []
    for qi, (j, s, c) in enumerate(needs.capacity):
        if j < 0:
            continue
        key = (j, s)
        if key not in link:
            link.append(key)
            lr.append(len(link) - 1)
            lc.append(int(layout.col("z", s, cap_pos[j])))
            lv.append(1.0)
        lr.append(link.index(key))
        lc.append(nb + qi)
        lv.append(-c)
    ncols = lp.A.shape[1]
    lp, layout = layout.add_rows(lp, "project_link", sp.csc_array((lv, (lr, lc)), shape=(len(link), ncols)), 0.0, np.inf)
    on = sp.csc_array((np.ones(n), (np.arange(n), nb + np.arange(n))), shape=(n, ncols))
    lp, layout = layout.add_rows(lp, "project", on, 1.0, np.inf)
    return ProjectProgram(lp, layout, link)


def kept(plp: ProjectProgram, keep: np.ndarray, zero_cost: bool = False) -> Any:
    """The same program with the projects outside ``keep`` switched off (y fixed at 0).

    Feasibility is checked on the least-factor-cost program, not with a zero objective:
    HiGHS 1.13 leaves zero-objective programs near the edge of feasibility undecided
    ("unknown") far more often, and takes ten times longer on them (bench_investment).
    """
    lp = plp.lp
    hi = lp.col_upper.copy()
    hi[plp.layout.cols("projects")] = np.where(keep, np.inf, 0.0)
    rlo = lp.row_lower.copy()
    rlo[plp.layout.rows("project")] = keep.astype(float)
    c = np.zeros_like(lp.c) if zero_cost else lp.c
    return dataclasses.replace(lp, c=c, col_upper=hi, row_lower=rlo)


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


def clash(
    plps: Sequence[ProjectProgram], economy: Economy, spec: DynamicSpec, needs: ProjectNeeds, keep: np.ndarray, options: Any
) -> Clash | None:
    """The IIS of the first of ``plps`` (the same plan written two ways) for which HiGHS
    computes one, read back in the economy's terms; ``None`` if it computes none."""
    from gosplan.planning.solver import iis_detail

    periods = spec.periods
    for plp in plps:
        try:
            d = iis_detail(kept(plp, keep, zero_cost=True), options)
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

    for i, side in zip(d.rows, d.row_sides, strict=True):
        i = int(i)
        name, r = lay.row_block(i)
        if name == "project":
            projects.append(needs.ids[r])
            continue
        if name == "project_link":
            j, s = plp.link[r]
            linking.append(f"new capacity of {economy.activity_ids[j]!r} started in {periods[s]!r} covers the funded projects'")
            continue
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
        name, r = lay.col_block(c)
        if name == "projects":
            continue  # y_q >= 0: a project is named by its row y_q >= 1
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


def elastic_clash(plp: ProjectProgram, needs: ProjectNeeds, limits: pd.DataFrame, options: Any) -> Clash:
    """Where no IIS is to be had: carry as much of every project as the plan can
    (``max sum_q y_q``, ``0 <= y_q <= 1``) and name those not carried in full, with the
    limits that the least change of limits stretches."""
    from gosplan.planning.solver import SolverStatus, solve_lp

    lp = kept(plp, np.ones(len(needs.ids), dtype=bool))
    y = plp.layout.cols("projects")
    c = np.zeros_like(lp.c)
    c[y] = 1.0
    hi = lp.col_upper.copy()
    hi[y] = 1.0
    rlo = lp.row_lower.copy()
    rlo[plp.layout.rows("project")] = 0.0
    res = solve_lp(dataclasses.replace(lp, c=c, col_upper=hi, row_lower=rlo, sense="max"), options)
    short = () if res.status is not SolverStatus.OPTIMAL else tuple(
        p for p, y in zip(needs.ids, res.x[y], strict=True) if y < 1.0 - 1e-7
    )
    lim = pd.DataFrame(
        {
            "kind": limits["kind"],
            "id": limits["id"],
            "period": limits["period"],
            "limit": limits["current"],
            "constraint": [
                f"{k} {i!r} in {t!r} ({v:g})"
                for k, i, t, v in zip(limits["kind"], limits["id"], limits["period"], limits["current"], strict=True)
            ],
        },
        columns=_LIMIT_COLUMNS,
    )
    return Clash(short, lim, (), "elastic")


def least_change(plp: ProjectProgram, economy: Economy, spec: DynamicSpec, *, floors: bool, factors: bool, options: Any) -> pd.DataFrame:
    """The least weighted relative change of limits (factor supplies and capacities) or of
    floors that carries every funded project, by
    :func:`gosplan.planning.diagnose.elastic_change`:

        min sum_{f,t} g_{f,t} / supply_{f,t} + sum_{j,t} h_{j,t} / k_{j,1} + sum_{p,t} e_{p,t} / floor_{p,t}
        s.t. factor_use x_t + labour_t - g_t <= supply_t,  x_{j,t} - k_{j,t} - h_{j,t} <= 0,
             balance_t + e_t >= floor_t,  0 <= e <= floor.

    The capacity change ``h`` is plant in place in that year beyond what the plan's
    investment builds (its ``current`` value in the table is the initial capacity); an
    activity without capital coefficients has its fixed capacity stretched the same way.
    """
    from gosplan.planning.diagnose import Stretch, elastic_change

    lay = plp.layout
    y = lay.cols("projects")
    lp = kept(plp, np.ones(y.stop - y.start, dtype=bool))

    def labels(kind: str, ids: Any, periods: Any) -> pd.DataFrame:
        return pd.DataFrame({"kind": kind, "id": list(map(str, ids)), "period": list(periods)}, columns=["kind", "id", "period"])

    stretches = []
    if factors:
        sup = spec.factor_supply.ravel()
        idx = np.flatnonzero(np.isfinite(sup))
        stretches.append(Stretch(labels("factor", economy.factor_ids[idx % lay.F], spec.periods[idx // lay.F]), sup[idx],
                                 rows=lay.rows("factor").start + idx, sign=-1.0))
        if lay.Jc:
            # capacity rows x_{j,t} - k_{j,t} - h_{j,t} <= 0: more plant in place in year t,
            # weighted against the initial capacity of the activity
            k0 = np.tile(spec.initial_capacity[lay.cap_idx], lay.T)
            idx = np.arange(lay.T * lay.Jc)
            cap_ids = economy.activity_ids[lay.cap_idx]
            stretches.append(Stretch(labels("capacity", cap_ids[idx % lay.Jc], spec.periods[idx // lay.Jc]), k0,
                                     rows=lay.rows("capacity").start + idx, sign=-1.0))
        # an activity without capital is bounded by a fixed capacity: its bound becomes a
        # row x_{j,t} - h_{j,t} <= capacity_j so that it, too, can stretch
        static = np.tile(spec.static_capacity, lay.T)
        running = (np.arange(lay.T)[:, None] >= spec.start[None, :]).ravel()
        idx = np.flatnonzero(np.isfinite(static) & running)
        stretches.append(Stretch(labels("capacity", economy.activity_ids[idx % lay.J], spec.periods[idx // lay.J]),
                                 static[idx], cols=lay.cols("x").start + idx))
    if floors:
        fd = spec.final_demand.ravel()
        idx = np.flatnonzero(fd > 0)
        stretches.append(Stretch(labels("floor", economy.product_ids[idx % lay.P], spec.periods[idx // lay.P]), fd[idx],
                                 rows=lay.rows("balance").start + idx, sign=1.0, cap=fd[idx], cut=True))
    out = elastic_change(lp, stretches, options)
    if out is None:
        return pd.DataFrame(columns=["kind", "id", "period", "current", "change", "new", "relative"])
    return out


def _adjusted(plan: DynamicPlan, needs: ProjectNeeds, keep: np.ndarray) -> DynamicPlan:
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


def plan_with_projects(economy: Economy, spec: DynamicSpec, objective: Objective, needs: ProjectNeeds, keep: np.ndarray,
                       options: Any) -> tuple[DynamicPlan, pd.Series]:
    """The plan with the projects in ``keep`` imposed, and each one's shadow cost (the dual
    of its row ``y_q >= 1``, in the objective's units, positive when it costs the plan).

    The plan reads back with the projects' collective consumption and direct labour made
    explicit, so that :meth:`DynamicPlan.verify` checks them."""
    from gosplan.planning.solver import SolverStatus, solve_lp

    lp, lay = build_dynamic_lp(economy, spec, objective)
    plp = impose_projects(lp, lay, needs)
    sub = kept(plp, keep, zero_cost=False)
    res = solve_lp(sub, options)
    if res.status is not SolverStatus.OPTIMAL:
        raise GosplanError(
            f"the plan with the funded projects was not solved to optimality: {res.status.value} ({res.solver_status}); "
            "an unbounded plan lacks a limit (factor supply, capacity); otherwise raise the time limit"
        )
    # the row y_q >= 1 is at its lower bound; HiGHS's dual of a maximisation is <= 0 there
    dual = res.row_duals[plp.layout.rows("project")] * (1.0 if sub.sense == "min" else -1.0)
    costs = pd.Series(dual, index=pd.Index(needs.ids, name="project"), name="shadow_cost")[keep]
    return _adjusted(read_back(economy, spec, objective, sub, plp.layout, res), needs, keep), costs
