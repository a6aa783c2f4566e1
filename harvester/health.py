"""Checks after each portal's run: breakage made visible, as `errors` rows an operator (ogi status,
the site's health page) sees.

Spidermon would be the usual tool, but it judges one crawl's stats while it closes; these checks
compare a run with the portal's run before, which only the database holds (and Spidermon is not in
this project's package index). Each check is a function of two runs' figures, so it is testable
without a crawl.

    found_nothing        no report this run (the portal's CMS changed, or the start URL is gone)
    count_dropped        fewer reports than the last finished run
    errors_spiked        fetch errors per request at least doubled, and at least MIN_ERRORS of them
    parse_failures_rose  documents that could not be read at least doubled, at least MIN_FAILURES
    (list_incomplete, a list short of its stated total, is recorded by crawl._record_incomplete_lists)
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from harvester import db as dbmod

MIN_ERRORS = 10       # below this many fetch errors a "spike" is noise (one flaky afternoon)
MIN_FAILURES = 3
# parser verdicts meaning the document could not be read at all (not notes on how it was read)
READ_FAILURES = frozenset({"internal", "worker_died", "over_limit", "corrupt", "encrypted", "unreadable",
                           "ocr_failed", "ocr_unavailable", "too_large", "no_text", "empty", "parse_crash"})
ALARMS = ("found_nothing", "count_dropped", "errors_spiked", "parse_failures_rose")


@dataclass
class RunFigures:
    reports: int
    requests: int
    fetch_errors: int
    parse_failures: int


def figures(database, run_id: int) -> RunFigures:
    row = database["crawl_runs"].get(run_id)
    stats = json.loads(row.get("stats") or "{}") if row.get("stats") else {}
    kinds = dict(database.execute("select kind, count(*) from errors where run_id = ? group by kind",
                                  [run_id]).fetchall())
    fetch = sum(n for k, n in kinds.items() if not k.startswith("parse_") and k not in ALARMS
                and k != "list_incomplete" and not k.startswith("budget_"))
    failures = sum(n for k, n in kinds.items() if k.startswith("parse_") and k[len("parse_"):] in READ_FAILURES)
    return RunFigures(reports=row.get("reports") or 0,
                      requests=int(stats.get("downloader/request_count") or 0),
                      fetch_errors=fetch, parse_failures=failures)


def alarms(now: RunFigures, before: RunFigures | None) -> list[tuple[str, str]]:
    """(kind, message) for each check this run fails against the run before (None: first run)."""
    out = []
    if before and now.reports < before.reports:
        out.append(("count_dropped", f"reports found dropped from {before.reports} to {now.reports} since the last run"))
    if now.reports == 0:
        out.append(("found_nothing", "no report found this run"))
    if before:
        rate, was = now.fetch_errors / max(1, now.requests), before.fetch_errors / max(1, before.requests)
        if now.fetch_errors >= MIN_ERRORS and rate >= 2 * was and rate > 0.02:
            out.append(("errors_spiked", f"{now.fetch_errors} fetch errors in {now.requests} requests "
                                         f"({rate:.0%}); the run before: {before.fetch_errors} in {before.requests} ({was:.0%})"))
        if now.parse_failures >= MIN_FAILURES and now.parse_failures >= 2 * max(1, before.parse_failures):
            out.append(("parse_failures_rose", f"{now.parse_failures} documents could not be read "
                                               f"(the run before: {before.parse_failures})"))
    return out


def check_run(database, portal: dict, run_id: int) -> list[str]:
    """Record this run's alarms as errors rows; the kinds recorded."""
    previous = database.execute(
        "select id from crawl_runs where portal = ? and id < ? and status in ('finished', 'dropped') "
        "order by id desc limit 1", [portal["name"], run_id]).fetchone()
    before = figures(database, previous[0]) if previous else None
    found = alarms(figures(database, run_id), before)
    for kind, message in found:
        database["errors"].insert({"run_id": run_id, "portal": portal["name"], "url": portal["start_url"],
                                   "kind": kind, "message": message, "at": dbmod.now()})
    return [k for k, _ in found]
