"""Kiểm tra bốn nút của master.xlsm trong Excel thật (Windows) — smoke test of the buttons.

A person runs it on a Windows PC with Excel 2016 or later and dvxl installed::

    python scripts/smoke_excel.py [THƯ_MỤC]      (default: a new temporary folder)

It makes the demo workspace in the folder (master.xlsm, templates, simulated
returns), runs ``dvxl excel setup`` for it, opens master.xlsm in a new Excel
window and presses each button the way a click does: the macro is queued with
``Application.OnTime`` and Excel runs it from its own loop (``--run`` calls
``book.macro(name)()`` instead, which goes through COM's Application.Run).
Every button ends with dvxl's message box: read it and press OK. Then it
checks what the button did, prints ĐẠT/LỖI (PASS/FAIL) lines and closes Excel
without saving. Exit code 0 when everything passed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xlwings as xw
from python_calamine import CalamineWorkbook

from dvxl import excel, render, vba, workspace

PERIOD = "2026-6T"
results: list[bool] = []


def check(ok: bool, what: str) -> None:
    results.append(ok)
    print(f"{'ĐẠT' if ok else 'LỖI'}  {what}", flush=True)


def press(app: Any, book: Any, macro: str, via_run: bool) -> None:
    caption = next(b.caption for b in vba.BUTTONS if b.macro == macro)
    print(f"\n--- Bấm «{caption}» ({macro}): đọc hộp thông báo của dvxl rồi bấm OK ---")
    if via_run:
        book.macro(macro)()
        return
    book.activate()
    app.api.OnTime(dt.datetime.now(), f"'{book.name}'!{macro}")
    time.sleep(2)  # let Excel start the macro; the next call waits until it has finished
    _ = book.sheets.count


def config_rows(book: Any) -> dict[str, list[list[Any]]]:
    return excel.book_rows(book)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--run", action="store_true", help="book.macro(name)() thay cho OnTime")
    args = parser.parse_args(argv)
    root = args.folder or Path(tempfile.mkdtemp(prefix="dvxl-smoke-")) / "ws"

    print(f"Thư mục thử: {root}")
    demo = workspace.demo(root, PERIOD)
    ws = demo.workspace
    check(ws.master.suffix == ".xlsm" and ws.master.is_file(), f"dvxl tạo {ws.master.name}")
    for line in excel.setup(ws.root):
        print(f"     {line}")

    app = xw.App(visible=True, add_book=False)
    try:
        app.api.AutomationSecurity = 1  # msoAutomationSecurityLow: this file is our own
        book = app.books.open(str(ws.master))
        names = {n.name for n in book.names}
        check(
            {excel.PERIOD_NAME, excel.INBOX_NAME} <= names,
            f"trang Bìa có ô {excel.PERIOD_NAME} và {excel.INBOX_NAME}",
        )
        book.names[excel.PERIOD_NAME].refers_to_range.value = PERIOD
        book.names[excel.INBOX_NAME].refers_to_range.value = None
        before = config_rows(book)
        rendered = ws.outputs(PERIOD) / f"tong-hop-{PERIOD}.xlsx"

        started = time.time()

        def tong_hop() -> None:
            placed = excel.result_sheets(book)
            expected = CalamineWorkbook.from_path(str(rendered)).sheet_names
            check(
                bool(placed) and list(placed) == expected,
                f"Tổng hợp: {len(placed)} trang kết quả, đúng như {rendered.name}",
            )
            check(book.api.LinkSources(1) is None, "Tổng hợp: sổ không liên kết tới tệp khác")
            check(config_rows(book) == before, "Tổng hợp: các trang cấu hình, thẩm định giữ nguyên")

        def tong_hop_again() -> None:
            doubled = [s.name for s in book.sheets if s.name.endswith("(2)")]
            check(not doubled, "Tổng hợp lần hai: thay trang kết quả, không nhân đôi")

        def kiem_tra() -> None:
            opened = [b.name for b in app.books]
            check(f"kiem-tra-{PERIOD}.xlsx" in opened, "Kiểm tra: mở sổ kết quả kiểm tra")
            for other in app.books:
                if other.name != book.name:
                    other.close()
            check(config_rows(book) == before, "Kiểm tra: sổ tổng hợp giữ nguyên")

        def tao_mau() -> None:
            made = list(ws.templates(PERIOD).glob("*.xlsx"))
            fresh = [p for p in made if p.stat().st_mtime > started]
            check(bool(made) and len(fresh) == len(made), f"Tạo mẫu: {len(made)} mẫu mới")

        def don_doc() -> None:
            marked = excel.result_sheets(book)
            check(
                {render.TRACKING_SHEET, render.REMINDER_SHEET} <= set(marked),
                "Đôn đốc: có trang Theo dõi và Đôn đốc mới",
            )

        def bao_cao() -> None:
            written = ws.outputs(PERIOD) / f"bao-cao-{PERIOD}.docx"
            fresh = written.is_file() and written.stat().st_mtime > started
            check(fresh, f"Báo cáo: đã viết {written.name}")

        steps: list[tuple[str, Callable[[], None]]] = [
            ("TongHop", tong_hop),
            ("TongHop", tong_hop_again),
            ("KiemTra", kiem_tra),
            ("TaoMau", tao_mau),
            ("DonDoc", don_doc),
            ("BaoCao", bao_cao),
        ]
        for macro, verify in steps:
            started = time.time()
            try:
                press(app, book, macro, args.run)
                verify()
            except Exception as error:  # a smoke test reports and goes on
                check(False, f"{macro}: {error!r}")
    finally:
        for other in list(app.books):
            other.close()  # without saving: the person decides nothing here
        app.quit()

    passed = all(results)
    print(f"\n{'ĐẠT (PASS)' if passed else 'LỖI (FAIL)'}: {sum(results)}/{len(results)} kiểm tra.")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
