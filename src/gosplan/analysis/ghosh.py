"""The supply-driven (Ghosh) model: how primary inputs are allocated downstream.

Where the Leontief model reads a column of the flow table as a recipe (inputs per
unit of output), the Ghosh model reads a row as a sales pattern: the output
coefficients ``B = x^-1 Z`` (share of product ``i``'s output sold to ``j``) and
``x' = v' (I - B)^{-1}`` for primary inputs ``v`` (Ghosh 1958, "Input-output
approach in an allocation system", *Economica* 25; Miller & Blair 2009, ch. 12,
eqs. 12.2-12.6).  Its economic reading is debated (Oosterhaven 1988); its use
that stands is descriptive: forward linkages (:mod:`~gosplan.analysis.linkages`).

``B = x^-1 A x`` is similar to ``A``, so ``(I - B)^{-1} = x^-1 L x`` (Miller &
Blair 2009, eq. 12.9): every Ghosh quantity is a Leontief solve on the same
factorization, transposed, scaled by base-year output.  No function here forms
an inverse unless its name says so.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan import linalg
from gosplan.analysis.leontief import (
    _factor_coefficients,
    _factor_rows,
    _solver,
    demand_matrix,
)
from gosplan.errors import BalanceError, SchemaError

__all__ = ["output_coefficients", "ghosh_inverse", "supply_driven_output"]


def _base_output(economy, where: str) -> np.ndarray:
    """Base-year gross output, checked: the Ghosh model divides each row by it."""
    if economy.levels is None:
        raise SchemaError(f"{where}: economy {economy.name!r} has no base-year gross output (levels); "
                          "the supply-side model divides each row of the flow table by it")
    return economy.x.to_numpy()


def _output_coefficient_matrix(economy, where: str) -> tuple[sp.csr_array, np.ndarray]:
    """``B = x^-1 A x`` (sparse) and ``x``; a row of ``Z`` sold by a product with no output is an error."""
    x = _base_output(economy, where)
    A = economy.A
    Z = A @ sp.diags_array(x)
    zero = x == 0
    sold = np.asarray(abs(Z).sum(axis=1)).ravel()
    if (zero & (sold > 0)).any():
        bad = economy.product_ids[zero & (sold > 0)][0]
        raise BalanceError(f"{where}: product {bad!r} has zero gross output but sells {sold[economy.product_ids.get_loc(bad)]:g} "
                           "to other products; fix its gross output")
    inv = np.divide(1.0, x, out=np.zeros_like(x), where=~zero)
    return sp.csr_array(sp.diags_array(inv) @ Z), x


def output_coefficients(economy) -> pd.DataFrame:
    """Output (allocation) coefficients ``B = x^-1 Z``: the share of product ``i``'s output sold to ``j``.

    ``b_ij = z_ij / x_i`` (Miller & Blair 2009, eq. 12.1; iotables'
    ``output_coefficient_matrix_create``; the Eurostat Manual of Supply, Use
    and Input-Output Tables 2008, section 15.2).  Computed from ``A`` and the
    base-year output as ``x^-1 A x``; a product with zero output has a zero row.

    Returns
    -------
    DataFrame products x products, sparse (pandas' sparse dtype): the matrix has
    the sparsity of ``A``.
    """
    B, _ = _output_coefficient_matrix(economy, "output_coefficients")
    ids = economy.product_ids
    return pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(B), index=ids, columns=ids)


def ghosh_inverse(economy, *, check: bool = True) -> pd.DataFrame:
    """The dense Ghosh inverse ``G = (I - B)^{-1}``, labelled, on explicit request only.

    ``g_ij``: output of ``j`` that follows from one unit of primary input into
    ``i`` (Miller & Blair 2009, eq. 12.4; Eurostat Manual 2008, section 15.2;
    iotables' ``ghosh_inverse_create``).  Costs ``n^2`` memory and ``O(n^3)``
    flops like :func:`~gosplan.analysis.leontief_inverse`; the functions of
    this module solve instead.  ``check`` refuses a non-productive economy
    (``B`` and ``A`` have the same spectral radius).
    """
    if check:
        economy.check_productive()
    B, _ = _output_coefficient_matrix(economy, "ghosh_inverse")
    G = linalg.leontief_inverse(B)
    return pd.DataFrame(G, index=economy.product_ids, columns=economy.product_ids)


def _primary_matrix(economy, primary, x: np.ndarray) -> pd.DataFrame:
    """Primary inputs as a products x columns frame (see :func:`supply_driven_output`)."""
    ids = economy.product_ids
    if primary is None:
        # everything a product pays outside the intermediate block: x_j - sum_i z_ij
        colsum = np.asarray(economy.A.sum(axis=0)).ravel()
        return pd.DataFrame({"primary_inputs": x * (1.0 - colsum)}, index=ids)
    if isinstance(primary, str) or (isinstance(primary, list) and primary and all(isinstance(f, str) for f in primary)
                                    and set(primary) <= set(economy.factor_ids)):
        rows = _factor_rows(economy, primary, "supply_driven_output")
        flows = _factor_coefficients(economy, rows).toarray() * x[None, :]
        return pd.DataFrame(flows.T, index=ids, columns=rows)
    return demand_matrix(economy, primary, where="supply_driven_output primary inputs")


def supply_driven_output(economy, primary_inputs=None, *, method: str = "auto", solver=None, **options):
    """Gross output that primary inputs ``v`` allow in the Ghosh model: ``x' = v' (I - B)^{-1}``.

    Miller & Blair (2009), eq. 12.6; Eurostat Manual (2008), section 15.2.
    Computed without ``G``: since ``(I - B)^{-1} = x^-1 L x``, ``x'_j = x_j
    [(I - A)^{-T} (v / x)]_j``, one transposed Leontief solve per column of
    ``v`` (on ``solver``, the factorization of :func:`prepare`, when given).  With
    the base year's own primary inputs it gives back the base-year output: the
    two models agree on the table they were built from.

    Parameters
    ----------
    primary_inputs : None, factor id(s), Series/mapping or DataFrame by product
        ``None``: each product's base-year primary inputs, ``x_j - sum_i z_ij``;
        factor ids: those factors' base-year flows, one column each; a Series or
        DataFrame (products x scenarios): primary input into each product.  A
        product with zero base-year output can take no primary input (it has no
        sales pattern): that is an error naming it.

    Returns
    -------
    Series (one column, a Series or None given) or DataFrame products x columns.
    """
    x = _base_output(economy, "supply_driven_output")
    V = _primary_matrix(economy, primary_inputs, x)
    zero = x == 0
    stray = zero & (V.to_numpy() != 0).any(axis=1)
    if stray.any():
        bad = economy.product_ids[stray][0]
        raise SchemaError(f"supply_driven_output: product {bad!r} has no base-year output, so the supply-side model "
                          "has no sales pattern for a primary input into it; give it 0")
    inv = np.divide(1.0, x, out=np.zeros_like(x), where=~zero)
    R = V.to_numpy() * inv[:, None]
    res = _solver(economy, solver, method, options, R.shape[1]).solve(R, transpose=True)
    out = pd.DataFrame(np.asarray(res.x, dtype=np.float64).reshape(R.shape) * x[:, None],
                       index=economy.product_ids, columns=V.columns)
    if primary_inputs is None or isinstance(primary_inputs, (pd.Series, Mapping, str)):
        s = out.iloc[:, 0]
        s.name = "supply_driven_output" if primary_inputs is None else s.name
        return s
    return out
