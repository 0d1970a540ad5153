"""The Leontief solve seam: every backend against a reference, both orientations."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gosplan import linalg
from gosplan.errors import ConvergenceError, GosplanError, MissingDependencyError
from gosplan.linalg import Method

CPU_METHODS = ["dense", "dense32", "dense-gmres", "dense-neumann", "neumann", "jacobi", "gmres", "bicgstab"]


def random_economy(n: int, density: float, seed: int, colsum: float = 0.9) -> sp.csr_array:
    """A non-negative sparse A whose columns sum to at most ``colsum`` (productive)."""
    rng = np.random.default_rng(seed)
    A = sp.random_array((n, n), density=density, rng=rng, format="csc")
    sums = np.asarray(A.sum(axis=0)).ravel()
    scale = np.where(sums > 0, colsum * rng.uniform(0.3, 1.0, n) / np.where(sums > 0, sums, 1), 0)
    return sp.csr_array(A @ sp.diags_array(scale))


def reference(A, D, transpose=False):
    M = np.eye(A.shape[0]) - (A.toarray() if sp.issparse(A) else A)
    return np.linalg.solve(M.T if transpose else M, D)


def test_miller_blair_two_sector_example():
    """Miller & Blair, *Input-Output Analysis*, 2nd ed. (2009), ch. 2, the two-sector numerical example.

    A = [[.15, .25], [.20, .05]]; the book's Leontief inverse is
    [[1.2541, .3300], [.2640, 1.1221]] (det(I - A) = .7575) and for the new final
    demand f = (600, 1500) it prints gross outputs x = (1247.52, 1841.58), which
    also follow by hand from L = adj(I - A) / 0.7575 (945 / 0.7575, 1395 / 0.7575);
    the base-year demand (350, 1700) gives back x = (1000, 2000).
    """
    A = np.array([[0.15, 0.25], [0.20, 0.05]])
    for method in CPU_METHODS:
        r = linalg.solve(sp.csr_array(A), np.array([600.0, 1500.0]), method)
        np.testing.assert_allclose(r.x, [1247.52, 1841.58], atol=0.005)
        r = linalg.solve(sp.csr_array(A), np.array([350.0, 1700.0]), method)
        np.testing.assert_allclose(r.x, [1000.0, 2000.0], rtol=1e-8)
    np.testing.assert_allclose(linalg.leontief_inverse(A), [[1.2541, 0.3300], [0.2640, 1.1221]], atol=5e-5)


@pytest.mark.parametrize("method", CPU_METHODS)
@pytest.mark.parametrize("transpose", [False, True])
def test_backend_matches_dense_reference(method, transpose):
    A = random_economy(400, 0.02, seed=1)
    D = np.random.default_rng(2).uniform(0, 10, (400, 7))
    tol = 1e-5 if method == "neumann" else 1e-10
    r = linalg.solve(A, D, method, transpose=transpose, tol=tol)
    assert r.method == Method(method) and r.transpose is transpose
    assert r.residual <= tol
    ref = reference(A, D, transpose)
    np.testing.assert_allclose(r.x, ref, rtol=100 * tol)
    # one right-hand side as a vector keeps its shape
    r1 = linalg.solve(A, D[:, 3], method, transpose=transpose, tol=tol)
    assert r1.x.shape == (400,)
    np.testing.assert_allclose(r1.x, ref[:, 3], rtol=100 * tol)


def test_factorization_is_reused_for_both_orientations():
    A = random_economy(300, 0.05, seed=3)
    fact = linalg.factorize(A, "dense")
    lu = fact._lu
    d, v = np.ones(300), np.arange(300.0)
    x = fact.solve(d).x
    p = fact.solve(v, transpose=True).x
    assert fact._lu is lu
    # the value identity p.d = v.x holds whatever the demand and costs
    np.testing.assert_allclose(p @ d, v @ x, rtol=1e-12)


def test_leontief_inverse_only_on_request():
    A = random_economy(50, 0.2, seed=4)
    L = linalg.leontief_inverse(A)
    np.testing.assert_allclose(L, np.linalg.inv(np.eye(50) - A.toarray()), rtol=1e-12)


def test_auto_choice_by_size_and_density():
    assert linalg.choose_method(np.zeros((10, 10))) is Method.DENSE
    assert linalg.choose_method(random_economy(5000, 0.1, 5)) is Method.DENSE
    assert linalg.choose_method(random_economy(6000, 0.001, 5)) is Method.NEUMANN
    big = random_economy(6000, 0.001, 5, colsum=1.2)
    assert linalg.choose_method(big) is Method.GMRES
    assert linalg.choose_method(random_economy(600, 0.1, 5), allow_float32=True) is Method.DENSE32
    r = linalg.solve(random_economy(6000, 0.001, 6), np.ones(6000))
    assert r.method is Method.NEUMANN and r.residual <= 1e-10


def test_series_diverges_with_clear_error():
    """Two products feeding each other more than they get: rho(A) = sqrt(1.2) > 1."""
    A = sp.csr_array(np.array([[0.0, 1.2], [1.0, 0.0]]))
    with pytest.raises(ConvergenceError, match="does not converge"):
        linalg.solve(A, np.ones(2), "neumann")
    with pytest.raises(ConvergenceError, match="does not converge"):
        linalg.solve(A, np.ones(2), "jacobi", transpose=True)
    with pytest.raises(ConvergenceError, match="not productive"):
        linalg.solve(sp.csr_array(np.array([[1.0, 0.0], [0.5, 0.2]])), np.ones(2), "jacobi")


def test_maxiter_reached_is_reported():
    A = random_economy(200, 0.05, 7, colsum=0.99)
    with pytest.raises(ConvergenceError, match="raise maxiter"):
        linalg.solve(A, np.ones(200), "neumann", maxiter=3, tol=1e-12)


def test_singular_dense_system_is_named():
    with pytest.raises(GosplanError, match="singular"):
        linalg.factorize(np.array([[1.0, 0.0], [0.3, 0.5]]), "dense")


def test_float32_sparse_storage_and_tolerance_floor():
    A = random_economy(2000, 0.005, 8).astype(np.float32)
    d = np.ones(2000)
    r = linalg.solve(A, d, "neumann", allow_float32=True)
    assert r.x.dtype == np.float32 and r.residual <= 1e-5
    np.testing.assert_allclose(r.x, reference(A.astype(np.float64), d), rtol=1e-4)
    with pytest.raises(GosplanError, match="float32"):
        linalg.solve(A, d, "neumann", allow_float32=True, tol=1e-9)


def test_parallel_matvec_matches_scipy():
    from gosplan.linalg.iterative import ParallelCSR

    A = random_economy(120_000, 2e-5, 9)
    op = ParallelCSR(A, threads=2)
    assert len(op.blocks) == 2 and np.shares_memory(op.blocks[1][4], A.data)
    x = np.random.default_rng(0).random(120_000)
    np.testing.assert_allclose(op(x), A @ x, rtol=1e-12)
    np.testing.assert_allclose(op(x, transpose=True), A.T @ x, rtol=1e-12)
    X = np.random.default_rng(1).random((120_000, 3))
    np.testing.assert_allclose(op(X), A @ X, rtol=1e-12)
    op.close()


def test_wrong_rhs_shape():
    with pytest.raises(GosplanError, match="3 rows; A has 2"):
        linalg.solve(np.zeros((2, 2)), np.ones(3), "dense")


def test_cupy_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'gosplan\[gpu\]'"):
        linalg.solve(np.zeros((2, 2)), np.ones(2), "cupy")


def test_cupy_backend_matches_cpu():
    pytest.importorskip("cupy")
    A = random_economy(300, 0.05, 10)
    D = np.ones((300, 2))
    for M in (A, A.toarray()):
        for transpose in (False, True):
            r = linalg.solve(M, D, "cupy", transpose=transpose)
            np.testing.assert_allclose(r.x, reference(A, D, transpose), rtol=1e-8)


@st.composite
def productive(draw):
    n = draw(st.integers(2, 60))
    density = draw(st.floats(0.02, 1.0))
    seed = draw(st.integers(0, 2**31))
    colsum = draw(st.floats(0.05, 0.97))
    return random_economy(n, density, seed, colsum), seed


@settings(max_examples=40, deadline=None)
@given(productive(), st.sampled_from(CPU_METHODS), st.booleans())
def test_property_residual_below_tolerance_and_nonnegative(case, method, transpose):
    A, seed = case
    D = np.random.default_rng(seed).uniform(0, 5, (A.shape[0], 2))
    tol = 1e-9
    r = linalg.solve(A, D, method, tol=tol, transpose=transpose, maxiter=100_000)
    assert r.residual <= tol
    # a productive economy meets a non-negative demand with non-negative output
    assert (r.x >= -1e-9 * np.abs(r.x).max()).all()


@settings(max_examples=30, deadline=None)
@given(productive())
def test_property_float32_close_to_float64(case):
    """dense32 refines to the float64 tolerance; plain float32 storage stays within 1e-4."""
    A, seed = case
    D = np.random.default_rng(seed).uniform(0, 5, (A.shape[0], 3))
    exact = linalg.solve(A, D, "dense").x
    refined = linalg.solve(A, D, "dense32", tol=1e-12).x
    np.testing.assert_allclose(refined, exact, rtol=1e-9, atol=1e-9 * np.abs(exact).max())
    ir = linalg.solve(A, D, "dense-gmres", tol=1e-12, allow_float32=True)
    assert ir.residual <= 1e-12
    np.testing.assert_allclose(ir.x, exact, rtol=1e-9, atol=1e-9 * np.abs(exact).max())
    single = linalg.solve(A.astype(np.float32), D, "neumann", allow_float32=True, tol=1e-6).x
    np.testing.assert_allclose(single, exact, rtol=1e-4, atol=1e-4 * np.abs(exact).max())


def dense_economy(n: int, seed: int, k: int = 7):
    """Dense A with column sums U(0.2, 0.85), as in benchmarks/bench_leontief.py; Y and S positive."""
    rng = np.random.default_rng(seed)
    A = rng.random((n, n))
    A *= rng.uniform(0.2, 0.85, n) / A.sum(axis=0)
    return A, rng.uniform(0, 1000, (n, k)), rng.uniform(0, 1, (3, n))


@pytest.mark.parametrize("allow_float32", [False, True])
def test_dense_gmres_agrees_with_lu_without_factoring(allow_float32):
    """GMRES on the dense matrix: float64 residual below tol, same answer as LU, A untouched."""
    A, Y, S = dense_economy(700, seed=11)
    A0 = A.copy()
    lu = linalg.factorize(A, "dense")
    it = linalg.factorize(A, "dense-gmres", tol=1e-11, allow_float32=allow_float32)
    assert it.A is A  # the caller's float64 matrix is used in place, not copied
    assert (it.work.dtype == np.float32) is allow_float32
    for D, transpose in ((Y, False), (S.T, True)):
        r = it.solve(D, transpose=transpose)
        assert r.method is Method.DENSE_GMRES and r.residual <= 1e-11
        # the reported residual is the true float64 one
        M = np.eye(700) - A
        true = np.linalg.norm(D - (M.T if transpose else M) @ r.x, axis=0) / np.linalg.norm(D, axis=0)
        np.testing.assert_allclose(r.residual, true.max(), rtol=1e-3)
        np.testing.assert_allclose(r.x, lu.solve(D, transpose=transpose).x, rtol=1e-9)
        assert 0 < r.iterations < 40  # a well-conditioned Leontief system: a handful of passes
    np.testing.assert_array_equal(A, A0)


def test_dense_neumann_counts_like_the_spectral_radius():
    """The Neumann residual falls like rho(A)^k: more passes than GMRES for the same tolerance."""
    A, Y, _ = dense_economy(400, seed=12)
    rho = max(abs(np.linalg.eigvals(A)))
    r = linalg.solve(A, Y, "dense-neumann", tol=1e-10)
    g = linalg.solve(A, Y, "dense-gmres", tol=1e-10)
    assert r.residual <= 1e-10 and g.residual <= 1e-10
    assert abs(r.iterations - np.log(1e-10) / np.log(rho)) <= 6
    assert g.iterations < r.iterations / 2


def test_dense_iterative_refuses_non_productive_economies():
    """rho(A) = sqrt(1.2) > 1: GMRES solves the linear system, but the output for a positive
    demand is negative, which only a non-productive economy can yield; a closed economy
    (columns summing to 1, I - A singular) makes GMRES stagnate; the series diverges."""
    A = np.array([[0.0, 1.2], [1.0, 0.0]])
    with pytest.raises(ConvergenceError, match="not productive"):
        linalg.solve(A, np.ones(2), "dense-gmres")
    with pytest.raises(ConvergenceError, match="not productive"):
        linalg.solve(A, np.ones((2, 3)), "dense-gmres", transpose=True)
    with pytest.raises(ConvergenceError, match="does not converge"):
        linalg.solve(A, np.ones(2), "dense-neumann")
    closed = np.array([[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ConvergenceError, match="not productive"):
        linalg.solve(closed, np.array([1.0, 0.0]), "dense-gmres")
    with pytest.raises(ConvergenceError, match="raise maxiter"):
        linalg.solve(dense_economy(300, 13)[0] * 1.1, np.ones(300), "dense-gmres", maxiter=2, tol=1e-14)


def test_dense_iterative_names_nan_and_shape():
    A, Y, _ = dense_economy(50, seed=14)
    A[3, 4] = np.nan
    with pytest.raises(GosplanError, match="NaN"):
        linalg.solve(A, Y, "dense-gmres")
    with pytest.raises(GosplanError, match="3 rows; A has 50"):
        linalg.solve(np.zeros((50, 50)), np.ones(3), "dense-gmres")


def test_auto_skips_the_factorization_for_few_right_hand_sides():
    A, Y, _ = dense_economy(1600, seed=15)
    assert linalg.choose_method(A, rhs=7) is Method.DENSE_GMRES
    assert linalg.choose_method(A, rhs=500) is Method.DENSE  # many columns: factor once
    assert linalg.choose_method(A) is Method.DENSE  # unknown reuse (analysis.prepare): factor
    assert linalg.choose_method(A[:200, :200], rhs=1) is Method.DENSE  # small: LU is instant
    r = linalg.solve(A, Y)
    assert r.method is Method.DENSE_GMRES and r.residual <= 1e-10
    assert linalg.factorize(A).method is Method.DENSE


def test_auto_falls_back_to_lu_when_gmres_is_slow():
    """A cycle of 1,600 products each using 0.999 of the next: eigenvalues 0.999 times the
    1,600th roots of unity, GMRES's worst case (about n steps); auto factors instead."""
    n = 1600
    A = np.zeros((n, n))
    A[np.arange(n), (np.arange(n) + 1) % n] = 0.999
    d = np.random.default_rng(16).uniform(0, 1, n)  # not an eigenvector, unlike a constant demand
    r = linalg.solve(A, d)
    assert r.method is Method.DENSE and r.residual <= 1e-10
    np.testing.assert_allclose(r.x, reference(A, d), rtol=1e-9)
    with pytest.raises(ConvergenceError, match="raise maxiter"):
        linalg.solve(A, d, "dense-gmres", maxiter=100)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 80), st.integers(0, 2**31), st.floats(0.05, 0.98), st.integers(1, 9), st.booleans())
def test_property_dense_gmres_on_random_productive_matrices(n, seed, colsum, k, transpose):
    """Any non-negative A with column sums below 1 is productive: residual below tol, x >= d >= 0."""
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) * (rng.random((n, n)) < rng.uniform(0.1, 1.0))
    sums = A.sum(axis=0)
    A *= np.where(sums > 0, colsum * rng.uniform(0.2, 1.0, n) / np.where(sums > 0, sums, 1), 0)
    D = rng.uniform(0, 5, (n, k))
    r = linalg.solve(A, D, "dense-gmres", tol=1e-10, transpose=transpose)
    assert r.residual <= 1e-10
    assert (r.x >= D - 1e-8 * np.abs(r.x).max()).all()
    np.testing.assert_allclose(r.x, reference(A, D, transpose), rtol=1e-7, atol=1e-9 * np.abs(r.x).max())
