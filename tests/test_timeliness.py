"""Legal deadlines (条例 第四十九条; the 2008 rule before the 2019 reports) and the on-time verdict,
then the same figures through a real crawl's database and the site's canned query."""
from __future__ import annotations

import sqlite_utils

from harvester.timeliness import deadline, on_time


def test_deadlines_by_regulation_level_and_kind():
    assert deadline(2023, "city", "department")[0] == "2024-01-31"
    assert deadline(2023, "province", "government")[0] == "2024-03-31"
    assert deadline(2019, "county", "department")[0] == "2020-01-31"      # first year under the 2019 rules
    assert deadline(2018, "county", "department")[0] == "2019-03-31"      # 2008 rules: every organ
    assert deadline(2023, "national", "department")[0] == "2024-01-31"
    assert deadline(2023, "township", "government") == (None, "2019 条例 第四十九条 names no deadline for townships")
    assert deadline(2023, None, "department")[0] is None
    assert deadline(None, "city", "department")[0] is None


def test_on_time_compares_the_stated_date():
    assert on_time("2024-01-31", "2024-01-31") == 1
    assert on_time("2024-01-31", "2024-02-01") == 0
    assert on_time("2024-01-31", None) is None
    assert on_time(None, "2024-01-01") is None


def test_every_crawled_report_has_its_deadline(crawled):
    db = sqlite_utils.Database(crawled["db"])
    rows = list(db.query("select year, admin_level, agency_kind, published, deadline, deadline_rule, on_time "
                         "from reports"))
    assert rows
    for r in rows:
        due, rule = deadline(r["year"], r["admin_level"], r["agency_kind"])
        assert (r["deadline"], r["deadline_rule"], r["on_time"]) == (due, rule, on_time(due, r["published"]))
    assert any(r["on_time"] is not None for r in rows)
