"""Which period a run is for: the one asked for, or the one the returns claim — never a
guess from today's date (issue 12, part 1).

The sample's periods: 2025-N (deadline 18/12/2025), 2026-6T (18/06/2026), 2026-6TC
(18/12/2026) and 2026-N. Merging the June returns late, on a day when later periods
are open, must record every file under 2026-6T whatever the calendar says.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from dvxl import form, periods, sample, workspace
from dvxl.cli import cli
from dvxl.errors import UsageError
from dvxl.statuses import FileStatus

JUNE, LATER = "2026-6T", "2026-6TC"


def put(ws: workspace.Workspace, period_code: str, unit_code: str, dest: Path,
        keep_metadata: bool = True) -> Path:
    catalog = ws.load()
    period, unit = catalog.period(period_code), catalog.unit(unit_code)
    folder = ws.templates(period_code)
    if not folder.is_dir():
        workspace.make_templates(ws, period_code)
    values = sample.good_values(catalog, unit, period, random.Random(unit_code))
    sample.write_return(folder / form.template_name(period, unit), dest, values, catalog,
                        unit, keep_metadata=keep_metadata)
    return dest


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    return workspace.init(tmp_path / "ws")


def recorded_periods(ws: workspace.Workspace) -> list[str]:
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        return [row[0] for row in db.execute("SELECT DISTINCT period FROM receipts")]


def test_late_june_returns_are_merged_under_june_without_a_period(
    ws: workspace.Workspace,
) -> None:
    # dvxl reads no clock to choose a period: run on any day after 18/06/2026 (when this
    # was written, 01/12/2026, the calendar's nearest deadline was 2026-6TC's).
    for code in ("HU01", "HU02", "MTTQ"):
        put(ws, JUNE, code, ws.inbox / f"{code}.xlsx")
    result = workspace.merge(ws)
    assert result.validation.batch.period.code == JUNE
    assert {f.status for f in result.validation.batch.files} == {FileStatus.VALID}
    assert recorded_periods(ws) == [JUNE]


def test_a_file_without_metadata_is_checked_against_the_batch_period(
    ws: workspace.Workspace,
) -> None:
    put(ws, JUNE, "HU01", ws.inbox / "HU01.xlsx")
    put(ws, JUNE, "HU02", ws.inbox / "HU02 bao cao.xlsx", keep_metadata=False)
    auto = workspace.validate(ws).batch
    chosen = workspace.validate(ws, period=JUNE).batch
    assert auto.period.code == JUNE
    flat = lambda batch: [(f.name, f.period, f.status, sorted(x.code for x in f.findings))  # noqa: E731
                          for f in batch.files]
    assert flat(auto) == flat(chosen)
    assert ("HU02 bao cao.xlsx", JUNE) in {(f.name, f.period) for f in auto.files}


def test_returns_of_several_periods_are_refused_with_what_was_found(
    ws: workspace.Workspace,
) -> None:
    put(ws, JUNE, "HU01", ws.inbox / "a.xlsx")
    put(ws, JUNE, "HU02", ws.inbox / "b.xlsx")
    put(ws, LATER, "HU03", ws.inbox / "c.xlsx")
    with pytest.raises(UsageError) as raised:
        workspace.merge(ws)
    message = str(raised.value)
    assert f"{JUNE} (2 tệp)" in message and f"{LATER} (1 tệp)" in message
    assert "-p" in message
    assert not (ws.root / "ledger.sqlite").exists()  # nothing recorded, nothing archived
    assert not (ws.root / "archive").exists()


def test_no_claim_at_all_is_refused_rather_than_guessed(ws: workspace.Workspace) -> None:
    put(ws, JUNE, "HU01", ws.inbox / "HU01.xlsx", keep_metadata=False)
    with pytest.raises(UsageError, match="không đoán kỳ"):
        workspace.validate(ws)


def test_a_period_folder_names_the_period_of_files_without_metadata(
    ws: workspace.Workspace,
) -> None:
    put(ws, JUNE, "HU01", ws.inbox / JUNE / "HU01.xlsx", keep_metadata=False)
    batch = workspace.validate(ws).batch
    assert batch.period.code == JUNE
    assert [f.period for f in batch.files] == [JUNE]


def test_with_a_period_its_own_inbox_folder_is_read(ws: workspace.Workspace) -> None:
    put(ws, JUNE, "HU01", ws.inbox / JUNE / "HU01.xlsx")
    put(ws, LATER, "HU01", ws.inbox / LATER / "HU01.xlsx")
    june = workspace.merge(ws, period=JUNE).validation.batch
    later = workspace.merge(ws, period=LATER).validation.batch
    assert june.inbox == ws.inbox / JUNE and later.inbox == ws.inbox / LATER
    assert [f.status for f in june.files] == [f.status for f in later.files] == [FileStatus.VALID]
    assert sorted(recorded_periods(ws)) == [JUNE, LATER]


def test_status_without_a_period_shows_the_period_received_last(
    ws: workspace.Workspace,
) -> None:
    with pytest.raises(UsageError, match="chưa có tệp nào"):
        workspace.status(ws)
    put(ws, JUNE, "HU01", ws.inbox / "HU01.xlsx")
    workspace.merge(ws)
    assert workspace.status(ws).period.code == JUNE


def test_every_period_command_prints_its_period_first(ws: workspace.Workspace) -> None:
    put(ws, JUNE, "HU01", ws.inbox / "HU01.xlsx")
    label = periods.label(ws.load().period(JUNE))
    assert label.startswith("Kỳ báo cáo: 2026-6T (") and "hạn gửi 18/06/2026" in label
    runner = CliRunner()
    for args in (["validate"], ["merge"], ["status"]):
        done = runner.invoke(cli, [*args, "-w", str(ws.root)])
        assert done.exit_code == 0, done.output
        assert done.stdout.splitlines()[0] == label, args
