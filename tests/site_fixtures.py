"""A realistic small database for the site tests, written through harvester.db.open_db.

Always present (in-repo, so the tests never skip): a handful of synthetic reports (agency names start with
合成) with known words in known sections, a report whose tables do not add up, one that lost a
reconsideration, one missing its tables, and one whose title/sections/URL carry XSS payloads.
When the shared corpus is present, every gold record is added too (cells, identity failures, region),
with its document text split into sections and its file stored in the blob store.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from harvester.bench_site import failing_checks, synthetic_cells
from harvester.db import dumps, open_db

GOLD_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "gold"
STAMP = "2026-11-20T08:00:00+00:00"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"

REPORT_DEFAULTS = dict(script="simplified", published=None, city=None, county=None, township=None,
                       t2=0, t3=0, t4=0, format="html", ocr=0, parse_status="ok", n_checks_failed=0,
                       checks_failed="[]", canonical_reason="only copy", n_versions=1, n_documents=1,
                       n_urls=1, first_seen=STAMP, last_seen=STAMP)


def _store_blob(data_dir: Path, data: bytes) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    rel = f"blobs/{sha[:2]}/{sha}"
    target = data_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return sha, rel


_HEADING_RE = re.compile(r"^\s*([一二三四五六])、\s*(\S[^\n]*)$", re.M)
_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6"}


def split_sections(text: str) -> dict[str, tuple[str, str]]:
    """Crude section split for fixtures: headings 一、…六、 on their own line (table rows carry digits)."""
    heads = []
    want = 1
    for m in _HEADING_RE.finditer(text):
        key = _NUM[m.group(1)]
        if int(key) == want and not re.search(r"[0-9０-９\t]", m.group(2)):
            heads.append((key, m.start(), m.end(), m.group(0).strip()))
            want += 1
    out = {}
    if not heads:
        return {"1": ("正文", text.strip())}
    if text[:heads[0][1]].strip():
        out["0"] = ("前言", text[:heads[0][1]].strip())
    for i, (key, start, end, heading) in enumerate(heads):
        stop = heads[i + 1][1] if i + 1 < len(heads) else len(text)
        out[key] = (heading, text[end:stop].strip())
    return out


def _insert(db, report: dict, cells: dict, sections: dict, sightings: list[dict], documents: list[dict]):
    row = dict(REPORT_DEFAULTS)
    row.update(report)
    db["reports"].insert(row, alter=False)
    db["cells"].insert_all(
        [dict(report_id=report["id"], cell_id=k, tbl=k.split(".")[0], row=k.split(".")[1], col=k.split(".")[2],
              value=float(v)) for k, v in cells.items()])
    checks = json.loads(row["checks_failed"] or "[]")
    db["checks_failed"].insert_all([dict(report_id=report["id"], check_id=c) for c in checks])
    db["sections"].insert_all([dict(report_id=report["id"], section=k, heading=h, text=t)
                               for k, (h, t) in sections.items()])
    db["documents"].insert_all(documents, ignore=True)
    db["sightings"].insert_all(sightings, ignore=True)


def synthetic_reports(data_dir: Path) -> list[tuple]:
    """(report, cells, sections, sightings, documents) for the in-repo synthetic reports."""
    rng = random.Random(11)
    out = []

    def doc(rid, body: str, fmt="html", media="text/html"):
        sha, rel = _store_blob(data_dir, body.encode("utf-8"))
        return sha, dict(sha256=sha, size=len(body.encode()), media_type=media, format=fmt,
                         first_fetched=STAMP, last_fetched=STAMP, blob_path=rel)

    def add(rid, agency, year, template, sections, *, cells=None, region=("山东省", "青岛市", None),
            level="city", kind="department", title=None, urls=None, extra=None):
        cells = cells if cells is not None else {}
        body = f"<html><body><h1>{title or agency}</h1>" + "".join(
            f"<h2>{h}</h2><p>{t}</p>" for h, t in sections.values()) + "</body></html>"
        sha, document = doc(rid, body)
        urls = urls or [f"https://www.example.gov.cn/{rid}.html"]
        checks = failing_checks(template, cells) if cells else []
        report = dict(id=rid, agency=agency, year=year, template=template,
                      title=title or f"{agency}{year}年政府信息公开工作年度报告",
                      province=region[0], city=region[1], county=region[2], admin_level=level, agency_kind=kind,
                      t2=int(bool(cells)), t3=int(bool(cells)), t4=int(bool(cells)),
                      n_checks_failed=len(checks), checks_failed=dumps(checks), canonical_sha256=sha,
                      canonical_url=urls[0], n_urls=len(urls), published=f"{year + 1}-01-20")
        report.update(extra or {})
        sightings = [dict(report_id=rid, url=u, sha256=sha, role="page" if i == 0 else "mirror", format="html",
                          portal="合成门户", referrer=None, first_seen=STAMP, last_seen=STAMP)
                     for i, u in enumerate(urls)]
        out.append((report, cells, sections, sightings, [document]))

    c21 = synthetic_cells("2021", rng)
    add("syn-fixture-a-2022", "合成市行政审批服务局", 2022, "2021",
        {"1": ("一、总体情况", "本机关全年收到政府信息公开申请，答复及时，并对申请人的建议认真研究。"),
         "6": ("六、其他需要报告的事项", "本年度收取信息处理费0元。")}, cells=c21)
    add("syn-fixture-a-2021", "合成市行政审批服务局", 2021, "2021",
        {"1": ("一、总体情况", "本机关依法做好政府信息公开工作。")}, cells=synthetic_cells("2021", rng))
    c_lost = synthetic_cells("2021", rng)
    c_lost.update({"t4.reconsideration.upheld": 1, "t4.reconsideration.corrected": 1,
                   "t4.reconsideration.other": 0, "t4.reconsideration.pending": 0,
                   "t4.reconsideration.total": 2})
    add("syn-fixture-b-2021", "合成县司法局", 2021, "2021",
        {"4": ("四、政府信息公开行政复议、行政诉讼情况", "本年度发生行政复议2件，行政诉讼1件，其中1件结果纠正。")},
        cells=c_lost, region=("浙江省", "舟山市", "合成县"), level="county")
    add("syn-fixture-c-2023", "合成区市场监督管理局", 2023, "2021",
        {"2": ("二、主动公开政府信息情况", "全年作出行政处罚决定30件，罚款金额5万元。")},
        cells=synthetic_cells("2021", rng, fail=True), region=("福建省", "福州市", "合成区"), level="county")
    c19 = synthetic_cells("2019", rng)
    add("syn-fixture-d-2020", "合成省大数据中心", 2020, "2019",
        {"5": ("五、存在的主要问题及改进情况", "数据开放和政务公开仍需加强。")}, cells=c19,
        region=("广东省", None, None), level="province")
    # Shanghai 2019's layout: the result rows print their applicant columns and leave 总计 blank (read 0).
    blank_totals = synthetic_cells("2019", rng)
    from harvester import site_metadata as sm
    for row in sm.result_rows("2019"):
        blank_totals[f"t3.{row}.total"] = 0
    blank_totals["t3.denied_state_secret.natural_person"] = 5
    blank_totals["t3.granted.natural_person"] = max(1, blank_totals.get("t3.granted.natural_person", 0))
    add("syn-fixture-f-2019", "合成市人民政府办公厅", 2019, "2019",
        {"1": ("一、总体情况", "不予公开5件。")}, cells=blank_totals, region=("上海市", None, None),
        level="province")
    add("syn-fixture-e-2022", "合成镇人民政府", 2022, "2021",
        {"1": ("一、总体情况", "表格以图片形式发布。")}, region=("山东省", "青岛市", "合成区"), level="township",
        kind="government", extra={"parse_status": "no_tables", "format": "png", "ocr": 1})
    add("syn-fixture-xss-2022", f"合成{XSS_SCRIPT}机关", 2022, "2021",
        {"1": (f"一、总体情况{XSS_SCRIPT}", f"正文{XSS_IMG}结束"), "5": ("五、", f"{XSS_SCRIPT}{XSS_IMG}")},
        title=f"{XSS_SCRIPT}年度报告{XSS_IMG}", cells=synthetic_cells("2021", rng),
        urls=["https://www.example.gov.cn/x.html?a=1&b=<script>", "javascript:alert(1)"])
    return out


def gold_reports(data_dir: Path, gold_dir: Path = GOLD_DIR) -> list[tuple]:
    """Gold records as reports; format variants of one agency-year become extra documents and sightings."""
    if not gold_dir.is_dir():
        return []
    golds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(gold_dir.glob("*.json"))]
    by_key: dict[tuple, list[dict]] = {}
    for g in golds:
        by_key.setdefault((g["agency"], g["year"]), []).append(g)
    out = []
    for (agency, year), group in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        group.sort(key=lambda g: (len(g["id"]), g["id"]))
        main = group[0]
        docs, sightings, canonical = [], [], None
        for g in group:
            path = gold_dir.parent / g["document"]
            data = path.read_bytes() if path.exists() else json.dumps(g, ensure_ascii=False).encode()
            sha, rel = _store_blob(data_dir, data)
            media = {"txt": "text/plain", "html": "text/html", "pdf": "application/pdf",
                     "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                     }.get(g["format"], "application/octet-stream")
            docs.append(dict(sha256=sha, size=len(data), media_type=media, format=g["format"], first_fetched=STAMP,
                             last_fetched=STAMP, blob_path=rel))
            canonical = canonical or sha
            origin = g.get("origin") or ""
            m = re.search(r"https?://\S+", origin)
            url = m.group(0).rstrip(";,") if m else f"https://gold.example.gov.cn/{g['id']}.{g['format']}"
            sightings.append(dict(report_id=main["id"], url=url, sha256=sha, role="page" if g is main else "attachment",
                                  format=g["format"], portal="gold", referrer=None, first_seen=STAMP,
                                  last_seen=STAMP))
        txt = gold_dir.parent / "docs" / f"{main['id']}.txt"
        text = txt.read_text(encoding="utf-8", errors="replace") if txt.exists() else ""
        region = main.get("region") or {}
        report = dict(id=main["id"], agency=agency, year=year, template=main["template"],
                      title=f"{agency}{year}年政府信息公开工作年度报告", script=main.get("script", "simplified"),
                      published=main.get("published"), province=region.get("province"), city=region.get("city"),
                      county=region.get("county"), township=region.get("township"),
                      admin_level=main.get("admin_level"), agency_kind=main.get("agency_kind"),
                      t2=int(main["tables"]["t2"]), t3=int(main["tables"]["t3"]), t4=int(main["tables"]["t4"]),
                      format=main["format"], ocr=int("scan" in main["id"]),
                      parse_status="ok" if main["tables"]["t3"] or main["template"] == "pre2019" else "no_tables",
                      n_checks_failed=len(main["identity_failures"]), checks_failed=dumps(main["identity_failures"]),
                      canonical_sha256=canonical, canonical_url=sightings[0]["url"],
                      n_documents=len(docs), n_urls=len({s["url"] for s in sightings}))
        out.append((report, main["cells"], split_sections(text) if text else {}, sightings, docs))
    return out


def build_fixture_db(path: str | Path, *, with_gold: bool = True) -> dict:
    """Write the fixture database at `path` (blobs under path's directory). Returns a summary."""
    path = Path(path)
    data_dir = path.parent
    db = open_db(path)
    records = synthetic_reports(data_dir) + (gold_reports(data_dir) if with_gold else [])
    for rec in records:
        _insert(db, *rec)
    # the parser's notes on one canonical document, as a crawl stores them
    first = records[0][0]
    db["parses"].insert(dict(sha256=first["canonical_sha256"], parser_version="0.1", parsed_at=STAMP,
                             format="html", is_report=1, agency=first["agency"], year=first["year"],
                             template=first["template"], ocr=0, n_cells=0, record="{}",
                             errors=dumps([{"kind": "cells_run_together", "message":
                                            "t2.normative_docs: digits '693665' run together; read as 69|3|665 "
                                            "<check the source>"}])))
    add_crawl_history(db)
    # how two values of the first report were read, as the rebuild writes it (the report page marks them)
    marked = sorted(records[0][1])[:2]
    db.execute("UPDATE cells SET how = 'ocr', page = 4, box = '[243.7, 151.9, 519.8, 186.8]', ocr = ? "
               "WHERE report_id = ? AND cell_id = ?",
               [dumps({"engines": {"tesseract": {"text": "7", "confidence": 90.8},
                                   "rapidocr": {"text": "7", "confidence": 0.97}}, "decided": "tesseract+rapidocr"}),
                first["id"], marked[0]])
    db.execute("UPDATE cells SET how = 'inferred', note = 'digits run together <b>check</b>' "
               "WHERE report_id = ? AND cell_id = ?", [first["id"], marked[1]])
    db.conn.commit()
    db.conn.close()
    return {"path": str(path), "reports": [r[0]["id"] for r in records], "marked": marked,
            "n_gold": sum(1 for r in records if not r[0]["id"].startswith("syn-")), "records": records}


# Four portals' last two runs, as crawls record them: one healthy, one whose count dropped, one that found
# nothing, one whose errors spiked (the health page must paint the last three red).
CRAWL_HISTORY = {
    "合成健康门户": [dict(reports=5, errors={"http_404": 1}), dict(reports=5, errors={"http_404": 1})],
    "合成减少门户": [dict(reports=6), dict(reports=2, status="dropped", errors={"count_dropped": 1})],
    "合成空门户": [dict(reports=3), dict(reports=0, errors={"http_500": 2})],
    "合成错误门户": [dict(reports=4, errors={"timeout": 1}),
                  dict(reports=4, lists_stated=2, lists_incomplete=1,
                       errors={"timeout": 12, "list_incomplete": 1})],
}


def add_crawl_history(db) -> None:
    from harvester import schedule

    run_id = 100
    for portal, runs in CRAWL_HISTORY.items():
        for i, run in enumerate(runs):
            run_id += 1
            started = f"2026-11-{10 + i * 7:02d}T02:00:00+00:00"
            row = dict(id=run_id, portal=portal, spider="portal", started=started,
                       finished=started.replace("02:00", "02:05"), status=run.get("status", "finished"),
                       list_pages=3, candidates=20, reports=run["reports"], attachments=0,
                       errors=sum(run.get("errors", {}).values()), robots_obeyed=1, settings="{}",
                       lists_stated=run.get("lists_stated", 1), lists_incomplete=run.get("lists_incomplete", 0),
                       pid=1, host="fixture", stats="{}")
            db["crawl_runs"].insert(row)
            for kind, n in run.get("errors", {}).items():
                for j in range(n):
                    db["errors"].insert(dict(run_id=run_id, portal=portal, url=f"https://www.example.gov.cn/{j}",
                                             kind=kind, message=f"{kind} {j}", at=started))
            schedule.record_run(db, {"name": portal}, row)


def search_oracle(records: list[tuple], query: str) -> set[str]:
    """Report ids where every word of `query` is a substring of one field (what the search must return)."""
    from harvester.publish import normalise

    words = [normalise(w) for w in query.split()]
    hits = set()
    for report, _cells, sections, _s, _d in records:
        fields = [report.get("title") or "", report.get("agency") or "", report.get("province") or "",
                  report.get("city") or "", report.get("county") or "", report.get("township") or ""]
        for heading, text in sections.values():
            fields += [heading or "", text or ""]
        fields = [normalise(f) for f in fields]
        if all(any(w in f for f in fields) for w in words):
            hits.add(report["id"])
    return hits


ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    """`python -m harvester.publish DB --port N` (the same `serve()` as `ogi serve`), once it answers."""
    # The server's log goes to a file: a pipe nobody reads fills up (Datasette logs every failing SQL,
    # and a burst of hostile queries makes hundreds) and then blocks the server on its next write.
    log = tempfile.NamedTemporaryFile("w+", prefix="ogi-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "harvester.publish", str(db), "--port", str(port)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    proc.log_path = log.name
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + Path(log.name).read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/versions.json", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
