"""Findings: what is wrong (or was mended) in a returned file, as data.

Every finding has a stable code from :data:`CODES` — a code is API: it is never
reused or renumbered — a severity (an *error* blocks the merge of that file, a
*warning* does not), where it is (file, unit, sheet, cell, task, indicator),
the value found, what was expected, and a Vietnamese message rendered from the
one template of its code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ERROR, WARNING = "error", "warning"
SEVERITY_LABELS = {ERROR: "Lỗi", WARNING: "Cảnh báo"}


@dataclass(frozen=True)
class Code:
    code: str
    severity: str
    level: str  # file | identity | structure | cell | rule
    title: str
    template: str  # str.format template over the finding's fields and extras


def _c(code: str, severity: str, level: str, title: str, template: str) -> Code:
    return Code(code, severity, level, title, template)


_CODES = (
    # File level: can the file be read at all, safely?
    _c(
        "F001",
        ERROR,
        "file",
        "Không phải tệp bảng tính",
        "Tệp không phải bảng tính Excel/LibreOffice ({value}). Hãy gửi lại đúng tệp mẫu báo cáo "
        "đã điền (.xlsx, .xls hoặc .ods).",
    ),
    _c(
        "F002", ERROR, "file", "Tệp rỗng", "Tệp rỗng (0 byte). Hãy lưu lại mẫu báo cáo rồi gửi lại."
    ),
    _c(
        "F003",
        ERROR,
        "file",
        "Tệp hỏng hoặc không đầy đủ",
        "Không đọc được tệp: tệp bị hỏng hoặc tải về chưa đầy đủ ({value}). Hãy mở lại tệp trên "
        "máy đơn vị, lưu lại và gửi lại.",
    ),
    _c(
        "F004",
        ERROR,
        "file",
        "Tệp có mật khẩu",
        "Tệp được đặt mật khẩu mở nên không đọc được. Hãy bỏ mật khẩu (Tệp > Thông tin > Bảo vệ "
        "sổ làm việc) rồi gửi lại.",
    ),
    _c(
        "F005",
        ERROR,
        "file",
        "Tệp quá lớn",
        "Tệp dung lượng {value}, vượt giới hạn {expected}. Mẫu báo cáo chỉ cần vài chục KB: "
        "hãy xóa hình ảnh, dữ liệu dán thêm rồi gửi lại.",
    ),
    _c(
        "F006",
        ERROR,
        "file",
        "Tệp nén bất thường",
        "Khi giải nén, tệp phình ra {value} (giới hạn {expected}): tệp bất thường, không được "
        "đọc. Hãy gửi lại đúng mẫu báo cáo.",
    ),
    _c(
        "F007",
        ERROR,
        "file",
        "Tệp chứa khai báo XML nguy hiểm",
        "Phần {value} của tệp có khai báo DTD/thực thể ngoài (XML external entity), không "
        "được đọc vì lý do an toàn. Hãy gửi lại đúng mẫu báo cáo.",
    ),
    _c(
        "F008",
        WARNING,
        "file",
        "Tệp tạm của Excel",
        "Đây là tệp tạm Excel tạo ra khi đang mở một tệp (tên bắt đầu bằng ~$); đã bỏ qua.",
    ),
    _c(
        "F009",
        WARNING,
        "file",
        "Không phải tệp báo cáo",
        "Tệp này là {value}, không phải mẫu báo cáo: đã bỏ qua (không kiểm tra, không tổng "
        "hợp). Nếu đơn vị gửi báo cáo ở dạng này, hãy đề nghị gửi lại đúng mẫu báo cáo Excel.",
    ),
    # Identity: whose report is this, for what, from which template?
    _c(
        "I001",
        WARNING,
        "identity",
        "Mất trang thông tin mẫu",
        "Tệp không còn trang thông tin ẩn của mẫu; đã nhận diện đơn vị «{unit}» từ {value}. "
        "Lần sau hãy điền trực tiếp vào mẫu được gửi, không chép sang tệp mới.",
    ),
    _c(
        "I002",
        ERROR,
        "identity",
        "Không nhận diện được đơn vị",
        "Không xác định được tệp này của đơn vị nào và có phải mẫu báo cáo không. Hãy dùng "
        "đúng mẫu báo cáo dvxl đã gửi cho đơn vị.",
    ),
    _c(
        "I003",
        ERROR,
        "identity",
        "Đơn vị không có trong danh sách",
        "Mã đơn vị «{value}» không có trong danh sách đơn vị của sổ tổng hợp.",
    ),
    _c(
        "I004",
        ERROR,
        "identity",
        "Đơn vị không được giao nhiệm vụ",
        "Đơn vị «{unit}» không được văn bản này giao nhiệm vụ nào.",
    ),
    _c(
        "I005",
        ERROR,
        "identity",
        "Sai kỳ báo cáo",
        "Mẫu dùng cho kỳ «{value}», nhưng đang tổng hợp kỳ «{expected}». Hãy điền mẫu của kỳ "
        "{expected}.",
    ),
    _c(
        "I006",
        WARNING,
        "identity",
        "Mẫu phiên bản cũ",
        "Mẫu là phiên bản {value}, sổ tổng hợp đang ở phiên bản {expected}; nội dung nhiệm vụ "
        "không đổi nên vẫn được nhận. Lần sau hãy dùng mẫu mới.",
    ),
    _c(
        "I007",
        ERROR,
        "identity",
        "Mẫu phiên bản mới hơn sổ tổng hợp",
        "Mẫu là phiên bản {value}, mới hơn sổ tổng hợp (phiên bản {expected}). Văn phòng cần "
        "kiểm tra lại sổ tổng hợp đang dùng.",
    ),
    _c(
        "I008",
        ERROR,
        "identity",
        "Danh mục đã thay đổi",
        "Mẫu được tạo từ danh mục nhiệm vụ, chỉ tiêu khác với hiện nay (phiên bản mẫu {value}, "
        "hiện nay {expected}). Hãy điền lại vào mẫu mới được gửi.",
    ),
    _c(
        "I009",
        WARNING,
        "identity",
        "Đơn vị gửi nhiều tệp",
        "Đơn vị «{unit}» gửi nhiều tệp trong đợt này; dùng tệp mới hơn «{expected}», tệp này "
        "được lưu nhưng không tổng hợp.",
    ),
    _c(
        "I010",
        ERROR,
        "identity",
        "Điền nhầm mẫu của đơn vị khác",
        "Tên tệp/thư mục «{value}» là của đơn vị «{expected}», nhưng mẫu bên trong là của đơn vị "
        "«{unit}». Mỗi đơn vị phải điền đúng mẫu của mình.",
    ),
    _c(
        "I011",
        ERROR,
        "identity",
        "Mẫu của văn bản khác",
        "Mẫu này dùng để báo cáo văn bản «{value}», không phải văn bản đang tổng hợp «{expected}».",
    ),
    # Signed identity (issue 14): {note} says what is wrong with the signature.
    _c(
        "I012",
        ERROR,
        "identity",
        "Chữ ký xác thực của mẫu không đúng",
        "Mẫu ghi là của đơn vị «{value}» nhưng {note}: mẫu đã bị sửa thông tin nhận diện hoặc "
        "không phải mẫu văn phòng gửi, nên tệp không được nhận là báo cáo của đơn vị nào. "
        "Không sửa trang thông tin ẩn, không dùng mẫu của đơn vị khác: hãy điền vào đúng mẫu "
        "mới nhất văn phòng đã gửi cho đơn vị mình rồi gửi lại.",
    ),
    _c(
        "I013",
        ERROR,
        "identity",
        "Không xác minh được chữ ký của mẫu",
        "Mẫu ghi là của đơn vị «{value}» và có chữ ký xác thực, nhưng {note}, nên chưa xác minh "
        "được và tệp chưa được tổng hợp. Việc của văn phòng: chép lại tệp khóa .dvxl-key đã "
        "dùng khi tạo mẫu (từ bản sao lưu hoặc máy cũ) vào thư mục làm việc rồi chạy lại; nếu "
        "không còn tệp đó, tạo lại mẫu (dvxl templates -p {expected}) và gửi cho các đơn vị "
        "điền lại.",
    ),
    _c(
        "I014",
        WARNING,
        "identity",
        "Mẫu chưa có chữ ký xác thực",
        "Mẫu không có chữ ký xác thực (mẫu tạo trước khi dvxl ký mẫu), nên không kiểm chứng "
        "được tệp đúng là của đơn vị «{unit}»; tệp vẫn được nhận. Văn phòng: từ kỳ sau hãy gửi "
        "mẫu tạo bằng dvxl hiện nay (có chữ ký), để tệp bị sửa sang đơn vị khác bị từ chối.",
    ),
    # Structure: is the form as it was sent?
    _c(
        "S001",
        ERROR,
        "structure",
        "Thiếu trang tính",
        "Không tìm thấy trang tính «{expected}» (bị xóa hoặc đổi tên). Hãy điền lại vào mẫu gốc.",
    ),
    _c(
        "S002",
        ERROR,
        "structure",
        "Dòng bị chèn, xóa hoặc di chuyển",
        "Ô {cell} phải là chỉ tiêu «{expected}» nhưng đang là «{value}»: dòng đã bị chèn, xóa "
        "hoặc di chuyển. Hãy điền lại vào mẫu gốc, không thêm bớt dòng.",
    ),
    _c(
        "S003",
        WARNING,
        "structure",
        "Nội dung khóa bị sửa",
        "Ô {cell} (nội dung in sẵn) đã bị sửa thành «{value}»; dvxl vẫn đọc theo mã chỉ tiêu. "
        "Không sửa các ô in sẵn.",
    ),
    _c(
        "S004",
        WARNING,
        "structure",
        "Trang tính đã bị bỏ khóa",
        "Trang «{sheet}» đã bị bỏ khóa bảo vệ; hãy kiểm tra để không sửa nhầm nội dung in sẵn.",
    ),
    # Cells: is each value what the indicator asks for?
    _c(
        "C001",
        ERROR,
        "cell",
        "Bỏ trống ô bắt buộc",
        "Chưa nhập «{label}» (ô {cell}). Chỉ tiêu này bắt buộc; nếu không có thì nhập 0.",
    ),
    _c(
        "C002",
        ERROR,
        "cell",
        "Sai kiểu dữ liệu",
        "«{label}» (ô {cell}) cần {expected}, nhưng đang là «{value}».",
    ),
    _c(
        "C003", ERROR, "cell", "Ngoài giới hạn", "«{label}» (ô {cell}) là {value}, phải {expected}."
    ),
    _c(
        "C004",
        ERROR,
        "cell",
        "Không có trong danh sách chọn",
        "«{label}» (ô {cell}) là «{value}», không có trong danh sách; hãy chọn một trong: "
        "{expected}.",
    ),
    _c(
        "C005",
        ERROR,
        "cell",
        "Ngày ngoài kỳ báo cáo",
        "«{label}» (ô {cell}) là ngày {value}, phải {expected}.",
    ),
    _c(
        "C006",
        ERROR,
        "cell",
        "Số, ký hiệu văn bản sai mẫu",
        "«{label}» (ô {cell}): dòng «{value}» không đúng mẫu số-loại/cơ quan và ngày, ví dụ "
        "{expected}.",
    ),
    _c(
        "C007",
        ERROR,
        "cell",
        "Công thức thay cho giá trị",
        "«{label}» (ô {cell}) chứa công thức; hãy nhập giá trị (số hoặc chữ), "
        "không dùng công thức.",
    ),
    _c(
        "C008",
        ERROR,
        "cell",
        "Cần số nguyên",
        "«{label}» (ô {cell}) là {value}; chỉ tiêu này đếm số lượng nên cần số nguyên.",
    ),
    # Forgiving reads: accepted, but the unit should know.
    _c(
        "W101",
        WARNING,
        "cell",
        "Số được nhập dạng chữ",
        "«{label}» (ô {cell}): «{value}» được nhập dạng chữ, đã hiểu là {expected}.",
    ),
    _c(
        "W102",
        WARNING,
        "cell",
        "Ngày được nhập dạng chữ",
        "«{label}» (ô {cell}): «{value}» được nhập dạng chữ, đã hiểu là ngày {expected}.",
    ),
    _c(
        "W103",
        WARNING,
        "cell",
        "Chữ tiếng Việt tổ hợp",
        "«{label}» (ô {cell}) dùng dấu tiếng Việt dạng tổ hợp; đã chuẩn hóa (NFC).",
    ),
    _c(
        "W104",
        WARNING,
        "cell",
        "Khoảng trắng thừa",
        "«{label}» (ô {cell}) có khoảng trắng thừa ở đầu hoặc cuối; đã bỏ.",
    ),
    _c(
        "W105",
        WARNING,
        "cell",
        "Phông chữ cũ (TCVN3/VNI)",
        "«{label}» (ô {cell}) có vẻ gõ bằng bảng mã cũ (TCVN3/VNI): «{value}». Hãy gõ lại bằng "
        "Unicode.",
    ),
    _c(
        "W106",
        WARNING,
        "cell",
        "Ngày lập báo cáo bất thường",
        "Ngày lập báo cáo (ô {cell}) là {value}, muộn hơn nhiều so với hạn gửi {expected}; hãy "
        "kiểm tra lại.",
    ),
    # Cross-field rules of the catalog.
    _c(
        "R001",
        ERROR,
        "rule",
        "Vi phạm quy tắc kiểm tra",
        "Nhiệm vụ {task}: {note} (đang nhập: {value})",
    ),
    _c(
        "R002",
        WARNING,
        "rule",
        "Cần xem lại theo quy tắc kiểm tra",
        "Nhiệm vụ {task}: {note} (đang nhập: {value})",
    ),
)

CODES: dict[str, Code] = {c.code: c for c in _CODES}


@dataclass(frozen=True)
class Finding:
    """One thing found in one file."""

    code: str
    severity: str
    file: str
    message: str
    unit: str = ""
    sheet: str = ""
    cell: str = ""
    task: str = ""
    indicator: str = ""
    value: str = ""
    expected: str = ""
    rule: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Blank(dict[str, str]):
    """Template context in which a field nobody gave reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def make(code: str, file: str, **fields: Any) -> Finding:
    """Build a finding of ``code``; the message comes from the code's template.

    ``fields`` are Finding fields plus extras the template uses (``label``, ``note``).
    ``severity`` may be given to override the code's (rules carry their own).
    """
    spec = CODES[code]
    values = {k: "" if v is None else str(v) for k, v in fields.items()}
    names = {f for f in Finding.__dataclass_fields__ if f not in ("code", "file", "message")}
    known = {k: v for k, v in values.items() if k in names}
    severity = known.pop("severity", "") or spec.severity
    context = _Blank(values)
    context.setdefault("label", values.get("indicator", ""))
    message = spec.template.format_map(context)
    return Finding(code=code, severity=severity, file=file, message=message, **known)
