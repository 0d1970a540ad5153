"""An exact interior-point method for multi-period plans of Leontief economies.

Simplex and HiGHS's interior point (IPX) are slow on large multi-period plans:
every basis and every normal-equations matrix holds ``make - use`` of every period,
which fills in (n = 1,000 products x T = 10 periods: no simplex answer in 45
minutes of CPU). This module solves the same linear program exactly (to the
tolerances of an interior-point solver) for the common case of a *Leontief*
economy: every activity makes one product and every product is made by one
activity (``N = make - use`` is square), the economy is productive
(``N^{-1} >= 0``), floors, basket, capital and factor use are non-negative, and
the objective never rewards output for its own sake.

Then the levels of period t are ``x_t = N^{-1} (floor_t + capital z_t + u_t
basket_t)``: a surplus only uses capacity and factors, so an optimal plan has
none, and ``x_t >= 0`` holds by itself. The products of the capital goods
(``R`` of them: capital's non-zero rows) carry investment, so the period's plan
depends on the ``R`` values ``w_t = K_R z_t`` and on ``u``, through
``G = N^{-1} E_R`` (one sparse LU of N, R solves, for the whole horizon).
Capacity is eliminated too: ``k_t`` is a fixed linear function of the earlier
investment of the same activity. What is left is a linear program in
investment ``z`` (local to each activity), ``w`` and ``u`` (global), whose
Newton systems a primal-dual interior-point method (Mehrotra 1992, *SIAM J.
Optim.* 2(4); Wright 1997, *Primal-Dual Interior-Point Methods*, ch. 10)
solves by block elimination: a T x T system per activity, then one dense
quasi-definite system of size about ``2 T R`` (Vanderbei 1995, *SIAM J.
Optim.* 5(1)), factored by two Cholesky factorisations.

The optimum is lifted back to the full LP: levels from the LU of N, capacity from
the accumulation recursion, prices from the stationarity of levels
(``N' p = ...``) and capacity valuations from that of capacity. The plan is called
optimal only when its relative primal and dual infeasibility and duality gap,
recomputed from the raw LP arrays by
:func:`gosplan.planning.dynamic_approx.relative_accuracy`, are within the
tolerance; otherwise, or where the method does not apply, the caller falls back
to HiGHS.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["ACCURACY", "solve_structured", "why_not"]

#: relative primal and dual infeasibility and relative gap an optimal plan must meet
ACCURACY = 1e-8

#: largest global system (``2 T R + nu`` unknowns, R capital goods) the dense
#: factorisation takes on: 6,000 is about 3 s per iteration on one core (n = 1,000
#: products with 100 capital goods x T = 20 needs 4,120; n = 10,000 x T = 5, 10,000)
MAX_GLOBAL = 6_000


@dataclass(eq=False)
class _Reduced:
    """The plan in investment ``z`` (T x Jc, local), ``w`` (T x R) and ``u`` (nu).

    Minimise ``cz.z + cw.w + cu.u + const`` subject to
    - *x-rows* (t, slot): ``Gx[slot] w_t + Gux[t, slot] u - [Lam z](t, cap(slot)) <= hx[t, slot]``
      (slots 0..Jc-1 are the capacity rows of the capital activities, the rest
      the upper bounds of levels; inactive where ``hx`` is infinite);
    - *f-rows* (t, f): ``FG[f] w_t + FGu[t, f] u <= hf[t, f]`` (factor supply);
    - *local rows* r: ``la[r] . z[:, lcap[r]] + lu[r] . u <= hl[r]`` (conditions on
      one activity's capacity);
    - *cross rows* c: ``Cz z + Cu u <= hc`` (conditions on stocks of several activities);
    - *w-rows*: ``w_t - Kr z_t = 0``;
    - ``z >= 0`` where ``zfree`` (else 0), ``u >= 0``, ``w`` free.
    """

    T: int
    Jc: int
    R: int
    nu: int
    zfree: np.ndarray
    Lam: np.ndarray  # (T+1, T, Jc): k_t = kappa_t + sum_s Lam[t, s] z_s
    kappa: np.ndarray  # (T+1, Jc)
    Gx: np.ndarray  # (nx, R)
    Gux: np.ndarray  # (T, nx, nu)
    hx: np.ndarray  # (T, nx)
    FG: np.ndarray  # (F, R)
    FGu: np.ndarray  # (T, F, nu)
    hf: np.ndarray  # (T, F)
    lcap: np.ndarray  # (nl,)
    la: np.ndarray  # (nl, T)
    lu: np.ndarray  # (nl, nu)
    hl: np.ndarray  # (nl,)
    Cz: sp.csr_array  # (nc, T*Jc), z flattened period-major
    Cu: np.ndarray  # (nc, nu)
    hc: np.ndarray  # (nc,)
    Kr: sp.csr_array  # (R, Jc)
    cz: np.ndarray  # (T, Jc)
    cw: np.ndarray  # (T, R)
    cu: np.ndarray  # (nu,)
    const: float
    local_rows: np.ndarray  # positions of the local rows among the terminal and target rows
    cross_rows: np.ndarray  # positions of the cross rows among them
    bound_acts: np.ndarray  # activities of the bound slots (x-rows Jc..nx-1)

    @property
    def nx(self) -> int:
        return self.Gx.shape[0]

    @property
    def F(self) -> int:
        return self.FG.shape[0]

    @property
    def ng(self) -> int:
        return self.T * self.R + self.nu

    # -- the constraint operator and its transpose --------------------------------------

    def rows(self, z: np.ndarray, w: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, ...]:
        """Row activities (x, f, local, cross, w-rows) of a point."""
        T, Jc = self.T, self.Jc
        kz = np.einsum("tsj,sj->tj", self.Lam[:T], z)
        ax = w @ self.Gx.T + np.einsum("tin,n->ti", self.Gux, u)
        ax[:, :Jc] -= kz
        af = w @ self.FG.T + np.einsum("tfn,n->tf", self.FGu, u)
        al = np.einsum("rt,tr->r", self.la, z[:, self.lcap]) + self.lu @ u
        ac = self.Cz @ z.ravel() + self.Cu @ u
        aw = w - (self.Kr @ z.T).T
        return ax, af, al, ac, aw

    def rows_t(self, lx, lf, ll, lc, yw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transpose: A' (lx, lf, ll, lc, yw) as (z, w, u) parts."""
        T, Jc = self.T, self.Jc
        gz = -np.einsum("tsj,tj->sj", self.Lam[:T], lx[:, :Jc])
        np.add.at(gz.T, self.lcap, ll[:, None] * self.la)
        gz += (self.Cz.T @ lc).reshape(T, Jc)
        gz -= (self.Kr.T @ yw.T).T
        gw = lx @ self.Gx + lf @ self.FG + yw
        gu = np.einsum("tin,ti->n", self.Gux, lx) + np.einsum("tfn,tf->n", self.FGu, lf) + self.lu.T @ ll + self.Cu.T @ lc
        return gz, gw, gu


def why_not(lp: Any, layout: Any, spec: Any) -> str | None:
    """Why the structured method cannot solve this plan (None when it can)."""
    if layout.n_inv or spec.investment_rate is not None:
        return "fixed investment shares or rates"
    if layout.P != layout.J:
        return "products and activities differ in number (alternative techniques or joint products)"
    if layout.Jc == 0:
        return "no capital"
    allowed = {"balance", "factor", "capacity", "accumulation", "terminal", "target_capacity", "target_stock", "terminal_proportions"}
    extra = [name for name, (a, b) in layout.row_blocks.items() if b > a and name not in allowed]
    if extra:
        return f"rows of kind {extra[0]!r}"
    # the size of the dense global system, known before any factorisation
    bal, zs = layout.rows("balance"), layout.cols("z")
    K0 = sp.csr_array(lp.A[bal.start : bal.start + layout.P][:, zs.start : zs.start + layout.Jc])
    R = int((np.diff(K0.indptr) > 0).sum())
    others = sum(b - a for name, (a, b) in layout.row_blocks.items() if name not in ("balance", "factor", "capacity", "accumulation"))
    size = 2 * layout.T * R + layout.nu + others
    if size > MAX_GLOBAL:
        return f"its dense global system ({size:,} unknowns) is larger than {MAX_GLOBAL:,}"
    return None


def _reduce(lp: Any, layout: Any, spec: Any) -> tuple[_Reduced | None, Any, str]:
    """The reduced program, the LU of N and what it needs to lift a point back."""
    T, P, J, F, Jc, nu = layout.T, layout.P, layout.J, layout.F, layout.Jc, layout.nu
    A = sp.csr_array(lp.A)
    sign = 1.0 if lp.sense == "min" else -1.0
    xs, zs, ks, us = (layout.cols(n) for n in ("x", "z", "k", "u"))
    bal, fac = layout.rows("balance"), layout.rows("factor")
    Abal = A[bal]
    N = sp.csc_array(Abal[:P][:, xs.start : xs.start + J])
    Kc = sp.csr_array(-Abal[:P][:, zs.start : zs.start + Jc])
    if (Kc.data < 0).any():
        return None, None, "negative capital coefficients"
    # a Z-matrix after matching each activity to the one product it makes
    pos = N.copy()
    pos.data = np.where(pos.data > 0, pos.data, 0.0)
    pos.eliminate_zeros()
    if not (np.diff(pos.indptr) == 1).all():
        return None, None, "an activity makes more or less than one product"
    if len(np.unique(pos.indices)) != P:
        return None, None, "a product is made by no or several activities"
    try:
        lu = spla.splu(N)
    except RuntimeError:
        return None, None, "make - use is singular"
    one = lu.solve(np.ones(P))
    if not (np.isfinite(one).all() and (one > 0).all()):
        return None, None, "the economy is not productive (make - use has no non-negative inverse)"
    floors = lp.row_lower[bal].reshape(T, P)
    if not np.isfinite(floors).all() or (floors < 0).any() or np.isfinite(lp.row_upper[bal]).any():
        return None, None, "negative or missing floors"
    Bu = -sp.csc_array(Abal[:, us]).toarray() if nu else np.zeros((T * P, 0))  # (T*P, nu)
    if (Bu < 0).any():
        return None, None, "negative basket"
    # the balance block must be N in every period and hold nothing else
    blk = sp.csr_array(Abal[:, xs])
    if (abs(blk - sp.kron(sp.identity(T), N)).max() if blk.nnz else 0.0) > 0:
        return None, None, "the technology differs between periods"
    if abs(Abal[:, ks]).sum() > 0:
        return None, None, "capacity in a balance row"
    Fm = sp.csr_array(A[fac][:F][:, xs.start : xs.start + J]) if F else sp.csr_array((0, J))
    if (Fm.data < 0).any():
        return None, None, "a factor is produced (negative factor use)"
    if np.isfinite(lp.row_lower[fac]).any():
        return None, None, "a factor row with a lower bound"
    cmin = sign * lp.c
    cx = cmin[xs].reshape(T, J)
    if (cx < 0).any():
        return None, None, "the objective rewards output"
    if np.any(lp.col_lower[xs] != 0) or np.any(lp.col_lower[zs] != 0) or np.any(lp.col_lower[us] != 0):
        return None, None, "non-zero lower bounds"
    zu = lp.col_upper[zs].reshape(T, Jc)
    if not np.all((zu == 0) | np.isinf(zu)) or np.isfinite(lp.col_upper[us]).any():
        return None, None, "finite upper bounds on investment or consumption"
    ka = ks.start
    k0 = lp.col_lower[ka : ka + Jc]
    if np.any(lp.col_upper[ka : ka + Jc] != k0) or np.any(lp.col_lower[ka + Jc : ks.stop] != 0) or (k0 < 0).any():
        return None, None, "capacity bounds"
    cap_idx = layout.cap_idx
    keep = 1.0 - spec.depreciation[cap_idx]
    lag = spec.lag[cap_idx].astype(int)
    zfree = np.isinf(zu)
    t_ = np.arange(T + 1)[:, None, None]
    s_ = np.arange(T)[None, :, None]
    e = t_ - s_ - lag[None, None, :]
    Lam = np.where(e >= 0, keep[None, None, :] ** np.maximum(e, 0), 0.0) * zfree[None, :, :]
    kappa = keep[None, :] ** np.arange(T + 1)[:, None] * k0[None, :]

    R_idx = np.flatnonzero(np.diff(Kc.indptr) > 0)
    R = len(R_idx)
    Kr = sp.csr_array(Kc[R_idx])
    E = np.zeros((P, R))
    E[R_idx, np.arange(R)] = 1.0
    G = lu.solve(E) if R else np.zeros((J, 0))
    X0 = lu.solve(np.ascontiguousarray(floors.T)).T  # (T, J)
    Gu_all = np.zeros((T, J, nu))
    if nu:
        rhs = Bu.reshape(T, P, nu).transpose(1, 0, 2).reshape(P, T * nu)
        Gu_all = lu.solve(np.ascontiguousarray(rhs)).reshape(J, T, nu).transpose(1, 0, 2)
    # x-rows: capacity rows of capital activities, then the activities with bounded levels
    xu = lp.col_upper[xs].reshape(T, J)
    bounded = np.flatnonzero(np.isfinite(xu).any(axis=0))
    acts = np.concatenate([cap_idx, bounded])
    hx = np.concatenate([kappa[:T] - X0[:, cap_idx], xu[:, bounded] - X0[:, bounded]], axis=1)
    Gx = np.ascontiguousarray(G[acts])
    Gux = np.ascontiguousarray(Gu_all[:, acts, :])
    # capacity rows must read x_j - k_j <= 0
    cap = layout.rows("capacity")
    Acap = A[cap]
    want = sp.hstack(
        [
            sp.kron(sp.identity(T), sp.csr_array((np.ones(Jc), (np.arange(Jc), cap_idx)), shape=(Jc, J))),
            sp.csr_array((T * Jc, zs.stop - zs.start)),
            -sp.kron(sp.eye(T, T + 1), sp.identity(Jc)),
        ],
        format="csr",
    )
    got = Acap[:, xs.start : ks.stop]
    if abs(got - want).max() > 0 or abs(Acap[:, us]).sum() > 0 or np.any(lp.row_upper[cap] != 0) or np.isfinite(lp.row_lower[cap]).any():
        return None, None, "capacity rows of an unexpected form"
    FG = np.asarray(Fm @ G) if F else np.zeros((0, R))
    FGu = np.stack([np.asarray(Fm @ Gu_all[t]) for t in range(T)]) if F else np.zeros((T, 0, nu))
    hf = lp.row_upper[fac].reshape(T, F) - (np.asarray(Fm @ X0.T).T if F else np.zeros((T, 0)))
    # rows on capacity alone (terminal conditions, targets): k = kappa + Lam z
    other = [layout.rows(n) for n in ("terminal", "target_capacity", "target_stock", "terminal_proportions") if n in layout.row_blocks]
    nk = (T + 1) * Jc
    tt, ss, jj = np.nonzero(Lam)
    Mk = sp.csr_array((Lam[tt, ss, jj], (tt * Jc + jj, ss * Jc + jj)), shape=(nk, T * Jc))
    rows_z, rows_u, lo, hi = [], [], [], []
    for sl in other:
        sub = A[sl]
        if abs(sub[:, : ks.start]).sum() > 0 or abs(sub[:, us.stop :]).sum() > 0:
            return None, None, "a terminal or target row on levels or investment"
        Ak = sp.csr_array(sub[:, ks])
        rows_z.append(sp.csr_array(Ak @ Mk))
        rows_u.append(sub[:, us].toarray())
        shift = Ak @ kappa.ravel()
        lo.append(lp.row_lower[sl] - shift)
        hi.append(lp.row_upper[sl] - shift)
    if rows_z:
        Oz = sp.vstack(rows_z, format="csr")
        Ou = np.vstack(rows_u)
        olo, ohi = np.concatenate(lo), np.concatenate(hi)
    else:
        Oz, Ou, olo, ohi = sp.csr_array((0, T * Jc)), np.zeros((0, nu)), np.zeros(0), np.zeros(0)
    # as <= rows: a >= row is negated; a ranged or equality row does not occur in these blocks
    if (np.isfinite(olo) & np.isfinite(ohi)).any():
        return None, None, "a ranged terminal or target row"
    neg = np.isfinite(olo)
    flip = sp.diags_array(np.where(neg, -1.0, 1.0))
    Oz = sp.csr_array(flip @ Oz)
    Ou = np.where(neg[:, None], -Ou, Ou)
    oh = np.where(neg, -olo, ohi)
    # a row on one activity's capacity is local to that activity
    Ozc = Oz.tocoo()
    act = Ozc.col % Jc
    first = np.full(Oz.shape[0], -1)
    np.maximum.at(first, Ozc.row, act)
    lowest = np.full(Oz.shape[0], Jc)
    np.minimum.at(lowest, Ozc.row, act)
    local = (first == lowest) & (first >= 0)
    li = np.flatnonzero(local)
    la = np.zeros((len(li), T))
    if len(li):
        sub = Oz[li].tocoo()
        la[sub.row, sub.col // Jc] = sub.data
    ci = np.flatnonzero(~local)
    cz = cmin[zs].reshape(T, Jc) + (cmin[ks] @ Mk).reshape(T, Jc)
    cw = cx @ G
    cu = cmin[us] + np.einsum("tj,tjn->n", cx, Gu_all)
    const = float(cmin[ks] @ kappa.ravel() + np.sum(cx * X0)) + sign * lp.offset
    red = _Reduced(
        T=T, Jc=Jc, R=R, nu=nu, zfree=zfree, Lam=Lam, kappa=kappa, Gx=Gx, Gux=Gux, hx=hx, FG=FG, FGu=FGu, hf=hf,
        lcap=first[li], la=la, lu=Ou[li], hl=oh[li], Cz=sp.csr_array(Oz[ci]), Cu=Ou[ci], hc=oh[ci], Kr=Kr,
        cz=cz * zfree, cw=cw, cu=cu, const=const, local_rows=li, cross_rows=ci, bound_acts=bounded,
    )
    return red, (lu, Kc), ""


# -- the Newton system -------------------------------------------------------------------------


class _KKT:
    """Solves ``[H K'; K -Delta] [dv; dk] = [rho; rk]`` for the reduced program.

    ``H = A' D A + diag(dv)`` over the absorbed rows (x-, f- and local rows),
    ``K`` the kept rows (w-rows, then cross rows). Investment ``z`` is eliminated
    first, one small block per activity (its rows touch one activity only); what
    is left is a dense quasi-definite system in ``g = (w, u)`` and the kept rows,
    factored by LAPACK's symmetric indefinite ``dsytrf`` (Bunch-Kaufman pivoting:
    the block in ``w`` alone may be singular, the ``w``-rows pin it).

    The local blocks are eliminated by Cholesky (``H_j = L_j L_j'``), so that the
    rounding of every term is relative to the barrier weights of the rows (a
    block Cholesky step); the rows of activity j enter the global block with the
    weight ``D_j - Phi_j' Phi_j``, ``Phi_j = L_j^{-1} a_j' D_j``.
    """

    def __init__(self, red: _Reduced):
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
        S = np.zeros((ng, ng))
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
        nc = red.Cz.shape[0]
        nk = T * R + nc
        Sgk = np.zeros((ng, nk))
        Skk = np.zeros((nk, nk))
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
        M = np.block([[S, Sgk], [Sgk.T, Skk]])
        # the blocked factorisation needs its workspace asked for (else 10x slower)
        lwork = int(sla.lapack.dsytrf_lwork(M.shape[0], lower=1)[0])
        lu_, piv, info = sla.lapack.dsytrf(M, lower=1, lwork=max(lwork, 1), overwrite_a=1)
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


_PAIRS = (("z", "mz"), ("u", "mu"), ("sx", "lx"), ("sf", "lf"), ("sl", "ll"), ("sc", "lc"))


def _max_step(v: np.ndarray, dv: np.ndarray, mask: np.ndarray | None) -> float:
    neg = dv < 0
    if mask is not None:
        neg &= mask
    if not neg.any():
        return 1.0
    return float(min(1.0, np.min(-v[neg] / dv[neg])))


def _start(red: _Reduced) -> _Point:
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


def _ipm(
    red: _Reduced, p: _Point, tol: float, max_iter: int, deadline: float, log: list[dict[str, Any]], progress: Any = None
) -> str:
    """Mehrotra's predictor-corrector from ``p`` (updated in place) until the
    relative primal and dual residuals and gap are below ``tol``. Returns ``""``
    then, else why it stopped: ``"time_limit"``, ``"interrupted"``, ``"stalled"``
    (no progress in 20 iterations: an infeasible or unbounded plan, or rounding),
    ``"iteration_limit"`` or ``"numerical"``."""
    T, Jc, R, nu = red.T, red.Jc, red.R, red.nu
    mx, mf = np.isfinite(red.hx), np.isfinite(red.hf)
    hx, hf = np.where(mx, red.hx, 0.0), np.where(mf, red.hf, 0.0)
    zf = red.zfree
    masks = {"z": zf, "u": None, "sx": mx, "sf": mf, "sl": None, "sc": None}
    ncomp = int(zf.sum() + nu + mx.sum() + mf.sum() + len(red.hl) + len(red.hc))
    scale_h = 1.0 + max(np.abs(hx).max(initial=0.0), np.abs(hf).max(initial=0.0), np.abs(red.hl).max(initial=0.0), np.abs(red.hc).max(initial=0.0))
    scale_c = 1.0 + max(np.abs(red.cz).max(initial=0.0), np.abs(red.cw).max(initial=0.0), np.abs(red.cu).max(initial=0.0))
    kkt = _KKT(red)
    t0 = time.perf_counter()
    best, best_it = math.inf, 0
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
        pinf = max(np.abs(rx).max(initial=0), np.abs(rf).max(initial=0), np.abs(rl).max(initial=0), np.abs(rc).max(initial=0), np.abs(req).max(initial=0)) / scale_h
        dinf = max(np.abs(rdz).max(initial=0), np.abs(rdw).max(initial=0), np.abs(rdu).max(initial=0)) / scale_c
        gap = abs(pobj - dobj) / (1.0 + abs(pobj))
        log.append({"iteration": len(log), "pobj": pobj, "dobj": dobj, "pinf": pinf, "dinf": dinf, "gap": gap, "mu": mu_avg})
        if pinf <= tol and dinf <= tol and gap <= tol:
            return ""
        if progress is not None and progress(
            {"method": "structured_ipm", "iteration": len(log), "objective": pobj, "seconds": time.perf_counter() - t0}
        ):
            return "interrupted"
        if time.perf_counter() > deadline:
            return "time_limit"
        merit = max(pinf, dinf, gap)
        if not math.isfinite(merit):
            return "numerical"
        if merit < 0.5 * best:
            best, best_it = merit, it
        elif it - best_it >= 20:
            return "stalled"
        dzv = np.where(zf, p.mz / np.where(zf, p.z, 1.0), 1.0)
        dxv = np.where(mx, p.lx / p.sx, 0.0)
        dfv = np.where(mf, p.lf / p.sf, 0.0)
        dlv = p.ll / p.sl
        dcinv = p.sc / p.lc
        duv = p.mu / p.u
        try:
            kkt.factor(dzv, dxv, dfv, dlv, dcinv, duv)
        except np.linalg.LinAlgError:
            return "numerical"

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
        ap, ad = min(1.0, 0.995 * ap), min(1.0, 0.995 * ad)
        for a in ("z", "w", "u", "sx", "sf", "sl", "sc"):
            setattr(p, a, getattr(p, a) + ap * getattr(d, a))
        for b in ("mz", "mu", "lx", "lf", "ll", "lc", "yw"):
            setattr(p, b, getattr(p, b) + ad * getattr(d, b))
    return "iteration_limit"


def _kkt_apply(red: _Reduced, weights: tuple, sol: tuple) -> tuple[np.ndarray, ...]:
    """The unregularised Newton matrix times ``sol``, from the row operators."""
    dzv, dxv, dfv, dlv, dcinv, duv, mx, mf = weights
    dz, dw, du, dyw, dlc = sol
    ax, af, al, ac, aw = red.rows(dz, dw, du)
    hz, hw, hu = red.rows_t(np.where(mx, dxv * ax, 0.0), np.where(mf, dfv * af, 0.0), dlv * al, dlc, dyw)
    hz = np.where(red.zfree, hz + dzv * dz, 0.0)
    return hz, hw, hu + duv * du, aw, ac - dcinv * dlc


def _refined_solve(red: _Reduced, kkt: _KKT, weights: tuple, rhs: tuple, steps: int = 4) -> tuple[np.ndarray, ...]:
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


# -- back to the full program -------------------------------------------------------------------


def _lift(lp: Any, layout: Any, red: _Reduced, factors: Any, p: _Point) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primal point, row duals and column duals of the full LP (HiGHS's signs)."""
    lu, Kc = factors
    T, P, J, F, Jc, nu = layout.T, layout.P, layout.J, layout.F, layout.Jc, layout.nu
    A = sp.csc_array(lp.A)
    sign = 1.0 if lp.sense == "min" else -1.0
    xs, zs, ks, us = (layout.cols(n) for n in ("x", "z", "k", "u"))
    bal, fac, cap = layout.rows("balance"), layout.rows("factor"), layout.rows("capacity")
    z = np.where(red.zfree, np.maximum(p.z, 0.0), 0.0)
    u = np.maximum(p.u, 0.0)
    floors = lp.row_lower[bal].reshape(T, P)
    Bu = -(A[bal][:, us] @ u) if nu else np.zeros(T * P)
    rhs = floors + (Kc @ z.T).T + Bu.reshape(T, P)
    X = lu.solve(np.ascontiguousarray(rhs.T)).T
    X = np.maximum(X, 0.0)
    Kall = red.kappa + np.einsum("tsj,sj->tj", red.Lam, z)
    x = np.zeros(lp.shape[1])
    x[xs] = X.ravel()
    x[zs] = z.ravel()
    x[ks] = Kall.ravel()
    x[us] = u

    # row duals in the min form (y_min), HiGHS's y = sign * y_min
    m = lp.shape[0]
    y = np.zeros(m)
    y[cap] = -p.lx[:, :Jc].ravel()
    if F:
        y[fac] = -np.where(np.isfinite(red.hf), p.lf, 0.0).ravel()
    other = [layout.rows(nm) for nm in ("terminal", "target_capacity", "target_stock", "terminal_proportions") if nm in layout.row_blocks]
    if other:
        idx = np.concatenate([np.arange(sl.start, sl.stop) for sl in other])
        lam = np.zeros(len(idx))
        lam[red.local_rows] = p.ll
        lam[red.cross_rows] = p.lc
        flipped = np.isfinite(lp.row_lower[idx])
        y[idx] = np.where(flipped, lam, -lam)
    cmin = sign * lp.c
    # column duals of level bounds (the bound rows among the x-rows)
    zx = np.zeros((T, J))
    nb = red.nx - Jc
    if nb:
        bslots = red.bound_acts
        zx[:, bslots] = -np.where(np.isfinite(red.hx[:, Jc:]), p.lx[:, Jc:], 0.0)
    # balance rows from the stationarity of the levels: N' y_t = c_x - (other rows)' y - z_x
    Ax = A[:, xs]
    rest = cmin[xs] - Ax.T @ y - zx.ravel()
    yb = lu.solve(np.ascontiguousarray(rest.reshape(T, J).T), trans="T").T
    y[bal] = yb.ravel()
    # accumulation rows from the stationarity of capacity k_2..k_{T+1}
    acc = layout.rows("accumulation")
    k1 = slice(ks.start + Jc, ks.stop)
    Aacc = sp.csc_array(A[acc][:, k1])
    rest = cmin[k1] - A[:, k1].T @ y
    y[acc] = spla.spsolve_triangular(sp.csr_array(Aacc.T), rest, lower=False)
    zcol = cmin - A.T @ y
    return x, sign * y, sign * zcol


def solve_structured(lp: Any, layout: Any, spec: Any, options: Any, progress: Any = None) -> tuple[Any, str]:
    """Solve a multi-period plan by the structured interior-point method.

    Returns ``(LPResult, "")``: status ``OPTIMAL`` when the lifted point's
    relative primal and dual infeasibility and gap, recomputed from the arrays of
    ``lp`` by :func:`~gosplan.planning.dynamic_approx.relative_accuracy`, are
    within :data:`ACCURACY` (``info["accuracy"]`` holds them); ``TIME_LIMIT`` or
    ``INTERRUPTED`` when stopped; ``NOT_SOLVED`` when the iteration stalled or
    the certificate failed (``info["failure"]`` says why; the caller falls back
    to HiGHS). ``(None, reason)`` when the method does not apply.
    """
    from gosplan.planning.dynamic_approx import relative_accuracy
    from gosplan.planning.solver import LPResult, SolverStatus, dual_infeasibility, primal_infeasibility

    t0 = time.perf_counter()
    reason = why_not(lp, layout, spec)
    if reason is not None:
        return None, reason
    red, factors, reason = _reduce(lp, layout, spec)
    if red is None:
        return None, reason
    info: dict[str, Any] = {"reduce_seconds": time.perf_counter() - t0, "global_size": 2 * red.T * red.R + red.nu + red.Cz.shape[0]}
    limit = options.time_limit if options.time_limit is not None else math.inf
    log: list[dict[str, Any]] = []
    point = _start(red)
    tol = min(options.tol, ACCURACY)
    stop, acc = "", None
    for tighten in (0.1, 0.01, 0.001):
        # iterate to a tenth of the tolerance, lift, certify; tighten if the lifted
        # point misses the certificate (the reduced residuals are not the full ones)
        stop = _ipm(red, point, tol * tighten, 200, t0 + limit, log, progress)
        if stop:
            break
        x, y, z = _lift(lp, layout, red, factors, point)
        acc = relative_accuracy(lp, x, y, z)
        if acc["primal"] <= tol and acc["dual"] <= tol and acc["gap"] <= tol:
            break
    info.update(ipm_iterations=len(log), ipm_last=log[-1] if log else None)
    m, n = lp.shape
    if stop or acc is None:
        status = {"time_limit": SolverStatus.TIME_LIMIT, "interrupted": SolverStatus.INTERRUPTED}.get(stop, SolverStatus.NOT_SOLVED)
        info["failure"] = f"the interior-point iteration stopped: {stop}"
        nan = np.full(n, np.nan)
        res = LPResult(
            status=status, x=nan, row_duals=np.full(m, np.nan), col_duals=nan, row_activity=np.full(m, np.nan),
            objective=math.nan, dual_objective=math.nan, gap=math.nan, iterations=len(log), seconds=time.perf_counter() - t0,
            method="structured_ipm", solver_status=info["failure"], info=info,
        )
        return res, ""
    ok = acc["primal"] <= tol and acc["dual"] <= tol and acc["gap"] <= tol
    if not ok:
        info["failure"] = "the lifted point missed the certificate"
    ax = lp.A @ x
    info["accuracy"] = acc
    res = LPResult(
        status=SolverStatus.OPTIMAL if ok else SolverStatus.NOT_SOLVED,
        x=x, row_duals=y, col_duals=z, row_activity=ax, objective=acc["objective"], dual_objective=acc["dual_objective"],
        gap=acc["gap"], iterations=len(log), seconds=time.perf_counter() - t0, method="structured_ipm",
        primal_infeasibility=primal_infeasibility(lp, x, ax), dual_infeasibility=dual_infeasibility(lp, y, z),
        solver_status=f"relative primal {acc['primal']:.1e}, dual {acc['dual']:.1e}, gap {acc['gap']:.1e}",
        info=info,
    )
    return res, ""
