"""Transport concerns: redirect loops reported as errors, and charsets Chinese portals omit.

Spiders never deal with either: they see a decoded response or an errback with a clear reason.
"""
from __future__ import annotations

import re

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, TextResponse

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"}


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


def _charset_from_header(response) -> str | None:
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
    match = re.search(r"charset\s*=\s*([\w\-]+)", content_type)
    return match.group(1) if match else None


def _pick_encoding(body: bytes, header: str | None) -> str | None:
    """Header, then meta, then a UTF-8 trial, then GB18030: the order PORTALS.md recommends.

    GB2312/GBK labels are decoded as GB18030, its superset, because pages labelled GB2312 often
    contain GBK-only characters (rare characters in names).
    """
    declared = header
    if not declared:
        match = META_CHARSET.search(body[:4096])
        declared = match.group(1).decode("ascii", "ignore").lower() if match else None
    if declared and declared.lower() in GB_FAMILY:
        return "gb18030"
    if declared:
        return None                        # trust other declarations; Scrapy handles them
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    try:
        body.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return None


class ChineseEncodingMiddleware:
    """Give undeclared or GB-labelled HTML the right encoding before any spider reads it."""

    def process_response(self, request, response, spider=None):
        if not isinstance(response, TextResponse):
            return response
        encoding = _pick_encoding(response.body, _charset_from_header(response))
        if encoding:
            cls = HtmlResponse if isinstance(response, HtmlResponse) else TextResponse
            return response.replace(cls=cls, encoding=encoding)
        return response
