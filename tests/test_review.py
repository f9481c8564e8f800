"""The secretariat's review (issue 16): accept, return with a reason, reopen.

Real template returns (:mod:`dvxl.sample`) merged into a real SQLite ledger; decisions made
from the command line and from the master's «Duyệt báo cáo» sheet (typed with openpyxl, as
Excel would save it).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvxl import form, intake, master, merge, review, sample, workspace
from dvxl.cli import main
from dvxl.intake import Decision, Receipt
from dvxl.statuses import FileStatus, ReviewState, TrackStatus

PERIOD = "2026-6T"


def plant(ws: workspace.Workspace, code: str, name: str, sent: dt.datetime,
          change: dict[str, Any] | None = None) -> Path:
    """A real return of ``code`` from its template, sent at ``sent``."""
    catalog = ws.load()
    period = catalog.period(PERIOD)
    unit = catalog.unit(code)
    values = sample.good_values(catalog, unit, period, random.Random(code)) | (change or {})
    path = ws.inbox / name
    source = ws.templates(PERIOD) / form.template_name(period, unit)
    sample.write_return(source, path, values, catalog, unit)
    sample.date_sent(path, sent)
    return path


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    """HU01 and HU02 sent valid returns before the deadline; merged once."""
    ws = workspace.init(tmp_path / "ws")
    workspace.make_templates(ws, PERIOD)
    deadline = ws.load().period(PERIOD).deadline
    day = dt.datetime.combine(deadline, dt.time(9)) - dt.timedelta(days=2)
    plant(ws, "HU01", "HU01.xlsx", day)
    plant(ws, "HU02", "HU02.xlsx", day)
    workspace.merge(ws, period=PERIOD)
    return ws


def track(ws: workspace.Workspace, unit: str) -> merge.Track:
    return next(t for t in workspace.status(ws, PERIOD).tracking if t.unit.code == unit)


def cli(ws: workspace.Workspace, *args: str) -> int:
    return main(["review", *args, "-w", str(ws.root), "-p", PERIOD])


def type_review(ws: workspace.Workspace, unit: str, state: str, reason: str = "",
                by: str = "") -> None:
    """Choose a state in the master's review sheet, as the secretariat does in Excel."""
    book = openpyxl.load_workbook(ws.master, keep_vba=True)
    sheet = book[master.REVIEW]
    row = next(r for r in range(4, sheet.max_row + 1)
               if sheet.cell(r, 1).value == PERIOD and sheet.cell(r, 2).value == unit)
    for col, value in ((4, state), (5, reason), (6, by)):
        sheet.cell(row, col).value = value or None
    book.save(ws.master)


def test_a_valid_return_waits_for_review_until_decided(ws: workspace.Workspace) -> None:
    first = track(ws, "HU01")
    assert first.status is TrackStatus.ON_TIME
    assert first.review is not None and first.review.state is ReviewState.WAITING
    assert first.review_label == "Chờ duyệt" and first.review.who_when == ""
    assert track(ws, "HU03").review is None  # nothing received: nothing to review


def test_cli_accept_return_reopen_keep_the_whole_history(
    ws: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(ws, "HU01", "--accept", "--by", "Nguyễn Văn A") == 0
    assert "Đã duyệt (Nguyễn Văn A, " in capsys.readouterr().out
    assert track(ws, "HU01").review.state is ReviewState.ACCEPTED  # type: ignore[union-attr]
    assert cli(ws, "hu01", "--return", "Thiếu số liệu mục 2", "--by", "Trần B") == 0
    out = capsys.readouterr().out
    assert "Trả lại" in out and "Không hợp lệ — Văn phòng trả lại: Thiếu số liệu mục 2" in out
    returned = track(ws, "HU01")
    assert returned.status is TrackStatus.INVALID and returned.needs_reminder
    assert returned.note == "Văn phòng trả lại: Thiếu số liệu mục 2"
    assert cli(ws, "HU01", "--reopen", "--by", "Trần B") == 0
    reopened = track(ws, "HU01")
    assert reopened.status is TrackStatus.ON_TIME
    assert reopened.review is not None and reopened.review.state is ReviewState.WAITING
    capsys.readouterr()
    assert cli(ws, "HU01") == 0  # no action: the history
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "HU01 — Huyện ủy An Lạc: Chờ duyệt; tệp «HU01.xlsx»"
    assert [line[18:] for line in lines[2:]] == [
        "Đã duyệt — Nguyễn Văn A, lệnh dvxl review; tệp «HU01.xlsx»",
        "Trả lại: Thiếu số liệu mục 2 — Trần B, lệnh dvxl review; tệp «HU01.xlsx»",
        "Chờ duyệt — Trần B, lệnh dvxl review; tệp «HU01.xlsx»"]
    with sqlite3.connect(ws.root / intake.LEDGER_NAME) as db:
        rows = db.execute("SELECT unit, state, reason, decided_by, source FROM reviews "
                          "ORDER BY id").fetchall()
    assert rows == [("HU01", "accepted", "", "Nguyễn Văn A", "cli"),
                    ("HU01", "returned", "Thiếu số liệu mục 2", "Trần B", "cli"),
                    ("HU01", "waiting", "", "Trần B", "cli")]


@pytest.mark.parametrize(("args", "message"), [
    (("HU01", "--accept", "--reopen"), "Chọn đúng một trong"),
    (("HU01", "--return", "  "), "cần ghi lý do"),
    (("XX99", "--accept"), "Không có đơn vị mã «XX99»"),
    (("HU03", "--accept"), "chưa có báo cáo hợp lệ"),
], ids=["two-actions", "empty-reason", "unknown-unit", "nothing-received"])
def test_cli_refuses_bad_requests_in_vietnamese(
    ws: workspace.Workspace, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
    message: str
) -> None:
    assert cli(ws, *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_returned_return_is_chased_with_its_reason_and_marked_up(
    ws: workspace.Workspace
) -> None:
    assert cli(ws, "HU02", "--return", "Số liệu mục 1.1 chưa khớp báo cáo quý") == 0
    result = workspace.merge(ws, period=PERIOD)
    c = result.consolidated
    assert "HU02" not in c.submissions  # not valid: left out of the figures
    huyen = next(g for g in c.groups if g.group == "HUYEN")
    assert (huyen.valid, huyen.invalid) == (1, 1)
    sheets = read_sheets(result.workbook)
    chase = [row for row in sheets["Đôn đốc"] if "HU02" in " ".join(map(str, row))
             or any("Số liệu mục 1.1" in str(v) for v in row)]
    assert len(chase) == 1
    assert ("Văn phòng trả lại báo cáo «HU02.xlsx» gửi ngày" in chase[0][4]
            and "lý do: Số liệu mục 1.1 chưa khớp báo cáo quý" in chase[0][4])
    tracking = next(row for row in sheets["Theo dõi"] if "HU02" in row)
    assert tracking[4] == "Không hợp lệ" and str(tracking[10]).startswith("Trả lại\n")
    assert tracking[11] == "Văn phòng trả lại: Số liệu mục 1.1 chưa khớp báo cáo quý"
    marked = [p for p in result.validation.marked if p.name.startswith("HU02")]
    assert len(marked) == 1
    copy = CalamineWorkbook.from_path(str(marked[0]))
    first = copy.sheet_names[0]
    text = " ".join(str(v) for row in copy.get_sheet_by_name(first).to_python() for v in row)
    assert "Văn phòng trả lại báo cáo này, lý do: Số liệu mục 1.1 chưa khớp báo cáo quý" in text


def test_a_new_file_from_a_returned_unit_resets_it_to_waiting(ws: workspace.Workspace) -> None:
    assert cli(ws, "HU02", "--return", "Thiếu chữ ký") == 0
    later = dt.datetime.now() - dt.timedelta(minutes=5)
    plant(ws, "HU02", "HU02 sua.xlsx", later, {"1.1.HN_SO": 7})
    c = workspace.merge(ws, period=PERIOD).consolidated
    after = next(t for t in c.tracking if t.unit.code == "HU02")
    assert after.review is not None and after.review.state is ReviewState.WAITING
    assert after.last_name == "HU02 sua.xlsx" and after.status is not TrackStatus.INVALID
    assert c.submissions["HU02"].name == "HU02 sua.xlsx"


def test_an_accepted_return_is_locked_until_reopened(ws: workspace.Workspace) -> None:
    assert cli(ws, "HU01", "--accept") == 0
    plant(ws, "HU01", "HU01 lan 2.xlsx", dt.datetime.now() - dt.timedelta(minutes=5),
          {"1.1.HN_SO": 99})
    result = workspace.merge(ws, period=PERIOD)
    c = result.consolidated
    assert {r.name for r in result.intake.new} == {"HU01 lan 2.xlsx"}  # recorded all the same
    files = {f.name: f for f in result.validation.batch.files}
    assert files["HU01.xlsx"].status is FileStatus.VALID  # not «superseded» by the later file
    assert c.submissions["HU01"].name == "HU01.xlsx"  # ...but not used
    locked = next(t for t in c.tracking if t.unit.code == "HU01")
    assert locked.files == 2 and locked.review is not None
    assert locked.review.state is ReviewState.ACCEPTED
    assert locked.review.held == ("HU01 lan 2.xlsx",)
    assert "tệp gửi sau «HU01 lan 2.xlsx» được ghi nhận nhưng chưa thay thế" in locked.note
    row = next(r for r in read_sheets(result.workbook)["Theo dõi"] if "HU01" in r)
    assert "chưa thay thế" in row[11]
    assert cli(ws, "HU01", "--reopen") == 0
    c = workspace.merge(ws, period=PERIOD).consolidated
    assert c.submissions["HU01"].name == "HU01 lan 2.xlsx"
    assert c.submissions["HU01"].values["1.1.HN_SO"] == 99


def test_sheet_decisions_survive_re_merges_and_change_tracking(ws: workspace.Workspace) -> None:
    type_review(ws, "HU02", "Trả lại", "Thiếu biểu mẫu 2", "Lê C")
    master_bytes = ws.master.read_bytes()
    for _ in range(2):
        c = workspace.merge(ws, period=PERIOD).consolidated
        returned = next(t for t in c.tracking if t.unit.code == "HU02")
        assert returned.status is TrackStatus.INVALID
        assert returned.note == "Văn phòng trả lại: Thiếu biểu mẫu 2"
        assert returned.review is not None and returned.review.decided_by == "Lê C"
    assert ws.master.read_bytes() == master_bytes  # dvxl never writes the master
    with sqlite3.connect(ws.root / intake.LEDGER_NAME) as db:  # recorded once, not per merge
        assert db.execute("SELECT count(*), min(source) FROM reviews").fetchone() == (1, "sheet")
    # A later command-line decision wins over the unchanged row ...
    assert cli(ws, "HU02", "--accept") == 0
    c = workspace.merge(ws, period=PERIOD).consolidated
    assert next(t for t in c.tracking if t.unit.code == "HU02").review_label == "Đã duyệt"
    # ... until the row is changed: then the sheet decides again, at that merge.
    type_review(ws, "HU02", "Trả lại", "Thiếu biểu mẫu 3", "Lê C")
    c = workspace.merge(ws, period=PERIOD).consolidated
    assert next(t for t in c.tracking if t.unit.code == "HU02").note.endswith("biểu mẫu 3")


def test_a_new_master_has_a_review_row_per_period_and_unit_with_a_dropdown(
    fresh_workspace: workspace.Workspace
) -> None:
    catalog = fresh_workspace.load()
    book = openpyxl.load_workbook(fresh_workspace.master)
    sheet = book[master.REVIEW]
    header = [c.value for c in sheet[3]]
    assert header == ["Kỳ báo cáo", "Mã đơn vị", "Tên đơn vị", "Duyệt", "Lý do trả lại",
                      "Người duyệt"]
    rows = [(r[0].value, r[1].value, r[3].value) for r in sheet.iter_rows(min_row=4)]
    assert rows == [(p.code, u.code, None) for p in catalog.periods
                    for u in catalog.addressed_units()]
    lists = [v.formula1 for v in sheet.data_validations.dataValidation if v.sqref and
             "D4" in str(v.sqref)]
    assert lists == ['"Chờ duyệt,Đã duyệt,Trả lại"']
    assert master.read_reviews(fresh_workspace.master, catalog) == ([], [])


def test_unusable_sheet_rows_are_reported_not_recorded(ws: workspace.Workspace) -> None:
    type_review(ws, "HU01", "Trả lại")  # no reason
    type_review(ws, "HU03", "Đã duyệt")  # nothing received
    type_review(ws, "HU04", "Đồng ý")  # no such state
    problems = workspace.merge(ws, period=PERIOD).problems
    assert any("cần ghi lý do" in p for p in problems)
    assert any("«HU03» chưa có báo cáo hợp lệ" in p for p in problems)
    assert any("trạng thái duyệt «Đồng ý» không có" in p for p in problems)
    assert track(ws, "HU01").review_label == "Chờ duyệt"
    again = workspace.merge(ws, period=PERIOD).problems  # the HU03 row was recorded once
    assert not any("HU03" in p for p in again)


def test_a_master_without_the_review_sheet_has_no_typed_decisions(
    ws: workspace.Workspace
) -> None:
    book = openpyxl.load_workbook(ws.master, keep_vba=True)
    del book[master.REVIEW]
    book.save(ws.master)
    assert workspace.merge(ws, period=PERIOD).problems == []
    assert cli(ws, "HU01", "--accept") == 0  # the command works all the same
    assert track(ws, "HU01").review_label == "Đã duyệt"


def test_the_option_limits_the_figures_to_accepted_returns(ws: workspace.Workspace) -> None:
    assert cli(ws, "HU01", "--accept") == 0
    before = workspace.merge(ws, period=PERIOD).consolidated
    assert set(before.submissions) == {"HU01", "HU02"}  # off by default
    set_option(ws, "Có")
    c = workspace.merge(ws, period=PERIOD).consolidated
    assert set(c.submissions) == {"HU01"}
    scores = {s.unit: s for s in c.evaluation.units}
    assert scores["HU01"].rated and not scores["HU02"].rated
    waiting = next(t for t in c.tracking if t.unit.code == "HU02")
    assert waiting.status is TrackStatus.ON_TIME  # still a valid return, received on time
    assert waiting.note == "Chưa duyệt: chưa đưa vào số liệu tổng hợp"
    from dvxl.docreport.facts import period_facts

    facts = {u.code: u for u in period_facts(c).units}
    assert facts["HU01"].values and not facts["HU02"].values  # the report's figures too


def set_option(ws: workspace.Workspace, value: str) -> None:
    book = openpyxl.load_workbook(ws.master, keep_vba=True)
    sheet = book["Tham số"]
    row = next(r for r in range(1, sheet.max_row + 1)
               if sheet.cell(r, 1).value == "only_accepted")
    sheet.cell(row, 3).value = value
    book.save(ws.master)


def test_an_older_ledger_is_migrated_with_the_reviews_table(tmp_path: Path) -> None:
    path = tmp_path / intake.LEDGER_NAME
    with intake.Ledger(path):
        pass
    with sqlite3.connect(path) as db:  # back to schema 2, as the previous dvxl left it
        db.execute("DROP TABLE reviews")
        db.execute("DROP TABLE outlier_marks")  # schema 3's other table (dvxl.outliers)
        db.execute("PRAGMA user_version = 2")
    with intake.Ledger(path) as ledger:
        ledger.record_decisions([Decision(PERIOD, "HU01", "ab", "accepted", "", "A",
                                          dt.datetime(2026, 6, 20, 9), review.CLI)])
        assert [d.state for d in ledger.decisions(PERIOD)] == ["accepted"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (intake.SCHEMA_VERSION,)


def _receipt(sha: str, name: str) -> Receipt:
    moment = dt.datetime(2026, 6, 10)
    return Receipt(1, sha, name, 1, "xlsx", "HU01", PERIOD, moment, moment, FileStatus.VALID,
                   0, 0)


def _decision(sha: str, state: ReviewState, minute: int) -> Decision:
    return Decision(PERIOD, "HU01", sha, state.value, "", "", dt.datetime(2026, 6, 20, 9, minute),
                    review.CLI)


@pytest.mark.parametrize(("decided", "current", "state"), [
    ([], "b", ReviewState.WAITING),
    ([("b", ReviewState.RETURNED)], "b", ReviewState.RETURNED),
    ([("a", ReviewState.RETURNED)], "b", ReviewState.WAITING),
    ([("a", ReviewState.ACCEPTED)], "a", ReviewState.ACCEPTED),
    ([("a", ReviewState.ACCEPTED), ("a", ReviewState.WAITING)], "b", ReviewState.WAITING),
    ([("b", ReviewState.ACCEPTED), ("b", ReviewState.RETURNED)], "b", ReviewState.RETURNED),
], ids=["undecided", "returned", "new-file-after-return", "locked", "reopened",
        "returned-after-accept"])
def test_resolve_follows_the_latest_decision(
    decided: list[tuple[str, ReviewState]], current: str, state: ReviewState
) -> None:
    receipts = [_receipt("a", "lan 1.xlsx"), _receipt("b", "lan 2.xlsx")]
    decisions = [_decision(sha, s, i) for i, (sha, s) in enumerate(decided)]
    resolved = review.resolve(receipts, decisions)
    assert resolved is not None
    assert (resolved[0].sha256, resolved[1].state) == (current, state)
    assert review.resolve([], decisions) is None


def read_sheets(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
