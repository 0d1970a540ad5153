"""From an Economy and Targets to the constraints of a linear program.

The decision variables are activity levels ``z`` (so the optimiser chooses between
alternative techniques and runs joint-product activities), plus, where an
objective asks for them, the basket multiple ``t``, per-product fulfilment ``u``,
per-product harmony ``h`` and floor shortfalls ``e``. The rows are

* product balances  ``(make - use) z - b t - diag(b) u + e >= floor + public``
  (net output covers what final demand takes; surplus is free disposal),
* factor limits     ``factor_use z <= available``  (every factor; ``inf`` = no limit),
* trade limits      ``sum_{i in r, j in s} use[i, j] z_j <= limit[r, s]`` between regions,
* harmony pieces    ``h_i - a_k u_i <= c_k`` (see :mod:`gosplan.planning.objectives`),

and capacities are column bounds ``0 <= z <= capacity``. Everything is assembled
from the economy's CSR arrays with sparse stacking: no Python loop touches a
coefficient, so building costs a small share of solving. The objective row is
left to :mod:`gosplan.planning.objectives`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import SchemaError, UnknownIdError
from gosplan.planning.solver import LinearProgram
from gosplan.planning.targets import ResolvedTargets, Targets


@dataclass(frozen=True, eq=False)
class PlanModel:
    """The constraints of one plan, in plain arrays, with the map back to labels."""

    economy: Economy
    targets: ResolvedTargets
    A: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    cols: dict[str, slice]
    rows: dict[str, slice]
    limits: np.ndarray
    capacities: np.ndarray
    fulfilment_products: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    shortfall_products: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    trade_pairs: tuple[tuple[str, str], ...] = ()
    trade_limits: np.ndarray = field(default_factory=lambda: np.zeros(0))
    breakpoints: np.ndarray | None = None

    @property
    def n_cols(self) -> int:
        return self.A.shape[1]

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]

    def program(
        self,
        c: np.ndarray,
        sense: str,
        extra_rows: tuple[tuple[np.ndarray, float, float], ...] = (),
    ) -> LinearProgram:
        """The linear program with objective ``c`` (and optional dense extra rows,
        ``(coefficients, lower, upper)``, used by lexicographic stages)."""
        A, lo, hi = self.A, self.row_lower, self.row_upper
        if extra_rows:
            extra = sp.csc_array(np.vstack([r[0] for r in extra_rows]))
            A = sp.vstack([A, extra], format="csc")
            lo = np.concatenate([lo, [r[1] for r in extra_rows]])
            hi = np.concatenate([hi, [r[2] for r in extra_rows]])
        return LinearProgram(
            c=c, A=A, row_lower=lo, row_upper=hi, col_lower=self.col_lower, col_upper=self.col_upper, sense=sense
        )

    def block(self, x: np.ndarray, name: str) -> np.ndarray:
        """The part of a column (or row) vector that belongs to one block."""
        s = self.cols.get(name) if len(x) == self.n_cols else self.rows.get(name)
        if s is None:
            return np.zeros(0)
        return x[s]

    def row_labels(self) -> pd.MultiIndex:
        """(kind, id) of every row."""
        e = self.economy
        kinds: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        for name, s in self.rows.items():
            n = s.stop - s.start
            if name == "balance":
                lab = e.product_ids.to_numpy(dtype=object)
            elif name == "factor":
                lab = e.factor_ids.to_numpy(dtype=object)
            elif name == "trade":
                lab = np.array([f"{a}->{b}" for a, b in self.trade_pairs], dtype=object)
            else:
                prods = e.product_ids.to_numpy(dtype=object)[self.fulfilment_products]
                K = len(self.breakpoints) if self.breakpoints is not None else 0
                lab = np.array([f"{p}#{k}" for p in prods for k in range(K)], dtype=object)
            kinds.append(np.full(n, name, dtype=object))
            ids.append(lab)
        return pd.MultiIndex.from_arrays(
            [np.concatenate(kinds) if kinds else [], np.concatenate(ids) if ids else []], names=["kind", "id"]
        )


def _overrides(values: Mapping[str, float] | pd.Series | None, ids: pd.Index, base: np.ndarray, what: str) -> np.ndarray:
    out = base.astype(float).copy()
    if values is None:
        return out
    s = values if isinstance(values, pd.Series) else pd.Series(dict(values), dtype=float)
    unknown = s.index.difference(ids)
    if len(unknown):
        raise UnknownIdError(f"{what}: {list(map(str, unknown[:10]))} are not in the economy; check the ids")
    v = s.to_numpy(dtype=float)
    if np.isnan(v).any() or (v < 0).any():
        bad = s.index[np.isnan(v) | (v < 0)][0]
        raise SchemaError(f"{what}: value of {bad!r} is {s[bad]!r}; it must be a number >= 0 (inf for none)")
    out[ids.get_indexer(s.index)] = v
    return out


def _trade_rows(
    economy: Economy, trade_limits: Mapping[tuple[str, str], float]
) -> tuple[sp.csr_array, tuple[tuple[str, str], ...], np.ndarray]:
    """Rows summing the inputs that activities of region s take from products of region r."""
    pairs = tuple((str(a), str(b)) for a, b in trade_limits)
    regions = set(economy.regions)
    for a, b in pairs:
        for r in (a, b):
            if r not in regions:
                raise UnknownIdError(
                    f"trade limit {a}->{b}: region {r!r} is not in the economy (regions: {sorted(regions)[:10]})"
                )
    limits = np.array([float(trade_limits[p]) for p in trade_limits], dtype=float)
    if np.isnan(limits).any() or (limits < 0).any():
        raise SchemaError("trade limits must be numbers >= 0")
    k = len(pairs)
    preg = economy.products["region"].to_numpy(dtype=object)
    areg = economy.activities["region"].to_numpy(dtype=object)
    frm = np.array([a for a, _ in pairs], dtype=object)
    to = np.array([b for _, b in pairs], dtype=object)
    # pairs x products indicator of the exporting region, pairs x activities of the importing one
    G = sp.csr_array((preg[None, :] == frm[:, None]).astype(float)) if k else sp.csr_array((0, len(preg)))
    H = sp.csr_array((areg[None, :] == to[:, None]).astype(float)) if k else sp.csr_array((0, len(areg)))
    rows = sp.csr_array((G @ economy.use).multiply(H))
    return rows, pairs, limits


def harmony_rows(n: int, slopes: np.ndarray, intercepts: np.ndarray) -> tuple[sp.csr_array, sp.csr_array, np.ndarray]:
    """The hypograph rows ``h_i - a_k u_i <= c_k`` of n products and K pieces:
    returns (coefficients on u, coefficients on h, upper bounds), rows ordered
    product-major."""
    K = len(slopes)
    r = np.arange(n * K)
    i = np.repeat(np.arange(n), K)
    Au = sp.csr_array((-np.tile(slopes, n), (r, i)), shape=(n * K, n))
    Ah = sp.csr_array((np.ones(n * K), (r, i)), shape=(n * K, n))
    return Au, Ah, np.tile(intercepts, n)


def build_model(
    economy: Economy,
    targets: Targets | ResolvedTargets,
    *,
    basket: bool = False,
    fulfilment: bool = False,
    harmony: tuple[np.ndarray, np.ndarray] | None = None,
    shortfall: bool = False,
    limits: Mapping[str, float] | pd.Series | None = None,
    capacities: Mapping[str, float] | pd.Series | None = None,
    trade_limits: Mapping[tuple[str, str], float] | None = None,
) -> PlanModel:
    """Assemble the constraints of a one-period plan.

    Parameters
    ----------
    economy, targets : what the plan works with and what it must deliver.
    basket : add the basket multiple ``t`` (one column).
    fulfilment : add per-product fulfilment ``u_i`` of the basket (one column per
        product with a basket amount).
    harmony : ``(slopes, intercepts)`` of the pieces of a concave piecewise-linear
        function of ``u``; adds ``h_i`` columns and their hypograph rows.
    shortfall : make the floors elastic: ``e_i`` in ``[0, floor_i + public_i]``.
    limits, capacities : overrides of factor availability and activity capacity.
    trade_limits : ``{(from_region, to_region): limit}`` on intermediate inputs.
    """
    e = economy
    t = targets.resolve(e) if isinstance(targets, Targets) else targets
    P, J, F = len(e.products), len(e.activities), len(e.factors)
    avail = _overrides(limits, e.factor_ids, e.factors["available"].to_numpy(dtype=float), "limits")
    cap = _overrides(capacities, e.activity_ids, e.activities["capacity"].to_numpy(dtype=float), "capacities")

    level_blocks = [sp.csr_array(e.make - e.use), e.factor_use]
    lower = [t.required, np.full(F, -np.inf)]
    upper = [np.full(P, np.inf), avail]
    rows = {"balance": slice(0, P), "factor": slice(P, P + F)}
    pairs: tuple[tuple[str, str], ...] = ()
    tl = np.zeros(0)
    if trade_limits:
        T, pairs, tl = _trade_rows(e, trade_limits)
        level_blocks.append(T)
        lower.append(np.full(len(pairs), -np.inf))
        upper.append(tl)
        rows["trade"] = slice(P + F, P + F + len(pairs))
    n_rows = sum(b.shape[0] for b in level_blocks)

    fp = np.flatnonzero(t.basket > 0) if (fulfilment or harmony is not None) else np.zeros(0, dtype=np.int64)
    if (basket or fulfilment or harmony is not None) and not t.has_basket:
        raise SchemaError("this objective needs a basket: give the targets a 'basket' with positive amounts")
    sp_idx = np.flatnonzero(t.required > 0) if shortfall else np.zeros(0, dtype=np.int64)
    K = len(harmony[0]) if harmony is not None else 0
    m = len(fp)
    n_h_rows = m * K
    total_rows = n_rows + n_h_rows
    if harmony is not None:
        rows["harmony"] = slice(n_rows, total_rows)

    def pad(block: sp.csr_array | sp.csc_array, top: int) -> sp.csc_array:
        """A block of columns placed at row offset ``top`` in the full height."""
        block = sp.csc_array(block)
        coo = block.tocoo()
        return sp.csc_array((coo.data, (coo.row + top, coo.col)), shape=(total_rows, block.shape[1]))

    col_blocks = [sp.vstack(level_blocks, format="csr")]
    cols = {"levels": slice(0, J)}
    col_lo = [np.zeros(J)]
    col_hi = [cap]
    n = J
    if basket:
        col_blocks.append(sp.csr_array(-t.basket.reshape(-1, 1)))
        cols["basket"] = slice(n, n + 1)
        col_lo.append(np.zeros(1))
        col_hi.append(np.full(1, np.inf))
        n += 1
    Au = Ah = None
    if m:
        Bu = sp.csr_array((-t.basket[fp], (fp, np.arange(m))), shape=(P, m))
        if harmony is not None:
            Au, Ah, hc = harmony_rows(m, *harmony)
        col_blocks.append(Bu)
        cols["fulfilment"] = slice(n, n + m)
        col_lo.append(np.zeros(m))
        col_hi.append(np.full(m, np.inf))
        n += m
        if harmony is not None:
            col_blocks.append(sp.csr_array((P, m)))
            cols["harmony"] = slice(n, n + m)
            col_lo.append(np.full(m, -np.inf))
            col_hi.append(np.full(m, np.inf))
            n += m
    if len(sp_idx):
        Bs = sp.csr_array((np.ones(len(sp_idx)), (sp_idx, np.arange(len(sp_idx)))), shape=(P, len(sp_idx)))
        col_blocks.append(Bs)
        cols["shortfall"] = slice(n, n + len(sp_idx))
        col_lo.append(np.zeros(len(sp_idx)))
        col_hi.append(t.required[sp_idx].copy())
        n += len(sp_idx)

    # the level columns are the bulk: hand their CSR block to CSC once, stack the rest beside it
    parts = []
    for name, blk in zip(cols, col_blocks, strict=True):
        if name == "levels":
            big = sp.csc_array(blk)
            if n_h_rows:
                big = sp.csc_array((big.data, big.indices, big.indptr), shape=(total_rows, J))
            parts.append(big)
        else:
            parts.append(pad(blk, 0))
    if harmony is not None and m:
        parts[list(cols).index("fulfilment")] = parts[list(cols).index("fulfilment")] + pad(Au, n_rows)
        parts[list(cols).index("harmony")] = pad(Ah, n_rows)
        lower.append(np.full(n_h_rows, -np.inf))
        upper.append(hc)
    A = sp.hstack(parts, format="csc") if len(parts) > 1 else parts[0]
    return PlanModel(
        economy=e,
        targets=t,
        A=A,
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        col_lower=np.concatenate(col_lo),
        col_upper=np.concatenate(col_hi),
        cols=cols,
        rows=rows,
        limits=avail,
        capacities=cap,
        fulfilment_products=fp,
        shortfall_products=sp_idx,
        trade_pairs=pairs,
        trade_limits=tl,
        breakpoints=None if harmony is None else np.asarray(harmony[0]),
    )


def describe_shape(model: PlanModel) -> dict[str, Any]:
    """Sizes of a model, for logs and manifests."""
    return {"rows": model.n_rows, "cols": model.n_cols, "nnz": int(model.A.nnz), "blocks": list(model.cols)}
