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
    rotate_admin_token: bool = typer.Option(
        False, "--rotate-admin-token",
        help="Revoke every administrator token and write a new one to the admin token file "
             "($GOSPLAN_ADMIN_TOKEN_FILE, else beside the signing key), never to the logs."),
) -> None:
    """Serve the councils' API (docs at /docs) and pages (at /ui).

    The administrator token comes from $GOSPLAN_ADMIN_TOKEN (at least 32 characters; never from
    the command line, which other users of the machine can read), or is made and written to
    a file readable by its owner only.
    """
    from gosplan.errors import require

    uvicorn = require("uvicorn", "server")
    from gosplan.server.app import create_app

    application = create_app(database_url, rotate_admin_token=rotate_admin_token)
    typer.echo(f"gosplan: serving on http://{host}:{port}/ui (API docs: /docs)", err=True)
    # A client that reuses an idle connection just as the server closes it gets a reset
    # (httpx's ReadError): uvicorn closes idle connections after 5 s, exactly when httpx's
    # pool expires them. Keeping them longer than common clients do leaves the closing to
    # the client.
    uvicorn.run(application, host=host, port=port, log_level="warning", timeout_keep_alive=65, backlog=4096)
