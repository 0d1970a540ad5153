"""Sparse iterative backends: Neumann and Jacobi series, preconditioned Krylov.

For a product-level economy (millions of products, tens of inputs each) the
matrix is the only large object; the series methods read it once per
iteration and keep three vectors per right-hand side, so their speed is set by
memory bandwidth.  The matrix-vector product is split into row blocks that
share the CSR arrays (no copy) and run on a thread pool: SciPy's sparse kernels
release the GIL.  The transposed product uses the same blocks through their
CSC views (each thread scatters into its own output, summed afterwards), so
the price system needs no transposed copy of ``A`` either.

The Neumann series ``x = sum_k A^k d`` converges iff the spectral radius of
``A`` is below 1 (Miller & Blair 2009, section 2.4); its increment at step k is
exactly the residual ``d - (I - A) x_k``, so the stopping test costs nothing.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gosplan.errors import ConvergenceError, GosplanError
from gosplan.linalg import Method, SolveResult, relative_residual

try:  # accumulate y += A x in place on array views; fall back to the public operators
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - depends on SciPy internals
    _csr_matvec = None


def _as_csr(A, allow_float32: bool):
    """``A`` as CSR with int32 indices where possible, without copying a CSR input."""
    import scipy.sparse as sp

    if not sp.issparse(A):
        A = sp.csr_array(np.asarray(A, dtype=np.float64))
    elif A.format != "csr":
        A = sp.csr_array(A)
    want = A.dtype if (allow_float32 and A.dtype == np.float32) else np.float64
    if A.dtype != want:
        A = A.astype(want)
    if not A.has_canonical_format:
        A = A.copy()
        A.sum_duplicates()
    return A


class ParallelCSR:
    """``y = A x`` and ``y = A^T x`` with the row blocks of one CSR matrix on threads.

    A block is a triple of views into ``A``'s arrays (and a small shifted copy of
    its slice of ``indptr``): SciPy's constructors would copy a view of a larger
    array, so the blocks are handed straight to SciPy's kernels.
    """

    def __init__(self, A, threads: int | None = None):
        self.A = A
        self.n, self.m = A.shape
        self.threads = max(1, min(threads or os.cpu_count() or 1, max(self.n // 50_000, 1)))
        cuts = np.searchsorted(A.indptr, np.linspace(0, A.nnz, self.threads + 1)).clip(0, self.n)
        cuts[0], cuts[-1] = 0, self.n
        self.blocks = []
        for r0, r1 in zip(cuts[:-1], cuts[1:]):
            s, e = A.indptr[r0], A.indptr[r1]
            ptr = (A.indptr[r0 : r1 + 1] - s).astype(A.indices.dtype, copy=False)
            self.blocks.append((int(r0), int(r1), ptr, A.indices[s:e], A.data[s:e]))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def _run(self, fn):
        if self._pool is None:
            return [fn(b) for b in self.blocks]
        return list(self._pool.map(fn, self.blocks))

    def _scipy_block(self, block):
        import scipy.sparse as sp

        r0, r1, ptr, ind, dat = block
        return sp.csr_array((dat, ind, ptr), shape=(r1 - r0, self.m))

    def matvec_add(self, X, Y):
        """``Y += A @ X`` (X, Y of the matrix dtype, C-contiguous)."""

        def one(block):
            r0, r1, ptr, ind, dat = block
            if _csr_matvec is None:
                Y[r0:r1] += self._scipy_block(block) @ X
            elif X.ndim == 1:
                _csr_matvec(r1 - r0, self.m, ptr, ind, dat, X, Y[r0:r1])
            else:
                _csr_matvecs(r1 - r0, self.m, X.shape[1], ptr, ind, dat, X.ravel(), Y[r0:r1].reshape(-1))

        self._run(one)
        return Y

    def rmatvec_add(self, X, Y):
        """``Y += A.T @ X``: each block scatters into its own buffer, summed after."""

        def one(block):
            r0, r1, ptr, ind, dat = block
            Xb = X[r0:r1]
            if _csr_matvec is None:
                return self._scipy_block(block).T @ Xb
            part = np.zeros((self.m,) + X.shape[1:], dtype=Y.dtype)
            if X.ndim == 1:
                _csc_matvec(self.m, r1 - r0, ptr, ind, dat, Xb, part)
            else:
                _csc_matvecs(self.m, r1 - r0, X.shape[1], ptr, ind, dat, Xb.ravel(), part.reshape(-1))
            return part

        for part in self._run(one):
            Y += part
        return Y

    def __call__(self, X, transpose: bool = False):
        X = np.ascontiguousarray(X, dtype=self.A.dtype)
        Y = np.zeros((self.m if transpose else self.n,) + X.shape[1:], dtype=self.A.dtype)
        return self.rmatvec_add(X, Y) if transpose else self.matvec_add(X, Y)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)


def _column_norms(Y: np.ndarray) -> np.ndarray:
    """2-norm of each column in one pass, accumulated in float64 (no n x k temporary)."""
    Y2 = Y.reshape(Y.shape[0], -1)
    return np.sqrt(np.einsum("ij,ij->j", Y2, Y2, dtype=np.float64))


class SeriesSolver:
    """Neumann (``x <- d + A x``) or Jacobi (``x <- x + (d - (I - A) x) / (1 - a_ii)``)."""

    def __init__(self, A, *, jacobi=False, tol=None, maxiter=None, allow_float32=False, threads=None):
        self.method = Method.JACOBI if jacobi else Method.NEUMANN
        self.A = _as_csr(A, allow_float32)
        self.n = self.A.shape[0]
        self.dtype = self.A.dtype
        single = self.dtype == np.float32
        self.tol = (1e-5 if single else 1e-10) if tol is None else tol
        if single and self.tol < 1e-6:
            raise GosplanError(
                f"tol={self.tol:g} is below what float32 coefficients can reach (about 1e-6); "
                "pass tol >= 1e-6 or allow_float32=False"
            )
        self.maxiter = 10_000 if maxiter is None else maxiter
        self.op = ParallelCSR(self.A, threads)
        self.inv_diag = None
        if jacobi:
            diag = 1.0 - self.A.diagonal()
            if (diag <= 0).any():
                i = int(np.flatnonzero(diag <= 0)[0])
                raise ConvergenceError(
                    f"Jacobi iteration impossible: product {i} uses at least one unit of itself "
                    f"per unit (a_ii = {1 - diag[i]:.6g}); the economy is not productive"
                )
            self.inv_diag = (1.0 / diag).astype(self.dtype)

    def solve(self, D, *, transpose: bool = False) -> SolveResult:
        D = np.ascontiguousarray(D, dtype=self.dtype)
        if D.shape[0] != self.n:
            raise GosplanError(f"right-hand side has {D.shape[0]} rows; A has {self.n} products")
        step = self.op.rmatvec_add if transpose else self.op.matvec_add
        inv_diag = None if self.inv_diag is None else (
            self.inv_diag if D.ndim == 1 else self.inv_diag[:, None])
        dnorm = _column_norms(D)
        dnorm[dnorm == 0] = 1.0
        X = D.copy()
        Y = np.empty_like(X)
        history: list[float] = []
        for k in range(self.maxiter + 1):
            # the residual of X, D - X + A X, with the vector work folded into one pass before the product
            np.subtract(D, X, out=Y)
            step(X, Y)
            res = float(np.max(_column_norms(Y) / dnorm))
            if not np.isfinite(res):
                raise ConvergenceError(f"{self.method} iteration overflowed at step {k}: A is not productive")
            if res <= self.tol:
                return SolveResult(X, res, k, self.method, transpose)
            history.append(res)
            # ten steps without progress: the series does not converge (rho(A) >= 1)
            if k >= 10 and res >= history[k - 10]:
                rate = (res / history[k - 10]) ** 0.1
                raise ConvergenceError(
                    f"the {self.method} series does not converge: the residual went from "
                    f"{history[k - 10]:.3g} to {res:.3g} over 10 steps (rate {rate:.4f} per step), "
                    "so the spectral radius of A is at least about 1; the economy is not "
                    "productive (check the coefficients) or use method='gmres'"
                )
            if inv_diag is not None:
                Y *= inv_diag
            X += Y
        rate = (history[-1] / history[-11]) ** 0.1 if len(history) > 11 else float("nan")
        raise ConvergenceError(
            f"the {self.method} series reached relative residual {history[-1]:.3g}, not {self.tol:g}, "
            f"in {self.maxiter} iterations (rate {rate:.6f} per step); raise maxiter or use "
            "method='gmres'"
        )


class KrylovSolver:
    """GMRES or BiCGSTAB on ``I - A`` with an ILU or Jacobi preconditioner."""

    def __init__(self, A, *, method=Method.GMRES, tol=None, maxiter=None, preconditioner=None):
        import scipy.sparse as sp

        self.method = Method(method)
        self.A = _as_csr(A, allow_float32=False)
        self.n = self.A.shape[0]
        self.tol = 1e-10 if tol is None else tol
        self.maxiter = maxiter
        if preconditioner is None:
            preconditioner = "ilu" if self.n <= 200_000 else "jacobi"
        if preconditioner not in ("ilu", "jacobi", "none"):
            raise GosplanError(f"unknown preconditioner {preconditioner!r}: use 'ilu', 'jacobi' or 'none'")
        self.preconditioner = preconditioner
        self._ilu = None
        self._inv_diag = None
        if preconditioner == "ilu":
            import scipy.sparse.linalg as spla

            M = sp.eye_array(self.n, format="csc") - self.A.tocsc()
            self._ilu = spla.spilu(M, drop_tol=1e-5, fill_factor=10)
        elif preconditioner == "jacobi":
            diag = 1.0 - self.A.diagonal()
            self._inv_diag = 1.0 / np.where(diag != 0, diag, 1.0)

    def _operators(self, transpose: bool):
        import scipy.sparse.linalg as spla

        A = self.A.T if transpose else self.A
        n = self.n
        op = spla.LinearOperator((n, n), matvec=lambda v: v - A @ v, dtype=np.float64)
        if self._ilu is not None:
            trans = "T" if transpose else "N"
            prec = spla.LinearOperator((n, n), matvec=lambda v: self._ilu.solve(v, trans=trans), dtype=np.float64)
        elif self._inv_diag is not None:
            inv = self._inv_diag
            prec = spla.LinearOperator((n, n), matvec=lambda v: inv * v, dtype=np.float64)
        else:
            prec = None
        return op, prec, A

    def solve(self, D, *, transpose: bool = False) -> SolveResult:
        import scipy.sparse.linalg as spla

        D = np.asarray(D, dtype=np.float64)
        if D.shape[0] != self.n:
            raise GosplanError(f"right-hand side has {D.shape[0]} rows; A has {self.n} products")
        op, prec, A = self._operators(transpose)
        D2 = D.reshape(self.n, -1)
        X = np.empty_like(D2)
        most = 0
        for j in range(D2.shape[1]):
            count = [0]

            def tick(_arg, count=count):
                count[0] += 1

            if not D2[:, j].any():
                X[:, j] = 0.0
                continue
            if self.method is Method.GMRES:
                x, info = spla.gmres(op, D2[:, j], rtol=self.tol, atol=0.0, M=prec, maxiter=self.maxiter,
                                     restart=min(50, self.n), callback=tick, callback_type="pr_norm")
            else:
                x, info = spla.bicgstab(op, D2[:, j], rtol=self.tol, atol=0.0, M=prec,
                                        maxiter=self.maxiter, callback=tick)
            if info != 0:
                res = relative_residual(lambda v: A @ v, x, D2[:, j])
                raise ConvergenceError(
                    f"{self.method} did not reach relative residual {self.tol:g} for right-hand side "
                    f"column {j} (SciPy info={info}, residual {res:.3g} after {count[0]} iterations); "
                    "check that the economy is productive, loosen tol or raise maxiter"
                )
            X[:, j] = x
            most = max(most, count[0])
        X = X.reshape(D.shape)
        res = relative_residual(lambda v: A @ v, X, D)
        return SolveResult(X, res, most, self.method, transpose)
