"""Validate a whole inbox: read every file, check it, settle duplicates.

A bad file never stops the batch: whatever goes wrong with one file becomes
its finding and the next file is read. Files are only read, never moved,
renamed or modified.

A large inbox is checked by a pool of worker processes (:mod:`dvxl.processes`: one per
CPU, or ``DVXL_WORKERS``; ``DVXL_WORKERS=1`` checks in this process). Where no pool
can start, the files are checked here; if a worker dies (a parser crashing the
process on one file), the files not yet checked are checked one at a time in a
worker of their own, so that the file that kills a worker gets its finding and
the rest of the batch is checked.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from dvxl import mail, names, periods, processes, savedtime
from dvxl.checks import check_book, read_metadata, unit_in_name
from dvxl.findings import ERROR, WARNING, Code, Finding, make
from dvxl.form import FORM, META
from dvxl.mail import MailInfo
from dvxl.model import Catalog, Period, Unit
from dvxl.reader import Limits, ReadResult, read_book, special_kind
from dvxl.receipt_time import FILE, UPLOAD
from dvxl.savedtime import Saved
from dvxl.seal import UNPROVEN, Seal, proven
from dvxl.statuses import FileStatus

#: The finding codes this module can emit: the older files of a unit, an unproven file not
#: taken over a proven one, the file that killed a worker process, a message without a
#: spreadsheet, and whatever in the inbox is no regular file (a link, a FIFO, a device).
EMITS = (Code.SEVERAL_FILES, Code.UNPROVEN_NOT_TAKEN, Code.CORRUPT_FILE,
         Code.MAIL_WITHOUT_SPREADSHEET, Code.NOT_REGULAR_FILE)


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
    # A return that came as an e-mail's attachment: the message it came in, the attachment's
    # name as the sender gave it, and its bytes (it has no file of its own: ``path`` then
    # only names it, ``<message> › <attachment>``). A message without a spreadsheet is a
    # report of its own, with ``mail`` set and its format "eml" or "msg".
    mail: MailInfo | None = None
    attachment: str = ""
    data: bytes | None = field(default=None, repr=False)
    # A return sent through the upload page (:mod:`dvxl.upload`): the server's clock when
    # the last byte arrived, which is the office's own receipt.
    uploaded: dt.datetime | None = None
    # Why the secretariat sent this return back (issue 16, dvxl.review): its marked-up copy
    # says so on its first sheet. Set by the workspace from the ledger, not by the checks.
    returned: str = ""
    saved: Saved | None = None  # when the file says it was last saved (dvxl.savedtime)

    @property
    def received(self) -> dt.datetime:
        """When the office received the file: the upload page's clock, or the e-mail's
        receipt time when it came in one that has a time (:mod:`dvxl.receipt_time`), else
        the file's modification time."""
        if self.uploaded is not None:
            return self.uploaded
        if self.mail is not None and self.mail.received is not None:
            return self.mail.received
        return self.modified

    @property
    def received_from(self) -> str:
        """Where :attr:`received` comes from: a :mod:`dvxl.receipt_time` source code."""
        if self.uploaded is not None:
            return UPLOAD
        if self.mail is not None and self.mail.received is not None:
            return self.mail.received_from
        return FILE

    @property
    def own_name(self) -> str:
        """The file's name as the unit gave it (an attachment's, not its message's)."""
        return self.attachment or self.path.name

    @property
    def is_message(self) -> bool:
        """A saved e-mail that brought no spreadsheet (it gets no marked-up copy)."""
        return self.format in mail.FORMATS

    def content(self) -> bytes:
        """The bytes of the file (of the attachment, for one)."""
        return self.data if self.data is not None else self.path.read_bytes()

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
    def status(self) -> FileStatus:
        if any(f.code in _NOT_SUBMISSIONS for f in self.findings):
            return FileStatus.IGNORED
        if not self.readable:
            return FileStatus.UNREADABLE
        if self.superseded_by:
            return FileStatus.SUPERSEDED
        if self.errors:
            return FileStatus.ERRORS
        return FileStatus.WARNINGS if self.warnings else FileStatus.VALID

    @property
    def mergeable(self) -> bool:
        """A file whose values go into the merge: identified, current, without errors."""
        return self.status in (FileStatus.VALID, FileStatus.WARNINGS)

    @property
    def proven(self) -> bool:
        """Identified, and its identity proven by its signature (:func:`dvxl.seal.proven`)."""
        return bool(self.unit) and self.identified_by == "metadata" and proven(
            f.code for f in self.findings)


#: Findings that make a file no submission at all: listed once, never archived.
_NOT_SUBMISSIONS = (Code.LOCK_FILE, Code.NOT_A_RETURN, Code.NOT_REGULAR_FILE)


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

    def counts(self) -> dict[FileStatus, int]:
        """Files per status: every status, in :class:`FileStatus` order, 0 when none.

        The one count of file statuses: the validation workbook, the JSON, the console
        and the Excel button show it.
        """
        result = dict.fromkeys(FileStatus, 0)
        for report in self.files:
            result[report.status] += 1
        return result

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.files for f in report.findings]


def inbox_files(inbox: Path) -> list[Path]:
    """Every file under ``inbox``, recursively, in a stable order. Hidden folders are
    skipped; hidden files are listed (the reader ignores them with F009), and so is
    whatever is no regular file inside the inbox (a symbolic link, to a file or a folder,
    a FIFO, a device): :func:`check_file` reports it (F010) without reading it."""
    if not inbox.is_dir():
        return []
    found = [
        p
        for p in inbox.rglob("*")
        if (p.is_symlink() or not p.is_dir())
        and not any(part.startswith(".") for part in p.relative_to(inbox).parts[:-1])
    ]
    return sorted(found, key=lambda p: p.relative_to(inbox).as_posix())


def not_regular(path: Path, inbox: Path) -> str:
    """What ``path`` is when it is no regular file inside ``inbox`` (``""`` when it is one,
    or is gone: the reader says so). A symbolic link is never followed, wherever it
    points: a link out of the inbox would archive someone else's file for good."""
    try:
        info = path.lstat()
    except OSError:
        return ""
    if stat.S_ISREG(info.st_mode):
        return ""
    kind = special_kind(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return f"{kind} hỏng"
        inside = target.is_relative_to(inbox.resolve())
        return f"{kind} trỏ tới {'một tệp khác trong' if inside else 'chỗ khác ngoài'} hộp thư"
    return kind


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file on disk, read in 1 MB pieces; ``""`` when it is no longer a
    regular file (swapped for a link, a FIFO: neither followed nor read)."""
    h = hashlib.sha256()
    try:
        handle = open_regular(path)
    except NotRegular:
        return ""
    with handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class NotRegular(Exception):
    """A file of the inbox that is no regular file (a symbolic link, a FIFO, a device)."""


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file: never through a symbolic link,
    never waiting on a FIFO (issue 14: a link out of the inbox is neither read nor
    archived). Raises :class:`NotRegular`, or the OSError of opening it."""
    flags = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_NONBLOCK", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular(path) from exc
        raise
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise NotRegular(path)
    return handle


def check_path(
    path: Path, inbox: Path, catalog: Catalog, period: Period | None, limits: Limits,
    seal: Seal | None = None,
) -> list[FileReport]:
    """Read and check one file of the inbox: a return, or a saved e-mail whose spreadsheet
    attachments are returns (:func:`check_message`); never raises for what it contains.
    ``seal``: the workspace's, which proves or refuses a file's identity."""
    report = check_file(path, inbox, catalog, period, limits, seal)
    # Not a spreadsheet (F001), or a compound file the .xls walk finds broken (F003): a .msg
    # is a compound file too.
    codes = [f.code for f in report.findings]
    kind = ""
    if not report.readable and codes in ([Code.NOT_SPREADSHEET], [Code.CORRUPT_FILE]):
        kind = _message_kind(path, limits)
    reports = check_message(path, inbox, catalog, period, limits, kind, seal) if kind else [report]
    for each in reports:  # its receipt time is known now (an attachment's is its message's)
        found = savedtime.receipt_before_saved(each.saved, each.received, each.received_from,
                                               each.own_name, each.unit)
        if found is not None:
            each.findings.append(found)
    return reports


def check_file(
    path: Path, inbox: Path, catalog: Catalog, period: Period | None, limits: Limits,
    seal: Seal | None = None, data: bytes | None = None, name: str = "",
) -> FileReport:
    """Read and check one file; never raises for what the file contains. ``period`` None:
    against the period the file claims; ``seal``: the workspace's, which proves or refuses
    the file's identity (:func:`dvxl.checks.identify`).

    ``data`` and ``name``: an attachment's bytes and its name in the inbox (``path`` then
    only names it, see :func:`check_message`).
    """
    if data is None:
        kind = not_regular(path, inbox)
        if kind:
            return _not_read(path, inbox, Code.NOT_REGULAR_FILE, value=kind)
    info = path.stat() if data is None else None
    # A return made from its template is checked from two sheets (the form and its
    # metadata); a file without our metadata is identified by its content, in any sheet.
    result = read_book(path, limits, sheets=(FORM, META), data=data)
    if result.book is not None and not read_metadata(result.book):
        result = read_book(path, limits, data=data)
    if data is not None:
        size, sha256, modified = len(data), hashlib.sha256(data).hexdigest(), dt.datetime.min
    else:
        assert info is not None
        # The digest of the bytes the reader checked (one read of the file, not two); a file
        # refused unread (too large, a lock file) is hashed from the disk as before.
        size, sha256 = info.st_size, result.sha256 or _refused_sha256(path, result)
        modified = dt.datetime.fromtimestamp(info.st_mtime)
    report = FileReport(
        name=names.shown(name or path.relative_to(inbox).as_posix()),
        path=path,
        size=size,
        sha256=sha256,
        modified=modified,
        data=data,
    )
    return _checked(report, result, catalog, period, seal)


def _not_read(path: Path, inbox: Path, code: Code, **fields: str) -> FileReport:
    """The report of a file refused before anything read it: no size, no digest."""
    try:
        modified = dt.datetime.fromtimestamp(path.lstat().st_mtime)
    except (OSError, OverflowError, ValueError):
        modified = dt.datetime.min
    return FileReport(name=names.shown(path.relative_to(inbox).as_posix()), path=path, size=0,
                      sha256="", modified=modified, findings=[make(code, path.name, **fields)])


def _refused_sha256(path: Path, result: ReadResult) -> str:
    """The digest of a file the reader refused unread (too large, a lock file, a cover
    letter), from the disk; ``""`` when it is, after all, no regular file to read."""
    if any(f.code == Code.NOT_REGULAR_FILE for f in result.findings):
        return ""
    try:
        return file_sha256(path)
    except OSError:
        return ""


def _checked(
    report: FileReport, result: ReadResult, catalog: Catalog, period: Period | None,
    seal: Seal | None,
) -> FileReport:
    report.findings += result.findings
    book = result.book
    if book is None:
        # «HU07 (tải chưa xong).xlsx» is HU07's broken return
        if report.status is not FileStatus.IGNORED:
            named = unit_in_name(report.path, catalog)
            if named is not None:
                report.unit, report.unit_name = named[0].code, named[0].name
                report.identified_by = "name"
        return report
    report.format = book.format
    report.saved = book.saved
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


def _message_kind(path: Path, limits: Limits) -> str:
    """``eml``/``msg`` when a file that is no spreadsheet is a saved e-mail, else ``""``."""
    suffix = path.suffix.lower()
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError:
        return ""
    return mail.sniff(data) or {".eml": mail.EML, ".msg": mail.MSG}.get(suffix, "")


def check_message(
    path: Path, inbox: Path, catalog: Catalog, period: Period | None, limits: Limits,
    kind: str = "", seal: Seal | None = None,
) -> list[FileReport]:
    """A saved e-mail: a report per spreadsheet attachment, each received at the message's
    time and named ``<message> › <attachment>``; a message without one is a report of its
    own with the finding M001 (its sender's unit, when the roster knows the address)."""
    info_ = path.stat()
    name = names.shown(path.relative_to(inbox).as_posix())
    modified = dt.datetime.fromtimestamp(info_.st_mtime)
    read = mail.read_message(path, limits, kind)
    message = read.message
    sha256 = read.sha256 or file_sha256(path)
    report = FileReport(name=name, path=path, size=info_.st_size, sha256=sha256,
                        modified=modified)
    if message is None:
        report.findings += read.findings
        return [report]
    info = MailInfo(name, path, info_.st_size, sha256, message.format, message.received,
                    message.received_from, message.sender, message.sender_address,
                    message.subject)
    if not message.attachments:
        report.format, report.mail = message.format, info
        unit = _unit_by_address(catalog, message.sender_address)
        if unit is not None:
            report.unit, report.unit_name, report.identified_by = unit.code, unit.name, "sender"
        others = ", ".join(message.others[:5]) + (", …" if len(message.others) > 5 else "")
        report.findings.append(make(
            Code.MAIL_WITHOUT_SPREADSHEET, path.name, unit=report.unit,
            value=message.sender or "(không rõ người gửi)",
            expected=message.subject or "(không có tiêu đề)",
            note=f" (chỉ có: {others})" if others else ""))
        return [report]
    reports = []
    for attachment in message.attachments:
        shown = f"{path.name}{mail.SEPARATOR}{attachment.name}"
        checked = check_file(path.with_name(shown), inbox, catalog, period, limits, seal,
                             data=attachment.data, name=f"{name}{mail.SEPARATOR}{attachment.name}")
        checked.modified, checked.mail, checked.attachment = modified, info, attachment.name
        reports.append(checked)
    return reports


def _unit_by_address(catalog: Catalog, address: str) -> Unit | None:
    """The one unit whose roster e-mail is ``address``, if exactly one has it."""
    if not address:
        return None
    found = [u for u in catalog.units
             if address in {a.strip().lower() for a in u.email.replace(",", ";").split(";")}]
    return found[0] if len(found) == 1 else None


def settle_duplicates(reports: list[FileReport],
                      locked: Collection[tuple[str, str]] = ()) -> None:
    """Of several files from one unit and period, the newest is used; the others get I009.

    Except that an unproven file (no signature: :func:`dvxl.seal.proven`) never replaces a
    proven one without errors: the newest such proven file is used, and the unproven files
    sent after it get I015 instead (issue 14: a return relabelled by deleting its
    metadata and editing the visible header must not displace the unit's real one).

    ``locked``: (unit, period) whose return the secretariat accepted (issue 16): not
    settled here, since that return stays in use whatever came later (:mod:`dvxl.review`).
    """
    by_unit: dict[tuple[str, str], list[FileReport]] = {}
    for report in reports:
        if report.unit and report.readable:
            by_unit.setdefault((report.unit, report.period), []).append(report)
    for key, group in by_unit.items():
        if len(group) < 2 or key in locked:
            continue
        newest = max(group, key=_order)
        sound = [r for r in group if r.proven and not r.errors]
        if sound and not newest.proven:
            newest = max(sound, key=_order)
        for report in group:
            if report is newest:
                continue
            if sound and not report.proven and _order(report) > _order(newest):
                not_taken(report, newest.name)
                continue
            report.superseded_by = newest.name
            report.findings.append(make(Code.SEVERAL_FILES, report.path.name,
                                        unit=report.unit, expected=newest.name))


def _order(report: FileReport) -> tuple[dt.datetime, str]:
    return report.received, report.name


def not_taken(report: FileReport, taken: str) -> None:
    """Mark an unproven file not taken because ``taken``, a proven file of its unit and
    period, stays (I015); it is recorded, not merged."""
    why = next((UNPROVEN[f.code] for f in report.findings if f.code in UNPROVEN),
               "không có chữ ký xác thực")
    report.superseded_by = taken
    report.findings.append(make(Code.UNPROVEN_NOT_TAKEN, report.path.name, unit=report.unit,
                                expected=taken, note=why))


def keep_proven(reports: list[FileReport], taken: dict[str, str]) -> None:
    """Mark the unproven files whose unit already has a proven return recorded for the
    period (``taken``: unit -> that return's name, :meth:`dvxl.intake.Ledger.proven_returns`)
    as not taken (I015)."""
    for report in reports:
        if (report.unit in taken and not report.superseded_by and report.readable
                and not report.errors and not report.proven):
            not_taken(report, taken[report.unit])


def validate_inbox(
    catalog: Catalog,
    inbox: Path,
    period: Period | None,
    limits: Limits | None = None,
    progress: Callable[[Iterator[Path]], Iterator[Path]] | None = None,
    workers: int | None = None,
    seal: Seal | None = None,
    locked: Collection[tuple[str, str]] = (),
) -> BatchReport:
    """Validate every file in ``inbox`` for ``period``.

    ``period`` None: the period the files claim (:func:`dvxl.periods.from_claims`, a
    :class:`~dvxl.errors.UsageError` when they claim none or several); each file is
    checked against its own claim, and the few that claim none are checked again once the
    batch's period is known. ``workers`` processes check the files (default
    :func:`dvxl.processes.worker_count`); a batch of fewer than :data:`POOL_MIN_FILES`
    files is checked in this process. ``seal``: the workspace's (:mod:`dvxl.seal`); None
    checks no signature. ``locked``: see :func:`settle_duplicates`.
    """
    limits = limits or Limits(max_file_bytes=int(catalog.settings.max_file_mb * 1024 * 1024))
    started = dt.datetime.now()
    paths = inbox_files(inbox)
    iterator: Iterator[Path] = iter(paths)
    if progress is not None:
        iterator = progress(iterator)
    job = _Job(inbox, catalog, period, limits, seal)
    count = workers if workers is not None else processes.worker_count()
    if count > 1 and len(paths) >= POOL_MIN_FILES:
        groups = _check_in_pool(paths, job, count, iterator)
    else:
        groups = [job.check(path) for path in iterator]
    if period is None:
        claims = (_claim(r, catalog) for group in groups for r in group)
        period = periods.from_claims(catalog, claims, inbox)
        settled = _Job(inbox, catalog, period, limits, seal)
        # A file of the inbox is checked again as a whole (a message with its attachments).
        groups = [settled.check(path) if any(_unsettled(r, catalog) for r in group) else group
                  for path, group in zip(paths, groups, strict=True)]
    reports = [report for group in groups for report in group]
    settle_duplicates(reports, locked)
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

#: Smaller batches are checked in this process: starting workers would cost more than it
#: saves (on Windows each worker imports dvxl anew, most of a second).
POOL_MIN_FILES = 100
#: Files per task sent to a worker: enough to make the hand-over cheap, few enough that
#: both workers stay busy to the end and the progress bar moves.
CHUNK_MAX = 48
CHUNK_MIN = 4


@dataclass(frozen=True)
class _Job:
    """What every file of a batch is checked against; sent once to each worker."""

    inbox: Path
    catalog: Catalog
    period: Period | None
    limits: Limits
    seal: Seal | None = None

    def check(self, path: Path) -> list[FileReport]:
        return check_path(path, self.inbox, self.catalog, self.period, self.limits, self.seal)


_worker_job: _Job | None = None


def _start_worker(job: _Job) -> None:
    global _worker_job
    _worker_job = job


def _check_chunk(paths: list[Path]) -> list[list[FileReport]]:
    assert _worker_job is not None, "the worker was started without its job"
    return [_worker_job.check(path) for path in paths]


def _check_in_pool(
    paths: list[Path], job: _Job, workers: int, progress: Iterator[Path]
) -> list[list[FileReport]]:
    """Check ``paths`` in worker processes; the reports of each, in the order of ``paths``.

    ``progress`` is advanced by one item per file checked (it only counts).
    """
    chunks = [(start, paths[start : start + size])
              for start, size in _chunk_sizes(len(paths), workers)]
    found: dict[int, list[FileReport]] = {}
    pooled = True
    try:
        with processes.frozen_heap(), processes.pool(workers, _start_worker, (job,)) as pool:
            futures = [(start, chunk, pool.submit(_check_chunk, chunk)) for start, chunk in chunks]
            for start, chunk, future in futures:
                try:
                    checked = future.result()
                except BrokenProcessPool:
                    continue  # checked again below, one file at a time
                found.update(zip(range(start, start + len(chunk)), checked, strict=True))
                _advance(progress, len(chunk))
    except processes.START_ERRORS:  # no processes here: check in this one
        pooled = False
    missing = [i for i in range(len(paths)) if i not in found]
    if missing:
        for i, alone in _check_isolated([paths[i] for i in missing], job, pooled):
            found[missing[i]] = alone
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
) -> Iterator[tuple[int, list[FileReport]]]:
    """Check files one at a time in a worker of their own, after a worker died.

    The file a worker dies on gets the finding F003 and a new worker goes on with the
    rest. Without processes (``pooled`` False, or none can start) they are checked here.
    """
    pool: ProcessPoolExecutor | None = None
    try:
        for i, path in enumerate(paths):
            if pooled and pool is None:
                try:
                    pool = processes.pool(1, _start_worker, (job,))
                except processes.START_ERRORS:
                    pooled = False
            if pool is None:
                yield i, job.check(path)
                continue
            try:
                reports = pool.submit(_check_chunk, [path]).result()[0]
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                reports = [_crashed(path, job)]
            except processes.START_ERRORS:  # no process would start
                pool.shutdown(wait=False, cancel_futures=True)
                pool, pooled = None, False
                reports = job.check(path)
            yield i, reports
    finally:
        if pool is not None:
            pool.shutdown()


def _crashed(path: Path, job: _Job) -> FileReport:
    """The report of a file whose reading killed the worker process."""
    try:
        info = path.stat()
        size, modified, sha256 = info.st_size, info.st_mtime, file_sha256(path)
    except OSError:
        size, modified, sha256 = 0, 0.0, ""
    reason = "chương trình đọc tệp bị dừng đột ngột khi đọc tệp này"
    return FileReport(
        name=names.shown(path.relative_to(job.inbox).as_posix()),
        path=path,
        size=size,
        sha256=sha256,
        modified=dt.datetime.fromtimestamp(modified),
        findings=[make(Code.CORRUPT_FILE, path.name, value=reason)],
    )


def _advance(progress: Iterator[Path], count: int) -> None:
    for _ in range(count):
        if next(progress, None) is None:
            return
