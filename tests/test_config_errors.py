"""Bad configuration stops dvxl with a Vietnamese message naming the sheet and row.

The master is edited the way a secretariat would (a cell changed and the file
saved by a spreadsheet program: openpyxl here), then the command line is run as
a user would run it. No traceback may reach the user.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from dvxl import workspace
from dvxl.cli import main
from dvxl.errors import ConfigError

from conftest import SAMPLE


def row_of(sheet: Worksheet, code: str, column: int = 1) -> int:
    """The sheet row whose first cell holds ``code``."""
    for row in sheet.iter_rows(min_row=1):
        if str(row[column - 1].value) == code:
            return row[0].row
    raise AssertionError(f"{code} not found in {sheet.title}")


def column_of(sheet: Worksheet, header: str) -> int:
    for row in sheet.iter_rows(min_row=1, max_row=10):
        for cell in row:
            if cell.value == header:
                return cell.column
    raise AssertionError(f"{header} not found in {sheet.title}")


def edit_master(master: Path, change: Callable[[openpyxl.Workbook], int]) -> int:
    """Apply ``change`` to the master and save it; return the row it changed."""
    book = openpyxl.load_workbook(master)
    row = change(book)
    book.save(master)
    return row


def task_without_group(book: openpyxl.Workbook) -> int:
    sheet = book["Nhiệm vụ"]
    row = row_of(sheet, "1.3")
    sheet.cell(row, column_of(sheet, "Nhóm được giao")).value = None
    return row


def points_not_100(book: openpyxl.Workbook) -> int:
    sheet = book["Biểu điểm"]
    row = row_of(sheet, "HUYEN")
    sheet.cell(row, column_of(sheet, "Điểm tối đa")).value = 20
    return row


def unknown_type(book: openpyxl.Workbook) -> int:
    sheet = book["Chỉ tiêu"]
    row = row_of(sheet, "HN_SO", column=column_of(sheet, "Mã chỉ tiêu"))
    sheet.cell(row, column_of(sheet, "Kiểu dữ liệu")).value = "Tiền tệ"
    return row


def duplicate_unit(book: openpyxl.Workbook) -> int:
    sheet = book["Đơn vị"]
    first = sheet.cell(4, 1).value
    sheet.cell(5, 1).value = first
    return 5


def bad_rule(book: openpyxl.Workbook) -> int:
    sheet = book["Quy tắc"]
    sheet.cell(4, column_of(sheet, "Biểu thức")).value = "KN_XL <= "
    return 4


def unknown_group(book: openpyxl.Workbook) -> int:
    sheet = book["Đơn vị"]
    sheet.cell(6, column_of(sheet, "Nhóm")).value = "HUYEN, XA"
    return 6


def bad_date(book: openpyxl.Workbook) -> int:
    sheet = book["Kỳ báo cáo"]
    sheet.cell(4, column_of(sheet, "Hạn gửi báo cáo")).value = "31/02/2026"
    return 4


def deadline_before_cutoff(book: openpyxl.Workbook) -> int:
    sheet = book["Kỳ báo cáo"]
    end = sheet.cell(4, column_of(sheet, "Đến ngày (chốt số liệu)")).value
    sheet.cell(4, column_of(sheet, "Hạn gửi báo cáo")).value = end
    return 4


def unknown_letterhead(book: openpyxl.Workbook) -> int:
    sheet = book["Đơn vị"]
    row = row_of(sheet, "HU01")
    sheet.cell(row, column_of(sheet, "Tiêu đề mẫu")).value = "KHONG_CO"
    return row


def unknown_placeholder(book: openpyxl.Workbook) -> int:
    sheet = book["Tiêu đề mẫu"]
    row = row_of(sheet, "DANG_UY")
    sheet.cell(row, column_of(sheet, "Cơ quan cấp trên")).value = "ĐẢNG BỘ {huyen}"
    return row


CASES = [
    (task_without_group, "Nhiệm vụ", "chưa được giao cho nhóm nào"),
    (points_not_100, "Biểu điểm", "phải bằng 100"),
    (unknown_type, "Chỉ tiêu", "kiểu dữ liệu «Tiền tệ» không có"),
    (duplicate_unit, "Đơn vị", "bị trùng"),
    (bad_rule, "Quy tắc", "biểu thức sai"),
    (unknown_group, "Đơn vị", "nhóm «XA» không có"),
    (bad_date, "Kỳ báo cáo", "không phải ngày hợp lệ"),
    (deadline_before_cutoff, "Kỳ báo cáo", "hạn gửi phải sau ngày chốt"),
    (unknown_letterhead, "Đơn vị", "tiêu đề «KHONG_CO» không có trong trang tính «Tiêu đề mẫu»"),
    (unknown_placeholder, "Tiêu đề mẫu", "chỉ dùng được {tinh}"),
]


@pytest.mark.parametrize(("change", "sheet", "words"), CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_master_stops_with_sheet_and_row(
    fresh_workspace: workspace.Workspace,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[openpyxl.Workbook], int],
    sheet: str,
    words: str,
) -> None:
    row = edit_master(fresh_workspace.master, change)
    code = main(["templates", "--period", "2026-6T", "-w", str(fresh_workspace.root)])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code
    assert "Traceback" not in err
    assert f"Trang tính «{sheet}», dòng {row}" in err
    assert words in err
    assert not fresh_workspace.templates("2026-6T").exists()


def test_every_problem_is_reported_at_once(fresh_workspace: workspace.Workspace) -> None:
    def both(book: openpyxl.Workbook) -> int:
        task_without_group(book)
        return duplicate_unit(book)

    edit_master(fresh_workspace.master, both)
    with pytest.raises(ConfigError) as caught:
        fresh_workspace.load()
    text = "\n".join(caught.value.problems)
    assert "chưa được giao cho nhóm nào" in text and "bị trùng" in text


def test_missing_sheet_is_named(
    fresh_workspace: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.load_workbook(fresh_workspace.master)
    del book["Xếp loại"]
    book.save(fresh_workspace.master)
    assert main(["catalog", "check", "-w", str(fresh_workspace.root)]) == ConfigError.exit_code
    assert "thiếu trang tính «Xếp loại»" in capsys.readouterr().err


def test_master_that_is_not_a_workbook_gives_a_message(
    fresh_workspace: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_workspace.master.write_bytes(b"%PDF-1.4 not a workbook")
    assert main(["catalog", "check", "-w", str(fresh_workspace.root)]) == 2
    err = capsys.readouterr().err
    assert "Không mở được sổ tổng hợp" in err and "Traceback" not in err


def test_bad_text_catalog_names_file_and_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(SAMPLE, catalog)
    units = catalog / "units.yaml"
    units.write_text(
        units.read_text(encoding="utf-8").replace("groups: [HUYEN]", "groups: []", 1),
        encoding="utf-8",
    )
    code = main(["init", str(tmp_path / "ws"), "--catalog", str(catalog)])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code
    assert "units.yaml: units #" in err and "chưa thuộc nhóm nào" in err
    assert not (tmp_path / "ws" / "master.xlsm").exists()


def test_yaml_syntax_error_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(SAMPLE, catalog)
    (catalog / "periods.yaml").write_text("periods:\n- code: [unclosed\n", encoding="utf-8")
    assert main(["init", str(tmp_path / "ws"), "--catalog", str(catalog)]) == ConfigError.exit_code
    assert "periods.yaml, dòng" in capsys.readouterr().err
