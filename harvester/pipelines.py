"""Item pipelines, each doing one thing, in the order settings give them:

StoreBodyPipeline  keeps every body in the content-addressed store and records documents/urls;
ParsePipeline      parses report pages and attachments in worker processes (never in the reactor);
RecordPipeline     writes parses, candidates and errors, and closes the crawl_runs row.

An exception inside a pipeline is caught and recorded as an `errors` row: it never stops the crawl.
Writes go through one WriteBatch per database: many items per transaction (OGI_COMMIT_ITEMS, or
OGI_COMMIT_SECONDS), plain SQL statements, so a page costs a few row writes and no commit of its own.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import json
import logging
import time
from pathlib import Path

from harvester import db as dbmod
from harvester.classify import verdict_after_parse
from harvester.items import DOCUMENT_ROLES, Candidate, CrawlError, FetchedBody
from harvester.store import BlobStore
from parsers.api import PARSER_VERSION

log = logging.getLogger(__name__)
PARSED_ROLES = set(DOCUMENT_ROLES)

_POOL = None          # harvester.parsing.WorkerPool
_DBS: dict[str, object] = {}


def parse_pool(workers: int):
    """One pool per process, shared by every portal's crawler; started lazily. It survives a
    worker dying (harvester.parsing.WorkerPool)."""
    global _POOL
    if _POOL is None:
        from harvester.parsing import WorkerPool
        _POOL = WorkerPool(workers)
    return _POOL


def shutdown_pool():
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=True)
        _POOL = None


def shared_db(path: str):
    """One connection per process and database path: the reactor thread does all writes."""
    if path not in _DBS:
        _DBS[path] = dbmod.open_db(path)
    return _DBS[path]


class WriteBatch:
    """The writes of one process to one database, grouped into transactions: committed once
    `items` items wrote or `seconds` passed since the first uncommitted one (and on a timer while a
    crawl is idle, and when it ends). A SIGKILL loses only the open transaction, whole: the database
    is always what an earlier kill would have left, and a resumed run fetches again what that
    transaction held (harvester.incremental answers only committed rows from the store).
    `after_commit` callbacks run right after a commit (the distributed writer acknowledges items
    to Redis only once they are in the database)."""

    def __init__(self, database, items: int = 500, seconds: float = 1.0):
        self.db, self.items, self.seconds = database, max(1, items), seconds
        self.pending, self.opened, self.timer = 0, None, None
        self._after: list = []

    def wrote(self, n: int = 1) -> None:
        self.pending += n
        if self.opened is None:
            self.opened = time.monotonic()
        if self.pending >= self.items or time.monotonic() - self.opened >= self.seconds:
            self.commit()

    def after_commit(self, callback) -> None:
        self._after.append(callback)

    def commit_if_due(self) -> None:
        if (self.pending or self._after) and (self.opened is None or time.monotonic() - self.opened >= self.seconds):
            self.commit()

    def commit(self) -> None:
        self.db.conn.commit()
        self.pending, self.opened = 0, None
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()

    def start_timer(self) -> None:
        """Commit on the reactor's clock too, so an idle crawl's last writes do not wait for more."""
        if self.timer is None:
            from twisted.internet import task
            self.timer = task.LoopingCall(self.commit_if_due)
            self.timer.start(max(0.05, self.seconds / 2), now=False)

    def stop_timer(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.timer = None


_BATCHES: dict[str, WriteBatch] = {}


def write_batch(path: str, settings=None) -> WriteBatch:
    """The one WriteBatch of this process for the database at `path`."""
    if path not in _BATCHES:
        items = settings.getint("OGI_COMMIT_ITEMS", 500) if settings is not None else 500
        seconds = settings.getfloat("OGI_COMMIT_SECONDS", 1.0) if settings is not None else 1.0
        _BATCHES[path] = WriteBatch(shared_db(path), items, seconds)
    return _BATCHES[path]


def close_dbs():
    for batch in _BATCHES.values():
        batch.stop_timer()
        batch.commit()
    _BATCHES.clear()
    for database in _DBS.values():
        database.conn.commit()
        database.conn.close()
    _DBS.clear()


def record_error(database, run_id, portal, url, kind, message):
    database.conn.execute("insert into errors (run_id, portal, url, kind, message, at) values (?, ?, ?, ?, ?, ?)",
                          [run_id, portal, url, kind, message[:2000], dbmod.now()])


class _Base:
    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.db_path = settings.get("OGI_DB_PATH")
        self.data_dir = Path(settings.get("OGI_DATA_DIR"))
        self.db = shared_db(self.db_path)
        self.batch = write_batch(self.db_path, settings)
        self.sql = self.db.conn.execute      # plain statements: no per-call schema reads

    def open_spider(self, spider=None):
        self.batch.start_timer()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def spider(self):
        return self.crawler.spider


class StoreBodyPipeline(_Base):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.store = BlobStore(self.data_dir)

    def process_item(self, item):
        if not isinstance(item, FetchedBody):
            return item
        stamp = item.fetched_at or dbmod.now()
        if item.how != "network":   # answered from the store (harvester.incremental): nothing new to keep
            return self._seen_again(item, stamp)
        sha, rel = self.store.put(item.body)
        item.sha256 = sha
        # One statement per row: first_* kept, last_* moved on (this runs once per fetched page).
        self.sql(
            "insert into documents (sha256, size, media_type, first_fetched, last_fetched, blob_path) "
            "values (?, ?, ?, ?, ?, ?) on conflict(sha256) do update set last_fetched = excluded.last_fetched",
            [sha, len(item.body), item.media_type, stamp, stamp, rel])
        self.sql("insert into fetches (url, sha256, status, run_id, fetched_at) values (?, ?, ?, ?, ?)",
                 [item.url, sha, item.status, self.spider.run_id, stamp])
        # The URL we asked for and every URL the redirects passed through all lead to this body.
        for url in [*item.redirect_urls, item.url]:
            self.sql(
                "insert into urls (url, portal, kind, status, sha256, referrer, link_text, first_seen, last_seen, "
                "run_id, error, etag, last_modified, validated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, ?) "
                "on conflict(url) do update set portal = excluded.portal, kind = excluded.kind, "
                "status = excluded.status, sha256 = excluded.sha256, referrer = excluded.referrer, "
                "link_text = excluded.link_text, last_seen = excluded.last_seen, run_id = excluded.run_id, "
                "error = null, etag = excluded.etag, last_modified = excluded.last_modified, "
                "validated_at = excluded.validated_at",
                [url, item.portal, item.role, item.status, sha, item.referrer, item.link_text, stamp, stamp,
                 self.spider.run_id, item.etag, item.last_modified, stamp])
        self.batch.wrote()
        return item

    def _seen_again(self, item, stamp):
        """A known URL whose bytes we keep: the run saw it (run_id, last_seen) and, after a 304, the
        server vouched for them again (validated_at). No new fetch row, document or blob."""
        row = self.sql("select sha256 from urls where url = ?", [item.url]).fetchone()
        item.sha256 = row[0] if row else self.store.put(item.body)[0]
        validated = ", validated_at = ?" if item.how == "not_modified" else ""
        for url in [*item.redirect_urls, item.url]:     # every hop that led here was seen again too
            self.sql(f"update urls set last_seen = ?, run_id = ?{validated} where url = ?",
                     [stamp, self.spider.run_id, *([stamp] if validated else []), url])
        self.sql("update documents set last_fetched = ? where sha256 = ?", [stamp, item.sha256])
        self.batch.wrote()
        return item


_IN_FLIGHT: dict[str, cf.Future] = {}


class ParsePipeline(_Base):
    """Parse each distinct body once, in a worker process. Off with OGI_PARSE_IN_CRAWL=False
    (then `ogi reparse` parses the stored bytes later)."""

    async def process_item(self, item):
        if not isinstance(item, FetchedBody) or item.role not in PARSED_ROLES:
            return item
        if not self.crawler.settings.getbool("OGI_PARSE_IN_CRAWL", True):
            return item
        done = self.sql("select 1 from parses where sha256 = ? and parser_version = ?",
                        [item.sha256, PARSER_VERSION]).fetchone()
        if done:
            return item          # same bytes seen before under another URL: parsed once
        from harvester.parsing import safe_parse_bytes
        future = _IN_FLIGHT.get(item.sha256)
        if future is None:       # the same bytes arriving twice at once share one parse
            pool = parse_pool(self.crawler.settings.getint("OGI_PARSE_WORKERS"))
            future = _IN_FLIGHT[item.sha256] = pool.submit(safe_parse_bytes, item.body, item.filename,
                                                          item.media_type)
            future.add_done_callback(lambda _f, sha=item.sha256: _IN_FLIGHT.pop(sha, None))
        try:
            item.record = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout=300)
        except Exception as exc:  # worker crash or timeout: the document is kept, the error recorded
            item.record = {"errors": [{"kind": "parse_crash", "message": repr(exc)}], "is_report": False}
        return item


class RecordPipeline(_Base):
    def process_item(self, item):
        spider = self.spider
        if isinstance(item, CrawlError):
            record_error(self.db, spider.run_id, item.portal, item.url, item.kind, item.message)
            if not item.warning:     # a warning is in `errors` only: the URL was fetched and kept as usual
                stamp = dbmod.now()
                self.sql("insert into urls (url, portal, kind, referrer, first_seen, last_seen, run_id, error) "
                         "values (?, ?, 'error', ?, ?, ?, ?, ?) on conflict(url) do update set "
                         "error = excluded.error, last_seen = excluded.last_seen",
                         [item.url, item.portal, item.referrer, stamp, stamp, spider.run_id,
                          f"{item.kind}: {item.message}"])
        elif isinstance(item, Candidate):
            self.sql("insert into candidates (url, run_id, portal, link_text, referrer, decision, reason, at) "
                     "values (?, ?, ?, ?, ?, ?, ?, ?) on conflict(url, run_id) do update set "
                     "portal = excluded.portal, link_text = excluded.link_text, referrer = excluded.referrer, "
                     "decision = excluded.decision, reason = excluded.reason, at = excluded.at",
                     [item.url, spider.run_id, item.portal, item.link_text, item.referrer, item.decision,
                      item.reason, dbmod.now()])
        elif isinstance(item, FetchedBody) and item.record is not None:
            record = item.record
            if record.get("is_report"):
                spider.counts["reports"] += 1
            for problem in record.get("errors", []):
                # A document that is not a report is a verdict, not an error of the crawl.
                if problem.get("kind") in ("not_a_report",):
                    continue
                record_error(self.db, spider.run_id, item.portal, item.url,
                             "parse_" + str(problem.get("kind")), str(problem.get("message")))
                spider.counts["errors"] += 1
            dbmod.write_parse(self.db, item.sha256, record)
            # The link said "report"; the content has the last word. Both stay auditable.
            verdict = verdict_after_parse(record)
            for url in [*item.redirect_urls, item.url]:
                self.sql("update candidates set verdict = ?, verdict_reason = ? where url = ? and run_id = ?",
                         [verdict.decision, verdict.reason, url, spider.run_id])
            self.sql("update documents set format = ? where sha256 = ?", [record.get("format"), item.sha256])
        elif isinstance(item, FetchedBody) and item.role in PARSED_ROLES and item.sha256:
            # Bytes parsed in an earlier run (or answered from the store): the run still saw a report,
            # so an unchanged portal's count does not "drop" to zero.
            seen = self.sql("select is_report from parses where sha256 = ?", [item.sha256]).fetchone()
            if seen and seen[0]:
                spider.counts["reports"] += 1
        if isinstance(item, FetchedBody):
            item.body = b""       # the bytes are in the store; don't keep them in memory
        if not isinstance(item, FetchedBody) or item.record is not None:
            self.batch.wrote()
        return item

    def close_spider(self, spider=None):
        # Counts only: Scrapy's final stats (finish_reason…) exist only after pipelines close,
        # so harvester.crawl writes them once the crawler has stopped.
        spider = self.spider
        counts = spider.counts
        self.sql("update crawl_runs set finished = ?, list_pages = ?, candidates = ?, reports = ?, "
                 "attachments = ?, errors = ? where id = ?",
                 [dbmod.now(), counts["list_pages"], counts["candidates"], counts["reports"],
                  counts["attachments"], counts["errors"], spider.run_id])
        self.batch.commit()
