"""Fault loop: ``kill -9`` of the server at random moments under load, K times (default 20).

One plan round with N councils (set up in-process, not timed). Each cycle starts
``gosplan serve`` on the same database, sends the votes of councils that have not voted
yet from 16 threads (each council with its own Idempotency-Key, kept across cycles: a vote
in flight at the kill is sent again with the same key and is either stored by the retry
(201) or found stored already (409)), reads the round's head while the votes go on, and
kills the server with SIGKILL after a random delay. After every restart it checks: the
server starts and answers; every vote acknowledged so far is stored; the exported ledger
verifies and contains the head read before the kill and the last head the server signed
(``pinned``: a ledger cut short by the crash would fail). Prints one line per cycle and
the totals. Bounded: K cycles, N votes, ``--time-limit`` seconds.

    python benchmarks/bench_server_kill9.py --kills 20 --councils 300
    python benchmarks/bench_server_kill9.py --postgres postgresql://...
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    import httpx
    from bench_server_load import _serve

    from gosplan.democracy.ledger import check_signed_head, verify_export
    from gosplan.server.demo import seed_plan_round

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--councils", type=int, default=300)
    ap.add_argument("--postgres", default=None, help="run on this PostgreSQL (its tables are dropped first)")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--time-limit", type=float, default=900.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t_end = time.monotonic() + args.time_limit
    with tempfile.TemporaryDirectory(prefix="gosplan-kill9-") as d:
        tmp = Path(d)
        if args.postgres:
            from gosplan.server.db import Base, make_engine

            engine = make_engine(args.postgres)
            Base.metadata.drop_all(engine)
            engine.dispose()
            url = args.postgres
        else:
            url = str(tmp / "kill9.sqlite")
        os.environ.setdefault("GOSPLAN_SIGNING_KEY", str(tmp / "signing-key.pem"))
        seed = seed_plan_round(url, args.councils)
        rid, props = seed["round"], seed["proposals"]
        keys = [uuid.uuid4().hex for _ in range(args.councils)]
        acked: set[int] = set()
        lock = threading.Lock()
        totals = {"kills": 0, "acknowledged": 0, "stored": 0, "verified": 0, "clean_starts": 0, "replays_409": 0}
        for cycle in range(1, args.kills + 1):
            if time.monotonic() > t_end:
                print("time limit reached", flush=True)
                break
            proc, base = _serve(url, tmp / "server.log")
            totals["clean_starts"] += 1
            todo = [i for i in range(args.councils) if i not in acked]
            stop = threading.Event()

            def vote(i: int) -> None:
                if stop.is_set():
                    return
                body = {"council_id": seed["councils"][i], "approve": [props[i % len(props)]]}
                headers = {"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": keys[i]}
                try:
                    r = httpx.post(f"{base}/rounds/{rid}/votes", json=body, headers=headers, timeout=30)
                except httpx.HTTPError:
                    return  # the server died under it: not acknowledged
                if r.status_code == 201:
                    with lock:
                        acked.add(i)
                elif r.status_code == 409 and "replayed" in r.text:
                    with lock:  # stored by an earlier cycle whose answer was lost in the kill
                        acked.add(i)
                        totals["replays_409"] += 1

            seen = None
            with ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(vote, i) for i in todo]
                time.sleep(rng.uniform(0.2, 1.5))
                try:
                    seen = httpx.get(f"{base}/rounds/{rid}", timeout=10).json()
                except httpx.HTTPError:
                    pass
                time.sleep(rng.uniform(0.0, 0.5))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                totals["kills"] += 1
                stop.set()
                for f in futures:
                    f.result()
            # restart and check
            proc, base = _serve(url, tmp / "server.log")
            try:
                stored = {v["voter"] for v in httpx.get(f"{base}/rounds/{rid}/votes", timeout=60).json()}
                export = httpx.get(f"{base}/rounds/{rid}/ledger", timeout=60).content
                signed = httpx.get(f"{base}/rounds/{rid}/head", timeout=60).json()
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            pinned = [check_signed_head(signed)]
            if seen is not None:
                pinned.append((seen["ledger_entries"], seen["head_hash"]))
            report = verify_export(export, pinned=pinned)
            want = {f"council:{seed['councils'][i]}" for i in acked}
            lost = want - stored
            totals["verified"] += report.ok
            print(f"cycle {cycle:2d}: killed; {len(acked)} acknowledged so far, {len(stored)} stored, "
                  f"{len(lost)} acknowledged but lost; ledger {'verifies' if report.ok else 'BROKEN: ' + report.message} "
                  f"against {len(pinned)} head(s) ({report.entries} entries)", flush=True)
            if lost or not report.ok:
                raise SystemExit("FAILED")
        totals["acknowledged"], totals["stored"] = len(acked), len(stored)
        print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
        print("OK: every acknowledged vote was stored after every kill, and every ledger verified "
              "against the heads read before the kill")


if __name__ == "__main__":
    main()
