"""Browser rendering that costs nothing until a page needs it.

scrapy-playwright starts its Node driver when each crawler's engine starts. We run one crawler
per portal, and most portals never need a browser, so the driver is started lazily, on the
first request that asks for rendering (meta["playwright"]), and only in that crawler.
"""
from __future__ import annotations

import asyncio
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
