"""``gosplan compare SCENARIO...`` and the multi-period side of ``gosplan plan``.

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

from gosplan.cli._app import app, approximate_warning


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:,.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def _scenario(spec: str, economy: Any, default_baseline: Any, default_plan: Any):
    """A Scenario from a built-in name or a JSON file."""
    from gosplan.errors import SchemaError, SourceError
    from gosplan.planning.dynamic import dynamic_objective
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
) -> None:
    """Run several multi-year plans on one economy and compare outputs, investment and the price scissors."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.errors import SchemaError
    from gosplan.planning.scenarios import compare

    console = Console()
    if len(scenarios) < 1:
        raise SchemaError("name at least one scenario")
    kwargs: dict[str, Any] = {}
    if economy == "ussr_1923":
        from gosplan.demo import INDUSTRY, demo_scenarios, ussr_1923_setup

        setup = ussr_1923_setup()
        econ = setup.economy
        base, plan = demo_scenarios(setup)
        common = dict(setup.common)
        per: Any = setup.periods[:periods] if periods <= len(setup.periods) else periods
        ups = INDUSTRY if up is None else up.split(",")
        downs = ["agr"] if down is None else down.split(",")
        kwargs["unit_cost"] = setup.unit_cost
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
    scs = [_scenario(s, econ, base, plan) for s in scenarios]

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
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
    s = comp.summary()
    st = Table(title="Scenarios")
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
        from gosplan.demo import comparison_chart
        from gosplan.sources.tables import write_table

        out.mkdir(parents=True, exist_ok=True)
        written = [
            write_table(tab, out / "table.parquet", index=False),
            write_table(tab, out / "table.csv", index=False),
            write_table(comp.scissors.reset_index(), out / "scissors.csv", index=False),
            comparison_chart(comp, out / "chart.png"),
        ]
        console.print("wrote " + ", ".join(str(p) for p in written))


def plan_periods(*, economy: Any, targets: Any, objective: str, periods: int, options: Any, console: Any, out: Path | None) -> int:
    """``gosplan plan --periods T``: floors and basket of the targets in every period,
    capacity from the economy's capacities or base-year levels; prints the path."""
    import pandas as pd
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.planning.dynamic import InfeasibleDynamicPlanError, dynamic_objective, plan_dynamic
    from gosplan.planning.solver import SolverStatus

    r = targets.resolve(economy)
    floors = pd.Series(r.required, index=economy.product_ids)
    obj = dynamic_objective(economy, objective, targets)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(f"planning {periods} periods", total=None)

        def progress(d: dict) -> None:
            bar.update(task, description=f"{d['method']}: iteration {d['iteration']:,}, objective {d['objective']:.6g}")

        try:
            plan = plan_dynamic(economy, periods, obj, final_demand=floors, options=options, progress=progress)
        except InfeasibleDynamicPlanError as exc:
            console.print(f"[bold red]impossible plan:[/] {exc}", highlight=False)
            return 1
    t = Table(title=f"{periods}-period plan for {economy.name or 'economy'}: {type(obj).__name__}, "
                    f"objective {plan.objective_value:,.6g}")
    t.add_column("period")
    for col in ("gross output", "consumption", "investment", "capital stock"):
        t.add_column(col, justify="right")
    for p in plan.periods:
        t.add_row(str(p), _fmt(float(plan.outputs.loc[p].sum())), _fmt(float(plan.consumption.loc[p].sum())),
                  _fmt(float(plan.investment.loc[p].sum())), _fmt(float(plan.stocks.loc[p].sum())))
    console.print(t)
    if plan.status is SolverStatus.APPROXIMATE:
        console.print(approximate_warning(plan.solver["accuracy"]))
    problems = plan.verify(economy)
    console.print("stock-flow identities hold in every period" if not problems else f"[red]{problems}[/]")
    if out is not None:
        from gosplan.sources.tables import write_table

        for name, frame in plan.to_frames().items():
            write_table(frame.reset_index(), out / f"{name}.parquet", index=False)
        console.print(f"wrote {len(plan.to_frames())} Parquet tables to {out}")
    return 0 if not problems else 1
