"""Backward and forward linkages, raw and normalised, and the key sectors they single out.

A product's *backward* linkage is how much the economy must produce, directly
and indirectly, per unit of its final demand: the column sum of the Leontief
inverse (Rasmussen 1956, *Studies in Inter-Sectoral Relations*; Miller & Blair
2009, section 12.2.1).  Its *forward* linkage is how much output follows, in
the supply-driven model, from one unit of primary input into it: the row sum of
the Ghosh inverse (Beyers 1976; Jones 1976; Miller & Blair 2009, section
12.2.2, who recommend it over the row sum of the Leontief inverse, Rasmussen's
sensitivity of dispersion, which is kept as an option).  Normalised by their
average (Rasmussen's power and sensitivity of dispersion; Hirschman 1958), a
value above 1 marks a linkage stronger than the average product's; both above 1
make a *key sector* (Miller & Blair 2009, section 12.2.4, table 12.4).

Each index is one solve with ``I - A`` on one factorization: column sums
``1' L`` a transposed solve, Ghosh row sums ``x^-1 L x`` a forward solve with
``x`` as its right-hand side, Leontief row sums ``L 1`` a forward solve with ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gosplan.analysis.leontief import _solver
from gosplan.errors import SchemaError

__all__ = ["linkages", "key_sectors", "KEY_SECTOR_CLASSES"]

#: The four classes of Miller & Blair (2009), table 12.4, by normalised (backward, forward) linkage:
#: "key" (both above 1), "backward" (backward only), "forward" (forward only), "weak" (neither).
KEY_SECTOR_CLASSES = ("key", "backward", "forward", "weak")


def linkages(economy, *, forward: str = "ghosh", method: str = "auto", solver=None, **options) -> pd.DataFrame:
    """Backward and forward linkages of every product, raw and normalised, with its key-sector class.

    Definitions (Miller & Blair 2009, section 12.2; Eurostat Manual of Supply,
    Use and Input-Output Tables 2008, section 15.3; iotables'
    ``backward_linkages`` and ``forward_linkages``):

    * ``backward`` = ``sum_i l_ij`` (column sums of ``L = (I - A)^{-1}``), the output multiplier;
    * ``forward`` = ``sum_j g_ij`` (row sums of the Ghosh inverse ``G = (I - B)^{-1}``,
      ``B = x^-1 Z``), or with ``forward="leontief"`` ``sum_j l_ij`` (Rasmussen's
      sensitivity of dispersion); a product with no base-year output has forward linkage 1;
    * ``*_normalised`` = the raw index over its average over products
      (``n sum_i l_ij / sum_ij l_ij``: Rasmussen's power and sensitivity of dispersion),
      so that it averages 1 by construction;
    * ``key_sector``: ``"key"`` where both normalised indices exceed 1, ``"backward"`` or
      ``"forward"`` where only that one does, ``"weak"`` otherwise (M&B table 12.4).

    Returns
    -------
    DataFrame indexed by product with the columns ``backward``, ``forward``,
    ``backward_normalised``, ``forward_normalised``, ``key_sector`` (categorical).
    """
    if forward not in ("ghosh", "leontief"):
        raise SchemaError(f"linkages: forward must be 'ghosh' or 'leontief', not {forward!r}")
    n = len(economy.product_ids)
    if forward == "ghosh":
        if economy.levels is None:
            raise SchemaError(f"linkages: economy {economy.name!r} has no base-year gross output, which the Ghosh "
                              "forward linkages weigh by; pass forward='leontief' or give levels")
        x = economy.x.to_numpy()
    fact = _solver(economy, solver, method, options, 2)
    back = np.asarray(fact.solve(np.ones(n), transpose=True).x, dtype=np.float64).ravel()
    if forward == "ghosh":
        Lx = np.asarray(fact.solve(x).x, dtype=np.float64).ravel()
        zero = x == 0
        fwd = np.divide(Lx, x, out=np.ones_like(Lx), where=~zero)
    else:
        fwd = np.asarray(fact.solve(np.ones(n)).x, dtype=np.float64).ravel()
    out = pd.DataFrame({"backward": back, "forward": fwd}, index=economy.product_ids)
    out["backward_normalised"] = back / back.mean()
    out["forward_normalised"] = fwd / fwd.mean()
    b, f = out["backward_normalised"].to_numpy() > 1, out["forward_normalised"].to_numpy() > 1
    cls = np.where(b & f, "key", np.where(b, "backward", np.where(f, "forward", "weak")))
    out["key_sector"] = pd.Categorical(cls, categories=list(KEY_SECTOR_CLASSES))
    out.attrs["forward"] = forward
    return out


def key_sectors(economy, *, forward: str = "ghosh", method: str = "auto", solver=None, **options) -> pd.Index:
    """The products whose normalised backward and forward linkages both exceed 1 (see :func:`linkages`).

    ``{j : n sum_i l_ij / sum_ij l_ij > 1  and  n f_j / sum_k f_k > 1}``, with ``f`` the
    forward linkages (Ghosh row sums, or Leontief row sums with ``forward="leontief"``):
    the "key" class of Miller & Blair (2009), section 12.2.4, table 12.4 (Rasmussen 1956;
    Hirschman 1958).
    """
    table = linkages(economy, forward=forward, method=method, solver=solver, **options)
    return table.index[table["key_sector"] == "key"]
