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


def write_table(frame, path) -> None:
    """Write a labelled table as Parquet or CSV, by the file's suffix."""
    from gosplan.errors import SourceError

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".csv":
        frame.to_csv(path)
    else:
        raise SourceError(f"{path}: write .parquet or .csv (the suffix decides the format)")
