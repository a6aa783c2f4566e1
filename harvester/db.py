"""The SQLite database the crawl writes and Datasette serves: schema and small write helpers.

Raw facts (documents, urls, crawl_runs, errors, candidates, parses) are written during a crawl;
derived tables (reports, sightings, cells, checks_failed, sections) are rebuilt from them by
`harvester.reports.rebuild`, so a reparse or a new dedup rule never needs a recrawl.
Users and scripts query `reports` and `sightings` by name (shared CONTRACT.md §5): keep them.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
from pathlib import Path

import sqlite_utils

# Every table with its columns, in one place. Types follow sqlite-utils (str, int, float).
SCHEMA: dict[str, dict] = {
    # One row per distinct body (content-addressed); bytes live in the blob store under sha256.
    "documents": dict(columns={"sha256": str, "size": int, "media_type": str, "format": str,
                               "first_fetched": str, "last_fetched": str, "blob_path": str},
                      pk="sha256"),
    # Every URL ever requested or seen, with its latest outcome.
    "urls": dict(columns={"url": str, "portal": str, "kind": str, "status": int, "sha256": str,
                          "referrer": str, "link_text": str, "first_seen": str, "last_seen": str,
                          "run_id": int, "error": str,
                          # validators and the last time the server confirmed the bytes (harvester.incremental)
                          "etag": str, "last_modified": str, "validated_at": str},
                 pk="url"),
    # Every fetch, so a URL whose bytes change keeps its history (report versions).
    "fetches": dict(columns={"id": int, "url": str, "sha256": str, "status": int, "run_id": int,
                             "fetched_at": str},
                    pk="id"),
    "crawl_runs": dict(columns={"id": int, "portal": str, "spider": str, "started": str,
                                "finished": str, "status": str, "list_pages": int,
                                "candidates": int, "reports": int, "attachments": int,
                                "errors": int, "robots_obeyed": int, "settings": str,
                                # lists stating a total (共N条) and how many fell short of it
                                "lists_stated": int, "lists_incomplete": int,
                                "pid": int, "host": str,   # the crawl process, to tell a killed run
                                "stats": str},
                       pk="id"),
    # When each portal is next due (harvester.schedule), written after every run.
    "schedule": dict(columns={"portal": str, "cadence": str, "last_run_id": int, "last_started": str,
                              "last_status": str, "next_due": str},
                     pk="portal"),
    "errors": dict(columns={"id": int, "run_id": int, "portal": str, "url": str, "kind": str,
                            "message": str, "at": str},
                   pk="id"),
    # Every link the classifier judged, with its verdict and reason, so misses can be audited.
    "candidates": dict(columns={"url": str, "run_id": int, "portal": str, "link_text": str,
                                "referrer": str, "decision": str, "reason": str,
                                "verdict": str, "verdict_reason": str, "at": str},
                       pk=("url", "run_id")),
    # One parse per document body; `record` is the full parser output as JSON.
    "parses": dict(columns={"sha256": str, "parser_version": str, "parsed_at": str,
                            "format": str, "is_report": int, "agency": str, "year": int,
                            "template": str, "ocr": int, "n_cells": int, "errors": str,
                            "record": str},
                   pk="sha256"),
    # Derived: one row per (agency, year).
    "reports": dict(columns={"id": str, "agency": str, "year": int, "template": str,
                             "title": str, "script": str, "published": str, "province": str,
                             "city": str, "county": str, "township": str, "admin_level": str,
                             "agency_kind": str, "t2": int, "t3": int, "t4": int,
                             "format": str, "ocr": int, "parse_status": str,
                             "n_checks_failed": int, "checks_failed": str,
                             "canonical_sha256": str, "canonical_url": str,
                             "canonical_reason": str, "n_versions": int, "n_documents": int, "n_urls": int,
                             "first_seen": str, "last_seen": str,
                             # the legal deadline, the rule it comes from, and whether the stated
                             # date met it (harvester.timeliness)
                             "deadline": str, "deadline_rule": str, "on_time": int},
                    pk="id"),
    "sightings": dict(columns={"report_id": str, "url": str, "sha256": str, "role": str,
                               "format": str, "portal": str, "referrer": str,
                               "first_seen": str, "last_seen": str},
                      pk=("report_id", "url")),
    # Versions of one report (oldest first); the report's cells are the latest version's.
    "report_versions": dict(columns={"report_id": str, "version": int, "is_latest": int,
                                     "first_seen": str, "sha256s": str, "n_cells": int},
                            pk=("report_id", "version")),
    "cell_changes": dict(columns={"report_id": str, "cell_id": str, "from_version": int,
                                  "to_version": int, "old_value": float, "new_value": float},
                         pk=("report_id", "cell_id", "from_version")),
    # Agencies as entities: canonical name, aliases seen, GB/T 2260 code of the region, parent.
    "agencies": dict(columns={"agency": str, "aliases": str, "division_code": str,
                              "admin_level": str, "agency_kind": str, "province": str,
                              "city": str, "county": str, "parent": str, "n_reports": int},
                     pk="agency"),
    # Each value with how it was read (parsers.tables.PROVENANCE: table_cell, text_line, split, ocr,
    # inferred), the source page and the cell's box there (JSON [x0, top, x1, bottom], points from
    # the page's top left; an image, which has no pages: its pixels), for OCR both engines' readings
    # and confidences (JSON), and a note when the value was a choice.
    "cells": dict(columns={"report_id": str, "cell_id": str, "tbl": str, "row": str,
                           "col": str, "value": float, "how": str, "page": int, "box": str,
                           "ocr": str, "note": str},
                  pk=("report_id", "cell_id")),
    "checks_failed": dict(columns={"report_id": str, "check_id": str}, pk=("report_id", "check_id")),
    "sections": dict(columns={"report_id": str, "section": str, "heading": str, "text": str},
                     pk=("report_id", "section")),
}

FOREIGN_KEYS = {
    "urls": [("sha256", "documents", "sha256")],
    "sightings": [("report_id", "reports", "id")],
    "cells": [("report_id", "reports", "id")],
    "checks_failed": [("report_id", "reports", "id")],
    "sections": [("report_id", "reports", "id")],
    "report_versions": [("report_id", "reports", "id")],
    "cell_changes": [("report_id", "reports", "id")],
}

INDEXES = {
    "urls": [["sha256"], ["portal"]],
    "fetches": [["url"], ["sha256"]],
    "errors": [["run_id"], ["kind"]],
    "reports": [["year"], ["province"], ["agency"], ["template"], ["admin_level"]],
    "sightings": [["url"], ["sha256"]],
    "cells": [["cell_id", "value"]],
    "checks_failed": [["check_id"]],
}


class DatabaseBusy(RuntimeError):
    """Another ogi process is writing this database and we were asked not to wait."""


@contextlib.contextmanager
def file_lock(lock_path: str | Path, what: str, *, wait: bool, waiting: str = ""):
    """An exclusive flock on `lock_path`, which then names its holder (`what` and our pid). Yields None
    once held, or, with wait=False, the holder's name when another process holds it. `waiting` is
    printed on stderr before blocking. Closing the file releases the lock, even after SIGKILL."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "a+")        # not "w": truncating would erase the holder's name before we hold it
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if not wait:
                yield holder
                return
            if waiting:
                print(waiting.format(holder=holder), file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{what} (pid {os.getpid()})")
        fh.flush()
        yield None
    finally:
        fh.close()


@contextlib.contextmanager
def writer(path: str | Path, *, wait: bool = True, what: str = "ogi"):
    """Writers take turns: one crawl or reparse at a time per database file, by an exclusive lock
    next to it. A second writer waits (saying so on stderr) or, with wait=False, raises
    DatabaseBusy naming the holder. SQLite's own locking cannot do this alone: a crawl's rebuild
    holds the write lock longer than any busy timeout."""
    with file_lock(str(path) + ".write.lock", what, wait=wait,
                   waiting=f"waiting: {path} is being written by {{holder}}") as holder:
        if holder:
            raise DatabaseBusy(f"{path} is being written by {holder}; wait for it to finish or use another --db")
        yield


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database with every table, index and view in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")     # WAL stays consistent; no fsync per page written
    db.execute("PRAGMA busy_timeout=30000")
    for name, spec in SCHEMA.items():
        table = db[name]
        if not table.exists():
            fks = [fk for fk in FOREIGN_KEYS.get(name, []) if db[fk[1]].exists()]
            table.create(spec["columns"], pk=spec["pk"], foreign_keys=fks or None)
        else:
            missing = {c: t for c, t in spec["columns"].items() if c not in table.columns_dict}
            for col, typ in missing.items():
                table.add_column(col, typ)
    for name, columns_list in INDEXES.items():
        for columns in columns_list:
            db[name].create_index(columns, if_not_exists=True)
    return db


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def write_parse(database, sha256: str, record: dict) -> None:
    """Store one parser output for a body (replacing an older parse of the same bytes). A plain
    statement inside the caller's transaction: the caller commits."""
    database.conn.execute(
        "insert into parses (sha256, parser_version, parsed_at, format, is_report, agency, year, template, "
        "ocr, n_cells, errors, record) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict(sha256) do update set "
        "parser_version = excluded.parser_version, parsed_at = excluded.parsed_at, format = excluded.format, "
        "is_report = excluded.is_report, agency = excluded.agency, year = excluded.year, "
        "template = excluded.template, ocr = excluded.ocr, n_cells = excluded.n_cells, errors = excluded.errors, "
        "record = excluded.record",
        [sha256, record.get("parser_version", ""), now(), record.get("format"), int(bool(record.get("is_report"))),
         record.get("agency"), record.get("year"), record.get("template"), int(bool(record.get("ocr"))),
         len(record.get("cells") or {}), dumps([*record.get("errors", []), *record.get("reading_notes", [])]),
         json.dumps(record, ensure_ascii=False)])
