"""What the report says, as the values the Word template's tags show.

:func:`build_context` turns the facts of a period (and of the periods it is
compared with) into the template's context: short texts already in Vietnamese
form (numbers with «.» and «,», names joined with «và»), lists for the loops,
and the appendices. Nothing here is invented: every number is counted or summed
from :class:`~dvxl.docreport.facts.PeriodFacts`, every quote is a unit's own text.
The names of the context are the template's contract (README, «Mẫu báo cáo»).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dvxl import printing
from dvxl.docreport import vn
from dvxl.docreport.facts import INVALID, LATE, MISSING, ON_TIME, PeriodFacts, UnitFacts
from dvxl.docreport.figures import Figure, task_figures, total_over_tasks
from dvxl.model import Catalog, Task

#: Indicators the report reads by code (the common ones every task carries).
STATUS, DOCUMENTS = "TRANG_THAI", "VB_SO"
RESULTS, DIFFICULTIES, PROPOSALS = "KET_QUA", "KHO_KHAN", "DE_XUAT"

#: The appendices, in order: (key of the table, title).
APPENDICES = (
    ("figures", "SỐ LIỆU THỰC HIỆN CÁC NHIỆM VỤ CỦA TỪNG ĐƠN VỊ"),
    ("tracking", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC ĐƠN VỊ"),
    ("evaluation", "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CÁC ĐƠN VỊ"),
)
#: Their titles in a report over a span of periods (a column per period).
SPAN_TITLES = {
    "figures": "SỐ LIỆU THỰC HIỆN CÁC NHIỆM VỤ QUA CÁC KỲ",
    "tracking": "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC ĐƠN VỊ QUA CÁC KỲ",
    "evaluation": "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CÁC ĐƠN VỊ QUA CÁC KỲ",
}


@dataclass(frozen=True)
class ReportInput:
    """Everything one report is made of."""

    catalog: Catalog
    current: PeriodFacts
    previous: PeriodFacts | None = None  # the period before, when the ledger has it
    year_ago: PeriodFacts | None = None  # the same period a year earlier, when it has it
    date: dt.date | None = None  # the report's date (today when None)
    number: str = ""  # the report's number; "" takes the master's, which may be blank
    #: A sơ kết / tổng kết over a span: the span's earlier periods, oldest first (then the
    #: tables have a column per period and the body compares with each of them).
    span: tuple[PeriodFacts, ...] = ()

    @property
    def periods(self) -> list[PeriodFacts]:
        """The span's periods, oldest first, ``current`` last (``[current]`` without a span)."""
        return [*self.span, self.current]

    @property
    def comparisons(self) -> list[PeriodFacts]:
        seen: list[PeriodFacts] = []
        for facts in self.span or (self.previous, self.year_ago):
            if facts is not None and facts.has_receipts and all(
                f.period.code != facts.period.code for f in seen
            ):
                seen.append(facts)
        return seen


def returns(facts: PeriodFacts, task: Task | None = None) -> list[Mapping[str, Any]]:
    """The accepted returns' values of the period (of the units addressed ``task``)."""
    units = facts.reported()
    if task is not None:
        units = [u for u in units if set(u.groups) & set(task.groups)]
    return [u.values for u in units]


def figures_of(catalog: Catalog, facts: PeriodFacts) -> dict[str, Figure]:
    """Every task's figures, keyed «1.1.HN_SO»."""
    found: dict[str, Figure] = {}
    for task in catalog.tasks:
        for figure in task_figures(catalog, task, returns(facts, task)):
            found[figure.key] = figure
    return found


def header_number(inp: ReportInput) -> str:
    """The report's number, or blanks the clerk fills in by hand."""
    return inp.number or inp.catalog.issuing.number or "\u00a0" * 6


def build_context(inp: ReportInput) -> dict[str, Any]:
    """The template's context (numbers, texts and lists; tables are named in ``table()``)."""
    catalog, facts = inp.catalog, inp.current
    issuing = catalog.issuing
    province = catalog.settings.province
    day = inp.date or dt.date.today()
    number = header_number(inp)
    figures = figures_of(catalog, facts)
    earlier = [(f, figures_of(catalog, f)) for f in inp.comparisons]
    appendix_names = {
        key: f"Phụ lục {i}" if len(APPENDICES) > 1 else "Phụ lục"
        for i, (key, _) in enumerate(APPENDICES, 1)
    }
    note = (
        f"(Kèm theo Báo cáo số {number}-BC/{issuing.code} {vn.date_long(day)} "
        f"của {issuing.issuer_name})"
    )
    return {
        "header": {
            "superior": vn.nfc(issuing.superior or f"TỈNH ỦY {province.upper()}"),
            "issuer": vn.nfc(issuing.issuer),
            "number": number,
            "code": issuing.code,
            "place": vn.nfc(issuing.place or province),
            "date": vn.date_long(day),
        },
        "subject": _subject(catalog, facts, inp.span[0] if inp.span else None),
        "directive": vn.nfc(printing.directive_title(catalog.directive)),
        "issuer_name": vn.nfc(issuing.issuer_name),
        "reported_to": vn.nfc(issuing.reported_to),
        "period": {
            "code": facts.period.code,
            "name": facts.period.name,
            "name_lower": _lower_first(facts.period.name),
            "start": vn.date_short(facts.period.start),
            "end": vn.date_short(facts.period.end),
        },
        "tracking": _tracking(facts, inp.comparisons, day),
        "documents": _documents(catalog, facts, inp.comparisons),
        "f": {key: _figure_view(fig, key, earlier) for key, fig in figures.items()},
        "tasks": [_task(catalog, facts, task, figures, earlier) for task in catalog.tasks],
        "difficulties": _said(catalog, facts, DIFFICULTIES),
        "proposals": _said(catalog, facts, PROPOSALS),
        "evaluation": _evaluation(catalog, facts, inp.comparisons),
        "recipients": _punctuated(catalog.recipients),
        "signature": {
            "authority": vn.nfc(issuing.authority),
            "title": vn.nfc(issuing.signer_title),
            "name": vn.nfc(issuing.signer_name),
        },
        "appendices": [
            {
                "number": name.removeprefix("Phụ lục").strip(),
                "title": SPAN_TITLES.get(key, title) if inp.span else title,
                "note": note,
                "table": key,
            }
            for (key, title), name in zip(APPENDICES, appendix_names.values(), strict=True)
        ],
        "appendix_of": appendix_names,
    }


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _subject(catalog: Catalog, facts: PeriodFacts, first: PeriodFacts | None = None) -> str:
    """The trích yếu; over a span, a sơ kết «từ … đến …»."""
    d = catalog.directive
    number = f" số {d.number}" if d.number else ""
    if first is not None:
        return vn.nfc(
            f"sơ kết việc thực hiện {d.kind.lower()}{number} của {d.issuer} {d.subject}, "
            f"từ {_lower_first(first.period.name)} đến {_lower_first(facts.period.name)}"
        )
    return vn.nfc(
        f"kết quả thực hiện {d.kind.lower()}{number} của {d.issuer} {d.subject}, "
        f"{_lower_first(facts.period.name)}"
    )


def _unit_names(units: Iterable[UnitFacts]) -> str:
    return vn.names([vn.nfc(u.name) for u in units])


def _tracking(facts: PeriodFacts, earlier: list[PeriodFacts], day: dt.date) -> dict[str, Any]:
    n = len(facts.units)
    valid = len(facts.reported())
    on_time = len(facts.with_status(ON_TIME))
    late = facts.with_status(LATE)
    compare = "; ".join(
        f"{f.period.name}: hợp lệ {vn.percent(len(f.reported()), len(f.units)) or '0%'}, "
        f"đúng hạn {vn.percent(len(f.with_status(ON_TIME)), len(f.units)) or '0%'}"
        for f in earlier
    )
    return {
        "as_of": f"ngày {vn.date_short(day)}",
        "addressed": vn.number(n),
        "received": vn.number(sum(1 for u in facts.units if u.files)),
        "valid": vn.number(valid),
        "valid_count": valid,
        "on_time": vn.number(on_time),
        "late": vn.number(len(late)),
        "invalid": vn.number(len(facts.with_status(INVALID))),
        "missing": vn.number(len(facts.with_status(MISSING))),
        "valid_rate": vn.percent(valid, n) or "0%",
        "on_time_rate": vn.percent(on_time, n) or "0%",
        "late_units": vn.names([f"{vn.nfc(u.name)} ({u.days_late} ngày)" for u in late]),
        "invalid_units": _unit_names(facts.with_status(INVALID)),
        "missing_units": _unit_names(facts.with_status(MISSING)),
        "compare": f" ({compare})" if compare else "",
    }


def _documents(catalog: Catalog, facts: PeriodFacts, earlier: list[PeriodFacts]) -> dict[str, str]:
    unit = next((i.unit for i in catalog.indicators if i.code == DOCUMENTS), "") or "văn bản"
    total = total_over_tasks(catalog, DOCUMENTS, returns(facts))
    compare = "; ".join(
        f"{f.period.name}: {vn.number(total_over_tasks(catalog, DOCUMENTS, returns(f)))}"
        for f in earlier
    )
    return {
        "text": f"{vn.number(total)} {unit}",
        "compare": f" ({compare})" if compare else "",
    }


def _figure_view(
    figure: Figure, key: str, earlier: list[tuple[PeriodFacts, dict[str, Figure]]]
) -> dict[str, str]:
    shown = [(f.period.name, figs[key].short()) for f, figs in earlier if key in figs]
    compare = "; ".join(f"{name}: {value}" for name, value in shown)
    return {
        "label": figure.label,
        "text": figure.text(),
        "short": figure.short(),
        "compare": f" ({compare})" if compare else "",
    }


def _task(
    catalog: Catalog,
    facts: PeriodFacts,
    task: Task,
    figures: dict[str, Figure],
    earlier: list[tuple[PeriodFacts, dict[str, Figure]]],
) -> dict[str, Any]:
    addressed = [u for u in facts.units if set(u.groups) & set(task.groups)]
    reported = [u for u in addressed if u.reported]
    names = {g.code: g.name for g in catalog.groups}
    status = figures.get(f"{task.code}.{STATUS}")
    shown = [
        _figure_view(fig, key, earlier)
        for key, fig in figures.items()
        if fig.task == task.code and fig.code != STATUS
    ]
    return {
        "code": task.code,
        "title": vn.nfc(task.title),
        "groups": "; ".join(_lower_first(names[g]) for g in task.groups if g in names),
        "addressed": vn.number(len(addressed)),
        "reported": vn.number(len(reported)),
        "status": status.text() if status is not None and reported else "",
        "figures": shown if reported else [],
        "quotes": _quotes(catalog, task, reported),
    }


def _quotes(catalog: Catalog, task: Task, reported: list[UnitFacts]) -> list[dict[str, Any]]:
    """The units' KET_QUA for the task, by the first of the task's groups each unit is in."""
    key = f"{task.code}.{RESULTS}"
    by_group: dict[str, dict[str, list[str]]] = {}
    for unit in reported:
        text = _quoted(unit.values.get(key))
        if not text:
            continue
        group = next((g for g in unit.groups if g in task.groups), unit.rating_group)
        by_group.setdefault(group, {}).setdefault(text, []).append(vn.nfc(unit.name))
    return _grouped(catalog, by_group, lambda units, text: {"units": vn.names(units), "text": text})


def _quoted(value: Any) -> str:
    """A unit's text on one line, without its final full stop (the template closes the quote)."""
    text = vn.one_line(value or "")
    return text[:-1].rstrip() if text.endswith(".") and not text.endswith("..") else text


def _said(catalog: Catalog, facts: PeriodFacts, code: str) -> list[dict[str, Any]]:
    """What the units wrote under ``code`` in all their tasks, by rating group; a text once."""
    by_group: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for unit in facts.reported():
        for task in (t for t in catalog.tasks if set(t.groups) & set(unit.groups)):
            text = _quoted(unit.values.get(f"{task.code}.{code}"))
            if text:
                by_group.setdefault(unit.rating_group, {}).setdefault(text, []).append(
                    (vn.nfc(unit.name), task.code)
                )

    def item(said: list[tuple[str, str]], text: str) -> dict[str, str]:
        units = list(dict.fromkeys(name for name, _ in said))
        tasks = list(dict.fromkeys(code for _, code in said))
        label = "nhiệm vụ " + ", ".join(tasks)
        return {"units": vn.names(units), "tasks": label, "text": text}

    return _grouped(catalog, by_group, item)


def _grouped(catalog: Catalog, by_group: Mapping[str, Mapping[str, Any]], item: Any) -> list[
    dict[str, Any]
]:
    names = {g.code: g.name for g in catalog.groups}
    order = [g.code for g in catalog.groups if g.code in by_group]
    return [
        {"name": vn.nfc(names[g]), "lines": [item(who, text) for text, who in by_group[g].items()]}
        for g in order
    ]


def class_counts(catalog: Catalog, units: Iterable[UnitFacts]) -> dict[str, int]:
    """Units per class, every level and «not rated» present, in the catalog's order."""
    counts = dict.fromkeys([lv.name for lv in catalog.levels] + [catalog.settings.not_rated], 0)
    for unit in units:
        if unit.level in counts:
            counts[unit.level] += 1
    return counts


def rating_groups(catalog: Catalog, facts: PeriodFacts) -> list[tuple[str, str, list[UnitFacts]]]:
    """(code, name, units) of each rating group with addressed units, in catalog order."""
    result = []
    for group in catalog.groups:
        units = [u for u in facts.units if u.rating_group == group.code]
        if units:
            result.append((group.code, vn.nfc(group.name), units))
    return result


def _classes_text(counts: Mapping[str, int]) -> str:
    shown = [f"{n} {_lower_first(name)}" for name, n in counts.items() if n]
    return "; ".join(shown) if shown else "chưa có đơn vị"


def _mean(values: list[float]) -> str:
    return vn.number(sum(values) / len(values), 1) if values else ""


def _evaluation(catalog: Catalog, facts: PeriodFacts, earlier: list[PeriodFacts]) -> dict[str, Any]:
    groups = []
    for _, name, units in rating_groups(catalog, facts):
        rated = [u for u in units if u.rated]
        groups.append(
            {
                "name": name,
                "units": len(units),
                "classes": _classes_text(class_counts(catalog, units)),
                "rated": len(rated),
                "self_mean": _mean([u.self_total or 0.0 for u in rated]),
                "total_mean": _mean([u.total or 0.0 for u in rated]),
            }
        )
    compare = "; ".join(
        f"xếp loại {_lower_first(f.period.name)}: {_classes_text(class_counts(catalog, f.units))}"
        for f in earlier
    )
    return {
        "groups": groups,
        "assessed": vn.number(sum(1 for u in facts.units if u.assessed)),
        "compare": f". So sánh: {compare}" if compare else "",
    }


def _punctuated(items: Iterable[str]) -> list[str]:
    """«Nơi nhận» lines: a comma after each, a full stop after the last."""
    lines = [vn.nfc(i).strip().rstrip(",;.") for i in items if i.strip()]
    return [line + ("." if i == len(lines) - 1 else ",") for i, line in enumerate(lines)]
