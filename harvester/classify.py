"""Which links are annual disclosure reports, which are look-alikes, which lead to more of them.

Pure functions of a link's text and URL (and, for fetched pages, of the parsed record), each
returning a decision with a reason a user can audit in the `candidates` table. Knowledge of
what reports are called lives here, not in the spider.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from parsers.normalise import to_simplified

# Decisions
REPORT = "report"            # an annual report page or file: fetch and parse it
ATTACHMENT = "attachment"    # a file on a report page: fetch and parse it
COLUMN = "column"            # a nested column (departments, townships, a year): walk it
PAGER = "pager"              # the next page of the current list
SECTION = "section"          # a site's disclosure section (政务公开, 信息公开目录): walked from hub pages only
TWIN = "twin"                # print/mobile/big5 rendering of a report page: fetch, dedup merges it
REJECT = "reject"            # a look-alike: recorded, not fetched
IGNORE = "ignore"            # ordinary navigation: neither fetched nor recorded

FILE_EXTENSIONS = ("pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "ofd", "jpg", "jpeg", "png",
                   "tif", "tiff", "txt", "rtf")
FILE_EXT_RE = re.compile(r"\.(%s)(?:$|[?#&])" % "|".join(FILE_EXTENSIONS), re.I)
# Download handlers hide the file type (PORTALS.md, "Attachments and formats").
DOWNLOAD_HANDLER_RE = re.compile(
    r"(downfile|download|downloadfile|filedown|getfile|fileserver/down|attach(ment)?/)", re.I)

# What an annual government-information-disclosure report is called (after t2s + NFKC).
# Lists often cut titles short ("…2023年政府信息公开工作年度…"): a dated, cut title still counts,
# and the content verdict after parsing has the last word.
REPORT_TITLE_RE = re.compile(
    r"(政府|政务)?信息公开(工作)?(年度|年)?(工作)?(报告|年报)"
    r"|(政府|政务)?信息公开.{0,6}年度报告"
    r"|公开年报"
    r"|(19|20)\d{2}年?度?.{0,12}信息公开(工作)?(年度|年)?.{0,2}(…|\.\.\.)$"
)
# Look-alikes, each with the reason it is not a report (first match wins).
LOOKALIKES = [
    (re.compile(r"预算|决算"), "budget or final accounts (部门预算/决算)"),
    (re.compile(r"工作要点|要点"), "work plan (工作要点)"),
    (re.compile(r"法治政府"), "rule-of-law report (法治政府建设年度报告)"),
    (re.compile(r"网站.{0,6}(年度)?报表|网站工作年度"), "website annual statement (网站工作年度报表)"),
    (re.compile(r"工作总结"), "annual work summary (年度工作总结)"),
    (re.compile(r"通知|编制|做好|印发|报送|征集|转发|公告|公示|的函"), "notice about the reports, not a report"),
    (re.compile(r"指南"), "disclosure guide (信息公开指南)"),
    (re.compile(r"制度|办法|规定"), "rules or system document"),
    (re.compile(r"解读|图解|问答"), "explainer of a report, not the report"),
    (re.compile(r"统计公报|国民经济"), "statistical communique"),
    (re.compile(r"计划|方案|意见"), "plan or opinion document"),
]
PAGER_TEXT_RE = re.compile(r"^(下一?页|下页|尾页|末页|上一?页|首页|前页|后页|[>›»]+|[<‹«]+|\d{1,4})$")
PAGER_URL_RE = re.compile(
    r"(index|list|default)_\d+\.s?html?$|[?&](page|pageno|pageindex|curpage|p|pagenum|page_no)=\d+",
    re.I)
COLUMN_TEXT_RE = re.compile(
    r"(政府)?信息公开年(度)?报|年度报告|年报|^(19|20)\d{2}年?度?$|^(19|20)\d{2}年度?(报告|年报)?$"
    r"|部门|乡镇|街道|镇街|区县|县区|市直|本级|下级|直属")
# Menu entries leading from a site's home page to its disclosure section and catalogue tree, where
# the 年报 column lives (PORTALS.md: 政府信息公开专栏 → 法定主动公开内容 / 年报). Exact menu labels only.
SECTION_TEXT_RE = re.compile(
    r"^(政务公开|信息公开|政府信息公开|政务信息公开|政府信息公开专栏|政府信息公开平台|政务公开专栏|信息公开专栏"
    r"|(政府)?信息公开目录|法定主动公开内容|主动公开|主动公开目录|基层政务公开|公开目录)$")
COLUMN_URL_RE = re.compile(r"/(xxgknb|zfxxgknb|gknb|ndbg|nb|ndgzbg|xxgkndbg)(/|\b)|/col/col\d+", re.I)
TWIN_TEXT_RE = re.compile(r"^(打印(本页|页面|版)?|打印预览|手机版|移动版|手机浏览|繁体(版|中文)?|繁體(版|中文)?|正体|BIG5)$", re.I)
TWIN_URL_RE = re.compile(r"(_print|_wap|_m|_mobile)\.s?html?$|/gate/big5/|/print/", re.I)
# Columns that are never worth walking from a 年报 column.
NON_REPORT_COLUMN_RE = re.compile(r"wzndbb|zfwzndbb|xxgkzn|xxgkzd|czyjs|yjs|ysjs")




def norm(text: str | None) -> str:
    """Simplified, half-width, no whitespace: the form every rule below is written in."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text)
    return to_simplified(text)


FILE_NAME_TEXT_RE = re.compile(r"\.(%s)\s*[)）]?$" % "|".join(FILE_EXTENSIONS), re.I)


def is_file_url(url: str) -> bool:
    path = urlsplit(url).path + "?" + urlsplit(url).query
    return bool(FILE_EXT_RE.search(path) or DOWNLOAD_HANDLER_RE.search(path))


def is_file_link(text: str | None, url: str) -> bool:
    """A file by its URL, or by its link text ("附件：2023年度报告.pdf" behind /attach/123)."""
    return is_file_url(url) or bool(FILE_NAME_TEXT_RE.search((text or "").strip()))


@dataclass(frozen=True)
class Verdict:
    decision: str
    reason: str


def _lookalike(normalised_title: str) -> str | None:
    for pattern, reason in LOOKALIKES:
        if pattern.search(normalised_title):
            return reason
    return None


def classify_title(title: str | None) -> Verdict:
    """Is a title an annual disclosure report? Look-alikes are rejected with their reason."""
    t = norm(title)
    if not t:
        return Verdict(IGNORE, "no title")
    if not REPORT_TITLE_RE.search(t):
        return Verdict(IGNORE, "title does not name an information-disclosure report")
    reason = _lookalike(t)
    if reason:
        return Verdict(REJECT, reason)
    return Verdict(REPORT, "title names an information-disclosure annual report")


def classify_link(text: str | None, url: str, *, on_report_page: bool = False,
                  same_site: bool = True) -> Verdict:
    """Decide what to do with one link found on a list page (or on a report page)."""
    t = norm(text)
    path = urlsplit(url).path.lower()
    if url.startswith(("javascript:", "mailto:", "tel:")):
        return Verdict(IGNORE, "not a link")
    file_like = is_file_link(text, url)
    title = classify_title(text)

    if on_report_page:
        # The same report again: print page, mobile twin, traditional (big5) gateway.
        if not file_like and (TWIN_TEXT_RE.search(t) or TWIN_URL_RE.search(url)):
            return Verdict(TWIN, "another rendering of this report (print, mobile or big5 twin)")
        # On a report page the files are the report's own attachments, unless titled otherwise.
        if file_like:
            reason = _lookalike(t)
            if reason and title.decision != REPORT:
                return Verdict(REJECT, reason)
            return Verdict(ATTACHMENT, "file attached to a report page")
        return Verdict(IGNORE, "navigation on a report page")

    if title.decision == REJECT:
        return title
    lookalike = _lookalike(t)
    if lookalike and (re.search(r"(19|20)\d{2}|报告|年报|报表", t)):
        return Verdict(REJECT, lookalike)        # a dated look-alike: worth recording for audits
    if title.decision == REPORT:
        if not same_site and not file_like:
            return Verdict(IGNORE, "report-like page on another site")
        # A generic title with no year ("部门信息公开年报（地方税务局）") names a column, not a report.
        if not re.search(r"(19|20)\d{2}", t) and not file_like and len(t) <= 30:
            return Verdict(COLUMN, "column named like the annual-report column")
        return Verdict(REPORT, title.reason)
    if not same_site:
        return Verdict(IGNORE, "off-site link")
    if PAGER_TEXT_RE.match(t) or (not t and PAGER_URL_RE.search(url)):
        return Verdict(PAGER, "pagination link")
    if NON_REPORT_COLUMN_RE.search(path):
        return Verdict(IGNORE, "a column that holds other documents")
    if lookalike:
        return Verdict(IGNORE, lookalike)
    if SECTION_TEXT_RE.match(t):
        return Verdict(SECTION, "menu entry of the site's disclosure section")
    if t and len(t) <= 16 and COLUMN_TEXT_RE.search(t):
        return Verdict(COLUMN, "nested column (year, department or township)")
    if COLUMN_URL_RE.search(path) and not file_like and re.search(r"(/|index\.s?html?|/col/col\d+.*)$", path) \
            and len(t) <= 16:
        return Verdict(COLUMN, "URL of an annual-report column")
    if PAGER_URL_RE.search(url) and len(t) <= 4:
        return Verdict(PAGER, "pagination URL")
    return Verdict(IGNORE, "not a report, column or pager")


def verdict_after_parse(record: dict) -> Verdict:
    """The final word, from the document's content: a fetched candidate may still not be a report."""
    if record.get("is_report"):
        return Verdict(REPORT, "content: parsed as an annual disclosure report")
    kinds = {e.get("kind") for e in record.get("errors", [])}
    return Verdict(REJECT, "content: not a report (" + ", ".join(sorted(k for k in kinds if k)) + ")")
