"""Deduplication through a real crawl: one report in many guises (page, PDF, DOCX, a repost
with identical bytes, a print version, a traditional mirror), a report revised between two
crawls, and two agencies publishing the same boilerplate. Exact counts of reports, documents,
sightings and versions."""
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlite_utils
import yaml

from conftest import ROOT, crawl_args, run_ogi

DOCS = ROOT / "harvester" / "sample_portals" / "docs"


def article(title, body_html):
    return (f'<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">'
            f'<title>{title}</title></head><body><div class="nav">首页 | 政务公开</div>'
            f'<h1>{title}</h1><div class="TRS_Editor">{body_html}</div></body></html>').encode("utf-8")


def text_page(title, text):
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    return article(title, paragraphs)


class Site:
    """A tiny portal whose pages the test can change between crawls."""

    def __init__(self):
        self.pages: dict[str, tuple[str, bytes]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path not in site.pages:
                    self.send_error(404)
                    return
                kind, body = site.pages[self.path]
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, path, body, kind="text/html; charset=utf-8"):
        self.pages[path] = (kind, body)


@pytest.fixture(scope="module")
def site():
    if not (DOCS / "pingtan-zone-2023.html").exists():
        pytest.skip("sample documents missing")
    s = Site()
    t2023 = "平潭综合实验区2023年度政府信息公开工作年度报告"
    page_2023 = (DOCS / "pingtan-zone-2023.html").read_bytes()
    s.put("/nb/202403/t1.html", page_2023.replace(
        b"</body>", '<p><a href="./P1.pdf">附件：2023年度报告.pdf</a> <a href="./W1.docx">附件：2023年度报告.docx</a></p></body>'.encode()))
    s.put("/nb/202403/P1.pdf", (DOCS / "pingtan-zone-2023.pdf").read_bytes(), "application/pdf")
    s.put("/nb/202403/W1.docx", (DOCS / "pingtan-zone-2023.docx").read_bytes(), "application/octet-stream")
    # The same page reposted in an aggregate column (identical bytes), and its print version.
    s.put("/agg/202403/t9.html", s.pages["/nb/202403/t1.html"][1])
    s.put("/agg/202403/t1_print.html", text_page(t2023, (DOCS / "pingtan-zone-2023.txt").read_text(encoding="utf-8")))
    import opencc
    mirror = opencc.OpenCC("s2t").convert((DOCS / "pingtan-zone-2023.txt").read_text(encoding="utf-8"))
    s.put("/agg/gate/big5/t1.html", text_page(opencc.OpenCC("s2t").convert(t2023), mirror))
    s.put("/nb/202503/t2.html", (DOCS / "pingtan-zone-2024.html").read_bytes())
    qd = (DOCS / "qingdao-bigdata-2020.txt").read_text(encoding="utf-8")
    s.put("/nb/202101/t3.html", text_page("青岛市大数据发展管理局2020年政府信息公开工作年度报告", qd))
    s.put("/nb/202101/t4.html", text_page("青岛市海洋发展局2020年政府信息公开工作年度报告",
                                          qd.replace("青岛市大数据发展管理局", "青岛市海洋发展局").replace("大数据局", "海洋发展局")))
    links = [("./202403/t1.html", t2023), ("./202503/t2.html", "平潭综合实验区2024年度政府信息公开工作年度报告"),
             ("./202101/t3.html", "青岛市大数据发展管理局2020年政府信息公开工作年度报告"),
             ("./202101/t4.html", "青岛市海洋发展局2020年政府信息公开工作年度报告"), ("/agg/index.html", "部门年报")]
    s.put("/nb/index.html", ('<html><head><meta charset="utf-8"></head><body><ul>' + "".join(
        f'<li><a href="{u}">{t}</a></li>' for u, t in links) + "</ul></body></html>").encode())
    agg = [("./202403/t9.html", t2023), ("./202403/t1_print.html", t2023 + "（打印版）"),
           ("./gate/big5/t1.html", opencc.OpenCC("s2t").convert(t2023))]
    s.put("/agg/index.html", ('<html><head><meta charset="utf-8"></head><body>' + "".join(
        f'<a href="{u}">{t}</a>' for u, t in agg) + "</body></html>").encode())
    yield s
    s.server.shutdown()


def crawl(site, db, tmp_path, overrides=None):
    registry = tmp_path / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [{"name": "dedup", "start_url": site.base + "/nb/index.html"}]}),
                        encoding="utf-8")
    run_ogi(*crawl_args(registry, db, overrides))
    return sqlite_utils.Database(db)


def test_one_report_per_agency_and_year_across_guises_and_versions(site, tmp_path):
    db_path = tmp_path / "ogi.db"
    db = crawl(site, db_path, tmp_path)
    reports = {(r["agency"], r["year"]): r for r in db.query("select * from reports")}
    assert len(reports) == 4, sorted(reports)
    pingtan = [r for (a, y), r in reports.items() if y == 2023][0]
    urls = {r["url"].replace(site.base, "") for r in db.query("select url from sightings where report_id = ?", [pingtan["id"]])}
    assert urls == {"/nb/202403/t1.html", "/nb/202403/P1.pdf", "/nb/202403/W1.docx", "/agg/202403/t9.html",
                    "/agg/202403/t1_print.html", "/agg/gate/big5/t1.html"}
    assert pingtan["n_documents"] == 5                      # the repost has the page's bytes
    assert pingtan["n_versions"] == 1
    assert {y for (a, y) in reports} == {2020, 2023, 2024}
    assert len([1 for (a, y) in reports if y == 2020]) == 2  # same boilerplate, two agencies

    # The agency revises its 2024 report in place: a new version, the old one kept.
    original = site.pages["/nb/202503/t2.html"][1]
    # First number after the row label 本年新收…: the natural-person count of new requests.
    match = re.search(rb"<td[^>]*>(?:\s|<p[^>]*>)*(\d+)(?:\s|</p>)*</td>", original[original.find("本年新收".encode()):])
    assert match
    start = original.find("本年新收".encode()) + match.start(1)
    old_value = int(match.group(1))
    revised = original[:start] + str(old_value + 7).encode() + original[start + len(match.group(1)):]
    site.put("/nb/202503/t2.html", revised)
    # Re-crawled the same day, the known page is answered from the store (incremental crawl)...
    db = crawl(site, db_path, tmp_path)
    assert list(db.query("select n_versions from reports where year = 2024"))[0]["n_versions"] == 1
    assert not list(db.query("select * from errors where kind = 'count_dropped'"))
    # ...and once it is due for revalidation (here: at once), the in-place edit becomes a version.
    db = crawl(site, db_path, tmp_path, {"OGI_REVALIDATE_DAYS": "0"})
    assert db["reports"].count == 4
    report_2024 = list(db.query("select * from reports where year = 2024"))[0]
    assert report_2024["n_versions"] == 2
    changes = list(db.query("select * from cell_changes where report_id = ?", [report_2024["id"]]))
    assert changes and all(c["new_value"] - c["old_value"] == 7 for c in changes)
    site.put("/nb/202503/t2.html", original)


def test_site_goes_from_a_report_to_its_urls_and_versions(site, tmp_path):
    import subprocess
    import sys
    import urllib.request

    from conftest import free_port, wait_http
    db_path = tmp_path / "ogi.db"
    crawl(site, db_path, tmp_path)
    original = site.pages["/nb/202503/t2.html"][1]
    start = original.find("本年新收".encode())
    match = re.search(rb"<td[^>]*>(?:\s|<p[^>]*>)*(\d+)(?:\s|</p>)*</td>", original[start:])
    at = start + match.start(1)
    site.put("/nb/202503/t2.html", original[:at] + b"999" + original[at + len(match.group(1)):])
    try:
        db = crawl(site, db_path, tmp_path, {"OGI_REVALIDATE_DAYS": "0"})   # revalidate: see the edit
    finally:
        site.put("/nb/202503/t2.html", original)
    report_id = db.execute("select id from reports where year = 2024").fetchone()[0]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harvester.cli", "serve", "--db", str(db_path), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/versions.json")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/-/report/{report_id}", timeout=20).read().decode()
        assert "Versions (2)" in page and "t3.new_received.natural_person" in page and "999" in page
        assert site.base + "/nb/202503/t2.html" in page
    finally:
        proc.terminate()
        proc.wait(timeout=20)
