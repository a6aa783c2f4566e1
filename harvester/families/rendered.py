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
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.http import HtmlResponse, Request, TextResponse

from harvester.families import Link, jsonapi, static
from parsers import charsets

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
    body = as_utf8(body, content_type)
    ctype = (content_type or "").lower()
    head = body.lstrip()[:1]
    inner = unwrap_jsonp(body) if head not in (b"{", b"[", b"<") else None
    if inner is not None or "json" in ctype or head in (b"{", b"["):
        data = inner if inner is not None else body
        response = _fake_response(url, data, "application/json", method, post_data)
        links = jsonapi.json_links(response)
        # A page parameter the script never sent is a guess (json_links names it "page"): the
        # captured request is replayed with the parameter that really pages it instead.
        sent = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        links = [link for link in links if link.kind != "api" or link.method != "GET"
                 or {k for k, _ in parse_qsl(urlsplit(link.url).query, keep_blank_values=True)} <= sent]
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


# ---------------------------------------------------------------------------------------------
# Replaying a captured list request with its page parameter changed.
#
# A rendered list may have no pager a browser can click (records that load when a sentinel inside a
# scrolled box comes into view, a pager plugin that failed) while its scripts fetched page 1 of the
# list from an API. The request is replayed with one parameter changed at a time; the parameter
# that pages is the one whose change brings new records (PortalSpider.parse_replay), so the names
# below only order the tries, they do not decide.
PAGE_NAME = re.compile(r"^(page|pageno|pageindex|pagenum|pagenumber|currentpage|curpage|currpage|current|cur|pn|p|pi|"
                       r"pageid|pg|start|offset|startrecord|startrow|begin|from|skip|first)$", re.I)
OFFSET_NAME = re.compile(r"^(offset|startrecord|startrow|begin|from|skip|first)$", re.I)
# Cache busters and sizes change nothing in a list's records (or break it): never tried as pages.
NOT_PAGE_NAME = re.compile(r"^(_|t|r|ts|rnd|rand|random|timestamp|time|v|size|pagesize|page_size|limit|rows|"
                           r"perpage|prepage|per_page|num|count|length|end|endrecord|callback|jsoncallback)$", re.I)
MAX_PAGE_VALUE = 100_000
REPLY_TOTAL = re.compile(r"[\"'<]?(?:total|totalcount|totalrecord|recordcount|totalnum|totalelements)[\"'>]?"
                         r"\s*[:=>]?\s*[\"']?(\d{1,6})\b", re.I)


def as_utf8(body: bytes, content_type: str) -> bytes:
    """A captured reply's bytes as UTF-8: GBK JSONP and XML are common, often with no charset said
    (the charset rules are parsers.charsets')."""
    codec = charsets.guess(body, content_type)
    try:
        text = body.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return body
    # An XML declaration naming the old encoding would now be wrong.
    return re.sub(r"^(\s*<\?xml[^>]*encoding=[\"'])[\w-]+", r"\1utf-8", text, count=1).encode("utf-8")


@dataclass
class ListRequest:
    """A list request the page's scripts sent, as parameters one can change."""
    url: str                        # without its query when the parameters travel there
    method: str
    where: str                      # "query", "form" or "json"
    params: dict
    content_type: str = ""

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.url}"

    def with_value(self, name: str, value: int) -> tuple[str, str | None, dict]:
        """(url, body, headers) of this request with `name` set to `value`."""
        params = {**self.params, name: value if isinstance(self.params.get(name), int) else str(value)}
        if self.where == "query":
            return urlunsplit(urlsplit(self.url)._replace(query=urlencode(list(params.items())))), None, {}
        if self.where == "form":
            return self.url, urlencode(list(params.items())), {"Content-Type": "application/x-www-form-urlencoded"}
        return self.url, json.dumps(params, ensure_ascii=False), {"Content-Type": "application/json"}


def list_request(url: str, method: str, post_data: bytes | str | None) -> ListRequest | None:
    method = (method or "GET").upper()
    body = post_data.decode("utf-8", "replace") if isinstance(post_data, bytes) else (post_data or "")
    if method == "GET" or not body.strip():
        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        return ListRequest(url, method, "query", params)
    if body.lstrip()[:1] == "{":
        try:
            params = json.loads(body)
        except ValueError:
            return None
        return ListRequest(url, method, "json", params) if isinstance(params, dict) else None
    return ListRequest(url, method, "form", dict(parse_qsl(body, keep_blank_values=True)))


def _numeric(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 6:
        return int(value)
    return None


def page_parameters(request: ListRequest, siblings: list[ListRequest] = ()) -> list[tuple[str, int, int]]:
    """(name, next value, step) for each parameter worth trying as the page, most likely first
    (step None: an offset, moved by the records page 1 holds, then by 1):
    one that already changed between the requests the page sent, then page-like names, then any
    small number (a page is small; ids, sizes and cache busters are not tried)."""
    tried, out = set(), []
    for name, value in request.params.items():       # what changed between the page's own requests
        values = {v for v in (_numeric(s.params.get(name)) for s in siblings) if v is not None}
        mine = _numeric(value)
        if mine is None or len(values | {mine}) < 2 or NOT_PAGE_NAME.match(name):
            continue
        ordered = sorted(values | {mine})
        step = min(b - a for a, b in zip(ordered, ordered[1:])) or 1
        out.append((name, max(ordered) + step, step))
        tried.add(name)
    ranked = sorted(((0 if PAGE_NAME.match(n) else 1), i, n) for i, n in enumerate(request.params))
    for _, _, name in ranked:
        value = _numeric(request.params[name])
        if name in tried or value is None or value > MAX_PAGE_VALUE or NOT_PAGE_NAME.match(name):
            continue
        if not PAGE_NAME.match(name) and value > 2:
            continue                  # an unknown name is tried only when it reads like a first page
        if OFFSET_NAME.match(name) or name.lower() == "start":
            # An offset moves by the records of a page; "start" is a page number on some sites.
            out.append((name, value, None))
        else:
            out.append((name, value + 1, 1))
    return out


def reply_total(body: bytes) -> int | None:
    """The record count a list reply states (JSON, JSONP, XML)."""
    match = REPLY_TOTAL.search(body[:20000].decode("utf-8", "replace"))
    return int(match.group(1)) if match else None
