"""`ogi bench render`: memory of the browser path against pages rendered.

A generated column of N list pages whose records only a script writes (a static reading finds
nothing, so every page is rendered in Chromium), crawled by the real `ogi crawl`; the crawl's whole
process tree (Python, parse workers, Chromium and its children) is sampled every half second for
summed RSS and PSS (from /proc/<pid>/smaps_rollup), with the pages rendered so far and open now
(the browser handler writes them to OGI_BROWSER_GAUGE). Prints the curve, so a leak or a flat line
is visible, then peak and final figures. `--set NAME=VALUE` passes settings to the crawl, to
compare browser options. Not a test: timings depend on the machine.
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


def bench_render(pages: int = 200, overrides: dict | None = None) -> dict:
    """Crawl the generated column, sampling the process tree; print the curve and a summary, and
    return the summary (peak and final RSS/PSS, processes, pages rendered, pages/s, open pages)."""
    _ScriptColumn.pages = pages
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptColumn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "portals.yaml"
        registry.write_text(yaml.safe_dump({"portals": [
            {"name": "js-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/js/index.html",
             "max_list_pages": pages + 5}]}), encoding="utf-8")
        db = Path(tmp) / "ogi.db"
        gauge = Path(tmp) / "browser-gauge"
        cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl", "--portals", str(registry),
               "--db", str(db)]
        settings = {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "OGI_MAX_RENDERS": str(pages + 5),
                    "CONCURRENT_REQUESTS_PER_DOMAIN": "4", "OGI_BROWSER_GAUGE": json.dumps(str(gauge)),
                    **(overrides or {})}
        for name, value in settings.items():
            cmd += ["--set", f"{name}={value}"]
        from harvester import progress

        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = []            # (seconds, pages rendered, pages open, RSS MB, PSS MB, processes)
        first_render = None
        with progress.counter(pages, "bench render", unit="pages rendered") as tick:
            while proc.poll() is None:
                time.sleep(0.5)
                pids = _tree(proc.pid)
                rss, pss = _memory(pids)
                open_now, opened, _peak, _limit, closing = _gauge(gauge)
                if closing:
                    continue        # the browser is shutting down: what it held at the end is the sample before
                if opened and first_render is None:
                    first_render = time.monotonic() - started
                samples.append((time.monotonic() - started, opened, open_now, rss, pss, len(pids)))
                tick.update(opened)
        elapsed = time.monotonic() - started
        _, opened, _, limit, _ = _gauge(gauge)
        stats = _stats(db)
        server.shutdown()
    during = [s for s in samples if s[1]]           # since the first page was rendered
    print(f"{'seconds':>8} {'rendered':>9} {'open':>5} {'RSS MB':>8} {'PSS MB':>8} {'processes':>10}")
    step = max(1, len(during) // 20)
    shown = during[::step]
    for t, rendered, open_now, rss, pss, n in shown + during[-1:] * (shown[-1:] != during[-1:]):
        print(f"{t:>8.1f} {rendered:>9} {open_now:>5} {rss:>8.0f} {pss:>8.0f} {n:>10}")
    if not during:
        return {}
    peak = max(during, key=lambda s: s[3])
    last = during[-1]
    rendering = max(1e-6, last[0] - (first_render or 0))
    summary = {
        "pages_rendered": stats.get("ogi/browser_pages_opened", opened),
        "open_pages_max": stats.get("ogi/browser_pages_open_max"),
        "page_limit": stats.get("ogi/browser_page_limit", limit),
        "peak_rss_mb": round(peak[3]), "peak_pss_mb": round(peak[4]), "peak_processes": peak[5],
        "final_rss_mb": round(last[3]), "final_pss_mb": round(last[4]), "final_processes": last[5],
        "max_processes": max(s[5] for s in during),
        "pages_per_s": round(last[1] / rendering, 2), "seconds": round(elapsed, 1),
    }
    print(f"\n{summary['pages_rendered']} pages rendered in {rendering:.0f} s ({summary['pages_per_s']} pages/s; "
          f"{elapsed:.0f} s for the whole crawl)")
    print(f"peak summed RSS {summary['peak_rss_mb']} MB (PSS {summary['peak_pss_mb']} MB) with "
          f"{summary['peak_processes']} processes; at the end {summary['final_rss_mb']} MB "
          f"(PSS {summary['final_pss_mb']} MB), {summary['final_processes']} processes; "
          f"at most {summary['max_processes']} processes")
    print(f"pages open at once: at most {summary['open_pages_max']} (limit {summary['page_limit']})")
    return summary


def _gauge(path: Path) -> tuple[int, int, int, int, int]:
    """What the crawl's browser wrote (harvester.browser): open pages, pages opened, peak, limit,
    and 1 once it is closing."""
    try:
        open_now, opened, peak, limit, closing = (int(x) for x in path.read_text().split())
        return open_now, opened, peak, limit, closing
    except (OSError, ValueError):
        return 0, 0, 0, 0, 0


def _stats(db: Path) -> dict:
    import sqlite3
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            row = conn.execute("select stats from crawl_runs order by id desc limit 1").fetchone()
        finally:
            conn.close()
        return json.loads(row[0]) if row and row[0] else {}
    except Exception:
        return {}


