"""The solver seam: one linear program in plain arrays in, one result out.

The planning code builds a :class:`LinearProgram` (HiGHS's form: bounds on rows
and on columns, a sparse matrix, no labels) and hands it to :func:`solve_lp`; it
never touches a solver's API. Labels are put back by the model code. Another
solver can plug in behind the same two functions.

Sign convention of the duals (HiGHS's, for both senses): with row duals ``y``
and column duals (reduced costs) ``z``,

    c - A' y - z = 0.

For a *minimisation* a row at its lower bound has ``y >= 0`` and at its upper
bound ``y <= 0`` (likewise ``z`` for column bounds); for a *maximisation* the
signs flip. So for the balance rows of a plan, ``(make - use) x >= d``, the dual
of a minimisation is the non-negative marginal cost of one more unit of final
demand, and that of a maximisation is non-positive (its negation is the marginal
gain). The model code turns these into valuations with the natural sign.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from gosplan.errors import SchemaError

Method = Literal[
    "auto", "simplex", "dual_simplex", "primal_simplex", "ipm", "ipm_no_crossover", "pdlp", "substitution", "structured_ipm"
]


#: relative primal and dual infeasibility and gap that OPTIMAL stands for where it is
#: certified from the arrays: the feasibility tolerance of an exact solve at the default ``tol``
EXACT_TOL = 1e-7


class SolverStatus(StrEnum):
    """How a solve ended. Compare a plan's status to these members, never to strings."""

    OPTIMAL = "optimal"
    #: a first-order or interior point whose relative infeasibility and gap, certified
    #: from the arrays (``info["accuracy"]``), miss what OPTIMAL stands for; never
    #: ``ok``: callers opt in to it
    APPROXIMATE = "approximate"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    INTERRUPTED = "interrupted"
    NOT_SOLVED = "not_solved"
    ERROR = "error"

    @property
    def ok(self) -> bool:
        """True when the solution is optimal to the tolerances asked for."""
        return self is SolverStatus.OPTIMAL


@dataclass(frozen=True, eq=False)
class LinearProgram:
    """``min|max c'x + offset`` subject to ``row_lower <= A x <= row_upper`` and
    ``col_lower <= x <= col_upper`` (infinite bounds as ``±inf``).

    Plain arrays only; ``A`` is any ``scipy.sparse`` array (kept CSC inside,
    which HiGHS reads without a copy of its own). ``integrality``: optional booleans,
    True where a column must take an integer value (a mixed-integer program, solved by
    HiGHS's branch and bound; its result has no duals).
    """

    c: np.ndarray
    A: sp.csr_array | sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    sense: Literal["min", "max"] = "min"
    offset: float = 0.0
    integrality: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        A = self.A if sp.issparse(self.A) else sp.csc_array(np.asarray(self.A, dtype=float))
        A = sp.csc_array(A, dtype=np.float64)
        m, n = A.shape
        for name, size in (("c", n), ("col_lower", n), ("col_upper", n), ("row_lower", m), ("row_upper", m)):
            v = np.ascontiguousarray(np.asarray(getattr(self, name), dtype=np.float64).reshape(-1))
            if v.shape != (size,):
                raise SchemaError(f"LinearProgram.{name}: {v.shape[0]} entries, the matrix needs {size}")
            if np.isnan(v).any():
                raise SchemaError(f"LinearProgram.{name}: entry {int(np.flatnonzero(np.isnan(v))[0])} is NaN")
            set_(self, name, v)
        if not np.isfinite(self.c).all():
            raise SchemaError(f"LinearProgram.c: entry {int(np.flatnonzero(~np.isfinite(self.c))[0])} is not finite")
        if not np.isfinite(A.data).all():
            raise SchemaError("LinearProgram.A: a coefficient is not finite")
        if self.sense not in ("min", "max"):
            raise SchemaError(f"LinearProgram.sense must be 'min' or 'max', not {self.sense!r}")
        for lo, hi, what in ((self.row_lower, self.row_upper, "row"), (self.col_lower, self.col_upper, "col")):
            bad = lo > hi
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise SchemaError(f"LinearProgram: {what} {i} has lower bound {lo[i]!r} above upper bound {hi[i]!r}")
        if self.integrality is not None:
            z = np.asarray(self.integrality, dtype=bool).reshape(-1)
            if z.shape != (n,):
                raise SchemaError(f"LinearProgram.integrality: {z.shape[0]} entries, the matrix needs {n}")
            set_(self, "integrality", z if z.any() else None)
        set_(self, "A", A)
        set_(self, "offset", float(self.offset))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.A.shape


@dataclass(frozen=True)
class SolverOptions:
    """How to solve.

    ``method``: ``"auto"`` (HiGHS chooses), ``"simplex"`` / ``"dual_simplex"`` /
    ``"primal_simplex"``, ``"ipm"`` (interior point with crossover to a vertex unless
    ``crossover=False``), ``"ipm_no_crossover"``, or ``"pdlp"`` (first-order
    primal-dual hybrid gradient, for very large plans; reaches ``tol`` in a
    relative sense only, so its answer, like that of an interior point without
    crossover, is called optimal only when certified from the arrays to
    ``min(tol, EXACT_TOL)``, else ``APPROXIMATE``), or ``"substitution"`` (the
    factorisation-free method of
    :mod:`gosplan.planning.substitution` for plans it applies to; ``"auto"`` uses it
    for large ones and falls back to HiGHS), or ``"structured_ipm"`` (the exact
    interior-point method of :mod:`gosplan.planning.dynamic.methods.ipm` for multi-period
    plans of Leontief economies; ``"auto"`` uses it for large ones and falls back
    to HiGHS). ``tol`` is used as primal and dual feasibility tolerance
    and as the optimality tolerance of IPM and PDLP.
    """

    method: Method = "auto"
    time_limit: float | None = None
    tol: float = 1e-7
    threads: int | None = None
    presolve: bool = True
    crossover: bool = True
    iteration_limit: int | None = None
    log: bool = False
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the options (for a plan's manifest)."""
        return {
            "method": self.method,
            "time_limit": self.time_limit,
            "tol": self.tol,
            "threads": self.threads,
            "presolve": self.presolve,
            "crossover": self.crossover,
            "iteration_limit": self.iteration_limit,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True, eq=False)
class LPResult:
    """What a solve returns, in the LP's own order (no labels).

    ``objective`` includes the offset; ``dual_objective`` is recomputed here from
    the duals and the bounds (not taken from the solver), so that
    ``gap = |objective - dual_objective| / max(1, |objective|)`` is an independent
    check of optimality. ``primal_infeasibility`` and ``dual_infeasibility`` are
    the largest absolute violations of the bounds and of the dual sign conditions,
    recomputed here from the arrays.
    """

    status: SolverStatus
    x: np.ndarray
    row_duals: np.ndarray
    col_duals: np.ndarray
    row_activity: np.ndarray
    objective: float
    dual_objective: float
    gap: float
    iterations: int
    seconds: float
    method: str
    primal_infeasibility: float = math.nan
    dual_infeasibility: float = math.nan
    solver_status: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def _highs():
    import highspy

    return highspy


_BANNER = threading.Lock()
_banner_done = False


def _new_highs(log: bool = False) -> Any:
    """A silent ``highspy.Highs``; ``log=True`` keeps HiGHS's banner and log.

    HiGHS 1.16 prints its banner from C++ when the first ``Highs`` of a process is
    made, before any option can be set; unless the log is asked for, that first
    construction runs with the process's standard output sent to ``os.devnull``
    (once: later ones print nothing)."""
    global _banner_done
    hp = _highs()
    if log or _banner_done:
        h = hp.Highs()
    else:
        with _BANNER:
            if _banner_done:
                h = hp.Highs()
            else:
                sys.stdout.flush()
                try:
                    saved = os.dup(1)
                except OSError:  # no file descriptor 1 to silence
                    saved = None
                if saved is None:
                    h = hp.Highs()
                else:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    try:
                        os.dup2(devnull, 1)
                        h = hp.Highs()
                    finally:
                        os.dup2(saved, 1)
                        os.close(saved)
                        os.close(devnull)
                _banner_done = True
    h.setOptionValue("output_flag", bool(log))
    return h


def _to_highs_lp(lp: LinearProgram):
    hp = _highs()
    m, n = lp.shape
    A = lp.A
    h = hp.HighsLp()
    h.num_col_ = n
    h.num_row_ = m
    h.col_cost_ = lp.c
    h.col_lower_ = lp.col_lower
    h.col_upper_ = lp.col_upper
    h.row_lower_ = lp.row_lower
    h.row_upper_ = lp.row_upper
    h.offset_ = lp.offset
    h.sense_ = hp.ObjSense.kMaximize if lp.sense == "max" else hp.ObjSense.kMinimize
    mat = h.a_matrix_
    mat.format_ = hp.MatrixFormat.kColwise
    mat.num_col_ = n
    mat.num_row_ = m
    mat.start_ = A.indptr.astype(np.int32, copy=False)
    mat.index_ = A.indices.astype(np.int32, copy=False)
    mat.value_ = A.data
    h.a_matrix_ = mat
    if lp.integrality is not None:
        h.integrality_ = [hp.HighsVarType.kInteger if z else hp.HighsVarType.kContinuous for z in lp.integrality]
    return h


def _configure(h: Any, options: SolverOptions) -> str:
    def setopt(name: str, value: Any) -> None:
        status = h.setOptionValue(name, value)
        if status != _highs().HighsStatus.kOk:
            raise SchemaError(f"solver option {name}={value!r} was refused by HiGHS; check the name and value")

    setopt("output_flag", bool(options.log))
    method = options.method
    solver = {
        "auto": "choose",
        "simplex": "simplex",
        "dual_simplex": "simplex",
        "primal_simplex": "simplex",
        "ipm": "ipm",
        "ipm_no_crossover": "ipm",
        "pdlp": "pdlp",
        # the structured methods live in planning.substitution and planning.dynamic.methods.ipm;
        # HiGHS chooses when they fall back
        "substitution": "choose",
        "structured_ipm": "choose",
    }.get(method)
    if solver is None:
        raise SchemaError(
            f"unknown solver method {method!r}; use one of auto, simplex, dual_simplex, primal_simplex, "
            "ipm, ipm_no_crossover, pdlp, substitution, structured_ipm"
        )
    setopt("solver", solver)
    if method in ("substitution", "structured_ipm"):
        method = "auto"
    if method == "dual_simplex":
        setopt("simplex_strategy", 1)
    elif method == "primal_simplex":
        setopt("simplex_strategy", 4)
    crossover = options.crossover and method != "ipm_no_crossover"
    setopt("run_crossover", "on" if crossover else "off")
    setopt("presolve", "on" if options.presolve else "off")
    if options.time_limit is not None:
        setopt("time_limit", float(options.time_limit))
    if options.threads is not None:
        setopt("threads", int(options.threads))
    if options.iteration_limit is not None:
        for name in ("simplex_iteration_limit", "ipm_iteration_limit", "pdlp_iteration_limit"):
            setopt(name, int(options.iteration_limit))
    tol = float(options.tol)
    setopt("primal_feasibility_tolerance", tol)
    setopt("dual_feasibility_tolerance", tol)
    setopt("ipm_optimality_tolerance", min(tol, 1e-8) if crossover else tol)
    setopt("pdlp_optimality_tolerance", tol)
    # HiGHS >= 1.11 re-checks a claimed optimum against these (default 1e-7) and
    # demotes it to "Unknown" when they fail: under 1.16 a PDLP answer at tol = 1e-5
    # became not_solved. The same tol applies; solve_lp certifies the answer itself
    # to min(tol, EXACT_TOL). Older HiGHS lacks the options (and the check): its
    # refusal is ignored.
    for name in ("primal_residual_tolerance", "dual_residual_tolerance", "optimality_tolerance"):
        h.setOptionValue(name, tol)
    for name, value in options.extra:
        setopt(name, value)
    return method


_STATUS = {
    "kOptimal": SolverStatus.OPTIMAL,
    "kInfeasible": SolverStatus.INFEASIBLE,
    "kUnbounded": SolverStatus.UNBOUNDED,
    "kUnboundedOrInfeasible": SolverStatus.INFEASIBLE_OR_UNBOUNDED,
    "kTimeLimit": SolverStatus.TIME_LIMIT,
    "kIterationLimit": SolverStatus.ITERATION_LIMIT,
    "kInterrupt": SolverStatus.INTERRUPTED,
    "kHighsInterrupt": SolverStatus.INTERRUPTED,
    "kModelEmpty": SolverStatus.OPTIMAL,
    "kNotset": SolverStatus.NOT_SOLVED,
    "kUnknown": SolverStatus.NOT_SOLVED,
}


def _bound_for_dual(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, sign: float) -> np.ndarray:
    """The bound a dual value prices: lower where ``sign*y > 0``, else upper.

    A dual of the wrong sign for an infinite bound is a dual infeasibility; it is
    priced at the finite bound (and reported by :func:`dual_infeasibility`).
    """
    s = sign * y
    b = np.where(s > 0, lower, upper)
    alt = np.where(s > 0, upper, lower)
    b = np.where(np.isfinite(b), b, alt)
    return np.where((y != 0) & np.isfinite(b), b, 0.0)


def dual_objective(lp: LinearProgram, row_duals: np.ndarray, col_duals: np.ndarray) -> float:
    """The Lagrangian dual objective ``offset + sum_i y_i b_i + sum_j z_j l_j``.

    ``b_i`` is the row bound that ``y_i`` prices (lower bound for a positive dual in
    a minimisation, upper for a negative one; flipped for a maximisation), and the
    same for column bounds. Equal to the primal objective at an optimum (strong
    duality; e.g. Dantzig 1963, ch. 6).
    """
    sign = 1.0 if lp.sense == "min" else -1.0
    rb = _bound_for_dual(row_duals, lp.row_lower, lp.row_upper, sign)
    cb = _bound_for_dual(col_duals, lp.col_lower, lp.col_upper, sign)
    return float(lp.offset + row_duals @ rb + col_duals @ cb)


def primal_infeasibility(lp: LinearProgram, x: np.ndarray, row_activity: np.ndarray | None = None) -> float:
    """Largest absolute violation of a row or column bound by ``x``."""
    if len(x) == 0 and lp.shape[1]:
        return math.inf
    ax = lp.A @ x if row_activity is None else row_activity
    v = 0.0
    for val, lo, hi in ((ax, lp.row_lower, lp.row_upper), (x, lp.col_lower, lp.col_upper)):
        if len(val):
            v = max(v, float(np.max(np.maximum(lo - val, 0.0), initial=0.0)), float(np.max(np.maximum(val - hi, 0.0), initial=0.0)))
    return v


def dual_infeasibility(lp: LinearProgram, row_duals: np.ndarray, col_duals: np.ndarray) -> float:
    """Largest violation of dual feasibility: the residual ``c - A'y - z`` and duals
    of the wrong sign for infinite bounds."""
    if len(row_duals) != lp.shape[0] or len(col_duals) != lp.shape[1]:
        return math.inf
    sign = 1.0 if lp.sense == "min" else -1.0
    resid = lp.c - lp.A.T @ row_duals - col_duals
    v = float(np.max(np.abs(resid), initial=0.0))
    for y, lo, hi in ((row_duals, lp.row_lower, lp.row_upper), (col_duals, lp.col_lower, lp.col_upper)):
        s = sign * y
        v = max(v, float(np.max(np.where(np.isinf(lo), np.maximum(s, 0.0), 0.0), initial=0.0)))
        v = max(v, float(np.max(np.where(np.isinf(hi), np.maximum(-s, 0.0), 0.0), initial=0.0)))
    return v


def relative_accuracy(lp: LinearProgram, x: np.ndarray, row_duals: np.ndarray, col_duals: np.ndarray) -> dict[str, float]:
    """Relative primal/dual infeasibility and gap of a primal-dual pair.

    Primal: the largest bound violation of a row or column divided by
    ``1 + |bound| + sum_j |a_ij x_j|`` (the size of the row's terms). Dual: the
    largest entry of ``|c - A'y - z|`` divided by ``1 + |c_j| + sum_i |a_ij y_i|``,
    and duals of the wrong sign for an infinite bound, relative to the same.
    Gap: ``|c'x - dual objective| / max(1, |c'x|, |dual objective|)`` (stricter
    than PDLP's ``1 + |p| + |d|`` denominator). These follow the relative criteria
    of PDLP (Applegate et al. 2021, sec. 5), recomputed here from the arrays so
    that the solver's own report is not trusted.
    """
    A = lp.A
    absA = abs(A)
    ax = A @ x
    rscale = 1.0 + absA @ np.abs(x)
    p = 0.0
    for val, lo, hi, sc in ((ax, lp.row_lower, lp.row_upper, rscale), (x, lp.col_lower, lp.col_upper, 1.0 + np.abs(x))):
        lo_v = np.where(np.isfinite(lo), np.maximum(lo - val, 0.0) / (sc + np.abs(np.where(np.isfinite(lo), lo, 0.0))), 0.0)
        hi_v = np.where(np.isfinite(hi), np.maximum(val - hi, 0.0) / (sc + np.abs(np.where(np.isfinite(hi), hi, 0.0))), 0.0)
        p = max(p, float(lo_v.max(initial=0.0)), float(hi_v.max(initial=0.0)))
    sign = 1.0 if lp.sense == "min" else -1.0
    y, z = row_duals, col_duals
    cscale = 1.0 + np.abs(lp.c) + absA.T @ np.abs(y)
    d = float((np.abs(lp.c - A.T @ y - z) / cscale).max(initial=0.0))
    for dual, lo, hi, sc in ((y, lp.row_lower, lp.row_upper, 1.0 + np.abs(y)), (z, lp.col_lower, lp.col_upper, cscale)):
        s = sign * dual
        d = max(d, float((np.where(np.isinf(lo), np.maximum(s, 0.0), 0.0) / sc).max(initial=0.0)))
        d = max(d, float((np.where(np.isinf(hi), np.maximum(-s, 0.0), 0.0) / sc).max(initial=0.0)))
    pobj = float(lp.c @ x + lp.offset)
    dobj = dual_objective(lp, y, z)
    gap = abs(pobj - dobj) / max(1.0, abs(pobj), abs(dobj)) if math.isfinite(dobj) else math.inf
    return {"primal": p, "dual": d, "gap": gap, "objective": pobj, "dual_objective": dobj}


def solve_lp(
    lp: LinearProgram,
    options: SolverOptions = SolverOptions(),
    progress: Callable[[dict[str, Any]], bool | None] | None = None,
    *,
    start: np.ndarray | None = None,
) -> LPResult:
    """Solve a linear program with HiGHS (Huangfu and Hall 2018; highs.dev).

    Parameters
    ----------
    lp : the program.
    options : method, time limit, tolerance, threads, presolve, crossover.
    progress : called now and then during the solve with a dict of ``method``,
        ``iteration``, ``objective`` and ``seconds``; if it returns True the solve
        is interrupted (status ``INTERRUPTED``).
    start : an optional primal starting point (e.g. a Leontief solution), handed
        to HiGHS with ``setSolution``; simplex uses it to build a first basis.

    Returns
    -------
    LPResult, with duals in HiGHS's sign convention (see the module docstring).
    A PDLP or no-crossover answer that HiGHS calls optimal keeps ``OPTIMAL`` only
    when :func:`relative_accuracy` certifies it to ``min(options.tol, EXACT_TOL)``,
    else it is ``APPROXIMATE``; ``info["accuracy"]`` holds the figures either way.
    """
    hp = _highs()
    h = _new_highs(options.log)
    method = _configure(h, options)
    status = h.passModel(_to_highs_lp(lp))
    if status == hp.HighsStatus.kError:
        raise SchemaError("HiGHS refused the linear program (inconsistent matrix or bounds)")
    if start is not None:
        s = np.asarray(start, dtype=np.float64)
        if s.shape != (lp.shape[1],):
            raise SchemaError(f"start: {s.shape} entries, the program has {lp.shape[1]} columns")
        sol = hp.HighsSolution()
        sol.col_value = s
        sol.value_valid = True
        h.setSolution(sol)
    t0 = time.perf_counter()
    if progress is not None:
        last = [-1.0]

        def _event(e: Any) -> None:
            now = time.perf_counter() - t0
            if last[0] >= 0 and now - last[0] < 0.2:
                return
            last[0] = now
            d = e.data_out
            stop = progress(
                {
                    "method": method,
                    "iteration": int(d.simplex_iteration_count + d.ipm_iteration_count + d.pdlp_iteration_count),
                    "objective": float(d.objective_function_value),
                    "seconds": now,
                }
            )
            if stop:
                e.interrupt()

        h.cbSimplexInterrupt.subscribe(_event)
        h.cbIpmInterrupt.subscribe(_event)
        if method == "pdlp":
            h.cbLogging.subscribe(_event)
    h.run()
    seconds = time.perf_counter() - t0
    ms = h.getModelStatus()
    name = ms.name
    st = _STATUS.get(name, SolverStatus.ERROR)
    info = h.getInfo()
    sol = h.getSolution()
    m, n = lp.shape
    x = np.asarray(sol.col_value, dtype=np.float64) if sol.value_valid else np.full(n, np.nan)
    row_act = np.asarray(sol.row_value, dtype=np.float64) if sol.value_valid else np.full(m, np.nan)
    if sol.dual_valid:
        y = np.asarray(sol.row_dual, dtype=np.float64)
        z = np.asarray(sol.col_dual, dtype=np.float64)
    else:
        y, z = np.full(m, np.nan), np.full(n, np.nan)
    if m + n == 0 or name == "kModelEmpty":
        x = np.clip(np.zeros(n), lp.col_lower, lp.col_upper) if n else np.zeros(0)
        x = np.where(np.isfinite(x), x, 0.0)
        row_act = lp.A @ x
        y, z = np.zeros(m), lp.c.copy()
    if sol.value_valid or name == "kModelEmpty":
        obj = float(lp.c @ x + lp.offset)
        pinf = primal_infeasibility(lp, x, row_act)
    else:
        obj, pinf = math.nan, math.nan
    if sol.dual_valid or name == "kModelEmpty":
        dobj = dual_objective(lp, y, z)
        dinf = dual_infeasibility(lp, y, z)
    else:
        dobj, dinf = math.nan, math.nan
    gap = abs(obj - dobj) / max(1.0, abs(obj)) if math.isfinite(obj) and math.isfinite(dobj) else math.nan
    solver_status = h.modelStatusToString(ms)
    certified: dict[str, Any] = {}
    at_vertex = method != "pdlp" and method != "ipm_no_crossover" and options.crossover
    if st is SolverStatus.OPTIMAL and not at_vertex and name != "kModelEmpty":
        # PDLP stops on norms relative to the whole program and IPM without crossover on
        # its own scaled measures, neither at a vertex: the pair is certified from the
        # arrays to min(tol, EXACT_TOL), since a loose tol is asked for to stop such a
        # method sooner, not to make a worse point optimal (an exact solve at a loose
        # tol still lands on a vertex, good to rounding)
        acc = relative_accuracy(lp, x, y, z)
        bound = min(float(options.tol), EXACT_TOL)
        certified["accuracy"] = acc
        if not (acc["primal"] <= bound and acc["dual"] <= bound and acc["gap"] <= bound):
            st = SolverStatus.APPROXIMATE
            solver_status += (
                f"; certified only to relative primal {acc['primal']:.1e}, dual {acc['dual']:.1e}, "
                f"gap {acc['gap']:.1e} (optimal: {bound:.0e})"
            )
    iterations = int(info.simplex_iteration_count) + int(info.ipm_iteration_count) + int(info.pdlp_iteration_count)
    return LPResult(
        status=st,
        x=x,
        row_duals=y,
        col_duals=z,
        row_activity=row_act,
        objective=obj,
        dual_objective=dobj,
        gap=gap,
        iterations=iterations,
        seconds=seconds,
        method=method,
        primal_infeasibility=pinf,
        dual_infeasibility=dinf,
        solver_status=solver_status,
        info={
            "simplex_iterations": int(info.simplex_iteration_count),
            "ipm_iterations": int(info.ipm_iteration_count),
            "pdlp_iterations": int(info.pdlp_iteration_count),
            "crossover_iterations": int(info.crossover_iteration_count),
            "highs_max_primal_infeasibility": float(info.max_primal_infeasibility),
            "highs_max_dual_infeasibility": float(info.max_dual_infeasibility),
            "highs_version": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
            **certified,
        },
    )


@dataclass(frozen=True)
class IIS:
    """An irreducible infeasible subset: row and column indices and, for each, which
    bound takes part (``"lower"``, ``"upper"`` or ``"boxed"``)."""

    rows: np.ndarray
    cols: np.ndarray
    row_sides: tuple[str, ...]
    col_sides: tuple[str, ...]


_SIDES = {2: "lower", 3: "upper", 4: "boxed", 1: "free", 0: "none", -1: "dropped"}


def iis_detail(lp: LinearProgram, options: SolverOptions = SolverOptions()) -> IIS:
    """:func:`irreducible_infeasible_subset` with the bound side of every member."""
    hp = _highs()
    h = _new_highs(options.log)
    _configure(h, options)
    h.setOptionValue("iis_strategy", int(hp.IisStrategy.kIisStrategyIrreducible))
    h.passModel(_to_highs_lp(lp))
    h.run()
    empty = np.zeros(0, dtype=np.int64)
    if h.getModelStatus() == hp.HighsModelStatus.kOptimal:
        return IIS(empty, empty, (), ())
    status, iis = h.getIis()
    if status == hp.HighsStatus.kError or not iis.valid_:
        raise SchemaError("HiGHS could not compute an irreducible infeasible subset of this program")
    rows = np.asarray(list(iis.row_index_), dtype=np.int64)
    cols = np.asarray(list(iis.col_index_), dtype=np.int64)
    rs = [_SIDES.get(int(b), str(int(b))) for b in iis.row_bound_]
    cs = [_SIDES.get(int(b), str(int(b))) for b in iis.col_bound_]
    ro, co = np.argsort(rows, kind="stable"), np.argsort(cols, kind="stable")
    return IIS(rows[ro], cols[co], tuple(rs[i] for i in ro), tuple(cs[i] for i in co))


def irreducible_infeasible_subset(
    lp: LinearProgram, options: SolverOptions = SolverOptions()
) -> tuple[np.ndarray, np.ndarray]:
    """An irreducible infeasible subset (IIS) of an infeasible program.

    A set of rows and column bounds that together admit no solution while every
    proper subset does (Chinneck 2008, *Feasibility and Infeasibility in
    Optimization*, ch. 6). Computed by HiGHS's ``getIis`` with its irreducible
    strategy (deletion filtering). Returns the row indices and the column indices
    whose bounds take part; both empty when the program is feasible.
    """
    d = iis_detail(lp, options)
    return d.rows, d.cols
