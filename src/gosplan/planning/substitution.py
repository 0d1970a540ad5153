"""A fast exact method for the most common plan: alternative techniques, capacities,
a few factor limits, least use of a factor for fixed floors.

When every activity makes one product, the economy is a *Leontief substitution
system* (Samuelson 1951; Koopmans 1951): with labour the only cost, the cheapest
technique of each product is the cheapest whatever the final demand, and prices
solve ``p_i = min_j (c_j + p' U_j) / m_j`` (``U_j`` inputs, ``m_j`` output of
technique j). This module solves the LP of :mod:`gosplan.planning.model` for that
case *without factorising any matrix*, so that random sparse economies of 10^5
products, whose LU factors are dense, are planned in seconds:

* **Inner problem** (costs ``c``, capacities, no factor limits): the *merit-order
  fixed point*. Given prices, each product's techniques are ordered by unit cost
  and filled cheapest first up to their capacities (the last one used is the
  product's *marginal* technique); gross outputs solve ``x = d + U z(x)``; prices
  solve ``p_i = (c_j + p' U_j) / m_j`` for the marginal technique ``j`` of each
  product. Both are contractions when every technique uses less than ``rho < 1``
  units of inputs per unit of output (column sums of ``U`` over ``m``), solved by
  fixed-point iteration. When the marginal techniques stop changing, the plan and
  the prices satisfy complementary slackness: techniques cheaper than the marginal
  run at capacity, dearer ones are idle -- an exact optimum.
* **Factor limits** ``G z <= g``: Lagrangian relaxation, ``c = l + G' lambda``, with
  the multipliers found by Kelley's cutting planes on the concave dual function
  ``phi(lambda) = min_z (l + G' lambda)' z - lambda' g``; each inner plan ``z_t``
  adds the exact cut ``eta <= l' z_t + lambda' (G z_t - g)``. The plan is the convex
  combination of the inner plans weighted by the duals of the final master problem
  (Dantzig-Wolfe decomposition, Dantzig and Wolfe 1960), feasible by construction;
  the prices are those of the best dual point. The method stops when the primal
  and dual objectives agree to ``options.tol`` (relative).
* **Degenerate capacities**: where a capacity binds exactly and its rent is set by
  a tie in a product that uses it, prices and merit orders chase each other in a
  cycle; the capacities of the products whose marginal technique flips are then
  lifted from the inner problem and priced by the cutting planes, as limits.

The result is an :class:`~gosplan.planning.solver.LPResult` whose accuracy
(primal and dual infeasibility, gap) is recomputed from the arrays by the seam's
own functions: a plan is called optimal only on that certificate. Where the
method does not apply or does not certify, the caller falls back to HiGHS.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from gosplan.planning.solver import (
    LinearProgram,
    LPResult,
    SolverOptions,
    SolverStatus,
    dual_infeasibility,
    dual_objective,
    primal_infeasibility,
    solve_lp,
)

#: Largest input per unit of output (column sum of U over m) the fixed points accept.
MAX_RHO = 0.98
#: Most factor limits handled by the cutting planes.
MAX_LIMITS = 8


def why_not(model: Any, c: np.ndarray, sense: str) -> str | None:
    """Why the substitution method cannot solve this model (None when it can)."""
    e = model.economy
    if sense != "min":
        return "the objective is not a minimisation"
    if set(model.cols) != {"levels"} or set(model.rows) - {"balance", "factor"}:
        return "the model has basket, fulfilment, shortfall or trade blocks"
    if (c < 0).any():
        return "some activity has a negative cost"
    mk = e.make.tocsc()
    if (np.diff(mk.indptr) != 1).any():
        return "some activity makes more than one product (joint production)"
    if (model.targets.required < 0).any():
        return "some floor is negative"
    m = mk.data
    rho = np.asarray(e.use.sum(axis=0)).ravel() / m
    if rho.size and rho.max() > MAX_RHO:
        return f"some technique uses {rho.max():.3g} units of inputs per unit of output (needs < {MAX_RHO})"
    uncapped = np.bincount(mk.indices[~np.isfinite(model.capacities)], minlength=len(e.products))
    if (uncapped == 0).any():
        bad = e.product_ids[np.flatnonzero(uncapped == 0)[0]]
        return f"every technique of product {bad!r} has a capacity (the method needs one without)"
    if int(np.isfinite(model.limits).sum()) > MAX_LIMITS:
        return f"more than {MAX_LIMITS} finite factor limits"
    return None


def _fixed_point(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, tol: float = 1e-13, maxit: int = 2000,
                 depth: int = 6):
    """Solve ``x = f(x)`` for a contraction ``f`` by Anderson acceleration (Walker and
    Ni 2011), with plain iteration as a safeguard when a step does not help.

    Returns the solution and the number of evaluations of ``f`` (negative when
    ``maxit`` was reached)."""
    n = len(x)
    # differences of iterates and residuals in ring buffers: no re-stacking per step
    dX = np.empty((depth, n))
    dR = np.empty((depth, n))
    k = 0  # differences stored
    head = 0
    fx = f(x)
    r = fx - x
    best = np.abs(r).max(initial=0.0)
    for it in range(2, maxit + 1):
        if np.abs(r).max(initial=0.0) <= tol * max(1.0, np.abs(fx).max(initial=0.0)):
            return fx, it - 1
        if k:
            live = slice(0, k)
            gram = dR[live] @ dR[live].T
            try:
                gamma = np.linalg.solve(gram + 1e-14 * np.trace(gram) * np.eye(k), dR[live] @ r)
                x_new = fx - gamma @ (dX[live] + dR[live])
            except np.linalg.LinAlgError:
                x_new = fx
        else:
            x_new = fx
        fx_new = f(x_new)
        r_new = fx_new - x_new
        size = np.abs(r_new).max(initial=0.0)
        if size > best and k:
            # acceleration did not help: forget the history, take a plain step
            k = head = 0
            x_new = fx
            fx_new = f(x_new)
            r_new = fx_new - x_new
            size = np.abs(r_new).max(initial=0.0)
        else:
            dX[head] = x_new - x
            dR[head] = r_new - r
            head = (head + 1) % depth
            k = min(k + 1, depth)
        best = min(best, size)
        x, fx, r = x_new, fx_new, r_new
    return fx, -maxit


class _Inner:
    """The capacitated substitution problem for one cost vector (see module docstring)."""

    def __init__(self, U: sp.csc_array, m: np.ndarray, prod: np.ndarray, cap: np.ndarray, d: np.ndarray, n: int,
                 tol: float = 1e-12):
        self.U, self.m, self.prod, self.d, self.n = U, m, prod, d, n
        self.tol = tol  # relative accuracy of the fixed points: well below the certificate's
        self.UT = sp.csr_array(U.T)
        self.oc = cap * m  # capacity in units of output
        self.J = len(m)
        self.matvecs = 0
        self.failure = ""
        self.relax = np.zeros(0, dtype=np.int64)  # capped techniques to hand to the outer loop

    def solve(self, c: np.ndarray, p: np.ndarray | None, x: np.ndarray | None):
        n, J, m, prod = self.n, self.J, self.m, self.prod
        if p is None:
            def cheapest(p: np.ndarray) -> np.ndarray:
                k = (c + self.UT @ p) / m
                out = np.full(n, np.inf)
                np.minimum.at(out, prod, k)
                return out

            p, it = _fixed_point(cheapest, np.zeros(n), tol=self.tol)
            self.matvecs += abs(it)
        x = self.d.copy() if x is None else x
        prev = None
        seen: dict[bytes, np.ndarray] = {}
        alpha = 1.0
        self.relax = np.zeros(0, dtype=np.int64)
        for _ in range(200):
            k = (c + self.UT @ p) / m
            order = np.lexsort((k, prod))
            sp_ = prod[order]
            start = np.searchsorted(sp_, np.arange(n))
            occ = self.oc[order]
            fin = np.isfinite(occ)
            cum = np.cumsum(np.where(fin, occ, 0.0))
            cumex = np.r_[0.0, cum[:-1]] - np.r_[0.0, cum][start][sp_]
            ninf = np.cumsum(~fin)
            after_uncapped = (np.r_[0, ninf[:-1]] - np.r_[0, ninf][start][sp_]) > 0
            cumex = np.where(after_uncapped, np.inf, cumex)
            reach = ~after_uncapped
            act = order[reach]
            Ua = self.U[:, act]  # column slice of CSC: no conversion, CSC matvec
            ce, oa, ma, pa = cumex[reach], occ[reach], m[act], sp_[reach]

            def step(x: np.ndarray) -> np.ndarray:
                return self.d + Ua @ (np.clip(x[pa] - ce, 0.0, oa) / ma)

            x, it = _fixed_point(step, x, tol=self.tol)
            self.matvecs += abs(it)
            if it < 0:
                self.failure = "the fixed point of gross outputs did not converge"
                return None
            alloc = np.clip(x[pa] - ce, 0.0, oa)
            short = x - np.bincount(pa, weights=alloc, minlength=n)
            if (short > 1e-9 * np.maximum(1.0, x)).any():
                self.failure = "capacities of some product cannot meet its gross output"
                return None
            z = np.zeros(J)
            z[act] = alloc / ma
            used = ce < x[pa] - 1e-12 * np.maximum(1.0, x[pa])
            pos = np.arange(len(act))
            last = np.full(n, -1)
            np.maximum.at(last, pa, np.where(used, pos, -1))
            first = np.searchsorted(pa, np.arange(n))
            marg = act[np.where(last >= 0, last, first)]
            Um = sp.csr_array(self.UT[marg])
            cm, mm = c[marg], m[marg]
            p_new, it = _fixed_point(lambda p: (cm + Um @ p) / mm, p, tol=self.tol)
            self.matvecs += abs(it)
            key = marg.tobytes()
            moved = np.abs(p_new - p).max(initial=0.0) / max(1.0, np.abs(p_new).max(initial=0.0))
            if key == prev and moved <= 10 * self.tol:
                return z, p_new, x
            if key in seen and key != prev:
                # The prices and the merit orders chase each other: a capacity binds
                # exactly and its rent is set elsewhere (by a tie in a product that uses
                # it). Hand the capped techniques of the products whose marginal
                # technique flips to the outer loop, which prices them as limits.
                other = seen[prev]
                flip = np.flatnonzero(other != marg)
                cand = np.concatenate([other[flip], marg[flip]])
                cand = np.unique(cand[np.isfinite(self.oc[cand])])
                if len(cand):
                    self.relax = cand
                    self.failure = "a capacity binds exactly with its rent set elsewhere"
                    return None
                alpha = max(alpha * 0.5, 1e-3)
            seen[key] = marg
            prev = key
            p = p_new if alpha == 1.0 else p + alpha * (p_new - p)
        self.failure = "the marginal techniques did not settle in 200 rounds"
        return None


def _first_guess(inner: _Inner, c: np.ndarray, G: sp.csr_array, s: np.ndarray, z: np.ndarray, p: np.ndarray,
                 x: np.ndarray) -> np.ndarray:
    """Multipliers at which direct technique switches would save the excess use of
    each limited factor (ignoring knock-on effects through inputs): for every idle
    technique, the extra unit cost per unit of factor it saves against its
    product's present average; switches are taken cheapest first until they cover
    the excess ``s_l``."""
    m, prod = inner.m, inner.prod
    k = (c + inner.UT @ p) / m
    extra = np.maximum(k - p[prod], 0.0)
    out = np.zeros(G.shape[0])
    for row in np.flatnonzero(s > 0):
        gl = G[[row]].toarray().ravel()
        avg = np.bincount(prod, weights=gl * z, minlength=len(p)) / np.maximum(x, 1e-300)
        saves = avg[prod] - gl / m
        ok = (saves > 0) & (x[prod] > 0)
        if not ok.any():
            continue
        ratio = extra[ok] / saves[ok]
        amount = saves[ok] * x[prod[ok]]
        order = np.argsort(ratio)
        covered = np.cumsum(amount[order])
        at = int(np.searchsorted(covered, s[row]))
        out[row] = ratio[order][min(at, len(order) - 1)]
    return out


def _failed(reason: str, lp: LinearProgram, t0: float, matvecs: int = 0) -> LPResult:
    m, n = lp.shape
    nan = math.nan
    return LPResult(
        status=SolverStatus.NOT_SOLVED, x=np.full(n, nan), row_duals=np.full(m, nan), col_duals=np.full(n, nan),
        row_activity=np.full(m, nan), objective=nan, dual_objective=nan, gap=nan, iterations=0,
        seconds=time.perf_counter() - t0, method="substitution", solver_status=reason,
        info={"failure": reason, "matvecs": matvecs},
    )


def solve_substitution(
    model: Any,
    c: np.ndarray,
    lp: LinearProgram,
    options: SolverOptions = SolverOptions(),
    progress: Callable[[dict[str, Any]], bool | None] | None = None,
) -> LPResult | None:
    """Solve ``lp`` (built by ``model`` with cost ``c``) by the substitution method.

    Returns None where the method does not apply (see :func:`why_not`); an LPResult
    otherwise: status NOT_SOLVED with ``info["failure"]`` when it could not finish
    (a fixed point did not converge, capacities fall short), OPTIMAL only when the recomputed gap, primal and dual
    infeasibilities are all within ``options.tol`` (relative).
    """
    if why_not(model, c, lp.sense) is not None:
        return None
    t0 = time.perf_counter()
    e = model.economy
    n, J = len(e.products), len(e.activities)
    mk = e.make.tocsc()
    inner = _Inner(sp.csc_array(e.use), mk.data.copy(), mk.indices.astype(np.int64), model.capacities,
                   model.targets.required, n, tol=min(1e-10, 1e-3 * float(options.tol)))
    lim = np.flatnonzero(np.isfinite(model.limits))
    G = sp.csr_array(e.factor_use[lim]) if len(lim) else sp.csr_array((0, J))
    g = model.limits[lim]
    cl = c[model.cols["levels"]]
    tol = float(options.tol)
    # the cutting planes aim two orders below the tolerance: once the pieces of the dual
    # function around its maximum are found they close the gap in an iteration or two
    target = min(tol, 1e-9)
    deadline = None if options.time_limit is None else t0 + float(options.time_limit)

    def pad(v: np.ndarray, size: int) -> np.ndarray:
        return np.r_[v, np.zeros(size - len(v))]

    def kelley(G: sp.csr_array, g: np.ndarray, state: dict):
        # Plans and bounds found before some capacities were lifted stay valid: every
        # earlier plan is feasible for the wider inner problem (its cut still bounds the
        # dual function from above) and every earlier dual value still bounds the LP
        # from below. So a restart keeps them, with the new multipliers at zero.
        mG = G.shape[0]
        cuts_z: list[np.ndarray] = state.setdefault("z", [])
        cuts_v: list[float] = state.setdefault("v", [])
        cuts_s: list[np.ndarray] = [G @ z - g for z in cuts_z]
        warm = [(pad(lw, mG), pw, xw) for lw, pw, xw in state.get("warm", [])]
        state["warm"] = warm
        phi0, lam0, p0_ = state.get("best", (-math.inf, None, None))
        best = (phi0, None if lam0 is None else pad(lam0, mG), p0_)
        lam = np.zeros(mG) if best[1] is None else best[1].copy()
        scale = max(1.0, float(np.abs(cl).max(initial=0.0)))
        # a global box keeps the first masters bounded (widened when the optimum touches
        # it); a trust region around the best point damps Kelley's zigzag (the box-step
        # method of Marsten, Hogan and Blankenship 1975)
        box = np.ones(mG)
        delta = np.ones(mG)
        if mG:
            Gd = sp.csr_array(G)
            gmax = np.array([np.abs(Gd.data[Gd.indptr[i]:Gd.indptr[i + 1]]).max(initial=0.0) for i in range(mG)])
            gmed = np.array([np.median(np.abs(Gd.data[Gd.indptr[i]:Gd.indptr[i + 1]])) if Gd.indptr[i + 1] > Gd.indptr[i]
                             else 1.0 for i in range(mG)])
            pos = cl[cl > 0]
            cmed = float(np.median(pos)) if len(pos) else 1.0
            box = scale / np.where(gmax > 0, gmax, 1.0) * 10.0
            delta = np.minimum(box, 0.5 * cmed / np.where(gmed > 0, gmed, 1.0))
        status = SolverStatus.NOT_SOLVED
        weights = None
        it = 0
        last_ub = math.inf
        for it in range(1, 500):
            if warm:
                near = min(range(len(warm)), key=lambda i: float(np.abs(warm[i][0] - lam).sum()))
                _, p0, x0 = warm[near]
            else:
                p0 = x0 = None
            out = inner.solve(cl + G.T @ lam, p0, x0)
            if out is None:
                return None
            z, p, x = out
            warm.append((lam.copy(), p, x))
            s = G @ z - g
            phi = float(cl @ z + lam @ s)
            improved = phi > best[0]
            if improved:
                if best[1] is not None and phi - best[0] >= 0.5 * (last_ub - best[0]):
                    delta = delta * 2.0  # the model predicted well: allow longer steps
                best = (phi, lam.copy(), p.copy())
                state["best"] = best
            cuts_z.append(z)
            cuts_s.append(s)
            cuts_v.append(float(cl @ z))
            if progress is not None:
                progress({"method": "substitution", "iteration": it, "objective": best[0],
                          "seconds": time.perf_counter() - t0})
            if not mG or (it == 1 and (s <= tol * np.maximum(1.0, np.abs(g))).all()):
                weights = np.zeros(len(cuts_z))
                weights[-1] = 1.0
                break
            if deadline is not None and time.perf_counter() > deadline:
                status = SolverStatus.TIME_LIMIT
                break
            if len(cuts_z) == 1:
                # a first guess of the multipliers instead of a corner of the box
                guess = _first_guess(inner, cl, G, s, z, p, x)
                if (guess > 0).any():
                    lam = np.minimum(guess, box)
                    delta = np.maximum(delta, 0.5 * lam)
                    continue
            # master: max eta s.t. eta - s_t' lambda <= l' z_t, lambda in the trust region
            k = len(cuts_z)
            A = sp.csr_array(np.c_[-np.asarray(cuts_s), np.ones(k)])
            lam_new = None
            for _ in range(60):
                lo = np.maximum(0.0, best[1] - delta)
                hi = np.minimum(box, best[1] + delta)
                master = LinearProgram(
                    c=np.r_[np.zeros(mG), 1.0], A=A, row_lower=np.full(k, -np.inf), row_upper=np.asarray(cuts_v),
                    col_lower=np.r_[lo, -np.inf], col_upper=np.r_[hi, np.inf], sense="max",
                )
                mres = solve_lp(master, SolverOptions(method="simplex", tol=1e-10))
                if mres.status is not SolverStatus.OPTIMAL:
                    inner.failure = f"the cutting-plane master ended {mres.status}"
                    return None
                lam_new = np.clip(mres.x[: mG], 0.0, None)
                ub = mres.objective
                eps = 1e-9 * np.maximum(1.0, np.abs(lam_new))
                tr_active = ((lam_new <= lo + eps) & (lo > 0)) | ((lam_new >= hi - eps) & (hi < box))
                box_active = lam_new >= box - eps
                if ub - best[0] > target * max(1.0, abs(best[0])):
                    break
                if tr_active.any():
                    delta = np.where(tr_active, delta * 4.0, delta)
                elif box_active.any():
                    box = np.where(box_active, box * 100.0, box)
                else:
                    weights = np.abs(mres.row_duals)
                    break
            if weights is not None:
                break
            last_ub = ub
            if not improved:
                delta = delta * 0.7  # a null step: the model was too optimistic so far out
            lam = lam_new
        return status, weights, cuts_z, cuts_v, best, it

    state: dict = {}
    relaxed = np.zeros(0, dtype=np.int64)
    Gf, gf = G, g
    for _attempt in range(20):
        if len(relaxed):
            inner.oc = model.capacities * inner.m
            inner.oc[relaxed] = np.inf
            rows = sp.csr_array((np.ones(len(relaxed)), (np.arange(len(relaxed)), relaxed)), shape=(len(relaxed), J))
            Gf = sp.csr_array(sp.vstack([G, rows]))
            gf = np.r_[g, model.capacities[relaxed]]
        out = kelley(Gf, gf, state)
        if out is not None:
            break
        if not len(inner.relax) or len(relaxed) + len(inner.relax) > 64:
            return _failed(inner.failure, lp, t0, inner.matvecs)
        relaxed = np.union1d(relaxed, inner.relax)
    else:
        return _failed("too many capacities bind with rents set elsewhere", lp, t0, inner.matvecs)
    status, weights, cuts_z, cuts_v, best, it = out
    if weights is None:
        weights = np.zeros(len(cuts_z))
        weights[int(np.argmax(cuts_v))] = 1.0
    weights = weights / weights.sum()
    zs = np.zeros(J)
    for w, zt in zip(weights, cuts_z, strict=True):
        if w > 0:
            zs += w * zt
    # the certificate: duals of the best Lagrangian point, checked from the arrays
    _, lam_b, p_b = best
    xfull = np.zeros(lp.shape[1])
    xfull[model.cols["levels"]] = zs
    y = np.zeros(lp.shape[0])
    y[model.rows["balance"]] = p_b
    if len(lim):
        y[model.rows["factor"].start + lim] = -lam_b[: len(lim)]
    zred = lp.c - lp.A.T @ y
    act = lp.A @ xfull
    obj = float(lp.c @ xfull + lp.offset)
    dobj = dual_objective(lp, y, zred)
    pinf = primal_infeasibility(lp, xfull, act)
    dinf = dual_infeasibility(lp, y, zred)
    gap = abs(obj - dobj) / max(1.0, abs(obj))
    xs = max(1.0, float(np.abs(xfull).max(initial=0.0)))
    ys = max(1.0, float(np.abs(y).max(initial=0.0)))
    if status is SolverStatus.NOT_SOLVED:
        ok = gap <= max(tol, 1e-9) and pinf <= tol * xs and dinf <= tol * ys
        status = SolverStatus.OPTIMAL if ok else SolverStatus.NOT_SOLVED
    return LPResult(
        status=status,
        x=xfull,
        row_duals=y,
        col_duals=zred,
        row_activity=act,
        objective=obj,
        dual_objective=dobj,
        gap=gap,
        iterations=it,
        seconds=time.perf_counter() - t0,
        method="substitution",
        primal_infeasibility=pinf,
        dual_infeasibility=dinf,
        solver_status="certified optimal" if status is SolverStatus.OPTIMAL else "not certified",
        info={
            "failure": "" if status is SolverStatus.OPTIMAL
            else f"not certified: gap {gap:.2g}, primal {pinf:.2g}, dual {dinf:.2g}",
            "matvecs": inner.matvecs,
            "cutting_planes": len(cuts_z),
            "limits": int(len(lim)),
            "capacities_priced_as_limits": int(len(relaxed)),
        },
    )
