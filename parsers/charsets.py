"""Which charset Chinese government bytes are in: the one owner of these rules, used by the crawler
(the encoding a response is decoded with), the parsers (a document's text) and the site (the charset
it serves a stored page with).

The rules follow ../shared/domain/PORTALS.md: the HTTP header, then <meta charset>, then a UTF-8 trial,
then GB18030. GB2312/GBK labels decode as GB18030, their superset, because pages labelled GB2312
routinely contain GBK-only characters (rare characters in names).
"""
from __future__ import annotations

import re

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w\-]+)", re.I)
# HZ (hz-gb-2312) is a 7-bit escape encoding of its own, not a GB18030 subset: it is not here.
GB_FAMILY = frozenset({"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "gb18030", "euc-cn"})
BIG5_FAMILY = frozenset({"big5", "big5-hkscs", "x-big5"})


def normalise(name: str | None) -> str | None:
    """The codec to decode a declared charset with: GB labels as GB18030, Big5 as Big5-HKSCS."""
    if not name:
        return None
    name = name.strip().lower()
    if name in GB_FAMILY:
        return "gb18030"
    if name in BIG5_FAMILY:
        return "big5hkscs"
    return name


def from_header(content_type: str | bytes | None) -> str | None:
    """The charset a Content-Type states, as written (lower-cased)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    match = HEADER_CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None


def from_meta(head: bytes) -> str | None:
    """The charset a page's <meta> states in its first 8 KB, as written (lower-cased)."""
    match = META_CHARSET.search(head[:8192])
    return match.group(1).decode("ascii", "ignore").lower() if match else None


def declared(body: bytes, content_type: str | bytes | None = None) -> str | None:
    """What the bytes say they are: the header first, then the page's meta."""
    return from_header(content_type) or from_meta(body)


def trial(body: bytes) -> str | None:
    """Undeclared bytes: UTF-8 if they decode as UTF-8, else GB18030 if they decode as that. A
    character cut at the very end (a head of a file) does not count against a codec."""
    for codec in ("utf-8", "gb18030"):
        try:
            body.decode(codec)
            return codec
        except UnicodeDecodeError as exc:
            if exc.start >= len(body) - 3 and exc.reason in ("unexpected end of data", "incomplete multibyte sequence"):
                return codec
    return None


def guess(body: bytes, content_type: str | bytes | None = None) -> str:
    """The codec for these bytes by the whole rule (declared, normalised; else a trial; else GB18030)."""
    return normalise(declared(body, content_type)) or trial(body) or "gb18030"
