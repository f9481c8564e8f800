"""The consolidated period workbook and the terminal tracking table, read back from files.

A small Consolidated is built by hand from the sample catalog (six units, one of each
kind of situation), written, then read back with python-calamine (values), openpyxl
(formulas, data types, styles, print setup) and zipfile (charts); the last test lets
real LibreOffice recalculate every formula and compares with the stored results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import os
import random
import re
import signal
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from dvxl import reminders, render, sample, tracktable
from dvxl.merge import (
    Change,
    Consolidated,
    GroupCount,
    Submission,
    Track,
)
from dvxl.model import NUMERIC_TYPES, Catalog
from dvxl.score import Evaluation, TaskScore, UnitScore
from dvxl.statuses import TrackStatus

from libreoffice import require_libreoffice

# What the sheets and the terminal show for each tracking status.
ON_TIME, LATE, INVALID, MISSING = (status.label for status in TrackStatus)

PERIOD = "2026-6T"
GENERATED = dt.datetime(2026, 6, 20, 10, 15)  # two days after the deadline (18/6)
UNITS = ("BCSUB", "DDHDND", "VPTU", "MTTQ", "HU01", "HU02")
FORMULA_TEXT = '=HYPERLINK("http://x","bấm")'  # a unit's text that must never run
GREEN, AMBER, RED = "FFC6EFCE", "FFFFEB9C", "FFFFC7CE"
FIXED = ["Tổng hợp", "Theo dõi", "Đôn đốc", "Đánh giá", "Thay đổi"]


# Building a Consolidated by hand --------------------------------------------------------------


def small_catalog(catalog: Catalog) -> Catalog:
    return dataclasses.replace(catalog, units=tuple(catalog.unit(c) for c in UNITS))


def received(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, 30)


def build(catalog: Catalog, *, changes: bool = True) -> Consolidated:
    """BCSUB, MTTQ and HU02 on time (MTTQ resubmitted), DDHDND late, VPTU invalid, HU01 silent."""
    catalog = small_catalog(catalog)
    period = catalog.period(PERIOD)
    rng = random.Random(1)
    values = {code: sample.good_values(catalog, catalog.unit(code), period, rng)
              for code in ("BCSUB", "DDHDND", "MTTQ", "HU02")}
    values["MTTQ"]["1.1.HN_SO"] = 5
    values["HU02"]["1.1.KET_QUA"] = FORMULA_TEXT
    values["HU02"]["1.1.KHO_KHAN"] = "+84 cơ sở thiếu kinh phí"
    values["HU02"]["1.1.DE_XUAT"] = "-Tăng kinh phí"
    times = {"BCSUB": received(17), "DDHDND": received(20, 8), "MTTQ": received(18, 16),
             "HU02": received(16)}
    names = {code: f"BC {PERIOD} {code}.xlsx" for code in times}
    names["MTTQ"] = f"BC {PERIOD} MTTQ (lan 2).xlsx"
    submissions = {
        code: Submission(code, names[code], f"{i:064x}", times[code], values[code], 0,
                         [f"BC {PERIOD} MTTQ (lan 1).xlsx"] if code == "MTTQ" else [])
        for i, code in enumerate(times)
    }
    vptu_note = "Tệp «BC VPTU.xlsx» còn 3 lỗi (C001 ×2, R003): cần sửa và gửi lại"
    tracking = []
    for unit in catalog.addressed_units():
        code = unit.code
        if code in submissions:
            days = max(0, (times[code].date() - period.deadline).days)
            status = TrackStatus.LATE if days else TrackStatus.ON_TIME
            tracking.append(Track(unit, status, days, 2 if code == "MTTQ" else 1,
                                  times[code], names[code], 0,
                                  f"Nộp muộn {days} ngày" if days else ""))
        elif code == "VPTU":
            tracking.append(Track(unit, TrackStatus.INVALID, 0, 1, received(16, 14),
                                  "BC VPTU.xlsx", 3, vptu_note))
        else:
            tracking.append(Track(unit, TrackStatus.MISSING, 0, 0, None, "", 0,
                                  "Chưa nộp báo cáo"))
    change_list = [Change("MTTQ", "1.1.HN_SO", 3, 5, f"BC {PERIOD} MTTQ (lan 1).xlsx",
                          names["MTTQ"])] if changes else []
    evaluation = evaluate(catalog, submissions, tracking)
    return Consolidated(catalog, period, GENERATED, submissions, tracking, change_list,
                        evaluation, group_counts(catalog, tracking))


def evaluate(catalog: Catalog, submissions: dict[str, Submission],
             tracking: list[Track]) -> Evaluation:
    """Scores straight from the self-scores; HU02's 1.1 assessed 2 points lower; BCSUB capped."""
    units = []
    for track in tracking:
        unit = track.unit
        sub = submissions.get(unit.code)
        tasks = []
        for task in catalog.tasks_for(unit):
            own = sub.values[f"{task.code}.TU_CHAM"] if sub else None
            assessed = own - 2 if unit.code == "HU02" and task.code == "1.1" else None
            tasks.append(TaskScore(task.code, catalog.points(unit.rating_group, task.code) or 0,
                                   own, assessed))
        score = UnitScore(unit.code, unit.rating_group, tasks, days_late=track.days_late)
        if sub:
            score.total = math.fsum(t.decided or 0 for t in tasks)
            level = next(lv for lv in catalog.levels if score.total >= lv.min_score)
            score.level_code, score.level, score.rated = level.code, level.name, True
        else:
            score.level = catalog.settings.not_rated
        units.append(score)
    for u in units:
        u.capped = u.unit == "BCSUB" and u.rated
        if u.capped:
            u.reasons = ["Đạt mức «A» nhưng hạ xuống «B» do giới hạn tỷ lệ", "Dòng thứ hai"]
    for group in {u.group for u in units}:
        rated = sorted((u for u in units if u.group == group and u.rated),
                       key=lambda u: -(u.total or 0))
        for u in rated:
            u.rank = 1 + sum(1 for o in rated if (o.total or 0) > (u.total or 0))
    names = [lv.name for lv in catalog.levels] + [catalog.settings.not_rated]
    counts = {g: {n: sum(1 for u in units if u.group == g and u.level == n) for n in names}
              for g in dict.fromkeys(u.group for u in units)}
    return Evaluation(units, counts)


def group_counts(catalog: Catalog, tracking: list[Track]) -> list[GroupCount]:
    rows = []
    for group in catalog.groups:
        tracks = [t for t in tracking if t.unit.rating_group == group.code]
        if tracks:
            n = Counter(t.status for t in tracks)
            on_time, late = n[TrackStatus.ON_TIME], n[TrackStatus.LATE]
            rows.append(GroupCount(group.code, group.name, len(tracks),
                                   sum(1 for t in tracks if t.files), on_time + late,
                                   on_time, late, n[TrackStatus.INVALID], n[TrackStatus.MISSING]))
    return rows


# Reading back ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def consolidated(sample_catalog: Catalog) -> Consolidated:
    return build(sample_catalog)


@pytest.fixture(scope="module")
def path(consolidated: Consolidated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "Tong hop 2026-6T.xlsx"
    render.write_consolidated(consolidated, out)
    return out


@pytest.fixture(scope="module")
def values(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in book.sheet_names}


@pytest.fixture(scope="module")
def book(path: Path) -> Any:
    return openpyxl.load_workbook(path)


def header_row(rows: list[list[Any]], first: str = "STT") -> int:
    """Index of the table header: the row whose column A is ``first``."""
    return next(i for i, r in enumerate(rows) if r and r[0] == first)


def table(rows: list[list[Any]], first: str = "STT") -> tuple[list[Any], list[list[Any]]]:
    """(header, rows down to the first empty row) of a sheet's table."""
    h = header_row(rows, first)
    body = []
    for r in rows[h + 1:]:
        if all(v in ("", None) for v in r):
            break
        body.append(r)
    return rows[h], body


def records(rows: list[list[Any]], first: str = "STT") -> list[dict[str, Any]]:
    header, body = table(rows, first)
    return [dict(zip(header, r, strict=False)) for r in body]


def addr(row: int, col: int) -> str:
    return xlsxwriter.utility.xl_rowcol_to_cell(row, col)


def formulas(book: Any) -> dict[tuple[str, int, int], str]:
    """Every formula cell of the workbook: (sheet, row, col) zero-based -> formula text."""
    return {(ws.title, c.row - 1, c.column - 1): c.value
            for ws in book.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"}


# The workbook ----------------------------------------------------------------------------------


def test_sheets_are_summaries_then_tasks_then_units(values: dict[str, Any],
                                                    consolidated: Consolidated) -> None:
    tasks = [f"NV {t.code}" for t in consolidated.catalog.tasks]
    assert list(values) == FIXED + list(render.CHART_SHEETS) + tasks + list(UNITS)
    assert all(len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name) for name in values)


def test_summary_counts_groups_with_formula_totals_and_rates(
        values: dict[str, Any], book: Any, consolidated: Consolidated) -> None:
    rows = values["Tổng hợp"]
    assert "6 THÁNG ĐẦU NĂM 2026" in rows[0][0]
    assert "hạn gửi ngày 18/06/2026" in rows[2][0] and "20/06/2026 10:15" in rows[2][0]
    header, body = table(rows)
    assert header[1:] == ["Nhóm", "Số đơn vị phải báo cáo", "Đã nộp", "Hợp lệ", "Đúng hạn",
                          "Nộp muộn", "Không hợp lệ", "Chưa nộp", "Tỷ lệ nộp",
                          "Tỷ lệ đúng hạn"]
    groups = {r[1]: r for r in body}
    huyen = groups[consolidated.catalog.groups[3].name]  # HU01 missing, HU02 on time
    assert huyen[2:9] == [2, 1, 1, 1, 0, 0, 1]
    assert huyen[9:] == [0.5, 0.5]
    total = body[-1]
    assert total[1] == "Tổng cộng"
    assert total[2:9] == [6, 5, 4, 3, 1, 1, 1]
    assert total[9] == pytest.approx(5 / 6) and total[10] == pytest.approx(3 / 6)
    ws = book["Tổng hợp"]
    h = header_row(rows)
    first, last, t = h + 1, h + len(body) - 1, h + len(body)
    assert ws[addr(t, 2)].value == f"=SUM({addr(first, 2)}:{addr(last, 2)})"
    assert ws[addr(t, 9)].value == f"=IF({addr(t, 2)}=0,0,{addr(t, 3)}/{addr(t, 2)})"
    assert ws[addr(first, 10)].value == (
        f"=IF({addr(first, 2)}=0,0,{addr(first, 5)}/{addr(first, 2)})")
    assert ws[addr(t, 9)].number_format == "0.0%"


def test_summary_counts_levels_per_group(values: dict[str, Any], book: Any,
                                         consolidated: Consolidated) -> None:
    rows = values["Tổng hợp"]
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith("2. "))
    header = rows[start + 1]
    not_rated = consolidated.catalog.settings.not_rated
    levels = [lv.name for lv in consolidated.catalog.levels] + [not_rated]
    assert header[2:2 + len(levels) + 1] == [*levels, "Tổng số"]
    body = rows[start + 2:start + 2 + len(consolidated.evaluation.counts) + 1]
    total = body[-1]
    assert total[1] == "Tổng cộng"
    assert total[2 + levels.index(not_rated)] == 2  # VPTU and HU01
    assert total[2 + len(levels)] == 6
    col = 2 + len(levels)
    assert book["Tổng hợp"][addr(start + 2, col)].value.startswith("=SUM(")


def test_task_sheet_has_every_addressed_unit_and_sums_numbers(
        values: dict[str, Any], book: Any, consolidated: Consolidated) -> None:
    catalog = consolidated.catalog
    task = catalog.task("1.1")
    inds = catalog.indicators_for(task)
    rows = values["NV 1.1"]
    header, body = table(rows)
    labels = header[4:4 + len(inds)]
    assert labels[0] == inds[0].label
    assert any(label == f"{i.label}\n({i.unit})" for label, i in zip(labels, inds, strict=True)
               if i.unit)
    assert header[:4] == ["STT", "Mã đơn vị", "Tên đơn vị", "Tình trạng nộp"]
    assert header[4 + len(inds):] == ["Tệp nguồn", "Thời gian nhận"]
    units = [r[1] for r in body[:-1]]
    assert units == list(UNITS)  # every unit is addressed by 1.1, roster order
    by_unit = {r[1]: r for r in body[:-1]}
    hn = 4 + [i.code for i in inds].index("HN_SO")
    assert by_unit["MTTQ"][hn] == 5
    assert by_unit["HU01"][3] == MISSING and all(v == "" for v in by_unit["HU01"][4:])
    assert by_unit["VPTU"][hn] == ""
    assert by_unit["HU02"][4 + [i.code for i in inds].index("KET_QUA")] == FORMULA_TEXT
    assert by_unit["BCSUB"][-1] == received(17)  # a date-time, not text
    total = body[-1]
    assert total[2] == "Tổng cộng"
    ws = book["NV 1.1"]
    h = header_row(rows)
    for col, ind in enumerate(inds, 4):
        cell = ws[addr(h + len(body), col)]
        if ind.type in NUMERIC_TYPES:
            expected = sum(consolidated.submissions[u].values[f"1.1.{ind.code}"]
                           for u in consolidated.submissions)
            assert cell.value == f"=SUM({addr(h + 1, col)}:{addr(h + len(body) - 1, col)})"
            assert total[col] == pytest.approx(expected)
        else:
            assert cell.value is None
    assert ws.freeze_panes == addr(h + 1, 4)
    assert ws.auto_filter.ref == f"A{h + 1}:{addr(h + len(body) - 1, len(header) - 1)}"


def test_task_sheet_lists_only_units_it_is_addressed_to(values: dict[str, Any]) -> None:
    _, body = table(values["NV 2.1"])
    assert [r[1] for r in body[:-1]] == ["BCSUB"]
    _, body = table(values["NV 3.1"])
    assert [r[1] for r in body[:-1]] == ["MTTQ"]


def test_unit_sheet_shows_each_task_with_scores_and_totals(
        values: dict[str, Any], book: Any, consolidated: Consolidated) -> None:
    catalog = consolidated.catalog
    rows = values["BCSUB"]
    assert rows[0][0] == catalog.unit("BCSUB").name.upper()
    facts = {r[0]: r[1] for r in rows[2:9] if r[0]}
    assert facts["Tình trạng nộp"] == ON_TIME
    assert facts["Tệp nguồn"] == f"BC {PERIOD} BCSUB.xlsx"
    assert facts["Thời gian nhận"] == received(17)
    sub = consolidated.submissions["BCSUB"]
    assert facts["Người lập báo cáo"] == sub.values["NGUOI_LAP"]
    assert facts["Số điện thoại liên hệ"] == sub.values["DIEN_THOAI"]
    assert str(sub.values["DIEN_THOAI"]).startswith("0")
    header, body = table(rows, "Nhiệm vụ")
    common = [i for i in catalog.indicators if i.is_common and i.type != "score"]
    assert header == ["Nhiệm vụ", *[i.label for i in common], "Các chỉ tiêu khác",
                      "Điểm tối đa", "Điểm tự chấm", "Điểm thẩm định", "Điểm tính"]
    tasks = catalog.tasks_for(catalog.unit("BCSUB"))
    assert [r[0] for r in body[:-1]] == [f"{t.code}. {t.title}" for t in tasks]
    first = dict(zip(header, body[0], strict=True))
    assert first["Tình hình triển khai"] == sub.values["1.1.TRANG_THAI"]
    assert first["Số văn bản đã ban hành để triển khai"] == sub.values["1.1.VB_SO"]
    hn_so = catalog.indicators[[i.code for i in catalog.indicators].index("HN_SO")]
    assert f"{hn_so.label}: {sub.values['1.1.HN_SO']} {hn_so.unit}" in first["Các chỉ tiêu khác"]
    assert first["Điểm tối đa"] == catalog.points("BCS_UBND", "1.1")
    assert first["Điểm tự chấm"] == sub.values["1.1.TU_CHAM"]
    assert first["Điểm thẩm định"] == ""
    total = body[-1]
    assert total[0] == "Tổng cộng"
    assert total[-4] == 100
    score = next(u for u in consolidated.evaluation.units if u.unit == "BCSUB")
    assert total[-1] == pytest.approx(score.total)
    h = header_row(rows, "Nhiệm vụ")
    ws = book["BCSUB"]
    assert ws[addr(h + len(body), len(header) - 1)].value == (
        f"=SUM({addr(h + 1, len(header) - 1)}:{addr(h + len(body) - 1, len(header) - 1)})")


def test_unit_sheet_of_a_silent_unit_has_blank_rows(values: dict[str, Any]) -> None:
    rows = values["HU01"]
    facts = {r[0]: r[1] for r in rows[2:10] if r[0]}
    assert facts["Tình trạng nộp"] == MISSING
    assert facts["Người lập báo cáo"] == facts["Số điện thoại liên hệ"] == ""
    assert facts["Xếp loại"] == "Không đủ điều kiện xếp loại"
    assert facts["Ghi chú"] == "Chưa nộp báo cáo"
    header, body = table(rows, "Nhiệm vụ")
    first = dict(zip(header, body[0], strict=True))
    assert all(first[h] == "" for h in header[1:-5])  # the common indicators
    assert first["Các chỉ tiêu khác"].startswith("Số hội nghị")
    assert first["Các chỉ tiêu khác"].endswith(": —")
    assert [first[h] for h in header[-4:]] == [25, "", "", ""]
    assert body[-1][-4] == 100 and body[-1][-1] == 0


def test_tracking_colours_statuses_and_counts_them(
        values: dict[str, Any], book: Any, consolidated: Consolidated) -> None:
    rows = values["Theo dõi"]
    recs = records(rows)
    assert [r["Mã"] for r in recs] == list(UNITS)
    status = {r["Mã"]: r["Tình trạng"] for r in recs}
    assert status == {"BCSUB": ON_TIME, "DDHDND": LATE, "VPTU": INVALID, "MTTQ": ON_TIME,
                      "HU01": MISSING, "HU02": ON_TIME}
    by = {r["Mã"]: r for r in recs}
    assert by["DDHDND"]["Số ngày muộn"] == 2 and by["MTTQ"]["Số tệp đã gửi"] == 2
    assert by["VPTU"]["Còn thiếu"].startswith("Tệp «BC VPTU.xlsx» còn 3 lỗi")
    assert by["VPTU"]["Lần gửi cuối"] == received(16, 14)
    # The office can ring the preparer: name and phone from the return, then the e-mail.
    contact = render.CONTACT_TITLE
    assert by["HU01"][contact].endswith("@binhan.example")  # silent: the e-mail only
    bcsub = consolidated.submissions["BCSUB"].values
    assert by["BCSUB"][contact].split("\n") == [
        bcsub["NGUOI_LAP"], bcsub["DIEN_THOAI"], consolidated.catalog.unit("BCSUB").email]
    ws = book["Theo dõi"]
    h = header_row(rows)
    fills = {ws[addr(h + 1 + i, 1)].value: ws[addr(h + 1 + i, 4)].fill.fgColor.rgb
             for i in range(len(recs))}
    assert fills == {"BCSUB": GREEN, "DDHDND": AMBER, "VPTU": RED, "MTTQ": GREEN, "HU01": RED,
                     "HU02": GREEN}
    counts = {r[2]: r[3] for r in rows[:h] if r[2] in (ON_TIME, LATE, INVALID, MISSING)}
    assert counts == {ON_TIME: 3, LATE: 1, INVALID: 1, MISSING: 1}
    row = next(i for i, r in enumerate(rows) if r[2] == ON_TIME)
    rng = f"$E${h + 2}:$E${h + 1 + len(recs)}"
    assert ws[addr(row, 3)].value == f'=COUNTIF({rng},"={ON_TIME}")'
    assert next(r[3] for r in rows[:h] if r[2] == "Tổng số đơn vị") == 6


def test_reminders_only_for_missing_and_invalid(values: dict[str, Any],
                                                consolidated: Consolidated) -> None:
    recs = records(values["Đôn đốc"])
    catalog = consolidated.catalog
    assert [r["Đơn vị"] for r in recs] == [catalog.unit("VPTU").name, catalog.unit("HU01").name]
    vptu, hu01 = (r["Nội dung nhắc"] for r in recs)
    assert "sửa 3 lỗi trong tệp «BC VPTU.xlsx»" in vptu and "gửi lại" in vptu
    assert f"chưa gửi báo cáo {consolidated.period.name}" in hu01
    assert "hạn gửi ngày 18/06/2026" in hu01
    assert recs[1]["Thư điện tử"] == catalog.unit("HU01").email
    assert recs[0]["Tình trạng"] == INVALID


def test_reminder_before_the_deadline_names_it(consolidated: Consolidated) -> None:
    early = dataclasses.replace(consolidated, generated=dt.datetime(2026, 6, 15, 8, 0))
    hu01 = next(t for t in early.tracking if t.unit.code == "HU01")
    assert reminders.reminder_text(early, hu01) == (
        f"Đề nghị {hu01.unit.name} gửi báo cáo 6 tháng đầu năm 2026 trước ngày 18/06/2026.")


def test_evaluation_levels_ranks_totals_and_charts(
        values: dict[str, Any], book: Any, path: Path, consolidated: Consolidated) -> None:
    rows = values["Đánh giá"]
    recs = records(rows)
    # grouped by rating group in catalog order (BCS_DD, CQTM, MTCTXH_TINH, HUYEN, BCS_UBND)
    assert [r["Mã"] for r in recs] == ["DDHDND", "VPTU", "MTTQ", "HU01", "HU02", "BCSUB"]
    scores = {u.unit: u for u in consolidated.evaluation.units}
    by = {r["Mã"]: r for r in recs}
    for code, rec in by.items():
        score = scores[code]
        assert rec["Xếp loại"] == (score.level or "Không đủ điều kiện xếp loại")
        assert rec["Xếp hạng trong nhóm"] == (score.rank if score.rank is not None else "")
        if score.total is None:
            assert rec["Tổng điểm"] == ""
        else:
            assert rec["Tổng điểm"] == pytest.approx(score.total)
    # The reason a level is below the total's comes from the evaluation, one per line.
    reason = render.REASON_TITLE
    assert scores["BCSUB"].capped and by["BCSUB"][reason] == "\n".join(scores["BCSUB"].reasons)
    assert "giới hạn tỷ lệ" in by["BCSUB"][reason]
    assert by["HU02"][reason] == "" and not scores["HU02"].reasons
    assert by["DDHDND"]["Số ngày muộn"] == 2
    hu02 = scores["HU02"]
    assert by["HU02"]["Điểm thẩm định"] == hu02.tasks[0].assessed
    assert by["HU02"]["Điểm tự chấm"] == pytest.approx(sum(t.self_score or 0 for t in hu02.tasks))
    ws = book["Đánh giá"]
    h = header_row(rows)
    hu02_row = h + 1 + [r["Mã"] for r in recs].index("HU02")
    unit_rows = values["HU02"]
    total_row = len(table(unit_rows, "Nhiệm vụ")[1]) + header_row(unit_rows, "Nhiệm vụ")
    assert ws[addr(hu02_row, 6)].value == f"='HU02'!{addr(total_row, 11)}"
    counts_at = next(i for i, r in enumerate(rows) if r[0] == "Số đơn vị theo mức xếp loại và nhóm")
    count_rows = rows[counts_at + 1:]
    all_units = next(r for r in count_rows if r[1] == "Tất cả đơn vị")
    levels = count_rows[0][4:]
    assert all_units[4 + levels.index("Không đủ điều kiện xếp loại")] == 2
    assert all_units[4 + levels.index("Tổng số")] == 6
    formula = ws[addr(counts_at + 2, 4)].value
    assert formula.startswith("=COUNTIFS($D$") and f'"={levels[0]}"' in formula
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        charts = [n for n in names if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        # Bar and pie, each on a chart sheet (print) and beside the tables (screen).
        assert len(charts) == 4
        xml = " ".join(z.read(n).decode() for n in charts)
    assert "<c:barChart>" in xml and "<c:pieChart>" in xml
    assert "&apos;Đánh giá&apos;!$G$" in xml or "'Đánh giá'!$G$" in xml
    # Each chart on a chart sheet of its own, which prints as one page.
    assert [c.title for c in book.chartsheets] == list(render.CHART_SHEETS)
    total_at = next(i for i, r in enumerate(rows) if r[1] == "Tất cả đơn vị")
    assert ws.print_area == f"'Đánh giá'!$A$1:$K${total_at + 1}"  # not the charts beside


def test_evaluation_total_disagreeing_with_the_tasks_is_shown_as_the_decided_number(
        consolidated: Consolidated, tmp_path: Path) -> None:
    units = [dataclasses.replace(u, tasks=list(u.tasks)) for u in consolidated.evaluation.units]
    hu02 = next(u for u in units if u.unit == "HU02")
    hu02.total = 12.0  # e.g. an evaluation that deducted points for lateness
    changed = dataclasses.replace(consolidated, evaluation=Evaluation(
        units, consolidated.evaluation.counts))
    out = tmp_path / "b.xlsx"
    render.write_consolidated(changed, out)
    ws = openpyxl.load_workbook(out)["Đánh giá"]
    cell = next(r[6] for r in ws.iter_rows() if r[1].value == "HU02")
    assert cell.data_type == "n" and cell.value == 12.0


def test_changes_resolve_the_indicator_label(values: dict[str, Any],
                                             consolidated: Consolidated) -> None:
    recs = records(values["Thay đổi"])
    label = next(i.label for i in consolidated.catalog.indicators if i.code == "HN_SO")
    assert recs == [{
        "STT": 1, "Mã": "MTTQ", "Đơn vị": consolidated.catalog.unit("MTTQ").name,
        "Chỉ tiêu": f"1.1 — {label}", "Giá trị cũ": 3, "Giá trị mới": 5,
        "Tệp cũ": f"BC {PERIOD} MTTQ (lan 1).xlsx", "Tệp mới": f"BC {PERIOD} MTTQ (lan 2).xlsx",
    }]


def test_without_changes_one_line_says_so(sample_catalog: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "none.xlsx"
    render.write_consolidated(build(sample_catalog, changes=False), out)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Thay đổi").to_python(
        skip_empty_area=False)
    _, body = table(rows)
    assert len(body) == 1 and body[0][2].startswith("Không có số liệu nào thay đổi")


def test_unit_text_starting_with_formula_characters_stays_text(book: Any) -> None:
    texts = {FORMULA_TEXT, "+84 cơ sở thiếu kinh phí", "-Tăng kinh phí"}
    seen = {}
    for name in ("NV 1.1", "HU02"):
        for row in book[name].iter_rows():
            for cell in row:
                if cell.value in texts:
                    seen[(name, cell.value)] = cell.data_type
    assert seen == {(n, t): "s" for n in ("NV 1.1", "HU02") for t in texts}


def test_every_sheet_prints_on_a4_in_times_new_roman(book: Any) -> None:
    for ws in book.worksheets:
        assert ws.page_setup.paperSize == 9, ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_margins.left == pytest.approx(30 / 25.4), ws.title
        assert ws.oddHeader.center.text == "&P", ws.title
        assert ws["A1"].font.name == "Times New Roman", ws.title
        if ws.title not in ("Tổng hợp", "Đánh giá"):  # render._evaluation says why not
            assert ws.print_title_rows, ws.title
            assert ws.freeze_panes, ws.title
        # One page wide, however many columns (tests/test_print.py prints them).
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.scale is None and not ws.print_title_cols, ws.title


def test_sheet_names_are_made_valid_and_unique(sample_catalog: Catalog, tmp_path: Path) -> None:
    catalog = small_catalog(sample_catalog)
    renamed = {"BCSUB": "Tổng hợp", "DDHDND": "A/B:[C]*?", "VPTU": "X" * 40, "MTTQ": "x" * 45,
               "HU01": "'quoted'", "HU02": "history"}
    units = tuple(dataclasses.replace(u, code=renamed[u.code]) for u in catalog.units)
    c = build(sample_catalog)
    new = {u.code: u for u in units}
    c = dataclasses.replace(
        c, catalog=dataclasses.replace(c.catalog, units=units),
        tracking=[dataclasses.replace(t, unit=new[renamed[t.unit.code]]) for t in c.tracking],
        submissions={renamed[k]: dataclasses.replace(v, unit=renamed[k])
                     for k, v in c.submissions.items()},
        evaluation=Evaluation([dataclasses.replace(u, unit=renamed[u.unit])
                               for u in c.evaluation.units], c.evaluation.counts))
    out = tmp_path / "names.xlsx"
    render.write_consolidated(c, out)
    names = CalamineWorkbook.from_path(str(out)).sheet_names
    assert names[-6:] == ["Tổng hợp (2)", "A_B__C___", "X" * 31, "x" * 27 + " (2)", "quoted",
                          "history_"]


def test_tracking_lines_align_columns_and_count_statuses(consolidated: Consolidated) -> None:
    lines = tracktable.tracking_lines(consolidated)
    assert lines[0].split()[:4] == ["STT", "Mã", "Tên", "đơn"]
    assert len(lines) == 2 + len(UNITS) + 1
    start = lines[0].index("Tình trạng")
    for line, track in zip(lines[2:-1], consolidated.tracking, strict=True):
        assert line[start:].startswith(track.status.label)
        assert track.unit.code in line
        group = next(g.name for g in consolidated.catalog.groups
                     if g.code == track.unit.rating_group)
        assert group[:31] in line and f" {track.unit.rating_group} " not in line
    assert lines[-1] == ("Đúng hạn: 3 · Nộp muộn: 1 · Không hợp lệ: 1 · Chưa nộp: 1 · "
                         "Tổng số: 6 đơn vị")


# Real LibreOffice ---------------------------------------------------------------------------------

# LibreOffice 7.4 does not recalculate an .xlsx on load by default ("Recalculation on File
# Load: Excel 2007 and newer" is "Never recalculate"): it shows the stored results. The
# profile below sets it to "Always", so the converted copy holds LibreOffice's own results.
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking"
 oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def recalculate(soffice: str, sources: list[Path], outdir: Path) -> None:
    """Open each file in LibreOffice with full recalculation on load and save it as .xlsx."""
    profile = outdir.parent / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE, "utf-8")
    proc = subprocess.Popen(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "xlsx", "--outdir", str(outdir), *map(str, sources)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own process group: a hung soffice.bin is killed too
    try:
        _, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err
    assert all((outdir / src.name).exists() for src in sources), err


def test_libreoffice_recalculates_every_formula_to_the_stored_value(
        path: Path, book: Any, values: dict[str, Any], tmp_path: Path) -> None:
    client = require_libreoffice()
    # A control whose stored result is wrong proves LibreOffice really recalculated.
    control = tmp_path / "control.xlsx"
    wb = xlsxwriter.Workbook(str(control))
    sheet = wb.add_worksheet()
    sheet.write_number(0, 0, 2)
    sheet.write_formula(1, 0, "=A1*3", None, 999)
    wb.close()
    outdir = tmp_path / "lo"
    recalculate(client.soffice, [path, control], outdir)
    checked = CalamineWorkbook.from_path(str(outdir / control.name))
    assert checked.get_sheet_by_index(0).to_python()[1][0] == 6
    lo_book = CalamineWorkbook.from_path(str(outdir / path.name))
    lo = {name: lo_book.get_sheet_by_name(name).to_python(skip_empty_area=False)
          for name in lo_book.sheet_names}
    cells = formulas(book)
    assert len(cells) > 100
    kinds = Counter(re.match(r"=([A-Z]*)", f).group(1) or "ref" for f in cells.values())
    assert {"SUM", "IF", "COUNTIF", "COUNTIFS", "ref"} <= set(kinds)
    wrong = []
    for (name, r, col), text in cells.items():
        ours, theirs = values[name][r][col], lo[name][r][col]
        if not (isinstance(theirs, int | float) and theirs == pytest.approx(ours, abs=1e-9)):
            wrong.append(f"{name}!{addr(r, col)} {text}: ours {ours!r}, LibreOffice {theirs!r}")
    assert not wrong, "\n".join(wrong)
