"""Votes cast in batches (:mod:`gosplan.server.services.casting`): a batch gives every cast the
answer it would get alone, in the order the casts arrived; a refused cast stores nothing and
claims no key; concurrent casts from threads and from the event loop store each council's
vote once and leave a ledger that verifies.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

pytest.importorskip("sqlalchemy")

from gosplan.server.auth import Bearer  # noqa: E402
from gosplan.server.db import Store  # noqa: E402
from gosplan.server.demo import seed_plan_round  # noqa: E402
from gosplan.server.services import Conflict, Forbidden, Invalid, NotFound, Service, Unauthorized  # noqa: E402


@pytest.fixture
def seeded(tmp_path):
    url = str(tmp_path / "cast.sqlite")
    seed = seed_plan_round(url, 6, proposals=3)
    store = Store(url)  # durable: casts go through the group commit, as in the service
    yield Service(store), seed
    store.dispose()


def _logged_votes(svc: Service, rnd: int) -> list[dict]:
    entries = [json.loads(line) for line in svc.ledger_export(rnd).decode().splitlines()[1:]]
    return [e["payload"] for e in entries if e["kind"] == "vote"]


def test_one_batch_answers_each_cast_as_if_alone(seeded):
    svc, seed = seeded
    rnd, props, d, c = seed["round"], seed["proposals"], seed["delegates"], seed["councils"]
    box = svc.ballot_box

    def cast(token: str, council: int, approve: list[int], key: str, round_id: int = rnd):
        return svc._vote_cast(Bearer(token, "10.0.0.9"), round_id, {"council_id": council, "approve": approve}, key)

    casts = [
        cast(d[0], c[0], [props[0]], "k1"),          # stored
        cast(d[0], c[0], [props[1]], "k2"),          # 409: council 0 has voted (earlier in this batch)
        cast(d[1], c[1], [props[1]], "k1"),          # stored: keys are per token
        cast(d[1], c[1], [props[2]], "k1"),          # 409: key k1 replayed by the same token
        cast(d[2], c[3], [props[0]], "k3"),          # 403: delegate of council 2 acting for council 3
        cast("not-a-token", c[2], [props[0]], "k4"),  # 401
        cast(d[2], c[2], [10**6], "k7"),             # 422: no such proposal
        cast(d[2], c[2], [props[0], props[2]], "k7"),  # stored: the refused cast left k7 unused
        cast(d[3], c[3], [props[0]], "k8", round_id=10**6),  # 404
        cast(d[3], c[3], [props[2]], "k8"),          # stored
    ]
    before = svc.round(rnd)["ledger_entries"]
    assert box._queued(casts[0])  # nothing else is being cast: this thread leads
    for x in casts[1:]:
        assert not box._queued(x)
    box._run()  # one batch takes the whole queue
    assert [x.event.is_set() for x in casts] == [True] * len(casts)
    expected = [None, Conflict, None, Conflict, Forbidden, Unauthorized, Invalid, None, NotFound, None]
    assert [type(x.error) if x.error else None for x in casts] == expected, [str(x.error) for x in casts]
    assert "voted in round" in str(casts[1].error) and "Idempotency-Key 'k1'" in str(casts[3].error)
    stored = svc.votes(rnd)
    assert [v["voter"] for v in stored] == [f"council:{c[0]}", f"council:{c[1]}", f"council:{c[2]}", f"council:{c[3]}"]
    assert [x.result["id"] for x in casts if x.result] == [v["id"] for v in stored]
    # the ledger has the four votes, in the order they were cast, and verifies
    assert svc.round(rnd)["ledger_entries"] == before + 4
    assert [(p["vote"], p["voter"]) for p in _logged_votes(svc, rnd)] == [(v["id"], v["voter"]) for v in stored]
    assert svc.verify(rnd, replay=False)["ok"]
    assert svc.failed_auth._fails["10.0.0.9"]  # the unknown token counts against its address
    # a refused cast's key is unused: council 3's delegate may still use k3 (its own token)
    assert svc.vote(Bearer(d[4]), rnd, {"council_id": c[4], "approve": [props[0]]}, "k3")["voter"] == f"council:{c[4]}"


def test_concurrent_threads_store_each_council_once(seeded):
    svc, seed = seeded
    rnd, props, d, c = seed["round"], seed["proposals"], seed["delegates"], seed["councils"]
    n = len(c)
    start = threading.Barrier(3 * n)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def go(i: int, attempt: int, key: str) -> None:
        start.wait()
        try:
            svc.vote(Bearer(d[i]), rnd, {"council_id": c[i], "approve": [props[attempt % len(props)]]}, key)
            result = "stored"
        except Conflict as exc:
            result = "replay" if "Idempotency-Key" in str(exc) else "voted"
        with lock:
            outcomes.append((i, result))

    # each council: two votes with different keys and a replay of the first key
    threads = [threading.Thread(target=go, args=(i, a, key)) for i in range(n) for a, key in ((0, "a"), (1, "b"), (2, "a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 3 * n
    for i in range(n):
        assert sorted(r for j, r in outcomes if j == i).count("stored") == 1, outcomes
    stored = svc.votes(rnd)
    assert sorted(v["voter"] for v in stored) == sorted(f"council:{x}" for x in c)
    assert sorted(p["vote"] for p in _logged_votes(svc, rnd)) == sorted(v["id"] for v in stored)
    assert svc.verify(rnd, replay=False)["ok"]
    assert svc.ballot_box.casts == n


def test_casts_from_the_event_loop_share_batches(seeded):
    svc, seed = seeded
    rnd, props, d, c = seed["round"], seed["proposals"], seed["delegates"], seed["councils"]

    async def all_at_once():
        return await asyncio.gather(*[
            svc.vote_async(Bearer(d[i]), rnd, {"council_id": c[i], "approve": [props[i % len(props)]]}, f"key-{i}")
            for i in range(len(c))], return_exceptions=True)

    out = asyncio.run(all_at_once())
    assert all(isinstance(o, dict) for o in out), out
    assert sorted(o["id"] for o in out) == sorted(v["id"] for v in svc.votes(rnd))
    assert svc.ballot_box.batches < len(c)  # the casts waiting on the loop joined batches
    assert svc.verify(rnd, replay=False)["ok"]


def test_a_cast_that_breaks_its_batch_fails_alone(seeded):
    """An unexpected error while checking one cast (here its check raises) fails that cast only:
    the batch is run again cast by cast, and the others are stored."""
    svc, seed = seeded
    rnd, props, d, c = seed["round"], seed["proposals"], seed["delegates"], seed["councils"]
    box = svc.ballot_box
    casts = [svc._vote_cast(Bearer(d[i]), rnd, {"council_id": c[i], "approve": [props[0]]}, f"k{i}") for i in range(3)]

    def broken(*_):
        raise RuntimeError("a bug in one check")

    casts[1].content = broken
    for x in casts:
        box._queued(x)
    box._run()
    assert casts[0].result and casts[2].result and casts[1].result is None
    assert "RuntimeError: a bug in one check" in str(casts[1].error)
    assert sorted(v["voter"] for v in svc.votes(rnd)) == sorted([f"council:{c[0]}", f"council:{c[2]}"])
    assert svc.verify(rnd, replay=False)["ok"]
