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
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib
from array import array
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import python_calamine
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from dvxl.findings import Finding, make

VISIBLE, HIDDEN, VERY_HIDDEN = "visible", "hidden", "veryhidden"


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile file from stalling the batch."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed / compressed, over the whole archive
    max_parts: int = 2000
    # Rows x columns from A1, summed over the sheets. python-calamine 0.9.1 builds a *dense*
    # grid from A1 to the last cell: a 6 KB .xlsx with values in A1 and XFD1048576 asks for
    # 512 GB and the Rust allocator aborts the whole process, so this is checked beforehand.
    max_cells: int = 2_000_000


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


@dataclass
class ReadResult:
    book: Book | None
    findings: list[Finding]
    # SHA-256 (hex) of the very bytes that were read; "" when the file was refused before
    # being read (a lock file, empty, too large, not a regular file).
    sha256: str = ""


def read_book(
    path: Path, limits: Limits | None = None, sheets: Collection[str] | None = None
) -> ReadResult:
    """Read ``path``; on a file-level problem return no book and the finding (F001–F008).

    ``sheets``: the names of the sheets whose cells are wanted (default: every sheet). The
    others are listed with their visibility but no rows, and neither parsed nor scanned,
    so a fault inside one of them goes unnoticed, as it would for python-calamine.
    """
    path = Path(path)
    loaded: list[bytes] = []
    wanted = None if sheets is None else frozenset(sheets)
    result = _read_safely(path, limits or Limits(), loaded, wanted)
    if loaded:
        result.sha256 = hashlib.sha256(loaded[0]).hexdigest()
    return result


def _read_safely(
    path: Path, limits: Limits, loaded: list[bytes], wanted: frozenset[str] | None
) -> ReadResult:
    try:
        return ReadResult(_read(path, limits, loaded, wanted), [])
    except _Refused as refused:
        return ReadResult(None, [make(refused.code, path.name, **refused.fields)])
    except Exception as exc:  # whatever a parser throws at a broken file
        return ReadResult(None, [make("F003", path.name, value=_reason(exc))])
    except BaseException as exc:
        # A Rust panic inside python-calamine surfaces as pyo3's PanicException, which
        # derives from BaseException; it is the file's fault, not a reason to stop.
        if type(exc).__name__ != "PanicException":
            raise
        return ReadResult(None, [make("F003", path.name, value=_reason(exc))])


# --- gates -------------------------------------------------------------------------------

class _Refused(Exception):
    """A file-level finding that ends the read (internal control flow, never escapes)."""

    def __init__(self, code: str, **fields: str) -> None:
        super().__init__(code, fields)
        self.code = code
        self.fields = fields


def _read(
    path: Path, limits: Limits, loaded: list[bytes], wanted: frozenset[str] | None
) -> Book:
    if path.name.startswith("~$"):
        raise _Refused("F008")
    data = _load(path, limits)
    loaded.append(data)
    if data.startswith(_ZIP):
        return _read_zip(path, data, limits, wanted)
    if data.startswith(_OLE):
        return _read_ole(path, data, limits, wanted)
    raise _Refused("F001", value=_looks_like(data))


def _load(path: Path, limits: Limits) -> bytes:
    """The file's bytes, read once (everything after works on this snapshot)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise _Refused("F003", value=f"không mở được tệp: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise _Refused("F003", value="không phải tệp thông thường")
    if info.st_size == 0:
        raise _Refused("F002")
    too_big = {"expected": _human(limits.max_file_bytes)}
    if info.st_size > limits.max_file_bytes:
        raise _Refused("F005", value=_human(info.st_size), **too_big)
    try:  # on Windows, a file Excel holds open cannot even be read
        with path.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise _Refused("F003", value=f"không mở được tệp: {exc.strerror or exc}") from exc
    if not data:
        raise _Refused("F002")
    if len(data) > limits.max_file_bytes:  # grew while we looked
        raise _Refused("F005", value=f"hơn {too_big['expected']}", **too_big)
    return data


def _check_area(cells: int, limits: Limits, sheet: str = "") -> None:
    """The dense grid python-calamine will build (``cells``) must stay within the limits."""
    if cells > limits.max_cells:
        raise _Refused("F006", sheet=sheet, value=f"{_count(cells)} ô",
                       expected=f"{_count(limits.max_cells)} ô")


_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
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


# --- OLE2: .xls, or an encrypted OOXML package ------------------------------------------------
#
# python-calamine 0.9.1 (calamine 0.37) builds every sheet's dense grid while it opens an
# .xls (one cell record at column 65535 asks for 137 GB), reserves the area a DIMENSIONS
# record declares, and follows sector chains without a cycle check. Each of these, one
# wrong number in a 6 KB file, made the Rust allocator abort the whole process in our
# tests. So the compound file is walked here first, the way calamine walks it.

_ENDOFCHAIN, _DIFSECT, _RESERVED = 0xFFFFFFFE, 0xFFFFFFFC, 0xFFFFFFFA
_XLS_CELLS = {0x0006, 0x00BD, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E}  # what calamine reads
_BOUNDSHEET, _DIMENSIONS, _EOF, _FILEPASS, _MULRK = 0x85, 0x200, 0x0A, 0x2F, 0xBD


def _broken_xls(what: str) -> _Refused:
    return _Refused("F003", value=f"cấu trúc tệp Excel 97-2003 hỏng ({what})")


class _Ole:
    """Just enough of MS-CFB to list the streams and read one, as calamine will."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512:
            raise _broken_xls("tiêu đề")
        version, _, shift, mini_shift = struct.unpack_from("<4H", data, 26)
        if shift not in (9, 12) or mini_shift != 6:
            raise _broken_xls("tiêu đề")
        self.data, self.size = data, 1 << shift
        self.count = len(data) // self.size - 1  # whole sectors after the header
        dir_len, _, dir_start = struct.unpack_from("<3I", data, 40)
        minifat_start, minifat_len, difat_start = struct.unpack_from("<3I", data, 60)
        difat = list(struct.unpack_from("<109I", data, 76))
        sid, seen = difat_start, set()
        while sid < _RESERVED:  # DIFAT sectors: ids, the last one linking on
            if sid in seen:
                raise _broken_xls("DIFAT lặp vòng")
            seen.add(sid)
            ids = struct.unpack(f"<{self.size // 4}I", self._sector(sid))
            difat.extend(ids[:-1])
            sid = ids[-1]
        self.fat = array("I", b"".join(self._sector(s) for s in difat if s < _DIFSECT))
        if sys.byteorder == "big":
            self.fat.byteswap()
        directory = self._chain(dir_start, self.fat, self._sector, dir_len * self.size)
        self.entries: list[tuple[str, int, int]] = []  # name, start, length
        wide = self.size != 512  # version 4 keeps 64-bit stream sizes
        for at in range(0, len(directory) - 127, 128):
            name = directory[at : at + 64].decode("utf-16-le", "replace").split("\0")[0]
            start = struct.unpack_from("<I", directory, at + 116)[0]
            length = struct.unpack_from("<Q" if wide else "<I", directory, at + 120)[0]
            self.entries.append((name, start, length))
        if not self.entries or (version != 3 and self.entries[0][1] == _ENDOFCHAIN):
            raise _broken_xls("thư mục gốc")
        self.mini, self.minifat = b"", array("I")
        if minifat_len:
            _, root_start, root_len = self.entries[0]
            self.mini = self._chain(root_start, self.fat, self._sector, root_len)
            self.minifat = array("I", self._chain(minifat_start, self.fat, self._sector,
                                                 minifat_len * self.size))
            if sys.byteorder == "big":
                self.minifat.byteswap()

    @property
    def names(self) -> set[str]:
        return {name for name, _, _ in self.entries}

    def stream(self, name: str) -> bytes:
        """The first stream called ``name`` (calamine takes the first too)."""
        _, start, length = next(e for e in self.entries if e[0] == name)
        if length < 4096:  # calamine's cutoff, whatever the header says
            return self._chain(start, self.minifat, self._mini_sector, length)
        return self._chain(start, self.fat, self._sector, length)

    def _sector(self, sid: int) -> bytes:
        if sid >= self.count:
            raise _broken_xls("số hiệu sector ngoài tệp")
        at = (sid + 1) * self.size
        return self.data[at : at + self.size]

    def _mini_sector(self, sid: int) -> bytes:
        if (sid + 1) * 64 > len(self.mini):
            raise _broken_xls("số hiệu sector nhỏ ngoài tệp")
        return self.mini[sid * 64 : (sid + 1) * 64]

    def _chain(self, sid: int, table: array[int], sector: Callable[[int], bytes],
               length: int) -> bytes:
        """A chain of sectors up to ENDOFCHAIN, inside the file and without a loop."""
        pieces: list[bytes] = []
        while sid != _ENDOFCHAIN:
            if sid >= len(table) or len(pieces) > len(table):
                raise _broken_xls("chuỗi sector hỏng")
            pieces.append(sector(sid))
            sid = table[sid]
        joined = b"".join(pieces)
        return joined[:length] if length else joined


def _check_biff(stream: bytes, limits: Limits) -> None:
    """FILEPASS, and what calamine sizes memory by: DIMENSIONS and the cells' grid."""

    def records(at: int) -> Iterator[tuple[int, bytes]]:
        while at + 4 <= len(stream):
            kind, size = struct.unpack_from("<HH", stream, at)
            yield kind, stream[at + 4 : at + 4 + size]
            at += 4 + size

    sheets: list[int] = []
    for kind, body in records(0):
        if kind == _FILEPASS:
            # python-calamine's from_path raises PasswordError here, but from_filelike hides
            # it behind "Cannot detect file format".
            raise _Refused("F004")
        if kind == _BOUNDSHEET and len(body) >= 4:
            sheets.append(struct.unpack_from("<I", body)[0])
        elif kind == _EOF:
            break
    total = 0
    for at in sheets:
        if at >= len(stream):
            raise _broken_xls("vị trí trang tính")
        rows = cols = 0
        for kind, body in records(at):
            if kind == _EOF:
                break
            if kind in _XLS_CELLS and len(body) >= 4:
                row, col = struct.unpack_from("<HH", body)
                if kind == _MULRK and len(body) >= 6:
                    col = max(col + (len(body) - 6) // 6 - 1, struct.unpack("<H", body[-2:])[0])
                rows, cols = max(rows, row + 1), max(cols, col + 1)
            elif kind == _DIMENSIONS and len(body) in (10, 14):
                first, last, first_col, last_col = struct.unpack_from(
                    "<HHHH" if len(body) == 10 else "<IIHH", body)
                if last and last_col:  # calamine reserves (last - first) x (last_col - first_col)
                    area = (last - first) % (1 << 32) * ((last_col - first_col) % (1 << 32))
                    _check_area(area, limits)
        total += rows * cols
        _check_area(total, limits)


def _read_ole(path: Path, data: bytes, limits: Limits, wanted: frozenset[str] | None) -> Book:
    ole = _Ole(data)
    if {"EncryptionInfo", "EncryptedPackage"} & ole.names:
        raise _Refused("F004")  # what Excel's "Encrypt with Password" saves
    name = next((n for n in ("Workbook", "Book") if n in ole.names), "")
    if not name:
        if "WordDocument" in ole.names:
            raise _Refused("F001", value="văn bản Word .doc")
        raise _Refused("F001", value="tài liệu Office không phải bảng tính")
    _check_biff(ole.stream(name), limits)
    return _calamine(path, "xls", data, limits, {}, wanted)


# --- zip: .xlsx/.xlsm and .ods ---------------------------------------------------------------

_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_CHUNK = 64 * 1024


def _read_zip(path: Path, data: bytes, limits: Limits, wanted: frozenset[str] | None) -> Book:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _Refused("F003", value="cấu trúc nén (zip) hỏng hoặc tệp bị cắt cụt") from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        fmt = _zip_format(archive, names)
        _check_directory(infos, names, limits)
        parts = _Parts(archive, _inflate_all(data, infos))
        if fmt == "ods":
            if b"encryption-data" in parts.get("META-INF/manifest.xml"):
                raise _Refused("F004")  # an ODF package saved with a password
            scans = _scan_ods(parts, limits)
        else:
            macros = b"macroEnabled" in parts.get("[Content_Types].xml")
            if macros or "xl/vbaProject.bin" in names:
                fmt = "xlsm"
            _check_shared_strings(parts, infos)
            scans = _scan_xlsx(parts, names, limits, wanted)
    return _calamine(path, fmt, data, limits, scans, wanted)


class _Parts:
    """The package's parts: the XML ones as :func:`_inflate_all` already inflated them (each
    part is inflated once), any other through zipfile (whose sizes and CRCs were checked)."""

    def __init__(self, archive: zipfile.ZipFile, inflated: dict[str, bytes]) -> None:
        self.archive = archive
        self.inflated = inflated

    def read(self, name: str) -> bytes:
        found = self.inflated.get(name)
        return found if found is not None else self.archive.read(name)

    def get(self, name: str) -> bytes:
        """The part's bytes, ``b""`` when the package has no such part."""
        try:
            return self.read(name)
        except KeyError:
            return b""


def _check_shared_strings(parts: _Parts, infos: list[zipfile.ZipInfo]) -> None:
    """python-calamine reserves ``uniqueCount`` strings up front: a 6 KB .xlsx declaring four
    billion made it ask for 96 GB and abort. A string takes 5 bytes at least (``<si/>``)."""
    for info in infos:
        if info.filename.lower() != "xl/sharedstrings.xml":
            continue
        with io.BytesIO(parts.read(info.filename)) as handle:
            attributes = _root_attributes(handle)
        declared = next((v for k, v in attributes.items() if k.endswith("uniqueCount")), "")
        if declared.strip().isdigit() and int(declared) > info.file_size // 5 + 1:
            raise _Refused("F003", value=f"phần {info.filename} khai báo {declared} chuỗi")


def _root_attributes(handle: IO[bytes]) -> dict[str, str]:
    """The attributes of an XML part's root element, reading no further than it."""
    found: dict[str, str] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        found.update(attrs)
        raise _Done

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        while chunk := handle.read(_CHUNK):
            parser.Parse(chunk, False)
    except _Done:
        pass
    return found


class _Done(Exception):
    """Stops expat once it has given what we wanted."""


def _zip_format(archive: zipfile.ZipFile, names: set[str]) -> str:
    """"ods" or "xlsx" from the package's own markers, else F001 saying what it is."""
    mimetype = b""
    if "mimetype" in names:
        with archive.open("mimetype") as handle:
            mimetype = handle.read(128).strip()
    if mimetype.startswith(_ODS_MIME):
        return "ods"
    if "xl/workbook.xml" in names and "[Content_Types].xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        label = "sổ Excel nhị phân .xlsb, hãy lưu lại thành .xlsx"
    elif "word/document.xml" in names:
        label = "văn bản Word .docx"
    elif "ppt/presentation.xml" in names:
        label = "trình chiếu PowerPoint .pptx"
    elif mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
        label = "văn bản OpenDocument .odt"
    else:
        label = "tệp nén zip"
    raise _Refused("F001", value=label)


def _check_directory(infos: list[zipfile.ZipInfo], names: set[str], limits: Limits) -> None:
    """The zip directory's own claims: part count, declared sizes, ratio, no tricks."""
    if len(infos) > limits.max_parts:
        raise _Refused("F006", value=f"{_count(len(infos))} phần",
                       expected=f"{_count(limits.max_parts)} phần")
    if len(names) != len(infos):  # two parts of one name: which one would a reader take?
        raise _Refused("F003", value="tệp nén có hai phần trùng tên")
    if any(info.flag_bits & 0x1 for info in infos):
        raise _Refused("F004")  # zip-level password on the parts
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if unpacked > limits.max_unzipped_bytes:
        raise _Refused("F006", value=_human(unpacked), expected=_human(limits.max_unzipped_bytes))
    if unpacked > limits.max_ratio * max(packed, 1):
        raise _Refused("F006", value=f"gấp {_count(unpacked // max(packed, 1))} lần",
                       expected=f"gấp {_count(int(limits.max_ratio))} lần")


_DTD = re.compile(
    b"|".join(
        re.escape(word.encode(encoding))
        for word in ("<!DOCTYPE", "<!ENTITY")
        for encoding in ("utf-8", "utf-16-le", "utf-16-be")
    ),
    re.IGNORECASE,
)
_XML_NAMES = (".xml", ".rels", ".vml", ".rdf")
_XML_START = re.compile(rb"^(?:\xef\xbb\xbf|\xff\xfe|\xfe\xff)?[\s\x00]*(?:<|\x00<)")


#: Parts up to this size are inflated in one call (most parts of a return); larger ones in
#: chunks, so that a lying header is caught before much memory is spent.
_WHOLE_MAX = 4 << 20


def _inflate_all(data: bytes, infos: list[zipfile.ZipInfo]) -> dict[str, bytes]:
    """Inflate every part once, bounded; refuse XML parts with a DTD. Returns the XML parts.

    After this, every declared size and CRC is known to be true, so zipfile can read
    the other parts again.
    """
    kept: dict[str, bytes] = {}
    for info in infos:
        xml_part: bool | None = info.filename.lower().endswith(_XML_NAMES) or None
        small = info.file_size <= _WHOLE_MAX
        tail = b""
        pieces: list[bytes] = []
        for chunk in [_inflate_whole(data, info)] if small else _inflate(data, info):
            if xml_part is None:  # decide by the first bytes for parts with other names
                xml_part = bool(_XML_START.match(chunk[:64]))
            if xml_part:
                window = tail + chunk
                if _declares(window) and _DTD.search(window):
                    raise _Refused("F007", value=info.filename)
                tail = window[-24:]
                pieces.append(chunk)
        if xml_part:
            kept[info.filename] = b"".join(pieces)
    return kept


def _declares(xml: bytes) -> bool:
    """Whether ``xml`` has a "<!" (in UTF-8 or UTF-16): the cheap first look for a DTD.

    Found by its rare "!" (a search for "<!" stops at every "<" of the XML: 0.17 ms a
    return instead of 0.01).
    """
    at = xml.find(b"!")
    while at >= 0:
        if xml[at - 1 : at] == b"<" or xml[at - 2 : at] == b"<\x00":
            return True
        at = xml.find(b"!", at + 1)
    return False


def _raw(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """A part's compressed bytes, found through its local header."""
    name = info.filename
    local = data[info.header_offset : info.header_offset + 30]
    if len(local) < 30 or not local.startswith(_ZIP):
        raise _Refused("F003", value=f"phần {name} hỏng")
    start = info.header_offset + 30 + sum(struct.unpack_from("<HH", local, 26))
    raw = memoryview(data)[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise _Refused("F003", value=f"phần {name} bị cắt cụt")
    return raw


def _inflate_whole(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A small part's bytes in one piece: :func:`_inflate`'s checks, one zlib call."""
    name = info.filename
    raw = _raw(data, info)
    if info.compress_type == zipfile.ZIP_STORED:
        whole = bytes(raw)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            whole = inflater.decompress(raw, info.file_size + 1)
        except zlib.error as exc:
            raise _Refused("F003", value=f"phần {name} hỏng (dữ liệu nén sai)") from exc
        if len(whole) > info.file_size:
            raise _Refused("F003", value=f"phần {name} giải nén ra nhiều hơn kích thước khai báo")
        if not inflater.eof:
            raise _Refused("F003", value=f"phần {name} bị cắt cụt")
    else:
        raise _Refused("F003", value=f"phần {name} nén theo kiểu không hỗ trợ")
    if len(whole) != info.file_size or zlib.crc32(whole) != info.CRC:
        raise _Refused("F003", value=f"phần {name} hỏng (sai kích thước hoặc CRC)")
    return whole


def _inflate(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes in chunks, inflated by us from the raw archive.

    Never yields more than the declared size (the directory checks trusted it)
    and checks the CRC, so a truncated, damaged or lying part is refused before
    any parser sees it.
    """
    name = info.filename
    raw = _raw(data, info)
    if info.compress_type == zipfile.ZIP_STORED:
        source: Iterator[bytes] = (bytes(raw[i : i + _CHUNK]) for i in range(0, len(raw), _CHUNK))
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        source = _deflated(raw, name)
    else:
        raise _Refused("F003", value=f"phần {name} nén theo kiểu không hỗ trợ")
    size, crc = 0, 0
    for chunk in source:
        size += len(chunk)
        if size > info.file_size:  # a lying header or damaged data: stop here either way
            raise _Refused("F003", value=f"phần {name} giải nén ra nhiều hơn kích thước khai báo")
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if size != info.file_size or crc != info.CRC:
        raise _Refused("F003", value=f"phần {name} hỏng (sai kích thước hoặc CRC)")


def _deflated(raw: memoryview, name: str) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    offset = 0
    while not inflater.eof:
        if inflater.unconsumed_tail:
            pending: bytes | memoryview = inflater.unconsumed_tail
        elif offset < len(raw):
            pending = raw[offset : offset + _CHUNK]
            offset += _CHUNK
        else:
            raise _Refused("F003", value=f"phần {name} bị cắt cụt")
        try:
            chunk = inflater.decompress(pending, _CHUNK)
        except zlib.error as exc:
            raise _Refused("F003", value=f"phần {name} hỏng (dữ liệu nén sai)") from exc
        if chunk:
            yield chunk


# --- our own look at the sheets: formulas, protection, used area -------------------------------

_MAX_ROWS, _MAX_COLS = 1_048_576, 16_384
_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")


@dataclass
class _Scan:
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
        _check_area(self.area, self.limits, self.sheet)

    def formula(self, row: int, col: int, nrows: int = 1, ncols: int = 1) -> None:
        self.filled(row, col, nrows, ncols)  # bounds the loop below by max_cells
        self.formulas.update(_a1(r, c) for r in range(row, row + nrows)
                             for c in range(col, col + ncols))


def _scan_xlsx(
    parts: _Parts, names: set[str], limits: Limits, wanted: frozenset[str] | None = None
) -> dict[str, _Scan]:
    workbook = ET.fromstring(parts.read("xl/workbook.xml"))
    rels_name = "xl/_rels/workbook.xml.rels"
    if rels_name not in names:
        raise _Refused("F003", value=f"thiếu phần {rels_name}")
    targets = {
        rel.get("Id", ""): rel.get("Target", "")
        for rel in ET.fromstring(parts.read(rels_name))
        if _local(rel.tag) == "Relationship" and rel.get("TargetMode") != "External"
    }
    scans: dict[str, _Scan] = {}
    bounded: list[tuple[_Scan, bytes]] = []  # sheets whose area is only bounded from above
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
            raise _Refused("F003", value=f"thiếu phần của trang «{sheet}»")
        if wanted is not None and sheet not in wanted:
            continue  # calamine will not read it either
        scan = scans[sheet] = _Scan(sheet, limits)
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


def _scan_plain(xml: bytes, scan: _Scan) -> bool:
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
        rows = min(max(map(int, cell_rows)), _MAX_ROWS)
        letters = set(_PLAIN_COLUMN.findall(head))
        cols = min(max(_col_number(word.decode()) for word in letters), _MAX_COLS)
    if rows * cols > scan.limits.max_cells:
        return False
    scan.rows, scan.cols, scan.protected = rows, cols, protected
    return True


def _xlsx_handler(scan: _Scan) -> Callable[[str, dict[str, str]], None]:
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
                if 1 <= at_row <= _MAX_ROWS and 1 <= at_col <= _MAX_COLS:
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


def _scan_ods(parts: _Parts, limits: Limits) -> dict[str, _Scan]:
    """Per table of content.xml: cells with a value or formula, and ``table:protected``.

    Rows and cells carry repeat counts (LibreOffice writes the empty rest of a sheet
    as one row repeated a million times); a formula cell repeated over an area adds
    every address, a loop :meth:`_Scan.filled` has already bounded by max_cells.
    """
    scans: dict[str, _Scan] = {}
    scan = _Scan("", limits)
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
                scan = scans.setdefault(sheet, _Scan(sheet, limits))
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
            if filled and row < _MAX_ROWS and col < _MAX_COLS:
                nrows = min(row_repeat, _MAX_ROWS - row)
                ncols = min(repeat, _MAX_COLS - col)
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


# --- values: python-calamine -----------------------------------------------------------------

_VISIBILITY = (
    (SheetVisibleEnum.Visible, VISIBLE),
    (SheetVisibleEnum.Hidden, HIDDEN),
    (SheetVisibleEnum.VeryHidden, VERY_HIDDEN),
)


def _calamine(path: Path, fmt: str, data: bytes, limits: Limits,
              scans: dict[str, _Scan], wanted: frozenset[str] | None = None) -> Book:
    """Values and visibility from python-calamine, on the bytes that passed the gates."""
    _check_area(sum(scan.area for scan in scans.values()), limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as exc:
        raise _Refused("F004") from exc
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
            _check_area(total, limits, meta.name)
            rows = sheet.to_python(skip_empty_area=False) if end else []
            sheets[meta.name] = Sheet(meta.name, visibility, rows)
    formulas = {name: scan.formulas for name, scan in scans.items()}
    protected = {name: scan.protected for name, scan in scans.items()}
    return Book(path=path, format=fmt, sheets=sheets, formulas=formulas, protected=protected)


# --- words for the unit ----------------------------------------------------------------------

def _human(size: int) -> str:
    """A size the Vietnamese way: ``25,3 MB``, ``20 MB``, ``512 byte``."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            number = f"{size / scale:.1f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"{number} {unit}"
    return f"{size} byte"


def _count(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"lỗi khi đọc: {type(exc).__name__}" + (f": {text}" if text else "")
