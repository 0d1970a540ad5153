"""The democracy service through HTTP on a live server (``gosplan serve`` in a subprocess).

Each role (administrator, planner, council delegate, council member) and each refusal
of issues 6 and 8: malformed and oversized requests, unknown products, negative
quantities, votes after a round closed, a delegate acting for another council, replayed
requests; after every refusal the test checks that nothing was stored (vote counts and
ledger length unchanged). Runs on SQLite, and on PostgreSQL when
``GOSPLAN_TEST_POSTGRES_URL`` names one (``.ci/run`` starts Debian's PostgreSQL).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from gosplan import datasets  # noqa: E402
from gosplan.democracy.ledger import verify_export  # noqa: E402

from _server_harness import ADMIN, Client, Server, backends, fresh_database, products, seat_delegates  # noqa: E402

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module", params=backends())
def live(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    server = Server(fresh_database(request.param, tmp), tmp / "server.log", max_body=MAX_BODY).start()
    client = Client(server.url)
    yield server, client
    client.close()
    server.stop()


@pytest.fixture(scope="module")
def world(live):
    """Two councils with three members each, a planner, and one elected delegate per council."""
    _, c = live
    planner = c.ok("/planners", {"label": "state planning committee"}, ADMIN)["token"]
    councils, members, delegates = [], {}, {}
    for name, kind, weight in (("steelworks", "workers", 3.0), ("district 9", "consumers", 5.0)):
        co = c.ok("/councils", {"name": name, "kind": kind, "weight": weight, "recall_threshold": 0.6}, ADMIN)
        councils.append(co["id"])
        members[co["id"]] = [c.ok(f"/councils/{co['id']}/members", {"name": f"{name} member {i}"}, ADMIN) for i in range(3)]
        delegates[co["id"]] = seat_delegates(c, planner, co["id"], members[co["id"]])[0]
    return {"planner": planner, "councils": councils, "members": members, "delegates": delegates}


def _state(c: Client, round_id: int) -> tuple[int, int]:
    r = c.get(f"/rounds/{round_id}").json()
    return r["votes"], r["ledger_entries"]


def _refused(c: Client, round_id: int, status: int, path: str, body=None, token=None, contains: str = "", **kw) -> dict:
    """POST must be refused with ``status`` (message containing ``contains``) and store nothing."""
    before = _state(c, round_id)
    r = c.post(path, body, token, **kw)
    assert r.status_code == status, f"{path}: expected {status}, got {r.status_code} {r.text}"
    assert contains in r.text, r.text
    assert _state(c, round_id) == before, "a refused request changed the round"
    return r.json()


def test_openapi_and_health(live):
    _, c = live
    assert c.get("/health").json()["ok"] is True
    spec = c.get("/openapi.json").json()
    for path in ("/councils", "/rounds", "/rounds/{round_id}/proposals", "/rounds/{round_id}/votes",
                 "/rounds/{round_id}/ledger", "/rounds/{round_id}/ballots", "/mandates/{mandate_id}/petition"):
        assert path in spec["paths"], path
    assert c.get("/docs").status_code == 200
    assert c.http.get("/", follow_redirects=False).headers["location"] == "/ui"
    assert "Rounds" in c.get("/ui").text


def test_roles_and_tokens(live, world):
    _, c = live
    council = world["councils"][0]
    # no token, a wrong token, the wrong role
    assert c.post("/councils", {"name": "x"}).status_code == 401
    assert c.post("/councils", {"name": "x"}, token="not-a-token").status_code == 401
    assert c.post("/councils", {"name": "x"}, token=world["planner"]).status_code == 403
    member = world["members"][council][1]
    assert c.post("/rounds", {"kind": "plan", "title": "t", "rule": "weighted-sum"}, member["token"]).status_code == 403
    me = c.get("/me", world["delegates"][council]).json()
    assert me["role"] == "delegate" and me["council_id"] == council
    # only an elected member gets a delegate token: the administrator cannot appoint one
    assert c.post("/me/delegate-token", None, member["token"]).status_code == 403
    assert c.post("/me/delegate-token", None, ADMIN).status_code == 403
    mandates = c.get(f"/mandates?council_id={council}").json()
    assert [m["member_id"] for m in mandates if m["active"]] == [world["members"][council][0]["id"]]
    # councils, members and tokens issued are in the registry's ledger; token texts never are
    registry = c.get(f"/rounds/{c.get('/health').json()['registry_round']}/ledger").content
    assert verify_export(registry).ok
    kinds = [json.loads(x)["kind"] for x in registry.splitlines()[1:]]
    assert kinds.count("council_registered") >= 2 and kinds.count("member_registered") >= 6
    assert member["token"].encode() not in registry and world["planner"].encode() not in registry


def test_plan_round_end_to_end(live, world, tmp_path):
    server, c = live
    planner, (a, b) = world["planner"], world["councils"]
    g, s = products()[:2]
    r = c.ok("/rounds", {"kind": "plan", "title": "plan 2027", "rule": "approval"}, planner)
    pa = c.ok(f"/rounds/{r['id']}/proposals", {"council_id": a, "basket": {g: 100.0, s: 20.0}}, world["delegates"][a])
    pb = c.ok(f"/rounds/{r['id']}/proposals", {"council_id": b, "basket": {g: 50.0, s: 80.0}}, world["delegates"][b])
    c.ok(f"/rounds/{r['id']}/votes", {"council_id": a, "approve": [pa["id"]]}, world["delegates"][a])
    c.ok(f"/rounds/{r['id']}/votes", {"council_id": b, "approve": [pb["id"], pa["id"]]}, world["delegates"][b])
    assert c.get(f"/rounds/{r['id']}/result").status_code == 409  # not published yet
    c.ok(f"/rounds/{r['id']}/close", None, planner, status=200)
    c.ok(f"/rounds/{r['id']}/compute", None, planner, status=200)
    done = c.ok(f"/rounds/{r['id']}/publish", None, planner, status=200)
    result = done["result"]
    # proposal a is approved by both councils (weight 3 + 5) and b only by b (5): a wins
    assert result["aggregation"]["basket"] == {g: 100.0, s: 20.0} or result["aggregation"]["basket"] == {g: 100, s: 20}
    plan = result["plan"]
    assert plan["status"] == "optimal"
    assert plan["output"][g] >= 100.0 - 1e-6 and plan["output"][s] >= 20.0 - 1e-6
    assert c.get(f"/rounds/{r['id']}/result").json() == result
    # the exported ledger verifies and holds every act, in order
    export = c.get(f"/rounds/{r['id']}/ledger")
    assert export.headers["content-type"].startswith("application/x-ndjson")
    report = verify_export(export.content)
    assert report.ok, report.message
    kinds = [json.loads(line)["kind"] for line in export.content.splitlines()[1:]]
    assert kinds == ["round_opened", "rule_chosen", "proposal", "proposal", "vote", "vote", "round_closed",
                     "targets_aggregated", "plan_computed", "result_published"]
    assert c.get(f"/rounds/{r['id']}/ledger/verify").json()["ok"] is True
    # the CLI checks the same export by URL
    from typer.testing import CliRunner

    from gosplan.cli import app

    # the CLI checks the same export by URL, recomputing the targets and the plan from the recorded inputs
    out = CliRunner().invoke(app, ["ledger", "verify", f"{server.url}/rounds/{r['id']}/ledger",
                                   "--replay", "plan_computed=gosplan.server:replay_plan"])
    assert out.exit_code == 0 and "1 replayed" in out.output, out.output
    # a forger who rewrites a proposal and re-hashes the whole chain passes the hash check,
    # but recomputing the plan from the recorded inputs exposes the forgery
    from gosplan.democracy.ledger import export_entries, make_entry, read_export
    from gosplan.server import replay_plan

    header, entries = read_export(export.content)
    forged, prev = [], header["genesis"]
    for e in entries:
        payload = dict(e.payload)
        if e.kind == "proposal" and payload["council"] == a:
            payload["basket"] = {g: 999.0, s: 20.0}
        f = make_entry(prev, e.seq, e.kind, e.actor, payload, time=e.time)
        forged.append(f)
        prev = f.hash
    data = export_entries(forged, round_id=header["round"], genesis=header["genesis"])
    assert verify_export(data).ok
    report = verify_export(data, replay={"plan_computed": replay_plan})
    assert not report.ok and report.field == "replay" and kinds[report.index] == "plan_computed"
    assert verify_export(export.content, replay={"plan_computed": replay_plan}).ok
    # one flipped byte anywhere is detected, and such a file is refused on import
    data = bytearray(export.content)
    pos = data.index(b'"proposal"') + 3
    data[pos] ^= 0x01
    assert not verify_export(bytes(data)).ok
    path = tmp_path / "tampered.jsonl"
    path.write_bytes(bytes(data))
    out = CliRunner().invoke(app, ["ledger", "verify", str(path), "--no-replay"])
    assert out.exit_code == 1
    n_rounds = len(c.get("/rounds").json())
    bad = c.post("/rounds/import", content=bytes(data), token=planner)
    assert bad.status_code == 422 and "does not verify" in bad.text
    assert len(c.get("/rounds").json()) == n_rounds
    imp = c.ok("/rounds/import", None, planner, content=export.content)
    assert imp["entries"] == len(kinds)
    assert c.get(f"/rounds/{imp['id']}/ledger").content.splitlines()[1:] == export.content.splitlines()[1:]


def test_plan_round_refusals(live, world):
    _, c = live
    planner, (a, b) = world["planner"], world["councils"]
    da, db = world["delegates"][a], world["delegates"][b]
    g = products()[0]
    r = c.ok("/rounds", {"kind": "plan", "title": "refusals", "rule": "approval"}, planner)
    rid = r["id"]
    url = f"/rounds/{rid}/proposals"
    # unknown product: 422 naming it
    _refused(c, rid, 422, url, {"council_id": a, "basket": {"unobtainium": 1.0}}, da, contains="unobtainium")
    # negative quantity: 422 naming the product
    body = _refused(c, rid, 422, url, {"council_id": a, "basket": {g: -5.0}}, da)
    assert body["detail"][0]["loc"][-1] == g
    # not a number, an unknown field, malformed JSON
    _refused(c, rid, 422, url, {"council_id": a, "basket": {g: "lots"}}, da)
    _refused(c, rid, 422, url, {"council_id": a, "basket": {g: 1.0}, "extra": 1}, da)
    _refused(c, rid, 422, url, None, da, content=b'{"council_id": 1, "basket": {',
             headers={"Content-Type": "application/json"})
    # oversized body: 413 before anything is read into a handler
    big = {"council_id": a, "basket": {f"p{i}": 1.0 for i in range(10_000)}}
    _refused(c, rid, 413, url, big, da, contains="limit")
    # ... and so is a chunked body without Content-Length, once it passes the limit
    chunks = iter([b'{"council_id": 1, "basket": {"' + b"x" * 40_000, b"y" * 40_000 + b'": 1}}'])
    _refused(c, rid, 413, url, None, da, content=chunks, headers={"Content-Type": "application/json"}, contains="limit")
    # a delegate acting for another council: 403
    _refused(c, rid, 403, url, {"council_id": b, "basket": {g: 1.0}}, da, contains="council")
    # a member or a planner is not a delegate
    _refused(c, rid, 403, url, {"council_id": a, "basket": {g: 1.0}}, world["members"][a][1]["token"])
    _refused(c, rid, 403, url, {"council_id": a, "basket": {g: 1.0}}, planner)
    # missing Idempotency-Key: 428; a replayed key: 409 and nothing stored twice
    _refused(c, rid, 428, url, {"council_id": a, "basket": {g: 1.0}}, da, fresh=False, contains="Idempotency-Key")
    key = uuid.uuid4().hex
    p = c.ok(url, {"council_id": a, "basket": {g: 7.0}}, da, key=key)
    _refused(c, rid, 409, url, {"council_id": a, "basket": {g: 7.0}}, da, key=key, contains="replayed")
    # a nonce in the body serves as the key too
    nonce = uuid.uuid4().hex
    c.ok(f"/rounds/{rid}/votes", {"council_id": b, "approve": [p["id"]], "nonce": nonce}, db, fresh=False)
    _refused(c, rid, 409, f"/rounds/{rid}/votes", {"council_id": b, "approve": [p["id"]], "nonce": nonce}, db,
             fresh=False, contains="replayed")
    # one vote per council; votes name proposals of this round
    _refused(c, rid, 409, f"/rounds/{rid}/votes", {"council_id": b, "approve": [p["id"]]}, db, contains="voted")
    _refused(c, rid, 422, f"/rounds/{rid}/votes", {"council_id": a, "approve": [987654]}, da, contains="987654")
    # after the round closed: 409
    c.ok(f"/rounds/{rid}/close", None, planner, status=200)
    _refused(c, rid, 409, f"/rounds/{rid}/votes", {"council_id": a, "approve": [p["id"]]}, da, contains="closed")
    _refused(c, rid, 409, url, {"council_id": b, "basket": {g: 1.0}}, db, contains="closed")
    assert c.get(f"/rounds/{rid}/ledger/verify").json()["ok"] is True


def test_weighted_sum_rule_takes_proposals_not_votes(live, world):
    _, c = live
    planner, (a, b) = world["planner"], world["councils"]
    g, s = products()[:2]
    r = c.ok("/rounds", {"kind": "plan", "title": "sum", "rule": "weighted-sum"}, planner)
    c.ok(f"/rounds/{r['id']}/proposals", {"council_id": a, "basket": {g: 10.0}}, world["delegates"][a])
    c.ok(f"/rounds/{r['id']}/proposals", {"council_id": b, "basket": {g: 2.0, s: 4.0}}, world["delegates"][b])
    _refused(c, r["id"], 422, f"/rounds/{r['id']}/votes", {"council_id": a, "approve": [1]}, world["delegates"][a],
             contains="takes no votes")
    for act in ("close", "compute", "publish"):
        c.ok(f"/rounds/{r['id']}/{act}", None, planner, status=200)
    plan = c.get(f"/rounds/{r['id']}/result").json()["plan"]
    assert plan["status"] == "optimal"
    assert plan["output"][g] > 0 and plan["output"][s] > 0


def test_budget_round(live, world):
    _, c = live
    planner, a = world["planner"], world["councils"][0]
    ms = world["members"][a]
    projects = [{"key": "library", "name": "Library", "cost": 600.0, "district": "north"},
                {"key": "clinic", "name": "Clinic", "cost": 500.0, "district": "south"},
                {"key": "park", "name": "Park", "cost": 300.0, "district": "north"}]
    r = c.ok("/rounds", {"kind": "budget", "title": "investment 2027", "rule": "equal-shares", "budget": 1000.0,
                         "council_id": a, "ballot": "approval", "max_length": 2, "projects": projects}, planner)
    rid = r["id"]
    url = f"/rounds/{rid}/ballots"
    _refused(c, rid, 422, url, {"approve": ["tramway"]}, ms[0]["token"], contains="tramway")
    _refused(c, rid, 422, url, {"approve": ["library", "clinic", "park"]}, ms[0]["token"], contains="maximum")
    other = world["members"][world["councils"][1]][0]["token"]
    _refused(c, rid, 403, url, {"approve": ["park"]}, other, contains="council")
    _refused(c, rid, 403, url, {"approve": ["park"]}, world["delegates"][a])
    c.ok(url, {"approve": ["library", "park"]}, ms[0]["token"])
    c.ok(url, {"approve": ["library"]}, ms[1]["token"])
    c.ok(url, {"approve": ["clinic", "park"]}, ms[2]["token"])
    _refused(c, rid, 409, url, {"approve": ["clinic"]}, ms[2]["token"], contains="voted")
    c.ok(f"/rounds/{rid}/close", None, planner, status=200)
    _refused(c, rid, 409, url, {"approve": ["park"]}, ms[0]["token"], contains="closed")
    out = c.ok(f"/rounds/{rid}/publish", None, planner, status=200)["result"]
    assert set(out["funded"]) <= {"library", "clinic", "park"}
    assert sum(p["cost"] for p in projects if p["key"] in out["funded"]) <= 1000.0
    assert set(out["explanation"]) == {"library", "clinic", "park"}
    assert all(isinstance(v, str) and v for v in out["explanation"].values())
    assert len(out["satisfaction"]) == 3
    assert out["votes"] == {"library": 2, "clinic": 1, "park": 2}
    # a project costlier than the budget is refused when the round is opened
    bad = c.post("/rounds", {"kind": "budget", "title": "x", "rule": "greedy", "budget": 100.0,
                             "projects": [{"key": "bridge", "cost": 1000.0}]}, planner)
    assert bad.status_code == 422 and "bridge" in bad.text
    assert verify_export(c.get(f"/rounds/{rid}/ledger").content).ok


def test_cumulative_budget_round(live, world):
    _, c = live
    planner, a = world["planner"], world["councils"][1]
    ms = world["members"][a]
    r = c.ok("/rounds", {"kind": "budget", "title": "points", "rule": "greedy", "budget": 10.0, "ballot": "cumulative",
                         "max_sum_points": 5, "projects": [{"key": "x", "cost": 6.0}, {"key": "y", "cost": 5.0},
                                                           {"key": "z", "cost": 4.0}]}, planner)
    _refused(c, r["id"], 422, f"/rounds/{r['id']}/ballots", {"points": {"x": 4, "y": 3}}, ms[0]["token"], contains="5")
    c.ok(f"/rounds/{r['id']}/ballots", {"points": {"x": 3, "y": 2}}, ms[0]["token"])
    c.ok(f"/rounds/{r['id']}/ballots", {"points": {"y": 4, "z": 1}}, ms[1]["token"])
    c.ok(f"/rounds/{r['id']}/close", None, planner, status=200)
    out = c.ok(f"/rounds/{r['id']}/publish", None, planner, status=200)["result"]
    # greedy by points: y (6 points, cost 5) first, then x (3, cost 6) does not fit, z (1, cost 4) does
    assert out["funded"] == ["y", "z"]


def test_recall_ends_mandate_and_opens_election(live, world):
    _, c = live
    planner, b = world["planner"], world["councils"][1]
    ms = world["members"][b]
    delegate = world["delegates"][b]
    assert c.get("/me", delegate).json()["role"] == "delegate"
    mandate = next(m for m in c.get(f"/mandates?council_id={b}").json() if m["active"])
    election_round = mandate["round_id"]
    # a member of another council cannot petition
    other = world["members"][world["councils"][0]][2]["token"]
    _refused(c, election_round, 403, f"/mandates/{mandate['id']}/petition", None, other)
    # threshold 0.6 of 3 members: 2 signatures
    first = c.ok(f"/mandates/{mandate['id']}/petition", None, ms[1]["token"])
    assert first == {"mandate_id": mandate["id"], "signatures": 1, "needed": 2, "recalled": False, "new_round_id": None}
    _refused(c, election_round, 409, f"/mandates/{mandate['id']}/petition", None, ms[1]["token"], contains="signed")
    assert c.get("/me", delegate).json()["role"] == "delegate"
    second = c.ok(f"/mandates/{mandate['id']}/petition", None, ms[2]["token"])
    assert second["recalled"] is True
    # the recalled delegate's token stops working at once
    assert c.get("/me", delegate).json()["role"] is None
    g = products()[0]
    rr = c.ok("/rounds", {"kind": "plan", "title": "after recall", "rule": "weighted-sum"}, planner)
    assert c.post(f"/rounds/{rr['id']}/proposals", {"council_id": b, "basket": {g: 1.0}}, delegate).status_code == 401
    # the new election is open; a member stands, is elected and gets a working delegate token
    new = c.get(f"/rounds/{second['new_round_id']}").json()
    assert new["kind"] == "election" and new["status"] == "open" and new["council_id"] == b
    c.ok(f"/rounds/{new['id']}/candidates", None, ms[2]["token"])
    for m in ms:
        c.ok(f"/rounds/{new['id']}/ballots", {"approve": [ms[2]["id"]]}, m["token"])
    c.ok(f"/rounds/{new['id']}/close", None, planner, status=200)
    assert c.ok(f"/rounds/{new['id']}/publish", None, planner, status=200)["result"]["elected"] == [ms[2]["id"]]
    token = c.ok("/me/delegate-token", None, ms[2]["token"])["token"]
    c.ok(f"/rounds/{rr['id']}/proposals", {"council_id": b, "basket": {g: 1.0}}, token)
    world["delegates"][b] = token
    # both ledgers verify; the petition and the recall are in the election's ledger
    for rid in (election_round, new["id"]):
        export = c.get(f"/rounds/{rid}/ledger").content
        assert verify_export(export).ok
    kinds = [json.loads(x)["kind"] for x in c.get(f"/rounds/{election_round}/ledger").content.splitlines()[1:]]
    assert kinds.count("petition") == 2 and kinds.count("recall") == 1


def test_stv_election(live, world):
    _, c = live
    planner, a = world["planner"], world["councils"][0]
    ms = world["members"][a]
    r = c.ok("/rounds", {"kind": "election", "title": "stv", "rule": "stv", "council_id": a, "seats": 1,
                         "candidates": [ms[1]["id"], ms[2]["id"]]}, planner)
    _refused(c, r["id"], 422, f"/rounds/{r['id']}/ballots", {"ranking": [ms[0]["id"]]}, ms[0]["token"],
             contains="not a candidate")
    c.ok(f"/rounds/{r['id']}/ballots", {"ranking": [ms[1]["id"], ms[2]["id"]]}, ms[0]["token"])
    c.ok(f"/rounds/{r['id']}/ballots", {"ranking": [ms[1]["id"]]}, ms[1]["token"])
    c.ok(f"/rounds/{r['id']}/ballots", {"ranking": [ms[2]["id"], ms[1]["id"]]}, ms[2]["token"])
    c.ok(f"/rounds/{r['id']}/close", None, planner, status=200)
    out = c.ok(f"/rounds/{r['id']}/publish", None, planner, status=200)["result"]
    assert out["elected"] == [ms[1]["id"]]
    # a full election replaces the council's delegates: the old delegate token stops working
    assert c.get("/me", world["delegates"][a]).json()["role"] is None
    world["delegates"][a] = c.ok("/me/delegate-token", None, ms[1]["token"])["token"]


def test_impossible_plan_is_published_with_its_diagnosis(live, world):
    """Councils' limit on hours worked that cannot carry their basket: the plan says which clash."""
    _, c = live
    planner, (a, b) = world["planner"], world["councils"]
    g = products()[0]
    r = c.ok("/rounds", {"kind": "plan", "title": "too much", "rule": "weighted-median"}, planner)
    url = f"/rounds/{r['id']}/proposals"
    _refused(c, r["id"], 422, url, {"council_id": a, "basket": {g: 1.0}, "limits": {"leisure": 5.0}},
             world["delegates"][a], contains="leisure")
    c.ok(url, {"council_id": a, "basket": {g: 1e9}, "limits": {"hours": 10.0}}, world["delegates"][a])
    c.ok(url, {"council_id": b, "basket": {g: 2e9}, "limits": {"hours": 20.0}}, world["delegates"][b])
    for act in ("close", "compute", "publish"):
        c.ok(f"/rounds/{r['id']}/{act}", None, planner, status=200)
    result = c.get(f"/rounds/{r['id']}/result").json()
    # weighted lower median: weights 3 (a) and 5 (b) of 8; a's value reaches 3 < 4, so b's
    assert result["aggregation"]["basket"] == {g: 2e9} and result["aggregation"]["limits"] == {"hours": 20.0}
    plan = result["plan"]
    assert plan["status"] == "infeasible"
    assert g in plan["diagnosis"] and "hours" in plan["diagnosis"]


def test_budget_round_from_pabulib_and_back(live, world):
    """A planner opens a budget round from Assen 2024's .pb (Pabulib: budget 100,000 EUR,
    14 projects, min_length 2); members vote; the round exported as .pb gives, by the
    same rule run on the file, the service's funded projects."""
    _, c = live
    from gosplan.democracy.budgeting import allocate
    from gosplan.democracy.pabulib import parse_pabulib

    planner, a = world["planner"], world["councils"][0]
    text = datasets.resolve("assen_2024", "election").read_bytes()
    assert c.post("/rounds/pabulib?rule=equal-shares", content=text, token=world["members"][a][0]["token"]).status_code == 403
    bad = c.post("/rounds/pabulib", content=b"META\nkey;value\nbudget;100\n", token=planner)
    assert bad.status_code == 422 and "PROJECTS" in bad.text
    r = c.ok(f"/rounds/pabulib?rule=equal-shares&council_id={a}", None, planner, content=text)
    assert r["params"] == {"budget": 100000.0, "ballot": "approval", "min_length": 2}
    rnd = c.get(f"/rounds/{r['id']}").json()
    assert len(rnd["projects"]) == 14
    keys = [p["key"] for p in rnd["projects"]]
    _refused(c, r["id"], 422, f"/rounds/{r['id']}/ballots", {"approve": [keys[0]]}, world["members"][a][0]["token"],
             contains="minimum 2")
    for i, m in enumerate(world["members"][a]):
        c.ok(f"/rounds/{r['id']}/ballots", {"approve": [keys[i], keys[i + 3], keys[13]]}, m["token"])
    c.ok(f"/rounds/{r['id']}/close", None, planner, status=200)
    out = c.ok(f"/rounds/{r['id']}/publish", None, planner, status=200)["result"]
    exported = c.get(f"/rounds/{r['id']}/pabulib").text
    again = allocate(parse_pabulib(exported, "export"), "equal-shares")
    assert list(again.funded) == out["funded"] and out["funded"]


def test_pages_refuse_replayed_and_malformed_forms(live, world):
    """The HTML forms carry a nonce: a resubmitted form is refused (409) and stores nothing."""
    server, c = live
    import httpx

    planner, b = world["planner"], world["councils"][1]
    m = world["members"][b][0]
    r = c.ok("/rounds", {"kind": "budget", "title": "forms", "rule": "greedy", "budget": 10.0, "ballot": "ordinal",
                         "projects": [{"key": "7", "cost": 4.0}, {"key": "8", "cost": 9.0}]}, planner)
    from gosplan.server.auth import form_tag

    with httpx.Client(base_url=server.url) as page:
        assert page.post("/ui/login", data={"token": m["token"]}).status_code == 303
        session = page.cookies["gosplan_token"]
        assert session != m["token"]  # the cookie holds a session token, not the member's token

        def tagged() -> str:
            n = uuid.uuid4().hex
            return f"{n}.{form_tag(session, n)}"

        assert "submit-ballot" in page.get(f"/ui/rounds/{r['id']}").text
        url = f"/ui/rounds/{r['id']}/ballot"
        bad = page.post(url, data={"nonce": tagged(), "rank:7": "first"})
        assert bad.status_code == 422 and "not a whole number" in bad.text
        assert page.post(url, data={"rank:7": "2", "rank:8": "1"}).status_code == 403  # no nonce: not this session's form
        assert page.post(url, data={"nonce": uuid.uuid4().hex, "rank:7": "2", "rank:8": "1"}).status_code == 403
        nonce = tagged()
        assert page.post(url, data={"nonce": nonce, "rank:7": "2", "rank:8": "1"}).status_code == 303
        again = page.post(url, data={"nonce": nonce, "rank:7": "1"})
        assert again.status_code == 409 and "replayed" in again.text
    assert c.get(f"/rounds/{r['id']}/votes").json() == [
        {"id": c.get(f"/rounds/{r['id']}/votes").json()[0]["id"], "voter": f"member:{m['id']}", "ranking": ["8", "7"]}]


def test_concurrent_replays_store_one_vote(live, world):
    """The same vote sent 12 times at once with one Idempotency-Key: one 201, eleven 409, one vote stored
    (on PostgreSQL the losers of the race fail on the unique key at commit and are rolled back)."""
    server, c = live
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    planner, (a, b) = world["planner"], world["councils"]
    g = products()[0]
    r = c.ok("/rounds", {"kind": "plan", "title": "race", "rule": "approval"}, planner)
    p = c.ok(f"/rounds/{r['id']}/proposals", {"council_id": a, "basket": {g: 1.0}}, world["delegates"][a])
    key = uuid.uuid4().hex
    url = f"{server.url}/rounds/{r['id']}/votes"
    headers = {"Authorization": f"Bearer {world['delegates'][b]}", "Idempotency-Key": key}

    def send(_):
        return httpx.post(url, json={"council_id": b, "approve": [p["id"]]}, headers=headers, timeout=60)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(send, range(12)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 11
    assert all("replayed" in r.text for r in answers if r.status_code == 409)
    assert len(c.get(f"/rounds/{r['id']}/votes").json()) == 1
    assert c.get(f"/rounds/{r['id']}/ledger/verify").json()["ok"] is True


def test_first_start_writes_an_administrator_token_never_logged(tmp_path, monkeypatch, capsys):
    """Without GOSPLAN_ADMIN_TOKEN the first start makes an administrator token and writes it to a
    file only its owner reads, never to stderr (the service's log); the database keeps only its
    hash; a restart makes none. ``--rotate-admin-token`` revokes it and writes a new one."""
    import stat

    from gosplan.server.app import admin_token_path, create_app
    from gosplan.server.auth import Bearer
    from gosplan.server.services import Unauthorized

    monkeypatch.delenv("GOSPLAN_ADMIN_TOKEN", raising=False)
    db = tmp_path / "first.sqlite"
    app = create_app(str(db))
    err = capsys.readouterr().err
    path = admin_token_path(app.state.service.store.url)
    token = path.read_text().strip()
    assert str(path) in err and token not in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    svc = app.state.service
    assert svc.authorize(Bearer(token), "admin").role == "admin"
    svc.store.dispose()
    import sqlite3

    con = sqlite3.connect(db)
    stored = [row[0] for row in con.execute("SELECT token_hash FROM tokens")]
    con.close()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64
    app2 = create_app(str(db))
    assert capsys.readouterr().err == ""
    app2.state.service.store.dispose()
    app3 = create_app(str(db), rotate_admin_token=True)
    err = capsys.readouterr().err
    new = path.read_text().strip()
    assert new != token and new not in err and "rotated" in err
    with pytest.raises(Unauthorized):
        app3.state.service.authorize(Bearer(token), "admin")
    assert app3.state.service.authorize(Bearer(new), "admin").role == "admin"
    app3.state.service.store.dispose()


def test_short_or_revoked_admin_token_is_refused(tmp_path, monkeypatch):
    from gosplan.errors import GosplanError
    from gosplan.server.app import create_app

    monkeypatch.delenv("GOSPLAN_ADMIN_TOKEN", raising=False)
    db = str(tmp_path / "short.sqlite")
    with pytest.raises(GosplanError, match="at least 32"):
        create_app(db, admin_token="x")
    first = "a" * 40
    create_app(db, admin_token=first).state.service.store.dispose()
    create_app(db, admin_token="b" * 40).state.service.store.dispose()  # rotation through the environment
    with pytest.raises(GosplanError, match="revoked"):
        create_app(db, admin_token=first)


def test_ci_tests_the_postgresql_backend():
    """CI must exercise PostgreSQL, not silently run SQLite alone (``.ci/run`` starts the server)."""
    if os.environ.get("CI"):
        assert os.environ.get("GOSPLAN_TEST_POSTGRES_URL"), "CI=true but GOSPLAN_TEST_POSTGRES_URL is not set"
        assert "postgres" in backends()


def test_every_field_and_enum_of_the_api_is_described(live):
    _, c = live
    spec = c.get("/openapi.json").json()
    undescribed = [f"{name}.{field}" for name, schema in spec["components"]["schemas"].items()
                   if name.endswith("In") for field, prop in schema.get("properties", {}).items()
                   if not prop.get("description")]
    assert undescribed == []
    kind = spec["components"]["schemas"]["RoundIn"]["properties"]["kind"]["description"]
    rule = spec["components"]["schemas"]["RoundIn"]["properties"]["rule"]["description"]
    assert "`plan`:" in kind and "`election`:" in kind
    assert "`weighted-median`:" in rule and "`equal-shares`:" in rule and "`stv`:" in rule
    assert "`published`:" in spec["info"]["description"]


def test_councils_members_and_planners_are_renamed_and_retired_with_their_history(live):
    """Retiring keeps the record and ends the power to act; every act is in the registry chain."""
    _, c = live
    co = c.ok("/councils", {"name": "bakers typo", "kind": "workers"}, ADMIN)
    assert c.ok(f"/councils/{co['id']}/rename", {"name": "bakers"}, ADMIN, status=200)["name"] == "bakers"
    m1 = c.ok(f"/councils/{co['id']}/members", {"name": "Gil"}, ADMIN)
    m2 = c.ok(f"/councils/{co['id']}/members", {"name": "Hana"}, ADMIN)
    assert c.ok(f"/members/{m1['id']}/rename", {"name": "Gil B."}, ADMIN, status=200)["name"] == "Gil B."
    assert c.get("/me", m1["token"]).json()["label"] == "Gil B."
    # a member retires: her token stops working, her record stays
    c.ok(f"/members/{m1['id']}/retire", None, ADMIN, status=200)
    assert c.get("/me", m1["token"]).json()["role"] is None
    members = {m["id"]: m for m in c.get(f"/councils/{co['id']}/members").json()}
    assert members[m1["id"]]["retired"] and not members[m2["id"]]["retired"]
    assert c.post(f"/members/{m1['id']}/retire", None, ADMIN).status_code == 409
    # the council retires: the rest of its members stop, no member joins it
    c.ok(f"/councils/{co['id']}/retire", None, ADMIN, status=200)
    assert c.get("/me", m2["token"]).json()["role"] is None
    assert next(x for x in c.get("/councils").json() if x["id"] == co["id"])["retired"] is True
    r = c.post(f"/councils/{co['id']}/members", {"name": "Ivo"}, ADMIN)
    assert r.status_code == 409 and "retired" in r.json()["detail"]
    assert c.post(f"/councils/{co['id']}/rename", {"name": "x"}, ADMIN).status_code == 409
    # planners
    token = c.ok("/planners", {"label": "ofice of plans"}, ADMIN)["token"]
    pid = next(p["id"] for p in c.get("/planners").json() if p["label"] == "ofice of plans")
    c.ok(f"/planners/{pid}/rename", {"name": "office of plans"}, ADMIN, status=200)
    assert c.get("/me", token).json() == {**c.get("/me", token).json(), "role": "planner", "label": "office of plans"}
    c.ok(f"/planners/{pid}/retire", None, ADMIN, status=200)
    assert c.get("/me", token).json()["role"] is None
    assert c.post("/rounds", {"kind": "plan", "title": "t", "rule": "weighted-sum"}, token).status_code == 401
    assert c.post("/me/delegate-token", None, m2["token"]).status_code == 401
    # each act in the registry chain, which still verifies
    registry = c.get(f"/rounds/{c.get('/health').json()['registry_round']}/ledger").content
    assert verify_export(registry).ok
    kinds = [json.loads(x)["kind"] for x in registry.splitlines()[1:]]
    for kind in ("council_renamed", "member_renamed", "member_retired", "council_retired", "planner_renamed",
                 "planner_retired"):
        assert kind in kinds, kind
