"""When a returned file says it was last saved, and the receipt that cannot come before it.

A workbook records its own last-saved time: an .xlsx/.xlsm in ``docProps/core.xml``
(``dcterms:modified``, W3CDTF), an .ods in ``meta.xml`` (``dc:date``). The office cannot
have received a file before it was saved, so a receipt time earlier than that is wrong —
a file's date set back to look on time, a wrong clock at the unit or the office — and
«late» is decided from it: W107 says so (issue 14).

Which times are trusted, as measured:

- Microsoft Excel writes UTC with ``Z``: converted to this computer's local time, as
  every receipt time is (:func:`dvxl.receipt_time.local_naive`), and compared with a
  tolerance of :data:`CLOCK_SKEW` for clocks that disagree a little.
- LibreOffice 7.4 writes its *local* time with a false ``Z`` in an .xlsx
  (``2026-12-02T07:02:01Z`` saved at 00:02 UTC in Hà Nội) and its local time without a
  zone in an .ods (``2026-12-02T07:02:02.183119798``); other programs (WPS) were not
  measured. So a time is taken with its zone only when ``docProps/app.xml`` says Microsoft
  Excel saved the file (openpyxl says «Microsoft Excel Compatible» and writes UTC too);
  every other time is read as the office's local time (Vietnam, UTC+7, on the office's
  PC) and compared with a tolerance of :data:`ZONELESS_SKEW` (14 h, the largest offset
  of a time zone), so that a time written as UTC or local time, or on a PC set to another
  zone, gives no false warning.

An .xls keeps its last-saved time as a FILETIME (UTC by the format) in its summary
property set (the ``SummaryInformation`` stream); LibreOffice 7.4 writes it in true UTC
there (measured), so it is trusted as Excel's is.

A time that is missing, unparsable or only a year is no time: no warning, never an error.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from dataclasses import dataclass

from dvxl.findings import Code, Finding, make
from dvxl.ole import Ole
from dvxl.receipt_time import LABELS, local_naive
from dvxl.zipparts import Parts

#: The finding codes this module can emit.
EMITS = (Code.RECEIPT_BEFORE_SAVED,)

#: How far a receipt may come before a saved time whose zone is known: clocks of two PCs
#: that are each a little off.
CLOCK_SKEW = dt.timedelta(hours=2)
#: ... and before a time without a trusted zone: it may be in any zone (UTC−12 to UTC+14).
ZONELESS_SKEW = dt.timedelta(hours=14)


@dataclass(frozen=True)
class Saved:
    """A file's own last-saved time, in this computer's local time without a zone."""

    at: dt.datetime
    zoned: bool  # its zone was trusted (Excel's UTC); else read as local time
    part: str  # where it was read: «docProps/core.xml», «meta.xml»

    @property
    def tolerance(self) -> dt.timedelta:
        return CLOCK_SKEW if self.zoned else ZONELESS_SKEW


_W3CDTF = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse(text: str) -> dt.datetime | None:
    """A W3CDTF / xsd:dateTime text as a datetime (aware when it has a zone); None when it
    is no full date. A date alone is its day's start (the earliest it can mean)."""
    found = _W3CDTF.fullmatch(text.strip())
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                             int(second or 0), int((fraction or "0")[:6].ljust(6, "0")))
        if zone is None:
            return moment
        if zone.upper() == "Z":
            return moment.replace(tzinfo=dt.UTC)
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment.replace(tzinfo=dt.timezone(sign * offset))
    except (ValueError, OverflowError):  # month 13, an offset of 24 hours or more
        return None


_CORE, _APP, _META = "docProps/core.xml", "docProps/app.xml", "meta.xml"
#: How much of a document-properties part is looked at (they are about a kilobyte).
_PART_MAX = 64 * 1024


def _element(name: bytes) -> re.Pattern[bytes]:
    """The text of the first element of local name ``name``, whatever its prefix. A pattern,
    not an XML parser: 2 µs instead of 80 for the only element wanted from a part that
    the reader already inflated and checked (no DTD); a part that hides it (a comment, a
    character reference, UTF-16) only loses its warning."""
    return re.compile(rb"<(?:[\w.-]++:)?" + name + rb"(?:\s[^>]{0,1000}+)?>([^<]{0,200}+)<")


_MODIFIED, _APPLICATION, _DATE = (_element(n) for n in (b"modified", b"Application", b"date"))


def _text(pattern: re.Pattern[bytes], xml: bytes) -> str:
    found = pattern.search(xml, 0, _PART_MAX)
    return found.group(1).decode("utf-8", "replace").strip() if found else ""


def read_saved(parts: Parts, fmt: str) -> Saved | None:
    """The package's own last-saved time (``fmt``: "ods", else an .xlsx/.xlsm); None when
    it has none that can be read. Never raises."""
    try:
        if fmt == "ods":
            return _saved(_text(_DATE, parts.get(_META)), _META, trust_zone=False)
        text = _text(_MODIFIED, parts.get(_CORE))
        if not text:
            return None
        excel = _text(_APPLICATION, parts.get(_APP)).startswith("Microsoft")
        return _saved(text, _CORE, trust_zone=excel)
    except Exception:  # a broken part is the reader's business, not this one's
        return None


_SUMMARY = "\x05SummaryInformation"
_LAST_SAVED, _FILETIME = 13, 64  # PIDSI_LASTSAVE_DTM, VT_FILETIME
_FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)


def read_saved_ole(ole: Ole) -> Saved | None:
    """An .xls's last-saved time from its summary property set (MS-OLEPS); None when it has
    none that can be read. Never raises."""
    try:
        if _SUMMARY not in ole.names:
            return None
        data = ole.stream(_SUMMARY)[: 64 * 1024]
        section = struct.unpack_from("<I", data, 44)[0]  # after the header and first FMTID
        _, count = struct.unpack_from("<II", data, section)
        for i in range(min(count, 1000)):
            pid, offset = struct.unpack_from("<II", data, section + 8 + 8 * i)
            if pid != _LAST_SAVED:
                continue
            kind, ticks = struct.unpack_from("<IQ", data, section + offset)
            if kind != _FILETIME or not ticks:  # 0: never saved
                return None
            moment = _FILETIME_EPOCH + dt.timedelta(microseconds=ticks // 10)
            return Saved(local_naive(moment), True, "SummaryInformation")
    except Exception:  # a broken property set is no saved time
        return None
    return None


def _saved(text: str, part: str, trust_zone: bool) -> Saved | None:
    moment = parse(text)
    if moment is None:
        return None
    zoned = trust_zone and moment.tzinfo is not None
    try:
        at = local_naive(moment) if zoned else moment.replace(tzinfo=None, microsecond=0)
    except (OverflowError, ValueError, OSError):  # year 1 or 9999 moved across a zone
        return None
    return Saved(at, zoned, part)


def receipt_before_saved(
    saved: Saved | None, received: dt.datetime, received_from: str, file: str, unit: str = "",
) -> Finding | None:
    """W107 when ``received`` (local, as dvxl records it) is earlier than the saved time by
    more than its tolerance; None otherwise, or when either time is unknown."""
    if saved is None or received == dt.datetime.min:
        return None
    try:
        if received + saved.tolerance >= saved.at:
            return None
    except OverflowError:  # a receipt at the end of time is not before anything
        return None
    return make(Code.RECEIPT_BEFORE_SAVED, file, unit=unit, value=_shown(received),
                expected=_shown(saved.at),
                note=f"lấy từ: {LABELS.get(received_from, received_from).lower()}")


def _shown(moment: dt.datetime) -> str:
    return f"{moment:%H:%M:%S} ngày {moment:%d/%m/%Y}"
