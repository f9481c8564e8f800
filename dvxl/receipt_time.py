"""Where a return's time of receipt comes from, in the order dvxl trusts them.

"Late" decides a unit's class, so the time must be when the *office* received the
return (DESIGN §6), not when somebody saved a file into the inbox:

1. the office's own receipt: the server's clock when the return came through the upload
   page (:mod:`dvxl.upload`) — :data:`UPLOAD`; when it came in a saved e-mail (:mod:`dvxl.mail`):
   the top-most ``Received:`` header, written by the office's own mail server (for an
   Outlook ``.msg`` without transport headers, its delivery time) — :data:`RECEIVED`;
   without one, the message's ``Date``, the sender's clock — :data:`SENT`;
2. a time the secretariat typed in the master's «Thời điểm nhận» sheet for the unit and
   period (a return brought on paper or a USB stick) — :data:`TYPED`;
3. the file's modification time — :data:`FILE`.

The ledger records which one was used (``receipts.received_from``), and the tracking
sheet shows it. Times are local naive datetimes, as dvxl keeps every time (a file's
``modified`` is ``datetime.fromtimestamp(st_mtime)``): see :func:`local_naive`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: Stable codes of the sources, as the ledger stores them (never renamed).
RECEIVED, SENT, TYPED, FILE = "received", "sent", "typed", "file"
UPLOAD = "upload"
#: The sources that come from a saved e-mail.
FROM_MAIL = frozenset({RECEIVED, SENT})
#: The office's own receipts: a time typed in the master does not override them.
OWN_RECEIPT = FROM_MAIL | {UPLOAD}
#: How each source is shown to the secretariat.
LABELS = {
    RECEIVED: "Thư điện tử (máy chủ nhận)",
    SENT: "Thư điện tử (ngày gửi)",
    TYPED: "Văn phòng nhập",
    FILE: "Ngày lưu tệp",
    UPLOAD: "Trang tải lên (giờ máy chủ)",
}


@dataclass(frozen=True)
class TypedReceipt:
    """A receipt time the secretariat typed in the master for a unit and period."""

    period: str
    unit: str
    received: dt.datetime  # local time; midnight when only a date was typed
    note: str
    where: str  # «Trang tính «Thời điểm nhận», dòng 5», for messages


def local_naive(moment: dt.datetime) -> dt.datetime:
    """``moment`` in this computer's time zone, without the zone, to the second.

    The office's PC is in the office's time zone, and every other time dvxl keeps (files'
    modification times, recording times) is its local time without a zone, so e-mail times
    are brought to the same footing: ``Tue, 16 Jun 2026 23:30:00 +0000`` is 17/06/2026
    06:30 in Hà Nội. A time without a zone (an e-mail's ``-0000``) is taken as UTC, as
    RFC 5322 says it is.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().replace(tzinfo=None, microsecond=0)
