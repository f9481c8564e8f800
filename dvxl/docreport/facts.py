"""The report's one door into the consolidated data: plain facts per unit and period.

Everything the report says about a period comes through :func:`period_facts`,
which reads a :class:`dvxl.merge.Consolidated` (tracking, accepted returns,
evaluation) and nothing else. When the merge or evaluation stages rename a field
or a status, this module is the one place to follow them; the rest of
:mod:`dvxl.docreport` knows only the dataclasses below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dvxl.merge import Consolidated
from dvxl.model import Catalog, Period
from dvxl.statuses import TrackStatus

#: Tracking statuses as the report knows them: the stable codes of the merge stage's.
ON_TIME, LATE, INVALID, MISSING = (
    TrackStatus.ON_TIME.value, TrackStatus.LATE.value, TrackStatus.INVALID.value,
    TrackStatus.MISSING.value,
)
#: The Vietnamese words for them, as the report prints them.
STATUS_LABELS = {
    ON_TIME: "Đúng hạn",
    LATE: "Nộp muộn",
    INVALID: "Chưa hợp lệ",
    MISSING: "Chưa gửi",
}


@dataclass(frozen=True)
class UnitFacts:
    """Where one addressed unit stands for a period, and what its accepted return says."""

    code: str
    name: str
    groups: tuple[str, ...]
    status: str  # ON_TIME | LATE | INVALID | MISSING
    days_late: int
    files: int  # files received from it for the period
    last_received: dt.datetime | None
    last_name: str
    note: str
    values: Mapping[str, Any] = field(default_factory=dict)  # "1.1.HN_SO" -> 12; {} if none
    superseded: tuple[str, ...] = ()  # names of its earlier accepted files
    rated: bool = False
    self_total: float | None = None  # the unit's own scores, summed
    total: float | None = None  # the score that decides (assessed where typed)
    assessed: int = 0  # tasks with an assessed score
    level: str = ""  # its class, or the «not rated» name
    rank: int | None = None

    @property
    def rating_group(self) -> str:
        return self.groups[0]

    @property
    def reported(self) -> bool:
        """It has an accepted return for the period."""
        return self.status in (ON_TIME, LATE)


@dataclass(frozen=True)
class PeriodFacts:
    """A period as the report sees it: every addressed unit in roster order."""

    period: Period
    generated: dt.datetime  # the newest receipt's recording time
    units: tuple[UnitFacts, ...]
    has_receipts: bool

    def reported(self) -> list[UnitFacts]:
        return [u for u in self.units if u.reported]

    def with_status(self, status: str) -> list[UnitFacts]:
        return [u for u in self.units if u.status == status]


def period_facts(consolidated: Consolidated) -> PeriodFacts:
    """The facts of the consolidated period (the only function reading :mod:`dvxl.merge`)."""
    scores = {s.unit: s for s in consolidated.evaluation.units}
    units = []
    for track in consolidated.tracking:
        unit = track.unit
        accepted = consolidated.submissions.get(unit.code)
        score = scores.get(unit.code)
        self_total = None
        if score is not None and score.rated:
            self_total = sum(t.self_score or 0.0 for t in score.tasks)
        units.append(
            UnitFacts(
                code=unit.code,
                name=unit.name,
                groups=unit.groups,
                status=track.status.value,
                days_late=track.days_late,
                files=track.files,
                last_received=track.last_received,
                last_name=track.last_name,
                note=track.note,
                values=dict(accepted.values) if accepted is not None else {},
                superseded=tuple(accepted.superseded) if accepted is not None else (),
                rated=bool(score and score.rated),
                self_total=self_total,
                total=score.total if score is not None else None,
                assessed=sum(1 for t in score.tasks if t.assessed is not None) if score else 0,
                level=score.level if score is not None else "",
                rank=score.rank if score is not None else None,
            )
        )
    return PeriodFacts(
        consolidated.period,
        consolidated.generated,
        tuple(units),
        has_receipts=any(t.files for t in consolidated.tracking),
    )


def comparison_periods(catalog: Catalog, period: Period) -> tuple[Period | None, Period | None]:
    """The previous period and the same period a year earlier, as the catalog has them.

    Previous: the latest period that ends before this one starts. A year earlier: the
    period whose start and end both fall a year (± 3 days) before this one's.
    """
    before = [p for p in catalog.periods if p.end < period.start]
    previous = max(before, key=lambda p: (p.end, p.start), default=None)
    year_ago = next(
        (
            p
            for p in catalog.periods
            if _about(p.start, _year_before(period.start))
            and _about(p.end, _year_before(period.end))
        ),
        None,
    )
    return previous, year_ago


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _about(a: dt.date, b: dt.date) -> bool:
    return abs((a - b).days) <= 3
