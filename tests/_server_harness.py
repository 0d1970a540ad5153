"""A live gosplan server in a subprocess, and a small HTTP client, for the server's tests.

The server is started the way a user starts it (``gosplan serve``) on a free loopback
port, against a SQLite file or the PostgreSQL named by ``GOSPLAN_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "test-admin-token-" + "x" * 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backends() -> list[str]:
    """SQLite always; PostgreSQL too when the CI started one."""
    return ["sqlite"] + (["postgres"] if os.environ.get("GOSPLAN_TEST_POSTGRES_URL") else [])


def fresh_database(backend: str, tmp: Path) -> str:
    """An empty database of the backend: a new SQLite file, or the test PostgreSQL emptied."""
    if backend == "sqlite":
        return str(tmp / f"gosplan-{uuid.uuid4().hex[:8]}.sqlite")
    url = os.environ["GOSPLAN_TEST_POSTGRES_URL"]
    from gosplan.server.db import Base, make_engine

    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    engine.dispose()
    return url


class Server:
    """``gosplan serve`` in a subprocess; ``kill()`` sends SIGKILL, ``start()`` starts it again."""

    def __init__(self, database_url: str, log: Path, port: int | None = None, max_body: int | None = None,
                 env: dict | None = None):
        self.database_url = database_url
        self.env = dict(env or {})
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.max_body = max_body
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "Server":
        # GOSPLAN_TEST_SRC runs the tests against another checkout's sources (e.g. to see a
        # test fail on the code before a fix)
        src = os.environ.get("GOSPLAN_TEST_SRC") or str(ROOT / "src")
        env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   GOSPLAN_ADMIN_TOKEN=ADMIN, **self.env)
        if self.max_body:
            env["GOSPLAN_MAX_BODY"] = str(self.max_body)
        cmd = [sys.executable, "-c", "import sys; from gosplan.cli import main; sys.argv[0] = 'gosplan'; main()",
               "serve", "--host", "127.0.0.1", "--port", str(self.port), "--database-url", self.database_url]
        self._logfile = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._logfile, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was acknowledged must already be on disk."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        f = getattr(self, "_logfile", None)
        if f is not None and not f.closed:
            f.close()


class Client:
    """httpx over one server; writes get a fresh Idempotency-Key unless one is given."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=60.0)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _headers(token: str | None, key: str | None, fresh: bool = True) -> dict:
        h = {}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if key is not None:
            h["Idempotency-Key"] = key
        elif fresh:
            h["Idempotency-Key"] = uuid.uuid4().hex
        return h

    def post(self, path: str, json=None, token: str | None = None, key: str | None = None, fresh: bool = True,
             **kw) -> httpx.Response:
        headers = {**self._headers(token, key, fresh), **kw.pop("headers", {})}
        return self.http.post(path, json=json, headers=headers, **kw)

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        return self.http.get(path, headers=self._headers(token, None, fresh=False))

    def ok(self, path: str, json=None, token: str | None = None, status: int = 201, **kw) -> dict:
        r = self.post(path, json, token, **kw)
        assert r.status_code == status, f"POST {path}: {r.status_code} {r.text}"
        return r.json()


def products() -> list[str]:
    """Product ids of the service's default economy."""
    from gosplan.server import _domain

    return _domain.product_ids(_domain.DEFAULT_ECONOMY)


def seat_delegates(c: Client, planner: str, council: int, members: list[dict], rule: str = "pav") -> list[str]:
    """Elect the first member of ``members`` delegate of ``council`` and return its delegate token."""
    r = c.ok("/rounds", {"kind": "election", "title": f"delegates of council {council}", "rule": rule,
                         "council_id": council, "candidates": [members[0]["id"]]}, planner)
    for m in members:
        c.ok(f"/rounds/{r['id']}/ballots", {("ranking" if rule == "stv" else "approve"): [members[0]["id"]]}, m["token"])
    c.ok(f"/rounds/{r['id']}/close", None, planner, status=200)
    c.ok(f"/rounds/{r['id']}/publish", None, planner, status=200)
    return [c.ok("/me/delegate-token", None, members[0]["token"])["token"]]


def seed_plan_round(url: str, councils: int, rule: str = "approval") -> dict:
    """Councils with elected delegates, a planner and an open plan round (in-process, no HTTP)."""
    from gosplan.server.demo import seed_plan_round as seed

    return seed(url, councils, rule=rule)
