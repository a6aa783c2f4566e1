"""A real crawl of the sample portals over HTTP on 127.0.0.1, through `ogi crawl`, then the
SQLite file it wrote. Exact sets, never "at least one"."""
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
import sqlite_utils


@pytest.fixture(scope="module")
def db(crawled):
    return sqlite_utils.Database(crawled["db"])


def test_every_report_found_and_nothing_else(db, truth):
    found = {(r["agency"], r["year"]) for r in db.query("select agency, year from reports")}
    expected = {(r["agency"], r["year"]) for r in truth["reports"]}
    assert found == expected
    assert db["reports"].count == len(truth["reports"])


def test_templates_of_reports(db, truth):
    found = {(r["agency"], r["year"]): r["template"] for r in db.query("select * from reports")}
    assert found == {(r["agency"], r["year"]): r["template"] for r in truth["reports"]}


def test_every_report_url_is_a_sighting_and_no_distractor_is(db, truth):
    sighted = {r["url"] for r in db.query("select url from sightings")}
    assert set(truth["report_urls"]) <= sighted, sorted(set(truth["report_urls"]) - sighted)
    assert not (set(truth["distractor_urls"]) & sighted)
    # Every sighting belongs to a report in the truth (precision at the URL level too); a broken
    # attachment of a report page (a truncated PDF) is still a place the report was published.
    broken_files = {b["url"] for b in truth["broken"] if b["kind"] == "truncated_pdf"}
    assert sighted <= set(truth["report_urls"]) | broken_files, sorted(sighted - set(truth["report_urls"]))


def test_broken_pages_are_errors_and_the_crawl_goes_on(db, truth, crawled):
    errors = {(r["url"], r["kind"]) for r in db.query("select url, kind from errors")}
    by_url = {}
    for url, kind in errors:
        by_url.setdefault(url, set()).add(kind)
    fetched = {r["url"] for r in db.query("select url from urls where sha256 is not null")}
    expected_kind = {"truncated_pdf": {"parse_corrupt", "parse_truncated"}, "not_a_report": {"not_a_report"}}
    for case in truth["broken"]:
        kinds = by_url.get(case["url"], set())
        if case["kind"] == "not_a_report" and case["url"] not in fetched:
            continue        # linked only from a look-alike page the classifier never opened: correct
        assert kinds & expected_kind.get(case["kind"], {case["kind"]}), f"{case}: recorded {kinds}"
    assert all(r["status"] == "finished" for r in db.query("select status from crawl_runs"))
    assert all(r["message"] for r in db.query("select message from errors"))
    # No budget is near on these portals, and every list reaches the total it states.
    assert not list(db.query("select * from errors where kind like 'budget_%' or kind = 'list_incomplete'"))


def test_bodies_are_content_addressed_and_complete(db, crawled):
    data_dir = Path(crawled["db"]).parent
    rows = list(db.query("select * from documents"))
    assert rows
    for row in rows:
        blob = (data_dir / row["blob_path"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == row["sha256"]
        assert len(blob) == row["size"]
    # Every URL that answered 200 points to a stored body.
    assert not list(db.query("select url from urls where status = 200 and sha256 is null"))


def test_crawl_runs_record_stats_and_summary(db, crawled, sample_registry):
    import yaml
    names = {p["name"] for p in yaml.safe_load(sample_registry.read_text(encoding="utf-8"))["portals"]}
    runs = list(db.query("select * from crawl_runs"))
    assert {r["portal"] for r in runs} == names
    for run in runs:
        stats = json.loads(run["stats"])
        assert stats["finish_reason"] == "finished"
        assert stats["downloader/response_count"] >= run["list_pages"] >= 1
        assert run["robots_obeyed"] == 1
    assert "Crawl summary" in crawled["stdout"]
    assert sum(r["reports"] for r in runs) >= db["reports"].count


def test_candidates_are_auditable(db, truth):
    decisions = Counter(r["decision"] for r in db.query("select decision from candidates"))
    assert decisions["report"] > 0 and decisions["reject"] > 0
    assert all(r["reason"] for r in db.query("select reason from candidates"))


def test_no_mojibake_reaches_the_database(db):
    for row in db.query("select agency, title from reports"):
        for value in (row["agency"] or "", row["title"] or ""):
            assert "\ufffd" not in value and not any("\u00c0" <= ch <= "\u00ff" for ch in value), value


def test_datasette_serves_the_crawled_reports(crawled, truth):
    import subprocess
    import sys
    import urllib.request

    from conftest import ROOT, free_port, wait_http
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harvester.cli", "serve", "--db", str(crawled["db"]),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/-/versions.json")
        data = json.loads(urllib.request.urlopen(
            base + "/ogi/reports.json?_shape=array&_size=max", timeout=10).read())
        assert {(r["agency"], r["year"]) for r in data} == {(r["agency"], r["year"]) for r in truth["reports"]}
        sightings = json.loads(urllib.request.urlopen(
            base + "/ogi/sightings.json?_shape=array&_size=max", timeout=10).read())
        assert {s["url"] for s in sightings} >= set(truth["report_urls"])
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_robots_and_off_site_links_are_respected(db, truth):
    fetched = {r["url"] for r in db.query("select url from fetches")}
    assert truth["disallowed_urls"] and not (set(truth["disallowed_urls"]) & fetched)
    # A disallowed link that the classifier wanted is recorded, so users see what was skipped.
    wanted = {r["url"] for r in db.query("select url from candidates where decision != 'reject'")}
    robots = {r["url"] for r in db.query("select url from errors where kind = 'robots_forbidden'")}
    assert set(truth["disallowed_urls"]) & wanted <= robots
    assert not any(u.startswith(tuple(truth["offsite_urls"])) for u in fetched)
    assert all(u.startswith("http://127.0.0.1:") for u in fetched)


def test_gbk_pages_without_charset_are_decoded(db):
    rows = list(db.query("select agency, title from reports where agency like '平潭县%'"))
    assert rows and all("报告" in (r["title"] or "") for r in rows)


def test_robots_txt_is_obeyed_and_recorded(tmp_path):
    """A report link under a robots.txt Disallow is not fetched, and the skip is an error row."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import yaml

    from conftest import crawl_args, run_ogi
    pages = {"/robots.txt": b"User-agent: *\nDisallow: /private/\n",
             "/nb/index.html": '<meta charset="utf-8"><a href="/private/t1.html">某局2023年政府信息公开工作年度报告</a>'.encode()}
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if self.path != "/robots.txt" else "text/plain")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registry = tmp_path / "p.yaml"
        registry.write_text(yaml.safe_dump([{"name": "r", "start_url": f"http://127.0.0.1:{server.server_address[1]}/nb/index.html"}]))
        run_ogi(*crawl_args(registry, tmp_path / "ogi.db"))
    finally:
        server.shutdown()
    assert "/private/t1.html" not in seen
    db = sqlite_utils.Database(tmp_path / "ogi.db")
    assert [r["kind"] for r in db.query("select kind from errors where url like '%/private/t1.html'")] == ["robots_forbidden"]


def test_huge_files_and_timeouts_become_errors_not_crashes(tmp_path):
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import yaml

    from conftest import crawl_args, run_ogi
    links = ('<meta charset="utf-8"><a href="/big.pdf">附件：某局2023年政府信息公开工作年度报告.pdf</a>'
             '<a href="/slow.html">某局2022年政府信息公开工作年度报告</a>'
             '<a href="/loop1.html">某局2021年政府信息公开工作年度报告</a>')

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/loop1.html" or self.path == "/loop2.html":
                self.send_response(302)
                self.send_header("Location", "/loop2.html" if self.path == "/loop1.html" else "/loop1.html")
                self.end_headers()
                return
            if self.path == "/slow.html":
                time.sleep(4)
            body = {"/nb/": links.encode(), "/big.pdf": b"%PDF-1.4\n" + b"0" * 3_000_000}.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/pdf" if self.path.endswith(".pdf") else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registry = tmp_path / "p.yaml"
        registry.write_text(yaml.safe_dump([{"name": "t", "start_url": f"http://127.0.0.1:{server.server_address[1]}/nb/"}]))
        run_ogi(*crawl_args(registry, tmp_path / "ogi.db", {"DOWNLOAD_MAXSIZE": "1000000"}))
    finally:
        server.shutdown()
    db = sqlite_utils.Database(tmp_path / "ogi.db")
    kinds = {r["url"].rsplit("/", 1)[-1]: r["kind"] for r in db.query("select url, kind from errors")
             if r["kind"] != "found_nothing"}    # the run's alarm: this portal has no report
    assert kinds == {"big.pdf": "too_large", "slow.html": "timeout", "loop1.html": "redirect_loop"}
    assert list(db.query("select status from crawl_runs"))[0]["status"] == "finished"


def test_unusual_markup_still_finds_reports(tmp_path):
    """Cut list titles, a year-less report title, a PDF shown in a viewer iframe, and an attachment
    behind an extension-less URL: each report is found and parsed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import yaml

    from conftest import ROOT, crawl_args, run_ogi
    docs = ROOT / "harvester" / "sample_portals" / "docs"
    text = (docs / "zibo-bigdata-2023.txt").read_text(encoding="utf-8")
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    pages = {
        "/nb/": ('<meta charset="utf-8"><ul>'
                 '<li><a href="/a/1.html">淄博市大数据局2023年政府信息公开工作年度…</a></li>'
                 '<li><a href="/a/2.html">平潭综合实验区政府信息公开工作年度报告</a></li>'
                 '<li><a href="/a/3.html">青岛市大数据发展管理局2020年政府信息公开工作年度报告</a></li></ul>').encode(),
        "/a/1.html": f'<meta charset="utf-8"><div class="article">{paragraphs}</div>'.encode(),
        "/a/2.html": ('<meta charset="utf-8"><h1>平潭综合实验区政府信息公开工作年度报告</h1><p>一、总体情况 见附件</p>'
                      '<p>二、主动公开政府信息情况</p><iframe src="/pdfjs/web/viewer.html?file=%2Ffiles%2F9.pdf"></iframe>').encode(),
        "/files/9.pdf": (docs / "pingtan-zone-2023.pdf").read_bytes(),
        "/a/3.html": '<meta charset="utf-8"><p>详见附件</p><a href="/attach/77">附件：年度报告.docx</a>'.encode(),
        "/attach/77": (docs / "gen-qingdao-bigdata-2020.docx").read_bytes(),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            kind = "application/octet-stream" if self.path.startswith(("/files", "/attach")) else "text/html"
            self.send_header("Content-Type", kind)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registry = tmp_path / "p.yaml"
        registry.write_text(yaml.safe_dump([{"name": "u", "start_url": f"http://127.0.0.1:{server.server_address[1]}/nb/"}]))
        run_ogi(*crawl_args(registry, tmp_path / "ogi.db"))
    finally:
        server.shutdown()
    db = sqlite_utils.Database(tmp_path / "ogi.db")
    found = {(r["agency"], r["year"]) for r in db.query("select agency, year from reports")}
    assert found == {("淄博市大数据局", 2023), ("平潭综合实验区管委会", 2023), ("青岛市大数据发展管理局", 2020)}
