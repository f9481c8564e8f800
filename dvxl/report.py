"""Render a validated batch: the validation workbook, the JSON report, the console summary.

All three show the same :class:`~dvxl.validate.BatchReport`; none of them
decides anything. The workbook is written with XlsxWriter through
:func:`dvxl.printing.write_workbook` (atomic), every text that came from a
unit's file with ``write_string`` so that "=..." never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dvxl import atomic, printing, receipt_time
from dvxl.findings import CODES, ERROR, SEVERITY_LABELS, WARNING, Code, Finding
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport

SCHEMA = "dvxl-validation/1"

SUMMARY_SHEET = "Tổng hợp"
DETAIL_SHEET = "Chi tiết"
CODES_SHEET = "Mã lỗi"

IDENTIFIED_BY = {"metadata": "Trang thông tin mẫu", "content": "Nội dung tệp",
                 "sender": "Địa chỉ người gửi thư", "name": "Tên tệp hoặc thư mục",
                 "upload": "Mã nộp trên trang tải lên"}
LEVEL_LABELS = {
    "file": "Tệp",
    "identity": "Nhận diện",
    "structure": "Cấu trúc mẫu",
    "cell": "Ô dữ liệu",
    "upload": "Trang tải lên",
    "rule": "Quy tắc kiểm tra",
}

# Excel's own "bad" / "neutral" / "good" cell styles, so the colours read as Excel users expect.
RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
AMBER = {"bg_color": "#FFEB9C", "font_color": "#9C5700"}
GREEN = {"bg_color": "#C6EFCE", "font_color": "#006100"}
GREY = {"bg_color": "#EDEDED", "font_color": "#595959"}
STATUS_COLOURS = {
    FileStatus.VALID: GREEN,
    FileStatus.WARNINGS: AMBER,
    FileStatus.ERRORS: RED,
    FileStatus.UNREADABLE: RED,
    FileStatus.SUPERSEDED: GREY,
    FileStatus.IGNORED: GREY,
}
SEVERITY_COLOURS = {ERROR: RED, WARNING: AMBER}

# (header, width in characters, wrapped?) per column.
SUMMARY_COLUMNS = (
    ("STT", 6, False),
    ("Tệp", 30, True),
    ("Đơn vị", 13, False),  # a unit code on one line (issue 15)
    ("Tên đơn vị", 32, True),
    ("Định dạng", 10, False),
    ("Trạng thái", 15, True),
    ("Số lỗi", 8, False),
    ("Số cảnh báo", 10, False),
    ("Nhận diện", 16, True),
    ("Thay thế bởi", 24, True),
    ("Ngày sửa tệp", 17, False),
    ("Thời điểm nhận", 17, False),
    ("Nguồn thời điểm nhận", 20, True),
    ("SHA-256", 15, False),
)
DETAIL_COLUMNS = (
    ("STT", 6, False),
    ("Tệp", 26, True),
    ("Đơn vị", 13, False),
    ("Mã lỗi", 8, False),
    ("Mức độ", 10, False),
    ("Trang tính", 12, True),
    ("Ô", 7, False),
    ("Nhiệm vụ", 9, False),
    ("Chỉ tiêu", 13, True),
    ("Giá trị", 28, True),
    ("Yêu cầu", 28, True),
    ("Hướng dẫn sửa", 60, True),
)
CODE_COLUMNS = (
    ("Mã lỗi", 9, False),
    ("Mức độ", 11, False),
    ("Nhóm", 17, False),
    ("Tên", 48, True),
    ("Số lần gặp", 11, False),
)
SHORT_SHA = 12
#: Above this many rows (files and findings), the workbook is written row by row to disk.
LARGE_ROWS = 1_000


# The validation workbook ------------------------------------------------------------------------


def write_validation_workbook(batch: BatchReport, path: Path) -> None:
    """Write the secretariat's validation workbook (three sheets) to ``path``, atomically."""
    printing.write_workbook(path, lambda wb: _Writer(wb, batch).build())


class _Writer:
    def __init__(self, workbook: Any, batch: BatchReport) -> None:
        self.wb = workbook
        self.batch = batch
        s = self.styles = printing.Styles(workbook)
        self.cell = s.cell
        self.center = s.make(border=1, valign="top", align="center")
        self.number = s.make(border=1, valign="top", num_format="#,##0")
        self.stamp = s.make(border=1, valign="top", num_format="dd/mm/yyyy hh:mm", align="left")
        self.mono = s.make(border=1, valign="top", font_name="Courier New", font_size=10)
        self.status = {k: s.make(border=1, valign="top", text_wrap=True, **v)
                       for k, v in STATUS_COLOURS.items()}
        self.severity = {k: s.make(border=1, valign="top", **v)
                         for k, v in SEVERITY_COLOURS.items()}

    def build(self) -> None:
        period = self.batch.period
        files = len(self.batch.files)
        if files + sum(len(report.findings) for report in self.batch.files) > LARGE_ROWS:
            # Rows go to disk as they are written, as in the large period workbook
            # (dvxl.render): a national batch's findings are never held as cells (issue 18).
            self.wb.constant_memory = True
            self.wb.in_memory = False
        self.wb.set_properties({
            "title": f"Kết quả kiểm tra báo cáo — {period.name}",
            "author": "dvxl",
            "comments": "Tạo bởi dvxl validate.",
        })
        summary = self.wb.add_worksheet(SUMMARY_SHEET)
        self._write_summary(summary)
        self._write_details(self.wb.add_worksheet(DETAIL_SHEET))
        self._write_codes(self.wb.add_worksheet(CODES_SHEET))
        summary.activate()

    # Tổng hợp --------------------------------------------------------------------------------

    def _write_summary(self, sheet: Any) -> None:
        batch, s = self.batch, self.styles
        p = batch.period
        fmt = printing.format_date
        sheet.write_string(0, 0, f"KẾT QUẢ KIỂM TRA BÁO CÁO GỬI VỀ — {p.name.upper()}", s.title)
        sheet.write_string(
            1, 0, f"Kỳ báo cáo {p.code}: số liệu từ {fmt(p.start)} đến {fmt(p.end)}; "
            f"hạn gửi {fmt(p.deadline)}.", s.note)
        sheet.write_string(
            2, 0, f"Thư mục nhận: {batch.inbox}; kiểm tra lúc {_stamp(batch.finished)}.", s.note)
        counts = batch.counts()
        row = 4
        sheet.write_string(row, 1, "Trạng thái", s.header)
        sheet.write_string(row, 2, "Số tệp", s.header)
        for status, n in counts.items():
            row += 1
            sheet.write_string(row, 1, status.label, self.status[status])
            sheet.write_number(row, 2, n, self.number)
        row += 1
        sheet.write_string(row, 1, "Tổng cộng", s.make(border=1, bold=True))
        sheet.write_number(row, 2, len(batch.files), s.make(border=1, bold=True))
        row += 1
        usable, considered = _mergeable(batch)
        sheet.write_string(row, 1, "Hợp lệ để tổng hợp", s.make(border=1, bold=True))
        sheet.write_string(row, 2, f"{usable}/{considered}", s.make(border=1, bold=True))
        header = row + 2
        rows = (self._summary_row(i, report) for i, report in enumerate(batch.files, 1))
        _table(sheet, s, header, SUMMARY_COLUMNS, rows, len(batch.files))

    def _summary_row(self, number: int, report: FileReport) -> list[tuple[Any, Any]]:
        return [
            (number, self.center),
            (report.name, self.cell),
            (report.unit, self.cell),
            (report.unit_name, self.cell),
            (report.format, self.center),
            (report.status.label, self.status[report.status]),
            (report.errors, self.number),
            (report.warnings, self.number),
            (IDENTIFIED_BY.get(report.identified_by, report.identified_by), self.cell),
            (report.superseded_by, self.cell),
            (report.modified, self.stamp),
            (report.received, self.stamp),
            (receipt_time.LABELS.get(report.received_from, report.received_from), self.cell),
            (report.sha256[:SHORT_SHA], self.mono),
        ]

    # Chi tiết --------------------------------------------------------------------------------

    def _write_details(self, sheet: Any) -> None:
        s = self.styles
        sheet.write_string(0, 0, f"CHI TIẾT LỖI VÀ CẢNH BÁO — {self.batch.period.name.upper()}",
                           s.title)
        sheet.write_string(1, 0, "Mỗi dòng là một lỗi (chặn tổng hợp tệp đó) hoặc một cảnh báo "
                           "(vẫn tổng hợp); cột «Hướng dẫn sửa» là lời nhắn gửi đơn vị.", s.note)
        found = [(report, finding) for report in self.batch.files for finding in report.findings]
        rows = (self._detail_row(number, report, finding)
                for number, (report, finding) in enumerate(found, 1))
        _table(sheet, s, 3, DETAIL_COLUMNS, rows, len(found))

    def _detail_row(self, number: int, report: FileReport,
                    finding: Finding) -> list[tuple[Any, Any]]:
        severity = self.severity.get(finding.severity, self.cell)
        return [
            (number, self.center),
            (report.name, self.cell),
            (finding.unit or report.unit, self.cell),
            (finding.code, self.center),
            (SEVERITY_LABELS.get(finding.severity, finding.severity), severity),
            (finding.sheet, self.cell),
            (finding.cell, self.center),
            (finding.task, self.center),
            (finding.indicator, self.cell),
            (finding.value, self.cell),
            (finding.expected, self.cell),
            (finding.message, self.cell),
        ]

    # Mã lỗi ----------------------------------------------------------------------------------

    def _write_codes(self, sheet: Any) -> None:
        s = self.styles
        sheet.write_string(0, 0, "BẢNG MÃ LỖI CỦA DVXL", s.title)
        sheet.write_string(1, 0, "Mã lỗi cố định, không dùng lại; «Số lần gặp» đếm trong đợt "
                           "kiểm tra này.", s.note)
        seen: dict[str, int] = {}
        for finding in self.batch.findings:
            seen[finding.code] = seen.get(finding.code, 0) + 1
        rows = [
            [
                (code.code, self.center),
                (SEVERITY_LABELS[code.severity], self.severity[code.severity]),
                (LEVEL_LABELS.get(code.level, code.level), self.cell),
                (code.title, self.cell),
                (seen.get(code.code, 0), self.number),
            ]
            for code in CODES.values()
        ]
        _table(sheet, s, 3, CODE_COLUMNS, rows, len(rows), landscape=False)


def _table(sheet: Any, styles: printing.Styles, header: int,
           columns: Sequence[tuple[str, int, bool]], rows: Iterable[list[tuple[Any, Any]]],
           count: int, landscape: bool = True) -> None:
    """A table of ``count`` rows under its title rows: header, rows, frozen header, filter,
    print setup. The rows are written as they come (on a ``constant_memory`` sheet, as XML
    straight into its row stream: :mod:`dvxl.rawrows`)."""
    printing.setup_page(sheet, landscape=landscape, header_rows=header)
    for col, (title, width, _wrap) in enumerate(columns):
        sheet.set_column(col, col, width)
        sheet.write_string(header, col, title, styles.header)
    sheet.set_row(header, max(printing.row_height(t, w) for t, w, _ in columns))
    wrapped = [(col, width) for col, (_title, width, wrap) in enumerate(columns) if wrap and width]
    printing.write_rows(sheet, header + 1, rows, len(columns), wrapped, _write)
    sheet.freeze_panes(header + 1, 0)
    sheet.autofilter(header, 0, header + max(count, 1), len(columns) - 1)


def _write(sheet: Any, row: int, col: int, value: Any, fmt: Any) -> None:
    """One cell by Python type; text always as a string (never a formula)."""
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime | dt.date):
        sheet.write_datetime(row, col, value, fmt)
    elif value:
        sheet.write_string(row, col, str(value), fmt)
    else:
        sheet.write_blank(row, col, None, fmt)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")


def _mergeable(batch: BatchReport) -> tuple[int, int]:
    """(files usable for the merge, files that count): Excel's own temp files do not count."""
    considered = [f for f in batch.files if f.status is not FileStatus.IGNORED]
    return sum(1 for f in considered if f.mergeable), len(considered)


# JSON -----------------------------------------------------------------------------------------


def as_json(batch: BatchReport, *, files: bool = True) -> dict[str, Any]:
    """The batch as the ``dvxl-validation/1`` document (see README: Báo cáo kiểm tra (JSON));
    without its files' entries when ``files`` is False (:func:`write_json` adds them)."""
    p = batch.period
    counts = batch.counts()
    return {
        "schema": SCHEMA,
        "period": {
            "code": p.code,
            "name": p.name,
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "deadline": p.deadline.isoformat(),
        },
        "inbox": str(batch.inbox),
        "started": _iso(batch.started),
        "finished": _iso(batch.finished),
        "valid": batch.valid,
        "counts": {status.label: n for status, n in counts.items()},
        "counts_by_code": {status.value: n for status, n in counts.items()},
        "files": [_file_json(report) for report in batch.files] if files else [],
    }


def _file_json(report: FileReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "size": report.size,
        "sha256": report.sha256,
        "modified": _iso(report.modified),
        "format": report.format,
        "unit": report.unit,
        "unit_name": report.unit_name,
        "period": report.period,
        "identified_by": report.identified_by,
        "template_version": report.template_version,
        "status": report.status.label,
        "status_code": report.status.value,
        "errors": report.errors,
        "warnings": report.warnings,
        "superseded_by": report.superseded_by,
        "findings": [f.as_dict() for f in report.findings],
        "received": _iso(report.received),
        "received_from": report.received_from,
        "message": _message_json(report),
    }


def _message_json(report: FileReport) -> dict[str, Any] | None:
    """The e-mail the file came in (or that is the file), else None."""
    info = report.mail
    if info is None:
        return None
    return {"name": info.name, "sha256": info.sha256, "sender": info.sender,
            "subject": info.subject, "attachment": report.attachment,
            "received": None if info.received is None else _iso(info.received),
            "received_from": info.received_from}


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def write_json(batch: BatchReport, path: Path) -> None:
    """Write :func:`as_json` to ``path`` (UTF-8, readable Vietnamese), atomically.

    The files are written one at a time, so that a national batch's findings are never
    held as one document (issue 18): the bytes are those ``json.dumps(as_json(batch),
    indent=2)`` gives, as ``tests/test_report.py`` checks."""
    with atomic.replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        for chunk in _json_chunks(batch):
            out.write(chunk)


def _json_chunks(batch: BatchReport) -> Iterator[str]:
    """:func:`as_json` as indented JSON text, a file's entry at a time."""
    head = {**as_json(batch, files=False), "files": []}
    text = _dumps(head)
    end = '"files": []\n}'
    assert text.endswith(end), "«files» is the document's last member"
    if not batch.files:
        yield text + "\n"
        return
    yield text[: -len(end)] + '"files": [\n'
    for number, report in enumerate(batch.files):
        entry = "    " + _dumps(_file_json(report)).replace("\n", "\n    ")
        yield entry + (",\n" if number < len(batch.files) - 1 else "\n")
    yield "  ]\n}\n"


def _dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)


# Console --------------------------------------------------------------------------------------

MARKS = {
    FileStatus.VALID: "✓",
    FileStatus.WARNINGS: "!",
    FileStatus.ERRORS: "✗",
    FileStatus.UNREADABLE: "✗",
    FileStatus.SUPERSEDED: "↷",
    FileStatus.IGNORED: "·",
}


def summary_lines(batch: BatchReport) -> list[str]:
    """The console summary: one line per file, the totals by status, then how many can merge."""
    lines = [_file_line(report) for report in batch.files]
    counts = batch.counts()
    lines.append(f"Tổng số tệp: {len(batch.files)}")
    lines += [f"  {status.label}: {n}" for status, n in counts.items() if n]
    usable, considered = _mergeable(batch)
    lines.append(f"Hợp lệ để tổng hợp: {usable}/{considered}")
    return lines


def _file_line(report: FileReport) -> str:
    status = report.status
    tally = _tally(report.errors, report.warnings)
    if status is FileStatus.VALID:
        detail = "hợp lệ"
    elif status is FileStatus.WARNINGS:
        detail = f"hợp lệ, {tally}"
    elif status is FileStatus.ERRORS:
        detail = tally
    elif status is FileStatus.SUPERSEDED:
        detail = f"bị thay thế bởi {report.superseded_by} ({tally})"
    elif status is FileStatus.UNREADABLE:
        detail = f"không đọc được ({tally})"
    else:
        why = next((_IGNORED_WHY[f.code] for f in report.findings if f.code in _IGNORED_WHY),
                   "không phải báo cáo")
        detail = f"bỏ qua ({why})"
    return f"{MARKS[status]} {report.unit or '—'} {report.name}: {detail}"


#: Why a file is not a submission (:attr:`FileStatus.IGNORED`), by its finding.
_IGNORED_WHY: dict[str, str] = {
    Code.LOCK_FILE: "tệp tạm của Excel",
    Code.NOT_A_RETURN: "không phải bảng tính báo cáo",
    Code.NOT_REGULAR_FILE: "không phải tệp thường",
}


def _tally(errors: int, warnings: int) -> str:
    parts = []
    if errors:
        parts.append(f"{errors} lỗi")
    if warnings:
        parts.append(f"{warnings} cảnh báo")
    return ", ".join(parts) or "không có lỗi"
