"""The upload page in a real browser: Playwright drives Debian's Chromium (no browser
download) against ``dvxl serve``'s application run by uvicorn on a free port.

A unit signs in, sends a valid return, one with errors (and downloads its marked-up copy)
and a PDF renamed .xlsx; a wrong code is refused; the secretariat sees the tracking. The
page is checked as the unit reads it, and the ledger as the office keeps it. A screenshot
at a phone's size is left in the test's folder (and in ``DVXL_SCREENSHOTS`` when set).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from dvxl import uploadcodes
from dvxl.findings import Code
from dvxl.receipt_time import UPLOAD
from dvxl.statuses import FileStatus

from served import Site, pdf_bytes, serving

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
# Skipped without Chromium, except under CI=true: CI never passes without the real browser.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and os.environ.get("CI") != "true",
                                reason="Debian's chromium is not installed")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page: Any, base: str, code: str) -> None:
    page.goto(base + "/")
    page.fill("#ma", code)
    page.click("button[type=submit]")


def send(page: Any, base: str, path: Path) -> str:
    """Send ``path`` from the unit's page; the state the result page shows."""
    page.goto(base + "/")
    page.set_input_files("#tep", str(path))
    page.click("#gui")
    return str(page.inner_text("#trang-thai"))


def keep(shot: Path) -> None:
    folder = os.environ.get("DVXL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


def test_a_unit_sends_its_returns_in_a_browser_and_the_office_sees_them(
    site: Site, tmp_path: Path, browser: Any,
) -> None:
    good = site.fill(tmp_path / "bao-cao-dung.xlsx")
    bad = site.broken(tmp_path / "bao-cao-sai.xlsx")
    pdf = tmp_path / "cong-van.xlsx"
    pdf.write_bytes(pdf_bytes())
    with serving(site.root) as base:
        context = browser.new_context(viewport=PHONE, accept_downloads=True,
                                      locale="vi-VN")
        page = context.new_page()
        # A wrong code: refused, and nothing is shown but the sign-in form.
        sign_in(page, base, "ABCD-EFGH")
        assert "Mã nộp báo cáo không đúng" in page.inner_text("main")
        assert page.locator("#tep").count() == 0
        sign_in(page, base, uploadcodes.shown(site.code()))
        assert site.unit().name in page.inner_text("header")

        assert send(page, base, good) == "Đã nhận, hợp lệ"
        assert "giờ máy chủ" in page.inner_text("main")

        assert send(page, base, bad) == "Có lỗi, chưa nhận"
        table = page.inner_text("#ket-qua")
        assert Code.OUT_OF_RANGE.value in table
        shot = tmp_path / "tai-len-co-loi-dien-thoai.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        with page.expect_download() as download:
            page.click("text=Tải bản đánh dấu lỗi")
        marked = tmp_path / "ban-danh-dau.xlsx"
        download.value.save_as(str(marked))
        assert download.value.suggested_filename.endswith(".xlsx")
        assert openpyxl.load_workbook(marked).sheetnames  # a workbook Excel opens

        assert send(page, base, pdf) == "Có lỗi, chưa nhận"
        assert Code.NOT_SPREADSHEET.value in page.inner_text("#ket-qua")
        shot = tmp_path / "tai-len-khong-doc-duoc-dien-thoai.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)

        # The unit's page lists its three sends, newest first.
        page.goto(base + "/")
        assert page.locator("table tr").count() == 4

        # The secretariat, in another browser, sees the unit received.
        office = browser.new_context(viewport=PHONE).new_page()
        sign_in(office, base, uploadcodes.shown(site.codes.secretariat))
        row = office.locator("#theo-doi tr", has_text=site.unit().code).first.inner_text()
        assert "Đúng hạn" in row or "Nộp muộn" in row
        shot = tmp_path / "van-phong-theo-doi.png"
        office.screenshot(path=str(shot), full_page=False)
        keep(shot)
        context.close()

    receipts = site.receipts()
    assert [r.status for r in receipts] == [FileStatus.VALID, FileStatus.ERRORS,
                                            FileStatus.UNREADABLE]
    assert {r.unit for r in receipts} == {site.unit().code}
    assert {r.received_from for r in receipts} == {UPLOAD}
    assert (site.root / "inbox" / receipts[0].name).is_file()
