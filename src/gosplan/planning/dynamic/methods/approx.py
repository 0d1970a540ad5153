"""Approximate multi-period plans from a first-order solver, repaired and certified.

Simplex and HiGHS's interior point (IPX) are slow on large multi-period plans
(n = 1,000 products x T = 10 periods: no simplex answer in 45 minutes of CPU;
IPX about 20 s per iteration on one core), while the first-order primal-dual
hybrid gradient (PDLP; Applegate et al. 2021, *Practical large-scale linear
programming using primal-dual hybrid gradient*, NeurIPS) reaches a relative
accuracy of about 1e-6 in seconds. Its point is only approximately feasible, so
this module owns the two steps that make it usable as a plan:

1. *repair* (for :class:`~gosplan.planning.dynamic.MaxConsumption` plans): clip
   levels and investment to their bounds, recompute capacity exactly from the
   accumulation recursion, cut levels to capacity and factor supply, top up the
   last investments so the terminal condition holds, and lower the consumption
   level until every product balance holds (feasible to rounding); then, with
   investment fixed, re-optimise each period's levels and consumption exactly
   (T small one-period LPs), so the stock-flow identities hold to the
   feasibility tolerance of an exact solve;
2. *certify*: recompute from the raw LP arrays the relative primal and dual
   infeasibility and the relative gap between the repaired objective and the dual
   objective of PDLP's duals. A plan whose measures are within the asked accuracy
   gets the status ``SolverStatus.APPROXIMATE``, never ``OPTIMAL``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from gosplan.planning.solver import EXACT_TOL, relative_accuracy

#: relative primal infeasibility an approximate plan may keep (that of an exact simplex solve)
PRIMAL_TOL = EXACT_TOL

__all__ = ["PRIMAL_TOL", "polish_periods", "repair_max_consumption", "solve_approximate"]


def repair_max_consumption(lp: Any, layout: Any, spec: Any, economy: Any, x: np.ndarray) -> np.ndarray | None:
    """A feasible point near ``x`` for a MaxConsumption plan, or None when the
    repair does not apply (fixed investment shares or rates) or fails (a floor
    cannot be met by lowering consumption).

    Each step keeps the earlier ones true: bounds, then capacity from the
    accumulation recursion ``k_{t+1} = (1 - delta) k_t + z_{t+1-lag}``, then
    ``x <= k`` and factor limits (levels scaled down), then the terminal
    condition (new capacity in the last periods scaled up), then the
    consumption level ``u_t = min_p (net output_p,t - floor_p,t) / basket_p,t``.
    """
    if layout.n_inv or spec.investment_rate is not None or layout.nu == 0:
        return None
    T, J, Jc = layout.T, layout.J, layout.Jc
    x = np.where(np.isfinite(x), x, 0.0)
    x = np.clip(x, lp.col_lower, lp.col_upper)
    X = x[layout.cols("x")].reshape(T, J).copy()
    Z = x[layout.cols("z")].reshape(T, Jc).copy()
    cap_idx = layout.cap_idx
    N = sp.csr_array(economy.make - economy.use)
    Kc = sp.csr_array(economy.capital[:, cap_idx]) if Jc else sp.csr_array((len(economy.products), 0))
    keep = 1.0 - spec.depreciation[cap_idx]
    lag = spec.lag[cap_idx].astype(int)
    k0 = spec.initial_capacity[cap_idx]

    def capacity(Z: np.ndarray) -> np.ndarray:
        K = np.empty((T + 1, Jc))
        K[0] = k0
        cols = np.arange(Jc)
        for t in range(T):  # the recursion runs over periods; each step is a vector operation
            src = t + 1 - lag
            feed = np.where(src >= 0, Z[np.maximum(src, 0), cols], 0.0)
            K[t + 1] = keep * K[t] + feed
        return K

    K = capacity(Z)
    if Jc and spec.terminal.kind != "none":
        grow = (1.0 + spec.terminal.growth) ** T
        last_src = T - lag  # the period whose new capacity arrives in k_{T+1}
        movable = last_src >= 0
        if spec.terminal.kind == "capacity":
            need = np.maximum(grow * k0 - K[T], 0.0)
            if (need[~movable] > 0).any():
                return None
            Z[last_src[movable], np.flatnonzero(movable)] += need[movable]
        else:
            held = np.flatnonzero(np.diff(Kc.indptr) > 0)
            Kh = sp.csr_array(Kc[held])
            have, want = Kh @ K[T], grow * (Kh @ k0)
            short = want > have * (1 + 1e-15)
            if short.any():
                # each short stock is topped up through the activity holding most of it
                # per unit of capacity among those whose new capacity can still arrive
                Kmov = sp.csc_array(Kh[:, np.flatnonzero(movable)]) if movable.any() else None
                if Kmov is None:
                    return None
                Kd = Kmov.tocsr()
                for i in np.flatnonzero(short):  # loop over short stocks only (few)
                    a, b = Kd.indptr[i], Kd.indptr[i + 1]
                    if a == b:
                        return None
                    jj = Kd.indices[a:b][np.argmax(Kd.data[a:b])]
                    j = np.flatnonzero(movable)[jj]
                    need = (want[i] - Kh[[i]] @ K[T])[0]
                    if need > 0:
                        dz = need / Kd.data[a:b].max() * (1 + 1e-12)
                        Z[last_src[j], j] += dz
                        K[T, j] += dz
        K = capacity(Z)
    if Jc:
        X[:, cap_idx] = np.minimum(X[:, cap_idx], K[:T])
    fu = X @ economy.factor_use.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(fu > spec.factor_supply, spec.factor_supply / fu, 1.0)
    X *= np.clip(ratio.min(axis=1, initial=1.0), 0.0, 1.0)[:, None]
    net = X @ N.T - Z @ Kc.T - spec.final_demand
    b = _basket_from_lp(lp, layout)
    if ((b <= 0) & (net < 0)).any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        cap_u = np.where(b > 0, net / b, np.inf).min(axis=1)
    if layout.nu == 1:
        cap_u = np.full(1, cap_u.min())
    if (cap_u < 0).any():
        return None
    out = x.copy()
    out[layout.cols("x")] = X.ravel()
    out[layout.cols("z")] = Z.ravel()
    out[layout.cols("k")] = K.ravel()
    out[layout.cols("u")] = np.minimum(cap_u, lp.col_upper[layout.cols("u")])
    return out


def _basket_from_lp(lp: Any, layout: Any) -> np.ndarray:
    """Basket per period (T x P), read back from the consumption columns of the
    balance rows (minus their coefficients), so that repair and LP cannot differ."""
    T, P = layout.T, layout.P
    B = sp.csc_array(lp.A[:, layout.cols("u")])[layout.rows("balance")]
    dense = -B.toarray()  # (T*P) x nu, nu in {1, T}
    if layout.nu == 1:
        return dense[:, 0].reshape(T, P)
    return dense[np.arange(T * P), np.repeat(np.arange(T), P)].reshape(T, P)


def polish_periods(lp: Any, layout: Any, x: np.ndarray, options: Any = None) -> np.ndarray | None:
    """Re-optimise each period's levels and consumption with investment fixed.

    With new capacity ``z`` and capacity ``k`` held at the values of ``x`` (a
    feasible point from :func:`repair_max_consumption`), the plan falls apart
    into T one-period plans: maximise ``u_t`` subject to period t's product
    balances and factor limits, with ``x_t <= k_t``. Each is solved exactly (by
    simplex, a small LP); with a single consumption level the path's level is the
    least of the periods' (lowering it keeps every balance, surplus being free).
    Returns the improved point, or None when a period fails (then the repaired
    point stands).
    """
    from gosplan.planning.solver import LinearProgram, SolverOptions, SolverStatus, solve_lp

    options = options or SolverOptions(method="dual_simplex", threads=1)
    T, J, Jc, P, F = layout.T, layout.J, layout.Jc, layout.P, layout.F
    A = sp.csr_array(lp.A)
    xa, ua = layout.col_blocks["x"][0], layout.col_blocks["u"][0]
    ba, fa = layout.row_blocks["balance"][0], layout.row_blocks["factor"][0]
    out = x.copy()
    us = np.empty(T)
    for t in range(T):  # one small exact LP per period
        rows = np.concatenate([np.arange(ba + t * P, ba + (t + 1) * P), np.arange(fa + t * F, fa + (t + 1) * F)])
        ucol = ua + (t if layout.nu == T else 0)
        cols = np.concatenate([np.arange(xa + t * J, xa + (t + 1) * J), [ucol]])
        sub = sp.csc_array(A[rows])
        mask = np.ones(lp.shape[1], dtype=bool)
        mask[cols] = False
        fixed = sub[:, np.flatnonzero(mask)] @ x[mask]
        lo = lp.col_lower[cols].copy()
        hi = lp.col_upper[cols].copy()
        if Jc:
            ka = layout.col_blocks["k"][0] + t * Jc
            hi[layout.cap_idx] = np.minimum(hi[layout.cap_idx], x[ka : ka + Jc])
        hi[-1] = np.inf
        lo[-1] = 0.0
        c = np.zeros(len(cols))
        c[-1] = 1.0
        sub_lp = LinearProgram(
            c=c, A=sub[:, cols], row_lower=lp.row_lower[rows] - fixed, row_upper=lp.row_upper[rows] - fixed,
            col_lower=lo, col_upper=np.maximum(hi, lo), sense="max",
        )
        r = solve_lp(sub_lp, options, start=x[cols])
        if r.status is not SolverStatus.OPTIMAL:
            return None
        out[cols[:-1]] = np.clip(r.x[:-1], lo[:-1], hi[:-1])
        us[t] = r.x[-1]
    if layout.nu == T:
        out[ua : ua + T] = us
    else:
        out[ua] = us.min()
    return out


def solve_approximate(lp: Any, layout: Any, spec: Any, economy: Any, options: Any, accuracy: float, progress: Any = None) -> Any:
    """PDLP, then repair, per-period polish and certification of a MaxConsumption plan.

    PDLP runs without presolve (HiGHS's postsolve of PDLP's duals was measured to
    lose dual feasibility: relative dual infeasibility 2 on n = 1,000 x T = 10).
    The returned :class:`~gosplan.planning.solver.LPResult` has status
    ``APPROXIMATE`` when the repaired point's relative primal infeasibility is
    below ``PRIMAL_TOL`` (1e-7, the feasibility tolerance of an exact solve) and
    its relative dual infeasibility and gap (see :func:`relative_accuracy`) are
    below ``accuracy``; else ``NOT_SOLVED`` (or
    the solver's own failure status). ``info["accuracy"]`` holds the measures of
    the returned point, ``info["pdlp_accuracy"]`` those of PDLP's raw point.
    """
    import dataclasses

    from gosplan.planning.solver import SolverStatus, primal_infeasibility, solve_lp

    opts = dataclasses.replace(options, method="pdlp", presolve=False)
    res = solve_lp(lp, opts, progress)
    if res.status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED, SolverStatus.UNBOUNDED, SolverStatus.INTERRUPTED):
        return res
    if not (np.isfinite(res.x).all() and np.isfinite(res.row_duals).all() and np.isfinite(res.col_duals).all()):
        return dataclasses.replace(res, status=SolverStatus.NOT_SOLVED)
    raw = res.info.get("accuracy") or relative_accuracy(lp, res.x, res.row_duals, res.col_duals)
    x = repair_max_consumption(lp, layout, spec, economy, res.x)
    stage = "pdlp"
    if x is not None:
        stage = "repaired"
        polished = polish_periods(lp, layout, x)
        if polished is not None:
            x, stage = polished, "polished"
    else:
        x = res.x
    acc = relative_accuracy(lp, x, res.row_duals, res.col_duals)
    # the polish's simplex meets rows to HiGHS's feasibility tolerance (1e-7), as an
    # exact plan does; the repair alone meets them to rounding
    ok = acc["primal"] <= PRIMAL_TOL and acc["dual"] <= accuracy and acc["gap"] <= accuracy
    ax = lp.A @ x
    return dataclasses.replace(
        res,
        status=SolverStatus.APPROXIMATE if ok else SolverStatus.NOT_SOLVED,
        x=x,
        row_activity=ax,
        objective=acc["objective"],
        dual_objective=acc["dual_objective"],
        gap=acc["gap"],
        primal_infeasibility=primal_infeasibility(lp, x, ax),
        method="pdlp+repair",
        solver_status=f"{res.solver_status}; {stage}; relative primal {acc['primal']:.1e}, dual {acc['dual']:.1e}, gap {acc['gap']:.1e}",
        info={**res.info, "accuracy": acc, "pdlp_accuracy": raw, "stage": stage, "asked_accuracy": accuracy},
    )
