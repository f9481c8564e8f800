"""Which reporting period a command works on: the one asked for, or the one the returns
claim — never a guess from today's date (issue 12).

Offices merge late: on 01/12 the June returns are still being merged while two later
periods are open. A period guessed from the calendar records every June file as
invalid under a period that no return claims, so when no period is given it comes from
the returns' own metadata (and from ``inbox/<kỳ>/`` folders), and a batch that claims
several periods is refused with the list of what it holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from dvxl.errors import UsageError
from dvxl.model import Catalog, Period


def find(catalog: Catalog, code: str) -> Period:
    """The period with this code (letter case and spaces aside), or a usage error."""
    for period in catalog.periods:
        if period.code.casefold() == code.strip().casefold():
            return period
    known = ", ".join(p.code for p in catalog.periods)
    raise UsageError(f"Không có kỳ báo cáo «{code}». Các kỳ đã khai báo: {known}.")


def known(catalog: Catalog, code: str) -> Period | None:
    """The period with exactly this code (as a template writes it), if the catalog has it."""
    for period in catalog.periods:
        if period.code == code:
            return period
    return None


def inbox_for(inbox: Path, period: Period) -> Path:
    """Where a period's returns are: ``inbox/<kỳ>/`` when the office keeps one folder per
    period, else the inbox itself."""
    folder = inbox / period.code
    return folder if folder.is_dir() else inbox


def folder_period(catalog: Catalog, relative_name: str) -> Period | None:
    """The period named by the first folder of a file's path inside the inbox, if any."""
    first, sep, _ = relative_name.partition("/")
    return known(catalog, first) if sep else None


def from_claims(catalog: Catalog, claims: Iterable[str], where: Path) -> Period:
    """The one period that the returns of a batch claim (one claim per file: the period in
    its metadata or its folder; ``""`` when it says none).

    No claim, or claims of several periods, is a usage error that says what was found and
    how to choose; nothing is checked, archived or recorded then.
    """
    counted = Counter(code for code in claims if known(catalog, code) is not None)
    if len(counted) == 1:
        return find(catalog, next(iter(counted)))
    if not counted:
        raise UsageError(
            f"Không tệp nào trong {where} cho biết kỳ báo cáo (trang thông tin của mẫu hoặc "
            "thư mục con mang mã kỳ), nên dvxl không đoán kỳ. Hãy chọn kỳ bằng -p, ví dụ "
            f"-p {catalog.periods[-1].code}."
        )
    found = ", ".join(
        f"{find(catalog, code).code} ({count} tệp)"
        for code, count in sorted(counted.items(), key=lambda item: _order(catalog, item[0]))
    )
    raise UsageError(
        f"Thư mục {where} có tệp của nhiều kỳ báo cáo: {found}. Hãy chọn kỳ bằng -p "
        "(ví dụ -p " + min(counted, key=lambda c: _order(catalog, c)) + "), hoặc xếp tệp mỗi kỳ "
        "vào một thư mục con mang mã kỳ (inbox/<mã kỳ>/) rồi chạy với -p."
    )


def recorded(catalog: Catalog, periods: Iterable[str], latest: str | None) -> Period:
    """The period to show from the ledger when none is asked for: the one received last."""
    if latest is not None and known(catalog, latest) is not None:
        return find(catalog, latest)
    have = [code for code in periods if known(catalog, code) is not None]
    if not have:
        raise UsageError(
            "Sổ ghi nhận chưa có tệp nào, nên chưa có kỳ để xem. Hãy chọn kỳ bằng -p, "
            f"ví dụ -p {catalog.periods[-1].code}."
        )
    return find(catalog, max(have, key=lambda c: _order(catalog, c)))


def _order(catalog: Catalog, code: str) -> int:
    return [p.code for p in catalog.periods].index(code)


def label(period: Period) -> str:
    """«Kỳ báo cáo: 2026-6T (6 tháng đầu năm 2026, hạn gửi 18/06/2026)», the first line a
    command prints."""
    deadline = period.deadline
    return (
        f"Kỳ báo cáo: {period.code} ({period.name}, hạn gửi "
        f"{deadline.day:02d}/{deadline.month:02d}/{deadline.year})"
    )
