"""What dvxl hands out after validation, read back from the files it wrote.

The validation workbook, the JSON report and the console summary are built
from BatchReports made directly from the dataclasses; the marked-up copies
for units from real templates filled with openpyxl (and, for .ods/.xls
returns, converted by real LibreOffice), so the assertions are about what a
secretariat and a unit would open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvxl import markup, markxml, report
from dvxl.findings import CODES, Finding, make
from dvxl.form import COL_VALUE, FORM, LISTS, META, FormRow, form_rows, template_name
from dvxl.model import Catalog, Period, Unit
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport
from dvxl.workspace import Workspace

from libreoffice import FillJob, Output, fill_and_save, require_libreoffice

PERIOD = "2026-6T"
UNIT = "HU01"
FORMULA_TEXT = "=HYPERLINK(\"http://x\",\"bấm\")"  # a unit's text that must never run
STARTED = dt.datetime(2026, 7, 16, 8, 30, 5)
RED, AMBER, YELLOW = "FFFFC7CE", "FFFFEB9C", "FFFFF2CC"


# Helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(built_workspace: Workspace) -> Catalog:
    return built_workspace.load()


@pytest.fixture(scope="module")
def period(catalog: Catalog) -> Period:
    return catalog.period(PERIOD)


@pytest.fixture(scope="module")
def unit(catalog: Catalog) -> Unit:
    return catalog.unit(UNIT)


@pytest.fixture(scope="module")
def rows(catalog: Catalog, unit: Unit) -> dict[str, FormRow]:
    return {r.key: r for r in form_rows(catalog, unit)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_report(path: Path, inbox: Path, findings: list[Finding], **fields: Any) -> FileReport:
    data = path.read_bytes() if path.exists() else b""
    defaults: dict[str, Any] = {
        "name": path.relative_to(inbox).as_posix(), "path": path, "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "modified": dt.datetime(2026, 7, 14, 9, 5),
    }
    return FileReport(**(defaults | fields), findings=findings)


def batch_of(period: Period, inbox: Path, files: list[FileReport]) -> BatchReport:
    return BatchReport(period, inbox, files, STARTED, STARTED + dt.timedelta(seconds=3))


def filled_values(catalog: Catalog, rows: dict[str, FormRow]) -> dict[str, Any]:
    """A value of the right type for every input of the unit's form."""
    values: dict[str, Any] = {}
    for key, row in rows.items():
        if row.kind == "identity":
            values[key] = {"NGAY_BC": dt.date(2026, 6, 20), "NGUOI_LAP": FORMULA_TEXT,
                           "DIEN_THOAI": "0912 345 678"}[key]
        elif row.kind == "indicator":
            ind = row.indicator
            assert ind is not None
            values[key] = {
                "integer": 12, "decimal": 2.5, "score": 1, "date": dt.date(2026, 3, 2),
                "choice": catalog.choice_list(ind.choices).values[0] if ind.choices else "",
                "doclist": "45-KH/HU ngày 12/3/2020",
            }.get(ind.type, "Đã triển khai đầy đủ.")
    return values


def fill(src: Path, dest: Path, rows: dict[str, FormRow], values: dict[str, Any]) -> None:
    """Type values into the template's input cells as a clerk would (text stays text)."""
    book = openpyxl.load_workbook(src)
    form = book[FORM]
    for key, value in values.items():
        cell = form[rows[key].cell]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
    dest.parent.mkdir(parents=True, exist_ok=True)
    book.save(dest)


def table(sheet: Any, first: str = "STT") -> tuple[list[Any], list[list[Any]]]:
    """(header, rows) of the table whose header row starts with ``first`` in column A."""
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(values) if r[0] == first)
    return values[start], [r for r in values[start + 1:] if any(v is not None for v in r)]


def list_rows(book: Any) -> list[dict[str, Any]]:
    header, body = table(book[markup.LIST_SHEET])
    return [dict(zip(header, r, strict=False)) for r in body]


# A batch made from the dataclasses ------------------------------------------------------------


@pytest.fixture
def mixed(tmp_path: Path, period: Period) -> BatchReport:
    """One file of every status; the error file carries unit text starting with "="."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a/ok.xlsx", "warn.xlsx", "bad.xlsx", "junk.pdf", "old.xlsx", "~$bad.xlsx"):
        (inbox / name).parent.mkdir(exist_ok=True)
        (inbox / name).write_bytes(name.encode())
    w104 = make("W104", "warn.xlsx", unit="HU02", sheet="Báo cáo", cell="E11",
                indicator="NGUOI_LAP", label="Người lập")
    bad = [
        make("C003", "bad.xlsx", unit="HU03", sheet="Báo cáo", cell="E21", task="1.1",
             indicator="HN_SO", label="Số hội nghị", value="-5", expected="không nhỏ hơn 0"),
        make("C002", "bad.xlsx", unit="HU03", sheet="Báo cáo", cell="E22", task="1.1",
             indicator="HN_LUOT", label="Số lượt", value=FORMULA_TEXT, expected="một số"),
        make("W103", "bad.xlsx", unit="HU03", sheet="Báo cáo", cell="E11",
             indicator="NGUOI_LAP", label="Người lập", value="Lê"),
    ]
    files = [
        file_report(inbox / "a/ok.xlsx", inbox, [], format="xlsx", unit="HU01",
                    unit_name="Huyện ủy A", period=PERIOD, identified_by="metadata",
                    template_version="1"),
        file_report(inbox / "warn.xlsx", inbox, [w104], format="xlsx", unit="HU02",
                    unit_name="Huyện ủy B", period=PERIOD, identified_by="content"),
        file_report(inbox / "bad.xlsx", inbox, bad, format="xlsx", unit="HU03",
                    unit_name=FORMULA_TEXT, period=PERIOD, identified_by="metadata"),
        file_report(inbox / "junk.pdf", inbox, [make("F001", "junk.pdf", value="PDF")]),
        file_report(inbox / "old.xlsx", inbox,
                    [make("I009", "old.xlsx", unit="HU01", expected="a/ok.xlsx")],
                    format="xlsx", unit="HU01", period=PERIOD, identified_by="metadata",
                    superseded_by="a/ok.xlsx"),
        file_report(inbox / "~$bad.xlsx", inbox, [make("F008", "~$bad.xlsx")]),
    ]
    return batch_of(period, inbox, files)


def test_statuses_of_the_mixed_batch_cover_every_status(mixed: BatchReport) -> None:
    assert [f.status for f in mixed.files] == list(FileStatus)


def test_validation_workbook_lists_every_file_finding_and_code(
    mixed: BatchReport, tmp_path: Path
) -> None:
    path = tmp_path / "out" / "kiem-tra.xlsx"
    report.write_validation_workbook(mixed, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [report.SUMMARY_SHEET, report.DETAIL_SHEET, report.CODES_SHEET]
    assert list((tmp_path / "out").iterdir()) == [path]  # no temporary file left behind

    summary = book[report.SUMMARY_SHEET]
    assert mixed.period.name.upper() in summary["A1"].value
    header, body = table(summary)
    assert header == [c[0] for c in report.SUMMARY_COLUMNS]
    by = [dict(zip(header, r, strict=True)) for r in body]
    assert [r["Tệp"] for r in by] == [f.name for f in mixed.files]
    assert [r["Trạng thái"] for r in by] == [f.status.label for f in mixed.files]
    assert [r["Số lỗi"] for r in by] == [0, 0, 2, 1, 0, 0]
    assert [r["Số cảnh báo"] for r in by] == [0, 1, 1, 0, 1, 1]
    assert by[0]["Nhận diện"] == "Trang thông tin mẫu"
    assert by[1]["Nhận diện"] == "Nội dung tệp"
    assert by[4]["Thay thế bởi"] == "a/ok.xlsx"
    assert by[0]["Ngày sửa tệp"] == dt.datetime(2026, 7, 14, 9, 5)
    assert by[0]["SHA-256"] == mixed.files[0].sha256[:12]
    # The counts block above the table: one row per status, then the totals.
    counts = {r[1]: r[2] for r in summary.iter_rows(min_row=6, max_row=13, values_only=True)}
    labels = [s.label for s in FileStatus]
    assert {s: counts[s] for s in labels} == dict.fromkeys(labels, 1)
    assert counts["Tổng cộng"] == 6
    assert counts["Hợp lệ để tổng hợp"] == "2/5"

    details = book[report.DETAIL_SHEET]
    header, body = table(details)
    assert header == [c[0] for c in report.DETAIL_COLUMNS]
    found = [f for f in mixed.findings]
    assert len(body) == len(found)
    first = dict(zip(header, body[1], strict=True))  # bad.xlsx, C003
    assert (first["Tệp"], first["Đơn vị"], first["Mã lỗi"], first["Mức độ"], first["Ô"]) == (
        "bad.xlsx", "HU03", "C003", "Lỗi", "E21")
    assert first["Hướng dẫn sửa"] == found[1].message
    assert [r[4] for r in body].count("Cảnh báo") == 4

    header, body = table(book[report.CODES_SHEET], "Mã lỗi")
    assert [r[0] for r in body] == list(CODES)
    assert dict(zip([r[0] for r in body], [r[4] for r in body], strict=True))["C003"] == 1


def test_validation_workbook_prints_a4_landscape_with_frozen_filtered_headers(
    mixed: BatchReport, tmp_path: Path
) -> None:
    path = tmp_path / "kiem-tra.xlsx"
    report.write_validation_workbook(mixed, path)
    book = openpyxl.load_workbook(path)
    for name in (report.SUMMARY_SHEET, report.DETAIL_SHEET):
        sheet = book[name]
        header_row = next(r[0].row for r in sheet.iter_rows() if r[0].value == "STT")
        assert sheet.freeze_panes == f"A{header_row + 1}"
        assert sheet.auto_filter.ref.startswith(f"A{header_row}:")
        assert sheet.print_title_rows == f"${header_row}:${header_row}"
        assert sheet.page_setup.paperSize == 9
        assert sheet.page_setup.orientation == "landscape"


def test_validation_workbook_colours_status_and_severity(
    mixed: BatchReport, tmp_path: Path
) -> None:
    path = tmp_path / "kiem-tra.xlsx"
    report.write_validation_workbook(mixed, path)
    book = openpyxl.load_workbook(path)
    colour = {}
    for row in book[report.SUMMARY_SHEET].iter_rows(min_row=16):
        colour[row[5].value] = row[5].fill.fgColor.rgb
    assert colour[FileStatus.ERRORS.label] == colour[FileStatus.UNREADABLE.label] == "FFFFC7CE"
    assert colour[FileStatus.WARNINGS.label] == "FFFFEB9C"
    severity = {r[4].value: r[4].fill.fgColor.rgb for r in book[report.DETAIL_SHEET].iter_rows(
        min_row=5)}
    assert severity == {"Lỗi": "FFFFC7CE", "Cảnh báo": "FFFFEB9C"}


def test_unit_text_starting_with_equals_stays_text_in_the_workbook(
    mixed: BatchReport, tmp_path: Path
) -> None:
    path = tmp_path / "kiem-tra.xlsx"
    report.write_validation_workbook(mixed, path)
    book = openpyxl.load_workbook(path)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row
             if c.value == FORMULA_TEXT]
    assert len(cells) == 2  # the unit's name and the C002 finding's value
    assert {c.data_type for c in cells} == {"s"}
    calamine = CalamineWorkbook.from_path(str(path))
    flat = [v for name in calamine.sheet_names
            for r in calamine.get_sheet_by_name(name).to_python() for v in r]
    assert flat.count(FORMULA_TEXT) == 2


def calamine_values(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_a_large_batch_is_written_row_by_row_with_the_same_values(
        mixed: BatchReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = tmp_path / "small.xlsx"
    report.write_validation_workbook(mixed, small)
    monkeypatch.setattr(report, "LARGE_ROWS", 0)  # the national-scale way, here
    made = {}
    for raw in (True, False):
        monkeypatch.setattr("dvxl.rawrows.ENABLED", raw)
        made[raw] = tmp_path / f"large-{raw}.xlsx"
        report.write_validation_workbook(mixed, made[raw])
    with zipfile.ZipFile(made[True]) as archive:  # inline strings: written row by row
        assert b"inlineStr" in archive.read("xl/worksheets/sheet2.xml")
    with zipfile.ZipFile(small) as archive:
        assert b"inlineStr" not in archive.read("xl/worksheets/sheet2.xml")
    # Rows written as XML are the bytes XlsxWriter writes for them (the time stamp aside).
    raw, plain = (parts_of(made[k]) for k in (True, False))
    assert raw.keys() == plain.keys()
    assert {k: v for k, v in raw.items() if k != "docProps/core.xml"} == \
        {k: v for k, v in plain.items() if k != "docProps/core.xml"}
    assert calamine_values(made[True]) == calamine_values(small)
    book = openpyxl.load_workbook(made[True])
    details = book[report.DETAIL_SHEET]
    assert details.auto_filter.ref == f"A4:L{4 + len(mixed.findings)}"
    assert details.freeze_panes == "A5"


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_empty_batch_still_writes_every_sheet(period: Period, tmp_path: Path) -> None:
    path = tmp_path / "kiem-tra.xlsx"
    report.write_validation_workbook(batch_of(period, tmp_path, []), path)
    book = openpyxl.load_workbook(path)
    assert table(book[report.SUMMARY_SHEET])[1] == []
    assert table(book[report.DETAIL_SHEET])[1] == []


def test_json_report_follows_the_schema(mixed: BatchReport, tmp_path: Path) -> None:
    path = tmp_path / "json" / "kiem-tra.json"
    report.write_json(mixed, path)
    assert list(path.parent.iterdir()) == [path]
    raw = path.read_bytes()
    assert "Có lỗi".encode() in raw  # UTF-8, not \u escapes
    data = json.loads(raw)
    assert list(data) == ["schema", "period", "inbox", "started", "finished", "valid", "counts",
                          "counts_by_code", "files"]
    assert data["schema"] == "dvxl-validation/1"
    p = mixed.period
    assert data["period"] == {"code": p.code, "name": p.name, "start": p.start.isoformat(),
                              "end": p.end.isoformat(), "deadline": p.deadline.isoformat()}
    assert data["inbox"] == str(mixed.inbox)
    assert dt.datetime.fromisoformat(data["started"]) == STARTED
    assert data["valid"] is False
    assert data["counts"] == dict.fromkeys([s.label for s in FileStatus], 1)
    assert data["counts_by_code"] == {"valid": 1, "warnings": 1, "errors": 1, "unreadable": 1,
                                      "superseded": 1, "ignored": 1}
    files = data["files"]
    assert [f["name"] for f in files] == [f.name for f in mixed.files]
    bad = files[2]
    assert set(bad) == {"name", "size", "sha256", "modified", "format", "unit", "unit_name",
                        "period", "identified_by", "template_version", "status", "status_code",
                        "errors", "warnings", "superseded_by", "findings", "received",
                        "received_from", "message"}
    assert (bad["status"], bad["errors"], bad["warnings"]) == ("Có lỗi", 2, 1)
    assert [f["status_code"] for f in files] == [s.value for s in FileStatus]
    assert dt.datetime.fromisoformat(bad["modified"]) == dt.datetime(2026, 7, 14, 9, 5)
    assert bad["findings"] == [f.as_dict() for f in mixed.files[2].findings]
    assert bad["findings"][1]["value"] == FORMULA_TEXT
    assert files[4]["superseded_by"] == "a/ok.xlsx"


def test_json_written_a_file_at_a_time_is_the_whole_document_dumped_at_once(
        mixed: BatchReport, period: Period, tmp_path: Path) -> None:
    for batch in (mixed, batch_of(period, tmp_path, [])):
        path = tmp_path / "r.json"
        report.write_json(batch, path)
        whole = json.dumps(report.as_json(batch), ensure_ascii=False, indent=2,
                           allow_nan=False) + "\n"
        assert path.read_bytes() == whole.encode("utf-8")


def test_console_line_of_an_ignored_file_says_why_it_was_ignored(
        period: Period, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "Thumbs.db").write_bytes(b"x")
    (inbox / "~$bao-cao.xlsx").write_bytes(b"x")
    lines = report.summary_lines(batch_of(period, inbox, [
        file_report(inbox / "Thumbs.db", inbox, [make("F009", "Thumbs.db")]),
        file_report(inbox / "~$bao-cao.xlsx", inbox, [make("F008", "~$bao-cao.xlsx")]),
    ]))
    assert "· — Thumbs.db: bỏ qua (không phải bảng tính báo cáo)" in lines
    assert "· — ~$bao-cao.xlsx: bỏ qua (tệp tạm của Excel)" in lines


def test_json_report_of_a_clean_batch_is_valid(period: Period, tmp_path: Path) -> None:
    report.write_json(batch_of(period, tmp_path, []), tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["valid"] is True
    assert data["files"] == []
    assert sum(data["counts"].values()) == 0
    assert data["counts_by_code"] == dict.fromkeys([s.value for s in FileStatus], 0)


def test_console_summary_lists_files_totals_and_mergeable(mixed: BatchReport) -> None:
    assert report.summary_lines(mixed) == [
        "✓ HU01 a/ok.xlsx: hợp lệ",
        "! HU02 warn.xlsx: hợp lệ, 1 cảnh báo",
        "✗ HU03 bad.xlsx: 2 lỗi, 1 cảnh báo",
        "✗ — junk.pdf: không đọc được (1 lỗi)",
        "↷ HU01 old.xlsx: bị thay thế bởi a/ok.xlsx (1 cảnh báo)",
        "· — ~$bad.xlsx: bỏ qua (tệp tạm của Excel)",
        "Tổng số tệp: 6",
        "  Hợp lệ: 1",
        "  Có cảnh báo: 1",
        "  Có lỗi: 1",
        "  Không đọc được: 1",
        "  Bị thay thế: 1",
        "  Bỏ qua: 1",
        "Hợp lệ để tổng hợp: 2/5",
    ]


# Marked copies of real templates ------------------------------------------------------------


@pytest.fixture
def returned(built_workspace: Workspace, catalog: Catalog, period: Period, unit: Unit,
             rows: dict[str, FormRow], tmp_path: Path) -> FileReport:
    """HU01's template, filled with openpyxl and dropped in an inbox, with findings on it."""
    src = built_workspace.templates(PERIOD) / template_name(period, unit)
    inbox = tmp_path / "inbox"
    path = inbox / "HU01" / src.name
    values = filled_values(catalog, rows)
    values["1.1.HN_SO"] = -5
    fill(src, path, rows, values)
    return file_report(path, inbox, findings_for(path, rows), format="xlsx", unit=UNIT,
                       unit_name=unit.name, period=PERIOD, identified_by="metadata",
                       values=values, cells={k: r.cell for k, r in rows.items()
                                             if r.kind in ("identity", "indicator")})


def findings_for(path: Path, rows: dict[str, FormRow]) -> list[Finding]:
    hn, luot = rows["1.1.HN_SO"].cell, rows["1.1.HN_LUOT"].cell
    return [
        make("I006", path.name, unit=UNIT, value="0", expected="1"),
        make("C003", path.name, unit=UNIT, sheet=FORM, cell=hn, task="1.1",
             indicator="HN_SO", label="Số hội nghị", value="-5", expected="không nhỏ hơn 0"),
        make("R001", path.name, unit=UNIT, sheet=FORM, cell=hn, task="1.1",
             indicator="HN_SO", value="Số lượt phải không nhỏ hơn số hội nghị", severity="error"),
        make("W104", path.name, unit=UNIT, sheet=FORM, cell=luot, task="1.1",
             indicator="HN_LUOT", label="Số lượt", value=FORMULA_TEXT),
    ]


def test_marked_copy_colours_and_comments_each_finding_cell(
    returned: FileReport, catalog: Catalog, rows: dict[str, FormRow], tmp_path: Path
) -> None:
    before = sha256(returned.path), returned.path.stat().st_mtime_ns
    batch = batch_of(catalog.period(PERIOD), returned.path.parents[1], [returned])
    out = tmp_path / "tra-lai"
    paths = markup.write_marked_copies(batch, catalog, out)
    assert paths == [out / f"{returned.path.stem}-can-sua.xlsx"]
    assert list(out.iterdir()) == paths
    assert (sha256(returned.path), returned.path.stat().st_mtime_ns) == before

    book = openpyxl.load_workbook(paths[0])
    form = book[FORM]
    hn, luot = form[rows["1.1.HN_SO"].cell], form[rows["1.1.HN_LUOT"].cell]
    c003, r001, w104 = returned.findings[1:]
    assert (hn.fill.fgColor.rgb, hn.font.color.rgb) == (RED, "FF9C0006")
    assert hn.comment.text == f"{c003.message}\n{r001.message}"
    assert hn.comment.author == "dvxl"
    assert luot.fill.fgColor.rgb == AMBER
    assert luot.comment.text == w104.message
    assert hn.value == -5  # the unit's values are all still there
    # Only cells named by findings are coloured.
    others = [form[r.cell] for k, r in rows.items() if r.kind in ("identity", "indicator")
              and k not in ("1.1.HN_SO", "1.1.HN_LUOT")]
    assert {c.fill.fgColor.rgb for c in others} == {YELLOW}
    assert not any(c.comment for c in others)


def test_marked_copy_opens_on_the_list_of_what_to_fix(
    returned: FileReport, catalog: Catalog, rows: dict[str, FormRow], tmp_path: Path
) -> None:
    batch = batch_of(catalog.period(PERIOD), returned.path.parents[1], [returned])
    path, = markup.write_marked_copies(batch, catalog, tmp_path / "out")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == markup.LIST_SHEET
    assert book.active.title == markup.LIST_SHEET
    assert [s.title for s in book if s.sheet_view.tabSelected] == [markup.LIST_SHEET]
    sheet = book[markup.LIST_SHEET]
    assert "gửi lại tệp này" in sheet["A3"].value
    listed = list_rows(book)
    assert list(listed[0]) == [c for c, _ in markup.LIST_COLUMNS]
    i006, c003, r001, w104 = returned.findings
    assert [(r["STT"], r["Ô"], r["Nhiệm vụ"], r["Hướng dẫn sửa"], r["Mức độ"]) for r in listed] == [
        (1, None, None, i006.message, "Cảnh báo"),
        (2, c003.cell, "1.1", c003.message, "Lỗi"),
        (3, r001.cell, "1.1", r001.message, "Lỗi"),
        (4, w104.cell, "1.1", w104.message, "Cảnh báo"),
    ]
    assert listed[1]["Chỉ tiêu"].startswith("HN_SO — ")
    assert listed[1]["Giá trị"] == "-5"
    link = next(c for c in sheet["B"] if c.value == c003.cell)
    assert link.hyperlink.location == f"'{FORM}'!{c003.cell}"


def test_marked_copy_keeps_the_form_protected_and_the_template_intact(
    returned: FileReport, catalog: Catalog, tmp_path: Path
) -> None:
    batch = batch_of(catalog.period(PERIOD), returned.path.parents[1], [returned])
    path, = markup.write_marked_copies(batch, catalog, tmp_path / "out")
    original, copy = openpyxl.load_workbook(returned.path), openpyxl.load_workbook(path)
    assert copy[FORM].protection.sheet is True
    assert copy.sheetnames[1:] == original.sheetnames
    assert copy[META].sheet_state == "veryHidden"
    assert copy[LISTS].sheet_state == "hidden"
    validations = len(original[FORM].data_validations.dataValidation)
    assert len(copy[FORM].data_validations.dataValidation) == validations
    meta = dict(copy[META].iter_rows(max_row=9, max_col=2, values_only=True))
    assert meta["ma_don_vi"] == UNIT


def test_marked_copy_keeps_text_starting_with_equals_as_text(
    returned: FileReport, catalog: Catalog, rows: dict[str, FormRow], tmp_path: Path
) -> None:
    batch = batch_of(catalog.period(PERIOD), returned.path.parents[1], [returned])
    path, = markup.write_marked_copies(batch, catalog, tmp_path / "out")
    book = openpyxl.load_workbook(path)
    typed = book[FORM][rows["NGUOI_LAP"].cell]
    shown = next(c for c in book[markup.LIST_SHEET]["E"] if c.value == FORMULA_TEXT)
    assert (typed.value, typed.data_type) == (FORMULA_TEXT, "s")
    assert shown.data_type == "s"
    calamine = CalamineWorkbook.from_path(str(path))
    flat = [v for r in calamine.get_sheet_by_name(markup.LIST_SHEET).to_python() for v in r]
    assert FORMULA_TEXT in flat


def test_marked_copy_of_a_copy_replaces_the_earlier_marks(
    returned: FileReport, catalog: Catalog, rows: dict[str, FormRow], tmp_path: Path
) -> None:
    """A unit sends back the marked copy with one error fixed and another made."""
    inbox = returned.path.parents[1]
    first, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), inbox, [returned]),
                                        catalog, tmp_path / "round1")
    again = inbox / "HU01" / first.name
    again.write_bytes(first.read_bytes())
    dien = rows["DIEN_THOAI"].cell
    second = file_report(again, inbox, [make("C001", again.name, unit=UNIT, sheet=FORM,
                                             cell=dien, label="Số điện thoại")],
                         format="xlsx", unit=UNIT, period=PERIOD, identified_by="metadata")
    path, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), inbox, [second]),
                                       catalog, tmp_path / "round2")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames.count(markup.LIST_SHEET) == 1
    assert len(list_rows(book)) == 1
    form = book[FORM]
    hn = form[rows["1.1.HN_SO"].cell]
    assert (hn.fill.fgColor.rgb, hn.comment) == (YELLOW, None)
    assert form[dien].fill.fgColor.rgb == RED


def with_macros(src: Path, dest: Path, project: bytes) -> None:
    """``src`` as an .xlsm carrying ``project`` as its VBA part (enough for openpyxl to keep)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                data = data.replace(b"</Types>", b'<Default Extension="bin" ContentType='
                                    b'"application/vnd.ms-office.vbaProject"/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://'
                                    b'schemas.microsoft.com/office/2006/relationships/vbaProject" '
                                    b'Target="vbaProject.bin"/></Relationships>')
            zout.writestr(item, data)
        zout.writestr("xl/vbaProject.bin", project)


def test_marked_copy_of_xlsm_keeps_its_macros(
    returned: FileReport, catalog: Catalog, tmp_path: Path
) -> None:
    project = b"VBA project bytes \x00\x01\x02" * 50
    path = returned.path.with_suffix(".xlsm")
    with_macros(returned.path, path, project)
    xlsm = file_report(path, returned.path.parents[1], returned.findings, format="xlsm",
                       unit=UNIT, period=PERIOD, identified_by="metadata")
    out, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), path.parents[1], [xlsm]),
                                      catalog, tmp_path / "out")
    assert out.name == f"{path.stem}-can-sua.xlsm"
    with zipfile.ZipFile(out) as z:
        assert z.read("xl/vbaProject.bin") == project
        assert b"macroEnabled" in z.read("[Content_Types].xml")
    assert openpyxl.load_workbook(out).sheetnames[0] == markup.LIST_SHEET


# Rebuilt copies -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converted(built_workspace: Workspace, catalog: Catalog, unit: Unit,
              rows: dict[str, FormRow],
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """HU01's filled template saved by real LibreOffice as .ods and .xls (one soffice run)."""
    client = require_libreoffice()
    folder = tmp_path_factory.mktemp("converted")
    src = built_workspace.templates(PERIOD) / template_name(catalog.period(PERIOD), unit)
    filled = folder / "filled.xlsx"
    fill(src, filled, rows, filled_values(catalog, rows))
    outputs = {fmt: folder / "inbox" / f"{PERIOD}_{UNIT}_bao-cao.{fmt}" for fmt in ("ods", "xls")}
    for p in outputs.values():
        p.parent.mkdir(exist_ok=True)
    job = FillJob(filled, [], [Output(outputs["ods"], "ods"), Output(outputs["xls"], "xls")])
    result, = fill_and_save([job], client=client)
    assert result.ok, result.errors
    return outputs


def read_values(path: Path, rows: dict[str, FormRow]) -> dict[str, Any]:
    """The input values as calamine reads them (what dvxl.checks would parse)."""
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(FORM).to_python()
    values: dict[str, Any] = {}
    for key, row in rows.items():
        if row.kind in ("identity", "indicator"):
            value = sheet[row.row][COL_VALUE]
            values[key] = None if value == "" else value
    return values


@pytest.mark.parametrize("fmt", ["ods", "xls"])
def test_rebuilt_copy_carries_the_units_values_and_marks(
    fmt: str, converted: dict[str, Path], catalog: Catalog, unit: Unit,
    rows: dict[str, FormRow], tmp_path: Path
) -> None:
    source = converted[fmt]
    before = sha256(source)
    values = read_values(source, rows)
    findings = findings_for(source, rows)
    ret = file_report(source, source.parent, findings, format=fmt, unit=UNIT,
                      unit_name=unit.name, period=PERIOD, identified_by="metadata", values=values,
                      cells={k: r.cell for k, r in rows.items() if k in values})
    path, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), source.parent, [ret]),
                                       catalog, tmp_path / "out")
    assert path.name == f"{source.stem}-can-sua.xlsx"
    assert sha256(source) == before
    book = openpyxl.load_workbook(path)
    form = book[FORM]
    expected = filled_values(catalog, rows)
    for key, value in expected.items():
        cell = form[rows[key].cell]
        got = cell.value.date() if isinstance(cell.value, dt.datetime) else cell.value
        assert got == value, key
        assert type(got) is type(value), key
    assert form[rows["NGUOI_LAP"].cell].data_type == "s"
    hn = form[rows["1.1.HN_SO"].cell]
    assert (hn.fill.fgColor.rgb, hn.comment.text) == (RED, f"{findings[1].message}\n"
                                                           f"{findings[2].message}")
    assert form[rows["1.1.HN_LUOT"].cell].fill.fgColor.rgb == AMBER
    assert form.protection.sheet is True
    assert book.sheetnames[0] == markup.LIST_SHEET
    notes = " ".join(str(c.value) for c in book[markup.LIST_SHEET]["A"][:6])
    assert "dựng lại từ mẫu" in notes and source.name in notes
    assert len(list_rows(book)) == len(findings)


def test_rebuilt_copy_follows_moved_rows_and_shows_rejected_text(
    catalog: Catalog, rows: dict[str, FormRow], tmp_path: Path
) -> None:
    """A unit inserted a row above the tasks: its cells sit one row lower than the template's."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = inbox / "HU01.xls"
    source.write_bytes(b"an .xls dvxl read with calamine")
    hn = rows["1.1.HN_SO"]
    shifted = {k: f"E{r.row + 2}" if r.kind == "indicator" else r.cell
               for k, r in rows.items() if r.kind in ("identity", "indicator")}
    finding = make("C002", source.name, unit=UNIT, sheet=FORM, cell=shifted[hn.key],
                   task="1.1", indicator="HN_SO", label="Số hội nghị", value="mười hai",
                   expected="một số")
    ret = file_report(source, inbox, [finding], format="xls", unit=UNIT, period=PERIOD,
                      identified_by="metadata", values={hn.key: None, "1.1.HN_LUOT": 30.0},
                      cells=shifted)
    path, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), inbox, [ret]),
                                       catalog, tmp_path / "out")
    form = openpyxl.load_workbook(path)[FORM]
    cell = form[hn.cell]
    assert (cell.value, cell.data_type, cell.fill.fgColor.rgb) == ("mười hai", "s", RED)
    assert f"ô {hn.cell}" in cell.comment.text
    assert form[rows["1.1.HN_LUOT"].cell].value == 30
    assert form[shifted[hn.key]].comment is None


def test_xlsx_openpyxl_cannot_open_is_rebuilt(
    catalog: Catalog, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = inbox / "HU01.xlsx"
    source.write_bytes(b"PK\x03\x04 not really a zip")
    ret = file_report(source, inbox, [make("I006", source.name, unit=UNIT, value="0",
                                           expected="1"),
                                      make("S001", source.name, unit=UNIT, expected="Báo cáo")],
                      format="xlsx", unit=UNIT, period=PERIOD)
    path, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), inbox, [ret]),
                                       catalog, tmp_path / "out")
    book = openpyxl.load_workbook(path)
    assert FORM in book.sheetnames
    assert "mẫu trống" in " ".join(str(c.value) for c in book[markup.LIST_SHEET]["A"][:6])


# Files without a unit, names, files without errors ------------------------------------------


@pytest.mark.parametrize("fmt,code", [("", "F003"), ("xlsx", "I002")],
                         ids=["unreadable", "unidentified"])
def test_file_without_a_unit_gets_only_the_list(
    fmt: str, code: str, catalog: Catalog, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = inbox / "bao cao.xlsx"
    source.write_bytes(b"garbage")
    finding = make(code, source.name, value="Bad zip")
    ret = file_report(source, inbox, [finding], format=fmt)
    path, = markup.write_marked_copies(batch_of(catalog.period(PERIOD), inbox, [ret]),
                                       catalog, tmp_path / "out")
    assert path.name == "bao cao-can-sua.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [markup.LIST_SHEET]
    assert [(r["STT"], r["Hướng dẫn sửa"], r["Mức độ"]) for r in list_rows(book)] == [
        (1, finding.message, "Lỗi")]
    assert source.read_bytes() == b"garbage"


def test_copies_get_unique_names(catalog: Catalog, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    reports = []
    for rel, unit_code in (("HU01/bao-cao.xlsx", "HU01"), ("HU02/bao-cao.ods", "HU02"),
                           ("x/bao-cao.xlsx", ""), ("y/bao-cao.xlsx", "")):
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"?")
        reports.append(file_report(path, inbox, [make("F003", path.name, value="?")],
                                   unit=unit_code))
    paths = markup.write_marked_copies(batch_of(catalog.period(PERIOD), inbox, reports),
                                       catalog, tmp_path / "out")
    assert [p.name for p in paths] == [
        "bao-cao-HU01-can-sua.xlsx", "bao-cao-HU02-can-sua.xlsx", "bao-cao-can-sua.xlsx",
        "bao-cao-2-can-sua.xlsx",
    ]


def test_only_files_with_errors_get_a_copy(mixed: BatchReport, catalog: Catalog,
                                           tmp_path: Path) -> None:
    paths = markup.write_marked_copies(mixed, catalog, tmp_path / "out")
    # bad.xlsx (HU03, not openable: rebuilt) and junk.pdf (unreadable): the errors only.
    assert [p.name for p in paths] == ["bad-can-sua.xlsx", "junk-can-sua.xlsx"]
    clean = batch_of(mixed.period, mixed.inbox, [f for f in mixed.files if not f.errors])
    assert markup.write_marked_copies(clean, catalog, tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("address", ["A1", "$B$7", "aa12", "XFD1048576", "C$3"])
def test_cell_addresses_are_read_as_openpyxl_reads_them(address: str) -> None:
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    letters, row = markup._coordinate(address)
    assert (letters, row) == coordinate_from_string(address)
    assert markxml.column_number(letters.upper()) == column_index_from_string(letters.upper())


@pytest.mark.parametrize("address", ["A0", "A", "1A", "AAAA1", "A1:B2", ""])
def test_a_cell_address_that_is_not_one_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError):
        markup._coordinate(address)
