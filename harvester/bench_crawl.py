"""`ogi bench crawl`: crawl throughput on the local sample portals, next to `scrapy bench`.

Both run in this invocation on this machine, so the ratio means something; neither is a test.
Our crawl stores every body, parses every report in worker processes and writes SQLite; scrapy
bench only follows links. Copies of the sample registry (each its own crawler, so nothing is
deduplicated away) make the run long enough to measure.
"""
from __future__ import annotations

import re
import resource
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


def bench_crawl(seconds: int = 20, copies: int = 8) -> None:
    from harvester import sample_portals
    from harvester.db import open_db

    with tempfile.TemporaryDirectory() as tmp, sample_portals.start(port=0) as portals:
        base = sample_portals.registry(portals.base_url)
        rows = [{**p, "name": f"{p['name']}-{i}"} for i in range(copies) for p in base]
        registry = Path(tmp) / "portals.yaml"
        registry.write_text(yaml.safe_dump({"portals": rows}, allow_unicode=True), encoding="utf-8")
        db_path = Path(tmp) / "ogi.db"
        cmd = [sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", "crawl",
               "--portals", str(registry), "--db", str(db_path)]
        for name, value in {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "DOWNLOAD_TIMEOUT": "3",
                            "RETRY_TIMES": "0", "CONCURRENT_REQUESTS": "32",
                            "CONCURRENT_REQUESTS_PER_DOMAIN": "32"}.items():
            cmd += ["--set", f"{name}={value}"]
        started = time.monotonic()
        subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        database = open_db(db_path)
        pages = database.execute("select count(*) from fetches").fetchone()[0]
        documents = database["documents"].count

    ours = pages / elapsed * 60
    theirs = _scrapy_bench(seconds)
    print(f"{'crawler':<34} {'pages':>7} {'seconds':>8} {'pages/min':>10} {'peak RSS MB':>12}")
    print(f"{'ogi crawl (sample portals x' + str(copies) + ')':<34} {pages:>7} {elapsed:>8.1f} {ours:>10.0f} {peak_mb:>12.0f}")
    print(f"{'scrapy bench':<34} {'':>7} {seconds:>8} {theirs or float('nan'):>10.0f} {'':>12}")
    if theirs:
        print(f"\nogi crawl runs at {ours / theirs:.0%} of scrapy bench's pages/min "
              f"while storing {documents} distinct bodies and parsing every report "
              "(start-up and the parse of the last documents included).")
