"""The browser stays bounded: pages open at once never exceed the configured limit, a pager click
opens no window, and pages move to a fresh context every OGI_BROWSER_PAGES_PER_CONTEXT pages.

Two columns served on 127.0.0.1, crawled with the real `ogi crawl`; each list page's records come
from an XHR that the server answers slowly, so renders overlap and the limit is what holds them:
- "slow-column": ten such pages, all linked from a static pager;
- "popup-column": four such pages whose 更多信息 control opens a window (window.open) and shows one
  more line, the last page listing a real report among the look-alikes.
The limit is 3 (CONCURRENT_REQUESTS_PER_DOMAIN; scrapy-playwright alone would allow 4 per context).
Both columns load a script from 127.0.0.2, which must receive nothing.
"""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlite_utils
import yaml

from conftest import ROOT, crawl_args, run_ogi
from local_sites import QuietHandler, off_site, serve

DOCS = ROOT / "harvester" / "sample_portals" / "docs"
LIMIT = 3
SLOW_PAGES, POPUP_PAGES = 10, 4
REPORT = "平潭综合实验区管委会2021年政府信息公开工作年度报告"


def list_page(column: str, n: int, pages: int, off: int, popup: bool) -> bytes:
    pager = "".join(f'<a href="/{column}/index{"" if k == 0 else f"_{k}"}.html">{k + 1}</a>' for k in range(pages))
    # 更多信息 opens a window and also shows one more record (twice), so the page lives on after
    # the click and its pager is clicked again: the windows are surely created before it closes.
    more = (f'<span class="more" onclick="more(this)">更多信息</span>' if popup else "")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title>
<script src="http://127.0.0.2:{off}/stat.js"></script></head>
<body><ul id="l"></ul>{more}<div class="pager">{pager}</div>
<script>
var xhr = new XMLHttpRequest();
xhr.open('GET', '/{column}/api?page={n}');
xhr.onload = function () {{
  document.getElementById('l').innerHTML = JSON.parse(xhr.responseText).rows.map(function (r) {{
    return '<li><a href="' + r.url + '">' + r.title + '</a></li>'; }}).join('');
}};
xhr.send();
var shown = 0;
function more(el) {{
  window.open('/{column}/popup_{n}.html');
  shown += 1;
  var x = new XMLHttpRequest(); x.open('GET', '/{column}/clicked?page={n}'); x.send();
  var li = document.createElement('li');
  li.textContent = '第' + shown + '条';
  document.getElementById('l').appendChild(li);
  if (shown >= 2) el.style.display = 'none';
}}
</script></body></html>""".encode()


def rows(column: str, n: int, pages: int) -> list[dict]:
    if not 0 <= n < pages:
        return []        # the spider pages on through the API itself: past the last page, nothing
    found = [{"title": f"{2000 + n}年政务公开工作要点", "url": f"/{column}/art/{n}.html"}]
    if column == "p" and n == pages - 1:
        found.append({"title": REPORT, "url": "/p/art/report.html"})
    return found


def article(title: str, doc: str) -> bytes:
    body = "".join(f"<p>{ln}</p>" for ln in (DOCS / doc).read_text(encoding="utf-8").splitlines() if ln.strip())
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><h1>{title}</h1><div class="content">{body}</div></body></html>').encode()


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    off_hits: list[str] = []
    popups_loaded: list[str] = []
    clicks: list[str] = []

    off = off_site(off_hits)
    off_port = off.server_address[1]
    columns = {"s": (SLOW_PAGES, False), "p": (POPUP_PAGES, True)}

    class Portal(QuietHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            column, _, name = parts.path.strip("/").partition("/")
            if column not in columns:
                return self._send("text/plain", b"User-agent: *\nAllow: /\n" if parts.path == "/robots.txt" else b"",
                                  200 if parts.path == "/robots.txt" else 404)
            pages, popup = columns[column]
            if name == "api":
                time.sleep(0.4)      # a slow list API: renders overlap, so the limit is what holds them
                n = int(parse_qs(parts.query)["page"][0])
                return self._send("application/json", json.dumps({"rows": rows(column, n, pages)},
                                                                  ensure_ascii=False).encode())
            if name.startswith("index"):
                n = int(name[len("index_"):-len(".html")] if name.startswith("index_") else 0)
                return self._send("text/html; charset=utf-8", list_page(column, n, pages, off_port, popup))
            if name == "clicked":
                clicks.append(parts.query)
                return self._send("application/json", b"{}")
            if name.startswith("popup_"):
                popups_loaded.append(name)
                return self._send("text/html; charset=utf-8",
                                  '<html><head><meta charset="utf-8"></head><body>更多</body></html>'.encode())
            if name == "art/report.html":
                return self._send("text/html; charset=utf-8", article(REPORT, "pingtan-zone-2021.txt"))
            if name.startswith("art/"):
                return self._send("text/html; charset=utf-8", (
                    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>工作要点</title></head><body>'
                    '<h1>政务公开工作要点</h1><p>为深入贯彻落实政务公开工作要求，制定本要点。</p></body></html>').encode())
            self._send("text/html", b"<h1>404</h1>", 404)

    portal = serve("127.0.0.1", Portal)
    base = f"http://127.0.0.1:{portal.server_address[1]}"
    tmp = tmp_path_factory.mktemp("browser-bounds")
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [
        {"name": "slow-column", "start_url": base + "/s/index.html"},
        {"name": "popup-column", "start_url": base + "/p/index.html"}]}, allow_unicode=True), encoding="utf-8")
    try:
        run_ogi(*crawl_args(registry, tmp / "ogi.db", {
            "CONCURRENT_REQUESTS_PER_DOMAIN": str(LIMIT), "OGI_BROWSER_PAGES_PER_CONTEXT": "4",
            "DOWNLOAD_TIMEOUT": "30"}))
    finally:
        portal.shutdown()
        off.shutdown()
    db = sqlite_utils.Database(tmp / "ogi.db")
    stats = {r["portal"]: json.loads(r["stats"]) for r in db.query("select portal, stats from crawl_runs")}
    return {"db": db, "stats": stats, "off_hits": off_hits, "popups_loaded": popups_loaded,
            "clicks": clicks}


def test_pages_open_at_once_never_exceed_the_limit(bounded):
    for portal, pages in (("slow-column", SLOW_PAGES), ("popup-column", POPUP_PAGES)):
        stats = bounded["stats"][portal]
        assert stats["ogi/browser_page_limit"] == LIMIT
        assert stats["ogi/browser_pages_opened"] == pages
        assert stats["ogi/browser_pages_open_max"] <= LIMIT
        assert stats["ogi/browser_pages_open"] == 0            # every page was closed
    slow = bounded["stats"]["slow-column"]
    # Ten slow renders queued at once: the limit was reached, so it is what held them.
    assert slow["ogi/browser_pages_open_max"] == LIMIT
    # scrapy-playwright's own count of a context's pages when one is created agrees.
    assert slow["playwright/page_count/max_concurrent"] <= LIMIT


def test_every_page_was_read_under_the_limit(bounded):
    db = bounded["db"]
    judged = {r["link_text"] for r in db.query("select link_text from candidates where portal = 'slow-column'")}
    assert judged == {f"{2000 + n}年政务公开工作要点" for n in range(SLOW_PAGES)}
    found = {(r["agency"], r["year"]) for r in db.query("select agency, year from reports")}
    assert found == {("平潭综合实验区管委会", 2021)}


def test_a_click_opens_no_window(bounded):
    # Each page's 更多信息 was clicked (twice: it shows one more line each time) and opened nothing.
    assert sorted(set(bounded["clicks"])) == [f"page={n}" for n in range(POPUP_PAGES)]
    assert bounded["popups_loaded"] == []
    assert bounded["stats"]["popup-column"]["ogi/browser_pages_opened"] == POPUP_PAGES


def test_contexts_are_replaced_every_n_pages(bounded):
    stats = bounded["stats"]["slow-column"]
    assert stats["playwright/context_count"] == 3              # 10 pages, 4 per context
    assert stats["playwright/context_count/max_concurrent"] <= 2


def test_nothing_reaches_the_other_address(bounded):
    assert bounded["off_hits"] == []


def test_bench_render_counts_what_the_browser_did(capsys):
    from harvester.bench_render import bench_render
    summary = bench_render(6, {"OGI_BROWSER_MAX_PAGES": "2"})
    assert summary["pages_rendered"] == 6                     # one render per list page
    assert summary["page_limit"] == 2 and 1 <= summary["open_pages_max"] <= 2
    assert summary["peak_rss_mb"] >= summary["peak_pss_mb"] > 0 and summary["max_processes"] >= 3
    out = capsys.readouterr().out
    assert "6 pages rendered" in out and "pages open at once: at most" in out
