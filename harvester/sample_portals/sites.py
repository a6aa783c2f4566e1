"""The content of the bundled sample portals: every page, file and endpoint, plus the ground truth.

`build()` returns a `Catalog`: routes (path -> Resp or a callable for dynamic endpoints), the portal
rows for the registry, and the truth, all as site-relative paths; `__init__` turns them into URLs.
Documents come from ./docs (real corpus reports, see build_docs.py); their agency/year/template come
from docs/gold.json.
"""
from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DOCS = Path(__file__).resolve().parent / "docs"

HTML_UTF8 = "text/html; charset=UTF-8"
HTML_NOCHARSET = "text/html"
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==")


@dataclass
class Resp:
    status: int = 200
    ctype: str = HTML_UTF8
    body: bytes = b""
    headers: list = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str
    query: dict            # name -> last value
    form: dict             # POST form fields
    host: str              # Host header as sent ("127.0.0.1:PORT")


@dataclass
class Catalog:
    routes: dict = field(default_factory=dict)      # path or "path?query" -> Resp | callable(Request)
    portals: list = field(default_factory=list)     # registry rows, start_url as a path
    reports: dict = field(default_factory=dict)     # (agency, year) -> {"agency","year","template"}
    report_urls: list = field(default_factory=list)
    distractor_urls: list = field(default_factory=list)
    broken: list = field(default_factory=list)      # {"url": path, "kind": ...}
    disallowed_urls: list = field(default_factory=list)
    offsite_urls: list = field(default_factory=list)
    slow_paths: set = field(default_factory=set)

    def column_paths(self) -> list:
        """HTML pages that are none of the above: columns, list pages, platform shells."""
        known = (set(self.report_urls) | set(self.distractor_urls) | {b["url"] for b in self.broken}
                 | set(self.disallowed_urls))
        return [p for p, r in self.routes.items()
                if p not in known and p != "/" and isinstance(r, Resp) and r.status == 200
                and r.ctype.startswith("text/html")]


# --------------------------------------------------------------------------- documents and gold

_GOLD: dict | None = None


def gold(gid: str) -> dict:
    global _GOLD
    if _GOLD is None:
        _GOLD = json.loads((DOCS / "gold.json").read_text(encoding="utf-8"))
    return _GOLD[gid]


def doc_bytes(name: str) -> bytes:
    return (DOCS / name).read_bytes()


def doc_text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def txt_lines(name: str) -> list[str]:
    """Body lines of a corpus .txt report, without the archive's own header and the portal chrome
    the archive flattened into the first line (当前位置 … -->)."""
    text = doc_text(name)
    parts = re.split(r"=+ 正文 =+", text, maxsplit=1)
    text = parts[-1]
    lines = [ln.rstrip("\r\n") for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].startswith("当前位置") and "-->" in lines[0]:
        lines[0] = lines[0].split("-->", 1)[1].strip()
    if lines and lines[-1].strip() in {"附件下载", "附件："}:
        lines.pop()
    if lines and lines[-1].endswith(" 附件下载"):
        lines[-1] = lines[-1][: -len(" 附件下载")]
    return lines


def paras(lines: list[str]) -> str:
    # One <p> per line, as a CMS editor stores pasted text; tabs kept as they are.
    return "\n".join(f"<p>{html.escape(ln, quote=False)}</p>" for ln in lines)


def esc(s: str) -> str:
    return html.escape(s, quote=True)


# --------------------------------------------------------------------------- the builder

class Builder:
    def __init__(self) -> None:
        self.c = Catalog()

    # routes ---------------------------------------------------------------
    def page(self, path: str, body: str | bytes, ctype: str = HTML_UTF8, status: int = 200,
             encoding: str = "utf-8", headers: list | None = None) -> str:
        data = body.encode(encoding, "xmlcharrefreplace") if isinstance(body, str) else body
        assert path not in self.c.routes, path
        self.c.routes[path] = Resp(status, ctype, data, headers or [])
        return path

    def dynamic(self, path: str, fn: Callable[[Request], Resp]) -> str:
        assert path not in self.c.routes, path
        self.c.routes[path] = fn
        return path

    # truth ----------------------------------------------------------------
    def report(self, gid: str, *paths: str) -> None:
        g = gold(gid)
        key = (g["agency"], g["year"])
        self.c.reports.setdefault(key, {"agency": g["agency"], "year": g["year"], "template": g["template"]})
        for p in paths:
            if p not in self.c.report_urls:
                self.c.report_urls.append(p)

    def distractor(self, *paths: str) -> None:
        self.c.distractor_urls.extend(p for p in paths if p not in self.c.distractor_urls)

    def broken(self, path: str, kind: str) -> None:
        self.c.broken.append({"url": path, "kind": kind})

    def portal(self, name: str, start: str, **extra) -> None:
        self.c.portals.append({"name": name, "start_url": start, **extra})


def rel(from_dir: str, to_path: str) -> str:
    """Relative link from a folder (ending in /) to a path, as TRS writes them (./, ../)."""
    from_parts = from_dir.strip("/").split("/")
    to_parts = to_path.strip("/").split("/")
    i = 0
    while i < min(len(from_parts), len(to_parts) - 1) and from_parts[i] == to_parts[i]:
        i += 1
    ups = len(from_parts) - i
    return ("../" * ups if ups else "./") + "/".join(to_parts[i:])


SOFT_404 = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>提示信息</title></head>
<body><div class="error-box"><img src="/images/404.png" alt=""><h2>抱歉，您访问的页面不存在或已被删除！</h2>
<p>页面不存在，<span id="sec">5</span>秒后返回首页。</p><p><a href="javascript:history.back()">返回上一页</a></p></div></body></html>"""


# =========================================================================== site 1: TRS WCM city portal

PT = "/pingtan"
PT_COL = PT + "/zwgk/zfxxgk/zfxxgknb/"
PT_HOST = "https://www.pingtan.gov.cn"

CREATE_PAGE_JS = """function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount <= 1){ return; }
  var nCurrIndex = _nCurrIndex || 0;
  if(nCurrIndex == 0) document.write("<span class=\\"current\\">首页</span>&nbsp;");
  else document.write("<a href=\\"" + _sPageName + "." + _sPageExt + "\\">首页</a>&nbsp;");
  if(nCurrIndex > 0){
    if(nCurrIndex == 1) document.write("<a href=\\"" + _sPageName + "." + _sPageExt + "\\">上一页</a>&nbsp;");
    else document.write("<a href=\\"" + _sPageName + "_" + (nCurrIndex - 1) + "." + _sPageExt + "\\">上一页</a>&nbsp;");
  }
  if(nCurrIndex + 1 < _nPageCount) document.write("<a href=\\"" + _sPageName + "_" + (nCurrIndex + 1) + "." + _sPageExt + "\\">下一页</a>&nbsp;");
  document.write("<a href=\\"" + _sPageName + "_" + (_nPageCount - 1) + "." + _sPageExt + "\\">尾页</a>");
}"""


def trs_article(title: str, date: str, source: str, body_html: str, column: str = "政府信息公开年报",
                extra: str = "", site: str = "平潭综合实验区党工委管委会") -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="SiteName" content="{esc(site)}">
<meta name="SiteDomain" content="www.pingtan.gov.cn">
<meta name="ColumnName" content="{esc(column)}">
<meta name="ArticleTitle" content="{esc(title)}">
<meta name="PubDate" content="{esc(date)}">
<meta name="ContentSource" content="{esc(source)}">
<title>{esc(title)}_{esc(column)}_{esc(site)}</title>
<link rel="stylesheet" type="text/css" href="/pingtan/images/xxgk_style.css">
</head>
<body>
<div class="header"><div class="logo"><a href="{PT_COL}index.html">{esc(site)}</a></div></div>
<div class="xxgk_position">当前位置：<a href="{PT_COL}index.html">首页</a> &gt; <a href="{PT_COL}index.html">{esc(column)}</a></div>
<div class="xl_main">
<h1 class="xl_title">{esc(title)}</h1>
<div class="xl_info">来源：{esc(source)}&nbsp;&nbsp;时间：{esc(date)}&nbsp;&nbsp;<a href="javascript:window.print()">【打印本页】</a>&nbsp;<a href="javascript:window.close()">【关闭窗口】</a></div>
<div class="xl_con"><div class="TRS_Editor">
{body_html}
</div></div>
{extra}
</div>
<div class="footer"><p>主办：{esc(site)}办公室</p></div>
</body>
</html>
"""


def trs_list(title: str, items: list[tuple[str, str, str]], page_count: int, current: int,
             nav: str = "", extra: str = "") -> str:
    lis = "\n".join(f'<li><a href="{esc(href)}" target="_blank" title="{esc(t)}">{esc(t)}</a><span>{d}</span></li>'
                    for t, href, d in items)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="SiteName" content="平潭综合实验区党工委管委会">
<meta name="ColumnName" content="{esc(title)}">
<title>{esc(title)}_平潭综合实验区党工委管委会</title>
<script type="text/javascript">
{CREATE_PAGE_JS}
</script>
</head>
<body>
<div class="header"><div class="logo"><a href="{PT_COL}index.html">平潭综合实验区党工委管委会</a></div></div>
<div class="xxgk_left">{nav}</div>
<div class="xxgk_right">
<div class="xxgk_tit">{esc(title)}</div>
<ul class="xxgk_list">
{lis}
</ul>
<div class="page_box">
<script type="text/javascript">
var currentPage = {current};//所在页从0开始
var countPage = {page_count}//共多少页
createPageHTML({page_count}, {current}, "index", "html");
</script>
</div>
{extra}
</div>
<div class="footer"><p>主办：平潭综合实验区党工委管委会办公室</p></div>
</body>
</html>
"""


def absolutize_corpus_links(page: str, page_url: str) -> str:
    """Corpus pages are archived portal pages; make their site-relative links point back to the
    real portal (off-site here), as they did where they were published."""
    def fix(m):
        attr, q, val = m.group(1), m.group(2), m.group(3)
        if re.match(r"(?i)(https?:|javascript:|mailto:|#|data:)", val) or not val:
            return m.group(0)
        return f"{attr}={q}{urllib.parse.urljoin(page_url, val)}{q}"
    return re.sub(r'\b(href|src)=(["\'])(.*?)\2', fix, page)


def inject(page: str, block: str) -> str:
    i = page.lower().rfind("</body>")
    return page[:i] + block + "\n" + page[i:] if i >= 0 else page + block


def corpus_html(name: str) -> tuple[str, str]:
    page = doc_text(name)
    m = re.search(r'<meta name="Url" content="([^"]+)"', page)
    return absolutize_corpus_links(page, m.group(1) if m else PT_HOST + "/"), (m.group(1) if m else "")


def build_trs(b: Builder) -> None:
    col = PT_COL
    art = lambda ym, t: f"{col}{ym}/t{t}.html"  # noqa: E731

    def txt_article(path, gid, column="政府信息公开年报", extra="", malformed=False, source=None):
        g = gold(gid)
        text = doc_text(gid + ".txt")
        title = re.search(r"^标题: (.*)$", text, re.M).group(1).strip()
        date = re.search(r"^发布时间: (.*)$", text, re.M).group(1).strip()
        src = source or (re.search(r"^发布机构: (.*)$", text, re.M).group(1).strip() or "平潭综合实验区管委会办公室")
        body = paras(txt_lines(gid + ".txt"))
        page = trs_article(title, date, src, body, column=column, extra=extra)
        if malformed:
            # An editor's paste left unclosed tags; the server also cut the closing part of the page.
            page = page.replace("<div class=\"TRS_Editor\">", "<div class=\"TRS_Editor\"><table><tr><td><div><font face=\"宋体\"><p>")
            i = page.index("<div class=\"TRS_Editor\">")
            j = page.index("\n</div></div>\n", i)
            page = page[:j] + "\n<p><span>" + page[j + len("\n</div></div>\n"):]
            page = page[: page.rfind("<div class=\"footer\">")]
        b.page(path, page)
        return title, date[:10]

    items = []  # (title, path, date) newest first

    # 2024: the archived portal page itself
    p24 = art("202503", "20250310_97791")
    page, _ = corpus_html("pingtan-zone-2024.html")
    b.page(p24, page)
    b.report("pingtan-zone-2024-html", p24)
    items.append(("平潭综合实验区2024年度政府信息公开工作年度报告", p24, "2025-03-10"))

    # 2023: archived page + attachment link written by script + mobile twin
    p23 = art("202403", "20240308_87885")
    pdf23 = col + "202403/P020240308612534470745.pdf"
    wap23 = col + "202403/t20240308_87885_wap.html"
    page, _ = corpus_html("pingtan-zone-2023.html")
    page = inject(page, """<div class="xl_fj">
<script type="text/javascript">
var curHref = './P020240308612534470745.pdf';
if (curHref != '') { document.write('<p>附件：<a href="' + curHref + '" target="_blank">平潭综合实验区2023年度政府信息公开工作年度报告.pdf</a></p>'); }
</script>
</div>
<div class="xl_mobile"><a href="./t20240308_87885_wap.html">手机版</a></div>""")
    b.page(p23, page)
    b.page(pdf23, doc_bytes("pingtan-zone-2023.pdf"), ctype="application/pdf")
    lines23 = txt_lines("pingtan-zone-2023.txt")
    b.page(wap23, f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1,user-scalable=no">
<meta name="ArticleTitle" content="平潭综合实验区2023年度政府信息公开工作年度报告">
<meta name="PubDate" content="2024-03-08 15:34">
<title>平潭综合实验区2023年度政府信息公开工作年度报告</title></head>
<body class="wap"><header class="m-head"><a href="javascript:history.back()">返回</a>政府信息公开年报</header>
<div class="m-article"><h2>平潭综合实验区2023年度政府信息公开工作年度报告</h2><div class="m-info">2024-03-08 15:34 来源：平潭综合实验区管委会办公室</div>
<div class="m-content TRS_Editor">{paras(lines23)}</div></div></body></html>""")
    b.report("pingtan-zone-2023-html", p23)
    b.report("pingtan-zone-2023-pdf", pdf23)
    b.report("pingtan-zone-2023", wap23)
    items.append(("平潭综合实验区2023年度政府信息公开工作年度报告", p23, "2024-03-08"))

    # distractor: 政务公开工作要点
    p = art("202403", "20240301_87801")
    b.page(p, trs_article("平潭综合实验区2024年政务公开工作要点", "2024-03-01 10:20", "平潭综合实验区管委会办公室", paras([
        "为深入贯彻落实《2024年福建省政务公开工作要点》，进一步推进我区政务公开工作，结合实际，制定本要点。",
        "一、围绕高质量发展做好政务公开。及时公开重大项目建设、营商环境优化等信息。",
        "二、做好政府信息公开工作年度报告编制发布工作，按时发布2023年度政府信息公开工作年度报告。",
        "三、加强政策解读和回应关切，提升政府网站和政务新媒体建设管理水平。"]), column="政务公开工作要点"))
    b.distractor(p)
    items.append(("平潭综合实验区2024年政务公开工作要点", p, "2024-03-01"))

    # 2021 (archived text) with a big5 gateway twin
    p21 = art("202202", "20220208_80613")
    big5 = "/gate/big5/www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202202/t20220208_80613.html"
    txt_article(p21, "pingtan-zone-2021", extra=f'<div class="xl_lang"><a href="{big5}">繁體</a></div>')
    trad = [ln for ln in doc_text("gen-pingtan-zone-2021-big5.txt").splitlines() if ln.strip()]
    b.page(big5, f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="平潭綜合實驗區2021年度政府信息公開工作年度報告">
<meta name="PubDate" content="2022-02-08 16:34">
<title>平潭綜合實驗區2021年度政府信息公開工作年度報告_政府信息公開年報_平潭綜合實驗區黨工委管委會</title></head>
<body><div class="gate-bar">繁體 | <a href="{p21}">简体</a></div>
<div class="xl_main"><h1 class="xl_title">平潭綜合實驗區2021年度政府信息公開工作年度報告</h1>
<div class="xl_info">來源：平潭綜合實驗區管委會辦公室　時間：2022-02-08 16:34</div>
<div class="TRS_Editor">{paras(trad)}</div></div></body></html>""")
    b.report("pingtan-zone-2021", p21, big5)
    items.append(("平潭综合实验区2021年度政府信息公开工作年度报告", p21, "2022-02-08"))

    # distractor: notice about compiling the reports
    p = art("202201", "20220105_80601")
    b.page(p, trs_article("关于做好2021年度政府信息公开工作年度报告编制发布工作的通知", "2022-01-05 09:00",
                          "平潭综合实验区管委会办公室", paras([
                              "各部门、各片区管理局：",
                              "根据《中华人民共和国政府信息公开条例》和《福建省人民政府办公厅关于编制公布2021年政府信息公开工作年度报告有关事项的通知》要求，现就做好2021年度政府信息公开工作年度报告编制发布工作通知如下：",
                              "一、各部门应于2022年1月31日前向社会公布本部门2021年度政府信息公开工作年度报告。",
                              "二、年度报告须严格按照国办公开办函〔2021〕30号规定的格式编制。",
                              "平潭综合实验区管委会办公室", "2022年1月5日"])))
    b.distractor(p)
    items.append(("关于做好2021年度政府信息公开工作年度报告编制发布工作的通知", p, "2022-01-05"))

    # 2018
    p = art("201901", "20190110_80529")
    txt_article(p, "pingtan-zone-2018")
    b.report("pingtan-zone-2018", p)
    items.append(("平潭综合实验区2018年度政府信息公开工作年度报告", p, "2019-01-10"))

    # distractor: 法治政府建设年度报告
    p = art("201812", "20181228_80521")
    b.page(p, trs_article("平潭综合实验区2018年法治政府建设年度报告", "2018-12-28 11:00", "平潭综合实验区管委会", paras([
        "2018年，实验区深入学习贯彻习近平新时代中国特色社会主义思想，全面推进依法行政，加快建设法治政府，现将有关情况报告如下：",
        "一、加强党对法治政府建设的领导。", "二、依法全面履行政府职能。", "三、推进行政决策科学化、民主化、法治化。",
        "四、坚持严格规范公正文明执法。", "五、2019年工作打算。"]), column="法治政府建设"))
    b.distractor(p)
    items.append(("平潭综合实验区2018年法治政府建设年度报告", p, "2018-12-28"))

    # 2017: archived page + plain PDF attachment + W0 docx + separate print page
    p17 = art("201801", "20180123_80506")
    pdf17 = col + "201801/P020180123512345678901.pdf"
    doc17 = col + "201801/W020180123512345678902.docx"
    print17 = col + "201801/t20180123_80506_print.html"
    page, _ = corpus_html("pingtan-zone-2017.html")
    page = inject(page, """<div class="xl_fj"><p>附件：<a href="./P020180123512345678901.pdf" oldsrc="P020180123512345678901.pdf" target="_blank">附件：平潭综合实验区2017年度政府信息公开工作年度报告.pdf</a></p>
<p><a href="./W020180123512345678902.docx" oldsrc="W020180123512345678902.docx">附件：平潭综合实验区2017年度政府信息公开工作年度报告.docx</a></p></div>
<div class="xl_tools"><a href="./t20180123_80506_print.html" target="_blank">【打印】</a></div>""")
    b.page(p17, page)
    b.page(pdf17, doc_bytes("pingtan-zone-2017.pdf"), ctype="application/pdf")
    b.page(doc17, doc_bytes("pingtan-zone-2017.docx"),
           ctype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    b.page(print17, f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>打印 - 平潭综合实验区2017年度政府信息公开工作年度报告</title>
<style>body{{width:700px;margin:0 auto}}</style></head><body onload="window.print()">
<h1>平潭综合实验区2017年度政府信息公开工作年度报告</h1><p class="info">发布时间：2018-01-23 08:51</p>
<div id="zoom">{paras(txt_lines("pingtan-zone-2017.txt"))}</div></body></html>""")
    b.report("pingtan-zone-2017-html", p17)
    b.report("pingtan-zone-2017-pdf", pdf17)
    b.report("pingtan-zone-2017-docx", doc17)
    b.report("pingtan-zone-2017", print17)
    items.append(("平潭综合实验区2017年度政府信息公开工作年度报告", p17, "2018-01-23"))

    # distractor: 部门决算 with a spreadsheet
    p = art("201709", "20170915_80470")
    xls = col + "201709/W020170915330000000001.xls"
    b.page(p, trs_article("平潭综合实验区管委会办公室2016年度部门决算", "2017-09-15 16:00", "平潭综合实验区财政金融局",
                          paras(["根据预决算公开有关规定，现将平潭综合实验区管委会办公室2016年度部门决算公开如下：",
                                 "一、部门基本情况", "二、收入支出决算总体情况说明", "三、“三公”经费支出决算情况说明"]),
                          column="财政预决算",
                          extra='<div class="xl_fj"><p>附件：<a href="./W020170915330000000001.xls">2016年度部门决算公开表.xls</a></p></div>'))
    # old portals often serve an HTML table saved as .xls
    b.page(xls, ("<html><head><meta charset='utf-8'></head><body><table border=1><tr><td>项目</td><td>决算数（万元）</td></tr>"
                 "<tr><td>一般公共服务支出</td><td>1523.40</td></tr><tr><td>合计</td><td>1523.40</td></tr></table></body></html>"),
           ctype="application/vnd.ms-excel")
    b.distractor(p, xls)
    b.broken(xls, "not_a_report")
    items.append(("平潭综合实验区管委会办公室2016年度部门决算", p, "2017-09-15"))

    # 2014, 2013 (malformed page), news, 2012, 2011, a dead link
    p = art("201501", "20150102_80791")
    txt_article(p, "pingtan-zone-2014")
    b.report("pingtan-zone-2014", p)
    items.append(("平潭综合实验区管委会2014年度政府信息公开工作年度报告", p, "2015-01-02"))

    p = art("201403", "20140324_80759")
    txt_article(p, "pingtan-zone-2013", malformed=True)
    b.report("pingtan-zone-2013", p)
    b.broken(p, "malformed_html")
    items.append(("平潭综合实验区2013年政府信息公开工作年度报告", p, "2014-01-10"))

    p = art("201402", "20140218_80770")
    b.page(p, trs_article("实验区召开2014年政务公开工作会议", "2014-02-18 17:30", "平潭时报", paras([
        "2月18日，实验区召开2014年政务公开工作会议，总结2013年政务公开工作，部署2014年重点任务。",
        "会议要求，各单位要认真做好政府信息公开年度报告的编制和发布工作。"]), column="工作动态"))
    b.distractor(p)
    items.append(("实验区召开2014年政务公开工作会议", p, "2014-02-18"))

    p = art("201302", "20130228_80734")
    page, _ = corpus_html("pingtan-zone-2012.html")
    b.page(p, page)
    b.report("pingtan-zone-2012-html", p)
    items.append(("平潭综合实验区2012年政府信息公开工作年度报告", p, "2013-02-25"))

    p = art("201204", "20120420_80678")
    txt_article(p, "pingtan-zone-2011")
    b.report("pingtan-zone-2011", p)
    items.append(("平潭综合实验区2011年政府信息公开工作年度报告", p, "2012-04-11"))

    dead = art("201103", "20110315_80650")   # not served: 404
    b.broken(dead, "http_404")
    items.append(("平潭综合实验区2010年政府信息公开工作年度报告", dead, "2011-03-15"))

    # year sub-column and a department's column (nested columns)
    y19 = col + "2019n/index.html"
    p19 = col + "2019n/202001/t20200120_80576.html"
    txt_article(p19, "pingtan-zone-2019")
    b.report("pingtan-zone-2019", p19)
    dept = PT + "/bm/dsj/zfxxgknb/index.html"
    nav = (f'<div class="xxgk_nav"><h3>政府信息公开年报</h3><ul>'
           f'<li><a href="./index.html">全部</a></li>'
           f'<li><a href="./2019n/index.html">2019年度</a></li>'
           f'<li><a href="{rel(col, dept)}">部门信息公开年报（地方税务局）</a></li>'
           f'<li><a href="{PT}/zwgk/zfxxgk/xxgkzn/index.html">政府信息公开指南</a></li>'
           f'<li><a href="http://127.0.0.9:9/zwgk/zfxxgknb/index.html">福建省政府信息公开年报</a></li>'
           f'<li class="hidden-admin"><a href="{PT}/admin/preview/t20250101_99999.html">栏目预览（管理）</a></li>'
           f'</ul></div>')
    b.c.offsite_urls.append("http://127.0.0.9:9/zwgk/zfxxgknb/index.html")
    per = 6
    pages = [items[i:i + per] for i in range(0, len(items), per)]
    for n, chunk in enumerate(pages):
        b.page(col + ("index.html" if n == 0 else f"index_{n}.html"),
               trs_list("政府信息公开年报", [(t, rel(col, h), d) for t, h, d in chunk], len(pages), n, nav=nav))
    b.page(y19, trs_list("2019年度政府信息公开年报", [(
        "平潭综合实验区2019年度政府信息公开工作年度报告", "./202001/t20200120_80576.html", "2020-01-20")], 1, 0,
        nav='<div class="xxgk_nav"><a href="../index.html">返回上级栏目</a></div>'))
    # guide page linked from the nav (a look-alike column: 政府信息公开指南)
    guide = PT + "/zwgk/zfxxgk/xxgkzn/index.html"
    b.page(guide, trs_article("平潭综合实验区政府信息公开指南", "2023-06-01 09:00", "平潭综合实验区管委会办公室", paras([
        "为了更好地提供政府信息公开服务，根据《中华人民共和国政府信息公开条例》，编制本指南。",
        "一、主动公开", "二、依申请公开", "三、监督和救济"]), column="政府信息公开指南"))
    b.distractor(guide)

    # robots-disallowed bait: an unpublished preview that looks like a report
    bait = PT + "/admin/preview/t20250101_99999.html"
    b.page(bait, trs_article("（预览）平潭综合实验区2025年度政府信息公开工作年度报告", "2026-01-01 00:00", "内容管理系统",
                             paras(["本页为内容管理系统预览页面，尚未发布。", "一、总体情况", "二、主动公开政府信息情况",
                                    "三、收到和处理政府信息公开申请情况"])))
    b.c.disallowed_urls.append(bait)

    # department column: 地方税务局
    dcol = PT + "/bm/dsj/zfxxgknb/"
    pd = dcol + "201402/t20140225_80774.html"
    txt_article(pd, "pingtan-dishui-2013", column="地方税务局政府信息公开年报")
    b.report("pingtan-dishui-2013", pd)
    ps = dcol + "201401/t20140110_80750.html"
    b.page(ps, trs_article("平潭综合实验区地方税务局2013年度工作总结", "2014-01-10 10:00", "平潭综合实验区地方税务局", paras([
        "2013年，区地税局在管委会的正确领导下，圆满完成各项税收工作任务，现将全年工作总结如下：",
        "一、组织收入工作", "二、依法治税工作", "三、政务公开和信息公开工作：全年主动公开政府信息56条。",
        "四、2014年工作思路"]), column="地方税务局政府信息公开年报"))
    b.distractor(ps)
    b.page(dcol + "index.html", trs_list("地方税务局政府信息公开年报", [
        ("平潭综合实验区地方税务局2013年信息公开年度报告", "./201402/t20140225_80774.html", "2014-02-25"),
        ("平潭综合实验区地方税务局2013年度工作总结", "./201401/t20140110_80750.html", "2014-01-10")], 1, 0,
        nav=f'<div class="xxgk_nav"><a href="{rel(dcol, col + "index.html")}">政府信息公开年报</a></div>'))

    b.portal("pingtan-trs", col + "index.html", agency="平潭综合实验区管委会", level="city", family="trs")


# =========================================================================== site 2: Hanweb / JCMS (jpage)

HW_COL, HW_UNIT, HW_WEB = 121375, 398765, 1
HW_WEBNAME = "青岛市人民政府"


def hanweb_article(title, date, source, body_html, extra="") -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="SiteName" content="{HW_WEBNAME}">
<meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{esc(title)}">
<meta name="PubDate" content="{date}">
<meta name="ContentSource" content="{esc(source)}">
<title>{esc(title)} - {HW_WEBNAME}</title>
<script type="text/javascript" src="/script/jquery.min.js"></script>
</head>
<body>
<div class="top"><a href="/col/col{HW_COL}/index.html">{HW_WEBNAME}</a></div>
<div class="main-article">
<table width="100%" class="xxgk_table"><tr><td>发布机构：{esc(source)}</td><td>发布日期：{date[:10]}</td></tr></table>
<div class="article-title"><h2>{esc(title)}</h2></div>
<div class="article-info">发布日期：{date}　来源：{esc(source)}　【字体：<a href="javascript:doZoom(16)">大</a> <a href="javascript:doZoom(14)">中</a> <a href="javascript:doZoom(12)">小</a>】</div>
<div id="zoom" class="article-content">
{body_html}
</div>
{extra}
</div>
<div class="bottom">{HW_WEBNAME}办公厅主办</div>
</body>
</html>
"""


def hanweb_record(title, href, date) -> str:
    return (f'<record><![CDATA[\n<li class="clearfix"><a href="{esc(href)}" title="{esc(title)}" target="_blank">'
            f'{esc(title)}</a><span>{date}</span></li>\n]]></record>')


def build_hanweb(b: Builder) -> None:
    col_path = f"/col/col{HW_COL}/index.html"
    recs = []

    def art(y, m, d, aid):
        return f"/art/{y}/{m}/{d}/art_{HW_COL}_{aid}.html"

    def downfile(hexid, ext, file_bytes, ctype, disposition: str | None):
        link = f"/module/download/downfile.jsp?classid=0&filename={hexid}.{ext}"
        target = f"/attach/0/{hexid}.{ext}"
        b.page(link, "", status=302, headers=[("Location", target)])
        hdrs = [("Content-Disposition", disposition)] if disposition else []
        b.page(target, file_bytes, ctype=ctype, headers=hdrs)
        return link, target

    def simple(path, title, date, source, lines, extra=""):
        b.page(path, hanweb_article(title, date, source, paras(lines), extra))
        b.distractor(path)

    # 1. big5 gateway copy of the 2023 report (traditional text, pinyin glosses): the mirror is the document
    big5 = "/gate/big5/www.qingdao.gov.cn/art/2024/1/26/art_121375_10452312.html"
    mlines = [ln for ln in doc_text("qingdao-bigdata-2023-mirror.txt").splitlines() if ln.strip()]
    b.page(big5, f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>青島市大數據發展管理局2023年政府信息公開工作年度報告 - 青島市人民政府</title></head>
<body><div class="gate-bar">繁體 | <a href="/col/col121375/index.html">简体</a></div><div class="main-article">
<div class="article-title"><h2>青島市大數據發展管理局2023年政府信息公開工作年度報告</h2></div>
<div id="zoom">{paras(mlines)}</div>
<p>【返回頂部】【打印本頁】【關閉窗口】</p></div></body></html>""")
    b.report("qingdao-bigdata-2023-mirror", big5)
    recs.append(("青岛市大数据发展管理局2023年政府信息公开工作年度报告", big5, "2024-01-26"))

    p = art(2023, 12, 20, 10398001)
    simple(p, "关于做好2023年度政府信息公开工作年度报告编制发布工作的通知", "2023-12-20 09:30", "青岛市人民政府办公厅", [
        "各区、市人民政府，市政府各部门，市直各单位：",
        "根据《中华人民共和国政府信息公开条例》规定，现就做好2023年度政府信息公开工作年度报告编制发布工作通知如下：",
        "一、市政府各部门于2024年1月31日前公开本部门2023年度报告；区（市）政府于2024年3月31日前公开。",
        "二、严格按照《中华人民共和国政府信息公开工作年度报告格式》编制。"])
    recs.append(("关于做好2023年度政府信息公开工作年度报告编制发布工作的通知", p, "2023-12-20"))

    p = art(2024, 1, 15, 10440021)
    simple(p, "青岛市人民政府门户网站2023年政府网站工作年度报表", "2024-01-15 16:00", "青岛市大数据发展管理局", [
        "政府网站工作年度报表（2023年度）", "填报单位：青岛市大数据发展管理局",
        "网站名称\t青岛市人民政府门户网站", "首页网址\twww.qingdao.gov.cn", "独立用户访问总量（单位：个）\t12345678",
        "网站总访问量（单位：次）\t98765432", "信息发布（单位：条）\t23456"])
    recs.append(("青岛市人民政府门户网站2023年政府网站工作年度报表", p, "2024-01-15"))

    p = art(2024, 2, 6, 10460077)
    link, target = downfile("7f3c2a9be1d04c5f8a6b0e2d9c1f4a37", "pdf", doc_bytes("gen-budget-2014.pdf"),
                            "application/octet-stream", 'attachment; filename="budget.pdf"')
    simple(p, "青岛市大数据发展管理局2024年部门预算", "2024-02-06 10:00", "青岛市大数据发展管理局", [
        "按照预算公开有关要求，现将青岛市大数据发展管理局2024年部门预算公开如下。"],
        extra=f'<div class="fj">附件：<a href="{esc(link)}" target="_blank">青岛市大数据发展管理局2024年部门预算.pdf</a></div>')
    b.distractor(link, target)
    b.broken(link, "not_a_report")
    recs.append(("青岛市大数据发展管理局2024年部门预算", p, "2024-02-06"))

    p = art(2023, 4, 10, 10290033)
    simple(p, "2023年青岛市政务公开工作要点", "2023-04-10 15:00", "青岛市人民政府办公厅", [
        "2023年全市政务公开工作要坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻党的二十大精神。",
        "一、围绕稳经济促发展加强政务公开。", "二、围绕服务民生加强政务公开。", "三、夯实政务公开工作基础，规范年度报告发布。"])
    recs.append(("2023年青岛市政务公开工作要点", p, "2023-04-10"))

    # 2020 report: page with its DOCX served as octet-stream without Content-Disposition
    p20 = art(2021, 1, 29, 6543210)
    link20, target20 = downfile("c4e1b8a2d93f47a6b5e0f1d2c3a4b5c6", "docx", doc_bytes("gen-qingdao-bigdata-2020.docx"),
                                "application/octet-stream", None)
    b.page(p20, hanweb_article("青岛市大数据发展管理局2020年度政府信息公开工作报告", "2021-01-29 17:20",
                               "青岛市大数据发展管理局", paras(txt_lines("qingdao-bigdata-2020.txt")),
                               extra=f'<div class="fj">附件：<a href="{esc(link20)}">青岛市大数据发展管理局2020年度政府信息公开工作报告.docx</a></div>'))
    b.report("qingdao-bigdata-2020", p20, link20, target20)
    recs.append(("青岛市大数据发展管理局2020年度政府信息公开工作报告", p20, "2021-01-29"))

    p = art(2021, 1, 8, 6512345)
    simple(p, "青岛市大数据发展管理局2020年度工作总结", "2021-01-08 09:00", "青岛市大数据发展管理局", [
        "2020年，市大数据局围绕数字青岛建设，扎实推进各项工作，现总结如下：",
        "一、数字政府建设取得新进展。", "二、数据资源共享开放。", "三、政务公开：全年主动公开政府信息300余条。", "四、2021年工作计划。"])
    recs.append(("青岛市大数据发展管理局2020年度工作总结", p, "2021-01-08"))

    # redirect loop a -> b -> a
    loop_a = art(2021, 1, 28, 6543001)
    loop_b = f"/art/2021/1/28/art_{HW_COL}_6543001.html?redirect=1"
    b.page(loop_b, "", status=302, headers=[("Location", loop_a)])
    b.page(loop_a, "", status=302, headers=[("Location", loop_b)])
    b.broken(loop_a, "redirect_loop")
    recs.append(("青岛市民政局2020年政府信息公开工作年度报告", loop_a, "2021-01-28"))

    # 2018 report of the economic commission: page + PDF through downfile.jsp with Content-Disposition
    p18 = art(2019, 1, 17, 5123456)
    link18, target18 = downfile("a1b2c3d4e5f60718293a4b5c6d7e8f90", "pdf", doc_bytes("gen-qingdao-econ-2018.pdf"),
                                "application/octet-stream",
                                "attachment; filename*=UTF-8''%E9%9D%92%E5%B2%9B%E5%B8%82%E7%BB%8F%E6%B5%8E%E5%92%8C%E4%BF%A1%E6%81%AF%E5%8C%96%E5%A7%942018%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A.pdf")
    b.page(p18, hanweb_article("青岛市经济和信息化委2018年度政府信息公开工作报告", "2019-01-17 10:05", "青岛市经济和信息化委",
                               paras(txt_lines("qingdao-econ-2018.txt")),
                               extra=f'<div class="fj">附件：<a href="{esc(link18)}">青岛市经济和信息化委2018年度政府信息公开工作报告.pdf</a></div>'))
    b.report("qingdao-econ-2018", p18, link18, target18)
    recs.append(("青岛市经济和信息化委2018年度政府信息公开工作报告", p18, "2019-01-17"))

    p = art(2019, 1, 30, 5130011)
    simple(p, "青岛市2018年法治政府建设年度报告", "2019-01-30 14:00", "青岛市司法局", [
        "2018年，市政府坚持以习近平新时代中国特色社会主义思想为指导，全面推进依法行政。",
        "一、政府职能依法全面履行。", "二、依法决策机制不断完善。", "三、行政执法更加规范。"])
    recs.append(("青岛市2018年法治政府建设年度报告", p, "2019-01-30"))

    err = art(2019, 1, 25, 5128888)
    b.page(err, "<html><head><title>500 Internal Server Error</title></head><body><h1>HTTP Status 500 - "
                "Internal Server Error</h1><p>java.lang.NullPointerException</p></body></html>",
           ctype="text/html;charset=ISO-8859-1", status=500)
    b.broken(err, "http_500")
    recs.append(("青岛市财政局2018年政府信息公开工作年度报告", err, "2019-01-25"))

    p = art(2018, 12, 5, 5088002)
    simple(p, "市大数据局召开政务公开工作推进会", "2018-12-05 16:40", "青岛市大数据发展管理局", [
        "12月5日，市大数据局召开政务公开工作推进会，传达学习全市政务公开工作会议精神。"])
    recs.append(("市大数据局召开政务公开工作推进会", p, "2018-12-05"))

    per = 5
    total = len(recs)
    pages = (total + per - 1) // per
    xml_recs = [hanweb_record(*r) for r in recs]
    nextgroup = (f'<a href="/module/web/jpage/dataproxy.jsp?page=1&webid={HW_WEB}&path=/&columnid={HW_COL}'
                 f'&unitid={HW_UNIT}&webname={HW_WEBNAME}&permissiontype=0"></a>')
    embedded = "\n".join(xml_recs[:per])
    b.page(col_path, f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="SiteName" content="{HW_WEBNAME}">
<meta name="ColumnName" content="政府信息公开年报">
<title>政府信息公开年报 - {HW_WEBNAME}</title>
<script type="text/javascript" src="/script/jquery.min.js"></script>
<script type="text/javascript" src="/script/jquery.jpage.js"></script>
</head>
<body>
<div class="top"><a href="/col/col{HW_COL}/index.html">{HW_WEBNAME}</a></div>
<div class="bt-position">当前位置：首页 &gt; 政务公开 &gt; 政府信息公开年报</div>
<div class="list-box">
<h3 class="list-tit">政府信息公开年报</h3>
<div id="{HW_UNIT}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[{nextgroup}]]></nextgroup>
<recordset>
{embedded}
</recordset>
</datastore></script></div>
<script type="text/javascript">
$(document).ready(function(){{
  $('#{HW_UNIT}').jpage({{
    dataStore: dataStore,
    totalRecord: {total},
    perPage: {per},
    groupSize: 1,
    barPosition: 'bottom',
    proxyUrl: '/module/web/jpage/dataproxy.jsp',
    ajaxParam: {{ col: 1, appid: 1, webid: {HW_WEB}, path: '/', columnid: {HW_COL}, sourceContentType: 1, unitid: '{HW_UNIT}', webname: '{HW_WEBNAME}', permissiontype: 0 }},
    showMode: 'full'
  }});
}});
</script>
</div>
<div class="bottom">{HW_WEBNAME}办公厅主办</div>
</body>
</html>
""")

    def dataproxy(req: Request) -> Resp:
        q = {**req.query, **req.form}
        try:
            columnid = int(q.get("columnid", 0))
        except ValueError:
            columnid = 0
        if columnid != HW_COL:
            body = ('<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>0</totalrecord>'
                    '<totalpage>0</totalpage><recordset></recordset></datastore>')
            return Resp(200, "text/xml;charset=UTF-8", body.encode())
        try:
            perpage = max(1, int(q.get("perpage", per)))
            if "startrecord" in q:
                start = max(1, int(q["startrecord"]))
                end = min(total, int(q.get("endrecord", start + perpage - 1)))
            else:
                n = max(1, int(q.get("page", 1)))
                start, end = (n - 1) * perpage + 1, min(total, n * perpage)
        except ValueError:
            return Resp(400, "text/plain", b"bad request")
        chosen = "\n".join(xml_recs[start - 1:end]) if start <= total else ""
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n<totalrecord>{total}</totalrecord>\n'
                f'<totalpage>{(total + perpage - 1) // perpage}</totalpage>\n<recordset>\n{chosen}\n</recordset>\n</datastore>')
        return Resp(200, "text/xml;charset=UTF-8", body.encode("utf-8"))

    b.dynamic("/module/web/jpage/dataproxy.jsp", dataproxy)
    b.portal("qingdao-hanweb", col_path, agency="青岛市人民政府", level="city", family="hanweb")


# =========================================================================== site 3: gkmlpt

GK_SID, GK_CAT = "755031", 2629


def gkmlpt_article(title, date, publisher, body_html, index_no) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="UTF-8">
<meta name="ArticleTitle" content="{esc(title)}">
<meta name="PubDate" content="{date}">
<meta name="ContentSource" content="{esc(publisher)}">
<title>{esc(title)}</title>
<link rel="stylesheet" href="/gkmlpt/static/css/content.css">
</head>
<body>
<div class="gkmlpt-header"><a href="/gkmlpt/index">政府信息公开</a></div>
<div class="content-container">
<table class="introduce"><tr><td>索引号：</td><td>{index_no}</td><td>分类：</td><td>年度报告</td></tr>
<tr><td>发布机构：</td><td>{esc(publisher)}</td><td>成文日期：</td><td>{date[:10]}</td></tr>
<tr><td>名称：</td><td colspan="3">{esc(title)}</td></tr><tr><td>发布日期：</td><td colspan="3">{date}</td></tr></table>
<div class="content"><h1 class="title document-number">{esc(title)}</h1>
<div class="article-content">
{body_html}
</div></div>
</div>
<div class="gkmlpt-footer">政府信息公开平台</div>
</body>
</html>
"""


def build_gkmlpt(b: Builder) -> None:
    arts = []   # dicts for the API, newest first

    def post(pid, title, date, publisher, html_body=None, status=200):
        path = f"/gkmlpt/content/2/{GK_CAT}/post_{pid}.html"
        if html_body is not None:
            b.page(path, gkmlpt_article(title, date, publisher, html_body, f"11440300MB2C{pid}/2024-0{pid % 9 + 1}"),
                   status=status)
        y, mo, d = (int(x) for x in date[:10].split("-"))
        import calendar
        ts = calendar.timegm((y, mo, d, 2, 0, 0, 0, 0, 0))
        arts.append({"id": pid, "title": title, "path": path, "publisher": publisher, "create_time": ts,
                     "display_publish_time": ts, "date": date[:10]})
        return path

    zl = txt_lines("zibo-bigdata-2023.txt")
    p = post(11023456, "淄博市大数据局2023年政府信息公开工作年度报告", "2024-01-30 16:12", "淄博市大数据局", paras(zl))
    b.report("zibo-bigdata-2023", p)
    p = post(11023401, "淄博市大数据局2023年政府网站工作年度报表", "2024-01-22 10:00", "淄博市大数据局", paras([
        "政府网站工作年度报表", "（2023年度）", "填报单位：淄博市大数据局", "网站名称\t淄博市人民政府门户网站",
        "网站标识码\t3703000001", "独立用户访问总量（单位：个）\t2345678", "信息发布（单位：条）\t8765"]))
    b.distractor(p)
    p = post(11023388, "关于公开2023年度政府信息公开工作年度报告的公告", "2024-01-20 09:00", "淄博市大数据局", paras([
        "根据《中华人民共和国政府信息公开条例》规定，我局2023年度政府信息公开工作年度报告将于2024年1月31日前在本平台“年度报告”栏目公布，欢迎社会各界监督。",
        "联系电话：0533-3181070"]))
    b.distractor(p)
    sh = doc_text("shanghai-gov-office-2019.html")
    sh_body = re.search(r"<body>(.*)</body>", sh, re.S).group(1)
    p = post(8012345, "2019年上海市人民政府办公厅政府信息公开工作年度报告", "2020-01-31 18:00", "上海市人民政府办公厅", sh_body)
    b.report("shanghai-gov-office-2019", p)
    p = post(8012301, "2019年政府网站工作年度报表", "2020-01-15 11:00", "上海市人民政府办公厅", paras([
        "政府网站工作年度报表（2019年度）", "网站名称\t中国上海", "首页网址\twww.shanghai.gov.cn",
        "网站总访问量（单位：次）\t123456789"]))
    b.distractor(p)
    p = post(7990011, "上海市人民政府办公厅2018年度部门决算", "2019-08-20 17:00", "上海市人民政府办公厅", paras([
        "根据预决算公开要求，现将2018年度部门决算公开如下：", "一、部门主要职能", "二、收入支出决算总体情况说明"]))
    b.distractor(p)
    p = post(7900002, "2018年上海市人民政府办公厅政府信息公开工作年度报告", "2019-01-31 18:00", "上海市人民政府办公厅",
             SOFT_404)
    # the post page was withdrawn: the platform answers 200 with its "not found" page
    b.c.routes[p] = Resp(200, HTML_UTF8, SOFT_404.encode("utf-8"))
    b.broken(p, "soft_404")

    per = 3
    total = len(arts)

    def api(req: Request) -> Resp:
        if req.query.get("sid") != GK_SID:
            return Resp(200, "application/json;charset=UTF-8",
                        json.dumps({"total": 0, "articles": [], "classify": {}}).encode())
        try:
            page = max(1, int(req.query.get("page", 1)))
        except ValueError:
            page = 1
        chunk = arts[(page - 1) * per: page * per]
        host = req.host or "127.0.0.1"
        out = [{"id": a["id"], "title": a["title"], "url": f"http://{host}{a['path']}",
                "publisher": a["publisher"], "create_time": a["create_time"],
                "display_publish_time": a["display_publish_time"], "first_publish_time": a["create_time"],
                "identifier": f"11440300MB2C-{a['id']}", "attachment": []} for a in chunk]
        body = {"total": total, "page": page, "page_size": per, "articles": out,
                "classify": {"id": GK_CAT, "name": "年度报告"}}
        return Resp(200, "application/json;charset=UTF-8", json.dumps(body, ensure_ascii=False).encode("utf-8"))

    b.dynamic(f"/gkmlpt/api/all/{GK_CAT}", api)
    shell = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="UTF-8">
<title>政府信息公开 - 年度报告</title>
<link rel="stylesheet" href="/gkmlpt/static/css/app.css">
<script>
  window._CONFIG = {{
    SID: '{GK_SID}',
    SITE_NAME: '淄博市大数据局',
    API_ROOT: '/gkmlpt/api',
    DEFAULT_CATEGORY: {GK_CAT},
    PAGE: 'annualreport'
  }};
</script>
</head>
<body>
<div id="app">
  <div class="gkmlpt-header"><a href="/gkmlpt/index">政府信息公开</a></div>
  <ul class="gkmlpt-nav"><li><a href="/gkmlpt/index">首页</a></li><li><a href="/gkmlpt/policy">政策文件</a></li><li class="active"><a href="/gkmlpt/annualreport#{GK_CAT}">年度报告</a></li></ul>
  <div class="list-container"><noscript>请开启浏览器JavaScript功能</noscript></div>
</div>
<script src="/gkmlpt/static/js/manifest.js"></script>
<script src="/gkmlpt/static/js/app.js"></script>
</body>
</html>
"""
    b.page("/gkmlpt/annualreport", shell)
    for other, name in (("index", "首页"), ("policy", "政策文件")):   # sibling shells of the platform
        b.page(f"/gkmlpt/{other}", shell.replace("PAGE: 'annualreport'", f"PAGE: '{other}'")
               .replace("政府信息公开 - 年度报告", f"政府信息公开 - {name}"))
    b.page("/gkmlpt/static/js/app.js",
           "/* list loader */(function(){var c=window._CONFIG;var cat=(location.hash||'').replace('#','')||c.DEFAULT_CATEGORY;"
           "function load(p){var x=new XMLHttpRequest();x.open('GET',c.API_ROOT+'/all/'+cat+'?page='+p+'&sid='+c.SID);"
           "x.onload=function(){var d=JSON.parse(x.responseText);var box=document.querySelector('.list-container');"
           "var h='<ul class=\"list\">';d.articles.forEach(function(a){h+='<li><a href=\"'+a.url+'\">'+a.title+'</a></li>';});"
           "h+='</ul>';var pages=Math.ceil(d.total/d.page_size);h+='<div class=\"pager\">';"
           "for(var i=1;i<=pages;i++){h+='<a href=\"javascript:void(0)\" data-p=\"'+i+'\">'+i+'</a> ';}h+='</div>';box.innerHTML=h;"
           "box.querySelectorAll('.pager a').forEach(function(e){e.onclick=function(){load(e.getAttribute('data-p'));};});};x.send();}"
           "load(1);})();", ctype="application/javascript; charset=UTF-8")
    b.portal("zibo-gkmlpt", f"/gkmlpt/annualreport#{GK_CAT}", agency="淄博市大数据局", level="city", family="gkmlpt")


# =========================================================================== site 4: GBK county site

CX = "/ptx"
CX_COL = CX + "/zwgk/gknb/"


def gbk_list(title, rows, pager, declare_meta: bool, nav="") -> str:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">\n' if declare_meta else ""
    trs = "\n".join(f'<tr><td class="list_title"><img src="{CX}/images/dot.gif"> <a href="{esc(h)}" target="_blank">{esc(t)}</a></td>'
                    f'<td class="list_date">[{d}]</td></tr>' for t, h, d in rows)
    return f"""<html>
<head>
{meta}<title>{esc(title)}--平潭县人民政府</title>
<link href="{CX}/css/style.css" rel="stylesheet" type="text/css">
</head>
<body topmargin="0">
<table width="960" align="center" class="top"><tr><td><a href="{CX_COL}index.html">平潭县人民政府</a></td></tr></table>
<table width="960" align="center"><tr>
<td width="200" valign="top" class="left_nav">{nav}</td>
<td valign="top">
<table width="100%" class="list_head"><tr><td>{esc(title)}</td></tr></table>
<table width="100%" class="list_table">
{trs}
</table>
<table width="100%" class="pager"><tr><td align="center">{pager}</td></tr></table>
</td></tr></table>
<table width="960" align="center" class="foot"><tr><td>平潭县人民政府办公室 主办</td></tr></table>
</body>
</html>
"""


def gbk_article(title, date, source, body_html, extra="", declare_meta=False) -> str:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">\n' if declare_meta else ""
    return f"""<html>
<head>
{meta}<title>{esc(title)}</title>
</head>
<body>
<table width="960" align="center" class="top"><tr><td><a href="{CX_COL}index.html">平潭县人民政府</a></td></tr></table>
<table width="960" align="center" class="article">
<tr><td class="art_title" align="center"><b>{esc(title)}</b></td></tr>
<tr><td class="art_info" align="center">发布时间：{date}　　来源：{esc(source)}　　【<a href="javascript:window.print()">打印</a>】【<a href="javascript:window.close()">关闭</a>】</td></tr>
<tr><td class="art_content" id="content">
{body_html}
</td></tr>
<tr><td class="art_fj">{extra}</td></tr>
</table>
</body>
</html>
"""


def build_gbk(b: Builder, slow_delay_note: str = "") -> None:
    def put(path, text, meta_in_page: bool):
        b.page(path, text, ctype=HTML_NOCHARSET, encoding="gbk")

    nav = (f'<div class="nav"><a href="{CX_COL}index.html">政府信息公开年报</a><br>'
           f'<a href="{CX_COL}xzjd/index.html">乡镇（街道）年报</a><br>'
           f'<a href="{CX}/zwgk/xxgkzd/index.html">政府信息公开制度</a></div>')

    rows1, rows2 = [], []
    # 2013 report: page text + attachment opened by window.open (PDF) and a .docx
    p13 = CX_COL + "2014-01/22/content_80754.htm"
    pdf13 = CX + "/uploadfiles/201401/20140122093311.pdf"
    docx13 = CX + "/uploadfiles/201401/20140122093312.doc"
    b.page(pdf13, doc_bytes("gen-pingtan-county-2013.pdf"), ctype="application/pdf")
    b.page(docx13, doc_bytes("gen-pingtan-county-2013.doc"), ctype="application/msword")
    put(p13, gbk_article("平潭县人民政府2013年政府信息公开工作年度报告", "2014-01-22", "平潭县人民政府",
                         paras(txt_lines("pingtan-county-2013.txt")),
                         extra=(f'附件：<a href="javascript:void(0)" onclick="window.open(\'{pdf13}\')">平潭县人民政府2013年政府信息公开工作年度报告.pdf</a><br>'
                                f'附件：<a href="{docx13}">平潭县人民政府2013年政府信息公开工作年度报告.doc</a>'),
                         declare_meta=True), True)
    b.report("pingtan-county-2013", p13, pdf13, docx13)
    rows1.append(("平潭县人民政府2013年政府信息公开工作年度报告", p13, "2014-01-22"))

    p = CX_COL + "2014-01/15/content_80740.htm"
    put(p, gbk_article("平潭县2014年政务公开工作要点", "2014-01-15", "平潭县人民政府办公室", paras([
        "为进一步深化政务公开工作，现制定2014年全县政务公开工作要点如下：", "一、推进行政权力运行公开。",
        "二、推进财政预决算公开。", "三、认真编制发布2013年度政府信息公开工作年度报告。"])), False)
    b.distractor(p)
    rows1.append(("平潭县2014年政务公开工作要点", p, "2014-01-15"))

    p = CX_COL + "2014-01/10/content_80733.htm"
    bud = CX + "/uploadfiles/201401/2014bmys.pdf"
    b.page(bud, doc_bytes("gen-budget-2014.pdf"), ctype="application/pdf")
    put(p, gbk_article("平潭县2014年部门预算", "2014-01-10", "平潭县财政局", paras([
        "根据《预算法》和预算公开有关规定，现将平潭县2014年部门预算公开如下，详见附件。"]),
        extra=f'<a href="#" onclick="window.open(\'{bud}\');return false;">附件：平潭县2014年部门预算.pdf</a>'), False)
    b.distractor(p, bud)
    b.broken(bud, "not_a_report")
    rows1.append(("平潭县2014年部门预算", p, "2014-01-10"))

    p = CX_COL + "2013-12/30/content_80721.htm"
    put(p, gbk_article("平潭县人民政府2013年工作总结", "2013-12-30", "平潭县人民政府办公室", paras([
        "2013年，县政府在县委的正确领导下，紧紧围绕年初确定的目标任务，扎实工作，现将全年工作总结如下：",
        "一、经济运行平稳。", "二、民生事业发展。", "三、政府自身建设：深入推进政务公开，全年主动公开政府信息1200余条。"])), False)
    b.distractor(p)
    rows1.append(("平潭县人民政府2013年工作总结", p, "2013-12-30"))

    # 2012 report: attachment behind download.jsp
    p12 = CX_COL + "2013-01/17/content_80725.htm"
    dl12 = CX + "/download.jsp?filename=20130117101530.docx"
    b.page(dl12, doc_bytes("gen-pingtan-county-2012.docx"), ctype="application/x-download",
           headers=[("Content-Disposition", "attachment;filename=20130117101530.docx")])
    put(p12, gbk_article("平潭县人民政府2012年政府信息公开工作年度报告", "2013-01-17", "平潭县人民政府",
                         paras(txt_lines("pingtan-county-2012.txt")),
                         extra=f'附件下载：<a href="{esc(dl12)}">平潭县人民政府2012年政府信息公开工作年度报告.docx</a>'), False)
    b.report("pingtan-county-2012", p12, dl12)
    rows2.append(("平潭县人民政府2012年政府信息公开工作年度报告", p12, "2013-01-17"))

    slow = CX_COL + "2012-03/30/content_80600.htm"
    b.page(slow, gbk_article("平潭县人民政府2011年政府信息公开工作年度报告", "2012-03-30", "平潭县人民政府",
                             paras(["（服务器响应超时）"])).encode("gbk"), ctype=HTML_NOCHARSET)
    b.c.slow_paths.add(slow)
    b.broken(slow, "timeout")
    rows2.append(("平潭县人民政府2011年政府信息公开工作年度报告", slow, "2012-03-30"))

    p = CX_COL + "2012-02/20/content_80590.htm"
    put(p, gbk_article("县政府召开政府信息公开工作培训会", "2012-02-20", "平潭县人民政府办公室", paras([
        "2月20日，县政府召开全县政府信息公开工作培训会，各乡镇、县直各部门信息公开工作人员参加培训。"])), False)
    b.distractor(p)
    rows2.append(("县政府召开政府信息公开工作培训会", p, "2012-02-20"))

    pager1 = '共2页 当前第1页 首页 上一页 <a href="list_2.html">下一页</a> <a href="list_2.html">尾页</a>'
    pager2 = '共2页 当前第2页 <a href="index.html">首页</a> <a href="index.html">上一页</a> 下一页 尾页'
    put(CX_COL + "index.html", gbk_list("政府信息公开年报", [(t, rel(CX_COL, h), d) for t, h, d in rows1], pager1,
                                         True, nav), True)
    put(CX_COL + "list_2.html", gbk_list("政府信息公开年报", [(t, rel(CX_COL, h), d) for t, h, d in rows2], pager2,
                                          False, nav), False)

    # township sub-column: township reports whose pages are gone, one soft 404, one work summary
    tx = CX_COL + "xzjd/"
    t404 = tx + "2014-02/10/content_80760.htm"           # not served
    b.broken(t404, "http_404")
    tsoft = tx + "2014-02/12/content_80762.htm"
    b.page(tsoft, SOFT_404.replace('<meta charset="utf-8">', "").encode("gbk"), ctype=HTML_NOCHARSET)
    b.broken(tsoft, "soft_404")
    tsum = tx + "2014-01/08/content_80730.htm"
    put(tsum, gbk_article("流水镇2013年工作总结", "2014-01-08", "流水镇人民政府", paras([
        "2013年，流水镇在县委、县政府的正确领导下，各项工作取得新成效。", "一、经济发展。", "二、社会事业。",
        "三、政务公开：镇政府通过公开栏公开各类信息86条。"])), False)
    b.distractor(tsum)
    put(tx + "index.html", gbk_list("乡镇（街道）政府信息公开年报", [
        ("潭城镇2013年政府信息公开工作年度报告", "2014-02/10/content_80760.htm", "2014-02-10"),
        ("苏澳镇2013年政府信息公开工作年度报告", "2014-02/12/content_80762.htm", "2014-02-12"),
        ("流水镇2013年工作总结", "2014-01/08/content_80730.htm", "2014-01-08")], "共1页", True, nav), True)
    # look-alike column linked from the nav
    zd = CX + "/zwgk/xxgkzd/index.html"
    put(zd, gbk_article("平潭县政府信息公开制度", "2012-05-01", "平潭县人民政府办公室", paras([
        "第一条 为规范政府信息公开工作，根据《中华人民共和国政府信息公开条例》，制定本制度。",
        "第二条 政府信息公开年度报告应当于每年3月31日前公布。"])), False)
    b.distractor(zd)
    b.portal("pingtan-county-gbk", CX_COL + "index.html", agency="平潭县人民政府", level="county", family="static")


# =========================================================================== site 5: browser-only list

DH = "/gate/big5/www.dinghai.gov.cn"


def js_list_page(title, items, pager_html: str) -> str:
    arr = ",\n".join("{title:" + json.dumps(t, ensure_ascii=False) + ",url:" + json.dumps(u) + ",date:" + json.dumps(d) + "}"
                     for t, u, d in items)
    b64 = base64.b64encode(urllib.parse.quote(pager_html).encode("ascii")).decode("ascii")
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{esc(title)}-定海區人民政府</title>
</head>
<body>
<div class="gate-bar">繁體 | 简体</div>
<div class="header"><div class="logo">定海區人民政府</div></div>
<div class="main"><div class="column-name">{esc(title)}</div>
<ul class="xxgk-list" id="xxgkList">
<script type="text/javascript">
var itemObj = [
{arr}
];
for (var i = 0; i < itemObj.length; i++) {{
  document.write('<li><a href="' + itemObj[i].url + '" target="_blank" title="' + itemObj[i].title + '">' + itemObj[i].title + '</a><span>' + itemObj[i].date + '</span></li>');
}}
</script>
</ul>
<div id="pageData" style="display:none">{b64}</div>
<div id="pageNav"></div>
<script type="text/javascript">
document.getElementById('pageNav').innerHTML = decodeURIComponent(atob(document.getElementById('pageData').innerHTML));
</script>
</div>
</body>
</html>
"""


def build_browser_only(b: Builder) -> None:
    col = DH + "/col/col1229563/"
    rep = DH + "/art/2023/1/31/art_1229563_59012345.html"
    lines = [ln for ln in doc_text("dinghai-2022-mirror.txt").splitlines() if ln.strip()]
    b.page(rep, f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>2022年定海區政府信息公開工作年度報告-定海區人民政府</title></head>
<body><div class="gate-bar">繁體 | 简体</div><div class="main"><div class="article">
<div class="art-title">2022年定海區政府信息公開工作年度報告</div>
<div class="art-con" id="zoom">{paras(lines)}</div></div></div></body></html>""")
    b.report("dinghai-2022-mirror", rep)
    d1 = DH + "/art/2023/3/20/art_1229563_59100001.html"
    b.page(d1, """<!DOCTYPE html><html><head><meta charset="utf-8"><title>2023年定海區政務公開工作要點</title></head>
<body><div class="art-title">2023年定海區政務公開工作要點</div><div class="art-con"><p>為深入貫徹落實《2023年浙江省政務公開工作要點》，結合我區實際，制定本要點。</p>
<p>一、圍繞穩經濟促發展加強政策發布解讀。</p><p>二、做好政府信息公開工作年度報告編製發布工作。</p></div></body></html>""")
    d2 = DH + "/art/2023/2/10/art_1229563_59050002.html"
    b.page(d2, """<!DOCTYPE html><html><head><meta charset="utf-8"><title>定海區2022年法治政府建設年度報告</title></head>
<body><div class="art-title">定海區2022年法治政府建設年度報告</div><div class="art-con"><p>2022年，定海區堅持以習近平法治思想為指導，紮實推進法治政府建設。</p>
<p>一、主要舉措和成效。</p><p>二、存在的不足。</p><p>三、2023年工作打算。</p></div></body></html>""")
    d3 = DH + "/art/2023/1/5/art_1229563_59000003.html"
    b.page(d3, """<!DOCTYPE html><html><head><meta charset="utf-8"><title>定海區2023年部門預算</title></head>
<body><div class="art-title">定海區人民政府辦公室2023年部門預算</div><div class="art-con"><p>根據預算公開要求，現將2023年部門預算公開如下。</p>
<p>收入預算合計986.5萬元。</p></div></body></html>""")
    b.distractor(d1, d2, d3)
    b.page(col + "index.html", js_list_page("政府信息公開年報", [
        ("2023年定海區政務公開工作要點", d1, "2023-03-20"),
        ("定海區2022年法治政府建設年度報告", d2, "2023-02-10")],
        '<span class="cur">1</span> <a href="index_2.html">2</a> <a href="index_2.html">下一頁</a>'))
    b.page(col + "index_2.html", js_list_page("政府信息公開年報", [
        ("2022年定海區政府信息公開工作年度報告", rep, "2023-01-31"),
        ("定海區人民政府辦公室2023年部門預算", d3, "2023-01-05")],
        '<a href="index.html">上一頁</a> <a href="index.html">1</a> <span class="cur">2</span>'))
    b.portal("dinghai-browser-only", col + "index.html", agency="定海区人民政府", level="county", family="render",
             render=True)


# =========================================================================== site 6: TRS 动静结合 aggregate column

FJ = "/fujian"
FJ_COL = FJ + "/zwgk/zfxxgkzl/gknb/"


def build_trs_dynamic(b: Builder) -> None:
    col = FJ_COL
    items = []

    def article(path, title, date, source, lines, extra=""):
        b.page(path, f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="SiteName" content="福建省人民政府"><meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{esc(title)}"><meta name="PubDate" content="{date}"><meta name="ContentSource" content="{esc(source)}">
<title>{esc(title)}_政府信息公开年报_福建省人民政府门户网站</title></head>
<body><div class="header">福建省人民政府门户网站</div>
<div class="smgb-article"><h1 class="smgb-tit">{esc(title)}</h1>
<div class="smgb-info"><span>来源：{esc(source)}</span><span>发布时间：{date}</span></div>
<div class="trs_editor_view TRS_UEDITOR trs_paper_default trs_web">
{paras(lines)}
</div>{extra}</div><div class="footer">福建省人民政府办公厅主办</div></body></html>""")
        return path

    # reposts (same reports as site 1 and site 4): dedup work
    p = article(col + "202403/t20240315_6412345.htm", "平潭综合实验区2023年度政府信息公开工作年度报告", "2024-03-15 10:00",
                "平潭综合实验区管委会办公室", txt_lines("pingtan-zone-2023.txt"))
    # (The corpus also has an image-only scan of this report; it is left out because OCR would
    # dominate the fixture crawl's time.)
    b.report("pingtan-zone-2023", p)
    items.append(("平潭综合实验区2023年度政府信息公开工作年度报告", p, "2024-03-15"))

    p = article(col + "202403/t20240305_6401111.htm", "福建省人民政府门户网站2023年政府网站工作年度报表", "2024-03-05 09:00",
                "福建省人民政府办公厅", ["政府网站工作年度报表（2023年度）", "填报单位：福建省人民政府办公厅",
                                    "网站名称\t福建省人民政府门户网站", "独立用户访问总量（单位：个）\t34567890"])
    b.distractor(p)
    items.append(("福建省人民政府门户网站2023年政府网站工作年度报表", p, "2024-03-05"))

    p = article(col + "202402/t20240220_6390001.htm", "平潭综合实验区管委会办公室关于2023年政务公开工作要点落实情况的函",
                "2024-02-20 15:00", "平潭综合实验区管委会办公室", [
                    "省政府办公厅：", "现将我区2023年政务公开工作要点落实情况报告如下：",
                    "一、政策解读回应关切情况。", "二、重点领域信息公开情况。", "三、按时发布2022年度政府信息公开工作年度报告。"])
    b.distractor(p)
    items.append(("平潭综合实验区管委会办公室关于2023年政务公开工作要点落实情况的函", p, "2024-02-20"))

    p = article(col + "202001/t20200125_5178001.htm", "平潭综合实验区2019年度政府信息公开工作年度报告", "2020-01-25 11:00",
                "平潭综合实验区管委会办公室", txt_lines("pingtan-zone-2019.txt"))
    b.report("pingtan-zone-2019", p)
    items.append(("平潭综合实验区2019年度政府信息公开工作年度报告", p, "2020-01-25"))

    p = article(col + "201801/t20180126_4160001.htm", "平潭综合实验区2017年度政府信息公开工作年度报告", "2018-01-26 09:30",
                "平潭综合实验区管委会办公室", txt_lines("pingtan-zone-2017.txt"),
                extra='<div class="fj">附件：<a href="./P020180126300000000001.pdf">平潭综合实验区2017年度政府信息公开工作年度报告.pdf</a></div>')
    b.report("pingtan-zone-2017", p)
    trunc = col + "201801/P020180126300000000001.pdf"
    full = doc_bytes("pingtan-zone-2017.pdf")
    b.page(trunc, full[: len(full) // 2], ctype="application/pdf")
    b.broken(trunc, "truncated_pdf")
    items.append(("平潭综合实验区2017年度政府信息公开工作年度报告", p, "2018-01-26"))

    p = article(col + "201712/t20171220_4120001.htm", "福建省人民政府办公厅关于做好2017年政府信息公开工作年度报告编制发布工作的通知",
                "2017-12-20 16:00", "福建省人民政府办公厅", [
                    "各市、县（区）人民政府，平潭综合实验区管委会，省人民政府各部门：",
                    "为做好2017年政府信息公开工作年度报告编制发布工作，现将有关事项通知如下：",
                    "一、各设区市政府、平潭综合实验区管委会和省直各部门于2018年3月31日前公布年度报告。"])
    b.distractor(p)
    items.append(("福建省人民政府办公厅关于做好2017年政府信息公开工作年度报告编制发布工作的通知", p, "2017-12-20"))

    p = article(col + "201401/t20140125_3050001.htm", "平潭县人民政府2013年政府信息公开工作年度报告", "2014-01-25 10:00",
                "平潭县人民政府", txt_lines("pingtan-county-2013.txt"))
    b.report("pingtan-county-2013", p)
    items.append(("平潭县人民政府2013年政府信息公开工作年度报告", p, "2014-01-25"))

    p = article(col + "201312/t20131210_3010001.htm", "全省政府信息公开工作会议在福州召开", "2013-12-10 18:00", "福建日报", [
        "12月10日，全省政府信息公开工作会议在福州召开，总结交流政府信息公开工作经验。"])
    b.distractor(p)
    items.append(("全省政府信息公开工作会议在福州召开", p, "2013-12-10"))

    per, total = 3, len(items)
    static = "\n".join(f'<li><a href="{esc(rel(col, h))}" target="_blank" title="{esc(t)}">{esc(t)}</a><span class="date">{d}</span></li>'
                       for t, h, d in items[:per])
    b.page(col + "index.htm", f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="SiteName" content="福建省人民政府">
<meta name="ColumnName" content="政府信息公开年报">
<title>政府信息公开年报_福建省人民政府门户网站</title>
<script src="/fujian/static/js/require.js"></script>
</head>
<body>
<div class="header">福建省人民政府门户网站</div>
<div class="xxgk_lb"><div class="xxgk_lb_tit">政府信息公开年报</div>
<ul class="gl-ul list" id="listContent">
{static}
<li ms-repeat="list" style="display:none"><a ms-attr-href="el.url" ms-attr-title="el.title" target="_blank">{{{{el.title}}}}</a><span class="date">{{{{el.time}}}}</span></li>
</ul>
<div id="pagebar"></div>
</div>
<script>
require(["list2.trsapi", "pagebar"], function (list, pagebar) {{
  list.init({{
    quickMode: "动静结合",
    maxStaticIndex: 1,
    url: "/fujian/trsapi/list",
    listArgs: {{ channelid: "5327", classsql: "chnlid=5327", sortfield: "-docreltime", prepage: {per} }},
    listEl: "#listContent",
    pagebar: {{ prepage: {per}, recordCount: '{total}', pgTemp: "pgBar_xxgk.html", el: "#pagebar" }}
  }});
}});
</script>
<div class="footer">福建省人民政府办公厅主办</div>
</body>
</html>
""")

    def api(req: Request) -> Resp:
        q = {**req.query, **req.form}
        if q.get("channelid") != "5327":
            return Resp(200, "application/json;charset=UTF-8",
                        json.dumps({"code": 1, "msg": "channel not found", "data": None}).encode())
        try:
            page = max(1, int(q.get("page", 1)))
            pp = max(1, min(50, int(q.get("prepage", per))))
        except ValueError:
            page, pp = 1, per
        chunk = items[(page - 1) * pp: page * pp]
        data = {"code": 0, "msg": "success", "data": {
            "total": total, "page": page, "prepage": pp, "pageCount": (total + pp - 1) // pp,
            "list": [{"doctitle": t, "docpuburl": h, "docreltime": d + " 00:00:00", "chnldesc": "政府信息公开年报"}
                     for t, h, d in chunk]}}
        return Resp(200, "application/json;charset=UTF-8", json.dumps(data, ensure_ascii=False).encode("utf-8"))

    b.dynamic("/fujian/trsapi/list", api)
    b.portal("fujian-trs-dynamic", col + "index.htm", agency="福建省人民政府办公厅", level="province",
             family="trs-dynamic")


# =========================================================================== all

def build() -> Catalog:
    b = Builder()
    build_trs(b)
    build_hanweb(b)
    build_gkmlpt(b)
    build_gbk(b)
    build_browser_only(b)
    build_trs_dynamic(b)
    b.page("/robots.txt", "User-agent: *\nDisallow: /pingtan/admin/\nAllow: /\n", ctype="text/plain; charset=utf-8")
    links = "\n".join(f'<li><a href="{esc(p["start_url"])}">{esc(p["name"])}</a> ({esc(p.get("family", ""))})</li>'
                      for p in b.c.portals)
    b.page("/", f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>ogi-harvester sample portals</title></head>
<body><h1>Sample government portals (fixture)</h1><ul>{links}</ul></body></html>""")
    # static assets the pages reference (scripts, styles, images): tiny stubs, so nothing dangles
    for r in list(b.c.routes.values()):
        if isinstance(r, Resp) and r.ctype.startswith("text/html") and r.status == 200:
            for m in re.finditer(rb'(?:src|href)="(/[^"?#]+\.(js|css|png|gif))"', r.body):
                p = m.group(1).decode("ascii", "replace")
                if p not in b.c.routes:
                    kind = m.group(2).decode()
                    ctype = {"js": "application/javascript", "css": "text/css"}.get(kind, f"image/{kind}")
                    body = GIF if kind in ("png", "gif") else b"/* stub */"
                    b.page(p, body, ctype=ctype)
    # sanity: every truth path except the deliberately missing 404s is routed
    missing = {x["url"] for x in b.c.broken if x["kind"] == "http_404"}
    for p in b.c.report_urls + b.c.distractor_urls + [x["url"] for x in b.c.broken]:
        assert p in b.c.routes or p in missing, p
    return b.c
