"""The pages through an in-process client: the proposal form, its cost, and the pages people read.

Each test logs in through ``/ui/login`` as a browser would (session cookie, form nonces) and
reads the HTML the service renders; the browser journeys are in ``test_server_browser.py``.
"""

from __future__ import annotations

import html as html_text
import re
import uuid

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402

from gosplan.democracy import costing  # noqa: E402

from _server_harness import Server, fresh_database  # noqa: E402


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from gosplan.server.demo import seed_plan_round

    tmp = tmp_path_factory.mktemp("pages")
    url = fresh_database("sqlite", tmp)
    seeded = seed_plan_round(url, 3, rule="approval", proposals=0)
    server = Server(url, tmp / "server.log").start()
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client, seeded
    server.stop()


def _login(client, token: str) -> None:
    client.cookies.clear()
    r = client.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _nonce(html: str, form_id: str) -> str:
    form = html[html.index(f'id="{form_id}"'):]
    return re.search(r'name="nonce" value="([^"]+)"', form).group(1)


def _fields(html: str, form_id: str) -> dict:
    """The named inputs of a form with their values (what a browser would post unchanged)."""
    form = html[html.index(f'id="{form_id}"'):html.index("</form>", html.index(f'id="{form_id}"'))]
    out = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            out[name.group(1)] = value.group(1) if value else ""
    return out


def test_the_form_groups_products_with_names_units_and_base_amounts(service):
    client, seeded = service
    _login(client, seeded["delegates"][0])
    html = client.get(f"/ui/rounds/{seeded['round']}").text
    cat = costing.catalogue("usa_2014")
    for g in cat.groups:
        assert g in html
    assert "Manufacture of food products, beverages and tobacco products" in html
    assert "USD million" in html and "base year" in html
    # the base year's hours, before anything is typed
    assert "your proposal needs 262.6 billion hours worked by employees; the base year used 262.6 billion" in html
    assert 'src="/static/proposal.js"' in html and 'id="costing-data"' in html
    assert "of council 0" in client.get("/ui").text  # the header names the council


def test_work_out_the_cost_without_javascript(service):
    """+5 % on every section and the page, posted with action=cost, shows 5 % more labour."""
    client, seeded = service
    _login(client, seeded["delegates"][0])
    html = client.get(f"/ui/rounds/{seeded['round']}").text
    data = _fields(html, "proposal-form")
    data.update({k: "+5" for k in data if k.startswith("gchange:")}, action="cost")
    page = client.post(f"/ui/rounds/{seeded['round']}/proposal", data=data)
    assert page.status_code == 200
    assert "your proposal needs 275.7 billion hours worked by employees; the base year used 262.6 billion" in page.text
    assert "(105.0 %)" in page.text
    assert client.get(f"/rounds/{seeded['round']}").json()["proposals"] == []  # costing stores nothing


def test_a_proposal_by_sections_is_stored_as_amounts_per_product(service):
    client, seeded = service
    _login(client, seeded["delegates"][1])
    html = client.get(f"/ui/rounds/{seeded['round']}").text
    data = _fields(html, "proposal-form")
    cat = costing.catalogue("usa_2014")
    manufacturing = cat.groups.index("C Manufacturing")
    data.update({k: "" for k in data if k.startswith("gchange:")})
    data.update({f"gchange:{manufacturing}": "5", "basket:C26": "1000", f"gpriority:{manufacturing}": "2",
                 "comment": "more tools, computers at cost", "action": "submit"})
    r = client.post(f"/ui/rounds/{seeded['round']}/proposal", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    stored = next(p for p in client.get(f"/rounds/{seeded['round']}").json()["proposals"]
                  if p["council_id"] == seeded["councils"][1])
    members = cat.products.index[cat.products["group"] == "C Manufacturing"]
    assert set(stored["basket"]) == set(members)
    assert stored["basket"]["C26"] == 1000
    assert stored["basket"]["C20"] == pytest.approx(cat.products.loc["C20", "base"] * 1.05, abs=1e-6)
    assert set(stored["priorities"]) == set(members) and stored["priorities"]["C20"] == 2
    assert stored["comment"] == "more tools, computers at cost"
    # the round page says the proposal is in, shows its cost and the council by name; no form again
    page = client.get(f"/ui/rounds/{seeded['round']}").text
    assert 'id="proposal-done"' in page and 'id="proposal-form"' not in page
    assert "council 1" in page and "more tools, computers at cost" in page and "44 products at 2" not in page
    assert "19 products at 2" in page


def test_a_bad_number_keeps_what_was_typed_and_names_the_field(service):
    client, seeded = service
    _login(client, seeded["delegates"][2])
    html = client.get(f"/ui/rounds/{seeded['round']}").text
    data = _fields(html, "proposal-form")
    data.update({"basket:A01": "lots", "change:A02": "7", "action": "submit"})
    r = client.post(f"/ui/rounds/{seeded['round']}/proposal", data=data)
    assert r.status_code == 422
    text = html_text.unescape(r.text)
    assert "amount of Crop and animal production" in text and "'lots' is not a number" in text
    assert 'value="lots"' in r.text and 'value="7"' in r.text  # nothing typed is lost


def test_the_api_takes_the_same_shapes(service):
    """Changes per group and per product through the API give what the form gives."""
    client, seeded = service
    headers = {"Authorization": f"Bearer {seeded['delegates'][2]}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"council_id": seeded["councils"][2], "groups": {"A Agriculture, forestry and fishing": 10},
            "changes": {"A02": -50}, "group_priorities": {"A Agriculture, forestry and fishing": 4}}
    bad = client.post(f"/rounds/{seeded['round']}/proposals", json={**body, "groups": {"Z": 1}}, headers=headers)
    assert bad.status_code == 422 and "unknown group 'Z'" in bad.text
    headers["Idempotency-Key"] = uuid.uuid4().hex
    r = client.post(f"/rounds/{seeded['round']}/proposals", json=body, headers=headers)
    assert r.status_code == 201, r.text
    base = costing.catalogue("usa_2014").products["base"]
    assert r.json()["basket"] == {"A01": pytest.approx(base["A01"] * 1.1, abs=1e-6),
                                  "A02": pytest.approx(base["A02"] * 0.5, abs=1e-6),
                                  "A03": pytest.approx(base["A03"] * 1.1, abs=1e-6)}
    assert r.json()["priorities"] == {"A01": 4, "A02": 4, "A03": 4}
    products = client.get("/economies/usa_2014/products").json()
    assert products["groups"][0] == "A Agriculture, forestry and fishing"
    assert products["factors"][0]["id"] == "hours" and len(products["factors"][0]["per_unit"]) == 56
    assert client.get("/economies/atlantis/products").status_code == 404


def _api(client, path: str, token: str, body=None, status: int = 200) -> dict:
    r = client.post(path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == status, r.text
    return r.json()


def test_the_published_plan_reads_with_names_units_sections_and_a_report(service):
    """After the proposals above: a vote, close, compute, publish; the round's page, its report and its ledger."""
    client, seeded = service
    rid = seeded["round"]
    props = client.get(f"/rounds/{rid}").json()["proposals"]
    assert len(props) == 2
    chosen = props[0]["id"]
    _api(client, f"/rounds/{rid}/votes", seeded["delegates"][0], {"council_id": seeded["councils"][0], "approve": [chosen]},
         201)
    # the voter's page confirms the vote and offers no form again
    _login(client, seeded["delegates"][0])
    page = client.get(f"/ui/rounds/{rid}").text
    assert 'id="vote-done"' in page and 'id="vote-form"' not in page
    for act in ("close", "compute", "publish"):
        _api(client, f"/rounds/{rid}/{act}", seeded["planner"])
    page = html_text.unescape(client.get(f"/ui/rounds/{rid}").text)
    assert "Published plan" in page and f"proposal {chosen} of council 1 was chosen" in page and "No tie." in page
    assert "C Manufacturing" in page and "Manufacture of computer, electronic and optical products" in page
    assert re.search(r'<tr data-product="C26"><td>[^<]+</td><td><code>C26</code></td><td class="unit">USD million</td>'
                     r'<td class="num target">1,000.0</td>', page)
    assert "What each council asked for and what the plan delivers, by section" in page
    assert page.count('<svg role="img" aria-label=') >= 3
    # the report of the result, self-contained
    report = client.get(f"/ui/rounds/{rid}/report.html")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    text = html_text.unescape(report.text)
    assert "Manufacture of computer, electronic and optical products" in text and "USD million" in text
    assert "<svg" in text and "http://" not in text.split("<svg")[0].replace("http://www.w3.org", "")
    # the ledger as a page, the file beside it
    ledger = html_text.unescape(client.get(f"/ui/rounds/{rid}/ledger").text)
    assert "plan computed" in ledger and "result published" in ledger and f'href="/rounds/{rid}/ledger"' in ledger


def test_a_report_before_publication_and_bad_addresses_are_pages(service):
    client, seeded = service
    for path, status, words in (("/ui/rounds/999999", 404, "round 999999 does not exist"),
                                ("/ui/rounds/abc", 422, "round_id"),
                                ("/ui/no-such-page", 404, "no such page"),
                                ("/ui/rounds/999999/report.html", 404, "does not exist")):
        r = client.get(path)
        assert r.status_code == status, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert 'id="error"' in r.text and words in r.text, (path, r.text[-600:])
    assert client.get("/rounds/999999").headers["content-type"] == "application/json"  # the API stays JSON


def test_docs_load_swagger_from_the_package(service):
    client, _ = service
    page = client.get("/docs").text
    assert "/static/swagger-ui-bundle.js" in page and "/static/swagger-ui.css" in page
    assert "cdn.jsdelivr" not in page and "https://" not in page
    assert client.get("/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/swagger-ui.css").status_code == 200


def test_the_planner_form_offers_economies_and_objectives(service):
    client, seeded = service
    _login(client, seeded["planner"])
    page = client.get("/ui/planner").text
    assert 'name="economy"' in page and 'value="uk_2010"' in page and 'value="factor:hours"' in page
    assert 'name="objective"' in page
    r = client.post("/ui/rounds", data={"nonce": _nonce(page, "open-plan"), "kind": "plan", "title": "plan of the UK",
                                        "economy": "uk_2010", "objective": "factor:compensation", "rule": "weighted-median"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    assert client.get(f"/rounds/{rid}").json()["params"] == {"economy": "uk_2010", "objective": "factor:compensation"}


def test_the_administrator_registers_renames_and_retires_from_pages(service):
    from _server_harness import ADMIN

    client, _ = service
    _login(client, ADMIN)
    page = client.get("/ui/admin").text
    r = client.post("/ui/admin/councils", data={"nonce": _nonce(page, "new-council"), "name": "potters", "kind": "workers",
                                                "weight": "2", "recall_threshold": "60", "seats": "1"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    council = next(c for c in client.get("/councils").json() if c["name"] == "potters")
    assert council["weight"] == 2 and council["recall_threshold"] == 0.6
    page = client.get("/ui/admin").text
    r = client.post(f"/ui/admin/councils/{council['id']}/members",
                    data={"nonce": _nonce(page, f"new-member-{council['id']}"), "name": "Jo"})
    token = re.search(r'<pre id="issued-token">([^<]+)</pre>', r.text).group(1)
    member = client.get(f"/councils/{council['id']}/members").json()[0]
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["member_id"] == member["id"]
    page = client.get("/ui/admin").text
    form = page[page.index(f'action="/ui/admin/members/{member["id"]}/retire"'):]
    nonce = re.search(r'name="nonce" value="([^"]+)"', form).group(1)
    assert client.post(f"/ui/admin/members/{member['id']}/retire", data={"nonce": nonce},
                       follow_redirects=False).status_code == 303
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["role"] is None
    assert "retired" in client.get("/ui/admin").text
    # only the administrator sees the page
    client.cookies.clear()
    r = client.get("/ui/admin")
    assert r.status_code == 401 and 'id="error"' in r.text
