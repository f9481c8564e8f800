"""The VBA project of master.xlsm, read back with oletools' olevba (independent of its writer).

pyOpenVBA writes the project; olevba, a separate implementation of MS-OVBA
(decompression, dir stream), reads it back. Every module must come back as
``macros/*.bas`` says, xlwings' own modules as the pinned xlwings ships them,
and every button must be bound to a macro that exists and calls Python.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from importlib import metadata
from pathlib import Path

import olefile
import pytest
import xlsxwriter
from pyopenvba import check_file

with warnings.catch_warnings():  # oletools 0.60 uses pyparsing names pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

from dvxl import excel, vba, workspace

from libreoffice import FillJob, Output, fill_and_save, require_libreoffice

MACROS = Path(__file__).resolve().parent.parent / "macros"
_SUB = re.compile(r"^Public Sub (\w+)\(\)\r\n(.*?)^End Sub\r$", re.MULTILINE | re.DOTALL)
_RUN_PYTHON = re.compile(r'^    RunPython "import dvxl\.excel; dvxl\.excel\.(\w+)\(\)"\r\n$')
_MACRO = re.compile(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>")


def modules(path: Path | bytes) -> dict[str, str]:
    """Module name → source, as olevba reads them (attribute lines included)."""
    parser = VBA_Parser("vba", data=path) if isinstance(path, bytes) else VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


def project_stream(vba_project: bytes) -> str:
    with olefile.OleFileIO(io.BytesIO(vba_project)) as ole:
        data: bytes = ole.openstream("PROJECT").read()
    return data.decode("cp1252")


def public_subs(source: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _SUB.finditer(source)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vba.build_vba_project(tmp_path_factory.mktemp("vba") / "vbaProject.bin")


@pytest.fixture(scope="module")
def xlsm(project: Path) -> Path:
    """A small master-like xlsm: the cover with the four buttons, as master.py will write it."""
    path = project.with_name("master.xlsm")
    workbook = xlsxwriter.Workbook(str(path))
    cover = workbook.add_worksheet("Bìa")
    workbook.add_worksheet("Kỳ báo cáo")
    workbook.add_vba_project(str(project))
    for i, button in enumerate(vba.BUTTONS):
        cover.insert_button(
            4 + 2 * i,
            1,
            {
                "macro": button.macro,
                "caption": button.caption,
                "description": button.help,
                "width": 128,
                "height": 32,
            },
        )
        cover.write_string(4 + 2 * i, 3, button.help)
    workbook.close()
    return path


def test_every_module_reads_back_as_its_bas_file(project: Path) -> None:
    found = modules(project)
    sources = vba.macro_sources()
    assert sources, "no macros/*.bas"
    for name, source in sources.items():
        assert found[name] == source, name


def test_the_bas_files_are_what_the_vba_editor_exports(project: Path) -> None:
    for path in sorted(MACROS.glob("*.bas")):
        raw = path.read_bytes()
        raw.decode("ascii")  # the project's code page is 1252: ASCII only, captions in Python
        first = raw.splitlines()[0].decode()
        assert re.fullmatch(r'Attribute VB_Name = "\w+"', first), path.name
    assert set(vba.macro_sources()) == {vba.MODULE}


def test_xlwings_modules_are_those_of_the_pinned_package(project: Path) -> None:
    assert metadata.version("xlwings") == vba.check_xlwings() == vba.XLWINGS_VERSION
    shipped = modules(vba.xlwings_template())
    found = modules(project)
    for name in vba.XLWINGS_MODULES:
        assert found[name] == shipped[name], name
    assert f'XLWINGS_VERSION As String = "{vba.XLWINGS_VERSION}"' in found["xlwings"]
    assert vba.SAMPLE_MODULE not in found  # the quickstart's SampleCall is left out
    documents = {"ThisWorkbook", "Sheet1", "Sheet2"}
    assert set(found) == documents | set(vba.XLWINGS_MODULES) | {vba.MODULE}
    for name in documents:
        assert found[name] == shipped[name]


def test_the_project_stream_declares_every_module_once(project: Path) -> None:
    text = project_stream(project.read_bytes())
    head, _, workspace = text.partition("[Workspace]\r\n")
    declared = re.findall(r"^(?:Module|Class|Document)=([^/\r]+)", head, re.MULTILINE)
    assert sorted(declared) == sorted(modules(project))
    windows = workspace.split("\r\n")
    assert windows[-1] == "" and "" not in windows[:-1]  # no empty line inside the section
    assert sorted(w.split("=")[0] for w in windows[:-1]) == sorted(declared)


def test_every_button_macro_only_calls_its_python_entry_point(project: Path) -> None:
    subs = public_subs(modules(project)[vba.MODULE])
    assert sorted(subs) == sorted(b.macro for b in vba.BUTTONS)
    for button in vba.BUTTONS:
        call = _RUN_PYTHON.match(subs[button.macro])
        assert call, f"{button.macro} must hold one RunPython line and nothing else"
        assert callable(getattr(excel, call.group(1))), call.group(1)


def test_buttons_have_vietnamese_captions_and_help() -> None:
    assert [b.caption for b in vba.BUTTONS] == [
        "Tổng hợp", "Kiểm tra", "Tạo mẫu", "Đôn đốc", "Báo cáo"
    ]
    for button in vba.BUTTONS:
        assert button.help and button.help == button.help.strip()


def test_the_build_is_deterministic(project: Path, tmp_path: Path) -> None:
    again = vba.build_vba_project(tmp_path / "again.bin")
    assert again.read_bytes() == project.read_bytes()


def test_a_large_module_round_trips(tmp_path: Path) -> None:
    # ms-ovba 0.0.1 corrupts modules over about 600 bytes (NOTES-excel.md); prove the writer
    # on some 130 kB of varied source, in chunks that compress badly and well.
    folder = tmp_path / "macros"
    folder.mkdir()
    (folder / "dvxl.bas").write_bytes((MACROS / "dvxl.bas").read_bytes())
    lines = ['Attribute VB_Name = "Lon"', "Option Explicit"]
    for i in range(1500):
        word = "".join(chr(97 + (i * 7 + k * 13) % 26) for k in range(3 + i % 9))
        lines += [f"Public Sub S{i}_{word}()", f'    Debug.Print "{word * (1 + i % 4)}" & {i**3}']
        lines.append("End Sub")
    (folder / "lon.bas").write_text("\n".join(lines) + "\n", encoding="ascii")
    built = vba.build_vba_project(tmp_path / "big.bin", folder)
    found = modules(built)
    for name, source in vba.macro_sources(folder).items():
        assert found[name] == source, name
    assert len(found["Lon"]) > 100_000


def test_a_wrong_xlwings_version_is_refused_in_vietnamese(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import xlwings

    monkeypatch.setattr(xlwings, "__version__", "0.30.0")
    with pytest.raises(vba.VbaBuildError, match=r"cần đúng phiên bản 0\.37\.8"):
        vba.build_vba_project(tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


def test_a_bas_file_with_vietnamese_letters_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dvxl.bas").write_text('Attribute VB_Name = "dvxl_nut"\n\' Tổng hợp\n')
    with pytest.raises(vba.VbaBuildError, match="ASCII"):
        vba.macro_sources(tmp_path)


def test_tidy_project_text_drops_empty_lines_in_the_workspace_section() -> None:
    raw = b'ID="x"\r\nModule=a\r\n\r\n[Workspace]\r\na=0, 0, 0, 0, C\r\n\r\nb=0, 0, 0, 0, C\r\n'
    assert vba.tidy_project_text(raw) == (
        b'ID="x"\r\nModule=a\r\n\r\n[Workspace]\r\na=0, 0, 0, 0, C\r\nb=0, 0, 0, 0, C\r\n'
    )


# The buttons in an xlsm -------------------------------------------------------------------------


def button_macros(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as package:
        vml = [n for n in package.namelist() if n.endswith(".vml")]
        return [m for n in vml for m in _MACRO.findall(package.read(n).decode("utf-8"))]


def bound_macro(reference: str) -> str:
    """``[0]!TongHop`` (XlsxWriter, Excel) or ``dvxl_nut.TongHop`` (LibreOffice) → ``TongHop``."""
    match = re.fullmatch(r"(?:\[0\]!|(\w+)\.)(\w+)", reference)
    assert match, reference
    assert match.group(1) in (None, vba.MODULE), reference
    return match.group(2)


def test_each_button_in_the_xlsm_is_bound_to_an_existing_macro(xlsm: Path) -> None:
    macros = button_macros(xlsm)
    assert macros == [f"[0]!{b.macro}" for b in vba.BUTTONS]
    subs = public_subs(modules(xlsm)[vba.MODULE])
    assert all(bound_macro(m) in subs for m in macros)
    with zipfile.ZipFile(xlsm) as package:
        vml = "".join(
            package.read(n).decode("utf-8") for n in package.namelist() if n.endswith(".vml")
        )
        workbook = package.read("xl/workbook.xml").decode("utf-8")
    assert all(b.caption in vml for b in vba.BUTTONS)
    assert 'codeName="ThisWorkbook"' in workbook  # XlsxWriter names the document modules


def test_the_xlsm_passes_pyopenvba_checks(xlsm: Path) -> None:
    report = check_file(xlsm)
    assert report.complete and not report.issues


def test_libreoffice_resaves_the_xlsm_with_our_modules_and_buttons(
    xlsm: Path, tmp_path: Path
) -> None:
    """LibreOffice 7.4 keeps the project but rewrites it (see macros/README.md)."""
    client = require_libreoffice()
    out = tmp_path / "libreoffice.xlsm"
    [result] = fill_and_save([FillJob(xlsm, [], [Output(out, "xlsm")])], client=client)
    assert result.ok, result.errors

    def text(source: str) -> str:  # LibreOffice writes CRLF and one more line at the end
        return source.replace("\r\n", "\n").rstrip("\n")

    found = modules(out)
    for name, source in vba.macro_sources().items():
        assert text(found[name]) == text(source), name
    assert text(found["xlwings"]) == text(modules(vba.xlwings_template())["xlwings"])
    macros = button_macros(out)
    assert sorted(bound_macro(m) for m in macros) == sorted(b.macro for b in vba.BUTTONS)
    assert not check_file(out).issues


def test_dvxl_init_writes_a_master_xlsm_whose_buttons_are_bound(tmp_path: Path) -> None:
    master = workspace.init(tmp_path / "ws").master
    found = modules(master)
    for name, source in vba.macro_sources().items():
        assert found[name] == source, name
    subs = public_subs(found[vba.MODULE])
    macros = button_macros(master)
    assert macros == [f"[0]!{b.macro}" for b in vba.BUTTONS]
    assert all(bound_macro(m) in subs for m in macros)
    assert not check_file(master).issues
