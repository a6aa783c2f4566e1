"""Datasette plugin for the published site (registered by `harvester.publish.make_datasette`).

- `escape_fts()` is replaced by `zh_fts()` on every connection, so the table search box and the canned
  queries search the Chinese bigram index (see `harvester.publish`).
- `/-/report/<id>`: one page per report, its three tables laid out as in the national format.
- `/-/blob/<sha256>`: the stored original file, sandboxed (crawled HTML never runs on this origin).
- report ids link to their report page wherever they appear.
- every connection refuses huge values and fts3_tokenizer(), and one SQL thread in four runs visitors' own
  SQL (`?sql=`, `?_where=`), so hostile queries never starve the normal pages.
- the home page gets the coverage of the data (a query, not a hand-kept list).
Crawled text is only ever rendered through Jinja's autoescape; nothing here marks crawled text safe.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from datasette import Response, hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet, ColumnFacet, DateFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args
from markupsafe import Markup

from harvester import publish
from parsers import charsets
from parsers.tables import PROVENANCE
from harvester import site_metadata as sm

PLUGIN = "ogi-site"
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
SAFE_URL_RE = re.compile(r"^https?://", re.I)


def _config(datasette) -> dict:
    return datasette.plugin_config(PLUGIN) or {}


def _db(datasette):
    name = _config(datasette).get("database")
    return datasette.get_database(name) if name else datasette.get_database()


def report_url(datasette, report_id: str) -> str:
    return datasette.urls.path("/-/report/" + quote(str(report_id), safe=""))


@hookimpl(trylast=True)
def prepare_connection(conn):
    # trylast: run after Datasette's own sql_functions plugin, so our escape_fts wins.
    publish.register_functions(conn)
    publish.harden_connection(conn)


# Query parameters that carry SQL written by the visitor (Datasette runs it with the execute-sql permission).
USER_SQL_PARAMS = {"sql", "_where"}


@hookimpl
def asgi_wrapper(datasette):
    """Run visitor-written SQL on at most one SQL thread in four at once; refuse more with 429.

    Each such query may hold an SQL thread (and a core) for sql_time_limit_ms, and Datasette serves every
    page from the same threads: without this, a burst of slow queries queues every normal page behind them,
    and on a small machine takes the CPU they need."""
    limit = max(1, datasette.setting("num_sql_threads") // 4)

    def wrap(app):
        running = 0

        async def gated(scope, receive, send):
            nonlocal running
            if scope["type"] != "http" or not USER_SQL_PARAMS.intersection(
                    k for k, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)):
                return await app(scope, receive, send)
            if running >= limit:
                return await Response.text("too many SQL queries at once; try again in a few seconds", status=429,
                                           headers={"Retry-After": "5"}).asgi_send(send)
            running += 1  # one event loop: no lock needed
            try:
                await app(scope, receive, send)
            finally:
                running -= 1
        return gated
    return wrap


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/ogi-static/site.css")]


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if value is None or not isinstance(value, str):
        return None
    if column == "report_id" or (column == "id" and table in ("reports",)) or column == "报告编号":
        return Markup('<a href="{}">{}</a>').format(report_url(datasette, value), value)
    if table == "reports" and column in ("title", "agency") and row is not None:
        try:
            rid = row["id"]
        except (KeyError, IndexError, TypeError):
            rid = None
        if rid:
            return Markup('<a href="{}" title="报告页 report page">{}</a>').format(report_url(datasette, rid), value)
    if column in ("canonical_sha256", "sha256") and SHA_RE.match(value):
        return Markup('<a href="{}" title="原文件 original file">{}…</a>').format(
            datasette.urls.path(f"/-/blob/{value}"), value[:12])
    if column in ("url", "canonical_url", "来源网址", "网址 url") and SAFE_URL_RE.match(value):
        return Markup('<a href="{}" rel="nofollow noopener" target="_blank">{}</a>').format(value, value)
    return None


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name != "index":
        return {}

    async def inner():
        db = _db(datasette)
        try:
            totals = (await db.execute("select * from coverage_totals")).first()
            by_year = (await db.execute(
                "select year, sum(reports) as n, sum(case when template = '2021' then reports else 0 end) as t2021, "
                "sum(case when template = '2019' then reports else 0 end) as t2019, "
                "sum(case when template = 'pre2019' then reports else 0 end) as pre2019, sum(with_t3) as with_t3, "
                "max(provinces) as provinces from coverage group by year order by year desc")).rows
            by_level = [dict(zip(("admin_level", "n"), item.rsplit(":", 1)))
                        for item in ((totals["by_level"] or "").split(";") if totals else []) if item]
            for item in by_level:
                item["n"] = int(item["n"])
            n_urls = totals["urls"] if totals else 0
        except Exception:  # an empty or unprepared database still gets a home page
            totals, by_year, by_level, n_urls = None, [], [], 0
        return {"ogi_db": db.name, "ogi_totals": dict(totals) if totals else None,
                "ogi_by_year": [dict(r) for r in by_year], "ogi_by_level": by_level,
                "ogi_n_urls": n_urls,
                "ogi_queries": [(k, v.get("title", k)) for k, v in
                                ((datasette.metadata("queries", database=db.name) or {}).items())]}
    return inner


# ------------------------------------------------------------------------------------------------------
# report page

def _layout_tables(template: str, values: dict[str, float]) -> dict:
    """The three tables of a report as lists the template renders (labels from the codebook)."""
    if template not in ("2021", "2019"):
        return {}
    tables = sm.codebook()["templates"][template]["tables"]

    def v(cid):
        return values.get(cid)

    t2 = []
    for block in tables["t2"]["blocks"]:
        t2.append(dict(caption=block["caption"], header=block.get("row_header", "信息内容"),
                       columns=[c["label"] for c in block["columns"]],
                       rows=[dict(label=r["label"],
                                  values=[v(f"t2.{r['id']}.{c['id']}") for c in block["columns"]],
                                  ids=[f"t2.{r['id']}.{c['id']}" for c in block["columns"]])
                             for r in block["rows"]]))
    t3 = tables["t3"]
    t3_rows, last_group = [], None
    for r in t3["rows"]:
        group = r.get("group")
        if group and group != last_group and group != "三、本年度办理结果":
            t3_rows.append(dict(group_header=group))
        if group == "三、本年度办理结果" and last_group is None:
            t3_rows.append(dict(group_header=group))
        last_group = group or last_group
        t3_rows.append(dict(label=r["label"], id=r["id"],
                            values=[v(f"t3.{r['id']}.{c}") for c in sm.T3_COLUMNS]))
    t4 = tables["t4"]
    t4_values = [v(f"t4.{b}.{c}") for b in sm.T4_BLOCKS for c in sm.T4_COLUMNS]
    return dict(
        t2=t2,
        t3=dict(heading=t3["heading"], note=t3.get("corner_note"),
                columns=[c["label"] for c in t3["columns"]], rows=t3_rows),
        t4=dict(heading=t4["heading"], blocks=[b["label"] for b in t4["blocks"]],
                columns=[c["label"] for c in t4["columns"]], values=t4_values),
    )


# How a value was read, as a reader sees it: a mark beside the number and a line of the legend.
# The meaning in English is the parser's own (parsers.tables.PROVENANCE); a plain table cell has no mark.
MARKS = {
    "table_cell": ("", "表格单元格"),
    "text_line": ("文", "正文行"),
    "split": ("拆", "连排数字拆分"),
    "ocr": ("识", "扫描件识别（OCR）"),
    "inferred": ("推", "推断，请核对原文"),
}


def _cell_marks(rows) -> dict[str, dict]:
    """cell id -> {mark, how, title}: the tooltip says how the value was read, where (page, box)
    and, for a scan, what each OCR engine read with what confidence."""
    out = {}
    for r in rows:
        how = r.get("how")
        if how not in MARKS:
            continue
        mark, zh = MARKS[how]
        parts = [r["cell_id"], f"{zh} · {PROVENANCE[how]}"]
        if r.get("page"):
            parts.append(f"第{r['page']}页 page {r['page']}")
        if r.get("box"):
            try:
                box = json.loads(r["box"])
                unit = "pt" if r.get("page") else "px"
                parts.append("box " + ", ".join(f"{float(v):g}" for v in box) + f" {unit} (x0, top, x1, bottom)")
            except (TypeError, ValueError):
                pass
        if r.get("ocr"):
            try:
                ocr = json.loads(r["ocr"])
                for name, e in (ocr.get("engines") or {}).items():
                    parts.append(f"{name}: “{e.get('text', '')}” confidence {e.get('confidence')}")
            except (TypeError, ValueError, AttributeError):
                pass
        if r.get("note"):
            parts.append(r["note"])
        out[r["cell_id"]] = {"mark": mark, "how": how, "title": " · ".join(parts)}
    return out


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


async def report_page(request, datasette):
    report_id = unquote(request.url_vars["report_id"])
    db = _db(datasette)
    row = (await db.execute("select * from reports where id = ?", [report_id])).first()
    if row is None:
        return Response.html(await datasette.render_template(
            "ogi_report.html", {"report": None, "report_id": report_id, "db_name": db.name}, request=request),
            status=404)
    report = dict(row)
    cell_rows = [dict(r) for r in (await db.execute("select * from cells where report_id = ?", [report_id])).rows]
    cells = {r["cell_id"]: r["value"] for r in cell_rows}
    marks = _cell_marks(cell_rows)
    legend = [dict(how=h, mark=MARKS[h][0], zh=MARKS[h][1], en=PROVENANCE[h],
                   n=sum(1 for m in marks.values() if m["how"] == h)) for h in MARKS]
    checks = [r[0] for r in (await db.execute(
        "select check_id from checks_failed where report_id = ? order by check_id", [report_id])).rows]
    if not checks and report.get("checks_failed"):
        try:
            parsed = json.loads(report["checks_failed"])
            checks = list(parsed) if isinstance(parsed, list) else []
        except (TypeError, ValueError):
            checks = [c for c in re.split(r"[,\s]+", report["checks_failed"]) if c]
    sightings = [dict(r) for r in (await db.execute(
        "select s.*, d.blob_path, d.media_type, d.size from sightings s "
        "left join documents d on d.sha256 = s.sha256 where s.report_id = ? order by s.role, s.first_seen, s.url",
        [report_id])).rows]
    for s in sightings:
        s["safe_url"] = bool(s.get("url") and SAFE_URL_RE.match(s["url"]))
        s["blob_url"] = (datasette.urls.path(f"/-/blob/{s['sha256']}")
                         if s.get("sha256") and SHA_RE.match(s["sha256"]) and s.get("blob_path") else None)
    canonical = None
    if report.get("canonical_sha256") and SHA_RE.match(report["canonical_sha256"]):
        doc = (await db.execute("select * from documents where sha256 = ?", [report["canonical_sha256"]])).first()
        if doc:
            canonical = dict(doc)
            canonical["blob_url"] = datasette.urls.path(f"/-/blob/{doc['sha256']}")
    notes = []
    if canonical and await db.table_exists("parses"):
        parsed = (await db.execute("select errors from parses where sha256 = ?", [canonical["sha256"]])).first()
        try:
            notes = [e for e in json.loads(parsed["errors"] or "[]")
                     if isinstance(e, dict) and e.get("kind") != "not_a_report"] if parsed else []
        except (TypeError, ValueError):
            notes = []
    sections = [dict(r) for r in (await db.execute(
        "select section, heading, text from sections where report_id = ? order by section", [report_id])).rows]
    section_labels = sm.section_labels()
    for s in sections:
        s["label"] = s.get("heading") or section_labels.get(str(s["section"]), f"{s['section']}")
    versions, changes = [], []
    if await db.table_exists("report_versions"):
        versions = [dict(r) for r in (await db.execute(
            "select version, is_latest, first_seen, sha256s, n_cells from report_versions "
            "where report_id = ? order by version", [report_id])).rows]
        changes = [dict(r) for r in (await db.execute(
            "select cell_id, from_version, to_version, old_value, new_value from cell_changes "
            "where report_id = ? order by to_version, cell_id", [report_id])).rows]
    other_years = [dict(r) for r in (await db.execute(
        "select id, year from reports where agency = ? order by year", [report["agency"]])).rows]
    context = {
        "report": report, "report_id": report_id, "tables": _layout_tables(report.get("template"), cells),
        "n_cells": len(cells), "checks": checks, "notes": notes, "sightings": sightings, "canonical": canonical,
        "sections": sections, "other_years": other_years, "fmt": _fmt,
        "versions": versions, "changes": changes, "marks": marks, "legend": legend,
        "t3_columns": sm.T3_COLUMNS,
        "t4_ids": [f"t4.{b}.{c}" for b in sm.T4_BLOCKS for c in sm.T4_COLUMNS],
        "safe_canonical_url": bool(report.get("canonical_url") and SAFE_URL_RE.match(report["canonical_url"])),
        "report_url": lambda rid: report_url(datasette, rid), "db_name": db.name,
        "present": {k: bool(report.get(k)) for k in ("t2", "t3", "t4")},
    }
    return Response.html(await datasette.render_template("ogi_report.html", context, request=request))


async def blob(request, datasette):
    sha = request.url_vars["sha256"]
    if not SHA_RE.match(sha):
        return Response.text("not found", status=404)
    db = _db(datasette)
    doc = (await db.execute("select sha256, blob_path, media_type, format from documents where sha256 = ?",
                            [sha])).first()
    if doc is None:
        return Response.text("not found", status=404)
    root = Path(_config(datasette).get("blob_root") or ".").resolve()
    rel = doc["blob_path"] or f"blobs/{sha[:2]}/{sha}"
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file():
        return Response.text("file not in the blob store", status=404)
    media = (doc["media_type"] or "application/octet-stream").split(";")[0].strip()
    if not re.match(r"^[\w.+-]+/[\w.+-]+$", media):
        media = "application/octet-stream"
    if media.startswith("text/"):
        media += "; charset=" + charsets.guess(path.read_bytes()[:4096])
    ext = (doc["format"] or "bin").strip(".") or "bin"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:8] or "bin"
    headers = {
        # Sandboxed: crawled HTML/PDF is shown, never run with this site's origin.
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{sha[:16]}.{ext}"',
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    return Response(path.read_bytes(), status=200, headers=headers, content_type=media)


@hookimpl
def register_routes():
    return [
        (r"^/-/report/(?P<report_id>[^/]+)$", report_page),
        (r"^/-/blob/(?P<sha256>[0-9a-f]{64})$", blob),
    ]


# ------------------------------------------------------------------------------------------------------
# Facets in one query when searching. Datasette runs one SQL query per facet, so a full-text search that
# matches most of 250 000 reports evaluates the search (and looks up every matching row) once per facet.
# This column facet computes every configured facet from one materialised pass over the matches; it
# replaces Datasette's own column facet (registered by `harvester.publish.make_datasette`) and behaves
# exactly like it when there is no search.



class BatchedColumnFacet(ColumnFacet):
    async def facet_results(self):
        configs = self.get_configs()
        # Only a full-text search makes each facet query expensive; otherwise each facet is a quick scan
        # of its own index and Datasette's one-query-per-facet is faster.
        searching = any(k.startswith("_search") and self.request.args.get(k) for k in self.request.args)
        if len(configs) < 2 or not searching:
            return await super().facet_results()
        columns = [(sc["source"], sc["config"].get("column") or sc["config"]["simple"]) for sc in configs]
        facet_size = self.get_facet_size()
        names = [c for _, c in columns]
        cols_sql = ", ".join(escape_sqlite(c) for c in names)
        inner = self.sql
        if self.table == "reports" and names == sm.report_facets() and (await self.ds.execute(
                self.database, "select count(*) from sqlite_master where name = 'idx_reports_facets'")).first()[0]:
            # Count the combinations straight off the covering index, probing the search's matches:
            # no row lookups and no sort (prepare builds idx_reports_facets).
            inner = inner.replace(" from reports ", " from reports indexed by idx_reports_facets ", 1)
        sql = f"select {cols_sql}, count(*) as n from ({inner}) group by {cols_sql}"
        try:
            rows = await self.ds.execute(self.database, sql, self.params, truncate=False,
                                         custom_time_limit=self.ds.setting("facet_time_limit_ms") * 3)
        except (QueryInterrupted, Exception):
            return await super().facet_results()
        counters = [dict() for _ in names]
        for row in rows.rows:
            n = row[-1]
            for i in range(len(names)):
                v = row[i]
                if v is not None:
                    counters[i][v] = counters[i].get(v, 0) + n
        by_key: dict[int, list] = {}
        for i, counter in enumerate(counters):
            ordered = sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:facet_size + 1]
            by_key[i] = [{"value": v, "count": n} for v, n in ordered]
        qs_pairs = self.get_querystring_pairs()
        facet_results = []
        for i, (source, column) in enumerate(columns):
            facet_rows_all = by_key.get(i, [])
            values_out = []
            facet_results.append({
                "name": column, "type": self.type, "hideable": source != "metadata",
                "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet": column})),
                "results": values_out, "truncated": len(facet_rows_all) > facet_size,
            })
            for row in facet_rows_all[:facet_size]:
                column_qs = f"{column}__exact" if column.startswith("_") else column
                selected = (column_qs, str(row["value"])) in qs_pairs
                if selected:
                    toggle_path = path_with_removed_args(self.request, {column_qs: str(row["value"])})
                else:
                    toggle_path = path_with_added_args(self.request, {column_qs: row["value"]})
                values_out.append({
                    "value": row["value"], "label": row["value"], "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle_path)),
                    "selected": selected,
                })
        return facet_results, []


class FacetClasses:
    """Plugin object standing in for datasette.facets' hook: the same facet types, columns batched."""

    @staticmethod
    @hookimpl
    def register_facet_classes():
        return [BatchedColumnFacet, DateFacet, ArrayFacet]
