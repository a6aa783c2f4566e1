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
from parsers.document import READING_NOTES
from harvester import timeliness
from harvester.items import DOCUMENT_ROLES_SQL
from harvester.dedup import (NEAR_DUPLICATE, agency_alias_key, changed_cells, signature,
                             similarity, split_versions)

DERIVED = ("cells", "checks_failed", "sections", "sightings", "report_versions", "cell_changes", "reports")
FORMAT_PREFERENCE = {"html": 0, "pdf": 1, "docx": 2, "doc": 3, "wps": 3, "txt": 4, "image": 5}


def report_id(agency: str, year) -> str:
    return "r" + hashlib.sha1(f"{agency_alias_key(agency)}|{year}".encode()).hexdigest()[:11]


def canonical_rank(doc: dict) -> tuple:
    """Smaller is better. The rule, in order:
    1. complete tables beat missing ones (tables present, then cells parsed);
    2. text beats OCR;
    3. the original beats a derived copy (simplified original over a traditional mirror);
    4. the agency's own page beats a file, a file beats a text dump (html, pdf, docx, doc, txt);
    5. the copy seen in an earlier run;
    6. within a run, the copy naming the agency in full (aggregators abbreviate), then the first
       URL in sort order: never the order of fetching, which differs between two crawls of the same
       portal (a distributed crawl must give the dataset a one-machine crawl gives).
    """
    record = doc["record"]
    tables = sum(bool(v) for v in (record.get("tables") or {}).values())
    return (-tables, -len(record.get("cells") or {}), int(bool(record.get("ocr"))),
            int(record.get("script") == "traditional"),
            FORMAT_PREFERENCE.get(record.get("format") or "", 9), doc.get("first_run") or 0,
            -len(record.get("agency") or ""), min((u["url"] for u in doc.get("urls") or ()), default=""),
            doc["sha256"])


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
            "(tables > text over OCR > original over mirror > page over file > earlier run > agency named in full "
            "> URL order): " + "; ".join(parts))


def _documents(database) -> list[dict]:
    """Parsed report documents with the URLs they were found at."""
    urls = defaultdict(list)
    for row in database.query("select url, sha256, kind, portal, referrer, first_seen, last_seen "
                              "from urls where sha256 is not null"):
        urls[row["sha256"]].append(row)
    first_run = {r["sha256"]: r["run"] for r in database.query(
        "select sha256, min(run_id) as run from fetches group by sha256")}
    docs = []
    for row in database.query("select p.sha256, p.record, d.first_fetched from parses p "
                              "join documents d on d.sha256 = p.sha256 where p.is_report = 1"):
        record = json.loads(row["record"])
        seen = urls.get(row["sha256"], [])
        docs.append({"sha256": row["sha256"], "record": record, "urls": seen,
                     "first_run": first_run.get(row["sha256"]),
                     "first_seen": min([u["first_seen"] for u in seen if u["first_seen"]] or [row["first_fetched"]])})
    return docs, urls


def _group(docs: list[dict], children: dict[str, list[dict]]) -> dict[tuple, list[dict]]:
    """(agency alias key, year) -> documents. A document whose agency or year could not be read
    joins the report of the files it links to (a page that says "see attachment"), else the report
    it nearly duplicates in the same year; otherwise it stands alone, unattributed."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    orphans = []
    key_of_url = {}
    for doc in docs:
        record = doc["record"]
        if record.get("agency") and record.get("year"):
            key = (agency_alias_key(record["agency"]), int(record["year"]))
            groups[key].append(doc)
            key_of_url.update((u["url"], key) for u in doc["urls"])
        else:
            orphans.append(doc)
    for doc in orphans:
        linked = {key_of_url[c["url"]] for u in doc["urls"] for c in children.get(u["url"], [])
                  if c["url"] in key_of_url}
        if len(linked) == 1:
            groups[linked.pop()].append(doc)
            continue
        year = doc["record"].get("year")
        scored = [(max(similarity(doc["sig"], m["sig"]) for m in members), key)
                  for key, members in groups.items() if year is None or key[1] == int(year)]
        best = max(scored, default=(0.0, None))
        if best[1] is not None and best[0] >= NEAR_DUPLICATE:
            groups[best[1]].append(doc)
        else:
            groups[("?" + doc["sha256"], None)].append(doc)
    return groups


def _sightings(members, urls_by_sha, url_to_sha, children) -> dict[str, dict]:
    sightings = {}
    for doc in members:
        for u in doc["urls"]:
            sightings[u["url"]] = {**u, "role": "page" if u["kind"] == "page" else "attachment",
                                   "format": doc["record"].get("format")}
            # The article page that links a report file is a sighting of the report too.
            parent = u["referrer"]
            for p in urls_by_sha.get(url_to_sha.get(parent), []):
                if p["url"] == parent and p["kind"] == "page" and parent not in sightings:
                    sightings[parent] = {**p, "role": "page", "format": "html"}
            # Files a report page links to belong to it, even unparseable ones (a truncated PDF).
            for child in children.get(u["url"], []):
                if child["kind"] == "attachment" and child["url"] not in sightings:
                    sightings[child["url"]] = {**child, "role": "attachment", "format": None}
    return sightings


def _parent_government(record: dict) -> str | None:
    region = record.get("region") or {}
    level = record.get("admin_level")
    if level == "national":
        return None if record.get("agency_kind") == "government" else "国务院"
    chain = [region.get("province"), region.get("city"), region.get("county"), region.get("township")]
    chain = [c for c in chain if c]
    if record.get("agency_kind") == "government":
        chain = chain[:-1]
    return (chain[-1] + "人民政府") if chain else ("国务院" if level == "province" else None)


def rebuild(database) -> dict:
    """Recompute every derived table from the raw ones. Returns counts."""
    docs, urls_by_sha = _documents(database)
    for doc in docs:
        doc["sig"] = signature(doc["record"].get("text", ""))
    url_to_sha = {u["url"]: sha for sha, rows in urls_by_sha.items() for u in rows}
    children = defaultdict(list)
    for rows in urls_by_sha.values():
        for u in rows:
            if u["referrer"] and u["kind"] == "attachment":
                children[u["referrer"]].append(u)
    groups = _group(docs, children)
    history = defaultdict(list)
    for row in database.query("select url, sha256, fetched_at from fetches order by fetched_at, id"):
        history[row["url"]].append((row["fetched_at"], row["sha256"]))
    agencies: dict[str, dict] = {}

    with database.conn:
        for table in DERIVED:
            database.execute(f"delete from {table}")
        for key, members in groups.items():
            member_urls = {u["url"] for d in members for u in d["urls"]}
            versions = split_versions(members, {u: h for u, h in history.items() if u in member_urls})
            latest = sorted(versions[-1], key=canonical_rank)
            best, record = latest[0], latest[0]["record"]
            # Within the latest version, copies with more tables may exist in other formats.
            agency = record.get("agency")
            rid = report_id(agency, record.get("year")) if key[1] is not None else "r?" + best["sha256"][:10]
            sightings = _sightings(members, urls_by_sha, url_to_sha, children)
            region = record.get("region") or {}
            status = "unattributed" if key[1] is None else parse_status(record)
            due, due_rule = timeliness.deadline(record.get("year"), record.get("admin_level"),
                                                record.get("agency_kind"))
            database["reports"].insert({
                "deadline": due, "deadline_rule": due_rule,
                "on_time": timeliness.on_time(due, record.get("published")),
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
                "canonical_reason": _reason(best, [d for d in members if d is not best]),
                "n_versions": len(versions),
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
                "row": cid.split(".")[1], "col": cid.split(".")[2], "value": value,
                **cell_provenance((record.get("provenance") or {}).get(cid))}
                for cid, value in (record.get("cells") or {}).items()])
            database["checks_failed"].insert_all([{"report_id": rid, "check_id": c}
                                                  for c in record.get("checks_failed") or []])
            database["sections"].insert_all([{"report_id": rid, "section": n, "heading": None, "text": text}
                                             for n, text in (record.get("sections") or {}).items()])
            version_cells = []
            for number, version in enumerate(versions, 1):
                with_cells = max(version, key=lambda d: len(d["record"].get("cells") or {}))
                version_cells.append(with_cells["record"].get("cells") or {})
                database["report_versions"].insert({
                    "report_id": rid, "version": number, "is_latest": int(number == len(versions)),
                    "first_seen": min((d["first_seen"] or "" for d in version), default=None),
                    "sha256s": dbmod.dumps(sorted(d["sha256"] for d in version)),
                    "n_cells": len(version_cells[-1])})
            for number in range(1, len(version_cells)):
                old, new = version_cells[number - 1], version_cells[number]
                if old and new:
                    database["cell_changes"].insert_all([{
                        "report_id": rid, "cell_id": cell, "from_version": number, "to_version": number + 1,
                        "old_value": a, "new_value": b} for cell, a, b in changed_cells(old, new)])
            if agency and key[1] is not None:
                entry = agencies.setdefault(agency_alias_key(agency), {
                    "agency": agency, "aliases": set(), "admin_level": record.get("admin_level"),
                    "agency_kind": record.get("agency_kind"), "province": region.get("province"),
                    "city": region.get("city"), "county": region.get("county"),
                    "division_code": _division_code(region), "parent": _parent_government(record),
                    "n_reports": 0})
                entry["n_reports"] += 1
                entry["aliases"].update(d["record"].get("agency") for d in members if d["record"].get("agency"))
        database.execute("delete from agencies")
        database["agencies"].insert_all([{**a, "aliases": dbmod.dumps(sorted(a["aliases"]))}
                                         for a in agencies.values()], pk="agency", replace=True)
    return {"reports": database["reports"].count, "sightings": database["sightings"].count}


def _division_code(region: dict) -> str | None:
    """GB/T 2260 code of the most specific division named in the region (from the gazetteer)."""
    try:
        from parsers.gazetteer import lookup
    except ImportError:
        return None
    for name in (region.get("county"), region.get("city"), region.get("province")):
        if name:
            found = lookup(name)
            if found and found.get("code"):
                return found["code"]
    return None


def _same_result(old: str | None, new: dict) -> bool:
    """The parse gave what was stored, apart from the parser version that produced it."""
    if not old:
        return False
    try:
        before = json.loads(old)
    except ValueError:
        return False
    strip = lambda r: {k: v for k, v in r.items() if k != "parser_version"}   # noqa: E731
    return strip(before) == strip(json.loads(json.dumps(new, ensure_ascii=False)))


def _write_done(database, window: dict, until, changed: list) -> int:
    """Store finished parses; only a result that differs from the stored one is rewritten."""
    import concurrent.futures as cf
    done, _ = cf.wait(list(window), return_when=until)
    for future in done:
        row, record = window.pop(future), future.result()
        if _same_result(row.get("record"), record):
            continue
        dbmod.write_parse(database, row["sha256"], record)
        changed.append(row["sha256"])
    database.conn.commit()
    return len(done)


def reparse_all(db_path, workers: int = 2, stale_only: bool = False) -> str:
    """Parse stored report candidates again from their bytes (all, or with stale_only those parsed by
    another parser version), rewrite the parses whose result changed, rebuild if any did. No network."""
    with dbmod.writer(db_path, what="ogi reparse"):
        return _reparse_all(db_path, workers, stale_only)


def _reparse_all(db_path, workers: int, stale_only: bool = False) -> str:
    import concurrent.futures as cf

    from harvester.parsing import WorkerPool, safe_parse_bytes
    from harvester.progress import counter
    from harvester.store import BlobStore

    database = dbmod.open_db(db_path)
    store = BlobStore(Path(db_path).parent)
    from parsers.api import PARSER_VERSION

    rows = list(database.query(
        "select d.sha256, d.media_type, min(u.url) as url, p.record, p.parser_version from documents d "
        "join urls u on u.sha256 = d.sha256 left join parses p on p.sha256 = d.sha256 "
        f"where u.kind in {DOCUMENT_ROLES_SQL} group by d.sha256"))
    if stale_only:
        rows = [r for r in rows if r["parser_version"] != PARSER_VERSION]
    parsed, changed = 0, []
    pool = WorkerPool(workers)      # survives a worker dying; limits per document
    with counter(len(rows), "re-parsed") as tick:
        try:
            window: dict = {}       # a bounded number of bodies in flight: memory flat in corpus size
            for r in rows:
                future = pool.submit(safe_parse_bytes, store.get(r["sha256"]), r["url"].rsplit("/", 1)[-1],
                                     r["media_type"])
                window[future] = r
                if len(window) >= 4 * max(1, workers):
                    n = _write_done(database, window, cf.FIRST_COMPLETED, changed)
                    parsed += n
                    tick(n)
            while window:
                n = _write_done(database, window, cf.ALL_COMPLETED, changed)
                parsed += n
                tick(n)
        finally:
            pool.shutdown(wait=False)
    if not changed and database["reports"].count:
        return f"re-parsed {parsed} documents; none changed, nothing rewritten (parser {PARSER_VERSION})"
    counts = rebuild(database)
    from harvester.publish import prepare
    prepare(db_path)
    return (f"re-parsed {parsed} documents; {len(changed)} changed and rewritten (parser {PARSER_VERSION}); "
            f"{counts['reports']} reports, {counts['sightings']} sightings")


def parse_status(record: dict) -> str:
    """What a reader may trust, most serious first: `errors` (something was left unread or failed),
    `no_tables` (a 2019/2021 report whose tables were not found), `inferred` (some value was chosen
    among readings: check the source), `ocr` (read from a scan, both engines agreeing), `ok`."""
    if any(e.get("kind") not in READING_NOTES for e in record.get("errors") or []):
        return "errors"
    if record.get("template") in ("2019", "2021") and not any((record.get("tables") or {}).values()):
        return "no_tables"
    hows = {p.get("how") for p in (record.get("provenance") or {}).values()}
    if "inferred" in hows:
        return "inferred"
    if record.get("ocr") or "ocr" in hows:
        return "ocr"
    return "ok"


def cell_provenance(p: dict | None) -> dict:
    """A cell's provenance (parsers.tables.PROVENANCE) as the columns of `cells`."""
    p = p or {}
    box = p.get("box") or p.get("box_px")
    return {"how": p.get("how"), "page": p.get("page"),
            "box": json.dumps(box) if box else None,
            "ocr": json.dumps(p["ocr"], ensure_ascii=False) if p.get("ocr") else None,
            "note": p.get("note")}
