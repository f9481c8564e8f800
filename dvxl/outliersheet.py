"""The sheet «Số liệu bất thường» of the period workbook, and the marks typed into it.

One row per flagged figure (:mod:`dvxl.outliers`): unit, task, indicator, value, what it
was compared with, the score, and two columns for the secretariat: «Xác minh» (a
dropdown: «cần xác minh», «đã xác minh») and a note. The workbook is rewritten at every
merge, so the marks are read back from it first (:func:`read_marks`, before it is
replaced), kept in the ledger (``outlier_marks``) and written again: they survive
re-merge, and a mark lapses when the unit sends another figure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from dvxl import printing
from dvxl.looks import Cell, Col, Looks, period_line, text_width
from dvxl.merge import Consolidated
from dvxl.outliers import (
    DEFAULT_THRESHOLD,
    MARKS,
    PEER_RATIO,
    RATIO,
    Mark,
    Outlier,
    figure,
    number_text,
    value_key,
)

SHEET = "Số liệu bất thường"
UNIT_TITLE, TASK_TITLE, CODE_TITLE = "Mã đơn vị", "Nhiệm vụ", "Mã chỉ tiêu"
VALUE_TITLE, MARK_TITLE, NOTE_TITLE = "Giá trị", "Xác minh", "Ghi chú của văn phòng"


@dataclass(frozen=True)
class Flagged:
    """What the sheet shows: the period's flagged figures and the secretariat's marks."""

    outliers: list[Outlier]
    marks: list[Mark] = field(default_factory=list)

    def mark_of(self, outlier: Outlier) -> Mark | None:
        """The mark given to this very figure, if any (one given to another figure lapsed)."""
        for m in self.marks:
            if (m.unit, m.task, m.indicator) == (outlier.unit, outlier.task, outlier.indicator):
                return m if m.value == value_key(outlier.value) else None
        return None


def write_sheet(looks: Looks, sheet: Any, c: Consolidated, flagged: Flagged) -> None:
    """The flagged figures, one a row, with the secretariat's marks and a dropdown."""
    names = {u.code: u.name for u in c.catalog.units}
    cols = [Col("STT", 5), Col(UNIT_TITLE, text_width((o.unit for o in flagged.outliers),
                                                      UNIT_TITLE, least=9)),
            Col("Tên đơn vị", 18, True), Col(TASK_TITLE, 9), Col(CODE_TITLE, 11, True),
            Col("Chỉ tiêu", 22, True), Col(VALUE_TITLE, 10), Col("So sánh với", 40, True),
            Col("Điểm", 7), Col(MARK_TITLE, 13, True), Col(NOTE_TITLE, 18, True)]
    looks.heading(sheet, [
        (f"SỐ LIỆU BẤT THƯỜNG — {c.period.name.upper()}", looks.title),
        (period_line(c), looks.note),
        ("Số liệu của báo cáo hợp lệ khác nhiều so với chính đơn vị ở các kỳ trước, với các "
         "đơn vị cùng nhóm trong kỳ, hoặc nằm ngoài khoảng thường gặp khai trong danh mục. "
         f"Điểm: điểm z cải tiến 0,6745·|x − trung vị| / MAD (ngưỡng mặc định "
         f"{number_text(DEFAULT_THRESHOLD)}); khi MAD bằng 0 là điểm z; khi có ít hơn 3 số "
         f"liệu để so sánh là số lần chênh, chỉ cảnh báo từ {number_text(RATIO)} lần; so với "
         f"nhóm còn phải chênh từ {number_text(PEER_RATIO)} lần so với trung vị (các đơn vị "
         "to nhỏ khác nhau).", looks.note),
        (f"Cột «{MARK_TITLE}»: chọn «{MARKS[0]}» hoặc «{MARKS[1]}», ghi chú nếu cần, rồi lưu "
         "sổ này (giữ tên và dạng .xlsx): lần tổng hợp sau giữ lại, trừ khi đơn vị gửi số "
         "liệu khác.", looks.note),
    ], cols)
    header = 5
    marked = looks.s.make(border=1, valign="top", text_wrap=True,
                          bg_color=printing.INPUT_FILL)
    score = looks.s.make(border=1, valign="top", num_format="0.0")
    rows: list[list[Cell]] = []
    for i, o in enumerate(flagged.outliers, 1):
        mark = flagged.mark_of(o)
        rows.append([
            (i, looks.center), (o.unit, looks.text), (names.get(o.unit, o.unit), looks.text),
            (o.task, looks.text), (o.indicator, looks.text), (o.label, looks.text),
            (o.value, looks.integer if o.value.is_integer() else looks.general),
            (o.describe(), looks.text),
            (o.score if o.score is not None else "", score),
            (mark.mark if mark else "", marked), (mark.note if mark else "", marked),
        ])
    if not rows:
        rows = [[("", looks.text), ("", looks.text),
                 ("Không có số liệu nào khác thường trong kỳ này.", looks.empty),
                 *[("", looks.text)] * (len(cols) - 3)]]
    looks.table(sheet, header, cols, rows, key_cols=2)
    if flagged.outliers:
        col = len(cols) - 2
        sheet.data_validation(header + 1, col, header + len(rows), col, {
            "validate": "list", "source": list(MARKS),
            "input_title": MARK_TITLE,
            "input_message": f"Chọn «{MARKS[0]}» hoặc «{MARKS[1]}».",
            "error_title": MARK_TITLE,
            "error_message": f"Chỉ chọn «{MARKS[0]}» hoặc «{MARKS[1]}», hoặc để trống.",
        })


def _norm(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value if value is not None else "")).strip()


def read_marks(path: Path, period: str) -> tuple[list[Mark], list[str]]:
    """The marks typed into the sheet of ``period`` in a workbook (every row: a blank mark
    clears one), and the rows that could not be used, in Vietnamese. No workbook, no sheet,
    or the sheet of another period: nothing (the ledger's marks stand)."""
    if not path.is_file():
        return [], []
    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        return [], [f"Không đọc được dấu xác minh trong {path.name} ({exc}); giữ dấu đã có "
                    "trong sổ ghi nhận."]
    try:
        if SHEET not in book.sheet_names:
            return [], []
        rows = book.get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    finally:
        book.close()
    return marks_from_rows(rows, path.name, period)


_PERIOD = re.compile(r"^Kỳ báo cáo (\S+):")


def marks_from_rows(rows: Sequence[Sequence[Any]], name: str,
                    period: str) -> tuple[list[Mark], list[str]]:
    """:func:`read_marks` on the sheet's rows (the sheet says its period under the title:
    :func:`dvxl.looks.period_line`)."""
    said = next((m.group(1) for row in rows[:5] for cell in row[:1]
                 if (m := _PERIOD.match(_norm(cell)))), None)
    if said != period:
        return [], []
    wanted = (UNIT_TITLE, TASK_TITLE, CODE_TITLE, VALUE_TITLE, MARK_TITLE, NOTE_TITLE)
    heads = [(h, [_norm(cell) for cell in row]) for h, row in enumerate(rows[:20])]
    found = next(((h, titles) for h, titles in heads
                  if all(title in titles for title in wanted)), None)
    if found is None:
        return [], [f"Trang «{SHEET}» của {name} không còn dòng tiêu đề; dấu xác minh trong "
                    "đó không được đọc."]
    h, titles = found
    at = {title: titles.index(title) for title in wanted}
    allowed = {m.casefold(): m for m in MARKS}
    marks: list[Mark] = []
    problems: list[str] = []
    for r in range(h + 1, len(rows)):
        row = rows[r]

        def cell(title: str, row: Sequence[Any] = row) -> Any:
            col = at[title]
            return row[col] if col < len(row) else ""

        unit, task, code = (_norm(cell(t)) for t in (UNIT_TITLE, TASK_TITLE, CODE_TITLE))
        value = figure(cell(VALUE_TITLE))
        if not unit or not code or value is None:
            continue
        typed = _norm(cell(MARK_TITLE))
        mark = allowed.get(typed.casefold(), "")
        if typed and not mark:
            problems.append(f"Trang «{SHEET}» của {name}, dòng {r + 1}: «{typed}» không phải "
                            f"«{MARKS[0]}» hay «{MARKS[1]}»; dòng này không được ghi nhận.")
            continue
        marks.append(Mark(unit, task, code, value_key(value), mark, _norm(cell(NOTE_TITLE))))
    return marks, problems


def combine(read: Iterable[tuple[list[Mark], list[str]]]) -> tuple[list[Mark], list[str]]:
    """Marks read from several copies of the sheet (the period workbook in ``outputs/``, the
    copy the Excel button put in the master): a mark or note typed in any copy counts (the
    later copy's when both have one); a figure is cleared only when no copy marks it."""
    chosen: dict[tuple[str, str, str], Mark] = {}
    problems: list[str] = []
    for marks, told in read:
        problems += told
        for m in marks:
            key = (m.unit, m.task, m.indicator)
            if m.mark or m.note or key not in chosen:
                chosen[key] = m
    return list(chosen.values()), problems
