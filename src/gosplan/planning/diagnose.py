"""Why a plan is impossible, in the economy's own terms.

Two answers. *Which targets and which limits clash*: an irreducible infeasible
subset (IIS) of the plan's constraints (Chinneck 2008, ch. 6; computed by HiGHS),
read back as the products whose targets take part, the factor limits,
capacities and trade limits that take part, and the intermediate products whose
balances link them. *The least change that makes the plan possible*: an elastic
LP (Chinneck 2008, ch. 7: elastic programming) that lets targets fall and limits
rise and minimises the weighted sum of *relative* changes,

    min  sum_i w_i e_i / |d_i|  +  sum_f g_f / |L_f|  +  sum_j k_j / |cap_j|  +  sum_r h_r / |T_r|
    s.t. (make - use) z + e >= d,  factor_use z - g <= L,  z - k <= cap,  trade z - h <= T,

solved once with only the targets elastic and once with only the limits elastic,
so a planner sees both ways out: cut these targets by so much, or find so much
more of these factors and capacities.

The one engine for every plan: :func:`elastic_change` (any program, any bounds allowed
to move), :func:`is_feasible`, and the IIS of the solver seam
(:func:`gosplan.planning.solver.iis_detail`), read back here for one-period plans
(:func:`diagnose`), in :func:`dynamic_clash` for multi-period ones and in
:mod:`gosplan.planning.dynamic.projects` for funded projects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import GosplanError, SchemaError
from gosplan.planning.model import PlanModel, build_model
from gosplan.planning.solver import LinearProgram, SolverOptions, SolverStatus, iis_detail, solve_lp
from gosplan.planning.targets import ResolvedTargets, Targets

#: Relative weights divide by max(|bound|, this) so that a zero limit is still priced.
FLOOR = 1e-6


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Why a plan is impossible and the least changes that would make it possible.

    ``targets``: products whose floors (and public goods) belong to the conflict,
    with their requirement. ``limits``: factor limits (kind ``factor``),
    capacities (``capacity``) and trade limits (``trade``) in the conflict.
    ``linking``: products whose balances connect them (intermediate goods).
    ``relaxations``: ``{"targets": table, "limits": table}`` of the least relative
    change of each kind alone (kind, id, current, change, new, relative); a table
    is empty when that kind of change alone cannot help.
    """

    feasible: bool
    targets: pd.DataFrame
    limits: pd.DataFrame
    linking: tuple[str, ...]
    relaxations: dict[str, pd.DataFrame] = field(default_factory=dict)
    method: str = "iis"

    @property
    def target_ids(self) -> set[str]:
        return set(self.targets["id"]) if len(self.targets) else set()

    @property
    def limit_ids(self) -> set[tuple[str, str]]:
        return set(zip(self.limits["kind"], self.limits["id"], strict=True)) if len(self.limits) else set()

    def message(self) -> str:
        """The diagnosis in words."""
        if self.feasible:
            return "the plan is possible: no conflict between targets and limits"
        t = ", ".join(f"{r.id} ({r.required:g})" for r in self.targets.itertuples()) or "(none)"
        lim = ", ".join(f"{r.kind} {r.id} ({r.limit:g})" for r in self.limits.itertuples()) or "(none)"
        lines = [f"the plan is impossible: the targets for {t} cannot be met within {lim}"]
        if self.linking:
            shown = ", ".join(self.linking[:8]) + (" ..." if len(self.linking) > 8 else "")
            lines.append(f"  linked through the balances of {shown}")
        for kind, tab in self.relaxations.items():
            if len(tab):
                ch = "; ".join(
                    f"{r.id}: {r.current:g} -> {r.new:g} ({r.relative:+.1%})" for r in tab.head(8).itertuples()
                )
                lines.append(f"  least change of {kind} alone: {ch}")
            else:
                lines.append(f"  changing {kind} alone cannot make the plan possible")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()


def _zero_cost_lp(model: PlanModel) -> LinearProgram:
    return model.program(np.zeros(model.n_cols), "min")


def _iis(model: PlanModel, options: SolverOptions) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]] | None:
    e, t = model.economy, model.targets
    d = iis_detail(_zero_cost_lp(model), options)
    if len(d.rows) == 0 and len(d.cols) == 0:
        return None
    bal, fac = model.rows["balance"], model.rows["factor"]
    tr = model.rows.get("trade")
    targets, limits, linking = [], [], []
    for r, side in zip(d.rows, d.row_sides, strict=True):
        if bal.start <= r < bal.stop:
            i = r - bal.start
            pid = str(e.product_ids[i])
            if t.required[i] > 0 and side in ("lower", "boxed"):
                targets.append({"id": pid, "required": float(t.required[i]), "floor": float(t.floor[i]),
                                "public": float(t.public[i])})
            else:
                linking.append(pid)
        elif fac.start <= r < fac.stop:
            f = r - fac.start
            limits.append({"kind": "factor", "id": str(e.factor_ids[f]), "limit": float(model.limits[f])})
        elif tr is not None and tr.start <= r < tr.stop:
            k = r - tr.start
            a, b = model.trade_pairs[k]
            limits.append({"kind": "trade", "id": f"{a}->{b}", "limit": float(model.trade_limits[k])})
    lv = model.cols["levels"]
    for c, side in zip(d.cols, d.col_sides, strict=True):
        if lv.start <= c < lv.stop and side in ("upper", "boxed") and np.isfinite(model.capacities[c - lv.start]):
            j = c - lv.start
            limits.append({"kind": "capacity", "id": str(e.activity_ids[j]), "limit": float(model.capacities[j])})
    tcols = ["id", "required", "floor", "public"]
    lcols = ["kind", "id", "limit"]
    return pd.DataFrame(targets, columns=tcols), pd.DataFrame(limits, columns=lcols), tuple(linking)


@dataclass(frozen=True, eq=False)
class Stretch:
    """One group of bounds of a program that an elastic program may move.

    ``rows``: rows whose bound moves (an elastic column with ``sign`` in each: ``+1``
    relaxes a ``>=`` row, ``-1`` a ``<=`` row); or ``cols``: columns whose upper bound
    moves (each becomes a row ``x_j - h_j <= upper_j``, its bound lifted). ``labels``:
    a frame of what each bound is (``kind``, ``id`` and any more columns); ``current``
    its value (the change is weighted by ``weight / max(|current|, FLOOR)``);
    ``cap`` the most it may move; ``cut``: the bound falls (a target or floor), so the
    change is reported negative."""

    labels: pd.DataFrame
    current: np.ndarray
    rows: np.ndarray | None = None
    sign: float = 1.0
    cols: np.ndarray | None = None
    cap: np.ndarray | None = None
    weight: np.ndarray | None = None
    cut: bool = False


def elastic_change(lp: LinearProgram, stretches: list[Stretch], options: SolverOptions = SolverOptions()) -> pd.DataFrame | None:
    """The least weighted relative change of the bounds in ``stretches`` that makes ``lp``
    feasible: elastic programming (Chinneck 2008, *Feasibility and Infeasibility in
    Optimization*, ch. 7),

        min sum_i w_i h_i / max(|b_i|, FLOOR)  s.t. the program with each b_i moved by h_i >= 0.

    ``lp``'s own objective is dropped. Returns one row per bound that moves (its labels,
    ``current``, ``change`` (negative for a cut), ``new``, ``relative``), largest relative
    change first; ``None`` when no stretch is given or no change of them can help."""
    stretches = [st for st in stretches if len(st.current)]
    if not stretches:
        return None
    m, n = lp.A.shape
    A, row_lo, row_hi, col_hi = lp.A, lp.row_lower, lp.row_upper, lp.col_upper.copy()
    cols, costs, caps, extra = [], [], [], []  # extra: rows x_j - h <= upper_j, in order
    n_extra = 0
    for st in stretches:
        k = len(st.current)
        if st.cols is not None:
            rows = m + n_extra + np.arange(k)
            extra.append(st.cols)
            n_extra += k
            sign = -1.0
        else:
            rows, sign = np.asarray(st.rows), st.sign
        cols.append((rows, np.full(k, sign)))
        w = np.ones(k) if st.weight is None else np.asarray(st.weight, dtype=float)
        costs.append(w / np.maximum(np.abs(st.current), FLOOR))
        caps.append(np.full(k, np.inf) if st.cap is None else np.asarray(st.cap, dtype=float))
    if extra:
        bound = np.concatenate(extra)
        B = sp.csc_array((np.ones(len(bound)), (np.arange(len(bound)), bound)), shape=(len(bound), n))
        A = sp.vstack([A, B], format="csc")
        row_lo = np.concatenate([row_lo, np.full(len(bound), -np.inf)])
        row_hi = np.concatenate([row_hi, col_hi[bound]])
        col_hi[bound] = np.inf
    r = np.concatenate([c[0] for c in cols])
    k = len(r)
    E = sp.csc_array((np.concatenate([c[1] for c in cols]), (r, np.arange(k))), shape=(A.shape[0], k))
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
        return None
    change = res.x[n:]
    cur = np.concatenate([np.asarray(st.current, dtype=float) for st in stretches])
    sign = np.concatenate([np.full(len(st.current), -1.0 if st.cut else 1.0) for st in stretches])
    keep = change > 1e-9 * np.maximum(1.0, np.abs(cur))
    labels = pd.concat([st.labels.reset_index(drop=True) for st in stretches], ignore_index=True)
    df = labels[keep].reset_index(drop=True)
    df["current"] = cur[keep]
    df["change"] = (sign * change)[keep]
    df["new"] = df["current"] + df["change"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["relative"] = df["change"] / df["current"].abs()
    return df.sort_values("relative", key=np.abs, ascending=False, ignore_index=True)


def is_feasible(lp: LinearProgram, options: SolverOptions = SolverOptions()) -> bool:
    """Whether ``lp`` has a feasible point, decided by HiGHS.

    A program at the edge of feasibility can leave one method undecided ("unknown"):
    the dual simplex without presolve and then the interior point method try again;
    raises :class:`GosplanError` when none decides."""
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


def least_change(
    model: PlanModel,
    *,
    targets: bool = True,
    limits: bool = True,
    options: SolverOptions = SolverOptions(),
) -> pd.DataFrame | None:
    """The least weighted relative change of targets and/or limits that makes the
    plan possible (the elastic LP of the module docstring, by :func:`elastic_change`).
    ``None`` when no change of the allowed kinds can."""
    e, t = model.economy, model.targets
    J = len(e.activities)
    n_rows = model.rows.get("trade", model.rows["factor"]).stop
    base = LinearProgram(
        c=np.zeros(J),
        A=sp.csc_array(model.A[:, model.cols["levels"]][:n_rows]),
        row_lower=model.row_lower[:n_rows],
        row_upper=model.row_upper[:n_rows],
        col_lower=np.zeros(J),
        col_upper=np.asarray(model.capacities, dtype=float),
    )

    def labels(kind: str, ids: Any) -> pd.DataFrame:
        return pd.DataFrame({"kind": kind, "id": np.asarray(list(map(str, ids)), dtype=object)}, columns=["kind", "id"])

    stretches = []
    if targets:
        i = np.flatnonzero(t.required > 0)
        stretches.append(Stretch(labels("target", e.product_ids[i]), t.required[i], rows=i + model.rows["balance"].start,
                                 sign=1.0, cap=t.required[i], weight=t.weight[i], cut=True))
    if limits:
        f = np.flatnonzero(np.isfinite(model.limits))
        stretches.append(Stretch(labels("factor", e.factor_ids[f]), model.limits[f], rows=model.rows["factor"].start + f, sign=-1.0))
        if "trade" in model.rows:
            k = np.arange(len(model.trade_pairs))
            stretches.append(Stretch(labels("trade", [f"{a}->{b}" for a, b in model.trade_pairs]), model.trade_limits,
                                     rows=model.rows["trade"].start + k, sign=-1.0))
        capped = np.flatnonzero(np.isfinite(model.capacities))
        # capacities become rows z_j - k_j <= cap_j so that they, too, can stretch
        stretches.append(Stretch(labels("capacity", e.activity_ids[capped]), model.capacities[capped], cols=capped))
    return elastic_change(base, stretches, options)


def dynamic_clash(lp: LinearProgram, layout: Any, economy: Economy, spec: Any, objective: Any,
                  options: SolverOptions, found: tuple[Any, Any] | None = None) -> tuple[list[str], str]:
    """The clashing constraints of an impossible multi-period plan, in words
    (:func:`gosplan.planning.dynamic.lp.row_name`), and a note when none could be named.

    ``found``: rows and columns already known to clash (the structured method's row test
    of the floors alone); otherwise HiGHS's irreducible infeasible subset, which fails
    on some large programs."""
    from gosplan.planning import solver
    from gosplan.planning.dynamic.lp import col_name, row_name

    if found is None:
        try:
            found = solver.irreducible_infeasible_subset(lp, options)
        except SchemaError:
            return [], " (HiGHS could not name the clashing constraints)"
    rows, cols = found
    names = [row_name(int(i), layout, economy, spec.periods, objective) for i in rows]
    return names + [col_name(int(j), layout, economy, spec.periods) for j in cols], ""


def diagnose(
    economy: Economy,
    targets: Targets | ResolvedTargets,
    *,
    limits: Mapping[str, float] | pd.Series | None = None,
    capacities: Mapping[str, float] | pd.Series | None = None,
    trade_limits: Mapping[tuple[str, str], float] | None = None,
    method: str = "auto",
    options: SolverOptions = SolverOptions(),
) -> Diagnosis:
    """Say why no plan meets ``targets`` within the limits, and what would.

    ``method``: ``"iis"`` (irreducible infeasible subset plus both relaxations),
    ``"elastic"`` (relaxations only: for very large economies, where the IIS
    search costs many solves; the conflict is then read off the relaxations),
    or ``"auto"`` (IIS up to 20,000 activities).
    """
    if method not in ("auto", "iis", "elastic"):
        raise SchemaError(f"diagnose: method must be auto, iis or elastic, not {method!r}")
    model = build_model(economy, targets, limits=limits, capacities=capacities, trade_limits=trade_limits)
    use_iis = method == "iis" or (method == "auto" and len(economy.activities) <= 20_000)
    relax = {
        "targets": least_change(model, targets=True, limits=False, options=options),
        "limits": least_change(model, targets=False, limits=True, options=options),
    }
    relaxations = {k: (v if v is not None else pd.DataFrame(columns=["kind", "id", "current", "change", "new", "relative"]))
                   for k, v in relax.items()}
    if use_iis:
        found = _iis(model, options)
        if found is None:
            return Diagnosis(True, pd.DataFrame(columns=["id", "required", "floor", "public"]),
                             pd.DataFrame(columns=["kind", "id", "limit"]), (), {}, "iis")
        tg, lim, linking = found
        return Diagnosis(False, tg, lim, linking, relaxations, "iis")
    if relax["targets"] is not None and len(relax["targets"]) == 0 and relax["limits"] is not None and len(relax["limits"]) == 0:
        return Diagnosis(True, pd.DataFrame(columns=["id", "required", "floor", "public"]),
                         pd.DataFrame(columns=["kind", "id", "limit"]), (), {}, "elastic")
    t = model.targets
    rt = relaxations["targets"]
    tg = pd.DataFrame(
        {"id": rt["id"], "required": [float(t.required[economy.product_ids.get_loc(i)]) for i in rt["id"]]}
    )
    rl = relaxations["limits"]
    lim = pd.DataFrame({"kind": rl["kind"], "id": rl["id"], "limit": rl["current"]})
    return Diagnosis(False, tg, lim, (), relaxations, "elastic")
