"""``gosplan budget``: run a participatory-budgeting rule on a Pabulib election and explain it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gosplan.cli._app import REPORT_HELP, app, write_report


@app.command()
def budget(
    election: str = typer.Argument(
        ...,
        help="A Pabulib .pb file (META, PROJECTS, VOTES), or a shipped election: "
        "assen_2024, swiecie_2023, czestochowa_2024_lisiniec, czestochowa_2024_mirow.",
    ),
    rule: str = typer.Option("equal-shares", "--rule", "-r", help="equal-shares | greedy | phragmen"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the per-project table (.csv or .parquet)."),
    compare: bool = typer.Option(False, "--compare", help="Also say whether the outcome matches the file's 'selected' column."),
    report: Optional[Path] = typer.Option(None, "--report", help=REPORT_HELP),
    completion: str = typer.Option(
        "meta", "--completion",
        help="Equal Shares: add1 | add1-comparison | comparison | none; default: the file's META rule.",
    ),
    add1_stop: Optional[str] = typer.Option(
        None, "--add1-stop",
        help="Equal Shares: first-exhaustive | last-within-budget; default: by the completion.",
    ),
) -> None:
    """Fund projects by a budget rule and explain every decision."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.table import Table

    from gosplan.democracy.budgeting import Rule, allocate
    from gosplan.democracy.pabulib import read_pabulib
    from gosplan.errors import SchemaError, SourceError

    console = Console()
    if not console.is_terminal:  # piped output: wide enough for the explanations
        console = Console(width=160)
    e = read_pabulib(election)
    try:
        r = Rule(rule)
    except ValueError:
        raise SchemaError(f"--rule {rule!r}: use one of {', '.join(x.value for x in Rule)}") from None
    options = {}
    if r is Rule.EQUAL_SHARES:
        options["completion"] = completion
        options["add1_stop"] = add1_stop
        with Progress(
            TextColumn("[bold]Equal Shares[/]"), BarColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("", total=e.budget)

            def progress(step: int, share: float, spent: float) -> None:
                bar.update(task, completed=min(spent, e.budget), description=f"step {step}, share {share:,.2f}")

            options["progress"] = progress
            outcome = allocate(e, r, **options)
    else:
        with Progress(SpinnerColumn(), TextColumn(f"[bold]{r.value}[/]"), TimeElapsedColumn(), console=console,
                      transient=True, disable=not console.is_terminal):
            outcome = allocate(e, r)
    t = outcome.projects
    cur = e.meta.get("currency", "")
    table = Table(title=f"{e.meta.get('description', Path(election).name)}: {r.value}", show_lines=False)
    table.add_column("project")
    table.add_column("name", max_width=32, overflow="ellipsis", no_wrap=True)
    table.add_column(f"cost {cur}".strip(), justify="right")
    table.add_column("votes" if e.points is None else "points", justify="right")
    table.add_column("funded", justify="center")
    table.add_column("explanation", overflow="fold")
    order = t.sort_values(["funded", "points"], ascending=[False, False]).index
    for pid in order:
        row = t.loc[pid]
        votes = row["voters"] if e.points is None else row["points"]
        table.add_row(
            str(pid),
            str(row["name"]) if "name" in t.columns else "",
            f"{row['cost']:,.0f}",
            f"{votes:,.0f}",
            "[green]yes[/]" if row["funded"] else "[red]no[/]",
            str(row["explanation"]),
        )
    console.print(table)
    for line in outcome.summary():
        console.print(line, highlight=False)
    if compare:
        if "selected" not in e.projects.columns:
            raise SourceError(f"{election}: --compare needs a 'selected' column in PROJECTS")
        city = set(e.projects.index[e.projects["selected"].astype(float) > 0])
        mine = set(outcome.funded)
        if city == mine:
            console.print(f"[green]matches the {len(city)} projects the city funded[/]")
        else:
            console.print(
                f"[red]differs from the city:[/] only gosplan {sorted(mine - city)}, only the city {sorted(city - mine)}"
            )
    if out is not None:
        from gosplan.sources.tables import write_table
        write_table(t, out)
        console.print(f"wrote {out}")
    if report is not None:
        from gosplan.report import budget_report

        write_report(console, budget_report(e, outcome), report)
