"""The one typer application every command module registers on."""

import typer

app = typer.Typer(
    name="gosplan",
    help="gosplan: plan whole economies from real input-output data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def console():
    """The terminal the commands print to (rich)."""
    from rich.console import Console

    return Console()
