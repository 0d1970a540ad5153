"""``gosplan invest``: a budget round's funded projects imposed on a multi-year plan.

A thin shell over :func:`gosplan.democracy.investment.plan_budget_round`: read the
election and the project -> investment mapping, run the rule, plan, and print what the
funded projects need per year, whether the plan carries them, and if not the clash, the
least changes and the suggestion in the rule's order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gosplan.cli._app import REPORT_HELP, app, write_report


def _read_mapping(path: Path) -> Any:
    import pandas as pd

    from gosplan.errors import SchemaError, SourceError

    try:
        m = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"project": str})
    except FileNotFoundError:
        raise SourceError(f"{path}: no such mapping file") from None
    if "project" not in m.columns:
        raise SchemaError(f"{path}: the mapping needs a 'project' column (the election's project ids)")
    return m.set_index(m["project"].astype(str)).drop(columns="project")


def _economy(name: str, periods: int, depreciation: float, growth: float) -> tuple[Any, Any, dict[str, Any], Any]:
    """The economy, its periods, the plan settings and the objective."""
    from gosplan.errors import SchemaError

    if name == "ussr_1923":
        from gosplan.examples.ussr_1923 import ussr_1923_setup
        from gosplan.planning.dynamic import MaxConsumption

        s = ussr_1923_setup()
        if periods > len(s.periods):
            raise SchemaError(f"--periods: the ussr_1923 example has at most {len(s.periods)} years")
        return s.economy, s.periods[:periods], dict(s.common), MaxConsumption(basket=s.basket)
    from gosplan.sources import read_economy

    econ = read_economy(name)
    common: dict[str, Any] = {"depreciation": depreciation, "factor_growth": growth}
    if econ.final_demand is not None:
        common["final_demand"] = econ.final_demand.sum(axis=1).clip(lower=0.0)
    return econ, periods, common, None


def _fmt(x: float) -> str:
    return f"{x:,.4g}" if x else "-"


@app.command("invest")
def invest_command(
    election: str = typer.Argument(
        ...,
        help="A Pabulib .pb file or a shipped election (assen_2024, ...); its project table may carry the investment columns.",
    ),
    economy: str = typer.Option("ussr_1923", "--economy", "-e", help="ussr_1923 (the shipped example) or an economy path/dataset."),
    mapping: Path | None = typer.Option(
        None, "--mapping", "-m",
        help="CSV/Parquet: project, activity, capacity, first_period, start, duration, labour, factor.",
    ),
    rule: str = typer.Option("equal-shares", "--rule", "-r", help="equal-shares | greedy | phragmen"),
    periods: int = typer.Option(5, "--periods", help="Number of periods (years)."),
    money_goods: list[str] | None = typer.Option(
        None, "--money-goods",
        help="PRODUCT=QUANTITY per unit of cost, for projects without capacity (repeat).",
    ),
    labour_factor: str | None = typer.Option(None, "--labour-factor", help="Factor of direct labour where a project names none."),
    cost_in_labour: float | None = typer.Option(
        None, "--cost-in-labour",
        help="Units of --labour-factor per unit of cost (costs in hours).",
    ),
    depreciation: float = typer.Option(0.05, "--depreciation", help="Depreciation rate (other economies)."),
    growth: float = typer.Option(0.0, "--growth", help="Growth rate of factor supply per period (other economies)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the per-project, per-year needs (.csv or .parquet)."),
    report: Path | None = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    """Impose a budget round's funded projects on a multi-year plan: needs per year, clash, suggestion."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.cli.plan import _pairs
    from gosplan.democracy.investment import plan_budget_round
    from gosplan.democracy.pabulib import read_pabulib

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    e = read_pabulib(election)
    m = _read_mapping(mapping) if mapping is not None else None
    econ, per, common, objective = _economy(economy, periods, depreciation, growth)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        bar.add_task(f"{rule}, then the {periods}-year plan with the funded projects", total=None)
        outcome, r = plan_budget_round(
            e, econ, per, m, rule, objective, money_goods=_pairs(money_goods, "money-goods") or None,
            labour_factor=labour_factor, cost_in_labour=cost_in_labour, **common,
        )
    for line in outcome.summary()[:2]:
        console.print(line)
    t = Table(title="What the funded projects need per year")
    t.add_column("period")
    for p in r.goods.columns:
        t.add_column(str(p), justify="right")
    for f in r.labour.columns:
        t.add_column(f"{f} (direct)", justify="right")
    if r.embodied_labour is not None:
        for f in r.embodied_labour.columns:
            t.add_column(f"{f} (embodied)", justify="right")
    for period in r.goods.index:
        cells = [_fmt(v) for v in r.goods.loc[period]] + [_fmt(v) for v in r.labour.loc[period]]
        if r.embodied_labour is not None:
            cells += [_fmt(v) for v in r.embodied_labour.loc[period]]
        t.add_row(str(period), *cells)
    console.print(t)
    if r.feasible:
        console.print("[green]the plan carries every funded project together with the consumption floors[/]")
    else:
        names = dict(zip(r.projects.index, r.projects["name"], strict=True))
        c = Table(title="The clash: these projects cannot be carried together with these limits")
        c.add_column("kind")
        c.add_column("id")
        c.add_column("period")
        c.add_column("limit", justify="right")
        for p in r.clash.projects:
            c.add_row("project", f"{p} ({names.get(p, '')})", "", "")
        for row in r.clash.limits.itertuples():
            c.add_row(row.kind, str(row.id), str(row.period), _fmt(row.limit))
        console.print(c)
        for line in r.summary():
            if line.startswith(("  least change", "  changing", "suggestion")):
                console.print(line, highlight=False)
    if out is not None:
        from gosplan.sources.tables import write_table

        df = r.requirements
        # periods mix numbers and labels: Parquet needs one type per column
        write_table(df.astype({"period": str}) if out.suffix == ".parquet" else df, out, index=False)
        console.print(f"wrote {out}")
    if report is not None:
        from gosplan.report import investment_report

        write_report(console, investment_report(e, outcome, r, econ), report)
