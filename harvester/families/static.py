"""Plain HTML lists: <a href> links with their text or title attribute."""
from __future__ import annotations

import re
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit

from scrapy.http import HtmlResponse

from harvester.families import Link


# Link words that say nothing of the document: the reader takes the title from the row instead.
GENERIC_TEXT = re.compile(r"^(查看|详情|详细|查看详情|点击查看|点击进入|阅读全文|全文|更多|下载|点击下载|附件下载|浏览|"
                          r"进入|打开|view|more|download|>>|»|)$", re.I)
ROW_TAGS = {"li", "tr", "dd", "dt", "p"}
MAX_ROW_TEXT = 200


def _row_text(a) -> str:
    """The text of the list row (li, tr, dd, p) holding a link, when it is short enough to be one
    record's title and date, not a whole list."""
    el = a.getparent()
    for _ in range(4):
        if el is None:
            return ""
        if el.tag in ROW_TAGS:
            text = " ".join(el.text_content().split())
            return text if len(text) <= MAX_ROW_TEXT else ""
        el = el.getparent()
    return ""


VIEWER_PARAM = re.compile(r"[?&]file=([^&#]+)", re.I)
# Only viewer pages: a download handler (download.jsp?file=…) serves the file itself.
VIEWER_PATH = re.compile(r"viewer|pdfjs|preview|yulan", re.I)


def viewer_target(url: str) -> str:
    """The document a viewer page shows (pdfjs/web/viewer.html?file=/x.pdf, or a viewer under any
    name): fetching the viewer would keep its HTML, not the report. pdf.js resolves `file` against
    the viewer's own address, so a relative target is joined to it."""
    match = VIEWER_PARAM.search(url)
    if not match or not VIEWER_PATH.search(url.split("?", 1)[0]):
        return url
    target = unquote(unquote(match.group(1))).strip()
    if not re.search(r"\.(pdf|docx?|wps|ofd|xlsx?)(?:$|[?#])", target, re.I):
        return url
    return urljoin(url, target)


def links_in_html(response, selector) -> list[Link]:
    """Every <a>/<area> with an href, its text (or its longer title attribute).

    Walks the lxml tree directly: one parsel Selector per link would dominate a crawl's CPU."""
    found = []
    root = selector.root
    if not hasattr(root, "iter"):
        return found
    for a in root.iter("a", "area"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        text = " ".join(a.text_content().split()) if a.tag == "a" else (a.get("alt") or "")
        title = (a.get("title") or "").strip()
        # Lists often truncate the text ("2023年政府信息公开…") and keep the full title attribute.
        if title and (len(title) > len(text) or not text):
            text = title
        if a.tag == "a" and GENERIC_TEXT.match(text.strip()):
            text = _row_text(a) or text
        try:
            url = viewer_target(response.urljoin(href))
        except ValueError:
            continue
        found.append(Link(url=url, text=text, via="a"))
    # Reports shown inline: <iframe>/<embed>/<object> of a PDF, often through a viewer
    # (pdfjs/web/viewer.html?file=/x.pdf).
    for el in root.iter("iframe", "embed", "object"):
        src = (el.get("src") or el.get("data") or "").strip()
        if not src:
            continue
        try:
            found.append(Link(url=viewer_target(response.urljoin(src)), text=el.get("title") or "", via=el.tag))
        except ValueError:
            continue
    return found


def discover(response):
    if not isinstance(response, HtmlResponse):
        return []
    return links_in_html(response, response.selector)


# A site's own search box: TRS WAS5 (/was5/web/search?channelid=…&searchword=…&page=N) and Kaipu
# (/guestweb4/s?searchWord=…&siteCode=…&pageNum=N) as public scrapers of gov.cn sites call them
# (e.g. repositories found by `find_string` "was5/web/search?" and "guestweb4/s?searchWord"), and
# plain <form action="/search…"> boxes. Only real <form>s are used; a box wired by script alone is not.
SEARCH_HINT = re.compile(r"search|sousuo|sou|query|检索|搜索|jiansuo|find", re.I)
QUERY_INPUT_HINT = re.compile(r"search|word|key|^q$|^wd$|query|^kw$|sousuo|title", re.I)


def search_forms(response, query: str) -> list[Link]:
    """Requests that submit the page's search forms with `query` as a reader would type it."""
    found = []
    root = response.selector.root
    if not hasattr(root, "iter") or not query:
        return found
    for form in root.iter("form"):
        described = " ".join(form.get(a) or "" for a in ("action", "id", "name", "class"))
        inputs = [el for el in form.iter("input") if el.get("name")]
        texts = [el for el in inputs if (el.get("type") or "text").lower() in ("text", "search")]
        if not texts or not (SEARCH_HINT.search(described) or any(
                SEARCH_HINT.search(" ".join(el.get(a) or "" for a in ("name", "id", "placeholder", "class")))
                for el in texts)):
            continue
        box = next((el for el in texts if QUERY_INPUT_HINT.search(el.get("name") or "")), texts[0])
        fields = []
        for el in inputs:
            kind = (el.get("type") or "text").lower()
            if el is box:
                fields.append((el.get("name"), query))
            elif kind in ("hidden", "text", "search"):
                fields.append((el.get("name"), el.get("value") or ""))
        for select in form.iter("select"):
            chosen = next((o for o in select.iter("option") if o.get("selected") is not None),
                          next(select.iter("option"), None))
            if select.get("name") and chosen is not None:
                fields.append((select.get("name"), chosen.get("value") or chosen.text_content().strip()))
        try:
            action = response.urljoin(form.get("action") or response.url)
        except ValueError:
            continue
        if urlsplit(action).scheme not in ("http", "https"):
            continue
        body = urlencode(fields)
        if (form.get("method") or "get").lower() == "post":
            found.append(Link(url=action, text="站内搜索", via="search", kind="search", method="POST", body=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "Referer": response.url}))
        else:
            parts = urlsplit(action)
            url = urlunsplit(parts._replace(query=(parts.query + "&" if parts.query else "") + body))
            found.append(Link(url=url, text="站内搜索", via="search", kind="search", headers={"Referer": response.url}))
    return found
