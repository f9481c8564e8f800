"""A workspace: the secretariat's folder holding the master workbook and everything around it.

::

    DIR/master.xlsm          the configuration, owned by the secretariat
    DIR/inbox/               returned files, dropped here as they arrive
    DIR/templates/<kỳ>/      one template per unit and period
    DIR/outputs/<kỳ>/        validation and merge results
    DIR/catalog/             the text catalog exported from the master
    DIR/archive/             every received file, once, named by its SHA-256
    DIR/ledger.sqlite        the record of every receipt (intake)
    DIR/backup/              earlier masters replaced by ``init --force``
    DIR/.dvxl-key            the key that signs templates (:mod:`dvxl.seal`), owner-only
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import cast

from dvxl import intake as intake_mod
from dvxl import master, periods, render, report, template
from dvxl import merge as merge_mod
from dvxl import seal as seal_mod
from dvxl import validate as validate_mod
from dvxl.catalog import build
from dvxl.errors import UsageError
from dvxl.intake import IntakeResult, Ledger
from dvxl.merge import Consolidated
from dvxl.model import Catalog, Period
from dvxl.score import Assessment
from dvxl.validate import BatchReport

MASTER_NAME = "master.xlsm"


def sample_catalog_dir() -> Path:
    """The seed directive's catalog shipped with dvxl (``workbook/`` in the repository)."""
    repo = Path(__file__).resolve().parent.parent / "workbook"
    if (repo / "directive.yaml").is_file():
        return repo
    return Path(__file__).resolve().parent / "example"  # installed: see vba.macros_dir


@dataclass(frozen=True)
class Workspace:
    root: Path
    #: The master's sheets as rows when they come from the workbook open in Excel
    #: (:mod:`dvxl.excel`): configuration and assessments are then read from them,
    #: unsaved edits included, instead of from the file.
    sheets: master.SheetRows | None = field(default=None, compare=False, repr=False)

    @property
    def master(self) -> Path:
        return self.root / MASTER_NAME

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def templates(self, period: str) -> Path:
        return self.root / "templates" / period

    def outputs(self, period: str) -> Path:
        return self.root / "outputs" / period

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    def seal(self) -> seal_mod.Seal:
        """The key that signs this workspace's templates, and the periods it signed
        (a seal without a key if no template was signed here yet)."""
        return seal_mod.load(self.root)

    def assessments(self, catalog: Catalog) -> tuple[list[Assessment], list[str]]:
        """The secretariat's assessments, and the rows that could not be used."""
        if self.sheets is not None:
            return master.assessments_from_rows(self.sheets, catalog)
        return master.read_assessments(self.master, catalog)

    def load(self) -> Catalog:
        """The configuration as the master workbook holds it now."""
        if self.sheets is not None:
            return build(master.tables_from_rows(self.sheets))
        if not self.master.is_file():
            raise UsageError(
                f"Thư mục {self.root} chưa phải là thư mục làm việc của dvxl (không có "
                f"{MASTER_NAME}). Chạy «dvxl init {self.root}» hoặc chỉ thư mục bằng -w."
            )
        return master.read_master(self.master)


def init(root: Path, catalog_dir: Path | None = None, force: bool = False) -> Workspace:
    """Make a workspace at ``root`` with a master workbook built from a text catalog.

    An existing master is never overwritten silently: without ``force`` this
    refuses; with it, the old master is first copied into ``backup/``. A catalog without a
    template password («mật khẩu khóa mẫu», the shipped sample's) gets a new random one, so
    that no two offices lock their templates alike. The signing key is left as it is.
    """
    from dvxl import textio  # PyYAML: only for the text catalog

    catalog = textio.load_catalog(catalog_dir or sample_catalog_dir())
    if not catalog.settings.sheet_password:
        settings = dataclasses.replace(catalog.settings, sheet_password=seal_mod.new_password())
        catalog = dataclasses.replace(catalog, settings=settings)
    ws = Workspace(root)
    if ws.master.exists():
        if not force:
            raise UsageError(
                f"{ws.master} đã có. Sổ tổng hợp thuộc về văn phòng nên dvxl không ghi đè; "
                "dùng --force để tạo lại (bản cũ được chép vào thư mục backup/)."
            )
        backup = root / "backup"
        backup.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        shutil.copy2(ws.master, backup / f"{ws.master.stem}-{stamp}{ws.master.suffix}")
    root.mkdir(parents=True, exist_ok=True)
    ws.inbox.mkdir(exist_ok=True)
    master.write_master(catalog, ws.master)
    return ws


def make_templates(ws: Workspace, period: str) -> list[Path]:
    """Write the period's templates from the workspace's master, signed with the workspace's
    key (made now if it has none); the period is then recorded as signed."""
    catalog = ws.load()
    code = periods.find(catalog, period).code
    key = seal_mod.ensure(ws.root)
    paths = template.write_templates(catalog, code, ws.templates(code), key)
    seal_mod.record_signed(ws.root, key, code)
    return paths


@dataclass
class Validation:
    """What ``dvxl validate`` produced."""

    batch: BatchReport
    workbook: Path
    json: Path
    marked: list[Path]


def validate(
    ws: Workspace,
    inbox: Path | None = None,
    period: str | None = None,
    json_copy: Path | None = None,
    output: Path | None = None,
    progress: Callable[[Iterator[Path], int], Iterator[Path]] | None = None,
) -> Validation:
    """Validate the inbox and write the validation workbook, the JSON and marked-up copies."""
    with validate_mod.collector_paused():
        catalog = ws.load()
        batch = _check_inbox(ws, catalog, inbox, period, progress)
        return _write_validation(ws, catalog, batch, json_copy, output)


def _check_inbox(
    ws: Workspace,
    catalog: Catalog,
    inbox: Path | None,
    period: str | None,
    progress: Callable[[Iterator[Path], int], Iterator[Path]] | None,
) -> BatchReport:
    """Read and check every file of the inbox (nothing is written by this function)."""
    chosen = periods.find(catalog, period) if period else None
    folder = inbox or (periods.inbox_for(ws.inbox, chosen) if chosen else ws.inbox)
    if not folder.is_dir():
        raise UsageError(f"Không có thư mục nhận báo cáo {folder}.")
    count = len(validate_mod.inbox_files(folder))
    wrap = (lambda it: progress(it, count)) if progress else None
    return validate_mod.validate_inbox(catalog, folder, chosen, progress=wrap, seal=ws.seal())


def _write_validation(
    ws: Workspace,
    catalog: Catalog,
    batch: BatchReport,
    json_copy: Path | None = None,
    output: Path | None = None,
    workers: int | None = None,
) -> Validation:
    """The validation workbook, its JSON and the marked-up copies of a checked batch
    (``workers``: see :func:`dvxl.markup.write_marked_copies`)."""
    code = batch.period.code
    out = output or ws.outputs(code)
    out.mkdir(parents=True, exist_ok=True)
    workbook = out / f"kiem-tra-{code}.xlsx"
    report.write_validation_workbook(batch, workbook)
    json_path = out / f"kiem-tra-{code}.json"
    report.write_json(batch, json_path)
    if json_copy is not None:
        report.write_json(batch, json_copy)
    from dvxl import markup  # openpyxl (a tenth of a second): imported where it is used

    marked = markup.write_marked_copies(batch, catalog, out / "tra-lai", workers, ws.seal())
    return Validation(batch, workbook, json_path, marked)


@dataclass
class Merge:
    """What ``dvxl merge`` produced."""

    validation: Validation
    intake: IntakeResult
    consolidated: Consolidated
    workbook: Path
    problems: list[str]  # assessment rows the master holds that could not be used


def ledger_path(ws: Workspace) -> Path:
    return ws.root / "ledger.sqlite"


def consolidate(ws: Workspace, catalog: Catalog, period: Period) -> tuple[Consolidated, list[str]]:
    """The period's consolidated data from the ledger and the master's assessments."""
    with Ledger(ledger_path(ws)) as ledger:
        receipts = ledger.receipts(period.code)
    assessments, problems = ws.assessments(catalog)
    # "Generated" is the newest receipt's recording time, so a re-run writes the same workbook.
    generated = max((r.recorded for r in receipts), default=None)
    return merge_mod.consolidate(catalog, period, receipts, assessments, generated), problems


def merge(
    ws: Workspace,
    inbox: Path | None = None,
    period: str | None = None,
    progress: Callable[[Iterator[Path], int], Iterator[Path]] | None = None,
) -> Merge:
    """Validate the inbox, archive and record every file, merge, evaluate and render.

    After the checks, the validation outputs are written by a forked process
    (:func:`_start_validation_aside`) while this one archives, records, merges and writes
    the period's workbook: neither reads what the other writes. At national scale the
    period workbook waits for that process: it, this process and the period workbook's
    workers together would hold more than 500 MB at 10,000 returns.
    """
    with validate_mod.collector_paused():
        catalog = ws.load()
        batch = _check_inbox(ws, catalog, inbox, period, progress)
        _refuse_without_key(ws, batch)
        aside = _start_validation_aside(ws, catalog, batch)
        waited = False
        try:
            result = intake_mod.intake(ws.root, batch)
            consolidated, problems = consolidate(ws, catalog, batch.period)
            if aside is not None and render.process_is_large():
                waited = True
                validation = _finish_validation_aside(aside, ws, catalog, batch)
            path = ws.outputs(batch.period.code) / f"tong-hop-{batch.period.code}.xlsx"
            render.write_consolidated(consolidated, path)
        finally:
            if not waited:
                validation = _finish_validation_aside(aside, ws, catalog, batch)
    return Merge(validation, result, consolidated, path, problems)


def _refuse_without_key(ws: Workspace, batch: BatchReport) -> None:
    """Stop before anything is recorded when signed returns arrive in a workspace that has
    lost its key: the ledger would keep «not verified» (I013) as their outcome for good,
    although restoring the key proves them. ``dvxl validate`` still shows each file."""
    if seal_mod.key_path(ws.root).exists():
        return
    names = [r.name for r in batch.files if any(f.code == "I013" for f in r.findings)]
    if not names:
        return
    shown = ", ".join(f"«{name}»" for name in names[:3]) + (", …" if len(names) > 3 else "")
    raise UsageError(
        f"Thư mục làm việc {ws.root} không có tệp khóa ký mẫu {seal_mod.KEY_FILE}, nên không "
        f"xác minh được {len(names)} tệp có chữ ký ({shown}); chưa tiếp nhận tệp nào. Hãy chép "
        f"lại tệp {seal_mod.KEY_FILE} (từ bản sao lưu hoặc máy cũ) vào {ws.root} rồi chạy lại. "
        f"Nếu không còn tệp đó: tạo lại mẫu (dvxl templates -p {batch.period.code}) và gửi cho "
        "các đơn vị điền lại. Nếu văn phòng chưa từng tạo mẫu có chữ ký, các tệp đó không phải "
        "mẫu văn phòng gửi: hãy bỏ chúng ra khỏi hộp thư. «dvxl validate» vẫn chạy được để "
        "xem từng tệp."
    )


# The validation outputs of a merge, written by a forked process -----------------------------

_Paths = tuple[Path, Path, list[Path]]
_aside_job: tuple[Workspace, Catalog, BatchReport, Connection] | None = None


def _start_validation_aside(
    ws: Workspace, catalog: Catalog, batch: BatchReport
) -> tuple[BaseProcess, Connection] | None:
    """Start writing the validation outputs in a forked process; None where there is none.

    Only where processes fork (Linux): the child inherits the batch instead of receiving it
    pickled. A bare process and a pipe, not a pool: a pool's thread in this process would
    make the forks that follow (the period workbook's workers) unsafe. Elsewhere the
    outputs are written here, after the period workbook.
    """
    global _aside_job
    if not sys.platform.startswith("linux") or validate_mod.worker_count() < 2:
        return None
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    _aside_job = (ws, catalog, batch, sender)
    try:
        with validate_mod.frozen_heap():
            process = context.Process(target=_write_validation_aside, daemon=True)
            process.start()
    except (OSError, ImportError, NotImplementedError):
        receiver.close()
        return None
    finally:
        _aside_job = None
        sender.close()  # the child holds its own end: its exit closes the pipe
    return process, receiver


def _write_validation_aside() -> None:
    """In the forked process: send the outputs' paths, or what stopped it, up the pipe."""
    assert _aside_job is not None, "the process was started without its job"
    validate_mod.start_collecting()
    ws, catalog, batch, sender = _aside_job
    answer: tuple[str, object]
    try:
        done = _write_validation(ws, catalog, batch, workers=1)
        answer = ("done", (done.workbook, done.json, done.marked))
    except BaseException as exc:  # raised again in the parent, where it is reported
        answer = ("failed", exc)
    try:
        sender.send(answer)
    except Exception:  # an exception that cannot be pickled: the parent writes them itself
        sender.send(("failed", None))
    sender.close()


def _finish_validation_aside(
    aside: tuple[BaseProcess, Connection] | None,
    ws: Workspace,
    catalog: Catalog,
    batch: BatchReport,
) -> Validation:
    """Wait for the forked process; write the outputs here if it could not."""
    if aside is not None:
        process, receiver = aside
        try:
            kind, payload = receiver.recv()
        except (EOFError, OSError):  # the process died
            kind, payload = "failed", None
        finally:
            receiver.close()
            process.join()
        if kind == "done":
            workbook, json_path, marked = cast(_Paths, payload)
            return Validation(batch, workbook, json_path, marked)
        if isinstance(payload, BaseException):
            raise payload
    return _write_validation(ws, catalog, batch)


def status(ws: Workspace, period: str | None = None) -> Consolidated:
    """Where every unit stands for the period, from the ledger (nothing is read from the
    inbox); without a period, the one received last."""
    catalog = ws.load()
    if period:
        chosen = periods.find(catalog, period)
    else:
        with Ledger(ledger_path(ws)) as ledger:
            chosen = periods.recorded(catalog, ledger.periods(), ledger.last_period())
    return consolidate(ws, catalog, chosen)[0]


@dataclass
class Demo:
    workspace: Workspace
    templates: list[Path]
    returns: list[Path]
    merge: Merge


def demo(root: Path, period: str) -> Demo:
    """The whole cycle so far on the shipped sample, in ``root`` (which the demo owns)."""
    ws = init(root, force=True)
    templates = make_templates(ws, period)
    catalog = ws.load()
    chosen = periods.find(catalog, period)
    from dvxl import sample  # openpyxl: see _write_validation

    sample.reset_inbox(ws.inbox)
    returns = sample.simulate_returns(catalog, chosen, ws.templates(chosen.code), ws.inbox)
    sample.type_assessments(ws.master, catalog, chosen)
    return Demo(ws, templates, returns, merge(ws, period=chosen.code))


def export_catalog(ws: Workspace, folder: Path | None = None) -> list[Path]:
    """Write the master's configuration back to text files (``catalog/`` by default)."""
    from dvxl import textio

    return textio.dump_catalog(ws.load(), folder or ws.catalog_dir)
