"""Report metadata: who published it (agency, level, kind, region), about which year, when.

Reads an `Extracted` (title, text, page metadata) and the gazetteer; rules follow the domain
primer (§3 templates, §7 level/kind/region, §8 year and dates). `template_from_year` decides the
template only when no table header did; `looks_like_report` tells a report from other pages.

It must never name a particular agency, file or year as a condition (unseen reports are scored
the same way), never do I/O, and never raise on odd text: unknown values are None.
"""
from __future__ import annotations

import re
from datetime import date

from parsers import gazetteer
from parsers.document import Extracted

_CJK = r"\u3400-\u9fff"
_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "o": 0, "0": 0, "一": 1, "二": 2, "三": 3,
              "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_REPORT = r"(?:政府)?(?:信息|政务)公开(?:工作)?(?:年度)?(?:工作)?(?:报告|年报)"
_AGENCY_SUFFIX = (r"(?:人民政府办公厅|人民政府办公室|人民政府|管理委员会|管委会|街道办事处|办事处|"
                  r"委员会|办公厅|办公室|总局|管理局|局|厅|委|署|部|院|中心|所|站|队|会|处|政府)")
_GOVERNMENT = re.compile(r"(人民政府(办公厅|办公室)?|管委会|管理委员会|街道办事处|人民政府)$")
_TOWNSHIP = re.compile(r"(镇|乡|街道|苏木)(人民政府|办事处|街道办事处)?$")


def compact(text: str) -> str:
    """Drop spaces PDF and OCR put around digits and between CJK characters."""
    text = re.sub(rf"(?<=[\d{_CJK}])[ \u3000]+(?=[\d{_CJK}])", "", text or "")
    return text


# ---------------------------------------------------------------------------------------------
# year

def _year_from(s: str) -> int | None:
    if re.fullmatch(r"(19|20)\d{2}", s):
        return int(s)
    if len(s) == 4 and all(ch in _CN_DIGITS for ch in s):
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    return None


_YEAR = r"((?:19|20)\d{2}|[二][〇○零Ｏ0][〇○零Ｏ0一二三四五六七八九]{2})"
_PERIOD = re.compile(r"统计(?:期限|时限|时间|区间|期间|范围|周期)[^。\n]{0,12}?" + _YEAR + r"\s*年\s*1\s*月\s*1\s*日")
_PERIOD_YEAR = re.compile(r"统计(?:期限|时限|时间|区间|期间)[^。\n]{0,12}?" + _YEAR + r"\s*年(?:度)?(?:全年|1月|一月)")


def read_year(title: str | None, text: str, published: str | None) -> int | None:
    """Statistical year: the 统计期限 sentence, then the title, then publication year minus one."""
    body = compact(text)
    for pat in (_PERIOD, _PERIOD_YEAR):
        m = pat.search(body)
        if m:
            y = _year_from(m.group(1))
            if y:
                return y
    for t in _title_candidates(title, body):
        m = re.search(_YEAR + r"\s*年(?:度)?", compact(t))
        if m:
            y = _year_from(m.group(1))
            if y:
                return y
    if published:
        return int(published[:4]) - 1
    # no period, title or date: the year the overview opens with ("2023年，市…局全面…")
    m = re.search(r"(?:^|\n)\s*一、[^\n]{0,12}\n?\s*" + _YEAR + r"\s*年", body)
    if m:
        return _year_from(m.group(1))
    years = re.findall(r"((?:19|20)\d{2})\s*年", body)
    if years:
        return int(max(set(years), key=lambda y: (years.count(y), -int(y))))
    return None


# ---------------------------------------------------------------------------------------------
# title

_TITLE_LINE = re.compile(rf"^.{{0,60}}?{_REPORT}$")


def _title_candidates(title: str | None, body: str) -> list[str]:
    """The page title, then report-title-like lines near the top of the text."""
    out = []
    if title:
        out.append(title)
    for line in body.split("\n")[:80]:
        s = line.strip().replace("\t", "")
        s = s.lstrip("。.•·-— ")
        if 8 <= len(s) <= 70 and re.search(_REPORT + r"\s*$", s) and not s.startswith(("关于", "《")) \
                and (re.search(_YEAR + r"\s*年", s) or len(s) >= 14):
            out.append(s)
        m = re.search(r"标题\s*[:：]\s*(.+)$", s)
        if m:
            out.insert(0, m.group(1))
    return out


# ---------------------------------------------------------------------------------------------
# agency

def _clean_name(s: str) -> str:
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"^(关于|印发|转发)", "", s)
    s = re.sub(r"(关于|的)$", "", s)
    return s.strip("《》“”\"'()（）:：,，、.。 ")


def _name_from_title(t: str) -> str | None:
    name = _name_in_title(t)
    if name and (len(name) < 3 or re.fullmatch(r"(本|我)?(政府|单位|机关|部门|局|委|办)", name)):
        return None
    return name


def _name_in_title(t: str) -> str | None:
    t = _clean_name(compact(t))
    t = re.sub(r"[(（][^)）]*[)）]$", "", t)
    m = re.match(rf"^(?P<name>.+?){_YEAR}\s*年度?{_REPORT}$", t) or \
        re.match(rf"^(?P<name>.+?){_YEAR}\s*年度?.*(?:报告|年报)$", t)
    if m and len(m.group("name")) >= 2:
        return m.group("name")
    m = re.match(rf"^{_YEAR}\s*年度?(?P<name>.+?){_REPORT}$", t)
    if m and len(m.group("name")) >= 2:
        return m.group("name")
    m = re.match(rf"^(?P<name>.+?){_REPORT}$", t)
    if m and len(m.group("name")) >= 2 and not re.search(r"\d", m.group("name")):
        return m.group("name")
    return None


def _standalone_names(body: str) -> list[str]:
    """Lines that are nothing but an agency name (a heading above the title, a signature)."""
    out = []
    for line in body.split("\n"):
        s = _clean_name(line)
        if 3 <= len(s) <= 30 and re.fullmatch(rf"[{_CJK}()]+{_AGENCY_SUFFIX}", s) \
                and not re.search(r"(报告|情况|工作|方面|措施|公开|建设|问题|事项|会议|我局|本局)", s):
            out.append(s)
    return out


def _labelled_names(body: str) -> list[str]:
    out = []
    for label in ("发布机构", "发文机关", "信息来源", "来源", "发布单位", "主办单位"):
        for m in re.finditer(label + rf"\s*[:：]\s*([{_CJK}()]{{3,30}})", body[:3000]):
            s = _clean_name(m.group(1))
            s = re.sub(r"(时间|日期|发布|浏览|字号|作者).*$", "", s)
            if re.search(_AGENCY_SUFFIX + "$", s) and not s.endswith("网"):
                out.append(s)
    return out


_ANNOUNCE = re.compile(rf"(?:公布|发布|编制|公开|形成|制作)(?:了|完成)?(?P<t>[^。,，;；:：“”《》<>\n]{{4,60}}?{_REPORT})")
_COMPILED_BY = re.compile(rf"由(?P<name>[{_CJK}()（）]{{3,40}}?{_AGENCY_SUFFIX})(?:负责|根据[^。]{{0,200}}?)?"
                          r"(?:编制|编写|汇总|整理)")
# the office that compiles a report for its government is not its author: a township's 党政办公室,
# a 政府信息公开工作领导小组办公室
_COMPILING_OFFICE = re.compile(r"(人民政府|管委会|办事处)(?:党政(?:综合)?办公室|党政办|"
                               r"(?:政府|政务)?信息公开(?:工作)?领导小组办公室)$")


def _outside_quotes(text: str, pos: int) -> bool:
    before = text[:pos]
    return before.count("《") <= before.count("》") and before.count("<") <= before.count(">")


_NOT_A_NAME = re.compile(r"^(本|我|该|各|全|上|下|相关|有关|所属|以上|年度)")
_BARE_RELATIVE = re.compile(rf"^(市|区|县|省)(?![{_CJK}]{{0,3}}?(市|区|县|省))")   # 区统计局: no place


def _agency_like(name: str | None) -> bool:
    """A proper agency name: an agency ending or a township/sub-district, a place of its own,
    not a phrase (相关规定编制, 本年度, 各乡镇人民政府, 区统计局)."""
    return bool(name) and len(name) >= 3 and not _NOT_A_NAME.match(name) \
        and not _BARE_RELATIVE.match(name) \
        and bool(re.search(rf"{_AGENCY_SUFFIX}$|[{_CJK}](镇|乡|街道)$", name))


def _announced_names(body: str) -> list[str]:
    """The author in the opening sentence: '现公布X2020年政府信息公开工作年度报告', '特编制2020年度X政府
    信息公开年度报告', '本报告由X编制' (never inside a cited document's 《title》)."""
    head = body[:2000]
    out = []
    for m in _ANNOUNCE.finditer(head):
        if not _outside_quotes(head, m.start()) or re.search(r"(关于|做好|报送)$", head[max(0, m.start() - 4):m.start()]):
            continue
        name = _name_from_title(m.group("t"))
        if _agency_like(name):
            out.append(name)
    for m in _COMPILED_BY.finditer(head):
        if _outside_quotes(head, m.start()):
            name = _COMPILING_OFFICE.sub(r"\1", _clean_name(m.group("name")))
            if _agency_like(name):
                out.append(name)
    return out


def _is_place(name: str) -> dict | None:
    """The division when `name` is exactly a place (西湖区, a zone of zones.csv), else None."""
    div = gazetteer.lookup(name)
    return div if div and div["name"] == name else None


def _canonical(name: str, body: str) -> str:
    """Full canonical form: a bare place or 'X政府' becomes its government; a clipped name
    (…委 for …委员会) takes the longer form the text itself uses."""
    place = _is_place(name)
    if place:
        return name + ("管委会" if place["kind"] == "zone" else "人民政府")
    if name.endswith("政府") and not name.endswith("人民政府"):
        base = name[:-2]
        if _is_place(base):
            return base + "人民政府"
    # a bare township or sub-district (the gazetteer stops at counties): its government
    if re.fullmatch(rf"[{_CJK}]{{2,12}}街道", name):
        return name + "办事处"
    if re.fullmatch(rf"[{_CJK}]{{2,12}}(镇|乡)", name):
        return name + "人民政府"
    if re.fullmatch(rf"[{_CJK}]{{2,12}}(镇|乡)政府", name):
        return name[:-2] + "人民政府"
    if name.endswith("委") and name + "员会" in body:
        return name + "员会"       # the title clipped 委员会 (…经济和信息化委)
    return name


def _full_names(body: str) -> list[str]:
    """Agency names written out with a place prefix anywhere in the text."""
    out = []
    for hit in gazetteer.find_all(body):
        tail = body[hit["start"] + len(hit["name"]): hit["start"] + len(hit["name"]) + 14]
        m = re.match(rf"([{_CJK}]{{1,10}}?(?:管理局|委员会|办公室|办公厅|局|厅))", tail)
        if m and not re.search(r"(和|及|与|、|的|在|对|各|等)", m.group(1)):
            out.append(hit["name"] + m.group(1))
    return out


def _self_reference(body: str) -> str | None:
    """How the report names its author in prose: 市大数据局, 区政府办 …"""
    m = re.search(rf"(?:^|\n|,|,|。)\s*(?:\d{{4}}年,?\s*)?((?:市|区|县|省)[{_CJK}]{{2,10}}?(?:局|委|办|厅))"
                  rf"{_SELF_VERBS}", body)
    return m.group(1) if m else None


_SELF_VERBS = r"(?:全面|坚持|认真|深入|严格|高度|紧紧|持续|按照|进一步|始终)"


def _national_self_reference(body: str) -> str | None:
    """A ministry or national bureau naming itself as the subject: '2024年,教育部坚持…',
    '2022年,国家新闻出版署坚持…' (national agencies have no place prefix to find)."""
    # the year must open the sentence, and the name must not be a place's department or a word
    # that merely ends in 部 (干部, 全部, 内部)
    for m in re.finditer(rf"(?:^|\n|。)\s*(?:19|20)\d{{2}}年(?:度)?,?\s*((?:国家|国务院)[{_CJK}]{{2,12}}?"
                         rf"(?:局|署|委员会|委|办公室|办|部)|[{_CJK}]{{1,8}}部|海关总署|[{_CJK}]{{2,8}}总局){_SELF_VERBS}",
                         body[:5000]):
        name = m.group(1)
        if re.search(r"(干部|全部|内部|外部|各部|局部|本部|总部|部分|[东西南北中]部)$", name) or \
                re.search(r"[省市县区州盟旗镇乡]|委宣传|党委|党组|政府", name) or _NOT_A_NAME.match(name):
            continue
        return name
    return None


def read_agency(doc: Extracted, body: str) -> str | None:
    titles = _title_candidates(doc.title, body)
    names = [n for n in (_name_from_title(t) for t in titles) if n]
    name = names[0] if names else None
    head_lines = _standalone_names("\n".join(body.split("\n")[:8]))
    labelled = _labelled_names(body)
    if name and gazetteer.lookup(name) is None and head_lines:
        # a title without a place ("本局2020年…"): the heading line names the agency
        name = head_lines[0]
    if not name and head_lines:
        name = head_lines[0]
    if not name and labelled:
        name = labelled[0]
    if not name:
        announced = _announced_names(body)
        name = announced[0] if announced else None
    if not name:
        ref = _self_reference(body)
        full = _full_names(body)
        if ref:
            core = re.sub(r"^(市|区|县|省)|(局|委|办|厅)$", "", ref)
            matching = [f for f in full if core and all(ch in f for ch in core)
                        and f[-1] == ref[-1]]
            if matching:
                name = max(set(matching), key=matching.count)
        if not name:
            tail = _standalone_names("\n".join(body.split("\n")[-12:]))
            name = tail[-1] if tail else None
    if not name:
        # a ministry has no place to find: only as the subject of a sentence, and last
        name = _national_self_reference(body)
    if not name:
        return None
    name = _canonical(name, body)
    return name


def agency_kind(agency: str | None) -> str | None:
    if not agency:
        return None
    if _GOVERNMENT.search(agency) or agency.endswith("街道办事处"):
        return "government"
    return "department"


def admin_level(agency: str | None, division: dict | None) -> str | None:
    if not agency:
        return None
    if division is None:
        if re.fullmatch(rf"[{_CJK}]{{2,12}}(镇|乡|苏木)人民政府|[{_CJK}]{{2,12}}街道办事处", agency):
            return "township"
        if re.match(r"^(国家|国务院|中国|中华人民共和国|海关总署|国家税务总局)", agency) or \
                re.search(r"(部|总局|总署|委员会)$", agency) and len(agency) <= 12:
            return "national"
        return None
    at = agency.find(division["name"])
    rest = agency[at + len(division["name"]):] if at >= 0 else agency
    if re.match(rf"[{_CJK}]{{1,8}}?(镇|乡|街道|苏木)", rest) and _TOWNSHIP.search(agency):
        return "township"
    return division["level"]


# ---------------------------------------------------------------------------------------------
# dates

_SIGN_DATE = re.compile(r"^\s*((?:19|20)\d{2}|[二][〇○零Ｏ0][〇○零Ｏ0一二三四五六七八九]{2})\s*年"
                        r"\s*([\d一二三四五六七八九十]{1,3})\s*月\s*([\d一二三四五六七八九十]{1,3})\s*日\s*$")


def _cn_num(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    vals = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + vals.get(s[1:], 0)
    if "十" in s:
        a, _, b = s.partition("十")
        return vals.get(a, 0) * 10 + (vals.get(b, 0) if b else 0)
    return vals.get(s)


def signature_date(body: str) -> str | None:
    """A date standing alone on one of the last lines (the signature), as YYYY-MM-DD."""
    lines = [l.strip() for l in body.split("\n") if l.strip()]
    for line in reversed(lines[-10:]):
        m = _SIGN_DATE.match(line)
        if m:
            y, mo, d = _year_from(m.group(1)), _cn_num(m.group(2)), _cn_num(m.group(3))
            try:
                return date(y, mo, d).isoformat() if y and mo and d else None
            except ValueError:
                return None
    return None


# ---------------------------------------------------------------------------------------------
# the record's metadata

def read_meta(doc: Extracted, template: str | None = None) -> dict:
    body = compact(doc.text)
    published = doc.published or signature_date(body)
    year = read_year(doc.title, body, published)
    agency = read_agency(doc, body)
    division = gazetteer.lookup(agency, context=body) if agency else None
    level = admin_level(agency, division)
    return {
        "agency": agency,
        "year": year,
        "script": doc.script,
        "published": published,
        "region": gazetteer.region_of(division if level != "national" else None),
        "admin_level": level,
        "agency_kind": agency_kind(agency),
    }


_STRONG_2021 = ("本年制发件数", "本年废止件数", "现行有效件数", "本年收费金额")
_STRONG_2019 = ("本年新制作数量", "本年新公开数量", "对外公开总数量", "上一年项目数量", "政府集中采购")
_OLD_HEADINGS = ("概述", "依申请公开政府信息情况", "收费及减免", "不予公开政府信息情况")
_NEW_HEADINGS = ("收到和处理政府信息公开申请情况", "主动公开政府信息情况", "行政复议、行政诉讼情况",
                 "存在的主要问题及改进情况", "其他需要报告的事项")


def template_from_year(year: int | None, text: str) -> str | None:
    """The template when no table header decided it (domain README §3): headings and year."""
    body = compact(text)
    if year is not None and year <= 2018:
        return "pre2019"
    if any(h in body for h in _STRONG_2021):
        return "2021"
    if any(h in body for h in _STRONG_2019):
        return "2019"
    if year is None:
        return None
    by_year = "2019" if year <= 2020 else "2021"
    new_style = "收到和处理政府信息公开申请情况" in body or sum(h in body for h in _NEW_HEADINGS) >= 3
    if new_style:
        return by_year
    # free-form reports keep the older section names; without them (tables lost, text cut) the
    # year decides, except for 2019, when the format was only encouraged
    if any(h in body for h in _OLD_HEADINGS) or year <= 2019:
        return "pre2019"
    return by_year


_NOT_REPORT = re.compile(r"(部门预算|部门决算|预算公开|决算公开|工作要点|法治政府建设.{0,6}报告|"
                         r"关于(做好|编制|报送|开展|印发).{0,30}(年度报告|年报)|通知$)")


def looks_like_report(doc: Extracted, record: dict) -> bool:
    """An annual disclosure report, not a budget, a work plan or a notice about the reports."""
    body = compact(doc.text)
    title = compact(doc.title or "")
    if title and _NOT_REPORT.search(title) and "信息公开" not in title:
        return False
    titled = bool(re.search(r"(政府信息公开|信息公开|政务公开)(工作)?(年度)?(工作)?(报告|年报)", title)) or \
        any(re.search(r"信息公开.{0,6}(年度报告|工作报告|年报)", t) for t in _title_candidates(None, body))
    headings = sum(h in body for h in _NEW_HEADINGS)
    old_headings = sum(h in body for h in ("主动公开政府信息", "依申请公开", "行政复议", "行政诉讼",
                                            "存在的主要问题", "收费"))
    # the opening sentence of a report: '本年度报告是根据《…政府信息公开条例》…编制', '现公布…年度报告'
    opening = bool(re.search(r"(本(年度)?报告|本年报|年度报告)[^。]{0,120}政府信息公开条例|"
                             r"政府信息公开条例[^。]{0,160}(本(年度)?报告|年度报告|年报)", body[:1500])) \
        and not re.search(r"通知如下|现就|关于做好|请各|各有关单位", body[:1500])   # a notice about the reports
    tables = record.get("tables") or {}
    if any(tables.values()):
        return True
    if headings >= 3:
        return True
    if titled and ("主动公开" in body or "依申请" in body):
        return True
    if opening and (headings >= 1 or old_headings >= 3 or "总体情况" in body):
        return True
    return False
