"""Validate a whole inbox: read every file, check it, settle duplicates.

A bad file never stops the batch: whatever goes wrong with one file becomes
its finding and the next file is read. Files are only read, never moved,
renamed or modified.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvxl.checks import check_book
from dvxl.findings import ERROR, WARNING, Finding, make
from dvxl.model import Catalog, Period
from dvxl.reader import Limits, read_book

# File statuses, as the validation workbook and the console show them.
VALID = "Hợp lệ"
WARNINGS = "Có cảnh báo"
ERRORS = "Có lỗi"
UNREADABLE = "Không đọc được"
SUPERSEDED = "Bị thay thế"
IGNORED = "Bỏ qua"


@dataclass
class FileReport:
    """Everything learnt about one received file."""

    name: str  # path relative to the inbox, with "/" separators
    path: Path
    size: int
    sha256: str
    modified: dt.datetime
    format: str = ""
    unit: str = ""
    unit_name: str = ""
    period: str = ""
    identified_by: str = ""
    template_version: str = ""
    findings: list[Finding] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)
    superseded_by: str = ""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    @property
    def readable(self) -> bool:
        return bool(self.format)

    @property
    def status(self) -> str:
        if any(f.code == "F008" for f in self.findings):
            return IGNORED
        if not self.readable:
            return UNREADABLE
        if self.superseded_by:
            return SUPERSEDED
        if self.errors:
            return ERRORS
        return WARNINGS if self.warnings else VALID

    @property
    def mergeable(self) -> bool:
        """A file whose values go into the merge: identified, current, without errors."""
        return self.status in (VALID, WARNINGS)


@dataclass
class BatchReport:
    period: Period
    inbox: Path
    files: list[FileReport]
    started: dt.datetime
    finished: dt.datetime

    @property
    def valid(self) -> bool:
        return all(f.errors == 0 for f in self.files)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for report in self.files:
            result[report.status] = result.get(report.status, 0) + 1
        return result

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.files for f in report.findings]


def inbox_files(inbox: Path) -> list[Path]:
    """Every regular file under ``inbox``, recursively, in a stable order (dot-files skipped)."""
    if not inbox.is_dir():
        return []
    found = [
        p
        for p in inbox.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(inbox).as_posix())


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_file(
    path: Path, inbox: Path, catalog: Catalog, period: Period, limits: Limits
) -> FileReport:
    """Read and check one file; never raises for what the file contains."""
    stat = path.stat()
    report = FileReport(
        name=path.relative_to(inbox).as_posix(),
        path=path,
        size=stat.st_size,
        sha256=_digest(path),
        modified=dt.datetime.fromtimestamp(stat.st_mtime),
    )
    result = read_book(path, limits)
    report.findings += result.findings
    book = result.book
    if book is None:
        return report
    report.format = book.format
    checked = check_book(book, catalog, period)
    report.findings += checked.findings
    unit = checked.identity.unit
    if unit is not None:
        report.unit, report.unit_name = unit.code, unit.name
    report.period = checked.identity.period
    report.identified_by = checked.identity.by
    report.template_version = checked.identity.version
    report.values = checked.values
    report.cells = checked.cells
    return report


def settle_duplicates(reports: list[FileReport]) -> None:
    """Of several files from one unit and period, the newest is used; the others get I009."""
    by_unit: dict[tuple[str, str], list[FileReport]] = {}
    for report in reports:
        if report.unit and report.readable:
            by_unit.setdefault((report.unit, report.period), []).append(report)
    for group in by_unit.values():
        if len(group) < 2:
            continue
        newest = max(group, key=lambda r: (r.modified, r.name))
        for report in group:
            if report is not newest:
                report.superseded_by = newest.name
                report.findings.append(
                    make("I009", report.path.name, unit=report.unit, expected=newest.name)
                )


def validate_inbox(
    catalog: Catalog,
    inbox: Path,
    period: Period,
    limits: Limits | None = None,
    progress: Callable[[Iterator[Path]], Iterator[Path]] | None = None,
) -> BatchReport:
    """Validate every file in ``inbox`` for ``period``."""
    limits = limits or Limits(max_file_bytes=int(catalog.settings.max_file_mb * 1024 * 1024))
    started = dt.datetime.now()
    paths = inbox_files(inbox)
    iterator: Iterator[Path] = iter(paths)
    if progress is not None:
        iterator = progress(iterator)
    reports = [check_file(path, inbox, catalog, period, limits) for path in iterator]
    settle_duplicates(reports)
    return BatchReport(period, inbox, reports, started, dt.datetime.now())
