"""The one generic spider: walks a portal's 年报 column from its start URL, whatever the CMS.

It only decides what to follow and what to yield. Which links exist is the families' job
(harvester/families), whether a link is a report is the classifier's (harvester/classify.py),
storing and parsing are the pipelines'. One bad page never stops the crawl: every failure
becomes a CrawlError item.
"""
from __future__ import annotations

import asyncio
import re
from collections import Counter
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, DownloadTimeoutError
from scrapy.http import HtmlResponse, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (ConnectionRefusedError, DNSLookupError, TCPTimedOutError,
                                    TimeoutError)

from harvester import browser, classify
from harvester.db import now
from harvester.families import Link, discover, rendered, static
from harvester.items import Candidate, CrawlError, FetchedBody
from harvester.middlewares import OffsiteRefused, RedirectLoopError
from parsers.extract import signature

REPORT_SECTIONS = re.compile(r"总体情况|主动公开政府信息情况|收到和处理政府信息公开申请|行政复议、行政诉讼|"
                             r"存在的主要问题|其他需要报告的事项")
SOFT_404 = re.compile(r"页面不存在|页面未找到|找不到(该|您要的)?页面|页面已(被)?删除|404\s*Not\s*Found|文章不存在|信息不存在")
# Every SOFT_404 phrase holds one of these, in markup or not: a page without any cannot be one, and
# its text need not be assembled (an XPath over the whole page, a tenth of a crawl's spider time).
SOFT_404_MUST = re.compile(r"存|找|删|404")
# Raw HTML that only a browser can turn into a list (PORTALS.md, "JavaScript-rendered pages").
SCRIPT_RENDERED = re.compile(r"document\.write|innerHTML|atob\(|\.append\(|\.html\(|createElement|v-for|ng-repeat")
SCRIPT_LIST_HINT = re.compile(r"href|<a[\s>]|<li|\burl\b|title|atob")
# Scripts that fetch their list (the endpoint may live in an external file we never read).
SCRIPT_FETCHES = re.compile(r"XMLHttpRequest|\$\.(ajax|get|post|getJSON)|fetch\(|axios|jsonp|\.load\(", re.I)
# A pager script that submits a form (javascript:goPage(n) setting a hidden page field) fetches too;
# a search box's submit() alone does not make a page worth rendering.
FORM_PAGER = re.compile(r"page.{0,200}?\.submit\(\s*\)", re.I | re.S)
# Totals a list states for itself (共23条, recordCount: '23', totalRecord=23…).
STATED_TOTAL = re.compile(
    r"共\s*(\d{1,6})\s*(?:条|篇|项|个|份)|(?:recordCount|totalRecord|totalCount|totalNum|record_count)"
    r"[\"']?\s*[:=]\s*[\"']?(\d{1,6})", re.I)
CJK = re.compile(r"[\u4e00-\u9fff]")
# A "共N条" counts this list only when it sits in the pager (page words or a load-more control nearby),
# not a mailbox or statistics box elsewhere on the page; script fields (recordCount…) are the list's own.
PAGER_NEAR = re.compile(r"页|更多|加载|page|pager", re.I)


def stated_totals(text: str) -> list[int]:
    found = []
    for match in STATED_TOTAL.finditer(text[:200_000]):
        if match.group(2):
            found.append(int(match.group(2)))
        elif PAGER_NEAR.search(text[max(0, match.start() - 100): match.end() + 100]):
            found.append(int(match.group(1)))
    return found


def filename_of(response) -> str | None:
    disposition = response.headers.get(b"Content-Disposition", b"")
    for enc in ("utf-8", "gb18030", "latin-1"):
        try:
            text = disposition.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", text or "", re.I)
    if match:
        from urllib.parse import unquote
        return unquote(match.group(1)).strip()
    path = urlsplit(response.url).path
    query_name = re.search(r"filename=([^&]+)", urlsplit(response.url).query)
    name = path.rsplit("/", 1)[-1]
    if query_name and "." in query_name.group(1):
        return query_name.group(1)
    return name or None


BACKWARD_PAGER = {"首页", "上一页", "上页", "前页"}


def _folder(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[0]


def _header(response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1")[:300] if value else None


class PortalSpider(scrapy.Spider):
    name = "portal"
    # Distributed workers each see part of a list's pages: they keep what they found on any list
    # (stated total or not) and the writer joins the parts (harvester.distributed).
    track_every_list = False
    searches_site = True            # the site's search box as a last route in (see _search_when_idle)

    def __init__(self, portal: dict, run_id: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.portal = portal
        self.portal_name = portal["name"]
        self.run_id = run_id
        self.start_url = portal["start_url"]
        start_host = urlsplit(self.start_url).hostname
        self.allowed_hosts = {start_host, *(portal.get("allowed_hosts") or [])}
        self.max_depth = int(portal.get("max_depth") or 0) or None
        self.max_list_pages = int(portal.get("max_list_pages") or 0) or None
        self.counts: Counter = Counter()
        self._rendered: set[str] = set()        # list URLs already rendered (once each)
        self._captured: dict = {}               # playwright page -> responses its scripts received
        self._reading: Counter = Counter()       # playwright page -> reply bodies being read now
        self._budgets_hit: set[str] = set()
        self._list_urls: set[str] = set()        # distinct list/pager/api URLs asked for (the list-page cap)
        # Completeness as data: per list (its first page), the total it states and the records found
        # on it and its pager/API/rendered pages. Shortfalls become list_incomplete errors (harvester.crawl).
        self._lists: dict[str, dict] = {}
        self._search_forms: list[Link] = []      # site search boxes seen on hub pages (a last route in)
        self._searched = False
        self._replayed: set[str] = set()         # list endpoints whose captured request was replayed
        browser.ALLOWED_BROWSER_HOSTS.update(h for h in self.allowed_hosts if h)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._search_when_idle, signal=signals.spider_idle)
        return spider

    # ------------------------------------------------------------------ start
    async def start(self):
        fragment = urlsplit(self.start_url).fragment
        if self.portal.get("render"):
            # The registry says only a browser shows this list: render it straight away.
            self._rendered.add(self.start_url.split("#", 1)[0])
            yield self._request(self.start_url, self.parse_rendered, depth=0, role="list",
                                meta={**self._render_meta(), "start_fragment": fragment}, dont_filter=True)
            return
        yield self._request(self.start_url, self.parse_list, depth=0, role="list",
                            meta={"start_fragment": fragment})

    @staticmethod
    def _render_meta() -> dict:
        return {"playwright": True, "rendered": True, "playwright_include_page": True,
                "playwright_page_event_handlers": {"response": "capture_browser_response"}}

    def _settings_int(self, name: str, override: int | None) -> int:
        return override or self.settings.getint(name)

    def _request(self, url, callback, *, depth=0, role="list", link: Link | None = None,
                 referrer=None, meta=None, dont_filter=False):
        meta = {"depth_in_portal": depth, "role": role, "link_text": link.text if link else "",
                **(meta or {})}
        if not meta.get("playwright"):
            meta.pop("playwright", None)
        kwargs = {}
        if link is not None and link.method == "POST":
            kwargs.update(method="POST", body=link.body or "", headers=link.headers)
        headers = kwargs.pop("headers", {}) or {}
        if referrer:
            headers["Referer"] = referrer
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta,
                              headers=headers, dont_filter=dont_filter, **kwargs)

    # ------------------------------------------------------------------ bodies
    def _body_item(self, response, role: str) -> FetchedBody:
        media = response.headers.get(b"Content-Type", b"").decode("latin-1")
        return FetchedBody(
            url=response.url, portal=self.portal_name, role=role, status=response.status,
            body=response.body, media_type=media, filename=filename_of(response),
            referrer=(response.request.headers.get(b"Referer") or b"").decode("utf-8", "replace") or None,
            link_text=response.meta.get("link_text", ""), fetched_at=now(),
            redirect_urls=list(response.meta.get("redirect_urls", [])),
            how=response.meta.get("ogi_fetch") or "network",
            etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"))

    def _is_binary(self, response) -> bool:
        return not isinstance(response, TextResponse) or signature(response.body[:8]) is not None

    def _soft_404(self, response) -> bool:
        if not isinstance(response, HtmlResponse) or len(response.body) >= 20000:
            return False          # a real article is long; only short pages can be soft 404s
        if not SOFT_404_MUST.search(response.text):
            return False
        text = response.xpath("normalize-space(concat(string(//title), ' ', string(//body)))").get() or ""
        return bool(SOFT_404.search(text[:3000]))

    # ------------------------------------------------------------------ callbacks
    def parse_list(self, response, **_):
        depth = response.meta.get("depth_in_portal", 0)
        if self._is_binary(response):
            # A "column" link that was really a file: treat it as a document.
            yield from self.parse_document(response)
            return
        links = list(discover(response))
        if self._is_report_not_list(response, links):
            # Reached through a year-less report title that looked like a column: it is a report.
            yield from self.parse_candidate(response)
            return
        self.counts["list_pages"] += 1
        self._list_urls.add(response.url.split("#", 1)[0])   # its own pager links are not new pages
        yield self._body_item(response, "list")
        self._note_stated_total(response)
        if self._soft_404(response):
            self.counts["errors"] += 1
            yield CrawlError(response.url, self.portal_name, "soft_404",
                             "HTTP 200 but the page says it does not exist")
            return
        followed = yield from self._follow(links, response, depth, on_report_page=False)
        # Only reports found are evidence that the list was read: a pager guessed from a script
        # or an endpoint mined from one proves nothing. A list that shows no report, or fewer
        # records than it says it has, while its scripts build or fetch markup, is read the way
        # a browser shows it.
        if not response.meta.get("playwright") and self._needs_browser(response, followed):
            yield from self._render(response, depth)

    # ------------------------------------------------------------------ the browser
    def _render(self, response, depth: int):
        url = response.url.split("#", 1)[0]
        if url in self._rendered:
            return
        limit = self.settings.getint("OGI_MAX_RENDERS")
        if len(self._rendered) >= limit:
            yield from self._budget_hit("renders", limit, response.url)
            return
        self._rendered.add(url)
        self.logger.info("list at %s needs a browser; rendering it", response.url)
        yield self._request(response.url, self.parse_rendered, depth=depth, role="list",
                            meta={**self._render_meta(), "start_fragment": response.meta.get("start_fragment"),
                                  "list_root": self._list_root(response)},
                            dont_filter=True)

    async def capture_browser_response(self, pw_response):
        """Every XHR/fetch/script reply the page's own scripts received (scrapy-playwright calls
        this for each response of a page we render)."""
        request = pw_response.request
        if request.resource_type not in ("xhr", "fetch", "script", "other"):
            return
        if request.resource_type == "script" and "callback=" not in request.url.lower() \
                and "jsonp" not in request.url.lower():
            return       # plain script files are code, not list data (JSONP replies are scripts)
        page = pw_response.frame.page
        self._reading[page] += 1
        try:
            length = int(pw_response.headers.get("content-length") or 0)
            if length > rendered.MAX_CAPTURED_BYTES:
                return
            body = await pw_response.body()
        except Exception:          # the page went away or the reply had no body: nothing to mine
            return
        finally:
            if self._reading.get(page):         # gone when the page was closed meanwhile
                self._reading[page] -= 1
                if not self._reading[page]:
                    del self._reading[page]
        if page.is_closed():
            return       # a late reply of a page already read: keeping it would keep the page
        captured = self._captured.setdefault(page, [])
        if len(captured) < self.settings.getint("OGI_MAX_CAPTURED_RESPONSES"):
            captured.append((pw_response.url, body, pw_response.headers.get("content-type", ""),
                             request.method, request.post_data_buffer))

    async def parse_rendered(self, response, **_):
        """A list page as the browser shows it: its DOM after scripts ran, after each click on its
        own pager (next, load more, infinite scroll), and every reply its scripts fetched."""
        page = response.meta.get("playwright_page")
        depth = response.meta.get("depth_in_portal", 0)
        snapshots, captured = [], []
        try:
            if page is not None:
                snapshots.append(await self._settled_content(page))
                seen = {hash(snapshots[0])}
                candidate = 0               # which "next" control: the next one when a click changed nothing
                for _ in range(self.settings.getint("OGI_MAX_BROWSER_CLICKS")):
                    try:
                        clicked = await page.evaluate(rendered.NEXT_CONTROL_JS, candidate)
                    except Exception:       # a click that navigated away mid-evaluation
                        clicked = True
                    content = await self._settled_content(page)
                    if hash(content) in seen:
                        if clicked and candidate < rendered.MAX_NEXT_CANDIDATES - 1:
                            candidate += 1  # that control was not the pager (or its last page): try another
                            continue
                        break               # nothing new from any control: the list's end
                    seen.add(hash(content))
                    snapshots.append(content)
                else:
                    for error in self._budget_hit("browser_clicks", self.settings.getint("OGI_MAX_BROWSER_CLICKS"),
                                                  response.url):
                        yield error
                for _ in range(30):         # replies whose bodies are still being read (a loaded machine)
                    if not self._reading.get(page):
                        break
                    await asyncio.sleep(0.1)
                captured = self._captured.pop(page, [])
        finally:
            if page is not None:
                await self._close_page(page)
                self._reading.pop(page, None)
        if not snapshots:
            snapshots = [response.text]
        self.counts["list_pages"] += 1
        self.counts["rendered_pages"] += 1
        for n, content in enumerate(snapshots):
            snapshot = HtmlResponse(url=response.url, body=content.encode("utf-8"), encoding="utf-8",
                                    request=response.request)
            if n == 0:
                yield self._body_item(snapshot, "list")
                self._note_stated_total(snapshot)
            for item in self._follow(list(discover(snapshot)), snapshot, depth, on_report_page=False):
                yield item
        replies = []
        for url, body, ctype, method, post_data in captured:
            same_site = urlsplit(url).hostname in self.allowed_hosts
            links = rendered.links_in_captured(url, body, ctype, method, post_data)
            if not links or not same_site:
                continue
            self.counts["captured_api_replies"] += 1
            stated = rendered.reply_total(body)
            tracked = self._lists.setdefault(self._list_root(response), {"stated": None, "found": set()})
            if stated and tracked["stated"] is None:
                tracked["stated"] = stated      # the list states its total only in its API's reply
            reply = TextResponse(url=url, body=body, headers={"Content-Type": ctype or "application/octet-stream"},
                                 request=scrapy.Request(url, method=method, body=post_data or b""))
            yield self._body_item(reply, "api")
            for item in self._follow(links, response, depth, on_report_page=False):
                yield item
            replies.append((url, body, method, post_data, links))
        for item in self._start_replays(replies, response, depth):
            yield item

    # ------------------------------------------------------------------ replaying a list request
    MAX_REPLAYED_ENDPOINTS = 3          # list requests replayed per rendered page
    MAX_PAGE_PARAMETERS = 4             # parameters tried as the page of one request

    def _start_replays(self, replies, response, depth: int):
        """The list requests the page's scripts sent, replayed with their page parameter changed,
        when the reply's own counts did not already page them (jsonapi) and the list is not whole."""
        root = self._list_root(response)
        groups: dict[str, dict] = {}
        for url, body, method, post_data, links in replies:
            request = rendered.list_request(url, method, post_data)
            records = {link.url for link in links if link.kind is None}
            if request is None or not records or any(link.kind == "api" for link in links):
                continue
            group = groups.setdefault(f"{request.method} {url.split('?', 1)[0]}",
                                      {"requests": [], "records": set(), "stated": None, "per_page": 0})
            group["requests"].append(request)
            group["records"] |= records
            group["per_page"] = max(group["per_page"], len(records))
            group["stated"] = max(filter(None, (group["stated"], rendered.reply_total(body))), default=None)
        for key, group in list(groups.items())[:self.MAX_REPLAYED_ENDPOINTS]:
            if key in self._replayed:
                continue
            stated = max(filter(None, (group["stated"], self._lists.get(root, {}).get("stated"))), default=None)
            if stated is not None and len(group["records"]) >= stated:
                continue                # the browser already saw every record the list states
            self._replayed.add(key)
            last, siblings = group["requests"][-1], group["requests"][:-1]
            candidates = rendered.page_parameters(last, siblings)[:self.MAX_PAGE_PARAMETERS]
            if not candidates:
                continue
            self.counts["replayed_lists"] += 1
            state = {"request": last, "candidates": candidates, "seen": set(group["records"]),
                     "stated": stated, "root": root, "pages": 0, "per_page": group["per_page"]}
            yield from self._replay_request(state, response.url, depth)

    def _replay_request(self, state: dict, referrer: str, depth: int):
        max_pages = self._settings_int("OGI_MAX_LIST_PAGES", self.max_list_pages)
        while state["candidates"]:
            name, value, step = state["candidates"][0]
            if step is None:            # an offset: by a page's records first, then by one
                per_page = state["per_page"]
                state["candidates"][0:1] = [(name, value + per_page, per_page)] * (per_page > 1) + [(name, value + 1, 1)]
                continue
            url, body, headers = state["request"].with_value(name, value)
            link = Link(url=url, via="replay", kind="api", method=state["request"].method, body=body, headers=headers)
            admitted = self._admit_list_url(url, link, max_pages)
            if admitted == "cap":
                yield from self._budget_hit("list_pages", max_pages, url)
                return
            if admitted == "seen":      # asked for already (by the page or a pager): not this way
                state["candidates"].pop(0)
                continue
            yield self._request(url, self.parse_replay, depth=depth, role="api", link=link, referrer=referrer,
                                meta={"replay": state, "list_root": state["root"], "guess": True})
            return

    def parse_replay(self, response, **_):
        """A replayed list request: new records mean the parameter pages the list; none (or the
        same again) mean the list's end, or, on the first try, that another parameter pages it."""
        state, depth = response.meta["replay"], response.meta.get("depth_in_portal", 0)
        yield self._body_item(response, "api")
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        links = [link for link in rendered.links_in_captured(response.url, response.body, ctype,
                                                             response.request.method, response.request.body)
                 if link.kind is None]
        records = {link.url for link in links}
        name, value, step = state["candidates"][0]
        if not records - state["seen"]:
            if state["pages"] == 0:
                state["candidates"].pop(0)          # changing it changed nothing: try the next one
                yield from self._replay_request(state, response.url, depth)
            return                                  # pages repeat or ran out: the list's end
        state["seen"] |= records
        state["pages"] += 1
        yield from self._follow(links, response, depth, on_report_page=False)
        if state["stated"] is not None and len(state["seen"]) >= state["stated"]:
            return                                  # the stated total is reached
        state["candidates"] = [(name, value + step, step)]     # this parameter pages the list
        yield from self._replay_request(state, response.url, depth)

    async def _close_page(self, page) -> None:
        """Close a rendered page, then forget its replies: in that order, so a reply arriving
        while it closes is not kept (with the page) for the rest of the crawl."""
        try:
            await page.close()
        except Exception:           # the browser already went away
            pass
        self._captured.pop(page, None)

    @staticmethod
    async def _settled_content(page) -> str:
        for _ in range(5):
            try:
                await page.wait_for_load_state("networkidle", timeout=5000)
            except Exception:
                pass            # a page that keeps polling: take what it shows now
            try:
                return await page.content()
            except Exception:   # a click started a navigation (a pager submitting a form): let it land
                await asyncio.sleep(0.3)
        return await page.content()

    def _budget_hit(self, budget: str, limit: int, url: str):
        """A budget reached is recorded once per run, never a silent stop."""
        if budget in self._budgets_hit:
            return
        self._budgets_hit.add(budget)
        self.counts["errors"] += 1
        yield CrawlError(url, self.portal_name, f"budget_{budget}",
                         f"stopped at the {budget.replace('_', ' ')} budget ({limit}); raise it with "
                         f"--set OGI_MAX_{budget.upper()}=N or per portal")

    def parse_api(self, response, **_):
        depth = response.meta.get("depth_in_portal", 0)
        yield self._body_item(response, "api")
        yield from self._follow(discover(response), response, depth, on_report_page=False)

    def parse_candidate(self, response, **_):
        """A link titled like a report: an article page, or a file behind an opaque URL."""
        if self._is_binary(response):
            yield from self.parse_document(response)
            return
        if self._soft_404(response):
            self.counts["errors"] += 1
            yield self._body_item(response, "soft_404")      # kept, but not parsed as a report
            yield CrawlError(response.url, self.portal_name, "soft_404",
                             "HTTP 200 but the page says it does not exist")
            return
        self.counts["report_pages"] += 1
        yield self._body_item(response, "page")
        broken = self._malformed(response)
        if broken:
            self.counts["errors"] += 1
            yield CrawlError(response.url, self.portal_name, "malformed_html",
                             f"broken markup ({broken}); parsed with a recovering parser", warning=True)
        depth = response.meta.get("depth_in_portal", 0)
        links = list(discover(response))
        # The page's own attachments (PDF/DOCX/…) and twins, including links written by scripts.
        yield from self._follow(links, response, depth, on_report_page=True)
        # A "report" link that led to a list of reports (a column titled like a report), or a report
        # that links other reports (earlier years, departments): walk those links too.
        reports_listed = sum(1 for link in links if not classify.is_file_link(link.text, link.url) and
                             classify.classify_title(link.text).decision == classify.REPORT)
        max_depth = self._settings_int("OGI_MAX_LIST_DEPTH", self.max_depth)
        if reports_listed >= 1 and depth < max_depth and not response.meta.get("twin"):
            yield from self._follow(links, response, depth + 1, on_report_page=False)

    def parse_document(self, response, **_):
        self.counts["attachments"] += 1
        yield self._body_item(response, "attachment")

    # ------------------------------------------------------------------ following
    def _follow(self, links, response, depth: int, on_report_page: bool):
        """Yield requests and candidates for the links; return what was followed, by kind."""
        followed: Counter = Counter()
        max_depth = self._settings_int("OGI_MAX_LIST_DEPTH", self.max_depth)
        max_pages = self._settings_int("OGI_MAX_LIST_PAGES", self.max_list_pages)
        page_host = urlsplit(response.url).hostname
        root = self._list_root(response)
        sections = []
        for link in links:
            parts = urlsplit(link.url)
            if parts.scheme not in ("http", "https"):
                continue
            url = link.url.split("#", 1)[0]
            same_site = parts.hostname in self.allowed_hosts or parts.hostname == page_host
            if link.kind in ("pager", "api"):
                if not same_site or on_report_page:
                    continue
                admitted = self._admit_list_url(url, link, max_pages)
                if admitted != "new":
                    yield from self._budget_hit("list_pages", max_pages, url) if admitted == "cap" else ()
                    continue
                followed[link.kind] += 1
                callback = self.parse_api if link.kind == "api" else self.parse_list
                meta = {"guess": link.via == "trs", "list_root": root}
                yield self._request(url, callback, depth=depth, role=link.kind, link=link,
                                    referrer=response.url, meta=meta)
                continue
            if link.via == "iframe" and same_site and not on_report_page \
                    and not classify.is_file_link(link.text, url):
                # A framed list is part of the page a reader sees: read it as this list's content.
                admitted = self._admit_list_url(url, link, max_pages)
                if admitted == "new":
                    followed["frame"] += 1
                    yield self._request(url, self.parse_list, depth=depth, role="list", link=link,
                                        referrer=response.url, meta={"list_root": root})
                elif admitted == "cap":
                    yield from self._budget_hit("list_pages", max_pages, url)
                continue
            verdict = classify.classify_link(link.text, url, on_report_page=on_report_page,
                                             same_site=same_site)
            if verdict.decision == classify.REJECT:
                followed["rejected"] += 1
            # Records are counted for every list (a total may turn up later, in a rendered page's
            # API reply), not only for lists whose first page stated one.
            if (root in self._lists or self.track_every_list or len(self._lists) < 1000) and not on_report_page \
                    and self._is_record(link, verdict):
                self._lists.setdefault(root, {"stated": None, "found": set()})["found"].add(url)
            if verdict.decision in (classify.REPORT, classify.ATTACHMENT, classify.TWIN, classify.REJECT):
                self.counts["candidates"] += 1
                yield Candidate(url, self.portal_name, link.text, response.url,
                                verdict.decision, verdict.reason)
            if verdict.decision == classify.REPORT:
                followed["report"] += 1
                self.counts["reports_followed"] += 1
                callback = self.parse_document if classify.is_file_link(link.text, url) else self.parse_candidate
                yield self._request(url, callback, depth=depth, role="page", link=link,
                                    referrer=response.url)
            elif verdict.decision == classify.TWIN and same_site:
                followed["twin"] += 1
                yield self._request(url, self.parse_candidate, depth=depth, role="page", link=link,
                                    referrer=response.url, meta={"twin": True})
            elif verdict.decision == classify.ATTACHMENT and same_site:
                followed["attachment"] += 1
                yield self._request(url, self.parse_document, depth=depth, role="attachment", link=link,
                                    referrer=response.url)
            elif verdict.decision == classify.COLUMN and same_site and depth < max_depth:
                followed["column"] += 1
                yield self._request(url, self.parse_list, depth=depth + 1, role="list", link=link,
                                    referrer=response.url)
            elif verdict.decision == classify.SECTION and same_site and depth < max_depth:
                sections.append(link)
            elif verdict.decision == classify.PAGER and same_site:
                if classify.norm(link.text) in BACKWARD_PAGER and _folder(url) != _folder(response.url):
                    continue        # 首页 in a menu or breadcrumb is the site's home, not page 1
                followed["real_pager"] += link.via == "a"
                admitted = self._admit_list_url(url, link, max_pages)
                if admitted == "new":
                    followed["pager"] += 1
                    yield self._request(url, self.parse_list, depth=depth, role="list", link=link,
                                        referrer=response.url, meta={"list_root": root})
                elif admitted == "cap":
                    yield from self._budget_hit("list_pages", max_pages, url)
        if not (followed["report"] or followed["column"] or followed["pager"] or followed["frame"]):
            if not on_report_page and isinstance(response, HtmlResponse) and len(self._search_forms) < 20:
                self._search_forms.extend(static.search_forms(response, self.settings.get("OGI_SITE_SEARCH_QUERY")))
            # A hub page (a site's home, a section index) and no annual-report column in sight: go
            # where a reader would, into the disclosure section its menu names. Every hop is a
            # request with its referrer, so the path taken is in `urls`.
            for link in sections:
                followed["section"] += 1
                yield self._request(link.url.split("#", 1)[0], self.parse_list, depth=depth + 1, role="list",
                                    link=link, referrer=response.url)
        return followed

    def _search_when_idle(self):
        """The menus led to no report: ask the site's own search box (seen on a hub page) for the
        reports, once, and read its results as a list. The search page's address and the page the
        box was on are stored like any hop (urls.referrer)."""
        if not self.searches_site or self._searched or not self._search_forms or self.counts["reports_followed"]:
            return
        self._searched = True
        limit = self.settings.getint("OGI_MAX_SITE_SEARCHES")
        seen = set()
        for link in self._search_forms:
            key = (link.url, link.body)
            if key in seen or len(seen) >= limit:
                continue
            seen.add(key)
            self.counts["site_searches"] += 1
            self.logger.info("no report found through the menus; asking the site search at %s", link.url)
            self.crawler.engine.crawl(self._request(link.url, self.parse_list, depth=1, role="list", link=link,
                                                    referrer=link.headers.get("Referer")))
        raise DontCloseSpider

    def _admit_list_url(self, url: str, link: Link, max_pages: int) -> str:
        """"new", "seen" or "cap": a list page counts against the cap once, however many pager
        links point at it."""
        key = url if link.method != "POST" else f"{url} {link.body}"
        if key in self._list_urls:
            return "seen"
        if self.counts["list_requests"] >= max_pages:
            return "cap"
        self._list_urls.add(key)
        self.counts["list_requests"] += 1
        return "new"

    @staticmethod
    def _is_record(link: Link, verdict) -> bool:
        """A list record as a reader counts them: a report, a look-alike, or any document title
        (menus and columns have short names; a record's title is a sentence)."""
        if verdict.decision in (classify.REPORT, classify.REJECT):
            return True
        return verdict.decision not in (classify.COLUMN, classify.PAGER) and len(CJK.findall(link.text or "")) >= 8

    @staticmethod
    def _list_root(response) -> str:
        return response.meta.get("list_root") or response.url.split("#", 1)[0]

    def _note_stated_total(self, response) -> None:
        """The first page of a list: keep the total it states (共N条, recordCount…), if any."""
        root = self._list_root(response)
        # A pager's page belongs to its first page's list; a rendered page is its own first page.
        if self._lists.get(root, {}).get("stated") is not None or root != response.url.split("#", 1)[0] \
                or not isinstance(response, TextResponse):
            return
        stated = stated_totals(response.text)
        if stated and len(self._lists) < 1000:
            self._lists.setdefault(root, {"stated": None, "found": set()})["stated"] = max(stated)

    def closed(self, reason):
        # Read by harvester.crawl once the crawler stops (stats outlive the spider).
        self.crawler.stats.set_value("ogi/lists", [
            {"url": url, "stated": v["stated"], "found": len(v["found"])} for url, v in self._lists.items()
            if v["stated"] is not None])

    def may_redirect(self, request, from_url: str) -> bool:
        """Whether a redirect from `from_url` to `request.url` obeys the rule `_follow` applies to links: the
        same host or the portal's, or else a report file that a link with this text would be followed to."""
        host = urlsplit(request.url).hostname
        if host in self.allowed_hosts or host == urlsplit(from_url).hostname:
            return True
        return (request.meta.get("role") == "page" and not request.meta.get("twin") and classify.classify_link(
            request.meta.get("link_text"), request.url, same_site=False).decision == classify.REPORT)

    @staticmethod
    def _is_report_not_list(response, links) -> bool:
        """A page reached through a report title that reads like a report (its section headings)
        rather than a list of reports."""
        if classify.classify_title(response.meta.get("link_text")).decision != classify.REPORT:
            return False
        listed = sum(1 for link in links if classify.classify_title(link.text).decision == classify.REPORT)
        if listed >= 2 or not isinstance(response, HtmlResponse):
            return False
        text = response.xpath("string(//body)").get() or ""
        return len(REPORT_SECTIONS.findall(text)) >= 2

    @staticmethod
    def _malformed(response) -> str | None:
        """Cheap signs of broken markup worth a warning; lxml still recovers the text."""
        body = response.body.lower()
        problems = []
        if b"</html>" not in body[-4096:] or b"</body>" not in body:
            problems.append("document not closed")
        for tag in (b"table",):
            opened, closed = body.count(b"<" + tag), body.count(b"</" + tag + b">")
            if opened != closed:
                problems.append(f"<{tag.decode()}> opened {opened}, closed {closed}")
        return "; ".join(problems) or None

    def _needs_browser(self, response, followed: Counter) -> bool:
        """Would a reader of this page in a browser see records the static reading missed?"""
        if not isinstance(response, HtmlResponse) or not self.settings.getbool("OGI_BROWSER"):
            return False
        scripts = " ".join(response.css("script:not([src])::text").getall())
        external = [response.urljoin(src) for src in response.css("script[src]::attr(src)").getall()]
        own_scripts = [u for u in external if urlsplit(u).hostname in self.allowed_hosts]
        builds = bool(SCRIPT_RENDERED.search(scripts) and SCRIPT_LIST_HINT.search(scripts))
        fetches = bool(SCRIPT_FETCHES.search(scripts) or FORM_PAGER.search(scripts)) or bool(own_scripts)
        if not followed["report"]:
            # Nothing found: render if the page's scripts could be what shows the list.
            return builds or fetches
        stated = stated_totals(response.text)
        listed = followed["report"] + followed["rejected"]
        # Records shown here and on real pager links may still fall short of the stated total;
        # only a page with no real (href) pager and a script that could fetch more is rendered.
        return bool(stated) and max(stated) > listed and not followed["real_pager"] and (builds or fetches)

    # ------------------------------------------------------------------ errors
    def on_error(self, failure):
        request = failure.request
        page = request.meta.get("playwright_page")
        if page is not None:            # a rendered page whose callback never ran: close it
            asyncio.ensure_future(self._close_page(page))
        if request.meta.get("guess") and failure.check(HttpError):
            return  # a pager page we guessed from a script that does not exist: not the portal's error
        kind, message = "error", failure.getErrorMessage() or repr(failure.value)
        # Report the URL that was asked for, not the last hop of its redirects.
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        if failure.check(HttpError):
            status = failure.value.response.status
            kind, message = f"http_{status}", f"HTTP {status} for {request.url}"
            location = (failure.value.response.headers.get(b"Location") or b"").decode("latin-1", "replace")
            if 300 <= status < 400 and urlsplit(location).scheme not in ("", "http", "https"):
                kind = "redirect_refused"
                message = f"{request.url} redirects to {location[:200]}: only http(s) addresses are followed"
        elif failure.check(RedirectLoopError):
            kind = "redirect_loop"
        elif failure.check(OffsiteRefused):
            kind = "offsite_refused"
        elif failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
            kind, message = "timeout", f"no answer within {self.settings.getint('DOWNLOAD_TIMEOUT')} s"
        elif failure.check(DNSLookupError):
            kind = "dns"
        elif failure.check(ConnectionRefusedError):
            kind = "connection_refused"
        elif "robots.txt" in message:
            kind = "robots_forbidden"
        elif "max redirections" in message:
            kind = "redirect_limit"
        elif "larger than download max size" in message or "maxsize" in message.lower():
            kind = "too_large"
        elif type(failure.value).__name__ in ("ResponseDataLossError", "_DataLoss", "PotentialDataLoss"):
            kind = "truncated"
            message = ("the server closed the connection before sending the Content-Length it announced; "
                       "nothing kept (the body would be incomplete)")
        elif "Cancel" in type(failure.value).__name__:
            kind, message = "too_large", "download cancelled (larger than DOWNLOAD_MAXSIZE?)"
        else:
            kind = type(failure.value).__name__
        self.counts["errors"] += 1
        referrer = (request.headers.get(b"Referer") or b"").decode("utf-8", "replace") or None
        yield CrawlError(url, self.portal_name, kind, message, referrer)
