"""When the outputs cannot be written (issue 14, faults): a workbook open in Excel, a full
disk, a folder that cannot be written. The message names the user's file and says what to
do, in Vietnamese; the outputs are all replaced or none."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dvxl import atomic, workspace
from dvxl.cli import main

PERIOD = "2026-6T"


@pytest.fixture
def ws(demo_copy: workspace.Workspace) -> workspace.Workspace:
    """A copy of the demo's workspace (conftest.py: the demo runs once per session)."""
    return demo_copy


def outputs(ws: workspace.Workspace) -> dict[str, bytes]:
    folder = ws.outputs(PERIOD)
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "đang mở trong Excel"),
        (OSError(errno.ENOSPC, "No space left on device"), "ổ đĩa đã hết chỗ trống"),
        (OSError(errno.EROFS, "Read-only file system"), "chỉ cho đọc"),
    ],
    ids=["open-in-excel", "disk-full", "read-only"],
)
def test_an_output_that_cannot_be_written_is_named_and_nothing_is_half_replaced(
    ws: workspace.Workspace, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], failure: OSError, says: str,
) -> None:
    before = outputs(ws)
    real = os.replace

    def replace(source: object, target: object) -> None:
        if Path(str(target)).name == f"tong-hop-{PERIOD}.xlsx":
            raise failure
        real(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setenv("DVXL_WORKERS", "1")  # the validation outputs in this process too
    assert main(["merge", "-w", str(ws.root), "-p", PERIOD]) == 4
    err = capsys.readouterr().err
    assert f"tong-hop-{PERIOD}.xlsx" in err and says in err
    assert atomic.TEMP_PREFIX not in err and "Errno" not in err and failure.strerror not in err
    monkeypatch.undo()
    # Either every output of the run is in place or none is; here none could be.
    after = outputs(ws)
    assert set(after) == set(before)
    assert after[f"kiem-tra-{PERIOD}.xlsx"] == before[f"kiem-tra-{PERIOD}.xlsx"]
    # Nothing written aside is left for the office to find.
    assert not [p for p in ws.outputs(PERIOD).iterdir() if p.name.startswith(atomic.TEMP_PREFIX)]


def test_a_system_error_anywhere_is_told_in_vietnamese(
    ws: workspace.Workspace, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error", str(ws.master))

    monkeypatch.setattr(workspace.Workspace, "load", broken)
    assert main(["merge", "-w", str(ws.root), "-p", PERIOD]) == 4
    err = capsys.readouterr().err
    assert str(ws.master) in err and "Input/output error" not in err and "EIO" in err
