"""File names as people see them: decoded, printable and bounded (issue 14).

A received file's name comes from anywhere: a zip unpacked from a Windows PC leaves
names that are not UTF-8 (``b'B\\xe1o c\\xe1o.xlsx'``, Vietnamese Windows' code page
1258; Python hands them over as lone surrogates, ``os.fsdecode``'s *surrogateescape*),
a web upload or an e-mail can bring a name of 300 characters or one holding control
characters and terminal escapes (``\\x1b[31m``). Such a name must not crash a writer
(UTF-8 cannot encode a lone surrogate; XML 1.0 cannot hold most control characters),
recolour the terminal, or make a marked copy's name too long for the disk.

:func:`shown` is the name every output prints (the validation workbook, its JSON, the
ledger, the terminal, the list sheet of a marked copy); :func:`file_stem` is what a file
dvxl writes may be called after it. The original path is kept only to read the file.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters shown, at most, for a name in the outputs (a path inside the inbox: folders,
#: a message and its attachment included).
SHOWN_MAX = 160
#: A stem for a file dvxl writes: characters and UTF-8 bytes (a name on Linux and on
#: Windows' NTFS is limited to 255 bytes / 255 UTF-16 units; «-HU03-2-can-sua.xlsx» and a
#: temporary file's suffix must still fit).
STEM_MAX_CHARS = 100
STEM_MAX_BYTES = 180

_ESCAPED = re.compile("[\udc80-\udcff]+")
# What Windows refuses in a file name, besides the control characters.
_NOT_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*]')


def decoded(text: str) -> str:
    """``text`` with the bytes that were not UTF-8 decoded as Vietnamese Windows' code page
    (cp1258, then NFC: it writes some tone marks as combining characters)."""
    if not _ESCAPED.search(text):
        return text
    fixed = _ESCAPED.sub(
        lambda m: m[0].encode("utf-8", "surrogateescape").decode("cp1258", "replace"), text)
    return unicodedata.normalize("NFC", fixed)


def printable(text: str) -> str:
    """``text`` with every character :meth:`str.isprintable` refuses made ``?``: safe to
    print on a terminal and to write into XML."""
    text = decoded(text)
    if text.isprintable():
        return text
    # Control and formatting characters (C0, C1, bidirectional overrides, zero-width
    # marks), unassigned and private code points, line separators: what str.isprintable
    # refuses.
    return "".join(c if c.isprintable() else "?" for c in text)


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters by an ellipsis in the middle, keeping its end
    (a file's extension, an attachment's name)."""
    if len(text) <= limit:
        return text
    tail = min(24, limit // 3)
    return text[: limit - tail - 1] + "…" + text[len(text) - tail :]


def shown(name: str, limit: int = SHOWN_MAX) -> str:
    """A received file's name as every output shows it: decoded, printable, bounded."""
    return bounded(printable(name), limit)


def file_stem(stem: str) -> str:
    """A received file's stem made fit to name a file dvxl writes after it, on Linux and
    Windows: printable, no character Windows refuses, no trailing dot or space, bounded
    in characters and in UTF-8 bytes; never empty."""
    text = _NOT_IN_FILE_NAMES.sub("_", printable(stem)).rstrip(". ").lstrip()
    text = bounded(text, STEM_MAX_CHARS)
    while len(text.encode("utf-8")) > STEM_MAX_BYTES:
        text = bounded(text, len(text) - 8)
    return text or "tep"
