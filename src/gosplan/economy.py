"""The one data model of gosplan: an `Economy`.

An economy is a set of *products* (goods and services with stable string ids and
units), a set of *activities* (techniques: each uses products and primary factors
per unit of its level and yields one or more products), and a set of primary
*factors* (labour of each kind, imports, land, ...). A symmetric input-output
table is the special case of one single-output activity per product; joint
production and alternative techniques are the general case the planner chooses
between. A multi-regional table is one economy whose products and activities
carry a region (ids such as ``DE/steel``).

Coefficients are held in ``scipy.sparse`` CSR arrays (per unit of activity
level), labels in pandas; the object is frozen, its arrays read-only, and a
change goes through :func:`dataclasses.replace`, which validates again. The
model refuses what it cannot interpret: negative or non-finite coefficients,
duplicate or empty ids, products nobody makes and activities that make nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.errors import (
    BalanceError,
    DuplicateIdError,
    SchemaError,
    UnknownIdError,
    UnproductiveError,
)

#: Relative tolerance of the balance checks of flow tables: a row or column may miss
#: its total by this share of the total (or by ``atol`` in the table's units).
BALANCE_RTOL = 1e-6

REGION_SEPARATOR = "/"

_PRODUCT_COLUMNS = {"unit": "", "region": "", "name": ""}
_ACTIVITY_COLUMNS = {"region": "", "name": "", "capacity": np.inf}
# a "signed" factor is an accounting row that may be negative (taxes less subsidies,
# operating surplus); every other coefficient of the model is a physical quantity >= 0
_FACTOR_COLUMNS = {"unit": "", "name": "", "available": np.inf, "signed": False}


def _frozen_csr(matrix: Any, shape: tuple[int, int], what: str) -> sp.csr_array:
    """A canonical, read-only float64 CSR array of the given shape."""
    if isinstance(matrix, pd.DataFrame):
        matrix = matrix.to_numpy(dtype=float)
    m = sp.csr_array(matrix, dtype=np.float64) if sp.issparse(matrix) else sp.csr_array(np.asarray(matrix, dtype=np.float64))
    if m.shape != shape:
        raise SchemaError(f"{what}: shape {m.shape} does not match the labels, expected {shape}")
    m = m.copy()
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    for arr in (m.data, m.indices, m.indptr):
        arr.flags.writeable = False
    return m


def _table(frame: Any, index_name: str, defaults: Mapping[str, Any], what: str) -> pd.DataFrame:
    """A label table with its id index checked and its default columns filled."""
    if isinstance(frame, pd.DataFrame):
        df = frame.copy()
    else:
        df = pd.DataFrame(index=pd.Index(list(frame)))
    ids = df.index
    if not all(isinstance(i, str) for i in ids):
        bad = next(i for i in ids if not isinstance(i, str))
        raise SchemaError(f"{what}: id {bad!r} is not a string; give every {what[:-1]} a text id")
    empty = [i for i in ids if not i.strip()]
    if empty:
        raise SchemaError(f"{what}: an id is empty; every {what[:-1]} needs a non-empty id")
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise DuplicateIdError(
            f"{what}: duplicate id(s) {', '.join(map(repr, dup[:10]))}; ids must be unique"
        )
    df.index = pd.Index(ids, dtype=object, name=index_name)
    for col, default in defaults.items():
        if col not in df.columns:
            if col == "region":
                df[col] = [i.split(REGION_SEPARATOR, 1)[0] if REGION_SEPARATOR in i else "" for i in ids]
            else:
                df[col] = default
    for col, default in defaults.items():
        if isinstance(default, bool):
            values = df[col].astype(object)
            df[col] = np.where(values.isna(), default, values).astype(bool)
        elif isinstance(default, float):
            df[col] = df[col].astype(float)
            if df[col].isna().any() or (df[col] < 0).any():
                bad = df.index[df[col].isna() | (df[col] < 0)][0]
                raise SchemaError(f"{what}: {col} of {bad!r} must be a number >= 0 (inf for none)")
        else:
            df[col] = df[col].astype(object).fillna(default).astype(str)
    return df


def _check_values(
    m: sp.csr_array, what: str, rows: pd.Index, cols: pd.Index, signed_rows: np.ndarray | None = None
) -> None:
    bad = ~np.isfinite(m.data)
    negative = m.data < 0
    if signed_rows is not None and signed_rows.any():
        row_of = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        negative &= ~signed_rows[row_of]
    bad |= negative
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        i = int(np.searchsorted(m.indptr, k, side="right") - 1)
        j = int(m.indices[k])
        kind = "not finite" if not np.isfinite(m.data[k]) else "negative"
        hint = (
            "; a factor that may be negative (taxes less subsidies, operating surplus) must be declared signed"
            if what in ("factor_use", "factors") and kind == "negative"
            else ""
        )
        raise SchemaError(
            f"{what}: coefficient at ({rows[i]!r}, {cols[j]!r}) is {kind} ({m.data[k]!r}); "
            f"coefficients must be finite and >= 0{hint}"
        )


@dataclass(frozen=True, eq=False)
class Economy:
    """Products, activities and factors with their coefficients.

    Parameters
    ----------
    products, activities, factors
        Label tables indexed by string id. Products have ``unit``, ``region`` and
        ``name``; activities ``region``, ``name`` and ``capacity`` (the most an
        activity can run, ``inf`` for no limit); factors ``unit``, ``name`` and
        ``available`` (``inf`` for no limit). A plain list of ids is accepted.
        A missing ``region`` is read from ids of the form ``REGION/name``.
    use, make
        Products x activities: input used and output yielded per unit of level.
    factor_use
        Factors x activities: primary input per unit of level.
    capital
        Products x activities: stock of each product tied up per unit of level.
    levels
        Base-year activity levels (the gross output of a source table), if known.
    final_demand
        Products x categories of final use (may be negative, e.g. inventories).
    final_demand_factor_use
        Factors x final-demand categories: factor use of final demand itself, not of
        any activity (pymrio's ``F_Y``: households' own emissions from heating and
        driving). Flows in the factor's unit; a factor or category not named is zero.
    name, meta
        A short name and provenance (source, year, units, notes).
    """

    products: pd.DataFrame
    activities: pd.DataFrame
    factors: pd.DataFrame
    use: sp.csr_array
    make: sp.csr_array
    factor_use: sp.csr_array
    capital: sp.csr_array | None = None
    levels: pd.Series | None = None
    final_demand: pd.DataFrame | None = None
    final_demand_factor_use: pd.DataFrame | None = None
    name: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        products = _table(self.products, "product", _PRODUCT_COLUMNS, "products")
        activities = _table(self.activities, "activity", _ACTIVITY_COLUMNS, "activities")
        factors = _table(self.factors, "factor", _FACTOR_COLUMNS, "factors")
        P, J, F = len(products), len(activities), len(factors)
        set_ = object.__setattr__
        set_(self, "products", products)
        set_(self, "activities", activities)
        set_(self, "factors", factors)
        for attr, shape, rows in (
            ("use", (P, J), products.index),
            ("make", (P, J), products.index),
            ("factor_use", (F, J), factors.index),
            ("capital", (P, J), products.index),
        ):
            value = getattr(self, attr)
            if value is None:
                continue
            m = _frozen_csr(value, shape, attr)
            signed = factors["signed"].to_numpy() if attr == "factor_use" else None
            _check_values(m, attr, rows, activities.index, signed_rows=signed)
            set_(self, attr, m)

        made = np.diff(self.make.indptr) > 0
        if not made.all():
            missing = products.index[~made]
            raise SchemaError(
                f"products {', '.join(map(repr, missing[:10]))}{' ...' if len(missing) > 10 else ''} "
                "are made by no activity; add an activity (or an import factor) that yields them, "
                "or drop them"
            )
        yields = np.bincount(self.make.indices, minlength=len(activities)) > 0
        if not yields.all():
            idle = activities.index[~yields]
            raise SchemaError(
                f"activities {', '.join(map(repr, idle[:10]))} yield no product; "
                "give each activity at least one output in `make`"
            )
        if self.levels is not None:
            set_(self, "levels", self._aligned_series(self.levels, activities.index, "levels"))
        if self.final_demand is not None:
            set_(self, "final_demand", self._aligned_frame(self.final_demand, products.index))
        if self.final_demand_factor_use is not None:
            set_(self, "final_demand_factor_use", self._final_factor_frame(self.final_demand_factor_use, factors.index))
        set_(self, "meta", dict(self.meta))

    # -- alignment helpers -------------------------------------------------
    @staticmethod
    def _aligned_series(values: Any, index: pd.Index, what: str) -> pd.Series:
        s = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else values.astype(float)
        if not isinstance(values, pd.Series):
            if len(s) != len(index):
                raise SchemaError(f"{what}: {len(s)} values for {len(index)} ids")
            s.index = index
        s = align(s, index, what)
        s.index = index  # one canonical (object) index, whatever dtype the caller's labels had
        if not np.isfinite(s.to_numpy()).all() or (s.to_numpy() < 0).any():
            bad = s.index[~np.isfinite(s.to_numpy()) | (s.to_numpy() < 0)][0]
            raise SchemaError(f"{what}: value of {bad!r} is {s[bad]!r}; it must be finite and >= 0")
        s.name = what
        return s

    @staticmethod
    def _aligned_frame(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError("final_demand must be a DataFrame of products x categories")
        df = frame.astype(float)
        df = align(df, index, "final_demand")
        df.index = index
        df.columns = pd.Index([str(c) for c in df.columns], dtype=object, name="category")
        if df.columns.duplicated().any():
            raise DuplicateIdError(f"final_demand: duplicate category {df.columns[df.columns.duplicated()][0]!r}")
        values = df.to_numpy()
        if not np.isfinite(values).all():
            i, j = np.argwhere(~np.isfinite(values))[0]
            raise SchemaError(
                f"final_demand: value at ({df.index[i]!r}, {df.columns[j]!r}) is not finite; fill it with a number"
            )
        return df

    def _final_factor_frame(self, frame: pd.DataFrame, factors: pd.Index) -> pd.DataFrame:
        """``final_demand_factor_use`` on every factor (rows) and final-demand category (columns)."""
        what = "final_demand_factor_use"
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"{what} must be a DataFrame of factors x final-demand categories")
        if self.final_demand is None:
            raise SchemaError(f"{what} needs final_demand: its columns are final-demand categories")
        df = frame.astype(float)
        df.columns = pd.Index([str(c) for c in df.columns], dtype=object)
        for axis, labels, kind in ((df.index, factors, "factor"), (df.columns, self.final_demand.columns, "category")):
            if axis.duplicated().any():
                raise DuplicateIdError(f"{what}: duplicate {kind} {axis[axis.duplicated()][0]!r}")
            unknown = axis.difference(labels)
            if len(unknown):
                raise UnknownIdError(f"{what}: unknown {kind}(s) {list(map(str, unknown[:10]))}; "
                                     f"the economy's are {list(map(str, labels[:20]))}")
        df = df.reindex(index=factors, columns=self.final_demand.columns, fill_value=0.0)
        df.index.name, df.columns.name = "factor", "category"
        values = df.to_numpy()
        if not np.isfinite(values).all():
            i, j = np.argwhere(~np.isfinite(values))[0]
            raise SchemaError(f"{what}: value at ({df.index[i]!r}, {df.columns[j]!r}) is not finite; fill it with a number")
        return df

    # -- labels ------------------------------------------------------------
    @property
    def product_ids(self) -> pd.Index:
        return self.products.index

    @property
    def activity_ids(self) -> pd.Index:
        return self.activities.index

    @property
    def factor_ids(self) -> pd.Index:
        return self.factors.index

    @property
    def regions(self) -> pd.Index:
        r = pd.unique(pd.concat([self.products["region"], self.activities["region"]]).to_numpy())
        return pd.Index([x for x in r if x], dtype=object, name="region")

    @property
    def shape(self) -> dict[str, int]:
        return {"products": len(self.products), "activities": len(self.activities), "factors": len(self.factors)}

    def __repr__(self) -> str:
        s = self.shape
        extra = f", regions={len(self.regions)}" if len(self.regions) else ""
        return (
            f"<Economy {self.name!r}: {s['products']} products, {s['activities']} activities, "
            f"{s['factors']} factors{extra}, nnz(use)={self.use.nnz}>"
        )

    # -- the symmetric (one activity per product) view ---------------------
    @cached_property
    def _square_map(self) -> np.ndarray | None:
        """For each product, the one activity that makes it; None if not square."""
        P, J = self.make.shape
        if P != J or self.make.nnz != P:
            return None
        csc = self.make.tocsc()
        if (np.diff(csc.indptr) != 1).any():
            return None
        order = np.empty(P, dtype=np.int64)
        order[csc.indices] = np.arange(J)
        return order if (np.diff(self.make.indptr) == 1).all() else None

    @property
    def is_square(self) -> bool:
        """True when every product has exactly one activity and every activity one output."""
        return self._square_map is not None

    def _require_square(self, what: str) -> np.ndarray:
        order = self._square_map
        if order is None:
            raise SchemaError(
                f"{what} needs one single-output activity per product; this economy has "
                f"{len(self.activities)} activities for {len(self.products)} products "
                "(joint production or alternative techniques): use gosplan.planning to choose "
                "techniques, or select one activity per product first"
            )
        return order

    @cached_property
    def _output_scale(self) -> np.ndarray:
        """Output per unit of level of each product's activity (product order)."""
        order = self._require_square("the input-output view")
        diag = np.asarray(self.make[np.arange(len(order)), order]).ravel()
        return diag

    def _per_output(self, m: sp.csr_array) -> sp.csr_array:
        """``m`` (rows x activities) per unit of output, its columns in product order.

        The column ids are renamed in place of SciPy's column indexing and product with
        a diagonal (3.6 s for 5 * 10^7 entries, against 1 s here, most of it the first
        touch of the new values), and the result keeps ``m``'s canonical form.
        """
        order = self._require_square("the input-output view")
        identity = bool((order == np.arange(len(order))).all())
        if identity:
            cols = m.indices
        else:
            product_of = np.empty_like(order)
            product_of[order] = np.arange(len(order))  # activity -> the product it makes
            cols = product_of[m.indices].astype(m.indices.dtype)
        data = np.empty_like(m.data, dtype=np.float64)
        step = 1 << 20  # in chunks: whole-size temporaries cost more than the arithmetic
        for s in range(0, len(data), step):
            np.divide(m.data[s : s + step], self._output_scale[cols[s : s + step]], out=data[s : s + step])
        # m's arrays are frozen, so its column ids and row pointers can be shared
        scaled = sp.csr_array((data, cols, m.indptr), shape=m.shape, copy=False)
        if not identity:
            scaled.sort_indices()
        scaled.has_canonical_format = bool(m.has_canonical_format)
        for arr in (scaled.data, scaled.indices, scaled.indptr):
            arr.flags.writeable = False
        return scaled

    @cached_property
    def A(self) -> sp.csr_array:
        """Technical coefficients, products x products: input of i per unit of output of j."""
        return self._per_output(self.use)

    @cached_property
    def B(self) -> sp.csr_array:
        """Factor coefficients, factors x products: factor input per unit of output of j."""
        return self._per_output(self.factor_use)

    @cached_property
    def K(self) -> sp.csr_array | None:
        """Capital coefficients, products x products, or None where not given."""
        return None if self.capital is None else self._per_output(self.capital)

    @property
    def x(self) -> pd.Series:
        """Gross output per product in the base year (``make @ levels``)."""
        if self.levels is None:
            raise SchemaError(f"economy {self.name!r} has no base-year levels (gross output)")
        out = pd.Series(self.make @ self.levels.to_numpy(), index=self.product_ids, name="gross_output")
        return out

    @property
    def Y(self) -> pd.DataFrame:
        """Final demand, products x categories, as in the source table."""
        if self.final_demand is None:
            raise SchemaError(f"economy {self.name!r} has no final demand")
        return self.final_demand

    # -- flows (the source table back) -------------------------------------
    def flows(self) -> dict[str, pd.DataFrame | pd.Series]:
        """Intermediate flows Z, factor flows and gross output at the base-year levels."""
        if self.levels is None:
            raise SchemaError(f"economy {self.name!r} has no base-year levels: flows are undefined")
        lv = sp.diags_array(self.levels.to_numpy())
        return {
            "Z": pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(self.use @ lv), self.product_ids, self.activity_ids),
            "factors": pd.DataFrame.sparse.from_spmatrix(
                sp.csr_matrix(self.factor_use @ lv), self.factor_ids, self.activity_ids
            ),
            "x": self.x,
        }

    # -- slicing -------------------------------------------------------------
    def select(
        self,
        regions: Iterable[str] | str | None = None,
        products: Iterable[str] | None = None,
        activities: Iterable[str] | None = None,
    ) -> Economy:
        """The sub-economy of some regions, products or activities.

        Inputs from products outside the selection are dropped from ``use`` (they
        become, in effect, primary inputs the caller must account for); activities
        are kept where at least one of their outputs is kept.
        """
        pmask = np.ones(len(self.products), dtype=bool)
        if regions is not None:
            regions = [regions] if isinstance(regions, str) else list(regions)
            unknown = sorted(set(regions) - set(self.regions))
            if unknown:
                raise UnknownIdError(f"unknown region(s) {unknown}; known: {list(self.regions)}")
            pmask &= self.products["region"].isin(regions).to_numpy()
        if products is not None:
            wanted = pd.Index(list(products))
            missing = wanted.difference(self.product_ids)
            if len(missing):
                raise UnknownIdError(f"unknown product(s) {list(missing[:10])}")
            pmask &= self.product_ids.isin(wanted)
        keep_p = np.flatnonzero(pmask)
        made = self.make[keep_p, :]
        amask = np.bincount(sp.csr_array(made).indices, minlength=len(self.activities)) > 0
        if activities is not None:
            wanted = pd.Index(list(activities))
            missing = wanted.difference(self.activity_ids)
            if len(missing):
                raise UnknownIdError(f"unknown activit(ies) {list(missing[:10])}")
            amask &= self.activity_ids.isin(wanted)
        keep_a = np.flatnonzero(amask)
        # products whose only makers were dropped cannot stay
        still_made = np.diff(sp.csr_array(self.make[keep_p][:, keep_a]).indptr) > 0
        keep_p = keep_p[still_made]
        return dataclasses.replace(
            self,
            products=self.products.iloc[keep_p],
            activities=self.activities.iloc[keep_a],
            use=self.use[keep_p][:, keep_a],
            make=self.make[keep_p][:, keep_a],
            factor_use=self.factor_use[:, keep_a],
            capital=None if self.capital is None else self.capital[keep_p][:, keep_a],
            levels=None if self.levels is None else self.levels.iloc[keep_a],
            final_demand=None if self.final_demand is None else self.final_demand.iloc[keep_p],
        )

    # -- productivity ------------------------------------------------------------
    def check_productive(self, tol: float = 1e-9) -> float:
        """Check the Hawkins-Simon condition: spectral radius of ``A`` below one.

        Returns an upper bound of the spectral radius (the exact value where the
        cheap bound does not settle it). Raises :class:`UnproductiveError` naming
        the products of every strongly connected block whose own spectral radius is
        at least ``1 - tol``: those products cannot, among themselves, yield a net
        surplus, whatever the rest of the economy does.

        The spectral radius of a non-negative matrix is at most its largest column
        sum and equals the largest spectral radius of its irreducible diagonal
        blocks (Perron-Frobenius; e.g. Miller and Blair 2009, app. A), so a table
        with positive value added everywhere is settled in O(nnz).
        """
        return check_productive(self.A, self.product_ids, tol=tol)


def check_productive(A: sp.csr_array, labels: pd.Index, tol: float = 1e-9) -> float:
    """Spectral radius check of a non-negative square matrix; see Economy.check_productive."""
    from scipy.sparse.csgraph import connected_components

    n = A.shape[0]
    if n == 0:
        return 0.0
    colmax = float(np.max(np.asarray(A.sum(axis=0)).ravel(), initial=0.0))
    rowmax = float(np.max(np.asarray(A.sum(axis=1)).ravel(), initial=0.0))
    bound = min(colmax, rowmax)
    if bound < 1 - tol:
        return bound
    ncomp, comp = connected_components(A, directed=True, connection="strong")
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(ncomp + 1))
    bad_blocks: list[list[str]] = []
    radius = 0.0
    for c in range(ncomp):
        members = order[starts[c] : starts[c + 1]]
        block = A[members][:, members]
        if block.nnz == 0:
            continue
        r = _block_radius(block)
        radius = max(radius, r)
        if r >= 1 - tol:
            bad_blocks.append([str(labels[i]) for i in members])
    if bad_blocks:
        shown = "; ".join(
            "{" + ", ".join(b[:8]) + (f", ... ({len(b)} in all)" if len(b) > 8 else "") + "}" for b in bad_blocks[:5]
        )
        raise UnproductiveError(
            f"the economy is not productive: spectral radius of A is {radius:.6g} >= 1; "
            f"these products use more of themselves than they yield: {shown}. "
            "Check the units and totals of their rows and columns (gross output too small?)",
            blocks=bad_blocks,
            radius=radius,
        )
    return radius


def _block_radius(block: sp.csr_array) -> float:
    n = block.shape[0]
    if n <= 500:
        return float(np.max(np.abs(np.linalg.eigvals(block.toarray()))))
    from scipy.sparse.linalg import eigs

    vals = eigs(sp.csr_matrix(block), k=1, which="LM", return_eigenvectors=False, tol=1e-10, maxiter=10_000)
    return float(np.abs(vals).max())


def align(obj: pd.Series | pd.DataFrame, index: pd.Index, what: str) -> pd.Series | pd.DataFrame:
    """Reorder a labelled object to ``index``, naming missing and unexpected labels."""
    labels = obj.index
    if labels.duplicated().any():
        raise DuplicateIdError(f"{what}: duplicate label {labels[labels.duplicated()][0]!r}")
    if not labels.equals(index):
        missing = index.difference(labels)
        unexpected = labels.difference(index)
        if len(missing) or len(unexpected):
            parts = []
            if len(unexpected):
                parts.append(f"unknown id(s) {list(map(str, unexpected[:10]))}")
            if len(missing):
                parts.append(f"missing id(s) {list(map(str, missing[:10]))}")
            raise UnknownIdError(f"{what}: labels do not match the economy: {'; '.join(parts)}")
        obj = obj.reindex(index)
    return obj


# -- constructors -----------------------------------------------------------------


def _labels(obj: Any, what: str) -> pd.Index:
    idx = pd.Index(obj, dtype=object)
    return idx


def from_coefficients(
    A: Any,
    B: Any | None = None,
    *,
    products: Any | None = None,
    factors: Any | None = None,
    final_demand: pd.DataFrame | None = None,
    levels: Any | None = None,
    capital: Any | None = None,
    name: str = "",
    meta: Mapping[str, Any] | None = None,
    final_demand_factor_use: pd.DataFrame | None = None,
) -> Economy:
    """A symmetric economy (one activity per product, id = product id) from coefficients.

    ``A`` is products x products (input of row product per unit of column product),
    ``B`` factors x products. Labelled DataFrames carry their own ids; arrays need
    ``products`` (and ``factors``) to name them.
    """
    if isinstance(A, pd.DataFrame):
        if not A.index.equals(A.columns):
            raise SchemaError("A: row and column labels differ; a symmetric table needs the same products on both")
        prod = A.index if products is None else products
        A_ = A.to_numpy(dtype=float)
    else:
        if products is None:
            raise SchemaError("from_coefficients: give `products` (ids) when A is not a labelled DataFrame")
        prod, A_ = products, A
    prod_table = prod if isinstance(prod, pd.DataFrame) else pd.DataFrame(index=_labels(prod, "products"))
    P = len(prod_table)
    if B is None:
        fac_table = pd.DataFrame(index=pd.Index([], dtype=object))
        B_ = sp.csr_array((0, P))
    elif isinstance(B, pd.DataFrame):
        B = align(B.T, prod_table.index, "B (columns)").T
        fac_table = factors if isinstance(factors, pd.DataFrame) else pd.DataFrame(index=B.index.astype(object))
        B_ = B.to_numpy(dtype=float)
    else:
        if factors is None:
            raise SchemaError("from_coefficients: give `factors` (ids) when B is not a labelled DataFrame")
        fac_table = factors if isinstance(factors, pd.DataFrame) else pd.DataFrame(index=_labels(factors, "factors"))
        B_ = B
    acts = prod_table[[c for c in ("region", "name") if c in prod_table.columns]].copy()
    acts.index = prod_table.index.astype(object)
    return Economy(
        products=prod_table,
        activities=acts,
        factors=fac_table,
        use=A_,
        make=sp.identity(P, format="csr"),
        factor_use=B_,
        capital=capital,
        levels=levels,
        final_demand=final_demand,
        final_demand_factor_use=final_demand_factor_use,
        name=name,
        meta=meta or {},
    )


def from_flows(
    Z: pd.DataFrame | Any,
    x: pd.Series | Any,
    factors: pd.DataFrame | None = None,
    final_demand: pd.DataFrame | None = None,
    *,
    products: Any | None = None,
    units: str | Mapping[str, str] | None = None,
    factor_units: Mapping[str, str] | None = None,
    signed: Iterable[str] | None = None,
    balance: str = "rows",
    rtol: float = BALANCE_RTOL,
    atol: float = 0.0,
    name: str = "",
    meta: Mapping[str, Any] | None = None,
) -> Economy:
    """A symmetric economy from an input-output table of flows.

    ``A[i, j] = Z[i, j] / x[j]`` and ``B[f, j] = factors[f, j] / x[j]`` (Leontief
    1936; Miller and Blair 2009, eq. 2.4). A product with zero gross output must
    have an empty column; its coefficients are zero.

    Parameters
    ----------
    Z : products x products intermediate flows (DataFrame, or array with ``products``).
    x : gross output per product.
    factors : factors x products primary inputs (compensation, hours, imports, ...).
    signed : factors whose flows may be negative (taxes less subsidies, operating surplus).
    final_demand : products x categories.
    balance : which balances to check: ``"rows"`` (Z 1 + Y 1 = x: needs final demand),
        ``"columns"`` (1'Z + 1'factors = x: needs every primary input), ``"both"`` or
        ``"none"``. A total may miss by ``rtol * x + atol``.
    """
    if isinstance(Z, pd.DataFrame):
        if not Z.index.equals(Z.columns):
            missing = Z.index.difference(Z.columns)
            extra = Z.columns.difference(Z.index)
            raise SchemaError(
                f"Z: row and column labels differ (rows only: {list(missing[:5])}, columns only: {list(extra[:5])})"
            )
        prod = Z.index if products is None else pd.Index(products)
        Zs = sp.csr_array(Z.to_numpy(dtype=float))
    else:
        if products is None:
            raise SchemaError("from_flows: give `products` (ids) when Z is not a labelled DataFrame")
        prod = pd.Index(products)
        Zs = sp.csr_array(Z, dtype=np.float64)
    prod = prod.astype(object)
    P = len(prod)
    if Zs.shape != (P, P):
        raise SchemaError(f"Z: shape {Zs.shape} does not match {P} products")
    xs = pd.Series(x, dtype=float) if not isinstance(x, pd.Series) else x.astype(float)
    if not isinstance(x, pd.Series):
        xs.index = prod
    xs = align(xs, prod, "x (gross output)")
    xv = xs.to_numpy()
    if not np.isfinite(xv).all() or (xv < 0).any():
        bad = prod[~np.isfinite(xv) | (xv < 0)][0]
        raise SchemaError(f"x: gross output of {bad!r} is {xs[bad]!r}; it must be finite and >= 0")
    _check_values(sp.csr_array(Zs), "Z", prod, prod)

    if factors is not None:
        if not isinstance(factors, pd.DataFrame):
            raise SchemaError("factors must be a DataFrame of factors x products")
        fac = align(factors.T, prod, "factors (columns)").T.astype(float)
        F = sp.csr_array(fac.to_numpy())
        fac_ids = fac.index.astype(object)
        signed_ids = set(signed or ())
        unknown = signed_ids - set(fac_ids)
        if unknown:
            raise UnknownIdError(f"signed: unknown factor(s) {sorted(unknown)}")
        _check_values(F, "factors", fac_ids, prod, signed_rows=fac_ids.isin(list(signed_ids)))
    else:
        F = sp.csr_array((0, P))
        fac_ids = pd.Index([], dtype=object)

    colsum = np.asarray(Zs.sum(axis=0)).ravel() + np.asarray(F.sum(axis=0)).ravel()
    zero = xv == 0
    if (zero & (colsum != 0)).any():
        bad = prod[zero & (colsum != 0)][0]
        raise BalanceError(
            f"product {bad!r} has zero gross output but uses inputs ({colsum[prod.get_loc(bad)]:g}); "
            "fix its gross output or its column"
        )
    if balance not in ("rows", "columns", "both", "none"):
        raise SchemaError(f"balance must be 'rows', 'columns', 'both' or 'none', not {balance!r}")
    if balance in ("rows", "both"):
        if final_demand is None:
            raise SchemaError("balance='rows' needs final_demand; pass it or use balance='columns'/'none'")
        fd = align(final_demand.astype(float), prod, "final_demand")
        rows = np.asarray(Zs.sum(axis=1)).ravel() + fd.to_numpy().sum(axis=1)
        check_balance(rows, xv, prod, rtol, atol, "row", "intermediate + final use")
    if balance in ("columns", "both"):
        check_balance(colsum, xv, prod, rtol, atol, "column", "intermediate + primary inputs")

    inv = np.divide(1.0, xv, out=np.zeros_like(xv), where=xv > 0)
    scale = sp.diags_array(inv)
    A = Zs @ scale
    B = F @ scale
    if isinstance(units, str):
        unit_col = [units] * P
    elif units is not None:
        unit_col = [units.get(p, "") for p in prod]
    else:
        unit_col = [""] * P
    prod_table = pd.DataFrame({"unit": unit_col}, index=prod)
    fac_table = pd.DataFrame(
        {"unit": [(factor_units or {}).get(f, "") for f in fac_ids], "signed": fac_ids.isin(list(signed or ()))},
        index=fac_ids,
    )
    meta = dict(meta or {})
    meta.setdefault("balance_check", {"kind": balance, "rtol": rtol, "atol": atol})
    return from_coefficients(
        A,
        B,
        products=prod_table,
        factors=fac_table,
        final_demand=final_demand,
        levels=pd.Series(xv, index=prod),
        name=name,
        meta=meta,
    )


def check_balance(got: np.ndarray, x: np.ndarray, ids: pd.Index, rtol: float, atol: float, kind: str, what: str) -> None:
    """Raise :class:`BalanceError` naming the row or column whose ``what`` misses its total ``x`` most."""
    gap = np.abs(got - x)
    bad = gap > rtol * np.abs(x) + atol
    if bad.any():
        worst = int(np.argmax(np.where(bad, gap / np.maximum(np.abs(x), 1e-300), 0)))
        raise BalanceError(
            f"{int(bad.sum())} {kind}(s) of the flow table do not balance within rtol={rtol:g}, atol={atol:g}; "
            f"worst: {kind} {ids[worst]!r}: {what} = {got[worst]:.10g} but gross output = {x[worst]:.10g}. "
            f"Check the table, or pass rtol/atol for a rounded table, or balance='none'"
        )


Economy.from_flows = staticmethod(from_flows)  # type: ignore[attr-defined]
Economy.from_coefficients = staticmethod(from_coefficients)  # type: ignore[attr-defined]
