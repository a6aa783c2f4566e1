"""Plain HTML lists: <a href> links with their text or title attribute."""
from __future__ import annotations

from scrapy.http import HtmlResponse

from harvester.families import Link


def links_in_html(response, selector) -> list[Link]:
    found = []
    for a in selector.css("a[href], area[href]"):
        href = (a.attrib.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        text = " ".join(t.strip() for t in a.css("::text").getall() if t.strip())
        title = (a.attrib.get("title") or "").strip()
        # Lists often truncate the text ("2023年政府信息公开…") and keep the full title attribute.
        if title and (len(title) > len(text) or not text):
            text = title
        try:
            url = response.urljoin(href)
        except ValueError:
            continue
        found.append(Link(url=url, text=text, via="a"))
    return found


def discover(response):
    if not isinstance(response, HtmlResponse):
        return []
    return links_in_html(response, response)
