"""The Word document: the template rendered with docxtpl, tables put in, the format applied.

Three steps, in order:

1. docxtpl renders the template's Jinja tags with the context of
   :mod:`dvxl.docreport.content` (values escaped for XML, a missing value shown
   empty rather than stopping the report);
2. each paragraph that holds only a table marker (``{{ table('tracking') }}``)
   is replaced by what :mod:`dvxl.docreport.tables` builds for that name;
3. the format profile of the master («Thể thức») is applied: paper, margins,
   the font in every slot (East Asian included, or Word falls back to another
   face for Vietnamese), the sizes of the template's styles, the page number
   from page 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docxtpl import DocxTemplate

from dvxl import atomic
from dvxl.docreport import maker, spantables, tables
from dvxl.docreport.content import ReportInput, build_context
from dvxl.errors import UsageError
from dvxl.model import FormatProfile

#: Which profile size each of the template's styles takes.
PROFILE_SIZES: dict[str, str] = {
    maker.BODY: "size_text",
    maker.SUPERIOR: "size_bodies",
    maker.ISSUER: "size_bodies",
    maker.STAR: "size_bodies",
    maker.NUMBER: "size_number",
    maker.PARTY: "size_party",
    maker.PLACE_DATE: "size_place_date",
    maker.TYPE: "size_type",
    maker.SUBJECT: "size_subject",
    maker.PART: "size_text",
    maker.ITEM: "size_text",
    maker.BULLET: "size_text",
    maker.RECIPIENTS_LABEL: "size_bodies",
    maker.RECIPIENTS: "size_recipients",
    maker.SIGNATURE: "size_signature",
    maker.APPENDIX: "size_text",
    maker.APPENDIX_TITLE: "size_text",
    maker.APPENDIX_NOTE: "size_text",
    maker.TABLE: "size_table",
    maker.TABLE_HEAD: "size_table",
    maker.PAGE_NUMBER: "size_page_number",
}

_MARKER = "\u27e6dvxl:{}\u27e7"
_MARKER_TEXT = re.compile("^\u27e6dvxl:([a-z_]+)\u27e7$")


def render(inp: ReportInput, template: Path) -> Any:
    """The report as a python-docx Document."""
    try:
        tpl = DocxTemplate(str(template))
        context = {**build_context(inp), "table": _MARKER.format}
        env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
        tpl.render(context, jinja_env=env, autoescape=True)
    except jinja2.TemplateError as exc:
        raise UsageError(
            f"Mẫu báo cáo {template} có thẻ sai ({exc}). Sửa thẻ {{{{ … }}}} hoặc {{% … %}} trong "
            "Word, hoặc xóa tệp mẫu của thư mục làm việc để dùng mẫu đi kèm dvxl."
        ) from None
    except (KeyError, ValueError, OSError) as exc:
        raise UsageError(f"Không đọc được mẫu báo cáo {template}: {exc}") from None
    doc = tpl.docx
    profile = inp.catalog.format
    _put_tables(doc, inp, profile)
    _first_appendix_without_break(doc)
    apply_profile(doc, profile)
    return doc


def _text_widths(profile: FormatProfile) -> tuple[float, float]:
    side = profile.margin_left_mm + profile.margin_right_mm
    return profile.paper_width_mm - side, profile.paper_height_mm - side


def _put_tables(doc: Any, inp: ReportInput, profile: FormatProfile) -> None:
    portrait, landscape = _text_widths(profile)
    for paragraph in list(doc.element.body.iter(qn("w:p"))):
        text = "".join(t.text or "" for t in paragraph.iter(qn("w:t"))).strip()
        match = _MARKER_TEXT.match(text)
        if match is None:
            continue
        name = match.group(1)
        build = (spantables.BUILDERS if inp.span else tables.BUILDERS).get(name)
        elements = (
            build(doc, inp, landscape if name in tables.WIDE else portrait) if build else []
        )
        for element in elements:
            paragraph.addprevious(element)
        if elements and elements[-1].tag == qn("w:tbl"):
            # A table straight before the next paragraph: leave a little air after it.
            spacer = OxmlElement("w:p")
            paragraph.addprevious(spacer)
        paragraph.getparent().remove(paragraph)


def _first_appendix_without_break(doc: Any) -> None:
    """The landscape section starts on a new page: «Phụ lục 1» needs no break of its own."""
    for paragraph in doc.paragraphs:
        if paragraph.style is not None and paragraph.style.name == maker.APPENDIX:
            paragraph.paragraph_format.page_break_before = False
            return


def _fonts(rpr: Any, font: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), font)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def apply_profile(doc: Any, profile: FormatProfile) -> None:
    """Paper, margins, fonts and sizes of the profile onto the document."""
    for section in doc.sections:
        wide = section.orientation == WD_ORIENT.LANDSCAPE
        short, long_ = Mm(profile.paper_width_mm), Mm(profile.paper_height_mm)
        section.page_width, section.page_height = (long_, short) if wide else (short, long_)
        section.top_margin = Mm(profile.margin_top_mm)
        section.bottom_margin = Mm(profile.margin_bottom_mm)
        section.left_margin = Mm(profile.margin_left_mm)
        section.right_margin = Mm(profile.margin_right_mm)
    doc.sections[0].different_first_page_header_footer = profile.page_number_from == 2
    rpr = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if rpr is not None:
        _fonts(rpr, profile.font)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(profile.size_text)
    normal.paragraph_format.line_spacing = profile.line_spacing
    _fonts(normal.element.get_or_add_rPr(), profile.font)
    for style in doc.styles:
        size = PROFILE_SIZES.get(style.name)
        if size is not None:
            _fonts(style.element.get_or_add_rPr(), profile.font)
            style.font.size = Pt(getattr(profile, size))
            if style.name == maker.BODY:
                style.paragraph_format.first_line_indent = Mm(profile.first_line_indent_mm)
                style.paragraph_format.space_after = Pt(profile.space_after_pt)


def save(doc: Any, path: Path) -> Path:
    """Save whole or not at all (:mod:`dvxl.atomic`: readable by all, never half-written)."""
    with atomic.replacing(path) as tmp:
        doc.save(str(tmp))
    return path
