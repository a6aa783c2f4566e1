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
    failed = [i.check_id for i in codebook.identities(template)
              if tables.get(i.table) and not identity_holds(i, cells)]
    return sorted(failed)
