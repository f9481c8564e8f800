"""The list of a period's upload codes for the secretariat: the sheet «Mã nộp».

One row per addressed unit (code, name, upload code as typed on the page), with the
secretariat's own code and how units use theirs above the table. ``dvxl codes -p P`` writes
it as a small workbook in the workspace, ``DIR/ma-nop-<kỳ>.xlsx``, owner-only like the codes
themselves (:mod:`dvxl.uploadcodes`), to open or print (A4 portrait, one page wide); the
«Tổng hợp» button copies that sheet into the open master (:mod:`dvxl.excel`), so the master
lists the codes of the period it merged. The codes never go into ``outputs/``, which are for
other people.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dvxl import printing, uploadcodes
from dvxl.looks import Cell, Col, Looks, text_width
from dvxl.model import Catalog, Period

SHEET = "Mã nộp"
UNIT_TITLE, NAME_TITLE, CODE_TITLE = "Mã đơn vị", "Tên đơn vị", "Mã nộp"
HOW_TO = ("Cách dùng: đơn vị mở trang tải lên (địa chỉ trang do văn phòng báo), nhập mã nộp "
          "của đơn vị mình, chọn tệp báo cáo đã điền rồi bấm «Gửi báo cáo»; trang cho biết "
          "ngay tệp đã được nhận hay còn lỗi. Mã chỉ dùng cho kỳ này.")
_HEADER_ROW = 6
# A4 portrait within the margins of Hướng dẫn 36: 210 mm less 30 + 15 mm, in points.
_PAGE_WIDTH_PT = 165 / 25.4 * 72


def path(root: Path, period: str) -> Path:
    """Where ``dvxl codes`` keeps the list of ``period``'s codes."""
    return root / f"ma-nop-{period}.xlsx"


def write(root: Path, catalog: Catalog, period: Period,
          codes: uploadcodes.PeriodCodes) -> Path:
    """Write the period's list of codes, owner-only, replacing an earlier one; its path."""
    target = path(root, period.code)

    def fill(workbook: Any) -> None:
        workbook.set_properties({
            "title": f"Mã nộp báo cáo — {period.name}",
            "subject": printing.directive_title(catalog.directive),
            "author": "dvxl",
            "comments": "Tạo bởi dvxl codes; giữ kín, chỉ báo cho mỗi đơn vị mã của mình.",
        })
        write_sheet(Looks(workbook), workbook.add_worksheet(SHEET), catalog, period, codes)

    printing.write_workbook(target, fill, private=True)
    return target


def write_for(root: Path, catalog: Catalog, period: Period) -> Path | None:
    """The list of ``period``'s codes written again from the codes kept in the workspace;
    None (and nothing written) when the period has no codes."""
    codes = uploadcodes.load(root).get(period.code)
    return None if codes is None else write(root, catalog, period, codes)


def write_sheet(looks: Looks, sheet: Any, catalog: Catalog, period: Period,
                codes: uploadcodes.PeriodCodes) -> None:
    """The heading (period, the secretariat's code, how units use theirs) and the table."""
    units = catalog.addressed_units()
    missing = f"chưa có mã: chạy dvxl codes -p {period.code}"
    code_width = text_width(["K7MX-4PQA"], CODE_TITLE, least=12) + 2  # bold
    unit_width = text_width((u.code for u in units), UNIT_TITLE, least=9)
    # The names take the rest of the page's width (column_points of four columns), less the
    # padding a spreadsheet adds to each stored width (about 0.7 of a digit).
    rest = (_PAGE_WIDTH_PT / 0.75 - 4 * 5) / 8 - (5 + unit_width + code_width) - 4 * 0.75
    cols = [Col("STT", 5), Col(UNIT_TITLE, unit_width),
            Col(NAME_TITLE, max(24.0, math.floor(rest)), True), Col(CODE_TITLE, code_width, True)]
    fmt = printing.format_date
    strong = looks.s.make(bold=True, text_wrap=True, valign="top")
    looks.heading(sheet, [
        (f"MÃ NỘP BÁO CÁO — {period.name.upper()}", looks.title),
        (f"Kỳ báo cáo {period.code}: số liệu từ ngày {fmt(period.start)} đến ngày "
         f"{fmt(period.end)}; hạn gửi ngày {fmt(period.deadline)}. Thực hiện "
         f"{printing.directive_title(catalog.directive)}.", looks.note),
        ("Mã của văn phòng (mở bảng theo dõi của kỳ trên trang tải lên): "
         f"{uploadcodes.shown(codes.secretariat)}", strong),
        (HOW_TO, looks.note),
        ("Giữ kín bảng này, chỉ báo cho mỗi đơn vị mã của đơn vị đó. Mã bị lộ thì tạo lại mọi "
         f"mã của kỳ: dvxl codes -p {period.code} --new (mã cũ hết hiệu lực ngay, phải báo mã "
         "mới cho các đơn vị).", looks.note),
    ], cols)
    code_cell = looks.s.make(border=1, valign="top", bold=True, align="center")
    rows: list[list[Cell]] = []
    for i, unit in enumerate(units, 1):
        code = codes.units.get(unit.code)
        rows.append([(i, looks.center), (unit.code, looks.text), (unit.name, looks.text),
                     (uploadcodes.shown(code), code_cell) if code else (missing, looks.empty)])
    looks.table(sheet, _HEADER_ROW, cols, rows, key_cols=2)
    printing.setup_page(sheet, landscape=False, header_rows=_HEADER_ROW)
