"""The block linear program of a multi-period plan and its :class:`Layout`: where each
named block of rows and columns sits, how to name a row or column in the economy's
terms, and how to add columns and rows to the program without knowing its order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy, align
from gosplan.errors import SchemaError, UnknownIdError
from gosplan.planning.dynamic.spec import DynamicSpec, MaxConsumption, MaxTerminalStocks, Objective, ReachTargets, period_frame

# -- the block LP -------------------------------------------------------------------------


#: entries per period of each per-period block (rows and columns)
_WIDTH = {"balance": "P", "factor": "F", "capacity": "Jc", "accumulation": "Jc", "share": "Jc",
          "x": "J", "z": "Jc", "k": "Jc"}


@dataclass(frozen=True, eq=False)
class Layout:
    """Where each named block of columns and rows sits in the program.

    Column blocks: ``x`` levels (T x J), ``z`` new capacity (T x Jc), ``k`` capacity
    ((T + 1) x Jc), ``u`` consumption levels, ``I`` total investment. Row blocks:
    ``balance`` (T x P), ``factor`` (T x F), ``capacity`` (T x Jc), ``accumulation``
    (T x Jc), ``share``, ``investment_total``, ``investment_rate``, ``terminal``,
    ``target_capacity``, ``target_stock``; all period-major. Blocks a caller adds with
    :meth:`add_columns` and :meth:`add_rows` follow. Code outside the build finds a row
    or column here (:meth:`row`, :meth:`col`, :meth:`row_block`), never by counting,
    so a change of order in the build cannot silently move it.
    """

    T: int
    P: int
    J: int
    F: int
    Jc: int
    cap_idx: np.ndarray
    nu: int
    n_inv: int
    col_blocks: dict[str, tuple[int, int]]
    row_blocks: dict[str, tuple[int, int]]

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the program this layout describes."""
        m = max((b for _, b in self.row_blocks.values()), default=0)
        n = max((b for _, b in self.col_blocks.values()), default=0)
        return m, n

    def cols(self, name: str) -> slice:
        a, b = self.col_blocks[name]
        return slice(a, b)

    def rows(self, name: str) -> slice:
        a, b = self.row_blocks[name]
        return slice(a, b)

    def _at(self, blocks: dict[str, tuple[int, int]], name: str, t: Any, k: Any) -> Any:
        width = getattr(self, _WIDTH[name]) if name in _WIDTH else 1
        return blocks[name][0] + np.asarray(t) * width + np.asarray(k)

    def row(self, name: str, t: Any, k: Any = 0) -> Any:
        """Index of the row of block ``name`` for period ``t`` and entry ``k`` (product,
        factor or capital-using activity by position); arrays broadcast."""
        return self._at(self.row_blocks, name, t, k)

    def col(self, name: str, t: Any, k: Any = 0) -> Any:
        """Index of the column of block ``name`` for period ``t`` and entry ``k``."""
        return self._at(self.col_blocks, name, t, k)

    @staticmethod
    def _find(blocks: dict[str, tuple[int, int]], i: int) -> tuple[str, int]:
        for name, (a, b) in blocks.items():
            if a <= i < b:
                return name, i - a
        return "", i

    def row_block(self, i: int) -> tuple[str, int]:
        """The block of row ``i`` and its position within it (``("", i)`` if none)."""
        return self._find(self.row_blocks, i)

    def col_block(self, j: int) -> tuple[str, int]:
        """The block of column ``j`` and its position within it (``("", j)`` if none)."""
        return self._find(self.col_blocks, j)

    def add_columns(self, lp: Any, name: str, A: Any, c: Any = None, lower: Any = None, upper: Any = None) -> tuple[Any, Layout]:
        """The program with a block of columns ``name`` appended after all others.

        ``A``: the new columns' entries in the program's rows (m x n); ``c`` their cost
        (default 0), ``lower`` and ``upper`` their bounds (default ``0`` and ``inf``).
        Returns the new program and its layout."""
        m, nb = lp.A.shape
        A = sp.csc_array(A)
        n = A.shape[1]
        if A.shape[0] != m:
            raise SchemaError(f"add_columns {name!r}: {A.shape[0]} rows, the program has {m}")
        if name in self.col_blocks:
            raise SchemaError(f"add_columns: the program already has a column block {name!r}")
        new = dataclasses.replace(
            lp,
            A=sp.hstack([lp.A, A], format="csc"),
            c=np.concatenate([lp.c, np.zeros(n) if c is None else np.asarray(c, dtype=float)]),
            col_lower=np.concatenate([lp.col_lower, np.zeros(n) if lower is None else np.asarray(lower, dtype=float)]),
            col_upper=np.concatenate([lp.col_upper, np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=float)]),
        )
        return new, dataclasses.replace(self, col_blocks={**self.col_blocks, name: (nb, nb + n)})

    def add_rows(self, lp: Any, name: str, A: Any, lower: Any, upper: Any) -> tuple[Any, Layout]:
        """The program with a block of rows ``name`` (``lower <= A x <= upper``, A over
        all the program's columns) appended after all others."""
        m, n = lp.A.shape
        A = sp.csc_array(A)
        if A.shape[1] != n:
            raise SchemaError(f"add_rows {name!r}: {A.shape[1]} columns, the program has {n}")
        if name in self.row_blocks:
            raise SchemaError(f"add_rows: the program already has a row block {name!r}")
        k = A.shape[0]
        new = dataclasses.replace(
            lp,
            A=sp.vstack([lp.A, A], format="csc"),
            row_lower=np.concatenate([lp.row_lower, np.broadcast_to(np.asarray(lower, dtype=float), (k,))]),
            row_upper=np.concatenate([lp.row_upper, np.broadcast_to(np.asarray(upper, dtype=float), (k,))]),
        )
        return new, dataclasses.replace(self, row_blocks={**self.row_blocks, name: (m, m + k)})


def _zeros(m: int, n: int) -> sp.csr_array:
    return sp.csr_array((m, n))


def consumption_levels(objective: Objective, economy: Economy, spec: DynamicSpec) -> tuple[np.ndarray, int]:
    """Basket per period (T x P) and the number of level variables (T, 1 or 0)."""
    T, P = spec.T, len(economy.products)
    if not isinstance(objective, MaxConsumption):
        return np.zeros((T, P)), 0
    if objective.basket is None:
        if economy.final_demand is not None and economy.final_demand.to_numpy().sum(axis=1).max() > 0:
            b = np.maximum(economy.final_demand.to_numpy().sum(axis=1), 0.0)
        else:
            b = np.ones(P)
        basket = np.tile(b, (T, 1))
    else:
        basket = period_frame(objective.basket, spec.periods, economy.product_ids, "basket", 0.0)
    if (basket < 0).any() or not (basket.sum(axis=1) > 0).all():
        raise SchemaError("basket: quantities must be >= 0 with at least one positive in every period")
    if objective.growth is not None:
        basket = basket * (1.0 + objective.growth) ** np.arange(T)[:, None]
        return basket, 1
    return basket, T


def _capital_selection(ids: pd.Index, economy: Economy, cap_idx: np.ndarray, what: str, hint: str) -> sp.csr_array:
    """Rows picking the capital-using activities ``ids`` out of the capacity columns;
    names an unknown activity or one that ties up no capital."""
    pos = economy.activity_ids.get_indexer(ids)
    if (pos < 0).any():
        raise UnknownIdError(f"{what}: unknown activit(ies) {list(ids[pos < 0])}")
    loc = pd.Index(cap_idx).get_indexer(pos)
    if (loc < 0).any():
        raise SchemaError(f"{what}: activit(ies) {list(ids[loc < 0])} tie up no capital{hint}")
    return sp.csr_array((np.ones(len(loc)), (np.arange(len(loc)), loc)), shape=(len(loc), len(cap_idx)))


def build_dynamic_lp(economy: Economy, spec: DynamicSpec, objective: Objective):
    """The block LP of a multi-period plan and its layout.

    Columns: levels ``x`` (T x J), new capacity ``z`` (T x Jc), capacity ``k``
    ((T+1) x Jc, ``k_1`` fixed at the initial capacity), consumption levels ``u``,
    and total investment per period ``I`` where investment shares are fixed.
    Rows: product balances, factor limits, capacity limits, accumulation, fixed
    investment shares, targets and terminal conditions (see the module docstring).
    Returns ``(LinearProgram, layout)``.
    """
    from gosplan.planning.solver import LinearProgram

    T = spec.T
    P, J, F = len(economy.products), len(economy.activities), len(economy.factors)
    cap_idx = np.flatnonzero(spec.capital_activities)
    Jc = len(cap_idx)
    N = sp.csr_array(economy.make - economy.use)
    Fm = economy.factor_use
    Kc = sp.csr_array(economy.capital[:, cap_idx]) if Jc else _zeros(P, 0)
    S = sp.csr_array((np.ones(Jc), (np.arange(Jc), cap_idx)), shape=(Jc, J))
    IT = sp.identity(T, format="csr")
    basket, nu = consumption_levels(objective, economy, spec)
    if isinstance(objective, MaxTerminalStocks) and objective.proportions is not None:
        nu = 1
    shares = spec.investment_shares
    n_inv = T if shares is not None else 0

    nx, nz, nk = T * J, T * Jc, (T + 1) * Jc
    col_sizes = {"x": nx, "z": nz, "k": nk, "u": nu, "I": n_inv}
    col_blocks, pos = {}, 0
    for name, size in col_sizes.items():
        col_blocks[name] = (pos, pos + size)
        pos += size
    ncols = pos

    def row(**blocks: sp.sparray) -> sp.csr_array:
        m = next(iter(blocks.values())).shape[0]
        return sp.hstack([blocks.get(name, _zeros(m, size)) for name, size in col_sizes.items()], format="csr")

    rows: list[tuple[str, sp.csr_array, np.ndarray, np.ndarray]] = []

    # product balances: (make - use) x_t - K z_t - u_t b_t >= floor_t
    if nu == T and isinstance(objective, MaxConsumption):
        Bu = sp.csr_array((-basket.ravel(), (np.arange(T * P), np.repeat(np.arange(T), P))), shape=(T * P, T))
    elif nu == 1 and isinstance(objective, MaxConsumption):
        Bu = sp.csr_array(-basket.reshape(-1, 1))
    else:
        Bu = _zeros(T * P, nu)
    rows.append(
        (
            "balance",
            row(x=sp.kron(IT, N, format="csr"), z=sp.kron(IT, -Kc, format="csr"), u=Bu),
            spec.final_demand.ravel(),
            np.full(T * P, np.inf),
        )
    )
    # factors: factor_use x_t <= supply_t
    rows.append(("factor", row(x=sp.kron(IT, Fm, format="csr")), np.full(T * F, -np.inf), spec.factor_supply.ravel()))
    if Jc:
        # capacity: x_{j,t} - k_{j,t} <= 0
        Ek = sp.eye(T, T + 1, format="csr")
        rows.append(
            (
                "capacity",
                row(x=sp.kron(IT, S, format="csr"), k=-sp.kron(Ek, sp.identity(Jc), format="csr")),
                np.full(T * Jc, -np.inf),
                np.zeros(T * Jc),
            )
        )
        # accumulation: k_{t+1} - (1 - delta) k_t - z_{t+1-lag} = 0, t = 1..T
        keep = sp.diags_array(1.0 - spec.depreciation[cap_idx])
        Ak = sp.kron(sp.eye(T, T + 1, k=1), sp.identity(Jc), format="csr") - sp.kron(Ek, keep, format="csr")
        lag = spec.lag[cap_idx]
        tt, jj = np.meshgrid(np.arange(T), np.arange(Jc), indexing="ij")
        src = tt + 1 - lag[None, :]  # z period feeding k_{t+1}
        ok = src >= 0
        Az = sp.csr_array(
            (-np.ones(int(ok.sum())), ((tt * Jc + jj)[ok], (src * Jc + jj)[ok])), shape=(T * Jc, T * Jc)
        )
        rows.append(("accumulation", row(k=Ak, z=Az), np.zeros(T * Jc), np.zeros(T * Jc)))
        if shares is not None:
            kv = spec.investment_weights @ Kc  # value of the capital of one unit of capacity
            Sh = sp.csr_array((-shares[:, cap_idx].ravel(), (np.arange(T * Jc), np.repeat(np.arange(T), Jc))), shape=(T * Jc, T))
            rows.append(
                ("share", row(z=sp.kron(IT, sp.diags_array(kv), format="csr"), I=Sh), np.zeros(T * Jc), np.zeros(T * Jc))
            )
            rows.append(
                (
                    "investment_total",
                    row(z=sp.kron(IT, sp.csr_array(kv.reshape(1, -1)), format="csr"), I=-sp.identity(T, format="csr")),
                    np.zeros(T),
                    np.zeros(T),
                )
            )
        if spec.investment_rate is not None:
            # value of new capital = rate x value of net output (national income at the weights)
            kv = spec.investment_weights @ Kc
            wN = sp.csr_array((spec.investment_weights @ N).reshape(1, -1))
            Ax = sp.kron(sp.diags_array(-spec.investment_rate), wN, format="csr")
            rows.append(
                ("investment_rate", row(x=Ax, z=sp.kron(IT, sp.csr_array(kv.reshape(1, -1)), format="csr")), np.zeros(T), np.zeros(T))
            )
        k0 = spec.initial_capacity[cap_idx]
        last = sp.csr_array((np.ones(Jc), (np.arange(Jc), T * Jc + np.arange(Jc))), shape=(Jc, nk))
        before = sp.csr_array((np.ones(Jc), (np.arange(Jc), (T - 1) * Jc + np.arange(Jc))), shape=(Jc, nk))
        grow = (1.0 + spec.terminal.growth) ** T
        if spec.terminal.kind == "capacity":
            rows.append(("terminal", row(k=last), grow * k0, np.full(Jc, np.inf)))
        elif spec.terminal.kind == "stocks":
            held = np.flatnonzero(np.diff(Kc.indptr) > 0)
            Kh = sp.csr_array(Kc[held])
            rows.append(("terminal", row(k=sp.csr_array(Kh @ last)), grow * (Kh @ k0), np.full(len(held), np.inf)))
        if isinstance(objective, ReachTargets):
            if objective.capacity is not None:
                tc = pd.Series(objective.capacity, dtype=float)
                sel = _capital_selection(tc.index, economy, cap_idx, "capacity target",
                                         ", so they have no capacity to build; target their output instead")
                rows.append(("target_capacity", row(k=sp.csr_array(sel @ before)), tc.to_numpy(), np.full(sel.shape[0], np.inf)))
            if objective.stocks is not None:
                ts = pd.Series(objective.stocks, dtype=float)
                pos_ = economy.product_ids.get_indexer(ts.index)
                if (pos_ < 0).any():
                    raise UnknownIdError(f"stock target: unknown product(s) {list(ts.index[pos_ < 0])}")
                rows.append(
                    ("target_stock", row(k=sp.csr_array(Kc[pos_] @ before)), ts.to_numpy(), np.full(len(pos_), np.inf))
                )
        if isinstance(objective, MaxTerminalStocks) and objective.proportions is not None:
            pr = pd.Series(objective.proportions, dtype=float)
            sel = _capital_selection(pr.index, economy, cap_idx, "proportions", "")
            rows.append(
                (
                    "terminal_proportions",
                    row(k=sp.csr_array(sel @ last), u=sp.csr_array(-pr.to_numpy().reshape(-1, 1))),
                    np.zeros(sel.shape[0]),
                    np.full(sel.shape[0], np.inf),
                )
            )
    elif isinstance(objective, ReachTargets) and (objective.capacity is not None or objective.stocks is not None):
        raise SchemaError("targets on capacity or stocks need capital coefficients (Economy.capital)")

    row_blocks, pos = {}, 0
    for name, m, _, _ in rows:
        row_blocks[name] = (pos, pos + m.shape[0])
        pos += m.shape[0]
    A = sp.vstack([m for _, m, _, _ in rows], format="csc")
    row_lower = np.concatenate([lo for _, _, lo, _ in rows])
    row_upper = np.concatenate([hi for _, _, _, hi in rows])

    # bounds
    col_lower = np.zeros(ncols)
    col_upper = np.full(ncols, np.inf)
    xu = np.tile(spec.static_capacity, (T, 1))
    xu[np.arange(T)[:, None] < spec.start[None, :]] = 0.0
    col_upper[col_blocks["x"][0] : col_blocks["x"][1]] = xu.ravel()
    if Jc:
        lag = spec.lag[cap_idx]
        # capacity finished after the horizon is of no use to the plan, so such
        # investment is barred - unless fixed shares or a fixed rate make the
        # economy keep starting projects (work in progress at the end)
        fixed_rule = spec.investment_shares is not None or spec.investment_rate is not None
        zu = np.where((np.arange(T)[:, None] + lag[None, :] <= T) | fixed_rule, np.inf, 0.0)
        col_upper[col_blocks["z"][0] : col_blocks["z"][1]] = zu.ravel()
        k0 = spec.initial_capacity[cap_idx]
        a = col_blocks["k"][0]
        col_lower[a : a + Jc] = k0
        col_upper[a : a + Jc] = k0

    # objective
    c = np.zeros(ncols)
    beta = None
    if isinstance(objective, MaxConsumption):
        sense = "max"
        if objective.discount <= -1:
            raise SchemaError("discount rate must be above -1")
        beta = (1.0 + objective.discount) ** -np.arange(T)
        c[col_blocks["u"][0] : col_blocks["u"][1]] = beta if nu == T else 1.0
        if objective.terminal_weight and Jc:
            a = col_blocks["k"][0] + T * Jc
            c[a : a + Jc] = objective.terminal_weight * np.asarray(Kc.sum(axis=0)).ravel()
    elif isinstance(objective, ReachTargets):
        sense = "min"
        w = (
            np.ones(F)
            if objective.cost is None
            else align(
                pd.Series(objective.cost, dtype=float).reindex(economy.factor_ids).fillna(0.0), economy.factor_ids, "cost"
            ).to_numpy()
        )
        beta = (1.0 + objective.discount) ** -np.arange(T)
        c[col_blocks["x"][0] : col_blocks["x"][1]] = np.kron(beta, w @ Fm)
    elif isinstance(objective, MaxTerminalStocks):
        sense = "max"
        if objective.proportions is not None:
            c[col_blocks["u"][0]] = 1.0
        elif Jc:
            w = (
                np.ones(P)
                if objective.weights is None
                else pd.Series(objective.weights, dtype=float).reindex(economy.product_ids).fillna(0.0).to_numpy()
            )
            a = col_blocks["k"][0] + T * Jc
            c[a : a + Jc] = w @ Kc
    else:
        raise SchemaError(f"unknown objective {objective!r}; use MaxConsumption, ReachTargets or MaxTerminalStocks")

    lp = LinearProgram(c=c, A=A, row_lower=row_lower, row_upper=row_upper, col_lower=col_lower, col_upper=col_upper, sense=sense)
    layout = Layout(T=T, P=P, J=J, F=F, Jc=Jc, cap_idx=cap_idx, nu=nu, n_inv=n_inv, col_blocks=col_blocks, row_blocks=row_blocks)
    return lp, layout


# -- naming rows and columns (for diagnoses) -----------------------------------------------


_ROW_TEXT = {
    "balance": "balance of product {id} in period {t}",
    "factor": "supply of factor {id} in period {t}",
    "capacity": "capacity of activity {id} in period {t}",
    "accumulation": "accumulation of capacity of {id} into period {t1}",
    "share": "fixed investment share of activity {id} in period {t}",
    "investment_total": "total investment in period {t}",
    "investment_rate": "fixed investment rate in period {t}",
}


def row_name(i: int, layout: Layout, economy: Economy, periods: pd.Index, objective: Objective) -> str:
    for name, (a, b) in layout.row_blocks.items():
        if a <= i < b:
            r = i - a
            if name in ("balance",):
                t, k = divmod(r, layout.P)
                return _ROW_TEXT[name].format(id=repr(economy.product_ids[k]), t=periods[t])
            if name == "factor":
                t, k = divmod(r, layout.F)
                return _ROW_TEXT[name].format(id=repr(economy.factor_ids[k]), t=periods[t])
            if name in ("capacity", "share"):
                t, k = divmod(r, layout.Jc)
                return _ROW_TEXT[name].format(id=repr(economy.activity_ids[layout.cap_idx[k]]), t=periods[t])
            if name == "accumulation":
                t, k = divmod(r, layout.Jc)
                nxt = periods[t + 1] if t + 1 < len(periods) else f"after {periods[-1]}"
                return _ROW_TEXT[name].format(id=repr(economy.activity_ids[layout.cap_idx[k]]), t1=nxt)
            if name in ("investment_total", "investment_rate"):
                return _ROW_TEXT[name].format(t=periods[r])
            if name == "terminal":
                return f"terminal condition ({r}): capital must not be run down after period {periods[-1]}"
            if name == "target_capacity":
                return f"capacity target #{r} (ReachTargets.capacity) in period {periods[-1]}"
            if name == "target_stock":
                return f"stock target #{r} (ReachTargets.stocks) in period {periods[-1]}"
            return f"{name} row {r}"
    return f"row {i}"


def col_name(j: int, layout: Layout, economy: Economy, periods: pd.Index) -> str:
    for name, (a, b) in layout.col_blocks.items():
        if a <= j < b:
            r = j - a
            if name == "x":
                t, k = divmod(r, layout.J)
                return f"bounds on the level of activity {economy.activity_ids[k]!r} in period {periods[t]} (capacity or not yet available)"
            if name == "z":
                t, k = divmod(r, layout.Jc)
                return f"investment in {economy.activity_ids[layout.cap_idx[k]]!r} in period {periods[t]}"
            if name == "k":
                t, k = divmod(r, layout.Jc)
                if t == 0:
                    return f"initial capacity of activity {economy.activity_ids[layout.cap_idx[k]]!r}"
                return f"capacity of {economy.activity_ids[layout.cap_idx[k]]!r} >= 0"
            return f"{name} column {r}"
    return f"column {j}"

