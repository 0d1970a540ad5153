"""Exact Dantzig-Wolfe decomposition of a block-angular linear program.

The planning reading is Kornai and Liptak's two-level planning (*Econometrica*
33(1), 1965): a centre that knows only the shared (coupling) constraints sets
prices on them; each block (a region) answers with the plan that is best for it
at those prices (a *proposal*); the centre mixes the proposals it has received
(the restricted master) and sets new prices, until no region can propose
anything better. The mathematics is Dantzig and Wolfe's column generation
(*Operations Research* 8(1), 1960): with the master's row duals ``pi`` on the
coupling rows and ``sigma_k`` on block ``k``'s convexity row, block ``k`` solves
``v_k = min (c_k - D_k' pi) x`` over its own polyhedron; every round gives the
*bound* ``z_master + sum_k min(0, v_k - sigma_k)`` (a Lagrangian bound, valid for
any prices the master returns), and the loop stops on the *certificate*
``(z_master - bound) / max(1, |z_master|) <= rel_gap``. Unbounded blocks answer
with an extreme ray; an infeasible master is found by a phase 1 (artificial
columns, the same pricing on the phase-1 duals), whose duals name the coupling
rows that cannot be met.

A block is a :class:`Block` of plain arrays; a :class:`BlockSolver` holds its
HiGHS model, built once and re-solved warm at each round's prices, and keeps its
proposals: only prices go out and proposals (cost and coupling contribution)
come back. Where the blocks live is an *executor*: :class:`SerialExecutor` here
(in this process), or the Dask executor of :mod:`gosplan.scale.world`.

The prices are stabilised by Wentges smoothing with a mispricing fall-back (sources at
the loop); a proposal enters the master divided by its largest level, so that the
simplex's tolerance on the weights does not become a visible error in the mixed plan.
How few rounds it takes depends most on how many coupling rows a block touches: the
world plan makes trade the centre's own columns for that reason (docs/scale.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.errors import ConvergenceError, SchemaError
from gosplan.planning.solver import LinearProgram

#: relative gap between the master's value and the bound at which the decomposition stops
REL_GAP = 1e-6


@dataclass(frozen=True, eq=False)
class Block:
    """One block of a block-angular program, in min form.

    ``cols``: its columns in the full program; ``c``: their (min-form) costs;
    ``A`` with ``row_lower``/``row_upper``: its local rows (``rows`` in the full
    program); ``col_lower``/``col_upper``; ``support``: the coupling rows it
    touches (positions in the coupling list) and ``D`` its coefficients there.
    ``names``: labels of the local rows, for messages.
    """

    key: str
    cols: np.ndarray
    c: np.ndarray
    A: sp.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    support: np.ndarray
    D: sp.csr_array
    names: tuple[str, ...] = ()
    #: positions in ``support`` of the coupling rows the block owns (its own balances) and an
    #: opening cost: the first proposal is the block's best plan *alone* over its local and
    #: owned rows at that cost (e.g. a region's autarky plan), a feasible start for the centre
    own: np.ndarray | None = None
    opening_cost: np.ndarray | None = None
    own_lower: np.ndarray | None = None
    own_upper: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return int(
            sum(a.nbytes for a in (self.c, self.row_lower, self.row_upper, self.col_lower, self.col_upper, self.support))
            + sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in (self.A, self.D))
        )


class BlockSolver:
    """A block's sub-problem, resident: built once, re-solved warm at new prices.

    Proposals (points and rays) stay here; :meth:`propose` returns only their
    cost and coupling contribution, :meth:`combine` the mix the centre chose.
    """

    def __init__(self, block: Block, threads: int = 1):
        import highspy

        self.block = block
        h = highspy.Highs()
        h.silent()
        h.setOptionValue("presolve", "off")  # rays and warm starts need the model as given
        h.setOptionValue("solver", "simplex")
        # primal simplex: a new round changes only costs, so the last basis stays primal
        # feasible and the primal simplex goes on from it, where the dual simplex would first
        # repair its dual infeasibility (measured in docs/scale.md)
        h.setOptionValue("simplex_strategy", 4)
        lp = highspy.HighsLp()
        m, n = block.A.shape
        A = sp.csc_array(block.A)
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.ascontiguousarray(block.c, dtype=np.float64)
        lp.col_lower_ = np.ascontiguousarray(block.col_lower, dtype=np.float64)
        lp.col_upper_ = np.ascontiguousarray(block.col_upper, dtype=np.float64)
        lp.row_lower_ = np.ascontiguousarray(block.row_lower, dtype=np.float64)
        lp.row_upper_ = np.ascontiguousarray(block.row_upper, dtype=np.float64)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(np.float64)
        h.passModel(lp)
        self.h = h
        self.hp = highspy
        self.points: list[np.ndarray] = []
        self.rays: list[np.ndarray] = []
        self._duals = np.zeros(m)
        self.idx = np.arange(n, dtype=np.int32)

    def _run(self, cost: np.ndarray) -> tuple[str, np.ndarray | None]:
        h = self.h
        h.changeColsCost(len(cost), self.idx, np.ascontiguousarray(cost, dtype=np.float64))
        h.run()
        st = h.getModelStatus()
        M = self.hp.HighsModelStatus
        ok = (M.kOptimal, M.kModelEmpty, M.kUnbounded, M.kUnboundedOrInfeasible, M.kInfeasible)
        if st not in ok:
            h.clearSolver()  # numerical trouble of the warm start: once more from scratch
            h.run()
            st = h.getModelStatus()
        if st not in ok:
            h.setOptionValue("presolve", "on")  # and once with presolve
            h.clearSolver()
            h.run()
            h.setOptionValue("presolve", "off")
            st = h.getModelStatus()
        if st == M.kOptimal or st == M.kModelEmpty:
            sol = h.getSolution()
            x = np.asarray(sol.col_value, dtype=np.float64) if len(cost) else np.zeros(0)
            m = self.block.A.shape[0]  # the block's own rows (the freed opening rows follow)
            self._duals = np.asarray(sol.row_dual, dtype=np.float64)[:m] if m else np.zeros(0)
            return "point", x
        if st in (M.kUnbounded, M.kUnboundedOrInfeasible):
            _, has, ray = h.getPrimalRay()
            if has:
                return "ray", np.asarray(ray, dtype=np.float64)
            # no ray came back: solve again from scratch once
            h.clearSolver()
            h.run()
            _, has, ray = h.getPrimalRay()
            if has:
                return "ray", np.asarray(ray, dtype=np.float64)
            if h.getModelStatus() == M.kInfeasible:
                return "infeasible", None
            return "error", None
        if st == M.kInfeasible:
            return "infeasible", None
        return "error", None

    def _proposal(self, kind: str, x: np.ndarray, priced: np.ndarray) -> dict[str, Any]:
        store = self.points if kind == "point" else self.rays
        store.append(x)
        b = self.block
        return {
            "key": b.key,
            "kind": kind,
            "index": len(store) - 1,
            "cost": float(b.c @ x),
            "coupling": b.D @ x,
            "value": float(priced @ x),
            # the proposal's largest level: the centre weighs it in units of 1/scale (below)
            "scale": max(1.0, float(np.max(np.abs(x)))) if len(x) else 1.0,
        }

    def propose(self, prices: np.ndarray, phase: int) -> list[dict[str, Any]]:
        """The block's best answer at the coupling rows' prices (on its support):
        ``min (c - D' pi) x`` (phase 2) or ``min -D' pi x`` (phase 1)."""
        t0, c0 = time.perf_counter(), time.process_time()
        b = self.block
        priced = (b.c if phase == 2 else np.zeros_like(b.c)) - b.D.T @ np.asarray(prices, dtype=np.float64)
        kind, x = self._run(priced)
        out: list[dict[str, Any]] = []
        if kind == "point":
            out.append(self._proposal("point", x, priced))
        elif kind == "ray":
            out.append(self._proposal("ray", x, priced))
            if not self.points:
                k2, x2 = self._run(np.zeros_like(priced))
                if k2 == "point":
                    out.append(self._proposal("point", x2, priced))
                else:
                    out.append({"key": b.key, "kind": k2})
        else:
            out.append({"key": b.key, "kind": kind})
        for p in out:
            # wall and CPU seconds of the solve: on a shared machine the CPU figure is the steadier
            p["seconds"] = time.perf_counter() - t0
            p["cpu_seconds"] = time.process_time() - c0
        return out

    def opening(self) -> list[dict[str, Any]]:
        """The block's best plan alone (local and owned rows, opening cost), or, where it has
        none, its answer at zero prices."""
        b = self.block
        if b.own is None or b.opening_cost is None:
            return self.propose(np.zeros(len(b.support)), 2)
        # solved in the block's own model with its owned rows added, which are then freed: the
        # one cold solve of the block leaves the basis that warms every later round
        t0, c0 = time.perf_counter(), time.process_time()
        h = self.h
        Do = sp.csr_array(b.D[b.own, :])
        h.addRows(Do.shape[0], np.ascontiguousarray(b.own_lower, dtype=np.float64),
                  np.ascontiguousarray(b.own_upper, dtype=np.float64), Do.nnz, Do.indptr[:-1].astype(np.int32),
                  Do.indices.astype(np.int32), Do.data.astype(np.float64))
        kind, x = self._run(np.asarray(b.opening_cost, dtype=np.float64))
        o = Do.shape[0]
        if o:
            rows = np.arange(b.A.shape[0], b.A.shape[0] + o, dtype=np.int32)
            h.changeRowsBounds(o, rows, np.full(o, -np.inf), np.full(o, np.inf))
        if kind != "point":
            return self.propose(np.zeros(len(b.support)), 2)
        out = [self._proposal("point", x, b.c)]
        out[0]["seconds"] = time.perf_counter() - t0
        out[0]["cpu_seconds"] = time.process_time() - c0
        return out

    def combine(self, point_weights: dict[int, float], ray_weights: dict[int, float]) -> np.ndarray:
        x = np.zeros(len(self.block.c))
        for i, w in point_weights.items():
            x += w * self.points[i]
        for i, w in ray_weights.items():
            x += w * self.rays[i]
        return x

    def local_duals(self) -> np.ndarray:
        return self._duals

    def local_infeasibility(self) -> list[str]:
        """Names of the local rows in an irreducible infeasible subset of this block."""
        from gosplan.planning.solver import iis_detail

        b = self.block
        lp = LinearProgram(
            c=np.zeros(len(b.c)), A=b.A, row_lower=b.row_lower, row_upper=b.row_upper,
            col_lower=b.col_lower, col_upper=b.col_upper,
        )
        try:
            d = iis_detail(lp)
        except SchemaError:
            return []
        return [b.names[i] if i < len(b.names) else f"row {i}" for i in d.rows]


class LostBlocks(Exception):
    """Raised by an executor when blocks were lost (with a worker) and rebuilt from
    their data: their earlier proposals are gone."""

    def __init__(self, blocks: list[int]):
        super().__init__(f"blocks {blocks} were lost and rebuilt")
        self.blocks = blocks


class Executor(Protocol):
    """Where the blocks live and are solved."""

    def start(self, blocks: list[Block]) -> None: ...

    def propose(self, prices: list[np.ndarray], phase: int) -> list[list[dict[str, Any]]]: ...

    def opening(self) -> list[list[dict[str, Any]]]: ...

    def combine(self, weights: list[tuple[dict[int, float], dict[int, float]]]) -> list[np.ndarray]: ...

    def local_duals(self) -> list[np.ndarray]: ...

    def local_infeasibility(self, k: int) -> list[str]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Every block in this process, solved one after another."""

    def __init__(self, threads: int = 1):
        self.threads = threads

    def start(self, blocks: list[Block]) -> None:
        self.solvers = [BlockSolver(b, self.threads) for b in blocks]

    def propose(self, prices: list[np.ndarray], phase: int) -> list[list[dict[str, Any]]]:
        return [s.propose(p, phase) for s, p in zip(self.solvers, prices, strict=True)]

    def opening(self) -> list[list[dict[str, Any]]]:
        return [s.opening() for s in self.solvers]

    def combine(self, weights: list[tuple[dict[int, float], dict[int, float]]]) -> list[np.ndarray]:
        return [s.combine(*w) for s, w in zip(self.solvers, weights, strict=True)]

    def local_duals(self) -> list[np.ndarray]:
        return [s.local_duals() for s in self.solvers]

    def local_infeasibility(self, k: int) -> list[str]:
        return self.solvers[k].local_infeasibility()

    def close(self) -> None:
        self.solvers = []


def split_blocks(
    lp: LinearProgram, col_block: np.ndarray, keys: list[str], row_names: list[str] | None = None,
    row_owner: np.ndarray | None = None, opening_cost: np.ndarray | None = None,
) -> tuple[list[Block], np.ndarray, np.ndarray]:
    """Split a program into blocks by its columns' block (``-1``: a master column).

    A row whose columns all belong to one block is local to it; every other row
    (touching two blocks or a master column) is a coupling row. Returns the blocks,
    the coupling rows' indices and the master columns' indices.
    """
    A = sp.csr_array(lp.A)
    m, n = A.shape
    cb = np.asarray(col_block, dtype=np.int64)
    sign = 1.0 if lp.sense == "min" else -1.0
    c = sign * lp.c
    # block of each row: the same for all its entries, else -2 (coupling)
    ent_b = cb[A.indices]
    row_of = np.repeat(np.arange(m), np.diff(A.indptr))
    lo = np.full(m, np.iinfo(np.int64).max)
    hi = np.full(m, np.iinfo(np.int64).min)
    np.minimum.at(lo, row_of, ent_b)
    np.maximum.at(hi, row_of, ent_b)
    empty = np.diff(A.indptr) == 0
    row_b = np.where((lo == hi) & (lo >= 0) & ~empty, lo, -2)
    coupling = np.flatnonzero(row_b == -2)
    master_cols = np.flatnonzero(cb == -1)
    Ac = sp.csc_array(A)
    Acoup = sp.csr_array(A[coupling, :]) if len(coupling) else sp.csr_array((0, n))
    blocks = []
    for k, key in enumerate(keys):
        cols = np.flatnonzero(cb == k)
        rows = np.flatnonzero(row_b == k)
        Ak = sp.csr_array(Ac[:, cols][rows, :]) if len(rows) else sp.csr_array((0, len(cols)))
        Dk = sp.csc_array(Acoup[:, cols]) if len(coupling) else sp.csc_array((0, len(cols)))
        support = np.flatnonzero(np.diff(sp.csr_array(Dk).indptr) > 0)
        Dk = sp.csr_array(sp.csr_array(Dk)[support, :])
        own = oc = olo = ohi = None
        if row_owner is not None and opening_cost is not None:
            own = np.flatnonzero(np.asarray(row_owner)[coupling[support]] == k)
            oc = (1.0 if lp.sense == "min" else -1.0) * np.asarray(opening_cost, dtype=float)[cols]
            olo = lp.row_lower[coupling[support[own]]]
            ohi = lp.row_upper[coupling[support[own]]]
        blocks.append(
            Block(
                key=key,
                cols=cols,
                c=c[cols],
                A=Ak,
                row_lower=lp.row_lower[rows],
                row_upper=lp.row_upper[rows],
                rows=rows,
                col_lower=lp.col_lower[cols],
                col_upper=lp.col_upper[cols],
                support=support,
                D=Dk,
                names=tuple(row_names[i] for i in rows) if row_names is not None else (),
                own=own,
                opening_cost=oc,
                own_lower=olo,
                own_upper=ohi,
            )
        )
    return blocks, coupling, master_cols


@dataclass
class Decomposition:
    """What the decomposition found, in the full program's order.

    ``x``: the recovered solution; ``row_duals``/``col_duals``: in HiGHS's sign
    convention for the program's sense; ``value``: the master's last value,
    ``bound``: the best bound (both in the program's sense); ``gap``: their
    relative difference (the certificate); ``rounds``: one row per round;
    ``prices``: the coupling prices of every round (rounds x coupling rows);
    ``proposals``: one row per proposal (round, block, kind, cost, reduced cost).
    """

    status: str
    x: np.ndarray
    row_duals: np.ndarray
    col_duals: np.ndarray
    value: float
    bound: float
    gap: float
    rounds: pd.DataFrame
    prices: list[np.ndarray]
    proposals: pd.DataFrame
    coupling: np.ndarray
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


class _Master:
    """The restricted master program, kept in one HiGHS model and grown by columns."""

    def __init__(self, lp: LinearProgram, coupling: np.ndarray, master_cols: np.ndarray, nblocks: int):
        import highspy

        self.hp = highspy
        sign = 1.0 if lp.sense == "min" else -1.0
        A = sp.csr_array(lp.A)
        self.m = len(coupling)
        self.B = nblocks
        lo = lp.row_lower[coupling]
        hi = lp.row_upper[coupling]
        Ac = sp.csc_array(sp.csr_array(A[coupling, :])[:, master_cols]) if len(master_cols) else sp.csc_array((self.m, 0))
        # artificial columns: +1 on rows with a lower bound, -1 on rows with an upper bound
        art_lo = np.flatnonzero(np.isfinite(lo))
        art_hi = np.flatnonzero(np.isfinite(hi))
        na = len(art_lo) + len(art_hi)
        Aart = sp.csc_array(
            (np.concatenate([np.ones(len(art_lo)), -np.ones(len(art_hi))]), (np.concatenate([art_lo, art_hi]), np.arange(na))),
            shape=(self.m, na),
        )
        M = sp.vstack([sp.hstack([Ac, Aart]), sp.csr_array((nblocks, Ac.shape[1] + na))], format="csc")
        self.lo, self.hi, self.A0 = lo, hi, sp.csr_array(Ac)
        self.lb0, self.ub0 = lp.col_lower[master_cols], lp.col_upper[master_cols]
        ncol = M.shape[1]
        h = highspy.Highs()
        h.silent()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", "simplex")
        hl = highspy.HighsLp()
        hl.num_col_, hl.num_row_ = ncol, self.m + nblocks
        self.cost2 = np.concatenate([sign * lp.c[master_cols], np.zeros(na)])
        self.cost1 = np.concatenate([np.zeros(len(master_cols)), np.ones(na)])
        hl.col_cost_ = self.cost1.copy()
        hl.col_lower_ = np.concatenate([lp.col_lower[master_cols], np.zeros(na)])
        hl.col_upper_ = np.concatenate([lp.col_upper[master_cols], np.full(na, np.inf)])
        hl.row_lower_ = np.concatenate([np.where(np.isfinite(lo), lo, -np.inf), np.ones(nblocks)])
        hl.row_upper_ = np.concatenate([np.where(np.isfinite(hi), hi, np.inf), np.ones(nblocks)])
        hl.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        hl.a_matrix_.start_ = M.indptr.astype(np.int32)
        hl.a_matrix_.index_ = M.indices.astype(np.int32)
        hl.a_matrix_.value_ = M.data.astype(np.float64)
        h.passModel(hl)
        self.h = h
        self.n_master = len(master_cols)
        self.n_art = na
        self.cols: list[tuple[int, str, int]] = []  # (block, kind, index) of each proposal column
        self.scales: list[float] = []  # each proposal column's divisor (see add)
        self.phase = 1
        self.restarts = 0  # phase-2 masters found infeasible and sent back to phase 1
        self.scale = max(1.0, float(np.max(np.abs(np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)], [1.0]])))))

    def lagrangian(self, pi: np.ndarray, vks: np.ndarray, phase: int) -> float:
        """The Lagrangian bound at prices ``pi`` (min form): every coupling row's priced bound,
        every block's priced minimum ``v_k`` and the master columns at their best bound.
        Valid for any ``pi`` of the right signs (Geoffrion 1974)."""
        if not np.isfinite(vks).all():
            return -math.inf
        b = np.where(pi > 0, self.lo, np.where(pi < 0, self.hi, 0.0))
        if not np.isfinite(b[pi != 0]).all():
            return -math.inf
        total = float(pi[pi != 0] @ b[pi != 0]) + float(vks.sum())
        if self.n_master:
            c0 = self.cost2[: self.n_master] if phase == 2 else np.zeros(self.n_master)
            r = c0 - self.A0.T @ pi
            bnd = np.where(r > 0, self.lb0, np.where(r < 0, self.ub0, 0.0))
            if not np.isfinite(bnd[r != 0]).all():
                return -math.inf
            total += float(r[r != 0] @ bnd[r != 0])
        return total

    def add(self, k: int, prop: dict[str, Any], support: np.ndarray) -> None:
        # a column is the proposal divided by its largest level: the simplex's feasibility
        # tolerance (1e-7 on the weights) then moves the mixed plan by 1e-7 of a unit, not by
        # 1e-7 of a proposal's largest level, which can be in the tens of thousands
        s = float(prop.get("scale", 1.0))
        coup = np.asarray(prop["coupling"], dtype=np.float64) / s
        nz = np.flatnonzero(coup)
        idx = np.concatenate([support[nz], [self.m + k]]) if prop["kind"] == "point" else support[nz]
        val = np.concatenate([coup[nz], [1.0 / s]]) if prop["kind"] == "point" else coup[nz]
        c2 = float(prop["cost"]) / s
        self.scales.append(s)
        self.cost2 = np.append(self.cost2, c2)
        self.cost1 = np.append(self.cost1, 0.0)
        cost = c2 if self.phase == 2 else 0.0
        self.h.addCol(cost, 0.0, math.inf, len(idx), idx.astype(np.int32), val)
        self.cols.append((k, prop["kind"], int(prop["index"])))

    def to_phase2(self) -> None:
        self.phase = 2
        n = len(self.cost2)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), self.cost2)
        a = np.arange(self.n_master, self.n_master + self.n_art, dtype=np.int32)
        if len(a):
            # the artificials keep (as their upper bound) what phase 1 left, at most 1e-9 of the
            # rows' scale in all: fixed at 0, a phase 1 ended within its tolerance can leave a
            # phase-2 master that HiGHS calls infeasible
            left = np.maximum(np.asarray(self.h.getSolution().col_value, dtype=np.float64)[a], 0.0)
            self.h.changeColsBounds(len(a), a, np.zeros(len(a)), left)

    def to_phase1(self) -> None:
        """Back to phase 1 (artificials free again, priced 1): after a lost block, or a phase-2
        master HiGHS calls infeasible."""
        self.phase = 1
        n = len(self.cost1)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), self.cost1)
        a = np.arange(self.n_master, self.n_master + self.n_art, dtype=np.int32)
        if len(a):
            self.h.changeColsBounds(len(a), a, np.zeros(len(a)), np.full(len(a), np.inf))

    def drop(self, k: int) -> None:
        """Bar the columns of block ``k`` (its proposals were lost with its worker)."""
        idx = [self.n_master + self.n_art + j for j, (b, _, _) in enumerate(self.cols) if b == k]
        if idx:
            a = np.asarray(idx, dtype=np.int32)
            self.h.changeColsBounds(len(a), a, np.zeros(len(a)), np.zeros(len(a)))
        self.cols = [c if c[0] != k else (c[0], "lost", c[2]) for c in self.cols]
        if self.phase == 2:
            self.to_phase1()  # the master may need the block's new proposals to be feasible

    def solve(self, fresh: bool = False) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        h = self.h
        if fresh:
            h.setOptionValue("presolve", "on")
            h.clearSolver()
        h.run()
        if fresh:
            h.setOptionValue("presolve", "off")
        st = h.getModelStatus()
        if st != self.hp.HighsModelStatus.kOptimal:
            # numerical trouble of a long warm-started simplex: once more from scratch, then with presolve
            h.clearSolver()
            h.run()
            st = h.getModelStatus()
        if st != self.hp.HighsModelStatus.kOptimal:
            h.setOptionValue("presolve", "on")
            h.clearSolver()
            h.run()
            h.setOptionValue("presolve", "off")
            st = h.getModelStatus()
        if st == self.hp.HighsModelStatus.kInfeasible and self.phase == 2:
            # within tolerance of feasible: back to phase 1, whose master is always feasible
            self.to_phase1()
            self.restarts += 1
            return self.solve(fresh=True)
        if st != self.hp.HighsModelStatus.kOptimal:
            raise ConvergenceError(f"the restricted master ended {h.modelStatusToString(st)} in phase {self.phase}")
        sol = h.getSolution()
        y = np.asarray(sol.row_dual, dtype=np.float64)
        return float(h.getInfo().objective_function_value), y[: self.m], y[self.m :], np.asarray(sol.col_value, dtype=np.float64)


def dantzig_wolfe(
    lp: LinearProgram,
    col_block: np.ndarray,
    keys: list[str],
    *,
    executor: Executor | None = None,
    rel_gap: float = REL_GAP,
    max_rounds: int = 500,
    row_names: list[str] | None = None,
    keep_prices: bool = True,
    progress: Any = None,
    row_owner: np.ndarray | None = None,
    opening_cost: np.ndarray | None = None,
    smoothing: float = 0.7,
) -> Decomposition:
    """Solve ``lp`` by Dantzig-Wolfe decomposition over the blocks ``col_block``.

    Stops when ``(value - bound) / max(1, |value|) <= rel_gap`` (``status``
    ``"optimal"``), when the phase 1 proves the coupling rows cannot be met
    (``"infeasible"``, ``info["coupling_rows"]``: the rows of the master's
    artificial columns left positive, ``info["phase1_prices"]``), when a block
    alone is impossible (``"block_infeasible"``, ``info["block"]``, its IIS rows in
    ``info["rows"]``), or after ``max_rounds`` (``"iteration_limit"``).
    """
    t_start = time.perf_counter()
    blocks, coupling, master_cols = split_blocks(lp, col_block, keys, row_names, row_owner, opening_cost)
    ex = executor if executor is not None else SerialExecutor()
    ex.start(blocks)
    sign = 1.0 if lp.sense == "min" else -1.0
    master = _Master(lp, coupling, master_cols, len(blocks))
    supports = [b.support for b in blocks]
    records: list[dict[str, Any]] = []
    props: list[dict[str, Any]] = []
    prices_kept: list[np.ndarray] = []
    pi = np.zeros(len(coupling))
    best_bound = -math.inf
    value = math.inf
    status = "iteration_limit"
    info: dict[str, Any] = {}

    def fail(k: int, kind: str) -> Decomposition:
        names = ex.local_infeasibility(k) if kind == "infeasible" else []
        info.update(block=blocks[k].key, rows=names)
        ex.close()
        st = "block_infeasible" if kind == "infeasible" else "error"
        return _result(st, lp, blocks, coupling, master_cols, None, None, math.nan, math.nan,
                       records, prices_kept, props, t_start, info)

    # opening round: every block's own best plan alone (or at its own costs, no prices yet)
    t0 = time.perf_counter()
    answers = ex.opening()
    for k, ans in enumerate(answers):
        for p in ans:
            if p["kind"] in ("infeasible", "error"):
                return fail(k, p["kind"])
            master.add(k, p, supports[k])
            props.append({"round": 0, "phase": 0, "block": blocks[k].key, "kind": p["kind"],
                          "cost": sign * p["cost"], "reduced_cost": math.nan, "added": True})
    records.append({"round": 0, "phase": 0, "pricing_seconds": time.perf_counter() - t0,
                    "block_cpu_seconds_max": max((p.get("cpu_seconds", 0.0) for a in answers for p in a), default=0.0),
                    "block_cpu_seconds_sum": float(sum(p.get("cpu_seconds", 0.0) for a in answers for p in a)),
                    "bytes_out": 0, "bytes_in": sum(8 * (len(p["coupling"]) + 3) for a in answers for p in a)})
    def replace_lost(lost: LostBlocks) -> Decomposition | None:
        # a worker died: its blocks were rebuilt elsewhere, their proposals are gone
        for k in lost.blocks:
            master.drop(k)
        answers = ex.propose([np.zeros(len(s)) for s in supports], 2)
        for k in lost.blocks:
            for p in answers[k]:
                if p["kind"] in ("infeasible", "error"):
                    return fail(k, p["kind"])
                master.add(k, p, supports[k])
        return None

    def recover() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray] | None:
        """Each block mixes its own proposals by the master's weights; None if a block was lost."""
        lam = np.asarray(master.h.getSolution().col_value, dtype=np.float64)
        off = master.n_master + master.n_art
        # the simplex leaves weights within its feasibility tolerance of 0 (-1e-7 times a
        # proposal of 10^4 units is a visibly negative level): clip them and make each block's
        # convex weights sum to one again
        mix = np.maximum(lam[off:], 0.0) / np.asarray(master.scales, dtype=np.float64)
        kinds = np.array([kd for _, kd, _ in master.cols], dtype=object)
        owner = np.array([k for k, _, _ in master.cols], dtype=np.int64)
        pts = kinds == "point"
        sums = np.bincount(owner[pts], weights=mix[pts], minlength=len(blocks))
        mix[pts] /= np.where(sums[owner[pts]] > 0, sums[owner[pts]], 1.0)
        lam = np.concatenate([lam[:off], mix])
        weights: list[tuple[dict[int, float], dict[int, float]]] = [({}, {}) for _ in blocks]
        for j, (k, kind, i) in enumerate(master.cols):
            w = float(lam[off + j])
            if w != 0.0 and kind in ("point", "ray"):
                d = weights[k][0 if kind == "point" else 1]
                d[i] = d.get(i, 0.0) + w
        try:
            xs = ex.combine(weights)
            duals = ex.local_duals()
        except LostBlocks as lost:
            records.append({"round": len(records), "phase": master.phase, "lost_blocks": [blocks[k].key for k in lost.blocks]})
            if replace_lost(lost) is not None:
                raise ConvergenceError(f"blocks {lost.blocks} were lost and could not be rebuilt") from None
            return None
        return xs, duals, lam

    recovered = None
    center: np.ndarray | None = None
    exact_next = False
    for rnd in range(1, max_rounds + 1):
        t1 = time.perf_counter()
        z, pi, sigma, _ = master.solve()
        resolved = False
        last = value if records and records[-1].get("phase") == 2 else math.inf
        if master.phase == 2 and math.isfinite(last) and z > last + 1e-9 * max(1.0, abs(last)):
            # the master only gains columns: a worse value is the warm simplex's numerical
            # trouble, so solve it again from scratch with presolve
            z, pi, sigma, _ = master.solve(fresh=True)
            resolved = True
        if master.phase == 1 and z <= 1e-9 * master.scale:
            master.to_phase2()
            best_bound, center = -math.inf, None
            z, pi, sigma, _ = master.solve()
        phase = master.phase
        value = z
        rec: dict[str, Any] = {"round": rnd, "phase": phase, "value": sign * z, "master_resolved": resolved,
                               "phase1_restarts": master.restarts,
                               "master_seconds": time.perf_counter() - t1, "columns": len(master.cols)}
        if keep_prices:
            prices_kept.append(sign * pi.copy())
        t0 = time.perf_counter()
        # Wentges smoothing (phase 2; Wentges 1997, "Weighted Dantzig-Wolfe decomposition
        # for linear mixed-integer programming", Int. Trans. Oper. Res. 4(2)): price at a mix
        # of the best-bound prices and the master's, which damps the swings of the degenerate
        # master's duals; a round whose smoothed prices bring no improving column is priced
        # again at the master's own prices (the mispricing fall-back of Pessoa, Sadykov,
        # Uchoa and Vanderbeck 2018, "Automation and combination of linear-programming based
        # stabilization techniques in column generation", INFORMS J. Comput. 30(2)), so no
        # mispricing survives. Exact: the Lagrangian bound is valid at any price point.
        smooth = phase == 2 and center is not None and smoothing > 0 and not exact_next
        use = smoothing * center + (1.0 - smoothing) * pi if smooth else pi
        exact_next = False
        try:
            answers = ex.propose([use[s] for s in supports], phase)
        except LostBlocks as lost:
            rec.update({"lost_blocks": [blocks[k].key for k in lost.blocks]})
            records.append(rec)
            failed = replace_lost(lost)
            if failed is not None:
                return failed
            center = None
            continue
        rec["pricing_seconds"] = time.perf_counter() - t0
        rec["smoothed"] = smooth
        any_ray, added, received, secs, cpus = False, 0, 0, [], []
        vks = np.full(len(blocks), math.inf)
        rcmin = np.zeros(len(blocks))
        for k, ans in enumerate(answers):
            for p in ans:
                if p["kind"] in ("infeasible", "error"):
                    return fail(k, p["kind"])
                received += 8 * (len(p["coupling"]) + 3)
                secs.append(p.get("seconds", 0.0))
                cpus.append(p.get("cpu_seconds", 0.0))
                # reduced cost at the master's own prices (the proposal was priced at `use`)
                rc = (p["cost"] if phase == 2 else 0.0) - float(pi[supports[k]] @ p["coupling"])
                tol = 1e-9 * max(1.0, abs(p["value"]), abs(p["cost"]))
                if p["kind"] == "ray":
                    any_ray = any_ray or p["value"] < -tol
                else:
                    rc -= sigma[k]
                    vks[k] = min(vks[k], p["value"])
                good = rc < -tol
                rcmin[k] = min(rcmin[k], rc if good else 0.0)
                if good:
                    master.add(k, p, supports[k])
                    added += 1
                props.append({"round": rnd, "phase": phase, "block": blocks[k].key, "kind": p["kind"],
                              "cost": sign * p["cost"], "reduced_cost": rc, "added": good})
        bound = -math.inf if any_ray else master.lagrangian(use, vks, phase)
        rec.update({"bytes_out": sum(8 * len(s) for s in supports), "bytes_in": received, "columns_added": added,
                    "block_seconds_max": max(secs, default=0.0), "block_seconds_sum": float(sum(secs)),
                    "block_cpu_seconds_max": max(cpus, default=0.0), "block_cpu_seconds_sum": float(sum(cpus))})
        if phase == 2 and added == 0 and not smooth:
            # no proposal prices out at the master's own prices: the restricted master is
            # optimal for the whole program (Dantzig-Wolfe's bound z + sum_k min(0, rc_k) = z)
            bound = max(bound, z + float(rcmin.sum()))
        if phase == 2:
            if bound > best_bound:
                best_bound, center = bound, use.copy()
            gap = (z - best_bound) / max(1.0, abs(z))
            rec.update({"bound": sign * best_bound, "gap": gap})
        else:
            gap = math.inf
            rec.update({"phase1_infeasibility": z, "phase1_bound": bound})
        records.append(rec)
        if progress is not None:
            progress(rec)
        # a bound above the master's value by more than the tolerance is no certificate (it is
        # invalid, numerically): go on rather than call the master optimal on it
        if phase == 2 and -rel_gap <= gap <= rel_gap:
            status = "optimal"
            recovered = recover()
            if recovered is None:
                continue  # a worker died before the plan was read back: go on without its proposals
            break
        if phase == 1 and not any_ray and bound > 1e-9 * master.scale:
            status = "infeasible"  # the phase-1 bound proves the coupling rows cannot all be met
            break
        if added == 0 and smooth:
            exact_next = True  # mispriced: the same master, priced at its own prices next round
            continue
        if added == 0:
            status = "stalled" if phase == 2 else "infeasible"
            if phase == 2:
                recovered = recover()
                if recovered is None:
                    continue
            break
    if status == "infeasible":
        lam = master.h.getSolution().col_value
        art = np.asarray(lam[master.n_master : master.n_master + master.n_art])
        lo = lp.row_lower[coupling]
        hi = lp.row_upper[coupling]
        rows = np.concatenate([np.flatnonzero(np.isfinite(lo)), np.flatnonzero(np.isfinite(hi))])
        short = rows[art > 1e-9 * master.scale]
        info["coupling_rows"] = coupling[np.unique(short)]
        info["shortfall"] = art[art > 1e-9 * master.scale]
        info["phase1_prices"] = pi
        binding = []
        try:
            local = ex.local_duals()
        except LostBlocks:
            local = [np.zeros(len(b.rows)) for b in blocks]
        for b, d in zip(blocks, local, strict=True):
            for i in np.flatnonzero(np.abs(d) > 1e-9):
                binding.append(b.names[i] if i < len(b.names) else f"{b.key} row {i}")
        info["binding"] = binding
        ex.close()
        return _result(status, lp, blocks, coupling, master_cols, None, None, math.nan, math.nan,
                       records, prices_kept, props, t_start, info)
    if recovered is None:
        recovered = recover()
        if recovered is None:
            raise ConvergenceError("a block was lost while the plan was read back after the last round")
    xs, duals, lam = recovered
    ex.close()
    n = lp.shape[1]
    x = np.zeros(n)
    for b, xb in zip(blocks, xs, strict=True):
        x[b.cols] = xb
    x[master_cols] = lam[: master.n_master]
    y = np.zeros(lp.shape[0])
    y[coupling] = pi
    for b, d in zip(blocks, duals, strict=True):
        if len(b.rows):
            y[b.rows] = d
    return _result(status, lp, blocks, coupling, master_cols, x, y, value, best_bound, records, prices_kept, props,
                   t_start, info)


def _result(status, lp, blocks, coupling, master_cols, x, y, value, bound, records, prices, props, t_start, info):
    sign = 1.0 if lp.sense == "min" else -1.0
    n, m = lp.shape[1], lp.shape[0]
    if x is None:
        x = np.full(n, np.nan)
        y = np.full(m, np.nan)
        z = np.full(n, np.nan)
    else:
        # min-form duals back to the program's sense: c - A'y - z = 0
        z = sign * lp.c - lp.A.T @ y
        y, z = sign * y, sign * z
    gap = (value - bound) / max(1.0, abs(value)) if math.isfinite(value) and math.isfinite(bound) else math.nan
    info = {**info, "blocks": len(blocks), "coupling_rows": info.get("coupling_rows", len(coupling)),
            "master_columns": len(master_cols)}
    return Decomposition(
        status=status, x=x, row_duals=y, col_duals=z, value=sign * value, bound=sign * bound, gap=gap,
        rounds=pd.DataFrame(records), prices=prices, proposals=pd.DataFrame(props), coupling=coupling,
        seconds=time.perf_counter() - t_start, info=info,
    )
