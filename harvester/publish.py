"""The published site: derive what Datasette needs from the crawl database, then serve it read-only.

`prepare(db_path)` (idempotent; the crawler calls it after every rebuild) adds to the database:
  - `cell_labels`: every cell of the 2021 and 2019 formats with its Chinese labels and unit (from the codebook);
  - wide tables `t2_2021`, `t2_2019` (one row per report), `t3` (one row per report and row, seven applicant
    columns), `t4` (one row per report, 15 columns) and `report_figures` (the totals most stories need),
    materialised from the long `cells` table so that 250 000 reports stay fast;
  - `reports.has_failed_identity` (facet) and the indexes the facets and canned queries use;
  - `reports_zh`, a view of `reports` with Chinese column names;
  - `reports_fts`: full-text index over title, agency, region and each section (columns s1..s6, sx).
    SQLite's tokenizers do not segment Chinese, so every run of CJK characters is indexed as overlapping
    character bigrams (行政复议 -> 行政 政复 复议) with the unicode61 tokenizer, and a query word becomes the
    phrase of its bigrams. That is an exact substring match for words of 2, 3, 4 or more characters, with no
    dictionary to miss names. The served site overrides Datasette's `escape_fts()` SQL function with
    `zh_fts()` (see `site_plugin.py`), so the ordinary table search box works on Chinese too.
`serve(db_path, port, host)` prepares if needed and runs Datasette (immutable) with the generated metadata,
templates and the `site_plugin` (report pages, original-file route), under the limits that keep hostile SQL
from taking the site down (see "What one SQL query may make the served site do" below).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import sys
import threading
import time
from pathlib import Path

from harvester import site_metadata as sm
from parsers.codebook import is_money

SITE_VERSION = "11"  # bump when the derived objects change shape
PLUGIN_NAME = "ogi-site"
HERE = Path(__file__).resolve().parent

SECTION_COLUMNS = ["s1", "s2", "s3", "s4", "s5", "s6"]
FTS_COLUMNS = ["title", "agency", "region"] + SECTION_COLUMNS + ["sx"]

# ------------------------------------------------------------------------------------------------------
# Chinese full-text: bigram index and query rewriting

_CJK = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN_RE = re.compile(rf"[{_CJK}]+|[0-9A-Za-z\u00c0-\u024f]+")
_CJK_RE = re.compile(rf"^[{_CJK}]+$")
# Between two runs of text the index holds this token (a private-use character no query can produce), so a
# phrase never matches across punctuation, spaces or a change of script.
RUN_BREAK = "\ue000"


_GLOSS_RE = re.compile(r"(?<=[\u3400-\u9fff])\([a-zA-Z\u00e0-\u01dc\u0101-\u016b]{1,7}\)")
_t2s = None


def normalise(text: str) -> str:
    """What both the index and the queries see: pinyin glosses of mirrors removed (數(shù)據(jù) -> 數據),
    traditional characters converted to simplified (OpenCC), so 复议 also finds a mirror's 復議."""
    global _t2s
    text = _GLOSS_RE.sub("", text)
    if _t2s is None:
        try:
            import opencc
            _t2s = opencc.OpenCC("t2s").convert
        except Exception:  # OpenCC missing: search still works on the characters as written
            _t2s = str
    return _t2s(text)


def bigram_text(text: str | None) -> str:
    """Text as tokens for the unicode61 tokenizer.

    A CJK run becomes its overlapping bigrams plus its last character (行政复议 -> 行政 政复 复议 议), so a
    query of n >= 2 characters is the phrase of its bigrams and a 1-character query a prefix query; other
    words (digits, Latin) stay whole and lower-cased. Runs are separated by RUN_BREAK.
    """
    if not text:
        return ""
    out: list[str] = []
    for run in _RUN_RE.findall(normalise(text)):
        if out:
            out.append(RUN_BREAK)
        if _CJK_RE.match(run):
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
            out.append(run[-1])
        else:
            out.append(run.lower())
    return " ".join(out)


def _term_query(term: str) -> str | None:
    parts = []
    for run in _RUN_RE.findall(normalise(term)):
        if _CJK_RE.match(run):
            if len(run) == 1:
                parts.append(f'"{run}"*')  # a single character: any bigram that starts with it
            else:
                parts.append('"' + " ".join(run[i:i + 2] for i in range(len(run) - 1)) + '"')
        else:
            parts.append(f'"{run.lower()}"')
    return " ".join(parts) if parts else None


def zh_fts(query: str | None) -> str:
    """A user's search words as an FTS5 query over the bigram index (safe: no FTS syntax passes through).

    Whitespace-separated words must all match (AND); a Chinese word matches as an exact substring.
    A query that contains nothing searchable returns a phrase that matches nothing.
    """
    if query is None:
        return '""'
    pieces = [p for p in (_term_query(t) for t in str(query).split()) if p]
    return " ".join(pieces) if pieces else '"\ue001"'  # a token never indexed: matches nothing


def zh_fts_in(section: str | None, query: str | None) -> str:
    """As `zh_fts`, restricted to one section column of `reports_fts`."""
    col = f"s{section}" if f"s{section}" in SECTION_COLUMNS else "sx"
    return "{%s} : (%s)" % (col, zh_fts(query))


OR_WORDS = {"OR", "或"}   # the search page's OR between two words (the table search box keeps them as words)


def zh_fts_or(query: str | None) -> str:
    """As `zh_fts`, but `A OR B` (or `A 或 B`) matches either word: words are ANDed, each OR joins the
    words on either side into one group (复议 诉讼 OR 起诉 = 复议 AND (诉讼 OR 起诉)). Safe like zh_fts."""
    groups: list[list[str]] = []
    join_next = False
    for word in str(query or "").split():
        if word in OR_WORDS:
            join_next = bool(groups)
            continue
        term = _term_query(word)
        if not term:
            continue
        if join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if not groups:
        return zh_fts(None if query is None else "")
    return " AND ".join(g[0] if len(g) == 1 else "(" + " OR ".join(f"({t})" for t in g) + ")" for g in groups)


def query_terms(query: str | None) -> list[str]:
    """The words of a query as the index sees them (normalised), for marking them in excerpts."""
    return [t for t in (normalise(w) for w in str(query or "").split() if w not in OR_WORDS) if t.strip()]


EXCERPT_MAX_INPUT = 262_144  # characters of text `zh_snippet` reads: str.find is linear, ~1 ms


def excerpt(text: str | None, query: str | None, width: int = 60) -> list[tuple[str, bool]] | None:
    """Where the query's words stand in `text`: about `width` characters either side of the first one,
    as (piece, is_match) pairs; None when no word is in the text.

    FTS5's snippet() cannot do this here: the index is contentless and holds bigrams, not the text, so the
    excerpt is cut from the section's own text (normalised as the index is, so 復議 is found by 复议)."""
    if not text:
        return None
    terms = query_terms(query)
    folded = normalise(text)
    source = text if len(folded) == len(text) else folded  # OpenCC maps char for char; glosses don't
    hits = [(folded.find(t), t) for t in terms]
    hits = [(i, t) for i, t in hits if i >= 0]
    if not hits:
        return None
    first = min(i for i, _ in hits)
    start, end = max(0, first - width), min(len(source), first + width * 2)
    spans = []
    for t in terms:
        i = folded.find(t, start)
        while 0 <= i < end:
            spans.append((i, min(end, i + len(t))))
            i = folded.find(t, i + len(t))
    spans.sort()
    out, pos = [], start
    if start > 0:
        out.append(("…", False))
    for a, b in spans:
        if a < pos:
            a = pos
        if a >= b:
            continue
        if a > pos:
            out.append((source[pos:a], False))
        out.append((source[a:b], True))
        pos = b
    if pos < end:
        out.append((source[pos:end], False))
    if end < len(source):
        out.append(("…", False))
    return out


def zh_snippet(text: str | None, query: str | None) -> str | None:
    """`excerpt` as one string with the words marked 【thus】 (an SQL function for queries and CSVs)."""
    if text and len(text) > EXCERPT_MAX_INPUT:
        text = text[:EXCERPT_MAX_INPUT]
    parts = excerpt(text, query)
    return "".join(f"【{p}】" if hit else p for p, hit in parts) if parts else None


# ------------------------------------------------------------------------------------------------------
# What one SQL query may make the served site do. Datasette's sql_time_limit_ms interrupts SQLite between
# steps, never inside a Python function, and anyone may send SQL: so every function we register refuses
# long input (its cost is linear, so this bounds its time), SQLite itself refuses to build or read huge
# values (a huge string costs memory before any function sees it), and `ogi serve` runs under a memory
# ceiling (`serve`). README "Serving" lists these limits.

MAX_FUNCTION_INPUT = 16_384      # characters (at most 64 KB of UTF-8) a site SQL function accepts: ~10 ms
SQL_MAX_LENGTH = 32 * 2 ** 20    # bytes: the longest string or blob one SQL expression may build or read
DENIED_FUNCTIONS = {"fts3_tokenizer"}  # reads and sets C function pointers: never callable from the site
SERVE_MEMORY_MB = 2048           # default address-space ceiling of the `ogi serve` process (data segment)


def _bounded(fn):
    """`fn` as an SQL function that refuses (SQL error) any text or blob argument over MAX_FUNCTION_INPUT."""
    def bounded(*args):
        for a in args:
            if isinstance(a, (str, bytes)) and len(a) > MAX_FUNCTION_INPUT:
                raise ValueError(f"{fn.__name__}: input longer than {MAX_FUNCTION_INPUT} characters")
        return fn(*args)
    return bounded


def sample_url(url: str | None) -> bool:
    """A URL on a loopback, private or other non-public address: the demo's local sample portals, never a
    real agency's report (the site then says the data is sample data)."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url or "").hostname or ""
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    addr = getattr(addr, "ipv4_mapped", None) or addr
    return not addr.is_global


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("zh_fts", 1, _bounded(zh_fts), deterministic=True)
    conn.create_function("zh_fts_in", 2, _bounded(zh_fts_in), deterministic=True)
    conn.create_function("escape_fts", 1, _bounded(zh_fts), deterministic=True)
    # zh_snippet reads long text (its own bound, EXCERPT_MAX_INPUT); the query is bounded as usual.
    conn.create_function("zh_snippet", 2, lambda text, q: zh_snippet(text, _bounded(str)(q) if q else q),
                         deterministic=True)


def _authorize(action, arg1, arg2, db_name, trigger):
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY  # the statement fails to prepare: "not authorized to use function"
    return sqlite3.SQLITE_OK


def harden_connection(conn: sqlite3.Connection) -> None:
    """Limits for a connection that runs anyone's SQL (every connection of the served site)."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQL_MAX_LENGTH)
    conn.set_authorizer(_authorize)


def limit_memory(memory_mb: int) -> None:
    """A memory ceiling for this process: SQLite's own heap fails a query (SQLITE_NOMEM) at half of it, and
    the kernel refuses the process more than all of it (RLIMIT_DATA: heap and anonymous mappings, so shared
    libraries and the memory-mapped database do not count). 0 leaves memory unlimited."""
    import resource

    if memory_mb <= 0:
        return
    limit = memory_mb * 2 ** 20
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    conn = sqlite3.connect(":memory:")
    conn.execute(f"PRAGMA hard_heap_limit = {limit // 2}")  # process-wide, every connection
    conn.close()


# ------------------------------------------------------------------------------------------------------
# prepare

REPORT_INDEXES = [["province"], ["city"], ["admin_level"], ["year"], ["template"], ["agency_kind"],
                  ["format"], ["parse_status"], ["has_failed_identity"], ["agency", "year", "province", "city"],
                  ["n_checks_failed"], ["year", "template"], ["province", "year"]]
COMMON = ["agency", "year", "template", "province", "city", "admin_level", "agency_kind"]
# Dropdown parameters: (parameter name in the site's forms, reports column, order of the values).
CHOICE_COLUMNS = [("year", "year", "year DESC"), ("province", "province", "count(*) DESC, province"),
                  ("level", "admin_level", "count(*) DESC, admin_level")]


def _fingerprint(conn: sqlite3.Connection) -> str:
    """Cheap summary of the inputs; `prepare` is skipped when it has not changed."""
    parts = [SITE_VERSION]
    for sql in ("select count(*), max(rowid), max(last_seen), total(n_checks_failed), total(year) from reports",
                "select count(*), max(rowid) from cells",
                "select count(*), max(rowid), total(length(text)) from sections",
                "select count(*), max(rowid) from sightings",
                "select count(*) from checks_failed"):
        try:
            parts.append(repr(conn.execute(sql).fetchone()))
        except sqlite3.Error as exc:
            parts.append(str(exc))
    parts.append(hashlib.sha256(json.dumps(sm.cell_labels(), ensure_ascii=False).encode()).hexdigest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def needs_prepare(db_path: str | Path) -> bool:
    conn = sqlite3.connect(db_path)
    try:
        try:
            row = conn.execute("select fingerprint from site_build").fetchone()
        except sqlite3.Error:
            return True
        return not row or row[0] != _fingerprint(conn)
    finally:
        conn.close()


def _case_columns(cells: list[dict]) -> str:
    # Counts are stored as integers (a CSV says 859, not 859.0); money (万元) stays a float.
    def value(d):
        v = f"max(case when c.cell_id = '{d['cell_id']}' then c.value end)"
        return v if is_money(d["cell_id"], d["template"]) else f"cast({v} as integer)"
    return ",\n".join(f"{value(d)} as [{d['wide_column']}]" for d in cells)


def _common_select(alias: str = "r") -> str:
    return ", ".join(f"{alias}.{c}" for c in COMMON)


def prepare(db_path: str | Path, *, force: bool = False, verbose: bool = False) -> str:
    """Build every derived object the site needs. Idempotent; skipped when the inputs have not changed."""
    from harvester.db import open_db

    t0 = time.time()
    open_db(db_path).conn.close()  # every base table exists, even in an empty database
    conn = sqlite3.connect(db_path, isolation_level=None)
    register_functions(conn)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-400000")
    fp = _fingerprint(conn)
    if not force:
        try:
            row = conn.execute("select fingerprint from site_build").fetchone()
            if row and row[0] == fp:
                conn.close()
                if not _snapshot_current(db_path):
                    publish_snapshot(db_path)
                return f"site already prepared ({db_path})"
        except sqlite3.Error:
            pass

    def log(msg):
        if verbose:
            print(f"[prepare {time.time() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    conn.execute("BEGIN")
    # reports: facet column and indexes
    cols = [r[1] for r in conn.execute("PRAGMA table_info(reports)")]
    if "has_failed_identity" not in cols:
        conn.execute("ALTER TABLE reports ADD COLUMN has_failed_identity INTEGER")
    conn.execute("""UPDATE reports SET has_failed_identity =
        CASE WHEN coalesce(n_checks_failed, 0) > 0
               OR (coalesce(checks_failed, '') NOT IN ('', '[]', 'null'))
               OR EXISTS (SELECT 1 FROM checks_failed f WHERE f.report_id = reports.id)
             THEN 1 ELSE 0 END""")
    for columns in REPORT_INDEXES:
        name = "idx_reports_" + "_".join(columns)
        conn.execute(f"CREATE INDEX IF NOT EXISTS [{name}] ON reports ({', '.join(columns)})")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_sections_section ON sections (section)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_sightings_report ON sightings (report_id)")
    for col in ("role", "format", "portal"):
        conn.execute(f"CREATE INDEX IF NOT EXISTS idx_sightings_{col} ON sightings ({col})")
    conn.execute("DROP INDEX IF EXISTS idx_reports_agency_year")
    # Every facet column of `reports`, in the order of the metadata: site_plugin.BatchedColumnFacet counts
    # a search's facets from this covering index in one pass.
    conn.execute("DROP INDEX IF EXISTS idx_reports_facets")
    conn.execute("CREATE INDEX idx_reports_facets ON reports (" + ", ".join(sm.report_facets()) + ")")
    # canned queries `missing_tables` and `tables_not_adding_up` (partial index: same WHERE as the query)
    conn.execute("CREATE INDEX IF NOT EXISTS idx_reports_missing_tables ON reports (year DESC, agency) "
                 "WHERE template in ('2019', '2021') and (coalesce(t2, 0) = 0 or coalesce(t3, 0) = 0 "
                 "or coalesce(t4, 0) = 0)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_reports_failing ON reports "
                 "(has_failed_identity, n_checks_failed DESC, year DESC)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_checks_failed_report ON checks_failed (report_id)")
    log("reports indexed")

    # cell labels from the codebook
    conn.execute("DROP TABLE IF EXISTS cell_labels")
    label_cols = ["template", "cell_id", "tbl", "row", "col", "caption", "group_label", "row_label",
                  "col_label", "unit", "ord", "row_ord", "wide_column", "label_zh", "label_en"]
    conn.execute("CREATE TABLE cell_labels (template TEXT, cell_id TEXT, tbl TEXT, row TEXT, col TEXT, "
                 "caption TEXT, group_label TEXT, row_label TEXT, col_label TEXT, unit TEXT, ord INTEGER, "
                 "row_ord INTEGER, wide_column TEXT, label_zh TEXT, label_en TEXT, PRIMARY KEY (template, cell_id))")
    conn.executemany(f"INSERT INTO cell_labels VALUES ({', '.join('?' * len(label_cols))})",
                     [[d[c] for c in label_cols] for d in sm.cell_labels()])
    # t3 row labels (union of both templates) for the long-to-wide join
    conn.execute("DROP TABLE IF EXISTS temp.t3_rows")
    conn.execute("CREATE TEMP TABLE t3_rows (template TEXT, row TEXT, row_ord INTEGER, row_group TEXT, "
                 "row_label TEXT, PRIMARY KEY (template, row))")
    all_rows = {r["id"]: r for r in sm.t3_all_rows()}
    for template in ("2021", "2019"):
        for r in sm.t3_rows(template):
            conn.execute("INSERT INTO t3_rows VALUES (?, ?, ?, ?, ?)",
                         (template, r["id"], all_rows[r["id"]]["ord"], r["group"], r["label"]))

    # wide tables
    for template in ("2021", "2019"):
        name = f"t2_{template}"
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"""CREATE TABLE {name} AS
            SELECT r.id AS report_id, {_common_select()},
            {_case_columns(sm.labels_for(template, 't2'))}
            FROM reports r JOIN cells c ON c.report_id = r.id AND c.cell_id >= 't2.' AND c.cell_id < 't2/'
            WHERE r.template = '{template}'
            GROUP BY r.id""")
        conn.execute(f"CREATE UNIQUE INDEX idx_{name}_report ON {name} (report_id)")
        for col in ("year", "province", "admin_level"):
            conn.execute(f"CREATE INDEX idx_{name}_{col} ON {name} ({col})")
    log("t2 built")
    conn.execute("DROP TABLE IF EXISTS t4")
    conn.execute(f"""CREATE TABLE t4 AS
        SELECT r.id AS report_id, {_common_select()},
        {_case_columns(sm.labels_for('2021', 't4'))}
        FROM reports r JOIN cells c ON c.report_id = r.id AND c.cell_id >= 't4.' AND c.cell_id < 't4/'
        GROUP BY r.id""")
    conn.execute("CREATE UNIQUE INDEX idx_t4_report ON t4 (report_id)")
    for col in ("year", "province", "admin_level"):
        conn.execute(f"CREATE INDEX idx_t4_{col} ON t4 ({col})")
    conn.execute("CREATE INDEX idx_t4_lost ON t4 (reconsideration_corrected, litigation_direct_corrected, "
                 "litigation_after_corrected)")
    log("t4 built")
    _build_t3(conn)
    conn.execute("CREATE UNIQUE INDEX idx_t3_report_row ON t3 (report_id, row)")
    for col in ("row", "year", "province", "template"):
        conn.execute(f"CREATE INDEX idx_t3_{col} ON t3 ({col})")
    conn.execute("CREATE INDEX idx_t3_row_label ON t3 (row_label)")
    log("t3 built")

    # key figures per report. Story-safe totals: a row whose 总计 is blank or 0 while its applicant
    # columns are printed (Shanghai 2019 leaves 总计 empty on the result rows) takes the sum of those
    # columns, and the report is marked `totals_derived`; a rate never rests on a blank total.
    parts = " + ".join(f"coalesce(t.[{c}], 0)" for c in sm.T3_COLUMNS if c != "total")
    row_total = f"(CASE WHEN coalesce(t.total, 0) = 0 AND ({parts}) > 0 THEN ({parts}) ELSE t.total END)"
    derived = f"(coalesce(t.total, 0) = 0 AND ({parts}) > 0)"

    def tot(rows):
        return " + ".join(f"coalesce(max(case when t.row = '{r}' then {row_total} end), 0)" for r in rows)

    def one(row):
        return f"max(case when t.row = '{row}' then {row_total} end)"

    denied = [r for r in sm.result_rows("2021") if r.startswith("denied_")]
    unable = [r for r in sm.result_rows("2021") if r.startswith("unable_")]
    rejected = [r for r in sm.result_rows("2021") if r.startswith("rejected_")]
    other = [r for r in sm.result_rows("2021") + sm.result_rows("2019") if r.startswith("other")]
    conn.execute("DROP TABLE IF EXISTS report_figures")
    conn.execute(f"""CREATE TABLE report_figures AS
        SELECT r.id AS report_id, {_common_select()},
            CASE WHEN count(t.row) > 0 THEN {one('new_received')} END AS requests_new,
            CASE WHEN count(t.row) > 0 THEN {one('carried_over')} END AS requests_carried_over,
            CASE WHEN count(t.row) > 0 THEN {one('results_total')} END AS results_total,
            CASE WHEN count(t.row) > 0 THEN {one('granted')} END AS granted,
            CASE WHEN count(t.row) > 0 THEN {one('partial')} END AS partial,
            CASE WHEN count(t.row) > 0 THEN {tot(denied)} END AS denied,
            CASE WHEN count(t.row) > 0 THEN {one('unable_not_held')} END AS not_held,
            CASE WHEN count(t.row) > 0 THEN {tot(unable)} END AS unable,
            CASE WHEN count(t.row) > 0 THEN {tot(rejected)} END AS rejected,
            CASE WHEN count(t.row) > 0 THEN {tot(other)} END AS other_handling,
            CASE WHEN count(t.row) > 0 THEN {one('carried_forward')} END AS carried_forward,
            f.reconsideration_total, f.reconsideration_corrected,
            f.litigation_direct_total + f.litigation_after_total AS litigation_total,
            f.litigation_direct_corrected + f.litigation_after_corrected AS litigation_corrected,
            r.n_checks_failed,
            CASE WHEN count(t.row) > 0 THEN max({derived}) END AS totals_derived
        FROM reports r LEFT JOIN t3 t ON t.report_id = r.id LEFT JOIN t4 f ON f.report_id = r.id
        GROUP BY r.id""")
    conn.execute("CREATE UNIQUE INDEX idx_report_figures_report ON report_figures (report_id)")
    for col in ("year", "province", "agency", "admin_level", "agency_kind", "template"):
        conn.execute(f"CREATE INDEX idx_report_figures_{col} ON report_figures ({col})")
    conn.execute("CREATE INDEX idx_report_figures_province_year ON report_figures (province, year, results_total, denied, not_held)")
    conn.execute("CREATE INDEX idx_report_figures_agency_req ON report_figures (agency, province, agency_kind, requests_new)")
    log("report_figures built")

    # reports with Chinese column names
    conn.execute("DROP VIEW IF EXISTS reports_zh")
    zh = sm.REPORTS_ZH
    conn.execute("CREATE VIEW reports_zh AS SELECT " + ", ".join(f"{a} AS [{b}]" for a, b in zh) + " FROM reports")

    # coverage, computed from the data (the home page and the `coverage` query read these)
    conn.execute("DROP TABLE IF EXISTS coverage")
    conn.execute("""CREATE TABLE coverage AS
        SELECT year, template, count(*) AS reports, count(DISTINCT agency) AS agencies,
               count(DISTINCT province) AS provinces, sum(t3) AS with_t3,
               sum(has_failed_identity) AS failing, sum(ocr) AS ocr
        FROM reports GROUP BY year, template ORDER BY year DESC, template""")
    conn.create_function("ogi_sample_url", 1, lambda u: int(sample_url(u)), deterministic=True)
    conn.execute("DROP TABLE IF EXISTS coverage_totals")
    conn.execute("""CREATE TABLE coverage_totals AS
        SELECT count(*) AS reports, count(DISTINCT agency) AS agencies, count(DISTINCT province) AS provinces,
               min(year) AS first_year, max(year) AS last_year, sum(t3) AS with_t3,
               sum(has_failed_identity) AS failing, sum(ocr) AS ocr,
               sum(ogi_sample_url(canonical_url)) AS sample_reports,
               (SELECT count(*) FROM sightings) AS urls,
               (SELECT count(*) FROM documents) AS documents,
               (SELECT group_concat(admin_level || ':' || n, ';') FROM
                  (SELECT coalesce(admin_level, '') AS admin_level, count(*) AS n FROM reports
                   GROUP BY admin_level ORDER BY n DESC)) AS by_level
        FROM reports""")
    # The values the search page and the canned queries' dropdowns offer (year, province, level), with
    # their report counts: one small table instead of a GROUP BY over every report on each page view.
    conn.execute("DROP TABLE IF EXISTS choices")
    conn.execute("CREATE TABLE choices (param TEXT, value TEXT, n INTEGER, PRIMARY KEY (param, value))")
    for param, column, order in CHOICE_COLUMNS:
        conn.execute(f"INSERT INTO choices SELECT '{param}', CAST({column} AS TEXT), count(*) FROM reports "
                     f"WHERE {column} IS NOT NULL AND {column} != '' GROUP BY {column} ORDER BY {order}")
    log("coverage built")

    # full-text index
    conn.execute("DROP TABLE IF EXISTS reports_fts")
    conn.execute(f"CREATE VIRTUAL TABLE reports_fts USING fts5({', '.join(FTS_COLUMNS)}, content='', "
                 "tokenize='unicode61 remove_diacritics 2')")
    _fill_fts(conn)
    log("fts built")

    # Row counts of every table: the served database is immutable, so Datasette can use them as its
    # inspect data instead of counting 30 million cells on every page view.
    counts = {name: conn.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0] for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()}
    conn.execute("DROP TABLE IF EXISTS site_build")
    conn.execute("CREATE TABLE site_build (fingerprint TEXT, version TEXT, built TEXT, seconds REAL, counts TEXT)")
    conn.execute("INSERT INTO site_build VALUES (?, ?, datetime('now'), ?, ?)",
                 (fp, SITE_VERSION, time.time() - t0, json.dumps(counts)))
    conn.execute("COMMIT")
    conn.execute("PRAGMA analysis_limit=2000")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # immutable readers ignore the WAL: fold it in
    n = conn.execute("select count(*) from reports").fetchone()[0]
    conn.close()
    publish_snapshot(db_path)
    log("done")
    return f"site prepared: {n} reports in {time.time() - t0:.1f}s ({db_path})"


def snapshot_path(db_path: str | Path) -> Path:
    """What the site serves: a copy of the prepared database, never the file a crawl writes."""
    db_path = Path(db_path).resolve()
    return db_path.parent / "published" / db_path.name


def publish_snapshot(db_path: str | Path) -> Path:
    """Copy the database as of now to published/<name>, replacing the old copy atomically. SQLite's
    backup API reads one consistent snapshot even while a crawl writes (WAL), so the site never sees
    a half-written file; a running `ogi serve` switches to the new copy by itself."""
    target = snapshot_path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    src = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")    # one self-contained file for immutable readers
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)
    return target


def _snapshot_current(db_path: str | Path) -> bool:
    target = snapshot_path(db_path)
    if not target.exists():
        return False
    fingerprints = []
    for path in (target, Path(db_path).resolve()):
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                fingerprints.append(conn.execute("select fingerprint from site_build").fetchone()[0])
            finally:
                conn.close()
        except (sqlite3.Error, TypeError):
            return False
    return fingerprints[0] == fingerprints[1]


def _build_t3(conn: sqlite3.Connection, batch: int = 50_000) -> None:
    """Table 3 long -> one row per report and row (7 columns), in the printed row order.

    In SQL when every cell has its tbl/row/col filled in (the usual case); otherwise streamed through
    Python, reading row and column from the cell id.
    """
    incomplete = conn.execute("SELECT EXISTS (SELECT 1 FROM cells WHERE tbl IS NULL OR row IS NULL OR col IS NULL "
                              "OR (tbl = 't3' AND cell_id NOT LIKE 't3.%'))").fetchone()[0]
    if not incomplete:
        _build_t3_sql(conn)
    else:
        _build_t3_python(conn, batch)


T3_TYPES = ("report_id TEXT, agency TEXT, year INTEGER, template TEXT, province TEXT, city TEXT, admin_level TEXT, "
            "agency_kind TEXT, row TEXT, row_ord INTEGER, row_group TEXT, row_label TEXT, "
            + ", ".join(f"[{c}] INTEGER" for c in sm.T3_COLUMNS))   # counts of requests: 859, not 859.0


def _build_t3_sql(conn: sqlite3.Connection) -> None:
    cols = sm.T3_COLUMNS
    conn.execute("DROP TABLE IF EXISTS temp.t3_pivot")
    conn.execute("CREATE TEMP TABLE t3_pivot AS SELECT report_id, row, "
                 + ", ".join(f"max(CASE WHEN col = '{c}' THEN value END) AS [{c}]" for c in cols)
                 + " FROM cells WHERE tbl = 't3' GROUP BY report_id, row")
    conn.execute("DROP TABLE IF EXISTS t3")
    conn.execute(f"CREATE TABLE t3 ({T3_TYPES})")
    lab = "coalesce(l.{0}, l21.{0}, l19.{0})"
    conn.execute(f"""INSERT INTO t3
        SELECT p.report_id, {_common_select()}, p.row, {lab.format('row_ord')}, {lab.format('row_group')},
               {lab.format('row_label')}, {', '.join('p.[' + c + ']' for c in cols)}
        FROM t3_pivot p JOIN reports r ON r.id = p.report_id
        LEFT JOIN t3_rows l ON l.template = r.template AND l.row = p.row
        LEFT JOIN t3_rows l21 ON l21.template = '2021' AND l21.row = p.row
        LEFT JOIN t3_rows l19 ON l19.template = '2019' AND l19.row = p.row
        ORDER BY r.rowid, {lab.format('row_ord')}""")
    conn.execute("DROP TABLE temp.t3_pivot")


def _build_t3_python(conn: sqlite3.Connection, batch: int = 50_000) -> None:
    labels = {(r[0], r[1]): r[2:] for r in conn.execute(
        "select template, row, row_ord, row_group, row_label from t3_rows")}
    fallback = {row: lab for (tpl, row), lab in sorted(labels.items(), reverse=True)}
    cols = sm.T3_COLUMNS
    col_index = {c: i for i, c in enumerate(cols)}
    info = {r[0]: r[1:] for r in conn.execute(f"SELECT r.id, {_common_select()} FROM reports r")}
    conn.execute("DROP TABLE IF EXISTS t3")
    conn.execute(f"CREATE TABLE t3 ({T3_TYPES})")
    insert = f"INSERT INTO t3 VALUES ({', '.join('?' * (12 + len(cols)))})"
    row_sql = "coalesce(c.row, substr(c.cell_id, 4, instr(substr(c.cell_id, 4), '.') - 1))"
    col_sql = "coalesce(c.col, substr(c.cell_id, 4 + instr(substr(c.cell_id, 4), '.')))"
    out: list[list] = []
    pending: dict[str, list] = {}

    def flush(report_id):
        head = info.get(report_id)
        if head is None:  # cells of a report that no longer exists
            return
        rows = []
        for row, values in pending.items():
            lab = labels.get((head[2], row)) or fallback.get(row) or (None, None, None)
            rows.append([report_id, *head, row, *lab, *values])
        rows.sort(key=lambda r: (r[9] is None, r[9] or 0))
        out.extend(rows)

    # Fast path: one sequential pass over cells in storage order (cells are written report by report).
    # If a report's cells turn out not to be contiguous, start again in index order.
    fast = ("SELECT c.report_id, c.row, c.col, c.value, c.cell_id, c.tbl = 't3' AND c.row IS NOT NULL "
            "AND c.col IS NOT NULL FROM cells c WHERE c.tbl = 't3' OR c.tbl IS NULL OR c.row IS NULL "
            "OR c.col IS NULL", True)
    ordered = (f"SELECT c.report_id, {row_sql}, {col_sql}, c.value, c.cell_id, 1 "
               "FROM reports r JOIN cells c ON c.report_id = r.id AND c.cell_id >= 't3.' AND c.cell_id < 't3/' "
               "ORDER BY r.rowid, c.cell_id", False)
    for sql, check in (fast, ordered):
        conn.execute("DELETE FROM t3")
        out.clear()
        pending, current, seen, ok = {}, None, set(), True
        for rid, row, col, value, cid, clean in conn.cursor().execute(sql):
            if not clean:  # tbl/row/col not filled in: read them from the cell id
                parts = cid.split(".")
                if len(parts) != 3 or parts[0] != "t3":
                    continue
                row, col = parts[1], parts[2]
            if rid != current:
                if current is not None:
                    flush(current)
                    if len(out) >= batch:
                        conn.executemany(insert, out)
                        out.clear()
                if check:
                    if rid in seen:
                        ok = False
                        break
                    seen.add(rid)
                current, pending = rid, {}
            values = pending.get(row)
            if values is None:
                values = pending[row] = [None] * len(cols)
            i = col_index.get(col)
            if i is not None:
                values[i] = value
        if ok:
            break
    if current is not None:
        flush(current)
    if out:
        conn.executemany(insert, out)


def _fill_fts(conn: sqlite3.Connection, batch: int = 5000) -> None:
    rows = conn.cursor().execute(
        """SELECT r.rowid, r.title, r.agency,
                  coalesce(r.province, '') || ' ' || coalesce(r.city, '') || ' ' || coalesce(r.county, '') || ' '
                  || coalesce(r.township, ''),
                  (SELECT json_group_object(coalesce(s.section, ''), coalesce(s.heading, '') || ' ' || coalesce(s.text, ''))
                   FROM sections s WHERE s.report_id = r.id)
           FROM reports r""")
    insert = f"INSERT INTO reports_fts (rowid, {', '.join(FTS_COLUMNS)}) VALUES ({', '.join('?' * (len(FTS_COLUMNS) + 1))})"
    buf = []
    for rowid, title, agency, region, sections in rows:
        secs = json.loads(sections) if sections else {}
        cols = {c: [] for c in SECTION_COLUMNS + ["sx"]}
        for key, text in secs.items():
            col = f"s{key}" if f"s{key}" in cols else "sx"
            cols[col].append(text)
        buf.append([rowid, bigram_text(title), bigram_text(agency), bigram_text(region)]
                   + [bigram_text("\n".join(cols[c])) for c in SECTION_COLUMNS + ["sx"]])
        if len(buf) >= batch:
            conn.executemany(insert, buf)
            buf.clear()
    if buf:
        conn.executemany(insert, buf)


# ------------------------------------------------------------------------------------------------------
# serve

def data_dir_for(db_path: str | Path) -> Path:
    """Where the blob store lives: the database's own directory (data/ogi.db -> data/blobs/...)."""
    return Path(db_path).resolve().parent


# Datasette settings of the served site (README "Serving" explains each).
SITE_SETTINGS = {"suggest_facets": False, "facet_time_limit_ms": 800, "sql_time_limit_ms": 5000,
                 "default_page_size": 50, "max_returned_rows": 2000, "allow_download": False,
                 "facet_size": 30, "num_sql_threads": 4}


def make_datasette(db_path: str | Path, *, blob_root: str | Path | None = None, name: str | None = None):
    """A configured Datasette instance (used by `serve`, the tests and the benchmark)."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from harvester import site_plugin

    db_path = Path(db_path).resolve()
    name = name or db_path.stem
    metadata = sm.build_metadata(name, blob_root=str(blob_root or data_dir_for(db_path)))
    if not pm.is_registered(site_plugin):
        pm.register(site_plugin, name="ogi_site")
    # All facets of a page in one query (see site_plugin.BatchedColumnFacet) instead of one query each.
    default_facets = pm.get_plugin("datasette.facets")
    if default_facets is not None:
        pm.unregister(default_facets)
    if pm.get_plugin("ogi_site_facets") is None:
        pm.register(site_plugin.FacetClasses, name="ogi_site_facets")
    return Datasette(
        files=[], immutables=[str(db_path)], metadata=metadata, inspect_data=_inspect_data(db_path),
        template_dir=str(HERE / "templates"),
        static_mounts=[("ogi-static", str(HERE / "static"))],
        settings=SITE_SETTINGS,
    )


def _inspect_data(db_path: Path) -> dict | None:
    """Datasette inspect data (table counts) from the last `prepare`, when it is still current."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            fp, counts = conn.execute("SELECT fingerprint, counts FROM site_build").fetchone()
        finally:
            conn.close()
        tables = {name: {"count": n} for name, n in json.loads(counts).items()}
    except (sqlite3.Error, TypeError, ValueError):
        return None
    return {db_path.stem: {"hash": fp, "size": db_path.stat().st_size, "file": str(db_path), "tables": tables}}


def _snapshot_database(ds, served: Path, name: str, generation: int):
    """A Database for one published copy. Datasette keeps one connection per SQL thread keyed by the
    database's name, so a new copy under the same name would be read through the old connections:
    this one keys them by name and generation, and closes a thread's older ones on its first query."""
    import asyncio

    from datasette import database as dsdb

    class SnapshotDatabase(dsdb.Database):
        async def execute_fn(self, fn):
            if self.ds.executor is None:
                return await super().execute_fn(fn)
            key = f"{self.name}@{generation}"

            def in_thread():
                conn = getattr(dsdb.connections, key, None)
                if conn is None:
                    for attr in [a for a in vars(dsdb.connections)
                                 if a == self.name or (a.startswith(f"{self.name}@") and a != key)]:
                        old = getattr(dsdb.connections, attr)
                        delattr(dsdb.connections, attr)
                        try:
                            old.close()      # frees the replaced copy's disk space
                        except sqlite3.Error:
                            pass
                    conn = self.connect()
                    self.ds._prepare_connection(conn, self.name)
                    setattr(dsdb.connections, key, conn)
                return fn(conn)
            return await asyncio.get_event_loop().run_in_executor(self.ds.executor, in_thread)

    db = SnapshotDatabase(ds, path=str(served), is_mutable=False)
    db.name = db.route = name
    return db


def follow_snapshot(ds, served: Path, name: str, interval: float = 2.0) -> None:
    """Switch the running site to each newly published copy: one assignment of Datasette's database
    map, so a page is answered either from the old copy (still open) or the new one, never a mix."""
    def stamp():
        try:
            st = served.stat()
            return st.st_ino, st.st_mtime_ns
        except OSError:
            return None

    def watch():
        seen, generation = stamp(), 0
        while True:
            time.sleep(interval)
            now = stamp()
            if now is None or now == seen:
                continue
            seen, generation = now, generation + 1
            inspect = _inspect_data(served) or {}
            db = _snapshot_database(ds, served, name, generation)
            if inspect.get(served.stem):
                ds.inspect_data = {**(ds.inspect_data or {}), name: inspect[served.stem]}
                db.cached_hash, db.cached_size = inspect[served.stem]["hash"], inspect[served.stem]["size"]
            ds.databases = {**ds.databases, name: db}
    threading.Thread(target=watch, name="follow-snapshot", daemon=True).start()


def collect_garbage_in_background(interval: float = 1.0) -> None:
    """Move Python's cyclic garbage collection off the event loop, into a thread of its own.

    Collecting a cursor of a connection that another SQL thread is using waits (GIL released) until that
    thread's query ends, up to sql_time_limit_ms; Datasette's errors leave cursors in reference cycles, and
    a collection runs in whichever thread allocates, mostly the event loop: one slow query then froze every
    page for seconds. Objects alive at startup are frozen, so each collection only walks what came since."""
    import gc

    gc.disable()
    gc.freeze()

    def collect():
        while True:
            time.sleep(interval)
            gc.collect()
    threading.Thread(target=collect, name="gc", daemon=True).start()


def serve(db_path: str | Path, port: int = 8001, host: str = "127.0.0.1",
          memory_mb: int = SERVE_MEMORY_MB) -> None:
    """Prepare if needed, then serve the database read-only with Datasette, under a memory ceiling
    of `memory_mb` (0: none). Blocks."""
    import uvicorn

    from harvester.db import DatabaseBusy, writer

    try:  # a crawl that is writing will prepare and publish when it ends: serve the last copy meanwhile
        with writer(db_path, wait=not snapshot_path(db_path).exists(), what="ogi serve (prepare)"):
            print(prepare(db_path), flush=True)
    except DatabaseBusy:
        print(f"{db_path} is being written; serving the last published copy", flush=True)
    limit_memory(memory_mb)  # after prepare, which may legitimately use a large cache
    served = snapshot_path(db_path)
    name = Path(db_path).stem
    ds = make_datasette(served, blob_root=data_dir_for(db_path), name=name)
    follow_snapshot(ds, served, name)
    collect_garbage_in_background()
    print(f"Serving {db_path} at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")


if __name__ == "__main__":  # python -m harvester.publish DB [PORT] [HOST]
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--memory-limit-mb", type=int, default=SERVE_MEMORY_MB)
    args = ap.parse_args()
    if args.prepare_only:
        print(prepare(args.db, force=args.force, verbose=True))
    else:
        serve(args.db, port=args.port, host=args.host, memory_mb=args.memory_limit_mb)
