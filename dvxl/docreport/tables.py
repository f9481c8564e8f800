"""The report's tables, built from the facts with python-docx into the rendered document.

The template says where each goes (``{{ table('tracking') }}``); the renderer
calls the builder of that name, which returns the elements (headings, tables,
notes) put in place of the marker paragraph. Tables use the template's
«DV Bang» and «DV Tieu de bang» styles and draw their own borders, so an
office's template needs no table style.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm

from dvxl.docreport import maker, vn
from dvxl.docreport.content import ReportInput, class_counts, rating_groups, returns
from dvxl.docreport.facts import STATUS_LABELS, UnitFacts
from dvxl.docreport.figures import Figure, number_of, task_figures
from dvxl.model import Catalog, Indicator, Task

#: Indicator types shown in the per-unit figures table (texts are quoted in the body).
_SHOWN = frozenset({"integer", "decimal", "score", "choice"})

Builder = Callable[[Any, ReportInput, float], list[Any]]


def _style(doc: Any, name: str) -> Any:
    try:
        return doc.styles[name]
    except KeyError:  # an office's template without the style: Word's default
        return None


def _borders(table: Any) -> None:
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"),
                           ("w:color", "auto")):
            element.set(qn(key), value)
        borders.append(element)
    props.append(borders)


def _repeat_header(row: Any) -> None:
    props = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    props.append(header)


def _cell(cell: Any, text: str, style: Any, *, center: bool = False, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.style = style
    run = paragraph.add_run(vn.nfc(text))
    if bold:
        run.bold = True
    if center:
        paragraph.alignment = 1  # WD_ALIGN_PARAGRAPH.CENTER


def grid(
    doc: Any,
    headers: Sequence[str],
    rows: Sequence[Sequence[str] | tuple[str]],
    widths_mm: Sequence[float],
    *,
    bold_last: bool = False,
    numeric_from: int = 2,
) -> Any:
    """A bordered table; a row of one cell is a group heading spanning the table."""
    head, body = _style(doc, maker.TABLE_HEAD), _style(doc, maker.TABLE)
    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _borders(table)
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for i, text in enumerate(headers):
        _cell(table.rows[0].cells[i], text, head, center=True, bold=head is None)
    _repeat_header(table.rows[0])
    for r, values in enumerate(rows, 1):
        cells = table.rows[r].cells
        last = bold_last and r == len(rows)
        if len(values) == 1:  # a group's heading across the table
            merged = cells[0].merge(cells[-1])
            _cell(merged, values[0], body, bold=True)
            continue
        for c, text in enumerate(values):
            center = c >= numeric_from or (c == 0 and numeric_from > 1)
            _cell(cells[c], text, body, center=center, bold=last)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)
    return table


def _detach(element: Any) -> Any:
    element.getparent().remove(element)
    return element


def _paragraph(doc: Any, text: str, style: str, *, bold: bool = False) -> Any:
    paragraph = doc.add_paragraph(style=_style(doc, style))
    run = paragraph.add_run(vn.nfc(text))
    if bold:
        run.bold = True
    return paragraph


def _spread(total: float, fixed: Sequence[float], count: int) -> list[float]:
    """Widths: the fixed columns, then ``count`` columns sharing what is left."""
    rest = max(total - sum(fixed), 15.0 * count)
    return [*fixed, *([rest / count] * count)] if count else list(fixed)


# Body tables -------------------------------------------------------------------------------


def tracking_by_group(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Reporting per rating group: addressed, sent, valid, on time, late, invalid, missing."""
    headers = ["Nhóm đơn vị", "Phải báo cáo", "Đã gửi", "Hợp lệ", "Đúng hạn", "Nộp muộn",
               "Chưa hợp lệ", "Chưa gửi", "Tỷ lệ hợp lệ"]
    rows = []
    all_units: list[UnitFacts] = []
    for _, name, units in rating_groups(inp.catalog, inp.current):
        rows.append([name, *_track_counts(units)])
        all_units += units
    rows.append(["Tổng cộng", *_track_counts(all_units)])
    widths = _spread(width, [45.0], 8)
    table = grid(doc, headers, rows, widths, bold_last=True, numeric_from=1)
    return [_detach(table._tbl)]


def _track_counts(units: list[UnitFacts]) -> list[str]:
    status = [u.status for u in units]
    valid = sum(1 for u in units if u.reported)
    return [
        vn.number(len(units)),
        vn.number(sum(1 for u in units if u.files)),
        vn.number(valid),
        *(vn.number(status.count(s)) for s in ("on_time", "late", "invalid", "missing")),
        vn.percent(valid, len(units)) or "0%",
    ]


def classes(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Units per class in each rating group (QĐ 366 levels and «not rated»)."""
    catalog = inp.catalog
    names = list(class_counts(catalog, []))
    rows = []
    for _, name, units in rating_groups(catalog, inp.current):
        counts = class_counts(catalog, units)
        rows.append([name, *(vn.number(counts[n]) for n in names), vn.number(len(units))])
    totals = class_counts(catalog, inp.current.units)
    rows.append(["Tổng cộng", *(vn.number(totals[n]) for n in names),
                 vn.number(len(inp.current.units))])
    widths = _spread(width, [45.0], len(names) + 1)
    table = grid(doc, ["Nhóm đơn vị", *names, "Cộng"], rows, widths, bold_last=True,
                 numeric_from=1)
    return [_detach(table._tbl)]


# Appendices --------------------------------------------------------------------------------


def _shown(catalog: Catalog, task: Task) -> list[Indicator]:
    return [i for i in catalog.indicators_for(task) if i.type in _SHOWN]


def _value_text(value: Any) -> str:
    number = number_of(value)
    if number is not None:
        return vn.number(number)
    return vn.one_line(value) if value not in (None, "") else ""


def _total_text(figure: Figure | None) -> str:
    return figure.short() if figure is not None else ""


def figures(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Per task: a row per reporting unit with every numeric and chosen value, and the totals."""
    catalog, facts = inp.catalog, inp.current
    out: list[Any] = []
    for n, task in enumerate(catalog.tasks, 1):
        out.append(_detach(_paragraph(doc, f"{n}. Nhiệm vụ {task.code}: {task.title}",
                                      maker.ITEM)._p))
        addressed = [u for u in facts.units if set(u.groups) & set(task.groups)]
        reported = [u for u in addressed if u.reported]
        if not reported:
            out.append(_detach(_paragraph(doc, "Chưa có đơn vị báo cáo hợp lệ.", maker.BODY)._p))
            continue
        shown = _shown(catalog, task)
        totals = {f.code: f for f in task_figures(catalog, task, returns(facts, task))}
        headers = ["STT", "Đơn vị", *(_header(i) for i in shown)]
        rows: list[list[str]] = [
            [str(k), vn.nfc(u.name), *(_value_text(u.values.get(f"{task.code}.{i.code}"))
                                       for i in shown)]
            for k, u in enumerate(reported, 1)
        ]
        rows.append(["", "Tổng hợp", *(_total_text(totals.get(i.code)) for i in shown)])
        widths = _spread(width, [12.0, 62.0], len(shown))
        out.append(_detach(grid(doc, headers, rows, widths, bold_last=True)._tbl))
        missing = [u for u in addressed if not u.reported]
        if missing:
            names = vn.names([vn.nfc(u.name) for u in missing])
            out.append(_detach(_paragraph(
                doc, f"Chưa có báo cáo hợp lệ: {names}.", maker.TABLE)._p))
    return out


def _header(indicator: Indicator) -> str:
    label = vn.nfc(indicator.label)
    return f"{label} ({vn.nfc(indicator.unit)})" if indicator.unit else label


def tracking(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Who sent what, when: a row per addressed unit, by rating group."""
    headers = ["STT", "Đơn vị", "Tình trạng", "Số tệp đã nhận", "Thời điểm nhận",
               "Tệp được dùng (hoặc gửi sau cùng)", "Ghi chú"]
    rows: list[list[str] | tuple[str]] = []
    k = 0
    for _, name, units in rating_groups(inp.catalog, inp.current):
        rows.append((name,))
        for unit in units:
            k += 1
            note = unit.note
            if unit.superseded:
                replaced = ", ".join(f"«{n}»" for n in unit.superseded)
                note = (note + "; " if note else "") + f"thay cho tệp gửi trước {replaced}"
            rows.append([
                str(k), vn.nfc(unit.name), STATUS_LABELS[unit.status], vn.number(unit.files),
                vn.moment(unit.last_received) if unit.last_received else "",
                vn.nfc(unit.last_name), vn.nfc(note),
            ])
    widths = _spread(width, [12.0, 62.0, 24.0, 18.0, 34.0], 2)
    return [_detach(grid(doc, headers, rows, widths, numeric_from=2)._tbl)]


def evaluation(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Self-score beside the score that counts, class and rank, by rating group."""
    headers = ["STT", "Đơn vị", "Tổng điểm tự chấm", "Tổng điểm được công nhận",
               "Số nhiệm vụ đã thẩm định", "Xếp loại", "Thứ hạng trong nhóm"]
    rows: list[list[str] | tuple[str]] = []
    k = 0
    for _, name, units in rating_groups(inp.catalog, inp.current):
        rows.append((name,))
        for unit in units:
            k += 1
            rows.append([
                str(k), vn.nfc(unit.name),
                vn.number(unit.self_total) if unit.self_total is not None else "",
                vn.number(unit.total) if unit.total is not None else "",
                vn.number(unit.assessed) if unit.rated else "",
                vn.nfc(unit.level), str(unit.rank) if unit.rank is not None else "",
            ])
    widths = _spread(width, [12.0, 72.0, 25.0, 28.0, 25.0], 2)
    return [_detach(grid(doc, headers, rows, widths)._tbl)]


BUILDERS: dict[str, Builder] = {
    "tracking_by_group": tracking_by_group,
    "classes": classes,
    "figures": figures,
    "tracking": tracking,
    "evaluation": evaluation,
}
#: Tables that go in the landscape appendices (the others in the portrait body).
WIDE = frozenset({"figures", "tracking", "evaluation"})
