"""The master workbook: the secretariat's own copy of the configuration.

``dvxl init`` writes it once with XlsxWriter; from then on Excel owns it and
dvxl only reads it (with python-calamine) — it never saves over the master.
Each config table of :mod:`dvxl.schema` is one sheet: a title, a note, a header
row, then one record per row. Reading finds the header row and the columns by
their Vietnamese headers, so a secretariat that adds a title line or moves a
column does not break anything.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import xlsxwriter
from python_calamine import CalamineError, CalamineWorkbook

from dvxl import printing
from dvxl.catalog import LEVEL_VARIABLES, Row, Tables, build, to_tables
from dvxl.errors import ConfigError, UsageError
from dvxl.model import INDICATOR_TYPES, Catalog
from dvxl.schema import (
    NO,
    POSITION_LABELS,
    SEVERITY_LABELS,
    TABLES,
    YES,
    Table,
    cell_value,
)

COVER = "Bìa"
HEADER_ROW = 2  # zero-based: title, note, header
_KV_HEADERS = ("Mã", "Nội dung", "Giá trị")
_DROPDOWNS = {
    "bool": [YES, NO],
    "type": list(INDICATOR_TYPES.values()),
    "position": list(POSITION_LABELS.values()),
    "severity": list(SEVERITY_LABELS.values()),
}
_NOTES = {
    "directive": "Thông tin văn bản chỉ đạo; in trên tiêu đề mẫu biểu và báo cáo.",
    "settings": "Tăng «Phiên bản mẫu biểu» mỗi khi sửa nhiệm vụ, chỉ tiêu hoặc quy tắc.",
    "indicators": "Nhiệm vụ «*» là chỉ tiêu chung, có ở mọi nhiệm vụ "
    "(Trước/Sau các chỉ tiêu riêng).",
    "rules": "Biểu thức so sánh hai vế, ví dụ: KN_XL <= KN_SO; "
    'if TRANG_THAI == "Đã triển khai" then VB_SO > 0.',
    "units": "Nhóm đầu tiên của mỗi đơn vị là nhóm dùng để chấm điểm và xếp hạng.",
    "rubric": "Tổng điểm của mỗi nhóm xếp loại phải bằng 100.",
    "levels": "Điều kiện thêm dùng các biến: " + ", ".join(LEVEL_VARIABLES) + ".",
}


def write_master(catalog: Catalog, path: Path) -> None:
    """Write the master workbook for ``catalog`` to ``path`` (atomically)."""
    printing.write_workbook(path, lambda wb: _fill_master(wb, catalog))


def _fill_master(workbook: xlsxwriter.Workbook, catalog: Catalog) -> None:
    styles = printing.Styles(workbook)
    _write_cover(workbook, styles, catalog)
    tables = to_tables(catalog)
    for table in TABLES:
        sheet = workbook.add_worksheet(table.sheet)
        printing.setup_page(sheet, landscape=not table.keyvalue, header_rows=HEADER_ROW)
        sheet.write_string(0, 0, table.title.upper(), styles.title)
        sheet.write_string(
            1,
            0,
            _NOTES.get(table.key, "Mỗi dòng là một bản ghi; có thể lọc, thêm hoặc sửa dòng."),
            styles.note,
        )
        if table.keyvalue:
            _write_keyvalue(sheet, styles, table, tables[table.key][0])
        else:
            _write_table(sheet, styles, table, tables[table.key])
    workbook.worksheets()[0].activate()


def _write_cell(
    sheet: Any, row: int, col: int, kind: str, value: Any, styles: printing.Styles
) -> None:
    value = cell_value(kind, value)
    if isinstance(value, dt.date):
        sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), styles.date_cell)
    elif isinstance(value, bool):
        sheet.write_string(row, col, YES if value else NO, styles.cell)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, styles.number_cell)
    elif value == "":
        sheet.write_blank(row, col, None, styles.cell)
    else:
        # write_string: a value starting with "=" must never become a formula.
        sheet.write_string(row, col, str(value), styles.cell)


def _write_table(
    sheet: Any, styles: printing.Styles, table: Table, rows: list[dict[str, Any]]
) -> None:
    for col, column in enumerate(table.columns):
        sheet.set_column(col, col, column.width)
        sheet.write_string(HEADER_ROW, col, column.header, styles.header)
        if column.note:
            sheet.write_comment(HEADER_ROW, col, column.note, {"x_scale": 2})
    sheet.set_row(HEADER_ROW, max(printing.row_height(c.header, c.width) for c in table.columns))
    for r, record in enumerate(rows, HEADER_ROW + 1):
        for col, column in enumerate(table.columns):
            _write_cell(sheet, r, col, column.kind, record[column.field], styles)
        texts = [(str(cell_value(c.kind, record[c.field])), c.width) for c in table.columns]
        sheet.set_row(r, max(printing.row_height(text, width) for text, width in texts))
    last = max(HEADER_ROW + len(rows), HEADER_ROW + 1)
    sheet.autofilter(HEADER_ROW, 0, last, len(table.columns) - 1)
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    for col, column in enumerate(table.columns):
        choices = _DROPDOWNS.get(column.kind)
        if choices:
            sheet.data_validation(
                HEADER_ROW + 1,
                col,
                HEADER_ROW + 2000,
                col,
                {
                    "validate": "list",
                    "source": choices,
                    "error_title": "Giá trị không hợp lệ",
                    "error_message": "Chọn một giá trị trong danh sách: " + ", ".join(choices),
                },
            )


def _write_keyvalue(
    sheet: Any, styles: printing.Styles, table: Table, record: dict[str, Any]
) -> None:
    for col, (header, width) in enumerate(zip(_KV_HEADERS, (18, 40, 70), strict=True)):
        sheet.set_column(col, col, width)
        sheet.write_string(HEADER_ROW, col, header, styles.header)
    for r, column in enumerate(table.columns, HEADER_ROW + 1):
        sheet.write_string(r, 0, column.field, styles.code_cell)
        sheet.write_string(r, 1, column.header, styles.cell)
        _write_cell(sheet, r, 2, column.kind, record[column.field], styles)
        sheet.set_row(
            r, printing.row_height(str(cell_value(column.kind, record[column.field])), 70)
        )
    sheet.freeze_panes(HEADER_ROW + 1, 0)


def _write_cover(workbook: xlsxwriter.Workbook, styles: printing.Styles, catalog: Catalog) -> None:
    sheet = workbook.add_worksheet(COVER)
    printing.setup_page(sheet, landscape=False, header_rows=None)
    sheet.set_column(0, 0, 4)
    sheet.set_column(1, 1, 100)
    d = catalog.directive
    lines: list[tuple[str, Any]] = [
        (f"ĐẢNG BỘ TỈNH {catalog.settings.province.upper()}", styles.title),
        ("SỔ THEO DÕI, TỔNG HỢP BÁO CÁO", styles.title),
        (printing.directive_title(d), styles.subtitle),
        ("", None),
        ("Cách dùng", styles.bold),
        (
            "1. Các trang tính cấu hình (Văn bản … Tham số) do văn phòng sửa trực tiếp "
            "trong Excel.",
            styles.cell_plain,
        ),
        (
            "2. Tạo mẫu biểu cho các đơn vị: dvxl templates --period <mã kỳ> (mỗi đơn vị một tệp, "
            "chỉ gồm nhiệm vụ được giao).",
            styles.cell_plain,
        ),
        (
            "3. Khi sửa nhiệm vụ, chỉ tiêu, danh mục hoặc quy tắc: tăng «Phiên bản mẫu biểu» "
            "ở trang "
            "«Tham số» rồi tạo lại mẫu.",
            styles.cell_plain,
        ),
        ("4. Ghi cấu hình ra văn bản để lưu, so sánh: dvxl catalog export.", styles.cell_plain),
        ("", None),
        ("Các trang tính", styles.bold),
    ]
    lines += [(f"• {t.sheet}: {t.title}", styles.cell_plain) for t in TABLES]
    lines += [("", None), ("Kiểu dữ liệu của chỉ tiêu", styles.bold)]
    lines += [(f"• {label}", styles.cell_plain) for label in INDICATOR_TYPES.values()]
    lines += [("", None), ("Biến dùng trong điều kiện xếp loại", styles.bold)]
    lines += [(f"• {name}: {text}", styles.cell_plain) for name, text in LEVEL_VARIABLES.items()]
    for r, (text, style) in enumerate(lines):
        if text:
            sheet.write_string(r, 1, text, style)
            sheet.set_row(r, printing.row_height(text, 100))


# Reading ---------------------------------------------------------------------


def _norm(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value)).strip().casefold()


def read_tables(path: Path) -> Tables:
    """Read the config sheets of a master workbook into config tables."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except FileNotFoundError:
        raise UsageError(f"Không tìm thấy sổ tổng hợp {path}. Chạy «dvxl init» trước.") from None
    except (CalamineError, OSError, ValueError) as exc:
        raise UsageError(
            f"Không mở được sổ tổng hợp {path}: {exc}. Tệp có đang bị hỏng, hoặc có mật khẩu?"
        ) from None
    problems: list[str] = []
    tables: Tables = {}
    names = {_norm(n): n for n in workbook.sheet_names}
    for table in TABLES:
        name = names.get(_norm(table.sheet))
        if name is None:
            problems.append(f"Sổ tổng hợp thiếu trang tính «{table.sheet}»")
            continue
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        reader = _read_keyvalue if table.keyvalue else _read_table
        tables[table.key] = reader(table, name, rows, problems)
    workbook.close()
    if problems:
        raise ConfigError(problems)
    return tables


def _find_header(rows: list[list[Any]], wanted: str) -> int | None:
    for i, row in enumerate(rows[:20]):
        if row and any(_norm(cell) == _norm(wanted) for cell in row):
            return i
    return None


def _read_table(table: Table, sheet: str, rows: list[list[Any]], problems: list[str]) -> list[Row]:
    first = table.columns[0].header
    h = _find_header(rows, first)
    if h is None:
        problems.append(f"Trang tính «{sheet}»: không tìm thấy dòng tiêu đề (cột «{first}»)")
        return []
    position = {_norm(cell): i for i, cell in enumerate(rows[h]) if str(cell).strip()}
    columns: dict[str, int] = {}
    for column in table.columns:
        index = position.get(_norm(column.header))
        if index is None:
            if column.required:
                problems.append(f"Trang tính «{sheet}», dòng {h + 1}: thiếu cột «{column.header}»")
            continue
        columns[column.field] = index
    result = []
    for i in range(h + 1, len(rows)):
        row = rows[i]
        values = {f: row[c] if c < len(row) else "" for f, c in columns.items()}
        if all(v in ("", None) for v in values.values()):
            continue
        result.append(Row(f"Trang tính «{sheet}», dòng {i + 1}", values))
    return result


def _read_keyvalue(
    table: Table, sheet: str, rows: list[list[Any]], problems: list[str]
) -> list[Row]:
    h = _find_header(rows, _KV_HEADERS[0])
    if h is None:
        problems.append(
            f"Trang tính «{sheet}»: không tìm thấy dòng tiêu đề (cột «{_KV_HEADERS[0]}»)"
        )
        return []
    header = [_norm(c) for c in rows[h]]
    try:
        key_col, value_col = (
            header.index(_norm(_KV_HEADERS[0])),
            header.index(_norm(_KV_HEADERS[2])),
        )
    except ValueError:
        problems.append(f"Trang tính «{sheet}», dòng {h + 1}: cần hai cột «Mã» và «Giá trị»")
        return []
    fields = {c.field for c in table.columns}
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for i in range(h + 1, len(rows)):
        row = rows[i]
        key = str(row[key_col]).strip() if key_col < len(row) else ""
        if not key:
            continue
        if key not in fields:
            problems.append(f"Trang tính «{sheet}», dòng {i + 1}: mã «{key}» không dùng được")
            continue
        values[key] = row[value_col] if value_col < len(row) else ""
        where[key] = f"Trang tính «{sheet}», dòng {i + 1}"
    return [Row(f"Trang tính «{sheet}»", values, field_where=where)]


def read_master(path: Path) -> Catalog:
    """Read and check the configuration of the master workbook at ``path``."""
    return build(read_tables(path))
