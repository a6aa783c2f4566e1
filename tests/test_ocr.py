"""OCR decisions (parsers.ocr): rules from pixels, when a number cell is trusted, doubtful cells."""
from __future__ import annotations

import numpy as np
import pytest

from parsers import ocr
from parsers.document import Problem


def test_long_runs_mark_the_run_itself():
    m = np.array([[0, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1]], dtype=bool)
    assert ocr._long_runs(m, 4).astype(int).tolist() == [[0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]]


def test_run_length_per_pixel():
    m = np.array([[0, 1, 1, 1, 0, 1], [1, 1, 0, 0, 0, 0]], dtype=bool)
    assert ocr._run_length(m).tolist() == [[0, 3, 3, 3, 0, 1], [2, 2, 0, 0, 0, 0]]


def test_thin_rules_found_thick_strokes_are_not_rules():
    im = np.full((900, 800), 255, dtype=np.uint8)
    im[100:102, 50:750] = 0            # a horizontal rule, 2 px
    im[300:302, 50:750] = 0
    im[100:302, 50:52] = 0             # vertical rules
    im[100:302, 400:402] = 0
    im[100:302, 748:750] = 0
    im[150:250, 600:608] = 0           # a bold stroke, 8 px thick, 100 px long
    rh, rv = ocr._rules(im < 160)
    assert rh[100, 300] and rv[200, 400]
    assert not rv[200, 603] and not rh[200, 603]
    rows = ocr._grid_rows(rh, rv)
    assert len(rows) == 1 and [abs(a - b) <= 2 for a, b in zip(rows[0][2], [51, 401, 749])] == [True] * 3


def test_skew_is_measured_and_undone():
    from PIL import Image

    im = np.full((1000, 800), 255, dtype=np.uint8)
    for y in range(100, 900, 40):
        im[y:y + 2, 60:740] = 0
        im[y + 10:y + 22, 80:700:9] = 0       # a line of "text"
    turned = np.asarray(Image.fromarray(im).rotate(1.5, resample=Image.BICUBIC, fillcolor=255))
    assert abs(ocr._skew_angle(turned) + 1.5) <= 0.15
    assert ocr._skew_angle(im) == 0.0


@pytest.mark.parametrize("s, key", [("26", "26"), (" 1,288 ", "1288"), ("060", None), ("0", "0"),
                                    ("96171.6", "96171.6"), ("4858.33万元", "4858.33万元"),
                                    ("６６", "66"), ("2O", None), ("", None)])
def test_number_key(s, key):
    assert ocr.num_key(s) == key


def _cell(**kw):
    c = ocr.Cell(0, 1, None)
    for k, v in kw.items():
        setattr(c, k, v)
    ocr._decide(c)
    return c


def test_engines_agreeing_give_the_number():
    c = _cell(tess="26", tess_conf=70, rapid="26", rapid_score=0.99)
    assert c.value == "26" and not c.doubt


def test_engines_disagreeing_leave_the_cell_doubtful():
    c = _cell(tess="20", tess_conf=74, rapid="26", rapid_score=1.0)
    assert c.value is None and c.doubt and c.candidates == {"20", "26"}


def test_a_leading_zero_is_no_reading():
    c = _cell(tess="060", tess_conf=90, rapid="66", rapid_score=1.0)
    assert c.value is None and c.doubt


def test_a_confident_line_of_characters_is_no_number():
    c = _cell(tess="5", tess_conf=60, rapid="第二十条第（六）项", rapid_score=0.99)
    assert c.value is None and not c.doubt and c.text == "第二十条第（六）项"


def test_single_engine_trusts_only_confident_or_confirmed_numbers():
    assert _cell(tess="26", tess_conf=96, rapid=None).value == "26"
    assert _cell(tess="20", tess_conf=74, rapid=None).doubt
    assert _cell(tess="20", tess_conf=74, digits="20", rapid=None).value == "20"


def _row(values, doubtful):
    cells = []
    for j, v in enumerate(values):
        c = ocr.Cell(0, j, None)
        if j in doubtful:
            c.candidates, c.doubt = set(doubtful[j]), "engines disagree"
        else:
            c.value, c.text = v, v
        cells.append(c)
    return cells


def test_row_total_settles_a_doubtful_cell_only_when_one_reading_fits():
    row = _row(["13", "4", "8", "1", None, "12", "1", "1", "6", "20", "72", "64", "178", "37", "351"],
               {4: ["20", "26"]})
    ocr._resolve_by_totals(row, [], "row")
    assert row[4].value == "26" and not row[4].doubt
    # two readings that both fit (a 7-cell row with two doubtful cells trading digits) stay doubtful
    row = _row(["3", None, "0", "0", "0", None, "9"], {1: ["2", "3"], 5: ["3", "4"]})
    ocr._resolve_by_totals(row, [], "row")
    assert row[1].value is None and row[5].value is None


def test_doubtful_cells_never_become_numbers_in_the_text(tmp_path, monkeypatch):
    """A page whose number cells the engines read differently: the rows are left unread (no
    number, no partial row), the reasons are Problems."""
    from PIL import Image, ImageDraw, ImageFont

    if not ocr.tesseract_available():
        pytest.skip("tesseract not installed")
    im = Image.new("L", (1200, 400), 255)
    d = ImageDraw.Draw(im)
    for y in (50, 150, 250):
        d.line([(50, y), (1150, y)], fill=0, width=2)
    for x in (50, 600, 1150):
        d.line([(x, 50), (x, 250)], fill=0, width=2)
    path = str(tmp_path / "p001.png")
    im.save(path)
    real = ocr._rapid_read

    def fake_rapid(crops):
        return [("26", 1.0) for _ in crops]

    def fake_cells(crops, p, digits=False):
        return {i: ("20", 80.0) for i in range(len(crops))}

    d.text((100, 80), "x", fill=0)
    monkeypatch.setattr(ocr, "_rapid_read", fake_rapid)
    monkeypatch.setattr(ocr, "_read_cells", fake_cells)
    # cells with ink: draw a blob in each
    a = np.asarray(im).copy()
    a[80:120, 100:140] = 0
    a[80:120, 700:740] = 0
    a[180:220, 100:140] = 0
    a[180:220, 700:740] = 0
    Image.fromarray(a).save(path)
    text, problems = ocr._ocr_page(path)
    assert "20" not in text and "26" not in text and "\t" not in text
    assert text.count(ocr.UNREAD_ROW) == 2
    assert all(p.kind == "ocr_doubtful" for p in problems) and len(problems) == 4
    assert real is not None


T3_OCR = [
    "信息内容\t本年制发件数\t本年废止件数\t现行有效件数",
    "规章\t1\t0\t11",
    "行政规范性文件\t8\t26\t66",
    "行政事业性收费\t96171.6",
    "寸」不不/\t白然人\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t总计",
    "一、本尔新收政府信息公开中请数量\t3001\t53\t0\t0\t61\t4\t3119",
    "二、上年结转政府信息公开中请数量\t34\t0\t0\t0\t0\t0\t34",
    "|一)子w人开\t1288\t21\t0\t0\t50\t3\t1362",
    "\t(二)部分公开(区分处理的,只计这一情形,不计其他情形)\t447\t7\t0\t0\t0\t0\t454",
    "\t\t1.属于国家秘密\t2\t0\t0\t0\t0\t0\t2",
    "本\t\t2.其他法律行政法规苦止公开\t30\t1\t0\t0\t0\t0\t31",
    "二度\t\t3.危及“三安全一稳定”\t5\t0\t0\t0\t0\t0\t5",
]


def test_misread_row_labels_are_placed_by_the_row_order():
    text, problems = ocr.snap_labels("\n".join(T3_OCR))
    lines = text.split("\n")
    # between 行政事业性收费 and 二、上年结转: the only row that fits
    assert lines[5] == "一、本年新收政府信息公开申请数量\t3001\t53\t0\t0\t61\t4\t3119"
    # 二、上年结转... already contains no exact label (中请), but one character in sixteen
    assert lines[6].startswith("二、上年结转政府信息公开申请数量\t34")
    # too little of (一)予以公开 is left to say which row it is: kept as read
    assert lines[7] == T3_OCR[7]
    assert lines[10].startswith("2.其他法律行政法规禁止公开\t30")
    assert all(p.kind == "ocr_label" for p in problems) and len(problems) == 3


def test_a_label_cut_short_is_left_as_read():
    lines = list(T3_OCR)
    lines[11] = "二度\t\t3.危及“三安全一稳\t5\t0\t0\t0\t0\t0\t5"
    text, problems = ocr.snap_labels("\n".join(lines))
    assert text.split("\n")[11] == lines[11]


def test_no_label_snapping_outside_the_rows_read():
    # a misread first row with no row found before it stays as read
    lines = T3_OCR[4:7]
    text, problems = ocr.snap_labels("\n".join(lines))
    assert text.split("\n")[1] == lines[1] and problems == []


def test_rapidocr_letter_for_a_digit_agrees_with_tesseract_digit():
    assert _cell(tess="0", tess_conf=90, rapid="o", rapid_score=0.8).value == "0"
    assert _cell(tess="8", tess_conf=90, rapid="o", rapid_score=0.8).value is None


def test_rule_remnant_at_a_cell_edge_only_with_a_second_engine():
    assert _cell(tess="821|", tess_conf=80, rapid="821", rapid_score=1.0).value == "821"
    assert _cell(tess="1|", tess_conf=80, rapid="11", rapid_score=1.0).value is None
    assert _cell(tess="821|", tess_conf=95, rapid=None).value is None
