"""Saved e-mails read as plain data: receipt time and its source, sender, spreadsheets.

Real messages: ``.eml`` files made with the standard library, ``.msg`` files written by
aspose-email-foss and read back by extract-msg (tests/mails.py says why that writer).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path

import openpyxl
import pytest

from dvxl import mail
from dvxl.gates import Limits
from dvxl.receipt_time import RECEIVED, SENT, local_naive

import mails

RECEIVED_BY_OFFICE = (
    "from mx.binhan.example by mail.binhan.example; Tue, 16 Jun 2026 09:15:02 +0700")
RECEIVED_BY_SENDER = "from pc.hu03 by smtp.hu03.example; Tue, 16 Jun 2026 09:14:30 +0700"


pytestmark = pytest.mark.usefixtures("hanoi")  # conftest.py: the office's clock


@functools.cache
def xlsx(text: str = "Báo cáo") -> bytes:
    """A small workbook; cached, since openpyxl stamps the clock into it and tests compare bytes."""
    book = openpyxl.Workbook()
    book.active["A1"] = text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(path: Path, limits: Limits | None = None) -> mail.MailResult:
    return mail.read_message(path, limits or Limits())


def test_the_top_most_received_header_is_the_time_of_receipt(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(
        attachments=[("bao-cao.xlsx", xlsx())],
        received=[RECEIVED_BY_OFFICE, RECEIVED_BY_SENDER]), tmp_path / "tin-nhan.eml")

    message = read(path).message

    assert message is not None
    assert (message.received, message.received_from) == (dt.datetime(2026, 6, 16, 9, 15, 2),
                                                          RECEIVED)
    assert message.sender == "Huyện ủy Hòa Bình <hu03@binhan.example>"
    assert message.sender_address == "hu03@binhan.example"
    assert message.subject == "Báo cáo 6 tháng đầu năm 2026"
    assert [(a.name, a.data) for a in message.attachments] == [("bao-cao.xlsx", xlsx())]


def test_without_received_headers_the_date_header_is_used(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(attachments=[("bao-cao.xlsx", xlsx())]),
                          tmp_path / "tin-nhan.eml")

    message = read(path).message

    assert message is not None
    assert (message.received, message.received_from) == (dt.datetime(2026, 6, 16, 9, 14), SENT)


def test_times_are_brought_to_local_time_without_a_zone(tmp_path: Path) -> None:
    # 23:30 UTC on the 16th is 06:30 on the 17th in Hà Nội: the day a deadline is judged by.
    path = mails.save_eml(mails.message(
        attachments=[("a.xlsx", xlsx())],
        received=["by mail.binhan.example; Tue, 16 Jun 2026 23:30:00 +0000"],
        date="Tue, 16 Jun 2026 23:29:00 -0000"), tmp_path / "a.eml")

    message = read(path).message

    assert message is not None and message.received == dt.datetime(2026, 6, 17, 6, 30)
    assert local_naive(dt.datetime(2026, 6, 16, 23, 29)) == dt.datetime(2026, 6, 17, 6, 29)


def test_a_message_without_any_time_has_none(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(attachments=[("a.xlsx", xlsx())], date=None,
                                        received=["from x by y (no date)"]), tmp_path / "a.eml")

    message = read(path).message

    assert message is not None and (message.received, message.received_from) == (None, "")


def test_a_nested_message_gives_its_attachments(tmp_path: Path) -> None:
    forwarded = mails.message(attachments=[("bao-cao HU03.xlsx", xlsx("HU03"))],
                              date="Mon, 15 Jun 2026 08:00:00 +0700")
    saved = mails.message(attachments=[("thu-cu.eml", bytes(mails.message(
        attachments=[("bao-cao HU04.xlsx", xlsx("HU04"))])))])
    path = mails.save_eml(mails.message(received=[RECEIVED_BY_OFFICE],
                                        nested=[forwarded, saved]), tmp_path / "chuyen-tiep.eml")

    message = read(path).message

    assert message is not None
    assert [a.name for a in message.attachments] == ["bao-cao HU03.xlsx", "bao-cao HU04.xlsx"]
    # The outer message's receipt time: when the office received it.
    assert message.received == dt.datetime(2026, 6, 16, 9, 15, 2)


def test_a_message_without_a_spreadsheet_lists_what_it_has(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(
        attachments=[("cong-van.pdf", b"%PDF-1.4\n"), ("smime.p7s", b"\x30\x82")],
        inline_image=True), tmp_path / "a.eml")

    message = read(path).message

    assert message is not None and message.attachments == ()
    assert message.others == ("cong-van.pdf", "smime.p7s")


def test_spreadsheets_are_found_by_content_and_by_extension(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(attachments=[
        ("bao-cao.dat", xlsx()),  # a spreadsheet under another name: by content
        ("hong.xlsx", b"%PDF-1.4\n"),  # named as one: the checks will say what it is
        ("anh.png", b"\x89PNG\r\n\x1a\n"),
    ]), tmp_path / "a.eml")

    message = read(path).message

    assert message is not None
    assert [a.name for a in message.attachments] == ["bao-cao.dat", "hong.xlsx"]
    assert message.others == ("anh.png",)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        pytest.param(None, "tep-dinh-kem-1.xlsx", id="missing"),
        pytest.param("../../Windows/bao cáo.xlsx", "bao cáo.xlsx", id="parent-folders"),
        pytest.param("C:\\Users\\vt\\BC.xlsx", "BC.xlsx", id="absolute-windows"),
        pytest.param("/etc/bao-cao.xlsx", "bao-cao.xlsx", id="absolute-posix"),
        pytest.param("..", "tep-dinh-kem-1.xlsx", id="dots-only"),
        pytest.param("bao\x00cao?.xlsx", "bao_cao_.xlsx", id="reserved-characters"),
        pytest.param("bao cao\u0301.xlsx", "bao caó.xlsx", id="decomposed-unicode"),
    ],
)
def test_attachment_names_are_made_safe(tmp_path: Path, given: str | None, shown: str) -> None:
    path = mails.save_eml(mails.message(attachments=[(given, xlsx())]), tmp_path / "a.eml")

    message = read(path).message

    assert message is not None and [a.name for a in message.attachments] == [shown]


def test_duplicated_attachment_names_are_told_apart(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(attachments=[
        ("bao-cao.xlsx", xlsx("1")), ("BAO-CAO.xlsx", xlsx("2")), ("bao-cao.xlsx", xlsx("3"))]),
        tmp_path / "a.eml")

    message = read(path).message

    assert message is not None
    assert [a.name for a in message.attachments] == [
        "bao-cao.xlsx", "BAO-CAO (2).xlsx", "bao-cao (3).xlsx"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(b"", "F002", id="empty"),
        pytest.param(b"\x00\x01\x02 not a message at all", "F003", id="binary"),
        pytest.param(b"Just some words\n\nand more", "F003", id="no-headers"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "F003", id="broken-msg"),
    ],
)
def test_a_malformed_message_gets_a_finding_not_a_crash(
    tmp_path: Path, content: bytes, code: str
) -> None:
    suffix = ".msg" if content.startswith(b"\xd0\xcf") else ".eml"
    path = tmp_path / f"hong{suffix}"
    path.write_bytes(content)

    result = read(path)

    assert result.message is None
    assert [(f.code, f.file) for f in result.findings] == [(code, path.name)]


def test_the_reader_size_limits_bound_a_message(tmp_path: Path) -> None:
    path = mails.save_eml(mails.message(attachments=[("a.xlsx", xlsx())]), tmp_path / "a.eml")
    many = mails.save_eml(mails.message(attachments=[(f"{i}.pdf", b"%PDF") for i in range(30)]),
                          tmp_path / "many.eml")

    too_big = read(path, Limits(max_file_bytes=1000))
    too_many = read(many, Limits(max_parts=10))

    assert [f.code for f in too_big.findings] == ["F005"]
    assert [f.code for f in too_many.findings] == ["F006"]


def test_sniffing_tells_messages_from_other_files(tmp_path: Path) -> None:
    eml = bytes(mails.message())
    msg = mails.save_msg(mails.message(), tmp_path / "a.msg").read_bytes()

    assert (mail.sniff(eml), mail.sniff(msg)) == (mail.EML, mail.MSG)
    assert mail.sniff(xlsx()) == mail.sniff(b"Ho ten: Nguyen Van A\nSo: 12\n") == ""


def test_outlook_msg_gives_its_received_time_sender_and_spreadsheets(tmp_path: Path) -> None:
    inner = mails.message(attachments=[("phu-luc.xlsx", xlsx("2"))])
    path = mails.save_msg(mails.message(
        attachments=[("bao-cao.xlsx", xlsx("1")), ("cong-van.pdf", b"%PDF-1.4\n")],
        received=[RECEIVED_BY_OFFICE], nested=[inner]), tmp_path / "tin-nhan.msg")

    result = read(path)

    message = result.message
    assert message is not None, result.findings
    assert message.format == mail.MSG
    assert (message.received, message.received_from) == (dt.datetime(2026, 6, 16, 9, 15, 2),
                                                          RECEIVED)
    assert message.sender_address == "hu03@binhan.example"
    assert message.subject == "Báo cáo 6 tháng đầu năm 2026"
    assert [(a.name, a.data) for a in message.attachments] == [
        ("bao-cao.xlsx", xlsx("1")), ("phu-luc.xlsx", xlsx("2"))]
    assert message.others == ("cong-van.pdf",)


def test_outlook_msg_without_transport_headers_uses_its_delivery_time(tmp_path: Path) -> None:
    delivered = dt.datetime(2026, 6, 17, 1, 0, tzinfo=dt.UTC)
    path = mails.save_msg(mails.message(attachments=[("a.xlsx", xlsx())]), tmp_path / "a.msg",
                          delivered=delivered)

    message = read(path).message

    assert message is not None
    assert (message.received, message.received_from) == (dt.datetime(2026, 6, 17, 8, 0),
                                                          RECEIVED)
