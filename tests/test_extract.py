"""Format extraction: sniffing, decoding, tables as TAB rows, and bad input as Problems."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from parsers.extract import decode_bytes, extract, sniff

FIX = Path(__file__).parent / "parser_fixtures"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "docs"


def kinds(doc):
    return [p.kind for p in doc.problems]


# --------------------------------------------------------------------------- bad input

def test_zero_bytes_is_empty():
    doc = extract((FIX / "empty.pdf").read_bytes(), filename="empty.pdf")
    assert kinds(doc) == ["empty"]
    assert doc.text == ""


def test_truncated_pdf_is_corrupt():
    assert kinds(extract((FIX / "truncated.pdf").read_bytes(), filename="t.pdf")) == ["corrupt"]


def test_encrypted_pdf_is_encrypted():
    assert kinds(extract((FIX / "encrypted.pdf").read_bytes(), filename="e.pdf")) == ["encrypted"]


def test_zip_bomb_docx_is_refused_before_inflating():
    doc = extract((FIX / "zip_bomb.docx").read_bytes(), filename="bomb.docx")
    assert kinds(doc) == ["too_large"]


def test_unknown_binary_is_unsupported():
    doc = extract(b"PK\x03\x04" + b"\x00" * 40, filename="x.zip")
    assert doc.problems and doc.problems[0].kind in {"unsupported", "corrupt"}


def test_rotated_pdf_page_reads_as_lines():
    import sys
    sys.path.insert(0, str(FIX))
    from make_fixtures import minimal_pdf

    doc = extract(minimal_pdf("Annual report 2023 total 81", rotate=90), filename="r.pdf")
    assert doc.problems == [] and not doc.ocr
    assert "Annual report 2023 total 81" in doc.text


# --------------------------------------------------------------------------- sniffing

@pytest.mark.parametrize("data,name,expected", [
    (b"%PDF-1.4 ...", "report.doc", "pdf"),                     # content beats the name
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, "a.wps", "wps"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, None, "doc"),
    (b"\x89PNG\r\n\x1a\n", None, "image"),
    (b"\xff\xd8\xff\xe0", "x.bin", "image"),
    (b"<!DOCTYPE html><html><body>x</body></html>", None, "html"),
    ("一、总体情况\n二、主动公开".encode(), "a.txt", "txt"),
])
def test_sniff(data, name, expected):
    assert sniff(data, name) == expected


def test_decode_gbk_without_declaration():
    raw = "政府信息公开工作年度报告".encode("gbk")
    assert decode_bytes(raw) == "政府信息公开工作年度报告"


def test_decode_declared_gb2312_as_gb18030():
    raw = "镕".encode("gb18030")      # outside GB2312: a page declaring gb2312 still shows it
    assert decode_bytes(raw, "gb2312") == "镕"


def test_very_short_undeclared_text_stays_gb18030():
    assert decode_bytes("规章 0 0 0".encode("gbk")) == "规章 0 0 0"


def test_decode_bom():
    assert decode_bytes("\ufeff报告".encode("utf-8")) == "报告"


# --------------------------------------------------------------------------- HTML

def test_gbk_html_without_charset():
    doc = extract((FIX / "gbk_nocharset.html").read_bytes(), filename="a.html")
    assert "统计期限为2023年1月1日至2023年12月31日" in doc.text
    assert doc.problems == []


def test_big5_html_without_charset_is_not_read_as_gb18030():
    # big5 gateways serve traditional pages; GB18030 would accept these bytes as nonsense
    page = ("<html><body><h1>某縣人民政府2023年政府信息公開工作年度報告</h1><p>一、總體情況</p>"
            "<p>本報告所列數據的統計期限為2023年1月1日至2023年12月31日。全年主動公開政府信息1200條，"
            "收到政府信息公開申請81件。</p></body></html>")
    doc = extract(page.encode("big5"), filename="a.html")
    assert "统计期限为2023年1月1日至2023年12月31日" in doc.text
    assert doc.script == "traditional"
    # and GBK without a charset still reads as GBK
    assert "总体情况" in extract(page.replace("總體", "总体").encode("gbk", "replace"), filename="b.html").text


def test_html_tables_as_images_and_metadata():
    doc = extract((FIX / "no_tables.html").read_bytes(), filename="a.html")
    assert doc.images_only_tables is True
    assert kinds(doc) == ["tables_as_images"]
    assert doc.title == "某县2023年政府信息公开工作年度报告"
    assert doc.published == "2024-01-20"
    assert "不应出现" not in doc.text          # scripts dropped
    assert doc.tables == []


HTML_SPANS = """<html><head><meta charset="utf-8"></head><body><div>
<p>三、收到和处理政府信息公开申请情况</p>
<table><tr><td rowspan="2" colspan="2">本列数据</td><td colspan="2">申请人情况</td></tr>
<tr><td>自然人</td><td>总计</td></tr>
<tr><td rowspan="2">三、本年度办理结果</td><td>（一）予以公开</td><td><span>1</span><span>2</span></td><td>12</td></tr>
<tr><td>（二）部分公开</td><td></td><td>0</td></tr></table>
<table><tr><td>四、结转下年度继续办理</td><td>x</td><td>0</td><td>0</td></tr></table>
<p>四、政府信息公开行政复议、行政诉讼情况</p>
<table><tr><td><table><tr><td>内层</td><td>5</td></tr></table></td></tr></table>
</div></body></html>"""


def test_html_rowspan_colspan_nested_and_split_tables():
    doc = extract(HTML_SPANS.encode("utf-8"), filename="a.html")
    grid = doc.tables[0]
    assert grid[0] == ["本列数据", "本列数据", "申请人情况", "申请人情况"]
    assert grid[1] == ["本列数据", "本列数据", "自然人", "总计"]
    assert grid[2] == ["三、本年度办理结果", "(一)予以公开", "12", "12"]   # spans joined, NFKC
    assert grid[3] == ["三、本年度办理结果", "(二)部分公开", "", "0"]      # empty cell kept
    assert grid[4][0] == "四、结转下年度继续办理"        # the split table continues the grid
    assert "三、本年度办理结果\t(二)部分公开\t\t0" in doc.text.split("\n")
    assert "内层\t5" in doc.text.split("\n")            # a layout table's inner data table
    assert len(doc.tables) == 2


# --------------------------------------------------------------------------- DOCX

def _docx_with_merged_table() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("二、主动公开政府信息情况")
    t = d.add_table(rows=3, cols=3)
    a = t.cell(0, 0).merge(t.cell(0, 2))
    a.text = "第二十条第（一）项"
    t.cell(1, 0).text = "信息内容"
    t.cell(1, 1).text = "本年制发件数"
    t.cell(1, 2).text = "本年废止件数"
    v = t.cell(1, 0).merge(t.cell(2, 0))
    t.cell(2, 1).text = "3"
    t.cell(2, 2).text = ""
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_merged_cells_and_body_order():
    doc = extract(_docx_with_merged_table(), filename="a.docx")
    assert doc.format == "docx" and doc.problems == []
    assert doc.tables[0][0] == ["第二十条第(一)项"] * 3
    assert doc.tables[0][2][0] == doc.tables[0][1][0]          # vMerge continues the cell above
    lines = doc.text.split("\n")
    assert lines[0] == "二、主动公开政府信息情况"
    assert lines[-1] == "三、收到和处理政府信息公开申请情况"
    assert any(l.endswith("\t3\t") for l in lines)


# --------------------------------------------------------------------------- TXT, script

def test_traditional_mirror_txt():
    doc = extract((FIX / "traditional_mirror.txt").read_bytes(), filename="m.txt")
    assert doc.script == "traditional"
    assert "某某区人民政府" in doc.text
    assert "统计期限为2022年1月1日" in doc.text
    assert "|" not in doc.text


# --------------------------------------------------------------------------- real documents

def _corpus(name: str) -> bytes:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("shared corpus not available")
    return path.read_bytes()


def test_pdf_tables_as_tab_rows_across_pages():
    doc = extract(_corpus("pingtan-zone-2023.pdf"), filename="a.pdf")
    assert doc.format == "pdf" and not doc.ocr
    lines = doc.text.split("\n")
    row = next(l for l in lines if "危及" in l)
    assert row.split("\t")[2].endswith("三安全一稳定”")      # the row cut by the page break is glued
    assert row.split("\t")[-7:] == ["0"] * 7
    assert any(l.split("\t")[-1] == "31" and "本机关不掌握" in l for l in lines)


def test_pdf_grid_joins_a_label_wrapped_beside_spanning_value_cells():
    from parsers.extract import _join_wrapped_label_rows

    g, s = "三、本年度办理结果", "(六)其他处理"
    grid = [[g, s, "1. 申请人无正", "2", "0", "2"], [g, s, "当理由逾期不", "2", "0", "2"],
            [g, s, "补正", "2", "0", "2"], [g, s, "2. 申请人逾期", "0", "0", "0"],
            [g, s, "未按收费通知", "", "", ""], [g, s, "3.其他", "0", "0", "0"],
            ["规章", "", "", "0", "0", "0"], ["行政规范性文件", "", "", "0", "0", "0"]]
    # owners: the cell each grid position belongs to (the value cells of row 1 span three lines)
    owners = [[0, 1, 2, 3, 4, 5], [0, 1, 6, 3, 4, 5], [0, 1, 7, 3, 4, 5], [0, 1, 8, 9, 10, 11],
              [0, 1, 12, None, None, None], [0, 1, 13, 14, 15, 16],
              [20, 21, 22, 23, 24, 25], [30, 31, 32, 33, 34, 35]]
    out = _join_wrapped_label_rows(grid, owners)
    assert [r[2] for r in out] == ["1. 申请人无正当理由逾期不补正", "2. 申请人逾期未按收费通知", "3.其他", "", ""]
    assert [r[0] for r in out[-2:]] == ["规章", "行政规范性文件"]     # same numbers, own cells: kept apart


def test_pdf_table_continued_with_a_label_wrapped_over_several_lines():
    from parsers.extract import _continue_grid

    grid = [["(六)其他处理", "1. 申请人无正当理由逾期不补正", "2", "2"],
            ["(六)其他处理", "2. 申请人逾期未按收费通知", "0", "0"]]
    more = [["", "要求缴纳费", "", ""], ["", "用、行政机关", "", ""], ["", "3.其他", "1", "1"]]
    _continue_grid(grid, more)
    assert grid[1][1] == "2. 申请人逾期未按收费通知要求缴纳费用、行政机关"
    assert grid[2] == ["(六)其他处理", "3.其他", "1", "1"]


def test_pdf_table_continued_never_glues_a_whole_label_or_caption():
    from parsers.extract import _continue_grid

    grid = [["行政处罚", "", "7"], ["行政处罚", "", "7"]]
    _continue_grid(grid, [["行政强制", "", ""], ["第二十条第(八)项", "", ""], ["行政事业性收费", "1", ""]])
    assert [r[0] for r in grid] == ["行政处罚", "行政处罚", "行政强制", "第二十条第(八)项", "行政事业性收费"]


def test_docx_from_corpus_reads_tables():
    doc = extract(_corpus("pingtan-zone-2023.docx"), filename="a.docx")
    assert len(doc.tables) == 3
    assert doc.published == "2024-03-08"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_scanned_pdf_is_ocred():
    doc = extract(_corpus("pingtan-zone-2023-scan.pdf"), filename="scan.pdf")
    assert doc.ocr is True
    assert "政府信息公开" in doc.text
    assert "主动公开政府信息情况" in doc.text
    rows = [l.split("\t") for l in doc.text.split("\n")]
    # ruled table rows come back as TAB-separated cells
    assert ["规章", "0", "0", "0"] in rows


def test_docx_text_box_content_is_read():
    import docx
    from docx.oxml import parse_xml

    d = docx.Document()
    p = d.add_paragraph("正文")
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    p._p.append(parse_xml(
        f'<w:r {w}><w:pict><w:txbxContent><w:p><w:r><w:t>文本框里的标题</w:t></w:r></w:p>'
        f'</w:txbxContent></w:pict></w:r>'))
    buf = io.BytesIO()
    d.save(buf)
    doc = extract(buf.getvalue(), filename="a.docx")
    assert doc.text.split("\n") == ["正文", "文本框里的标题"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_doc_and_wps_through_libreoffice(tmp_path):
    import subprocess

    src = tmp_path / "b.html"
    src.write_text('<html><body><p>某局2023年政府信息公开工作年度报告</p><table border="1">'
                   '<tr><td colspan="2">第二十条第（一）项</td></tr><tr><td>规章</td><td>5</td></tr>'
                   '</table></body></html>', encoding="utf-8")
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--infilter=HTML (StarWriter)", "--convert-to", "doc", "--outdir",
                    str(tmp_path), str(src)], capture_output=True, timeout=120)
    data = (tmp_path / "b.doc").read_bytes()
    for name in ("b.doc", "b.wps"):
        doc = extract(data, filename=name)
        assert doc.problems == []
        assert doc.tables == [[["第二十条第(一)项", "第二十条第(一)项"], ["规章", "5"]]]
        assert "规章\t5" in doc.text.split("\n")


def test_doc_without_libreoffice_is_a_problem(monkeypatch):
    import parsers.extract as ex

    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    doc = extract(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, filename="a.doc")
    assert [p.kind for p in doc.problems] == ["converter_unavailable"]


SAMPLE_DOCS = Path(__file__).resolve().parents[1] / "harvester" / "sample_portals" / "docs"


@pytest.mark.parametrize("name", ["report.doc", "report.pdf", "report.docx", "report.wps"])
def test_content_wins_over_the_extension(name):
    """Portals save pages as .doc/.pdf and text as .pdf: read by what the bytes are, not named."""
    from parsers.api import parse_bytes
    page = (SAMPLE_DOCS / "pingtan-zone-2023.html").read_bytes()
    record = parse_bytes(page, filename=name)
    assert record["format"] == "html" and record["is_report"] and len(record["cells"]) == 200
    text = (SAMPLE_DOCS / "pingtan-zone-2021.txt").read_bytes()
    record = parse_bytes(text, filename=name)
    assert record["format"] == "txt" and record["is_report"]


def test_binary_without_its_signature_is_still_corrupt():
    import random
    noise = bytes(random.Random(7).randrange(1, 256) for _ in range(4000))
    assert sniff(noise, "x.pdf") == "pdf"
    assert [p.kind for p in extract(noise, "x.pdf").problems] == ["corrupt"] or \
        extract(noise, "x.pdf").problems[0].kind in {"corrupt", "truncated"}


def test_markup_nested_past_libxml2s_limit_is_read_whole():
    """3,000 nested <div>s around a report: lxml alone keeps 167 characters and no table; the
    recovering parser (BeautifulSoup's html.parser) reads every cell, and says it had to."""
    from parsers.api import parse_bytes
    page = (SAMPLE_DOCS / "pingtan-zone-2023.html").read_text(encoding="utf-8")
    start = page.index(">", page.index("<body")) + 1
    end = page.rindex("</body>")
    deep = page[:start] + "<div>" * 3000 + page[start:end] + "</div>" * 3000 + page[end:]
    plain, nested = parse_bytes(page.encode(), filename="a.html"), parse_bytes(deep.encode(), filename="a.html")
    assert nested["cells"] == plain["cells"] and len(nested["cells"]) == 200
    assert nested["agency"] == plain["agency"] and nested["year"] == plain["year"]
    assert [e["kind"] for e in nested["errors"]] == ["deep_markup"]


def test_word_single_file_web_page_saved_as_doc():
    """MHT (MIME around quoted-printable HTML), as Word saves it and portals publish it as .doc."""
    import quopri
    from parsers.api import parse_bytes
    page = (SAMPLE_DOCS / "pingtan-zone-2023.html").read_bytes()
    mht = (b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="----=_NextPart_01"\r\n\r\n'
           b'------=_NextPart_01\r\nContent-Location: file:///C:/report.htm\r\n'
           b'Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n'
           + quopri.encodestring(page) + b'\r\n------=_NextPart_01--\r\n')
    record = parse_bytes(mht, filename="report.doc")
    plain = parse_bytes(page, filename="report.html")
    assert record["format"] == "html" and record["cells"] == plain["cells"] and len(record["cells"]) == 200
    assert record["agency"] == plain["agency"]


def test_control_characters_in_deep_markup():
    from parsers.api import parse_bytes
    page = (SAMPLE_DOCS / "pingtan-zone-2023.html").read_text(encoding="utf-8")
    start = page.index(">", page.index("<body")) + 1
    deep = page[:start] + "<div>" * 2100 + "\x0b页眉\x0c" + page[start:]
    record = parse_bytes(deep.encode(), filename="a.html")
    assert len(record["cells"]) == 200


def test_tiny_files_that_declare_huge_pages_are_refused_cheaply():
    """A PNG header declaring 20000×20000 pixels and a PDF page of 14400 pt: named too_large, not
    decoded or rendered at full size (they took 1.3 GB and 3.2 GB)."""
    import struct
    import zlib
    from parsers.api import parse_bytes

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    record = parse_bytes(png, filename="scan.png")
    assert [e["kind"] for e in record["errors"]] == ["too_large"] and "400,000,000 pixels" in record["errors"][0]["message"]
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
           b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 14400 14400]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF")
    record = parse_bytes(pdf, filename="big.pdf")
    assert any(e["kind"] == "too_large" and "14400×14400 pt" in e["message"] for e in record["errors"])
