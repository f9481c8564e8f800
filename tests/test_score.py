"""Evaluation: totals, levels and their conditions, the cap, ranks, and typed assessments.

Units are scored on the sample catalog (the HUYEN group has 16 units and four
tasks of 25 points). Returns are hand-made :class:`~dvxl.score.Accepted`
values; the assessments are typed into a real master with openpyxl, as the
secretariat does in Excel, and read back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvxl import master
from dvxl.model import Catalog
from dvxl.score import Accepted, Assessment, Evaluation, UnitScore, evaluate
from dvxl.workspace import Workspace

PERIOD = "2026-6T"  # deadline 18/6/2026
ON_TIME = dt.datetime(2026, 6, 17, 16, 30)
XS = "Hoàn thành xuất sắc nhiệm vụ"
TOT = "Hoàn thành tốt nhiệm vụ"
HT = "Hoàn thành nhiệm vụ"
KHT = "Không hoàn thành nhiệm vụ"
NOT_RATED = "Không đủ điều kiện xếp loại"
HUYEN_TASKS = ("1.1", "1.2", "1.3", "1.4")


# Building returns -------------------------------------------------------------------


def accepted(
    catalog: Catalog,
    unit: str,
    scores: tuple[object, ...] | None = None,
    *,
    received: dt.datetime = ON_TIME,
    errors: int = 0,
    status: dict[str, str] | None = None,
    override: dict[str, object] | None = None,
) -> Accepted:
    """A return with ``scores`` per task in order (full marks when omitted).

    ``override`` replaces single tasks' self-scores; a None score leaves the cell empty.
    """
    tasks = catalog.tasks_for(catalog.unit(unit))
    group = catalog.unit(unit).rating_group
    if scores is None:
        scores = tuple(catalog.points(group, t.code) for t in tasks)
    chosen = dict(zip([t.code for t in tasks], scores, strict=True)) | (override or {})
    values: dict[str, object] = {}
    for task, score in chosen.items():
        values[f"{task}.TRANG_THAI"] = (status or {}).get(task, "Đã triển khai")
        if score is not None:
            values[f"{task}.TU_CHAM"] = score
    return Accepted(unit, values, received, errors)


def run(
    catalog: Catalog, returns: list[Accepted], assessments: list[Assessment] | None = None
) -> Evaluation:
    return evaluate(
        catalog, catalog.period(PERIOD), {r.unit: r for r in returns}, assessments or []
    )


def unit_score(evaluation: Evaluation, code: str) -> UnitScore:
    return next(u for u in evaluation.units if u.unit == code)


@pytest.fixture(scope="module")
def uncapped(sample_catalog: Catalog) -> Catalog:
    """The sample without the 20 % cap, to look at one unit's level on its own."""
    levels = tuple(dataclasses.replace(lv, cap=0.0) for lv in sample_catalog.levels)
    return dataclasses.replace(sample_catalog, levels=levels)


# Totals and levels ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "total", "level"),
    [
        ((25, 25, 25, 25), 100, XS),
        ((25, 25, 20, 20), 90, XS),
        ((25, 25, 25, 14.5), 89.5, TOT),
        ((20, 20, 15, 15), 70, TOT),
        ((20, 20, 15, 14.75), 69.75, HT),
        ((15, 15, 10, 10), 50, HT),
        ((15, 15, 10, 9.5), 49.5, KHT),
        ((0, 0, 0, 0), 0, KHT),
    ],
    ids=["100-xs", "90-xs", "89.5-tot", "70-tot", "69.75-ht", "50-ht", "49.5-kht", "0-kht"],
)
def test_level_is_the_first_whose_threshold_the_total_reaches(
    uncapped: Catalog, scores: tuple[float, ...], total: float, level: str
) -> None:
    score = unit_score(run(uncapped, [accepted(uncapped, "HU01", scores)]), "HU01")
    assert (score.total, score.level, score.rated, score.capped) == (total, level, True, False)
    assert score.level_code == next(lv.code for lv in uncapped.levels if lv.name == level)
    assert [t.decided for t in score.tasks] == list(scores)
    assert [t.points for t in score.tasks] == [25.0] * 4


def test_missing_self_score_counts_zero_and_text_scores_are_read(uncapped: Catalog) -> None:
    ret = accepted(uncapped, "HU01", (25, "22,5", 25, None))
    score = unit_score(run(uncapped, [ret]), "HU01")
    assert [t.self_score for t in score.tasks] == [25.0, 22.5, 25.0, None]
    assert score.total == 72.5
    assert score.variables["so_nhiem_vu_duoi_50"] == 1  # the missing one
    assert score.level == TOT


def test_late_unit_with_95_points_is_neither_xuat_sac_nor_tot(uncapped: Catalog) -> None:
    late = dt.datetime(2026, 6, 20, 8, 0)
    score = unit_score(
        run(uncapped, [accepted(uncapped, "HU01", (25, 25, 25, 20), received=late)]), "HU01"
    )
    assert (score.total, score.days_late, score.variables["so_ngay_tre"]) == (95, 2, 2)
    assert score.level == HT


def test_a_level_lost_to_a_condition_says_which_values_failed_it(uncapped: Catalog) -> None:
    late = dt.datetime(2026, 6, 20, 8, 0)
    score = unit_score(
        run(uncapped, [accepted(uncapped, "HU01", (25, 25, 25, 20), received=late)]), "HU01"
    )
    assert score.reasons == [
        f"Đủ điểm mức «{XS}» (từ 90 điểm) nhưng chưa đạt điều kiện: "
        "số ngày nộp báo cáo trễ hạn là 2",
        f"Đủ điểm mức «{TOT}» (từ 70 điểm) nhưng chưa đạt điều kiện: "
        "số ngày nộp báo cáo trễ hạn là 2",
    ]


def test_a_level_the_total_gives_has_no_reason(uncapped: Catalog) -> None:
    score = unit_score(run(uncapped, [accepted(uncapped, "HU01", (20, 20, 20, 20))]), "HU01")
    assert (score.level, score.reasons) == (TOT, [])


def test_return_received_late_on_the_deadline_day_is_on_time(uncapped: Catalog) -> None:
    last_minute = dt.datetime(2026, 6, 18, 23, 59)
    score = unit_score(run(uncapped, [accepted(uncapped, "HU01", received=last_minute)]), "HU01")
    assert (score.days_late, score.level) == (0, XS)


def test_a_task_under_half_its_points_keeps_a_unit_from_xuat_sac(uncapped: Catalog) -> None:
    # MTTQ is rated in MTCTXH_TINH: task 3.1 is worth 12.5, so 6 is under half.
    score = unit_score(run(uncapped, [accepted(uncapped, "MTTQ", override={"3.1": 6})]), "MTTQ")
    assert score.total == 93.5
    assert score.variables["so_nhiem_vu_duoi_50"] == 1
    assert score.level == TOT
    assert score.reasons == [
        f"Đủ điểm mức «{XS}» (từ 90 điểm) nhưng chưa đạt điều kiện: "
        "số nhiệm vụ đạt dưới một nửa số điểm tối đa là 1"
    ]
    exactly_half = unit_score(
        run(uncapped, [accepted(uncapped, "MTTQ", override={"3.1": 6.25})]), "MTTQ"
    )
    assert (exactly_half.variables["so_nhiem_vu_duoi_50"], exactly_half.level) == (0, XS)


def test_level_variables_are_counted_from_the_return(uncapped: Catalog) -> None:
    not_started = unicodedata.normalize("NFD", "Chưa triển khai")  # as a Mac may type it
    ret = accepted(
        uncapped,
        "HU01",
        (25, 10, 0, 20),
        received=dt.datetime(2026, 6, 19, 9, 0),
        errors=3,
        status={"1.2": "Chưa triển khai", "1.3": not_started},
    )
    score = unit_score(run(uncapped, [ret]), "HU01")
    assert score.variables == {
        "tong_diem": 55,
        "so_ngay_tre": 1,
        "so_loi": 3,
        "so_nhiem_vu": 4,
        "so_nhiem_vu_chua_trien_khai": 2,
        "so_nhiem_vu_duoi_50": 2,
    }
    assert score.level == HT


# The cap --------------------------------------------------------------------------


def huyen(catalog: Catalog, totals: dict[str, float]) -> list[Accepted]:
    """On-time returns for HUYEN units, each total spread evenly over the four tasks."""
    return [accepted(catalog, code, (total / 4,) * 4) for code, total in totals.items()]


def test_cap_moves_the_lowest_xuat_sac_down_to_tot(sample_catalog: Catalog) -> None:
    at_xs = {"TPBA": 99, "TXPA": 97, "HU01": 95, "HU02": 93, "HU03": 91, "HU04": 90}
    at_tot = {"HU05": 80, "HU06": 80, "HU07": 76, "HU08": 72}
    evaluation = run(sample_catalog, huyen(sample_catalog, at_xs | at_tot))
    # 10 units at "tốt" or above: floor(0.2 × 10) = 2 keep "xuất sắc".
    got = {u.unit: (u.level_code, u.capped) for u in evaluation.units if u.group == "HUYEN"}
    assert {code: got[code] for code in [*at_xs, *at_tot]} == {
        "TPBA": ("XS", False),
        "TXPA": ("XS", False),
        "HU01": ("TOT", True),
        "HU02": ("TOT", True),
        "HU03": ("TOT", True),
        "HU04": ("TOT", True),
        "HU05": ("TOT", False),
        "HU06": ("TOT", False),
        "HU07": ("TOT", False),
        "HU08": ("TOT", False),
    }
    assert unit_score(evaluation, "HU01").level == TOT
    assert unit_score(evaluation, "HU01").reasons == [
        f"Đạt mức «{XS}» nhưng hạ xuống «{TOT}» do giới hạn tỷ lệ: mức này tối đa 20% "
        f"(2 trong 10 đơn vị của nhóm từ mức «{TOT}» trở lên); đơn vị có tổng điểm cao hơn "
        "được giữ trước"
    ]
    assert unit_score(evaluation, "TPBA").reasons == []
    assert evaluation.counts["HUYEN"] == {XS: 2, TOT: 8, HT: 0, KHT: 0, NOT_RATED: 6}


def test_cap_breaks_equal_totals_by_unit_code(sample_catalog: Catalog) -> None:
    totals = {"TPBA": 99, "HU03": 95, "HU01": 95}
    totals |= dict.fromkeys(["HU04", "HU05", "HU06", "HU07", "HU08", "HU09", "DUKCQ"], 80)
    evaluation = run(sample_catalog, huyen(sample_catalog, totals))
    assert [u.unit for u in evaluation.units if u.level_code == "XS"] == ["TPBA", "HU01"]
    assert unit_score(evaluation, "HU03").capped


def test_cap_of_a_lone_xuat_sac_unit_allows_none(sample_catalog: Catalog) -> None:
    # floor(0.2 × 1) = 0: with fewer than 5 units at "tốt" or above, nobody is "xuất sắc".
    evaluation = run(sample_catalog, huyen(sample_catalog, {"HU01": 96}))
    assert (unit_score(evaluation, "HU01").level_code, unit_score(evaluation, "HU01").capped) == (
        "TOT",
        True,
    )


def test_cap_counts_each_rating_group_on_its_own(sample_catalog: Catalog) -> None:
    returns = huyen(sample_catalog, {"HU01": 96, "HU02": 80, "HU03": 80, "HU04": 80, "HU05": 80})
    returns += [accepted(sample_catalog, code, (20, 20, 20, 20)) for code in ("VPTU", "BTCTU")]
    evaluation = run(sample_catalog, returns)
    assert unit_score(evaluation, "HU01").level == XS  # floor(0.2 × 5) = 1
    assert evaluation.counts["CQTM"][TOT] == 2


# Ranks, the not rated, counts -------------------------------------------------------------


def test_ranks_share_equal_totals_and_skip_the_next(sample_catalog: Catalog) -> None:
    returns = [
        accepted(sample_catalog, "TPBA", (25, 25, 25, 20)),
        accepted(sample_catalog, "TXPA", (22.5, 22.5, 22.5, 22.5)),
        accepted(sample_catalog, "HU01", (15.3, 25, 24.9, 24.8)),  # 89.99999999999999
        accepted(sample_catalog, "HU02", (20, 20, 20, 20)),
        accepted(sample_catalog, "DDHDND", (10, 10, 10, 10)),
    ]
    evaluation = run(sample_catalog, returns)
    ranks = {u.unit: u.rank for u in evaluation.units if u.rated}
    assert ranks == {"TPBA": 1, "TXPA": 2, "HU01": 2, "HU02": 4, "DDHDND": 1}
    assert unit_score(evaluation, "HU03").rank is None


def test_unit_without_accepted_return_is_not_rated(sample_catalog: Catalog) -> None:
    typed = [Assessment(PERIOD, "HU01", "1.1", 20.0, "Chưa gửi báo cáo")]
    score = unit_score(run(sample_catalog, [], typed), "HU01")
    assert (score.total, score.level, score.level_code, score.rank, score.rated) == (
        None,
        NOT_RATED,
        "",
        None,
        False,
    )
    assert score.variables == {}
    first = score.tasks[0]
    assert (first.task, first.assessed, first.comment) == ("1.1", 20.0, "Chưa gửi báo cáo")


def test_every_addressed_unit_is_listed_in_roster_order(sample_catalog: Catalog) -> None:
    evaluation = run(sample_catalog, [])
    assert [u.unit for u in evaluation.units] == [u.code for u in sample_catalog.addressed_units()]
    assert all(u.group == sample_catalog.unit(u.unit).rating_group for u in evaluation.units)


def test_counts_have_every_rating_group_and_level_zeros_included(sample_catalog: Catalog) -> None:
    returns = [accepted(sample_catalog, "HU01", (10, 10, 10, 10)), accepted(sample_catalog, "MTTQ")]
    counts = run(sample_catalog, returns).counts
    assert list(counts) == ["BCS_DD", "CQTM", "MTCTXH_TINH", "HUYEN", "BCS_UBND", "BDV"]
    for group, per_level in counts.items():
        assert list(per_level) == [XS, TOT, HT, KHT, NOT_RATED], group
    assert counts["HUYEN"] == {XS: 0, TOT: 0, HT: 0, KHT: 1, NOT_RATED: 15}
    assert counts["MTCTXH_TINH"] == {XS: 0, TOT: 1, HT: 0, KHT: 0, NOT_RATED: 5}  # capped
    assert counts["BCS_DD"] == {XS: 0, TOT: 0, HT: 0, KHT: 0, NOT_RATED: 8}


# Assessments ----------------------------------------------------------------------


def test_assessed_score_decides_and_self_score_is_kept(uncapped: Catalog) -> None:
    typed = [
        Assessment(PERIOD, "HU01", "1.1", 10.0, "Kế hoạch chưa cụ thể"),
        Assessment("2025-N", "HU01", "1.2", 0.0, "Kỳ khác: không tính"),
        Assessment(PERIOD, "HU01", "1.3", None, "Đạt yêu cầu"),
        Assessment(PERIOD, "HU01", "1.4", 5.0),
        Assessment(PERIOD, "HU01", "1.4", 20.0, "Sửa lại sau khi kiểm tra"),  # the later counts
    ]
    score = unit_score(run(uncapped, [accepted(uncapped, "HU01")], typed), "HU01")
    assert [(t.self_score, t.assessed, t.decided, t.comment) for t in score.tasks] == [
        (25, 10, 10, "Kế hoạch chưa cụ thể"),
        (25, None, 25, ""),
        (25, None, 25, "Đạt yêu cầu"),
        (25, 20, 20, "Sửa lại sau khi kiểm tra"),
    ]
    assert score.total == 80
    assert score.variables["so_nhiem_vu_duoi_50"] == 1
    assert score.level == TOT


# The assessment sheet of the master --------------------------------------------------------


def type_rows(path: Path, rows: list[tuple[object, ...]], start: int | None = None) -> None:
    """Type rows under the header of «Thẩm định», as a secretariat would in Excel."""
    book = openpyxl.load_workbook(path)
    sheet = book[master.ASSESSMENT]
    first = start or sheet.max_row + 1
    for r, row in enumerate(rows, first):
        for c, value in enumerate(row, 1):
            sheet.cell(r, c).value = value
    book.save(path)


def test_master_has_the_assessment_sheet_after_the_config_sheets(
    fresh_workspace: Workspace,
) -> None:
    book = CalamineWorkbook.from_path(str(fresh_workspace.master))
    assert book.sheet_names[-4:] == ["Thẩm định", "Thời điểm nhận", "Duyệt báo cáo",
                                     "xlwings.conf"]
    rows = book.get_sheet_by_name("Thẩm định").to_python(skip_empty_area=False)
    assert rows[1][0] == (
        "Văn phòng nhập điểm thẩm định và nhận xét; dvxl đọc, không bao giờ ghi đè trang này."
    )
    assert rows[master.HEADER_ROW][:5] == [
        "Kỳ báo cáo",
        "Mã đơn vị",
        "Nhiệm vụ",
        "Điểm thẩm định",
        "Nhận xét",
    ]
    sheet = openpyxl.load_workbook(fresh_workspace.master)["Thẩm định"]
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A3:E")
    lists = {
        str(dv.sqref).split(":")[0]: dv.formula1 for dv in sheet.data_validations.dataValidation
    }
    assert lists["A4"] == "'Kỳ báo cáo'!$A$4:$A$2003"
    assert lists["B4"] == "'Đơn vị'!$A$4:$A$2003"
    assert master.read_assessments(fresh_workspace.master) == ([], [])


def test_assessments_typed_in_the_master_are_read_back(
    fresh_workspace: Workspace, sample_catalog: Catalog
) -> None:
    path = fresh_workspace.master
    type_rows(
        path,
        [
            (PERIOD, "HU01", "1.1", 20, "Kế hoạch chưa cụ thể"),  # row 4
            (PERIOD, "hu01", 1.2, "22,5", None),  # 5: typed in lower case, task as a number
            (PERIOD, "HU02", "1.1", None, "Chờ bổ sung số liệu"),  # 6: comment only
            (None, None, None, None, None),  # 7: an empty line
            (PERIOD, "HU03", "1.1", "hai mươi", None),  # 8
            (PERIOD, "XYZ", "1.1", 20, None),  # 9
            (PERIOD, "HU03", "9.9", 20, None),  # 10
            ("2030-N", "HU03", "1.1", 20, None),  # 11
            (PERIOD, "HU03", "2.1", 10, None),  # 12: not addressed to a huyện ủy
            (PERIOD, "HU03", "1.2", 30, None),  # 13: over the task's 25 points
            (PERIOD, "HU03", "1.3", -1, None),  # 14
            (None, "HU03", "1.4", 20, None),  # 15
            (PERIOD, "HU01", "1.1", 18, "Sau khi kiểm tra lại"),  # 16: second line for 1.1
            (PERIOD, "HU04", "1.1", None, None),  # 17: codes only, nothing typed yet
        ],
    )
    assessments, problems = master.read_assessments(path)
    assert assessments == [
        Assessment(PERIOD, "HU01", "1.1", 20.0, "Kế hoạch chưa cụ thể"),
        Assessment(PERIOD, "HU01", "1.2", 22.5, ""),
        Assessment(PERIOD, "HU02", "1.1", None, "Chờ bổ sung số liệu"),
        Assessment(PERIOD, "HU01", "1.1", 18.0, "Sau khi kiểm tra lại"),
    ]
    where = "Trang tính «Thẩm định», dòng"
    assert problems == [
        f"{where} 8: điểm thẩm định «hai mươi» không phải số",
        f"{where} 9: mã đơn vị «XYZ» không có trong cấu hình",
        f"{where} 10: nhiệm vụ «9.9» không có trong cấu hình",
        f"{where} 11: kỳ báo cáo «2030-N» không có trong cấu hình",
        f"{where} 12: nhiệm vụ «2.1» không giao cho đơn vị «HU03»",
        f"{where} 13: điểm thẩm định 30 phải từ 0 đến 25 (điểm tối đa của nhiệm vụ «1.2»)",
        f"{where} 14: điểm thẩm định -1 phải từ 0 đến 25 (điểm tối đa của nhiệm vụ «1.3»)",
        f"{where} 15: thiếu kỳ báo cáo",
        f"{where} 16: kỳ «{PERIOD}», đơn vị «HU01», nhiệm vụ «1.1» đã có ở dòng 4; "
        "dvxl dùng dòng sau cùng",
    ]
    # The config reader ignores the sheet, and evaluation takes the typed scores (the master
    # differs from the text catalog by the template password init gave it, only).
    loaded = fresh_workspace.load()
    assert dataclasses.replace(loaded, settings=sample_catalog.settings) == sample_catalog
    evaluation = run(sample_catalog, [accepted(sample_catalog, "HU01")], assessments)
    assert [t.decided for t in unit_score(evaluation, "HU01").tasks] == [18, 22.5, 25, 25]


def test_master_without_the_assessment_sheet_has_no_assessments(
    fresh_workspace: Workspace,
) -> None:
    book = openpyxl.load_workbook(fresh_workspace.master)
    del book[master.ASSESSMENT]
    book.save(fresh_workspace.master)
    assert master.read_assessments(fresh_workspace.master) == ([], [])


def test_assessment_sheet_without_its_score_column_is_reported(
    fresh_workspace: Workspace,
) -> None:
    type_rows(fresh_workspace.master, [("Kỳ báo cáo", "Mã đơn vị", "Nhiệm vụ", "Điểm")], start=3)
    type_rows(fresh_workspace.master, [(PERIOD, "HU01", "1.1", 20)])
    assert master.read_assessments(fresh_workspace.master) == (
        [],
        ["Trang tính «Thẩm định», dòng 3: thiếu cột «Điểm thẩm định»"],
    )
