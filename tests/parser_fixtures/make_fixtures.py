"""Regenerate the small bad-input fixtures in this folder: `python tests/parser_fixtures/make_fixtures.py`.

Every file is made here from scratch (no corpus document is copied), so the fixtures are small,
reproducible and free to publish.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

HERE = Path(__file__).parent


def minimal_pdf(text: str = "Annual report 2023", encrypt: bool = False, rotate: int = 0) -> bytes:
    """A one-page PDF with a line of Helvetica text; with `encrypt`, a Standard security handler
    whose owner/user keys match no password (readers then ask for one); `rotate` sets /Rotate."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Rotate %d /Contents 4 0 R " % rotate +
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if encrypt:
        objs.append(b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 "
                    b"/O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objs) + 1)
    if encrypt:
        trailer += b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (len(objs), b"ab" * 16, b"ab" * 16)
    out.write(b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    """A DOCX-shaped zip whose document.xml inflates 12 MB of one byte from a few KB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<" + b" " * (12 * 1024 * 1024) + b"/>")
    return buf.getvalue()


def main() -> None:
    (HERE / "empty.pdf").write_bytes(b"")
    pdf = minimal_pdf()
    (HERE / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (HERE / "encrypted.pdf").write_bytes(minimal_pdf(encrypt=True))
    (HERE / "zip_bomb.docx").write_bytes(zip_bomb_docx())
    (HERE / "no_tables.html").write_text(
        "<html><head><meta charset='utf-8'><title>某县2023年政府信息公开工作年度报告_年报_某县网</title>"
        "<meta name='PubDate' content='2024-01-20 09:30'></head><body><div class='nav'>首页 政务公开</div>"
        "<div class='article'><p>一、总体情况</p><p>2023年，某县坚持以公开为常态。</p>"
        "<p>二、主动公开政府信息情况</p><p><img src='/u/table2.png' width='600' height='400'></p>"
        "<p>三、收到和处理政府信息公开申请情况</p><p><img src='/u/table3.jpg'></p></div>"
        "<script>var x = '不应出现';</script></body></html>", encoding="utf-8")
    (HERE / "gbk_nocharset.html").write_bytes(
        "<html><body><p>二〇二三年度政府信息公开工作年度报告</p>"
        "<p>本报告所列数据的统计期限为2023年1月1日至2023年12月31日。</p></body></html>"
        .encode("gbk"))
    (HERE / "traditional_mirror.txt").write_text(
        "某某區(qū)人民政府\n2022年某某區(qū)政府信息公開工作年度報告\n"
        + "|" * 40 + "\n本報告所列數(shù)據(jù)的統(tǒng)計期限為2022年1月1日至2022年12月31日。\n"
        "一、總體情況\n", encoding="utf-8")


if __name__ == "__main__":
    main()
