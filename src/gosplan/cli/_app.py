"""The one typer application every command module registers on."""

import typer

app = typer.Typer(
    name="gosplan",
    help="gosplan: plan whole economies from real input-output data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: it wraps long option texts at any width instead of cutting them, and
    # shows no type for a flag (typer's rich panels print "--help <bool>")
    rich_markup_mode=None,
)


def console():
    """The terminal the commands print to (rich)."""
    from rich.console import Console

    return Console()


def approximate_warning(accuracy: dict, hint: str = "") -> str:
    """The line a command prints under an approximate plan: how far from optimal it was certified."""
    return (f"[yellow]approximate plan, not optimal: relative primal infeasibility {accuracy['primal']:.1e}, "
            f"dual infeasibility {accuracy['dual']:.1e}, gap {accuracy['gap']:.1e}{hint}[/]")


def fmt_amount(x: float, digits: int = 4) -> str:
    """An amount for a table: ``digits`` significant figures below 1,000, whole above."""
    return f"{x:,.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def progress_bar(console, *columns, transient: bool = True):
    """A rich progress bar on ``console`` with these columns, off when the console is not a
    terminal (piped output, tests), as every long command shows one."""
    from rich.progress import Progress

    return Progress(*columns, console=console, transient=transient, disable=not console.is_terminal)


def log_share(first: float, now: float, target: float) -> float:
    """How far a quantity that falls geometrically (a residual, a gap) has gone from ``first`` to
    ``target``, on a log scale (0..1): the share of a bar an iteration has filled."""
    import math

    if now <= target or first <= target:
        return 1.0
    return min(max(math.log(first / now) / math.log(first / target), 0.0), 1.0)


REPORT_HELP = "Write a self-contained HTML report (charts inline, opens offline) to this file."


def write_report(console, report, path) -> None:
    """Write a :class:`gosplan.report.Report` and say where."""
    written = report.write(path)
    console.print(f"wrote the report to {written}", highlight=False)
