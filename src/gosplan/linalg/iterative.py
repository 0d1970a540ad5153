"""Sparse iterative backends: Neumann and Jacobi series, preconditioned Krylov.

For a product-level economy (millions of products, tens of inputs each) the
matrix is the only large object; the series methods read it once per
iteration and keep three vectors per right-hand side, so their speed is set by
memory bandwidth.  The matrix-vector product is split into row blocks that
share the CSR arrays (no copy) and run on a thread pool: SciPy's sparse kernels
release the GIL.  The transposed product (the price system, multipliers) runs
the same forward kernel on a transposed copy of ``A`` that the solver builds
once, in parallel, on its first transposed solve and keeps (its hub columns,
bought by every product, apart: see :class:`_Transposed`).  Scattering into
one buffer per thread and summing the buffers (the way without a copy, kept for
a matrix streamed from disk) costs a pass over ``threads`` vectors per step,
which grows with the core count (on 16 cores it made the transposed solve 6.6x
its bandwidth bound against 1.4x for the forward one).

The Neumann series ``x = sum_k A^k d`` converges iff the spectral radius of
``A`` is below 1 (Miller & Blair 2009, section 2.4); its increment at step k is
exactly the residual ``d - (I - A) x_k``, so the stopping test costs nothing.

Where the compiled kernels of ``_series.cpp`` are built (a C++ compiler at
install time), a series step is one pass: the product, the residual, its norm
and the next iterate together, with the right-hand sides as one row-major
block; otherwise the step is SciPy's product plus vector passes.

A matrix larger than memory can be solved from disk: save its CSR arrays with
``numpy.save`` and open them with ``numpy.load(..., mmap_mode="r")``; the series
solvers read them in place, so each iteration streams the matrix from the file.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gosplan.errors import ConvergenceError, GosplanError
from gosplan.linalg.seam import Method, SolveResult, relative_residual

try:  # the fused series kernels, built from _series.cpp when a C++ compiler was at hand
    import gosplan.linalg._series as _series
except ImportError:  # pragma: no cover - depends on the build
    _series = None

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


def _is_mapped(A) -> bool:
    """Whether a CSR matrix's values are read from a file (numpy.memmap somewhere down its bases)."""
    a = A.data
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = getattr(a, "base", None)
    return False


#: A column of A with more entries than this many times the mean (and at least HEAVY_MIN) is
#: "heavy" (a hub: energy, transport, trade bought by every product): its row of A^T would
#: gather from everywhere in x, so the transposed step scatters it instead (see _Transposed).
HEAVY_FACTOR, HEAVY_MIN = 8.0, 64


def parallel_transpose(A, op: ParallelCSR, *, split: bool = False):
    """``A^T`` as a canonical CSR array, built with the row blocks of ``op`` on its threads.

    Each block counts its entries per column (``_series.count``); the counts, summed
    over blocks, are the row pointers of ``A^T``, and a block's own counts, offset by
    those of the blocks before it, are where it writes (``_series.place``): rows of
    ``A^T`` come out with sorted column ids, and no two threads write one place.
    Memory: the copy (``nnz`` values and ids) and one count per column and block.

    With ``split``, the heavy columns (more than ``HEAVY_FACTOR`` times the mean
    entries per column, and ``HEAVY_MIN``) are left out, their rows of ``A^T``
    empty, and their ids are returned beside the copy (else an empty array).
    """
    import scipy.sparse as sp

    n, m = A.shape
    idx = A.indices.dtype
    cuts = op.cuts
    nblocks = len(cuts) - 1
    counts = [np.zeros(m, dtype=idx) for _ in range(nblocks)]
    each = (lambda fn: [fn(b) for b in range(nblocks)]) if op._pool is None else \
        (lambda fn: list(op._pool.map(fn, range(nblocks))))
    each(lambda b: _series.count(A.indptr, A.indices, A.data, counts[b], cuts[b], cuts[b + 1]))
    total = counts[0].copy()
    for c in counts[1:]:
        total += c
    heavy = np.flatnonzero(total > max(HEAVY_MIN, HEAVY_FACTOR * A.nnz / max(m, 1))) if split else \
        np.zeros(0, dtype=np.int64)
    skip = None
    if len(heavy):
        skip = np.zeros(m, dtype=np.uint8)
        skip[heavy] = 1
        total[heavy] = 0
        for c in counts:
            c[heavy] = 0
    indptr = np.zeros(m + 1, dtype=idx)
    np.cumsum(total, out=indptr[1:])
    # block b writes column j from indptr[j] + (entries of j in the blocks before b)
    start = indptr[:-1].copy()
    for c in counts:
        c_b = c.copy()
        c[:] = start
        start += c_b
    kept = int(indptr[-1])
    indices = np.empty(kept, dtype=idx)
    data = np.empty(kept, dtype=A.dtype)
    each(lambda b: _series.place(A.indptr, A.indices, A.data, counts[b], indices, data, cuts[b], cuts[b + 1], skip))
    AT = sp.csr_array((m, n), dtype=A.dtype)
    # set the arrays directly: they are canonical by construction, and the constructor would check them again
    AT.indptr, AT.indices, AT.data = indptr, indices, data
    AT.has_sorted_indices = True
    AT.has_canonical_format = True
    return (AT, heavy) if split else AT


class _Transposed:
    """What the transposed step runs on: ``A^T`` without its heavy rows (a CSR copy with its
    row blocks), and the heavy columns of ``A`` apart, as an ``n x h`` CSR matrix ``H``.

    ``A^T x = (A^T without the heavy rows) x + (H^T x on the heavy rows)``: the first is the
    forward step's gather, local when supply chains are (rows of A^T gather from x near
    them); the second is a scatter of ``x`` in row order into ``h`` rows, one small buffer
    per thread (``h x ld`` values) that stays in cache. Gathering a heavy row instead would
    read x at random, one cache line per entry; scattering everything instead needs one
    ``n x ld`` buffer per thread and a pass to add them up, which grows with the threads.
    """

    def __init__(self, A, op: ParallelCSR, threads: int, split: bool):
        heavy = np.zeros(0, dtype=np.int64)
        if _series is None:
            AT = _as_csr(A.T, True)
        elif split:
            AT, heavy = parallel_transpose(A, op, split=True)
        else:
            AT = parallel_transpose(A, op)
        self.AT, self.heavy = AT, heavy
        self.op = ParallelCSR(AT, threads, pool=op._pool)
        self.H = None
        if len(heavy):
            import scipy.sparse as sp

            # the heavy columns' entries, row by row on the blocks' threads: lengths, then the entries
            idx, cuts = A.indices.dtype, op.cuts
            nb = len(cuts) - 1
            each = (lambda fn: [fn(b) for b in range(nb)]) if op._pool is None else \
                (lambda fn: list(op._pool.map(fn, range(nb))))
            pick = np.zeros(A.shape[1], dtype=np.uint8)
            pick[heavy] = 1
            remap = np.zeros(A.shape[1], dtype=idx)
            remap[heavy] = np.arange(len(heavy), dtype=idx)
            indptr = np.zeros(A.shape[0] + 1, dtype=idx)
            each(lambda b: _series.pick(A.indptr, A.indices, A.data, pick, remap, indptr, None, None,
                                        cuts[b], cuts[b + 1]))
            np.cumsum(indptr, out=indptr)
            indices, data = np.empty(int(indptr[-1]), dtype=idx), np.empty(int(indptr[-1]), dtype=A.dtype)
            each(lambda b: _series.pick(A.indptr, A.indices, A.data, pick, remap, indptr, indices, data,
                                        cuts[b], cuts[b + 1]))
            H = sp.csr_array((A.shape[0], len(heavy)), dtype=A.dtype)
            H.indptr, H.indices, H.data = indptr, indices, data
            H.has_sorted_indices = True
            H.has_canonical_format = True
            self.H = H


class ParallelCSR:
    """``y = A x`` and ``y = A^T x`` with the row blocks of one CSR matrix on threads.

    A block is a triple of views into ``A``'s arrays (and a small shifted copy of
    its slice of ``indptr``): SciPy's constructors would copy a view of a larger
    array, so the blocks are handed straight to SciPy's kernels.
    """

    def __init__(self, A, threads: int | None = None, pool: ThreadPoolExecutor | None = None):
        self.A = A
        self.n, self.m = A.shape
        self.threads = max(1, min(threads or os.cpu_count() or 1, max(self.n // 50_000, 1)))
        cuts = np.searchsorted(A.indptr, np.linspace(0, A.nnz, self.threads + 1)).clip(0, self.n)
        cuts[0], cuts[-1] = 0, self.n
        self.cuts = [int(c) for c in cuts]
        self.blocks = []
        for r0, r1 in zip(cuts[:-1], cuts[1:]):
            s, e = A.indptr[r0], A.indptr[r1]
            ptr = (A.indptr[r0 : r1 + 1] - s).astype(A.indices.dtype, copy=False)
            self.blocks.append((int(r0), int(r1), ptr, A.indices[s:e], A.data[s:e]))
        self._own_pool = pool is None
        self._pool = (pool if pool is not None else ThreadPoolExecutor(self.threads)) if self.threads > 1 else None

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
        if self._pool is not None and self._own_pool:
            self._pool.shutdown(wait=False)


def _column_norms(Y: np.ndarray) -> np.ndarray:
    """2-norm of each column in one pass, accumulated in float64 (no n x k temporary)."""
    Y2 = Y.reshape(Y.shape[0], -1)
    return np.sqrt(np.einsum("ij,ij->j", Y2, Y2, dtype=np.float64))


def _padded_width(k: int) -> int:
    """Row length of an n x k block for the kernels: 1, 2, 4 or a multiple of 8,
    so that with 64-byte aligned data the rows of X start on cache lines."""
    return k if k <= 2 else 4 if k <= 4 else -(-k // 8) * 8


class _Workspace:
    """Blocks of n x ld values for the fused steps, kept between the solves of one solver.

    A fresh block costs its first touch, page by page: on the development VM 120-190 ms
    for 64 MiB against 12 ms to fill a block used before, about a tenth of a 7-column
    solve at n = 10^6. Blocks are kept while they take no more memory than the matrix.
    """

    def __init__(self, dtype, limit: int):
        self.dtype, self.limit = np.dtype(dtype), limit
        self.spare: list[np.ndarray] = []  # flat buffers no solve is using
        self.lock = threading.Lock()  # solves on other threads share the spares

    def block(self, n: int, ld: int, zero: bool, lent: list[np.ndarray]) -> np.ndarray:
        """An n x ld block whose data start on a 64-byte boundary (zeroed if asked); its
        buffer is appended to ``lent``, to be handed to :meth:`keep` after the solve."""
        item = self.dtype.itemsize
        need = n * ld + 64 // item
        with self.lock:
            fits = [b for b in self.spare if b.size >= need]
            buf = min(fits, key=lambda b: b.size) if fits else None
            self.spare = [b for b in self.spare if b is not buf]
        if buf is None:
            buf = np.zeros(need, dtype=self.dtype) if zero else np.empty(need, dtype=self.dtype)
            zero = False
        lent.append(buf)
        off = (-buf.ctypes.data % 64) // item
        view = buf[off : off + n * ld].reshape(n, ld)
        if zero:
            view.fill(0)
        return view

    def keep(self, bufs: list[np.ndarray]) -> None:
        """Take back the buffers of a solve that ended; the largest are kept, up to the limit."""
        with self.lock:
            kept, total = [], 0
            for buf in sorted(self.spare + bufs, key=lambda b: -b.nbytes):
                if total + buf.nbytes <= self.limit:
                    kept.append(buf)
                    total += buf.nbytes
            self.spare = kept


class _ScipySteps:
    """The series on SciPy's products: the residual ``D - X + A X`` in a buffer, then ``X += R``."""

    def __init__(self, solver: SeriesSolver, D: np.ndarray, transpose: bool):
        copy = solver._transposed() if transpose else None
        self.product = (copy.op.matvec_add if copy is not None else solver.op.rmatvec_add) if transpose \
            else solver.op.matvec_add
        self.D, self.X, self.R = D, D.copy(), np.empty_like(D)
        self.inv_diag = None if solver.inv_diag is None else (
            solver.inv_diag if D.ndim == 1 else solver.inv_diag[:, None])

    def residual_norms(self) -> np.ndarray:
        # the residual of X with the vector work folded into one pass before the product
        np.subtract(self.D, self.X, out=self.R)
        self.product(self.X, self.R)
        return _column_norms(self.R)

    def advance(self) -> None:
        if self.inv_diag is not None:
            self.R *= self.inv_diag
        self.X += self.R

    def solution(self) -> np.ndarray:
        return self.X


class _FusedSteps:
    """The series on the compiled kernels: one pass per step forms the residual of X,
    its squared norms and the next iterate in a second buffer; ``advance`` swaps them.
    The transposed step is the same step on the solver's transposed copy of A; without
    one it scatters into one buffer per thread, then combines them with the residual,
    norms and next iterate in one pass that also clears them."""

    def __init__(self, solver: SeriesSolver, D: np.ndarray, transpose: bool):
        n = solver.n
        self.shape, self.k = D.shape, 1 if D.ndim == 1 else D.shape[1]
        # rows of X (gathered by the product) and of the buffers (updated by the scatter)
        # start on cache lines and fill whole SIMD values: for 3 columns padded to 4, a
        # scatter step took 42 ms instead of 57 (n = 10^6, 2 threads)
        self.ld = _padded_width(self.k)
        space, self.lent = solver.workspace, []
        copy = solver._transposed() if transpose else None
        heavy = copy is not None and copy.H is not None
        # with heavy rows, D's copy carries their scattered sums each step: never the caller's array
        if self.ld == self.k and D.ctypes.data % 64 == 0 and not heavy:
            self.D = D.reshape(n, self.k)  # already a block the kernels can read: no copy
        else:
            self.D = space.block(n, self.ld, False, self.lent)
            self.D[:, : self.k] = D.reshape(n, self.k)
            self.D[:, self.k :] = 0  # padding columns stay zero through the steps
        self.X = space.block(n, self.ld, False, self.lent)
        self.X[:] = self.D
        self.out = space.block(n, self.ld, False, self.lent)
        A, op = solver.A, solver.op
        self.heavy = None
        if copy is not None:  # A^T x is A^T's forward product, the heavy rows scattered apart
            if heavy:
                H, rows = copy.H, copy.heavy
                self.heavy = ((H.indptr, H.indices, H.data), op.cuts, rows, self.D[rows].copy(),
                              [np.zeros((len(rows), self.ld), dtype=solver.dtype) for _ in op.blocks])
            A, op = copy.AT, copy.op
            transpose = False
        self.matrix = (A.indptr, A.indices, A.data)
        self.inv_diag, self.op, self.transpose = solver.inv_diag, op, transpose
        self.cuts = op.cuts
        if transpose:
            self.parts = [space.block(n, self.ld, True, self.lent) for _ in op.blocks]
            self.out_cuts = [int(c) for c in np.linspace(0, n, len(op.blocks) + 1)]

    def _each(self, fn) -> list:
        """``fn(b)`` for every block b, on the thread pool."""
        if self.op._pool is None:
            return [fn(b) for b in range(len(self.cuts) - 1)]
        return list(self.op._pool.map(fn, range(len(self.cuts) - 1)))

    def residual_norms(self) -> np.ndarray:
        X, D, out, inv, ld, rows = self.X, self.D, self.out, self.inv_diag, self.ld, self.cuts
        if self.transpose:
            parts, cols = self.parts, self.out_cuts
            self._each(lambda b: _series.scatter(*self.matrix, X, parts[b], rows[b], rows[b + 1], ld))
            sums = self._each(lambda b: _series.combine(parts, X, D, out, inv, cols[b], cols[b + 1], ld))
        else:
            if self.heavy is not None:
                # the heavy rows of A^T x, scattered in A's row order into small buffers, go into
                # D on those rows: the step's residual D - X + A^T X then counts them
                H, hcuts, hrows, Dh, hparts = self.heavy
                nb = len(hcuts) - 1
                each = (lambda fn: [fn(b) for b in range(nb)]) if self.op._pool is None else \
                    (lambda fn: list(self.op._pool.map(fn, range(nb))))
                each(lambda b: _series.scatter(*H, X, hparts[b], hcuts[b], hcuts[b + 1], ld))
                acc = hparts[0].copy()
                for p in hparts[1:]:
                    acc += p
                for p in hparts:
                    p.fill(0)
                D[hrows] = Dh + acc
            sums = self._each(lambda b: _series.step(*self.matrix, X, D, out, inv, rows[b], rows[b + 1], ld))
        return np.sqrt(np.sum(sums, axis=0)[: self.k])

    def advance(self) -> None:
        self.X, self.out = self.out, self.X

    def solution(self) -> np.ndarray:
        # a copy: the blocks go back to the workspace for the next solve
        return np.array(self.X[:, : self.k], order="C").reshape(self.shape)


class SeriesSolver:
    """Neumann (``x <- d + A x``) or Jacobi (``x <- x + (d - (I - A) x) / (1 - a_ii)``)."""

    progress = None  # see linalg.Factorization

    def __init__(self, A, *, jacobi=False, tol=None, maxiter=None, allow_float32=False, threads=None,
                 fused: bool | None = None, transposed_copy: bool | None = None):
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
        # the products index X by the column ids without checking them: check them once here
        ind = self.A.indices
        if ind.size and (int(ind.min()) < 0 or int(ind.max()) >= self.A.shape[1]):
            bad = int(ind.min()) if int(ind.min()) < 0 else int(ind.max())
            raise GosplanError(
                f"A holds column id {bad}, outside 0..{self.A.shape[1] - 1}: the CSR arrays are corrupt; "
                "build the matrix with scipy.sparse's constructors, which check them"
            )
        self.fused = _series is not None if fused is None else fused
        if self.fused and _series is None:
            raise GosplanError("the fused series kernels are not built: reinstall gosplan where a C++ compiler "
                               "is available, or pass fused=False")
        matrix_bytes = self.A.data.nbytes + self.A.indices.nbytes + self.A.indptr.nbytes
        self.workspace = _Workspace(self.dtype, limit=matrix_bytes)
        # the transposed copy of A, built on the first transposed solve (None: not yet, or not wanted).
        # Default: wanted unless A is read from a file (numpy.memmap), whose copy may not fit in memory.
        self.transposed_copy = (not _is_mapped(self.A)) if transposed_copy is None else bool(transposed_copy)
        self._copy = None
        self._copy_lock = threading.Lock()
        self.transpose_seconds = None  # time the copy took to build, once built
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

    def _transposed(self) -> _Transposed | None:
        """The transposed copy of A, built once on first use and kept; None when not wanted."""
        if not self.transposed_copy:
            return None
        with self._copy_lock:  # solves on other threads wait for the one copy
            if self._copy is None:
                import time

                t = time.perf_counter()
                # the heavy columns apart only where the fused steps will add them back
                self._copy = _Transposed(self.A, self.op, self.op.threads, split=self.fused)
                self.transpose_seconds = time.perf_counter() - t
        return self._copy

    def solve(self, D, *, transpose: bool = False) -> SolveResult:
        D = np.ascontiguousarray(D, dtype=self.dtype)
        if D.shape[0] != self.n:
            raise GosplanError(f"right-hand side has {D.shape[0]} rows; A has {self.n} products")
        steps = (_FusedSteps if self.fused else _ScipySteps)(self, D, transpose)
        try:
            return self._iterate(steps, D, transpose)
        finally:
            if self.fused:
                self.workspace.keep(steps.lent)

    def _iterate(self, steps, D: np.ndarray, transpose: bool) -> SolveResult:
        dnorm = _column_norms(D)
        dnorm[dnorm == 0] = 1.0
        history: list[float] = []
        for k in range(self.maxiter + 1):
            res = float(np.max(steps.residual_norms() / dnorm))
            if not np.isfinite(res):
                raise ConvergenceError(f"{self.method} iteration overflowed at step {k}: A is not productive")
            if self.progress is not None:
                self.progress(k, res, self.tol)
            if res <= self.tol:
                return SolveResult(steps.solution(), res, k, self.method, transpose)
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
            steps.advance()
        rate = (history[-1] / history[-11]) ** 0.1 if len(history) > 11 else float("nan")
        raise ConvergenceError(
            f"the {self.method} series reached relative residual {history[-1]:.3g}, not {self.tol:g}, "
            f"in {self.maxiter} iterations (rate {rate:.6f} per step); raise maxiter or use "
            "method='gmres'"
        )


class KrylovSolver:
    """GMRES or BiCGSTAB on ``I - A`` with an ILU or Jacobi preconditioner."""

    progress = None  # see linalg.Factorization; fed the preconditioned residual, per column

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

            def tick(arg, count=count):
                count[0] += 1
                if self.progress is not None and np.isscalar(arg):
                    self.progress(count[0], float(arg), self.tol)

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
