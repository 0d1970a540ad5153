"""The result of planning: a `Plan`, its valuations, its manifest and its check.

A plan holds activity levels, outputs, factor use, the valuations (shadow prices)
of every product balance and factor limit with their natural sign, the binding
constraints and slacks, the solver's status and accuracy, and a ``manifest`` (a
SHA-256 of every input array and label, the package versions and the options)
from which it can be reproduced. :meth:`Plan.verify` recomputes every balance
and limit from the economy's raw arrays, without the solver, and reports any
violation.

Valuations are "how much better the objective gets per unit of relaxation" and
are therefore >= 0 at an optimum: for a labour-minimising plan the valuation of a
product is the labour that one more unit of it for final demand costs (its
full labour value in a Leontief economy), and that of a factor is the labour
saved by one more unit of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import SchemaError, SourceError
from gosplan.planning.solver import SolverStatus
from gosplan.planning.targets import ResolvedTargets, Targets

#: A constraint is binding when its slack is below this share of max(1, |bound|).
BINDING_RTOL = 1e-7


# -- manifest ---------------------------------------------------------------------


def digest(*parts: Any) -> str:
    """SHA-256 (hex) of arrays, sparse matrices, labels and JSON-able values, in order:
    the one hash of a plan's manifest."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            a = np.ascontiguousarray(p)
            h.update(str(a.dtype).encode())
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        elif sp.issparse(p):
            m = sp.csr_array(p)
            h.update(str(m.shape).encode())
            for a in (m.data, m.indices.astype(np.int64), m.indptr.astype(np.int64)):
                h.update(np.ascontiguousarray(a).tobytes())
        elif isinstance(p, pd.Index):
            h.update("\x1f".join(map(str, p)).encode())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()


def economy_digest(economy: Economy) -> dict[str, str]:
    """SHA-256 of every array and label of an economy that a plan depends on."""
    d = {
        "products": digest(economy.product_ids),
        "activities": digest(economy.activity_ids),
        "factors": digest(economy.factor_ids),
        "use": digest(economy.use),
        "make": digest(economy.make),
        "factor_use": digest(economy.factor_use),
        "capacity": digest(economy.activities["capacity"].to_numpy(dtype=float)),
        "available": digest(economy.factors["available"].to_numpy(dtype=float)),
        "regions": digest(pd.Index(economy.products["region"]), pd.Index(economy.activities["region"])),
    }
    d["economy"] = digest(*[d[k] for k in sorted(d)])
    return d


def targets_digest(t: ResolvedTargets) -> dict[str, str]:
    d = {k: digest(getattr(t, k)) for k in ("floor", "basket", "public", "weight")}
    d["targets"] = digest(*[d[k] for k in sorted(d)])
    return d


def versions() -> dict[str, str]:
    """Versions of the packages a plan's numbers depend on."""
    import scipy

    import gosplan

    out = {
        "gosplan": gosplan.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }
    try:
        from importlib.metadata import version

        out["highspy"] = version("highspy")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        out["highspy"] = "unknown"
    return out


# -- verification -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Verification:
    """What :meth:`Plan.verify` found.

    ``violations``: one row per violated constraint (kind, id, bound, value,
    excess), empty when the plan holds. ``shortfalls``: floors the plan itself
    declares unmet (a soft-floor objective), not violations. ``inputs_match``:
    whether the economy and targets checked are those the plan was made from
    (by the manifest's hashes).
    """

    ok: bool
    violations: pd.DataFrame
    max_violation: float
    checked: dict[str, int]
    inputs_match: bool
    shortfalls: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.violations)} violation(s), worst {self.max_violation:.3g}"
        return f"<Verification {state}; checked {self.checked}; inputs match: {self.inputs_match}>"

    def raise_if_failed(self) -> None:
        if not self.ok:
            head = self.violations.head(5).to_string()
            raise SchemaError(f"the plan does not hold: {len(self.violations)} violation(s):\n{head}")


def _violations(kind: str, ids: pd.Index, value: np.ndarray, lo: np.ndarray, hi: np.ndarray, rtol: float) -> pd.DataFrame:
    with np.errstate(invalid="ignore"):
        below = np.where(np.isfinite(lo), lo - value, 0.0)
        above = np.where(np.isfinite(hi), value - hi, 0.0)
    scale_lo = rtol * np.maximum(1.0, np.where(np.isfinite(lo), np.abs(lo), 0.0))
    scale_hi = rtol * np.maximum(1.0, np.where(np.isfinite(hi), np.abs(hi), 0.0))
    bad_lo = (below > scale_lo) | np.isnan(value)
    bad_hi = above > scale_hi
    frames = []
    for mask, bound, excess, side in ((bad_lo, lo, below, "lower"), (bad_hi, hi, above, "upper")):
        if mask.any():
            frames.append(
                pd.DataFrame(
                    {
                        "kind": kind,
                        "id": ids[mask],
                        "side": side,
                        "bound": bound[mask],
                        "value": value[mask],
                        "excess": np.where(np.isnan(excess[mask]), np.inf, excess[mask]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# -- the plan ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Plan:
    """An optimal (or best-found) one-period plan, labelled.

    Attributes
    ----------
    status : :class:`SolverStatus` (compare to its members).
    objective : text of the objective; ``objective_value`` and ``dual_objective``
        its primal and dual values; ``gap`` their relative difference.
    levels : activity levels (activities).
    output, factor_totals : gross output per product (``make @ z``) and use of each
        factor (``factor_use @ z``) at the plan's levels, as solved (``verify``
        recomputes its own from the levels).
    basket_multiple : the multiple ``t`` of the basket delivered (basket objective).
    fulfilment : per-product fulfilment ``u`` of the basket (harmony objective).
    shortfall : per-product shortfall of the floors (soft-floor objectives).
    valuations : shadow prices of the product balances (products), >= 0.
    factor_valuations : shadow prices of the factor limits (factors), >= 0.
    reduced_costs : objective cost of running one more unit of each activity at
        the plan's valuations (>= 0 for idle techniques at a minimum).
    constraints : one row per constraint: kind, id, value, lower, upper, slack,
        dual (solver's sign), valuation, binding.
    solver : method, iterations, seconds, accuracy reached.
    manifest : hashes of inputs, versions, options.
    limits, capacities : the factor availabilities and capacities used.
    diagnosis : for an impossible plan, a :class:`gosplan.planning.diagnose.Diagnosis`.
    """

    status: SolverStatus
    objective: str
    objective_value: float
    dual_objective: float
    gap: float
    levels: pd.Series
    valuations: pd.Series
    factor_valuations: pd.Series
    reduced_costs: pd.Series
    constraints: pd.DataFrame
    solver: dict[str, Any]
    manifest: dict[str, Any]
    limits: pd.Series
    capacities: pd.Series
    output: pd.Series | None = None
    factor_totals: pd.Series | None = None
    basket_multiple: float | None = None
    fulfilment: pd.Series | None = None
    shortfall: pd.Series | None = None
    trade_limits: Mapping[tuple[str, str], float] | None = None
    stages: tuple[dict[str, Any], ...] = ()
    diagnosis: Any = None

    # -- derived quantities (recomputed from levels, never stored twice) -------------
    def _arrays(self, economy: Economy) -> np.ndarray:
        from gosplan.economy import align

        z = align(self.levels.astype(float), economy.activity_ids, "plan levels")
        return z.to_numpy(dtype=float)

    def outputs(self, economy: Economy) -> pd.Series:
        """Gross output of every product, ``make @ z``."""
        return pd.Series(economy.make @ self._arrays(economy), index=economy.product_ids, name="output")

    def net_output(self, economy: Economy) -> pd.Series:
        """Net output (what is left for final demand), ``(make - use) @ z``."""
        z = self._arrays(economy)
        return pd.Series(economy.make @ z - economy.use @ z, index=economy.product_ids, name="net_output")

    def factor_use(self, economy: Economy) -> pd.Series:
        """Use of each primary factor, ``factor_use @ z``."""
        return pd.Series(economy.factor_use @ self._arrays(economy), index=economy.factor_ids, name="factor_use")

    @property
    def ok(self) -> bool:
        return self.status is SolverStatus.OPTIMAL

    @property
    def binding(self) -> pd.DataFrame:
        """The binding constraints, largest valuation first."""
        c = self.constraints
        return c[c["binding"]].sort_values("valuation", ascending=False)

    def objective_unit(self, economy) -> str:
        """What one unit of the objective counts: the unit of the factor it minimises, as the
        economy's factor table states it, with the factor's name unless the unit says it (the
        factor named labour where the objective says "labour"); "basket multiples"; or
        "objective units"."""
        from gosplan.planning.objectives import factor_weights

        text = str(self.objective)
        used = [f for f in economy.factor_ids if f"use of {f}" in text]
        if not used and "use of labour" in text:
            try:
                w = factor_weights(economy, None)
            except SchemaError:
                w = np.zeros(0)
            used = [economy.factor_ids[i] for i in np.flatnonzero(w)]
        if len(used) == 1:
            f = used[0]
            unit = economy.factors.at[f, "unit"] if "unit" in economy.factors.columns else ""
            if not (isinstance(unit, str) and unit):
                return f"units of {f}"
            # "GBP million of compensation", but "million hours worked" for hours, which says it already
            return unit if f.lower() in unit.lower() else f"{unit} of {f}"
        if "basket" in text:
            return "basket multiples"
        return "objective units"

    def top_valuations(self, n: int = 10) -> pd.Series:
        return self.valuations.sort_values(ascending=False).head(n)

    def summary(self) -> dict[str, Any]:
        """A few headline numbers."""
        b = self.constraints["binding"]
        kinds = self.constraints["kind"]
        return {
            "status": str(self.status),
            "objective": self.objective,
            "objective_value": self.objective_value,
            "dual_objective": self.dual_objective,
            "gap": self.gap,
            "basket_multiple": self.basket_multiple,
            "active_activities": int((self.levels > 0).sum()),
            "binding_balances": int((b & (kinds == "balance")).sum()),
            "binding_factors": int((b & (kinds == "factor")).sum()),
            "binding_capacities": int((b & (kinds == "capacity")).sum()),
            "method": self.solver.get("method"),
            "seconds": self.solver.get("seconds"),
            "primal_infeasibility": self.solver.get("primal_infeasibility"),
            "dual_infeasibility": self.solver.get("dual_infeasibility"),
        }

    # -- check -------------------------------------------------------------------
    def verify(
        self,
        economy: Economy,
        targets: Targets | ResolvedTargets,
        *,
        rtol: float = 1e-6,
    ) -> Verification:
        """Recompute balances and limits from the raw data and report violations.

        Checks, with tolerance ``rtol * max(1, |bound|)``: levels ``0 <= z <=
        capacity``; balances ``(make - use) z >= floor + public + t b`` (or ``+ diag(b) u``,
        less any declared shortfall); factor use ``<= limit``; trade limits. Uses
        only the economy's arrays, the targets and the plan's levels (and its
        declared basket multiple, fulfilment, shortfalls, limits and capacities).
        """
        t = targets.resolve(economy) if isinstance(targets, Targets) else targets
        z = self._arrays(economy)
        frames = []
        caps = self.capacities.reindex(economy.activity_ids).to_numpy(dtype=float)
        frames.append(_violations("level", economy.activity_ids, z, np.zeros_like(z), caps, rtol))
        net = economy.make @ z - economy.use @ z
        need = t.floor + t.public
        if self.basket_multiple is not None:
            need = need + self.basket_multiple * t.basket
        if self.fulfilment is not None:
            u = self.fulfilment.reindex(economy.product_ids).fillna(0.0).to_numpy(dtype=float)
            need = need + u * t.basket
        short = pd.Series(dtype=float)
        if self.shortfall is not None:
            s = self.shortfall.reindex(economy.product_ids).fillna(0.0).to_numpy(dtype=float)
            need = need - s
            short = self.shortfall[self.shortfall > 0]
        frames.append(_violations("balance", economy.product_ids, net, need, np.full_like(net, np.inf), rtol))
        fu = economy.factor_use @ z
        lim = self.limits.reindex(economy.factor_ids).to_numpy(dtype=float)
        frames.append(_violations("factor", economy.factor_ids, fu, np.full_like(fu, -np.inf), lim, rtol))
        n_trade = 0
        if self.trade_limits:
            from gosplan.planning.model import _trade_rows

            T, pairs, tl = _trade_rows(economy, self.trade_limits)
            n_trade = len(pairs)
            ids = pd.Index([f"{a}->{b}" for a, b in pairs], dtype=object)
            frames.append(_violations("trade", ids, T @ z, np.full(len(pairs), -np.inf), tl, rtol))
        frames = [f for f in frames if len(f)]
        viol = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["kind", "id", "side", "bound", "value", "excess"]
        )
        match = (
            self.manifest.get("economy", {}).get("economy") == economy_digest(economy)["economy"]
            and self.manifest.get("targets", {}).get("targets") == targets_digest(t)["targets"]
        )
        worst = float(viol["excess"].max()) if len(viol) else 0.0
        return Verification(
            ok=len(viol) == 0,
            violations=viol,
            max_violation=worst,
            checked={
                "levels": len(z),
                "balances": len(net),
                "factors": len(fu),
                "trade": n_trade,
            },
            inputs_match=bool(match),
            shortfalls=short,
        )

    # -- output --------------------------------------------------------------------
    def to_frame(self, economy: Economy | None = None) -> pd.DataFrame:
        """One long table: every activity level, product valuation (and, given the
        economy, output and net output), factor use and valuation."""
        frames = [
            pd.DataFrame({"kind": "activity", "id": self.levels.index, "level": self.levels.to_numpy(),
                          "reduced_cost": self.reduced_costs.to_numpy()}),
        ]
        prod = pd.DataFrame({"kind": "product", "id": self.valuations.index, "valuation": self.valuations.to_numpy()})
        if economy is not None:
            prod["output"] = self.outputs(economy).to_numpy()
            prod["net_output"] = self.net_output(economy).to_numpy()
        frames.append(prod)
        fac = pd.DataFrame({"kind": "factor", "id": self.factor_valuations.index,
                            "valuation": self.factor_valuations.to_numpy(), "limit": self.limits.to_numpy()})
        if economy is not None:
            fac["use"] = self.factor_use(economy).to_numpy()
        frames.append(fac)
        df = pd.concat(frames, ignore_index=True)
        df["id"] = df["id"].astype(str)
        return df

    def write(self, path: str | Path, economy: Economy | None = None) -> Path:
        """Write :meth:`to_frame` to Parquet or CSV (by suffix), the manifest beside it
        as ``<name>.manifest.json``."""
        p = Path(path)
        df = self.to_frame(economy)
        if p.suffix == ".parquet":
            df.to_parquet(p, index=False)
        elif p.suffix == ".csv":
            df.to_csv(p, index=False)
        else:
            raise SourceError(f"{p}: write a plan to .parquet or .csv")
        meta = dict(self.manifest)
        meta["summary"] = self.summary()
        Path(str(p) + ".manifest.json").write_text(json.dumps(meta, indent=2, default=str))
        return p

    def replace(self, **changes: Any) -> Plan:
        """A copy with some fields changed (e.g. perturbed levels for a test)."""
        return dataclasses.replace(self, **changes)
