"""What makes one plan better than another: the objectives.

Each objective says which extra variables it needs from the model
(:func:`gosplan.planning.model.build_model`) and gives the cost vector and sense
of the linear program. Every objective here is solved *exactly* as an LP.

* :class:`MinFactor` -- least total use of labour (or any weighted set of factors)
  for fixed targets.
* :class:`MaxBasket` -- the largest multiple of a basket the economy can deliver
  on top of the floors (Kantorovich's "maximum output under a given product mix",
  1939, problem A; Cockshott's "plan ray").
* :class:`MaxHarmony` -- the largest weighted sum of a concave, piecewise-linear
  "harmony" of each product's fulfilment (Cockshott and Cottrell's harmony).
* :class:`MinShortfall` -- the least weighted relative shortfall of the floors
  (the floors as soft targets; zero whenever they can all be met).
* :class:`Lexicographic` -- objectives in order of priority: each later stage keeps
  the earlier ones at their optimum (e.g. floors first, then the basket).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from gosplan.errors import SchemaError, UnknownIdError

if TYPE_CHECKING:  # pragma: no cover
    from gosplan.economy import Economy
    from gosplan.planning.model import PlanModel


class Objective(Protocol):
    """What the model needs from an objective."""

    name: str

    def needs(self, economy: Economy) -> dict[str, object]:
        """Keyword arguments for :func:`build_model` (extra variables)."""

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        """The cost vector over all columns of the model and ``"min"`` or ``"max"``."""


def factor_weights(economy: Economy, factors: str | dict[str, float] | None) -> np.ndarray:
    """Weights over the economy's factors: ``None`` -> the factor(s) named labour (or the
    only factor), a factor id -> that one, a dict -> those weights."""
    ids = economy.factor_ids
    w = np.zeros(len(ids))
    if factors is None:
        labourish = [i for i, f in enumerate(ids) if "labour" in f.lower() or "labor" in f.lower()]
        if labourish:
            w[labourish] = 1.0
        elif len(ids) == 1:
            w[0] = 1.0
        else:
            raise SchemaError(
                f"which factor to minimise? the economy has factors {list(ids[:10])} and none is named "
                "labour: choose one with the objective 'factor:<id>' (e.g. --objective factor:hours), "
                "or MinFactor('<id>') / a dict of weights in Python"
            )
        return w
    spec = {factors: 1.0} if isinstance(factors, str) else dict(factors)
    unknown = [f for f in spec if f not in ids]
    if unknown:
        raise UnknownIdError(f"objective: factor(s) {unknown} are not in the economy (factors: {list(ids[:10])})")
    for f, v in spec.items():
        w[ids.get_loc(f)] = float(v)
    return w


@dataclass(frozen=True)
class MinFactor:
    """Minimise the weighted use of primary factors for fixed targets.

    ``min sum_f w_f (factor_use z)_f`` subject to the balances, limits and
    capacities. With one factor (labour) and one technique per product this is
    the Leontief plan ``x = (I - A)^{-1} d`` and its balance valuations are the
    labour values ``v = l (I - A)^{-1}``; with alternative techniques it picks the
    cheapest in labour (Samuelson's 1951 substitution theorem says the choice does
    not depend on ``d`` when labour is the only scarce factor). ``factors``: a
    factor id, a dict of weights, or None for the factor(s) named labour.
    """

    factors: str | dict[str, float] | None = None
    name: str = "min_factor"

    def needs(self, economy: Economy) -> dict[str, object]:
        return {}

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        w = factor_weights(model.economy, self.factors)
        c = np.zeros(model.n_cols)
        c[model.cols["levels"]] = model.economy.factor_use.T @ w
        return c, "min"

    def describe(self) -> str:
        f = "labour" if self.factors is None else self.factors
        return f"minimise use of {f}"


@dataclass(frozen=True)
class MaxBasket:
    """Maximise the multiple ``t`` of the basket ``b`` delivered on top of the floors:

    ``max t`` subject to ``(make - use) z - t b >= floor + public``, the limits and the
    capacities (Kantorovich 1939, transl. *Management Science* 6(4), 1960,
    problem A: maximum output under the condition of completeness).
    """

    name: str = "max_basket"

    def needs(self, economy: Economy) -> dict[str, object]:
        return {"basket": True}

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        c = np.zeros(model.n_cols)
        c[model.cols["basket"]] = 1.0
        return c, "max"

    def describe(self) -> str:
        return "maximise the multiple of the basket"


@dataclass(frozen=True)
class MaxValue:
    """Maximise the value of net output at given weights (social values):

    ``max w' (make - use) z`` subject to the floors, limits and capacities; the
    activity-analysis problem (Koopmans, ed., *Activity Analysis of Production and
    Allocation*, 1951). ``weights``: product -> value, or None for the targets' weights.
    Unbounded when some valued product can be made without any limited input.
    """

    weights: dict[str, float] | None = None
    name: str = "max_value"

    def needs(self, economy: Economy) -> dict[str, object]:
        return {}

    def _w(self, model: PlanModel) -> np.ndarray:
        if self.weights is None:
            return model.targets.weight
        ids = model.economy.product_ids
        unknown = [p for p in self.weights if p not in ids]
        if unknown:
            raise UnknownIdError(f"objective weights: product(s) {unknown[:10]} are not in the economy")
        w = np.zeros(len(ids))
        for p, v in self.weights.items():
            w[ids.get_loc(p)] = float(v)
        return w

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        e = model.economy
        w = self._w(model)
        c = np.zeros(model.n_cols)
        c[model.cols["levels"]] = e.make.T @ w - e.use.T @ w
        return c, "max"

    def describe(self) -> str:
        return "maximise the value of net output"


def cockshott_harmony(s: np.ndarray | float) -> np.ndarray | float:
    """Cockshott's harmony of a relative over-fulfilment ``s = (net - target) / target``:

    ``H(s) = s - s^2 / 2`` for ``s < 0`` and ``H(s) = ln(1 + s)`` for ``s >= 0``.

    Concave, with slope 1 at ``s = 0``: a shortfall costs more than the same surplus
    gains, and each further surplus gains less. Source: W. P. Cockshott,
    ``plancode/planning/Harmony.java`` in github.com/wc22m/5yearplan (2018),
    which implements "the harmony function described in *Towards a New Socialism*"
    (Cockshott and Cottrell 1993); used for planning in Cockshott, "Calculation in
    natura, from Neurath to Kantorovich" (2010).
    """
    s = np.asarray(s, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(s < 0, s - 0.5 * s * s, np.log1p(np.maximum(s, 0.0)))
    return out if out.ndim else float(out)


#: Breakpoints of the piecewise-linear harmony, as fulfilment u = 1 + s.
DEFAULT_BREAKPOINTS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class MaxHarmony:
    """Maximise the weighted harmony of the plan's fulfilment of the basket.

    With ``u_i`` the fulfilment of product ``i`` (net output for the basket over
    its basket amount ``b_i``, so ``s_i = u_i - 1``), solve

    ``max sum_i w_i h_i``  s.t.  ``h_i <= H_k + a_k (u_i - u_k)`` for every segment
    ``[u_k, u_{k+1}]`` between consecutive breakpoints, with ``H_k = H(u_k - 1)`` and
    chord slope ``a_k = (H_{k+1} - H_k) / (u_{k+1} - u_k)``;
    ``(make - use) z - diag(b) u >= floor + public``, limits, capacities.

    The minimum of the chords is the concave piecewise-linear interpolant of
    Cockshott's harmony :func:`cockshott_harmony` through the breakpoints (equal to
    it there, below it in between, the end chords extended); the LP maximises it
    exactly, since the hypograph of a concave piecewise-linear function is a
    polyhedron. Diminishing returns per product spread the economy's capacity over
    the basket instead of filling one product. ``breakpoints``: fulfilment levels
    ``u_k = 1 + s_k`` (at least two).
    """

    breakpoints: tuple[float, ...] = DEFAULT_BREAKPOINTS
    name: str = "max_harmony"

    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """Slopes and intercepts (in ``u``) of the chords."""
        u = np.asarray(sorted(set(self.breakpoints)), dtype=float)
        if len(u) < 2 or (u < 0).any() or not np.isfinite(u).all():
            raise SchemaError("harmony breakpoints must be at least two finite fulfilment levels >= 0")
        H = cockshott_harmony(u - 1.0)
        a = np.diff(H) / np.diff(u)
        c = H[:-1] - a * u[:-1]
        return a, c

    def needs(self, economy: Economy) -> dict[str, object]:
        return {"harmony": self.pieces()}

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        c = np.zeros(model.n_cols)
        c[model.cols["harmony"]] = model.targets.weight[model.fulfilment_products]
        return c, "max"

    def describe(self) -> str:
        return "maximise the weighted harmony of the basket's fulfilment"


@dataclass(frozen=True)
class MinShortfall:
    """Minimise the weighted relative shortfall of the floors:

    ``min sum_i w_i e_i / (floor_i + public_i)`` with
    ``(make - use) z + e >= floor + public``, ``0 <= e_i <= floor_i + public_i``.

    Zero exactly when every floor can be met; otherwise the least (L1) relative
    cut of the floors that makes the plan possible.
    """

    name: str = "min_shortfall"

    def needs(self, economy: Economy) -> dict[str, object]:
        return {"shortfall": True}

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        c = np.zeros(model.n_cols)
        i = model.shortfall_products
        if len(i):
            c[model.cols["shortfall"]] = model.targets.weight[i] / model.targets.required[i]
        return c, "min"

    def describe(self) -> str:
        return "minimise the weighted relative shortfall of the floors"


@dataclass(frozen=True)
class Lexicographic:
    """Objectives in order of priority.

    Stage ``k`` optimises objective ``k`` subject to every earlier objective
    staying within ``rel_tol * max(1, |v_j|)`` of its optimum ``v_j``. The plan's
    valuations are those of the last stage. Example: ``Lexicographic((MinShortfall(),
    MaxBasket(), MinFactor()))`` meets as much of the floors as possible, then
    delivers the largest basket, then spends the least labour on it.
    """

    stages: tuple[object, ...] = field(default_factory=tuple)
    rel_tol: float = 1e-7
    name: str = "lexicographic"

    def __post_init__(self) -> None:
        if len(self.stages) < 1:
            raise SchemaError("a lexicographic objective needs at least one stage")

    def needs(self, economy: Economy) -> dict[str, object]:
        out: dict[str, object] = {}
        for s in self.stages:
            out.update(s.needs(economy))
        return out

    def cost(self, model: PlanModel) -> tuple[np.ndarray, str]:
        return self.stages[-1].cost(model)

    def describe(self) -> str:
        return ", then ".join(s.describe() for s in self.stages)


def stage_bound(value: float, sense: str, rel_tol: float) -> tuple[float, float]:
    """Row bounds that keep an earlier stage's objective at its optimum (within tolerance)."""
    slack = rel_tol * max(1.0, abs(value))
    return (value - slack, math.inf) if sense == "max" else (-math.inf, value + slack)


_NAMES = {
    "labour": lambda: MinFactor(),
    "labor": lambda: MinFactor(),
    "min_labour": lambda: MinFactor(),
    "basket": lambda: MaxBasket(),
    "max_basket": lambda: MaxBasket(),
    "harmony": lambda: MaxHarmony(),
    "max_harmony": lambda: MaxHarmony(),
    "floors": lambda: MinShortfall(),
    "value": lambda: MaxValue(),
    "max_value": lambda: MaxValue(),
    "shortfall": lambda: MinShortfall(),
}


def parse_objective(spec: str | object) -> object:
    """An objective from a short text: ``labour``, ``factor:<id>``, ``basket``,
    ``harmony``, ``value``, ``floors``, or stages joined by ``,`` or ``>`` (lexicographic,
    e.g. ``floors,basket`` or ``floors>basket>labour``). Objects pass through."""
    if not isinstance(spec, str):
        return spec
    parts = [p.strip() for p in spec.replace(">", ",").split(",") if p.strip()]
    if not parts:
        raise SchemaError("empty objective; use labour, factor:<id>, basket, harmony, floors or a list of them")
    stages = []
    for p in parts:
        key = p.lower()
        if key.startswith("factor:") or key.startswith("min:"):
            stages.append(MinFactor(p.split(":", 1)[1]))
        elif key in _NAMES:
            stages.append(_NAMES[key]())
        else:
            raise SchemaError(
                f"unknown objective {p!r}; use labour, factor:<id>, basket, harmony, floors, "
                "or stages joined by ',' (e.g. floors,basket)"
            )
    return stages[0] if len(stages) == 1 else Lexicographic(tuple(stages))
