"""Discovery with no family module: lists that only a browser can read, read the way it does.

Two portals unlike the six sample ones, served on 127.0.0.1 and crawled with the real `ogi crawl`
(no render hint in the registry):
- a 信息公开平台 shell under a path prefix whose list comes from a JSON API that an *external* script
  calls with the category from an inline config object, paged by a pager of <span onclick> controls;
- a column that shows 2 of its 6 records in HTML, states 共6条, and loads the rest by JSONP only when
  the reader clicks 加载更多 (a <button> with no href).
Both pages also load a script from 127.0.0.2, which must never receive a request.
Two more check completeness as data: a list stating 共9条 whose next page is gone (a list_incomplete
error), and a five-page list whose pager repeats every page number (the cap counts distinct pages).
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlite_utils
import yaml

from conftest import ROOT, crawl_args, free_port, run_ogi
from local_sites import QuietHandler, off_site, serve

DOCS = ROOT / "harvester" / "sample_portals" / "docs"


def article(title: str, doc: str) -> bytes:
    lines = [ln for ln in (DOCS / doc).read_text(encoding="utf-8").splitlines() if ln.strip()]
    body = "".join(f"<p>{ln}</p>" for ln in lines)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><h1>{title}</h1><div class="content">{body}</div></body></html>').encode()


LOOKALIKE = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>{0}</title></head><body><h1>{0}</h1>'
             '<p>为深入贯彻落实政务公开工作要求，结合实际，制定本文件。</p></body></html>')

SHELL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开平台</title>
<script src="http://127.0.0.2:{off}/analytics.js"></script>
<script>window.__XXGK_CONFIG__ = {{ site: 'zb', catalog: {{ code: 'ndbg', name: '政府信息公开年报' }}, size: 2 }};</script>
<script src="/gov/xxgk/static/js/app.min.js"></script></head>
<body><div id="app"><div class="crumb">首页 &gt; 政府信息公开 &gt; 年报</div>
<ul class="doc-list"></ul><div class="pager"></div></div><img src="http://127.0.0.2:{off}/logo.png"></body></html>"""

APP_JS = """(function(){
  var cfg = window.__XXGK_CONFIG__, page = 1;
  function load(p){
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/gov/xxgk/api/v2/docs?catalog=' + cfg.catalog.code + '&site=' + cfg.site + '&pageNo=' + p + '&size=' + cfg.size);
    xhr.onload = function(){
      var r = JSON.parse(xhr.responseText), ul = document.querySelector('.doc-list');
      ul.innerHTML = r.data.rows.map(function(d){ return '<li><a href="' + d.link + '">' + d.docTitle + '</a><em>' + d.pubDate + '</em></li>'; }).join('');
      var pages = Math.ceil(r.data.totalCount / cfg.size), pager = document.querySelector('.pager');
      pager.innerHTML = '<span class="info">共' + r.data.totalCount + '条</span>' + (p < pages ? '<span class="next">下一页</span>' : '<span class="next disabled">下一页</span>');
      var next = pager.querySelector('.next');
      if (p < pages) next.onclick = function(){ load(p + 1); };
    };
    xhr.send();
  }
  load(page);
})();"""

MORE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>年度报告</title>
<script src="http://127.0.0.2:{off}/stat.js"></script></head>
<body><div class="list-title">政府信息公开工作年度报告</div>
<ul id="list">
<li><a href="/b/art/2014/3/1/art_1.html" title="平潭县人民政府2013年政府信息公开工作年度报告">平潭县人民政府2013年政府信息公开工作年度报告</a></li>
<li><a href="/b/art/2014/2/1/art_2.html">2014年政务公开工作要点</a></li>
</ul>
<div class="total">共6条</div>
<button type="button" class="load-more">加载更多</button>
<script>
var page = 1;
function render(r) {{
  var ul = document.getElementById('list');
  r.result.forEach(function (x) {{
    var li = document.createElement('li');
    li.innerHTML = '<a href="' + x.href + '">' + x.name + '</a>';
    ul.appendChild(li);
  }});
  if (page * 2 >= r.count) document.querySelector('.load-more').style.display = 'none';
}}
document.querySelector('.load-more').addEventListener('click', function () {{
  page += 1;
  var s = document.createElement('script');
  s.src = '/b/api/more?page=' + page + '&callback=render';
  document.body.appendChild(s);
}});
</script></body></html>"""

SHELL_ROWS = [
    ("淄博市大数据局2023年政府信息公开工作年度报告", "/gov/xxgk/content/2024/0115/1.html"),
    ("2024年政务公开工作要点", "/gov/xxgk/content/2024/0301/2.html"),
    ("青岛市经济和信息化委员会2018年政府信息公开工作年度报告", "/gov/xxgk/files/2019/qd2018.pdf"),
    ("关于做好2023年政府信息公开工作年度报告编制发布工作的通知", "/gov/xxgk/content/2023/1201/4.html"),
    ("平潭综合实验区管委会2021年政府信息公开工作年度报告", "/gov/xxgk/content/2022/0120/5.html"),
]
MORE_ROWS = [  # pages 2 and 3 of the load-more list (page 1 is in the HTML)
    ("平潭综合实验区地方税务局2013年政府信息公开工作年度报告", "/b/art/2014/1/20/art_3.html"),
    ("2013年法治政府建设年度报告", "/b/art/2014/1/10/art_4.html"),
    ("青岛市大数据发展管理局2020年政府信息公开工作年度报告", "/b/files/qd2020.docx"),
    ("2013年度工作总结", "/b/art/2014/1/5/art_6.html"),
]


def make_pages(off_port: int) -> dict:
    return {
        "/gov/xxgk/platform/ndbg.html": ("text/html", SHELL.format(off=off_port).encode()),
        "/gov/xxgk/static/js/app.min.js": ("application/javascript", APP_JS.encode()),
        "/gov/xxgk/content/2024/0115/1.html": ("text/html", article(SHELL_ROWS[0][0], "zibo-bigdata-2023.txt")),
        "/gov/xxgk/content/2024/0301/2.html": ("text/html", LOOKALIKE.format(SHELL_ROWS[1][0]).encode()),
        "/gov/xxgk/files/2019/qd2018.pdf": ("application/pdf", (DOCS / "gen-qingdao-econ-2018.pdf").read_bytes()),
        "/gov/xxgk/content/2023/1201/4.html": ("text/html", LOOKALIKE.format(SHELL_ROWS[3][0]).encode()),
        "/gov/xxgk/content/2022/0120/5.html": ("text/html", article(SHELL_ROWS[4][0], "pingtan-zone-2021.txt")),
        "/b/nb/index.html": ("text/html", MORE_PAGE.format(off=off_port).encode()),
        "/b/art/2014/3/1/art_1.html": ("text/html", article("平潭县人民政府2013年政府信息公开工作年度报告",
                                                            "pingtan-county-2013.txt")),
        "/b/art/2014/2/1/art_2.html": ("text/html", LOOKALIKE.format("2014年政务公开工作要点").encode()),
        "/b/art/2014/1/20/art_3.html": ("text/html", article(MORE_ROWS[0][0], "pingtan-dishui-2013.txt")),
        "/b/art/2014/1/10/art_4.html": ("text/html", LOOKALIKE.format(MORE_ROWS[1][0]).encode()),
        "/b/files/qd2020.docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                 (DOCS / "gen-qingdao-bigdata-2020.docx").read_bytes()),
        "/b/art/2014/1/5/art_6.html": ("text/html", LOOKALIKE.format(MORE_ROWS[3][0]).encode()),
        "/c/nb/index.html": ("text/html", SHORT_LIST.encode()),
        "/e/nb/index.html": ("text/html", CRUMB_PAGE.encode()),
        **{f"/e/art/{n}.html": ("text/html", LOOKALIKE.format(f"{2015 + n}年政务公开工作要点").encode())
           for n in range(3)},
        **{f"/d/nb/index{'' if n == 0 else f'_{n}'}.html": ("text/html", numbered_page(n)) for n in range(5)},
        **{f"/d/art/{n}.html": ("text/html", LOOKALIKE.format(f"{2010 + n}年政务公开工作要点").encode())
           for n in range(5)},
    }


# A list that says 共9条 but whose second page is gone: the shortfall is an error, not silence.
SHORT_LIST = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title></head><body><ul>'
              '<li><a href="/b/art/2014/3/1/art_1.html">平潭县人民政府2013年政府信息公开工作年度报告</a></li>'
              '<li><a href="/b/art/2014/2/1/art_2.html">2014年政务公开工作要点</a></li></ul>'
              '<div class="page">共9条 <a href="/c/nb/index_1.html">下一页</a></div></body></html>')


# A breadcrumb of <span>&gt;</span> before the pager, and a wrapper <div> whose only text is the
# 下一页 of the <span onclick> inside it: the reader clicks the pager's own control.
CRUMB_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title></head><body>
<div class="crumb"><a href="/e/index.html">首页</a><span>&gt;</span><a href="/e/zwgk.html">政务公开</a><span>&gt;</span>年报</div>
<ul id="list"><li><a href="/e/art/0.html">2015年政务公开工作要点</a></li></ul>
<div class="pg"><div class="wrap"><span class="next" onclick="more()">下一页</span></div></div>
<script>
var page = 0;
function more() {
  page += 1;
  if (page > 2) return;
  var li = document.createElement('li');
  li.innerHTML = '<a href="/e/art/' + page + '.html">' + (2015 + page) + '年政务公开工作要点</a>';
  document.getElementById('list').appendChild(li);
}
</script></body></html>"""


def numbered_page(n: int) -> bytes:
    """Page n of a five-page list whose pager repeats every page number on every page (and twice)."""
    numbers = "".join(f'<a href="/d/nb/index{"" if k == 0 else f"_{k}"}.html">{k + 1}</a>' for k in range(5))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title></head><body><ul>'
            f'<li><a href="/d/art/{n}.html">{2010 + n}年政务公开工作要点</a></li></ul>'
            f'<div class="pager">{numbers}</div><div class="pager bottom">{numbers}</div></body></html>').encode()


@pytest.fixture(scope="module")
def browser_portals(tmp_path_factory):
    off_hits: list[str] = []

    off = off_site(off_hits)
    pages = make_pages(off.server_address[1])
    api_calls: list[str] = []

    class Portal(QuietHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/gov/xxgk/api/v2/docs":
                api_calls.append(self.path)
                ok = q.get("catalog") == "ndbg" and q.get("site") == "zb"
                n, size = int(q.get("pageNo", 1)), int(q.get("size", 2))
                rows = SHELL_ROWS[(n - 1) * size: n * size] if ok else []
                body = json.dumps({"code": 0, "data": {"totalCount": len(SHELL_ROWS) if ok else 0, "rows": [
                    {"docTitle": t, "link": u, "pubDate": "2024-01-15"} for t, u in rows]}}, ensure_ascii=False)
                return self._send("application/json;charset=UTF-8", body.encode())
            if parts.path == "/b/api/more":
                api_calls.append(self.path)
                n = int(q.get("page", 2))
                rows = MORE_ROWS[(n - 2) * 2: (n - 1) * 2]
                body = json.dumps({"count": 6, "result": [{"name": t, "href": u} for t, u in rows]},
                                  ensure_ascii=False)
                return self._send("application/javascript", f"{q.get('callback', 'cb')}({body});".encode())
            found = pages.get(parts.path)
            if found is None:
                return self._send("text/html", b"<h1>404</h1>", 404)
            self._send(*found)

    portal = serve("127.0.0.1", Portal)
    base = f"http://127.0.0.1:{portal.server_address[1]}"
    tmp = tmp_path_factory.mktemp("browser-portals")
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [
        {"name": "platform-shell", "start_url": base + "/gov/xxgk/platform/ndbg.html"},
        {"name": "load-more", "start_url": base + "/b/nb/index.html"},
        {"name": "short-list", "start_url": base + "/c/nb/index.html"},
        {"name": "crumb-pager", "start_url": base + "/e/nb/index.html", "render": True},
        {"name": "numbered-pager", "start_url": base + "/d/nb/index.html", "max_list_pages": 5}]},
        allow_unicode=True), encoding="utf-8")
    try:
        result = run_ogi(*crawl_args(registry, tmp / "ogi.db"))
    finally:
        portal.shutdown()
        off.shutdown()
    return {"db": sqlite_utils.Database(tmp / "ogi.db"), "off_hits": off_hits, "api_calls": api_calls,
            "base": base, "stdout": result.stdout}


def test_lists_only_a_browser_reads_give_exactly_their_reports(browser_portals):
    db = browser_portals["db"]
    found = {(r["agency"], r["year"]) for r in db.query("select agency, year from reports")}
    assert found == {("淄博市大数据局", 2023), ("青岛市经济和信息化委员会", 2018), ("平潭综合实验区管委会", 2021),
                     ("平潭县人民政府", 2013), ("平潭综合实验区地方税务局", 2013), ("青岛市大数据发展管理局", 2020)}


def test_look_alikes_are_judged_not_reported(browser_portals):
    db = browser_portals["db"]
    rejected = {r["title"] for r in db.query("select link_text as title from candidates where decision = 'reject'")}
    for title in ("2024年政务公开工作要点", "关于做好2023年政府信息公开工作年度报告编制发布工作的通知",
                  "2013年法治政府建设年度报告"):
        assert title in rejected


def test_every_api_page_was_read(browser_portals):
    calls = browser_portals["api_calls"]
    for n in (1, 2, 3):
        assert any(f"pageNo={n}" in c for c in calls), calls
    for n in (2, 3):
        assert any(f"page={n}" in c for c in calls), calls


def test_the_browser_fetches_nothing_off_the_portal(browser_portals):
    assert browser_portals["off_hits"] == []


def test_a_list_short_of_its_stated_total_is_an_error(browser_portals):
    db, base = browser_portals["db"], browser_portals["base"]
    short = list(db.query("select portal, url, message from errors where kind = 'list_incomplete'"))
    assert [(r["portal"], r["url"]) for r in short] == [("short-list", base + "/c/nb/index.html")]
    assert "states 9 records; 2" in short[0]["message"]
    runs = {r["portal"]: r for r in db.query("select * from crawl_runs")}
    assert runs["short-list"]["lists_incomplete"] == 1 and runs["load-more"]["lists_incomplete"] == 0
    summary = [ln for ln in browser_portals["stdout"].splitlines() if ln.startswith("short-list")]
    assert summary and summary[0].split()[-1] == "1"      # the summary's "short" column


def test_the_list_page_cap_counts_distinct_pages(browser_portals):
    db, base = browser_portals["db"], browser_portals["base"]
    walked = {r["url"] for r in db.query("select url from urls where portal = 'numbered-pager' and kind = 'list'")}
    assert walked == {base + f"/d/nb/index{'' if n == 0 else f'_{n}'}.html" for n in range(5)}
    assert not list(db.query("select * from errors where portal = 'numbered-pager' and kind like 'budget_%'"))


def test_the_pager_is_clicked_not_the_breadcrumb_or_its_wrapper(browser_portals):
    db = browser_portals["db"]
    judged = {r["link_text"] for r in db.query("select link_text from candidates where portal = 'crumb-pager'")}
    assert judged == {"2015年政务公开工作要点", "2016年政务公开工作要点", "2017年政务公开工作要点"}
