"""Deciding which documents are the same report, and which are versions of it.

- Agencies: two spellings are one agency when their alias keys agree (width, spaces, script,
  the 人民政府 suffix of a government, 办公厅/办公室) — never by text similarity alone, so two
  agencies' near-identical boilerplate reports are never merged.
- Near-duplicates: MinHash (datasketch) over character shingles of the normalised text with
  portal chrome removed; used to attach a document whose agency the parser could not read to
  the report it copies, and to tell versions apart, always within one year.
- Versions: documents with different table cells are different versions; new bytes at a URL we
  fetched before are a newer version. The latest version wins; older ones are kept.
"""
from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from parsers.normalise import to_simplified

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 128
SHINGLE = 5
NEAR_DUPLICATE = 0.8          # estimated Jaccard above which two texts are one report's copies
# Portal furniture that differs between copies of one report (print page, mirror, repost).
CHROME = re.compile(r"【[^】]{1,8}】|打印本页|关闭窗口|返回顶部|字体[:：]?\s*[大中小]+|扫一扫在手机打开当前页|"
                    r"分享到|当前位置[:：][^\n]*|\|{3,}|来源[:：][^\n]{0,30}|浏览次数[:：]?\s*\d*")




def agency_alias_key(name: str | None) -> str:
    """The key every spelling of one agency shares."""
    if not name:
        return ""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
    key = to_simplified(key)
    key = key.replace("办公厅", "办公室")
    key = re.sub(r"人民政府$", "", key)          # XX区人民政府 == XX区 (the government's report)
    return key


def clean_text(text: str) -> str:
    text = CHROME.sub(" ", text or "")
    return re.sub(r"\s+", "", text)


def signature(text: str) -> MinHash | None:
    body = clean_text(text)
    if len(body) < SHINGLE * 4:
        return None
    # Imported here: datasketch loads scipy (about 45 MB and a second or two), which a crawl or
    # rebuild with no document to compare never needs.
    from datasketch import MinHash
    sig = MinHash(num_perm=NUM_PERM)
    sig.update_batch([body[i:i + SHINGLE].encode("utf-8") for i in range(len(body) - SHINGLE + 1)])
    return sig


def similarity(a, b) -> float:
    if a is None or b is None:
        return 0.0
    return a.jaccard(b)


def cells_key(cells: dict | None) -> tuple:
    return tuple(sorted((k, round(float(v), 6)) for k, v in (cells or {}).items()))


CORRECTION = re.compile(r"更正|修订|修正|更新版|修改版|勘误")


def split_versions(members: list[dict], url_history: dict[str, list[tuple[str, str]]]) -> list[list[dict]]:
    """Group a report's documents into versions, oldest first.

    members: documents of one report, each with sha256, record, urls, first_seen, first_run.
    url_history: url -> [(fetched_at, sha256)] in fetch order.
    A new version starts with: new bytes at a URL we fetched before; or new table values first
    seen in a later crawl; or a copy titled as a correction (更正/修订…) with new values. Copies
    found together in one crawl that merely parse differently (a PDF and its page) stay one
    version: the canonical rule picks the best of them.
    """
    replaced = set()
    for history in url_history.values():
        shas = [sha for _, sha in history]
        replaced.update(newer for older, newer in zip(shas, shas[1:]) if older != newer)
    versions: list[list[dict]] = []
    seen_cells: set[tuple] = set()
    for doc in sorted(members, key=lambda d: (d.get("first_run") or 0, d["first_seen"] or "")):
        key = cells_key(doc["record"].get("cells"))
        title = (doc["record"].get("title") or "")
        new_values = bool(key) and key not in seen_cells and bool(seen_cells)
        later_run = bool(versions) and (doc.get("first_run") or 0) > max(d.get("first_run") or 0 for d in versions[-1])
        if not versions or doc["sha256"] in replaced or (new_values and (later_run or CORRECTION.search(title))):
            versions.append([doc])
        else:
            versions[-1].append(doc)
        if key:
            seen_cells.add(key)
    return versions


def changed_cells(old: dict, new: dict) -> list[tuple[str, float | None, float | None]]:
    changes = []
    for cell in sorted(set(old) | set(new)):
        a, b = old.get(cell), new.get(cell)
        if a is None or b is None or abs(float(a) - float(b)) > 1e-9:
            changes.append((cell, a, b))
    return changes
