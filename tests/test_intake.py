"""Intake: the content-addressed archive and the SQLite ledger, on real files and a real ledger.

The inbox is the demo's simulated returns (filled from the workspace's real
templates) plus an Excel lock file; it is validated as ``dvxl validate`` does,
then taken in. Tests compare the ledger against the validated batch and the
archive against the inbox, byte for byte.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dvxl import archive, sample, workspace
from dvxl import intake as intake_mod
from dvxl.archive import ArchiveError, archive_path
from dvxl.errors import RUN_FAILED, DvxlError
from dvxl.intake import (
    LEDGER_NAME,
    IntakeResult,
    Ledger,
    LedgerError,
    Receipt,
    dumps_values,
    intake,
    loads_values,
)
from dvxl.model import Catalog, Period
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport, validate_inbox

from hostile import lock_file

PERIOD = "2026-6T"


@dataclasses.dataclass
class Returns:
    """A workspace root whose inbox holds validated returns."""

    root: Path
    catalog: Catalog
    period: Period
    batch: BatchReport

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def ledger(self) -> Path:
        return self.root / LEDGER_NAME

    def validate(self) -> BatchReport:
        return validate_inbox(self.catalog, self.inbox, self.period)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Returns:
    """A workspace with the demo's returns (one unit sent twice, a PDF named .xlsx) and an
    Excel lock file in its inbox, validated; built once, copied for each test."""
    ws = workspace.init(tmp_path_factory.mktemp("intake") / "ws")
    workspace.make_templates(ws, PERIOD)
    catalog = ws.load()
    period = catalog.period(PERIOD)
    written = sample.simulate_returns(catalog, period, ws.templates(PERIOD), ws.inbox)
    lock_file(ws.inbox, written[0])
    return Returns(ws.root, catalog, period, validate_inbox(catalog, ws.inbox, period))


@pytest.fixture
def returns(tmp_path: Path, pristine: Returns) -> Returns:
    root = tmp_path / "ws"
    shutil.copytree(pristine.root, root)  # copy2: modification times kept to the nanosecond
    files = [dataclasses.replace(f, path=root / "inbox" / f.name) for f in pristine.batch.files]
    batch = dataclasses.replace(pristine.batch, inbox=root / "inbox", files=files)
    return Returns(root, pristine.catalog, pristine.period, batch)


@pytest.fixture
def batch(returns: Returns) -> BatchReport:
    return returns.batch


def submitted(batch: BatchReport) -> list[FileReport]:
    """The files of a batch that are submissions (Excel lock files are not)."""
    return [f for f in batch.files if f.status is not FileStatus.IGNORED]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``folder``: bytes, modification time and inode (a rewrite changes it)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def held(root: Path) -> dict[str, bytes]:
    """What the archive holds: each content's bytes by its name (``<sha256><suffix>``)."""
    return {location.rsplit("/", 1)[1]: archive.read(root, location)
            for location in archive.locations(root)}


def packs(root: Path) -> list[Path]:
    return sorted((root / "archive").glob("*.zip"))


def dump(ledger: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the ledger, read with plain sqlite3."""
    with sqlite3.connect(ledger) as db:
        return {
            "files": db.execute("SELECT * FROM files ORDER BY sha256").fetchall(),
            "receipts": db.execute("SELECT * FROM receipts ORDER BY id").fetchall(),
        }


def receipts(returns: Returns) -> list[Receipt]:
    with Ledger(returns.ledger) as ledger:
        return ledger.receipts(PERIOD)


# --- the archive ---------------------------------------------------------------------------


def test_archive_path_is_content_addressed_with_lower_case_suffix(tmp_path: Path) -> None:
    sha = "ab" + "0" * 62
    assert archive_path(tmp_path, sha, ".XLSX") == tmp_path / "archive" / "ab" / f"{sha}.xlsx"
    assert archive_path(tmp_path, sha, "") == tmp_path / "archive" / "ab" / sha


def test_archive_holds_each_distinct_file_once_in_one_pack_with_identical_bytes(
    returns: Returns, batch: BatchReport
) -> None:
    # The same content under a second name is archived once.
    first = submitted(batch)[0]
    shutil.copy2(first.path, returns.inbox / "ban sao.xlsx")
    batch = returns.validate()

    intake(returns.root, batch)

    files = submitted(batch)
    # One pack and nothing else: no temporary file left, no file of its own.
    [pack] = packs(returns.root)
    assert [p for p in (returns.root / "archive").rglob("*") if p.is_file()] == [pack]
    assert zipfile.ZipFile(pack).testzip() is None
    contents = held(returns.root)
    assert set(contents) == {f"{f.sha256}{f.path.suffix.lower()}" for f in files}
    assert len(contents) == len(files) - 1
    with zipfile.ZipFile(pack) as opened:
        for report in files:
            info = opened.getinfo(f"{report.sha256}{report.path.suffix.lower()}")
            assert opened.read(info) == report.path.read_bytes()
            assert info.compress_type == zipfile.ZIP_STORED  # returns are zips already
            # When the unit saved it, to the two seconds a zip keeps.
            saved = time.localtime(report.path.stat().st_mtime)[:6]
            assert info.date_time == (*saved[:5], saved[5] // 2 * 2)


def test_large_file_is_kept_as_a_file_of_its_own(
    returns: Returns, batch: BatchReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    large = max(submitted(batch), key=lambda f: f.size)
    monkeypatch.setattr(archive, "PACK_MEMBER_MAX", large.size - 1)

    intake(returns.root, batch)

    path = archive_path(returns.root, large.sha256, large.path.suffix)
    assert path.read_bytes() == large.path.read_bytes()
    assert path.stat().st_mtime_ns == large.path.stat().st_mtime_ns
    with Ledger(returns.ledger) as ledger:
        assert ledger.archived(large.sha256) == path.relative_to(returns.root).as_posix()
    assert len(held(returns.root)) == len({f.sha256 for f in submitted(batch)})


def test_content_whose_pack_is_gone_is_archived_again_and_the_ledger_follows(
    returns: Returns, batch: BatchReport
) -> None:
    intake(returns.root, batch)
    [lost] = packs(returns.root)
    lost.unlink()

    again = intake(returns.root, batch)

    assert again.new == [] and len(again.known) == len(submitted(batch))
    [pack] = packs(returns.root)
    assert pack != lost
    with sqlite3.connect(returns.ledger) as db:
        for sha, location in db.execute("SELECT sha256, archived FROM files"):
            assert location.startswith(f"archive/{pack.name}/")
            assert hashlib.sha256(archive.read(returns.root, location)).hexdigest() == sha


def test_files_archived_before_packs_stay_where_they_are(
    returns: Returns, batch: BatchReport
) -> None:
    # A workspace of an earlier dvxl: each file of its own, the ledger naming it.
    intake(returns.root, batch)
    [pack] = packs(returns.root)
    with sqlite3.connect(returns.ledger) as db:
        for sha, location in db.execute("SELECT sha256, archived FROM files").fetchall():
            own = archive_path(returns.root, sha, ".xlsx")
            own.parent.mkdir(parents=True, exist_ok=True)
            own.write_bytes(archive.read(returns.root, location))
            db.execute("UPDATE files SET archived = ? WHERE sha256 = ?",
                       (own.relative_to(returns.root).as_posix(), sha))
    pack.unlink()
    before = tree(returns.root / "archive"), dump(returns.ledger)

    again = intake(returns.root, batch)

    assert again.new == [] and len(again.known) == len(submitted(batch))
    assert (tree(returns.root / "archive"), dump(returns.ledger)) == before  # no pack written


def test_a_run_stopped_halfway_leaves_no_pack_and_no_temporary_file(
    returns: Returns, batch: BatchReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = archive.Writer.add
    calls: list[FileReport] = []

    def add(writer: archive.Writer, report: FileReport) -> str | None:
        calls.append(report)
        if len(calls) == 3:
            raise ArchiveError("ổ đĩa đầy")
        return real(writer, report)

    monkeypatch.setattr(archive.Writer, "add", add)
    with pytest.raises(ArchiveError):
        intake(returns.root, batch)

    assert [p for p in (returns.root / "archive").rglob("*") if p.is_file()] == []
    assert receipts(returns) == []


def test_lock_files_are_neither_archived_nor_recorded(returns: Returns, batch: BatchReport) -> None:
    lock = next(f for f in batch.files if f.status is FileStatus.IGNORED)

    result = intake(returns.root, batch)

    assert lock.name not in {r.name for r in result.new + result.known}
    assert f"{lock.sha256}.xlsx" not in held(returns.root)
    assert lock.name not in {r.name for r in receipts(returns)}


# --- the ledger ----------------------------------------------------------------------------


def test_ledger_rows_equal_the_batch(returns: Returns, batch: BatchReport) -> None:
    before = dt.datetime.now()
    result = intake(returns.root, batch)
    after = dt.datetime.now()

    files = sorted(submitted(batch), key=lambda f: f.name)
    rows = sorted(receipts(returns), key=lambda r: r.name)
    assert sorted(result.new, key=lambda r: r.name) == rows
    assert result.known == [] and result.changed == []
    fields = ["name", "sha256", "size", "format", "unit", "status", "errors", "warnings"]
    assert [[getattr(r, k) for k in fields] for r in rows] == [
        [getattr(f, k) for k in fields] for f in files
    ]
    assert [(r.period, r.received) for r in rows] == [(PERIOD, f.modified) for f in files]
    assert [r.findings for r in rows] == [[x.as_dict() for x in f.findings] for f in files]
    assert all(before <= r.recorded <= after for r in rows)
    counts = {status: n for status, n in batch.counts().items()
              if status is not FileStatus.IGNORED and n}
    assert {s: sum(1 for r in rows if r.status == s) for s in counts} == counts
    # The demo holds every kind of file: valid, with warnings, with errors, superseded,
    # unreadable.
    assert len(counts) == 5
    assert [r.mergeable for r in rows] == [f.errors == 0 and bool(f.unit) for f in files]


def test_ledger_schema(returns: Returns, batch: BatchReport) -> None:
    intake(returns.root, batch)

    with sqlite3.connect(returns.ledger) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (intake_mod.SCHEMA_VERSION,)
        columns = {
            table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            for table in ("files", "receipts", "messages", "reviews")
        }
        keys = db.execute("PRAGMA foreign_key_list(receipts)").fetchall()
        archived = db.execute("SELECT sha256, archived FROM files").fetchall()
    assert columns == {
        "files": ["sha256", "size", "format", "archived", "first_seen"],
        "receipts": [
            "id",
            "sha256",
            "name",
            "unit",
            "period",
            "received",
            "recorded",
            "status",
            "errors",
            "warnings",
            "findings_json",
            "values_json",
            "received_from",
            "message",
        ],
        "messages": ["sha256", "name", "sender", "subject", "received", "received_from"],
        "reviews": ["id", "period", "unit", "sha256", "state", "reason", "decided_by",
                    "decided", "source"],
    }
    assert sorted((k[2], k[3], k[4]) for k in keys) == [
        ("files", "sha256", "sha256"), ("messages", "message", "sha256")]
    for sha, location in archived:
        assert location.startswith("archive/") and location.endswith(f"/{sha}.xlsx")
        assert hashlib.sha256(archive.read(returns.root, location)).hexdigest() == sha


def test_values_round_trip_with_their_types(returns: Returns, batch: BatchReport) -> None:
    intake(returns.root, batch)

    by_name = {r.name: r for r in receipts(returns)}
    seen: set[type] = set()
    for report in submitted(batch):
        stored = by_name[report.name].values
        assert stored == report.values
        assert list(stored) == list(report.values)  # the form's order is kept
        assert {k: type(v) for k, v in stored.items()} == {
            k: type(v) for k, v in report.values.items()
        }
        seen |= {type(v) for v in stored.values()}
    assert {dt.date, float, str} <= seen


def test_the_period_read_back_shares_what_was_just_recorded_unless_the_row_changed(
        returns: Returns, batch: BatchReport) -> None:
    result = intake(returns.root, batch)
    recorded = {r.id: r for r in result.new}
    with Ledger(returns.ledger) as ledger:
        first = ledger.receipts(PERIOD)
    for receipt in first:  # neither parsed again nor held twice (issues 6 and 18)
        assert receipt.values is recorded[receipt.id].values
        assert receipt.findings is recorded[receipt.id].findings
    changed = next(r for r in first if r.findings)
    with sqlite3.connect(returns.ledger) as db:
        db.execute("UPDATE receipts SET findings_json = '[]' WHERE id = ?", (changed.id,))
    db.close()
    with Ledger(returns.ledger) as ledger:
        again = {r.id: r for r in ledger.receipts(PERIOD)}
    assert again[changed.id].findings == []  # the row as the ledger holds it now
    assert again[changed.id].values is changed.values  # its values are still the same
    with sqlite3.connect(returns.ledger) as db:  # what was shared equals the ledger's rows
        stored = dict(db.execute("SELECT id, findings_json FROM receipts"))
    db.close()
    for receipt in first:
        if receipt.id != changed.id:
            assert receipt.findings == json.loads(stored[receipt.id])


def test_values_json_tags_dates_and_leaves_the_rest_alone() -> None:
    values = {
        "NGAY_BC": dt.date(2026, 6, 17),
        "LUC": dt.datetime(2026, 6, 17, 9, 30, 5, 120),
        "GIO": dt.time(14, 5),
        "SO": 5.0,
        "LUOT": 18,
        "TY_LE": 0.125,
        "CO": True,
        "TRONG": None,
        "GHI_CHU": "2026-06-17",  # text that looks like a date stays text
        "KET_QUA": "Đã tổ chức quán triệt đến 100% chi bộ",
    }

    text = dumps_values(values)
    back = loads_values(text)

    assert back == values
    assert {k: type(v) for k, v in back.items()} == {k: type(v) for k, v in values.items()}
    assert "quán triệt" in text  # Vietnamese kept readable in the ledger


# --- idempotence and the inbox -------------------------------------------------------------


def test_second_intake_adds_nothing_and_rewrites_nothing(
    returns: Returns, batch: BatchReport
) -> None:
    first = intake(returns.root, batch)
    rows, archive, ledger = (
        dump(returns.ledger),
        tree(returns.root / "archive"),
        tree(returns.root)[LEDGER_NAME],
    )

    again = intake(returns.root, batch)

    assert again.new == [] and again.changed == []
    assert sorted(again.known, key=lambda r: r.id) == sorted(first.new, key=lambda r: r.id)
    assert dump(returns.ledger) == rows
    assert tree(returns.root / "archive") == archive
    assert tree(returns.root)[LEDGER_NAME][0] == ledger[0]


def test_inbox_is_untouched(returns: Returns) -> None:
    def state() -> dict[str, tuple[str, int]]:
        return {
            p.relative_to(returns.inbox).as_posix(): (sha256(p), p.stat().st_mtime_ns)
            for p in sorted(returns.inbox.rglob("*"))
        }

    before = state()
    batch = returns.validate()
    intake(returns.root, batch)
    intake(returns.root, batch)

    assert state() == before


def test_renamed_copy_of_a_recorded_file_is_known(returns: Returns, batch: BatchReport) -> None:
    intake(returns.root, batch)
    rows = dump(returns.ledger)
    original = next(f for f in submitted(batch) if f.status is FileStatus.VALID)
    copy = returns.inbox / "gui lai" / "Bao cao 6 thang (ban chinh thuc).xlsx"
    copy.parent.mkdir()
    shutil.copy2(original.path, copy)

    result = intake(returns.root, returns.validate())

    assert result.new == []
    # Every file of the batch is known, the copy as the receipt of the name it first came under.
    assert len(result.known) == len(submitted(batch)) + 1
    assert [r.name for r in result.known if r.sha256 == original.sha256] == [original.name] * 2
    assert dump(returns.ledger) == rows


def test_same_content_twice_in_one_batch_is_one_receipt(
    returns: Returns, batch: BatchReport
) -> None:
    original = next(f for f in submitted(batch) if f.status is FileStatus.VALID)
    shutil.copy2(original.path, returns.inbox / "zz ban sao.xlsx")

    result = intake(returns.root, returns.validate())

    assert [r.name for r in result.known] == [original.name]
    assert len(result.new) == len(submitted(batch))
    assert len(receipts(returns)) == len(submitted(batch))


def test_same_file_in_another_period_is_a_new_receipt_of_the_same_archive(
    returns: Returns, batch: BatchReport
) -> None:
    intake(returns.root, batch)
    archive = tree(returns.root / "archive")
    other = dataclasses.replace(batch, period=dataclasses.replace(batch.period, code="2026-9T"))

    result = intake(returns.root, other)

    assert len(result.new) == len(submitted(batch)) and result.known == []
    assert {r.period for r in result.new} == {"2026-9T"}
    assert tree(returns.root / "archive") == archive
    with Ledger(returns.ledger) as ledger:
        assert ledger.periods() == ["2026-6T", "2026-9T"]


@pytest.mark.parametrize("change", ["modified", "deleted"])
def test_file_changed_after_validation_is_skipped(
    returns: Returns, batch: BatchReport, change: str
) -> None:
    target = next(f for f in submitted(batch) if f.status is FileStatus.VALID)
    if change == "modified":
        with target.path.open("ab") as handle:
            handle.write(b"saved again after validation")
    else:
        target.path.unlink()

    result = intake(returns.root, batch)

    assert [f.name for f in result.changed] == [target.name]
    assert target.name not in {r.name for r in result.new}
    assert {r.name for r in receipts(returns)} == {f.name for f in submitted(batch)} - {target.name}
    assert f"{target.sha256}.xlsx" not in held(returns.root)
    assert len(held(returns.root)) == len(submitted(batch)) - 1
    assert [p.name for p in (returns.root / "archive").iterdir()] == [packs(returns.root)[0].name]


def test_receipts_are_ordered_by_received_time(returns: Returns) -> None:
    files = sorted(f.path for f in submitted(returns.batch))
    # Two files saved in the same second: recorded order breaks the tie.
    tie = dt.datetime(2026, 6, 19, 8, 0).timestamp()
    for path in files[-2:]:
        os.utime(path, (tie, tie))
    batch = returns.validate()
    # The oldest file arrives last: it is recorded after the others but listed first.
    oldest = min(submitted(batch), key=lambda f: f.modified)
    intake(
        returns.root, dataclasses.replace(batch, files=[f for f in batch.files if f is not oldest])
    )
    intake(returns.root, batch)

    rows = receipts(returns)
    assert rows[0].name == oldest.name and rows[0].id == max(r.id for r in rows)
    assert [(r.received, r.id) for r in rows] == sorted((r.received, r.id) for r in rows)
    tied = [r for r in rows if r.received == dt.datetime.fromtimestamp(tie)]
    assert len(tied) == 2 and tied[0].id < tied[1].id


# --- a ledger that cannot be used ----------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(b"Day khong phai co so du lieu\n" * 200)


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE danh_sach (ten TEXT)")


def _newer(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
        db.execute("CREATE TABLE files (sha256 TEXT)")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_garbage, "bị hỏng"),
        (_foreign, "không phải tệp cơ sở dữ liệu của dvxl"),
        (_newer, "phiên bản dvxl mới hơn"),
    ],
    ids=["not-a-database", "someone-elses-database", "newer-schema"],
)
def test_unusable_ledger_stops_with_a_vietnamese_message_and_is_left_alone(
    returns: Returns, batch: BatchReport, make: Any, words: str
) -> None:
    make(returns.ledger)
    before = returns.ledger.read_bytes()

    with pytest.raises(LedgerError) as caught:
        intake(returns.root, batch)

    assert isinstance(caught.value, DvxlError) and caught.value.exit_code == RUN_FAILED
    assert str(caught.value).startswith(f"Sổ ghi nhận {returns.ledger}")
    assert words in str(caught.value)
    assert returns.ledger.read_bytes() == before
    assert not (returns.root / "archive").exists()  # the ledger is opened before copying


def test_corrupt_ledger_is_reported_by_ledger_itself(tmp_path: Path) -> None:
    _garbage(tmp_path / LEDGER_NAME)

    with pytest.raises(LedgerError, match=r"Sổ ghi nhận .* bị hỏng"):
        Ledger(tmp_path / LEDGER_NAME)


def test_ledger_held_too_long_by_another_run_stops_with_a_vietnamese_message(
    returns: Returns, batch: BatchReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    Ledger(returns.ledger).close()
    monkeypatch.setattr(intake_mod, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(returns.ledger, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerError, match="đang được một lượt chạy dvxl khác sử dụng"):
            intake(returns.root, batch)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert receipts(returns) == []


def test_archive_that_cannot_be_written_stops_before_anything_is_recorded(
    returns: Returns, batch: BatchReport
) -> None:
    (returns.root / "archive").write_text("một tệp chắn chỗ thư mục archive")

    with pytest.raises(ArchiveError, match=r"Không chép được tệp «.*» vào kho lưu trữ"):
        intake(returns.root, batch)

    assert receipts(returns) == []


# --- two runs at once ----------------------------------------------------------------------


def test_two_runs_at_once_record_every_file_once(returns: Returns, batch: BatchReport) -> None:
    # Two processes, as two dvxl commands started together would be.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        runs: list[IntakeResult] = list(
            pool.map(intake, [returns.root, returns.root], [batch, batch])
        )

    files = submitted(batch)
    assert sorted(r.name for run in runs for r in run.new) == sorted(f.name for f in files)
    assert sorted(r.name for run in runs for r in run.known) == sorted(f.name for f in files)
    assert len(receipts(returns)) == len(files)
    # Each run wrote its own pack; the ledger names a copy of every content that is there.
    assert set(held(returns.root)) == {f"{f.sha256}.xlsx" for f in files}
    with sqlite3.connect(returns.ledger) as db:
        for sha, location in db.execute("SELECT sha256, archived FROM files"):
            assert hashlib.sha256(archive.read(returns.root, location)).hexdigest() == sha


def test_a_folder_the_file_system_will_not_sync_does_not_stop_the_run(
    returns: Returns, batch: BatchReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Network file systems (a workspace on a shared drive) may refuse to sync a folder.
    real = os.fsync

    def fsync(handle: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{handle}"):
            raise OSError(22, "Invalid argument")
        real(handle)

    monkeypatch.setattr(archive.os, "fsync", fsync)
    result = intake(returns.root, batch)
    assert len(result.new) == len(submitted(batch))
    assert len(held(returns.root)) == len({f.sha256 for f in submitted(batch)})
