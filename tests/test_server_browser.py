"""The pages in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``).

The journeys of issue 19: the administrator registers a council and its members from the pages;
a planner opens the council's election, the members elect a delegate, the planner opens a plan
round with its economy and objective; the delegate reads the round, proposes +5 % on every
section and watches the labour cost update while typing, submits and votes; the planner closes,
computes and publishes, and the delegate reads the published plan with names and units. Then a
member votes in a budget round, and members recall their delegate. Every page is checked for
accessibility (a label on every input, images and charts named, headings in order) and saved as
a screenshot (``$GOSPLAN_SCREENSHOTS``, else the test run's temporary folder). The browser
resolves no host but the test server's, so ``/docs`` is shown to render with the network cut.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

pytest.importorskip("selenium")
pytest.importorskip("fastapi")
if not (shutil.which("chromedriver") and shutil.which("chromium")):
    pytest.skip("the browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service as ChromeService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from _server_harness import ADMIN, Client, Server, fresh_database, products  # noqa: E402

# every host name but the test server's fails to resolve: no page may need the network
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1600",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]

#: The accessibility check run on every page (axe-core is not available offline): every
#: form field has a label, images have alt text, charts are named images, headings start at
#: one h1 and never skip a level, buttons have text, tables have headers, ids are unique.
ACCESSIBILITY = """
const problems = [];
document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')
  .forEach(el => { if (!((el.labels && el.labels.length) || el.getAttribute('aria-label')
                         || el.getAttribute('aria-labelledby'))) problems.push('no label: ' + (el.name || el.id)); });
document.querySelectorAll('img').forEach(el => { if (!el.hasAttribute('alt')) problems.push('img without alt: ' + el.src); });
document.querySelectorAll('svg').forEach(el => {
  if (!el.closest('svg[role=img][aria-label]') && el.getAttribute('aria-hidden') !== 'true')
    problems.push('svg without role=img and aria-label'); });
const hs = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1]);
if (hs.filter(h => h === 1).length !== 1 || hs[0] !== 1) problems.push('not one h1 first: ' + hs.join(','));
for (let i = 1; i < hs.length; i++) if (hs[i] > hs[i - 1] + 1) problems.push('heading skips from h' + hs[i - 1] + ' to h' + hs[i]);
document.querySelectorAll('button').forEach(b => { if (!b.textContent.trim() && !b.getAttribute('aria-label'))
  problems.push('button without text'); });
document.querySelectorAll('table').forEach(t => { if (!t.querySelector('th')) problems.push('table without headers: ' + t.id); });
if (!document.documentElement.lang) problems.push('no lang on html');
const ids = {};
document.querySelectorAll('[id]').forEach(e => { ids[e.id] = (ids[e.id] || 0) + 1; });
for (const k in ids) if (ids[k] > 1) problems.push('duplicate id ' + k);
return problems;
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    server = Server(fresh_database("sqlite", tmp), tmp / "server.log").start()
    client = Client(server.url)
    yield server, client
    client.close()
    server.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go: ``$GOSPLAN_SCREENSHOTS``, else the run's temporary folder."""
    folder = Path(os.environ.get("GOSPLAN_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="gosplan-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=ChromeService(executable_path=shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Pages:
    def __init__(self, driver, base: str, shots: Path | None = None):
        self.d, self.base, self.shots = driver, base, shots

    def go(self, path: str) -> None:
        self.d.get(self.base + path)

    def login(self, token: str) -> None:
        self.go("/ui/login")
        self.d.delete_all_cookies()
        self.d.find_element(By.ID, "token").send_keys(token)
        # wait for the page after the login, not a "whoami" still shown by the one before it
        self.click("login", then="whoami")

    def wait_for(self, element_id: str):
        """Wait until the page has loaded completely and shows ``element_id`` (or a refusal)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.d, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        wait = WebDriverWait(self.d, 30)
        return wait.until(
            ec.any_of(ec.presence_of_element_located((By.ID, element_id)), ec.presence_of_element_located((By.ID, "error"))))

    def click(self, element_id: str, then: str | None = None) -> None:
        """Click; if a page follows, wait for the element ``then`` on it (a refusal page fails the test)."""
        # a new document has a new time origin: that tells a loaded next page from the old one
        # without touching the old page's nodes (which Chromium refuses once they are gone)
        origin = self.d.execute_script("return performance.timeOrigin")
        self.d.find_element(By.ID, element_id).click()
        if then is not None:
            from selenium.common.exceptions import WebDriverException
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(self.d, 30, ignored_exceptions=(WebDriverException,)).until(
                lambda d: d.execute_script("return performance.timeOrigin") != origin)
            self.wait_for(then)
            errors = self.d.find_elements(By.ID, "error")
            assert not errors, errors[0].text

    def text(self, element_id: str) -> str:
        return self.d.find_element(By.ID, element_id).text

    def round_id(self) -> int:
        return int(self.d.current_url.rstrip("/").rsplit("/", 1)[1])

    def check(self, name: str) -> None:
        """The page passes the accessibility check; its screenshot is saved as ``name``.png."""
        problems = self.d.execute_script(ACCESSIBILITY)
        assert problems == [], f"{name} ({self.d.current_url}): {problems}"
        self.shot(name)

    def shot(self, name: str) -> None:
        if self.shots is None:
            return
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(1280, min(max(int(height), 800), 6000))
        self.d.save_screenshot(str(self.shots / f"{name}.png"))
        self.d.set_window_size(1280, 1600)


def _issued_token(p: Pages) -> str:
    return p.text("issued-token").strip()


def _administrator_registers(p: Pages, c: Client) -> tuple[dict, dict]:
    """The administrator's journey: a council, two members and a planner registered from the pages."""
    p.login(ADMIN)
    p.click("admin-link", then="new-council")
    p.check("1-admin-empty")
    p.d.find_element(By.ID, "council-name").send_keys("textile workers")
    p.d.find_element(By.ID, "council-weight").clear()
    p.d.find_element(By.ID, "council-weight").send_keys("2")
    p.click("create-council", then="new-council")
    council = next(x for x in c.get("/councils").json() if x["name"] == "textile workers")
    assert council["weight"] == 2
    tokens = {}
    for name in ("Ana", "Bo"):
        p.d.find_element(By.ID, f"member-name-{council['id']}").send_keys(name)
        p.click(f"add-member-{council['id']}", then="issued-token")
        tokens[name] = p.text("issued-token").strip()
    p.check("2-admin-member-token")
    p.d.find_element(By.ID, "planner-label").send_keys("state planning committee")
    p.click("create-planner", then="issued-token")
    tokens["planner"] = p.text("issued-token").strip()
    p.check("3-admin-planner-token")
    for name in ("Ana", "Bo"):
        assert c.get("/me", tokens[name]).json()["label"] == name
    assert c.get("/me", tokens["planner"]).json()["role"] == "planner"
    members = {m["name"]: m for m in c.get(f"/councils/{council['id']}/members").json()}
    return council, {name: {"token": tokens[name], "id": members[name]["id"]} for name in ("Ana", "Bo")} | {
        "planner": tokens["planner"]}


def test_a_council_plans_from_the_pages(live, browser, shots):
    """The administrator's, the planner's and the member's journeys, every step through the pages."""
    server, c = live
    p = Pages(browser, server.url, shots)
    council, people = _administrator_registers(p, c)
    ana, bo, planner = people["Ana"], people["Bo"], people["planner"]

    # the planner opens the council's election through the planner page
    p.login(planner)
    p.click("planner-link", then="open-plan")
    p.check("4-planner-forms")
    form = browser.find_element(By.ID, "open-election")
    form.find_element(By.NAME, "title").send_keys("delegate of the textile workers")
    form.find_element(By.NAME, "candidates").send_keys(f"{ana['id']} {bo['id']}")
    p.click("open-election-button", then="status")
    election = p.round_id()
    assert p.text("status") == "open"

    # both members approve Ana; each ballot is confirmed and its form goes away
    for m in (ana, bo):
        p.login(m["token"])
        p.go(f"/ui/rounds/{election}")
        p.click(f"approve-{ana['id']}")
        p.click("submit-ballot", then="ballot-done")
        assert not p.d.find_elements(By.ID, "ballot-form")
    p.check("5-member-ballot-cast")
    assert c.get(f"/rounds/{election}").json()["votes"] == 2

    p.login(planner)
    p.go(f"/ui/rounds/{election}")
    p.click("close", then="status")
    p.click("publish", then="status")
    assert "Ana" in p.text("elected")

    # Ana takes up the mandate: the page hands her a delegate token and switches her session to it
    p.login(ana["token"])
    assert "of textile workers" in p.text("whoami")
    p.click("become-delegate", then="delegate-token")
    delegate_token = p.text("delegate-token")
    assert c.get("/me", delegate_token).json()["role"] == "delegate"

    # the planner opens a plan round with its economy, objective and rule
    p.login(planner)
    p.click("planner-link", then="open-plan")
    from selenium.webdriver.support.ui import Select

    p.d.find_element(By.ID, "plan-title").send_keys("plan 2027")
    Select(p.d.find_element(By.ID, "plan-economy")).select_by_value("usa_2014")
    Select(p.d.find_element(By.ID, "plan-objective")).select_by_value("factor:hours")
    Select(p.d.find_element(By.ID, "plan-rule")).select_by_value("approval")
    p.click("open-plan-button", then="status")
    plan_round = p.round_id()
    assert c.get(f"/rounds/{plan_round}").json()["params"] == {"economy": "usa_2014", "objective": "factor:hours"}

    # the delegate reads the round: products by section with names, units, base-year amounts and the labour cost
    p.login(delegate_token)
    p.go(f"/ui/rounds/{plan_round}")
    p.wait_for("proposal-form")
    cost = p.d.find_element(By.ID, "cost-hours")
    assert "needs 262.6 billion hours worked by employees; the base year used 262.6 billion" in cost.text
    p.check("6-delegate-round")
    # +5 % on every section, typed: the script updates the cost while she types
    groups = p.d.find_elements(By.CSS_SELECTOR, "input.gchange")
    assert len(groups) == 20
    for g in groups:
        g.clear()
        g.send_keys("+5")
    assert "needs 275.7 billion hours worked by employees" in cost.text and "(105.0 %)" in cost.text
    summary = p.d.find_element(By.CSS_SELECTOR, "#group-2 summary")  # open manufacturing's products
    p.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    p.d.find_element(By.ID, "comment").send_keys("five per cent more of everything")
    p.shot("7-delegate-typed-plus-5")
    # the server works out the same cost without the script
    p.click("work-out-cost", then="cost-hours")
    assert "needs 275.7 billion hours worked by employees" in p.text("cost-hours")
    assert p.d.find_element(By.ID, "gchange-0").get_attribute("value") == "+5"
    p.click("submit-proposal", then="proposal-done")
    proposal = c.get(f"/rounds/{plan_round}").json()["proposals"][0]
    assert len(proposal["basket"]) == 56 and proposal["comment"] == "five per cent more of everything"
    g = products()[0]
    from gosplan.democracy import costing

    assert proposal["basket"][g] == pytest.approx(costing.catalogue("usa_2014").products.loc[g, "base"] * 1.05, abs=1e-6)
    p.click(f"approve-{proposal['id']}")
    p.click("submit-vote", then="vote-done")
    p.check("8-delegate-proposed-and-voted")
    assert c.get(f"/rounds/{plan_round}/votes").json()[0]["approve"] == [proposal["id"]]

    p.login(planner)
    p.go(f"/ui/rounds/{plan_round}")
    p.click("close", then="status")
    p.click("compute", then="status")
    p.click("publish", then="status")

    # the delegate reads the published plan: names, units, sections, the chart, the report
    p.login(delegate_token)
    p.go(f"/ui/rounds/{plan_round}")
    assert p.text("status") == "published"
    assert p.d.find_element(By.ID, "published").text == "Published plan"
    assert "textile workers was chosen" in p.text("how-decided")
    row = p.d.find_element(By.CSS_SELECTOR, f'#plan-table tr[data-product="{g}"]')
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0].startswith("Crop and animal production") and cells[2] == "USD million"
    assert float(cells[3].replace(",", "")) == pytest.approx(proposal["basket"][g], abs=0.05)
    assert p.text("plan-status") == "optimal"
    captions = [f.text for f in p.d.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")]
    assert captions[0] == "What each council asked for and what the plan delivers, by section"
    p.check("9-published-plan")
    p.click("report-link", then="key-figures")  # the report, a page of its own
    assert "Crop and animal production" in p.d.page_source
    p.shot("10-plan-report")
    p.go(f"/ui/rounds/{plan_round}")
    p.click("ledger-link", then="ledger")
    assert "plan computed" in p.text("ledger")
    p.check("11-ledger")


def test_docs_render_with_the_network_cut(live, browser, shots):
    """Swagger UI comes from the package: with no host resolvable but the server's, /docs shows the API."""
    from selenium.webdriver.support.ui import WebDriverWait

    server, _ = live
    p = Pages(browser, server.url, shots)
    p.go("/docs")
    WebDriverWait(p.d, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))
    assert "gosplan democracy service" in p.d.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    assert len(p.d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) > 20
    p.shot("12-docs-offline")


def test_member_votes_in_budget_round(live, browser, shots):
    server, c = live
    council = c.ok("/councils", {"name": "district 4", "kind": "consumers"}, ADMIN)
    cleo = c.ok(f"/councils/{council['id']}/members", {"name": "Cleo"}, ADMIN)
    planner = c.ok("/planners", {"label": "planner 2"}, ADMIN)["token"]
    p = Pages(browser, server.url, shots)
    p.login(planner)
    p.click("planner-link", then="open-plan")
    form = p.d.find_element(By.ID, "open-budget")
    form.find_element(By.NAME, "title").send_keys("district investment")
    form.find_element(By.NAME, "budget").send_keys("1000")
    form.find_element(By.NAME, "projects").send_keys("school; New school; 700; east\nbaths; Public baths; 400; west\n"
                                                     "trees; Street trees; 200; east")
    form.find_element(By.TAG_NAME, "button").click()
    p.wait_for("status")
    budget_round = p.round_id()

    p.login(cleo["token"])
    p.go(f"/ui/rounds/{budget_round}")
    p.click("approve-school")
    p.click("approve-trees")
    p.click("submit-ballot", then="ballot-done")
    assert not p.d.find_elements(By.ID, "ballot-form")
    p.check("13-budget-ballot-cast")
    assert c.get(f"/rounds/{budget_round}/votes").json()[0]["approve"] == ["school", "trees"]

    p.login(planner)
    p.go(f"/ui/rounds/{budget_round}")
    p.click("close", then="status")
    p.click("publish", then="status")

    p.login(cleo["token"])
    p.go(f"/ui/rounds/{budget_round}")
    assert set(p.text("funded").split(", ")) == {"New school", "Street trees"}
    p.check("14-budget-outcome")
    figures = p.d.find_elements(By.CSS_SELECTOR, "figure.chart")
    assert [f.find_element(By.TAG_NAME, "figcaption").text for f in figures] == [
        "Projects: cost against votes", "Satisfaction of voters"]


def test_members_recall_their_delegate(live, browser, shots):
    """Two of three members sign the recall petition through the pages (threshold 0.5):
    the mandate ends, the delegate's token stops working and a by-election opens."""
    server, c = live
    council = c.ok("/councils", {"name": "dockers", "kind": "workers", "recall_threshold": 0.5}, ADMIN)
    ms = [c.ok(f"/councils/{council['id']}/members", {"name": n}, ADMIN) for n in ("Dan", "Eva", "Fay")]
    planner = c.ok("/planners", {"label": "planner 3"}, ADMIN)["token"]
    from _server_harness import seat_delegates

    token = seat_delegates(c, planner, council["id"], ms)[0]
    mandate = next(m for m in c.get(f"/mandates?council_id={council['id']}").json() if m["active"])
    p = Pages(browser, server.url, shots)
    # the delegate is not offered to petition her own recall
    p.login(ms[0]["token"])
    p.go(f"/ui/rounds/{mandate['round_id']}")
    p.wait_for("mandates")
    assert not p.d.find_elements(By.ID, f"recall-{mandate['id']}")
    for m in ms[1:]:
        p.login(m["token"])
        p.go(f"/ui/rounds/{mandate['round_id']}")
        p.click(f"recall-{mandate['id']}", then="status")
    assert c.get("/me", token).json()["role"] is None
    p.go(f"/ui/rounds/{mandate['round_id']}")
    assert "recalled" in p.d.find_element(By.ID, "mandates").text
    p.check("15-recalled")
    # the pages everyone starts from, and a refusal, pass the same check
    p.go("/ui")
    p.check("16-index")
    p.go("/ui/login")
    p.check("17-login")
    p.go("/ui/rounds/999999")
    p.check("18-error-page")
    assert "does not exist" in p.text("error")
    rounds = c.get("/rounds").json()
    new = [r for r in rounds if r["kind"] == "election" and r["council_id"] == council["id"] and r["status"] == "open"]
    assert len(new) == 1 and new[0]["params"]["replaces"] == mandate["id"]
