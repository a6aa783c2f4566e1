"""The codebook loader: ids, labels, identities and the label normaliser."""
from __future__ import annotations

from parsers import codebook


def test_cell_counts_per_template():
    # 2021: 10 + 25*7 + 15; 2019: 22 + 23*7 + 15
    assert len(codebook.all_cell_ids("2021")) == 200
    assert len(codebook.all_cell_ids("2019")) == 198
    assert "t3.other_misc.total" in codebook.cell_ids("2021", "t3")
    assert "t3.other.total" in codebook.cell_ids("2019", "t3")
    assert "t3.other.total" not in codebook.cell_ids("2021", "t3")


def test_identities_expand_to_check_ids():
    ids = {i.check_id for i in codebook.identities("2021")}
    assert "t3.balance.total" in ids and "t3.results_sum.natural_person" in ids
    assert "t3.row_total.other_misc" in ids and "t4.block_total.litigation_after" in ids
    assert len(ids) == 7 + 7 + 25 + 3
    assert len({i.check_id for i in codebook.identities("2019")}) == 7 + 7 + 23 + 3
    results = next(i for i in codebook.identities("2019") if i.check_id == "t3.results_sum.total")
    assert "t3.other.total" in results.rhs and "t3.other_misc.total" not in results.rhs


def test_normalise_label_folds_variants():
    n = codebook.normalise_label
    assert n("（一）予以公开") == n("(一) 予以公开")
    assert n("规章（市政府令）") == "规章"
    assert n("上一年项目数量（指2019年事项数）") == "上一年项目数量"
    assert n("3.危及“三安全一稳定”") == n('3.危及"三安全一稳定"') == "3.危及三安全一稳定"
    assert n("商业\n企业") == "商业企业"
    assert n("总\u00a0计\u3000") == "总计"
    assert n("其它：") == "其他"
    assert n("行政規范性文件") == "行政规范性文件"            # mixed script, t2s
    assert n("數(shù)據(jù)") == "数据"                         # pinyin glosses go first


def test_money_and_signed_cells_come_from_the_codebook():
    assert codebook.money_cells("2021") == {"t2.fees.amount_wan"}
    assert codebook.money_cells("2019") == {"t2.procurement.amount_wan"}
    assert codebook.is_signed("t2.licensing.change") and not codebook.is_signed("t2.licensing.decisions")


def test_non_template_labels():
    assert "小计" in codebook.non_template_labels()
