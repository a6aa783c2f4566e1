"""Section splitting by heading, whatever the numbering style."""
from __future__ import annotations

from parsers.sections import classify_heading, split_sections

REPORT = """本报告根据《条例》编制。
一、总体情况
2023年，我局坚持……
二、主动公开政府信息情况
第二十条第（一）项
三、收到和处理政府信息公开申请情况
一、本年新收政府信息公开申请数量\t1\t0\t0\t0\t0\t0\t1
四、结转下年度继续办理\t0\t0\t0\t0\t0\t0\t0
四、政府信息公开行政复议、行政诉讼情况
行政复议
五、政府信息公开工作存在的主要问题及改进情况
一是……
六、其他需要报告的事项
无。"""


def test_six_sections_and_table_rows_do_not_cut_them():
    s = split_sections(REPORT)
    assert sorted(s) == ["1", "2", "3", "4", "5", "6"]
    assert "结转下年度继续办理" in s["3"]
    assert s["4"].startswith("四、政府信息公开行政复议、行政诉讼情况")
    assert s["6"].endswith("无。")


def test_run_on_mirror_line():
    text = "编制本报告。 一、总体情况 2022年,某区坚持。 二、主动公开政府信息情况 三、收到和处理政府信息公开申请情况"
    s = split_sections(text)
    assert s["1"].startswith("一、总体情况") and "2022年" in s["1"]
    assert set(s) == {"1", "2", "3"}


def test_other_numbering_styles():
    text = "第一部分 总体情况\n内容\n第二部分 主动公开政府信息情况\n内容\n第三部分 其它需要报告的事项\n无"
    s = split_sections(text)
    assert set(s) == {"1", "2", "6"}


def test_pre2019_headings_map_by_key_words():
    text = ("一、概述\n甲\n二、主动公开政府信息情况\n乙\n三、依申请公开政府信息情况\n丙\n"
            "四、政府信息公开的收费及减免情况\n丁\n五、因政府信息公开申请提起行政复议、行政诉讼的情况\n戊\n"
            "六、存在的主要问题和改进措施\n己")
    s = split_sections(text)
    assert set(s) == {"1", "2", "3", "4", "5"}
    assert s["3"] == "三、依申请公开政府信息情况\n丙"     # an unmapped heading (收费) still ends 三
    assert s["4"].startswith("五、因政府信息公开申请提起行政复议")
    assert classify_heading("政府信息公开的收费及减免情况") is None


def test_no_headings():
    assert split_sections("没有任何标题的文字。") == {}
