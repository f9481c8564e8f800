"""Our own look at the sheets, which python-calamine does not give: formulas, protection,
and the used area (which bounds the dense grid calamine will allocate)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from dvxl.findings import Code
from dvxl.gates import Limits, Refused, check_area
from dvxl.zipparts import Parts

#: The finding codes this module can emit (besides :func:`dvxl.gates.check_area`'s).
EMITS = (Code.CORRUPT_FILE,)

_MAX_ROWS, _MAX_COLS = 1_048_576, 16_384
# Any number of digits: a cell beyond Excel's last row (A99999999) is no reason to look
# away; python-calamine reads it and would build the dense grid down to it (issue 14).
_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)")


@dataclass
class Scan:
    """What calamine does not tell: formula cells, protection, and the dense area to expect."""

    sheet: str
    limits: Limits
    formulas: set[str] = field(default_factory=set)
    protected: bool = False
    rows: int = 0  # last row holding something (1-based), so the area is rows x cols from A1
    cols: int = 0

    @property
    def area(self) -> int:
        return self.rows * self.cols

    def filled(self, row: int, col: int, nrows: int = 1, ncols: int = 1) -> None:
        """Cells [row, row+nrows) x [col, col+ncols) (1-based) hold something."""
        self.rows = max(self.rows, row + nrows - 1)
        self.cols = max(self.cols, col + ncols - 1)
        check_area(self.area, self.limits, self.sheet)

    def formula(self, row: int, col: int, nrows: int = 1, ncols: int = 1) -> None:
        self.filled(row, col, nrows, ncols)  # bounds the loop below by max_cells
        self.formulas.update(_a1(r, c) for r in range(row, row + nrows)
                             for c in range(col, col + ncols))


def scan_xlsx(
    parts: Parts, names: set[str], limits: Limits, wanted: frozenset[str] | None = None
) -> dict[str, Scan]:
    workbook = ET.fromstring(parts.read("xl/workbook.xml"))
    rels_name = "xl/_rels/workbook.xml.rels"
    if rels_name not in names:
        raise Refused(Code.CORRUPT_FILE, value=f"thiếu phần {rels_name}")
    targets = {
        rel.get("Id", ""): rel.get("Target", "")
        for rel in ET.fromstring(parts.read(rels_name))
        if _local(rel.tag) == "Relationship" and rel.get("TargetMode") != "External"
    }
    scans: dict[str, Scan] = {}
    bounded: list[tuple[Scan, bytes]] = []  # sheets whose area is only bounded from above
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        sheet = element.get("name", "")
        rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
        target = targets.get(rid, "")
        # Resolved exactly as python-calamine does, so that we scan the part it will read.
        part = target[1:] if target.startswith("/xl/") else target
        part = part if part.startswith("xl/") else f"xl/{part}"
        if not target or part not in names:
            raise Refused(Code.CORRUPT_FILE, value=f"thiếu phần của trang «{sheet}»")
        if wanted is not None and sheet not in wanted:
            continue  # calamine will not read it either
        scan = scans[sheet] = Scan(sheet, limits)
        xml = parts.read(part)
        if _scan_plain(xml, scan):
            bounded.append((scan, xml))
        else:
            _expat(xml, _xlsx_handler(scan))
    if bounded and sum(scan.area for scan in scans.values()) > limits.max_cells:
        for scan, xml in bounded:  # the bounds are too coarse here: the exact count decides
            scan.rows = scan.cols = 0
            _expat(xml, _xlsx_handler(scan))
    return scans


# The plain form of a worksheet, as XlsxWriter, openpyxl, Excel and LibreOffice write it for a
# return, can be judged by a few C-speed passes instead of a Python call per element (issue
# #6: 2.4 ms of the 4 ms a return took to read). Anything else takes the exact path.
_BANG_OR_QUESTION = re.compile(rb"<[!?]")
_CELL_TAG = re.compile(rb"<c[\s/>]")
_FORMULA_TAG = re.compile(rb"<f[\s/>]")
_PREFIXED_TAG = re.compile(rb"<[^\s/>]*:(?:c|f|v|is|row|sheetProtection)[\s/>]")
# A plain cell's row, and its column: two passes of one group each cost half of one pass
# collecting (column, row) pairs and taking them apart.
_PLAIN_ROW = re.compile(rb'<c r="[A-Za-z]{1,3}([0-9]{1,7})"')
_PLAIN_COLUMN = re.compile(rb'<c r="([A-Za-z]{1,3})[0-9]')
_PROTECTION = re.compile(
    rb"""<sheetProtection((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*/?>"""
)
_SHEET_ATTR = re.compile(rb"""(?:^|\s)sheet\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")


def _scan_plain(xml: bytes, scan: Scan) -> bool:
    """Fill ``scan`` for a sheet in the plain form; False (``scan`` untouched) otherwise.

    python-calamine reads a worksheet's cells from its first ``sheetData`` up to the first
    ``</sheetData>`` and nothing after it (data validations, often half a return's sheet,
    come after), so only that head is judged: ``xml`` up to the first ``</sheetData>``
    (all of ``xml`` if it has none). The plain form of the head: UTF-8 (or another
    ASCII-compatible encoding), well-formed so far, no comments, CDATA or processing
    instructions (so every ``<`` opens a tag, and the ``</sheetData>`` found is the end
    tag calamine stops at), every cell written ``<c r="A1"…``, no formula, no namespace
    prefix on these elements or on ``sheetData``. Then every cell's position is its
    ``r``, so the cells' extent bounds the area the exact scan (:func:`_xlsx_handler`)
    would find, which counts only cells holding something; the formulas are none. The
    protection is the last plain ``<sheetProtection>``'s, wherever it is. Only a bound
    within the limits is taken: beyond them the exact scan decides. A part whose tail
    after ``</sheetData>`` is malformed is read as calamine reads it, where the exact
    scan would refuse it (F003).
    """
    if xml[:1] != b"<" or xml[1:2] == b"\x00":
        return False
    cut = xml.find(b"</sheetData>")
    head = xml if cut < 0 else xml[: cut + len(b"</sheetData>")]
    declared = head.find(b"?>") + 2 if head.startswith(b"<?xml") else 0
    if _BANG_OR_QUESTION.search(head, declared) or b":sheetData" in head:
        return False  # a comment, CDATA, DTD or processing instruction; a prefixed sheetData
    try:  # a malformed part takes the exact path, which reports what expat says
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.Parse(head, cut < 0)
    except expat.ExpatError:
        return False
    # Well-formed, and with no comment, CDATA or processing instruction, every "<" of the
    # head opens a tag: "<f" then a space, "/" or ">" is a formula element, and so on.
    if _FORMULA_TAG.search(head) or _PREFIXED_TAG.search(head):
        return False
    cell_rows = _PLAIN_ROW.findall(head)
    if len(cell_rows) != len(_CELL_TAG.findall(head)):
        return False
    protected = False
    last = xml.rfind(b"<sheetProtection")
    if last >= 0:
        if b":sheetProtection" in xml:
            return False
        tag = _PROTECTION.match(xml, last)
        if tag is None:
            return False
        found = _SHEET_ATTR.findall(tag[1])
        value = (found[-1][0] or found[-1][1]) if found else b""
        if b"&" in value:
            return False
        protected = value.decode("ascii", "replace").lower() in ("1", "true")
    rows = cols = 0
    if cell_rows:  # every cell is plain: the columns found are theirs
        rows = max(map(int, cell_rows))
        letters = set(_PLAIN_COLUMN.findall(head))
        cols = max(_col_number(word.decode()) for word in letters)
    if rows * cols > scan.limits.max_cells:
        return False
    scan.rows, scan.cols, scan.protected = rows, cols, protected
    return True


def _xlsx_handler(scan: Scan) -> Callable[[str, dict[str, str]], None]:
    """An expat start handler over a worksheet: cells with <v>, <is> or <f>; <sheetProtection>.

    Elements are matched by local name, as python-calamine does. A cell's own
    children come first (f, v, is), so any other element closes the cell: the
    ``xm:f`` of data validations in extLst is then not taken for a formula.
    Cell positions are parsed only for cells that hold something (most cells of
    a template are empty, styled input cells).
    """
    row = 0  # the current <row>'s number
    last_ref = ""  # the last r="..." of this row
    skipped = 0  # cells without r since (r is optional: such a cell is the next column)
    in_cell = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row, last_ref, skipped, in_cell
        local = name[name.rfind(":") + 1 :]
        if local == "c":
            ref = attrs.get("r")
            if ref:
                last_ref, skipped = ref, 0
            else:
                skipped += 1
            in_cell = True
        elif local in ("v", "f", "is"):
            if in_cell:
                at_row, at_col = row, skipped
                match = _REF.fullmatch(last_ref) if last_ref else None
                if match:
                    at_row, at_col = int(match[2]), _col_number(match[1]) + skipped
                if at_row >= 1 and at_col >= 1:  # beyond Excel's grid too: calamine reads it
                    (scan.formula if local == "f" else scan.filled)(at_row, at_col)
        elif local == "row":
            number = attrs.get("r", "")
            row = int(number) if number.isdigit() else row + 1
            last_ref, skipped, in_cell = "", 0, False
        else:
            in_cell = False
            if local == "sheetProtection":
                scan.protected = attrs.get("sheet", "").lower() in ("1", "true")

    return start


# python-calamine reads content.xml by qualified names ("table:table-cell"), so we do too.
_T_TABLE, _T_ROW = "table:table", "table:table-row"
_T_CELLS = ("table:table-cell", "table:covered-table-cell")


def scan_ods(parts: Parts, limits: Limits) -> dict[str, Scan]:
    """Per table of content.xml: cells with a value or formula, and ``table:protected``.

    Rows and cells carry repeat counts (LibreOffice writes the empty rest of a sheet
    as one row repeated a million times); a formula cell repeated over an area adds
    every address, a loop :meth:`Scan.filled` has already bounded by max_cells.
    """
    scans: dict[str, Scan] = {}
    scan = Scan("", limits)
    nest = 0  # tables inside cells are not sheets
    row = col = 0  # zero-based position of the current row / next cell
    row_repeat = 1
    cell: list[Any] = []  # [columns repeated, has formula, shows something] of the open cell

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal scan, nest, row, col, row_repeat, cell
        if name == _T_TABLE:
            nest += 1
            if cell:  # a table inside a cell: the cell holds something
                cell[2] = True
            if nest == 1:
                sheet = attrs.get("table:name", "")
                scan = scans.setdefault(sheet, Scan(sheet, limits))
                scan.protected = attrs.get("table:protected") == "true"
                row = 0
        elif nest != 1:
            return
        elif name in _T_CELLS:
            formula = "table:formula" in attrs
            repeat = _repeat(attrs.get("table:number-columns-repeated"), _MAX_COLS)
            cell = [repeat, formula, formula or "office:value-type" in attrs]
        elif cell:  # <text:p> and the like: the cell shows something
            cell[2] = True
        elif name == _T_ROW:
            row_repeat = _repeat(attrs.get("table:number-rows-repeated"), _MAX_ROWS)
            col = 0

    def end(name: str) -> None:
        nonlocal nest, row, col, row_repeat, cell
        if name == _T_TABLE:
            nest -= 1
        elif nest != 1:
            return
        elif name in _T_CELLS:
            repeat, formula, filled = cell
            if filled:  # beyond Excel's grid too: the area check refuses it
                nrows = min(row_repeat, _MAX_ROWS)
                ncols = min(repeat, _MAX_COLS)
                (scan.formula if formula else scan.filled)(row + 1, col + 1, nrows, ncols)
            col += repeat
            cell = []
        elif name == _T_ROW:
            row += row_repeat
            row_repeat = 1

    _expat(parts.read("content.xml"), start, end)
    return scans


def _expat(
    xml: bytes,
    start: Callable[[str, dict[str, str]], None] | None,
    end: Callable[[str], None] | None = None,
) -> None:
    """Parse one XML part (its DTDs were refused already) with expat's C loop, our handlers."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    if start is not None:
        parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    parser.Parse(xml, True)


def _repeat(value: str | None, cap: int) -> int:
    return min(max(int(value), 1), cap) if value and value.isdigit() else 1


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _col_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _a1(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"
