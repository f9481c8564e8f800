"""Intake: every received file kept forever in a content-addressed archive, and a ledger of it.

``DIR/archive/`` holds each distinct file once, named by its SHA-256, in one pack
per run (:mod:`dvxl.archive`); ``DIR/ledger.sqlite`` (stdlib sqlite3) records every receipt: hash,
original name, unit, period, time received, status, findings and the parsed
values. Recording the same file twice for a period changes nothing. Files in
the inbox are only read: never moved, renamed or modified.

The ledger's schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    files    (sha256 TEXT PRIMARY KEY, size, format, archived, first_seen)
    receipts (id INTEGER PRIMARY KEY, sha256 REFERENCES files, name, unit, period,
              received, recorded, status, errors, warnings, findings_json, values_json,
              received_from, message REFERENCES messages,
              UNIQUE (period, sha256))
    messages (sha256 TEXT PRIMARY KEY REFERENCES files, name, sender, subject,
              received, received_from)
    reviews  (id INTEGER PRIMARY KEY, period, unit, sha256, state, reason, decided_by,
              decided, source)
    outlier_marks (period, unit, task, indicator, value, mark, note, updated,
                   PRIMARY KEY (period, unit, task, indicator))

``status`` holds the file's :class:`~dvxl.statuses.FileStatus` by its Vietnamese label
(«Hợp lệ»), as the first ledgers did; it is read back into the status. Times are stored
as ISO 8601 text with microseconds (so text order is time order); ``archived`` is where
the archive keeps the content, relative to the workspace with "/" separators:
``archive/<pack>.zip/<sha256><suffix>`` for a member of a pack, ``archive/ab/<sha256><suffix>``
for a file of its own (a large file, or any file archived before packs); ``""`` for a
file over the size limit (F005), which is recorded (its digest, size and finding) but not
copied: a hostile 1 TB sparse file must not fill the office's disk (issue 14).

``received`` is when the office received the file and ``received_from`` where that
time comes from (:mod:`dvxl.receipt_time`: ``received``/``sent`` for an e-mail's,
``file`` for the file's modification time). A return that came as an e-mail's
attachment names its message in ``message`` (the message's SHA-256): the message is
archived as a file of its own content and described in ``messages``; a message that
brought no spreadsheet is a receipt itself, naming itself. Schema 1 (before e-mails) is
migrated in place: its receipts get ``received_from = 'file'`` and no message.

``reviews`` (schema 3) holds every decision of the secretariat on a unit's return, never
updated nor deleted (:mod:`dvxl.review` reads the history): ``state`` a
:class:`~dvxl.statuses.ReviewState` code, ``sha256`` the return decided on (``""`` when the
unit had none), ``source`` ``cli`` or ``sheet`` (the master's «Duyệt báo cáo»).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from dvxl import archive, lock
from dvxl.archive import ARCHIVE_DIR
from dvxl.errors import DvxlError
from dvxl.findings import Code
from dvxl.mail import MailInfo
from dvxl.outliers import Mark
from dvxl.receipt_time import FILE
from dvxl.seal import proven
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport, file_sha256

LEDGER_NAME = "ledger.sqlite"
SCHEMA_VERSION = 3
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

#: Schema 3, the secretariat's review (issue 16): every decision, history kept. A statement
#: of its own: schema 3 gathers the tables of several features.
_REVIEWS_DDL = """
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    unit TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX reviews_by_unit ON reviews (period, unit, decided, id);
"""
#: What takes a ledger of schema N to N + 1; a new ledger is made at schema 1 and goes
#: through them all, so that a migrated ledger and a new one are alike.
_MIGRATIONS = {
    1: """
CREATE TABLE messages (
    sha256 TEXT PRIMARY KEY REFERENCES files (sha256),
    name TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    received TEXT,
    received_from TEXT NOT NULL
);
ALTER TABLE receipts ADD COLUMN received_from TEXT NOT NULL DEFAULT 'file';
ALTER TABLE receipts ADD COLUMN message TEXT REFERENCES messages (sha256);
""",
    # Schema 3 (issue 16): the secretariat's review decisions, and its marks on flagged
    # figures (dvxl.outliers.Mark): one per period, unit, task and indicator, for the figure
    # ``value`` it was given for.
    2: _REVIEWS_DDL + """
CREATE TABLE outlier_marks (
    period TEXT NOT NULL,
    unit TEXT NOT NULL,
    task TEXT NOT NULL,
    indicator TEXT NOT NULL,
    value TEXT NOT NULL,
    mark TEXT NOT NULL,
    note TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (period, unit, task, indicator)
);
""",
}

_SELECT = """
SELECT r.id, r.sha256, r.name, f.size, f.format, r.unit, r.period, r.received, r.recorded,
       r.status, r.errors, r.warnings, r.findings_json, r.values_json, r.received_from,
       r.message
FROM receipts AS r JOIN files AS f ON f.sha256 = r.sha256
"""


class LedgerError(DvxlError):
    """The ledger cannot be opened or written (corrupt, locked, made by a newer dvxl)."""


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
    received: dt.datetime  # when the office received it (see received_from)
    recorded: dt.datetime  # when dvxl first recorded it
    status: FileStatus  # validate.FileReport.status at recording time
    errors: int
    warnings: int
    findings: list[dict[str, Any]] = field(default_factory=list)  # Finding.as_dict()
    values: dict[str, Any] = field(default_factory=dict)  # dates come back as datetime.date
    received_from: str = FILE  # a dvxl.receipt_time source: an e-mail's time or the file's
    message: str = ""  # SHA-256 of the e-mail it came in, "" when it came on its own

    @property
    def mergeable(self) -> bool:
        """Identified, and without errors (superseding is decided over the whole ledger)."""
        return (
            bool(self.unit)
            and self.errors == 0
            and self.status is not FileStatus.IGNORED
            and bool(self.format)
        )

    @property
    def proven(self) -> bool:
        """Its identity is proven by its signature (:func:`dvxl.seal.proven`)."""
        return bool(self.unit) and proven(str(f.get("code", "")) for f in self.findings)


@dataclass(frozen=True)
class Decision:
    """One decision of the secretariat on a unit's return for a period (table reviews)."""

    period: str
    unit: str
    sha256: str  # the return decided on; "" when the unit had no valid return then
    state: str  # a dvxl.statuses.ReviewState code
    reason: str  # why it was returned ("" otherwise)
    decided_by: str
    decided: dt.datetime
    source: str  # "cli" or "sheet" (the master's review sheet)
    id: int = 0  # the ledger's row id (0 before it is recorded)


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
    """A return's values as JSON text; dates and times carry a type tag.

    Strict JSON: a NaN or an infinity is no figure (the checks refuse one, C002); should
    one come here all the same, it is recorded as no value rather than as ``NaN``."""
    try:
        return json.dumps(values, ensure_ascii=False, default=_encode, allow_nan=False)
    except ValueError:
        finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value
                  for key, value in values.items()}
        return json.dumps(finite, ensure_ascii=False, default=_encode, allow_nan=False)


def loads_values(text: str) -> dict[str, Any]:
    """The inverse of :func:`dumps_values`."""
    result: dict[str, Any] = json.loads(text, object_pairs_hook=_decode_pairs)
    return result


def _decode_pairs(pairs: list[tuple[str, Any]]) -> object:
    # The keys ("1.1.HN_SO"…) are the same in every return: one string each, not one per
    # receipt (10,000 receipts hold 700,000 of them, 45 MB).
    return _decode({sys.intern(key): value for key, value in pairs})


def _stamp(moment: dt.datetime) -> str:
    # Fixed width, so that ORDER BY on the text is time order.
    return moment.isoformat(timespec="microseconds")


# --- the ledger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One verified file of a batch, ready to be recorded."""

    report: FileReport
    archived: str  # relative to the workspace root
    message_archived: str = ""  # where its e-mail is kept, when it came in one


def _run(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


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
            if version == 0:
                tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:  # a database, but somebody else's
                    raise self._corrupt()
                _run(db, _SCHEMA)
                version = 1
            while version < SCHEMA_VERSION:
                _run(db, _MIGRATIONS[version])
                version += 1
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def messages(self) -> dict[str, dict[str, Any]]:
        """Every e-mail that brought files, by its SHA-256: name, sender, subject, received
        (a datetime or None), received_from."""
        with self._guard():
            rows = self._conn().execute(
                "SELECT sha256, name, sender, subject, received, received_from FROM messages"
            ).fetchall()
        return {row["sha256"]: {
            "name": row["name"], "sender": row["sender"], "subject": row["subject"],
            "received": None if row["received"] is None
            else dt.datetime.fromisoformat(row["received"]),
            "received_from": row["received_from"]} for row in rows}

    def receipts(self, period: str) -> list[Receipt]:
        """Every receipt of ``period``, oldest received first (ties: recorded order).

        Rows are taken one at a time: all of a national period's rows at once held their
        values' and findings' JSON text together, 130 MB at 10,000 returns (issue 18)."""
        with self._guard():
            cursor = self._conn().execute(
                _SELECT + "WHERE r.period = ? ORDER BY r.received, r.id", (period,))
            return [_receipt(row, *self._recorded(row)) for row in cursor]

    def _recorded(self, row: sqlite3.Row) -> tuple[dict[str, Any] | None, list[Any] | None]:
        """The values and findings of a receipt this process recorded last, if ``row`` is
        still that one (None, None otherwise).

        A merge records the batch, then reads the period back: what it has just written
        need not be parsed again and held twice (issue #6: the values, 90 MB at 10,000
        files; issue 18: the findings, 40 MB when every return has some).
        """
        if _RECENT.get("ledger") != str(self.path):
            return None, None
        entries: dict[int, _Remembered] = _RECENT["entries"]
        found = entries.get(row["id"])
        if found is None:
            return None, None
        sha256, recorded, digest, values, findings_digest, findings = found
        if (sha256, recorded) != (row["sha256"], row["recorded"]):
            return None, None
        return (values if digest == hash(row["values_json"]) else None,
                findings if findings_digest == hash(row["findings_json"]) else None)

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

    def proven_returns(self, period: str, units: set[str]) -> dict[str, str]:
        """Of ``units``, those with a proven return without errors recorded for ``period``
        (:attr:`Receipt.proven`): unit -> the latest one's name. Only these units' rows
        are read, and only their findings parsed."""
        found: dict[str, str] = {}
        wanted = sorted(units)
        with self._guard():
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = self._conn().execute(
                    "SELECT r.unit, r.name, r.status, r.findings_json FROM receipts AS r "
                    "JOIN files AS f ON f.sha256 = r.sha256 WHERE r.period = ? AND "
                    f"r.errors = 0 AND f.format <> '' AND r.unit IN ({marks}) "
                    "ORDER BY r.received, r.id", (period, *chunk))
                for unit, name, status, findings in rows:
                    codes = (str(f.get("code", "")) for f in json.loads(findings))
                    if _status(status) is not FileStatus.IGNORED and proven(codes):
                        found[unit] = name
        return found
    def outlier_marks(self, period: str) -> list[Mark]:
        """The secretariat's marks on the period's flagged figures (:mod:`dvxl.outliers`)."""
        with self._guard():
            rows = self._conn().execute(
                "SELECT unit, task, indicator, value, mark, note FROM outlier_marks "
                "WHERE period = ? ORDER BY unit, task, indicator", (period,)).fetchall()
        return [Mark(*(str(v) for v in row)) for row in rows]

    def save_outlier_marks(self, period: str, marks: list[Mark], now: dt.datetime) -> None:
        """Record these marks, in place of those of the same figures; a mark without a mark
        or a note is removed (the secretariat cleared it)."""
        with self._guard(), self._write() as db:
            for m in marks:
                key = (period, m.unit, m.task, m.indicator)
                if not m.mark and not m.note:
                    db.execute("DELETE FROM outlier_marks WHERE period = ? AND unit = ? AND "
                               "task = ? AND indicator = ?", key)
                    continue
                db.execute(
                    "INSERT OR REPLACE INTO outlier_marks (period, unit, task, indicator, "
                    "value, mark, note, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key, m.value, m.mark, m.note, _stamp(now)))

    def held(self) -> list[tuple[str, str]]:
        """Every content the ledger records, with where the archive keeps it."""
        with self._guard():
            rows = self._conn().execute(
                "SELECT sha256, archived FROM files WHERE archived != '' ORDER BY archived")
            return [(str(row[0]), str(row[1])) for row in rows]

    def last_period(self) -> str | None:
        """The period of the receipt recorded last, if any."""
        with self._guard():
            row = self._conn().execute(
                "SELECT period FROM receipts ORDER BY recorded DESC, id DESC LIMIT 1"
            ).fetchone()
            return None if row is None else str(row[0])

    def archived(self, sha256: str) -> str | None:
        """Where the archive keeps this content (relative to the workspace), if recorded."""
        with self._guard():
            row = (
                self._conn()
                .execute("SELECT archived FROM files WHERE sha256 = ?", (sha256,))
                .fetchone()
            )
        return None if row is None else str(row[0])

    def archived_all(self, shas: list[str]) -> dict[str, str]:
        """:meth:`archived` of many contents at once: those recorded, by SHA-256."""
        found: dict[str, str] = {}
        with self._guard():
            for start in range(0, len(shas), 500):
                chunk = shas[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = self._conn().execute(
                    f"SELECT sha256, archived FROM files WHERE sha256 IN ({marks})", chunk)
                found.update((str(sha), str(archived)) for sha, archived in rows)
        return found

    def _record(
        self, period: str, entries: list[_Entry], now: dt.datetime
    ) -> tuple[list[Receipt], list[Receipt]]:
        """Record the entries in one transaction; returns (new, known) receipts."""
        new: list[Receipt] = []
        known_ids: list[int] = []
        recorded = _stamp(now)
        remembered: dict[int, _Remembered] = {}
        _RECENT.clear()
        with self._guard(), self._write() as db:
            for entry in entries:
                report = entry.report
                findings = [f.as_dict() for f in report.findings]
                findings_json = json.dumps(findings, ensure_ascii=False, allow_nan=False)
                values_json = dumps_values(report.values)
                received = _stamp(report.received)
                message = report.mail.sha256 if report.mail is not None else None
                if report.mail is not None:
                    _record_message(db, report.mail, entry.message_archived, recorded)
                # A file already recorded keeps its row (and the receipt below needs one).
                inserted = db.execute(
                    "INSERT OR IGNORE INTO files (sha256, size, format, archived, first_seen) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (report.sha256, report.size, report.format, entry.archived, recorded),
                ).rowcount
                if not inserted:  # archived again when its copy was gone: the new one counts
                    db.execute("UPDATE files SET archived = ? WHERE sha256 = ? AND archived <> ?",
                               (entry.archived, report.sha256, entry.archived))
                # When (period, content) is recorded already, the receipt is known and nothing
                # is written: UNIQUE (period, sha256) decides, in the same statement.
                cursor = db.execute(
                    "INSERT OR IGNORE INTO receipts (sha256, name, unit, period, received, "
                    "recorded, status, errors, warnings, findings_json, values_json, "
                    "received_from, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        report.sha256,
                        report.name,
                        report.unit,
                        period,
                        received,
                        recorded,
                        report.status.label,  # the ledger keeps the label (schema 1)
                        report.errors,
                        report.warnings,
                        findings_json,
                        values_json,
                        report.received_from,
                        message,
                    ),
                )
                if not cursor.rowcount:
                    row = db.execute(
                        "SELECT id FROM receipts WHERE period = ? AND sha256 = ?",
                        (period, report.sha256),
                    ).fetchone()
                    known_ids.append(row[0])
                    continue
                size, fmt = report.size, report.format
                if not inserted:  # the content was recorded before: the ledger's row says
                    size, fmt = db.execute(
                        "SELECT size, format FROM files WHERE sha256 = ?", (report.sha256,)
                    ).fetchone()
                assert cursor.lastrowid is not None
                plain = _plain(report.values)
                plain_findings = _plain(findings)
                if plain or plain_findings:
                    remembered[cursor.lastrowid] = (
                        report.sha256, recorded,
                        hash(values_json) if plain else None, report.values,
                        hash(findings_json) if plain_findings else None, findings)
                # The receipt as the ledger now holds it, without reading it back: what was
                # just written comes back equal (issue #6: 10,000 reads and parses), and the
                # values are shared with the report rather than held twice.
                new.append(Receipt(
                    id=cursor.lastrowid,
                    sha256=report.sha256,
                    name=report.name,
                    size=size,
                    format=fmt,
                    unit=report.unit,
                    period=period,
                    received=dt.datetime.fromisoformat(received),
                    recorded=dt.datetime.fromisoformat(recorded),
                    status=report.status,
                    errors=report.errors,
                    warnings=report.warnings,
                    findings=findings if plain_findings else json.loads(findings_json),
                    values=report.values if plain else loads_values(values_json),
                    received_from=report.received_from,
                    message=message or "",
                ))
        _RECENT.update(ledger=str(self.path), entries=remembered)
        return new, self._by_id(known_ids)

    def record_decisions(self, decisions: list[Decision]) -> None:
        """Add decisions of the secretariat to the history, in one transaction."""
        with self._guard(), self._write() as db:
            db.executemany(
                "INSERT INTO reviews (period, unit, sha256, state, reason, decided_by, "
                "decided, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(d.period, d.unit, d.sha256, d.state, d.reason, d.decided_by, _stamp(d.decided),
                  d.source) for d in decisions])

    def decisions(self, period: str | None = None) -> list[Decision]:
        """Every decision of ``period`` (of all periods: None), oldest first."""
        where, args = ("WHERE period = ? ", (period,)) if period is not None else ("", ())
        with self._guard():
            rows = self._conn().execute(
                "SELECT id, period, unit, sha256, state, reason, decided_by, decided, source "
                f"FROM reviews {where}ORDER BY decided, id", args).fetchall()
        return [Decision(row["period"], row["unit"], row["sha256"], row["state"], row["reason"],
                         row["decided_by"], dt.datetime.fromisoformat(row["decided"]),
                         row["source"], row["id"]) for row in rows]

    def _by_id(self, ids: list[int]) -> list[Receipt]:
        """The receipts of these ids, in this order."""
        found: dict[int, Receipt] = {}
        unique = list(dict.fromkeys(ids))
        with self._guard():
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                for row in self._conn().execute(_SELECT + f"WHERE r.id IN ({marks})", chunk):
                    found[row["id"]] = _receipt(row)
        return [found[rid] for rid in ids]


def _record_message(db: sqlite3.Connection, info: MailInfo, archived: str, recorded: str) -> None:
    """The e-mail a file came in: its content among the files, its envelope in messages."""
    db.execute(
        "INSERT OR IGNORE INTO files (sha256, size, format, archived, first_seen) "
        "VALUES (?, ?, ?, ?, ?)", (info.sha256, info.size, info.format, archived, recorded))
    db.execute("UPDATE files SET archived = ? WHERE sha256 = ? AND archived <> ?",
               (archived, info.sha256, archived))
    db.execute(
        "INSERT OR IGNORE INTO messages (sha256, name, sender, subject, received, "
        "received_from) VALUES (?, ?, ?, ?, ?, ?)",
        (info.sha256, info.name, info.sender, info.subject,
         None if info.received is None else _stamp(info.received), info.received_from))


_SCALARS = (str, int, float, bool, dt.date, dt.time, type(None))


def _plain(data: dict[str, Any] | list[dict[str, Any]]) -> bool:
    """Whether ``data`` comes back from its JSON in the ledger equal to itself.

    True for what the checks produce (text, numbers, dates, None under text keys); not
    for a NaN, a tuple, or anything :func:`_encode` would turn into text.
    """
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            return False
        for key, value in item.items():
            kind = type(value)
            if kind is float:
                if not math.isfinite(value):
                    return False
            elif kind not in _EXACT and (
                not isinstance(value, _SCALARS)
                or (isinstance(value, float) and not math.isfinite(value))
            ):
                return False
            if type(key) is not str and not isinstance(key, str):
                return False
    return True


_EXACT = frozenset({str, int, bool, dt.date, dt.datetime, dt.time, type(None)})


#: What the last :meth:`Ledger._record` of this process wrote: the ledger's path, and per
#: receipt id its content's SHA-256, recording time, a hash of its values' JSON and the values,
#: a hash of its findings' JSON and the findings (a hash None: not kept, parse the row's).
_RECENT: dict[str, Any] = {}
_Remembered = tuple[str, str, int | None, dict[str, Any], int | None, list[Any]]


def _receipt(row: sqlite3.Row, values: dict[str, Any] | None = None,
             findings: list[Any] | None = None) -> Receipt:
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
        status=_status(row["status"]),
        errors=row["errors"],
        warnings=row["warnings"],
        findings=findings if findings is not None else json.loads(row["findings_json"]),
        values=values if values is not None else loads_values(row["values_json"]),
        received_from=row["received_from"],
        message=row["message"] or "",
    )


def _status(stored: str) -> FileStatus:
    """A receipt's status from the text the ledger keeps: its Vietnamese label."""
    try:
        return FileStatus.from_label(stored)
    except KeyError:
        raise LedgerError(f"Sổ ghi nhận có trạng thái tệp không rõ: «{stored}».") from None


# --- taking a batch in -------------------------------------------------------------------


def intake(root: Path, batch: BatchReport) -> IntakeResult:
    """Archive and record every file of a validated batch (idempotent).

    Every file is checked to be still what was validated (its SHA-256); one that changed
    or vanished since is neither archived nor recorded (``changed``). The archive holds
    every file before the ledger names it.
    """
    with lock.exclusive(root):  # one run at a time: see set_aside_unrecorded
        period = batch.period.code
        result = IntakeResult(new=[], known=[])
        files = [report for report in batch.files
                 if report.status is not FileStatus.IGNORED]  # not submissions
        with Ledger(root / LEDGER_NAME) as ledger:
            # A pack written by a run stopped before it recorded it: kept aside, never "held".
            named = {archive.split(location)[0] for _, location in ledger.held()}
            archive.set_aside_unrecorded(root, named)
            shas = [r.sha256 for r in files] + [r.mail.sha256 for r in files if r.mail is not None]
            recorded = ledger.archived_all(list(dict.fromkeys(shas)))
            holdings = archive.Holdings(root)
            entries: list[_Entry] = []
            placed: dict[str, str | None] = {}  # sha256 -> location, for this run (None: changed)
            with archive.Writer(root) as writer:
                for report in files:
                    message = ""
                    if report.mail is not None:  # its e-mail first: kept with what it brought
                        info = report.mail
                        if info.sha256 not in placed:
                            placed[info.sha256] = _place(
                                holdings, recorded.get(info.sha256), info.size,
                                partial(_unchanged_file, info.path, info.sha256, info.name),
                                partial(writer.add_file, info.path, info.sha256, info.size,
                                        info.name))
                        message = placed[info.sha256] or ""
                        if not message:
                            result.changed.append(report)
                            continue
                    where = placed.get(report.sha256)
                    if _not_kept(report):
                        where = ""  # recorded, never copied
                    elif where is None:
                        where = _place(holdings, recorded.get(report.sha256), report.size,
                                       partial(_unchanged, report), partial(writer.add, report))
                    if where is None:
                        result.changed.append(report)
                        continue
                    placed[report.sha256] = where
                    entries.append(_Entry(report, where, message))
                writer.commit()  # every copy in place before the ledger names it
            result.new, result.known = ledger._record(period, entries, dt.datetime.now())
        return result


def _not_kept(report: FileReport) -> bool:
    """A file recorded without a copy in the archive: one over the size limit (F005)."""
    return any(f.code == Code.TOO_LARGE for f in report.findings)


def _place(
    holdings: archive.Holdings, known: str | None, size: int,
    unchanged: Callable[[], bool], add: Callable[[], str | None],
) -> str | None:
    """Where a content is archived: where the ledger says, if the archive still holds it and
    the file is still what was read; else copied into this run's pack. None when the file
    changed or vanished since it was validated."""
    if known is not None and holdings.holds(known, size):
        return known if unchanged() else None
    return add()  # new, or its archived copy is gone


def _unchanged(report: FileReport) -> bool:
    """The report's file still holds the bytes that were validated (for an attachment, the
    bytes are those that were read: its message is checked on its own)."""
    if report.data is not None:
        return True
    return _unchanged_file(report.path, report.sha256, report.name)


def _unchanged_file(path: Path, sha256: str, name: str) -> bool:
    try:
        return file_sha256(path) == sha256
    except FileNotFoundError:  # deleted from the inbox since it was validated
        return False
    except OSError as exc:
        raise LedgerError(
            f"Không đọc lại được tệp «{name}»: {exc.strerror or exc}."
        ) from exc
