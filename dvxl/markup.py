"""Marked-up copies sent back to units: the unit's own file with every problem shown in place.

For each file with errors the unit gets a copy named ``<stem>-can-sua.xlsx``:

* an ``.xlsx``/``.xlsm`` openpyxl can open is loaded as it is (macros kept for
  ``.xlsm``), the cells named by findings are coloured (red for errors, amber
  for warnings) and carry a comment with the Vietnamese message;
* an ``.xls``/``.ods`` (openpyxl cannot read them), or an ``.xlsx`` openpyxl
  fails on, is rebuilt: the unit's template for the period, with the values
  dvxl read from the file, marked up the same way;
* a file that could not be read, or whose unit is unknown, gets a small
  workbook listing what is wrong.

Every copy starts with the sheet ``Lỗi cần sửa`` listing the findings. The
original is only ever opened for reading: files dvxl refused to parse (zip
bombs, XML entities) are unreadable and never reach openpyxl.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import tempfile
import warnings
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
)
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.page import PageMargins

from dvxl import printing, template
from dvxl.findings import CODES, ERROR, SEVERITY_LABELS, Finding
from dvxl.model import Catalog, Period, Unit
from dvxl.validate import BatchReport, FileReport

LIST_SHEET = "Lỗi cần sửa"
SUFFIX = "-can-sua"
AUTHOR = "dvxl"

ERROR_FILL, ERROR_FONT = "FFC7CE", "9C0006"
WARNING_FILL, WARNING_FONT = "FFEB9C", "9C5700"
INPUT_FILL = printing.INPUT_FILL.lstrip("#")
HEADER_FILL = printing.HEADER_FILL.lstrip("#")

# (header, width in characters) of the list sheet.
LIST_COLUMNS = (
    ("STT", 6),
    ("Ô", 9),
    ("Nhiệm vụ", 10),
    ("Chỉ tiêu", 30),
    ("Giá trị", 28),
    ("Hướng dẫn sửa", 64),
    ("Mức độ", 11),
)

# How a copy is made.
ORIGINAL, REBUILT, LIST_ONLY = "original", "rebuilt", "list"


@dataclass
class _Plan:
    report: FileReport
    kind: str
    unit: Unit | None
    book: Any = None  # the loaded original, for ORIGINAL
    suffix: str = ".xlsx"


def write_marked_copies(batch: BatchReport, catalog: Catalog, folder: Path) -> list[Path]:
    """Write a marked-up copy into ``folder`` for every file with errors; return the paths.

    Originals are never modified. Copies are made one at a time, so only one unit's
    workbook is in memory however large the batch.
    """
    # A superseded file needs no copy: the unit already sent a newer one.
    reports = [report for report in batch.files if report.errors > 0 and not report.superseded_by]
    if not reports:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    names = _Names(reports, folder, [r.path for r in batch.files])
    paths = []
    for report in reports:
        plan = _plan(report, catalog)
        path = folder / names.take(report, plan.suffix)
        _save_atomic(_build(plan, catalog, batch.period, folder), path)
        paths.append(path)
    return paths


# Planning -------------------------------------------------------------------------------------


def _plan(report: FileReport, catalog: Catalog) -> _Plan:
    unit = next((u for u in catalog.units if u.code == report.unit), None) if report.unit else None
    if unit is None:
        return _Plan(report, LIST_ONLY, None)
    if report.readable and report.format in ("xlsx", "xlsm"):
        vba = report.format == "xlsm"
        book = _load_original(report.path, vba)
        if book is not None:
            return _Plan(report, ORIGINAL, unit, book, ".xlsm" if vba else ".xlsx")
    if catalog.tasks_for(unit):
        return _Plan(report, REBUILT, unit)
    return _Plan(report, LIST_ONLY, unit)


def _load_original(path: Path, keep_vba: bool) -> Any:
    """The original loaded by openpyxl, or None when openpyxl cannot open it.

    A file handle, not the path: openpyxl refuses names not ending in .xlsx/.xlsm, and a
    unit's .xlsx may well be called .xls.
    """
    try:
        with path.open("rb") as handle, warnings.catch_warnings():
            # e.g. "Data Validation extension is not supported and will be removed"
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(handle, keep_vba=keep_vba)
    except Exception:  # any failure only means: rebuild from the template instead
        return None


class _Names:
    """``<stem>-can-sua<ext>``, unique (case-insensitively) and never an original's path.

    Two files with one stem (``HU03/bao-cao.xlsx``, ``HU04/bao-cao.xls``) get the unit
    code added; a counter settles what is left.
    """

    def __init__(self, reports: list[FileReport], folder: Path, originals: Iterable[Path]) -> None:
        self.stems: dict[str, int] = {}
        for report in reports:
            key = report.path.stem.casefold()
            self.stems[key] = self.stems.get(key, 0) + 1
        here = folder.resolve()
        self.taken = {p.name.casefold() for p in originals if p.parent.resolve() == here}

    def take(self, report: FileReport, suffix: str) -> str:
        stem, unit = report.path.stem, report.unit
        base = stem
        if self.stems[stem.casefold()] > 1 and unit and unit.casefold() not in stem.casefold():
            base = f"{stem}-{unit}"
        name = f"{base}{SUFFIX}{suffix}"
        counter = 2
        while name.casefold() in self.taken:
            name = f"{base}-{counter}{SUFFIX}{suffix}"
            counter += 1
        self.taken.add(name.casefold())
        return name


# Building -------------------------------------------------------------------------------------


def _build(plan: _Plan, catalog: Catalog, period: Period, folder: Path) -> Any:
    report = plan.report
    findings = list(report.findings)
    if plan.kind == ORIGINAL:
        book = plan.book
        _clear_previous(book)
        note = ""
    elif plan.kind == REBUILT:
        assert plan.unit is not None
        book, findings = _rebuild(report, catalog, plan.unit, period, folder)
        if report.values:
            note = (
                f"Tệp đơn vị gửi ({report.path.name}, dạng .{report.format or '?'}) không "
                "đánh dấu trực tiếp được, nên bản này được dựng lại từ mẫu của đơn vị và chép "
                "vào các số liệu đọc được từ tệp đó. Hãy kiểm tra lại toàn bộ số liệu trước "
                "khi gửi."
            )
        else:
            note = (
                f"Tệp đơn vị gửi ({report.path.name}) không dùng được, nên bản này là mẫu "
                f"trống của đơn vị cho kỳ {period.name}: hãy điền vào mẫu này."
            )
    else:
        book = openpyxl.Workbook()
        book.remove(book.active)
        note = (
            "Tệp gửi về không đọc được hoặc không nhận ra là mẫu báo cáo của đơn vị nào. "
            "Hãy xem hướng dẫn dưới đây và gửi lại đúng mẫu báo cáo đã điền."
        )
    if plan.kind != LIST_ONLY:
        _mark_cells(book, findings)
    _add_list_sheet(book, report, catalog, period, findings, note, linked=plan.kind != LIST_ONLY)
    return book


def _rebuild(
    report: FileReport, catalog: Catalog, unit: Unit, period: Period, folder: Path
) -> tuple[Any, list[Finding]]:
    """The unit's template with the file's values; findings moved to the template's cells."""
    fd, name = tempfile.mkstemp(prefix=".~dvxl-", suffix=".xlsx", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        template.write_template(catalog, unit, period, tmp)
        book = openpyxl.load_workbook(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    form = book[template.FORM]
    rows = {r.key: r for r in template.form_rows(catalog, unit)}
    # Where the file had each row -> where the template has it (they differ after S002).
    moved: dict[int, int] = {}
    for key, cell in report.cells.items():
        if key in rows:
            moved[_row_of(cell)] = rows[key].row + 1
    shown = _rejected_text(report)
    for key, row in rows.items():
        if row.kind not in ("identity", "indicator"):
            continue
        value = report.values.get(key)
        if value is None:
            value = shown.get(report.cells.get(key, ""))
        if value is not None:
            _put(form[row.cell], value)
    findings = [_move(f, moved) for f in report.findings]
    return book, findings


def _rejected_text(report: FileReport) -> dict[str, str]:
    """What the unit typed in cells whose value was rejected (the merge gets None there)."""
    shown: dict[str, str] = {}
    for f in report.findings:
        spec = CODES.get(f.code)
        if f.cell and f.value and spec is not None and spec.level == "cell":
            shown.setdefault(f.cell, f.value)
    return shown


def _move(finding: Finding, moved: dict[int, int]) -> Finding:
    if finding.sheet != template.FORM or not finding.cell:
        return finding
    try:
        letters, row = coordinate_from_string(finding.cell)
    except ValueError:
        return finding
    if moved.get(row, row) == row:
        return finding
    cell = f"{letters}{moved[row]}"
    message = finding.message.replace(f"ô {finding.cell}", f"ô {cell}")
    return dataclasses.replace(finding, cell=cell, message=message)


def _row_of(cell: str) -> int:
    try:
        return int(coordinate_from_string(cell)[1])
    except ValueError:
        return 0


def _put(cell: Any, value: Any) -> None:
    """A value of the type it had: numbers as numbers, dates as dates, text always as text."""
    if isinstance(value, bool):
        _put_text(cell, "Có" if value else "Không")
    elif isinstance(value, int | float):
        cell.value = int(value) if float(value).is_integer() else float(value)
    elif isinstance(value, dt.date):
        cell.value = value  # the template's cell already has a dd/mm/yyyy format
    else:
        _put_text(cell, str(value))


def _put_text(cell: Any, text: str) -> None:
    # openpyxl takes any str starting with "=" for a formula; the type is set back to string.
    cell.value = _clean(text)
    cell.data_type = "s"


# Marking cells --------------------------------------------------------------------------------


def _clear_previous(book: Any) -> None:
    """Undo an earlier round's marks when a unit sends back a copy dvxl marked before."""
    if LIST_SHEET in book.sheetnames:
        book.remove(book[LIST_SHEET])
    ours = {ERROR_FILL, WARNING_FILL}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                comment = cell.comment
                if comment is None or comment.author != AUTHOR:
                    continue
                cell.comment = None
                if str(cell.fill.fgColor.rgb)[-6:].upper() in ours:
                    unlocked = cell.protection.locked is False
                    cell.fill = _solid(INPUT_FILL) if unlocked else PatternFill(fill_type=None)
                    font = copy(cell.font)
                    font.color = None
                    cell.font = font


def _mark_cells(book: Any, findings: list[Finding]) -> None:
    """Colour and comment every cell a finding names (several findings -> one comment)."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet in book.sheetnames and f.cell:
            by_cell.setdefault((f.sheet, f.cell.upper().replace("$", "")), []).append(f)
    for (sheet_name, address), found in by_cell.items():
        cell = _cell(book[sheet_name], address)
        if cell is None:
            continue
        error = any(f.severity == ERROR for f in found)
        cell.fill = _solid(ERROR_FILL if error else WARNING_FILL)
        font = copy(cell.font)
        font.color = "FF" + (ERROR_FONT if error else WARNING_FONT)
        cell.font = font
        text = "\n".join(dict.fromkeys(_clean(f.message) for f in found))
        if cell.comment is not None and cell.comment.author != AUTHOR:
            text += f"\n\n(Ghi chú sẵn có: {cell.comment.text})"
        lines = sum(max(1, math.ceil(len(part) / 50)) for part in text.split("\n"))
        cell.comment = Comment(text, AUTHOR, height=min(20 * lines + 20, 400), width=340)


def _cell(sheet: Any, address: str) -> Any:
    """The cell at ``address`` (the top-left cell when it lies in a merged range), or None."""
    try:
        letters, row = coordinate_from_string(address)
    except ValueError:
        return None
    for merged in sheet.merged_cells.ranges:
        if address in merged:
            return sheet.cell(merged.min_row, merged.min_col)
    return sheet[f"{letters}{row}"]


def _solid(rgb: str) -> PatternFill:
    # Opaque ARGB, as XlsxWriter writes the template's fills (openpyxl would prefix "00").
    return PatternFill(fill_type="solid", fgColor="FF" + rgb, bgColor="FF" + rgb)


def _clean(text: str) -> str:
    """Text without the control characters openpyxl refuses to write."""
    return str(ILLEGAL_CHARACTERS_RE.sub("", text))


# The list sheet -------------------------------------------------------------------------------


def _add_list_sheet(
    book: Any,
    report: FileReport,
    catalog: Catalog,
    period: Period,
    findings: list[Finding],
    note: str,
    linked: bool,
) -> None:
    """Insert ``Lỗi cần sửa`` as the first sheet and make it the one the file opens on."""
    sheet = book.create_sheet(LIST_SHEET, 0)
    font = Font(name=printing.FONT, size=12)
    bold = Font(name=printing.FONT, size=12, bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    side = Side(style="thin")
    border = Border(left=side, right=side, top=side, bottom=side)
    width = sum(w for _, w in LIST_COLUMNS)

    errors = sum(1 for f in findings if f.severity == ERROR)
    warns = len(findings) - errors
    who = report.unit_name or report.unit or "đơn vị"
    lines: list[tuple[str, Font]] = [
        (f"DANH SÁCH LỖI CẦN SỬA — {who.upper()}", Font(name=printing.FONT, size=14, bold=True)),
        (
            f"Tệp: {report.name}; kỳ báo cáo: {period.name}. Có {errors} lỗi và {warns} cảnh báo.",
            bold,
        ),
    ]
    if linked:
        lines.append(
            (
                "Hãy sửa các ô tô màu đỏ (lỗi) trong trang «Báo cáo» theo cột «Hướng dẫn sửa» "
                "(di chuột vào ô để xem ghi chú; bấm vào địa chỉ ô để đến ô đó), xem lại các ô "
                "màu vàng cam (cảnh báo), rồi lưu và gửi lại tệp này về Ban Dân vận Tỉnh ủy "
                f"(hạn gửi: {printing.format_date(period.deadline)}).",
                font,
            )
        )
    if note:
        lines.append((note, Font(name=printing.FONT, size=12, italic=True)))
    r = 0
    for r, (text, style) in enumerate(lines, 1):
        cell = sheet.cell(r, 1)
        _put_text(cell, text)
        cell.font = style
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(LIST_COLUMNS))
        sheet.row_dimensions[r].height = printing.row_height(text, width)
    header = r + 2
    for col, (title, w) in enumerate(LIST_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(col)].width = w
        cell = sheet.cell(header, col, title)
        cell.font = bold
        cell.fill = _solid(HEADER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = border
    for number, f in enumerate(sorted(findings, key=_position), 1):
        row = header + number
        where = f.cell if f.sheet in ("", template.FORM) else f"{f.sheet}!{f.cell}"
        values: list[int | str] = [
            number,
            where if f.cell else "",
            f.task,
            _indicator(catalog, f),
            f.value,
            f.message,
            SEVERITY_LABELS.get(f.severity, f.severity),
        ]
        height = printing.LINE_HEIGHT
        for col, value in enumerate(values, 1):
            cell = sheet.cell(row, col)
            if isinstance(value, int):
                cell.value = value
            else:  # unit text (a value, a file name) may start with "="
                _put_text(cell, value)
                height = max(height, printing.row_height(value, LIST_COLUMNS[col - 1][1]))
            cell.font, cell.alignment, cell.border = font, wrap, border
        sheet.row_dimensions[row].height = min(height, 409)
        colour = (ERROR_FILL, ERROR_FONT) if f.severity == ERROR else (WARNING_FILL, WARNING_FONT)
        severity = sheet.cell(row, len(values))
        severity.fill = _solid(colour[0])
        severity.font = Font(name=printing.FONT, size=12, color="FF" + colour[1])
        link = sheet.cell(row, 2)
        if linked and f.cell and f.sheet in book.sheetnames:
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{f.sheet}'!{f.cell}")
            link.font = Font(name=printing.FONT, size=12, color="0563C1", underline="single")
    last = header + max(len(findings), 1)
    sheet.freeze_panes = sheet.cell(header + 1, 1)
    sheet.auto_filter.ref = f"A{header}:{get_column_letter(len(LIST_COLUMNS))}{last}"
    _page_setup(sheet, header)
    for other in book.worksheets:
        other.sheet_view.tabSelected = False
    sheet.sheet_view.tabSelected = True
    book.active = 0


def _position(f: Finding) -> tuple[int, int, int]:
    """File-level findings first, then top to bottom through the form."""
    if not f.cell:
        return (0, 0, 0)
    try:
        letters, row = coordinate_from_string(f.cell)
    except ValueError:
        return (1, 0, 0)
    return (1, row, column_index_from_string(letters))


def _indicator(catalog: Catalog, f: Finding) -> str:
    """``HN_SO — Số hội nghị…``: the code with the label the unit sees on the form."""
    if not f.indicator:
        return ""
    labels = {code: text for code, text, *_ in template.IDENTITY}
    label = labels.get(f.indicator, "")
    if not label:
        label = next(
            (
                i.label
                for i in catalog.indicators
                if i.code == f.indicator and i.task in (f.task, "*")
            ),
            "",
        )
    return f"{f.indicator} — {label}" if label else f.indicator


def _page_setup(sheet: Any, header: int) -> None:
    """A4 landscape, the margins of Hướng dẫn 36, page numbers, header row on every page."""
    sheet.page_setup.paperSize = printing.A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    m = printing.MARGINS
    sheet.page_margins = PageMargins(
        left=m["left"],
        right=m["right"],
        top=m["top"],
        bottom=m["bottom"],
        header=8 / 25.4,
        footer=8 / 25.4,
    )
    sheet.oddHeader.center.text = "&P"
    sheet.oddHeader.center.font = f"{printing.FONT},Regular"
    sheet.oddHeader.center.size = 12
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = f"{header}:{header}"


# Saving ---------------------------------------------------------------------------------------


def _save_atomic(book: Any, path: Path) -> None:
    """Save beside ``path`` under a temporary name, then move it into place."""
    fd, name = tempfile.mkstemp(prefix=".~dvxl-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        book.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
