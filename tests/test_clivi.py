"""click speaks Vietnamese through its gettext catalogue (issue 15): the catalogue itself, how
it is installed, and the command line as a user meets it (CliRunner and ``main``)."""

from __future__ import annotations

import ast
import gettext
import importlib.util
import os
import re
import string
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest
from click.testing import CliRunner

from dvxl import clivi
from dvxl.cli import cli, main

from conftest import REPO

PO = REPO / "dvxl" / "locale" / "vi" / "LC_MESSAGES" / "click.po"
MO = PO.with_suffix(".mo")
CLICK = Path(click.__file__).parent


def _compiler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compile_messages", REPO / "scripts" / "compile_messages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


COMPILER = _compiler()
ENTRIES = [e for e in COMPILER.read_po(PO.read_text(encoding="utf-8")) if e.msgid]


def _click_source() -> tuple[set[str], set[str]]:
    """What the installed click marks for translation (``_()``, ``ngettext()`` with a literal
    first argument), and every string constant in its source."""
    marked: set[str] = set()
    constants: set[str] = set()
    for path in sorted(CLICK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "ngettext") and node.args
                    and isinstance(node.args[0], ast.Constant)):
                marked.add(node.args[0].value)
    return marked, constants


def test_the_shipped_mo_is_the_po_compiled() -> None:
    assert MO.read_bytes() == COMPILER.compile_po(PO.read_text(encoding="utf-8")), (
        "run: python scripts/compile_messages.py"
    )


def test_the_catalogue_covers_every_message_click_marks() -> None:
    marked, constants = _click_source()
    ours = {e.msgid for e in ENTRIES}
    assert sorted(marked - ours) == [], "click has messages the catalogue does not translate"
    # And nothing stale: every msgid is still a string of click's ("required" is translated
    # through a variable: ``_(extra["required"])``).
    assert sorted(ours - constants) == []


def _fields(text: str) -> set[str]:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    return names | set(re.findall(r"%\((\w+)\)s", text))


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.msgid[:40] for e in ENTRIES])
def test_every_translation_is_vietnamese_and_uses_only_the_messages_fields(entry: object) -> None:
    msgid: str = entry.msgid  # type: ignore[attr-defined]
    plural: str | None = entry.plural  # type: ignore[attr-defined]
    strings: dict[int, str] = entry.strings  # type: ignore[attr-defined]
    assert list(strings) == [0] and strings[0]  # Vietnamese has one plural form
    allowed = _fields(msgid) | _fields(plural or "")
    assert _fields(strings[0]) <= allowed, strings[0]


def test_no_click_module_keeps_the_process_wide_gettext() -> None:
    for name in clivi.click_modules():
        module = sys.modules[name]
        assert getattr(module, "_", None) is not gettext.gettext, name
        assert getattr(module, "ngettext", None) is not gettext.ngettext, name


def test_click_speaks_vietnamese_whatever_the_locale_and_others_keep_theirs(
    tmp_path: Path,
) -> None:
    code = (
        "import argparse, gettext, click\n"
        "from dvxl.cli import main\n"
        "main(['khong-co-lenh'])\n"
        "print(gettext.textdomain(), argparse.ArgumentParser(prog='x').format_usage().strip())\n"
    )
    base = {k: v for k, v in os.environ.items()
            if k not in {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"}}
    for extra in ({}, {"LANG": "C"}, {"LANGUAGE": "fr", "LANG": "fr_FR.UTF-8"}):
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**base, **extra},
                              capture_output=True, text=True, encoding="utf-8", check=True)
        assert "Lỗi: Không có lệnh «khong-co-lenh»." in done.stderr, extra
        # The process-wide domain and argparse are untouched.
        assert done.stdout.strip() == "messages usage: x [-h]", extra


# The command line as a user meets it ------------------------------------------------------

ENGLISH = re.compile(
    r"\b(OPTIONS|COMMAND|ARGS|TEXT|INTEGER|FLOAT|BOOLEAN|DIRECTORY|FILE|PATH|INBOX|UNIT|"
    r"Usage|Options|Commands|Show this message|required|default)\b"
)


def _help_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(cli, [])
    return paths


@pytest.mark.parametrize("path", _help_paths(), ids=lambda p: " ".join(p) or "dvxl")
def test_help_has_vietnamese_placeholders_and_no_english(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="dvxl")
    assert result.exit_code == 0
    assert result.output.startswith(f"Cách dùng: {' '.join(['dvxl', *path])} [TÙY_CHỌN]")
    assert "Tùy chọn:" in result.output and "Hiện hướng dẫn này rồi thoát." in result.output
    assert ENGLISH.findall(result.output) == []


def test_help_placeholders_name_what_to_type() -> None:
    out = CliRunner().invoke(cli, ["validate", "--help"], prog_name="dvxl").output
    assert "Cách dùng: dvxl validate [TÙY_CHỌN] [THƯ_MỤC_NHẬN]" in out
    assert "-p, --period MÃ_KỲ" in out and "-w, --workspace THƯ_MỤC" in out
    assert "--json TỆP" in out
    out = CliRunner().invoke(cli, ["demo", "--help"], prog_name="dvxl").output
    assert "[mặc định: 2026-6T]" in out
    out = CliRunner().invoke(cli, ["--help"], prog_name="dvxl").output
    assert "Cách dùng: dvxl [TÙY_CHỌN] LỆNH [ĐỐI_SỐ]..." in out and "\nLệnh:\n" in out


def test_command_summaries_are_whole_sentences() -> None:
    out = CliRunner().invoke(cli, ["--help"], prog_name="dvxl", terminal_width=80).output
    listing = out.split("\nLệnh:\n", 1)[1]
    summaries: dict[str, str] = {}
    name = ""
    for line in listing.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            summaries[name] = text.strip()
        elif line.strip():
            summaries[name] += " " + line.strip()
    assert "..." not in listing
    assert summaries["history"] == (
        "Một đơn vị qua các kỳ: số tệp nhận, tình trạng nộp, tổng điểm, xếp loại."
    )
    assert all(text.endswith((".", ")")) for text in summaries.values()), summaries


def test_an_unknown_command_is_named_with_a_suggestion() -> None:
    result = CliRunner().invoke(cli, ["merg"], prog_name="dvxl")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Cách dùng: dvxl [TÙY_CHỌN] LỆNH [ĐỐI_SỐ]...",
        "Xem hướng dẫn: dvxl --help",
        "",
        "Lỗi: Không có lệnh «merg». Có phải định gõ 'merge'?",
    ]


def test_an_extra_argument_is_refused_in_vietnamese() -> None:
    result = CliRunner().invoke(cli, ["init", "a", "b"], prog_name="dvxl")
    assert result.exit_code == 2
    assert "Cách dùng: dvxl init [TÙY_CHỌN] THƯ_MỤC" in result.stderr
    assert "Xem hướng dẫn: dvxl init --help" in result.stderr
    assert "Lỗi: Thừa đối số, lệnh này không nhận: b" in result.stderr


def test_a_file_given_as_the_workspace_is_named(tmp_path: Path) -> None:
    afile = tmp_path / "so.xlsx"
    afile.write_bytes(b"")
    result = CliRunner().invoke(cli, ["status", "-w", str(afile)], prog_name="dvxl")
    assert result.exit_code == 2
    assert (f"Lỗi: Giá trị không hợp lệ cho '-w' / '--workspace': «{afile}» là một tệp, "
            "không phải thư mục.") in result.stderr


def test_a_missing_workspace_is_named_by_its_real_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["status"], prog_name="dvxl")
    assert result.exit_code == 2 or "chưa phải là thư mục làm việc" in result.output
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert f"Thư mục {tmp_path} chưa phải là thư mục làm việc" in err
    assert f"«dvxl init {tmp_path}»" in err and " . " not in err
    assert main(["status", "-w", "khong-co"]) == 2
    assert f"{tmp_path / 'khong-co'}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["validate"], ["merge"], ["templates", "-p", "2026-6T"],
                                     ["report", "-p", "2026-6T"]])
def test_a_folder_that_is_not_a_workspace_is_refused_and_left_untouched(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cong-van.pdf").write_bytes(b"%PDF-1.4\n")
    assert main([*command, "-w", str(tmp_path)]) == 2
    assert "chưa phải là thư mục làm việc" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cong-van.pdf"]  # no lock, no outputs
