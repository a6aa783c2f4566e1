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


# Real sentences. Public pages found with the `search` tool are named by their address; corpus
# sentences by their document in ../shared/corpus/docs (a test input only: no code looks at files).

def test_a_whole_2010_report_of_negations_means_zeros():
    """A 2010 report (traditional script) stating no requests, no fees and no cases, from
    https://m.c3e5.com/gongkai/zfxxgk/zfxxgknb/2010nb/szfbm/202009/t20200921_2075034.html"""
    from parsers.normalise import normalise_document

    text = ("二、政府信息主動公開情況\n(一)公開情況\n我局2010年共主動公開政府信息175條,其中全文電子化率達100%。\n"
            "在主動公開的信息中,業務動態類信息175條,占總體的比例為100%。\n"
            "三、政府信息依申請公開情況\n(一)申請情況\n我局2010年度未收到政府信息公開申請。\n"
            "(二)依申請公開政府信息收費情況\n2010年我局未收到政府信息公開申請,因此未產生依申請信息檢索、複印、郵遞等成本費用。\n"
            "(三)依申請公開政府信息減免收費情況\n2010年我局依申請提供政府信息未收取費用,不存在減免情況。\n"
            "(四)與訴訟有關的費用支出\n2010年我局未產生相關訴訟,沒有相應費用支出。\n"
            "六、行政複議和行政訴訟情況\n2010年,未產生針對我局政府信息公開的行政複議與行政訴訟。")
    assert read_headline(normalise_document(text)[0]) == {
        "proactive_items": 175, "requests_received": 0, "fees_collected_yuan": 0,
        "reconsideration_cases": 0, "litigation_cases": 0}


def test_this_years_part_of_a_cumulative_stock_is_the_headline():
    """其中 after a stock to date gives the year's own figure, from the model report on
    https://m.pinggu.org/bbs/thread-15273420-1-1.html (its line breaks inside the numbers kept)."""
    text = "本区到年底累计主动公开政府信息\n5928\n条,全文电子化率达\n90.3%\n,其中,本年度新增主动公开政府信息\n2110\n条。"
    assert read_headline(text)["proactive_items"] == 2110
    # a 其中 of units below the stock is still a breakdown, not the year's figure
    assert "proactive_items" not in read_headline("累计主动公开政府信息12106条,其中区直各单位主动公开政府信息933条。")


def test_information_of_the_year_of_every_kind():
    """主动公开当年生成的各类政府信息N条: the phrasing issue 12 quotes from a pre-2019 report nobody here
    had seen; no public copy of that report was found with the search tool, so this is the issue's quote."""
    assert read_headline("2013年，共主动公开当年生成的各类政府信息47条。")["proactive_items"] == 47
    assert read_headline("主动公开本年度新产生的政府信息120条。")["proactive_items"] == 120


def test_fees_stated_as_none_collected():
    from parsers.normalise import normalise_document

    # ../shared/corpus/docs/zibo-bigdata-2023.txt
    assert read_headline("我局收取的政府信息公开信息处理费为 0 元。")["fees_collected_yuan"] == 0
    # ../shared/corpus/docs/dinghai-2022-mirror.txt (traditional mirror)
    assert read_headline(normalise_document("無政府信息公開信息處理費收取情況。")[0])["fees_collected_yuan"] == 0
    # 未向申请人收取费用: the negation issue 12 quotes; nothing collected, and not a fee of 0 for expenses
    assert read_headline("依申请提供政府信息，未向申请人收取费用。")["fees_collected_yuan"] == 0
    assert "fees_collected_yuan" not in read_headline("政府信息公开工作经费支出3万元。")


def test_cases_stated_as_none():
    # ../shared/corpus/docs/zibo-bigdata-2023.txt
    assert read_headline("未发生行政复议和行政诉讼案件。") == {"reconsideration_cases": 0, "litigation_cases": 0}
    # the negations issue 12 quotes
    h = read_headline("本年度没有发生因政府信息公开引起的行政复议，未发生因政府信息公开引起的行政诉讼。")
    assert h == {"reconsideration_cases": 0, "litigation_cases": 0}
