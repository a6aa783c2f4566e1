"""Split a report's text into the six sections of the 2019/2021 formats ("1".."6").

Headings are found whatever the numbering style (一、 / （一） / 1. / 第一部分), at a line start or
run into a line after a full stop (mirrors flatten whole sections into one line). Labels come from
the codebook's `sections` (label + variants); pre-2019 reports have other headings, so a heading
is also mapped by the key words of its section, and headings that fit no section only bound
the others.

It must never invent a section: a section whose heading is absent is simply not in the result.
"""
from __future__ import annotations

import functools
import re

from parsers import codebook

_NUM = "一二三四五六七八九十"
_HEAD = re.compile(
    rf"(?:(?<=\n)|^|(?<=[。；;!！ \t|\d]))\s*"
    rf"(?P<num>第[{_NUM}]{{1,3}}部分[、.．:： ]?|[{_NUM}]{{1,3}}\s*[、.．]|[(（][{_NUM}]{{1,3}}[)）]|\d{{1,2}}\s*[、.．](?!\d))"
    r"(?=\s*(?P<label>[^\n。；;]{2,60}))")

# Key words that identify a section when the heading is not the format's own wording
# (pre-2019 reports, local variants). Order matters: the first section whose words match wins.
_KEYWORDS = (
    ("4", ("行政复议", "行政诉讼")),
    ("3", ("收到和处理政府信息公开申请", "依申请公开", "政府信息公开申请")),
    ("2", ("主动公开",)),
    ("5", ("存在的主要问题", "存在主要问题", "存在的问题", "改进情况", "改进措施")),
    ("6", ("其他需要报告", "其它需要报告", "需要说明的事项", "其他需要说明", "需要报告的其他事项")),
    ("1", ("总体情况", "工作基本情况", "概述", "基本情况", "总体工作情况")),
)


def _fold(s: str) -> str:
    return re.sub(r"[\s\"“”]", "", s).replace("其它", "其他")


@functools.cache
def _codebook_labels() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        for key, entry in codebook.sections().items():
            labels = [entry.get("label", "")] + list(entry.get("variants") or [])
            labels += [v for l in labels for v in codebook.vocabulary_variants(l)]
            out[str(key)] = [_fold(re.sub(rf"^[{_NUM}]+、\s*", "", codebook.to_simplified(l)))
                             for l in labels if l]
    except Exception:
        pass
    return out


def classify_heading(label: str) -> str | None:
    """Which of the six sections a heading label names, or None."""
    folded = _fold(label)
    for key, labels in _codebook_labels().items():
        if any(l and folded.startswith(l) for l in labels):
            return key
    head = folded[:30]
    for key, words in _KEYWORDS:
        if any(w in head for w in words):
            return key
    return None


def _is_format_label(label: str) -> bool:
    folded = _fold(label)
    return any(l and folded.startswith(l) for ls in _codebook_labels().values() for l in ls)


def _style(num: str) -> str:
    if num.startswith("第"):
        return "part"
    if num[0] in "(（":
        return "paren"
    if num[0].isdigit():
        return "arabic"
    return "dun"


def split_sections(text: str) -> dict[str, str]:
    """{"1".."6": section text including its heading}; missing headings are left out."""
    text = text or ""
    heads = []
    for m in _HEAD.finditer(text):
        # a run-on line may hold the next heading too: the label ends where it begins
        label = re.split(rf"\s[{_NUM}]{{1,3}}、", m.group("label").strip())[0]
        if "\t" in label:
            continue        # a table row, not a heading
        at_line_start = m.start() == 0 or text[m.start() - 1] == "\n" or \
            text[:m.start()].rstrip(" \t").endswith("\n")
        key = classify_heading(label)
        if key is None and not at_line_start:
            continue
        if text[m.start() - 1:m.start()].isdigit() and not _is_format_label(label):
            continue        # run on after a number: only the format's own wording counts
        if key is None and (len(label) > 30 or "\t" in label):
            continue
        heads.append((m.start(), _style(m.group("num")), key, m.group("num")))
    if not heads:
        return {}
    # the top level is the numbering style that names the most sections
    best_style, best = None, -1
    for style in ("dun", "part", "paren", "arabic"):
        keys = {k for _, s, k, _ in heads if s == style and k}
        if len(keys) > best:
            best_style, best = style, len(keys)
    if best <= 0:
        return {}
    top = [(pos, _numeral(num), key) for pos, s, key, num in heads if s == best_style]
    # accept headings in increasing numeral order, so table rows (一、本年新收…, 四、结转…) and
    # sub-items that reuse the numbering never cut a section short
    accepted = []
    last_num, last_key = 0, "0"
    for pos, num, key in top:
        if key and key > last_key and (num > last_num or (accepted and accepted[-1][1] is None
                                                          and num == last_num)):
            if accepted and accepted[-1][1] is None and num == last_num:
                accepted.pop()      # the unnamed heading with this numeral was a table row
            accepted.append((pos, key))
            last_num, last_key = num, key
        elif key is None and num == last_num + 1:
            accepted.append((pos, None))
            last_num = num
    out: dict[str, str] = {}
    for i, (pos, key) in enumerate(accepted):
        end = accepted[i + 1][0] if i + 1 < len(accepted) else len(text)
        if key:
            out[key] = text[pos:end].strip()
    return out


def _numeral(num: str) -> int:
    digits = re.sub(r"\D", "", num)
    if digits:
        return int(digits)
    cn = re.sub(rf"[^{_NUM}]", "", num)
    vals = {c: i + 1 for i, c in enumerate(_NUM)}
    if not cn:
        return 0
    if cn == "十":
        return 10
    if cn.startswith("十"):
        return 10 + vals.get(cn[1:], 0)
    if "十" in cn:
        a, _, b = cn.partition("十")
        return vals.get(a, 0) * 10 + vals.get(b, 0)
    return vals.get(cn, 0)
