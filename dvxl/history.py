"""The periods side by side: what the ledger holds for each period it has returns for.

The period workbook's «So sánh các kỳ» sheet (:mod:`dvxl.comparesheet`), the section
«Qua các kỳ» of each unit's sheet and ``dvxl history UNIT`` read a :class:`History`: the
facts of each period (:mod:`dvxl.docreport.facts`), consolidated from the ledger exactly
as that period's own workbook and report are, oldest first. Key figures are summed up
by :func:`dvxl.docreport.content.figures_of`, as the report sums them: one summing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dvxl.docreport.content import figures_of
from dvxl.docreport.facts import LATE, ON_TIME, PeriodFacts, UnitFacts
from dvxl.docreport.figures import Figure
from dvxl.model import Catalog, Period


@dataclass(frozen=True)
class UnitRecord:
    """One unit in one period: None facts when the period did not address it."""

    period: Period
    facts: UnitFacts | None


@dataclass(frozen=True)
class History:
    """The facts of several periods, oldest first; the period being written last."""

    catalog: Catalog
    periods: tuple[PeriodFacts, ...]

    @property
    def current(self) -> PeriodFacts:
        return self.periods[-1]

    def figures(self) -> list[dict[str, Figure]]:
        """Each period's key figures per task, keyed «1.1.HN_SO» (the report's summing)."""
        return [figures_of(self.catalog, facts) for facts in self.periods]

    def unit(self, code: str) -> list[UnitRecord]:
        """The unit's record in every period of the history."""
        records = []
        for facts in self.periods:
            found = next((u for u in facts.units if u.code == code), None)
            records.append(UnitRecord(facts.period, found))
        return records


@dataclass(frozen=True)
class Rates:
    """How a period's units reported, as the comparison counts it."""

    addressed: int
    reported: int  # with an accepted return (on time or late)
    on_time: int
    late: int


def rates(facts: PeriodFacts) -> Rates:
    return Rates(
        len(facts.units),
        len(facts.reported()),
        len(facts.with_status(ON_TIME)),
        len(facts.with_status(LATE)),
    )


def _order(period: Period) -> tuple[object, ...]:
    return (period.end, period.start, period.code)


def earlier(
    catalog: Catalog, period: Period, recorded: Iterable[str], since: Period | None = None
) -> list[Period]:
    """The periods the ledger has returns for that end before ``period`` ends (and start
    no earlier than ``since`` starts), oldest first."""
    codes = set(recorded)
    found = [
        p
        for p in catalog.periods
        if p.code in codes
        and p.code != period.code
        and p.end < period.end
        and (since is None or p.start >= since.start)
    ]
    return sorted(found, key=_order)


def recorded_in_order(catalog: Catalog, recorded: Iterable[str]) -> list[Period]:
    """The catalog's periods the ledger has returns for, oldest first."""
    codes = set(recorded)
    return sorted((p for p in catalog.periods if p.code in codes), key=_order)
