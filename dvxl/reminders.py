"""The reminder sent to a unit that has not sent a valid return (Vietnamese).

One sentence per unit, ready to paste into a letter or an e-mail: the period workbook's
«Đôn đốc» sheet lists them. Before the deadline it asks for the report by the deadline;
after it, it asks the unit to hurry; for a file with errors it names the file and the
number of errors to fix; for a return the secretariat sent back, the reason (issue 16).
"""

from __future__ import annotations

from dvxl import printing
from dvxl.merge import Consolidated, Track
from dvxl.statuses import TrackStatus


def reminder_text(c: Consolidated, track: Track) -> str:
    """The sentence to send a unit that has not sent a valid return (Vietnamese)."""
    p = c.period
    name = track.unit.name
    deadline = printing.format_date(p.deadline)
    overdue = c.generated.date() > p.deadline
    if track.status is TrackStatus.MISSING:
        if overdue:
            return (f"Đến ngày {printing.format_date(c.generated)}, {name} chưa gửi báo cáo "
                    f"{p.name} (hạn gửi ngày {deadline}). Đề nghị {name} khẩn trương gửi "
                    "báo cáo.")
        return f"Đề nghị {name} gửi báo cáo {p.name} trước ngày {deadline}."
    when = "khẩn trương gửi lại" if overdue else f"gửi lại trước ngày {deadline}"
    sent = f" gửi ngày {printing.format_date(track.last_received)}" if track.last_received else ""
    if track.returned and track.review is not None:
        reason = track.review.reason.rstrip(" .")
        return (f"Văn phòng trả lại báo cáo «{track.last_name}»{sent}, lý do: {reason}. "
                f"Đề nghị {name} sửa theo lý do trên và {when}.")
    if track.errors:
        return (f"Đề nghị {name} sửa {track.errors} lỗi trong tệp «{track.last_name}»{sent} "
                f"theo bảng kết quả kiểm tra kèm theo và {when}.")
    return (f"Tệp «{track.last_name}»{sent} không đọc được hoặc không đúng mẫu báo cáo "
            f"{p.name}. Đề nghị {name} nhập báo cáo vào đúng mẫu đã gửi và {when}.")
