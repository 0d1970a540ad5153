"""The model closed with respect to households: Type II multipliers and induced effects.

Households earn income from production (a row of the table: compensation of
employees) and spend it on products (a column: household consumption).  Moving
them from the primary inputs and final demand into the intermediate block closes
the model (Miller & Blair 2009, section 2.5, eq. 2.19):

    A_bar = [[A, c], [h, 0]],   h_j = income per unit of output of j,
                               c_i = consumption of i per unit of household income,

and the closed inverse ``L_bar = (I - A_bar)^{-1}`` carries, beside the direct
and indirect effects of the open model (Type I), the effects induced by the
spending of the income earned (Type II): Miller & Blair (2009), sections 6.2.2
(output), 6.3.1 (income), 6.3.2 (employment); ONS and the Scottish Government
publish Type II multipliers built this way.

The closed model is an Economy like any other (one more product,
``"households"``, whose output is household income), so every function of
:mod:`gosplan.analysis` applies to it; :func:`type_two_multipliers` solves the
open and the closed model once each, transposed, for every multiplier at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.analysis.leontief import _factor_coefficients, _factor_rows, prepare
from gosplan.economy import Economy
from gosplan.errors import DuplicateIdError, SchemaError, UnknownIdError

__all__ = ["HOUSEHOLDS", "close_households", "type_two_multipliers"]

#: Product id of the household sector in a closed economy.
HOUSEHOLDS = "households"


def _consumption_vector(economy, consumption, where: str) -> pd.Series:
    if isinstance(consumption, str):
        Y = economy.Y
        if consumption not in Y.columns:
            raise UnknownIdError(f"{where}: unknown final-demand category {consumption!r}; the categories are "
                                 f"{list(Y.columns)[:20]}")
        return Y[consumption]
    if isinstance(consumption, pd.Series):
        from gosplan.analysis.leontief import demand_matrix

        return demand_matrix(economy, consumption, where=f"{where} consumption").iloc[:, 0]
    raise SchemaError(f"{where}: consumption is a final-demand category name or a Series by product, "
                      f"not {type(consumption).__name__}")


def close_households(economy, income: str = "compensation", consumption="Households", *,
                     income_total: float | None = None, own_purchases: float = 0.0,
                     household_id: str = HOUSEHOLDS) -> Economy:
    """The economy closed with respect to households (Miller & Blair 2009, section 2.5).

    The household row ``h`` is the factor ``income`` per unit of output (e.g.
    compensation of employees); the household column ``c`` is the household
    consumption of each product (the final-demand category ``consumption``, or
    a Series by product) per unit of total household income ``x_{n+1}``; the
    corner ``a_{n+1,n+1}`` is households' purchases from households (domestic
    services) per unit of that income::

        h_j = income_j / x_j,   c_i = consumption_i / x_{n+1},
        a_{n+1,n+1} = own_purchases / x_{n+1}.

    Two conventions for ``x_{n+1}`` are in use, and they give different
    Type II multipliers:

    * ``income_total=None`` (default): the income earned in the industries,
      ``x_{n+1} = sum_j h_j x_j`` (the closure of the shipped UK table, checked
      against a closed model built by hand from the ONS table);
    * ``income_total=<number>``: household income from all sources, e.g. the
      households' row total of the table, which also counts income paid by final
      demand and by households themselves. This is Miller & Blair's (2009,
      section 2.5) ``x_{n+1}``: in their two-sector example 1,000, where the
      industries pay 800, with ``own_purchases=50``.

    A larger ``x_{n+1}`` for the same consumption gives a smaller ``c``, so less
    is induced. Whatever changes only ``c`` or ``a_{n+1,n+1}`` scales every Type
    II income multiplier by one common factor (see :func:`type_two_multipliers`).
    Households' imports and taxes on products stay out of ``c`` only if
    ``consumption`` is domestic use at basic prices (as in the shipped UK table).

    The closed economy has the products of ``economy`` plus ``household_id``
    (output: household income, in the unit of ``income``), the factors less
    ``income`` (now produced inside), the household column using no factor, base
    year levels ``(x, income_total)`` and final demand without the consumption
    category (now endogenous).  The factor use of final demand itself
    (``final_demand_factor_use``) is not carried over: households' own emissions
    per unit of income would be a column of the closed ``B``, which this closure
    leaves at zero.

    Raises :class:`UnknownIdError` for an unknown factor or category,
    :class:`SchemaError` without base-year output, with no income, or with
    ``own_purchases`` negative or not below the income total.
    """
    where = "close_households"
    rows = _factor_rows(economy, income, where)
    if len(rows) != 1:
        raise SchemaError(f"{where}: income is one factor id, not {income!r}")
    if household_id in economy.product_ids:
        raise DuplicateIdError(f"{where}: the economy already has a product {household_id!r}; "
                               "pass household_id='...' to name the household sector otherwise")
    if economy.levels is None:
        raise SchemaError(f"{where}: economy {economy.name!r} has no base-year gross output; "
                          "the household income total is its income flows")
    h = _factor_coefficients(economy, rows).toarray().ravel()
    x = economy.x.to_numpy()
    total = float(h @ x) if income_total is None else float(income_total)
    if not np.isfinite(total) or total <= 0:
        raise SchemaError(f"{where}: household income ({income!r}) totals {total:g}; it must be positive")
    own = float(own_purchases)
    if not (np.isfinite(own) and 0.0 <= own < total):
        raise SchemaError(f"{where}: own_purchases {own:g} must lie in [0, income total {total:g})")
    cons = _consumption_vector(economy, consumption, where)
    c = cons.to_numpy(dtype=float) / total
    n = len(x)
    A = economy.A
    corner = sp.csr_array(np.array([[own / total]])) if own else None
    A_bar = sp.block_array([[A, sp.csr_array(c.reshape(n, 1))],
                            [sp.csr_array(h.reshape(1, n)), corner]], format="csr")
    keep = [f for f in economy.factor_ids if f != rows[0]]
    B = _factor_coefficients(economy, keep)
    B_bar = sp.hstack([B, sp.csr_array((len(keep), 1))], format="csr")
    unit = str(economy.factors.loc[rows[0], "unit"])
    row = pd.DataFrame({"unit": [unit], "region": [""], "name": [f"households (income: {rows[0]})"]},
                       index=pd.Index([household_id], dtype=object))
    products = pd.concat([economy.products[["unit", "region", "name"]], row])
    Y = None
    if economy.final_demand is not None:
        Y = economy.final_demand.drop(columns=[consumption]) if isinstance(consumption, str) else economy.final_demand
        Y = pd.concat([Y, pd.DataFrame(0.0, index=[household_id], columns=Y.columns)])
    meta = dict(economy.meta)
    meta["closed"] = {"households": household_id, "income": rows[0],
                      "consumption": consumption if isinstance(consumption, str) else str(consumption.name),
                      "income_total": total, "own_purchases": own}
    return Economy.from_coefficients(
        A_bar, B_bar, products=products, factors=economy.factors.loc[keep],
        final_demand=Y, levels=pd.Series(np.append(x, total), index=products.index),
        name=f"{economy.name} (closed: households)", meta=meta,
    )


def type_two_multipliers(economy, income: str = "compensation", consumption="Households", factors=None, *,
                         income_total: float | None = None, own_purchases: float = 0.0, method: str = "auto",
                         **options) -> pd.DataFrame:
    """Type I and Type II multipliers and induced effects of output, household income and factors.

    With ``L`` the open and ``L_bar`` the closed inverse (:func:`close_households`),
    per unit of final demand for product ``j`` (Miller & Blair 2009, sections
    6.2.2, 6.3.1, 6.3.2):

    * ``output:type_i`` = ``sum_i l_ij``; ``output:type_ii`` = ``sum_{i<=n} lbar_ij`` (the
      household row left out, so that it counts products only, not income);
      ``output:induced`` = their difference;
    * ``{income}:type_i`` = ``sum_i h_i l_ij`` (income effect); ``{income}:type_ii`` =
      ``lbar_{n+1,j}``; ``{income}:induced``; and the multipliers over the direct
      coefficient ``h_j``: ``{income}:type_i_multiplier``, ``{income}:type_ii_multiplier``
      (ONS's Type I and Type II income multipliers);
    * for every other factor ``f`` in ``factors`` (default: all but ``income``; employment
      in persons or hours gives the employment multipliers): ``f:type_i`` =
      ``sum_i b_fi l_ij``, ``f:type_ii`` = ``sum_{i<=n} b_fi lbar_ij``, ``f:induced`` and
      the two ratios to ``b_fj``.

    ``income_total`` and ``own_purchases`` choose the closure's convention, as in
    :func:`close_households` (default: household income is the income earned in
    the industries; Miller & Blair's example counts all household receipts).

    A ratio whose direct coefficient is zero is reported as 0 (ONS's convention, as
    :func:`~gosplan.analysis.type_one_multipliers`).  The Type II over Type I ratio
    of income multipliers is the same for every product (M&B section 6.3.1): by the
    partitioned inverse, ``lbar_{n+1,j} = lbar_{n+1,n+1} (h L)_j`` with
    ``lbar_{n+1,n+1} = 1 / (1 - a_{n+1,n+1} - h L c)``, so the ratio is
    ``lbar_{n+1,n+1}``, stored in ``attrs["income_ratio"]``.

    Returns
    -------
    DataFrame products (of the open economy) x the columns above.
    """
    closed = close_households(economy, income, consumption, income_total=income_total, own_purchases=own_purchases)
    inc = closed.meta["closed"]["income"]
    others = [f for f in _factor_rows(economy, factors, "type_two_multipliers") if f != inc]
    n = len(economy.product_ids)
    h = _factor_coefficients(economy, [inc]).toarray().ravel()
    F = _factor_coefficients(economy, others).toarray()
    # one transposed solve per model, every multiplier a right-hand side
    R = np.vstack([np.ones(n), h, F])
    open_fact = prepare(economy, method, **{"rhs": R.shape[0], **options})
    M1 = np.asarray(open_fact.solve(R.T, transpose=True).x, dtype=np.float64).reshape(n, -1).T
    Rb = np.zeros((R.shape[0], n + 1))
    Rb[0, :n] = 1.0
    Rb[1, n] = 1.0  # the household row of L_bar: income earned per unit of final demand
    Rb[2:, :n] = F
    closed_fact = prepare(closed, method, **{"rhs": Rb.shape[0], **options})
    M2 = np.asarray(closed_fact.solve(Rb.T, transpose=True).x, dtype=np.float64).reshape(n + 1, -1).T
    income_ratio = float(M2[1, n])  # lbar_{n+1,n+1}: Type II over Type I income multiplier
    M2 = M2[:, :n]
    out = pd.DataFrame(index=economy.product_ids)
    out["output:type_i"], out["output:type_ii"] = M1[0], M2[0]
    out["output:induced"] = M2[0] - M1[0]
    for k, (name, direct) in enumerate([(inc, h), *zip(others, F)], start=1):
        out[f"{name}:type_i"], out[f"{name}:type_ii"] = M1[k], M2[k]
        out[f"{name}:induced"] = M2[k] - M1[k]
        nz = direct != 0
        out[f"{name}:type_i_multiplier"] = np.divide(M1[k], direct, out=np.zeros(n), where=nz)
        out[f"{name}:type_ii_multiplier"] = np.divide(M2[k], direct, out=np.zeros(n), where=nz)
    out.attrs["income"], out.attrs["closed"] = inc, closed.meta["closed"]
    out.attrs["income_ratio"] = income_ratio
    return out

