"""Dense iterative backend: GMRES and the Neumann series on a dense ``A``, no factorization.

With a handful of right-hand sides (gross output for a few demand columns,
multipliers for a few factors) an ``O(n^3)`` factorization is wasted work:
each Krylov iteration costs one pass over ``A`` (``n^2`` reads), and Leontief
matrices of real tables are well conditioned (``I - A`` is a non-singular
M-matrix, the spectral radius of ``A`` is below one), so GMRES reaches a
relative residual of 1e-10 in tens of passes or fewer, against the ``n / 10``
or more passes' worth of time a factorization costs at EXIOBASE size.

All right-hand sides are iterated together, as the rows of a ``k x n`` block,
so that every pass over ``A`` serves all of them in one matrix product (the
``k x n`` times ``n x n`` orientation is the one BLAS runs at memory speed for
small ``k``; ``n x n`` times ``n x k`` is several times slower in OpenBLAS).
Each right-hand side keeps its own Arnoldi process (GMRES in lockstep, Saad &
Schultz, SIAM J. Sci. Stat. Comput. 7, 1986), so the iterates are those of
plain GMRES.  The transposed (price) system uses the same stored ``A``: only
the orientation of the product changes, no transposed copy is made.

Restarts double as iterative refinement: every cycle starts from the true
residual ``D - (I - A) X`` computed in float64 on the caller's ``A``, so the
inner iteration may run on a float32 copy of ``A`` (half the bytes per pass)
and still deliver float64 accuracy (GMRES-IR; Carson & Higham, SIAM J. Sci.
Comput. 40, 2018).  The answer is returned only once that float64 residual is
below ``tol``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from gosplan.errors import ConvergenceError, GosplanError
from gosplan.linalg.seam import Method, SolveResult

__all__ = ["DenseIterative"]


def _row_norms(V: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("cn,cn->c", V, V, dtype=np.float64))


def _blas_one_thread():
    """Limit BLAS to one thread while our own threads split the product (if threadpoolctl is there)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dev dependency
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


class _OutOfPasses(ConvergenceError):
    """The iteration cap was reached while the residual was still falling."""


class _BlockProduct:
    """``V @ M`` for a ``k x n`` block ``V``, with the columns of ``M`` split over threads.

    For ``M`` of ``n x n`` and small ``k`` the product is memory bound; two
    single-threaded BLAS calls on halves of ``M`` keep both cores streaming,
    where one multi-threaded call with so thin a block does not.
    """

    def __init__(self, threads: int | None):
        self.threads = max(1, threads or os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def __call__(self, V: np.ndarray, M: np.ndarray, out: np.ndarray) -> np.ndarray:
        n = M.shape[1]
        if self._pool is None or n < 512:
            return np.matmul(V, M, out=out)
        cuts = np.linspace(0, n, self.threads + 1).astype(int)
        parts = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]
        list(self._pool.map(lambda s: np.matmul(V, M[:, s], out=out[:, s]), parts))
        return out

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)


class DenseIterative:
    """GMRES (restarted, lockstep over right-hand sides) or Neumann series on a dense ``A``.

    Parameters
    ----------
    A : array_like or scipy.sparse array, shape (n, n)
        Technical coefficients; a float64 ndarray is used in place (no copy).
    method : Method
        ``DENSE_GMRES`` or ``DENSE_NEUMANN``.
    tol : float
        Relative residual ``||d - (I - A) x|| / ||d||`` per column, measured in
        float64 on the returned solution (default 1e-10).
    maxiter : int
        Cap on passes over ``A`` per solve (default 1,000).
    restart : int
        GMRES cycle length (default 40).
    allow_float32 : bool
        GMRES only: iterate on a float32 copy of ``A`` (``n^2 * 4`` bytes more
        memory, half the bytes per pass), refined to ``tol`` in float64.
    threads : int, optional
        Threads splitting each product (default: all cores).
    fallback : bool
        When ``maxiter`` passes do not reach ``tol``, factor ``I - A`` by LU and
        solve directly instead of raising (what ``auto`` asks for, with
        ``maxiter`` set to about the cost of that factorization).
    """

    progress = None  # see linalg.Factorization

    def __init__(self, A, *, method=Method.DENSE_GMRES, tol=None, maxiter=None, restart=None,
                 allow_float32=False, threads=None, fallback=False):
        import scipy.sparse as sp

        self.method = Method(method)
        if sp.issparse(A):
            A = A.toarray()
        A = np.asarray(A)
        if A.dtype != np.float64 or not (A.flags.c_contiguous or A.flags.f_contiguous):
            # BLAS streams a contiguous matrix; a strided view would be copied at every pass
            A = np.ascontiguousarray(A, dtype=np.float64)
        self.A = A
        self.n = A.shape[0]
        self.tol = 1e-10 if tol is None else float(tol)
        self.maxiter = 1_000 if maxiter is None else int(maxiter)
        self.restart = max(1, min(40 if restart is None else int(restart), self.n))
        self.single = bool(allow_float32) and self.method is Method.DENSE_GMRES
        # the working copy for the inner iterations; the float64 A always measures the residual
        self.work = A.astype(np.float32) if self.single else A
        self._product = _BlockProduct(threads)
        self.fallback = fallback
        self._lu = None
        self.passes = 0  # products with A (either precision) in the last solve

    # -- products ------------------------------------------------------------------------

    def _op(self, M, transpose: bool):
        """``V -> V (I - A)^T`` on rows, i.e. each row ``v`` becomes ``(I - A) v`` (or ``(I - A)^T v``)."""
        # quantity system: row v -> (A v)^T = v A^T; price system: row v -> v A
        Mt = M if transpose else M.T

        def apply(V, out):
            self._product(V, Mt, out)
            self.passes += 1
            np.subtract(V, out, out=out)
            return out

        return apply

    def _residual(self, X, D, transpose):
        """``D - (I - A) X`` in float64 (rows are right-hand sides)."""
        R = np.empty_like(D)
        self._op(self.A, transpose)(X, R)
        np.subtract(D, R, out=R)
        return R

    # -- the solve -----------------------------------------------------------------------

    def solve(self, D, *, transpose: bool = False) -> SolveResult:
        D = np.asarray(D, dtype=np.float64)
        if D.shape[0] != self.n:
            raise GosplanError(f"right-hand side has {D.shape[0]} rows; A has {self.n} products")
        shape = D.shape
        DT = np.ascontiguousarray(D.reshape(self.n, -1).T)  # k x n: one row per right-hand side
        dnorm = _row_norms(DT)
        dnorm[dnorm == 0] = 1.0
        self.passes = 0
        if self._lu is not None:
            return self._lu.solve(D, transpose=transpose)
        try:
            with _blas_one_thread() if self._product.threads > 1 else nullcontext():
                if self.method is Method.DENSE_NEUMANN:
                    XT, res, its = self._neumann(DT, dnorm, transpose)
                else:
                    XT, res, its = self._gmres(DT, dnorm, transpose)
        except _OutOfPasses:
            if not self.fallback:
                raise
            # slow convergence (a spectrum spread towards 1): the factorization is now the
            # cheaper way, and it serves every later solve too
            from gosplan.linalg.dense import DenseLU

            self._lu = DenseLU(self.A, tol=self.tol)
            return self._lu.solve(D, transpose=transpose)
        self._check_sign(XT, DT)
        X = np.ascontiguousarray(XT.T).reshape(shape)
        return SolveResult(X, res, its, self.method, transpose)

    def _finite(self, res: np.ndarray, step: int) -> None:
        if not np.isfinite(res).all():
            raise GosplanError(
                f"the residual became NaN or infinite at pass {step}: A or the right-hand side holds NaN "
                "or infinite values (fix the table), or the iteration overflowed because the economy "
                "is not productive"
            )

    def _neumann(self, DT, dnorm, transpose):
        """``x <- d + A x``: the increment is the residual of the current iterate."""
        apply_A = self._op(self.A, transpose)
        XT = DT.copy()
        Y = np.empty_like(XT)
        history: list[float] = []
        for k in range(self.maxiter + 1):
            apply_A(XT, Y)  # Y = X - A X
            np.subtract(DT, Y, out=Y)  # the residual of X
            res = float(np.max(_row_norms(Y) / dnorm))
            self._finite(np.array([res]), k)
            if self.progress is not None:
                self.progress(k, res, self.tol)
            if res <= self.tol:
                return XT, res, k
            history.append(res)
            if k >= 10 and res >= history[k - 10]:
                raise ConvergenceError(
                    f"the dense Neumann series does not converge: the residual went from "
                    f"{history[k - 10]:.3g} to {res:.3g} over 10 steps, so the spectral radius of A is at "
                    "least about 1; the economy is not productive (check the coefficients)"
                )
            XT += Y
        raise _OutOfPasses(
            f"the dense Neumann series reached relative residual {history[-1]:.3g}, not {self.tol:g}, in "
            f"{self.maxiter} passes; raise maxiter or use method='dense-gmres'"
        )

    def _gmres(self, DT, dnorm, transpose):
        """Restarted GMRES; every cycle starts from the float64 residual (refinement)."""
        k, n = DT.shape
        wdt = self.work.dtype
        apply_w = self._op(self.work, transpose)
        XT = np.zeros_like(DT)
        R = DT.copy()  # residual of X = 0, no product needed
        floor = 1e-6 if self.single else 0.0  # what one float32 cycle can be asked to reach
        last = np.inf
        total = 0
        while True:
            rnorm = _row_norms(R)
            rel = rnorm / dnorm
            self._finite(rel, total)
            res = float(rel.max())
            if self.progress is not None:
                self.progress(total, res, self.tol)
            if res <= self.tol:
                return XT, res, total
            if res >= 0.999 * last:
                raise ConvergenceError(
                    f"dense GMRES stagnates at relative residual {res:.3g} (target {self.tol:g}) after "
                    f"{total} iterations: I - A is singular or nearly so, i.e. the economy is not "
                    "productive (check the coefficients), or the float32 copy is too coarse for it "
                    "(allow_float32=False)"
                )
            if total >= self.maxiter:
                raise _OutOfPasses(
                    f"dense GMRES reached relative residual {res:.3g}, not {self.tol:g}, in {total} "
                    f"iterations; raise maxiter or use method='dense' (LU)"
                )
            last = res
            # each row aims at the absolute residual tol * ||d||; a little margin for the
            # float64 re-measurement
            target = np.maximum(0.5 * self.tol * dnorm / np.where(rnorm > 0, rnorm, 1.0), floor)
            scale = np.where(rnorm > 0, rnorm, 1.0)
            C, its = self._cycle(apply_w, (R / scale[:, None]).astype(wdt), target,
                                 min(self.restart, self.maxiter - total), rnorm > 0)
            total += its
            XT += C.astype(np.float64) * scale[:, None]
            R = self._residual(XT, DT, transpose)

    def _cycle(self, apply, B, target, m, live):
        """At most ``m`` GMRES steps from 0 on ``(I - A) c = b`` per row of ``B`` (unit-norm rows).

        Returns the correction and the steps taken; a row stops when its
        estimated relative residual is below its ``target``.
        """
        from scipy.linalg import solve_triangular

        k, n = B.shape
        dt = B.dtype
        V = np.zeros((m + 1, k, n), dtype=dt)
        H = np.zeros((m + 1, m, k))
        cs, sn = np.zeros((m, k)), np.zeros((m, k))
        g = np.zeros((m + 1, k))
        beta = _row_norms(B)
        g[0] = beta
        V[0] = B / np.where(beta > 0, beta, 1.0).astype(dt)[:, None]
        steps = np.zeros(k, dtype=int)  # Krylov dimension each row uses
        active = live & (beta > 0)
        W = np.empty((k, n), dtype=dt)
        for j in range(m):
            if not active.any():
                break
            apply(V[j], W)
            W[~active] = 0
            # classical Gram-Schmidt, twice (CGS2): as stable as modified, and two block passes
            h = np.einsum("icn,cn->ic", V[: j + 1], W)
            W -= np.einsum("icn,ic->cn", V[: j + 1], h.astype(dt))
            h2 = np.einsum("icn,cn->ic", V[: j + 1], W)
            W -= np.einsum("icn,ic->cn", V[: j + 1], h2.astype(dt))
            H[: j + 1, j] = h + h2
            hn = _row_norms(W)
            H[j + 1, j] = hn
            V[j + 1] = W / np.where(hn > 0, hn, 1.0).astype(dt)[:, None]
            for i in range(j):  # earlier rotations on the new column
                a, b = H[i, j].copy(), H[i + 1, j].copy()
                H[i, j] = cs[i] * a + sn[i] * b
                H[i + 1, j] = -sn[i] * a + cs[i] * b
            r = np.hypot(H[j, j], H[j + 1, j])
            ok = r > 0
            cs[j] = np.where(ok, H[j, j] / np.where(ok, r, 1.0), 1.0)
            sn[j] = np.where(ok, H[j + 1, j] / np.where(ok, r, 1.0), 0.0)
            H[j, j], H[j + 1, j] = r, 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = cs[j] * g[j]
            steps[active] = j + 1
            active &= np.abs(g[j + 1]) > target * np.where(beta > 0, beta, 1.0)
        C = np.zeros((k, n), dtype=np.float64)
        for c in range(k):
            s = steps[c]
            diag = np.abs(np.diagonal(H[:s, :s, c]))
            # a zero pivot: I - A is singular on this Krylov space; keep the steps before it
            # (a valid, if poorer, iterate) and let the stagnation test report it
            zero = np.flatnonzero(diag <= 1e-14 * max(diag.max(initial=0.0), 1.0))
            s = int(zero[0]) if zero.size else s
            if s == 0:
                continue
            y = solve_triangular(H[:s, :s, c], g[:s, c], check_finite=False)
            C[c] = y @ V[:s, c].astype(np.float64)
        return C, int(steps.max(initial=0))

    def _check_sign(self, XT, DT):
        """A non-negative demand met by negative output means ``A`` is not productive."""
        nonneg = (DT >= 0).all(axis=1)
        if not nonneg.any():
            return
        Xn = XT[nonneg]
        big = np.abs(Xn).max(axis=1, initial=0.0)
        low = Xn.min(axis=1, initial=0.0)
        bad = low < -max(1e3 * self.tol, 1e-8) * big
        if bad.any() and self.A.min() >= 0:
            i = int(np.argmin(Xn[bad][0]))
            raise ConvergenceError(
                f"the solve converged, but a non-negative right-hand side needs negative "
                f"value {Xn[bad][0][i]:.4g} at product {i}: I - A is not an "
                "M-matrix, i.e. the economy is not productive (spectral radius of A >= 1); "
                "check the coefficients (Economy.check_productive names the products)"
            )

    def close(self):
        self._product.close()
