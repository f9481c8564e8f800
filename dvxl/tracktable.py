"""The tracking table for the terminal: where every unit stands, as aligned text lines.

What ``dvxl status`` prints, from the ledger: the rows of the period workbook's «Theo
dõi» sheet, one unit a line (its rating group by name, as the sheet shows it), then the
count of units per status (:func:`dvxl.merge.count_tracks`). The command prints the period
line (:func:`dvxl.periods.label`) above the table, which names the period.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from dvxl.looks import stamp
from dvxl.merge import Consolidated, count_tracks


def tracking_lines(c: Consolidated) -> list[str]:
    """The tracking table as aligned text lines for the terminal, counts per status last."""
    header = ("STT", "Mã", "Tên đơn vị", "Nhóm", "Tình trạng", "Muộn", "Số tệp",
              "Lần gửi cuối", "Nguồn", "Duyệt", "Ghi chú")
    right = {0, 5, 6}
    groups = {g.code: g.name for g in c.catalog.groups}
    rows = [
        (
            str(i), t.unit.code, _clip(t.unit.name, 40),
            _clip(groups.get(t.unit.rating_group, t.unit.rating_group), 32),
            t.status.label, str(t.days_late) if t.days_late else "", str(t.files),
            stamp(t.last_received) if t.last_received else "", _clip(t.received_label, 30),
            t.review_label, t.note,
        )
        for i, t in enumerate(c.tracking, 1)
    ]
    table = [tuple(_nfc(v) for v in row) for row in [header, *rows]]
    widths = [max(_width(row[col]) for row in table) for col in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = []
        for col, text in enumerate(row):
            pad = " " * (widths[col] - _width(text))
            cells.append(pad + text if col in right else text + pad)
        return "  ".join(cells).rstrip()

    lines = [line(table[0]), line(["-" * w for w in widths])]
    lines += [line(row) for row in table[1:]]
    counts = count_tracks(c.tracking)
    shown = " · ".join(f"{status.label}: {n}" for status, n in counts.items())
    lines.append(f"{shown} · Tổng số: {len(c.tracking)} đơn vị")
    return lines


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _width(text: str) -> int:
    """Terminal columns ``text`` takes: combining marks none, wide characters two."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
