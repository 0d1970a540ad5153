"""Tests of gosplan.planning (one-period optimal plans).

Every returned plan goes through ``assert_sound``: optimal status, strong duality
(primal = dual objective, recomputed from the duals and bounds), and an
independent ``plan.verify`` against the raw economy.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import spsolve

from gosplan.economy import Economy
from gosplan.errors import SchemaError, SourceError, UnknownIdError
from gosplan.planning import (
    Lexicographic,
    LinearProgram,
    MaxBasket,
    MaxHarmony,
    MaxValue,
    MinFactor,
    MinShortfall,
    SolverOptions,
    SolverStatus,
    Targets,
    build_model,
    cockshott_harmony,
    diagnose,
    irreducible_infeasible_subset,
    optimal_plan,
    solve_lp,
)


def assert_sound(plan, economy, targets, gap=1e-9):
    assert plan.status is SolverStatus.OPTIMAL, plan.status
    assert abs(plan.objective_value - plan.dual_objective) <= gap * max(1.0, abs(plan.objective_value))
    assert plan.gap <= gap
    report = plan.verify(economy, targets)
    assert report.ok, report.violations
    assert report.inputs_match
    return report


# -- small economies ----------------------------------------------------------------


def leontief(n=40, density=0.15, seed=0, factors=("labour",)):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=rng, format="csr")
    colsum = np.asarray(A.sum(axis=0)).ravel()
    A = sp.csr_array(A @ sp.diags_array(0.6 / np.maximum(colsum, 0.6)))  # column sums <= 0.6: productive
    B = rng.uniform(0.1, 1.0, size=(len(factors), n))
    ids = [f"p{i:03d}" for i in range(n)]
    return Economy.from_coefficients(A, B, products=ids, factors=list(factors)), A, B


def techniques_economy(P, techniques, rng, factors=("labour", "energy")):
    """P products, ``techniques[i]`` alternative single-output activities for product i."""
    make_rows, make_cols, use_rows, use_cols, use_vals = [], [], [], [], []
    acts = []
    j = 0
    for i in range(P):
        for k in range(techniques[i]):
            acts.append(f"p{i}/t{k}")
            make_rows.append(i)
            make_cols.append(j)
            m = rng.integers(0, min(P, 4) + 1)
            inputs = rng.choice(P, size=m, replace=False)
            use_rows.extend(inputs)
            use_cols.extend([j] * m)
            use_vals.extend(rng.uniform(0.0, 0.5 / max(m, 1), size=m))
            j += 1
    J = j
    make = sp.csr_array((np.ones(J), (make_rows, make_cols)), shape=(P, J))
    use = sp.csr_array((use_vals, (use_rows, use_cols)), shape=(P, J))
    fu = rng.uniform(0.05, 1.0, size=(len(factors), J))
    return Economy(
        products=[f"p{i}" for i in range(P)],
        activities=pd.DataFrame(index=pd.Index(acts)),
        factors=list(factors),
        use=use,
        make=make,
        factor_use=fu,
    )


@pytest.fixture(scope="module")
def small():
    A = np.array([[0.1, 0.2, 0.0], [0.3, 0.1, 0.2], [0.0, 0.1, 0.1]])
    B = np.array([[1.0, 0.5, 2.0], [0.0, 0.0, 1.0]])
    e = Economy.from_coefficients(A, B, products=["a", "b", "c"], factors=["labour", "land"])
    return e, A, B


# -- published optima ----------------------------------------------------------------


def test_wyndor_glass_product_mix():
    """Hillier and Lieberman, *Introduction to Operations Research* (Wyndor Glass Co.,
    sec. 3.1; shadow prices in sec. 4.7): max 3 x1 + 5 x2 subject to plant hours
    x1 <= 4, 2 x2 <= 12, 3 x1 + 2 x2 <= 18. Optimum x = (2, 6), Z = 36 (profit in
    $1000 per week), shadow prices of the plants' hours y = (0, 3/2, 1)."""
    e = Economy(
        products=["doors", "windows"],
        activities=["make_doors", "make_windows"],
        factors=pd.DataFrame({"available": [4.0, 12.0, 18.0]}, index=["plant1", "plant2", "plant3"]),
        use=sp.csr_array((2, 2)),
        make=sp.identity(2, format="csr"),
        factor_use=np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 2.0]]),
    )
    t = Targets(weights={"doors": 3.0, "windows": 5.0})
    plan = optimal_plan(e, t, MaxValue())
    assert_sound(plan, e, t)
    np.testing.assert_allclose(plan.levels.to_numpy(), [2.0, 6.0], atol=1e-9)
    assert plan.objective_value == pytest.approx(36.0)
    np.testing.assert_allclose(plan.factor_valuations.to_numpy(), [0.0, 1.5, 1.0], atol=1e-9)
    binding = set(plan.binding.query("kind == 'factor'")["id"])
    assert binding == {"plant2", "plant3"}


def test_kantorovich_machine_tools():
    """Kantorovich (1939), "Mathematical methods of organizing and planning production",
    transl. *Management Science* 6(4), 1960, sec. I (problem A, maximum output of
    complete sets): 3 milling machines, 3 turret lathes and 1 automatic turret lathe
    make two parts; output per machine-day (part 1, part 2): milling (10, 20), turret
    (20, 30), automatic (30, 80). The LP optimum is 86 2/3 sets a day (Kantorovich
    reports 86 whole sets): turret lathes on part 1 only, the automatic on part 2 only,
    milling machines split 8/3 : 1/3. (Figures as commonly reproduced from the paper;
    the optimum and the plan are recomputed here by hand: 3*20 + 10 m1 = 20 m2 + 80
    with m1 + m2 = 3 gives m1 = 8/3.)"""
    rates = {"milling": (10.0, 20.0), "turret": (20.0, 30.0), "automatic": (30.0, 80.0)}
    machines = {"milling": 3.0, "turret": 3.0, "automatic": 1.0}
    acts, make_rows, make_vals, fu_rows = [], [], [], []
    for k, (r1, r2) in rates.items():
        for part, r in ((0, r1), (1, r2)):
            acts.append(f"{k}->part{part + 1}")
            make_rows.append(part)
            make_vals.append(r)
            fu_rows.append(list(machines).index(k))
    J = len(acts)
    e = Economy(
        products=["part1", "part2"],
        activities=acts,
        factors=pd.DataFrame({"available": list(machines.values())}, index=list(machines)),
        use=sp.csr_array((2, J)),
        make=sp.csr_array((make_vals, (make_rows, np.arange(J))), shape=(2, J)),
        factor_use=sp.csr_array((np.ones(J), (fu_rows, np.arange(J))), shape=(3, J)),
    )
    t = Targets(basket={"part1": 1.0, "part2": 1.0})
    plan = optimal_plan(e, t, "basket")
    assert_sound(plan, e, t)
    assert plan.basket_multiple == pytest.approx(86 + 2 / 3)
    lv = plan.levels
    assert lv["turret->part1"] == pytest.approx(3.0)
    assert lv["automatic->part2"] == pytest.approx(1.0)
    assert lv["milling->part1"] == pytest.approx(8 / 3)
    assert lv["milling->part2"] == pytest.approx(1 / 3)
    # Kantorovich's resolving multipliers: every machine group is fully used
    assert (plan.factor_valuations > 0).all()


# -- Leontief economies ----------------------------------------------------------------


def test_labour_minimum_is_the_leontief_solution():
    """With one technique per product and labour the only cost, the plan is
    x = (I - A)^{-1} d and the valuations are the labour values v = l (I - A)^{-1}
    (Leontief 1936; Miller and Blair 2009, eq. 2.11 and sec. 6)."""
    e, A, B = leontief(n=60, seed=3)
    d = pd.Series(np.random.default_rng(1).uniform(0, 5, 60), index=e.product_ids)
    t = Targets(floors=d)
    plan = optimal_plan(e, t, "labour")
    assert_sound(plan, e, t)
    M = sp.csc_array(sp.identity(60) - A)
    x = spsolve(M, d.to_numpy())
    v = spsolve(sp.csc_array(M.T), B[0])
    np.testing.assert_allclose(plan.levels.to_numpy(), x, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(plan.output.to_numpy(), x, rtol=1e-8, atol=1e-10)
    assert plan.factor_totals["labour"] == pytest.approx(B[0] @ x)
    np.testing.assert_allclose(plan.valuations.to_numpy(), v, rtol=1e-8)
    assert plan.objective_value == pytest.approx(B[0] @ x)


def _to_demplan(e: Economy, A: sp.csr_array, l: np.ndarray):
    demplan = pytest.importorskip("demplan")
    n = A.shape[0]
    csc = sp.csc_array(A)
    # demplan holds labour as one more commodity (index n) with an endowment
    inputs, coefs, offsets = [], [], [0]
    for j in range(n):
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]].tolist() + [n]
        vals = csc.data[csc.indptr[j] : csc.indptr[j + 1]].tolist() + [l[j]]
        inputs.extend(rows)
        coefs.extend(vals)
        offsets.append(len(inputs))
    econ = demplan.Economy(
        period=0,
        commodity_id=np.arange(n + 1),
        endowment=np.r_[np.zeros(n), 1e12],
        unit_id=np.arange(n),
        technology_kind=["leontief"] * n,
        technology_scale=np.ones(n),
        input_offsets=np.asarray(offsets),
        input_commodity=np.asarray(inputs),
        input_coefficient=np.asarray(coefs, dtype=float),
        output_offsets=np.arange(n + 1),
        output_commodity=np.arange(n),
        output_coefficient=np.ones(n),
        consumer_id=np.arange(1),
    )
    return demplan, econ


def test_agrees_with_demplan_reference_solution():
    """demplan 0.1.1's ``reference_solution`` (its LP benchmark, scipy/HiGHS) on the
    same Leontief economy with ``MinimizeLabor``: same outputs, labour and shadow
    prices."""
    e, A, B = leontief(n=30, seed=7)
    d = np.random.default_rng(2).uniform(0.5, 3, 30)
    demplan, econ = _to_demplan(e, A, B[0])
    obj = demplan.MinimizeLabor(np.r_[d, 0.0], np.array([30]))
    ref = demplan.reference_solution(econ, obj)
    t = Targets(floors=pd.Series(d, index=e.product_ids))
    plan = optimal_plan(e, t, "labour")
    assert_sound(plan, e, t)
    np.testing.assert_allclose(plan.levels.to_numpy(), ref.plan.output, rtol=1e-7, atol=1e-9)
    assert plan.objective_value == pytest.approx(ref.objective_value, rel=1e-9)
    shadow = np.asarray(ref.plan.valuation["shadow_price"])[:30]
    np.testing.assert_allclose(plan.valuations.to_numpy(), shadow, rtol=1e-7, atol=1e-9)


def test_substitution_theorem_technique_choice_does_not_depend_on_demand():
    """Samuelson (1951) non-substitution theorem: one primary factor, no joint
    production: the labour-minimising techniques are the same for every final demand."""
    rng = np.random.default_rng(11)
    e = techniques_economy(8, [2] * 8, rng, factors=("labour",))
    chosen = []
    for seed in range(3):
        d = pd.Series(np.random.default_rng(seed).uniform(0.5, 2, 8), index=e.product_ids)
        t = Targets(floors=d)
        plan = optimal_plan(e, t, "labour")
        assert_sound(plan, e, t)
        chosen.append(frozenset(plan.levels.index[plan.levels > 1e-9]))
    assert chosen[0] == chosen[1] == chosen[2]


def test_binding_factor_limit_makes_the_plan_mix_techniques():
    """Two techniques for steel: one cheap in labour and heavy in energy, one the
    reverse. With energy scarce the plan runs both, energy binds, and its valuation is
    the labour that one more unit of energy saves: (3 - 1) / (4 - 1) = 2/3."""
    e = Economy(
        products=["steel"],
        activities=["steel/coal", "steel/electric"],
        factors=pd.DataFrame({"available": [np.inf, 25.0]}, index=["labour", "energy"]),
        use=sp.csr_array((1, 2)),
        make=np.array([[1.0, 1.0]]),
        factor_use=np.array([[1.0, 3.0], [4.0, 1.0]]),
    )
    t = Targets(floors={"steel": 10.0})
    plan = optimal_plan(e, t, "labour")
    assert_sound(plan, e, t)
    # z1 + z2 = 10, 4 z1 + z2 = 25 -> z1 = 5, z2 = 5; labour = 5 + 15 = 20
    np.testing.assert_allclose(plan.levels.to_numpy(), [5.0, 5.0])
    assert plan.objective_value == pytest.approx(20.0)
    assert plan.factor_valuations["energy"] == pytest.approx(2 / 3)
    assert plan.valuations["steel"] == pytest.approx(1 + 4 * 2 / 3)
    assert plan.constraints.set_index(["kind", "id"]).loc[("factor", "energy"), "binding"]


def test_joint_production_and_capacity():
    """A refinery makes petrol and diesel jointly; a second activity makes diesel alone.
    With the refinery's capacity binding, the rest of the diesel comes from the
    second activity."""
    e = Economy(
        products=["petrol", "diesel"],
        activities=pd.DataFrame({"capacity": [4.0, np.inf]}, index=["refinery", "gtl"]),
        factors=["labour"],
        use=sp.csr_array((2, 2)),
        make=np.array([[2.0, 0.0], [1.0, 1.0]]),
        factor_use=np.array([[1.0, 2.0]]),
    )
    t = Targets(floors={"petrol": 6.0, "diesel": 7.0})
    plan = optimal_plan(e, t, "labour")
    assert_sound(plan, e, t)
    np.testing.assert_allclose(plan.levels.to_numpy(), [4.0, 3.0])
    cap = plan.constraints.set_index(["kind", "id"]).loc[("capacity", "refinery")]
    assert cap["binding"] and cap["valuation"] == pytest.approx(1.0)  # 2 labour saved - 1 spent
    assert plan.valuations["petrol"] == pytest.approx(0.0)  # surplus petrol: free
    assert plan.valuations["diesel"] == pytest.approx(2.0)


# -- other objectives ----------------------------------------------------------------


def test_basket_multiple_and_lexicographic_floors_first(small):
    e, A, B = small
    t = Targets(floors={"a": 1.0, "b": 2.0, "c": 0.5}, basket={"a": 1.0, "b": 1.0})
    plan = optimal_plan(e, t, MaxBasket(), limits={"labour": 20.0})
    assert_sound(plan, e, t)
    # all labour is used: the multiple is (20 - v.d) / v.b with v the labour values
    v = np.linalg.solve((np.eye(3) - A).T, B[0])
    assert plan.basket_multiple == pytest.approx((20 - v @ [1, 2, 0.5]) / (v @ [1, 1, 0]))
    assert plan.factor_valuations["labour"] == pytest.approx(1 / (v @ [1, 1, 0]))

    # impossible floors: the lexicographic plan meets as much of them as it can first
    tight = Targets(floors={"a": 10.0, "b": 2.0, "c": 0.5}, basket={"a": 1.0, "b": 1.0})
    lex = optimal_plan(e, tight, "floors,basket", limits={"labour": 10.0})
    assert_sound(lex, e, tight)
    assert lex.shortfall.sum() > 0
    assert lex.basket_multiple == pytest.approx(0.0, abs=1e-5)  # within the stage tolerance
    assert len(lex.stages) == 2
    short = lex.verify(e, tight).shortfalls
    assert set(short.index) <= {"a", "b", "c"}


def test_lexicographic_then_labour(small):
    e, _, _ = small
    t = Targets(floors={"a": 1.0}, basket={"b": 1.0})
    plan = optimal_plan(e, t, Lexicographic((MinShortfall(), MaxBasket(), MinFactor("labour"))), limits={"labour": 8.0})
    assert_sound(plan, e, t, gap=1e-7)
    assert plan.stages[1]["value"] == pytest.approx(plan.basket_multiple, rel=1e-6)
    assert plan.factor_use(e)["labour"] <= 8.0 + 1e-6


def test_cockshott_harmony_function():
    """H(s) = s - s^2/2 (s < 0), ln(1 + s) (s >= 0): Cockshott's Harmony.java
    (github.com/wc22m/5yearplan). Continuous with slope 1 at 0, concave."""
    s = np.linspace(-0.9, 3, 200)
    h = cockshott_harmony(s)
    assert cockshott_harmony(0.0) == 0.0
    assert cockshott_harmony(-0.5) == pytest.approx(-0.625)
    assert cockshott_harmony(1.0) == pytest.approx(np.log(2))
    assert (np.diff(h, 2) <= 1e-12).all()


def test_harmony_plan_is_exact_piecewise_linear_optimum():
    """Two symmetric products and one labour limit: harmony spreads the labour evenly
    (diminishing returns); the LP value is the piecewise-linear harmony of the plan."""
    e = Economy(
        products=["bread", "books"],
        activities=["bake", "print"],
        factors=pd.DataFrame({"available": [30.0]}, index=["labour"]),
        use=sp.csr_array((2, 2)),
        make=sp.identity(2, format="csr"),
        factor_use=np.array([[1.0, 1.0]]),
    )
    t = Targets(basket={"bread": 10.0, "books": 10.0})
    obj = MaxHarmony()
    plan = optimal_plan(e, t, obj)
    assert_sound(plan, e, t)
    np.testing.assert_allclose(plan.fulfilment.to_numpy(), [1.5, 1.5], atol=1e-7)
    assert plan.objective_value == pytest.approx(2 * cockshott_harmony(0.5))  # 1.5 is a breakpoint
    # a priority (weight) on bread tilts the plan towards bread
    t2 = Targets(basket={"bread": 10.0, "books": 10.0}, weights={"bread": 3.0})
    p2 = optimal_plan(e, t2, obj)
    assert_sound(p2, e, t2)
    assert p2.fulfilment["bread"] > p2.fulfilment["books"]
    a, c = obj.pieces()
    u = p2.fulfilment.to_numpy()
    pwl = np.min(a[None, :] * u[:, None] + c[None, :], axis=1)
    assert p2.objective_value == pytest.approx(3 * pwl[0] + pwl[1])


def test_group_weights_and_regions():
    e = Economy(
        products=["N/bread", "S/bread"],
        activities=["N/bake", "S/bake"],
        factors=pd.DataFrame({"available": [10.0]}, index=["labour"]),
        use=sp.csr_array((2, 2)),
        make=sp.identity(2, format="csr"),
        factor_use=np.array([[1.0, 1.0]]),
    )
    frame = pd.DataFrame(
        {"product": ["bread", "bread"], "region": ["N", "S"], "basket": [1.0, 1.0], "group": ["food", "food"]}
    )
    t = Targets.from_frame(frame)
    t = dataclasses.replace(t, weights=pd.Series({"food": 2.0, "S/bread": 1.0}))
    r = t.resolve(e)
    np.testing.assert_allclose(r.weight, [2.0, 1.0])
    np.testing.assert_allclose(r.basket, [1.0, 1.0])


def test_trade_limit_binds():
    """Two regions; the south makes tools cheaply, the north dearly. A limit on
    tools shipped north forces the north to make some of its own."""
    e = Economy(
        products=["N/tools", "S/tools", "N/bread"],
        activities=["N/tools", "S/tools", "N/bake"],
        factors=["labour"],
        use=np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]]),
        make=np.identity(3),
        factor_use=np.array([[3.0, 1.0, 1.0]]),
    )
    # "N/bake" uses 0.5 of *each* tools product per unit: make them substitutes
    # by giving two baking techniques instead
    e = Economy(
        products=["N/tools", "S/tools", "N/bread"],
        activities=["N/tools", "S/tools", "N/bake_local", "N/bake_import"],
        factors=["labour"],
        use=np.array([[0, 0, 1.0, 0], [0, 0, 0, 1.0], [0, 0, 0, 0]]),
        make=np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 1.0]]),
        factor_use=np.array([[3.0, 1.0, 1.0, 1.0]]),
    )
    t = Targets(floors={"N/bread": 10.0})
    free = optimal_plan(e, t, "labour")
    assert_sound(free, e, t)
    assert free.levels["N/bake_import"] == pytest.approx(10.0)
    limited = optimal_plan(e, t, "labour", trade_limits={("S", "N"): 4.0})
    assert_sound(limited, e, t)
    assert limited.levels["N/bake_import"] == pytest.approx(4.0)
    row = limited.constraints.set_index(["kind", "id"]).loc[("trade", "S->N")]
    assert row["binding"] and row["valuation"] == pytest.approx(2.0)
    assert free.verify(e, t).ok is not False
    # the free plan breaks the trade limit: verify on a plan claiming the limit finds it
    forged = free.replace(trade_limits={("S", "N"): 4.0})
    rep = forged.verify(e, t)
    assert not rep.ok and set(rep.violations["kind"]) == {"trade"}


# -- verify ----------------------------------------------------------------------------


def test_verify_fails_on_perturbed_plans(small):
    e, _, _ = small
    t = Targets(floors={"a": 1.0, "b": 2.0, "c": 0.5})
    plan = optimal_plan(e, t, "labour", limits={"labour": 6.0})
    assert_sound(plan, e, t)
    short = plan.replace(levels=plan.levels * 0.99)
    rep = short.verify(e, t)
    assert not rep.ok
    assert set(rep.violations["kind"]) == {"balance"}
    assert set(rep.violations["id"]) == {"a", "b", "c"}
    over = plan.replace(levels=plan.levels * 1.5)
    rep = over.verify(e, t)
    assert not rep.ok and "factor" in set(rep.violations["kind"])
    neg = plan.replace(levels=plan.levels.where(plan.levels.index != "a", -1.0))
    assert "level" in set(neg.verify(e, t).violations["kind"])
    with pytest.raises(SchemaError, match="does not hold"):
        short.verify(e, t).raise_if_failed()
    # another economy: the manifest says the inputs differ
    e2 = dataclasses.replace(e, factor_use=e.factor_use * 0.5)
    assert not plan.verify(e2, t).inputs_match


def test_manifest_and_write(tmp_path, small):
    e, _, _ = small
    t = Targets(floors={"a": 1.0})
    p1 = optimal_plan(e, t, "labour")
    p2 = optimal_plan(e, t, "labour")
    for key in ("economy", "targets", "overrides"):
        assert p1.manifest[key] == p2.manifest[key]
    assert len(p1.manifest["economy"]["use"]) == 64
    assert {"numpy", "scipy", "highspy", "gosplan"} <= set(p1.manifest["versions"])
    p3 = optimal_plan(e, Targets(floors={"a": 2.0}), "labour")
    assert p3.manifest["targets"]["targets"] != p1.manifest["targets"]["targets"]
    out = p1.write(tmp_path / "plan.parquet", e)
    df = pd.read_parquet(out)
    assert set(df["kind"]) == {"activity", "product", "factor"}
    assert (tmp_path / "plan.parquet.manifest.json").exists()
    p1.write(tmp_path / "plan.csv")
    with pytest.raises(SourceError):
        p1.write(tmp_path / "plan.xlsx")


# -- impossible plans --------------------------------------------------------------------


def test_impossible_labour_limit_names_targets_and_limit(small):
    """Labour needed is v.d = 5.068 > 4; dropping any one of the three targets makes it
    possible (v.d without c = 3.83 < 4), so the irreducible conflict is all three
    targets and the labour limit, and nothing else."""
    e, A, B = small
    t = Targets(floors={"a": 1.0, "b": 2.0, "c": 0.5})
    plan = optimal_plan(e, t, "labour", limits={"labour": 4.0})
    assert plan.status is SolverStatus.INFEASIBLE
    d = plan.diagnosis
    assert not d.feasible
    assert d.target_ids == {"a", "b", "c"}
    assert d.limit_ids == {("factor", "labour")}
    v = np.linalg.solve((np.eye(3) - A).T, B[0])
    lim = d.relaxations["limits"].set_index("id")
    assert lim.loc["labour", "new"] == pytest.approx(v @ [1, 2, 0.5])
    tg = d.relaxations["targets"]
    # cutting the target whose labour value per unit of target is largest... any cut must free 1.068 labour
    freed = sum(-r.change * v[e.product_ids.get_loc(r.id)] for r in tg.itertuples())
    assert freed == pytest.approx(v @ [1, 2, 0.5] - 4.0)
    assert "impossible" in str(d) and "labour" in str(d)


def test_impossible_capacity_names_only_that_target():
    """Two products; only the target for 'a' exceeds the capacity of its one maker.
    The diagnosis names target a and capacity of 'make_a', not the target for b."""
    e = Economy(
        products=["a", "b"],
        activities=pd.DataFrame({"capacity": [5.0, np.inf]}, index=["make_a", "make_b"]),
        factors=["labour"],
        use=np.array([[0.0, 0.1], [0.0, 0.0]]),
        make=np.identity(2),
        factor_use=np.array([[1.0, 1.0]]),
    )
    t = Targets(floors={"a": 8.0, "b": 1.0})
    d = diagnose(e, t)
    assert d.target_ids == {"a"}
    assert d.limit_ids == {("capacity", "make_a")}
    rel = d.relaxations["limits"].set_index("id")
    assert rel.loc["make_a", "new"] == pytest.approx(8.1)  # b uses 0.1 a per unit
    rt = d.relaxations["targets"].set_index("id")
    assert rt.loc["a", "new"] == pytest.approx(4.9)
    # the elastic-only diagnosis (for big economies) reads the same culprits
    de = diagnose(e, t, method="elastic")
    assert de.target_ids == {"a"} and de.limit_ids == {("capacity", "make_a")}


def test_feasible_plan_diagnosis_says_so(small):
    e, _, _ = small
    d = diagnose(e, Targets(floors={"a": 1.0}))
    assert d.feasible and "possible" in d.message()


# -- targets validation ------------------------------------------------------------------


def test_targets_unknown_products_are_named(small):
    e, _, _ = small
    with pytest.raises(UnknownIdError, match="'zinc'"):
        Targets(floors={"a": 1.0, "zinc": 2.0}).resolve(e)
    with pytest.raises(UnknownIdError, match="'grain'"):
        Targets(weights={"grain": 2.0}).resolve(e)
    with pytest.raises(SchemaError, match="basket"):
        Targets(basket={"a": -1.0})
    with pytest.raises(SchemaError, match="not finite"):
        Targets(floors={"a": np.nan})
    with pytest.raises(SchemaError, match="needs a basket"):
        optimal_plan(e, Targets(floors={"a": 1.0}), "basket")
    with pytest.raises(UnknownIdError, match="coal"):
        optimal_plan(e, Targets(floors={"a": 1.0}), "labour", limits={"coal": 1.0})
    with pytest.raises(SchemaError, match="unknown objective"):
        optimal_plan(e, Targets(floors={"a": 1.0}), "happiness")


def test_targets_read_csv(tmp_path, small):
    e, _, _ = small
    p = tmp_path / "targets.csv"
    p.write_text("product,floor,basket,weight\na,1.5,,\nb,,2,3\n")
    t = Targets.read_csv(p)
    r = t.resolve(e)
    np.testing.assert_allclose(r.floor, [1.5, 0, 0])
    np.testing.assert_allclose(r.basket, [0, 2, 0])
    np.testing.assert_allclose(r.weight, [1, 3, 1])
    bad = tmp_path / "bad.csv"
    bad.write_text("product,floor\na,lots\n")
    with pytest.raises(SchemaError, match=r"bad.csv.*row 1.*'a'"):
        Targets.read_csv(bad)
    with pytest.raises(SourceError, match="not found"):
        Targets.read_csv(tmp_path / "none.csv")


# -- the solver seam -------------------------------------------------------------------


def test_solver_methods_agree_and_report_accuracy():
    e, A, B = leontief(n=80, seed=5)
    t = Targets(floors=pd.Series(1.0, index=e.product_ids))
    model = build_model(e, t)
    c = np.zeros(model.n_cols)
    c[model.cols["levels"]] = B[0]
    lp = model.program(c, "min")
    ref = solve_lp(lp, SolverOptions(method="simplex"))
    for method in ("ipm", "ipm_no_crossover", "dual_simplex", "primal_simplex", "pdlp"):
        r = solve_lp(lp, SolverOptions(method=method))
        if method == "pdlp":
            # HiGHS calls it optimal; certified from the arrays it is so only at 1e-7
            acc = r.info["accuracy"]
            certified = max(acc["primal"], acc["dual"], acc["gap"]) <= 1e-7
            assert r.status is (SolverStatus.OPTIMAL if certified else SolverStatus.APPROXIMATE), method
        else:
            assert r.status is SolverStatus.OPTIMAL, method
        tol = 1e-4 if method == "pdlp" else 1e-7
        assert r.objective == pytest.approx(ref.objective, rel=tol), method
        assert r.gap < tol and r.primal_infeasibility < tol * 10, method


def test_solver_progress_interrupt_and_iis():
    rng = np.random.default_rng(0)
    n = 400
    A = sp.random(n, n, density=0.02, random_state=rng, format="csr") * 0.1
    M = sp.identity(n) - A
    lp = LinearProgram(c=np.ones(n), A=M, row_lower=np.ones(n), row_upper=np.full(n, np.inf),
                       col_lower=np.zeros(n), col_upper=np.full(n, np.inf))
    seen = []
    r = solve_lp(lp, SolverOptions(method="simplex", presolve=False), progress=lambda d: seen.append(d) or True)
    assert seen and {"method", "iteration", "objective", "seconds"} <= set(seen[0])
    assert r.status is SolverStatus.INTERRUPTED
    bad = LinearProgram(c=[1.0, 1.0], A=sp.csr_array([[1.0, 1.0]]), row_lower=[2.0], row_upper=[np.inf],
                        col_lower=[0.0, 0.0], col_upper=[1.0, 0.5])
    rows, cols = irreducible_infeasible_subset(bad)
    assert rows.tolist() == [0] and cols.tolist() == [0, 1]
    with pytest.raises(SchemaError, match="lower bound"):
        LinearProgram(c=[1.0], A=sp.csr_array([[1.0]]), row_lower=[2.0], row_upper=[1.0],
                      col_lower=[0.0], col_upper=[1.0])


# -- property tests --------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    P=st.integers(2, 7),
    limit_share=st.floats(0.5, 3.0),
)
def test_random_economies_with_alternative_techniques(seed, P, limit_share):
    """Random productive economies, 1-3 techniques per product, two factors with a
    limit on energy: every optimal plan meets its targets (independent check),
    strong duality holds, and the plan is never worse than any one pure choice of
    techniques that also respects the limit."""
    rng = np.random.default_rng(seed)
    e = techniques_economy(P, rng.integers(1, 4, size=P), rng)
    d = pd.Series(rng.uniform(0.1, 2.0, P), index=e.product_ids)
    t = Targets(floors=d)
    free = optimal_plan(e, t, "labour")
    assert_sound(free, e, t, gap=1e-8)
    energy = float(free.factor_use(e)["energy"]) * limit_share
    plan = optimal_plan(e, t, "labour", limits={"energy": energy})
    if plan.status is SolverStatus.INFEASIBLE:
        assert plan.diagnosis is not None and ("factor", "energy") in plan.diagnosis.limit_ids
        return
    assert_sound(plan, e, t, gap=1e-8)
    assert plan.objective_value >= free.objective_value - 1e-8 * max(1, free.objective_value)
    # one pure technique choice per product: a Leontief plan, feasible if it respects the limit
    first = np.array([np.flatnonzero(e.make.toarray()[i])[0] for i in range(P)])
    sel = e.select(activities=e.activity_ids[first])
    x = spsolve(sp.csc_array(sp.identity(P) - sel.A), d.to_numpy())
    lab = e.factor_use[[0]][:, first] @ x
    en = e.factor_use[[1]][:, first] @ x
    if en[0] <= energy:
        assert plan.objective_value <= lab[0] + 1e-7 * max(1, lab[0])


# -- CLI ----------------------------------------------------------------------------------


def test_cli_plan(tmp_path, small):
    from typer.testing import CliRunner

    from gosplan.cli import app
    from gosplan.sources import write_economy

    e, _, _ = small
    folder = write_economy(e, tmp_path / "econ", format="csv")
    targets = tmp_path / "targets.csv"
    targets.write_text("product,floor,basket\na,1,1\nb,2,1\nc,0.5,\n")
    runner = CliRunner()
    out = tmp_path / "plan.parquet"
    r = runner.invoke(app, ["plan", str(folder), "--targets", str(targets), "--objective", "basket",
                            "--limit", "labour=20", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "optimal" in r.output and "basket multiple" in r.output and "Binding constraints" in r.output
    df = pd.read_parquet(out)
    assert (df.query("kind == 'activity'")["level"] > 0).all()
    r = runner.invoke(app, ["plan", str(folder), "--targets", str(targets), "--limit", "labour=4"])
    assert r.exit_code == 1 and "impossible" in r.output and "labour" in r.output
    r = runner.invoke(app, ["plan", str(folder), "--targets", str(targets), "--limit", "labour"])
    assert r.exit_code != 0


# -- the substitution method ---------------------------------------------------------------


def _with_caps_and_limits(e, rng, share_capped=0.3):
    caps = np.where(rng.uniform(size=len(e.activities)) < share_capped, rng.uniform(0.1, 2.0, len(e.activities)), np.inf)
    return dataclasses.replace(e, activities=e.activities.assign(capacity=caps))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), P=st.integers(2, 8), limit_share=st.floats(0.6, 1.5))
def test_substitution_method_matches_highs(seed, P, limit_share):
    """The factorisation-free substitution method (merit-order fixed point inside,
    Kelley cutting planes on the factor limits outside) reaches the same optimum as
    HiGHS's simplex on random economies with alternative techniques, capacities and
    a binding energy limit, and certifies it (gap, primal and dual infeasibility)."""
    rng = np.random.default_rng(seed)
    e = _with_caps_and_limits(techniques_economy(P, rng.integers(1, 4, size=P), rng), rng)
    d = pd.Series(rng.uniform(0.1, 2.0, P), index=e.product_ids)
    t = Targets(floors=d)
    ref = optimal_plan(e, t, "labour", options=SolverOptions(method="simplex"), diagnose=False)
    if ref.status is not SolverStatus.OPTIMAL:
        return
    energy = float(ref.factor_use(e)["energy"]) * limit_share
    ref = optimal_plan(e, t, "labour", limits={"energy": energy}, options=SolverOptions(method="simplex"), diagnose=False)
    every_product_has_an_uncapped_technique = (
        np.bincount(e.make.tocsc().indices[~np.isfinite(e.activities["capacity"].to_numpy())], minlength=P) > 0
    ).all()
    sub_opts = SolverOptions(method="substitution")
    if not every_product_has_an_uncapped_technique:
        with pytest.raises(SchemaError, match="needs one without"):
            optimal_plan(e, t, "labour", limits={"energy": energy}, options=sub_opts, diagnose=False)
        return
    sub = optimal_plan(e, t, "labour", limits={"energy": energy}, options=sub_opts, diagnose=False)
    assert sub.status is ref.status
    if ref.status is not SolverStatus.OPTIMAL:
        return
    assert_sound(sub, e, t, gap=1e-7)
    assert sub.objective_value == pytest.approx(ref.objective_value, rel=1e-7, abs=1e-9)
    if sub.solver["method"] != "substitution":
        # a degenerate capacity (see the next test) made it give way to HiGHS, saying why
        assert sub.solver["substitution_failure"]


def test_substitution_method_certifies_degenerate_capacities():
    """Seed 4: capacities (two at their bound) and a binding energy limit.
    Seed 1048577: at the optimum a capacity binds *exactly* and the rent on it is set
    by a tie between two techniques of the product that uses it, not by a technique
    of its own product; the merit-order fixed point cycles there, so that capacity
    is priced by the outer cutting planes like a factor limit. Both are certified
    by the method itself and agree with HiGHS."""
    for seed, P, relaxed in ((4, 8, 0), (1048577, 4, 1)):
        rng = np.random.default_rng(seed)
        e = _with_caps_and_limits(techniques_economy(P, rng.integers(1, 4, size=P), rng), rng)
        t = Targets(floors=pd.Series(rng.uniform(0.1, 2.0, P), index=e.product_ids))
        ref = optimal_plan(e, t, "labour", options=SolverOptions(method="simplex"))
        limits = {"energy": float(ref.factor_use(e)["energy"]) * (0.8 if seed == 4 else 1.0)}
        ref = optimal_plan(e, t, "labour", limits=limits, options=SolverOptions(method="simplex"))
        sub = optimal_plan(e, t, "labour", limits=limits, options=SolverOptions(method="substitution"))
        assert_sound(sub, e, t, gap=1e-7)
        assert sub.objective_value == pytest.approx(ref.objective_value, rel=1e-7)
        assert sub.solver["method"] == "substitution" and sub.solver["cutting_planes"] >= 2
        assert sub.solver["capacities_priced_as_limits"] == relaxed
        np.testing.assert_allclose(sub.valuations.to_numpy(), ref.valuations.to_numpy(), rtol=1e-6, atol=1e-8)


def test_substitution_method_on_a_leontief_economy_and_its_limits():
    e, A, B = leontief(n=50, seed=9)
    d = pd.Series(1.0, index=e.product_ids)
    t = Targets(floors=d)
    plan = optimal_plan(e, t, "labour", options=SolverOptions(method="substitution"))
    assert plan.solver["method"] == "substitution"
    assert_sound(plan, e, t)
    x = spsolve(sp.csc_array(sp.identity(50) - A), d.to_numpy())
    np.testing.assert_allclose(plan.levels.to_numpy(), x, rtol=1e-9)
    # where it does not apply it says why
    with pytest.raises(SchemaError, match="not a minimisation"):
        optimal_plan(e, Targets(basket=d), "basket", options=SolverOptions(method="substitution"))
