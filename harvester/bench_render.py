"""`ogi bench render`: memory of the browser path against pages rendered.

A generated column of N list pages whose records only a script writes (a static reading finds
nothing, so every page is rendered in Chromium), crawled by the real `ogi crawl`; the crawl's whole
process tree (Python, parse workers, Chromium and its children) is sampled every half second for
summed RSS and PSS (from /proc/<pid>/smaps_rollup) and the number of pages rendered so far. Prints
the curve, so a leak or a flat line is visible. Not a test: timings depend on the machine.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml


class _ScriptColumn(BaseHTTPRequestHandler):
    pages = 200

    def do_GET(self):
        path = self.path.split("?")[0]
        match = re.fullmatch(r"/js/index(?:_(\d+))?\.html", path)
        if match:
            n = int(match.group(1) or 0)
            rows = [{"t": f"某某局第{n}页{k}号2023年度工作总结", "u": f"/js/art/{n}_{k}.html"} for k in range(10)]
            nxt = f'<a href="/js/index_{n + 1}.html">下一页</a>' if n + 1 < self.pages else ""
            body = (f'<html><head><meta charset="utf-8"><title>年报</title></head><body><ul id="l"></ul>{nxt}'
                    f'<script>var rows = {json.dumps(rows, ensure_ascii=False)};'
                    f'document.getElementById("l").innerHTML = rows.map(function (r) {{'
                    f'return "<li><a href=\\"" + r.u + "\\">" + r.t + "</a></li>"; }}).join("");</script></body></html>')
            return self._send(body.encode(), "text/html; charset=utf-8")
        if path == "/robots.txt":
            return self._send(b"User-agent: *\nAllow: /\n", "text/plain")
        self._send(b"<html><body>nothing</body></html>", "text/html", 404)

    def _send(self, body, kind, status=200):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def _tree(pid: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {pid}, {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return sorted(found)


def _memory(pids: list[int]) -> tuple[float, float]:
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def bench_render(pages: int = 200) -> None:
    _ScriptColumn.pages = pages
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptColumn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "portals.yaml"
        registry.write_text(yaml.safe_dump({"portals": [
            {"name": "js-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/js/index.html",
             "max_list_pages": pages + 5}]}), encoding="utf-8")
        db = Path(tmp) / "ogi.db"
        cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl", "--portals", str(registry),
               "--db", str(db)]
        for name, value in {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "OGI_MAX_RENDERS": str(pages + 5),
                            "CONCURRENT_REQUESTS_PER_DOMAIN": "4"}.items():
            cmd += ["--set", f"{name}={value}"]
        from harvester import progress

        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = []
        with progress.counter(pages, "bench render", unit="list pages") as tick:
            while proc.poll() is None:
                time.sleep(0.5)
                pids = _tree(proc.pid)
                rss, pss = _memory(pids)
                rendered = _rendered(db)
                samples.append((time.monotonic() - started, rendered, rss, pss, len(pids)))
                tick.update(rendered)
        server.shutdown()
    print(f"{'seconds':>8} {'lists kept':>10} {'RSS MB':>8} {'PSS MB':>8} {'processes':>10}")
    step = max(1, len(samples) // 20)
    for t, rendered, rss, pss, n in samples[::step] + samples[-1:]:
        print(f"{t:>8.1f} {rendered:>10} {rss:>8.0f} {pss:>8.0f} {n:>10}")
    peak = max(samples, key=lambda s: s[2]) if samples else None
    if peak:
        print(f"\npeak summed RSS {peak[2]:.0f} MB (PSS {peak[3]:.0f} MB) with {peak[4]} processes; "
              f"{samples[-1][1]} list bodies (static and rendered) kept in {samples[-1][0]:.0f} s")


def _rendered(db: Path) -> int:
    import sqlite3
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return conn.execute("select count(*) from fetches f join urls u on u.url = f.url "
                                "where u.kind = 'list'").fetchone()[0]
        finally:
            conn.close()
    except Exception:
        return 0
