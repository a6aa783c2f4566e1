"""No wrong number on layouts the corpus does not have: each corpus HTML report flattened to text the
ways readers and converters do (newline, space or no separator between cells, rows with pipes), and
each corpus PDF through pdftotext (layout, raw, plain). Blank cells may vanish and rows may be lost;
no cell may differ from the gold. Skips without ../shared (the corpus and its gold live there)."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess

import pytest

from conftest import SHARED, run_ogi

DOCS, GOLD = SHARED / "corpus" / "docs", SHARED / "corpus" / "gold"


def _gold_ids() -> dict[str, str]:
    """Document file name -> its gold id (MANIFEST.csv)."""
    with open(SHARED / "corpus" / "MANIFEST.csv", encoding="utf-8") as fh:
        return {row["document"].rsplit("/", 1)[-1]: row["id"] for row in csv.DictReader(fh)}


def _variants(out):
    from bs4 import BeautifulSoup
    made = []
    for html in sorted(DOCS.glob("*.html")):
        soup = BeautifulSoup(html.read_bytes(), "lxml")
        for tag in soup(["script", "style"]):
            tag.decompose()
        rows = [" | ".join(td.get_text("", strip=True) for td in tr.find_all(["td", "th"]))
                for tr in soup.find_all("tr")]
        for name, text in (("nl", soup.get_text("\n")), ("sp", soup.get_text(" ")),
                           ("none", soup.get_text("")), ("pipe", "\n".join(rows))):
            path = out / f"{html.stem}.{name}.txt"
            path.write_text(text, encoding="utf-8")
            made.append((path, html.name))
    if shutil.which("pdftotext"):
        for pdf in sorted(DOCS.glob("*.pdf")):
            if "scan" in pdf.stem:      # no text layer: nothing for pdftotext to give
                continue
            for mode in ("-layout", "-raw", None):
                path = out / f"{pdf.stem}.pdftotext{mode or ''}.txt"
                subprocess.run(["pdftotext", *([mode] if mode else []), str(pdf), str(path)], check=True)
                made.append((path, pdf.name))
    return made


def test_flattened_corpus_reports_give_no_wrong_cell(tmp_path):
    if not DOCS.is_dir() or not GOLD.is_dir():
        pytest.skip(f"../shared is absent ({DOCS}); the text variants are made from the shared corpus")
    made = _variants(tmp_path)
    out = run_ogi("parse", "--json", "--workers", "2", *[p for p, _ in made]).stdout
    wrong, right, ids = [], 0, _gold_ids()
    for line, (path, source) in zip(out.splitlines(), made):
        record = json.loads(line)
        gold_path = GOLD / f"{ids.get(source, '?')}.json"
        gold = (json.loads(gold_path.read_text(encoding="utf-8")).get("cells") or {}) if gold_path.exists() else {}
        for cell, value in record["cells"].items():
            if cell not in gold or gold[cell] != value:
                wrong.append((path.name, cell, value, gold.get(cell)))
            else:
                right += 1
    assert not wrong, wrong[:20]
    assert right > 0


def test_corpus_reports_converted_by_libreoffice_give_no_wrong_cell(tmp_path):
    """Formats portals publish that the corpus lacks, made from it with LibreOffice: each DOCX as
    .doc and as PDF, each HTML report as PDF with its table borders removed (a table the PDF has
    no ruling lines for). No cell may differ from the gold of the document it was made from."""
    import re
    if not DOCS.is_dir() or not GOLD.is_dir():
        pytest.skip(f"../shared is absent ({DOCS}); the conversions are made from the shared corpus")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed (quickstart installs libreoffice-writer-nogui)")
    ids = _gold_ids()
    made = []

    def convert(src, target, stem_source):
        out_dir = tmp_path / f"{src.suffix[1:]}-to-{target.split(':')[0]}"
        out_dir.mkdir(exist_ok=True)
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                        "--convert-to", target, "--outdir", str(out_dir), str(src)],
                       check=True, capture_output=True, timeout=300)
        made.extend((p, stem_source) for p in out_dir.glob(src.stem + ".*"))

    for docx in sorted(DOCS.glob("*.docx")):
        convert(docx, "doc", docx.name)
        convert(docx, "pdf", docx.name)
    for html in sorted(DOCS.glob("*.html")):
        page = html.read_text(encoding="utf-8")
        page = re.sub(r"""\sborder\s*=\s*["']?\d+["']?""", "", page)
        page = page.replace("</head>", "<style>table,tr,td,th{border:0 none !important}</style></head>", 1)
        bare = tmp_path / "bare" / html.name
        bare.parent.mkdir(exist_ok=True)
        bare.write_text(page, encoding="utf-8")
        convert(bare, "pdf:writer_web_pdf_Export", html.name)
    assert made
    out = run_ogi("parse", "--json", "--workers", "2", *[p for p, _ in made]).stdout
    wrong, right = [], 0
    for line, (path, source) in zip(out.splitlines(), made):
        record = json.loads(line)
        gold = json.loads((GOLD / f"{ids[source]}.json").read_text(encoding="utf-8")).get("cells") or {}
        for cell, value in record["cells"].items():
            if gold.get(cell) != value:
                wrong.append((path.name, cell, value, gold.get(cell)))
            else:
                right += 1
    assert not wrong, wrong[:20]
    assert right >= 1000
