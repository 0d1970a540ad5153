"""Commands on economies as data: ``info``, ``convert`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from gosplan.cli._app import app
from gosplan.cli._app import console as _console


def _load(table: str):
    from gosplan.sources import read_economy

    return read_economy(table)


def summarize(economy) -> dict:
    """Sizes, regions, factors, productivity and totals of an economy, as plain data."""
    import numpy as np

    from gosplan.errors import UnproductiveError

    out: dict = {"name": economy.name, **economy.shape, "regions": list(economy.regions)}
    out["nonzero_inputs"] = int(economy.use.nnz)
    out["square"] = economy.is_square
    if economy.is_square:
        try:
            out["spectral_radius_bound"] = float(economy.check_productive())
            out["productive"] = True
        except UnproductiveError as exc:
            out["productive"] = False
            out["unproductive"] = str(exc)
    if economy.levels is not None:
        out["gross_output_total"] = float(np.sum(economy.make @ economy.levels.to_numpy()))
        out["factor_totals"] = {
            f: float(v) for f, v in zip(economy.factor_ids, economy.factor_use @ economy.levels.to_numpy())
        }
    if economy.final_demand is not None:
        out["final_demand_totals"] = {c: float(v) for c, v in economy.final_demand.sum().items()}
    return out


def print_summary(economy, console) -> None:
    from rich.table import Table

    s = summarize(economy)
    t = Table(title=f"Economy {economy.name!r}", show_header=False)
    t.add_row("products / activities / factors", f"{s['products']:,} / {s['activities']:,} / {s['factors']:,}")
    t.add_row("non-zero input coefficients", f"{s['nonzero_inputs']:,}")
    t.add_row("regions", ", ".join(s["regions"]) if s["regions"] else "(one)")
    if "productive" in s:
        t.add_row(
            "productive",
            f"yes (spectral radius of A <= {s['spectral_radius_bound']:.4f})" if s["productive"] else f"NO: {s['unproductive']}",
        )
    else:
        t.add_row("structure", "activity analysis (joint products or alternative techniques)")
    if "gross_output_total" in s:
        unit = economy.products["unit"].iloc[0] if len(economy.products) else ""
        t.add_row("gross output, total", f"{s['gross_output_total']:,.1f} {unit}")
    console.print(t)
    if s.get("factor_totals"):
        ft = Table(title="Primary factors (base-year use)")
        ft.add_column("factor")
        ft.add_column("unit")
        ft.add_column("total", justify="right")
        for f, v in s["factor_totals"].items():
            ft.add_row(f, economy.factors.loc[f, "unit"], f"{v:,.1f}")
        console.print(ft)
    if s.get("final_demand_totals"):
        dt = Table(title="Final demand (base year)")
        dt.add_column("category")
        dt.add_column("total", justify="right")
        for c, v in list(s["final_demand_totals"].items())[:20]:
            dt.add_row(c, f"{v:,.1f}")
        if len(s["final_demand_totals"]) > 20:
            dt.add_row(f"... {len(s['final_demand_totals']) - 20} more", "")
        console.print(dt)


@app.command()
def info(table: str = typer.Argument(..., help="A gosplan table (folder or .xlsx) or a shipped dataset's name.")) -> None:
    """Sizes, regions, factors, productivity check and totals of an economy."""
    console = _console()
    with console.status(f"loading {table}"):
        economy = _load(table)
    print_summary(economy, console)


@app.command()
def convert(
    source: str = typer.Argument(..., help="Input: a gosplan table or dataset name."),
    out: Path = typer.Argument(..., help="Output: FOLDER.csv / FOLDER (Parquet) / FILE.xlsx."),
) -> None:
    """Convert an economy between CSV, Parquet and Excel (exact round trip)."""
    from gosplan.sources import write_economy

    console = _console()
    with console.status(f"converting {source} -> {out}"):
        economy = _load(source)
        write_economy(economy, out)
    console.print(f"wrote {economy!r} to {out}")


@app.command()
def demo(
    out: Path = typer.Option(Path("gosplan-demo"), "--out", "-o", help="Folder the demo writes its results to."),
) -> None:
    """Run the main job end to end: a real table checked, then five years of industrialisation planned.

    Part 1 loads and checks the shipped ONS UK 2010 table. Part 2 plans the USSR of
    1924/25 (gosplan.examples.ussr_1923): a NEP-like baseline against the optimal industrialisation
    plan, with the scissors index per year, and writes tables, a chart and a report to OUT; the
    report ends with the world of 2011 (WIOD, 41 regions) planned region by region and pooled.
    """
    from rich.markdown import Markdown
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.table import Table

    from gosplan import datasets
    from gosplan.examples import ussr_1923 as ussr
    from gosplan.sources import read_economy

    console = _console()
    console.rule("gosplan demo, part 1: a real input-output table")
    economy = read_economy("uk_2010")
    console.print(f"{economy!r}: {datasets.DATASETS['uk_2010']}")
    print_summary(economy, console)

    console.rule("gosplan demo, part 2: industrialisation and the scissors, USSR 1924/25")
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("starting", total=5)
        result = ussr.run(out, progress=lambda step, k, n: bar.update(task, description=step, completed=k, total=n),
                          world="wiod_2011")
    table = result.table
    t = Table(title="Per year and scenario, million pre-war roubles (all columns: table.csv)")
    cols = {
        "period": "year",
        "scenario": "scenario",
        "output_agr": "farm output",
        "output_ind_a": "heavy ind.",
        "output_ind_b": "light ind.",
        "total_investment": "investment",
        "scissors_index": "scissors",
        "scissors_vs_1913": "vs 1913",
    }
    cons = [f"consumption_{p}" for p in ussr.CONSUMER_GOODS]  # households' goods, as report.md counts them
    for label in [*cols.values()][:5] + ["household consumption"] + [*cols.values()][5:]:
        t.add_column(
            label,
            justify="left" if label in ("year", "scenario") else "right",
            min_width=17 if label == "scenario" else len(label),
        )
    for _, row in table.iterrows():
        cells = [str(row[c]) if c in ("period", "scenario") else f"{row[c]:,.0f}" for c in list(cols)[:5]]
        cells.append(f"{row[cons].sum():,.0f}")
        cells += [f"{row['total_investment']:,.0f}", f"{row['scissors_index']:.3f}", f"{row['scissors_vs_1913']:.2f}"]
        t.add_row(*cells)
    from rich.console import Console

    Console(width=max(console.width, 120)).print(t)  # ten columns need more than a default 80
    console.print(Markdown(result.report))
    console.print(f"[bold]written to {result.out_dir}:[/] " + ", ".join(p.name for p in result.files), highlight=False)
