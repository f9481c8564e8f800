"""The ``dvxl`` command: a thin skin over the library.

Every command parses its options, makes one library call and prints the result
in Vietnamese. :class:`~dvxl.errors.DvxlError` and click's usage errors are
turned into a Vietnamese message and an exit code in :func:`main`, the one
place that catches them; nothing reaches the user as a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import click

from dvxl import __version__, workspace
from dvxl.errors import DvxlError

DEMO_PERIOD = "2026-6T"


class _Formatter(click.HelpFormatter):
    HEADINGS: ClassVar[dict[str, str]] = {
        "Options": "Tùy chọn",
        "Commands": "Lệnh",
        "Arguments": "Đối số",
    }

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="Cách dùng: ")

    def write_heading(self, heading: str) -> None:
        super().write_heading(self.HEADINGS.get(heading, heading))


class _Context(click.Context):
    formatter_class = _Formatter


class _Command(click.Command):
    context_class = _Context


class _Group(click.Group):
    context_class = _Context
    command_class = _Command


_Group.group_class = _Group

_HELP = {"help_option_names": ["-h", "--help"]}
_help_option = click.help_option("-h", "--help", help="Hiện hướng dẫn này rồi thoát.")


def _workspace_option(func: Any) -> Any:
    return click.option(
        "-w",
        "--workspace",
        "root",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=False,
        help="Thư mục làm việc (chứa master.xlsx); mặc định là thư mục hiện tại.",
    )(func)


@click.group(cls=_Group, context_settings=_HELP)
@click.version_option(
    __version__, "-V", "--version", message="dvxl %(version)s", help="Hiện phiên bản rồi thoát."
)
@_help_option
def cli() -> None:
    """dvxl — theo dõi, tổng hợp báo cáo thực hiện văn bản của Đảng bằng Excel.

    Chu trình: danh mục nhiệm vụ → sổ tổng hợp (master) → mẫu báo cáo cho từng
    đơn vị → đơn vị điền và gửi lại → kiểm tra, tổng hợp, đánh giá.
    """


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--catalog",
    "catalog_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Thư mục danh mục dạng văn bản (mặc định: danh mục mẫu đi kèm dvxl).",
)
@click.option(
    "--force", is_flag=True, help="Tạo lại master.xlsx đã có (bản cũ được chép vào backup/)."
)
@_help_option
def init(directory: Path, catalog_dir: Path | None, force: bool) -> None:
    """Tạo thư mục làm việc DIRECTORY với sổ tổng hợp master.xlsx."""
    ws = workspace.init(directory, catalog_dir, force)
    click.echo(f"Đã tạo sổ tổng hợp: {ws.master}")
    click.echo(f"Thư mục nhận báo cáo: {ws.inbox}")


@cli.command()
@click.option("-p", "--period", required=True, help="Mã kỳ báo cáo, ví dụ 2026-6T.")
@_workspace_option
@_help_option
def templates(period: str, root: Path) -> None:
    """Tạo mẫu báo cáo cho từng đơn vị được giao nhiệm vụ trong kỳ."""
    ws = workspace.Workspace(root)
    paths = workspace.make_templates(ws, period)
    folder = paths[0].parent if paths else ws.root
    click.echo(f"Đã tạo {len(paths)} mẫu báo cáo trong {folder}")


@cli.group(cls=_Group)
@_help_option
def catalog() -> None:
    """Danh mục nhiệm vụ, chỉ tiêu, đơn vị… dạng văn bản."""


@catalog.command("export")
@_workspace_option
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Thư mục ghi ra (mặc định: catalog/ trong thư mục làm việc).",
)
@_help_option
def catalog_export(root: Path, output: Path | None) -> None:
    """Ghi cấu hình trong master.xlsx ra các tệp văn bản (YAML)."""
    paths = workspace.export_catalog(workspace.Workspace(root), output)
    for path in paths:
        click.echo(f"Đã ghi {path}")


@catalog.command("check")
@_workspace_option
@_help_option
def catalog_check(root: Path) -> None:
    """Kiểm tra cấu hình trong master.xlsx."""
    c = workspace.Workspace(root).load()
    click.echo(
        f"Cấu hình hợp lệ: {len(c.tasks)} nhiệm vụ, {len(c.indicators)} chỉ tiêu, "
        f"{len(c.units)} đơn vị, {len(c.periods)} kỳ báo cáo."
    )


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("out"))
@click.option(
    "-p", "--period", default=DEMO_PERIOD, show_default=True, help="Kỳ báo cáo dùng cho ví dụ."
)
@_help_option
def demo(directory: Path, period: str) -> None:
    """Chạy ví dụ trên danh mục mẫu: tạo sổ tổng hợp và mẫu báo cáo trong DIRECTORY."""
    ws = workspace.init(directory, force=True)
    click.echo(f"1. Sổ tổng hợp: {ws.master}")
    paths = workspace.make_templates(ws, period)
    click.echo(f"2. {len(paths)} mẫu báo cáo kỳ {period}: {paths[0].parent if paths else ''}")
    click.echo("Mở một mẫu bằng Excel hoặc LibreOffice: chỉ các ô nền vàng được nhập.")


_CLICK_MESSAGES = {
    "MissingParameter": "Thiếu {param}.",
    "NoSuchOption": "Không có tùy chọn {option}.",
    "BadParameter": "Giá trị không hợp lệ cho {param}: {message}",
    "BadOptionUsage": "Dùng sai tùy chọn {option}.",
}


def _usage_message(error: click.UsageError) -> str:
    name = type(error).__name__
    param = getattr(error, "param", None)
    param_name = (
        "/".join(getattr(param, "opts", []) or []) or getattr(error, "param_hint", "") or ""
    )
    option = getattr(error, "option_name", "") or ""
    template = _CLICK_MESSAGES.get(name)
    if template:
        return template.format(param=param_name, option=option, message=error.message)
    if "No such command" in error.message:
        return f"Không có lệnh này. {error.message}"
    return f"Dùng lệnh chưa đúng: {error.message}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dvxl`` console script; returns the exit code."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="dvxl", standalone_mode=False
        )
    except DvxlError as error:
        click.echo(f"Lỗi: {error}", err=True)
        return error.exit_code
    except click.UsageError as error:
        if error.ctx is not None:
            click.echo(error.ctx.get_usage(), err=True)
        click.echo(f"Lỗi: {_usage_message(error)}", err=True)
        click.echo("Xem hướng dẫn: dvxl --help", err=True)
        return 2
    except click.Abort:
        click.echo("Đã dừng.", err=True)
        return 1
    except OSError as error:
        click.echo(
            f"Lỗi: không đọc/ghi được tệp {error.filename or ''}: {error.strerror}", err=True
        )
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
