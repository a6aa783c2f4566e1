"""What the spider hands to the pipelines: data only, no behaviour.

FetchedBody: one HTTP response, whatever it is (list page, report page, attachment, API reply).
CrawlError: something that went wrong, with a kind and a message, recorded and never fatal.
Candidate: a link the classifier judged, with its decision and reason (the audit trail).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Bodies that are documents: parsed, possibly reports, answered from the store on a re-crawl
# (FetchedBody.role, stored as urls.kind; the others are "list" and "api").
DOCUMENT_ROLES = ("page", "attachment")
DOCUMENT_ROLES_SQL = "(" + ", ".join(f"'{r}'" for r in DOCUMENT_ROLES) + ")"


@dataclass
class FetchedBody:
    url: str
    portal: str
    role: str                      # list | page | attachment | api
    status: int
    body: bytes
    media_type: str = ""
    filename: str | None = None    # from Content-Disposition or the URL, for format sniffing
    referrer: str | None = None
    link_text: str = ""
    fetched_at: str = ""
    redirect_urls: list = field(default_factory=list)
    how: str = "network"           # network | not_modified (a 304) | known (fresh in the store): harvester.incremental
    etag: str | None = None        # the server's validators, for the next run's conditional GET
    last_modified: str | None = None
    # Filled by the pipelines:
    sha256: str | None = None
    record: dict | None = None


@dataclass
class CrawlError:
    url: str
    portal: str
    kind: str                      # http_404, http_500, timeout, redirect_loop, dns, too_large, soft_404, ...
    message: str
    referrer: str | None = None
    warning: bool = False          # the fetch itself succeeded (malformed_html): not the URL's error


@dataclass
class Candidate:
    url: str
    portal: str
    link_text: str
    referrer: str | None
    decision: str
    reason: str
