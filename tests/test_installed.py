"""dvxl as a user installs it: a wheel in a clean virtual environment, run from a folder
with no checkout (issue 11). The rest of the suite runs from the checkout, which hides
faults that only a regular install has (a module and package data sharing a name)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from python_calamine import CalamineWorkbook

from dvxl.cli import main

from conftest import PERIOD, REPO


def _setuptools_packages() -> tuple[list[str], dict[str, str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    tool = config["tool"]["setuptools"]
    return list(tool["packages"]), dict(tool.get("package-dir", {}))


def test_no_package_shares_its_name_with_a_module() -> None:
    packages, folders = _setuptools_packages()
    for package in packages:
        parent, _, leaf = package.rpartition(".")
        if not parent:
            continue
        module = REPO / folders.get(parent, parent.replace(".", "/")) / f"{leaf}.py"
        assert not module.exists(), f"{package} is also the module {module}"
        assert (REPO / folders.get(package, package.replace(".", "/"))).is_dir(), package


def _not_shared(root: Path) -> list[str]:
    """Files under ``root`` that others than their owner cannot read."""
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and not path.stat().st_mode & stat.S_IROTH
    ]


def test_every_output_of_the_demo_follows_the_umask(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        assert main(["demo", str(tmp_path / "out")]) == 0
    finally:
        os.umask(mask)
    out = tmp_path / "out"
    # The files meant for other people are there, and so are every other one.
    assert list((out / "outputs" / PERIOD / "tra-lai").glob("*.xlsx"))
    assert list((out / "archive").glob("*.zip"))
    assert (out / "outputs" / PERIOD / f"kiem-tra-{PERIOD}.json").is_file()
    # All but the key that signs the templates: owner-only on purpose (issue 14).
    assert _not_shared(out) == [".dvxl-key"]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_runs_the_demo_in_a_clean_environment(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps",
          "-w", str(wheels), str(REPO)], tmp_path, env)
    (wheel,) = wheels.glob("dvxl-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    bin_dir = target / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)

    # A folder with no checkout: nothing of the repository can be imported from here.
    elsewhere = tmp_path / "van-phong"
    elsewhere.mkdir()
    found = _run([str(python), "-c", "import dvxl; print(dvxl.__file__)"], elsewhere, env)
    assert Path(found.stdout.strip()).is_relative_to(target)

    _run([str(bin_dir / "dvxl"), "init", "ws"], elsewhere, env)
    _run([str(bin_dir / "dvxl"), "templates", "-w", "ws", "--period", PERIOD], elsewhere, env)
    assert len(list((elsewhere / "ws" / "templates" / PERIOD).glob("*.xlsx"))) > 30
    _run([str(bin_dir / "dvxl"), "demo", "out"], elsewhere, env)

    period_book = elsewhere / "out" / "outputs" / PERIOD / f"tong-hop-{PERIOD}.xlsx"
    sheets = CalamineWorkbook.from_path(str(period_book)).sheet_names
    assert "Tổng hợp" in sheets and "Đánh giá" in sheets
    assert (elsewhere / "out" / "master.xlsm").is_file()
    _speaks_vietnamese(bin_dir / "dvxl", python, elsewhere, env)


def _speaks_vietnamese(dvxl: Path, python: Path, folder: Path, env: dict[str, str]) -> None:
    """The installed command in Vietnamese with no language set (a Windows PC sets none):
    click's catalogue is in the wheel (issue 15)."""
    bare = {k: v for k, v in env.items() if k not in {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"}}
    found = _run([str(python), "-c", "import importlib.resources as r; print(r.files('dvxl')"
                  ".joinpath('locale/vi/LC_MESSAGES/click.mo').read_bytes()[:4].hex())"],
                 folder, bare)
    assert found.stdout.strip() == "de120495"  # a GNU catalogue (little-endian magic)

    def refused(*args: str) -> str:
        done = subprocess.run([str(dvxl), *args], cwd=folder, env=bare, capture_output=True,
                              text=True, encoding="utf-8", timeout=300, check=False)
        assert done.returncode == 2, done.stderr
        return done.stderr

    assert "Lỗi: Không có lệnh «khong-co»." in refused("khong-co")
    assert "Lỗi: Thừa đối số, lệnh này không nhận: b" in refused("init", "a", "b")
    err = refused("status", "-w", "khong-co")
    assert f"Thư mục {folder / 'khong-co'} chưa phải là thư mục làm việc" in err
    helped = _run([str(dvxl), "validate", "--help"], folder, bare).stdout
    assert "Cách dùng: dvxl validate [TÙY_CHỌN] [THƯ_MỤC_NHẬN]" in helped
    assert "-w, --workspace THƯ_MỤC" in helped and "Tùy chọn:" in helped

    # Progress and results through one pipe: each on lines of its own.
    done = subprocess.run([str(dvxl), "validate", "-w", "out", "-p", PERIOD], cwd=folder,
                          env=bare, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          encoding="utf-8", timeout=900, check=False)
    assert done.returncode == 1, done.stdout  # the demo's inbox has wrong returns
    lines = done.stdout.splitlines()
    assert lines[0] == "Đang kiểm tra 40 tệp…" and "Đã kiểm tra 40/40 tệp trong" in done.stdout
    assert f"Sổ kết quả kiểm tra: {folder / 'out' / 'outputs' / PERIOD}" in done.stdout
    assert not [line for line in lines if "kiểm tra" in line and not line.startswith(
        ("Đang kiểm tra", "Đã kiểm tra", "Sổ kết quả kiểm tra: "))]
