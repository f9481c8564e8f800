"""Fill workbooks in real LibreOffice through UNO, as a unit clerk would.

This script is run by ``tests/libreoffice.py`` under the *system* Python that
ships LibreOffice's ``uno`` module (``/usr/bin/python3`` with Debian's
python3-uno), never under the project's virtual environment, and never
imported by pytest (its name does not match ``test_*.py`` and all work happens
under ``if __name__ == "__main__"``).

Usage::

    /usr/bin/python3 tests/lo_fill.py JOBS.json RESULT.json

JOBS.json::

    {"soffice": "/usr/bin/soffice", "timeout": 110, "pgid_file": "/tmp/.../pgid",
     "profile_dir": "/tmp/.../profile",
     "jobs": [{"source": "in.xlsx",
               "edits": [{"sheet": "S", "cell": "B2", "type": "int", "value": 12}, ...],
               "outputs": [{"path": "out.ods", "format": "ods"}, ...]}]}

Edit types: ``int``, ``float``, ``str``, ``date`` (ISO ``YYYY-MM-DD``),
``datetime`` (ISO ``YYYY-MM-DDTHH:MM:SS``) and ``typed`` (text LibreOffice interprets as
it interprets typing, by the cell's number format: the ``FormulaLocal`` property).

One soffice process serves the whole batch. It gets a fresh temporary user
profile (``profile_dir``, or a new temporary directory) with document lock files
turned off, is started in its own process group (recorded in ``pgid_file`` so the
caller can kill it if this script itself is killed) and is always terminated
at the end.

Values are written with ``XCellRange.setDataArray`` on a one-cell range. Unlike
``XCell.setValue``/``setString``/``setFormula`` (which LibreOffice 7.4 lets
through even on a locked cell of a protected sheet), ``setDataArray`` goes
through the same editability check as the user interface and raises on a
locked cell of a protected sheet. Numbers become value cells, strings become
text cells (not interpreted, like ``setString``), dates become date serials
relative to the document's null date with a date number format.
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
import uuid
from pathlib import Path
from typing import Any

FILTERS = {
    "xlsx": "Calc Office Open XML",
    "xls": "MS Excel 97",
    "ods": "calc8",
    "xlsm": "Calc MS Excel 2007 VBA XML",  # keeps vbaProject.bin as loaded (issue #5)
}

# com.sun.star.util.NumberFormat bits.
NF_DATE = 2
NF_TIME = 4

# Seeded into the fresh profile: no ``.~lock.NAME#`` files and no system file
# locks. A stale lock (left by a killed soffice) makes a hidden load silently
# return no document.
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking"
 oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOOoLockFile"
 oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentSystemFileLocking"
 oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM:SS"


def _describe(exc: BaseException) -> str:
    """Readable text for a UNO or Python exception."""
    message = getattr(exc, "Message", None)
    if message is None:
        message = str(exc)
    return f"{type(exc).__name__}: {message}".strip()


def _prop(uno: Any, name: str, value: Any) -> Any:
    prop = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    prop.Name = name
    prop.Value = value
    return prop


def _connect(uno: Any, pipe: str, proc: subprocess.Popen[bytes], deadline: float) -> Any:
    """Return the remote component context, retrying until soffice accepts."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"soffice exited early with code {proc.returncode}")
        try:
            return resolver.resolve(url)
        except Exception as exc:  # NoConnectException until soffice is up
            last = _describe(exc)
            time.sleep(0.1)
    raise TimeoutError(f"could not connect to soffice before the deadline ({last})")


def _date_format_key(uno: Any, doc: Any, pattern: str) -> int:
    formats = doc.getNumberFormats()
    locale = uno.createUnoStruct("com.sun.star.lang.Locale")
    key = int(formats.queryKey(pattern, locale, False))
    if key == -1:
        key = int(formats.addNew(pattern, locale))
    return key


def _serial(doc: Any, moment: dt.datetime) -> float:
    null = doc.NullDate  # usually 1899-12-30
    origin = dt.datetime(null.Year, null.Month, null.Day)
    delta = moment - origin
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def _apply_edit(uno: Any, doc: Any, edit: dict[str, Any]) -> None:
    """Write one value; raises when LibreOffice refuses it."""
    sheets = doc.getSheets()
    if not sheets.hasByName(edit["sheet"]):
        raise KeyError(f"no sheet named {edit['sheet']!r}")
    sheet = sheets.getByName(edit["sheet"])
    cell = sheet.getCellRangeByName(edit["cell"])
    kind = edit["type"]
    raw = edit["value"]
    needed_bits = 0
    pattern = ""
    if kind == "int":
        value: Any = int(raw)
    elif kind == "float":
        value = float(raw)
    elif kind == "str":
        value = str(raw)
    elif kind == "typed":
        # Interpreted input is let through on a locked cell of a protected sheet: refuse it
        # here as the user interface would.
        if bool(sheet.isProtected()) and bool(cell.CellProtection.IsLocked):
            raise PermissionError("locked cell on a protected sheet")
        # FormulaLocal, unlike setFormula (English, the cell's format ignored), goes the way
        # of typing: a text cell «@» keeps "0912345678" as text.
        cell.setPropertyValue("FormulaLocal", str(raw))
        return
    elif kind == "date":
        value = _serial(doc, dt.datetime.combine(dt.date.fromisoformat(raw), dt.time()))
        needed_bits, pattern = NF_DATE, DATE_FORMAT
    elif kind == "datetime":
        value = _serial(doc, dt.datetime.fromisoformat(raw))
        needed_bits, pattern = NF_DATE | NF_TIME, DATETIME_FORMAT
    else:
        raise ValueError(f"unknown edit type {kind!r}")
    try:
        cell.setDataArray(((value,),))
    except Exception as exc:
        locked = bool(sheet.isProtected()) and bool(cell.CellProtection.IsLocked)
        if locked:
            raise PermissionError(
                f"locked cell on a protected sheet, LibreOffice refused ({_describe(exc)})"
            ) from exc
        raise
    if needed_bits:
        current = doc.getNumberFormats().getByKey(cell.NumberFormat).Type
        if (int(current) & needed_bits) != needed_bits:
            # Like typing a date into a General cell: it gets a date format.
            cell.NumberFormat = _date_format_key(uno, doc, pattern)


def _run_job(uno: Any, desktop: Any, job: dict[str, Any], deadline: float) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"edits": [], "written": [], "errors": [], "seconds": 0.0}
    edits = job.get("edits", [])
    if time.monotonic() > deadline:
        result["errors"].append("not run: batch deadline passed")
        result["edits"] = [{"ok": False, "error": "not run"} for _ in edits]
        return result
    source = Path(job["source"]).resolve()
    load_args = (
        _prop(uno, "Hidden", True),
        _prop(uno, "ReadOnly", False),
        _prop(uno, "MacroExecutionMode", 0),  # NEVER_EXECUTE
        _prop(uno, "UpdateDocMode", 0),  # NO_UPDATE
        _prop(uno, "Silent", True),
    )
    try:
        doc = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(str(source)), "_blank", 0, load_args
        )
    except Exception as exc:
        doc = None
        result["errors"].append(f"open failed: {_describe(exc)}")
    if doc is None:
        if not result["errors"]:
            lock = source.with_name(f".~lock.{source.name}#")
            hint = f" (lock file {lock.name} present)" if lock.exists() else ""
            result["errors"].append(f"open failed: LibreOffice returned no document{hint}")
        result["edits"] = [{"ok": False, "error": "document not opened"} for _ in edits]
        result["seconds"] = time.monotonic() - started
        return result
    try:
        for edit in edits:
            try:
                _apply_edit(uno, doc, edit)
                result["edits"].append({"ok": True, "error": ""})
            except Exception as exc:
                result["edits"].append({"ok": False, "error": _describe(exc)})
        for output in job.get("outputs", []):
            path = Path(output["path"]).resolve()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                doc.storeToURL(
                    uno.systemPathToFileUrl(str(path)),
                    (
                        _prop(uno, "FilterName", FILTERS[output["format"]]),
                        _prop(uno, "Overwrite", True),
                    ),
                )
                result["written"].append(str(path))
            except Exception as exc:
                result["errors"].append(f"store {path.name} failed: {_describe(exc)}")
    finally:
        try:
            doc.close(True)
        except Exception:
            try:
                doc.dispose()
            except Exception as exc:
                result["errors"].append(f"close failed: {_describe(exc)}")
    result["seconds"] = time.monotonic() - started
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    if hasattr(os, "killpg"):
        # oosplash's child soffice.bin is in the same process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    import uno  # only available under LibreOffice's Python

    began = time.monotonic()
    deadline = began + float(spec.get("timeout", 110))
    jobs = spec["jobs"]
    out: dict[str, Any] = {
        "jobs": [],
        "fatal": "",
        "startup_seconds": 0.0,
        "shutdown_seconds": 0.0,
    }
    if spec.get("profile_dir"):
        profile = Path(spec["profile_dir"])
        profile.mkdir(parents=True, exist_ok=True)
    else:
        profile = Path(tempfile.mkdtemp(prefix="dvxl-lo-profile-"))
    (profile / "user").mkdir(exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(PROFILE_SETTINGS, "utf-8")
    pipe = f"dvxl_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    command = [
        spec["soffice"],
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        f"--accept=pipe,name={pipe};urp;",
        f"-env:UserInstallation={profile.as_uri()}",
    ]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=hasattr(os, "setsid"),
    )
    if spec.get("pgid_file"):
        Path(spec["pgid_file"]).write_text(str(proc.pid), encoding="utf-8")
    desktop = None
    try:
        context = _connect(uno, pipe, proc, deadline)
        desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )
        out["startup_seconds"] = time.monotonic() - began
        for job in jobs:
            out["jobs"].append(_run_job(uno, desktop, job, deadline))
    except Exception as exc:
        out["fatal"] = _describe(exc)
    finally:
        stopping = time.monotonic()
        if desktop is not None:
            # The bridge may go away while terminate() returns.
            with contextlib.suppress(Exception):
                desktop.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(1.0, min(15.0, deadline - time.monotonic() + 5)))
        _kill_group(proc)
        out["shutdown_seconds"] = time.monotonic() - stopping
        shutil.rmtree(profile, ignore_errors=True)
    # Jobs never reached because of a fatal error still get a result each.
    for job in jobs[len(out["jobs"]) :]:
        out["jobs"].append(
            {
                "edits": [{"ok": False, "error": "not run"} for _ in job.get("edits", [])],
                "written": [],
                "errors": [f"not run: {out['fatal'] or 'unknown error'}"],
                "seconds": 0.0,
            }
        )
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python3 lo_fill.py JOBS.json RESULT.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    result = run(spec)
    Path(argv[2]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 1 if result["fatal"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
