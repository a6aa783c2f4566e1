"""Table parsing, one trap at a time, on small inline documents (no corpus needed)."""
from __future__ import annotations

from parsers import checks, codebook, tables
from parsers.document import Extracted

T3_HEAD_2021 = [
    "三、收到和处理政府信息公开申请情况",
    "(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)\t\t\t申请人情况\t\t\t\t\t\t",
    "\t\t\t自然人\t法人或其他组织\t\t\t\t\t总计",
    "\t\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t",
]
GROUP_OF = {"denied": "(三)不予公开", "unable": "(四)无法提供", "rejected": "(五)不予处理", "other": "(六)其他处理"}


def t3_label_cells(row) -> list[str]:
    """Three label cells as an HTML grid repeats them (merged cells expanded)."""
    label = row.label
    if row.group and row.group.startswith("("):
        return ["三、本年度办理结果", row.group, label]
    if row.group and row.group.startswith("（"):
        return ["三、本年度办理结果", row.group, label]
    if row.group:
        return ["三、本年度办理结果", label, label]
    return [label, label, label]


def t2_2021_lines(values=None):
    v = {"rules": (0, 0, 0), "normative_docs": (3, 1, 20), "licensing": (15,), "penalty": (7,),
         "enforcement": (0,), "fees": ("1.5",)}
    v.update(values or {})
    return [
        "二、主动公开政府信息情况",
        "第二十条第(一)项\t\t\t", "信息内容\t本年制发件数\t本年废止件数\t现行有效件数",
        "规章\t" + "\t".join(map(str, v["rules"])),
        "行政规范性文件\t" + "\t".join(map(str, v["normative_docs"])),
        "第二十条第(五)项\t\t\t", "信息内容\t本年处理决定数量\t\t", f"行政许可\t{v['licensing'][0]}\t\t",
        "第二十条第(六)项\t\t\t", "信息内容\t本年处理决定数量\t\t",
        f"行政处罚\t{v['penalty'][0]}\t\t", f"行政强制\t{v['enforcement'][0]}\t\t",
        "第二十条第(八)项\t\t\t", "信息内容\t本年收费金额(单位:万元)\t\t", f"行政事业性收费\t{v['fees'][0]}\t\t",
    ]


def t3_rows_values(template="2021"):
    """A consistent table 3: 5 requests by natural persons, 1 by a company."""
    rows = {r.id: [0] * 7 for r in codebook.template(template).tables["t3"].rows}
    rows["new_received"] = [5, 1, 0, 0, 0, 0, 6]
    rows["granted"] = [2, 1, 0, 0, 0, 0, 3]
    rows["unable_not_held"] = [2, 0, 0, 0, 0, 0, 2]
    rows["results_total"] = [4, 1, 0, 0, 0, 0, 5]
    rows["carried_forward"] = [1, 0, 0, 0, 0, 0, 1]
    return rows


def t3_grid_lines(template="2021", rows=None, blank_zeros=False):
    rows = rows or t3_rows_values(template)
    out = list(T3_HEAD_2021)
    for r in codebook.template(template).tables["t3"].rows:
        vals = ["" if (blank_zeros and x == 0) else str(x) for x in rows[r.id]]
        out.append("\t".join(t3_label_cells(r) + vals))
    return out


T4_LINES = [
    "四、政府信息公开行政复议、行政诉讼情况",
    "行政复议\t\t\t\t\t行政诉讼\t\t\t\t\t\t\t\t\t",
    "结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t未经复议直接起诉\t\t\t\t\t复议后起诉\t\t\t\t",
    "\t\t\t\t\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计",
    "1\t0\t1\t0\t2\t0\t0\t0\t1\t1\t0\t0\t0\t0\t0",
    "五、存在的主要问题及改进情况",
    "无。",
]


def doc(lines, fmt="html", **kw) -> Extracted:
    return Extracted(format=fmt, text="\n".join(lines), **kw)


def expected_t3(template="2021", rows=None):
    rows = rows or t3_rows_values(template)
    cols = [c.id for c in codebook.template(template).tables["t3"].columns]
    return {f"t3.{r}.{c}": v for r, vals in rows.items() for c, v in zip(cols, vals)}


# ---------------------------------------------------------------------------------------------


def test_full_2021_grid():
    found = tables.parse_tables(doc(["一、总体情况", "本年度收到申请6件。"] + t2_2021_lines()
                                    + t3_grid_lines() + T4_LINES))
    assert found.template == "2021"
    assert found.tables == {"t2": True, "t3": True, "t4": True}
    assert set(found.cells) == set(codebook.all_cell_ids("2021"))
    assert found.cells["t2.normative_docs.in_force"] == 20
    assert found.cells["t2.fees.amount_wan"] == 1.5
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k
    assert found.cells["t4.reconsideration.total"] == 2
    assert found.cells["t4.litigation_direct.total"] == 1
    assert checks.failed_checks(found.template, found.tables, found.cells) == []


def test_blank_cells_in_a_present_table_are_zero():
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines(blank_zeros=True) + T4_LINES))
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k


def test_missing_tables_are_absent_not_zero():
    text = ["二、主动公开政府信息情况", "", "三、收到和处理政府信息公开申请情况", "",
            "四、政府信息公开行政复议、行政诉讼情况", "", "五、存在的主要问题及改进情况", "无"]
    found = tables.parse_tables(doc(text, images_only_tables=True))
    assert found.tables == {"t2": False, "t3": False, "t4": False}
    assert found.cells == {}
    assert found.template is None
    assert any(p.kind == "tables_as_images" for p in found.problems)


def test_prose_with_template_words_is_not_a_table():
    text = ["一、概述", "全年共受理政府信息公开申请5件,行政许可事项办理顺利,无政府集中采购。",
            "本年度无因政府信息公开申请提起的行政复议、行政诉讼。"]
    found = tables.parse_tables(doc(text, fmt="txt"))
    assert found.cells == {} and found.template is None


def test_headers_beat_the_year():
    # a report on 2022 filled in the 2019 format
    lines = ["2022年政府信息公开工作年度报告", "二、主动公开政府信息情况",
             "第二十条第(一)项\t\t\t", "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量",
             "规章\t0\t0\t0", "规范性文件\t2\t2\t30",
             "第二十条第(五)项\t\t\t", "信息内容\t上一年项目数量\t本年增/减\t处理决定数量",
             "行政许可\t10\t+2\t5", "其他对外管理服务事项\t3\t-1\t0"]
    found = tables.parse_tables(doc(lines))
    assert found.template == "2019"
    assert found.cells["t2.licensing.change"] == 2
    assert found.cells["t2.other_services.change"] == -1
    assert found.cells["t2.normative_docs.total_public"] == 30


def test_merged_value_cells_repeat_over_their_span():
    lines = ["二、主动公开政府信息情况",
             "第二十条第(一)项\t第二十条第(一)项\t第二十条第(一)项\t第二十条第(一)项\t第二十条第(一)项",
             "信息内容\t本年新 制作数量\t本年新 公开数量\t本年新 公开数量\t对外公开总数量",
             "规章\t13\t13\t13\t524", "规范性文件\t60\t60\t60\t368",
             "第二十条第(九)项\t第二十条第(九)项\t第二十条第(九)项\t第二十条第(九)项\t第二十条第(九)项",
             "信息内容\t采购项目数量\t采购项目数量\t采购总金额\t采购总金额",
             "政府集中采购\t6\t6\t251000元\t251000元"]
    found = tables.parse_tables(doc(lines))
    assert found.template == "2019"
    assert [found.cells[f"t2.rules.{c}"] for c in ("made", "published", "total_public")] == [13, 13, 524]
    assert found.cells["t2.procurement.projects"] == 6
    assert abs(found.cells["t2.procurement.amount_wan"] - 25.1) < 1e-9


def test_traditional_variant_label_after_conversion():
    # a wiki-style mirror turned 文件 into 檔案; extraction converted it to 档案
    lines = ["二、主动公开政府信息情况", "第二十条第(一)项", "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量",
             "规章\t0\t0\t0", "规范性档案\t4\t4\t9"]
    found = tables.parse_tables(doc(lines))
    assert found.cells["t2.normative_docs.total_public"] == 9


def test_mirror_with_taiwanese_vocabulary_reads_every_cell():
    # 信息 -> 資訊, 文件 -> 檔案 in every heading and label: the labels' Taiwanese readings match
    import opencc
    from parsers.api import parse_bytes

    simplified = "\n".join(["某县人民政府2023年政府信息公开工作年度报告", "一、总体情况", "本年度收到申请6件。"]
                           + t2_2021_lines() + t3_grid_lines() + T4_LINES)
    mirror = opencc.OpenCC("s2twp").convert(simplified)
    assert "行政規範性檔案" in mirror and "政府資訊公開申請" in mirror
    record = parse_bytes(mirror.encode("utf-8"), filename="mirror.txt")
    assert record["script"] == "traditional"
    assert record["tables"] == {"t2": True, "t3": True, "t4": True}
    assert set(record["cells"]) == set(codebook.all_cell_ids("2021"))
    assert record["cells"]["t2.normative_docs.in_force"] == 20
    assert record["cells"]["t3.unable_not_held.natural_person"] == 2
    assert record["checks_failed"] == []


def test_pipe_separated_rows_as_web_readers_flatten_them():
    from parsers.api import parse_bytes

    text = "\n".join(["二、主动公开政府信息情况", "第二十条第(一)项 | ||||",
                      "信息内容 | 本年新制作数量 | 本年新公开数量 | 对外公开总数量 | |",
                      "规章 | 2 | 2 | 3 | |", "规范性文件 | 11 | 11 | 119 | |",
                      "第二十条第(五)项 | ||||", "信息内容 | 上一年项目数量 | 本年增/减 | 处理决定数量 | |",
                      "行政许可 | 40 | -2 | 155 | |", "三、收到和处理政府信息公开申请情况"])
    cells = parse_bytes(text.encode(), filename="x.txt")["cells"]
    assert [cells[f"t2.normative_docs.{c}"] for c in ("made", "published", "total_public")] == [11, 11, 119]
    assert [cells[f"t2.licensing.{c}"] for c in ("prev_count", "change", "decisions")] == [40, -2, 155]


def test_pipe_terminated_cells_one_per_line_with_empty_cells():
    from parsers.api import parse_bytes

    lines = ["二、主动公开政府信息情况", "|", "第二十条第(一)项 | |||", "|", "信息内容 |", "本年制发件数 |",
             "本年废止件数 |", "现行有效件数 |", "|", "规章 |", "0 |", "0 |", "|", "|", "行政规范性文件 |",
             "5 |", "12 |", "8 |", "|", "第二十条第(五)项 | |||", "|", "信息内容 |", "本年处理决定数量 | ||",
             "|", "行政许可 |", "46209 | ||", "|", "三、收到和处理政府信息公开申请情况"]
    cells = parse_bytes("\n".join(lines).encode(), filename="x.txt")["cells"]
    assert [cells[f"t2.rules.{c}"] for c in ("issued", "repealed", "in_force")] == [0, 0, 0]   # blank = 0
    assert [cells[f"t2.normative_docs.{c}"] for c in ("issued", "repealed", "in_force")] == [5, 12, 8]
    assert cells["t2.licensing.decisions"] == 46209


def test_one_cell_per_line_with_split_labels():
    lines = ["二、主动公开政府信息情况", "", "\t第二十条第（一）项", "", "\t信息内容", "\t本年新制作数量",
             "\t本年新公开数量", "\t对外公开总数量", "", "\t规章", "", "（市政府令）", "\t0", "\t0", "\t0", "",
             "\t规范性文件", "", "（有规范性文件登记号）", "\t1", "\t1", "\t1", ""]
    rows = t3_rows_values("2019")
    lines += ["三、收到和处理政府信息公开申请情况", "\t（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
              "\t申请人情况", "", "\t", "\t自然人", "\t法人或其他组织", "\t总计", ""]
    for r in codebook.template("2019").tables["t3"].rows:
        if r.group and r.group != "三、本年度办理结果":
            lines += ["\t", "\t" + r.group] if r.label.startswith("1.") else ["\t", "\t"]
        lines.append("\t" + r.label)
        lines += ["\t" + str(x) + "\u00a0" for x in rows[r.id]]
        lines.append("")
    lines += ["四、政府信息公开行政复议、行政诉讼情况", "", "\t行政复议", "\t行政诉讼", "", "\t结果维持", "\t总计", ""]
    lines += ["\t" + x for x in "0 0 0 0 0 1 0 0 0 1 0 0 0 0 0".split()]
    lines += ["", "五、存在的主要问题及改进情况"]
    found = tables.parse_tables(doc(lines, fmt="txt"))
    assert found.template == "2019"
    assert found.cells["t2.normative_docs.made"] == 1
    for k, v in expected_t3("2019").items():
        assert found.cells[k] == v, k
    assert found.cells["t4.litigation_direct.upheld"] == 1
    assert found.cells["t4.litigation_direct.total"] == 1


def test_pdf_text_shifted_rows_stray_cell_and_surplus_t4_cell():
    rows = t3_rows_values("2021")
    lines = t2_2021_lines() + T3_HEAD_2021
    for i, r in enumerate(codebook.template("2021").tables["t3"].rows):
        vals = "\t".join(map(str, rows[r.id]))
        if r.id == "rejected_publication":
            lines += ["", f"\t理\t{r.label}\t{vals}"]           # page break, tail of a merged cell
        elif i % 3 == 0:
            lines.append(f"{r.label}\t\t{vals}\t")               # shifted left, trailing cell
        else:
            lines.append(f"\t\t{r.label}\t{vals}")
    lines += T4_LINES[:4] + ["1\t0\t1\t0\t2\t0\t0\t0\t1\t1\t0\t0\t0\t0\t0\t0"] + T4_LINES[5:]
    found = tables.parse_tables(doc(lines, fmt="txt"))
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k
    assert found.cells["t4.litigation_after.total"] == 0
    assert found.cells["t4.litigation_direct.pending"] == 1


def test_sub_rows_resolved_by_group_number_and_text():
    rows = t3_rows_values("2021")
    rows["rejected_duplicate"] = [1, 0, 0, 0, 0, 0, 1]       # （五）2.
    rows["denied_prohibited"] = [0, 0, 0, 0, 0, 0, 0]        # （三）2.
    rows["granted"] = [1, 1, 0, 0, 0, 0, 2]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines(rows=rows) + T4_LINES))
    assert found.cells["t3.rejected_duplicate.natural_person"] == 1
    assert found.cells["t3.denied_prohibited.natural_person"] == 0
    assert found.cells["t3.unable_needs_creation.natural_person"] == 0


def test_cells_run_together_resolved_by_identities():
    rows = t3_rows_values("2021")
    parts = ["二、主动公开政府信息情况第二十条第(一)项信息内容本年制发件数本年废止件数现行有效件数规章000"
             "行政规范性文件000第二十条第(五)项信息内容本年处理决定数量行政许可2293"
             "三、收到和处理政府信息公开申请情况申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"]
    for r in codebook.template("2021").tables["t3"].rows:
        parts.append(r.label + "".join(map(str, rows[r.id])))
    parts.append("四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计"
                 "未经复议直接起诉复议后起诉结果维持结果纠正其他结果尚未审结总计10203120001200000五、存在的主要问题及改进情况")
    found = tables.parse_tables(doc(["".join(parts)], fmt="txt"))
    assert found.cells["t2.rules.issued"] == 0
    assert found.cells["t2.licensing.decisions"] == 2293
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k
    assert [found.cells[f"t4.reconsideration.{c}"] for c in ("upheld", "corrected", "other", "pending", "total")] \
        == [1, 0, 2, 0, 3]
    assert found.cells["t4.litigation_direct.upheld"] == 12


def test_one_digit_per_cell_is_kept_as_printed_even_when_it_does_not_add_up():
    # table 4 printed as fifteen digits, the source's own error included (1 upheld, total 0)
    text = ("四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计未经复议直接起诉"
            "复议后起诉结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计100000000000000"
            "五、存在的主要问题及改进情况")
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + [text], fmt="txt"))
    assert found.cells["t4.reconsideration.upheld"] == 1 and found.cells["t4.reconsideration.total"] == 0
    assert "t4.block_total.reconsideration" in checks.failed_checks(found.template, found.tables, found.cells)


def test_rows_a_table_lacks_are_named_not_lost_silently():
    lines = [ln for ln in t3_grid_lines() if "要求提供公开出版物" not in ln]
    found = tables.parse_tables(doc(t2_2021_lines() + lines + T4_LINES))
    assert "t3.rejected_publication.total" not in found.cells
    assert any(p.kind == "rows_not_found" and "rejected_publication" in p.message for p in found.problems)
    complete = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + T4_LINES))
    assert not [p for p in complete.problems if p.kind == "rows_not_found"]


def test_ambiguous_run_together_row_is_left_unread():
    lines = t2_2021_lines()
    lines[4] = "行政规范性文件21030"                  # 2|10|30 or 21|0|30: both plausible, no identity
    found = tables.parse_tables(doc(lines, fmt="txt"))
    assert "t2.normative_docs.issued" not in found.cells
    assert found.cells["t2.licensing.decisions"] == 15
    assert any(p.kind == "cells_run_together" and "left unread" in p.message for p in found.problems)
    # 1|1|29, 1|12|9 or 11|2|9 (fewer in force than issued happens): no reading stands out
    ids = [f"t2.normative_docs.{c}" for c in ("issued", "repealed", "in_force")]
    assert tables._stock_flow_reading(ids, tables.split_blob("1129", 3)) is None


def test_run_together_stock_and_flow_read_by_plausibility_and_flagged():
    lines = t2_2021_lines()
    lines[4] = "行政规范性文件693665"     # 6|93|665 needs 130 years of issuance in force; 6|936|65 a 94% wipe-out
    found = tables.parse_tables(doc(lines, fmt="txt"))
    assert [found.cells[f"t2.normative_docs.{c}"] for c in ("issued", "repealed", "in_force")] == [69, 3, 665]
    assert any(p.kind == "cells_run_together" and "check the source" in p.message for p in found.problems)


def test_run_together_row_follows_the_figure_the_text_states():
    prose = ["一、总体情况", "全年制发行政规范性文件771件，清理后现行有效的规范性文件2400件。"]
    lines = t2_2021_lines()
    lines[4] = "行政规范性文件77132470"   # 77|132|470 is the likelier shape, but the text says 771 were issued
    found = tables.parse_tables(doc(prose + lines, fmt="txt"))
    assert [found.cells[f"t2.normative_docs.{c}"] for c in ("issued", "repealed", "in_force")] == [771, 3, 2470]
    # prose alone never writes a cell: a row printed with separators keeps its printed values
    found = tables.parse_tables(doc(prose + t2_2021_lines(), fmt="txt"))
    assert found.cells["t2.normative_docs.issued"] == 3


def test_split_blob_respects_spaces_and_leading_zeros():
    assert tables.split_blob("000", 3) == [[0, 0, 0]]
    assert [23, 0, 0, 0, 0, 0, 23] in tables.split_blob("230 000023", 7)
    assert all(len(c) == 7 for c in tables.split_blob("230 000023", 7))
    assert tables.split_blob("05", 1) == []


def test_t3_split_over_two_tables_with_repeated_header():
    lines = t2_2021_lines() + t3_grid_lines()
    cut = next(i for i, ln in enumerate(lines) if "3.要求提供公开出版物" in ln)
    lines[cut:cut] = ["", "\t\t\t自然人\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t总计"]
    found = tables.parse_tables(doc(lines + T4_LINES))
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k


def test_subtotal_column_is_skipped_by_header_position():
    lines = t2_2021_lines() + [
        "三、收到和处理政府信息公开申请情况",
        "\t\t\t自然人\t法人或其他组织\t\t\t\t\t\t总计",
        "\t\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t小计\t"]
    rows = t3_rows_values("2021")
    for r in codebook.template("2021").tables["t3"].rows:
        v = rows[r.id]
        lines.append("\t".join(t3_label_cells(r) + list(map(str, v[:6])) + [str(sum(v[1:6]))] + [str(v[6])]))
    found = tables.parse_tables(doc(lines + T4_LINES))
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k


def test_t4_blank_template_is_zeros_and_block_rows_layout():
    blank = T4_LINES[:4] + ["\t" * 14] + T4_LINES[5:]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + blank))
    assert found.tables["t4"] and all(found.cells[c] == 0 for c in codebook.cell_ids("2021", "t4"))
    per_block = ["四、政府信息公开行政复议、行政诉讼情况", "\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计",
                 "行政复议\t1\t0\t0\t0\t1", "未经复议直接起诉\t0\t0\t0\t2\t2", "复议后起诉\t0\t0\t0\t0\t0",
                 "五、存在的主要问题及改进情况"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + per_block))
    assert found.cells["t4.reconsideration.upheld"] == 1
    assert found.cells["t4.litigation_direct.pending"] == 2
    assert found.cells["t4.litigation_after.total"] == 0


def test_ocr_rows_that_do_not_add_up_are_left_out():
    rows = t3_rows_values("2021")
    lines = t2_2021_lines() + t3_grid_lines(rows=rows) + T4_LINES
    i = next(k for k, ln in enumerate(lines) if ln.startswith("一、本年新收"))
    lines[i] = lines[i].replace("\t5\t1\t", "\t8\t1\t")                 # OCR read 5 as 8
    found = tables.parse_tables(doc(lines, fmt="pdf", ocr=True))
    assert "t3.new_received.natural_person" not in found.cells
    assert found.cells["t3.granted.total"] == 3
    assert any(p.kind == "ocr_doubtful" for p in found.problems)


def test_ocr_label_with_a_misread_character_is_still_found():
    lines = t2_2021_lines() + t3_grid_lines() + T4_LINES
    i = next(k for k, ln in enumerate(lines) if ln.startswith("四、结转下年度继续办理"))
    lines[i] = lines[i].replace("结转", "结续")
    found = tables.parse_tables(doc(lines, fmt="pdf", ocr=True))
    assert found.cells["t3.carried_forward.natural_person"] == 1


def _with_label(lines, old, new):
    i = next(k for k, ln in enumerate(lines) if old in ln)
    lines[i] = lines[i].replace(old, new)
    return lines


def test_a_label_printed_with_characters_missing_is_its_row_between_its_neighbours():
    """A real report printed 2.其他法律行政止公开 (法规禁 missing): between 1.属于国家秘密 and
    3.危及“三安全一稳定” it is row 2, read and noted; in any format, not only OCR."""
    lines = _with_label(t2_2021_lines() + t3_grid_lines() + T4_LINES, "2.其他法律行政法规禁止公开", "2.其他法律行政止公开")
    found = tables.parse_tables(doc(lines))
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k
    assert any(p.kind == "label_misprinted" and "denied_prohibited" in p.message for p in found.problems)
    # one wrong character, a short label only with its numbering
    lines = _with_label(t2_2021_lines() + t3_grid_lines() + T4_LINES, "本机关不掌握相关政府信息", "本机关不掌捏相关政府信息")
    lines = _with_label(lines, "（一）予以公开", "（一）予公开")
    found = tables.parse_tables(doc(lines))
    assert {k: found.cells.get(k) for k in expected_t3()} == expected_t3()


def test_a_near_label_is_never_taken_from_the_wrong_place():
    """Two equally close readings with another row's values between them, or a near label
    outside the gap its neighbours leave: left unread, never guessed."""
    lines = t2_2021_lines() + t3_grid_lines() + T4_LINES
    i = next(k for k, ln in enumerate(lines) if "2.其他法律行政法规禁止公开" in ln)
    del lines[i]                                   # the row is not printed at all...
    lines.insert(2, "第二十条说明:其他法律行政法规禁公开的事项另行说明。")   # ...but prose far away is close
    found = tables.parse_tables(doc(lines))
    assert not any(k.startswith("t3.denied_prohibited.") for k in found.cells)
    assert not any(p.kind == "label_misprinted" for p in found.problems)


def test_one_cell_per_line_with_blank_cells_in_place():
    grid = t2_2021_lines() + t3_grid_lines(blank_zeros=True) + T4_LINES[:4] + [
        "1\t\t1\t\t2\t\t\t\t\t\t\t\t\t\t"] + T4_LINES[5:]
    lines = []
    for ln in grid:
        lines += ["\t" + c for c in ln.split("\t")] + [""]
    found = tables.parse_tables(doc(lines, fmt="txt"))
    for k, v in expected_t3().items():
        assert found.cells[k] == v, k
    assert [found.cells[f"t4.reconsideration.{c}"] for c in ("upheld", "corrected", "other", "pending", "total")] \
        == [1, 0, 1, 0, 2]
    assert found.cells["t4.litigation_after.total"] == 0


def test_2019_run_together_rows_repeat_and_unchanged_priors():
    text = ("二、主动公开政府信息情况第二十条第(一)项信息内容本年新制作数量本年新公开数量对外公开总数量规章000"
            "规范性文件898989第二十条第(五)项信息内容上一年项目数量本年增/减处理决定数量行政许可3960181"
            "其他对外管理服务事项100153第二十条第(九)项信息内容采购项目数量采购总金额政府集中采购13575394432.52元"
            "三、收到和处理政府信息公开申请情况")
    found = tables.parse_tables(doc([text], fmt="txt"))
    assert found.template == "2019"
    assert [found.cells[f"t2.normative_docs.{c}"] for c in ("made", "published", "total_public")] == [89, 89, 89]
    assert [found.cells[f"t2.licensing.{c}"] for c in ("prev_count", "change", "decisions")] == [396, 0, 181]
    assert found.cells["t2.other_services.prev_count"] == 10
    assert "t2.procurement.projects" not in found.cells            # 135|75394432.52? left unread


def test_2019_run_together_signed_change_and_stock_rows():
    text = ("二、主动公开政府信息情况第二十条第(一)项信息内容本年新制作数量本年新公开数量对外公开总数量规章007"
            "规范性文件7777166第二十条第(六)项信息内容上一年项目数量本年增/减处理决定数量行政处罚2648-18538"
            "第二十条第(八)项信息内容上一年项目数量本年增/减行政事业性收费35-15"
            "三、收到和处理政府信息公开申请情况")
    found = tables.parse_tables(doc([text], fmt="txt"))
    # made = published, and a total of a few years' output: 77|77|166, not 7|7|77166
    assert [found.cells[f"t2.normative_docs.{c}"] for c in ("made", "published", "total_public")] == [77, 77, 166]
    assert [found.cells[f"t2.fees.{c}"] for c in ("prev_count", "change")] == [35, -15]   # the minus cuts
    assert "t2.penalty.prev_count" not in found.cells          # -18|538 or -185|38: left unread
    assert any("2648-18538" in p.message for p in found.problems)


def test_run_together_rows_a_stray_figure_or_a_dash_cannot_force():
    lines = t2_2021_lines()
    lines[4] = "行政规范性文件693665"
    for prose in ("上年制发行政规范性文件6件。", "全年废止行政规范性文件36件。"):
        found = tables.parse_tables(doc(["一、总体情况", prose] + lines, fmt="txt"))
        assert found.cells.get("t2.normative_docs.issued") in (69, None)   # never 6|936|65 or 69|36|65
    lines[4] = "行政规范性文件" + "9" * 320                               # no overflow, no lost record
    found = tables.parse_tables(doc(lines, fmt="txt"))
    assert "t2.normative_docs.issued" not in found.cells and found.cells["t2.licensing.decisions"] == 15
    text = ("二、主动公开政府信息情况第二十条第(五)项信息内容上一年项目数量本年增/减处理决定数量行政许可40-15"
            "三、收到和处理政府信息公开申请情况")
    found = tables.parse_tables(doc([text], fmt="txt"))
    assert "t2.licensing.change" not in found.cells          # 40 | -1 | 5 or 40 | – | 15


def test_t4_vertical_headers_and_values_separated_by_spaces():
    # PDF text layer: headers one character per line, the fifteen values on one spaced line
    lines = ["四、政府信息公开行政复议、行政诉讼情况", "2020 年,未出现申请行政复议、提起行政诉讼的情况。",
             "行政复议 行政诉讼", "未经复议直接起诉 复议后起诉", "结 结 其 尚", "结 结 其 尚 结 结 其 尚",
             "果 果 他 未", "总计 果 果 他 未 总 果 果 他 未 总", "维 纠 结 审", "维 纠 结 审 计 维 纠 结 审 计",
             "持 正 果 结", "持 正 果 结 持 正 果 结", "1 0 0 0 1 0 0 0 0 0 0 2 0 0 2", "五、存在的主要问题及改进情况"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + lines, fmt="pdf"))
    assert found.cells["t4.reconsideration.upheld"] == 1
    assert found.cells["t4.litigation_after.corrected"] == 2
    assert found.cells["t4.litigation_after.total"] == 2
    # a flattened web table: sixteen spaced values, the last a surplus extractor cell
    spaced = lines[:2] + ["结果维持 结果纠正 其他结果 尚未审结 总计 未经复议直接起诉 复议后起诉",
                          "0 1 0 0 1 0 0 0 0 0 0 0 0 0 0 0", "五、存在的主要问题及改进情况"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + spaced, fmt="html"))
    assert found.cells["t4.reconsideration.corrected"] == 1 and found.cells["t4.litigation_after.total"] == 0
    assert not found.problems


def test_t4_vertical_headers_split_per_character_position_wins():
    vertical = ["四、政府信息公开行政复议、行政诉讼情况", "行政复议\t行政诉讼",
                "结\t结\t其\t尚\t总", "果\t果\t他\t未\t计", "维\t纠\t结\t审", "持\t正\t果\t结",
                "0\t1\t0\t0\t1\t0\t0\t0\t0\t0\t2\t0\t0\t0\t2", "五、存在的主要问题及改进情况"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + vertical, fmt="pdf"))
    assert found.cells["t4.reconsideration.corrected"] == 1
    assert found.cells["t4.litigation_after.upheld"] == 2
    assert checks.failed_checks(found.template, found.tables, found.cells) == []


def test_blank_row_before_a_repeated_group_cell_keeps_its_own_cells():
    # Table 3 rows as the 2019 Shanghai PDF's table finder gives them: the first label column
    # blank, the group cell (五)/(六) repeated on each row, rows 3-5 of (五) and (六) all blank.
    # The bracketed numeral that starts the next row is no annotation of the blank row's label
    # (it made 5.要求行政机关确认… read nothing, and 4.无正当理由… read the next row's cells).
    body = """一、本年新收政府信息公开申请数量\t一、本年新收政府信息公开申请数量\t一、本年新收政府信息公开申请数量\t821\t35\t\t\t2\t1\t859
二、上年结转政府信息公开申请数量\t二、上年结转政府信息公开申请数量\t二、上年结转政府信息公开申请数量\t18\t\t\t\t\t\t18
\t(一)予以公开\t(一)予以公开\t258\t12\t\t\t1\t1\t
\t(二)部分公开(区分处理的,只计这一情形,不计其他情形)\t(二)部分公开(区分处理的,只计这一情形,不计其他情形)\t3\t\t\t\t\t\t
\t\t1.属于国家秘密\t14\t\t\t\t\t\t
\t\t2.其他法律行政法规禁止公开\t\t\t\t\t\t\t
\t\t3.危及“三安全一稳定”\t\t\t\t\t\t\t
\t\t4.保护第三方合法权益\t\t\t\t\t\t\t
\t\t5.属于三类内部事务信息\t5\t\t\t\t\t\t
\t\t6.属于四类过程性信息\t3\t1\t\t\t\t\t
\t\t7.属于行政执法案卷\t\t\t\t\t\t\t
\t\t8.属于行政查询事项\t10\t2\t\t\t\t\t
\t(四)无法提供\t1.本机关不掌握相关政府信息\t252\t12\t\t\t1\t\t
\t(四)无法提供\t2.没有现成信息需要另行制作\t44\t3\t\t\t\t\t
\t(四)无法提供\t3.补正后申请内容仍不明确\t25\t\t\t\t\t\t
\t(五)不予处理\t1.信访举报投诉类申请\t148\t1\t\t\t\t\t
\t(五)不予处理\t2.重复申请\t5\t4\t\t\t\t\t
\t(五)不予处理\t3.要求提供公开出版物\t\t\t\t\t\t\t
\t(五)不予处理\t4.无正当理由大量反复申请\t\t\t\t\t\t\t
\t(五)不予处理\t5.要求行政机关确认或重新出具已获取信息\t\t\t\t\t\t\t
\t(六)其他处理\t(六)其他处理\t\t\t\t\t\t\t
\t(七)总计\t(七)总计\t767\t35\t\t\t2\t1\t805
四、结转下年度继续办理\t四、结转下年度继续办理\t四、结转下年度继续办理\t72\t\t\t\t\t\t72""".split("\n")
    t2 = ["二、主动公开政府信息情况", "第二十条第(一)项\t\t\t", "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量",
          "规章\t13\t13\t524", "规范性文件\t60\t60\t368"]
    found = tables.parse_tables(doc(t2 + T3_HEAD_2021 + body + T4_LINES, fmt="pdf"))
    assert found.template == "2019"
    assert not [p for p in found.problems if p.kind == "cell_unreadable"], found.problems
    for rid in ("rejected_publication", "rejected_mass_repeat", "rejected_confirm", "other"):
        assert [found.cells[f"t3.{rid}.{c.id}"] for c in codebook.template(found.template).tables["t3"].columns] \
            == [0] * 7, rid                                 # printed blank: 0 by the contract
    assert found.cells["t3.rejected_duplicate.commercial"] == 4
    assert found.cells["t3.results_total.total"] == 805
    assert found.cells["t3.results_total.natural_person"] == 767
    # a bracketed annotation after a label is still swallowed
    assert tables._extend_annotation("规章(市政府令)13", 2) == len("规章(市政府令)")
    assert tables._extend_annotation("信息(六)其他处理", 4) == 4


# Table 2 of a 2019-format report as the portal's plain-text copy prints it (平潭 2020): every
# cell run together. The published cells (from the page's HTML) are 0|0|7, 77|77|166, 396|442|278,
# 10|7|105, 2648|-18|538, 126|26|29, 35|-15 and 395|73802895.90元.
T2_2019_RUN_TOGETHER = (
    "二、主动公开政府信息情况 第二十条第（一）项信息内容本年新制作数量本年新公开数量对外公开总数量规章007规范性文件7777166"
    "第二十条第（五）项信息内容上一年项目数量本年增/减处理决定数量行政许可396442278其他对外管理服务事项107105"
    "第二十条第（六）项信息内容上一年项目数量本年增/减处理决定数量行政处罚2648-18538行政强制1262629"
    "第二十条第（八）项信息内容上一年项目数量本年增/减行政事业性收费35-15"
    "第二十条第（九）项信息内容采购项目数量采购总金额政府集中采购39573802895.90元"
    "三、收到和处理政府信息公开申请情况")


def test_2019_items_rows_run_together_stay_unread_with_their_reason():
    found = tables.parse_tables(doc([T2_2019_RUN_TOGETHER], fmt="txt"))
    assert found.template == "2019"
    # nothing but the digits marks the cuts, and no identity ties these columns: 396442278 is
    # 396|442|278 as published, yet 396|4|42278 or 3964|4|2278 fit as well (and a prior for a
    # small 本年增/减 would pick one of those: the published change exceeds the previous count)
    for row in ("licensing", "other_services", "penalty", "enforcement"):
        assert not any(k.startswith(f"t2.{row}.") for k in found.cells), row
        assert any(p.kind == "cells_run_together" and p.message.startswith(f"t2.{row}:") and "left unread" in p.message
                   for p in found.problems), row
    # a count and an amount: the decimals end the amount, nothing marks where the count ends
    assert "t2.procurement.projects" not in found.cells and "t2.procurement.amount_wan" not in found.cells
    assert any(p.kind == "cells_run_together" and "39573802895.90元" in p.message and "left unread" in p.message
               for p in found.problems)
    # what one reading alone fits is read: the printed minus cuts 35-15
    assert [found.cells[f"t2.fees.{c}"] for c in ("prev_count", "change")] == [35, -15]
    assert all(found.cells.get(k) == v for k, v in {"t2.rules.total_public": 7, "t2.normative_docs.made": 77,
                                                   "t2.normative_docs.total_public": 166}.items())


def test_procurement_count_and_amount_in_one_cell_read_only_when_one_cut_exists():
    def procurement(cell):
        text = T2_2019_RUN_TOGETHER.replace("39573802895.90元", cell)
        found = tables.parse_tables(doc([text], fmt="txt"))
        return found.cells.get("t2.procurement.projects"), found.cells.get("t2.procurement.amount_wan")
    assert procurement("13575394432.52元") == (None, None)      # 135|75394432.52元 published; 1357|5394432.52元 fits
    assert procurement("10万元") == (None, None)                # 1|0万元, or the count left blank
    assert procurement("7") == (None, None)                     # the count alone, or the amount alone
    assert procurement("0.00元") == (0, 0.0)                    # the count printed blank: 0
    assert procurement("05.5万元") == (0, 5.5)                  # no number starts with 0: 0|5.5万元


def _hybrid_lines(other_lines):
    """2021 tables whose （六） group is printed as `other_lines` instead of its three sub-rows."""
    rows = t3_rows_values("2021")
    rows["results_total"] = [5, 1, 0, 0, 0, 0, 6]
    rows["carried_forward"] = [0, 0, 0, 0, 0, 0, 0]
    out, done = [], False
    for ln in t3_grid_lines("2021", rows):
        if "（六）其他处理" in ln:
            if not done:
                out.extend(other_lines)
                done = True
            continue
        out.append(ln)
    return t2_2021_lines() + out + T4_LINES


def test_hybrid_2021_tables_with_the_2019_single_other_row_give_the_cells_they_print():
    """A 2021-format report printing （六）其他处理 as one row (2019's): that row under its own id,
    no invented sub-rows, and the identities hold with it standing for the group."""
    found = tables.parse_tables(doc(_hybrid_lines(["三、本年度办理结果\t（六）其他处理\t（六）其他处理\t1\t0\t0\t0\t0\t0\t1"])))
    assert found.template == "2021"
    cols = [c.id for c in codebook.template("2021").tables["t3"].columns]
    assert {c: found.cells[f"t3.other.{c}"] for c in cols} == dict(zip(cols, [1, 0, 0, 0, 0, 0, 1]))
    assert not any(k.startswith("t3.other_") for k in found.cells)
    assert found.cells["t3.granted.total"] == 3 and found.cells["t3.results_total.total"] == 6
    assert checks.failed_checks(found.template, found.tables, found.cells) == []
    assert any(p.kind == "rows_collapsed" for p in found.problems)
    assert not any(p.kind == "rows_not_found" for p in found.problems)


def test_a_group_label_over_several_rows_of_values_is_not_a_single_row():
    """（六）其他处理 followed by three rows of values whose labels were lost: not read as one row."""
    found = tables.parse_tables(doc(_hybrid_lines([
        "三、本年度办理结果\t（六）其他处理\t\t1\t0\t0\t0\t0\t0\t1",
        "\t\t\t0\t0\t0\t0\t0\t0\t0", "\t\t\t0\t0\t0\t0\t0\t0\t0"])))
    assert not any(k.startswith("t3.other") for k in found.cells)


def test_pdf_text_of_a_borderless_table_with_labels_wrapped_around_their_values():
    """A table without ruling lines reaches us as the PDF's text lines: a long label's cell wraps,
    and its values sit on the middle line ((二)部分公开(区分处理的,只计这 / 29 0 … / 一情形,…),
    5.要求行政机关确认或重新 / 0 0 … / 出具已获取信息). Read as a reader does: label, values, rest."""
    rows = t3_rows_values("2021")
    rows["partial"] = [2, 0, 0, 0, 0, 0, 2]
    rows["rejected_confirm"] = [1, 0, 0, 0, 0, 0, 1]
    rows["results_total"] = [7, 1, 0, 0, 0, 0, 8]
    rows["new_received"] = [7, 1, 0, 0, 0, 0, 8]
    rows["carried_forward"] = [0, 0, 0, 0, 0, 0, 0]
    lines = ["三、收到和处理政府信息公开申请情况", "申请人情况", "自然人 商业企业 科研机构 社会公益组织 法律服务机构 其他 总计"]
    for r in codebook.template("2021").tables["t3"].rows:
        vals = " ".join(map(str, rows[r.id]))
        if r.id == "partial":
            lines += ["(二)部分公开(区分处理的,只计这", vals, "一情形,不计其他情形)"]
        elif r.id == "rejected_confirm":
            lines += ["5.要求行政机关确认或重新", vals, "出具已获取信息"]
        else:
            lines.append(f"{r.label} {vals}")
    found = tables.parse_tables(doc(t2_2021_lines() + lines + T4_LINES, fmt="pdf"))
    assert {k: found.cells.get(k) for k in expected_t3(rows=rows)} == expected_t3(rows=rows)
    assert checks.failed_checks(found.template, found.tables, found.cells) == []


def test_t4_grid_row_short_of_a_column_is_not_read_shifted():
    """A PDF table 4 whose first column fell off the page: 14 cells in the grid row, the header
    line before it ending in a blank cell. Not fifteen cells in their places: never read shifted."""
    t4 = ["四、政府信息公开行政复议、行政诉讼情况",
          "\t\t\t\t\t行政诉讼" + "\t行政诉讼" * 8,
          "\t结果纠正\t其他结果\t尚未审结\t总计" + "\t未经复议直接起诉" * 5 + "\t复议后起诉" * 4,
          "\t结果纠正\t其他结果\t尚未审结\t总计\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t结果维持\t结果纠正\t其他结果\t",
          "\t\t\t2\t7\t8\t\t\t1\t9\t\t\t\t",
          "五、存在的主要问题及改进情况", "无。"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + t4, fmt="pdf"))
    assert not any(k.startswith("t4.") for k in found.cells)


def test_numbers_printed_apart_are_never_cut_to_fill_lost_blank_cells():
    """A page flattened to text where blank cells vanished: 258 12 1 1 for seven cells. The only
    seven-cell reading cuts 258 and 12 (2|5|8|1|2|1|1, which was published): left unread instead."""
    lines = t2_2021_lines() + t3_grid_lines()
    i = next(k for k, ln in enumerate(lines) if "（一）予以公开" in ln)
    lines[i] = "三、本年度办理结果 （一）予以公开 258 12 1 1"
    found = tables.parse_tables(doc(lines + T4_LINES, fmt="txt"))
    assert not any(k.startswith("t3.granted.") for k in found.cells)
    assert found.cells["t3.new_received.total"] == 6           # the other rows are still read


def test_t4_values_row_wider_than_the_table_is_read_by_its_header():
    """A Word table converted from .doc: the reconsideration 总计 cell spans two grid columns, so the
    header says 总计 | 总计 and the values row 7 | 7 (16 cells). One column, not a shift of all after it."""
    head = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    t4 = ["四、政府信息公开行政复议、行政诉讼情况",
          "\t".join(["行政复议"] * 5 + ["行政诉讼"] * 11),
          "\t".join(head + ["总计"] + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5),
          "\t".join(head + ["总计"] + head + head),
          "5\t\t\t2\t7\t7\t8\t\t\t1\t9\t\t\t\t\t",
          "五、存在的主要问题及改进情况", "无。"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + t4, fmt="doc"))
    assert found.cells["t4.reconsideration.total"] == 7 and found.cells["t4.litigation_direct.upheld"] == 8
    assert found.cells["t4.litigation_direct.total"] == 9 and found.cells["t4.litigation_after.total"] == 0
    # the same header with different values under the two 总计: no reading, never a shifted one
    t4[4] = "5\t\t\t2\t7\t6\t8\t\t\t1\t9\t\t\t\t\t"
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + t4, fmt="doc"))
    assert not any(k.startswith("t4.") for k in found.cells)


def test_procurement_count_and_amount_apart_on_one_line_with_the_unit_apart():
    """A borderless PDF's text: 政府集中采购 6 251000 元 on one line, then a line end. Two cells
    (6 and 25.1 万元), not one number 6251000 and a blank amount."""
    lines = ["二、主动公开政府信息情况", "第二十条第(九)项", "信息内容采购项目数量采购总金额",
             "政府集中采购 6 251000 元", "三、收到和处理政府信息公开申请情况"]
    found = tables.parse_tables(doc(lines, fmt="pdf"))
    assert found.cells.get("t2.procurement.projects") == 6
    assert found.cells.get("t2.procurement.amount_wan") == 25.1


def _pdf_t3_lines(rows, label=lambda r: r.label, values=None):
    lines = ["三、收到和处理政府信息公开申请情况", "申请人情况", "自然人 商业企业 科研机构 社会公益组织 法律服务机构 其他 总计"]
    for r in codebook.template("2021").tables["t3"].rows:
        vals = (values or {}).get(r.id, rows[r.id])
        lines.append(label(r) + " " + " ".join(str(x) for x in vals if x != ""))
    return lines


def test_hostile_second_reading_cases_give_no_wrong_value():
    """Inputs a hostile reviewer built against the label and value rules: each once produced a
    wrong number or a false identity failure."""
    cols = [c.id for c in codebook.template("2021").tables["t3"].columns]
    # an absent row 二 beside row 一's label repeated in merged cells: not a misprinted row 二
    lines = t2_2021_lines() + [l for l in t3_grid_lines() if not l.startswith("二、上年结转")] + T4_LINES
    found = tables.parse_tables(doc(lines))
    assert not any(k.startswith("t3.carried_over.") for k in found.cells)
    assert checks.failed_checks(found.template, found.tables, found.cells) == []
    # a label printed without its first character (3.及“三安全一稳定”) is matched from its number,
    # not from the "." (whose digit would have become the row before's seventh cell)
    rows = t3_rows_values("2021")
    rows.update(denied_prohibited=[1, 0, 0, 0, 0, 0, 1], results_total=[5, 1, 0, 0, 0, 0, 6],
                new_received=[6, 1, 0, 0, 0, 0, 7])
    lines = _pdf_t3_lines(rows, label=lambda r: "3.及“三安全一稳定”" if r.id == "denied_three_safeties" else r.label,
                          values={"denied_prohibited": [1, "", 0, 0, 0, 0, 1]})
    found = tables.parse_tables(doc(t2_2021_lines() + lines + T4_LINES, fmt="pdf"))
    assert found.cells.get("t3.denied_prohibited.total") in (None, 1)
    assert checks.failed_checks(found.template, found.tables, found.cells) == []
    # a label printed without its number: the digit before it is the row before's last value
    rows = t3_rows_values("2021")
    rows.update(denied_internal=[0, 3, 3, 5, 5, 0, 16], results_total=[4, 4, 3, 5, 5, 0, 21],
                new_received=[5, 4, 3, 5, 5, 0, 22])
    lines = _pdf_t3_lines(rows, label=lambda r: "属于四类过程性信息" if r.id == "denied_process" else r.label)
    found = tables.parse_tables(doc(t2_2021_lines() + lines + T4_LINES, fmt="pdf"))
    assert [found.cells.get(f"t3.denied_internal.{c}") for c in cols] in ([0, 3, 3, 5, 5, 0, 16], [None] * 7)
    # a date in a row's annotation is not its values
    rows = t3_rows_values("2021")
    lines = _pdf_t3_lines(rows, label=lambda r: r.label + ("（截至2022年1月10日）" if r.id == "carried_forward" else ""))
    found = tables.parse_tables(doc(t2_2021_lines() + lines + T4_LINES, fmt="pdf"))
    assert [found.cells.get(f"t3.carried_forward.{c}") for c in cols] == rows["carried_forward"]
    # （六）其他处理 with blank cells on its line and a value on the line below: not a row of zeros
    found = tables.parse_tables(doc(_hybrid_lines(["三、本年度办理结果\t（六）其他处理\t\t\t\t\t\t\t\t\t",
                                                   "\t\t\t1\t0\t0\t0\t0\t0\t1", "\t\t\t\t\t\t\t\t\t\t"])))
    assert not any(k.startswith("t3.other.") for k in found.cells)
    assert checks.failed_checks(found.template, found.tables, found.cells) == []
    # table 4 as three grid lines of five, blanks in place
    t4 = ["四、政府信息公开行政复议、行政诉讼情况", *T4_LINES[1:4], "5\t\t\t2\t7", "8\t\t\t1\t9", "\t\t\t\t",
          "五、存在的主要问题及改进情况", "无。"]
    found = tables.parse_tables(doc(t2_2021_lines() + t3_grid_lines() + t4))
    assert [v for k, v in found.cells.items() if k.startswith("t4.")] == [5, 0, 0, 2, 7, 8, 0, 0, 1, 9, 0, 0, 0, 0, 0]


# --------------------------------------------------------------------------- provenance per cell

def _geometry_for(lines, page=3):
    """A PDF-like geometry: every TAB cell of every TAB line gets its own box (x0 = 100 * cell index)."""
    return {i: [{"page": page, "box": [100.0 * k, 10.0 * i, 100.0 * k + 90, 10.0 * i + 8]}
                for k in range(ln.count("\t") + 1)] for i, ln in enumerate(lines) if "\t" in ln}


def test_provenance_table_cells_carry_the_page_and_box_of_their_own_cell():
    lines = t2_2021_lines() + t3_grid_lines() + T4_LINES
    found = tables.parse_tables(doc(lines, fmt="pdf", geometry=_geometry_for(lines)))
    assert set(found.provenance) == set(found.cells)
    assert {p["how"] for p in found.provenance.values()} == {"table_cell"}
    # granted: three label cells, then natural_person in TAB cell 3, ..., total in cell 9
    i = next(k for k, ln in enumerate(lines) if "予以公开" in ln and "部分" not in ln)
    assert found.provenance["t3.granted.natural_person"] == {"how": "table_cell", "page": 3,
                                                            "box": [300.0, 10.0 * i, 390.0, 10.0 * i + 8]}
    assert found.provenance["t3.granted.total"]["box"][0] == 900.0
    # table 4's line of fifteen values: the twelfth value (litigation_after.upheld) in cell 11
    j = lines.index("1\t0\t1\t0\t2\t0\t0\t0\t1\t1\t0\t0\t0\t0\t0")
    assert found.provenance["t4.litigation_after.upheld"]["box"] == [1000.0, 10.0 * j, 1090.0, 10.0 * j + 8]
    # table 2: 行政许可\t15\t\t -> the value is cell 1
    k = next(k for k, ln in enumerate(lines) if ln.startswith("行政许可"))
    assert found.provenance["t2.licensing.decisions"]["box"][:2] == [100.0, 10.0 * k]


def test_provenance_geometry_of_another_line_shape_is_not_used():
    lines = t2_2021_lines() + t3_grid_lines() + T4_LINES
    geo = _geometry_for(lines)
    for i in geo:
        geo[i] = geo[i][:-1]                      # one cell short: the boxes are not this line's
    found = tables.parse_tables(doc(lines, fmt="pdf", geometry=geo))
    assert found.cells and not any("box" in p for p in found.provenance.values())


def test_provenance_says_split_and_inferred_for_run_together_digits():
    lines = t2_2021_lines()
    lines[4] = "行政规范性文件693665"              # several splits: chosen by the stock-and-flow prior
    lines[3] = "规章111"                            # one digit per cell: the only split
    found = tables.parse_tables(doc(lines, fmt="txt"))
    prov = found.provenance
    assert [prov[f"t2.normative_docs.{c}"]["how"] for c in ("issued", "repealed", "in_force")] == ["inferred"] * 3
    assert "plausible" in prov["t2.normative_docs.issued"]["note"]
    assert [prov[f"t2.rules.{c}"]["how"] for c in ("issued", "repealed", "in_force")] == ["split"] * 3
    assert prov["t2.licensing.decisions"]["how"] == "table_cell"


def test_provenance_of_run_together_table_3_split_by_the_identities():
    rows = t3_rows_values("2021")
    parts = ["三、收到和处理政府信息公开申请情况申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"]
    for r in codebook.template("2021").tables["t3"].rows:
        parts.append(r.label + "".join(map(str, rows[r.id])))
    found = tables.parse_tables(doc(t2_2021_lines() + ["".join(parts)] + T4_LINES, fmt="txt"))
    assert found.cells["t3.new_received.total"] == 6
    assert {found.provenance[f"t3.{r}.{c}"]["how"] for r in rows for c in ("natural_person", "total")} == {"split"}
    assert found.provenance["t4.reconsideration.upheld"]["how"] == "table_cell"


def test_provenance_of_ocr_cells_keeps_both_engines_and_a_row_total_choice_is_inferred():
    lines = t2_2021_lines() + t3_grid_lines() + T4_LINES
    geo = _geometry_for(lines)
    engines = {"tesseract": {"text": "5", "confidence": 91.0}, "rapidocr": {"text": "5", "confidence": 0.99}}
    for cells in geo.values():
        for c in cells:
            c["ocr"] = {"engines": engines, "decided": "tesseract+rapidocr 0.99"}
    i = next(k for k, ln in enumerate(lines) if ln.startswith("一、本年新收"))
    geo[i][3]["ocr"] = {"engines": {"tesseract": {"text": "5", "confidence": 97.0},
                                    "rapidocr": {"text": "", "confidence": 0.0}},
                        "decided": "chosen by the row total among the readings"}
    found = tables.parse_tables(doc(lines, fmt="pdf", ocr=True, geometry=geo))
    p = found.provenance["t3.new_received.total"]
    assert p["how"] == "ocr" and p["ocr"]["engines"]["rapidocr"]["confidence"] == 0.99 and p["page"] == 3
    q = found.provenance["t3.new_received.natural_person"]
    assert q["how"] == "inferred" and q["note"] == "chosen by the row total among the readings"


def test_procurement_count_and_amount_that_may_be_one_grouped_number_stay_unread():
    """'政府集中采购 12 345 元' is 12 projects for 345 元, or no count and 12,345 元: unread. With a
    number that cannot be a thousands group ('6 251000 元') the two cells are read."""
    def read(line):
        lines = ["二、主动公开政府信息情况", "第二十条第(九)项", "信息内容采购项目数量采购总金额", line,
                 "三、收到和处理政府信息公开申请情况"]
        return {k: v for k, v in tables.parse_tables(doc(lines, fmt="pdf")).cells.items() if "procurement" in k}
    assert read("政府集中采购 12 345 元") == {}
    assert read("政府集中采购 6 251000 元") == {"t2.procurement.projects": 6, "t2.procurement.amount_wan": 25.1}
    # three numbers printed apart in a three-cell row stay three cells
    lines = t2_2021_lines({"normative_docs": ("77 132 470",)}) + t3_grid_lines() + T4_LINES
    found = tables.parse_tables(doc(lines, fmt="pdf"))
    assert [found.cells[f"t2.normative_docs.{c}"] for c in ("issued", "repealed", "in_force")] == [77, 132, 470]
