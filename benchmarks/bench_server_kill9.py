"""Fault loop: ``kill -9`` of the server at random moments under load, K times (default 20).

N councils with elected delegates (set up in-process, not timed). Each cycle starts
``gosplan serve`` on the same database, opens two plan rounds as the planner (one that
aggregates proposals, one that takes votes on five proposals made first), and sends the
N councils' proposals to the first and their votes to the second from 16 threads (each
with its own Idempotency-Key; votes are stored in batches), reads the rounds' heads while
they go on, and kills the server with SIGKILL after a random delay. After every restart
it checks: the server starts and answers; every proposal and vote acknowledged so far, in
every round of the loop, is stored; each round's exported ledger verifies and contains
the heads read before the kill and the last head the server signed (``pinned``: a ledger
cut short by the crash would fail). A write in flight at a kill is sent again with the
same key after the restart: stored by the retry (201) or found stored already (409
replayed). Prints one line per cycle and the totals. Bounded: K cycles, K x 2N writes,
``--time-limit`` seconds.

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
        from gosplan.server import _domain

        goods = _domain.product_ids(_domain.DEFAULT_ECONOMY)[:3]
        acked: dict[tuple[str, int, int], str] = {}  # (kind, round, council index) -> key, acknowledged
        pending: dict[tuple[str, int, int], str] = {}  # sent, answer lost in a kill
        lock = threading.Lock()
        totals = {"kills": 0, "writes_acknowledged": 0, "writes_stored": 0, "ledgers_verified": 0,
                  "clean_starts": 0, "retried_after_kill": 0, "found_stored_by_retry_409": 0}
        rounds_opened: list[int] = []
        seen: dict[int, tuple[int, str]] = {}
        choices: dict[int, list[int]] = {}  # a voting round's proposals

        def send(kind: str, base: str, rid: int, i: int, key: str, stop: threading.Event) -> dict | None:
            if stop.is_set():
                return None
            if kind == "proposal":
                path, body = "proposals", {"council_id": seed["councils"][i], "basket": {g: 1.0 + (i + rid) % 7 for g in goods}}
            else:
                path, body = "votes", {"council_id": seed["councils"][i], "approve": [choices[rid][i % len(choices[rid])]]}
            headers = {"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": key}
            try:
                r = httpx.post(f"{base}/rounds/{rid}/{path}", json=body, headers=headers, timeout=30)
            except httpx.HTTPError:
                with lock:
                    pending[(kind, rid, i)] = key
                return None
            with lock:
                if r.status_code == 201 or (r.status_code == 409 and "replayed" in r.text):
                    acked[(kind, rid, i)] = key
                    pending.pop((kind, rid, i), None)
                    if r.status_code == 409:
                        totals["found_stored_by_retry_409"] += 1
                    return r.json()
                pending[(kind, rid, i)] = key
            return None

        def open_round(base: str, title: str, rule: str) -> int:
            rid = httpx.post(f"{base}/rounds", json={"kind": "plan", "title": title, "rule": rule},
                             headers={"Authorization": f"Bearer {seed['planner']}", "Idempotency-Key": uuid.uuid4().hex},
                             timeout=30).json()["id"]
            rounds_opened.append(rid)
            return rid

        for cycle in range(1, args.kills + 1):
            if time.monotonic() > t_end:
                print("time limit reached", flush=True)
                break
            proc, base = _serve(url, tmp / "server.log")
            totals["clean_starts"] += 1
            stop = threading.Event()
            # first the writes whose answers a kill swallowed, with their keys
            retry = list(pending.items())
            totals["retried_after_kill"] += len(retry)
            for (kind, rid, i), key in retry:
                send(kind, base, rid, i, key, stop)
            rid = open_round(base, f"kill cycle {cycle}", "weighted-sum")
            vid = open_round(base, f"kill cycle {cycle}, votes", "approval")
            choices[vid] = []
            for i in range(min(5, args.councils)):  # the proposals voted on, before the storm
                choices[vid].append(send("proposal", base, vid, i, uuid.uuid4().hex, stop)["id"])
            with ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(send, kind, base, r_id, i, uuid.uuid4().hex, stop)
                           for i in range(args.councils) for kind, r_id in (("proposal", rid), ("vote", vid))]
                time.sleep(rng.uniform(0.3, 2.0))
                for r_id in (rid, vid):
                    try:
                        r = httpx.get(f"{base}/rounds/{r_id}", timeout=10).json()
                        seen[r_id] = (r["ledger_entries"], r["head_hash"])
                    except httpx.HTTPError:
                        pass
                time.sleep(rng.uniform(0.0, 0.5))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                totals["kills"] += 1
                stop.set()
                for f in futures:
                    f.result()
            # restart and check every round of the loop
            proc, base = _serve(url, tmp / "server.log")
            lost, broken, stored_n = [], [], 0
            try:
                for r_id in rounds_opened:
                    got = {("proposal", p["council_id"])
                           for p in httpx.get(f"{base}/rounds/{r_id}", timeout=60).json()["proposals"]}
                    got |= {("vote", int(v["voter"].split(":")[1]))
                            for v in httpx.get(f"{base}/rounds/{r_id}/votes", timeout=60).json()}
                    stored_n += len(got)
                    lost += [(kind, r_id, i) for (kind, rr, i) in acked
                             if rr == r_id and (kind, seed["councils"][i]) not in got]
                    export = httpx.get(f"{base}/rounds/{r_id}/ledger", timeout=60).content
                    signed = httpx.get(f"{base}/rounds/{r_id}/head", timeout=60).json()
                    pinned = [check_signed_head(signed)] + ([seen[r_id]] if r_id in seen else [])
                    report = verify_export(export, pinned=pinned)
                    if not report.ok:
                        broken.append((r_id, report.message))
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            totals["ledgers_verified"] += len(rounds_opened) - len(broken)
            print(f"cycle {cycle:2d}: killed during rounds {rid} and {vid}; {len(acked)} writes acknowledged so far, {stored_n} "
                  f"stored, {len(lost)} acknowledged but lost, {len(pending)} in flight at kills (retried next start); "
                  f"{len(rounds_opened) - len(broken)}/{len(rounds_opened)} ledgers verify against their heads",
                  flush=True)
            if lost or broken:
                raise SystemExit(f"FAILED: lost {lost[:5]} broken {broken[:3]}")
        totals["writes_acknowledged"], totals["writes_stored"] = len(acked), stored_n
        totals["of_them_votes_acknowledged"] = sum(kind == "vote" for kind, _, _ in acked)
        print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
        print("OK: after every kill every acknowledged write was stored and every round's ledger verified "
              "against the heads read before the kill and the last signed head")


if __name__ == "__main__":
    main()
