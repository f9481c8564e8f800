"""Builds the report template shipped with dvxl (``dvxl/docreport/mau-bao-cao.docx``).

The template is a Word document holding the report's wording and layout, with
Jinja tags that :mod:`docxtpl` fills (``{{ … }}`` for a value, ``{%p … %}`` for
a paragraph-level loop or condition, ``{{ table('…') }}`` where a table built
from the data goes). It is made by this module with python-docx, so the shipped
file can be made again byte for byte (``scripts/make_report_template.py``; the
tests check it); an office edits its own copy in Word (``dvxl report --mau``).

Styles carry the layout; their fonts and sizes are set again from the format
profile each time a report is written (:data:`dvxl.docreport.word.PROFILE_SIZES`).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from dvxl.model import FormatProfile

SHIPPED = Path(__file__).resolve().parent / "mau-bao-cao.docx"

# Paragraph styles of the template; the format profile's sizes are applied to them by name.
BODY = "DV Noi dung"
SUPERIOR = "DV Co quan cap tren"
ISSUER = "DV Co quan ban hanh"
STAR = "DV Dau sao"
NUMBER = "DV So ky hieu"
PARTY = "DV Tieu de Dang"
PLACE_DATE = "DV Dia danh ngay"
TYPE = "DV Ten loai"
SUBJECT = "DV Trich yeu"
PART = "DV Phan"
ITEM = "DV Muc"
BULLET = "DV Gach dau dong"
RECIPIENTS_LABEL = "DV Noi nhan"
RECIPIENTS = "DV Danh sach noi nhan"
SIGNATURE = "DV Chu ky"
APPENDIX = "DV Phu luc"
APPENDIX_TITLE = "DV Ten phu luc"
APPENDIX_NOTE = "DV Kem theo"
TABLE = "DV Bang"
TABLE_HEAD = "DV Tieu de bang"
PAGE_NUMBER = "DV So trang"

_FIXED_TIME = dt.datetime(2026, 1, 1)


def _style(doc: Any, name: str, *, base: str | None = None, **fmt: Any) -> Any:
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles[base] if base else doc.styles["Normal"]
    style.quick_style = True
    font, par = style.font, style.paragraph_format
    font.bold = fmt.get("bold")
    font.italic = fmt.get("italic")
    font.underline = fmt.get("underline")
    font.all_caps = None
    par.alignment = fmt.get("align")
    if "indent" in fmt:
        par.first_line_indent = fmt["indent"]
    if "after" in fmt:
        par.space_after = fmt["after"]
    if "before" in fmt:
        par.space_before = fmt["before"]
    if fmt.get("keep"):
        par.keep_with_next = True
    if fmt.get("page_break"):
        par.page_break_before = True
    return style


def _styles(doc: Any, profile: FormatProfile) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = profile.font
    normal.font.size = Pt(profile.size_text)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = profile.line_spacing
    indent = Mm(profile.first_line_indent_mm)
    after = Pt(profile.space_after_pt)
    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    justify, left = WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.LEFT
    _style(doc, BODY, align=justify, indent=indent, after=after)
    _style(doc, SUPERIOR, align=center)
    _style(doc, ISSUER, align=center, bold=True)
    _style(doc, STAR, align=center)
    _style(doc, NUMBER, align=center)
    party = _style(doc, PARTY, align=center, bold=True)
    _rule_below(party)
    _style(doc, PLACE_DATE, align=right, italic=True, before=Pt(6))
    _style(doc, TYPE, align=center, bold=True, before=Pt(18), keep=True)
    _style(doc, SUBJECT, align=center, bold=True, keep=True)
    _style(doc, PART, base=BODY, bold=True, keep=True)
    _style(doc, ITEM, base=BODY, bold=True, keep=True)
    _style(doc, BULLET, base=BODY)
    _style(doc, RECIPIENTS_LABEL, align=left, underline=True, italic=False)
    _style(doc, RECIPIENTS, align=left)
    _style(doc, SIGNATURE, align=center, bold=True)
    _style(doc, APPENDIX, align=center, bold=True, page_break=True, keep=True)
    _style(doc, APPENDIX_TITLE, align=center, bold=True, keep=True)
    _style(doc, APPENDIX_NOTE, align=center, italic=True, after=Pt(12), keep=True)
    _style(doc, TABLE, align=left)
    _style(doc, TABLE_HEAD, align=center, bold=True)
    _style(doc, PAGE_NUMBER, align=center)


def _rule_below(style: Any) -> None:
    """A solid line under «ĐẢNG CỘNG SẢN VIỆT NAM», about as long as the title (36-HD)."""
    ppr = style.element.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(key), value)
    border.append(bottom)
    ppr.append(border)
    # The rule spans the paragraph's width: indents bring it to the title's length.
    style.paragraph_format.left_indent = Mm(8)
    style.paragraph_format.right_indent = Mm(8)


def _borderless(table: Any) -> None:
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    props.append(borders)


def _para(where: Any, text: str, style: str) -> Any:
    paragraph = where.add_paragraph(style=style)
    if text:
        paragraph.add_run(text)
    return paragraph


def _two_columns(doc: Any, widths: tuple[float, float]) -> tuple[Any, Any]:
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _borderless(table)
    cells = table.rows[0].cells
    for cell, width in zip(cells, widths, strict=True):
        cell.width = Mm(width)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)
    for cell in cells:  # a new cell holds one empty paragraph: drop it
        cell._tc.remove(cell.paragraphs[0]._p)
    return cells[0], cells[1]


def _keep_together(cell: Any) -> None:
    """The closing block moves to the next page whole rather than split (``w:cantSplit``)."""
    row = cell._tc.getparent()
    props = row.get_or_add_trPr()
    props.append(OxmlElement("w:cantSplit"))


def _page_number_header(section: Any, first_hidden: bool) -> None:
    section.different_first_page_header_footer = first_hidden
    paragraph = section.header.paragraphs[0]
    paragraph.style = PAGE_NUMBER
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), ("end", None)):
        if kind is None:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
            if kind == "separate":
                shown = OxmlElement("w:t")
                shown.text = "2"
                run._r.append(shown)


def build(profile: FormatProfile | None = None) -> Any:
    """The template as a python-docx Document."""
    profile = profile or FormatProfile()
    doc = Document()
    _styles(doc, profile)
    body = doc.element.body
    for child in list(body):  # the default document's empty paragraph
        if child.tag == qn("w:p"):
            body.remove(child)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(profile.paper_width_mm), Mm(
        profile.paper_height_mm
    )
    section.top_margin, section.bottom_margin = Mm(profile.margin_top_mm), Mm(
        profile.margin_bottom_mm
    )
    section.left_margin, section.right_margin = Mm(profile.margin_left_mm), Mm(
        profile.margin_right_mm
    )
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)
    _page_number_header(section, first_hidden=profile.page_number_from == 2)
    width = profile.paper_width_mm - profile.margin_left_mm - profile.margin_right_mm

    # Header: superior and issuing body, asterisk, number | party title, rule, place and date.
    left, right = _two_columns(doc, (width * 0.42, width * 0.58))
    _para(left, "{{ header.superior }}", SUPERIOR)
    _para(left, "{{ header.issuer }}", ISSUER)
    _para(left, "*", STAR)
    _para(left, "Số {{ header.number }}-BC/{{ header.code }}", NUMBER)
    _para(right, "ĐẢNG CỘNG SẢN VIỆT NAM", PARTY)
    _para(right, "{{ header.place }}, {{ header.date }}", PLACE_DATE)

    _para(doc, "BÁO CÁO", TYPE)
    _para(doc, "{{ subject }}", SUBJECT)
    _para(doc, "-----", SUBJECT)
    p = _para(doc, "", BODY)
    p.paragraph_format.space_before = Pt(12)
    p.add_run(
        "Thực hiện {{ directive }}, {{ issuer_name }} đã theo dõi, đôn đốc, tổng hợp báo cáo của "
        "các đơn vị {{ period.name_lower }} (số liệu từ ngày {{ period.start }} đến ngày "
        "{{ period.end }}). {{ issuer_name }} báo cáo {{ reported_to }} kết quả như sau:"
    )

    # I- Leadership and roll-out.
    _para(doc, "I- TÌNH HÌNH TRIỂN KHAI VÀ BÁO CÁO CỦA CÁC ĐƠN VỊ", PART)
    _para(doc, "1. Tình hình gửi báo cáo", ITEM)
    _para(
        doc,
        "Văn bản giao nhiệm vụ cho {{ tracking.addressed }} đơn vị. Đến {{ tracking.as_of }}, "
        "{{ tracking.received }} đơn vị đã gửi báo cáo, trong đó {{ tracking.valid }} báo cáo "
        "hợp lệ ({{ tracking.on_time }} đúng hạn, {{ tracking.late }} nộp muộn), "
        "{{ tracking.invalid }} đơn vị có báo cáo chưa hợp lệ; {{ tracking.missing }} đơn vị "
        "chưa gửi báo cáo. Tỷ lệ báo cáo hợp lệ đạt {{ tracking.valid_rate }}, đúng hạn đạt "
        "{{ tracking.on_time_rate }}{{ tracking.compare }}.",
        BODY,
    )
    _para(doc, "{{ table('tracking_by_group') }}", TABLE)
    _para(doc, "{%p if tracking.late_units %}", BODY)
    _para(doc, "- Nộp muộn: {{ tracking.late_units }}.", BULLET)
    _para(doc, "{%p endif %}", BODY)
    _para(doc, "{%p if tracking.invalid_units %}", BODY)
    _para(doc, "- Báo cáo chưa hợp lệ, cần sửa và gửi lại: {{ tracking.invalid_units }}.", BULLET)
    _para(doc, "{%p endif %}", BODY)
    _para(doc, "{%p if tracking.missing_units %}", BODY)
    _para(doc, "- Chưa gửi báo cáo: {{ tracking.missing_units }}.", BULLET)
    _para(doc, "{%p endif %}", BODY)
    _para(doc, "2. Công tác lãnh đạo, chỉ đạo, quán triệt", ITEM)
    _para(doc, "{%p if not tracking.valid_count %}", BODY)
    _para(doc, "Chưa có báo cáo hợp lệ nên chưa tổng hợp được kết quả.", BODY)
    _para(doc, "{%p else %}", BODY)
    _para(
        doc,
        "Các đơn vị đã ban hành {{ documents.text }} để lãnh đạo, chỉ đạo, triển khai thực hiện"
        "{{ documents.compare }}.",
        BODY,
    )
    _para(doc, "{%p if '1.1.HN_SO' in f %}", BODY)
    _para(
        doc,
        "Đã tổ chức {{ f['1.1.HN_SO'].short }} hội nghị, lớp học tập, quán triệt"
        "{{ f['1.1.HN_SO'].compare }}{% if '1.1.HN_LUOT' in f %}, với "
        "{{ f['1.1.HN_LUOT'].short }} lượt cán bộ, đảng viên tham dự{% endif %}"
        "{% if '1.1.TT_SO' in f %}; {{ f['1.1.TT_SO'].short }} tin, bài tuyên truyền về công tác "
        "dân vận{% endif %}.",
        BODY,
    )
    _para(doc, "{%p endif %}", BODY)
    _para(doc, "{%p endif %}", BODY)

    # II- Results by task.
    _para(doc, "II- KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ", PART)
    _para(doc, "{%p for t in tasks %}", BODY)
    _para(doc, "{{ loop.index }}. {{ t.title }} (nhiệm vụ {{ t.code }})", ITEM)
    _para(
        doc,
        "Nhiệm vụ giao cho {{ t.addressed }} đơn vị ({{ t.groups }}); {{ t.reported }} đơn vị "
        "đã báo cáo{% if t.status %}: {{ t.status }}{% endif %}.",
        BODY,
    )
    _para(doc, "{%p for x in t.figures %}", BODY)
    _para(doc, "- {{ x.label }}: {{ x.text }}{{ x.compare }}.", BULLET)
    _para(doc, "{%p endfor %}", BODY)
    _para(doc, "{%p if t.quotes %}", BODY)
    _para(doc, "Kết quả nổi bật các đơn vị nêu:", BODY)
    _para(doc, "{%p for g in t.quotes %}", BODY)
    _para(doc, "{{ g.name }}:", BULLET)
    _para(doc, "{%p for q in g.lines %}", BODY)
    _para(doc, "- {{ q.units }}: “{{ q.text }}”.", BULLET)
    _para(doc, "{%p endfor %}", BODY)
    _para(doc, "{%p endfor %}", BODY)
    _para(doc, "{%p endif %}", BODY)
    _para(doc, "{%p endfor %}", BODY)

    # III- Shortcomings and difficulties; IV- proposals.
    for number, title, key, none in (
        ("III", "HẠN CHẾ, KHÓ KHĂN, VƯỚNG MẮC", "difficulties",
         "Các đơn vị không nêu khó khăn, vướng mắc."),
        ("IV", "ĐỀ XUẤT, KIẾN NGHỊ", "proposals", "Các đơn vị không có đề xuất, kiến nghị."),
    ):
        _para(doc, f"{number}- {title}", PART)
        _para(doc, f"{{%p if not {key} %}}", BODY)
        _para(doc, none, BODY)
        _para(doc, "{%p else %}", BODY)
        _para(doc, f"{{%p for g in {key} %}}", BODY)
        _para(doc, "{{ loop.index }}. {{ g.name }}", ITEM)
        _para(doc, "{%p for q in g.lines %}", BODY)
        _para(doc, "- {{ q.units }} ({{ q.tasks }}): “{{ q.text }}”.", BULLET)
        _para(doc, "{%p endfor %}", BODY)
        _para(doc, "{%p endfor %}", BODY)
        _para(doc, "{%p endif %}", BODY)

    # V- Evaluation.
    _para(doc, "V- ĐÁNH GIÁ, XẾP LOẠI", PART)
    _para(
        doc,
        "Căn cứ biểu điểm và các mức xếp loại, kết quả đánh giá, xếp loại các đơn vị như sau "
        "(chi tiết tại {{ appendix_of.evaluation }}):",
        BODY,
    )
    _para(doc, "{{ table('classes') }}", TABLE)
    _para(doc, "{%p for g in evaluation.groups %}", BODY)
    _para(
        doc,
        "- {{ g.name }}: {{ g.classes }}{% if g.rated %}; tổng điểm tự chấm bình quân "
        "{{ g.self_mean }}, tổng điểm được công nhận bình quân {{ g.total_mean }}{% endif %}.",
        BULLET,
    )
    _para(doc, "{%p endfor %}", BODY)
    _para(
        doc,
        "Văn phòng đã thẩm định điểm của {{ evaluation.assessed }} đơn vị; với các đơn vị khác, "
        "điểm tự chấm được giữ nguyên{{ evaluation.compare }}.",
        BODY,
    )

    # Closing: recipients (left), signature (right).
    _para(doc, "", BODY)
    left, right = _two_columns(doc, (width * 0.5, width * 0.5))
    _keep_together(left)
    _para(left, "Nơi nhận:", RECIPIENTS_LABEL)
    _para(left, "{%p for r in recipients %}", RECIPIENTS)
    _para(left, "- {{ r }}", RECIPIENTS)
    _para(left, "{%p endfor %}", RECIPIENTS)
    _para(right, "{%p if signature.authority %}", SIGNATURE)
    _para(right, "{{ signature.authority }}", SIGNATURE)
    _para(right, "{%p endif %}", SIGNATURE)
    _para(right, "{{ signature.title }}", SIGNATURE)
    for _ in range(4):
        _para(right, "", SIGNATURE)
    _para(right, "{{ signature.name }}", SIGNATURE)

    # Appendices, in a landscape section.
    appendix = doc.add_section(WD_SECTION.NEW_PAGE)
    appendix.orientation = WD_ORIENT.LANDSCAPE
    appendix.page_width, appendix.page_height = section.page_height, section.page_width
    appendix.different_first_page_header_footer = False
    _para(doc, "{%p for a in appendices %}", APPENDIX_TITLE)
    _para(doc, "Phụ lục{% if a.number %} {{ a.number }}{% endif %}", APPENDIX)
    _para(doc, "{{ a.title }}", APPENDIX_TITLE)
    _para(doc, "{{ a.note }}", APPENDIX_NOTE)
    _para(doc, "{{ table(a.table) }}", TABLE)
    _para(doc, "{%p endfor %}", APPENDIX_TITLE)
    doc.core_properties.title = "Báo cáo định kỳ (mẫu dvxl)"
    doc.core_properties.author = "dvxl"
    doc.core_properties.created = _FIXED_TIME
    doc.core_properties.modified = _FIXED_TIME
    doc.core_properties.last_modified_by = "dvxl"
    doc.core_properties.revision = 1
    return doc


def write(path: Path, profile: FormatProfile | None = None) -> Path:
    """Write the template to ``path`` with fixed zip times, so equal input gives equal bytes."""
    buffer = io.BytesIO()
    build(profile).save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: (i.filename != "[Content_Types].xml",
                                                           i.filename)):
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    path.write_bytes(out.getvalue())
    return path
