"""Scenarios: Leontief prices at the techniques in use, the scissors path, the
fixed-share baseline against the optimal plan, and the shipped USSR 1924/25 demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gosplan.errors import SchemaError, UnknownIdError
from gosplan.planning.dynamic import MaxConsumption
from gosplan.planning.scenarios import (
    Scenario,
    compare,
    fixed_share_baseline,
    technique_prices,
)
from gosplan.testing import placeholder_economy

COMMON = dict(
    final_demand=pd.Series({"food": 40.0, "cloth": 10.0}),
    depreciation=0.05,
    factor_growth=0.01,
    new_techniques={"mfg_new": 1},
)


@pytest.fixture(scope="module")
def comparison():
    eco = placeholder_economy()
    basket = pd.Series({"food": 1.0, "cloth": 1.0})
    base = fixed_share_baseline(eco, {"farm": 2, "mfg_old": 1, "machines": 1}, objective=MaxConsumption(basket=basket))
    plan = Scenario("plan", MaxConsumption(basket=basket))
    seen = []
    comp = compare(
        eco,
        [base, plan],
        5,
        up=["cloth", "machinery"],
        down=["food"],
        progress=lambda name, k, n: seen.append((name, k, n)),
        **COMMON,
    )
    return eco, comp, seen


def test_technique_prices_solve_the_price_model():
    """p = p (A + D) + v at the output-weighted technique mix, checked by a dense solve
    of p (I - A_mix - D_mix) = v_mix (Miller and Blair 2009, eq. 2.39)."""
    eco = placeholder_economy()
    w = np.array([80.0, 30.0, 10.0, 20.0])
    uc = np.asarray(eco.factor_use.sum(axis=0)).ravel()
    dep = np.full(4, 0.05)
    p = technique_prices(eco, w, uc, dep)
    # mix by hand: cloth = 3/4 old + 1/4 new
    mix = np.array([[1, 0, 0, 0], [0, 0.75, 0.25, 0], [0, 0, 0, 1]], dtype=float).T  # activities x products
    A = (eco.use.toarray() + eco.capital.toarray() * dep) @ mix
    v = uc @ mix
    expected = np.linalg.solve((np.eye(3) - A).T, v)
    np.testing.assert_allclose(p.to_numpy(), expected, rtol=1e-10)
    # only the old technique running: prices of the old economy
    p_old = technique_prices(eco, np.array([1.0, 1.0, 0.0, 1.0]), uc, dep)
    assert p_old["cloth"] > p["cloth"]  # the modern technique is cheaper at these numbers


def test_baseline_keeps_prices_plan_closes_the_scissors(comparison):
    eco, comp, _ = comparison
    sc = comp.scissors
    assert list(sc.columns) == ["baseline", "plan"]
    assert sc.iloc[0].tolist() == pytest.approx([1.0, 1.0])
    # the baseline never invests in the modern technique: same techniques, same prices
    assert (comp.plans["baseline"].levels["mfg_new"] == 0).all()
    np.testing.assert_allclose(sc["baseline"].to_numpy(), 1.0, rtol=1e-12)
    # the plan adopts the modern technique and manufactures get cheaper relative to food
    assert comp.plans["plan"].levels["mfg_new"].iloc[-1] > 0
    assert sc["plan"].iloc[-1] < 0.99
    # the plan does at least as well as the constrained baseline on the same objective
    assert comp.plans["plan"].objective_value >= comp.plans["baseline"].objective_value - 1e-9
    for plan in comp.plans.values():
        assert plan.verify(eco) == []


def test_fixed_shares_hold_in_the_baseline(comparison):
    eco, comp, _ = comparison
    z = comp.plans["baseline"].new_capacity
    kv = np.asarray(eco.capital.sum(axis=0)).ravel()
    val = z * kv
    tot = val.sum(axis=1)
    invested = tot > 1e-9
    np.testing.assert_allclose((val["farm"] / tot)[invested], 0.5, rtol=1e-7)
    np.testing.assert_allclose((val["machines"] / tot)[invested], 0.25, rtol=1e-7)


def test_table_summary_and_progress(comparison):
    eco, comp, seen = comparison
    t = comp.table()
    assert len(t) == 2 * 5
    for col in ("scenario", "period", "output_cloth", "consumption_food", "investment_machinery", "scissors_index"):
        assert col in t.columns
    s = comp.summary()
    assert list(s.index) == ["baseline", "plan"]
    assert seen[0] == ("baseline", 0, 2) and seen[-1] == ("", 2, 2)


def test_scenario_errors():
    eco = placeholder_economy()
    with pytest.raises(UnknownIdError, match="steel"):
        fixed_share_baseline(eco, {"steel": 1.0})
    with pytest.raises(UnknownIdError, match="scissors group 'up'"):
        compare(eco, [Scenario("a")], 2, up=["tractors"], down=["food"], **COMMON)
    with pytest.raises(SchemaError, match="unique"):
        compare(eco, [Scenario("a"), Scenario("a")], 2, up=["cloth"], down=["food"], **COMMON)


# -- the shipped example -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from gosplan.examples.ussr_1923 import run

    out = tmp_path_factory.mktemp("demo")
    return run(out)


def test_demo_scissors_falls_under_the_plan_only(demo):
    """The shipped USSR 1924/25 example (datasets/ussr_1923/parameters.csv): under the
    industrialisation plan the scissors index falls, under the fixed-share baseline it
    does not, because the plan builds the cheaper modern technique and its share of
    industrial output rises."""
    sc = demo.scissors
    assert sc["industrialisation"].iloc[-1] < 0.97
    assert (sc["baseline"] >= 1 - 1e-9).all()
    plan = demo.comparison.plans["industrialisation"]
    modern = plan.levels[["ind_a_new", "ind_b_new"]].sum(axis=1)
    assert modern.iloc[0] == 0 and modern.iloc[-1] > 0
    assert (demo.comparison.plans["baseline"].levels[["ind_a_new", "ind_b_new"]] == 0).all().all()
    eco = demo.setup.economy
    for p in demo.comparison.plans.values():
        assert p.verify(eco) == []


def test_demo_writes_its_files_and_says_why(demo):
    names = {p.name for p in demo.files}
    assert {"table.csv", "table.parquet", "chart.png", "report.md", "scissors.csv", "parameters_used.csv"} <= names
    for p in demo.files:
        assert p.exists() and p.stat().st_size > 0
    t = pd.read_parquet(demo.out_dir / "table.parquet")
    assert set(t["scenario"]) == {"baseline", "industrialisation"}
    assert len(t) == 10
    for col in ("output_ind_a", "consumption_agr", "total_investment", "scissors_index"):
        assert col in t.columns
    report = demo.report
    assert "illustrative" in report
    assert "Why it falls under the plan" in report and "Why it does not fall under the baseline" in report
    last = demo.scissors["industrialisation"].iloc[-1]
    assert f"{last:,.3f}" in report
    # the illustrative parameters the run read are listed as such
    used = pd.read_csv(demo.out_dir / "parameters_used.csv")
    for name in used.loc[used["status"] == "illustrative", "parameter"]:
        assert f"`{name}`" in report


def test_demo_prints_nothing(tmp_path, capsys):
    from gosplan.examples.ussr_1923 import run

    steps = []
    run(tmp_path / "d", progress=lambda s, k, n: steps.append(k))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert steps[0] == 0 and steps[-1] == 4


def test_cli_compare_writes_tables_and_chart(tmp_path):
    import json

    from typer.testing import CliRunner

    from gosplan.cli import app

    spec = tmp_path / "frugal.json"
    spec.write_text(json.dumps({"name": "frugal", "objective": "basket", "discount": 0.1}))
    out = tmp_path / "cmp"
    res = CliRunner().invoke(app, ["compare", "baseline", "industrialisation", str(spec), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Scissors index" in res.output and "frugal" in res.output
    for name in ("table.parquet", "table.csv", "scissors.csv", "chart.png"):
        assert (out / name).stat().st_size > 0
    sc = pd.read_csv(out / "scissors.csv")
    assert list(sc.columns) == ["period", "baseline", "industrialisation", "frugal"]
    bad = CliRunner().invoke(app, ["compare", "nonsense"])
    assert bad.exit_code != 0
    assert "not 'baseline', 'optimal' or a JSON file" in str(bad.exception)
