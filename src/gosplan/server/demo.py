"""Bulk set-up of a service database: councils with elected delegates and an open plan round.

For demonstrations, load tests and the fault tests. Every council's delegate is elected
(an election round, a ballot, close, publish, a delegate token) through the same acts the
API performs, so the ledgers are complete; the acts run in one transaction
(:meth:`Store.batch`), which is what makes a thousand councils quick to set up.
"""

from __future__ import annotations

import uuid

from gosplan.server import _domain
from gosplan.server.auth import Principal, new_token, resolve
from gosplan.server.db import Store, Token
from gosplan.server.services import Service


def seed_plan_round(url: str, councils: int, *, rule: str = "approval", proposals: int = 5) -> dict:
    """``councils`` councils, each with one member elected delegate, a planner, an open plan
    round and ``proposals`` proposals (by the first councils) to vote on.

    Returns ``{"planner", "round", "councils", "delegates", "proposals"}`` (tokens and ids).
    """
    store = Store(url, durable=False)  # a fresh database being set up: one commit at the end
    try:
        svc = Service(store)
        a, b = _domain.product_ids(_domain.DEFAULT_ECONOMY)[:2]
        out: dict = {"councils": [], "delegates": [], "proposals": []}
        key = lambda: uuid.uuid4().hex  # noqa: E731

        with store.batch():
            text, h = new_token()
            with store.write() as s:
                t = Token(token_hash=h, role="admin", label="set-up")
                s.add(t)
                s.flush()
                admin = Principal(t.id, "admin", "set-up")

            def who(token: str) -> Principal:
                with store.read() as s:
                    return resolve(s, token)

            planner = svc.create_planner(admin, "planner", key())["token"]
            rnd = svc.open_round(who(planner), {"kind": "plan", "title": "load", "rule": rule}, key())
            for i in range(councils):
                c = svc.create_council(admin, {"name": f"council {i}", "kind": "workers", "weight": 1.0 + i % 3,
                                               "recall_threshold": 0.5, "seats": 1}, key())
                m = svc.create_member(admin, c["id"], f"delegate {i}", key())
                e = svc.open_round(who(planner), {"kind": "election", "title": f"delegate of council {i}",
                                                  "rule": "pav", "council_id": c["id"], "candidates": [m["id"]]}, key())
                svc.ballot(who(m["token"]), e["id"], {"approve": [m["id"]]}, key())
                svc.close_round(who(planner), e["id"], key())
                svc.publish(who(planner), e["id"], key())
                d = svc.delegate_token(who(m["token"]), key())["token"]
                if i < proposals:
                    p = svc.propose(who(d), rnd["id"], {"council_id": c["id"], "basket": {a: 10.0 + i, b: 5.0}}, key())
                    out["proposals"].append(p["id"])
                out["councils"].append(c["id"])
                out["delegates"].append(d)
        out.update(planner=planner, round=rnd["id"])
        return out
    finally:
        store.dispose()
