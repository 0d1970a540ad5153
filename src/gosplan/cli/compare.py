"""``gosplan compare SCENARIO...``: several multi-year plans side by side.

Thin shells over :func:`gosplan.planning.scenarios.compare` and
:func:`gosplan.planning.dynamic.plan_dynamic`: read the inputs, run with a
progress bar, print rich tables, write Parquet/CSV and a chart.

A SCENARIO is ``baseline`` (every activity keeps its share of investment, in
proportion to its initial capital stock; on the shipped ``ussr_1923`` economy the
1924/25 rate and shares), ``optimal`` / ``industrialisation`` (the free plan), or a
JSON file ``{"name": ..., "objective": "basket" | "labour" | "terminal",
"discount": 0.0, "investment_shares": {activity: share}, "investment_rate": r}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from gosplan.cli._app import REPORT_HELP, app, write_report
from gosplan.cli._app import fmt_amount as _fmt


def _scenario(spec: str, economy: Any, default_baseline: Any, default_plan: Any):
    """A Scenario from a built-in name or a JSON file."""
    from gosplan.cli.plan import dynamic_objective
    from gosplan.errors import SchemaError, SourceError
    from gosplan.planning.scenarios import Scenario

    if spec == "baseline":
        return default_baseline
    if spec in ("optimal", "industrialisation", "plan"):
        return Scenario(spec, default_plan.objective, dict(default_plan.settings), default_plan.description)
    path = Path(spec)
    if not path.exists():
        raise SchemaError(f"scenario {spec!r}: not 'baseline', 'optimal' or a JSON file that exists")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    known = {"name", "objective", "discount", "investment_shares", "investment_rate", "description"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SchemaError(f"{path}: unknown key(s) {unknown}; use {sorted(known)}")
    objective = default_plan.objective
    if "objective" in d:
        if d["objective"] == "basket" and hasattr(default_plan.objective, "basket"):
            from dataclasses import replace

            objective = replace(default_plan.objective, discount=float(d.get("discount", 0.0)))
        else:
            objective = dynamic_objective(economy, str(d["objective"]), discount=float(d.get("discount", 0.0)))
    settings: dict[str, Any] = {}
    if "investment_shares" in d:
        import pandas as pd

        s = pd.Series(d["investment_shares"], dtype=float)
        settings["investment_shares"] = s / s.sum()
    if "investment_rate" in d:
        settings["investment_rate"] = float(d["investment_rate"])
    return Scenario(str(d.get("name", path.stem)), objective, settings, str(d.get("description", "")))


def _generic_setup(economy: Any, periods: int, depreciation: float, growth: float):
    """Baseline (shares of initial capital stock) and optimal plan for any economy."""
    import numpy as np
    import pandas as pd

    from gosplan.errors import SchemaError
    from gosplan.planning.dynamic import MaxConsumption, dynamic_spec
    from gosplan.planning.scenarios import Scenario, fixed_share_baseline

    if economy.capital is None:
        raise SchemaError(
            f"economy {economy.name!r} has no capital coefficients, so every scenario is the same plan; "
            "give it a capital table"
        )
    spec = dynamic_spec(economy, periods, depreciation=depreciation, factor_growth=growth, terminal="none")
    kv = np.asarray(economy.capital.sum(axis=0)).ravel()
    stock = np.where(spec.capital_activities, kv * np.nan_to_num(spec.initial_capacity, posinf=0.0), 0.0)
    shares = pd.Series(stock, index=economy.activity_ids)
    shares = shares[shares > 0]
    objective = MaxConsumption()
    base = fixed_share_baseline(economy, shares, name="baseline", objective=objective,
                                description="every activity keeps its share of the initial capital stock")
    plan = Scenario("optimal", objective, {}, "the free plan")
    common = {"depreciation": depreciation, "factor_growth": growth}
    if economy.final_demand is not None:
        common["final_demand"] = economy.final_demand.sum(axis=1).clip(lower=0.0)
    return base, plan, common


@app.command("compare")
def compare_command(
    scenarios: list[str] = typer.Argument(..., help="baseline | optimal | industrialisation | FILE.json (two or more)."),
    economy: str = typer.Option("ussr_1923", "--economy", "-e", help="ussr_1923 (the shipped example) or an economy path/dataset."),
    periods: int = typer.Option(5, "--periods", help="Number of periods (years)."),
    up: str | None = typer.Option(None, "--up", help="Products whose prices form the numerator of the scissors (comma-separated)."),
    down: str | None = typer.Option(None, "--down", help="Products of the denominator (comma-separated)."),
    depreciation: float = typer.Option(0.05, "--depreciation", help="Depreciation rate (other economies)."),
    growth: float = typer.Option(0.0, "--growth", help="Growth rate of factor supply per period (other economies)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for table.parquet, table.csv, scissors.csv, chart.png."),
    report: Path | None = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    """Run several multi-year plans on one economy and compare outputs, investment and the price scissors."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.table import Table

    from gosplan.errors import SchemaError
    from gosplan.planning.scenarios import compare

    console = Console()
    if len(scenarios) < 1:
        raise SchemaError("name at least one scenario")
    kwargs: dict[str, Any] = {}
    consumer_goods = None
    chart_opts: dict[str, Any] = {}
    parameters = None
    if economy == "ussr_1923":
        from gosplan.examples.ussr_1923 import CONSUMER_GOODS, INDUSTRY, OUTPUT_UNIT, chart_options, demo_scenarios, ussr_1923_setup

        consumer_goods = CONSUMER_GOODS

        setup = ussr_1923_setup()
        econ = setup.economy
        base, plan = demo_scenarios(setup)
        common = dict(setup.common)
        per: Any = setup.periods[:periods] if periods <= len(setup.periods) else periods
        ups = INDUSTRY if up is None else up.split(",")
        downs = ["agr"] if down is None else down.split(",")
        kwargs["unit_cost"] = setup.unit_cost
        unit = OUTPUT_UNIT
        chart_opts = chart_options(setup)
        parameters = setup.parameters
        if not isinstance(per, list):
            raise SchemaError(f"--periods: the ussr_1923 example has at most {len(setup.periods)} years")
    else:
        from gosplan.sources import read_economy

        econ = read_economy(economy)
        base, plan, common = _generic_setup(econ, periods, depreciation, growth)
        per = periods
        if up is None or down is None:
            raise SchemaError("give --up and --down (product ids, comma-separated) for the scissors of this economy")
        ups, downs = up.split(","), down.split(",")
        unit = "gross output"
        if "name" in econ.products:
            chart_opts = {"names": dict(econ.products["name"].astype(str))}
    scs = [_scenario(s, econ, base, plan) for s in scenarios]

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("planning", total=len(scs))

        def progress(name: str, k: int, n: int) -> None:
            bar.update(task, completed=k, description=f"planning {name}" if name else "pricing")

        comp = compare(econ, scs, per, up=ups, down=downs, progress=progress, **kwargs, **common)

    t = Table(title=f"Scissors index ({', '.join(ups)} over {', '.join(downs)}; first period = 1)")
    t.add_column("period")
    for n in comp.scissors.columns:
        t.add_column(n, justify="right")
    for period, row in comp.scissors.iterrows():
        t.add_row(str(period), *[f"{v:.4f}" for v in row])
    console.print(t)
    s = comp.summary(consumption=consumer_goods)
    st = Table(title="Scenarios" + (f" (consumption: {', '.join(consumer_goods)}; final use: every product)"
                                    if consumer_goods else ""))
    for col in ("scenario", *s.columns):
        st.add_column(col, justify="left" if col == "scenario" else "right")
    for name, row in s.iterrows():
        st.add_row(str(name), *[_fmt(float(v)) for v in row])
    console.print(st)
    tab = comp.table()
    ot = Table(title="Gross output per period")
    out_cols = [c for c in tab.columns if c.startswith("output_")]
    for col in ("scenario", "period", *out_cols, "total_investment"):
        ot.add_column(col, justify="left" if col in ("scenario", "period") else "right")
    for r in tab.itertuples(index=False):
        d = r._asdict()
        ot.add_row(str(d["scenario"]), str(d["period"]), *[_fmt(float(d[c])) for c in out_cols], _fmt(float(d["total_investment"])))
    console.print(ot)
    if out is not None:
        from gosplan.plots import comparison_chart
        from gosplan.sources.tables import write_table

        out.mkdir(parents=True, exist_ok=True)
        written = [
            write_table(tab, out / "table.parquet", index=False),
            write_table(tab, out / "table.csv", index=False),
            write_table(comp.scissors.reset_index(), out / "scissors.csv", index=False),
            comparison_chart(comp, out / "chart.png", unit=unit, **chart_opts),
        ]
        console.print("wrote " + ", ".join(str(p) for p in written))
    if report is not None:
        from gosplan.report import comparison_report

        write_report(console, comparison_report(comp, econ, consumption=consumer_goods, chart_options=chart_opts,
                                                parameters=parameters), report)
