"""The site in a real browser (Debian's Chromium through Playwright): what a journalist would click.

Screenshots go to test-artifacts/site/ (gitignored).
"""
from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_fixtures import build_fixture_db, free_port, start_server, stop_server  # noqa: E402

from harvester.publish import prepare  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("OGI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "site"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    tmp = tmp_path_factory.mktemp("site-browser")
    db = tmp / "ogi.db"
    build_fixture_db(db)
    prepare(db)
    port = free_port()
    proc = start_server(db, port)
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    dialogs = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    yield pg
    context.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_journalist_walkthrough(server, page, tmp_path):
    # 1. home page: what the data is, its coverage, a search box
    page.goto(server + "/")
    assert "政府信息公开工作年度报告" in page.title()
    assert page.locator("table.ogi-coverage tbody tr").count() >= 1
    shot(page, "01-home")

    # 2. a two-character Chinese search from the home page: ranked results with the word marked in place
    page.fill("#ogi-q", "复议")
    page.click("form.ogi-search input[type=submit]")
    page.wait_for_load_state()
    assert "/-/search?q=" in page.url
    assert page.locator('a[href="/-/report/syn-fixture-b-2021"]').count() == 1
    assert page.locator('a[href="/-/report/syn-fixture-a-2022"]').count() == 0
    assert page.locator("li.ogi-result mark", has_text="复议").count() >= 1
    shot(page, "02-search-fuyi")

    # 3. narrow the search with the province dropdown
    page.select_option("select[name=province]", "浙江省")
    page.click("form.ogi-search input[type=submit]")
    page.wait_for_load_state()
    assert "province=" in page.url and "q=" in page.url
    assert page.locator("li.ogi-result").count() >= 1
    assert all("浙江省" in t for t in page.locator("li.ogi-result .ogi-result-meta").all_inner_texts())
    shot(page, "03-search-province")

    # 4. open the report page from the results
    page.locator('a[href="/-/report/syn-fixture-b-2021"]').first.click()
    page.wait_for_load_state()
    assert "/-/report/syn-fixture-b-2021" in page.url
    assert page.locator("table.ogi-t3").count() == 1 and page.locator("table.ogi-t4").count() == 1
    assert page.locator("text=（七）总计").count() >= 1
    shot(page, "04-report-page")

    # 5. a canned query from the home page, then its CSV
    page.goto(server + "/")
    page.locator("ul.ogi-queries a", has_text="败诉").click()
    page.wait_for_load_state()
    assert "year=" in page.url                      # opens on the latest year; every year is one choice away
    page.select_option("select[name=year]", "")
    page.click("form.sql input[type=submit]")
    page.wait_for_load_state()
    assert page.locator("text=syn-fixture-b-2021").count() >= 1
    shot(page, "05-canned-cases-lost")
    with page.expect_download() as info:
        page.locator("a.ogi-csv").click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "报告编号 · report_id" and any(r[0] == "syn-fixture-b-2021" for r in rows[1:])
    (ARTIFACTS / "05-cases_lost.csv").write_bytes(target.read_bytes())

    # 6. a chart (datasette-vega) linked from the home page
    page.goto(server + "/")
    page.locator("a.ogi-chart").first.click()
    page.wait_for_selector(".vega-embed canvas, .vega-embed svg", state="attached", timeout=30000)
    shot(page, "06-chart-coverage")

    # 7. the XSS fixture: payloads are shown as text, no script ever runs
    page.goto(server + "/-/report/syn-fixture-xss-2022")
    assert page.locator("h1", has_text="<script>alert(1)</script>").count() == 1
    page.goto(server + "/ogi/reports?_search=" + "合成")
    shot(page, "07-xss-report-list")
    assert page.dialogs == []


# ---------------------------------------------------------------------------------------------- phone

PHONE = {"width": 390, "height": 844}


def _readable(pg) -> dict:
    """What a reader at 390 px sees: does the page scroll sideways, and the smallest text size in use."""
    return pg.evaluate("""() => {
        const doc = document.documentElement;
        let smallest = 100, offenders = [];
        for (const el of document.querySelectorAll('p, li, td, th, a, dd, dt, label, h1, h2, mark, span')) {
            const r = el.getBoundingClientRect();
            if (!el.innerText || !el.innerText.trim() || r.width === 0 || r.height === 0) continue;
            const size = parseFloat(getComputedStyle(el).fontSize);
            if (size < smallest) smallest = size;
            // text that sticks out of the page, outside any box that scrolls it
            let scrolls = false;
            for (let p = el.parentElement; p; p = p.parentElement) {
                const ox = getComputedStyle(p).overflowX;
                if (ox === 'auto' || ox === 'scroll') { scrolls = true; break; }
            }
            if (!scrolls && r.right > window.innerWidth + 1) offenders.push(el.tagName + ': ' + el.innerText.slice(0, 40));
        }
        return {scrollWidth: doc.scrollWidth, width: window.innerWidth, smallest, offenders: offenders.slice(0, 5)};
    }""")


def test_phone_walkthrough(server, browser, tmp_path):
    """Home -> a report -> search -> crawl health at 390 px in headless Chromium: no console errors, no page
    that scrolls sideways, no text under 12 px. Screenshots in the test's tmp dir."""
    problems = []
    if True:
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                      locale="zh-CN")
        pg = context.new_page()
        pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))

        def visit(name, check):
            pg.wait_for_load_state("networkidle")
            seen = _readable(pg)
            pg.screenshot(path=str(tmp_path / f"phone-{name}.png"), full_page=True)
            (ARTIFACTS / f"phone-{name}.png").write_bytes((tmp_path / f"phone-{name}.png").read_bytes())
            assert seen["scrollWidth"] <= seen["width"] + 1, (name, seen)
            assert not seen["offenders"], (name, seen)
            assert seen["smallest"] >= 12, (name, seen)
            check()

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.goto(server + "/")
        visit("01-home", lambda: pg.locator("h1").first.is_visible())
        pg.goto(server + "/-/report/syn-fixture-b-2021")
        visit("02-report", lambda: (pg.locator("table.ogi-t3").count() == 1
                                   and pg.locator(".ogi-citation").is_visible()) or pytest.fail("report page"))
        pg.goto(server + "/")
        pg.fill("#ogi-q", "复议")
        pg.click("form.ogi-search input[type=submit]")
        visit("03-search", lambda: pg.locator("li.ogi-result mark").count() >= 1 or pytest.fail("no marks"))
        pg.goto(server + "/-/health")
        visit("04-health", lambda: pg.locator("tr.ogi-red").count() == 3 or pytest.fail("health rows"))
        pg.goto(server + "/-/about")
        visit("05-about", lambda: pg.locator("#cite").is_visible())
        context.close()
    assert problems == []
    assert sorted(f.name for f in tmp_path.glob("phone-*.png")) == [
        "phone-01-home.png", "phone-02-report.png", "phone-03-search.png", "phone-04-health.png",
        "phone-05-about.png"]
