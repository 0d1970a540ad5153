"""The best one-period plan: build, solve, read back.

:func:`optimal_plan` is the three steps that never mix (STYLE.md): the model code
turns the labelled economy and targets into plain arrays
(:func:`gosplan.planning.model.build_model`), the seam solves them
(:func:`gosplan.planning.solver.solve_lp`), and this module writes the solution
back onto labels as a :class:`~gosplan.planning.plan.Plan`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from gosplan.economy import Economy
from gosplan.planning.model import PlanModel, build_model, describe_shape
from gosplan.planning.objectives import Lexicographic, parse_objective, stage_bound
from gosplan.planning.plan import BINDING_RTOL, Plan, digest, economy_digest, targets_digest, versions
from gosplan.planning.solver import LPResult, SolverOptions, SolverStatus, solve_lp
from gosplan.planning.targets import Targets

_INFEASIBLE = (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED)


def optimal_plan(
    economy: Economy,
    targets: Targets,
    objective: str | object = "labour",
    *,
    limits: Mapping[str, float] | pd.Series | None = None,
    capacities: Mapping[str, float] | pd.Series | None = None,
    trade_limits: Mapping[tuple[str, str], float] | None = None,
    options: SolverOptions = SolverOptions(),
    progress: Callable[[dict[str, Any]], bool | None] | None = None,
    start: np.ndarray | pd.Series | None = None,
    diagnose: bool = True,
) -> Plan:
    """The best plan the economy can carry out for ``targets`` under ``objective``.

    Parameters
    ----------
    economy : the economy (activities may be alternative techniques or joint products).
    targets : floors, basket, public goods, weights.
    objective : an objective of :mod:`gosplan.planning.objectives` or its short
        name (``labour``, ``factor:<id>``, ``basket``, ``harmony``, ``floors``, or a
        lexicographic list such as ``floors,basket``).
    limits, capacities : override factor availability / activity capacity by id.
    trade_limits : ``{(from_region, to_region): limit}`` on intermediate inputs.
    options : solver method, time limit, tolerance, threads.
    progress : callback receiving the solver's progress dicts (plus ``stage``).
    start : activity levels to start from (e.g. a Leontief solution).
    diagnose : for an impossible plan, attach a diagnosis (IIS and least relaxation).

    Returns
    -------
    Plan; check ``plan.status`` (``SolverStatus.OPTIMAL``) and ``plan.verify``.
    With ``method="pdlp"`` or an interior point without crossover the plan is
    ``SolverStatus.APPROXIMATE`` (never ``ok``, and a lexicographic objective
    stops at that stage) unless its accuracy, recomputed from the arrays and kept
    in ``plan.solver["accuracy"]``, is that of an exact solve (see
    :func:`gosplan.planning.solver.solve_lp`).
    """
    t_build = time.perf_counter()
    obj = parse_objective(objective)
    resolved = targets.resolve(economy)
    model = build_model(
        economy,
        resolved,
        limits=limits,
        capacities=capacities,
        trade_limits=trade_limits,
        **obj.needs(economy),
    )
    build_seconds = time.perf_counter() - t_build
    stages = obj.stages if isinstance(obj, Lexicographic) else (obj,)
    rel_tol = obj.rel_tol if isinstance(obj, Lexicographic) else 0.0
    extra: list[tuple[np.ndarray, float, float]] = []
    stage_info: list[dict[str, Any]] = []
    x0 = None
    if start is not None:
        s = start.reindex(economy.activity_ids).to_numpy(dtype=float) if isinstance(start, pd.Series) else np.asarray(start, dtype=float)
        x0 = np.zeros(model.n_cols)
        x0[model.cols["levels"]] = s
    res: LPResult | None = None
    sense = "min"
    for k, stage in enumerate(stages):
        c, sense = stage.cost(model)
        lp = model.program(c, sense, tuple(extra))
        cb = None
        if progress is not None:
            def cb(d: dict[str, Any], _k: int = k) -> bool | None:
                return progress({**d, "stage": _k, "stages": len(stages)})
        res, fallback = None, ""
        if len(stages) == 1 and options.method in ("auto", "substitution"):
            res, fallback = _try_substitution(model, c, lp, options, cb)
        if res is None:
            res = solve_lp(lp, options, cb, start=x0 if k == 0 else None)
            if fallback:
                res.info["substitution_failure"] = fallback
        stage_info.append(
            {
                "objective": stage.describe(),
                "sense": sense,
                "status": str(res.status),
                "value": res.objective,
                "dual_value": res.dual_objective,
                "seconds": res.seconds,
                "iterations": res.iterations,
            }
        )
        if res.status is not SolverStatus.OPTIMAL:
            break
        if k + 1 < len(stages):
            lo, hi = stage_bound(res.objective, sense, rel_tol)
            extra.append((c, lo, hi))
    assert res is not None
    plan = read_back(model, res, sense, obj, options, build_seconds, stage_info, trade_limits, limits, capacities)
    if diagnose and res.status in _INFEASIBLE:
        from gosplan.planning.diagnose import diagnose as _diagnose

        diag = _diagnose(
            economy, targets, limits=limits, capacities=capacities, trade_limits=trade_limits, options=options
        )
        plan = plan.replace(diagnosis=diag)
    return plan


#: "auto" tries the substitution method from this many activities on.
SUBSTITUTION_FROM = 2_000


def _try_substitution(
    model: PlanModel, c: np.ndarray, lp: Any, options: SolverOptions, cb: Any
) -> tuple[LPResult | None, str]:
    """The substitution method's result, or None and why it gave way to HiGHS."""
    from gosplan.errors import SchemaError
    from gosplan.planning.substitution import solve_substitution, why_not

    reason = why_not(model, c, lp.sense)
    if options.method == "substitution" and reason is not None:
        raise SchemaError(f"method 'substitution' does not apply to this plan: {reason}; use method 'auto'")
    if reason is not None or (options.method == "auto" and lp.shape[1] < SUBSTITUTION_FROM):
        return None, ""
    res = solve_substitution(model, c, lp, options, cb)
    if res is None or (res.status is not SolverStatus.OPTIMAL and res.status is not SolverStatus.TIME_LIMIT):
        return None, "" if res is None else res.info.get("failure", "")  # HiGHS decides
    return res, ""


def read_back(
    model: PlanModel,
    res: LPResult,
    sense: str,
    obj: object,
    options: SolverOptions,
    build_seconds: float,
    stage_info: list[dict[str, Any]],
    trade_limits: Mapping[tuple[str, str], float] | None,
    limits: Any,
    capacities: Any,
) -> Plan:
    e = model.economy
    s = 1.0 if sense == "min" else -1.0
    x = res.x
    y = res.row_duals[: model.n_rows]
    act = res.row_activity[: model.n_rows]
    z = x[model.cols["levels"]]
    r = res.col_duals[model.cols["levels"]]
    bal, fac = model.rows["balance"], model.rows["factor"]

    def binding(slack: np.ndarray, bound: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.isfinite(bound) & (slack <= BINDING_RTOL * np.maximum(1.0, np.abs(np.where(np.isfinite(bound), bound, 0))))

    def frame(kind: str, ids: Any, value: np.ndarray, lower: Any, upper: Any, dual: np.ndarray,
              valuation: np.ndarray) -> pd.DataFrame:
        # a >= row's slack is above its lower bound, a <= row's (or bound's) below its upper
        at_lower = np.isscalar(upper) and upper == np.inf
        slack = value - lower if at_lower else upper - value
        bound = lower if at_lower else upper
        df = pd.DataFrame({"kind": kind, "id": ids, "value": value, "lower": lower, "upper": upper,
                           "slack": slack, "dual": dual, "valuation": valuation})
        df["binding"] = binding(df["slack"].to_numpy(), np.asarray(bound, dtype=float) * np.ones(len(df)))
        return df

    frames = [
        frame("balance", e.product_ids.to_numpy(dtype=object), act[bal], model.row_lower[bal], np.inf, y[bal], s * y[bal]),
        frame("factor", e.factor_ids.to_numpy(dtype=object), act[fac], -np.inf, model.row_upper[fac], y[fac], -s * y[fac]),
    ]
    if "trade" in model.rows:
        tr = model.rows["trade"]
        frames.append(frame("trade", [f"{a}->{b}" for a, b in model.trade_pairs], act[tr], -np.inf, model.row_upper[tr],
                            y[tr], -s * y[tr]))
    capped = np.isfinite(model.capacities)
    if capped.any():
        frames.append(frame("capacity", e.activity_ids.to_numpy(dtype=object)[capped], z[capped], 0.0,
                            model.capacities[capped], r[capped], np.maximum(0.0, -s * r[capped])))
    constraints = pd.concat(frames, ignore_index=True)

    basket = float(x[model.cols["basket"]][0]) if "basket" in model.cols else None
    fulfilment = None
    if "fulfilment" in model.cols:
        fulfilment = pd.Series(
            x[model.cols["fulfilment"]], index=e.product_ids[model.fulfilment_products], name="fulfilment"
        )
    shortfall = None
    if "shortfall" in model.cols:
        shortfall = pd.Series(x[model.cols["shortfall"]], index=e.product_ids[model.shortfall_products], name="shortfall")

    describe = getattr(obj, "describe", lambda: str(obj))
    manifest = {
        "economy": economy_digest(e),
        "targets": targets_digest(model.targets),
        "overrides": {
            "limits": digest(model.limits),
            "capacities": digest(model.capacities),
            "given": {
                "limits": None if limits is None else {str(k): float(v) for k, v in dict(limits).items()},
                "capacities": None if capacities is None else {str(k): float(v) for k, v in dict(capacities).items()},
                "trade_limits": None
                if not trade_limits
                else {f"{a}->{b}": float(v) for (a, b), v in trade_limits.items()},
            },
        },
        "objective": describe(),
        "options": options.as_dict(),
        "model": describe_shape(model),
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    solver = {
        "method": res.method,
        "status": res.solver_status,
        "iterations": res.iterations,
        "seconds": res.seconds,
        "build_seconds": build_seconds,
        "primal_infeasibility": res.primal_infeasibility,
        "dual_infeasibility": res.dual_infeasibility,
        **res.info,
    }
    return Plan(
        status=res.status,
        objective=describe(),
        objective_value=res.objective,
        dual_objective=res.dual_objective,
        gap=res.gap,
        levels=pd.Series(z, index=e.activity_ids, name="level"),
        output=pd.Series(e.make @ z, index=e.product_ids, name="output"),
        factor_totals=pd.Series(e.factor_use @ z, index=e.factor_ids, name="factor_use"),
        valuations=pd.Series(s * y[bal], index=e.product_ids, name="valuation"),
        factor_valuations=pd.Series(-s * y[fac], index=e.factor_ids, name="valuation"),
        reduced_costs=pd.Series(s * r, index=e.activity_ids, name="reduced_cost"),
        constraints=constraints,
        solver=solver,
        manifest=manifest,
        limits=pd.Series(model.limits, index=e.factor_ids, name="limit"),
        capacities=pd.Series(model.capacities, index=e.activity_ids, name="capacity"),
        basket_multiple=basket,
        fulfilment=fulfilment,
        shortfall=shortfall,
        trade_limits=dict(trade_limits) if trade_limits else None,
        stages=tuple(stage_info),
    )
