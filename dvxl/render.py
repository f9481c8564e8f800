"""The consolidated period workbook: what the secretariat reads and prints.

:func:`write_consolidated` shows one :class:`~dvxl.merge.Consolidated` and decides
nothing. Its sheets, in the order the secretariat reads them:

* ``Tổng hợp`` — reporting figures and classification counts by rating group;
* ``Theo dõi`` — where every addressed unit stands (DHIS2's expected / on time / late);
* ``Đôn đốc`` — the units to chase, each with a ready-to-send sentence
  (:mod:`dvxl.reminders`);
* ``Đánh giá`` — scores, levels and ranks, counts per level, two charts;
* ``Thay đổi`` — what resubmissions changed;
* ``Số liệu bất thường`` — figures that look wrong, for the secretariat to verify
  (:mod:`dvxl.outliersheet`);
* ``NV 1.1`` … — one sheet per task, a row per unit it is addressed to
  (:mod:`dvxl.taskbooks`);
* one sheet per unit, named by its code.

That is for up to :data:`UNIT_SHEETS_MAX` addressed units. A larger roster (a province
with its communes, a national round) gets instead, in the period workbook, one sheet
``Theo đơn vị``: a row per unit with the score of each task, the total and the level,
filtered, so that one unit is still shown or printed by filtering its code (a workbook of
thousands of sheets can be neither navigated nor printed, and takes minutes to write);
the evaluation refers to its totals, and leaves out its bar chart of every unit's total.
Each task's sheet goes to a workbook of its own beside the period workbook, written by
worker processes meanwhile (:mod:`dvxl.taskbooks`). Both are written row by row
(XlsxWriter's ``constant_memory``), so memory stays flat however many units there are.

Every total, rate and count is a formula stored with the value Python computed
for it (a file never opened by Excel has no results otherwise); the tests
recalculate the workbook in LibreOffice and compare. Every text that came from
a unit or the catalog is written with ``write_string``, so "=..." stays text
(:mod:`dvxl.looks`: the formats and tables of every period output).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlsxwriter.utility import xl_range, xl_rowcol_to_cell

from dvxl import outliersheet, printing, processes, reminders, taskbooks
from dvxl.form import IDENTITY
from dvxl.looks import (
    TOTAL_LABEL,
    VALUE_WIDTHS,
    YES,
    Cell,
    Col,
    Looks,
    abs_range,
    countifs,
    criterion,
    fit_height,
    period_line,
    put,
    quote,
    stamp,
    sum_formula,
    text_width,
    unique_sheet_name,
    workbook_properties,
)
from dvxl.merge import Consolidated, Track, count_tracks
from dvxl.model import NUMERIC_TYPES, Indicator, Task, Unit
from dvxl.rawrows import Formula
from dvxl.receipt_time import TYPED
from dvxl.score import TaskScore, UnitScore
from dvxl.statuses import TrackStatus
from dvxl.taskbooks import TASK_SHEET_PREFIX

if TYPE_CHECKING:
    from dvxl.history import History

SUMMARY_SHEET = "Tổng hợp"
TRACKING_SHEET = "Theo dõi"
REMINDER_SHEET = "Đôn đốc"
EVALUATION_SHEET = "Đánh giá"
CHANGES_SHEET = "Thay đổi"
FIXED_SHEETS = (SUMMARY_SHEET, TRACKING_SHEET, REMINDER_SHEET, EVALUATION_SHEET, CHANGES_SHEET)
#: Chart sheets after them: the total of every unit (not for a large roster), the levels.
CHART_SHEETS = ("Biểu đồ tổng điểm", "Biểu đồ xếp loại")
UNITS_SHEET = "Theo đơn vị"
COMPARE_SHEET = "So sánh các kỳ"  # when the ledger has earlier periods (dvxl.comparesheet)
OUTLIER_SHEET = outliersheet.SHEET  # figures that look wrong, for a second look
#: Up to this many addressed units each gets a sheet of its own; above, one long sheet.
UNIT_SHEETS_MAX = 100
#: The identity cells of a return that say whom the office can ring (dvxl.form.IDENTITY).
PREPARER, PHONE = "NGUOI_LAP", "DIEN_THOAI"
CONTACT_TITLE = "Người lập, điện thoại, thư điện tử"
REASON_TITLE = "Lý do xếp loại thấp hơn mức theo điểm"
CHART_WIDTH, CHART_HEIGHT = 720, 480  # pixels, the charts beside the evaluation's tables
DEFAULT_ROW_PX = 21  # printing.WORKBOOK_OPTIONS["default_row_height"]
COUNT_WIDTH = 11  # columns of the counts per level past the evaluation table

# Column widths (characters) of an indicator's value on a unit's sheet, by indicator type.
_UNIT_WIDTHS = {**VALUE_WIDTHS, "integer": 9, "doclist": 22, "longtext": 28}


@dataclass(frozen=True)
class _Counts:
    """Where the evaluation's counts table is: the pie chart reads its header and totals."""

    header: int
    first_col: int
    last_col: int
    total: int  # the row "Tất cả đơn vị"
    total_col: int


def write_consolidated(c: Consolidated, path: Path, history: History | None = None,
                       flagged: outliersheet.Flagged | None = None) -> None:
    """Write the period workbook for ``c`` to ``path`` (atomically: temp file, then rename).

    ``history``: the periods side by side (:mod:`dvxl.history`), ``c``'s period last; with
    two periods or more the workbook gets «So sánh các kỳ» and the unit sheets «Qua các kỳ».
    ``flagged``: the figures that look wrong and their marks (:mod:`dvxl.outliersheet`),
    in «Số liệu bất thường».

    For a large roster (more than :data:`UNIT_SHEETS_MAX` units) each task's sheet is a
    workbook of its own in :func:`dvxl.taskbooks.tasks_folder`, written by worker
    processes while this one writes ``path``.
    """
    folder = taskbooks.tasks_folder(path)
    if len(c.catalog.addressed_units()) <= UNIT_SHEETS_MAX:
        printing.write_workbook(path, lambda wb: _Writer(wb, c, history, flagged).build())
        taskbooks.remove_stale(folder, set())
        return
    books = taskbooks.start(c, folder)
    # A merge runs with the cyclic collector paused (processes.collector_paused), so each
    # finished workbook's reference cycles would stay until it ends: they are freed here by
    # collections over the heap frozen first, which look only at what the workbooks made
    # (40 MB at 10,000 returns, where this process writes the task workbooks too; issue 18).
    with processes.frozen_heap():
        printing.write_workbook(path, lambda wb: _Writer(wb, c, history, flagged).build(
            with_tasks=False))
        gc.collect()
        books.finish(collect=True)


def indicator_label(c: Consolidated, key: str) -> str:
    """ "1.1 — Số hội nghị …" for the value key "1.1.HN_SO" (identity keys by their label)."""
    identity = {code: label for code, label, *_ in IDENTITY}
    if key in identity:
        return identity[key]
    task_code, _, code = key.rpartition(".")
    for task in c.catalog.tasks:
        if task.code == task_code:
            for ind in c.catalog.indicators_for(task):
                if ind.code == code:
                    return f"{task.code} — {ind.label}"
    return key


# The workbook ------------------------------------------------------------------------------------


class _Writer(Looks):
    def __init__(self, workbook: Any, c: Consolidated, history: History | None = None,
                 flagged: outliersheet.Flagged | None = None) -> None:
        super().__init__(workbook)
        self.c = c
        self.flagged = flagged
        self.history = history if history is not None and len(history.periods) > 1 else None
        self.catalog = c.catalog
        self.not_rated = c.catalog.settings.not_rated
        self.tracks = {t.unit.code: t for t in c.tracking}
        self.scores = {u.unit: u for u in c.evaluation.units}
        self.group_names = {g.code: g.name for g in self.catalog.groups}
        self.units = list(self.catalog.addressed_units())  # roster order
        # Looked up once: with 10,000 units, per row they cost more than the writing.
        self.unit_tasks = {u.code: self.catalog.tasks_for(u) for u in self.units}
        self.own = {t.code: [i for i in self.catalog.indicators if i.task == t.code]
                    for t in self.catalog.tasks}
        self.common = self._common_columns()
        self.large = len(self.units) > UNIT_SHEETS_MAX
        self.total_cells: dict[str, tuple[str, str, float]] = {}  # unit -> (sheet, cell, value)

    def build(self, with_tasks: bool = True) -> None:
        c = self.c
        if self.large:
            # Rows go to disk as they are written instead of being held until the end: with
            # 10,000 units the workbook has two million cells (issue #6). Every sheet here is
            # written top to bottom, as this mode requires; text is stored inline. Its parts
            # are put together on disk too, not in memory (printing.WORKBOOK_OPTIONS): the
            # XML of «Theo đơn vị» alone is hundreds of megabytes at 10,000 units.
            self.wb.constant_memory = True
            self.wb.in_memory = False
        self.wb.set_properties(workbook_properties(c, ""))
        taken: set[str] = set()
        add = self.wb.add_worksheet
        fixed = {name: add(unique_sheet_name(name, taken)) for name in FIXED_SHEETS}
        # The evaluation's charts, each on a chart sheet: one printed page, never split.
        self.chart_sheets = [self.wb.add_chartsheet(unique_sheet_name(name, taken))
                             for name in CHART_SHEETS[1 if self.large else 0:]]
        odd = add(unique_sheet_name(OUTLIER_SHEET, taken)) if self.flagged is not None else None
        compare = add(unique_sheet_name(COMPARE_SHEET, taken)) if self.history else None
        tasks = [t for t in self.catalog.tasks if self._units_for(t)] if with_tasks else []
        task_sheets = [(t, add(unique_sheet_name(TASK_SHEET_PREFIX + t.code, taken)))
                       for t in tasks]
        if not self.large:
            unit_sheets = [(u, self.wb.add_worksheet(unique_sheet_name(u.code, taken)))
                           for u in self.units]
        else:
            unit_sheets = []
            units_sheet = self.wb.add_worksheet(unique_sheet_name(UNITS_SHEET, taken))
        self._summary(fixed[SUMMARY_SHEET])
        self._tracking(fixed[TRACKING_SHEET])
        self._reminders(fixed[REMINDER_SHEET])
        # Before the evaluation, which refers to the units' totals.
        for unit, sheet in unit_sheets:
            self._unit_sheet(sheet, unit)
        if not unit_sheets:
            self._units_sheet(units_sheet)
        self._evaluation(fixed[EVALUATION_SHEET])
        self._changes(fixed[CHANGES_SHEET])
        if odd is not None and self.flagged is not None:
            outliersheet.write_sheet(self, odd, c, self.flagged)
        if compare is not None and self.history is not None:
            from dvxl import comparesheet  # the report's figures: only when there is history

            comparesheet.write_sheet(self, compare, self.history, self.not_rated)
        for task, sheet in task_sheets:
            self._task_sheet(sheet, task)
        fixed[SUMMARY_SHEET].activate()

    def _units_for(self, task: Task) -> list[Unit]:
        return [u for u in self.units
                if any(t.code == task.code for t in self.unit_tasks[u.code])]

    # Shared pieces ------------------------------------------------------------------------------

    def _period_line(self) -> str:
        return period_line(self.c)

    def _code_col(self, title: str) -> Col:
        """A column of unit codes, wide enough that no code wraps."""
        return Col(title, text_width((u.code for u in self.units), title))

    def _preparer(self, unit: Unit) -> tuple[str, str]:
        """Who prepared the unit's accepted return and their phone, as the return says."""
        sub = self.c.submissions.get(unit.code)
        values = sub.values if sub else {}
        return _plain(values.get(PREPARER)), _phone(values.get(PHONE))

    def _contact(self, unit: Unit) -> str:
        """The preparer, their phone and the unit's e-mail address, one a line."""
        return "\n".join(part for part in (*self._preparer(unit), unit.email) if part)

    # Tổng hợp -----------------------------------------------------------------------------------

    def _summary(self, sheet: Any) -> None:
        c, s = self.c, self.s
        cols = [Col("STT", 6), Col("Nhóm", 40, True)] + [
            Col(title, 11) for title in (
                "Số đơn vị phải báo cáo", "Đã nộp", "Hợp lệ", *(s.label for s in TrackStatus),
                "Tỷ lệ nộp", "Tỷ lệ đúng hạn")]
        self.heading(sheet, [
            (f"TỔNG HỢP BÁO CÁO {c.period.name.upper()}", self.title),
            (f"Thực hiện {printing.directive_title(self.catalog.directive)}.", self.note),
            (self._period_line(), self.note),
        ], cols)
        sheet.write_string(4, 0, "1. Tình hình gửi báo cáo theo nhóm đơn vị", s.bold)
        header = 5
        first = header + 1
        last = header + len(c.groups)
        rows: list[list[Cell]] = []
        for i, g in enumerate(c.groups):
            r = first + i
            figures = [g.expected, g.received, g.valid, g.on_time, g.late, g.invalid, g.missing]
            rows.append([(i + 1, self.center), (g.name, self.text),
                         *[(n, self.integer) for n in figures],
                         *self._rates(r, g.expected, g.received, g.on_time, self.pct)])
        footer: list[Cell] | None = None
        if rows:
            total = last + 1
            sums = [sum_formula(first, last, col, [row[col][0] for row in rows])
                    for col in range(2, 9)]
            footer = [("", self.total_text), (TOTAL_LABEL, self.total_text),
                      *[(f, self.total_integer) for f in sums],
                      *self._rates(total, sums[0].value, sums[1].value, sums[3].value,
                                   self.total_pct)]
        else:
            rows.append([("", self.text), ("Chưa có đơn vị nào được giao nhiệm vụ.", self.empty),
                         *[("", self.text)] * 9])
        r = self.table(sheet, header, cols, rows, footer=footer, only=False)
        self._level_counts(sheet, r + 1)

    def _rates(self, r: int, expected: float, received: float, on_time: float,
               fmt: Any) -> list[Cell]:
        exp, rec, ont = (xl_rowcol_to_cell(r, col) for col in (2, 3, 5))
        return [
            (Formula(f"=IF({exp}=0,0,{rec}/{exp})", 0 if expected == 0 else received / expected),
             fmt),
            (Formula(f"=IF({exp}=0,0,{ont}/{exp})", 0 if expected == 0 else on_time / expected),
             fmt),
        ]

    def _levels(self) -> list[str]:
        """Level names in the catalog's order, then «not rated», then any other seen."""
        names = [lv.name for lv in self.catalog.levels] + [self.not_rated]
        for counts in self.c.evaluation.counts.values():
            names += [n for n in counts if n not in names]
        for u in self.c.evaluation.units:
            if _level(u, self.not_rated) not in names:
                names.append(_level(u, self.not_rated))
        return names

    def _level_counts(self, sheet: Any, start: int) -> None:
        """Classification counts per rating group (Evaluation.counts) with totals."""
        s = self.s
        sheet.write_string(start, 0, "2. Kết quả xếp loại theo nhóm đơn vị", s.bold)
        header = start + 1
        levels = self._levels()
        titles = ["STT", "Nhóm", *levels, "Tổng số"]
        for col, title in enumerate(titles):
            sheet.write_string(header, col, title, s.header)
        widths = [6, 40] + [11] * (len(titles) - 2)
        sheet.set_row(header, fit_height(zip(titles, widths, strict=True)))
        for col in range(11, len(widths)):  # beyond the first table's columns
            sheet.set_column(col, col, widths[col])
        order = [g.code for g in self.catalog.groups if g.code in self.c.evaluation.counts]
        first = header + 1
        end = len(levels) + 1  # the last level's column
        cached: dict[int, list[int]] = {col: [] for col in range(2, end + 2)}
        for i, code in enumerate(order):
            r = first + i
            counts = [self.c.evaluation.counts[code].get(name, 0) for name in levels]
            put(sheet, r, 0, i + 1, self.center)
            put(sheet, r, 1, self.group_names.get(code, code), self.text)
            for col, n in enumerate(counts, 2):
                put(sheet, r, col, n, self.integer)
                cached[col].append(n)
            cached[end + 1].append(sum(counts))
            row_sum = Formula(f"=SUM({xl_rowcol_to_cell(r, 2)}:{xl_rowcol_to_cell(r, end)})",
                              sum(counts))
            put(sheet, r, end + 1, row_sum, self.total_integer)
            sheet.set_row(r, fit_height([(self.group_names.get(code, code), 40)]))
        if not order:
            sheet.write_string(first, 1, "Chưa có kết quả xếp loại.", self.empty)
            return
        last = first + len(order) - 1
        total = last + 1
        put(sheet, total, 0, "", self.total_text)
        put(sheet, total, 1, TOTAL_LABEL, self.total_text)
        for col, values in cached.items():
            put(sheet, total, col, sum_formula(first, last, col, values), self.total_integer)

    # Theo dõi -----------------------------------------------------------------------------------

    def _tracking(self, sheet: Any) -> None:
        c, s = self.c, self.s
        contacts = [self._contact(t.unit) for t in c.tracking]
        # Printed fitted to one page wide: each column as narrow as its text allows; the
        # contact's lines (name, phone, e-mail) each on one line.
        cols = [Col("STT", 5), self._code_col("Mã"), Col("Tên đơn vị", 20, True),
                Col("Nhóm", 14, True), Col("Tình trạng", 12, True), Col("Số ngày muộn", 7),
                Col("Số tệp đã gửi", 7), Col("Lần gửi cuối", 15),
                Col("Nguồn thời điểm nhận", 12, True), Col("Tệp", 16, True),
                Col("Duyệt", 14, True), Col("Còn thiếu", 18, True),
                Col(CONTACT_TITLE, text_width((line for text in contacts
                                               for line in text.split("\n")),
                                              least=18, most=40), True)]
        self.heading(sheet, [
            (f"THEO DÕI TÌNH HÌNH GỬI BÁO CÁO {c.period.name.upper()}", self.title),
            (self._period_line(), self.note),
            ("Màu: xanh — đúng hạn; vàng — nộp muộn; đỏ — không hợp lệ hoặc chưa nộp.", self.note),
        ], cols)
        counts = count_tracks(c.tracking)
        top = 4
        header = top + len(TrackStatus) + 3
        first, last = header + 1, header + max(len(c.tracking), 1)
        status_range = abs_range(first, last, 4)
        sheet.write_string(top, 2, "Tình trạng", s.header)
        sheet.write_string(top, 3, "Số đơn vị", s.header)
        for i, (status, n) in enumerate(counts.items(), 1):
            put(sheet, top + i, 2, status.label, self.status[status])
            matching = criterion(status.label)
            put(sheet, top + i, 3, Formula(f"=COUNTIF({status_range},{matching})", n),
                self.integer)
        total = top + len(TrackStatus) + 1
        put(sheet, total, 2, "Tổng số đơn vị", self.total_text)
        put(sheet, total, 3, sum_formula(top + 1, total - 1, 3, list(counts.values())),
            self.total_integer)
        rows: list[list[Cell]] = []
        for i, (t, contact) in enumerate(zip(c.tracking, contacts, strict=True), 1):
            rows.append([
                (i, self.center), (t.unit.code, self.text), (t.unit.name, self.text),
                (self.group_names.get(t.unit.rating_group, t.unit.rating_group), self.text),
                self.status_cell(t.status),
                (t.days_late or "", self.integer), (t.files, self.integer),
                (t.last_received, self.stamp),
                (t.received_label, self.corrected if t.received_from == TYPED else self.text),
                (t.last_name, self.text), (_review_text(t), self.text), (t.note, self.text),
                (contact, self.text),
            ])
        self.table(sheet, header, cols, rows, key_cols=3)

    # Đôn đốc ------------------------------------------------------------------------------------

    def _reminders(self, sheet: Any) -> None:
        c = self.c
        due = [t for t in c.tracking if t.needs_reminder]
        cols = [Col("STT", 5), Col("Đơn vị", 28, True),
                Col("Thư điện tử", text_width((t.unit.email for t in due), least=14), True),
                Col("Tình trạng", 12, True), Col("Nội dung nhắc", 64, True)]
        self.heading(sheet, [
            (f"DANH SÁCH ĐƠN VỊ CẦN ĐÔN ĐỐC — {c.period.name.upper()}", self.title),
            (self._period_line(), self.note),
        ], cols)
        rows: list[list[Cell]] = [
            [(i, self.center), (t.unit.name, self.text), (t.unit.email, self.text),
             self.status_cell(t.status), (reminders.reminder_text(c, t), self.text)]
            for i, t in enumerate(due, 1)
        ]
        if not rows:
            rows = [[("", self.text), ("Tất cả đơn vị đã gửi báo cáo hợp lệ; không cần đôn đốc.",
                                       self.empty), *[("", self.text)] * 3]]
        self.table(sheet, 3, cols, rows, key_cols=0)

    # Đánh giá -----------------------------------------------------------------------------------

    def _evaluation(self, sheet: Any) -> None:
        c = self.c
        cols = [Col("STT", 5), self._code_col("Mã"), Col("Tên đơn vị", 22, True),
                Col("Nhóm", 18, True), Col("Điểm tự chấm", 9), Col("Điểm thẩm định", 10),
                Col("Tổng điểm", 9), Col("Xếp loại", 18, True), Col("Xếp hạng trong nhóm", 9),
                Col("Số ngày muộn", 8), Col(REASON_TITLE, 34, True)]
        self.heading(sheet, [
            (f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI {c.period.name.upper()}", self.title),
            (self._period_line(), self.note),
            ("Tổng điểm lấy điểm thẩm định ở nhiệm vụ đã thẩm định, điểm tự chấm ở nhiệm vụ "
             "chưa thẩm định (chi tiết ở trang tính của từng đơn vị). Cột cuối nêu lý do khi "
             "xếp loại thấp hơn mức mà tổng điểm đạt (điều kiện của mức, giới hạn tỷ lệ).",
             self.note),
        ], cols)
        header = 4
        order = {g.code: i for i, g in enumerate(self.catalog.groups)}
        units = sorted(self.units, key=lambda u: order.get(u.rating_group, len(order)))
        rows: list[list[Cell]] = []
        table: list[tuple[str, str]] = []  # (group name, level) per row, as the sheet shows them
        for i, unit in enumerate(units, 1):
            score = self.scores.get(unit.code)
            group = self.group_names.get(unit.rating_group, unit.rating_group)
            level = _level(score, self.not_rated)
            table.append((group, level))
            rows.append([
                (i, self.center), (unit.code, self.text), (unit.name, self.text),
                (group, self.text), (_score_sum(score, "self"), self.general),
                (_score_sum(score, "assessed"), self.general),
                self._total_cell(unit, score), (level, self.text),
                (score.rank if score and score.rank is not None else "", self.center),
                (score.days_late if score and score.days_late else "", self.integer),
                ("\n".join(score.reasons) if score else "", self.text),
            ])
        # Without its header row repeated on every page: LibreOffice 7.4, fitting this sheet
        # to the page width with a repeated row, left out the end of the counts table below
        # (every row after the second group) — measured on the sample, issue 15.
        end = self.table(sheet, header, cols, rows, key_cols=3, repeat_header=False)
        first, last = header + 1, header + max(len(rows), 1)
        counts = self._evaluation_counts(sheet, end + 1, first, last, table,
                                         [col.width for col in cols])
        self._charts(sheet, counts, first, last, len(rows),
                     max(len(cols) - 1, counts.total_col))

    def _total_cell(self, unit: Unit, score: UnitScore | None) -> Cell:
        """The unit's total: a reference to its sheet's total cell when the two agree."""
        if score is None or score.total is None:
            return "", self.general
        sheet_name, cell, value = self.total_cells[unit.code]
        if math.isclose(value, score.total, rel_tol=0, abs_tol=1e-9):
            return Formula(f"={quote(sheet_name)}!{cell}", value), self.general
        # The evaluation decided a total that is not the sum of the decided task scores: show
        # the total that decided the level rather than a formula that would disagree with it.
        return score.total, self.general

    def _evaluation_counts(self, sheet: Any, start: int, first: int, last: int,
                           table: list[tuple[str, str]], widths: list[float]) -> _Counts:
        """Units per level and rating group: COUNTIFS over the table above, with totals."""
        s = self.s
        sheet.write_string(start, 0, "Số đơn vị theo mức xếp loại và nhóm", s.bold)
        header = start + 1
        levels = self._levels()
        groups = list(dict.fromkeys(group for group, _ in table))
        level_cols = list(range(4, 4 + len(levels)))
        total_col = level_cols[-1] + 1
        for col in range(len(widths), total_col + 1):
            sheet.set_column(col, col, COUNT_WIDTH)
        widths = widths + [COUNT_WIDTH] * (total_col + 1 - len(widths))
        sheet.write_string(header, 0, "STT", s.header)
        sheet.merge_range(header, 1, header, 3, "", s.header)
        sheet.write_string(header, 1, "Nhóm", s.header)
        for col, name in zip(level_cols, levels, strict=True):
            sheet.write_string(header, col, name, s.header)
        sheet.write_string(header, total_col, "Tổng số", s.header)
        sheet.set_row(header, fit_height((name, widths[col])
                                         for col, name in zip(level_cols, levels, strict=True)))
        group_range, level_range = abs_range(first, last, 3), abs_range(first, last, 7)
        group_width = sum(widths[1:4])
        cached: dict[int, list[int]] = {col: [] for col in [*level_cols, total_col]}
        for i, group in enumerate(groups, 1):
            r = header + i
            put(sheet, r, 0, i, self.center)
            sheet.merge_range(r, 1, r, 3, "", self.text)
            put(sheet, r, 1, group, self.text)
            sheet.set_row(r, fit_height([(group, group_width)]))
            for col, level in zip(level_cols, levels, strict=True):
                n = sum(1 for g, lv in table if _same(g, group) and _same(lv, level))
                text = countifs([(group_range, group), (level_range, level)], header, r, col)
                put(sheet, r, col, Formula(text, n), self.integer)
                cached[col].append(n)
            n = sum(1 for g, _ in table if _same(g, group))
            cached[total_col].append(n)
            row_range = xl_range(r, level_cols[0], r, level_cols[-1])
            put(sheet, r, total_col, Formula(f"=SUM({row_range})", n), self.total_integer)
        total = header + len(groups) + 1
        put(sheet, total, 0, "", self.total_text)
        sheet.merge_range(total, 1, total, 3, "", self.total_text)
        put(sheet, total, 1, "Tất cả đơn vị", self.total_text)
        for col in [*level_cols, total_col]:
            formula = (sum_formula(header + 1, header + len(groups), col, cached[col])
                       if groups else Formula("=0", 0))
            put(sheet, total, col, formula, self.total_integer)
        return _Counts(header, level_cols[0], level_cols[-1], total, total_col)

    def _charts(self, sheet: Any, counts: _Counts, first: int, last: int, n: int,
                last_col: int) -> None:
        """A bar chart of total score by unit and a pie of the shares of the levels.

        For print, each on a chart sheet of its own, which prints as one landscape page:
        charts on the evaluation sheet got split across pages and printed under its
        repeated header row, and LibreOffice ignores page breaks on a sheet fitted to the
        page width (issue 15). For the screen, and for the master's button, which copies
        worksheets only, the same charts also sit right of the tables, outside the print
        area. A large roster gets the pie only: a bar per unit would be metres long.
        """
        name = sheet.get_name()
        makers: list[Callable[[], Any]] = [functools.partial(self._pie, name, counts)]
        if not self.large:
            makers.insert(0, functools.partial(self._bar, name, first, last, n))
        top = 0
        for make, chart_sheet in zip(makers, self.chart_sheets, strict=True):
            _chart_page(chart_sheet, make())
            beside = make()
            beside.set_size({"width": CHART_WIDTH, "height": CHART_HEIGHT})
            sheet.insert_chart(top, last_col + 2, beside)
            top += math.ceil(CHART_HEIGHT / DEFAULT_ROW_PX) + 2
        sheet.print_area(0, 0, counts.total, last_col)

    def _bar(self, name: str, first: int, last: int, n: int) -> Any:
        """Total score by unit: one bar per unit of the evaluation table."""
        font = {"name": printing.FONT}
        bar = self.wb.add_chart({"type": "bar"})
        bar.add_series({
            "name": "Tổng điểm",
            "categories": [name, first, 2, last, 2],
            "values": [name, first, 6, last, 6],
            "fill": {"color": "#4472C4"},
            "data_labels": {"value": True, "font": font},
        })
        bar.set_title({"name": "Tổng điểm của các đơn vị", "name_font": {**font, "size": 13}})
        # In a bar chart the x axis is the horizontal value axis, y the units.
        bar.set_x_axis({"min": 0, "max": 100, "num_font": font,
                        "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        bar.set_y_axis({"reverse": True, "num_font": {**font, "size": 9 if n <= 40 else 7}})
        bar.set_legend({"none": True})
        return bar

    def _pie(self, name: str, counts: _Counts) -> Any:
        """The shares of the levels (all units), from the counts table."""
        font = {"name": printing.FONT}
        pie = self.wb.add_chart({"type": "pie"})
        pie.add_series({
            "name": "Tỷ lệ xếp loại",
            "categories": [name, counts.header, counts.first_col, counts.header, counts.last_col],
            "values": [name, counts.total, counts.first_col, counts.total, counts.last_col],
            "data_labels": {"percentage": True, "font": font},
        })
        pie.set_title({"name": "Tỷ lệ các mức xếp loại (tất cả đơn vị)",
                       "name_font": {**font, "size": 13}})
        pie.set_legend({"position": "right", "font": font})
        return pie

    # Thay đổi -----------------------------------------------------------------------------------

    def _changes(self, sheet: Any) -> None:
        c = self.c
        cols = [Col("STT", 5), self._code_col("Mã"), Col("Đơn vị", 24, True),
                Col("Chỉ tiêu", 36, True), Col("Giá trị cũ", 20, True),
                Col("Giá trị mới", 20, True), Col("Tệp cũ", 22, True), Col("Tệp mới", 22, True)]
        self.heading(sheet, [
            (f"SỐ LIỆU THAY ĐỔI KHI ĐƠN VỊ GỬI LẠI BÁO CÁO — {c.period.name.upper()}", self.title),
            ("So sánh báo cáo hợp lệ đang dùng với báo cáo hợp lệ gửi trước đó của cùng đơn vị.",
             self.note),
        ], cols)
        names = {u.code: u.name for u in self.catalog.units}
        indicators = {f"{t.code}.{i.code}": i for t in self.catalog.tasks
                      for i in self.catalog.indicators_for(t)}
        rows: list[list[Cell]] = []
        for i, ch in enumerate(c.changes, 1):
            ind = indicators.get(ch.key)
            rows.append([
                (i, self.center), (ch.unit, self.text), (names.get(ch.unit, ch.unit), self.text),
                (indicator_label(c, ch.key), self.text),
                self._changed(ind, ch.old), self._changed(ind, ch.new),
                (ch.old_file, self.text), (ch.new_file, self.text),
            ])
        if not rows:
            rows = [[("", self.text), ("", self.text),
                     ("Không có số liệu nào thay đổi do gửi lại báo cáo trong kỳ này.",
                      self.empty), *[("", self.text)] * 5]]
        self.table(sheet, 3, cols, rows, key_cols=0)

    def _changed(self, ind: Indicator | None, value: Any) -> Cell:
        if value is None or value == "":
            return "(để trống)", self.empty
        return self.value_cell(ind, value)

    # One sheet per task -------------------------------------------------------------------------

    def _task_sheet(self, sheet: Any, task: Task) -> None:
        data = taskbooks.task_input(self.c, task, self._units_for(task), self.tracks)
        taskbooks.write_sheet(self, sheet, data)

    # One sheet per unit -------------------------------------------------------------------------

    def _unit_columns(self) -> list[Col]:
        """The columns of a unit's task rows, from «Nhiệm vụ» to «Điểm tính»."""
        cols = [Col("Nhiệm vụ", 26, True)]
        cols += [Col(i.label, _UNIT_WIDTHS.get(i.type, 16), i.type not in NUMERIC_TYPES)
                 for i in self.common]
        cols += [Col("Các chỉ tiêu khác", 34, True), Col("Điểm tối đa", 8),
                 Col("Điểm tự chấm", 8), Col("Điểm thẩm định", 9), Col("Điểm tính", 8)]
        return cols

    def _unit_rows(self, unit: Unit) -> list[list[Cell]]:
        """One row per task of the unit: common indicators, the others as text, the scores."""
        sub = self.c.submissions.get(unit.code)
        score = self.scores.get(unit.code)
        values = sub.values if sub else {}
        by_task = {t.task: t for t in score.tasks} if score else {}
        rows: list[list[Cell]] = []
        for task in self.unit_tasks[unit.code]:
            ts = by_task.get(task.code) or self._fallback_score(unit, task, values)
            row: list[Cell] = [(f"{task.code}. {task.title}", self.text)]
            row += [self.value_cell(i, values.get(f"{task.code}.{i.code}")) for i in self.common]
            row.append((self._other_values(task, values), self.text))
            row += [(_number(ts.points), self.general), (_number(ts.self_score), self.general),
                    (_number(ts.assessed), self.general), (_number(ts.decided), self.general)]
            rows.append(row)
        return rows

    def _unit_sheet(self, sheet: Any, unit: Unit) -> None:
        c = self.c
        sub = c.submissions.get(unit.code)
        track = self.tracks.get(unit.code)
        score = self.scores.get(unit.code)
        cols = self._unit_columns()
        self.heading(sheet, [
            (unit.name.upper(), self.title),
            (f"Mã đơn vị {unit.code}; báo cáo {c.period.name}. {self._period_line()}", self.note),
        ], cols)
        status = track.status if track else TrackStatus.MISSING
        preparer, phone = self._preparer(unit)
        facts: list[tuple[str, Cell]] = [
            ("Tình trạng nộp", self.status_cell(status)),
            ("Tệp nguồn", (sub.name if sub else "", self.text)),  # the accepted return only
            ("Thời gian nhận", (sub.received if sub else "", self.stamp)),
            ("Nguồn thời điểm nhận", (track.received_label if track else "", self.text)),
            ("Người lập báo cáo", (preparer, self.text)),
            ("Số điện thoại liên hệ", (phone, self.text)),
            ("Xếp loại", (_level(score, self.not_rated), self.text)),
        ]
        if track and track.note:
            facts.append(("Ghi chú", (track.note, self.text)))
        for r, (label, (value, fmt)) in enumerate(facts, 2):
            sheet.write_string(r, 0, label, self.label)
            sheet.merge_range(r, 1, r, 3, "", fmt)
            put(sheet, r, 1, value, fmt)
            if isinstance(value, str):
                sheet.set_row(r, fit_height([(value, sum(col.width for col in cols[1:4]))]))
        header = 2 + len(facts) + 1
        rows = self._unit_rows(unit)
        first, last = header + 1, header + len(rows)
        score_cols = range(len(cols) - 4, len(cols))
        footer: list[Cell] = [(TOTAL_LABEL, self.total_text)]
        footer += [("", self.total_text)] * (len(cols) - 5)
        for col in score_cols:
            footer.append((sum_formula(first, last, col, [r[col][0] for r in rows]),
                           self.total_general))
        decided = footer[-1][0]
        self.total_cells[unit.code] = (sheet.get_name(), xl_rowcol_to_cell(last + 1, len(cols) - 1),
                                       decided.value)
        end = self.table(sheet, header, cols, rows, footer=footer, key_cols=1)
        if self.history is not None:
            from dvxl import comparesheet

            comparesheet.unit_section(self, sheet, unit, self.history, end + 1, self.not_rated,
                                      [col.width for col in cols])

    # All units on one sheet (a large roster) ---------------------------------------------------

    def _units_sheet(self, sheet: Any) -> None:
        """One row per unit: the score that counts for each task, the total, the level.

        A large roster's replacement for the sheets of its units: filtering «Mã đơn vị»
        shows one unit, which prints on one page; its reported values are on the task
        sheets, its self-scores there too (column «Điểm tự chấm»).
        """
        c = self.c
        tasks = [t for t in self.catalog.tasks if self._units_for(t)]
        cols = [Col("STT", 6), self._code_col("Mã đơn vị"), Col("Tên đơn vị", 26, True),
                Col("Nhóm", 18, True), Col("Tình trạng nộp", 13, True)]
        cols += [Col(f"{TASK_SHEET_PREFIX}{t.code}", 7) for t in tasks]
        cols += [Col("Tổng điểm", 9), Col("Xếp loại", 18, True)]
        self.heading(sheet, [
            (f"ĐIỂM THEO ĐƠN VỊ VÀ NHIỆM VỤ — {c.period.name.upper()}", self.title),
            (f"{len(self.units)} đơn vị. Mỗi ô là điểm tính của nhiệm vụ (điểm thẩm định nếu "
             "đã thẩm định, nếu chưa thì điểm tự chấm); ô trống: nhiệm vụ không giao cho đơn "
             "vị hoặc chưa có điểm. Lọc cột «Mã đơn vị» để xem hoặc in riêng một đơn vị; số "
             f"liệu từng chỉ tiêu ở các trang «{TASK_SHEET_PREFIX}…». {self._period_line()}",
             self.note),
        ], cols)
        header = 3
        first_task = 5
        total_col = first_task + len(tasks)
        rows: list[list[Cell]] = []
        for i, unit in enumerate(self.units, 1):
            r = header + i
            score = self.scores.get(unit.code)
            track = self.tracks.get(unit.code)
            decided = {t.task: t.decided for t in score.tasks} if score else {}
            if not score:  # not evaluated: the unit's own scores, as its sheet would show
                values = (s.values if (s := c.submissions.get(unit.code)) else {})
                decided = {t.code: self._fallback_score(unit, t, values).decided
                           for t in self.unit_tasks[unit.code]}
            row: list[Cell] = [
                (i, self.center), (unit.code, self.text), (unit.name, self.text),
                (self.group_names.get(unit.rating_group, unit.rating_group), self.text),
                self.status_cell(track.status if track else TrackStatus.MISSING),
            ]
            row += [(_number(decided.get(t.code)), self.general) for t in tasks]
            total = Formula(f"=SUM({xl_rowcol_to_cell(r, first_task)}:"
                            f"{xl_rowcol_to_cell(r, total_col - 1)})",
                            math.fsum(v for v in decided.values() if v is not None))
            row += [(total, self.total_general), (_level(score, self.not_rated), self.text)]
            self.total_cells[unit.code] = (sheet.get_name(), xl_rowcol_to_cell(r, total_col),
                                           total.value)
            rows.append(row)
        self.table(sheet, header, cols, rows, key_cols=3)

    def _common_columns(self) -> list[Indicator]:
        """Indicators every task carries, in form order, except the self-score (a score column)."""
        common = [i for i in self.catalog.indicators if i.is_common]
        ordered = ([i for i in common if i.position == "before"]
                   + [i for i in common if i.position != "before"])
        return [i for i in ordered if i.type != "score"]

    def _other_values(self, task: Task, values: dict[str, Any]) -> str:
        """The task's own indicators as "label: value unit" lines."""
        lines = []
        for ind in self.own.get(task.code, ()):
            value = values.get(f"{task.code}.{ind.code}")
            shown = _text_value(value)
            lines.append(f"{ind.label}: {shown} {ind.unit}".rstrip() if shown
                         else f"{ind.label}: —")
        return "\n".join(lines)

    def _fallback_score(self, unit: Unit, task: Task, values: dict[str, Any]) -> TaskScore:
        """A task the evaluation did not list: its points and the unit's own score, if any."""
        own = None
        for ind in self.catalog.indicators_for(task):
            value = values.get(f"{task.code}.{ind.code}")
            if ind.type == "score" and isinstance(value, int | float):
                own = float(value)
        return TaskScore(task.code, self.catalog.points(unit.rating_group, task.code) or 0, own,
                         None)


# Helpers ------------------------------------------------------------------------------------------


def _review_text(track: Track) -> str:
    """The review column of the tracking sheet: the state, then who decided and when."""
    review = track.review
    if review is None:
        return ""
    lines = [review.state.label, review.decided_by]
    if review.decided is not None:
        lines.append(f"{review.decided:%d/%m/%Y %H:%M}")
    return "\n".join(line for line in lines if line)


def _chart_page(chart_sheet: Any, chart: Any) -> None:
    """A chart sheet holding ``chart``, printed on one A4 landscape page (Hướng dẫn 36)."""
    chart_sheet.set_chart(chart)
    chart_sheet.set_paper(printing.A4)
    chart_sheet.set_landscape()
    chart_sheet.set_margins(**printing.MARGINS)
    chart_sheet.set_header(printing.PAGE_NUMBER_HEADER, {"margin": printing.HEADER_MARGIN})


def _level(score: UnitScore | None, not_rated: str) -> str:
    """The level's name; «not rated» for a unit without one."""
    return (score.level if score else "") or not_rated


def _score_sum(score: UnitScore | None, which: str) -> float | str:
    if score is None:
        return ""
    values = [getattr(t, f"{which}_score" if which == "self" else which) for t in score.tasks]
    present = [v for v in values if v is not None]
    return math.fsum(present) if present else ""


def _plain(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _phone(value: Any) -> str:
    """A phone number as typed; one a spreadsheet stored as a number loses no digits."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _plain(value)


def _number(value: Any) -> Any:
    return value if value is not None else ""


def _text_value(value: Any) -> str:
    """A value written inside a sentence: 1.250 and 12,5 as Vietnamese write them."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return YES if value else "Không"
    if isinstance(value, int | float):
        if float(value).is_integer():
            return f"{int(value):,}".replace(",", ".")
        return f"{value:,}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, dt.datetime):
        return stamp(value)
    if isinstance(value, dt.date):
        return printing.format_date(value)
    return str(value)


def _same(a: str, b: str) -> bool:
    """Text equality as COUNTIFS sees it (case-insensitive)."""
    return a.casefold() == b.casefold()
