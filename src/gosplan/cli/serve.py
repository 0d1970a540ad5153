"""`gosplan serve`: run the democracy service (FastAPI under uvicorn)."""

from __future__ import annotations

import os
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
    migrate: bool = typer.Option(
        False, "--migrate",
        help="Bring a database made by an older gosplan to the current schema first (adds the missing "
             "tables and columns, removes nothing; back it up before), and publish a signed head for "
             "every round that has none."),
    heads_mirror: Optional[str] = typer.Option(
        None, "--heads-mirror", envvar="GOSPLAN_HEADS_MIRROR",
        help="Also append every signed head to this file (opened append-only; the server refuses to start "
             "if the database lacks a head the file holds). `gosplan ledger verify EXPORT --head FILE` reads it."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, envvar="GOSPLAN_WORKERS",
        help="Processes serving requests over the one database. Writes stay serialised by the database "
             "(SQLite's write lock, PostgreSQL's row locks), each process group-commits its own; the limit "
             "on failed tokens counts per process. Stop the service with SIGTERM: a SIGKILL of this process "
             "leaves its workers running."),
) -> None:
    """Serve the councils' API (docs at /docs) and pages (at /ui).

    The administrator token comes from $GOSPLAN_ADMIN_TOKEN (at least 32 characters; never from
    the command line, which other users of the machine can read), or is made and written to
    a file readable by its owner only.
    """
    from gosplan.errors import require

    uvicorn = require("uvicorn", "server")
    from gosplan.server.app import create_app

    if heads_mirror:
        os.environ["GOSPLAN_HEADS_MIRROR"] = os.path.abspath(heads_mirror)  # the service reads it when it starts
    if migrate:
        from gosplan.server.db import migrate as migrate_schema

        for change in migrate_schema(database_url) or ["the schema is current: nothing to add"]:
            typer.echo(f"gosplan: migrate: {change}", err=True)
    application = create_app(database_url, rotate_admin_token=rotate_admin_token)
    if migrate:
        signed, refused = application.state.service.sign_missing_heads()
        typer.echo(f"gosplan: migrate: published a signed head for {len(signed)} round(s) that had none", err=True)
        for rid, why in refused:
            typer.echo(f"gosplan: migrate: round {rid} gets no head: its ledger does not verify ({why}); "
                       "check it with `gosplan ledger verify`", err=True)
    typer.echo(f"gosplan: serving on http://{host}:{port}/ui (API docs: /docs)", err=True)
    # A client that reuses an idle connection just as the server closes it gets a reset
    # (httpx's ReadError): uvicorn closes idle connections after 5 s, exactly when httpx's
    # pool expires them. Keeping them longer than common clients do leaves the closing to
    # the client.
    # No access log (a line per vote costs the event loop); httptools and uvloop when installed.
    options = dict(host=host, port=port, log_level="warning", access_log=False, timeout_keep_alive=65, backlog=4096)
    if workers == 1:
        # What start-up made (modules, the economies, the app) lives as long as the server: kept out
        # of the cyclic collector, whose passes over it otherwise stall requests under load.
        import gc

        gc.collect()
        gc.freeze()
        uvicorn.run(application, **options)
        return
    # Everything done once at startup (key, administrator token, migration, registry, catching the
    # mirror up) was done above, in this process; each worker opens the database afresh and finds it done.
    from gosplan.server.db import normalise_url

    application.state.service.store.dispose()
    os.environ["GOSPLAN_DATABASE_URL"] = normalise_url(database_url)
    uvicorn.run("gosplan.server.app:create_app", factory=True, workers=workers, **options)
