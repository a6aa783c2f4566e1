"""SIGKILL a real crawl of a ~930-URL portal at three different moments, rerun it with the same
--jobdir, and compare with an uninterrupted crawl: every URL fetched once, every body parsed, the
same rows, no duplicates, `PRAGMA integrity_check` ok, the killed run marked."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from conftest import ROOT, TEST_OVERRIDES, run_ogi

LIST_PAGES, PER_PAGE = 30, 15          # 30 list pages, 450 report pages, 450 attachments


class Column(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        time.sleep(0.004)                # a real server takes a moment: spreads the crawl out
        if path == "/robots.txt":
            return self._send(b"User-agent: *\nAllow: /\n", "text/plain")
        if path.startswith("/nb/index"):
            page = int(path[len("/nb/index_"):-len(".html")] or 0) if "_" in path else 0
            items = "".join(f'<li><a href="/nb/art/{n}.html">某某县第{n}局{2011 + n % 14}年政府信息公开工作年度报告</a></li>'
                            for n in range(page * PER_PAGE, (page + 1) * PER_PAGE))
            nxt = f'<a href="/nb/index_{page + 1}.html">下一页</a>' if page + 1 < LIST_PAGES else ""
            return self._send(f'<html><head><meta charset="utf-8"></head><body><ul>{items}</ul>{nxt}</body></html>'
                              .encode(), "text/html; charset=utf-8")
        if path.startswith("/nb/art/"):
            n = path.rsplit("/", 1)[1].split(".")[0]
            body = (f'<html><head><meta charset="utf-8"><title>某某县第{n}局年度报告</title></head><body>'
                    f'<h1>某某县第{n}局政府信息公开工作年度报告</h1><p>一、总体情况</p><p>本机关认真贯彻条例。</p>'
                    f'<a href="/nb/files/{n}.pdf">附件：年度报告{n}.pdf</a></body></html>')
            return self._send(body.encode(), "text/html; charset=utf-8")
        if path.startswith("/nb/files/"):
            return self._send(b"%PDF-1.4 not really a pdf " + path.encode() * 20, "application/pdf")
        self._send(b"not found", "text/plain", 404)

    def _send(self, body, kind, status=200):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def column(tmp_path_factory):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Column)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tmp_path_factory.mktemp("resume")
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [
        {"name": "big-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/nb/index.html"}]}),
        encoding="utf-8")
    yield registry, tmp
    server.shutdown()


def crawl_cmd(registry, db, jobdir):
    cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl", "--portals", str(registry),
           "--db", str(db), "--jobdir", str(jobdir)]
    for name, value in {**TEST_OVERRIDES, "OGI_BROWSER": "false"}.items():
        cmd += ["--set", f"{name}={value}"]
    return cmd


def snapshot(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        q = lambda sql: conn.execute(sql).fetchall()   # noqa: E731
        return {
            "integrity": q("pragma integrity_check")[0][0],
            "urls": set(q("select url, sha256, kind from urls")),
            "documents": set(q("select sha256 from documents")),
            "unparsed": q("select u.url from urls u where u.kind in ('page', 'attachment') and u.sha256 is not null "
                          "and u.sha256 not in (select sha256 from parses)"),
            "fetched_twice": q("select url, count(*) from fetches group by url having count(*) > 1"),
            "runs": q("select status from crawl_runs order by id"),
            "candidates": set(q("select url, decision from candidates")),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def baseline(column):
    registry, tmp = column
    db = tmp / "baseline" / "ogi.db"
    started = time.monotonic()
    subprocess.run(crawl_cmd(registry, db, tmp / "baseline-jobs"), cwd=ROOT, check=True, capture_output=True)
    return snapshot(db), time.monotonic() - started


def test_the_portal_is_big_enough(baseline):
    state, _ = baseline
    assert len(state["urls"]) >= 900 and state["integrity"] == "ok" and not state["unparsed"]


@pytest.mark.parametrize("moment", [0.3, 0.55, 0.8])
def test_killed_then_resumed_equals_uninterrupted(column, baseline, moment):
    registry, tmp = column
    want, _ = baseline
    work = tmp / f"killed-{moment}"
    db, jobdir = work / "ogi.db", work / "jobs"
    proc = subprocess.Popen(crawl_cmd(registry, db, jobdir), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    # Kill when that share of the URLs is stored: a moment of the crawl's progress, not of the clock.
    target = int(moment * len(want["urls"]))
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            stored = conn.execute("select count(*) from urls").fetchone()[0]
            conn.close()
        except sqlite3.Error:
            stored = 0
        if stored >= target:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the crawl finished before the kill")
    os.killpg(proc.pid, signal.SIGKILL)            # the crawl and every process it started
    proc.wait()
    half = snapshot(db)
    assert half["runs"] == [("running",)]          # what a kill leaves behind
    assert len(half["urls"]) < len(want["urls"])    # killed mid-way
    print(f"killed at {moment:.0%}: {len(half['urls'])} of {len(want['urls'])} URLs stored")
    run_ogi(*crawl_cmd(registry, db, jobdir)[3:], timeout=600)
    got = snapshot(db)
    assert got["integrity"] == "ok"
    assert got["runs"] == [("killed",), ("finished",)]
    assert got["urls"] == want["urls"]
    assert got["documents"] == want["documents"]
    assert got["candidates"] == want["candidates"]
    assert got["unparsed"] == []
    assert got["fetched_twice"] == []
