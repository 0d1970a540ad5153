"""One seam for the Leontief systems ``(I - A) x = d`` and ``p (I - A) = v``.

Every quantity of input-output analysis is a solve with ``I - A`` or its
transpose; this package owns how that solve is done so that the analysis code
never chooses between NumPy, SciPy and CuPy itself.  Backends live one per file
(``dense.py``: LU factored once, float64 or float32 with iterative refinement;
``dense_iterative.py``: GMRES and Neumann on a dense ``A`` without factoring it,
for a few right-hand sides; ``iterative.py``: Neumann and Jacobi series and preconditioned Krylov methods on
sparse matrices; ``gpu.py``: CuPy).  The dense inverse is formed only by
:func:`leontief_inverse`, on explicit request.
"""

from __future__ import annotations

import numpy as np

from gosplan.errors import ConvergenceError, GosplanError
from gosplan.linalg.seam import Factorization, Method, SolveResult, relative_residual

__all__ = [
    "Method",
    "SolveResult",
    "Factorization",
    "factorize",
    "solve",
    "leontief_inverse",
    "choose_method",
    "relative_residual",
    "ConvergenceError",
]


def _size_and_density(A) -> tuple[int, float]:
    import scipy.sparse as sp

    n = A.shape[0]
    if sp.issparse(A):
        return n, A.nnz / max(n * n, 1)
    return n, 1.0


# Past this many sectors a dense LU no longer pays for itself on a sparse table
# (n^2 memory, n^3 work), unless the table is dense anyway.
DENSE_MAX_SPARSE_N = 4_000
DENSE_MIN_DENSITY = 0.05
# Dense GMRES instead of LU: an LU costs (2/3) n^3 flops, one pass over A (a memory-bound
# product) 8 n^2 bytes, so an LU is worth n * bandwidth / (12 * flop rate) passes: n / 25
# to n / 50 on the 2-core development machine (9,800 x 9,800: LU 15-25 s, one pass
# 0.1-0.2 s).  A Leontief system needs some 5-60 passes per solve, so from n = 1,500 on
# GMRES wins as long as the right-hand sides, solved as a block, stay few (a pass then
# costs about the same for them all as for one).
DENSE_KRYLOV_MIN_N = 1_500
DENSE_KRYLOV_MAX_RHS = 32


def choose_method(A, *, allow_float32: bool = False, rhs: int | None = None) -> Method:
    """The backend ``auto`` picks for ``A``.

    Dense arrays, small tables (n <= 4,000) and dense-ish sparse tables
    (density >= 5 %) are solved densely: by GMRES on the dense matrix
    (``dense-gmres``) when the caller states it will solve few right-hand sides
    (``rhs <= 32`` columns in all) and ``n >= 1,500``, since one pass over ``A``
    per iteration then beats an ``O(n^3)`` factorization; otherwise (many
    right-hand sides, or ``rhs=None``: a factorization to be reused any number
    of times, as :func:`gosplan.analysis.prepare` asks for) by a dense LU
    (float32 with refinement if allowed).  Larger sparse tables get the Neumann
    series when a cheap norm bound (``min(max column sum, max row sum) of |A| <
    1``) proves it converges, and GMRES with a preconditioner otherwise.
    """
    import scipy.sparse as sp

    n, density = _size_and_density(A)
    if not sp.issparse(A) or n <= DENSE_MAX_SPARSE_N or density >= DENSE_MIN_DENSITY:
        if rhs is not None and rhs <= DENSE_KRYLOV_MAX_RHS and n >= DENSE_KRYLOV_MIN_N:
            return Method.DENSE_GMRES
        return Method.DENSE32 if allow_float32 and n > 500 else Method.DENSE
    # |A| only when needed: for the non-negative coefficients of an Economy the
    # sums are two matrix-vector products, with no copy of a 10^9-entry matrix
    absA = abs(A) if A.nnz and A.data.min() < 0 else A
    ones = np.ones(n)
    bound = min(np.max(absA.T @ ones), np.max(absA @ ones))
    return Method.NEUMANN if bound < 1 else Method.GMRES


def factorize(
    A,
    method: str | Method = Method.AUTO,
    *,
    tol: float | None = None,
    maxiter: int | None = None,
    allow_float32: bool = False,
    threads: int | None = None,
    preconditioner: str | None = None,
    rhs: int | None = None,
) -> Factorization:
    """Prepare ``I - A`` once for any number of solves in either orientation.

    Parameters
    ----------
    A : numpy.ndarray or scipy.sparse array, shape (n, n)
        Technical coefficients: ``A[i, j]`` is the input of product ``i`` per
        unit of product ``j``.  It is read, never modified or copied unless the
        backend needs its own layout (dense LU builds ``I - A`` once).
    method : {"auto", "dense", "dense32", "dense-gmres", "dense-neumann", "neumann", "jacobi", "gmres", "bicgstab", "cupy"}
        Backend; ``auto`` follows :func:`choose_method`.  ``dense-gmres`` and
        ``dense-neumann`` iterate on the dense matrix without factoring it
        (cheapest for a few right-hand sides; see :mod:`gosplan.linalg.dense_iterative`).
    tol : float, optional
        Relative residual the iterative backends and the float32 refinement
        must reach (default 1e-10, 1e-5 for float32 iterations).
    maxiter : int, optional
        Iteration cap of the iterative backends.
    allow_float32 : bool
        Let ``auto`` use float32 storage (dense32; float32 sparse values;
        a float32 copy for the inner iterations of ``dense-gmres``).
    threads : int, optional
        Threads for the sparse matrix-vector products (default: all cores).
    preconditioner : {"ilu", "jacobi", None}, optional
        Krylov preconditioner (default ILU up to 200,000 products, else Jacobi).
    rhs : int, optional
        How many right-hand-side columns the caller will solve in all; lets
        ``auto`` skip the factorization of a dense table when they are few.
        ``None`` (unknown, possibly many) keeps the reusable LU.
    """
    method = Method(method)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise GosplanError(f"A must be square (products x products); got shape {A.shape}")
    auto = method is Method.AUTO
    if auto:
        method = choose_method(A, allow_float32=allow_float32, rhs=rhs)
    if method in (Method.DENSE_GMRES, Method.DENSE_NEUMANN):
        from gosplan.linalg.dense_iterative import DenseIterative

        if auto and maxiter is None:
            # passes worth about one LU (see DENSE_KRYLOV_MIN_N); past them, factor instead
            maxiter = max(100, A.shape[0] // 40)
        # auto keeps GMRES in float64: with a handful of passes the float32 copy costs
        # more (one conversion pass, n^2 * 4 bytes, float64 residual passes) than it saves
        return DenseIterative(A, method=method, tol=tol, maxiter=maxiter,
                              allow_float32=allow_float32 and not auto, threads=threads, fallback=auto)
    if method in (Method.DENSE, Method.DENSE32):
        from gosplan.linalg.dense import DenseLU

        return DenseLU(A, single=method is Method.DENSE32, tol=tol, maxiter=maxiter)
    if method in (Method.NEUMANN, Method.JACOBI):
        from gosplan.linalg.iterative import SeriesSolver

        return SeriesSolver(
            A, jacobi=method is Method.JACOBI, tol=tol, maxiter=maxiter,
            allow_float32=allow_float32, threads=threads,
        )
    if method in (Method.GMRES, Method.BICGSTAB):
        from gosplan.linalg.iterative import KrylovSolver

        return KrylovSolver(
            A, method=method, tol=tol, maxiter=maxiter, preconditioner=preconditioner,
        )
    if method is Method.CUPY:
        from gosplan.linalg.gpu import CupySolver

        return CupySolver(A, tol=tol, maxiter=maxiter)
    raise GosplanError(f"unknown method {method!r}")  # pragma: no cover - StrEnum guards


def solve(
    A,
    D,
    method: str | Method = Method.AUTO,
    *,
    tol: float | None = None,
    transpose: bool = False,
    maxiter: int | None = None,
    allow_float32: bool = False,
    threads: int | None = None,
    preconditioner: str | None = None,
) -> SolveResult:
    """Solve ``(I - A) X = D`` (or ``(I - A)^T X = D`` with ``transpose=True``).

    ``D`` may hold many right-hand sides as columns; they share one
    factorization.  The quantity system gives gross output ``x`` for final
    demand ``d``; the transposed system gives prices ``p`` from unit primary
    costs ``v`` (``p = p A + v`` as a row vector).  See :func:`factorize` for
    the parameters; reuse :func:`factorize` directly when solving repeatedly.
    """
    D = np.asarray(D)
    fact = factorize(
        A, method, tol=tol, maxiter=maxiter, allow_float32=allow_float32,
        threads=threads, preconditioner=preconditioner,
        rhs=D.shape[1] if D.ndim == 2 else 1,
    )
    return fact.solve(D, transpose=transpose)


def leontief_inverse(A) -> np.ndarray:
    """The dense Leontief inverse ``L = (I - A)^{-1}``, formed on explicit request.

    Costs ``n^2`` memory and about ``2 n^3`` flops; everything else in gosplan
    solves with a factorization instead (Miller & Blair 2009, ch. 2, eq. 2.11).
    """
    import scipy.linalg
    import scipy.sparse as sp

    M = -(A.toarray() if sp.issparse(A) else np.array(A, dtype=np.float64))
    M[np.diag_indices_from(M)] += 1.0
    return scipy.linalg.inv(M, overwrite_a=True, check_finite=False)
