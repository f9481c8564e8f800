"""Shared fixtures: the sample catalog, a workspace built from it, its templates."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvxl import textio, workspace
from dvxl.model import Catalog

from served import _served_master, site  # noqa: F401 - the upload page's fixtures

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "workbook"
PERIOD = "2026-6T"


@pytest.fixture(scope="session")
def sample_catalog() -> Catalog:
    return textio.load_catalog(SAMPLE)


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> workspace.Workspace:
    """A workspace initialised from the sample, with the 2026-6T templates made once."""
    ws = workspace.init(tmp_path_factory.mktemp("ws") / "ws")
    workspace.make_templates(ws, PERIOD)
    return ws


@pytest.fixture
def fresh_workspace(tmp_path: Path) -> workspace.Workspace:
    return workspace.init(tmp_path / "ws")


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace the demo took through its cycle, made once: never change it, copy it
    (:func:`demo_copy`)."""
    from dvxl.cli import main

    root = tmp_path_factory.mktemp("demo") / "ws"
    assert main(["demo", str(root)]) == 0
    return root


@pytest.fixture
def demo_copy(tmp_path: Path, demo_folder: Path) -> workspace.Workspace:
    """A test's own copy of the demo's workspace."""
    root = tmp_path / "ws"
    shutil.copytree(demo_folder, root)
    return workspace.Workspace(root)


@pytest.fixture
def hanoi(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This computer's clock in Hà Nội time (UTC+7), as the office's PC is; modules about
    receipt times use it for all their tests (``pytestmark``)."""
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
