"""The bundled sample portals answer as designed, and their ground truth matches their link graph.

Only 127.0.0.1 is ever contacted (the off-site link in the fixture is checked in the HTML, never fetched).
"""
from __future__ import annotations

import base64
import html
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harvester.sample_portals import registry, start, truth

SLOW = 1.5   # the timeout page's delay in these tests (default 10 s)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


_plain = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
_follow = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url, data=None, follow=False, timeout=5.0):
    """(status, headers, body) without following redirects unless asked; HTTP errors are answers."""
    assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", url
    url = urllib.parse.quote(url, safe=":/?&=%#+;,@")   # raw non-ASCII in links, as browsers send it
    req = urllib.request.Request(url, data=data)
    try:
        with (_follow if follow else _plain).open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture(scope="module")
def portals():
    s = start(port=0, slow_delay=SLOW)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gt(portals):
    return truth(portals.base_url)


def path_of(url):
    p = urllib.parse.urlsplit(url)
    return p.path + (f"?{p.query}" if p.query else "")


# --------------------------------------------------------------------------- API and truth shape

def test_start_stop_and_context_manager():
    with start(port=0) as s:
        assert s.base_url.startswith("http://127.0.0.1:")
        assert fetch(s.base_url + "/robots.txt")[0] == 200
        port = s.port
    with socket.socket() as sock:   # the port is free again
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_registry_rows(portals):
    rows = registry(portals.base_url)
    assert len(rows) == 6
    assert len({r["name"] for r in rows}) == len(rows)
    for r in rows:
        assert r["start_url"].startswith(portals.base_url + "/")
        status, headers, body = fetch(r["start_url"].split("#")[0])
        assert status == 200 and headers["Content-Type"].startswith("text/html"), r


def test_truth_shape(gt):
    reports = gt["reports"]
    keys = {(r["agency"], r["year"]) for r in reports}
    assert len(keys) == len(reports) == 19
    assert all(r["template"] in {"2021", "2019", "pre2019"} for r in reports)
    assert len(set(gt["report_urls"])) == len(gt["report_urls"])
    assert len(set(gt["distractor_urls"])) == len(gt["distractor_urls"])
    assert not set(gt["report_urls"]) & set(gt["distractor_urls"])
    kinds = {b["kind"] for b in gt["broken"]}
    assert kinds == {"http_404", "http_500", "timeout", "redirect_loop", "malformed_html", "truncated_pdf",
                     "not_a_report", "soft_404"}
    for b in gt["broken"]:   # not_a_report files are distractors, malformed pages are still reports
        if b["kind"] == "not_a_report":
            assert b["url"] in gt["distractor_urls"]
        elif b["kind"] == "malformed_html":
            assert b["url"] in gt["report_urls"]
        else:
            assert b["url"] not in gt["report_urls"] and b["url"] not in gt["distractor_urls"]
    assert gt["offsite_urls"] and all("127.0.0.1" not in u for u in gt["offsite_urls"])


# --------------------------------------------------------------------------- every truth URL answers as designed

def _kind(body: bytes) -> str:
    if body.startswith(b"%PDF"):
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        return "docx"
    if body.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"
    return "html"


def test_report_urls_answer(gt):
    for url in gt["report_urls"]:
        status, headers, body = fetch(url, follow=True)
        assert status == 200, url
        kind = _kind(body)
        ctype = headers["Content-Type"]
        if kind == "html":
            assert ctype.startswith("text/html"), url
            text = body.decode("utf-8") if "utf-8" in ctype.lower() else body.decode("gbk")
            assert re.search(r"年度(报告|報告)|工作(报告|報告)", text), url
        elif kind == "pdf":
            assert body.rstrip().endswith(b"%%EOF"), url
        elif kind == "docx":
            assert b"word/document.xml" in body, url
        else:
            assert kind == "doc" and headers["Content-Type"] == "application/msword", url


def test_distractors_answer(gt):
    for url in gt["distractor_urls"]:
        status, headers, body = fetch(url, follow=True)
        assert status == 200, url


def test_gbk_site_has_no_charset_header(portals, gt):
    gbk = [u for u in gt["report_urls"] + gt["distractor_urls"] if "/ptx/" in u and u.endswith(".htm")]
    assert len(gbk) >= 6
    for url in gbk + [portals.base_url + "/ptx/zwgk/gknb/index.html", portals.base_url + "/ptx/zwgk/gknb/list_2.html"]:
        status, headers, body = fetch(url)
        assert status == 200 and headers["Content-Type"] == "text/html", url
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert "平潭" in body.decode("gbk"), url
    first = fetch(portals.base_url + "/ptx/zwgk/gknb/index.html")[2]
    second = fetch(portals.base_url + "/ptx/zwgk/gknb/list_2.html")[2]
    assert b"charset=gb2312" in first and b"charset" not in second
    assert "下一页" in first.decode("gbk") and 'href="list_2.html"' in first.decode("gbk")
    art = fetch(portals.base_url + "/ptx/zwgk/gknb/2014-01/22/content_80754.htm")[2].decode("gbk")
    assert "window.open('/ptx/uploadfiles/201401/20140122093311.pdf')" in art


def test_broken_cases(portals, gt):
    by_kind = {}
    for b in gt["broken"]:
        by_kind.setdefault(b["kind"], []).append(b["url"])
    for url in by_kind["http_404"]:
        assert fetch(url)[0] == 404
    for url in by_kind["http_500"]:
        assert fetch(url)[0] == 500
    for url in by_kind["soft_404"]:
        status, headers, body = fetch(url)
        assert status == 200 and "页面不存在" in body.decode("gbk" if "/ptx/" in url else "utf-8")
    for url in by_kind["redirect_loop"]:
        s1, h1, _ = fetch(url)
        assert s1 == 302
        b_url = urllib.parse.urljoin(url, h1["Location"])
        assert b_url != url
        s2, h2, _ = fetch(b_url)
        assert s2 == 302 and urllib.parse.urljoin(b_url, h2["Location"]) == url
    for url in by_kind["truncated_pdf"]:
        body = fetch(url)[2]
        assert body.startswith(b"%PDF") and b"%%EOF" not in body[-1024:]
    for url in by_kind["not_a_report"]:
        status, _, body = fetch(url, follow=True)
        assert status == 200 and "年度报告" not in body.decode("utf-8", "ignore")
    for url in by_kind["malformed_html"]:
        body = fetch(url)[2].decode("utf-8")
        assert "</html>" not in body and "年度报告" in body


def test_timeout_endpoint_delays(gt):
    (url,) = [b["url"] for b in gt["broken"] if b["kind"] == "timeout"]
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        fetch(url, timeout=0.5)
    t0 = time.monotonic()
    status, _, _ = fetch(url, timeout=SLOW + 5)
    assert status == 200 and time.monotonic() - t0 >= SLOW - 0.1


# --------------------------------------------------------------------------- family mechanics

def test_trs_pager_only_in_script(portals):
    base = portals.base_url + "/pingtan/zwgk/zfxxgk/zfxxgknb/"
    first = fetch(base + "index.html")[2].decode("utf-8")
    assert 'createPageHTML(3, 0, "index", "html")' in first and "var countPage = 3" in first
    assert not re.search(r'href="index_\d', first)
    assert fetch(base + "index_1.html")[0] == 200 and fetch(base + "index_2.html")[0] == 200
    assert fetch(base + "index_3.html")[0] == 404
    assert 'href="./2019n/index.html"' in first and 'href="../../../bm/dsj/zfxxgknb/index.html"' in first
    art = fetch(base + "202403/t20240308_87885.html")[2].decode("utf-8")
    assert "var curHref = './P020240308612534470745.pdf'" in art
    assert not re.search(r'href="[^"]*P020240308612534470745', art)
    assert 'href="./t20240308_87885_wap.html"' in art


def test_robots_and_offsite(portals, gt):
    robots = fetch(portals.base_url + "/robots.txt")[2].decode()
    assert "Disallow: /pingtan/admin/" in robots
    first = fetch(portals.base_url + "/pingtan/zwgk/zfxxgk/zfxxgknb/index.html")[2].decode("utf-8")
    for u in gt["disallowed_urls"]:
        assert path_of(u) in first and path_of(u).startswith("/pingtan/admin/")
    for u in gt["offsite_urls"]:
        assert u in first


def _records(xml_text):
    return re.findall(r"<record><!\[CDATA\[(.*?)\]\]></record>", xml_text, re.S)


def test_hanweb_datastore_and_dataproxy(portals, gt):
    base = portals.base_url
    page = fetch(base + "/col/col121375/index.html")[2].decode("utf-8")
    embedded = _records(page)
    m = re.search(r"totalRecord:\s*(\d+),\s*perPage:\s*(\d+)", page)
    total, per = int(m.group(1)), int(m.group(2))
    assert len(embedded) == per < total
    assert '<script type="text/xml">' in page and "<nextgroup>" in page
    # POST as the scrapers do
    form = urllib.parse.urlencode({"col": 1, "appid": 1, "webid": 1, "path": "/", "columnid": 121375,
                                   "sourceContentType": 1, "unitid": 398765, "webname": "青岛市人民政府",
                                   "permissiontype": 0}).encode()
    got = []
    for start_rec in range(1, total + 1, per):
        q = f"startrecord={start_rec}&endrecord={start_rec + per - 1}&perpage={per}"
        status, headers, body = fetch(base + "/module/web/jpage/dataproxy.jsp?" + q, data=form)
        xml = body.decode("utf-8")
        assert status == 200 and "xml" in headers["Content-Type"]
        assert f"<totalrecord>{total}</totalrecord>" in xml
        got += _records(xml)
    assert len(got) == total and got[:per] == embedded
    # GET page=N variant
    n_pages = (total + per - 1) // per
    got_get = []
    for n in range(1, n_pages + 1):
        xml = fetch(base + f"/module/web/jpage/dataproxy.jsp?page={n}&webid=1&columnid=121375&unitid=398765"
                           f"&perpage={per}")[2].decode("utf-8")
        got_get += _records(xml)
    assert got_get == got
    # the path matters
    assert fetch(base + "/module/jpage/dataproxy.jsp?page=1&columnid=121375")[0] == 404
    # attachments: 302 to /attach/0/, octet-stream, with and without Content-Disposition
    downs = [u for u in gt["report_urls"] if "downfile.jsp" in u]
    assert len(downs) == 2
    dispositions = []
    for u in downs:
        status, headers, _ = fetch(u)
        assert status == 302 and headers["Location"].startswith("/attach/0/")
        s2, h2, body = fetch(urllib.parse.urljoin(u, headers["Location"]))
        assert s2 == 200 and h2["Content-Type"] == "application/octet-stream"
        assert _kind(body) in {"pdf", "docx"}
        dispositions.append(h2.get("Content-Disposition"))
    assert None in dispositions and any(dispositions)


def test_gkmlpt_shell_and_api(portals, gt):
    base = portals.base_url
    shell = fetch(base + "/gkmlpt/annualreport")[2].decode("utf-8")
    assert "SID: '755031'" in shell and "post_" not in shell
    seen, page = [], 1
    while True:
        status, headers, body = fetch(base + f"/gkmlpt/api/all/2629?page={page}&sid=755031")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        d = json.loads(body)
        if not d["articles"]:
            break
        for a in d["articles"]:
            assert {"id", "title", "url", "publisher", "create_time", "display_publish_time"} <= set(a)
            assert a["url"].startswith(base + "/gkmlpt/content/")
            seen.append(a["url"])
        page += 1
    assert len(seen) == d["total"] == 7 and page - 1 == 3
    assert json.loads(fetch(base + "/gkmlpt/api/all/2629?page=1&sid=1")[2])["total"] == 0
    gk_truth = [u for u in gt["report_urls"] + gt["distractor_urls"] if "/gkmlpt/" in u]
    assert set(gk_truth) <= set(seen)


def test_browser_only_list_has_no_links_in_html(portals, gt):
    col = portals.base_url + "/gate/big5/www.dinghai.gov.cn/col/col1229563/"
    for page in ("index.html", "index_2.html"):
        raw = fetch(col + page)[2].decode("utf-8")
        assert "var itemObj" in raw and "document.write" in raw
        tags = re.findall(r"<a\b[^>]*href=\"([^\"]+)\"", re.sub(r"<script.*?</script>", "", raw, flags=re.S))
        assert not any("/art/" in t for t in tags)
        b64 = re.search(r'<div id="pageData"[^>]*>([^<]+)</div>', raw).group(1)
        pager = urllib.parse.unquote(base64.b64decode(b64).decode("ascii"))
        assert "index" in pager
    rep = [u for u in gt["report_urls"] if "dinghai" in u]
    assert len(rep) == 1


def test_trs_dynamic_static_page_and_api(portals):
    base = portals.base_url
    page = fetch(base + "/fujian/zwgk/zfxxgkzl/gknb/index.htm")[2].decode("utf-8")
    assert 'quickMode: "动静结合"' in page and "recordCount: '8'" in page
    static = re.findall(r'<li><a href="([^"]+)"', page)
    assert 'url: "/fujian/trsapi/list"' in page and 'ms-attr-href="el.url"' in page
    assert len(static) == 3
    urls = []
    for n in (1, 2, 3):
        d = json.loads(fetch(base + f"/fujian/trsapi/list?channelid=5327&page={n}&prepage=3")[2])
        urls += [x["docpuburl"] for x in d["data"]["list"]]
    assert len(urls) == 8 and d["data"]["total"] == 8
    assert [urllib.parse.urljoin(base + "/fujian/zwgk/zfxxgkzl/gknb/index.htm", s) for s in static] == \
        [base + u for u in urls[:3]]


# --------------------------------------------------------------------------- truth == link graph

def _links(url: str, body: bytes, ctype: str) -> list[str]:
    """Every link a family-aware crawler can find: hrefs, CDATA records, scripts (curHref, window.open,
    itemObj, atob pagers, createPageHTML, jpage/gkmlpt/trsapi APIs)."""
    if not ctype.startswith(("text/html", "text/xml", "application/json")):
        return []
    if "json" in ctype:
        d = json.loads(body)
        if "articles" in d:
            return [a["url"] for a in d["articles"]]
        return [urllib.parse.urljoin(url, x["docpuburl"]) for x in (d.get("data") or {}).get("list", [])]
    text = body.decode("utf-8") if "utf-8" in ctype.lower() else body.decode("gbk")
    no_script = re.sub(r"<script\b.*?</script>", "", text, flags=re.S)
    cdata = "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", text, re.S))
    found = [html.unescape(h) for h in re.findall(r'(?<![\w-])href="([^"#][^"]*)"', no_script + cdata)]
    found += re.findall(r"window\.open\('([^']+)'\)", text)
    found += re.findall(r"var curHref = '([^']+)'", text)
    found += re.findall(r'url:"([^"]+)"', text)
    for b64 in re.findall(r'<div id="pageData"[^>]*>([^<]+)</div>', text):
        found += re.findall(r'href="([^"]+)"', urllib.parse.unquote(base64.b64decode(b64).decode()))
    m = re.search(r'createPageHTML\((\d+), \d+, "index", "html"\)', text)
    if m:
        found += [f"index_{i}.html" for i in range(1, int(m.group(1)))]
    if "jpage(" in text:
        found += [f"/module/web/jpage/dataproxy.jsp?page={n}&webid=1&columnid=121375&unitid=398765&perpage=5"
                  for n in range(1, 4)]
    m = re.search(r"SID: '(\d+)'", text)
    if m:
        found += [f"/gkmlpt/api/all/2629?page={n}&sid={m.group(1)}" for n in range(1, 4)]
    if "list2.trsapi" in text:
        found += [f"/fujian/trsapi/list?channelid=5327&page={n}&prepage=3" for n in range(1, 4)]
    return [urllib.parse.urljoin(url, f) for f in found if not f.startswith(("javascript:", "mailto:"))]


def test_truth_matches_link_graph(portals, gt):
    base = portals.base_url
    slow = {b["url"] for b in gt["broken"] if b["kind"] == "timeout"}
    disallowed = set(gt["disallowed_urls"])
    todo = [r["start_url"].split("#")[0] for r in registry(base)]
    seen, answers = set(todo), {}
    offsite = set()
    while todo:
        url = todo.pop()
        if url in slow:
            answers[url] = "timeout"
            continue
        status, headers, body = fetch(url)
        answers[url] = status
        if status in (301, 302):
            nxt = [urllib.parse.urljoin(url, headers["Location"])]
        elif status == 200:
            nxt = _links(url, body, headers.get("Content-Type", ""))
        else:
            nxt = []
        for n in nxt:
            n = n.split("#")[0]
            if not n.startswith(base + "/"):
                offsite.add(n)
                continue
            if n in disallowed or n in seen:
                continue
            seen.add(n)
            todo.append(n)
    assert len(seen) < 200
    html_pages = {u for u, s in answers.items() if s == 200}
    # every truth URL is reachable from the registry's start pages
    for u in gt["report_urls"] + gt["distractor_urls"] + [b["url"] for b in gt["broken"]]:
        assert u in answers, u
    # every reachable document page is in the truth; the rest are columns, APIs and assets
    known = (set(gt["report_urls"]) | set(gt["distractor_urls"]) | {b["url"] for b in gt["broken"]}
             | set(gt["column_urls"]))
    for u in html_pages - known:
        assert re.search(r"(dataproxy\.jsp|/api/|trsapi|\.(js|css|png|gif)$|redirect=1)", u), u
    # the only failures are the designed ones
    failing = {u for u, s in answers.items() if s not in (200, 301, 302)}
    designed = {b["url"] for b in gt["broken"] if b["kind"] in ("http_404", "http_500", "timeout")}
    assert failing == designed
    assert set(gt["offsite_urls"]) <= offsite
