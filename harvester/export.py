"""Open-data export: CSV, JSON Lines and Parquet of the main tables, with a Frictionless datapackage.json.

The data dictionary (field names, types, Chinese/English descriptions, units) is the same one the site
shows, generated from the codebook by `harvester.site_metadata`; nothing is typed twice.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

from harvester import site_metadata as sm
from harvester.progress import counter

TABLES = ["reports", "sightings", "cells", "t2_2021", "t2_2019", "t3", "t4", "report_figures", "sections",
          "checks_failed", "cell_labels"]
FORMATS = ("csv", "jsonl", "parquet")
BATCH = 50_000
_UNIT_RE = re.compile(r"\[([^\]]+)\]")


def _field_type(declared: str) -> str:
    d = (declared or "").upper()
    if "INT" in d:
        return "integer"
    if "CHAR" in d or "TEXT" in d or "CLOB" in d:
        return "string"
    return "number"  # REAL, FLOAT, and the untyped aggregates of the wide tables


def _arrow_type(ftype: str):
    import pyarrow as pa
    return {"integer": pa.int64(), "string": pa.string(), "number": pa.float64()}[ftype]


def _fields(conn: sqlite3.Connection, table: str, descriptions: dict[str, str]) -> list[dict]:
    fields = []
    for _cid, name, declared, *_ in conn.execute(f"PRAGMA table_info([{table}])"):
        f = {"name": name, "type": _field_type(declared)}
        desc = descriptions.get(name)
        if desc:
            f["description"] = desc
            m = _UNIT_RE.search(desc)
            if m:
                f["unit"] = m.group(1)
        fields.append(f)
    return fields


def _rows(conn: sqlite3.Connection, table: str, names: list[str]):
    cur = conn.execute(f"SELECT {', '.join(f'[{n}]' for n in names)} FROM [{table}] ORDER BY rowid")
    while True:
        batch = cur.fetchmany(BATCH)
        if not batch:
            return
        yield batch


def _coerce(value, ftype):
    if value is None:
        return None
    try:
        if ftype == "integer":
            return int(value)
        if ftype == "number":
            return float(value)
    except (TypeError, ValueError):
        return None
    return str(value)


def _export_table(conn, table: str, tmeta: dict, out: Path, formats, resources: list, lines: list, tick) -> None:
    """One table in each format; its resources for datapackage.json and its summary line."""
    fields = _fields(conn, table, tmeta.get("columns", {}))
    names = [f["name"] for f in fields]
    types = [f["type"] for f in fields]
    schema = {"fields": fields}
    pk = [r[1] for r in sorted((r for r in conn.execute(f"PRAGMA table_info([{table}])") if r[5]),
                               key=lambda r: r[5])]
    if pk:
        schema["primaryKey"] = pk
    writers = {}
    if "csv" in formats:
        (out / "csv").mkdir(parents=True, exist_ok=True)
        fh = open(out / "csv" / f"{table}.csv", "w", encoding="utf-8", newline="")
        w = csv.writer(fh)
        w.writerow(names)
        writers["csv"] = (fh, w)
    if "jsonl" in formats:
        (out / "jsonl").mkdir(parents=True, exist_ok=True)
        writers["jsonl"] = (open(out / "jsonl" / f"{table}.jsonl", "w", encoding="utf-8"), None)
    pq_writer = None
    if "parquet" in formats:
        import pyarrow as pa
        import pyarrow.parquet as pq
        (out / "parquet").mkdir(parents=True, exist_ok=True)
        arrow_schema = pa.schema([(n, _arrow_type(t)) for n, t in zip(names, types)])
        pq_writer = pq.ParquetWriter(out / "parquet" / f"{table}.parquet", arrow_schema, compression="zstd")
    n = 0
    for batch in _rows(conn, table, names):
        n += len(batch)
        tick(len(batch))
        batch = [[_coerce(v, t) for v, t in zip(row, types)] for row in batch]
        if "csv" in writers:
            writers["csv"][1].writerows(batch)
        if "jsonl" in writers:
            fh = writers["jsonl"][0]
            for row in batch:
                fh.write(json.dumps(dict(zip(names, row)), ensure_ascii=False) + "\n")
        if pq_writer is not None:
            cols = list(zip(*batch))
            pq_writer.write_table(pa.table([pa.array(list(c), type=_arrow_type(t))
                                            for c, t in zip(cols, types)], schema=arrow_schema))
    for fh, _ in writers.values():
        fh.close()
    if pq_writer is not None:
        pq_writer.close()
    title = tmeta.get("title", table)
    description = tmeta.get("description", "")
    for fmt in formats:
        res = {"name": table if fmt == "csv" else f"{table}-{fmt}", "path": f"{fmt}/{table}.{fmt}",
               "title": title, "description": description, "format": fmt, "schema": schema}
        if fmt == "csv":
            res.update(mediatype="text/csv", encoding="utf-8", profile="tabular-data-resource")
        elif fmt == "jsonl":
            res.update(mediatype="application/jsonl", encoding="utf-8")
        else:
            res.update(mediatype="application/vnd.apache.parquet")
        res["bytes"] = (out / res["path"]).stat().st_size
        resources.append(res)
    lines.append(f"  {table:15} {n:>10,} rows")


def export(db_path: str | Path, out_dir: str | Path, formats=FORMATS) -> str:
    """Write the tables in each format under out_dir/<format>/ and out_dir/datapackage.json; return a summary."""
    from harvester.publish import needs_prepare, prepare

    db_path, out = Path(db_path), Path(out_dir)
    formats = tuple(f.lower() for f in formats)
    bad = set(formats) - set(FORMATS)
    if bad:
        raise ValueError(f"unknown export format(s): {', '.join(sorted(bad))}; use {', '.join(FORMATS)}")
    if needs_prepare(db_path):
        prepare(db_path)
    meta = sm.build_metadata(db_path.stem)
    tables_meta = meta["databases"][db_path.stem]["tables"]
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    existing = {r[0] for r in conn.execute("select name from sqlite_master where type in ('table', 'view')")}

    resources, lines = [], []
    tables = [t for t in TABLES if t in existing]
    total = sum(conn.execute(f"select count(*) from [{t}]").fetchone()[0] for t in tables)
    with counter(total, "exported", unit="rows") as tick:
        for table in tables:
            _export_table(conn, table, tables_meta.get(table, {}), out, formats, resources, lines, tick)
    conn.close()
    package = {
        "profile": "data-package",
        "name": "ogi-annual-reports",
        "title": meta.get("title"),
        "description": re.sub(r"<[^>]+>", "", meta.get("description_html", "")).strip(),
        "licenses": [{"name": "CC-BY-4.0", "title": meta.get("license"), "path": meta.get("license_url")}],
        "sources": [{"title": meta.get("source"), "path": meta.get("source_url")}],
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "keywords": ["政府信息公开", "government information disclosure", "China", "annual reports"],
        "codebook_version": sm.codebook().get("codebook_version"),
        "units": sm.units(),
        "resources": resources,
    }
    (out / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=1), encoding="utf-8")
    return "\n".join([f"exported {db_path} to {out} ({', '.join(formats)}):"] + lines
                     + [f"  datapackage.json: {len(resources)} resources"])
