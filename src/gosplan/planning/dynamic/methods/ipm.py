"""An exact interior-point method for multi-period plans of Leontief economies.

Simplex and HiGHS's interior point (IPX) are slow on large multi-period plans:
every basis and every normal-equations matrix holds ``make - use`` of every period,
which fills in (n = 1,000 products x T = 10 periods: no simplex answer in 45
minutes of CPU; IPX 15 iterations in 5 minutes). For a Leontief economy the plan
is first reduced to a program in investment (:mod:`gosplan.planning.dynamic.methods.reduction`):
investment ``z`` local to each activity, and per period the ``R`` totals of capital
goods ``w_t`` and the consumption level ``u``, global. A primal-dual interior-point
method (Mehrotra's predictor-corrector: Mehrotra 1992, *SIAM J. Optim.* 2(4);
Wright 1997, *Primal-Dual Interior-Point Methods*, ch. 10) solves it; each Newton
system by block elimination: a T x T block per activity (by eigen-decomposition,
its tiny eigenvalues floored), then one dense quasi-definite system in ``(w, u)``
and the rows that tie them to ``z`` (about ``2 T R`` unknowns; Vanderbei 1995,
*SIAM J. Optim.* 5(1)), factored by LAPACK's symmetric indefinite ``dsytrf``; the
solution is refined against the exact Newton matrix, applied through the rows.

The point is lifted back to the full LP and called optimal only when its relative
primal and dual infeasibility and duality gap, recomputed from the raw LP arrays
by :func:`gosplan.planning.solver.relative_accuracy`, are within the
tolerance (:data:`ACCURACY`); otherwise, or where the method does not apply, the
caller falls back to HiGHS.

An impossible plan is given up early: before iterating when one row of the
reduced program cannot be met even by the floors alone (:func:`_row_clash`),
else as soon as the prices of the iterates diverge along a Farkas ray
(:func:`_farkas_radius`); ``info["infeasible"]`` says which test fired. For a
large plan :func:`gosplan.planning.dynamic.plan_dynamic` reports it from these
tests (the rows, or the Farkas bound against the factor supply); a smaller one
goes to HiGHS, whose irreducible infeasible subset names the clash.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
from threadpoolctl import threadpool_limits

from gosplan.planning.dynamic.methods.reduction import Reduced, lift, reduce_plan, why_not

__all__ = ["ACCURACY", "MAX_GLOBAL", "solve_structured"]

#: relative primal and dual infeasibility and relative gap an optimal plan must meet
ACCURACY = 1e-8

#: largest global system (``2 T R + nu`` unknowns, R capital goods) the dense
#: factorisation takes on: 6,000 is about 3 s per iteration on one core (n = 1,000
#: products with 100 capital goods x T = 20 needs 4,120; n = 10,000 x T = 5, 10,000)
MAX_GLOBAL = 6_000


# -- the Newton system -------------------------------------------------------------------------


class _KKT:
    """Solves ``[H K'; K -Delta] [dv; dk] = [rho; rk]`` for the reduced program.

    ``H = A' D A + diag(dv)`` over the absorbed rows (x-, f- and local rows),
    ``K`` the kept rows (w-rows, then cross rows). Investment ``z`` is eliminated
    first, one small block per activity (its rows touch one activity only); what
    is left is a dense quasi-definite system in ``g = (w, u)`` and the kept rows,
    factored by LAPACK's symmetric indefinite ``dsytrf`` (Bunch-Kaufman pivoting:
    the block in ``w`` alone may be singular, the ``w``-rows pin it).

    The local blocks are eliminated through a square root of their inverse
    (``H_j^{-1} = Linv_j' Linv_j`` from an eigen-decomposition), as a block
    Cholesky step would, so that the rounding of every term is relative to the
    barrier weights of the rows: the rows of activity j enter the global block
    with the weight ``D_j - Phi_j' Phi_j``, ``Phi_j = Linv_j a_j' D_j``. (A
    Woodbury form ``(D_j^{-1} + a_j dz_j^{-1} a_j')^{-1}`` of the same weight was
    tried and lost all accuracy near the optimum.)
    """

    def __init__(self, red: Reduced):
        self.red = red
        T, Jc = red.T, red.Jc
        self.Gt = [np.ascontiguousarray(np.hstack([red.Gx, red.Gux[t]])) for t in range(T)]
        self.Ft = [np.hstack([red.FG, red.FGu[t]]) for t in range(T)]
        nc = red.Cz.shape[0]
        self.CzT = red.Cz.T.toarray().reshape(T, Jc, nc).transpose(1, 0, 2) if nc else np.zeros((Jc, T, 0))
        self.KrT = red.Kr.T.toarray()  # (Jc, R)
        self.Gall = np.stack([g[:Jc] for g in self.Gt], axis=1)  # (Jc, T, R + nu)
        # the rows of activity j: its T capacity rows, then its local rows (padded to L)
        nl = len(red.lcap)
        counts = np.bincount(red.lcap, minlength=Jc) if nl else np.zeros(Jc, dtype=int)
        self.L = int(counts.max(initial=0))
        slot = np.zeros(nl, dtype=int)
        if nl:
            order = np.argsort(red.lcap, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            slot[order] = np.arange(nl) - starts[red.lcap[order]]
        self.lslot = slot
        rT = T + self.L
        a = np.zeros((Jc, rT, T))
        a[:, :T, :] = -red.Lam[:T].transpose(2, 0, 1)
        if nl:
            a[red.lcap, T + slot, :] = red.la * red.zfree.T[red.lcap]
        self.a = a
        self.LU = np.zeros((Jc, self.L, red.nu))
        if nl:
            self.LU[red.lcap, slot, :] = red.lu

    def factor(self, dz, dx, df, dl, dcinv, du) -> None:
        red, T, Jc, R, nu = self.red, self.red.T, self.red.Jc, self.red.R, self.red.nu
        L, a = self.L, self.a
        rT = T + L
        Dj = np.ones((Jc, rT))
        Dj[:, :T] = dx[:, :Jc].T
        if L:
            Dj[:, T:] = 0.0
            Dj[red.lcap, T + self.lslot] = dl
        act = np.ones((Jc, rT), dtype=bool)
        if L:
            act[:, T:] = False
            act[red.lcap, T + self.lslot] = True
        Dj = np.where(act, Dj, 0.0)
        zf = red.zfree.T  # (Jc, T)
        # H_j = dz + a' D a = V diag(lam) V'; Linv = diag(lam)^{-1/2} V' (a square root
        # of H^{-1}); Phi = Linv a' D; the rows' weight D - Phi' Phi. Near the optimum
        # a block may be singular to rounding (two investments only their sum
        # matters for): its eigenvalues are floored at 1e-14 of the largest, and
        # the refinement against the exact matrix makes up the difference.
        aTD = a.transpose(0, 2, 1) * Dj[:, None, :]  # a' D per activity
        H = aTD @ a
        it = np.arange(T)
        H[:, it, it] += np.where(zf, dz.T, 1.0)
        lam, V = np.linalg.eigh(H)
        lam = np.maximum(lam, 1e-14 * lam[:, -1:])
        Linv = (V / np.sqrt(lam)[:, None, :]).transpose(0, 2, 1) * zf[:, None, :]
        Hinv = Linv.transpose(0, 2, 1) @ Linv
        Phi = Linv @ aTD
        PhiT = Phi.transpose(0, 2, 1)
        What = -(PhiT @ Phi)
        idx = np.arange(rT)
        What[:, idx, idx] += Dj
        Psi = PhiT @ Linv  # D a H^{-1}
        self.Hinv, self.Psi = Hinv, Psi

        ng = red.ng
        nc = red.Cz.shape[0]
        nk = T * R + nc
        # the global matrix [[S, Sgk], [Sgk', Skk]], its upper triangle written in place
        M = np.zeros((ng + nk, ng + nk))
        S, Sgk, Skk = M[:ng, :ng], M[:ng, ng:], M[ng:, ng:]
        uo = T * R
        nx = red.nx

        def add(t1: int, t2: int, B: np.ndarray) -> None:
            a1, a2 = t1 * R, t2 * R
            S[a1 : a1 + R, a2 : a2 + R] += B[:R, :R]
            S[a1 : a1 + R, uo:] += B[:R, R:]
            S[uo:, a2 : a2 + R] += B[R:, :R]
            S[uo:, uo:] += B[R:, R:]

        Wt = np.zeros(nx)
        for t in range(T):
            for t2 in range(t, T):
                Wt[:] = 0.0
                Wt[:Jc] = What[:, t, t2]
                if t == t2:
                    Wt[Jc:] = dx[t, Jc:]
                B = self.Gt[t].T @ (Wt[:, None] * self.Gt[t2])
                add(t, t2, B)
                if t2 != t:
                    add(t2, t, B.T)
            if red.F:
                add(t, t, self.Ft[t].T @ (df[t][:, None] * self.Ft[t]))
            if nu and L:
                Q = np.einsum("jr,jrn->jn", What[:, t, T:], self.LU)
                Cq = self.Gt[t][:Jc].T @ Q
                S[t * R : (t + 1) * R, uo:] += Cq[:R]
                S[uo:, t * R : (t + 1) * R] += Cq[:R].T
                S[uo:, uo:] += Cq[R:] + Cq[R:].T
        if nu:
            if L:
                S[uo:, uo:] += np.einsum("jrn,jrq,jqm->nm", self.LU, What[:, T:, T:], self.LU)
            S[uo:, uo:] += np.diag(du)

        # kept rows: w-rows (T*R), then cross rows (nc)
        Kr, KrT = red.Kr, self.KrT
        Ga = self.Gall
        for t2 in range(T):
            # the blocks of every period t against the w-rows of period t2, one sparse product each
            c0 = t2 * R
            Sgk[c0 : c0 + R, c0 : c0 + R] += np.eye(R)
            Z = (Kr @ (Psi[:, :T, t2][:, :, None] * Ga).reshape(Jc, -1)).reshape(R, T, R + nu)
            Sgk[:uo, c0 : c0 + R] += Z[:, :, :R].transpose(1, 2, 0).reshape(T * R, R)
            Sgk[uo:, c0 : c0 + R] += Z[:, :, R:].sum(axis=1).T
            Z = (Kr @ (Hinv[:, :, t2][:, :, None] * KrT[:, None, :]).reshape(Jc, -1)).reshape(R, T, R)
            Skk[: T * R, c0 : c0 + R] -= Z.transpose(1, 0, 2).reshape(T * R, R)
            if nu and L:
                Sgk[uo:, c0 : c0 + R] += (Kr @ np.einsum("jr,jrn->jn", Psi[:, T:, t2], self.LU)).T
        if nc:
            Yc = Hinv @ self.CzT  # H^{-1} Cz'
            V = Psi @ self.CzT  # D a H^{-1} Cz'
            for t2 in range(T):
                blk = -(Kr @ Yc[:, t2, :])  # Kz_W H^{-1} Cz'
                Skk[t2 * R : (t2 + 1) * R, T * R :] -= blk
                Skk[T * R :, t2 * R : (t2 + 1) * R] -= blk.T
            for t in range(T):
                Cv = self.Gt[t][:Jc].T @ V[:, t, :]
                Sgk[t * R : (t + 1) * R, T * R :] -= Cv[:R]
                Sgk[uo:, T * R :] -= Cv[R:]
            if nu:
                Sgk[uo:, T * R :] += red.Cu.T
                if L:
                    Sgk[uo:, T * R :] -= np.einsum("jrn,jrc->nc", self.LU, V[:, T:, :])
            Skk[T * R :, T * R :] -= self.CzT.reshape(Jc * T, nc).T @ Yc.reshape(Jc * T, nc) + np.diag(dcinv)
        # M.T is Fortran-ordered and its lower triangle is M's upper one: no copy;
        # the blocked factorisation needs its workspace asked for (else 10x slower)
        lwork = int(sla.lapack.dsytrf_lwork(M.shape[0], lower=1)[0])
        lu_, piv, info = sla.lapack.dsytrf(M.T, lower=1, lwork=max(lwork, 1), overwrite_a=1)
        if info < 0:
            raise np.linalg.LinAlgError(f"dsytrf: argument {-info}")
        self.fact = (lu_, piv)
        self.ng_ = ng

    def _bt(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``sum_j B_j' v_j`` for activity-row values v (Jc, T+L): (w part (T, R), u part)."""
        red = self.red
        T, Jc = red.T, red.Jc
        gw = v[:, :T].T @ red.Gx[:Jc]
        gu = np.einsum("tjn,jt->n", red.Gux[:, :Jc, :], v[:, :T])
        if self.L:
            gu += np.einsum("jrn,jr->n", self.LU, v[:, T:])
        return gw, gu

    def _b(self, dw: np.ndarray, du: np.ndarray) -> np.ndarray:
        """``B_j dg`` for every activity: (Jc, T+L)."""
        red = self.red
        T, Jc = red.T, red.Jc
        out = np.zeros((Jc, T + self.L))
        out[:, :T] = (dw @ red.Gx[:Jc].T + np.einsum("tjn,n->tj", red.Gux[:, :Jc, :], du)).T
        if self.L:
            out[:, T:] = self.LU @ du
        return out

    def solve(self, rz, rw, ru, rkw, rkc):
        red = self.red
        T, Jc, R = red.T, red.Jc, red.R
        v = np.einsum("jsq,qj->sj", self.Hinv, rz)
        gw, gu = self._bt(np.einsum("jrs,sj->jr", self.Psi, rz))
        bg = np.concatenate([(rw - gw).ravel(), ru - gu])
        kzw = -(red.Kr @ v.T).T
        kzc = red.Cz @ v.ravel()
        bk = np.concatenate([(rkw - kzw).ravel(), rkc - kzc])
        sol, info = sla.lapack.dsytrs(self.fact[0], self.fact[1], np.concatenate([bg, bk]), lower=1)
        dg, dk = sol[: self.ng_], sol[self.ng_ :]
        dw = dg[: T * R].reshape(T, R)
        du = dg[T * R :]
        dyw = dk[: T * R].reshape(T, R)
        dlc = dk[T * R :]
        kt = -(red.Kr.T @ dyw.T).T + (red.Cz.T @ dlc).reshape(T, Jc)
        dz = np.einsum("jsq,qj->sj", self.Hinv, rz - kt) - np.einsum("jrs,jr->sj", self.Psi, self._b(dw, du))
        return dz, dw, du, dyw, dlc


# -- the interior-point iteration -------------------------------------------------------------


@dataclass(eq=False)
class _Point:
    z: np.ndarray
    w: np.ndarray
    u: np.ndarray
    mz: np.ndarray
    mu: np.ndarray
    sx: np.ndarray
    lx: np.ndarray
    sf: np.ndarray
    lf: np.ndarray
    sl: np.ndarray
    ll: np.ndarray
    sc: np.ndarray
    lc: np.ndarray
    yw: np.ndarray


#: the iteration gives up on an infeasible program when its prices prove that every
#: plan would need more investment and consumption than the factor supply allows
#: (:func:`_size_bound`), or at least this many times those of the current iterate
#: and the initial capacity together (see :func:`_farkas_radius`)
FARKAS_RADIUS = 1e6

#: the infeasibility the prices must prove is of the program with every row relaxed
#: by this share of its largest right-hand side (100 times the certificate's
#: tolerance): a plan infeasible only within the tolerance is never given up
_FARKAS_SLACK = 1e-6

#: the pre-check gives up before iterating when a row's smallest possible relative
#: violation exceeds this many times the certificate's tolerance (see :func:`_row_clash`)
_CLASH_MARGIN = 10.0

#: centrality correctors per iteration, and the share of the step to the boundary taken
_CORRECTORS = 2
_STEP = 0.9995

_PAIRS = (("z", "mz"), ("u", "mu"), ("sx", "lx"), ("sf", "lf"), ("sl", "ll"), ("sc", "lc"))


def _max_step(v: np.ndarray, dv: np.ndarray, mask: np.ndarray | None) -> float:
    neg = dv < 0
    if mask is not None:
        neg &= mask
    if not neg.any():
        return 1.0
    return float(min(1.0, np.min(-v[neg] / dv[neg])))


def _start(red: Reduced) -> _Point:
    """A strictly positive starting point: unit investment and consumption, slacks
    at least 1, unit duals."""
    T, R, nu = red.T, red.R, red.nu
    mx, mf = np.isfinite(red.hx), np.isfinite(red.hf)
    hx, hf = np.where(mx, red.hx, 0.0), np.where(mf, red.hf, 0.0)
    zf = red.zfree
    z = zf.astype(float)
    u = np.ones(nu)
    w = (red.Kr @ z.T).T
    ax, af, al, ac, _ = red.rows(z, w, u)
    return _Point(
        z=z, w=w, u=u, mz=zf.astype(float), mu=np.ones(nu),
        sx=np.where(mx, np.maximum(hx - ax, 1.0), 1.0), lx=mx.astype(float),
        sf=np.where(mf, np.maximum(hf - af, 1.0), 1.0), lf=mf.astype(float),
        sl=np.maximum(red.hl - al, 1.0), ll=np.ones(len(red.hl)),
        sc=np.maximum(red.hc - ac, 1.0), lc=np.ones(len(red.hc)), yw=np.zeros((T, R)),
    )


def _row_clash(lp: Any, layout: Any, red: Reduced, tol: float) -> dict[str, Any] | None:
    """Rows that the floors alone already break by more than any lifted point could
    hide, or None: the single-row infeasibility test of LP presolve (Brearley,
    Mitra and Williams 1975, *Math. Programming* 8; Andersen and Andersen 1995,
    *Math. Programming* 71, sec. 3: a row whose least activity over the bounds of
    its variables exceeds its upper bound), exact for this structure.

    The rows tested: factor rows, capacity rows of a period that no investment
    reaches yet (capacity fixed at ``kappa``), upper bounds on levels. A lifted
    point has levels ``x = N^{-1} (floor + K z + u basket) >= X0 = N^{-1} floor``
    (``N^{-1}``, capital, basket >= 0; ``z, u >= 0``) and factor use ``F x >= F X0``,
    so each such row's activity ``a`` is least at ``X0``, and so is its relative
    violation ``(a - b) / (1 + a + b)`` as
    :func:`~gosplan.planning.solver.relative_accuracy` measures it (increasing in
    ``a``). Where that least violation exceeds ``_CLASH_MARGIN`` times ``tol``, no
    lifted point can be certified and no plan meets the row: the plan is
    impossible, and iterating is wasted.
    """
    T, Jc = red.T, red.Jc
    found: list[tuple[float, str, int, str]] = []  # (violation, kind, LP index, text)

    def add(kind: str, a: np.ndarray, b: np.ndarray, where: np.ndarray, index: Any, text: Any) -> None:
        with np.errstate(invalid="ignore"):
            rel = np.where(where, (a - b) / (1.0 + np.abs(a) + np.abs(b)), 0.0)
        for t, i in zip(*np.nonzero(rel > _CLASH_MARGIN * tol)):
            found.append((float(rel[t, i]), kind, int(index(t, i)), text(t, i, a[t, i], b[t, i])))

    # capacity rows of the capital activities: x_t - k_t <= 0, k_t = kappa_t while
    # no investment has arrived (Lam[t, :, j] = 0); X0 = kappa - hx
    kap = red.kappa[:T]
    cap, acts = layout.rows("capacity"), layout.cap_idx
    fixed = ~red.Lam[:T].any(axis=1)  # (T, Jc)
    add("capacity", kap - red.hx[:, :Jc], kap, fixed, lambda t, i: cap.start + t * Jc + i,
        lambda t, i, a, b: f"the capacity of activity {acts[i]} in period {t + 1} of {T} (level {a:.6g} > capacity {b:.6g})")
    # upper bounds on levels: x_t <= xu, X0 = xu - hx
    if red.nx > Jc:
        xs = layout.cols("x")
        J = layout.J
        ba = red.bound_acts
        xu = np.asarray(lp.col_upper[xs]).reshape(T, J)[:, ba]
        hb = red.hx[:, Jc:]
        fin = np.isfinite(hb)
        xu0 = np.where(fin, xu, 0.0)
        add("level bound", xu0 - np.where(fin, hb, 0.0), xu0, fin, lambda t, i: xs.start + t * J + ba[i],
            lambda t, i, a, b: f"the upper bound on the level of activity {ba[i]} in period {t + 1} of {T} ({a:.6g} > {b:.6g})")
    # factor rows: F x_t <= s_t, F X0 = s - hf
    if red.F:
        fac = layout.rows("factor")
        F = red.F
        fin = np.isfinite(red.hf)
        s_ = np.where(fin, np.asarray(lp.row_upper[fac]).reshape(T, F), 0.0)
        add("factor", s_ - np.where(fin, red.hf, 0.0), s_, fin, lambda t, i: fac.start + t * F + i,
            lambda t, i, a, b: f"factor {i} in period {t + 1} of {T} (use {a:.6g} > supply {b:.6g})")
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    shown = "; ".join(f[3] for f in found[:3]) + (f"; ... ({len(found)} in all)" if len(found) > 3 else "")
    return {
        "test": "row",
        "reason": f"the floors alone need more than the plan allows: {shown}",
        "rows": sorted(f[2] for f in found if f[1] != "level bound"),
        "cols": sorted(f[2] for f in found if f[1] == "level bound"),
        "worst_violation": found[0][0],
    }


def _size_bound(red: Reduced, slack: float = 0.0) -> float:
    """An upper bound on ``sum(z) + sum(u)`` over every feasible point of the reduced
    program with its rows relaxed by ``slack``, from its factor rows (``inf`` where
    they bound not every variable).

    A factor row of period t, ``FG w_t + FGu_t u <= hf_t`` with ``w_t = Kr z_t``, has
    non-negative coefficients (``F``, ``N^{-1}``, capital and basket are), so the
    variables it uses, with ``m`` their least coefficient, sum to at most
    ``(hf_t + slack) / m``. Per period the row with the least such quotient that
    uses every free ``z_t`` is taken; consumption levels no chosen row uses get
    their own.
    """
    if not red.F:
        return math.inf
    c = (red.Kr.T @ red.FG.T).T  # (F, Jc): factor use of a unit of each activity's investment
    hf = np.where(np.isfinite(red.hf), np.maximum(red.hf + slack, 0.0), math.inf)
    total = 0.0
    covered = np.zeros(red.nu, dtype=bool)
    for t in range(red.T):
        zf = red.zfree[t]
        best: tuple[float, np.ndarray | None] = (math.inf, None)
        for f in range(red.F):
            cz, cu = c[f, zf], red.FGu[t, f]
            if not math.isfinite(hf[t, f]) or (cz <= 0).any():
                continue
            m = min(float(cz.min(initial=math.inf)), float(cu[cu > 0].min(initial=math.inf)))
            q = hf[t, f] / m if math.isfinite(m) else 0.0
            if best[1] is None or q < best[0]:
                best = (q, cu > 0)
        if best[1] is None:
            if zf.any():
                return math.inf
            continue
        total += float(best[0])
        covered |= best[1]
    for n in np.flatnonzero(~covered):
        a = red.FGu[:, :, n]
        use = (a > 0) & np.isfinite(hf)
        if not use.any():
            return math.inf
        total += float(np.min(hf[use] / a[use]))
    return total


def _abs_reduced(red: Reduced) -> Reduced:
    """The reduced program with every coefficient by its absolute value, laid out so
    that :meth:`Reduced.rows_t` of non-negative multipliers (and the ``yw`` of
    :func:`_farkas_radius`) sums absolute terms: the rounding scale of ``A' y``."""
    return dataclasses.replace(
        red, Lam=-np.abs(red.Lam), Gx=np.abs(red.Gx), Gux=np.abs(red.Gux), FG=np.abs(red.FG), FGu=np.abs(red.FGu),
        la=np.abs(red.la), lu=np.abs(red.lu), Cz=abs(red.Cz), Cu=np.abs(red.Cu), Kr=abs(red.Kr),
    )


def _farkas_radius(
    red: Reduced, p: _Point, hx: np.ndarray, hf: np.ndarray, mx: np.ndarray, mf: np.ndarray, slack: float, at_least: float,
    cache: dict[str, Any],
) -> float:
    """A bound from the iterate's row prices on how large a plan must be: every
    ``(z, u)`` feasible for the rows relaxed by ``slack`` has ``sum(z) + sum(u) >=``
    the value returned, when it is at least ``at_least`` (else 0: no bound worth
    reporting).

    For prices ``y >= 0`` of the ``<=`` rows ``A v <= h``, and the prices of the
    w-rows chosen so that ``w`` drops out (``w = Kr z``), every ``v = (z, u) >= 0``
    with ``A v <= h + slack`` has ``c . v = y' A v <= y' h + slack sum(y)`` with
    ``c`` the reduced coefficients. If that right-hand side, ``-margin``, is
    negative and ``c >= -eps``, then ``-eps |v|_1 <= -margin``, so ``|v|_1 >=
    margin / eps``; with ``eps = 0`` this is Farkas's lemma, ``y`` a certificate
    that the (relaxed) program is infeasible. On an infeasible program the prices of an
    infeasible-interior-point method grow without bound along such a ray and the
    bound grows with them (Todd 2003, "Detecting infeasibility in
    infeasible-interior-point methods for optimization", *Foundations of
    Computational Mathematics*, LMS Lecture Notes 312; Wright 1997, ch. 9); on a
    feasible one it never exceeds the size of the smallest plan. Before it is
    reported, ``eps`` and ``y' h`` take an allowance for the rounding of their sums
    (1e-12 of the sums of the terms' absolute values: ``cache`` keeps the program
    with absolute coefficients, built on first need so that a feasible plan's
    iteration allocates nothing it keeps).
    """
    lx = np.where(mx, p.lx, 0.0)
    lf = np.where(mf, p.lf, 0.0)
    hy = float((hx * lx).sum() + (hf * lf).sum() + red.hl @ p.ll + red.hc @ p.lc)
    if not hy < 0:
        return 0.0
    zf = red.zfree

    def coefficients(r: Reduced) -> tuple[np.ndarray, np.ndarray]:
        # A'y on (z, u), the w-rows' prices cancelling the w part
        gz, _, gu = r.rows_t(lx, lf, p.ll, p.lc, -(lx @ r.Gx + lf @ r.FG))
        return gz[zf], gu

    cz, cu = coefficients(red)
    eps = max(float(np.maximum(-cz, 0.0).max(initial=0.0)), float(np.maximum(-cu, 0.0).max(initial=0.0)))
    if not (math.isfinite(eps) and -hy >= at_least * eps):
        return 0.0
    if "abs" not in cache:
        cache["abs"] = _abs_reduced(red)
    sz, su = coefficients(cache["abs"])
    eps = max(
        float((np.maximum(-cz, 0.0) + 1e-12 * sz).max(initial=0.0)),
        float((np.maximum(-cu, 0.0) + 1e-12 * su).max(initial=0.0)),
    )
    hy_abs = float((np.abs(hx) * lx).sum() + (np.abs(hf) * lf).sum() + np.abs(red.hl) @ p.ll + np.abs(red.hc) @ p.lc)
    margin = -hy - slack * float(lx.sum() + lf.sum() + p.ll.sum() + p.lc.sum()) - 1e-12 * hy_abs
    if not (math.isfinite(eps) and math.isfinite(margin) and margin > 0):
        return 0.0
    radius = margin / eps if eps > 0 else math.inf
    return radius if radius >= at_least else 0.0


def _ipm(
    red: Reduced, p: _Point, tol: float, max_iter: int, deadline: float, log: list[dict[str, Any]], progress: Any = None
) -> str:
    """Mehrotra's predictor-corrector from ``p`` (updated in place) until the
    relative primal and dual residuals and gap are below ``tol``. Returns ``""``
    then, else why it stopped: ``"time_limit"``, ``"interrupted"``,
    ``"infeasible"`` (the row prices prove that every plan, even with the rows
    relaxed by ``_FARKAS_SLACK`` of the largest right-hand side, would be larger
    than the factor supply allows, :func:`_size_bound`, or more than
    :data:`FARKAS_RADIUS` times larger than the current iterate and the initial
    capacity, see :func:`_farkas_radius`; the bounds are in the last log entry,
    ``"farkas_radius"`` and ``"size_bound"``), ``"stalled"``
    (no progress in 20 iterations, an infeasible or unbounded plan, or in 3 within
    100 times the tolerance, rounding),
    ``"iteration_limit"`` or ``"numerical"``; ``p`` is then the best iterate seen
    (least of the largest relative residual and gap): near the optimum rounding
    can make the last iterates worse, and the best one may still be certified."""
    nu = red.nu
    mx, mf = np.isfinite(red.hx), np.isfinite(red.hf)
    hx, hf = np.where(mx, red.hx, 0.0), np.where(mf, red.hf, 0.0)
    zf = red.zfree
    masks = {"z": zf, "u": None, "sx": mx, "sf": mf, "sl": None, "sc": None}
    ncomp = int(zf.sum() + nu + mx.sum() + mf.sum() + len(red.hl) + len(red.hc))
    scale_h = 1.0 + max(
        np.abs(hx).max(initial=0.0), np.abs(hf).max(initial=0.0), np.abs(red.hl).max(initial=0.0), np.abs(red.hc).max(initial=0.0)
    )
    scale_c = 1.0 + max(np.abs(red.cz).max(initial=0.0), np.abs(red.cw).max(initial=0.0), np.abs(red.cu).max(initial=0.0))
    kkt = _KKT(red)
    size0 = 1.0 + float(np.abs(red.kappa[0]).sum())
    slack = _FARKAS_SLACK * scale_h
    bound = _size_bound(red, slack) * (1.0 + 1e-6)
    farkas_cache: dict[str, Any] = {}
    t0 = time.perf_counter()
    best, best_it = math.inf, 0
    kept: list[Any] = [math.inf, None]  # the best iterate: its merit and a copy

    def stop(why: str) -> str:
        if kept[1] is not None:
            for f in dataclasses.fields(p):
                setattr(p, f.name, getattr(kept[1], f.name))
        return why

    for it in range(max_iter):
        ax, af, al, ac, aw = red.rows(p.z, p.w, p.u)
        rx = np.where(mx, hx - ax - p.sx, 0.0)
        rf = np.where(mf, hf - af - p.sf, 0.0)
        rl = red.hl - al - p.sl
        rc = red.hc - ac - p.sc
        req = -aw
        gz, gw, gu = red.rows_t(p.lx, p.lf, p.ll, p.lc, p.yw)
        rdz = np.where(zf, -(red.cz + gz - p.mz), 0.0)
        rdw = -(red.cw + gw)
        rdu = -(red.cu + gu - p.mu)
        comp = float((p.z * p.mz)[zf].sum() + p.u @ p.mu + (p.sx * p.lx)[mx].sum() + (p.sf * p.lf)[mf].sum() + p.sl @ p.ll + p.sc @ p.lc)
        mu_avg = comp / max(ncomp, 1)
        pobj = float((red.cz * p.z).sum() + (red.cw * p.w).sum() + red.cu @ p.u) + red.const
        dobj = -float((hx * p.lx).sum() + (hf * p.lf).sum() + red.hl @ p.ll + red.hc @ p.lc) + red.const
        pinf = max(
            np.abs(rx).max(initial=0), np.abs(rf).max(initial=0), np.abs(rl).max(initial=0), np.abs(rc).max(initial=0),
            np.abs(req).max(initial=0),
        ) / scale_h
        dinf = max(np.abs(rdz).max(initial=0), np.abs(rdw).max(initial=0), np.abs(rdu).max(initial=0)) / scale_c
        gap = abs(pobj - dobj) / (1.0 + abs(pobj))
        log.append({"iteration": len(log), "pobj": pobj, "dobj": dobj, "pinf": pinf, "dinf": dinf, "gap": gap, "mu": mu_avg})
        if pinf <= tol and dinf <= tol and gap <= tol:
            return ""
        merit = max(pinf, dinf, gap)
        if not math.isfinite(merit):
            return stop("numerical")
        if merit < kept[0]:
            kept[:] = [merit, dataclasses.replace(p, **{f.name: getattr(p, f.name).copy() for f in dataclasses.fields(p)})]
        if progress is not None and progress(
            {"method": "structured_ipm", "iteration": len(log), "objective": pobj, "seconds": time.perf_counter() - t0}
        ):
            return stop("interrupted")
        if time.perf_counter() > deadline:
            return stop("time_limit")
        # an infeasible program: the prices diverge along a Farkas ray (Todd 2003;
        # Wright 1997, ch. 9); give up once they prove every plan, even with the
        # rows relaxed by _FARKAS_SLACK, larger than the factor supply allows
        # (exact), or far larger than this iterate and the economy's initial capacity
        need = min(bound, FARKAS_RADIUS * (size0 + float(p.z[zf].sum() + p.u.sum())))
        radius = _farkas_radius(red, p, hx, hf, mx, mf, slack, need, farkas_cache)
        if radius > 0:
            log[-1].update(farkas_radius=radius, size_bound=bound)
            return stop("infeasible")
        if merit < 0.5 * best:
            best, best_it = merit, it
        elif it - best_it >= 20 or (best <= 100 * tol and it - best_it >= 3):
            # far away: an infeasible or unbounded plan; near the optimum: rounding
            return stop("stalled")
        dzv = np.where(zf, p.mz / np.where(zf, p.z, 1.0), 1.0)
        dxv = np.where(mx, p.lx / p.sx, 0.0)
        dfv = np.where(mf, p.lf / p.sf, 0.0)
        dlv = p.ll / p.sl
        dcinv = p.sc / p.lc
        duv = p.mu / p.u
        try:
            kkt.factor(dzv, dxv, dfv, dlv, dcinv, duv)
        except np.linalg.LinAlgError:
            return stop("numerical")

        def direction(cz_, cu_, cx_, cf_, cl_, cc_):
            # cz_ etc.: complementarity right-hand sides (r_cv for bounds, r_cs for rows)
            ez = np.where(zf, cz_ / np.where(zf, p.z, 1.0), 0.0)
            tx = np.where(mx, dxv * rx - cx_ / p.sx, 0.0)
            tf = np.where(mf, dfv * rf - cf_ / p.sf, 0.0)
            tl = dlv * rl - cl_ / p.sl
            az, aw_, au = red.rows_t(tx, tf, tl, np.zeros_like(p.lc), np.zeros_like(p.yw))
            rho_z = np.where(zf, rdz + az + ez, 0.0)
            rho_w = rdw + aw_
            rho_u = rdu + au + cu_ / p.u
            rkc = rc - cc_ / p.lc
            dz, dw, du, dyw, dlc = _refined_solve(red, kkt, (dzv, dxv, dfv, dlv, dcinv, duv, mx, mf), (rho_z, rho_w, rho_u, req, rkc))
            bx, bf, bl, _, _ = red.rows(dz, dw, du)
            dlx = np.where(mx, dxv * (bx - rx) + cx_ / p.sx, 0.0)
            dlf = np.where(mf, dfv * (bf - rf) + cf_ / p.sf, 0.0)
            dll = dlv * (bl - rl) + cl_ / p.sl
            dsx = np.where(mx, (cx_ - p.sx * dlx) / np.where(mx, p.lx, 1.0), 0.0)
            dsf = np.where(mf, (cf_ - p.sf * dlf) / np.where(mf, p.lf, 1.0), 0.0)
            dsl = (cl_ - p.sl * dll) / p.ll
            dsc = (cc_ - p.sc * dlc) / p.lc
            dmz = np.where(zf, (cz_ - p.mz * dz) / np.where(zf, p.z, 1.0), 0.0)
            dmu = (cu_ - p.mu * du) / p.u
            return _Point(z=dz, w=dw, u=du, mz=dmz, mu=dmu, sx=dsx, lx=dlx, sf=dsf, lf=dlf, sl=dsl, ll=dll, sc=dsc, lc=dlc, yw=dyw)

        def steps(d: _Point) -> tuple[float, float]:
            ap = min(_max_step(getattr(p, a), getattr(d, a), masks[a]) for a, _ in _PAIRS)
            ad = min(_max_step(getattr(p, b), getattr(d, b), masks[a]) for a, b in _PAIRS)
            return ap, ad

        aff = direction(*(-(getattr(p, a) * getattr(p, b)) for a, b in _PAIRS))
        ap, ad = steps(aff)
        comp_aff = 0.0
        for a, b in _PAIRS:
            v = (getattr(p, a) + ap * getattr(aff, a)) * (getattr(p, b) + ad * getattr(aff, b))
            comp_aff += float(v[masks[a]].sum() if masks[a] is not None else v.sum())
        sigma = min(1.0, (comp_aff / max(comp, 1e-300)) ** 3)
        target = sigma * mu_avg
        rhs = []
        for a, b in _PAIRS:
            r = target - getattr(p, a) * getattr(p, b) - getattr(aff, a) * getattr(aff, b)
            rhs.append(np.where(masks[a], r, 0.0) if masks[a] is not None else r)
        d = direction(*rhs)
        ap, ad = steps(d)
        # Gondzio's centrality correctors (Gondzio 1996, *Comput. Optim. Appl.* 5):
        # aim at a longer step, pull the products that would leave [0.1, 10] x the
        # target back into it, keep the corrected direction while the step grows
        for _ in range(_CORRECTORS):
            if min(ap, ad) >= 1.0:
                break
            tp, td = min(1.0, ap + 0.2), min(1.0, ad + 0.2)
            extra = []
            for (a, b), r in zip(_PAIRS, rhs):
                v = (getattr(p, a) + tp * getattr(d, a)) * (getattr(p, b) + td * getattr(d, b))
                t = (
                    np.where(v < 0.1 * target, 0.1 * target - v, 0.0)
                    + np.where(v > 10 * target, np.maximum(10 * target - v, -10 * target), 0.0)
                )
                extra.append(r + (np.where(masks[a], t, 0.0) if masks[a] is not None else t))
            d2 = direction(*extra)
            ap2, ad2 = steps(d2)
            if min(ap2, ad2) < min(ap, ad) + 0.02:
                break
            d, ap, ad, rhs = d2, ap2, ad2, extra
        ap, ad = min(1.0, _STEP * ap), min(1.0, _STEP * ad)
        for a in ("z", "w", "u", "sx", "sf", "sl", "sc"):
            setattr(p, a, getattr(p, a) + ap * getattr(d, a))
        for b in ("mz", "mu", "lx", "lf", "ll", "lc", "yw"):
            setattr(p, b, getattr(p, b) + ad * getattr(d, b))
    return stop("iteration_limit")


def _kkt_apply(red: Reduced, weights: tuple, sol: tuple) -> tuple[np.ndarray, ...]:
    """The unregularised Newton matrix times ``sol``, from the row operators."""
    dzv, dxv, dfv, dlv, dcinv, duv, mx, mf = weights
    dz, dw, du, dyw, dlc = sol
    ax, af, al, ac, aw = red.rows(dz, dw, du)
    hz, hw, hu = red.rows_t(np.where(mx, dxv * ax, 0.0), np.where(mf, dfv * af, 0.0), dlv * al, dlc, dyw)
    hz = np.where(red.zfree, hz + dzv * dz, 0.0)
    return hz, hw, hu + duv * du, aw, ac - dcinv * dlc


def _refined_solve(red: Reduced, kkt: _KKT, weights: tuple, rhs: tuple, steps: int = 4) -> tuple[np.ndarray, ...]:
    """Solve with the factors, then refine against the unregularised matrix: the
    factors are of a regularised matrix, and rounding grows as the barrier
    weights spread."""
    sol = kkt.solve(*rhs)
    scale = max(np.abs(r).max(initial=0.0) for r in rhs) + 1e-300
    for _ in range(steps):
        res = tuple(r - a for r, a in zip(rhs, _kkt_apply(red, weights, sol)))
        err = max(np.abs(r).max(initial=0.0) for r in res)
        if err <= 1e-13 * scale:
            break
        corr = kkt.solve(*res)
        sol = tuple(s_ + c_ for s_, c_ in zip(sol, corr))
    return sol


def solve_structured(lp: Any, layout: Any, spec: Any, options: Any, progress: Any = None) -> tuple[Any, str]:
    """Solve a multi-period plan by the structured interior-point method.

    Returns ``(LPResult, "")``: status ``OPTIMAL`` when the lifted point's
    relative primal and dual infeasibility and gap, recomputed from the arrays of
    ``lp`` by :func:`~gosplan.planning.solver.relative_accuracy`, are
    within :data:`ACCURACY` (``info["accuracy"]`` holds them); ``TIME_LIMIT`` or
    ``INTERRUPTED`` when stopped; ``NOT_SOLVED`` when the iteration stalled or
    the certificate failed (``info["failure"]`` says why; the caller falls back
    to HiGHS), and when the plan was found impossible: ``info["infeasible"]``
    then holds the test, ``"row"`` (rows the floors alone break, found before
    iterating: their LP ``rows`` and ``cols``, :func:`_row_clash`) or ``"farkas"``
    (the ``iteration`` and the ``radius`` of :func:`_farkas_radius`, the
    ``size_bound`` of :func:`_size_bound`, and whether the radius exceeds it:
    ``proved``). ``(None, reason)`` when the method does not apply.
    """
    from gosplan.planning.solver import LPResult, SolverStatus, dual_infeasibility, primal_infeasibility, relative_accuracy

    t0 = time.perf_counter()
    reason = why_not(lp, layout, spec, MAX_GLOBAL)
    if reason is not None:
        return None, reason
    red, factors, reason = reduce_plan(lp, layout, spec)
    if red is None:
        return None, reason
    info: dict[str, Any] = {"reduce_seconds": time.perf_counter() - t0, "global_size": 2 * red.T * red.R + red.nu + red.Cz.shape[0]}
    limit = options.time_limit if options.time_limit is not None else math.inf
    log: list[dict[str, Any]] = []
    point = _start(red)
    tol = min(options.tol, ACCURACY)
    # a row the floors alone break: the plan is impossible, HiGHS names the clash
    clash = _row_clash(lp, layout, red, tol)
    stop = ""
    if clash is not None:
        stop = "infeasible"
        info["infeasible"] = clash
    for tighten in (0.1, 0.01, 0.001):
        # iterate to a tenth of the tolerance, lift, certify; tighten if the lifted
        # point misses the certificate (the reduced residuals are not the full
        # ones). A stopped iteration leaves its best iterate, which is judged too.
        # One BLAS thread: the products are many and small (blocks of T x T per
        # activity, R columns), and OpenBLAS's threads cost more than they give
        # (n = 1,000 x T = 10 on 2 cores: 10.8 s with one thread, 14.2 s with two).
        if clash is None:
            with threadpool_limits(1, user_api="blas"):
                stop = _ipm(red, point, tol * tighten, 200, t0 + limit, log, progress)
        with np.errstate(all="ignore"):  # the best iterate of a diverging run may overflow: then it fails
            x, y, z = lift(lp, layout, red, factors, point)
            acc = relative_accuracy(lp, x, y, z)
        ok = acc["primal"] <= tol and acc["dual"] <= tol and acc["gap"] <= tol
        if ok or stop:
            break
    info.update(ipm_iterations=len(log), ipm_last=log[-1] if log else None)
    status = SolverStatus.OPTIMAL
    if not ok:
        status = {"time_limit": SolverStatus.TIME_LIMIT, "interrupted": SolverStatus.INTERRUPTED}.get(stop, SolverStatus.NOT_SOLVED)
        info["failure"] = f"the interior-point iteration stopped: {stop}" if stop else "the lifted point missed the certificate"
        if stop == "infeasible" and clash is not None:
            info["failure"] = f"the plan is infeasible before iterating: {clash['reason']}"
        elif stop == "infeasible":
            radius, bound = log[-1]["farkas_radius"], log[-1]["size_bound"]
            # a proof when every plan must be larger than the factor supply allows; else the
            # iteration stopped on FARKAS_RADIUS, its own judgement
            proved = math.isfinite(bound) and radius > bound * (1 + 1e-9)
            info["infeasible"] = {"test": "farkas", "iteration": len(log) - 1, "radius": radius, "size_bound": bound,
                                  "proved": proved}
            info["failure"] = (
                "the interior-point iteration stopped: infeasible (its prices approach a Farkas certificate: "
                f"every plan would need investment and consumption of at least {radius:.3g} in all"
                + (f", the factor supply allows at most {bound:.3g})" if radius > bound else ")")
            )
    ax = lp.A @ x
    info["accuracy"] = acc
    res = LPResult(
        status=status,
        x=x, row_duals=y, col_duals=z, row_activity=ax, objective=acc["objective"], dual_objective=acc["dual_objective"],
        gap=acc["gap"], iterations=len(log), seconds=time.perf_counter() - t0, method="structured_ipm",
        primal_infeasibility=primal_infeasibility(lp, x, ax), dual_infeasibility=dual_infeasibility(lp, y, z),
        solver_status=f"relative primal {acc['primal']:.1e}, dual {acc['dual']:.1e}, gap {acc['gap']:.1e}",
        info=info,
    )
    return res, ""
