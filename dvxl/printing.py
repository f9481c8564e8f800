"""What every sheet dvxl writes shares: fonts, cell styles, and A4 print setup.

Party bodies print everything, so pages follow Hướng dẫn 36-HD/VPTW: A4, Times
New Roman, margins top and bottom 20 mm, left 30 mm, right 15 mm, the page
number centred in the top margin.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError

from dvxl import atomic, rawrows
from dvxl.model import Directive

FONT = "Times New Roman"
WORKBOOK_OPTIONS: dict[str, Any] = {
    "default_format_properties": {"font_name": FONT, "font_size": 12, "font_scheme": "none"},
    # Times New Roman 12 needs a taller default row than Calibri 11 (pixels).
    "default_row_height": 21,
    # Parts are put together in memory, not in temporary files: creating a file is the slow
    # part of writing one on some machines (issue #6). Large workbooks turn it off.
    "in_memory": True,
}

_MM = 1 / 25.4
MARGINS = {"top": 20 * _MM, "bottom": 20 * _MM, "left": 30 * _MM, "right": 15 * _MM}
PAGE_NUMBER_HEADER = f'&C&"{FONT},Regular"&12&P'
HEADER_MARGIN = 8 * _MM
A4 = 9

INPUT_FILL = "#FFF2CC"  # pale yellow: "type here", explained on every template's guide sheet
HEADER_FILL = "#D9E1F2"
LINE_HEIGHT = 15.75  # points per line of 12-point Times New Roman
MAX_ROW_HEIGHT = 409.0  # Excel's limit, in points
SECTION_FILL = "#E7E6E6"


class Styles:
    """The cell formats of one workbook, made once and shared by every sheet."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Any] = {}
        border = {"border": 1, "valign": "top", "text_wrap": True}
        self.title = self.make(bold=True, font_size=14)
        self.subtitle = self.make(bold=True, font_size=13, text_wrap=True, valign="top")
        self.note = self.make(italic=True, font_color="#595959")
        self.bold = self.make(bold=True)
        self.header = self.make(
            bold=True,
            bg_color=HEADER_FILL,
            align="center",
            valign="vcenter",
            text_wrap=True,
            border=1,
        )
        self.cell = self.make(**border)
        self.cell_plain = self.make(text_wrap=True, valign="top")
        self.code_cell = self.make(**border, font_color="#404040")
        self.number_cell = self.make(**border, num_format="General")
        self.date_cell = self.make(**border, num_format="dd/mm/yyyy", align="left")

    def make(self, **props: Any) -> Any:
        """A format with these properties, shared between identical requests."""
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(props)
        return self._cache[key]


def setup_page(sheet: Any, *, landscape: bool, header_rows: int | None) -> None:
    """A4, margins of Hướng dẫn 36, page number on top, fit to the page width."""
    sheet.set_paper(A4)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_margins(**MARGINS)
    sheet.set_header(PAGE_NUMBER_HEADER, {"margin": HEADER_MARGIN})
    sheet.fit_to_pages(1, 0)
    sheet.center_horizontally()
    if header_rows is not None:
        sheet.repeat_rows(header_rows)


def directive_title(directive: Directive) -> str:
    """ "Công văn số 12-CV/TU ngày 12/3/2020 của Ban Thường vụ Tỉnh ủy về …" (parts it has)."""
    parts = [directive.kind]
    if directive.number:
        parts.append(f"số {directive.number}")
    if directive.date:
        parts.append(f"ngày {format_date(directive.date)}")
    parts.append(f"của {directive.issuer} {directive.subject}")
    return " ".join(parts)


def format_date(day: Any) -> str:
    """dd/mm/yyyy, as Vietnamese documents write dates."""
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


class Workbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """XlsxWriter's workbook, plus the workbook-structure lock it does not offer.

    XlsxWriter (3.x) protects sheets but not the workbook's structure, and its author does
    not mean to add it; the lock is one element of ``xl/workbook.xml``,
    ``<workbookProtection>``, which the schema puts right before ``<bookViews>``. It is
    written there by the method that writes ``<bookViews>`` (an internal of XlsxWriter,
    pinned below 4; ``tests/test_seal.py`` checks the element and its place).
    """

    structure_password: str | None = None  # None: no lock; "": a lock without a password

    def _write_book_views(self) -> None:
        if self.structure_password is not None:
            attributes: list[tuple[str, Any]] = []
            if self.structure_password:
                attributes.append(("workbookPassword", legacy_hash(self.structure_password)))
            attributes.append(("lockStructure", 1))
            self._xml_empty_tag("workbookProtection", attributes)
        super()._write_book_views()


def lock_structure(workbook: Workbook, password: str) -> None:
    """Lock the structure of ``workbook`` (written by :func:`write_workbook`) with
    ``password`` (none if empty): Excel then asks for it to show, rename, add or delete a
    sheet. Like a sheet's, the lock keeps a clerk from doing it by mistake; it is no proof."""
    workbook.structure_password = password


def legacy_hash(password: str) -> str:
    """Excel's 16-bit password verifier (ECMA-376 Part 4, §14.7.1), as XlsxWriter hashes
    sheet passwords: the form every spreadsheet program reads."""
    digest = 0
    for char in reversed(password):
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password)
    digest ^= 0xCE4B
    return f"{digest:X}"


def write_workbook(path: Path, fill: Callable[[Any], None], *, private: bool = False) -> None:
    """Build a workbook in a temporary file beside ``path``, then move it into place
    (owner-only with ``private``: :func:`atomic.publish`)."""
    with atomic.replacing(path, private=private) as tmp:
        workbook = Workbook(str(tmp), WORKBOOK_OPTIONS)
        fill(workbook)
        try:
            workbook.close()
        except FileCreateError as exc:  # XlsxWriter's wrapper of the OSError that stopped it
            cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
            if cause is None:
                raise
            raise atomic.OutputError(path, cause) from exc


def workbook_bytes(fill: Callable[[Any], None]) -> bytes:
    """A small workbook built in memory, for a caller that changes it before it is written
    (a rebuilt marked copy): no temporary file, which is the slow part on some machines."""
    out = io.BytesIO()
    workbook = Workbook(out, WORKBOOK_OPTIONS)
    fill(workbook)
    workbook.close()
    return out.getvalue()


def row_height(text: str, width_chars: float, font: int = 12) -> float:
    """Row height (points) for wrapped ``text`` in a column ``width_chars`` wide."""
    per_line = max(width_chars * 0.95 * 12 / font, 1)
    lines = sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))
    return max(1, lines) * LINE_HEIGHT * font / 12 + 2


# Unit names, file names and messages recur on every sheet: each height is worked out once.
cached_row_height = functools.lru_cache(maxsize=1 << 14)(row_height)


def write_rows(sheet: Any, first: int, rows: Iterable[Sequence[tuple[Any, Any]]], ncols: int,
               wrapped: Sequence[tuple[int, float]], put: Callable[[Any, int, int, Any, Any], None],
               *, raw: bool = True) -> int:
    """Write table ``rows`` of (value, format) cells from sheet row ``first``; the row after.

    The one loop of every table (1.5 million cells at national scale). Each row is as tall
    as the longest text of its ``wrapped`` (column, width) columns needs. On a
    ``constant_memory`` sheet a row goes to its stream as XML (:class:`dvxl.rawrows.RawRows`;
    not when ``raw`` is False); otherwise, and for a row with a value RawRows leaves to
    XlsxWriter, text is written directly and any other cell through ``put(sheet, row, col,
    value, format)``.
    """
    fast = (rawrows.RawRows(sheet, ncols)
            if raw and rawrows.ENABLED and rawrows.RawRows.usable(sheet) else None)
    write_string = sheet.write_string
    r = first
    for cells in rows:
        height = LINE_HEIGHT
        for col, width in wrapped:
            if col < len(cells):
                value = cells[col][0]
                if value and type(value) is str:
                    height = max(height, cached_row_height(value, width))
        height = min(height, MAX_ROW_HEIGHT)
        if fast is not None and fast.write(r, cells, height):
            r += 1
            continue
        for col, (value, fmt) in enumerate(cells):
            if type(value) is str and value:  # most cells: written here directly
                write_string(r, col, value, fmt)
            else:
                put(sheet, r, col, value, fmt)
        sheet.set_row(r, height)
        r += 1
    return r
