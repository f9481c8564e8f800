"""What an unlucky office or a determined unit puts in the inbox (issue 14), class by class:
odd names, things that are no regular file, pathological workbooks, non-finite figures,
files over the size limit. Each test fails on the code as it was before the issue.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from dvxl import markup, sample, workspace
from dvxl.archive import locations
from dvxl.form import form_rows, template_name
from dvxl.intake import dumps_values
from dvxl.statuses import FileStatus

import hostile

PERIOD = "2026-6T"


def _return(ws: workspace.Workspace, dest: Path, unit: str = "HU01",
            change: dict[str, object] | None = None) -> Path:
    """A return of ``unit`` (an error in it by default: a negative count, C003)."""
    catalog = ws.load()
    period = catalog.period(PERIOD)
    values = sample.good_values(catalog, catalog.unit(unit), period, random.Random(3))
    values |= {"1.1.HN_SO": -3} if change is None else change
    source = ws.templates(PERIOD) / template_name(period, catalog.unit(unit))
    sample.write_return(source, dest, values, catalog, catalog.unit(unit))
    return dest


def _cell(ws: workspace.Workspace, key: str, unit: str = "HU01") -> str:
    catalog = ws.load()
    return next(r.cell for r in form_rows(catalog, catalog.unit(unit)) if r.key == key)


def _validate(ws: workspace.Workspace, inbox: Path, out: Path) -> workspace.Validation:
    return workspace.validate(ws, inbox, PERIOD, output=out)


# Names -------------------------------------------------------------------------------------

ODD_NAMES = {
    # What a zip from a Windows PC leaves on Linux: «Báo cáo» in code page 1258.
    "not-utf8": os.fsdecode(b"B\xe1o c\xe1o HU01.xlsx"),
    "long": "Bao cao ket qua thuc hien " + "rat dai " * 40 + "HU01.xlsx",  # 350 bytes
    "escapes": "\x1b[31mHU01\x1b[0m\x07 b\u202eao cao\n.xlsx",
}


@pytest.mark.skipif(sys.platform == "win32", reason="names that are not UTF-8 are POSIX's")
def test_odd_names_never_crash_and_every_copy_is_made(
    built_workspace: workspace.Workspace, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    units = ["HU01", "HU02", "HU03"]
    for (kind, name), unit in zip(ODD_NAMES.items(), units, strict=True):
        short = name if len(name.encode(errors="surrogateescape")) < 255 else name[-200:]
        folder = inbox / kind
        folder.mkdir()
        _return(built_workspace, folder / short, unit)
    result = _validate(built_workspace, inbox, tmp_path / "out")
    assert len(result.batch.files) == 3 and len(result.marked) == 3  # no copy lost
    assert {r.unit for r in result.batch.files} == set(units)
    for path in result.marked:
        assert len(path.name.encode()) <= 200 and path.name.isprintable()
    shown = [r.name for r in result.batch.files]
    assert "not-utf8/Báo cáo HU01.xlsx" in shown  # decoded, as the clerk named it
    for name in shown:
        name.encode("utf-8")  # no lone surrogate left
        assert name.isprintable() and len(name) <= 160
    data = json.loads(result.json.read_text(encoding="utf-8"))
    assert [f["name"] for f in data["files"]] == shown
    assert all(f["file"].isprintable() for r in data["files"] for f in r["findings"])


def test_the_terminal_gets_no_escape_sequence(
    built_workspace: workspace.Workspace, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from dvxl.cli import cli

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _return(built_workspace, inbox / ODD_NAMES["escapes"])
    run = CliRunner().invoke(cli, ["validate", str(inbox), "-p", PERIOD, "-w",
                                   str(built_workspace.root), "-o", str(tmp_path / "out")])
    assert "1 lỗi" in run.output, run.output
    assert "\x1b" not in run.output and "\u202e" not in run.output and "\x07" not in run.output


# Only regular files inside the inbox ----------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="symbolic links and FIFOs are POSIX's")
def test_links_fifos_and_devices_are_reported_never_read_or_archived(
    fresh_workspace: workspace.Workspace, tmp_path: Path
) -> None:
    ws = fresh_workspace
    workspace.make_templates(ws, PERIOD)
    inbox = ws.inbox
    secret = _return(ws, tmp_path / "outside" / "HU02.xlsx", "HU02", change={})
    (tmp_path / "outside" / "other").mkdir()
    _return(ws, inbox / "HU01.xlsx", "HU01", change={})
    (inbox / "HU02.xlsx").symlink_to(secret)
    (inbox / "thu-muc").symlink_to(tmp_path / "outside")
    (inbox / "ban-sao.xlsx").symlink_to(inbox / "HU01.xlsx")
    (inbox / "dev-zero.xlsx").symlink_to("/dev/zero")
    (inbox / "hong.xlsx").symlink_to(tmp_path / "khong-co.xlsx")
    os.mkfifo(inbox / "ong.xlsx")  # reading it would wait for ever
    started = time.monotonic()
    result = workspace.merge(ws, period=PERIOD)
    assert time.monotonic() - started < 60
    by_name = {r.name: r for r in result.validation.batch.files}
    odd = ["HU02.xlsx", "thu-muc", "ban-sao.xlsx", "dev-zero.xlsx", "hong.xlsx", "ong.xlsx"]
    assert sorted(by_name) == sorted([*odd, "HU01.xlsx"])
    for name in odd:
        report = by_name[name]
        assert [f.code for f in report.findings] == ["F010"], name
        assert report.status is FileStatus.IGNORED and report.sha256 == "" and not report.unit
    assert "ra ngoài" in by_name["HU02.xlsx"].findings[0].message or \
        "ngoài hộp thư" in by_name["HU02.xlsx"].findings[0].message
    # Only HU01's own file is archived and recorded: nothing from outside the inbox.
    assert [r.name for r in result.intake.new] == ["HU01.xlsx"]
    with zipfile.ZipFile(ws.root / locations(ws.root)[0].rsplit("/", 1)[0]) as pack:
        assert pack.namelist() == [f"{by_name['HU01.xlsx'].sha256}.xlsx"]
    assert not any(r.unit == "HU02" for r in result.intake.new)


# Pathological workbooks: bounded time and memory on every route ----------------------------------

#: What one validate may take on a file built to cost seconds and gigabytes (it took 160 s
#: and 19 GB before issue 14): the address space of the process, and the wall clock.
MEMORY_CAP = 1536 << 20
TIME_CAP = 60


def _validate_capped(ws: workspace.Workspace, inbox: Path, out: Path) -> dict[str, object]:
    """``dvxl validate`` in a process of its own, its memory and time capped; its JSON."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    code = ("import sys; from dvxl.cli import main; sys.argv = sys.argv[1:]; main()")
    env = dict(os.environ, DVXL_WORKERS="1")
    done = subprocess.run(
        [sys.executable, "-c", code, "dvxl", "validate", str(inbox), "-p", PERIOD, "-w",
         str(ws.root), "-o", str(out)],
        capture_output=True, text=True, timeout=TIME_CAP, preexec_fn=cap, env=env, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    result: dict[str, object] = json.loads((out / f"kiem-tra-{PERIOD}.json").read_text("utf-8"))
    return result


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS caps the address space on Linux")
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda f, g: hostile.far_row(f, g), id="far-row-in-the-form"),
        pytest.param(lambda f, g: hostile.far_row(f, g, "xl/worksheets/sheet1.xml"),
                     id="far-row-in-a-sheet-not-read"),
        pytest.param(lambda f, g: hostile.last_row_comment(f, g), id="last-row-and-a-comment"),
        pytest.param(lambda f, g: hostile.last_row_comment(f, g, "Hướng dẫn"),
                     id="last-row-and-a-comment-elsewhere"),
        # A comment sends the copy to openpyxl, which loads the sheet with the far row.
        pytest.param(lambda f, g: hostile.far_row(
            f, hostile.last_row_comment(f.parent, g, "Hướng dẫn"), "xl/worksheets/sheet1.xml"),
            id="far-row-and-a-comment-openpyxl-route"),
    ],
)
def test_pathological_returns_cost_bounded_time_and_memory(
    built_workspace: workspace.Workspace, tmp_path: Path, build: object
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = _return(built_workspace, tmp_path / "HU01.xlsx")
    path = build(inbox, good)  # type: ignore[operator]
    other = _return(built_workspace, inbox / "HU02.xlsx", "HU02")
    out = tmp_path / "out"
    data = _validate_capped(built_workspace, inbox, out)
    files = data["files"]
    assert isinstance(files, list) and len(files) == 2
    copies = sorted(p.name for p in (out / "tra-lai").iterdir())
    assert copies == sorted([f"{path.stem}-can-sua.xlsx", f"{other.stem}-can-sua.xlsx"])


def test_a_copy_that_fails_is_a_finding_and_the_others_are_made(
    built_workspace: workspace.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for unit in ("HU01", "HU02", "HU03"):
        _return(built_workspace, inbox / f"{unit}.xlsx", unit)
    make = markup._Job.make

    def failing(job: markup._Job, report: markup.FileReport) -> tuple[Path, str]:
        if report.unit == "HU02":
            raise MemoryError
        return make(job, report)

    monkeypatch.setattr(markup._Job, "make", failing)
    result = _validate(built_workspace, inbox, tmp_path / "out")
    assert sorted(p.name for p in result.marked) == ["HU01-can-sua.xlsx", "HU03-can-sua.xlsx"]
    data = json.loads(result.json.read_text(encoding="utf-8"))
    codes = {f["name"]: [x["code"] for x in f["findings"]] for f in data["files"]}
    assert codes == {"HU01.xlsx": ["C003"], "HU02.xlsx": ["C003", "F011"],
                     "HU03.xlsx": ["C003"]}
    assert not [p for p in (tmp_path / "out" / "tra-lai").iterdir() if ".tmp" in p.name
                or p.name.startswith(".")]


# Figures that are not figures -------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"NaN", b"nan", b"INF", b"-inf", b"1e308", b"1E+300"])
def test_non_finite_and_absurd_numbers_are_not_figures(
    built_workspace: workspace.Workspace, tmp_path: Path, raw: bytes
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = _return(built_workspace, tmp_path / "HU01.xlsx", change={})
    score = _cell(built_workspace, "1.1.TU_CHAM")
    hostile.with_cell_xml(inbox, good, score, raw, "HU01.xlsx")
    result = _validate(built_workspace, inbox, tmp_path / "out")
    report = result.batch.files[0]
    assert [(f.code, f.cell) for f in report.findings] == [("C002", score)]
    assert "1.1.TU_CHAM" not in report.values or report.values["1.1.TU_CHAM"] is None


def test_a_long_number_typed_as_text_is_not_a_figure(
    built_workspace: workspace.Workspace, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _return(built_workspace, inbox / "HU01.xlsx", change={"1.1.HN_SO": "9" * 400})
    report = _validate(built_workspace, inbox, tmp_path / "out").batch.files[0]
    assert [f.code for f in report.findings] == ["C002"]


def test_the_ledger_json_is_strict() -> None:
    text = dumps_values({"a": float("nan"), "b": float("inf"), "c": 1.5})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == \
        {"a": None, "b": None, "c": 1.5}


# Files over the size limit ---------------------------------------------------------------


def test_a_file_over_the_limit_is_recorded_not_archived_and_a_sparse_one_not_expanded(
    fresh_workspace: workspace.Workspace,
) -> None:
    ws = fresh_workspace
    workspace.make_templates(ws, PERIOD)
    inbox = ws.inbox
    _return(ws, inbox / "HU01.xlsx", change={})
    big = inbox / "HU02.xlsx"
    big.write_bytes(random.Random(2).randbytes(21 << 20))  # over the sample's 20 MB
    sparse = inbox / "HU03.xlsx"
    with sparse.open("wb") as handle:  # 100 MB that take no room on disk
        handle.truncate(100 << 20)
    result = workspace.merge(ws, period=PERIOD)
    by_name = {r.name: r for r in result.validation.batch.files}
    assert [f.code for f in by_name["HU02.xlsx"].findings] == ["F005"]
    assert [f.code for f in by_name["HU03.xlsx"].findings] == ["F005"]
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        rows = dict(db.execute("SELECT f.sha256, f.archived || '|' || f.size FROM files f"))
    for name, size in (("HU02.xlsx", 21 << 20), ("HU03.xlsx", 100 << 20)):
        assert rows[by_name[name].sha256] == f"|{size}"  # recorded: digest and size, no copy
    archived = sum(p.stat().st_blocks * 512 for p in (ws.root / "archive").rglob("*")
                   if p.is_file())
    assert archived < 1 << 20
    assert len(locations(ws.root)) == 1  # HU01's return only


@pytest.mark.skipif(sys.platform == "win32", reason="names that are not UTF-8 are POSIX's")
def test_odd_names_are_archived_and_recorded(fresh_workspace: workspace.Workspace) -> None:
    ws = fresh_workspace
    workspace.make_templates(ws, PERIOD)
    names = {
        "HU01": ODD_NAMES["not-utf8"],
        "HU02": ODD_NAMES["escapes"],
        "HU03": "HU03." + "duoi rat dai " * 18,  # its «suffix» is 230 bytes long
        "HU04": os.fsdecode(b"HU04.xl\xe1"),  # a suffix that is not UTF-8
    }
    for unit, name in names.items():
        _return(ws, ws.inbox / unit / name, unit, change={})
    result = workspace.merge(ws, period=PERIOD)
    assert sorted(r.unit for r in result.intake.new) == sorted(names)
    for receipt in result.intake.new:
        assert receipt.name.isprintable() and len(receipt.name) <= 160
    members = [m.rsplit("/", 1)[1] for m in locations(ws.root)]
    assert sorted(len(m) for m in members) == [64, 64, 69, 69]  # <sha256>[.xlsx]
