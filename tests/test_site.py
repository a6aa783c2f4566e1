"""The published site, end to end: fixture database -> prepare -> real Datasette over HTTP -> checks.

The fixture (tests/site_fixtures.py) always has in-repo synthetic reports, and adds the gold records of
the shared corpus when it is present, so nothing here skips.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_fixtures import (XSS_IMG, XSS_SCRIPT, build_fixture_db, free_port, search_oracle,  # noqa: E402
                           start_server, stop_server)

from harvester import site_metadata as sm  # noqa: E402
from harvester.export import export  # noqa: E402
from harvester.publish import bigram_text, needs_prepare, prepare, zh_fts  # noqa: E402

DB_NAME = "ogi"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    db = tmp / f"{DB_NAME}.db"
    info = build_fixture_db(db)
    assert needs_prepare(db)
    prepare(db)
    port = free_port()
    proc = start_server(db, port)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        yield dict(info, db=db, client=client, tmp=tmp, base=f"http://127.0.0.1:{port}")
    finally:
        client.close()
        stop_server(proc)


def get(site, path, **params):
    r = site["client"].get(path, params=params or None)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    return r


def rows(site, path, **params):
    params.setdefault("_shape", "objects")
    params.setdefault("_size", "max")
    return get(site, path + ".json", **params).json()["rows"]


# ---------------------------------------------------------------------------------------------- prepare

def test_prepare_is_idempotent(site):
    assert not needs_prepare(site["db"])
    assert "already prepared" in prepare(site["db"])
    # Rebuild on a copy: the served file is immutable and must not change under the server.
    db = site["tmp"] / "copy.db"
    db.write_bytes(site["db"].read_bytes())
    conn = sqlite3.connect(db)
    before = {t: conn.execute(f"select count(*) from {t}").fetchone()[0]
              for t in ("t3", "t4", "t2_2021", "t2_2019", "report_figures", "cell_labels")}
    conn.close()
    prepare(db, force=True)
    prepare(db, force=True)
    conn = sqlite3.connect(db)
    after = {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in before}
    assert before == after
    n_fts = conn.execute("select count(*) from reports_fts").fetchone()[0]
    assert n_fts == conn.execute("select count(*) from reports").fetchone()[0]
    conn.close()


def test_wide_tables_match_cells(site):
    conn = sqlite3.connect(site["db"])
    conn.row_factory = sqlite3.Row
    cells = {(r["report_id"], r["cell_id"]): r["value"] for r in conn.execute("select * from cells")}
    for r in conn.execute("select * from t4"):
        for b in sm.T4_BLOCKS:
            for c in sm.T4_COLUMNS:
                assert r[f"{b}_{c}"] == cells[(r["report_id"], f"t4.{b}.{c}")]
    for r in conn.execute("select * from t3"):
        assert r["row_label"], r["row"]
        for c in sm.T3_COLUMNS:
            assert r[c] == cells[(r["report_id"], f"t3.{r['row']}.{c}")]
    for tpl in ("2021", "2019"):
        n_rows = len(sm.t3_rows(tpl))
        for (rid, n) in conn.execute("select t.report_id, count(*) from t3 t join reports r on r.id = t.report_id "
                                     "where r.template = ? group by t.report_id", [tpl]):
            assert n == n_rows, (rid, n)
    # key figures: denied is the sum of the eight （三） rows, each row's 总计 or, printed blank beside
    # printed parts, the parts' sum
    def row_total(rid, row):
        total = cells.get((rid, f"t3.{row}.total"), 0)
        parts = sum(cells.get((rid, f"t3.{row}.{c}"), 0) for c in sm.T3_COLUMNS if c != "total")
        return parts if not total and parts else total

    for r in conn.execute("select * from report_figures where results_total is not null"):
        denied = sum(row_total(r["report_id"], row) for row in sm.result_rows("2021") if row.startswith("denied_"))
        assert r["denied"] == denied
        assert r["requests_new"] == cells[(r["report_id"], "t3.new_received.total")]
    # labels come from the codebook
    label = conn.execute("select row_label from cell_labels where template='2021' and cell_id='t3.unable_not_held.total'"
                         ).fetchone()[0]
    assert label == "1.本机关不掌握相关政府信息"
    conn.close()


# ---------------------------------------------------------------------------------------------- search

def test_bigram_query_is_safe():
    # FTS syntax in user input never reaches FTS5 as syntax
    assert zh_fts('复议 OR "x') == '"复议" "or" "x"'
    assert zh_fts("") and zh_fts("，。") == zh_fts("")
    assert bigram_text("行政复议") == "行政 政复 复议 议"


SEARCHES = [
    # (query, ids that must be among the hits, ids that must not)
    ("复议", {"syn-fixture-b-2021"}, {"syn-fixture-a-2022"}),       # 2 chars; fixture-a has 答复…建议 only
    ("诉讼", {"syn-fixture-b-2021"}, {"syn-fixture-a-2022", "syn-fixture-c-2023"}),
    ("罚款", {"syn-fixture-c-2023"}, {"syn-fixture-b-2021"}),
    ("处理费", {"syn-fixture-a-2022"}, {"syn-fixture-b-2021"}),      # 3 chars
    ("行政复议", {"syn-fixture-b-2021"}, {"syn-fixture-a-2022"}),    # 4 chars
    ("信息处理费", {"syn-fixture-a-2022"}, set()),
    ("司法局", {"syn-fixture-b-2021"}, {"syn-fixture-a-2022"}),      # agency names
    ("合成县司法局", {"syn-fixture-b-2021"}, set()),
    ("大数据中心", {"syn-fixture-d-2020"}, set()),
    ("舟山", {"syn-fixture-b-2021"}, set()),                         # region
    ("罚款 福州", {"syn-fixture-c-2023"}, set()),                    # two words: AND
]


@pytest.mark.parametrize("query,must,must_not", SEARCHES)
def test_search_box_finds_exactly_the_reports_containing_the_word(site, query, must, must_not):
    hits = {r["id"] for r in rows(site, f"/{DB_NAME}/reports", _search=query)}
    expected = search_oracle(site["records"], query)
    assert hits == expected, (query, hits ^ expected)
    assert must <= hits
    assert not (must_not & hits)


def test_search_gold_words(site):
    if not site["n_gold"]:
        pytest.skip("no shared gold corpus")
    for query in ("平潭", "复议", "大数据局", "淄博市大数据局", "政府信息公开", "处理费"):
        hits = {r["id"] for r in rows(site, f"/{DB_NAME}/reports", _search=query)}
        assert hits == search_oracle(site["records"], query), query
    hits = {r["id"] for r in rows(site, f"/{DB_NAME}/reports", _search="大数据局")}
    assert "zibo-bigdata-2023" in hits and "qingdao-bigdata-2020" not in hits  # 大数据发展管理局 is not 大数据局
    # a traditional-script mirror is found by the simplified word
    hits = {r["id"] for r in rows(site, f"/{DB_NAME}/reports", _search="行政复议")}
    assert "dinghai-2022-mirror" in hits


def test_search_box_html(site):
    html = get(site, f"/{DB_NAME}/reports", _search="复议").text
    assert 'value="复议"' in html
    assert "syn-fixture-b-2021" in html and "syn-fixture-a-2022" not in html
    for odd in ('"', 'a"b', "*", "NEAR(", "()", "-", "复 议", "，。", "OR", "{s1}:复议"):
        get(site, f"/{DB_NAME}/reports.json", _search=odd)  # never an FTS syntax error


# ---------------------------------------------------------------------------------------------- pages

def test_home_page(site):
    html = get(site, "/").text
    assert "政府信息公开工作年度报告" in html
    assert "Caveats" in html and "空白即零" in html and "CC BY 4.0" in html
    n = len(site["reports"])
    assert f"<strong>{n:,}</strong> 份报告" in html  # coverage is computed
    for name in sm.hand_written()["database"]["queries"]:
        assert f"/{DB_NAME}/{name}" in html


FACETS = ["province", "city", "admin_level", "year", "template", "agency_kind", "format", "parse_status",
          "has_failed_identity"]


def test_facets(site):
    data = get(site, f"/{DB_NAME}/reports.json").json()
    facets = data["facet_results"]
    facets = facets.get("results", facets)
    assert set(FACETS) <= set(facets), set(facets)
    html = get(site, f"/{DB_NAME}/reports").text
    for f in FACETS:
        assert f'data-column="{f}"' in html or f"facet-{f}" in html or f">{f}<" in html
    # a facet filter works together with search
    r = rows(site, f"/{DB_NAME}/reports", _search="罚款", province="福建省")
    assert [x["id"] for x in r] == ["syn-fixture-c-2023"]
    # facets of a search (computed in one pass, site_plugin.BatchedColumnFacet) count the matches exactly
    data = get(site, f"/{DB_NAME}/reports.json", _search="复议").json()
    facets = data["facet_results"]
    facets = facets.get("results", facets)
    hits = search_oracle(site["records"], "复议")
    by_id = {r[0]["id"]: r[0] for r in site["records"]}
    for col in ("province", "year", "template"):
        expected = {}
        for rid in hits:
            v = by_id[rid].get(col)
            if v is not None:
                expected[v] = expected.get(v, 0) + 1
        got = {f["value"]: f["count"] for f in facets[col]["results"]}
        assert got == expected, col
    failing = {x["id"] for x in rows(site, f"/{DB_NAME}/reports", has_failed_identity=1)}
    assert "syn-fixture-c-2023" in failing and "syn-fixture-a-2022" not in failing


QUERY_PARAMS = {"year": "2023", "province": "", "agency": "行政审批", "q": "复议", "section": "4"}


def _query_params(sql: str) -> dict:
    return {n: QUERY_PARAMS.get(n, "") for n in set(re.findall(r":(\w+)", sql))}


def test_canned_queries_run_and_download_as_csv(site):
    queries = sm.hand_written()["database"]["queries"]
    assert len(queries) >= 8
    for name, q in queries.items():
        assert q.get("title") and q.get("description"), name
        params = _query_params(q["sql"])
        r = get(site, f"/{DB_NAME}/{name}.csv", _dl="1", **params)
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers.get("content-disposition", "")
        table = list(csv.reader(io.StringIO(r.text)))
        assert table and table[0], name
        html = get(site, f"/{DB_NAME}/{name}", **params).text
        assert q["title"].split(" · ")[0] in html


def _q(site, name, **params):
    return rows(site, f"/{DB_NAME}/{name}", **params)


def test_canned_query_answers(site):
    lost = {r["report_id"] for r in _q(site, "cases_lost", year="")}
    assert "syn-fixture-b-2021" in lost and "syn-fixture-a-2022" not in lost
    failing = {r["report_id"] for r in _q(site, "tables_not_adding_up", year="")}
    assert "syn-fixture-c-2023" in failing
    if site["n_gold"]:
        assert {"qingdao-bigdata-2020", "shanghai-gov-office-2019"} <= failing
    missing = {r["report_id"] for r in _q(site, "missing_tables", year="")}
    assert "syn-fixture-e-2022" in missing and "syn-fixture-a-2022" not in missing
    absent_2023 = {r["机关 agency"] for r in _q(site, "missing_year", year="2023")}
    assert "合成市行政审批服务局" in absent_2023 and "合成区市场监督管理局" not in absent_2023
    years = [r["年度 year"] for r in _q(site, "agency_over_time", agency="行政审批")]
    assert years == [2021, 2022]
    in_4 = {r["report_id"] for r in _q(site, "section_search", section="4", q="复议")}
    in_1 = {r["report_id"] for r in _q(site, "section_search", section="1", q="复议")}
    assert "syn-fixture-b-2021" in in_4 and "syn-fixture-b-2021" not in in_1
    top = _q(site, "top_agencies_by_requests", year="", province="")
    values = [r["新收申请 new requests"] for r in top]
    assert values == sorted(values, reverse=True)
    conn = sqlite3.connect(site["db"])
    total = conn.execute("select sum(value) from cells where cell_id = 't3.new_received.total'").fetchone()[0]
    conn.close()
    assert sum(values) == total
    rates = _q(site, "refusal_rates", province="", include_failing="")
    assert rates and all(r["办理 handled"] is not None for r in rates)


def test_figures_never_rest_on_a_blank_total(site):
    """A 总计 printed blank beside printed parts (Shanghai 2019's result rows): the key figures use the
    parts' sum and say so; the denial rate leaves such a report out (its identities fail) unless asked,
    and then shows its real denials, never 0.0%."""
    conn = sqlite3.connect(site["db"])
    cells = dict(conn.execute("select cell_id, value from cells where report_id = 'syn-fixture-f-2019'").fetchall())
    fig = dict(zip(*[[d[0] for d in conn.execute("select * from report_figures where report_id = "
                                                  "'syn-fixture-f-2019'").description],
                     conn.execute("select * from report_figures where report_id = 'syn-fixture-f-2019'").fetchone()]))
    conn.close()
    parts = [c for c in sm.T3_COLUMNS if c != "total"]
    assert fig["granted"] == sum(cells.get(f"t3.granted.{c}", 0) for c in parts) > 0
    assert fig["denied"] >= 5 and fig["totals_derived"] == 1
    shown = _q(site, "refusal_rates", province="上海市", include_failing="1")
    assert shown and shown[0]["不予公开 denied"] >= 5 and shown[0]["不予公开率% denied %"] > 0
    assert shown[0]["总计求和 totals summed"] >= 1
    strict = _q(site, "refusal_rates", province="上海市", include_failing="")
    assert all(r["报告 reports"] < shown[0]["报告 reports"] for r in strict if r["年度 year"] == 2019)
    cov = _q(site, "coverage")
    assert sum(r["报告 reports"] for r in cov) == len(site["reports"])


def test_report_page(site):
    rid = "syn-fixture-c-2023"
    html = get(site, f"/-/report/{rid}").text
    assert "合成区市场监督管理局" in html
    for label in ("（七）总计", "1.本机关不掌握相关政府信息", "申请人无正当理由逾期不补正", "本年制发件数",
                  "未经复议直接起诉", "结果纠正", "法人或其他组织"):
        assert label in html, label
    assert "t3.results_sum.total" in html  # failing identity listed
    assert "罚款金额5万元" in html            # section text
    m = re.search(r'href="(/-/blob/[0-9a-f]{64})"', html)
    assert m, "link to the stored original"
    blob = get(site, m.group(1))
    assert "sandbox" in blob.headers["content-security-policy"]
    assert "合成区市场监督管理局".encode() in blob.content
    assert "https://www.example.gov.cn/syn-fixture-c-2023.html" in html
    # the reports table links each id to its page
    table = get(site, f"/{DB_NAME}/reports", id=rid).text
    assert f'href="/-/report/{rid}"' in table
    assert site["client"].get("/-/report/no-such-report").status_code == 404
    assert site["client"].get("/-/blob/" + "0" * 64).status_code == 404
    for bad in ("/-/blob/..%2F..%2Fetc%2Fpasswd", "/-/blob/" + "a" * 63, "/-/blob/" + "A" * 64):
        r = site["client"].get(bad, follow_redirects=True)
        assert r.status_code == 404 and "root:" not in r.text, bad


def test_report_page_shows_the_parsers_notes(site):
    html = get(site, "/-/report/syn-fixture-a-2022").text
    assert "cells_run_together" in html and "read as 69|3|665" in html
    assert "&lt;check the source&gt;" in html          # crawled text is escaped


def test_report_page_marks_how_each_value_was_read(site):
    html = get(site, "/-/report/syn-fixture-a-2022").text
    ocr_cell, inferred_cell = site["marked"]
    assert "读取方式 · How each value was read" in html                    # the legend
    assert "扫描件识别（OCR） · read from a scan by OCR" in html and "推断，请核对原文" in html
    m = re.search(r'<td class="ogi-how-ocr" title="([^"]*)">[^<]*<sup class="ogi-mark">识</sup></td>', html)
    assert m and m.group(1).startswith(ocr_cell)
    assert "page 4" in m.group(1) and "243.7, 151.9, 519.8, 186.8 pt" in m.group(1)
    assert "rapidocr: “7” confidence 0.97" in m.group(1) and "tesseract: “7” confidence 90.8" in m.group(1)
    m = re.search(r'<td class="ogi-how-inferred" title="([^"]*)">[^<]*<sup class="ogi-mark">推</sup></td>', html)
    assert m and m.group(1).startswith(inferred_cell) and "&lt;b&gt;check&lt;/b&gt;" in m.group(1)
    assert html.count('class="ogi-how-inferred"') == 2                    # the cell and its legend line


def test_report_page_gold(site):
    if not site["n_gold"]:
        pytest.skip("no shared gold corpus")
    html = get(site, "/-/report/qingdao-bigdata-2020").text
    assert "青岛市大数据发展管理局" in html and "t3.balance.total" in html
    assert "4858.33" in html  # 采购总金额, 万元
    assert "政府集中采购" in html  # 2019 layout


def test_served_immutable(site):
    dbs = get(site, "/-/databases.json").json()
    assert dbs and all(not d["is_mutable"] for d in dbs)


# ---------------------------------------------------------------------------------------------- safety

XSS_PAGES = [
    "/-/report/syn-fixture-xss-2022",
    f"/{DB_NAME}/reports?_search=" + quote("合成"),
    f"/{DB_NAME}/reports/syn-fixture-xss-2022",
    f"/{DB_NAME}/sections?report_id=syn-fixture-xss-2022",
    f"/{DB_NAME}/sightings?report_id=syn-fixture-xss-2022",
    f"/{DB_NAME}/search_reports?q=" + quote("合成"),
    f"/{DB_NAME}/reports_zh",
    "/",
]


@pytest.mark.parametrize("path", XSS_PAGES)
def test_crawled_text_is_never_html(site, path):
    html = get(site, path).text
    for payload in (XSS_SCRIPT, XSS_IMG, "<script>alert", "onerror=alert(1)>", 'href="javascript:'):
        assert payload not in html, (path, payload)


def test_xss_payloads_are_shown_escaped(site):
    html = get(site, "/-/report/syn-fixture-xss-2022").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:alert(1)" in html  # shown as text, not as a link


# ---------------------------------------------------------------------------------------------- metadata

def test_every_column_is_described(site):
    meta = get(site, "/-/metadata.json").json()
    tables = meta["databases"][DB_NAME]["tables"]
    conn = sqlite3.connect(site["db"])
    names = [r[0] for r in conn.execute(
        "select name from sqlite_master where type in ('table', 'view') and name not like 'reports_fts%' "
        "and name not like 'sqlite_%' and name not in ('site_build')")]
    missing = []
    for t in names:
        assert tables.get(t, {}).get("title"), f"no title for {t}"
        cols = tables[t].get("columns", {})
        for (_, c, *_rest) in conn.execute(f"PRAGMA table_info([{t}])"):
            desc = cols.get(c)
            if not desc or " · " not in desc:  # Chinese · English
                missing.append(f"{t}.{c}")
    conn.close()
    assert not missing, missing
    t4 = tables["t4"]["columns"]["reconsideration_corrected"]
    assert "行政复议" in t4 and "结果纠正" in t4 and "件" in t4


# ---------------------------------------------------------------------------------------------- export

def test_export(site):
    out = site["tmp"] / "export"
    summary = export(site["db"], out)
    assert "reports" in summary and "datapackage.json" in summary
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert package["resources"] and package["licenses"]
    names = {r["name"] for r in package["resources"]}
    for t in ("reports", "sightings", "cells", "t3", "t4", "t2_2021", "t2_2019", "report_figures"):
        assert {t, f"{t}-jsonl", f"{t}-parquet"} <= names, t
    import pyarrow.parquet as pq
    for res in package["resources"]:
        assert re.match(r"^[a-z0-9._-]+$", res["name"]), res["name"]
        path = out / res["path"]
        assert path.exists(), res["path"]
        fields = [f["name"] for f in res["schema"]["fields"]]
        assert all(f["type"] in ("string", "integer", "number") for f in res["schema"]["fields"])
        if res["format"] == "csv":
            with open(path, encoding="utf-8", newline="") as fh:
                data = list(csv.reader(fh))
            assert data[0] == fields
            n_csv = len(data) - 1
            assert n_csv == pq.read_table(out / "parquet" / f"{res['name']}.parquet").num_rows
            with open(out / "jsonl" / f"{res['name']}.jsonl", encoding="utf-8") as fh:
                assert sum(1 for _ in fh) == n_csv
    t4 = next(r for r in package["resources"] if r["name"] == "t4")
    field = next(f for f in t4["schema"]["fields"] if f["name"] == "litigation_after_corrected")
    assert field["type"] == "number" and "结果纠正" in field["description"] and field["unit"]
    reports = next(r for r in package["resources"] if r["name"] == "reports")
    assert reports["schema"]["primaryKey"] == ["id"]
    assert all(f.get("description") for f in reports["schema"]["fields"])


# ---------------------------------------------------------------------------------------------- bench

def test_bench_small(tmp_path):
    from harvester.bench_site import build_scale_db, bench_site
    db = build_scale_db(tmp_path / "scale.db", n_reports=400, verbose=False)
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from reports where agency not like '合成%' or id not like 'syn-%'"
                        ).fetchone()[0] == 0
    assert conn.execute("select n_reports from synthetic").fetchone()[0] == 400
    # the generator's failing identities are what the contract's rules say
    assert conn.execute("select count(*) from reports where n_checks_failed > 0").fetchone()[0] > 0
    conn.close()
    results = bench_site(db, repeat=1)
    assert results and all(r["status"] == 200 for r in results), [r for r in results if r["status"] != 200]
    assert {r["page"] for r in results} >= {f"query {q}" for q in sm.hand_written()["database"]["queries"]}
