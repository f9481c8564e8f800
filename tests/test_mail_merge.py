"""Saved e-mails in the inbox are returns, received when the office received them (issue #12).

End to end through ``dvxl merge``: validation names the attachment inside its message,
the archive keeps the message with what it brought, the ledger says which message brought
which file and where each receipt time comes from, the tracking judges "late" by that
time, and a time the secretariat types in the master corrects a file's date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvxl import archive, intake, master, render, sample, template, workspace
from dvxl.receipt_time import FILE, RECEIVED, TYPED
from dvxl.statuses import TrackStatus
from dvxl.validate import validate_inbox

import mails
from libreoffice import CellEdit, FillJob, Output, fill_and_save, require_libreoffice

INVALID, LATE, ON_TIME = TrackStatus.INVALID, TrackStatus.LATE, TrackStatus.ON_TIME
PERIOD = "2026-6T"  # deadline 18/06/2026
OFFICE = "from mx.binhan.example by mail.binhan.example; {} +0700"
SAVED = dt.datetime(2026, 12, 1, 9, 0)  # when the clerk saved the e-mails into the inbox
FILLED = dt.datetime(2026, 6, 15, 8, 0)  # when the units saved their returns (before mailing)


pytestmark = pytest.mark.usefixtures("hanoi")  # conftest.py: the office's clock


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    ws = workspace.init(tmp_path / "ws")
    workspace.make_templates(ws, PERIOD)
    return ws


def a_return(ws: workspace.Workspace, code: str, change: dict[str, object] | None = None) -> bytes:
    """A unit's return as its clerk fills it (``change``: mistakes)."""
    catalog = ws.load()
    period, unit = catalog.period(PERIOD), catalog.unit(code)
    values = sample.good_values(catalog, unit, period, random.Random(code)) | (change or {})
    path = ws.root / "tmp" / f"{code}.xlsx"
    source = ws.templates(PERIOD) / template.template_name(period, unit)
    sample.write_return(source, path, values, catalog, unit)
    sample.stamp_saved(path, FILLED)  # saved before it was mailed: no W107
    return path.read_bytes()


def emailed(ws: workspace.Workspace, name: str, attachments: list[tuple[str | None, bytes]],
            received: str = "Tue, 16 Jun 2026 09:15:02", **fields: object) -> Path:
    message = mails.message(attachments=attachments, received=[OFFICE.format(received)],
                            **fields)  # type: ignore[arg-type]
    return mails.save_eml(message, ws.inbox / name, mtime=SAVED)


def saved_file(ws: workspace.Workspace, name: str, data: bytes, when: dt.datetime) -> Path:
    path = ws.inbox / name
    path.write_bytes(data)
    mails._touch(path, when)
    return path


def rows(ws: workspace.Workspace, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(ws.root / intake.LEDGER_NAME) as db:
        return db.execute(sql).fetchall()


def test_a_return_emailed_before_the_deadline_and_saved_after_it_is_on_time(
    ws: workspace.Workspace,
) -> None:
    data = a_return(ws, "HU03")
    message = emailed(ws, "tin-nhan.eml", [("bao-cao.xlsx", data)])
    saved_file(ws, "HU01.xlsx", a_return(ws, "HU01"), SAVED)  # on its own: the file's date

    result = workspace.merge(ws, period=PERIOD)

    tracks = {t.unit.code: t for t in result.consolidated.tracking}
    hu03, hu01 = tracks["HU03"], tracks["HU01"]
    assert (hu03.status, hu03.days_late) == (ON_TIME, 0)
    assert hu03.last_received == dt.datetime(2026, 6, 16, 9, 15, 2)
    assert hu03.last_name == "tin-nhan.eml › bao-cao.xlsx"
    assert hu03.received_label == "Thư điện tử (máy chủ nhận)"
    assert (hu01.status, hu01.received_from) == (LATE, FILE)
    # The ledger: which message brought which file, and where the time comes from.
    message_sha = hashlib.sha256(message.read_bytes()).hexdigest()
    assert rows(ws, "SELECT name, received, received_from, message FROM receipts "
                    "WHERE unit = 'HU03'") == [
        ("tin-nhan.eml › bao-cao.xlsx", "2026-06-16T09:15:02.000000", RECEIVED, message_sha)]
    assert rows(ws, "SELECT name, sender, received_from FROM messages") == [
        ("tin-nhan.eml", "Huyện ủy Hòa Bình <hu03@binhan.example>", RECEIVED)]
    # The archive keeps the message together with its attachment.
    held = {location.rsplit("/", 1)[1]: archive.read(ws.root, location)
            for location in archive.locations(ws.root)}
    assert held[f"{message_sha}.eml"] == message.read_bytes()
    assert held[f"{hashlib.sha256(data).hexdigest()}.xlsx"] == data
    assert len(list((ws.root / "archive").glob("*.zip"))) == 1  # one pack for the run


def test_findings_and_marked_copies_name_the_attachment(ws: workspace.Workspace) -> None:
    wrong = a_return(ws, "HU02", {"1.1.HN_SO": "nhiều"})
    emailed(ws, "tin-nhan.eml", [("bao-cao HU02.xlsx", wrong)])

    result = workspace.validate(ws, period=PERIOD)

    report = result.batch.files[0]
    assert report.name == "tin-nhan.eml › bao-cao HU02.xlsx"
    assert {f.file for f in report.findings} == {"tin-nhan.eml › bao-cao HU02.xlsx"}
    assert [p.name for p in result.marked] == ["bao-cao HU02-can-sua.xlsx"]
    marked = openpyxl.load_workbook(result.marked[0])
    assert marked.sheetnames[0] == "Lỗi cần sửa"
    document = json.loads(result.json.read_text(encoding="utf-8"))
    entry = document["files"][0]
    assert (entry["received"], entry["received_from"]) == ("2026-06-16T09:15:02", RECEIVED)
    assert entry["message"]["name"] == "tin-nhan.eml"
    assert entry["message"]["attachment"] == "bao-cao HU02.xlsx"
    for path in result.marked:
        assert ws.inbox not in path.parents  # nothing written into the inbox


def test_a_message_without_a_spreadsheet_gets_a_finding_and_no_marked_copy(
    ws: workspace.Workspace,
) -> None:
    emailed(ws, "quen-dinh-kem.eml", [("cong-van.pdf", b"%PDF-1.4\n")],
            sender="Huyện ủy Phước Thịnh <huyenuy.phuocthinh@binhan.example>",
            subject="Gửi báo cáo")

    result = workspace.merge(ws, period=PERIOD)

    report = result.validation.batch.files[0]
    assert [(f.code, f.file) for f in report.findings] == [("M001", "quen-dinh-kem.eml")]
    assert "(chỉ có: cong-van.pdf)" in report.findings[0].message
    assert (report.unit, report.identified_by) == ("HU04", "sender")  # the roster's address
    assert result.validation.marked == []
    assert not (ws.outputs(PERIOD) / "tra-lai").exists()
    track = next(t for t in result.consolidated.tracking if t.unit.code == "HU04")
    assert track.status == INVALID and "M001" in track.note
    assert rows(ws, "SELECT name, format FROM receipts JOIN files USING (sha256)") == [
        ("quen-dinh-kem.eml", "eml")]


def test_the_later_email_supersedes_whatever_the_files_dates(ws: workspace.Workspace) -> None:
    first = emailed(ws, "lan-1.eml", [("bao-cao.xlsx", a_return(ws, "HU01"))],
                    received="Tue, 16 Jun 2026 09:00:00")
    second = emailed(ws, "lan-2.eml", [("bao-cao.xlsx", a_return(ws, "HU01", {
        "1.1.TU_CHAM": 20}))], received="Wed, 17 Jun 2026 15:00:00")
    mails._touch(first, SAVED)  # the first e-mail was saved into the inbox last
    mails._touch(second, dt.datetime(2026, 6, 20, 8, 0))

    result = workspace.merge(ws, period=PERIOD)

    names = {r.name: r for r in result.validation.batch.files}
    assert names["lan-1.eml › bao-cao.xlsx"].superseded_by == "lan-2.eml › bao-cao.xlsx"
    submission = result.consolidated.submissions["HU01"]
    assert (submission.name, submission.received) == (
        "lan-2.eml › bao-cao.xlsx", dt.datetime(2026, 6, 17, 15, 0))


def test_an_outlook_msg_is_a_return_received_at_its_delivery_time(
    ws: workspace.Workspace,
) -> None:
    mails.save_msg(mails.message(attachments=[("BC HU04.xlsx", a_return(ws, "HU04"))]),
                   ws.inbox / "tin-nhan.msg", delivered=dt.datetime(2026, 6, 18, 9, 30,
                                                                   tzinfo=dt.UTC), mtime=SAVED)

    result = workspace.merge(ws, period=PERIOD)

    track = next(t for t in result.consolidated.tracking if t.unit.code == "HU04")
    assert (track.status, track.last_name) == (ON_TIME, "tin-nhan.msg › BC HU04.xlsx")
    assert (track.last_received, track.received_from) == (dt.datetime(2026, 6, 18, 16, 30),
                                                          RECEIVED)
    assert rows(ws, "SELECT format FROM files JOIN messages USING (sha256)") == [("msg",)]


def type_receipt_times(ws: workspace.Workspace, *typed: tuple[object, ...]) -> None:
    """Type rows under the header of «Thời điểm nhận», as a secretariat would in Excel."""
    book = openpyxl.load_workbook(ws.master, keep_vba=True)
    sheet = book[master.RECEIPT_TIME]
    for values in typed:
        row = sheet.max_row + 1
        for col, value in enumerate(values, 1):
            sheet.cell(row, col).value = value
    book.save(ws.master)


def test_a_typed_receipt_time_overrides_the_files_date_and_survives_a_re_merge(
    ws: workspace.Workspace,
) -> None:
    saved_file(ws, "HU01.xlsx", a_return(ws, "HU01"), SAVED)  # a USB stick, copied late
    type_receipt_times(ws, (PERIOD, "HU01", "18/6/2026 16:30", "Nộp bản giấy và USB"))
    typed = master.read_receipt_times(ws.master)[0]
    before = ws.master.read_bytes()

    first = workspace.merge(ws, period=PERIOD)
    second = workspace.merge(ws, period=PERIOD)

    assert typed[0].received == dt.datetime(2026, 6, 18, 16, 30)
    for result in (first, second):
        track = next(t for t in result.consolidated.tracking if t.unit.code == "HU01")
        assert (track.status, track.last_received, track.received_from) == (
            ON_TIME, dt.datetime(2026, 6, 18, 16, 30), TYPED)
        assert track.received_label == "Văn phòng sửa: Nộp bản giấy và USB"
        assert result.consolidated.submissions["HU01"].received == dt.datetime(2026, 6, 18, 16, 30)
        assert result.problems == []
    assert ws.master.read_bytes() == before  # merge never writes the master
    # The ledger keeps the file's own date: the correction lives in the master.
    assert rows(ws, "SELECT received_from FROM receipts") == [(FILE,)]
    sheet = CalamineWorkbook.from_path(str(second.workbook)).get_sheet_by_name(
        render.TRACKING_SHEET).to_python()
    header = next(r for r in sheet if "Nguồn thời điểm nhận" in r)
    row = next(r for r in sheet if "HU01" in r)
    assert row[header.index("Nguồn thời điểm nhận")] == "Văn phòng sửa: Nộp bản giấy và USB"


def test_bad_typed_rows_are_reported_with_their_row_number(ws: workspace.Workspace) -> None:
    emailed(ws, "tin-nhan.eml", [("bao-cao.xlsx", a_return(ws, "HU03"))])
    type_receipt_times(
        ws,
        (PERIOD, "XYZ", "18/6/2026", ""),
        (PERIOD, "HU01", "ngày mai", ""),
        (PERIOD, "HU03", "18/6/2026 10:00", "gọi điện báo đã gửi"),
    )

    result = workspace.merge(ws, period=PERIOD)

    where = "Trang tính «Thời điểm nhận», dòng"
    assert result.problems[0] == f"{where} 4: mã đơn vị «XYZ» không có trong cấu hình"
    assert result.problems[1].startswith(f"{where} 5: thời điểm nhận «ngày mai» không phải")
    # An e-mail's own receipt time is not replaced by a typed one: the row says so.
    assert result.problems[2].startswith(f"{where} 6: đơn vị «HU03» gửi báo cáo kỳ «2026-6T» "
                                         "qua thư điện tử, nhận lúc 09:15 ngày 16/06/2026")
    track = next(t for t in result.consolidated.tracking if t.unit.code == "HU03")
    assert (track.last_received, track.received_from) == (dt.datetime(2026, 6, 16, 9, 15, 2),
                                                          RECEIVED)


def test_a_ledger_of_schema_1_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / intake.LEDGER_NAME
    with sqlite3.connect(path) as db:
        db.executescript(intake._SCHEMA)
        db.execute("INSERT INTO files VALUES ('ab', 1, 'xlsx', 'archive/ab/ab.xlsx', 't')")
        db.execute("INSERT INTO receipts (sha256, name, unit, period, received, recorded, "
                   "status, errors, warnings, findings_json, values_json) VALUES ('ab', "
                   "'HU01.xlsx', 'HU01', '2026-6T', '2026-06-17T10:00:00.000000', "
                   "'2026-06-19T08:00:00.000000', 'Hợp lệ', 0, 0, '[]', '{}')")
        db.execute("PRAGMA user_version = 1")
    db.close()

    with intake.Ledger(path) as ledger:
        receipt = ledger.receipts(PERIOD)[0]

    assert (receipt.name, receipt.received_from, receipt.message) == ("HU01.xlsx", FILE, "")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (intake.SCHEMA_VERSION,)
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (0,)
    db.close()


def test_xls_and_ods_attachments_saved_by_libreoffice_are_read_as_the_files_are(
    ws: workspace.Workspace, tmp_path: Path,
) -> None:
    require_libreoffice()
    catalog = ws.load()
    period = catalog.period(PERIOD)
    jobs, direct = [], tmp_path / "direct"
    direct.mkdir()
    for code, fmt in (("HU01", "xls"), ("HU02", "ods")):
        unit = catalog.unit(code)
        values = sample.good_values(catalog, unit, period, random.Random(code))
        cells = {r.key: r.cell for r in template.form_rows(catalog, unit)}
        edits = [CellEdit(template.FORM, cells[key], value if isinstance(value, str | dt.date)
                          else float(value) if isinstance(value, float) else int(value))
                 for key, value in values.items() if value not in ("", None)]
        source = ws.templates(PERIOD) / template.template_name(period, unit)
        jobs.append(FillJob(source, edits, [Output(direct / f"BC {code}.{fmt}", fmt)]))
    results = fill_and_save(jobs)
    assert all(r.ok for r in results), [r.errors for r in results]
    # Mailed after LibreOffice saved them (now): received before that would be W107.
    after = (dt.datetime.now() + dt.timedelta(minutes=1)).strftime("%a, %d %b %Y %H:%M:%S")
    emailed(ws, "hai-don-vi.eml", [(p.name, p.read_bytes()) for p in sorted(direct.iterdir())],
            received=after)

    by_mail = workspace.validate(ws, period=PERIOD).batch.files
    by_file = validate_inbox(catalog, direct, period).files

    assert [(r.name, r.format, r.unit, r.status) for r in by_mail] == [
        ("hai-don-vi.eml › BC HU01.xls", "xls", "HU01", by_file[0].status),
        ("hai-don-vi.eml › BC HU02.ods", "ods", "HU02", by_file[1].status)]
    assert [r.values for r in by_mail] == [r.values for r in by_file]
    assert [sorted(f.code for f in r.findings) for r in by_mail] == [
        sorted(f.code for f in r.findings) for r in by_file]


def test_broken_messages_in_the_inbox_get_findings_and_the_batch_goes_on(
    ws: workspace.Workspace,
) -> None:
    (ws.inbox / "hong.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 700)
    (ws.inbox / "hong.eml").write_bytes(b"\x00\x01 garbage")
    emailed(ws, "tin-nhan.eml", [("bao-cao.xlsx", a_return(ws, "HU03"))])

    batch = workspace.validate(ws, period=PERIOD).batch

    found = {r.name: [(f.code, f.file) for f in r.findings] for r in batch.files}
    assert found["hong.msg"] == [("F003", "hong.msg")]
    assert found["hong.eml"] == [("F003", "hong.eml")]
    assert "thư" in next(r for r in batch.files if r.name == "hong.msg").findings[0].message
    assert found["tin-nhan.eml › bao-cao.xlsx"] == []
