"""Incremental crawls: a known report page or attachment is not downloaded again while it is fresh.

The one owner of the revalidation policy. For a URL whose bytes we already keep (`urls` row with
a sha256, no error):
  * validated less than OGI_REVALIDATE_DAYS ago: answered from the blob store, no request at all
    (list pages are always fetched, so a new report on page 1 is still found);
  * older: a conditional GET with the validators the server gave (ETag / Last-Modified); a 304 is
    answered from the store, a 200 with new bytes becomes a new version as usual;
  * no validators: fetched again in full (the versions machinery sees in-place corrections).
The spider sees an ordinary 200 response either way; `response.meta["ogi_fetch"]` says how it was
obtained ("network", "not_modified", "known"), and the pipelines record no new fetch for the last two.
OGI_REVALIDATE_DAYS=0 turns the store answer off (every known URL revalidated each run).

Resuming a killed run (harvester.crawl sets OGI_RESUME_SINCE to when it started): every GET the
killed run already stored, list pages and API replies included, is answered from the store, so the
resumed run fetches each URL once in all and parses what the killed one kept unparsed.
"""
from __future__ import annotations

import datetime as dt

from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from harvester.items import DOCUMENT_ROLES, DOCUMENT_ROLES_SQL
from harvester.store import BlobStore

KNOWN_ROLES = set(DOCUMENT_ROLES)
# Only a URL whose bytes were fetched at that URL (the last hop of its redirects) is answered from
# the store: an earlier hop answered with the final page's bytes would resolve its links wrongly.
FINAL_HOP = "exists (select 1 from fetches f where f.url = u.url)"


def _age_days(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        then = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    return (dt.datetime.now(dt.timezone.utc) - then).total_seconds() / 86400


class IncrementalMiddleware:
    """Downloader middleware; sits next to the downloader so a 304 is turned into the stored
    200 before redirect, retry and charset handling see it."""

    def __init__(self, crawler):
        from harvester.pipelines import shared_db
        settings = crawler.settings
        self.enabled = settings.getbool("OGI_INCREMENTAL", True)
        self.fresh_days = settings.getfloat("OGI_REVALIDATE_DAYS", 7)
        self.resume_since = settings.get("OGI_RESUME_SINCE") or None
        self.db = shared_db(settings.get("OGI_DB_PATH"))
        self.store = BlobStore(settings.get("OGI_DATA_DIR"))
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _known(self, url: str):
        return self.db.execute(
            "select u.sha256, u.status, u.etag, u.last_modified, u.validated_at, d.media_type "
            "from urls u join documents d on d.sha256 = u.sha256 "
            f"where u.url = ? and u.kind in {DOCUMENT_ROLES_SQL} and u.error is null and " + FINAL_HOP,
            [url]).fetchone()

    def process_request(self, request, spider=None):
        # A redirect copies its request's meta and headers: validators of the URL that redirected
        # must not be sent for (or vouch for the bytes of) the URL it redirected to.
        request.meta.pop("ogi_known_sha256", None)
        for name in (b"If-None-Match", b"If-Modified-Since"):
            if name in request.headers:
                del request.headers[name]
        if not self.enabled or request.method != "GET" or request.meta.get("playwright"):
            return None
        if self.resume_since:
            row = self._stored_since(request.url)
            if row is not None and self.store.path(row[0]).exists():
                self.stats.inc_value("ogi/incremental/resumed")
                return self._stored(request, row[0], row[2], row[1] or 200, "known")
        if request.meta.get("role") not in KNOWN_ROLES:
            return None
        row = self._known(request.url)
        if row is None or not self.store.path(row[0]).exists():
            return None
        sha, status, etag, last_modified, validated_at, media_type = row
        age = _age_days(validated_at)
        if age is not None and age < self.fresh_days:
            self.stats.inc_value("ogi/incremental/known")
            return self._stored(request, sha, media_type, status or 200, "known")
        request.meta["ogi_known_sha256"] = sha
        if etag:
            request.headers[b"If-None-Match"] = etag
        if last_modified:
            request.headers[b"If-Modified-Since"] = last_modified
        return None

    def _stored_since(self, url: str):
        return self.db.execute(
            "select u.sha256, u.status, d.media_type from urls u join documents d on d.sha256 = u.sha256 "
            "where u.url = ? and u.error is null and u.validated_at >= ? and " + FINAL_HOP,
            [url, self.resume_since]).fetchone()

    def process_response(self, request, response, spider=None):
        sha = request.meta.get("ogi_known_sha256")
        if response.status == 304 and sha and self.store.path(sha).exists():
            self.stats.inc_value("ogi/incremental/not_modified")
            row = self._known(request.url)
            media_type = row[5] if row else response.headers.get(b"Content-Type", b"").decode("latin-1")
            return self._stored(request, sha, media_type, 200, "not_modified")
        request.meta.setdefault("ogi_fetch", "network")
        return response

    def _stored(self, request, sha: str, media_type: str | None, status: int, how: str):
        body = self.store.get(sha)
        headers = Headers({"Content-Type": media_type or "application/octet-stream"})
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        request.meta["ogi_fetch"] = how
        return cls(url=request.url, status=status, headers=headers, body=body, request=request)
