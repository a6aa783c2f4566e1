"""From parsed documents to reports: one report per (agency, year), with every place it was seen.

`rebuild()` derives reports, sightings, cells, checks_failed and sections from the raw tables
(parses, urls, documents) and can run any number of times; `reparse_all()` re-parses stored
bytes first. The canonical document of a report is chosen by `canonical_rank` (documented
there), and the reason is stored with the report.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

from harvester import db as dbmod

DERIVED = ("cells", "checks_failed", "sections", "sightings", "reports")
FORMAT_PREFERENCE = {"html": 0, "pdf": 1, "docx": 2, "doc": 3, "wps": 3, "txt": 4, "image": 5}


def agency_key(name: str | None) -> str:
    """The form two spellings of one agency share (width, spaces; aliases come from the parser)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))


def report_id(agency: str, year) -> str:
    return "r" + hashlib.sha1(f"{agency_key(agency)}|{year}".encode()).hexdigest()[:11]


def canonical_rank(doc: dict) -> tuple:
    """Smaller is better. The rule, in order:
    1. complete tables beat missing ones (tables present, then cells parsed);
    2. text beats OCR;
    3. the original beats a derived copy (simplified original over a traditional mirror);
    4. the agency's own page beats a file, a file beats a text dump (html, pdf, docx, doc, txt);
    5. the copy seen first.
    """
    record = doc["record"]
    tables = sum(bool(v) for v in (record.get("tables") or {}).values())
    return (-tables, -len(record.get("cells") or {}), int(bool(record.get("ocr"))),
            int(record.get("script") == "traditional"),
            FORMAT_PREFERENCE.get(record.get("format") or "", 9), doc["first_seen"] or "")


def _reason(best: dict, others: list[dict]) -> str:
    if not others:
        return "only document"
    record = best["record"]
    parts = [f"{sum(bool(v) for v in (record.get('tables') or {}).values())} tables, "
             f"{len(record.get('cells') or {})} cells",
             "OCR" if record.get("ocr") else "text layer",
             "traditional mirror" if record.get("script") == "traditional" else "original script",
             f"format {record.get('format')}", f"first seen {best['first_seen']}"]
    return (f"best of {len(others) + 1} documents by the canonical rule "
            "(tables > text over OCR > original over mirror > page over file > first seen): " + "; ".join(parts))


def _documents(database) -> list[dict]:
    """Parsed report documents with the URLs they were found at."""
    urls = defaultdict(list)
    for row in database.query("select url, sha256, kind, portal, referrer, first_seen, last_seen "
                              "from urls where sha256 is not null"):
        urls[row["sha256"]].append(row)
    docs = []
    for row in database.query("select p.sha256, p.record, d.first_fetched from parses p "
                              "join documents d on d.sha256 = p.sha256 where p.is_report = 1"):
        record = json.loads(row["record"])
        seen = urls.get(row["sha256"], [])
        docs.append({"sha256": row["sha256"], "record": record, "urls": seen,
                     "first_seen": min([u["first_seen"] for u in seen if u["first_seen"]] or [row["first_fetched"]])})
    return docs, urls


def rebuild(database) -> dict:
    """Recompute every derived table from the raw ones. Returns counts."""
    docs, urls_by_sha = _documents(database)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for doc in docs:
        record = doc["record"]
        if record.get("agency") and record.get("year"):
            groups[(agency_key(record["agency"]), int(record["year"]))].append(doc)
        else:
            # Unattributed: still a report users should see, one per document, flagged by parse_status.
            groups[("?" + doc["sha256"], None)].append(doc)

    # Which page linked which file: attachments of a report page belong to its report, even when
    # the file itself could not be parsed (a truncated PDF is still a sighting of the report).
    url_to_sha = {u["url"]: sha for sha, rows in urls_by_sha.items() for u in rows}
    children = defaultdict(list)
    for sha, rows in urls_by_sha.items():
        for u in rows:
            if u["referrer"] and u["kind"] in ("attachment", "page"):
                children[u["referrer"]].append(u)

    with database.conn:
        for table in DERIVED:
            database.execute(f"delete from {table}")
        for key, members in groups.items():
            members.sort(key=canonical_rank)
            best, record = members[0], members[0]["record"]
            agency = record.get("agency")
            rid = report_id(agency, record.get("year")) if key[1] is not None else "r?" + best["sha256"][:10]
            sightings = {}
            for doc in members:
                for u in doc["urls"]:
                    sightings[u["url"]] = {**u, "role": "page" if u["kind"] == "page" else "attachment",
                                           "format": doc["record"].get("format")}
                    # A report file's page (the article that links it) is a sighting too.
                    parent = u["referrer"]
                    parent_sha = url_to_sha.get(parent)
                    if parent and parent_sha and any(p["kind"] == "page" for p in urls_by_sha.get(parent_sha, [])
                                                     if p["url"] == parent):
                        for p in urls_by_sha[parent_sha]:
                            if p["url"] == parent and parent not in sightings:
                                sightings[parent] = {**p, "role": "page", "format": "html"}
                    # Files a report page links to (attachments, even unparseable ones).
                    for child in children.get(u["url"], []):
                        if child["kind"] == "attachment" and child["url"] not in sightings:
                            sightings[child["url"]] = {**child, "role": "attachment", "format": None}
            region = record.get("region") or {}
            errors = [e for e in record.get("errors", []) if e.get("kind") != "not_a_report"]
            has_tables = any((record.get("tables") or {}).values())
            status = ("unattributed" if key[1] is None else
                      "errors" if errors else
                      "no_tables" if record.get("template") in ("2019", "2021") and not has_tables else "ok")
            database["reports"].insert({
                "id": rid, "agency": agency, "year": record.get("year"), "template": record.get("template"),
                "title": record.get("title"), "script": record.get("script"),
                "published": record.get("published"), "province": region.get("province"),
                "city": region.get("city"), "county": region.get("county"),
                "township": region.get("township"), "admin_level": record.get("admin_level"),
                "agency_kind": record.get("agency_kind"),
                **{t: int(bool((record.get("tables") or {}).get(t))) for t in ("t2", "t3", "t4")},
                "format": record.get("format"), "ocr": int(bool(record.get("ocr"))),
                "parse_status": status, "n_checks_failed": len(record.get("checks_failed") or []),
                "checks_failed": dbmod.dumps(record.get("checks_failed") or []),
                "canonical_sha256": best["sha256"],
                "canonical_url": (best["urls"][0]["url"] if best["urls"] else None),
                "canonical_reason": _reason(best, members[1:]),
                "n_documents": len({s.get("sha256") for s in sightings.values() if s.get("sha256")}),
                "n_urls": len(sightings),
                "first_seen": min((s["first_seen"] for s in sightings.values() if s.get("first_seen")), default=None),
                "last_seen": max((s["last_seen"] for s in sightings.values() if s.get("last_seen")), default=None),
            })
            database["sightings"].insert_all([{
                "report_id": rid, "url": url, "sha256": s.get("sha256"), "role": s["role"],
                "format": s.get("format"), "portal": s.get("portal"), "referrer": s.get("referrer"),
                "first_seen": s.get("first_seen"), "last_seen": s.get("last_seen")}
                for url, s in sightings.items()])
            database["cells"].insert_all([{
                "report_id": rid, "cell_id": cid, "tbl": cid.split(".")[0],
                "row": cid.split(".")[1], "col": cid.split(".")[2], "value": value}
                for cid, value in (record.get("cells") or {}).items()])
            database["checks_failed"].insert_all([{"report_id": rid, "check_id": c}
                                                  for c in record.get("checks_failed") or []])
            database["sections"].insert_all([{"report_id": rid, "section": n, "heading": None, "text": text}
                                             for n, text in (record.get("sections") or {}).items()])
    return {"reports": database["reports"].count, "sightings": database["sightings"].count}


def reparse_all(db_path, workers: int = 2) -> str:
    """Parse every stored report candidate again from its bytes, then rebuild. No network."""
    import concurrent.futures as cf

    from harvester.parsing import safe_parse_bytes
    from harvester.store import BlobStore

    database = dbmod.open_db(db_path)
    store = BlobStore(Path(db_path).parent)
    rows = list(database.query(
        "select distinct d.sha256, d.media_type, u.url from documents d join urls u on u.sha256 = d.sha256 "
        "where u.kind in ('page', 'attachment') group by d.sha256"))
    parsed = 0
    with cf.ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(safe_parse_bytes, store.get(r["sha256"]), r["url"].rsplit("/", 1)[-1],
                               r["media_type"]): r for r in rows}
        for future in cf.as_completed(futures):
            r = futures[future]
            record = future.result()
            dbmod.write_parse(database, r["sha256"], record)
            parsed += 1
    counts = rebuild(database)
    try:
        from harvester.publish import prepare
        prepare(db_path)
    except ImportError:
        pass
    return f"re-parsed {parsed} documents; {counts['reports']} reports, {counts['sightings']} sightings"
