"""Generated templates in the real client: LibreOffice fills them and saves .xlsx, .xls, .ods.

One LibreOffice batch (one soffice process) opens the templates of three units
with different task sets, types a value of the right type into EVERY input
cell (as :func:`dvxl.form.form_rows` lists them), tries to overwrite a
locked label, and saves each filled template in the three formats a unit may
send back. python-calamine must then read the metadata and every typed value
back intact from all three; openpyxl checks that LibreOffice's .xlsx keeps the
protection, the unlocked input cells and the data validations.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from dvxl import form
from dvxl.catalog import fingerprint
from dvxl.checks import read_identity
from dvxl.model import Catalog, Period, Unit
from dvxl.reader import read_book
from dvxl.workspace import Workspace

from libreoffice import (
    CellEdit,
    CellValue,
    FillJob,
    Format,
    Output,
    Result,
    fill_and_save,
    require_libreoffice,
)

PERIOD = "2026-6T"  # the period conftest's built_workspace made templates for
FORMATS: tuple[Format, ...] = ("xlsx", "xls", "ods")
#: A huyện ủy (tasks 1.x), BCS UBND (1.x, 2.x) and the MTTQ (1.x, 3.x, 4.1).
UNITS = ("HU01", "BCSUB", "MTTQ")
CASES = [pytest.param(u, f, id=f"{u}-{f}") for u in UNITS for f in FORMATS]
IDENTITY_TYPES = {code: kind for code, _, kind, _ in form.IDENTITY}
HIDDEN = (SheetVisibleEnum.Hidden, SheetVisibleEnum.VeryHidden)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


DOCLIST = nfc("45-KH/HU ngày 12/3/2020\n12-CV/TU ngày 1/4/2020")
LOCKED_EDIT = nfc("sửa trái phép")


@dataclass(frozen=True)
class Filled:
    """One unit's template, what was typed into it, and what LibreOffice did."""

    unit: Unit
    source: Path
    values: dict[str, CellValue]  # input cell (A1) -> the value typed
    locked_cell: str  # a label cell the batch also tried to overwrite
    result: Result
    outputs: dict[str, Path]  # format -> saved file


def _kind(row: form.FormRow) -> str:
    return str(row.indicator.type) if row.indicator else IDENTITY_TYPES[row.key]


def _value(catalog: Catalog, unit: Unit, period: Period, row: form.FormRow, n: int) -> Any:
    """A plausible value of the right type for input row ``row`` (the ``n``-th input)."""
    kind = _kind(row)
    ind = row.indicator
    if row.key == "NGUOI_LAP":
        return nfc("Nguyễn Thị Hằng")
    if row.key == "DIEN_THOAI":
        return "0912 345 678"
    if kind == "date":
        return min(period.start + dt.timedelta(days=30 + n), period.end)
    assert ind is not None and row.task is not None
    if kind == "choice":
        return catalog.choice_list(ind.choices).values[0]
    if kind == "integer":
        low = int(ind.minimum or 0)
        value = low + n % 9 + 1
        return value if ind.maximum is None else min(value, int(ind.maximum))
    if kind == "decimal":
        return 1.5 + n
    if kind == "score":
        points = catalog.points(unit.rating_group, row.task.code)
        assert points
        return points / 2
    if kind == "doclist":
        return DOCLIST
    if kind == "longtext":
        return nfc(
            f"Nhiệm vụ {row.task.code}: đã tổ chức hội nghị quán triệt ở {n} xã, phường.\n"
            "Mặt trận, đoàn thể phối hợp giám sát; nhân dân đồng tình ủng hộ."
        )
    return nfc(f"Ghi chú ngắn số {n} — Đảng ủy, Ủy ban")


@pytest.fixture(scope="module")
def catalog(built_workspace: Workspace) -> Catalog:
    return built_workspace.load()


@pytest.fixture(scope="module")
def filled(
    built_workspace: Workspace, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Filled]:
    """ONE LibreOffice batch: every input cell of three templates filled, saved three ways."""
    client = require_libreoffice()
    period = catalog.period(PERIOD)
    out = tmp_path_factory.mktemp("lo-templates")
    jobs: list[FillJob] = []
    planned: list[tuple[Unit, Path, dict[str, CellValue], str, dict[str, Path]]] = []
    for code in UNITS:
        unit = catalog.unit(code)
        (source,) = built_workspace.templates(PERIOD).glob(f"{PERIOD}_{code}_*.xlsx")
        rows = form.form_rows(catalog, unit)
        inputs = [r for r in rows if r.kind in ("identity", "indicator")]
        values = {r.cell: _value(catalog, unit, period, r, n) for n, r in enumerate(inputs)}
        first = next(r for r in rows if r.kind == "indicator")
        locked = f"{get_column_letter(form.COL_LABEL + 1)}{first.row + 1}"
        outputs: dict[str, Path] = {fmt: out / f"{code}.{fmt}" for fmt in FORMATS}
        edits = [CellEdit(form.FORM, cell, value) for cell, value in values.items()]
        edits.append(CellEdit(form.FORM, locked, LOCKED_EDIT))
        jobs.append(FillJob(source, edits, [Output(outputs[f], f) for f in FORMATS]))
        planned.append((unit, source, values, locked, outputs))
    results = fill_and_save(jobs, client=client, timeout=240)
    return {
        unit.code: Filled(unit, source, values, locked, result, outputs)
        for (unit, source, values, locked, outputs), result in zip(planned, results, strict=True)
    }


def _rows(path: Path, sheet: str) -> list[list[Any]]:
    data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    return [list(row) for row in data.to_python(skip_empty_area=False)]


def _at(rows: list[list[Any]], cell: str) -> Any:
    column, row = coordinate_from_string(cell)
    r, c = row - 1, column_index_from_string(column) - 1
    return rows[r][c] if r < len(rows) and c < len(rows[r]) else ""


def _metadata(path: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The ``_dvxl`` sheet: its key/value block and the input-cell map after ``o_nhap``."""
    values: dict[str, str] = {}
    cells: list[tuple[str, str]] = []
    in_map = False
    for row in _rows(path, form.META):
        key, value = (str(x) for x in [*row, "", ""][:2])
        if key == "o_nhap":
            in_map = True
        elif in_map and key:
            cells.append((key, value))
        elif key:
            values[key] = value
    return values, cells


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        assert value.time() == dt.time(), value
        return value.date()
    assert isinstance(value, dt.date), repr(value)
    return value


@pytest.mark.parametrize("unit_code", UNITS)
def test_libreoffice_takes_every_input_cell_and_writes_all_three_formats(
    filled: dict[str, Filled], unit_code: str
) -> None:
    require_libreoffice()
    job = filled[unit_code]
    assert job.result.errors == []
    typed = job.result.edits[:-1]
    assert len(typed) == len(job.values) > 40
    failed = [(r.edit.cell, r.error) for r in typed if not r.ok]
    assert failed == []
    assert job.result.written == list(job.outputs.values())
    assert all(p.is_file() and p.stat().st_size > 0 for p in job.outputs.values())


@pytest.mark.parametrize("unit_code", UNITS)
def test_libreoffice_refuses_to_overwrite_a_locked_label(
    filled: dict[str, Filled], unit_code: str
) -> None:
    require_libreoffice()
    job = filled[unit_code]
    refused = job.result.edit(form.FORM, job.locked_cell)
    assert refused.edit.value == LOCKED_EDIT
    assert not refused.ok
    assert "protected" in refused.error
    original = _at(_rows(job.source, form.FORM), job.locked_cell)
    assert original and original != LOCKED_EDIT
    for path in job.outputs.values():
        assert _at(_rows(path, form.FORM), job.locked_cell) == original, path.name


@pytest.mark.parametrize(("unit_code", "fmt"), CASES)
def test_metadata_sheet_survives_with_unit_period_version_and_fingerprint(
    filled: dict[str, Filled], catalog: Catalog, unit_code: str, fmt: str
) -> None:
    require_libreoffice()
    job = filled[unit_code]
    path = job.outputs[fmt]
    sheets = {s.name: s.visible for s in CalamineWorkbook.from_path(str(path)).sheets_metadata}
    assert sheets[form.GUIDE] == SheetVisibleEnum.Visible
    assert sheets[form.FORM] == SheetVisibleEnum.Visible
    assert sheets[form.LISTS] in HIDDEN
    # LibreOffice saves veryHidden as plain hidden: both are accepted on return.
    assert sheets[form.META] in HIDDEN
    values, cells = _metadata(path)
    assert values["loai_tep"] == form.KIND
    assert values["ma_don_vi"] == unit_code
    assert values["ma_ky"] == PERIOD
    assert values["phien_ban_mau"] == str(catalog.settings.template_version)
    assert values["dau_van_tay"] == fingerprint(catalog)
    inputs = form.form_rows(catalog, job.unit)
    assert cells == [(r.cell, r.key) for r in inputs if r.kind in ("identity", "indicator")]


@pytest.mark.parametrize(("unit_code", "fmt"), CASES)
def test_the_signature_still_verifies_after_libreoffice_saves_it(
    filled: dict[str, Filled], built_workspace: Workspace, unit_code: str, fmt: str
) -> None:
    """What units really send: the template saved by LibreOffice as .xlsx, .xls or .ods. Its
    metadata and cell map read back as written, so the signature holds (issue 14)."""
    require_libreoffice()
    book = read_book(filled[unit_code].outputs[fmt]).book
    assert book is not None
    meta, cells = read_identity(book)
    assert meta[form.KEY_UNIT] == unit_code and meta[form.KEY_SIGNATURE]
    assert built_workspace.seal().verifies(meta, cells)


@pytest.mark.parametrize(("unit_code", "fmt"), CASES)
def test_every_filled_value_comes_back_intact(
    filled: dict[str, Filled], unit_code: str, fmt: str
) -> None:
    require_libreoffice()
    job = filled[unit_code]
    rows = _rows(job.outputs[fmt], form.FORM)
    wrong = []
    kinds = set()
    for cell, typed in job.values.items():
        got = _at(rows, cell)
        if isinstance(typed, dt.date):
            kinds.add("date")
            ok = isinstance(got, dt.date) and _as_date(got) == typed
        elif isinstance(typed, int | float):
            kinds.add("number")
            ok = isinstance(got, int | float) and not isinstance(got, bool) and got == typed
        else:
            kinds.add("multi-line text" if "\n" in typed else "text")
            ok = isinstance(got, str) and got == typed and unicodedata.is_normalized("NFC", got)
        if not ok:
            wrong.append((cell, typed, got))
    assert wrong == []
    assert kinds == {"date", "number", "text", "multi-line text"}
    assert DOCLIST in job.values.values()


@pytest.mark.parametrize("unit_code", UNITS)
def test_libreoffice_xlsx_keeps_protection_unlocked_inputs_and_validations(
    filled: dict[str, Filled], catalog: Catalog, unit_code: str
) -> None:
    require_libreoffice()
    job = filled[unit_code]
    book = openpyxl.load_workbook(job.outputs["xlsx"])
    sheet = book[form.FORM]
    assert sheet.protection.sheet is True
    assert all(sheet[cell].protection.locked is False for cell in job.values)
    assert sheet[job.locked_cell].protection.locked is True
    covered: dict[str, list[Any]] = {}
    for dv in sheet.data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:
            for row, col in cell_range.cells:
                covered.setdefault(f"{get_column_letter(col)}{row}", []).append(dv)
    assert set(covered) == set(job.values)
    assert all(len(rules) == 1 for rules in covered.values())
    for row in form.form_rows(catalog, job.unit):
        if row.indicator is None:
            continue
        (dv,) = covered[row.cell]
        kind = row.indicator.type
        if kind == "choice":
            assert dv.type == "list"
            # Still the named range on the hidden list sheet, never an inline list.
            (destination,) = book.defined_names[str(dv.formula1)].destinations
            sheet_name, ref = destination
            assert sheet_name == form.LISTS
            listed = [c.value for line in book[sheet_name][ref.replace("$", "")] for c in line]
            assert listed == list(catalog.choice_list(row.indicator.choices).values)
        elif kind == "integer":
            assert dv.type == "whole"
        elif kind == "score":
            assert dv.type in ("decimal", "whole")
            points = catalog.points(job.unit.rating_group, row.task.code if row.task else "")
            assert float(dv.formula2) == points
