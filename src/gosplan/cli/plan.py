"""``gosplan plan``: the best plan for an economy and its targets.

A thin shell over :func:`gosplan.planning.optimal_plan`, and over
:func:`gosplan.planning.dynamic.plan_dynamic` for multi-period plans (``--periods T``
with T > 1: :func:`plan_periods`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from gosplan.cli._app import REPORT_HELP, app, approximate_warning, fmt_amount, write_report


def _pairs(items: list[str] | None, what: str) -> dict[str, float]:
    """``["labour=100", "energy=inf"]`` -> dict; names the malformed item."""
    from gosplan.errors import SchemaError

    out: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise SchemaError(f"--{what} {item!r}: write ID=VALUE, e.g. --{what} labour=1000")
        try:
            out[key] = float(value)
        except ValueError:
            raise SchemaError(f"--{what} {item!r}: {value!r} is not a number") from None
    return out


def _trade(items: list[str] | None) -> dict[tuple[str, str], float]:
    from gosplan.errors import SchemaError

    out: dict[tuple[str, str], float] = {}
    for key, value in _pairs(items, "trade-limit").items():
        frm, sep, to = key.partition("->")
        if not sep:
            raise SchemaError(f"--trade-limit {key!r}: write FROM->TO=VALUE, e.g. --trade-limit 'CN->DE=500'")
        out[(frm, to)] = value
    return out


def dynamic_objective(economy: Any, objective: str, targets: Any = None, discount: float = 0.0) -> Any:
    """A multi-period objective from the one-period objective names of the command line.

    ``basket`` -> :class:`~gosplan.planning.dynamic.MaxConsumption` of the targets'
    basket in every period; ``labour`` or ``factor:<id>`` ->
    :class:`~gosplan.planning.dynamic.ReachTargets` at least (discounted) use of that
    factor; ``terminal`` -> :class:`~gosplan.planning.dynamic.MaxTerminalStocks`.
    """
    import pandas as pd

    from gosplan.errors import SchemaError
    from gosplan.planning.dynamic import MaxConsumption, MaxTerminalStocks, ReachTargets
    from gosplan.planning.objectives import factor_weights

    name = objective.strip().lower()
    if name == "basket":
        basket = None
        if targets is not None:
            r = targets.resolve(economy)
            if not r.has_basket:
                raise SchemaError("objective 'basket' needs a basket in the targets (a 'basket' column)")
            basket = pd.Series(r.basket, index=economy.product_ids)
        return MaxConsumption(basket=basket, discount=discount)
    if name == "labour" or name.startswith("factor:"):
        w = factor_weights(economy, None if name == "labour" else objective.split(":", 1)[1])
        return ReachTargets(cost=pd.Series(w, index=economy.factor_ids), discount=discount)
    if name == "terminal":
        return MaxTerminalStocks()
    raise SchemaError(
        f"objective {objective!r} has no multi-period form; use basket, labour, factor:<id> or terminal"
    )


def _name(econ, kind: str, cid) -> str:
    table = {"balance": econ.products, "factor": econ.factors, "capacity": econ.activities}.get(kind)
    if table is None or "name" not in table.columns or cid not in table.index:
        return ""
    return str(table.at[cid, "name"] or "")


def _unit(econ, pid) -> str:
    return str(econ.products.at[pid, "unit"]) if pid in econ.products.index else ""


def plan_periods(*, economy: Any, targets: Any, objective: str, periods: int, options: Any, console: Any, out: Path | None,
                 report: Path | None = None) -> int:
    """``gosplan plan --periods T``: floors and basket of the targets in every period,
    capacity from the economy's capacities or base-year levels; prints the path."""
    import pandas as pd
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.planning.dynamic import InfeasibleDynamicPlanError, plan_dynamic
    from gosplan.planning.solver import SolverStatus

    r = targets.resolve(economy)
    floors = pd.Series(r.required, index=economy.product_ids)
    obj = dynamic_objective(economy, objective, targets)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True, disable=not console.is_terminal) as bar:
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
        t.add_row(str(p), fmt_amount(float(plan.outputs.loc[p].sum())), fmt_amount(float(plan.consumption.loc[p].sum())),
                  fmt_amount(float(plan.investment.loc[p].sum())), fmt_amount(float(plan.stocks.loc[p].sum())))
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
    if report is not None:
        from gosplan.report import multiyear_report

        write_report(console, multiyear_report(plan, economy), report)
    return 0 if not problems else 1


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:,.6g}"


@app.command("plan")
def plan_command(
    economy: str = typer.Argument(..., help="Economy: a path in gosplan's format or a shipped dataset name."),
    targets: Path | None = typer.Option(
        None, "--targets", "-t",
        help="CSV of targets, one row per product: columns product, region (optional), floor, basket, public, "
             "weight, group (see the README's 'Targets file').",
    ),
    objective: str = typer.Option(
        "labour", "--objective",
        help="labour | factor:<id> | basket | harmony | value | floors, or stages joined by ',' (floors,basket).",
    ),
    final_demand: float | None = typer.Option(
        None, "--final-demand", help="Without --targets: floors = the economy's final demand times this factor."
    ),
    limit: list[str] | None = typer.Option(None, "--limit", help="Factor limit ID=VALUE (repeatable)."),
    capacity: list[str] | None = typer.Option(None, "--capacity", help="Activity capacity ID=VALUE (repeatable)."),
    trade_limit: list[str] | None = typer.Option(None, "--trade-limit", help="Trade limit FROM->TO=VALUE (repeatable)."),
    method: str = typer.Option(
        "auto", "--method", help="auto | substitution | simplex | dual_simplex | ipm | ipm_no_crossover | pdlp."
    ),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Seconds."),
    tol: float = typer.Option(1e-7, "--tol", help="Feasibility and optimality tolerance."),
    threads: int | None = typer.Option(None, "--threads", help="Solver threads (default: HiGHS's choice)."),
    periods: int = typer.Option(1, "--periods", help="Number of periods (>1: a multi-year plan)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the plan (.parquet or .csv) and its manifest."),
    top: int = typer.Option(10, "--top", help="How many binding constraints and valuations to show."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the solver's banner and log (HiGHS)."),
    report: Path | None = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    """Compute the best plan the economy can carry out, and explain it."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.errors import SchemaError
    from gosplan.planning import SolverOptions, SolverStatus, Targets, optimal_plan
    from gosplan.sources import read_economy

    console = Console()
    econ = read_economy(economy)
    if targets is not None:
        tg = Targets.read_csv(targets)
    elif final_demand is not None:
        tg = Targets.final_demand(econ, scale=final_demand)
    else:
        raise SchemaError("give --targets FILE.csv, or --final-demand SCALE to plan for the economy's own final demand")
    options = SolverOptions(method=method, time_limit=time_limit, tol=tol, threads=threads, log=verbose)  # type: ignore[arg-type]
    if periods < 1:
        raise SchemaError(f"--periods must be at least 1, not {periods}")
    if periods > 1:
        raise typer.Exit(plan_periods(economy=econ, targets=tg, objective=objective, periods=periods,
                                      options=options, console=console, out=out, report=report))

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"planning {econ.name or economy}", total=None)

        def progress(d: dict) -> None:
            bar.update(task, description=(
                f"stage {d.get('stage', 0) + 1}/{d.get('stages', 1)} {d['method']}: "
                f"iteration {d['iteration']:,}, objective {d['objective']:.6g}"
            ))

        plan = optimal_plan(
            econ, tg, objective, limits=_pairs(limit, "limit") or None, capacities=_pairs(capacity, "capacity") or None,
            trade_limits=_trade(trade_limit) or None, options=options, progress=progress,
        )

    s = plan.summary()
    unit = plan.objective_unit(econ)
    t = Table(title=f"Plan for {econ.name or economy!s}", show_header=False)
    t.add_row("objective", plan.objective)
    t.add_row("status", str(plan.status))
    t.add_row("objective value", f"{_fmt(plan.objective_value)} {unit}".rstrip())
    t.add_row("dual objective / relative gap", f"{_fmt(plan.dual_objective)} / {_fmt(plan.gap)}")
    if plan.basket_multiple is not None:
        t.add_row("basket multiple", _fmt(plan.basket_multiple))
    t.add_row("active activities", f"{s['active_activities']:,} of {len(plan.levels):,}")
    t.add_row("binding balances / factors / capacities",
              f"{s['binding_balances']:,} / {s['binding_factors']:,} / {s['binding_capacities']:,}")
    t.add_row("solver", f"{plan.solver['method']}, {plan.solver['iterations']:,} iterations, "
                        f"{plan.solver['seconds']:.2f} s (model built in {plan.solver['build_seconds']:.2f} s)")
    t.add_row("accuracy", f"primal infeasibility {_fmt(plan.solver['primal_infeasibility'])}, "
                          f"dual infeasibility {_fmt(plan.solver['dual_infeasibility'])}")
    console.print(t)

    if plan.status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED):
        if plan.diagnosis is not None:
            console.print(plan.diagnosis.message(), highlight=False)
        raise typer.Exit(1)
    if plan.status is SolverStatus.APPROXIMATE:
        console.print(approximate_warning(plan.solver["accuracy"], "; use an exact method (--method auto) or tighten --tol"))
    elif plan.status is not SolverStatus.OPTIMAL:
        console.print(f"[yellow]the solver stopped before optimality ({plan.status}); numbers are not final[/]")

    b = plan.binding.head(top)
    if len(b):
        bt = Table(title=f"Binding constraints (top {len(b)} of {len(plan.binding):,} by valuation)")
        for col in ("kind", "id", "name", "bound", "valuation"):
            bt.add_column(col, justify="right" if col in ("bound", "valuation") else "left",
                          max_width=36 if col == "name" else None, overflow="ellipsis", no_wrap=col == "name")
        for r in b.itertuples():
            bound = r.lower if r.kind == "balance" else r.upper
            bt.add_row(r.kind, str(r.id), _name(econ, r.kind, r.id), _fmt(float(bound)), _fmt(float(r.valuation)))
        console.print(bt)
    vt = Table(title=f"Top {top} valuations of products ({unit} per unit of the product)")
    for col in ("product", "name", "valuation", "per"):
        vt.add_column(col, justify="right" if col == "valuation" else "left",
                      max_width=36 if col == "name" else None, overflow="ellipsis", no_wrap=col == "name")
    for pid, v in plan.top_valuations(top).items():
        vt.add_row(str(pid), _name(econ, "balance", pid), _fmt(float(v)), _unit(econ, pid))
    console.print(vt)
    if out is not None:
        path = plan.write(out, econ)
        console.print(f"wrote {path} and {path}.manifest.json")
    if report is not None:
        from gosplan.report import plan_report

        write_report(console, plan_report(plan, econ), report)
    if plan.status is not SolverStatus.OPTIMAL:
        raise typer.Exit(1)
