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
from urllib.parse import quote, unquote

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
    assert field["type"] == "integer" and "结果纠正" in field["description"] and field["unit"]  # a count
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
    # the search page over real HTTP, p50/p95 of 20 requests per query (the numbers are the bench's job)
    from harvester.bench_site import SEARCH_WORDS, bench_search
    timed = bench_search(db, requests=20, filters=False)
    assert [r["n"] for r in timed[:-1]] == [20] * len(SEARCH_WORDS) and all(r["status"] == 200 for r in timed)
    assert timed[-1]["n"] == 20 * len(SEARCH_WORDS) and timed[-1]["p95_ms"] >= timed[-1]["p50_ms"]


# ---------------------------------------------------------------------------------------------- downloads

def test_downloads_have_labelled_headers_and_a_bom(site):
    """CSV for Excel: UTF-8 BOM, codebook labels next to cell ids; same rows as the raw CSV; JSON names the
    labels; XLSX has the same headers and integer counts."""
    import openpyxl

    raw = get(site, f"/{DB_NAME}/t4.csv", _size="max", _stream="on").content
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw_rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    lab = get(site, f"/{DB_NAME}/t4.csv", _size="max", _stream="on", _labels="on", _bom="on", _dl="1")
    assert lab.content.startswith(b"\xef\xbb\xbf") and "attachment" in lab.headers["content-disposition"]
    lab_rows = list(csv.reader(io.StringIO(lab.content.decode("utf-8-sig"))))
    cells = {d["wide_column"]: d for d in sm.labels_for("2021", "t4")}
    expected = [f"{cells[c]['label_zh']} · {cells[c]['cell_id']}" if c in cells else c for c in raw_rows[0]]
    assert lab_rows[0][raw_rows[0].index("report_id")] == "报告编号 · report_id"
    assert lab_rows[0][raw_rows[0].index("agency")] == "机关名称 · agency"
    assert lab_rows[0][raw_rows[0].index("reconsideration_upheld")] == \
        "行政复议 / 结果维持 · t4.reconsideration.upheld"
    assert [h for h in lab_rows[0] if "· t4." in h] == [h for h in expected if "· t4." in h]
    assert lab_rows[1:] == raw_rows[1:] and len(raw_rows) > 2
    # BOM alone keeps the code names; a canned query's Chinese names stay as written
    assert get(site, f"/{DB_NAME}/t4.csv", _bom="on").text.lstrip("\ufeff").startswith("rowid,report_id,")
    q = get(site, f"/{DB_NAME}/cases_lost.csv", year="", _labels="on").text.splitlines()[0].split(",")
    assert q[:3] == ["报告编号 · report_id", "机关 agency", "年度 year"]
    # JSON: column_labels beside the columns
    data = get(site, f"/{DB_NAME}/t2_2021.json", _labels="on").json()
    assert data["column_labels"]["rules_issued"] == "规章 / 本年制发件数 · t2.rules.issued"
    assert data["rows"]
    # XLSX
    x = get(site, f"/{DB_NAME}/t4.xlsx", _size="max")
    assert x.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    sheet = wb.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == lab_rows[0]
    assert len(values) == len(raw_rows)
    col = raw_rows[0].index("reconsideration_total")
    key = raw_rows[0].index("report_id")
    by_id = {r[key]: r for r in values[1:]}
    for r in raw_rows[1:]:
        v = by_id[r[key]][col]
        assert (v is None and r[col] == "") or (isinstance(v, int) and str(v) == r[col].removesuffix(".0"))
    # the table page links the downloads
    html = get(site, f"/{DB_NAME}/t4").text
    for cls in ("ogi-csv", "ogi-xlsx", "ogi-csv-raw", "ogi-json"):
        assert f'class="{cls}"' in html, cls
    assert "_labels=on&_bom=on" in html


def test_xlsx_never_makes_crawled_text_a_formula(site):
    import openpyxl

    x = get(site, f"/{DB_NAME}.xlsx", sql="select '=HYPERLINK(\"http://x\")' as t, 859.0 as n")
    sheet = openpyxl.load_workbook(io.BytesIO(x.content)).worksheets[0]
    cell, n = sheet.cell(2, 1), sheet.cell(2, 2)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK") and n.value == 859


# ---------------------------------------------------------------------------------------------- search page

def _search(site, **params) -> list[dict]:
    """Every result of /-/search over all its pages: id, the excerpt's marked words, where it matched."""
    out, page = [], 1
    while True:
        html = get(site, "/-/search", page=str(page), **params).text
        items = re.findall(r'<li class="ogi-result">(.*?)</li>', html, re.S)
        for item in items:
            rid = unquote(re.search(r'href="/-/report/([^"]+)"', item).group(1))
            out.append(dict(id=rid, marks=re.findall(r"<mark>(.*?)</mark>", item),
                            where=re.search(r'<span class="ogi-where">(.*?)</span>', item).group(1), html=item))
        if 'class="ogi-next"' not in html:
            return out
        page += 1


def test_search_page_finds_ranks_and_shows_where(site):
    oracle = search_oracle(site["records"], "复议")
    results = _search(site, q="复议")
    assert {r["id"] for r in results} == oracle and len(results) == len(oracle)
    html = get(site, "/-/search", q="复议").text
    n = int(re.search(r'<p class="ogi-count">([\d,]+)', html).group(1).replace(",", ""))
    assert n == len(oracle)
    b = next(r for r in results if r["id"] == "syn-fixture-b-2021")
    assert b["marks"] == ["复议"] and "行政复议2件" in re.sub(r"</?mark>", "", b["html"])
    assert b["where"] == "四、政府信息公开行政复议、行政诉讼情况"
    # every result shows the word in place, or says it matched the heading/title
    assert all(r["marks"] or "标题" in r["where"] or "情况" in r["where"] for r in results)
    # relevance: the agency whose name holds the word comes before reports that only mention it
    ranked = _search(site, q="司法局")
    assert ranked[0]["id"] == "syn-fixture-b-2021"


def test_search_page_filters(site):
    by_id = {rec[0]["id"]: rec[0] for rec in site["records"]}
    oracle = search_oracle(site["records"], "信息")
    for params, keep in (({"year": "2021"}, lambda r: r["year"] == 2021),
                         ({"province": "浙江省"}, lambda r: r["province"] == "浙江省"),
                         ({"level": "county"}, lambda r: r["admin_level"] == "county"),
                         ({"year": "2022", "level": "township"},
                          lambda r: r["year"] == 2022 and r["admin_level"] == "township")):
        got = {r["id"] for r in _search(site, q="信息", **params)}
        assert got == {i for i in oracle if keep(by_id[i])}, params
    in_1 = {r["id"] for r in _search(site, q="复议", section="1")}
    assert "syn-fixture-b-2021" not in in_1
    # the dropdowns offer the data's values
    html = get(site, "/-/search").text
    assert '<option value="浙江省"' in html and '<option value="2021"' in html and '<option value="county"' in html


def test_search_page_escapes_crawled_text(site):
    html = get(site, "/-/search", q="合成").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert get(site, "/-/search", q='" OR * NEAR(').status_code == 200


# ---------------------------------------------------------------------------------------------- crawl health

def test_health_page_is_ogi_status_per_portal(site):
    """One line per portal from the records `ogi status` prints; red exactly where a portal found nothing,
    dropped or its errors spiked."""
    import datetime as dt

    import sqlite_utils

    from harvester import schedule
    from site_fixtures import CRAWL_HISTORY

    html = get(site, "/-/health").text
    rows = re.findall(r'<tr class="ogi-portal( ogi-red)?" data-portal="([^"]+)">(.*?)</tr>', html, re.S)
    assert [r[1] for r in rows] == sorted(CRAWL_HISTORY)
    red = {name for cls, name, _ in rows if cls}
    assert red == {"合成减少门户", "合成空门户", "合成错误门户"}
    cells = {name: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
             for _, name, body in rows}
    assert cells["合成减少门户"][2] == "dropped" and cells["合成减少门户"][3] == "2 / 6"
    assert "没有找到报告" in cells["合成空门户"][7] and "errors spiked" in cells["合成错误门户"][7]
    assert cells["合成错误门户"][4] == "1 / 2" and cells["合成错误门户"][5].startswith("timeout 12, list_incomplete 1")
    assert cells["合成健康门户"][7] == ""
    # the same records as `ogi status` on this database
    database = sqlite_utils.Database(sqlite3.connect(site["db"]))
    health = schedule.portal_health(database, schedule.portals_from_db(database), schedule.utcnow())
    assert {h["portal"]: h["flags"] for h in health} == {
        "合成健康门户": [], "合成减少门户": ["count_dropped"], "合成空门户": ["count_dropped", "found_nothing"],
        "合成错误门户": ["errors_spiked"]}
    text = schedule.status([{"name": n} for n in sorted(CRAWL_HISTORY)], site["db"],
                           dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    line = next(ln for ln in text.splitlines() if ln.startswith("合成减少门户"))
    assert "2/6" in line and "count_dropped 1" in line and "ALARM: count_dropped" in line
    assert "coverage:" in html


# ---------------------------------------------------------------------------------------------- methodology

def test_methodology_page_and_citations(site):
    from parsers import codebook as cb

    from markupsafe import escape

    html = get(site, "/-/about").text
    for check in cb.raw()["identities"]["checks"]:
        assert f"<code>{escape(check['id'])}</code>" in html and escape(check["equation"]) in html
    conn = sqlite3.connect(site["db"])
    built = conn.execute("select built from site_build").fetchone()[0]
    conn.close()
    assert built[:16] in html                                   # the snapshot date
    assert "totals_derived" in html and "“/”" in html          # what a blank means, from the codebook
    meta = sm.build_metadata(DB_NAME)
    for col, desc in meta["databases"][DB_NAME]["tables"]["report_figures"]["columns"].items():
        if col not in sm.hand_written()["common_columns"]:
            assert str(escape(desc)) in html, col
    # every report page carries its citation: the agency's URL, when it was retrieved, the snapshot date
    page = get(site, "/-/report/syn-fixture-b-2021").text
    cite = re.search(r'<p class="ogi-citation">(.*?)</p>', page, re.S).group(1)
    assert "合成县司法局" in cite and "https://www.example.gov.cn/syn-fixture-b-2021.html" in cite
    assert "2026-11-20 抓取" in cite and f"快照 snapshot {built[:10]}" in cite
    assert "/-/report/syn-fixture-b-2021" in cite and "2021年度" in cite
    home = get(site, "/").text
    assert 'href="/-/about"' in home and 'href="/-/search"' in home and 'href="/-/health"' in home


# ---------------------------------------------------------------------------------------------- query forms

def test_canned_queries_have_dropdowns(site):
    conn = sqlite3.connect(site["db"])
    years = [str(y) for (y,) in conn.execute("select distinct year from reports order by year desc")]
    provinces = {p for (p,) in conn.execute("select distinct province from reports where province is not null")}
    conn.close()
    html = get(site, f"/{DB_NAME}/top_agencies_by_requests", year="2021", province="", level="county").text
    selects = dict(re.findall(r'<select id="qp\d+" name="(\w+)" class="ogi-param-select">(.*?)</select>', html, re.S))
    assert set(selects) == {"year", "province", "level"}
    assert re.findall(r'<option value="([^"]*)"', selects["year"]) == [""] + years   # latest year first
    assert set(re.findall(r'<option value="([^"]*)"', selects["province"])) == provinces | {""}
    assert '<option value="2021" selected>' in selects["year"]
    assert '<option value="county" selected>' in selects["level"]
    # the answer follows the dropdowns
    got = _q(site, "top_agencies_by_requests", year="2021", province="", level="county")
    conn = sqlite3.connect(site["db"])
    expected = {a for (a,) in conn.execute("select distinct agency from report_figures where year = 2021 and "
                                           "admin_level = 'county' and requests_new is not null")}
    conn.close()
    assert {r["机关 agency"] for r in got} == expected and expected
    sec = get(site, f"/{DB_NAME}/section_search", section="4", q="复议").text
    assert re.search(r'<select id="qp\d+" name="section"', sec) and '<option value="4" selected>' in sec
    rates = get(site, f"/{DB_NAME}/refusal_rates", province="", level="", include_failing="").text
    assert re.search(r'name="include_failing" class="ogi-param-select"', rates)
    assert 'class="ogi-csv"' in rates  # the downloads are still there


def test_search_ranks_a_window_of_the_latest_matches_when_a_word_is_everywhere(site):
    """Past OGI_RANK_WINDOW matches only the ones added last are ranked (bm25 of every match of a word in
    most of 250,000 reports is the search page's main cost), and the page says so."""
    port = free_port()
    proc = start_server(site["db"], port, env={"OGI_RANK_WINDOW": "3"})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            html = client.get("/-/search", params={"q": "信息"}).text
            few = client.get("/-/search", params={"q": "司法局"}).text
    finally:
        stop_server(proc)
    conn = sqlite3.connect(site["db"])
    register = __import__("harvester.publish", fromlist=["register_functions"]).register_functions
    register(conn)
    latest = [r for (r,) in conn.execute(
        "select r.id from reports_fts f join reports r on r.rowid = f.rowid where reports_fts match zh_fts('信息') "
        "order by f.rowid desc limit 3")]
    n_all = conn.execute("select count(*) from reports_fts where reports_fts match zh_fts('信息')").fetchone()[0]
    conn.close()
    assert n_all > 3
    got = [unquote(x) for x in re.findall(r'<a class="ogi-result-title" href="/-/report/([^"]+)"', html)]
    assert sorted(got) == sorted(latest)
    assert 'class="ogi-window"' in html and f"{n_all:,} 份报告" in html
    assert 'class="ogi-window"' not in few


def test_questions_with_a_year_open_on_the_latest(site):
    conn = sqlite3.connect(site["db"])
    last = conn.execute("select max(year) from reports").fetchone()[0]
    conn.close()
    home = get(site, "/").text
    link = re.search(r'href="(/ogi/top_agencies_by_requests\?[^"]*)"', home).group(1).replace("&amp;", "&")
    assert f"year={last}" in link
    html = site["client"].get(link).text
    assert f'<option value="{last}" selected>' in html
    assert 'href="/ogi/coverage"' in home     # a question without a year opens as it is


def test_compare_years_gives_change_and_percent(site):
    got = _q(site, "compare_years", agency="行政审批")
    conn = sqlite3.connect(site["db"])
    expected = conn.execute("select year, requests_new from report_figures where agency like '%行政审批%' "
                            "order by year").fetchall()
    conn.close()
    assert [(r["年度 year"], r["新收申请 new requests"]) for r in got] == expected and len(expected) == 2
    (y0, a), (y1, b) = expected
    assert got[0]["变化 change"] is None and got[1]["变化 change"] == b - a
    assert got[1]["变化% change %"] == (round(100.0 * (b - a) / a, 1) if a else None)



def test_sample_data_is_marked(site, tmp_path):
    """A report from a portal on a non-public address (the demo's sample portals on 127.0.0.1) is sample data,
    and the site says so; the fixture's own reports (public-looking URLs) are not marked."""
    db = tmp_path / "ogi.db"
    build_fixture_db(db, with_gold=False)
    conn = sqlite3.connect(db)
    conn.execute("update reports set canonical_url = 'http://127.0.0.1:8765/nianbao/a.html' "
                 "where id = 'syn-fixture-b-2021'")
    conn.commit()
    conn.close()
    prepare(db)
    port = free_port()
    proc = start_server(db, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            home = client.get("/").text
            marked = client.get("/-/report/syn-fixture-b-2021").text
            plain = client.get("/-/report/syn-fixture-a-2022").text
    finally:
        stop_server(proc)
    assert 'class="ogi-sample"' in home and "示例数据 · Sample data: 1\n" in home
    assert 'class="ogi-sample"' in marked and 'class="ogi-sample"' not in plain
    assert 'class="ogi-sample"' not in get(site, "/").text


def test_search_page_or_queries(site):
    """`A OR B` (or 或) finds the reports with either word; words without OR must all appear."""
    a, b = search_oracle(site["records"], "司法局"), search_oracle(site["records"], "大数据")
    assert a and b and a != b
    for q in ("司法局 OR 大数据", "司法局 或 大数据"):
        assert {r["id"] for r in _search(site, q=q)} == a | b, q
    both = search_oracle(site["records"], "复议 诉讼")
    either = search_oracle(site["records"], "诉讼") | search_oracle(site["records"], "起诉")
    got = {r["id"] for r in _search(site, q="复议 诉讼 OR 起诉")}
    assert got == search_oracle(site["records"], "复议") & either and both <= got
    marks = {m for r in _search(site, q="司法局 OR 大数据") for m in r["marks"]}
    assert marks and marks <= {"司法局", "大数据"}


def test_report_page_shows_a_hybrid_reports_single_other_row():
    """A 2021-format report printing （六）其他处理 as one row (t3.other): the page shows that row in
    the sub-rows' place, not three empty sub-rows."""
    from harvester import site_metadata as sm
    from harvester.site_plugin import _layout_tables
    values = {f"t3.other.{c}": 1 for c in sm.T3_COLUMNS} | {f"t3.granted.{c}": 2 for c in sm.T3_COLUMNS}
    ids = [r.get("id") for r in _layout_tables("2021", values)["t3"]["rows"]]
    assert "other" in ids and not any(i and i.startswith("other_") for i in ids)
    assert ids.index("other") < ids.index("results_total")
    plain = [r.get("id") for r in _layout_tables("2021", {"t3.granted.total": 2})["t3"]["rows"]]
    assert "other" not in plain and "other_misc" in plain
