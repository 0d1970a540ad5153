"""Load test of the democracy service: N councils vote at once over loopback.

For each N (default 100 and 1,000): a fresh database with N councils, each with an
elected delegate (set up in-process, not timed), and ``--rounds`` open plan rounds
(default 1); then ``gosplan serve`` (``--workers`` processes) in a subprocess on
127.0.0.1 and N delegates voting concurrently, each in every round one after another
(every council in flight at once, bounded by ``--max-connections``), each vote with its
own Idempotency-Key. The client (``--client``) is a bare asyncio HTTP/1.1 client, a
connection per vote (``close``, the default) or one kept alive per council
(``keep-alive``), or httpx's pool. Prints the throughput (acknowledged votes per second
of wall time), p50 / p99 / max latency, the requests that failed without an answer (by
exception) and the server's CPU per vote, and checks that the votes stored equal the
votes acknowledged and that every round's ledger verifies. Bounded: N x rounds votes
and ``--time-limit`` seconds per run.

There is no peer service to time against on the same input; the figures are the
service alone. The load generator shares the machine with the server (and, on a
shared machine, with whatever else runs): say so when quoting them.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_server_load.py
    python benchmarks/bench_server_load.py --councils 100 1000 --postgres postgresql://...
    python benchmarks/bench_server_load.py --councils 1000 --rounds 5 --client keep-alive --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        info = [f"{i.get('internal_api')}:{i.get('architecture', '?')}" for i in threadpool_info() if i.get("user_api") == "blas"]
        return ", ".join(info) or "none loaded"
    except ImportError:
        return "threadpoolctl not installed"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, log: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
               GOSPLAN_ADMIN_TOKEN=uuid.uuid4().hex)
    cmd = [sys.executable, "-c", "import sys; from gosplan.cli import main; sys.argv[0] = 'gosplan'; main()",
           "serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", url, "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


class _Connection:
    """A bare asyncio HTTP/1.1 client on one connection: a thousand requests in flight cost the
    load generator little, so the latencies measured are the server's, not a client library's.
    ``keep_alive`` sends every request on the same connection; otherwise each gets its own
    (``Connection: close``)."""

    def __init__(self, host: str, port: int, keep_alive: bool):
        self.host, self.port, self.keep_alive = host, port, keep_alive
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        close = "" if self.keep_alive else "Connection: close\r\n"
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n{close}{head}\r\n".encode() + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection without an answer")
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        if not self.keep_alive:
            self.close()
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _storm(base: str, seed: dict, max_connections: int, time_limit: float,
                 client: str) -> tuple[list[float], int, collections.Counter, float]:
    """Every council casts its vote in each round (one round after another), all councils at once.

    ``client``: ``close`` opens a connection per vote (``Connection: close``); ``keep-alive`` gives
    each council one connection for all its votes; ``httpx`` shares a pool of ``max_connections``
    keep-alive connections (httpx.AsyncClient: costs the load generator far more CPU per request).
    """
    import json

    import httpx

    host, port = base.split("//", 1)[1].split(":")
    gate = asyncio.Semaphore(max_connections)
    latencies: list[float] = []
    refused = 0
    errors: collections.Counter = collections.Counter()
    pool = (httpx.AsyncClient(base_url=base, timeout=time_limit,
                              limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections))
            if client == "httpx" else None)

    async def one(i: int) -> None:
        nonlocal refused
        conn = _Connection(host, int(port), keep_alive=client == "keep-alive")
        for rid, props in seed["rounds"]:
            body = json.dumps({"council_id": seed["councils"][i], "approve": [props[i % len(props)]]}).encode()
            headers = {"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": uuid.uuid4().hex}
            async with gate:
                t = time.perf_counter()
                try:
                    if pool is None:
                        status = await conn.post(f"/rounds/{rid}/votes", body, headers)
                    else:
                        status = (await pool.post(f"/rounds/{rid}/votes", content=body,
                                                  headers={**headers, "Content-Type": "application/json"})).status_code
                except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                    errors[type(exc).__name__] += 1
                    conn.close()
                    continue
            if status == 201:
                latencies.append(time.perf_counter() - t)
            else:
                refused += 1
        conn.close()

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one(i)) for i in range(len(seed["councils"]))]
    done, pending = await asyncio.wait(tasks, timeout=time_limit)
    for p in pending:
        p.cancel()
    wall = time.perf_counter() - t0
    if pending:
        errors["unfinished at the time limit (councils)"] += len(pending)
    if pool is not None:
        await pool.aclose()
    return latencies, refused, errors, wall


def _more_rounds(url: str, seed: dict, rounds: int) -> None:
    """Open ``rounds - 1`` more plan rounds beside the seeded one, each with the same five proposals
    made by the first councils, so that every council votes ``rounds`` times."""
    from gosplan.server import _domain
    from gosplan.server.auth import Bearer
    from gosplan.server.db import Store
    from gosplan.server.services import Service

    seed["rounds"] = [(seed["round"], seed["proposals"])]
    if rounds <= 1:
        return
    store = Store(url, durable=False)
    try:
        svc = Service(store)
        a, b = _domain.product_ids(_domain.DEFAULT_ECONOMY)[:2]
        with store.batch():
            for k in range(1, rounds):
                rid = svc.open_round(Bearer(seed["planner"]), {"kind": "plan", "title": f"load {k}", "rule": "approval"},
                                     uuid.uuid4().hex)["id"]
                props = [svc.propose(Bearer(seed["delegates"][i]), rid,
                                     {"council_id": seed["councils"][i], "basket": {a: 10.0 + i, b: 5.0}}, uuid.uuid4().hex)["id"]
                         for i in range(len(seed["proposals"]))]
                seed["rounds"].append((rid, props))
    finally:
        store.dispose()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (the workers of ``--workers``),
    from Linux ``/proc``; NaN elsewhere."""
    stats: dict[int, tuple[int, float]] = {}
    try:
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # ended meanwhile
                stats[int(d.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    except OSError:
        return float("nan")
    if pid not in stats:
        return float("nan")
    tree, total = {pid}, 0.0
    for _ in range(4):  # the server, its workers, their helpers
        tree |= {p for p, (parent, _) in stats.items() if parent in tree}
    for p in tree:
        total += stats[p][1]
    return total


def run(n: int, backend: str, url: str, max_connections: int, time_limit: float, tmp: Path, client: str = "close",
        rounds: int = 1, workers: int = 1) -> dict:
    import httpx
    import numpy as np

    from gosplan.democracy.ledger import verify_export
    from gosplan.server.demo import seed_plan_round

    if backend == "postgres":
        from gosplan.server.db import Base, make_engine

        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    t = time.perf_counter()
    seed = seed_plan_round(url, n)
    _more_rounds(url, seed, rounds)
    setup = time.perf_counter() - t
    proc, base = _serve(url, tmp / f"server-{backend}-{n}.log", workers)
    try:
        load = os.getloadavg()[0]
        cpu0 = _cpu_seconds(proc.pid)
        lat, refused, errors, wall = asyncio.run(_storm(base, seed, max_connections, time_limit, client))
        cpu = _cpu_seconds(proc.pid) - cpu0
        stored, reports = 0, []
        for rid, _ in seed["rounds"]:
            stored += len(httpx.get(f"{base}/rounds/{rid}/votes", timeout=60).json())
            reports.append(verify_export(httpx.get(f"{base}/rounds/{rid}/ledger", timeout=60).content))
        group = httpx.get(f"{base}/health", timeout=60).json().get("group_commit") or {}
    finally:
        proc.terminate()
        proc.wait(30)
    lat_ms = np.array(lat) * 1e3
    out = {
        "backend": backend, "councils": n, "rounds": rounds, "client": client, "workers": workers, "load_before": load,
        "acknowledged": len(lat), "refused": refused, "failed": sum(errors.values()), "errors": dict(errors),
        "stored": stored, "setup_s": setup, "wall_s": wall, "throughput": len(lat) / wall if wall else 0.0,
        "p50_ms": float(np.percentile(lat_ms, 50)) if len(lat_ms) else float("nan"),
        "p99_ms": float(np.percentile(lat_ms, 99)) if len(lat_ms) else float("nan"),
        "max_ms": float(lat_ms.max()) if len(lat_ms) else float("nan"),
        "ledger_ok": all(r.ok for r in reports), "ledger_entries": sum(r.entries for r in reports),
        "server_cpu_ms_per_vote": cpu * 1e3 / len(lat) if lat else float("nan"),
        # votes are stored in batches, each one act of the group commit: count votes per commit
        # (one server process only: /health answers for the worker it reaches)
        "votes_per_commit": len(lat) / group["commits"] if group.get("commits") and workers == 1 else None,
    }
    out["stored_equals_acknowledged"] = out["stored"] == out["acknowledged"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--councils", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--max-connections", type=int, default=1000, help="client connections at most (all N by default)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per run before the rest is abandoned")
    ap.add_argument("--client", choices=["close", "keep-alive", "httpx"], default="close",
                    help="close: a connection per vote; keep-alive: one per council for all its votes; "
                         "httpx: a pool of --max-connections keep-alive connections (httpx.AsyncClient)")
    ap.add_argument("--rounds", type=int, default=1, help="plan rounds open at once; every council votes in each")
    ap.add_argument("--workers", type=int, default=1, help="gosplan serve --workers (server processes)")
    ap.add_argument("--postgres", default=os.environ.get("GOSPLAN_TEST_POSTGRES_URL"),
                    help="also run on this PostgreSQL (its tables are dropped first)")
    args = ap.parse_args()
    if any(n > 1000 or n < 1 for n in args.councils):
        raise SystemExit("--councils: 1 to 1,000")
    print(f"BLAS: {_blas()} (not used by the service's write path)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server and load generator share them; "
          f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gosplan-load-") as d:
        tmp = Path(d)
        backends = [("sqlite", None)] + ([("postgres", args.postgres)] if args.postgres else [])
        for backend, pg in backends:
            for n in args.councils:
                url = pg if backend == "postgres" else str(tmp / f"load-{n}.sqlite")
                r = run(n, backend, url, min(args.max_connections, n), args.time_limit, tmp, args.client, args.rounds,
                        args.workers)
                rows.append(r)
                failures = ", ".join(f"{k} {v}" for k, v in r["errors"].items())
                print(f"{backend:8s} N={n:5d} x {args.rounds} round(s), {args.client} client, {args.workers} worker(s), "
                      f"load {r['load_before']:.1f}: "
                      f"{r['acknowledged']} acknowledged, {r['stored']} stored, "
                      f"{r['refused']} refused, {r['failed']} failed{f' ({failures})' if failures else ''} "
                      f"in {r['wall_s']:.2f} s -> "
                      f"{r['throughput']:.0f} votes/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
                      f"max {r['max_ms']:.0f} ms; ledger {'verifies' if r['ledger_ok'] else 'DOES NOT VERIFY'} "
                      f"({r['ledger_entries']} entries); set-up {r['setup_s']:.1f} s; "
                      f"server CPU {r['server_cpu_ms_per_vote']:.2f} ms per vote"
                      + (f"; {r['votes_per_commit']:.1f} votes per commit (fsync)" if r["votes_per_commit"] else ""),
                      flush=True)
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    bad = [r for r in rows if not (r["stored_equals_acknowledged"] and r["ledger_ok"])]
    if bad:
        raise SystemExit(f"FAILED: stored != acknowledged or ledger broken in {len(bad)} run(s)")
    dropped = sum(r["failed"] for r in rows)
    print("OK: in every run the votes stored equal the votes acknowledged and the ledgers verify"
          + (f"; {dropped} request(s) failed without an answer (see above)" if dropped else "; no request failed"))


if __name__ == "__main__":
    main()
