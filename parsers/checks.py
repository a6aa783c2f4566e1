"""The accounting identities of tables 3 and 4 (codebook `identities`), checked on parsed cells.

What it is for: the list of check ids that fail on the cells as transcribed (the source's own
arithmetic errors, reported as `checks_failed`), and a helper the table parser uses to test
candidate readings.

What it must never do: change a cell to make a check pass, or check a table the document lacks.
"""
from __future__ import annotations

from typing import Mapping

from parsers import codebook

TOLERANCE = 1e-6


def identity_holds(identity: codebook.Identity, cells: Mapping[str, float]) -> bool:
    """Blank (missing) cells count as 0, as in the contract."""
    lhs = sum(cells.get(c, 0) or 0 for c in identity.lhs)
    rhs = sum(cells.get(c, 0) or 0 for c in identity.rhs)
    return abs(lhs - rhs) <= TOLERANCE


def failed_checks(template: str | None, tables: Mapping[str, bool], cells: Mapping[str, float]) -> list[str]:
    """Sorted check ids that fail, for the tables present. No template grid -> no checks."""
    if template not in codebook.TEMPLATES:
        return []
    cells = _sub_rows_from_collapsed(template, cells)
    failed = [i.check_id for i in codebook.identities(template)
              if tables.get(i.table) and not identity_holds(i, cells)]
    return sorted(failed)


def _sub_rows_from_collapsed(template: str, cells: Mapping[str, float]) -> Mapping[str, float]:
    """A hybrid report's single row for a group (2019's （六）其他处理 in 2021 tables) stands for the
    sum of the group's sub-rows in the identities; the record keeps only the row it prints."""
    view = None
    for row, subs in codebook.collapsed_rows(template):
        mine = {k: v for k, v in cells.items() if k.startswith(f"t3.{row.id}.")}
        if mine and not any(k.split(".")[1] in subs for k in cells if k.startswith("t3.")):
            view = dict(cells) if view is None else view
            for k, v in mine.items():
                view[f"t3.{subs[0]}.{k.split('.')[2]}"] = v
    return cells if view is None else view
