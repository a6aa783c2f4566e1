"""Transport concerns: requests that leave the portal, redirect loops reported as errors, and charsets
Chinese portals omit.

Spiders never deal with these: they see a decoded response or an errback with a clear reason.
"""
from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, TextResponse

from parsers import charsets



class OffsiteRefused(IgnoreRequest):
    """A request the portal may not make: a redirect off the portal that no link could make, or any request
    to a private, loopback, link-local (cloud metadata) or other non-public address but the portal's own."""


def _non_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address `addr` is (None: a public one)."""
    addr = getattr(addr, "ipv4_mapped", None) or addr  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(addr, "is_" + kind):
            return kind.replace("_", "-")
    return None if addr.is_global else "non-public"


class OffsiteGuardMiddleware:
    """Checks every request before robots.txt, the browser or the network sees it (priority below 100).

    The portal's own hosts (`spider.allowed_hosts`: the start URL's and the registry's) are always allowed.
    A redirect hop to another host must be one the spider would follow as a link (`spider.may_redirect`).
    Any other host is resolved, and refused when an address it names is not public: a portal page must not
    make the crawler fetch 127.0.0.1:6379, the LAN or 169.254.169.254. (A name that resolves differently at
    connection time could still slip through; Scrapy's DNS cache makes that unlikely.)
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self._kinds: dict[str, str | None] = {}  # host -> kind of non-public address it names, or None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request, spider=None):
        spider = self.crawler.spider
        host = urlsplit(request.url).hostname or ""
        if host in getattr(spider, "allowed_hosts", ()):
            return None
        hops = request.meta.get("redirect_urls")
        if hops and not spider.may_redirect(request, hops[-1]):
            raise OffsiteRefused(f"redirect from {hops[-1]} to {request.url}: off the portal, "
                                 "and not a report file a link could lead to")
        if host not in self._kinds:
            self._kinds[host] = await self._resolve(host)
        if self._kinds[host]:
            raise OffsiteRefused(f"{request.url}: {host} is a {self._kinds[host]} address, not the portal's own host")
        return None

    @staticmethod
    async def _resolve(host: str) -> str | None:
        try:
            return _non_public(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        except OSError:
            return None  # unresolvable: the download fails with Scrapy's own DNS error
        kinds = [_non_public(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos]
        return next((k for k in kinds if k), None)


class RedirectLoopError(IgnoreRequest):
    """A redirect chain that comes back to a URL it already visited."""


class LoopAwareRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, but a loop (a -> b -> a) raises at once with the chain in the message.

    Without this the dupefilter silently drops the second visit of `a`, and the loop leaves no
    trace in the errors table.
    """

    def _redirect(self, redirected, request, reason):
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            raise RedirectLoopError("redirect loop: " + " -> ".join([*chain, redirected.url]))
        return super()._redirect(redirected, request, reason)


def _pick_encoding(body: bytes, header: str | None) -> str | None:
    """The encoding to give a response Scrapy would decode wrongly, by parsers.charsets' rule; None
    where Scrapy's own reading is right (UTF-8, or a declared non-GB charset)."""
    stated = header or charsets.from_meta(body[:4096])
    if stated:
        return "gb18030" if charsets.normalise(stated) == "gb18030" else None
    found = charsets.trial(body)
    return found if found == "gb18030" else None


class ChineseEncodingMiddleware:
    """Give undeclared or GB-labelled HTML the right encoding before any spider reads it."""

    def process_response(self, request, response, spider=None):
        if not isinstance(response, TextResponse):
            return response
        encoding = _pick_encoding(response.body, charsets.from_header(response.headers.get(b"Content-Type")))
        if encoding:
            cls = HtmlResponse if isinstance(response, HtmlResponse) else TextResponse
            return response.replace(cls=cls, encoding=encoding)
        return response
