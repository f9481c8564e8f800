"""The list of a period's upload codes, «Mã nộp» (dvxl.codesheet): what ``dvxl codes``
writes for the secretariat to open or print, read back as the office would read it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvxl import codesheet, looks, periods, uploadcodes, workspace
from dvxl.cli import main

PERIOD = "2026-6T"
OOXML = Path("/work/shared/tools/ooxml/validate.py")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace where ``dvxl codes -p 2026-6T`` has run."""
    ws = workspace.init(tmp_path_factory.mktemp("codes") / "ws")
    assert main(["codes", "-p", PERIOD, "-w", str(ws.root)]) == 0
    return ws.root


@pytest.fixture
def root(made: Path, tmp_path: Path) -> Path:
    """A copy of that workspace this test may change."""
    copy = tmp_path / "ws"
    shutil.copytree(made, copy)
    return copy


def rows(path: Path) -> list[list[object]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return book.get_sheet_by_name(codesheet.SHEET).to_python()
    finally:
        book.close()


def listed(path: Path) -> dict[str, str]:
    """Unit code → upload code, from the table under its header row."""
    found = rows(path)
    header = next(i for i, r in enumerate(found) if r[:2] == ["STT", codesheet.UNIT_TITLE])
    return {str(r[1]): str(r[3]) for r in found[header + 1:] if r[1]}


def text(path: Path) -> str:
    return "\n".join(" ".join(str(v) for v in r if v != "") for r in rows(path))


def test_the_codes_command_lists_every_units_code_in_a_workbook(made: Path) -> None:
    path = codesheet.path(made, PERIOD)
    kept = uploadcodes.load(made)[PERIOD]
    catalog = workspace.Workspace(made).load()
    assert listed(path) == {u.code: uploadcodes.shown(kept.units[u.code])
                            for u in catalog.addressed_units()}
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [codesheet.SHEET]
    names = {str(r[1].value): str(r[2].value) for r in book[codesheet.SHEET].iter_rows(min_row=8)}
    assert names == {u.code: u.name for u in catalog.addressed_units()}


def test_the_list_names_the_period_the_secretariats_code_and_how_units_use_theirs(
    made: Path,
) -> None:
    period = periods.find(workspace.Workspace(made).load(), PERIOD)
    shown = text(codesheet.path(made, PERIOD))
    assert period.name.upper() in shown and f"Kỳ báo cáo {PERIOD}" in shown
    assert uploadcodes.shown(uploadcodes.load(made)[PERIOD].secretariat) in shown
    assert "địa chỉ trang do văn phòng báo" in shown


def test_the_list_is_private_like_the_codes(made: Path) -> None:
    if os.name != "posix":
        pytest.skip("owner-only permissions are POSIX modes")
    assert stat.S_IMODE(codesheet.path(made, PERIOD).stat().st_mode) == 0o600
    assert stat.S_IMODE(uploadcodes.path(made).stat().st_mode) == 0o600
    assert not list(made.glob(".~dvxl-*"))  # no temporary file left beside them


def test_the_command_says_where_the_list_is(
    root: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["codes", "-p", PERIOD, "-w", str(root)]) == 0
    assert str(codesheet.path(root, PERIOD)) in capsys.readouterr().out


def test_new_codes_rewrite_the_list(root: Path) -> None:
    path = codesheet.path(root, PERIOD)
    before = listed(path)
    assert main(["codes", "-p", PERIOD, "--new", "-w", str(root)]) == 0
    after = listed(path)
    kept = uploadcodes.load(root)[PERIOD]
    assert after == {u: uploadcodes.shown(c) for u, c in kept.units.items()}
    assert after.keys() == before.keys()
    assert not set(after.values()) & set(before.values())
    assert uploadcodes.shown(kept.secretariat) in text(path)


def test_a_unit_added_since_shows_that_it_has_no_code_yet(root: Path) -> None:
    ws = workspace.Workspace(root)
    catalog = ws.load()
    period = periods.find(catalog, PERIOD)
    kept = uploadcodes.load(root)[PERIOD]
    first = catalog.addressed_units()[0].code
    fewer = uploadcodes.PeriodCodes(PERIOD, {u: c for u, c in kept.units.items() if u != first},
                                    kept.secretariat)
    codesheet.write(root, catalog, period, fewer)
    assert listed(codesheet.path(root, PERIOD))[first] == (
        f"chưa có mã: chạy dvxl codes -p {PERIOD}")


def test_a_period_without_codes_gets_no_list(root: Path) -> None:
    catalog = workspace.Workspace(root).load()
    other = next(p for p in catalog.periods if p.code != PERIOD)
    assert codesheet.write_for(root, catalog, other) is None
    assert not codesheet.path(root, other.code).exists()


def test_the_list_prints_one_a4_page_wide_portrait(made: Path) -> None:
    sheet = openpyxl.load_workbook(codesheet.path(made, PERIOD))[codesheet.SHEET]
    setup = sheet.page_setup
    assert (setup.orientation, setup.paperSize) == ("portrait", 9)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0)  # absent: 1
    assert sheet.print_title_rows == "$7:$7"
    points = sum(looks.column_points(sheet.column_dimensions[c].width) for c in "ABCD")
    assert points <= 468  # A4 portrait within the margins of Hướng dẫn 36: no scaling down


def test_the_list_passes_the_ooxml_checker(made: Path) -> None:
    if not OOXML.is_file():
        pytest.skip("the OOXML checker of ../shared/tools is not on this machine")
    done = subprocess.run([sys.executable, str(OOXML), str(codesheet.path(made, PERIOD))],
                          capture_output=True, text=True, timeout=300)
    faults = [line for line in done.stdout.splitlines()
              if line.startswith("[") and "-info]" not in line]
    assert done.returncode == 0 and faults == [], done.stdout[-2000:]
