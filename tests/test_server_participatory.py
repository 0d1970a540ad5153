"""Participatory rounds in the service, driven over HTTP, against the trace of pequod's dep1ex01.

Reference: the councils and the round-by-round trace of pequod-cljs experiment dep1ex01 (the
shipped datasets ``dep1ex01`` and ``dep1ex01_trace``; Hahnel, *Democratic Economic Planning*,
Routledge 2021, ch. 9). The service's councils answer each iteration's indicative prices with the
proposals their worker and consumer councils make (computed here, by the councils, with the
library), and the board's prices must be the trace's, iteration by iteration, within a relative
1e-9 (the tolerance of tests/test_participatory.py). Also: plan rounds amended and reopened over
HTTP after a failed compute.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from gosplan.democracy.ledger import canonical_hash, read_export  # noqa: E402
from gosplan.democracy.participatory import load_pequod_councils, read_pequod_trace  # noqa: E402
from gosplan.democracy.rounds import REPLAYS  # noqa: E402
from gosplan.server.demo import seed_plan_round  # noqa: E402

from _server_harness import Client, Server  # noqa: E402

RTOL = 1e-9
COUNCILS = 6  # 500 worker and 500 consumer councils each: a proposal of about 0.5 MB, under the 1 MiB body limit


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A live server (``gosplan serve``) over councils with elected delegates, seeded in-process."""
    tmp = tmp_path_factory.mktemp("participatory")
    url = str(tmp / "p.sqlite")
    seed = seed_plan_round(url, COUNCILS, proposals=0)
    server = Server(url, tmp / "server.log").start()
    client = Client(server.url)
    yield client, seed
    client.close()
    server.stop()


@pytest.fixture(scope="module")
def economy():
    return load_pequod_councils("dep1ex01")


def post(client, path, body, token, status=(200, 201)):
    r = client.post(path, body, token)
    assert r.status_code in status, (path, r.status_code, r.text[:500])
    return r.json()


def answers(economy, state) -> dict[str, dict]:
    """Each service council's proposal at the round's current prices, as its councils compute it."""
    prices = pd.Series(state["prices"])
    workers, consumers = economy.proposals(prices)
    inputs = economy.worker_inputs(prices)
    output = dict(zip(workers.index, workers["output"].to_numpy().tolist()))
    asks: dict[str, dict] = {}
    for w, g, q in zip(inputs["worker_council"], inputs["good"], inputs["quantity"].to_numpy().tolist()):
        asks.setdefault(w, {})[g] = q
    goods = [str(g) for g in consumers.columns]
    baskets = dict(zip(consumers.index, consumers.to_numpy().tolist()))
    return {c: {"council_id": int(c), "iteration": state["iteration"],
                "workers": {w: {"output": output[w], "inputs": asks[w]} for w in share["workers"]},
                "consumers": {k: dict(zip(goods, baskets[k])) for k in share["consumers"]}}
            for c, share in state["params"]["councils"].items()}


def open_round(client, seed, **extra) -> dict:
    body = {"title": "dep1ex01, year one", "councils": seed["councils"], **extra}
    return post(client, "/participatory", body, seed["planner"], status=(201,))


@pytest.mark.slow
def test_councils_over_http_reproduce_the_trace_of_year_one(service, economy, tmp_path):
    """dep1ex01 year one: 19 iterations, every announced price, supply and demand within 1e-9 of
    the trace; the ledger verifies, recomputing all 19 price updates from the recorded proposals."""
    client, seed = service
    delegate = dict(zip(seed["councils"], seed["delegates"]))
    rid = open_round(client, seed)["id"]
    state = client.get(f"/participatory/{rid}").json()
    assert state["iteration"] == 1 and set(state["prices"].values()) == {700.0}
    while state["status"] == "open":
        for c, body in answers(economy, state).items():
            post(client, f"/participatory/{rid}/proposals", body, delegate[int(c)], status=(201,))
        state = client.get(f"/participatory/{rid}").json()
    trace = read_pequod_trace("dep1ex01_trace")[0]
    its = state["iterations"]
    assert len(its) == 19 == len(trace["prices"])
    for key in ("prices", "supply", "demand"):
        ours = pd.DataFrame([u[key] for u in its], index=trace[key].index)[trace[key].columns]
        rel = np.abs(ours.to_numpy() / trace[key].to_numpy() - 1)
        assert rel.max() < RTOL, (key, rel.max())
    assert state["status"] == "closed" and state["outcome"]["converged"] and state["outcome"]["iterations"] == 19
    assert its[-1]["max_imbalance"] <= 0.03 < its[-2]["max_imbalance"]
    # no answer after the close
    post(client, f"/participatory/{rid}/proposals", answers(economy, {**state, "iteration": 20})[str(seed["councils"][0])],
         delegate[seed["councils"][0]], status=(409,))
    post(client, f"/rounds/{rid}/publish", None, seed["planner"], status=(200,))
    report = client.get(f"/rounds/{rid}/ledger/verify").json()
    assert report["ok"] and report["replayed"] == 19, report
    # the export, checked by `gosplan ledger verify` (which replays every outcome by default)
    export = client.get(f"/rounds/{rid}/ledger").content
    path = tmp_path / "participatory.jsonl"
    path.write_bytes(export)
    from typer.testing import CliRunner

    from gosplan.cli import app

    checked = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["ledger", "verify", str(path)])
    assert checked.exit_code == 0 and "19 replayed" in checked.output, checked.output
    # the round's record page links to its iterations
    record = client.http.get(f"/ui/rounds/{rid}")
    assert record.status_code == 200 and f"/ui/board/participatory/{rid}" in record.text
    page = client.get(f"/ui/board/participatory/{rid}")
    assert page.status_code == 200 and "<svg" in page.text and "The proposals balance" in page.text
    # the replay recomputes each update from the proposals before it: the recorded one, not a forged one
    _, entries = read_export(export)
    at = max(i for i, e in enumerate(entries) if e.kind == "prices_updated")
    recorded = entries[at].payload["result"]
    assert REPLAYS["prices_updated"](entries[at], entries[:at]) == recorded
    forged = {**recorded, "prices": {**recorded["prices"], "labour-1": recorded["prices"]["labour-1"] * (1 + 1e-6)}}
    assert canonical_hash(REPLAYS["prices_updated"](entries[at], entries[:at])) != canonical_hash(forged)

def test_answers_are_checked_and_an_iteration_can_be_closed_without_every_council(service, economy):
    """Refusals name the council and the good; the planner closes an iteration a council has not
    answered (its last proposal counts); at the iteration limit the round closes unbalanced; the
    ledger replays it all; a delegate answers from the page."""
    client, seed = service
    delegate = dict(zip(seed["councils"], seed["delegates"]))
    first, last = seed["councils"][0], seed["councils"][-1]
    rid = open_round(client, seed, max_iterations=3, title="three iterations")["id"]
    url = f"/participatory/{rid}/proposals"
    state = client.get(f"/participatory/{rid}").json()
    refused = post(client, f"/participatory/{rid}/update", None, seed["planner"], status=(409,))
    assert "no council has answered iteration 1" in refused["detail"]
    body = answers(economy, state)
    mine = body[str(first)]
    w0 = next(iter(mine["workers"]))
    refusals = [
        ({**mine, "iteration": 2}, delegate[first], 409, "is at iteration 1"),
        (mine, delegate[last], 403, f"acts for council {last}, not for council {first}"),
        ({**mine, "workers": {k: v for k, v in mine["workers"].items() if k != w0}}, delegate[first], 422,
         f"{w0!r} of council {first} gave no proposal"),
        ({**mine, "workers": {**mine["workers"], w0: {"output": 1.0, "inputs": {"private-1": 2.0}}}}, delegate[first], 422,
         f"'private-1' is not an input of {w0!r}'s technique"),
        ({**mine, "consumers": {**mine["consumers"], "cc-99999": {"private-1": 1.0}}}, delegate[first], 422,
         "'cc-99999' is not one of council"),
        ({**mine, "workers": {**mine["workers"], w0: {**mine["workers"][w0], "good": "public-9"}}}, delegate[first], 422,
         f"{w0!r} makes "),
        ({**mine, "consumers": {k: {**v, "labour-1": 1.0} for k, v in mine["consumers"].items()}}, delegate[first], 422,
         "asks for 'labour-1', which no consumer council's preferences name"),
    ]
    for data, token, status, text in refusals:
        r = client.post(url, data, token)
        assert r.status_code == status and text in r.json()["detail"], (status, r.text[:300])
    for c, b in body.items():
        post(client, url, b, delegate[int(c)], status=(201,))
    post(client, url, body[str(first)], delegate[first], status=(409,))  # iteration 1 is over
    state = client.get(f"/participatory/{rid}").json()
    assert state["iteration"] == 2
    trace = read_pequod_trace("dep1ex01_trace")[0]["prices"].iloc[0]  # every council answered: the trace's first prices
    assert max(abs(state["prices"][g] / trace[g] - 1) for g in trace.index) < RTOL
    # iteration 2: the first council answers from its page (its councils' modelled proposal); the last does not answer
    page = client.http.post("/ui/login", data={"token": delegate[first]}, follow_redirects=False)
    assert page.status_code == 303
    html = client.http.get(f"/ui/board/participatory/{rid}").text
    nonce = re.search(r'id="answer-form">\s*<input type="hidden" name="nonce" value="([^"]+)"', html).group(1)
    done = client.http.post(f"/ui/board/participatory/{rid}/answer", data={"nonce": nonce, "council_id": str(first), "proposal": ""},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    client.http.cookies.clear()
    body = answers(economy, state)
    assert client.get(f"/participatory/{rid}").json()["answered"] == [first]
    for c, b in body.items():
        if int(c) not in (first, last):
            post(client, url, b, delegate[int(c)], status=(201,))
    post(client, f"/participatory/{rid}/update", None, seed["planner"], status=(200,))
    post(client, f"/participatory/{rid}/update", None, seed["planner"], status=(409,))  # not twice on the same answers
    # iteration 3: the first council pastes its proposal as JSON on its page; nobody else answers
    state = client.get(f"/participatory/{rid}").json()
    pasted = json.dumps({k: v for k, v in answers(economy, state)[str(first)].items() if k != "council_id"})
    assert client.http.post("/ui/login", data={"token": delegate[first]}, follow_redirects=False).status_code == 303
    html = client.http.get(f"/ui/board/participatory/{rid}").text
    nonce = re.search(r'id="answer-form">\s*<input type="hidden" name="nonce" value="([^"]+)"', html).group(1)
    done = client.http.post(f"/ui/board/participatory/{rid}/answer", data={"nonce": nonce, "proposal": pasted},
                            follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    client.http.cookies.clear()
    post(client, f"/participatory/{rid}/update", None, seed["planner"], status=(200,))
    state = client.get(f"/participatory/{rid}").json()
    assert state["status"] == "closed" and not state["outcome"]["converged"] and state["outcome"]["iterations"] == 3
    assert state["iterations"][1]["answered"][str(last)] == 1  # carried from iteration 1
    assert state["iterations"][2]["answered"][str(first)] == 3 and set(state["iterations"][2]["answered"].values()) == {1, 2, 3}
    report = client.get(f"/rounds/{rid}/ledger/verify").json()
    assert report["ok"] and report["replayed"] == 3, report


def test_a_participatory_round_needs_known_councils_and_a_known_rule(service):
    client, seed = service
    for extra, text in (({"councils": [999]}, "council 999 does not exist"), ({"rule": "market"}, "rule 'market'"),
                        ({"source": "uk_2010"}, "not a shipped pequod experiment")):
        body = {"title": "bad", "councils": seed["councils"], **extra}
        r = client.post("/participatory", body, seed["planner"])
        assert r.status_code == 422 and text in r.json()["detail"], r.text[:300]


def test_a_failed_plan_round_is_amended_and_computed_again_over_http(service):
    """A plan round on uk_2010 with objective labour is refused at the opening, naming the factors;
    one whose plan is unbounded shows its error on its page, is amended there and computed again."""
    client, seed = service
    planner = seed["planner"]
    r = client.post("/rounds", {"kind": "plan", "title": "x", "rule": "weighted-mean", "economy": "uk_2010",
                                "objective": "labour"}, planner)
    assert r.status_code == 422 and "its factors are: imports, taxes_on_products" in r.json()["detail"]
    rid = post(client, "/rounds", {"kind": "plan", "title": "value", "rule": "weighted-mean", "objective": "value"},
               planner)["id"]
    product = client.get(f"/rounds/{rid}").json()["products"][0]
    post(client, f"/rounds/{rid}/proposals", {"council_id": seed["councils"][0], "basket": {product: 5.0}},
         seed["delegates"][0])
    post(client, f"/rounds/{rid}/close", None, planner)
    assert post(client, f"/rounds/{rid}/compute", None, planner)["error"] == "the solver ended with status 'unbounded'"
    assert client.http.post("/ui/login", data={"token": planner}, follow_redirects=False).status_code == 303
    html = client.http.get(f"/ui/rounds/{rid}").text
    assert 'id="compute-error"' in html and "unbounded" in html
    nonce = re.search(r'id="amend-form"><input type="hidden" name="nonce" value="([^"]+)"', html).group(1)
    done = client.http.post(f"/ui/board/rounds/{rid}/amend", data={"nonce": nonce, "economy": "usa_2014", "objective": "factor:hours"},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    client.http.cookies.clear()
    assert post(client, f"/rounds/{rid}/compute", None, planner)["error"] is None
    post(client, f"/rounds/{rid}/reopen", None, planner, status=(409,))  # a computed plan is not undone
    assert client.get(f"/rounds/{rid}/ledger/verify").json()["replayed"] == 2


def test_the_planner_opens_a_participatory_round_from_a_page(service):
    client, seed = service
    assert client.http.post("/ui/login", data={"token": seed["planner"]}, follow_redirects=False).status_code == 303
    try:
        html = client.http.get("/ui/board/participatory").text
        nonce = re.search(r'id="open-participatory">\s*<input type="hidden" name="nonce" value="([^"]+)"', html).group(1)
        assert all(f'id="council-{c}"' in html for c in seed["councils"])
        form = {"nonce": nonce, "title": "from the page", "rule": "pequod", "initial_price": "500", "threshold_percent": "5",
                "max_iterations": "10", "council": [str(c) for c in seed["councils"]]}
        done = client.http.post("/ui/board/participatory", data=form, follow_redirects=False)
        assert done.status_code == 303, done.text[:300]
        page = client.http.get(done.headers["location"]).text
        assert "from the page" in page and 'id="iteration">1<' in page and 'id="update-prices"' in page
        rid = int(done.headers["location"].rsplit("/", 1)[1])
        state = client.get(f"/participatory/{rid}").json()
        assert set(state["prices"].values()) == {500.0} and state["params"]["threshold"] == 0.05
        # what a council answers for: its worker councils' techniques and its consumer councils' preferences
        mine = client.get(f"/participatory/{rid}/councils/{seed['councils'][1]}").json()
        assert list(mine["workers"]) == state["params"]["councils"][str(seed["councils"][1])]["workers"]
        economy = load_pequod_councils("dep1ex01")
        w = economy.worker_ids.get_loc("wc-501")
        assert mine["workers"]["wc-501"]["scale"] == economy.scale[w]
        assert sum(mine["workers"]["wc-501"]["input_exponents"].values()) == pytest.approx(
            economy.input_exponent[economy.input_owner == w].sum(), rel=1e-15)
        assert mine["consumers"]["cc-501"]["income"] == economy.income[500]
        assert client.get(f"/participatory/{rid}/councils/999").status_code == 404
        # a form without councils is refused on a page that says why
        html = client.http.get("/ui/board/participatory").text
        nonce = re.search(r'id="open-participatory">\s*<input type="hidden" name="nonce" value="([^"]+)"', html).group(1)
        refused = client.http.post("/ui/board/participatory", data={"nonce": nonce, "title": "none"}, follow_redirects=False)
        assert refused.status_code == 422 and "tick the councils" in refused.text
    finally:
        client.http.cookies.clear()
