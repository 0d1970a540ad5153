"""The FastAPI application: storage, API, pages, and the guards every request passes.

:func:`create_app` builds one application over one database (SQLite file by
default, PostgreSQL when the URL names one). Guards: a request body larger than
``max_body`` bytes is refused with 413 before any handler runs; a refusal of the
services becomes its HTTP status with ``{"detail": message}``; any other error a
user can cause (a :class:`~gosplan.errors.GosplanError` from the domain) becomes 422.
"""

from __future__ import annotations

import os
import sys

from gosplan.errors import require

DEFAULT_MAX_BODY = 1 << 20
#: Worker threads for request handlers (``$GOSPLAN_THREADS``).
DEFAULT_THREADS = 4


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body
    is read up to the limit and refused as soon as it passes it.
    """

    def __init__(self, app, limit: int):  # noqa: ANN001
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                return await self._refuse(send, 400, "Content-Length is not a number")
            if too_big:
                return await self._refuse(send, 413, f"request body of {int(declared)} bytes exceeds the limit of {self.limit} bytes")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                return await self._refuse(send, 413, f"request body exceeds the limit of {self.limit} bytes")
            chunks.append(body)
            if not message.get("more_body"):
                break
        whole = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send, status: int, detail: str):  # noqa: ANN001
        import json

        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def create_app(database_url: str | None = None, *, admin_token: str | None = None, max_body: int | None = None):
    """The gosplan service over the database at ``database_url``.

    Parameters
    ----------
    database_url
        A SQLite file path or URL, or a ``postgresql://`` URL; default
        ``$GOSPLAN_DATABASE_URL``, else ``gosplan.sqlite`` in the working directory.
    admin_token
        A token to accept as administrator (default ``$GOSPLAN_ADMIN_TOKEN``). When no
        administrator exists and none is given, one is made and printed once on stderr.
    max_body
        The largest request body in bytes (default ``$GOSPLAN_MAX_BODY`` or 1 MiB).
    """
    require("fastapi", "server")
    require("sqlalchemy", "server")
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from fastapi.staticfiles import StaticFiles

    from gosplan.errors import GosplanError
    from gosplan.server import api, pages
    from gosplan.server.auth import new_token
    from gosplan.server.db import Store
    from gosplan.server.services import Refusal, Service

    store = Store(database_url)
    service = Service(store)
    admin_token = admin_token or os.environ.get("GOSPLAN_ADMIN_TOKEN")
    if admin_token:
        service.bootstrap_admin(admin_token)
    elif not service.has_admin():
        text, _ = new_token()
        service.bootstrap_admin(text)
        print(f"gosplan: administrator token (shown once, store it): {text}", file=sys.stderr, flush=True)

    import contextlib

    threads = int(os.environ.get("GOSPLAN_THREADS", DEFAULT_THREADS))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # Handlers run in worker threads. Dozens of them contend for the GIL with the event
        # loop, which then answers late; writes are serialised by the database anyway.
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        store.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="gosplan democracy service",
        version="0.1.0",
        description="Councils propose and vote, the plan follows by a published rule, and every act is in a "
        "tamper-evident ledger. Writes need `Authorization: Bearer TOKEN` and an `Idempotency-Key` header.",
    )
    app.state.service = service

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, exc: Refusal):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(GosplanError)
    async def _domain(request: Request, exc: GosplanError):
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/", include_in_schema=False)
    async def _root():
        from fastapi.responses import RedirectResponse

        return RedirectResponse("/ui", status_code=307)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=os.path.join(os.path.dirname(__file__), "static")), name="static")
    limit = max_body or int(os.environ.get("GOSPLAN_MAX_BODY", DEFAULT_MAX_BODY))
    app.add_middleware(BodyLimit, limit=limit)

    return app
