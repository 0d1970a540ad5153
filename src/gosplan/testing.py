"""Comparing economies, for tests and for users checking a conversion (like ``pandas.testing``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy


def assert_economy_equal(left: Economy, right: Economy, rtol: float = 0.0, atol: float = 0.0, check_meta: bool = False) -> None:
    """Raise ``AssertionError`` naming the first part where two economies differ.

    With ``rtol = atol = 0`` the comparison is exact (bit for bit on every value).
    """
    for table in ("products", "activities", "factors"):
        pd.testing.assert_frame_equal(getattr(left, table), getattr(right, table), check_dtype=False, obj=table)
    for attr in ("use", "make", "factor_use", "capital"):
        a, b = getattr(left, attr), getattr(right, attr)
        if (a is None) != (b is None):
            raise AssertionError(f"{attr}: present in one economy only")
        if a is None:
            continue
        diff = sp.csr_array(a - b)
        if diff.nnz:
            tol = atol + rtol * np.maximum(abs(a).toarray() if a.shape[0] * a.shape[1] < 1e7 else 0, 0)
            dense = np.abs(diff.toarray()) if a.shape[0] * a.shape[1] < 1e7 else None
            if dense is None or (dense > tol).any():
                i, j = (np.argwhere(dense > tol)[0] if dense is not None else (diff.tocoo().row[0], diff.tocoo().col[0]))
                raise AssertionError(
                    f"{attr}: differs at ({getattr(left, 'factors' if attr == 'factor_use' else 'products').index[i]!r}, "
                    f"{left.activity_ids[j]!r}): {a[i, j]!r} != {b[i, j]!r}"
                )
    for attr in ("levels", "final_demand"):
        a, b = getattr(left, attr), getattr(right, attr)
        if (a is None) != (b is None):
            raise AssertionError(f"{attr}: present in one economy only")
        if a is None:
            continue
        if isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b, rtol=rtol, atol=atol, check_exact=rtol == atol == 0, check_names=False, obj=attr)
        else:
            pd.testing.assert_frame_equal(a, b, rtol=rtol, atol=atol, check_exact=rtol == atol == 0, obj=attr)
    if check_meta and (left.name != right.name or dict(left.meta) != dict(right.meta)):
        raise AssertionError(f"name or meta differ: {left.name!r} {left.meta!r} != {right.name!r} {right.meta!r}")
