"""The zip package of an .xlsx/.xlsm or .ods: its directory's claims, every part inflated
once by us (bounded, CRC-checked), XML parts with a DTD refused."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO
from xml.parsers import expat

from dvxl.findings import Code
from dvxl.gates import Limits, Refused, count, human

#: The finding codes this module can emit.
EMITS = (
    Code.NOT_SPREADSHEET, Code.CORRUPT_FILE, Code.PASSWORD, Code.UNPACKS_TOO_LARGE,
    Code.XML_ENTITIES,
)

#: How a zip package starts: the local header of its first part.
LOCAL_HEADER = b"PK\x03\x04"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_CHUNK = 64 * 1024


class Parts:
    """The package's parts: the XML ones as :func:`inflate_all` already inflated them (each
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


def check_shared_strings(parts: Parts, infos: list[zipfile.ZipInfo]) -> None:
    """python-calamine reserves ``uniqueCount`` strings up front: a 6 KB .xlsx declaring four
    billion made it ask for 96 GB and abort. A string takes 5 bytes at least (``<si/>``)."""
    for info in infos:
        if info.filename.lower() != "xl/sharedstrings.xml":
            continue
        with io.BytesIO(parts.read(info.filename)) as handle:
            attributes = _root_attributes(handle)
        declared = next((v for k, v in attributes.items() if k.endswith("uniqueCount")), "")
        if declared.strip().isdigit() and int(declared) > info.file_size // 5 + 1:
            raise Refused(Code.CORRUPT_FILE,
                          value=f"phần {info.filename} khai báo {declared} chuỗi")


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


def zip_format(archive: zipfile.ZipFile, names: set[str]) -> str:
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
    raise Refused(Code.NOT_SPREADSHEET, value=label)


def check_directory(infos: list[zipfile.ZipInfo], names: set[str], limits: Limits) -> None:
    """The zip directory's own claims: part count, declared sizes, ratio, no tricks."""
    if len(infos) > limits.max_parts:
        raise Refused(Code.UNPACKS_TOO_LARGE, value=f"{count(len(infos))} phần",
                       expected=f"{count(limits.max_parts)} phần")
    if len(names) != len(infos):  # two parts of one name: which one would a reader take?
        raise Refused(Code.CORRUPT_FILE, value="tệp nén có hai phần trùng tên")
    if any(info.flag_bits & 0x1 for info in infos):
        raise Refused(Code.PASSWORD)  # zip-level password on the parts
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if unpacked > limits.max_unzipped_bytes:
        raise Refused(Code.UNPACKS_TOO_LARGE, value=human(unpacked),
                      expected=human(limits.max_unzipped_bytes))
    if unpacked > limits.max_ratio * max(packed, 1):
        raise Refused(Code.UNPACKS_TOO_LARGE, value=f"gấp {count(unpacked // max(packed, 1))} lần",
                       expected=f"gấp {count(int(limits.max_ratio))} lần")


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


def inflate_all(data: bytes, infos: list[zipfile.ZipInfo]) -> dict[str, bytes]:
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
                    raise Refused(Code.XML_ENTITIES, value=info.filename)
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


def raw_member(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """A part's compressed bytes, found through its local header (read by the gates, and
    copied as they are into a marked copy: :mod:`dvxl.zipwrite`)."""
    name = info.filename
    local = data[info.header_offset : info.header_offset + 30]
    if len(local) < 30 or not local.startswith(LOCAL_HEADER):
        raise Refused(Code.CORRUPT_FILE, value=f"phần {name} hỏng")
    start = info.header_offset + 30 + sum(struct.unpack_from("<HH", local, 26))
    raw = memoryview(data)[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise Refused(Code.CORRUPT_FILE, value=f"phần {name} bị cắt cụt")
    return raw


def _inflate_whole(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A small part's bytes in one piece: :func:`_inflate`'s checks, one zlib call."""
    name = info.filename
    raw = raw_member(data, info)
    if info.compress_type == zipfile.ZIP_STORED:
        whole = bytes(raw)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            whole = inflater.decompress(raw, info.file_size + 1)
        except zlib.error as exc:
            raise Refused(Code.CORRUPT_FILE, value=f"phần {name} hỏng (dữ liệu nén sai)") from exc
        if len(whole) > info.file_size:
            raise Refused(Code.CORRUPT_FILE,
                          value=f"phần {name} giải nén ra nhiều hơn kích thước khai báo")
        if not inflater.eof:
            raise Refused(Code.CORRUPT_FILE, value=f"phần {name} bị cắt cụt")
    else:
        raise Refused(Code.CORRUPT_FILE, value=f"phần {name} nén theo kiểu không hỗ trợ")
    if len(whole) != info.file_size or zlib.crc32(whole) != info.CRC:
        raise Refused(Code.CORRUPT_FILE, value=f"phần {name} hỏng (sai kích thước hoặc CRC)")
    return whole


def _inflate(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes in chunks, inflated by us from the raw archive.

    Never yields more than the declared size (the directory checks trusted it)
    and checks the CRC, so a truncated, damaged or lying part is refused before
    any parser sees it.
    """
    name = info.filename
    raw = raw_member(data, info)
    if info.compress_type == zipfile.ZIP_STORED:
        source: Iterator[bytes] = (bytes(raw[i : i + _CHUNK]) for i in range(0, len(raw), _CHUNK))
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        source = _deflated(raw, name)
    else:
        raise Refused(Code.CORRUPT_FILE, value=f"phần {name} nén theo kiểu không hỗ trợ")
    size, crc = 0, 0
    for chunk in source:
        size += len(chunk)
        if size > info.file_size:  # a lying header or damaged data: stop here either way
            raise Refused(Code.CORRUPT_FILE,
                          value=f"phần {name} giải nén ra nhiều hơn kích thước khai báo")
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if size != info.file_size or crc != info.CRC:
        raise Refused(Code.CORRUPT_FILE, value=f"phần {name} hỏng (sai kích thước hoặc CRC)")


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
            raise Refused(Code.CORRUPT_FILE, value=f"phần {name} bị cắt cụt")
        try:
            chunk = inflater.decompress(pending, _CHUNK)
        except zlib.error as exc:
            raise Refused(Code.CORRUPT_FILE, value=f"phần {name} hỏng (dữ liệu nén sai)") from exc
        if chunk:
            yield chunk
