"""The `gosplan` command: a thin shell over the Python API.

Each command module registers its commands on the shared app; the API it calls
is imported inside the command so that `gosplan --help` stays fast.
"""

from __future__ import annotations

import sys

from gosplan.cli import (
    analysis,  # noqa: F401  (analyze, scissors)
    budget,  # noqa: F401  (budget)
    compare,  # noqa: F401  (compare)
    data,  # noqa: F401  (info, convert, demo)
    invest,  # noqa: F401  (invest)
    ledger,  # noqa: F401  (ledger verify, ledger show)
    plan,  # noqa: F401  (plan)
    serve,  # noqa: F401  (serve)
    world,  # noqa: F401  (world)
)
from gosplan.cli._app import app


def main() -> None:
    from rich.console import Console

    from gosplan.errors import GosplanError

    try:
        app()
    except GosplanError as exc:
        from rich.markup import escape

        # messages quote ids like ['a', 'b']: escape them so rich does not read them as markup
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
