"""The intermediate form every format is extracted into, before any report logic runs.

`parsers.extract` turns bytes (HTML, PDF, DOCX, DOC/WPS, TXT, images) into an `Extracted`; the
report logic (`tables`, `meta`, `sections`, `headline`) reads only this, never the raw format.
This module must stay free of I/O and of any format library.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """An error as a value: what went wrong (`kind`) and a sentence a user can act on."""
    kind: str      # e.g. empty, truncated, encrypted, too_large, unsupported, ocr_unavailable, not_a_report
    message: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message}


# Kinds that say how a value was read, not that anything was lost or failed: a record with only
# these is not "errors" (its cells' provenance tells the rest). Every other kind is a loss.
READING_NOTES = frozenset({"cells_run_together", "cell_restored", "label_misprinted", "ocr_label",
                           "rows_collapsed", "template_guessed", "unit_assumed", "not_a_report"})


@dataclass
class Extracted:
    """One document as text, in reading order, already normalised (simplified script, NFKC,
    pinyin glosses stripped).

    `text`: the whole document as lines. Every table row is one line whose cells are joined by a
    TAB, with an empty string for an empty cell (so positions survive); text outside tables is
    ordinary lines. Plain-text inputs keep their own lines.
    `tables`: the same tables as grids (list of rows of cell strings, merged cells repeated over
    their span), for parsers that prefer positions to lines. Empty for formats without tables.
    """
    format: str                                   # html, pdf, docx, doc, wps, txt, image
    text: str = ""
    tables: list[list[list[str]]] = field(default_factory=list)
    script: str = "simplified"                    # script of the source before conversion
    ocr: bool = False                             # text came from OCR: weigh it accordingly
    title: str | None = None                      # <title>, ArticleTitle meta, document title
    published: str | None = None                  # YYYY-MM-DD from page metadata (PubDate...)
    images_only_tables: bool = False              # the tables are present only as images
    # Where each table cell sits in the source, for provenance: {line index in `text`: one entry
    # per TAB cell of that line, None or {"page", "box": [x0, top, x1, bottom] in points from
    # the page's top left, and for OCR "ocr": both engines' readings and confidences}}.
    geometry: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
