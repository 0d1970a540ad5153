"""Commands on economies as data: ``info``, ``convert`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from gosplan.cli._app import app


def _console():
    from rich.console import Console

    return Console()


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
    out: Path = typer.Option(Path("gosplan-demo"), "--out", help="Folder the demo writes its results to."),
) -> None:
    """Run the main job end to end on the shipped example and write a report."""
    from gosplan import datasets

    console = _console()
    console.rule("gosplan demo")
    economy = datasets.load("uk_2010")
    console.print(f"Loaded the shipped real table: {economy!r}")
    console.print(datasets.DATASETS["uk_2010"])
    print_summary(economy, console)
