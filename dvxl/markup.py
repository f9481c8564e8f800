"""Marked-up copies sent back to units: the unit's own file with every problem shown in place.

For each file with errors the unit gets a copy named ``<stem>-can-sua.xlsx`` (``.xlsm``
for an ``.xlsm``), one of three kinds:

* the unit's own ``.xlsx``/``.xlsm`` (macros kept), the cells named by findings
  coloured (red for errors, amber for warnings), each with a comment holding the
  Vietnamese message;
* for an ``.xls``/``.ods``, or an ``.xlsx`` that cannot be marked as it is, the unit's
  template for the period rebuilt with the values dvxl read from the file, marked up
  the same way (and signed like a template, so that the corrected copy is accepted);
* for a file that could not be read, or whose unit is unknown, a small workbook
  listing what is wrong.

Every copy starts with the sheet ``Lỗi cần sửa`` listing the findings. Two routes
make the same copies:

* the fast route, tried first for every copy: :mod:`dvxl.markxml` edits the XML parts
  of the unit's file (or of the template XlsxWriter rebuilt, or of an empty package)
  in a few milliseconds and copies every other part as it is;
* the openpyxl route, the fallback: openpyxl loads the unit's file (or the rebuilt
  template, or a new workbook), marks it and saves it, some 55 ms a file. It is taken
  when markxml raises :class:`dvxl.markxml.Unfit`: a package it does not recognise (a
  file with comments already, such as an earlier marked copy; a strict OOXML
  workbook; a cell written twice or in an unusual way) or an original that changed or
  became unreadable since it was checked. An ``.xlsx`` openpyxl cannot open either is
  rebuilt from the template. openpyxl is imported on this route only.

The original is only ever opened for reading: files dvxl refused to parse (zip
bombs, XML entities) are unreadable and reach neither route.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import math
import re
import warnings
import weakref
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvxl import atomic, markxml, printing, processes, template
from dvxl.findings import CODES, ERROR, SEVERITY_LABELS, Code, Finding, make
from dvxl.form import FORM, IDENTITY, FormRow, form_rows
from dvxl.model import Catalog, Period, Unit
from dvxl.names import file_stem
from dvxl.validate import BatchReport, FileReport

if TYPE_CHECKING:
    from openpyxl.styles import PatternFill

    from dvxl.seal import Seal

# openpyxl (a tenth of a second to import) is imported by the functions of the openpyxl route
# only: most copies are made by editing the unit's XML parts (dvxl.markxml), without it.

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


def write_marked_copies(
    batch: BatchReport,
    catalog: Catalog,
    folder: Path,
    workers: int | None = None,
    seal: Seal | None = None,
) -> list[Path]:
    """Write a marked-up copy into ``folder`` for every file with errors, and for every
    return the secretariat sent back (its reason on the first sheet); return the paths.

    Originals are never modified. Each copy is made in a temporary file and moved to its
    name once every copy is made. Many copies are made by ``workers`` processes (default
    :func:`dvxl.processes.worker_count`), each holding one unit's workbook at a time.

    ``folder`` then holds this run's copies only: a copy an earlier run made for a file
    that has since been corrected (or left the inbox) is removed, so that the office never
    sends stale errors back (issue 12).

    A unit's own file keeps its signed metadata as it is; a rebuilt template is signed with
    ``seal`` (:mod:`dvxl.seal`). Only a file whose unit was identified gets either: a
    relabelled return (I012) gets the list alone, never another unit's template.
    """
    # A superseded file needs no copy: the unit already sent a newer one; an e-mail that
    # brought no spreadsheet has nothing to mark (its finding says so).
    reports = [report for report in batch.files
               if (report.errors > 0 or report.returned) and not report.superseded_by
               and not report.is_message]
    originals = {r.path for r in batch.files}  # never removed, whatever their names
    if not reports:
        _remove_stale(folder, originals)
        return []
    folder.mkdir(parents=True, exist_ok=True)
    naming = _Names(reports, folder, [r.path for r in batch.files])
    job = _Job(catalog, batch.period, folder, seal)
    made: list[_Made] = []
    try:
        made = _make_all(reports, job,
                         workers if workers is not None else processes.worker_count())
        paths = []
        for report, outcome in zip(reports, made, strict=True):
            if isinstance(outcome, str):
                _failed(report, outcome)
                continue
            temp, suffix = outcome
            path = folder / naming.take(report, suffix)
            try:
                atomic.publish(temp, path)
            except OSError as exc:
                _failed(report, _why(exc))
                continue
            paths.append(path)
        _remove_stale(folder, originals | set(paths))
        return paths
    finally:
        _discard(made)


#: The finding this module adds to a report: its copy could not be made.
EMITS = (Code.MARKED_COPY_FAILED,)

#: A copy made (its temporary file, the suffix it takes), or why it could not be made.
_Made = tuple[Path, str] | str


def _failed(report: FileReport, reason: str) -> None:
    """A copy that could not be made becomes a finding of its file (the others are made)."""
    report.findings.append(make(Code.MARKED_COPY_FAILED, report.path.name, unit=report.unit,
                                value=reason))


def _why(exc: BaseException) -> str:
    """Why a copy failed, in words for the office: never a path (it would be a temporary
    file's), never a traceback."""
    if isinstance(exc, MemoryError):
        return "không đủ bộ nhớ"
    if isinstance(exc, OSError):
        return f"lỗi ghi tệp: {exc.strerror or type(exc).__name__}"
    return f"lỗi {type(exc).__name__} khi dựng bản sao"


def _remove_stale(folder: Path, kept: set[Path]) -> None:
    """Remove the marked-up copies in ``folder`` that this run did not make."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path not in kept and path.is_file() and path.stem.endswith(SUFFIX) \
                and path.suffix.lower() in (".xlsx", ".xlsm"):
            path.unlink(missing_ok=True)


# Making copies, in worker processes when there are many ---------------------------------------

#: Fewer copies than this are made in this process (starting workers would cost more).
POOL_MIN_COPIES = 100
CHUNK = 8


@dataclass(frozen=True)
class _Job:
    catalog: Catalog
    period: Period
    folder: Path
    seal: Seal | None = None

    def attempt(self, report: FileReport) -> _Made:
        """:meth:`make`, or why it failed: one file's copy never stops the others."""
        try:
            return self.make(report)
        except Exception as exc:  # whatever a library throws at one odd file
            return _why(exc)

    def make(self, report: FileReport) -> tuple[Path, str]:
        """One marked copy in a temporary file of ``folder``: (its path, the suffix it takes)."""
        fast = _fast_copy(report, self.catalog, self.period, self.seal)
        if fast is not None:
            data, suffix = fast
            temp = atomic.temp_file(self.folder, suffix)
            temp.write_bytes(data)
            return temp, suffix
        plan = _plan(report, self.catalog)
        book = _build(plan, self.catalog, self.period, self.folder, self.seal)
        temp = atomic.temp_file(self.folder, plan.suffix)
        try:
            book.save(temp)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp, plan.suffix


_worker_job: _Job | None = None


def _start_worker(job: _Job) -> None:
    global _worker_job
    _worker_job = job


def _make_chunk(reports: list[FileReport]) -> list[_Made]:
    assert _worker_job is not None, "the worker was started without its job"
    return [_worker_job.attempt(report) for report in reports]


def _make_all(reports: list[FileReport], job: _Job, workers: int) -> list[_Made]:
    """Every report's copy (or why it failed), in order; in a pool of ``workers`` when there
    are many.

    Where no pool starts, or a worker dies, the copies not made are made here.
    """
    made: dict[int, _Made] = {}
    if workers > 1 and len(reports) >= POOL_MIN_COPIES:
        chunks = [(i, reports[i : i + CHUNK]) for i in range(0, len(reports), CHUNK)]
        try:
            with processes.frozen_heap(), processes.pool(workers, _start_worker, (job,)) as pool:
                futures = [(i, pool.submit(_make_chunk, chunk)) for i, chunk in chunks]
                for i, future in futures:
                    try:
                        made.update(enumerate(future.result(), i))
                    except BrokenProcessPool:
                        continue
        except processes.START_ERRORS:
            pass
        except BaseException:
            _discard(made.values())
            raise
    try:
        for i, report in enumerate(reports):
            if i not in made:
                made[i] = job.attempt(report)
    except BaseException:
        _discard(made.values())
        raise
    return [made[i] for i in range(len(reports))]


def _discard(made: Iterable[_Made]) -> None:
    for outcome in made:
        if not isinstance(outcome, str):
            outcome[0].unlink(missing_ok=True)


# The fast path: the unit's .xlsx marked by editing its parts (dvxl.markxml) -------------------

_LOOK = markxml.Look(
    error_fill=ERROR_FILL,
    error_font=ERROR_FONT,
    warning_fill=WARNING_FILL,
    warning_font=WARNING_FONT,
    header_fill=HEADER_FILL,
    link_font="0563C1",
    font=printing.FONT,
    author=AUTHOR,
)


def _fast_copy(
    report: FileReport, catalog: Catalog, period: Period, seal: Seal | None = None
) -> tuple[bytes, str] | None:
    """The marked copy made without openpyxl, or None (openpyxl makes it).

    The same copy as the openpyxl route makes, whichever the plan: the unit's own
    .xlsx/.xlsm in its template's form, marked in place; the unit's template rebuilt with
    the values read (by XlsxWriter, then marked the same way); or the list alone.
    """
    unit = _unit(catalog, report.unit) if report.unit else None
    try:
        if unit is None:
            return _fast_list_only(report, catalog, period), ".xlsx"
        if report.readable and report.format in ("xlsx", "xlsm"):
            return _fast_original(report, catalog, period)
        if catalog.tasks_for(unit):
            return _fast_rebuilt(report, catalog, unit, period, seal), ".xlsx"
        return _fast_list_only(report, catalog, period), ".xlsx"
    except markxml.Unfit:
        return None


def _fast_original(report: FileReport, catalog: Catalog, period: Period) -> tuple[bytes, str]:
    try:
        data = report.content()
    except OSError as exc:
        raise markxml.Unfit("unreadable") from exc
    if hashlib.sha256(data).hexdigest() != report.sha256:
        raise markxml.Unfit("changed since it was checked: openpyxl takes it as it is now")
    findings = list(report.findings)
    package = markxml.Package(data)
    names = package.sheet_names
    content = list_content(report, catalog, period, findings, "", True, names)
    marked = package.marked(_cell_marks(findings, names), _list_sheet(content), _LOOK)
    return marked, ".xlsm" if report.format == "xlsm" else ".xlsx"


def _fast_rebuilt(
    report: FileReport,
    catalog: Catalog,
    unit: Unit,
    period: Period,
    seal: Seal | None = None,
) -> bytes:
    rows = {r.key: r for r in form_rows(catalog, unit)}
    values, findings = _rebuilt(report, rows)
    typed = {key: _typed(value) for key, value in values.items()}
    data = template.template_bytes(catalog, unit, period, typed, seal=seal)
    package = markxml.Package(data)
    names = package.sheet_names
    content = list_content(report, catalog, period, findings, _note(REBUILT, report, period),
                           True, names)
    return package.marked(_cell_marks(findings, names), _list_sheet(content), _LOOK)


def _typed(value: Any) -> Any:
    """A value as :func:`_put` stores it, for the template writer."""
    if isinstance(value, bool):
        return _clean("Có" if value else "Không")
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, dt.date):
        return value
    return _clean(str(value))


def _fast_list_only(report: FileReport, catalog: Catalog, period: Period) -> bytes:
    findings = list(report.findings)
    content = list_content(report, catalog, period, findings, _note(LIST_ONLY, report, period),
                           False, [])
    return markxml.Package(markxml.empty_package(printing.FONT)).marked(
        [], _list_sheet(content), _LOOK)


def _cell_marks(findings: list[Finding], sheetnames: list[str]) -> list[markxml.CellMark]:
    """What :func:`_mark_cells` does to a file without comments, as marks."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet in sheetnames and f.cell:
            by_cell.setdefault((f.sheet, f.cell.upper().replace("$", "")), []).append(f)
    marks = []
    for (sheet_name, address), found in by_cell.items():
        try:
            letters, row = _coordinate(address)
        except ValueError:
            continue
        text = "\n".join(dict.fromkeys(_clean(f.message) for f in found))
        marks.append(markxml.CellMark(
            sheet_name, letters.upper(), row, any(f.severity == ERROR for f in found), text,
            _comment_height(text), COMMENT_WIDTH))
    return marks


def _list_sheet(content: ListContent) -> markxml.ListSheet:
    width = sum(w for _, w in LIST_COLUMNS)
    lines = [(_clean(text), look, printing.row_height(text, width))
             for text, look in content.lines]
    rows = []
    for values, severity, target in content.rows:
        height = printing.LINE_HEIGHT
        cleaned: list[int | str] = []
        for col, value in enumerate(values):
            if isinstance(value, int):
                cleaned.append(value)
            else:
                cleaned.append(_clean(value))
                height = max(height, printing.row_height(value, LIST_COLUMNS[col][1]))
        rows.append((cleaned, severity == ERROR, target, min(height, 409)))
    m = printing.MARGINS
    margins = {**m, "header": 8 / 25.4, "footer": 8 / 25.4}
    return markxml.ListSheet(LIST_SHEET, list(LIST_COLUMNS), lines, content.header, rows, margins)


# Planning -------------------------------------------------------------------------------------


def _unit(catalog: Catalog, code: str) -> Unit | None:
    """The unit of this code (the first one, as a scan of the roster finds it)."""
    if not _UNITS or _UNITS[0][0]() is not catalog:
        # Weakly held: the cache must not keep a large catalog alive after its batch.
        ref = weakref.ref(catalog, _forget)
        _UNITS[:] = [(ref, {u.code: u for u in reversed(catalog.units)})]
    return _UNITS[0][1].get(code)


def _forget(ref: weakref.ref[Catalog]) -> None:
    if _UNITS and _UNITS[0][0] is ref:
        _UNITS.clear()


_UNITS: list[tuple[weakref.ref[Catalog], dict[str, Unit]]] = []


def _plan(report: FileReport, catalog: Catalog) -> _Plan:
    unit = _unit(catalog, report.unit) if report.unit else None
    if unit is None:
        return _Plan(report, LIST_ONLY, None)
    if report.readable and report.format in ("xlsx", "xlsm"):
        vba = report.format == "xlsm"
        book = _load_original(report, vba)
        if book is not None:
            return _Plan(report, ORIGINAL, unit, book, ".xlsm" if vba else ".xlsx")
    if catalog.tasks_for(unit):
        return _Plan(report, REBUILT, unit)
    return _Plan(report, LIST_ONLY, unit)


def _load_original(report: FileReport, keep_vba: bool) -> Any:
    """The original loaded by openpyxl, or None when openpyxl cannot open it.

    A file handle, not the path: openpyxl refuses names not ending in .xlsx/.xlsm, and a
    unit's .xlsx may well be called .xls (an e-mail's attachment has no path at all).
    """
    import openpyxl
    try:
        handle = io.BytesIO(report.data) if report.data is not None else report.path.open("rb")
        with handle, warnings.catch_warnings():
            if _unpacked_size(handle) > ORIGINAL_MAX_BYTES:
                return None  # far beyond a return: its template, rebuilt, is bounded
            # e.g. "Data Validation extension is not supported and will be removed"
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(handle, keep_vba=keep_vba)
    except Exception:  # any failure only means: rebuild from the template instead
        return None


#: An original openpyxl loads whole, at most (its parts unpacked): openpyxl holds some
#: 1 KB per cell, so a file of hundreds of thousands of cells would cost gigabytes. A
#: return is some 100 KB unpacked; a larger file is marked on its template, rebuilt.
ORIGINAL_MAX_BYTES = 8 << 20


def _unpacked_size(handle: Any) -> int:
    """The sum of the declared sizes of a package's parts (the reader checked they hold)."""
    import zipfile
    with zipfile.ZipFile(handle) as package:
        size = sum(info.file_size for info in package.infolist())
    handle.seek(0)
    return size


def _stem(report: FileReport) -> str:
    """A copy is named after the file the unit sent: an e-mail's attachment, not its message;
    decoded, printable and short enough to name a file (:func:`dvxl.names.file_stem`)."""
    return file_stem(Path(report.own_name).stem)


class _Names:
    """``<stem>-can-sua<ext>``, unique (case-insensitively) and never an original's path.

    Two files with one stem (``HU03/bao-cao.xlsx``, ``HU04/bao-cao.xls``) get the unit
    code added; a counter settles what is left.
    """

    def __init__(self, reports: list[FileReport], folder: Path, originals: Iterable[Path]) -> None:
        self.stems: dict[str, int] = {}
        for report in reports:
            key = _stem(report).casefold()
            self.stems[key] = self.stems.get(key, 0) + 1
        here = folder.resolve()
        self.taken = {p.name.casefold() for p in originals if p.parent.resolve() == here}

    def take(self, report: FileReport, suffix: str) -> str:
        stem, unit = _stem(report), report.unit
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


def _build(
    plan: _Plan, catalog: Catalog, period: Period, folder: Path, seal: Seal | None = None
) -> Any:
    import openpyxl
    report = plan.report
    findings = list(report.findings)
    if plan.kind == ORIGINAL:
        book = plan.book
        _clear_previous(book)
    elif plan.kind == REBUILT:
        assert plan.unit is not None
        book, findings = _rebuild(report, catalog, plan.unit, period, folder, seal)
    else:
        book = openpyxl.Workbook()
        book.remove(book.active)
    if plan.kind != LIST_ONLY:
        _mark_cells(book, findings)
    _add_list_sheet(book, report, catalog, period, findings, _note(plan.kind, report, period),
                    linked=plan.kind != LIST_ONLY)
    return book


def _note(kind: str, report: FileReport, period: Period) -> str:
    """The italic line of the list sheet saying what the copy is."""
    if kind == ORIGINAL:
        return ""
    if kind == REBUILT and report.values:
        return (
            f"Tệp đơn vị gửi ({report.own_name}, dạng .{report.format or '?'}) không "
            "đánh dấu trực tiếp được, nên bản này được dựng lại từ mẫu của đơn vị và chép "
            "vào các số liệu đọc được từ tệp đó. Hãy kiểm tra lại toàn bộ số liệu trước "
            "khi gửi."
        )
    if kind == REBUILT:
        return (
            f"Tệp đơn vị gửi ({report.own_name}) không dùng được, nên bản này là mẫu "
            f"trống của đơn vị cho kỳ {period.name}: hãy điền vào mẫu này."
        )
    return (
        "Tệp gửi về không đọc được hoặc không nhận ra là mẫu báo cáo của đơn vị nào. "
        "Hãy xem hướng dẫn dưới đây và gửi lại đúng mẫu báo cáo đã điền."
    )


def _rebuild(
    report: FileReport,
    catalog: Catalog,
    unit: Unit,
    period: Period,
    folder: Path,
    seal: Seal | None = None,
) -> tuple[Any, list[Finding]]:
    """The unit's template with the file's values; findings moved to the template's cells."""
    import openpyxl

    tmp = atomic.temp_file(folder, ".xlsx")
    try:
        template.write_template(catalog, unit, period, tmp, seal=seal)
        book = openpyxl.load_workbook(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    form = book[FORM]
    rows = {r.key: r for r in form_rows(catalog, unit)}
    values, findings = _rebuilt(report, rows)
    for key, value in values.items():
        _put(form[rows[key].cell], value)
    return book, findings


def _rebuilt(
    report: FileReport, rows: dict[str, FormRow]
) -> tuple[dict[str, Any], list[Finding]]:
    """What a rebuilt copy holds: the values for the template's input rows (by key) and the
    findings moved to the template's cells."""
    # Where the file had each row -> where the template has it (they differ after S002).
    moved: dict[int, int] = {}
    for key, cell in report.cells.items():
        if key in rows:
            moved[_row_of(cell)] = rows[key].row + 1
    shown = _rejected_text(report)
    values: dict[str, Any] = {}
    for key, row in rows.items():
        if row.kind not in ("identity", "indicator"):
            continue
        value = report.values.get(key)
        if value is None:
            value = shown.get(report.cells.get(key, ""))
        if value is not None:
            values[key] = value
    return values, [_move(f, moved) for f in report.findings]


def _rejected_text(report: FileReport) -> dict[str, str]:
    """What the unit typed in cells whose value was rejected (the merge gets None there)."""
    shown: dict[str, str] = {}
    for f in report.findings:
        spec = CODES.get(f.code)
        if f.cell and f.value and spec is not None and spec.level == "cell":
            shown.setdefault(f.cell, f.value)
    return shown


def _move(finding: Finding, moved: dict[int, int]) -> Finding:
    if finding.sheet != FORM or not finding.cell:
        return finding
    try:
        letters, row = _coordinate(finding.cell)
    except ValueError:
        return finding
    if moved.get(row, row) == row:
        return finding
    cell = f"{letters}{moved[row]}"
    message = finding.message.replace(f"ô {finding.cell}", f"ô {cell}")
    return dataclasses.replace(finding, cell=cell, message=message)


def _row_of(cell: str) -> int:
    try:
        return int(_coordinate(cell)[1])
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
    from openpyxl.styles import PatternFill
    if LIST_SHEET in book.sheetnames:
        book.remove(book[LIST_SHEET])
    ours = {ERROR_FILL, WARNING_FILL}
    for sheet in book.worksheets:
        # The cells the file holds, not the grid up to the last one: iter_rows() made every
        # cell of A1:Z1048576 for one formatted cell at the last row (8 GB, issue 14).
        for cell in list(sheet._cells.values()):
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
    from openpyxl.comments import Comment
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
        cell.comment = Comment(text, AUTHOR, height=_comment_height(text), width=COMMENT_WIDTH)


COMMENT_WIDTH = 340  # pixels


def _comment_height(text: str) -> int:
    """Pixels of a comment box showing ``text`` (about 50 characters a line)."""
    lines = sum(max(1, math.ceil(len(part) / 50)) for part in text.split("\n"))
    return min(20 * lines + 20, 400)


def _cell(sheet: Any, address: str) -> Any:
    """The cell at ``address`` (the top-left cell when it lies in a merged range), or None."""
    try:
        letters, row = _coordinate(address)
    except ValueError:
        return None
    for merged in sheet.merged_cells.ranges:
        if address in merged:
            return sheet.cell(merged.min_row, merged.min_col)
    return sheet[f"{letters}{row}"]


def _solid(rgb: str) -> PatternFill:
    from openpyxl.styles import PatternFill
    # Opaque ARGB, as XlsxWriter writes the template's fills (openpyxl would prefix "00").
    return PatternFill(fill_type="solid", fgColor="FF" + rgb, bgColor="FF" + rgb)


def _clean(text: str) -> str:
    """Text without the control characters openpyxl refuses to write."""
    return _ILLEGAL.sub("", text)


#: openpyxl's ILLEGAL_CHARACTERS_RE: the control characters XML 1.0 cannot hold.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_COORDINATE = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


def _coordinate(address: str) -> tuple[str, int]:
    """("AB", 12) for "AB12" or "$AB$12", as openpyxl's coordinate_from_string gives it; a
    ValueError for anything else (openpyxl raises an exception that is not one)."""
    found = _COORDINATE.fullmatch(address)
    if found is None or int(found[2]) < 1:
        raise ValueError(f"not a cell address: {address!r}")
    return found[1], int(found[2])



# The list sheet -------------------------------------------------------------------------------


@dataclass
class ListContent:
    """What the sheet «Lỗi cần sửa» shows, whichever writer writes it."""

    lines: list[tuple[str, str]]  # (text, look): look is "title", "bold", "plain" or "italic"
    # One row per finding, in order: the cells' values (the number, then text), the severity,
    # and the hyperlink target of the address cell ("'Báo cáo'!E21", "" for none).
    rows: list[tuple[list[int | str], str, str]]

    @property
    def header(self) -> int:
        """The 1-based row of the table header (a blank row after the lines)."""
        return len(self.lines) + 2


def list_content(
    report: FileReport,
    catalog: Catalog,
    period: Period,
    findings: list[Finding],
    note: str,
    linked: bool,
    sheetnames: Iterable[str],
) -> ListContent:
    """The lines above the table and the table's rows for ``report``'s findings."""
    errors = sum(1 for f in findings if f.severity == ERROR)
    warns = len(findings) - errors
    who = report.unit_name or report.unit or "đơn vị"
    lines = [
        (f"DANH SÁCH LỖI CẦN SỬA — {who.upper()}", "title"),
        (
            f"Tệp: {report.name}; kỳ báo cáo: {period.name}. Có {errors} lỗi và {warns} cảnh báo.",
            "bold",
        ),
    ]
    if report.returned:  # issue 16: the secretariat's reason comes first
        lines.append((f"Văn phòng trả lại báo cáo này, lý do: {report.returned.rstrip(' .')}. "
                      "Hãy sửa theo lý do trên rồi gửi lại.", "bold"))
    if linked and (findings or not report.returned):  # a return sent back may have none
        lines.append(
            (
                "Hãy sửa các ô tô màu đỏ (lỗi) trong trang «Báo cáo» theo cột «Hướng dẫn sửa» "
                "(di chuột vào ô để xem ghi chú; bấm vào địa chỉ ô để đến ô đó), xem lại các ô "
                "màu vàng cam (cảnh báo), rồi lưu và gửi lại tệp này về Ban Dân vận Tỉnh ủy "
                f"(hạn gửi: {printing.format_date(period.deadline)}).",
                "plain",
            )
        )
    if note:
        lines.append((note, "italic"))
    sheets = set(sheetnames)
    rows: list[tuple[list[int | str], str, str]] = []
    for number, f in enumerate(sorted(findings, key=_position), 1):
        where = f.cell if f.sheet in ("", FORM) else f"{f.sheet}!{f.cell}"
        values: list[int | str] = [
            number,
            where if f.cell else "",
            f.task,
            _indicator(catalog, f),
            f.value,
            f.message,
            SEVERITY_LABELS.get(f.severity, f.severity),
        ]
        target = f"'{f.sheet}'!{f.cell}" if linked and f.cell and f.sheet in sheets else ""
        rows.append((values, f.severity, target))
    return ListContent(lines, rows)


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
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils.cell import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    content = list_content(report, catalog, period, findings, note, linked, book.sheetnames)
    sheet = book.create_sheet(LIST_SHEET, 0)
    font = Font(name=printing.FONT, size=12)
    bold = Font(name=printing.FONT, size=12, bold=True)
    looks = {
        "title": Font(name=printing.FONT, size=14, bold=True),
        "bold": bold,
        "plain": font,
        "italic": Font(name=printing.FONT, size=12, italic=True),
    }
    wrap = Alignment(wrap_text=True, vertical="top")
    side = Side(style="thin")
    border = Border(left=side, right=side, top=side, bottom=side)
    width = sum(w for _, w in LIST_COLUMNS)
    for r, (text, look) in enumerate(content.lines, 1):
        cell = sheet.cell(r, 1)
        _put_text(cell, text)
        cell.font = looks[look]
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(LIST_COLUMNS))
        sheet.row_dimensions[r].height = printing.row_height(text, width)
    header = content.header
    for col, (title, w) in enumerate(LIST_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(col)].width = w
        cell = sheet.cell(header, col, title)
        cell.font = bold
        cell.fill = _solid(HEADER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = border
    for number, (values, severity, target) in enumerate(content.rows, 1):
        row = header + number
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
        colour = (ERROR_FILL, ERROR_FONT) if severity == ERROR else (WARNING_FILL, WARNING_FONT)
        cell = sheet.cell(row, len(values))
        cell.fill = _solid(colour[0])
        cell.font = Font(name=printing.FONT, size=12, color="FF" + colour[1])
        link = sheet.cell(row, 2)
        if target:
            link.hyperlink = Hyperlink(ref=link.coordinate, location=target)
            link.font = Font(name=printing.FONT, size=12, color="0563C1", underline="single")
    last = header + max(len(content.rows), 1)
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
        letters, row = _coordinate(f.cell)
    except ValueError:
        return (1, 0, 0)
    return (1, row, markxml.column_number(letters.upper()))


def _indicator(catalog: Catalog, f: Finding) -> str:
    """``HN_SO — Số hội nghị…``: the code with the label the unit sees on the form."""
    if not f.indicator:
        return ""
    labels = {code: text for code, text, *_ in IDENTITY}
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
    from openpyxl.worksheet.page import PageMargins
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
