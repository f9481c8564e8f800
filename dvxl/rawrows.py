"""Table rows written as sheet XML directly, for XlsxWriter's ``constant_memory`` mode.

At national scale the period outputs are 1.5 million cells, and XlsxWriter spends
about 8 µs on each (the call, its checks, a cell object, then the XML with its
escapes). In ``constant_memory`` mode XlsxWriter writes every finished row to a
stream; :class:`RawRows` writes the rows of a table to that same stream itself,
the very XML XlsxWriter would write for them (``tests/test_rawrows.py`` compares the
bytes), in a fraction of the time. Everything else — formats, widths, headings,
totals with formulas, panes, filters, page setup — stays with XlsxWriter.

This leans on XlsxWriter internals (the row stream, the pending row, the
dimensions, a format's style index), all checked by :func:`RawRows.usable`: where
they are missing, or for a row with a value it does not handle the same way, the
caller writes the row through XlsxWriter as before.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xlsxwriter.utility import xl_col_to_name

#: What XlsxWriter escapes in a string as ``_xHHHH_`` (control characters, and literal
#: ``_xHHHH_`` text): such strings are handed to its own escaping.
_NEEDS_EXCEL_ESCAPE = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_STRING_MAX = 32767  # longer strings are cut by XlsxWriter: left to it

Cell = tuple[Any, Any]  # (value, format)

#: Table rows of constant_memory sheets are written here (tests turn it off to compare with
#: what XlsxWriter writes itself).
ENABLED = True


@dataclass(frozen=True)
class Formula:
    """A formula and the value it evaluates to, stored together (written as both)."""

    text: str
    value: float


#: Functions XlsxWriter writes as they are (it rewrites newer ones with an _xlfn. prefix,
#: and some as dynamic arrays): a formula calling only these is written here.
_PLAIN_FUNCTIONS = frozenset({"SUM", "IF", "COUNTIF"})
_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9._]*)\(")


class RawRows:
    """Rows of one table, written to a ``constant_memory`` worksheet's row stream."""

    _ATTRIBUTES = ("fh", "previous_row", "row_sizes", "table", "comments", "dim_colmin",
                   "default_row_height", "original_row_height", "excel_version",
                   "_write_single_row", "_check_dimensions", "_convert_date_time",
                   "_escape_control_characters")

    @classmethod
    def usable(cls, sheet: Any) -> bool:
        return bool(getattr(sheet, "constant_memory", False)) and all(
            hasattr(sheet, name) for name in cls._ATTRIBUTES)

    def __init__(self, sheet: Any, ncols: int) -> None:
        self.sheet = sheet
        self.letters = [xl_col_to_name(col) for col in range(ncols)]
        self.styles: dict[int, str] = {}
        self.dy = ' x14ac:dyDescent="0.25"' if sheet.excel_version == 2010 else ""

    def write(self, row: int, cells: Sequence[Cell], height: float) -> bool:
        """Write ``cells`` as sheet row ``row`` (0-based) of ``height`` points; False, and
        the row left to the caller, when a value needs XlsxWriter's own handling."""
        sheet = self.sheet
        if row <= sheet.previous_row or sheet.table.get(row) or row in sheet.comments:
            return False  # XlsxWriter holds something for this row already
        # XlsxWriter's pending row goes out first: its cells' formats get their style
        # numbers now, before this row's (the order XlsxWriter numbers them in).
        sheet._write_single_row(row)
        number = str(row + 1)
        parts = [self._row_tag(number, height)]
        append, letters, styles = parts.append, self.letters, self.styles
        for col, (value, fmt) in enumerate(cells):
            if fmt is None:
                return False
            style = styles.get(id(fmt))
            if style is None:
                style = styles[id(fmt)] = str(fmt._get_xf_index())
            kind = type(value)
            if kind is str:
                if not value:
                    append(f'<c r="{letters[col]}{number}" s="{style}"/>')
                    continue
                text = _inline(sheet, value)
                if text is None:
                    return False
                append(f'<c r="{letters[col]}{number}" s="{style}" t="inlineStr"><is>{text}'
                       "</is></c>")
            elif kind is int or kind is float:
                if not math.isfinite(value):
                    return False
                append(f'<c r="{letters[col]}{number}" s="{style}"><v>{value:.16G}</v></c>')
            elif kind is Formula:
                text = _formula(value)
                if text is None:
                    return False
                append(f'<c r="{letters[col]}{number}" s="{style}"><f>{text}</f>'
                       f"<v>{value.value}</v></c>")
            elif kind is dt.datetime or kind is dt.date:
                moment = value.replace(tzinfo=None) if kind is dt.datetime else value
                serial = sheet._convert_date_time(moment)
                append(f'<c r="{letters[col]}{number}" s="{style}"><v>{serial:.16G}</v></c>')
            else:
                return False
        parts.append("</row>")
        sheet.fh.write("".join(parts))
        sheet._check_dimensions(row, 0)
        sheet._check_dimensions(row, len(cells) - 1)
        # What set_row records for placing charts and images (not row_info: XlsxWriter
        # would write the row a second time).
        sheet.row_sizes[row] = [int(height * 4.0 / 3.0 + 0.5), False]
        return True

    def _row_tag(self, number: str, height: float) -> str:
        """``<row>`` as XlsxWriter writes it after ``set_row(row, height)``."""
        sheet = self.sheet
        pixels = int(height * 4.0 / 3.0 + 0.5)
        if pixels != sheet.original_row_height or pixels != sheet.default_row_height:
            return (f'<row r="{number}" ht="{pixels * 0.75:.16g}" customHeight="1"'
                    f"{self.dy}>")
        return f'<row r="{number}"{self.dy}>'


def _inline(sheet: Any, value: str) -> str | None:
    """The ``<t>`` element of an inline string, escaped as XlsxWriter escapes it; None
    for strings it treats otherwise (too long, or rich text)."""
    if len(value) > _STRING_MAX:
        return None
    # Printable text holds no control character (most text: one C-speed pass, no regex).
    if ("_x" in value or not value.isprintable()) and _NEEDS_EXCEL_ESCAPE.search(value):
        value = sheet._escape_control_characters(value)
    if value.startswith("<r>") and value.endswith("</r>"):
        return None
    # str.isspace is what the regular expressions' \s tests (^\s, \s$ in XlsxWriter).
    preserve = value[:1].isspace() or value[-1:].isspace()
    value = _escape(value)
    return f'<t xml:space="preserve">{value}</t>' if preserve else f"<t>{value}</t>"


def _formula(cell: Formula) -> str | None:
    """The formula's text as XlsxWriter writes it (no ``=``, escaped), for a formula it
    writes unchanged and with a plain number for its value; None otherwise."""
    text, value = cell.text, cell.value
    if type(value) is not float and type(value) is not int:
        return None  # text, a truth value or an error: XlsxWriter adds a type
    if text.startswith("{") or text.endswith("}") or "_xlfn" in text or "SINGLE(" in text:
        return None
    if any(name not in _PLAIN_FUNCTIONS for name in _FUNCTION.findall(text)):
        return None
    return _escape(text[1:] if text.startswith("=") else text)


def _escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as XlsxWriter escapes them in element text."""
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text
