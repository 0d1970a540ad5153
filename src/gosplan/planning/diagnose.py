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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import SchemaError
from gosplan.planning.model import PlanModel, build_model
from gosplan.planning.solver import LinearProgram, SolverOptions, SolverStatus, iis_detail, solve_lp
from gosplan.planning.targets import ResolvedTargets, Targets

#: Relative weights divide by max(|bound|, this) so that a zero limit is still priced.
_FLOOR = 1e-6


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


def least_change(
    model: PlanModel,
    *,
    targets: bool = True,
    limits: bool = True,
    options: SolverOptions = SolverOptions(),
) -> pd.DataFrame | None:
    """The least weighted relative change of targets and/or limits that makes the
    plan possible (the elastic LP of the module docstring). ``None`` when no
    change of the allowed kinds can."""
    e, t = model.economy, model.targets
    J = len(e.activities)
    base = model.A[:, model.cols["levels"]]
    n_rows = model.rows.get("trade", model.rows["factor"]).stop
    base = sp.csc_array(base[:n_rows])
    lo = model.row_lower[:n_rows].copy()
    hi = model.row_upper[:n_rows].copy()
    blocks, costs, kinds, ids, current, col_hi = [base], [np.zeros(J)], [], [], [], [np.asarray(model.capacities)]
    col_lo = [np.zeros(J)]

    def add(rows: np.ndarray, sign: float, bound: np.ndarray, kind: str, labels: np.ndarray, weight: np.ndarray) -> None:
        k = len(rows)
        if not k:
            return
        blocks.append(sp.csc_array((np.full(k, sign), (rows, np.arange(k))), shape=(n_rows, k)))
        costs.append(weight / np.maximum(np.abs(bound), _FLOOR))
        col_lo.append(np.zeros(k))
        col_hi.append(np.full(k, np.inf))
        kinds.extend([kind] * k)
        ids.extend(map(str, labels))
        current.extend(bound.tolist())

    if targets:
        i = np.flatnonzero(t.required > 0)
        add(i, 1.0, t.required[i], "target", e.product_ids.to_numpy()[i], t.weight[i])
        if len(i):
            col_hi[-1] = t.required[i].copy()
    cap_rows = None
    if limits:
        f = np.flatnonzero(np.isfinite(model.limits))
        add(model.rows["factor"].start + f, -1.0, model.limits[f], "factor", e.factor_ids.to_numpy()[f], np.ones(len(f)))
        if "trade" in model.rows:
            k = np.arange(len(model.trade_pairs))
            add(model.rows["trade"].start + k, -1.0, model.trade_limits, "trade",
                np.array([f"{a}->{b}" for a, b in model.trade_pairs], dtype=object), np.ones(len(k)))
        capped = np.flatnonzero(np.isfinite(model.capacities))
        if len(capped):
            cap_rows = capped
    if len(blocks) == 1 and cap_rows is None:
        return None
    A = sp.hstack(blocks, format="csc")
    c = np.concatenate(costs)
    clo, chi = np.concatenate(col_lo), np.concatenate(col_hi)
    n_el = A.shape[1] - J
    if cap_rows is not None:
        # capacities become rows z_j - k_j <= cap_j so that they, too, can stretch
        k = len(cap_rows)
        top = sp.hstack([A, sp.csc_array((n_rows, k))], format="csc")
        bottom = sp.hstack(
            [
                sp.csc_array((np.ones(k), (np.arange(k), cap_rows)), shape=(k, J)),
                sp.csc_array((k, n_el)),
                sp.csc_array(-sp.identity(k)),
            ],
            format="csc",
        )
        A = sp.vstack([top, bottom], format="csc")
        lo = np.concatenate([lo, np.full(k, -np.inf)])
        hi = np.concatenate([hi, model.capacities[cap_rows]])
        c = np.concatenate([c, 1.0 / np.maximum(np.abs(model.capacities[cap_rows]), _FLOOR)])
        clo = np.concatenate([clo, np.zeros(k)])
        chi = np.concatenate([chi, np.full(k, np.inf)])
        chi[:J] = np.inf
        kinds.extend(["capacity"] * k)
        ids.extend(map(str, e.activity_ids.to_numpy()[cap_rows]))
        current.extend(model.capacities[cap_rows].tolist())
    lp = LinearProgram(c=c, A=A, row_lower=lo, row_upper=hi, col_lower=clo, col_upper=chi)
    res = solve_lp(lp, options)
    if res.status is not SolverStatus.OPTIMAL:
        return None
    change = res.x[J:]
    cur = np.asarray(current, dtype=float)
    sign = np.where(np.asarray(kinds) == "target", -1.0, 1.0)
    keep = change > 1e-9 * np.maximum(1.0, np.abs(cur))
    df = pd.DataFrame(
        {
            "kind": np.asarray(kinds, dtype=object)[keep],
            "id": np.asarray(ids, dtype=object)[keep],
            "current": cur[keep],
            "change": (sign * change)[keep],
            "new": (cur + sign * change)[keep],
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        df["relative"] = df["change"] / df["current"].abs()
    return df.sort_values("relative", key=np.abs, ascending=False, ignore_index=True)


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
