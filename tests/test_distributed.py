"""Distributed crawling against a real redis-server: workers share one Redis frontier (scrapy-redis)
and one writer keeps ONE dataset (harvester.distributed). The dataset equals a one-machine crawl's,
every worker does a fair share, a second run starts afresh, and a worker killed with SIGKILL
loses nothing: its leased requests are fetched by another worker."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import redis

from conftest import ROOT, TEST_OVERRIDES

pytestmark = pytest.mark.redis

LATENCY = 0.2          # seconds per answer, as a real portal costs: work spreads over the workers
SETTINGS = {**TEST_OVERRIDES, "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "OGI_IDLE_BEFORE_CLOSE": "3"}

SAME = {
    "documents": "select sha256, size from documents",
    "reports": "select id, agency, year, template, t2, t3, t4, n_documents, n_urls, canonical_sha256 from reports",
    "sightings": "select report_id, url, sha256, role, portal, referrer from sightings",
    "cells": "select report_id, cell_id, value from cells",
    "fetched URLs": "select distinct url from fetches",
    "urls": "select url, portal, kind, status, sha256 from urls",
    "candidates": "select url, portal, decision, verdict from candidates",
    "parses": "select sha256, is_report, agency, year from parses",
}


def rows(db, sql):
    with sqlite3.connect(db) as conn:
        return set(conn.execute(sql).fetchall())


def ogi(*args, settings=None):
    sets = [x for name, value in {**SETTINGS, **(settings or {})}.items() for x in ("--set", f"{name}={value}")]
    return subprocess.Popen([sys.executable, "-m", "harvester.cli", "--log-level", "WARNING", *map(str, args), *sets],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def writer(registry, db, redis_url, settings=None):
    proc = ogi("crawl", "--distributed", "--writer", "--portals", registry, "--db", db, "--redis-url", redis_url,
               settings=settings)
    server = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while not server.get("ogi:run"):          # the run is open: workers may join
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    return proc


def worker(redis_url, settings=None):
    return ogi("crawl", "--distributed", "--redis-url", redis_url, settings=settings)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode in (0, 1), out[-3000:] + err[-3000:]      # 1 = some portal had errors, by design
    return out, err


@pytest.fixture()
def slow_portals(sample_portals):
    sample_portals.latency = LATENCY
    yield sample_portals
    sample_portals.latency = 0


def assert_same_dataset(db, single):
    for name, sql in SAME.items():
        got, want = rows(db, sql), rows(single, sql)
        assert got == want, f"{name}: {len(got)} rows vs {len(want)}; only here {sorted(got - want)[:3]}, " \
                            f"missing {sorted(want - got)[:3]}"


def test_workers_write_one_dataset_each_a_fair_share(sample_registry, crawled, redis_url, slow_portals, tmp_path):
    db = tmp_path / "ogi.db"
    w = writer(sample_registry, db, redis_url)
    workers = [worker(redis_url) for _ in range(2)]
    outs = [finish(p) for p in workers]
    out, err = finish(w)
    assert "distributed run" in out and "2 workers" in out, out
    assert_same_dataset(db, crawled["db"])
    fetched = sorted(r[0] for r in sqlite3.connect(db).execute("select url from fetches"))
    # No URL fetched by two workers: each as often as one machine fetches it (a list read statically
    # and then in the browser is fetched twice there too).
    assert fetched == sorted(r[0] for r in sqlite3.connect(crawled["db"]).execute("select url from fetches"))
    # Every worker did a fair share, and each said why it ended.
    counts = [int(o.strip().rsplit("fetched ", 1)[1]) for o, _ in outs]
    assert sum(counts) >= len(fetched)
    assert min(counts) >= 0.25 * sum(counts), counts
    for o, _ in outs:
        assert "frontier empty and no request leased by any worker for 3.0 s" in o, o
    # The runs are the writer's, in the one database: finished, with the workers' merged stats.
    runs = list(sqlite3.connect(db).execute("select status, stats from crawl_runs"))
    assert len(runs) == len(rows(crawled["db"], "select id from crawl_runs"))
    assert all(status == "finished" for status, _ in runs), runs


def test_a_new_run_starts_with_a_fresh_seen_set(sample_registry, crawled, redis_url, slow_portals, tmp_path):
    """Two runs against the same Redis: the second fetches everything again (never "0 fetched"),
    and a finished run leaves no key behind."""
    server = redis.Redis.from_url(redis_url)
    for n in range(2):
        db = tmp_path / f"run{n}" / "ogi.db"
        w = writer(sample_registry, db, redis_url)
        finish(worker(redis_url))
        finish(w)
        assert rows(db, SAME["fetched URLs"]) == rows(crawled["db"], SAME["fetched URLs"])
        assert not server.keys("ogi:*"), server.keys("ogi:*")


def test_a_worker_killed_mid_crawl_loses_nothing(sample_registry, crawled, redis_url, slow_portals, tmp_path):
    db = tmp_path / "ogi.db"
    server = redis.Redis.from_url(redis_url)
    w = writer(sample_registry, db, redis_url)
    victim, survivor = worker(redis_url), worker(redis_url)
    # Kill the victim while it holds leased requests (fetching them), early in the crawl.
    deadline = time.monotonic() + 60
    held = 0
    while not held:
        assert time.monotonic() < deadline, "the victim never held a request"
        for key in server.scan_iter(match="ogi:*:requests:owners"):
            held += sum(1 for owner in server.hvals(key) if f"-{victim.pid}-".encode() in owner)
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()
    out, err = finish(survivor)
    assert "put back on the frontier" in err, err[-3000:]
    wout, _ = finish(w)
    assert "left unfetched" not in wout, wout
    assert_same_dataset(db, crawled["db"])


def test_a_writer_killed_mid_write_resumes_from_what_it_left(sample_registry, crawled, redis_url, slow_portals,
                                                             tmp_path):
    """SIGKILL the writer while it writes; the same command started again takes the run back and
    applies what the dead writer had read but not acknowledged, and what came since."""
    db = tmp_path / "ogi.db"
    # Workers wait while the writer trails by more than 3 items: the dead writer stalls them.
    backlog = {"OGI_STREAM_MAX_ITEMS": "3"}
    w = writer(sample_registry, db, redis_url, settings=backlog)
    workers = [worker(redis_url) for _ in range(2)]
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "the writer never wrote"
        try:
            if sqlite3.connect(db).execute("select count(*) from fetches").fetchone()[0] >= 5:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    os.kill(w.pid, signal.SIGKILL)
    w.communicate()
    time.sleep(2)
    again = ogi("crawl", "--distributed", "--writer", "--portals", sample_registry, "--db", db,
                "--redis-url", redis_url, settings=backlog)
    for p in workers:
        finish(p)
    out, err = finish(again)
    assert "resuming distributed run" in err, err[-3000:]
    assert_same_dataset(db, crawled["db"])
    runs = list(sqlite3.connect(db).execute("select status, stats from crawl_runs"))
    assert all(status == "finished" for status, _ in runs), out
    assert sum(json.loads(stats).get("ogi/stream_waits", 0) for _, stats in runs) >= 1


@pytest.fixture()
def persistent_redis(tmp_path):
    """A redis-server with its append-only file, fsynced on every write, that the test restarts."""
    import shutil
    from conftest import free_port
    port = free_port()
    cmd = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
           "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    procs = []

    def start():
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)

    def restart():
        redis.Redis(port=port).shutdown()          # SHUTDOWN: the append-only file is complete
        procs[-1].wait(timeout=10)
        start()

    start()
    yield f"redis://127.0.0.1:{port}", restart
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def test_redis_restarted_mid_crawl_loses_nothing(sample_registry, crawled, persistent_redis, slow_portals, tmp_path):
    url, restart = persistent_redis
    db = tmp_path / "ogi.db"
    # While Redis is away a worker's reactor waits on it, so a download may time out: retried as
    # by default (the one-machine crawl's final outcomes are the same with or without retries).
    retry = {"RETRY_TIMES": "2"}
    w = writer(sample_registry, db, url, settings=retry)
    workers = [worker(url, settings=retry) for _ in range(2)]
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "the writer never wrote"
        try:
            if sqlite3.connect(db).execute("select count(*) from fetches").fetchone()[0] >= 5:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    restart()
    for p in workers:
        finish(p)
    out, _ = finish(w)
    assert "left unfetched" not in out, out
    assert_same_dataset(db, crawled["db"])
