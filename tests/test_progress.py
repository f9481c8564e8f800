"""Progress of a long run: a bar on a terminal, whole lines on standard error otherwise, never
inside a result line (issue 15)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dvxl import progress, workspace
from dvxl.cli import cli

from conftest import PERIOD

LINE = re.compile(
    r"Đang kiểm tra \d+ tệp…"
    r"|Đang kiểm tra: \d+/\d+ tệp, (còn khoảng .+|sắp xong)\."
    r"|Đã kiểm tra \d+/\d+ tệp trong .+\."
)


class _Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(count: int, stream: io.StringIO, seconds_each: float) -> list[Path]:
    clock = _Clock()
    seen = []
    for item in progress.files(iter(Path(f"{i}.xlsx") for i in range(count)), count,
                               stream=stream, clock=clock):
        seen.append(item)
        clock.now += seconds_each  # checking the file
    return seen


def test_off_a_terminal_progress_is_whole_lines_of_files_done_and_time_left() -> None:
    stream = io.StringIO()
    assert len(_run(40, stream, 2.0)) == 40
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Đang kiểm tra 40 tệp…"
    assert lines[1] == "Đang kiểm tra: 4/40 tệp, còn khoảng 1 phút 12 giây."
    assert lines[-1] == "Đã kiểm tra 40/40 tệp trong 1 phút 20 giây."
    assert len(lines) == 11 and all(LINE.fullmatch(line) for line in lines)
    assert stream.getvalue().endswith("\n")


def test_a_slow_run_says_something_every_ten_seconds() -> None:
    stream = io.StringIO()
    _run(1000, stream, 11.0)
    lines = stream.getvalue().splitlines()
    assert lines[1] == "Đang kiểm tra: 1/1000 tệp, còn khoảng 3 giờ 3 phút."
    assert len(lines) == 1001


def test_a_quick_run_says_only_where_it_starts_and_ends() -> None:
    stream = io.StringIO()
    _run(500, stream, 0.0005)
    assert stream.getvalue().splitlines() == [
        "Đang kiểm tra 500 tệp…", "Đã kiểm tra 500/500 tệp trong dưới 1 giây."
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_it_is_clicks_bar_with_files_done_of_the_total() -> None:
    stream = _Terminal()
    assert len(_run(7, stream, 0.0)) == 7
    text = stream.getvalue()
    assert "\r" in text and "Đang kiểm tra" in text and "7/7" in text
    assert "Đã kiểm tra" not in text  # no separate lines: the bar is redrawn in place


@pytest.mark.parametrize(("seconds", "said"), [
    (0.2, "dưới 1 giây"), (1, "1 giây"), (59.6, "1 phút"), (75, "1 phút 15 giây"),
    (3600 * 2 + 61, "2 giờ 1 phút"),
])
def test_durations_read_as_vietnamese(seconds: float, said: str) -> None:
    assert progress.duration(seconds) == said


def _inbox(built: workspace.Workspace, tmp_path: Path, count: int) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for template in sorted(built.templates(PERIOD).glob("*.xlsx"))[:count]:
        shutil.copy(template, inbox / template.name)
    return inbox


def test_progress_goes_to_standard_error_apart_from_the_results(
    built_workspace: workspace.Workspace, tmp_path: Path
) -> None:
    inbox = _inbox(built_workspace, tmp_path, 6)
    result = CliRunner().invoke(cli, ["validate", str(inbox), "-p", PERIOD, "-w",
                                      str(built_workspace.root), "-o", str(tmp_path / "kq")])
    assert result.exception is None, result.output
    progress_lines = result.stderr.splitlines()
    assert progress_lines[0] == "Đang kiểm tra 6 tệp…"
    assert progress_lines[-1].startswith("Đã kiểm tra 6/6 tệp trong ")
    assert all(LINE.fullmatch(line) for line in progress_lines), progress_lines
    assert "kiểm tra 6" not in result.stdout
    assert f"6 tệp trong {inbox}" in result.stdout.splitlines()
    # As a terminal shows both streams: every line is a progress line or a result line.
    for line in result.output.splitlines():
        assert LINE.fullmatch(line) or line in result.stdout.splitlines(), line


def test_the_command_keeps_progress_and_results_on_their_own_lines(
    built_workspace: workspace.Workspace, tmp_path: Path
) -> None:
    inbox = _inbox(built_workspace, tmp_path, 4)
    done = subprocess.run(
        [sys.executable, "-m", "dvxl.cli", "validate", str(inbox), "-p", PERIOD, "-w",
         str(built_workspace.root), "-o", str(tmp_path / "kq")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "Đang kiểm tra 4 tệp…"
    assert any(line.startswith("Đã kiểm tra 4/4 tệp") for line in lines)
    # Progress text only ever as a line of its own, never inside a result line.
    for line in lines:
        assert LINE.fullmatch(line) or not re.search("(Đang|Đã) kiểm tra", line), line
