"""The master workbook: the secretariat's own copy of the configuration.

``dvxl init`` writes it once with XlsxWriter; from then on Excel owns it and
dvxl only reads it (with python-calamine) — it never saves over the master.
Each config table of :mod:`dvxl.schema` is one sheet: a title, a note, a header
row, then one record per row. Reading finds the header row and the columns by
their Vietnamese headers, so a secretariat that adds a title line or moves a
column does not break anything.

After the config sheets comes «Thẩm định», where the secretariat types the
assessed score and comment per period, unit and task. It is not configuration:
:func:`read_tables` ignores it and :func:`read_assessments` reads it, so the
assessments survive every re-merge (dvxl never writes the master again).
«Thời điểm nhận» is read the same way (:func:`read_receipt_times`): the time the
office received a unit's return when the file's own date is wrong (paper, USB). So is
«Duyệt báo cáo» (:func:`read_reviews`, issue 16): the secretariat accepts or returns each
unit's return of a period; a master made before it simply has no typed decisions (the
command ``dvxl review`` still works), and the sheet can be copied from a new master.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import xlsxwriter
from python_calamine import CalamineError, CalamineWorkbook
from xlsxwriter.utility import xl_col_to_name

from dvxl import printing, vba
from dvxl.catalog import LEVEL_VARIABLES, Row, Tables, build, to_tables
from dvxl.errors import ConfigError, UsageError
from dvxl.model import INDICATOR_TYPES, Catalog
from dvxl.receipt_time import TypedReceipt
from dvxl.review import TypedReview
from dvxl.schema import (
    NO,
    POSITION_LABELS,
    SEVERITY_LABELS,
    TABLE,
    TABLES,
    YES,
    Column,
    Table,
    cell_value,
    parse_value,
)
from dvxl.score import Assessment
from dvxl.statuses import ReviewState

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
    "issuing": "In ở tiêu đề, lời văn và chữ ký của báo cáo định kỳ (dvxl report).",
    "recipients": "Mỗi dòng một nơi nhận, theo thứ tự in ở «Nơi nhận» của báo cáo.",
    "format": "Thể thức văn bản của Đảng (mặc định theo Hướng dẫn 36-HD/VPTW); sửa ở đây khi "
    "quy định thay đổi.",
    "assessments": "Văn phòng nhập điểm thẩm định và nhận xét; "
    "dvxl đọc, không bao giờ ghi đè trang này.",
    "receipt_times": "Khi đơn vị nộp bản giấy, USB… thì ngày lưu tệp không phải ngày nhận: "
    "nhập ở đây thời điểm văn phòng nhận báo cáo (ví dụ 18/6/2026 16:30). Thư điện tử đã có "
    "thời điểm nhận riêng. dvxl đọc, không bao giờ ghi đè trang này.",
    "reviews": "Chọn «Đã duyệt» hoặc «Trả lại» (ghi lý do) cho báo cáo hợp lệ của đơn vị; "
    "«Chờ duyệt» để mở lại. dvxl ghi quyết định vào sổ ghi nhận ở lần tổng hợp sau khi dòng "
    "được sửa; không bao giờ ghi đè trang này.",
}

# The columns every sheet the secretariat types into starts with: which period, which unit.
_PERIOD_COLUMN = Column("period", "Kỳ báo cáo", "code", 14, True, "Mã kỳ ở trang «Kỳ báo cáo»")
_UNIT_COLUMN = Column("unit", "Mã đơn vị", "code", 14, True, "Mã đơn vị ở trang «Đơn vị»")

#: The secretariat's assessment sheet: laid out like a config table, read by
#: :func:`read_assessments`, never part of :data:`dvxl.schema.TABLES`.
ASSESSMENT = "Thẩm định"
ASSESSMENTS = Table(
    "assessments",
    ASSESSMENT,
    "Điểm thẩm định và nhận xét của văn phòng",
    (
        _PERIOD_COLUMN,
        _UNIT_COLUMN,
        Column("task", "Nhiệm vụ", "code", 12, True, "Mã nhiệm vụ ở trang «Nhiệm vụ»"),
        Column(
            "score",
            "Điểm thẩm định",
            "num",
            14,
            True,
            "Điểm thay cho điểm tự chấm của đơn vị; để trống thì giữ điểm tự chấm",
        ),
        Column("comment", "Nhận xét", "text", 80),
    ),
)
#: The secretariat's corrections of receipt times, read by :func:`read_receipt_times`.
RECEIPT_TIME = "Thời điểm nhận"
RECEIPT_TIMES = Table(
    "receipt_times",
    RECEIPT_TIME,
    "Thời điểm văn phòng nhận báo cáo (nhập tay)",
    (
        _PERIOD_COLUMN,
        _UNIT_COLUMN,
        Column(
            "received",
            "Thời điểm nhận",
            "datetime",
            20,
            True,
            "Ngày (và giờ) văn phòng nhận báo cáo, ví dụ 18/6/2026 16:30; thay cho ngày lưu "
            "tệp, không thay thời điểm nhận của thư điện tử",
        ),
        Column("note", "Ghi chú", "text", 60, False, "Ví dụ: nộp bản giấy và USB tại văn phòng"),
    ),
)
#: The secretariat's review of each unit's return (issue 16), read by :func:`read_reviews`.
REVIEW = "Duyệt báo cáo"
REVIEWS = Table(
    "reviews",
    REVIEW,
    "Duyệt báo cáo của các đơn vị",
    (
        _PERIOD_COLUMN,
        _UNIT_COLUMN,
        Column("name", "Tên đơn vị", "text", 36, False, "Để dễ đọc; dvxl không dùng cột này"),
        Column("state", "Duyệt", "text", 14, True,
               "Đã duyệt, Trả lại, hoặc Chờ duyệt (mở lại); để trống là chưa quyết định"),
        Column("reason", "Lý do trả lại", "text", 50, False, "Bắt buộc khi trả lại"),
        Column("decided_by", "Người duyệt", "text", 20),
    ),
)
_LOOKUP_ROWS = 2000  # how far down the dropdowns look in the config sheets


#: Workbook-level names of the cover's input cells, read by :mod:`dvxl.excel`.
PERIOD_NAME, INBOX_NAME = "dvxl_ky", "dvxl_hop_thu"
XLWINGS_CONF = "xlwings.conf"  # the sheet xlwings reads its settings from (issue #5)


def write_master(catalog: Catalog, path: Path) -> None:
    """Write the master workbook for ``catalog`` to ``path`` (atomically).

    A ``.xlsm`` gets the buttons: the VBA project built from the pinned xlwings
    and ``macros/*.bas`` (:func:`dvxl.vba.build_vba_project`), the cover's
    input cells and an ``xlwings.conf`` sheet.
    """
    if path.suffix.lower() != ".xlsm":
        printing.write_workbook(path, lambda wb: _fill_master(wb, catalog, None))
        return
    with tempfile.TemporaryDirectory(prefix="dvxl-vba-") as tmp:
        project = vba.build_vba_project(Path(tmp) / "vbaProject.bin")
        printing.write_workbook(path, lambda wb: _fill_master(wb, catalog, project))


def _fill_master(workbook: xlsxwriter.Workbook, catalog: Catalog, project: Path | None) -> None:
    styles = printing.Styles(workbook)
    if project is not None:
        workbook.add_vba_project(str(project))  # also names the document modules (codeName)
    _write_cover(workbook, styles, catalog, buttons=project is not None)
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
    _write_assessments(workbook, styles)
    _write_receipt_times(workbook, styles)
    _write_reviews(workbook, styles, catalog)
    if project is not None:
        _write_xlwings_conf(workbook)
    workbook.worksheets()[0].activate()


def _write_xlwings_conf(workbook: xlsxwriter.Workbook) -> None:
    """xlwings' settings sheet: read from A1 down to the first empty row, hidden.

    The interpreter is not here: it differs from PC to PC, and this sheet would
    override the ``xlwings.conf`` file ``dvxl excel setup`` writes beside the master.
    """
    sheet = workbook.add_worksheet(XLWINGS_CONF)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 12)
    # dvxl is an installed package, not a module beside the workbook: no need to add the
    # workbook's folder to sys.path, which is what breaks on OneDrive/SharePoint folders.
    sheet.write_string(0, 0, "ADD_WORKBOOK_TO_PYTHONPATH")
    sheet.write_boolean(0, 1, False)
    sheet.write_string(1, 0, "Show Console")
    sheet.write_boolean(1, 1, False)
    sheet.write_string(
        3,
        0,
        "Đường dẫn Python (Interpreter_Win) do lệnh «dvxl excel setup» ghi vào tệp "
        "xlwings.conf cạnh sổ này; không ghi ở đây để sổ dùng được trên máy khác.",
    )
    sheet.hide()


def _write_assessments(workbook: xlsxwriter.Workbook, styles: printing.Styles) -> None:
    """The empty assessment sheet, with dropdowns fed by the config sheets' code columns."""
    table = ASSESSMENTS
    sheet = workbook.add_worksheet(table.sheet)
    printing.setup_page(sheet, landscape=True, header_rows=HEADER_ROW)
    sheet.write_string(0, 0, table.title.upper(), styles.title)
    sheet.write_string(1, 0, _NOTES[table.key], styles.note)
    _write_table(sheet, styles, table, [])
    first, last = HEADER_ROW + 1, HEADER_ROW + _LOOKUP_ROWS
    # The lists point at the config sheets instead of being inline: an inline list
    # over 255 characters makes Excel "repair" the file, and a range follows the
    # secretariat's edits to the periods, units and tasks.
    for col, source, what in (
        (0, "periods", "một kỳ báo cáo ở trang «Kỳ báo cáo»"),
        (1, "units", "một mã đơn vị ở trang «Đơn vị»"),
        (2, "tasks", "một mã nhiệm vụ ở trang «Nhiệm vụ»"),
    ):
        sheet.data_validation(
            first,
            col,
            last,
            col,
            {
                "validate": "list",
                "source": _code_range(TABLE[source]),
                "error_title": "Mã không có",
                "error_message": f"Chọn {what}.",
            },
        )
    sheet.data_validation(
        first,
        3,
        last,
        3,
        {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "error_title": "Điểm không hợp lệ",
            "error_message": "Nhập một số không âm, không quá điểm tối đa của nhiệm vụ.",
        },
    )


def _write_receipt_times(workbook: xlsxwriter.Workbook, styles: printing.Styles) -> None:
    """The empty sheet of typed receipt times, with dropdowns and a date check."""
    table = RECEIPT_TIMES
    sheet = workbook.add_worksheet(table.sheet)
    printing.setup_page(sheet, landscape=True, header_rows=HEADER_ROW)
    sheet.write_string(0, 0, table.title.upper(), styles.title)
    sheet.write_string(1, 0, _NOTES[table.key], styles.note)
    _write_table(sheet, styles, table, [])
    first, last = HEADER_ROW + 1, HEADER_ROW + _LOOKUP_ROWS
    for col, source, what in (
        (0, "periods", "một kỳ báo cáo ở trang «Kỳ báo cáo»"),
        (1, "units", "một mã đơn vị ở trang «Đơn vị»"),
    ):
        sheet.data_validation(first, col, last, col, {
            "validate": "list",
            "source": _code_range(TABLE[source]),
            "error_title": "Mã không có",
            "error_message": f"Chọn {what}.",
        })
    stamp = styles.make(border=1, num_format="dd/mm/yyyy hh:mm")
    sheet.set_column(2, 2, RECEIPT_TIMES.columns[2].width, stamp)
    sheet.data_validation(first, 2, last, 2, {
        "validate": "date",
        "criteria": ">=",
        "value": dt.datetime(2000, 1, 1),
        "error_title": "Thời điểm không hợp lệ",
        "error_message": "Nhập ngày và giờ, ví dụ 18/6/2026 16:30.",
    })


def _write_reviews(workbook: xlsxwriter.Workbook, styles: printing.Styles,
                   catalog: Catalog) -> None:
    """The review sheet: a row per period and addressed unit, the state left empty."""
    table = REVIEWS
    sheet = workbook.add_worksheet(table.sheet)
    printing.setup_page(sheet, landscape=True, header_rows=HEADER_ROW)
    sheet.write_string(0, 0, table.title.upper(), styles.title)
    sheet.write_string(1, 0, _NOTES[table.key], styles.note)
    rows = [{"period": p.code, "unit": u.code, "name": u.name, "state": "", "reason": "",
             "decided_by": ""} for p in catalog.periods for u in catalog.addressed_units()]
    _write_table(sheet, styles, table, rows)
    first, last = HEADER_ROW + 1, HEADER_ROW + len(rows) + _LOOKUP_ROWS
    for col, source, what in (
        (0, "periods", "một kỳ báo cáo ở trang «Kỳ báo cáo»"),
        (1, "units", "một mã đơn vị ở trang «Đơn vị»"),
    ):
        sheet.data_validation(first, col, last, col, {
            "validate": "list",
            "source": _code_range(TABLE[source]),
            "error_title": "Mã không có",
            "error_message": f"Chọn {what}.",
        })
    states = [state.label for state in ReviewState]
    sheet.data_validation(first, 3, last, 3, {
        "validate": "list",
        "source": states,
        "error_title": "Trạng thái không có",
        "error_message": "Chọn một trong: " + ", ".join(states) + ".",
    })


def _code_range(table: Table) -> str:
    """``='Kỳ báo cáo'!$A$4:$A$2003``: the code column of a config sheet, below its header."""
    col = xl_col_to_name(next(i for i, c in enumerate(table.columns) if c.field == "code"))
    first, last = HEADER_ROW + 2, HEADER_ROW + 1 + _LOOKUP_ROWS
    sheet = table.sheet.replace("'", "''")
    return f"='{sheet}'!${col}${first}:${col}${last}"


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


def _write_buttons(
    workbook: xlsxwriter.Workbook, sheet: Any, styles: printing.Styles, first: int
) -> int:
    """The period and inbox cells and the buttons, from row ``first``; the next free row."""
    entry = styles.make(border=1, bg_color=printing.INPUT_FILL, bold=True)
    rows: list[tuple[str, Any]] = [
        ("Bấm nút ngay trong Excel (máy cần cài dvxl và chạy «dvxl excel setup» một lần).",
         styles.bold),
        ("Kỳ báo cáo: chọn mã kỳ (để trống: kỳ ghi trong các tệp gửi về; bắt buộc khi tạo mẫu)",
         styles.cell_plain),
        ("", entry),
        ("Thư mục nhận báo cáo (để trống: thư mục inbox cạnh sổ này)", styles.cell_plain),
        ("", entry),
    ]
    for r, (text, style) in enumerate(rows, first):
        if text:
            sheet.write_string(r, 1, text, style)
        else:
            sheet.write_blank(r, 1, None, style)
    period, inbox = first + 2, first + 4
    cover = COVER.replace("'", "''")
    workbook.define_name(PERIOD_NAME, f"='{cover}'!$B${period + 1}")
    workbook.define_name(INBOX_NAME, f"='{cover}'!$B${inbox + 1}")
    sheet.data_validation(period, 1, period, 1, {
        "validate": "list",
        "source": _code_range(TABLE["periods"]),
        "ignore_blank": True,
        "error_title": "Mã kỳ không có",
        "error_message": "Chọn một mã kỳ ở trang «Kỳ báo cáo», hoặc để trống.",
    })
    row = inbox + 2
    sheet.set_row(row, 30)
    for i, button in enumerate(vba.BUTTONS):
        sheet.insert_button(row, 1, {
            "macro": button.macro,
            "caption": button.caption,
            "description": button.help,
            "width": 120,
            "height": 36,
            "x_offset": 4 + 128 * i,
            "y_offset": 2,
        })
    for r, button in enumerate(vba.BUTTONS, row + 1):
        text = f"• {button.caption}: {button.help}"
        sheet.write_string(r, 1, text, styles.cell_plain)
        sheet.set_row(r, printing.row_height(text, 100))
    return row + len(vba.BUTTONS) + 2


def _write_cover(
    workbook: xlsxwriter.Workbook, styles: printing.Styles, catalog: Catalog, buttons: bool
) -> None:
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
    lines += [(f"• {t.sheet}: {t.title}", styles.cell_plain)
              for t in (*TABLES, ASSESSMENTS, RECEIPT_TIMES, REVIEWS)]
    lines += [("", None), ("Kiểu dữ liệu của chỉ tiêu", styles.bold)]
    lines += [(f"• {label}", styles.cell_plain) for label in INDICATOR_TYPES.values()]
    lines += [("", None), ("Biến dùng trong điều kiện xếp loại", styles.bold)]
    lines += [(f"• {name}: {text}", styles.cell_plain) for name, text in LEVEL_VARIABLES.items()]
    if buttons:  # the buttons' block goes after the three title lines
        after = _write_buttons(workbook, sheet, styles, 4)
        lines = lines[:4] + [("", None)] * (after - 4) + lines[4:]
    for r, (text, style) in enumerate(lines):
        if text:
            sheet.write_string(r, 1, text, style)
            sheet.set_row(r, printing.row_height(text, 100))


# Reading ---------------------------------------------------------------------


def _norm(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value)).strip().casefold()


def _open(path: Path) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except FileNotFoundError:
        raise UsageError(f"Không tìm thấy sổ tổng hợp {path}. Chạy «dvxl init» trước.") from None
    except (CalamineError, OSError, ValueError) as exc:
        raise UsageError(
            f"Không mở được sổ tổng hợp {path}: {exc}. Tệp có đang bị hỏng, hoặc có mật khẩu?"
        ) from None


#: A workbook's sheets as plain rows from A1: what python-calamine's
#: ``to_python(skip_empty_area=False)`` gives for the file, and what
#: :func:`dvxl.excel.book_rows` gives for the workbook open in Excel.
SheetRows = Mapping[str, list[list[Any]]]


def sheet_rows(path: Path, wanted: Iterable[str]) -> dict[str, list[list[Any]]]:
    """The rows of the sheets of ``path`` named in ``wanted`` (matched as the readers match)."""
    keep = {_norm(name) for name in wanted}
    workbook = _open(path)
    try:
        return {
            name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in workbook.sheet_names
            if _norm(name) in keep
        }
    finally:
        workbook.close()


def read_tables(path: Path) -> Tables:
    """Read the config sheets of a master workbook into config tables."""
    return tables_from_rows(sheet_rows(path, [table.sheet for table in TABLES]))


def tables_from_rows(sheets: SheetRows) -> Tables:
    """The config tables from a master's sheets given as rows (file or open workbook)."""
    problems: list[str] = []
    tables: Tables = {}
    names = {_norm(n): n for n in sheets}
    for table in TABLES:
        name = names.get(_norm(table.sheet))
        if name is None:
            if not table.optional:  # an optional one: a master from an older dvxl
                problems.append(f"Sổ tổng hợp thiếu trang tính «{table.sheet}»")
            continue
        reader = _read_keyvalue if table.keyvalue else _read_table
        tables[table.key] = reader(table, name, sheets[name], problems)
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


# Assessments -----------------------------------------------------------------


def read_assessments(
    path: Path, catalog: Catalog | None = None
) -> tuple[list[Assessment], list[str]]:
    """The secretariat's assessments in the master, and the rows that could not be used.

    ``catalog`` is the master's configuration when the caller has it already
    (it is read from ``path`` otherwise). A master without the sheet has no
    assessments. A row naming an unknown period, unit or task, a task not
    addressed to the unit, or a score that is not a number between 0 and the
    task's points is left out and reported (in Vietnamese, with sheet and row).
    A row with neither score nor comment is ignored; when two rows name the same
    period, unit and task, both are kept, the later counts, and it is reported.
    A sheet whose header row or a column cannot be found gives no assessments
    and says so.
    """
    catalog = catalog or read_master(path)
    return assessments_from_rows(sheet_rows(path, [ASSESSMENTS.sheet]), catalog)


def assessments_from_rows(
    sheets: SheetRows, catalog: Catalog
) -> tuple[list[Assessment], list[str]]:
    """:func:`read_assessments` on a master's sheets given as rows (file or open workbook)."""
    names = {_norm(n): n for n in sheets}
    name = names.get(_norm(ASSESSMENTS.sheet))
    if name is None:
        return [], []
    rows = sheets[name]
    problems: list[str] = []
    records = _read_table(ASSESSMENTS, name, rows, problems)
    if problems:  # no header row, or a column missing: no row can be trusted
        return [], problems
    assessments: list[Assessment] = []
    seen: dict[tuple[str, str, str], str] = {}
    for row in records:
        assessment = _assessment(catalog, row, problems)
        if assessment is None:
            continue
        key = (assessment.period, assessment.unit, assessment.task)
        line = row.where.rsplit(" ", 1)[-1]
        if key in seen:
            problems.append(
                f"{row.where}: kỳ «{key[0]}», đơn vị «{key[1]}», nhiệm vụ «{key[2]}» đã có ở "
                f"dòng {seen[key]}; dvxl dùng dòng sau cùng"
            )
        seen[key] = line
        assessments.append(assessment)
    return assessments, problems


def _assessment(catalog: Catalog, row: Row, problems: list[str]) -> Assessment | None:
    """One row as an Assessment, or None (with the reason in ``problems``)."""

    def complain(message: str) -> None:
        problems.append(f"{row.where}: {message}")

    score_cell = row.values.get("score")
    try:
        score = parse_value("num", score_cell)
    except ValueError:
        complain(f"điểm thẩm định «{parse_value('text', score_cell)}» không phải số")
        return None
    comment = parse_value("text", row.values.get("comment"))
    if score is None and not comment:
        return None

    codes: dict[str, str] = {}
    for key, known, what in (
        ("period", [p.code for p in catalog.periods], "kỳ báo cáo"),
        ("unit", [u.code for u in catalog.units], "mã đơn vị"),
        ("task", [t.code for t in catalog.tasks], "nhiệm vụ"),
    ):
        text = parse_value("code", row.values.get(key))
        found = {_norm(code): code for code in known}.get(_norm(text))
        if not text:
            complain(f"thiếu {what}")
            return None
        if found is None:
            complain(f"{what} «{text}» không có trong cấu hình")
            return None
        codes[key] = found

    unit = catalog.unit(codes["unit"])
    if codes["task"] not in {t.code for t in catalog.tasks_for(unit)}:
        complain(f"nhiệm vụ «{codes['task']}» không giao cho đơn vị «{unit.code}»")
        return None
    if score is not None:
        points = catalog.points(unit.rating_group, codes["task"]) or 0
        if not 0 <= score <= points:
            complain(
                f"điểm thẩm định {_shown(score)} phải từ 0 đến {_shown(points)} "
                f"(điểm tối đa của nhiệm vụ «{codes['task']}»)"
            )
            return None
    return Assessment(
        codes["period"],
        codes["unit"],
        codes["task"],
        None if score is None else float(score),
        comment,
    )


def _shown(number: float) -> str:
    return f"{number:g}".replace(".", ",")


# Receipt times typed by the secretariat --------------------------------------------------


def read_receipt_times(
    path: Path, catalog: Catalog | None = None
) -> tuple[list[TypedReceipt], list[str]]:
    """The receipt times typed in the master's «Thời điểm nhận», and the rows that could
    not be used (in Vietnamese, with sheet and row), as :func:`read_assessments` does.

    A master without the sheet (made before it existed) has none. A row naming an unknown
    period or unit, or whose time is not a date, is left out and reported; when two rows
    name the same period and unit, the later counts, and it is reported.
    """
    catalog = catalog or read_master(path)
    return receipt_times_from_rows(sheet_rows(path, [RECEIPT_TIMES.sheet]), catalog)


def receipt_times_from_rows(
    sheets: SheetRows, catalog: Catalog
) -> tuple[list[TypedReceipt], list[str]]:
    """:func:`read_receipt_times` on a master's sheets given as rows (file or open book)."""
    return _one_row_per_unit(RECEIPT_TIMES, sheets, catalog, _typed_receipt)


_Keyed = TypeVar("_Keyed", TypedReceipt, TypedReview)


def _one_row_per_unit(
    table: Table, sheets: SheetRows, catalog: Catalog,
    parse: Callable[[Catalog, Row, list[str]], _Keyed | None],
) -> tuple[list[_Keyed], list[str]]:
    """The rows of a secretariat's sheet keyed by period and unit («Thời điểm nhận»,
    «Duyệt báo cáo»): each parsed, the unusable ones reported; of two rows for the same
    period and unit the later counts, and that is reported too."""
    names = {_norm(n): n for n in sheets}
    name = names.get(_norm(table.sheet))
    if name is None:
        return [], []
    problems: list[str] = []
    records = _read_table(table, name, sheets[name], problems)
    if problems:
        return [], problems
    found: list[_Keyed] = []
    seen: dict[tuple[str, str], str] = {}
    for row in records:
        typed = parse(catalog, row, problems)
        if typed is None:
            continue
        key = (typed.period, typed.unit)
        if key in seen:
            problems.append(f"{row.where}: kỳ «{key[0]}», đơn vị «{key[1]}» đã có ở dòng "
                            f"{seen[key]}; dvxl dùng dòng sau cùng")
        seen[key] = row.where.rsplit(" ", 1)[-1]
        found.append(typed)
    return found, problems


def _period_and_unit(catalog: Catalog, row: Row, problems: list[str]) -> tuple[str, str] | None:
    """The row's period and unit codes as the catalog spells them; None (reported) when
    either is missing or unknown."""
    codes: list[str] = []
    for key, known, what in (
        ("period", [p.code for p in catalog.periods], "kỳ báo cáo"),
        ("unit", [u.code for u in catalog.units], "mã đơn vị"),
    ):
        text = parse_value("code", row.values.get(key))
        found = {_norm(code): code for code in known}.get(_norm(text))
        if not text:
            problems.append(f"{row.where}: thiếu {what}")
            return None
        if found is None:
            problems.append(f"{row.where}: {what} «{text}» không có trong cấu hình")
            return None
        codes.append(found)
    return codes[0], codes[1]


def _typed_receipt(catalog: Catalog, row: Row, problems: list[str]) -> TypedReceipt | None:
    keys = _period_and_unit(catalog, row, problems)
    if keys is None:
        return None
    try:
        received = parse_value("datetime", row.values.get("received"))
    except ValueError as exc:
        problems.append(f"{row.where}: thời điểm nhận {exc}")
        return None
    if received is None:
        problems.append(f"{row.where}: thiếu thời điểm nhận")
        return None
    note = parse_value("text", row.values.get("note"))
    return TypedReceipt(*keys, received, note, row.where)


# The secretariat's review decisions -------------------------------------------------------


def read_reviews(
    path: Path, catalog: Catalog | None = None
) -> tuple[list[TypedReview], list[str]]:
    """The decisions typed in the master's «Duyệt báo cáo», and the rows that could not be
    used (in Vietnamese, with sheet and row), as :func:`read_assessments` does.

    A master without the sheet (made before it existed) has none. A row without a state is
    no decision; a row naming an unknown period or unit, an unknown state, or a return
    without its reason is left out and reported; when two rows name the same period and
    unit, the later counts, and it is reported.
    """
    catalog = catalog or read_master(path)
    return reviews_from_rows(sheet_rows(path, [REVIEWS.sheet]), catalog)


def reviews_from_rows(
    sheets: SheetRows, catalog: Catalog
) -> tuple[list[TypedReview], list[str]]:
    """:func:`read_reviews` on a master's sheets given as rows (file or open book)."""
    return _one_row_per_unit(REVIEWS, sheets, catalog, _typed_review)


def _typed_review(catalog: Catalog, row: Row, problems: list[str]) -> TypedReview | None:
    label = parse_value("text", row.values.get("state"))
    if not label:
        return None
    try:
        state = ReviewState.from_label(label)
    except KeyError:
        shown = ", ".join(f"«{s.label}»" for s in ReviewState)
        problems.append(f"{row.where}: trạng thái duyệt «{label}» không có (chọn {shown})")
        return None
    keys = _period_and_unit(catalog, row, problems)
    if keys is None:
        return None
    reason = parse_value("text", row.values.get("reason"))
    if state is ReviewState.RETURNED and not reason:
        problems.append(f"{row.where}: trả lại báo cáo cần ghi lý do (cột «Lý do trả lại»)")
        return None
    return TypedReview(*keys, state,
                       reason if state is ReviewState.RETURNED else "",
                       parse_value("text", row.values.get("decided_by")), row.where)
