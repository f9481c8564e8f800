"""The period report to the Standing Committee: a Word document in the Party's format.

``dvxl report --period P`` writes ``outputs/P/bao-cao-P.docx`` (and its PDF):
the header, «BÁO CÁO» and its trích yếu, parts I–V built from the period's
consolidated data, «Nơi nhận» and the signature, and the appendices in a
landscape section. The modules, in the order the work flows:

=========  ==================================================================
facts      the one door into the consolidated data (:mod:`dvxl.merge`)
figures    an indicator summed up over the units as the catalog says
content    the template's context: texts, numbers, lists (nothing invented)
tables     the tables, built with python-docx
word       docxtpl renders the template; tables put in; the format profile
pdf        LibreOffice headless, a profile folder per run, a time limit
maker      builds the template shipped with dvxl (``mau-bao-cao.docx``)
vn         Vietnamese numbers (1.234; 12,5%) and dates (ngày 05 tháng 7 năm 2026)
=========  ==================================================================

Why docxtpl over python-docx alone: the wording and layout stay in a Word file
an office can reword and restyle in Word (the tags are plain text in it), while
the figures and the tables come from code; python-docx is what docxtpl and the
table builders work with.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from dvxl.docreport import maker, pdf, word
from dvxl.docreport.content import ReportInput
from dvxl.errors import UsageError

#: The template a workspace may keep beside its master to replace the shipped one.
TEMPLATE_NAME = "mau-bao-cao.docx"


@dataclass(frozen=True)
class Written:
    """What :func:`write_report` produced."""

    docx: Path
    pdf: Path | None  # None when no PDF was asked for or none could be made
    pdf_problem: str  # why no PDF was made, in Vietnamese ("" when it was, or not asked)


def template_for(root: Path) -> Path:
    """The workspace's own template when it has one, else the one shipped with dvxl."""
    own = root / TEMPLATE_NAME
    return own if own.is_file() else maker.SHIPPED


def copy_template(root: Path) -> Path:
    """Put a copy of the shipped template in the workspace, for the office to edit in Word."""
    target = root / TEMPLATE_NAME
    if target.exists():
        raise UsageError(
            f"{target} đã có; dvxl không ghi đè mẫu của văn phòng. Đổi tên hoặc xóa tệp đó "
            "nếu muốn lấy lại mẫu đi kèm dvxl."
        )
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(maker.SHIPPED, target)
    return target


def write_report(
    inp: ReportInput, path: Path, template: Path | None = None, make_pdf: bool = False
) -> Written:
    """Write the report to ``path`` (.docx), and beside it its PDF when ``make_pdf``.

    Without LibreOffice the .docx is still written and ``pdf_problem`` says why
    there is no PDF.
    """
    doc = word.render(inp, template or maker.SHIPPED)
    word.save(doc, path)
    if not make_pdf:
        return Written(path, None, "")
    try:
        made = pdf.to_pdf(path, path.with_suffix(".pdf"))
    except pdf.PdfError as exc:
        return Written(path, None, str(exc))
    return Written(path, made, "")


__all__ = ["TEMPLATE_NAME", "ReportInput", "Written", "copy_template", "template_for",
           "write_report"]
