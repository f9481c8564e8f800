"""The tables of a sơ kết / tổng kết report over a span of periods: a column per period.

``dvxl report --since P0 --period P`` puts these in the places the period report puts its
own (:mod:`dvxl.docreport.tables`), same names, same order: reporting by group, classes,
and the three appendices. Every cell comes from the facts of its period, figures summed up
as the period report sums them (:func:`dvxl.docreport.content.figures_of`).
"""

from __future__ import annotations

from typing import Any

from dvxl.docreport import maker, vn
from dvxl.docreport.content import ReportInput, class_counts, figures_of, rating_groups
from dvxl.docreport.facts import STATUS_LABELS, PeriodFacts, UnitFacts
from dvxl.docreport.tables import Builder, _detach, _header, _paragraph, _shown, _spread, grid


def _names(inp: ReportInput) -> list[str]:
    return [vn.nfc(f.period.name) for f in inp.periods]


def _in(facts: PeriodFacts, code: str) -> UnitFacts | None:
    return next((u for u in facts.units if u.code == code), None)


def _widths(width: float, fixed: list[float], count: int) -> list[float]:
    """The last fixed column (names) takes what ``count`` columns of 35 mm leave, if more."""
    spare = width - sum(fixed) - 35.0 * count
    if spare > 0:
        fixed = [*fixed[:-1], fixed[-1] + spare]
    return _spread(width, fixed, count)


def _valid_rate(units: list[UnitFacts]) -> str:
    valid = sum(1 for u in units if u.reported)
    return f"{vn.number(valid)}/{vn.number(len(units))} ({vn.percent(valid, len(units)) or '0%'})"


def tracking_by_group(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Units with a valid return over units addressed, per rating group and period."""
    rows: list[list[str]] = []
    for code, name, _ in rating_groups(inp.catalog, inp.current):
        rows.append([name, *(_valid_rate([u for u in f.units if u.rating_group == code])
                             for f in inp.periods)])
    rows.append(["Tổng cộng", *(_valid_rate(list(f.units)) for f in inp.periods)])
    widths = _widths(width, [45.0], len(inp.periods))
    table = grid(doc, ["Nhóm đơn vị (hợp lệ/phải báo cáo)", *_names(inp)], rows, widths,
                 bold_last=True, numeric_from=1)
    return [_detach(table._tbl)]


def classes(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Units per class in each rating group, a column per period."""
    catalog = inp.catalog
    rows: list[list[str] | tuple[str]] = []
    groups = [(code, name) for code, name, _ in rating_groups(catalog, inp.current)]
    for code, name in [*groups, ("", "Tất cả đơn vị")]:
        rows.append((name,))
        counts = [class_counts(catalog, [u for u in f.units if not code or u.rating_group == code])
                  for f in inp.periods]
        for level in counts[0]:
            rows.append([vn.nfc(level), *(vn.number(c[level]) for c in counts)])
    widths = _widths(width, [60.0], len(inp.periods))
    table = grid(doc, ["Mức xếp loại", *_names(inp)], rows, widths, numeric_from=1)
    return [_detach(table._tbl)]


def figures(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Per task: a row per indicator with its total in each period."""
    catalog = inp.catalog
    per_period = [figures_of(catalog, f) for f in inp.periods]
    out: list[Any] = []
    for n, task in enumerate(catalog.tasks, 1):
        out.append(_detach(_paragraph(doc, f"{n}. Nhiệm vụ {task.code}: {task.title}",
                                      maker.ITEM)._p))
        rows: list[list[str]] = []
        for ind in _shown(catalog, task):
            key = f"{task.code}.{ind.code}"
            cells = [figs[key].short() if key in figs and figs[key].reported else ""
                     for figs in per_period]
            if any(cells):
                rows.append([str(len(rows) + 1), _header(ind), *cells])
        if not rows:
            out.append(_detach(_paragraph(doc, "Chưa có đơn vị báo cáo hợp lệ.", maker.BODY)._p))
            continue
        widths = _widths(width, [12.0, 90.0], len(inp.periods))
        out.append(_detach(grid(doc, ["STT", "Chỉ tiêu", *_names(inp)], rows, widths)._tbl))
    return out


def _status(unit: UnitFacts | None) -> str:
    if unit is None:
        return "Không phải báo cáo"
    status = STATUS_LABELS[unit.status]
    return f"{status} ({vn.number(unit.files)} tệp)" if unit.files else status


def _score(unit: UnitFacts | None) -> str:
    if unit is None:
        return ""
    total = vn.number(unit.total) if unit.rated and unit.total is not None else ""
    return f"{total}; {vn.nfc(unit.level)}" if total else vn.nfc(unit.level)


def _by_unit(doc: Any, inp: ReportInput, width: float, cell: Any) -> list[Any]:
    rows: list[list[str] | tuple[str]] = []
    k = 0
    for _, name, units in rating_groups(inp.catalog, inp.current):
        rows.append((name,))
        for unit in units:
            k += 1
            rows.append([str(k), vn.nfc(unit.name),
                         *(cell(_in(f, unit.code)) for f in inp.periods)])
    widths = _widths(width, [12.0, 62.0], len(inp.periods))
    return [_detach(grid(doc, ["STT", "Đơn vị", *_names(inp)], rows, widths)._tbl)]


def tracking(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Each unit's status (and files received) in each period."""
    return _by_unit(doc, inp, width, _status)


def evaluation(doc: Any, inp: ReportInput, width: float) -> list[Any]:
    """Each unit's total score and class in each period."""
    return _by_unit(doc, inp, width, _score)


BUILDERS: dict[str, Builder] = {
    "tracking_by_group": tracking_by_group,
    "classes": classes,
    "figures": figures,
    "tracking": tracking,
    "evaluation": evaluation,
}
