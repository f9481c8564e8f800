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
    DIR/.dvxl-ma-nop.json    upload codes (:mod:`dvxl.uploadcodes`), owner-only
    DIR/ma-nop-<kỳ>.xlsx     their list for the secretariat (:mod:`dvxl.codesheet`), owner-only
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from dvxl import (
    archive,
    atomic,
    lock,
    master,
    outliersheet,
    periods,
    processes,
    render,
    report,
    taskbooks,
    template,
    uploadcodes,
)
from dvxl import intake as intake_mod
from dvxl import merge as merge_mod
from dvxl import outliers as outliers_mod
from dvxl import review as review_mod
from dvxl import seal as seal_mod
from dvxl import validate as validate_mod
from dvxl.catalog import build
from dvxl.errors import UsageError
from dvxl.findings import Code
from dvxl.intake import Decision, IntakeResult, Ledger
from dvxl.merge import Consolidated, Track
from dvxl.model import Catalog, Period, Unit
from dvxl.receipt_time import TypedReceipt
from dvxl.review import CLI, SHEET, TypedReview
from dvxl.score import Assessment
from dvxl.statuses import ReviewState
from dvxl.validate import BatchReport

if TYPE_CHECKING:
    from dvxl.history import History, UnitRecord

MASTER_NAME = "master.xlsm"


_F = TypeVar("_F", bound=Callable[..., Any])


def _one_run_at_a_time(func: _F) -> _F:
    """The call holds its workspace (:mod:`dvxl.lock`): the first argument, a
    :class:`Workspace` or the folder of one."""

    @functools.wraps(func)
    def locked(first: Workspace | Path, *args: Any, **kwargs: Any) -> Any:
        if isinstance(first, Workspace):
            first.require()
        root = first.root if isinstance(first, Workspace) else first
        with lock.exclusive(root):
            _remove_leftovers(root)
            return func(first, *args, **kwargs)

    return cast(_F, locked)


#: The folders where dvxl writes through temporary files (never the inbox: it only reads it).
_WRITTEN = ("outputs", "archive", "templates", "backup")


def _remove_leftovers(root: Path) -> None:
    """Temporary files a killed run left behind (:data:`dvxl.atomic.TEMP_PREFIX`): with the
    workspace held, no other run is writing them."""
    for folder in _WRITTEN:
        for temp in list((root / folder).rglob(f"{atomic.TEMP_PREFIX}*")):
            if temp.is_dir():  # a run's outputs written aside (atomic.Staging)
                shutil.rmtree(temp, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    temp.unlink()
    for temp in root.glob(f"{atomic.TEMP_PREFIX}*"):  # the master's own
        with contextlib.suppress(OSError):
            temp.unlink()


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

    def receipt_times(self, catalog: Catalog) -> tuple[list[TypedReceipt], list[str]]:
        """The receipt times the secretariat typed, and the rows that could not be used."""
        if self.sheets is not None:
            return master.receipt_times_from_rows(self.sheets, catalog)
        return master.read_receipt_times(self.master, catalog)

    def typed_reviews(self, catalog: Catalog) -> tuple[list[TypedReview], list[str]]:
        """The review decisions the secretariat typed, and the rows that could not be used."""
        if self.sheets is not None:
            return master.reviews_from_rows(self.sheets, catalog)
        return master.read_reviews(self.master, catalog)

    def load(self) -> Catalog:
        """The configuration as the master workbook holds it now."""
        if self.sheets is not None:
            return build(master.tables_from_rows(self.sheets))
        self.require()
        return master.read_master(self.master)

    def require(self) -> None:
        """Refuse a folder that is not a workspace (no master), before anything is written
        there, even the lock."""
        if self.sheets is None and not self.master.is_file():
            raise UsageError(
                f"Thư mục {self.root} chưa phải là thư mục làm việc của dvxl (không có "
                f"{MASTER_NAME}). Chạy «dvxl init {self.root}» hoặc chỉ thư mục bằng -w."
            )


@_one_run_at_a_time
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


@_one_run_at_a_time
def make_templates(ws: Workspace, period: str) -> list[Path]:
    """Write the period's templates from the workspace's master, signed with the workspace's
    key (made now if it has none); the period is then recorded as signed. Units' upload
    codes made for the period before (``dvxl codes``) are printed on their templates."""
    catalog = ws.load()
    code = periods.find(catalog, period).code
    key = seal_mod.ensure(ws.root)
    made = uploadcodes.load(ws.root).get(code)
    shown = {unit: uploadcodes.shown(c) for unit, c in made.units.items()} if made else None
    paths = template.write_templates(catalog, code, ws.templates(code), key, shown)
    seal_mod.record_signed(ws.root, key, code)
    return paths


@dataclass
class Validation:
    """What ``dvxl validate`` produced."""

    batch: BatchReport
    workbook: Path
    json: Path
    marked: list[Path]


@_one_run_at_a_time
def validate(
    ws: Workspace,
    inbox: Path | None = None,
    period: str | None = None,
    json_copy: Path | None = None,
    output: Path | None = None,
    progress: Callable[[Iterator[Path], int], Iterator[Path]] | None = None,
) -> Validation:
    """Validate the inbox and write the validation workbook, the JSON and marked-up copies."""
    with processes.collector_paused():
        catalog = ws.load()
        batch = _check_inbox(ws, catalog, inbox, period, progress)
        _mark_returned(ws, batch)
        found = find_outliers(ws, catalog, batch)
        return _write_validation(ws, catalog, found.shown, json_copy, output)


@dataclass(frozen=True)
class Outliers:
    """The figures of a batch's period that look wrong (:mod:`dvxl.outliers`)."""

    found: list[outliers_mod.Outlier]
    shown: BatchReport  # the batch with a W108 warning on each, for the validation outputs


def find_outliers(ws: Workspace, catalog: Catalog, batch: BatchReport) -> Outliers:
    """Each unit's accepted figures once the batch is recorded, against its own accepted
    figures in the earlier periods the ledger has and against its group's (the ledger is
    only read: the batch is not recorded yet)."""
    period = batch.period
    receipts: list[intake_mod.Receipt] = []
    earlier: list[tuple[Period, dict[str, outliers_mod.Values]]] = []
    locked: dict[tuple[str, str], str] = {}
    if ledger_path(ws).is_file():
        try:
            with Ledger(ledger_path(ws)) as ledger:
                receipts = ledger.receipts(period.code)
                recorded = ledger.periods()
                locked = review_mod.accepted(ledger.decisions())
                if set(recorded) - {period.code}:
                    from dvxl import history  # the report's modules: only with history

                    for before in history.earlier(catalog, period, recorded):
                        earlier.append((before, outliers_mod.accepted_values(
                            ledger.receipts(before.code), _of_period(locked, before.code))))
        except intake_mod.LedgerError:  # `dvxl validate` still checks the files; a merge
            receipts, earlier, locked = [], [], {}  # stops at the intake, which says why
    chosen = outliers_mod.current_returns(receipts, batch.files,
                                          _of_period(locked, period.code))
    current = {unit: values for unit, (_, values) in chosen.items()}
    found = outliers_mod.find(catalog, current, earlier)
    return Outliers(found, outliers_mod.with_findings(batch, found, chosen))


def _of_period(locked: dict[tuple[str, str], str], period: str) -> dict[str, str]:
    return {unit: sha for (p, unit), sha in locked.items() if p == period}


def flagged_with_marks(ws: Workspace, period: Period, found: list[outliers_mod.Outlier],
                       now: dt.datetime) -> tuple[outliersheet.Flagged, list[str]]:
    """The flagged figures with the secretariat's marks: those typed into the period
    workbook now in ``outputs/`` (read before it is replaced), or into the copy of its sheet
    the Excel button put in the master, are recorded in the ledger first; with the rows of
    those sheets that could not be used."""
    code = period.code
    if ws.sheets is not None:  # the master open in Excel, unsaved edits included
        names = {name.casefold(): name for name in ws.sheets}
        rows = ws.sheets.get(names.get(outliersheet.SHEET.casefold(), ""), [])
    else:
        try:
            rows = next(iter(master.sheet_rows(ws.master, [outliersheet.SHEET]).values()), [])
        except UsageError:  # the master cannot be read here: ws.load() said so already
            rows = []
    typed, problems = outliersheet.combine([
        outliersheet.read_marks(ws.outputs(code) / f"tong-hop-{code}.xlsx", code),
        outliersheet.marks_from_rows(rows, MASTER_NAME, code) if rows else ([], []),
    ])
    with Ledger(ledger_path(ws)) as ledger:
        if typed:
            ledger.save_outlier_marks(period.code, typed, now)
        marks = ledger.outlier_marks(period.code)
    return outliersheet.Flagged(found, marks), problems


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
    batch = validate_mod.validate_inbox(catalog, folder, chosen, progress=wrap, seal=ws.seal(),
                                        locked=_locked(ws))
    _keep_recorded_proven(ws, batch)
    return batch


def _keep_recorded_proven(ws: Workspace, batch: BatchReport) -> None:
    """An unproven file whose unit has a proven return recorded in the ledger for the
    period is not taken (I015), here as within a batch (issue 14). The ledger is only read,
    and only when such a file came; a ledger that cannot be opened is left for the merge to
    report (``dvxl validate`` still shows each file)."""
    units = {r.unit for r in batch.files
             if r.unit and r.readable and not r.errors and not r.superseded_by and not r.proven}
    path = ledger_path(ws)
    if not units or not path.exists():
        return
    try:
        with Ledger(path) as ledger:
            taken = ledger.proven_returns(batch.period.code, units)
    except intake_mod.LedgerError:
        return
    validate_mod.keep_proven(batch.files, taken)


def _write_validation(
    ws: Workspace,
    catalog: Catalog,
    batch: BatchReport,
    json_copy: Path | None = None,
    output: Path | None = None,
    workers: int | None = None,
    staging: atomic.Staging | None = None,
) -> Validation:
    """The validation workbook, its JSON and the marked-up copies of a checked batch
    (``workers``: see :func:`dvxl.markup.write_marked_copies`), written aside and moved
    into ``outputs/<kỳ>/`` together — or into ``staging``, which its owner commits."""
    code = batch.period.code
    own = staging is None
    stage = staging or atomic.Staging(output or ws.outputs(code))
    with stage.writing(own=own) as folder:
        from dvxl import markup  # openpyxl (a tenth of a second): imported where it is used

        # The marked copies first: a copy that cannot be made is a finding (F011) of its
        # file, which the workbook and the JSON then list (issue 14).
        marked = markup.write_marked_copies(batch, catalog, folder / MARKED_FOLDER, workers,
                                              ws.seal())
        workbook = folder / f"kiem-tra-{code}.xlsx"
        report.write_validation_workbook(batch, workbook)
        json_path = folder / f"kiem-tra-{code}.json"
        report.write_json(batch, json_path)
        if own:
            stage.commit(owned=(MARKED_FOLDER,))
    if json_copy is not None:
        report.write_json(batch, json_copy)
    return Validation(batch, stage.final(workbook), stage.final(json_path),
                      [stage.final(path) for path in marked])


#: The marked-up copies for the units, in a period's outputs.
MARKED_FOLDER = "tra-lai"


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
    """The period's consolidated data from the ledger and the master's assessments and
    typed receipt times; with the master's rows that could not be used."""
    with Ledger(ledger_path(ws)) as ledger:
        receipts = ledger.receipts(period.code)
        decisions = ledger.decisions(period.code)
    assessments, problems = ws.assessments(catalog)
    typed, unusable = ws.receipt_times(catalog)
    typed_here = [t for t in typed if t.period == period.code]
    problems += unusable + merge_mod.unused_typed(typed_here, receipts)
    # "Generated" is the newest receipt's recording time, so a re-run writes the same workbook.
    generated = max((r.recorded for r in receipts), default=None)
    return merge_mod.consolidate(catalog, period, receipts, assessments, generated,
                                 typed_here, decisions), problems


def period_history(
    ws: Workspace, catalog: Catalog, consolidated: Consolidated, since: Period | None = None
) -> History | None:
    """The consolidated period beside the earlier ones the ledger has (from ``since``);
    None when it has none. Each is consolidated as its own workbook is (:func:`consolidate`)."""
    from dvxl import history  # the report's figures: only where the ledger has history

    with Ledger(ledger_path(ws)) as ledger:
        recorded = ledger.periods()
    before = history.earlier(catalog, consolidated.period, recorded, since)
    if not before:
        return None
    from dvxl.docreport.facts import period_facts

    facts = [period_facts(consolidate(ws, catalog, p)[0]) for p in before]
    return history.History(catalog, (*facts, period_facts(consolidated)))


def unit_history(ws: Workspace, unit: str) -> tuple[Unit, list[UnitRecord]]:
    """A unit's record in every period the ledger has returns for, oldest first."""
    from dvxl import history
    from dvxl.docreport.facts import period_facts

    catalog = ws.load()
    wanted = unit.strip().casefold()
    found = next((u for u in catalog.units if u.code.casefold() == wanted), None)
    if found is None:
        raise UsageError(
            f"Không có đơn vị mã «{unit}» trong danh sách đơn vị của master.xlsm "
            "(xem trang «Đơn vị»)."
        )
    with Ledger(ledger_path(ws)) as ledger:
        recorded = history.recorded_in_order(catalog, ledger.periods())
    facts = [period_facts(consolidate(ws, catalog, p)[0]) for p in recorded]
    return found, history.History(catalog, tuple(facts)).unit(found.code) if facts else []


@_one_run_at_a_time
def merge(
    ws: Workspace,
    inbox: Path | None = None,
    period: str | None = None,
    progress: Callable[[Iterator[Path], int], Iterator[Path]] | None = None,
) -> Merge:
    """Validate the inbox, archive and record every file, merge, evaluate and render.

    After the checks, the validation outputs are written by a forked process
    (:func:`_start_validation_aside`) while this one archives, records, merges and writes
    the period's workbook: neither reads what the other writes. When this process has
    grown large, the period workbook waits for that process: it, this process and the
    period workbook's workers together would hold more than 500 MB. For more than
    :data:`ASIDE_MAX_FILES` files there is no such process: the validation outputs are
    written here first, the marked copies by a pool of workers. A forked process copies,
    page by page, what it and this one touch, the whole batch by the end (at 10,000
    returns with findings: 190 MB beside this process's 350), while the overlap it bought
    was the archiving and recording, a few seconds against the copies' ten (issue 18).
    """
    with processes.collector_paused():
        catalog = ws.load()
        # The master's review decisions first: they are about the returns the office saw.
        reviewed = _record_sheet_reviews(ws, catalog)
        batch = _check_inbox(ws, catalog, inbox, period, progress)
        _refuse_without_key(ws, batch)
        _mark_returned(ws, batch)
        code = batch.period.code
        # Before anything is recorded: the figures that look wrong go into the validation
        # outputs as W108 warnings (`shown`); the ledger records what the checks found.
        odd = find_outliers(ws, catalog, batch)
        shown = odd.shown
        # Every output of the run is written aside and moved in at the end, all together.
        stage = atomic.Staging(ws.outputs(code))
        with stage.writing():
            aside = None
            validation: Validation | None = None
            if len(batch.files) > ASIDE_MAX_FILES:
                # National scale: here first, the marked copies by a pool (issue 18).
                validation = _write_validation(ws, catalog, shown, staging=stage)
            else:
                aside = _start_validation_aside(ws, catalog, shown, stage)
            try:
                result = intake_mod.intake(ws.root, batch)
                consolidated, problems = consolidate(ws, catalog, batch.period)
                flagged, unusable = flagged_with_marks(ws, batch.period, odd.found,
                                                       dt.datetime.now())
                problems += unusable
                if aside is not None and processes.process_is_large():
                    validation = _finish_validation_aside(aside, ws, catalog, shown, stage)
                path = stage.folder / f"tong-hop-{code}.xlsx"
                render.write_consolidated(consolidated, path,
                                          period_history(ws, catalog, consolidated), flagged)
            finally:
                if validation is None:
                    validation = _finish_validation_aside(aside, ws, catalog, shown, stage)
            stage.commit(owned=(MARKED_FOLDER, taskbooks.TASKS_FOLDER))
    return Merge(validation, result, consolidated, stage.final(path), reviewed + problems)


def _refuse_without_key(ws: Workspace, batch: BatchReport) -> None:
    """Stop before anything is recorded when signed returns arrive in a workspace that has
    lost its key: the ledger would keep «not verified» (I013) as their outcome for good,
    although restoring the key proves them. ``dvxl validate`` still shows each file."""
    if seal_mod.key_path(ws.root).exists():
        return
    names = [r.name for r in batch.files
             if any(f.code == Code.OTHER_WORKSPACE_KEY for f in r.findings)]
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

#: Above this many files a merge writes its validation outputs itself (see :func:`merge`).
ASIDE_MAX_FILES = 2_000

_Paths = tuple[Path, Path, list[Path]]


def _start_validation_aside(
    ws: Workspace, catalog: Catalog, batch: BatchReport, stage: atomic.Staging
) -> processes.Aside[_Paths] | None:
    """Start writing the validation outputs in a forked process; None where there is none.

    Only where processes fork (Linux, :func:`dvxl.processes.start_aside`): the child
    inherits the batch instead of receiving it pickled. Elsewhere the outputs are written
    here, after the period workbook.
    """

    def write() -> _Paths:
        done = _write_validation(ws, catalog, batch, workers=1, staging=stage)
        return done.workbook, done.json, done.marked

    return processes.start_aside(write)


def _finish_validation_aside(
    aside: processes.Aside[_Paths] | None,
    ws: Workspace,
    catalog: Catalog,
    batch: BatchReport,
    stage: atomic.Staging,
) -> Validation:
    """Wait for the forked process; write the outputs here if it could not (what it
    raised is raised here)."""
    done = aside.wait() if aside is not None else None
    if done is not None:
        workbook, json_path, marked = done
        return Validation(batch, workbook, json_path, marked)
    return _write_validation(ws, catalog, batch, staging=stage)


# The secretariat's review (issue 16) ------------------------------------------------------------


@dataclass
class Reviewed:
    """What ``dvxl review`` did: the unit's tracking row after the decision."""

    period: Period
    track: Track


@_one_run_at_a_time
def review(ws: Workspace, unit: str, state: ReviewState, reason: str = "", by: str = "",
           period: str | None = None) -> Reviewed:
    """Record the secretariat's decision on a unit's current valid return for the period
    (the one the ledger received last by default): accept it, return it with ``reason``,
    or reopen it (``state`` waiting). The master is not written."""
    catalog = ws.load()
    found = _addressed(catalog, unit)
    chosen = recorded_period(ws, catalog, period)
    reason = " ".join(reason.split())
    if state is ReviewState.RETURNED and not reason:
        raise UsageError("Trả lại báo cáo cần ghi lý do, ví dụ: --return \"Thiếu số liệu mục 2\".")
    track = _track_of(consolidate(ws, catalog, chosen)[0], found.code)
    if track.review is None:
        raise UsageError(
            f"Đơn vị «{found.code}» chưa có báo cáo hợp lệ kỳ {chosen.code} ({track.status.label}"
            f"{': ' + track.note if track.note else ''}): chưa có gì để duyệt.")
    with Ledger(ledger_path(ws)) as ledger:
        ledger.record_decisions([Decision(
            chosen.code, found.code, track.review.sha256, state.value,
            reason if state is ReviewState.RETURNED else "", by, dt.datetime.now(), CLI)])
    return Reviewed(chosen, _track_of(consolidate(ws, catalog, chosen)[0], found.code))


@dataclass
class ReviewHistory:
    """A unit's review decisions for a period, oldest first, with the files they were about."""

    period: Period
    track: Track
    decisions: list[Decision]
    names: dict[str, str]  # file name by SHA-256


def review_history(ws: Workspace, unit: str, period: str | None = None) -> ReviewHistory:
    """Every decision on a unit's returns of the period (nothing is written)."""
    catalog = ws.load()
    found = _addressed(catalog, unit)
    chosen = recorded_period(ws, catalog, period)
    track = _track_of(consolidate(ws, catalog, chosen)[0], found.code)
    with Ledger(ledger_path(ws)) as ledger:
        decisions = [d for d in ledger.decisions(chosen.code) if d.unit == found.code]
        names = {r.sha256: r.name for r in ledger.receipts(chosen.code) if r.unit == found.code}
    return ReviewHistory(chosen, track, decisions, names)


def _addressed(catalog: Catalog, code: str) -> Unit:
    wanted = code.strip().casefold()
    found = next((u for u in catalog.addressed_units() if u.code.casefold() == wanted), None)
    if found is None:
        raise UsageError(
            f"Không có đơn vị mã «{code}» trong các đơn vị được giao nhiệm vụ (trang «Đơn vị» "
            "của master.xlsm).")
    return found


def _track_of(consolidated: Consolidated, unit: str) -> Track:
    return next(t for t in consolidated.tracking if t.unit.code == unit)


def _record_sheet_reviews(ws: Workspace, catalog: Catalog) -> list[str]:
    """Record the rows of the master's «Duyệt báo cáo» that changed since they were last
    read, as decisions made now on each unit's current return; the rows that could not be
    used (and those naming a unit without a valid return) come back as problems."""
    typed, problems = ws.typed_reviews(catalog)
    if not typed:
        return problems
    with Ledger(ledger_path(ws)) as ledger:
        changed = review_mod.changed_rows(typed, ledger.decisions())
    now = dt.datetime.now()
    decisions: list[Decision] = []
    for code in dict.fromkeys(row.period for row in changed):
        consolidated = consolidate(ws, catalog, periods.find(catalog, code))[0]
        tracks = {t.unit.code: t for t in consolidated.tracking}
        for row in (r for r in changed if r.period == code):
            track = tracks.get(row.unit)
            if track is None or track.review is None:
                problems.append(f"{row.where}: đơn vị «{row.unit}» chưa có báo cáo hợp lệ kỳ "
                                f"{code}; quyết định «{row.state.label}» chưa áp dụng cho báo cáo "
                                "nào")
            sha = track.review.sha256 if track is not None and track.review is not None else ""
            decisions.append(Decision(code, row.unit, sha, row.state.value, row.reason,
                                      row.decided_by, now, SHEET))
    if decisions:
        with Ledger(ledger_path(ws)) as ledger:
            ledger.record_decisions(decisions)
    return problems


def _locked(ws: Workspace) -> set[tuple[str, str]]:
    """(unit, period) whose return the secretariat accepted: their latest decision."""
    if not ledger_path(ws).is_file():
        return set()
    with Ledger(ledger_path(ws)) as ledger:
        decisions = ledger.decisions()
    return {(unit, period) for period, unit in review_mod.accepted(decisions)}


def _mark_returned(ws: Workspace, batch: BatchReport) -> None:
    """Give each file of the batch the secretariat returned its reason, for its marked-up
    copy (:mod:`dvxl.markup`): the return its unit's latest decision sent back."""
    if not ledger_path(ws).is_file():
        return
    with Ledger(ledger_path(ws)) as ledger:
        decisions = ledger.decisions(batch.period.code)
    latest = {(d.unit, d.sha256): d for d in decisions}
    last_of_unit = {d.unit: d for d in decisions}
    for file in batch.files:
        decision = latest.get((file.unit, file.sha256))
        if (decision is not None and decision is last_of_unit.get(file.unit)
                and decision.state == ReviewState.RETURNED.value and not file.superseded_by):
            file.returned = decision.reason


def status(ws: Workspace, period: str | None = None) -> Consolidated:
    """Where every unit stands for the period, from the ledger (nothing is read from the
    inbox); without a period, the one received last."""
    catalog = ws.load()
    return consolidate(ws, catalog, recorded_period(ws, catalog, period))[0]


def recorded_period(ws: Workspace, catalog: Catalog, period: str | None) -> Period:
    """The period asked for, else the one the ledger received last (for commands that
    read the ledger: status, report)."""
    if period:
        return periods.find(catalog, period)
    with Ledger(ledger_path(ws)) as ledger:
        return periods.recorded(catalog, ledger.periods(), ledger.last_period())


@dataclass
class Report:
    """What ``dvxl report`` produced."""

    period: Period
    docx: Path
    pdf: Path | None
    pdf_problem: str  # why there is no PDF when one was asked for ("" otherwise)
    compared: list[Period]  # earlier periods the ledger had and the report compares with
    problems: list[str]  # assessment rows the master holds that could not be used
    since: Period | None = None  # the first period of a sơ kết over a span


@_one_run_at_a_time
def write_report(
    ws: Workspace,
    period: str | None = None,
    date: dt.date | None = None,
    number: str = "",
    pdf: bool = False,
    since: str | None = None,
) -> Report:
    """Write the period report ``outputs/P/bao-cao-P.docx`` (and its PDF) from the ledger.

    It is compared with the previous period and the same period a year earlier when
    the ledger has returns for them. With ``since`` (a period code), a sơ kết / tổng kết
    over the periods from ``since`` to ``period`` that the ledger has returns for,
    ``outputs/P/bao-cao-P0-den-P.docx``: its tables have a column per period. The
    workspace's ``mau-bao-cao.docx``, when there is one, replaces the shipped template.
    """
    from dvxl import docreport, history  # python-docx and docxtpl: only for the report
    from dvxl.docreport import facts

    catalog = ws.load()
    chosen = recorded_period(ws, catalog, period)
    consolidated, problems = consolidate(ws, catalog, chosen)
    with Ledger(ledger_path(ws)) as ledger:
        recorded = set(ledger.periods())
    earlier: list[facts.PeriodFacts | None] = []
    for other in facts.comparison_periods(catalog, chosen):
        if other is not None and other.code in recorded:
            earlier.append(facts.period_facts(consolidate(ws, catalog, other)[0]))
        else:
            earlier.append(None)
    span: tuple[facts.PeriodFacts, ...] = ()
    name = f"bao-cao-{chosen.code}.docx"
    first = None
    if since is not None:
        first = periods.find(catalog, since)
        if first.start >= chosen.start or first.end >= chosen.end:
            raise UsageError(
                f"Kỳ bắt đầu {first.code} ({first.name}) phải bắt đầu và kết thúc trước kỳ "
                f"{chosen.code} ({chosen.name})."
            )
        within = history.earlier(catalog, chosen, recorded, first)
        if not within:
            raise UsageError(
                f"Sổ ghi nhận không có báo cáo của kỳ nào từ {first.code} đến trước "
                f"{chosen.code}: chưa sơ kết được; dùng «dvxl report -p {chosen.code}»."
            )
        span = tuple(facts.period_facts(consolidate(ws, catalog, p)[0]) for p in within)
        name = f"bao-cao-{first.code}-den-{chosen.code}.docx"
    inp = docreport.ReportInput(
        catalog, facts.period_facts(consolidated), earlier[0], earlier[1], date, number, span
    )
    path = ws.outputs(chosen.code) / name
    written = docreport.write_report(inp, path, docreport.template_for(ws.root), pdf)
    compared = [f.period for f in inp.comparisons]
    return Report(chosen, written.docx, written.pdf, written.pdf_problem, compared, problems,
                  first)


def copy_report_template(ws: Workspace) -> Path:
    """``DIR/mau-bao-cao.docx``: the shipped report template, for the office to edit in Word."""
    from dvxl import docreport

    return docreport.copy_template(ws.root)


@dataclass
class Demo:
    workspace: Workspace
    templates: list[Path]
    returns: list[Path]
    merge: Merge
    report: Report
    #: The period merged before, so that the workbook and report compare (None if none).
    earlier: Merge | None = None


@_one_run_at_a_time
def demo(root: Path, period: str) -> Demo:
    """The whole cycle so far on the shipped sample, in ``root`` (which the demo owns).

    First the period before (2025-N before 2026-6T, when the catalog has one) with returns
    of its own, sent before its deadline, merged and cleared from the inbox as an office
    does once a period is closed (they stay in ``archive/``); then ``period``: its workbook
    and report compare the two.
    """
    ws = init(root, force=True)
    catalog = ws.load()
    chosen = periods.find(catalog, period)
    from dvxl import sample  # openpyxl: see _write_validation
    from dvxl.docreport.facts import comparison_periods

    before = comparison_periods(catalog, chosen)[0]
    earlier = None
    if before is not None:
        make_templates(ws, before.code)
        sample.reset_inbox(ws.inbox)
        sample.simulate_returns(catalog, before, ws.templates(before.code), ws.inbox,
                                seed=EARLIER_SEED, scenarios=sample.earlier_scenarios(catalog))
        earlier = merge(ws, period=before.code)
    templates = make_templates(ws, period)
    sample.reset_inbox(ws.inbox)
    returns = sample.simulate_returns(catalog, chosen, ws.templates(chosen.code), ws.inbox)
    sample.type_assessments(ws.master, catalog, chosen)
    merged = merge(ws, period=chosen.code)
    return Demo(ws, templates, returns, merged, write_report(ws, chosen.code), earlier)


#: The simulated returns of the demo's earlier period differ from the period's own.
EARLIER_SEED = 2025


@dataclass
class Verification:
    """What ``dvxl verify`` found: how many contents were hashed again, and what is wrong."""

    checked: int
    damage: list[archive.Damage]
    unrecorded: list[Path]  # packs set aside because no ledger row names them


def verify(ws: Workspace) -> Verification:
    """Hash every archived content again against the ledger (nothing is written)."""
    if not ledger_path(ws).is_file():
        raise UsageError(f"Thư mục {ws.root} chưa có sổ ghi nhận (ledger.sqlite): chưa tiếp "
                         "nhận tệp nào nên chưa có gì để kiểm tra.")
    with Ledger(ledger_path(ws)) as ledger:
        held = ledger.held()
    folder = ws.root / archive.ARCHIVE_DIR / archive.UNRECORDED_DIR
    unrecorded = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    return Verification(len(held), archive.verify(ws.root, held), unrecorded)


def export_catalog(ws: Workspace, folder: Path | None = None) -> list[Path]:
    """Write the master's configuration back to text files (``catalog/`` by default)."""
    from dvxl import textio

    return textio.dump_catalog(ws.load(), folder or ws.catalog_dir)
