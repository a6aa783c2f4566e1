"""Identities: blank = 0, only tables present, sorted ids, tolerance."""
from __future__ import annotations

from parsers import checks, codebook

ALL = {"t2": True, "t3": True, "t4": True}


def zero_cells(template):
    return {c: 0 for c in codebook.all_cell_ids(template)}


def test_all_zero_tables_pass():
    assert checks.failed_checks("2021", ALL, zero_cells("2021")) == []
    assert checks.failed_checks("2019", ALL, zero_cells("2019")) == []


def test_results_total_zero_fails_four_checks():
    # one request received and granted, but （七）总计 printed as 0
    cells = zero_cells("2019")
    for col in ("natural_person", "total"):
        cells[f"t3.new_received.{col}"] = 1
        cells[f"t3.unable_not_held.{col}"] = 1
    assert checks.failed_checks("2019", ALL, cells) == [
        "t3.balance.natural_person", "t3.balance.total",
        "t3.results_sum.natural_person", "t3.results_sum.total"]


def test_unread_cells_are_not_judged_and_absent_tables_are_not_checked():
    """A blank cell is read as 0 and is in `cells`; a cell not in `cells` was left unread, and an
    identity resting on it cannot be judged (failing it would blame the source for our gap)."""
    cells = {"t4.reconsideration.upheld": 2, "t4.reconsideration.total": 1}
    assert checks.failed_checks("2021", {"t2": False, "t3": False, "t4": True}, cells) == []
    cells.update({"t4.reconsideration.corrected": 0, "t4.reconsideration.other": 0, "t4.reconsideration.pending": 0})
    assert checks.failed_checks("2021", {"t2": False, "t3": False, "t4": True}, cells) == [
        "t4.block_total.reconsideration"]
    assert checks.failed_checks("2021", {"t2": False, "t3": False, "t4": False}, cells) == []


def test_row_total_and_float_tolerance():
    cells = zero_cells("2021")
    cells["t3.granted.natural_person"] = 2
    cells["t3.granted.total"] = 3
    failed = checks.failed_checks("2021", ALL, cells)
    assert "t3.row_total.granted" in failed and failed == sorted(failed)
    assert checks.failed_checks(None, ALL, cells) == []
    assert checks.failed_checks("pre2019", ALL, cells) == []
