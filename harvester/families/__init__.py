"""CMS families: each module knows how one kind of portal lists its documents.

Every family exposes `discover(response) -> Iterable[Link]` and returns nothing on pages that are
not its own, so the spider simply asks them all. Adding a family is adding a module here and a
line in FAMILIES; no spider changes, no per-site code.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Link:
    url: str
    text: str = ""
    via: str = "a"                 # which family/markup found it: a, script, datastore, jpage, gkmlpt...
    kind: str | None = None        # None: classify it; "pager" / "api": the family already knows
    method: str = "GET"
    body: str | None = None        # form body for POST APIs
    headers: dict = field(default_factory=dict)


def discover(response):
    """All links every family finds on a response, in page order, without duplicates."""
    from harvester.families import gkmlpt, jpage, jsonapi, static, scripts, trs

    seen = set()
    for family in (static, scripts, trs, jpage, gkmlpt, jsonapi):
        for link in family.discover(response):
            key = (link.url, link.method, link.body)
            if key in seen:
                continue
            seen.add(key)
            yield link
