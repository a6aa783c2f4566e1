"""One report per (agency, year): grouping, canonical choice, sightings, versions, agencies.

Built on a real SQLite file with raw rows as the crawl writes them; `rebuild` derives the rest."""
import json

import pytest

from harvester import db as dbmod
from harvester.reports import rebuild

BOILERPLATE = ("一、总体情况 本机关按照条例要求认真做好政府信息公开工作，全年主动公开政府信息，"
               "依申请公开办理规范，政府信息管理持续加强，平台建设不断完善，监督保障有力。" * 6)


def record(agency, year, cells=None, text=BOILERPLATE, fmt="html", script="simplified", ocr=False):
    cells = cells or {}
    return {"agency": agency, "year": year, "template": "2021", "script": script, "published": None,
            "region": {"province": "浙江省", "city": "舟山市", "county": "定海区", "township": None},
            "admin_level": "county", "agency_kind": "government",
            "tables": {"t2": False, "t3": bool(cells), "t4": False}, "cells": cells, "headline": {},
            "checks_failed": [], "sections": {"1": text[:50]}, "errors": [], "format": fmt, "ocr": ocr,
            "title": f"{agency}{year}年政府信息公开工作年度报告", "is_report": True, "text": text}


class Crawl:
    def __init__(self, path):
        self.db = dbmod.open_db(path)
        self.clock = 0

    def fetch(self, url, sha, rec, run=1, referrer=None, kind="page"):
        self.clock += 1
        stamp = f"2026-01-01T00:00:{self.clock:02d}+00:00"
        self.db["documents"].upsert({"sha256": sha, "size": 1, "first_fetched": stamp, "last_fetched": stamp,
                                     "blob_path": "x"}, pk="sha256")
        self.db["urls"].upsert({"url": url, "sha256": sha, "kind": kind, "referrer": referrer, "portal": "p",
                                "first_seen": stamp, "last_seen": stamp, "status": 200}, pk="url")
        self.db["fetches"].insert({"url": url, "sha256": sha, "run_id": run, "fetched_at": stamp, "status": 200})
        if rec is not None:
            dbmod.write_parse(self.db, sha, rec)


@pytest.fixture
def crawl(tmp_path):
    return Crawl(tmp_path / "ogi.db")


def test_formats_mirror_and_suffix_variants_are_one_report(crawl):
    cells = {"t3.new_received.total": 5}
    crawl.fetch("http://h/a.html", "a" * 64, record("定海区人民政府", 2022, cells))
    crawl.fetch("http://h/a.pdf", "b" * 64, record("定海区人民政府", 2022, cells, fmt="pdf"),
                referrer="http://h/a.html", kind="attachment")
    crawl.fetch("http://mirror/big5/a.html", "c" * 64, record("定海區人民政府", 2022, script="traditional"))
    crawl.fetch("http://agg/x.html", "d" * 64, record("定海区", 2022, cells))
    rebuild(crawl.db)
    reports = list(crawl.db.query("select * from reports"))
    assert len(reports) == 1
    report = reports[0]
    assert report["canonical_sha256"] == "a" * 64            # tables + original + page beats file
    assert "canonical rule" in report["canonical_reason"]
    urls = {r["url"] for r in crawl.db.query("select url from sightings")}
    assert urls == {"http://h/a.html", "http://h/a.pdf", "http://mirror/big5/a.html", "http://agg/x.html"}
    assert report["n_documents"] == 4
    agency = crawl.db["agencies"].get("定海区人民政府")
    assert set(json.loads(agency["aliases"])) == {"定海区人民政府", "定海區人民政府", "定海区"}
    assert agency["parent"] == "舟山市人民政府"


def test_identical_boilerplate_of_two_agencies_is_never_merged(crawl):
    crawl.fetch("http://h/1.html", "1" * 64, record("甲镇人民政府", 2022))
    crawl.fetch("http://h/2.html", "2" * 64, record("乙镇人民政府", 2022))
    rebuild(crawl.db)
    assert crawl.db["reports"].count == 2


def test_unattributed_copy_joins_the_report_it_duplicates_in_the_same_year(crawl):
    crawl.fetch("http://h/1.html", "1" * 64, record("甲镇人民政府", 2022))
    crawl.fetch("http://h/copy.html", "3" * 64, record(None, 2022, text=BOILERPLATE + "【打印本页】【关闭窗口】"))
    crawl.fetch("http://h/other.html", "4" * 64, record(None, 2022, text="完全不同的内容。" * 40))
    rebuild(crawl.db)
    assert crawl.db["reports"].count == 2
    statuses = {r["parse_status"] for r in crawl.db.query("select parse_status from reports")}
    assert statuses == {"no_tables", "unattributed"}     # 2021 template without tables


def test_replaced_bytes_make_a_new_version_with_changed_cells(crawl):
    crawl.fetch("http://h/r.html", "5" * 64, record("甲镇人民政府", 2022, {"t3.new_received.total": 5,
                                                                       "t3.granted.total": 5}), run=1)
    crawl.fetch("http://h/r.html", "6" * 64, record("甲镇人民政府", 2022, {"t3.new_received.total": 6,
                                                                       "t3.granted.total": 5}), run=2)
    rebuild(crawl.db)
    report = list(crawl.db.query("select * from reports"))[0]
    assert report["n_versions"] == 2 and report["canonical_sha256"] == "6" * 64
    assert [r["is_latest"] for r in crawl.db.query("select is_latest from report_versions order by version")] == [0, 1]
    changes = list(crawl.db.query("select cell_id, old_value, new_value from cell_changes"))
    assert changes == [{"cell_id": "t3.new_received.total", "old_value": 5, "new_value": 6}]
    value = crawl.db.execute("select value from cells where cell_id = 't3.new_received.total'").fetchone()[0]
    assert value == 6


def test_rebuild_is_repeatable(crawl):
    crawl.fetch("http://h/1.html", "1" * 64, record("甲镇人民政府", 2022, {"t3.new_received.total": 1}))
    first = rebuild(crawl.db)
    assert rebuild(crawl.db) == first


def test_cells_keep_how_they_were_read_and_parse_status_says_it(crawl):
    ocr = {"engines": {"tesseract": {"text": "5", "confidence": 91.0},
                       "rapidocr": {"text": "5", "confidence": 0.99}}, "decided": "tesseract+rapidocr 0.99"}
    cases = {
        "甲镇人民政府": ({"t3.new_received.total": {"how": "table_cell", "page": 3, "box": [243.8, 151.3, 520.0, 187.1]}},
                   [], False, "ok"),
        "乙镇人民政府": ({"t3.new_received.total": {"how": "ocr", "page": 2, "box": [1.0, 2.0, 3.0, 4.0], "ocr": ocr}},
                   [], True, "ocr"),
        "丙镇人民政府": ({"t3.new_received.total": {"how": "inferred", "note": "the one plausible stock and flow"}},
                   [{"kind": "cells_run_together", "message": "read as 69|3|665; check the source"}], False, "inferred"),
        "丁镇人民政府": ({"t3.new_received.total": {"how": "split"}},
                   [{"kind": "cells_run_together", "message": "read"},
                    {"kind": "cell_unreadable", "message": "table 3 row granted: left unread"}], False, "errors"),
    }
    for n, (agency, (prov, errors, is_ocr, _)) in enumerate(cases.items()):
        rec = record(agency, 2022, {"t3.new_received.total": 5}, ocr=is_ocr)
        rec.update(provenance=prov, errors=errors)
        crawl.fetch(f"http://h/{n}.html", str(n) * 64, rec)
    rebuild(crawl.db)
    status = {r["agency"]: r["parse_status"] for r in crawl.db.query("select agency, parse_status from reports")}
    assert status == {agency: want for agency, (*_, want) in cases.items()}
    rows = {r["agency"]: r for r in crawl.db.query(
        "select r.agency, c.how, c.page, c.box, c.ocr, c.note from cells c join reports r on r.id = c.report_id")}
    assert rows["甲镇人民政府"]["how"] == "table_cell" and rows["甲镇人民政府"]["page"] == 3
    assert json.loads(rows["甲镇人民政府"]["box"]) == [243.8, 151.3, 520.0, 187.1]
    assert json.loads(rows["乙镇人民政府"]["ocr"]) == ocr
    assert rows["丙镇人民政府"]["note"] == "the one plausible stock and flow" and rows["丙镇人民政府"]["page"] is None
