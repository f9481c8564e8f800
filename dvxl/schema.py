"""The configuration tables: one definition shared by the master workbook and the text catalog.

Each table is a sheet of the master workbook (Vietnamese title and headers) and
a list in the text catalog (English keys). :func:`parse_value` turns whatever a
cell or a YAML scalar holds into the typed value, with a Vietnamese complaint
when it cannot; both sources go through it, so they are checked alike.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from dvxl.model import INDICATOR_TYPES

YES, NO = "Có", "Không"
#: The words of an indicator's «Tổng hợp trong báo cáo» cell, by :data:`dvxl.model.SUMMARIES`.
SUMMARY_LABELS = {
    "sum": "tổng",
    "mean": "bình quân",
    "count": "đếm",
    "rate": "tỷ lệ",
    "none": "không",
}
POSITION_LABELS = {"before": "Trước", "after": "Sau"}
SEVERITY_LABELS = {"error": "Lỗi", "warning": "Cảnh báo"}


@dataclass(frozen=True)
class Column:
    """A column of a config table.

    ``kind`` is one of: text, code, int, num, date, datetime (a date, with a time or
    not), bool, codes (a comma-separated list of codes), type (indicator type),
    position, severity. ``required`` columns must not be empty.
    """

    field: str
    header: str
    kind: str
    width: float
    required: bool = False
    note: str = ""


@dataclass(frozen=True)
class Table:
    """A config table: ``keyvalue`` tables have one row per field instead of one per record.

    An ``optional`` table may be missing from a master made by an older dvxl (and from a
    text catalog): its records then take the model's defaults.
    """

    key: str
    sheet: str
    title: str
    columns: tuple[Column, ...]
    keyvalue: bool = False
    optional: bool = False

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)


def _t(
    key: str,
    sheet: str,
    title: str,
    *columns: Column,
    keyvalue: bool = False,
    optional: bool = False,
) -> Table:
    return Table(key, sheet, title, columns, keyvalue, optional)


C = Column

TABLES: tuple[Table, ...] = (
    _t(
        "directive",
        "Văn bản",
        "Văn bản chỉ đạo được theo dõi",
        C("code", "Mã văn bản trong dvxl", "code", 0, True),
        C("kind", "Loại văn bản", "text", 0, True),
        C("number", "Số, ký hiệu", "text", 0),
        C("date", "Ngày ban hành", "date", 0),
        C("issuer", "Cơ quan ban hành", "text", 0, True),
        C("subject", "Trích yếu", "text", 0, True),
        keyvalue=True,
    ),
    _t(
        "cited",
        "Căn cứ",
        "Các văn bản được dẫn chiếu",
        C("number", "Số, ký hiệu", "text", 16, True),
        C("kind", "Loại văn bản", "text", 20, True),
        C("date", "Ngày ban hành", "date", 14, True),
        C("issuer", "Cơ quan ban hành", "text", 24, True),
        C("title", "Trích yếu", "text", 90, True),
    ),
    _t(
        "groups",
        "Nhóm",
        "Nhóm đơn vị được giao nhiệm vụ",
        C("code", "Mã nhóm", "code", 16, True),
        C("name", "Tên nhóm", "text", 80, True),
        C("section", "Mục", "int", 8, True),
        C(
            "letterhead",
            "Tiêu đề mẫu",
            "code",
            16,
            False,
            "Mã tiêu đề ở trang «Tiêu đề mẫu» dùng cho mẫu báo cáo của các đơn vị xếp loại "
            "trong nhóm; để trống: thể thức văn bản của Đảng, ký T/M Ban Thường vụ",
        ),
    ),
    _t(
        "tasks",
        "Nhiệm vụ",
        "Nhiệm vụ (mỗi gạch đầu dòng của văn bản là một nhiệm vụ)",
        C("code", "Mã nhiệm vụ", "code", 10, True),
        C("section", "Mục", "int", 6, True),
        C("title", "Tên ngắn", "text", 40, True),
        C("groups", "Nhóm được giao", "codes", 30, False, "Mã nhóm, cách nhau bởi dấu phẩy"),
        C("text", "Nội dung (nguyên văn)", "text", 100, True),
    ),
    _t(
        "indicators",
        "Chỉ tiêu",
        "Chỉ tiêu đơn vị báo cáo cho từng nhiệm vụ",
        C(
            "task",
            "Nhiệm vụ",
            "code",
            10,
            True,
            "Mã nhiệm vụ; * là chỉ tiêu chung của mọi nhiệm vụ",
        ),
        C("position", "Vị trí", "position", 8, False, "Chỉ tiêu chung: Trước hoặc Sau"),
        C("code", "Mã chỉ tiêu", "code", 14, True),
        C("label", "Tên chỉ tiêu", "text", 45, True),
        C("help", "Hướng dẫn nhập", "text", 50),
        C("type", "Kiểu dữ liệu", "type", 22, True),
        C("unit", "Đơn vị tính", "text", 12),
        C("required", "Bắt buộc", "bool", 10),
        C("minimum", "Tối thiểu", "num", 10),
        C("maximum", "Tối đa", "num", 10),
        C("choices", "Danh mục", "code", 14),
        C(
            "summary",
            "Tổng hợp trong báo cáo",
            "summary",
            18,
            False,
            "tổng; bình quân; đếm (số đơn vị theo từng giá trị); đếm: Có (số đơn vị chọn «Có»); "
            "tỷ lệ: MÃ (tổng chỉ tiêu này trên tổng chỉ tiêu MÃ); không. Để trống: số thì "
            "cộng, chọn thì đếm",
        ),
        C(
            "usual_min",
            "Thường từ",
            "num",
            10,
            False,
            "Khoảng số liệu thường gặp (chỉ tiêu số): ngoài khoảng này dvxl cảnh báo để văn "
            "phòng xác minh (W108), không từ chối",
        ),
        C("usual_max", "Thường đến", "num", 10),
        C(
            "outlier_threshold",
            "Ngưỡng bất thường",
            "num",
            11,
            False,
            "Điểm z cải tiến trên ngưỡng này là bất thường; để trống: 3,5",
        ),
    ),
    _t(
        "lists",
        "Danh mục",
        "Danh mục giá trị cho chỉ tiêu kiểu chọn",
        C("code", "Mã danh mục", "code", 16, True),
        C("value", "Giá trị", "text", 50, True),
    ),
    _t(
        "rules",
        "Quy tắc",
        "Quy tắc kiểm tra chéo giữa các chỉ tiêu",
        C("code", "Mã quy tắc", "code", 10, True),
        C(
            "task",
            "Nhiệm vụ",
            "code",
            10,
            True,
            "Mã nhiệm vụ; * là mọi nhiệm vụ có các chỉ tiêu này",
        ),
        C("expression", "Biểu thức", "text", 60, True),
        C("severity", "Mức độ", "severity", 10, True),
        C("message", "Thông báo cho đơn vị", "text", 60, True),
    ),
    _t(
        "units",
        "Đơn vị",
        "Danh sách đơn vị báo cáo",
        C("code", "Mã đơn vị", "code", 12, True),
        C("name", "Tên đơn vị", "text", 50, True),
        C(
            "groups",
            "Nhóm",
            "codes",
            34,
            False,
            "Mã nhóm, cách nhau bởi dấu phẩy; nhóm đầu tiên là nhóm xếp loại",
        ),
        C("email", "Thư điện tử", "text", 32),
        C(
            "letterhead",
            "Tiêu đề mẫu",
            "code",
            16,
            False,
            "Để trống: theo nhóm xếp loại; ghi mã khi đơn vị dùng tiêu đề, chữ ký khác nhóm",
        ),
    ),
    _t(
        "letterheads",
        "Tiêu đề mẫu",
        "Tiêu đề và chữ ký trên mẫu báo cáo của đơn vị",
        C("code", "Mã tiêu đề", "code", 14, True),
        C("name", "Dùng cho", "text", 30),
        C(
            "superior",
            "Cơ quan cấp trên",
            "text",
            30,
            False,
            "Dòng trên tên đơn vị, bên trái; {tinh} là tên tỉnh",
        ),
        C("mark", "Dấu dưới tên đơn vị", "text", 10, False, "* (văn bản của Đảng), *** (Đoàn)"),
        C("heading", "Tiêu đề bên phải", "text", 34, True, "ĐẢNG CỘNG SẢN VIỆT NAM…"),
        C("motto", "Dòng thứ hai bên phải", "text", 26, False, "Độc lập - Tự do - Hạnh phúc…"),
        C("authority", "Thẩm quyền ký", "text", 24, False, "T/M BAN THƯỜNG VỤ, T/M ĐẢNG ĐOÀN…"),
        C("signer_title", "Chức vụ người ký", "text", 18, False, "Để trống: đơn vị tự ghi"),
        optional=True,
    ),
    _t(
        "periods",
        "Kỳ báo cáo",
        "Kỳ báo cáo (Nghị định 09/2019/NĐ-CP, Điều 12)",
        C("code", "Mã kỳ", "code", 12, True),
        C("name", "Tên kỳ", "text", 30, True),
        C("start", "Từ ngày", "date", 14, True),
        C("end", "Đến ngày (chốt số liệu)", "date", 18, True),
        C("deadline", "Hạn gửi báo cáo", "date", 16, True),
    ),
    _t(
        "rubric",
        "Biểu điểm",
        "Biểu điểm: điểm tối đa của từng nhiệm vụ theo nhóm xếp loại",
        C("group", "Nhóm xếp loại", "code", 16, True),
        C("task", "Nhiệm vụ", "code", 10, True),
        C("points", "Điểm tối đa", "num", 12, True),
    ),
    _t(
        "levels",
        "Xếp loại",
        "Mức xếp loại (Quy định 366-QĐ/TW), từ cao xuống thấp",
        C("code", "Mã mức", "code", 10, True),
        C("name", "Mức xếp loại", "text", 36, True),
        C("min_score", "Điểm từ", "num", 10, True),
        C("condition", "Điều kiện thêm", "text", 50),
        C(
            "cap",
            "Tỷ lệ tối đa",
            "num",
            12,
            False,
            "Phần của số đơn vị xếp mức này trở lên trong nhóm; 0 là không giới hạn",
        ),
    ),
    _t(
        "settings",
        "Tham số",
        "Tham số chung",
        C("province", "Tên tỉnh", "text", 0, True),
        C("template_version", "Phiên bản mẫu biểu", "int", 0, True),
        C("sheet_password", "Mật khẩu khóa mẫu (trang tính và cấu trúc sổ)", "text", 0),
        C("max_file_mb", "Dung lượng tệp tối đa (MB)", "num", 0, True),
        C("not_rated", "Tên mức khi không đủ điều kiện xếp loại", "text", 0, True),
        C("only_accepted", "Chỉ tổng hợp báo cáo đã duyệt (Có/Không)", "bool", 0),
        keyvalue=True,
    ),
    _t(
        "issuing",
        "Ban hành",
        "Cơ quan ban hành và người ký báo cáo định kỳ",
        C("superior", "Cơ quan cấp trên (để trống: TỈNH ỦY + tên tỉnh)", "text", 0),
        C("issuer", "Cơ quan ban hành (chữ in hoa)", "text", 0),
        C("issuer_name", "Tên cơ quan ban hành trong lời văn", "text", 0),
        C("code", "Ký hiệu cơ quan trong số văn bản (Số …-BC/ký hiệu)", "text", 0),
        C("number", "Số báo cáo (để trống: văn thư ghi khi ban hành)", "text", 0),
        C("place", "Địa danh (để trống: tên tỉnh)", "text", 0),
        C("reported_to", "Báo cáo gửi", "text", 0),
        C("authority", "Thẩm quyền ký (T/M, K/T…; để trống nếu ký trực tiếp)", "text", 0),
        C("signer_title", "Chức vụ người ký", "text", 0),
        C("signer_name", "Họ tên người ký", "text", 0),
        keyvalue=True,
        optional=True,
    ),
    _t(
        "recipients",
        "Nơi nhận",
        "Nơi nhận báo cáo định kỳ",
        C("recipient", "Nơi nhận", "text", 80, True),
        optional=True,
    ),
    _t(
        "format",
        "Thể thức",
        "Thể thức văn bản của báo cáo (cỡ chữ: point; lề, khoảng cách: mm)",
        C("name", "Căn cứ", "text", 0),
        C("font", "Phông chữ", "text", 0),
        C("paper_width_mm", "Khổ giấy: rộng (mm)", "num", 0),
        C("paper_height_mm", "Khổ giấy: cao (mm)", "num", 0),
        C("margin_top_mm", "Lề trên (mm)", "num", 0),
        C("margin_bottom_mm", "Lề dưới (mm)", "num", 0),
        C("margin_left_mm", "Lề trái (mm)", "num", 0),
        C("margin_right_mm", "Lề phải (mm)", "num", 0),
        C("size_party", "Cỡ chữ «ĐẢNG CỘNG SẢN VIỆT NAM»", "num", 0),
        C("size_bodies", "Cỡ chữ tên cơ quan cấp trên, cơ quan ban hành", "num", 0),
        C("size_number", "Cỡ chữ số, ký hiệu", "num", 0),
        C("size_place_date", "Cỡ chữ địa danh, ngày tháng", "num", 0),
        C("size_type", "Cỡ chữ tên loại «BÁO CÁO»", "num", 0),
        C("size_subject", "Cỡ chữ trích yếu", "num", 0),
        C("size_text", "Cỡ chữ nội dung", "num", 0),
        C("size_recipients", "Cỡ chữ danh sách nơi nhận", "num", 0),
        C("size_signature", "Cỡ chữ thẩm quyền, chức vụ, họ tên người ký", "num", 0),
        C("size_table", "Cỡ chữ trong bảng", "num", 0),
        C("size_page_number", "Cỡ chữ số trang", "num", 0),
        C("first_line_indent_mm", "Thụt đầu dòng (mm)", "num", 0),
        C("space_after_pt", "Khoảng cách sau đoạn (point)", "num", 0),
        C("line_spacing", "Giãn dòng (1 là dòng đơn)", "num", 0),
        C("page_number_from", "Đánh số trang từ trang", "int", 0),
        keyvalue=True,
        optional=True,
    ),
)

TABLE = {t.key: t for t in TABLES}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


_DATE_TEXT = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def _as_text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    return nfc(str(raw)).strip()


def parse_value(kind: str, raw: Any) -> Any:
    """Turn a cell or YAML value into the typed value of ``kind``; ValueError in Vietnamese.

    Empty input gives the kind's empty value ("" / None / False / ()).
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {"bool": False, "codes": ()}.get(kind, "" if kind in _TEXTUAL else None)
    if kind in ("text", "code"):
        return _as_text(raw)
    if kind == "int":
        if isinstance(raw, bool):
            raise ValueError("cần một số nguyên")
        try:
            number = float(str(raw).strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"«{_as_text(raw)}» không phải số nguyên") from None
        if not number.is_integer():
            raise ValueError(f"«{_as_text(raw)}» không phải số nguyên")
        return int(number)
    if kind == "num":
        if isinstance(raw, bool):
            raise ValueError("cần một số")
        try:
            number = float(str(raw).strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"«{_as_text(raw)}» không phải số") from None
        return int(number) if number.is_integer() else number
    if kind == "date":
        return _parse_date(raw)
    if kind == "datetime":
        return _parse_datetime(raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = _as_text(raw).casefold()
        if text in ("có", "x", "true", "1", "yes"):
            return True
        if text in ("không", "false", "0", "no"):
            return False
        raise ValueError(f"«{_as_text(raw)}» phải là «{YES}» hoặc «{NO}»")
    if kind == "codes":
        items = raw if isinstance(raw, list | tuple) else re.split(r"[,;]", _as_text(raw))
        return tuple(_as_text(item) for item in items if _as_text(item))
    if kind == "type":
        text = _as_text(raw)
        if text in INDICATOR_TYPES:
            return text
        for code, label in INDICATOR_TYPES.items():
            if text.casefold() == label.casefold():
                return code
        allowed = ", ".join(INDICATOR_TYPES.values())
        raise ValueError(f"kiểu dữ liệu «{text}» không có; chọn một trong: {allowed}")
    if kind in ("position", "severity"):
        labels = POSITION_LABELS if kind == "position" else SEVERITY_LABELS
        text = _as_text(raw)
        for code, label in labels.items():
            if text.casefold() in (code, label.casefold()):
                return code
        allowed = " hoặc ".join(f"«{v}»" for v in labels.values())
        raise ValueError(f"«{text}» phải là {allowed}")
    if kind == "summary":
        return _parse_summary(_as_text(raw))
    raise AssertionError(f"unknown column kind {kind}")


_TEXTUAL = frozenset({"text", "code", "position", "severity", "type", "summary"})


def _parse_summary(text: str) -> str:
    """«tỷ lệ: DT_NHAN» or ``rate:DT_NHAN`` → ``rate:DT_NHAN``; «đếm: Có» → ``count:Có``."""
    head, sep, tail = text.partition(":")
    head, tail = head.strip().casefold(), tail.strip()
    for code, label in SUMMARY_LABELS.items():
        if head in (code, label):
            if not sep:
                if code == "rate":
                    break
                return code
            if code in ("count", "rate") and tail:
                return f"{code}:{tail}"
            break
    raise ValueError(
        f"«{text}» không phải cách tổng hợp; dùng: tổng, bình quân, đếm, đếm: <giá trị>, "
        "tỷ lệ: <mã chỉ tiêu>, không"
    )


def _parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _as_text(raw)
    for pattern, order in ((_DATE_TEXT, (2, 1, 0)), (_ISO_DATE, (0, 1, 2))):
        match = pattern.match(text)
        if match:
            parts = [int(g) for g in match.groups()]
            try:
                return dt.date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                break
    raise ValueError(f"«{text}» không phải ngày hợp lệ (nhập dạng ngày/tháng/năm, ví dụ 14/6/2026)")


_TIME_TEXT = re.compile(r"^(.*?)[\sT,]+(?:lúc\s+)?(\d{1,2})[:hg](\d{2})?(?::(\d{2}))?\s*$")


def _parse_datetime(raw: Any) -> dt.datetime:
    """A date with its time (``18/6/2026 16:30``, ``2026-06-18 16:30``, an Excel date and
    time); a date alone is taken at midnight (00:00)."""
    if isinstance(raw, dt.datetime):
        return raw.replace(microsecond=0)
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    text = nfc(str(raw)).strip()
    match = _TIME_TEXT.match(text)
    if match:
        day, hour, minute, second = match.groups()
        try:
            moment = dt.time(int(hour), int(minute or 0), int(second or 0))
        except ValueError:
            raise ValueError(f"«{text}» không phải giờ hợp lệ (ví dụ 18/6/2026 16:30)") from None
        return dt.datetime.combine(_parse_date(day), moment)
    try:
        return dt.datetime.combine(_parse_date(text), dt.time())
    except ValueError:
        raise ValueError(
            f"«{text}» không phải ngày giờ hợp lệ (nhập ngày/tháng/năm giờ:phút, ví dụ "
            "18/6/2026 16:30)") from None


def cell_value(kind: str, value: Any) -> Any:
    """The value as it goes into a master cell (the inverse of :func:`parse_value`)."""
    if kind == "bool":
        return YES if value else ""
    if kind == "codes":
        return ", ".join(value)
    if kind == "type":
        return INDICATOR_TYPES[value] if value else ""
    if kind == "position":
        return POSITION_LABELS.get(value, "")
    if kind == "severity":
        return SEVERITY_LABELS.get(value, "")
    if kind == "summary":
        head, sep, tail = str(value or "").partition(":")
        return SUMMARY_LABELS.get(head, "") + (f": {tail}" if sep else "")
    if value is None:
        return ""
    return value
