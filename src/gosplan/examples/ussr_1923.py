"""The shipped historical example: industrialisation and the scissors, USSR 1924/25.

Data flow one way: ``datasets/ussr_1923/parameters.csv`` (every number with its
source and status sourced / derived / illustrative) -> :func:`ussr_1923_economy`
(an :class:`Economy` of agriculture, heavy industry "group A" making means of
production and light industry "group B" making consumer goods, with capital
coefficients, two labour forces and a cheaper modern technique for each industry
that needs investment first) -> two multi-period plans
(:func:`gosplan.planning.scenarios.compare`): a market-led baseline that keeps
the base year's investment shares (New Economic Policy) and the optimal
industrialisation plan -> per-year tables, a chart and a report in the folder
given to :func:`run`. Nothing here prints; the CLI does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gosplan.economy import Economy
from gosplan.errors import SchemaError, SourceError
from gosplan.plots import comparison_chart
from gosplan.sources.tables import write_table

__all__ = ["DemoResult", "DemoSetup", "chart_options", "demo_scenarios", "html_report", "load_parameters", "parameter_counts", "run",
           "terminal_growth", "ussr_1923_economy", "ussr_1923_setup"]

PARAMETER_COLUMNS = ["parameter", "value", "unit", "year", "status", "source_id", "source_locator", "note"]
PERIODS = ["1924/25", "1925/26", "1926/27", "1927/28", "1928/29"]
SECTORS = ["agr", "ind_a", "ind_b"]
INDUSTRY = ["ind_a", "ind_b"]
OUTPUT_UNIT = "gross output, million pre-war roubles"
#: what households consume (the basket); heavy industry's final use is investment
#: outside the three sectors (transport, housing), not consumption
CONSUMER_GOODS = ["agr", "ind_b"]


def _default_path() -> Path:
    return Path(str(resources.files("gosplan").joinpath("datasets", "ussr_1923", "parameters.csv")))


def load_parameters(path: str | Path | None = None) -> pd.DataFrame:
    """The parameter table (one row per number, with its source and status).

    Only the ``model_*`` rows feed the economy; the others are the sourced
    aggregates they were derived from. Returns the table indexed by parameter
    for the ``model_*`` rows (the other rows keep a running index).
    """
    p = _default_path() if path is None else Path(path)
    try:
        df = pd.read_csv(p)
    except FileNotFoundError:
        raise SourceError(f"{p}: the USSR 1923 parameter table is missing; reinstall gosplan or pass its path") from None
    missing = [c for c in PARAMETER_COLUMNS if c not in df.columns]
    if missing:
        raise SourceError(f"{p}: column(s) {missing} missing; expected {PARAMETER_COLUMNS}")
    bad = ~df["status"].isin(["sourced", "derived", "illustrative"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceError(f"{p}: line {i + 2}: status {df['status'].iloc[i]!r} is not sourced/derived/illustrative")
    return df


class _Params:
    """Look-up of ``model_*`` parameters that remembers which were read."""

    def __init__(self, table: pd.DataFrame, where: str):
        rows = table[table["parameter"].astype(str).str.startswith("model_")]
        dup = rows["parameter"][rows["parameter"].duplicated()]
        if len(dup):
            raise SourceError(f"{where}: parameter {dup.iloc[0]!r} is given twice")
        self.rows = rows.set_index("parameter")
        self.where = where
        self.used: list[str] = []

    def __call__(self, name: str) -> float:
        key = f"model_{name}"
        if key not in self.rows.index:
            raise SourceError(f"{self.where}: parameter {key!r} is missing; add a row for it with its source")
        v = float(self.rows.at[key, "value"])
        if not np.isfinite(v):
            raise SourceError(f"{self.where}: parameter {key!r} is not a number")
        if key not in self.used:
            self.used.append(key)
        return v

    def used_table(self) -> pd.DataFrame:
        return self.rows.loc[self.used].reset_index()


@dataclass(frozen=True, eq=False)
class DemoSetup:
    """The economy and the data common to both scenarios."""

    economy: Economy
    periods: list[str]
    common: dict[str, Any]
    unit_cost: pd.Series
    baseline_shares: pd.Series
    baseline_rate: float
    outside_share: float
    multipliers: dict[str, float]
    labour_growth: dict[str, float]
    heavy_share_of_industrial_investment: float
    basket: pd.Series
    scissors_1913: float
    parameters: pd.DataFrame


def ussr_1923_setup(table: pd.DataFrame | None = None, where: str = "parameters.csv") -> DemoSetup:
    """Build the USSR 1924/25 economy and the plan data from the parameter table.

    Products ``agr`` (agriculture), ``ind_a`` (heavy industry, means of production),
    ``ind_b`` (light industry, consumer goods), in million pre-war roubles.
    Activities: one traditional technique per sector, calibrated to 1924/25 (input
    coefficients, labour per unit, capacity = output / utilisation, capital per
    unit of capacity in ind_a goods), and a modern technique for each industry
    (``ind_a_new``, ``ind_b_new``) using ``labour_multiplier`` times the labour,
    ``material_multiplier`` times the materials and ``capital_multiplier`` times
    the capital per unit, available from ``new_technique_first_period`` with no
    capacity: it must be built first. Two labour forces: peasant labour
    (agriculture) and industrial labour, both growing at their rates.

    Primary cost per unit of level (for the price model): value added less
    capital consumption at base prices, so that base prices are 1; the modern
    technique's labour cost is the old one's times the labour multiplier.
    """
    table = load_parameters() if table is None else table
    p = _Params(table, where)
    x = np.array([p("gross_output_agr"), p("gross_output_ind_a"), p("gross_output_ind_b")])
    A = np.array([[p(f"a_{i}_{j}") for j in SECTORS] for i in SECTORS])
    labour = np.array([p("labour_coef_agr"), p("labour_coef_ind_a"), p("labour_coef_ind_b")])  # persons per 1000 roubles
    cap_ind_a = np.array([p("capital_coef_ind_a_for_agr"), p("capital_coef_ind_a_for_ind_a"), p("capital_coef_ind_a_for_ind_b")])
    capacity = np.array([p("capacity_agr"), p("capacity_ind_a"), p("capacity_ind_b")])
    dep = p("depreciation_rate")
    lag = {"agr": int(p("gestation_lag_agr")), "ind_a": int(p("gestation_lag_ind_a")), "ind_b": int(p("gestation_lag_ind_b"))}
    lm, mm, km = p("new_technique_labour_multiplier"), p("new_technique_material_multiplier"), p("new_technique_capital_multiplier")
    first = int(p("new_technique_first_period"))
    growth = p("labour_growth")
    scissors_1913 = p("scissors_index_start")
    share_ind, share_agr = p("investment_share_ind_baseline"), p("investment_share_agr_baseline")
    share_a = p("share_ind_a_in_industrial_investment_baseline")
    ind_workers_growth = _industrial_labour_growth(table, where)

    if (A.sum(axis=0) >= 1).any():
        raise SchemaError(f"{where}: input coefficients of a sector add up to 1 or more; check the model_a_* rows")
    fd = x - A @ x
    if (fd <= 0).any():
        raise SchemaError(f"{where}: base-year final demand x - A x is not positive; check the model_a_* rows")

    acts = ["agr", "ind_a", "ind_b", "ind_a_new", "ind_b_new"]
    new_of = [1, 2]  # the modern techniques are industrial
    use = np.hstack([A, mm * A[:, new_of]])
    make = np.hstack([np.eye(3), np.eye(3)[:, new_of]])
    # labour per unit (persons per thousand roubles -> million persons per million roubles)
    lab = labour / 1000.0
    peasant = np.array([lab[0], 0, 0, 0, 0])
    workers = np.array([0, lab[1], lab[2], lm * lab[1], lm * lab[2]])
    capital = np.zeros((3, 5))
    capital[1, :3] = cap_ind_a
    capital[1, 3:] = km * cap_ind_a[new_of]
    labour_agr = lab[0] * x[0]
    labour_ind = float(lab[1:] @ x[1:])
    eco = Economy(
        products=pd.DataFrame(
            {
                "name": ["agriculture", "heavy industry (group A, means of production)", "light industry (group B, consumer goods)"],
                "unit": "million pre-war roubles",
            },
            index=SECTORS,
        ),
        activities=pd.DataFrame(
            {
                "name": [
                    "peasant agriculture",
                    "heavy industry, inherited plant",
                    "light industry, inherited plant",
                    "heavy industry, modern plant",
                    "light industry, modern plant",
                ],
                "capacity": [capacity[0], capacity[1], capacity[2], np.inf, np.inf],
            },
            index=acts,
        ),
        factors=pd.DataFrame(
            {"unit": "million persons", "available": [labour_agr, labour_ind]},
            index=["peasant_labour", "industrial_labour"],
        ),
        use=use,
        make=make,
        factor_use=np.vstack([peasant, workers]),
        capital=capital,
        levels=pd.Series(np.r_[x, 0.0, 0.0], index=acts),
        final_demand=pd.DataFrame({"final_demand": fd}, index=SECTORS),
        name="USSR 1924/25 (three sectors, two techniques in industry)",
        meta={"source": "gosplan/datasets/ussr_1923/parameters.csv; see PROVENANCE.md"},
    )
    va_per_unit = 1.0 - A.sum(axis=0)  # value added per unit of gross output, base prices 1
    capital_cost = dep * cap_ind_a  # ind_a goods at base price 1 per unit of level
    labour_cost = va_per_unit - capital_cost
    if (labour_cost <= 0).any():
        raise SchemaError(f"{where}: value added does not cover capital consumption in sector {SECTORS[int(np.argmin(labour_cost))]!r}")
    unit_cost = pd.Series(np.r_[labour_cost, lm * labour_cost[new_of]], index=acts, name="unit_cost")

    # baseline: the 1924/25 pattern of investment carried forward; transport and
    # housing lie outside the three sectors and are left out, shares renormalised
    shares = pd.Series({"agr": share_agr, "ind_a": share_ind * share_a, "ind_b": share_ind * (1 - share_a)})
    shares = shares / shares.sum()
    # floors: households keep their base-year consumption of farm and light-industry
    # goods; investment outside the three sectors (transport, housing) keeps its
    # base-year share of heavy industry's final output
    outside = 1.0 - share_ind - share_agr
    consumption = pd.Series({"agr": fd[0], "ind_b": fd[2]})
    floors = pd.Series({"agr": fd[0], "ind_a": outside * fd[1], "ind_b": fd[2]})
    basket = consumption / consumption.sum() * 100.0  # one unit = 100 million roubles in the base-year mix
    # the baseline saves what the base year saved in the model's own accounts: heavy
    # industry's final output less the outside share, over national income (the
    # published 7.8 % mixes years and price bases and does not fit these accounts)
    income = float(fd.sum())
    rate = (1.0 - outside) * fd[1] / income
    p("investment_rate_baseline")  # read for the report's comparison
    common = {
        "final_demand": floors,
        "factor_growth": {"peasant_labour": growth, "industrial_labour": ind_workers_growth},
        "depreciation": dep,
        "lag": {"agr": lag["agr"], "ind_a": lag["ind_a"], "ind_b": lag["ind_b"], "ind_a_new": lag["ind_a"], "ind_b_new": lag["ind_b"]},
        "initial_capacity": pd.Series({"agr": capacity[0], "ind_a": capacity[1], "ind_b": capacity[2]}),
        "new_techniques": {"ind_a_new": PERIODS[first - 1], "ind_b_new": PERIODS[first - 1]},
        "terminal": "stocks",
    }
    return DemoSetup(
        economy=eco,
        periods=list(PERIODS),
        common=common,
        unit_cost=unit_cost,
        baseline_shares=shares,
        baseline_rate=rate,
        outside_share=outside,
        multipliers={"labour": lm, "materials": mm, "capital": km},
        labour_growth={"peasant_labour": growth, "industrial_labour": ind_workers_growth},
        heavy_share_of_industrial_investment=share_a,
        basket=basket,
        scissors_1913=scissors_1913,
        parameters=p.used_table(),
    )


def _industrial_labour_growth(table: pd.DataFrame, where: str) -> float:
    """Yearly growth of the industrial labour force: the draft five-year plan's
    growth of the number of workers over five years, as a yearly rate."""
    rows = table[table["parameter"] == "growth_industrial_workers_planned_5y"]
    if rows.empty:
        raise SourceError(f"{where}: parameter 'growth_industrial_workers_planned_5y' is missing")
    return float((1.0 + float(rows["value"].iloc[0])) ** (1 / 5) - 1.0)


def ussr_1923_economy(table: pd.DataFrame | None = None) -> Economy:
    """The USSR 1924/25 economy of :func:`ussr_1923_setup`."""
    return ussr_1923_setup(table).economy


@dataclass(frozen=True, eq=False)
class DemoResult:
    """What :func:`run` made: the comparison, the per-year table, the reasons, and
    the files written."""

    out_dir: Path
    table: pd.DataFrame
    scissors: pd.DataFrame
    report: str
    files: list[Path] = field(default_factory=list)
    comparison: Any = None
    setup: DemoSetup | None = None


def terminal_growth(setup: DemoSetup) -> float:
    """Yearly growth of the capital stock the plan must hand on after its last year:
    the growth of the labour force that works with it, weighted by the capital each
    sector holds in the base year (peasant labour for agriculture's, industrial
    labour for industry's), so that capital per worker does not fall.

    A finite-horizon plan values nothing after its last year; with only "hand on
    the starting stock" it stops investing once that floor is met and its
    capital-goods industry shrinks at the end (the end-of-horizon effect;
    Chakravarty 1962, "Optimal savings with finite planning horizon",
    *International Economic Review* 3(3)). A terminal stock that grows with the
    labour force is the usual remedy.
    """
    eco = setup.economy
    k0 = setup.common["initial_capacity"].reindex(eco.activity_ids).fillna(0.0).to_numpy()
    held = np.asarray(eco.capital.sum(axis=0)).ravel() * k0
    g = setup.labour_growth
    rates = np.where(eco.activity_ids == "agr", g["peasant_labour"], g["industrial_labour"])
    return float(held @ rates / held.sum())


def demo_scenarios(setup: DemoSetup, *, terminal: Any = None) -> list:
    """The two scenarios of the demo: the NEP-like baseline (1924/25 investment rate
    and sector shares, no new plants) and the optimal industrialisation plan, both
    maximising household consumption in the base-year mix.

    The plan must hand on a capital stock grown at :func:`terminal_growth` a year
    (``terminal`` overrides it, e.g. ``"stocks"`` for the starting stock only); the
    baseline's investment is fixed by its rate and shares, so it keeps the common
    condition (the starting stock), which it meets.
    """
    from gosplan.planning.dynamic import MaxConsumption, Terminal
    from gosplan.planning.scenarios import Scenario, fixed_share_baseline

    objective = MaxConsumption(basket=setup.basket)
    base = fixed_share_baseline(setup.economy, setup.baseline_shares, name="baseline", objective=objective)
    baseline = Scenario(
        name="baseline",
        objective=objective,
        settings={**base.settings, "investment_rate": setup.baseline_rate},
        description="NEP-like: the 1924/25 investment rate and shares of each sector kept; no new plants",
    )
    plan = Scenario(
        name="industrialisation",
        objective=objective,
        settings={"terminal": Terminal("stocks", terminal_growth(setup)) if terminal is None else terminal},
        description="optimal plan: investment goes where it raises consumption most, modern plants allowed",
    )
    return [baseline, plan]


def run(out_dir: str | Path, progress: Callable[[str, int, int], Any] | None = None,
        world: str | None = None) -> DemoResult:
    """Run the baseline and the industrialisation plan over five years and write
    ``table.csv``, ``table.parquet``, ``scissors.csv``, ``chart.png``, ``report.md``,
    ``parameters_used.csv`` and ``report.html`` into ``out_dir`` (created if needed).
    Prints nothing.

    ``world``, a shipped world's name (``wiod_2011``), adds the seed's other question to the
    report: every region planned alone against the world planned as one
    (:func:`gosplan.planning.world.world_comparison`), with ``world.csv`` and ``world.png``.

    ``progress(step, k, n)`` is called before each step.
    """
    from gosplan.planning.scenarios import compare

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps = 5 if world else 4
    if progress is not None:
        progress("building the 1924/25 economy", 0, steps)
    setup = ussr_1923_setup()
    eco = setup.economy
    baseline, plan = demo_scenarios(setup)

    def step(name: str, k: int, n: int) -> None:
        if progress is not None and name:
            progress(f"planning: {name}", 1 + k, steps)

    comp = compare(
        eco,
        [baseline, plan],
        setup.periods,
        up=INDUSTRY,
        down=["agr"],
        unit_cost=setup.unit_cost,
        index_weights=eco.x.reindex(eco.product_ids),
        progress=step,
        **setup.common,
    )
    if progress is not None:
        progress("writing tables, chart and report", 3, steps)
    table = comp.table()
    table["scissors_vs_1913"] = table["scissors_index"] * setup.scissors_1913
    files = []
    files.append(write_table(table, out / "table.csv", index=False))
    files.append(write_table(table, out / "table.parquet", index=False))
    sc = comp.scissors.copy()
    files.append(write_table(sc.reset_index(), out / "scissors.csv", index=False))
    files.append(comparison_chart(comp, out / "chart.png", unit=OUTPUT_UNIT, **chart_options(setup)))
    # the same plan handing on only its starting stock: what the terminal condition changes
    myopic = compare(eco, [demo_scenarios(setup, terminal="stocks")[1]], setup.periods, up=INDUSTRY, down=["agr"],
                     unit_cost=setup.unit_cost, index_weights=eco.x.reindex(eco.product_ids), **setup.common)
    report = _report(comp, setup, myopic.plans["industrialisation"])
    html = html_report(comp, setup, report)
    if world:
        from gosplan.planning.world import world_comparison
        from gosplan.plots import pyplot, world_gains_chart
        from gosplan.report import world_section

        if progress is not None:
            progress(f"the world ({world}): each region alone and pooled", 4, steps)
        cmp = world_comparison(world)
        files.append(write_table(cmp.table.reset_index(), out / "world.csv", index=False))
        pyplot().close(world_gains_chart(cmp.table, resource=cmp.resource, path=out / "world.png"))
        files.append(out / "world.png")
        title = {"wiod_2011": "WIOD 2011, 41 regions"}.get(world, world)
        section, text = world_section(cmp, title)
        html.sections.append(section)
        report = f"{report.rstrip()}\n\n{text}"
    (out / "report.md").write_text(report, encoding="utf-8")
    files.append(out / "report.md")
    files.append(write_table(setup.parameters, out / "parameters_used.csv", index=False))
    files.append(html.write(out / "report.html"))
    if progress is not None:
        progress("done", steps, steps)
    return DemoResult(out_dir=out, table=table, scissors=sc, report=report, files=files, comparison=comp, setup=setup)


def chart_options(setup: DemoSetup) -> dict[str, Any]:
    """Keywords of :func:`gosplan.plots.comparison_chart` for this example: sectors by
    name in the model's order, the scissors index against 1913, and a note of how
    many inputs are illustrative."""
    counts = parameter_counts(setup.parameters)
    return {
        "names": {p: _short_name(str(n)) for p, n in setup.economy.products["name"].items()},
        "products": SECTORS,
        "ratio_scale": setup.scissors_1913,
        "ratio_scale_label": "1913 = 1",
        "title": "USSR 1924/25, five years: NEP-like baseline against the industrialisation plan (illustrative)",
        "note": (f"ILLUSTRATIVE MODEL, not statistics. Parameters this run read: {counts['illustrative']} illustrative "
                 f"(input coefficients, capital, lags, modern techniques), {counts['derived']} derived, "
                 f"{counts['sourced']} sourced. Scissors level in 1924/25: about {setup.scissors_1913:g} against 1913 "
                 "(derived). Sources: datasets/ussr_1923/PROVENANCE.md"),
    }


def html_report(comp, setup: DemoSetup, explanation: str):
    """The demo's self-contained HTML report (:func:`gosplan.report.comparison_report`):
    the chart, the explanation of :func:`run`'s ``report.md``, the per-year tables and
    every parameter read, with its source and status."""
    from gosplan.report import comparison_report

    return comparison_report(
        comp, setup.economy, parameters=setup.parameters, consumption=CONSUMER_GOODS, explanation=explanation,
        chart_options=chart_options(setup), title="Industrialisation and the scissors: USSR 1924/25, five years",
        warnings=["A historical illustration, not a statistic: "
                  f"{parameter_counts(setup.parameters)['illustrative']} of the parameters this run read are "
                  "illustrative (not sourced); see Inputs and sources."],
        sources=["Parameters: gosplan/datasets/ussr_1923/parameters.csv; sources and method: PROVENANCE.md beside it."],
    )


def _short_name(name: str) -> str:
    """"heavy industry (group A, means of production)" -> "heavy industry (group A)"."""
    head, sep, tail = name.partition(" (")
    return f"{head} ({tail.split(',')[0].rstrip(')')})" if sep else name


def parameter_counts(parameters: pd.DataFrame) -> dict[str, int]:
    """How many parameters are sourced, derived and illustrative."""
    c = parameters["status"].value_counts()
    return {k: int(c.get(k, 0)) for k in ("sourced", "derived", "illustrative")}


def _unit_costs_at_base_prices(setup: DemoSetup) -> pd.DataFrame:
    """Cost per unit of output of each technique at base prices (all 1): materials,
    capital consumption and labour cost."""
    eco = setup.economy
    dep = setup.common["depreciation"]
    mat = np.asarray(eco.use.sum(axis=0)).ravel()
    capc = dep * np.asarray(eco.capital.sum(axis=0)).ravel()
    lab = setup.unit_cost.reindex(eco.activity_ids).to_numpy()
    df = pd.DataFrame({"materials": mat, "capital_consumption": capc, "labour_cost": lab}, index=eco.activity_ids)
    df["total"] = df.sum(axis=1)
    return df


def _years(n: int) -> str:
    return f"{n} year" + ("" if n == 1 else "s")


def _report(comp, setup: DemoSetup, myopic: Any = None) -> str:
    """Why the scissors index falls under the plan and not under the baseline, and
    each surprising line of the per-year table, with the numbers of this run.
    ``myopic``: the plan run with the weaker terminal condition (starting stock only)."""
    base, plan = comp.plans["baseline"], comp.plans["industrialisation"]
    periods = list(plan.periods)
    first, last = periods[0], periods[-1]
    costs = _unit_costs_at_base_prices(setup)
    lv = plan.levels
    share_b = lv["ind_b_new"] / (lv["ind_b"] + lv["ind_b_new"])
    share_a = lv["ind_a_new"] / (lv["ind_a"] + lv["ind_a_new"])
    sc_p, sc_b = comp.scissors["industrialisation"], comp.scissors["baseline"]
    pr_p = comp.prices["industrialisation"]
    lab_price = plan.factor_prices
    used = setup.parameters
    counts = parameter_counts(used)
    everything = parameter_counts(load_parameters())
    illus = used[used["status"] == "illustrative"]["parameter"].tolist()
    eco = setup.economy
    name = {p: _short_name(str(n)) for p, n in eco.products["name"].items()}
    act_name = dict(eco.activities["name"].astype(str))
    basket_roubles = float(setup.basket.sum())  # million roubles per basket unit
    g_term = plan.spec.terminal.growth
    K = eco.capital.toarray()

    def f(x: float, d: int = 3) -> str:
        return f"{x:,.{d}f}"

    def stock(p) -> float:
        return float(K.sum(axis=0) @ p.terminal_capacity.reindex(eco.activity_ids).fillna(0.0).to_numpy())

    def cons(p) -> float:
        return float(p.consumption[CONSUMER_GOODS].to_numpy().sum())

    lines = [
        "# Industrialisation and the scissors: USSR 1924/25, five years",
        "",
        "**A historical illustration, not a statistic.** The economy is calibrated from published",
        "aggregates where they were found and is *illustrative* elsewhere; every number's source",
        "and status is in `gosplan/datasets/ussr_1923/parameters.csv` and `PROVENANCE.md`.",
        f"Of the {sum(counts.values())} parameters this run read (listed with their status in "
        f"`parameters_used.csv`): **{counts['sourced']} sourced, {counts['derived']} derived, "
        f"{counts['illustrative']} illustrative**; the whole file holds {sum(everything.values())} rows "
        f"({everything['sourced']} sourced, {everything['derived']} derived, {everything['illustrative']} illustrative).",
        "All money is in million pre-war (1913) roubles; prices are indices with 1924/25 = 1.",
        "",
        "## The two scenarios",
        "",
        f"* **baseline** (NEP-like): every sector keeps its 1924/25 share of investment "
        f"(agriculture {f(setup.baseline_shares['agr'], 2)}, heavy industry {f(setup.baseline_shares['ind_a'], 2)}, "
        f"light industry {f(setup.baseline_shares['ind_b'], 2)}; from the Gosplan allocation of 1925/26 quoted by "
        f"Trotsky 1925 and the budget's {f(100 * setup.heavy_share_of_industrial_investment, 0)} % of industrial "
        "investment for heavy industry) and the economy invests a fixed "
        f"{f(100 * setup.baseline_rate, 1)} % of national income - the share heavy industry's final output "
        "took for the three sectors in the calibrated base year (the published NEP rate of "
        "7.8 % mixes years and price bases and does not fit these accounts). Investment goes into "
        "the inherited kind of plant: no new plants are started, as none were in the base year.",
        "* **industrialisation**: the optimal plan - it maximises household consumption (farm and "
        "light-industry goods in the base-year mix) over the five years, may invest as much as it "
        "can save and wherever it pays, including in modern plants, and must hand on after "
        f"{last} a capital stock {f(100 * g_term, 1)} % a year larger than the one it started with "
        "(the growth of the labour force, weighted by the capital each sector holds: capital per worker "
        "may not fall; see *Why investment does not stop in the last year* below).",
        "",
        "Both keep households at no less than their base-year consumption and run on the same labour "
        f"forces: peasant labour grows with the population ({f(100 * setup.labour_growth['peasant_labour'], 1)} %/yr) "
        "at the base year's labour per unit of farm output, industrial labour at the draft five-year plan's "
        f"{f(100 * setup.labour_growth['industrial_labour'], 1)} %/yr. Both also deliver heavy-industry goods for "
        f"investment outside the three sectors (transport, housing: {f(setup.common['final_demand']['ind_a'], 0)} "
        "a year); that is final use, not household consumption.",
        "",
        "## Output and investment by year (million pre-war roubles)",
        "",
        "| year | scenario | " + " | ".join(f"output: {name[p]}" for p in SECTORS) + " | investment | household consumption |",
        "|---|---|" + "---|" * (len(SECTORS) + 2),
    ]
    for t in periods:
        for label, pl in (("baseline", base), ("industrialisation", plan)):
            lines.append(f"| {t} | {label} | " + " | ".join(f(pl.outputs.loc[t, p], 0) for p in SECTORS)
                         + f" | {f(pl.total_investment[t], 0)} | {f(pl.consumption.loc[t, CONSUMER_GOODS].sum(), 0)} |")
    same_agr = bool(np.allclose(base.outputs["agr"], plan.outputs["agr"], rtol=1e-3))
    a_b, a_p = base.outputs["ind_a"], plan.outputs["ind_a"]
    lines += [
        "",
        "What the table says, line by line:",
        "",
        (f"* **Agriculture is the same in both** ({f(plan.outputs.loc[last, 'agr'], 0)} in {last}): farm "
         "output is limited by peasant labour, which grows at the same rate in both scenarios and which no "
         "technique here saves; neither scenario can grow it faster." if same_agr else
         "* **Agriculture** differs between the scenarios (see the table)."),
        (f"* **Heavy industry** makes the capital goods. Under the plan its output follows the plan's investment: "
         f"it rises to {f(a_p.max(), 0)} in {a_p.idxmax()} while the modern light-industry plant is being built, "
         f"then eases to {f(a_p[last], 0)} in {last} as that construction is done; the baseline's grows slowly "
         f"with its fixed investment rate ({f(a_b[last], 0)} in {last}). "
         + (f"Under the plan it stays above the baseline in every year after {first}."
            if bool((a_p.iloc[1:] >= a_b.iloc[1:] - 1e-6).all()) else
            f"In {', '.join(str(t) for t in periods if a_p[t] < a_b[t] - 1e-6)} it is below the baseline's.")),
        (f"* **Light industry** grows a little faster under the plan ({f(plan.outputs.loc[last, 'ind_b'], 0)} "
         f"against {f(base.outputs.loc[last, 'ind_b'], 0)} in {last}): modern light plant needs "
         f"{f(100 * (1 - setup.multipliers['materials']), 0)} % less farm raw material per unit, so the same "
         "harvest makes more cloth."),
        (f"* **Investment** is the same in {first} in both ({f(plan.total_investment[first], 0)}: the base year's "
         f"plant is given), then the plan invests more ({f(plan.total_investment.sum(), 0)} over five years "
         f"against {f(base.total_investment.sum(), 0)}) and keeps investing to the end "
         f"({f(plan.total_investment[last], 0)} in {last})."),
    ]
    lines += [
        "",
        "## Why investment does not stop in the last year (the terminal condition)",
        "",
        "A plan over five years counts nothing after its fifth year. Capacity started in the last year "
        f"(light plant is ready after {_years(setup.common['lag']['ind_b_new'])}, heavy plant after "
        f"{_years(setup.common['lag']['ind_a_new'])}) raises no consumption inside the horizon, so a plan "
        "that only has to hand on the capital it started with stops investing as soon as that floor is met "
        "and lets its capital-goods industry idle: the *end-of-horizon effect*, an artefact of cutting the "
        "future off, not a property of the economy (Chakravarty 1962, *International Economic Review* 3(3)).",
        "",
    ]
    if myopic is not None:
        m_a, m_i = myopic.outputs["ind_a"], myopic.total_investment
        lines += [
            "With that weak condition (hand on the starting stock only, the demo's earlier setting) this plan "
            f"invests {', '.join(f(m_i[t], 0) for t in periods)} in the five years - "
            f"**{f(m_i[last], 0)} in {last}** - and heavy-industry output falls to **{f(m_a[last], 0)} in {last}** "
            f"against the baseline's {f(a_b[last], 0)}. It buys {f(cons(myopic) - cons(plan), 0)} million roubles more household "
            f"consumption over the five years by handing on {f(stock(plan) - stock(myopic), 0)} less capital.",
            "",
        ]
    lines += [
        f"The plan here must therefore hand on a capital stock {f(100 * g_term, 1)} % a year larger than its "
        f"starting one ({f(stock(plan), 0)} against "
        f"{f(float(K.sum(axis=0) @ setup.common['initial_capacity'].reindex(eco.activity_ids).fillna(0.0).to_numpy()), 0)}"
        f" at the start; the baseline hands on {f(stock(base), 0)}): the labour force's growth, weighted by "
        "where the capital is held, so that the economy after the plan can go on growing at the same "
        "capital per worker. The baseline's investment is fixed by its rate and shares and keeps the weaker "
        "condition, which it meets.",
        "",
        "## The scissors index (manufactures over farm goods, Leontief prices, 1924/25 = 1)",
        "",
        "| year | baseline | industrialisation | industrialisation, 1913 = 1 | "
        "modern share of light-industry output (plan) | price of light-industry goods (plan) |",
        "|---|---|---|---|---|---|",
    ]
    for t in periods:
        lines.append(f"| {t} | {f(sc_b[t])} | {f(sc_p[t])} | {f(setup.scissors_1913 * sc_p[t], 2)} | "
                     f"{f(100 * share_b[t], 1)} % | {f(pr_p.loc[t, 'ind_b'])} |")
    lines += [
        "",
        f"Against 1913 the index stood at about {f(setup.scissors_1913, 1)} in 1924/25 (derived, NED388733); "
        f"under the plan it would be {f(setup.scissors_1913 * sc_p[last], 2)} in {last}, under the baseline "
        f"{f(setup.scissors_1913 * sc_b[last], 2)}: the plan closes "
        f"{f(100 * (1 - sc_p[last]) * setup.scissors_1913 / (setup.scissors_1913 - 1), 0)} % of the gap to pre-war parity.",
        "",
        "## Why it falls under the plan",
        "",
        "Prices here are the Leontief prices of each year, p = p (A + capital consumption) + unit labour cost, "
        "at the mix of techniques the plan runs that year. A price changes only when the techniques change. "
        "Per rouble of output at base prices the techniques cost:",
        "",
        "| technique | materials | capital consumption | labour | total |",
        "|---|---|---|---|---|",
    ]
    for a in costs.index:
        r = costs.loc[a]
        lines.append(f"| {act_name.get(a, a)} | {f(r['materials'])} | {f(r['capital_consumption'])} | "
                     f"{f(r['labour_cost'])} | {f(r['total'])} |")
    saved_b = 1 - costs.loc["ind_b_new", "total"]
    k_b = float(eco.capital[:, eco.activity_ids.get_loc("ind_b_new")].sum())
    inv_new = plan.new_capacity["ind_b_new"].sum() * k_b
    m = setup.multipliers
    util = eco.x[INDUSTRY].sum() / eco.activities.loc[INDUSTRY, "capacity"].sum()
    peasant_binds = bool((lab_price["peasant_labour"] > 1e-9).all())
    falls = bool(sc_p[last] < 1 - 1e-9)
    lines += [
        "",
        f"The modern plants need {f(m['labour'], 2)} times the labour, {f(m['materials'], 2)} times the materials "
        f"and {f(m['capital'], 2)} times the capital per unit of the inherited ones (illustrative multipliers), "
        f"so modern light industry makes a rouble of goods for {f(costs.loc['ind_b_new', 'total'])} instead of "
        f"1.000 ({f(100 * saved_b, 1)} % cheaper), modern heavy industry for {f(costs.loc['ind_a_new', 'total'])}.",
        "",
    ]
    if falls:
        lines += [
            f"The plan puts {f(inv_new, 0)} million roubles of heavy-industry goods into modern light-industry "
            f"plant, so that the modern plant's share of light-industry output rises from 0 in {first} to "
            f"{f(100 * share_b.max(), 1)} % at its highest ({f(100 * share_b[last], 1)} % in {last}). "
            f"Light-industry prices fall to {f(pr_p.loc[last, 'ind_b'])} and, with light industry's weight among "
            f"manufactures, the scissors index to {f(sc_p[last])} (lowest {f(sc_p.min())}). Farm prices hardly "
            f"move ({f(pr_p.loc[last, 'agr'])}): agriculture keeps its technique.",
        ]
    else:
        lines += [f"In this run the index does not fall under the plan ({f(sc_p[last])} in {last})."]
    per_worker = lab_price.loc[first, "peasant_labour"] * basket_roubles  # million roubles per million persons
    lines += [
        "",
        "Why light rather than heavy industry: the scarce thing in this economy is farm output "
        + ("(peasant labour binds in every year" if peasant_binds else "(peasant labour binds in some years")
        + f"; at the plan's valuations one more peasant worker in {first} would add about {f(per_worker, 0)} "
        "pre-war roubles of household consumption over the five years, one more industrial worker "
        f"{f(lab_price.loc[first, 'industrial_labour'] * basket_roubles, 0)}), and light industry eats farm output "
        f"as raw material; the modern light plant uses {f(100 * (1 - m['materials']), 0)} % less of it per unit "
        f"and is ready after {_years(setup.common['lag']['ind_b_new'])}. A modern heavy plant takes "
        f"{_years(setup.common['lag']['ind_a_new'])} to build and within five years only adds equipment "
        + (
            "nobody yet needs: the plan builds no modern heavy plant. "
            if share_a.max() <= 1e-9
            else f"of limited use: modern plant makes at most {f(100 * share_a.max(), 1)} % of heavy output. "
        )
        + "A longer horizon or a target for heavy industry (Feldman's argument) changes this: run "
        "`gosplan.planning.dynamic.plan_dynamic` with `ReachTargets`.",
        "",
        "## Why it does not fall under the baseline",
        "",
        "The baseline's fixed shares give nothing to the modern techniques, so every year runs the 1924/25 "
        "techniques; Leontief prices depend on techniques and unit costs, not on quantities, so every price and "
        + (f"the scissors index stay at {f(sc_b.min())}. " if sc_b.max() - sc_b.min() < 5e-4
           else f"the scissors index stay between {f(sc_b.min())} and {f(sc_b.max())}. ")
        + f"Its investment ({f(base.total_investment.sum(), 0)} million roubles over five years, against the plan's "
        f"{f(plan.total_investment.sum(), 0)}) widens inherited plant that labour and farm raw material "
        f"cannot fill anyway (industry used {f(100 * util, 0)} % of its capacity in {first}).",
        "",
        "## Consumption",
        "",
        f"Household consumption (farm and light-industry goods) over the five years: baseline {f(cons(base), 0)}, "
        f"plan {f(cons(plan), 0)} million pre-war roubles. All final use, which adds heavy-industry goods for "
        f"transport and housing: baseline {f(base.consumption.to_numpy().sum(), 0)}, plan "
        f"{f(plan.consumption.to_numpy().sum(), 0)} (`gosplan compare` prints both).",
        "",
        "## Illustrative parameters (not sourced) used in this run",
        "",
        ", ".join(f"`{p}`" for p in illus) if illus else "none",
        "",
        "Modelling choices of this demo (not in the sources): peasant labour as the limit of farm output; "
        "industrial labour growing at the draft plan's rate; the baseline starting no new plants; transport and "
        "housing investment kept at its base-year share of heavy industry's final output; the plan's terminal "
        "capital growing with the labour force; no discounting.",
        "",
    ]
    return "\n".join(lines)
