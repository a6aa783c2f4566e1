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
NAV_CALL = re.compile(r"""(?:window\.open|location(?:\.href)?\s*=|location\.assign)\s*\(?\s*["']([^"']+)["']""")


def _title_near(text: str, pos: int) -> str:
    """A file name or 附件 title written next to a script URL, if any (best effort)."""
    window = text[max(0, pos - 200): pos + 300]
    match = re.search(r"[\u4e00-\u9fff][^\"'<>]{3,60}?(报告|年报)[^\"'<>]{0,20}", window)
    return match.group(0) if match else ""


def discover(response):
    if not isinstance(response, HtmlResponse):
        return []
    found = []
    chunks = response.css("script:not([type='text/xml'])::text").getall()
    chunks += response.xpath("//@onclick|//@href[starts-with(., 'javascript')]").getall()
    for chunk in chunks:
        for pattern in (QUOTED_URL, HANDLER_URL, NAV_CALL):
            for match in pattern.finditer(chunk):
                raw = match.group(1)
                if raw.startswith(("javascript:", "#")):
                    continue
                try:
                    url = response.urljoin(raw)
                except ValueError:
                    continue
                found.append(Link(url=url, text=_title_near(chunk, match.start()), via="script"))
    return found
