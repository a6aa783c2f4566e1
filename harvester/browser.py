"""Browser rendering that costs nothing until a page needs it, and stays bounded when it does.

scrapy-playwright starts its Node driver when each crawler's engine starts. We run one crawler
per portal, and most portals never need a browser, so the driver is started lazily, on the
first request that asks for rendering (meta["playwright"]), and only in that crawler.

Bounded: at most OGI_BROWSER_MAX_PAGES pages are open at once (default: the downloader's
CONCURRENT_REQUESTS_PER_DOMAIN, since a crawler is one portal). A page is held from before its
creation until the spider closes it (playwright_include_page: the downloader's slot is free as
soon as the response is, while the callback still clicks the page's pager), so this bound, not
the downloader's, is what keeps Chromium's memory flat. A click opens no window (window.open does
nothing; a target=_blank window is closed at once): nothing reads them, and they stayed open.
Pages live in a context that is replaced every OGI_BROWSER_PAGES_PER_CONTEXT pages (the old
one is closed when its last page is), so a context's caches never grow with the crawl.
"""
from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from scrapy import signals
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler):
        super().__init__(crawler)
        self._crawler = crawler
        for receiver in (getattr(self, "_maybe_launch_in_thread", None), getattr(self, "_engine_started", None)):
            if receiver is not None:
                crawler.signals.disconnect(receiver, signals.engine_started)
        self._lazy_lock = asyncio.Lock()
        settings = crawler.settings
        self.max_pages = settings.getint("OGI_BROWSER_MAX_PAGES") or settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") or 1
        self._page_slots = asyncio.Semaphore(self.max_pages)
        self.config.max_pages_per_context = self.max_pages    # one owner of the bound: this setting
        self._pages_per_context = settings.getint("OGI_BROWSER_PAGES_PER_CONTEXT")
        self._generation = 0              # which context new pages go to (ogi-0, ogi-1, ...)
        self._pages_in_context = 0
        self._live: dict[str, int] = {}   # per context: pages being created or open (closed at 0 once retired)
        self.open_pages = 0               # pages this handler opened and has not seen closed
        self.pages_opened = 0
        self._gauge = settings.get("OGI_BROWSER_GAUGE")

    async def _ensure_launched(self) -> None:
        async with self._lazy_lock:
            if getattr(self, "browser_provider", None) is None:
                hosts = getattr(self._crawler.spider, "allowed_hosts", None) or ALLOWED_BROWSER_HOSTS
                options = self.config.launch_options
                options["args"] = [*options.get("args", []), "--host-resolver-rules=" + resolver_rules(hosts)]
                await self._maybe_future_from_coro(self._launch())

    async def download_request(self, request, spider=None):
        if request.meta.get("playwright"):
            await self._ensure_launched()
        if spider is None:
            return await super().download_request(request)
        return await super().download_request(request, spider)

    # ------------------------------------------------------------------ bounded pages
    async def _create_page(self, request, spider):
        # The slot is taken before the page exists and given back only when it is closed: a page
        # kept for the spider's callback still counts (scrapy-playwright's per-context semaphore is
        # released on both "close" and "crash", so it can let more pages in than it should).
        await self._page_slots.acquire()
        name = self._context_for_new_page()
        try:
            request.meta["playwright_context"] = name
            page = await super()._create_page(request, spider)
        except BaseException:
            self._page_slots.release()
            self._page_gone(name)
            raise
        self.open_pages += 1
        self.pages_opened += 1
        self._record()

        def closed(*_):
            self.open_pages -= 1
            self._page_slots.release()
            self._record()
            self._page_gone(name)
        page.once("close", closed)
        return page

    async def _create_browser_context(self, name, context_kwargs, spider=None):
        wrapper = await super()._create_browser_context(name, context_kwargs, spider)
        # A window a pager click opens is never read: window.open opens none (a popup whose opener
        # closes first is not even reported to Playwright, and lived until its context closed), and
        # any other (target=_blank) is closed as soon as it appears. Watched on the context, not
        # with the opener's "popup" event, which waits for the popup's first navigation.
        await wrapper.context.add_init_script(NO_WINDOW_OPEN)
        wrapper.context.on("page", lambda page: asyncio.ensure_future(self._close_if_popup(page)))
        return wrapper

    async def _close_if_popup(self, page) -> None:
        # A pager click that opens a window (target=_blank, window.open): nothing reads it, and it
        # would stay open, outside the bound, until its context closed.
        # page.opener() answers None once the opener is closed, so ask what the page was created
        # with (Playwright's own record of it).
        if getattr(getattr(page, "_impl_obj", page), "_opener", None) is None and await page.opener() is None:
            return                      # a page we opened ourselves
        self._crawler.stats.inc_value("ogi/browser_popups_closed")
        await _quietly(page.close())

    def _context_for_new_page(self) -> str:
        if self._pages_per_context and self._pages_in_context >= self._pages_per_context:
            retired = f"ogi-{self._generation}"
            self._generation += 1
            self._pages_in_context = 0
            if not self._live.get(retired):
                self._close_context(retired)
        self._pages_in_context += 1
        name = f"ogi-{self._generation}"
        # Counted before the page exists: a retired context is closed only when no page of it is
        # still being created (closing it then made the creation fail and be retried).
        self._live[name] = self._live.get(name, 0) + 1
        return name

    def _page_gone(self, name: str) -> None:
        self._live[name] -= 1
        if not self._live[name] and name != f"ogi-{self._generation}":
            self._close_context(name)

    def _close_context(self, name: str) -> None:
        self._live.pop(name, None)
        wrapper = self.context_wrappers.pop(name, None)
        if wrapper is not None:
            asyncio.ensure_future(_quietly(wrapper.context.close()))

    def _record(self, closing: bool = False) -> None:
        stats = self._crawler.stats
        stats.set_value("ogi/browser_pages_open", self.open_pages)
        stats.max_value("ogi/browser_pages_open_max", self.open_pages)
        stats.set_value("ogi/browser_pages_opened", self.pages_opened)
        stats.set_value("ogi/browser_page_limit", self.max_pages)
        if self._gauge:
            # For `ogi bench render`, which samples the crawl from outside its process.
            tmp = f"{self._gauge}.{os.getpid()}"
            with open(tmp, "w") as fh:
                fh.write(f"{self.open_pages} {self.pages_opened} {stats.get_value('ogi/browser_pages_open_max')} "
                         f"{self.max_pages} {int(closing)}\n")
            os.replace(tmp, self._gauge)

    def close(self):
        # Not async: returns whatever scrapy-playwright's close returns (a coroutine on Scrapy
        # >= 2.14, a Deferred before), so it works on every Scrapy the project allows.
        if self.pages_opened:
            self._record(closing=True)
        return super().close()


async def _quietly(coro) -> None:
    try:
        await coro
    except Exception:       # already closed, or the browser went away: nothing left to free
        pass


NO_WINDOW_OPEN = "window.open = function () { return null; };"

# Hosts of the portals crawled in this process; the browser may fetch from these only.
ALLOWED_BROWSER_HOSTS: set[str] = set()
SKIPPED_RESOURCES = {"image", "media", "font", "stylesheet"}


def resolver_rules(hosts) -> str:
    """Chromium's --host-resolver-rules: no host but the portal's resolves, IP literals included. The
    browser follows redirects itself and PLAYWRIGHT_ABORT_REQUEST never sees their hops, so this is what
    keeps a redirect inside a rendered page from reaching another host (127.0.0.2, 169.254.169.254...)."""
    return ", ".join(["MAP * ~NOTFOUND", *(f"EXCLUDE {h}" for h in sorted(h for h in hosts if h))])


def abort_request(request) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: what a rendered page may not fetch."""
    if request.resource_type in SKIPPED_RESOURCES:
        return True
    parts = urlsplit(request.url)
    if parts.scheme in ("data", "blob", "about"):
        return False
    return parts.scheme not in ("http", "https") or parts.hostname not in ALLOWED_BROWSER_HOSTS
