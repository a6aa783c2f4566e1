"""Reading one table cell's printed value as a number, by the codebook's `values` rules.

What it is for: full-width digits, thousands separators, padding, the blank markers that mean 0
("", "/", "-", "—", "无"...), stray unit words (件, 个...), signed change cells ("+21", "－2",
"减少2"), money with a unit in the cell or in the column header (元 -> 万元), and a number broken
by spaces inside one cell. Counts come back as int, money as float (万元, not rounded).

What it must never do: guess a value it cannot read (it returns None and the caller decides),
fix a source's arithmetic, or know anything about a particular document.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from parsers import codebook

_MINUS = "-－−–﹣"          # after NFKC, － is '-', but − (U+2212) and – survive
_DASHES = "-－−–—―─﹣"
_NUM = re.compile(r"[+-]?\d+(?:\.\d+)?")
_DECREASE = ("减少", "减")
_INCREASE = ("增加", "新增", "增")
_WAN = ("万元", "万")
_YUAN = ("元",)


@dataclass(frozen=True)
class Reading:
    value: int | float | None        # None: not a number
    blank: bool = False              # printed blank or a blank marker (the value is then 0)
    unit_source: str | None = None   # "cell", "header" or None (assumed) for money
    problem: str | None = None       # a note for the caller (unit_assumed, ...)


def _clean(cell: str) -> str:
    text = unicodedata.normalize("NFKC", cell or "")
    for ch in codebook.values_rules().get("strip") or ():
        if ch in (" ", "\u00a0", "\u3000"):
            continue
        text = text.replace(ch, "")
    # Thousands separators: a comma between digit groups of three (NFKC made ， a comma).
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return text.strip(" \t\r\n\u00a0\u3000\u200b\ufeff")


def is_blank(cell: str) -> bool:
    """True for an empty cell or a printed blank marker; such a cell counts as 0."""
    if cell and cell.isascii() and cell.isdigit():      # the common case, decided at once
        return False
    text = re.sub(r"[\s\u00a0\u3000]+", "", _clean(cell))
    return text == "" or (text in codebook.read_as_zero() and text != "0")


def _unit_of(text: str) -> str | None:
    if any(u in text for u in _WAN):
        return "万元"
    if any(u in text for u in _YUAN):
        return "元"
    return None


def read_cell(cell: str, *, signed: bool = False, money: bool = False,
              header_unit: str | None = None) -> Reading:
    """Read one printed cell. `header_unit` is the unit written in the column header, if any."""
    if not money and cell and cell.isascii() and cell.isdigit():   # the common case: a plain count
        return Reading(int(cell))
    text = _clean(cell)
    squashed = re.sub(r"[\s\u00a0\u3000]+", "", text)
    if squashed in codebook.read_as_zero():
        if squashed == "0":
            return Reading(0.0 if money else 0)
        return Reading(0.0 if money else 0, blank=True)
    if len(squashed) > 1 and all(ch in _DASHES for ch in squashed):
        return Reading(0.0 if money else 0, blank=True)

    sign = 1
    body = squashed
    if signed:
        # 本年增/减 written in words: 减少2 -> -2, 增加3 -> 3
        for word in _DECREASE:
            if body.startswith(word):
                sign, body = -1, body[len(word):]
                break
        else:
            for word in _INCREASE:
                if body.startswith(word):
                    body = body[len(word):]
                    break
    if body[:1] in _MINUS:
        sign, body = -sign, body[1:]
    elif body[:1] == "+":
        body = body[1:]
    # An unsigned count printed with a minus is kept as printed: a source error, not ours.

    # Digits split by spaces inside one cell join back only when the split is a thousands
    # grouping (1 234 567) or letter-spacing (2 5 8); "6 251000" is two numbers run into one cell
    # (a project count and an amount), never 6251000.
    groups = re.findall(r"\d+", re.sub(r"(?<=\d)[.]\d+", "", text))
    if len(groups) > 1 and re.fullmatch(r"[\d\s\u00a0\u3000.,+\-−－万元]*", text) and not (
            all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3 or all(len(g) == 1 for g in groups)):
        if re.search(r"\d[\s\u00a0\u3000]+\d", text):
            return Reading(None)
    unit = _unit_of(body) if money else None
    body_num = body
    for word in ("万元", "万", "元"):
        body_num = body_num.replace(word, "")
    # A number broken by spaces inside one cell ("1 234") joins back; `squashed` already did.
    m = re.fullmatch(r"\d+(?:\.\d+)?", body_num)
    if not m:
        return Reading(None)
    raw = m.group(0)
    if money:
        value = float(raw)
        source = "cell" if unit else ("header" if header_unit else None)
        unit = unit or header_unit
        if unit == "元":
            value = value / 10000
        return Reading(sign * value, unit_source=source,
                       problem=None if source else "unit_assumed")
    if "." in raw:
        as_float = float(raw)
        return Reading(sign * (int(as_float) if as_float.is_integer() else as_float))
    return Reading(sign * int(raw))


def read_value(cell: str, **kwargs) -> int | float | None:
    """The number a cell holds (blank markers give 0), or None when it holds no number."""
    return read_cell(cell, **kwargs).value


def looks_numeric(cell: str) -> bool:
    """A cell that is a value (number or blank marker), as opposed to a label or junk."""
    if is_blank(cell):
        return True
    return read_cell(cell, signed=True, money=True, header_unit="万元").value is not None


def header_unit(header: str) -> str | None:
    """The unit a column header states: 本年收费金额（单位：万元） -> 万元, 采购总金额(元) -> 元."""
    text = unicodedata.normalize("NFKC", header or "")
    m = re.search(r"\((?:单位:)?\s*(万元|元)\s*\)|单位[:]?\s*(万元|元)", text)
    if m:
        return m.group(1) or m.group(2)
    return None


def digits_run(cell: str) -> str | None:
    """The digits of a cell that holds only digits and spaces (cells run together), else None."""
    text = _clean(cell)
    squashed = re.sub(r"[\s\u00a0\u3000]+", "", text)
    return squashed if squashed.isdigit() else None
