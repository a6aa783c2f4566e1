"""Running a crawl: one Scrapy crawler per portal (its own stats and crawl_runs row), a bounded
number at a time, then the derived tables rebuilt and a per-portal summary printed.

Per-portal registry fields become that crawler's settings (obey_robots, download_delay, …);
`--set NAME=VALUE` overrides apply to every portal. Crawls on several machines (`ogi crawl
--distributed`, workers and one writer) are harvester.distributed, which ends with finish_runs here.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from harvester import db as dbmod
from harvester import health, schedule
from harvester.items import DOCUMENT_ROLES_SQL
from harvester.registry import load_portals

log = logging.getLogger(__name__)


@dataclass
class CrawlSummary:
    db_path: str
    rows: list[dict] = field(default_factory=list)
    reports_total: int = 0
    documents_total: int = 0

    @property
    def ok(self) -> bool:
        return all(r["status"] in ("finished", "dropped") for r in self.rows)

    def render(self) -> str:
        head = (f"{'portal':<28} {'status':<10} {'lists':>5} {'cands':>5} {'reports':>7} {'attach':>6} "
                f"{'errors':>6} {'short':>5}")
        lines = ["", "Crawl summary (" + self.db_path + ")", head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r['portal'][:28]:<28} {r['status'][:10]:<10} {r['list_pages'] or 0:>5} "
                         f"{r['candidates'] or 0:>5} {r['reports'] or 0:>7} {r['attachments'] or 0:>6} "
                         f"{r['errors'] or 0:>6} {r.get('lists_incomplete') or 0:>5}")
        lines.append("(short: lists stating more records than were found; see errors kind list_incomplete)")
        stated = [(r["portal"], x) for r in self.rows for x in r.get("lists") or []]
        if stated:
            lines += ["", f"{'portal':<28} {'stated':>6} {'found':>5}  list"]
            lines += [f"{portal[:28]:<28} {x['stated']:>6} {x['found']:>5}  {x['url']}" for portal, x in stated]
        lines.append(f"\n{self.reports_total} reports (one per agency and year) from "
                     f"{self.documents_total} stored documents.")
        return "\n".join(lines)


def build_settings(db_path: str, overrides: dict | None = None, log_level: str = "INFO",
                   distributed: bool = False, redis_url: str | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("harvester.settings", priority="project")
    settings.set("OGI_DB_PATH", str(db_path), priority="cmdline")
    settings.set("OGI_DATA_DIR", str(Path(db_path).parent), priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    if distributed:
        import os
        settings.set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", priority="cmdline")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority="cmdline")
        settings.set("SCHEDULER_PERSIST", True, priority="cmdline")
        settings.set("REDIS_URL", redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
                     priority="cmdline")
    for name, value in (overrides or {}).items():
        try:
            value = json.loads(value)
        except (TypeError, ValueError):
            pass
        settings.set(name, value, priority="cmdline")
    return settings


def portal_settings(portal: dict) -> dict:
    """Registry fields that are Scrapy settings for this portal only."""
    custom = {}
    if portal.get("obey_robots") is not None:
        custom["ROBOTSTXT_OBEY"] = bool(portal["obey_robots"])
    if portal.get("download_delay") is not None:
        custom["DOWNLOAD_DELAY"] = float(portal["download_delay"])
    return custom


def run_crawl(portals_file, db_path, *, wait: bool = True, **kwargs) -> CrawlSummary:
    """Crawl under the database's writer lock (harvester.db.writer): two crawls take turns."""
    with dbmod.writer(db_path, wait=wait, what="ogi crawl"):
        return _run_crawl(portals_file, db_path, **kwargs)


def _run_crawl(portals_file, db_path, *, only=(), distributed=False, redis_url=None,
               overrides=None, log_level="INFO", concurrent_portals: int = 4,
               jobdir: str | None = None) -> CrawlSummary:

    from harvester.pipelines import close_dbs, shutdown_pool
    from harvester.spiders.portal import PortalSpider

    if distributed:   # one dataset from many machines needs workers and one writer
        raise ValueError("a distributed crawl is harvester.distributed.run_writer (one) and run_worker (any number)")
    portals = load_portals(portals_file)
    if only:
        portals = [p for p in portals if p["name"] in set(only)]
    settings = build_settings(db_path, overrides, log_level)
    database = dbmod.open_db(db_path)
    settings.set("OGI_PROGRESS_PORTALS", len(portals), priority="cmdline")
    process = CrawlerProcess(settings)

    resume_since = mark_killed_runs(database, {p["name"] for p in portals},
                                    settings.getfloat("OGI_RESUME_MAX_HOURS"))
    jobs = []
    for portal in portals:
        custom = portal_settings(portal)
        if portal["name"] in resume_since:
            # The last run was killed: what it stored is answered from the store, so the new run
            # fetches only what the killed one never kept, and parses what it kept unparsed.
            custom["OGI_RESUME_SINCE"] = resume_since[portal["name"]]
            if jobdir:   # Scrapy's queue files are not written for a SIGKILL: start them afresh
                shutil.rmtree(Path(jobdir) / portal["name"], ignore_errors=True)
        spidercls = PortalSpider
        if jobdir:
            # Resumable: Scrapy persists this portal's queue and seen-set here; rerun to resume.
            custom["JOBDIR"] = str(Path(jobdir) / portal["name"])
        if custom:
            spidercls = type(f"PortalSpider_{len(jobs)}", (PortalSpider,), {"custom_settings": custom})
        crawler = process.create_crawler(spidercls)
        effective_robots = custom.get("ROBOTSTXT_OBEY", settings.getbool("ROBOTSTXT_OBEY"))
        run_id = database["crawl_runs"].insert({
            "portal": portal["name"], "spider": spidercls.name, "started": dbmod.now(),
            "status": "running", "robots_obeyed": int(effective_robots),
            "pid": os.getpid(), "host": socket.gethostname(),
            "settings": dbmod.dumps({**custom, "distributed": False})}).last_pk
        jobs.append((portal, run_id, crawler))

    try:
        run_crawlers(process, [(crawler, portal, run_id) for portal, run_id, crawler in jobs], concurrent_portals)
    finally:
        shutdown_pool()
        close_dbs()

    finished = [(portal, run_id, crawler.stats.get_stats() if crawler.stats else {})
                for portal, run_id, crawler in jobs]
    return finish_runs(db_path, finished)


def finish_runs(db_path, finished: list[tuple[dict, int, dict]]) -> CrawlSummary:
    """After the crawlers stopped: each portal's crawl_runs row gets its final status and Scrapy
    stats, its incomplete lists and a count drop become errors rows, its schedule moves on; then the
    derived tables are rebuilt. `finished` is (portal, crawl_runs id, stats) per portal; the
    distributed writer (harvester.distributed) calls this with the workers' merged stats."""
    database = dbmod.open_db(db_path)
    summary = CrawlSummary(db_path=str(db_path))
    for portal, run_id, stats in finished:
        reason = stats.get("finish_reason", "not started")
        database["crawl_runs"].update(run_id, {
            "status": "finished" if reason == "finished" else str(reason),
            "stats": json.dumps(stats, default=str, ensure_ascii=False),
            "finished": dbmod.now()})
        _record_incomplete_lists(database, run_id, portal["name"], stats.get("ogi/lists") or [])
        row = database["crawl_runs"].get(run_id)
        # Breakage made visible: fewer reports than last time, none at all, errors or unreadable
        # documents spiking (harvester.health)
        if "count_dropped" in health.check_run(database, portal, run_id):
            row = {**row, "status": "dropped"}
        summary.rows.append({**row, "lists": stats.get("ogi/lists") or []})
        schedule.record_run(database, portal, {**row, "status": database["crawl_runs"].get(run_id)["status"]})

    from harvester.reports import rebuild
    rebuild(database)
    _record_non_reports(database, [run_id for _, run_id, _ in finished])
    _prepare_site(db_path)
    summary.reports_total = database["reports"].count
    summary.documents_total = database["documents"].count
    return summary


def run_crawlers(process, crawlers: list[tuple], concurrent_portals: int) -> None:
    """Run (crawler, portal, run_id) triples, a bounded number at a time, until all have ended;
    blocks in the reactor. Shared by one-machine crawls and distributed workers."""
    from twisted.internet import defer

    # Scrapy leaves its loggers at DEBUG and filters in the handler: a record built and dropped for
    # every page and item. The logger's own level drops them before they are built; output is the same.
    logging.getLogger("scrapy").setLevel(process.settings.get("LOG_LEVEL") or "DEBUG")
    semaphore = defer.DeferredSemaphore(max(1, concurrent_portals))
    done = defer.DeferredList([semaphore.run(process.crawl, crawler, portal=portal, run_id=run_id)
                               for crawler, portal, run_id in crawlers], consumeErrors=True)

    def stop(_):
        from twisted.internet import reactor
        if reactor.running:
            reactor.stop()
    done.addBoth(stop)
    process.start(stop_after_crawl=False, install_signal_handlers=True)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a zombie is dead
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def mark_killed_runs(database, portals: set[str] | None = None, max_hours: float = 24,
                     keep=()) -> dict[str, str]:
    """Runs of these portals (all when None) left 'running' by a process of this host that no longer
    exists were killed: mark them (status 'killed', an errors row) and return, per portal, since when
    its stored bytes are the interrupted work to resume (the start of the earliest such run). A run
    killed longer ago than max_hours is marked but not resumed: its list pages are too old to stand
    for today's. Runs in `keep` are being resumed (a distributed writer taking its run back)."""
    import datetime as dt
    host = socket.gethostname()
    since: dict[str, str] = {}
    oldest = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=max_hours)).isoformat()
    for run in database.query("select id, portal, started, pid, host from crawl_runs where status = 'running' "
                              "order by id"):
        if run["id"] in keep or (portals is not None and run["portal"] not in portals) \
                or run["host"] != host or _alive(run["pid"]) and run["pid"] != os.getpid():
            continue
        database["crawl_runs"].update(run["id"], {"status": "killed", "finished": dbmod.now()})
        database["errors"].insert({"run_id": run["id"], "portal": run["portal"], "url": None, "kind": "run_killed",
                                   "message": f"the crawl process (pid {run['pid']}) ended without finishing; "
                                              "the next run resumes from what it stored", "at": dbmod.now()})
        if (run["started"] or "") >= oldest:
            since.setdefault(run["portal"], run["started"])
    return since


def _record_incomplete_lists(database, run_id: int, portal: str, lists: list[dict]) -> None:
    """A list that states more records than we found (共N条 on its first page) is a visible gap."""
    short = [x for x in lists if x["found"] < x["stated"]]
    for x in short:
        database["errors"].insert({
            "run_id": run_id, "portal": portal, "url": x["url"], "kind": "list_incomplete",
            "message": f"the list states {x['stated']} records; {x['found']} report titles or look-alikes "
                       f"found on it and its pages", "at": dbmod.now()})
    database["crawl_runs"].update(run_id, {"lists_stated": len(lists), "lists_incomplete": len(short)})


def _record_non_reports(database, run_ids: list[int]) -> None:
    """A fetched candidate that belongs to no report is an error users should see (a budget PDF
    behind a report-like link, a soft page): kept, parsed, and listed with the parser's reasons."""
    if not run_ids:
        return
    marks = ",".join("?" * len(run_ids))
    rows = list(database.query(
        f"select u.url, u.portal, u.run_id, p.errors from urls u join parses p on p.sha256 = u.sha256 "
        f"where u.kind in {DOCUMENT_ROLES_SQL} and p.is_report = 0 and u.run_id in ({marks}) "
        f"and u.url not in (select url from sightings)", run_ids))
    for row in rows:
        reasons = "; ".join(e.get("message", "") for e in json.loads(row["errors"] or "[]"))
        database["errors"].insert({
            "run_id": row["run_id"], "portal": row["portal"], "url": row["url"], "kind": "not_a_report",
            "message": "fetched as a report candidate, but the content is not an annual disclosure report"
                       + (f" ({reasons})" if reasons else ""), "at": dbmod.now()})


def _prepare_site(db_path):
    """Build what the Datasette site needs (FTS, views); the crawl's data is complete without it."""
    try:
        from harvester.publish import prepare
    except ImportError:
        return
    prepare(db_path)
