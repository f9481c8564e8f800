"""Findings: what is wrong (or was mended) in a returned file, as data.

Every finding has a stable code, a member of :class:`Code` — a code is API: it is never
reused or renumbered, and is the same string in every output — a severity (an *error*
blocks the merge of that file, a *warning* does not), where it is (file, unit, sheet,
cell, task, indicator), the value found, what was expected, and a Vietnamese message
rendered from the one template of its code (:data:`CODES`).

Code that makes or compares a finding names its code (``Code.OUT_OF_RANGE``), never
writes the string (``"C003"``): a wrong name is an error mypy reports, a wrong string
was a ``KeyError`` at run time. Each module that makes findings declares the codes it
can emit in ``EMITS`` (frictionless' ``Errors = [...]`` on a check); the tests hold
every declaration and every code to the table here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dvxl.names import shown

ERROR, WARNING = "error", "warning"
SEVERITY_LABELS = {ERROR: "Lỗi", WARNING: "Cảnh báo"}


class Code(StrEnum):
    """Every finding code: the name says what it means, the value is the stable code."""

    NOT_SPREADSHEET = "F001"
    EMPTY_FILE = "F002"
    CORRUPT_FILE = "F003"
    PASSWORD = "F004"
    TOO_LARGE = "F005"
    UNPACKS_TOO_LARGE = "F006"
    XML_ENTITIES = "F007"
    LOCK_FILE = "F008"
    NOT_A_RETURN = "F009"
    NOT_REGULAR_FILE = "F010"
    MARKED_COPY_FAILED = "F011"
    MAIL_WITHOUT_SPREADSHEET = "M001"
    METADATA_LOST = "I001"
    UNIT_UNIDENTIFIED = "I002"
    UNIT_UNKNOWN = "I003"
    UNIT_WITHOUT_TASKS = "I004"
    WRONG_PERIOD = "I005"
    TEMPLATE_OLDER = "I006"
    TEMPLATE_NEWER = "I007"
    CATALOG_CHANGED = "I008"
    SEVERAL_FILES = "I009"
    OTHER_UNITS_TEMPLATE = "I010"
    OTHER_DIRECTIVE = "I011"
    SIGNATURE_INVALID = "I012"
    OTHER_WORKSPACE_KEY = "I013"
    UNSIGNED_TEMPLATE = "I014"
    UNPROVEN_NOT_TAKEN = "I015"
    SHEET_MISSING = "S001"
    ROWS_MOVED = "S002"
    PRINTED_TEXT_EDITED = "S003"
    SHEET_UNPROTECTED = "S004"
    REQUIRED_EMPTY = "C001"
    WRONG_TYPE = "C002"
    OUT_OF_RANGE = "C003"
    NOT_IN_LIST = "C004"
    DATE_OUTSIDE_PERIOD = "C005"
    DOCUMENT_NUMBER_FORMAT = "C006"
    FORMULA = "C007"
    NOT_INTEGER = "C008"
    NUMBER_AS_TEXT = "W101"
    DATE_AS_TEXT = "W102"
    DECOMPOSED_TEXT = "W103"
    EXTRA_SPACES = "W104"
    LEGACY_ENCODING = "W105"
    REPORT_DATE_LATE = "W106"
    RECEIPT_BEFORE_SAVED = "W107"
    OUTLIER = "W108"
    PHONE_AS_NUMBER = "W109"
    RULE_FAILED = "R001"
    RULE_TO_REVIEW = "R002"
    UPLOAD_OTHER_UNIT = "U001"


@dataclass(frozen=True)
class CodeSpec:
    """What a code means: its severity, the check level it belongs to, title and message."""

    code: str
    severity: str
    level: str  # file | identity | structure | cell | rule
    title: str
    template: str  # str.format template over the finding's fields and extras


def _c(code: Code, severity: str, level: str, title: str, template: str) -> CodeSpec:
    return CodeSpec(code.value, severity, level, title, template)


_CODES = (
    # File level: can the file be read at all, safely?
    _c(
        Code.NOT_SPREADSHEET,
        ERROR,
        "file",
        "Không phải tệp bảng tính",
        "Tệp không phải bảng tính Excel/LibreOffice ({value}). Hãy gửi lại đúng tệp mẫu báo cáo "
        "đã điền (.xlsx, .xls hoặc .ods).",
    ),
    _c(
        Code.EMPTY_FILE,
        ERROR,
        "file",
        "Tệp rỗng",
        "Tệp rỗng (0 byte). Hãy lưu lại mẫu báo cáo rồi gửi lại.",
    ),
    _c(
        Code.CORRUPT_FILE,
        ERROR,
        "file",
        "Tệp hỏng hoặc không đầy đủ",
        "Không đọc được tệp: tệp bị hỏng hoặc tải về chưa đầy đủ ({value}). Hãy mở lại tệp trên "
        "máy đơn vị, lưu lại và gửi lại.",
    ),
    _c(
        Code.PASSWORD,
        ERROR,
        "file",
        "Tệp có mật khẩu",
        "Tệp được đặt mật khẩu mở nên không đọc được. Hãy bỏ mật khẩu (Tệp > Thông tin > Bảo vệ "
        "sổ làm việc) rồi gửi lại.",
    ),
    _c(
        Code.TOO_LARGE,
        ERROR,
        "file",
        "Tệp quá lớn",
        "Tệp dung lượng {value}, vượt giới hạn {expected}. Mẫu báo cáo chỉ cần vài chục KB: "
        "hãy xóa hình ảnh, dữ liệu dán thêm rồi gửi lại.",
    ),
    _c(
        Code.UNPACKS_TOO_LARGE,
        ERROR,
        "file",
        "Tệp nén bất thường",
        "Khi giải nén, tệp phình ra {value} (giới hạn {expected}): tệp bất thường, không được "
        "đọc. Hãy gửi lại đúng mẫu báo cáo.",
    ),
    _c(
        Code.XML_ENTITIES,
        ERROR,
        "file",
        "Tệp chứa khai báo XML nguy hiểm",
        "Phần {value} của tệp có khai báo DTD/thực thể ngoài (XML external entity), không "
        "được đọc vì lý do an toàn. Hãy gửi lại đúng mẫu báo cáo.",
    ),
    _c(
        Code.LOCK_FILE,
        WARNING,
        "file",
        "Tệp tạm của Excel",
        "Đây là tệp tạm Excel tạo ra khi đang mở một tệp (tên bắt đầu bằng ~$); đã bỏ qua.",
    ),
    _c(
        Code.NOT_A_RETURN,
        WARNING,
        "file",
        "Không phải tệp báo cáo",
        "Tệp này là {value}, không phải mẫu báo cáo: đã bỏ qua (không kiểm tra, không tổng "
        "hợp). Nếu đơn vị gửi báo cáo ở dạng này, hãy đề nghị gửi lại đúng mẫu báo cáo Excel.",
    ),
    _c(
        Code.NOT_REGULAR_FILE,
        WARNING,
        "file",
        "Không phải tệp thông thường trong hộp thư",
        "Đây là {value}, không phải một tệp nằm trong hộp thư: đã bỏ qua (không đọc, không lưu "
        "trữ). Hãy chép chính tệp báo cáo vào hộp thư.",
    ),
    _c(
        Code.MARKED_COPY_FAILED,
        WARNING,
        "file",
        "Không tạo được bản đánh dấu lỗi",
        "Không tạo được bản đánh dấu lỗi cho tệp này ({value}). Hãy gửi cho đơn vị danh sách "
        "lỗi của tệp trong sổ kết quả kiểm tra.",
    ),
    # A saved e-mail in the inbox (dvxl.mail): its spreadsheets are the returns.
    _c(
        Code.MAIL_WITHOUT_SPREADSHEET,
        ERROR,
        "file",
        "Thư không kèm bảng tính",
        "Thư «{expected}» gửi từ {value} không kèm tệp bảng tính nào{note}. Hãy gửi lại thư "
        "kèm tệp mẫu báo cáo đã điền (.xlsx, .xls hoặc .ods).",
    ),
    # Identity: whose report is this, for what, from which template?
    _c(
        Code.METADATA_LOST,
        WARNING,
        "identity",
        "Mất trang thông tin mẫu",
        "Tệp không còn trang thông tin ẩn của mẫu; đã nhận diện đơn vị «{unit}» từ {value}. "
        "Lần sau hãy điền trực tiếp vào mẫu được gửi, không chép sang tệp mới.",
    ),
    _c(
        Code.UNIT_UNIDENTIFIED,
        ERROR,
        "identity",
        "Không nhận diện được đơn vị",
        "Không xác định được tệp này của đơn vị nào và có phải mẫu báo cáo không. Hãy dùng "
        "đúng mẫu báo cáo dvxl đã gửi cho đơn vị.",
    ),
    _c(
        Code.UNIT_UNKNOWN,
        ERROR,
        "identity",
        "Đơn vị không có trong danh sách",
        "Mã đơn vị «{value}» không có trong danh sách đơn vị của sổ tổng hợp.",
    ),
    _c(
        Code.UNIT_WITHOUT_TASKS,
        ERROR,
        "identity",
        "Đơn vị không được giao nhiệm vụ",
        "Đơn vị «{unit}» không được văn bản này giao nhiệm vụ nào.",
    ),
    _c(
        Code.WRONG_PERIOD,
        ERROR,
        "identity",
        "Sai kỳ báo cáo",
        "Mẫu dùng cho kỳ «{value}», nhưng đang tổng hợp kỳ «{expected}». Hãy điền mẫu của kỳ "
        "{expected}.",
    ),
    _c(
        Code.TEMPLATE_OLDER,
        WARNING,
        "identity",
        "Mẫu phiên bản cũ",
        "Mẫu là phiên bản {value}, sổ tổng hợp đang ở phiên bản {expected}; nội dung nhiệm vụ "
        "không đổi nên vẫn được nhận. Lần sau hãy dùng mẫu mới.",
    ),
    _c(
        Code.TEMPLATE_NEWER,
        ERROR,
        "identity",
        "Mẫu phiên bản mới hơn sổ tổng hợp",
        "Mẫu là phiên bản {value}, mới hơn sổ tổng hợp (phiên bản {expected}). Văn phòng cần "
        "kiểm tra lại sổ tổng hợp đang dùng.",
    ),
    _c(
        Code.CATALOG_CHANGED,
        ERROR,
        "identity",
        "Danh mục đã thay đổi",
        "Mẫu được tạo từ danh mục nhiệm vụ, chỉ tiêu khác với hiện nay (phiên bản mẫu {value}, "
        "hiện nay {expected}). Hãy điền lại vào mẫu mới được gửi.",
    ),
    _c(
        Code.SEVERAL_FILES,
        WARNING,
        "identity",
        "Đơn vị gửi nhiều tệp",
        "Đơn vị «{unit}» gửi nhiều tệp trong đợt này; dùng tệp mới hơn «{expected}», tệp này "
        "được lưu nhưng không tổng hợp.",
    ),
    _c(
        Code.OTHER_UNITS_TEMPLATE,
        ERROR,
        "identity",
        "Điền nhầm mẫu của đơn vị khác",
        "Tên tệp/thư mục «{value}» là của đơn vị «{expected}», nhưng mẫu bên trong là của đơn vị "
        "«{unit}». Mỗi đơn vị phải điền đúng mẫu của mình.",
    ),
    _c(
        Code.OTHER_DIRECTIVE,
        ERROR,
        "identity",
        "Mẫu của văn bản khác",
        "Mẫu này dùng để báo cáo văn bản «{value}», không phải văn bản đang tổng hợp «{expected}».",
    ),
    # Signed identity (issue 14): {note} says what is wrong with the signature.
    _c(
        Code.SIGNATURE_INVALID,
        ERROR,
        "identity",
        "Chữ ký xác thực của mẫu không đúng",
        "Mẫu ghi là của đơn vị «{value}» nhưng {note}: mẫu đã bị sửa thông tin nhận diện hoặc "
        "không phải mẫu văn phòng gửi, nên tệp không được nhận là báo cáo của đơn vị nào. "
        "Không sửa trang thông tin ẩn, không dùng mẫu của đơn vị khác: hãy điền vào đúng mẫu "
        "mới nhất văn phòng đã gửi cho đơn vị mình rồi gửi lại.",
    ),
    _c(
        Code.OTHER_WORKSPACE_KEY,
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
        Code.UNSIGNED_TEMPLATE,
        WARNING,
        "identity",
        "Mẫu chưa có chữ ký xác thực",
        "Mẫu không có chữ ký xác thực (mẫu tạo trước khi dvxl ký mẫu), nên không kiểm chứng "
        "được tệp đúng là của đơn vị «{unit}»; tệp vẫn được nhận. Văn phòng: từ kỳ sau hãy gửi "
        "mẫu tạo bằng dvxl hiện nay (có chữ ký), để tệp bị sửa sang đơn vị khác bị từ chối.",
    ),
    _c(
        Code.UNPROVEN_NOT_TAKEN,
        WARNING,
        "identity",
        "Tệp không xác thực không thay được báo cáo đã xác thực",
        "Tệp ghi là của đơn vị «{unit}» nhưng {note}, nên không chứng minh được là của đơn vị "
        "đó; văn phòng đã nhận tệp «{expected}» có chữ ký xác thực đúng của đơn vị, nên tệp đó "
        "vẫn được dùng. Tệp này được lưu nhưng không tổng hợp. Nếu đơn vị thật sự gửi lại, hãy "
        "điền vào đúng mẫu văn phòng đã gửi (không chép sang tệp mới, không xóa trang nào) rồi "
        "gửi lại.",
    ),
    # Structure: is the form as it was sent?
    _c(
        Code.SHEET_MISSING,
        ERROR,
        "structure",
        "Thiếu trang tính",
        "Không tìm thấy trang tính «{expected}» (bị xóa hoặc đổi tên). Hãy điền lại vào mẫu gốc.",
    ),
    _c(
        Code.ROWS_MOVED,
        ERROR,
        "structure",
        "Dòng bị chèn, xóa hoặc di chuyển",
        "Ô {cell} phải là «{expected}» nhưng đang là «{value}»: dòng đã bị chèn, xóa hoặc di "
        "chuyển. Hãy điền lại vào mẫu gốc, không thêm bớt dòng.",
    ),
    _c(
        Code.PRINTED_TEXT_EDITED,
        WARNING,
        "structure",
        "Nội dung khóa bị sửa",
        "Ô {cell} (nội dung in sẵn) đã bị sửa thành «{value}»; dvxl vẫn đọc theo mã chỉ tiêu. "
        "Không sửa các ô in sẵn.",
    ),
    _c(
        Code.SHEET_UNPROTECTED,
        WARNING,
        "structure",
        "Trang tính đã bị bỏ khóa",
        "Trang «{sheet}» đã bị bỏ khóa bảo vệ; hãy kiểm tra để không sửa nhầm nội dung in sẵn.",
    ),
    # Cells: is each value what the indicator asks for?
    _c(
        Code.REQUIRED_EMPTY,
        ERROR,
        "cell",
        "Bỏ trống ô bắt buộc",
        "Chưa nhập «{label}» (ô {cell}). Chỉ tiêu này bắt buộc: {hint}.",
    ),
    _c(
        Code.WRONG_TYPE,
        ERROR,
        "cell",
        "Sai kiểu dữ liệu",
        "«{label}» (ô {cell}) cần {expected}, nhưng đang là «{value}».",
    ),
    _c(
        Code.OUT_OF_RANGE,
        ERROR,
        "cell",
        "Ngoài giới hạn",
        "«{label}» (ô {cell}) là {value}, phải {expected}.",
    ),
    _c(
        Code.NOT_IN_LIST,
        ERROR,
        "cell",
        "Không có trong danh sách chọn",
        "«{label}» (ô {cell}) là «{value}», không có trong danh sách; hãy chọn một trong: "
        "{expected}.",
    ),
    _c(
        Code.DATE_OUTSIDE_PERIOD,
        ERROR,
        "cell",
        "Ngày ngoài kỳ báo cáo",
        "«{label}» (ô {cell}) là ngày {value}, phải {expected}.",
    ),
    _c(
        Code.DOCUMENT_NUMBER_FORMAT,
        ERROR,
        "cell",
        "Số, ký hiệu văn bản sai mẫu",
        "«{label}» (ô {cell}): dòng «{value}» không đúng mẫu số-loại/cơ quan và ngày, ví dụ "
        "{expected}.",
    ),
    _c(
        Code.FORMULA,
        ERROR,
        "cell",
        "Công thức thay cho giá trị",
        "«{label}» (ô {cell}) chứa công thức; hãy nhập giá trị (số hoặc chữ), "
        "không dùng công thức.",
    ),
    _c(
        Code.NOT_INTEGER,
        ERROR,
        "cell",
        "Cần số nguyên",
        "«{label}» (ô {cell}) là {value}; chỉ tiêu này đếm số lượng nên cần số nguyên.",
    ),
    # Forgiving reads: accepted, but the unit should know.
    _c(
        Code.NUMBER_AS_TEXT,
        WARNING,
        "cell",
        "Số được nhập dạng chữ",
        "«{label}» (ô {cell}): «{value}» được nhập dạng chữ, đã hiểu là {expected}.",
    ),
    _c(
        Code.DATE_AS_TEXT,
        WARNING,
        "cell",
        "Ngày được nhập dạng chữ",
        "«{label}» (ô {cell}): «{value}» được nhập dạng chữ, đã hiểu là ngày {expected}.",
    ),
    _c(
        Code.DECOMPOSED_TEXT,
        WARNING,
        "cell",
        "Chữ tiếng Việt tổ hợp",
        "«{label}» (ô {cell}) dùng dấu tiếng Việt dạng tổ hợp; đã chuẩn hóa (NFC).",
    ),
    _c(
        Code.EXTRA_SPACES,
        WARNING,
        "cell",
        "Khoảng trắng thừa",
        "«{label}» (ô {cell}) có khoảng trắng thừa ở đầu hoặc cuối; đã bỏ.",
    ),
    _c(
        Code.LEGACY_ENCODING,
        WARNING,
        "cell",
        "Phông chữ cũ (TCVN3/VNI)",
        "«{label}» (ô {cell}) có vẻ gõ bằng bảng mã cũ (TCVN3/VNI): «{value}». Hãy gõ lại bằng "
        "Unicode.",
    ),
    _c(
        Code.REPORT_DATE_LATE,
        WARNING,
        "cell",
        "Ngày lập báo cáo bất thường",
        "Ngày lập báo cáo (ô {cell}) là {value}, muộn hơn nhiều so với hạn gửi {expected}; hãy "
        "kiểm tra lại.",
    ),
    # When the file says it was saved (issue 14): a receipt cannot come before it.
    _c(
        Code.RECEIPT_BEFORE_SAVED,
        WARNING,
        "file",
        "Thời điểm nhận sớm hơn thời điểm lưu tệp",
        "Thời điểm nhận {value} ({note}) sớm hơn thời điểm tệp được lưu lần cuối {expected} "
        "(ghi trong tệp): không thể nhận một tệp trước khi nó được lưu, nên thời điểm nhận "
        "dùng để tính nộp muộn có thể sai. Hãy kiểm tra đồng hồ máy (của đơn vị và của văn "
        "phòng) hoặc nguồn tệp (tệp bị sửa sau khi nhận, hay ngày của tệp bị đặt lại).",
    ),
    # Figures compared with the unit's history, its peers and the usual range (dvxl.outliers).
    _c(
        Code.OUTLIER,
        WARNING,
        "cell",
        "Số liệu bất thường",
        "«{label}» (ô {cell}) là {value}, khác thường so với {expected}. Văn phòng cần xác minh "
        "với đơn vị trước khi đưa số liệu vào báo cáo.",
    ),
    _c(
        Code.PHONE_AS_NUMBER,
        WARNING,
        "cell",
        "Số điện thoại bị lưu dạng số",
        "«{label}» (ô {cell}) được lưu dạng số {value} nên mất số 0 ở đầu; đã đọc là "
        "{expected}, hãy kiểm tra lại. Lần sau gõ dấu nháy đơn trước số (ví dụ '0912345678) "
        "hoặc dùng mẫu mới, ô đã định dạng văn bản.",
    ),
    # Cross-field rules of the catalog.
    _c(
        Code.RULE_FAILED,
        ERROR,
        "rule",
        "Vi phạm quy tắc kiểm tra",
        "Nhiệm vụ {task}: {note} (đang nhập: {value})",
    ),
    _c(
        Code.RULE_TO_REVIEW,
        WARNING,
        "rule",
        "Cần xem lại theo quy tắc kiểm tra",
        "Nhiệm vụ {task}: {note} (đang nhập: {value})",
    ),
    # Upload page (dvxl.upload): what only a file sent with a unit's code can get wrong.
    _c(
        Code.UPLOAD_OTHER_UNIT,
        ERROR,
        "upload",
        "Gửi mẫu của đơn vị khác",
        "Tệp là mẫu báo cáo của đơn vị «{value}», nhưng mã nộp đang dùng là của đơn vị "
        "«{unit}»: tệp không được nhận. Mỗi đơn vị gửi mẫu của mình bằng mã nộp của mình.",
    ),
)

CODES: dict[str, CodeSpec] = {c.code: c for c in _CODES}

#: What to type into an empty required cell (C001's ``hint``), by the cell's kind: 0 only
#: where it is a count, since 0 is itself wrong in a list or a date (issue 15).
REQUIRED_HINTS = {
    "integer": "nếu không có thì nhập 0",
    "decimal": "hãy nhập một số",
    "score": "hãy nhập điểm tự chấm, từ 0 đến điểm tối đa của nhiệm vụ",
    "choice": "hãy chọn một mục trong danh sách của ô",
    "date": "hãy nhập ngày theo dạng ngày/tháng/năm, ví dụ 20/06/2026",
    "phone": "hãy nhập số điện thoại, ví dụ 0912345678",
}
REQUIRED_TEXT_HINT = "hãy nhập nội dung"


def required_hint(kind: str) -> str:
    """C001's guidance for an empty required cell of this indicator type."""
    return REQUIRED_HINTS.get(kind, REQUIRED_TEXT_HINT)


@dataclass(frozen=True)
class Finding:
    """One thing found in one file."""

    code: str  # a Code's value, as plain text ("C003")
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
        """The fields by name, in order (``dataclasses.asdict`` without its deep copy: every
        field is a string; a tenth of the time, for 20,000 findings a national batch)."""
        return {name: getattr(self, name) for name in _FINDING_FIELDS}


_FINDING_FIELDS = tuple(Finding.__dataclass_fields__)


class _Blank(dict[str, str]):
    """Template context in which a field nobody gave reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def make(code: Code, file: str, **fields: Any) -> Finding:
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
    context.setdefault("hint", REQUIRED_TEXT_HINT)
    message = spec.template.format_map(context)
    # The file's name as the outputs show it: decoded, printable, bounded (dvxl.names).
    return Finding(code=spec.code, severity=severity, file=shown(file), message=message,
                   **known)
