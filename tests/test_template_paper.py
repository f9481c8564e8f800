"""The form a unit fills, prints and signs (issue 15), read back from the written templates.

The letterhead is the unit's body's (the Party's form for Party bodies, their own for the
Front and the mass organisations) and so is the signature block; long unit names wrap in
rows made tall enough (LibreOffice does not grow them); internal codes are in a hidden
column and the «STT» column does not repeat the task's code; the phone cell is text, so
that what LibreOffice saves keeps its leading zero and dvxl reads «0912345678» back.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook
from python_calamine import CalamineWorkbook
from test_print import page_bound, pdf_pages, sheets

from dvxl import form, printing, template
from dvxl.checks import check_book
from dvxl.model import Catalog
from dvxl.reader import read_book
from dvxl.workspace import Workspace

from libreoffice import CellEdit, FillJob, Output, Typed, fill_and_save, require_libreoffice

PERIOD = "2026-6T"  # the period conftest's built_workspace made templates for
OOXML = Path("/work/shared/tools/ooxml/validate.py")
PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
STATE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"

#: Per unit: the letterhead's left column (superior, unit, mark), its right column (heading,
#: motto or nothing, place and date) and the signature block's bold lines.
LETTERHEADS = [
    pytest.param(
        "HU01", ["ĐẢNG BỘ TỈNH BÌNH AN", "HUYỆN ỦY AN LẠC", "*"], [PARTY, ""],
        ["T/M BAN THƯỜNG VỤ"], id="huyen-uy",
    ),
    pytest.param(
        "DDHDND", ["ĐẢNG BỘ TỈNH BÌNH AN", "ĐẢNG ĐOÀN HỘI ĐỒNG NHÂN DÂN TỈNH", "*"], [PARTY, ""],
        ["T/M ĐẢNG ĐOÀN"], id="dang-doan",
    ),
    pytest.param(
        "BCSTAND", ["ĐẢNG BỘ TỈNH BÌNH AN", "BAN CÁN SỰ ĐẢNG TÒA ÁN NHÂN DÂN TỈNH", "*"],
        [PARTY, ""], ["T/M BAN CÁN SỰ ĐẢNG"], id="ban-can-su-dang",
    ),
    pytest.param(
        "BTCTU", ["TỈNH ỦY BÌNH AN", "BAN TỔ CHỨC TỈNH ỦY", "*"], [PARTY, ""], ["TRƯỞNG BAN"],
        id="ban-cua-tinh-uy",
    ),
    pytest.param(
        "MTTQ", ["ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM TỈNH", "", ""],
        [STATE, "Độc lập - Tự do - Hạnh phúc"], ["TM. BAN THƯỜNG TRỰC"], id="mat-tran",
    ),
    pytest.param(
        "HLHPN", ["HỘI LIÊN HIỆP PHỤ NỮ TỈNH", "", ""], [STATE, "Độc lập - Tự do - Hạnh phúc"],
        ["TM. BAN THƯỜNG VỤ"], id="to-chuc-chinh-tri-xa-hoi",
    ),
    pytest.param(
        "TDOAN", ["TỈNH ĐOÀN (ĐOÀN THANH NIÊN CỘNG SẢN HỒ CHÍ MINH TỈNH)", "***", ""],
        ["ĐOÀN TNCS HỒ CHÍ MINH", ""], ["TM. BAN THƯỜNG VỤ TỈNH ĐOÀN"], id="tinh-doan",
    ),
]
#: Three unit groups' forms, printed and filled in LibreOffice.
PRINTED = ("HU01", "MTTQ", "TDOAN")


@pytest.fixture(scope="module")
def catalog(built_workspace: Workspace) -> Catalog:
    return built_workspace.load()


@pytest.fixture(scope="module")
def folder(built_workspace: Workspace) -> Path:
    return Path(built_workspace.templates(PERIOD))


def _path(folder: Path, unit_code: str) -> Path:
    (found,) = folder.glob(f"{PERIOD}_{unit_code}_*.xlsx")
    return found


@cache
def _book(path: Path) -> Workbook:
    return openpyxl.load_workbook(path)


@cache
def _rows(path: Path, sheet: str = form.FORM) -> list[list[Any]]:
    data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    return [list(row) for row in data.to_python(skip_empty_area=False)]


def _at(rows: list[list[Any]], r: int, c: int) -> Any:
    return rows[r][c] if r < len(rows) and c < len(rows[r]) else ""


# The letterhead and the signature block ---------------------------------------------------


@pytest.mark.parametrize(("unit_code", "left", "right", "signature"), LETTERHEADS)
def test_letterhead_and_signature_are_those_of_the_units_body(
    folder: Path, catalog: Catalog, unit_code: str, left: list[str], right: list[str],
    signature: list[str],
) -> None:
    path = _path(folder, unit_code)
    rows = _rows(path)
    assert [_at(rows, r, form.COL_NO) for r in range(3)] == left
    assert [_at(rows, r, form.COL_UNIT) for r in range(2)] == right
    assert str(_at(rows, 2, form.COL_UNIT)).startswith("Bình An, ngày")
    last = form.form_rows(catalog, catalog.unit(unit_code))[-1].row
    below = [str(_at(rows, r, form.COL_UNIT)) for r in range(last + 1, len(rows))]
    assert [line for line in below if line] == [*signature, "(Ký, ghi rõ họ tên, đóng dấu)"]
    # The heading's last line carries the rule below it; the signature lines are bold.
    sheet = _book(path)[form.FORM]
    ruled = sheet.cell(len([x for x in right if x]), form.COL_UNIT + 1).font
    assert ruled.u == "single" and ruled.b
    assert all(sheet.cell(r + 1, form.COL_UNIT + 1).font.b
               for r in range(last + 1, len(rows)) if _at(rows, r, form.COL_UNIT) in signature)


def test_no_template_is_signed_by_the_states_head_of_unit(folder: Path) -> None:
    for path in folder.glob("*.xlsx"):
        text = " ".join(str(cell) for row in _rows(path) for cell in row)
        assert "THỦ TRƯỞNG ĐƠN VỊ" not in text, path.name


# Long names, codes, STT ------------------------------------------------------------------


def _lines(text: str, width: float) -> int:
    """Lines a bold or capital ``text`` takes in ``width`` characters, counted generously:
    about 1.1 character widths per capital or bold letter."""
    return math.ceil(len(text) * 1.1 / width)


@pytest.mark.parametrize("unit_code", ["TDOAN", "DDLHH", "HU01"])
def test_unit_names_wrap_in_rows_tall_enough_for_them(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    """The name in the identity block (column E, bold) and upper-cased in the letterhead
    (columns A:C) wrap, in rows whose height LibreOffice keeps as written."""
    unit = catalog.unit(unit_code)
    sheet = _book(_path(folder, unit_code))[form.FORM]
    name_row = form.IDENTITY_FIRST_ROW - 2
    cell = sheet.cell(name_row + 1, form.COL_VALUE + 1)
    assert cell.value == unit.name and cell.alignment.wrap_text
    for row, text, width in (
        (name_row, unit.name, template.WIDTHS[form.COL_VALUE]),
        (1 if catalog.letterhead(unit).superior else 0, unit.name.upper(), template.LEFT_WIDTH),
    ):
        height = sheet.row_dimensions[row + 1].height
        lines = _lines(text, width)
        assert height is not None and height >= lines * printing.LINE_HEIGHT, (row, text)
        assert height < (lines + 2) * printing.LINE_HEIGHT, (row, text)  # not blanket-tall
    if unit_code == "TDOAN":  # the name of issue 15: two lines, not over the code below
        assert sheet.row_dimensions[name_row + 1].height >= 2 * printing.LINE_HEIGHT


@pytest.mark.parametrize("unit_code", ["HU01", "MTTQ"])
def test_internal_codes_are_in_a_hidden_column_the_unit_cannot_show(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    path = _path(folder, unit_code)
    sheet = _book(path)[form.FORM]
    code_letter = "B"
    assert form.COL_CODE == 1 and sheet.column_dimensions[code_letter].hidden
    assert not any(sheet.column_dimensions[c].hidden for c in "ACDEF")
    # Protected without «format columns»: the column cannot be shown again.
    assert sheet.protection.sheet and sheet.protection.formatColumns
    # The readers still find every row by its code in the hidden column ...
    unit = catalog.unit(unit_code)
    rows = _rows(path)
    for row in form.form_rows(catalog, unit):
        if row.kind in ("identity", "indicator", "task"):
            expected = row.indicator.code if row.indicator else (
                row.task.code if row.kind == "task" and row.task else row.key)
            assert _at(rows, row.row, form.COL_CODE) == expected
    # ... and no visible cell shows one.
    codes = {i.code for i in catalog.indicators} | {c for c, *_ in form.IDENTITY}
    visible = [c for c in range(len(form.HEADERS)) if c != form.COL_CODE]
    shown = {str(_at(rows, r, c)) for r in range(len(rows)) for c in visible}
    assert not shown & codes


@pytest.mark.parametrize("unit_code", ["BCSUB", "MTTQ"])
def test_stt_numbers_tasks_in_roman_and_indicators_from_one_without_the_task_code(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    rows = _rows(_path(folder, unit_code))
    layout = form.form_rows(catalog, catalog.unit(unit_code))
    tasks = [r for r in layout if r.kind == "task"]
    assert [_at(rows, r.row, form.COL_NO) for r in tasks] == [
        "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"][: len(tasks)]
    for task in tasks:
        numbers = [_at(rows, r.row, form.COL_NO) for r in layout
                   if r.kind == "indicator" and r.task == task.task]
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    assert not {str(_at(rows, r.row, form.COL_NO)) for r in layout} & {t.key for t in tasks}


# The phone number --------------------------------------------------------------------------


def test_the_phone_cell_is_text_and_the_other_identity_cells_keep_their_formats(
    folder: Path, catalog: Catalog
) -> None:
    sheet = _book(_path(folder, "HU01"))[form.FORM]
    cells = {r.key: sheet[r.cell] for r in form.form_rows(catalog, catalog.unit("HU01"))
             if r.kind == "identity"}
    assert cells["DIEN_THOAI"].number_format == "@"
    assert cells["DIEN_THOAI"].protection.locked is False
    assert cells["NGUOI_LAP"].number_format == "General"
    assert cells["NGAY_BC"].number_format == "dd/mm/yyyy"


def test_a_phone_typed_in_libreoffice_keeps_its_leading_zero_in_every_format(
    built_workspace: Workspace, folder: Path, catalog: Catalog, tmp_path: Path
) -> None:
    """Typed as a clerk types it (interpreted by the cell's format), saved three ways and
    read by dvxl: «0912345678», no warning. The same typing into a General cell (the name
    cell here, as the phone cell was before issue 15) gives the number 912345678."""
    client = require_libreoffice()
    unit = catalog.unit("HU01")
    cells = {r.key: r.cell for r in form.form_rows(catalog, unit) if r.kind == "identity"}
    outputs = {fmt: tmp_path / f"HU01.{fmt}" for fmt in ("xlsx", "xls", "ods")}
    edits = [CellEdit(form.FORM, cells["DIEN_THOAI"], Typed("0912345678")),
             CellEdit(form.FORM, cells["NGUOI_LAP"], Typed("0912345678"))]
    (result,) = fill_and_save(
        [FillJob(_path(folder, "HU01"), edits, [Output(p, f) for f, p in outputs.items()])],
        client=client, timeout=180,
    )
    assert result.ok, result
    period = catalog.period(PERIOD)
    for fmt, path in outputs.items():
        book = read_book(path).book
        assert book is not None, fmt
        rows = book.sheets[form.FORM].rows
        phone_row = int(cells["DIEN_THOAI"][1:]) - 1
        name_row = int(cells["NGUOI_LAP"][1:]) - 1
        assert rows[phone_row][form.COL_VALUE] == "0912345678", fmt
        assert rows[name_row][form.COL_VALUE] in (912345678, 912345678.0), fmt
        checked = check_book(book, catalog, period, built_workspace.seal())
        assert checked.identity.unit == unit, fmt
        assert checked.values["DIEN_THOAI"] == "0912345678", fmt
        assert not [f for f in checked.findings if f.code == "W109"], fmt


# On paper ------------------------------------------------------------------------------------


def test_templates_pass_the_ooxml_checker(folder: Path) -> None:
    if not OOXML.is_file():
        pytest.skip("the OOXML checker of ../shared/tools is not on this machine")
    paths = [str(_path(folder, code)) for code in PRINTED]
    done = subprocess.run([sys.executable, str(OOXML), *paths],
                          capture_output=True, text=True, timeout=300)
    faults = [line for line in done.stdout.splitlines()
              if line.startswith("[") and "-info]" not in line]
    assert done.returncode == 0 and faults == [], done.stdout[-2000:]


def test_the_form_prints_one_page_wide_with_every_page_starting_at_stt(
    folder: Path, tmp_path: Path
) -> None:
    """LibreOffice's PDF of three groups' templates: every page of the form carries the
    «STT» column (a page continued to the right would not), and the page count stays
    within the bound of the sheets' row heights at the scale that fits their width."""
    client = require_libreoffice()
    sources = [_path(folder, code) for code in PRINTED]
    pages = pdf_pages(client.soffice, sources, tmp_path / "pdf")
    for source in sources:
        found = sheets(source)
        bound = page_bound(found[form.GUIDE][0]) + page_bound(found[form.FORM][0])
        assert 2 <= pages[source.name] <= bound, (source.name, pages, bound)
        text = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "pdf" / f"{source.stem}.pdf"), "-"],
            check=True, capture_output=True, text=True).stdout
        form_pages = [p for p in text.split("\f") if p.strip()][1:]  # after the guide
        assert form_pages and all(re.search(r"^\s*STT\b", p, re.M) for p in form_pages)
        assert not any(code in text for code in ("NGUOI_LAP", "TRANG_THAI", "VB_SO"))
