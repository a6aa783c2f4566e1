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

import functools
import re
import unicodedata

from datasketch import MinHash

NUM_PERM = 128
SHINGLE = 5
NEAR_DUPLICATE = 0.8          # estimated Jaccard above which two texts are one report's copies
# Portal furniture that differs between copies of one report (print page, mirror, repost).
CHROME = re.compile(r"【[^】]{1,8}】|打印本页|关闭窗口|返回顶部|字体[:：]?\s*[大中小]+|扫一扫在手机打开当前页|"
                    r"分享到|当前位置[:：][^\n]*|\|{3,}|来源[:：][^\n]{0,30}|浏览次数[:：]?\s*\d*")


@functools.cache
def _t2s():
    import opencc
    return opencc.OpenCC("t2s")


def agency_alias_key(name: str | None) -> str:
    """The key every spelling of one agency shares."""
    if not name:
        return ""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
    key = _t2s().convert(key)
    key = key.replace("办公厅", "办公室")
    key = re.sub(r"人民政府$", "", key)          # 定海区人民政府 == 定海区 (the government's report)
    return key


def clean_text(text: str) -> str:
    text = CHROME.sub(" ", text or "")
    return re.sub(r"\s+", "", text)


def signature(text: str) -> MinHash | None:
    body = clean_text(text)
    if len(body) < SHINGLE * 4:
        return None
    sig = MinHash(num_perm=NUM_PERM)
    sig.update_batch([body[i:i + SHINGLE].encode("utf-8") for i in range(len(body) - SHINGLE + 1)])
    return sig


def similarity(a: MinHash | None, b: MinHash | None) -> float:
    if a is None or b is None:
        return 0.0
    return a.jaccard(b)


def cells_key(cells: dict | None) -> tuple:
    return tuple(sorted((k, round(float(v), 6)) for k, v in (cells or {}).items()))


def split_versions(members: list[dict], url_history: dict[str, list[tuple[str, str]]],
                   rank) -> list[list[dict]]:
    """Group a report's documents into versions, oldest first.

    members: documents of one report, each with sha256, record, urls, first_seen, first_run, sig.
    url_history: url -> [(fetched_at, sha256)] in fetch order. rank: the canonical rank (smaller
    is better). Copies with equal cells are one version; a body that replaced another at the same
    URL, or different cells first seen in a later crawl, is a newer version. Differing copies from
    one crawl are ordered by quality, so the best copy is the latest.
    """
    by_cells: dict[tuple, list[dict]] = {}
    without_cells = []
    for doc in members:
        key = cells_key(doc["record"].get("cells"))
        (by_cells.setdefault(key, []) if key else without_cells).append(doc)
    replaced = set()
    for history in url_history.values():
        shas = [sha for _, sha in history]
        replaced.update(newer for older, newer in zip(shas, shas[1:]) if older != newer)
    versions = list(by_cells.values())
    for doc in sorted(without_cells, key=lambda d: d["first_seen"] or ""):
        if doc["sha256"] in replaced or not versions:
            versions.append([doc])
        else:
            # A copy without tables (mirror, text page) belongs with the version it is closest to.
            best = max(versions, key=lambda v: max(similarity(doc.get("sig"), d.get("sig")) for d in v))
            best.append(doc)
    by_quality = sorted(versions, key=lambda v: min(rank(d) for d in v))
    quality = {id(v): i for i, v in enumerate(by_quality)}

    def age(version):
        newest_replacement = any(d["sha256"] in replaced for d in version)
        return (min(d.get("first_run") or 0 for d in version), newest_replacement, -quality[id(version)])
    versions.sort(key=age)
    return versions


def changed_cells(old: dict, new: dict) -> list[tuple[str, float | None, float | None]]:
    changes = []
    for cell in sorted(set(old) | set(new)):
        a, b = old.get(cell), new.get(cell)
        if a is None or b is None or abs(float(a) - float(b)) > 1e-9:
            changes.append((cell, a, b))
    return changes
