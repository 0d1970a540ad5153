"""Optimal plans: from an Economy and Targets to the best plan it can carry out.

``targets`` says what the plan must or should deliver, ``model`` turns an
economy and targets into a linear program, ``objectives`` says what is best,
``solver`` is the one seam to the LP solver (HiGHS), ``substitution`` a
factorisation-free exact method for the common case (alternative single-output
techniques, capacities, a few factor limits), ``optimal`` runs build-solve-read
back, ``plan`` holds and checks the result, ``diagnose`` explains an impossible plan. Multi-period plans live in
``dynamic``; the world plan (regions coupled by trade, decomposed by ``decompose``) in ``world``. Submodules are
imported on first use so ``import gosplan`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SolverStatus": "solver",
    "SolverOptions": "solver",
    "LinearProgram": "solver",
    "LPResult": "solver",
    "solve_lp": "solver",
    "irreducible_infeasible_subset": "solver",
    "IIS": "solver",
    "iis_detail": "solver",
    "Targets": "targets",
    "ResolvedTargets": "targets",
    "PlanModel": "model",
    "build_model": "model",
    "MinFactor": "objectives",
    "MaxBasket": "objectives",
    "MaxHarmony": "objectives",
    "MinShortfall": "objectives",
    "MaxValue": "objectives",
    "Lexicographic": "objectives",
    "cockshott_harmony": "objectives",
    "parse_objective": "objectives",
    "Plan": "plan",
    "Verification": "plan",
    "optimal_plan": "optimal",
    "Diagnosis": "diagnose",
    "diagnose": "diagnose",
    "least_change": "diagnose",
    "solve_substitution": "substitution",
    "plan_dynamic": "dynamic",
    "DynamicPlan": "dynamic",
    "MaxConsumption": "dynamic",
    "ReachTargets": "dynamic",
    "MaxTerminalStocks": "dynamic",
    "Terminal": "dynamic",
    "InfeasibleDynamicPlanError": "dynamic",
    "World": "world",
    "build_world": "world",
    "world_from_mrio": "world",
    "load_world": "world",
    "plan_world": "world",
    "compare_autarky": "world",
    "dantzig_wolfe": "decompose",
    "Scenario": "scenarios",
    "compare": "scenarios",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gosplan.planning' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gosplan.planning.{module}"), name)
    globals()[name] = value
    return value
