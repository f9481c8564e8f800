"""Config tables in, a checked :class:`~dvxl.model.Catalog` out — and back.

Both sources of configuration (the text catalog and the master workbook) hand
:func:`build` the same thing: rows of raw values per table, each row knowing
where it came from. Every problem is collected with that location (the sheet
and row of the master, or the file and entry of the text) before one
:class:`~dvxl.errors.ConfigError` is raised, so the secretariat fixes them all
in one pass.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from dvxl import rules
from dvxl.errors import ConfigError
from dvxl.model import (
    LETTERHEAD_FIELDS,
    Catalog,
    ChoiceList,
    CitedDocument,
    Directive,
    FormatProfile,
    Group,
    Indicator,
    Issuing,
    Letterhead,
    Level,
    Period,
    RubricItem,
    Rule,
    Settings,
    Task,
    Unit,
)
from dvxl.schema import TABLE, TABLES, Column, Table, parse_value

#: Variables a classification condition may use; the evaluation stage supplies them.
LEVEL_VARIABLES: dict[str, str] = {
    "tong_diem": "tổng điểm được đánh giá",
    "so_ngay_tre": "số ngày nộp báo cáo trễ hạn (0 nếu đúng hạn)",
    "so_loi": "số lỗi còn lại trong báo cáo",
    "so_nhiem_vu": "số nhiệm vụ được giao",
    "so_nhiem_vu_chua_trien_khai": "số nhiệm vụ ở tình trạng «Chưa triển khai»",
    "so_nhiem_vu_duoi_50": "số nhiệm vụ đạt dưới một nửa số điểm tối đa",
}


@dataclass
class Row:
    """Raw values of one config record and where they came from.

    ``where`` names the record ("Trang tính «Nhiệm vụ», dòng 7"); a field may
    have a place of its own in ``field_where`` (key-value sheets keep each field
    on its own row).
    """

    where: str
    values: dict[str, Any]
    in_sheet: bool = True
    field_where: dict[str, str] = field(default_factory=dict)

    def locate(self, column: Column) -> str:
        if column.field in self.field_where:
            return self.field_where[column.field]
        label = f"cột «{column.header}»" if self.in_sheet else f"trường «{column.field}»"
        return f"{self.where}, {label}"


Tables = dict[str, list[Row]]


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


@dataclass
class _Record:
    row: Row
    data: dict[str, Any]


def _parse_tables(tables: Tables, problems: _Problems) -> dict[str, list[_Record]]:
    parsed: dict[str, list[_Record]] = {}
    for table in TABLES:
        records = []
        for row in tables.get(table.key, []):
            data: dict[str, Any] = {}
            ok = True
            for column in table.columns:
                raw = row.values.get(column.field)
                try:
                    value = parse_value(column.kind, raw)
                except ValueError as exc:
                    problems.add(row.locate(column), str(exc))
                    ok = False
                    continue
                if column.required and value in ("", None, ()):
                    problems.add(row.locate(column), "không được để trống")
                    ok = False
                data[column.field] = value
            if ok:
                records.append(_Record(row, data))
        parsed[table.key] = records
    return parsed


def _unique(records: Iterable[_Record], key: str, what: str, problems: _Problems) -> None:
    seen: dict[Any, str] = {}
    for record in records:
        value = record.data[key]
        if value in seen:
            problems.add(record.row.where, f"{what} «{value}» bị trùng (đã có ở {seen[value]})")
        else:
            seen[value] = record.row.where


def build(tables: Tables) -> Catalog:
    """Check every table and the references between them; return the catalog or raise."""
    problems = _Problems()
    parsed = _parse_tables(tables, problems)

    directive = _single(parsed, "directive", problems)
    settings = _single(parsed, "settings", problems)

    groups = parsed["groups"]
    _unique(groups, "code", "Mã nhóm", problems)
    group_codes = {r.data["code"] for r in groups}

    tasks = parsed["tasks"]
    _unique(tasks, "code", "Mã nhiệm vụ", problems)
    task_codes = {r.data["code"] for r in tasks}
    for record in tasks:
        if not record.data["groups"]:
            problems.add(
                record.row.locate(TABLE["tasks"].column("groups")),
                f"nhiệm vụ «{record.data['code']}» chưa được giao cho nhóm nào",
            )
        for code in record.data["groups"]:
            if code not in group_codes:
                problems.add(
                    record.row.locate(TABLE["tasks"].column("groups")),
                    f"nhóm «{code}» không có trong danh sách nhóm",
                )

    lists: dict[str, list[str]] = defaultdict(list)
    for record in parsed["lists"]:
        values = lists[record.data["code"]]
        if record.data["value"] in values:
            problems.add(
                record.row.where,
                f"giá trị «{record.data['value']}» lặp lại trong danh mục «{record.data['code']}»",
            )
        else:
            values.append(record.data["value"])

    indicators = parsed["indicators"]
    _check_indicators(indicators, task_codes, lists, problems)

    _check_summaries(indicators, lists, problems)
    visible = _visible_codes(indicators, task_codes)
    _check_rules(parsed["rules"], task_codes, visible, problems)

    units = parsed["units"]
    _unique(units, "code", "Mã đơn vị", problems)
    _check_letterheads(parsed["letterheads"], groups, units, problems)
    for record in units:
        if not record.data["groups"]:
            problems.add(
                record.row.locate(TABLE["units"].column("groups")),
                f"đơn vị «{record.data['code']}» chưa thuộc nhóm nào",
            )
        for code in record.data["groups"]:
            if code not in group_codes:
                problems.add(
                    record.row.locate(TABLE["units"].column("groups")),
                    f"nhóm «{code}» không có trong danh sách nhóm",
                )

    periods = parsed["periods"]
    _unique(periods, "code", "Mã kỳ", problems)
    for record in periods:
        d = record.data
        if d["start"] > d["end"]:
            problems.add(record.row.where, "«Từ ngày» phải trước «Đến ngày»")
        if d["deadline"] <= d["end"]:
            problems.add(
                record.row.where, "hạn gửi phải sau ngày chốt số liệu ít nhất một ngày làm việc"
            )

    if not problems.items:  # a broken task or unit would echo through every group's rubric
        _check_rubric(parsed["rubric"], tasks, units, group_codes, task_codes, problems)
    else:
        _check_rubric(parsed["rubric"], [], [], group_codes, task_codes, problems)
    _check_levels(parsed["levels"], problems)
    _check_format(parsed["format"], problems)
    for key in ("issuing", "format"):
        if len(parsed[key]) > 1:
            problems.add(f"Trang tính «{TABLE[key].sheet}»", "chỉ được có một bộ thông tin")

    if problems.items:
        raise ConfigError(problems.items)
    assert directive is not None and settings is not None
    return _assemble(parsed, directive, settings, lists)


def _single(parsed: dict[str, list[_Record]], key: str, problems: _Problems) -> _Record | None:
    records = parsed[key]
    if len(records) != 1:
        if not problems.items:
            problems.add(f"Trang tính «{TABLE[key].sheet}»", "thiếu thông tin")
        return None
    return records[0]


def _check_indicators(
    indicators: list[_Record],
    task_codes: set[str],
    lists: dict[str, list[str]],
    problems: _Problems,
) -> None:
    table = TABLE["indicators"]
    common = {r.data["code"] for r in indicators if r.data["task"] == "*"}
    seen: dict[tuple[str, str], str] = {}
    for record in indicators:
        d = record.data
        where = record.row.where
        key = (d["task"], d["code"])
        if key in seen:
            problems.add(
                where,
                f"chỉ tiêu «{d['code']}» của nhiệm vụ «{d['task']}» bị trùng (đã có ở {seen[key]})",
            )
        seen[key] = where
        if d["task"] == "*":
            if not d["position"]:
                problems.add(
                    record.row.locate(table.column("position")),
                    "chỉ tiêu chung phải ghi «Trước» hoặc «Sau»",
                )
        else:
            if d["task"] not in task_codes:
                problems.add(
                    record.row.locate(table.column("task")),
                    f"nhiệm vụ «{d['task']}» không có trong danh sách nhiệm vụ",
                )
            if d["code"] in common:
                problems.add(
                    record.row.locate(table.column("code")),
                    f"mã «{d['code']}» đã dùng cho một chỉ tiêu chung",
                )
            if d["position"]:
                problems.add(
                    record.row.locate(table.column("position")),
                    "chỉ ghi vị trí cho chỉ tiêu chung (nhiệm vụ «*»)",
                )
        if d["type"] == "choice":
            if not d["choices"]:
                problems.add(
                    record.row.locate(table.column("choices")),
                    "chỉ tiêu kiểu chọn phải ghi mã danh mục",
                )
            elif d["choices"] not in lists:
                problems.add(
                    record.row.locate(table.column("choices")),
                    f"danh mục «{d['choices']}» không có trong trang tính «Danh mục»",
                )
        elif d["choices"]:
            problems.add(
                record.row.locate(table.column("choices")),
                "chỉ ghi danh mục cho chỉ tiêu kiểu chọn",
            )
        lo, hi = d["minimum"], d["maximum"]
        if lo is not None and hi is not None and lo > hi:
            problems.add(where, f"«Tối thiểu» ({lo}) lớn hơn «Tối đa» ({hi})")
        _check_outlier_settings(record, table, problems)


def _check_outlier_settings(record: _Record, table: Table, problems: _Problems) -> None:
    """The usual range and the outlier threshold (:mod:`dvxl.outliers`): numbers only."""
    d = record.data
    given = [f for f in ("usual_min", "usual_max", "outlier_threshold") if d.get(f) is not None]
    if given and d["type"] not in _OUTLIER_TYPES:
        problems.add(
            record.row.locate(table.column(given[0])),
            f"chỉ tiêu «{d['code']}» không phải số đếm hoặc số thập phân nên không ghi khoảng "
            "thường gặp, ngưỡng bất thường",
        )
        return
    lo, hi = d.get("usual_min"), d.get("usual_max")
    if lo is not None and hi is not None and lo > hi:
        problems.add(record.row.where, f"«Thường từ» ({lo}) lớn hơn «Thường đến» ({hi})")
    threshold = d.get("outlier_threshold")
    if threshold is not None and threshold <= 0:
        problems.add(
            record.row.locate(table.column("outlier_threshold")),
            f"«Ngưỡng bất thường» phải lớn hơn 0 (đang là {threshold})",
        )


#: The indicator types whose figures are compared for outliers (a self-score is not: it is
#: bounded by the rubric and assessed by the secretariat).
_OUTLIER_TYPES = frozenset({"integer", "decimal"})


_NUMERIC = frozenset({"integer", "decimal", "score"})


def _check_summaries(
    indicators: list[_Record], lists: dict[str, list[str]], problems: _Problems
) -> None:
    """A summary fits its indicator: sums of numbers, counts of choices, rates of two numbers."""
    column = TABLE["indicators"].column("summary")
    numeric = {(r.data["task"], r.data["code"]) for r in indicators if r.data["type"] in _NUMERIC}
    for record in indicators:
        d = record.data
        kind, _, arg = d["summary"].partition(":")
        where = record.row.locate(column)
        if kind in ("sum", "mean", "rate") and d["type"] not in _NUMERIC:
            problems.add(where, f"chỉ tiêu «{d['code']}» không phải số nên không tính tổng, tỷ lệ")
        elif kind == "count" and d["type"] != "choice":
            problems.add(where, f"chỉ đếm được chỉ tiêu kiểu chọn («{d['code']}» không phải)")
        elif kind == "count" and arg and arg not in lists.get(d["choices"], [arg]):
            problems.add(where, f"«{arg}» không có trong danh mục «{d['choices']}»")
        elif kind == "rate" and (d["task"], arg) not in numeric and ("*", arg) not in numeric:
            problems.add(
                where, f"tỷ lệ trên «{arg}»: nhiệm vụ «{d['task']}» không có chỉ tiêu số mã này"
            )


#: Bounds of the format profile's numbers (sizes in points, lengths in millimetres).
_FORMAT_BOUNDS = {
    "paper": (50.0, 1000.0),
    "margin": (0.0, 100.0),
    "size": (6.0, 40.0),
    "first_line_indent_mm": (0.0, 50.0),
    "space_after_pt": (0.0, 72.0),
    "line_spacing": (0.5, 3.0),
}


def _check_format(records: list[_Record], problems: _Problems) -> None:
    table = TABLE["format"]
    for record in records:
        for column in table.columns:
            value = record.data.get(column.field)
            if value in ("", None):
                continue
            if column.field == "page_number_from":
                if value not in (1, 2):
                    problems.add(record.row.locate(column), "chỉ nhận 1 hoặc 2")
                continue
            prefix = column.field.split("_")[0]
            key = prefix if prefix in ("paper", "margin", "size") else column.field
            bounds = _FORMAT_BOUNDS.get(key)
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                low, high = (f"{b:g}".replace(".", ",") for b in bounds)
                problems.add(record.row.locate(column), f"phải từ {low} đến {high}")


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _check_letterheads(
    records: list[_Record], groups: list[_Record], units: list[_Record], problems: _Problems
) -> None:
    """Letterhead codes are unique and known where groups and units name them; the only
    placeholders are :data:`~dvxl.model.LETTERHEAD_FIELDS`."""
    table = TABLE["letterheads"]
    _unique(records, "code", "Mã tiêu đề", problems)
    known = {r.data["code"] for r in records}
    for record in records:
        for column in table.columns:
            value = record.data.get(column.field)
            if not isinstance(value, str):
                continue
            wrong = [n for n in _PLACEHOLDER.findall(value) if n not in LETTERHEAD_FIELDS]
            if wrong or value.count("{") != value.count("}"):
                allowed = ", ".join(f"{{{n}}}" for n in LETTERHEAD_FIELDS)
                problems.add(record.row.locate(column), f"chỉ dùng được {allowed} trong ngoặc {{}}")
    for key, records_of in (("groups", groups), ("units", units)):
        column = TABLE[key].column("letterhead")
        for record in records_of:
            code = record.data.get("letterhead", "")
            if code and code not in known:
                problems.add(
                    record.row.locate(column),
                    f"tiêu đề «{code}» không có trong trang tính «{table.sheet}»",
                )


def _visible_codes(indicators: list[_Record], task_codes: set[str]) -> dict[str, set[str]]:
    """Indicator codes a rule of each task may name (``*`` gets every task's)."""
    common = {r.data["code"] for r in indicators if r.data["task"] == "*"}
    visible = {code: set(common) for code in task_codes}
    for record in indicators:
        if record.data["task"] in visible:
            visible[record.data["task"]].add(record.data["code"])
    visible["*"] = set().union(*visible.values()) if visible else set(common)
    return visible


def _check_rules(
    records: list[_Record], task_codes: set[str], visible: dict[str, set[str]], problems: _Problems
) -> None:
    table = TABLE["rules"]
    _unique(records, "code", "Mã quy tắc", problems)
    for record in records:
        d = record.data
        if d["task"] != "*" and d["task"] not in task_codes:
            problems.add(
                record.row.locate(table.column("task")),
                f"nhiệm vụ «{d['task']}» không có trong danh sách nhiệm vụ",
            )
            continue
        try:
            node = rules.parse(d["expression"])
        except rules.RuleSyntaxError as exc:
            problems.add(record.row.locate(table.column("expression")), f"biểu thức sai: {exc}")
            continue
        unknown = sorted(rules.names(node) - visible.get(d["task"], set()))
        if unknown:
            problems.add(
                record.row.locate(table.column("expression")),
                f"mã chỉ tiêu không có ở nhiệm vụ «{d['task']}»: {', '.join(unknown)}",
            )


def _check_rubric(
    records: list[_Record],
    tasks: list[_Record],
    units: list[_Record],
    group_codes: set[str],
    task_codes: set[str],
    problems: _Problems,
) -> None:
    table = TABLE["rubric"]
    by_group: dict[str, list[_Record]] = defaultdict(list)
    seen: dict[tuple[str, str], str] = {}
    for record in records:
        d = record.data
        if d["group"] not in group_codes:
            problems.add(
                record.row.locate(table.column("group")),
                f"nhóm «{d['group']}» không có trong danh sách nhóm",
            )
        if d["task"] not in task_codes:
            problems.add(
                record.row.locate(table.column("task")),
                f"nhiệm vụ «{d['task']}» không có trong danh sách nhiệm vụ",
            )
        if d["points"] < 0:
            problems.add(record.row.locate(table.column("points")), "điểm không được âm")
        key = (d["group"], d["task"])
        if key in seen:
            problems.add(
                record.row.where,
                f"nhiệm vụ «{d['task']}» của nhóm «{d['group']}» đã có điểm ở {seen[key]}",
            )
        seen[key] = record.row.where
        by_group[d["group"]].append(record)

    for group, items in by_group.items():
        total = sum(r.data["points"] for r in items)
        if abs(total - 100) > 1e-6:
            shown = f"{total:g}".replace(".", ",")
            problems.add(_span(items), f"tổng điểm nhóm «{group}» là {shown}, phải bằng 100")

    addressed = {t.data["code"]: set(t.data["groups"]) for t in tasks}
    unit_table = TABLE["units"]
    # Mismatches are reported once per rating group and kind, naming the units, so
    # one wrong cell does not flood the secretariat with a line per unit.
    mismatches: dict[tuple[str, str, tuple[str, ...]], list[_Record]] = defaultdict(list)
    for record in units:
        groups = record.data["groups"]
        if not groups:
            continue
        own = {code for code, gs in addressed.items() if gs.intersection(groups)}
        if not own:
            problems.add(
                record.row.locate(unit_table.column("groups")),
                f"đơn vị «{record.data['code']}» không được giao nhiệm vụ nào",
            )
            continue
        rating = groups[0]
        scored = {r.data["task"] for r in by_group.get(rating, [])}
        if own - scored:
            mismatches[(rating, "missing", tuple(sorted(own - scored)))].append(record)
        if scored - own:
            mismatches[(rating, "extra", tuple(sorted(scored - own)))].append(record)
    for (rating, kind, codes), records in mismatches.items():
        names = _names([r.data["code"] for r in records])
        where = records[0].row.locate(unit_table.column("groups"))
        if kind == "missing":
            problems.add(
                where,
                f"{names} được giao nhiệm vụ {', '.join(codes)} nhưng biểu điểm "
                f"nhóm «{rating}» không có điểm cho nhiệm vụ đó",
            )
        else:
            span = _span(by_group[rating])
            problems.add(
                span,
                f"biểu điểm nhóm «{rating}» có điểm cho nhiệm vụ {', '.join(codes)} "
                f"mà {names} không được giao",
            )


def _names(codes: list[str]) -> str:
    """ "đơn vị «A», «B» và 3 đơn vị khác"."""
    shown = ", ".join(f"«{c}»" for c in codes[:3])
    more = f" và {len(codes) - 3} đơn vị khác" if len(codes) > 3 else ""
    return f"đơn vị {shown}{more}"


def _span(records: list[_Record]) -> str:
    """ "Trang tính «X», dòng 4–7" for a run of sheet rows; the first row's place otherwise."""
    first = records[0].row.where
    if len(records) == 1 or not records[0].row.in_sheet:
        return first
    last = records[-1].row.where.rsplit(" ", 1)[-1]
    return f"{first}–{last}"


def _check_levels(records: list[_Record], problems: _Problems) -> None:
    table = TABLE["levels"]
    if not records:
        problems.add(f"Trang tính «{table.sheet}»", "cần ít nhất một mức xếp loại")
        return
    _unique(records, "code", "Mã mức", problems)
    previous: float | None = None
    for record in records:
        d = record.data
        if not 0 <= d["min_score"] <= 100:
            problems.add(record.row.locate(table.column("min_score")), "điểm phải từ 0 đến 100")
        if previous is not None and d["min_score"] >= previous:
            problems.add(
                record.row.locate(table.column("min_score")),
                "các mức phải xếp từ cao xuống thấp, điểm giảm dần",
            )
        previous = d["min_score"]
        cap = d["cap"] or 0
        if not 0 <= cap <= 1:
            problems.add(
                record.row.locate(table.column("cap")),
                "tỷ lệ tối đa phải từ 0 đến 1 (ví dụ 0,2 là 20 %)",
            )
        if d["condition"]:
            try:
                node = rules.parse(d["condition"])
            except rules.RuleSyntaxError as exc:
                problems.add(record.row.locate(table.column("condition")), f"điều kiện sai: {exc}")
                continue
            unknown = sorted(rules.names(node) - set(LEVEL_VARIABLES))
            if unknown:
                known = ", ".join(LEVEL_VARIABLES)
                problems.add(
                    record.row.locate(table.column("condition")),
                    f"biến không có: {', '.join(unknown)} (dùng được: {known})",
                )
    if previous is not None and previous != 0:
        problems.add(
            records[-1].row.locate(table.column("min_score")),
            "mức thấp nhất phải có «Điểm từ» bằng 0 để mọi đơn vị đều được xếp loại",
        )


def _assemble(
    parsed: dict[str, list[_Record]],
    directive: _Record,
    settings: _Record,
    lists: dict[str, list[str]],
) -> Catalog:
    cited = tuple(CitedDocument(**r.data) for r in parsed["cited"])
    return Catalog(
        directive=Directive(**directive.data, cited=cited),
        settings=Settings(**settings.data),
        groups=tuple(Group(**r.data) for r in parsed["groups"]),
        tasks=tuple(Task(**r.data) for r in parsed["tasks"]),
        indicators=tuple(Indicator(**r.data) for r in parsed["indicators"]),
        lists=tuple(ChoiceList(code, tuple(values)) for code, values in lists.items()),
        rules=tuple(Rule(**r.data) for r in parsed["rules"]),
        units=tuple(Unit(**r.data) for r in parsed["units"]),
        periods=tuple(Period(**r.data) for r in parsed["periods"]),
        rubric=tuple(RubricItem(**r.data) for r in parsed["rubric"]),
        levels=tuple(Level(**{**r.data, "cap": r.data["cap"] or 0}) for r in parsed["levels"]),
        issuing=Issuing(**_given(parsed["issuing"])),
        recipients=tuple(r.data["recipient"] for r in parsed["recipients"]),
        format=FormatProfile(**_given(parsed["format"])),
        letterheads=tuple(Letterhead(**r.data) for r in parsed["letterheads"]),
    )


def _given(records: list[_Record]) -> dict[str, Any]:
    """The fields of an optional key-value table that are filled in (the rest: defaults)."""
    data = records[0].data if records else {}
    return {k: v for k, v in data.items() if v not in ("", None)}


def to_tables(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """The catalog as typed rows per table, in the order the master shows them."""
    directive = asdict(catalog.directive)
    directive.pop("cited")
    return {
        "directive": [directive],
        "cited": [asdict(c) for c in catalog.directive.cited],
        "groups": [asdict(g) for g in catalog.groups],
        "tasks": [asdict(t) for t in catalog.tasks],
        "indicators": [asdict(i) for i in catalog.indicators],
        "lists": [{"code": c.code, "value": v} for c in catalog.lists for v in c.values],
        "rules": [asdict(r) for r in catalog.rules],
        "units": [asdict(u) for u in catalog.units],
        "periods": [asdict(p) for p in catalog.periods],
        "rubric": [asdict(r) for r in catalog.rubric],
        "levels": [asdict(lv) for lv in catalog.levels],
        "settings": [asdict(catalog.settings)],
        "issuing": [asdict(catalog.issuing)],
        "recipients": [{"recipient": r} for r in catalog.recipients],
        "format": [asdict(catalog.format)],
        "letterheads": [asdict(h) for h in catalog.letterheads],
    }


_NOT_IN_FORM = frozenset({"summary", "usual_min", "usual_max", "outlier_threshold"})


def fingerprint(catalog: Catalog) -> str:
    """A short hash of what a template is built from (tasks, indicators, lists, rules).

    Stored in every template; a return whose fingerprint differs from the
    master's was made from another version of the catalog.
    """
    tables = to_tables(catalog)
    payload = {k: tables[k] for k in ("tasks", "indicators", "lists", "rules")}
    # How the report sums an indicator up is not part of the form: templates stay valid.
    # Nor is what counts as an outlier (:mod:`dvxl.outliers`).
    payload["indicators"] = [
        {k: v for k, v in i.items() if k not in _NOT_IN_FORM} for i in payload["indicators"]
    ]
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
