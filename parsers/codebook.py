"""The codebook (parsers/codebook.yaml) as Python structures, plus the label normaliser.

What it is for: one loaded, read-only view of the templates — tables, blocks, rows, columns,
cell ids, label variants, row groups, result rows, identities, non-template labels and value
rules — so that `tables`, `numbers` and `checks` never retype a Chinese label or an id.

What it must never do: hold labels or ids of its own (everything comes from the YAML), touch the
network or a database, or special-case a document. The YAML is read once per process.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CODEBOOK_PATH = Path(__file__).with_name("codebook.yaml")

TEMPLATES = ("2021", "2019")          # the templates that have a table grid (pre2019 has none)
TABLES = ("t2", "t3", "t4")


# --------------------------------------------------------------------------- normalisation
# A CJK character followed by a bracketed pinyin syllable (數(shù)) is a mirror's gloss.
_PINYIN_GLOSS = re.compile(r"(?<=[\u3400-\u9fff])\((?:[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*)\)")
_WS = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_QUOTES = re.compile(r"[\"'“”‘’「」『』＂]")
_TRAILING_COLON = re.compile(r"[:：]+$")
# Annotations in brackets after the core label: 规章（市政府令）, 上一年项目数量（指2019年事项数）.
# Only a bracket group that ends the label is stripped, and never one that is the whole label.
_TRAILING_BRACKET = re.compile(r"(?<=.)\([^()]*\)$")


@functools.cache
def _opencc():
    try:
        import opencc
        return opencc.OpenCC("t2s")
    except Exception:  # pragma: no cover - opencc is a declared dependency
        return None


def to_simplified(text: str) -> str:
    """Traditional -> simplified (after stripping pinyin glosses); identity if OpenCC is missing."""
    text = _PINYIN_GLOSS.sub("", text)
    cc = _opencc()
    return cc.convert(text) if cc is not None else text


@functools.cache
def _taiwan_vocabulary():
    try:
        import opencc
        return opencc.OpenCC("s2twp")
    except Exception:  # pragma: no cover - opencc is a declared dependency
        return None


@functools.lru_cache(maxsize=4096)
def vocabulary_variants(label: str) -> tuple[str, ...]:
    """The label as mirrors that convert vocabulary the Taiwanese way print it, read back into
    simplified characters (规范性文件 -> 規範性檔案 -> 规范性档案; 政府信息 -> 政府資訊 -> 政府资讯).

    OpenCC's s2twp supplies the vocabulary; a mirror may convert some words and not others, so
    every combination of the converted words is returned (labels hold one or two such words).
    """
    cc = _taiwan_vocabulary()
    if cc is None:
        return ()
    full = to_simplified(cc.convert(label))
    if full == label:
        return ()
    import difflib
    import itertools
    ops = difflib.SequenceMatcher(None, label, full, autojunk=False).get_opcodes()
    changed = [i for i, op in enumerate(ops) if op[0] != "equal"]
    if len(changed) > 4:
        return (full,)
    out = []
    for choice in itertools.product((False, True), repeat=len(changed)):
        use = dict(zip(changed, choice))
        text = "".join(full[j1:j2] if use.get(i) else label[i1:i2]
                       for i, (_, i1, i2, j1, j2) in enumerate(ops))
        if text != label and text not in out:
            out.append(text)
    return tuple(out)


def fold(text: str) -> str:
    """The character-level part of `normalise_label`: NFKC, no whitespace, no quotes, 其它->其他.

    It maps every input character independently (so callers can keep offsets) and is applied to
    document text as well as to labels; script conversion is done once, beforehand.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub("", text)
    text = _QUOTES.sub("", text)
    return text.replace("其它", "其他")


@functools.lru_cache(maxsize=4096)
def normalise_label(label: str, *, strip_annotation: bool = True, convert: bool = True) -> str:
    """Normalise a table label for comparison, following the codebook's `normalise` list.

    `convert=False` skips the script conversion, for text that extraction already simplified.
    """
    text = fold(to_simplified(label) if convert else label)
    text = _TRAILING_COLON.sub("", text)
    if strip_annotation:
        previous = None
        while previous != text:
            previous = text
            text = _TRAILING_BRACKET.sub("", text)
            text = _TRAILING_COLON.sub("", text)
    return text


# --------------------------------------------------------------------------- structures
@dataclass(frozen=True)
class Column:
    id: str
    label: str
    variants: tuple[str, ...]
    unit: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return _label_set(self.label, self.variants)


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    variants: tuple[str, ...]
    group: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return _label_set(self.label, self.variants)


@dataclass(frozen=True)
class Block:
    """A caption-headed block of table 2, or a block of table 4."""
    id: str | None                    # t4 block id; None for t2 blocks
    caption: str | None
    caption_variants: tuple[str, ...]
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Table:
    id: str                           # t2, t3, t4
    heading: str
    blocks: tuple[Block, ...] = ()    # t2
    rows: tuple[Row, ...] = ()        # t3 (t2: flattened from blocks)
    columns: tuple[Column, ...] = ()  # t3, t4
    row_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    column_groups: tuple[str, ...] = ()
    corner_notes: tuple[str, ...] = ()
    result_rows: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    id: str
    strong_cues: tuple[str, ...]
    absent_cues: tuple[str, ...]
    tables: dict = field(hash=False)  # table id -> Table


@dataclass(frozen=True)
class Identity:
    check_id: str                     # e.g. t3.balance.total
    table: str
    lhs: tuple[str, ...]              # cell ids summed on the left
    rhs: tuple[str, ...]              # cell ids summed on the right


@functools.lru_cache(maxsize=1024)
def _label_set(label: str, variants: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    texts = [label, *variants]
    texts += [v for t in list(texts) for v in vocabulary_variants(str(t))]
    for text in texts:
        for strip in (False, True):
            norm = normalise_label(str(text), strip_annotation=strip)
            if norm and norm not in out:
                out.append(norm)
    return tuple(out)


def _rows(raw) -> tuple[Row, ...]:
    return tuple(Row(id=r["id"], label=str(r["label"]), variants=tuple(map(str, r.get("variants") or ())),
                     group=r.get("group")) for r in raw)


def _cols(raw) -> tuple[Column, ...]:
    return tuple(Column(id=c["id"], label=str(c["label"]), variants=tuple(map(str, c.get("variants") or ())),
                        unit=c.get("unit")) for c in raw)


@functools.cache
def raw() -> dict:
    """The YAML as loaded (read once)."""
    with open(CODEBOOK_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def template(template_id: str) -> Template:
    spec = raw()["templates"][template_id]
    tables: dict[str, Table] = {}
    t2 = spec["tables"]["t2"]
    blocks = tuple(Block(id=None, caption=b.get("caption"),
                         caption_variants=tuple(b.get("caption_variants") or ()),
                         rows=_rows(b["rows"]), columns=_cols(b["columns"])) for b in t2["blocks"])
    tables["t2"] = Table(id="t2", heading=t2["heading"], blocks=blocks,
                         rows=tuple(r for b in blocks for r in b.rows), cells=tuple(t2["cells"]))
    t3 = spec["tables"]["t3"]
    groups = tuple((g["label"], tuple(g.get("variants") or ())) for g in t3.get("row_groups") or ())
    tables["t3"] = Table(id="t3", heading=t3["heading"], rows=_rows(t3["rows"]), columns=_cols(t3["columns"]),
                         row_groups=groups,
                         column_groups=tuple(g["label"] for g in t3.get("column_groups") or ()),
                         corner_notes=(t3.get("corner_note", ""), *(t3.get("corner_note_variants") or ())),
                         result_rows=tuple(t3["result_rows"]))
    tables["t3"] = _with_cells(tables["t3"])
    t4 = spec["tables"]["t4"]
    columns = _cols(t4["columns"])
    t4_blocks = tuple(Block(id=b["id"], caption=b["label"], caption_variants=tuple(b.get("variants") or ()),
                            rows=(), columns=columns) for b in t4["blocks"])
    tables["t4"] = Table(id="t4", heading=t4["heading"], blocks=t4_blocks, columns=columns,
                         cells=tuple(t4["cells"]))
    detect = spec.get("detect") or {}
    return Template(id=template_id, strong_cues=tuple(detect.get("strong") or ()),
                    absent_cues=tuple(detect.get("absent") or ()), tables=tables)


def _with_cells(table: Table) -> Table:
    cells = tuple(f"{table.id}.{r.id}.{c.id}" for r in table.rows for c in table.columns)
    return Table(**{**table.__dict__, "cells": cells})


def cell_ids(template_id: str, table_id: str) -> tuple[str, ...]:
    return template(template_id).tables[table_id].cells


def all_cell_ids(template_id: str) -> tuple[str, ...]:
    return tuple(c for t in TABLES for c in cell_ids(template_id, t))


@functools.cache
def identities(template_id: str) -> tuple[Identity, ...]:
    """Every check of the codebook's `identities` for one template, expanded to cell ids."""
    tpl = template(template_id)
    t3, t4 = tpl.tables["t3"], tpl.tables["t4"]
    t3_cols = [c.id for c in t3.columns]
    applicant_cols = [c for c in t3_cols if c != "total"]
    out: list[Identity] = []
    for check in raw()["identities"]["checks"]:
        kind = check["id"].split(".")[1]
        if kind == "balance":
            for col in check["for"]:
                out.append(Identity(f"t3.balance.{col}", "t3",
                                    (f"t3.new_received.{col}", f"t3.carried_over.{col}"),
                                    (f"t3.results_total.{col}", f"t3.carried_forward.{col}")))
        elif kind == "results_sum":
            rows = check.get(f"rows_{template_id}") or t3.result_rows
            for col in check["for"]:
                out.append(Identity(f"t3.results_sum.{col}", "t3", (f"t3.results_total.{col}",),
                                    tuple(f"t3.{r}.{col}" for r in rows)))
        elif kind == "row_total":
            for row in t3.rows:
                out.append(Identity(f"t3.row_total.{row.id}", "t3", (f"t3.{row.id}.total",),
                                    tuple(f"t3.{row.id}.{c}" for c in applicant_cols)))
        elif kind == "block_total":
            parts = [c.id for c in t4.columns if c.id != "total"]
            for block in check["for"]:
                out.append(Identity(f"t4.block_total.{block}", "t4", (f"t4.{block}.total",),
                                    tuple(f"t4.{block}.{p}" for p in parts)))
    return tuple(out)


@functools.cache
def collapsed_rows(template_id: str) -> tuple[tuple[Row, tuple[str, ...]], ...]:
    """Table-3 rows another template prints as one where this template has a group of sub-rows, with
    the sub-rows' ids: 2019's single （六）其他处理 for 2021's three. Hybrid reports print the 2021
    tables with that single row. Found by label (a row of another template whose label is one of
    this template's group labels), so nothing here names a row."""
    t3 = template(template_id).tables["t3"]
    groups: dict[str, list[str]] = {}
    for row in t3.rows:
        if row.group:
            groups.setdefault(normalise_label(row.group), []).append(row.id)
    own = {row.id for row in t3.rows}
    out = []
    for other in TEMPLATES:
        if other == template_id:
            continue
        for row in template(other).tables["t3"].rows:
            subs = groups.get(normalise_label(row.label))
            if subs and row.id not in own:
                out.append((row, tuple(subs)))
    return tuple(out)


@functools.cache
def non_template_labels() -> tuple[str, ...]:
    return tuple(normalise_label(str(x)) for x in raw().get("non_template_labels") or ())


@functools.cache
def values_rules() -> dict:
    return raw()["values"]


@functools.cache
def read_as_zero() -> frozenset[str]:
    return frozenset(fold(str(x)) for x in values_rules()["read_as_zero"])


@functools.cache
def signed_columns() -> tuple[str, ...]:
    """Cell-id patterns of signed columns, as regexes (t2.*.change)."""
    return tuple(values_rules().get("signed_columns") or ())


@functools.lru_cache(maxsize=4096)
def is_signed(cell_id: str) -> bool:
    return any(re.fullmatch(p.replace(".", r"\.").replace("*", r"[^.]+"), cell_id) for p in signed_columns())


@functools.cache
def money_cells(template_id: str) -> frozenset[str]:
    """Cells whose column carries a unit in the codebook (money, stored in 万元)."""
    t2 = template(template_id).tables["t2"]
    return frozenset(f"t2.{r.id}.{c.id}" for b in t2.blocks for r in b.rows for c in b.columns if c.unit)


def is_money(cell_id: str, template_id: str) -> bool:
    return cell_id in money_cells(template_id)


def sections() -> dict:
    return raw()["sections"]
