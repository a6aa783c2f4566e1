"""`ogi bench crawl`: crawl throughput on the local sample portals, next to `scrapy bench`.

Both run in this invocation on this machine, so the ratio means something; neither is a test.
Our crawl stores every body, parses every report in worker processes and writes SQLite; scrapy
bench only follows links. Copies of the sample registry (each its own crawler, so nothing is
deduplicated away) make the run long enough to measure.
"""
from __future__ import annotations

import re
import resource
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def _scrapy_bench(seconds: int) -> float | None:
    """pages/min that `scrapy bench` reports (its own local server, no throttling)."""
    proc = subprocess.run([sys.executable, "-m", "scrapy", "bench", "-s", f"CLOSESPIDER_TIMEOUT={seconds}",
                           "-s", "LOG_LEVEL=INFO"], capture_output=True, text=True, timeout=seconds + 120,
                          cwd=tempfile.gettempdir())
    rates = [int(x) for x in re.findall(r"Crawled \d+ pages \(at (\d+) pages/min\)", proc.stderr)]
    rates = [r for r in rates if r > 0]
    return max(rates) if rates else None


LIST_PAGES, PER_PAGE = 60, 20


class _BenchSite(BaseHTTPRequestHandler):
    """A large TRS-style column generated on the fly: script pager, report pages, attachments."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        match = re.fullmatch(r"/xxgknb/index(?:_(\d+))?\.html", path)
        if match:
            page = int(match.group(1) or 0)
            items = "".join(
                f'<li><a href="./2024{n % 12 + 1:02d}/t2024{n % 12 + 1:02d}01_{n}.html">某某局{2000 + n % 25}年'
                f'政府信息公开工作年度报告（{n}）</a><span>2024-01-01</span></li>'
                f'<li><a href="./2024{n % 12 + 1:02d}/t2024_b{n}.html">某某局{2000 + n % 25}年部门预算</a></li>'
                for n in range(page * PER_PAGE, (page + 1) * PER_PAGE))
            body = (f'<html><head><meta charset="utf-8"><title>信息公开年报</title></head><body><ul>{items}</ul>'
                    f'<script>createPageHTML({LIST_PAGES}, {page}, "index", "html");</script></body></html>')
            return self._send(body.encode("utf-8"), "text/html; charset=utf-8")
        match = re.fullmatch(r"/xxgknb/(\d{6})/t\d+_(\d+)\.html", path)
        if match:
            n = match.group(2)
            body = (f'<html><head><meta charset="utf-8"><title>某某局年度报告{n}</title></head><body>'
                    f'<div class="TRS_Editor"><p>一、总体情况</p><p>{"本机关认真贯彻条例。" * 40}</p></div>'
                    f'<a href="./P0{n}.pdf">附件：年度报告{n}.pdf</a></body></html>')
            return self._send(body.encode("utf-8"), "text/html; charset=utf-8")
        if path.endswith(".pdf"):
            return self._send(b"%PDF-1.4 bench " + path.encode() * 50, "application/pdf")
        if path == "/robots.txt":
            return self._send(b"User-agent: *\nAllow: /\n", "text/plain")
        self.send_error(404)

    def _send(self, body: bytes, kind: str):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _run(registry_rows, parse: bool, extra=None) -> tuple[int, float, int]:
    from harvester.db import open_db

    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "portals.yaml"
        registry.write_text(yaml.safe_dump({"portals": registry_rows}, allow_unicode=True), encoding="utf-8")
        db_path = Path(tmp) / "ogi.db"
        cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl",
               "--portals", str(registry), "--db", str(db_path), "--concurrent-portals", "8"]
        for name, value in {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "DOWNLOAD_TIMEOUT": "3",
                            "RETRY_TIMES": "0", "CONCURRENT_REQUESTS": "32", "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
                            "OGI_PARSE_IN_CRAWL": "true" if parse else "false", **(extra or {})}.items():
            cmd += ["--set", f"{name}={value}"]
        started = time.monotonic()
        subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        database = open_db(db_path)
        pages = database.execute("select count(*) from fetches").fetchone()[0]
        documents = database["documents"].count
    return pages, elapsed, documents


def bench_crawl(seconds: int = 20) -> None:
    from harvester import sample_portals

    server = ThreadingHTTPServer(("127.0.0.1", 0), _BenchSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    big = [{"name": "bench-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/xxgknb/index.html"}]
    results = [("one large column, store every body", _run(big, parse=False))]
    peak_store = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    server.shutdown()
    # The slow page waits less than the timeout: the benchmark measures crawling, not waiting.
    with sample_portals.start(port=0, slow_delay=1) as portals:
        rows = sample_portals.registry(portals.base_url)
        results.append(("sample portals, store + parse every report", _run(rows, parse=True)))
    peak_all = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    theirs = _scrapy_bench(seconds)
    print(f"{'crawl':<46} {'pages':>6} {'seconds':>8} {'pages/min':>10} {'peak RSS MB':>12}")
    for (label, (pages, elapsed, _)), peak in zip(results, (peak_store, peak_all)):
        print(f"{label:<46} {pages:>6} {elapsed:>8.1f} {pages / elapsed * 60:>10.0f} {peak:>12.0f}")
    print(f"{'scrapy bench (its own local server)':<46} {'':>6} {seconds:>8} {theirs or float('nan'):>10.0f} {'':>12}")
    if theirs:
        pages, elapsed, documents = results[0][1]
        print(f"\nStoring every body: {pages / elapsed * 60 / theirs:.0%} of scrapy bench's pages/min "
              f"({documents} distinct bodies; process start-up and the report rebuild included). "
              "Parsing runs in worker processes; the second line includes OCR of a scanned report and a "
              "browser-rendered list. Peak RSS is the largest child process.")


def _count(handler_cls):
    """A subclass of the bench site's handler that counts requests and body bytes on its server."""
    class Counting(handler_cls):
        def _send(self, body: bytes, kind: str):
            self.server.requests = getattr(self.server, "requests", 0) + 1
            self.server.bytes_sent = getattr(self.server, "bytes_sent", 0) + len(body)
            super()._send(body, kind)
    return Counting


def bench_recrawl() -> None:
    """`ogi bench recrawl`: the second crawl of unchanged portals, in requests and bytes the servers
    answered, as a fraction of the first crawl (both crawls in this run, same settings)."""
    from harvester import sample_portals

    def twice(rows, counter):
        out = []
        with tempfile.TemporaryDirectory() as tmp:
            registry = Path(tmp) / "portals.yaml"
            registry.write_text(yaml.safe_dump({"portals": rows}, allow_unicode=True), encoding="utf-8")
            for _ in range(2):
                before = counter()
                started = time.monotonic()
                cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl",
                       "--portals", str(registry), "--db", str(Path(tmp) / "ogi.db")]
                for name, value in {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "RETRY_TIMES": "0",
                                    "DOWNLOAD_TIMEOUT": "3", "CONCURRENT_REQUESTS_PER_DOMAIN": "16"}.items():
                    cmd += ["--set", f"{name}={value}"]
                subprocess.run(cmd, capture_output=True, text=True)
                after = counter()
                out.append((after[0] - before[0], after[1] - before[1], time.monotonic() - started))
        return out

    server = ThreadingHTTPServer(("127.0.0.1", 0), _count(_BenchSite))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    big = [{"name": "bench-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/xxgknb/index.html"}]
    results = [("one large column (60 list pages, 1200 reports)",
                twice(big, lambda: (getattr(server, "requests", 0), getattr(server, "bytes_sent", 0))))]
    server.shutdown()
    with sample_portals.start(port=0, slow_delay=1) as portals:
        rows = [{"name": r["name"], "start_url": r["start_url"]} for r in sample_portals.registry(portals.base_url)]
        results.append(("sample portals (lists, APIs, browser, broken links)",
                        twice(rows, lambda: (portals.httpd.requests, portals.httpd.bytes_sent))))
    print(f"{'portals':<52} {'run':>4} {'requests':>9} {'bytes':>11} {'seconds':>8}")
    for label, runs in results:
        for n, (requests, sent, elapsed) in enumerate(runs, 1):
            print(f"{label if n == 1 else '':<52} {n:>4} {requests:>9} {sent:>11} {elapsed:>8.1f}")
        (r1, b1, _), (r2, b2, _) = runs
        print(f"{'':<52} {'2/1':>4} {r2 / max(1, r1):>9.0%} {b2 / max(1, b1):>11.0%}")
    print("\nThe second run fetches list pages, APIs and broken links again; known report pages and "
          "attachments come from the store until OGI_REVALIDATE_DAYS, then by conditional GET.")


def bench_distributed(workers=(1, 2, 4), latency: float = 0.1, per_worker: int = 4,
                      redis_url: str | None = None) -> None:
    """`ogi bench distributed`: one writer and 1, 2, 4 workers (processes on this machine) crawl the
    large bench column, whose server answers every request after `latency` seconds as a real portal
    does; pages/min per worker count and efficiency (pages/min at N / (N x pages/min at 1)), then
    Redis memory per million fingerprints."""
    import shutil
    import socket

    import redis as redislib

    class Slow(_BenchSite):
        def do_GET(self):
            time.sleep(latency)
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    big = [{"name": "bench-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/xxgknb/index.html"}]
    redis_proc = None
    if redis_url is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        redis_proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                                       "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        redis_url = f"redis://127.0.0.1:{port}"
        for _ in range(100):
            try:
                redislib.Redis.from_url(redis_url).ping()
                break
            except redislib.ConnectionError:
                time.sleep(0.1)
    sets = {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "DOWNLOAD_TIMEOUT": "10", "RETRY_TIMES": "0",
            "CONCURRENT_REQUESTS_PER_DOMAIN": str(per_worker), "OGI_PARSE_IN_CRAWL": "false",
            "OGI_IDLE_BEFORE_CLOSE": "2"}
    args = [x for name, value in sets.items() for x in ("--set", f"{name}={value}")]
    results = []
    try:
        for n in workers:
            with tempfile.TemporaryDirectory() as tmp:
                registry = Path(tmp) / "portals.yaml"
                registry.write_text(yaml.safe_dump({"portals": big}, allow_unicode=True), encoding="utf-8")
                db_path = Path(tmp) / "ogi.db"
                base = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl", "--distributed"]
                started = time.monotonic()
                writer = subprocess.Popen([*base, "--writer", "--portals", str(registry), "--db", str(db_path),
                                           "--redis-url", redis_url, *args],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                while not redislib.Redis.from_url(redis_url).get("ogi:run"):
                    time.sleep(0.05)
                procs = [subprocess.Popen([*base, "--redis-url", redis_url, *args], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for _ in range(n)]
                for p in procs:
                    p.communicate()
                workers_done = time.monotonic()
                writer.communicate()
                elapsed = time.monotonic() - started
                from harvester.db import open_db
                database = open_db(db_path)
                pages = database.execute("select count(*) from fetches").fetchone()[0]
                first, last = database.execute("select min(fetched_at), max(fetched_at) from fetches").fetchone()
                import datetime as dt
                window = max(1.0, (dt.datetime.fromisoformat(last) - dt.datetime.fromisoformat(first)).total_seconds())
                results.append((n, pages, elapsed, workers_done - started, window))
        print(f"one large column ({LIST_PAGES} list pages, {LIST_PAGES * PER_PAGE} reports), {latency * 1000:.0f} ms "
              f"per answer, {per_worker} requests at a time per worker, bodies stored, parsing off")
        print(f"{'workers':>7} {'pages':>6} {'wall s':>7} {'fetch s':>8} {'pages/min':>10} {'efficiency':>11}")
        base_rate = None
        for n, pages, elapsed, _, window in results:
            rate = pages / window * 60
            base_rate = base_rate or rate / n
            print(f"{n:>7} {pages:>6} {elapsed:>7.1f} {window:>8.0f} {rate:>10.0f} {rate / (n * base_rate):>11.2f}")
        print("(fetch s: first to last fetch in the database; wall s adds process start-up, the idle wait "
              "before workers end and the writer's closing; efficiency = pages/min at N / (N x pages/min at 1))")
        # Memory of the seen-set: fingerprints are 40 hex characters in a Redis set.
        r = redislib.Redis.from_url(redis_url)
        before = r.info("memory")["used_memory"]
        n_fp = 200_000
        pipe = r.pipeline(transaction=False)
        import hashlib
        for i in range(n_fp):
            pipe.sadd("ogi:bench:dupefilter", hashlib.sha1(str(i).encode()).hexdigest())
            if i % 10_000 == 9_999:
                pipe.execute()
        pipe.execute()
        used = r.info("memory")["used_memory"] - before
        r.delete("ogi:bench:dupefilter")
        print(f"\nRedis memory for the seen-set: {used / n_fp * 1_000_000 / 2**20:.0f} MB per million fingerprints "
              f"(measured with {n_fp:,}); a run's keys are deleted when its writer closes it.")
    finally:
        server.shutdown()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
