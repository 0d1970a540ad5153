"""A multi-period plan of a Leontief economy as a smaller program in investment.

In a *Leontief* economy every activity makes one product and every product is made
by one activity (``N = make - use`` is square), the economy is productive
(``N^{-1} >= 0``), floors, basket, capital and factor use are non-negative, and the
objective never rewards output for its own sake. Then the levels of period t are
``x_t = N^{-1} (floor_t + capital z_t + u_t basket_t)``: a surplus only uses
capacity and factors, so an optimal plan has none, and ``x_t >= 0`` holds by
itself. The products of the capital goods (``R`` of them: capital's non-zero rows)
carry investment, so the period's plan depends on the ``R`` values ``w_t = K_R z_t``
and on ``u``, through ``G = N^{-1} E_R`` (one sparse LU of N and R solves for the
whole horizon). Capacity goes too: ``k_t`` is a fixed linear function of the
earlier investment of the same activity (the accumulation recursion). What is
left (:class:`Reduced`) is a program in investment ``z`` (local to each activity),
``w`` and ``u`` (global): the dynamic Leontief model (Leontief 1953, *Studies in
the Structure of the American Economy*, ch. 3) in its investment variables.

:func:`lift` turns a point of the reduced program back into a primal-dual pair of
the full LP: levels from the LU of N, capacity from the recursion, prices from the
stationarity of levels (``N' p = ...``), capacity valuations from that of
capacity, reduced costs as ``c - A' y``. Its optimality is then judged on the full
LP's arrays, never on the reduced program's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["Reduced", "global_size", "lift", "reduce_plan", "why_not"]


@dataclass(eq=False)
class Reduced:
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


def why_not(lp: Any, layout: Any, spec: Any, max_size: int | None = None) -> str | None:
    """Why the plan has no reduced form, or (with ``max_size``) one whose dense global
    system (:func:`global_size`) is small enough; None when it may have one
    (:func:`reduce_plan` checks the coefficients)."""
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
    if max_size is not None:
        size = global_size(lp, layout)
        if size > max_size:
            return f"its dense global system ({size:,} unknowns) is larger than {max_size:,}"
    return None


def global_size(lp: Any, layout: Any) -> int:
    """Unknowns of the dense global system: ``2 T R + nu`` plus the conditions on
    several activities' capacity (``R`` capital goods), known before any
    factorisation."""
    bal, zs = layout.rows("balance"), layout.cols("z")
    K0 = sp.csr_array(lp.A[bal.start : bal.start + layout.P][:, zs.start : zs.start + layout.Jc])
    R = int((np.diff(K0.indptr) > 0).sum())
    others = sum(b - a for name, (a, b) in layout.row_blocks.items() if name not in ("balance", "factor", "capacity", "accumulation"))
    return 2 * layout.T * R + layout.nu + others


def reduce_plan(lp: Any, layout: Any, spec: Any) -> tuple[Reduced | None, Any, str]:
    """The reduced program and what :func:`lift` needs (the LU of N, the capital
    coefficients), or ``(None, None, reason)`` when a coefficient rules it out."""
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
    red = Reduced(
        T=T, Jc=Jc, R=R, nu=nu, zfree=zfree, Lam=Lam, kappa=kappa, Gx=Gx, Gux=Gux, hx=hx, FG=FG, FGu=FGu, hf=hf,
        lcap=first[li], la=la, lu=Ou[li], hl=oh[li], Cz=sp.csr_array(Oz[ci]), Cu=Ou[ci], hc=oh[ci], Kr=Kr,
        cz=cz * zfree, cw=cw, cu=cu, const=const, local_rows=li, cross_rows=ci, bound_acts=bounded,
    )
    return red, (lu, Kc), ""


def lift(lp: Any, layout: Any, red: Reduced, factors: Any, p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primal point, row duals and column duals of the full LP (HiGHS's signs) from a
    point ``p`` of the reduced program: investment ``p.z``, consumption ``p.u`` and
    the multipliers ``p.lx``, ``p.lf``, ``p.ll``, ``p.lc`` of its x-, f-, local and
    cross rows (non-negative, for rows read as ``<=``)."""
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
    U = sp.csr_array(Aacc.T)
    # SciPy before 1.17 hands the triangle to SuperLU, which takes 32-bit indices only
    U.indices, U.indptr = U.indices.astype(np.int32), U.indptr.astype(np.int32)
    y[acc] = spla.spsolve_triangular(U, rest, lower=False)
    zcol = cmin - A.T @ y
    return x, sign * y, sign * zcol
