"""Plain HTML lists: <a href> links with their text or title attribute."""
from __future__ import annotations

import re
from urllib.parse import unquote

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
            url = response.urljoin(href)
        except ValueError:
            continue
        found.append(Link(url=url, text=text, via="a"))
    # Reports shown inline: <iframe>/<embed>/<object> of a PDF, often through a viewer
    # (pdfjs/web/viewer.html?file=/x.pdf).
    for el in root.iter("iframe", "embed", "object"):
        src = (el.get("src") or el.get("data") or "").strip()
        if not src:
            continue
        viewer_file = re.search(r"[?&]file=([^&]+)", src)
        target = unquote(viewer_file.group(1)) if viewer_file else src
        try:
            found.append(Link(url=response.urljoin(target), text=el.get("title") or "", via=el.tag))
        except ValueError:
            continue
    return found


def discover(response):
    if not isinstance(response, HtmlResponse):
        return []
    return links_in_html(response, response.selector)
