"""Each task's sheet: what it shows, its layout, and a large roster's task workbooks.

A task's sheet has a row per unit the task is addressed to, with every indicator, the
accepted file and totals. Up to :data:`dvxl.render.UNIT_SHEETS_MAX` addressed units it
is a sheet of the period workbook. Above, each task's sheet is a workbook of its own,
``nhiem-vu/NV-1.1.xlsx`` beside the period workbook (the department following a task
gets that file; a million cells at national scale, three quarters of the whole): worker
processes (:mod:`dvxl.processes`; one fewer than the CPUs, forked while this process is
small, else started afresh) write them while this process writes the period workbook,
which then writes the ones no worker has started (:func:`start`, :meth:`Books.finish`).
A worker needs only a :class:`TaskInput`, plain data small enough to send.
"""

from __future__ import annotations

import gc
import pickle
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvxl import printing, processes
from dvxl.looks import (
    TOTAL_LABEL,
    VALUE_WIDTHS,
    Cell,
    Col,
    Looks,
    period_line,
    sum_formula,
    text_width,
    unique_sheet_name,
    workbook_properties,
)
from dvxl.merge import Consolidated, Track
from dvxl.model import NUMERIC_TYPES, Indicator, Task, Unit
from dvxl.statuses import TrackStatus

TASK_SHEET_PREFIX = "NV "
#: A large roster's task workbooks: ``nhiem-vu/NV-1.1.xlsx`` beside the period workbook.
TASKS_FOLDER = "nhiem-vu"
TASK_FILE_PREFIX = "NV-"
#: A task workbook of more cells than this is put together on disk, not in memory.
IN_MEMORY_CELLS = 100_000


@dataclass(frozen=True)
class TaskInput:
    """What a task's sheet shows, as plain data: a worker process writes it from this alone."""

    task: Task
    indicators: tuple[Indicator, ...]
    period_name: str
    period_line: str
    # per unit: code, name, status, the indicators' values, accepted file, when received
    rows: list[tuple[str, str, TrackStatus, tuple[Any, ...], str, Any]]


def task_inputs(c: Consolidated) -> list[TaskInput]:
    """Every task addressed to some unit, as the data of its sheet."""
    tracks = {t.unit.code: t for t in c.tracking}
    by_groups: dict[tuple[str, ...], set[str]] = {}  # the codes of a group's tasks
    units = c.catalog.addressed_units()
    for unit in units:
        if unit.groups not in by_groups:
            by_groups[unit.groups] = {task.code for task in c.catalog.tasks_for(unit)}
    inputs = []
    for task in c.catalog.tasks:
        addressed = [u for u in units if task.code in by_groups[u.groups]]
        if addressed:
            inputs.append(task_input(c, task, addressed, tracks))
    return inputs


def task_input(c: Consolidated, task: Task, units: list[Unit],
               tracks: dict[str, Track]) -> TaskInput:
    """What a task's sheet shows, as plain data (small enough to send to a worker)."""
    inds = c.catalog.indicators_for(task)
    keys = [f"{task.code}.{ind.code}" for ind in inds]
    rows = []
    for unit in units:
        sub = c.submissions.get(unit.code)
        track = tracks.get(unit.code)
        values = sub.values if sub else {}
        rows.append((unit.code, unit.name, track.status if track else TrackStatus.MISSING,
                     tuple(values.get(key) for key in keys), sub.name if sub else "",
                     sub.received if sub else ""))
    return TaskInput(task, inds, c.period.name, period_line(c), rows)


def write_sheet(looks: Looks, sheet: Any, data: TaskInput) -> None:
    """A task's sheet: a row per unit it is addressed to, every indicator, totals."""
    task, inds = data.task, data.indicators
    # Narrow as the text allows: the sheet prints fitted to one page wide (issue 15).
    cols = [Col("STT", 5), Col("Mã đơn vị", text_width((r[0] for r in data.rows), "Mã đơn vị")),
            Col("Tên đơn vị", 22, True), Col("Tình trạng nộp", 12, True)]
    cols += [Col(f"{i.label}\n({i.unit})" if i.unit else i.label, VALUE_WIDTHS.get(i.type, 16),
                  i.type not in NUMERIC_TYPES) for i in inds]
    cols += [Col("Tệp nguồn", 18, True), Col("Thời gian nhận", 16)]
    received = sum(1 for row in data.rows if row[4])
    looks.heading(sheet, [
        (f"NHIỆM VỤ {task.code}: {task.title.upper()}", looks.title),
        (f"{data.period_name}: {len(data.rows)} đơn vị được giao, {received} đơn vị có báo "
         f"cáo hợp lệ. {data.period_line}", looks.note),
    ], cols)
    header = 3
    first, last = header + 1, header + len(data.rows)
    rows: list[list[Cell]] = []
    for i, (code, name, status, values, source, when) in enumerate(data.rows, 1):
        row: list[Cell] = [(i, looks.center), (code, looks.text), (name, looks.text),
                           looks.status_cell(status)]
        row += [looks.value_cell(ind, value) for ind, value in zip(inds, values, strict=True)]
        row += [(source, looks.text), (when, looks.stamp)]
        rows.append(row)
    footer: list[Cell] | None = None
    if rows:
        footer = [("", looks.total_text), ("", looks.total_text), (TOTAL_LABEL, looks.total_text),
                  ("", looks.total_text)]
        for col, ind in enumerate(inds, 4):
            if ind.type in NUMERIC_TYPES:
                fmt = looks.total_integer if ind.type == "integer" else looks.total_general
                footer.append((sum_formula(first, last, col, [r[col][0] for r in rows]), fmt))
            else:
                footer.append(("", looks.total_text))
        footer += [("", looks.total_text)] * 2
    else:
        rows = [[("", looks.text), ("", looks.text),
                 ("Không có đơn vị nào được giao nhiệm vụ này.", looks.empty),
                 *[("", looks.text)] * (len(cols) - 3)]]
    looks.table(sheet, header, cols, rows, footer=footer, key_cols=4)


# A large roster's task workbooks -------------------------------------------------------------


def tasks_folder(path: Path) -> Path:
    """Where a large roster's task workbooks go, beside the period workbook ``path``."""
    return path.parent / TASKS_FOLDER


def remove_stale(folder: Path, kept: set[Path]) -> None:
    """Task workbooks of an earlier run that this one does not write (other tasks, or a
    roster now small enough for one workbook): they would show out-of-date figures."""
    if folder.is_dir():
        for stale in folder.glob(f"{TASK_FILE_PREFIX}*.xlsx"):
            if stale not in kept:
                stale.unlink(missing_ok=True)


def start(c: Consolidated, folder: Path) -> Books:
    """Start writing every task's workbook into ``folder``, largest first, in worker
    processes where there are any; :meth:`Books.finish` writes the rest and waits."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(data, folder / f"{TASK_FILE_PREFIX}{data.task.code}.xlsx")
            for data in task_inputs(c)]
    jobs.sort(key=lambda job: -len(job[0].rows) * len(job[0].indicators))  # largest first
    remove_stale(folder, {target for _, target in jobs})
    properties = workbook_properties(c, "")
    return Books(jobs, properties, _start_workers(jobs, properties))


@dataclass
class Books:
    """Task workbooks being written: the jobs, and the workers' pool if there is one."""

    jobs: list[tuple[TaskInput, Path]]
    properties: dict[str, Any]
    pending: tuple[ProcessPoolExecutor, list[Future[None]]] | None

    def finish(self, collect: bool = False) -> None:
        """Write, here, the jobs the workers have not started (the smallest, from the end of
        the list, while the workers go on from its start), wait for the workers, and write
        here whatever a worker failed to. ``collect``: with no workers, a garbage collection
        after each workbook (the caller has frozen the heap: see :func:`dvxl.render.
        write_consolidated`)."""
        jobs, properties = self.jobs, self.properties
        if self.pending is None:
            for data, target in jobs:
                _write_book(data, target, properties)
                if collect:
                    gc.collect()
            return
        pool, futures = self.pending
        with pool:
            for (data, target), future in reversed(list(zip(jobs, futures, strict=True))):
                if not future.cancel():  # started: the workers have the rest
                    break
                _write_book(data, target, properties)
            for (data, target), future in zip(jobs, futures, strict=True):
                if future.cancelled():
                    continue
                try:
                    future.result()
                except (BrokenProcessPool, OSError, pickle.PicklingError):
                    _write_book(data, target, properties)


def _start_workers(
    jobs: list[tuple[TaskInput, Path]], properties: dict[str, Any]
) -> tuple[ProcessPoolExecutor, list[Future[None]]] | None:
    """The task workbooks, given to worker processes; None where there are none to have.

    One process fewer than the CPUs: this one writes the period workbook meanwhile, then
    takes the jobs the workers have not started (:meth:`Books.finish`). None when this
    process has grown large (:func:`dvxl.processes.process_is_large`): at national scale it
    and a worker writing beside it held 470 MB together at 10,000 returns; written one after
    the other here, the workbooks take no more memory than the period workbook (issue 18).
    """
    workers = processes.worker_count() - 1
    if workers < 1 or not jobs or processes.process_is_large():
        return None
    try:
        # A task's data is small: forked while this process is, else started afresh.
        pool = processes.pool(min(workers, len(jobs)), mp_context=processes.fresh_context())
        return pool, [pool.submit(_write_book, data, target, properties) for data, target in jobs]
    except processes.START_ERRORS:
        return None


def _write_book(data: TaskInput, path: Path, properties: dict[str, Any]) -> None:
    """A task's workbook: its one sheet, written row by row."""

    def fill(workbook: Any) -> None:
        workbook.constant_memory = True  # see dvxl.render._Writer.build
        # Put together in memory (printing.WORKBOOK_OPTIONS) only while its XML is small.
        workbook.in_memory = len(data.rows) * (len(data.indicators) + 6) <= IN_MEMORY_CELLS
        workbook.set_properties(
            {**properties, "title": f"Nhiệm vụ {data.task.code} — {data.period_name}"})
        sheet = workbook.add_worksheet(unique_sheet_name(TASK_SHEET_PREFIX + data.task.code,
                                                         set()))
        write_sheet(Looks(workbook), sheet, data)

    printing.write_workbook(path, fill)
