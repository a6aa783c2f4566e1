"""Labels for the published site and the export, generated from the codebook (never retyped).

`cell_labels()` turns `parsers/codebook.yaml` into one row per (template, cell id) with the Chinese
row/column labels as printed in the national formats, the block caption, the unit and the display
order. `wide_columns()` names the columns of the wide tables built by `harvester.publish.prepare`.
`build_metadata()` assembles Datasette metadata: the hand-written part (`data/metadata.yaml`: home
page text, caveats, licence, canned queries, column descriptions of the raw tables) plus generated
column descriptions for every wide table.
"""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
HAND_WRITTEN = HERE.parent / "data" / "metadata.yaml"    # Datasette metadata lives with the data

# Order of the tables inside a report, and of the cells inside the codebook blocks.
T3_COLUMNS = ["natural_person", "commercial", "research", "social_welfare", "legal_services",
              "other_org", "total"]
T4_BLOCKS = ["reconsideration", "litigation_direct", "litigation_after"]
T4_COLUMNS = ["upheld", "corrected", "other", "pending", "total"]
# The view `reports_zh`: reports with Chinese column names (for spreadsheets).
REPORTS_ZH = [("id", "报告编号"), ("agency", "机关"), ("year", "年度"), ("template", "格式"), ("title", "标题"),
              ("published", "发布日期"), ("province", "省份"), ("city", "城市"), ("county", "区县"),
              ("township", "乡镇街道"), ("admin_level", "层级"), ("agency_kind", "机关类型"), ("t2", "有表二"),
              ("t3", "有表三"), ("t4", "有表四"), ("format", "文件格式"), ("ocr", "OCR识别"),
              ("parse_status", "解析状态"), ("n_checks_failed", "勾稽不符数"), ("checks_failed", "勾稽不符项"),
              ("canonical_url", "来源网址"), ("n_urls", "网址数"), ("first_seen", "首次抓取"),
              ("deadline", "法定期限"), ("on_time", "按时发布")]


def english(ident: str) -> str:
    """An id read as English words: `new_received` -> `new received` (ids are English by design)."""
    return ident.replace("_wan", " (10k yuan)").replace("_", " ")


def codebook() -> dict:
    """The codebook as `parsers.codebook` loads it (one reader of the file)."""
    from parsers.codebook import raw
    return raw()


def _unit_for(cell_id: str, column: dict) -> str:
    if column.get("unit"):
        return "万元"
    if cell_id.endswith("amount_wan"):
        return "万元"
    if cell_id.startswith("t4."):
        return "件 (cases)"
    if cell_id.startswith("t3."):
        return "件 (applications)"
    return "件"


@functools.lru_cache(maxsize=1)
def cell_labels() -> tuple[dict, ...]:
    """One dict per (template, cell id), in the order the national format prints them."""
    out: list[dict] = []
    for template in ("2021", "2019"):
        tables = codebook()["templates"][template]["tables"]
        order = 0
        # Table 2: blocks of rows x columns.
        for block in tables["t2"]["blocks"]:
            for row in block["rows"]:
                for col in block["columns"]:
                    order += 1
                    cid = f"t2.{row['id']}.{col['id']}"
                    out.append(dict(template=template, cell_id=cid, tbl="t2", row=row["id"], col=col["id"],
                                    caption=block["caption"], group_label=None,
                                    row_label=row["label"], col_label=col["label"],
                                    unit=_unit_for(cid, col), ord=order,
                                    wide_column=f"{row['id']}_{col['id']}"))
        # Table 3: rows (with their group) x the seven applicant columns.
        t3 = tables["t3"]
        cols = {c["id"]: c for c in t3["columns"]}
        for r_i, row in enumerate(t3["rows"]):
            for col_id in T3_COLUMNS:
                order += 1
                cid = f"t3.{row['id']}.{col_id}"
                out.append(dict(template=template, cell_id=cid, tbl="t3", row=row["id"], col=col_id,
                                caption=t3["heading"], group_label=row.get("group"),
                                row_label=row["label"], col_label=cols[col_id]["label"],
                                unit=_unit_for(cid, {}), ord=order, wide_column=col_id, row_ord=r_i + 1))
        # Table 4: three blocks x five result columns, one row of 15 numbers.
        t4 = tables["t4"]
        blocks = {b["id"]: b for b in t4["blocks"]}
        cols4 = {c["id"]: c for c in t4["columns"]}
        for b_id in T4_BLOCKS:
            for c_id in T4_COLUMNS:
                order += 1
                cid = f"t4.{b_id}.{c_id}"
                b = blocks[b_id]
                out.append(dict(template=template, cell_id=cid, tbl="t4", row=b_id, col=c_id,
                                caption=t4["heading"], group_label=b.get("parent"),
                                row_label=b["label"], col_label=cols4[c_id]["label"],
                                unit=_unit_for(cid, {}), ord=order, wide_column=f"{b_id}_{c_id}"))
    for d in out:
        d.setdefault("row_ord", None)
        parts = [p for p in (d["group_label"], d["row_label"], d["col_label"]) if p]
        d["label_zh"] = " / ".join(parts)
        d["label_en"] = f"table {d['tbl'][1]}: {english(d['row'])} / {english(d['col'])}"
    return tuple(out)


def labels_for(template: str, tbl: str | None = None) -> list[dict]:
    return [d for d in cell_labels() if d["template"] == template and (tbl is None or d["tbl"] == tbl)]


def t3_rows(template: str) -> list[dict]:
    """The rows of table 3 for a template: id, label, group, order."""
    rows = codebook()["templates"][template]["tables"]["t3"]["rows"]
    return [dict(id=r["id"], label=r["label"], group=r.get("group"), ord=i + 1) for i, r in enumerate(rows)]


def t3_all_rows() -> list[dict]:
    """Union of the 2021 and 2019 rows of table 3, in print order (2019's `other` after the 2021 sub-rows)."""
    seen, out = set(), []
    for template in ("2021", "2019"):
        for r in t3_rows(template):
            if r["id"] not in seen:
                seen.add(r["id"])
                out.append(r)
    # Put `other` (2019) right before results_total.
    ids = [r["id"] for r in out]
    if "other" in ids:
        other = out.pop(ids.index("other"))
        out.insert([r["id"] for r in out].index("results_total"), other)
    for i, r in enumerate(out):
        r["ord"] = i + 1
    return out


def result_rows(template: str) -> list[str]:
    return list(codebook()["templates"][template]["tables"]["t3"]["result_rows"])


def section_labels() -> dict[str, str]:
    return {k: v["label"] for k, v in codebook()["sections"].items()}


def units() -> dict:
    return codebook().get("units", {})


@functools.lru_cache(maxsize=1)
def _hand_written() -> dict:
    return yaml.safe_load(HAND_WRITTEN.read_text(encoding="utf-8"))


def hand_written() -> dict:
    """The hand-written metadata (a fresh copy: callers may change it)."""
    return copy.deepcopy(_hand_written())


def report_facets() -> list[str]:
    """The facets of the reports table, in the order the site shows them (and indexes them together)."""
    return list(_hand_written()["database"]["tables"]["reports"]["facets"])


def _describe(zh: str, en: str, unit: str | None = None, extra: str | None = None) -> str:
    text = f"{zh} · {en}"
    if unit:
        text += f" [{unit}]"
    if extra:
        text += f" — {extra}"
    return text


def wide_table_columns() -> dict[str, dict[str, str]]:
    """Column descriptions (zh · en [unit]) for the wide tables built by `prepare`."""
    common = hand_written()["common_columns"]
    out: dict[str, dict[str, str]] = {}
    for template in ("2021", "2019"):
        cols = dict(common)
        for d in labels_for(template, "t2"):
            cols[d["wide_column"]] = _describe(f"{d['caption']} {d['row_label']} / {d['col_label']}",
                                               f"{english(d['row'])}: {english(d['col'])}", d["unit"],
                                               f"cell {d['cell_id']}")
        out[f"t2_{template}"] = cols
    t3cols = dict(common)
    t3 = codebook()["templates"]["2021"]["tables"]["t3"]
    t3cols["row"] = "表三行代码 · table 3 row id (see row_label)"
    t3cols["row_ord"] = "表三行序 · row order as printed in the national format"
    t3cols["row_group"] = "行分组 · row group as printed (（三）不予公开 …)"
    t3cols["row_label"] = "表三行名称 · row label as printed in the national format"
    for c in t3["columns"]:
        t3cols[c["id"]] = _describe(f"申请人情况：{c['label']}", english(c["id"]), "件 (applications)",
                                    f"cells t3.<row>.{c['id']}")
    out["t3"] = t3cols
    t4cols = dict(common)
    for d in labels_for("2021", "t4"):
        t4cols[d["wide_column"]] = _describe(d["label_zh"], f"{english(d['row'])}: {english(d['col'])}",
                                             d["unit"], f"cell {d['cell_id']}")
    out["t4"] = t4cols
    return out


def build_metadata(database: str, *, blob_root: str | None = None) -> dict:
    """Datasette metadata for the database named `database` (the file stem of the db)."""
    hw = copy.deepcopy(hand_written())
    meta = hw["site"]
    db_meta = hw["database"]
    tables = db_meta.setdefault("tables", {})
    for name, cols in wide_table_columns().items():
        tables.setdefault(name, {}).setdefault("columns", {}).update(cols)
    for name in ("report_figures",):
        cols = tables.setdefault(name, {}).setdefault("columns", {})
        for k, v in hw["common_columns"].items():
            cols.setdefault(k, v)
    reports_cols = tables.get("reports", {}).get("columns", {})
    tables.setdefault("reports_zh", {})["columns"] = {zh: reports_cols.get(en, en) for en, zh in REPORTS_ZH}
    meta["databases"] = {database: db_meta}
    meta.setdefault("plugins", {}).setdefault("ogi-site", {})
    if blob_root:
        meta["plugins"]["ogi-site"]["blob_root"] = blob_root
    meta["plugins"]["ogi-site"]["database"] = database
    return meta


# ------------------------------------------------------------------------------------------------------
# Labelled headers for downloads (CSV, JSON, XLSX): a journalist's spreadsheet says 予以公开, not `granted`.

_HAS_CJK = re.compile(r"[\u3400-\u9fff]")


@functools.lru_cache(maxsize=1)
def _wide_cells() -> dict[str, dict[str, dict]]:
    """Per wide table: column -> its codebook cell (t2_2021/t2_2019/t4 hold one cell per column)."""
    out: dict[str, dict[str, dict]] = {}
    for template in ("2021", "2019"):
        out[f"t2_{template}"] = {d["wide_column"]: d for d in labels_for(template, "t2")}
    out["t4"] = {d["wide_column"]: d for d in labels_for("2021", "t4")}
    return out


def column_header(column: str, table: str | None, described: dict[str, str]) -> str:
    """The header a download shows for `column`: a cell column gets its codebook label next to its cell id
    (规章 / 本年制发件数 · t2.rules.issued); another column the Chinese part of its description next to its
    name (机关名称 · agency); a column already named in Chinese (canned queries) stays as it is."""
    if _HAS_CJK.search(column):
        return column
    cell = _wide_cells().get(table or "", {}).get(column)
    if cell:
        return f"{cell['label_zh']} · {cell['cell_id']}"
    desc = described.get(column)
    if desc and " · " in desc:
        return f"{desc.split(' · ', 1)[0].strip()} · {column}"
    return column


def described_columns(metadata: dict, database: str, table: str | None) -> dict[str, str]:
    """Column descriptions that apply to `table` (or to a query's result): its own, then the columns every
    table shares, then the reports table's (queries select from it under its column names)."""
    tables = (metadata.get("databases") or {}).get(database, {}).get("tables", {})
    out = dict(tables.get("reports", {}).get("columns", {}))
    out.update(hand_written()["common_columns"])
    if table:
        out.update(tables.get(table, {}).get("columns", {}))
    return out
