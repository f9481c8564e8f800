"""The command line as a user meets it: help, the demo, and refusals in Vietnamese."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from python_calamine import CalamineWorkbook

import dvxl.cli as cli_module
from dvxl.cli import cli, main
from dvxl.workspace import Workspace

from conftest import REPO


def walk(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += walk(command, path + " ")
    return found


COMMANDS = walk(cli)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_vietnamese_help_and_is_in_the_readme(
    path: str, command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command.help and command.help.strip()
    assert main([*path.split(), "--help"]) == 0
    out = capsys.readouterr().out
    assert "Cách dùng:" in out and "Tùy chọn:" in out
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"dvxl {path}" in readme, f"README does not document «dvxl {path}»"


def test_demo_makes_master_and_a_template_per_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["demo", str(out)]) == 0
    assert (out / "master.xlsm").is_file()
    templates = sorted((out / "templates" / "2026-6T").glob("*.xlsx"))
    assert len(templates) == 37
    book = CalamineWorkbook.from_path(str(templates[0]))
    assert "Báo cáo" in book.sheet_names
    # Simulated returns were validated: results and marked-up copies for the wrong ones.
    outputs = out / "outputs" / "2026-6T"
    assert (outputs / "kiem-tra-2026-6T.xlsx").is_file()
    assert (outputs / "kiem-tra-2026-6T.json").is_file()
    assert len(list((outputs / "tra-lai").glob("*-can-sua.xlsx"))) >= 5
    # It leaves history: 2025-N merged first, so 2026-6T's workbook compares the periods.
    assert (out / "outputs" / "2025-N" / "tong-hop-2025-N.xlsx").is_file()
    period_book = CalamineWorkbook.from_path(str(outputs / "tong-hop-2026-6T.xlsx"))
    assert "So sánh các kỳ" in period_book.sheet_names
    assert "   So sánh với: Năm 2025" in capsys.readouterr().out.splitlines()
    # The demo can be run again: the previous master is kept in backup/.
    assert main(["demo", str(out)]) == 0
    assert len(list((out / "backup").glob("master-*.xlsm"))) == 1
    printed = capsys.readouterr().out
    assert "mẫu báo cáo" in printed and "0. Kỳ trước để so sánh, Năm 2025 (2025-N)" in printed


def test_init_never_overwrites_a_master(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    before = (ws / "master.xlsm").read_bytes()
    assert main(["init", str(ws)]) == 2
    assert "không ghi đè" in capsys.readouterr().err
    assert (ws / "master.xlsm").read_bytes() == before
    assert main(["init", str(ws), "--force"]) == 0
    backups = list((ws / "backup").glob("master-*.xlsm"))
    assert [b.read_bytes() for b in backups] == [before]


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["templates"], 2, "Lỗi: Thiếu tùy chọn '-p' / '--period'."),
        (["templates", "-p", "2031-N"], 2, "Không có kỳ báo cáo «2031-N»"),
        (["khong-co-lenh"], 2, "Lỗi: Không có lệnh «khong-co-lenh»."),
        (["templates", "--bogus"], 2, "Lỗi: Không có tùy chọn --bogus."),
        (["templates", "-p", "2026-6T", "thua"], 2, "Lỗi: Thừa đối số, lệnh này không nhận: thua"),
        (["statu"], 2, "Không có lệnh «statu». Có phải định gõ 'status'?"),
    ],
    ids=["missing-period", "unknown-period", "unknown-command", "unknown-option", "extra-argument",
         "command-misspelt"],
)
def test_usage_errors_are_vietnamese(
    built_workspace: Workspace,
    argv: list[str],
    code: int,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = str(built_workspace.root)
    if argv[0] == "templates":
        argv = [*argv, "-w", root]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_outside_a_workspace_says_how_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "-p", "2026-6T", "-w", str(tmp_path)]) == 2
    assert "dvxl init" in capsys.readouterr().err


def test_catalog_export_and_check(
    built_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(built_workspace.root)
    assert main(["catalog", "check", "-w", root]) == 0
    assert "Cấu hình hợp lệ: 12 nhiệm vụ" in capsys.readouterr().out
    assert main(["catalog", "export", "-w", root, "-o", str(tmp_path / "x")]) == 0
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        "directive.yaml",
        "periods.yaml",
        "report.yaml",
        "rubric.yaml",
        "units.yaml",
    ]


def test_validate_exit_status_follows_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["demo", str(out)]) == 0
    capsys.readouterr()
    assert main(["validate", "-w", str(out), "-p", "2026-6T"]) == 1
    printed = capsys.readouterr().out
    assert "Hợp lệ để tổng hợp" in printed and "kiem-tra-2026-6T.xlsx" in printed
    clean = tmp_path / "clean"
    clean.mkdir()
    good = next(p for p in (out / "inbox").iterdir() if p.name == "BC 2026-6T BCSUB.xlsx")
    (clean / good.name).write_bytes(good.read_bytes())
    json_copy = tmp_path / "kq.json"
    assert (
        main(
            [
                "validate",
                str(clean),
                "-w",
                str(out),
                "-p",
                "2026-6T",
                "--json",
                str(json_copy),
                "-o",
                str(tmp_path / "kq"),
            ]
        )
        == 0
    )
    assert json_copy.is_file() and (tmp_path / "kq" / "kiem-tra-2026-6T.xlsx").is_file()
    assert main(["validate", str(tmp_path / "khong-co"), "-w", str(out)]) == 2


def test_an_unexpected_error_is_told_in_vietnamese(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dvxl import workspace

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(workspace, "init", broken)
    monkeypatch.setattr(cli_module, "CRASH_DIR", tmp_path / "rieng")
    assert main(["init", str(tmp_path / "ws")]) == 4  # the run failed (not "files with errors")
    err = capsys.readouterr().err
    assert "lỗi không lường trước" in err and "Traceback" not in err
    log = tmp_path / "rieng" / "dvxl-loi.log"
    assert "ZeroDivisionError" in log.read_text(encoding="utf-8") and str(log) in err
    # Only its owner can read it, in a folder only its owner can enter.
    assert log.stat().st_mode & 0o077 == 0 and log.parent.stat().st_mode & 0o077 == 0


def test_the_crash_log_is_never_written_through_a_planted_link(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dvxl import workspace

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    victim = tmp_path / "victim.txt"
    victim.write_text("untouched", encoding="utf-8")
    (tmp_path / "rieng").mkdir(mode=0o700)
    (tmp_path / "rieng" / "dvxl-loi.log").symlink_to(victim)
    monkeypatch.setattr(workspace, "init", broken)
    monkeypatch.setattr(cli_module, "CRASH_DIR", tmp_path / "rieng")
    assert main(["init", str(tmp_path / "ws")]) == 4
    assert victim.read_text(encoding="utf-8") == "untouched"
    assert "lỗi không lường trước" in capsys.readouterr().err
