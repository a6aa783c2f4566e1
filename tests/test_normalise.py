"""Normalisation: pinyin glosses, traditional script, NFKC, cells and layout junk."""
from __future__ import annotations

from parsers.normalise import (is_traditional, normalise_cell, normalise_document, normalise_text,
                               strip_pinyin_glosses)


def test_pinyin_glosses_are_stripped():
    assert strip_pinyin_glosses("數(shù)據(jù)、區(qū)、關(guān)") == "數據、區、關"


def test_bracketed_ascii_that_is_not_a_gloss_stays():
    assert strip_pinyin_glosses("报告(PDF)和(ab)") == "报告(PDF)和(ab)"


def test_traditional_is_detected_and_converted():
    text, script = normalise_document("本報告所列數(shù)據(jù)的統計期限為2022年1月1日至2022年12月31日")
    assert script == "traditional"
    assert text == "本报告所列数据的统计期限为2022年1月1日至2022年12月31日"


def test_simplified_stays_simplified():
    text = "本报告所列数据的统计期限为2022年1月1日至2022年12月31日，于本年度发布。"
    assert not is_traditional(text)
    assert normalise_document(text)[1] == "simplified"


def test_nfkc_and_zero_width():
    assert normalise_text("（一）予以公开\u200b１２") == "(一)予以公开12"


def test_其它_is_not_unified_in_text():
    assert normalise_text("六、其它需要报告的事项") == "六、其它需要报告的事项"


def test_cells_collapse_whitespace_and_keep_tabs():
    assert normalise_text("商业\u3000 企业\t\t 0\u00a0\t科研") == "商业 企业\t\t0\t科研"
    assert normalise_cell(" 商业\n企业 ") == "商业 企业"


def test_pipe_runs_become_line_breaks():
    assert normalise_text("一、总体情况" + "|" * 350 + "二、主动公开") == "一、总体情况\n二、主动公开"
    assert normalise_text("本年增/减 a|b") == "本年增/减 a|b"
