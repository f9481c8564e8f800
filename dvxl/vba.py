"""The VBA project of ``master.xlsm``: xlwings' own modules plus the buttons' module (issue #5).

The project is built at ``dvxl init`` time, never committed:

1. xlwings' VBA (the ``xlwings`` module with ``RunPython`` and the ``Dictionary``
   class it needs on macOS) is taken from ``quickstart_standalone.xlsm`` inside
   the *installed* xlwings package, whose version must be exactly
   :data:`XLWINGS_VERSION`: the VBA module and the Python package talk through
   command-line arguments that change between versions.
2. The quickstart's sample macro (``Module1.SampleCall``) is removed and every
   ``macros/*.bas`` file is added as a standard module with pyOpenVBA, a pure
   Python writer of the MS-OVBA format. Its result is read back with oletools'
   ``olevba`` in ``tests/test_vba.py``: every module's source comes back equal.
3. ``xl/vbaProject.bin`` is taken out of the result, for XlsxWriter's
   ``add_vba_project()``.

The ``.bas`` files hold ASCII only: the VBA editor stores source in the
project's ANSI code page (1252), so Vietnamese captions live in Python
(:data:`BUTTONS`) and in ``dvxl.excel``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dvxl import atomic
from dvxl.errors import DvxlError

#: The xlwings version dvxl is built and tested with; pinned exactly in pyproject.toml.
XLWINGS_VERSION = "0.37.8"

#: The VBA module made from ``macros/dvxl.bas``; its macros are the buttons' targets.
MODULE = "dvxl_nut"

#: xlwings' modules the project keeps, and the sample module it drops.
XLWINGS_MODULES = ("xlwings", "Dictionary")
SAMPLE_MODULE = "Module1"

_TEMPLATE = "quickstart_standalone.xlsm"
_VB_NAME = re.compile(r'^Attribute VB_Name = "([A-Za-z][A-Za-z0-9_]{0,30})"\r?$', re.MULTILINE)


@dataclass(frozen=True)
class Button:
    """A form button on the master's cover sheet, bound to a macro of :data:`MODULE`."""

    macro: str
    caption: str
    help: str


BUTTONS: tuple[Button, ...] = (
    Button(
        "TongHop",
        "Tổng hợp",
        "Kiểm tra, tiếp nhận và tổng hợp các báo cáo trong thư mục nhận cho kỳ đã chọn; "
        "các trang kết quả (Tổng hợp, Theo dõi, Đánh giá…) hiện ở cuối sổ này.",
    ),
    Button(
        "KiemTra",
        "Kiểm tra",
        "Chỉ kiểm tra các tệp trong thư mục nhận cho kỳ đã chọn, rồi mở sổ kết quả kiểm tra.",
    ),
    Button(
        "TaoMau",
        "Tạo mẫu",
        "Tạo mẫu báo cáo cho từng đơn vị được giao nhiệm vụ trong kỳ đã chọn.",
    ),
    Button(
        "DonDoc",
        "Đôn đốc",
        "Cập nhật bảng theo dõi: đơn vị đã nộp, nộp muộn, không hợp lệ, chưa nộp cần nhắc.",
    ),
)


class VbaBuildError(DvxlError):
    """The VBA project of master.xlsm cannot be built (wrong xlwings, bad .bas file)."""


def macros_dir() -> Path:
    """``macros/`` of the repository, or the copy shipped in the package as ``dvxl.macros``."""
    repo = Path(__file__).resolve().parent.parent / "macros"
    if (repo / "dvxl.bas").is_file():
        return repo
    # A folder of data files only (no __init__.py), so importlib.resources would give a
    # namespace MultiplexedPath, not a path: the installed folder is beside this module.
    return Path(__file__).resolve().parent / "macros"


def macro_sources(folder: Path | None = None) -> dict[str, str]:
    """Module name → source as the VBA project stores it (CRLF line ends), from ``*.bas``.

    The module name is the file's ``Attribute VB_Name`` line, as the VBA editor
    exports it; the whole text, that line included, is the stored source.
    """
    sources: dict[str, str] = {}
    for path in sorted((folder or macros_dir()).glob("*.bas")):
        raw = path.read_bytes()
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise VbaBuildError(
                f"Tệp {path.name} chỉ được chứa ký tự ASCII (VBA lưu mã theo bảng mã ANSI); "
                "hãy để chữ tiếng Việt trong dvxl/excel.py."
            ) from None
        source = text.replace("\r\n", "\n").replace("\n", "\r\n")
        if not source.endswith("\r\n"):
            source += "\r\n"
        match = _VB_NAME.match(source)
        if match is None:
            raise VbaBuildError(
                f'Tệp {path.name} phải bắt đầu bằng dòng Attribute VB_Name = "<tên module>".'
            )
        sources[match.group(1)] = source
    return sources


def check_xlwings() -> str:
    """The installed ``xlwings.__version__``, which must be :data:`XLWINGS_VERSION`."""
    try:
        import xlwings
    except ImportError:
        raise VbaBuildError(
            f"Chưa cài xlwings. Sổ master.xlsm cần đúng xlwings {XLWINGS_VERSION}: "
            f"pip install xlwings=={XLWINGS_VERSION}"
        ) from None
    installed = str(xlwings.__version__)
    if installed != XLWINGS_VERSION:
        raise VbaBuildError(
            f"Đang cài xlwings {installed}, nhưng dvxl cần đúng phiên bản {XLWINGS_VERSION} "
            "(mã VBA trong sổ và gói Python xlwings phải cùng phiên bản). "
            f"Cài lại: pip install xlwings=={XLWINGS_VERSION}"
        )
    return installed


def xlwings_template() -> Path:
    """``quickstart_standalone.xlsm`` of the installed xlwings package."""
    check_xlwings()
    path = Path(str(resources.files("xlwings") / _TEMPLATE))
    if not path.is_file():
        raise VbaBuildError(f"Gói xlwings {XLWINGS_VERSION} đã cài thiếu tệp {_TEMPLATE}.")
    return path


def build_vba_project(out: Path, macros: Path | None = None) -> Path:
    """Write ``vbaProject.bin`` (xlwings' modules + ``*.bas`` of ``macros/``) to the file ``out``.

    ``macros`` is another folder of ``.bas`` files (tests use it); it must hold
    :data:`MODULE` too, since the buttons are bound to its macros.
    """
    from pyopenvba import ExcelFile  # pure Python; imported here to keep `import dvxl` light

    folder = macros or macros_dir()
    sources = macro_sources(folder)
    if MODULE not in sources:
        raise VbaBuildError(f"Không có module VBA «{MODULE}» trong {folder}.")
    template = xlwings_template()
    with tempfile.TemporaryDirectory(prefix="dvxl-vba-") as tmp:
        work, built = Path(tmp) / "xlwings.xlsm", Path(tmp) / "built.xlsm"
        shutil.copyfile(template, work)
        with ExcelFile(work) as book:
            project = book.vba_project()
            if SAMPLE_MODULE in project.module_names():
                project.delete_module(SAMPLE_MODULE)
            for name, source in sources.items():
                project.add_module(name, source)
            book.save(built)
        with zipfile.ZipFile(built) as package:
            data = package.read("xl/vbaProject.bin")
    data = _tidy_project_stream(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out, data)
    return out


def _tidy_project_stream(vba_project: bytes) -> bytes:
    """Drop blank lines inside the PROJECT stream's ``[Workspace]`` section.

    xlwings' quickstart ends its PROJECT stream with an empty line, and
    pyOpenVBA appends a new module's ``[Workspace]`` entry after it; Excel's own
    files have no empty line there ([MS-OVBA] 2.3.1.18), so it goes (issue #5).
    """
    from pyopenvba.cfb import CFB

    cfb = CFB.from_bytes(vba_project)
    raw = cfb.get_stream("PROJECT")
    tidy = tidy_project_text(raw)
    if tidy == raw:
        return vba_project
    cfb.write_stream("PROJECT", tidy)
    data: bytes = cfb.to_bytes()
    return data


def tidy_project_text(raw: bytes) -> bytes:
    """The PROJECT stream text with no empty line after ``[Workspace]`` (CRLF kept)."""
    lines = raw.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.strip() == b"[Workspace]"), None)
    if start is None:
        return raw
    head, workspace = lines[: start + 1], lines[start + 1 :]
    kept = [line for line in workspace if line.strip()]
    return b"\r\n".join(head + kept) + b"\r\n"
