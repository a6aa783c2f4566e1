"""Regenerate harvester/sample_portals/docs/ from the reference corpus (developer tool, run once).

    python -m harvester.sample_portals.build_docs /path/to/shared/corpus

Copies the corpus documents the sample portals serve, keeps the few gold fields the ground truth
needs (docs/gold.json), and derives extra guises of real reports: DOCX written from the report text
(python-docx), PDF converted from that DOCX (LibreOffice), a traditional-script twin (OpenCC s2t),
and one non-report PDF (a budget table) used as a distractor. Nothing here runs when serving."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"

COPY = [
    "pingtan-zone-2011.txt", "pingtan-zone-2012.html", "pingtan-zone-2013.txt", "pingtan-zone-2014.txt",
    "pingtan-zone-2017.html", "pingtan-zone-2017.pdf", "pingtan-zone-2017.docx", "pingtan-zone-2017.txt",
    "pingtan-zone-2018.txt", "pingtan-zone-2019.txt", "pingtan-zone-2021.txt", "pingtan-zone-2023.html",
    "pingtan-zone-2023.pdf", "pingtan-zone-2023.docx", "pingtan-zone-2023.txt", "pingtan-zone-2024.html",
    "pingtan-dishui-2013.txt", "pingtan-county-2012.txt", "pingtan-county-2013.txt",
    "qingdao-bigdata-2020.txt", "qingdao-bigdata-2023-mirror.txt", "qingdao-econ-2018.txt",
    "shanghai-gov-office-2019.html", "zibo-bigdata-2023.txt", "dinghai-2022-mirror.txt",
]
GOLD_FIELDS = ("id", "agency", "year", "template", "script", "published", "admin_level", "agency_kind")


def body_lines(text: str) -> list[str]:
    """Report lines without the archive's header and the flattened portal chrome (as sites.txt_lines)."""
    import re
    text = re.split(r"=+ 正文 =+", text, maxsplit=1)[-1]
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].startswith("当前位置") and "-->" in lines[0]:
        lines[0] = lines[0].split("-->", 1)[1].strip()
    if lines and lines[-1].endswith("附件下载"):
        lines[-1] = lines[-1][: -len("附件下载")].rstrip()
    return [ln for ln in lines if ln]


def write_docx(lines: list[str], path: Path) -> None:
    import docx
    d = docx.Document()
    for ln in lines:
        d.add_paragraph(ln)
    d.save(str(path))


def to_pdf(docx_path: Path, pdf_path: Path, fmt: str = "pdf") -> None:
    """Convert with LibreOffice (fmt "pdf", or "doc" for Word 97 binary)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", "--convert-to", fmt, "--outdir", tmp, str(docx_path)],
                       check=True, capture_output=True, timeout=180)
        shutil.move(str(Path(tmp) / (docx_path.stem + "." + fmt)), pdf_path)


def main(corpus: str) -> None:
    corpus_dir = Path(corpus)
    DOCS.mkdir(exist_ok=True)
    for name in COPY:
        shutil.copyfile(corpus_dir / "docs" / name, DOCS / name)
    gold = {}
    for f in sorted((corpus_dir / "gold").glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        gold[d["id"]] = {k: d.get(k) for k in GOLD_FIELDS}
    (DOCS / "gold.json").write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")

    def txt(name):
        return (corpus_dir / "docs" / name).read_text(encoding="utf-8")

    title = {"qingdao-bigdata-2020": [], "pingtan-county-2012": [], "pingtan-county-2013": [],
             "qingdao-econ-2018": []}
    for gid in title:
        lines = body_lines(txt(gid + ".txt"))
        write_docx(lines, DOCS / f"gen-{gid}.docx")
    for gid in ("pingtan-county-2013", "qingdao-econ-2018"):
        to_pdf(DOCS / f"gen-{gid}.docx", DOCS / f"gen-{gid}.pdf")
    to_pdf(DOCS / "gen-pingtan-county-2013.docx", DOCS / "gen-pingtan-county-2013.doc", fmt="doc")
    budget = ["平潭县2014年部门预算", "一、部门基本情况", "本部门预算包括一般公共预算收入和支出。",
              "收入总计 1234.56万元，支出总计 1234.56万元。", "二、收支预算总表",
              "项目\t预算数（万元）", "一般公共服务支出\t800.00", "社会保障和就业支出\t434.56"]
    write_docx(budget, DOCS / "gen-budget-2014.docx")
    to_pdf(DOCS / "gen-budget-2014.docx", DOCS / "gen-budget-2014.pdf")
    import opencc
    conv = opencc.OpenCC("s2t")
    lines = body_lines(txt("pingtan-zone-2021.txt"))
    (DOCS / "gen-pingtan-zone-2021-big5.txt").write_text("\n".join(conv.convert(ln) for ln in lines) + "\n",
                                                         encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpus")
