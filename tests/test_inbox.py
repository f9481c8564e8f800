"""An inbox as Windows and real offices leave it (issue 12, part 3): folder files and
cover letters are not returns, unit folders name units, tra-lai/ holds this run's copies
only, and a broken file named after a unit is that unit's."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dvxl import checks, form, sample, workspace
from dvxl.statuses import FileStatus, TrackStatus

PERIOD = "2026-6T"


def put(ws: workspace.Workspace, unit_code: str, dest: Path, *, keep_metadata: bool = True,
        mistake: str = "") -> Path:
    catalog = ws.load()
    period, unit = catalog.period(PERIOD), catalog.unit(unit_code)
    values = sample.good_values(catalog, unit, period, random.Random(unit_code))
    if mistake:
        sample.MISTAKES[mistake](values, catalog, unit)
    source = ws.templates(PERIOD) / form.template_name(period, unit)
    sample.write_return(source, dest, values, catalog, unit, keep_metadata=keep_metadata)
    return dest


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    made = workspace.init(tmp_path / "ws")
    workspace.make_templates(made, PERIOD)
    return made


NOT_RETURNS = {
    "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),  # an OLE file, like .xls
    "desktop.ini": b"[.ShellClassInfo]\r\nIconResource=x\r\n",
    ".DS_Store": b"\x00\x00\x00\x01Bud1",
    "MTTQ/Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    ".~lock.HU01.xlsx#": b"Nguyen Van A,may-01,02/12/2026 08:00,\n",
    "Cong van gui kem HU01.pdf": b"%PDF-1.4\n",
    "To trinh.docx": b"PK\x03\x04" + bytes(26),  # a zip like a workbook
}


def test_folder_files_and_cover_letters_are_listed_once_as_ignored(
    ws: workspace.Workspace,
) -> None:
    put(ws, "HU01", ws.inbox / "HU01.xlsx")
    for name, data in NOT_RETURNS.items():
        (ws.inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.inbox / name).write_bytes(data)
    (ws.inbox / "~$HU01.xlsx").write_bytes(b"lock")
    done = workspace.merge(ws, period=PERIOD)
    files = {f.name: f for f in done.validation.batch.files}
    assert sorted(files) == sorted([*NOT_RETURNS, "HU01.xlsx", "~$HU01.xlsx"])
    for name in NOT_RETURNS:
        assert files[name].status is FileStatus.IGNORED, name
        assert [f.code for f in files[name].findings] == ["F009"], name
        assert files[name].unit == "", name  # not shown against a unit
    assert files["~$HU01.xlsx"].status is FileStatus.IGNORED
    assert files["HU01.xlsx"].status == FileStatus.VALID
    assert done.validation.marked == []
    assert not (ws.outputs(PERIOD) / "tra-lai").exists()
    assert [r.name for r in done.intake.new] == ["HU01.xlsx"]  # nothing else archived


@pytest.mark.parametrize(
    ("path", "unit", "where"),
    [
        ("inbox/MTTQ/bao cao.xlsx", "MTTQ", "tên thư mục «MTTQ»"),
        ("inbox/Huyen uy Tan Phong/bao cao 6 thang.xlsx", "HU03", "tên thư mục"),
        ("inbox/HU05/HU02 bao cao.xlsx", "HU02", "tên tệp"),  # the file's own name first
        ("inbox/2026-6T/bao cao.xlsx", None, ""),
    ],
    ids=["code-folder", "name-folder", "file-before-folder", "period-folder"],
)
def test_a_unit_folder_names_the_unit(
    ws: workspace.Workspace, path: str, unit: str | None, where: str
) -> None:
    found = checks.unit_in_name(Path(path), ws.load())
    if unit is None:
        assert found is None
    else:
        assert found is not None and found[0].code == unit and found[1].startswith(where)


def test_a_file_in_a_unit_folder_is_that_units_even_unreadable(
    ws: workspace.Workspace,
) -> None:
    (ws.inbox / "MTTQ").mkdir()
    (ws.inbox / "MTTQ" / "bao cao.xlsx").write_bytes(b"PK\x03\x04 cut short")
    put(ws, "HU03", ws.inbox / "Huyen uy Tan Phong" / "bao cao.xlsx", keep_metadata=False)
    batch = workspace.validate(ws, period=PERIOD).batch
    assert {(f.unit, f.status) for f in batch.files} == {
        ("MTTQ", FileStatus.UNREADABLE), ("HU03", FileStatus.WARNINGS)
    }


def test_tra_lai_holds_only_the_copies_of_this_run(ws: workspace.Workspace) -> None:
    wrong = put(ws, "HU01", ws.inbox / "HU01.xlsx", mistake="số âm")
    put(ws, "HU02", ws.inbox / "HU02.xlsx", mistake="số âm")
    first = workspace.validate(ws, period=PERIOD)
    folder = ws.outputs(PERIOD) / "tra-lai"
    assert sorted(p.name for p in folder.iterdir()) == ["HU01-can-sua.xlsx", "HU02-can-sua.xlsx"]
    assert sorted(first.marked) == sorted(folder.iterdir())
    put(ws, "HU01", wrong)  # HU01 corrects its file
    second = workspace.validate(ws, period=PERIOD)
    assert [p.name for p in second.marked] == ["HU02-can-sua.xlsx"]
    assert sorted(p.name for p in folder.iterdir()) == ["HU02-can-sua.xlsx"]
    put(ws, "HU02", ws.inbox / "HU02.xlsx")
    assert workspace.validate(ws, period=PERIOD).marked == []
    assert not folder.exists()  # no copy to send back: no folder of stale ones


def test_a_broken_file_named_after_a_unit_is_that_units(ws: workspace.Workspace) -> None:
    whole = put(ws, "HU07", ws.inbox / "whole.xlsx").read_bytes()
    (ws.inbox / "whole.xlsx").unlink()
    (ws.inbox / "HU07 (tai chua xong).xlsx").write_bytes(whole[: len(whole) // 2])
    done = workspace.merge(ws, period=PERIOD)
    (report,) = done.validation.batch.files
    assert report.status == FileStatus.UNREADABLE
    assert (report.unit, report.identified_by) == ("HU07", "name")
    (track,) = [t for t in done.consolidated.tracking if t.unit.code == "HU07"]
    assert track.status is TrackStatus.INVALID  # sent something broken, not «Chưa nộp»
