"""Cell values: blanks, full-width digits, units, signed change, stray unit words."""
from __future__ import annotations

import pytest

from parsers import numbers


@pytest.mark.parametrize("cell", ["", " ", "/", "／", "-", "－", "—", "——", "无", "\u00a0"])
def test_blank_markers_are_zero(cell):
    r = numbers.read_cell(cell)
    assert r.value == 0 and r.blank


@pytest.mark.parametrize("cell,value", [
    ("12", 12), ("１２", 12), ("1,234", 1234), ("0\u00a0", 0), ("5件", 5), ("3 个", 3), (" 7 ", 7),
    ("1 234", 1234),                     # a number broken by a space inside one cell
])
def test_counts(cell, value):
    v = numbers.read_value(cell)
    assert v == value and isinstance(v, int)


@pytest.mark.parametrize("cell,value", [
    ("+21", 21), ("-8", -8), ("－2", -2), ("−2", -2), ("减少2", -2), ("增加3", 3), ("0", 0), ("-", 0),
])
def test_signed_change(cell, value):
    assert numbers.read_value(cell, signed=True) == value


def test_money_unit_in_cell_wins():
    assert numbers.read_value("4858.33万元", money=True, header_unit="元") == pytest.approx(4858.33)
    assert numbers.read_value("251000元", money=True, header_unit="万元") == pytest.approx(25.1)
    assert numbers.read_value("75394432.52元", money=True) == pytest.approx(7539.443252)
    assert numbers.read_value("0.5万", money=True) == pytest.approx(0.5)


def test_money_header_unit_then_assumed():
    assert numbers.read_value("251000", money=True, header_unit="元") == pytest.approx(25.1)
    r = numbers.read_cell("24252.311082", money=True, header_unit="万元")
    assert r.value == pytest.approx(24252.311082) and isinstance(r.value, float) and r.problem is None
    assert numbers.read_cell("12", money=True).problem == "unit_assumed"


def test_header_unit():
    assert numbers.header_unit("本年收费金额（单位：万元）") == "万元"
    assert numbers.header_unit("采购总金额(元)") == "元"
    assert numbers.header_unit("采购总金额") is None


def test_not_numbers():
    assert numbers.read_value("规章") is None
    assert numbers.read_value("理") is None
    assert not numbers.looks_numeric("1.属于国家秘密")
    assert numbers.looks_numeric("/")


def test_two_numbers_in_one_cell_are_not_one_number():
    """'6 251000 元' (a project count and an amount run into one cell) is not 6251000; thousands
    groups (1 234 567) and letter-spaced digits (2 5 8) still join."""
    from parsers.numbers import read_cell
    assert read_cell("6 251000 元").value is None and read_cell("6 251000", money=True).value is None
    assert read_cell("1 234 567").value == 1234567 and read_cell("2 5 8").value == 258
