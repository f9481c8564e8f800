"""Figures that look wrong, on a ledger of real template returns over three periods.

Every addressed unit fills its own template (dvxl.sample) for 2025-N, 2026-6T and 2026-6TC,
each merged in turn. One unit reports 12 news items (1.1.TT_SO) in the first two periods
and 1 200 in the third: a hundredfold jump. Another reports zero for every number in every
period. The secretariat then marks the jump in the period workbook and merges again.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from dvxl import master, outliers, periods, sample, workspace
from dvxl.findings import Code
from dvxl.form import template_name
from dvxl.intake import Ledger
from dvxl.model import Catalog
from dvxl.outliersheet import MARK_TITLE, NOTE_TITLE, SHEET
from dvxl.schema import TABLES

PERIODS = ("2025-N", "2026-6T", "2026-6TC")
KEY = "1.1.TT_SO"
OOXML = Path("/work/shared/tools/ooxml/validate.py")


def _units(catalog: Catalog) -> tuple[str, str]:
    """The unit that jumps and the unit of zeros: two of the largest group with task 1.1."""
    by_group: dict[str, list[str]] = {}
    for unit in catalog.addressed_units():
        if any(t.code == "1.1" for t in catalog.tasks_for(unit)):
            by_group.setdefault(unit.rating_group, []).append(unit.code)
    members = max(by_group.values(), key=len)
    return members[0], members[1]


def _returns(ws: workspace.Workspace, catalog: Catalog, code: str, seed: int) -> Path:
    """Every addressed unit's return of the period, in a fresh inbox of its own."""
    period = periods.find(catalog, code)
    workspace.make_templates(ws, code)
    inbox = ws.root / f"inbox-{code}"
    rng = random.Random(seed)
    jumper, zero = _units(catalog)
    for unit in catalog.addressed_units():
        values = sample.good_values(catalog, unit, period, rng)
        if unit.code == jumper:
            values[KEY] = 1200 if code == PERIODS[-1] else 12
        if unit.code == zero:
            numeric = {f"{t.code}.{i.code}" for t in catalog.tasks_for(unit)
                       for i in catalog.indicators_for(t) if i.type in ("integer", "decimal")}
            values.update(dict.fromkeys(numeric, 0))
            values.update({k: "" for k in values if k.endswith(".VB_DS")})
        template = ws.templates(code) / template_name(period, unit)
        sample.write_return(template, inbox / f"BC {code} {unit.code}.xlsx", values, catalog,
                            unit)
    return inbox


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> workspace.Workspace:
    ws = workspace.init(tmp_path_factory.mktemp("outliers") / "ws")
    catalog = ws.load()
    for seed, code in enumerate(PERIODS, 11):
        workspace.merge(ws, _returns(ws, catalog, code, seed), code)
    return ws


def _w108(ws: workspace.Workspace, code: str) -> list[dict[str, Any]]:
    data = json.loads((ws.outputs(code) / f"kiem-tra-{code}.json").read_text("utf-8"))
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("code") == Code.OUTLIER:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return found


def _sheet_rows(ws: workspace.Workspace, code: str) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(ws.outputs(code) / f"tong-hop-{code}.xlsx")
    return list(book[SHEET].iter_rows(values_only=True))


def test_a_planted_hundredfold_jump_is_flagged_with_its_comparison(
    ledger: workspace.Workspace,
) -> None:
    jumper, _ = _units(ledger.load())
    code = PERIODS[-1]
    (warning,) = [f for f in _w108(ledger, code) if f["unit"] == jumper]
    assert (warning["task"], warning["indicator"], warning["value"]) == ("1.1", "TT_SO", "1.200")
    assert warning["severity"] == "warning" and warning["cell"]
    assert "kỳ trước (6 tháng đầu năm 2026) là 12: chênh 55 lần" in warning["message"]
    assert "trung vị nhóm" in warning["message"]  # and against its group
    row = next(r for r in _sheet_rows(ledger, code) if r[1] == jumper and r[4] == "TT_SO")
    assert row[3] == "1.1" and row[6] == 1200
    assert "kỳ trước (6 tháng đầu năm 2026) là 12" in row[7] and row[8] > 50


def test_no_false_alarm_for_the_unit_of_zeros_nor_in_the_first_period(
    ledger: workspace.Workspace,
) -> None:
    catalog = ledger.load()
    _, zero = _units(catalog)
    for code in PERIODS:
        assert [f for f in _w108(ledger, code) if f["unit"] == zero] == []
    first = _w108(ledger, PERIODS[0])
    assert all("kỳ trước" not in f["message"] for f in first)  # no history to compare with
    # The jumper's 12 in the second period is no outlier against its 12 of the first.
    jumper, _ = _units(catalog)
    assert [f for f in _w108(ledger, PERIODS[1]) if f["unit"] == jumper] == []


def test_the_warnings_are_in_the_outputs_not_in_the_ledgers_record(
    ledger: workspace.Workspace,
) -> None:
    code = PERIODS[-1]
    with Ledger(workspace.ledger_path(ledger)) as held:
        recorded = [f for r in held.receipts(code) for f in r.findings]
    assert _w108(ledger, code) and not [f for f in recorded if f["code"] == Code.OUTLIER]
    book = openpyxl.load_workbook(ledger.outputs(code) / f"kiem-tra-{code}.xlsx")
    assert any(Code.OUTLIER in row for row in book["Chi tiết"].iter_rows(values_only=True))


def test_marks_typed_in_the_workbook_survive_re_merge(ledger: workspace.Workspace) -> None:
    catalog = ledger.load()
    jumper, _ = _units(catalog)
    code = PERIODS[-1]
    path = ledger.outputs(code) / f"tong-hop-{code}.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book[SHEET]
    header = next(r for r in sheet.iter_rows() if r[0].value == "STT")
    cols = {c.value: c.column for c in header}
    row = next(r for r in sheet.iter_rows(min_row=header[0].row + 1)
               if r[1].value == jumper and r[4].value == "TT_SO")
    sheet.cell(row[0].row, cols[MARK_TITLE], "đã xác minh")
    sheet.cell(row[0].row, cols[NOTE_TITLE], "Đơn vị xác nhận qua điện thoại")
    book.save(path)
    workspace.merge(ledger, ledger.root / f"inbox-{code}", code)
    again = next(r for r in _sheet_rows(ledger, code) if r[1] == jumper and r[4] == "TT_SO")
    assert again[cols[MARK_TITLE] - 1:] == ("đã xác minh", "Đơn vị xác nhận qua điện thoại")
    with Ledger(workspace.ledger_path(ledger)) as held:
        marks = held.outlier_marks(code)
    assert [(m.unit, m.indicator, m.value, m.mark) for m in marks] == [
        (jumper, "TT_SO", outliers.value_key(1200), "đã xác minh")]
    # Once more: the workbook is gone (deleted, moved), the ledger still has the mark.
    path.unlink()
    workspace.merge(ledger, ledger.root / f"inbox-{code}", code)
    again = next(r for r in _sheet_rows(ledger, code) if r[1] == jumper and r[4] == "TT_SO")
    assert again[cols[MARK_TITLE] - 1] == "đã xác minh"


def test_marks_typed_in_the_masters_copy_of_the_sheet_survive_re_merge(
    ledger: workspace.Workspace,
) -> None:
    """The Excel button copies the result sheets into the master; a mark typed there (the
    book open in Excel: ``Workspace.sheets``) counts at the next merge."""
    catalog = ledger.load()
    jumper, _ = _units(catalog)
    code = PERIODS[-1]
    rows = master.sheet_rows(ledger.master, [t.sheet for t in TABLES]
                             + [master.ASSESSMENT, master.RECEIPT_TIME])
    copied = master.sheet_rows(ledger.outputs(code) / f"tong-hop-{code}.xlsx", [SHEET])[SHEET]
    header = next(i for i, r in enumerate(copied) if r and r[0] == "STT")
    at = {title: copied[header].index(title) for title in (MARK_TITLE, NOTE_TITLE)}
    row = next(r for r in copied[header + 1:] if r[1] == jumper and r[4] == "TT_SO")
    row[at[MARK_TITLE]], row[at[NOTE_TITLE]] = "cần xác minh", "Hỏi lại trong sổ tổng hợp"
    in_excel = workspace.Workspace(ledger.root, sheets={**rows, SHEET: copied})
    workspace.merge(in_excel, ledger.root / f"inbox-{code}", code)
    again = next(r for r in _sheet_rows(ledger, code) if r[1] == jumper and r[4] == "TT_SO")
    assert (again[at[MARK_TITLE]], again[at[NOTE_TITLE]]) == (
        "cần xác minh", "Hỏi lại trong sổ tổng hợp")


def test_the_sheet_passes_the_ooxml_checker(ledger: workspace.Workspace) -> None:
    if not OOXML.is_file():
        pytest.skip("the OOXML checker of ../shared/tools is not on this machine")
    code = PERIODS[-1]
    done = subprocess.run([sys.executable, str(OOXML), str(ledger.outputs(code) /
                                                          f"tong-hop-{code}.xlsx")],
                          capture_output=True, text=True, timeout=300)
    faults = [line for line in done.stdout.splitlines()
              if line.startswith("[") and "-info]" not in line]
    assert done.returncode == 0 and faults == [], done.stdout[-2000:]


def test_the_sheet_prints_one_page_wide(ledger: workspace.Workspace) -> None:
    from dvxl.render import OUTLIER_SHEET

    book = openpyxl.load_workbook(ledger.outputs(PERIODS[-1]) / f"tong-hop-{PERIODS[-1]}.xlsx")
    setup = book[OUTLIER_SHEET].page_setup
    assert book[OUTLIER_SHEET].sheet_properties.pageSetUpPr.fitToPage
    assert (setup.fitToWidth or 1, setup.fitToHeight, setup.paperSize) == (1, 0, 9)
    validations = book[OUTLIER_SHEET].data_validations.dataValidation
    assert [v.formula1 for v in validations] == ['"cần xác minh,đã xác minh"']
