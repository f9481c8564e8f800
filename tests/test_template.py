"""Structure of the unit templates, read back from the generated files.

Every assertion here opens the written ``.xlsx`` with a reader (python-calamine
for values and sheet visibility, openpyxl for protection and validations, the
zip parts for print setup and styles) and compares it with the catalog and
with :func:`dvxl.form.form_rows`, the layout every reader follows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from dvxl import form, template
from dvxl.catalog import fingerprint
from dvxl.checks import read_metadata
from dvxl.model import Catalog, Unit
from dvxl.reader import read_book
from dvxl.workspace import Workspace

PERIOD = "2026-6T"  # the period conftest's built_workspace made templates for

SECTION_1 = ("1.1", "1.2", "1.3", "1.4")
#: Units with different groups, hence different task sets, and the tasks each must show.
UNITS = [
    pytest.param("HU01", SECTION_1, id="huyen-uy-HU01"),
    pytest.param("BCSUB", (*SECTION_1, "2.1", "2.2", "2.3"), id="bcs-ubnd-BCSUB"),
    pytest.param("MTTQ", (*SECTION_1, "3.1", "3.2", "3.3", "3.4", "4.1"), id="mttq-tinh-MTTQ"),
    pytest.param("BDVTU", (*SECTION_1, "4.1"), id="ban-dan-van-BDVTU"),
    pytest.param("DDHDND", SECTION_1, id="dang-doan-DDHDND"),
    pytest.param("VPTU", SECTION_1, id="co-quan-tham-muu-VPTU"),
]
UNIT_CODES = [pytest.param(p.values[0], id=p.id) for p in UNITS]

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}
MM = 1 / 25.4  # inches
TASK_CODE = re.compile(r"\d+(\.\d+)+")
EXCEL_EPOCH = dt.date(1899, 12, 30)
IDENTITY_TYPES = {code: kind for code, _, kind, _ in form.IDENTITY}


# Reading the files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(built_workspace: Workspace) -> Catalog:
    """The catalog the templates were made from: the workspace's master."""
    return built_workspace.load()


@pytest.fixture(scope="module")
def folder(built_workspace: Workspace) -> Path:
    return Path(built_workspace.templates(PERIOD))


def _path(folder: Path, unit_code: str) -> Path:
    found = sorted(folder.glob(f"{PERIOD}_{unit_code}_*.xlsx"))
    assert len(found) == 1, f"{unit_code}: {found}"
    return found[0]


@cache
def _openpyxl(path: Path) -> Workbook:
    return openpyxl.load_workbook(path)


@cache
def _calamine(path: Path, sheet: str) -> list[list[Any]]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    return [list(row) for row in rows.to_python(skip_empty_area=False)]


def _cell(rows: list[list[Any]], r: int, c: int) -> Any:
    return rows[r][c] if r < len(rows) and c < len(rows[r]) else ""


def _inputs(catalog: Catalog, unit: Unit) -> list[form.FormRow]:
    return [r for r in form.form_rows(catalog, unit) if r.kind in ("identity", "indicator")]


def _validations(path: Path) -> dict[str, list[DataValidation]]:
    """Every cell of the form that carries a validation -> the rules covering it."""
    found: dict[str, list[DataValidation]] = {}
    for dv in _openpyxl(path)[form.FORM].data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:
            for row, col in cell_range.cells:
                found.setdefault(f"{get_column_letter(col)}{row}", []).append(dv)
    return found


def _metadata(path: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The ``_dvxl`` sheet: its key/value block and the input-cell map after ``o_nhap``."""
    rows = _calamine(path, form.META)
    values: dict[str, str] = {}
    cells: list[tuple[str, str]] = []
    in_map = False
    for row in rows:
        key, value = (str(x) for x in [*row, "", ""][:2])
        if key == "o_nhap":
            in_map = True
        elif in_map and key:
            cells.append((key, value))
        elif key:
            values[key] = value
    return values, cells


def _part(path: Path, name: str) -> ET.Element:
    with zipfile.ZipFile(path) as archive:
        return ET.fromstring(archive.read(name))


def _sheet_part(path: Path, sheet: str) -> ET.Element:
    """The worksheet XML of ``sheet``, found through workbook.xml and its relationships."""
    book = _part(path, "xl/workbook.xml")
    rels = _part(path, "xl/_rels/workbook.xml.rels")
    rid = next(
        s.get(f"{{{NS['r']}}}id")
        for s in book.iterfind("m:sheets/m:sheet", NS)
        if s.get("name") == sheet
    )
    target = next(
        r.get("Target") for r in rels.iterfind("rel:Relationship", NS) if r.get("Id") == rid
    )
    assert target is not None
    return _part(path, target.lstrip("/") if target.startswith("/") else f"xl/{target}")


def _serial(day: dt.date) -> float:
    return float((day - EXCEL_EPOCH).days)


# Files -------------------------------------------------------------------------------


def test_one_xlsx_per_addressed_unit_named_by_period_and_unit_code(
    folder: Path, catalog: Catalog
) -> None:
    units = catalog.addressed_units()
    assert len(units) == 37
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == len(units)  # nothing else left behind (no temporary files)
    for unit in units:
        path = _path(folder, unit.code)
        assert path.suffix == ".xlsx"
        assert path.name.isascii()  # survives e-mail and zip on any system
        assert _metadata(path)[0]["ma_don_vi"] == unit.code


def test_templates_carry_no_macros(folder: Path) -> None:
    paths = sorted(folder.glob("*"))
    assert paths
    for path in paths:
        assert path.suffix == ".xlsx"
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            types = archive.read("[Content_Types].xml").decode("utf-8")
        assert not [n for n in names if "vbaproject" in n.lower()], path.name
        assert "macroenabled" not in types.lower(), path.name
        overrides = {
            o.get("PartName"): o.get("ContentType")
            for o in ET.fromstring(types).iterfind("ct:Override", NS)
        }
        assert overrides["/xl/workbook.xml"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
        )


# Tasks and layout --------------------------------------------------------------------


@pytest.mark.parametrize(("unit_code", "expected"), UNITS)
def test_form_shows_exactly_the_units_tasks(
    folder: Path, catalog: Catalog, unit_code: str, expected: tuple[str, ...]
) -> None:
    unit = catalog.unit(unit_code)
    rows = _calamine(_path(folder, unit_code), form.FORM)
    shown = [
        str(_cell(rows, r, form.COL_CODE))
        for r in range(form.HEADER_ROW + 1, len(rows))
        if TASK_CODE.fullmatch(str(_cell(rows, r, form.COL_CODE)))
    ]
    assert shown == list(expected)
    assert shown == [t.code for t in catalog.tasks_for(unit)]


def _layout_problems(path: Path, catalog: Catalog, unit: Unit) -> list[str]:
    """Where the sheet's column B disagrees with form_rows (empty when it follows it)."""
    rows = _calamine(path, form.FORM)
    layout = form.form_rows(catalog, unit)
    expected: dict[int, str] = {}
    for row in layout:
        if row.kind == "identity":
            expected[row.row] = row.key
        elif row.kind == "task":
            assert row.task is not None
            expected[row.row] = row.task.code
        elif row.kind == "indicator":
            assert row.indicator is not None
            expected[row.row] = row.indicator.code
        else:  # the task's text: no code
            expected[row.row] = ""
    first = form.IDENTITY_FIRST_ROW
    last = max(expected)
    found = {r: str(_cell(rows, r, form.COL_CODE)) for r in range(first, last + 1)}
    found.pop(form.HEADER_ROW)
    expected.update({r: "" for r in found if r not in expected})
    problems = [
        f"row {r + 1}: {found[r]!r} != {expected[r]!r}"
        for r in sorted(found)
        if found[r] != expected[r]
    ]
    # Below the last indicator nothing carries a code any more.
    problems += [
        f"row {r + 1}: stray code {_cell(rows, r, form.COL_CODE)!r}"
        for r in range(last + 1, len(rows))
        if _cell(rows, r, form.COL_CODE)
    ]
    return problems


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_indicator_rows_follow_form_rows_in_order(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    path = _path(folder, unit_code)
    unit = catalog.unit(unit_code)
    assert _layout_problems(path, catalog, unit) == []
    rows = _calamine(path, form.FORM)
    assert rows[form.HEADER_ROW][: len(form.HEADERS)] == list(form.HEADERS)
    codes = [
        str(_cell(rows, r.row, form.COL_CODE))
        for r in form.form_rows(catalog, unit)
        if r.kind == "indicator"
    ]
    assert codes == [i.code for t in catalog.tasks_for(unit) for i in catalog.indicators_for(t)]
    assert all(_cell(rows, r.row, form.COL_VALUE) == "" for r in _inputs(catalog, unit))


def test_every_template_follows_its_units_layout(folder: Path, catalog: Catalog) -> None:
    for unit in catalog.addressed_units():
        path = _path(folder, unit.code)
        assert _layout_problems(path, catalog, unit) == [], unit.code


# Locking -----------------------------------------------------------------------------


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_only_the_input_cells_of_the_protected_form_are_unlocked(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    sheet = _openpyxl(_path(folder, unit_code))[form.FORM]
    assert sheet.protection.sheet is True
    inputs = {r.cell for r in _inputs(catalog, catalog.unit(unit_code))}
    unlocked = set()
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell, MergedCell):
                assert cell.protection.locked, cell.coordinate
                continue
            if not cell.protection.locked:
                unlocked.add(cell.coordinate)
    assert unlocked == inputs
    for coordinate in inputs:
        assert sheet[coordinate].value is None  # the clerk fills them
    filled = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert filled and all(c.protection.locked for c in filled)


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_guide_lists_and_metadata_sheets_are_protected(folder: Path, unit_code: str) -> None:
    book = _openpyxl(_path(folder, unit_code))
    for name in (form.GUIDE, form.LISTS, form.META):
        assert book[name].protection.sheet is True, name


# Data validation -----------------------------------------------------------------------


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_each_input_cell_has_exactly_one_validation_and_nothing_else_has_any(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    found = _validations(_path(folder, unit_code))
    inputs = {r.cell for r in _inputs(catalog, catalog.unit(unit_code))}
    assert set(found) == inputs
    assert {cell: len(rules) for cell, rules in found.items()} == dict.fromkeys(inputs, 1)


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_choice_cells_drop_down_a_named_range_on_the_hidden_lists_sheet(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    path = _path(folder, unit_code)
    book = _openpyxl(path)
    found = _validations(path)
    all_rules = book[form.FORM].data_validations.dataValidation
    assert not [dv for dv in all_rules if str(dv.formula1 or "").startswith('"')]  # no inline
    choices = [
        r
        for r in _inputs(catalog, catalog.unit(unit_code))
        if r.indicator is not None and r.indicator.type == "choice"
    ]
    assert choices
    for row in choices:
        assert row.indicator is not None
        (dv,) = found[row.cell]
        assert dv.type == "list"
        assert not dv.showDropDown  # the attribute is inverted: set means "no arrow"
        name = str(dv.formula1)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name), name  # a defined name, no list
        destinations = list(book.defined_names[name].destinations)
        assert len(destinations) == 1
        sheet_name, ref = destinations[0]
        assert sheet_name == form.LISTS
        values = [c.value for line in book[sheet_name][ref.replace("$", "")] for c in line]
        assert values == list(catalog.choice_list(row.indicator.choices).values)
    assert book[form.LISTS].sheet_state == "hidden"


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_number_cells_are_bounded_by_the_catalog_and_scores_by_the_rubric(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    unit = catalog.unit(unit_code)
    found = _validations(_path(folder, unit_code))
    kinds = set()
    for row in _inputs(catalog, unit):
        ind = row.indicator
        if ind is None or ind.type not in ("integer", "decimal", "score"):
            continue
        assert row.task is not None
        kinds.add(ind.type)
        (dv,) = found[row.cell]
        assert dv.operator in (None, "between")
        low, high = float(dv.formula1), float(dv.formula2)
        if ind.type == "score":
            points = catalog.points(unit.rating_group, row.task.code)
            assert points is not None and points > 0
            assert dv.type in ("decimal", "whole")
            assert (low, high) == (0.0, float(points)), row.key
        else:
            assert dv.type == ("whole" if ind.type == "integer" else "decimal"), row.key
            if ind.minimum is not None:
                assert low == float(ind.minimum), row.key
            if ind.maximum is not None:
                assert high == float(ind.maximum), row.key
    assert {"integer", "score"} <= kinds


def test_score_maximum_depends_on_the_units_rating_group(folder: Path, catalog: Catalog) -> None:
    """Task 1.1 is worth different points to a huyện ủy, BCS UBND and the MTTQ."""
    maxima = {}
    for code in ("HU01", "BCSUB", "MTTQ"):
        unit = catalog.unit(code)
        found = _validations(_path(folder, code))
        (score,) = [
            r
            for r in _inputs(catalog, unit)
            if r.task is not None
            and r.task.code == "1.1"
            and r.indicator is not None
            and r.indicator.type == "score"
        ]
        maxima[code] = float(found[score.cell][0].formula2)
        assert maxima[code] == catalog.points(unit.rating_group, "1.1")
    assert len(set(maxima.values())) == 3, maxima


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_date_and_text_cells_have_typed_validations(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    period = catalog.period(PERIOD)
    found = _validations(_path(folder, unit_code))
    for row in _inputs(catalog, catalog.unit(unit_code)):
        kind = row.indicator.type if row.indicator else IDENTITY_TYPES[row.key]
        (dv,) = found[row.cell]
        if kind == "date":
            assert dv.type == "date", row.key
            assert float(dv.formula1) == _serial(period.start)
            assert float(dv.formula2) >= _serial(period.end)
        elif kind in ("text", "longtext", "doclist"):
            assert dv.type == "textLength", row.key
            assert dv.operator == "lessThanOrEqual"
            assert float(dv.formula1) >= 255


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_validation_messages_are_vietnamese_and_within_excel_limits(
    folder: Path, unit_code: str
) -> None:
    rules = _openpyxl(_path(folder, unit_code))[form.FORM].data_validations.dataValidation
    assert rules
    for dv in rules:
        where = str(dv.sqref)
        assert dv.showInputMessage and dv.showErrorMessage, where
        for text, limit in (
            (dv.promptTitle, 32),
            (dv.prompt, 255),
            (dv.errorTitle, 32),
            (dv.error, 255),
        ):
            assert text and len(text) <= limit, (where, text)
            assert unicodedata.is_normalized("NFC", text), where
        assert not dv.prompt.isascii() and not dv.error.isascii(), where  # Vietnamese


# Sheets and metadata --------------------------------------------------------------------


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_guide_and_form_are_visible_lists_hidden_metadata_very_hidden(
    folder: Path, unit_code: str
) -> None:
    path = _path(folder, unit_code)
    sheets = CalamineWorkbook.from_path(str(path)).sheets_metadata
    assert [(s.name, s.visible) for s in sheets] == [
        (form.GUIDE, SheetVisibleEnum.Visible),
        (form.FORM, SheetVisibleEnum.Visible),
        (form.LISTS, SheetVisibleEnum.Hidden),
        (form.META, SheetVisibleEnum.VeryHidden),
    ]
    assert _openpyxl(path).active.title == form.GUIDE  # opens on the instructions


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_metadata_identifies_unit_period_template_version_and_catalog(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    values, _ = _metadata(_path(folder, unit_code))
    assert values["loai_tep"] == form.KIND
    assert values["ma_don_vi"] == unit_code
    assert values["ma_ky"] == PERIOD
    assert values["phien_ban_mau"] == str(catalog.settings.template_version)
    assert values["dau_van_tay"] == fingerprint(catalog)


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_metadata_maps_every_input_cell_as_form_rows_does(
    folder: Path, catalog: Catalog, unit_code: str
) -> None:
    _, cells = _metadata(_path(folder, unit_code))
    expected = [(r.cell, r.key) for r in _inputs(catalog, catalog.unit(unit_code))]
    assert cells == expected


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_checks_read_back_the_metadata_the_form_describes(
    folder: Path, catalog: Catalog, built_workspace: Workspace, unit_code: str
) -> None:
    """Writer and reader meet in dvxl.form: what one writes, the other reads, key by key;
    a workspace's template ends its metadata with the signature of it (dvxl.seal)."""
    path = _path(folder, unit_code)
    unit = catalog.unit(unit_code)
    expected = form.metadata(catalog, unit, catalog.period(PERIOD))
    expected |= built_workspace.seal().stamp(expected, form.layout(form.form_rows(catalog, unit)))
    assert list(expected)[-2:] == [form.KEY_KEY_ID, form.KEY_SIGNATURE]
    assert _metadata(path)[0] == expected
    book = read_book(path).book
    assert book is not None
    assert read_metadata(book) == expected


# Printing and styles -----------------------------------------------------------------


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_form_prints_on_a4_landscape_one_page_wide_with_party_margins(
    folder: Path, unit_code: str
) -> None:
    sheet = _sheet_part(_path(folder, unit_code), form.FORM)
    setup = sheet.find("m:pageSetup", NS)
    assert setup is not None
    assert setup.get("paperSize") == "9"
    assert setup.get("orientation") == "landscape"
    assert setup.get("fitToWidth", "1") == "1"  # 1 is the schema default
    assert setup.get("fitToHeight") == "0"  # as many pages down as needed
    fit = sheet.find("m:sheetPr/m:pageSetUpPr", NS)
    assert fit is not None and fit.get("fitToPage") == "1"
    margins = sheet.find("m:pageMargins", NS)
    assert margins is not None
    for side, mm in (("left", 30), ("right", 15), ("top", 20), ("bottom", 20)):
        assert float(margins.get(side, "nan")) == pytest.approx(mm * MM, abs=0.5 * MM), side


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_table_header_row_repeats_on_every_printed_page(folder: Path, unit_code: str) -> None:
    path = _path(folder, unit_code)
    book = _part(path, "xl/workbook.xml")
    names = [s.get("name") for s in book.iterfind("m:sheets/m:sheet", NS)]
    titles = [
        d
        for d in book.iterfind("m:definedNames/m:definedName", NS)
        if d.get("name") == "_xlnm.Print_Titles"
    ]
    assert len(titles) == 1
    assert titles[0].get("localSheetId") == str(names.index(form.FORM))
    row = form.HEADER_ROW + 1
    assert titles[0].text == f"'{form.FORM}'!${row}:${row}"
    rows = _calamine(path, form.FORM)
    assert rows[row - 1][: len(form.HEADERS)] == list(form.HEADERS)


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_printed_pages_carry_the_page_number_on_top(folder: Path, unit_code: str) -> None:
    path = _path(folder, unit_code)
    for name in (form.FORM, form.GUIDE):
        sheet = _sheet_part(path, name)
        header = sheet.find("m:headerFooter/m:oddHeader", NS)
        assert header is not None and "&P" in (header.text or ""), name
        setup = sheet.find("m:pageSetup", NS)
        assert setup is not None and setup.get("paperSize") == "9", name


def _fonts(path: Path) -> list[ET.Element]:
    fonts = _part(path, "xl/styles.xml").findall("m:fonts/m:font", NS)
    assert fonts
    return fonts


@pytest.mark.parametrize("unit_code", UNIT_CODES)
def test_every_font_is_times_new_roman(folder: Path, unit_code: str) -> None:
    for font in _fonts(_path(folder, unit_code)):
        name = font.find("m:name", NS)
        assert name is not None and name.get("val") == "Times New Roman"


def _theme_minor_font(path: Path) -> str:
    theme = _part(path, "xl/theme/theme1.xml")
    latin = theme.find(".//{*}minorFont/{*}latin")
    assert latin is not None
    return latin.get("typeface", "")


def test_fonts_are_not_replaced_by_the_themes_calibri(folder: Path) -> None:
    path = _path(folder, "HU01")
    minor = _theme_minor_font(path)
    for font in _fonts(path):
        scheme = font.find("m:scheme", NS)
        bound = scheme is not None and scheme.get("val") in ("minor", "major")
        assert not bound or minor == "Times New Roman", ET.tostring(font, encoding="unicode")


# Text that looks like a formula -------------------------------------------------------


def _write_variant(catalog: Catalog, unit: Unit, folder: Path) -> Path:
    period = catalog.period(PERIOD)
    path: Path = folder / form.template_name(period, unit)
    template.write_template(catalog, unit, period, path)
    return path


def _string_cells(path: Path, text: str) -> dict[str, list[Any]]:
    """Cells (per sheet) whose value starts with ``text``, ignoring case; no formula anywhere."""
    found: dict[str, list[Any]] = {}
    for sheet in openpyxl.load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                value = cell.value
                if isinstance(value, str) and value.casefold().startswith(text.casefold()):
                    assert cell.data_type == "s"
                    found.setdefault(sheet.title, []).append(value)
    return found


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("=SUM(E1:E5)", id="equals-sum"),
        pytest.param('=HYPERLINK("http://x.vn";"Đảng ủy")', id="equals-hyperlink"),
        pytest.param("{=1+1}", id="braces-array-formula"),
        pytest.param("+84 Đảng ủy", id="plus"),
        pytest.param("-Đảng ủy Khối", id="minus"),
        pytest.param("@Ban Dân vận", id="at"),
    ],
)
def test_unit_name_that_looks_like_a_formula_stays_text(
    sample_catalog: Catalog, tmp_path: Path, name: str
) -> None:
    original = sample_catalog.unit("HU01")
    unit = dataclasses.replace(original, name=name)
    catalog = dataclasses.replace(
        sample_catalog,
        units=tuple(unit if u.code == original.code else u for u in sample_catalog.units),
    )
    path = _write_variant(catalog, unit, tmp_path)
    found = _string_cells(path, name)
    assert name in found[form.FORM]  # the identity cell
    assert name.upper() in found[form.FORM]  # the document heading
    assert _metadata(path)[0]["ten_don_vi"] == name
    assert (
        _calamine(path, form.FORM)[form.IDENTITY_FIRST_ROW - 2][form.COL_VALUE] == name
    )


@pytest.mark.parametrize("field", ["task-text", "province"])
def test_catalog_text_that_looks_like_a_formula_stays_text(
    sample_catalog: Catalog, tmp_path: Path, field: str
) -> None:
    text = "=1+1 Đảng ủy"
    if field == "task-text":
        tasks = tuple(
            dataclasses.replace(t, text=text) if t.code == "1.1" else t
            for t in sample_catalog.tasks
        )
        catalog = dataclasses.replace(sample_catalog, tasks=tasks)
    else:
        settings = dataclasses.replace(sample_catalog.settings, province=text)
        catalog = dataclasses.replace(sample_catalog, settings=settings)
    path = _write_variant(catalog, catalog.unit("HU01"), tmp_path)
    assert _string_cells(path, text).get(form.FORM)
