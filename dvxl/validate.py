"""Validate a whole inbox: read every file, check it, settle duplicates.

A bad file never stops the batch: whatever goes wrong with one file becomes
its finding and the next file is read. Files are only read, never moved,
renamed or modified.

A large inbox is checked by a pool of worker processes (one per CPU, or
``DVXL_WORKERS``; ``DVXL_WORKERS=1`` checks in this process). Where no pool
can start, the files are checked here; if a worker dies (a parser crashing the
process on one file), the files not yet checked are checked one at a time in a
worker of their own, so that the file that kills a worker gets its finding and
the rest of the batch is checked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvxl import periods
from dvxl.checks import check_book, read_metadata, unit_in_name
from dvxl.findings import ERROR, WARNING, Finding, make
from dvxl.form import FORM, META
from dvxl.model import Catalog, Period
from dvxl.reader import Limits, read_book
from dvxl.seal import Seal

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
        if any(f.code in ("F008", "F009") for f in self.findings):
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
    """Every regular file under ``inbox``, recursively, in a stable order. Hidden folders
    are skipped; hidden files are listed (the reader ignores them with F009)."""
    if not inbox.is_dir():
        return []
    found = [
        p
        for p in inbox.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inbox).parts[:-1])
    ]
    return sorted(found, key=lambda p: p.relative_to(inbox).as_posix())


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file on disk, read in 1 MB pieces."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_file(
    path: Path,
    inbox: Path,
    catalog: Catalog,
    period: Period | None,
    limits: Limits,
    seal: Seal | None = None,
) -> FileReport:
    """Read and check one file; never raises for what the file contains. ``period`` None:
    against the period the file claims; ``seal``: the workspace's, which proves or refuses
    the file's identity (:func:`dvxl.checks.identify`)."""
    stat = path.stat()
    # A return made from its template is checked from two sheets (the form and its
    # metadata); a file without our metadata is identified by its content, in any sheet.
    result = read_book(path, limits, sheets=(FORM, META))
    if result.book is not None and not read_metadata(result.book):
        result = read_book(path, limits)
    report = FileReport(
        name=path.relative_to(inbox).as_posix(),
        path=path,
        size=stat.st_size,
        # The digest of the bytes the reader checked (one read of the file, not two); a file
        # refused unread (too large, a lock file) is hashed from the disk as before.
        sha256=result.sha256 or file_sha256(path),
        modified=dt.datetime.fromtimestamp(stat.st_mtime),
    )
    report.findings += result.findings
    book = result.book
    if book is None:
        if report.status != IGNORED:  # «HU07 (tải chưa xong).xlsx» is HU07's broken return
            named = unit_in_name(path, catalog)
            if named is not None:
                report.unit, report.unit_name = named[0].code, named[0].name
                report.identified_by = "name"
        return report
    report.format = book.format
    checked = check_book(book, catalog, period, seal)
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
    period: Period | None,
    limits: Limits | None = None,
    progress: Callable[[Iterator[Path]], Iterator[Path]] | None = None,
    workers: int | None = None,
    seal: Seal | None = None,
) -> BatchReport:
    """Validate every file in ``inbox`` for ``period``.

    ``period`` None: the period the files claim (:func:`dvxl.periods.from_claims`, a
    :class:`~dvxl.errors.UsageError` when they claim none or several); each file is
    checked against its own claim, and the few that claim none are checked again once the
    batch's period is known. ``workers`` processes check the files (default
    :func:`worker_count`); a batch of fewer than :data:`POOL_MIN_FILES` files is checked
    in this process. ``seal``: the workspace's (:mod:`dvxl.seal`); None checks no signature.
    """
    limits = limits or Limits(max_file_bytes=int(catalog.settings.max_file_mb * 1024 * 1024))
    started = dt.datetime.now()
    paths = inbox_files(inbox)
    iterator: Iterator[Path] = iter(paths)
    if progress is not None:
        iterator = progress(iterator)
    job = _Job(inbox, catalog, period, limits, seal)
    count = workers if workers is not None else worker_count()
    if count > 1 and len(paths) >= POOL_MIN_FILES:
        reports = _check_in_pool(paths, job, count, iterator)
    else:
        reports = [job.check(path) for path in iterator]
    if period is None:
        period = periods.from_claims(catalog, (_claim(r, catalog) for r in reports), inbox)
        settled = _Job(inbox, catalog, period, limits, seal)
        reports = [settled.check(r.path) if _unsettled(r, catalog) else r for r in reports]
    settle_duplicates(reports)
    return BatchReport(period, inbox, reports, started, dt.datetime.now())


def _claim(report: FileReport, catalog: Catalog) -> str:
    """The period a file claims: its metadata's, else its ``inbox/<kỳ>/`` folder's."""
    if report.identified_by == "metadata" and periods.known(catalog, report.period):
        return report.period
    folder = periods.folder_period(catalog, report.name)
    return folder.code if folder else ""


def _unsettled(report: FileReport, catalog: Catalog) -> bool:
    """A file identified but not yet checked against a period (it claims none we know)."""
    return report.readable and report.errors == 0 and periods.known(catalog, report.period) is None


# Worker processes -----------------------------------------------------------------------------

#: The environment variable that sets the number of worker processes (1: none).
WORKERS_ENV = "DVXL_WORKERS"
#: Smaller batches are checked in this process: starting workers would cost more than it
#: saves (on Windows each worker imports dvxl anew, most of a second).
POOL_MIN_FILES = 100
#: Files per task sent to a worker: enough to make the hand-over cheap, few enough that
#: both workers stay busy to the end and the progress bar moves.
CHUNK_MAX = 48
CHUNK_MIN = 4


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Worker processes forked inside leave the objects they inherit alone.

    A forked process shares its parent's memory until it writes to it, and the cyclic
    garbage collector writes to every object it scans: frozen objects it does not scan
    (without this, a worker forked from a merge holding 10,000 reports copied most of them).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process meanwhile (the state before is restored).

    A merge builds millions of small objects — reports, receipts, table rows — none of
    them in reference cycles, and the collector's passes over them free nothing: at
    10,000 returns they took 3.9 s of the merge. Worker processes started meanwhile
    collect as usual (:func:`start_collecting`), for the libraries they run.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def start_collecting() -> None:
    """In a worker process forked while the collector was paused: collect again."""
    gc.enable()


def worker_count() -> int:
    """``DVXL_WORKERS`` if set to a whole number, else the CPUs this process may use."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text.isdigit():
        return max(1, int(text))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _Job:
    """What every file of a batch is checked against; sent once to each worker."""

    inbox: Path
    catalog: Catalog
    period: Period | None
    limits: Limits
    seal: Seal | None = None

    def check(self, path: Path) -> FileReport:
        return check_file(path, self.inbox, self.catalog, self.period, self.limits, self.seal)


_worker_job: _Job | None = None


def _start_worker(job: _Job) -> None:
    global _worker_job
    _worker_job = job
    start_collecting()


def _check_chunk(paths: list[Path]) -> list[FileReport]:
    assert _worker_job is not None, "the worker was started without its job"
    return [_worker_job.check(path) for path in paths]


def _check_in_pool(
    paths: list[Path], job: _Job, workers: int, progress: Iterator[Path]
) -> list[FileReport]:
    """Check ``paths`` in worker processes; the reports in the order of ``paths``.

    ``progress`` is advanced by one item per file checked (it only counts).
    """
    chunks = [(start, paths[start : start + size])
              for start, size in _chunk_sizes(len(paths), workers)]
    found: dict[int, FileReport] = {}
    pooled = True
    try:
        with frozen_heap(), ProcessPoolExecutor(workers, initializer=_start_worker,
                                                initargs=(job,)) as pool:
            futures = [(start, chunk, pool.submit(_check_chunk, chunk)) for start, chunk in chunks]
            for start, chunk, future in futures:
                try:
                    reports = future.result()
                except BrokenProcessPool:
                    continue  # checked again below, one file at a time
                found.update(zip(range(start, start + len(chunk)), reports, strict=True))
                _advance(progress, len(chunk))
    except (OSError, ImportError, NotImplementedError):  # no processes here: check in this one
        pooled = False
    missing = [i for i in range(len(paths)) if i not in found]
    if missing:
        for i, report in _check_isolated([paths[i] for i in missing], job, pooled):
            found[missing[i]] = report
            _advance(progress, 1)
    _advance(progress, len(paths))  # let the progress bar finish
    return [found[i] for i in range(len(paths))]


def _chunk_sizes(count: int, workers: int) -> list[tuple[int, int]]:
    """(start, size) of each chunk: large while much is left, smaller towards the end, so
    that the workers finish together (a last chunk of 48 files would keep one CPU busy for
    a seventh of a second while the other waits)."""
    chunks = []
    start = 0
    while start < count:
        size = max(CHUNK_MIN, min(CHUNK_MAX, (count - start) // (workers * 4)))
        chunks.append((start, min(size, count - start)))
        start += size
    return chunks


def _check_isolated(
    paths: list[Path], job: _Job, pooled: bool
) -> Iterator[tuple[int, FileReport]]:
    """Check files one at a time in a worker of their own, after a worker died.

    The file a worker dies on gets the finding F003 and a new worker goes on with the
    rest. Without processes (``pooled`` False, or none can start) they are checked here.
    """
    pool: ProcessPoolExecutor | None = None
    try:
        for i, path in enumerate(paths):
            if pooled and pool is None:
                try:
                    pool = ProcessPoolExecutor(1, initializer=_start_worker, initargs=(job,))
                except (OSError, ImportError, NotImplementedError):
                    pooled = False
            if pool is None:
                yield i, job.check(path)
                continue
            try:
                report = pool.submit(_check_chunk, [path]).result()[0]
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                report = _crashed(path, job)
            except (OSError, ImportError, NotImplementedError):  # no process would start
                pool.shutdown(wait=False, cancel_futures=True)
                pool, pooled = None, False
                report = job.check(path)
            yield i, report
    finally:
        if pool is not None:
            pool.shutdown()


def _crashed(path: Path, job: _Job) -> FileReport:
    """The report of a file whose reading killed the worker process."""
    try:
        stat = path.stat()
        size, modified, sha256 = stat.st_size, stat.st_mtime, file_sha256(path)
    except OSError:
        size, modified, sha256 = 0, 0.0, ""
    reason = "chương trình đọc tệp bị dừng đột ngột khi đọc tệp này"
    return FileReport(
        name=path.relative_to(job.inbox).as_posix(),
        path=path,
        size=size,
        sha256=sha256,
        modified=dt.datetime.fromtimestamp(modified),
        findings=[make("F003", path.name, value=reason)],
    )


def _advance(progress: Iterator[Path], count: int) -> None:
    for _ in range(count):
        if next(progress, None) is None:
            return
