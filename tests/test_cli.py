"""The `ogi` command as users call it: help with defaults, parse on bad input, reparse."""
import json
import shutil
from pathlib import Path

import pytest
import sqlite_utils

from conftest import run_ogi


def test_help_lists_every_command_and_the_defaults():
    out = run_ogi("--help").stdout
    for command in ("crawl", "parse", "reparse", "serve", "export", "demo", "bench"):
        assert command in out
    crawl_help = run_ogi("crawl", "--help").stdout
    assert "data/portals.yaml" in crawl_help and "data/ogi.db" in crawl_help
    assert "data/ogi.db" in run_ogi("serve", "--help").stdout


def test_parse_gives_one_line_per_file_even_for_bad_input(tmp_path):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n")
    page = tmp_path / "news.html"
    page.write_text("<html><body><p>今天天气很好。</p></body></html>", encoding="utf-8")
    missing = tmp_path / "missing.docx"
    out = run_ogi("parse", "--json", empty, truncated, page, missing).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert [l["file"] for l in lines] == [str(empty), str(truncated), str(page), str(missing)]
    for line in lines:
        assert line["errors"], line["file"]
        assert line["cells"] == {} and not any(line["tables"].values())      # never invented zeros
        assert all(e["kind"] and e["message"] for e in line["errors"])


def test_parse_takes_any_file_name(tmp_path):
    """A name starting with '-' (after '--', click's rule, said in --help) and a name that is not
    UTF-8 (GBK bytes, as Windows zips leave them): both parsed; `file` keeps the bytes as escapes."""
    import os
    page = "<html><body><p>今天天气很好。</p></body></html>".encode()
    dashed = tmp_path / "-report.html"
    dashed.write_bytes(page)
    gbk = os.path.join(os.fsencode(tmp_path), "公开".encode("gbk") + b".html")
    with open(gbk, "wb") as fh:
        fh.write(page)
    out = run_ogi("parse", "--json", "--", dashed, os.fsdecode(gbk)).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["file"] == str(dashed) and lines[0]["format"] == "html"
    assert lines[1]["file"] == str(tmp_path) + "/\\xb9\\xab\\xbf\\xaa.html" and lines[1]["format"] == "html"
    assert not any(e["kind"] == "unreadable" for line in lines for e in line["errors"])
    assert "--" in run_ogi("parse", "--help").stdout


def test_reparse_rebuilds_the_same_reports_from_stored_bytes(crawled, tmp_path):
    import shutil
    copy = tmp_path / "data"
    shutil.copytree(crawled["db"].parent, copy)
    db_path = copy / crawled["db"].name
    before = {(r["agency"], r["year"]) for r in sqlite_utils.Database(db_path).query("select agency, year from reports")}
    sqlite_utils.Database(db_path).execute("delete from parses")
    out = run_ogi("reparse", "--db", db_path).stdout
    assert "re-parsed" in out
    after = {(r["agency"], r["year"]) for r in sqlite_utils.Database(db_path).query("select agency, year from reports")}
    assert after == before


def test_reparse_rewrites_only_what_changed(crawled, tmp_path):
    """An unchanged parser rewrites nothing; a parse recorded by an older parser version whose
    result differs is found by --stale, rewritten, and the version shows in `ogi status`."""
    import shutil
    copy = tmp_path / "data"
    shutil.copytree(crawled["db"].parent, copy)
    db_path = copy / crawled["db"].name
    db = sqlite_utils.Database(db_path)
    assert "none changed" in run_ogi("reparse", "--db", db_path).stdout
    sha = db.execute("select canonical_sha256 from reports limit 1").fetchone()[0]
    db.execute("update parses set parser_version = 'old', record = json_set(record, '$.year', 1999) "
               "where sha256 = ?", [sha])
    db.conn.commit()
    out = run_ogi("reparse", "--db", db_path, "--stale").stdout
    assert "re-parsed 1 documents; 1 changed" in out
    assert db.execute("select parser_version from parses where sha256 = ?", [sha]).fetchone()[0] != "old"
    (copy / "none.yaml").write_text("portals: []\n", encoding="utf-8")
    status = run_ogi("status", "--db", db_path, "--portals", copy / "none.yaml").stdout
    from parsers.api import PARSER_VERSION
    assert f"reports by parser version: {PARSER_VERSION}: " in status


def _report_pdf(tmp_path):
    """A 2021-format report with ruled tables, printed to PDF by LibreOffice."""
    import html
    import subprocess

    from test_tables import T4_LINES, t2_2021_lines, t3_grid_lines

    lines = ["某县人民政府2023年政府信息公开工作年度报告", "一、总体情况", "本机关认真做好政府信息公开工作。",
             *t2_2021_lines(), *t3_grid_lines(), *T4_LINES]
    body, table = [], []
    for ln in lines + [""]:
        if "\t" in ln:
            table.append(ln.split("\t"))
            continue
        if table:
            width = max(map(len, table))
            body.append('<table border="1" cellspacing="0" style="border-collapse:collapse">' + "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row + [""] * (width - len(row))) + "</tr>"
                for row in table) + "</table>")
            table = []
        body.append(f"<p>{html.escape(ln)}</p>")
    src = tmp_path / "r.html"
    src.write_text("<html><head><meta charset='utf-8'></head><body>" + "".join(body) + "</body></html>", encoding="utf-8")
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(src)], capture_output=True, timeout=120)
    return tmp_path / "r.pdf"


needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")


@needs_soffice
def test_parse_json_gives_each_pdf_cells_page_and_box(tmp_path):
    """A real PDF (LibreOffice prints a report with ruled tables): every cell's provenance names the
    page and the box in which pdfplumber finds exactly the printed number; CONTRACT keys unchanged."""
    import pdfplumber

    pdf_path = _report_pdf(tmp_path)
    record = json.loads(run_ogi("parse", "--json", pdf_path).stdout)
    assert record["template"] == "2021" and len(record["cells"]) == 200 and record["errors"] == []
    assert set(record["provenance"]) == set(record["cells"])
    with pdfplumber.open(pdf_path) as pdf:
        for cid, value in record["cells"].items():
            p = record["provenance"][cid]
            assert p["how"] == "table_cell", cid
            printed = pdf.pages[p["page"] - 1].within_bbox(p["box"]).extract_text().replace(" ", "")
            assert (printed == "" and value == 0) or float(printed) == value, (cid, printed, value)


@needs_soffice
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_bench_parse_compares_pdftotext_in_one_process_model_at_a_time(tmp_path, monkeypatch):
    """The figures only, never a speed: ogi in one process against pdftotext less its start-up, and
    both a process per file, each with its own ratio."""
    from harvester import bench_parse

    monkeypatch.setattr(bench_parse, "MIN_SECONDS", 0.0)
    monkeypatch.setattr(bench_parse, "REPEATS", 1)
    lines = []
    out = bench_parse.bench_parse([_report_pdf(tmp_path)], echo=lines.append)
    pdf, floor = out["formats"]["pdf"], out["pdftotext"]
    assert 0 < floor["startup_ms"] and floor["in_process_ms"] == pytest.approx(
        1000 * floor["seconds"] / floor["parsed"] - floor["startup_ms"], abs=0.11)
    assert pdf["x_pdftotext"] == pytest.approx(1000 * pdf["seconds"] / pdf["parsed"] / floor["in_process_ms"])
    assert pdf["x_pdftotext_process_per_file"] == pytest.approx(
        pdf["fresh_process_ms"] / (1000 * floor["seconds"] / floor["parsed"]))
    text = "\n".join(lines)
    assert "one process over all files" in text and "a process per file" in text and "in CPU time" in text
    assert pdf["cpu_x_pdftotext"] > 0 and pdf["cpu_x_pdftotext_process_per_file"] > 0


CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "docs"


@pytest.mark.skipif(not (CORPUS / "huaian-gov-2024-scan.pdf").is_file(), reason="no shared corpus")
def test_a_scans_cells_sit_where_the_text_pdfs_cells_are():
    """The corpus's image-only scan of a real report, OCR'd, against the report's own text PDF: every
    cell OCR read is on the same page in the same box (within 3 pt), read by both engines."""
    out = run_ogi("parse", "--json", CORPUS / "huaian-gov-2024.pdf", CORPUS / "huaian-gov-2024-scan.pdf",
                  env={"OGI_OCR_BUDGET": "600"}).stdout
    text, scan = (json.loads(line) for line in out.splitlines())
    assert scan["ocr"] and len(scan["cells"]) > 90
    for cid, p in scan["provenance"].items():
        q = text["provenance"][cid]
        assert p["page"] == q["page"] and max(abs(a - b) for a, b in zip(p["box"], q["box"])) <= 3, cid
        assert p["how"] in ("ocr", "inferred") and set(p["ocr"]["engines"]) == {"tesseract", "rapidocr"}, cid
        assert scan["cells"][cid] == text["cells"][cid], cid
