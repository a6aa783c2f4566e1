"""Format extraction: bytes of any published format -> one normalised `Extracted`.

Sniffs the format (magic bytes first, then file name / media type, then content), reads the text in
reading order with tables as TAB-joined rows (HTML via lxml, PDF via pdfplumber, DOCX via
python-docx, DOC/WPS through LibreOffice, scans and images through tesseract), and normalises it
(`parsers.normalise`). Page metadata (title, publication date) is read where the format has it.

It must never raise on bad input (every failure becomes a `Problem`), never touch the network,
never know about report semantics (templates, cells, agencies), and never run unbounded external
work: converters and OCR have time and page limits.
"""
from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor, TimeoutError

from parsers import charsets
from parsers.document import Extracted, Problem
from parsers.normalise import normalise_cell, normalise_document, normalise_text, simplified_cells

MAX_UNZIPPED = 200 * 1024 * 1024     # a DOCX larger than this unzipped is refused (zip bombs)
MAX_RATIO = 200                      # ... as is any member compressed more than this
from parsers.ocr import OCR_BUDGET, OCR_DPI, OCR_MAX_PAGES, OCR_PAGE_TIMEOUT, OCR_WORKERS  # noqa: E402,F401
CONVERT_TIMEOUT = 60
PDF_MAX_PAGES = 300

_CJK = r"\u3400-\u9fff"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}，。、：；）（“”]) +(?=[{_CJK}，。、：；）（“”])")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


# ---------------------------------------------------------------------------------------------
# entry point

def extract(data: bytes, filename: str | None = None, media_type: str | None = None) -> Extracted:
    """Extract and normalise one document. Never raises for bad input."""
    if not data:
        return Extracted(format=_format_from_name(filename, media_type) or "unknown",
                         problems=[Problem("empty", "the file is empty (zero bytes)")])
    fmt = sniff(data, filename, media_type)
    reader = _READERS.get(fmt)
    if reader is None:
        return Extracted(format=fmt, problems=[Problem(
            "unsupported", f"cannot read this format ({fmt}); expected HTML, PDF, DOCX, DOC, WPS, "
            "TXT or an image")])
    try:
        raw = reader(data, media_type)
    except Exception as exc:  # a reader bug must still give a value
        return Extracted(format=fmt, problems=[Problem("corrupt", f"could not read the {fmt}: {exc}")])
    raw.format = raw.format or fmt
    return _finish(raw)


def _finish(doc: Extracted) -> Extracted:
    """Normalise text, tables and title; the script is judged on the raw text."""
    lines_before = doc.text.count("\n")
    doc.text, doc.script = normalise_document(doc.text)
    if doc.text.count("\n") != lines_before:
        doc.geometry = {}         # lines moved: no box at all rather than a box on the wrong line
    doc.tables = [_simplified_grid(grid) for grid in doc.tables]
    if doc.title:
        doc.title = clean_title(normalise_text(doc.title).replace("\n", " ")) or None
    if doc.published is None:
        doc.published = find_publication_date(doc.text)
    if not doc.text.strip() and not any(p.kind in {"empty", "encrypted", "corrupt", "too_large",
                                                  "converter_unavailable", "ocr_unavailable",
                                                  "unsupported", "truncated"}
                                        for p in doc.problems):
        doc.problems.append(Problem("no_text", "no text could be read from the document"))
    return doc


def _simplified_grid(grid: list[list[str]]) -> list[list[str]]:
    flat = simplified_cells([c for row in grid for c in row])
    out, i = [], 0
    for row in grid:
        out.append([normalise_cell(c) for c in flat[i:i + len(row)]])
        i += len(row)
    return out


# ---------------------------------------------------------------------------------------------
# sniffing

_EXT = {"htm": "html", "html": "html", "shtml": "html", "xhtml": "html", "jsp": "html",
        "php": "html", "asp": "html", "aspx": "html", "pdf": "pdf", "docx": "docx",
        "doc": "doc", "wps": "wps", "txt": "txt", "text": "txt", "png": "image", "jpg": "image",
        "jpeg": "image", "gif": "image", "tif": "image", "tiff": "image", "bmp": "image",
        "xls": "xls", "xlsx": "xlsx", "et": "xls", "zip": "zip", "rar": "rar"}


def _format_from_name(filename: str | None, media_type: str | None) -> str | None:
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].lower().split("?")[0]
        if ext in _EXT:
            return _EXT[ext]
    mt = (media_type or "").split(";")[0].strip().lower()
    if mt:
        for key, fmt in (("html", "html"), ("pdf", "pdf"), ("wordprocessingml", "docx"),
                         ("msword", "doc"), ("wps", "wps"), ("image/", "image"),
                         ("text/plain", "txt")):
            if key in mt:
                return fmt
    return None


# File signatures (magic bytes): the one list, also what tells the crawler a response is a document.
SIGNATURES = ((b"%PDF-", "pdf"), (b"PK\x03\x04", "zip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
              (b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"), (b"GIF8", "image"), (b"II*\x00", "image"),
              (b"MM\x00*", "image"), (b"BM", "image"))


def signature(head: bytes) -> str | None:
    """pdf, zip (DOCX, XLSX…), ole (DOC, WPS, XLS) or image by the first bytes alone; None for text."""
    for magic, kind in SIGNATURES:
        if head.startswith(magic):
            return kind
    return None


def sniff(data: bytes, filename: str | None = None, media_type: str | None = None) -> str:
    """The format by content first (names lie on portals), then by name and media type."""
    kind = signature(data[:8])
    if data.lstrip()[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return "pdf"
    if kind == "zip":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except Exception:
            return "docx" if _format_from_name(filename, media_type) == "docx" else "zip"
        if "word/document.xml" in names:
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        return "zip"
    if kind == "ole":
        by_name = _format_from_name(filename, media_type)
        return by_name if by_name in {"doc", "wps", "xls"} else "doc"
    if kind == "image":
        return "image"
    by_name = _format_from_name(filename, media_type)
    sample = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    textual = b"\x00" not in data[:8192]
    # Word's single-file web page (.mht, often saved as .doc): MIME around an HTML part.
    if textual and re.match(rb"(?:[\w-]+:[^\n]*\r?\n)*mime-version:", sample) and b"multipart/related" in sample:
        return "mht"
    # Content over extension: a page saved as .doc/.pdf/.docx (portals do this) is still HTML.
    if textual and (sample.startswith((b"<!doctype html", b"<html", b"<?xml")) or re.search(
            rb"<(html|body|div|p|table|meta|head)[\s>]", data[:20000], re.I)):
        return "html"
    if by_name in {"pdf", "docx", "doc", "wps", "image"}:
        if textual and _reads_as_text(data[:8192]):
            return "txt"    # plain text under a document's name
        return by_name      # claimed but without its signature: the reader reports it corrupt
    return by_name if by_name in {"html", "txt"} else "txt"


def _reads_as_text(head: bytes) -> bool:
    """Decodes as UTF-8 or GB18030 (a cut multi-byte character at the end allowed) and is mostly
    printable CJK/ASCII: text, not a binary file without its signature."""
    for enc in ("utf-8", "gb18030"):
        try:
            text = head.decode(enc)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                continue
            text = head[:exc.start].decode(enc)
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        return bool(text) and printable / len(text) > 0.98 and _cjk_count(text) >= 4
    return False


# ---------------------------------------------------------------------------------------------
# decoding

def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """BOM, then a declared charset, then UTF-8, then GB18030 or Big5, then charset-normalizer."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace")
    enc = charsets.normalise(declared)
    if enc:
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        gb = data.decode("gb18030")
    except UnicodeDecodeError:
        gb = None
    if gb is not None:
        # GB18030 accepts most Big5 byte strings too (as nonsense): a traditional-script page
        # served without a charset (big5 gateways) that Big5 also decodes is settled by
        # charset-normalizer's coherence check between the two
        try:
            data.decode("cp950")
        except UnicodeDecodeError:
            return gb
        if sum(b >= 0x80 for b in data[:4096]) < 64:
            return gb            # too little text to tell; mainland sources are GB far more often
        return _gb_or_big5(data, gb)
    try:
        from charset_normalizer import from_bytes
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    except Exception:
        pass
    return data.decode("gb18030", errors="replace")


def _gb_or_big5(data: bytes, gb: str) -> str:
    try:
        from charset_normalizer import from_bytes
        best = from_bytes(data, cp_isolation=["gb18030", "cp950"]).best()
    except Exception:
        return gb
    if best is not None and best.encoding in ("cp950", "big5"):
        return data.decode("cp950")
    return gb


# ---------------------------------------------------------------------------------------------
# plain text

def _read_txt(data: bytes, media_type: str | None) -> Extracted:
    text = decode_bytes(data, charsets.from_header(media_type))
    return Extracted(format="txt", text=pipe_cells_to_tabs(text), published=None)


_SPACED_PIPE = re.compile(r"\s\|\s")


def _is_pipe_cell_line(s: str) -> bool:
    """'规章 | 2 | 2 | 3 |', '0 |', '|': a cell ends in '|' or cells are parted by ' | '."""
    return "|" in s and not _LONG_PIPE_RUN.search(s) and (s.rstrip().endswith("|") or bool(_SPACED_PIPE.search(s)))
_LONG_PIPE_RUN = re.compile(r"\|{30,}")   # 350 in a row: a flattened layout table, not colspans


def pipe_cells_to_tabs(text: str) -> str:
    """Tables that web readers and markdown converters flatten with '|' between cells:

        规章 | 2 | 2 | 3 |            ->  规章<TAB>2<TAB>2<TAB>3
        "规章 |", "0 |", "|" (lines)   ->  one cell per line (TAB-indented), '|' alone an empty cell

    the layouts the table parser reads. Only when several lines look like that; long runs of
    '|' (flattened layout tables) are left to normalisation, which turns them into line breaks.
    """
    lines = text.split("\n")
    cell_lines = sum(1 for ln in lines if _is_pipe_cell_line(ln))
    if cell_lines < 5:
        return text
    out = []
    for ln in lines:
        s = ln.strip()
        if not _is_pipe_cell_line(s):
            out.append(ln)
            continue
        parts = [p.strip() for p in s.split("|")]
        if parts and parts[-1] == "":
            parts.pop()                      # the terminating pipe
        if len(parts) > 1 and parts[0] == "":
            parts.pop(0)                     # a leading pipe
        out.append("\t" + parts[0] if len(parts) == 1 else "\t".join(parts))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# HTML

_DROP_TAGS = ("script", "style", "noscript", "nav", "iframe", "select", "option", "button",
              "textarea", "svg", "object", "embed", "template", "head")
_BLOCK = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "tr", "table",
          "section", "article", "header", "footer", "blockquote", "pre", "dl", "dt", "dd",
          "center", "form", "hr", "tbody", "thead", "caption", "main", "aside", "figure"}
_CHROME = re.compile(r"(^|[\s_-])(nav|navbar|menu|breadcrumb|crumb|footer|header|sidebar|share|"
                     r"toolbar|topbar|login|search|friend-?link|copyright)([\s_-]|$)", re.I)
_PUB_META = ("pubdate", "publishdate", "firstpublishedtime", "publish_time", "publishtime",
             "article:published_time", "dc.date", "createdate", "releasedate")
_ICON_SRC = re.compile(r"(icon|logo|share|weixin|wechat|weibo|qr|ewm|erweima|banner|btn|button|"
                       r"arrow|bg|blank|spacer|print|close|gif$)", re.I)


def _read_html(data: bytes, media_type: str | None) -> Extracted:
    from lxml import etree

    text = decode_bytes(data, charsets.declared(data, media_type))
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    if not text.strip():
        return Extracted(format="html")
    try:
        # plain etree elements: lxml.html's element classes cost a class lookup for every node
        # touched, and nothing here needs their methods
        parser = etree.HTMLParser(huge_tree=True)
        root = etree.fromstring(text, parser)
        if root is None:
            raise ValueError("Document is empty")
        too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    except Exception as exc:
        return Extracted(format="html", problems=[Problem("corrupt", f"unreadable HTML: {exc}")])
    recovered = None
    if too_deep:
        # libxml2 stops building the tree past its depth limit and drops the rest of the page.
        root = _deep_html_tree(text)
        recovered = Problem("deep_markup", f"markup nested deeper than libxml2's limit ({MAX_HTML_DEPTH}); "
                                           "read with a recovering parser, wrappers past the limit flattened")

    title, published = _html_meta(root)
    for el in root.xpath("//comment() | //processing-instruction()"):
        _remove(el)
    for el in list(root.iter(*_DROP_TAGS)):
        _remove(el)
    if published is None:
        # the 发布时间 line may sit in page chrome outside the article: search the whole page's
        # text (its text nodes in order; no table layout needed for a date)
        published = find_publication_date(" ".join(" ".join(root.itertext()).split()))
    body = _report_body(root)
    if body is not root:
        for el in list(body.iter()):
            cls, ident = el.get("class"), el.get("id")
            if (cls or ident) and el is not body and _CHROME.search(f"{cls or ''} {ident or ''}") \
                    and el.getparent() is not None:
                _remove(el)
    lines, grids = _html_to_lines(body)
    doc = Extracted(format="html", text="\n".join(lines), tables=grids, title=title,
                    published=published)
    if title and title.split()[0][:10] not in doc.text:
        doc.text = title + "\n" + doc.text
    if recovered:
        doc.problems.append(recovered)
    if not grids and _content_images(body) and _mentions_table_sections(doc.text):
        doc.images_only_tables = True
        doc.problems.append(Problem("tables_as_images", "the report's tables are published only as "
                                    "images; their cells are not read"))
    return doc


MAX_HTML_DEPTH = 2048          # libxml2's depth limit with XML_PARSE_HUGE
_FLATTEN_PAST = 200            # deeper than this, wrappers (div, span, font…) are hoisted away
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_KEEP_STRUCTURE = {"table", "thead", "tbody", "tfoot", "tr", "td", "th", "br", "p", "li"}


def _deep_html_tree(text: str):
    """The page through BeautifulSoup's html.parser (no depth limit), rebuilt as an lxml tree whose
    depth is bounded: past _FLATTEN_PAST levels, wrapper elements give their children to the
    nearest kept ancestor. Iterative, so no recursion limit either."""
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import Comment, ProcessingInstruction, Doctype
    from lxml import etree

    soup = BeautifulSoup(text, "html.parser")
    root = etree.Element("html")
    # (bs4 node, lxml parent, depth); children pushed in reverse so document order is kept
    stack = [(child, root, 1) for child in reversed(list(soup.children))]
    while stack:
        node, parent, depth = stack.pop()
        if isinstance(node, (Comment, ProcessingInstruction, Doctype)):
            continue
        if isinstance(node, NavigableString):   # text after the parent's last child so far
            piece = _XML_ILLEGAL.sub(" ", str(node))   # what libxml2 drops; lxml refuses it
            if len(parent):
                parent[-1].tail = (parent[-1].tail or "") + piece
            else:
                parent.text = (parent.text or "") + piece
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "div").lower()
        if name == "html":
            target, next_depth = parent, depth
        elif depth > _FLATTEN_PAST and name not in _KEEP_STRUCTURE:
            target, next_depth = parent, depth            # hoist: children go to the parent
        else:
            try:
                target = etree.SubElement(parent, name, {
                    k: _XML_ILLEGAL.sub(" ", " ".join(v) if isinstance(v, list) else str(v))
                    for k, v in node.attrs.items() if ":" not in k})
            except ValueError:                            # a tag or attribute name lxml refuses
                target = etree.SubElement(parent, "span")
            next_depth = depth + 1
        stack.extend((child, target, next_depth) for child in reversed(list(node.children)))
    return root


def _remove(el) -> None:
    """Remove an element (with its subtree), a comment or a processing instruction, keeping the
    text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    prev = el.getprevious()
    parent.remove(el)
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _html_meta(root) -> tuple[str | None, str | None]:
    metas = {}
    for m in root.iter("meta"):
        name = (m.get("name") or m.get("property") or m.get("itemprop") or "").strip().lower()
        if name and m.get("content"):
            metas.setdefault(name, m.get("content").strip())
    title = metas.get("articletitle") or metas.get("og:title")
    if not title:
        t = root.find(".//title")
        if t is not None and "".join(t.itertext()).strip():
            title = clean_title("".join(t.itertext()))
    if not title:
        for tag in ("h1", "h2"):
            h = root.find(f".//{tag}")
            if h is not None and "".join(h.itertext()).strip():
                title = "".join(h.itertext()).strip()
                break
    published = None
    for key in _PUB_META:
        if metas.get(key):
            published = _iso_date(metas[key])
            if published:
                break
    return (" ".join(title.split()) if title else None), published


def _iso_date(s: str) -> str | None:
    m = _DATE.search(s or "")
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if 1 <= mo <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None




_PUB_LABELS = (r"发布日期", r"发布时间", r"發布日期", r"發布時間", r"公开日期", r"来源[:：][^\n]{0,40}?时间")
_DATE_AFTER = r"\s*[:：]?\s*((?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2})"


def find_publication_date(text: str) -> str | None:
    """The date on a portal's 发布日期/发布时间 (or 来源…时间) line, or None.

    Signature dates at the end are not publication dates; meta falls back on them itself.
    """
    for label in _PUB_LABELS:
        m = re.search(label + _DATE_AFTER, text)
        if m:
            return _iso_date(m.group(1))
    return None


def clean_title(title: str | None) -> str | None:
    """A page title without the column and site names portals append ("…报告_年报_某某网")."""
    if not title:
        return None
    parts = [p for p in re.split(r"\s*(?:_|\||－|--|—|–|\s-\s)\s*", title.strip()) if p]
    if not parts:
        return None
    best = max(parts, key=lambda s: (("报告" in s or "報告" in s), len(s)))
    return " ".join(best.split())


@functools.cache
def _cjk_re() -> re.Pattern:
    return re.compile(rf"[{_CJK}]")


def _cjk_count(s: str) -> int:
    if not s or s.isascii():                # most text nodes are layout whitespace
        return 0
    return len(_cjk_re().findall(s))


def _own_text_counts(root) -> dict:
    """CJK characters outside links (navigation is mostly links) for every element under `root`,
    in one bottom-up pass over the elements in reverse document order (every child before its
    parent): counting each element's text_content() again would be quadratic."""
    counts: dict = {}
    elements = list(root.iter())            # keeps the proxies alive, so they stay dict keys
    for el in reversed(elements):
        tag = el.tag
        if tag == "a":
            n = 0
        else:
            n = counts.get(el, 0) + (_cjk_count(el.text) if isinstance(tag, str) else 0)
        counts[el] = n
        if el is not root:
            parent = el.getparent()
            if parent is not None:
                counts[parent] = counts.get(parent, 0) + n + _cjk_count(el.tail)
    return counts


def _report_body(root):
    """The deepest element holding most of the page's non-link text: the article container."""
    body = root.find(".//body")
    body = body if body is not None else root
    counts = _own_text_counts(body)
    _own_text = counts.__getitem__
    total = _own_text(body)
    if total < 200:
        return body
    best = body
    while True:
        children = [c for c in best if isinstance(c.tag, str)]
        nxt = None
        for c in children:
            if _own_text(c) >= 0.7 * total:
                nxt = c
                break
        if nxt is None or nxt.tag in ("table", "tr", "td", "tbody", "p"):
            return best
        best = nxt


def _content_images(el) -> list:
    imgs = []
    for img in el.iter("img"):
        src = img.get("src") or ""
        try:
            w = int(re.sub(r"\D", "", img.get("width", "") or "0") or 0)
            h = int(re.sub(r"\D", "", img.get("height", "") or "0") or 0)
        except ValueError:
            w = h = 0
        if (w and w < 120) or (h and h < 60) or _ICON_SRC.search(src.rsplit("/", 1)[-1]):
            continue
        imgs.append(img)
    return imgs


def _mentions_table_sections(text: str) -> bool:
    return bool(re.search(r"主动公开政府信息情况|收到和处理政府信息公开申请|行政复议.{0,4}行政诉讼情况", text))


def _cell_text(cell) -> str:
    parts = []
    for node in cell.iter():
        if node is not cell and node.tag in ("br", "p", "div") and parts:
            parts.append(" ")
        if node.text and node.tag not in _DROP_TAGS:
            parts.append(node.text)
        if node is not cell and node.tail:
            parts.append(node.tail)
    return " ".join("".join(parts).split())


def _is_layout_table(table) -> bool:
    return any(t is not table for t in table.iter("table"))


def table_grid(table) -> list[list[str]]:
    """An HTML table as a grid, rowspan/colspan expanded by repeating the cell's text."""
    rows = [tr for tr in table.iter("tr") if _nearest_table(tr) is table]
    grid: list[list[str]] = []
    pending: dict[int, tuple[int, str]] = {}   # column -> (rows left, text)
    for tr in rows:
        row: list[str] = []
        col = 0
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]

        def fill_pending():
            nonlocal col
            while col in pending:
                left, txt = pending[col]
                row.append(txt)
                if left <= 1:
                    del pending[col]
                else:
                    pending[col] = (left - 1, txt)
                col += 1

        for cell in cells:
            fill_pending()
            txt = _cell_text(cell)
            span = _int_attr(cell, "colspan")
            rspan = _int_attr(cell, "rowspan")
            for _ in range(span):
                row.append(txt)
                if rspan > 1:
                    pending[col] = (rspan - 1, txt)
                col += 1
        fill_pending()
        # spans reaching beyond this row's own cells
        for c in sorted(k for k in pending if k >= col):
            while col < c:
                row.append("")
                col += 1
            fill_pending()
        if any(x.strip() for x in row):
            grid.append(row)
    return grid


def _nearest_table(el):
    p = el.getparent()
    while p is not None and p.tag != "table":
        p = p.getparent()
    return p


def _int_attr(el, name: str) -> int:
    value = el.get(name)
    if value is None:
        return 1
    if value.isascii() and value.isdigit():
        return max(1, min(int(value), 200))
    try:
        return max(1, min(int(re.sub(r"[^\d]", "", el.get(name, "1")) or 1), 200))
    except ValueError:
        return 1


def _html_to_lines(root) -> tuple[list[str], list[list[list[str]]]]:
    """Walk the tree: block elements break lines, data tables become TAB-joined rows."""
    lines: list[str] = []
    grids: list[list[list[str]]] = []
    buf: list[str] = []
    last_was_table = [False]

    def flush():
        s = "".join(buf)
        buf.clear()
        s = " ".join(s.split())
        if s:
            lines.append(s)
            last_was_table[0] = False

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table" and not _is_layout_table(el):
            flush()
            grid = table_grid(el)
            if grid:
                # a table split over several <table>s: join it when nothing stands between
                if last_was_table[0] and grids and len(grid[0]) == len(grids[-1][0]):
                    grids[-1].extend(grid)
                else:
                    grids.append(grid)
                lines.extend("\t".join(r) for r in grid)
                last_was_table[0] = True
            if el.tail:
                buf.append(el.tail)
            return
        block = tag in _BLOCK or tag in ("td", "th")
        if block:
            flush()
        if el.text and tag:
            buf.append(el.text)
        for child in el:
            walk(child)
        if block:
            flush()
        if el.tail:
            buf.append(el.tail)

    walk(root)
    flush()
    return lines, grids


# ---------------------------------------------------------------------------------------------
# PDF

def _read_pdf(data: bytes, media_type: str | None) -> Extracted:
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = pdf.pages
    except Exception as exc:
        return Extracted(format="pdf", problems=[_pdf_problem(exc)])
    items: list = []          # str lines and table grids (lists), in reading order
    title = None
    problems: list[Problem] = []
    try:
        if len(pages) > PDF_MAX_PAGES:
            problems.append(Problem("truncated", f"only the first {PDF_MAX_PAGES} of {len(pages)} "
                                    "pages were read"))
        open_grid = None      # the last table of the previous page, if the page ended inside it
        for page in pages[:PDF_MAX_PAGES]:
            try:
                if _is_sideways(page):
                    page_items, ends_in_table, starts_with_table = _pdfium_lines(data, page), False, False
                else:
                    page_items, ends_in_table, starts_with_table = _pdf_page(page)
            except Exception as exc:
                problems.append(Problem("corrupt", f"page {page.page_number} unreadable: {exc}"))
                open_grid = None
                continue
            first_grid = next((i for i, it in enumerate(page_items) if isinstance(it, list)), None)
            if (open_grid is not None and starts_with_table and first_grid is not None
                    and len(page_items[first_grid][0]) == len(open_grid[-1])):
                _continue_grid(open_grid, page_items.pop(first_grid))
            items.extend(page_items)
            grids_here = [it for it in page_items if isinstance(it, list)]
            if ends_in_table:
                open_grid = grids_here[-1] if grids_here else open_grid
            else:
                open_grid = None
        meta = pdf.metadata or {}
        title = meta.get("Title") if isinstance(meta.get("Title"), str) else None
    except Exception as exc:
        return Extracted(format="pdf", problems=[_pdf_problem(exc)])
    finally:
        try:
            pdf.close()
        except Exception:
            pass
    lines: list[str] = []
    grids = []
    geometry: dict[int, list] = {}
    for it in items:
        if isinstance(it, list):
            grids.append(it)
            for r in it:
                if getattr(r, "boxes", None) is not None:
                    geometry[len(lines)] = r.boxes
                lines.append("\t".join(r))
        else:
            lines.append(it)
    # no text layer (a scan): fewer readable characters than a page heading per page
    readable = len(re.sub(r"\s", "", "\n".join(lines)))
    n_pages = max(1, min(len(pages), PDF_MAX_PAGES))
    if readable < 20 * n_pages and readable < 200:
        ocr = _ocr_pdf(data, len(pages))
        if ocr.text.strip() or ocr.problems:
            ocr.problems = problems + ocr.problems
            return ocr
    if title and not re.search(rf"[{_CJK}]", title):
        title = None
    return Extracted(format="pdf", text="\n".join(lines), tables=grids, title=title,
                     problems=problems, geometry=geometry)


def _pdf_problem(exc: Exception) -> Problem:
    # pdfplumber wraps pdfminer's errors: the original is the first argument or the context
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc.__context__
    name = type(exc).__name__ + (f"/{type(inner).__name__}" if inner is not None else "")
    msg = str(exc)
    if "Password" in name or "encrypt" in msg.lower() or "password" in msg.lower():
        return Problem("encrypted", "the PDF is encrypted (password protected); it cannot be read")
    return Problem("corrupt", f"the PDF is damaged or truncated ({name}: {msg[:120]})")


def _pdf_text(page_or_crop) -> list[tuple[float, str]]:
    out = []
    try:
        tl = page_or_crop.extract_text_lines(x_tolerance=1.5, y_tolerance=3, return_chars=False)
    except Exception:
        tl = []
    for line in tl:
        s = _CJK_SPACE.sub("", line["text"]).strip()
        if s:
            out.append((line["top"], s))
    return out


def _is_sideways(page) -> bool:
    """A page whose text runs sideways (landscape pages rotated with /Rotate, turned text):
    pdfplumber then reads one character per line, pdfium still reads the lines."""
    chars = page.chars
    return bool(chars) and sum(not c.get("upright", True) for c in chars) > len(chars) / 2


def _pdfium_lines(data: bytes, page) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        text = pdf[page.page_number - 1].get_textpage().get_text_range()
    finally:
        pdf.close()
    return [_CJK_SPACE.sub("", l).strip() for l in re.split(r"\r?\n", text) if l.strip()]


def _pdf_page(page):
    """(items: text lines and grids in reading order, ends inside a table, starts with one)."""
    try:
        tables = page.find_tables()
    except Exception:
        tables = []
    boxes = [t.bbox for t in tables]

    def outside(obj):
        cx = (obj["x0"] + obj["x1"]) / 2
        cy = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    rest = page.filter(lambda o: o.get("object_type") != "char" or outside(o)) if boxes else page
    placed: list[tuple[float, int, object]] = [(top, 0, s) for top, s in _pdf_text(rest)]
    for t in tables:
        grid = _pdf_table_grid(t)
        if grid:
            placed.append((t.bbox[1], 1, grid))
    placed.sort(key=lambda x: (x[0], x[1]))
    height = float(page.height or 1)
    text_tops = [top for top, kind, _ in placed if kind == 0]
    # page furniture (numbers, running heads) sits in the outer 8% of the page
    body_tops = [t for t in text_tops if 0.08 * height < t < 0.92 * height] or text_tops
    ends_in_table = bool(tables) and (not body_tops or max(body_tops) < tables[-1].bbox[1])
    starts_with_table = bool(tables) and (not body_tops or min(body_tops) > tables[0].bbox[1])
    return [it for _, _, it in placed], ends_in_table, starts_with_table


def _is_number(s: str) -> bool:
    return bool(re.fullmatch(r"[-+]?\d[\d,.]*\s*(万元|元|件|条)?", s.strip()))


@functools.cache
def _table_labels() -> frozenset[str]:
    """Every row and column label and block caption of both templates, normalised."""
    from parsers import codebook
    out = set()
    for tid in codebook.TEMPLATES:
        for table in codebook.template(tid).tables.values():
            for r in getattr(table, "rows", ()) or ():
                out.update(r.labels)
            for c in getattr(table, "columns", ()) or ():
                out.update(c.labels)
            for b in getattr(table, "blocks", ()) or ():
                for r in b.rows:
                    out.update(r.labels)
                for c in b.columns:
                    out.update(c.labels)
                for cap in (b.caption, *b.caption_variants):
                    if cap:
                        out.add(codebook.normalise_label(cap, strip_annotation=False))
    return frozenset(out)


def _is_table_label(cell: str) -> bool:
    """A whole label of the tables (行政强制, 第二十条第(八)项, 信息内容 aside): not a fragment."""
    from parsers import codebook
    norm = codebook.normalise_label(cell, convert=False)
    return norm in _table_labels() or norm.startswith("第二十条") or norm == "信息内容"


def _continue_grid(grid: list[list[str]], more: list[list[str]]) -> None:
    """Append the rows of a table continued on the next page to `grid`.

    A row cut by the page break (text only, no numbers) is glued to the last row; label columns
    that were merged over the break come back empty on the new page and are refilled from above.
    """
    if not more:
        return
    # every text-only row before the first row with numbers is the cut row's label going on
    # (a long label may wrap over several lines), unless it starts an item of its own
    while more and grid and not any(_is_number(c) for c in more[0] if c) and any(
            _is_number(c) for c in grid[-1] if c) and not any(_ITEM_MARK.match(c) for c in more[0] if c) \
            and not any(_is_table_label(c) for c in more[0] if c) \
            and not any(_is_table_label(grid[-1][j]) for j, c in enumerate(more[0])
                        if c and j < len(grid[-1]) and grid[-1][j]):
        # (a row below a complete label, or one that is a label, caption or header itself,
        # is a row of its own: 行政处罚 7 / 行政强制 with blank values)
        first, last = more[0], grid[-1]
        for j, c in enumerate(first):
            if c and j < len(last) and last[j] and not _is_number(last[j]):
                last[j] = last[j] + c
        more = more[1:]
    width = len(grid[-1]) if grid else 0
    carry = {}
    if len(grid) >= 2:
        for j in range(width):
            a, b = grid[-2][j], grid[-1][j]
            if a and a == b and not _is_number(a):
                carry[j] = a
    for row in more:
        for j in list(carry):
            if j < len(row) and not row[j]:
                row[j] = carry[j]
            else:
                del carry[j]
        grid.append(row)


def _cluster(values: list[float], tol: float = 2.0) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _pdf_table_grid(table) -> list[list[str]]:
    """pdfplumber's table as a grid over all cell edges, merged cells repeated over their span."""
    try:
        raw = table.extract(x_tolerance=1.5, y_tolerance=3)
    except Exception:
        return []
    cells = []   # (bbox, text)
    for row_obj, row_txt in zip(table.rows, raw):
        for bbox, txt in zip(row_obj.cells, row_txt):
            if bbox is not None:
                cells.append((bbox, _CJK_SPACE.sub("", " ".join((txt or "").split()))))
    if not cells:
        return []
    xs = _cluster([b[0] for b, _ in cells] + [b[2] for b, _ in cells])
    ys = _cluster([b[1] for b, _ in cells] + [b[3] for b, _ in cells])
    page = getattr(getattr(table, "page", None), "page_number", None)
    grid, owners = [], []
    for top, bottom in zip(ys, ys[1:]):
        cy = (top + bottom) / 2
        row, owner = [], []
        for x0, x1 in zip(xs, xs[1:]):
            cx = (x0 + x1) / 2
            txt, who = "", None
            for k, ((bx0, btop, bx1, bbot), t) in enumerate(cells):
                if bx0 <= cx <= bx1 and btop <= cy <= bbot:
                    txt, who = t, k
                    break
            row.append(txt)
            owner.append(who)
        if any(row):
            grid.append(row)
            owners.append(owner)
    out = _join_wrapped_label_rows(grid, owners)
    for row in out:
        # each cell's own box (a merged cell's whole box), for the cell's provenance
        row.boxes = [None if k is None else {"page": page, "box": [round(float(v), 1) for v in cells[k][0]]}
                     for k in row.owners]
    return out


class GridRow(list):
    """A table row's cell texts, with the pdfplumber cell each came from (`owners`, then `boxes`)."""
    owners: list | None = None
    boxes: list | None = None


_ITEM_MARK = re.compile(r"\s*(?:\d+\s*[.．、]|[(（][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、)")


def _join_wrapped_label_rows(grid: list[list[str]], owners: list[list]) -> list[list[str]]:
    """A long row label wrapped into several cells of its own, beside value cells that span all
    of them (申请人无正 / 当理由逾期不 / …, with 2 0 0 0 0 0 2 once): one row, the label joined.

    A grid row continues the one above when every cell holding a number is the same spanning
    cell as above, and the cells that differ hold only text: the value cells' own geometry says
    so, never the values (two real rows may well print the same numbers)."""
    out: list[list[str]] = []
    out_owners: list[list] = []
    for row, owner in zip(grid, owners):
        if out:
            prev, prev_owner = out[-1], out_owners[-1]
            same = [a is not None and a == b for a, b in zip(owner, prev_owner)]
            differ = [j for j, s in enumerate(same) if not s]
            numeric_same = [j for j, s in enumerate(same) if s and _is_number(row[j])]
            # (a cell that differs from the one above must hold text on both sides, so every
            # number sits in a cell shared with the row above)
            if (len(row) == len(prev) and differ and numeric_same
                    and all(not _is_number(row[j]) and not _is_number(prev[j]) for j in differ)):
                for j in differ:
                    prev[j] = prev[j] + row[j]
                continue
            # the rest of a wrapped label below the values' cells: no value at all, the group
            # cells (三、本年度办理结果, (六)其他处理) the same spanning cells, no item number
            # of its own (a blank row of a table keeps its 2. or (七))
            texts = [j for j, c in enumerate(row) if c.strip() and not same[j]]
            if (len(row) == len(prev) and len(texts) == 1 and texts[0] > 0
                    and all(same[j] for j in range(texts[0])) and any(row[j].strip() for j in range(texts[0]))
                    and not any(row[j].strip() for j in range(texts[0] + 1, len(row)))
                    and not _ITEM_MARK.match(row[texts[0]]) and not _is_number(row[texts[0]])
                    and not _is_number(prev[texts[0]])):
                prev[texts[0]] = prev[texts[0]] + row[texts[0]]
                continue
        out.append(GridRow(row))
        out[-1].owners = list(owner)
        out_owners.append(list(owner))
    return out


# ---------------------------------------------------------------------------------------------
# OCR (parsers.ocr owns it; the old names stay importable from here)

from parsers.ocr import (_grid_rows, _join_words, _long_runs, _ocr_image_file,  # noqa: E402,F401
                         _read_cells, _read_slots, _runs_of, _tesseract_words)


def _tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def _ocr_pdf(data: bytes, n_pages: int) -> Extracted:
    from parsers import ocr
    return ocr.ocr_pdf(data, n_pages)


def _clean_ocr(text: str) -> str:
    return _CJK_SPACE.sub("", text)


def _read_image(data: bytes, media_type: str | None) -> Extracted:
    from parsers import ocr
    return ocr.read_image(data, media_type)


# ---------------------------------------------------------------------------------------------
# DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"


def _zip_guard(data: bytes) -> Problem | None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:
        return Problem("corrupt", f"the file is not a readable zip/DOCX ({exc})")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        return Problem("too_large", f"the DOCX unpacks to {total // 1048576} MB; refused "
                       f"(limit {MAX_UNZIPPED // 1048576} MB)")
    for i in infos:
        if i.compress_size and i.file_size > 10 * 1024 * 1024 and i.file_size / i.compress_size > MAX_RATIO:
            return Problem("too_large", f"the DOCX member {i.filename} is compressed "
                           f"{i.file_size // max(1, i.compress_size)}:1; refused as a zip bomb")
    # The sizes above are what the headers declare, and headers lie: inflate every member in
    # bounded chunks, counting what really comes out, before any reader inflates it whole.
    unpacked = 0
    for i in infos:
        try:
            with zf.open(i) as member:
                while chunk := member.read(1 << 20):
                    unpacked += len(chunk)
                    if unpacked > MAX_UNZIPPED:
                        return Problem("too_large", f"the DOCX unpacks to more than {MAX_UNZIPPED // 1048576} MB "
                                       f"(its headers declare {total // 1048576} MB); refused")
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            return Problem("corrupt", f"the DOCX member {i.filename} does not inflate ({exc})")
    return None


def _read_docx(data: bytes, media_type: str | None, fmt: str = "docx") -> Extracted:
    problem = _zip_guard(data)
    if problem:
        return Extracted(format=fmt, problems=[problem])
    import docx

    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as exc:
        return Extracted(format=fmt, problems=[Problem("corrupt", f"unreadable DOCX: {exc}")])
    lines: list[str] = []
    grids: list[list[list[str]]] = []
    _docx_block(d.element.body, lines, grids)
    title = None
    try:
        title = d.core_properties.title or None
    except Exception:
        pass
    return Extracted(format=fmt, text="\n".join(lines), tables=grids, title=title)


def _docx_para_text(p) -> str:
    """A paragraph's own text (runs, hyperlinks, fields), not the text boxes it anchors."""
    parts = []
    for node in p.iter():
        if node.tag in (_W + "txbxContent",):
            continue
        if node.tag == _W + "t" and not _inside(node, _W + "txbxContent", p) and \
                not _inside(node, _MC + "Fallback", p):
            parts.append(node.text or "")
        elif node.tag == _W + "tab" and not _inside(node, _W + "txbxContent", p):
            parts.append(" ")
        elif node.tag in (_W + "br", _W + "cr") and not _inside(node, _W + "txbxContent", p):
            parts.append("\n")
    return "".join(parts)


def _inside(node, tag: str, stop) -> bool:
    p = node.getparent()
    while p is not None and p is not stop:
        if p.tag == tag:
            return True
        p = p.getparent()
    return False


def _docx_block(container, lines: list[str], grids: list) -> None:
    for el in container:
        if el.tag == _W + "p":
            txt = _docx_para_text(el)
            for part in txt.split("\n"):
                if part.strip():
                    lines.append(part.strip())
            for box in el.iter(_W + "txbxContent"):
                if not _inside(box, _MC + "Fallback", el):
                    _docx_block(box, lines, grids)
        elif el.tag == _W + "tbl":
            if any(t is not el for t in el.iter(_W + "tbl")):
                for tc in el.iter(_W + "tc"):      # layout table: read its cells as text
                    if _nearest(tc, _W + "tbl") is el:
                        _docx_block(tc, lines, grids)
                continue
            grid = _docx_grid(el)
            if grid:
                grids.append(grid)
                lines.extend("\t".join(r) for r in grid)
        elif el.tag in (_W + "sdt", _W + "sdtContent", _W + "customXml", _W + "smartTag"):
            _docx_block(el if el.tag != _W + "sdt" else (el.find(_W + "sdtContent") or el),
                        lines, grids)


def _nearest(el, tag):
    p = el.getparent()
    while p is not None and p.tag != tag:
        p = p.getparent()
    return p


def _docx_grid(tbl) -> list[list[str]]:
    """Word table grid: gridSpan repeated across, vMerge continuation copies the cell above."""
    grid: list[list[str]] = []
    for tr in tbl.findall(_W + "tr"):
        row: list[str] = []
        col = 0
        skip = tr.find(f"{_W}trPr/{_W}gridBefore")
        if skip is not None:
            n = int(skip.get(_W + "val", "0") or 0)
            row.extend([""] * n)
            col += n
        for tc in tr.findall(_W + "tc"):
            pr = tc.find(_W + "tcPr")
            span = 1
            vmerge = None
            if pr is not None:
                gs = pr.find(_W + "gridSpan")
                if gs is not None:
                    span = max(1, min(int(gs.get(_W + "val", "1") or 1), 100))
                vm = pr.find(_W + "vMerge")
                if vm is not None:
                    vmerge = vm.get(_W + "val", "continue")
            if vmerge == "continue" and grid and col < len(grid[-1]):
                txt = grid[-1][col]
            else:
                txt = " ".join(" ".join(_docx_para_text(p) for p in tc.iter(_W + "p")).split())
            row.extend([txt] * span)
            col += span
        if any(c.strip() for c in row):
            grid.append(row)
    return grid


# ---------------------------------------------------------------------------------------------
# DOC / WPS via LibreOffice

def _read_converted(data: bytes, media_type: str | None, fmt: str) -> Extracted:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return Extracted(format=fmt, problems=[Problem(
            "converter_unavailable", f"LibreOffice (soffice) is needed to read {fmt.upper()} files")])
    with tempfile.TemporaryDirectory(prefix="ogi-lo-") as tmp:
        src = os.path.join(tmp, f"in.{fmt}")
        with open(src, "wb") as fh:
            fh.write(data)
        profile = os.path.join(tmp, "profile")
        cmd = [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", "docx", "--outdir", os.path.join(tmp, "out"), src]
        try:
            subprocess.run(cmd, capture_output=True, timeout=CONVERT_TIMEOUT, start_new_session=True)
        except subprocess.TimeoutExpired:
            return Extracted(format=fmt, problems=[Problem(
                "convert_failed", f"LibreOffice took longer than {CONVERT_TIMEOUT}s")])
        out = os.path.join(tmp, "out", "in.docx")
        if not os.path.exists(out):
            return Extracted(format=fmt, problems=[Problem(
                "corrupt", f"LibreOffice could not convert the {fmt.upper()} file")])
        with open(out, "rb") as fh:
            converted = fh.read()
    return _read_docx(converted, None, fmt=fmt)


def _read_mht(data: bytes, media_type: str | None) -> Extracted:
    """The HTML part of a MIME single-file web page, its transfer encoding and charset undone."""
    import email
    from email import policy

    message = email.message_from_bytes(data, policy=policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            return _read_html(html, f"text/html; charset={charset}" if charset else None)   # format: html
    return Extracted(format="html", problems=[Problem("corrupt", "a MIME web archive without an HTML part")])


_READERS = {
    "mht": _read_mht,
    "html": _read_html,
    "txt": _read_txt,
    "pdf": _read_pdf,
    "docx": _read_docx,
    "doc": lambda d, m: _read_converted(d, m, "doc"),
    "wps": lambda d, m: _read_converted(d, m, "wps"),
    "image": _read_image,
}
