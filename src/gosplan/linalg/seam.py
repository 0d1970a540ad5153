"""What every backend of :mod:`gosplan.linalg` shares: the methods' names, a solve's result,
the factorization's interface and the residual they all report. The backends import this
module, and ``gosplan.linalg`` picks among the backends, so the imports run one way."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Method(enum.StrEnum):
    """How a Leontief system is solved."""

    AUTO = "auto"
    DENSE = "dense"
    DENSE32 = "dense32"
    DENSE_GMRES = "dense-gmres"
    DENSE_NEUMANN = "dense-neumann"
    NEUMANN = "neumann"
    JACOBI = "jacobi"
    GMRES = "gmres"
    BICGSTAB = "bicgstab"
    CUPY = "cupy"


@dataclass(frozen=True)
class SolveResult:
    """The answer of one solve.

    Attributes
    ----------
    x : numpy.ndarray
        The solution, shaped like the right-hand side (``n`` or ``n x k``).
    residual : float
        Largest relative residual over the columns,
        ``max_j ||d_j - (I - A) x_j||_2 / ||d_j||_2`` (transposed system alike),
        measured on the returned solution.
    iterations : int
        Series or Krylov iterations (largest over columns); refinement steps for
        ``dense32``; 0 for a plain direct solve.
    method : Method
        The backend that produced ``x`` (never ``auto``).
    transpose : bool
        True for the price system ``(I - A)^T p = v``.
    """

    x: np.ndarray
    residual: float
    iterations: int
    method: Method
    transpose: bool = False


class Factorization(Protocol):
    """A prepared ``I - A``: solve for many right-hand sides, either orientation.

    ``progress``, when set to a callable, is called by the iterative backends as
    ``progress(iteration, residual, tol)`` each time they measure the residual, so that
    a long solve can be shown (``gosplan analyze`` draws a bar from it).
    """

    method: Method
    n: int
    progress: Callable[[int, float, float], None] | None

    def solve(self, D, *, transpose: bool = False) -> SolveResult: ...


def relative_residual(matvec, X: np.ndarray, D: np.ndarray) -> float:
    """Largest column-wise ``||D - (X - matvec(X))|| / ||D||`` in float64.

    ``matvec`` applies ``A`` (or ``A^T``); columns with ``D = 0`` are measured
    absolutely, so a zero demand still reports a meaningful figure.
    """
    X2 = X.reshape(X.shape[0], -1)
    D2 = D.reshape(D.shape[0], -1)
    R = D2 - X2 + np.asarray(matvec(X2), dtype=np.float64).reshape(X2.shape)
    num = np.linalg.norm(R, axis=0)
    den = np.linalg.norm(D2, axis=0)
    den = np.where(den > 0, den, 1.0)
    return float(np.max(num / den)) if num.size else 0.0
