"""JSON list endpoints called by page scripts (gkmlpt's API, ministries' getFileList…, TRS trsapi).

Two halves: find endpoint URLs in a page's scripts, and read any JSON reply generically (every
object with a URL-like and a title-like key is a link), following its page parameter while the
reply says more records exist."""
from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.http import HtmlResponse, TextResponse

from harvester.families import Link

URL_KEYS = ("url", "link", "href", "docpuburl", "linkurl", "fileurl", "path", "puburl", "docurl")
TITLE_KEYS = ("title", "titlehtml", "name", "doctitle", "text", "filename", "subject")
TOTAL_KEYS = ("total", "totalcount", "recordcount", "totalrecord", "count", "totalelements", "totalnum")
PAGES_KEYS = ("totalpage", "totalpages", "pagecount", "pages", "pagetotal")
PAGE_PARAMS = ("page", "pageNo", "pageIndex", "pageNum", "curPage", "p")
ENDPOINT = re.compile(
    r"""(?:url\s*:\s*|fetch\(\s*|\$\.(?:get|post|getJSON)\(\s*|axios\.(?:get|post)\(\s*)["']([^"']+)["']""")
STATIC_ASSET = re.compile(r"\.(js|css|png|jpe?g|gif|svg|ico|woff2?|ttf|html?)(\?|$)", re.I)
MAX_PAGES = 200


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text or "").strip()


MAX_JSON_DEPTH = 40        # list data is never deeper; a nesting bomb is not walked to the end


def _walk(node, found: list, depth: int = 0):
    if depth > MAX_JSON_DEPTH:
        return
    if isinstance(node, dict):
        lower = {str(k).lower(): v for k, v in node.items()}
        url = next((lower[k] for k in URL_KEYS if isinstance(lower.get(k), str) and lower[k].strip()), None)
        title = next((lower[k] for k in TITLE_KEYS if isinstance(lower.get(k), str)), "")
        if url and not url.startswith("javascript"):
            found.append((url, _strip_tags(title)))
        for value in node.values():
            if isinstance(value, (dict, list)):
                _walk(value, found, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found, depth + 1)


def _keys(node) -> set[str]:
    """Lower-cased keys of the reply's top two levels (where paging fields sit)."""
    keys = set()
    if isinstance(node, dict):
        for k, v in node.items():
            keys.add(str(k).lower())
            if isinstance(v, dict):
                keys.update(str(k2).lower() for k2 in v)
    return keys


def _numbers(node, keys) -> int | None:
    """First integer under one of `keys`, searched breadth-first (totals sit near the top)."""
    queue = [node]
    while queue:
        current = queue.pop(0)
        if isinstance(current, dict):
            for k, v in current.items():
                if str(k).lower() in keys:
                    try:
                        return int(v)
                    except (TypeError, ValueError):
                        pass
            queue.extend(v for v in current.values() if isinstance(v, (dict, list)))
    return None


def _with_page(url: str, param: str, value: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def json_links(response) -> list[Link]:
    try:
        data = json.loads(response.text)
    except (ValueError, RecursionError):   # nesting bombs too
        return []
    found: list = []
    _walk(data, found)
    links = [Link(url=response.urljoin(u), text=t, via="json") for u, t in found]
    request = response.request
    if request is not None and request.method == "POST" and found:
        links += _json_body_pages(request, data, len(found))
        return links
    # Pagination: the request's own page parameter, advanced while more records exist.
    query = dict(parse_qsl(urlsplit(response.url).query))
    param = next((p for p in PAGE_PARAMS if p in query and query[p].isdigit()), None)
    if param is None and found:
        # No page parameter was sent, yet the reply may say there is more: name the parameter
        # as the reply does ("page": 1, "pageNo": 1…) and ask from page 1 on.
        echoed = next((k for k in (_keys(data) & {p.lower() for p in PAGE_PARAMS})), None)
        param = next((p for p in PAGE_PARAMS if p.lower() == echoed), "page")
        query[param] = "1"
        response_url = _with_page(response.url, param, 1)
    else:
        response_url = response.url
    if param and found:
        page = int(query[param])
        zero_based = page == 0
        pages = _numbers(data, PAGES_KEYS)
        total = _numbers(data, TOTAL_KEYS)
        if pages is None and total is not None and page in (0, 1):
            pages = math.ceil(total / len(found))
        if pages is not None:
            if page in (0, 1):          # from the first page, ask for every page at once
                last = pages - 1 if zero_based else pages
                for n in range(page + 1, min(last, MAX_PAGES) + 1):
                    links.append(Link(url=_with_page(response_url, param, n), via="json", kind="api"))
        elif page < MAX_PAGES and response_url == response.url:
            # no count given: keep going until a page comes back empty
            links.append(Link(url=_with_page(response_url, param, page + 1), via="json", kind="api"))
    return links


ARG_BLOCK = re.compile(
    r"\b(?:listArgs|params|data|ajaxParam|args|query|where|searchParams|body)\s*:\s*(?:JSON\.stringify\(\s*)?\{([^{}]*)\}")
JSON_BODY = re.compile(r"JSON\.stringify|application/json", re.I)
JSON_PAGE_KEYS = ("page", "pageNo", "pageIndex", "pageNum", "currentPage", "current", "curPage")
ARG_PAIR = re.compile(r"""["']?(\w+)["']?\s*:\s*(?:["']([^"']*)["']|(-?\d+))""")


def _call_arguments(window: str) -> dict:
    """Simple key/value pairs of the argument objects (listArgs, params, data…) in a script call:
    list APIs answer nothing useful without them (a channel id, a column id)."""
    args = {}
    for block in ARG_BLOCK.findall(window):
        for key, text, number in ARG_PAIR.findall(block):
            args.setdefault(key, text if text or not number else int(number))
    return args


def _json_body_pages(request, data, found: int) -> list[Link]:
    """Next pages of a JSON POST API: the same body with its page key advanced."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    key = next((k for k in JSON_PAGE_KEYS if k in body), None)
    if key is None or not str(body[key]).isdigit():
        return []
    page = int(body[key])
    pages, total = _numbers(data, PAGES_KEYS), _numbers(data, TOTAL_KEYS)
    if pages is None and total is not None:
        pages = math.ceil(total / found)
    if page not in (0, 1) or pages is None:
        return []
    last = pages - 1 if page == 0 else pages
    headers = {"Content-Type": "application/json"}
    return [Link(url=request.url, via="json", kind="api", method="POST", headers=headers,
                 body=json.dumps({**body, key: n}, ensure_ascii=False))
            for n in range(page + 1, min(last, MAX_PAGES) + 1)]


def endpoints_in_scripts(response) -> list[Link]:
    links = []
    for script in response.css("script:not([src])::text").getall():
        for match in ENDPOINT.finditer(script):
            raw = match.group(1)
            if STATIC_ASSET.search(raw) or raw.startswith(("#", "javascript")):
                continue
            window = script[max(0, match.start() - 300): match.end() + 800]
            lowered = window.lower()
            method = "POST" if re.search(r"type\s*:\s*['\"]post|\$\.post|axios\.post", lowered) else "GET"
            url = response.urljoin(raw)
            if JSON_BODY.search(window):
                # A JSON POST API (ministries' getFileListByCodeId…): the arguments go as a JSON body.
                args = _call_arguments(window)
                page_key = next((k for k in JSON_PAGE_KEYS if k in args), "page")
                args[page_key] = 1
                links.append(Link(url=response.urljoin(raw), via="script-api", kind="api", method="POST",
                                  body=json.dumps(args, ensure_ascii=False),
                                  headers={"Content-Type": "application/json"}))
                continue
            args = {k: v for k, v in _call_arguments(window).items() if k not in PAGE_PARAMS}
            body = None
            if args and method == "GET":
                parts = urlsplit(url)
                query = parse_qsl(parts.query, keep_blank_values=True) + list(args.items())
                url = urlunsplit(parts._replace(query=urlencode(query)))
            elif args:
                body = urlencode(args)
            present = {k for k, _ in parse_qsl(urlsplit(url).query)}
            if "page" in lowered and not present & set(PAGE_PARAMS):
                url = _with_page(url, "page", 1)
            links.append(Link(url=url, via="script-api", kind="api", method=method, body=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {}))
    return links


def discover(response):
    if not isinstance(response, TextResponse):
        return []
    if response.body[:1] not in (b"{", b"[", b"<", b" ", b"\n", b"\r", b"\t"):
        # JSONP (`cb({...})`): the next pages of an API first seen in the browser answer like this.
        from harvester.families.rendered import unwrap_jsonp
        inner = unwrap_jsonp(response.body[: 4 * 1024 * 1024])
        if inner is not None:
            return json_links(response.replace(body=inner, cls=TextResponse))
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
    head = response.text[:1].strip()
    if "json" in content_type or (not isinstance(response, HtmlResponse) and head in ("{", "[")):
        return json_links(response)
    if isinstance(response, HtmlResponse) and response.text.lstrip()[:1] in ("{", "["):
        return json_links(response)
    if isinstance(response, HtmlResponse):
        return endpoints_in_scripts(response)
    return []
