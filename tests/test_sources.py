"""Readers and writers: exact round trips, published layouts against their own totals, bad files."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan import Economy, datasets
from gosplan.errors import SchemaError, SourceError, UnknownIdError
from gosplan.sources import read_economy, write_economy
from gosplan.sources.published import read_ons_iot, read_wiod2013_mrio, read_wiod_niot
from gosplan.sources.tables import write_table
from gosplan.testing import assert_economy_equal


@st.composite
def economies(draw):
    """Random economies with joint products, alternative techniques, capital and signed factors."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    P = draw(st.integers(1, 6))
    J = P + draw(st.integers(0, 3))
    F = draw(st.integers(0, 3))
    make = np.zeros((P, J))
    make[np.arange(P), np.arange(P)] = rng.random(P) + 0.5
    extra = rng.integers(0, P, J - P)
    make[extra, np.arange(P, J)] = rng.random(J - P) + 0.1  # alternative techniques
    if J > P:
        make[rng.integers(0, P), J - 1] += 0.3  # a joint product
    use = rng.random((P, J)) * (rng.random((P, J)) < 0.4) * draw(st.sampled_from([1.0, 1e-9, 1e7]))
    fu = rng.standard_normal((F, J)) * 3
    signed = rng.integers(0, 2, F).astype(bool)
    fu[~signed] = np.abs(fu[~signed])
    factors = pd.DataFrame(
        {"unit": ["hours", "EUR", ""][:F], "name": [f"factor ñ {i}" for i in range(F)], "signed": signed,
         "available": rng.choice([np.inf, 5.0], F)},
        index=[f"f{i}" for i in range(F)],
    )
    products = pd.DataFrame(
        {"unit": rng.choice(["t", "kWh", "", "m,3"], P), "region": rng.choice(["", "DE", "FR"], P), "name": ["x"] * P},
        index=[f"p{i}" for i in range(P)],
    )
    activities = pd.DataFrame({"capacity": rng.choice([np.inf, 100.0, 1 / 3], J)}, index=[f"a{j}" for j in range(J)])
    capital = rng.random((P, J)) * (rng.random((P, J)) < 0.3) if draw(st.booleans()) else None
    levels = pd.Series(rng.random(J) * 1e3, index=activities.index) if draw(st.booleans()) else None
    fd = pd.DataFrame(rng.standard_normal((P, 2)), index=products.index, columns=["hh", "gov"]) if draw(st.booleans()) else None
    return Economy(
        products=products, activities=activities, factors=factors, use=use, make=make, factor_use=fu,
        capital=capital, levels=levels, final_demand=fd, name="random", meta={"seed": seed, "note": "ümlaut"},
    )


@pytest.mark.parametrize("target", ["economy.csv", "economy", "economy.xlsx"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(economy=economies())
def test_round_trip_exact(tmp_path_factory, target, economy):
    path = tmp_path_factory.mktemp("rt") / target
    write_economy(economy, path, format="csv" if target.endswith(".csv") else None)
    back = read_economy(path)
    assert_economy_equal(back, economy, check_meta=True)


def test_round_trip_shipped_table_all_formats(tmp_path):
    uk = read_economy("uk_2010")
    for target in ("uk.csv", "uk", "uk.xlsx"):
        write_economy(uk, tmp_path / target, format="csv" if target.endswith(".csv") else None)
        assert_economy_equal(read_economy(tmp_path / target), uk, check_meta=True)


def test_pymrio_round_trip_exact_and_totals():
    pymrio = pytest.importorskip("pymrio", reason="the pymrio bridge needs the mrio extra: pip install 'gosplan[mrio]'")
    io = pymrio.load_test().calc_all()
    e = Economy.__module__ and __import__("gosplan.sources.pymrio_bridge", fromlist=["x"]).from_pymrio(io)
    from gosplan.sources.pymrio_bridge import from_pymrio, to_pymrio

    assert e.shape == {"products": 48, "activities": 48, "factors": 3}
    assert list(e.regions) == [f"reg{i}" for i in range(1, 7)]
    # totals match the source
    np.testing.assert_array_equal(e.x.to_numpy(), io.x.to_numpy().ravel())
    np.testing.assert_array_equal(e.Y.to_numpy(), io.Y.to_numpy())
    F = e.factor_use @ e.levels.to_numpy()
    np.testing.assert_allclose(F[0], io.factor_inputs.F.sum(axis=1).iloc[0], rtol=1e-12)
    np.testing.assert_allclose(F[1:], io.emissions.F.sum(axis=1).to_numpy(), rtol=1e-12)
    assert e.meta["F_Y_total"]["Emissions:emission_type1:air"] == pytest.approx(io.emissions.F_Y.sum(axis=1).iloc[0])
    back = from_pymrio(to_pymrio(e), name=e.name)
    assert_economy_equal(back, e)


@pytest.fixture(scope="module")
def pymrio_with_fy():
    """pymrio.load_test() with its accounts, and the economy it bridges to (F_Y carried per category)."""
    pymrio = pytest.importorskip("pymrio", reason="the pymrio bridge needs the mrio extra: pip install 'gosplan[mrio]'")
    import warnings

    from gosplan.sources.pymrio_bridge import from_pymrio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymrio's own deprecation noise
        io = pymrio.load_test().calc_all()
    return io, from_pymrio(io)


@pytest.mark.parametrize("target", ["mrio.csv", "mrio", "mrio.xlsx"])
def test_final_demand_factor_use_written_and_read_back(tmp_path, pymrio_with_fy, target):
    """F_Y (households' own emissions, per region and category) survives write_economy/read_economy
    bit for bit, so the consumption- and production-based accounts of the economy read back equal
    pymrio's, F_Y included. Without the table they would not: the control at the end."""
    from gosplan import analysis

    io, e = pymrio_with_fy
    assert e.final_demand_factor_use is not None and (e.final_demand_factor_use.to_numpy() != 0).any()
    path = tmp_path / target
    write_economy(e, path, format="csv" if target.endswith(".csv") else None)
    back = read_economy(path)
    assert_economy_equal(back, e, check_meta=True)
    acc = analysis.consumption_accounts(back)
    exts = list(io.get_extensions(data=True))
    for ours, theirs in (("consumption", "D_cba_reg"), ("production", "D_pba_reg")):
        ref = pd.concat([getattr(ext, theirs) for ext in exts])
        got = getattr(acc, ours).reindex(columns=ref.columns)  # rows: the factors, in pymrio's order
        assert got.shape == ref.shape
        np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-12, atol=0, err_msg=ours)
    if target == "mrio.xlsx":
        return
    suffix = ".csv" if target.endswith(".csv") else ".parquet"
    assert json.loads((path / "meta.json").read_text())["version"] == 2
    # control: the same files less F_Y give other consumption accounts
    (path / f"final_demand_factor_use{suffix}").unlink()
    bare = analysis.consumption_accounts(read_economy(path))
    ref = pd.concat([ext.D_cba_reg for ext in exts])
    assert not np.allclose(bare.consumption.reindex(columns=ref.columns).to_numpy(), ref.to_numpy(), rtol=1e-3)


def test_economy_without_final_demand_factor_use_stays_version_1(tmp_path, miller_blair):
    write_economy(miller_blair, tmp_path / "mb.csv", format="csv")
    assert json.loads((tmp_path / "mb.csv" / "meta.json").read_text())["version"] == 1
    assert not (tmp_path / "mb.csv" / "final_demand_factor_use.csv").exists()
    assert read_economy(tmp_path / "mb.csv").final_demand_factor_use is None


def test_bad_final_demand_factor_use_named(tmp_path, miller_blair):
    import dataclasses

    fy = pd.DataFrame({"final": [5.0]}, index=["value_added"])
    e = dataclasses.replace(miller_blair, final_demand_factor_use=fy)
    path = tmp_path / "mb.csv"
    write_economy(e, path, format="csv")
    f = path / "final_demand_factor_use.csv"
    assert f.read_text().splitlines() == ["factor,final", "value_added,5.0"]
    assert_economy_equal(read_economy(path), e, check_meta=True)
    f.write_text("factor,final\nvalue_added,5.0\nvalue_added,6.0\n")
    with pytest.raises(SchemaError, match=r"final_demand_factor_use.csv row 3: factor 'value_added' appears twice"):
        read_economy(path)
    f.write_text("factor,exports\nvalue_added,5.0\n")
    with pytest.raises(UnknownIdError, match=r"final_demand_factor_use.csv: column\(s\) \['exports'\].*\['final'\]"):
        read_economy(path)
    f.write_text("factor,final\nwages,5.0\n")
    with pytest.raises(UnknownIdError, match=r"final_demand_factor_use.csv row 2: unknown factor 'wages'"):
        read_economy(path)
    f.write_text("factor,final\nvalue_added,5.0\n")
    (path / "final_demand.csv").unlink()
    with pytest.raises(SchemaError, match="final_demand_factor_use.csv: needs the final_demand table"):
        read_economy(path)


def test_ons_table_matches_published_results(raw_data):
    """ONS (2014) UK IOAT 2010: our A and output multipliers equal the published ones.

    Published values shipped as the dataset uk_2010_published (data/ons_uk_2010/published_results_2010.json).
    """
    uk = read_economy("uk_2010")
    pub = json.loads(datasets.resolve("uk_2010_published", "results").read_text())
    assert list(uk.product_ids) == pub["products"]
    out = pub["published_outputs"]
    A = uk.A.toarray()
    if "A_diagonal" in out:
        np.testing.assert_allclose(np.diag(A), out["A_diagonal"], atol=1e-15)
    mult = np.linalg.solve((np.eye(len(A)) - A).T, np.ones(len(A)))  # column sums of L, by a solve
    np.testing.assert_allclose(mult, out["output_multiplier"], rtol=1e-12)
    src = pd.read_csv(raw_data / "ons_uk_2010" / "uk_2010_iot_domestic_use_basic_prices_pxp.csv", index_col=0)
    assert uk.x.sum() == pytest.approx(src.loc["Total output", uk.product_ids].astype(float).sum(), rel=1e-12)
    comp = (uk.factor_use @ uk.levels.to_numpy())[uk.factor_ids.get_loc("compensation")]
    assert comp == pytest.approx(src.loc["Compensation of employees", uk.product_ids].astype(float).sum(), rel=1e-12)
    assert uk.products.loc["01", "name"].startswith("Products of agriculture")


def test_shipped_usa_table_matches_sea(raw_data):
    """WIOD NIOT 2014 gross output equals the SEA GO column (WIOD's own consistency, rel. 3e-8)."""
    us = read_economy("usa_2014")
    sea = pd.read_csv(raw_data / "wiod2016_usa_niot" / "usa_sea_2000_2014.csv")
    sea = sea[sea["year"] == 2014].set_index("code")
    np.testing.assert_allclose(us.x.to_numpy(), sea.loc[us.product_ids, "GO"].to_numpy(), rtol=1e-6)
    hours = (us.factor_use @ us.levels.to_numpy())[us.factor_ids.get_loc("hours")]
    assert hours == pytest.approx(sea.loc[us.product_ids, "H_EMPE"].sum(), rel=1e-12)
    assert us.check_productive() < 1


def test_shipped_tables_rebuild_from_source(raw_data):
    """The shipped folders equal what the readers make of the published files today."""
    ons = raw_data / "ons_uk_2010"
    uk = read_ons_iot(ons / "uk_2010_iot_domestic_use_basic_prices_pxp.csv", ons / "uk_2010_labels.csv")
    assert_economy_equal(uk, read_economy("uk_2010"))
    w = read_wiod2013_mrio(raw_data / "wiod2013_mrio_2011", sectors=raw_data / "wiod2013_mrio_2011" / "wiod2013_sectors.csv", rtol=5e-4)
    assert_economy_equal(w, read_economy("wiod_2011_7regions"))


def test_full_wiod_2013_loads_with_stated_rounding(raw_data):
    """The full 41-region table is integer-rounded (row gaps up to 108, README): strict load fails, stated one loads."""
    from gosplan.errors import BalanceError

    folder = raw_data / "wiod2013_mrio_2011"
    with pytest.raises(BalanceError, match="do not balance"):
        read_wiod2013_mrio(folder, prefix="wiot2011")
    w = read_wiod2013_mrio(folder, prefix="wiot2011", rtol=1e-6, atol=120)
    assert w.shape["products"] == 1435 and len(w.regions) == 41
    assert w.use.nnz <= 413_525


def test_wiod_niot_unknown_year(raw_data):
    with pytest.raises(SourceError, match=r"no rows for year 1999; the file holds \[2000, .*2014\]"):
        read_wiod_niot(raw_data / "wiod2016_usa_niot" / "USA_NIOT_nov16.xlsx", 1999)


# -- bad files ---------------------------------------------------------------------------


@pytest.fixture()
def csv_economy(tmp_path, miller_blair):
    return write_economy(miller_blair, tmp_path / "mb.csv", format="csv")


def _edit(path, table, fn):
    f = path / f"{table}.csv"
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    fn(df).to_csv(f, index=False)


def test_unknown_product_named_with_file_and_row(csv_economy):
    _edit(csv_economy, "use", lambda df: df.assign(product=df["product"].replace("s2", "steel")))
    with pytest.raises(UnknownIdError, match=r"use\.csv row [0-9]+: unknown product 'steel'; add it to the products table"):
        read_economy(csv_economy)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_or_unknown_id_among_repeated_ones_names_its_row(tmp_path, miller_blair, fmt):
    """Ids are looked up once per distinct id: the row named must still be the first bad one."""
    path = write_economy(miller_blair, tmp_path / f"mb.{fmt}", format=fmt)
    f = path / f"use.{fmt}"
    df = pd.read_csv(f, dtype=str, keep_default_na=False) if fmt == "csv" else pd.read_parquet(f)
    big = pd.concat([df] * 50, ignore_index=True)
    big.loc[len(df) * 50 - 3, "activity"] = None  # the only bad cell, near the end

    def write(frame):
        frame.to_csv(f, index=False) if fmt == "csv" else frame.to_parquet(f, index=False)

    write(big)
    with pytest.raises(UnknownIdError, match=rf"use\.{fmt} row {len(df) * 50 - 1}: unknown activity"):
        read_economy(path)
    big.loc[len(df) * 50 - 3, "activity"] = "mill"
    write(big)
    with pytest.raises(UnknownIdError, match=rf"use\.{fmt} row {len(df) * 50 - 1}: unknown activity 'mill'"):
        read_economy(path)


def test_parquet_ids_from_many_dictionaries_read_back_exactly(tmp_path):
    """Parquet ids are read as dictionaries, one per row group and shared by its batches:
    a table cut into row groups of 3 rows (many dictionaries, each id in several) reads
    back as the economy written, and an id missing from a whole row group (its
    dictionary empty) is named by its row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    e = read_economy("usa_2014")
    path = write_economy(e, tmp_path / "usa", format="parquet")
    for name in ("use", "make", "factor_use"):
        f = path / f"{name}.parquet"
        pq.write_table(pq.read_table(f), f, row_group_size=3)
    assert pq.ParquetFile(path / "use.parquet").metadata.num_row_groups > 10
    assert_economy_equal(read_economy(path), e)
    f = path / "use.parquet"
    t = pq.read_table(f)
    n = t.num_rows
    ids = t.column("activity").to_pylist()
    ids[n - 3 : n] = [None] * 3  # the whole last row group
    pq.write_table(t.set_column(t.schema.get_field_index("activity"), "activity", pa.array(ids, pa.string())), f,
                   row_group_size=3)
    with pytest.raises(UnknownIdError, match=rf"use\.parquet row {n - 1}: unknown activity"):
        read_economy(path)


def test_parquet_written_in_row_groups_with_their_own_dictionaries(tmp_path, monkeypatch):
    """Ids are written per row group from the categoricals' codes: with row groups of 4
    rows a real table round-trips exactly, every reader sees plain text ids, and an
    empty cell in a categorical is written as an empty cell."""
    import pyarrow.parquet as pq

    from gosplan.sources import tables

    monkeypatch.setattr(tables, "ROW_GROUP", 4)
    e = read_economy("usa_2014")
    path = write_economy(e, tmp_path / "usa", format="parquet")
    assert pq.ParquetFile(path / "use.parquet").metadata.num_row_groups > 10
    assert_economy_equal(read_economy(path), e)
    df = pd.read_parquet(path / "use.parquet")
    assert not any(isinstance(t, pd.CategoricalDtype) for t in df.dtypes)
    assert set(df["product"]) <= set(e.product_ids) and set(df["activity"]) <= set(e.activity_ids)
    frame = pd.DataFrame({"product": pd.Categorical.from_codes([0, -1, 1, 0, 1], categories=["a", "b"]),
                          "value": [1.0, 2, 3, 4, 5]})
    tables._write_parquet(frame, tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")["product"]
    assert back.isna().tolist() == [False, True, False, False, False]
    assert back.dropna().tolist() == ["a", "b", "a", "b"]


def test_negative_value_named_with_file_and_row(csv_economy):
    def neg(df):
        df.loc[2, "value"] = "-0.2"
        return df

    _edit(csv_economy, "use", neg)
    with pytest.raises(SchemaError, match=r"use\.csv row 4: value '-0.2' is negative"):
        read_economy(csv_economy)


def test_non_numeric_value_named(csv_economy):
    def bad(df):
        df.loc[0, "value"] = "n/a"
        return df

    _edit(csv_economy, "factor_use", bad)
    with pytest.raises(SchemaError, match=r"factor_use\.csv row 2: value 'n/a' is not a finite number"):
        read_economy(csv_economy)


def test_duplicate_id_named(csv_economy):
    _edit(csv_economy, "products", lambda df: pd.concat([df, df.iloc[[0]]]))
    with pytest.raises(SchemaError, match=r"products\.csv row 4: duplicate id 's1'"):
        read_economy(csv_economy)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), st.floats(0.1, 9.0)), max_size=25),
       in_order=st.booleans())
def test_property_matrix_of_a_table_in_any_order(cells, in_order):
    """The matrix of a table's cells, taken as CSR when the table is in row order: the
    same as SciPy's conversion in every case, a cell given twice summed (and seen as
    fewer entries than rows)."""
    import scipy.sparse as sp

    from gosplan.sources.tables import _csr

    if in_order:
        cells = sorted(cells, key=lambda c: (c[0], c[1]))
    i = np.array([c[0] for c in cells], dtype=np.int64)
    j = np.array([c[1] for c in cells], dtype=np.int64)
    v = np.array([c[2] for c in cells])
    m = _csr(v, i, j, (6, 5))
    ref = sp.csr_array((v, (i, j)), shape=(6, 5))
    np.testing.assert_array_equal(m.toarray(), ref.toarray())
    assert m.has_canonical_format
    assert (m.nnz < len(v)) == (len(set(zip(i.tolist(), j.tolist()))) < len(v))


def test_duplicate_cell_named(csv_economy):
    _edit(csv_economy, "use", lambda df: pd.concat([df, df.iloc[[1]]]))
    with pytest.raises(SchemaError, match=r"use\.csv row 6: \('s1', 's2'\) appears twice"):
        read_economy(csv_economy)


def test_missing_table_and_column(csv_economy):
    (csv_economy / "make.csv").unlink()
    with pytest.raises(SourceError, match=r"make\.csv: table is missing"):
        read_economy(csv_economy)


def test_product_nobody_makes_in_file_named(csv_economy):
    _edit(csv_economy, "make", lambda df: df[df["product"] != "s2"])
    with pytest.raises(SchemaError, match=r"mb\.csv: products 's2' are made by no activity"):
        read_economy(csv_economy)


def test_bad_meta_named(csv_economy):
    (csv_economy / "meta.json").write_text("{not json")
    with pytest.raises(SourceError, match=r"meta\.json: not valid JSON \(line 1\)"):
        read_economy(csv_economy)


def test_unknown_format_and_missing_path(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        read_economy(tmp_path / "nothing.csv")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(SourceError, match="unknown format"):
        read_economy(tmp_path / "t.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="neither use.csv nor use.parquet"):
        read_economy(tmp_path / "empty")


def test_failed_write_keeps_old_economy(tmp_path, miller_blair, monkeypatch):
    """A write that fails half-way leaves the economy that was there whole."""
    target = write_economy(miller_blair, tmp_path / "mb")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    with pytest.raises(OSError, match="disk full"):
        write_economy(read_economy("uk_2010"), target)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["mb"]  # no temporary left behind
    assert_economy_equal(read_economy(target), miller_blair)


def test_excel_too_large_is_refused(tmp_path, monkeypatch):
    import gosplan.sources.tables as t

    monkeypatch.setattr(t, "_EXCEL_MAX_ROWS", 10)
    with pytest.raises(SourceError, match="exceed Excel's 10 rows; write CSV or Parquet instead"):
        write_economy(read_economy("uk_2010"), tmp_path / "uk.xlsx")
    assert not (tmp_path / "uk.xlsx").exists()


def test_write_table_replaces_a_file_whole_or_not_at_all(tmp_path):
    from gosplan.sources.tables import write_table

    good = pd.DataFrame({"product": ["grain", "steel"], "output": [1.5, 2.0]})
    path = write_table(good, tmp_path / "sub" / "table.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(path), good)
    write_table(good.set_index("product"), tmp_path / "table.csv")
    assert pd.read_csv(tmp_path / "table.csv").columns.tolist() == ["product", "output"]
    # a column Parquet cannot hold (numbers and text mixed) fails the write: the old file stays
    bad = pd.DataFrame({"product": ["grain", "steel"], "output": [1.5, "two"]})
    with pytest.raises(SourceError, match=r"table\.parquet: the table cannot be written as parquet"):
        write_table(bad, path, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(path), good)
    assert sorted(p.name for p in path.parent.iterdir()) == ["table.parquet"]
    with pytest.raises(SourceError, match=r"table\.xlsx: write \.parquet or \.csv"):
        write_table(good, tmp_path / "table.xlsx")


def test_written_files_and_folders_get_the_umask_permissions(tmp_path, miller_blair):
    """Tables and economies are written through temporary files (0600, 0700): what lands has the
    permissions any other file would get under the umask (0644 and 0755 under 022)."""
    old = os.umask(0o022)
    try:
        table = write_table(pd.DataFrame({"x": [1.0]}), tmp_path / "t.csv")
        folder = write_economy(miller_blair, tmp_path / "e", format="csv")
        book = write_economy(miller_blair, tmp_path / "e.xlsx")
    finally:
        os.umask(old)
    assert stat.S_IMODE(table.stat().st_mode) == 0o644
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "use.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE(book.stat().st_mode) == 0o644
