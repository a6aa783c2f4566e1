"""Crawl benchmarks: `ogi bench crawl` (ogi next to a plain Scrapy spider doing the same work),
`ogi bench recrawl` (a second crawl's cost) and `ogi bench distributed` (workers and one writer).

Everything runs in this invocation on this machine against sites served here, so ratios mean
something; none of it is a test. `ogi bench crawl` compares equal work: both crawlers fetch the same
URLs of one generated column with the same concurrency settings and store every body; rates are
means over each whole run, memory is the summed RSS of each crawl's process tree.
"""
from __future__ import annotations

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


# ---------------------------------------------------------------------------------- ogi bench crawl
COLUMN_PER_PAGE = 40      # reports per list page: each report page has one attachment


class _Column(BaseHTTPRequestHandler):
    """A generated 年报 column of the shape scrapy bench crawls (follow every link): list pages with a
    plain 下一页 link, report pages, one attachment each. Every link on it is one ogi follows too, so a
    spider that follows every link and ogi fetch the same URLs. Counts requests and the time of each."""
    protocol_version = "HTTP/1.1"
    list_pages = 10

    def do_GET(self):
        path = self.path.split("?")[0]
        match = re.fullmatch(r"/nb/index(?:_(\d+))?\.html", path)
        if match:
            page = int(match.group(1) or 0)
            items = "".join(f'<li><a href="/nb/{n // 1000}/t{n}.html">某某县第{n}局{2011 + n % 14}年政府信息公开工作年度报告'
                            f'</a><span>2024-01-01</span></li>'
                            for n in range(page * COLUMN_PER_PAGE, (page + 1) * COLUMN_PER_PAGE))
            nxt = f'<a href="/nb/index_{page + 1}.html">下一页</a>' if page + 1 < self.list_pages else ""
            body = (f'<html><head><meta charset="utf-8"><title>信息公开年报</title></head><body><ul>{items}</ul>'
                    f'{nxt}</body></html>')
            return self._send(body.encode(), "text/html; charset=utf-8")
        match = re.fullmatch(r"/nb/\d+/t(\d+)\.html", path)
        if match:
            n = match.group(1)
            body = (f'<html><head><meta charset="utf-8"><title>某某县第{n}局年度报告</title></head><body>'
                    f'<h1>某某县第{n}局政府信息公开工作年度报告</h1><div class="TRS_Editor"><p>一、总体情况</p>'
                    f'<p>{"本机关认真贯彻条例。" * 40}</p></div><a href="/nb/files/{n}.pdf">附件：年度报告{n}.pdf</a>'
                    f'</body></html>')
            return self._send(body.encode(), "text/html; charset=utf-8")
        if path.startswith("/nb/files/"):
            return self._send(b"%PDF-1.4 bench " + path.encode() * 50, "application/pdf")
        if path == "/robots.txt":
            return self._send(b"User-agent: *\nAllow: /\n", "text/plain")
        self._send(b"not found", "text/plain", 404)

    def _send(self, body: bytes, kind: str, status: int = 200):
        server = self.server
        server.requests += 1
        server.first = server.first or time.monotonic()
        server.last = time.monotonic()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def list_pages_for(pages: int) -> int:
    """List pages of the column closest to `pages` requests in all."""
    return max(1, round((pages - 1) / (1 + 2 * COLUMN_PER_PAGE)))


def column_size(list_pages: int) -> int:
    """Requests a full crawl of the column makes: robots.txt, list pages, report pages, attachments."""
    return 1 + list_pages * (1 + 2 * COLUMN_PER_PAGE)


def plain_spider_main(start_url: str, store: str, settings_json: str) -> None:
    """The baseline: a plain Scrapy spider that follows every link and stores every body under its
    sha256 (what any archiving crawler does), with the settings ogi got. Run as
    `python -m harvester.bench_crawl plain URL DIR SETTINGS_JSON`."""
    import hashlib
    import json
    import os

    import scrapy
    from scrapy.crawler import CrawlerProcess

    class Plain(scrapy.Spider):
        name = "plain"
        start_urls = [start_url]

        def parse(self, response):
            sha = hashlib.sha256(response.body).hexdigest()
            folder = os.path.join(store, sha[:2])
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, sha), "wb") as fh:
                fh.write(response.body)
            if isinstance(response, scrapy.http.TextResponse):
                yield from response.follow_all(css="a::attr(href)", callback=self.parse)

    process = CrawlerProcess(json.loads(settings_json))
    process.crawl(Plain)
    process.start()


def _sampled(cmd: list[str], server, env=None, cwd=None) -> dict:
    """Run one crawler process to its end, sampling its whole process tree's summed RSS against the
    pages the server has answered; the rates are means over the whole run."""
    from harvester import progress
    from harvester.bench_render import _memory, _tree

    import resource

    server.requests, server.first, server.last = 0, 0.0, 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    errors = []
    threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True).start()
    samples = []
    with progress.counter(server.expected, server.label) as tick:
        while proc.poll() is None:
            time.sleep(0.25)
            pids = _tree(proc.pid)
            rss, _ = _memory(pids)
            if rss:
                samples.append((server.requests, rss, len(pids)))
            tick.update(server.requests)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)    # the crawl and the processes it waited for
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {(errors or [''])[0][-2000:]}")
    return {"pages": server.requests, "elapsed": elapsed, "window": max(1e-6, server.last - server.first),
            "cpu": cpu, "samples": samples}


def bench_crawl(pages: int = 10_000, concurrency: int = 16, reference: str | None = None) -> None:
    """`ogi bench crawl`: ogi and a plain Scrapy spider storing every body, on the same generated
    column, with the same concurrency and politeness settings; mean pages/s over the whole run of
    each (process start to exit, and first to last request the server saw), their ratio, and the
    summed RSS of each crawl's process tree against pages crawled. `reference`: a checkout of ogi
    (e.g. the main branch) crawled too, for before/after figures from one run."""
    import json

    list_pages = list_pages_for(pages)
    _Column.list_pages = list_pages
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Column)
    server.daemon_threads = True
    server.expected = column_size(list_pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    start_url = f"http://127.0.0.1:{server.server_address[1]}/nb/index.html"
    from harvester import settings as ogi_settings

    # Equal settings for both, ogi's own CONCURRENT_ITEMS included; robots.txt obeyed by both, as ogi
    # does by default.
    same = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 10, "RETRY_TIMES": 0,
            "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "CONCURRENT_ITEMS": ogi_settings.CONCURRENT_ITEMS, "ROBOTSTXT_OBEY": True}
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            plain = {**same, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
                     "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor"}
            server.label = "plain Scrapy spider"
            results.append((server.label, _sampled(
                [sys.executable, "-m", "harvester.bench_crawl", "plain", start_url, str(Path(tmp) / "plain"),
                 json.dumps(plain)], server)))
            registry = Path(tmp) / "portals.yaml"
            registry.write_text(yaml.safe_dump({"portals": [{"name": "bench-column", "start_url": start_url,
                                                             "max_list_pages": list_pages + 5}]},
                                               allow_unicode=True), encoding="utf-8")
            runs = [("ogi crawl", None)] + ([(f"ogi crawl ({reference})", reference)] if reference else [])
            for n, (label, root) in enumerate(runs):
                cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl", "--portals",
                       str(registry), "--db", str(Path(tmp) / f"ogi{n}" / "ogi.db")]
                for name, value in {**same, "OGI_PARSE_IN_CRAWL": False}.items():
                    cmd += ["--set", f"{name}={json.dumps(value)}"]
                env = {**os.environ, "PYTHONPATH": str(Path(root).resolve())} if root else None
                server.label = label
                results.append((label, _sampled(cmd, server, env=env, cwd=root)))
    finally:
        server.shutdown()
    print(f"\none generated column: {list_pages} list pages, {list_pages * COLUMN_PER_PAGE} report pages and as many "
          f"attachments ({server.expected} requests); {concurrency} requests at a time, no delay, robots.txt obeyed")
    print(f"{'crawl':<34} {'pages':>6} {'run s':>7} {'pages/s':>8} {'fetch s':>8} {'pages/s':>8} {'CPU ms/page':>12} "
          f"{'vs plain':>9} {'by CPU':>7}")
    base = results[0][1]
    for label, r in results:
        rate, fetch_rate = r["pages"] / r["elapsed"], r["pages"] / r["window"]
        ratio = rate / (base["pages"] / base["elapsed"])
        cpu_ms = r["cpu"] / max(1, r["pages"]) * 1000
        by_cpu = (base["cpu"] / max(1, base["pages"])) / max(1e-9, r["cpu"] / max(1, r["pages"]))
        print(f"{label[:34]:<34} {r['pages']:>6} {r['elapsed']:>7.1f} {rate:>8.0f} {r['window']:>8.1f} "
              f"{fetch_rate:>8.0f} {cpu_ms:>12.2f} {ratio:>8.2f}x {by_cpu:>6.2f}x")
    print("(run s: process start to exit, start-up and ogi's closing work included; fetch s: first to last "
          "request the server answered; vs plain: whole-run pages/s as a multiple of the plain spider's; by CPU: "
          "the plain spider's CPU time per page over this crawl's, the same comparison on a loaded machine)")
    print(f"\nsummed RSS of each crawl's process tree (MB) when it had crawled this share of its pages")
    shares = (0.1, 0.25, 0.5, 0.75, 1.0)
    print(f"{'crawl':<34} " + " ".join(f"{s:>7.0%}" for s in shares) + f" {'peak':>7} {'procs':>6}")
    for label, r in results:
        samples, total = r["samples"], max(1, r["pages"])
        cells = []
        for share in shares:
            at = [rss for pages_done, rss, _ in samples if pages_done >= share * total]
            cells.append(f"{at[0]:>7.0f}" if at else f"{'-':>7}")
        peak = max((s[1] for s in samples), default=0)
        procs = max((s[2] for s in samples), default=0)
        print(f"{label[:34]:<34} " + " ".join(cells) + f" {peak:>7.0f} {procs:>6}")


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
    from harvester import progress, sample_portals

    steps = progress.counter(4, "bench recrawl", unit="crawls")

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
                steps()
        return out

    server = ThreadingHTTPServer(("127.0.0.1", 0), _count(_BenchSite))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    big = [{"name": "bench-column", "start_url": f"http://127.0.0.1:{server.server_address[1]}/xxgknb/index.html"}]
    with steps:
        results = [("one large column (60 list pages, 1200 reports)",
                    twice(big, lambda: (getattr(server, "requests", 0), getattr(server, "bytes_sent", 0))))]
        server.shutdown()
        with sample_portals.start(port=0, slow_delay=1) as portals:
            rows = [{"name": r["name"], "start_url": r["start_url"]}
                    for r in sample_portals.registry(portals.base_url)]
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
    from harvester import progress

    results = []
    try:
        with progress.counter(len(workers), "bench distributed", unit="runs") as steps:
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
                    steps()
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


if __name__ == "__main__" and sys.argv[1:2] == ["plain"]:
    plain_spider_main(*sys.argv[2:5])
