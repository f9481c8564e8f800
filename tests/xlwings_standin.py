"""An in-process stand-in for the part of xlwings' App/Book/Sheet/Range API ``dvxl.excel`` uses.

Not a test module. There is no Excel on Linux, so ``tests/test_excel.py``
drives the adapter through these classes instead. They follow xlwings 0.37 on
Windows where it matters to the adapter:

* ``Range.value`` gives a scalar for one cell, a flat list for one row or
  column, rows otherwise (``options(ndim=2)`` always gives rows); empty cells
  are ``None``, numbers ``float``, dates ``datetime``. Setting a value clears
  the cell's formula; a string starting with ``=`` becomes a formula and a
  leading ``'`` marks text, as in Excel.
* ``Sheet.copy`` to another book turns every reference to another sheet into a
  link to the source book (``'[src.xlsx]Sheet'!A1``), as Excel does, names the
  copy ``Name (2)`` when the name is taken, and takes the sheet's own names along.
* Sheet names are unique (case-insensitively), at most 31 characters, without
  ``[]:*?/\\``; breaking that raises ``ValueError`` (Excel raises a COM error).
* ``book.names`` lists workbook and sheet names (a sheet's as ``'Sheet'!name``),
  ``sheet.names`` only that sheet's.
* ``App.alert`` records the box instead of showing it; there is no ``save``.

:func:`load_book` opens a file the way Excel would show it: values (the cached
results of formulas) with python-calamine, formulas and defined names with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

Cell = tuple[int, int]  # (row, column), 1-based like Excel
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")
# A sheet reference in a formula: 'Any name'! or Name! (not inside a string constant).
_SHEET_REF = re.compile(r"('(?:[^']|'')+'|[A-Za-z0-9_.\u00C0-\u1EF9]+)!")


@dataclass
class Alert:
    prompt: str
    title: str | None
    mode: str | None


class App:
    """One Excel instance: its open books and what was shown to the user."""

    def __init__(self) -> None:
        self.books = Books(self)
        self.alerts: list[Alert] = []
        self.display_alerts = True
        self.screen_updating = True
        self.status_history: list[Any] = []
        self._status: Any = False

    @property
    def status_bar(self) -> Any:
        return self._status

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self._status = value
        self.status_history.append(value)

    def alert(
        self,
        prompt: str,
        title: str | None = None,
        buttons: str = "ok",
        mode: str | None = None,
        callback: str | None = None,
    ) -> str:
        self.alerts.append(Alert(prompt, title, mode))
        return "ok"


class Books:
    def __init__(self, app: App) -> None:
        self.app = app
        self._books: list[Book] = []
        self.opened: list[tuple[str, dict[str, Any]]] = []  # every open() call, for tests

    def __iter__(self) -> Iterator[Book]:
        return iter(list(self._books))

    def __len__(self) -> int:
        return len(self._books)

    def __getitem__(self, index: int) -> Book:
        return self._books[index]

    def open(self, fullname: str, **options: Any) -> Book:
        """Like xlwings: a book already open under that path is returned as it is."""
        self.opened.append((fullname, options))
        for book in self._books:
            if Path(book.fullname) == Path(fullname):
                return book
        return load_book(Path(fullname), self.app, read_only=bool(options.get("read_only")))


class Book:
    def __init__(self, app: App, fullname: str, read_only: bool = False) -> None:
        self.app = app
        self.fullname = fullname
        self.name = Path(fullname).name
        self.read_only = read_only
        self.sheets = Sheets(self)
        self.names = Names(self, None)
        self._names: list[Name] = []
        self.closed = False
        self.active_sheet: Sheet | None = None
        app.books._books.append(self)

    def close(self) -> None:
        """Closes without saving, like xlwings."""
        self.closed = True
        self.app.books._books.remove(self)

    def activate(self) -> None:
        pass


class Sheets:
    def __init__(self, book: Book) -> None:
        self.book = book
        self._sheets: list[Sheet] = []

    def __iter__(self) -> Iterator[Sheet]:
        return iter(list(self._sheets))

    def __len__(self) -> int:
        return len(self._sheets)

    def __getitem__(self, key: int | str) -> Sheet:
        if isinstance(key, int):
            return self._sheets[key]
        for sheet in self._sheets:
            if sheet.name.casefold() == key.casefold():
                return sheet
        raise KeyError(key)

    def __contains__(self, key: str) -> bool:
        return any(sheet.name.casefold() == key.casefold() for sheet in self._sheets)

    @property
    def names(self) -> list[str]:
        return [sheet.name for sheet in self._sheets]

    def add(
        self, name: str | None = None, before: Sheet | None = None, after: Sheet | None = None
    ) -> Sheet:
        n = 1
        while name is None:
            name = f"Sheet{n}" if f"Sheet{n}" not in self else None
            n += 1
        sheet = Sheet(self.book, name)
        self._insert(sheet, before, after)
        return sheet

    def _insert(self, sheet: Sheet, before: Sheet | None, after: Sheet | None) -> None:
        _check_name(sheet.name, [s for s in self._sheets if s is not sheet])
        if before is not None:
            self._sheets.insert(self._sheets.index(before), sheet)
        elif after is not None:
            self._sheets.insert(self._sheets.index(after) + 1, sheet)
        else:
            self._sheets.append(sheet)


def _check_name(name: str, others: list[Sheet]) -> None:
    if not name or len(name) > 31 or _BAD_NAME.search(name) or name.startswith("'"):
        raise ValueError(f"invalid sheet name {name!r}")
    if any(other.name.casefold() == name.casefold() for other in others):
        raise ValueError(f"sheet name {name!r} already taken")


class Sheet:
    def __init__(self, book: Book, name: str) -> None:
        self.book = book
        self._name = name
        self.values: dict[Cell, Any] = {}
        self.formulas: dict[Cell, str] = {}
        self.names = Names(book, self)
        self.deleted = False

    def __repr__(self) -> str:
        return f"<Sheet {self._name!r} in {self.book.name}>"

    @property
    def name(self) -> str:
        self._alive()
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._alive()
        _check_name(value, [s for s in self.book.sheets if s is not self])
        self._name = value

    @property
    def index(self) -> int:
        return self.book.sheets._sheets.index(self) + 1

    def _alive(self) -> None:
        if self.deleted:
            raise RuntimeError("this sheet was deleted")

    def activate(self) -> None:
        self._alive()
        self.book.active_sheet = self

    def delete(self) -> None:
        self._alive()
        self.book.sheets._sheets.remove(self)
        self.book._names = [n for n in self.book._names if n.sheet is not self]
        self.deleted = True

    def copy(
        self, before: Sheet | None = None, after: Sheet | None = None, name: str | None = None
    ) -> Sheet:
        self._alive()
        assert before is None or after is None
        target = (before or after or self).book
        if before is None and after is None:
            after = target.sheets[-1]
        taken = [s.name for s in target.sheets]
        new_name = self.name
        n = 2
        while new_name.casefold() in (t.casefold() for t in taken):
            suffix = f" ({n})"
            new_name = self.name[: 31 - len(suffix)] + suffix
            n += 1
        copy = Sheet(target, new_name)
        copy.values = dict(self.values)
        copy.formulas = {
            cell: _link(formula, self, target) for cell, formula in self.formulas.items()
        }
        target.sheets._insert(copy, before, after)
        for own in [n for n in self.book._names if n.sheet is self]:
            target._names.append(Name(target, copy, own.short, own.refers_to))
        if name is not None:
            copy.name = name
        return copy

    # Ranges

    def range(self, first: Any, last: Any = None) -> Range:
        top, left, bottom, right = _bounds(first)
        if last is not None:
            b2 = _bounds(last)
            top, left = min(top, b2[0]), min(left, b2[1])
            bottom, right = max(bottom, b2[2]), max(right, b2[3])
        return Range(self, top, left, bottom, right)

    def __getitem__(self, address: str) -> Range:
        return self.range(address)

    @property
    def used_range(self) -> Range:
        cells = set(self.values) | set(self.formulas)
        if not cells:
            return Range(self, 1, 1, 1, 1)
        rows = [r for r, _ in cells]
        cols = [c for _, c in cells]
        return Range(self, min(rows), min(cols), max(rows), max(cols))

    def snapshot(self) -> tuple[Any, ...]:
        """Everything the stand-in keeps of the sheet, to compare before and after."""
        names = sorted((n.short, n.refers_to) for n in self.book._names if n.sheet is self)
        return (self._name, dict(self.values), dict(self.formulas), names)


def _bounds(spec: Any) -> tuple[int, int, int, int]:
    if isinstance(spec, Range):
        return spec.top, spec.left, spec.bottom, spec.right
    if isinstance(spec, tuple):
        return spec[0], spec[1], spec[0], spec[1]
    text = str(spec).replace("$", "")
    first, _, last = text.partition(":")
    r1, c1 = xl_cell_to_rowcol(first)
    r2, c2 = xl_cell_to_rowcol(last or first)
    return r1 + 1, c1 + 1, r2 + 1, c2 + 1


def _link(formula: str, source: Sheet, target: Book) -> str:
    """Excel's copy to another book: references to other sheets point into the source book."""
    if target is source.book:
        return formula

    def repl(match: re.Match[str]) -> str:
        ref = match.group(1)
        name = ref[1:-1].replace("''", "'") if ref.startswith("'") else ref
        if name.casefold() == source.name.casefold():
            return match.group(0)
        return "'[" + source.book.name + "]" + name.replace("'", "''") + "'!"

    parts = formula.split('"')  # leave string constants alone
    return '"'.join(_SHEET_REF.sub(repl, p) if i % 2 == 0 else p for i, p in enumerate(parts))


class Range:
    def __init__(self, sheet: Sheet, top: int, left: int, bottom: int, right: int) -> None:
        self.sheet = sheet
        self.top, self.left, self.bottom, self.right = top, left, bottom, right
        self._ndim: int | None = None

    def __repr__(self) -> str:
        return f"<Range {self.sheet.name}!{self.address}>"

    @property
    def row(self) -> int:
        return self.top

    @property
    def column(self) -> int:
        return self.left

    @property
    def shape(self) -> tuple[int, int]:
        return self.bottom - self.top + 1, self.right - self.left + 1

    @property
    def address(self) -> str:
        first = xl_rowcol_to_cell(self.top - 1, self.left - 1, True, True)
        last = xl_rowcol_to_cell(self.bottom - 1, self.right - 1, True, True)
        return first if first == last else f"{first}:{last}"

    @property
    def last_cell(self) -> Range:
        return Range(self.sheet, self.bottom, self.right, self.bottom, self.right)

    def options(self, ndim: int | None = None, **_: Any) -> Range:
        view = Range(self.sheet, self.top, self.left, self.bottom, self.right)
        view._ndim = ndim
        return view

    def _cells(self) -> list[list[Cell]]:
        return [
            [(r, c) for c in range(self.left, self.right + 1)]
            for r in range(self.top, self.bottom + 1)
        ]

    def _shaped(self, grid: list[list[Any]]) -> Any:
        if self._ndim == 2:
            return grid
        rows, cols = self.shape
        if rows == 1 and cols == 1:
            return grid[0][0]
        if rows == 1:
            return grid[0]
        if cols == 1:
            return [row[0] for row in grid]
        return grid

    @property
    def value(self) -> Any:
        self.sheet._alive()
        return self._shaped(
            [[self.sheet.values.get(cell) for cell in row] for row in self._cells()]
        )

    @value.setter
    def value(self, data: Any) -> None:
        self.sheet._alive()
        if isinstance(data, list | tuple):
            rows = (
                [list(r) for r in data]
                if data and isinstance(data[0], list | tuple)
                else [list(data)]
            )
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    self._put((self.top + i, self.left + j), value)
        else:
            for row in self._cells():
                for cell in row:
                    self._put(cell, data)

    def _put(self, cell: Cell, value: Any) -> None:
        self.sheet.formulas.pop(cell, None)
        self.sheet.values.pop(cell, None)
        if isinstance(value, str) and value.startswith("="):
            self.sheet.formulas[cell] = value  # Excel would calculate it; the stand-in cannot
            return
        if isinstance(value, str) and value.startswith("'"):
            value = value[1:]
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if value is not None and value != "":
            self.sheet.values[cell] = value

    @property
    def formula(self) -> Any:
        self.sheet._alive()
        grid = [
            [self.sheet.formulas.get(cell, _as_text(self.sheet.values.get(cell))) for cell in row]
            for row in self._cells()
        ]
        view = Range(self.sheet, self.top, self.left, self.bottom, self.right)
        return view._shaped(grid)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Name:
    book: Book
    sheet: Sheet | None  # None: a workbook-level name
    short: str
    refers_to: str

    @property
    def name(self) -> str:
        if self.sheet is None:
            return self.short
        return "'" + self.sheet.name.replace("'", "''") + "'!" + self.short

    @property
    def refers_to_range(self) -> Range:
        text = self.refers_to.lstrip("=")
        sheet_part, _, cells = text.rpartition("!")
        if not sheet_part:
            raise ValueError(f"{self.short} does not refer to a range")
        sheet_name = (
            sheet_part[1:-1].replace("''", "'") if sheet_part.startswith("'") else sheet_part
        )
        return self.book.sheets[sheet_name].range(cells)

    def delete(self) -> None:
        self.book._names.remove(self)


class Names:
    def __init__(self, book: Book, sheet: Sheet | None) -> None:
        self.book = book
        self.sheet = sheet  # None: every name of the book, like Workbook.Names

    def _all(self) -> list[Name]:
        return [n for n in self.book._names if self.sheet is None or n.sheet is self.sheet]

    def __iter__(self) -> Iterator[Name]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, key: str) -> bool:
        return any(n.name.casefold() == key.casefold() for n in self._all())

    def __getitem__(self, key: str) -> Name:
        for n in self._all():
            if n.name.casefold() == key.casefold():
                return n
        raise KeyError(key)

    def add(self, name: str, refers_to: str) -> Name:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
            raise ValueError(f"invalid name {name!r}")
        for existing in self.book._names:
            if existing.sheet is self.sheet and existing.short.casefold() == name.casefold():
                existing.refers_to = refers_to
                return existing
        created = Name(self.book, self.sheet, name, refers_to)
        self.book._names.append(created)
        return created


# Loading a file ---------------------------------------------------------------------------------


def load_book(path: Path, app: App | None = None, read_only: bool = False) -> Book:
    """The workbook at ``path`` as Excel would show it after opening (values, formulas, names)."""
    app = app or App()
    book = Book(app, str(path), read_only)
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        for sheet_name in workbook.sheet_names:
            sheet = Sheet(book, sheet_name)
            book.sheets._sheets.append(sheet)
            rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            for r, row in enumerate(rows, 1):
                for c, value in enumerate(row, 1):
                    if value == "" or value is None:
                        continue
                    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                        value = dt.datetime.combine(value, dt.time())
                    elif isinstance(value, int) and not isinstance(value, bool):
                        value = float(value)
                    elif isinstance(value, dt.time | dt.timedelta):
                        value = str(value)
                    sheet.values[(r, c)] = value
    finally:
        workbook.close()
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        _load_formulas_and_names(book, path)
    return book


def _load_formulas_and_names(book: Book, path: Path) -> None:
    workbook = openpyxl.load_workbook(path, read_only=False, keep_vba=False, data_only=False)
    try:
        for ws in workbook.worksheets:
            sheet = book.sheets[ws.title]
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f" and isinstance(cell.value, str):
                        sheet.formulas[(cell.row, cell.column)] = cell.value
            for name, defined in ws.defined_names.items():
                book._names.append(Name(book, sheet, name, "=" + str(defined.attr_text)))
        for name, defined in workbook.defined_names.items():
            book._names.append(Name(book, None, name, "=" + str(defined.attr_text)))
    finally:
        workbook.close()
