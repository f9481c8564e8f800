"""The Excel buttons: a second skin over the library calls the command line makes (issue #5).

Each button on the master's cover sheet runs one macro of ``macros/dvxl.bas``,
which only calls xlwings' ``RunPython`` into a function here:

=========  ===========  ====================================================
button     function     library call
=========  ===========  ====================================================
Tổng hợp   tong_hop     :func:`dvxl.workspace.merge`, result sheets copied in
Kiểm tra   kiem_tra     :func:`dvxl.workspace.validate`, its workbook opened
Tạo mẫu    tao_mau      :func:`dvxl.workspace.make_templates`
Đôn đốc    don_doc      :func:`dvxl.workspace.status`, tracking sheets copied in
Báo cáo    bao_cao      :func:`dvxl.workspace.write_report`, the .docx opened
=========  ===========  ====================================================

What the functions expect of the open workbook (``xlwings.Book.caller()``):

* it is saved in the workspace folder (``inbox/``, ``outputs/`` … beside it);
* two workbook-level names on the cover sheet, each one cell:
  :data:`PERIOD_NAME` (``dvxl_ky``) holds a period code such as ``2026-6T``
  (empty: for merging and checking, the period the returns claim; for the tracking,
  the period received last; templates need one) and :data:`INBOX_NAME`
  (``dvxl_hop_thu``) the inbox folder (empty: ``inbox/`` beside the workbook;
  a relative path is taken from the workbook's folder). A missing name counts as empty;
* the configuration sheets and «Thẩm định» as :mod:`dvxl.master` writes them.
  They are read from the open workbook, unsaved edits included, never from the file.

What they change: only *result sheets*, copied in from the workbook
:mod:`dvxl.render` wrote, each marked by the sheet-level name :data:`MARK`
holding the rendered sheet's name. A run replaces the sheets the previous run
marked; a sheet without the mark (configuration, assessments, the secretariat's
own) is never deleted or written, and the configuration and assessment sheets
are not even when marked. «Tổng hợp» also places the period's list of upload codes,
«Mã nộp» (:mod:`dvxl.codesheet`), when ``dvxl codes`` made codes for it. The open
workbook is never saved and never written with openpyxl or XlsxWriter: Excel holds
it open, and the secretariat decides whether to keep the results by saving.

Errors: every failure ends in a Vietnamese message box, and the process exits
0 so that xlwings does not show a second, English box with a traceback (its box
reads our stderr in the ANSI code page, which garbles Vietnamese). A failure
dvxl does not expect also writes its traceback to ``outputs/dvxl-excel-loi.log``
and names that file in the box. Only when no box can be shown at all (no
calling workbook, Excel gone) does the process exit 1 with the message on
stderr, which xlwings then shows as best it can.

This module is the only one that talks to Excel through xlwings. It imports xlwings
lazily inside functions, so ``import dvxl.excel`` works where there is no Excel (Linux,
CI); tests pass a stand-in workbook as ``book``. (:mod:`dvxl.vba` imports the xlwings
package too, lazily as well, but only to check its version and take its VBA module from
the package's files when the master is built; it never opens Excel.)
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import sys
import tempfile
import traceback
import unicodedata
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from dvxl import (
    atomic,
    codesheet,
    lock,
    master,
    outliersheet,
    periods,
    render,
    report,
    workspace,
)
from dvxl.errors import DvxlError, UsageError
from dvxl.merge import Track, count_tracks
from dvxl.model import Catalog, Period
from dvxl.schema import TABLES, parse_value
from dvxl.statuses import tally
from dvxl.vba import BUTTONS, XLWINGS_VERSION

#: Workbook-level names of the cover sheet's input cells (created by the master writer).
PERIOD_NAME = "dvxl_ky"
INBOX_NAME = "dvxl_hop_thu"
#: Sheet-level name marking a result sheet; its value is the rendered sheet's name.
MARK = "dvxl_ket_qua"
#: Where a failure dvxl did not expect leaves its traceback, under the workspace.
LOG_NAME = "dvxl-excel-loi.log"
#: Sheets :func:`place_results` never deletes, marked or not.
PROTECTED = frozenset(
    unicodedata.normalize("NFC", name).casefold()
    for name in (*(t.sheet for t in TABLES), master.ASSESSMENT, master.RECEIPT_TIME,
                 master.REVIEW, master.COVER, "xlwings.conf")
)
_CAPTIONS = {b.macro: b.caption for b in BUTTONS}
_MAX_LINES = 12  # a message box longer than this scrolls off the screen


# Entry points (RunPython) -----------------------------------------------------------------------


def tong_hop(book: Any = None) -> None:
    """Tổng hợp: validate, take in and merge the inbox; copy the result sheets into the book."""
    _run("TongHop", book, _tong_hop)


def kiem_tra(book: Any = None) -> None:
    """Kiểm tra: validate the inbox and open the validation workbook; the book is not changed."""
    _run("KiemTra", book, _kiem_tra)


def tao_mau(book: Any = None) -> None:
    """Tạo mẫu: write the unit templates of the chosen period."""
    _run("TaoMau", book, _tao_mau)


def don_doc(book: Any = None) -> None:
    """Đôn đốc: refresh the tracking and reminder sheets from the ledger (no inbox read)."""
    _run("DonDoc", book, _don_doc)


def bao_cao(book: Any = None) -> None:
    """Báo cáo: write the period report (Word) from the ledger and open it."""
    _run("BaoCao", book, _bao_cao)


# The actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """What the cover sheet asks for: the workspace (with the open book's sheets), period, inbox."""

    workspace: workspace.Workspace
    period: str | None
    inbox: Path | None


def _tong_hop(book: Any, choice: Choice) -> list[str]:
    ws = choice.workspace
    app = book.app
    _close_books_under(app, ws.root / "outputs")
    result = workspace.merge(ws, choice.inbox, choice.period, _progress(app, "Đang kiểm tra"))
    app.status_bar = "dvxl: đang chép các trang kết quả vào sổ…"
    placed = place_results(book, result.workbook)
    batch = result.validation.batch
    listed = _place_codes(book, ws.root, result.consolidated.catalog, batch.period)
    counts = tally(batch.counts())
    lines = [
        f"Kỳ {batch.period.code} ({batch.period.name}).",
        f"Kiểm tra {len(batch.files)} tệp trong {batch.inbox}"
        + (f": {counts}." if counts else "."),
        f"Tiếp nhận {len(result.intake.new)} tệp mới, {len(result.intake.known)} tệp đã có "
        "trong sổ ghi nhận.",
        _tracking_line(result.consolidated.tracking),
        f"Đã thay {len(placed)} trang kết quả trong sổ này, bắt đầu từ «{placed[0]}»."
        if placed
        else "Không có trang kết quả nào.",
        "Sổ chưa được lưu: bấm Lưu (Ctrl+S) nếu muốn giữ kết quả trong sổ.",
        f"Sổ tổng hợp kỳ: {result.workbook}",
    ]
    if listed:
        lines.insert(-2, f"Mã nộp báo cáo của kỳ (trang tải lên): trang «{listed}».")
    if result.problems:
        lines.append(f"{len(result.problems)} dòng nhập tay (thẩm định, thời điểm nhận) "
                     "cần xem lại:")
        lines += [f"- {p}" for p in result.problems]
    return lines


def _place_codes(book: Any, root: Path, catalog: Catalog, period: Period) -> str | None:
    """Copy the list of the period's upload codes (:mod:`dvxl.codesheet`, written again from
    the workspace's codes) into the book after the result sheets; the sheet's name, or None
    when the period has no codes. The sheet is a result sheet like the others: the next
    «Tổng hợp» replaces it (or removes it, for a period without codes)."""
    target = codesheet.path(root, period.code)
    _close_books_under(book.app, target)  # Windows cannot replace a workbook open in Excel
    listed = codesheet.write_for(root, catalog, period)
    if listed is None:
        return None
    first = next(iter(result_sheets(book).values()), None)
    placed = place_results(book, listed, only=(codesheet.SHEET,))
    if first is not None:  # the period's summary stays the sheet in front
        _quietly(first.activate)
    return placed[-1] if placed else None


def _kiem_tra(book: Any, choice: Choice) -> list[str]:
    ws = choice.workspace
    app = book.app
    _close_books_under(app, ws.root / "outputs")
    result = workspace.validate(
        ws, choice.inbox, choice.period, progress=_progress(app, "Đang kiểm tra")
    )
    batch = result.batch
    app.books.open(str(result.workbook))
    totals = report.summary_lines(batch)[len(batch.files) :]  # per-file lines come first
    lines = [f"Kỳ {batch.period.code} ({batch.period.name}); thư mục {batch.inbox}.", *totals]
    lines.append(f"Đã mở sổ kết quả kiểm tra: {result.workbook}")
    if result.marked:
        lines.append(
            f"{len(result.marked)} bản đánh dấu lỗi gửi trả đơn vị: {result.marked[0].parent}"
        )
    return lines


def _tao_mau(book: Any, choice: Choice) -> list[str]:
    ws = choice.workspace
    catalog = ws.load()
    if not choice.period:
        raise UsageError(
            "Hãy chọn «Kỳ báo cáo» ở trang «Bìa» rồi bấm lại: mẫu báo cáo được tạo cho "
            "một kỳ đã chọn."
        )
    period = periods.find(catalog, choice.period)
    _close_books_under(book.app, ws.templates(period.code))
    paths = workspace.make_templates(ws, period.code)
    return [
        f"Kỳ {period.code} ({period.name}).",
        f"Đã tạo {len(paths)} mẫu báo cáo trong {ws.templates(period.code)}.",
        "Gửi mỗi đơn vị đúng tệp mang mã của đơn vị đó.",
    ]


def _don_doc(book: Any, choice: Choice) -> list[str]:
    ws = choice.workspace
    consolidated = workspace.status(ws, choice.period)
    code = consolidated.period.code
    path = ws.outputs(code) / f"theo-doi-{code}.xlsx"
    _close_books_under(book.app, ws.outputs(code))
    render.write_consolidated(consolidated, path)
    placed = place_results(book, path, only=(render.TRACKING_SHEET, render.REMINDER_SHEET))
    reminders = sum(1 for t in consolidated.tracking if t.needs_reminder)
    return [
        f"Kỳ {code} ({consolidated.period.name}), theo các tệp đã tiếp nhận "
        "(bấm «Tổng hợp» để tiếp nhận tệp mới).",
        _tracking_line(consolidated.tracking),
        f"{reminders} đơn vị cần nhắc: xem trang «{placed[-1]}»."
        if placed
        else f"{reminders} đơn vị cần nhắc.",
        "Sổ chưa được lưu: bấm Lưu (Ctrl+S) nếu muốn giữ kết quả trong sổ.",
    ]


def _bao_cao(book: Any, choice: Choice) -> list[str]:
    result = workspace.write_report(choice.workspace, choice.period)
    opened = _open_document(result.docx)
    lines = [
        f"Kỳ {result.period.code} ({result.period.name}), theo các tệp đã tiếp nhận "
        "(bấm «Tổng hợp» để tiếp nhận tệp mới).",
        f"Đã viết báo cáo: {result.docx}",
    ]
    if result.compared:
        lines.append("So sánh với: " + ", ".join(p.name for p in result.compared) + ".")
    lines.append("Đã mở báo cáo bằng Word." if opened else "Mở tệp trên bằng Word để xem, sửa.")
    if result.problems:
        lines.append(f"{len(result.problems)} dòng thẩm định không dùng được:")
        lines += [f"- {p}" for p in result.problems]
    return lines


def _open_document(path: Path) -> bool:
    """Open ``path`` with its program (Word) on Windows; False where that is not possible."""
    startfile = getattr(os, "startfile", None)
    if startfile is None:
        return False
    try:
        startfile(str(path))
    except OSError:
        return False
    return True


def _tracking_line(tracking: Collection[Track]) -> str:
    return f"Theo dõi {len(tracking)} đơn vị: {tally(count_tracks(tracking))}."


# Running one button ----------------------------------------------------------------------------


def _run(macro: str, book: Any, action: Callable[[Any, Choice], list[str]]) -> None:
    """Run ``action`` on the calling book; every outcome ends in a Vietnamese message box."""
    title = f"dvxl — {_CAPTIONS[macro]}"
    if book is None:
        book = _caller(title)
    app = book.app
    critical = True
    try:
        choice = read_choice(book)
        # A button never waits: another run (the command line, another PC) is told at once.
        with lock.exclusive(choice.workspace.root, wait_s=0):
            text = _clip(action(book, choice))
        critical = False
    except DvxlError as error:
        text = _clip(str(error).splitlines())
    except OSError as error:
        text = _os_message(error)
    except Exception:
        log = _log_failure(book, title)
        text = "Lỗi ngoài dự kiến, dvxl chưa làm xong việc. " + (
            f"Chi tiết đã ghi vào tệp {log}; gửi tệp này cho người hỗ trợ."
            if log
            else "Chạy lại bằng dòng lệnh dvxl để xem chi tiết."
        )
    _quietly(lambda: setattr(app, "status_bar", False))  # Excel's own again, before the box
    _alert(app, text, title, critical=critical)


def _caller(title: str) -> Any:
    """``xlwings.Book.caller()``, or exit 1 with the reason on stderr (no box can be shown)."""
    try:
        import xlwings

        return xlwings.Book.caller()
    except Exception as error:
        print(
            f"{title}: không kết nối được với sổ Excel đã gọi dvxl ({error}). "
            "Hãy bấm nút trong sổ master.xlsm đang mở trong Excel.",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def _alert(app: Any, text: str, title: str, *, critical: bool) -> None:
    """A message box; if even that fails, the message goes to stderr and the process exits 1."""
    try:
        app.alert(text, title=title, mode="critical" if critical else "info")
    except Exception:
        print(f"{title}: {text}", file=sys.stderr)
        raise SystemExit(1) from None


def _clip(lines: list[str]) -> str:
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], f"… và {len(lines) - _MAX_LINES + 1} dòng nữa."]
    return "\n".join(lines)


def _os_message(error: OSError) -> str:
    name = error.filename or ""
    return (
        f"Không đọc/ghi được tệp {name}: {error.strerror or error}. Tệp có đang mở trong "
        "Excel hoặc chương trình khác không? Đóng tệp đó rồi bấm lại."
    )


def _log_failure(book: Any, title: str) -> Path | None:
    """Append the current traceback to the workspace's log; the log's path, or None."""
    text = f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {title}\n{traceback.format_exc()}\n"
    folders = []
    with contextlib.suppress(Exception):
        folders.append(Path(str(book.fullname)).parent / "outputs")
    folders.append(Path(tempfile.gettempdir()))
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / LOG_NAME
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text)
            return path
        except OSError:
            continue
    return None


def _quietly(action: Callable[[], object]) -> None:
    """Do ``action``, ignoring failure: for cosmetics (status bar, activation, closing)."""
    with contextlib.suppress(Exception):
        action()


def _progress(app: Any, label: str) -> Callable[[Iterator[Path], int], Iterator[Path]]:
    """A progress callback for the library that writes to Excel's status bar."""

    def wrap(items: Iterator[Path], count: int) -> Iterator[Path]:
        for i, item in enumerate(items, 1):
            with contextlib.suppress(Exception):
                app.status_bar = f"dvxl: {label.lower()} {i}/{count} tệp…"
            yield item

    return wrap


# Reading the open workbook ---------------------------------------------------------------------


def _norm(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


def read_choice(book: Any) -> Choice:
    """The workspace (the book's folder, with the book's sheets), period and inbox it names."""
    root = book_folder(book)
    period = parse_value("code", _named_value(book, PERIOD_NAME)) or None
    inbox_text = parse_value("text", _named_value(book, INBOX_NAME)).strip().strip('"').strip()
    inbox = None
    if inbox_text:
        inbox = Path(os.path.expandvars(inbox_text))
        if not inbox.is_absolute():
            inbox = root / inbox
    return Choice(workspace.Workspace(root, sheets=book_rows(book)), period, inbox)


def book_folder(book: Any) -> Path:
    """The folder of the saved workbook: the workspace."""
    try:
        fullname = str(book.fullname)
    except Exception:  # xlwings could not map a OneDrive/SharePoint address to a folder
        fullname = "://"
    if "://" in fullname:
        raise UsageError(
            "Sổ đang mở trực tiếp từ OneDrive/SharePoint trên mạng. Hãy đồng bộ thư mục về máy "
            "(hoặc lưu sổ vào một thư mục trên máy) rồi mở sổ từ đó và bấm lại."
        )
    path = Path(fullname)
    if not path.is_file():
        raise UsageError(
            "Sổ chưa được lưu vào thư mục làm việc của dvxl. Hãy lưu sổ (Ctrl+S) vào thư mục "
            "có inbox/ rồi bấm lại."
        )
    return path.parent


def _named_value(book: Any, name: str) -> Any:
    """The value of the one-cell workbook name ``name``; None when there is no such name."""
    try:
        if name not in book.names:
            return None
        value = book.names[name].refers_to_range.value
    except Exception:  # a name that refers to #REF! or to a constant
        return None
    while isinstance(value, list | tuple):  # a name over several cells: its first cell
        value = value[0] if value else None
    return value


def book_rows(book: Any) -> dict[str, list[list[Any]]]:
    """The configuration and assessment sheets of the open book as :data:`master.SheetRows`,
    and the copy of «Số liệu bất thường» with the marks typed in it.

    Rows start at A1 and are padded to the same width, empty cells are ``""``:
    the shape python-calamine gives for the file, which the master readers take.
    """
    wanted = {_norm(t.sheet) for t in TABLES} | {_norm(master.ASSESSMENT),
                                                   _norm(master.RECEIPT_TIME),
                                                   _norm(master.REVIEW),
                                                   _norm(outliersheet.SHEET)}
    return {sheet.name: sheet_rows(sheet) for sheet in book.sheets if _norm(sheet.name) in wanted}


def sheet_rows(sheet: Any) -> list[list[Any]]:
    """One sheet's values from A1 to the last used cell, as python-calamine would give them."""
    last = sheet.used_range.last_cell
    values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
    rows = [["" if v is None else v for v in row] for row in values or []]
    while rows and all(v == "" for v in rows[-1]):
        rows.pop()
    return rows


# Result sheets ---------------------------------------------------------------------------------


def result_sheets(book: Any) -> dict[str, Any]:
    """The book's result sheets by the rendered sheet name their mark holds, in book order.

    A configuration, assessment or cover sheet is never one, even if it carries the mark.
    """
    found: dict[str, Any] = {}
    for sheet in book.sheets:
        if _norm(sheet.name) in PROTECTED:
            continue
        for name in sheet.names:
            if str(name.name).rsplit("!", 1)[-1].casefold() == MARK.casefold():
                found.setdefault(_constant(name.refers_to), sheet)
    return found


def place_results(book: Any, rendered: Path, only: Collection[str] | None = None) -> list[str]:
    """Copy the sheets of ``rendered`` into ``book``, replacing the previous run's result sheets.

    With ``only``, just those rendered sheets are copied and just the result
    sheets holding the same names are replaced (each new sheet takes the old
    one's place); otherwise every rendered sheet is copied and every earlier
    result sheet goes. Formulas that refer to another sheet would become links
    to the rendered file once copied, so those cells get the value the file
    stored instead. Returns the names the new sheets have in ``book``.
    """
    app = book.app
    values = _file_rows(rendered)
    old = result_sheets(book)
    source = _open_copy(app, rendered)
    alerts, updating = app.display_alerts, app.screen_updating
    app.display_alerts, app.screen_updating = False, False
    copied: list[tuple[str, Any]] = []
    try:
        anchor = next(iter(old.values()), None)
        for src in list(source.sheets):
            if only is not None and src.name not in only:
                continue
            before = old.get(src.name) if only is not None else anchor
            copy = (
                src.copy(before=before) if before is not None else src.copy(after=book.sheets[-1])
            )
            copy.names.add(MARK, '="' + src.name.replace('"', '""') + '"')
            _freeze_links(copy, source.name, values.get(src.name, []))
            copied.append((src.name, copy))
        done = {name for name, _ in copied}
        for name, sheet in old.items():
            if only is None or name in done:
                sheet.delete()
        taken = {_norm(s.name) for s in book.sheets}
        placed = []
        for name, copy in copied:
            taken.discard(_norm(copy.name))
            final = _free_name(name, taken)
            if copy.name != final:
                copy.name = final
            taken.add(_norm(final))
            placed.append(final)
    finally:
        _quietly(source.close)
        app.display_alerts, app.screen_updating = alerts, updating
    if placed:
        _quietly(book.sheets[placed[0] if only is None else placed[-1]].activate)
    return placed


def _open_copy(app: Any, path: Path) -> Any:
    """Open ``path`` read-only in ``app``, closing a (possibly stale) copy already open there."""
    _close_books_under(app, path)
    return app.books.open(str(path), update_links=False, read_only=True)


def _close_books_under(app: Any, path: Path) -> None:
    """Close, without saving, the books open in ``app`` at or under ``path`` (dvxl's outputs)."""
    target = os.path.normcase(os.path.abspath(path))
    for other in list(app.books):
        try:
            name = os.path.normcase(os.path.abspath(str(other.fullname)))
        except Exception:
            continue
        if name == target or name.startswith(target + os.sep):
            _quietly(other.close)


def _freeze_links(sheet: Any, source_name: str, rows: list[list[Any]]) -> None:
    """Replace formulas that refer to the source workbook by the values the file stored."""
    used = sheet.used_range
    top, left = used.row, used.column
    needle = f"[{source_name}]".casefold()
    for r, row in enumerate(_grid(used.formula, used.shape)):
        for c, formula in enumerate(row):
            if (
                isinstance(formula, str)
                and formula.startswith("=")
                and needle in formula.casefold()
            ):
                value = _at(rows, top - 1 + r, left - 1 + c)
                if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "'"):
                    value = "'" + value  # Excel would take it for a formula otherwise
                sheet.range((top + r, left + c)).value = value


def _grid(formulas: Any, shape: tuple[int, int]) -> list[list[Any]]:
    """xlwings gives a scalar, a flat list or rows: make it rows of ``shape``."""
    rows, cols = shape
    if not isinstance(formulas, list | tuple):
        return [[formulas]]
    if formulas and isinstance(formulas[0], list | tuple):
        return [list(row) for row in formulas]
    flat = list(formulas)
    return [flat] if rows == 1 else [[value] for value in flat][: rows * cols]


def _at(rows: list[list[Any]], r: int, c: int) -> Any:
    value = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
    return None if value == "" else value


def _file_rows(path: Path) -> dict[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        return {
            name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in workbook.sheet_names
        }
    finally:
        workbook.close()


def _constant(refers_to: Any) -> str:
    """``="Theo dõi"`` → ``Theo dõi``."""
    text = str(refers_to or "").lstrip("=").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    return text


def _free_name(wanted: str, taken: set[str]) -> str:
    """``wanted`` if no other sheet has it, else ``wanted (KQ)``, ``wanted (KQ 2)`` … (≤ 31)."""
    if _norm(wanted) not in taken:
        return wanted
    n = 1
    while True:
        suffix = " (KQ)" if n == 1 else f" (KQ {n})"
        name = wanted[: 31 - len(suffix)] + suffix
        if _norm(name) not in taken:
            return name
        n += 1


# Set-up on the secretariat's PC (dvxl excel setup) ---------------------------------------------

_ENV_PREFIXES = ("LOCALAPPDATA", "APPDATA", "USERPROFILE", "ProgramFiles", "ProgramFiles(x86)")


def setup(folder: Path, *, user: bool = False) -> list[str]:
    """Write xlwings' interpreter settings for the workspace ``folder``; the lines to print.

    Writes ``xlwings.conf`` beside the master (and, with ``user``, the per-user
    ``%USERPROFILE%\\.xlwings\\xlwings.conf``, which every xlwings workbook of
    the Windows user reads, and which still works when the workbook's folder is
    synced by OneDrive). Other keys already in those files are kept.

    Only on Windows: the button is xlwings' ``RunPython`` in desktop Excel for Windows, and
    ``Interpreter_Win`` holds a Windows path; elsewhere a :class:`UsageError` says so and
    nothing is written (issue 15).
    """
    if not on_windows():
        raise UsageError(
            "Nút bấm trong master.xlsm cần Excel trên Windows: chạy «dvxl excel setup» trên "
            "máy Windows có Excel, đã cài Python và dvxl. Máy này không phải Windows nên "
            "không ghi gì; ở đây dùng các lệnh dvxl validate, merge, report."
        )
    if not folder.is_dir():
        raise UsageError(f"Không có thư mục {folder}. Chạy «dvxl init {folder}» trước.")
    python = _env_path(sys.executable)
    source = _env_path(str(Path(__file__).resolve().parent.parent))
    entries = {
        "Interpreter_Win": python,
        "PYTHONPATH": source,
        # dvxl is a package, not a module beside the workbook; adding the workbook's
        # folder is what fails on OneDrive and SharePoint paths (NOTES-excel.md).
        "ADD_WORKBOOK_TO_PYTHONPATH": "False",
    }
    targets = [folder / "xlwings.conf"]
    if user:
        home = Path(os.environ.get("USERPROFILE") or Path.home())
        targets.append(home / ".xlwings" / "xlwings.conf")
    lines = []
    for target in targets:
        _write_conf(target, entries)
        lines.append(f"Đã ghi cấu hình xlwings: {target}")
    lines.append(f"  Interpreter_Win = {python}")
    lines.append(f"  PYTHONPATH = {source}")
    try:
        installed = metadata.version("xlwings")
    except metadata.PackageNotFoundError:
        installed = ""
    if installed == XLWINGS_VERSION:
        lines.append(f"xlwings {installed}: đúng phiên bản mã VBA trong sổ master.xlsm.")
    else:
        lines.append(
            f"CẢNH BÁO: sổ master.xlsm chứa mã VBA của xlwings {XLWINGS_VERSION} nhưng máy này "
            f"{'cài xlwings ' + installed if installed else 'chưa cài xlwings'}. "
            f"Cài đúng phiên bản: pip install xlwings=={XLWINGS_VERSION}"
        )
    book = workspace.Workspace(folder).master.with_suffix(".xlsm")
    if Path(f"{book}:Zone.Identifier").exists():  # Windows keeps Mark of the Web there
        lines.append(
            f"CẢNH BÁO: {book.name} mang dấu «tải từ Internet» nên Excel chặn macro. Bỏ chặn: "
            f"nhấp phải tệp → Properties → đánh dấu Unblock → OK (hoặc PowerShell: "
            f'Unblock-File -Path "{book}").'
        )
    lines += [
        "Excel chặn macro trong tệp tải về từ Internet hoặc nhận qua thư điện tử (Mark of the "
        "Web). Nếu nút không chạy: nhấp phải master.xlsm → Properties → Unblock, hoặc thêm "
        f"thư mục {folder} vào Trusted Locations (File → Options → Trust Center → Trust Center "
        "Settings → Trusted Locations → Add new location).",
        "Mở master.xlsm, bấm Enable Content nếu Excel hỏi, chọn kỳ ở trang «Bìa» rồi bấm "
        "«Tổng hợp».",
    ]
    return lines


def on_windows() -> bool:
    """Whether this is Windows, where desktop Excel runs the button."""
    return sys.platform == "win32"


def _env_path(path: str) -> str:
    """``C:\\Users\\Nguyễn\\AppData\\Local\\…`` → ``%LOCALAPPDATA%\\…``.

    xlwings reads its .conf files in the ANSI code page and expands environment
    variables, so a user folder with Vietnamese letters survives this way.
    """
    for variable in _ENV_PREFIXES:
        prefix = os.environ.get(variable)
        if prefix and os.path.normcase(path).startswith(
            os.path.normcase(prefix.rstrip("\\/")) + os.sep
        ):
            return f"%{variable}%" + path[len(prefix.rstrip("\\/")) :]
    return path


def _write_conf(path: Path, entries: dict[str, str]) -> None:
    """Write ``"key","value"`` lines (VBA's ``Write #``), keeping keys already there."""
    encoding = "mbcs" if sys.platform == "win32" else "utf-8"
    kept: list[list[str]] = []
    if path.is_file():
        text = path.read_bytes().decode(encoding, errors="replace")
        wanted = {key.casefold() for key in entries}
        kept = [
            row
            for row in csv.reader(io.StringIO(text))
            if len(row) >= 2 and row[0].casefold() not in wanted
        ]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([*kept, *([k, v] for k, v in entries.items())])
    try:
        data = out.getvalue().encode(encoding)
    except UnicodeEncodeError:
        raise UsageError(
            "Đường dẫn của Python có ký tự Excel không đọc được trong xlwings.conf. Hãy cài "
            "Python vào thư mục không dấu (ví dụ C:\\Python311) rồi chạy lại."
        ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, data)
