"""Intake: every received file kept forever in a content-addressed archive, and a ledger of it.

``DIR/archive/ab/abcdef….xlsx`` holds each distinct file once (named by its
SHA-256); ``DIR/ledger.sqlite`` (stdlib sqlite3) records every receipt: hash,
original name, unit, period, time received, status, findings and the parsed
values. Recording the same file twice for a period changes nothing. Files in
the inbox are only read: never moved, renamed or modified.

The ledger's schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    files    (sha256 TEXT PRIMARY KEY, size, format, archived, first_seen)
    receipts (id INTEGER PRIMARY KEY, sha256 REFERENCES files, name, unit, period,
              received, recorded, status, errors, warnings, findings_json, values_json,
              UNIQUE (period, sha256))

Times are stored as ISO 8601 text with microseconds (so text order is time
order); ``archived`` is the archive file's path relative to the workspace, with
"/" separators.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvxl.errors import DvxlError
from dvxl.validate import IGNORED, BatchReport, FileReport

LEDGER_NAME = "ledger.sqlite"
ARCHIVE_DIR = "archive"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0  # another dvxl run holding the ledger is waited for this long

_SCHEMA = """
CREATE TABLE files (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    format TEXT NOT NULL,
    archived TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE TABLE receipts (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL REFERENCES files (sha256),
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    period TEXT NOT NULL,
    received TEXT NOT NULL,
    recorded TEXT NOT NULL,
    status TEXT NOT NULL,
    errors INTEGER NOT NULL,
    warnings INTEGER NOT NULL,
    findings_json TEXT NOT NULL,
    values_json TEXT NOT NULL,
    UNIQUE (period, sha256)
);
CREATE INDEX receipts_by_period ON receipts (period, received, id);
"""

_SELECT = """
SELECT r.id, r.sha256, r.name, f.size, f.format, r.unit, r.period, r.received, r.recorded,
       r.status, r.errors, r.warnings, r.findings_json, r.values_json
FROM receipts AS r JOIN files AS f ON f.sha256 = r.sha256
"""


class LedgerError(DvxlError):
    """The ledger cannot be opened or written (corrupt, locked, made by a newer dvxl)."""

    exit_code = 1


@dataclass(frozen=True)
class Receipt:
    """One file received for one period, as the ledger holds it."""

    id: int
    sha256: str
    name: str  # original name, relative to the inbox
    size: int
    format: str
    unit: str  # "" when the file could not be identified
    period: str
    received: dt.datetime  # the file's modification time: when the unit's file was saved
    recorded: dt.datetime  # when dvxl first recorded it
    status: str  # validate.FileReport.status at recording time
    errors: int
    warnings: int
    findings: list[dict[str, Any]] = field(default_factory=list)  # Finding.as_dict()
    values: dict[str, Any] = field(default_factory=dict)  # dates come back as datetime.date

    @property
    def mergeable(self) -> bool:
        """Identified, and without errors (superseding is decided over the whole ledger)."""
        return (
            bool(self.unit) and self.errors == 0 and self.status != "Bỏ qua" and bool(self.format)
        )


@dataclass
class IntakeResult:
    new: list[Receipt]  # receipts recorded by this run
    known: list[Receipt]  # files of this batch the ledger already had for the period
    # Files that changed (or vanished) since they were validated: nothing recorded for them.
    changed: list[FileReport] = field(default_factory=list)


# --- values as JSON, with dates that come back as dates ---------------------------------

_TAG = "$dvxl"  # {"$dvxl": "date", "v": "2026-06-17"}


def _encode(value: object) -> object:
    # datetime is a subclass of date: test it first.
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    # The checks stage gives only str/float/int/bool/date/None; anything else is kept as text
    # rather than lose the whole receipt.
    return str(value)


def _decode(obj: dict[str, Any]) -> object:
    if len(obj) == 2 and "v" in obj and isinstance(obj.get(_TAG), str):
        kind, text = obj[_TAG], obj["v"]
        if kind == "datetime":
            return dt.datetime.fromisoformat(text)
        if kind == "date":
            return dt.date.fromisoformat(text)
        if kind == "time":
            return dt.time.fromisoformat(text)
    return obj


def dumps_values(values: dict[str, Any]) -> str:
    """A return's values as JSON text; dates and times carry a type tag."""
    return json.dumps(values, ensure_ascii=False, default=_encode)


def loads_values(text: str) -> dict[str, Any]:
    """The inverse of :func:`dumps_values`."""
    result: dict[str, Any] = json.loads(text, object_hook=_decode)
    return result


def _stamp(moment: dt.datetime) -> str:
    # Fixed width, so that ORDER BY on the text is time order.
    return moment.isoformat(timespec="microseconds")


# --- the ledger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One verified file of a batch, ready to be recorded."""

    report: FileReport
    archived: str  # relative to the workspace root


class Ledger:
    """The SQLite ledger of a workspace. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        with self._guard():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE), so that
            # two dvxl runs queue for the write lock instead of failing halfway. The default
            # rollback journal, not WAL: WAL needs shared memory and breaks on network
            # drives, where a secretariat's workspace often lives.
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            try:
                self._db.execute("PRAGMA foreign_keys = ON")
                self._migrate()
            except BaseException:
                self.close()
                raise

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise LedgerError(f"Sổ ghi nhận {self.path} đã đóng.")
        return self._db

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's errors into a LedgerError with a Vietnamese message."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise LedgerError(
                    f"Sổ ghi nhận {self.path} đang được một lượt chạy dvxl khác sử dụng quá "
                    f"{BUSY_TIMEOUT_S:.0f} giây. Hãy chờ lượt đó xong rồi chạy lại."
                ) from exc
            if "unable to open" in text or "readonly" in text:
                raise LedgerError(
                    f"Không mở hoặc không ghi được sổ ghi nhận {self.path}: hãy kiểm tra đường "
                    "dẫn và quyền ghi vào thư mục làm việc."
                ) from exc
            raise LedgerError(
                f"Không đọc/ghi được sổ ghi nhận {self.path} (ổ đĩa đầy hoặc lỗi đọc ghi; chi "
                f"tiết kỹ thuật: {exc})."
            ) from exc
        except sqlite3.Error as exc:  # "file is not a database", "disk image is malformed"
            raise self._corrupt() from exc
        except OSError as exc:
            raise LedgerError(
                f"Không tạo được sổ ghi nhận {self.path}: {exc.strerror or exc}."
            ) from exc

    def _corrupt(self) -> LedgerError:
        return LedgerError(
            f"Sổ ghi nhận {self.path} bị hỏng hoặc không phải tệp cơ sở dữ liệu của dvxl. "
            "Hãy khôi phục tệp này từ bản sao lưu, hoặc đổi tên nó để dvxl tạo sổ mới (các tệp "
            f"đã nhận vẫn còn nguyên trong thư mục {ARCHIVE_DIR}/)."
        )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is recorded, or none of it."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"Sổ ghi nhận {self.path} được tạo bởi phiên bản dvxl mới hơn (lược đồ "
                    f"{version}, phiên bản này hiểu đến {SCHEMA_VERSION}). Hãy cập nhật dvxl."
                )
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:  # a database, but somebody else's
                raise self._corrupt()
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def receipts(self, period: str) -> list[Receipt]:
        """Every receipt of ``period``, oldest received first (ties: recorded order)."""
        with self._guard():
            rows = (
                self._conn()
                .execute(_SELECT + "WHERE r.period = ? ORDER BY r.received, r.id", (period,))
                .fetchall()
            )
        return [_receipt(row) for row in rows]

    def receipt(self, period: str, sha256: str) -> Receipt | None:
        """The receipt of this content for ``period``, if the ledger has it."""
        with self._guard():
            row = (
                self._conn()
                .execute(_SELECT + "WHERE r.period = ? AND r.sha256 = ?", (period, sha256))
                .fetchone()
            )
        return None if row is None else _receipt(row)

    def periods(self) -> list[str]:
        """Every period with at least one receipt, in text order."""
        with self._guard():
            rows = self._conn().execute("SELECT DISTINCT period FROM receipts ORDER BY period")
            return [row[0] for row in rows]

    def archived(self, sha256: str) -> str | None:
        """Where the archive keeps this content (relative to the workspace), if recorded."""
        with self._guard():
            row = (
                self._conn()
                .execute("SELECT archived FROM files WHERE sha256 = ?", (sha256,))
                .fetchone()
            )
        return None if row is None else str(row[0])

    def _record(
        self, period: str, entries: list[_Entry], now: dt.datetime
    ) -> tuple[list[Receipt], list[Receipt]]:
        """Record the entries in one transaction; returns (new, known) receipts."""
        new_ids: list[int] = []
        known_ids: list[int] = []
        with self._guard(), self._write() as db:
            for entry in entries:
                report = entry.report
                row = db.execute(
                    "SELECT id FROM receipts WHERE period = ? AND sha256 = ?",
                    (period, report.sha256),
                ).fetchone()
                if row is not None:
                    known_ids.append(row[0])
                    continue
                db.execute(
                    "INSERT OR IGNORE INTO files (sha256, size, format, archived, first_seen) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (report.sha256, report.size, report.format, entry.archived, _stamp(now)),
                )
                cursor = db.execute(
                    "INSERT INTO receipts (sha256, name, unit, period, received, recorded, "
                    "status, errors, warnings, findings_json, values_json) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        report.sha256,
                        report.name,
                        report.unit,
                        period,
                        _stamp(report.modified),
                        _stamp(now),
                        report.status,
                        report.errors,
                        report.warnings,
                        json.dumps([f.as_dict() for f in report.findings], ensure_ascii=False),
                        dumps_values(report.values),
                    ),
                )
                assert cursor.lastrowid is not None
                new_ids.append(cursor.lastrowid)
        return self._by_id(new_ids), self._by_id(known_ids)

    def _by_id(self, ids: list[int]) -> list[Receipt]:
        result: list[Receipt] = []
        with self._guard():
            for rid in ids:
                row = self._conn().execute(_SELECT + "WHERE r.id = ?", (rid,)).fetchone()
                result.append(_receipt(row))
        return result


def _receipt(row: sqlite3.Row) -> Receipt:
    return Receipt(
        id=row["id"],
        sha256=row["sha256"],
        name=row["name"],
        size=row["size"],
        format=row["format"],
        unit=row["unit"],
        period=row["period"],
        received=dt.datetime.fromisoformat(row["received"]),
        recorded=dt.datetime.fromisoformat(row["recorded"]),
        status=row["status"],
        errors=row["errors"],
        warnings=row["warnings"],
        findings=json.loads(row["findings_json"]),
        values=loads_values(row["values_json"]),
    )


# --- the archive --------------------------------------------------------------------------


def archive_path(root: Path, sha256: str, suffix: str) -> Path:
    """Where the archive keeps a file: ``root/archive/<2 hex>/<sha256><suffix>``."""
    return root / ARCHIVE_DIR / sha256[:2] / f"{sha256}{suffix.lower()}"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _archive(source: Path, dest: Path, sha256: str) -> bool:
    """Copy ``source`` to ``dest`` atomically if its content still hashes to ``sha256``.

    The copy goes to a temporary name in the destination folder and is moved in
    place with ``os.replace`` only when the copy's bytes hash right, so the
    archive never holds a partial or wrong file. Returns False when the source
    changed since it was validated.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".nhan-", suffix=".tmp", dir=dest.parent)
    temp = Path(temp_name)
    try:
        with source.open("rb") as src, os.fdopen(handle, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            saved = os.fstat(src.fileno())
        if _digest(temp) != sha256:
            temp.unlink()
            return False
        os.utime(temp, ns=(saved.st_atime_ns, saved.st_mtime_ns))  # when the unit saved it
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def intake(root: Path, batch: BatchReport) -> IntakeResult:
    """Archive and record every file of a validated batch (idempotent)."""
    period = batch.period.code
    result = IntakeResult(new=[], known=[])
    with Ledger(root / LEDGER_NAME) as ledger:
        entries: list[_Entry] = []
        placed: dict[str, str] = {}  # sha256 -> archived path, for this run
        for report in batch.files:
            if report.status == IGNORED:  # Excel's lock files: not a submission at all
                continue
            archived = placed.get(report.sha256) or ledger.archived(report.sha256)
            if archived is None:
                fresh = archive_path(root, report.sha256, report.path.suffix)
                archived = fresh.relative_to(root).as_posix()
            if not _keep(root / archived, report):
                result.changed.append(report)
                continue
            placed[report.sha256] = archived
            entries.append(_Entry(report, archived))
        result.new, result.known = ledger._record(period, entries, dt.datetime.now())
    return result


def _keep(dest: Path, report: FileReport) -> bool:
    """Make sure the archive holds the report's file; False if the file changed since."""
    try:
        if dest.is_file() and dest.stat().st_size == report.size:
            # Already archived (an earlier run, another name): leave the archive alone, but
            # the inbox file must still be what was validated.
            return _digest(report.path) == report.sha256
        return _archive(report.path, dest, report.sha256)
    except FileNotFoundError:  # deleted from the inbox since it was validated
        return False
    except OSError as exc:
        raise LedgerError(
            f"Không chép được tệp «{report.name}» vào kho lưu trữ {dest.parent}: "
            f"{exc.strerror or exc}. Hãy kiểm tra quyền ghi và dung lượng ổ đĩa rồi chạy lại."
        ) from exc
