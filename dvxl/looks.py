"""How the period outputs look: cell formats, headings and print-ready tables.

Shared by the period workbook (:mod:`dvxl.render`) and the task workbooks of a large
roster (:mod:`dvxl.taskbooks`), which a worker process writes with a :class:`Looks` of its
own. Text is always written as text (never a formula); every total is a formula stored
with the value Python computed (:func:`sum_formula`); every table prints one A4 page wide
(fitted to the width, as many pages down as it needs, its header row repeated): a page
that continues a table to the right, with labels and no values, helps nobody (issue 15).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from dvxl import printing
from dvxl.merge import Consolidated
from dvxl.model import Indicator
from dvxl.rawrows import Formula
from dvxl.report import AMBER, GREEN, RED
from dvxl.statuses import TrackStatus

TOTAL_LABEL = "Tổng cộng"
STATUS_COLOURS = {
    TrackStatus.ON_TIME: GREEN,
    TrackStatus.LATE: AMBER,
    TrackStatus.INVALID: RED,
    TrackStatus.MISSING: RED,
}
YES = "Có"

# A4 landscape within the margins of Hướng dẫn 36, in points: 297 mm less 30 + 15 mm wide,
# 210 mm less 20 + 20 mm high. A wider table is scaled down to fit, so widths are kept as
# narrow as their text allows.
PAGE_WIDTH_PT = 252 / 25.4 * 72
PAGE_HEIGHT_PT = 170 / 25.4 * 72
SHEET_NAME_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")

# Column widths (characters) of an indicator's value, by indicator type.
VALUE_WIDTHS = {"integer": 11, "decimal": 11, "score": 9, "date": 11, "choice": 14,
                "text": 20, "doclist": 24, "longtext": 32}


@dataclass(frozen=True)
class Col:
    """A table column: its header, width in characters, and whether its text wraps."""

    title: str
    width: float
    wrap: bool = False


Cell = tuple[Any, Any]  # (value, cell format)


class Looks:
    """The cell formats of a workbook and the writing of headings and tables with them."""

    def __init__(self, workbook: Any) -> None:
        self.wb = workbook
        s = self.s = printing.Styles(workbook)
        top = {"border": 1, "valign": "top"}
        self.text = s.cell
        self.center = s.make(**top, align="center")
        self.integer = s.make(**top, num_format="#,##0")
        self.general = s.make(**top, num_format="General")
        self.date = s.make(**top, num_format="dd/mm/yyyy", align="left")
        self.stamp = s.make(**top, num_format="dd/mm/yyyy hh:mm", align="left")
        self.pct = s.make(**top, num_format="0.0%")
        self.empty = s.make(**top, text_wrap=True, italic=True, font_color="#595959")
        # A receipt time the secretariat corrected by hand stands out from those dvxl read.
        self.corrected = s.make(**top, text_wrap=True, bold=True, italic=True,
                                font_color="#1F4E79")
        bold = {**top, "bold": True}
        self.total_text = s.make(**bold, text_wrap=True)
        self.total_integer = s.make(**bold, num_format="#,##0")
        self.total_general = s.make(**bold, num_format="General")
        self.total_pct = s.make(**bold, num_format="0.0%")
        self.status = {k: s.make(**top, text_wrap=True, **v) for k, v in STATUS_COLOURS.items()}
        self.label = s.make(bold=True, valign="top")
        self.title = s.make(bold=True, font_size=14, text_wrap=True, valign="top")
        self.note = s.make(italic=True, font_color="#595959", text_wrap=True, valign="top")

    def heading(self, sheet: Any, lines: Sequence[tuple[str, Any]],
                cols: Sequence[Col]) -> None:
        """Title lines across the table's width, wrapped, rows sized to them."""
        ncols, width = len(cols), sum(col.width for col in cols)
        for r, (text, fmt) in enumerate(lines):
            if ncols > 1:
                sheet.merge_range(r, 0, r, ncols - 1, "", fmt)
            sheet.write_string(r, 0, text, fmt)
            size = 14 if fmt is self.title else 12
            sheet.set_row(r, printing.row_height(text, width, size))

    def table(self, sheet: Any, header: int, cols: Sequence[Col], rows: list[list[Cell]],
              *, footer: list[Cell] | None = None, key_cols: int = 0,
              only: bool = True, repeat_header: bool = True) -> int:
        """Header, rows and an optional totals row (not filtered); print-ready.

        The only table of its sheet also gets frozen panes, a filter and its header
        repeated on every printed page (unless ``repeat_header`` is False). Returns the sheet
        row after the table.
        """
        _page(sheet, header if only and repeat_header else None)
        for col, spec in enumerate(cols):
            sheet.set_column(col, col, spec.width)
            sheet.write_string(header, col, spec.title, self.s.header)
        sheet.set_row(header, fit_height((c.title, c.width) for c in cols))
        wrapped = [(col, c.width) for col, c in enumerate(cols) if c.wrap and c.width]
        r = printing.write_rows(sheet, header + 1, rows, len(cols), wrapped, put)
        if footer:  # the totals row: through XlsxWriter
            r = printing.write_rows(sheet, r, [footer], len(cols), wrapped, put, raw=False)
        if only:
            sheet.freeze_panes(header + 1, key_cols)
            sheet.autofilter(header, 0, header + max(len(rows), 1), len(cols) - 1)
        return r

    def status_cell(self, status: TrackStatus) -> Cell:
        """A tracking status as its label, coloured (green, amber, red)."""
        return status.label, self.status[status]

    def value_cell(self, ind: Indicator | None, value: Any) -> Cell:
        """A reported value as the right kind of cell: numbers, dates and text as such."""
        kind = type(value)  # the usual kinds first: 700,000 cells at national scale
        if kind is str:
            return value, self.text
        if kind is float or kind is int:
            integer = ind is not None and ind.type == "integer"
            return value, self.integer if integer else self.general
        if isinstance(value, bool):
            return (YES if value else "Không"), self.text
        if isinstance(value, int | float):
            integer = ind is not None and ind.type == "integer"
            return value, self.integer if integer else self.general
        if isinstance(value, dt.datetime):
            return value, self.stamp
        if isinstance(value, dt.date):
            return value, self.date
        if value is None:
            return "", self.text
        return str(value), self.text


def workbook_properties(c: Consolidated, title: str) -> dict[str, Any]:
    """The document properties of a period output (the same data gives the same bytes)."""
    return {
        "title": title or f"Tổng hợp báo cáo — {c.period.name}",
        "subject": printing.directive_title(c.catalog.directive),
        "author": "dvxl",
        "comments": "Tạo bởi dvxl; số liệu lấy từ các báo cáo hợp lệ đã nhận.",
        # The same data gives the same bytes: a re-run must change nothing (issue #4).
        "created": c.generated,
    }


def period_line(c: Consolidated) -> str:
    """The period's dates and when it was consolidated, under each sheet's title."""
    p = c.period
    fmt = printing.format_date
    return (f"Kỳ báo cáo {p.code}: số liệu từ ngày {fmt(p.start)} đến ngày {fmt(p.end)}; "
            f"hạn gửi ngày {fmt(p.deadline)}. Tổng hợp lúc {stamp(c.generated)}.")


def unique_sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unique (case-insensitively) sheet name of at most 31 characters."""
    base = _BAD_SHEET_CHARS.sub("_", unicodedata.normalize("NFC", wanted)).strip()
    base = base[:SHEET_NAME_MAX].strip("'") or "Trang"
    if base.casefold() == "history":  # reserved by Excel
        base += "_"
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
        n += 1
    taken.add(name.casefold())
    return name


def quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def abs_range(first: int, last: int, col: int) -> str:
    letter = xl_col_to_name(col)
    return f"${letter}${first + 1}:${letter}${last + 1}"


def sum_formula(first: int, last: int, col: int, values: Sequence[Any]) -> Formula:
    """=SUM over one column's rows, with the sum of its numbers (SUM ignores text and blanks)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    numbers += [v.value for v in values if isinstance(v, Formula)]
    value: float = sum(numbers) if all(isinstance(v, int) for v in numbers) else math.fsum(numbers)
    top, bottom = xl_rowcol_to_cell(first, col), xl_rowcol_to_cell(last, col)
    return Formula(f"=SUM({top}:{bottom})", value)


def criterion(text: str) -> str:
    """A COUNTIF criterion matching exactly ``text``: "=" first, wildcards escaped."""
    escaped = re.sub(r"([~*?])", r"~\1", text).replace('"', '""')
    return f'"={escaped}"'


def countifs(pairs: list[tuple[str, str]], header: int, r: int, col: int) -> str:
    """COUNTIFS over (range, exact text) pairs.

    Excel refuses text constants over 255 characters in a formula; then the same count is
    made with SUMPRODUCT comparing against the row and column heading cells.
    """
    if all(len(text) < 250 for _, text in pairs):
        return "=COUNTIFS(" + ",".join(f"{rng},{criterion(text)}" for rng, text in pairs) + ")"
    heads = [f"${xl_col_to_name(1)}{r + 1}", f"{xl_col_to_name(col)}${header + 1}"]
    terms = "*".join(f"({rng}={head})" for (rng, _), head in zip(pairs, heads, strict=True))
    return f"=SUMPRODUCT({terms})"


def put(sheet: Any, row: int, col: int, value: Any, fmt: Any) -> None:
    """One cell by Python type; text always as a string, never as a formula."""
    if type(value) is str:  # most cells: decided first
        if value:
            sheet.write_string(row, col, value, fmt)
        else:
            sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, Formula):
        sheet.write_formula(row, col, value.text, fmt, value.value)
    elif isinstance(value, bool):
        sheet.write_string(row, col, YES if value else "Không", fmt)
    elif isinstance(value, int | float):
        if math.isfinite(value):
            sheet.write_number(row, col, value, fmt)
        else:
            sheet.write_string(row, col, str(value), fmt)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), fmt)  # local wall time
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, value, fmt)
    elif value is None or value == "":
        sheet.write_blank(row, col, None, fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def _page(sheet: Any, header: int | None) -> None:
    """A4 landscape per Hướng dẫn 36, one page wide, the header row on every page."""
    printing.setup_page(sheet, landscape=True, header_rows=header)


def column_points(width: float) -> float:
    """A column's printed width in points: a width of ``width`` digits of Times New Roman 12
    (8 pixels each) and 5 pixels of padding, as Excel and LibreOffice lay it out."""
    return (8 * width + 5) * 0.75


def text_width(values: Iterable[Any], title: str = "", *, least: float = 6,
               most: float = 48) -> float:
    """A column width (characters) that holds the longest value on one line.

    For codes and e-mail addresses, which must not wrap mid-word; ``title`` may wrap, so
    only its longest word counts.
    """
    longest = max((_text_chars(str(v)) for v in values if v is not None), default=0.0)
    word = max((_text_chars(w) for w in title.split()), default=0.0)
    return max(least, min(most, math.ceil(max(longest, word)) + 1))


def _text_chars(text: str) -> float:
    """The width of ``text`` in widths of the digit 0 (the unit of column widths).

    Times New Roman's capitals and «m», «w», «@» are wider than a digit, the other small
    letters narrower (factors read off LibreOffice's PDF of the sample, with some room).
    """
    return sum(1.5 if ch == "@" else 1.35 if ch.isupper() or ch in "mw"
               else 0.85 if ch.islower() else 1.0 for ch in text)


def fit_height(texts: Any) -> float:
    """Row height for wrapped (text, width) pairs: the tallest, within Excel's limit."""
    height = printing.LINE_HEIGHT
    for text, width in texts:
        if text:
            height = max(height, printing.cached_row_height(str(text), width))
    return min(height, printing.MAX_ROW_HEIGHT)


def stamp(moment: dt.datetime) -> str:
    """A moment as the sheets show it: ``20/06/2026 10:15``."""
    return moment.strftime("%d/%m/%Y %H:%M")
