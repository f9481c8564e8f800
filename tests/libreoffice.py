"""Test helper: fill workbooks in real LibreOffice, as a unit clerk would.

Not a test module. Tests import it (``from libreoffice import ...``; pytest
puts ``tests/`` on ``sys.path``) and call :func:`require_libreoffice` first,
which skips the test locally but fails it when ``CI`` is set, so CI can never
pass without the real client.

One call of :func:`fill_and_save` (or :func:`run_batch`) starts ONE soffice
process for the whole batch: the system Python with LibreOffice's ``uno``
module runs ``tests/lo_fill.py`` on a JSON job file. Everything is bounded by
a timeout and soffice is always killed at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

LO_FILL = Path(__file__).with_name("lo_fill.py")
DEFAULT_TIMEOUT = 120.0

Format = Literal["xlsx", "xls", "ods", "xlsm"]  # xlsm keeps the VBA project (issue #5)
CellValue = str | int | float | dt.date  # dt.datetime is a dt.date too


class Typed(str):
    """Text typed at the keyboard: LibreOffice reads it the way it reads a clerk's typing,
    by the cell's number format (``0912345678`` becomes the number 912345678 in a General
    cell, stays text in a text cell «@»). A plain ``str`` is stored as text, as pasted."""


@dataclass(frozen=True)
class CellEdit:
    """One value typed into one cell (``cell`` in A1 notation)."""

    sheet: str
    cell: str
    value: CellValue


@dataclass(frozen=True)
class Output:
    """Where and in which format LibreOffice saves the filled document."""

    path: Path
    format: Format


@dataclass(frozen=True)
class FillJob:
    """Open ``source``, apply ``edits`` in order, save to every output."""

    source: Path
    edits: list[CellEdit] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)


@dataclass(frozen=True)
class EditResult:
    edit: CellEdit
    ok: bool
    error: str = ""  # LibreOffice's refusal, e.g. a locked cell on a protected sheet


@dataclass(frozen=True)
class Result:
    """What happened to one job."""

    job: FillJob
    edits: list[EditResult]
    written: list[Path]  # outputs LibreOffice stored, in job order
    errors: list[str]  # job-level problems: open, store, close, not run
    seconds: float  # open + edits + stores + close

    @property
    def ok(self) -> bool:
        """True when the document opened, every edit took and every output was written."""
        return not self.errors and all(e.ok for e in self.edits)

    def edit(self, sheet: str, cell: str) -> EditResult:
        """The (last) result for the edit of ``sheet!cell``."""
        for result in reversed(self.edits):
            if result.edit.sheet == sheet and result.edit.cell == cell:
                return result
        raise KeyError(f"{sheet}!{cell}")


@dataclass(frozen=True)
class Batch:
    results: list[Result]
    startup_seconds: float  # soffice launch until the UNO connection is up
    shutdown_seconds: float  # terminate until soffice is gone
    total_seconds: float  # the whole subprocess, interpreter start included


@dataclass(frozen=True)
class LibreOffice:
    soffice: str
    python: str  # an interpreter that can ``import uno``


class LibreOfficeError(RuntimeError):
    """The batch as a whole failed (timeout, soffice did not start, bad job)."""


def find_soffice() -> str | None:
    """Path of the soffice executable, or None."""
    override = os.environ.get("DVXL_SOFFICE")
    if override:
        return override if Path(override).exists() else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    candidates = [
        Path("/usr/bin/soffice"),
        Path("/usr/lib/libreoffice/program/soffice"),
        Path("/opt/libreoffice/program/soffice"),
        Path("/Applications/LibreOffice.app/Contents/MacOS/soffice"),
        Path(os.environ.get("PROGRAMFILES", r"C:\Program Files"))
        / "LibreOffice"
        / "program"
        / "soffice.exe",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    return None


def _can_import_uno(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import uno"],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_uno_python(soffice: str | None = None) -> str | None:
    """An interpreter with LibreOffice's ``uno`` module: Debian's python3-uno or the bundled one."""
    candidates: list[str] = []
    override = os.environ.get("DVXL_UNO_PYTHON")
    if override:
        candidates.append(override)
    candidates.append("/usr/bin/python3")
    if soffice:
        program = Path(soffice).resolve().parent
        candidates += [str(program / "python"), str(program / "python.exe")]
    for candidate in candidates:
        if Path(candidate).exists() and _can_import_uno(candidate):
            return candidate
    return None


def libreoffice_missing() -> str | None:
    """Why the real client cannot be driven here, or None when it can."""
    soffice = find_soffice()
    if soffice is None:
        return "soffice not found (LibreOffice chưa được cài đặt)"
    if find_uno_python(soffice) is None:
        return "no Python with LibreOffice's uno module (/usr/bin/python3 + python3-uno)"
    return None


def require_libreoffice() -> LibreOffice:
    """Return the client, or skip the test locally and fail it on CI (``CI`` set)."""
    soffice = find_soffice()
    python = find_uno_python(soffice) if soffice else None
    if soffice is None or python is None:
        reason = libreoffice_missing() or "LibreOffice unavailable"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs real LibreOffice: {reason}", pytrace=False)
        pytest.skip(reason)
    return LibreOffice(soffice=soffice, python=python)


def _clean_env() -> dict[str, str]:
    """Environment for the system Python: no trace of the project's virtualenv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        parts = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(p for p in parts if not p.startswith(venv))
    return env


def _encode_edit(edit: CellEdit) -> dict[str, Any]:
    value = edit.value
    base: dict[str, Any] = {"sheet": edit.sheet, "cell": edit.cell}
    if isinstance(value, bool):
        raise TypeError("booleans are not typed values; use 1/0 or text")
    if isinstance(value, dt.datetime):
        return {**base, "type": "datetime", "value": value.replace(tzinfo=None).isoformat()}
    if isinstance(value, dt.date):
        return {**base, "type": "date", "value": value.isoformat()}
    if isinstance(value, int):
        return {**base, "type": "int", "value": value}
    if isinstance(value, float):
        return {**base, "type": "float", "value": value}
    if isinstance(value, Typed):
        return {**base, "type": "typed", "value": str(value)}
    if isinstance(value, str):
        return {**base, "type": "str", "value": value}
    raise TypeError(f"unsupported cell value {value!r}")


def _kill_group(pgid_file: Path) -> None:
    if not hasattr(os, "killpg"):
        return
    try:
        pgid = int(pgid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_batch(
    jobs: list[FillJob],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    client: LibreOffice | None = None,
) -> Batch:
    """Run every job in one LibreOffice process, with timings. Raises LibreOfficeError."""
    if client is None:
        client = require_libreoffice()
    if not jobs:
        return Batch(results=[], startup_seconds=0.0, shutdown_seconds=0.0, total_seconds=0.0)
    with tempfile.TemporaryDirectory(prefix="dvxl-lo-batch-") as tmp:
        tmpdir = Path(tmp)
        job_file = tmpdir / "jobs.json"
        result_file = tmpdir / "result.json"
        pgid_file = tmpdir / "soffice.pgid"
        spec = {
            "soffice": client.soffice,
            # Leave the inner script time to shut soffice down and report.
            "timeout": max(5.0, timeout - 10.0),
            "pgid_file": str(pgid_file),
            "profile_dir": str(tmpdir / "profile"),
            "jobs": [
                {
                    "source": str(Path(job.source).resolve()),
                    "edits": [_encode_edit(edit) for edit in job.edits],
                    "outputs": [
                        {"path": str(Path(out.path).resolve()), "format": out.format}
                        for out in job.outputs
                    ],
                }
                for job in jobs
            ],
        }
        for job in jobs:
            for out in job.outputs:
                if out.format not in ("xlsx", "xls", "ods", "xlsm"):
                    raise ValueError(f"unsupported output format {out.format!r}")
        job_file.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        started = time.monotonic()
        proc = subprocess.Popen(
            [client.python, str(LO_FILL), str(job_file), str(result_file)],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=hasattr(os, "setsid"),
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            _kill_group(pgid_file)
            stdout, stderr = proc.communicate()
            raise LibreOfficeError(
                f"LibreOffice batch timed out after {timeout:g} s\n{stdout}\n{stderr}"
            ) from exc
        finally:
            if proc.poll() is None:
                proc.kill()
        total = time.monotonic() - started
        if not result_file.exists():
            _kill_group(pgid_file)
            raise LibreOfficeError(
                f"lo_fill.py produced no result (exit {proc.returncode})\n{stdout}\n{stderr}"
            )
        data = json.loads(result_file.read_text(encoding="utf-8"))
    if data["fatal"] and not data["startup_seconds"]:  # never connected
        raise LibreOfficeError(f"LibreOffice batch failed: {data['fatal']}\n{stderr}")
    results = []
    for job, raw in zip(jobs, data["jobs"], strict=True):
        results.append(
            Result(
                job=job,
                edits=[
                    EditResult(edit=edit, ok=bool(r["ok"]), error=str(r["error"]))
                    for edit, r in zip(job.edits, raw["edits"], strict=True)
                ],
                written=[Path(p) for p in raw["written"]],
                errors=[str(e) for e in raw["errors"]],
                seconds=float(raw["seconds"]),
            )
        )
    return Batch(
        results=results,
        startup_seconds=float(data["startup_seconds"]),
        shutdown_seconds=float(data["shutdown_seconds"]),
        total_seconds=total,
    )


def fill_and_save(
    jobs: list[FillJob],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    client: LibreOffice | None = None,
) -> list[Result]:
    """Run every job in one LibreOffice process; one Result per job, in order."""
    return run_batch(jobs, timeout=timeout, client=client).results


if __name__ == "__main__":  # pragma: no cover - a manual smoke check
    print(libreoffice_missing() or f"LibreOffice ok: {find_soffice()}", file=sys.stderr)
