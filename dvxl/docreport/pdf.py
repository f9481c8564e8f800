"""PDF through LibreOffice headless, one private profile folder per conversion.

LibreOffice converts .docx only with its Writer component (Debian:
``libreoffice-writer-nogui``). Conversions that share a profile folder fail
silently when they run at once, so each gets its own
(``-env:UserInstallation=file:///tmp/…``), and a time limit: a conversion that
hangs is stopped with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from dvxl import atomic
from dvxl.errors import DvxlError

TIMEOUT_S = 180.0
#: Where LibreOffice usually is when it is not on the PATH.
_PLACES = (
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)


class PdfError(DvxlError):
    """No PDF could be made (LibreOffice missing, failed or too slow)."""

    exit_code = 1


def find_soffice() -> str | None:
    """The LibreOffice program: ``DVXL_SOFFICE``, the PATH, or its usual places."""
    chosen = os.environ.get("DVXL_SOFFICE")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    return next((p for p in _PLACES if Path(p).is_file()), None)


def to_pdf(docx: Path, pdf: Path, timeout: float = TIMEOUT_S) -> Path:
    """Convert ``docx`` into ``pdf`` (replaced only when the conversion succeeds)."""
    soffice = find_soffice()
    if soffice is None:
        raise PdfError(
            "Không tìm thấy LibreOffice nên chưa tạo được bản PDF (tệp Word vẫn được ghi). "
            "Cài LibreOffice (Debian/Ubuntu: apt-get install libreoffice-writer-nogui) rồi "
            "chạy lại, hoặc mở tệp Word và lưu thành PDF."
        )
    with tempfile.TemporaryDirectory(prefix="dvxl-lo-") as tmp:
        profile, out = Path(tmp) / "profile", Path(tmp) / "out"
        out.mkdir()
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out),
            str(docx),
        ]
        _run(command, timeout)
        made = out / (docx.stem + ".pdf")
        if not made.is_file() or made.stat().st_size == 0:
            raise PdfError(
                "LibreOffice không tạo được bản PDF của báo cáo (tệp Word vẫn được ghi). "
                "Kiểm tra đã cài thành phần Writer (libreoffice-writer-nogui)."
            )
        with atomic.replacing(pdf) as staged:
            shutil.copyfile(made, staged)
    return pdf


def _run(command: list[str], timeout: float) -> None:
    posix = sys.platform != "win32"
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=posix,
        )
    except OSError as exc:
        raise PdfError(f"Không chạy được LibreOffice ({exc}); tệp Word vẫn được ghi.") from None
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if posix:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
        raise PdfError(
            f"LibreOffice chưa chuyển xong sang PDF sau {timeout:.0f} giây nên đã dừng; tệp "
            "Word vẫn được ghi."
        ) from None
