"""Bundled sample government portals, served on 127.0.0.1: the README demo and the crawler's fixture.

    with start() as portals:                 # threaded server on a free port
        rows = registry(portals.base_url)    # [{"name", "start_url", ...}] for the crawler registry
        gt = truth(portals.base_url)         # the exact reports, report URLs, distractors, broken links

    python -m harvester.sample_portals --port 8765   # serve in the foreground

Six sites, each imitating one CMS family of harvester/../shared PORTALS.md; see README.md here.
"""
from __future__ import annotations

from harvester.sample_portals.server import DEFAULT_SLOW_DELAY, SamplePortals, catalog, start

__all__ = ["start", "registry", "truth", "SamplePortals", "DEFAULT_SLOW_DELAY"]


def _url(base_url: str, path: str) -> str:
    if path.startswith("http://") or path.startswith("https://"):
        return path
    return base_url.rstrip("/") + path


def registry(base_url: str) -> list[dict]:
    """Portal rows for the crawler registry: one per site (nested columns are for the crawler to find).
    Only `name` and `start_url` matter; `agency`, `level`, `family` are information. No `render`
    hint is given: the crawler must notice by itself that a list exists only after JavaScript runs."""
    rows = []
    for p in catalog().portals:
        row = {k: v for k, v in p.items() if k != "render"}
        row["start_url"] = _url(base_url, p["start_url"])
        rows.append(row)
    return rows


def truth(base_url: str) -> dict:
    """Ground truth for a crawl of every registry row.

    reports: distinct (agency, year) pairs with their template, from the corpus gold.
    report_urls: every URL where a report document lives (article pages, attachments, download
      endpoints and the files they redirect to, mobile/print/big5 twins, reposts).
    distractor_urls: look-alike pages and files that must not be classified as reports.
    broken: [{"url", "kind"}]: http_404, http_500, timeout, redirect_loop, malformed_html (still a
      report, also in report_urls), truncated_pdf, not_a_report (also in distractor_urls), soft_404.
    disallowed_urls: robots.txt-disallowed bait (must not be fetched); offsite_urls: links off
      127.0.0.1 that must not be followed (nothing listens there); column_urls: the list pages
      (columns, their numbered pages and sub-columns), for information."""
    c = catalog()
    u = lambda p: _url(base_url, p)  # noqa: E731
    return {
        "reports": sorted(c.reports.values(), key=lambda r: (r["agency"], r["year"])),
        "report_urls": [u(p) for p in c.report_urls],
        "distractor_urls": [u(p) for p in c.distractor_urls],
        "broken": [{"url": u(b["url"]), "kind": b["kind"]} for b in c.broken],
        "disallowed_urls": [u(p) for p in c.disallowed_urls],
        "offsite_urls": list(c.offsite_urls),
        "column_urls": [u(p) for p in c.column_paths()],
    }
