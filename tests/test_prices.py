"""The price model, cost push, price indices and the scissors index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gosplan import analysis, plots, prices
from gosplan.economy import Economy
from gosplan.errors import SchemaError, UnknownIdError, UnproductiveError
from gosplan.sources import read_economy

SCISSORS = "ussr_1922_1924"  # shipped, see datasets/ussr_1922_1924/PROVENANCE.md


@pytest.fixture(scope="module")
def uk():
    return read_economy("uk_2010")


def test_base_prices_are_one_in_a_value_table(miller_blair, uk):
    """A balanced value table priced at its own value-added coefficients gives p = 1 (Miller & Blair 2009, ch. 2)."""
    np.testing.assert_allclose(prices.leontief_prices(miller_blair), [1.0, 1.0], rtol=1e-12)
    # ONS UK 2010: every column (domestic inputs + imports + taxes + compensation + surplus) adds to output
    np.testing.assert_allclose(prices.leontief_prices(uk).to_numpy(), 1.0, rtol=1e-9)


def test_cost_push_by_hand(miller_blair):
    """A rise of 0.1 in sector 1's unit value added: dp = 0.1 x (first row of L).

    With det(I - A) = 0.7575, L_11 = 0.95 / 0.7575 and L_12 = 0.25 / 0.7575, so
    the prices rise by 0.125413 and 0.033003 (Miller & Blair 2009, ch. 2
    describes this cost-push calculation).
    """
    out = prices.cost_push(miller_blair, "s1", cost=0.1)
    np.testing.assert_allclose(out["change"], [0.1 * 0.95 / 0.7575, 0.1 * 0.25 / 0.7575], rtol=1e-12)
    np.testing.assert_allclose(out["percent"], 100 * out["change"], rtol=1e-12)
    # the same through factor prices: value added per unit of s1 is 0.65; pricing it at 1 + 0.1/0.65
    wages = prices.leontief_prices(miller_blair, {"value_added": 1.0})
    np.testing.assert_allclose(wages, out["base"], rtol=1e-12)


def test_new_technique_matches_a_fresh_solve(uk):
    """Sherman-Morrison on the old factorization equals re-solving the changed ONS table."""
    j = "24-1-3"  # basic iron and steel
    new_inputs = {"19": 0.02, "35-1": 0.01, "24-1-3": 0.05}
    out = prices.cost_push(uk, j, inputs=new_inputs, factor_inputs={"compensation": 0.15})
    A = uk.A.toarray()
    jj = uk.product_ids.get_loc(j)
    for k, a in new_inputs.items():
        A[uk.product_ids.get_loc(k), jj] = a
    B = uk.B.toarray()
    B[uk.factor_ids.get_loc("compensation"), jj] = 0.15
    v = B.sum(axis=0)
    p = np.linalg.solve((np.eye(len(v)) - A).T, v)
    np.testing.assert_allclose(out["new"], p, rtol=1e-10)
    assert out.loc[j, "change"] != 0


def test_unproductive_technique_and_markup_are_refused(miller_blair):
    with pytest.raises(UnproductiveError, match="new technique of 's1'"):
        prices.cost_push(miller_blair, "s1", inputs={"s1": 1.0})
    with pytest.raises(UnproductiveError, match="markups"):
        prices.leontief_prices(miller_blair, markup=3.0)  # rho(4 A) = 1.32
    with pytest.raises(UnknownIdError, match="'steel'"):
        prices.cost_push(miller_blair, "steel", cost=1.0)
    with pytest.raises(UnknownIdError, match="'hours'"):
        prices.leontief_prices(miller_blair, {"hours": 12.0})


def test_markup_and_taxes_against_dense_formula(uk):
    """p = (p A + v)(1 + mu) + t solved densely."""
    rng = np.random.default_rng(0)
    mu = pd.Series(rng.uniform(0, 0.2, len(uk.product_ids)), index=uk.product_ids)
    t = {"01": 0.05, "19": 0.3}
    got = prices.leontief_prices(uk, markup=mu, taxes=t)
    A = uk.A.toarray()
    v = np.asarray(uk.B.sum(axis=0)).ravel()
    tv = np.zeros(len(v))
    tv[uk.product_ids.get_indexer(list(t))] = list(t.values())
    M = np.eye(len(v)) - A * (1 + mu.to_numpy())[None, :]
    np.testing.assert_allclose(got, np.linalg.solve(M.T, v * (1 + mu.to_numpy()) + tv), rtol=1e-10)


def test_wage_rates_per_kind_of_labour():
    """Two kinds of labour at different wage rates: p = w B (I - A)^{-1}."""
    e = read_economy("usa_2014")
    w = {"hours": 30.0}
    got = prices.leontief_prices(e, w)
    lam = analysis.labour_values(e, ["hours"]).loc["hours"]
    np.testing.assert_allclose(got, 30.0 * lam, rtol=1e-10)


def test_index_formulas_by_hand():
    """p0 = (1, 1), p1 = (2, 1), q0 = (1, 1), q1 = (1, 3): Laspeyres 3/2, Paasche 5/4, Fisher sqrt(15/8)."""
    P = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 1.0]}, index=[0, 1])
    Q = pd.DataFrame({"a": [1.0, 1.0], "b": [1.0, 3.0]}, index=[0, 1])
    assert prices.laspeyres(P, Q, 0).tolist() == [1.0, 1.5]
    assert prices.paasche(P, Q, 0).tolist() == [1.0, 1.25]
    assert prices.fisher(P, Q, 0)[1] == pytest.approx(np.sqrt(1.875))
    grouped = prices.price_index(P, Q, 0, {"g1": ["a"], "g2": ["b"]}, formula="fisher")
    assert grouped.loc[1].tolist() == [2.0, 1.0]


def test_index_errors_name_the_culprit():
    P = pd.DataFrame({"a": [1.0, np.nan], "b": [1.0, 1.0]}, index=["1923", "1924"])
    with pytest.raises(SchemaError, match="'a' has no value \\(NaN\\) in period '1924'"):
        prices.laspeyres(P, pd.Series({"a": 1.0, "b": 1.0}), "1923")
    with pytest.raises(UnknownIdError, match="base period '1913'"):
        prices.laspeyres(P.fillna(1.0), pd.Series({"a": 1.0, "b": 1.0}), "1913")
    with pytest.raises(UnknownIdError, match="'c'"):
        prices.price_index(P.fillna(1.0), pd.Series({"a": 1.0, "b": 1.0}), "1923", {"g": ["c"]})


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**31), st.floats(0.1, 10))
def test_property_index_axioms(n, periods, seed, c):
    """Proportionality (all prices x c -> index c), Fisher between Laspeyres and Paasche, Fisher time reversal."""
    rng = np.random.default_rng(seed)
    P = pd.DataFrame(rng.uniform(0.5, 2, (periods, n)), columns=[f"p{i}" for i in range(n)])
    Q = pd.DataFrame(rng.uniform(0.5, 2, (periods, n)), columns=P.columns)
    scaled = P.copy()
    scaled.iloc[1:] = P.iloc[[0]].to_numpy() * c
    for f in (prices.laspeyres, prices.paasche, prices.fisher):
        np.testing.assert_allclose(f(scaled, Q, 0).iloc[1:], c, rtol=1e-12)
    L, Pa, F = prices.laspeyres(P, Q, 0), prices.paasche(P, Q, 0), prices.fisher(P, Q, 0)
    assert ((F >= np.minimum(L, Pa) - 1e-12) & (F <= np.maximum(L, Pa) + 1e-12)).all()
    back = prices.fisher(P.iloc[[1, 0]].reset_index(drop=True), Q.iloc[[1, 0]].reset_index(drop=True), 0)
    assert F.iloc[1] * back.iloc[1] == pytest.approx(1.0, rel=1e-12)


def test_observed_scissors_1923():
    """The 1923 scissors from the shipped ussr_1922_1924 (Wikipedia 'Scissors Crisis': 276 and 89 % of 1913 in October 1923).

    The ratio 276/89 = 3.10 is the value the file's own ratio row gives (confirmed
    as "about 3" by Marshall and Dobb); the September 1923 row ">3" is a bound,
    not the number 3.
    """
    table = prices.read_price_series(SCISSORS)
    bound = table[table["date"] == "1923-09"].iloc[0]
    assert np.isnan(bound["value"]) and bound["bound"] == ">" and bound["bound_value"] == 3.0
    frame, bounds, extra = prices.observed_scissors(table, "industry", "agriculture",
                                                   barter="rye_flour_per_arshin_cotton_cloth")
    assert frame.attrs["up"] == "industrial_goods_price_index"
    oct23 = frame.loc[pd.Timestamp("1923-10-01")]
    assert oct23["ratio"] == pytest.approx(276 / 89)
    published = table.query("series == 'ratio_industrial_to_agricultural_prices' and date == '1923-10'")["value"].item()
    assert round(oct23["ratio"], 2) == published
    assert frame.loc[pd.Timestamp("1913-01-01"), "ratio"] == 1.0  # the base period, 1913 = 100
    assert bounds.tolist() == [3.0]
    barter = next(iter(extra.values()))
    assert barter.loc[pd.Timestamp("1923-01-01")] == pytest.approx(17.5 / 5.5)
    # rebasing to October 1923 makes that period 1
    rebased = prices.scissors_index(frame["up"], frame["down"], base=pd.Timestamp("1923-10-01"))
    assert rebased.loc[pd.Timestamp("1923-10-01"), "ratio"] == 1.0


def test_nan_in_a_price_series_is_an_error(tmp_path):
    with pytest.raises(SchemaError, match="up series industry has no value \\(NaN\\) in period '1924'"):
        prices.scissors_index(pd.Series([1.0, np.nan], index=["1923", "1924"], name="industry"),
                              pd.Series([1.0, 1.0], index=["1923", "1924"]))
    bad = tmp_path / "bad.csv"
    bad.write_text("date,series,value\n1923-10,industrial_goods_price_index,276\n1924-04,industrial_goods_price_index,\n")
    with pytest.raises(SchemaError, match="bad.csv line 3: value ''"):
        prices.read_price_series(bad)
    bad.write_text("date,series,value\n1923-10,x,about 3\n")
    with pytest.raises(SchemaError, match="line 2: value 'about 3'"):
        prices.read_price_series(bad)


def test_scissors_chart_draws_both_lines_and_the_ratio(tmp_path):
    table = prices.read_price_series(SCISSORS)
    frame, bounds, extra = prices.observed_scissors(table, barter="rye_flour_per_arshin_cotton_cloth")
    path = tmp_path / "scissors.png"
    fig = plots.scissors_chart(frame, bounds=bounds, extra_ratios=extra, since="1922", path=path)
    assert path.stat().st_size > 10_000
    top, bottom = fig.axes
    lines = {line.get_label(): line for line in top.get_lines() + bottom.get_lines()}
    np.testing.assert_allclose(lines["manufactured goods"].get_ydata(), [276.0, 131.0])
    np.testing.assert_allclose(lines["agricultural goods"].get_ydata(), [89.0, 92.0])
    np.testing.assert_allclose(lines["manufactured goods / agricultural goods"].get_ydata(), [276 / 89, 131 / 92])
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_model_price_scissors(uk):
    """Scissors from model prices: a 10 % wage rise in manufacturing (ONS 10-33) against agriculture (01-03).

    Index weights are household final demand; the ratio equals the hand-built
    ratio of the two Laspeyres indices.
    """
    ids = uk.product_ids
    manuf = [p for p in ids if p[:2].isdigit() and 10 <= int(p[:2]) <= 33]
    agri = ["01", "02", "03"]
    base = prices.leontief_prices(uk)
    comp = uk.B[[uk.factor_ids.get_loc("compensation")]].toarray().ravel()
    rise = pd.Series(0.1 * comp, index=ids)[manuf]
    solver = analysis.prepare(uk)
    dp = solver.solve(pd.Series(0.0, index=ids).add(rise, fill_value=0).to_numpy(), transpose=True).x
    P = pd.DataFrame([base.to_numpy(), base.to_numpy() + dp], index=["base", "wage rise"], columns=ids)
    q = uk.Y["Households"]
    groups = prices.price_index(P, q, "base", {"industry": manuf, "agriculture": agri})
    sc = prices.scissors_index(groups["industry"], groups["agriculture"], base="base")
    expected = ((P.loc["wage rise", manuf] @ q[manuf]) / (P.loc["base", manuf] @ q[manuf])) / (
        (P.loc["wage rise", agri] @ q[agri]) / (P.loc["base", agri] @ q[agri]))
    assert sc.loc["wage rise", "ratio"] == pytest.approx(expected, rel=1e-12)
    assert sc.loc["wage rise", "ratio"] > 1.0


@st.composite
def small_economy(draw):
    n = draw(st.integers(2, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.6)
    A *= draw(st.floats(0.05, 0.9)) / np.maximum(A.sum(axis=0), 1e-9)
    ids = [f"p{i}" for i in range(n)]
    e = Economy.from_coefficients(pd.DataFrame(A, ids, ids), pd.DataFrame(rng.random((2, n)), ["hours", "land"], ids))
    return e, pd.Series(rng.random(n), index=ids), {"hours": float(rng.uniform(1, 40)), "land": float(rng.uniform(0, 5))}


@settings(max_examples=40, deadline=None)
@given(small_economy(), st.floats(0, 2))
def test_property_value_identity_with_taxes(case, tax):
    """p . d == (v + t) . x: final demand at Leontief prices costs what primary inputs and taxes earn."""
    e, d, w = case
    t = pd.Series(tax, index=e.product_ids)
    p = prices.leontief_prices(e, w, taxes=t)
    x = analysis.gross_output(e, d)
    v = prices.unit_costs(e, w)
    assert float(p @ d) == pytest.approx(float((v + t.to_numpy()) @ x.to_numpy()), rel=1e-10)
    assert (p.to_numpy() >= v - 1e-12).all()  # a price covers at least its own primary cost


def test_cli_scissors(tmp_path):
    from typer.testing import CliRunner

    from gosplan.cli import app

    png, csv = tmp_path / "scissors.png", tmp_path / "scissors.csv"
    result = CliRunner().invoke(app, ["scissors", SCISSORS, "--up", "industry", "--down", "agriculture",
                                      "--plot", str(png), "--out", str(csv), "--since", "1922"])
    assert result.exit_code == 0, result.output
    assert png.stat().st_size > 10_000
    table = pd.read_csv(csv, index_col=0)
    assert table.loc["1923-10-01", "ratio"] == pytest.approx(276 / 89)


def test_default_prices_cost_only_money_factors():
    """WIOD USA 2014: money rows balance each column, so unit-cost prices are 1; hours are not added to dollars."""
    from gosplan.prices import leontief_prices

    us = read_economy("usa_2014")
    p = leontief_prices(us)
    made = us.x > 0  # 'U' (households as employers) has no output, hence no costs
    assert list(us.product_ids[~made]) == ["U"]
    np.testing.assert_allclose(p[made].to_numpy(), 1.0, rtol=1e-6)
