"""Hostile files a unit (or an attacker) might send, built on demand for the tests.

Each builder takes the folder to write into and a good workbook to start from,
and returns the path it wrote. tests/test_reader.py reads them one by one;
tests/test_validate.py drops them into an inbox among real returns.
"""

from __future__ import annotations

import random
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

MB = 1 << 20


def write_ods(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        mime = b"application/vnd.oasis.opendocument.spreadsheet"
        archive.writestr("mimetype", mime, compress_type=zipfile.ZIP_STORED)
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def xlsx_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def declare_size(path: Path, part: str, size: int) -> None:
    """Make the zip lie: ``part``'s uncompressed size in both headers becomes ``size``."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        struct.pack_into("<I", data, archive.getinfo(part).header_offset + 22, size)
    name = part.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + length] == name:
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


SHEET1 = "xl/worksheets/sheet1.xml"


def truncated(folder: Path, good: Path) -> Path:
    data = good.read_bytes()
    return write_bytes(folder / "tai-do.xlsx", data[: len(data) // 2])


def pdf_renamed(folder: Path, good: Path) -> Path:
    pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return write_bytes(folder / "bao-cao-pdf.xlsx", pdf)


def docx_zip(folder: Path, good: Path) -> Path:
    return write_zip(folder / "van-ban.xlsx", {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
                               b'.org/package/2006/content-types"/>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
        "word/document.xml": b'<?xml version="1.0"?><w:document xmlns:w="urn:w"/>',
    })


def encrypted_ooxml(folder: Path, good: Path) -> Path:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    path = folder / "co-mat-khau.xlsx"
    with good.open("rb") as plain, path.open("wb") as out:
        ooxml.OOXMLFile(plain).encrypt("1234", out)
    return path


def zip_bomb(folder: Path, good: Path) -> Path:
    """An .xlsx whose sheet inflates to 300 MB of zeros (about 300 KB on disk), built streaming."""
    path = folder / "bom-nen.xlsx"
    zeros = bytes(MB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in xlsx_parts(good).items():
            if name != SHEET1:
                archive.writestr(name, data)
        with archive.open(SHEET1, "w", force_zip64=True) as sheet:
            for _ in range(300):
                sheet.write(zeros)
    return path


def ratio_bomb(folder: Path, good: Path) -> Path:
    """Small in total (5 MB) but 5 MB from a few KB: refused by the compression ratio."""
    return write_zip(folder / "ti-le-nen.xlsx", xlsx_parts(good) | {SHEET1: bytes(5 * MB)})


def lying_sizes(folder: Path, good: Path) -> Path:
    """The headers say 4 KB; the sheet really inflates to 8 MB: damaged, and not inflated."""
    path = write_zip(folder / "khai-gian.xlsx", xlsx_parts(good) | {SHEET1: bytes(8 * MB)})
    declare_size(path, SHEET1, 4096)
    return path


def string_count(folder: Path, good: Path) -> Path:
    # python-calamine reserves uniqueCount strings: 4 billion made it abort the process.
    parts = xlsx_parts(good)
    sst = parts["xl/sharedStrings.xml"]
    parts["xl/sharedStrings.xml"] = re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4000000000"', sst)
    return write_zip(folder / "dem-chuoi.xlsx", parts)


def xxe(folder: Path, good: Path) -> Path:
    parts = xlsx_parts(good)
    sheet = parts[SHEET1]
    head, _, rest = sheet.partition(b"?>")
    sheet = head + b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + rest
    probe = b'<row r="20"><c r="A20" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData>'
    parts[SHEET1] = sheet.replace(b"</sheetData>", probe)
    return write_zip(folder / "xxe.xlsx", parts)


def empty(folder: Path, good: Path) -> Path:
    return write_bytes(folder / "rong.xlsx", b"")


def too_big(folder: Path, good: Path) -> Path:
    return write_bytes(folder / "qua-lon.xlsx", random.Random(1).randbytes(3 * MB // 2))


def lock_file(folder: Path, good: Path) -> Path:
    owner = b"\x05Admin".ljust(54, b"\x20") + b"\x05\x00A\x00d\x00m\x00i\x00n\x00"
    return write_bytes(folder / "~$lock.xlsx", owner.ljust(165, b"\x00"))


def folder_thumbnails(folder: Path, good: Path) -> Path:
    """What Windows Explorer leaves in a folder of pictures: an OLE file, like an .xls."""
    return write_bytes(folder / "Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def random_bytes(folder: Path, good: Path) -> Path:
    return write_bytes(folder / "ngau-nhien.xlsx", random.Random(20260601).randbytes(4096))


def html_as_xls(folder: Path, good: Path) -> Path:
    page = "<html><body><table><tr><td>Đơn vị</td><td>12</td></tr></table></body></html>"
    return write_bytes(folder / "xuat-tu-web.xls", page.encode())


def far_cells(folder: Path, good: Path) -> Path:
    # python-calamine would build a dense 1,048,576 x 16,384 grid and abort the process.
    path = folder / "o-xa.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Xa")
    sheet.write_number("A1", 1)
    sheet.write_number("XFD1048576", 2)
    workbook.close()
    return path


def encrypted_ods(folder: Path, good: Path) -> Path:
    # What LibreOffice saves with a password: an ODF zip whose manifest carries
    # encryption-data and whose content.xml is ciphertext.
    manifest = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
 <manifest:file-entry manifest:full-path="/"
  manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">
  <manifest:encryption-data manifest:checksum-type="SHA256/1K" manifest:checksum="AAAA">
   <manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc"
    manifest:initialisation-vector="AAAA"/>
  </manifest:encryption-data>
 </manifest:file-entry>
</manifest:manifest>"""
    return write_ods(folder / "co-mat-khau.ods", {
        "META-INF/manifest.xml": manifest,
        "content.xml": random.Random(7).randbytes(2304),
    })


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# Relabelled returns (issue 14): the hidden metadata edited the way a clerk can in LibreOffice.


def relabel(path: Path, changes: dict[str, str | None], seal: Any = None) -> Path:
    """Edit the ``_dvxl`` metadata of the saved return ``path`` in place: each key of
    ``changes`` gets its value (None empties it), and the form's header shows the unit's
    new code and name. With ``seal`` (a :class:`dvxl.seal.Seal`) the block is
    signed again with it: a template that workspace really made with those values."""
    import openpyxl

    from dvxl.form import CELL_MAP, FORM, IDENTITY_FIRST_ROW, KEY_UNIT, KEY_UNIT_NAME, META

    book = openpyxl.load_workbook(path)
    sheet = book[META]
    meta: dict[str, str] = {}
    rows: dict[str, Any] = {}
    cells: list[tuple[str, str]] = []
    in_map = False
    for row in sheet.iter_rows(max_col=2):
        key, value = row[0].value, row[1].value
        if not key:
            continue
        if in_map:
            cells.append((str(key), str(value)))
        elif key == CELL_MAP[0]:
            in_map = True
        else:
            rows[str(key)] = row
            meta[str(key)] = "" if value is None else str(value)
    for key, value in changes.items():
        rows[key][1].value = value
        meta[key] = value or ""
    # The visible header too: the unit's name and code above the identity rows.
    for key, row in ((KEY_UNIT_NAME, IDENTITY_FIRST_ROW - 1), (KEY_UNIT, IDENTITY_FIRST_ROW)):
        if key in changes:
            book[FORM][f"E{row}"] = changes[key]
    if seal is not None:
        for key, value in seal.stamp(meta, cells).items():
            rows[key][1].value = value
    book.save(path)
    return path
# Pathological returns (issue 14): valid workbooks a reader or a marker could choke on -----


def far_row(folder: Path, good: Path, part: str = "xl/worksheets/sheet2.xml") -> Path:
    """A return with one more cell at row 99,999,999 (beyond Excel's grid) in ``part``
    (the form, «Báo cáo», by default): python-calamine built a 19 GB grid down to it."""
    parts = xlsx_parts(good)
    cell = b'<row r="99999999"><c r="A99999999" s="1"><v>1</v></c></row></sheetData>'
    parts[part] = parts[part].replace(b"</sheetData>", cell)
    return write_zip(folder / f"hang-xa-{part[-5]}.xlsx", parts)


def last_row_comment(folder: Path, good: Path, sheet: str = "Báo cáo") -> Path:
    """A return with a formatted cell at the sheet's last row next to a comment: a comment
    sends the marked copy to openpyxl, which walked the whole grid (8 GB)."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    book = openpyxl.load_workbook(good)
    target = book[sheet]
    target["Z1048576"].fill = PatternFill("solid", fgColor="FFFF00")
    target["Y1048576"].comment = Comment("ghi chú của đơn vị", "HU01")
    path = folder / "dong-cuoi-ghi-chu.xlsx"
    book.save(path)
    return path


def with_cell_xml(folder: Path, good: Path, cell: str, value: bytes, name: str) -> Path:
    """``good`` with ``cell`` of the form holding the raw ``<v>`` text ``value`` (``NaN``,
    ``INF``, ``1e308``): what no Excel writes but any zip tool can."""
    parts = xlsx_parts(good)
    sheet = parts[SHEET2]
    found = re.search(rb'<c r="' + cell.encode() + rb'"[^>]*?(/>|>.*?</c>)', sheet, re.S)
    assert found, cell
    style = re.search(rb'\ss="\d+"', found[0])
    new = b'<c r="' + cell.encode() + b'"' + (style[0] if style else b"") + b"><v>" + value \
        + b"</v></c>"
    parts[SHEET2] = sheet[: found.start()] + new + sheet[found.end() :]
    return write_zip(folder / name, parts)


SHEET2 = "xl/worksheets/sheet2.xml"  # the form, «Báo cáo», in a template XlsxWriter made
