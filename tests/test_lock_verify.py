"""One run at a time per workspace, and `dvxl verify` (issue 14: concurrent runs and the
archive's integrity)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from dvxl import archive, lock, workspace
from dvxl.cli import main

PERIOD = "2026-6T"


@pytest.fixture
def ws(demo_copy: workspace.Workspace) -> workspace.Workspace:
    """A copy of the demo's workspace (conftest.py: the demo runs once per session)."""
    return demo_copy


def hold_in_another_process(root: Path, seconds: float) -> subprocess.Popen[str]:
    """Another dvxl run: a process holding the workspace's lock for ``seconds``."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from dvxl import lock
        with lock.exclusive(Path({str(root)!r})):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_run_waits_with_a_message_then_goes_on(
    ws: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    other = hold_in_another_process(ws.root, 2.0)
    started = time.monotonic()
    assert main(["merge", "-w", str(ws.root), "-p", PERIOD]) == 0
    assert time.monotonic() - started >= 1.0  # it waited for the other run
    assert "đang chờ lượt đó xong" in capsys.readouterr().err
    other.wait(timeout=30)


def test_a_run_that_cannot_wait_is_refused_and_changes_nothing(
    ws: workspace.Workspace, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = sorted(p.relative_to(ws.root) for p in (ws.root / "archive").rglob("*"))
    monkeypatch.setattr(lock, "WAIT_S", 0.5)
    other = hold_in_another_process(ws.root, 5.0)
    try:
        assert main(["merge", "-w", str(ws.root), "-p", PERIOD]) == 4
        assert "Một lượt chạy khác của dvxl đang dùng thư mục làm việc" in capsys.readouterr().err
        assert sorted(p.relative_to(ws.root) for p in (ws.root / "archive").rglob("*")) == before
    finally:
        other.kill()
        other.wait()
    # A killed holder leaves no lock behind: the next run goes ahead at once.
    with lock.exclusive(ws.root, wait_s=0):
        pass


def test_verify_finds_every_file_intact_after_the_demo(
    ws: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "-w", str(ws.root)]) == 0
    out = capsys.readouterr().out
    result = workspace.verify(ws)
    assert result.checked > 30 and result.damage == []
    assert f"{result.checked}/{result.checked} tệp còn nguyên vẹn" in out


def test_verify_names_what_is_missing_or_altered(
    ws: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = sorted((ws.root / "archive").glob("*.zip"))
    assert len(packs) == 2  # one per merge run: the demo merges 2025-N, then 2026-6T
    pack = packs[-1]
    with zipfile.ZipFile(pack) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    names = sorted(members)
    altered, dropped = names[0], names[1]
    members[altered] = members[altered][:-10] + b"0123456789"  # same size, other bytes
    del members[dropped]
    with zipfile.ZipFile(pack, "w", zipfile.ZIP_STORED) as new:  # a consistent zip, retouched
        for name, data in members.items():
            new.writestr(name, data)
    assert main(["verify", "-w", str(ws.root)]) == 1
    out = capsys.readouterr().out
    assert f"{altered}: nội dung đã bị thay đổi" in out
    assert f"{dropped}: mất trong gói lưu trữ" in out
    damaged = {d.location.rsplit("/", 1)[1] for d in workspace.verify(ws).damage}
    assert damaged == {altered, dropped}


def test_a_pack_no_ledger_row_names_is_set_aside_not_lost(ws: workspace.Workspace) -> None:
    # A run stopped after writing its pack and before recording it.
    stray = ws.root / "archive" / "20261201-080000-abcdef.zip"
    with zipfile.ZipFile(stray, "w") as pack:
        pack.writestr("0" * 64 + ".xlsx", b"what a stopped run had archived")
    workspace.merge(ws, period=PERIOD)
    kept = ws.root / "archive" / archive.UNRECORDED_DIR / stray.name
    assert not stray.exists() and kept.is_file()
    assert workspace.verify(ws).unrecorded == [kept]
    assert workspace.verify(ws).damage == []
