"""One locked Excel template per addressed unit, showing only that unit's tasks.

This module only writes: the form it writes (sheets, columns, rows, the identity block,
the hidden metadata, file names) is :mod:`dvxl.form`'s, which every reader of returned
files follows too. The writer adds what only a person opening the file sees: the guide's
text, the document heading, styles, widths, data validation, protection and print set-up.

Given a :class:`dvxl.seal.Seal` with a key, the metadata is signed. Every template's sheets
are protected and its workbook structure locked (no sheet unhidden, renamed, added or
deleted in Excel) with the master's «mật khẩu khóa mẫu».
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvxl import periods, printing
from dvxl.form import (
    CELL_MAP,
    COL_CODE,
    COL_HELP,
    COL_LABEL,
    COL_NO,
    COL_UNIT,
    COL_VALUE,
    FORM,
    GUIDE,
    HEADER_ROW,
    HEADERS,
    IDENTITY,
    IDENTITY_FIRST_ROW,
    LISTS,
    META,
    FormRow,
    form_rows,
    layout,
    metadata,
    template_name,
)
from dvxl.model import Catalog, Indicator, Period, Task, Unit

if TYPE_CHECKING:
    from dvxl.seal import Seal

# Of the form's columns, COL_NO to COL_HELP. The code column is hidden (issue 15): its
# width went to the label and the answer, so the form prints at the scale it did before.
WIDTHS = (8, 12, 52, 11, 54, 40)
FORM_WIDTH = sum(WIDTHS) - WIDTHS[COL_CODE]
LEFT_WIDTH = WIDTHS[COL_NO] + WIDTHS[COL_LABEL]  # the letterhead's halves, merged cells
RIGHT_WIDTH = sum(WIDTHS[COL_UNIT:])


def write_templates(
    catalog: Catalog, period_code: str, folder: Path, seal: Seal | None = None,
    upload_codes: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write one template per addressed unit into ``folder`` (signed with ``seal``'s key if
    it has one); return the paths. ``upload_codes``: each unit's code for the upload page
    (:mod:`dvxl.uploadcodes`, shown as typed), printed on its «Hướng dẫn» sheet."""
    period = periods.find(catalog, period_code)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for unit in catalog.addressed_units():
        path = folder / template_name(period, unit)
        write_template(catalog, unit, period, path, seal=seal,
                       upload_code=(upload_codes or {}).get(unit.code, ""))
        paths.append(path)
    return paths


def write_template(
    catalog: Catalog,
    unit: Unit,
    period: Period,
    path: Path,
    values: dict[str, Any] | None = None,
    *,
    seal: Seal | None = None,
    upload_code: str = "",
) -> None:
    """Write ``unit``'s template for ``period`` to ``path`` (atomically).

    ``values`` (form keys such as ``"1.1.HN_SO"`` -> value) fill the input cells in the
    same pass, as a unit would type them: only simulated returns (:mod:`dvxl.sample`,
    the benchmark) and rebuilt marked-up copies use it. ``seal``: see :mod:`dvxl.seal`;
    without one (or without its key) the template is not signed.
    """
    printing.write_workbook(
        path, lambda wb: _Builder(wb, catalog, unit, period, values, seal, upload_code).build()
    )


def template_bytes(
    catalog: Catalog, unit: Unit, period: Period, values: dict[str, Any], *,
    seal: Seal | None = None,
) -> bytes:
    """:func:`write_template`'s workbook with ``values``, as bytes: a rebuilt marked copy
    (:mod:`dvxl.markup`) is changed before it is written."""
    return printing.workbook_bytes(
        lambda wb: _Builder(wb, catalog, unit, period, values, seal, "").build())


class _Builder:
    def __init__(
        self,
        workbook: Any,
        catalog: Catalog,
        unit: Unit,
        period: Period,
        values: dict[str, Any] | None = None,
        seal: Seal | None = None,
        upload_code: str = "",
    ) -> None:
        self.wb = workbook
        self.upload_code = upload_code
        self.catalog = catalog
        self.unit = unit
        self.period = period
        self.values = values or {}
        self.seal = seal
        self.styles = printing.Styles(workbook)
        self.rows = form_rows(catalog, unit)
        s = self.styles
        self.locked_text = s.make(border=1, valign="top", text_wrap=True)
        self.help_text = s.make(
            border=1, valign="top", text_wrap=True, font_size=10, font_color="#404040"
        )
        self.task_head = s.make(
            border=1, bold=True, bg_color=printing.SECTION_FILL, valign="top", text_wrap=True
        )
        self.task_text = s.make(border=1, italic=True, valign="top", text_wrap=True, font_size=11)
        base = {
            "border": 1,
            "valign": "top",
            "text_wrap": True,
            "locked": False,
            "bg_color": printing.INPUT_FILL,
        }
        self.input = {
            "integer": s.make(**base, num_format="#,##0"),
            "decimal": s.make(**base, num_format="#,##0.##"),
            "score": s.make(**base, num_format="0.##"),
            "date": s.make(**base, num_format="dd/mm/yyyy", align="left"),
        }
        self.input_text = s.make(**base)
        # Text, so that LibreOffice and Excel keep what is typed: 0912345678 stays
        # 0912345678, not 912345678 (issue 15).
        self.input_phone = s.make(**base, num_format="@")

    def build(self) -> None:
        self.wb.set_properties(
            {
                "title": f"Báo cáo {self.period.name} — {self.unit.name}",
                "subject": printing.directive_title(self.catalog.directive),
                "author": "dvxl",
                "comments": "Mẫu báo cáo tạo bởi dvxl; chỉ nhập vào các ô màu vàng.",
            }
        )
        self.list_names = self._lists_sheet_names()
        guide = self.wb.add_worksheet(GUIDE)
        form = self.wb.add_worksheet(FORM)
        self._write_lists()
        self._write_meta()
        self._write_guide(guide)
        self._write_form(form)
        guide.activate()
        # Excel then neither shows the hidden sheets nor lets them be renamed or deleted
        # (issue 14). LibreOffice 7.4 ignores the lock in .xlsx: the signature is the proof.
        printing.lock_structure(self.wb, self.catalog.settings.sheet_password)

    # The hidden list sheet -----------------------------------------------------

    def _lists_sheet_names(self) -> dict[str, str]:
        """Defined name for each choice list the unit's form uses."""
        used = {i.choices for row in self.rows if (i := row.indicator) and i.type == "choice"}
        return {code: "DM_" + re.sub(r"\W", "_", code) for code in sorted(used)}

    def _write_lists(self) -> None:
        sheet = self.wb.add_worksheet(LISTS)
        for col, (code, name) in enumerate(self.list_names.items()):
            values = self.catalog.choice_list(code).values
            sheet.write_string(0, col, code, self.styles.bold)
            for r, value in enumerate(values, 1):
                sheet.write_string(r, col, value)
            letter = _column_letter(col)
            self.wb.define_name(name, f"='{LISTS}'!${letter}$2:${letter}${len(values) + 1}")
        sheet.hide()
        sheet.protect(self.catalog.settings.sheet_password)

    # The veryHidden metadata sheet ---------------------------------------------

    def _write_meta(self) -> None:
        sheet = self.wb.add_worksheet(META)
        block = metadata(self.catalog, self.unit, self.period)
        cells = layout(self.rows)
        if self.seal is not None:
            block |= self.seal.stamp(block, cells)
        for r, (key, value) in enumerate(block.items()):
            sheet.write_string(r, 0, key)
            sheet.write_string(r, 1, value)
        start = len(block) + 1
        sheet.write_string(start, 0, CELL_MAP[0])
        sheet.write_string(start, 1, CELL_MAP[1])
        for r, (cell, key) in enumerate(cells, start + 1):
            sheet.write_string(r, 0, cell)
            sheet.write_string(r, 1, key)
        sheet.very_hidden()
        sheet.protect(self.catalog.settings.sheet_password)

    # The guide ------------------------------------------------------------------

    def _write_guide(self, sheet: Any) -> None:
        printing.setup_page(sheet, landscape=False, header_rows=None)
        sheet.set_column(0, 0, 3)
        sheet.set_column(1, 1, 95)
        p = self.period
        fmt = printing.format_date
        tasks = self.catalog.tasks_for(self.unit)
        s = self.styles
        lines: list[tuple[str, Any]] = [
            (f"HƯỚNG DẪN LẬP BÁO CÁO — {self.unit.name.upper()}", s.title),
            (
                f"Kỳ báo cáo: {p.name}; số liệu từ ngày {fmt(p.start)} đến ngày {fmt(p.end)}.",
                s.bold,
            ),
            (f"Hạn gửi báo cáo: ngày {fmt(p.deadline)}.", s.bold),
            (f"Văn bản: {printing.directive_title(self.catalog.directive)}.", s.cell_plain),
            ("", None),
            (
                "1. Mở trang tính «Báo cáo». Chỉ nhập vào các ô nền vàng ở cột «Kết quả báo cáo»; "
                "các ô khác đã được khóa.",
                s.cell_plain,
            ),
            (
                "2. Ô có mũi tên: chọn một giá trị trong danh sách. Ô số: nhập số, không kèm chữ "
                "(không có thì nhập 0). Ô ngày: nhập theo dạng ngày/tháng/năm, ví dụ 14/6/2026.",
                s.cell_plain,
            ),
            (
                "3. Văn bản đã ban hành: mỗi văn bản một dòng (Alt+Enter để xuống dòng), ghi số, "
                "ký hiệu và ngày, ví dụ: 45-KH/HU ngày 12/3/2020.",
                s.cell_plain,
            ),
            (
                "4. Điểm tự chấm: không vượt quá số điểm tối đa ghi ở cột «Hướng dẫn nhập» "
                "của từng nhiệm vụ.",
                s.cell_plain,
            ),
            (
                "5. Không đổi tên, xóa hay thêm trang tính, dòng, cột; không chép số liệu sang "
                "tệp khác; có thể dán giá trị nhưng hãy kiểm tra lại sau khi dán.",
                s.cell_plain,
            ),
            (
                "6. Lưu tệp dưới dạng Excel (.xlsx); nếu dùng LibreOffice hoặc WPS có thể lưu "
                ".xlsx, .xls hoặc .ods. Giữ nguyên tên tệp.",
                s.cell_plain,
            ),
            (
                f"7. Gửi tệp về Ban Dân vận Tỉnh ủy trước ngày {fmt(p.deadline)}. "
                "Tệp có lỗi sẽ được "
                "gửi trả kèm chỉ dẫn sửa ở từng ô.",
                s.cell_plain,
            ),
            ("", None),
            (f"Đơn vị được giao {len(tasks)} nhiệm vụ:", s.bold),
        ]
        lines += [(f"• Nhiệm vụ {t.code}: {t.title}", s.cell_plain) for t in tasks]
        if self.upload_code:  # the upload page (dvxl serve), issue 17
            lines += [("", None), (
                f"Gửi báo cáo qua trang tải lên của văn phòng: mã nộp báo cáo của đơn vị là "
                f"{self.upload_code} (chỉ dùng cho kỳ này; không chuyển cho đơn vị khác).",
                s.bold)]
        for r, (text, style) in enumerate(lines):
            if text:
                sheet.write_string(r, 1, text, style)
                sheet.set_row(r, printing.row_height(text, 95))
        sheet.protect(self.catalog.settings.sheet_password)

    # The form ---------------------------------------------------------------------

    def _write_form(self, sheet: Any) -> None:
        printing.setup_page(sheet, landscape=True, header_rows=HEADER_ROW)
        for col, width in enumerate(WIDTHS):
            # The codes the readers find rows by are not for the printed form (issue 15):
            # hidden, and the protected sheet does not let them be shown.
            sheet.set_column(col, col, width, None, {"hidden": col == COL_CODE})
        self._write_heading(sheet)
        self._write_identity(sheet)
        for col, header in enumerate(HEADERS):
            sheet.write_string(HEADER_ROW, col, header, self.styles.header)
        for row in self.rows:
            if row.kind == "task":
                self._write_task_heading(sheet, row)
            elif row.kind == "text":
                self._write_task_text(sheet, row)
            elif row.kind == "indicator":
                self._write_indicator(sheet, row)
        self._write_signature(sheet, self.rows[-1].row + 2)
        sheet.freeze_panes(HEADER_ROW + 1, 0)
        sheet.protect(
            self.catalog.settings.sheet_password,
            {
                "select_locked_cells": True,
                "select_unlocked_cells": True,
                "format_rows": True,  # so a clerk can make a row taller for a long answer
            },
        )

    def _write_heading(self, sheet: Any) -> None:
        """The unit's letterhead (:meth:`dvxl.model.Catalog.letterhead`): on the left the
        superior body, the unit, its mark; on the right the heading, its motto, place and
        date; the heading's last line ruled below (Hướng dẫn 36-HD/VPTW for Party bodies)."""
        s = self.styles
        head = self.catalog.letterhead(self.unit)
        province = self.catalog.settings.province
        left = [
            (head.superior.replace("{tinh}", province).upper(), False),
            (self.unit.name.upper(), True),
            (head.mark, False),
        ]
        left = [line for line in left if line[0]]
        right = [line for line in (head.heading, head.motto) if line]
        place_date = f"{province}, ngày      tháng      năm {self.period.deadline.year}"
        for r in range(3):
            text, bold = left[r] if r < len(left) else ("", False)
            if text:
                _merge_string(
                    sheet, r, COL_NO, r, COL_LABEL, text,
                    s.make(bold=bold, align="center", valign="top", text_wrap=True),
                )
            if r < len(right):
                ruled = r == len(right) - 1
                line_format = s.make(bold=True, underline=int(ruled), align="center",
                                     valign="top", text_wrap=True)
                _merge_string(sheet, r, COL_UNIT, r, COL_HELP, right[r], line_format)
            elif r == 2:
                _merge_string(
                    sheet, r, COL_UNIT, r, COL_HELP, place_date,
                    s.make(italic=True, align="center", valign="top"),
                )
            # LibreOffice does not grow a row to fit wrapped text: compute it (issue 15).
            sheet.set_row(r, max(
                _height(text, LEFT_WIDTH, bold=bold),
                _height(right[r] if r < len(right) else "", RIGHT_WIDTH, bold=True),
            ))
        sheet.merge_range(
            4, COL_NO, 4, COL_HELP, "BÁO CÁO", s.make(bold=True, font_size=14, align="center")
        )
        title = f"Kết quả thực hiện {printing.directive_title(self.catalog.directive)}"
        sheet.merge_range(
            5,
            COL_NO,
            5,
            COL_HELP,
            title,
            s.make(bold=True, align="center", valign="top", text_wrap=True),
        )
        sheet.set_row(5, _height(title, FORM_WIDTH, bold=True))
        p = self.period
        fmt = printing.format_date
        sheet.merge_range(
            6,
            COL_NO,
            6,
            COL_HELP,
            f"Kỳ báo cáo: {p.name} (số liệu từ {fmt(p.start)} đến {fmt(p.end)}); "
            f"hạn gửi: {fmt(p.deadline)}",
            s.make(italic=True, align="center"),
        )

    def _write_signature(self, sheet: Any, first: int) -> None:
        """The signature block in the body's own wording («T/M BAN THƯỜNG VỤ», «T/M ĐẢNG
        ĐOÀN»…), from the letterhead; the signer signs and stamps below."""
        head = self.catalog.letterhead(self.unit)
        s = self.styles
        lines = [(text, s.make(bold=True, align="center"))
                 for text in (head.authority, head.signer_title) if text]
        lines.append(("(Ký, ghi rõ họ tên, đóng dấu)", s.make(italic=True, align="center")))
        for r, (text, line_format) in enumerate(lines, first):
            _merge_string(sheet, r, COL_UNIT, r, COL_HELP, text, line_format)

    def _write_identity(self, sheet: Any) -> None:
        s = self.styles
        label = s.make(bold=True, border=1, valign="top")
        fixed = s.make(border=1, valign="top", bold=True, text_wrap=True)
        for r, (text, value) in enumerate(
            (("Đơn vị báo cáo", self.unit.name), ("Mã đơn vị", self.unit.code)),
            IDENTITY_FIRST_ROW - 2,
        ):
            sheet.merge_range(r, COL_NO, r, COL_LABEL, text, label)
            sheet.write_string(r, COL_VALUE, value, fixed)
            sheet.set_row(r, _height(value, WIDTHS[COL_VALUE], bold=True))
        for row, (code, text, kind, _required) in zip(self.rows, IDENTITY, strict=False):
            sheet.write_blank(row.row, COL_NO, None, self.locked_text)
            sheet.write_string(row.row, COL_CODE, code, self.locked_text)
            sheet.write_string(row.row, COL_LABEL, text + " (*)", self.locked_text)
            if kind == "date":
                self._write_input(sheet, row, self.input["date"])
                self._validate_date(
                    sheet,
                    row.row,
                    "Ngày lập báo cáo",
                    self.period.start,
                    self.period.deadline + dt.timedelta(days=365),
                )
            else:
                phone = kind == "phone"
                self._write_input(sheet, row, self.input_phone if phone else self.input_text)
                sheet.data_validation(
                    row.row,
                    COL_VALUE,
                    row.row,
                    COL_VALUE,
                    {
                        "validate": "length",
                        "criteria": "<=",
                        "value": 255,
                        "input_title": _clip(text, 32),
                        "input_message": (
                            "Bắt buộc nhập. Gõ đủ số 0 ở đầu, ví dụ 0912345678."
                            if phone
                            else "Bắt buộc nhập."
                        ),
                        "error_title": "Quá dài",
                        "error_message": "Nhập tối đa 255 ký tự.",
                    },
                )

    def _write_task_heading(self, sheet: Any, row: FormRow) -> None:
        assert row.task is not None
        # STT numbers the unit's tasks I, II…: the task's code is in its text (issue 15).
        number = [r.key for r in self.rows if r.kind == "task"].index(row.key)
        sheet.write_string(row.row, COL_NO, _roman(number + 1), self.task_head)
        sheet.write_string(row.row, COL_CODE, row.task.code, self.task_head)
        text = f"Nhiệm vụ {row.task.code}: {row.task.title}"
        sheet.merge_range(row.row, COL_LABEL, row.row, COL_HELP, text, self.task_head)

    def _write_task_text(self, sheet: Any, row: FormRow) -> None:
        assert row.task is not None
        sheet.write_blank(row.row, COL_NO, None, self.task_text)
        sheet.write_blank(row.row, COL_CODE, None, self.task_text)
        _merge_string(sheet, row.row, COL_LABEL, row.row, COL_HELP, row.task.text, self.task_text)
        sheet.set_row(row.row, printing.row_height(row.task.text, sum(WIDTHS[COL_LABEL:]), font=11))

    def _write_indicator(self, sheet: Any, row: FormRow) -> None:
        task, ind = row.task, row.indicator
        assert task is not None and ind is not None
        number = [r.key for r in self.rows if r.task == task and r.kind == "indicator"].index(
            row.key
        )
        sheet.write_string(row.row, COL_NO, str(number + 1), self.locked_text)
        sheet.write_string(row.row, COL_CODE, ind.code, self.locked_text)
        label = ind.label + (" (*)" if ind.required else "")
        sheet.write_string(row.row, COL_LABEL, label, self.locked_text)
        sheet.write_string(row.row, COL_UNIT, ind.unit, self.locked_text)
        help_text = self._help(task, ind)
        sheet.write_string(row.row, COL_HELP, help_text, self.help_text)
        self._write_input(sheet, row, self.input.get(ind.type, self.input_text))
        self._validate(sheet, row.row, task, ind, help_text)
        lines = {"longtext": 4, "doclist": 3}.get(ind.type, 1)
        height = max(
            lines * printing.LINE_HEIGHT,
            printing.row_height(label, WIDTHS[COL_LABEL]),
            printing.row_height(help_text, WIDTHS[COL_HELP], font=10),
        )
        sheet.set_row(row.row, height)

    def _write_input(self, sheet: Any, row: FormRow, cell_format: Any) -> None:
        """The input cell: blank, or the simulated value of ``row`` as a unit would type it."""
        value = self.values.get(row.key)
        r = row.row
        if value is None or value == "":
            sheet.write_blank(r, COL_VALUE, None, cell_format)
        elif isinstance(value, bool):
            sheet.write_boolean(r, COL_VALUE, value, cell_format)
        elif isinstance(value, int | float):
            sheet.write_number(r, COL_VALUE, value, cell_format)
        elif isinstance(value, dt.date):
            sheet.write_datetime(r, COL_VALUE, value, cell_format)
        else:  # typed text stays text, "=..." included
            sheet.write_string(r, COL_VALUE, str(value), cell_format)

    def _help(self, task: Task, ind: Indicator) -> str:
        parts = [ind.help] if ind.help else []
        if ind.type == "score":
            points = self.catalog.points(self.unit.rating_group, task.code) or 0
            parts.append(f"Tối đa {_num(points)} điểm.")
        elif ind.required:
            parts.append("Bắt buộc nhập.")
        return " ".join(parts)

    def _validate(self, sheet: Any, r: int, task: Task, ind: Indicator, help_text: str) -> None:
        common = {
            "input_title": _clip(ind.label, 32),
            "input_message": _clip(help_text, 255),
            "error_title": "Giá trị không hợp lệ",
        }
        if ind.type in ("integer", "decimal", "score"):
            lo = ind.minimum if ind.minimum is not None else -1e9
            hi = ind.maximum if ind.maximum is not None else 1e9
            if ind.type == "score":
                lo, hi = 0, self.catalog.points(self.unit.rating_group, task.code) or 0
            whole = ind.type == "integer"
            kind = "số nguyên" if whole else "số"
            sheet.data_validation(
                r,
                COL_VALUE,
                r,
                COL_VALUE,
                {
                    **common,
                    "validate": "integer" if whole else "decimal",
                    "criteria": "between",
                    "minimum": lo,
                    "maximum": hi,
                    "error_message": f"Nhập {kind} từ {_num(lo)} đến {_num(hi)}.",
                },
            )
        elif ind.type == "date":
            self._validate_date(sheet, r, ind.label, self.period.start, self.period.end)
        elif ind.type == "choice":
            values = self.catalog.choice_list(ind.choices).values
            sheet.data_validation(
                r,
                COL_VALUE,
                r,
                COL_VALUE,
                {
                    **common,
                    "validate": "list",
                    "source": f"={self.list_names[ind.choices]}",
                    "error_message": _clip(
                        "Chọn một giá trị trong danh sách: " + "; ".join(values), 255
                    ),
                },
            )
        elif ind.type == "text":
            sheet.data_validation(
                r,
                COL_VALUE,
                r,
                COL_VALUE,
                {
                    **common,
                    "validate": "length",
                    "criteria": "<=",
                    "value": 255,
                    "error_message": "Nhập tối đa 255 ký tự.",
                },
            )
        else:  # longtext, doclist: any text; the input message still guides the clerk
            sheet.data_validation(
                r,
                COL_VALUE,
                r,
                COL_VALUE,
                {
                    **common,
                    "validate": "length",
                    "criteria": "<=",
                    "value": 32000,
                    "error_message": "Nội dung quá dài (tối đa 32.000 ký tự).",
                },
            )

    def _validate_date(self, sheet: Any, r: int, label: str, lo: dt.date, hi: dt.date) -> None:
        fmt = printing.format_date
        sheet.data_validation(
            r,
            COL_VALUE,
            r,
            COL_VALUE,
            {
                "validate": "date",
                "criteria": "between",
                "minimum": dt.datetime.combine(lo, dt.time()),
                "maximum": dt.datetime.combine(hi, dt.time()),
                "input_title": _clip(label, 32),
                "input_message": f"Nhập ngày dạng ngày/tháng/năm, từ {fmt(lo)} đến {fmt(hi)}.",
                "error_title": "Ngày không hợp lệ",
                "error_message": f"Nhập ngày từ {fmt(lo)} đến {fmt(hi)}, dạng ngày/tháng/năm.",
            },
        )


def _column_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _merge_string(
    sheet: Any,
    first_row: int,
    first_col: int,
    last_row: int,
    last_col: int,
    text: str,
    cell_format: Any,
) -> None:
    """Merge cells holding catalog text, always as a string.

    ``merge_range`` stores its data with ``write()``, which turns "=..." into a formula and
    "{...}" into an array formula; a unit or task text must stay text.
    """
    sheet.merge_range(first_row, first_col, last_row, last_col, "", cell_format)
    sheet.write_string(first_row, first_col, text, cell_format)


def _height(text: str, width: float, *, bold: bool = False) -> float:
    """The height of a row whose ``text`` wraps in ``width`` characters: LibreOffice does
    not grow rows to fit when it opens the file. Capitals run about a fifth wider, bold a
    tenth."""
    if not text:
        return printing.LINE_HEIGHT
    factor = 0.8 if text.isupper() else 0.9 if bold else 1.0
    return max(printing.LINE_HEIGHT, printing.row_height(text, width * factor))


def _roman(number: int) -> str:
    """1 -> I, 4 -> IV, 14 -> XIV: how Vietnamese tables number their parts."""
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                           (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        while number >= value:
            out += letters
            number -= value
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float) -> str:
    """A number the Vietnamese way: 10.000 and 12,5."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:g}".replace(".", ",")
