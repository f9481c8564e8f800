"""Simulated returns: templates filled the way units fill them, mistakes included.

The demo, the tests and the benchmark use these to exercise the cycle on the
shipped sample without waiting for real units. Values are random but sane
(they satisfy the catalog's rules), so every finding in a simulated batch comes
from a mistake put there on purpose.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from dvxl import rules
from dvxl.form import COL_VALUE, FORM, META, form_rows, template_name
from dvxl.master import ASSESSMENT
from dvxl.model import Catalog, Indicator, Period, Unit

Values = dict[str, Any]

_TEXTS = {
    "KET_QUA": "Đã tổ chức quán triệt đến 100% chi bộ; các cơ quan, đơn vị xây dựng kế hoạch "
    "cụ thể; kết quả được sơ kết hằng quý.",
    "KHO_KHAN": "Một số cơ sở còn thiếu kinh phí và cán bộ kiêm nhiệm nhiều việc.",
    "DE_XUAT": "Đề nghị Ban Thường vụ Tỉnh ủy tiếp tục quan tâm bố trí kinh phí cho cơ sở.",
}
_KINDS = ("KH", "CV", "HD", "NQ", "QĐ", "TB")


def good_values(catalog: Catalog, unit: Unit, period: Period, rng: random.Random) -> Values:
    """Values a careful unit would send: every required cell, all rules satisfied."""
    values: Values = {
        "NGUOI_LAP": rng.choice(["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu", "Phạm Thu Hà"]),
        "DIEN_THOAI": f"0{rng.randint(200, 299)}{rng.randint(1000000, 9999999)}",
        "NGAY_BC": period.end + dt.timedelta(days=rng.randint(0, 3)),
    }
    for task in catalog.tasks_for(unit):
        own: Values = {}
        for ind in catalog.indicators_for(task):
            own[ind.code] = _value(catalog, unit, task.code, ind, period, rng)
        _satisfy(catalog, task.code, own, period.end.year)
        values.update({f"{task.code}.{code}": v for code, v in own.items()})
    return values


def _value(
    catalog: Catalog, unit: Unit, task: str, ind: Indicator, period: Period, rng: random.Random
) -> Any:
    if ind.type == "choice":
        options = catalog.choice_list(ind.choices).values
        if ind.code == "TRANG_THAI":
            return rng.choice([o for o in options if "Chưa" not in o] or list(options))
        return rng.choice(options)
    if ind.type == "integer":
        hi = min(ind.maximum if ind.maximum is not None else 50, 50)
        return rng.randint(int(ind.minimum or 0), max(int(ind.minimum or 0), int(hi)))
    if ind.type == "decimal":
        return round(rng.uniform(ind.minimum or 0, min(ind.maximum or 100, 100)), 1)
    if ind.type == "score":
        points = catalog.points(unit.rating_group, task) or 0
        return round(points * rng.uniform(0.6, 1.0) * 2) / 2
    if ind.type == "date":
        return period.start + dt.timedelta(days=rng.randint(0, (period.end - period.start).days))
    if ind.type == "doclist":
        return ""  # made to match VB_SO in _satisfy
    return _TEXTS.get(ind.code, "Đã thực hiện theo kế hoạch.")


def _documents(count: int, year: int) -> str:
    return "\n".join(
        f"{10 + i * 7}-{_KINDS[i % len(_KINDS)]}/HU ngày {1 + i % 27}/{1 + i % 12}/{year}"
        for i in range(count)
    )


def _satisfy(catalog: Catalog, task: str, values: Values, year: int) -> None:
    """Mend random values until every rule of the task holds (simple comparisons only)."""
    if "VB_SO" in values:
        values["VB_SO"] = min(values["VB_SO"], 5)
        values["VB_DS"] = _documents(values["VB_SO"], year) if "VB_DS" in values else ""
    parsed = [rules.parse(r.expression) for r in catalog.rules_for(catalog.task(task))]
    for _ in range(5):
        broken = [
            node
            for node in parsed
            if rules.names(node) <= set(values) and rules.evaluate(node, values) is False
        ]
        if not broken:
            return
        for node in broken:
            target = node.consequence if isinstance(node, rules.Implies) else node
            if (
                isinstance(target, rules.Compare)
                and isinstance(target.left, rules.Ref)
                and target.op in ("<=", "==", ">=")
            ):
                right = target.right
                if isinstance(right, rules.Ref):
                    values[target.left.name] = values.get(right.name)
                elif isinstance(right, rules.Num):
                    values[target.left.name] = int(right.value)


def write_return(
    template: Path,
    dest: Path,
    values: Values,
    catalog: Catalog,
    unit: Unit,
    *,
    keep_metadata: bool = True,
) -> None:
    """Fill ``template``'s input cells with ``values`` and save as ``dest`` (.xlsx)."""
    book = openpyxl.load_workbook(template)
    sheet = book[FORM]
    for row in form_rows(catalog, unit):
        if row.key in values and row.kind in ("identity", "indicator"):
            cell = sheet.cell(row.row + 1, COL_VALUE + 1)
            value = values[row.key]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text a unit typed never becomes a formula
    if not keep_metadata:
        del book[META]
    dest.parent.mkdir(parents=True, exist_ok=True)
    book.save(dest)


@dataclass(frozen=True)
class Scenario:
    """What a simulated unit does: its mistakes, lateness, file name."""

    unit: str
    label: str
    mistakes: tuple[str, ...] = ()
    late_days: int = 0
    resubmit: bool = False  # a first file with the mistakes, then a corrected one
    amend: bool = False  # a first valid file, then a valid one with other figures
    drop_metadata: bool = False


Mistake = Callable[[Values, Catalog, Unit], None]


def _first(values: Values, suffix: str) -> str:
    return next(k for k in values if k.endswith(suffix))


MISTAKES: dict[str, Mistake] = {
    "bỏ trống ô bắt buộc": lambda v, c, u: v.update({_first(v, ".TRANG_THAI"): ""}),
    "chữ trong ô số": lambda v, c, u: v.update({_first(v, ".HN_SO"): "nhiều"}),
    "số âm": lambda v, c, u: v.update({_first(v, ".VB_SO"): -2, _first(v, ".VB_DS"): ""}),
    "số nhập kiểu Việt Nam": lambda v, c, u: v.update({_first(v, ".HN_LUOT"): "1.250"}),
    "giá trị ngoài danh sách": lambda v, c, u: v.update({_first(v, ".TRANG_THAI"): "Xong"}),
    "giải quyết nhiều hơn tiếp nhận": lambda v, c, u: v.update(
        {_first(v, ".KN_XL"): int(v[_first(v, ".KN_SO")]) + 3}
    ),
    "số hiệu văn bản sai mẫu": lambda v, c, u: v.update(
        {_first(v, ".VB_SO"): 1, _first(v, ".VB_DS"): "Kế hoạch 45KH/HU tháng 3"}
    ),
    "ngày dạng chữ": lambda v, c, u: v.update({"NGAY_BC": "ngày 16 tháng 6 năm 2026"}),
    "điểm tự chấm vượt tối đa": lambda v, c, u: v.update({_first(v, ".TU_CHAM"): 99}),
}


def demo_scenarios(catalog: Catalog) -> list[Scenario]:
    """The shipped demo's batch: most units careful, some wrong, late, resubmitted, missing."""
    codes = [u.code for u in catalog.addressed_units()]
    mistakes = list(MISTAKES)
    scenarios = []
    for i, code in enumerate(codes[:-3]):  # the last three units send nothing
        if i % 5 == 1:
            picked = tuple(mistakes[(i // 5 + k) % len(mistakes)] for k in range(2))
            scenarios.append(Scenario(code, "có lỗi", picked))
        elif i % 7 == 3:
            scenarios.append(Scenario(code, "nộp muộn", late_days=2 + i % 4))
        elif i == 4:
            scenarios.append(Scenario(code, "nộp lại", ("bỏ trống ô bắt buộc",), resubmit=True))
        elif i == 9:
            scenarios.append(Scenario(code, "chép sang tệp mới", drop_metadata=True))
        elif i == 12:
            scenarios.append(Scenario(code, "nộp bổ sung", amend=True))
        else:
            scenarios.append(Scenario(code, "đúng hạn"))
    return scenarios


def earlier_scenarios(catalog: Catalog) -> list[Scenario]:
    """The demo's period before: the same roster a period less settled — more units late,
    six sending nothing, a few with mistakes — so that the comparison shows a change."""
    codes = [u.code for u in catalog.addressed_units()]
    mistakes = list(MISTAKES)
    scenarios = []
    for i, code in enumerate(codes[:-6]):  # the last six units send nothing
        if i % 5 == 2:
            scenarios.append(Scenario(code, "có lỗi", (mistakes[(i // 5) % len(mistakes)],)))
        elif i % 4 == 3:
            scenarios.append(Scenario(code, "nộp muộn", late_days=1 + i % 5))
        else:
            scenarios.append(Scenario(code, "đúng hạn"))
    return scenarios


def simulate_returns(
    catalog: Catalog,
    period: Period,
    templates: Path,
    inbox: Path,
    seed: int = 2026,
    scenarios: list[Scenario] | None = None,
) -> list[Path]:
    """Fill the period's templates as the demo's units would (``scenarios``, the demo's
    own by default) and drop them into ``inbox``."""
    rng = random.Random(seed)
    written: list[Path] = []
    for scenario in demo_scenarios(catalog) if scenarios is None else scenarios:
        unit = catalog.unit(scenario.unit)
        template = templates / template_name(period, unit)
        values = good_values(catalog, unit, period, rng)
        sent = dt.datetime.combine(
            period.deadline - dt.timedelta(days=rng.randint(0, 3)),
            dt.time(9 + rng.randint(0, 7), rng.randint(0, 59)),
        )
        name = f"BC {period.code} {unit.code}.xlsx"
        if scenario.resubmit or scenario.amend:
            first = dict(values)
            for mistake in scenario.mistakes:
                MISTAKES[mistake](first, catalog, unit)
            if scenario.amend:  # the first file was valid; the second corrects some figures
                values = good_values(catalog, unit, period, rng)
            dest = inbox / f"BC {period.code} {unit.code} (lan 1).xlsx"
            write_return(template, dest, first, catalog, unit)
            date_sent(dest, sent - dt.timedelta(days=2))
            written.append(dest)
        else:
            for mistake in scenario.mistakes:
                if can_make(mistake, values):
                    MISTAKES[mistake](values, catalog, unit)
        dest = inbox / name
        write_return(
            template, dest, values, catalog, unit, keep_metadata=not scenario.drop_metadata
        )
        date_sent(dest, sent + dt.timedelta(days=scenario.late_days))
        written.append(dest)
    stray = inbox / "Bao cao gui kem.xlsx"
    stray.write_bytes(b"%PDF-1.4\n% a PDF saved with the wrong extension\n")
    written.append(stray)
    # What Windows leaves in a folder, and a cover letter beside a return: not returns.
    for name, data in (
        ("Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
        ("desktop.ini", b"[.ShellClassInfo]\r\nIconResource=imageres.dll,-3\r\n"),
        (f"Cong van gui kem {period.code}.pdf", b"%PDF-1.4\n% a cover letter\n"),
    ):
        (inbox / name).write_bytes(data)
        written.append(inbox / name)
    return written


def can_make(mistake: str, values: Values) -> bool:
    """Whether a unit with these values can make ``mistake`` (it has every indicator it touches)."""
    return all(any(k.endswith(suffix) for k in values) for suffix in _needs(mistake))


def _needs(mistake: str) -> tuple[str, ...]:
    """Indicator suffixes a mistake touches (a unit without them cannot make it)."""
    return {
        "bỏ trống ô bắt buộc": (".TRANG_THAI",),
        "chữ trong ô số": (".HN_SO",),
        "số âm": (".VB_SO", ".VB_DS"),
        "số nhập kiểu Việt Nam": (".HN_LUOT",),
        "giá trị ngoài danh sách": (".TRANG_THAI",),
        "giải quyết nhiều hơn tiếp nhận": (".KN_XL", ".KN_SO"),
        "số hiệu văn bản sai mẫu": (".VB_SO", ".VB_DS"),
        "ngày dạng chữ": (),
        "điểm tự chấm vượt tối đa": (".TU_CHAM",),
    }[mistake]


def date_sent(path: Path, when: dt.datetime) -> None:
    """Date the file as sent at ``when`` (local time): its modification time, and the
    saved time it carries, so that it was not received before it was saved (W107)."""
    stamp_saved(path, when)
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


_MODIFIED = re.compile(rb"(<dcterms:modified\b[^>]*>)[^<]*(</dcterms:modified>)")


def stamp_saved(path: Path, when: dt.datetime) -> None:
    """Make the .xlsx ``path`` say it was last saved at ``when`` (local time when naive),
    as Excel writes it: UTC in ``docProps/core.xml``. openpyxl stamps the time it saves at,
    so a return dated into the past must be stamped again. The file's own date is kept."""
    moment = when if when.tzinfo is not None else when.astimezone()
    text = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    kept = path.stat()
    temp = path.with_name(path.name + ".stamp")
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            if info.filename == "docProps/core.xml":
                data = _MODIFIED.sub(lambda m: m.group(1) + text + m.group(2), data, count=1)
            target.writestr(info, data)
    os.replace(temp, path)
    os.utime(path, ns=(kept.st_atime_ns, kept.st_mtime_ns))


def reset_inbox(inbox: Path) -> None:
    """Empty the demo's inbox (the demo owns it; a real inbox is never emptied)."""
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)


def type_assessments(master: Path, catalog: Catalog, period: Period) -> None:
    """Type a few assessed scores into the master's «Thẩm định» sheet, as the secretariat would.

    The demo owns its master; a real master is only ever changed by Excel.
    """
    book = openpyxl.load_workbook(master, keep_vba=master.suffix.lower() == ".xlsm")
    sheet = book[ASSESSMENT]
    row = sheet.max_row + 1
    units = catalog.addressed_units()
    picks = [(units[0], 0, -2.0, "Kết quả quán triệt chưa có số liệu cụ thể"),
             (units[2], 1, -5.0, "Chưa gửi văn bản cụ thể hóa"),
             (units[-5], 0, -1.5, "")]
    for unit, index, delta, comment in picks:
        task = catalog.tasks_for(unit)[index]
        points = catalog.points(unit.rating_group, task.code) or 0
        for col, value in enumerate((period.code, unit.code, task.code,
                                     max(0.0, points + delta), comment), 1):
            sheet.cell(row, col).value = value
        row += 1
    book.save(master)
