"""dvxl merge end to end: intake, ledger, merge, tracking, evaluation, the period workbook.

A small batch of the sample's district committees (group HUYEN, tasks 1.1–1.4,
25 points each) is planted with known figures: on time, late, invalid,
resubmitted, missing; scores chosen so that levels, the "xuất sắc" cap and ties
in rank are all exercised. The figures are asserted on the data and read back
from the workbook.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvxl import archive as archive_mod
from dvxl import form, processes, sample, workspace
from dvxl.errors import UsageError
from dvxl.master import ASSESSMENT
from dvxl.merge import count_tracks
from dvxl.model import Period
from dvxl.statuses import TrackStatus

PERIOD = "2026-6T"
TASKS = ("1.1", "1.2", "1.3", "1.4")


def plant(ws: workspace.Workspace, code: str, name: str, scores: tuple[float, ...],
          sent: dt.datetime, change: dict[str, Any] | None = None) -> Path:
    catalog = ws.load()
    period = catalog.period(PERIOD)
    unit = catalog.unit(code)
    values = sample.good_values(catalog, unit, period, random.Random(code))
    values |= {f"{t}.TU_CHAM": s for t, s in zip(TASKS, scores, strict=True)}
    values |= change or {}
    path = ws.inbox / name
    source = ws.templates(PERIOD) / form.template_name(period, unit)
    sample.write_return(source, path, values, catalog, unit)
    sample.date_sent(path, sent)
    return path


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


@pytest.fixture
def planted(tmp_path: Path) -> workspace.Workspace:
    ws = workspace.init(tmp_path / "ws")
    workspace.make_templates(ws, PERIOD)
    deadline = ws.load().period(PERIOD).deadline
    plant(ws, "HU01", "HU01.xlsx", (25, 25, 25, 25), at(deadline - dt.timedelta(days=1)))
    plant(ws, "HU02", "HU02.xlsx", (25, 25, 25, 25), at(deadline + dt.timedelta(days=2)))
    plant(ws, "HU03", "HU03.xlsx", (20, 20, 20, 20), at(deadline))
    plant(ws, "HU04", "HU04.xlsx", (20, 20, 20, 20), at(deadline), {"1.1.TRANG_THAI": "Xong"})
    plant(ws, "HU05", "HU05 lan 1.xlsx", (20, 20, 20, 20), at(deadline - dt.timedelta(days=3)),
          {"1.1.HN_SO": 3, "1.1.HN_LUOT": 40})
    plant(ws, "HU06", "HU06.xlsx", (10, 10, 10, 10), at(deadline),
          {"1.1.KET_QUA": "=HYPERLINK(\"http://x\",\"bấm\")"})
    plant(ws, "HU05", "HU05 lan 2.xlsx", (20, 20, 20, 20), at(deadline - dt.timedelta(days=1)),
          {"1.1.HN_SO": 5, "1.1.HN_LUOT": 40})
    return ws


def by_unit(rows: list[Any], attr: str = "unit") -> dict[str, Any]:
    result = {}
    for row in rows:
        key = getattr(row, attr)
        result[key if isinstance(key, str) else key.code] = row
    return result


def test_tracking_scores_levels_and_ranks(planted: workspace.Workspace) -> None:
    result = workspace.merge(planted, period=PERIOD)
    c = result.consolidated
    track = by_unit(c.tracking)
    assert {u: track[u].status for u in ("HU01", "HU02", "HU03", "HU04", "HU05", "HU06", "HU07")} \
        == {"HU01": TrackStatus.ON_TIME, "HU02": TrackStatus.LATE, "HU03": TrackStatus.ON_TIME,
            "HU04": TrackStatus.INVALID, "HU05": TrackStatus.ON_TIME, "HU06": TrackStatus.ON_TIME,
            "HU07": TrackStatus.MISSING}
    assert track["HU02"].days_late == 2
    assert track["HU04"].errors == 1 and "C004" in track["HU04"].note
    assert track["HU05"].files == 2
    assert c.submissions["HU05"].name == "HU05 lan 2.xlsx"
    assert c.submissions["HU05"].superseded == ["HU05 lan 1.xlsx"]
    assert [(ch.unit, ch.key, ch.old, ch.new) for ch in c.changes] == [
        ("HU05", "1.1.HN_SO", 3, 5)]
    scores = by_unit(c.evaluation.units)
    assert scores["HU01"].total == 100 and scores["HU02"].total == 100
    # Late: not "tốt" nor "xuất sắc" whatever the score.
    assert scores["HU02"].level_code == "HT"
    # HU01 reaches "xuất sắc", but the cap (20 % of those rated "tốt" or above: HU01, HU03,
    # HU05) allows floor(0.6) = 0 of them: it is moved down to "tốt".
    assert (scores["HU01"].level_code, scores["HU01"].capped) == ("TOT", True)
    assert scores["HU03"].level_code == "TOT" and scores["HU05"].level_code == "TOT"
    assert scores["HU06"].level_code == "KHT"
    assert not scores["HU04"].rated and scores["HU04"].level == "Không đủ điều kiện xếp loại"
    assert not scores["HU07"].rated
    # Ties share a rank: 100, 100, 80, 80, 40.
    assert [scores[u].rank for u in ("HU01", "HU02", "HU03", "HU05", "HU06")] == [1, 1, 3, 3, 5]
    huyen = next(g for g in c.groups if g.group == "HUYEN")
    assert (huyen.expected, huyen.received, huyen.valid, huyen.on_time, huyen.late,
            huyen.invalid, huyen.missing) == (16, 6, 5, 4, 1, 1, 10)


def read_sheets(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_the_period_workbook_shows_the_figures(planted: workspace.Workspace) -> None:
    result = workspace.merge(planted, period=PERIOD)
    sheets = read_sheets(result.workbook)
    cells = {name: [str(v) for row in rows for v in row] for name, rows in sheets.items()}
    everything = [v for values in cells.values() for v in values]
    for code in ("HU01", "HU02", "HU03", "HU05", "HU06"):
        assert code in sheets, f"no sheet for unit {code}"
    task_sheets = [n for n in sheets if n.startswith("NV")]
    assert len(task_sheets) == 12
    assert "Không đủ điều kiện xếp loại" in everything
    assert "Nộp muộn" in everything and "Chưa nộp" in everything
    # The formula a unit typed stays text in the task sheet.
    book = openpyxl.load_workbook(result.workbook)
    typed = [cell for row in book["NV 1.1"].iter_rows() for cell in row
             if isinstance(cell.value, str) and cell.value.startswith("=HYPERLINK")]
    assert typed and all(cell.data_type == "s" for cell in typed)


def snapshot(ws: workspace.Workspace) -> tuple[list[Any], dict[str, str], bytes]:
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        rows = db.execute("SELECT * FROM receipts ORDER BY id").fetchall()
    archive = {location: hashlib.sha256(archive_mod.read(ws.root, location)).hexdigest()
               for location in archive_mod.locations(ws.root)}
    workbook = (ws.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx").read_bytes()
    return rows, archive, workbook


def test_running_again_changes_nothing(planted: workspace.Workspace) -> None:
    inbox_before = {p.name: (p.read_bytes(), p.stat().st_mtime) for p in planted.inbox.iterdir()}
    first = workspace.merge(planted, period=PERIOD)
    assert len(first.intake.new) == 7
    before = snapshot(planted)
    again = workspace.merge(planted, period=PERIOD)
    assert again.intake.new == [] and len(again.intake.known) == 7
    assert snapshot(planted) == before
    assert {p.name: (p.read_bytes(), p.stat().st_mtime) for p in planted.inbox.iterdir()} == \
        inbox_before


def test_a_newer_valid_return_supersedes_and_both_are_kept(planted: workspace.Workspace) -> None:
    workspace.merge(planted, period=PERIOD)
    deadline = planted.load().period(PERIOD).deadline
    newer = plant(planted, "HU03", "HU03 bo sung.xlsx", (24, 24, 24, 24), at(deadline, 16))
    result = workspace.merge(planted, period=PERIOD)
    c = result.consolidated
    assert c.submissions["HU03"].name == newer.name
    assert c.submissions["HU03"].superseded == ["HU03.xlsx"]
    assert any(ch.unit == "HU03" and ch.key == "1.1.TU_CHAM" for ch in c.changes)
    rows, archive, _ = snapshot(planted)
    assert len(rows) == 8 and len(archive) == 8
    newer.unlink()  # gone from the inbox: the ledger still has it
    assert workspace.merge(planted, period=PERIOD).consolidated.submissions["HU03"].name == \
        newer.name


def test_typed_assessments_decide_and_survive_a_re_merge(planted: workspace.Workspace) -> None:
    workspace.merge(planted, period=PERIOD)
    book = openpyxl.load_workbook(planted.master)
    sheet = book[ASSESSMENT]
    row = sheet.max_row + 1
    for col, value in enumerate((PERIOD, "HU03", "1.1", 12, "Thiếu số liệu"), 1):
        sheet.cell(row, col).value = value
    book.save(planted.master)
    master_bytes = planted.master.read_bytes()
    first = by_unit(workspace.merge(planted, period=PERIOD).consolidated.evaluation.units)
    second = by_unit(workspace.merge(planted, period=PERIOD).consolidated.evaluation.units)
    for scores in (first, second):
        task = next(t for t in scores["HU03"].tasks if t.task == "1.1")
        assert (task.self_score, task.assessed, task.decided) == (20, 12, 12)
        assert scores["HU03"].total == 72
    assert planted.master.read_bytes() == master_bytes  # merge never writes the master


def test_status_prints_the_tracking_table(planted: workspace.Workspace,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from dvxl.cli import main

    assert main(["merge", "-w", str(planted.root), "-p", PERIOD]) == 0
    capsys.readouterr()
    assert main(["status", "-w", str(planted.root), "-p", PERIOD]) == 0
    out = capsys.readouterr().out
    assert "HU04" in out and "Không hợp lệ" in out and "Chưa nộp" in out


# --- the validation outputs, written beside the intake by a forked process -----------------


def _outputs(ws: workspace.Workspace) -> tuple[str, list[str]]:
    """The validation JSON without its timing fields, and the marked copies' names."""
    out = ws.outputs(PERIOD)
    text = (out / f"kiem-tra-{PERIOD}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    for key in ("started", "finished", "generated"):
        data.pop(key, None)
    return json.dumps(data, sort_keys=True), sorted(p.name for p in (out / "tra-lai").glob("*"))


def test_outputs_written_aside_equal_those_written_in_one_process(
    planted: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVXL_WORKERS", "2")
    aside = workspace.merge(planted, period=PERIOD)
    first = _outputs(planted)
    monkeypatch.setenv("DVXL_WORKERS", "1")  # no process aside: all in this one
    alone = workspace.merge(planted, period=PERIOD)
    assert _outputs(planted) == first
    assert aside.validation.marked and [p.name for p in aside.validation.marked] == [
        p.name for p in alone.validation.marked]
    assert aside.validation.workbook.is_file()


def _in_the_process_aside(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` instead of writing the validation outputs, in the forked process only
    (this process still writes them when it has to)."""
    monkeypatch.setenv("DVXL_WORKERS", "2")
    parent = os.getpid()
    real = workspace._write_validation

    def write(*args: Any, **kwargs: Any) -> workspace.Validation:
        if os.getpid() != parent:
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(workspace, "_write_validation", write)


def test_outputs_are_written_here_when_the_process_aside_dies(
    planted: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _in_the_process_aside(monkeypatch, lambda: os._exit(3))  # what a crash looks like here
    result = workspace.merge(planted, period=PERIOD)
    assert result.validation.workbook.is_file() and result.validation.json.is_file()
    assert result.validation.marked and all(p.is_file() for p in result.validation.marked)
    assert result.workbook.is_file()


def test_an_error_in_the_process_aside_is_raised_here_with_its_message(
    planted: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail() -> None:
        raise UsageError("Tệp kiểm tra đang mở trong Excel.")

    first = workspace.merge(planted, period=PERIOD)
    before = {p.relative_to(planted.root): p.read_bytes()
              for p in planted.outputs(PERIOD).rglob("*") if p.is_file()}
    assert first.workbook.is_file() and first.validation.marked
    _in_the_process_aside(monkeypatch, fail)
    # A small merge: the period workbook does not wait for the process aside, however large
    # the test process has grown with the tests before this one (its peak memory decides).
    monkeypatch.setattr(processes, "process_is_large", lambda: False)
    with pytest.raises(UsageError, match="đang mở trong Excel"):
        workspace.merge(planted, period=PERIOD)
    # All of a run's outputs or none (issue 14): the office still reads the last run's, whole,
    # and nothing written aside is left.
    after = {p.relative_to(planted.root): p.read_bytes()
             for p in planted.outputs(PERIOD).rglob("*") if p.is_file()}
    assert after == before


def test_a_large_merge_writes_the_period_workbook_after_the_outputs_aside(
    planted: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At national scale three processes at once would hold too much memory.
    monkeypatch.setenv("DVXL_WORKERS", "2")
    monkeypatch.setattr(processes, "process_is_large", lambda: True)
    real = workspace.render.write_consolidated
    seen: list[bool] = []

    def write(consolidated: Any, path: Path, history: Any = None, flagged: Any = None) -> None:
        seen.append((path.parent / f"kiem-tra-{PERIOD}.json").is_file())  # written aside
        real(consolidated, path, history, flagged)

    monkeypatch.setattr(workspace.render, "write_consolidated", write)
    result = workspace.merge(planted, period=PERIOD)
    assert seen == [True]
    assert result.validation.marked and all(p.is_file() for p in result.validation.marked)
    assert result.workbook.is_file()


def test_a_national_batch_writes_its_validation_outputs_here_first_the_same(
    planted: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVXL_WORKERS", "2")
    workspace.merge(planted, period=PERIOD)
    aside = _outputs(planted)
    # Above ASIDE_MAX_FILES no process is forked for them: they are written before the
    # intake, the marked copies by the pool (which this batch is too small to start).
    monkeypatch.setattr(workspace, "ASIDE_MAX_FILES", 0)
    monkeypatch.setattr(workspace, "_start_validation_aside", None)  # never called
    order: list[str] = []
    real_intake = workspace.intake_mod.intake

    def intake(*args: Any, **kwargs: Any) -> Any:
        order.append("intake")
        return real_intake(*args, **kwargs)

    monkeypatch.setattr(workspace.intake_mod, "intake", intake)
    real_validation = workspace._write_validation

    def validation(*args: Any, **kwargs: Any) -> workspace.Validation:
        order.append("validation")
        return real_validation(*args, **kwargs)

    monkeypatch.setattr(workspace, "_write_validation", validation)
    result = workspace.merge(planted, period=PERIOD)
    assert order == ["validation", "intake"]
    assert _outputs(planted) == aside
    assert result.validation.marked and all(p.is_file() for p in result.validation.marked)
    assert result.workbook.is_file()


def test_late_counts_whole_days_after_the_deadline() -> None:
    period = Period("2026-6T", "6 tháng đầu năm 2026", dt.date(2025, 12, 15), dt.date(2026, 6, 14),
                    dt.date(2026, 6, 18))
    assert [period.days_late(dt.datetime(2026, 6, day, hour)) for day, hour in
            ((10, 9), (18, 23), (19, 0), (21, 16))] == [0, 0, 1, 3]


def test_tracks_are_counted_by_every_status_in_order(planted: workspace.Workspace) -> None:
    tracking = workspace.merge(planted, period=PERIOD).consolidated.tracking
    counts = count_tracks(tracking)
    assert list(counts) == list(TrackStatus)
    assert counts == {s: sum(1 for t in tracking if t.status is s) for s in TrackStatus}
    assert count_tracks([]) == dict.fromkeys(TrackStatus, 0)
