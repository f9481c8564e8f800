"""The sheet «So sánh các kỳ» of the period workbook, and the unit sheets' «Qua các kỳ».

Written when the ledger has earlier periods (:mod:`dvxl.history`). One column per
period, oldest first, the period of the workbook last, then the change from the period
before it. Three tables: how the units reported (with the rates as formulas and a line
chart of them), the key figures of each task, and each unit's total score and class.
Every rate and change is a formula stored with the value computed here.
"""

from __future__ import annotations

import math
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from dvxl import printing
from dvxl.docreport.figures import Figure
from dvxl.history import History, UnitRecord, rates
from dvxl.looks import Cell, Col, Looks, fit_height
from dvxl.model import Unit
from dvxl.rawrows import Formula
from dvxl.statuses import TrackStatus

CHART_WIDTH = 720
CHART_HEIGHT = 260
DEFAULT_ROW_PX = 21  # printing.WORKBOOK_OPTIONS["default_row_height"], as in render
_FIRST = 3  # the first period's column


def _status(code: str) -> TrackStatus:
    return TrackStatus(code)


def write_sheet(looks: Looks, sheet: Any, history: History, not_rated: str) -> None:
    """The comparison sheet: reporting, key figures per task, scores and classes."""
    periods = [f.period for f in history.periods]
    cols = [Col("STT", 6), Col("Mã", 13), Col("Nội dung", 42, True)]
    cols += [Col(p.name, 14, True) for p in periods]
    cols.append(Col(f"Tăng, giảm so với {periods[-2].name}", 14, True))
    looks.heading(sheet, [
        (f"SO SÁNH CÁC KỲ BÁO CÁO — {periods[0].name.upper()} ĐẾN "
         f"{periods[-1].name.upper()}", looks.title),
        ("Mỗi cột là một kỳ có báo cáo trong sổ ghi nhận (ledger.sqlite), tổng hợp như sổ tổng "
         "hợp và báo cáo của kỳ đó: chỉ báo cáo hợp lệ mới nhất của mỗi đơn vị được tính; tỷ lệ "
         "tính trên số đơn vị phải báo cáo.", looks.note),
    ], cols)
    sheet.write_string(3, 0, "1. Tình hình gửi báo cáo qua các kỳ", looks.s.bold)
    end = _reporting(looks, sheet, history, cols, 4)
    breaks = [end + 1]  # the figures and the scores each start a printed page
    sheet.write_string(end + 1, 0, "2. Số liệu chính của từng nhiệm vụ qua các kỳ",
                       looks.s.bold)
    end = _figures(looks, sheet, history, cols, end + 2)
    breaks.append(end + 1)
    sheet.write_string(end + 1, 0, "3. Tổng điểm và xếp loại của từng đơn vị qua các kỳ",
                       looks.s.bold)
    _scores(looks, sheet, history, cols, end + 2, not_rated)
    sheet.set_h_pagebreaks(breaks)


def _change(looks: Looks, r: int, values: list[float | None], pct: bool) -> Cell:
    """The last period minus the one before, as a formula; blank when either is missing."""
    last, before = values[-1], values[-2]
    whole = all(v is None or float(v).is_integer() for v in values)
    fmt = looks.pct if pct else looks.integer if whole else looks.general
    if last is None or before is None:
        return "", fmt
    n = len(values)
    text = f"={xl_rowcol_to_cell(r, _FIRST + n - 1)}-{xl_rowcol_to_cell(r, _FIRST + n - 2)}"
    return Formula(text, last - before), fmt


def _reporting(looks: Looks, sheet: Any, history: History, cols: list[Col], header: int) -> int:
    counted = [rates(f) for f in history.periods]
    n = len(counted)
    rows: list[list[Cell]] = []
    labels: list[tuple[str, list[int]]] = [
              ("Số đơn vị phải báo cáo", [c.addressed for c in counted]),
              ("Có báo cáo hợp lệ", [c.reported for c in counted]),
              ("Trong đó đúng hạn", [c.on_time for c in counted]),
              ("Trong đó nộp muộn", [c.late for c in counted])]
    for i, (label, counts) in enumerate(labels):
        r = header + 1 + i
        rows.append([(i + 1, looks.center), ("", looks.text), (label, looks.text),
                     *[(v, looks.integer) for v in counts],
                     _change(looks, r, [float(v) for v in counts], False)])
    for j, (label, which) in enumerate((("Tỷ lệ có báo cáo hợp lệ", 1),
                                        ("Tỷ lệ đúng hạn", 2))):
        r = header + 1 + len(labels) + j
        row: list[Cell] = [(len(labels) + j + 1, looks.center), ("", looks.text),
                           (label, looks.text)]
        shares: list[float | None] = []
        for k in range(n):
            col = _FIRST + k
            expected = xl_rowcol_to_cell(header + 1, col)
            part = xl_rowcol_to_cell(header + 1 + which, col)
            base = counted[k].addressed
            value = (counted[k].reported if which == 1 else counted[k].on_time) / base \
                if base else 0.0
            shares.append(value)
            row.append((Formula(f"=IF({expected}=0,0,{part}/{expected})", value), looks.pct))
        row.append(_change(looks, r, shares, True))
        rows.append(row)
    end = looks.table(sheet, header, cols, rows, only=False)
    _chart(looks, sheet, header, n, end + 1)
    return end + 1 + math.ceil(CHART_HEIGHT / DEFAULT_ROW_PX) + 1


def _chart(looks: Looks, sheet: Any, header: int, n: int, at: int) -> None:
    """A line chart of the two rates, one point per period."""
    name = sheet.get_name()
    font = {"name": printing.FONT}
    chart = looks.wb.add_chart({"type": "line"})
    # The labels of one line above its points, of the other below: equal rates stay legible.
    for r, colour, where in ((header + 5, "#4472C4", "above"), (header + 6, "#ED7D31", "below")):
        chart.add_series({
            "name": [name, r, 2],
            "categories": [name, header, _FIRST, header, _FIRST + n - 1],
            "values": [name, r, _FIRST, r, _FIRST + n - 1],
            "line": {"color": colour, "width": 2.25},
            "marker": {"type": "circle", "size": 6,
                       "fill": {"color": colour}, "border": {"color": colour}},
            "data_labels": {"value": True, "position": where, "font": font,
                            "num_format": "0.0%"},
        })
    chart.set_title({"name": "Tỷ lệ có báo cáo hợp lệ và đúng hạn qua các kỳ",
                     "name_font": {**font, "size": 13}})
    chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%", "num_font": font,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_x_axis({"num_font": font})
    chart.set_legend({"position": "bottom", "font": font})
    chart.set_size({"width": CHART_WIDTH, "height": CHART_HEIGHT})
    sheet.insert_chart(at, 0, chart)


def _figure_rows(figure: Figure) -> list[tuple[str, str, bool]]:
    """(label, the value's key, as a rate) rows of one figure; count figures by value."""
    unit = f" ({figure.unit})" if figure.unit else ""
    if figure.kind == "rate":
        return [(f"{figure.label} — tỷ lệ", "", True)]
    if figure.kind == "mean":
        return [(f"{figure.label}{unit} — bình quân mỗi đơn vị", "", False)]
    if figure.kind == "count" and figure.choice:
        return [(f"{figure.label} — số đơn vị «{figure.choice}»", "", False)]
    if figure.kind == "count":
        return [(f"{figure.label} — số đơn vị «{v}»", v, False) for v in figure.counts]
    return [(f"{figure.label}{unit}", "", False)]


def _figure_value(figure: Figure | None, choice: str) -> float | None:
    if figure is None or figure.reported == 0:
        return None
    if figure.kind == "rate":
        return figure.value / figure.base if figure.base else None
    if figure.kind == "count" and not figure.choice:
        return float(figure.counts.get(choice, 0))
    return figure.value


def _figures(looks: Looks, sheet: Any, history: History, cols: list[Col], header: int) -> int:
    per_period = history.figures()
    keys = list(dict.fromkeys(k for figs in reversed(per_period) for k in figs))
    order = {f"{i.task}.{i.code}": n for n, i in enumerate(history.catalog.indicators)}
    tasks = [t.code for t in history.catalog.tasks]
    keys.sort(key=lambda k: (tasks.index(k.rpartition(".")[0])
                             if k.rpartition(".")[0] in tasks else len(tasks),
                             order.get(k, len(order))))
    rows: list[list[Cell]] = []
    for key in keys:
        shown = next(figs[key] for figs in reversed(per_period) if key in figs)
        if shown.kind == "count" and not shown.choice:
            for figs in per_period:  # a value chosen only in an earlier period
                if key in figs:
                    shown = _merged_counts(shown, figs[key])
        for label, choice, as_rate in _figure_rows(shown):
            values = [_figure_value(figs.get(key), choice) for figs in per_period]
            if all(v is None for v in values):
                continue
            r = header + 1 + len(rows)
            whole = all(v is None or float(v).is_integer() for v in values)
            fmt = looks.pct if as_rate else looks.integer if whole else looks.general
            row: list[Cell] = [(len(rows) + 1, looks.center), (shown.task, looks.text),
                               (label, looks.text)]
            row += [(v if v is not None else "", fmt) for v in values]
            row.append(_change(looks, r, values, as_rate))
            rows.append(row)
    if not rows:
        rows.append([("", looks.text), ("", looks.text),
                     ("Chưa kỳ nào có báo cáo hợp lệ.", looks.empty),
                     *[("", looks.text)] * (len(cols) - 3)])
    return looks.table(sheet, header, cols, rows, only=False)


def _merged_counts(shown: Figure, other: Figure) -> Figure:
    from dataclasses import replace

    counts = dict(shown.counts)
    for value in other.counts:
        counts.setdefault(value, 0)
    return replace(shown, counts=counts)


def _scores(looks: Looks, sheet: Any, history: History, cols: list[Col], header: int,
            not_rated: str) -> int:
    """Two rows per unit: its total score by period (with the change), then its class."""
    units = history.current.units
    rows: list[list[Cell]] = []
    for i, unit in enumerate(units, 1):
        records = history.unit(unit.code)
        totals = [rec.facts.total if rec.facts is not None and rec.facts.rated else None
                  for rec in records]
        r = header + 1 + len(rows)
        rows.append([(i, looks.center), (unit.code, looks.text),
                     (f"{unit.name} — tổng điểm", looks.text),
                     *[(t if t is not None else "", looks.general) for t in totals],
                     _change(looks, r, totals, False)])
        rows.append([("", looks.center), (unit.code, looks.text),
                     (f"{unit.name} — xếp loại", looks.text),
                     *[(_level(rec, not_rated), looks.text) for rec in records],
                     ("", looks.text)])
    return looks.table(sheet, header, cols, rows, only=False)


def _level(rec: UnitRecord, not_rated: str) -> str:
    if rec.facts is None:
        return "Không phải báo cáo"
    return rec.facts.level or not_rated


def unit_section(looks: Looks, sheet: Any, unit: Unit, history: History, start: int,
                 not_rated: str, widths: list[float]) -> int:
    """«Qua các kỳ» under a unit's sheet: files, status, score and class in each period
    (``widths``: the sheet's first columns, in characters, to size the header row)."""
    sheet.write_string(start, 0, "Qua các kỳ", looks.s.bold)
    header = start + 1
    titles = ["Kỳ báo cáo", "Số tệp nhận", "Tình trạng nộp", "Tổng điểm", "Xếp loại"]
    for col, title in enumerate(titles):
        sheet.write_string(header, col, title, looks.s.header)
    sheet.set_row(header, fit_height(zip(titles, widths, strict=False)))
    r = header + 1
    for rec in history.unit(unit.code):
        f = rec.facts
        sheet.write_string(r, 0, rec.period.name, looks.text)
        if f is None:
            sheet.write_string(r, 1, "", looks.text)
            sheet.write_string(r, 2, "Không phải báo cáo", looks.text)
            sheet.write_blank(r, 3, None, looks.general)
            sheet.write_blank(r, 4, None, looks.text)
        else:
            sheet.write_number(r, 1, f.files, looks.integer)
            label, fmt = looks.status_cell(_status(f.status))
            sheet.write_string(r, 2, label, fmt)
            if f.rated and f.total is not None:
                sheet.write_number(r, 3, f.total, looks.general)
            else:
                sheet.write_blank(r, 3, None, looks.general)
            sheet.write_string(r, 4, f.level or not_rated, looks.text)
        r += 1
    return r
