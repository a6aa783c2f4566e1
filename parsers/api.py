"""The one entry point from bytes to a report record (the `ogi parse --json` line).

parse_bytes() never raises on bad input: whatever goes wrong becomes an entry in `errors`
with a kind and a message, and a table the document lacks is reported absent, never as zeros.
"""
from __future__ import annotations

import contextlib
import gc
import os
import threading
from pathlib import Path

PARSER_VERSION = "0.2"     # 0.2: cells carry their provenance; `ogi reparse --stale` adds it to older parses


def empty_record() -> dict:
    """The contract's keys (shared CONTRACT.md §5) with 'unknown' values, plus our own extras."""
    return {
        "agency": None, "year": None, "template": None, "script": None, "published": None,
        "region": {"province": None, "city": None, "county": None, "township": None},
        "admin_level": None, "agency_kind": None,
        "tables": {"t2": False, "t3": False, "t4": False},
        "cells": {}, "headline": {}, "checks_failed": [], "sections": {}, "errors": [],
        # extras beyond the contract
        "format": None, "ocr": False, "title": None, "is_report": False,
        "parser_version": PARSER_VERSION, "text": "",
        # cell id -> how its value was read (parsers.tables.PROVENANCE), page and box when known
        "provenance": {},
    }


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved = gc.get_threshold()


@contextlib.contextmanager
def fewer_gc_passes():
    """pdfminer and lxml allocate hundreds of thousands of short-lived objects per document; at
    Python's default threshold (700 allocations) the young generation is collected thousands of
    times per PDF, about 15% of the parse. Collect less often while parsing, then restore."""
    global _gc_depth, _gc_saved
    with _gc_lock:                     # overlapping parses (threads): the outermost restores
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], 50_000), _gc_saved[1], _gc_saved[2])
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.set_threshold(*_gc_saved)


def parse_bytes(data: bytes, *, filename: str | None = None, media_type: str | None = None) -> dict:
    """Parse one document's bytes into a record. Never raises for bad input."""
    with fewer_gc_passes():
        return _parse_bytes(data, filename=filename, media_type=media_type)


def _parse_bytes(data: bytes, *, filename: str | None, media_type: str | None) -> dict:
    from parsers import checks, extract, headline, meta, sections, tables

    record = empty_record()
    try:
        doc = extract.extract(data, filename=filename, media_type=media_type)
    except Exception as exc:  # a bug, not bad input: still one line per file
        record["errors"].append({"kind": "internal", "message": f"extraction failed: {exc!r}"})
        return record
    record.update(format=doc.format, ocr=doc.ocr, title=doc.title, text=doc.text)
    record["errors"].extend(p.as_dict() for p in doc.problems)
    if not doc.text.strip():
        return record

    try:
        found = tables.parse_tables(doc)          # template, tables present, cells, problems
        record["template"] = found.template
        record["tables"] = found.tables
        record["cells"] = found.cells
        record["provenance"] = found.provenance
        record["errors"].extend(p.as_dict() for p in found.problems)
        record["checks_failed"] = checks.failed_checks(found.template, found.tables, found.cells)
        record["sections"] = sections.split_sections(doc.text)
        record.update(meta.read_meta(doc, template=found.template))   # agency, year, region...
        if record["template"] is None:
            record["template"] = meta.template_from_year(record["year"], doc.text)
        if record["template"] == "pre2019":
            record["headline"] = headline.read_headline(doc.text)
        record["is_report"] = meta.looks_like_report(doc, record)
        if not record["is_report"] and not any(record["tables"].values()):
            record["template"] = None        # the year alone says nothing about a page that is no report
        if not record["is_report"]:
            record["errors"].append({"kind": "not_a_report",
                                     "message": "no annual-report title, sections or tables found"})
    except Exception as exc:
        record["errors"].append({"kind": "internal", "message": f"parse failed: {exc!r}"})
    return _notes_apart(record)


def _notes_apart(record: dict) -> dict:
    """How a value was read (a label misprinted, digits run together read the one plausible way, a
    lost blank restored) is not an error: it goes to `reading_notes` (an extra key; `provenance`
    marks the cells). `errors` keeps what failed or was left unread."""
    from parsers.document import READING_NOTES
    notes = [e for e in record["errors"] if e.get("kind") in READING_NOTES and e.get("kind") != "not_a_report"
             and "left unread" not in str(e.get("message"))]
    if notes:
        record["errors"] = [e for e in record["errors"] if e not in notes]
        record["reading_notes"] = notes
    return record


def parse_file(path: str | Path) -> dict:
    """Parse a file on disk; the record's `file` is the path as given."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        record = empty_record()
        record["errors"].append({"kind": "unreadable", "message": str(exc)})
    else:
        record = parse_bytes(data, filename=path.name)
    record = {"file": display_path(path), **record}
    return record


def display_path(path: Path) -> str:
    """The path as given, printable in JSON: a name that is not UTF-8 (a GBK name from a Windows zip)
    keeps its bytes as \\xNN escapes rather than becoming replacement characters nobody can map back."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")
