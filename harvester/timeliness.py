"""Timeliness as data: the legal deadline of each report and whether it was met.

Sources (read, not remembered):
- 《中华人民共和国政府信息公开条例》 (国务院令第711号, in force 2019-05-15), 第四十九条: departments of
  people's governments at county level and above (县级以上人民政府部门) submit and publish their report of
  the previous year by 1月31日; the disclosure office of a local government at county level and above
  publishes that government's report by 3月31日. Text read at http://www.jianbiaoku.com/webarbs/book/164509/4714387.shtml
  (search tool, pages corpus), and ../shared/domain/README.md §1.
- The 2008 regulation (国务院令第492号), as quoted by 琼府办〔2011〕214号 (http://ask.fsou.com/html/text/lar/173773/17377336.html):
  "各级行政机关应当在每年3月31日前公布本行政机关的政府信息公开工作年度报告" — every organ by 3月31日.
- 国办公开办函〔2019〕60号 (http://en.hongxingpaper.com/n2588035/n2588300/c13587052/content.html): under the
  new regulation the departments' deadline "比以往提前了两个月"; the 2019 reports (published in 2020) are
  the first under it.
Townships (乡镇, 街道) are not named by 第四十九条: no statutory deadline, so no on-time verdict.
"""
from __future__ import annotations

import datetime as dt

NEW_REGULATION_FIRST_YEAR = 2019      # reports on 2019 and later are due under the 2019 regulation


def deadline(year: int | None, admin_level: str | None, agency_kind: str | None) -> tuple[str | None, str]:
    """(ISO date or None, the rule applied) for the report on `year`."""
    if not year:
        return None, "year unknown"
    due_year = int(year) + 1
    if int(year) < NEW_REGULATION_FIRST_YEAR:
        return dt.date(due_year, 3, 31).isoformat(), "2008 条例: every organ by 31 March"
    if admin_level == "township":
        return None, "2019 条例 第四十九条 names no deadline for townships"
    if admin_level not in ("national", "province", "city", "county") or agency_kind not in ("government",
                                                                                             "department"):
        return None, "level or kind unknown"
    if agency_kind == "department":
        return dt.date(due_year, 1, 31).isoformat(), "2019 条例 第四十九条: departments by 31 January"
    if admin_level == "national":
        return None, "2019 条例 第四十九条 names no deadline for the State Council itself"
    return dt.date(due_year, 3, 31).isoformat(), "2019 条例 第四十九条: local governments by 31 March"


def on_time(due: str | None, published: str | None) -> int | None:
    """1 when the date the report states is on or before the deadline, 0 when after; None when either
    is unknown. The date we first saw it (reports.first_seen) stays beside it: it only bounds the
    publication from above, since we may have crawled long after the report appeared."""
    if not due or not published:
        return None
    return int(published[:10] <= due)
