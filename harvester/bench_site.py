"""Site benchmark: a synthetic database at national scale, and the response times of the pages that matter.

`build_scale_db(path, n_reports=250_000)` writes a database through `harvester.db.open_db` with synthetic
reports that are unmistakably synthetic: every agency name starts with 合成, every id with `syn-`, every
title says 合成数据, every URL is on example.invalid, and a table `synthetic` records what was generated.
Numbers follow the templates (2021 format from 2021, 2019 for 2019-2020, free-form before) and satisfy the
accounting identities except in a known share of reports.

`bench_site(db)` prepares the database, then times through Datasette's internal client (no network):
the reports table with all its facets, the same filtered, full-text searches of 2, 3 and 4 characters,
a report page and each canned query; it prints a table and returns the timings (target: each < 500 ms).
"""
from __future__ import annotations

import json
import random
import sqlite3
import statistics
import time
from pathlib import Path

from harvester import site_metadata as sm

PROVINCES = {
    "北京市": [None], "天津市": [None], "上海市": [None], "重庆市": [None],
    "河北省": ["石家庄市", "唐山市", "保定市"], "山西省": ["太原市", "大同市"], "内蒙古自治区": ["呼和浩特市", "包头市"],
    "辽宁省": ["沈阳市", "大连市"], "吉林省": ["长春市", "吉林市"], "黑龙江省": ["哈尔滨市", "齐齐哈尔市"],
    "江苏省": ["南京市", "苏州市", "无锡市"], "浙江省": ["杭州市", "宁波市", "舟山市"], "安徽省": ["合肥市", "芜湖市"],
    "福建省": ["福州市", "厦门市", "平潭综合实验区"], "江西省": ["南昌市", "九江市"], "山东省": ["济南市", "青岛市", "淄博市"],
    "河南省": ["郑州市", "洛阳市"], "湖北省": ["武汉市", "宜昌市"], "湖南省": ["长沙市", "株洲市"],
    "广东省": ["广州市", "深圳市", "佛山市"], "广西壮族自治区": ["南宁市", "柳州市"], "海南省": ["海口市", "三亚市"],
    "四川省": ["成都市", "绵阳市"], "贵州省": ["贵阳市", "遵义市"], "云南省": ["昆明市", "大理白族自治州"],
    "西藏自治区": ["拉萨市"], "陕西省": ["西安市", "宝鸡市"], "甘肃省": ["兰州市", "天水市"], "青海省": ["西宁市"],
    "宁夏回族自治区": ["银川市"], "新疆维吾尔自治区": ["乌鲁木齐市", "克拉玛依市"],
}
DEPARTMENTS = ["人民政府", "发展和改革委员会", "教育局", "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局",
               "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局",
               "文化和旅游局", "卫生健康委员会", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局",
               "大数据局", "行政审批服务局", "城市管理局", "税务局"]
PHRASES = [
    "本机关认真贯彻落实《中华人民共和国政府信息公开条例》，", "全年主动公开政府信息{n}条，", "收到政府信息公开申请{n}件，",
    "按时办结率100%。", "本年度发生行政复议{n}件，", "行政诉讼{n}件，", "作出行政处罚决定{n}件，罚款金额{n}万元，",
    "进一步加强政府信息管理，", "完善政府信息公开平台建设，", "加强监督保障，", "存在的主要问题是公开内容不够全面，",
    "下一步将加强培训，", "本年度未收取信息处理费。", "办理人大代表建议{n}件、政协提案{n}件。", "依申请公开答复及时规范，",
    "重点领域信息公开持续深化，", "政策解读材料{n}篇，", "召开新闻发布会{n}次，",
]


def _template_for(year: int, rng: random.Random) -> str:
    if year >= 2021:
        return "2019" if rng.random() < 0.01 else "2021"
    if year >= 2019:
        return "pre2019" if (year == 2019 and rng.random() < 0.05) else "2019"
    return "pre2019"


def synthetic_cells(template: str, rng: random.Random, *, fail: bool = False, scale: int = 1) -> dict[str, float]:
    """A complete, consistent set of cells for a template (identities hold unless `fail`)."""
    cells: dict[str, float] = {}
    for d in sm.labels_for(template, "t2"):
        if d["cell_id"].endswith("amount_wan"):
            cells[d["cell_id"]] = round(rng.random() * 50 * scale, 2) if rng.random() < 0.3 else 0.0
        elif d["cell_id"].endswith("change"):
            cells[d["cell_id"]] = float(rng.randint(-3, 3))
        else:
            cells[d["cell_id"]] = float(rng.choice([0, 0, 0, 1, 2, 5, 12, 30]) * scale)
    result_rows = sm.result_rows(template)
    cols = sm.T3_COLUMNS[:-1]
    t3 = {r["id"]: {c: 0.0 for c in cols} for r in sm.t3_rows(template)}
    for c in cols:
        n = rng.choice([0, 0, 0, 1, 2, 3, 8, 20, 60]) * scale if c == "natural_person" else \
            rng.choice([0, 0, 0, 0, 1, 2]) * scale
        carried = rng.choice([0, 0, 0, 1]) if n else 0
        forward = rng.choice([0, 0, 0, 1]) if n else 0
        done = n + carried - forward
        t3["new_received"][c], t3["carried_over"][c], t3["carried_forward"][c] = n, carried, forward
        weights = {"granted": 6, "partial": 2, "unable_not_held": 3, "denied_process": 1, "denied_internal": 1,
                   "rejected_petition": 1, "rejected_duplicate": 1, "denied_third_party": 1}
        choices = [r for r in result_rows if r in weights] or result_rows
        for _ in range(int(done)):
            r = rng.choices(choices, weights=[weights.get(x, 1) for x in choices])[0]
            t3[r][c] += 1
        t3["results_total"][c] = float(done)
    for row, vals in t3.items():
        for c, v in vals.items():
            cells[f"t3.{row}.{c}"] = float(v)
        cells[f"t3.{row}.total"] = float(sum(vals.values()))
    for b in sm.T4_BLOCKS:
        vals = [float(rng.choice([0, 0, 0, 0, 0, 1, 2])) for _ in range(4)]
        for c, v in zip(sm.T4_COLUMNS[:4], vals):
            cells[f"t4.{b}.{c}"] = v
        cells[f"t4.{b}.total"] = float(sum(vals))
    if fail:
        cells["t3.results_total.total"] = cells["t3.results_total.total"] + 1
    return cells


def failing_checks(template: str, cells: dict[str, float]) -> list[str]:
    """The contract's identities that fail on these cells (CONTRACT.md §3)."""
    out = []
    v = lambda k: cells.get(k, 0.0)  # noqa: E731
    for c in sm.T3_COLUMNS:
        if abs(v(f"t3.new_received.{c}") + v(f"t3.carried_over.{c}")
               - v(f"t3.results_total.{c}") - v(f"t3.carried_forward.{c}")) > 1e-9:
            out.append(f"t3.balance.{c}")
        if abs(v(f"t3.results_total.{c}") - sum(v(f"t3.{r}.{c}") for r in sm.result_rows(template))) > 1e-9:
            out.append(f"t3.results_sum.{c}")
    for r in sm.t3_rows(template):
        if abs(v(f"t3.{r['id']}.total") - sum(v(f"t3.{r['id']}.{c}") for c in sm.T3_COLUMNS[:-1])) > 1e-9:
            out.append(f"t3.row_total.{r['id']}")
    for b in sm.T4_BLOCKS:
        if abs(v(f"t4.{b}.total") - sum(v(f"t4.{b}.{c}") for c in sm.T4_COLUMNS[:-1])) > 1e-9:
            out.append(f"t4.block_total.{b}")
    return sorted(out)


def synthetic_sections(rng: random.Random, n_phrases: int = 6) -> dict[str, str]:
    out = {}
    for key, label in sm.section_labels().items():
        text = "".join(rng.choice(PHRASES).format(n=rng.randint(0, 40)) for _ in range(n_phrases))
        out[key] = (label, "（合成数据）" + text)
    return out


def build_scale_db(path: str | Path, n_reports: int = 250_000, *, seed: int = 7, fail_share: float = 0.08,
                   verbose: bool = True) -> Path:
    """Write a synthetic database of `n_reports` reports (all marked synthetic) at `path`."""
    from harvester.db import SCHEMA, dumps, now, open_db

    path = Path(path)
    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_db(path)
    db.conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")  # a throwaway bulk load: no rollback journal, no WAL
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-500000")
    # Bulk load without the secondary index on cells, recreate it at the end (open_db).
    for (name,) in conn.execute("select name from sqlite_master where type='index' and tbl_name='cells' "
                                "and name not like 'sqlite_autoindex%'").fetchall():
        conn.execute(f"DROP INDEX [{name}]")
    rng = random.Random(seed)
    t0 = time.time()
    stamp = now()
    cols = {t: list(SCHEMA[t]["columns"]) for t in ("reports", "sightings", "cells", "sections", "documents",
                                                      "checks_failed")}
    cols["cells"] = ["report_id", "cell_id", "tbl", "row", "col", "value", "how"]   # synthetic: no page or box
    ins = {t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})" for t, c in cols.items()}
    conn.execute("BEGIN")
    conn.execute("CREATE TABLE IF NOT EXISTS synthetic (generator TEXT, n_reports INTEGER, seed INTEGER, "
                 "note TEXT, at TEXT)")
    conn.execute("INSERT INTO synthetic VALUES (?, ?, ?, ?, ?)",
                 ("harvester.bench_site.build_scale_db", n_reports, seed,
                  "All rows synthetic: agencies start with 合成, ids with syn-, URLs on example.invalid", stamp))
    provinces = list(PROVINCES)
    made, agency_no = 0, 0
    batches: dict[str, list] = {t: [] for t in cols}

    def flush():
        for t, rows in batches.items():
            if rows:
                conn.executemany(ins[t], rows)
                rows.clear()

    while made < n_reports:
        agency_no += 1
        prov = rng.choice(provinces)
        city = rng.choice(PROVINCES[prov])
        dept = rng.choice(DEPARTMENTS)
        level = rng.choices(["province", "city", "county", "township"], weights=[1, 4, 8, 3])[0]
        if city is None and level == "city":
            level = "county"
        place = {"province": prov, "city": city or prov, "county": f"第{agency_no % 97 + 1}区",
                 "township": f"第{agency_no % 89 + 1}街道"}[level]
        kind = "government" if dept == "人民政府" or level == "township" else "department"
        agency = f"合成{place}{'办事处' if level == 'township' else dept}{agency_no}"
        start = rng.choice(range(2008, 2024))
        for year in range(start, 2025):
            if made >= n_reports:
                break
            if rng.random() < 0.12:  # a missing year
                continue
            made += 1
            rid = f"syn-{agency_no:06d}-{year}"
            template = _template_for(year, rng)
            has_tables = template != "pre2019" and rng.random() > 0.06
            fail = has_tables and rng.random() < fail_share
            cells = synthetic_cells(template, rng, fail=fail) if has_tables else {}
            checks = failing_checks(template, cells) if has_tables else []
            fmt = rng.choices(["html", "pdf", "docx", "doc", "wps", "png"], weights=[60, 25, 6, 4, 2, 3])[0]
            sha = f"{rng.getrandbits(256):064x}"
            url = f"https://example.invalid/{agency_no}/{year}/report.{fmt if fmt != 'html' else 'html'}"
            report = dict(id=rid, agency=agency, year=year, template=template,
                          title=f"{agency}{year}年政府信息公开工作年度报告（合成数据）", script="simplified",
                          published=f"{year + 1}-0{rng.randint(1, 3)}-{rng.randint(10, 28)}", province=prov,
                          city=city if level != "province" else None,
                          county=place if level in ("county", "township") else None,
                          township=place if level == "township" else None, admin_level=level, agency_kind=kind,
                          t2=int(has_tables), t3=int(has_tables), t4=int(has_tables), format=fmt,
                          ocr=int(fmt == "png"), parse_status="ok" if has_tables or template == "pre2019"
                          else "no_tables", n_checks_failed=len(checks), checks_failed=dumps(checks),
                          canonical_sha256=sha, canonical_url=url, canonical_reason="synthetic",
                          n_versions=1, n_documents=1, n_urls=2, first_seen=stamp, last_seen=stamp)
            batches["reports"].append([report.get(c) for c in cols["reports"]])
            batches["documents"].append([sha, 1000, "text/html", fmt, stamp, stamp, f"blobs/{sha[:2]}/{sha}"])
            for role, u in (("page", url), ("print", url + "?print=1")):
                batches["sightings"].append([rid, u, sha, role, fmt, f"合成门户{agency_no % 300}", None, stamp, stamp])
            for cid in sorted(cells):
                tbl, row, col = cid.split(".")
                batches["cells"].append([rid, cid, tbl, row, col, cells[cid], "table_cell"])
            for c in checks:
                batches["checks_failed"].append([rid, c])
            for key, (heading, text) in synthetic_sections(rng, 4).items():
                batches["sections"].append([rid, key, heading, text])
            if len(batches["cells"]) > 200_000:
                flush()
        if verbose and agency_no % 5000 == 0:
            print(f"  {made:,} reports, {time.time() - t0:.0f}s", flush=True)
    flush()
    conn.execute("COMMIT")
    conn.close()
    open_db(path).conn.close()  # recreate the indexes dropped for the bulk load
    if verbose:
        print(f"built {path}: {made:,} synthetic reports in {time.time() - t0:.0f}s", flush=True)
    return path


# ------------------------------------------------------------------------------------------------------

def _paths(ds, db_name: str, sample_agency: str, sample_id: str) -> list[tuple[str, str]]:
    from urllib.parse import quote
    queries = ds.metadata("queries", database=db_name) or {}
    params = {"year": "2022", "province": "", "agency": sample_agency[2:6], "q": "复议", "section": "4"}
    out = [
        ("reports + 9 facets", f"/{db_name}/reports"),
        ("reports filtered province+year", f"/{db_name}/reports?province=山东省&year=2022"),
        ("search 2 chars 复议", f"/{db_name}/reports?_search=" + quote("复议")),
        ("search 3 chars 处理费", f"/{db_name}/reports?_search=" + quote("处理费")),
        ("search 4 chars 行政处罚", f"/{db_name}/reports?_search=" + quote("行政处罚")),
        ("search agency name (selective)", f"/{db_name}/reports?_search=" + quote(sample_agency)),
        ("search 4 chars 大数据局 (~4% of reports)", f"/{db_name}/reports?_search=" + quote("大数据局")),
        ("search + facet 罚款 & 山东省", f"/{db_name}/reports?_search={quote('罚款')}&province={quote('山东省')}"),
        ("t3 table + facets", f"/{db_name}/t3"),
        ("t3 filtered row=new_received", f"/{db_name}/t3?row=new_received"),
        ("t4 table + facets", f"/{db_name}/t4"),
        ("t2_2021 table + facets", f"/{db_name}/t2_2021"),
        ("report_figures + facets", f"/{db_name}/report_figures"),
        ("cells table", f"/{db_name}/cells"),
        ("sightings table", f"/{db_name}/sightings"),
        ("sections table", f"/{db_name}/sections"),
        ("reports_zh view", f"/{db_name}/reports_zh"),
        ("report page", "/-/report/" + quote(sample_id, safe="")),
        ("home page", "/"),
    ]
    for name, q in queries.items():
        import re
        names = set(re.findall(r":(\w+)", q["sql"]))
        qs = "&".join(f"{n}={quote(params.get(n, ''))}" for n in sorted(names))
        out.append((f"query {name}", f"/{db_name}/{name}?{qs}"))
    return out


async def _time_page(ds, label: str, path: str, repeat: int) -> dict:
    """`repeat` timings of one page after a first request that warms caches."""
    times, status, size = [], None, 0
    for i in range(repeat + 1):
        t = time.perf_counter()
        resp = await ds.client.get(path)
        dt = (time.perf_counter() - t) * 1000
        status, size = resp.status_code, len(resp.content)
        if i:
            times.append(dt)
    return dict(page=label, path=path, status=status, bytes=size,
                best_ms=round(min(times), 1), median_ms=round(statistics.median(times), 1))


def bench_site(db: str | Path, *, repeat: int = 3, prepare_first: bool = True) -> list[dict]:
    """Print and return the response time of each page (best and median of `repeat` warm runs)."""
    import asyncio

    from harvester.publish import make_datasette, prepare

    db = Path(db)
    if prepare_first:
        t = time.time()
        print(prepare(db, verbose=True), f"({time.time() - t:.1f}s)", flush=True)
    ds = make_datasette(db)
    conn = sqlite3.connect(db)
    sample_agency, sample_id = conn.execute(
        "select agency, id from reports where t3 = 1 order by rowid limit 1 offset 1000").fetchone() or \
        conn.execute("select agency, id from reports limit 1").fetchone()
    n = conn.execute("select count(*) from reports").fetchone()[0]
    conn.close()

    async def run():
        from harvester.progress import counter

        results = []
        await ds.invoke_startup()
        for database in ds.databases.values():  # what the served app does at startup (immutable counts)
            if not database.is_mutable:
                await database.table_counts(limit=3600 * 1000)
        paths = list(_paths(ds, db.stem, sample_agency, sample_id))
        with counter(len(paths), "bench site", unit="pages") as tick:
            for label, path in paths:
                results.append(await _time_page(ds, label, path, repeat))
                tick()
        return results

    results = asyncio.run(run())
    print(f"\nDatasette response times, {n:,} reports ({db}) — target < 500 ms")
    print(f"{'page':48} {'status':>6} {'best ms':>9} {'median ms':>10}")
    for r in results:
        flag = "" if r["median_ms"] < 500 and r["status"] == 200 else "  <-- SLOW" if r["status"] == 200 else "  <-- ERROR"
        print(f"{r['page']:48} {r['status']:>6} {r['best_ms']:>9} {r['median_ms']:>10}{flag}")
    return results


# ------------------------------------------------------------------------------------------------------
# The search page over real HTTP: p50/p95 of one-word queries (issue 16: < 500 ms at 250,000 reports).

SEARCH_WORDS = [("复议", "2 chars, in most reports"), ("处理费", "3 chars"), ("行政处罚", "4 chars, most reports"),
                ("大数据局", "4 chars, ~4% of reports"), ("罚款", "2 chars, most reports"),
                ("新闻发布会", "5 chars")]


def _serve_for_bench(db: str, port: int) -> None:
    """The site as `ogi serve` runs it (same Datasette, plugin and settings), on an already prepared file."""
    import uvicorn

    from harvester.publish import collect_garbage_in_background, make_datasette

    ds = make_datasette(db)
    collect_garbage_in_background()
    uvicorn.run(ds.app(), host="127.0.0.1", port=port, log_level="warning")


def bench_search(db: str | Path, *, requests: int = 20, filters: bool = True) -> list[dict]:
    """p50/p95 of `requests` requests per query through HTTP to a served site (a separate process)."""
    import socket
    import subprocess
    import sys
    from urllib.parse import quote

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "harvester.bench_site", "--serve", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(base + "/-/versions.json", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("bench server did not start")
            time.sleep(0.5)
        paths = [(f"search {w} ({why})", "/-/search?q=" + quote(w)) for w, why in SEARCH_WORDS]
        if filters:
            paths += [("search 复议 + year 2022", "/-/search?year=2022&q=" + quote("复议")),
                      ("search 罚款 + province 山东省", f"/-/search?province={quote('山东省')}&q=" + quote("罚款")),
                      ("search 复议 + level county + section 4", "/-/search?level=county&section=4&q=" + quote("复议")),
                      ("search 复议, page 3", "/-/search?page=3&q=" + quote("复议"))]
        results, everything = [], []
        with httpx.Client(base_url=base, timeout=60) as client:
            for label, path in paths:
                client.get(path)  # warm
                times = []
                for _ in range(requests):
                    t = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                everything += times
                times.sort()
                results.append(dict(page=label, path=path, status=r.status_code, n=len(times),
                                    p50_ms=round(statistics.median(times), 1),
                                    p95_ms=round(times[max(0, int(round(0.95 * len(times))) - 1)], 1)))
        everything.sort()
        results.append(dict(page="all search requests", path="", status=200, n=len(everything),
                            p50_ms=round(statistics.median(everything), 1),
                            p95_ms=round(everything[max(0, int(round(0.95 * len(everything))) - 1)], 1)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"\nSearch page over HTTP ({requests} requests each, {db}) — target p95 < 500 ms")
    print(f"{'query':48} {'status':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for r in results:
        flag = "" if r["p95_ms"] < 500 and r["status"] == 200 else "  <-- SLOW" if r["status"] == 200 else "  <-- ERROR"
        print(f"{r['page']:48} {r['status']:>6} {r['p50_ms']:>8} {r['p95_ms']:>8}{flag}")
    return results


DEFAULT_DB = Path(__import__("tempfile").gettempdir()) / "ogi-site-scale.db"


def run(db: str | Path | None = None, *, n_reports: int = 0, repeat: int = 3, requests: int = 20) -> list[dict]:
    """`ogi bench site`: build the synthetic database if asked (or missing), prepare it, time the pages."""
    db = Path(db or DEFAULT_DB)
    if n_reports or not db.exists():
        build_scale_db(db, n_reports=n_reports or 250_000)
    return bench_site(db, repeat=repeat) + bench_search(db, requests=max(20, requests))


def main(argv=None):  # python -m harvester.bench_site [--build N] [DB]
    import argparse
    ap = argparse.ArgumentParser(description="Datasette site benchmark on a synthetic national-scale database")
    ap.add_argument("db", nargs="?", default=str(DEFAULT_DB))
    ap.add_argument("--build", type=int, default=0, help="(re)build a synthetic database with this many reports")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=20, help="requests per search query (p50/p95)")
    ap.add_argument("--search-only", action="store_true", help="only the search page over HTTP")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)   # the bench's own server
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.serve:
        return _serve_for_bench(args.db, args.port)
    if args.search_only:
        results = bench_search(args.db, requests=max(20, args.requests))
    else:
        results = run(args.db, n_reports=args.build, repeat=args.repeat, requests=args.requests)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
