"""Load test of the democracy service: N councils vote at once over loopback.

For each N (default 100 and 1,000): a fresh database with N councils, each with an
elected delegate (set up in-process, not timed), and an open plan round; then
``gosplan serve`` in a subprocess on 127.0.0.1 and N delegates submitting their
council's vote concurrently (every request in flight at once, one connection each,
bounded by ``--max-connections``), each with its own Idempotency-Key. Prints the
throughput (acknowledged votes per second of wall time), p50 / p99 / max latency,
and checks that the votes stored equal the votes acknowledged and that the round's
ledger verifies. Bounded: N votes per run and ``--time-limit`` seconds per run.

There is no peer service to time against on the same input; the figures are the
service alone. The load generator shares the machine with the server (and, on a
shared machine, with whatever else runs): say so when quoting them.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_server_load.py
    python benchmarks/bench_server_load.py --councils 100 1000 --postgres postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
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


def _serve(url: str, log: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
               GOSPLAN_ADMIN_TOKEN=uuid.uuid4().hex)
    cmd = [sys.executable, "-c", "import sys; from gosplan.cli import main; sys.argv[0] = 'gosplan'; main()",
           "serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", url]
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


async def _post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One HTTP/1.1 POST on its own connection (``Connection: close``); the status code.

    A bare asyncio client: a thousand requests in flight cost the load generator little, so
    the latencies measured are the server's, not a client pool's.
    """
    reader, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n{head}\r\n".encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()  # the rest, until the server closes
    writer.close()
    return int(status_line.split()[1])


async def _storm(base: str, seed: dict, max_connections: int, time_limit: float) -> tuple[list[float], int, int, float]:
    import json

    host, port = base.split("//", 1)[1].split(":")
    rid, props = seed["round"], seed["proposals"]
    gate = asyncio.Semaphore(max_connections)
    latencies: list[float] = []
    refused = errors = 0

    async def one(i: int) -> None:
        nonlocal refused, errors
        body = json.dumps({"council_id": seed["councils"][i], "approve": [props[i % len(props)]]}).encode()
        headers = {"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": uuid.uuid4().hex}
        async with gate:
            t = time.perf_counter()
            try:
                status = await _post(host, int(port), f"/rounds/{rid}/votes", body, headers)
            except OSError:
                errors += 1
                return
        if status == 201:
            latencies.append(time.perf_counter() - t)
        else:
            refused += 1

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one(i)) for i in range(len(seed["councils"]))]
    done, pending = await asyncio.wait(tasks, timeout=time_limit)
    for p in pending:
        p.cancel()
    wall = time.perf_counter() - t0
    return latencies, refused, errors + len(pending), wall


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def run(n: int, backend: str, url: str, max_connections: int, time_limit: float, tmp: Path) -> dict:
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
    setup = time.perf_counter() - t
    proc, base = _serve(url, tmp / f"server-{backend}-{n}.log")
    try:
        cpu0 = _cpu_seconds(proc.pid)
        lat, refused, failed, wall = asyncio.run(_storm(base, seed, max_connections, time_limit))
        cpu = _cpu_seconds(proc.pid) - cpu0
        votes = httpx.get(f"{base}/rounds/{seed['round']}/votes", timeout=60).json()
        export = httpx.get(f"{base}/rounds/{seed['round']}/ledger", timeout=60).content
        group = httpx.get(f"{base}/health", timeout=60).json().get("group_commit") or {}
    finally:
        proc.terminate()
        proc.wait(30)
    report = verify_export(export)
    lat_ms = np.array(lat) * 1e3
    out = {
        "backend": backend, "councils": n, "acknowledged": len(lat), "refused": refused, "failed": failed,
        "stored": len(votes), "setup_s": setup, "wall_s": wall, "throughput": len(lat) / wall if wall else 0.0,
        "p50_ms": float(np.percentile(lat_ms, 50)) if len(lat_ms) else float("nan"),
        "p99_ms": float(np.percentile(lat_ms, 99)) if len(lat_ms) else float("nan"),
        "max_ms": float(lat_ms.max()) if len(lat_ms) else float("nan"),
        "ledger_ok": report.ok, "ledger_entries": report.entries,
        "server_cpu_ms_per_vote": cpu * 1e3 / len(lat) if lat else float("nan"),
        "acts_per_commit": group["acts"] / group["commits"] if group.get("commits") else None,
    }
    out["stored_equals_acknowledged"] = out["stored"] == out["acknowledged"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--councils", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--max-connections", type=int, default=1000, help="client connections at most (all N by default)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per run before the rest is abandoned")
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
                r = run(n, backend, url, min(args.max_connections, n), args.time_limit, tmp)
                rows.append(r)
                print(f"{backend:8s} N={n:5d}: {r['acknowledged']} acknowledged, {r['stored']} stored, "
                      f"{r['refused']} refused, {r['failed']} failed in {r['wall_s']:.2f} s -> "
                      f"{r['throughput']:.0f} votes/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
                      f"max {r['max_ms']:.0f} ms; ledger {'verifies' if r['ledger_ok'] else 'DOES NOT VERIFY'} "
                      f"({r['ledger_entries']} entries); set-up {r['setup_s']:.1f} s; "
                      f"server CPU {r['server_cpu_ms_per_vote']:.2f} ms per vote"
                      + (f"; {r['acts_per_commit']:.1f} writes per fsync (group commit)" if r["acts_per_commit"] else ""),
                      flush=True)
    bad = [r for r in rows if not (r["stored_equals_acknowledged"] and r["ledger_ok"])]
    if bad:
        raise SystemExit(f"FAILED: stored != acknowledged or ledger broken in {len(bad)} run(s)")
    print("OK: in every run the votes stored equal the votes acknowledged and the ledger verifies")


if __name__ == "__main__":
    main()
