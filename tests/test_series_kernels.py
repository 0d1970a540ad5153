"""The compiled series kernels (linalg/_series.cpp) against SciPy and a dense reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gosplan.errors import GosplanError
from gosplan.linalg import iterative
from gosplan.linalg.iterative import SeriesSolver

from test_linalg import random_economy, reference

kernels = pytest.mark.skipif(iterative._series is None, reason="gosplan built without the C++ series kernels")


@kernels
def test_kernels_report_their_instruction_set():
    """Where a compiler was at hand the kernels are built; --strict-skips (CI) fails the skips above
    when they are not, because the speed would silently go."""
    assert iterative._series.isa in ("baseline", "avx2", "avx512")


def with_index(A: sp.csr_array, dtype) -> sp.csr_array:
    B = A.copy()
    B.indptr, B.indices = B.indptr.astype(dtype), B.indices.astype(dtype)
    return B


@kernels
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 50),
    density=st.floats(0.02, 1.0),
    seed=st.integers(0, 2**31),
    k=st.integers(1, 19),
    jacobi=st.booleans(),
    transpose=st.booleans(),
    index=st.sampled_from([np.int32, np.int64]),
)
def test_property_fused_equals_scipy_and_the_exact_solution(n, density, seed, k, jacobi, transpose, index):
    """Every padded width (1, 2, 4, 8, several blocks of 8), both orientations, both index types."""
    A = with_index(random_economy(n, density, seed, colsum=0.9), index)
    D = np.random.default_rng(seed).uniform(0, 5, (n, k) if k > 1 else n)
    fused = SeriesSolver(A, jacobi=jacobi, tol=1e-11, fused=True).solve(D, transpose=transpose)
    plain = SeriesSolver(A, jacobi=jacobi, tol=1e-11, fused=False).solve(D, transpose=transpose)
    assert fused.x.shape == D.shape and fused.residual <= 1e-11
    # the same iteration in a different summation order: the same step count, give or take one
    assert abs(fused.iterations - plain.iterations) <= 1
    exact = reference(A, D, transpose)
    np.testing.assert_allclose(fused.x, exact, rtol=1e-9, atol=1e-9 * np.abs(exact).max())
    np.testing.assert_allclose(fused.x, plain.x, rtol=1e-9, atol=1e-9 * np.abs(exact).max())


@kernels
def test_float32_kernels_reach_the_float32_tolerance():
    A = random_economy(3000, 0.003, 21).astype(np.float32)
    D = np.random.default_rng(22).uniform(0, 5, (3000, 5))
    for transpose in (False, True):
        r = SeriesSolver(A, allow_float32=True, tol=1e-6).solve(D, transpose=transpose)
        assert r.x.dtype == np.float32 and r.residual <= 1e-6
        np.testing.assert_allclose(r.x, reference(A.astype(np.float64), D, transpose), rtol=1e-4)


@kernels
@pytest.mark.parametrize("k", [1, 3, 8])
def test_threads_split_rows_and_scatter_into_their_own_buffers(k):
    """Two row blocks (n >= 100,000): the threaded step and the threaded scatter + combine."""
    n = 120_000
    A = random_economy(n, 1e-4, 23, colsum=0.8)
    D = np.random.default_rng(24).uniform(0, 1, (n, k) if k > 1 else n)
    solver = SeriesSolver(A, tol=1e-10, threads=2)
    assert solver.fused and len(solver.op.blocks) == 2
    for transpose in (False, True):
        r = solver.solve(D, transpose=transpose)
        p = SeriesSolver(A, tol=1e-10, threads=2, fused=False).solve(D, transpose=transpose)
        assert r.residual <= 1e-10 and abs(r.iterations - p.iterations) <= 1
        np.testing.assert_allclose(r.x, p.x, rtol=1e-9)
        # the residual the solver reports is the true one
        M = sp.identity(n, format="csr") - (A.T if transpose else A)
        true = np.linalg.norm((D - M @ r.x).reshape(n, -1), axis=0) / np.linalg.norm(D.reshape(n, -1), axis=0)
        assert true.max() <= 1.01e-10


_ISA_SCRIPT = """
import json, numpy as np
from gosplan.linalg import iterative
from gosplan.linalg.iterative import SeriesSolver
from test_linalg import random_economy, reference
A = random_economy(500, 0.02, 31)
out = {"isa": iterative._series.isa, "err": 0.0}
for k in (1, 2, 3, 7, 8, 11):
    D = np.random.default_rng(k).uniform(0, 5, (500, k))
    for jacobi in (False, True):
        for transpose in (False, True):
            x = SeriesSolver(A, jacobi=jacobi, tol=1e-12).solve(D, transpose=transpose).x
            ref = reference(A, D, transpose)
            out["err"] = max(out["err"], float(np.abs(x - ref).max() / np.abs(ref).max()))
print(json.dumps(out))
"""


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(line.split(":")[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


@kernels
@pytest.mark.parametrize("isa", ["baseline", "avx2", "avx512"])
def test_every_instruction_set_variant_computes_the_same(isa):
    """GOSPLAN_SERIES_ISA picks a variant at import (when the CPU runs it): each one is checked."""
    env = {**os.environ, "GOSPLAN_SERIES_ISA": isa, "PYTHONPATH": os.path.dirname(__file__)}
    run = subprocess.run([sys.executable, "-c", _ISA_SCRIPT], capture_output=True, text=True, env=env, check=True)
    got = json.loads(run.stdout)
    flags = _cpu_flags()
    runs = {"baseline": True, "avx2": {"avx2", "fma"} <= flags,
            "avx512": {"avx512f", "avx512vl", "avx512dq", "avx2", "fma"} <= flags}
    if iterative._series.isa != "baseline" and runs[isa]:
        assert got["isa"] == isa
    assert got["err"] < 1e-10


@kernels
def test_kernels_refuse_bad_arrays_instead_of_reading_past_them():
    from gosplan.linalg import _series

    A = random_economy(10, 0.3, 41)
    p, i, a = A.indptr, A.indices, A.data
    X, D, out = np.ones((10, 2)), np.ones((10, 2)), np.zeros((10, 2))
    assert len(_series.step(p, i, a, X, D, out, None, 0, 10, 2)) == 2
    with pytest.raises(TypeError, match="dtype"):
        _series.step(p, i, a, X.astype(np.float32), D, out, None, 0, 10, 2)
    with pytest.raises(ValueError, match="n x ld"):
        _series.step(p, i, a, np.ones((9, 2)), D, out, None, 0, 10, 2)
    with pytest.raises(ValueError, match="row range"):
        _series.step(p, i, a, X, D, out, None, 0, 11, 2)
    with pytest.raises(TypeError, match="int32 or both int64"):
        _series.step(p.astype(np.int64), i, a, X, D, out, None, 0, 10, 2)
    with pytest.raises(TypeError, match="C-contiguous"):
        _series.step(p, i, a, np.ones((10, 4))[:, ::2], D, out, None, 0, 10, 2)
    with pytest.raises(TypeError, match="writable"):
        out.flags.writeable = False
        _series.step(p, i, a, X, D, out, None, 0, 10, 2)
    with pytest.raises(ValueError, match="inv_diag"):
        _series.step(p, i, a, X, D, np.zeros((10, 2)), np.ones(9), 0, 10, 2)
    with pytest.raises(ValueError, match="n x ld"):
        _series.combine([np.zeros((10, 2)), np.zeros((10, 3))], X, D, np.zeros((10, 2)), None, 0, 10, 2)


@kernels
def test_read_probe_sums_exactly_the_range_it_is_given():
    """The benchmarks' bandwidth probe: every element of [start, stop) once, SIMD body and tail."""
    from gosplan.linalg import _series

    a = np.random.default_rng(47).integers(-1000, 1000, 1_003).astype(np.float64)  # exact sums
    for lo, hi in [(0, 1_003), (0, 0), (5, 77), (1, 65), (64, 1_000), (1_002, 1_003)]:
        assert _series.read(a, lo, hi) == a[lo:hi].sum()
    with pytest.raises(TypeError, match="float64"):
        _series.read(a.astype(np.float32), 0, 10)
    with pytest.raises(ValueError, match="out of bounds"):
        _series.read(a, 0, 1_004)
    with pytest.raises(ValueError, match="out of bounds"):
        _series.read(a, 10, 5)


@kernels
def test_one_solver_reuses_its_blocks_without_mixing_up_solves():
    """Solves of different widths and orientations, one after the other on one solver, give
    what fresh solvers give; results are the caller's own arrays, and the kept blocks stay
    within the matrix's memory."""
    n = 2_000
    A = random_economy(n, 0.004, 45, colsum=0.8)
    rng = np.random.default_rng(46)
    rhs = [(rng.uniform(0, 1, (n, 7)), False), (rng.uniform(0, 1, (n, 3)), True), (rng.uniform(0, 1, n), False),
           (rng.uniform(0, 1, (n, 7)), True), (rng.uniform(0, 1, (n, 2)), False)]
    solver = SeriesSolver(A, tol=1e-11, threads=2)
    results = []
    for D, transpose in rhs:
        r = solver.solve(D, transpose=transpose)
        fresh = SeriesSolver(A, tol=1e-11, threads=2).solve(D, transpose=transpose)
        np.testing.assert_array_equal(r.x, fresh.x)
        assert r.iterations == fresh.iterations
        assert r.x.base is None or not any(np.shares_memory(r.x, b) for b in solver.workspace.spare)
        results.append(r.x)
    kept = sum(b.nbytes for b in solver.workspace.spare)
    matrix = A.data.nbytes + A.indices.nbytes + A.indptr.nbytes
    assert 0 < kept <= matrix
    before = [x.copy() for x in results]
    solver.solve(rhs[0][0])  # a later solve must not write into earlier results
    for x, b in zip(results, before):
        np.testing.assert_array_equal(x, b)


def test_corrupt_column_ids_are_refused_by_name():
    A = random_economy(50, 0.2, 42)
    A.indices[3] = 57  # past the 50 columns, set behind SciPy's checks
    with pytest.raises(GosplanError, match="column id 57, outside 0..49"):
        SeriesSolver(A)


def test_the_scipy_path_remains_when_asked_for():
    A = random_economy(200, 0.05, 43)
    D = np.ones((200, 3))
    r = SeriesSolver(A, fused=False).solve(D, transpose=True)
    assert r.residual <= 1e-10
    np.testing.assert_allclose(r.x, reference(A, D, True), rtol=1e-8)


@kernels
def test_a_matrix_mapped_from_disk_is_read_in_place(tmp_path):
    """CSR arrays opened with numpy's mmap_mode are solved without a copy into memory:
    the way to a matrix larger than memory (the series reads it once per iteration)."""
    A = random_economy(3_000, 0.003, 47, colsum=0.8)
    for name in ("indptr", "indices", "data"):
        np.save(tmp_path / f"{name}.npy", getattr(A, name))
    mapped = sp.csr_array(A.shape)
    mapped.indptr, mapped.indices, mapped.data = (np.load(tmp_path / f"{name}.npy", mmap_mode="r")
                                                  for name in ("indptr", "indices", "data"))
    mapped.has_canonical_format = True
    solver = SeriesSolver(mapped, tol=1e-11)
    assert isinstance(solver.A.data, np.memmap) and isinstance(solver.A.indices, np.memmap)
    D = np.random.default_rng(48).uniform(0, 1, (3_000, 2))
    for transpose in (False, True):
        np.testing.assert_allclose(solver.solve(D, transpose=transpose).x, reference(A, D, transpose), rtol=1e-9)
    # a matrix streamed from disk gets no transposed copy in memory: the transposed step scatters
    assert solver._copy is None and not solver.transposed_copy


@kernels
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    m=st.integers(1, 60),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
    index=st.sampled_from([np.int32, np.int64]),
    value=st.sampled_from([np.float64, np.float32]),
)
def test_property_parallel_transpose_equals_scipy(n, m, density, seed, index, value):
    """The transposed copy (count, then place) is SciPy's transpose in canonical form, for any
    shape, empty rows and columns included, both index and both value types."""
    A = with_index(sp.random_array((n, m), density=density, format="csr", dtype=value, rng=seed), index)
    AT = iterative.parallel_transpose(A, iterative.ParallelCSR(A, 1))
    ref = sp.csr_array(A.T)
    ref.sort_indices()
    assert AT.shape == (m, n) and AT.dtype == value and AT.indices.dtype == index
    np.testing.assert_array_equal(AT.indptr, ref.indptr)
    np.testing.assert_array_equal(AT.indices, ref.indices)
    np.testing.assert_array_equal(AT.data, ref.data)


@kernels
@pytest.mark.parametrize("threads", [2, 3])
def test_parallel_transpose_by_blocks_keeps_every_row_sorted(threads):
    """Several row blocks write disjoint places of the copy; its rows come out sorted."""
    n = 160_000
    A = random_economy(n, 5e-5, 61, colsum=0.8)
    op = iterative.ParallelCSR(A, threads)
    assert len(op.blocks) == threads
    AT = iterative.parallel_transpose(A, op)
    ref = sp.csr_array(A.T)
    ref.sort_indices()
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(AT, name), getattr(ref, name))


@kernels
@pytest.mark.parametrize("k", [1, 3])
def test_transposed_solve_on_the_copy_equals_the_scatter(k):
    """The transposed solve on the solver's transposed copy (built once, kept) gives what the
    scatter into per-thread buffers gives, in the same number of steps."""
    n = 120_000
    A = random_economy(n, 1e-4, 67, colsum=0.8)
    D = np.random.default_rng(68).uniform(0, 1, (n, k) if k > 1 else n)
    copy = SeriesSolver(A, tol=1e-10, threads=2)
    scatter = SeriesSolver(A, tol=1e-10, threads=2, transposed_copy=False)
    a, b = copy.solve(D, transpose=True), scatter.solve(D, transpose=True)
    assert copy._copy is not None and scatter._copy is None and copy.transpose_seconds >= 0
    built = copy._copy
    assert abs(a.iterations - b.iterations) <= 1
    np.testing.assert_allclose(a.x, b.x, rtol=1e-9)
    copy.solve(D, transpose=True)
    assert copy._copy is built  # kept, not rebuilt
    jac = SeriesSolver(A, tol=1e-10, threads=2, jacobi=True).solve(D, transpose=True)
    np.testing.assert_allclose(jac.x, b.x, rtol=1e-8)


@kernels
@pytest.mark.parametrize("jacobi", [False, True])
def test_heavy_columns_are_scattered_apart_and_added_back(jacobi):
    """A matrix with hub columns (bought by every product, as energy and transport are): the
    copy leaves their rows of A^T out, the step adds them back through D, and the solution is
    the scatter's and the exact one; the caller's right-hand side is left as it was."""
    n, hubs = 120_000, [7, 50_000, 119_999]
    rng = np.random.default_rng(71)
    A = random_economy(n, 3e-5, 72, colsum=0.5).tolil()
    for h in hubs:
        A[rng.choice(n, 2_000, replace=False), h] = 0.2 / 2_000
    A = sp.csr_array(A)
    D = np.ascontiguousarray(rng.uniform(0, 1, (n, 4)))
    keep = D.copy()
    solver = SeriesSolver(A, tol=1e-11, threads=2, jacobi=jacobi)
    got = solver.solve(D, transpose=True)
    assert list(solver._copy.heavy) == hubs and solver._copy.AT[hubs].nnz == 0
    assert solver._copy.H.shape == (n, 3) and solver._copy.H.nnz == A[:, hubs].nnz
    np.testing.assert_array_equal(D, keep)
    ref = SeriesSolver(A, tol=1e-11, threads=2, jacobi=jacobi, transposed_copy=False).solve(D, transpose=True)
    np.testing.assert_allclose(got.x, ref.x, rtol=1e-9)
    M = sp.identity(n, format="csr") - A.T
    assert np.max(np.linalg.norm(D - M @ got.x, axis=0) / np.linalg.norm(D, axis=0)) <= 1.01e-11
    # split=True through the public function: the copy without the hubs, and their ids
    AT, heavy = iterative.parallel_transpose(A, solver.op, split=True)
    assert list(heavy) == hubs
    full = sp.csr_array(A.T)
    full.sort_indices()
    rest = [i for i in range(n) if i not in hubs]
    np.testing.assert_array_equal(AT[rest].indices, full[rest].indices)
    np.testing.assert_array_equal(AT[rest].data, full[rest].data)
