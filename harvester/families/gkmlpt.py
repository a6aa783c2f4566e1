"""政府信息公开平台 (gkmlpt): shell pages whose list comes from
`/gkmlpt/api/all/{category}?page={n}&sid={site}` as JSON (PORTALS.md, "gkmlpt")."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from scrapy.http import HtmlResponse

from harvester.families import Link

SID = re.compile(r"""\bSID\s*[:=]\s*["']?(\d+)""")
CATEGORY_IN_SCRIPT = re.compile(r"""(?:api/all/|catId|CATEGORY_ID|categoryId|cat_id)["'\s:=/]*(\d+)""")


def discover(response):
    if not isinstance(response, HtmlResponse) or "/gkmlpt/" not in response.url:
        return []
    page = response.text
    sid = SID.search(page)
    if not sid:
        return []
    fragment = response.meta.get("start_fragment") or urlsplit(response.url).fragment
    categories = re.findall(r"\d+", fragment or "") or CATEGORY_IN_SCRIPT.findall(page)
    base = f"{urlsplit(response.url).scheme}://{urlsplit(response.url).netloc}"
    return [Link(url=f"{base}/gkmlpt/api/all/{cat}?page=1&sid={sid.group(1)}", via="gkmlpt", kind="api")
            for cat in dict.fromkeys(categories)]
