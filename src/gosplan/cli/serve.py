"""`gosplan serve`: run the democracy service (FastAPI under uvicorn)."""

from __future__ import annotations

from typing import Optional

import typer

from gosplan.cli._app import app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    database_url: Optional[str] = typer.Option(
        None, "--database-url", envvar="GOSPLAN_DATABASE_URL",
        help="SQLite file or postgresql:// URL (default: gosplan.sqlite here)."),
    admin_token: Optional[str] = typer.Option(
        None, "--admin-token", envvar="GOSPLAN_ADMIN_TOKEN",
        help="Accept this token as administrator; without one, a token is made and printed once."),
) -> None:
    """Serve the councils' API (docs at /docs) and pages (at /ui)."""
    from gosplan.errors import require

    uvicorn = require("uvicorn", "server")
    from gosplan.server.app import create_app

    application = create_app(database_url, admin_token=admin_token)
    typer.echo(f"gosplan: serving on http://{host}:{port}/ui (API docs: /docs)", err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")
