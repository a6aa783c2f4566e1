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
import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from datasette import Response, hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet, ColumnFacet, DateFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args
from markupsafe import Markup

from harvester import health, publish
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
        app = _labelled_downloads(datasette, app)
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


# ------------------------------------------------------------------------------------------------------
# Downloads a spreadsheet can use. `?_labels=on` on any .csv or .json gives the columns their labels (codebook
# labels next to cell ids, see site_metadata.column_header); `?_bom=on` starts a CSV with a UTF-8 byte-order
# mark, without which Excel on Windows reads UTF-8 Chinese as mojibake. Datasette streams CSV itself
# (`_stream=on`, every row), so the header line is rewritten on its way out rather than re-rendered.

BOM = "\ufeff".encode("utf-8")
_PATH_RE = re.compile(r"^/(?P<db>[^/]+)(?:/(?P<name>[^/]+?))?\.(?P<ext>csv|json)$")


def _flag(pairs, name) -> bool:
    return any(k == name and v.lower() in ("on", "1", "true", "yes") for k, v in pairs)


def _headers_for(datasette, db: str, name: str | None, columns: list[str]) -> list[str]:
    name = unquote(name) if name else None
    described = sm.described_columns(datasette.metadata() or {}, db, name)
    return [sm.column_header(c, name, described) for c in columns]


def _relabel_csv_line(datasette, db, name, line: bytes) -> bytes:
    import csv
    import io

    head = next(csv.reader(io.StringIO(line.decode("utf-8"))), [])
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(_headers_for(datasette, db, name, head))
    return out.getvalue().encode("utf-8")


def _labelled_downloads(datasette, app):
    async def labelled(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        m = _PATH_RE.match(scope.get("path", ""))
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        labels, bom = _flag(pairs, "_labels"), _flag(pairs, "_bom")
        if not m or not (labels or bom):
            return await app(scope, receive, send)
        db, name, ext = m.group("db"), m.group("name"), m.group("ext")
        if ext == "json" and not labels:
            return await app(scope, receive, send)
        state = {"start": None, "buf": b"", "done": False, "ok": False}

        def strip_length(start):
            return dict(start, headers=[(k, v) for k, v in start.get("headers", [])
                                        if k.lower() != b"content-length"])

        async def send_csv(message):
            if message["type"] == "http.response.start":
                state["ok"] = message["status"] == 200
                return await send(strip_length(message) if state["ok"] else message)
            if message["type"] != "http.response.body" or not state["ok"] or state["done"]:
                return await send(message)
            state["buf"] += message.get("body", b"")
            more = message.get("more_body", False)
            if b"\n" not in state["buf"] and more:
                return  # the header line is not complete yet
            line, sep, rest = state["buf"].partition(b"\n")
            if line.endswith(b"\r"):
                line, sep = line[:-1], b"\r" + sep
            if labels:
                line = _relabel_csv_line(datasette, db, name, line)
            state["done"] = True
            await send({"type": "http.response.body", "body": (BOM if bom else b"") + line + sep + rest,
                        "more_body": more})

        async def send_json(message):
            if message["type"] == "http.response.start":
                state["start"] = message
                return
            state["buf"] += message.get("body", b"")
            if message.get("more_body", False):
                return
            body, start = state["buf"], state["start"]
            if start["status"] == 200:
                try:
                    data = json.loads(body)
                except ValueError:
                    data = None
                if isinstance(data, dict) and isinstance(data.get("columns"), list):
                    data["column_labels"] = dict(zip(data["columns"], _headers_for(
                        datasette, db, name, data["columns"])))
                    body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
            await send(strip_length(start))
            await send({"type": "http.response.body", "body": body})

        return await app(scope, receive, send_csv if ext == "csv" else send_json)
    return labelled


def _xlsx_value(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)  # counts: 859, not 859.0
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _xlsx_row(ws, row):
    from openpyxl.cell import WriteOnlyCell

    out = []
    for v in row:
        cell = WriteOnlyCell(ws, value=_xlsx_value(v))
        if isinstance(v, str) and cell.data_type == "f":
            cell.data_type = "s"  # crawled text starting with = stays text, never a formula
        out.append(cell)
    return out


def render_xlsx(datasette, columns, rows, request, database, table, query_name, data):
    """The rows of a table or query as an Excel workbook (openpyxl), headers labelled as in `_labels=on`,
    with a sheet saying where the rows came from and whether they are all of them."""
    import io

    from openpyxl import Workbook

    name = table or query_name
    wb = Workbook(write_only=True)
    ws = wb.create_sheet((name or "query")[:31])
    ws.append(_headers_for(datasette, database, name, list(columns)))
    n = 0
    for row in rows:
        ws.append(_xlsx_row(ws, row))
        n += 1
    about = wb.create_sheet("说明 about")
    about.append(["来源 source", request.url])
    about.append(["行数 rows", n])
    if data.get("next"):
        about.append(["不完整 incomplete", "more rows than one download holds: use CSV (every row) or narrow the filter"])
    title = (datasette.metadata("title") or "")
    about.append(["数据集 dataset", title])
    about.append(["许可 licence", datasette.metadata("license") or ""])
    out = io.BytesIO()
    wb.save(out)
    filename = re.sub(r"[^\w.-]", "_", name or "query") + ".xlsx"
    return Response(out.getvalue(), status=200, content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@hookimpl
def register_output_renderer(datasette):
    return {"extension": "xlsx", "render": render_xlsx}


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


PARAM_LABELS = {"year": "年度 year", "province": "省份 province", "level": "层级 level", "section": "章节 section",
                "include_failing": "包括表格不平的报告 include reports whose tables do not add up",
                "agency": "机关名称（部分）agency name (part)", "q": "词语 words"}


async def param_options(db) -> dict[str, list[tuple[str, str]]]:
    """The dropdowns of the canned queries' forms: '' (all) first, then the data's values."""
    found = await choices(db)
    everything = ("", "全部 all")
    out = {"year": [everything] + [(c["value"], c["value"]) for c in found.get("year", [])],
           "province": [everything] + [(c["value"], f"{c['value']} ({c['n']})") for c in found.get("province", [])],
           "level": [everything] + [(c["value"], f"{c['value']} ({c['n']})") for c in found.get("level", [])],
           "section": [(k, v) for k, v in sm.section_labels().items()],
           "include_failing": [("", "否 no"), ("1", "是 yes")]}
    return out


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if template == "query.html":
        async def for_query():
            return {"ogi_param_options": await param_options(_db(datasette)), "ogi_param_labels": PARAM_LABELS}
        return for_query
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
        synthetic = await db.table_exists("synthetic")
        return {"ogi_db": db.name, "ogi_totals": dict(totals) if totals else None, "ogi_synthetic": synthetic,
                "ogi_by_year": [dict(r) for r in by_year], "ogi_by_level": by_level,
                "ogi_n_urls": n_urls,
                "ogi_queries": [(k, v.get("title", k), _latest_year_args(v.get("sql", ""), totals))
                                for k, v in ((datasette.metadata("queries", database=db.name) or {}).items())]}
    return inner


def _latest_year_args(sql: str, totals) -> str:
    """A question that takes a year opens on the latest one (its form offers every other)."""
    if not totals or not totals["last_year"] or ":year" not in sql:
        return ""
    names = sorted(set(re.findall(r":(\w+)", sql)))
    return "?" + "&".join(f"{n}={totals['last_year'] if n == 'year' else ''}" for n in names)


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
    # a hybrid report's single row for a group (2019's （六）其他处理 in 2021 tables) in its sub-rows' place
    from parsers.codebook import collapsed_rows
    instead = {}
    for row, subs in collapsed_rows(template):
        if any(f"t3.{row.id}.{c}" in values for c in sm.T3_COLUMNS) and not any(
                f"t3.{s}.{c}" in values for s in subs for c in sm.T3_COLUMNS):
            instead.update({subs[0]: row, **{s: None for s in subs[1:]}})
    for r in t3["rows"]:
        if r["id"] in instead:
            row = instead[r["id"]]
            if row is not None:
                t3_rows.append(dict(label=row.label, id=row.id,
                                    values=[v(f"t3.{row.id}.{c}") for c in sm.T3_COLUMNS]))
            continue
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
        "select s.*, d.blob_path, d.media_type, d.size, d.format as doc_format from sightings s "
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
    snapshot = await snapshot_date(db)
    cite = citation(report, datasette.absolute_url(request, report_url(datasette, report_id)),
                    datasette.metadata("title") or "", snapshot)
    other_years = [dict(r) for r in (await db.execute(
        "select id, year from reports where agency = ? order by year", [report["agency"]])).rows]
    context = {
        "report": report, "report_id": report_id, "tables": _layout_tables(report.get("template"), cells),
        "n_cells": len(cells), "checks": checks, "notes": notes, "sightings": sightings, "canonical": canonical,
        "sections": sections, "other_years": other_years, "fmt": _fmt,
        "versions": versions, "changes": changes, "citation": cite, "snapshot": snapshot, "marks": marks, "legend": legend,
        "t3_columns": sm.T3_COLUMNS,
        "t4_ids": [f"t4.{b}.{c}" for b in sm.T4_BLOCKS for c in sm.T4_COLUMNS],
        "safe_canonical_url": bool(report.get("canonical_url") and SAFE_URL_RE.match(report["canonical_url"])),
        "sample": publish.sample_url(report.get("canonical_url")),
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


# ------------------------------------------------------------------------------------------------------
# search page: ranked by FTS5 bm25, each result with an excerpt of the section that matched

SEARCH_PAGE_SIZE = 20
SEARCH_COUNT_CAP = 1000   # counting every filtered match of a common word costs more than the page
# bm25 of every match of a word most of 250,000 reports contain costs ~340 ms (measured, `ogi bench site`):
# past this many matches only the ones added last are ranked (~17 ms for 10,000), and the page says so.
RANK_WINDOW = int(os.environ.get("OGI_RANK_WINDOW", 10_000))
# bm25 weights of reports_fts's columns (publish.FTS_COLUMNS): a word in the title or the agency's name
# says more about a report than the same word in its text.
BM25_WEIGHTS = {"title": 5.0, "agency": 5.0, "region": 2.0}


async def choices(db) -> dict[str, list[dict]]:
    """The dropdowns' values (table `choices`, built by prepare)."""
    out: dict[str, list[dict]] = {p: [] for p, _, _ in publish.CHOICE_COLUMNS}
    if await db.table_exists("choices"):
        for r in (await db.execute("select param, value, n from choices order by rowid")).rows:
            out.setdefault(r["param"], []).append({"value": r["value"], "n": r["n"]})
    return out


def _search_filters(args) -> tuple[list[str], list]:
    where, params = [], []
    for param, column, _ in publish.CHOICE_COLUMNS:
        value = (args.get(param) or "").strip()
        if not value:
            continue
        if column == "year":
            if not value.isdigit():
                continue
            value = int(value)
        where.append(f"r.{column} = ?")
        params.append(value)
    return where, params


async def search_page(request, datasette):
    db = _db(datasette)
    args = request.args
    q = (args.get("q") or "").strip()[:200]
    section = (args.get("section") or "").strip()
    section = section if section in sm.section_labels() else ""
    try:
        page = max(1, min(50, int(args.get("page") or 1)))
    except ValueError:
        page = 1
    context = {"q": q, "section": section, "choices": await choices(db), "selected": {
        p: (args.get(p) or "") for p, _, _ in publish.CHOICE_COLUMNS}, "sections": sm.section_labels(),
        "results": [], "count": None, "capped": False, "windowed": None, "page": page, "db_name": db.name,
        "page_size": SEARCH_PAGE_SIZE, "report_url": lambda rid: report_url(datasette, rid)}
    if q:
        match = publish.zh_fts_or(q)
        if section:  # the same restriction as zh_fts_in, around the whole expression
            match = "{%s} : (%s)" % (f"s{section}", match)
        where, params = _search_filters(args)
        cond = " and ".join(["reports_fts match ?"] + where)
        weights = ", ".join(str(BM25_WEIGHTS.get(c, 1.0)) for c in publish.FTS_COLUMNS)
        # every match, before filters (FTS5 counts a doclist without reading rows: ~15 ms for 250,000)
        n_all = (await db.execute("select count(*) from reports_fts where reports_fts match ?", [match])).first()[0]
        window = f"order by f.rowid desc limit {RANK_WINDOW}" if n_all > RANK_WINDOW else ""
        rows = (await db.execute(
            f"select r.id, r.agency, r.year, r.province, r.city, r.admin_level, r.title, m.score "
            f"from (select f.rowid, bm25(reports_fts, {weights}) as score from reports_fts f "
            f"join reports r on r.rowid = f.rowid where {cond} {window}) m join reports r on r.rowid = m.rowid "
            f"order by m.score, r.year desc limit ? offset ?",
            [match, *params, SEARCH_PAGE_SIZE, (page - 1) * SEARCH_PAGE_SIZE])).rows
        if where:
            n = (await db.execute(
                f"select count(*) from (select 1 from reports_fts f join reports r on r.rowid = f.rowid "
                f"where {cond} limit {SEARCH_COUNT_CAP + 1})", [match, *params])).first()[0]
            context["count"], context["capped"] = min(n, SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP
        else:
            context["count"], context["capped"] = n_all, False
        context["windowed"] = RANK_WINDOW if window else None
        results = [dict(r) for r in rows]
        texts: dict[str, list] = {}
        if results:
            marks = ",".join("?" * len(results))
            for s in (await db.execute(
                    f"select report_id, section, heading, text from sections where report_id in ({marks}) "
                    f"order by report_id, section", [r["id"] for r in results])).rows:
                texts.setdefault(s["report_id"], []).append(s)
        labels = sm.section_labels()
        for r in results:
            r["excerpt"], r["where"] = None, None
            secs = texts.get(r["id"], [])
            if section:
                secs = [s for s in secs if str(s["section"]) == section]
            for s in secs:  # the first section whose text holds the words
                parts = publish.excerpt(s["text"], q)
                if parts:
                    r["excerpt"] = parts
                    r["where"] = s["heading"] or labels.get(str(s["section"]), str(s["section"]))
                    r["section"] = s["section"]
                    break
            if r["excerpt"] is None:
                r["excerpt"] = publish.excerpt(r["title"], q) or publish.excerpt(r["agency"], q)
                r["where"] = "标题或机关名称 · title or agency"
        context["results"] = results
    return Response.html(await datasette.render_template("ogi_search.html", context, request=request))


# ------------------------------------------------------------------------------------------------------
# crawl health: the same records `ogi status` prints (harvester.schedule.portal_health), one line per portal

FLAG_TEXT = {"found_nothing": "没有找到报告 found nothing", "count_dropped": "报告数下降 count dropped",
             "errors_spiked": "错误激增 errors spiked", "parse_failures_rose": "无法读取的文件增多 unreadable documents rose"}


async def health_page(request, datasette):
    import sqlite_utils

    from harvester import schedule

    db = _db(datasette)
    now = schedule.utcnow()

    def read(conn):
        database = sqlite_utils.Database(conn)
        return (schedule.portal_health(database, schedule.portals_from_db(database), now),
                schedule.coverage_line(database))

    portals, coverage = await db.execute_fn(read)
    for p in portals:
        p["flag_text"] = [FLAG_TEXT.get(f, f.replace("run_", "运行未完成 run ")) for f in p["flags"]]
    context = {"portals": portals, "coverage": coverage, "now": now.isoformat(), "db_name": db.name,
               "n_red": sum(1 for p in portals if p["flags"]), "spike": (health.MIN_ERRORS, 2)}
    return Response.html(await datasette.render_template("ogi_health.html", context, request=request))


# ------------------------------------------------------------------------------------------------------
# methodology and how to cite

async def snapshot_date(db) -> str | None:
    """When the served copy was prepared (site_build.built, UTC): the date a citation gives for the data."""
    if await db.table_exists("site_build"):
        row = (await db.execute("select built from site_build")).first()
        return row[0] if row else None
    return None


def citation(report: dict, page_url: str, site_title: str, snapshot: str | None) -> str:
    """How to cite one report: the agency's own document and URL first, then this dataset's page and the
    date of its snapshot."""
    date = (snapshot or "")[:10]
    seen = (report.get("first_seen") or "")[:10]
    title = report.get("title") or f"{report.get('agency')}{report.get('year')}年政府信息公开工作年度报告"
    parts = [f"{report.get('agency')}：《{title}》（{report.get('year')}年度）"]
    if report.get("published"):
        parts.append(f"发布于 {report['published']}")
    if report.get("canonical_url"):
        parts.append(f"{report['canonical_url']}" + (f"（{seen} 抓取 retrieved）" if seen else ""))
    parts.append(f"数据 data: {site_title}, {page_url}" + (f"（快照 snapshot {date}）" if date else ""))
    return "，".join(parts[:-1]) + "。" + parts[-1] + "。"


async def about_page(request, datasette):
    from parsers import codebook as cb

    db = _db(datasette)
    meta = datasette.metadata() or {}
    tables = (meta.get("databases") or {}).get(db.name, {}).get("tables", {})
    figures = [(c, d) for c, d in tables.get("report_figures", {}).get("columns", {}).items()
               if c not in sm.hand_written()["common_columns"]]
    example = None
    if await db.table_exists("reports"):
        row = (await db.execute("select * from reports where canonical_url is not null "
                                "order by year desc, id limit 1")).first()
        if row:
            example = dict(row)
    snapshot = await snapshot_date(db)
    ex_cite = citation(example, datasette.absolute_url(request, report_url(datasette, example["id"])),
                       meta.get("title") or "", snapshot) if example else None
    context = {"db_name": db.name, "snapshot": snapshot, "figures": figures,
               "identities": cb.raw()["identities"]["checks"], "applies_when": cb.raw()["identities"]["applies_when"],
               "read_as_zero": [x for x in cb.values_rules()["read_as_zero"] if x],
               "example": example, "example_citation": ex_cite,
               "example_url": report_url(datasette, example["id"]) if example else None,
               "site": meta, "queries": [(k, v.get("title", k)) for k, v in
                                         (datasette.metadata("queries", database=db.name) or {}).items()]}
    return Response.html(await datasette.render_template("ogi_about.html", context, request=request))


@hookimpl
def register_routes():
    return [
        (r"^/-/report/(?P<report_id>[^/]+)$", report_page),
        (r"^/-/blob/(?P<sha256>[0-9a-f]{64})$", blob),
        (r"^/-/search$", search_page),
        (r"^/-/health$", health_page),
        (r"^/-/about$", about_page),
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
