"""Comparing economies, for tests and for users checking a conversion (like ``pandas.testing``),
and the small made-up economies the tests (and a user trying the planners) build on."""

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
    for attr in ("levels", "final_demand", "final_demand_factor_use"):
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


# -- small economies with made-up numbers: the mechanics of the models, not any real economy --


def two_sector(modern: bool = True) -> Economy:
    """Agriculture and industry; industry has an old technique and (optionally) a
    modern one that needs less labour per unit but more machines. Made-up numbers
    for the mechanics of the model, not for any real economy."""
    acts = ["farm", "ind_old"] + (["ind_new"] if modern else [])
    use = [[0.10, 0.20] + ([0.20] if modern else []), [0.10, 0.20] + ([0.25] if modern else [])]
    make = [[1.0, 0.0] + ([0.0] if modern else []), [0.0, 1.0] + ([1.0] if modern else [])]
    lab = [[0.6, 0.5] + ([0.2] if modern else [])]
    cap = [[0.0, 0.0] + ([0.0] if modern else []), [1.0, 2.0] + ([3.0] if modern else [])]
    return Economy(
        products=["grain", "goods"],
        activities=pd.DataFrame({"capacity": [100.0, 60.0] + ([np.inf] if modern else [])}, index=acts),
        factors=pd.DataFrame({"available": [70.0]}, index=["labour"]),
        use=np.array(use),
        make=np.array(make),
        factor_use=np.array(lab),
        capital=np.array(cap),
        name="two-sector test economy",
    )


def steel_and_bread(labour: float = 100.0, mill: float = 200.0) -> Economy:
    """Two products, one technique each; made-up numbers chosen so the arithmetic of a clash
    can be done by hand. A unit of steel takes 0.1 steel and 0.5 hours; a unit of bread
    0.4 hours; a unit of mill capacity ties up 1 steel, of bakery capacity 2 steel."""
    return Economy(
        products=["steel", "bread"],
        activities=pd.DataFrame({"capacity": [mill, 200.0]}, index=["mill", "bakery"]),
        factors=pd.DataFrame({"available": [labour]}, index=["labour"]),
        use=np.array([[0.1, 0.0], [0.0, 0.0]]),
        make=np.eye(2),
        factor_use=np.array([[0.5, 0.4]]),
        capital=np.array([[1.0, 2.0], [0.0, 0.0]]),
        name="steel and bread",
    )


def placeholder_economy() -> Economy:
    """PLACEHOLDER, made-up numbers (not the shipped USSR data): a farm sector and a
    manufacturing sector with an old and a modern technique that needs less labour
    and more machines, and machines as the only capital good."""
    acts = ["farm", "mfg_old", "mfg_new", "machines"]
    prods = ["food", "cloth", "machinery"]
    use = np.array(
        [
            [0.10, 0.30, 0.30, 0.00],
            [0.05, 0.10, 0.10, 0.05],
            [0.02, 0.05, 0.05, 0.20],
        ]
    )
    make = np.array([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=float)
    labour = np.array([[0.50, 0.40, 0.15, 0.30]])
    capital = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0.5, 1.0, 1.5, 1.2]])
    return Economy(
        products=prods,
        activities=pd.DataFrame({"capacity": [100.0, 60.0, np.inf, 30.0]}, index=acts),
        factors=pd.DataFrame({"available": [75.0]}, index=["labour"]),
        use=use,
        make=make,
        factor_use=labour,
        capital=capital,
        name="placeholder (made-up numbers)",
    )
