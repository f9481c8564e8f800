"""Rows written as sheet XML by dvxl.rawrows are the bytes XlsxWriter writes for them.

Every table of a large roster's period outputs is written both ways (``rawrows.ENABLED``
on and off) and the workbooks compared part by part; a table of awkward values (text to
escape, control characters, whitespace, dates, formulas, values XlsxWriter treats in its
own way) checks the cases one by one.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from dvxl import printing, processes, rawrows, render
from dvxl.looks import Col, Looks
from dvxl.merge import Consolidated
from dvxl.model import Catalog
from dvxl.rawrows import Formula, RawRows

from libreoffice import require_libreoffice
from test_render import build, formulas, recalculate  # the sample's period data, planted

CREATED = dt.datetime(2026, 6, 20, 8, 0)


@pytest.fixture(scope="module")
def sample_consolidated(sample_catalog: Catalog) -> Consolidated:
    return build(sample_catalog)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def awkward_rows(looks: Any) -> list[list[Any]]:
    text, general, stamp, date = looks.text, looks.general, looks.stamp, looks.date
    values: list[tuple[Any, Any]] = [
        (1, general), (0.1 + 0.2, general), (1e20, general), (-3.5, general), (12.0, general),
        (2**53 + 1, general), ("", text), ("A & B <c> \"d\" 'e'", text),
        ("dòng 1\ndòng 2", text), (" cách đầu", text), ("cách cuối ", text),
        ("\tthụt", text), ("điều khiển \x01 ký tự", text), ("_x0041_ đã có", text),
        ("không\xa0ngắt", text), ("Tiếng Việt có dấu " * 30, text),
        (dt.date(2026, 6, 15), date), (dt.datetime(2026, 6, 17, 14, 30), stamp),
        (dt.datetime(2026, 6, 17, 14, 30, tzinfo=dt.UTC), stamp),
        (Formula("=SUM(A1:A3)", 6.0), general), (Formula("=IF(B2=0,0,C2/B2)", 0.25), general),
        (Formula("='Theo đơn vị'!H7", 80), general),
    ]
    # Values XlsxWriter handles its own way: their rows are left to it.
    odd: list[tuple[Any, Any]] = [
        (True, text), (None, text), (float("inf"), general), ("x" * 40_000, text),
        ("<r>giàu định dạng</r>", text), (Formula("=ROUND(1.5,0)", 2), general),
        (Formula("=IF(A1>0,\"có\",\"không\")", "có"), general), (dt.time(8, 0), text),
    ]
    rows = [[(i, looks.center), values[i % len(values)], values[(i * 7) % len(values)],
             ("Tên đơn vị", text)] for i in range(len(values) * 2)]
    rows += [[(i, looks.center), value, ("", text), ("sau", text)] for i, value in
             enumerate(odd, len(rows))]
    return rows


def write(path: Path, raw: bool, monkeypatch: pytest.MonkeyPatch) -> int:
    """The awkward table in a constant_memory workbook; the number of rows written raw."""
    monkeypatch.setattr("dvxl.rawrows.ENABLED", raw)
    written = 0
    real = RawRows.write

    def counting(self: RawRows, *args: Any) -> bool:
        nonlocal written
        done = real(self, *args)
        written += done
        return done

    monkeypatch.setattr(RawRows, "write", counting)
    workbook = xlsxwriter.Workbook(str(path), printing.WORKBOOK_OPTIONS)
    workbook.constant_memory = True
    workbook.set_properties({"created": CREATED})
    looks = Looks(workbook)
    sheet = workbook.add_worksheet("Bảng")
    cols = [Col("STT", 6), Col("A", 20, True), Col("B", 12),
            Col("C", 30, True)]
    rows = awkward_rows(looks)
    footer = [("", looks.total_text), ("Tổng", looks.total_text),
              (Formula(f"=SUM(C5:C{len(rows) + 4})", 1), looks.total_integer),
              ("", looks.total_text)]
    looks.table(sheet, 3, cols, rows, footer=footer, key_cols=2)
    workbook.close()
    return written


def test_awkward_values_give_the_bytes_xlsxwriter_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = write(tmp_path / "raw.xlsx", True, monkeypatch)
    plain = write(tmp_path / "plain.xlsx", False, monkeypatch)
    assert plain == 0 and raw > 0
    assert raw < len(awkward_rows(Looks(xlsxwriter.Workbook(str(tmp_path / "x.xlsx")))))
    assert parts(tmp_path / "raw.xlsx") == parts(tmp_path / "plain.xlsx")


def test_a_sheet_not_written_row_by_row_is_left_to_xlsxwriter(tmp_path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    assert not RawRows.usable(workbook.add_worksheet())
    workbook.close()


def test_large_roster_outputs_are_the_same_bytes_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_consolidated: Consolidated
) -> None:
    monkeypatch.setattr(render, "UNIT_SHEETS_MAX", 5)  # the large-roster outputs
    monkeypatch.setenv("DVXL_WORKERS", "1")  # this process writes everything, as patched
    made = {}
    for raw in (True, False):
        monkeypatch.setattr("dvxl.rawrows.ENABLED", raw)
        out = tmp_path / str(raw) / "tong-hop.xlsx"
        render.write_consolidated(sample_consolidated, out)
        made[raw] = {p.relative_to(out.parent).as_posix(): parts(p)
                     for p in sorted(out.parent.rglob("*.xlsx"))}
    assert len(made[True]) > 1  # the period workbook and the task workbooks
    assert made[True] == made[False]


def test_a_large_process_writes_the_task_workbooks_itself_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_consolidated: Consolidated
) -> None:
    monkeypatch.setattr(render, "UNIT_SHEETS_MAX", 5)  # the large-roster outputs
    monkeypatch.setenv("DVXL_WORKERS", "2")
    made = {}
    for large in (False, True):
        monkeypatch.setattr(processes, "process_is_large", lambda large=large: large)
        if large:  # a process of national size starts no worker beside itself (issue 18)
            monkeypatch.setattr(processes, "pool", None)
        out = tmp_path / str(large) / "tong-hop.xlsx"
        render.write_consolidated(sample_consolidated, out)
        made[large] = {p.relative_to(out.parent).as_posix(): parts(p)
                       for p in sorted(out.parent.rglob("*.xlsx"))}
    assert len(made[True]) > 1
    assert made[True] == made[False]


def test_formula_text_is_taken_only_when_xlsxwriter_leaves_it_alone() -> None:
    assert rawrows._formula(Formula("=SUM(A1:A2)", 3)) == "SUM(A1:A2)"
    assert rawrows._formula(Formula("=IF(A1<>0,1,0)", 1)) == "IF(A1&lt;&gt;0,1,0)"
    assert rawrows._formula(Formula("=XLOOKUP(1,A:A,B:B)", 1)) is None
    assert rawrows._formula(Formula("=SUM(A1)", "x")) is None  # type: ignore[arg-type]


def test_libreoffice_recalculates_the_large_roster_outputs_to_their_stored_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_consolidated: Consolidated
) -> None:
    client = require_libreoffice()
    monkeypatch.setattr(render, "UNIT_SHEETS_MAX", 5)
    out = tmp_path / "out" / "tong-hop.xlsx"
    render.write_consolidated(sample_consolidated, out)
    made = sorted(out.parent.rglob("*.xlsx"))
    assert len(made) > 1
    recalculate(client.soffice, made, tmp_path / "lo")
    wrong, checked = [], 0
    for path in made:
        ours = CalamineWorkbook.from_path(str(path))
        theirs = CalamineWorkbook.from_path(str(tmp_path / "lo" / path.name))
        grids = {name: (ours.get_sheet_by_name(name).to_python(skip_empty_area=False),
                        theirs.get_sheet_by_name(name).to_python(skip_empty_area=False))
                 for name in ours.sheet_names}
        for (name, r, col), text in formulas(openpyxl.load_workbook(path)).items():
            mine, lo = grids[name][0][r][col], grids[name][1][r][col]
            checked += 1
            if not (isinstance(lo, int | float) and lo == pytest.approx(mine, abs=1e-9)):
                wrong.append(f"{path.name} {name} r{r} c{col} {text}: {mine!r} vs {lo!r}")
    assert checked > 50
    assert not wrong, "\n".join(wrong)
