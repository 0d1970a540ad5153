"""Methods that solve a multi-period plan's program faster than a general LP solver where
its structure allows: :mod:`~gosplan.planning.dynamic.methods.reduction` (the program in
investment alone), :mod:`~gosplan.planning.dynamic.methods.ipm` (the exact structured
interior point on it) and :mod:`~gosplan.planning.dynamic.methods.approx` (PDLP's answer
repaired to an exactly feasible plan). :func:`gosplan.planning.dynamic.plan_dynamic`
chooses among them."""
