"""Links that only exist inside scripts and event handlers: window.open('…pdf'), location.href,
`var curHref = './P0….pdf'` (TRS attachments), onclick handlers, download.jsp?filename=…"""
from __future__ import annotations

import re

from scrapy.http import HtmlResponse

from harvester.classify import FILE_EXTENSIONS
from harvester.families import Link

QUOTED_URL = re.compile(
    r"""["']((?:https?://|\.{0,2}/)?[^"'\s<>()]+?\.(?:%s)(?:\?[^"'\s<>]*)?)["']""" % "|".join(FILE_EXTENSIONS),
    re.I)
HANDLER_URL = re.compile(
    r"""["']((?:https?://|\.{0,2}/)?[^"'\s<>()]*(?:download|downfile|getfile)[^"'\s<>()]*\?[^"'\s<>]+)["']""",
    re.I)
# In a click handler (openDoc('/art/1.html'), goDetail("./t1.shtml")): any quoted page address.
HANDLER_PAGE = re.compile(
    r"""["']((?:https?://|\.{0,2}/|[\w-]+/)[^"'\s<>()]*?\.(?:s?html?|jsp|aspx?|php)(?:\?[^"'\s<>]*)?)["']""", re.I)
NAV_CALL = re.compile(r"""(?:window\.open|location(?:\.href)?\s*=|location\.assign)\s*\(?\s*["']([^"']+)["']""")


def _title_near(text: str, pos: int) -> str:
    """A file name or 附件 title written next to a script URL, if any (best effort)."""
    window = text[max(0, pos - 200): pos + 300]
    match = re.search(r"[\u4e00-\u9fff][^\"'<>]{3,60}?(报告|年报)[^\"'<>]{0,20}", window)
    return match.group(0) if match else ""


DATA_URL_ATTRS = ("data-url", "data-href", "data-link")


def _element_text(el) -> str:
    """What a reader sees on a clickable element: its text, or its longer title attribute."""
    text = " ".join("".join(el.itertext()).split())
    title = (el.get("title") or "").strip()
    return title if title and len(title) > len(text) else text


def discover(response):
    if not isinstance(response, HtmlResponse):
        return []
    found = []
    # (script text, the text a reader would see next to it): a script's own words for <script>,
    # the clicked element's text for onclick / javascript: links / data-url attributes.
    chunks = [(chunk, None) for chunk in response.css("script:not([type='text/xml'])::text").getall()]
    root = response.selector.root
    if hasattr(root, "iter"):
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            handler = el.get("onclick") or ""
            href = el.get("href") or ""
            if href.lower().startswith("javascript"):
                handler += " " + href
            for attr in DATA_URL_ATTRS:
                if el.get(attr):
                    handler += f' location.href="{el.get(attr)}"'
            if handler.strip():
                chunks.append((handler, _element_text(el)))
    for chunk, seen_text in chunks:
        patterns = (QUOTED_URL, HANDLER_URL, NAV_CALL) + ((HANDLER_PAGE,) if seen_text is not None else ())
        for pattern in patterns:
            for match in pattern.finditer(chunk):
                raw = match.group(1)
                if raw.startswith(("javascript:", "#")):
                    continue
                try:
                    url = response.urljoin(raw)
                except ValueError:
                    continue
                text = seen_text if seen_text else _title_near(chunk, match.start())
                found.append(Link(url=url, text=text, via="script"))
    return found
