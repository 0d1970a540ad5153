"""Prices: the Leontief price model, cost push, price indices and the scissors index.

The price model is the dual of the quantity model: each product's price covers
its inputs at their prices, its primary inputs at their factor prices, a markup
and a tax, ``p_j = (1 + mu_j) (sum_i p_i a_ij + sum_f w_f b_fj) + t_j``
(Miller & Blair 2009, ch. 2, the price model).  Its solve is the transposed Leontief system
of :mod:`gosplan.linalg`.  Index formulas follow the ILO/IMF *Consumer Price
Index Manual* (2004), ch. 15; the scissors index is the ratio of the price index
of manufactured goods to that of agricultural goods, the measure of the Soviet
"scissors crisis" of 1923 (Carr, *The Interregnum 1923-1924*, 1954, ch. 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gosplan import datasets, linalg
from gosplan.errors import SchemaError, SourceError, UnknownIdError, UnproductiveError

__all__ = [
    "unit_costs",
    "leontief_prices",
    "cost_push",
    "laspeyres",
    "paasche",
    "fisher",
    "price_index",
    "scissors_index",
    "read_price_series",
    "find_series",
    "price_series",
    "observed_scissors",
]


def _per_product(economy, values, what: str, default: float) -> np.ndarray:
    """A mapping/Series over product ids as an array in product order (``default`` elsewhere)."""
    ids = economy.product_ids
    out = np.full(len(ids), default, dtype=np.float64)
    if values is None:
        return out
    if np.isscalar(values):
        out[:] = float(values)
        return out
    s = pd.Series(dict(values) if isinstance(values, Mapping) else values, dtype=float)
    unknown = s.index.difference(ids)
    if len(unknown):
        raise UnknownIdError(f"{what}: unknown product id(s) {list(unknown[:10])}; use Economy.product_ids")
    if s.isna().any():
        raise SchemaError(f"{what}: value of {s.index[s.isna()][0]!r} is not a number")
    out[ids.get_indexer(s.index)] = s.to_numpy()
    return out


def unit_costs(economy, factor_prices=None) -> np.ndarray:
    """Primary cost per unit of each product, ``v_j = sum_f w_f b_fj``.

    ``factor_prices`` maps factor id -> price (a wage rate per kind of labour,
    a rent); factors it does not name are not costed.  Default: price 1 for
    every factor measured in the products' own unit (or where units are not
    stated), i.e. ``B`` already in money per unit of a value table, so that a
    balanced table gives ``p = 1``; factors in other units (hours, persons,
    tonnes) are left out rather than added to money.
    """
    ids = economy.factor_ids
    if factor_prices is None:
        units = economy.factors["unit"]
        money = units.isin(set(economy.products["unit"])) | (units == "")
        w = money.to_numpy(dtype=np.float64)
    else:
        s = pd.Series(dict(factor_prices) if isinstance(factor_prices, Mapping) else factor_prices, dtype=float)
        unknown = s.index.difference(ids)
        if len(unknown):
            raise UnknownIdError(
                f"factor_prices: unknown factor id(s) {list(unknown[:10])}; the factors are {list(ids)[:20]}")
        if s.isna().any():
            raise SchemaError(f"factor_prices: price of {s.index[s.isna()][0]!r} is not a number")
        w = np.zeros(len(ids))
        w[ids.get_indexer(s.index)] = s.to_numpy()
    return np.asarray(economy.B.T @ w, dtype=np.float64).ravel()


def leontief_prices(economy, factor_prices=None, *, markup=None, taxes=None, method: str = "auto",
                    solver=None, **options) -> pd.Series:
    """Prices that cover costs: ``p = (p A + w B)(I + diag(mu)) + t``.

    Miller & Blair (2009), ch. 2 (the Leontief price model, in row-vector form
    ``p (I - A) = v``), with optional markups ``mu`` on unit cost
    (Sraffa's uniform profit rate is a constant ``mu``) and specific taxes ``t``
    per unit of output.

    Parameters
    ----------
    economy : Economy (symmetric).
    factor_prices : mapping factor -> price (e.g. wage per hour of each kind of
        labour); default 1 for every factor in the products' money unit (see
        :func:`unit_costs`).
    markup : mapping product -> rate on unit cost, or one rate for all.
    taxes : mapping product -> tax per unit of output.
    solver : a factorization of ``I - A`` (:func:`gosplan.analysis.prepare`);
        not usable with a markup, which changes the matrix.

    Returns
    -------
    Series of prices over products.
    """
    from gosplan.economy import check_productive

    v = unit_costs(economy, factor_prices)
    t = _per_product(economy, taxes, "taxes", 0.0)
    if markup is None:
        if solver is None:
            economy.check_productive()
            solver = linalg.factorize(economy.A, method, **options)
        p = solver.solve(v + t, transpose=True).x
    else:
        if solver is not None:
            raise SchemaError("leontief_prices: a markup changes the matrix; do not pass a solver with it")
        mu = _per_product(economy, markup, "markup", 0.0)
        if (mu <= -1).any():
            raise SchemaError(f"markup of {economy.product_ids[np.argmax(mu <= -1)]!r} is <= -100 %")
        import scipy.sparse as sp

        scaled = sp.csr_array(economy.A @ sp.diags_array(1.0 + mu))
        try:
            check_productive(scaled, economy.product_ids)
        except UnproductiveError as exc:
            raise UnproductiveError(
                f"with these markups no prices cover costs: {exc}", blocks=exc.blocks, radius=exc.radius
            ) from exc
        p = linalg.solve(scaled, v * (1.0 + mu) + t, method, transpose=True, **options).x
    return pd.Series(np.asarray(p, dtype=np.float64), index=economy.product_ids, name="price")


def cost_push(economy, product: str, *, cost: float = 0.0, inputs=None, factor_inputs=None,
              factor_prices=None, method: str = "auto", solver=None, **options) -> pd.DataFrame:
    """What a change of one product's unit cost or technique does to every price.

    The product's activity pays ``cost`` more primary cost per unit, and/or uses
    new input coefficients ``inputs`` (product -> a_ij) and factor coefficients
    ``factor_inputs`` (factor -> b_fj), replacing those named.  Prices follow
    from the price model (Miller & Blair 2009, ch. 2, cost-push analysis).  A new technique changes one column of ``A``: the new prices
    come from the existing factorization by the Sherman-Morrison formula,
    ``p' = q + z (u.q) / (1 - u.z)`` with ``q = (v + dv) (I - A)^{-1}``,
    ``z = e_j (I - A)^{-1}`` and ``u`` the change of the column.

    Returns
    -------
    DataFrame over products with columns ``base``, ``new``, ``change`` and
    ``percent``.
    """
    ids = economy.product_ids
    if product not in ids:
        raise UnknownIdError(f"cost_push: unknown product {product!r}; use Economy.product_ids")
    j = ids.get_loc(product)
    n = len(ids)
    v = unit_costs(economy, factor_prices)
    u = np.zeros(n)
    if inputs is not None:
        new = _per_product(economy, inputs, "inputs", np.nan)
        named = ~np.isnan(new)
        old = economy.A[:, [j]].toarray().ravel()
        if (new[named] < 0).any():
            raise SchemaError("inputs: coefficients must be >= 0")
        u[named] = new[named] - old[named]
    dv = float(cost)
    if factor_inputs is not None:
        fs = pd.Series(dict(factor_inputs), dtype=float)
        unknown = fs.index.difference(economy.factor_ids)
        if len(unknown):
            raise UnknownIdError(f"factor_inputs: unknown factor id(s) {list(unknown)}")
        w = pd.Series(1.0, index=economy.factor_ids) if factor_prices is None else \
            pd.Series(dict(factor_prices), dtype=float).reindex(economy.factor_ids, fill_value=0.0)
        old_b = economy.B[:, [j]].toarray().ravel()
        rows = economy.factor_ids.get_indexer(fs.index)
        dv += float(np.sum(w.to_numpy()[rows] * (fs.to_numpy() - old_b[rows])))
    if solver is None:
        economy.check_productive()
        solver = linalg.factorize(economy.A, method, **options)
    rhs = np.zeros((n, 2))
    rhs[:, 0] = v
    rhs[j, 1] = 1.0
    sol = np.asarray(solver.solve(rhs, transpose=True).x, dtype=np.float64)
    base, z = sol[:, 0], sol[:, 1]
    q = base + dv * z
    if u.any():
        denom = 1.0 - float(u @ z)
        if denom <= 0:
            raise UnproductiveError(
                f"the new technique of {product!r} makes the economy unproductive "
                f"(1 - u.z = {denom:.3g} <= 0): it uses, directly and indirectly, more of itself than it yields")
        new = q + z * (float(u @ q) / denom)
    else:
        new = q
    change = new - base
    pct = np.divide(100.0 * change, base, out=np.zeros(n), where=base != 0)
    return pd.DataFrame({"base": base, "new": new, "change": change, "percent": pct}, index=ids)


# -- price indices -------------------------------------------------------------------


def _check_prices(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = frame.astype(float)
    values = frame.to_numpy()
    if np.isnan(values).any():
        i, j = np.argwhere(np.isnan(values))[0]
        raise SchemaError(
            f"{what}: {frame.columns[j]!r} has no value (NaN) in period {frame.index[i]!r}; "
            "fill or drop that period before computing an index")
    if (values < 0).any():
        i, j = np.argwhere(values < 0)[0]
        raise SchemaError(f"{what}: {frame.columns[j]!r} is negative in period {frame.index[i]!r}")
    return frame


def _quantities(quantities, prices: pd.DataFrame, period) -> np.ndarray:
    if isinstance(quantities, pd.DataFrame):
        q = _check_prices(quantities.reindex(columns=prices.columns), "quantities")
        if period not in q.index:
            raise UnknownIdError(f"quantities: no row for period {period!r}")
        return q.loc[period].to_numpy()
    s = pd.Series(quantities, dtype=float)
    unknown = s.index.difference(prices.columns)
    if len(unknown):
        raise UnknownIdError(f"quantities: product(s) {list(unknown[:10])} have no price series")
    s = s.reindex(prices.columns)
    if s.isna().any():
        raise SchemaError(f"quantities: no weight for {s.index[s.isna()][0]!r}")
    return s.to_numpy()


def _base_row(prices: pd.DataFrame, base) -> np.ndarray:
    if base not in prices.index:
        raise UnknownIdError(f"base period {base!r} is not among the periods {list(prices.index)[:12]}")
    return prices.loc[base].to_numpy()


def laspeyres(prices: pd.DataFrame, quantities, base) -> pd.Series:
    """Laspeyres price index: ``sum p_t q_0 / sum p_0 q_0`` (CPI Manual 2004, eq. 15.5).

    ``prices``: periods x products; ``quantities``: base-period quantities (a
    Series over products, or a periods x products DataFrame whose base row is used).
    """
    prices = _check_prices(prices, "prices")
    q0 = _quantities(quantities, prices, base)
    return pd.Series(prices.to_numpy() @ q0 / (_base_row(prices, base) @ q0), index=prices.index, name="laspeyres")


def paasche(prices: pd.DataFrame, quantities, base) -> pd.Series:
    """Paasche price index: ``sum p_t q_t / sum p_0 q_t`` (CPI Manual 2004, eq. 15.6).

    ``quantities``: periods x products (current quantities); a Series means
    fixed quantities, for which Paasche equals Laspeyres.
    """
    prices = _check_prices(prices, "prices")
    p0 = _base_row(prices, base)
    if isinstance(quantities, pd.DataFrame):
        Q = _check_prices(quantities.reindex(index=prices.index, columns=prices.columns), "quantities")
        values = (prices.to_numpy() * Q.to_numpy()).sum(axis=1) / (Q.to_numpy() @ p0)
    else:
        q = _quantities(quantities, prices, base)
        values = prices.to_numpy() @ q / (p0 @ q)
    return pd.Series(values, index=prices.index, name="paasche")


def fisher(prices: pd.DataFrame, quantities, base) -> pd.Series:
    """Fisher ideal price index: the geometric mean of Laspeyres and Paasche (CPI Manual 2004, eq. 15.12)."""
    return np.sqrt(laspeyres(prices, quantities, base) * paasche(prices, quantities, base)).rename("fisher")


_FORMULAS = {"laspeyres": laspeyres, "paasche": paasche, "fisher": fisher}


def price_index(prices: pd.DataFrame, quantities, base, groups: Mapping[str, list] | None = None,
                formula: str = "laspeyres") -> pd.DataFrame:
    """A price index per product group (periods x groups), 1 in the base period.

    ``groups`` maps a group name to its product ids (default: one group of all
    products); ``formula`` is ``laspeyres``, ``paasche`` or ``fisher``.
    """
    if formula not in _FORMULAS:
        raise SchemaError(f"formula must be one of {list(_FORMULAS)}, not {formula!r}")
    groups = {"all": list(prices.columns)} if groups is None else groups
    out = {}
    for name, members in groups.items():
        missing = [m for m in members if m not in prices.columns]
        if missing:
            raise UnknownIdError(f"group {name!r}: product(s) {missing[:10]} have no price series")
        q = quantities[members] if isinstance(quantities, pd.DataFrame) else pd.Series(quantities, dtype=float).reindex(members)
        out[name] = _FORMULAS[formula](prices[members], q, base)
    return pd.DataFrame(out, index=prices.index)


def scissors_index(up: pd.Series, down: pd.Series, base=None) -> pd.DataFrame:
    """The scissors: the price index of one group over another's, against a base period.

    ``ratio_t = (up_t / up_base) / (down_t / down_base)``; above 1 the terms of
    trade have moved against the ``down`` group (in 1923: the peasants, who
    had to sell ~3 times as much grain for the same manufactured goods as in
    1913; Carr 1954, ch. 1).  Without ``base`` the series are taken as indices
    on a common base already (e.g. 1913 = 100).

    Returns
    -------
    DataFrame over the periods where both series have a value, with columns
    ``up``, ``down`` (rebased to 1 in the base period) and ``ratio``.
    """
    for name, s in (("up", up), ("down", down)):
        s = pd.Series(s)
        if s.isna().any():
            raise SchemaError(
                f"scissors_index: the {name} series {s.name or ''!s} has no value (NaN) in period "
                f"{s.index[s.isna()][0]!r}; drop the period or give its value")
        if (s <= 0).any():
            raise SchemaError(f"scissors_index: the {name} series is not positive in period {s.index[s <= 0][0]!r}")
    both = up.index.intersection(down.index)
    if base is not None:
        if base not in both:
            raise UnknownIdError(f"scissors_index: base period {base!r} is not in both series")
        u, d = up / up[base], down / down[base]
    else:
        u, d = up, down
    u, d = u.reindex(both).astype(float), d.reindex(both).astype(float)
    frame = pd.DataFrame({"up": u, "down": d, "ratio": u / d}, index=both)
    return frame.sort_index()


# -- observed price series (long CSV: date, series, value, ...) ------------------------

_NUMBER = re.compile(r"^\s*([<>]=?|~)?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def read_price_series(path) -> pd.DataFrame:
    """Read a long table of observed series (``date``, ``series``, ``value`` and any notes), from
    a CSV file or a shipped series by name (``"ussr_1922_1924"``).

    ``value`` is parsed strictly: a number, or a bound such as ``>3`` (kept in
    the columns ``bound`` = ``">"`` and ``bound_value`` = 3, with ``value``
    empty, because "over 3" is not the number 3).  Anything else, or an empty
    cell, raises :class:`SchemaError` naming the file and line.
    """
    path = datasets.resolve(path, "prices")
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:
        raise SourceError(f"{path}: cannot be read as CSV: {exc}") from exc
    missing = [c for c in ("date", "series", "value") if c not in table.columns]
    if missing:
        raise SourceError(f"{path}: missing column(s) {missing}; a price series table needs date, series, value")
    values, bounds, bound_values = [], [], []
    for line, text in enumerate(table["value"], start=2):
        m = _NUMBER.match(text)
        if not m:
            raise SchemaError(f"{path} line {line}: value {text!r} of series {table['series'][line - 2]!r} "
                              "is not a number (nor a bound such as '>3')")
        number = float(m.group(2))
        if m.group(1) and m.group(1) != "~":
            values.append(np.nan)
            bounds.append(m.group(1))
            bound_values.append(number)
        else:
            values.append(number)
            bounds.append("")
            bound_values.append(np.nan)
    table["value"] = values
    table["bound"] = bounds
    table["bound_value"] = bound_values
    table["period"] = [_period(d, path, i + 2) for i, d in enumerate(table["date"])]
    return table


def _period(text: str, path, line: int) -> pd.Timestamp:
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return pd.to_datetime(text, format=fmt)
        except ValueError:
            continue
    raise SchemaError(f"{path} line {line}: date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")


def find_series(table: pd.DataFrame, token: str) -> str:
    """The one series name matching ``token``: exact, or sharing its stem (``industry`` -> ``industrial_...``).

    Among several matches, price indices (``*_price_index``) are preferred.
    """
    names = list(pd.unique(table["series"]))
    if token in names:
        return token
    stem = token.lower()[: max(5, len(token) - 2)]
    hits = [n for n in names if any(w.startswith(stem) for w in n.lower().split("_"))]
    if len(hits) > 1:
        hits = [n for n in hits if n.endswith("price_index")] or hits
    if len(hits) != 1:
        raise UnknownIdError(
            f"series {token!r} matches {hits if hits else 'none'} of the series {names}; give the exact name")
    return hits[0]


def price_series(table: pd.DataFrame, name: str, *, with_base: bool = True) -> pd.Series:
    """One numeric series by period; the base period of a ``base`` column ``YYYY=100`` is added as 100.

    A period holding only a bound (``>3``) is not a price: it is left out here
    (read it from the table's ``bound`` column).  An empty value raises.
    """
    rows = table[(table["series"] == name) & (table["bound"] == "")]
    if rows.empty:
        raise UnknownIdError(f"no numeric values for series {name!r}")
    s = pd.Series(rows["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["period"]), name=name)
    if s.isna().any():
        raise SchemaError(f"series {name!r} has no value (NaN) in period {s.index[s.isna()][0].date()}")
    if with_base and "base" in rows.columns:
        bases = pd.unique(rows["base"])
        m = re.fullmatch(r"\s*(\d{4})\s*=\s*(100|1)\s*", bases[0]) if len(bases) == 1 else None
        if m:
            period = pd.Timestamp(f"{m.group(1)}-01-01")
            if period not in s.index:
                s.loc[period] = float(m.group(2))
    return s.sort_index()


def observed_scissors(table: pd.DataFrame, up: str = "industry", down: str = "agriculture", base=None,
                      *, barter: str | None = None):
    """The scissors from a table of observed series (see :func:`read_price_series`).

    Returns ``(frame, bounds, extra)``: the :func:`scissors_index` frame of the
    ``up`` and ``down`` price indices (with their common base period added, e.g.
    1913 = 100, so that the ratio starts at 1); the published lower bounds of
    the ratio (rows such as ``>3`` of a ``ratio*`` series); and, with
    ``barter``, that physical terms-of-trade series rebased to its first period
    (e.g. pounds of rye per arshin of cloth, 1913 = 1).
    """
    up_s = price_series(table, find_series(table, up))
    down_s = price_series(table, find_series(table, down))
    frame = scissors_index(up_s, down_s, base)
    frame.attrs.update(up=up_s.name, down=down_s.name)
    rows = table[(table["bound"] == ">") & table["series"].str.startswith("ratio")]
    bounds = pd.Series(rows["bound_value"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["period"]),
                       name="ratio_lower_bound").sort_index()
    extra = {}
    if barter is not None:
        s = price_series(table, find_series(table, barter), with_base=False)
        extra[f"{s.name} ({s.index[0].year} = 1)"] = s / s.iloc[0]
    return frame, bounds, extra
