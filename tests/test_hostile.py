"""A hostile visitor and a hostile portal, for real: a served site over HTTP and a crawl through `ogi crawl`.

- The site (a real `ogi serve` process on 127.0.0.1) gets a burst of SQL queries written to exhaust it:
  the site's own functions on huge strings, recursive CTEs, fts3_tokenizer(). Normal pages keep
  answering within 1 s meanwhile, and fts3_tokenizer() is refused.
- A portal on 127.0.0.1 redirects (302, meta refresh, and inside a rendered page) and links to a second
  loopback address, 127.0.0.2, which must receive no request at all; each refusal is an `errors` row of kind
  `offsite_refused`, and nothing 127.0.0.2 serves is stored or published.
"""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, crawl_args, run_ogi  # noqa: E402
from site_fixtures import build_fixture_db, free_port, start_server, stop_server  # noqa: E402

from harvester import publish  # noqa: E402
from harvester.middlewares import OffsiteGuardMiddleware, _non_public  # noqa: E402

DOCS = ROOT / "harvester" / "sample_portals" / "docs"

# ---------------------------------------------------------------------------------------------- the site

BIG = "printf('%.*c', 100000000, 'x')"
CTE = "with recursive c(x) as (select 1 union all select x + 1 from c)"
HOSTILE_SQL = [
    "select zh_fts(zeroblob(100000000))",
    f"select escape_fts({BIG})",
    f"select zh_fts_in('1', {BIG})",
    f"select length(zh_fts(printf('%.*c', {publish.MAX_FUNCTION_INPUT}, '中')))",
    f"{CTE} select max(length(zh_fts(printf('%.*c', {publish.MAX_FUNCTION_INPUT}, '中')))) from c",
    f"{CTE} select count(*) from c",
    f"{CTE} select length(group_concat(printf('%.*c', 10000, 'x'))) from c",
    "select hex(fts3_tokenizer('simple'))",
    "select fts3_tokenizer('simple', x'4141414141414141')",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile-site") / "ogi.db"
    build_fixture_db(db, with_gold=False)
    publish.prepare(db)
    port = free_port()
    proc = start_server(db, port)
    try:
        yield {"base": f"http://127.0.0.1:{port}", "pid": proc.pid}
    finally:
        stop_server(proc)


def test_functions_refuse_long_input():
    conn = sqlite3.connect(":memory:")
    publish.register_functions(conn)
    publish.harden_connection(conn)
    n = publish.MAX_FUNCTION_INPUT
    assert conn.execute("select zh_fts(?)", ["复议" * (n // 2)]).fetchone()[0]
    for sql in ("select zh_fts(?)", "select escape_fts(?)", "select zh_fts_in('1', ?)"):
        with pytest.raises(sqlite3.OperationalError):
            conn.execute(sql, ["x" * (n + 1)]).fetchone()
    # zh_snippet reads long text only up to its own bound, and refuses a long query like the others
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("select zh_snippet('复议', ?)", ["x" * (n + 1)]).fetchone()
    far = "文" * (publish.EXCERPT_MAX_INPUT + 10) + "复议"
    assert conn.execute("select zh_snippet(?, '复议')", [far]).fetchone()[0] is None
    assert "【复议】" in conn.execute("select zh_snippet(?, '复议')", ["文" * 100 + "复议"]).fetchone()[0]
    with pytest.raises(sqlite3.DatabaseError, match="too big"):  # SQLite refuses to build it: no Python function ever sees it
        conn.execute("select zh_fts(zeroblob(100000000))").fetchone()
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        conn.execute("select hex(FTS3_Tokenizer('simple'))")


# The attackers: one thread per hostile query, each sending it again as soon as it has an answer (after a
# 429, 0.1 s later: a flood of cheap requests is a rate limiter's job, not this one's). They run in their own
# process so that their client-side work does not slow the measuring client's.
ATTACK = """
import json, sys, threading, time
import httpx
base, seconds, queries = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
deadline, answers = time.time() + seconds, []
client = httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=64))
def attack(sql):
    while time.time() < deadline:
        r = client.get("/ogi.json", params={"sql": sql})
        answers.append([sql, r.status_code, r.text[:2000]])
        if r.status_code == 429:
            time.sleep(0.1)
threads = [threading.Thread(target=attack, args=(q,)) for q in queries]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(answers))
"""


def test_a_burst_of_hostile_queries_leaves_normal_pages_answering(site):
    normal = ["/", "/ogi/reports", "/ogi/reports?_search=复议", "/-/report/syn-fixture-a-2022"]
    client = httpx.Client(base_url=site["base"], timeout=30)
    for path in normal:  # warm: the first view of a page compiles its templates
        assert client.get(path).status_code == 200
    seconds = 6  # longer than sql_time_limit_ms: the slowest queries run to their limit
    attackers = subprocess.Popen([sys.executable, "-c", ATTACK, site["base"], str(seconds), json.dumps(HOSTILE_SQL * 2)],
                                 stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    times, deadline = [], time.time() + seconds - 1
    while time.time() < deadline:
        for path in normal:
            t0 = time.time()
            r = client.get(path)
            times.append(time.time() - t0)
            assert r.status_code == 200, (path, r.status_code)
    n, slowest = len(times), max(times)
    p95 = sorted(times)[int(0.95 * (n - 1))]
    answers = json.loads(attackers.communicate(timeout=60)[0])
    client.close()
    print(f"normal pages during the burst: p95 {p95:.2f} s, slowest {slowest:.2f} s of {n}; "
          f"{len(answers)} hostile answers")
    # The site keeps answering: 95% of normal pages within 1 s, none stalled (a shared CI machine
    # may stretch one page past a second; a stall is what the attack used to cause).
    assert p95 < 1.0 and slowest < 3.0, f"normal pages during the burst: p95 {p95:.2f} s, slowest {slowest:.2f} s"
    assert n >= 20 and len(answers) >= len(HOSTILE_SQL) * 2
    for sql, status, text in answers:
        # Refused (400: SQL error or time limit; 429: too many at once), or a small bounded answer.
        assert status in (200, 400, 429), (sql, status, text)
        if "fts3_tokenizer" in sql:
            assert status == 429 or (status == 400 and "not authorized to use function: fts3_tokenizer" in text), text
    assert {s for _, s, _ in answers} >= {400, 429}


def test_fts3_tokenizer_is_refused_everywhere(site):
    with httpx.Client(base_url=site["base"], timeout=30) as client:
        for path, params in (("/ogi.json", {"sql": "select hex(fts3_tokenizer('simple'))"}),
                             ("/ogi/reports.json", {"_where": "fts3_tokenizer('simple') is not null"})):
            r = client.get(path, params=params)
            assert r.status_code == 400 and "not authorized" in r.text, (path, r.status_code, r.text[:300])


GC_STALL = """
import sqlite3, sys, threading, time
from harvester.publish import collect_garbage_in_background
if sys.argv[1] == "background":
    collect_garbage_in_background(0.05)
conn = sqlite3.connect(":memory:", check_same_thread=False)
def busy():  # another SQL thread, in a long query on the same connection
    conn.execute("with recursive c(x) as (select 1 union all select x + 1 from c limit 8000000) "
                 "select count(*) from c").fetchone()
class Cycle: pass
for _ in range(3):  # what Datasette's errors leave: cursors with a statement under way, in a cycle
    c = Cycle(); c.c = conn.execute("select 1 union all select 2"); c.c.fetchone(); c.me = c
del c
t = threading.Thread(target=busy); t.start(); time.sleep(0.1)
worst, t0 = 0.0, time.time()
while t.is_alive() and time.time() - t0 < 20:
    tick = time.time()
    for _ in range(2000):  # what an event loop does: allocate (and so, by default, collect)
        c = Cycle(); c.me = c
    worst = max(worst, time.time() - tick)
print(worst)
"""


def test_garbage_is_collected_off_the_event_loop():
    runs = [subprocess.Popen([sys.executable, "-c", GC_STALL, mode], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            for mode in ("default", "background")]
    stalled, fine = (float(p.communicate(timeout=60)[0]) for p in runs)
    assert fine < 0.5 and stalled > 4 * fine, (stalled, fine)  # the default shows the stall is real here


def test_serve_runs_under_a_memory_ceiling(site):
    # The server of the fixture runs `serve()` with its default ceiling: read it from the kernel.
    limits = Path(f"/proc/{site['pid']}/limits").read_text()
    line = next(ln for ln in limits.splitlines() if ln.startswith("Max data size"))
    assert int(line.split()[3]) == publish.SERVE_MEMORY_MB * 2 ** 20, line


# ---------------------------------------------------------------------------------------------- the crawl

def article(title: str, doc: str) -> bytes:
    body = "".join(f"<p>{ln}</p>" for ln in (DOCS / doc).read_text(encoding="utf-8").splitlines() if ln.strip())
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><h1>{title}</h1><div class="content">{body}</div></body></html>').encode()


OWN_TITLE = "平潭综合实验区管委会2021年政府信息公开工作年度报告"
OFF_TITLES = {"/r/2013.html": "平潭县人民政府2013年政府信息公开工作年度报告",
              "/r/2014.html": "平潭综合实验区管委会2014年政府信息公开工作年度报告",
              "/r/2013.pdf": "平潭县人民政府2013年政府信息公开工作年度报告"}


def serve(host: str, handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def offsite_crawl(tmp_path_factory):
    off_hits: list[str] = []
    off_bodies = {"/r/2013.html": article(OFF_TITLES["/r/2013.html"], "pingtan-county-2013.txt"),
                  "/r/2014.html": article(OFF_TITLES["/r/2014.html"], "pingtan-zone-2014.txt"),
                  "/r/2013.pdf": (DOCS / "gen-pingtan-county-2013.pdf").read_bytes(),
                  "/api": f'[{{"title": "{OFF_TITLES["/r/2014.html"]}", "href": "/r/2014.html"}}]'.encode(),
                  "/robots.txt": b"User-agent: *\nAllow: /\n"}

    class OffSite(BaseHTTPRequestHandler):  # serves real reports: anything fetched here would be stored
        def do_GET(self):
            off_hits.append(self.path)
            body = off_bodies.get(self.path, b"<h1>offsite</h1>")
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf" if self.path.endswith(".pdf") else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    try:
        off = serve("127.0.0.2", OffSite)
    except OSError:
        pytest.skip("127.0.0.2 is not bindable here")
    off_base = f"http://127.0.0.2:{off.server_address[1]}"
    list_page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>年度报告</title></head><body>
<h2>政府信息公开工作年度报告</h2><ul>
<li><a href="/art/2022/1/1/own.html">{OWN_TITLE}</a></li>
<li><a href="/go/2013.html">{OFF_TITLES["/r/2013.html"]}</a></li>
<li><a href="/go/2014.html">{OFF_TITLES["/r/2014.html"]}</a></li>
<li><a href="{off_base}/r/2013.pdf">{OFF_TITLES["/r/2013.pdf"]}.pdf</a></li>
<li><a href="/go/column/">年报</a></li>
</ul></body></html>""".encode()
    pages = {"/nb/index.html": (200, {"Content-Type": "text/html"}, list_page),
             "/art/2022/1/1/own.html": (200, {"Content-Type": "text/html"}, article(OWN_TITLE, "pingtan-zone-2021.txt")),
             "/go/2013.html": (302, {"Location": off_base + "/r/2013.html"}, b""),
             "/go/column/": (302, {"Location": off_base + "/nb/"}, b""),
             # A list only a browser builds: its script's request is redirected to 127.0.0.2 (the browser
             # follows redirects itself), and it fetches from there outright.
             "/render/index.html": (200, {"Content-Type": "text/html"}, f"""<html><head><meta charset="utf-8">
<title>年报</title></head><body><ul id="list"></ul><img src="{off_base}/logo.png"><script>
fetch("/go/api").then(r => r.json()).then(rows => {{ document.getElementById("list").innerHTML =
  rows.map(r => '<li><a href="' + r.href + '">' + r.title + '</a></li>').join(""); }});
fetch("{off_base}/direct");
</script></body></html>""".encode()),
             "/go/api": (302, {"Location": off_base + "/api"}, b""),
             "/go/2014.html": (200, {"Content-Type": "text/html"},
                               f'<html><head><meta http-equiv="refresh" content="0; url={off_base}/r/2014.html">'
                               f'</head><body>跳转中</body></html>'.encode())}

    class Portal(BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = pages.get(self.path, (404, {"Content-Type": "text/html"}, b"<h1>404</h1>"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    portal = serve("127.0.0.1", Portal)
    base = f"http://127.0.0.1:{portal.server_address[1]}"
    tmp = tmp_path_factory.mktemp("offsite")
    registry = tmp / "portals.yaml"
    registry.write_text(yaml.safe_dump({"portals": [
        {"name": "offsite", "start_url": base + "/nb/index.html"},
        {"name": "offsite-rendered", "start_url": base + "/render/index.html", "render": True}]},
        allow_unicode=True), encoding="utf-8")
    try:
        run_ogi(*crawl_args(registry, tmp / "ogi.db", {"OGI_BROWSER": "false"}))
    finally:
        portal.shutdown()
        off.shutdown()
    return {"db": tmp / "ogi.db", "base": base, "off_base": off_base, "off_hits": off_hits,
            "off_shas": {hashlib.sha256(b).hexdigest() for b in off_bodies.values()}}


def test_the_other_loopback_address_receives_no_request(offsite_crawl):
    assert offsite_crawl["off_hits"] == []


def test_each_refusal_is_an_offsite_refused_error(offsite_crawl):
    conn = sqlite3.connect(offsite_crawl["db"])
    errors = {url: msg for url, msg in conn.execute("select url, message from errors where kind = 'offsite_refused'")}
    base, off = offsite_crawl["base"], offsite_crawl["off_base"]
    for url in (base + "/go/2013.html", base + "/go/2014.html", off + "/r/2013.pdf"):
        assert url in errors, (url, errors)
        assert "127.0.0.2" in errors[url]
    assert "loopback" in errors[off + "/r/2013.pdf"]
    # The crawl went on: the portal's own report was found.
    assert [r[0] for r in conn.execute("select year from reports")] == [2021]
    conn.close()


def test_nothing_from_the_other_address_is_stored_or_published(offsite_crawl, tmp_path):
    db = offsite_crawl["db"]
    conn = sqlite3.connect(db)
    assert not conn.execute("select count(*) from urls where url like ? and sha256 is not null",
                            [offsite_crawl["off_base"] + "%"]).fetchone()[0]
    assert not conn.execute("select count(*) from fetches where url like ?", [offsite_crawl["off_base"] + "%"]
                            ).fetchone()[0]
    shas = {r[0] for r in conn.execute("select sha256 from documents")}
    conn.close()
    assert shas and not shas & offsite_crawl["off_shas"]
    publish.prepare(db)
    port = free_port()
    proc = start_server(db, port)
    try:
        for sha in offsite_crawl["off_shas"]:
            assert httpx.get(f"http://127.0.0.1:{port}/-/blob/{sha}", timeout=10).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{port}/-/blob/{next(iter(shas))}", timeout=10).status_code == 200
    finally:
        stop_server(proc)


def test_non_public_addresses():
    kinds = {a: _non_public(ipaddress.ip_address(a)) for a in (
        "127.0.0.2", "::1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "fe80::1",
        "::ffff:127.0.0.1", "fd00:ec2::254", "100.64.0.1", "0.0.0.0", "93.184.216.34", "2606:4700::1111")}
    assert kinds["169.254.169.254"] == "link-local" and kinds["::ffff:127.0.0.1"] == "loopback"
    assert [a for a, k in kinds.items() if k is None] == ["93.184.216.34", "2606:4700::1111"]
    # Names are resolved (locally: no network): a name or a numeric spelling of loopback is loopback.
    for host in ("localhost", "2130706433", "127.1"):
        assert asyncio.run(OffsiteGuardMiddleware._resolve(host)) == "loopback", host


def test_redirects_off_the_portal_follow_the_link_rule():
    # No network: the rule alone. A list page may not redirect to another host; a report file may.
    import scrapy

    from harvester.spiders.portal import PortalSpider
    spider = PortalSpider({"name": "p", "start_url": "http://a.example/nb/", "allowed_hosts": ["b.example"]})

    def req(url, role, text=""):
        return scrapy.Request(url, meta={"role": role, "link_text": text})
    src = "http://a.example/x"
    assert spider.may_redirect(req("http://a.example/y", "list"), src)
    assert spider.may_redirect(req("http://b.example/y", "list"), src)
    assert not spider.may_redirect(req("http://c.example/nb/", "list"), src)
    assert not spider.may_redirect(req("http://c.example/r.html", "page", OFF_TITLES["/r/2013.html"]), src)
    assert spider.may_redirect(req("http://c.example/r.pdf", "page", OFF_TITLES["/r/2013.pdf"] + ".pdf"), src)


def test_the_site_serves_a_published_copy_while_a_crawl_writes(sample_registry, tmp_path):
    """`ogi serve` while `ogi crawl` rewrites the same database: every page answers (no 500, no
    'malformed'), and once the crawl has published, the site shows its reports without a restart."""
    import urllib.request

    from conftest import free_port, wait_http
    rows = yaml.safe_load(sample_registry.read_text(encoding="utf-8"))["portals"]
    first, rest = tmp_path / "first.yaml", tmp_path / "rest.yaml"
    first.write_text(yaml.safe_dump({"portals": rows[:1]}, allow_unicode=True), encoding="utf-8")
    rest.write_text(yaml.safe_dump({"portals": rows[1:]}, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "ogi.db"
    run_ogi(*crawl_args(first, db))
    before = sqlite3.connect(db).execute("select count(*) from reports").fetchone()[0]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harvester.cli", "serve", "--db", str(db), "--port", str(port)],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/-/versions.json")
        crawl = subprocess.Popen([sys.executable, "-m", "harvester.cli", *map(str, crawl_args(rest, db))], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        statuses = []
        while crawl.poll() is None:
            for path in ("/ogi/reports.json?_size=5", "/ogi", "/ogi/cells.json?_size=1"):
                try:
                    with urllib.request.urlopen(base + path, timeout=10) as r:
                        statuses.append(r.status)
                except urllib.error.HTTPError as e:
                    statuses.append(e.code)
            time.sleep(0.2)
        assert crawl.returncode in (0, 1)
        assert statuses and set(statuses) == {200}, sorted(set(statuses))
        after = sqlite3.connect(db).execute("select count(*) from reports").fetchone()[0]
        assert after > before
        deadline = time.monotonic() + 20
        shown = None
        while time.monotonic() < deadline:
            # A filtered count is computed by SQL on the served copy (a bare count comes from inspect data).
            with urllib.request.urlopen(base + "/ogi/reports.json?_size=0&agency__not=zzz", timeout=10) as r:
                shown = json.loads(r.read())["filtered_table_rows_count"]
            if shown == after:
                break
            time.sleep(0.5)
        assert shown == after       # fresh counts from the new copy, no restart
        # ...on every SQL thread: no thread keeps reading the replaced copy
        counts = set()
        for _ in range(24):
            with urllib.request.urlopen(base + "/ogi.json?sql=select+count(*)+from+reports&_shape=array",
                                        timeout=10) as r:
                counts.add(json.loads(r.read())[0]["count(*)"])
        assert counts == {after}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_lying_servers_get_clear_errors(tmp_path):
    """A page shorter than its Content-Length, a redirect to file://, a PDF longer than its
    Content-Length: each an errors row a user can read, and the crawl goes on."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from conftest import crawl_args, run_ogi

    class Liar(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/nb/index.html":
                body = ('<html><head><meta charset="utf-8"></head><body>'
                        '<a href="/nb/a.html">某局2023年政府信息公开工作年度报告</a>'
                        '<a href="/nb/b.html">某局2022年政府信息公开工作年度报告</a>'
                        '<a href="/nb/c.pdf">某局2021年政府信息公开工作年度报告.pdf</a></body></html>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/nb/a.html":          # promises 100000 bytes, sends 11, hangs up
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"<html>short")
                self.wfile.flush()
                self.connection.close()
            elif self.path == "/nb/b.html":
                self.send_response(302)
                self.send_header("Location", "file:///etc/passwd")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/nb/c.pdf":           # says 10 bytes, sends more
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", "10")
                self.end_headers()
                self.wfile.write(b"%PDF-1.4 this is longer than ten bytes")
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    registry = tmp_path / "p.yaml"
    registry.write_text(f"portals:\n- name: liar\n  start_url: http://127.0.0.1:{server.server_address[1]}/nb/index.html\n")
    try:
        run_ogi(*crawl_args(registry, tmp_path / "ogi.db"), check=False)
    finally:
        server.shutdown()
    conn = sqlite3.connect(tmp_path / "ogi.db")
    errors = {url.rsplit("/", 1)[1]: (kind, message) for url, kind, message in
              conn.execute("select url, kind, message from errors where kind != 'not_a_report'")}
    assert errors["a.html"][0] == "truncated" and "Content-Length" in errors["a.html"][1]
    assert errors["b.html"][0] == "redirect_refused" and "file:///etc/passwd" in errors["b.html"][1]
    assert errors["c.pdf"][0] == "parse_corrupt"
    assert conn.execute("select status from crawl_runs").fetchone()[0] == "finished"
