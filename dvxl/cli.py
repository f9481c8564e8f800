"""The ``dvxl`` command: a thin skin over the library.

Every command parses its options, makes one library call and prints the result
in Vietnamese. A :class:`~dvxl.errors.DvxlError` becomes a click exception as it
leaves a command; click's exceptions (usage errors among them) are shown with
their exit code in :func:`main`, which also turns a file that cannot be read or
written and a fault of dvxl's into a Vietnamese message; nothing reaches the user
as a traceback. click's own
words (usage errors, help headings, «[mặc định: …]») come from its gettext
catalogue, installed by :mod:`dvxl.clivi` before any command is declared; the
placeholders click does not translate ([OPTIONS], TEXT) are given here.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click

from dvxl import (
    __version__,
    atomic,
    clivi,
    lock,
    periods,
    progress,
    report,
    taskbooks,
    tracktable,
    workspace,
)
from dvxl.errors import RUN_FAILED, DvxlError, UsageError
from dvxl.merge import count_tracks
from dvxl.schema import parse_value
from dvxl.statuses import tally

clivi.install()  # before any click object is built (click.Path names its placeholder then)

DEMO_PERIOD = "2026-6T"
#: The placeholders of the usage line that click takes as given, not through gettext.
OPTIONS_METAVAR = "[TÙY_CHỌN]"
SUBCOMMAND_METAVAR = "LỆNH [ĐỐI_SỐ]..."


class _Command(click.Command):
    """A command whose usage line says [TÙY_CHỌN] and whose summary is never cut."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The first sentence of the help, whole: the list of commands wraps it.

        click cuts it at ``limit`` characters with «...», mid-sentence in Vietnamese.
        """
        return super().get_short_help_str(limit=1_000_000)


class _Group(_Command, click.Group):
    """A group of commands: LỆNH [ĐỐI_SỐ]... in its usage line.

    A :class:`~dvxl.errors.DvxlError` from a command becomes a :class:`click.ClickException`
    with the error's exit code, so that click shows it («Lỗi: …») the same way whether the
    command runs from :func:`main` or from click's own test runner.
    """

    command_class = _Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DvxlError as error:
            stopped = type("Stopped", (click.ClickException,), {"exit_code": error.exit_code})
            raise stopped(str(error)) from error


_Group.group_class = _Group

#: click adds -h/--help to every command (its text and the hint «Xem hướng dẫn: dvxl … --help»
#: after a usage error come from the catalogue).
_HELP = {"help_option_names": ["-h", "--help"]}


def _absolute(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The path the user gave, made absolute: messages name the real folder, never «.»."""
    return None if value is None else Path(os.path.abspath(value))


_period_option = click.option(
    "-p", "--period", metavar="MÃ_KỲ",
    help="Mã kỳ báo cáo, ví dụ 2026-6T. Mặc định: kỳ ghi trong các tệp gửi về "
    "(dvxl không đoán kỳ theo ngày hôm nay).",
)


_recorded_period_option = click.option(
    "-p", "--period", metavar="MÃ_KỲ",
    help="Mã kỳ báo cáo, ví dụ 2026-6T. Mặc định: kỳ có tệp được tiếp nhận gần nhất.",
)


def _workspace_option(func: Any) -> Any:
    return click.option(
        "-w",
        "--workspace",
        "root",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=False,
        callback=_absolute,
        help="Thư mục làm việc (chứa master.xlsm); mặc định là thư mục hiện tại.",
    )(func)


@click.group(cls=_Group, context_settings=_HELP)
@click.version_option(
    __version__, "-V", "--version", message="dvxl %(version)s", help="Hiện phiên bản rồi thoát."
)
def cli() -> None:
    """dvxl — theo dõi, tổng hợp báo cáo thực hiện văn bản của Đảng bằng Excel.

    Chu trình: danh mục nhiệm vụ → sổ tổng hợp (master) → mẫu báo cáo cho từng
    đơn vị → đơn vị điền và gửi lại → kiểm tra, tổng hợp, đánh giá.
    """


@cli.command()
@click.argument("directory", metavar="THƯ_MỤC", callback=_absolute,
                type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--catalog",
    "catalog_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    callback=_absolute,
    help="Thư mục danh mục dạng văn bản (mặc định: danh mục mẫu đi kèm dvxl).",
)
@click.option(
    "--force", is_flag=True, help="Tạo lại master.xlsm đã có (bản cũ được chép vào backup/)."
)
def init(directory: Path, catalog_dir: Path | None, force: bool) -> None:
    """Tạo thư mục làm việc THƯ_MỤC với sổ tổng hợp master.xlsm."""
    with _hold(directory, new=True):
        ws = workspace.init(directory, catalog_dir, force)
    click.echo(f"Đã tạo sổ tổng hợp: {ws.master}")
    click.echo(f"Thư mục nhận báo cáo: {ws.inbox}")


@cli.command()
@click.option("-p", "--period", metavar="MÃ_KỲ", required=True,
              help="Mã kỳ báo cáo, ví dụ 2026-6T.")
@_workspace_option
def templates(period: str, root: Path) -> None:
    """Tạo mẫu báo cáo cho từng đơn vị được giao nhiệm vụ trong kỳ."""
    ws = workspace.Workspace(root)
    with _hold(ws.root):
        paths = workspace.make_templates(ws, period)
    folder = paths[0].parent if paths else ws.root
    click.echo(f"Đã tạo {len(paths)} mẫu báo cáo trong {folder}")


@cli.command()
@click.argument("inbox", required=False, metavar="[THƯ_MỤC_NHẬN]", callback=_absolute,
                type=click.Path(file_okay=False, path_type=Path))
@_period_option
@_workspace_option
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_absolute,
    help="Ghi thêm báo cáo kiểm tra dạng JSON vào tệp này.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_absolute,
    help="Thư mục ghi kết quả (mặc định: outputs/<kỳ>/ trong thư mục làm việc).",
)
def validate(
    inbox: Path | None, period: str | None, root: Path, json_path: Path | None, output: Path | None
) -> int:
    """Kiểm tra các tệp báo cáo gửi về trong THƯ_MỤC_NHẬN (mặc định: inbox/ của thư mục làm việc).

    Trả về mã 0 khi mọi tệp hợp lệ, 1 khi có tệp có lỗi.
    """
    ws = workspace.Workspace(root)

    with _hold(ws.root):
        result = workspace.validate(ws, inbox, period, json_path, output, _progress)
    batch = result.batch
    click.echo(periods.label(batch.period))
    click.echo(f"{len(batch.files)} tệp trong {batch.inbox}")
    for line in report.summary_lines(batch):
        click.echo(line)
    click.echo(f"Sổ kết quả kiểm tra: {result.workbook}")
    click.echo(f"Báo cáo JSON: {result.json}")
    if result.marked:
        click.echo(
            f"{len(result.marked)} bản đánh dấu lỗi gửi trả đơn vị: {result.marked[0].parent}"
        )
    return 0 if batch.valid else 1


@cli.group("excel", cls=_Group)
def excel_group() -> None:
    """Nút bấm trong Excel (master.xlsm, Windows)."""


@excel_group.command("setup")
@_workspace_option
@click.option("--user", is_flag=True,
              help="Ghi thêm %USERPROFILE%\\.xlwings\\xlwings.conf (thư mục đồng bộ OneDrive).")
def excel_setup(root: Path, user: bool) -> None:
    """Cài đặt nút bấm: đường dẫn Python cho xlwings, bỏ chặn macro."""
    from dvxl import excel as excel_adapter  # only this command needs it

    for line in excel_adapter.setup(root, user=user):
        click.echo(line)


@cli.group(cls=_Group)
def catalog() -> None:
    """Danh mục nhiệm vụ, chỉ tiêu, đơn vị… dạng văn bản."""


@catalog.command("export")
@_workspace_option
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_absolute,
    help="Thư mục ghi ra (mặc định: catalog/ trong thư mục làm việc).",
)
def catalog_export(root: Path, output: Path | None) -> None:
    """Ghi cấu hình trong master.xlsm ra các tệp văn bản (YAML)."""
    paths = workspace.export_catalog(workspace.Workspace(root), output)
    for path in paths:
        click.echo(f"Đã ghi {path}")


@catalog.command("check")
@_workspace_option
def catalog_check(root: Path) -> None:
    """Kiểm tra cấu hình trong master.xlsm."""
    c = workspace.Workspace(root).load()
    click.echo(
        f"Cấu hình hợp lệ: {len(c.tasks)} nhiệm vụ, {len(c.indicators)} chỉ tiêu, "
        f"{len(c.units)} đơn vị, {len(c.periods)} kỳ báo cáo."
    )


@cli.command()
@click.argument("directory", metavar="[THƯ_MỤC]", callback=_absolute,
                type=click.Path(file_okay=False, path_type=Path), default=Path("out"))
@click.option("-p", "--period", metavar="MÃ_KỲ", default=DEMO_PERIOD, show_default=True,
              help="Kỳ báo cáo dùng cho ví dụ.")
def demo(directory: Path, period: str) -> None:
    """Chạy ví dụ trên danh mục mẫu vào THƯ_MỤC (mặc định ./out).

    Tạo sổ tổng hợp, mẫu báo cáo cho từng đơn vị, giả lập các tệp đơn vị gửi về
    (có tệp sai, tệp nộp lại, tệp chép sang tệp mới, một tệp không phải bảng
    tính, vài đơn vị chưa nộp), tổng hợp rồi viết báo cáo kỳ. Trước đó chạy kỳ
    liền trước (2025-N) với các tệp giả lập của kỳ ấy, để sổ tổng hợp và báo cáo kỳ
    so sánh được các kỳ.
    """
    with _hold(directory, new=True):
        result = workspace.demo(directory, period)
    ws = result.workspace
    if result.earlier is not None:
        before = result.earlier.consolidated.period
        click.echo(f"0. Kỳ trước để so sánh, {before.name} ({before.code}): "
                   f"{len(result.earlier.validation.batch.files)} tệp giả lập đã tổng hợp, "
                   f"{result.earlier.workbook}")
    click.echo(f"1. Sổ tổng hợp: {ws.master}")
    click.echo(f"2. {len(result.templates)} mẫu báo cáo kỳ {period}: {ws.templates(period)}")
    click.echo(f"3. {len(result.returns)} tệp giả lập đơn vị gửi về: {ws.inbox}")
    _echo_merge(result.merge)
    _echo_report(result.report)
    click.echo("Mở sổ tổng hợp kỳ, một mẫu hoặc một bản đánh dấu lỗi bằng Excel hoặc LibreOffice; "
               "báo cáo kỳ bằng Word.")


@cli.command()
@click.argument("inbox", required=False, metavar="[THƯ_MỤC_NHẬN]", callback=_absolute,
                type=click.Path(file_okay=False, path_type=Path))
@_period_option
@_workspace_option
def merge(inbox: Path | None, period: str | None, root: Path) -> None:
    """Tiếp nhận, kiểm tra, tổng hợp, đánh giá các báo cáo trong THƯ_MỤC_NHẬN (mặc định inbox/).

    Mọi tệp nhận được đều được lưu vào archive/ và ghi sổ ledger.sqlite; chạy lại
    trên cùng các tệp không thay đổi gì. Kết quả: outputs/<kỳ>/tong-hop-<kỳ>.xlsx.
    """
    with _hold(root):
        _echo_merge(workspace.merge(workspace.Workspace(root), inbox, period, _progress))


def _echo_merge(result: workspace.Merge) -> None:
    batch = result.validation.batch
    click.echo(periods.label(batch.period))
    click.echo(f"Kiểm tra {len(batch.files)} tệp kỳ {batch.period.code}: {tally(batch.counts())}")
    click.echo(f"   Sổ kết quả kiểm tra: {result.validation.workbook}")
    if result.validation.marked:
        click.echo(f"   {len(result.validation.marked)} bản đánh dấu lỗi gửi trả đơn vị: "
                   f"{result.validation.marked[0].parent}")
    click.echo(f"Tiếp nhận: {len(result.intake.new)} tệp mới, {len(result.intake.known)} tệp "
               "đã có trong sổ (lưu trong archive/, ghi trong ledger.sqlite)")
    click.echo("Theo dõi: " + tally(count_tracks(result.consolidated.tracking)))
    for problem in result.problems:
        click.echo(f"Cảnh báo: {problem}", err=True)
    click.echo(f"Sổ tổng hợp kỳ: {result.workbook}")
    tasks = taskbooks.tasks_folder(result.workbook)
    if tasks.is_dir() and any(tasks.glob(f"{taskbooks.TASK_FILE_PREFIX}*.xlsx")):
        click.echo(f"   Mỗi nhiệm vụ một sổ riêng (danh sách đơn vị lớn): {tasks}")


@cli.command()
@_recorded_period_option
@_workspace_option
def status(period: str | None, root: Path) -> None:
    """Bảng theo dõi: đơn vị nào đã nộp, đúng hạn, muộn, không hợp lệ, chưa nộp."""
    consolidated = workspace.status(workspace.Workspace(root), period)
    click.echo(periods.label(consolidated.period))
    for line in tracktable.tracking_lines(consolidated):
        click.echo(line)


@cli.command()
@_workspace_option
def verify(root: Path) -> int:
    """Kiểm tra kho lưu trữ: băm lại mọi tệp đã nhận, so với sổ ghi nhận.

    Trả về mã 0 khi mọi tệp còn nguyên vẹn, 1 khi có tệp mất hoặc bị thay đổi.
    """
    result = workspace.verify(workspace.Workspace(root))
    for damage in result.damage:
        click.echo(f"✗ {damage.location}: {damage.problem}")
    for pack in result.unrecorded:
        click.echo(f"! {pack}: gói lưu trữ của một lượt chạy bị dừng giữa chừng, chưa được ghi "
                   "sổ; các tệp trong đó được lưu lại khi tiếp nhận lần sau.")
    good = result.checked - len(result.damage)
    click.echo(f"Kho lưu trữ: {good}/{result.checked} tệp còn nguyên vẹn"
               + (f", {len(result.damage)} tệp mất hoặc bị thay đổi." if result.damage else "."))
    return 1 if result.damage else 0


@cli.command("report")
@_recorded_period_option
@_workspace_option
@click.option("--pdf", "make_pdf", is_flag=True, help="Ghi thêm bản PDF (cần LibreOffice).")
@click.option("--date", "day", metavar="NGÀY",
              help="Ngày ghi trên báo cáo (ngày/tháng/năm); mặc định hôm nay.")
@click.option(
    "--number",
    metavar="SỐ",
    default="",
    help="Số báo cáo; mặc định lấy ở trang «Ban hành», để trống thì văn thư ghi khi ban hành.",
)
@click.option(
    "--mau",
    "copy_template",
    is_flag=True,
    help="Chép mẫu báo cáo đi kèm dvxl thành mau-bao-cao.docx trong thư mục làm việc để "
    "sửa lời văn, trình bày trong Word, rồi thoát.",
)
@click.option(
    "--since",
    metavar="MÃ_KỲ",
    help="Sơ kết, tổng kết từ kỳ này (mã kỳ, ví dụ 2025-N) đến kỳ --period: mỗi kỳ một cột "
    "trong các bảng; kết quả outputs/<kỳ>/bao-cao-<từ kỳ>-den-<kỳ>.docx.",
)
def report_command(
    period: str | None,
    root: Path,
    make_pdf: bool,
    day: str | None,
    number: str,
    copy_template: bool,
    since: str | None,
) -> None:
    """Viết báo cáo kỳ gửi Ban Thường vụ (Word, thể thức văn bản của Đảng).

    Mọi số liệu lấy từ sổ ghi nhận và điểm thẩm định trong master.xlsm; so sánh với
    kỳ trước và cùng kỳ năm trước khi sổ có số liệu các kỳ đó. Kết quả:
    outputs/<kỳ>/bao-cao-<kỳ>.docx (và .pdf với --pdf).
    """
    ws = workspace.Workspace(root)
    if copy_template:
        click.echo(f"Đã chép mẫu báo cáo: {workspace.copy_report_template(ws)}")
        click.echo("Sửa mẫu trong Word; dvxl dùng mẫu này thay cho mẫu đi kèm.")
        return
    date = None
    if day:
        try:
            date = parse_value("date", day)
        except ValueError as exc:
            raise UsageError(f"Ngày báo cáo {exc}") from None
    with _hold(ws.root):
        result = workspace.write_report(ws, period, date, number, make_pdf, since)
    click.echo(periods.label(result.period))
    _echo_report(result)


@cli.command("history")
@click.argument("unit", metavar="MÃ_ĐƠN_VỊ")
@_workspace_option
def history_command(unit: str, root: Path) -> None:
    """Một đơn vị qua các kỳ: số tệp nhận, tình trạng nộp, tổng điểm, xếp loại.

    MÃ_ĐƠN_VỊ là mã đơn vị (trang «Đơn vị» của master.xlsm). Mọi kỳ có báo cáo trong sổ
    ghi nhận đều được liệt kê, kỳ cũ trước; kỳ đơn vị không gửi ghi «Chưa gửi».
    """
    found, records = workspace.unit_history(workspace.Workspace(root), unit)
    click.echo(f"{found.code} — {found.name}")
    if not records:
        click.echo("Sổ ghi nhận chưa có báo cáo của kỳ nào.")
        return
    for line in _history_lines(records):
        click.echo(line)


def _history_lines(records: Sequence[Any]) -> list[str]:
    """The records as an aligned table (period, files, status, score, class)."""
    from dvxl.docreport import vn
    from dvxl.statuses import TrackStatus

    rows = [("Kỳ báo cáo", "Số tệp", "Tình trạng nộp", "Tổng điểm", "Xếp loại")]
    for rec in records:
        f = rec.facts
        if f is None:
            rows.append((rec.period.name, "", "Không phải báo cáo", "", ""))
            continue
        status = TrackStatus(f.status).label
        if f.days_late:
            status += f" ({f.days_late} ngày)"
        total = vn.number(f.total, 1) if f.rated and f.total is not None else ""
        rows.append((rec.period.name, str(f.files), status, total, f.level))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def _echo_report(result: workspace.Report) -> None:
    if result.since is not None:
        click.echo(f"Báo cáo sơ kết từ {result.since.name} ({result.since.code}) đến "
                   f"{result.period.name} ({result.period.code}): {result.docx}")
    else:
        click.echo(f"Báo cáo kỳ {result.period.code} ({result.period.name}): {result.docx}")
    if result.compared:
        shown = ", ".join(p.name for p in result.compared)
        click.echo(f"   So sánh với: {shown}")
    if result.pdf is not None:
        click.echo(f"   Bản PDF: {result.pdf}")
    if result.pdf_problem:
        click.echo(f"Cảnh báo: {result.pdf_problem}", err=True)
    for problem in result.problems:
        click.echo(f"Cảnh báo: {problem}", err=True)


@cli.command()
@click.option("-p", "--period", metavar="MÃ_KỲ", required=True,
              help="Mã kỳ báo cáo, ví dụ 2026-6T.")
@click.option("--new", "renew", is_flag=True,
              help="Tạo lại mọi mã của kỳ (mã cũ hết hiệu lực ngay; phải báo mã mới cho "
              "các đơn vị).")
@_workspace_option
def codes(period: str, renew: bool, root: Path) -> None:
    """Mã nộp báo cáo trên trang tải lên (dvxl serve): mỗi đơn vị một mã cho từng kỳ,
    văn phòng một mã riêng để xem bảng theo dõi."""
    from dvxl import codesheet, uploadcodes

    ws = workspace.Workspace(root)
    catalog = ws.load()
    chosen = periods.find(catalog, period)
    with _hold(ws.root):
        made = uploadcodes.ensure(ws.root, catalog, chosen, renew)
        listed = codesheet.write(ws.root, catalog, chosen, made)
    click.echo(periods.label(chosen))
    click.echo(f"Văn phòng (xem bảng theo dõi): {uploadcodes.shown(made.secretariat)}")
    names = {u.code: u.name for u in catalog.units}
    width = max((len(code) for code in made.units), default=4)
    for unit, code in made.units.items():
        click.echo(f"{unit:<{width}}  {uploadcodes.shown(code)}  {names.get(unit, '')}")
    click.echo(f"Mã được giữ trong {uploadcodes.path(ws.root)} (chỉ chủ tài khoản đọc được).")
    click.echo(f"Danh sách mã để in: {listed} (chỉ chủ tài khoản đọc được; nút «Tổng hợp» "
               f"chép trang «{codesheet.SHEET}» vào sổ master).")
    click.echo(f"Mẫu báo cáo tạo sau lệnh này (dvxl templates -p {chosen.code}) in mã của đơn vị "
               "ở trang «Hướng dẫn»; mẫu đã tạo trước đó không có mã.")


@cli.command()
@_workspace_option
@click.option("--host", metavar="ĐỊA_CHỈ", default="127.0.0.1", show_default=True,
              help="Địa chỉ nghe; 0.0.0.0 để các máy trong mạng nội bộ vào được.")
@click.option("--port", metavar="CỔNG", default=8000, show_default=True,
              type=click.IntRange(1, 65535),
              help="Cổng.")
def serve(root: Path, host: str, port: int) -> None:
    """Trang tải lên: đơn vị gửi báo cáo bằng mã nộp, xem ngay kết quả kiểm tra và bản
    đánh dấu lỗi; văn phòng xem bảng theo dõi của kỳ."""
    from dvxl import uploadcodes, web

    ws = workspace.Workspace(root)
    ws.load()
    made = uploadcodes.load(ws.root)
    if not made:
        raise UsageError("Chưa có mã nộp báo cáo nào: chạy «dvxl codes -p KỲ» trước, rồi báo "
                         "mã cho từng đơn vị.")
    shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0") else host
    click.echo(f"Trang tải lên: http://{shown}:{port}/ (kỳ: {', '.join(sorted(made))}). "
               "Bấm Ctrl+C để dừng.")
    if host == "0.0.0.0":
        for address in web.local_addresses():
            click.echo(f"   Các máy trong mạng nội bộ vào: http://{address}:{port}/")
    web.serve(ws.root.resolve(), host, port)


@cli.command("review")
@click.argument("unit", metavar="MÃ_ĐƠN_VỊ")
@click.option("--accept", "accept", is_flag=True, help="Duyệt báo cáo hợp lệ hiện có của đơn vị.")
@click.option("--return", "reason", metavar="LÝ_DO",
              help="Trả lại báo cáo với lý do (đơn vị phải sửa và gửi lại).")
@click.option("--reopen", is_flag=True,
              help="Mở lại: đưa về «Chờ duyệt» (một tệp gửi sau thay được tệp đã duyệt).")
@click.option("--by", "by", default=None, metavar="TÊN",
              help="Người duyệt; mặc định tên người dùng máy tính.")
@_recorded_period_option
@_workspace_option
def review_command(unit: str, accept: bool, reason: str | None, reopen: bool, by: str | None,
                   period: str | None, root: Path) -> None:
    """Duyệt, trả lại hoặc mở lại báo cáo của đơn vị MÃ_ĐƠN_VỊ trong kỳ.

    Không kèm tùy chọn nào: xem trạng thái và lịch sử các quyết định duyệt.

    Quyết định được ghi vào sổ ghi nhận (giữ cả lịch sử: ai, khi nào). Báo cáo đã duyệt
    được khóa: tệp đơn vị gửi sau được ghi nhận nhưng không thay thế cho đến khi mở lại.
    Báo cáo bị trả lại tính là chưa hợp lệ, có tên trong trang «Đôn đốc» kèm lý do.
    Cũng có thể chọn ở trang «Duyệt báo cáo» của master.xlsm rồi tổng hợp lại.
    """
    from dvxl.statuses import ReviewState

    chosen = [flag for flag, on in (("--accept", accept), ("--return", reason is not None),
                                    ("--reopen", reopen)) if on]
    if len(chosen) > 1:
        raise UsageError("Chọn đúng một trong --accept, --return \"lý do\", --reopen.")
    if not chosen:
        _echo_review_history(workspace.review_history(workspace.Workspace(root), unit, period))
        return
    state = (ReviewState.ACCEPTED if accept else ReviewState.WAITING if reopen
             else ReviewState.RETURNED)
    ws = workspace.Workspace(root)
    with _hold(ws.root):
        result = workspace.review(ws, unit, state, reason or "", _reviewer(by), period)
    click.echo(periods.label(result.period))
    track = result.track
    who = track.review.who_when if track.review is not None else ""
    click.echo(f"{track.unit.code} — {track.unit.name}: {track.review_label}"
               + (f" ({who})" if who else "") + f"; tệp «{track.last_name}»")
    click.echo(f"Theo dõi: {track.status.label}" + (f" — {track.note}" if track.note else ""))
    if state is ReviewState.RETURNED:
        click.echo("Bản trả lại có ghi lý do được tạo ở lần tổng hợp sau (dvxl merge), trong "
                   f"outputs/{result.period.code}/{workspace.MARKED_FOLDER}/.")


def _echo_review_history(found: workspace.ReviewHistory) -> None:
    """The unit's state, then each decision: when, what, who, where, on which file."""
    from dvxl.review import SHEET
    from dvxl.statuses import ReviewState

    click.echo(periods.label(found.period))
    track = found.track
    click.echo(f"{track.unit.code} — {track.unit.name}: "
               f"{track.review_label or 'chưa có báo cáo hợp lệ'}"
               + (f"; tệp «{track.last_name}»" if track.last_name else ""))
    if not found.decisions:
        click.echo("Chưa có quyết định duyệt nào.")
        return
    for d in found.decisions:
        label = ReviewState(d.state).label
        if d.reason:
            label += f": {d.reason}"
        where = "trang «Duyệt báo cáo»" if d.source == SHEET else "lệnh dvxl review"
        name = found.names.get(d.sha256, "")
        click.echo(f"{d.decided:%d/%m/%Y %H:%M}  {label} — {d.decided_by or '(không ghi)'}, "
                   f"{where}" + (f"; tệp «{name}»" if name else ""))


def _reviewer(given: str | None) -> str:
    """Who decides: ``--by``, else the computer's user name ("" when it has none)."""
    if given is not None:
        return " ".join(given.split())
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


def _hold(root: Path, new: bool = False) -> AbstractContextManager[None]:
    """The workspace for this command alone; says so when another run makes it wait. A
    folder that is not a workspace is refused first (unless the command makes a ``new`` one),
    so that no lock file is left in it."""
    if not new:
        workspace.Workspace(root).require()
    return lock.exclusive(root, waiting=lambda: click.echo(
        f"Một lượt chạy khác đang dùng thư mục làm việc {root}; đang chờ lượt đó xong "
        f"(tối đa {lock.WAIT_S / 60:.0f} phút)…", err=True))


def _progress(items: Iterator[Path], count: int) -> Iterator[Path]:
    """Files checked of the total, with the time left, on standard error."""
    return progress.files(items, count)


#: Where a fault of dvxl's is described: the user's own folder, never a shared temporary
#: folder where another user could have planted a link under the same name (issue 14).
CRASH_DIR = Path.home() / ".dvxl"
CRASH_LOG = "dvxl-loi.log"


def _crash_log(text: str) -> Path | None:
    """Append ``text`` to the crash log, made owner-only and never through a link."""
    path = CRASH_DIR / CRASH_LOG
    try:
        CRASH_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        handle = os.open(path, flags, 0o600)
        with os.fdopen(handle, "a", encoding="utf-8") as log:
            log.write(text)
    except OSError:
        return None
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dvxl`` console script; returns the exit code."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="dvxl", standalone_mode=False
        )
    except DvxlError as error:
        click.echo(f"Lỗi: {error}", err=True)
        return error.exit_code
    except click.ClickException as error:  # usage errors: click's words, from the catalogue
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Đã dừng.", err=True)
        return RUN_FAILED
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        click.echo(f"Lỗi: không đọc/ghi được tệp{where}: {atomic.reason(error)}", err=True)
        return RUN_FAILED
    except Exception:  # a bug of ours: say so in Vietnamese, keep the details in a log file
        log = _crash_log(traceback.format_exc())
        where = (f"Chi tiết kỹ thuật ghi ở {log}: hãy gửi tệp này cho người phụ trách kỹ thuật."
                 if log else "Chạy lại để xem có lặp lại không.")
        click.echo(
            "Lỗi: dvxl gặp lỗi không lường trước nên đã dừng; các tệp đã nhận không bị thay "
            f"đổi. {where}",
            err=True,
        )
        return RUN_FAILED
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
