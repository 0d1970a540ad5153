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
