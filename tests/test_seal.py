"""Signed identity (issue 14): a unit cannot file as another unit or for another period.

A template's metadata (unit, period, version, catalog fingerprint, input-cell map) is signed
with a key only the workspace holds; a return whose metadata was edited is refused (I012)
and files nothing for anybody; templates of a period that went out before signing are still
taken (I014); a lost key is said so, with what to do (I013). The workbook structure is
locked with the master's password. And the key is never written anywhere but its file.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import pickle
import random
import shutil
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from dvxl import intake, printing, sample, seal, template, workspace
from dvxl.checks import read_identity
from dvxl.cli import main
from dvxl.errors import UsageError
from dvxl.form import (
    FORM,
    IDENTITY_FIRST_ROW,
    KEY_KEY_ID,
    KEY_PERIOD,
    KEY_SIGNATURE,
    KEY_UNIT,
    KEY_UNIT_NAME,
    form_rows,
    template_name,
)
from dvxl.reader import read_book
from dvxl.statuses import FileStatus, TrackStatus
from dvxl.validate import BatchReport, FileReport, validate_inbox

from hostile import relabel

ERRORS, VALID, WARNINGS = FileStatus.ERRORS, FileStatus.VALID, FileStatus.WARNINGS
PERIOD = "2026-6T"
NEXT = "2026-6TC"


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    """A workspace whose 2026-6T templates went out signed."""
    made = workspace.init(tmp_path / "ws")
    workspace.make_templates(made, PERIOD)
    return made


def fill(ws: workspace.Workspace, unit: str, name: str, *, period: str = PERIOD,
         change: dict[str, object] | None = None, when: int = 1_781_000_000) -> Path:
    """``unit``'s template for ``period`` filled with good values, as ``inbox/name``."""
    catalog = ws.load()
    chosen = catalog.period(period)
    values = sample.good_values(catalog, catalog.unit(unit), chosen, random.Random(unit))
    source = ws.templates(period) / template_name(chosen, catalog.unit(unit))
    dest = ws.inbox / name
    sample.write_return(source, dest, values | (change or {}), catalog, catalog.unit(unit))
    sample.date_sent(dest, dt.datetime.fromtimestamp(when))
    return dest


def check(ws: workspace.Workspace, folder: Path | None = None) -> BatchReport:
    catalog = ws.load()
    return validate_inbox(catalog, folder or ws.inbox, catalog.period(PERIOD), seal=ws.seal())


def by_name(batch: BatchReport) -> dict[str, FileReport]:
    return {r.name: r for r in batch.files}


def codes(report: FileReport) -> list[str]:
    return sorted(f.code for f in report.findings)


# The key ------------------------------------------------------------------------------------


def test_templates_carry_a_signature_that_verifies_and_the_key_stays_in_its_file(
    ws: workspace.Workspace,
) -> None:
    key_file = ws.root / seal.KEY_FILE
    if os.name == "posix":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = _secret(ws)
    catalog = ws.load()
    sealed = ws.seal()
    assert sealed.signed == {PERIOD}
    for path in sorted(ws.templates(PERIOD).iterdir()):
        book = read_book(path).book
        assert book is not None
        meta, cells = read_identity(book)
        assert meta[KEY_KEY_ID] == sealed.key_id and len(meta[KEY_SIGNATURE]) == 64
        assert sealed.verifies(meta, cells), path.name
        unit = catalog.unit(meta[KEY_UNIT])
        assert cells == [(r.cell, r.key) for r in form_rows(catalog, unit)
                         if r.kind in ("identity", "indicator")]
        assert not _holds(path.read_bytes(), secret), path.name


def test_the_key_is_made_once_and_kept_by_templates_and_init_force(
    ws: workspace.Workspace,
) -> None:
    first = _secret(ws)
    workspace.make_templates(ws, NEXT)
    workspace.init(ws.root, force=True)
    workspace.make_templates(ws, PERIOD)
    assert _secret(ws) == first
    assert ws.seal().signed == {PERIOD, NEXT}
    assert (ws.root / seal.KEY_FILE).read_text(encoding="utf-8").count(f"period {PERIOD}\n") == 1


def test_a_seal_never_shows_its_key() -> None:
    secret = bytes(range(32))
    sealed = seal.Seal(secret, ["2026-6T"])
    assert secret.hex() not in repr(sealed) and sealed.key_id in repr(sealed)
    assert seal.Seal(secret).key_id == sealed.key_id != seal.Seal(bytes(32)).key_id
    assert pickle.loads(pickle.dumps(sealed)).key_id == sealed.key_id  # to worker processes


@pytest.mark.parametrize(
    "content",
    ["", "key xyz\n", "key 00ff\n", "# chỉ có dòng ghi chú\n"],
    ids=["empty", "not-hex", "too-short", "no-key"],
)
def test_a_broken_key_file_stops_with_a_vietnamese_message(
    ws: workspace.Workspace, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(ws, "HU01", "HU01.xlsx")
    (ws.root / seal.KEY_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=r"Tệp khóa ký mẫu .* bản sao lưu"):
        workspace.validate(ws)
    assert main(["validate", "-w", str(ws.root)]) == 2
    assert "dvxl templates -p KỲ" in capsys.readouterr().err
    with pytest.raises(UsageError):
        workspace.make_templates(ws, PERIOD)  # never a new key over a broken one
    assert (ws.root / seal.KEY_FILE).read_text(encoding="utf-8") == content


# Relabelled returns -------------------------------------------------------------------------


def test_a_relabelled_return_files_nothing_and_the_real_units_return_stays(
    ws: workspace.Workspace,
) -> None:
    """HU02 edits its template to read HU01 (metadata and header) and sends it after HU01's
    real return; HU04 files as HU03, which sent nothing. Both are refused, for nobody."""
    real = fill(ws, "HU01", "BC HU01.xlsx", when=1_781_000_000)
    fake = fill(ws, "HU02", "BC HU01 (sua).xlsx", when=1_781_100_000)
    relabel(fake, {KEY_UNIT: "HU01", KEY_UNIT_NAME: ws.load().unit("HU01").name})
    ghost = fill(ws, "HU04", "BC HU03.xlsx")
    relabel(ghost, {KEY_UNIT: "HU03", KEY_UNIT_NAME: ws.load().unit("HU03").name})
    done = workspace.merge(ws, period=PERIOD)
    files = by_name(done.validation.batch)
    for name in (fake.name, ghost.name):
        report = files[name]
        assert codes(report) == ["I012"]
        assert (report.unit, report.identified_by, report.status) == ("", "", ERRORS)
        (finding,) = report.findings
        assert finding.unit == "" and "không được nhận là báo cáo của đơn vị nào" in finding.message
    assert files[real.name].status == VALID and files[real.name].unit == "HU01"
    consolidated = done.consolidated
    accepted = consolidated.submissions["HU01"]
    assert (accepted.name, accepted.superseded) == (real.name, [])
    assert accepted.values == files[real.name].values
    tracks = {t.unit.code: t for t in consolidated.tracking}
    assert tracks["HU01"].status == TrackStatus.ON_TIME and tracks["HU01"].files == 1
    for unit in ("HU02", "HU03", "HU04"):
        assert tracks[unit].status == TrackStatus.MISSING and tracks[unit].files == 0, unit
        assert unit not in consolidated.submissions
    # The unit gets the list of what is wrong, never a template of the unit it claimed.
    copy = done.validation.marked
    (marked,) = [p for p in copy if p.name.startswith("BC HU01 (sua)")]
    assert openpyxl.load_workbook(marked).sheetnames == ["Lỗi cần sửa"]


def test_a_return_relabelled_to_another_period_claims_no_period(
    ws: workspace.Workspace,
) -> None:
    """Without -p the period comes from the returns; a forged claim is not one of them."""
    fill(ws, "HU01", "HU01.xlsx")
    relabel(fill(ws, "HU02", "HU02.xlsx"), {KEY_PERIOD: NEXT})
    batch = workspace.validate(ws).batch
    assert batch.period.code == PERIOD
    assert codes(by_name(batch)["HU02.xlsx"]) == ["I012"]
    assert by_name(batch)["HU02.xlsx"].period == ""


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({KEY_SIGNATURE: None}, "signature removed"),
        ({KEY_SIGNATURE: "0" * 64}, "signature garbled"),
        ({KEY_KEY_ID: None}, "key name removed"),
        ({KEY_KEY_ID: None, KEY_SIGNATURE: None}, "both removed"),
        ({"dau_van_tay": "0e76b92b65d1f87d"}, "fingerprint edited"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_a_tampered_signature_is_refused(
    ws: workspace.Workspace, changes: dict[str, str | None], what: str
) -> None:
    relabel(fill(ws, "HU01", "HU01.xlsx"), changes)
    (report,) = check(ws).files
    assert codes(report) == ["I012"], what
    assert report.unit == ""


def test_an_edited_input_cell_map_is_refused(ws: workspace.Workspace) -> None:
    path = fill(ws, "HU01", "HU01.xlsx")
    book = openpyxl.load_workbook(path)
    meta = book["_dvxl"]
    row = next(r for r in meta.iter_rows() if r[1].value == "1.1.HN_SO")
    row[0].value = "E99"
    book.save(path)
    assert codes(check(ws).files[0]) == ["I012"]


def test_content_identified_files_keep_i001(ws: workspace.Workspace) -> None:
    """A file without the metadata sheet cannot carry a signature: identified by its content,
    with the warning it always had."""
    catalog = ws.load()
    unit = catalog.unit("HU01")
    chosen = catalog.period(PERIOD)
    source = ws.templates(PERIOD) / template_name(chosen, unit)
    values = sample.good_values(catalog, unit, chosen, random.Random(1))
    sample.write_return(source, ws.inbox / "HU01.xlsx", values, catalog, unit,
                        keep_metadata=False)
    (report,) = check(ws).files
    assert codes(report) == ["I001"] and report.unit == "HU01" and report.mergeable


def disown(path: Path, unit: str, ws: workspace.Workspace) -> Path:
    """The attack of issue 14 on a filled return: its hidden metadata sheet deleted and the
    visible header (letterhead, unit name and code) edited to ``unit``'s, saved in place
    with its date kept."""
    sent = dt.datetime.fromtimestamp(path.stat().st_mtime)
    book = openpyxl.load_workbook(path)
    meta = {str(r[0].value): r[1].value for r in book["_dvxl"].iter_rows(max_col=2)
            if r[0].value}
    del book["_dvxl"]
    sheet, name = book[FORM], ws.load().unit(unit).name
    for row in sheet.iter_rows(max_row=IDENTITY_FIRST_ROW):
        for cell in row:
            if str(cell.value).casefold() == str(meta[KEY_UNIT_NAME]).casefold():
                cell.value = name.upper() if str(cell.value).isupper() else name
    sheet[f"E{IDENTITY_FIRST_ROW}"] = unit
    book.save(path)
    sample.date_sent(path, sent)
    return path


def test_a_return_stripped_of_its_metadata_never_replaces_the_units_signed_one(
    ws: workspace.Workspace,
) -> None:
    """HU02 deletes the metadata of its own template, writes HU01's code and name in the
    header and sends it after HU01's real return, in the same batch: HU01's signed return
    stays; the forgery is recorded with I001 and I015 (why it was not taken), not merged."""
    real = fill(ws, "HU01", "BC HU01.xlsx", when=1_781_000_000)
    fake = disown(fill(ws, "HU02", "BC HU01 (bo sung).xlsx", when=1_781_100_000), "HU01", ws)
    done = workspace.merge(ws, period=PERIOD)
    files = by_name(done.validation.batch)
    forged = files[fake.name]
    assert codes(forged) == ["I001", "I015"]
    assert (forged.unit, forged.superseded_by, forged.mergeable) == ("HU01", real.name, False)
    why = next(f for f in forged.findings if f.code == "I015").message
    assert f"«{real.name}»" in why and "không còn trang thông tin ẩn" in why
    assert files[real.name].status == VALID and files[real.name].proven
    accepted = done.consolidated.submissions["HU01"]
    assert (accepted.name, accepted.superseded) == (real.name, [])
    assert accepted.values == files[real.name].values
    with intake.Ledger(ws.root / intake.LEDGER_NAME) as ledger:
        recorded = {r.name: r for r in ledger.receipts(PERIOD)}
    assert [f["code"] for f in recorded[fake.name].findings] == ["I001", "I015"]
    assert recorded[real.name].proven and not recorded[fake.name].proven


def test_a_stripped_return_sent_later_never_replaces_the_recorded_signed_one(
    ws: workspace.Workspace,
) -> None:
    """The same attack in a later run: HU01's signed return is in the ledger already. The
    forgery is recorded with I015, and the tracking says why the earlier file is used; a
    unit's own signed resubmission still replaces its first one."""
    real = fill(ws, "HU01", "BC HU01.xlsx", when=1_781_000_000)
    workspace.merge(ws, period=PERIOD)
    real.unlink()
    fake = disown(fill(ws, "HU02", "BC HU01 (bo sung).xlsx", when=1_781_100_000), "HU01", ws)
    done = workspace.merge(ws, period=PERIOD)
    (forged,) = done.validation.batch.files
    assert codes(forged) == ["I001", "I015"] and forged.superseded_by == real.name
    assert done.consolidated.submissions["HU01"].name == real.name
    track = next(t for t in done.consolidated.tracking if t.unit.code == "HU01")
    assert track.status == TrackStatus.ON_TIME and track.files == 2
    assert f"tệp gửi sau «{fake.name}» không có chữ ký xác thực" in track.note
    again = fill(ws, "HU01", "BC HU01 lan 2.xlsx", when=1_781_200_000,
                 change={"1.1.HN_SO": 7})
    done = workspace.merge(ws, period=PERIOD)
    assert done.consolidated.submissions["HU01"].name == again.name
    assert done.consolidated.submissions["HU01"].superseded == [real.name]


def test_an_unproven_return_is_taken_where_nothing_proven_came(ws: workspace.Workspace) -> None:
    """Without a signed return of the unit, a file that lost its metadata is still taken
    (I001) as before, and replaces an older one of its kind."""
    first = disown(fill(ws, "HU01", "HU01 a.xlsx", when=1_781_000_000), "HU01", ws)
    second = disown(fill(ws, "HU01", "HU01 b.xlsx", when=1_781_100_000), "HU01", ws)
    done = workspace.merge(ws, period=PERIOD)
    files = by_name(done.validation.batch)
    assert codes(files[first.name]) == ["I001", "I009"] and codes(files[second.name]) == ["I001"]
    assert done.consolidated.submissions["HU01"].name == second.name


# Templates made before signing, and a lost key ------------------------------------------------


def test_unsigned_templates_are_taken_until_their_period_goes_out_signed(tmp_path: Path) -> None:
    """An office mid-period: its 2026-6T templates went out from a dvxl that did not sign.
    They are taken with I014, also after the next period's templates went out signed; once
    2026-6T's own templates are made again (signed), an unsigned one is refused."""
    ws = workspace.init(tmp_path / "ws")
    catalog = ws.load()
    template.write_templates(catalog, PERIOD, ws.templates(PERIOD))  # as dvxl did before
    assert not (ws.root / seal.KEY_FILE).exists()
    fill(ws, "HU01", "HU01.xlsx")
    (report,) = check(ws).files
    assert codes(report) == ["I014"] and report.status == WARNINGS and report.unit == "HU01"
    assert "«HU01»" in report.findings[0].message and report.mergeable
    workspace.make_templates(ws, NEXT)
    (report,) = check(ws).files
    assert codes(report) == ["I014"] and report.mergeable
    workspace.make_templates(ws, PERIOD)
    (report,) = check(ws).files
    assert codes(report) == ["I012"] and not report.mergeable
    assert f"mọi mẫu kỳ {PERIOD} văn phòng gửi đều có" in report.findings[0].message


def test_a_lost_key_is_said_with_what_the_office_does(ws: workspace.Workspace) -> None:
    fill(ws, "HU01", "HU01.xlsx")
    key_file = ws.root / seal.KEY_FILE
    kept = key_file.read_bytes()
    key_file.unlink()
    (report,) = check(ws).files
    assert codes(report) == ["I013"] and report.unit == "" and not report.mergeable
    message = report.findings[0].message
    assert "không có tệp khóa ký mẫu .dvxl-key" in message
    assert "chép lại tệp khóa .dvxl-key" in message and f"dvxl templates -p {PERIOD}" in message
    # A merge records nothing then: the ledger would keep «not verified» for good.
    with pytest.raises(UsageError, match=r"không có tệp khóa ký mẫu .dvxl-key.*HU01\.xlsx"):
        workspace.merge(ws, period=PERIOD)
    assert not (ws.root / "ledger.sqlite").exists() and not (ws.root / "archive").exists()
    # Templates made again get a new key: the old returns are signed by another one.
    workspace.make_templates(ws, PERIOD)
    (report,) = check(ws).files
    assert codes(report) == ["I013"] and "được ký bằng khóa «" in report.findings[0].message
    # The key restored from a backup proves them again, and the merge takes them.
    key_file.write_bytes(kept)
    (report,) = check(ws).files
    assert report.status == VALID
    assert "HU01" in workspace.merge(ws, period=PERIOD).consolidated.submissions


# Marked-up copies go back and come back ----------------------------------------------------------


def test_a_marked_copy_verifies_when_the_unit_corrects_and_returns_it(
    ws: workspace.Workspace, tmp_path: Path
) -> None:
    """validate → marked copy (the unit's own file, marked by editing its XML) → the unit
    fixes one of two cells → validate → marked copy again (openpyxl: the copy has comments)
    → the unit fixes the other → validate → accepted."""
    catalog = ws.load()
    cells = {r.key: r.cell for r in form_rows(catalog, catalog.unit("HU01"))}
    fill(ws, "HU01", "HU01.xlsx", change={"1.1.TRANG_THAI": "", "1.1.HN_SO": "nhiều"})
    fixes = [("1.1.TRANG_THAI", "Đã triển khai"), ("1.1.HN_SO", 3)]
    for round_, (key, value) in enumerate(fixes, 1):
        result = workspace.validate(ws, period=PERIOD)
        (report,) = result.batch.files
        assert report.status == ERRORS and not {"I012", "I013", "I014"} & set(codes(report))
        (copy,) = result.marked
        inbox = tmp_path / f"lan-{round_}"
        inbox.mkdir()
        returned = inbox / "HU01.xlsx"
        book = openpyxl.load_workbook(copy)
        book[FORM][cells[key]] = value
        book.save(returned)
        shutil.rmtree(ws.inbox)
        shutil.copytree(inbox, ws.inbox)
    (report,) = check(ws).files
    assert codes(report) == [] and report.status == VALID and report.unit == "HU01"


# The workbook structure lock -----------------------------------------------------------------


def test_templates_lock_their_structure_with_the_masters_password(
    ws: workspace.Workspace,
) -> None:
    password = ws.load().settings.sheet_password
    assert password
    path = next(ws.templates(PERIOD).iterdir())
    with zipfile.ZipFile(path) as package:
        xml = package.read("xl/workbook.xml").decode("utf-8")
    lock = f'<workbookProtection workbookPassword="{printing.legacy_hash(password)}" ' \
           'lockStructure="1"/><bookViews>'
    assert lock in xml  # where the schema wants it: right before bookViews
    book = openpyxl.load_workbook(path)
    assert book.security is not None and book.security.lockStructure
    assert book.security.workbookPassword == printing.legacy_hash(password)
    sheet = book[FORM]
    assert sheet.protection.sheet and sheet.protection.password == printing.legacy_hash(password)


@pytest.mark.parametrize("password", ["a", "m4t-khau", "Mật khẩu dài hơn 15 ký tự!"])
def test_the_structure_password_hashes_as_xlsxwriter_hashes_a_sheets(
    password: str, tmp_path: Path
) -> None:
    book = xlsxwriter.Workbook(tmp_path / "x.xlsx")
    sheet = book.add_worksheet()
    assert printing.legacy_hash(password) == sheet._encode_password(password)
    book.close()


def test_a_master_without_password_locks_the_structure_without_one(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    printing.write_workbook(path, lambda wb: (wb.add_worksheet(), printing.lock_structure(wb, "")))
    with zipfile.ZipFile(path) as package:
        xml = package.read("xl/workbook.xml").decode("utf-8")
    assert '<workbookProtection lockStructure="1"/>' in xml


def test_workbooks_other_than_templates_are_not_locked(ws: workspace.Workspace) -> None:
    with zipfile.ZipFile(ws.master) as package:
        assert b"workbookProtection" not in package.read("xl/workbook.xml")


# The key never leaves its file -------------------------------------------------------------


def test_the_key_appears_in_no_byte_a_demo_run_writes(tmp_path: Path) -> None:
    """Every file of a demo run (templates, returns, archive packs, ledger, outputs, marked
    copies), zip packages opened part by part at every depth, holds no form of the key."""
    root = tmp_path / "demo"
    workspace.demo(root, PERIOD)
    secret = seal.load(root)._secret
    assert secret is not None
    looked = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name == seal.KEY_FILE:
            continue
        for part, data in _expanded(path.relative_to(root).as_posix(), path.read_bytes()):
            looked += 1
            assert not _holds(data, secret), part
    assert looked > 500


def _expanded(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    yield name, data
    if data[:4] != b"PK\x03\x04":
        return
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for member in package.namelist():
            yield from _expanded(f"{name}!{member}", package.read(member))


def _holds(data: bytes, secret: bytes) -> bool:
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode(),
             base64.b64encode(secret), secret.hex().encode("utf-16-le")]
    return any(form in data for form in forms)


def _secret(ws: workspace.Workspace) -> bytes:
    found = ws.seal()._secret
    assert found is not None and len(found) == 32
    return found


# Speed ---------------------------------------------------------------------------------------


def test_verifying_costs_no_read_of_its_own(
    ws: workspace.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is read once per run, never per file."""
    for i, unit in enumerate(("HU01", "HU02", "HU03")):
        fill(ws, unit, f"{unit}.xlsx", when=1_781_000_000 + i)
    loads: list[Path] = []
    real = seal.load

    def counting(root: Path) -> seal.Seal:
        loads.append(root)
        return real(root)

    monkeypatch.setattr(seal, "load", counting)
    batch = workspace.validate(ws, period=PERIOD).batch
    assert [r.status for r in batch.files] == [VALID] * 3
    assert len(loads) <= 2  # the check, and the marked copies (none needed here)
