"""The classifier: reports in, look-alikes out, each with a reason."""
import pytest

from harvester.classify import (ATTACHMENT, COLUMN, IGNORE, PAGER, REJECT, REPORT, classify_link,
                                classify_title, is_file_url)

U = "http://127.0.0.1/xxgknb/202403/t20240308_1.html"


@pytest.mark.parametrize("title", [
    "XX市2023年政府信息公开工作年度报告",
    "XX局2022年度政府信息公开工作报告",
    "XX区人民政府2021年政府信息公开年报",
    "政府信息公開工作年度報告（2019年）",          # traditional mirror
    "２０２３年政府信息公开工作年度报告",            # full-width digits
])
def test_reports_are_reports(title):
    assert classify_link(title, U).decision == REPORT


@pytest.mark.parametrize("title, reason_part", [
    ("XX市2024年部门预算", "预算"),
    ("XX局2023年部门决算公开", "决算"),
    ("2024年政务公开工作要点", "工作要点"),
    ("XX区2023年法治政府建设年度报告", "法治政府"),
    ("XX区2023年政府网站工作年度报表", "网站"),
    ("XX局2023年度工作总结", "工作总结"),
    ("关于做好2023年度政府信息公开工作年度报告编制发布工作的通知", "notice"),
])
def test_lookalikes_are_rejected_with_reason(title, reason_part):
    verdict = classify_link(title, U)
    assert verdict.decision == REJECT
    assert reason_part in verdict.reason


def test_columns_pagers_and_noise():
    assert classify_link("政府信息公开年报", "http://h/xxgknb/").decision == COLUMN
    assert classify_link("2022年", "http://h/xxgknb/2022/").decision == COLUMN
    assert classify_link("乡镇（街道）", "http://h/xxgknb/xz/").decision == COLUMN
    assert classify_link("下一页", "http://h/xxgknb/index_1.html").decision == PAGER
    assert classify_link("3", "http://h/xxgknb/index_2.html").decision == PAGER
    assert classify_link("网站首页", "http://h/").decision == IGNORE


def test_off_site_report_pages_are_not_followed_but_files_on_report_pages_are():
    assert classify_link("XX市2023年政府信息公开工作年度报告", "http://other/x.html",
                         same_site=False).decision == IGNORE
    assert classify_link("附件：2023年度报告.pdf", "http://h/P0.pdf", on_report_page=True).decision == ATTACHMENT
    assert classify_link("", "http://h/download.jsp?filename=abc.pdf", on_report_page=True).decision == ATTACHMENT
    assert classify_link("2024年部门预算.pdf", "http://h/P1.pdf", on_report_page=True).decision == REJECT


def test_file_urls():
    assert is_file_url("http://h/a/P020240801612534470745.pdf")
    assert is_file_url("http://h/module/download/downfile.jsp?classid=0&filename=ab12.docx")
    assert not is_file_url("http://h/a/t20240801_1.html")
    assert classify_title("").decision == IGNORE


def test_cut_titles_and_file_names_in_link_text():
    assert classify_link("XX市2023年政府信息公开工作年度…", U).decision == REPORT
    assert classify_link("附件：2023年度报告.pdf", "http://h/attach/123", on_report_page=True).decision == ATTACHMENT
    assert classify_link("附件：2023年度报告.docx", "http://h/attach/124").decision != ATTACHMENT  # list page: needs a report title
