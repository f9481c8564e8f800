"""A merge killed mid-way (issue 14): no worker process outlives it, the ledger and the
archive stay whole, and the next run leaves no temporary file behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dvxl import atomic, workspace
from dvxl.cli import main

PERIOD = "2026-6T"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and prctl")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, demo_folder: Path) -> Path:
    """The demo's workspace with an inbox large enough for worker processes (over 100)."""
    root = tmp_path_factory.mktemp("kill") / "ws"
    shutil.copytree(demo_folder, root)
    (root / "ledger.sqlite").unlink()
    shutil.rmtree(root / "archive")
    shutil.rmtree(root / "outputs")
    returns = sorted(p for p in (root / "inbox").iterdir() if p.suffix == ".xlsx")
    for copy in range(3):  # the same units again in folders: resubmissions, read all the same
        folder = root / "inbox" / f"lan-{copy}"
        folder.mkdir()
        for path in returns:
            shutil.copy2(path, folder / path.name)
    return root


def kill_during_merge(root: Path, when: str) -> list[psutil.Process]:
    """Start ``dvxl merge`` and SIGKILL it once its workers run (``when="workers"``) or once
    it has begun archiving (``"later"``); the worker processes it had."""
    env = {**os.environ, "DVXL_WORKERS": "2"}
    command = [sys.executable, "-m", "dvxl.cli", "merge", "-w", str(root), "-p", PERIOD]
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    parent = psutil.Process(run.pid)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline:
        try:
            for child in parent.children(recursive=True):
                seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            break
        if (when == "workers" and len(seen) >= 2) or (
                when == "later" and (root / "archive").exists()):  # archiving has begun
            break
        time.sleep(0.02)
    if run.poll() is None:  # (on a fast machine the merge may be done already: still checked)
        os.kill(run.pid, signal.SIGKILL)
    run.wait()
    return list(seen.values())


@linux
@pytest.mark.parametrize("when", ["workers", "later"])
def test_a_killed_merge_leaves_no_process_and_nothing_broken(
    big: Path, tmp_path: Path, when: str
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(big, root)
    children = kill_during_merge(root, when)
    if when == "workers":
        assert len(children) >= 2, "the merge never started its workers"
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], f"worker processes outlived the killed merge: {alive}"
    ws = workspace.Workspace(root)
    if (root / "ledger.sqlite").is_file():  # whatever was recorded is in the archive
        assert workspace.verify(ws).damage == []
    # The next run goes ahead (no lock left), finishes, and leaves no temporary file.
    assert main(["merge", "-w", str(root), "-p", PERIOD]) == 0
    assert workspace.verify(ws).damage == []
    leftovers = [p for p in root.rglob(f"{atomic.TEMP_PREFIX}*") if "inbox" not in p.parts]
    assert leftovers == []
