"""Multi-period plans: building up capital over t = 1..T as one linear program.

The economy's activities run at levels ``x_t`` in every period. An activity with
capital coefficients (a column of ``Economy.capital``) cannot run above its
*capacity* ``k_t``; each unit of capacity ties up ``capital[:, j]`` of stocks, so
the stock of product p held by activity j is ``capital[p, j] * k_{j,t}``. Capacity
grows by investment ``z_{j,t}`` (new capacity started in t, usable from t + lag,
its capital goods delivered out of period t's output) and shrinks by depreciation:

    k_{j,t+1} = (1 - delta_j) k_{j,t} + z_{j,t+1-lag_j}

and every period balances products and factors:

    (make - use) x_t - capital z_t >= floor_t + u_t basket_t,   factor_use x_t <= supply_t.

Techniques not yet known (``new_techniques``) start with no capacity and cannot
run before their first period. Terminal conditions keep the plan from eating its
capital in the last years. The model is built as one sparse block LP (a loop over
nothing but block kinds: Kronecker products stack the periods) and solved through
:mod:`gosplan.planning.solver`; the result is a :class:`DynamicPlan` of labelled
period x product / activity / factor frames that checks itself without a solver.

This is the dynamic input-output model of Leontief (1953, *Studies in the Structure
of the American Economy*, ch. 3), written as a linear program in the manner of
Dorfman, Samuelson and Solow (1958, *Linear Programming and Economic Analysis*,
ch. 11-12), with activities (alternative techniques) chosen by the plan.
"""

from gosplan.planning.dynamic.lp import Layout, build_dynamic_lp
from gosplan.planning.dynamic.result import DynamicPlan, read_back
from gosplan.planning.dynamic.solve import STRUCTURED_FROM, plan_dynamic
from gosplan.planning.dynamic.spec import (
    DynamicSpec,
    InfeasibleDynamicPlanError,
    MaxConsumption,
    MaxTerminalStocks,
    Objective,
    ReachTargets,
    Terminal,
    dynamic_spec,
)

__all__ = [
    "STRUCTURED_FROM",
    "DynamicPlan",
    "DynamicSpec",
    "InfeasibleDynamicPlanError",
    "Layout",
    "MaxConsumption",
    "MaxTerminalStocks",
    "Objective",
    "ReachTargets",
    "Terminal",
    "build_dynamic_lp",
    "dynamic_spec",
    "plan_dynamic",
    "read_back",
]
