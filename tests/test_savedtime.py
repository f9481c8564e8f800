"""A receipt time earlier than the file's own last-saved time is impossible: W107 (issue 14).

The saved time is read from the file (``docProps/core.xml``, an .ods's ``meta.xml``, an
.xls's summary property set);
Excel's UTC is trusted within a small clock skew, any other program's time (LibreOffice
7.4 writes local time with a false ``Z``) is read as local time within 14 hours; a saved
time that is missing or odd gives no warning and never an error.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
from pathlib import Path

import pytest

from dvxl import sample, savedtime, workspace
from dvxl.form import FORM, form_rows, template_name
from dvxl.reader import read_book
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport, validate_inbox

import mails
from hostile import write_zip, xlsx_parts
from libreoffice import CellEdit, FillJob, Output, fill_and_save, require_libreoffice

PERIOD = "2026-6T"
CORE = "docProps/core.xml"


def now() -> dt.datetime:
    """This computer's local time (Hà Nội's, inside the tests), to the second."""
    return dt.datetime.now().replace(microsecond=0)


pytestmark = pytest.mark.usefixtures("hanoi")  # conftest.py: the office's clock


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> workspace.Workspace:
    made = workspace.init(tmp_path_factory.mktemp("saved") / "ws")
    workspace.make_templates(made, PERIOD)
    return made


def a_return(ws: workspace.Workspace, folder: Path, unit: str, name: str) -> Path:
    catalog = ws.load()
    period = catalog.period(PERIOD)
    values = sample.good_values(catalog, catalog.unit(unit), period, random.Random(unit))
    source = ws.templates(PERIOD) / template_name(period, catalog.unit(unit))
    dest = folder / name
    sample.write_return(source, dest, values, catalog, catalog.unit(unit))
    return dest


def received_at(path: Path, when: dt.datetime) -> None:
    """The file's date, the receipt time dvxl takes for a file on its own."""
    os.utime(path, (when.timestamp(), when.timestamp()))


def check(ws: workspace.Workspace, folder: Path) -> BatchReport:
    catalog = ws.load()
    return validate_inbox(catalog, folder, catalog.period(PERIOD), seal=ws.seal())


def codes(report: FileReport) -> list[str]:
    return sorted(f.code for f in report.findings)


def with_modified(path: Path, text: bytes | None, app: bytes | None = None) -> Path:
    """``path`` with the raw text of ``dcterms:modified`` replaced (None: no core.xml at all);
    ``app``: the Application docProps/app.xml names."""
    parts = xlsx_parts(path)
    if text is None:
        del parts[CORE]
    else:
        parts[CORE] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                             lambda m: m.group(1) + text + m.group(2), parts[CORE])
    if app is not None:
        parts["docProps/app.xml"] = re.sub(rb"<Application>[^<]*</Application>",
                                           b"<Application>" + app + b"</Application>",
                                           parts["docProps/app.xml"])
    return write_zip(path, parts)


def utc(moment: dt.datetime) -> bytes:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()


# Parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-06-16T02:30:00Z", dt.datetime(2026, 6, 16, 2, 30, tzinfo=dt.UTC)),
        ("2026-06-16T09:30:00.123Z", dt.datetime(2026, 6, 16, 9, 30, 0, 123000, tzinfo=dt.UTC)),
        ("2026-06-16T09:30:00+07:00",
         dt.datetime(2026, 6, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))),
        ("2026-06-16T09:30-0130",
         dt.datetime(2026, 6, 16, 9, 30, tzinfo=dt.timezone(-dt.timedelta(hours=1, minutes=30)))),
        ("2026-06-16T09:30:00.183119798", dt.datetime(2026, 6, 16, 9, 30, 0, 183119)),
        (" 2026-06-16 ", dt.datetime(2026, 6, 16)),
        ("2026", None),
        ("2026-06", None),
        ("", None),
        ("hôm qua", None),
        ("2026-13-45T99:00:00Z", None),
        ("2026-06-16T09:30:00+25:00", None),
        ("2026-06-16T09:30:00Z junk", None),
    ],
    ids=["utc", "fraction", "offset", "offset-no-colon", "libreoffice-ods", "date-only",
         "year-only", "month-only", "empty", "words", "impossible", "offset-too-big", "junk"],
)
def test_w3cdtf_texts_parse_or_give_nothing(text: str, expected: dt.datetime | None) -> None:
    assert savedtime.parse(text) == expected


# Excel's files (openpyxl writes what Excel writes: UTC, «Microsoft Excel») ----------------------


def test_a_return_saved_after_its_receipt_gets_w107_naming_both_times(
    ws: workspace.Workspace, tmp_path: Path,
) -> None:
    path = a_return(ws, tmp_path, "HU01", "HU01.xlsx")
    saved = now() - dt.timedelta(days=1)
    sample.stamp_saved(path, saved)
    received_at(path, saved - dt.timedelta(days=2))  # its date set back before its saving
    (report,) = check(ws, tmp_path).files
    assert codes(report) == ["W107"] and report.status == FileStatus.WARNINGS
    assert report.saved == savedtime.Saved(saved, True, CORE)
    (finding,) = report.findings
    shown = saved - dt.timedelta(days=2)
    assert f"{shown:%H:%M:%S} ngày {shown:%d/%m/%Y}" in finding.message
    assert f"{saved:%H:%M:%S} ngày {saved:%d/%m/%Y}" in finding.message
    assert "lấy từ: ngày lưu tệp" in finding.message
    assert "kiểm tra đồng hồ máy" in finding.message and "nguồn tệp" in finding.message
    assert (finding.unit, finding.file) == ("HU01", "HU01.xlsx")


@pytest.mark.parametrize(
    ("saved_after", "app", "flagged"),
    [
        (dt.timedelta(days=-3), None, False),
        (dt.timedelta(0), None, False),
        (dt.timedelta(hours=1), None, False),
        (dt.timedelta(hours=3), None, True),
        (dt.timedelta(hours=10), b"LibreOffice/7.4.7.2$Linux_X86_64", False),
        (dt.timedelta(hours=15), b"LibreOffice/7.4.7.2$Linux_X86_64", True),
    ],
    ids=["saved-before", "same-second", "excel-skew-1h", "excel-3h", "other-program-10h",
         "other-program-15h"],
)
def test_the_clock_skew_tolerated_depends_on_whether_the_zone_is_trusted(
    ws: workspace.Workspace, tmp_path: Path, saved_after: dt.timedelta, app: bytes | None,
    flagged: bool,
) -> None:
    path = a_return(ws, tmp_path, "HU01", "HU01.xlsx")
    received = now() - dt.timedelta(days=4)
    saved = received + saved_after
    # Excel writes UTC; LibreOffice its local time with a false «Z».
    with_modified(path, utc(saved) if app is None else saved.strftime("%Y-%m-%dT%H:%M:%SZ")
                  .encode(), app)
    received_at(path, received)
    (report,) = check(ws, tmp_path).files
    assert codes(report) == (["W107"] if flagged else [])


@pytest.mark.parametrize(
    "text",
    [None, b"", b"   ", "hôm qua".encode(), b"2026", b"0001-01-01T00:00:00Z",
     b"9999-12-31T23:59:59-14:00", b"2026-02-30T10:00:00Z", b"x" * 100_000],
    ids=["no-core-part", "empty", "spaces", "words", "year-only", "year-1", "year-9999-west",
         "february-30", "100-KB"],
)
def test_odd_or_missing_saved_times_give_no_warning_and_no_error(
    ws: workspace.Workspace, tmp_path: Path, text: bytes | None,
) -> None:
    path = with_modified(a_return(ws, tmp_path, "HU01", "HU01.xlsx"), text)
    received_at(path, now() - dt.timedelta(days=30))
    (report,) = check(ws, tmp_path).files
    assert codes(report) == [] and report.status == FileStatus.VALID


def test_a_far_future_saved_time_is_flagged_and_a_broken_core_part_is_not(
    ws: workspace.Workspace, tmp_path: Path,
) -> None:
    future = with_modified(a_return(ws, tmp_path, "HU01", "HU01.xlsx"), b"2099-01-01T00:00:00Z")
    broken = a_return(ws, tmp_path, "HU02", "HU02.xlsx")
    parts = xlsx_parts(broken)
    parts[CORE] = parts[CORE][: len(parts[CORE]) // 2]  # cut in the middle of the XML
    write_zip(broken, parts)
    reports = {r.name: r for r in check(ws, tmp_path).files}
    assert codes(reports[future.name]) == ["W107"]
    assert codes(reports[broken.name]) == [] and reports[broken.name].saved is None


def test_an_attachment_saved_after_its_email_was_received_gets_w107(
    ws: workspace.Workspace, tmp_path: Path,
) -> None:
    """The e-mail's receipt time is the one compared; the finding names the attachment."""
    made = a_return(ws, tmp_path / "made", "HU03", "bao-cao.xlsx")
    sample.stamp_saved(made, dt.datetime(2026, 6, 17, 8, 0))  # the day after the mail came
    inbox = tmp_path / "inbox"
    mails.save_eml(mails.message(
        attachments=[("bao-cao.xlsx", made.read_bytes())],
        received=["from mx by mail.binhan.example; Tue, 16 Jun 2026 09:15:02 +0700"]),
        inbox / "thu.eml", mtime=dt.datetime(2026, 12, 1, 9, 0))
    (report,) = check(ws, inbox).files
    assert codes(report) == ["W107"] and report.findings[0].file == "bao-cao.xlsx"
    assert "09:15:02 ngày 16/06/2026 (lấy từ: thư điện tử (máy chủ nhận))" in (
        report.findings[0].message)


def test_the_demos_returns_get_no_w107(tmp_path: Path) -> None:
    """Sample returns dated into the past carry that date as their saved time too."""
    ws = workspace.init(tmp_path / "ws")
    workspace.make_templates(ws, PERIOD)
    catalog = ws.load()
    period = catalog.period(PERIOD)
    sample.simulate_returns(catalog, period, ws.templates(PERIOD), ws.inbox)
    batch = validate_inbox(catalog, ws.inbox, period, seal=ws.seal())
    assert batch.files and not [r.name for r in batch.files
                                if any(f.code == "W107" for f in r.findings)]
    dated = [r for r in batch.files if r.saved is not None]
    assert dated and all(r.saved is not None and r.saved.at <= r.received for r in dated)


# LibreOffice: local time with a false «Z» in .xlsx, no zone in .ods --------------------------


def test_libreoffice_saved_returns_round_trip_without_a_false_w107(
    ws: workspace.Workspace, tmp_path: Path,
) -> None:
    """A clerk fills the template in LibreOffice 7.4 (in Hà Nội) and saves .xlsx, .ods and .xls;
    the office receives them a minute later: no W107, although the .xlsx claims a UTC time 7 h
    ahead (the .xls's FILETIME is true UTC). Dated two days back, all three are flagged."""
    require_libreoffice()
    catalog = ws.load()
    unit = catalog.unit("HU01")
    cell = next(r.cell for r in form_rows(catalog, unit) if r.key == "1.1.HN_SO")
    source = ws.templates(PERIOD) / template_name(catalog.period(PERIOD), unit)
    folder = tmp_path / "lo"
    outputs = [Output(folder / "HU01.xlsx", "xlsx"), Output(folder / "HU01.ods", "ods"),
               Output(folder / "HU01.xls", "xls")]
    (result,) = fill_and_save([FillJob(source, [CellEdit(FORM, cell, 3)], outputs)])
    assert result.ok, result.errors
    for out in outputs:
        book = read_book(out.path).book
        assert book is not None and book.saved is not None
        # LibreOffice's zone is not trusted, except in an .xls's FILETIME (UTC by the format).
        assert book.saved.zoned == (out.format == "xls"), out.path.name
        assert abs(book.saved.at - dt.datetime.now()) < dt.timedelta(minutes=10), out.path.name
        received_at(out.path, dt.datetime.now() + dt.timedelta(minutes=1))
    reports = check(ws, folder).files
    assert [(r.name, "W107" in codes(r)) for r in reports] == [
        ("HU01.ods", False), ("HU01.xls", False), ("HU01.xlsx", False)]
    for out in outputs:
        received_at(out.path, dt.datetime.now() - dt.timedelta(days=2))
    assert [(r.name, "W107" in codes(r)) for r in check(ws, folder).files] == [
        ("HU01.ods", True), ("HU01.xls", True), ("HU01.xlsx", True)]
