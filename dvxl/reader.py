"""Read a returned file safely into plain rows, whatever program saved it.

One small contract, as pandas' ``io/excel`` has: :func:`read_book` returns a
:class:`Book` of plain rows per sheet (python-calamine for the values), or the
file-level findings that stopped it. Nothing downstream knows which library
read the file. Before any parser sees the bytes, the file is sniffed by its
content (never its name), its size and the expansion of its zip parts are
bounded, and XML parts declaring a DTD or entities are refused.

The order of the gates: name (``~$`` lock file) -> size -> content sniff ->
zip directory (parts, declared sizes, ratio) -> every part inflated by us,
bounded by its declared size and CRC-checked, XML parts scanned for DTDs ->
our own streaming parse of the sheets (formulas, protection, used area) ->
python-calamine, on the very bytes that passed the gates.

The containers are looked into by modules of their own: :mod:`dvxl.ole` (an .xls),
:mod:`dvxl.zipparts` (an .xlsx/.xlsm/.ods package), :mod:`dvxl.sheetscan` (the sheets'
XML); :mod:`dvxl.gates` holds the limits and the refusal they share.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from dvxl.findings import Code, Finding, make
from dvxl.gates import Limits, Refused, check_area, human
from dvxl.ole import Ole, check_biff
from dvxl.savedtime import Saved, read_saved, read_saved_ole
from dvxl.sheetscan import Scan, scan_ods, scan_xlsx
from dvxl.zipparts import (
    LOCAL_HEADER,
    Parts,
    check_directory,
    check_shared_strings,
    inflate_all,
    zip_format,
)

__all__ = [
    "HIDDEN", "VERY_HIDDEN", "VISIBLE", "Book", "Limits", "ReadResult", "Sheet", "read_book",
]

VISIBLE, HIDDEN, VERY_HIDDEN = "visible", "hidden", "veryhidden"

#: The finding codes this module can emit itself; the modules it looks into first declare
#: theirs (:data:`dvxl.ole.EMITS`, :data:`dvxl.zipparts.EMITS`, :data:`dvxl.sheetscan.EMITS`,
#: :data:`dvxl.gates.EMITS`).
EMITS = (
    Code.NOT_SPREADSHEET, Code.EMPTY_FILE, Code.CORRUPT_FILE, Code.PASSWORD, Code.TOO_LARGE,
    Code.LOCK_FILE, Code.NOT_A_RETURN, Code.NOT_REGULAR_FILE,
)


@dataclass
class Sheet:
    """One sheet's values as rows from A1 (``rows[r][c]`` is the cell at row r+1, column c+1).

    Values are what python-calamine gives: ``str`` (``""`` for empty), ``float``
    or ``int``, ``bool``, ``datetime.date``/``datetime.datetime``.
    """

    name: str
    visibility: str  # VISIBLE | HIDDEN | VERY_HIDDEN
    rows: list[list[Any]]

    def value(self, row: int, col: int) -> Any:
        """The value at zero-based (row, col), ``""`` beyond the used range."""
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return ""


@dataclass
class Book:
    """A returned workbook as plain data."""

    path: Path
    format: str  # "xlsx" | "xlsm" | "xls" | "ods"
    sheets: dict[str, Sheet]
    # A1 addresses of cells holding a formula, per sheet, where the format lets us see them
    # (.xlsx/.xlsm/.ods); absent for .xls.
    formulas: dict[str, set[str]] = field(default_factory=dict)
    # Whether each sheet is protected, where the format lets us see it; absent when unknown.
    protected: dict[str, bool] = field(default_factory=dict)
    # When the file says it was last saved (:mod:`dvxl.savedtime`); None when it does not.
    saved: Saved | None = None


@dataclass
class ReadResult:
    book: Book | None
    findings: list[Finding]
    # SHA-256 (hex) of the very bytes that were read; "" when the file was refused before
    # being read (a lock file, empty, too large, not a regular file).
    sha256: str = ""


def read_book(
    path: Path, limits: Limits | None = None, sheets: Collection[str] | None = None,
    data: bytes | None = None,
) -> ReadResult:
    """Read ``path``; on a file-level problem return no book and the finding (F001–F008).

    ``sheets``: the names of the sheets whose cells are wanted (default: every sheet). The
    others are listed with their visibility but no rows, and neither parsed nor scanned,
    so a fault inside one of them goes unnoticed, as it would for python-calamine.
    ``data``: the file's bytes when it has no file of its own (an e-mail's attachment,
    :mod:`dvxl.mail`); ``path`` then only names it. The same gates apply.
    """
    path = Path(path)
    loaded: list[bytes] = []
    wanted = None if sheets is None else frozenset(sheets)
    result = _read_safely(path, limits or Limits(), loaded, wanted, data)
    if loaded:
        result.sha256 = hashlib.sha256(loaded[0]).hexdigest()
    return result


def _read_safely(
    path: Path, limits: Limits, loaded: list[bytes], wanted: frozenset[str] | None,
    given: bytes | None = None,
) -> ReadResult:
    try:
        return ReadResult(_read(path, limits, loaded, wanted, given), [])
    except Refused as refused:
        return ReadResult(None, [make(refused.code, path.name, **refused.fields)])
    except Exception as exc:  # whatever a parser throws at a broken file
        return ReadResult(None, [make(Code.CORRUPT_FILE, path.name, value=_reason(exc))])
    except BaseException as exc:
        # A Rust panic inside python-calamine surfaces as pyo3's PanicException, which
        # derives from BaseException; it is the file's fault, not a reason to stop.
        if type(exc).__name__ != "PanicException":
            raise
        return ReadResult(None, [make(Code.CORRUPT_FILE, path.name, value=_reason(exc))])


# --- gates -------------------------------------------------------------------------------


def _read(
    path: Path, limits: Limits, loaded: list[bytes], wanted: frozenset[str] | None,
    given: bytes | None = None,
) -> Book:
    if path.name.startswith("~$"):
        raise Refused(Code.LOCK_FILE)
    if given is None:  # an e-mail's attachment is a spreadsheet by its content already
        kind = not_a_return(path.name)
        if kind:
            raise Refused(Code.NOT_A_RETURN, value=kind)
    data = _load(path, limits) if given is None else _given(given, limits)
    loaded.append(data)
    if data.startswith(LOCAL_HEADER):
        return _read_zip(path, data, limits, wanted)
    if data.startswith(_OLE):
        return _read_ole(path, data, limits, wanted)
    raise Refused(Code.NOT_SPREADSHEET, value=_looks_like(data))


def _load(path: Path, limits: Limits) -> bytes:
    """The file's bytes, read once (everything after works on this snapshot).

    Only a regular file is read: opened without following a symbolic link and without
    waiting on a FIFO, then checked on the open descriptor, so that a file swapped for a
    link or a device after the inbox was listed is refused, not read (issue 14).
    """
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
    try:  # on Windows, a file Excel holds open cannot even be read
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise Refused(Code.NOT_REGULAR_FILE, value=LINK) from exc
        raise Refused(Code.CORRUPT_FILE, value=f"không mở được tệp: {_why(exc)}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise Refused(Code.NOT_REGULAR_FILE, value=special_kind(info.st_mode))
        if info.st_size == 0:
            raise Refused(Code.EMPTY_FILE)
        too_big = {"expected": human(limits.max_file_bytes)}
        if info.st_size > limits.max_file_bytes:
            raise Refused(Code.TOO_LARGE, value=human(info.st_size), **too_big)
        try:
            data = handle.read(limits.max_file_bytes + 1)
        except OSError as exc:
            raise Refused(Code.CORRUPT_FILE, value=f"không đọc được tệp: {_why(exc)}") from exc
    if not data:
        raise Refused(Code.EMPTY_FILE)
    if len(data) > limits.max_file_bytes:  # grew while we looked
        raise Refused(Code.TOO_LARGE, value=f"hơn {too_big['expected']}", **too_big)
    return data


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
LINK = "liên kết tượng trưng (symbolic link)"


def special_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words for the office."""
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISDIR(mode):
        return "thư mục"
    if stat.S_ISFIFO(mode):
        return "đường ống (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "tệp thiết bị"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "tệp đặc biệt"


def _why(exc: OSError) -> str:
    """An OS error in words, without the path (it may be a temporary file's)."""
    return exc.strerror or type(exc).__name__


def _given(data: bytes, limits: Limits) -> bytes:
    """Bytes handed over instead of a file, through the same size gates as a file."""
    if not data:
        raise Refused(Code.EMPTY_FILE)
    if len(data) > limits.max_file_bytes:
        raise Refused(Code.TOO_LARGE, value=human(len(data)), expected=human(limits.max_file_bytes))
    return data


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

#: What Windows and macOS leave in a folder (thumbnail caches, folder settings).
_SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store"})
#: What a unit sends beside its return: the cover letter, a scan of it, a note.
_LETTER_SUFFIXES = frozenset({
    ".pdf", ".doc", ".docx", ".odt", ".rtf", ".txt", ".jpg", ".jpeg", ".png", ".heic",
})


def not_a_return(name: str) -> str:
    """What a file is by its name when it is plainly not a return (``""`` otherwise):
    a folder's system file, a hidden file (a LibreOffice lock file ``.~lock.…#``, macOS'
    ``._…``), or a letter or picture sent beside the return. A return saved under such a
    name would be refused anyway; its F009 says so, instead of a marked-up copy."""
    folded = name.casefold()
    if folded in _SYSTEM_FILES:
        return "tệp hệ thống của Windows/macOS"
    if name.startswith("."):
        return "tệp ẩn hoặc tệp khóa do chương trình tạo ra"
    suffix = Path(folded).suffix
    if suffix in _LETTER_SUFFIXES:
        return f"văn bản hoặc ảnh gửi kèm ({suffix})"
    return ""


_MAGIC = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "ảnh PNG"),
    (b"\xff\xd8\xff", "ảnh JPEG"),
    (b"GIF8", "ảnh GIF"),
    (b"Rar!", "tệp nén RAR"),
    (b"7z\xbc\xaf\x27\x1c", "tệp nén 7z"),
    (b"\x1f\x8b", "tệp nén gzip"),
    (b"PK\x05\x06", "tệp nén zip rỗng"),
    (b"{\\rtf", "văn bản RTF"),
    (b"\xff\xfe", "văn bản"),
    (b"\xfe\xff", "văn bản"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def _looks_like(data: bytes) -> str:
    """What a file that is not a workbook seems to be, in words for the unit."""
    for magic, label in _MAGIC:
        if data.startswith(magic):
            return label
    head = data[:4096]
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<"):
        # Web systems often export an HTML table or an Excel 2003 XML sheet named .xls.
        if b"urn:schemas-microsoft-com:office:spreadsheet" in start:
            return "bảng tính XML 2003, hãy lưu lại thành .xlsx"
        if start.startswith((b"<html", b"<!doctype html")) or b"<table" in start:
            return "trang web HTML"
        return "tệp XML"
    return "không rõ" if _CONTROL.search(head) else "văn bản"


def _read_ole(path: Path, data: bytes, limits: Limits, wanted: frozenset[str] | None) -> Book:
    ole = Ole(data)
    if {"EncryptionInfo", "EncryptedPackage"} & ole.names:
        raise Refused(Code.PASSWORD)  # what Excel's "Encrypt with Password" saves
    name = next((n for n in ("Workbook", "Book") if n in ole.names), "")
    if not name:
        if "WordDocument" in ole.names:
            raise Refused(Code.NOT_SPREADSHEET, value="văn bản Word .doc")
        raise Refused(Code.NOT_SPREADSHEET, value="tài liệu Office không phải bảng tính")
    check_biff(ole.stream(name), limits)
    book = _calamine(path, "xls", data, limits, {}, wanted)
    book.saved = read_saved_ole(ole)
    return book


# --- zip: .xlsx/.xlsm and .ods ---------------------------------------------------------------


def _read_zip(path: Path, data: bytes, limits: Limits, wanted: frozenset[str] | None) -> Book:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise Refused(
            Code.CORRUPT_FILE, value="cấu trúc nén (zip) hỏng hoặc tệp bị cắt cụt"
        ) from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        fmt = zip_format(archive, names)
        check_directory(infos, names, limits)
        parts = Parts(archive, inflate_all(data, infos))
        if fmt == "ods":
            if b"encryption-data" in parts.get("META-INF/manifest.xml"):
                raise Refused(Code.PASSWORD)  # an ODF package saved with a password
            scans = scan_ods(parts, limits)
        else:
            macros = b"macroEnabled" in parts.get("[Content_Types].xml")
            if macros or "xl/vbaProject.bin" in names:
                fmt = "xlsm"
            check_shared_strings(parts, infos)
            scans = scan_xlsx(parts, names, limits, wanted)
        saved = read_saved(parts, fmt)
    book = _calamine(path, fmt, data, limits, scans, wanted)
    book.saved = saved
    return book


# --- values: python-calamine -----------------------------------------------------------------

_VISIBILITY = (
    (SheetVisibleEnum.Visible, VISIBLE),
    (SheetVisibleEnum.Hidden, HIDDEN),
    (SheetVisibleEnum.VeryHidden, VERY_HIDDEN),
)


def _calamine(path: Path, fmt: str, data: bytes, limits: Limits,
              scans: dict[str, Scan], wanted: frozenset[str] | None = None) -> Book:
    """Values and visibility from python-calamine, on the bytes that passed the gates."""
    check_area(sum(scan.area for scan in scans.values()), limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as exc:
        raise Refused(Code.PASSWORD) from exc
    sheets: dict[str, Sheet] = {}
    total = 0
    with workbook:
        for meta in workbook.sheets_metadata:
            visibility = next((v for e, v in _VISIBILITY if meta.visible == e), VISIBLE)
            if wanted is not None and meta.name not in wanted:
                sheets[meta.name] = Sheet(meta.name, visibility, [])
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            end = sheet.end  # the grid to_python will pad out from A1; checked once more
            total += (end[0] + 1) * (end[1] + 1) if end else 0
            check_area(total, limits, meta.name)
            rows = sheet.to_python(skip_empty_area=False) if end else []
            sheets[meta.name] = Sheet(meta.name, visibility, rows)
    formulas = {name: scan.formulas for name, scan in scans.items()}
    protected = {name: scan.protected for name, scan in scans.items()}
    return Book(path=path, format=fmt, sheets=sheets, formulas=formulas, protected=protected)


# --- words for the unit ----------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"lỗi khi đọc: {type(exc).__name__}" + (f": {text}" if text else "")
