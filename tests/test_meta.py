"""Metadata: agency, year, dates, level/kind/region, template fallback, report or not."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers import gazetteer
from parsers.document import Extracted
from parsers.extract import extract
from parsers.meta import (agency_kind, looks_like_report, read_meta, read_year, signature_date,
                          template_from_year)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def doc(text: str, **kw) -> Extracted:
    return Extracted(format="txt", text=text, **kw)


# --------------------------------------------------------------------------- gazetteer

def test_gazetteer_county_gets_its_city():
    d = gazetteer.lookup("定海区人民政府")
    assert (d["province"], d["city"], d["county"], d["level"]) == ("浙江省", "舟山市", "定海区", "county")


def test_gazetteer_municipality_has_no_city():
    assert gazetteer.lookup("上海市人民政府办公厅")["city"] is None
    d = gazetteer.lookup("黄浦区")
    assert (d["province"], d["city"], d["level"]) == ("上海市", None, "county")


def test_gazetteer_chain_and_ambiguity():
    assert gazetteer.lookup("山东省青岛市市北区城管局")["county"] == "市北区"
    assert gazetteer.lookup("鼓楼区人民政府") is None                   # several 鼓楼区
    assert gazetteer.lookup("鼓楼区人民政府", context="江苏省南京市")["city"] == "南京市"
    assert gazetteer.lookup("国家统计局") is None


def test_gazetteer_zone_from_data_file():
    d = gazetteer.lookup("雄安新区管委会")
    assert d["province"] == "河北省" and d["level"] == "city"


# --------------------------------------------------------------------------- agency

@pytest.mark.parametrize("title,text,agency,level,kind", [
    ("某某区2022年政府信息公开工作年度报告", "", None, None, None),
    ("定海区2022年政府信息公开工作年度报告", "", "定海区人民政府", "county", "government"),
    ("2022年定海区政府信息公开工作年度报告", "", "定海区人民政府", "county", "government"),
    ("青岛市经济和信息化委2018年度政府信息公开工作报告", "特此报告。\n青岛市经济和信息化委员会\n2019年1月14日",
     "青岛市经济和信息化委员会", "city", "department"),
    ("2019年上海市人民政府办公厅政府信息公开工作年度报告", "", "上海市人民政府办公厅", "province",
     "government"),
    (None, "淄博市大数据局 2023 年政府信息公开 工作年度报告\n一、总体情况", "淄博市大数据局", "city",
     "department"),
    (None, "杭州市西湖区人民政府\n2023年度政府信息公开工作报告\n一、总体情况", "杭州市西湖区人民政府",
     "county", "government"),
    ("某某镇2023年政府信息公开工作年度报告", "", None, None, None),
])
def test_agency_from_title_and_text(title, text, agency, level, kind):
    m = read_meta(doc(text, title=title))
    if agency is None:
        assert m["agency"] is None or gazetteer.lookup(m["agency"]) is None
        return
    assert m["agency"] == agency
    assert m["admin_level"] == level
    assert m["agency_kind"] == kind


def test_township_level():
    m = read_meta(doc("", title="杭州市西湖区转塘街道2023年政府信息公开工作年度报告"))
    assert m["admin_level"] == "township"
    assert m["agency"] == "杭州市西湖区转塘街道办事处" and m["agency_kind"] == "government"
    m = read_meta(doc("", title="杭州市西湖区某某镇2023年政府信息公开工作年度报告"))
    assert (m["agency"], m["admin_level"]) == ("杭州市西湖区某某镇人民政府", "township")


def test_agency_from_prose_when_there_is_no_title():
    text = ("一、总体情况\n2023年,市大数据局全面贯彻国家和省、市关于政务公开的部署。\n"
            "(五)制定《青岛市大数据发展管理局政府网站管理办法》。")
    m = read_meta(doc(text))
    assert m["agency"] == "青岛市大数据发展管理局"
    assert m["region"]["city"] == "青岛市" and m["year"] == 2023


def test_kind():
    assert agency_kind("某某区人民政府") == "government"
    assert agency_kind("某某街道办事处") == "government"
    assert agency_kind("某某市财政局") == "department"


# --------------------------------------------------------------------------- year and dates

def test_year_prefers_the_statistical_period_over_plans_and_comparisons():
    text = ("本报告所列数据的统计期限为2022年1月1日至2022年12月31日。\n"
            "五、存在的主要问题及改进情况\n2023年，我局将……与2021年相比增加2件。")
    assert read_year("2023年政务公开工作要点", text, "2023-01-20") == 2022


def test_year_with_pdf_spaces_and_from_title_and_date():
    assert read_year(None, "统计期限自 2023 年 1 月 1 日起，至 2023 年 12 月 31 日止", None) == 2023
    assert read_year("某局2021年度政府信息公开工作年度报告", "", None) == 2021
    assert read_year(None, "没有年份的文字", "2020-01-15") == 2019


def test_published_is_the_portal_date_else_signature():
    m = read_meta(doc("发布日期 : 2019-01-17 来源 : 某委\n正文\n某委\n2019年1月14日"))
    assert m["published"] == "2019-01-17" or m["published"] == "2019-01-14"
    d = extract("标题: x\n发布时间: 2019-01-17 00:00\n正文\n某委\n2019年1月14日".encode(), filename="a.txt")
    assert read_meta(d)["published"] == "2019-01-17"
    assert read_meta(doc("正文\n某委\n二○一三年一月二十日"))["published"] == "2013-01-20"
    assert read_meta(doc("正文，2023年3月1日召开会议。"))["published"] is None


def test_signature_date_only_at_the_end():
    assert signature_date("2020年1月2日\n" + "正文\n" * 20) is None


# --------------------------------------------------------------------------- template and kind of page

def test_template_fallback():
    new = "一、总体情况\n三、收到和处理政府信息公开申请情况\n四、政府信息公开行政复议、行政诉讼情况"
    assert template_from_year(2022, new) == "2021"
    assert template_from_year(2020, new) == "2019"
    assert template_from_year(2019, "一、概述\n二、主动公开政府信息情况") == "pre2019"
    assert template_from_year(2017, new + "本年新制作数量") == "pre2019"
    assert template_from_year(None, "无") is None


def test_looks_like_report():
    report = doc("一、总体情况\n二、主动公开政府信息情况\n三、收到和处理政府信息公开申请情况",
                 title="某局2023年政府信息公开工作年度报告")
    assert looks_like_report(report, {"tables": {"t2": False}})
    budget = doc("一、部门主要职责\n二、部门预算表", title="某局2023年部门预算")
    assert not looks_like_report(budget, {"tables": {}})
    notice = doc("请各单位于1月31日前报送。", title="关于做好2023年政府信息公开工作年度报告编制工作的通知")
    assert not looks_like_report(notice, {"tables": {}})


# --------------------------------------------------------------------------- agency without a title line

OPENING = "根据《中华人民共和国政府信息公开条例》规定,"


@pytest.mark.parametrize("text,agency,level,kind", [
    (OPENING + "现公布贵州省机关事务管理局2020年政府信息公开工作年度报告。本报告中所列数据的统计期限为2020年1月1日至2020年12月31日。",
     "贵州省机关事务管理局", "province", "department"),
    (OPENING + "特编制湛江市人民政府地方志办公室2023年政府信息公开工作年度报告。",
     "湛江市人民政府地方志办公室", "city", "department"),
    (OPENING + "特编制2020年度拖市镇政府信息公开年度报告。", "拖市镇人民政府", "township", "government"),
    ("本报告是根据《条例》要求,由两城镇人民政府党政办公室编制。", "两城镇人民政府", "township", "government"),
    ("本报告由南平市人民政府信息公开工作领导小组办公室根据《中华人民共和国政府信息公开条例》要求,汇总各部门情况编制而成。",
     "南平市人民政府", "city", "government"),
    ("依据《条例》之规定,制作本报告。\n一、总体情况\n2024年,教育部坚持以习近平新时代中国特色社会主义思想为指导。",
     "教育部", "national", "department"),
    ("重庆市九龙坡区二郎街道办事处2022年政府信息公开工作年度报告\n一、总体情况", "重庆市九龙坡区二郎街道办事处",
     "township", "government"),
])
def test_agency_from_the_opening_sentence_or_the_subject(text, agency, level, kind):
    meta = read_meta(doc(text))
    assert (meta["agency"], meta["admin_level"], meta["agency_kind"]) == (agency, level, kind)


@pytest.mark.parametrize("text", [
    "本年度共收到申请12件,全部按照法定时限答复。",
    "2023年,全体干部认真学习。",
    "2023年,区委宣传部坚持正确导向。",
    "依据政务公开相关规定编制2023年政府信息公开工作年度报告。",
    "本报告由各乡镇人民政府编制。",
    "本报告由市政府办公室编制。",
    "特编制本年度政府信息公开工作年度报告。",
])
def test_phrases_are_not_agencies(text):
    assert read_meta(doc(text))["agency"] is None


def test_signature_still_names_the_agency_when_prose_has_a_subject():
    text = "2023年,全部按照法定时限答复。\n杭州市西湖区统计局\n2024年1月20日"
    assert read_meta(doc(text))["agency"] == "杭州市西湖区统计局"


def test_a_page_that_is_no_report_gets_no_template_from_its_year():
    from parsers.api import parse_bytes

    record = parse_bytes("2023年部门预算\n一、部门主要职责\n2023年收入预算123万元。".encode(), filename="b.txt")
    assert record["is_report"] is False and record["template"] is None


def test_parsing_restores_the_gc_threshold_even_when_nested():
    import gc

    from parsers.api import fewer_gc_passes

    before = gc.get_threshold()
    with fewer_gc_passes():
        with fewer_gc_passes():
            assert gc.get_threshold()[0] >= 50_000
        assert gc.get_threshold()[0] >= 50_000        # the outer parse is still running
    assert gc.get_threshold() == before


def test_a_notice_about_the_reports_is_not_a_report():
    text = ("根据《中华人民共和国政府信息公开条例》规定,现就做好2023年度政府信息公开工作年度报告编制发布工作"
            "通知如下:一、总体情况部分要写明…")
    assert not looks_like_report(doc(text), {"tables": {}})


def test_cited_reports_and_notices_name_no_agency():
    text = ("按照《市人民政府办公室关于做好2020年政府信息公开工作年度报告编制和发布工作的通知》要求,"
            "对照《国家新闻出版署2021年政府信息公开工作年度报告》,现将我办2022年度政府信息公开情况报告如下:")
    assert read_meta(doc(text))["agency"] is None
    assert read_meta(doc(OPENING + "现公布区统计局2023年政府信息公开工作年度报告。"))["agency"] is None


def test_template_falls_back_on_the_year_when_no_table_survives():
    assert template_from_year(2024, "一、总体情况\n2024年,教育部坚持…") == "2021"
    assert template_from_year(2020, "一、总体情况\n2020年,某局坚持…") == "2019"
    assert template_from_year(2019, "一、总体情况\n2019年,某局坚持…") == "pre2019"   # format only encouraged
    assert template_from_year(2022, "一、概述\n二、依申请公开政府信息情况") == "pre2019"


def test_free_form_report_without_a_title_line_is_a_report():
    text = ("本年度报告是根据《中华人民共和国政府信息公开条例》和区政府信息公开工作要求,由中原区审计局编制。\n"
            "一、主动公开政府信息情况\n二、依申请公开政府信息和不予公开政府信息情况\n"
            "三、政府信息公开的收费及减免情况\n四、申请行政复议、提起行政诉讼情况\n五、存在的主要问题及改进措施")
    assert looks_like_report(doc(text), {"tables": {}})
    plan = doc("一、主动公开政府信息\n二、依申请公开\n三、行政复议和行政诉讼", title="2023年政务公开工作要点")
    assert not looks_like_report(plan, {"tables": {}})


# --------------------------------------------------------------------------- the shared corpus

GOLD = sorted(SHARED.glob("gold/*.json")) if SHARED.exists() else []


@pytest.mark.skipif(not GOLD, reason="shared corpus not available")
@pytest.mark.parametrize("gold_path", [g for g in GOLD if "scan" not in g.name], ids=lambda p: p.stem)
def test_meta_matches_gold(gold_path):
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    path = SHARED / gold["document"]
    d = extract(path.read_bytes(), filename=path.name)
    m = read_meta(d)
    got = (m["agency"], m["year"], m["script"], m["published"], m["admin_level"],
           m["region"]["province"], m["region"]["city"], m["agency_kind"])
    want = (gold["agency"], gold["year"], gold["script"], gold["published"], gold["admin_level"],
            gold["region"]["province"], gold["region"].get("city"), gold["agency_kind"])
    assert got == want
