"""Saved e-mails for the tests: real ``.eml`` files made with the standard library, and real
Outlook ``.msg`` files written by aspose-email-foss (MIT, pure Python) from them.

aspose-email-foss was chosen among the PyPI packages that write the format: it is pure
Python with no dependencies, MIT-licensed, converts an ``email.message.EmailMessage``
(transport headers and embedded messages included) into a ``.msg``, and sets MAPI
properties such as the delivery time; extract-msg reads its files back. msgforge (MIT)
builds messages from its own arguments only, without transport headers; independentsoft.msg
is a commercial evaluation.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def message(
    *,
    attachments: Sequence[tuple[str | None, bytes]] = (),
    received: Sequence[str] = (),
    date: str | None = "Tue, 16 Jun 2026 09:14:00 +0700",
    sender: str = "Huyện ủy Hòa Bình <hu03@binhan.example>",
    subject: str = "Báo cáo 6 tháng đầu năm 2026",
    nested: Sequence[EmailMessage] = (),
    inline_image: bool = False,
) -> EmailMessage:
    """An e-mail as a unit sends it and the office's server receives it (``received``: the
    ``Received:`` headers, top-most first)."""
    mail = EmailMessage()
    for header in received:
        mail["Received"] = header
    mail["From"] = sender
    mail["To"] = "Ban Dân vận <bdv@binhan.example>"
    mail["Subject"] = subject
    if date is not None:
        mail["Date"] = date
    mail.set_content("Kính gửi Ban Dân vận Tỉnh ủy,\nĐơn vị gửi báo cáo kèm theo.\n")
    if inline_image:
        mail.add_alternative("<p>Kính gửi <img src='cid:logo@x'></p>", subtype="html")
        html = mail.get_payload()[1]
        html.add_related(b"\x89PNG\r\n\x1a\nlogo", maintype="image", subtype="png",
                         cid="<logo@x>")
    for name, data in attachments:
        if name is None:  # an attachment whose name the sender's program left out
            mail.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                                disposition="attachment")
        else:
            mail.add_attachment(data, maintype="application", subtype="octet-stream",
                                filename=name)
    for inner in nested:
        mail.add_attachment(inner)
    return mail


def save_eml(mail: EmailMessage, path: Path, mtime: dt.datetime | None = None) -> Path:
    """Write ``mail`` as an .eml; ``mtime``: when the office saved it into the inbox."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(mail))
    _touch(path, mtime)
    return path


def save_msg(mail: EmailMessage, path: Path, delivered: dt.datetime | None = None,
             mtime: dt.datetime | None = None) -> Path:
    """Write ``mail`` as Outlook would save it (.msg); ``delivered``: its delivery time."""
    from aspose.email_foss import msg

    converted = msg.MapiMessage.from_email_message(mail)
    if delivered is not None:
        converted.set_property(msg.PropertyId.MESSAGE_DELIVERY_TIME, delivered)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converted.to_bytes())
    _touch(path, mtime)
    return path


def _touch(path: Path, mtime: dt.datetime | None) -> None:
    if mtime is not None:
        stamp = mtime.timestamp()
        os.utime(path, (stamp, stamp))
