"""The Excel buttons (dvxl.excel) driven through the xlwings stand-in, on a realistic workspace.

The open workbook is the master ``dvxl init`` wrote, loaded into the stand-in
the way Excel would show it; the inbox holds the sample's simulated returns.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dvxl import (
    cli,
    codesheet,
    excel,
    master,
    periods,
    render,
    sample,
    uploadcodes,
    vba,
    workspace,
)
from dvxl.catalog import build

import xlwings_standin as xs

PERIOD = "2026-6T"


@pytest.fixture(scope="module")
def returned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with this period's templates and the sample's returns in inbox/."""
    ws = workspace.init(tmp_path_factory.mktemp("returned") / "ws")
    workspace.make_templates(ws, PERIOD)
    catalog = ws.load()
    period = periods.find(catalog, PERIOD)
    sample.simulate_returns(catalog, period, ws.templates(PERIOD), ws.inbox)
    return ws.root


@pytest.fixture
def ws(returned: Path, tmp_path: Path) -> workspace.Workspace:
    """A copy of the returned workspace this test may change."""
    root = tmp_path / "ws"
    shutil.copytree(returned, root)
    return workspace.Workspace(root)


def open_master(ws: workspace.Workspace, period: str | None = PERIOD, inbox: str = "") -> Any:
    """The master as Excel shows it, with the cover's period and inbox cells filled in."""
    book = xs.load_book(ws.master, xs.App())
    for name, cell in ((excel.PERIOD_NAME, "$D$1"), (excel.INBOX_NAME, "$D$2")):
        if name not in book.names:  # masters written before the cells existed
            book.names.add(name, f"='{master.COVER}'!{cell}")
    choose(book, period, inbox)
    return book


def choose(book: Any, period: str | None, inbox: str = "") -> None:
    book.names[excel.PERIOD_NAME].refers_to_range.value = period
    book.names[excel.INBOX_NAME].refers_to_range.value = inbox or None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kept_sheets(book: Any) -> dict[str, Any]:
    """Every sheet that is not a result sheet, as the stand-in holds it."""
    results = {id(s) for s in excel.result_sheets(book).values()}
    return {s.name: s.snapshot() for s in book.sheets if id(s) not in results}


def last_alert(book: Any) -> xs.Alert:
    assert book.app.alerts, "no message box was shown"
    return book.app.alerts[-1]


def rendered_names(path: Path) -> list[str]:
    return [s.name for s in xs.load_book(path).sheets]


# Tổng hợp ---------------------------------------------------------------------------------------


def test_tong_hop_copies_every_rendered_sheet_in_order_and_marks_it(
    ws: workspace.Workspace,
) -> None:
    book = open_master(ws)
    before = [s.name for s in book.sheets]
    excel.tong_hop(book)

    rendered = ws.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx"
    names = [s.name for s in book.sheets]
    assert names[: len(before)] == before  # the master's own sheets first, unmoved
    assert names[len(before) :] == rendered_names(rendered)
    assert list(excel.result_sheets(book)) == rendered_names(rendered)
    alert = last_alert(book)
    assert alert.mode == "info" and alert.title == "dvxl — Tổng hợp"
    assert f"Kỳ {PERIOD}" in alert.prompt and "Sổ chưa được lưu" in alert.prompt
    assert book.active_sheet is book.sheets[render.SUMMARY_SHEET]
    assert book.app.status_bar is False  # given back to Excel
    assert any(str(s).startswith("dvxl: đang kiểm tra 1/") for s in book.app.status_history)
    assert list(book.app.books) == [book]  # the rendered workbook was closed again


def test_tong_hop_gives_the_same_sheets_as_dvxl_merge(ws: workspace.Workspace) -> None:
    # dvxl merge first; the button then re-runs the same inbox, which the ledger already
    # holds, so both render the same period at the same "generated" time.
    assert cli.main(["merge", "-w", str(ws.root), "-p", PERIOD]) == 0
    merged = ws.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx"
    expected = xs.load_book(merged)

    book = open_master(ws)
    excel.tong_hop(book)

    results = excel.result_sheets(book)
    assert list(results) == [s.name for s in expected.sheets]
    for sheet in expected.sheets:
        got = results[sheet.name]
        assert got.name == sheet.name
        assert got.values == sheet.values, sheet.name


def test_formulas_stay_but_none_links_to_the_rendered_file(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    excel.tong_hop(book)
    rendered = xs.load_book(ws.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx")
    cross = [(s.name, cell) for s in rendered.sheets for cell, f in s.formulas.items() if "!" in f]
    assert cross, "the rendered workbook has cross-sheet formulas to test against"

    results = excel.result_sheets(book)
    for sheet in results.values():
        assert not [f for f in sheet.formulas.values() if "[" in f], sheet.name
    for name, cell in cross:  # those cells now hold the value the file stored
        assert cell not in results[name].formulas
        assert results[name].values.get(cell) == rendered.sheets[name].values.get(cell)
    sums = [f for s in results.values() for f in s.formulas.values() if f.startswith("=SUM(")]
    assert sums  # formulas within a sheet are kept


def test_configuration_and_assessment_sheets_are_left_alone(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    kept = kept_sheets(book)
    file_before = digest(ws.master)
    excel.tong_hop(book)
    excel.tong_hop(book)
    assert kept_sheets(book) == kept
    assert digest(ws.master) == file_before  # never saved, never written
    assert last_alert(book).mode == "info"  # the stand-in has no save(): a call would fail


def test_a_second_run_replaces_the_result_sheets(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    excel.tong_hop(book)
    first = excel.result_sheets(book)
    names = [s.name for s in book.sheets]
    excel.tong_hop(book)
    second = excel.result_sheets(book)
    assert [s.name for s in book.sheets] == names  # no "(2)", nothing added twice
    assert list(second) == list(first)
    assert all(sheet.deleted for sheet in first.values())
    assert not any(sheet.deleted for sheet in second.values())


def test_tong_hop_lists_the_periods_upload_codes_after_the_results(
    ws: workspace.Workspace,
) -> None:
    assert cli.main(["codes", "-p", PERIOD, "-w", str(ws.root)]) == 0
    book = open_master(ws)
    excel.tong_hop(book)

    results = excel.result_sheets(book)
    rendered = rendered_names(ws.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx")
    assert list(results) == [*rendered, codesheet.SHEET]
    assert book.sheets[-1] is results[codesheet.SHEET]
    listed = xs.load_book(codesheet.path(ws.root, PERIOD)).sheets[codesheet.SHEET]
    assert results[codesheet.SHEET].values == listed.values
    kept = uploadcodes.load(ws.root)[PERIOD]
    cells = {str(v) for v in results[codesheet.SHEET].values.values()}
    assert {uploadcodes.shown(c) for c in kept.units.values()} <= cells
    assert book.active_sheet is book.sheets[render.SUMMARY_SHEET]  # still in front
    assert f"trang «{codesheet.SHEET}»" in last_alert(book).prompt

    names = [s.name for s in book.sheets]
    excel.tong_hop(book)  # replaced, not added twice
    assert [s.name for s in book.sheets] == names
    excel.don_doc(book)  # the tracking's refresh leaves it
    assert [s.name for s in book.sheets] == names


def test_new_codes_replace_the_list_in_the_master_and_no_codes_remove_it(
    ws: workspace.Workspace,
) -> None:
    assert cli.main(["codes", "-p", PERIOD, "-w", str(ws.root)]) == 0
    book = open_master(ws)
    excel.tong_hop(book)
    assert cli.main(["codes", "-p", PERIOD, "--new", "-w", str(ws.root)]) == 0
    excel.tong_hop(book)
    sheet = excel.result_sheets(book)[codesheet.SHEET]
    cells = {str(v) for v in sheet.values.values()}
    renewed = uploadcodes.load(ws.root)[PERIOD]
    assert uploadcodes.shown(renewed.secretariat) in " ".join(cells)
    assert {uploadcodes.shown(c) for c in renewed.units.values()} <= cells

    uploadcodes.path(ws.root).unlink()  # a period without codes
    excel.tong_hop(book)
    assert codesheet.SHEET not in excel.result_sheets(book)
    assert codesheet.SHEET not in [s.name for s in book.sheets]
    assert "Mã nộp" not in last_alert(book).prompt


def test_the_open_books_unsaved_edits_are_what_counts(ws: workspace.Workspace) -> None:
    catalog = ws.load()
    book = open_master(ws)
    excel.tong_hop(book)
    # After a first run the secretariat renames a unit that sent a valid return and
    # assesses one of its tasks, in Excel, without saving; then presses the button again.
    tracking = excel.result_sheets(book)[render.TRACKING_SHEET].used_range.value
    on_time = {row[1] for row in tracking if "Đúng hạn" in row}
    unit = next(u for u in catalog.addressed_units() if u.code in on_time)
    task = catalog.tasks_for(unit)[0]
    units = book.sheets["Đơn vị"]
    row = next(r for (r, c), v in units.values.items() if c == 1 and v == unit.code)
    units.range((row, 2)).value = "Đơn vị đổi tên chưa lưu"
    assessed = book.sheets[master.ASSESSMENT]
    first_free = master.HEADER_ROW + 2
    assessed.range((first_free, 1)).value = [[PERIOD, unit.code, task.code, 1, "Chưa lưu"]]
    excel.tong_hop(book)

    sheet = excel.result_sheets(book)[unit.code]
    assert sheet.range("A1").value == "ĐƠN VỊ ĐỔI TÊN CHƯA LƯU"
    rows = sheet.used_range.options(ndim=2).value
    header = next(r for r in rows if "Điểm thẩm định" in r)
    line = next(r for r in rows if str(r[0]).startswith(f"{task.code}. "))
    assert line[header.index("Điểm thẩm định")] == 1
    assert master.read_assessments(ws.master) == ([], [])  # the file never had it


def test_a_sheet_of_the_secretariat_with_a_result_name_is_kept(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    own = book.sheets.add(render.SUMMARY_SHEET, after=book.sheets[-1])
    own.range("A1").value = "ghi chép của văn phòng"
    snapshot = own.snapshot()
    excel.tong_hop(book)
    excel.tong_hop(book)
    assert own.snapshot() == snapshot and not own.deleted
    results = excel.result_sheets(book)
    assert results[render.SUMMARY_SHEET].name == f"{render.SUMMARY_SHEET} (KQ)"
    assert [s.name for s in book.sheets].count(f"{render.SUMMARY_SHEET} (KQ)") == 1


def test_a_marked_configuration_sheet_is_still_never_deleted(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    units = book.sheets["Đơn vị"]
    units.names.add(excel.MARK, f'="{render.TRACKING_SHEET}"')  # e.g. pasted by mistake
    excel.tong_hop(book)
    excel.tong_hop(book)
    assert not units.deleted and "Đơn vị" in book.sheets
    assert not [s.name for s in book.sheets if s.name.endswith(")")]  # nothing doubled


def test_the_period_cell_chooses_the_period(ws: workspace.Workspace) -> None:
    book = open_master(ws, period="2026-N")
    excel.tong_hop(book)
    assert (ws.outputs("2026-N") / "tong-hop-2026-N.xlsx").is_file()
    assert "Kỳ 2026-N" in last_alert(book).prompt


def test_an_inbox_relative_to_the_workbook_and_pasted_with_quotes(
    ws: workspace.Workspace,
) -> None:
    other = ws.root / "nhan ve"
    shutil.move(ws.inbox, other)
    book = open_master(ws, inbox='"nhan ve"')
    choice = excel.read_choice(book)
    assert choice.inbox == other and choice.period == PERIOD
    excel.tong_hop(book)
    assert last_alert(book).mode == "info"


# Failures ---------------------------------------------------------------------------------------


def test_a_missing_inbox_is_a_vietnamese_message_not_a_traceback(
    ws: workspace.Workspace,
) -> None:
    book = open_master(ws, inbox="khong-co")
    before = [s.name for s in book.sheets]
    excel.tong_hop(book)  # returns: exit code 0, no second box from xlwings
    alert = last_alert(book)
    assert alert.mode == "critical"
    assert "Không có thư mục nhận báo cáo" in alert.prompt and "khong-co" in alert.prompt
    assert "Traceback" not in alert.prompt
    assert [s.name for s in book.sheets] == before


def test_a_configuration_error_in_the_open_book_is_listed(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    book.sheets["Nhóm"].delete()  # in Excel, not saved: the file still has the sheet
    excel.tong_hop(book)
    alert = last_alert(book)
    assert alert.mode == "critical" and "thiếu trang tính «Nhóm»" in alert.prompt
    assert not excel.result_sheets(book)


def test_an_unknown_period_is_a_vietnamese_message(ws: workspace.Workspace) -> None:
    book = open_master(ws, period="2099-X")
    excel.tong_hop(book)
    assert last_alert(book).mode == "critical" and "2099-X" in last_alert(book).prompt


def test_a_locked_file_says_to_close_it(
    ws: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", "tong-hop-2026-6T.xlsx")

    monkeypatch.setattr(workspace, "merge", locked)
    book = open_master(ws)
    excel.tong_hop(book)
    prompt = last_alert(book).prompt
    assert "tong-hop-2026-6T.xlsx" in prompt and "Đóng tệp đó rồi bấm lại" in prompt


def test_an_unexpected_error_is_logged_and_shown_in_vietnamese(
    ws: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(workspace, "merge", broken)
    book = open_master(ws)
    excel.tong_hop(book)
    alert = last_alert(book)
    log = ws.root / "outputs" / excel.LOG_NAME
    assert alert.mode == "critical" and alert.prompt.startswith("Lỗi ngoài dự kiến")
    assert str(log) in alert.prompt and "boom" not in alert.prompt
    assert "RuntimeError: boom" in log.read_text(encoding="utf-8")


def test_without_a_calling_workbook_the_process_exits_1_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        excel.tong_hop()  # no Excel here: Book.caller() fails
    assert exit_info.value.code == 1
    assert "không kết nối được với sổ Excel" in capsys.readouterr().err


def test_when_no_box_can_be_shown_the_message_goes_to_stderr(
    ws: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    class Gone(xs.App):
        def alert(self, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError("Excel closed")

    book = open_master(ws)
    book.app.__class__ = Gone
    with pytest.raises(SystemExit) as exit_info:
        excel.tong_hop(book)
    assert exit_info.value.code == 1
    assert "dvxl — Tổng hợp" in capsys.readouterr().err


def test_an_unsaved_workbook_is_asked_to_be_saved_first() -> None:
    book = xs.Book(xs.App(), "Book1")
    excel.kiem_tra(book)
    assert "Sổ chưa được lưu" in last_alert(book).prompt


# The other buttons ------------------------------------------------------------------------------


def test_kiem_tra_opens_the_validation_workbook_and_changes_nothing(
    ws: workspace.Workspace,
) -> None:
    book = open_master(ws)
    before = {s.name: s.snapshot() for s in book.sheets}
    excel.kiem_tra(book)
    assert {s.name: s.snapshot() for s in book.sheets} == before
    checked = ws.outputs(PERIOD) / f"kiem-tra-{PERIOD}.xlsx"
    assert [b.fullname for b in book.app.books] == [str(ws.master), str(checked)]
    alert = last_alert(book)
    assert alert.mode == "info" and "Hợp lệ để tổng hợp" in alert.prompt
    assert not (ws.root / "ledger.sqlite").exists()  # validation takes nothing in


def test_tao_mau_writes_the_templates_of_the_chosen_period(ws: workspace.Workspace) -> None:
    book = open_master(ws, period="2026-6TC")
    excel.tao_mau(book)
    made = sorted(ws.templates("2026-6TC").glob("*.xlsx"))
    assert made
    assert f"Đã tạo {len(made)} mẫu báo cáo" in last_alert(book).prompt


def test_tao_mau_without_a_period_asks_for_one(ws: workspace.Workspace) -> None:
    # Templates go out for a period the office chooses; today's date never picks it.
    made = sorted((ws.root / "templates").rglob("*"))
    book = open_master(ws, period=None)
    excel.tao_mau(book)
    alert = last_alert(book)
    assert alert.mode == "critical" and "Hãy chọn «Kỳ báo cáo»" in alert.prompt
    assert sorted((ws.root / "templates").rglob("*")) == made


def test_don_doc_replaces_only_the_tracking_and_reminder_sheets(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    excel.tong_hop(book)
    first = excel.result_sheets(book)
    order = [s.name for s in book.sheets]
    excel.don_doc(book)
    second = excel.result_sheets(book)
    refreshed = {render.TRACKING_SHEET, render.REMINDER_SHEET}
    assert [s.name for s in book.sheets] == order  # in the same places
    for name, sheet in second.items():
        assert (sheet is first[name]) == (name not in refreshed), name
    tracked = xs.load_book(ws.outputs(PERIOD) / f"theo-doi-{PERIOD}.xlsx")
    for name in refreshed:
        assert second[name].values == tracked.sheets[name].values
    assert "cần nhắc" in last_alert(book).prompt
    assert book.active_sheet is second[render.REMINDER_SHEET]


def test_bao_cao_writes_the_period_report_from_the_ledger(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    excel.tong_hop(book)
    before = kept_sheets(book)
    excel.bao_cao(book)
    written = ws.outputs(PERIOD) / f"bao-cao-{PERIOD}.docx"
    from docx import Document

    text = "\n".join(p.text for p in Document(str(written)).paragraphs)
    assert "BÁO CÁO" in text and "II- KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ" in text
    assert f"Đã viết báo cáo: {written}" in last_alert(book).prompt
    assert kept_sheets(book) == before  # the book itself is not touched


# Reading the open workbook ----------------------------------------------------------------------


def test_book_rows_give_the_readers_what_the_file_gives(ws: workspace.Workspace) -> None:
    book = open_master(ws)
    rows = excel.book_rows(book)
    assert set(rows) == {t.sheet for t in master.TABLES} | {master.ASSESSMENT,
                                                           master.RECEIPT_TIME, master.REVIEW}
    assert build(master.tables_from_rows(rows)) == master.read_master(ws.master)
    catalog = master.read_master(ws.master)
    assert master.assessments_from_rows(rows, catalog) == master.read_assessments(
        ws.master, catalog
    )
    assert master.receipt_times_from_rows(rows, catalog) == master.read_receipt_times(
        ws.master, catalog
    )
    assert master.reviews_from_rows(rows, catalog) == master.read_reviews(ws.master, catalog)


def test_importing_the_adapter_does_not_import_xlwings() -> None:
    code = "import sys, dvxl.excel; print('xlwings' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# dvxl excel setup -------------------------------------------------------------------------------


def test_setup_writes_the_interpreter_beside_the_workbook_and_for_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "on_windows", lambda: True)  # what it writes on Windows
    home = tmp_path / "home"
    monkeypatch.setenv("USERPROFILE", str(home))
    for variable in excel._ENV_PREFIXES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("USERPROFILE", str(home))
    folder = tmp_path / "ws"
    folder.mkdir()
    user_conf = home / ".xlwings" / "xlwings.conf"
    user_conf.parent.mkdir(parents=True)
    user_conf.write_text('"LICENSE_KEY","giu nguyen"\r\n"Interpreter_Win","cu.exe"\r\n')

    lines = excel.setup(folder, user=True)
    lines = excel.setup(folder, user=True)  # twice: nothing doubled

    beside = (folder / "xlwings.conf").read_text()
    assert beside.splitlines() == [
        f'"Interpreter_Win","{sys.executable}"',
        f'"PYTHONPATH","{Path(excel.__file__).resolve().parent.parent}"',
        '"ADD_WORKBOOK_TO_PYTHONPATH","False"',
    ]
    assert user_conf.read_text().splitlines()[0] == '"LICENSE_KEY","giu nguyen"'
    assert user_conf.read_text().count("Interpreter_Win") == 1
    text = "\n".join(lines)
    assert vba.XLWINGS_VERSION in text and "Unblock" in text and "Trusted Locations" in text


def test_setup_names_the_users_folders_by_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = Path(sys.executable).resolve().parent.parent
    monkeypatch.setenv("LOCALAPPDATA", str(local))
    assert excel._env_path(str(local / "bin" / "python")) == os.path.join(
        "%LOCALAPPDATA%", "bin", "python"
    )


def test_setup_refuses_a_missing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "on_windows", lambda: True)
    with pytest.raises(excel.UsageError):
        excel.setup(tmp_path / "khong-co")


def test_setup_off_windows_says_the_button_needs_excel_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dvxl.cli import main

    monkeypatch.setattr(excel, "on_windows", lambda: False)  # Linux, macOS
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    folder = tmp_path / "ws"
    folder.mkdir()
    assert main(["excel", "setup", "-w", str(folder), "--user"]) == 2  # used wrongly
    err = capsys.readouterr().err
    assert "cần Excel trên Windows" in err and "Traceback" not in err
    assert list(folder.iterdir()) == [] and not (tmp_path / "home").exists()
