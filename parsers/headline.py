"""Headline figures of free-form (pre-2019) reports, read from prose and old statistics tables.

Figures (codebook `templates.pre2019.headline`): proactive_items, requests_received,
reconsideration_cases, litigation_cases, fees_collected_yuan. Prose wins over the attached
statistics table (the text is what the agency wrote; flattened tables are ambiguous), and the
table is used only for a figure the prose does not state.

It must never guess: a figure the text does not state is absent, cumulative counts (累计, 历年)
and 其中 breakdowns of a larger total are not headline figures, and expenses (经费, 支出, 费用 of
the office) are not fees collected.
"""
from __future__ import annotations

import re

_N = r"(\d[\d,]*(?:\.\d+)?)"
_UNIT = r"\s*(?:余)?\s*(?:条|件|起|份|项|个|次|宗)"
_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
       "八": 8, "九": 9, "十": 10}


def _num(s: str) -> float | int:
    s = s.replace(",", "")
    if s in _CN:
        return _CN[s]
    v = float(s)
    return int(v) if v.is_integer() else v


def _flat(text: str) -> str:
    """One line: sources wrap lines inside numbers (主动公开政府信息1\\n397条)."""
    text = re.sub(r"(?<=\d)\s*\n\s*(?=\d)", "", text)
    text = re.sub(r"[ \u3000]*\n[ \u3000]*", "", text)
    return re.sub(r"(?<=[\d\u4e00-\u9fff])[ \u3000\xa0]+(?=[\d\u4e00-\u9fff])", "", text)


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[。；;！!]", text) if c]


_CUMULATIVE = re.compile(r"(累计|历年|自20\d\d年以来|以来累计|总计公开|共计公开|至今)")


# what may stand between 主动公开 and 政府信息: the year's own output, of every kind
# (主动公开当年生成的各类政府信息47条)
_OF_THE_YEAR = r"(?:了)?(?:(?:当年|本年度?|今年|全年)?新?(?:生成|产生|制作|形成)的)?(?:各类|各种)?"
# a figure for the stock to date; a 其中 after it gives the year's part, not a breakdown
_STOCK = re.compile(r"(累计|截至|截止|到年底|至年底)[^，,]{0,20}\d[\d,]*\s*条")


def _proactive(text: str) -> int | None:
    pats = [
        rf"(?:本年度?|全年|今年|当年|20\d\d年(?:度)?(?:全年)?)?(?:共|新增|累计)?主动公开{_OF_THE_YEAR}(?:政府)?信息(?:共计|共)?{_N}{_UNIT}",
        rf"主动公开{_OF_THE_YEAR}(?:政府)?信息(?:共计|共|总数为?|数为?)?{_N}{_UNIT}",
        rf"(?:共|全年)?(?:公开|发布)政府信息{_N}{_UNIT}",
    ]
    for pat in pats:
        for clause in _clauses(text):
            for m in re.finditer(pat, clause):
                before = clause[max(0, m.start() - 12):m.start()]
                if _CUMULATIVE.search(clause[max(0, m.start() - 15):m.end()]):
                    continue
                # a 其中 breakdown of a larger stated total is not the headline, unless the total
                # counts something else (制作、获取政府信息总数 N条，其中主动公开 M条)
                if re.search(r"其中", before) and not re.search(r"(制作|获取|总数)", clause[:m.start()]) \
                        and not (_STOCK.search(clause[:m.start()]) and re.search(r"(本年|今年|当年|新增)", m.group(0))):
                    continue
                if re.search(r"(各乡镇|县直|区直|各单位|部门|乡镇|网站|在互联网上|公开办)", before):
                    continue
                return int(_num(m.group(1)))
    return None


_REQ_ZERO = re.compile(r"(未收到|没有收到|无|未受理|未发生|没有)[^，,。]{0,12}(政府)?信息公开(的)?申请")


def _requests(text: str) -> int | None:
    pats = [
        rf"(?:受理|收到|接到|接收)(?:了)?(?:有关|各类)?(?:政府)?信息公开(?:的)?(?:[\u4e00-\u9fff]{{0,4}})?申请(?:共计|共)?{_N}{_UNIT}",
        rf"(?:共)?(?:受理|收到|接到)(?:依申请公开|依申请)(?:事项|件)?{_N}{_UNIT}",
        rf"(?:受理|收到)(?:政府信息公开)?申请(?:共计|共)?{_N}{_UNIT}",
    ]
    for clause in _clauses(text):
        if "信息公开" not in clause and "依申请" not in clause:
            continue        # 审批服务 applications and the like are not disclosure requests
        for pat in pats:
            m = re.search(pat, clause)
            if m and not _CUMULATIVE.search(clause[:m.start()]):
                return int(_num(m.group(1)))
    for clause in _clauses(text):
        m = _REQ_ZERO.search(clause)
        if m and "行政复议" not in clause[m.start():m.end() + 4]:
            return 0
        if re.search(r"未发生政府信息公开申请", clause):
            return 0
    return None


def _cases(text: str, what: str) -> int | None:
    for clause in _clauses(text):
        if what not in clause:
            continue
        m = re.search(rf"{what}(?:申请|案件|案)?(?:共|共计)?{_N}\s*(?:件|起|宗|个|次|份)", clause) or \
            re.search(rf"(?:收到|发生|受理|被提起)(?:了)?{_N}\s*(?:件|起|宗|个|份)[^，,]{{0,20}}{what}", clause) or \
            re.search(rf"{what}[^，,。\d]{{0,10}}?(?:数|数量)?为?{_N}\s*(?:件|起|宗)", clause)
        if m:
            return int(_num(m.group(1)))
        if re.search(rf"(无|未|没有|不存在|未发生|均无)[^。]{{0,30}}{what}", clause) or \
                re.search(rf"{what}[^。，,]{{0,12}}(无|为零|为0|情况均为零)", clause):
            return 0
    return None


def _table_figure(text: str, label: str) -> int | None:
    """A flattened old statistics-table row: '行政诉讼数 件 0 0' / '行政诉讼数条00' (all zeros)."""
    m = re.search(label + r"\s*(?:条|件|个|元|万元)\s*(\d+)(?:\s+(\d+))?", text)
    if not m:
        return None
    if m.group(2) is not None:
        return int(m.group(1))
    run = m.group(1)
    return 0 if set(run) == {"0"} else None


def _fees(text: str) -> float | None:
    for clause in _clauses(text):
        if re.search(r"(经费|支出|预算|行政事业性收费|产生的)", clause):
            continue
        m = re.search(rf"收取(?:了)?(?:[\u4e00-\u9fff、]{{0,12}}?)(?:费用?|信息处理费|处理费)(?:为|共计|共)?{_N}\s*(万元|元)", clause)
        if m:
            v = _num(m.group(1)) * (10000 if m.group(2) == "万元" else 1)
            return int(v) if float(v).is_integer() else v
        # 未向申请人收取费用, 无政府信息公开信息处理费收取情况: nothing was collected
        if re.search(r"(未收取|没有收取|不收取|暂不收费|未收费|免费提供|均免费|无收取)", clause) and \
                re.search(r"(费|收费)", clause) or \
                re.search(r"(未|没有|不)向[^，,。]{0,10}?收取[^，,。]{0,10}?费", clause) or \
                re.search(r"无[^，,。]{0,16}?费[^，,。]{0,4}?收取情况", clause):
            return 0
    return None


def read_headline(text: str) -> dict:
    """The headline figures the text states; absent figures are left out."""
    flat = _flat(text or "")
    out: dict = {}
    v = _proactive(flat)
    if v is None:
        v = _table_figure(flat, r"主动公开(?:政府)?(?:信息|文件)数")
    if v is not None:
        out["proactive_items"] = v
    v = _requests(flat)
    if v is None:
        v = _table_figure(flat, r"(?:受理依申请公开信息总数|收到申请数)")
    if v is not None:
        out["requests_received"] = v
    v = _cases(flat, "行政复议")
    if v is None:
        v = _table_figure(flat, r"行政复议数")
    if v is not None:
        out["reconsideration_cases"] = v
    v = _cases(flat, "行政诉讼")
    if v is None:
        v = _table_figure(flat, r"行政诉讼数")
    if v is not None:
        out["litigation_cases"] = v
    v = _fees(flat)
    if v is not None:
        out["fees_collected_yuan"] = v
    return out
