"""The upload page over HTTP (Starlette's TestClient): what it accepts, what it refuses
before reading, what lands in the inbox, aside and in the ledger."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dvxl import intake, lock, upload, uploadcodes, web, workspace
from dvxl.cli import main
from dvxl.findings import Code
from dvxl.receipt_time import UPLOAD
from dvxl.statuses import FileStatus, TrackStatus

from served import PERIOD, Site, free_port, pdf_bytes, serving

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def client(site: Site, limits: web.Limits | None = None) -> TestClient:
    return TestClient(web.create_app(site.root, limits), follow_redirects=True)


def token(c: TestClient) -> str:
    if web.CSRF_COOKIE not in c.cookies:
        c.get("/")
    return str(c.cookies[web.CSRF_COOKIE])


def signed_in(site: Site, code: str, limits: web.Limits | None = None) -> TestClient:
    c = client(site, limits)
    response = c.post("/vao", data={"ma": code, "csrf": token(c)})
    assert response.status_code == 200, response.text
    return c


def send(c: TestClient, data: bytes, name: str = "bao-cao.xlsx",
         csrf: str | None = None) -> object:
    return c.post("/gui", data={"csrf": token(c) if csrf is None else csrf},
                  files={"tep": (name, data, XLSX)})


def nothing_received(site: Site) -> bool:
    temps = site.root / upload.UPLOADS_DIR / upload.TEMP_DIR
    left = list(temps.iterdir()) if temps.is_dir() else []
    inbox = site.root / "inbox" / PERIOD
    return not left and not site.receipts() and not (inbox.is_dir() and any(inbox.iterdir()))


# Refusals -----------------------------------------------------------------------------------


def test_the_first_page_asks_for_the_code_and_sets_a_csrf_cookie(site: Site) -> None:
    c = client(site)
    response = c.get("/")
    assert response.status_code == 200
    assert "Nhập mã nộp báo cáo" in response.text and 'name="csrf"' in response.text
    assert c.cookies[web.CSRF_COOKIE] in response.text
    assert "<script" not in response.text
    assert "script-src" not in response.headers["content-security-policy"]


def test_an_upload_without_a_code_is_refused_unread(site: Site, tmp_path: Path) -> None:
    c = client(site)
    response = send(c, site.fill(tmp_path / "a.xlsx").read_bytes())
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "mã nộp" in response.text  # type: ignore[attr-defined]
    assert nothing_received(site)


def test_a_wrong_code_is_refused_and_repeated_guesses_are_stopped(site: Site) -> None:
    c = client(site, web.Limits(wrong_codes_per_client=3))
    for _ in range(3):
        response = c.post("/vao", data={"ma": "AAAA-AAAA", "csrf": token(c)})
        assert response.status_code == 403
        assert "không đúng" in response.text
    # Even the right code waits now: guessing cannot go on.
    response = c.post("/vao", data={"ma": site.code(), "csrf": token(c)})
    assert response.status_code == 429
    assert web.CODE_COOKIE not in c.cookies


def test_a_code_is_typed_without_case_spaces_or_dashes(site: Site) -> None:
    typed = uploadcodes.shown(site.code()).lower().replace("-", " ")
    c = signed_in(site, typed)
    assert site.unit().name in c.get("/").text


def test_an_oversized_upload_is_refused_by_its_declared_size_or_as_it_streams(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = signed_in(site, site.code())
    monkeypatch.setattr(upload, "max_bytes", lambda catalog: 4000)
    declared = send(c, b"x" * (web.FORM_OVERHEAD + 5000))
    assert declared.status_code == 413  # type: ignore[attr-defined]
    assert "quá lớn" in declared.text  # type: ignore[attr-defined]
    streamed = send(c, site.fill(tmp_path / "a.xlsx").read_bytes())  # ~10 KB < the overhead
    assert streamed.status_code == 413  # type: ignore[attr-defined]
    assert nothing_received(site)


@pytest.mark.parametrize(("method", "path"), [("GET", "/gui"), ("PUT", "/"), ("GET", "/vao"),
                                              ("DELETE", "/ket-qua/1")],
                         ids=["get-upload", "put-home", "get-sign-in", "delete-result"])
def test_a_wrong_method_is_refused_in_vietnamese(site: Site, method: str, path: str) -> None:
    response = client(site).request(method, path)
    assert response.status_code == 405
    assert "không nhận kiểu yêu cầu" in response.text


def test_an_upload_without_the_csrf_token_is_refused_before_a_byte_is_written(
    site: Site, tmp_path: Path,
) -> None:
    c = signed_in(site, site.code())
    data = site.fill(tmp_path / "a.xlsx").read_bytes()
    missing = c.post("/gui", files={"tep": ("a.xlsx", data, XLSX)})
    wrong = send(c, data, csrf="x" * 43)
    assert missing.status_code == 403 and wrong.status_code == 403  # type: ignore[attr-defined]
    assert "biểu mẫu không hợp lệ" in missing.text
    assert nothing_received(site)


def test_a_sign_in_without_the_csrf_token_or_from_another_site_is_refused(site: Site) -> None:
    c = client(site)
    assert c.post("/vao", data={"ma": site.code()}).status_code == 403
    other = c.post("/vao", data={"ma": site.code(), "csrf": token(c)},
                   headers={"Origin": "http://evil.example"})
    assert other.status_code == 403
    assert web.CODE_COOKIE not in c.cookies


def test_uploads_are_limited_per_code(site: Site, tmp_path: Path) -> None:
    c = signed_in(site, site.code(), web.Limits(uploads_per_code=2))
    data = site.fill(tmp_path / "a.xlsx").read_bytes()
    assert [send(c, data).status_code for _ in range(3)] == [200, 200, 429]  # type: ignore[attr-defined]


def test_regenerated_codes_end_a_signed_in_session(site: Site) -> None:
    c = signed_in(site, site.code())
    uploadcodes.ensure(site.root, site.catalog, site.period, renew=True)
    assert "Nhập mã nộp báo cáo" in c.get("/").text
    assert c.get("/ket-qua/1").status_code == 403


def test_an_upload_waits_for_a_merge_then_asks_to_send_again(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = signed_in(site, site.code())
    monkeypatch.setattr(upload, "WAIT_S", 0.2)
    code = ("import sys, time; from dvxl import lock; from pathlib import Path\n"
            "with lock.exclusive(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(20)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(site.root)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        response = send(c, site.fill(tmp_path / "a.xlsx").read_bytes())
    finally:
        holder.kill()
        holder.wait()
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert "đang tổng hợp" in response.text  # type: ignore[attr-defined]
    assert nothing_received(site)
    assert lock.LOCK_NAME  # the lock file stays; the lock went with its process


# What is received ---------------------------------------------------------------------------


def test_a_valid_return_is_received_into_the_inbox_with_the_servers_time(
    site: Site, tmp_path: Path,
) -> None:
    c = signed_in(site, site.code())
    before = time.time()
    response = send(c, site.fill(tmp_path / "cua-toi.xlsx").read_bytes())
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Đã nhận, hợp lệ" in response.text  # type: ignore[attr-defined]
    (receipt,) = site.receipts()
    assert receipt.unit == site.unit().code and receipt.status is FileStatus.VALID
    assert receipt.received_from == UPLOAD
    assert before - 1 <= receipt.received.timestamp() <= time.time()
    placed = site.root / "inbox" / receipt.name
    assert placed.parent.name == PERIOD and placed.name.startswith(site.unit().code)
    assert "cua-toi" not in receipt.name  # the client's name never names a file
    assert abs(placed.stat().st_mtime - receipt.received.timestamp()) < 1
    # The unit sees it among its receipts.
    assert f"/ket-qua/{receipt.id}" in c.get("/").text


def test_a_merge_afterwards_keeps_the_upload_time(site: Site, tmp_path: Path) -> None:
    c = signed_in(site, site.code())
    send(c, site.fill(tmp_path / "a.xlsx").read_bytes())
    (uploaded,) = site.receipts()
    merged = workspace.merge(site.ws, period=PERIOD)
    assert merged.intake.new == [] and [r.id for r in merged.intake.known] == [uploaded.id]
    (receipt,) = site.receipts()
    assert receipt.received == uploaded.received and receipt.received_from == UPLOAD
    track = next(t for t in merged.consolidated.tracking if t.unit.code == site.unit().code)
    assert track.status in (TrackStatus.ON_TIME, TrackStatus.LATE)
    assert track.received_label == "Trang tải lên (giờ máy chủ)"


def test_a_return_with_errors_is_kept_aside_with_its_findings_and_marked_copy(
    site: Site, tmp_path: Path,
) -> None:
    c = signed_in(site, site.code())
    response = send(c, site.broken(tmp_path / "a.xlsx").read_bytes())
    text = response.text  # type: ignore[attr-defined]
    assert "Có lỗi, chưa nhận" in text and Code.OUT_OF_RANGE.value in text
    (receipt,) = site.receipts()
    assert receipt.status is FileStatus.ERRORS and receipt.received_from == UPLOAD
    assert not (site.root / "inbox" / PERIOD).exists()  # never merged
    aside = site.root / upload.UPLOADS_DIR / receipt.name
    assert aside.is_file() and upload.ASIDE_DIR in aside.parts
    copy = c.get(f"/ban-sua/{receipt.id}")
    assert copy.status_code == 200 and copy.content[:2] == b"PK"
    assert "attachment" in copy.headers["content-disposition"]


def test_a_pdf_renamed_xlsx_is_not_received_but_kept(site: Site) -> None:
    c = signed_in(site, site.code())
    response = send(c, pdf_bytes(), "bao-cao.xlsx")
    assert "Có lỗi, chưa nhận" in response.text  # type: ignore[attr-defined]
    assert Code.NOT_SPREADSHEET.value in response.text  # type: ignore[attr-defined]
    (receipt,) = site.receipts()
    assert receipt.status is FileStatus.UNREADABLE and receipt.unit == site.unit().code
    assert (site.root / upload.UPLOADS_DIR / receipt.name).read_bytes() == pdf_bytes()


def test_another_units_template_is_refused_and_never_counted_for_that_unit(
    site: Site, tmp_path: Path,
) -> None:
    c = signed_in(site, site.code(0))
    response = send(c, site.fill(tmp_path / "b.xlsx", 1, template_of=1).read_bytes())
    assert Code.UPLOAD_OTHER_UNIT.value in response.text  # type: ignore[attr-defined]
    assert "Có lỗi, chưa nhận" in response.text  # type: ignore[attr-defined]
    (receipt,) = site.receipts()
    assert receipt.unit == site.unit(0).code and receipt.status is FileStatus.ERRORS


def test_the_same_file_twice_keeps_the_first_receipt_time(site: Site, tmp_path: Path) -> None:
    c = signed_in(site, site.code())
    data = site.fill(tmp_path / "a.xlsx").read_bytes()
    send(c, data)
    again = send(c, data)
    assert "đã được gửi trước đó" in again.text  # type: ignore[attr-defined]
    assert "Đã nhận, hợp lệ" in again.text  # type: ignore[attr-defined]
    assert len(site.receipts()) == 1
    assert len(list((site.root / "inbox" / PERIOD).iterdir())) == 1  # not placed twice


def test_another_units_received_file_sent_again_is_neither_received_nor_shown(
    site: Site, tmp_path: Path,
) -> None:
    theirs = site.fill(tmp_path / "b.xlsx", 1).read_bytes()
    assert "Đã nhận, hợp lệ" in send(signed_in(site, site.code(1)), theirs).text  # type: ignore[attr-defined]
    response = send(signed_in(site, site.code(0)), theirs)
    assert "Có lỗi, chưa nhận" in response.text  # type: ignore[attr-defined]
    assert Code.UPLOAD_OTHER_UNIT.value in response.text  # type: ignore[attr-defined]
    assert "/ket-qua/" not in response.text  # type: ignore[attr-defined]
    assert [r.unit for r in site.receipts()] == [site.unit(1).code]


def test_a_unit_sees_only_its_own_receipts(site: Site, tmp_path: Path) -> None:
    first = signed_in(site, site.code(0))
    send(first, site.broken(tmp_path / "a.xlsx", 0).read_bytes())
    (receipt,) = site.receipts()
    other = signed_in(site, site.code(1))
    assert other.get(f"/ket-qua/{receipt.id}").status_code == 404
    assert other.get(f"/ban-sua/{receipt.id}").status_code == 404
    assert f"/ket-qua/{receipt.id}" not in other.get("/").text
    assert first.get(f"/ket-qua/{receipt.id}").status_code == 200


def test_the_secretariat_sees_the_periods_tracking_and_units_do_not(
    site: Site, tmp_path: Path,
) -> None:
    unit = signed_in(site, site.code())
    send(unit, site.fill(tmp_path / "a.xlsx").read_bytes())
    assert unit.get("/van-phong").status_code == 403
    office = signed_in(site, site.codes.secretariat)
    page = office.get("/van-phong")
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.text
    assert site.unit(1).name in page.text and "Chưa nộp" in page.text
    assert "Trang tải lên (giờ máy chủ)" in page.text
    assert send(office, b"x").status_code == 403  # type: ignore[attr-defined]


# Codes ----------------------------------------------------------------------------------------


def test_codes_are_private_one_per_unit_and_renewed_whole(site: Site) -> None:
    path = uploadcodes.path(site.root)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    units = [u.code for u in site.catalog.addressed_units()]
    assert list(site.codes.units) == units
    every = [*site.codes.units.values(), site.codes.secretariat]
    assert len(set(every)) == len(every)
    assert all(len(c) == uploadcodes.LENGTH and set(c) <= set(uploadcodes.ALPHABET)
               for c in every)
    again = uploadcodes.ensure(site.root, site.catalog, site.period)
    assert again == site.codes
    renewed = uploadcodes.ensure(site.root, site.catalog, site.period, renew=True)
    assert not set(renewed.units.values()) & set(site.codes.units.values())
    assert uploadcodes.holder(uploadcodes.load(site.root), site.code()) is None


def test_the_codes_command_lists_the_codes_and_serve_needs_some(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["codes", "-p", PERIOD, "-w", str(site.root)]) == 0
    out = capsys.readouterr().out
    assert uploadcodes.shown(site.codes.secretariat) in out
    assert f"{site.unit().code}" in out and uploadcodes.shown(site.code()) in out
    uploadcodes.path(site.root).unlink()
    assert main(["serve", "-w", str(site.root)]) == 2
    assert "dvxl codes" in capsys.readouterr().err


# A sender or a server that stops halfway -----------------------------------------------------


def partial_upload(base: str, site: Site, sent: int = 5000) -> socket.socket:
    """Start an upload on a raw connection and stop after ``sent`` bytes of the file."""
    token_value = "t" * 43
    boundary = "----dvxl"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
            f"{token_value}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"tep\"; "
            "filename=\"a.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    host, port = base.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    request = (f"POST /gui HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {len(head) + 100_000}\r\n"
               f"Cookie: {web.CODE_COOKIE}={site.code()}; {web.CSRF_COOKIE}={token_value}\r\n"
               "\r\n").encode()
    connection.sendall(request + head + b"P" * sent)
    return connection


def temps(site: Site) -> list[Path]:
    folder = site.root / upload.UPLOADS_DIR / upload.TEMP_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_sender_that_disconnects_halfway_leaves_nothing(site: Site) -> None:
    with serving(site.root) as base:
        connection = partial_upload(base, site)
        deadline = time.monotonic() + 10
        while not temps(site) and time.monotonic() < deadline:  # the server is writing it
            time.sleep(0.05)
        assert temps(site)
        connection.close()
        while temps(site) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert nothing_received(site)


def test_a_server_killed_mid_upload_records_nothing_and_a_later_one_receives(
    site: Site, tmp_path: Path,
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "dvxl.cli", "serve", "-w", str(site.root), "--port",
               str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and "Trang tải lên" in server.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.1)
        connection = partial_upload(base, site)
        deadline = time.monotonic() + 10
        while not temps(site) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert temps(site)  # killed while the file streams in
        server.kill()
        server.wait()
        connection.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not site.receipts() and not (site.root / "inbox" / PERIOD).exists()
    # What a stopped server left is only its temporary file, removed once it is stale.
    upload.remove_stale(site.root, older_than_s=0)
    assert temps(site) == []
    c = signed_in(site, site.code())
    assert "Đã nhận, hợp lệ" in send(c, site.fill(tmp_path / "a.xlsx").read_bytes()).text  # type: ignore[attr-defined]


def test_a_ledger_that_cannot_be_written_is_told_in_vietnamese(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise intake.LedgerError("Sổ ghi nhận bị hỏng.")

    monkeypatch.setattr(intake, "intake", broken)
    c = TestClient(web.create_app(site.root), raise_server_exceptions=False)
    c.post("/vao", data={"ma": site.code(), "csrf": token(c)})
    response = send(c, site.fill(tmp_path / "a.xlsx").read_bytes())
    assert response.status_code == 500  # type: ignore[attr-defined]
    assert "Sổ ghi nhận bị hỏng." in response.text  # type: ignore[attr-defined]
    assert temps(site) == []


def test_templates_made_after_the_codes_print_each_units_code_on_its_guide(site: Site) -> None:
    from python_calamine import CalamineWorkbook

    from dvxl.form import GUIDE, template_name

    workspace.make_templates(site.ws, PERIOD)
    for index in (0, 1):
        path = site.ws.templates(PERIOD) / template_name(site.period, site.unit(index))
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(GUIDE).to_python()
        text = "\n".join(str(cell) for row in rows for cell in row)
        assert f"mã nộp báo cáo của đơn vị là {uploadcodes.shown(site.code(index))}" in text
        assert site.code(1 - index) not in text and site.codes.secretariat not in text
