"""Evaluate: points per task, self-score beside assessed score, total, classification, rank.

The rubric (points per task for each rating group) and the classification
levels (Quy định 366-QĐ/TW by default) come from the master. The secretariat's
assessed score decides where it has typed one; otherwise the unit's own score
stands, marked as not yet assessed. A unit with no accepted return is "không đủ
điều kiện xếp loại" (the settings' ``not_rated``).

Classification of a rated unit, in three steps:

1. **Level.** The first level in catalog order (highest first) whose
   ``min_score`` the total reaches and whose condition holds. Conditions are
   rule expressions (:mod:`dvxl.rules`) over
   :data:`~dvxl.catalog.LEVEL_VARIABLES`; a condition that cannot be decided
   counts as not holding. If no level fits (the lowest level has a condition
   the unit fails), the unit gets the lowest level.
2. **Cap.** A level with ``cap > 0`` holds at most ``floor(cap × N)`` units of
   a rating group, N being the group's units at that level or the next lower
   one ("xuất sắc không quá 20 % số đơn vị xếp hoàn thành tốt trở lên"). The
   excess moves down to the next lower level and is marked ``capped``. Caps
   apply from the highest level down, so a lower level's N counts the units
   already moved into it.
3. **Rank.** Within the rating group, by total descending; equal totals share
   a rank and the next rank skips (1, 2, 2, 4).

Whenever the level is lower than the total alone would give, ``UnitScore.reasons``
says why in Vietnamese (a condition not met, with the values that failed it; a cap),
so that the evaluation sheet shows the decision instead of re-deriving it.

The names and fields below are a contract other stages rely on.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from dvxl import rules
from dvxl.catalog import LEVEL_VARIABLES
from dvxl.model import Catalog, Level, Period, Unit

#: Totals closer than this are equal (for ranks and for who goes first under a cap).
TOLERANCE = 1e-9

#: The status value that counts a task as not started (``so_nhiem_vu_chua_trien_khai``).
NOT_STARTED = "Chưa triển khai"


@dataclass(frozen=True)
class Assessment:
    """One line the secretariat typed in the master's assessment sheet."""

    period: str
    unit: str
    task: str
    score: float | None
    comment: str = ""


@dataclass(frozen=True)
class Accepted:
    """What evaluation needs of a unit's accepted return."""

    unit: str
    values: dict[str, object]  # "1.1.TU_CHAM" -> 22.5, "1.1.TRANG_THAI" -> "Đã triển khai", ...
    received: dt.datetime
    errors: int = 0  # errors left in the accepted file (0 for an accepted one today)


@dataclass
class TaskScore:
    task: str
    points: float  # the rubric's maximum for the unit's rating group
    self_score: float | None
    assessed: float | None
    comment: str = ""

    @property
    def decided(self) -> float | None:
        """The score that counts: the assessed one when typed, else the unit's own."""
        return self.assessed if self.assessed is not None else self.self_score


@dataclass
class UnitScore:
    unit: str
    group: str  # the rating group (the unit's first group)
    tasks: list[TaskScore] = field(default_factory=list)
    total: float | None = None  # None when not rated
    level_code: str = ""  # "" when not rated
    level: str = ""  # the level's name, or settings.not_rated
    rank: int | None = None  # within the rating group; ties share a rank (1, 2, 2, 4)
    capped: bool = False  # moved down a level by a level's cap
    rated: bool = False
    days_late: int = 0
    variables: dict[str, float] = field(default_factory=dict)  # the LEVEL_VARIABLES used
    # Why the level is below what the total alone gives (Vietnamese, one line each).
    reasons: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    units: list[UnitScore]  # in roster order, every addressed unit
    # group code -> level name -> count (every level and not_rated present, zeros included)
    counts: dict[str, dict[str, int]]


def evaluate(
    catalog: Catalog,
    period: Period,
    accepted: dict[str, Accepted],
    assessments: list[Assessment],
) -> Evaluation:
    """Score and classify every addressed unit for ``period``.

    ``accepted`` maps a unit code to its accepted return; a unit missing from it
    is not rated. Assessments of other periods are ignored; when the sheet has
    two lines for the same unit and task, the later one counts.
    """
    typed = {(a.unit, a.task): a for a in assessments if a.period == period.code}
    units = [
        _score_unit(catalog, period, unit, accepted.get(unit.code), typed)
        for unit in catalog.addressed_units()
    ]
    for members in _by_group(units).values():
        rated = [u for u in members if u.rated]
        _apply_caps(catalog.levels, rated)
        _rank(rated)
    return Evaluation(units, _counts(catalog, units))


def _score_unit(
    catalog: Catalog,
    period: Period,
    unit: Unit,
    ret: Accepted | None,
    typed: dict[tuple[str, str], Assessment],
) -> UnitScore:
    group = unit.rating_group
    values = ret.values if ret is not None else {}
    tasks = []
    for task in catalog.tasks_for(unit):
        assessment = typed.get((unit.code, task.code))
        tasks.append(
            TaskScore(
                task=task.code,
                points=float(catalog.points(group, task.code) or 0),
                self_score=_number(values.get(f"{task.code}.TU_CHAM")),
                assessed=assessment.score if assessment is not None else None,
                comment=assessment.comment if assessment is not None else "",
            )
        )
    result = UnitScore(unit.code, group, tasks)
    if ret is None:
        result.level = catalog.settings.not_rated
        return result

    total = sum(t.decided or 0.0 for t in tasks)
    days_late = period.days_late(ret.received)
    result.total = total
    result.rated = True
    result.days_late = days_late
    result.variables = {
        "tong_diem": total,
        "so_ngay_tre": float(days_late),
        "so_loi": float(ret.errors),
        "so_nhiem_vu": float(len(tasks)),
        "so_nhiem_vu_chua_trien_khai": float(
            sum(1 for t in tasks if _norm(values.get(f"{t.task}.TRANG_THAI")) == _NOT_STARTED)
        ),
        # A task with no score at all counts as 0, so as under half.
        "so_nhiem_vu_duoi_50": float(
            sum(1 for t in tasks if (t.decided or 0.0) < t.points / 2 - TOLERANCE)
        ),
    }
    level = _classify(catalog.levels, total, result.variables, result.reasons)
    result.level_code, result.level = level.code, level.name
    return result


def _classify(levels: Iterable[Level], total: float, variables: dict[str, float],
              reasons: list[str]) -> Level:
    """The first level (highest first) the total reaches and whose condition holds.

    Each level the total reaches but whose condition fails adds a line to ``reasons``.
    """
    last: Level | None = None
    for level in levels:
        last = level
        if total < level.min_score - TOLERANCE:
            continue
        if level.condition:
            node = rules.parse(level.condition)
            if rules.evaluate(node, variables) is not True:
                reasons.append(f"Đủ điểm mức «{level.name}» (từ {_points(level.min_score)} "
                               f"điểm) nhưng chưa đạt điều kiện: {_failed(node, variables)}")
                continue
        return level
    assert last is not None, "a catalog has at least one level"
    return last


def _failed(node: rules.Node, variables: dict[str, float]) -> str:
    """The parts of a condition that do not hold, as the values they are about."""
    parts = list(node.operands) if isinstance(node, rules.BoolOp) and node.op == "and" else [node]
    failing = [p for p in parts if rules.evaluate(p, variables) is not True] or parts
    used = {n for p in failing for n in rules.names(p)}
    shown = [f"{_describe(n)} là {_points(variables[n])}"
             for n in LEVEL_VARIABLES if n in used and n in variables]
    return "; ".join(shown) or "điều kiện của mức không thỏa mãn"


def _describe(name: str) -> str:
    """A level variable's description without its parenthesis: «số ngày nộp báo cáo trễ hạn»."""
    return LEVEL_VARIABLES.get(name, name).split(" (")[0]


def _points(value: float) -> str:
    """90 as «90», 12.5 as «12,5» (Vietnamese decimal comma)."""
    return f"{value:g}".replace(".", ",")


def _apply_caps(levels: tuple[Level, ...], rated: list[UnitScore]) -> None:
    """Move the units over each level's cap down one level, lowest totals first.

    ``rated`` is one rating group's rated units. The allowance is
    ``floor(cap × N)``, N the units at the level or the next lower one; among
    the units at the level, the highest totals keep it (equal totals: the
    smaller unit code first). A cap on the lowest level has nowhere to send
    the excess and is ignored.
    """
    for upper, lower in itertools.pairwise(levels):
        if upper.cap <= 0:
            continue
        at_level = [u for u in rated if u.level_code == upper.code]
        n = len(at_level) + sum(1 for u in rated if u.level_code == lower.code)
        allowed = math.floor(upper.cap * n + TOLERANCE)
        if len(at_level) <= allowed:
            continue
        at_level.sort(key=functools.cmp_to_key(_best_first))
        for unit in at_level[allowed:]:
            unit.level_code, unit.level, unit.capped = lower.code, lower.name, True
            unit.reasons.append(
                f"Đạt mức «{upper.name}» nhưng hạ xuống «{lower.name}» do giới hạn tỷ lệ: "
                f"mức này tối đa {_points(round(upper.cap * 100, 2))}% ({allowed} trong {n} "
                f"đơn vị của nhóm từ mức «{lower.name}» trở lên); đơn vị có tổng điểm cao hơn "
                "được giữ trước")


def _best_first(a: UnitScore, b: UnitScore) -> int:
    """Order by total descending (equal within TOLERANCE), then by unit code."""
    ta, tb = a.total or 0.0, b.total or 0.0
    if abs(ta - tb) > TOLERANCE:
        return -1 if ta > tb else 1
    return (a.unit > b.unit) - (a.unit < b.unit)


def _rank(rated: list[UnitScore]) -> None:
    """Competition ranking: 1 + the number of units with a strictly higher total.

    Counted by bisection in the sorted totals, so a group of thousands of communes does not
    compare every pair (issue #6).
    """
    totals = sorted(unit.total or 0.0 for unit in rated)
    for unit in rated:
        total = unit.total or 0.0
        unit.rank = 1 + len(totals) - bisect.bisect_right(totals, total + TOLERANCE)


def _by_group(units: list[UnitScore]) -> dict[str, list[UnitScore]]:
    groups: dict[str, list[UnitScore]] = {}
    for unit in units:
        groups.setdefault(unit.group, []).append(unit)
    return groups


def _counts(catalog: Catalog, units: list[UnitScore]) -> dict[str, dict[str, int]]:
    """Units per level for every rating group that has addressed units, in catalog order."""
    names = [level.name for level in catalog.levels] + [catalog.settings.not_rated]
    present = {unit.group for unit in units}
    order = [g.code for g in catalog.groups if g.code in present]
    order += sorted(present - set(order))  # a group missing from the catalog's list, if any
    counts = {group: dict.fromkeys(names, 0) for group in order}
    for unit in units:
        counts[unit.group][unit.level] += 1
    return counts


def _number(value: object) -> float | None:
    """A self-score as a float; None when absent or not a number ("12,5" is 12.5)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _norm(value: object) -> str:
    return unicodedata.normalize("NFC", str(value or "")).strip().casefold()


_NOT_STARTED = _norm(NOT_STARTED)
