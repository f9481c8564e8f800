"""Key figures of a task over the units' accepted returns, summed up as the catalog says.

Each indicator has a summary (:data:`dvxl.model.SUMMARIES`): a total, a mean, a
count of the units per chosen value or of those that chose one value, or a rate
of two totals (resolved over received). Empty means the type's default: numbers
are summed, choices counted per value, texts and self-scores left to other parts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dvxl.docreport import vn
from dvxl.model import Catalog, Indicator, Task

_NUMBERS = frozenset({"integer", "decimal"})


def summary_of(indicator: Indicator) -> tuple[str, str]:
    """(kind, argument) of the indicator's summary, the type's default filled in."""
    kind, _, arg = indicator.summary.partition(":")
    if kind:
        return kind, arg
    if indicator.type in _NUMBERS:
        return "sum", ""
    if indicator.type == "choice":
        return "count", ""
    return "none", ""


@dataclass(frozen=True)
class Figure:
    """One indicator summed up over the units that reported it."""

    task: str
    code: str
    label: str
    unit: str  # the indicator's unit of measure («cuộc»)
    kind: str  # sum | mean | count | rate
    value: float  # the total, the mean, the units counted, the rate's numerator
    base: float = 0.0  # the rate's denominator; for a count of one value, the units reporting
    choice: str = ""  # the value counted («Có»)
    counts: Mapping[str, int] = field(default_factory=dict)  # units per value (count)
    reported: int = 0  # units with a value for it

    @property
    def key(self) -> str:
        return f"{self.task}.{self.code}"

    def text(self) -> str:
        """«1.234 cuộc», «45/60 kiến nghị, đạt 75%», «12/15 đơn vị»… (no final stop)."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind == "sum":
            return f"{vn.number(self.value)}{unit}"
        if self.kind == "mean":
            return f"bình quân {vn.number(self.value)}{unit} mỗi đơn vị"
        if self.kind == "rate":
            rate = vn.percent(self.value, self.base)
            shown = f"{vn.number(self.value)}/{vn.number(self.base)}{unit}"
            return f"{shown}, đạt {rate}" if rate else shown
        if self.choice:
            return f"{vn.number(self.value)}/{vn.number(self.base)} đơn vị"
        counted = [f"{n} {vn.nfc(v).lower()}" for v, n in self.counts.items() if n]
        return "; ".join(counted) if counted else "0 đơn vị"

    def short(self) -> str:
        """The figure without its unit, for comparisons and table cells («1.234», «75%»)."""
        if self.kind == "rate":
            rate = vn.percent(self.value, self.base)
            shown = f"{vn.number(self.value)}/{vn.number(self.base)}"
            return f"{shown}, đạt {rate}" if rate else shown
        if self.kind == "count" and not self.choice:
            return "; ".join(f"{n} {vn.nfc(v).lower()}" for v, n in self.counts.items() if n)
        if self.kind == "count":
            return f"{vn.number(self.value)}/{vn.number(self.base)}"
        return vn.number(self.value)


def number_of(value: Any) -> float | None:
    """A reported value as a number (None when absent or not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    return None


def task_figures(
    catalog: Catalog, task: Task, returns: Iterable[Mapping[str, Any]]
) -> list[Figure]:
    """The task's figures over the given accepted returns' values (keys «1.1.HN_SO»)."""
    rows = list(returns)
    indicators = catalog.indicators_for(task)
    by_code = {i.code: i for i in indicators}
    figures = []
    for ind in indicators:
        kind, arg = summary_of(ind)
        key = f"{task.code}.{ind.code}"
        present = [r[key] for r in rows if key in r and r[key] not in ("", None)]
        if kind in ("sum", "mean"):
            numbers = [n for n in map(number_of, present) if n is not None]
            total = math.fsum(numbers)
            value = total / len(numbers) if kind == "mean" and numbers else total
            figures.append(_figure(task, ind, kind, value, reported=len(numbers)))
        elif kind == "rate" and arg in by_code:
            pairs = [
                (number_of(r.get(key)), number_of(r.get(f"{task.code}.{arg}"))) for r in rows
            ]
            both = [(a, b) for a, b in pairs if a is not None and b is not None]
            figures.append(
                _figure(
                    task,
                    ind,
                    "rate",
                    math.fsum(a for a, _ in both),
                    base=math.fsum(b for _, b in both),
                    reported=len(both),
                )
            )
        elif kind == "count":
            texts = [vn.one_line(v) for v in present]
            if arg:
                chosen = sum(1 for t in texts if t.casefold() == vn.nfc(arg).casefold())
                figures.append(
                    _figure(task, ind, "count", chosen, base=len(texts), choice=arg,
                            reported=len(texts))
                )
            else:
                order = list(catalog.choice_list(ind.choices).values) if ind.choices else []
                counts = {v: sum(1 for t in texts if t == v) for v in order}
                for t in texts:
                    if t not in counts:
                        counts[t] = sum(1 for x in texts if x == t)
                figures.append(
                    _figure(task, ind, "count", len(texts), counts=counts, reported=len(texts))
                )
    return figures


def _figure(
    task: Task,
    ind: Indicator,
    kind: str,
    value: float,
    *,
    base: float = 0.0,
    choice: str = "",
    counts: Mapping[str, int] | None = None,
    reported: int = 0,
) -> Figure:
    return Figure(
        task.code, ind.code, vn.nfc(ind.label), vn.nfc(ind.unit), kind, float(value), float(base),
        choice, dict(counts or {}), reported,
    )


def total_over_tasks(
    catalog: Catalog, code: str, returns: Iterable[Mapping[str, Any]]
) -> float:
    """A common indicator (``VB_SO``) summed over every task of every return."""
    suffix = f".{code}"
    tasks = {t.code for t in catalog.tasks}
    total = 0.0
    for values in returns:
        for key, value in values.items():
            if key.endswith(suffix) and key[: -len(suffix)] in tasks:
                total += number_of(value) or 0.0
    return total
