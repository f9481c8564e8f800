"""Returns filled by real LibreOffice, saved as .xlsx, .xls and .ods, validate alike.

A clerk using LibreOffice types into the template and saves in whichever format
the program offers; dvxl must find the same problems in the same cells whatever
the format, read the same values, and find the template's signature intact.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest

from dvxl import markup, sample, workspace
from dvxl.form import FORM, form_rows, template_name
from dvxl.reader import Limits
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, validate_inbox

from libreoffice import CellEdit, FillJob, Output, fill_and_save, require_libreoffice

PERIOD = "2026-6T"
FORMATS = ("xlsx", "xls", "ods")
# unit -> changes to good values (each a mistake or a forgiving read)
CASES: dict[str, dict[str, Any]] = {
    "HU01": {},
    "HU02": {"1.1.TRANG_THAI": "", "1.1.HN_SO": "nhiều", "1.1.HN_LUOT": 0},
    "BCSUB": {"1.3.KN_SO": 2, "1.3.KN_XL": 5, "1.2.MH_DK": "1.250", "1.2.MH_HQ": 3},
    "MTTQ": {
        "1.1.TRANG_THAI": "Xong",
        "NGAY_BC": "16/6/2026",
        "1.1.VB_SO": 1,
        "1.1.VB_DS": "Kế hoạch 45KH/HU tháng 3",
    },
}


@pytest.fixture(scope="module")
def lo_ws(tmp_path_factory: pytest.TempPathFactory) -> workspace.Workspace:
    """A workspace whose templates went out signed."""
    ws = workspace.init(tmp_path_factory.mktemp("lo") / "ws")
    workspace.make_templates(ws, PERIOD)
    return ws


@pytest.fixture(scope="module")
def batches(lo_ws: workspace.Workspace) -> dict[str, BatchReport]:
    require_libreoffice()
    ws = lo_ws
    catalog = ws.load()
    period = catalog.period(PERIOD)
    rng = random.Random(11)
    inboxes = {fmt: ws.root / f"inbox-{fmt}" for fmt in FORMATS}
    for folder in inboxes.values():
        folder.mkdir()
    jobs = []
    for code, change in CASES.items():
        unit = catalog.unit(code)
        values = sample.good_values(catalog, unit, period, rng) | change
        cells = {r.key: r.cell for r in form_rows(catalog, unit)}
        edits = [
            CellEdit(FORM, cells[key], _typed(value))
            for key, value in values.items()
            if value not in ("", None)
        ]
        source = ws.templates(PERIOD) / template_name(period, unit)
        jobs.append(
            FillJob(
                source, edits, [Output(inboxes[fmt] / f"BC {code}.{fmt}", fmt) for fmt in FORMATS]
            )
        )
    results = fill_and_save(jobs)
    for result in results:
        assert result.ok, result.errors
        assert all(e.ok for e in result.edits), [e.error for e in result.edits if not e.ok]
    limits = Limits()
    return {
        fmt: validate_inbox(catalog, folder, period, limits, seal=ws.seal())
        for fmt, folder in inboxes.items()
    }


def _typed(value: Any) -> str | int | float | dt.date:
    if isinstance(value, dt.date | str):
        return value
    return float(value) if isinstance(value, float) else int(value)


def flat(batch: BatchReport) -> dict[str, list[tuple[str, str, str]]]:
    return {
        Path(r.name).stem: sorted((f.code, f.sheet, f.cell) for f in r.findings)
        for r in batch.files
    }


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_same_findings_in_every_format(batches: dict[str, BatchReport], fmt: str) -> None:
    assert flat(batches[fmt]) == flat(batches["xlsx"])


def test_findings_are_the_planted_ones(batches: dict[str, BatchReport]) -> None:
    codes = {
        name: sorted({c for c, _, _ in found}) for name, found in flat(batches["xlsx"]).items()
    }
    assert codes == {
        "BC HU01": [],
        "BC HU02": ["C001", "C002"],
        "BC BCSUB": ["R001", "W101"],
        "BC MTTQ": ["C004", "C006", "W102"],
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_read_the_same(batches: dict[str, BatchReport], fmt: str) -> None:
    first = {r.unit: r.values for r in batches["xlsx"].files}
    other = {r.unit: r.values for r in batches[fmt].files}
    assert other == first
    assert all(r.identified_by == "metadata" for r in batches[fmt].files)


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_a_rebuilt_copy_verifies_when_the_unit_corrects_it_in_libreoffice(
    lo_ws: workspace.Workspace,
    batches: dict[str, BatchReport],
    fmt: str,
    tmp_path: Path,
) -> None:
    """HU02 sent an .xls/.ods with errors: its marked copy is its template rebuilt (and signed)
    with its values; the clerk fixes both cells in LibreOffice, saves as .xls/.ods again, and
    the file is accepted as HU02's (issue 14)."""
    catalog = lo_ws.load()
    batch = batches[fmt]
    copies = markup.write_marked_copies(batch, catalog, tmp_path / "tra-lai", 1, lo_ws.seal())
    (copy,) = [p for p in copies if p.name.startswith("BC HU02")]
    cells = {r.key: r.cell for r in form_rows(catalog, catalog.unit("HU02"))}
    edits = [CellEdit(FORM, cells["1.1.TRANG_THAI"], "Đã triển khai"),
             CellEdit(FORM, cells["1.1.HN_SO"], 4)]
    inbox = tmp_path / "inbox"
    (result,) = fill_and_save([FillJob(copy, edits, [Output(inbox / f"BC HU02.{fmt}", fmt)])])
    assert result.ok, (result.errors, [e.error for e in result.edits])
    (report,) = validate_inbox(catalog, inbox, batch.period, Limits(), seal=lo_ws.seal()).files
    assert [f.code for f in report.findings] == []
    assert report.status is FileStatus.VALID
    assert (report.unit, report.identified_by) == ("HU02", "metadata")
