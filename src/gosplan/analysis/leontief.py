"""Leontief (demand-driven) quantity analysis of an Economy: what a final demand requires.

Gross output for any number of final-demand columns, output and factor
multipliers, labour values (vertically integrated labour per product, by kind),
and the footprints and consumption-based accounts of a multi-regional economy.
Definitions follow Miller & Blair, *Input-Output Analysis*, 2nd ed. (2009),
chapters 2 (the Leontief model), 3 (multiregional models) and 6 (multipliers),
and pymrio's ``tools/iomath.py`` (``calc_x``, ``calc_M``,
``calc_accounts``) so that results are directly comparable with pymrio's.

Every function is a formula on the economy's sparse ``A`` and ``B``: labels are
turned into arrays at the edge, the arrays go through one :mod:`gosplan.linalg`
solve (factored once, many right-hand sides), and the answer comes back
labelled.  No function forms the Leontief inverse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gosplan import linalg
from gosplan.errors import SchemaError, UnknownIdError

__all__ = [
    "prepare",
    "demand_matrix",
    "gross_output",
    "output_multipliers",
    "factor_multipliers",
    "multipliers",
    "value_added_multipliers",
    "type_one_multipliers",
    "labour_values",
    "footprints",
    "consumption_accounts",
    "Accounts",
    "leontief_inverse",
    "final_demand_factor_use",
    "employment_multipliers",
    "type_one_value_added_multiplier",
    "hawkins_simon",
    "HawkinsSimon",
]

REGION_SEPARATOR = "/"


def prepare(economy, method: str = "auto", *, check: bool = True, **options) -> linalg.Factorization:
    """Factor ``I - A`` of a symmetric economy once, for reuse by the functions below.

    ``check`` runs :meth:`Economy.check_productive` first (O(nnz) when every
    column of ``A`` sums below 1), so a non-productive economy is reported by
    the products that cause it rather than as a failed solve.  ``options`` go to
    :func:`gosplan.linalg.factorize` (``tol``, ``maxiter``, ``allow_float32``, ...).
    """
    if check:
        economy.check_productive()
    return linalg.factorize(economy.A, method, **options)


def _solver(economy, solver, method, options, rhs=None):
    # a one-shot call knows how many columns it solves: auto may then skip the factorization
    return solver if solver is not None else prepare(economy, method, **{"rhs": rhs, **options})


def _unknown(kind: str, unknown: Iterable[Any], where: str, hint: str) -> UnknownIdError:
    unknown = list(unknown)
    shown = ", ".join(map(repr, unknown[:10])) + (f" ... ({len(unknown)} in all)" if len(unknown) > 10 else "")
    return UnknownIdError(f"{where}: unknown {kind} id(s) {shown}; {hint}")


def demand_matrix(economy, demand=None, *, where: str = "demand") -> pd.DataFrame:
    """Final demand as a products x columns DataFrame aligned to the economy.

    ``demand`` may be ``None`` (the economy's total final demand, one column
    ``"total"``), the name of a final-demand category, a list of category
    names, a Series or mapping product -> quantity, or a DataFrame of products x
    columns.  Products not named demand zero; a product the economy does not
    have raises :class:`UnknownIdError` naming it; NaN raises
    :class:`SchemaError`.
    """
    ids = economy.product_ids
    if demand is None:
        Y = economy.Y
        return pd.DataFrame({"total": Y.sum(axis=1)}, index=ids)
    if isinstance(demand, str) or (isinstance(demand, list) and all(isinstance(c, str) for c in demand)
                                   and not isinstance(demand, pd.Series)):
        cats = [demand] if isinstance(demand, str) else demand
        Y = economy.Y
        missing = [c for c in cats if c not in Y.columns]
        if missing:
            raise _unknown("final-demand category", missing, where,
                           f"the categories are {list(Y.columns)[:20]}")
        return Y[cats].copy()
    if isinstance(demand, Mapping):
        demand = pd.Series(dict(demand), dtype=float)
    if isinstance(demand, pd.Series):
        frame = demand.to_frame(demand.name if demand.name is not None else "demand")
    elif isinstance(demand, pd.DataFrame):
        frame = demand
    else:
        raise SchemaError(f"{where}: give a Series, DataFrame, mapping or category name, not {type(demand).__name__}")
    frame = frame.astype(float)
    if frame.index.duplicated().any():
        raise SchemaError(f"{where}: product {frame.index[frame.index.duplicated()][0]!r} appears twice")
    unknown = frame.index.difference(ids)
    if len(unknown):
        raise _unknown("product", unknown, where, "use the economy's product ids (Economy.product_ids)")
    values = frame.to_numpy()
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        raise SchemaError(f"{where}: quantity of {frame.index[i]!r} in column {frame.columns[j]!r} is not a number")
    return frame.reindex(ids, fill_value=0.0)


def gross_output(economy, demand=None, *, method: str = "auto", solver=None, **options):
    """Gross output ``x`` that meets final demand ``d``: ``x = (I - A)^{-1} d``.

    Miller & Blair (2009), ch. 2; pymrio ``calc_x_from_L``.  Solves for all
    demand columns with one factorization.

    Parameters
    ----------
    economy : Economy (symmetric: one activity per product)
    demand : see :func:`demand_matrix`; default the economy's total final demand.
    method, options : passed to :func:`gosplan.linalg.factorize`.
    solver : a factorization from :func:`prepare`, to reuse.

    Returns
    -------
    Series (one column of demand, a Series given) or DataFrame products x columns.
    """
    D = demand_matrix(economy, demand)
    res = _solver(economy, solver, method, options, D.shape[1]).solve(D.to_numpy())
    out = pd.DataFrame(np.asarray(res.x, dtype=np.float64), index=economy.product_ids, columns=D.columns)
    if isinstance(demand, (pd.Series, Mapping, str)) or demand is None:
        s = out.iloc[:, 0]
        s.name = "gross_output" if demand is None else s.name
        return s
    return out


def leontief_inverse(economy, *, check: bool = True) -> pd.DataFrame:
    """The dense Leontief inverse ``L = (I - A)^{-1}``, labelled, on explicit request only.

    Costs ``n^2`` memory and about ``2 n^3`` flops (Miller & Blair 2009, ch. 2);
    every other function here solves with a factorization instead.  ``check``
    runs :meth:`Economy.check_productive` first, as :func:`prepare` does: the
    inverse of a non-productive economy exists but has negative entries and means
    nothing, so it is refused with :class:`UnproductiveError` naming the products.
    """
    if check:
        economy.check_productive()
    L = linalg.leontief_inverse(economy.A)
    return pd.DataFrame(L, index=economy.product_ids, columns=economy.product_ids)


def _factor_rows(economy, factors, where: str) -> list[str]:
    ids = economy.factor_ids
    if factors is None:
        return list(ids)
    factors = [factors] if isinstance(factors, str) else list(factors)
    unknown = [f for f in factors if f not in ids]
    if unknown:
        raise _unknown("factor", unknown, where, f"the factors are {list(ids)[:20]}")
    return factors


def _factor_coefficients(economy, rows: list[str]):
    """The rows of ``B`` for the named factors, in that order (sparse)."""
    return economy.B[[economy.factor_ids.get_loc(f) for f in rows]]


def factor_multipliers(economy, factors=None, *, method: str = "auto", solver=None, **options) -> pd.DataFrame:
    """Total (direct + indirect) factor use per unit of final demand: ``M = B (I - A)^{-1}``.

    Miller & Blair (2009), ch. 6 (income and employment multipliers) and
    pymrio ``calc_M`` (``M = S L``).  Computed as the transposed solve
    ``(I - A)^T M^T = B^T``: one right-hand side per factor, never ``L``.

    Returns
    -------
    DataFrame factors x products.
    """
    rows = _factor_rows(economy, factors, "factor_multipliers")
    B = _factor_coefficients(economy, rows).toarray()
    res = _solver(economy, solver, method, options, B.shape[0]).solve(B.T, transpose=True)
    return pd.DataFrame(np.asarray(res.x, dtype=np.float64).T.reshape(len(rows), -1),
                        index=pd.Index(rows, name="factor"), columns=economy.product_ids)


def output_multipliers(economy, *, method: str = "auto", solver=None, **options) -> pd.Series:
    """Simple output multipliers: column sums of the Leontief inverse, ``1' (I - A)^{-1}``.

    Miller & Blair (2009), ch. 6; ONS publishes them as "output
    multipliers" in its Input-Output Analytical Tables.
    """
    n = len(economy.product_ids)
    res = _solver(economy, solver, method, options, 1).solve(np.ones(n), transpose=True)
    return pd.Series(np.asarray(res.x, dtype=np.float64), index=economy.product_ids, name="output_multiplier")


def multipliers(economy, factors=None, *, method: str = "auto", solver=None,
                **options) -> tuple[pd.Series, pd.DataFrame]:
    """:func:`output_multipliers` and :func:`factor_multipliers` (for ``factors``,
    default all) from one transposed solve: an iterative method then passes over
    ``A`` once per iteration for all of them, not once per call.

    ``[1'; B] (I - A)^{-1}``, solved as ``(I - A)^T X = [1, B^T]``: the output
    multipliers ``1' L`` and ``M = B L`` (Miller & Blair 2009, ch. 6; pymrio's
    ``calc_M``).

    Returns
    -------
    (Series over products, DataFrame factors x products)
    """
    rows = _factor_rows(economy, factors, "multipliers")
    n = len(economy.product_ids)
    R = np.ones((1 + len(rows), n))
    if rows:
        R[1:] = _factor_coefficients(economy, rows).toarray()
    res = _solver(economy, solver, method, options, R.shape[0]).solve(R.T, transpose=True)
    M = np.asarray(res.x, dtype=np.float64).reshape(n, -1).T
    return (pd.Series(M[0], index=economy.product_ids, name="output_multiplier"),
            pd.DataFrame(M[1:], index=pd.Index(rows, name="factor"), columns=economy.product_ids))


def value_added_multipliers(economy, value_added=None, *, method: str = "auto", solver=None, **options) -> pd.Series:
    """Value added generated per unit of final demand: ``v (I - A)^{-1}`` with ``v`` the sum of the value-added rows of ``B``.

    ``value_added`` names the factors that make up value added (default: every
    factor).  With every primary input counted, a balanced value table gives 1
    for every product (each unit of final demand is paid out as primary
    incomes); with compensation, operating surplus and production taxes only, it
    is ONS's "GVA effect" (UK Input-Output Analytical Tables, sheet "Multipliers";
    Miller & Blair 2009, ch. 6, value-added multipliers).
    """
    M = factor_multipliers(economy, value_added, method=method, solver=solver, **options)
    return M.sum(axis=0).rename("value_added_multiplier")


def type_one_multipliers(economy, factors=None, *, method: str = "auto", solver=None, **options) -> pd.DataFrame:
    """Type I multipliers: total factor use per unit of the product's direct factor use, ``M_fj / B_fj``.

    Miller & Blair (2009), ch. 6 (e.g. the Type I income multiplier).
    Where the direct coefficient is zero the ratio is undefined; it is reported
    as 0, the convention of ONS's published tables.
    """
    M = factor_multipliers(economy, factors, method=method, solver=solver, **options)
    direct = _factor_coefficients(economy, list(M.index)).toarray()
    ratio = np.divide(M.to_numpy(), direct, out=np.zeros_like(direct), where=direct != 0)
    return pd.DataFrame(ratio, index=M.index, columns=M.columns)


def type_one_value_added_multiplier(economy, value_added, *, method: str = "auto", solver=None,
                                    **options) -> pd.Series:
    """Type I multiplier of several factor rows taken together, as ONS publishes its "GVA multiplier".

    ``(sum_f (B (I - A)^{-1})_fj) / (sum_f B_fj)``: value added generated in the
    whole economy per unit of the product's own (direct) value added, where value
    added is the sum of the rows named in ``value_added`` (for ONS: compensation
    of employees, gross operating surplus and taxes less subsidies on production).
    ONS, *UK Input-Output Analytical Tables 2010*, sheet "Multipliers" ("GVA
    multiplier" = "GVA effect" / direct GVA coefficient); Miller & Blair (2009),
    ch. 6.  The sum is formed before the ratio, so signed rows (taxes less
    subsidies) offset each other as in the published figure.  A product whose
    direct value added is zero has no such multiplier: it is reported as NaN with
    a warning naming it, never as a silent 0.
    """
    rows = _factor_rows(economy, value_added, "type_one_value_added_multiplier")
    effect = value_added_multipliers(economy, rows, method=method, solver=solver, **options)
    direct = np.asarray(_factor_coefficients(economy, rows).sum(axis=0)).ravel()
    zero = direct == 0
    if zero.any():
        import warnings

        warnings.warn(f"type_one_value_added_multiplier: product(s) {list(economy.product_ids[zero][:10])} have no "
                      "direct value added; their multiplier is undefined (NaN)", RuntimeWarning, stacklevel=2)
    ratio = np.divide(effect.to_numpy(), direct, out=np.full_like(direct, np.nan), where=~zero)
    return pd.Series(ratio, index=economy.product_ids, name="type_one_value_added_multiplier")


def employment_multipliers(economy, employment=None, *, type_one: bool = False, method: str = "auto",
                           solver=None, **options) -> pd.DataFrame:
    """Employment multipliers: jobs (or hours) in the whole economy per unit of final demand.

    ``e (I - A)^{-1}`` for each employment row ``e`` of ``B`` (persons or hours per
    unit of output), Miller & Blair (2009), section 6.3 ("employment
    multipliers"); with ``type_one=True`` the Type I employment multiplier, that
    total divided by the product's own direct coefficient ``e_j`` (section 6.3.2;
    0 where ``e_j = 0``, ONS's convention).  ``employment`` names the rows
    (default: the labour factors of :func:`labour_factors` not counted in money:
    persons, hours); a thin name over :func:`factor_multipliers`.

    Returns
    -------
    DataFrame employment factors x products.
    """
    if employment is None:
        # labour counted in money (compensation, wages; a currency unit) is income, not employment
        money = re.compile(r"\b(usd|gbp|eur|euro|dollar|pound|currency)\b|compensation|wage|salar", re.IGNORECASE)
        t = economy.factors
        employment = [f for f in labour_factors(economy)
                      if not money.search(f"{f} {t.loc[f, 'name']} {t.loc[f, 'unit']}")]
        if not employment:
            raise SchemaError(
                f"economy {economy.name!r} has no factor counting persons or hours among "
                f"{list(economy.factor_ids)[:20]}; name them with employment=[...]"
            )
    fn = type_one_multipliers if type_one else factor_multipliers
    out = fn(economy, employment, method=method, solver=solver, **options)
    out.index.name = "employment"
    return out


@dataclass(frozen=True)
class HawkinsSimon:
    """The Hawkins-Simon condition checked by elimination, with what it shows.

    Attributes
    ----------
    holds : every leading principal minor of ``I - A`` is positive.
    pivots : the pivots of Gaussian elimination of ``I - A`` without row exchanges, per product;
        the k-th leading principal minor is the product of the first k pivots.
    first_failure : the product at whose pivot the condition first fails (None when it holds).
    """

    holds: bool
    pivots: pd.Series
    first_failure: str | None


def hawkins_simon(economy, *, tol: float = 0.0) -> HawkinsSimon:
    """Check the Hawkins-Simon condition without determinants, for teaching.

    Hawkins & Simon (1949), "Note: some conditions of macroeconomic
    stability", *Econometrica* 17: a non-negative ``A`` is productive (``(I -
    A)^{-1} >= 0`` exists) iff every leading principal minor of ``I - A`` is
    positive (Miller & Blair 2009, section 2.6 and appendix 2.1).  Rather than
    computing ``n`` determinants, Gaussian elimination without row exchanges is
    run on ``I - A``: the k-th minor is the product of the first ``k`` pivots,
    so all minors are positive iff every pivot is (each pivot is the k-th
    minor over the (k-1)-th).  The elimination stops at the first pivot ``<=
    tol``, which names the product where the condition fails.  Dense, ``O(n^3)``:
    for tables a student can read; :meth:`Economy.check_productive` is the
    check that scales.
    """
    M = -economy.A.toarray()
    n = M.shape[0]
    M[np.diag_indices(n)] += 1.0
    pivots = np.full(n, np.nan)
    failure = None
    for k in range(n):
        p = M[k, k]
        pivots[k] = p
        if not p > tol:
            failure = str(economy.product_ids[k])
            break
        # the elimination step that leaves the Schur complement, whose first entry is the next pivot
        M[k + 1:, k + 1:] -= np.outer(M[k + 1:, k] / p, M[k, k + 1:])
    return HawkinsSimon(failure is None, pd.Series(pivots, index=economy.product_ids, name="pivot"), failure)


_LABOUR = re.compile(r"labou?r|hour|employ|compensation|wage|persons|worker", re.IGNORECASE)


def labour_factors(economy) -> list[str]:
    """The factors whose id, name or unit speaks of labour (hours, persons, wages)."""
    t = economy.factors
    text = t.index.to_series().astype(str) + " " + t["name"].astype(str) + " " + t["unit"].astype(str)
    return [f for f, s in zip(t.index, text) if _LABOUR.search(s)]


def labour_values(economy, labour=None, *, method: str = "auto", solver=None, **options) -> pd.DataFrame:
    """Labour values: labour of each kind embodied, directly and indirectly, in one unit of each product.

    ``lambda = l (I - A)^{-1}``, i.e. ``lambda = lambda A + l`` (Marx's values as
    vertically integrated labour coefficients: Pasinetti, *Lectures on the
    Theory of Production*, 1977, ch. 5; Miller & Blair 2009, ch. 6 for
    employment multipliers).  ``labour`` names the labour factors (default:
    those found by :func:`labour_factors`); one row per kind, so that unequal
    kinds (hours, or wages per kind) are never silently added.
    """
    if labour is None:
        labour = labour_factors(economy)
        if not labour:
            raise SchemaError(
                f"economy {economy.name!r} has no factor recognisable as labour among "
                f"{list(economy.factor_ids)[:20]}; name them with labour=[...]"
            )
    out = factor_multipliers(economy, labour, method=method, solver=solver, **options)
    out.index.name = "labour"
    return out


def _consumer_of(columns: pd.Index) -> list[str]:
    """The consuming region of each final-demand column ``"REGION/category"`` (the column itself otherwise)."""
    return [c.split(REGION_SEPARATOR, 1)[0] if REGION_SEPARATOR in c else c for c in columns]


def footprints(economy, factors=None, demand=None, *, method: str = "auto", solver=None, **options) -> pd.DataFrame:
    """Factor use embodied in each consumer's final demand, split by region of origin.

    For each consumer ``r`` (the region of a final-demand column
    ``"REGION/category"``; columns of one region are added), the output its
    demand requires is ``x_r = (I - A)^{-1} y_r`` and its footprint of factor
    ``f`` produced in region ``s`` is ``sum_{j in s} B_fj x_rj`` (Miller & Blair
    2009, ch. 3 and ch. 10 on factor use embodied in trade; pymrio ``calc_accounts``).  Summed over
    origins this is pymrio's ``D_cba_reg`` less the direct factor use of final
    demand (``F_Y``), which no origin produced: see :func:`final_demand_factor_use`
    and :func:`consumption_accounts`, which add it.

    Returns
    -------
    DataFrame indexed by (factor, origin region), one column per consumer.
    """
    rows = _factor_rows(economy, factors, "footprints")
    Y = demand_matrix(economy, demand, where="footprints demand") if demand is not None else economy.Y
    consumers = pd.Index(pd.unique(pd.Series(_consumer_of(Y.columns))), name="consumer")
    Yc = Y.T.groupby(np.asarray(_consumer_of(Y.columns)), sort=False).sum().T.reindex(columns=consumers)
    res = _solver(economy, solver, method, options, Yc.shape[1]).solve(Yc.to_numpy())
    X = np.asarray(res.x, dtype=np.float64).reshape(len(Yc), -1)
    B = _factor_coefficients(economy, rows)
    origin = economy.products["region"].to_numpy()
    origins = pd.unique(origin)
    codes = pd.Index(origins).get_indexer(origin)
    # sum over the products of each origin: an origin-indicator matrix keeps it sparse
    import scipy.sparse as sp

    G = sp.csr_array((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(origins), len(codes)))
    blocks = []
    for k in range(len(rows)):
        bk = B[[k]].toarray().ravel()
        blocks.append(G @ (bk[:, None] * X))
    data = np.vstack(blocks)
    index = pd.MultiIndex.from_product([rows, [o if o else "" for o in origins]], names=["factor", "origin"])
    return pd.DataFrame(data, index=index, columns=consumers)


@dataclass(frozen=True)
class Accounts:
    """Production- and consumption-based accounts of factor use per region (pymrio's ``D_*_reg``).

    Attributes
    ----------
    consumption : factors x consumers: footprint of each consumer's final demand (``D_cba_reg``).
    production : factors x regions: factor use of each region's producers (``D_pba_reg``).
    imports : factors x consumers: the part of the footprint produced in other regions (``D_imp_reg``).
    exports : factors x regions: factor use of each region serving other consumers (``D_exp_reg``).
    by_origin : the full (factor, origin) x consumer table of :func:`footprints`.
    direct : factors x regions: factor use of final demand itself (pymrio's ``F_Y`` by region),
        included in ``consumption`` and ``production``; None where it was not added.
    """

    consumption: pd.DataFrame
    production: pd.DataFrame
    imports: pd.DataFrame
    exports: pd.DataFrame
    by_origin: pd.DataFrame
    direct: pd.DataFrame | None = None


def final_demand_factor_use(economy, factors=None, *, by: str = "category") -> pd.DataFrame:
    """Factor use of final demand itself (pymrio's ``F_Y``), e.g. households' own emissions.

    Not embodied in any product: fuel burnt in households' boilers and cars emits
    where and when it is consumed (Miller & Blair 2009, section 10.3 on
    household emissions; pymrio's ``F_Y``, added to ``D_cba`` and ``D_pba`` by
    ``calc_accounts``).  ``by="category"`` gives factors x final-demand categories
    as held by the economy (``"REGION/category"`` in a multi-regional one),
    ``by="region"`` the sum over each consuming region's categories.  An economy
    without it gives zeros.
    """
    rows = _factor_rows(economy, factors, "final_demand_factor_use")
    cats = economy.Y.columns
    held = economy.final_demand_factor_use
    F = (held.loc[rows] if held is not None
         else pd.DataFrame(0.0, index=pd.Index(rows, name="factor"), columns=cats))
    F = F.copy()
    F.index.name = "factor"
    if by == "category":
        return F
    if by != "region":
        raise SchemaError(f"final_demand_factor_use: by must be 'category' or 'region', not {by!r}")
    consumer = np.asarray(_consumer_of(cats))
    regions = pd.Index(pd.unique(consumer), name="region")
    return F.T.groupby(consumer, sort=False).sum().T.reindex(columns=regions)


def consumption_accounts(economy, factors=None, demand=None, *, direct: bool | None = None, method: str = "auto",
                         solver=None, **options) -> Accounts:
    """Consumption- and production-based accounts of a multi-regional economy.

    From the footprints by origin ``D[f, s, r]`` (factor ``f`` used in region
    ``s`` for the final demand of ``r``): consumption ``sum_s D``, production
    ``sum_r D``, imports ``sum_{s != r} D`` and exports ``sum_{r != s} D``
    (Miller & Blair 2009, ch. 10 on emissions embodied in trade; pymrio
    ``calc_accounts``, whose gross output is likewise recomputed as
    ``(I - A)^{-1} y`` so that the four accounts add up).  The factor use of
    final demand itself (``F_Y``, :func:`final_demand_factor_use`) is added to
    the consuming region's consumption and production, as pymrio's ``D_cba_reg``
    and ``D_pba_reg`` do; ``direct`` (default: when the economy holds ``F_Y`` and
    ``demand`` is its own final demand, the one ``F_Y`` belongs to) says whether
    to add it.
    """
    if direct is None:
        direct = demand is None and economy.final_demand_factor_use is not None
    D = footprints(economy, factors, demand, method=method, solver=solver, **options)
    rows = list(D.index.get_level_values("factor").unique())
    consumers = list(D.columns)
    origins = list(D.index.get_level_values("origin").unique())
    cube = D.to_numpy().reshape(len(rows), len(origins), len(consumers))
    same = np.array([[o == c for c in consumers] for o in origins])
    idx = pd.Index(rows, name="factor")
    cons = pd.DataFrame(cube.sum(axis=1), index=idx, columns=pd.Index(consumers, name="region"))
    prod = pd.DataFrame(cube.sum(axis=2), index=idx, columns=pd.Index(origins, name="region"))
    imp = pd.DataFrame((cube * ~same).sum(axis=1), index=idx, columns=pd.Index(consumers, name="region"))
    exp = pd.DataFrame((cube * ~same).sum(axis=2), index=idx, columns=pd.Index(origins, name="region"))
    fy = None
    if direct:
        fy = final_demand_factor_use(economy, rows, by="region")
        fy.index = idx
        cons = cons + fy.reindex(columns=cons.columns, fill_value=0.0)
        # a region that consumes but produces nothing still uses factors in its own final demand
        regions = prod.columns.append(fy.columns.difference(prod.columns, sort=False)).rename("region")
        prod = prod.reindex(columns=regions, fill_value=0.0) + fy.reindex(columns=regions, fill_value=0.0)
    return Accounts(cons, prod, imp, exp, D, fy)
