"""The OLE2 compound file of an .xls (or of an encrypted OOXML package), walked before
python-calamine opens it.

python-calamine 0.9.1 (calamine 0.37) builds every sheet's dense grid while it opens an
.xls (one cell record at column 65535 asks for 137 GB), reserves the area a DIMENSIONS
record declares, and follows sector chains without a cycle check. Each of these, one
wrong number in a 6 KB file, made the Rust allocator abort the whole process in our
tests. So the compound file is walked here first, the way calamine walks it.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Iterator

from dvxl.findings import Code
from dvxl.gates import Limits, Refused, check_area

#: The finding codes this module can emit (besides :func:`dvxl.gates.check_area`'s).
EMITS = (Code.CORRUPT_FILE, Code.PASSWORD)

_ENDOFCHAIN, _DIFSECT, _RESERVED = 0xFFFFFFFE, 0xFFFFFFFC, 0xFFFFFFFA
_XLS_CELLS = {0x0006, 0x00BD, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E}  # what calamine reads
_BOUNDSHEET, _DIMENSIONS, _EOF, _FILEPASS, _MULRK = 0x85, 0x200, 0x0A, 0x2F, 0xBD


def _broken_xls(what: str) -> Refused:
    return Refused(Code.CORRUPT_FILE, value=f"cấu trúc tệp Excel 97-2003 hỏng ({what})")


class Ole:
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


def check_biff(stream: bytes, limits: Limits) -> None:
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
            raise Refused(Code.PASSWORD)
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
                    check_area(area, limits)
        total += rows * cols
        check_area(total, limits)
