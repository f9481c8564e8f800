"""Receiving one return through the upload page: checked as ``dvxl validate`` checks it,
received (inbox and ledger) when it is valid, kept aside when it is not.

The web layer (:mod:`dvxl.web`) streams the upload into a temporary file of
``DIR/uploads/.tmp/`` (never a name the client chose) and calls :func:`receive` with the
unit and period its code stands for (:mod:`dvxl.uploadcodes`). Then, holding the workspace
(:mod:`dvxl.lock`, as merges do):

- the file is read and checked with the same reader gates and checks as the command line
  (:func:`dvxl.validate.check_file`), against the code's period; a file that is another
  unit's template gets U001 and is never counted for that unit;
- a file without errors is moved into ``inbox/<kỳ>/`` under a name dvxl makes
  (``HU01-20261202-093015-1a2b3c4d.xlsx``); one with errors, or unreadable, into
  ``uploads/<kỳ>/chua-nhan/``, where no merge reads it;
- either way it is archived and recorded in the ledger (:func:`dvxl.intake.intake`) with
  the server's clock as its time of receipt (:data:`dvxl.receipt_time.UPLOAD`): a later
  ``dvxl merge`` finds the content already recorded and keeps that time;
- a file with errors gets its marked-up copy (:mod:`dvxl.markup`) in
  ``uploads/<kỳ>/tra-lai/<sha256>/``.

The file is synced before it is moved and the ledger is written in one transaction, so a
server stopped at any point leaves either nothing (the unit was not told it was received)
or a file in its place; a file moved but not yet recorded is recorded by the next merge.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dvxl import atomic, intake, lock, workspace
from dvxl.findings import Code, make
from dvxl.intake import Ledger, Receipt
from dvxl.merge import Consolidated
from dvxl.model import Catalog, Period
from dvxl.reader import Limits
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport, check_file

#: The finding codes this module can emit.
EMITS = (Code.UPLOAD_OTHER_UNIT,)

UPLOADS_DIR = "uploads"
TEMP_DIR = ".tmp"
ASIDE_DIR = "chua-nhan"
MARKED_DIR = "tra-lai"
#: How long an upload waits for a merge that holds the workspace before the unit is asked
#: to send again.
WAIT_S = 60.0
#: Temporary uploads are named so (not hidden: the reader ignores hidden files, F009).
TEMP_PREFIX = "dang-nhan-"
#: Temporary uploads older than this are a stopped server's and are removed at start.
STALE_S = 3600.0

#: What the unit reads, by the file's status.
RECEIVED, RECEIVED_WITH_WARNINGS, NOT_RECEIVED = (
    "Đã nhận, hợp lệ", "Có cảnh báo, đã nhận", "Có lỗi, chưa nhận")

_EXTENSIONS = {"xlsx": ".xlsx", "xlsm": ".xlsm", "xls": ".xls", "ods": ".ods"}
# One upload at a time in this process: the workspace lock nests within a process, so two
# threads of the server must not both believe they hold it.
_one_at_a_time = threading.Lock()


def temp_folder(root: Path) -> Path:
    return root / UPLOADS_DIR / TEMP_DIR


def remove_stale(root: Path, older_than_s: float = STALE_S) -> None:
    """Temporary uploads a stopped server left behind (nothing was received from them)."""
    folder = temp_folder(root)
    if not folder.is_dir():
        return
    cutoff = time.time() - older_than_s
    for temp in folder.glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()


def new_temp(root: Path, suffix: str) -> Path:
    """A new empty file for an upload to stream into, owner-only until it is placed."""
    folder = temp_folder(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
    except OSError as exc:
        raise atomic.OutputError(folder, exc) from exc
    os.close(handle)
    return Path(name)


def suffix_for(client_name: str) -> str:
    """The extension a temporary upload gets: one of the spreadsheet suffixes when the
    client's file name ends so, else none (the client's name is never used otherwise)."""
    suffix = os.path.splitext(client_name.strip().lower())[1]
    return suffix if suffix in _EXTENSIONS.values() else ""


def state(status: FileStatus) -> str:
    """«Đã nhận, hợp lệ», «Có cảnh báo, đã nhận» or «Có lỗi, chưa nhận»."""
    if status is FileStatus.VALID:
        return RECEIVED
    if status is FileStatus.WARNINGS:
        return RECEIVED_WITH_WARNINGS
    return NOT_RECEIVED


@dataclass(frozen=True)
class Outcome:
    """What the unit is told about one upload: the state and findings, when the office
    received this content, the unit's receipt (None when the same content is another
    unit's receipt already: nothing is recorded twice), whether the ledger had it before,
    and whether a marked-up copy was made."""

    status: FileStatus
    findings: list[dict[str, Any]]
    received: dt.datetime
    receipt_id: int | None
    already: bool
    marked: bool


def receive(
    ws: workspace.Workspace, catalog: Catalog, period: Period, unit: str, temp: Path,
    now: dt.datetime | None = None, wait_s: float | None = None,
) -> Outcome:
    """Check, place and record the upload in ``temp`` for ``unit`` and ``period``; ``temp``
    is consumed (moved or removed). Raises :class:`dvxl.lock.BusyError` when a merge holds
    the workspace longer than ``wait_s`` (default :data:`WAIT_S`; nothing is recorded then).

    Content the ledger already has for the period is not placed nor recorded again: the
    unit is told what was found the first time, and when."""
    try:
        with _one_at_a_time, lock.exclusive(
                ws.root, wait_s=WAIT_S if wait_s is None else wait_s):
            received = (now or dt.datetime.now()).replace(microsecond=0)
            report = _checked(ws, catalog, period, unit, temp, received)
            known = _known(ws, period, report.sha256)
            if known is not None:
                return _told_again(ws, known, report, unit, received)
            target = _place(ws, period, unit, temp, report, received)
            report.path, report.uploaded = target, received
            report.findings = [replace(f, file=target.name) for f in report.findings]
            inbox = ws.inbox if report.mergeable else ws.root / UPLOADS_DIR
            report.name = target.relative_to(inbox).as_posix()
            batch = BatchReport(period, inbox, [report], received, received)
            result = intake.intake(ws.root, batch)
            receipts = result.new or result.known
            if not receipts:  # the file changed under us: cannot happen to our own file
                raise OSError(f"tệp tải lên {target.name} đã thay đổi trước khi được ghi sổ")
            receipt = receipts[0]
            marked = _marked_copy(ws, catalog, batch) if report.errors else None
            return Outcome(receipt.status, receipt.findings, receipt.received, receipt.id,
                           False, marked is not None)
    finally:
        temp.unlink(missing_ok=True)


def _known(ws: workspace.Workspace, period: Period, sha256: str) -> Receipt | None:
    path = workspace.ledger_path(ws)
    if not path.is_file():
        return None
    with Ledger(path) as ledger:
        return ledger.receipt(period.code, sha256)


def _told_again(ws: workspace.Workspace, known: Receipt, report: FileReport, unit: str,
                received: dt.datetime) -> Outcome:
    """The outcome of content the ledger has for the period already: the unit's own
    receipt as it was recorded, or, when it is another unit's, this check alone."""
    if known.unit == unit:
        return Outcome(known.status, known.findings, known.received, known.id, True,
                       marked_copy(ws.root, known) is not None)
    return Outcome(report.status, [f.as_dict() for f in report.findings], received, None,
                   False, False)


def _checked(ws: workspace.Workspace, catalog: Catalog, period: Period, unit: str, temp: Path,
             received: dt.datetime) -> FileReport:
    """The upload checked like a file of the inbox, against the code's unit and period."""
    limits = Limits(max_file_bytes=max_bytes(catalog))
    report = check_file(temp, temp.parent, catalog, period, limits, ws.seal())
    if report.unit and report.unit != unit:
        report.findings.append(make(Code.UPLOAD_OTHER_UNIT, temp.name, unit=unit,
                                    value=f"{report.unit_name} ({report.unit})"))
    if report.unit != unit or not report.identified_by:
        # Whatever the file claims, the code says who sent it: an upload never counts for
        # (nor against) another unit.
        report.unit, report.unit_name = unit, catalog.unit(unit).name
        report.identified_by = "upload"
    report.period = period.code
    return report


def max_bytes(catalog: Catalog) -> int:
    """The size limit of a return (the catalog's «dung lượng tối đa», as the CLI's)."""
    return int(catalog.settings.max_file_mb * 1024 * 1024)


def _place(ws: workspace.Workspace, period: Period, unit: str, temp: Path, report: FileReport,
           received: dt.datetime) -> Path:
    """Move the synced upload to the inbox (valid) or aside (not), under a name made here;
    its modification time is the time of receipt."""
    suffix = _EXTENSIONS.get(report.format, ".bin")
    name = f"{unit}-{received:%Y%m%d-%H%M%S}-{report.sha256[:8]}{suffix}"
    if report.mergeable:
        folder = ws.inbox / period.code
    else:
        folder = ws.root / UPLOADS_DIR / period.code / ASIDE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    stamp = received.timestamp()
    try:
        os.utime(temp, (stamp, stamp))
    except OSError as exc:
        raise atomic.OutputError(target, exc) from exc
    atomic.publish(temp, target, durable=True)
    atomic.sync_folder(folder)
    return target


def _marked_copy(ws: workspace.Workspace, catalog: Catalog, batch: BatchReport) -> Path | None:
    """The marked-up copy of a file with errors, in its own folder (one per content)."""
    from dvxl import markup  # openpyxl: only when a copy is made

    report = batch.files[0]
    folder = marked_folder(ws.root, batch.period.code, report.sha256)
    made = markup.write_marked_copies(batch, catalog, folder, workers=1, seal=ws.seal())
    return made[0] if made else None


def marked_folder(root: Path, period: str, sha256: str) -> Path:
    return root / UPLOADS_DIR / period / MARKED_DIR / sha256


def marked_copy(root: Path, receipt: Receipt) -> Path | None:
    """The marked-up copy made for a receipt, if there is one."""
    folder = marked_folder(root, receipt.period, receipt.sha256)
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(atomic.TEMP_PREFIX))
    return found[0] if found else None


def unit_receipts(root: Path, period: str, unit: str) -> list[Receipt]:
    """The unit's receipts of the period, newest first (whatever way they came)."""
    path = workspace.ledger_path(workspace.Workspace(root))
    if not path.is_file():
        return []
    # Not while an upload records: the ledger's cache of what it just wrote
    # (intake._RECENT) is the process's, and is rewritten as it records.
    with _one_at_a_time, Ledger(path) as ledger:
        own = [r for r in ledger.receipts(period) if r.unit == unit]
    return sorted(own, key=lambda r: (r.received, r.id), reverse=True)


def tracking(ws: workspace.Workspace, catalog: Catalog, period: Period) -> Consolidated:
    """The period's consolidated data for the secretariat's page (see :func:`unit_receipts`
    for the lock)."""
    with _one_at_a_time:
        return workspace.consolidate(ws, catalog, period)[0]
