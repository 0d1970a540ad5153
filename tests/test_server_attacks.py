"""The service attacked from outside: a live ``gosplan serve`` on loopback, driven over HTTP as an
outsider and as each role, and its database edited behind its back as an intruder would.

Each attack is refused with the right status and a message saying why, and stores nothing
(the round's vote count and ledger length are unchanged). The seven defects of issue 18 each
have a test here: outcomes counted from the ledger, not from tables an intruder can rewrite
(1); no delegate without the members' ballots (2); a ledger cut short or rewritten detected
against a published, signed head (3); cross-site request forgery of the pages (4); tokens
that can be revoked (5); NaN, infinities and huge ids (6); a quantity the solver refuses (7).
Runs on SQLite, and on PostgreSQL when ``GOSPLAN_TEST_POSTGRES_URL`` names one.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import uuid

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cryptography")

from _server_harness import (  # noqa: E402
    ADMIN,
    Client,
    Server,
    backends,
    fresh_database,
    products,
    seat_delegates,
)

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module", params=backends())
def live(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"attacks-{request.param}")
    # the limit on failed tokens is tested on a server of its own (test_token_guessing_is_rate_limited)
    server = Server(fresh_database(request.param, tmp), tmp / "server.log", max_body=MAX_BODY,
                    env={"GOSPLAN_AUTH_FAILURES": "100000"}).start()
    client = Client(server.url)
    yield server, client
    client.close()
    server.stop()


def _council(c: Client, planner: str, name: str, members: int = 4, seat: bool = True) -> dict:
    co = c.ok("/councils", {"name": name, "kind": "workers", "recall_threshold": 0.5}, ADMIN)
    ms = [c.ok(f"/councils/{co['id']}/members", {"name": f"{name} member {i}"}, ADMIN) for i in range(members)]
    delegate = seat_delegates(c, planner, co["id"], ms)[0] if seat else None
    return {"id": co["id"], "members": ms, "delegate": delegate}


@pytest.fixture(scope="module")
def world(live):
    _, c = live
    planner = c.ok("/planners", {"label": "planning committee"}, ADMIN)["token"]
    return {"planner": planner, "a": _council(c, planner, "council A"), "b": _council(c, planner, "council B")}


@pytest.fixture()
def cli():
    from typer.testing import CliRunner

    from gosplan.cli import app

    return functools.partial(CliRunner(env={"COLUMNS": "200"}).invoke, app)


def sql(server: Server, statement: str, **params):
    """Run SQL on the service's database behind its back (what an intruder with the file could do)."""
    from sqlalchemy import create_engine, text

    from gosplan.server.db import normalise_url

    engine = create_engine(normalise_url(server.database_url))
    try:
        with engine.begin() as con:
            result = con.execute(text(statement), params)
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


def _state(c: Client, round_id: int) -> tuple[int, int]:
    r = c.get(f"/rounds/{round_id}").json()
    return r["votes"], r["ledger_entries"]


def _refused(c: Client, round_id: int | None, status: int, path: str, body=None, token=None, contains: str = "",
             **kw) -> httpx.Response:
    before = _state(c, round_id) if round_id else None
    r = c.post(path, body, token, **kw)
    assert r.status_code == status, f"{path}: expected {status}, got {r.status_code} {r.text}"
    assert contains.lower() in r.text.lower(), r.text
    assert r.json().get("detail"), "a refusal says why"
    if round_id:
        assert _state(c, round_id) == before, "a refused request changed the round"
    return r


def _budget(c: Client, planner: str, title: str, **extra) -> dict:
    return c.ok("/rounds", {"kind": "budget", "title": title, "rule": "greedy", "budget": 10.0,
                            "projects": [{"key": "p3", "cost": 6.0}, {"key": "p11", "cost": 6.0}], **extra}, planner)


# -- defect 1: outcomes from the ledger ------------------------------------------------------------


def test_budget_outcome_is_counted_from_the_ledger_not_the_votes_table(live, world):
    """Rewriting rows of ``votes`` changes neither the funded set, nor the Pabulib export, and the
    ledger still verifies with every outcome recomputed from its entries."""
    server, c = live
    from gosplan.democracy.pabulib import parse_pabulib

    r = _budget(c, world["planner"], "ledger counts")
    for i, m in enumerate(world["a"]["members"]):
        c.ok(f"/rounds/{r['id']}/ballots", {"approve": ["p3" if i < 3 else "p11"]}, m["token"])
    sql(server, "UPDATE votes SET content = :c WHERE round_id = :r", c='{"approve":["p11"]}', r=r["id"])
    closed = c.ok(f"/rounds/{r['id']}/close", None, world["planner"], status=200)
    c.ok(f"/rounds/{r['id']}/publish", None, world["planner"], status=200)
    assert c.get(f"/rounds/{r['id']}/result").json()["funded"] == ["p3"], closed
    e = parse_pabulib(c.get(f"/rounds/{r['id']}/pabulib").text, "export")
    votes_for = {str(k): int(v) for k, v in zip(e.projects.index, __import__("numpy").bincount(e.choices, minlength=2))}
    assert votes_for == {"p3": 3, "p11": 1}
    report = c.get(f"/rounds/{r['id']}/ledger/verify").json()
    assert report["ok"] and report["replayed"] == 1, report


def test_an_altered_ballot_in_the_ledger_is_found_and_no_outcome_is_computed(live, world):
    server, c = live
    r = _budget(c, world["planner"], "altered ballot")
    for m in world["a"]["members"][:2]:
        c.ok(f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, m["token"])
    sql(server, "UPDATE ledger SET entry = REPLACE(entry, '\"p3\"', '\"p11\"') WHERE round_id = :r AND seq = 2",
        r=r["id"])
    assert c.get(f"/rounds/{r['id']}/ledger/verify").json()["ok"] is False
    _refused(c, r["id"], 409, f"/rounds/{r['id']}/close", None, world["planner"], contains="does not verify")
    assert c.get(f"/rounds/{r['id']}").json()["status"] == "open"


# -- defect 2: no delegate without ballots -----------------------------------------------------------


def test_an_election_without_ballots_seats_nobody_and_ends_no_mandate(live, world):
    server, c = live
    planner, co = world["planner"], _council(c, world["planner"], "council Q")
    before = [m for m in c.get(f"/mandates?council_id={co['id']}").json() if m["active"]]
    e = c.ok("/rounds", {"kind": "election", "title": "pre-emptive", "rule": "pav", "council_id": co["id"],
                         "candidates": [co["members"][3]["id"]]}, planner)
    # a second election cannot be opened to pre-empt the one under way
    _refused(c, None, 409, "/rounds", {"kind": "election", "title": "another", "rule": "pav", "council_id": co["id"],
                                       "candidates": [co["members"][2]["id"]]}, planner, contains="under way")
    c.ok(f"/rounds/{e['id']}/close", None, planner, status=200)
    c.ok(f"/rounds/{e['id']}/publish", None, planner, status=200)
    result = c.get(f"/rounds/{e['id']}/result").json()
    assert result["elected"] == [] and result["quorum_met"] is False and result["ballots"] == 0
    after = [m for m in c.get(f"/mandates?council_id={co['id']}").json() if m["active"]]
    assert after == before and len(after) == 1
    # the delegate elected by the members still acts
    assert c.post("/me/delegate-token", None, co["members"][0]["token"]).status_code == 201
    # below the quorum (1 ballot of 4, half needed) nobody is seated either
    e2 = c.ok("/rounds", {"kind": "election", "title": "thin", "rule": "pav", "council_id": co["id"],
                          "candidates": [co["members"][3]["id"]]}, planner)
    c.ok(f"/rounds/{e2['id']}/ballots", {"approve": [co["members"][3]["id"]]}, co["members"][3]["token"])
    c.ok(f"/rounds/{e2['id']}/close", None, planner, status=200)
    c.ok(f"/rounds/{e2['id']}/publish", None, planner, status=200)
    assert c.get(f"/rounds/{e2['id']}/result").json()["elected"] == []
    assert [m["id"] for m in c.get(f"/mandates?council_id={co['id']}").json() if m["active"]] == [before[0]["id"]]
    for rid in (e["id"], e2["id"]):
        report = c.get(f"/rounds/{rid}/ledger/verify").json()
        assert report["ok"] and report["replayed"] == 1, report


def test_recalled_delegate_is_refused(live, world):
    server, c = live
    planner, co = world["planner"], _council(c, world["planner"], "council R")
    mandate = next(m for m in c.get(f"/mandates?council_id={co['id']}").json() if m["active"])
    for m in co["members"][1:3]:
        out = c.ok(f"/mandates/{mandate['id']}/petition", None, m["token"])
    assert out["recalled"] is True
    plan = c.ok("/rounds", {"kind": "plan", "title": "after recall", "rule": "weighted-sum"}, planner)
    _refused(c, plan["id"], 401, f"/rounds/{plan['id']}/proposals",
             {"council_id": co["id"], "basket": {products()[0]: 1.0}}, co["delegate"], contains="revoked")
    report = c.get(f"/rounds/{mandate['round_id']}/ledger/verify").json()
    assert report["ok"] and report["replayed"] >= 2, report  # the election and the recall


# -- defect 3: published heads ----------------------------------------------------------------------


def _export(c: Client, rid: int, path) -> None:
    path.write_bytes(c.get(f"/rounds/{rid}/ledger").content)


def test_truncated_ledger_is_detected_and_not_appended_to(live, world, tmp_path, cli):
    server, c = live
    r = _budget(c, world["planner"], "cut short")
    for m in world["b"]["members"][:3]:
        c.ok(f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, m["token"])
    c.ok(f"/rounds/{r['id']}/close", None, world["planner"], status=200)
    head = c.get(f"/rounds/{r['id']}/head").json()
    key = c.get("/key").json()["public_key"]
    assert head["public_key"] == key and head["entries"] == _state(c, r["id"])[1]
    kept = tmp_path / "head.json"
    kept.write_text(json.dumps(head))
    _export(c, r["id"], tmp_path / "whole.jsonl")
    ok = cli(["ledger", "verify", str(tmp_path / "whole.jsonl"), "--head", str(kept), "--key", key])
    assert ok.exit_code == 0 and "1 published head(s) match" in ok.output, ok.output

    sql(server, "DELETE FROM ledger WHERE round_id = :r AND seq = (SELECT MAX(seq) FROM ledger WHERE round_id = :r)",
        r=r["id"])
    report = c.get(f"/rounds/{r['id']}/ledger/verify").json()
    assert report["ok"] is False, report
    entries = len(c.get(f"/rounds/{r['id']}/ledger").text.splitlines()) - 1
    _refused(c, None, 409, f"/rounds/{r['id']}/publish", None, world["planner"], contains="cut short")
    assert len(c.get(f"/rounds/{r['id']}/ledger").text.splitlines()) - 1 == entries  # nothing appended
    _export(c, r["id"], tmp_path / "short.jsonl")
    bad = cli(["ledger", "verify", str(tmp_path / "short.jsonl"), "--head", str(kept)])
    assert bad.exit_code == 1 and "truncated" in bad.output, bad.output
    bad = cli(["ledger", "verify", str(tmp_path / "short.jsonl"), "--head", f"{head['entries']}:{head['head']}"])
    assert bad.exit_code == 1 and "truncated" in bad.output, bad.output


def test_rewritten_tail_is_detected_as_a_fork(live, world, tmp_path, cli):
    """The intruder rewrites the last entry, rehashes it and updates the round's head_hash and
    the heads table: the member's kept head (signed) still shows the fork."""
    server, c = live
    from gosplan.democracy.ledger import canonical_json, make_entry

    r = _budget(c, world["planner"], "forked")
    c.ok(f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, world["b"]["members"][0]["token"])
    c.ok(f"/rounds/{r['id']}/close", None, world["planner"], status=200)
    kept = tmp_path / "head.json"
    kept.write_text(c.get(f"/rounds/{r['id']}/head").text)
    (seq, text), = sql(server, "SELECT seq, entry FROM ledger WHERE round_id = :r ORDER BY seq DESC LIMIT 1", r=r["id"])
    last = json.loads(text)
    payload = dict(last["payload"], result={**last["payload"]["result"], "funded": ["p11"]})
    forged = make_entry(last["prev_hash"], seq, last["kind"], last["actor"], payload, last["time"])
    forged_text = canonical_json(forged.to_dict()).decode()
    sql(server, "UPDATE ledger SET entry = :e, hash = :h WHERE round_id = :r AND seq = :s",
        e=forged_text, h=forged.hash, r=r["id"], s=seq)
    sql(server, "UPDATE rounds SET head_hash = :h WHERE id = :r", h=forged.hash, r=r["id"])
    # the server's own published heads catch it while they are there ...
    assert c.get(f"/rounds/{r['id']}/ledger/verify?replay=false").json()["ok"] is False
    sql(server, "DELETE FROM heads WHERE round_id = :r", r=r["id"])
    # ... and the member's kept head when the intruder removed them
    _export(c, r["id"], tmp_path / "forked.jsonl")
    bad = cli(["ledger", "verify", str(tmp_path / "forked.jsonl"), "--no-replay", "--head", str(kept)])
    assert bad.exit_code == 1 and "forked" in bad.output, bad.output
    # and the replay finds the outcome is not what the ballots give
    bad = cli(["ledger", "verify", str(tmp_path / "forked.jsonl")])
    assert bad.exit_code == 1 and "budget_outcome" in bad.output, bad.output


def test_a_signed_head_that_was_altered_is_refused(live, world, tmp_path, cli):
    _, c = live
    r = _budget(c, world["planner"], "altered head")
    head = c.get(f"/rounds/{r['id']}/head").json()
    head["entries"] = 1
    (tmp_path / "h.json").write_text(json.dumps(head))
    _export(c, r["id"], tmp_path / "l.jsonl")
    bad = cli(["ledger", "verify", str(tmp_path / "l.jsonl"), "--head", str(tmp_path / "h.json")])
    assert bad.exit_code != 0 and "signature does not verify" in bad.output + str(bad.exception), bad.output


# -- defect 4: cross-site request forgery ------------------------------------------------------------


@contextlib.contextmanager
def _login(server: Server, token: str):
    """A browser's session: logged in through the login form."""
    with httpx.Client(base_url=server.url) as page:
        assert page.post("/ui/login", data={"token": token}).status_code == 303
        yield page


def _form_nonce(page: httpx.Client, path: str, action: str) -> str:
    html = page.get(path).text
    m = re.search(r'action="' + re.escape(action) + r'"[^>]*><input type="hidden" name="nonce" value="([^"]+)"', html)
    assert m, f"no form for {action} on {path}"
    return m.group(1)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "null"])
def test_forms_refuse_other_origins(live, world, origin):
    server, c = live
    r = _budget(c, world["planner"], f"csrf {origin}")
    with _login(server, world["planner"]) as page:
        nonce = _form_nonce(page, f"/ui/rounds/{r['id']}", f"/ui/rounds/{r['id']}/close")
        before = _state(c, r["id"])
        forged = page.post(f"/ui/rounds/{r['id']}/close", data={"nonce": nonce}, headers={"Origin": origin})
        assert forged.status_code == 403 and "cross-origin" in forged.text
        forged = page.post(f"/ui/rounds/{r['id']}/close", data={"nonce": nonce},
                           headers={"Referer": origin + "/page"} if origin != "null" else {"Origin": "null"})
        assert forged.status_code == 403
        assert _state(c, r["id"]) == before and c.get(f"/rounds/{r['id']}").json()["status"] == "open"


def test_forms_refuse_a_nonce_not_issued_to_the_session(live, world):
    """A page on the same origin that makes its own form (a nonce it invented, or one issued to
    another session) is refused; the form the session was given works."""
    server, c = live
    r = _budget(c, world["planner"], "csrf nonce")
    with _login(server, world["planner"]) as page, _login(server, world["planner"]) as other:
        theirs = _form_nonce(other, f"/ui/rounds/{r['id']}", f"/ui/rounds/{r['id']}/close")
        for nonce in (uuid.uuid4().hex, theirs, ""):
            forged = page.post(f"/ui/rounds/{r['id']}/close", data={"nonce": nonce}, headers={"Origin": server.url})
            assert forged.status_code == 403 and "not issued to your session" in forged.text
        assert c.get(f"/rounds/{r['id']}").json()["status"] == "open"
        mine = _form_nonce(page, f"/ui/rounds/{r['id']}", f"/ui/rounds/{r['id']}/close")
        assert page.post(f"/ui/rounds/{r['id']}/close", data={"nonce": mine}, headers={"Origin": server.url}).status_code == 303
    assert c.get(f"/rounds/{r['id']}").json()["status"] == "closed"


def test_api_ignores_the_session_cookie(live, world):
    server, c = live
    r = _budget(c, world["planner"], "cookie api")
    with _login(server, world["planner"]) as page:
        resp = page.post(f"/rounds/{r['id']}/close", headers={"Idempotency-Key": uuid.uuid4().hex})
        assert resp.status_code == 401
    assert c.get(f"/rounds/{r['id']}").json()["status"] == "open"


# -- defect 5: tokens can be revoked --------------------------------------------------------------------


def test_logout_revokes_the_session(live, world):
    server, c = live
    r = _budget(c, world["planner"], "logout")
    with _login(server, world["planner"]) as page:
        session = page.cookies["gosplan_token"]
        assert session != world["planner"]  # the cookie is a session, never the planner's token
        nonce = _form_nonce(page, "/ui", "/ui/logout")
        assert page.post("/ui/logout", data={"nonce": nonce}).status_code == 303
    with httpx.Client(base_url=server.url, cookies={"gosplan_token": session}) as stolen:
        resp = stolen.post(f"/ui/rounds/{r['id']}/close", data={"nonce": "x"})
        assert resp.status_code in (401, 403)
        assert c.get("/me", token=session).json()["role"] is None
    assert c.get(f"/rounds/{r['id']}").json()["status"] == "open"


def test_tokens_are_revoked_by_their_holder_and_by_the_administrator(live, world):
    _, c = live
    mine = c.ok("/planners", {"label": "short-lived planner"}, ADMIN)["token"]
    assert c.get("/me", token=mine).json()["role"] == "planner"
    c.ok("/me/revoke", None, mine, status=200)
    _refused(c, None, 401, "/rounds", {"kind": "plan", "title": "x", "rule": "weighted-sum"}, mine, contains="revoked")
    other = c.ok("/planners", {"label": "another planner"}, ADMIN)["token"]
    tid = c.get("/me", token=other).json()
    registry = c.get("/health").json()["registry_round"]
    token_id = next(json.loads(line)["payload"]["token"] for line in c.get(f"/rounds/{registry}/ledger").text.splitlines()[1:]
                    if json.loads(line)["kind"] == "token_issued" and json.loads(line)["payload"]["label"] == "another planner")
    _refused(c, None, 403, f"/tokens/{token_id}/revoke", None, world["planner"], contains="administrator")
    c.ok(f"/tokens/{token_id}/revoke", None, ADMIN, status=200)
    assert tid["role"] == "planner" and c.get("/me", token=other).json()["role"] is None


def test_token_guessing_is_rate_limited(tmp_path):
    server = Server(str(tmp_path / "guess.sqlite"), tmp_path / "server.log", env={"GOSPLAN_AUTH_FAILURES": "5"}).start()
    c = Client(server.url)
    try:
        for _ in range(5):
            assert c.get("/me", token=uuid.uuid4().hex).status_code == 200  # unknown: no role
        guess = c.post("/planners", {"label": "x"}, token=uuid.uuid4().hex)
        assert guess.status_code == 429 and "too many failed tokens" in guess.text
        # while the address is blocked even a right token is not looked at
        assert c.post("/planners", {"label": "x"}, token=ADMIN).status_code == 429
        login = httpx.post(server.url + "/ui/login", data={"token": ADMIN})
        assert login.status_code == 429
    finally:
        c.close()
        server.stop()


def test_tokens_are_long_and_hashed_at_rest(live, world):
    server, c = live
    tok = world["a"]["members"][0]["token"]
    assert len(tok) >= 43  # 32 random bytes, url-safe base64
    stored = [row[0] for row in sql(server, "SELECT token_hash FROM tokens")]
    assert tok not in stored and all(len(h) == 64 for h in stored)


# -- defect 6: numbers JSON cannot carry, ids no database can --------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_numbers_are_refused_and_the_connection_lives(live, world, number):
    server, c = live
    plan = c.ok("/rounds", {"kind": "plan", "title": f"numbers {number}", "rule": "weighted-sum"}, world["planner"])
    body = '{"council_id": %d, "basket": {"%s": %s}}' % (world["a"]["id"], products()[0], number)
    before = _state(c, plan["id"])
    with httpx.Client(base_url=server.url) as http:
        r = http.post(f"/rounds/{plan['id']}/proposals", content=body,
                      headers={"Authorization": f"Bearer {world['a']['delegate']}", "Content-Type": "application/json",
                               "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 422, r.text
        assert r.json()["detail"]
        assert http.get("/health").status_code == 200  # the same connection answers the next request
    assert _state(c, plan["id"]) == before


@pytest.mark.parametrize("path", ["/rounds/9223372036854775808", "/rounds/9223372036854775807", "/rounds/2147483648",
                                  "/rounds/-1", "/councils/99999999999999999999/members", "/mandates?council_id=9223372036854775808",
                                  "/rounds/1%20OR%201=1", "/rounds/1;DROP%20TABLE%20votes"])
def test_huge_or_malformed_ids_are_refused(live, path):
    _, c = live
    r = c.get(path)
    assert r.status_code == 422, (path, r.status_code, r.text)


def test_huge_ids_in_bodies_are_refused(live, world):
    _, c = live
    plan = c.ok("/rounds", {"kind": "plan", "title": "ids", "rule": "approval"}, world["planner"])
    for body in ({"council_id": 2**63, "approve": [1]}, {"council_id": world["a"]["id"], "approve": [2**63]}):
        _refused(c, plan["id"], 422, f"/rounds/{plan['id']}/votes", body, world["a"]["delegate"])
    _refused(c, None, 422, "/rounds", {"kind": "election", "title": "x", "rule": "pav", "council_id": 2**40}, world["planner"])


# -- defect 7: quantities the solver cannot take ------------------------------------------------------


@pytest.mark.parametrize("q", [1.7e308, 1e13, -1.0])
def test_huge_or_negative_quantities_are_refused(live, world, q):
    _, c = live
    plan = c.ok("/rounds", {"kind": "plan", "title": f"quantity {q}", "rule": "weighted-sum"}, world["planner"])
    _refused(c, plan["id"], 422, f"/rounds/{plan['id']}/proposals",
             {"council_id": world["a"]["id"], "basket": {products()[0]: q}}, world["a"]["delegate"])


def test_a_plan_round_always_finishes(live, world):
    """Proposals at the largest quantity allowed: the plan is computed (or recorded as failed) and
    the round can be published either way."""
    _, c = live
    planner = world["planner"]
    plan = c.ok("/rounds", {"kind": "plan", "title": "big", "rule": "weighted-sum"}, planner)
    c.ok(f"/rounds/{plan['id']}/proposals", {"council_id": world["a"]["id"], "basket": {products()[0]: 1e12}},
         world["a"]["delegate"])
    c.ok(f"/rounds/{plan['id']}/close", None, planner, status=200)
    c.ok(f"/rounds/{plan['id']}/compute", None, planner, status=200)
    c.ok(f"/rounds/{plan['id']}/publish", None, planner, status=200)
    assert c.get(f"/rounds/{plan['id']}/result").json()["plan"]["status"]


# -- roles and councils ------------------------------------------------------------------------------


def test_member_of_one_council_cannot_vote_in_anothers_election(live, world):
    _, c = live
    co = _council(c, world["planner"], "council E", seat=False)
    e = c.ok("/rounds", {"kind": "election", "title": "E's delegates", "rule": "pav", "council_id": co["id"],
                         "candidates": [co["members"][0]["id"]]}, world["planner"])
    _refused(c, e["id"], 403, f"/rounds/{e['id']}/ballots", {"approve": [co["members"][0]["id"]]},
             world["a"]["members"][0]["token"], contains="belongs to council")
    _refused(c, e["id"], 403, f"/rounds/{e['id']}/candidates", None, world["a"]["members"][0]["token"])


def test_delegate_cannot_act_for_another_council(live, world):
    _, c = live
    plan = c.ok("/rounds", {"kind": "plan", "title": "cross council", "rule": "weighted-sum"}, world["planner"])
    _refused(c, plan["id"], 403, f"/rounds/{plan['id']}/proposals",
             {"council_id": world["b"]["id"], "basket": {products()[0]: 1.0}}, world["a"]["delegate"],
             contains="acts for council")


@pytest.mark.parametrize("role", ["member", "delegate", "none", "garbage"])
def test_only_a_planner_opens_and_closes_rounds(live, world, role):
    _, c = live
    token = {"member": world["a"]["members"][1]["token"], "delegate": world["a"]["delegate"], "none": None,
             "garbage": "' OR 1=1 --"}[role]
    status = 401 if role in ("none", "garbage") else 403
    _refused(c, None, status, "/rounds", {"kind": "plan", "title": "usurped", "rule": "weighted-sum"}, token)
    r = _budget(c, world["planner"], f"not yours {role}")
    _refused(c, r["id"], status, f"/rounds/{r['id']}/close", None, token)


def test_votes_after_close_and_replays_are_refused(live, world):
    _, c = live
    r = _budget(c, world["planner"], "late")
    key = uuid.uuid4().hex
    c.ok(f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, world["a"]["members"][0]["token"], key=key)
    _refused(c, r["id"], 409, f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, world["a"]["members"][0]["token"],
             key=key, contains="replayed")
    _refused(c, r["id"], 409, f"/rounds/{r['id']}/ballots", {"approve": ["p11"]}, world["a"]["members"][0]["token"],
             contains="one vote each")
    c.ok(f"/rounds/{r['id']}/close", None, world["planner"], status=200)
    _refused(c, r["id"], 409, f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, world["a"]["members"][1]["token"],
             contains="closed")


@pytest.mark.parametrize("body", [{"approve": ["p99"]}, {"approve": ["p3", "p3"]}, {"approve": []},
                                  {"points": {"p3": 1}}, {"approve": ["x" * 101]}, {"approve": ["p3"], "evil": 1}])
def test_malformed_ballots_are_refused(live, world, body):
    _, c = live
    r = _budget(c, world["planner"], f"bad ballot {uuid.uuid4().hex[:6]}")
    _refused(c, r["id"], 422, f"/rounds/{r['id']}/ballots", body, world["a"]["members"][2]["token"])


def test_bodies_over_the_limit_and_deep_json_are_refused(live, world):
    _, c = live
    plan = c.ok("/rounds", {"kind": "plan", "title": "big bodies", "rule": "weighted-sum"}, world["planner"])
    before = _state(c, plan["id"])
    headers = {"Authorization": f"Bearer {world['a']['delegate']}", "Content-Type": "application/json",
               "Idempotency-Key": uuid.uuid4().hex}
    big = c.http.post(f"/rounds/{plan['id']}/proposals", content=b" " * (MAX_BODY + 1), headers=headers)
    assert big.status_code == 413
    deep = "[" * 5000 + "]" * 5000
    r = c.http.post(f"/rounds/{plan['id']}/proposals", content=deep, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert 400 <= r.status_code < 500
    assert _state(c, plan["id"]) == before


# -- injection -------------------------------------------------------------------------------------------

EVIL = ["'; DROP TABLE votes; --", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}"]


def test_sql_and_markup_in_every_name_are_stored_verbatim_and_escaped(live, world):
    server, c = live
    planner = world["planner"]
    ids = []
    for i, evil in enumerate(EVIL):
        co = c.ok("/councils", {"name": f"{evil} {i}"}, ADMIN)
        c.ok(f"/councils/{co['id']}/members", {"name": evil}, ADMIN)
        r = c.ok("/rounds", {"kind": "budget", "title": evil, "rule": "greedy", "budget": 10.0,
                             "projects": [{"key": evil[:100], "name": evil, "cost": 4.0, "district": evil, "category": evil}]},
                 planner)
        ids.append(r["id"])
        assert c.get(f"/rounds/{r['id']}").json()["title"] == evil
        assert any(x["name"] == f"{evil} {i}" for x in c.get("/councils").json())
    assert sql(server, "SELECT COUNT(*) FROM votes")[0][0] >= 0  # the tables are all there
    pages = [c.get("/ui").text] + [c.get(f"/ui/rounds/{rid}").text for rid in ids]
    for html in pages:
        assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "{{ 7*7 }}" in "".join(pages)  # shown as typed, never evaluated as a template
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0] + "".join(pages[1:])


def test_pages_carry_security_headers(live):
    _, c = live
    r = c.get("/ui")
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no script at all
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert c.get("/rounds").headers["x-content-type-options"] == "nosniff"


def test_public_verify_replays_once_per_head_and_still_finds_a_rewrite(tmp_path, monkeypatch):
    """``GET /rounds/{id}/ledger/verify`` is public and its replay may solve a plan: asking again
    for the same head must not recompute, but a row rewritten behind the service's back is
    still found (the chain is hashed on every call)."""
    from sqlalchemy import select, update

    from gosplan.server import _domain
    from gosplan.server.db import LedgerRow, Store
    from gosplan.server.demo import seed_plan_round
    from gosplan.server.services import Service

    url = str(tmp_path / "verify.sqlite")
    seed_plan_round(url, 2, proposals=1)
    store = Store(url, durable=False)
    try:
        svc = Service(store)
        replays = []
        real = _domain.ledger_verify
        monkeypatch.setattr(_domain, "ledger_verify",
                            lambda texts, replay=False, **kw: replays.append(replay) or real(texts, replay=replay, **kw))
        election = next(r["id"] for r in svc.rounds() if r["kind"] == "election" and r["status"] == "published")
        first = svc.verify(election)
        assert first["ok"] and first["replayed"], first
        for _ in range(5):
            assert svc.verify(election) == first
        assert replays.count(True) == 1  # one replay for six requests of the same head
        with store.write() as s:  # an intruder rewrites a ballot in the stored entry
            row = s.scalars(select(LedgerRow).where(LedgerRow.round_id == election).order_by(LedgerRow.seq)).all()[2]
            s.execute(update(LedgerRow).where(LedgerRow.id == row.id).values(entry=row.entry.replace('"approve":[', '"approve":[0,')))
        tampered = svc.verify(election)
        assert not tampered["ok"] and tampered["index"] == 2, tampered
        assert replays.count(True) == 1
    finally:
        store.dispose()



@pytest.mark.parametrize("backend", backends())
def test_heads_mirror_outlives_a_rewritten_database(backend, tmp_path, cli):
    """An intruder who cuts a ledger short and erases its traces from the rounds and heads tables
    passes every check the database alone allows; the append-only mirror of heads still shows
    the truncation, and the server refuses to start over the database its mirror contradicts."""
    from gosplan.server.heads import canonical_json

    mirror = tmp_path / "heads.jsonl"
    server = Server(fresh_database(backend, tmp_path), tmp_path / "server.log",
                    env={"GOSPLAN_HEADS_MIRROR": str(mirror)}).start()
    c = Client(server.url)
    try:
        planner = c.ok("/planners", {"label": "mirror"}, ADMIN)["token"]
        co = _council(c, planner, "mirror council")
        r = _budget(c, planner, "mirrored")
        for m in co["members"][:3]:
            c.ok(f"/rounds/{r['id']}/ballots", {"approve": ["p3"]}, m["token"])
        c.ok(f"/rounds/{r['id']}/close", None, planner, status=200)
        published = [canonical_json(h).decode() for rnd in c.get("/rounds").json()
                     for h in c.get(f"/rounds/{rnd['id']}/heads").json()]
        assert len(published) >= 3 and sorted(mirror.read_text().splitlines()) == sorted(published)

        _export(c, r["id"], tmp_path / "whole.jsonl")
        ok = cli(["ledger", "verify", str(tmp_path / "whole.jsonl"), "--head", str(mirror)])
        assert ok.exit_code == 0 and "published head(s) match" in ok.output, ok.output
        last = json.loads((tmp_path / "whole.jsonl").read_text().splitlines()[-1])
        sql(server, "DELETE FROM ledger WHERE round_id = :r AND seq = :s", r=r["id"], s=last["seq"])
        sql(server, "UPDATE rounds SET seq = :s, head_hash = :h WHERE id = :r", r=r["id"], s=last["seq"] - 1,
            h=last["prev_hash"])
        sql(server, "DELETE FROM heads WHERE round_id = :r AND entries > :n", r=r["id"], n=last["seq"])
        assert c.get(f"/rounds/{r['id']}/ledger/verify?replay=false").json()["ok"]  # the database agrees with itself
        _export(c, r["id"], tmp_path / "short.jsonl")
        bad = cli(["ledger", "verify", str(tmp_path / "short.jsonl"), "--head", str(mirror)])
        assert bad.exit_code == 1 and "truncated" in bad.output, bad.output
    finally:
        c.close()
        server.stop()
    try:
        with pytest.raises(RuntimeError, match="not in the database's heads table"):
            server.start()
    finally:
        server.stop()
