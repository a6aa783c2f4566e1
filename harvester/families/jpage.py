"""Hanweb / 大汉 JCMS lists (PORTALS.md, "Hanweb / 大汉 JCMS (jpage)").

The first group of records sits in `<script type="text/xml"><datastore>…<record><![CDATA[…]]>`;
the rest come from `/module/web/jpage/dataproxy.jsp` (POST form fields, start/end record in the
query string), whose XML reply has the same records plus <totalrecord>."""
from __future__ import annotations

import re
from urllib.parse import urlencode

from parsel import Selector
from scrapy.http import TextResponse

from harvester.families import Link
from harvester.families.static import links_in_html

CDATA_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>", re.S)
TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>")
JPAGE_CALL = re.compile(r"\.jpage\(\s*\{(.*?)\}\s*\)", re.S)
PARAM = re.compile(r"""(\w+)\s*:\s*(?:["']([^"']*)["']|(-?\d+))""")
AJAX_PARAM = re.compile(r"ajaxParam\s*:\s*\{(.*?)\}", re.S)
GROUP = 3                               # Hanweb fetches three pages of records per call


def records(text: str, response) -> list[Link]:
    links = []
    for fragment in CDATA_RECORD.findall(text):
        for link in links_in_html(response, Selector(text=fragment)):
            link.via = "jpage"
            links.append(link)
    return links


def jpage_config(script: str) -> dict | None:
    call = JPAGE_CALL.search(script)
    if not call:
        return None
    body = call.group(1)
    ajax = AJAX_PARAM.search(body)
    params = {k: (s if s is not None and s != "" else n) for k, s, n in PARAM.findall(ajax.group(1))} if ajax else {}
    outer = AJAX_PARAM.sub("", body)
    config = {k: (s if s else n) for k, s, n in PARAM.findall(outer)}
    config["ajaxParam"] = params
    return config


def proxy_requests(response, config: dict, start: int, total: int | None) -> list[Link]:
    per_page = int(config.get("perPage") or 15)
    chunk = per_page * GROUP
    total = total or int(config.get("totalRecord") or 0) or chunk
    proxy = response.urljoin(config.get("proxyUrl") or "/module/web/jpage/dataproxy.jsp")
    form = urlencode({k: v for k, v in config["ajaxParam"].items()})
    links = []
    for first in range(start, total + 1, chunk):
        last = min(first + chunk - 1, total)
        query = urlencode({"startrecord": first, "endrecord": last, "perpage": per_page})
        links.append(Link(url=f"{proxy}{'&' if '?' in proxy else '?'}{query}", via="jpage", kind="api",
                          method="POST", body=form,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}))
    return links


def discover(response):
    if not isinstance(response, TextResponse):
        return []
    text = response.text
    if "<datastore" not in text and ".jpage(" not in text and "<recordset" not in text:
        return []
    links = records(text, response)
    config = jpage_config(text)
    if config is not None:
        embedded = len(CDATA_RECORD.findall(text))
        # Ask the proxy for everything after the embedded group.
        links += proxy_requests(response, config, start=embedded + 1, total=None)
    elif NEXTGROUP.search(text) and "<recordset" in text and "startrecord=" not in response.url:
        # No jpage() call to read: follow the <nextgroup> link the page itself carries (GET paging).
        for link in links_in_html(response, Selector(text=NEXTGROUP.search(text).group(1))):
            links.append(Link(url=link.url, via="jpage", kind="api"))
    links += _continue_proxy(response, text)
    return links


def _continue_proxy(response, text: str) -> list[Link]:
    """A proxy reply says how many records exist: ask for the chunks not yet requested."""
    total = TOTAL.search(text)
    query = dict(re.findall(r"(startrecord|endrecord|perpage)=(\d+)", response.url))
    if not total or "endrecord" not in query:
        return []
    total, last = int(total.group(1)), int(query["endrecord"])
    if last >= total:
        return []
    request = response.request
    body = request.body.decode("utf-8", "replace") if request is not None and request.body else None
    per_page = int(query.get("perpage") or 15)
    chunk = last - int(query.get("startrecord") or 1) + 1
    base = re.sub(r"[?&](startrecord|endrecord|perpage)=\d+", "", response.url)
    links = []
    for first in range(last + 1, total + 1, max(chunk, 1)):
        q = urlencode({"startrecord": first, "endrecord": min(first + chunk - 1, total), "perpage": per_page})
        links.append(Link(url=f"{base}{'&' if '?' in base else '?'}{q}", via="jpage", kind="api",
                          method=request.method if request is not None else "GET", body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {}))
    return links
