"""Tests of gosplan.report: every kind of report rendered from the shipped data, checked
for its content (units, names, charts), for well-formed self-contained HTML, and opened
offline in headless Chromium (screenshots kept under the test run's base temp folder,
or GOSPLAN_REPORT_SCREENS)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("jinja2")

DATA = Path(__file__).resolve().parents[1] / "data"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Well-formed HTML: every element closed in order, ids unique, nothing fetched."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.tags: dict[str, int] = {}
        self.doctype = False

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if "id" in a:
            if a["id"] in self.ids:
                self.errors.append(f"duplicate id {a['id']!r}")
            self.ids.add(a["id"])
        for k in ("src", "href"):
            if k not in a:
                continue
            v = a[k] or ""
            if k == "src" or tag == "link":
                self.errors.append(f"<{tag} {k}={v!r}>: a self-contained report loads nothing")
            elif v and not v.startswith("#"):
                self.errors.append(f"<{tag} {k}={v!r}>: only links within the report")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1  # <path/> in SVG

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def check_html(text: str) -> _Checker:
    c = _Checker()
    c.feed(text)
    c.close()
    assert c.doctype, "no <!DOCTYPE html>"
    assert not c.errors, c.errors[:5]
    assert not c.stack, f"unclosed {c.stack}"
    assert c.tags.get("html") == 1 and c.tags.get("body") == 1 and c.tags.get("title") == 1
    assert "script" not in c.tags and "iframe" not in c.tags
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace("http://www.w3.org/1999/xlink", "").replace(
        "http://purl.org/dc", "").replace("http://creativecommons.org", "").replace("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "")
    return c


# -- the reports --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every kind of report, rendered from the shipped data, as {kind: (Report, path)}."""
    from gosplan import analysis, report
    from gosplan.cli.analysis import analyze_table
    from gosplan.democracy.budgeting import allocate
    from gosplan.democracy.pabulib import read_pabulib
    from gosplan.examples import ussr_1923 as ussr
    from gosplan.planning import Targets, optimal_plan
    from gosplan.sources import read_economy

    out = tmp_path_factory.mktemp("reports")
    made = {}
    uk = read_economy("uk_2010")
    plan = optimal_plan(uk, Targets.final_demand(uk, scale=1.0), "factor:compensation", limits={"imports": 400_000})
    made["plan"] = report.plan_report(plan, uk)
    demo = ussr.run(out / "demo")
    setup = demo.setup
    made["comparison"] = ussr.html_report(demo.comparison, setup, demo.report)
    made["multiyear"] = report.multiyear_report(demo.comparison.plans["industrialisation"], setup.economy)
    w = read_economy("wiod_2011_7regions")
    table, used = analyze_table(w)
    made["analysis"] = report.analysis_report(w, table, footprints=analysis.footprints(w), method=used)
    e = read_pabulib(DATA / "pabulib" / "Poland_Swiecie_2023.pb")
    made["budget"] = report.budget_report(e, allocate(e, "equal-shares"))
    return {k: (r, r.write(out / f"{k}.html")) for k, r in made.items()}, demo


def test_every_report_is_wellformed_and_self_contained(reports):
    made, _ = reports
    for kind, (rep, path) in made.items():
        text = path.read_text(encoding="utf-8")
        c = check_html(text)
        # every chart of the report is in the file, inline
        assert c.tags.get("svg", 0) == len(rep.figures) >= 1, kind
        assert text.count("<figcaption>") == len(rep.figures)
        assert "<style>" in text and "Manifest" in text or kind in ("analysis", "budget")


def test_plan_report_names_units_and_limits(reports):
    made, _ = reports
    rep, path = made["plan"]
    text = path.read_text(encoding="utf-8")
    for want in ("Targets met", "Where the plan binds", "What the plan&#39;s valuations say", "Factors: use and limits",
                 "Idle capacity", "Manifest", "GBP million", "GBP million of compensation per GBP million",
                 "Owner-Occupiers&#39; Housing Services (68-2IMP)", "imports", "400,000", "74.61 %"):
        assert want in text, want
    assert "Showing 30 of 127 rows." in text  # tables summarised, not every row
    assert rep.manifest["economy"]["economy"] in text  # the manifest's hashes


def test_comparison_report_is_the_demo_explained(reports):
    made, demo = reports
    rep, path = made["comparison"]
    text = path.read_text(encoding="utf-8")
    # sector names, not codes, in the chart and the tables; units; the status of the inputs
    for want in ("heavy industry (group A)", "light industry (group B)", "agriculture", "million pre-war roubles",
                 "Scissors index (1913 = 1)", "parity with 1913", "ILLUSTRATIVE MODEL", "illustrative",
                 "Why investment does not stop in the last year", "end-of-horizon", "21 illustrative",
                 "Prices and the scissors", "Capital stocks by year", "model_new_technique_capital_multiplier"):
        assert want in text, want
    assert ">ind_a<" not in text and ">output_ind_a<" not in text  # codes only inside parameter names
    counts = rep.status_counts
    assert counts == {"sourced": 1, "derived": 13, "illustrative": 21}
    # the household consumption of the key figures is the report's own total
    assert "43,199" in text and f"{demo.comparison.summary(['agr', 'ind_b']).loc['baseline', 'consumption']:,.0f}" == "43,199"
    assert (demo.out_dir / "report.html").stat().st_size > 0


def test_multiyear_analysis_and_budget_reports(reports):
    made, _ = reports
    text = made["multiyear"][1].read_text(encoding="utf-8")
    assert "Output by year" in text and "Investment by year" in text and "scenario</th>" not in text
    text = made["analysis"][1].read_text(encoding="utf-8")
    for want in ("Output multipliers and linkages", "backward linkage", "Footprints by region", "produced in",
                 "Electrical and Optical Equipment (China/c14)", "USD million", "NAFTA"):
        assert want in text, want
    text = made["budget"][1].read_text(encoding="utf-8")
    for want in ("Funded projects against cost and votes", "Each voter&#39;s share", "PLN", "equal-shares",
                 "funded in round 1", "Spending by"):
        assert want in text, want


def test_missing_jinja_is_named(monkeypatch):
    import builtins

    from gosplan.errors import MissingDependencyError
    from gosplan.report import Report

    real = builtins.__import__

    def no_jinja(name, *a, **k):
        if name == "jinja2":
            raise ImportError("no jinja2")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_jinja)
    with pytest.raises(MissingDependencyError, match="pip install jinja2"):
        Report("t", "k").html()


def test_cli_writes_reports(tmp_path):
    from typer.testing import CliRunner

    from gosplan.cli import app

    runner = CliRunner()
    cases = {
        "plan": ["plan", "uk_2010", "--final-demand", "1", "--objective", "factor:compensation"],
        "compare": ["compare", "baseline", "industrialisation"],
        "budget": ["budget", str(DATA / "pabulib" / "Poland_Czestochowa_2024_Mirow.pb")],
        "analyze": ["analyze", "uk_2010"],
        "periods": ["plan", "uk_2010", "--final-demand", "1", "--objective", "factor:compensation", "--periods", "3"],
        "invest": ["invest", str(DATA / "pabulib" / "Netherlands_Assen_2024.pb"), "--money-goods", "ind_b=0.001",
                   "--labour-factor", "industrial_labour", "--cost-in-labour", "0.000001"],
    }
    for name, args in cases.items():
        path = tmp_path / f"{name}.html"
        res = runner.invoke(app, [*args, "--report", str(path)], terminal_width=140)
        assert res.exit_code == 0, (name, res.output)
        assert f"wrote the report to {path}" in res.output.replace("\n", "")
        check_html(path.read_text(encoding="utf-8"))


# -- a large plan ---------------------------------------------------------------------------------


def synthetic(n: int, seed: int = 0):
    """An economy of n products (one technique each, 8 inputs along a supply chain,
    labour and an energy supply, a tenth of the activities with a capacity, some of
    which bind) and its floors."""
    from gosplan import Economy
    from gosplan.planning import Targets

    rng = np.random.default_rng(seed)
    k = 8
    # each product uses the k products after it (a supply chain, no cycles): solved in seconds at n = 10^4
    rows = np.minimum(np.arange(n)[:, None] + np.arange(1, k + 1)[None, :], n - 1)
    vals = rng.uniform(0, 1, size=(n, k))
    vals *= (rng.uniform(0.3, 0.6, n) / vals.sum(1))[:, None]
    use = sp.csr_array((vals.ravel(), (rows.ravel(), np.repeat(np.arange(n), k))), shape=(n, n))
    ids = [f"p{i:05d}" for i in range(n)]
    floors = rng.uniform(0.5, 1.5, n)
    x = floors.copy()  # the levels the floors need: Neumann series, column sums of A <= 0.6
    for _ in range(80):
        x = floors + use @ x
    energy = rng.uniform(0.1, 0.5, n)
    cap = np.full(n, np.inf)
    capped = rng.uniform(size=n) < 0.1
    cap[capped] = x[capped] * rng.uniform(1.0, 1.5, int(capped.sum()))  # some capacities bind, none too tight
    eco = Economy(
        products=pd.DataFrame({"name": [f"product {i}" for i in range(n)], "unit": "tonnes"}, index=ids),
        activities=pd.DataFrame({"name": [f"making product {i}" for i in range(n)], "capacity": cap}, index=ids),
        factors=pd.DataFrame({"unit": ["hours", "MWh"], "available": [np.inf, 1.05 * float(energy @ x)]},
                             index=["labour", "energy"]),
        use=use, make=sp.identity(n, format="csr"),
        factor_use=sp.csr_array(np.vstack([rng.uniform(0.5, 1.5, n), energy])),
        name=f"synthetic, {n:,} products",
    )
    return eco, Targets(floors=pd.Series(floors, index=ids))


@pytest.mark.slow
def test_large_plan_report_is_summarised(tmp_path):
    """A 10^4-product plan: the report stays small (tables cut, charts of the top rows)."""
    from gosplan.planning import optimal_plan
    from gosplan.report import plan_report

    eco, targets = synthetic(10_000)
    plan = optimal_plan(eco, targets, "labour")
    t = time.perf_counter()
    path = plan_report(plan, eco).write(tmp_path / "large.html")
    assert time.perf_counter() - t < 30
    text = path.read_text(encoding="utf-8")
    check_html(text)
    assert path.stat().st_size < 1_500_000
    assert "Showing 30 of 10,000 rows." in text and "product 1" in text and "hours" in text


# -- in a browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium")
    if not (shutil.which("chromedriver") and shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are needed: apt-get install chromium chromium-driver", pytrace=False)
        pytest.skip("no chromium / chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gosplan-report-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--disable-sync",
                 "--window-size=1280,1000", f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    where = os.environ.get("GOSPLAN_REPORT_SCREENS")
    p = Path(where) if where else tmp_path_factory.getbasetemp() / "report-screens"
    p.mkdir(parents=True, exist_ok=True)
    return p


def open_offline(driver, path: Path, shot: Path) -> float:
    """Open a report from disk, return its load time (s) and save a full-page screenshot."""
    driver.set_window_size(1280, 1000)
    driver.get(path.resolve().as_uri())
    ms = driver.execute_script(
        "const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime;")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 120, 16000))
    driver.save_screenshot(str(shot))
    return float(ms) / 1000


@pytest.mark.browser
def test_reports_open_offline_in_chromium(reports, browser, screens):
    from selenium.webdriver.common.by import By

    made, _ = reports
    for kind, (rep, path) in made.items():
        seconds = open_offline(browser, path, screens / f"report-{kind}.png")
        assert seconds < 2, (kind, seconds)
        assert browser.title == rep.title
        svgs = browser.find_elements(By.CSS_SELECTOR, "figure svg")
        assert len(svgs) == len(rep.figures)
        for s in svgs:  # every chart is drawn with a size
            assert s.size["width"] > 200 and s.size["height"] > 100, kind
        assert (screens / f"report-{kind}.png").stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.slow
def test_large_plan_report_opens_fast(browser, screens, tmp_path):
    """The report of a 10^4-product plan opens in under 2 s."""
    from gosplan.planning import optimal_plan
    from gosplan.report import plan_report

    eco, targets = synthetic(10_000)
    path = plan_report(optimal_plan(eco, targets, "labour"), eco).write(tmp_path / "large.html")
    seconds = open_offline(browser, path, screens / "report-plan-10000.png")
    assert seconds < 2, seconds
    assert re.search(r"Showing 30 of 10,000 rows", browser.page_source)


def test_world_section_names_the_proxy_and_its_unit():
    """The demo's world section: each region's multiple alone and pooled, the resource named as the
    proxy it is and counted in the table's money, the chart inline."""
    from gosplan.planning.world import world_comparison
    from gosplan.report import Report, world_section

    section, text = world_section(world_comparison("wiod_2011"), "wiod_2011")
    assert "proxy for labour" in text and "USD million" in text
    assert "CYP" in text and "LUX" in text  # the regions that gain most and least, named
    html = Report("world", "world", sections=[section]).html()
    assert html.count("<svg") == 1 and "times its basket" in html


# -- the world plan -------------------------------------------------------------------------------


def wiod_7_world():
    """The shipped 7-region WIOD table of 2011 as a world, and each region's basket: its final
    demand (households, non-profits, government, GFCF; not inventories) summed over origins, as
    scripts/build_world.py forms the baskets of the 41-region world."""
    from gosplan.planning.world import world_from_mrio
    from gosplan.sources import read_economy

    e = read_economy("wiod_2011_7regions")
    w = world_from_mrio(e, name="wiod_2011_7regions")
    Y = e.final_demand[[c for c in e.final_demand.columns if not c.endswith("/INVEN")]]
    dest = Y.columns.str.split("/").str[0]
    basket = {f"{r}/{p.split('/', 1)[1]}": 0.0 for r in w.regions for p in Y.index}
    for p, row in zip(Y.index, Y.to_numpy(), strict=True):
        for r in w.regions:
            basket[f"{r}/{p.split('/', 1)[1]}"] += float(row[dest == r].sum())
    b = pd.Series(basket)
    return w, b[b > 0]


def small_world(regions: int = 5, products: int = 8, seed: int = 3):
    """A small random world that the decomposition solves in a second (random techniques and
    labour, 5 % iceberg cost): for the coordination part of the report."""
    from gosplan.planning.world import build_world, regional_baskets

    rng = np.random.default_rng(seed)
    prods = [f"p{i}" for i in range(products)]
    use, lab, av = {}, {}, {}
    for k in range(regions):
        A = rng.uniform(0, 1, (products, products)) * (rng.uniform(size=(products, products)) < 0.6)
        A *= rng.uniform(0.1, 0.6) / np.maximum(A.sum(axis=0), 1e-9)
        use[f"R{k}"], lab[f"R{k}"], av[f"R{k}"] = A, rng.uniform(0.2, 3.0, products), float(rng.uniform(20, 100))
    w = build_world(prods, use, lab, av, default_cost={"labour": 0.0, "goods": 0.05}, name="small random world")
    basket = regional_baskets(w, {r: {p: float(rng.uniform(0.2, 2.0)) for p in prods} for r in w.regions})
    return w, basket


@pytest.fixture(scope="module")
def world_reports(tmp_path_factory):
    """The world report of the 7-region WIOD world compared with autarky (monolithic) and of a
    small world planned by decomposition, as {kind: (Report, path, result)}."""
    from gosplan.planning import Targets
    from gosplan.planning.world import compare_autarky, plan_world
    from gosplan.report import world_report

    out = tmp_path_factory.mktemp("world-reports")
    w, b = wiod_7_world()
    cmp = compare_autarky(w, b)
    sw, sb = small_world()
    dec = plan_world(sw, Targets(basket=sb), "max-min", method="decomposed")
    made = {"world-7regions": (world_report(cmp), cmp), "world-decomposed": (world_report(dec), dec)}
    return {k: (r, r.write(out / f"{k}.html"), res) for k, (r, res) in made.items()}


@pytest.fixture(scope="module")
def linkage_report(tmp_path_factory):
    """The analysis report of uk_2010 with linkages, the Ghosh model and Type II (analyze
    --linkages --ghosh --type-ii)."""
    from gosplan.cli.analysis import analyze_table
    from gosplan.report import analysis_report
    from gosplan.sources import read_economy

    uk = read_economy("uk_2010")
    table, used = analyze_table(uk, linkages=True, ghosh=True, type_ii=True)
    rep = analysis_report(uk, table, method=used)
    return rep, rep.write(tmp_path_factory.mktemp("analysis") / "analysis-linkages.html"), table


def test_analysis_report_shows_forward_linkages_key_sectors_ghosh_and_type_ii(linkage_report):
    rep, path, table = linkage_report
    text = path.read_text(encoding="utf-8")
    c = check_html(text)
    assert c.tags.get("svg", 0) == len(rep.figures)
    titles = [s.title for s in rep.sections]
    assert titles[:3] == ["Linkages and key sectors", "The supply side (Ghosh)", "Households closing the model: Type I and II"]
    for want in ("forward linkage", "backward linkage", "key sector", "Key sectors: above the mean on both linkages",
                 "Ghosh inverse", "total forward linkage", "supply-driven output", "Type I", "Type II", "induced",
                 "compensation multiplier, Type II", "GBP million", "Coal and lignite (05)"):
        assert want in text, want
    key = table["linkage:key_sector"].astype(str)
    assert f"Key sectors, above 1 on both: {int((key == 'key').sum()):,} of {len(key):,}" in text
    strongest = (table["linkage:backward_normalised"] + table["linkage:forward_normalised"]).idxmax()
    assert f"{table.at[strongest, 'linkage:forward_normalised']:.3f}" in text


def test_world_report_of_the_wiod_world(world_reports):
    """Names, units and the proxy everywhere the resource is shown; every chart inline; valid HTML."""
    rep, path, cmp = world_reports["world-7regions"]
    text = path.read_text(encoding="utf-8")
    c = check_html(text)
    assert c.tags.get("svg", 0) == len(rep.figures) == 3  # alone/pooled, largest flows, exporter x importer
    for want in ("The world economy pooled, against each region alone", "Regions in the world plan",
                 "Trade between regions", "Where the world plan binds", "Inputs and sources", "Manifest",
                 "value added (proxy for labour)", "USD million", "USD million (2011)", "Rest of the world",
                 "Euro-zone", "BRIIAT", "Inland Transport", "times its basket", "wiod_2011_7regions",
                 "WIOD 2013", "iceberg", "Max-min gives every region the same multiple"):
        assert want in text, want
    assert ">c14<" not in text and "/c14" not in text  # sector names, never codes
    # the proxy is said in the warning and in every section that shows the resource
    for s in rep.sections[:2] + rep.sections[3:4]:
        assert "proxy" in " ".join(s.paragraphs) or any("proxy" in str(t.columns) for t in s.items
                                                          if isinstance(t, type(rep.sections[0].items[1]))), s.title
    assert any("proxy" in w_ for w_ in rep.warnings)
    # the numbers are the comparison's own
    assert f"{cmp.total['multiple_pooled']:.3f}" in text
    top = cmp.pooled.plan.levels.reindex(cmp.pooled.world.economy.activity_ids).fillna(0)
    trade = top[cmp.pooled.world.economy.activities["kind"].eq("trade").to_numpy()]
    assert f"{trade.max():,.0f}" in text and f"{len(trade[trade > 1e-9 * trade.max()]):,} flows" in text


def test_world_report_draws_the_coordination(world_reports):
    """A decomposed plan: the certified gap by round (log scale), the centre's prices of the most
    traded goods by round, each region's proposals, and the rounds table."""
    rep, path, dec = world_reports["world-decomposed"]
    text = path.read_text(encoding="utf-8")
    c = check_html(text)
    assert c.tags.get("svg", 0) == len(rep.figures) == 5  # flows, matrix, gap, prices, proposals
    for want in ("How the centre and the regions coordinated", "certified relative gap (log scale)",
                 "prices of the most traded goods, round by round", "how much it would improve the centre", "Proposals by region",
                 "Rounds of coordination", "Kornai and Liptak", "labour (hours)", "basket multiples per unit"):
        assert want in text, want
    assert f"{len(dec.rounds) - 1:,} rounds" in text
    assert "proxy" not in text  # a world counted in hours says nothing of a proxy
    assert len(rep.sections) == 4 and rep.sections[-1].title.startswith("How the centre")


def test_cli_world_writes_the_report(tmp_path):
    """`gosplan world FOLDER --method decomposed --report FILE` on a world written as tables."""
    from typer.testing import CliRunner

    from gosplan.cli import app
    from gosplan.planning.world import world_to_tables

    w, b = small_world()
    folder = tmp_path / "world"
    folder.mkdir()
    for k, df in world_to_tables(w, b).items():
        df.to_parquet(folder / f"{k}.parquet", index=False)
    path = tmp_path / "world.html"
    res = CliRunner().invoke(app, ["world", str(folder), "--method", "decomposed", "--report", str(path)],
                             terminal_width=140)
    assert res.exit_code == 0, res.output
    assert f"wrote the report to {path}" in res.output.replace("\n", "")
    text = path.read_text(encoding="utf-8")
    check_html(text)
    assert "How the centre and the regions coordinated" in text and "R3" in text


@pytest.mark.browser
def test_world_and_linkage_reports_open_offline_in_chromium(world_reports, linkage_report, browser, screens):
    from selenium.webdriver.common.by import By

    more = {**world_reports, "analysis-linkages": linkage_report}
    for kind, (rep, path, _) in more.items():
        seconds = open_offline(browser, path, screens / f"report-{kind}.png")
        assert seconds < 2, (kind, seconds)
        assert browser.title == rep.title
        svgs = browser.find_elements(By.CSS_SELECTOR, "figure svg")
        assert len(svgs) == len(rep.figures)
        for s in svgs:
            assert s.size["width"] > 200 and s.size["height"] > 100, kind
        assert (screens / f"report-{kind}.png").stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.slow
def test_world_report_of_41_regions_opens_fast(browser, screens, tmp_path):
    """The world of 2011 in 41 regions against autarky: every region in its tables, trade and
    binding limits cut to 30 rows; the file stays small and opens in under 2 s."""
    from gosplan.planning.world import world_comparison
    from gosplan.report import world_report

    rep = world_report(world_comparison("wiod_2011"))
    path = rep.write(tmp_path / "world-41.html")
    text = path.read_text(encoding="utf-8")
    check_html(text)
    assert path.stat().st_size < 1_000_000
    assert "Luxembourg (LUX)" in text and "United States" in text and "Rest of the world" in text
    assert re.search(r"Showing 30 of [\d,]+ rows", text)
    seconds = open_offline(browser, path, screens / "report-world-41regions.png")
    assert seconds < 2, seconds
