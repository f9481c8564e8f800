"""The few exceptions that stop dvxl, each with its exit code and a Vietnamese message.

Findings about returned files are data (see the checks stage), not exceptions;
these are for what makes a command unable to go on at all.
"""

from __future__ import annotations


class DvxlError(Exception):
    """A condition that stops a command; ``str(error)`` is the Vietnamese message."""

    exit_code = 1


class UsageError(DvxlError):
    """The command was asked for something that cannot be (no workspace, unknown period…)."""

    exit_code = 2


class ConfigError(DvxlError):
    """The configuration (master workbook or text catalog) is wrong; lists every problem found."""

    exit_code = 3

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Cấu hình có lỗi, cần sửa trước khi tiếp tục:\n" + "\n".join(f"- {p}" for p in problems)
        )
