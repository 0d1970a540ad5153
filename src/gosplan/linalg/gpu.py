"""CuPy backend: the dense LU and the Neumann series on a GPU.

Imported only when ``method="cupy"`` is asked for; without CuPy (or without a
device) it raises :class:`~gosplan.errors.MissingDependencyError` naming the
extra, so that nothing else in gosplan depends on a GPU being present.  Results
come back to the host as NumPy arrays; the residual is measured on the device.
"""

from __future__ import annotations

import numpy as np

from gosplan.errors import ConvergenceError, GosplanError, MissingDependencyError, require
from gosplan.linalg.seam import Method, SolveResult


def _cupy():
    cp = require("cupy", "gpu")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise MissingDependencyError("CuPy is installed but sees no GPU; use a CPU method")
    except cp.cuda.runtime.CUDARuntimeError as exc:
        raise MissingDependencyError(f"CuPy is installed but no CUDA device is usable ({exc}); use a CPU method") from exc
    return cp


class CupySolver:
    """Dense LU on the device for dense or small tables; Neumann series for sparse ones."""

    method = Method.CUPY
    progress = None  # see linalg.Factorization

    def __init__(self, A, *, tol: float | None = None, maxiter: int | None = None):
        import scipy.sparse as sp

        cp = self.cp = _cupy()
        self.n = A.shape[0]
        self.tol = 1e-10 if tol is None else tol
        self.maxiter = 10_000 if maxiter is None else maxiter
        self.sparse = sp.issparse(A) and A.nnz < 0.05 * self.n * self.n
        if self.sparse:
            import cupyx.scipy.sparse as csp

            self.A = csp.csr_matrix(sp.csr_matrix(A))
            self.AT = self.A.T.tocsr()
        else:
            import cupyx.scipy.linalg as cla

            dense = A.toarray() if sp.issparse(A) else np.asarray(A, dtype=np.float64)
            self.A = cp.asarray(dense)
            M = cp.eye(self.n) - self.A
            self._lu = cla.lu_factor(M, overwrite_a=True, check_finite=False)

    def _residual(self, X, D, At):
        cp = self.cp
        X2, D2 = X.reshape(self.n, -1), D.reshape(self.n, -1)
        R = D2 - X2 + At @ X2
        den = cp.linalg.norm(D2, axis=0)
        den = cp.where(den > 0, den, 1.0)
        return float(cp.max(cp.linalg.norm(R, axis=0) / den))

    def solve(self, D, *, transpose: bool = False) -> SolveResult:
        cp = self.cp
        D = np.asarray(D, dtype=np.float64)
        if D.shape[0] != self.n:
            raise GosplanError(f"right-hand side has {D.shape[0]} rows; A has {self.n} products")
        Dg = cp.asarray(D)
        if not self.sparse:
            import cupyx.scipy.linalg as cla

            X = cla.lu_solve(self._lu, Dg, trans=1 if transpose else 0)
            At = self.A.T if transpose else self.A
            return SolveResult(cp.asnumpy(X), self._residual(X, Dg, At), 0, Method.CUPY, transpose)
        At = self.AT if transpose else self.A
        X = Dg.copy()
        D2 = Dg.reshape(self.n, -1)
        den = cp.linalg.norm(D2, axis=0)
        den = cp.where(den > 0, den, 1.0)
        for k in range(self.maxiter + 1):
            R = Dg + At @ X - X  # the Neumann increment is the residual of X
            res = float(cp.max(cp.linalg.norm(R.reshape(self.n, -1), axis=0) / den))
            if self.progress is not None:
                self.progress(k, res, self.tol)
            if res <= self.tol:
                return SolveResult(cp.asnumpy(X), res, k, Method.CUPY, transpose)
            X += R
        raise ConvergenceError(
            f"the Neumann series on the GPU did not reach {self.tol:g} in {self.maxiter} iterations "
            f"(last residual {res:.3g}); the economy may not be productive"
        )
