"""``gosplan world WORLD``: the world plan, pooled and (with ``--compare autarky``) alone.

A thin shell over :func:`gosplan.planning.world.plan_world` and
:func:`gosplan.planning.world.compare_autarky` (and, with ``--method decomposed``
and ``--workers`` or ``--scheduler``, :class:`gosplan.scale.world.DaskExecutor`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from gosplan.cli._app import REPORT_HELP, app, console, log_share, progress_bar


class _Rounds:
    """An executor that counts the centre's rounds for the progress bar and passes every call on
    (compare_autarky plans the pooled worlds without a progress callback; the executor sees each
    round's pricing, so it can tell)."""

    def __init__(self, inner, start, tick):
        self.inner, self._start, self._tick = inner, start, tick

    def start(self, blocks):
        self._start(len(blocks))
        return self.inner.start(blocks)

    def propose(self, prices, phase):
        self._tick(phase)
        return self.inner.propose(prices, phase)

    def __getattr__(self, name):  # opening, combine, local_duals, local_infeasibility, close
        return getattr(self.inner, name)


@app.command("world")
def world_cmd(
    world: str = typer.Argument("wiod_2011", help="a shipped world (wiod_2011)"),
    objective: str = typer.Option("max-min", help="max-min, harmony or labour (labour: floors = the baskets)"),
    compare: str = typer.Option("", "--compare", help="'autarky': every region alone against pooled"),
    method: str = typer.Option("monolithic", help="monolithic (one LP) or decomposed (by region, Dantzig-Wolfe)"),
    workers: int = typer.Option(0, help="decomposed on a local Dask cluster of this many workers (0: in this process)"),
    scheduler: str = typer.Option("", help="decomposed on the Dask cluster at this address (or DASK_SCHEDULER_ADDRESS)"),
    out: Path = typer.Option(None, "--out", "-o", help="write the per-region table (.parquet or .csv); a .png chart beside it"),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    """Plan the world economy pooled, and compare it with every region alone (--report: the whole
    plan as one HTML file)."""
    import os

    from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gosplan.errors import SourceError
    from gosplan.planning import Targets
    from gosplan.planning.decompose import REL_GAP
    from gosplan.planning.world import compare_autarky, load_world, plan_world

    con = console()
    with con.status(f"reading the world {world}"):
        w, basket = load_world(world)
    ex = None
    if method == "decomposed" and (workers or scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")):
        from gosplan.scale.world import DaskExecutor

        ex = DaskExecutor(scheduler=scheduler or None, n_workers=workers or None)
    con.print(f"{w}")
    con.print(f"[bold]resource[/]: {w.resource}")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[gap]}"),
               TimeElapsedColumn())
    with progress_bar(con, *columns) as bar:
        task = bar.add_task("building the world program", total=None, gap="")
        stage = {"name": "", "round": 0, "first": None}

        def start(n_blocks: int) -> None:
            stage.update(round=0, first=None)
            bar.update(task, description=f"{stage['name']}: {n_blocks} regions built", total=None, completed=0, gap="",
                       refresh=True)

        def tick(phase: int) -> None:
            stage["round"] += 1
            # drawn at once at a stage's first round: a short stage would otherwise end between two refreshes
            bar.update(task, description=f"{stage['name']}: round {stage['round']}, phase {phase}",
                       refresh=stage["round"] == 1)

        def progress(rec: dict) -> None:  # plan_world's own callback: the certified gap of each round
            gap = rec.get("gap")
            text = f"round {rec['round']}" + (" (phase 1: a feasible mix)" if rec["phase"] == 1 else "")
            if gap is not None and 0 < gap < float("inf"):
                new = stage["first"] is None
                stage["first"] = stage["first"] or gap
                bar.update(task, description=f"{stage['name']}: {text}", total=1.0,
                           completed=log_share(stage["first"], gap, REL_GAP),
                           gap=f"certified gap {gap:.1e} (to {REL_GAP:.0e})", refresh=new)
            else:
                bar.update(task, description=f"{stage['name']}: {text}")

        if compare == "autarky":
            if objective.replace("_", "-") not in ("max-min", "maxmin"):
                con.print("[yellow]--compare autarky compares max-min multiples and least labour; objective ignored[/]")
            names = iter(["the world pooled (max-min)", "the world pooled (least resource, same floors)"])
            stage["name"] = f"each of {len(w.regions)} regions alone, then pooled"
            if method == "decomposed":
                from gosplan.planning.decompose import SerialExecutor

                def start_named(n_blocks: int) -> None:
                    stage["name"] = next(names, "the world pooled")
                    start(n_blocks)

                ex = _Rounds(ex or SerialExecutor(), start_named, tick)
            bar.update(task, description=stage["name"])
            cmp = compare_autarky(w, basket, method=method, executor=ex)
            table = cmp.table
            result = cmp
        elif compare:
            raise SourceError(f"--compare {compare!r}: the one comparison is 'autarky'")
        else:
            targets = Targets(floors=basket) if objective == "labour" else Targets(basket=basket)
            stage["name"] = f"{len(w.regions)} regions, " + ("decomposed" if method == "decomposed" else "one program")
            bar.update(task, description=stage["name"])
            wp = plan_world(w, targets, objective, method=method, executor=ex,
                            progress=progress if method == "decomposed" else None)
            table = wp.regions
            cmp = None
            result = wp
    # the table's "labour" columns hold whatever the world's resource is: say which, a word a line
    word = "resource" if "proxy" in w.resource else "labour"
    tab = Table(title=f"{w.name}: per region; resource: {w.resource}; multiples of each region's basket")
    tab.add_column("region")
    for c in table.columns:
        tab.add_column(c.replace("labour", word).replace("_", "\n"), justify="right")
    for r, row in table.iterrows():
        tab.add_row(str(r), *[f"{v:.3f}" if "multiple" in c else f"{0.0 if abs(v) < 0.5 else v:,.0f}"
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
    if report is not None:
        from gosplan.cli._app import write_report
        from gosplan.report import world_report

        write_report(con, world_report(result), report)
