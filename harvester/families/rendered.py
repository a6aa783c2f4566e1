"""Lists only a browser can read: what a rendered page shows and what its scripts fetched.

No family knowledge here: a page is rendered when its static reading found no report (see
PortalSpider.parse_rendered), and every XHR/fetch/JSONP/XML response the page's own scripts
received is mined generically:
- JSON (also JSONP, i.e. `callback({...})`): any object with a URL-like and a title-like field,
  paged on by the reply's own counts (harvester.families.jsonapi.json_links);
- HTML fragments: their <a> links;
- XML: record elements whose text or CDATA holds markup, and url/title child elements.
Nothing here fetches anything: it turns captured bytes into Links for the spider to judge.
"""
from __future__ import annotations

import json
import re

from scrapy.http import HtmlResponse, Request, TextResponse

from harvester.families import Link, jsonapi, static

# The script that sent the request names a callback; the reply wraps JSON in it.
JSONP = re.compile(rb"^\s*(?:/\*\*/\s*)?[\w$.\[\]]+\s*\(\s*([\[{].*[\]}])\s*\)\s*;?\s*$", re.S)
XML_HEAD = re.compile(rb"^\s*(<\?xml|<(datastore|records?|rss|result|root|list)\b)", re.I)
# Responses bigger than this are not list replies (a document, an image): not mined.
MAX_CAPTURED_BYTES = 4 * 1024 * 1024

# A "next page" control of the page's own pager, as a reader sees it. Clicked in the browser when
# its reader would click it: buttons with no href, onclick handlers, data-page, "load more".
MAX_NEXT_CANDIDATES = 3                 # controls tried before a list is taken as ended
NEXT_CONTROL_JS = r"""
(n) => {
  // The page's own "next" control as a reader finds it: words before arrows, the innermost element
  // carrying the text (not its wrapper), never inside a breadcrumb or menu. `n` picks the n-th
  // candidate, so the caller can try the next one when a click changed nothing.
  const words = /^\s*(下一页|下页|下一頁|下頁|后页|後頁|下一页>|下一页»|加载更多|點擊加載更多|点击加载更多|查看更多|显示更多|更多信息)\s*$/;
  const arrows = /^\s*(>|›|»|>>)\s*$/;
  const chrome = /crumb|nav|menu|location|position|path|weizhi|dqwz|top|header|footer/i;
  const textOf = el => ((el.innerText || el.value || '') + '').trim();
  const inChrome = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (chrome.test(((p.className || '') + ' ' + (p.id || '')) + '')) return true;
    }
    return false;
  };
  const usable = el => {
    const cls = ((el.className || '') + ' ' + ((el.parentElement && el.parentElement.className) || '')) + '';
    if (/disabled|disable\b/i.test(cls) || el.disabled || el.getAttribute('aria-disabled') === 'true') return false;
    const style = window.getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') return false;
    const href = (el.getAttribute && el.getAttribute('href')) || '';
    // A real link is followed over HTTP by the static reading; only script controls are clicked.
    return !(href && !href.startsWith('javascript') && href !== '#');
  };
  const all = Array.from(document.querySelectorAll('a,button,span,li,div,input[type=button],em,i,b,font'));
  const candidates = [];
  for (const pattern of [words, arrows]) {
    for (const el of all) {
      if (!pattern.test(textOf(el))) continue;
      // innermost: a wrapper whose only text is its child's is skipped for the child
      if (Array.from(el.querySelectorAll('*')).some(c => pattern.test(textOf(c)))) continue;
      if (inChrome(el) || !usable(el)) continue;
      candidates.push(el);
    }
  }
  const el = candidates[n || 0];
  if (el) { el.click(); return textOf(el); }
  if (!n) window.scrollTo(0, document.body ? document.body.scrollHeight : 0);   // infinite scroll
  return null;
}
"""


def _fake_response(url: str, body: bytes, content_type: str, method: str = "GET",
                   post_data: bytes | None = None) -> TextResponse:
    request = Request(url, method=method, body=post_data or b"", dont_filter=True)
    headers = {"Content-Type": content_type or "application/octet-stream"}
    cls = HtmlResponse if "html" in (content_type or "").lower() else TextResponse
    return cls(url=url, body=body, headers=headers, request=request, encoding="utf-8")


def unwrap_jsonp(body: bytes) -> bytes | None:
    match = JSONP.match(body)
    if not match:
        return None
    inner = match.group(1)
    try:
        json.loads(inner)
    except (ValueError, RecursionError):
        return None
    return inner


def _xml_links(url: str, body: bytes) -> list[Link]:
    """Records in an XML reply: CDATA/escaped markup inside, or <url>/<title> children."""
    text = body.decode("utf-8", "replace")
    links: list[Link] = []
    markup = "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", text, re.S))
    if markup:
        links += static.links_in_html(_fake_response(url, markup.encode(), "text/html"),
                                      HtmlResponse(url=url, body=markup.encode(), encoding="utf-8").selector)
    for record in re.findall(r"<(?:record|item|row|doc)\b[^>]*>(.*?)</(?:record|item|row|doc)>", text, re.S | re.I):
        href = re.search(r"<(?:url|link|href|docpuburl|linkurl)>\s*(.*?)\s*</", record, re.S | re.I)
        title = re.search(r"<(?:title|doctitle|name)>\s*(.*?)\s*</", record, re.S | re.I)
        if href:
            try:
                links.append(Link(url=_fake_response(url, b"", "text/xml").urljoin(href.group(1)),
                                  text=re.sub(r"<[^>]+>", "", title.group(1)) if title else "", via="xml"))
            except (ValueError, RecursionError):
                continue
    return links


def links_in_captured(url: str, body: bytes, content_type: str, method: str = "GET",
                      post_data: bytes | None = None) -> list[Link]:
    """Links (and next-page API requests) in one response the page's scripts received."""
    if not body or len(body) > MAX_CAPTURED_BYTES:
        return []
    ctype = (content_type or "").lower()
    head = body.lstrip()[:1]
    inner = unwrap_jsonp(body) if head not in (b"{", b"[", b"<") else None
    if inner is not None or "json" in ctype or head in (b"{", b"["):
        data = inner if inner is not None else body
        response = _fake_response(url, data, "application/json", method, post_data)
        links = jsonapi.json_links(response)
        if inner is not None:
            # The next pages of a JSONP API are asked for as plain GETs; their replies are JSONP too.
            links = [Link(**{**link.__dict__, "via": "jsonp"}) for link in links]
        return links
    if "xml" in ctype or XML_HEAD.match(body):
        return _xml_links(url, body)
    if "html" in ctype or head == b"<":
        response = _fake_response(url, body, "text/html")
        return static.links_in_html(response, response.selector)
    return []
