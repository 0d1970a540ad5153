"""The pages in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``).

A planner opens an election and a plan round through the pages; members vote, the elected
member takes up the delegate mandate, submits the council's proposal and vote through the
forms, the planner closes, computes and publishes, and the delegate sees the published plan
with its charts. Then a member votes in a budget round and sees the funded projects and
their charts. Every step goes through the server's HTML forms; no page runs a script.
"""

from __future__ import annotations

import shutil
import tempfile

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

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1600"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    server = Server(fresh_database("sqlite", tmp), tmp / "server.log").start()
    client = Client(server.url)
    yield server, client
    client.close()
    server.stop()


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
    def __init__(self, driver, base: str):
        self.d, self.base = driver, base

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


def test_delegate_proposes_votes_and_sees_published_plan(live, browser):
    server, c = live
    council = c.ok("/councils", {"name": "textile workers", "kind": "workers", "weight": 2.0}, ADMIN)
    ana = c.ok(f"/councils/{council['id']}/members", {"name": "Ana"}, ADMIN)
    bo = c.ok(f"/councils/{council['id']}/members", {"name": "Bo"}, ADMIN)
    planner = c.ok("/planners", {"label": "planner"}, ADMIN)["token"]
    p = Pages(browser, server.url)

    # the planner opens the council's election through the planner page
    p.login(planner)
    p.click("planner-link", then="open-plan")
    form = browser.find_element(By.ID, "open-election")
    form.find_element(By.NAME, "title").send_keys("delegate of the textile workers")
    form.find_element(By.NAME, "candidates").send_keys(f"{ana['id']} {bo['id']}")
    form.find_element(By.TAG_NAME, "button").click()
    p.wait_for("status")
    election = p.round_id()
    assert p.text("status") == "open"

    # both members approve Ana
    for m in (ana, bo):
        p.login(m["token"])
        p.go(f"/ui/rounds/{election}")
        p.click(f"approve-{ana['id']}")
        p.click("submit-ballot", then="status")
    assert c.get(f"/rounds/{election}").json()["votes"] == 2

    p.login(planner)
    p.go(f"/ui/rounds/{election}")
    p.click("close", then="status")
    p.click("publish", then="status")
    assert "Ana" in p.text("elected")

    # Ana takes up the mandate: the page hands her a delegate token and switches her session to it
    p.login(ana["token"])
    p.click("become-delegate", then="delegate-token")
    delegate_token = p.text("delegate-token")
    assert c.get("/me", delegate_token).json()["role"] == "delegate"

    # the planner opens a plan round (approval among the councils' proposals)
    p.login(planner)
    p.click("planner-link", then="open-plan")
    p.d.find_element(By.ID, "plan-title").send_keys("plan 2027")
    from selenium.webdriver.support.ui import Select

    Select(p.d.find_element(By.ID, "plan-rule")).select_by_visible_text("approval")
    p.click("open-plan-button", then="status")
    plan_round = p.round_id()

    # the delegate submits the council's proposal and vote through the forms
    g, s = products()[:2]
    p.login(delegate_token)
    p.go(f"/ui/rounds/{plan_round}")
    p.d.find_element(By.ID, f"basket-{g}").send_keys("120")
    p.d.find_element(By.ID, f"basket-{s}").send_keys("30")
    p.click("submit-proposal", then="status")
    proposal = c.get(f"/rounds/{plan_round}").json()["proposals"][0]
    assert proposal["basket"] == {g: 120, s: 30}
    p.click(f"approve-{proposal['id']}")
    p.click("submit-vote", then="status")
    assert c.get(f"/rounds/{plan_round}/votes").json()[0]["approve"] == [proposal["id"]]

    p.login(planner)
    p.go(f"/ui/rounds/{plan_round}")
    p.click("close", then="status")
    p.click("compute", then="status")
    p.click("publish", then="status")

    # the delegate sees the published plan and its charts
    p.login(delegate_token)
    p.go(f"/ui/rounds/{plan_round}")
    assert p.text("status") == "published"
    assert p.d.find_element(By.ID, "published").text == "Published plan"
    rows = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")
            for r in p.d.find_elements(By.CSS_SELECTOR, "#plan-table tr")[1:]}
    assert float(rows[g][2].text) == 120 and float(rows[g][3].text) >= 120
    assert p.text("plan-status") == "optimal"
    assert len(p.d.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 2


def test_member_votes_in_budget_round(live, browser):
    server, c = live
    council = c.ok("/councils", {"name": "district 4", "kind": "consumers"}, ADMIN)
    cleo = c.ok(f"/councils/{council['id']}/members", {"name": "Cleo"}, ADMIN)
    planner = c.ok("/planners", {"label": "planner 2"}, ADMIN)["token"]
    p = Pages(browser, server.url)
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
    p.click("submit-ballot", then="status")
    assert c.get(f"/rounds/{budget_round}/votes").json()[0]["approve"] == ["school", "trees"]

    p.login(planner)
    p.go(f"/ui/rounds/{budget_round}")
    p.click("close", then="status")
    p.click("publish", then="status")

    p.login(cleo["token"])
    p.go(f"/ui/rounds/{budget_round}")
    assert set(p.text("funded").split(", ")) == {"school", "trees"}
    figures = p.d.find_elements(By.CSS_SELECTOR, "figure.chart")
    assert [f.find_element(By.TAG_NAME, "figcaption").text for f in figures] == [
        "Projects: cost against votes", "Satisfaction of voters"]


def test_members_recall_their_delegate(live, browser):
    """Two of three members sign the recall petition through the pages (threshold 0.5):
    the mandate ends, the delegate's token stops working and a by-election opens."""
    server, c = live
    council = c.ok("/councils", {"name": "dockers", "kind": "workers", "recall_threshold": 0.5}, ADMIN)
    ms = [c.ok(f"/councils/{council['id']}/members", {"name": n}, ADMIN) for n in ("Dan", "Eva", "Fay")]
    planner = c.ok("/planners", {"label": "planner 3"}, ADMIN)["token"]
    from _server_harness import seat_delegates

    token = seat_delegates(c, planner, council["id"], ms)[0]
    mandate = next(m for m in c.get(f"/mandates?council_id={council['id']}").json() if m["active"])
    p = Pages(browser, server.url)
    for m in ms[1:]:
        p.login(m["token"])
        p.go(f"/ui/rounds/{mandate['round_id']}")
        p.click(f"recall-{mandate['id']}", then="status")
    assert c.get("/me", token).json()["role"] is None
    p.go(f"/ui/rounds/{mandate['round_id']}")
    assert "recalled" in p.d.find_element(By.ID, "mandates").text
    rounds = c.get("/rounds").json()
    new = [r for r in rounds if r["kind"] == "election" and r["council_id"] == council["id"] and r["status"] == "open"]
    assert len(new) == 1 and new[0]["params"]["replaces"] == mandate["id"]
