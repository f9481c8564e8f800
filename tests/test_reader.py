"""dvxl.reader on real files: what XlsxWriter and LibreOffice save, and what a hostile inbox holds.

Every file is built here. A workbook written by XlsxWriter (a protected sheet
with a formula, a hidden and a veryHidden sheet) is read directly and after
real LibreOffice saved it as .xlsx, .xls and .ods: the values must be the same.
Then one folder of hostile files (truncated, renamed, encrypted, zip bombs,
an XXE probe, an Excel lock file, random bytes...) is read file by file and as
a batch: each gives its finding code, nothing raises, hangs or blows memory,
and no file is ever modified.
"""

from __future__ import annotations

import hashlib
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xlsxwriter

from dvxl.findings import CODES
from dvxl.reader import HIDDEN, VERY_HIDDEN, VISIBLE, Limits, ReadResult, read_book

from hostile import (
    MB,
    SHEET1,
    docx_zip,
    empty,
    encrypted_ods,
    encrypted_ooxml,
    far_cells,
    html_as_xls,
    lock_file,
    lying_sizes,
    pdf_renamed,
    random_bytes,
    ratio_bomb,
    string_count,
    too_big,
    truncated,
    write_ods,
    write_zip,
    xlsx_parts,
    xxe,
    zip_bomb,
)
from libreoffice import FillJob, Format, Output, fill_and_save, require_libreoffice

MAIN, NOTES, META = "Báo cáo", "Ẩn", "_meta"
ROWS = {
    MAIN: [["Chỉ tiêu", "", ""], ["", 12, ""], ["", 24, ""], ["", "", "Đã xong"]],
    NOTES: [["ghi chú ẩn"]],
    META: [["", ""], ["", "HU01"]],  # first value in B2: rows still start at A1
}
LIMITS = Limits(max_file_bytes=1 << 20)  # one limit for the whole hostile inbox


def write_workbook(path: Path) -> Path:
    """The reference workbook: protected sheet with a formula, a hidden and a veryHidden sheet."""
    workbook = xlsxwriter.Workbook(str(path))
    main = workbook.add_worksheet(MAIN)
    main.write_string("A1", "Chỉ tiêu")
    main.write_number("B2", 12)
    main.write_formula("B3", "=B2*2", None, 24)
    main.write_string("C4", "Đã xong")
    main.protect()
    notes = workbook.add_worksheet(NOTES)
    notes.write_string("A1", "ghi chú ẩn")
    notes.hide()
    meta = workbook.add_worksheet(META)
    meta.write_string("B2", "HU01")
    meta.very_hidden()
    workbook.close()
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_unchanged(path: Path, limits: Limits | None = None) -> ReadResult:
    """read_book, asserting the file is byte-for-byte and time-for-time the same after."""
    before = (sha256(path), path.stat().st_mtime_ns)
    result = read_book(path, limits)
    assert (sha256(path), path.stat().st_mtime_ns) == before
    return result


# --- good workbooks ------------------------------------------------------------------------


def test_xlsx_from_xlsxwriter(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "mau.xlsx")
    result = read_unchanged(path)
    assert result.findings == []
    book = result.book
    assert book is not None
    assert (book.path, book.format) == (path, "xlsx")
    assert list(book.sheets) == [MAIN, NOTES, META]
    assert {n: s.visibility for n, s in book.sheets.items()} == {
        MAIN: VISIBLE, NOTES: HIDDEN, META: VERY_HIDDEN,
    }
    assert {n: s.rows for n, s in book.sheets.items()} == ROWS
    assert book.sheets[META].value(1, 1) == "HU01"
    assert book.sheets[META].value(40, 40) == ""
    assert book.formulas == {MAIN: {"B3"}, NOTES: set(), META: set()}
    assert book.protected == {MAIN: True, NOTES: False, META: False}


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_only_the_sheets_asked_for_are_read(
    saved_by_libreoffice: dict[Format, Path], tmp_path: Path, fmt: str
) -> None:
    path = write_workbook(tmp_path / "mau.xlsx") if fmt == "xlsx" else saved_by_libreoffice[fmt]
    whole = read_book(path).book
    some = read_book(path, sheets=[MAIN, META]).book
    assert whole is not None and some is not None
    assert list(some.sheets) == list(whole.sheets)  # every sheet listed, with its visibility
    assert {n: s.visibility for n, s in some.sheets.items()} == {
        n: s.visibility for n, s in whole.sheets.items()}
    assert some.sheets[MAIN].rows == whole.sheets[MAIN].rows
    assert some.sheets[META].rows == whole.sheets[META].rows
    assert some.sheets[NOTES].rows == [] != whole.sheets[NOTES].rows


def test_a_sheet_not_asked_for_is_not_parsed(tmp_path: Path) -> None:
    parts = xlsx_parts(write_workbook(tmp_path / "mau.xlsx"))
    parts["xl/worksheets/sheet2.xml"] = b"<worksheet><sheetData><row></worksheet>"  # NOTES
    broken = write_zip(tmp_path / "hong.xlsx", parts)
    assert read_book(broken).book is None  # read whole: F003
    book = read_book(broken, sheets=[MAIN, META]).book
    assert book is not None and book.sheets[MAIN].rows == ROWS[MAIN]


@pytest.fixture(scope="module")
def saved_by_libreoffice(tmp_path_factory: pytest.TempPathFactory) -> dict[Format, Path]:
    """The reference workbook opened and saved by real LibreOffice in the three formats."""
    require_libreoffice()
    folder = tmp_path_factory.mktemp("lo")
    source = write_workbook(folder / "mau.xlsx")
    outputs: dict[Format, Path] = {f: folder / f"da-luu.{f}" for f in ("xlsx", "xls", "ods")}
    [result] = fill_and_save([FillJob(source, [], [Output(p, f) for f, p in outputs.items()])])
    assert result.ok, result.errors
    return outputs


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"], ids=["lo-xlsx", "lo-xls", "lo-ods"])
def test_libreoffice_copies_read_the_same(
    saved_by_libreoffice: dict[Format, Path], fmt: Format
) -> None:
    result = read_unchanged(saved_by_libreoffice[fmt])
    assert result.findings == []
    book = result.book
    assert book is not None
    assert book.format == fmt
    assert {n: s.rows for n, s in book.sheets.items()} == ROWS  # 12 == 12.0: .xls gives ints
    visibility = {n: s.visibility for n, s in book.sheets.items()}
    # LibreOffice 7.4 saves veryHidden as plain hidden, in every format (NOTES-excel.md).
    assert visibility[MAIN] == VISIBLE
    assert visibility[NOTES] == HIDDEN
    assert visibility[META] in (HIDDEN, VERY_HIDDEN)
    if fmt == "xls":  # formulas and protection are not looked for in BIFF
        assert (book.formulas, book.protected) == ({}, {})
    else:
        assert book.formulas == {MAIN: {"B3"}, NOTES: set(), META: set()}
        assert book.protected == {MAIN: True, NOTES: False, META: False}


def biff_records(data: bytes | bytearray) -> Iterator[tuple[int, int]]:
    """(offset, type) of the BIFF records of a LibreOffice .xls, whose Workbook stream
    LibreOffice stores in one piece from the globals BOF on."""
    at = data.find(bytes.fromhex("0908100000060500"))
    while at + 4 <= len(data):
        kind, size = struct.unpack_from("<HH", data, at)
        if kind == 0:
            break
        yield at, kind
        at += 4 + size


def first_record(data: bytes | bytearray, *kinds: int) -> int:
    return next(at for at, kind in biff_records(data) if kind in kinds)


def open_password(data: bytearray) -> None:
    # Where Excel and LibreOffice put FILEPASS: right after the globals BOF.
    struct.pack_into("<H", data, first_record(data, 0x0809) + 20, 0x002F)


def far_cell(data: bytearray) -> None:
    struct.pack_into("<HH", data, first_record(data, 0x00FD, 0x027E) + 4, 0xFFFF, 0xFFFF)


def huge_dimensions(data: bytearray) -> None:
    struct.pack_into("<IIHH", data, first_record(data, 0x0200) + 4, 0, 0xFFFFFFFF, 0, 256)


def sector_loop(data: bytearray) -> None:
    fat = (struct.unpack_from("<I", data, 76)[0] + 1) * 512  # first FAT sector
    directory = struct.unpack_from("<I", data, 48)[0]
    struct.pack_into("<I", data, fat + 4 * directory, directory)  # the chain points at itself


# Each of these made python-calamine 0.9.1 abort the whole process (FILEPASS aside): the
# reader checks them before calamine opens the file.
DAMAGED_XLS = {
    "open-password": (open_password, "F004"),
    "far-cell": (far_cell, "F006"),
    "huge-dimensions": (huge_dimensions, "F006"),
    "sector-loop": (sector_loop, "F003"),
}


@pytest.mark.parametrize("damage", list(DAMAGED_XLS), ids=list(DAMAGED_XLS))
def test_damaged_xls(saved_by_libreoffice: dict[Format, Path], tmp_path: Path, damage: str) -> None:
    patch, code = DAMAGED_XLS[damage]
    data = bytearray(saved_by_libreoffice["xls"].read_bytes())
    patch(data)
    path = tmp_path / f"{damage}.xls"
    path.write_bytes(bytes(data))
    result = read_unchanged(path)
    assert result.book is None
    assert [f.code for f in result.findings] == [code]


# python-calamine rejects whitespace between table elements; LibreOffice never writes any.
ODS_CONTENT = b"".join([
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"',
    b' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"',
    b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">',
    b"<office:body><office:spreadsheet>",
    b'<table:table table:name="S" table:protected="true">',
    b'<table:table-column table:number-columns-repeated="3"/>',
    b'<table:table-row table:number-rows-repeated="2">',
    b'<table:table-cell table:number-columns-repeated="2" table:formula="of:=1"',
    b' office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>',
    b'<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>',
    b"</table:table-row>",
    b'<table:table-row table:number-rows-repeated="1048570">',
    b'<table:table-cell table:number-columns-repeated="16384"/></table:table-row>',
    b"</table:table>",
    b'<table:table table:name="T"><table:table-row><table:table-cell/></table:table-row>',
    b"</table:table></office:spreadsheet></office:body></office:document-content>",
])
ODS_MANIFEST = b"".join([
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">',
    b'<manifest:file-entry manifest:full-path="/"',
    b' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>',
    b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
    b"</manifest:manifest>",
])


def test_ods_repeated_cells_and_empty_tail(tmp_path: Path) -> None:
    # A formula cell repeated over 2 x 2 cells counts four times; the million empty rows
    # LibreOffice writes at the end of every sheet do not count towards max_cells.
    path = write_ods(tmp_path / "lap.ods", {
        "META-INF/manifest.xml": ODS_MANIFEST, "content.xml": ODS_CONTENT,
    })
    result = read_unchanged(path)
    assert result.findings == []
    book = result.book
    assert book is not None
    assert book.sheets["S"].rows == [[1.0, 1.0, "x"], [1.0, 1.0, "x"]]
    assert book.formulas == {"S": {"A1", "B1", "A2", "B2"}, "T": set()}
    assert book.protected == {"S": True, "T": False}


@pytest.mark.parametrize("kind", ["missing", "directory"], ids=["missing", "directory"])
def test_unreadable_paths(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "khong-co.xlsx"
    if kind == "directory":
        path.mkdir()
    result = read_book(path)
    assert result.book is None
    assert [f.code for f in result.findings] == ["F003"]


# --- hostile files (built by tests/hostile.py) ----------------------------------------


@dataclass(frozen=True)
class Hostile:
    build: Callable[[Path, Path], Path]
    code: str
    value: str = ""  # a piece of the finding's value
    expected: str = ""


HOSTILE = {
    "truncated-xlsx": Hostile(truncated, "F003", "zip"),
    "pdf-renamed": Hostile(pdf_renamed, "F001", "PDF"),
    "docx-zip": Hostile(docx_zip, "F001", "Word"),
    "html-as-xls": Hostile(html_as_xls, "F001", "HTML"),
    "random-bytes": Hostile(random_bytes, "F001", "không rõ"),
    "empty": Hostile(empty, "F002"),
    "encrypted-ooxml": Hostile(encrypted_ooxml, "F004"),
    "encrypted-ods": Hostile(encrypted_ods, "F004"),
    "too-big": Hostile(too_big, "F005", "1,5 MB", "1 MB"),
    "zip-bomb": Hostile(zip_bomb, "F006", "300 MB", "200 MB"),
    "ratio-bomb": Hostile(ratio_bomb, "F006", "lần", "gấp 200 lần"),
    "lying-sizes": Hostile(lying_sizes, "F003", SHEET1),
    "string-count": Hostile(string_count, "F003", "4000000000"),
    "far-cells": Hostile(far_cells, "F006", "ô", "2.000.000 ô"),
    "xxe": Hostile(xxe, "F007", SHEET1),
    "lock-file": Hostile(lock_file, "F008"),
}
GOOD = "zz-hop-le.xlsx"  # after every hostile file but the ~$ one: the batch must get there


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One folder holding every hostile file (and a good one); case id -> path."""
    source = write_workbook(tmp_path_factory.mktemp("src") / "mau.xlsx")
    folder = tmp_path_factory.mktemp("inbox")
    built: dict[str, Path] = {}
    for case_id, case in HOSTILE.items():
        try:
            built[case_id] = case.build(folder, source)
        except pytest.skip.Exception:  # msoffcrypto-tool not installed
            continue
    built["good"] = write_workbook(folder / GOOD)
    return built


@pytest.mark.parametrize("case_id", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_file_gives_its_code(inbox: dict[str, Path], case_id: str) -> None:
    if case_id not in inbox:
        pytest.skip("msoffcrypto-tool is not installed")
    case = HOSTILE[case_id]
    tracemalloc.start()
    try:
        result = read_unchanged(inbox[case_id], LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.book is None
    [finding] = result.findings
    assert (finding.code, finding.severity) == (case.code, CODES[case.code].severity)
    assert case.value in finding.value
    assert case.expected in finding.expected
    assert finding.file == inbox[case_id].name
    assert finding.message and "{" not in finding.message
    assert peak < 16 * MB  # files are at most 1.5 MB; nothing is inflated past the limits


def test_batch_over_hostile_inbox_reaches_the_end(inbox: dict[str, Path]) -> None:
    folder = inbox["good"].parent
    expected = {path.name: HOSTILE[case_id].code for case_id, path in inbox.items()
                if case_id != "good"}
    results = {path.name: read_book(path, LIMITS) for path in sorted(folder.iterdir())}
    assert len(results) == len(inbox)
    assert results[GOOD].findings == [] and results[GOOD].book is not None
    assert {name: [f.code for f in r.findings] for name, r in results.items() if name != GOOD} == {
        name: [code] for name, code in expected.items()
    }


def test_lock_file_is_known_by_its_name_alone() -> None:
    # Excel keeps ~$ files locked while the workbook is open: never even open them.
    result = read_book(Path("/khong/ton/tai/~$bao-cao.xlsx"))
    assert [(f.code, f.severity) for f in result.findings] == [("F008", "warning")]


# --- the plain-form scan judges only what python-calamine reads: up to </sheetData> ---------

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_HEAD = (f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet {_NS}><sheetData>'
         '<row r="1"><c r="A1" t="n"><v>1</v></c><c r="C4"/></row></sheetData>')


def _scans(xml: str) -> tuple[bool, tuple[int, int, bool, set[str]]]:
    """(plain form accepted, (rows, cols, protected, formulas) by the exact scan)."""
    from dvxl import sheetscan

    plain = sheetscan.Scan("Trang", Limits())
    accepted = sheetscan._scan_plain(xml.encode(), plain)
    exact = sheetscan.Scan("Trang", Limits())
    sheetscan._expat(xml.encode(), sheetscan._xlsx_handler(exact))
    if accepted:  # the plain bound covers what the exact scan finds, and agrees on the rest
        assert plain.rows >= exact.rows and plain.cols >= exact.cols
        assert (plain.protected, plain.formulas) == (exact.protected, exact.formulas)
    return accepted, (exact.rows, exact.cols, exact.protected, exact.formulas)


@pytest.mark.parametrize(
    ("tail", "protected"),
    [
        ('<sheetProtection sheet="1" objects="1"/></worksheet>', True),
        ('<sheetProtection sheet="0"/></worksheet>', False),
        # Comments and data validations after the cells do not matter to calamine.
        ('<!-- ghi chú --><dataValidations count="1"><dataValidation sqref="A1">'
         '<formula1>DM_x</formula1></dataValidation></dataValidations>'
         '<sheetProtection sheet="true"/></worksheet>', True),
    ],
)
def test_plain_scan_takes_the_head_and_the_last_protection(tail: str, protected: bool) -> None:
    accepted, exact = _scans(_HEAD + tail)
    assert accepted
    assert exact == (1, 1, protected, set())


@pytest.mark.parametrize(
    "xml",
    [
        # A comment, a formula, a prefixed sheetData or cell, a cell without r: exact scan.
        _HEAD.replace("<sheetData>", "<sheetData><!-- x -->") + "</worksheet>",
        _HEAD.replace("<sheetData>", "<sheetData><?dvxl x?>") + "</worksheet>",
        _HEAD.replace("<sheetData>", "<sheetData><![CDATA[<c r='XFD9'>]]>") + "</worksheet>",
        _HEAD.replace("<v>1</v>", "<f>1+1</f><v>2</v>") + "</worksheet>",
        _HEAD.replace("<sheetData>", '<x:sheetData xmlns:x="urn:x">').replace(
            "</sheetData>", "</x:sheetData>") + "</worksheet>",
        _HEAD.replace('<c r="C4"/>', '<x:c xmlns:x="urn:x" r="Z9"><x:v>1</x:v></x:c>')
        + "</worksheet>",
        _HEAD.replace('<c r="C4"/>', "<c><v>2</v></c>") + "</worksheet>",
    ],
)
def test_plain_scan_leaves_other_forms_to_the_exact_scan(xml: str) -> None:
    accepted, _ = _scans(xml)
    assert not accepted


def test_plain_scan_refuses_a_malformed_head() -> None:
    from dvxl import sheetscan

    xml = _HEAD.replace('<c r="C4"/>', '<c r="C4" a="<c r=\'XFD1\'>"/>') + "</worksheet>"
    assert not sheetscan._scan_plain(xml.encode(), sheetscan.Scan("Trang", Limits()))
