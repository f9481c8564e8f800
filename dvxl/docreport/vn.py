"""Numbers, dates and text as a Vietnamese Party document writes them.

Thousands are separated by a dot and decimals by a comma (1.234; 12,5); a rate
is written 12,5%. Dates follow Hướng dẫn 36-HD/VPTW: a leading zero for days
under 10 and for months 1 and 2 («ngày 05 tháng 02 năm 2026», «05/02/2026»).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata


def nfc(text: object) -> str:
    """The text in composed form (NFC), as every string of the report is written."""
    return unicodedata.normalize("NFC", str(text))


def number(value: float | None, decimals: int = 2) -> str:
    """1234 → «1.234»; 12.5 → «12,5»; at most ``decimals`` decimals, trailing zeros dropped."""
    if value is None or not math.isfinite(value):
        return ""
    rounded = round(float(value), decimals)
    if rounded == int(rounded):
        return f"{int(rounded):,}".replace(",", ".")
    whole, _, frac = f"{abs(rounded):.{decimals}f}".partition(".")
    sign = "-" if rounded < 0 else ""
    return f"{sign}{int(whole):,}".replace(",", ".") + "," + frac.rstrip("0")


def percent(part: float, whole: float) -> str:
    """Part of whole as «75%» or «66,7%» (one decimal at most); «» when whole is 0."""
    if not whole:
        return ""
    return number(100.0 * part / whole, 1) + "%"


def _day_month(day: dt.date) -> tuple[str, str]:
    return f"{day.day:02d}", (f"{day.month:02d}" if day.month <= 2 else str(day.month))


def date_long(day: dt.date) -> str:
    """«ngày 05 tháng 7 năm 2026» (the place-and-date line of a Party document)."""
    d, m = _day_month(day)
    return f"ngày {d} tháng {m} năm {day.year}"


def date_short(day: dt.date) -> str:
    """«05/7/2026», «15/02/2026»: a date inside the text."""
    d, m = _day_month(day)
    return f"{d}/{m}/{day.year}"


def moment(when: dt.datetime) -> str:
    """«16 giờ 05 ngày 17/6/2026»."""
    return f"{when.hour:02d} giờ {when.minute:02d} ngày {date_short(when.date())}"


_SPACES = re.compile(r"\s+")


def one_line(text: object) -> str:
    """A unit's text on one line: NFC, runs of spaces and line breaks made one space."""
    return _SPACES.sub(" ", nfc(text)).strip()


def names(items: list[str]) -> str:
    """«A», «A và B», «A, B và C»."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " và " + items[-1]
