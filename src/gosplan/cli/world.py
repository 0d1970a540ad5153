"""``gosplan world WORLD``: the world plan, pooled and (with ``--compare autarky``) alone.

A thin shell over :func:`gosplan.planning.world.plan_world` and
:func:`gosplan.planning.world.compare_autarky` (and, with ``--method decomposed``
and ``--workers`` or ``--scheduler``, :class:`gosplan.scale.world.DaskExecutor`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from gosplan.cli._app import app, console


@app.command("world")
def world_cmd(
    world: str = typer.Argument("wiod_2011", help="a shipped world (wiod_2011)"),
    objective: str = typer.Option("max-min", help="max-min, harmony or labour (labour: floors = the baskets)"),
    compare: str = typer.Option("", "--compare", help="'autarky': every region alone against pooled"),
    method: str = typer.Option("monolithic", help="monolithic (one LP) or decomposed (by region, Dantzig-Wolfe)"),
    workers: int = typer.Option(0, help="decomposed on a local Dask cluster of this many workers (0: in this process)"),
    scheduler: str = typer.Option("", help="decomposed on the Dask cluster at this address (or DASK_SCHEDULER_ADDRESS)"),
    out: Path = typer.Option(None, "--out", "-o", help="write the per-region table (.parquet or .csv); a .png chart beside it"),
) -> None:
    """Plan the world economy pooled, and compare it with every region alone."""
    import os

    from rich.table import Table

    from gosplan.errors import SourceError
    from gosplan.planning import Targets
    from gosplan.planning.world import compare_autarky, load_world, plan_world

    con = console()
    w, basket = load_world(world)
    ex = None
    if method == "decomposed" and (workers or scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")):
        from gosplan.scale.world import DaskExecutor

        ex = DaskExecutor(scheduler=scheduler or None, n_workers=workers or None)
    con.print(f"{w}")
    con.print(f"[bold]resource[/]: {w.resource}")
    with con.status("planning the world ..."):
        if compare == "autarky":
            if objective.replace("_", "-") not in ("max-min", "maxmin"):
                con.print("[yellow]--compare autarky compares max-min multiples and least labour; objective ignored[/]")
            cmp = compare_autarky(w, basket, method=method, executor=ex)
            table = cmp.table
        elif compare:
            raise SourceError(f"--compare {compare!r}: the one comparison is 'autarky'")
        else:
            targets = Targets(floors=basket) if objective == "labour" else Targets(basket=basket)
            wp = plan_world(w, targets, objective, method=method, executor=ex)
            table = wp.regions
            cmp = None
    # the table's "labour" columns hold whatever the world's resource is: say which, a word a line
    word = "resource" if "proxy" in w.resource else "labour"
    tab = Table(title=f"{w.name}: per region; resource: {w.resource}; multiples of each region's basket")
    tab.add_column("region")
    for c in table.columns:
        tab.add_column(c.replace("labour", word).replace("_", "\n"), justify="right")
    for r, row in table.iterrows():
        tab.add_row(str(r), *[f"{v:.3f}" if c.startswith("multiple") else f"{0.0 if abs(v) < 0.5 else v:,.0f}"
                              for c, v in zip(table.columns, row.to_numpy(dtype=float), strict=True)])
    con.print(tab)
    if cmp is not None:
        tot = cmp.total
        con.print(f"[bold]world[/]: smallest multiple alone {tot['smallest_multiple_alone']:.6g}, pooled (max-min) "
                  f"{tot['multiple_pooled']:.6g}; {w.resource} for what each region reaches alone: alone "
                  f"{tot['labour_alone']:,.0f}, pooled {tot['labour_pooled']:,.0f}, saved {tot['labour_saved']:,.4g} "
                  f"({100 * tot['labour_saved_share']:.3g} %)")
        g = cmp.gains().sort_values()
        con.print(f"gain most: {', '.join(f'{k} x{v:.3f}' for k, v in g.tail(3)[::-1].items())}; "
                  f"least: {', '.join(f'{k} x{v:.3f}' for k, v in g.head(3).items())}")
    if out is not None:
        from gosplan.sources.tables import write_table

        df = table.reset_index()
        df["resource"] = w.resource
        write_table(df, out, index=False)
        if cmp is not None:
            from gosplan.plots import world_gains_chart

            world_gains_chart(cmp.table, resource=w.resource, path=out.with_suffix(".png"))
        con.print(f"wrote {out}")
