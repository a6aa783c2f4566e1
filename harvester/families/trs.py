"""TRS WCM lists: the pager is written by script, never as links.

`createPageHTML(17, 0, "index", "html")` (count, current zero-based, name, ext) or the six-argument
variant `createPageHTML(div, pages, current, "index", "html", records)`; sometimes only
`var countPage = 17`. Pages are index.html, index_1.html … (PORTALS.md, "TRS WCM")."""
from __future__ import annotations

import re

from scrapy.http import HtmlResponse

from harvester.families import Link

CREATE_PAGE_4 = re.compile(r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']")
CREATE_PAGE_6 = re.compile(
    r"createPageHTML\(\s*[\"'][^\"']*[\"']\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']")
COUNT_PAGE = re.compile(r"var\s+countPage\s*=\s*(\d+)")
PAGE_NAME = re.compile(r"/(?:(\w+?)(?:_\d+)?\.(s?html?))?$")
MAX_PAGES = 500


def _pages(response, count: int, name: str, ext: str, one_based: bool):
    base = response.url.split("?")[0]
    folder = base[: base.rfind("/") + 1]
    numbers = range(1, count + 1) if one_based else range(1, count)
    for n in list(numbers)[:MAX_PAGES]:
        yield Link(url=f"{folder}{name}_{n}.{ext}", text=str(n + 1), via="trs", kind="pager")


def discover(response):
    if not isinstance(response, HtmlResponse):
        return []
    script = "\n".join(response.css("script::text").getall())
    if "createPageHTML" not in script and "countPage" not in script:
        return []
    match = CREATE_PAGE_6.search(script)
    if match:
        # One-based variant: index_1 may or may not exist; the spider treats misses as pager misses.
        return list(_pages(response, int(match.group(1)), match.group(3), match.group(4), one_based=True))
    match = CREATE_PAGE_4.search(script)
    if match:
        return list(_pages(response, int(match.group(1)), match.group(3), match.group(4), one_based=False))
    match = COUNT_PAGE.search(script)
    if match:
        name_match = PAGE_NAME.search(response.url.split("?")[0])
        name = (name_match.group(1) if name_match and name_match.group(1) else "index")
        ext = (name_match.group(2) if name_match and name_match.group(2) else "html")
        return list(_pages(response, int(match.group(1)), name, ext, one_based=False))
    return []
