"""Leontief quantity analysis against a textbook, ONS's published results and pymrio."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gosplan import analysis, datasets
from gosplan.economy import Economy
from gosplan.errors import SchemaError, UnknownIdError, UnproductiveError
from gosplan.sources import read_economy

from conftest import RAW_DATA


def max_rel(got, ref, floor=1e-12):
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), floor * np.abs(ref).max())))


@pytest.fixture(scope="module")
def pymrio_test():
    pymrio = pytest.importorskip("pymrio")
    from gosplan.sources.pymrio_bridge import from_pymrio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymrio's own deprecation noise, not ours
        io = pymrio.load_test()
        io.calc_all()
    return io, from_pymrio(io)


def test_miller_blair_textbook(miller_blair):
    """Miller & Blair, *Input-Output Analysis*, 2nd ed. (2009), ch. 2 and ch. 6, two-sector example.

    Gross output for f = (600, 1500) is printed as (1247.52, 1841.58); the output
    multipliers (column sums of L = [[1.2541, .3300], [.2640, 1.1221]]) are
    1.5181 and 1.4521 to four decimals.
    """
    x = analysis.gross_output(miller_blair, pd.Series({"s1": 600.0, "s2": 1500.0}))
    np.testing.assert_allclose(x.to_numpy(), [1247.52, 1841.58], atol=0.005)
    np.testing.assert_allclose(analysis.gross_output(miller_blair).to_numpy(), [1000.0, 2000.0], rtol=1e-12)
    m = analysis.output_multipliers(miller_blair)
    np.testing.assert_allclose(m.to_numpy(), [1.5182, 1.4521], atol=1e-4)
    # with all primary inputs counted, each unit of final demand is paid out once
    np.testing.assert_allclose(analysis.value_added_multipliers(miller_blair).to_numpy(), [1.0, 1.0], rtol=1e-12)


def test_matches_pymrio_on_its_test_system(pymrio_test):
    """pymrio.load_test() (6 regions x 8 sectors, 3 stressors): x, M and the four D_*_reg accounts.

    Max relative difference observed: 8e-16 (x, M, D_cba/pba/imp/exp); asserted below 1e-12.
    pymrio adds direct final-demand emissions F_Y to D_cba_reg and D_pba_reg; the
    bridge carries F_Y per region and category (``final_demand_factor_use``), so the
    accounts equal pymrio's as they stand, F_Y included.
    """
    io, e = pymrio_test
    assert max_rel(analysis.gross_output(e), io.x.to_numpy().ravel()) < 1e-12
    exts = list(io.get_extensions(data=True))
    M_ref = pd.concat([ext.M for ext in exts])
    assert max_rel(analysis.factor_multipliers(e), M_ref) < 1e-12
    acc = analysis.consumption_accounts(e)
    for ours, theirs in [("consumption", "D_cba_reg"), ("production", "D_pba_reg"),
                         ("imports", "D_imp_reg"), ("exports", "D_exp_reg")]:
        ref = pd.concat([getattr(ext, theirs) for ext in exts])
        got = getattr(acc, ours).reindex(columns=ref.columns)
        assert max_rel(got, ref) < 1e-12, ours
    # F_Y is kept per region and category, as pymrio holds it
    fy = io.emissions.F_Y
    got = analysis.final_demand_factor_use(e, [f for f in e.factor_ids if f.startswith("Emissions:")])
    assert got.shape == fy.shape
    assert max_rel(got.loc[:, ["/".join(c) for c in fy.columns]], fy) < 1e-15
    # without it (a demand of one's own, or direct=False) the accounts are the embodied ones only
    bare = analysis.consumption_accounts(e, direct=False)
    assert acc.direct is not None and bare.direct is None
    np.testing.assert_allclose(acc.consumption - bare.consumption, acc.direct.loc[:, acc.consumption.columns],
                               rtol=1e-12, atol=1e-9)
    # the accounts add up: what a region consumes = what it makes for itself + imports
    np.testing.assert_allclose(acc.consumption.sum(axis=1), acc.production.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(acc.consumption - acc.imports, acc.production - acc.exports, rtol=1e-10)


def test_ons_uk_2010_published_multipliers():
    """ONS, UK Input-Output Analytical Tables 2010 (2014 release), sheet 'Multipliers'.

    Output multipliers, employment-cost effects and Type I multipliers and GVA
    effects for 127 products, as published (carried by rOpenGov/iotables, see
    data/ons_uk_2010/README.md). Max relative difference observed 7e-15;
    asserted below 1e-9 (the README's suggested tolerance).
    """
    pub = json.loads(datasets.resolve("uk_2010_published", "results").read_text())["published_outputs"]
    e = read_economy("uk_2010")
    solver = analysis.prepare(e)
    assert max_rel(analysis.output_multipliers(e, solver=solver), pub["output_multiplier"]) < 1e-9
    comp = analysis.factor_multipliers(e, "compensation", solver=solver).loc["compensation"]
    assert max_rel(comp, pub["employment_cost_effects"]) < 1e-9
    t1 = analysis.type_one_multipliers(e, ["compensation"], solver=solver).loc["compensation"]
    assert max_rel(t1, pub["employment_cost_multiplier"]) < 1e-9
    assert t1["68-2IMP"] == 0.0  # no compensation in imputed rent: ONS prints 0
    gva = analysis.value_added_multipliers(
        e, ["compensation", "operating_surplus", "taxes_on_production"], solver=solver)
    assert max_rel(gva, pub["gva_effects"]) < 1e-9
    L = np.asarray(json.loads(datasets.resolve("uk_2010_published", "results").read_text())["published_outputs"]["leontief_inverse"])
    x = analysis.gross_output(e, pd.Series(1.0, index=["01"]))
    assert max_rel(x, L[:, 0]) < 1e-9
    # the explicit inverse, on request, is ONS's published Leontief inverse
    assert max_rel(analysis.leontief_inverse(e), L, floor=1e-9) < 1e-9


def _wiod_pymrio():
    """pymrio's IOSystem built straight from the raw WIOD 7-region CSV files in data/."""
    pymrio = pytest.importorskip("pymrio")
    folder = RAW_DATA / "wiod2013_mrio_2011"
    z = pd.read_csv(folder / "wiot2011_7regions_intermediate.csv").set_index(["region", "sector"])
    z.columns = pd.MultiIndex.from_tuples([tuple(c.split("|")) for c in z.columns], names=["region", "sector"])
    y = pd.read_csv(folder / "wiot2011_7regions_final_demand.csv").set_index(["region", "sector"])
    y.columns = pd.MultiIndex.from_tuples([tuple(c.split("|")) for c in y.columns], names=["region", "category"])
    x = pd.read_csv(folder / "wiot2011_7regions_gross_output.csv").set_index(["region", "sector"])
    x.columns = ["indout"]
    va = x["indout"].to_numpy() - z.to_numpy().sum(axis=0)
    F = pd.DataFrame([va], index=pd.Index(["value_added_and_adjustments"], name="stressor"), columns=z.columns)
    io = pymrio.IOSystem(Z=z, Y=y, x=x, name="wiod")
    io.factor_inputs = pymrio.Extension(name="factor_inputs", F=F)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io.calc_all()
    return io


def test_matches_pymrio_on_wiod_2011_mrio():
    """WIOD 2013 release, 2011, 7 regions x 35 sectors (data/wiod2013_mrio_2011).

    Gross output for the table's final demand, value-added multipliers and the
    consumption/production/import/export accounts of value added per region.
    Max relative difference observed: 2e-15; asserted below 1e-9.
    """
    io = _wiod_pymrio()
    e = read_economy("wiod_2011_7regions")
    solver = analysis.prepare(e)
    f = "value_added_and_adjustments"
    x = analysis.gross_output(e, solver=solver)
    assert max_rel(x, io.L.to_numpy() @ io.Y.to_numpy().sum(axis=1)) < 1e-9
    M = analysis.factor_multipliers(e, f, solver=solver)
    assert max_rel(M, io.factor_inputs.M) < 1e-9
    acc = analysis.consumption_accounts(e, f, solver=solver)
    ext = io.factor_inputs
    for ours, theirs in [("consumption", ext.D_cba_reg), ("production", ext.D_pba_reg),
                         ("imports", ext.D_imp_reg), ("exports", ext.D_exp_reg)]:
        assert max_rel(getattr(acc, ours).reindex(columns=theirs.columns), theirs) < 1e-9, ours


def test_labour_values_by_kind():
    """Labour values of the WIOD 2014 USA table (hours, persons): the labour in the net product.

    Total labour embodied in final demand equals the labour performed,
    ``lambda . y = l . x`` (the table balances on rows, x = (I - A)^{-1} y).
    """
    e = read_economy("usa_2014")
    kinds = analysis.labour_factors(e)
    assert "hours" in kinds
    lam = analysis.labour_values(e)
    assert list(lam.index) == kinds and lam.index.name == "labour"
    y = e.Y.sum(axis=1).to_numpy()
    for k in kinds:
        live = e.B[[e.factor_ids.get_loc(k)]].toarray().ravel() @ analysis.gross_output(e).to_numpy()
        assert lam.loc[k].to_numpy() @ y == pytest.approx(live, rel=1e-9)
        # vertically integrated labour is at least the direct labour
        direct = e.B[[e.factor_ids.get_loc(k)]].toarray().ravel()
        assert (lam.loc[k].to_numpy() >= direct - 1e-12).all()


def test_demand_forms(miller_blair):
    by_cat = analysis.gross_output(miller_blair, "final")
    assert by_cat.name == "final"
    frame = analysis.gross_output(miller_blair, pd.DataFrame({"a": [600.0, 1500.0], "b": [350.0, 1700.0]},
                                                             index=["s1", "s2"]))
    assert list(frame.columns) == ["a", "b"]
    np.testing.assert_allclose(frame["b"], [1000.0, 2000.0])
    partial = analysis.gross_output(miller_blair, {"s2": 1.0})
    np.testing.assert_allclose(partial.to_numpy(), [0.3300, 1.1221], atol=1e-4)


def test_bad_demand_is_named(miller_blair):
    with pytest.raises(UnknownIdError, match="'steel'"):
        analysis.gross_output(miller_blair, pd.Series({"s1": 1.0, "steel": 2.0}))
    with pytest.raises(UnknownIdError, match="'exports'.*categories are \\['final'\\]"):
        analysis.gross_output(miller_blair, "exports")
    with pytest.raises(SchemaError, match="'s2'.*not a number"):
        analysis.gross_output(miller_blair, pd.Series({"s1": 1.0, "s2": np.nan}))
    with pytest.raises(UnknownIdError, match="'labour'"):
        analysis.factor_multipliers(miller_blair, ["labour"])
    with pytest.raises(SchemaError, match="labour=\\[...\\]"):
        analysis.labour_values(miller_blair)


def test_unproductive_economy_is_refused():
    """Two products that each need more of the other than they make (rho(A) = 1.1)."""
    A = pd.DataFrame([[0.0, 1.1], [1.1, 0.0]], index=["a", "b"], columns=["a", "b"])
    e = Economy.from_coefficients(A)
    with pytest.raises(UnproductiveError, match="not productive"):
        analysis.gross_output(e, {"a": 1.0})


def test_factorization_reused_across_functions(miller_blair):
    solver = analysis.prepare(miller_blair, "dense")
    d = pd.Series({"s1": 600.0, "s2": 1500.0})
    x = analysis.gross_output(miller_blair, d, solver=solver)
    m = analysis.factor_multipliers(miller_blair, solver=solver).loc["value_added"]
    v = miller_blair.B.toarray()[0]
    # value added embodied in final demand = value added paid out = value of final demand
    assert float(m @ d) == pytest.approx(float(v @ x.to_numpy()), rel=1e-12)
    assert float(m @ d) == pytest.approx(2100.0, rel=1e-12)


@st.composite
def random_economy(draw):
    n = draw(st.integers(2, 25))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) * (rng.random((n, n)) < draw(st.floats(0.1, 1.0)))
    A *= draw(st.floats(0.05, 0.95)) / np.maximum(A.sum(axis=0), 1e-9)
    ids = [f"p{i}" for i in range(n)]
    B = rng.random((2, n))
    e = Economy.from_coefficients(pd.DataFrame(A, ids, ids), pd.DataFrame(B, ["hours", "energy"], ids))
    d = pd.Series(rng.random(n) * 10, index=ids)
    return e, d


@settings(max_examples=40, deadline=None)
@given(random_economy(), st.sampled_from(["dense", "dense32", "neumann", "gmres"]))
def test_property_value_identity_and_nonnegativity(case, method):
    """p . d == v . x: the value of final demand at Leontief prices equals the primary cost paid."""
    e, d = case
    x = analysis.gross_output(e, d, method=method, tol=1e-12)
    M = analysis.factor_multipliers(e, method=method, tol=1e-12)
    v = e.B.toarray()
    for k, f in enumerate(M.index):
        assert float(M.loc[f] @ d) == pytest.approx(float(v[k] @ x), rel=1e-9)
    assert (x.to_numpy() >= -1e-12).all() and (M.to_numpy() >= -1e-12).all()
    assert (x.to_numpy() >= d.to_numpy() - 1e-9).all()  # gross output covers final demand


@settings(max_examples=25, deadline=None)
@given(random_economy())
def test_property_float32_within_tolerance(case):
    """Float32 storage (dense32 with refinement to 1e-6) stays within 1e-5 of float64."""
    e, d = case
    exact = analysis.gross_output(e, d, method="dense")
    single = analysis.gross_output(e, d, method="dense32", tol=1e-6)
    np.testing.assert_allclose(single, exact, rtol=1e-5)


def test_cli_analyze_writes_results(tmp_path):
    from typer.testing import CliRunner

    from gosplan.cli import app

    demand = tmp_path / "demand.csv"
    demand.write_text("product,quantity\n01,100\n24-1-3,50\n")
    out = tmp_path / "results.parquet"
    result = CliRunner().invoke(app, ["analyze", "uk_2010", "--demand", str(demand), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    e = read_economy("uk_2010")
    expected = analysis.gross_output(e, pd.Series({"01": 100.0, "24-1-3": 50.0}))
    np.testing.assert_allclose(table["gross_output:demand"], expected, rtol=1e-12)
    assert "multiplier:compensation" in table.columns
    bad = tmp_path / "bad.csv"
    bad.write_text("product,quantity\nsteel,1\n")
    result = CliRunner().invoke(app, ["analyze", "uk_2010", "--demand", str(bad)])
    assert result.exit_code != 0 and "'steel'" in str(result.exception)


@pytest.mark.parametrize("method", ["neumann", "gmres", "dense-gmres", "dense"])
def test_analyze_reports_each_solve_and_its_iterations(method):
    """The progress hook behind ``gosplan analyze``'s bar: every stage starts, and an
    iterative method reports residuals that end at its tolerance (UK 2010, ONS)."""
    from gosplan.cli.analysis import STAGES, _residual_share, analyze_table

    e = read_economy("uk_2010")
    seen: list[tuple] = []
    table, used = analyze_table(e, method=method, progress=lambda *a: seen.append(a))
    assert [s for s, k, _, _ in seen if k is None] == list(STAGES)
    ticks = [(s, k, res, tol) for s, k, res, tol in seen if k is not None]
    if method == "dense":
        assert ticks == []  # a direct solve has no iterations
        return
    for stage in STAGES:
        mine = [t for t in ticks if t[0] == stage]
        assert mine, stage
        res, tol = mine[-1][2], mine[-1][3]
        assert res <= tol and _residual_share(mine[0][2], res, tol) == 1.0
    expected = analysis.gross_output(e, method="dense")
    got = table[[c for c in table.columns if c.startswith("gross_output:")]].to_numpy()
    np.testing.assert_allclose(got.ravel(), expected.to_numpy().ravel(), rtol=1e-8)


@pytest.mark.parametrize("method", ["dense", "neumann"])
def test_multipliers_in_one_solve_equal_the_separate_ones(method):
    """Output and factor multipliers stacked into one transposed solve (UK 2010, ONS; and a
    chosen factor subset) equal the separate functions."""
    e = read_economy("uk_2010")
    out, M = analysis.multipliers(e, method=method)
    np.testing.assert_allclose(out, analysis.output_multipliers(e, method="dense"), rtol=1e-9)
    pd.testing.assert_index_equal(M.index, pd.Index(list(e.factor_ids), name="factor"))
    np.testing.assert_allclose(M, analysis.factor_multipliers(e, method="dense"), rtol=1e-9, atol=1e-12)
    some = list(e.factor_ids[:1])
    _, M1 = analysis.multipliers(e, some, method=method)
    np.testing.assert_allclose(M1, M.loc[some], rtol=1e-9, atol=1e-12)
    with pytest.raises(UnknownIdError, match="steel"):
        analysis.multipliers(e, ["steel"])


def test_cli_analyze_linkages_ghosh_type_ii(tmp_path):
    """``gosplan analyze --linkages --ghosh --type-ii`` writes the API's tables, labelled with
    each product's name and unit, and prints one number format per kind of column (UK 2010, ONS)."""
    from typer.testing import CliRunner

    from gosplan.cli import app

    out = tmp_path / "results.csv"
    result = CliRunner().invoke(app, ["analyze", "uk_2010", "--linkages", "--ghosh", "--type-ii", "--top", "3",
                                      "--out", str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"product": str}).set_index("product")
    e = read_economy("uk_2010")
    assert table.loc["01", "name"] == e.products.loc["01", "name"] and table.loc["01", "unit"] == "GBP million"
    link = analysis.linkages(e)
    np.testing.assert_allclose(table["linkage:forward_normalised"], link["forward_normalised"], rtol=1e-12)
    assert (table["linkage:key_sector"] == link["key_sector"].astype(str)).all()
    np.testing.assert_allclose(table["ghosh:supply_driven_output"], e.x, rtol=1e-9)
    t2 = analysis.type_two_multipliers(e)
    np.testing.assert_allclose(table["compensation:type_ii_multiplier"], t2["compensation:type_ii_multiplier"],
                               rtol=1e-12)
    # flows with one decimal and separators, multipliers with four decimals; the name is shown
    assert "Construction" in result.output and "210,238.0" in result.output and "1.8289" in result.output
    result = CliRunner().invoke(app, ["analyze", "uk_2010", "--type-ii", "--consumption", "Tourists"])
    assert result.exit_code != 0 and "'Tourists'" in str(result.exception)


def test_analyze_stages_with_the_optional_tables():
    from gosplan.cli.analysis import analyze_table, stages

    e = read_economy("uk_2010")
    seen: list[str] = []
    analyze_table(e, method="neumann", linkages=True, ghosh=True, type_ii=True,
                  progress=lambda s, k, *_: seen.append(s) if k is None else None)
    assert tuple(seen) == stages(linkages=True, ghosh=True, type_ii=True)
