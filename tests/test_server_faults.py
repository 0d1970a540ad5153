"""Faults: the server killed with SIGKILL during concurrent votes, and a ledger row tampered with.

An acknowledged write must survive ``kill -9`` (SQLite in WAL mode with
``synchronous=FULL`` commits to disk before the response is sent): after a restart on
the same database file every acknowledged vote is stored, votes that were in flight are
either stored or not (and a retry with the same Idempotency-Key tells which: 201 or a
409 replay), the round continues, and its ledger verifies with one entry per stored vote.
Editing a ledger row in the database behind the service's back is then detected, at the
entry edited.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from gosplan.democracy.ledger import verify_export  # noqa: E402

from _server_harness import Server, backends, fresh_database, seed_plan_round  # noqa: E402

COUNCILS = 40


def test_kill9_during_votes_loses_no_acknowledged_vote(tmp_path):
    db = str(tmp_path / "faults.sqlite")
    seed = seed_plan_round(db, COUNCILS)
    rid, proposals = seed["round"], seed["proposals"]
    server = Server(db, tmp_path / "server.log").start()
    keys = [uuid.uuid4().hex for _ in range(COUNCILS)]
    acked: set[int] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def vote(i: int) -> None:
        body = {"council_id": seed["councils"][i], "approve": [proposals[i % len(proposals)]]}
        headers = {"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": keys[i]}
        try:
            r = httpx.post(f"{server.url}/rounds/{rid}/votes", json=body, headers=headers, timeout=30)
        except httpx.HTTPError:
            return  # the server died under this request: not acknowledged
        if r.status_code == 201:
            with lock:
                acked.add(i)
                if len(acked) >= COUNCILS // 3 and not killed.is_set():
                    killed.set()
                    server.kill()
        else:
            assert killed.is_set() or r.status_code == 201, r.text

    try:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(vote, range(COUNCILS)))
        assert killed.is_set() and server.proc.returncode is not None
        assert COUNCILS // 3 <= len(acked) < COUNCILS
        server.start()  # same file, same port
        with httpx.Client(base_url=server.url, timeout=30) as c:
            stored = {v["voter"] for v in c.get(f"/rounds/{rid}/votes").json()}
            acked_voters = {f"council:{seed['councils'][i]}" for i in acked}
            assert acked_voters <= stored, f"lost acknowledged votes: {sorted(acked_voters - stored)}"
            # the round continues: every council retries with its own key; stored ones are replays
            outcomes = {}
            for i in range(COUNCILS):
                if i in acked:
                    continue
                r = c.post(f"/rounds/{rid}/votes",
                           json={"council_id": seed["councils"][i], "approve": [proposals[i % len(proposals)]]},
                           headers={"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": keys[i]})
                outcomes[i] = r.status_code
                stored_before = f"council:{seed['councils'][i]}" in stored
                assert r.status_code == (409 if stored_before else 201), r.text
            final = c.get(f"/rounds/{rid}/votes").json()
            assert len(final) == COUNCILS == len({v["voter"] for v in final})
            export = c.get(f"/rounds/{rid}/ledger").content
            report = verify_export(export)
            assert report.ok, report.message
            kinds = [json.loads(x)["kind"] for x in export.splitlines()[1:]]
            assert kinds.count("vote") == COUNCILS
            assert c.get(f"/rounds/{rid}").json()["status"] == "open"
    finally:
        server.stop()

    # tampering with one stored ledger row (a vote's approval changed) is found at that entry
    con = sqlite3.connect(db)
    seq, text = con.execute(
        "SELECT seq, entry FROM ledger WHERE round_id = ? AND entry LIKE '%\"kind\":\"vote\"%' ORDER BY seq LIMIT 1 OFFSET 7",
        (rid,)).fetchone()
    entry = json.loads(text)
    entry["payload"]["approve"] = [proposals[-1] + 1000]
    con.execute("UPDATE ledger SET entry = ? WHERE round_id = ? AND seq = ?",
                (json.dumps(entry, separators=(",", ":"), sort_keys=True), rid, seq))
    con.commit()
    con.close()
    from gosplan.server.db import Store
    from gosplan.server.services import Service

    store = Store(db)
    try:
        svc = Service(store)
        check = svc.verify(rid)
        assert check["ok"] is False and check["index"] == seq and check["field"] == "hash"
        report = verify_export(svc.ledger_export(rid))
        assert not report.ok and report.index == seq
    finally:
        store.dispose()


def test_tampered_chain_link_detected(tmp_path):
    """Deleting a row (a vote erased) breaks the chain at the entry after it."""
    db = str(tmp_path / "erase.sqlite")
    seed = seed_plan_round(db, 6)
    rid = seed["round"]
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM ledger WHERE round_id = ?", (rid,)).fetchone()[0]
    assert n >= 6
    con.execute("DELETE FROM ledger WHERE round_id = ? AND seq = 3", (rid,))
    con.execute("UPDATE ledger SET seq = seq - 1 WHERE round_id = ? AND seq > 3", (rid,))
    con.commit()
    con.close()
    from gosplan.server.db import Store
    from gosplan.server.services import Service

    store = Store(db)
    try:
        report = Service(store).verify(rid)
    finally:
        store.dispose()
    assert report["ok"] is False and report["index"] == 3


@pytest.mark.parametrize("backend", backends())
def test_two_workers_over_one_database_store_each_vote_once(backend, tmp_path):
    """``gosplan serve --workers 2``: votes racing through both processes, each council twice with
    different keys and once more replaying a key, store one vote per council; every answer is
    201 or 409, acknowledged equals stored, and the ledger verifies with one entry per vote."""
    url = fresh_database(backend, tmp_path)
    seed = seed_plan_round(url, COUNCILS)
    rid, proposals = seed["round"], seed["proposals"]
    server = Server(url, tmp_path / "server.log", env={"GOSPLAN_WORKERS": "2"}).start()
    statuses: list[tuple[int, int]] = []
    lock = threading.Lock()

    def vote(job: tuple[int, str]) -> None:
        i, key = job
        body = {"council_id": seed["councils"][i], "approve": [proposals[i % len(proposals)]]}
        headers = {"Authorization": f"Bearer {seed['delegates'][i]}", "Idempotency-Key": key}
        r = httpx.post(f"{server.url}/rounds/{rid}/votes", json=body, headers=headers, timeout=60)
        with lock:
            statuses.append((i, r.status_code))

    try:
        jobs = [(i, f"{i}-{k}") for i in range(COUNCILS) for k in ("a", "b", "a")]
        with ThreadPoolExecutor(24) as pool:
            list(pool.map(vote, jobs))
        assert {s for _, s in statuses} <= {201, 409}, statuses
        for i in range(COUNCILS):
            assert [s for j, s in statuses if j == i].count(201) == 1, statuses
        with httpx.Client(base_url=server.url, timeout=30) as c:
            stored = c.get(f"/rounds/{rid}/votes").json()
            assert sorted(v["voter"] for v in stored) == sorted(f"council:{x}" for x in seed["councils"])
            export = c.get(f"/rounds/{rid}/ledger").content
        report = verify_export(export)
        assert report.ok, report.message
        assert [json.loads(x)["kind"] for x in export.splitlines()[1:]].count("vote") == COUNCILS
    finally:
        server.stop()
