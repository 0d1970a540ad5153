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
#: Worker threads when SQLite writes are group-committed.
GROUP_THREADS = 32


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


class Guard:
    """ASGI middleware: refuse cross-origin writes and add the pages' security headers.

    A POST (PUT, PATCH, DELETE) whose ``Origin`` (or, without one, ``Referer``) names
    another origin than the request's own ``Host`` is refused with 403 before any handler
    runs: a page elsewhere, even on the same site, cannot make a logged-in browser act.
    Every response carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``
    and ``Referrer-Policy: same-origin``; the pages (``/ui``) also a Content-Security-Policy
    that allows no script, except on a round's page, which may run the package's own script
    files (the proposal form's live total), never an inline script or one from elsewhere.
    """

    CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
           "frame-ancestors 'none'; base-uri 'none'")

    def __init__(self, app):  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            source = headers.get(b"origin") or headers.get(b"referer")
            if source is not None and not self._same_origin(source.decode("latin-1"), scope, headers):
                return await BodyLimit._refuse(send, 403, "cross-origin request refused: the Origin (or Referer) "
                                                          f"{source.decode('latin-1')[:100]!r} is not this service")
        page = scope["path"].startswith("/ui")
        scripted = scope["path"].startswith("/ui/rounds/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin")]
                if page:
                    csp = self.CSP + ("; script-src 'self'" if scripted else "")
                    extra += [(b"content-security-policy", csp.encode()), (b"cache-control", b"no-store")]
                message = {**message, "headers": list(message.get("headers") or []) + extra}
            await send(message)

        return await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _same_origin(source: str, scope, headers) -> bool:  # noqa: ANN001
        from urllib.parse import urlsplit

        if source == "null":
            return False
        parts = urlsplit(source)
        host = headers.get(b"host", b"").decode("latin-1")
        scheme = scope.get("scheme", "http")
        return parts.scheme == scheme and parts.netloc.lower() == host.lower()


def _finite(obj):  # noqa: ANN001, ANN202
    """``obj`` with non-finite floats as text, so that an error about them can be sent as JSON."""
    import math

    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def admin_token_path(database_url: str):  # noqa: ANN201
    """Where a token the service makes for its administrator is written (mode 0600):
    ``$GOSPLAN_ADMIN_TOKEN_FILE``, else beside the key that signs the heads."""
    from pathlib import Path

    from gosplan.server.heads import default_key_path

    env = os.environ.get("GOSPLAN_ADMIN_TOKEN_FILE")
    return Path(env) if env else default_key_path(database_url).with_suffix(".admin-token")


def _write_secret(path, text: str) -> None:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def create_app(database_url: str | None = None, *, admin_token: str | None = None, max_body: int | None = None,
               rotate_admin_token: bool = False):
    """The gosplan service over the database at ``database_url``.

    Parameters
    ----------
    database_url
        A SQLite file path or URL, or a ``postgresql://`` URL; default
        ``$GOSPLAN_DATABASE_URL``, else ``gosplan.sqlite`` in the working directory.
    admin_token
        A token to accept as administrator (default ``$GOSPLAN_ADMIN_TOKEN``; at least 32
        characters); any other administrator token is revoked. When no administrator exists
        and none is given, one is made and written to :func:`admin_token_path` (mode 0600),
        never to the logs.
    rotate_admin_token
        Revoke every administrator token and write a new one to :func:`admin_token_path`.
    max_body
        The largest request body in bytes (default ``$GOSPLAN_MAX_BODY`` or 1 MiB).
    """
    require("fastapi", "server")
    require("sqlalchemy", "server")
    from fastapi import FastAPI, Request
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse
    from fastapi.staticfiles import StaticFiles

    from gosplan.errors import GosplanError
    from gosplan.server import api, board, explain, pages
    from gosplan.server.db import Store
    from gosplan.server.services import Refusal, Service

    store = Store(database_url)
    service = Service(store)
    admin_token = admin_token or os.environ.get("GOSPLAN_ADMIN_TOKEN")
    if rotate_admin_token:
        if admin_token:
            raise GosplanError("--rotate-admin-token makes a new administrator token: unset GOSPLAN_ADMIN_TOKEN")
        path = admin_token_path(store.url)
        _write_secret(path, service.rotate_admin())
        print(f"gosplan: administrator token rotated; every earlier one is revoked; the new one is in {path}",
              file=sys.stderr, flush=True)
    elif admin_token:
        service.bootstrap_admin(admin_token)
    elif not service.has_admin():
        path = admin_token_path(store.url)
        _write_secret(path, service.rotate_admin())
        print(f"gosplan: administrator token written to {path} (mode 0600); it is never logged",
              file=sys.stderr, flush=True)

    import contextlib

    # A group-committed write waits (idle, not holding the GIL) for its batch's fsync in its
    # worker thread; more threads let more acts join one batch.
    threads = int(os.environ.get("GOSPLAN_THREADS", GROUP_THREADS if store.group else DEFAULT_THREADS))

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
        docs_url=None,  # served below from the package's own Swagger UI files: /docs works offline
        redoc_url=None,
        title="gosplan democracy service",
        version="0.1.0",
        description="Councils propose and vote, the plan follows by a published rule, and every act is in a "
        "tamper-evident ledger. Writes need `Authorization: Bearer TOKEN` and an `Idempotency-Key` header.\n\n"
        "A round's `status` is " + "; ".join(f"`{k}`: {v}" for k, v in explain.STATUSES.items()) + ". "
        "Roles: `admin` (the administrator: councils, members, planners), `planner` (opens, closes, computes and "
        "publishes rounds), `member` (votes in budget rounds and elections, signs recall petitions), `delegate` "
        "(an elected member acting for the council in plan rounds).",
    )
    app.state.service = service

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    # a page's error is a page; the API's stays JSON
    def _page(request: Request) -> bool:
        return request.url.path.startswith("/ui")

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, exc: Refusal):
        if _page(request):
            return pages.error_page(request, exc.status, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if _page(request):
            return pages.error_page(request, 422, "; ".join(
                f"{' '.join(str(x) for x in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()))
        # the errors echo the input, which may hold NaN or infinities that JSON cannot carry
        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(GosplanError)
    async def _domain(request: Request, exc: GosplanError):
        if _page(request):
            return pages.error_page(request, 422, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        if _page(request):
            text = "no such page" if exc.status_code == 404 else str(exc.detail)
            return pages.error_page(request, exc.status_code, text)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.get("/docs", include_in_schema=False)
    async def _docs():
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title}: API",
                                   swagger_js_url="/static/swagger-ui-bundle.js", swagger_css_url="/static/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon-32x32.png")

    @app.get("/", include_in_schema=False)
    async def _root():
        from fastapi.responses import RedirectResponse

        return RedirectResponse("/ui", status_code=307)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(board.router)  # amend/reopen plan rounds; participatory rounds
    app.mount("/static", StaticFiles(directory=os.path.join(os.path.dirname(__file__), "static")), name="static")
    limit = max_body or int(os.environ.get("GOSPLAN_MAX_BODY", DEFAULT_MAX_BODY))
    app.add_middleware(BodyLimit, limit=limit)
    app.add_middleware(Guard)

    return app
