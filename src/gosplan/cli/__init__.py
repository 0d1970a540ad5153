"""The `gosplan` command: a thin shell over the Python API.

Each command module registers its commands on the shared app; the API it calls
is imported inside the command so that `gosplan --help` stays fast.
"""

from __future__ import annotations

import sys

from gosplan.cli._app import app
from gosplan.cli import data  # noqa: F401  (info, convert, demo)
from gosplan.cli import ledger  # noqa: F401  (ledger verify, ledger show)
from gosplan.cli import serve  # noqa: F401  (serve)
from gosplan.cli import analysis  # noqa: F401  (analyze, scissors)
from gosplan.cli import budget  # noqa: F401  (budget)
from gosplan.cli import plan  # noqa: F401  (plan)
from gosplan.cli import compare  # noqa: F401  (compare)
from gosplan.cli import invest  # noqa: F401  (invest)
from gosplan.cli import world  # noqa: F401  (world)


def main() -> None:
    from gosplan.errors import GosplanError
    from rich.console import Console

    try:
        app()
    except GosplanError as exc:
        from rich.markup import escape

        # messages quote ids like ['a', 'b']: escape them so rich does not read them as markup
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
