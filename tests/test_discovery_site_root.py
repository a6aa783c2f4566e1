"""From a site's home page only: the crawler goes where a reader would, through the menu into the
disclosure section (政务公开 → 法定主动公开内容) to the 年报 column, whose list is an <iframe> with a
pager, and finds exactly its reports. Served on 127.0.0.1 and crawled with the real `ogi crawl`; a
link to 127.0.0.2 on the home page must never be requested."""
from __future__ import annotations


import pytest
import sqlite_utils
import yaml

from conftest import ROOT, crawl_args, run_ogi
from local_sites import QuietHandler, off_site, serve

DOCS = ROOT / "harvester" / "sample_portals" / "docs"


def page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<div class="nav"><a href="/index.html">首页</a><a href="/news/index.html">新闻中心</a>'
            f'<a href="/zwgk/index.html">政务公开</a><a href="/hdjl/index.html">互动交流</a></div>'
            f'{body}<div class="footer">主办：某某市人民政府办公室</div></body></html>').encode()


def article(title: str, doc: str) -> bytes:
    lines = [ln for ln in (DOCS / doc).read_text(encoding="utf-8").splitlines() if ln.strip()]
    return page(title, f"<h1>{title}</h1>" + "".join(f"<p>{ln}</p>" for ln in lines))


def pages(off_port: int) -> dict[str, bytes]:
    return {
        "/index.html": page("某某市人民政府", (
            '<div class="news"><a href="/news/2024/01.html">我市召开2023年政务公开工作推进会</a>'
            '<a href="/news/2024/02.html">市政府常务会议研究部署春季农业生产</a></div>'
            f'<div class="links"><a href="http://127.0.0.2:{off_port}/">中国政府网</a></div>')),
        "/news/index.html": page("新闻中心", '<a href="/news/2024/02.html">市政府常务会议研究部署春季农业生产</a>'),
        "/news/2024/01.html": page("推进会", "<p>会议强调，要做好政务公开工作。</p>"),
        "/news/2024/02.html": page("常务会议", "<p>会议研究部署春季农业生产。</p>"),
        "/hdjl/index.html": page("互动交流", '<a href="/hdjl/zxxx.html">在线咨询</a>'),
        # The section index: a guide and rules (not columns of reports), and two catalogue menus.
        "/zwgk/index.html": page("政务公开", (
            '<ul class="menu"><li><a href="/zwgk/xxgkzn.html">政府信息公开指南</a></li>'
            '<li><a href="/zwgk/xxgkzd.html">政府信息公开制度</a></li>'
            '<li><a href="/zwgk/fdzdgknr/index.html">法定主动公开内容</a></li>'
            '<li><a href="/zwgk/yjs/index.html">预决算公开</a></li></ul>')),
        "/zwgk/xxgkzn.html": page("政府信息公开指南", "<p>为了更好地提供政府信息公开服务，编制本指南。</p>"),
        "/zwgk/fdzdgknr/index.html": page("法定主动公开内容", (
            '<ul class="tree"><li><a href="/zwgk/fdzdgknr/jgzn.html">机构职能</a></li>'
            '<li><a href="/zwgk/fdzdgknr/zcwj.html">政策文件</a></li>'
            '<li><a href="/zwgk/nb/index.html">政府信息公开年报</a></li></ul>')),
        # The 年报 column: a frame holds the list, which has a second page.
        "/zwgk/nb/index.html": page("政府信息公开年报", (
            '<div class="crumb">首页 &gt; 政务公开 &gt; 年报</div>'
            '<iframe src="/zwgk/nb/list.jsp?cat=nb&amp;page=1" width="100%" height="600"></iframe>')),
        "/zwgk/nb/list.jsp?cat=nb&page=1": (
            '<html><head><meta charset="utf-8"></head><body><ul>'
            '<li><a href="/zwgk/nb/2024/1.html" target="_top">淄博市大数据局2023年政府信息公开工作年度报告</a></li>'
            '<li><a href="/zwgk/nb/2024/2.html" target="_top">关于做好2023年政府信息公开工作年度报告编制发布工作的通知</a></li>'
            '<li><a href="/zwgk/nb/2022/3.html" target="_top">平潭综合实验区2021年政府信息公开工作年度报告</a></li>'
            '</ul><div>共3条 <a href="/zwgk/nb/list.jsp?cat=nb&amp;page=2">下一页</a></div></body></html>').encode(),
        "/zwgk/nb/list.jsp?cat=nb&page=2": (
            '<html><head><meta charset="utf-8"></head><body><ul>'
            '<li><a href="/zwgk/nb/2014/4.html" target="_top">平潭县人民政府2013年政府信息公开工作年度报告</a></li>'
            '</ul></body></html>').encode(),
        "/zwgk/nb/2024/1.html": article("淄博市大数据局2023年政府信息公开工作年度报告", "zibo-bigdata-2023.txt"),
        "/zwgk/nb/2024/2.html": page("通知", "<p>现就做好年度报告编制发布工作通知如下。</p>"),
        "/zwgk/nb/2022/3.html": article("平潭综合实验区2021年政府信息公开工作年度报告", "pingtan-zone-2021.txt"),
        "/zwgk/nb/2014/4.html": article("平潭县人民政府2013年政府信息公开工作年度报告", "pingtan-county-2013.txt"),
    }


@pytest.fixture(scope="module")
def site_root(tmp_path_factory):
    off_hits: list[str] = []
    asked: list[str] = []

    off = off_site(off_hits)
    content = pages(off.server_address[1])

    class Portal(QuietHandler):
        def do_GET(self):
            asked.append(self.path)
            body = content.get(self.path)
            status = 200 if body is not None else 404
            body = body if body is not None else b"<h1>404</h1>"
            self._send("text/html; charset=utf-8", body, status)

    portal = serve("127.0.0.1", Portal)
    base = f"http://127.0.0.1:{portal.server_address[1]}"
    tmp = tmp_path_factory.mktemp("site-root")
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [{"name": "city-home", "start_url": base + "/index.html"}]},
                                       allow_unicode=True), encoding="utf-8")
    try:
        run_ogi(*crawl_args(registry, tmp / "ogi.db"))
    finally:
        portal.shutdown()
        off.shutdown()
    return {"db": sqlite_utils.Database(tmp / "ogi.db"), "off_hits": off_hits, "asked": asked, "base": base}


def test_reports_found_from_the_home_page_only(site_root):
    found = {(r["agency"], r["year"]) for r in site_root["db"].query("select agency, year from reports")}
    assert found == {("淄博市大数据局", 2023), ("平潭综合实验区管委会", 2021), ("平潭县人民政府", 2013)}


def test_the_path_taken_is_recorded(site_root):
    db, base = site_root["db"], site_root["base"]
    referrer = {r["url"]: r["referrer"] for r in db.query("select url, referrer from urls")}
    hop, path = base + "/zwgk/nb/2014/4.html", []
    while hop:
        path.append(hop.replace(base, ""))
        hop = referrer.get(hop)
    assert path[::-1] == ["/index.html", "/zwgk/index.html", "/zwgk/fdzdgknr/index.html", "/zwgk/nb/index.html",
                          "/zwgk/nb/list.jsp?cat=nb&page=1", "/zwgk/nb/list.jsp?cat=nb&page=2",
                          "/zwgk/nb/2014/4.html"]


def test_the_walk_is_bounded_to_the_way_a_reader_goes(site_root):
    asked = set(site_root["asked"])
    # Menus are followed only from hub pages with nothing better: no news, no guide, no budgets.
    assert not asked & {"/news/index.html", "/news/2024/01.html", "/hdjl/index.html", "/zwgk/xxgkzn.html",
                        "/zwgk/yjs/index.html", "/zwgk/nb/2024/2.html"}, sorted(asked)
    assert site_root["off_hits"] == []
