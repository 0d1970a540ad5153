"""Solving a multi-period plan: :func:`plan_dynamic` and the choice of method (the
structured interior point for large Leontief plans, PDLP with repair, HiGHS)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from gosplan.economy import Economy
from gosplan.errors import GosplanError, SchemaError
from gosplan.planning.dynamic.lp import Layout, build_dynamic_lp
from gosplan.planning.dynamic.result import DynamicPlan, manifest, read_back
from gosplan.planning.dynamic.spec import (
    DynamicSpec,
    InfeasibleDynamicPlanError,
    MaxConsumption,
    Objective,
    dynamic_spec,
)


def plan_dynamic(
    economy: Economy,
    periods: int | Sequence[Any],
    objective: Objective | None = None,
    *,
    options: Any = None,
    progress: Callable[[dict[str, Any]], Any] | None = None,
    diagnose: bool = True,
    accuracy: float = 1e-3,
    **settings: Any,
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
    **settings : the plan's data, keywords checked and normalised by
        :func:`~gosplan.planning.dynamic.spec.dynamic_spec` (an unknown one is a
        ``TypeError``):
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
        structured interior-point method of :mod:`gosplan.planning.dynamic.methods.ipm`
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
        (:mod:`gosplan.planning.dynamic.methods.approx`) and accepted with status
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
    from gosplan.planning.solver import EXACT_TOL, SolverOptions, SolverStatus, solve_lp

    objective = MaxConsumption() if objective is None else objective
    spec = dynamic_spec(economy, periods, **settings)
    lp, layout = build_dynamic_lp(economy, spec, objective)
    options = options or SolverOptions()
    clash = None  # what the structured method found of an impossible plan
    if options.method == "pdlp" and isinstance(objective, MaxConsumption):
        from gosplan.planning.dynamic.methods.approx import solve_approximate

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
            from gosplan.planning.diagnose import dynamic_clash

            names, unnamed = dynamic_clash(lp, layout, economy, spec, objective, options,
                                           (clash["rows"], clash["cols"]) if floors_alone else None)
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
    plan = read_back(economy, spec, objective, lp, layout, res)
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
            plan = read_back(economy, spec, objective, lp, layout, res)
            bad = plan.verify(economy) if res.status is SolverStatus.APPROXIMATE else []
        if bad:
            raise GosplanError(
                "the approximate multi-period plan failed its stock-flow check: " + "; ".join(bad[:3])
                + "; use an exact method (options.method='auto')"
            )
    object.__setattr__(plan, "manifest", manifest(economy, spec, objective, options))
    return plan


#: "auto" tries the structured interior-point method from this many levels (J x T) on
#: (n = 100 x T = 10: 0.2 s against HiGHS's 1.4 s); below it HiGHS's simplex takes a
#: fraction of a second and returns a vertex.
STRUCTURED_FROM = 1_000


def _raise_if_proved_impossible(clash: dict[str, Any] | None, layout: Layout) -> None:
    """Raise for a large plan that the structured method's Farkas test proved impossible.

    Its row prices bound every plan's investment and consumption from below; above
    what the factor supply allows (:func:`gosplan.planning.dynamic.methods.ipm._size_bound`),
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


def _try_structured(lp: Any, layout: Layout, spec: DynamicSpec, options: Any, progress: Any) -> tuple[Any, str, Any]:
    """The structured interior-point method's result, or None and why it gave way to
    HiGHS (see :mod:`gosplan.planning.dynamic.methods.ipm`); third, what it found of an
    impossible plan (its ``info["infeasible"]``), or None."""
    if options.method not in ("auto", "structured_ipm"):
        return None, "", None
    if options.method == "auto" and layout.J * layout.T < STRUCTURED_FROM:
        return None, "", None
    from gosplan.planning.dynamic.methods.ipm import solve_structured
    from gosplan.planning.solver import SolverStatus

    res, reason = solve_structured(lp, layout, spec, options, progress)
    if res is None:
        if options.method == "structured_ipm":
            raise SchemaError(f"method 'structured_ipm' does not apply to this plan: {reason}; use method 'auto'")
        return None, "", None
    if res.status in (SolverStatus.OPTIMAL, SolverStatus.TIME_LIMIT, SolverStatus.INTERRUPTED):
        return res, "", None
    return None, res.info.get("failure", str(res.status)), res.info.get("infeasible")  # HiGHS decides

