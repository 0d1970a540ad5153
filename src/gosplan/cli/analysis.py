"""Commands of Leontief analysis and prices: ``analyze`` and ``scissors``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gosplan.cli._app import app, log_share
from gosplan.cli._app import console as _console

_residual_share = log_share  # the name tests/test_analysis.py knows


def read_demand(economy, demand: str | None):
    """``--demand``: a CSV file ``product,quantity`` or final-demand category names (comma-separated)."""
    import pandas as pd

    from gosplan.errors import SchemaError, SourceError

    if demand is None:
        return None
    path = Path(demand)
    if path.suffix.lower() == ".csv" or path.exists():
        if not path.exists():
            raise SourceError(f"{path}: no such demand file")
        table = pd.read_csv(path, dtype={"product": str})
        missing = [c for c in ("product", "quantity") if c not in table.columns]
        if missing:
            raise SchemaError(f"{path}: missing column(s) {missing}; a demand file has columns product,quantity")
        bad = table["quantity"].isna()
        if bad.any():
            raise SchemaError(f"{path} line {int(bad.to_numpy().argmax()) + 2}: quantity is empty")
        dup = table["product"].duplicated()
        if dup.any():
            raise SchemaError(f"{path} line {int(dup.to_numpy().argmax()) + 2}: product {table['product'][dup].iloc[0]!r} repeated")
        return pd.Series(table["quantity"].to_numpy(dtype=float), index=table["product"], name=path.stem)
    cats = [c.strip() for c in demand.split(",") if c.strip()]
    return cats[0] if len(cats) == 1 else cats


#: the solves of ``gosplan analyze``, in order (without --linkages, --ghosh or --type-ii)
STAGES = ("gross output", "multipliers")


def stages(*, linkages: bool = False, ghosh: bool = False, type_ii: bool = False) -> tuple[str, ...]:
    """The solves of ``gosplan analyze`` with the optional tables asked for, in order."""
    extra = [name for name, on in (("linkages", linkages), ("ghosh", ghosh), ("type II", type_ii)) if on]
    return STAGES + tuple(extra)


def analyze_table(economy, demand=None, *, method: str = "auto", factors: list[str] | None = None, progress=None,
                  linkages: bool = False, ghosh: bool = False, type_ii: bool = False,
                  income: str = "compensation", consumption: str = "Households"):
    """The results table of ``gosplan analyze``: per product, its name and unit, demand, gross
    output and multipliers; with ``linkages`` the backward and forward linkages and key-sector class
    (``linkage:*``), with ``ghosh`` the supply-side model for the table's primary inputs
    (``ghosh:*``), with ``type_ii`` the Type I and II multipliers and induced effects of the model
    closed with households (``income`` row, ``consumption`` column; ``output:*``, ``{income}:*``, ...).

    ``progress(stage, iteration, residual, tol)``, if given, is called as each solve of
    :func:`stages` starts (``iteration`` None) and at each iteration of an iterative method.
    """
    import pandas as pd

    from gosplan import analysis

    def stage(name: str) -> None:
        if progress is not None:
            progress(name, None, None, None)
            solver.progress = lambda k, res, tol: progress(name, k, res, tol)

    solver = analysis.prepare(economy, method)
    D = analysis.demand_matrix(economy, demand)
    stage(STAGES[0])
    X = analysis.gross_output(economy, D, solver=solver)
    out = pd.DataFrame({"name": economy.products["name"], "unit": economy.products["unit"]}, index=economy.product_ids)
    for c in D.columns:
        out[f"demand:{c}"] = D[c]
        out[f"gross_output:{c}"] = X[c]
    stage(STAGES[1])
    out["output_multiplier"], M = analysis.multipliers(economy, factors, solver=solver)
    for f in M.index:
        out[f"multiplier:{f}"] = M.loc[f]
    if linkages:
        stage("linkages")
        table = analysis.linkages(economy, forward="ghosh" if economy.levels is not None else "leontief",
                                  solver=solver)
        for c in table.columns:
            out[f"linkage:{c}"] = table[c]
    if ghosh:
        stage("ghosh")
        x = economy.x.to_numpy()
        primary = x * (1.0 - economy.A.sum(axis=0))
        out["ghosh:primary_inputs"] = primary
        out["ghosh:supply_driven_output"] = analysis.supply_driven_output(economy, solver=solver)
        # row sums of G = x^-1 L x: the total forward linkage (one forward solve with x)
        Lx = solver.solve(x).x
        out["ghosh:total_forward"] = [lx / xi if xi else 1.0 for lx, xi in zip(Lx, x)]
    if type_ii:
        stage("type II")
        t2 = analysis.type_two_multipliers(economy, income, consumption, factors, method=method)
        for c in t2.columns:
            out[c] = t2[c]
    return out, solver.method


def _cell(value, column: str) -> str:
    """One number format per kind of column: flows with thousands separators and one decimal,
    coefficients and multipliers with four decimals, labels as they are."""
    if isinstance(value, str) or not isinstance(value, (int, float)):
        return str(value)
    if column.startswith(("demand:", "gross_output:", "ghosh:primary", "ghosh:supply")):
        return f"{value:,.1f}"
    return f"{value:.4f}"


def _shown_columns(result, gross: list[str], linkages: bool, ghosh: bool, type_ii: bool, income: str) -> list[str]:
    cols = gross + ["output_multiplier"]
    if linkages:
        cols += ["linkage:backward_normalised", "linkage:forward_normalised", "linkage:key_sector"]
    if ghosh:
        cols += ["ghosh:supply_driven_output", "ghosh:total_forward"]
    if type_ii:
        cols += ["output:type_ii", f"{income}:type_ii_multiplier"]
    return [c for c in cols if c in result.columns]


@app.command()
def analyze(
    table: str = typer.Argument(..., help="economy: a folder/workbook in gosplan's format or a dataset name"),
    demand: Optional[str] = typer.Option(None, "--demand", "-d",
                                         help="CSV file product,quantity, or final-demand category name(s), comma-separated; "
                                              "default: total final demand"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the results table (.parquet or .csv)"),
    method: str = typer.Option(
        "auto", help="solver: auto, dense, dense32, dense-gmres, dense-neumann, neumann, jacobi, gmres, bicgstab, cupy"),
    factor: Optional[list[str]] = typer.Option(None, "--factor", "-f", help="factor multipliers to report (repeatable; default all)"),
    top: int = typer.Option(10, help="products shown in the table"),
    report: Optional[Path] = typer.Option(None, "--report", help="write a self-contained HTML report to this file"),
    linkages: bool = typer.Option(False, "--linkages", help="add backward and forward linkages (raw, normalised) and key sectors"),
    ghosh: bool = typer.Option(False, "--ghosh", help="add the supply-side (Ghosh) model for the table's primary inputs"),
    type_ii: bool = typer.Option(False, "--type-ii", help="add Type I and II multipliers of the model closed with households"),
    income: str = typer.Option("compensation", help="--type-ii: the factor row of household income"),
    consumption: str = typer.Option("Households", help="--type-ii: the final-demand category of household consumption"),
) -> None:
    """Gross output for a final demand, with output and factor multipliers per product; optionally
    linkages, the supply-side model and Type II multipliers, all in one table (--out)."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.cli._app import progress_bar
    from gosplan.sources import read_economy

    console = _console()
    with console.status("reading the economy"):
        economy = read_economy(table)
    todo = stages(linkages=linkages, ghosh=ghosh, type_ii=type_ii)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[residual]}"), TimeElapsedColumn())
    with progress_bar(console, *columns, transient=False) as bar:
        task = bar.add_task(f"solving for {len(economy.product_ids):,} products", total=len(todo), residual="")
        done, first = [-1], {}

        def progress(stage: str, k, res, tol) -> None:
            if k is None:  # a solve starts
                done[0] += 1
                bar.update(task, description=stage, completed=done[0], residual="")
                return
            share = log_share(first.setdefault(stage, res), res, tol)
            bar.update(task, completed=done[0] + share, residual=f"residual {res:.1e} (to {tol:.0e})")

        result, used = analyze_table(economy, read_demand(economy, demand), method=method, factors=factor,
                                     progress=progress, linkages=linkages, ghosh=ghosh, type_ii=type_ii,
                                     income=income, consumption=consumption)
        bar.update(task, description="solved", completed=len(todo))
    gross = [c for c in result.columns if c.startswith("gross_output:")]
    shown = _shown_columns(result, gross, linkages, ghosh, type_ii, income)
    t = Table(title=f"{economy.name or table}: gross output for the demand ({used}), top {top}")
    t.add_column("product")
    t.add_column("name", overflow="ellipsis", no_wrap=True, max_width=24)
    t.add_column("unit", no_wrap=True)
    for c in shown:
        # "gross_output:CONS_h" as "gross / output / CONS_h", never cut: the column is as wide as its words
        measure, _, which = c.partition(":")
        header = "\n".join([*measure.split("_"), *([which] if which else [])])
        t.add_column(header, justify="right", min_width=max(len(w) for w in header.split("\n")))
    for pid in result[gross[0]].abs().sort_values(ascending=False).index[:top]:
        row = result.loc[pid]
        t.add_row(str(pid), str(row["name"]), str(row["unit"]), *[_cell(row[c], c) for c in shown])
    t.add_row("[bold]total[/]", "", "", *[_cell(float(result[c].sum()), c) if c in gross else "" for c in shown])
    console.print(t)
    if out is not None:
        from gosplan.sources.tables import write_table
        write_table(result, out)
        console.print(f"wrote {len(result):,} rows x {len(result.columns)} columns to {out}")
    if report is not None:
        from gosplan.cli._app import write_report
        from gosplan.report import analysis_report

        write_report(console, analysis_report(economy, result, method=used, footprints=_footprints(economy, factor),
                                              income=income, consumption=consumption), report)


def _footprints(economy, factors):
    """Footprints by region for the report, where the economy has more than one region."""
    from gosplan import analysis

    if "region" not in economy.products or economy.products["region"].nunique() < 2 or economy.final_demand is None:
        return None
    return analysis.footprints(economy, factors)


@app.command()
def scissors(
    series: str = typer.Argument(..., help="CSV of observed series (date,series,value[,base,...]), or the shipped ussr_1922_1924"),
    up: str = typer.Option("industry", help="series (or its stem) of the group whose prices open the scissors upward"),
    down: str = typer.Option("agriculture", help="series (or its stem) of the other group"),
    base: Optional[str] = typer.Option(None, help="base period (YYYY, YYYY-MM, YYYY-MM-DD); default the series' own base"),
    since: Optional[str] = typer.Option(None, help="first period drawn in the chart"),
    barter: Optional[str] = typer.Option(None, help="a physical terms-of-trade series to draw beside the ratio"),
    plot: Optional[Path] = typer.Option(None, help="write the chart (PNG, SVG or PDF)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the index table (.parquet or .csv)"),
) -> None:
    """The scissors index of two price series against a base period, with its chart."""
    import pandas as pd
    from rich.table import Table

    from gosplan import plots, prices

    console = _console()
    table = prices.read_price_series(series)
    frame, bounds, extra = prices.observed_scissors(
        table, up, down, None if base is None else pd.Timestamp(base), barter=barter)
    first = frame.index[0]
    base_label = str(first.year) if first == pd.Timestamp(first.year, 1, 1) else str(first.date())
    t = Table(title=f"scissors: {frame.attrs['up']} / {frame.attrs['down']}\n"
                    f"price indices as published; ratio {base_label} = 1")
    for c in ("period", f"{up} prices", f"{down} prices", "ratio (scissors)"):
        t.add_column(c, justify="right")
    rows = [(when, f"{row['up']:.4g}", f"{row['down']:.4g}", f"{row['ratio']:.3f}") for when, row in frame.iterrows()]
    rows += [(when, "", "", f"> {value:g} (bound)") for when, value in bounds.items()]
    for when, *cells in sorted(rows, key=lambda r: r[0]):
        t.add_row(str(when.date()), *cells)
    console.print(t)
    if plot is not None:
        unverified = table.loc[table.get("verified_in_two_sources", pd.Series("yes", index=table.index)).eq("no")
                               & table["note"].str.contains("UNVERIFIED", na=False), "period"] \
            if "note" in table.columns else []
        fig = plots.scissors_chart(frame, bounds=bounds, extra_ratios=extra, uncertain=list(unverified),
                                   since=since, unit="price index", path=plot)
        import matplotlib.pyplot as plt

        plt.close(fig)
        console.print(f"wrote the chart to {plot}")
    if out is not None:
        from gosplan.sources.tables import write_table
        write_table(frame, out)
