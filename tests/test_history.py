"""The periods side by side: «So sánh các kỳ», «Qua các kỳ» and ``dvxl history``.

The ledger holds two periods of simulated returns written into the real templates
(2025-N, then 2026-6T, as tests/test_docreport.py builds them); one unit sends nothing
for 2026-6T. Every figure of the comparison sheet is computed again here from the
values the ledger recorded for each return (the newest error-free file of each unit).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_docreport import DAY, EARLIER, PERIOD, _simulate, accepted, by_unit

from dvxl import periods, sample, workspace
from dvxl.cli import main
from dvxl.intake import Receipt
from dvxl.model import Catalog
from dvxl.render import COMPARE_SHEET

#: The unit that reported in 2025-N and sent nothing for 2026-6T.
SILENT = "BCSUB"


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> workspace.Workspace:
    ws = workspace.init(tmp_path_factory.mktemp("history") / "ws")
    catalog = ws.load()
    _simulate(ws, EARLIER, ws.root / "inbox-2025", seed=7)
    workspace.make_templates(ws, PERIOD)
    sample.simulate_returns(catalog, periods.find(catalog, PERIOD), ws.templates(PERIOD),
                            ws.inbox, seed=2026)
    for path in ws.inbox.glob(f"BC {PERIOD} {SILENT}*"):
        path.unlink()
    workspace.merge(ws, ws.inbox, PERIOD)
    return ws


def _book(ws: workspace.Workspace, period: str) -> Any:
    return openpyxl.load_workbook(ws.outputs(period) / f"tong-hop-{period}.xlsx")


@pytest.fixture(scope="module")
def rows(ledger: workspace.Workspace) -> list[tuple[Any, ...]]:
    """The comparison sheet's rows, formulas' cached values included."""
    book = openpyxl.load_workbook(ledger.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx",
                                  data_only=True)
    return list(book[COMPARE_SHEET].iter_rows(values_only=True))


def _row(rows: list[tuple[Any, ...]], label: str, code: Any = None) -> tuple[Any, ...]:
    found = [r for r in rows if r[2] == label and (code is None or r[1] == code)]
    assert len(found) == 1, (label, code, len(found))
    return found[0]


def _units(catalog: Catalog) -> set[str]:
    return {u.code for u in catalog.addressed_units()}


def test_a_period_without_earlier_periods_has_no_comparison_sheet(
    ledger: workspace.Workspace,
) -> None:
    book = _book(ledger, EARLIER)
    assert COMPARE_SHEET not in book.sheetnames
    unit_sheet = book[SILENT]
    assert all(c.value != "Qua các kỳ" for row in unit_sheet.iter_rows() for c in row)


def test_the_comparison_sheet_has_a_column_per_period_oldest_first(
    ledger: workspace.Workspace, rows: list[tuple[Any, ...]]
) -> None:
    book = _book(ledger, PERIOD)
    assert COMPARE_SHEET in book.sheetnames
    catalog = ledger.load()
    header = next(r for r in rows if r[0] == "STT")
    assert header[3:5] == (catalog.period(EARLIER).name, catalog.period(PERIOD).name)
    assert header[5].startswith("Tăng, giảm so với")


def test_reporting_rates_by_period_are_counted_from_the_returns(
    ledger: workspace.Workspace, rows: list[tuple[Any, ...]]
) -> None:
    catalog = ledger.load()
    addressed = len(_units(catalog))
    for col, code in ((3, EARLIER), (4, PERIOD)):
        period = catalog.period(code)
        chosen = accepted(ledger, code)
        on_time = sum(1 for r in chosen.values() if r.received.date() <= period.deadline)
        assert _row(rows, "Số đơn vị phải báo cáo")[col] == addressed
        assert _row(rows, "Có báo cáo hợp lệ")[col] == len(chosen)
        assert _row(rows, "Trong đó đúng hạn")[col] == on_time
        assert _row(rows, "Trong đó nộp muộn")[col] == len(chosen) - on_time
        assert _row(rows, "Tỷ lệ có báo cáo hợp lệ")[col] == pytest.approx(len(chosen) / addressed)
        assert _row(rows, "Tỷ lệ đúng hạn")[col] == pytest.approx(on_time / addressed)
    assert SILENT in accepted(ledger, EARLIER) and SILENT not in accepted(ledger, PERIOD)
    change = _row(rows, "Có báo cáo hợp lệ")[5]
    assert change == len(accepted(ledger, PERIOD)) - len(accepted(ledger, EARLIER))


def test_task_figures_by_period_are_the_sums_and_rates_of_the_returns(
    ledger: workspace.Workspace, rows: list[tuple[Any, ...]]
) -> None:
    catalog = ledger.load()
    returns: dict[str, dict[str, Receipt]] = {p: accepted(ledger, p) for p in (EARLIER, PERIOD)}
    checked = 0
    for task in catalog.tasks:
        for ind in catalog.indicators_for(task):
            kind, _, arg = ind.summary.partition(":")
            key = f"{task.code}.{ind.code}"
            expected = []
            for code in (EARLIER, PERIOD):
                values = by_unit(catalog, task.code, returns[code])
                if not values:  # no unit of the task reported: a blank, not a zero
                    expected.append(None)
                elif ind.type == "integer" and kind in ("", "sum"):
                    expected.append(sum(v[key] for v in values))
                elif kind == "rate":
                    den = sum(v[f"{task.code}.{arg}"] for v in values)
                    expected.append(sum(v[key] for v in values) / den if den else None)
                elif kind == "count" and arg:
                    expected.append(sum(1 for v in values if v[key] == arg))
                else:
                    break
            else:
                if ind.type == "integer" and kind in ("", "sum"):
                    label = f"{ind.label} ({ind.unit})" if ind.unit else ind.label
                elif kind == "rate":
                    label = f"{ind.label} — tỷ lệ"
                else:
                    label = f"{ind.label} — số đơn vị «{arg}»"
                row = _row(rows, label, task.code)
                for got, want in zip(row[3:5], expected, strict=True):
                    assert got == (pytest.approx(want) if want is not None else None), key
                if all(w is not None for w in expected):
                    assert row[5] == pytest.approx(expected[1] - expected[0]), key
                checked += 1
    assert checked >= 30


def test_each_units_score_and_class_by_period_are_those_of_its_period_workbook(
    ledger: workspace.Workspace, rows: list[tuple[Any, ...]]
) -> None:
    catalog = ledger.load()
    for col, code in ((3, EARLIER), (4, PERIOD)):
        book = openpyxl.load_workbook(ledger.outputs(code) / f"tong-hop-{code}.xlsx",
                                      data_only=True)
        evaluation = {r[1]: r for r in book["Đánh giá"].iter_rows(min_row=6, values_only=True)
                      if r[1] in _units(catalog)}
        for unit in catalog.addressed_units():
            total = _row(rows, f"{unit.name} — tổng điểm", unit.code)[col]
            level = _row(rows, f"{unit.name} — xếp loại", unit.code)[col]
            want = evaluation[unit.code][6]
            assert (total is None and want in (None, "")) or total == pytest.approx(want)
            assert level == evaluation[unit.code][7]
    silent = _row(rows, f"{catalog.unit(SILENT).name} — xếp loại", SILENT)
    assert silent[4] == catalog.settings.not_rated != silent[3]


def test_the_line_chart_plots_both_rates_over_the_periods(ledger: workspace.Workspace) -> None:
    import zipfile

    path = ledger.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx"
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    line = [c for c in charts if "<c:lineChart>" in c]
    assert len(line) == 1
    refs = line[0]
    assert refs.count("<c:ser>") == 2
    assert f"'{COMPARE_SHEET}'!$D$5:$E$5" in refs  # the periods' names
    assert f"'{COMPARE_SHEET}'!$D$10:$E$10" in refs and f"'{COMPARE_SHEET}'!$D$11:$E$11" in refs


def test_a_unit_sheet_shows_its_record_across_periods(ledger: workspace.Workspace) -> None:
    catalog = ledger.load()
    sheet = _book(ledger, PERIOD)[SILENT]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    start = next(i for i, row in enumerate(cells) if row[0] == "Qua các kỳ")
    assert cells[start + 1][:5] == ["Kỳ báo cáo", "Số tệp nhận", "Tình trạng nộp", "Tổng điểm",
                                    "Xếp loại"]
    earlier, current = cells[start + 2], cells[start + 3]
    assert earlier[0] == catalog.period(EARLIER).name and earlier[1] == 1
    assert earlier[2] == "Đúng hạn" and isinstance(earlier[3], float)
    assert current[:3] == [catalog.period(PERIOD).name, 0, "Chưa nộp"]
    assert current[3] is None and current[4] == catalog.settings.not_rated


def test_history_prints_a_unit_missing_in_one_period(
    ledger: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", SILENT.lower(), "-w", str(ledger.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    catalog = ledger.load()
    assert lines[0] == f"{SILENT} — {catalog.unit(SILENT).name}"
    assert lines[1].split()[:3] == ["Kỳ", "báo", "cáo"]
    assert lines[2].startswith(catalog.period(EARLIER).name)
    assert "Đúng hạn" in lines[2] and "1" in lines[2].split()
    assert lines[3].startswith(catalog.period(PERIOD).name)
    assert " 0 " in lines[3] and "Chưa nộp" in lines[3]
    assert lines[3].rstrip().endswith(catalog.settings.not_rated)
    records = workspace.unit_history(ledger, SILENT)[1]
    total = records[0].facts.total if records[0].facts else None
    assert total is not None and math.isfinite(total)


def test_history_of_an_unknown_unit_is_refused_in_vietnamese(
    ledger: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "KHONGCO", "-w", str(ledger.root)]) == 2
    assert "Không có đơn vị mã «KHONGCO»" in capsys.readouterr().err


def test_history_without_any_return_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = workspace.init(tmp_path / "ws")
    assert main(["history", SILENT, "-w", str(ws.root)]) == 0
    assert "chưa có báo cáo của kỳ nào" in capsys.readouterr().out


# The report over a span of periods (dvxl report --since) ------------------------------------


@pytest.fixture(scope="module")
def span_doc(ledger: workspace.Workspace) -> Any:
    from docx import Document

    result = workspace.write_report(ledger, PERIOD, DAY, since=EARLIER)
    assert result.docx.name == f"bao-cao-{EARLIER}-den-{PERIOD}.docx"
    assert result.since is not None and result.since.code == EARLIER
    return Document(str(result.docx))


def _grid(table: Any) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_the_span_report_is_a_so_ket_from_the_first_period_to_the_last(
    ledger: workspace.Workspace, span_doc: Any
) -> None:
    catalog = ledger.load()
    text = "\n".join(p.text for p in span_doc.paragraphs)
    first, last = catalog.period(EARLIER).name, catalog.period(PERIOD).name
    assert "sơ kết việc thực hiện" in text
    assert f"từ {first[:1].lower()}{first[1:]} đến {last[:1].lower()}{last[1:]}" in text
    assert [p.text for p in span_doc.paragraphs if p.text.startswith("Phụ lục")] == [
        "Phụ lục 1", "Phụ lục 2", "Phụ lục 3"]
    assert "SỐ LIỆU THỰC HIỆN CÁC NHIỆM VỤ QUA CÁC KỲ" in text


def test_every_table_of_the_span_report_has_a_column_per_period(
    ledger: workspace.Workspace, span_doc: Any
) -> None:
    catalog = ledger.load()
    names = [catalog.period(EARLIER).name, catalog.period(PERIOD).name]
    # Every table but the header and the signature block (Nơi nhận | signer).
    grids = [_grid(t) for t in span_doc.tables[1:]
             if not _grid(t)[0][0].startswith("Nơi nhận")]
    firsts = [g[0][0] for g in grids]
    assert firsts[:2] == ["Nhóm đơn vị (hợp lệ/phải báo cáo)", "Mức xếp loại"]
    assert firsts.count("STT") == len(catalog.tasks) + 2  # appendix 1 per task, 2 and 3
    assert all(g[0][-2:] == names for g in grids)


def test_the_span_reports_reporting_table_counts_each_periods_valid_returns(
    ledger: workspace.Workspace, span_doc: Any
) -> None:
    from dvxl.docreport import vn

    addressed = len(_units(ledger.load()))
    table = next(_grid(t) for t in span_doc.tables if _grid(t)[0][0].startswith("Nhóm đơn vị"))
    total = table[-1]
    for cell, period in zip(total[1:], (EARLIER, PERIOD), strict=True):
        valid = len(accepted(ledger, period))
        assert cell == f"{valid}/{addressed} ({vn.percent(valid, addressed)})"


def test_the_span_reports_appendices_hold_each_period_against_the_returns(
    ledger: workspace.Workspace, span_doc: Any
) -> None:
    from dvxl.docreport import vn

    catalog = ledger.load()
    silent = catalog.unit(SILENT).name
    rows = [row for t in span_doc.tables for row in _grid(t)
            if len(row) > 2 and row[0].isdigit() and row[1] == silent]
    tracking, evaluation = rows[0], rows[1]
    assert tracking[2:] == ["Đúng hạn (1 tệp)", "Chưa gửi"]
    assert (evaluation[3] == catalog.settings.not_rated and evaluation[2].endswith(
        "; Hoàn thành tốt nhiệm vụ")) or evaluation[2]
    returns = {p: accepted(ledger, p) for p in (EARLIER, PERIOD)}
    checked = 0
    for task in catalog.tasks:
        for ind in catalog.indicators_for(task):
            if ind.type != "integer" or ind.summary not in ("", "sum"):
                continue
            label = f"{ind.label} ({ind.unit})" if ind.unit else ind.label
            found = [row for t in span_doc.tables for row in _grid(t)
                     if len(row) == 4 and row[1] == label]
            key = f"{task.code}.{ind.code}"
            want = [vn.number(sum(v[key] for v in by_unit(catalog, task.code, returns[p])))
                    if by_unit(catalog, task.code, returns[p]) else "" for p in (EARLIER, PERIOD)]
            assert want in [row[2:] for row in found], key
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("since", [PERIOD, "2026-6TC"], ids=["same-period", "later-period"])
def test_a_span_that_does_not_start_before_the_period_is_refused(
    ledger: workspace.Workspace, since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "-w", str(ledger.root), "-p", PERIOD, "--since", since]) == 2
    assert "phải bắt đầu và kết thúc trước kỳ" in capsys.readouterr().err


def test_libreoffice_recalculates_the_comparison_to_the_stored_values(
    ledger: workspace.Workspace, tmp_path: Path
) -> None:
    from python_calamine import CalamineWorkbook

    from libreoffice import require_libreoffice
    from test_render import recalculate

    client = require_libreoffice()
    path = ledger.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx"
    book = openpyxl.load_workbook(path)
    stored = openpyxl.load_workbook(path, data_only=True)[COMPARE_SHEET]
    cells = [(c.row, c.column, c.value) for row in book[COMPARE_SHEET].iter_rows() for c in row
             if c.data_type == "f"]
    assert len(cells) > 50
    outdir = tmp_path / "lo"
    recalculate(client.soffice, [path], outdir)
    lo = CalamineWorkbook.from_path(str(outdir / path.name)).get_sheet_by_name(
        COMPARE_SHEET).to_python(skip_empty_area=False)
    wrong = [f"{r},{c} {text}: ours {stored.cell(r, c).value!r}, LibreOffice {lo[r - 1][c - 1]!r}"
             for r, c, text in cells
             if lo[r - 1][c - 1] != pytest.approx(stored.cell(r, c).value, abs=1e-9)]
    assert not wrong, "\n".join(wrong)
