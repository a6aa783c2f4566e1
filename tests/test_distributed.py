"""Distributed crawling: two workers share one Redis frontier (scrapy-redis) against a real
redis-server; together they fetch what one worker fetches, and no URL twice."""
import subprocess
import sys

import pytest
import sqlite_utils

from conftest import ROOT, crawl_args

pytestmark = pytest.mark.redis


def fetched(db_path):
    return [r["url"] for r in sqlite_utils.Database(db_path).query(
        "select url from fetches where url in (select url from urls where kind in ('page', 'attachment'))")]


def test_two_workers_share_one_frontier(sample_registry, crawled, redis_url, tmp_path):
    procs = []
    for i in range(2):
        args = crawl_args(sample_registry, tmp_path / f"w{i}" / "ogi.db")
        args += ["--distributed", "--redis-url", redis_url]
        procs.append(subprocess.Popen([sys.executable, "-m", "harvester.cli", *map(str, args)], cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode in (0, 1), err[-3000:]     # 1 = some portal had errors, by design
    worker_urls = [fetched(tmp_path / f"w{i}" / "ogi.db") for i in range(2)]
    together = worker_urls[0] + worker_urls[1]
    assert len(together) == len(set(together)), "a URL was fetched by both workers"
    single = set(fetched(crawled["db"]))
    assert set(together) == single
