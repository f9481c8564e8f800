"""Shared set-up of the upload page's tests: a workspace with signed templates and upload
codes, copied for each test, and returns filled the way units fill them."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from dvxl import sample, uploadcodes, web, workspace
from dvxl.form import template_name
from dvxl.intake import Ledger, Receipt
from dvxl.model import Catalog, Period, Unit

PERIOD = "2026-6T"


@dataclass
class Site:
    """A workspace ready to serve: its catalog, period and codes."""

    root: Path
    catalog: Catalog
    period: Period
    codes: uploadcodes.PeriodCodes

    @property
    def ws(self) -> workspace.Workspace:
        return workspace.Workspace(self.root)

    def unit(self, index: int = 0) -> Unit:
        return self.catalog.addressed_units()[index]

    def code(self, index: int = 0) -> str:
        return self.codes.units[self.unit(index).code]

    def fill(self, dest: Path, index: int = 0, change: dict[str, object] | None = None,
             template_of: int | None = None) -> Path:
        """Unit ``index``'s template filled with good values (and ``change``), as ``dest``;
        ``template_of``: another unit's template, filled with that unit's values."""
        unit = self.unit(index if template_of is None else template_of)
        values = sample.good_values(self.catalog, unit, self.period, random.Random(unit.code))
        source = self.ws.templates(PERIOD) / template_name(self.period, unit)
        sample.write_return(source, dest, values | (change or {}), self.catalog, unit)
        return dest

    def broken(self, dest: Path, index: int = 0) -> Path:
        """A return with an error: a count below its minimum (C003)."""
        return self.fill(dest, index, {self.count_key(index): -5})

    def count_key(self, index: int = 0) -> str:
        unit = self.unit(index)
        for task in self.catalog.tasks_for(unit):
            for ind in self.catalog.indicators_for(task):
                if ind.type == "integer":
                    return f"{task.code}.{ind.code}"
        raise AssertionError("no count indicator")

    def receipts(self) -> list[Receipt]:
        path = workspace.ledger_path(self.ws)
        if not path.exists():
            return []
        with Ledger(path) as ledger:
            return ledger.receipts(PERIOD)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(root: Path) -> Iterator[str]:
    """``dvxl serve``'s application on a free port of this machine, in a thread."""
    port = free_port()
    config = uvicorn.Config(web.create_app(root), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
            b"%%EOF\n")


@pytest.fixture(scope="session")
def _served_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served") / "ws"
    ws = workspace.init(root)
    workspace.make_templates(ws, PERIOD)
    catalog = ws.load()
    uploadcodes.ensure(root, catalog, catalog.period(PERIOD))
    return root


@pytest.fixture
def site(_served_master: Path, tmp_path: Path) -> Site:
    """A fresh copy of the served workspace for one test."""
    root = tmp_path / "ws"
    shutil.copytree(_served_master, root)
    ws = workspace.Workspace(root)
    catalog = ws.load()
    period = catalog.period(PERIOD)
    return Site(root, catalog, period, uploadcodes.load(root)[PERIOD])
