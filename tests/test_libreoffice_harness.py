"""The LibreOffice harness itself, against real LibreOffice.

One batch (one soffice process) fills a protected XlsxWriter template the way
a unit clerk would and saves it as .xlsx, .xls and .ods; the outputs are read
back with python-calamine (values) and openpyxl/zipfile (protection).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from libreoffice import (
    Batch,
    CellEdit,
    FillJob,
    Format,
    Output,
    Result,
    require_libreoffice,
    run_batch,
)

SHEET = "Báo cáo"
LOCKED_TEXT = "Không được sửa"
TYPED_TEXT = unicodedata.normalize("NFC", "Đã triển khai, quán triệt")
TYPED_DATE = dt.date(2026, 3, 15)
FORMATS: tuple[Format, ...] = ("xlsx", "xls", "ods")


def _make_template(path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet(SHEET)
    unlocked = workbook.add_format({"locked": False})
    sheet.write_string("A1", "Chỉ tiêu")
    sheet.write_blank("B2", None, unlocked)
    sheet.write_blank("C2", None, unlocked)
    sheet.write_blank("D2", None, unlocked)
    sheet.write_string("B3", LOCKED_TEXT)
    sheet.protect()
    workbook.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Batch]:
    client = require_libreoffice()
    tmp = tmp_path_factory.mktemp("lo")
    template = tmp / "mau.xlsx"
    _make_template(template)
    filled = FillJob(
        source=template,
        edits=[
            CellEdit(SHEET, "B2", 12),
            CellEdit(SHEET, "C2", TYPED_TEXT),
            CellEdit(SHEET, "D2", TYPED_DATE),
            CellEdit(SHEET, "B3", "sửa trái phép"),
        ],
        outputs=[Output(tmp / f"filled.{fmt}", fmt) for fmt in FORMATS],
    )
    # A clerk's mistakes must not break the batch: a wrong sheet name, a bad
    # address, and a file that does not exist.
    mistakes = FillJob(
        source=template,
        edits=[
            CellEdit("Không có", "A1", 1),
            CellEdit(SHEET, "ZZZ0", 1),
            CellEdit(SHEET, "C2", 2.5),
        ],
        outputs=[Output(tmp / "mistakes.ods", "ods")],
    )
    missing = FillJob(
        source=tmp / "khong-ton-tai.xlsx",
        edits=[CellEdit(SHEET, "B2", 1)],
        outputs=[Output(tmp / "never.xlsx", "xlsx")],
    )
    return tmp, run_batch([filled, mistakes, missing], client=client)


def _cells(path: Path) -> list[list[object]]:
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET)
    return [list(row) for row in sheet.to_python(skip_empty_area=False)]


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        assert value.time() == dt.time(), value
        return value.date()
    assert isinstance(value, dt.date), repr(value)
    return value


def test_edits_report_success_and_locked_cell_is_refused(batch: tuple[Path, Batch]) -> None:
    _, run = batch
    result = run.results[0]
    assert result.errors == []
    assert [r.ok for r in result.edits] == [True, True, True, False]
    refused = result.edit(SHEET, "B3")
    assert "protected" in refused.error
    assert not result.ok
    assert [p.suffix for p in result.written] == [".xlsx", ".xls", ".ods"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in result.written)


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_come_back(batch: tuple[Path, Batch], fmt: str) -> None:
    tmp, _ = batch
    rows = _cells(tmp / f"filled.{fmt}")
    number, text, date = rows[1][1], rows[1][2], rows[1][3]
    # calamine: .xls numbers are ints, .xlsx/.ods numbers floats.
    assert type(number) is (int if fmt == "xls" else float)
    assert number == 12
    assert text == TYPED_TEXT
    assert _as_date(date) == TYPED_DATE
    assert rows[2][1] == LOCKED_TEXT
    assert rows[0][0] == "Chỉ tiêu"


def test_xlsx_keeps_protection_and_unlocked_cells(batch: tuple[Path, Batch]) -> None:
    tmp, _ = batch
    sheet = openpyxl.load_workbook(tmp / "filled.xlsx")[SHEET]
    assert sheet.protection.sheet is True
    assert sheet["B2"].protection.locked is False
    assert sheet["D2"].protection.locked is False
    assert sheet["B3"].protection.locked is True
    assert sheet["D2"].is_date


def test_ods_keeps_protection(batch: tuple[Path, Batch]) -> None:
    tmp, _ = batch
    with zipfile.ZipFile(tmp / "filled.ods") as archive:
        content = archive.read("content.xml").decode("utf-8")
    assert f'table:name="{SHEET}" table:style-name' in content or SHEET in content
    assert 'table:protected="true"' in content


def test_mistakes_are_reported_not_fatal(batch: tuple[Path, Batch]) -> None:
    tmp, run = batch
    mistakes: Result = run.results[1]
    assert [r.ok for r in mistakes.edits] == [False, False, True]
    assert "Không có" in mistakes.edits[0].error
    assert mistakes.errors == []
    assert mistakes.written == [tmp / "mistakes.ods"]
    assert _cells(tmp / "mistakes.ods")[1][2] == 2.5

    missing: Result = run.results[2]
    assert missing.errors and missing.errors[0].startswith("open failed")
    assert missing.written == []
    assert [r.ok for r in missing.edits] == [False]
    assert not (tmp / "never.xlsx").exists()


def test_one_batch_timings_are_recorded(batch: tuple[Path, Batch]) -> None:
    _, run = batch
    assert 0 < run.startup_seconds < run.total_seconds
    assert all(r.seconds >= 0 for r in run.results)
