"""Lists a browser shows only in part, and a site whose menus never reach the 年报 column.

Four portals unlike every other test site, served on 127.0.0.1 and crawled with the real `ogi crawl`
(no render hint in the registry); every page also loads a script from 127.0.0.2, which must receive
nothing:
- scroll-box: the list loads by POST form (`catId=ndbg&start=1&end=3`, start is a page number) when a
  sentinel inside a scrolled box comes into view (IntersectionObserver with that box as root, so
  scrolling the window loads nothing); replies are XML stating <total>. Imitates the form-POST list
  with `start` as page number and scroll loading of mingyewei/jypt
  edc/WEB-INF/resources/edcapp/js/searchList.js, and the sentinel observer of
  hemisu/code-snippet-practice docs/js/虚拟列表/script.js.
- catalog-tree: a 信息公开目录 tree built from a JSON tree API whose nodes open by onclick; the 年报
  node's list comes from a POST JSON body `{catalogId, pindex, psize}` (a page key no name list
  holds), its pager is a "共N条 跳转到 [ ] 页 GO" box (nothing to click); each record's detail page
  shows its PDF only through pdf.js (viewer.html?file=…). The paging API reply shape (page info next
  to rows) follows ynu/ynu-api-docs docs/esop/api-jzg/xzjg_jzg.md.
- gbk-jsonp: a GBK county column whose list comes by JSONP (`from=0&rows=5&callback=…`, an offset)
  in GBK bytes with no charset; its 下一页 is a dead javascript:void(0). JSONP list interfaces with a
  callback parameter as in 373974360/oldCms deya/package/jsp/brow/weiboList.jsp; TRS field names
  (DocTitle, DocPubUrl, RecordCount).
- gopage-form: a list whose pager is `javascript:goPage(n)` setting a hidden field of a
  <form method=post> and submitting it (the pattern of public JSP list pages found by `find_string`
  "function goPage(": document.forms[…].submit(), document.coSearchForm.pageIndex.value = n); the
  browser clicks 下一页 and reads each page the form's POST brings.
- search-only: a home page whose 政务公开 menu leads only to other columns; the reports are found
  through the site's own search box (a TRS WAS5 form, /was5/web/search?channelid=…&searchword=…&page=N,
  as public scrapers of gov.cn sites call it, e.g. the putian.gov.cn and moe.gov.cn URLs found by
  `find_string` "was5/web/search?").
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlite_utils
import yaml

from conftest import ROOT, crawl_args, run_ogi
from local_sites import QuietHandler, off_site, serve

DOCS = ROOT / "harvester" / "sample_portals" / "docs"
OFF = '<script src="http://127.0.0.2:{off}/stat.js"></script>'


def article(title: str, doc: str, charset: str = "utf-8") -> bytes:
    lines = [ln for ln in (DOCS / doc).read_text(encoding="utf-8").splitlines() if ln.strip()]
    body = "".join(f"<p>{ln}</p>" for ln in lines)
    text = (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head>'
            f'<body><h1>{title}</h1><div class="content">{body}</div></body></html>')
    return text.encode("gb18030" if charset == "gbk" else "utf-8")


def lookalike(title: str, charset: str = "utf-8") -> bytes:
    text = (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head><body>'
            f'<h1>{title}</h1><p>为深入贯彻落实政务公开工作要求，结合实际，制定本文件。</p></body></html>')
    return text.encode("gb18030" if charset == "gbk" else "utf-8")


# ----------------------------------------------------------------------------- scroll-box
BOX_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报</title>{off}
<style>.list-box {{ height: 200px; overflow: auto; }} .list-box li {{ height: 120px; }}</style></head>
<body><div class="crumb">首页 &gt; 政府信息公开 &gt; 年报</div>
<div class="list-box"><ul></ul><div class="sentinel">&nbsp;</div></div>
<script src="/xxgk/js/list.js"></script></body></html>"""
BOX_JS = """(function () {
  var box = document.querySelector('.list-box'), ul = box.querySelector('ul');
  var start = 1, busy = false, done = false;
  function load() {
    if (busy || done) return;
    busy = true;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/xxgk/list.do');
    xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    xhr.onload = function () {
      var recs = xhr.responseXML.getElementsByTagName('record');
      for (var i = 0; i < recs.length; i++) {
        var li = document.createElement('li');
        li.innerHTML = '<a href="' + recs[i].getElementsByTagName('url')[0].textContent + '">' +
          recs[i].getElementsByTagName('title')[0].textContent + '</a>';
        ul.appendChild(li);
      }
      if (!recs.length) done = true;
      start += 1; busy = false;
    };
    xhr.send('catId=ndbg&start=' + start + '&end=3');
  }
  new IntersectionObserver(function (entries) {
    if (entries[0].isIntersecting) load();
  }, { root: box }).observe(box.querySelector('.sentinel'));
})();"""
BOX_ROWS = [
    ("平潭综合实验区管委会2019年政府信息公开工作年度报告", "/xxgk/art/2020/1.html", "pingtan-zone-2019.txt"),
    ("2020年政务公开工作要点", "/xxgk/art/2020/2.html", None),
    ("平潭综合实验区管委会2018年政府信息公开工作年度报告", "/xxgk/art/2019/3.html", "pingtan-zone-2018.txt"),
    ("青岛市经济和信息化委员会2018年政府信息公开工作年度报告", "/xxgk/art/2019/4.html", "qingdao-econ-2018.txt"),
    ("2018年度工作总结", "/xxgk/art/2019/5.html", None),
    ("平潭综合实验区管委会2014年政府信息公开工作年度报告", "/xxgk/art/2015/6.html", "pingtan-zone-2014.txt"),
    ("平潭综合实验区管委会2013年政府信息公开工作年度报告", "/xxgk/art/2014/7.html", "pingtan-zone-2013.txt"),
    ("关于报送2013年政府信息公开工作年度报告的通知", "/xxgk/art/2014/8.html", None),
]


def box_reply(form: dict) -> bytes:
    ok = form.get("catId") == "ndbg"
    n, size = int(form.get("start", 1)), int(form.get("end", 3))
    rows = BOX_ROWS[(n - 1) * size: n * size] if ok and n >= 1 else []
    records = "".join(f"<record><title>{t}</title><url>{u}</url><date>2020-01-20</date></record>" for t, u, _ in rows)
    return (f'<?xml version="1.0" encoding="utf-8"?><result><total>{len(BOX_ROWS) if ok else 0}</total>'
            f'{records}</result>').encode()


# ----------------------------------------------------------------------------- catalog-tree
TREE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开目录</title>{off}</head>
<body><div class="crumb">首页 &gt; 政府信息公开目录</div><div id="tree"></div>
<script src="/zwgk/xxgkml/js/tree.js"></script></body></html>"""
TREE_JS = """fetch('/zwgk/api/catalog/tree?site=xz').then(function (r) { return r.json(); }).then(function (r) {
  function draw(nodes) {
    return '<ul>' + nodes.map(function (n) {
      return '<li><span class="node" data-url="' + (n.url || '') + '">' + n.name + '</span>' +
        (n.children && n.children.length ? draw(n.children) : '') + '</li>';
    }).join('') + '</ul>';
  }
  var tree = document.getElementById('tree');
  tree.innerHTML = draw(r.data);
  tree.addEventListener('click', function (e) {
    var u = e.target.getAttribute('data-url');
    if (u) location.href = u;
  });
});"""
TREE = {"code": 0, "data": [
    {"id": "101", "name": "机构职能", "url": "/zwgk/xxgkml/list.html?catalog=101", "children": []},
    {"id": "1", "name": "法定主动公开内容", "children": [
        {"id": "102", "name": "政策文件", "url": "/zwgk/xxgkml/list.html?catalog=102", "children": []},
        {"id": "105", "name": "政府信息公开年报", "url": "/zwgk/xxgkml/list.html?catalog=105", "children": []}]}]}
LIST_SHELL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>信息公开目录</title>{off}</head>
<body><ul id="docs"></ul><div class="page-box"></div><script src="/zwgk/xxgkml/js/docs.js"></script></body></html>"""
DOCS_JS = """(function () {
  var catalog = (location.search.match(/catalog=(\\d+)/) || [])[1];
  function load(p) {
    fetch('/zwgk/api/doc/list', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ catalogId: catalog, pindex: p, psize: 4 }) })
      .then(function (r) { return r.json(); }).then(function (r) {
        document.getElementById('docs').innerHTML = r.data.rows.map(function (d) {
          return '<li><a href="' + d.url + '" target="_blank">' + d.title + '</a><span>' + d.date + '</span></li>';
        }).join('');
        document.querySelector('.page-box').innerHTML = '共' + r.data.pageInfo.sum + '条 跳转到 ' +
          '<input class="jump" size="2"> 页 <button class="go">GO</button>';
        document.querySelector('.go').onclick = function () { load(+document.querySelector('.jump').value || 1); };
      });
  }
  load(1);
})();"""
VIEWER = "/static/pdfjs/web/viewer.html?file="
TREE_ROWS = [  # title, detail page, what the detail page shows: ("pdf", file) or ("text", doc) or None
    ("青岛市经济和信息化委员会2018年政府信息公开工作年度报告", "/zwgk/xxgkml/detail/1.html", ("pdf", "gen-qingdao-econ-2018.pdf")),
    ("2024年政务公开工作要点", "/zwgk/xxgkml/detail/2.html", None),
    ("平潭综合实验区管委会2017年政府信息公开工作年度报告", "/zwgk/xxgkml/detail/3.html", ("pdf", "pingtan-zone-2017.pdf")),
    ("淄博市大数据局2023年政府信息公开工作年度报告", "/zwgk/xxgkml/detail/4.html", ("text", "zibo-bigdata-2023.txt")),
    ("2014年部门预算", "/zwgk/xxgkml/detail/5.html", ("pdf", "gen-budget-2014.pdf")),
    ("平潭综合实验区管委会2023年政府信息公开工作年度报告", "/zwgk/xxgkml/detail/6.html", ("pdf", "pingtan-zone-2023.pdf")),
    ("关于做好2023年政府信息公开工作年度报告编制发布工作的通知", "/zwgk/xxgkml/detail/7.html", None),
    ("平潭综合实验区管委会2021年政府信息公开工作年度报告", "/zwgk/xxgkml/detail/8.html", ("text", "pingtan-zone-2021.txt")),
    ("2023年法治政府建设年度报告", "/zwgk/xxgkml/detail/9.html", None),
]


def detail_page(title: str, shows) -> bytes:
    if shows and shows[0] == "text":
        return article(title, shows[1])
    if not shows:
        return lookalike(title)
    # The record's page shows its PDF through pdf.js only (a relative file= against the viewer).
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<h1>{title}</h1><div class="att"><a href="{VIEWER}..%2F..%2F..%2Fuploads%2F{shows[1]}" '
            f'target="_blank">在线阅读</a></div></body></html>').encode()


def tree_reply(body: dict) -> bytes:
    rows = TREE_ROWS if str(body.get("catalogId")) == "105" else []
    n, size = int(body.get("pindex", 1)), int(body.get("psize", 4))
    page = rows[(n - 1) * size: n * size] if n >= 1 else []
    return json.dumps({"code": 0, "data": {
        "pageInfo": {"sum": len(rows), "size": size},
        "rows": [{"title": t, "url": u, "date": "2024-01-20"} for t, u, _ in page]}}, ensure_ascii=False).encode()


# ----------------------------------------------------------------------------- gbk-jsonp
GBK_PAGE = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>政府信息公开年报</title>{off}</head><body><div class="crumb">首页 &gt; 信息公开 &gt; 年报</div>
<ul id="list"></ul><div class="page">共<span id="count">0</span>条 <a href="javascript:void(0)">下一页</a></div>
<script>
function showList(r) {{
  var ul = document.getElementById('list');
  r.docs.forEach(function (d) {{ ul.innerHTML += '<li><a href="' + d.DocPubUrl + '">' + d.DocTitle + '</a></li>'; }});
  document.getElementById('count').innerHTML = r.RecordCount;
}}
var s = document.createElement('script');
s.src = '/interface/getdocs.jsp?chnl=nb&from=0&rows=5&callback=showList';
document.body.appendChild(s);
</script></body></html>"""
GBK_ROWS = [
    ("平潭县人民政府2012年政府信息公开工作年度报告", "/xxgk/nb/2013/01.htm", "pingtan-county-2012.txt"),
    ("2013年政务公开工作要点", "/xxgk/nb/2013/02.htm", None),
    ("平潭综合实验区地方税务局2013年政府信息公开工作年度报告", "/xxgk/nb/2014/03.htm", "pingtan-dishui-2013.txt"),
    ("平潭县2014年部门预算", "/xxgk/nb/2014/04.htm", None),
    ("平潭县人民政府2013年工作总结", "/xxgk/nb/2013/05.htm", None),
    ("平潭综合实验区管委会2011年政府信息公开工作年度报告", "/xxgk/nb/2012/06.htm", "pingtan-zone-2011.txt"),
    ("县政府召开政府信息公开工作培训会", "/xxgk/nb/2012/07.htm", None),
    ("青岛市大数据发展管理局2020年政府信息公开工作年度报告", "/xxgk/nb/files/qd2020.docx", "gen-qingdao-bigdata-2020.docx"),
    ("平潭县政府信息公开制度汇编（2012年）", "/xxgk/nb/2012/09.htm", None),
    ("平潭综合实验区管委会2017年政府信息公开工作年度报告", "/xxgk/nb/2018/10.htm", "pingtan-zone-2017.txt"),
    ("2012年度网站工作年度报表", "/xxgk/nb/2013/11.htm", None),
    ("青岛市经济和信息化委员会2018年政府信息公开工作年度报告", "/xxgk/nb/files/qd2018.pdf", "gen-qingdao-econ-2018.pdf"),
]


def gbk_reply(q: dict) -> bytes:
    ok = q.get("chnl") == "nb"
    start, rows = int(q.get("from", 0)), int(q.get("rows", 5))
    page = GBK_ROWS[start: start + rows] if ok else []
    body = json.dumps({"RecordCount": len(GBK_ROWS) if ok else 0,
                       "docs": [{"DocTitle": t, "DocPubUrl": u} for t, u, _ in page]}, ensure_ascii=False)
    return f"{q.get('callback', 'cb')}({body});".encode("gb18030")


# ----------------------------------------------------------------------------- gopage-form
GOPAGE_ROWS = [
    ("平潭综合实验区管委会2019年政府信息公开工作年度报告", "/gk/art/2020/1.html", "pingtan-zone-2019.txt"),
    ("2020年政务公开工作要点", "/gk/art/2020/2.html", None),
    ("平潭县人民政府2013年政府信息公开工作年度报告", "/gk/art/2014/3.html", "pingtan-county-2013.txt"),
    ("平潭综合实验区管委会2014年政府信息公开工作年度报告", "/gk/art/2015/4.html", "pingtan-zone-2014.txt"),
    ("2014年度部门决算", "/gk/art/2015/5.html", None),
    ("关于报送2014年政府信息公开工作年度报告的函", "/gk/art/2015/6.html", None),
    ("淄博市大数据局2023年政府信息公开工作年度报告", "/gk/art/2024/7.html", "zibo-bigdata-2023.txt"),
]


def gopage_list(form: dict, off: int) -> bytes:
    ok = form.get("channelId", "77") == "77"
    n = int(form.get("pageIndex", 1) or 1)
    pages = -(-len(GOPAGE_ROWS) // 3)
    rows = GOPAGE_ROWS[(n - 1) * 3: n * 3] if ok else []
    items = "".join(f'<li><a href="{u}" target="_blank">{t}</a><span>2024-01-20</span></li>' for t, u, _ in rows)
    nxt = f'<a href="javascript:goPage({n + 1})">下一页</a>' if n < pages else '<span class="disabled">下一页</span>'
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报</title>{OFF.format(off=off)}</head>'
            '<body><div class="crumb"><a href="/gk/index.html">首页</a> &gt; 年报</div>'
            '<form name="listForm" id="listForm" method="post" action="/gk/nb/list.do">'
            f'<input type="hidden" name="channelId" value="77"><input type="hidden" name="pageIndex" value="{n}"></form>'
            f'<ul class="list">{items}</ul><div class="pager">共{len(GOPAGE_ROWS)}条 第{n}/{pages}页 {nxt}</div>'
            '<script>function goPage(n) { var f = document.forms["listForm"]; f.pageIndex.value = n; f.submit(); }'
            '</script></body></html>').encode()


# ----------------------------------------------------------------------------- search-only
def home_page(title: str, body: str, off: int) -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{OFF.format(off=off)}</head><body>'
            '<div class="top"><form name="searchform" action="/was5/web/search" method="get" target="_blank">'
            '<input type="hidden" name="channelid" value="236713"><input type="text" name="searchword" '
            'placeholder="请输入关键词"><input type="submit" value="搜索"></form></div>'
            '<div class="nav"><a href="/s/index.html">首页</a><a href="/s/zwgk/index.html">政务公开</a>'
            f'<a href="/s/hdjl/index.html">互动交流</a></div>{body}'
            f'<div class="links"><a href="http://127.0.0.2:{off}/">中国政府网</a></div></body></html>').encode()


SEARCH_ROWS = [
    ("平潭综合实验区管委会2024年政府信息公开工作年度报告", "/s/art/2025/1.html", "pingtan-zone-2024.html"),
    ("关于报送2024年政府信息公开工作年度报告的通知", "/s/art/2025/2.html", None),
    ("青岛市大数据发展管理局2023年政府信息公开工作年度报告", "/s/art/2024/3.html", "qingdao-bigdata-2023-mirror.txt"),
    ("定海区人民政府2022年政府信息公开工作年度报告", "/s/art/2023/4.html", "dinghai-2022-mirror.txt"),
]


def search_reply(q: dict) -> bytes:
    hits = SEARCH_ROWS if q.get("channelid") == "236713" and "年度报告" in q.get("searchword", "") else []
    n = int(q.get("page", 1))
    page = hits[(n - 1) * 2: n * 2]
    rows = "".join(f'<li><a href="{u}" target="_blank">{t}</a><span>2025-01-20</span></li>' for t, u, _ in page)
    more = (f'<a href="/was5/web/search?channelid=236713&amp;searchword={q.get("searchword")}&amp;page={n + 1}">'
            '下一页</a>') if n * 2 < len(hits) else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>检索结果</title></head><body>'
            f'<div class="result"><ul>{rows}</ul></div><div class="page">共{len(hits)}条 {more}</div></body></html>').encode()


def make_pages(off: int) -> dict:
    o = OFF.format(off=off)
    pages = {
        "/xxgk/nb/index.html": ("text/html; charset=utf-8", BOX_PAGE.format(off=o).encode()),
        "/xxgk/js/list.js": ("application/javascript", BOX_JS.encode()),
        "/zwgk/xxgkml/index.html": ("text/html; charset=utf-8", TREE_PAGE.format(off=o).encode()),
        "/zwgk/xxgkml/js/tree.js": ("application/javascript", TREE_JS.encode()),
        "/zwgk/xxgkml/list.html": ("text/html; charset=utf-8", LIST_SHELL.format(off=o).encode()),
        "/zwgk/xxgkml/js/docs.js": ("application/javascript", DOCS_JS.encode()),
        "/zwgk/api/catalog/tree": ("application/json", json.dumps(TREE, ensure_ascii=False).encode()),
        "/col/nb/index.htm": ("text/html", GBK_PAGE.format(off=o).encode("gb18030")),
        "/s/index.html": ("text/html; charset=utf-8", home_page("某某县人民政府", (
            '<div class="news"><a href="/s/news/1.html">我县召开2024年政务公开工作推进会</a></div>'), off)),
        "/s/zwgk/index.html": ("text/html; charset=utf-8", home_page("政务公开", (
            '<ul class="menu"><li><a href="/s/zwgk/jgzn.html">机构职能</a></li>'
            '<li><a href="/s/zwgk/zcwj.html">政策文件</a></li><li><a href="/s/zwgk/ghjh.html">规划计划</a></li></ul>'),
            off)),
        "/s/zwgk/zcwj.html": ("text/html; charset=utf-8", home_page("政策文件", (
            '<ul><li><a href="/s/zwgk/zcwj/1.html">某某县人民政府关于印发2024年重点工作的通知</a></li></ul>'), off)),
    }
    for title, url, doc in BOX_ROWS:
        pages[url] = ("text/html; charset=utf-8", article(title, doc) if doc else lookalike(title))
    for title, url, shows in TREE_ROWS:
        pages[url] = ("text/html; charset=utf-8", detail_page(title, shows))
        if shows and shows[0] == "pdf":
            pages[f"/uploads/{shows[1]}"] = ("application/pdf", (DOCS / shows[1]).read_bytes())
    for title, url, doc in GBK_ROWS:
        if doc and doc.endswith((".pdf", ".docx")):
            pages[url] = ("application/octet-stream", (DOCS / doc).read_bytes())
        else:
            pages[url] = ("text/html", article(title, doc, "gbk") if doc else lookalike(title, "gbk"))
    for title, url, doc in GOPAGE_ROWS:
        pages[url] = ("text/html; charset=utf-8", article(title, doc) if doc else lookalike(title))
    for title, url, doc in SEARCH_ROWS:
        if doc and doc.endswith(".html"):
            pages[url] = ("text/html; charset=utf-8", (DOCS / doc).read_bytes())
        else:
            pages[url] = ("text/html; charset=utf-8", article(title, doc) if doc else lookalike(title))
    return pages


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    off_hits: list[str] = []

    off = off_site(off_hits)
    pages = make_pages(off.server_address[1])
    asked: list[tuple[str, str, str]] = []          # (method, path with query, body)

    class Portal(QuietHandler):
        def do_GET(self):
            self._answer(b"")

        def do_POST(self):
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _answer(self, body: bytes):
            parts = urlsplit(self.path)
            asked.append((self.command, self.path, body.decode("utf-8", "replace")))
            q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/xxgk/list.do" and self.command == "POST":
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                return self._send("text/xml; charset=utf-8", box_reply(form))
            if parts.path == "/zwgk/api/doc/list" and self.command == "POST":
                return self._send("application/json;charset=UTF-8", tree_reply(json.loads(body or b"{}")))
            if parts.path == "/interface/getdocs.jsp":
                return self._send("application/javascript", gbk_reply(q))
            if parts.path == "/gk/nb/list.do":
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                return self._send("text/html; charset=utf-8", gopage_list(form, off.server_address[1]))
            if parts.path == "/was5/web/search":
                return self._send("text/html; charset=utf-8", search_reply(q))
            found = pages.get(parts.path)
            if found is None:
                return self._send("text/html", b"<h1>404</h1>", 404)
            self._send(*found)

    portal = serve("127.0.0.1", Portal)
    base = f"http://127.0.0.1:{portal.server_address[1]}"
    tmp = tmp_path_factory.mktemp("replay-portals")
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [
        {"name": "scroll-box", "start_url": base + "/xxgk/nb/index.html"},
        {"name": "catalog-tree", "start_url": base + "/zwgk/xxgkml/index.html"},
        {"name": "gbk-jsonp", "start_url": base + "/col/nb/index.htm"},
        {"name": "gopage-form", "start_url": base + "/gk/nb/list.do"},
        {"name": "search-only", "start_url": base + "/s/index.html"}]}, allow_unicode=True), encoding="utf-8")
    capped = tmp / "capped.yaml"       # the same list under a list-page budget too small for it
    capped.write_text(yaml.safe_dump({"portals": [
        {"name": "scroll-box-capped", "start_url": base + "/xxgk/nb/index.html", "max_list_pages": 2}]}),
        encoding="utf-8")
    try:
        result = run_ogi(*crawl_args(registry, tmp / "ogi.db"), check=False)
        first = list(asked)
        run_ogi(*crawl_args(capped, tmp / "capped.db"), check=False)
    finally:
        portal.shutdown()
        off.shutdown()
    return {"db": sqlite_utils.Database(tmp / "ogi.db"), "capped": sqlite_utils.Database(tmp / "capped.db"),
            "off_hits": off_hits, "asked": first, "base": base,
            "stdout": result.stdout, "stderr": result.stderr}


def found_by(db, portal: str) -> set:
    return {(r["agency"], r["year"]) for r in db.query(
        "select distinct r.agency, r.year from reports r join sightings s on s.report_id = r.id "
        "join urls u on u.url = s.url where u.portal = ?", [portal])}


def test_a_list_loaded_on_scroll_inside_a_box_is_replayed_by_its_form_post(replayed):
    assert found_by(replayed["db"], "scroll-box") == {
        ("平潭综合实验区管委会", 2019), ("平潭综合实验区管委会", 2018), ("青岛市经济和信息化委员会", 2018),
        ("平潭综合实验区管委会", 2014), ("平潭综合实验区管委会", 2013)}
    posts = [b for m, p, b in replayed["asked"] if p == "/xxgk/list.do"]
    assert {"catId=ndbg&start=2&end=3", "catId=ndbg&start=3&end=3"} <= set(posts), posts
    assert len(posts) <= 5, posts          # page 1, a wrong offset probe, pages 2 and 3; nothing past the total


def test_a_catalog_tree_and_a_json_body_list_with_pdf_viewers(replayed):
    assert found_by(replayed["db"], "catalog-tree") == {
        ("青岛市经济和信息化委员会", 2018), ("平潭综合实验区管委会", 2017), ("淄博市大数据局", 2023),
        ("平潭综合实验区管委会", 2023), ("平潭综合实验区管委会", 2021)}
    bodies = [json.loads(b) for m, p, b in replayed["asked"] if p == "/zwgk/api/doc/list"]
    assert sorted(b["pindex"] for b in bodies if b["catalogId"] == "105") == [1, 2, 3], bodies
    asked = {p for _, p, _ in replayed["asked"]}
    assert not any(p.startswith("/static/pdfjs/") for p in asked)      # the file, not its viewer
    assert "/uploads/gen-budget-2014.pdf" not in asked                   # a budget's title is judged first


def test_gbk_jsonp_paged_by_its_offset(replayed):
    assert found_by(replayed["db"], "gbk-jsonp") == {
        ("平潭县人民政府", 2012), ("平潭综合实验区地方税务局", 2013), ("平潭综合实验区管委会", 2011),
        ("青岛市大数据发展管理局", 2020), ("平潭综合实验区管委会", 2017), ("青岛市经济和信息化委员会", 2018)}
    offsets = sorted(int(parse_qs(urlsplit(p).query)["from"][0]) for _, p, _ in replayed["asked"]
                     if p.startswith("/interface/getdocs.jsp"))
    assert offsets == [0, 5, 10], offsets
    titles = {r["link_text"] for r in replayed["db"].query(
        "select link_text from candidates where portal = 'gbk-jsonp' and decision = 'reject'")}
    assert "平潭县2014年部门预算" in titles            # GBK titles read right


def test_a_pager_that_posts_a_hidden_form_is_clicked(replayed):
    assert found_by(replayed["db"], "gopage-form") == {
        ("平潭综合实验区管委会", 2019), ("平潭县人民政府", 2013), ("平潭综合实验区管委会", 2014), ("淄博市大数据局", 2023)}
    posts = {b for m, p, b in replayed["asked"] if p == "/gk/nb/list.do" and m == "POST"}
    assert posts == {"channelId=77&pageIndex=2", "channelId=77&pageIndex=3"}, posts


def test_site_search_when_the_menus_lead_nowhere(replayed):
    db, base = replayed["db"], replayed["base"]
    assert found_by(db, "search-only") == {
        ("平潭综合实验区管委会", 2024), ("青岛市大数据发展管理局", 2023), ("定海区人民政府", 2022)}
    referrer = {r["url"]: r["referrer"] for r in db.query("select url, referrer from urls where portal = 'search-only'")}
    hop, path = base + "/s/art/2023/4.html", []
    while hop:
        path.append(hop.replace(base, "").split("?")[0])
        hop = referrer.get(hop)
    assert path[::-1] == ["/s/index.html", "/was5/web/search", "/was5/web/search", "/s/art/2023/4.html"]
    searches = [p for _, p, _ in replayed["asked"] if p.startswith("/was5/web/search")]
    assert len(searches) == 2, searches     # one search, its two result pages


def test_every_stated_total_is_met(replayed):
    db = replayed["db"]
    assert not list(db.query("select portal, url, message from errors where kind = 'list_incomplete'"))
    assert not list(db.query("select portal, kind from errors where kind like 'budget_%'"))
    # The crawl summary's stated-vs-found table: one line per list that states its total.
    lines = replayed["stdout"].splitlines()
    table = lines[next(i for i, ln in enumerate(lines) if ln.split()[:3] == ["portal", "stated", "found"]) + 1:]
    per_list = {ln.split()[0]: (int(ln.split()[1]), int(ln.split()[2])) for ln in table
                if len(ln.split()) == 4 and ln.split()[1].isdigit()}
    assert per_list == {"scroll-box": (8, 8), "catalog-tree": (9, 9), "gbk-jsonp": (12, 12), "gopage-form": (7, 7),
                        "search-only": (4, 4)}


def test_a_replay_stops_at_the_list_page_budget_and_says_so(replayed):
    db = replayed["capped"]
    kinds = {r["kind"]: r["message"] for r in db.query("select kind, message from errors")}
    assert "budget_list_pages" in kinds
    assert "states 8 records; 6" in kinds["list_incomplete"]


def test_nothing_is_asked_of_the_off_site_host(replayed):
    assert replayed["off_hits"] == []
