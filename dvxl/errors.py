"""The few exceptions that stop dvxl, each with its exit code and a Vietnamese message.

Findings about returned files are data (see the checks stage), not exceptions;
these are for what makes a command unable to go on at all.

Exit codes: 0 done; 1 done, and some received file has errors (``dvxl validate``);
2 the command was used wrongly; 3 the configuration is wrong; 4 the run failed (a file
that cannot be read or written, another run holding the workspace, a fault of dvxl's).
"""

from __future__ import annotations

#: The run could not be done (see the module's list of exit codes).
RUN_FAILED = 4


class DvxlError(Exception):
    """A condition that stops a command; ``str(error)`` is the Vietnamese message."""

    exit_code = RUN_FAILED


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
