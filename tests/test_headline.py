"""Pre-2019 headline figures: only what the text states."""
from __future__ import annotations

from parsers.headline import read_headline


def test_stated_figures_and_zero_sentence():
    text = ("2018年1月1日至12月31日,共主动公开信息1670条,其中规范性文件4条。"
            "今年以来受理信息公开申请18起,均依法按时办结。"
            "本年度无因政府信息公开申请提起的行政复议、行政诉讼。建议提案75件。")
    assert read_headline(text) == {"proactive_items": 1670, "requests_received": 18,
                                   "reconsideration_cases": 0, "litigation_cases": 0}


def test_cumulative_and_breakdowns_are_not_headlines():
    text = "累计主动公开政府信息12106条。其中区直各单位主动公开政府信息933条。"
    assert "proactive_items" not in read_headline(text)


def test_total_made_then_其中_proactive():
    text = "2012年制作、获取政府信息总数3978条，其中主动公开政府信息2026条，作为依申请公开信息数46条。"
    assert read_headline(text)["proactive_items"] == 2026


def test_numbers_broken_by_line_wraps():
    assert read_headline("2013年主动公开政府信息4\n970条。")["proactive_items"] == 4970


def test_fees_and_expenses():
    assert read_headline("依申请提供政府信息暂不收费。")["fees_collected_yuan"] == 0
    assert read_headline("收取检索、复制费用120元。")["fees_collected_yuan"] == 120
    assert "fees_collected_yuan" not in read_headline("产生的政府信息公开费用1万元。")


def test_other_applications_are_not_disclosure_requests():
    text = "共受理申请121510件。2014年全区收到有关政府信息公开的信函申请1条，已受理回复。"
    assert read_headline(text)["requests_received"] == 1


def test_received_reconsideration_and_flattened_table_row():
    text = "收到1份有关政府信息公开行政复议申请已及时处理。统计表 行政复议数 件 0 0 行政诉讼数 件 0 0"
    h = read_headline(text)
    assert h["reconsideration_cases"] == 1         # prose wins over the table
    assert h["litigation_cases"] == 0


def test_nothing_stated():
    assert read_headline("一、概述\n推进政府信息公开工作。") == {}
