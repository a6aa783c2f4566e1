"""Distributed crawls: N workers share one frontier in Redis, ONE writer keeps the dataset.

    ogi crawl --distributed --writer --portals P --db D --redis-url R    (one, next to the database)
    ogi crawl --distributed --redis-url R                                (any number, anywhere)

The writer opens a run: a fresh token, the portals and their crawl_runs ids under
`ogi:<token>:info`, and `ogi:run` pointing at it. Every Redis key of the run carries the token,
so a new run never sees an old run's fingerprints. Workers join the current run and crawl its
portals with scrapy-redis's scheduler and dupefilter (keys `ogi:<token>:portal:<name>:…`); what
they scrape (bodies, candidates, errors) goes to the stream `ogi:<token>:items` instead of a
database (a worker takes no new request while the writer trails by more than OGI_STREAM_MAX_ITEMS).
The writer reads that stream through a consumer group and applies every item with the
crawl's own ITEM_PIPELINES (harvester.pipelines: store, parse, record), acknowledging it once
written; when every worker has ended, it closes the runs with harvester.crawl.finish_runs (the
same code as a one-machine crawl) and deletes the run's keys.

Leases (nothing lost when a worker dies): a request popped from the frontier is moved, in one
Lua call, to the run's lease hash under the worker's id; it is released when its callback or
errback has run to the end (everything it yielded is queued or streamed), or when it re-enters
the frontier (a retry, a redirect). Each worker refreshes `ogi:<token>:alive:<worker>` every
second; leases of a worker whose key expired (OGI_WORKER_TTL, default 5 s) go back to the
frontier, put there by any worker that is waiting for work (an idle worker also puts back its own
leases: with nothing in flight, one it still holds is an orphan of a retried pop).

The writer dies: the same command started again on the same host and database takes the run back
(`resumable_run`) and first applies the consumer group's pending entries, what the dead writer
read but never acknowledged. What must outlive any one process lives in Redis: each worker's end
of each portal (`ogi:<token>:ends`), who fetched what (`:fetched`), the writer's counts (`:counts`).

Ending: a worker whose frontier is empty waits; it ends a portal when the frontier has been empty
and no request is leased by any worker for OGI_IDLE_BEFORE_CLOSE seconds (default 10), and says
so. (scrapy-redis's SCHEDULER_IDLE_BEFORE_CLOSE is a blocking pop that only its list queues
support and that would block every portal of the process; MAX_IDLE_TIME_BEFORE_CLOSE applies only
to RedisSpider.) An idle worker polls the frontier every OGI_FRONTIER_POLL seconds (default 0.2)
instead of Scrapy's 5 s heartbeat.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict
from types import SimpleNamespace

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from harvester import db as dbmod
from harvester.items import Candidate, CrawlError, FetchedBody
from harvester.spiders.portal import PortalSpider

log = logging.getLogger(__name__)

CURRENT = "ogi:run"
ITEM_KINDS = {"FetchedBody": FetchedBody, "Candidate": Candidate, "CrawlError": CrawlError}
GROUP = "writers"


def prefix(token: str) -> str:
    return f"ogi:{token}"


def redis_params(outage: float | None = None) -> dict:
    """Client settings for every connection of a run: a command that meets a lost connection (Redis
    restarting, loading its append-only file) is retried for up to `outage` seconds
    (OGI_REDIS_OUTAGE, default 60) before the error is raised."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry
    outage = float(os.environ.get("OGI_REDIS_OUTAGE", 60) if outage is None else outage)
    return {"socket_timeout": 30, "socket_connect_timeout": 5,
            "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), max(1, int(outage))),
            "retry_on_error": [redis.ConnectionError, redis.TimeoutError]}


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **redis_params())


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Heartbeat(threading.Thread):
    """`ogi:<token>:alive:<who>` refreshed every second while the process lives (a thread, so a busy
    reactor does not make a live worker look dead)."""

    def __init__(self, url: str, token: str, who: str, ttl: float):
        super().__init__(daemon=True, name=f"ogi-heartbeat-{who}")
        self.server, self.key, self.ttl = connect(url), f"{prefix(token)}:alive:{who}", ttl
        self.stopping = threading.Event()
        self.beat()

    def beat(self):
        self.server.set(self.key, f"{socket.gethostname()} pid {os.getpid()}", px=int(self.ttl * 1000))

    def run(self):
        while not self.stopping.wait(min(1.0, self.ttl / 3)):
            try:
                self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat to Redis failed: %s", exc)

    def stop(self):
        self.stopping.set()
        self.server.delete(self.key)


def alive(server, token: str, who: str) -> bool:
    return bool(server.exists(f"{prefix(token)}:alive:{who}"))


# ---------------------------------------------------------------------------------- the frontier
_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
local id = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[2], id, r[1])
redis.call('HSET', KEYS[3], id, ARGV[1] .. '|' .. r[2])
return {id, r[1]}
"""
_REQUEUE = """
if redis.call('HDEL', KEYS[3], ARGV[1]) == 0 then return 0 end
local data = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if data then redis.call('ZADD', KEYS[1], ARGV[2], data) end
return 1
"""


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue, but a popped request is leased to this worker until acked."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.worker = spider.settings.get("OGI_WORKER_ID")
        self.token = spider.settings.get("OGI_RUN_TOKEN")
        self.keys = [self.key, f"{self.key}:leases", f"{self.key}:owners", f"{self.key}:seq"]
        self._pop = server.register_script(_POP)
        self._requeue = server.register_script(_REQUEUE)

    def pop(self, timeout=0):
        got = self._pop(keys=self.keys, args=[self.worker])
        if not got:
            return None
        lease, data = got
        request = self._decode_request(data)
        request.meta["ogi_lease"] = int(lease)
        return request

    def ack(self, lease) -> None:
        pipe = self.server.pipeline()
        pipe.hdel(self.keys[1], lease).hdel(self.keys[2], lease)
        pipe.execute()

    def leased(self) -> int:
        return self.server.hlen(self.keys[2])

    def requeue_dead(self) -> int:
        return requeue_dead(self.server, self.token, self.keys, self._requeue)

    def requeue_own(self) -> int:
        """Called when this worker's crawler is idle: nothing of it is in flight, so a lease it still
        holds is an orphan (a pop whose reply a lost connection swallowed, then retried)."""
        back = 0
        for lease, owner in self.server.hgetall(self.keys[2]).items():
            worker, score = _s(owner).rsplit("|", 1)
            if worker == self.worker and self._requeue(keys=self.keys[:3], args=[lease, score]):
                back += 1
        if back:
            log.warning("%d orphaned leases of this worker put back on the frontier %s", back, self.key)
        return back

    def clear(self):
        self.server.delete(*self.keys)


def requeue_dead(server, token: str, keys: list[str], script=None) -> int:
    """Put the leases of workers that stopped beating back on the frontier; returns how many."""
    script = script or server.register_script(_REQUEUE)
    back = 0
    dead: dict[str, bool] = {}
    for lease, owner in server.hgetall(keys[2]).items():
        worker, score = _s(owner).rsplit("|", 1)
        if worker not in dead:
            dead[worker] = not alive(server, token, worker)
        if dead[worker] and script(keys=keys[:3], args=[lease, score]):
            back += 1
    if back:
        log.warning("%d requests leased by dead workers (%s) put back on the frontier %s", back,
                    ", ".join(w for w, d in dead.items() if d), keys[0])
    return back


def _acking(fn, release):
    """The callback or errback, releasing the request's lease when its output has been consumed
    (each yielded request queued, each item streamed) or it raised."""
    if fn is None:
        return None
    if inspect.isasyncgenfunction(fn):
        async def wrapped(*args, **kwargs):
            try:
                async for x in fn(*args, **kwargs):
                    yield x
            finally:
                release()
    elif inspect.iscoroutinefunction(fn):
        async def wrapped(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            finally:
                release()
    else:
        def wrapped(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
                if result is not None and not isinstance(result, (dict, str, bytes)) and hasattr(result, "__iter__"):
                    yield from result
                elif result is not None:
                    yield result
            finally:
                release()
    wrapped.ogi_original = fn
    return wrapped


class Scheduler(RedisScheduler):
    """scrapy-redis's scheduler with leases, quick polling when idle, and a patient, explained end."""

    @classmethod
    def from_crawler(cls, crawler):
        instance = super().from_crawler(crawler)
        instance.crawler = crawler
        instance.idle_wait = crawler.settings.getfloat("OGI_IDLE_BEFORE_CLOSE", 10)
        instance.poll = crawler.settings.getfloat("OGI_FRONTIER_POLL", 0.2)
        instance._idle_since = None
        instance.backlog_limit = crawler.settings.getint("OGI_STREAM_MAX_ITEMS", 1000)
        instance.stream = f"{prefix(crawler.settings.get('OGI_RUN_TOKEN'))}:items"
        instance._behind, instance._checked = False, 0.0
        crawler.signals.connect(instance._on_idle, signal=signals.spider_idle)
        return instance

    def _writer_behind(self) -> bool:
        """Backpressure: while the writer trails by more than OGI_STREAM_MAX_ITEMS items (bodies wait
        in Redis's memory), take no new request; items keep their order (a worker never holds an
        item back while the requests yielded after it go ahead)."""
        now = time.monotonic()
        if now - self._checked >= min(self.poll, 0.2):
            self._checked = now
            behind = self.server.xlen(self.stream) > self.backlog_limit
            if behind and not self._behind:
                self.crawler.stats.inc_value("ogi/stream_waits")
            self._behind = behind
        return self._behind

    def open(self, spider):
        super().open(spider)
        # Scrapy asks an idle scheduler again only every 5 s; other workers fill this frontier.
        self.crawler.engine._SLOT_HEARTBEAT_INTERVAL = self.poll

    def enqueue_request(self, request):
        lease = request.meta.pop("ogi_lease", None)
        for attr in ("callback", "errback"):
            fn = getattr(request, attr)
            if fn is not None and hasattr(fn, "ogi_original"):
                setattr(request, attr, fn.ogi_original)
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            self.queue.push(request)
            return True
        finally:
            if lease is not None:     # a retry or redirect took the request's place (or was a duplicate)
                self.queue.ack(lease)

    def next_request(self):
        if self._writer_behind():
            return None
        request = self.queue.pop()
        if request is None:
            return None
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        self._idle_since = None
        lease = request.meta["ogi_lease"]
        done = []

        def release():
            if not done:
                done.append(1)
                self.queue.ack(lease)
        request.callback = _acking(request.callback, release)
        request.errback = _acking(request.errback, release)
        return request

    def _on_idle(self, spider):
        if len(self.queue):
            self._idle_since = None
            raise DontCloseSpider
        if self.queue.requeue_own():
            raise DontCloseSpider
        if self.queue.leased():
            # Others are still fetching (their pages may add work), or died holding requests.
            self.queue.requeue_dead()
            self._idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
            spider.logger.info("frontier empty; waiting up to %.1f s for work from other workers", self.idle_wait)
        if now - self._idle_since < self.idle_wait:
            raise DontCloseSpider
        message = (f"frontier empty and no request leased by any worker for {self.idle_wait:.1f} s "
                   f"(OGI_IDLE_BEFORE_CLOSE): closing")
        spider.logger.warning("%s: %s", spider.portal_name, message)
        self.crawler.stats.set_value("ogi/close_reason", message)


class DistributedPortalSpider(PortalSpider):
    """The portal spider as a worker runs it: the start request is queued once per run, whichever
    worker gets there first (a dont_filter start request would otherwise be fetched N times)."""
    track_every_list = True
    # A worker knows only the reports it followed itself, so "the menus led to no report" cannot be
    # judged on one worker: no site search in distributed crawls (yet).
    searches_site = False

    async def start(self):
        server = connect(self.settings.get("REDIS_URL"))
        key = f"{prefix(self.settings.get('OGI_RUN_TOKEN'))}:{self.name}:started"
        if not server.set(key, self.settings.get("OGI_WORKER_ID"), nx=True):
            return
        async for request in super().start():
            yield request


class StreamPipeline:
    """A worker's only pipeline: every item goes to the run's stream, for the writer."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.server = connect(settings.get("REDIS_URL"))
        self.stream = f"{prefix(settings.get('OGI_RUN_TOKEN'))}:items"
        self.worker = settings.get("OGI_WORKER_ID")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        kind = type(item).__name__
        if kind not in ITEM_KINDS:
            return item
        data = asdict(item)
        body = data.pop("body", b"") or b""
        self.server.xadd(self.stream, {"kind": kind, "worker": self.worker,
                                       "run_id": str(self.crawler.spider.run_id),
                                       "data": json.dumps(data, ensure_ascii=False, default=str), "body": body})
        self.crawler.stats.inc_value("ogi/streamed/" + kind)
        if isinstance(item, FetchedBody):
            if item.how == "network":     # who fetched what, kept in Redis: it outlives any process
                self.server.hincrby(f"{prefix(self.crawler.settings.get('OGI_RUN_TOKEN'))}:fetched",
                                    f"{self.crawler.spider.portal_name}|{self.worker}", 1)
            item.body = b""
        return item


# ---------------------------------------------------------------------------------- workers
def wait_for_run(server, wait: float) -> str | None:
    deadline = time.monotonic() + wait
    while True:
        token = server.get(CURRENT)
        if token and server.exists(f"{prefix(_s(token))}:info"):
            return _s(token)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


def run_worker(redis_url: str | None, *, overrides=None, log_level="INFO", concurrent_portals: int = 4,
               join_wait: float | None = None) -> dict:
    """Join the current run, crawl its portals until their frontiers stay empty, stream every item.
    Returns {"run": token, "worker": id, "portals": {name: {...}}}; no database is written."""
    from scrapy.crawler import CrawlerProcess

    from harvester.crawl import build_settings, portal_settings, run_crawlers

    redis_url = redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    server = connect(redis_url)
    scratch = tempfile.mkdtemp(prefix="ogi-worker-")
    settings = build_settings(os.path.join(scratch, "unused.db"), overrides, log_level, True, redis_url)
    join_wait = settings.getfloat("OGI_JOIN_WAIT", 60) if join_wait is None else join_wait
    token = wait_for_run(server, join_wait)
    if token is None:
        shutil.rmtree(scratch, ignore_errors=True)
        raise RuntimeError(f"no distributed run to join at {redis_url} after {join_wait:.0f} s: "
                           "start `ogi crawl --distributed --writer` first")
    info = json.loads(server.get(f"{prefix(token)}:info"))
    worker = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    ttl = settings.getfloat("OGI_WORKER_TTL", 5)
    heartbeat = Heartbeat(redis_url, token, worker, ttl)
    heartbeat.start()
    server.sadd(f"{prefix(token)}:workers", worker)
    log.warning("worker %s joined run %s (%d portals)", worker, token, len(info["portals"]))
    for name, value in (info.get("overrides") or {}).items():
        if name not in (overrides or {}):
            settings.set(name, value, priority="cmdline")
    settings.set("REDIS_PARAMS", redis_params(), priority="cmdline")   # scrapy-redis's own connection
    settings.set("SCHEDULER", "harvester.distributed.Scheduler", priority="cmdline")
    settings.set("SCHEDULER_QUEUE_CLASS", "harvester.distributed.LeasedQueue", priority="cmdline")
    settings.set("SCHEDULER_QUEUE_KEY", f"{prefix(token)}:%(spider)s:requests", priority="cmdline")
    settings.set("SCHEDULER_DUPEFILTER_KEY", f"{prefix(token)}:%(spider)s:dupefilter", priority="cmdline")
    settings.set("ITEM_PIPELINES", {"harvester.distributed.StreamPipeline": 100}, priority="cmdline")
    settings.set("OGI_INCREMENTAL", False, priority="cmdline")   # the store is the writer's, not here
    # Scrapy pulls up to CONCURRENT_REQUESTS from the scheduler at once and queues them per domain;
    # a worker takes from the shared frontier only what it can fetch now, the rest stays for others.
    settings.set("CONCURRENT_REQUESTS", min(settings.getint("CONCURRENT_REQUESTS"),
                                            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")), priority="cmdline")
    settings.set("OGI_RUN_TOKEN", token, priority="cmdline")
    settings.set("OGI_WORKER_ID", worker, priority="cmdline")

    process = CrawlerProcess(settings)
    results: dict[str, dict] = {}
    jobs = []
    for n, portal in enumerate(info["portals"]):
        attrs = {"custom_settings": portal_settings(portal), "name": f"portal:{portal['name']}"}
        spidercls = type(f"DistributedPortalSpider_{n}", (DistributedPortalSpider,), attrs)
        crawler = process.create_crawler(spidercls)
        run_id = info["run_ids"][portal["name"]]

        def closed(spider, reason, crawler=crawler, portal=portal):
            stats = crawler.stats.get_stats()
            lists = {url: {"stated": v["stated"], "found": sorted(v["found"])} for url, v in spider._lists.items()}
            end = {"portal": portal["name"], "reason": reason, "counts": dict(spider.counts), "lists": lists,
                   "stats": json.loads(json.dumps(stats, default=str))}
            server.hset(f"{prefix(token)}:ends", f"{portal['name']}|{worker}", json.dumps(end, ensure_ascii=False))
            results[portal["name"]] = {"reason": reason, "fetched": stats.get("ogi/streamed/FetchedBody", 0),
                                       "close": stats.get("ogi/close_reason")}
        crawler.signals.connect(closed, signal=signals.spider_closed)
        jobs.append((portal, run_id, crawler, closed))   # (signals hold receivers weakly)

    try:
        run_crawlers(process, [(crawler, portal, run_id) for portal, run_id, crawler, _ in jobs], concurrent_portals)
    finally:
        server.sadd(f"{prefix(token)}:ended", worker)
        heartbeat.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return {"run": token, "worker": worker, "portals": results}


# ---------------------------------------------------------------------------------- the writer
class _RunShim:
    """What the pipelines need of a Scrapy crawler: settings, and a spider with run_id and counts."""

    def __init__(self, settings, portal: dict, run_id: int):
        self.settings = settings
        self.spider = SimpleNamespace(run_id=run_id, portal_name=portal["name"], counts=Counter(), name=portal["name"])


def _merge_stats(parts: list[dict]) -> dict:
    merged: dict = {}
    for stats in parts:
        for name, value in stats.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(merged.get(name, 0), (int, float)):
                merged[name] = merged.get(name, 0) + value
            elif name not in merged:
                merged[name] = value
    return merged


def run_writer(portals_file, db_path, *, only=(), redis_url=None, overrides=None, log_level="INFO",
               wait: bool = True):
    """The writer of a distributed run (under the database's writer lock, like any crawl)."""
    with dbmod.writer(db_path, wait=wait, what="ogi crawl --distributed --writer"):
        return _run_writer(portals_file, db_path, only=only, redis_url=redis_url, overrides=overrides,
                           log_level=log_level)


def resumable_run(server, db_path) -> tuple[str, dict] | None:
    """The current run, if its writer is dead and it was writing this database on this host: a
    restarted writer takes it back and applies what the dead one never acknowledged."""
    token = server.get(CURRENT)
    if not token:
        return None
    token = _s(token)
    raw = server.get(f"{prefix(token)}:info")
    if not raw or _writer_alive(server, token):
        return None
    info = json.loads(raw)
    if info.get("db") != str(os.path.abspath(db_path)) or info.get("host") != socket.gethostname():
        return None
    return token, info


def _writer_alive(server, token: str) -> bool:
    """The run's writer beats; on this host, a beat left by a process that is gone does not count."""
    from harvester.crawl import _alive
    beat = server.get(f"{prefix(token)}:alive:writer")
    if not beat:
        return False
    host, _, pid = _s(beat).partition(" pid ")
    return host != socket.gethostname() or not pid.isdigit() or _alive(int(pid))


def _open_run(server, redis_url, info: dict, ttl: float) -> tuple[str, Heartbeat]:
    token = uuid.uuid4().hex[:12]
    server.set(f"{prefix(token)}:info", json.dumps(info, ensure_ascii=False))
    heartbeat = Heartbeat(redis_url, token, "writer", ttl)
    heartbeat.start()
    while not server.set(CURRENT, token, nx=True):
        old = server.get(CURRENT)
        if old is None:
            continue
        old = _s(old)
        if _writer_alive(server, old):
            heartbeat.stop()
            server.delete(f"{prefix(token)}:info")
            holder = _s(server.get(f"{prefix(old)}:alive:writer") or b"?")
            raise RuntimeError(f"a distributed run ({old}) is in progress at {redis_url}; its writer is {holder}")
        log.warning("run %s has no writer any more: replaced by run %s", old, token)
        delete_run(server, old)
    server.xgroup_create(f"{prefix(token)}:items", GROUP, id="0", mkstream=True)
    return token, heartbeat


def delete_run(server, token: str) -> None:
    keys = list(server.scan_iter(match=f"{prefix(token)}:*", count=1000))
    for i in range(0, len(keys), 500):
        server.delete(*keys[i:i + 500])
    server.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                1, CURRENT, token)


def _run_writer(portals_file, db_path, *, only=(), redis_url=None, overrides=None, log_level="INFO"):
    from scrapy.utils.log import configure_logging

    from harvester.crawl import build_settings, mark_killed_runs, portal_settings
    from harvester.registry import load_portals

    redis_url = redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    settings = build_settings(db_path, overrides, log_level)
    configure_logging({"LOG_LEVEL": log_level})
    portals = load_portals(portals_file)
    if only:
        portals = [p for p in portals if p["name"] in set(only)]
    database = dbmod.open_db(db_path)
    server = connect(redis_url)
    ttl = settings.getfloat("OGI_WORKER_TTL", 5)
    resumed = resumable_run(server, db_path)
    if resumed:
        token, info = resumed
        portals, run_ids = info["portals"], info["run_ids"]
        mark_killed_runs(database, keep=set(run_ids.values()))
        for run_id in run_ids.values():
            database["crawl_runs"].update(run_id, {"pid": os.getpid()})
        heartbeat = Heartbeat(redis_url, token, "writer", ttl)
        heartbeat.start()
        log.warning("resuming distributed run %s: its writer died; applying what it left unacknowledged", token)
        return _write_run(server, redis_url, db_path, settings, portals, run_ids, token, heartbeat)
    mark_killed_runs(database)
    run_ids = {}
    for portal in portals:
        custom = portal_settings(portal)
        run_ids[portal["name"]] = database["crawl_runs"].insert({
            "portal": portal["name"], "spider": f"portal:{portal['name']}", "started": dbmod.now(),
            "status": "running", "robots_obeyed": int(custom.get("ROBOTSTXT_OBEY", settings.getbool("ROBOTSTXT_OBEY"))),
            "pid": os.getpid(), "host": socket.gethostname(),
            "settings": dbmod.dumps({**custom, "distributed": True})}).last_pk
    info = {"portals": portals, "run_ids": run_ids, "overrides": dict(overrides or {}), "started": dbmod.now(),
            "writer": f"{socket.gethostname()} pid {os.getpid()}", "host": socket.gethostname(),
            "db": str(os.path.abspath(db_path))}
    token, heartbeat = _open_run(server, redis_url, info, ttl)
    for name, run_id in run_ids.items():
        database["crawl_runs"].update(run_id, {"settings": dbmod.dumps(
            {**portal_settings(next(p for p in portals if p["name"] == name)), "distributed": token})})
    log.warning("distributed run %s open: workers join with `ogi crawl --distributed --redis-url %s`",
                token, redis_url)
    return _write_run(server, redis_url, db_path, settings, portals, run_ids, token, heartbeat)


def _write_run(server, redis_url, db_path, settings, portals, run_ids, token, heartbeat):
    from scrapy.utils.misc import load_object

    from harvester.crawl import finish_runs
    from harvester.pipelines import close_dbs, shutdown_pool

    try:
        shims = {name: _RunShim(settings, next(p for p in portals if p["name"] == name), run_id)
                 for name, run_id in run_ids.items()}
        order = sorted(settings.getdict("ITEM_PIPELINES").items(), key=lambda kv: kv[1])
        pipelines = {name: [load_object(path).from_crawler(shim) for path, _ in order]
                     for name, shim in shims.items()}
        by_run = {run_id: name for name, run_id in run_ids.items()}
        saved = server.hgetall(f"{prefix(token)}:counts")      # a resumed run: what the dead writer counted
        for name, raw in saved.items():
            if _s(name) in pipelines:
                pipelines[_s(name)][0].spider.counts.update(json.loads(raw))
        ends = asyncio.run(_consume(server, token, pipelines, by_run, settings))
        for name, pipes in pipelines.items():
            # The counts the spiders kept (list pages, candidates…) join what the pipelines counted
            # (reports, parse errors); RecordPipeline writes them to the run's row, as in a crawl.
            counts = pipes[0].spider.counts
            for end in ends["ends"].get(name, []):
                counts.update(end["counts"])
            for pipe in pipes:
                if hasattr(pipe, "close_spider"):
                    pipe.close_spider()
    finally:
        shutdown_pool()
        close_dbs()
        heartbeat.stop()
    finished = []
    for portal in portals:
        name = portal["name"]
        parts = ends["ends"].get(name, [])
        stats = _merge_stats([e["stats"] for e in parts])
        reasons = {e["reason"] for e in parts} or {"killed"}
        stats["finish_reason"] = "finished" if reasons == {"finished"} else sorted(reasons - {"finished"})[0]
        stats["ogi/workers"] = sorted({e["worker"] for e in parts})
        stats["ogi/fetched_by"] = dict(ends["fetched_by"].get(name, {}))
        stats["ogi/close_reason"] = sorted({e["stats"].get("ogi/close_reason") or e["reason"] for e in parts})
        lists: dict[str, dict] = {}
        for e in parts:
            for url, v in e["lists"].items():
                x = lists.setdefault(url, {"stated": None, "found": set()})
                if v["stated"] is not None:
                    x["stated"] = max(x["stated"] or 0, v["stated"])
                x["found"].update(v["found"])
        stats["ogi/lists"] = [{"url": url, "stated": v["stated"], "found": len(v["found"])}
                              for url, v in lists.items() if v["stated"] is not None]
        stats["ogi/distributed_run"] = token
        if name in ends["leftover"]:
            stats["finish_reason"] = "incomplete"
        finished.append((portal, run_ids[name], stats))
    summary = finish_runs(db_path, finished)
    summary.distributed = {"run": token, "workers": ends["workers"], "fetched_by": ends["fetched_total"],
                           "leftover": ends["leftover"]}
    delete_run(server, token)
    return summary


async def _consume(server, token: str, pipelines: dict, by_run: dict, settings) -> dict:
    """Apply the stream's items with the pipelines until every worker that joined has ended (or
    died and its work was taken over) and nothing is left unread. A restarted writer first applies
    what the dead one read but never acknowledged (the consumer group's pending entries)."""
    stream, p = f"{prefix(token)}:items", prefix(token)
    consumer = "writer"
    join_wait = settings.getfloat("OGI_WRITER_WAIT", 600)
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    window = asyncio.Semaphore(max(4, 4 * settings.getint("OGI_PARSE_WORKERS")))
    tasks: set[asyncio.Task] = set()
    workers: set[str] = set()
    reading = "0"          # first this consumer's pending entries, then new ones (">")

    from harvester.pipelines import write_batch
    batch = write_batch(settings.get("OGI_DB_PATH"), settings)
    applied: list[tuple] = []      # applied, not yet acknowledged: acknowledged once committed

    def done(msg_id, portal):
        applied.append((msg_id, portal))

    def commit_and_ack():
        # An item is acknowledged only once its rows are committed (the WriteBatch groups many per
        # transaction): a writer killed in between applies it again, never loses it. The pipelines'
        # counts (reports, parse errors) go to Redis with the acknowledgements, so a writer that
        # takes over the run goes on counting from there.
        batch.commit()
        if not applied:
            return
        pipe = server.pipeline()
        for portal in {portal for _, portal in applied}:
            pipe.hset(f"{p}:counts", portal, json.dumps(dict(pipelines[portal][0].spider.counts)))
        ids = [msg_id for msg_id, _ in applied]
        pipe.xack(stream, GROUP, *ids).xdel(stream, *ids)
        pipe.execute()
        applied.clear()

    async def apply(msg_id, fields, portal):
        try:
            kind = _s(fields[b"kind"])
            data = json.loads(fields[b"data"])
            if kind == "FetchedBody":
                item = FetchedBody(**{**data, "body": fields.get(b"body", b"")})
            else:
                item = ITEM_KINDS[kind](**data)
            for pipeline in pipelines[portal]:
                result = pipeline.process_item(item)
                if inspect.isawaitable(result):
                    result = await result
                item = result
        except Exception as exc:   # as in a crawl: an item that fails is an errors row, never a stop
            log.exception("writing %s failed", msg_id)
            from harvester.pipelines import record_error, shared_db
            record_error(shared_db(settings.get("OGI_DB_PATH")), pipelines[portal][0].spider.run_id, portal,
                         None, "writer_error", repr(exc))
        finally:
            done(msg_id, portal)
            window.release()

    while True:
        commit_and_ack()
        got = await loop.run_in_executor(None, lambda: server.xreadgroup(
            GROUP, consumer, {stream: reading}, count=200, block=None if reading == "0" else 300))
        messages = got[0][1] if got else []
        for msg_id, fields in messages:
            if not fields:        # acknowledged-and-deleted by a writer that died in between
                server.xack(stream, GROUP, msg_id)
                continue
            workers.add(_s(fields[b"worker"]))
            run_id = _s(fields[b"run_id"])
            portal = by_run.get(int(run_id)) if run_id.isdigit() else None
            if portal is None:
                server.xack(stream, GROUP, msg_id)
                server.xdel(stream, msg_id)
                continue
            await window.acquire()
            task = asyncio.ensure_future(apply(msg_id, fields, portal))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if reading == "0":
            # Pending entries stay pending until applied: finish these before asking again.
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)
            if not messages:
                reading = ">"
            continue
        if messages:
            continue
        joined = {_s(w) for w in server.smembers(f"{p}:workers")}
        ended = {_s(w) for w in server.smembers(f"{p}:ended")}
        if not joined:
            if time.monotonic() - started > join_wait:
                log.warning("no worker joined run %s within %.0f s (OGI_WRITER_WAIT)", token, join_wait)
                break
            continue
        if any(alive(server, token, w) for w in joined - ended):
            continue
        # Every worker ended or died: what is still queued or leased nobody will fetch.
        if tasks:
            await asyncio.gather(*list(tasks), return_exceptions=True)
            continue
        if server.xlen(stream):
            continue
        break
    if tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)
    commit_and_ack()
    ends: dict[str, list] = {}
    for key, raw in server.hgetall(f"{p}:ends").items():
        portal, worker = _s(key).split("|", 1)
        ends.setdefault(portal, []).append({**json.loads(raw), "worker": worker})
    fetched_by: dict[str, Counter] = {}
    fetched_total: Counter = Counter()
    for key, n in server.hgetall(f"{p}:fetched").items():
        portal, worker = _s(key).split("|", 1)
        fetched_by.setdefault(portal, Counter())[worker] += int(n)
        fetched_total[worker] += int(n)
    workers |= {_s(w) for w in server.smembers(f"{p}:workers")}
    leftover = {}
    for portal in by_run.values():
        key = f"{p}:portal:{portal}:requests"
        n = server.zcard(key) + server.hlen(f"{key}:owners")
        if n:
            leftover[portal] = n
            log.warning("portal %s: %d requests left unfetched (every worker ended or died)", portal, n)
    return {"ends": ends, "fetched_by": fetched_by, "fetched_total": dict(fetched_total),
            "workers": sorted(workers), "leftover": leftover}
