"""Every output sheet prints one A4 page wide: read back from the file and from LibreOffice's PDF.

Issue 15: the sample period workbook printed on 249 pages, task and unit sheets at a fixed
60 % across three pages, follow-on pages showing a repeated column and no values. Each output
(period workbook, a task workbook, the validation workbook) is checked twice: its page setup
as written (fit to one page wide, any height, A4, the header row repeated, never columns),
and the page count of LibreOffice's PDF against a bound worked out from the sheets' own row
heights at the scale that fits their width; a sheet printed across pages overshoots it.
Charts are on chart sheets, a page each.
"""

from __future__ import annotations

import math
import re
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from test_report import catalog, mixed, period  # noqa: F401 (fixtures)

from dvxl import looks, render, report, taskbooks
from dvxl.model import Catalog
from dvxl.report import BatchReport

from libreoffice import find_soffice
from test_render import build

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
PAGE = {"landscape": (looks.PAGE_WIDTH_PT, looks.PAGE_HEIGHT_PT), "portrait": (468.0, 728.0)}


def sheets(path: Path) -> dict[str, tuple[ET.Element, str]]:
    """Each sheet's XML root by name, with its print titles ("" when none)."""
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        titles = {int(d.get("localSheetId", -1)): d.text or ""
                  for d in wb.iterfind("m:definedNames/m:definedName", NS)
                  if d.get("name") == "_xlnm.Print_Titles"}
        out = {}
        for i, s in enumerate(wb.iterfind("m:sheets/m:sheet", NS)):
            target = str(targets[s.get(rid)]).lstrip("/").removeprefix("xl/")
            out[str(s.get("name"))] = (ET.fromstring(z.read(f"xl/{target}")), titles.get(i, ""))
        return out


def page_bound(root: ET.Element) -> int:
    """Pages the sheet may print on when fitted to one page wide, with a page to spare."""
    default = float(root.find("m:sheetFormatPr", NS).get("defaultRowHeight", "15"))  # type: ignore[union-attr]
    heights = {int(r.get("r", 0)): float(r.get("ht", default))
               for r in root.iterfind("m:sheetData/m:row", NS)}
    last = max(heights, default=1)
    height = sum(heights.get(r, default) for r in range(1, last + 1))
    widths: dict[int, float] = {}
    for col in root.iterfind("m:cols/m:col", NS):
        for c in range(int(col.get("min", 1)), int(col.get("max", 1)) + 1):
            widths[c] = float(col.get("width", 9))
    used = max((len(r) for r in root.iterfind("m:sheetData/m:row", NS)), default=1)
    width = sum(looks.column_points(widths.get(c, 9.0))
                for c in range(1, max(used, max(widths, default=1)) + 1))
    setup = root.find("m:pageSetup", NS)
    page_w, page_h = PAGE[setup.get("orientation", "portrait")]  # type: ignore[union-attr]
    scale = min(1.0, page_w / width)
    return math.ceil(height * scale / page_h) + 1


def check_page_setup(path: Path) -> int:
    """Assert every sheet is set to print one A4 page wide; the file's page bound."""
    bound = 0
    for name, (root, titles) in sheets(path).items():
        setup = root.find("m:pageSetup", NS)
        if root.tag.endswith("}chartsheet"):  # one chart, printed on one page
            assert setup is not None and setup.get("paperSize") == "9", name
            assert setup.get("orientation") == "landscape", name
            bound += 1
            continue
        fit = root.find("m:sheetPr/m:pageSetUpPr", NS)
        assert setup is not None and fit is not None, name
        assert fit.get("fitToPage") == "1", name
        assert setup.get("fitToWidth", "1") == "1" and setup.get("fitToHeight") == "0", name
        assert setup.get("scale") is None and setup.get("paperSize") == "9", name
        assert root.find("m:colBreaks", NS) is None, name
        # Rows repeat on every page; a column would print alone on a follow-on page.
        assert not re.search(r"\$[A-Z]+:\$[A-Z]+", titles), (name, titles)
        bound += page_bound(root)
    return bound


def pdf_pages(soffice: str, sources: list[Path], outdir: Path) -> dict[str, int]:
    profile = outdir.parent / "lo-print-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(outdir), *map(str, sources)],
        check=True, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    pages = {}
    for src in sources:
        info = subprocess.run(["pdfinfo", str(outdir / f"{src.stem}.pdf")], check=True,
                              capture_output=True, text=True).stdout
        pages[src.name] = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    return pages


@pytest.fixture(scope="module")
def outputs(sample_catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The period workbook of six units and the task workbook of task 1.1."""
    folder = tmp_path_factory.mktemp("print")
    c = build(sample_catalog)
    period_book = folder / "tong-hop.xlsx"
    render.write_consolidated(c, period_book)
    tasks = folder / "tasks"
    taskbooks.start(c, tasks).finish()
    return [period_book, sorted(tasks.glob("*.xlsx"))[0]]


def test_every_sheet_of_every_output_is_set_to_print_one_page_wide(
        outputs: list[Path], mixed: BatchReport, tmp_path: Path) -> None:  # noqa: F811
    validation = tmp_path / "kiem-tra.xlsx"
    report.write_validation_workbook(mixed, validation)
    for path in [*outputs, validation]:
        assert check_page_setup(path) > 0, path


def test_libreoffice_prints_each_output_within_the_one_page_wide_bound(
        outputs: list[Path], mixed: BatchReport, tmp_path: Path) -> None:  # noqa: F811
    soffice = find_soffice()
    if soffice is None or not subprocess.run(["which", "pdfinfo"], capture_output=True).stdout:
        pytest.skip("LibreOffice or pdfinfo missing")
    validation = tmp_path / "kiem-tra.xlsx"
    report.write_validation_workbook(mixed, validation)
    sources = [*outputs, validation]
    pages = pdf_pages(soffice, sources, tmp_path / "pdf")
    for path in sources:
        bound = check_page_setup(path)
        assert len(sheets(path)) <= pages[path.name] <= bound, (path.name, pages, bound)
    # The last row of the evaluation's counts, which LibreOffice once left off the page.
    text = subprocess.run(["pdftotext", str(tmp_path / "pdf" / f"{outputs[0].stem}.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
    assert "Tất cả đơn vị" in text
