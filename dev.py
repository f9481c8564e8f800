"""Bootstrap for a fresh machine with only Python 3.11+.

    python3 dev.py demo [DIR]          # pip install -e ., then dvxl demo DIR (default: out)
    python3 dev.py test [PYTEST ARGS]  # pip install -e .[test], LibreOffice, ruff, mypy, pytest
    python3 dev.py bench [BENCH ARGS]  # pip install -e .[test], LibreOffice, python -m bench

All use ``.venv`` (created when missing) and skip pip when the stamp file in
``.venv`` records the current sha256 of pyproject.toml for that extra.

Standard library only. Works with ``.venv/bin`` (Linux, macOS) and
``.venv/Scripts`` (Windows).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "dvxl-install.json"
WINDOWS = os.name == "nt"
BIN = VENV / ("Scripts" if WINDOWS else "bin")
EXE = ".exe" if WINDOWS else ""
VENV_PYTHON = BIN / f"python{EXE}"
LO_PACKAGES = ["libreoffice-calc-nogui", "python3-uno"]
# The period report: Writer converts .docx to PDF, Liberation Serif stands in for Times New
# Roman (same metrics, so the same page breaks), pdftotext reads the PDF back in the tests.
REPORT_PACKAGES = ["libreoffice-writer-nogui", "fonts-liberation2", "poppler-utils",
                   # the upload page's real-browser tests: Playwright drives Debian's Chromium
                   "chromium"]
SYSTEM_UNO_PYTHON = "/usr/bin/python3"

USAGE = """\
usage: python3 dev.py demo [DIR]          run the demo into DIR (default: out) / chạy demo
       python3 dev.py test [PYTEST ARGS]  ruff + mypy + pytest / kiểm tra toàn bộ
       python3 dev.py bench [BENCH ARGS]  benchmark (bench/README.md) / đo tốc độ
"""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(message: str, code: int = 1) -> None:
    print(f"✗ {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def show(command: Sequence[str | os.PathLike[str]]) -> str:
    parts = []
    for part in command:
        text = str(part)
        if text.startswith(str(ROOT) + os.sep):
            text = os.path.relpath(text, ROOT)
        parts.append(text)
    return subprocess.list2cmdline(parts) if WINDOWS else shlex.join(parts)


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> int:
    """Print and run a command from the repository root; exit on failure when check."""
    say(show(command))
    try:
        done = subprocess.run([str(c) for c in command], cwd=ROOT, env=env, check=False)
    except OSError as exc:
        if check:
            fail(f"cannot run {command[0]}: {exc} / không chạy được lệnh")
        return 127
    if check and done.returncode != 0:
        fail(f"failed (exit {done.returncode}) / lỗi: {show(command)}", done.returncode)
    return done.returncode


def is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def can_apt() -> bool:
    debian = Path("/etc/debian_version").exists()
    return is_root() and debian and shutil.which("apt-get") is not None


def apt_install(packages: list[str]) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if run(["apt-get", "update"], check=False, env=env) != 0:
        return False
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    return run(command, check=False, env=env) == 0


# --- virtual environment -------------------------------------------------


def venv_works() -> bool:
    if not VENV_PYTHON.exists():
        return False
    probe = [str(VENV_PYTHON), "-m", "pip", "--version"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def create_venv() -> None:
    if venv_works():
        return
    if VENV.exists():
        say(f"Removing broken {VENV.name} / Xóa .venv hỏng")
        shutil.rmtree(VENV)
    say(f"Creating {VENV.name} / Tạo môi trường ảo")
    command = [sys.executable, "-m", "venv", str(VENV)]
    if run(command, check=False) == 0 and venv_works():
        return
    # Debian and Ubuntu ship venv's pip bootstrap separately.
    shutil.rmtree(VENV, ignore_errors=True)
    if can_apt():
        version = f"python{sys.version_info.major}.{sys.version_info.minor}-venv"
        say(f"Installing python3-venv / Cài python3-venv ({version})")
        if apt_install(["python3-venv", version]):
            run(command)
            if venv_works():
                return
    fail(
        "cannot create .venv with pip; install python3-venv "
        "/ không tạo được .venv: hãy cài python3-venv (apt-get install python3-venv)"
    )


def pyproject_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def read_stamp() -> dict[str, object]:
    try:
        data = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def install(extra: str | None) -> None:
    """pip install -e .[extra] unless the stamp says this pyproject.toml is installed."""
    create_venv()
    digest = pyproject_hash()
    stamp = read_stamp()
    raw_extras = stamp.get("extras")
    fresh = stamp.get("sha256") == digest and isinstance(raw_extras, list)
    installed = {str(e) for e in raw_extras} if fresh and isinstance(raw_extras, list) else set()
    wanted = extra or ""
    if fresh and wanted in installed:
        say(f"Dependencies up to date / Thư viện đã cài ({STAMP.relative_to(ROOT)})")
        return
    target = f".[{extra}]" if extra else "."
    say(f"Installing dvxl / Cài dvxl: pip install -e {target}")
    run([VENV_PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-e", target])
    installed.add(wanted)
    if extra:
        installed.add("")  # the extra includes the base install
    STAMP.write_text(
        json.dumps({"sha256": digest, "extras": sorted(installed)}, indent=2) + "\n",
        encoding="utf-8",
    )


# --- LibreOffice -----------------------------------------------------------


def has_uno() -> bool:
    if not Path(SYSTEM_UNO_PYTHON).exists():
        return False
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONHOME", "PYTHONPATH"}}
    probe = [SYSTEM_UNO_PYTHON, "-c", "import uno"]
    return subprocess.run(probe, capture_output=True, env=env, check=False).returncode == 0


def debian_missing(packages: list[str]) -> list[str]:
    """The packages dpkg does not list as installed ([] where there is no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return []
    missing = []
    for package in packages:
        probe = ["dpkg-query", "-W", "-f=${Status}", package]
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if "install ok installed" not in done.stdout:
            missing.append(package)
    return missing


def ensure_libreoffice() -> None:
    """Install LibreOffice (Calc, Writer) + python3-uno, the fonts and poppler-utils via apt
    when missing and possible; never fail."""
    if WINDOWS or sys.platform == "darwin":
        if shutil.which("soffice") is None:
            say("LibreOffice not found; its tests will be skipped / không có LibreOffice")
        return
    missing = []
    if shutil.which("soffice") is None:
        missing.append(LO_PACKAGES[0])
    if not has_uno():
        missing.append(LO_PACKAGES[1])
    report = debian_missing(REPORT_PACKAGES)
    if not missing and not report:
        say("LibreOffice found / Đã có LibreOffice")
        return
    if missing and missing[0] == LO_PACKAGES[0]:
        missing = list(LO_PACKAGES)
    missing += report
    if not can_apt():
        say(
            f"LibreOffice missing ({', '.join(missing)}); install it: "
            f"sudo apt-get install {' '.join(missing)} "
            "/ thiếu LibreOffice, các kiểm thử liên quan sẽ bị bỏ qua (CI: thất bại)"
        )
        return
    say(f"Installing LibreOffice / Cài LibreOffice: {' '.join(missing)}")
    if not apt_install(missing):
        say("LibreOffice install failed / cài LibreOffice thất bại; continuing / tiếp tục")


# --- commands --------------------------------------------------------------


def demo(args: list[str]) -> int:
    if len(args) > 1:
        fail(USAGE, 2)
    out = args[0] if args else "out"
    install(None)
    return run([BIN / f"dvxl{EXE}", "demo", out], check=False)


def test(args: list[str]) -> int:
    install("test")
    ensure_libreoffice()
    run([VENV_PYTHON, "-m", "ruff", "check", "dvxl", "tests", "scripts", "bench", "dev.py"])
    run([VENV_PYTHON, "-m", "mypy"])
    code = run([VENV_PYTHON, "-m", "pytest", *args], check=False)
    if code != 0:
        fail(f"pytest failed (exit {code}) / kiểm thử thất bại", code)
    say("All checks passed / Tất cả kiểm tra đều đạt")
    return 0


def bench(args: list[str]) -> int:
    install("test")
    ensure_libreoffice()
    return run([VENV_PYTHON, "-m", "bench", *args], check=False)


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - the bootstrap may meet an old python3
        fail("Python 3.11+ required / cần Python 3.11 trở lên", 2)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return demo(rest)
    if command == "test":
        return test(rest)
    if command == "bench":
        return bench(rest)
    print(USAGE, end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
