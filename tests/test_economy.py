"""The Economy data model: constructors, validation messages, slicing, productivity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gosplan import Economy
from gosplan.errors import (
    BalanceError,
    DuplicateIdError,
    SchemaError,
    UnknownIdError,
    UnproductiveError,
)
from gosplan.testing import assert_economy_equal


def test_coefficients_from_flows_match_textbook(miller_blair):
    """Miller and Blair (2009), Input-Output Analysis, 2nd ed., eq. 2.8: A = [[.15, .25], [.20, .05]]."""
    np.testing.assert_allclose(miller_blair.A.toarray(), [[0.15, 0.25], [0.20, 0.05]], rtol=1e-15)
    np.testing.assert_allclose(miller_blair.B.toarray(), [[0.65, 0.70]], rtol=1e-15)
    assert miller_blair.x.tolist() == [1000.0, 2000.0]
    assert miller_blair.is_square
    # the flows come back exactly
    np.testing.assert_allclose(miller_blair.flows()["Z"].sparse.to_dense().to_numpy(), [[150, 500], [200, 100]])


def test_textbook_leontief_inverse(miller_blair):
    """Miller and Blair (2009), eq. 2.11 (4 decimals): L = [[1.2541, 0.3300], [0.2640, 1.1221]].

    In closed form L = [[.95, .25], [.20, .85]] / 0.7575, with det(I - A) = 0.7575.
    """
    A = miller_blair.A.toarray()
    L = np.linalg.solve(np.eye(2) - A, np.eye(2))
    np.testing.assert_allclose(L, [[1.2541, 0.3300], [0.2640, 1.1221]], atol=5e-5)


def test_immutable(miller_blair):
    with pytest.raises(dataclasses.FrozenInstanceError):
        miller_blair.name = "x"
    with pytest.raises(ValueError):
        miller_blair.use.data[0] = 5.0
    with pytest.raises(ValueError):
        miller_blair.A.data[0] = 5.0


def _econ(**kw):
    base = dict(
        products=["a", "b"],
        activities=["a", "b"],
        factors=["labour"],
        use=[[0.1, 0.2], [0.3, 0.1]],
        make=np.eye(2),
        factor_use=[[1.0, 2.0]],
    )
    base.update(kw)
    return Economy(**base)


def test_negative_coefficient_named():
    with pytest.raises(SchemaError, match=r"use: coefficient at \('b', 'a'\) is negative"):
        _econ(use=[[0.1, 0.2], [-0.3, 0.1]])


def test_non_finite_coefficient_named():
    with pytest.raises(SchemaError, match=r"factor_use: coefficient at \('labour', 'b'\) is not finite"):
        _econ(factor_use=[[1.0, np.nan]])


def test_negative_factor_allowed_only_when_signed():
    with pytest.raises(SchemaError, match="declared signed"):
        _econ(factors=["taxes"], factor_use=[[1.0, -0.5]])
    e = _econ(factors=pd.DataFrame({"signed": [True]}, index=["taxes"]), factor_use=[[1.0, -0.5]])
    assert e.factor_use.toarray()[0, 1] == -0.5


def test_duplicate_ids_named():
    with pytest.raises(DuplicateIdError, match="products: duplicate id.*'a'"):
        _econ(products=["a", "a"])


def test_non_string_or_empty_ids():
    with pytest.raises(SchemaError, match="not a string"):
        _econ(products=["a", 3])
    with pytest.raises(SchemaError, match="empty"):
        _econ(activities=["a", " "])


def test_shape_mismatch_named():
    with pytest.raises(SchemaError, match=r"use: shape \(2, 3\) does not match the labels, expected \(2, 2\)"):
        _econ(use=np.zeros((2, 3)))


def test_product_nobody_makes_named():
    with pytest.raises(SchemaError, match="products 'b' are made by no activity"):
        _econ(make=[[1.0, 1.0], [0.0, 0.0]])


def test_activity_without_output_named():
    with pytest.raises(SchemaError, match="activities 'x' yield no product"):
        Economy(
            products=["a"],
            activities=["a", "x"],
            factors=[],
            use=[[0.1, 0.2]],
            make=[[1.0, 0.0]],
            factor_use=np.zeros((0, 2)),
        )


def test_levels_with_unknown_and_missing_ids():
    with pytest.raises(UnknownIdError, match=r"unknown id\(s\) \['c'\]; missing id\(s\) \['b'\]"):
        _econ(levels=pd.Series([1.0, 2.0], index=["a", "c"]))


def test_unbalanced_rows_named():
    ids = ["a", "b"]
    Z = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=ids, columns=ids)
    Y = pd.DataFrame({"hh": [7.0, 3.0]}, index=ids)
    with pytest.raises(BalanceError, match=r"row 'b': intermediate \+ final use = 10 but gross output = 11"):
        Economy.from_flows(Z, pd.Series([10.0, 11.0], index=ids), final_demand=Y)
    # within a stated tolerance the same table is accepted
    e = Economy.from_flows(Z, pd.Series([10.0, 11.0], index=ids), final_demand=Y, rtol=0.1)
    assert e.meta["balance_check"] == {"kind": "rows", "rtol": 0.1, "atol": 0.0}


def test_unbalanced_columns_named():
    ids = ["a", "b"]
    Z = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=ids, columns=ids)
    V = pd.DataFrame([[6.0, 3.0]], index=["va"], columns=ids)
    with pytest.raises(BalanceError, match=r"column 'b'"):
        Economy.from_flows(Z, pd.Series([10.0, 10.0], index=ids), V, balance="columns")


def test_zero_output_with_inputs_named():
    ids = ["a", "b"]
    Z = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=ids, columns=ids)
    with pytest.raises(BalanceError, match="product 'b' has zero gross output but uses inputs"):
        Economy.from_flows(Z, pd.Series([10.0, 0.0], index=ids), balance="none")


def test_z_labels_mismatch_named():
    Z = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=["a", "b"], columns=["a", "c"])
    with pytest.raises(SchemaError, match=r"rows only: \['b'\], columns only: \['c'\]"):
        Economy.from_flows(Z, pd.Series([10.0, 10.0], index=["a", "b"]), balance="none")


def test_unproductive_block_named():
    """b and c use more of each other than they make; a and d are fine."""
    ids = ["a", "b", "c", "d"]
    A = pd.DataFrame(
        [[0.1, 0.0, 0.0, 0.2], [0.0, 0.5, 0.9, 0.0], [0.0, 0.8, 0.5, 0.0], [0.1, 0.0, 0.0, 0.1]], index=ids, columns=ids
    )
    e = Economy.from_coefficients(A)
    with pytest.raises(UnproductiveError, match=r"\{b, c\}") as info:
        e.check_productive()
    assert info.value.blocks == [["b", "c"]]
    assert info.value.radius == pytest.approx(0.5 + np.sqrt(0.72))


def test_productive_needs_exact_radius_when_columns_exceed_one():
    """A column sum above one does not make an economy unproductive: the radius decides."""
    A = pd.DataFrame([[0.0, 1.5], [0.1, 0.0]], index=["a", "b"], columns=["a", "b"])
    r = Economy.from_coefficients(A).check_productive()
    assert r == pytest.approx(np.sqrt(0.15))


def test_joint_production_and_alternative_techniques():
    """Two techniques make steel; one activity yields electricity and heat jointly."""
    e = Economy(
        products=["steel", "power", "heat"],
        activities=["steel_bf", "steel_eaf", "chp"],
        factors=["labour"],
        use=[[0, 0, 0.1], [0.3, 0.6, 0], [0, 0, 0]],
        make=[[1, 1, 0], [0, 0, 1.0], [0, 0, 0.5]],
        factor_use=[[2.0, 1.0, 0.5]],
    )
    assert not e.is_square
    with pytest.raises(SchemaError, match="one single-output activity per product"):
        e.A  # noqa: B018
    sub = e.select(activities=["steel_bf", "chp"])
    assert list(sub.activity_ids) == ["steel_bf", "chp"]
    assert sub.is_square is False  # chp still makes two products


def test_select_region():
    from gosplan.sources import read_economy

    world = read_economy("wiod_2011_7regions")
    china = world.select(regions="China")
    assert len(china.products) == 35 and set(china.products["region"]) == {"China"}
    np.testing.assert_array_equal(china.A.toarray(), world.A.toarray()[np.ix_(*[world.products["region"] == "China"] * 2)])
    with pytest.raises(UnknownIdError, match="unknown region"):
        world.select(regions=["Atlantis"])


@st.composite
def productive_economies(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    A *= 0.9 / max(A.sum(axis=0).max(), 1e-9)  # column sums < 1: productive
    B = rng.random((k, n)) * 10
    regions = draw(st.lists(st.sampled_from(["N", "S", "E"]), min_size=n, max_size=n))
    ids = [f"{r}/p{i}" for i, r in enumerate(regions)]
    levels = rng.random(n) * 100
    fd = pd.DataFrame(rng.standard_normal((n, 2)), index=ids, columns=["hh", "inventories"])
    return Economy.from_coefficients(
        pd.DataFrame(A, index=ids, columns=ids),
        pd.DataFrame(B, index=[f"f{j}" for j in range(k)], columns=ids),
        levels=levels,
        final_demand=fd,
        name="random",
    )


@settings(max_examples=40, deadline=None)
@given(productive_economies(), st.data())
def test_random_productive_economies_slice_consistently(economy, data):
    assert economy.check_productive() < 1
    region = data.draw(st.sampled_from(list(economy.regions)))
    sub = economy.select(regions=region)
    mask = (economy.products["region"] == region).to_numpy()
    np.testing.assert_array_equal(sub.A.toarray(), economy.A.toarray()[np.ix_(mask, mask)])
    np.testing.assert_array_equal(sub.B.toarray(), economy.B.toarray()[:, mask])
    np.testing.assert_array_equal(sub.x.to_numpy(), economy.x.to_numpy()[mask])
    assert sub.check_productive() < 1  # a principal submatrix of a productive A is productive
    # replace() revalidates and keeps everything else
    same = dataclasses.replace(economy)
    assert_economy_equal(same, economy)


def test_from_coefficients_needs_labels():
    with pytest.raises(SchemaError, match="give `products`"):
        Economy.from_coefficients(np.eye(2) * 0.1)
    e = Economy.from_coefficients(sp.csr_array(np.eye(2) * 0.1), products=["a", "b"])
    assert e.A.nnz == 2


@settings(max_examples=30, deadline=None)
@given(P=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_property_coefficients_follow_the_product_each_activity_makes(P, seed):
    """A and B per unit of output in product order, whatever order the activities come in
    and whatever they make per unit of level: against the textbook product with the
    inverse diagonal (Miller & Blair 2009, eq. 2.4), and in canonical form."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(P)  # product p is made by activity order[p]
    scale = rng.uniform(0.5, 3, P)
    make = sp.csr_array((scale, (np.arange(P), order)), shape=(P, P))
    use = sp.random_array((P, P), density=0.5, rng=seed, format="csr") * (0.5 / P)
    fu = sp.random_array((2, P), density=0.7, rng=seed + 1, format="csr")
    e = Economy(products=pd.DataFrame(index=[f"p{i}" for i in range(P)]),
                activities=pd.DataFrame(index=[f"a{j}" for j in range(P)]),
                factors=pd.DataFrame(index=["labour", "land"]), use=use, make=make, factor_use=fu)
    inv = np.diag(1.0 / scale)
    np.testing.assert_allclose(e.A.toarray(), use.toarray()[:, order] @ inv, rtol=1e-14, atol=0)
    np.testing.assert_allclose(e.B.toarray(), fu.toarray()[:, order] @ inv, rtol=1e-14, atol=0)
    assert e.A.has_canonical_format and not e.A.data.flags.writeable
