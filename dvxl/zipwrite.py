"""Write a zip package whose unchanged parts are copied as they are, compressed bytes and all.

A marked copy changes a few parts of a unit's return (the marked sheet, the styles, the
workbook's lists) and keeps the rest. Through :mod:`zipfile` every kept part was inflated
and deflated again: two thirds of the time a marked copy took (issue 18). Here a kept part
is copied with its compressed bytes, CRC and sizes (which the reader has checked), and only
the changed parts are deflated. No Zip64: a package that would need it is refused
(:class:`TooLarge`), and its caller takes the slower way.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from dvxl.zipparts import raw_member

__all__ = ["Package", "TooLarge"]

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_VERSION = 20  # 2.0: deflate
_UTF8 = 0x800  # the name is UTF-8 (general purpose flag bit 11)
_DOS_EPOCH = (0, (1 << 5) | 1)  # 1980-01-01 00:00, what XlsxWriter writes too: (time, date)
_MAX32 = 0xFFFFFFFF
_MAX16 = 0xFFFF


class TooLarge(Exception):
    """The package would need Zip64 (over 4 GB or 65,535 parts)."""


class Package:
    """A zip package written member by member into memory."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._central: list[bytes] = []
        self._names: set[str] = set()

    def copy(self, data: bytes, info: zipfile.ZipInfo) -> None:
        """Copy ``info``'s member of the package ``data`` as it is stored there (a member
        whose local header is missing or cut short is refused: :func:`dvxl.zipparts.raw_member`)."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise zipfile.BadZipFile(f"{info.filename}: compression {info.compress_type}")
        self._member(info.filename, info.compress_type, info.CRC, info.file_size,
                     raw_member(data, info), _dos_time(info.date_time))

    def add(self, name: str, payload: bytes, level: int = 6) -> None:
        """Add ``payload`` as a new member, deflated at ``level``."""
        deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        packed = deflater.compress(payload) + deflater.flush()
        self._member(name, zipfile.ZIP_DEFLATED, zlib.crc32(payload), len(payload), packed,
                     _DOS_EPOCH)

    def _member(self, name: str, method: int, crc: int, size: int,
                packed: bytes | memoryview, when: tuple[int, int]) -> None:
        if name in self._names:
            raise ValueError(f"two members named {name}")
        self._names.add(name)
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8
        offset = self._out.tell()
        if max(offset, size, len(packed)) > _MAX32 or len(self._names) > _MAX16:
            raise TooLarge(name)
        self._out.write(_LOCAL.pack(b"PK\x03\x04", _VERSION, flags, method, *when, crc,
                                    len(packed), size, len(encoded), 0))
        self._out.write(encoded)
        self._out.write(packed)
        self._central.append(_CENTRAL.pack(
            b"PK\x01\x02", _VERSION, _VERSION, flags, method, *when, crc, len(packed), size,
            len(encoded), 0, 0, 0, 0, 0, offset) + encoded)

    def finish(self) -> bytes:
        """The package's bytes: the members, then the central directory."""
        start = self._out.tell()
        directory = b"".join(self._central)
        if start + len(directory) > _MAX32:
            raise TooLarge("central directory")
        self._out.write(directory)
        count = len(self._central)
        self._out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
        return self._out.getvalue()


def _dos_time(when: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """A member's (time, date) in the MS-DOS form zip headers keep."""
    year, month, day, hour, minute, second = when
    if year < 1980:
        return _DOS_EPOCH
    return ((hour << 11) | (minute << 5) | (second // 2),
            ((year - 1980) << 9) | (month << 5) | day)
