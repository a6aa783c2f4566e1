"""CMS families on hand-made responses: each finds its own links and ignores other pages."""
import json

from scrapy.http import HtmlResponse, Request, TextResponse

from harvester.families import discover, gkmlpt, jpage, jsonapi, scripts, trs
from harvester.middlewares import _pick_encoding


def html(url, body, encoding="utf-8"):
    return HtmlResponse(url=url, body=body.encode(encoding), encoding=encoding, request=Request(url))


def test_trs_pager_from_script():
    r = html("http://h/xxgknb/index.html", '<script>createPageHTML(3, 0, "index", "shtml");</script>')
    assert [l.url for l in trs.discover(r)] == ["http://h/xxgknb/index_1.shtml", "http://h/xxgknb/index_2.shtml"]
    assert trs.discover(html("http://h/a.html", "<p>no pager</p>")) == []


def test_script_links_for_attachments():
    r = html("http://h/x/t1.html", """<a href="javascript:void(0)" onclick="window.open('./P0123.pdf')">下载</a>
        <script>var curHref = './W0456.docx'; document.write('<a href=' + curHref + '>附件</a>');</script>""")
    urls = {l.url for l in scripts.discover(r)}
    assert {"http://h/x/P0123.pdf", "http://h/x/W0456.docx"} <= urls


def test_jpage_datastore_and_proxy():
    body = """<div id="4"></div><script type="text/xml"><datastore><nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1"></a>]]></nextgroup>
      <recordset><record><![CDATA[<li><a href="/art/2024/1/5/art_12_3.html" title="某局2023年政府信息公开工作年度报告">某局…</a></li>]]></record></recordset></datastore></script>
      <script>$('#4').jpage({totalRecord: 40, perPage: 5, proxyUrl: '/module/web/jpage/dataproxy.jsp', ajaxParam: {col: 1, webid: '7', columnid: 12, unitid: '99'}});</script>"""
    links = jpage.discover(html("http://h/col/col12/index.html", body))
    assert links[0].text == "某局2023年政府信息公开工作年度报告"
    api = [l for l in links if l.kind == "api"]
    assert api and all(l.method == "POST" and "columnid=12" in l.body for l in api)
    assert "startrecord=2" in api[0].url


def test_gkmlpt_shell_to_api():
    r = html("http://h/gkmlpt/annualreport", "<script>window.config = {SID: '755031'}; var catId = 2629;</script>")
    assert [l.url for l in gkmlpt.discover(r)] == ["http://h/gkmlpt/api/all/2629?page=1&sid=755031"]


def test_json_list_and_its_pages():
    data = {"total": 5, "articles": [{"title": "某市2023年政府信息公开工作年度报告", "url": "http://h/gkmlpt/content/1/2/post_3.html"},
                                     {"title": "某市2022年政府网站工作年度报表", "url": "http://h/p4.html"}]}
    r = TextResponse(url="http://h/gkmlpt/api/all/1?page=1&sid=2", body=json.dumps(data).encode(),
                     headers={"Content-Type": "application/json"}, encoding="utf-8")
    links = jsonapi.discover(r)
    assert [l.text for l in links if l.kind is None][0].startswith("某市2023")
    assert [l.url for l in links if l.kind == "api"] == ["http://h/gkmlpt/api/all/1?sid=2&page=2",
                                                        "http://h/gkmlpt/api/all/1?sid=2&page=3"]


def test_discover_deduplicates():
    r = html("http://h/l.html", '<a href="a.html">x</a><a href="a.html">x</a>')
    assert len([l for l in discover(r) if l.url == "http://h/a.html"]) == 1


def test_encoding_choice_for_gbk_pages():
    gbk = "<html><body>政府信息公开工作年度报告</body></html>".encode("gbk")
    assert _pick_encoding(gbk, None) == "gb18030"                 # no header, no meta
    assert _pick_encoding(b'<meta charset="gb2312">' + gbk, None) == "gb18030"
    assert _pick_encoding("<p>报告</p>".encode("utf-8"), None) is None
    assert _pick_encoding(gbk, "gbk") == "gb18030"
    # a UTF-8 page cut inside a character (a truncated body) is still UTF-8, not GB18030 nonsense
    assert _pick_encoding("<p>政府信息公开</p>".encode("utf-8")[:-6], None) is None


def test_one_charset_rule_for_crawler_parser_and_site():
    from parsers import charsets
    assert charsets.guess(b'<meta http-equiv="Content-Type" content="text/html; charset=GB2312">') == "gb18030"
    assert charsets.guess(b"", "text/html; charset=big5") == "big5hkscs"
    assert charsets.guess("年度报告".encode("utf-8")[:-1]) == "utf-8"       # a head cut mid-character
    assert charsets.guess("年度报告".encode("gbk")) == "gb18030"
    assert charsets.normalise("HZ-GB-2312") == "hz-gb-2312"                  # HZ is its own encoding


def test_jpage_reply_asks_for_the_remaining_chunks():
    from scrapy.http import XmlResponse
    body = ("<datastore><totalrecord>100</totalrecord><totalpage>7</totalpage><recordset>"
            "<record><![CDATA[<li><a href='/art/2024/1/5/art_12_3.html'>某局2023年政府信息公开工作年度报告</a></li>]]></record>"
            "</recordset></datastore>")
    url = "http://h/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15"
    request = Request(url, method="POST", body="columnid=12&unitid=99")
    r = XmlResponse(url=url, body=body.encode(), request=request, encoding="utf-8")
    links = jpage.discover(r)
    assert links[0].url == "http://h/art/2024/1/5/art_12_3.html"
    more = [l for l in links if l.kind == "api"]
    assert [l.url.split("?")[1] for l in more] == ["startrecord=46&endrecord=90&perpage=15",
                                                   "startrecord=91&endrecord=100&perpage=15"]
    assert all(l.method == "POST" and l.body == "columnid=12&unitid=99" for l in more)


def test_inline_pdf_viewers_and_frames_are_links():
    from harvester.families import static
    r = html("http://h/a/t1.html", '<iframe src="/pdfjs/web/viewer.html?file=%2Fupload%2Fr.pdf"></iframe>'
                                    '<embed src="./r2.pdf" type="application/pdf">')
    urls = {l.url for l in static.discover(r)}
    assert {"http://h/upload/r.pdf", "http://h/a/r2.pdf"} <= urls


def test_json_post_api_with_body_pages():
    page = html("http://h/col/index.html", """<script>$.ajax({url: '/api/getFileListByCodeId', type: 'POST',
        contentType: 'application/json', data: JSON.stringify({channelId: '1234', page: 1, size: 2})});</script>""")
    api = [l for l in jsonapi.discover(page) if l.kind == "api"]
    assert api[0].method == "POST" and json.loads(api[0].body) == {"channelId": "1234", "page": 1, "size": 2}
    reply = {"results": {"data": {"total": 5, "results": [
        {"titleHtml": "<em>某部</em>2023年政府信息公开工作年度报告", "url": "/a/1.html"},
        {"titleHtml": "某部2022年政府信息公开工作年度报告", "url": "/a/2.html"}]}}}
    request = Request(api[0].url, method="POST", body=api[0].body)
    r = TextResponse(url=api[0].url, body=json.dumps(reply).encode(), request=request,
                     headers={"Content-Type": "application/json"}, encoding="utf-8")
    links = jsonapi.discover(r)
    assert [l.text for l in links if l.kind is None] == ["某部2023年政府信息公开工作年度报告", "某部2022年政府信息公开工作年度报告"]
    assert [json.loads(l.body)["page"] for l in links if l.kind == "api"] == [2, 3]


def test_clickable_elements_carry_the_text_a_reader_sees():
    """Lists whose rows are <li onclick>, javascript: links or data-url attributes, not <a href>:
    each link gets the clicked element's text, so the classifier can judge it as a title."""
    r = html("http://h/nb/index.html", """<ul>
      <li onclick="window.location.href='/art/2024/1.html'">某某局2023年政府信息公开工作年度报告</li>
      <li><a href="javascript:openDoc('/art/2024/2.html')" title="某某局2022年政府信息公开工作年度报告">某某局2022…</a></li>
      <div class="item" data-url="/art/2024/3.html"><span>某某局2021年政府信息公开工作年度报告</span></div>
      <li onclick="location.href='/art/2024/4.html'">2024年政务公开工作要点</li></ul>""")
    found = {l.url: l.text for l in scripts.discover(r)}
    assert found["http://h/art/2024/1.html"] == "某某局2023年政府信息公开工作年度报告"
    assert found["http://h/art/2024/2.html"] == "某某局2022年政府信息公开工作年度报告"   # its title attribute
    assert found["http://h/art/2024/3.html"] == "某某局2021年政府信息公开工作年度报告"
    assert found["http://h/art/2024/4.html"] == "2024年政务公开工作要点"
    from harvester import classify
    verdicts = {u: classify.classify_link(t, u).decision for u, t in found.items()}
    assert verdicts["http://h/art/2024/1.html"] == classify.REPORT
    assert verdicts["http://h/art/2024/4.html"] == classify.REJECT


def test_a_link_that_says_only_view_takes_its_rows_title():
    from harvester.families import static
    r = html("http://h/nb/index.html", """<table>
      <tr><td>某某局2023年政府信息公开工作年度报告</td><td>2024-01-20</td><td><a href="/art/1.html">查看</a></td></tr>
      <tr><td>2024年政务公开工作要点</td><td>2024-03-01</td><td><a href="/art/2.html">详情</a></td></tr></table>
      <ul><li><span>某某局2022年政府信息公开工作年度报告</span> <a href="/files/2.pdf">下载</a></li></ul>
      <div class="more"><a href="/nb/list.html">更多</a></div>""")
    found = {l.url: l.text for l in static.discover(r)}
    assert found["http://h/art/1.html"].startswith("某某局2023年政府信息公开工作年度报告")
    assert found["http://h/art/2.html"].startswith("2024年政务公开工作要点")
    assert found["http://h/files/2.pdf"].startswith("某某局2022年政府信息公开工作年度报告")
    assert found["http://h/nb/list.html"] == "更多"          # no row around it: left as it is


def test_a_stated_total_counts_only_in_the_pager():
    from harvester.spiders.portal import stated_totals
    assert stated_totals('<div class="page">共23条 每页10条 <a href="i_1.html">下一页</a></div>') == [23]
    assert stated_totals('<div class="total">共6条</div><button class="load-more">加载更多</button>') == [6]
    assert stated_totals("<script>var pageConf = {recordCount: '120', perPage: 20};</script>") == [120]
    # a mailbox or statistics box elsewhere on the page is not this list's total
    assert stated_totals('<div class="mailbox">领导信箱：共1234条来信，已全部办结。</div>') == []


def test_captured_list_requests_and_their_page_parameters():
    from harvester.families import rendered
    form = rendered.list_request("http://h/list.do", "POST", b"catId=ndbg&start=1&end=3")
    assert form.where == "form" and rendered.page_parameters(form) == [("start", 1, None)]
    assert form.with_value("start", 2)[1] == "catId=ndbg&start=2&end=3"
    body = rendered.list_request("http://h/api", "POST", b'{"catalogId": "105", "pindex": 1, "psize": 4}')
    # an unknown name is tried when it reads like a first page; ids and sizes are not
    assert rendered.page_parameters(body) == [("pindex", 2, 1)]
    assert json.loads(body.with_value("pindex", 3)[1]) == {"catalogId": "105", "pindex": 3, "psize": 4}
    # what changed between the page's own requests comes first, cache busters never
    first = rendered.list_request("http://h/q?pn=1&_=1700000000001&cb=x", "GET", None)
    second = rendered.list_request("http://h/q?pn=2&_=1700000000002&cb=x", "GET", None)
    assert rendered.page_parameters(second, [first])[0] == ("pn", 3, 1)
    assert rendered.page_parameters(rendered.list_request("http://h/q?from=0&rows=5", "GET", None)) == \
        [("from", 0, None)]


def test_gbk_replies_are_read_as_gbk():
    from harvester.families import rendered
    body = 'cb({"RecordCount": 2, "docs": [{"DocTitle": "平潭县2014年部门预算", "DocPubUrl": "/a.htm"}]});'
    links = rendered.links_in_captured("http://h/i.jsp?callback=cb", body.encode("gbk"), "application/javascript")
    assert [(l.url, l.text) for l in links if l.kind is None] == [("http://h/a.htm", "平潭县2014年部门预算")]
    assert rendered.reply_total(body.encode("gbk")) == 2
    xml = '<?xml version="1.0" encoding="gbk"?><result><total>8</total><record><title>年报</title><url>/b.html</url></record></result>'
    assert [l.url for l in rendered.links_in_captured("http://h/x", xml.encode("gbk"), "text/xml")] == ["http://h/b.html"]


def test_pdf_viewer_links_are_their_file_and_search_forms_are_requests():
    from harvester.families import static
    r = html("http://h/a/t1.html", '<a href="/static/pdfjs/web/viewer.html?file=..%2F..%2F..%2Fup%2Fr.pdf">在线阅读</a>'
                                    '<a href="/down.jsp?file=/up/s.pdf">下载</a>'
                                    '<form action="/was5/web/search" method="get"><input type="hidden" name="channelid" '
                                    'value="9"><input name="searchword"></form><form action="/login"><input name="user">'
                                    '</form>')
    urls = [l.url for l in static.discover(r)]
    assert urls[:2] == ["http://h/up/r.pdf", "http://h/down.jsp?file=/up/s.pdf"]
    [search] = static.search_forms(r, "年度报告")
    assert search.url == "http://h/was5/web/search?channelid=9&searchword=%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A"
