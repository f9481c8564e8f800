"""The secretariat's review of each valid return: waiting, accepted, returned (issue 16).

Section 4 of the directive gives the Ban Dân vận «kiểm tra» as well as «theo dõi, đôn
đốc»: a valid return is not final until the secretariat accepts it, and it can be sent
back with a reason. DHIS2's data approval is the model.

Decisions come from ``dvxl review UNIT --accept | --return "lý do" | --reopen`` and from the
master's sheet «Duyệt báo cáo» (read on every merge). Both become rows of the ledger's
``reviews`` table (:class:`dvxl.intake.Decision`), never changed afterwards: the history of
who decided what, and when. Each decision names the return it was about (its SHA-256).

Where a unit stands (:func:`resolve`) follows from its valid returns and its decisions,
the latest decision (by time) first:

* the latest decision accepted a return the unit still has: that return is *locked*; a
  later file is recorded but does not replace it until the secretariat reopens it;
* otherwise the unit's newest valid return is the current one; its state is the latest
  decision's when that decision was about this very return, else waiting — so a new file
  from a returned unit is waiting again.

A sheet row is a decision at the time of the merge that first reads it changed
(:func:`changed_rows`): an unchanged row never overrides a later ``dvxl review``, and a
changed row overrides an earlier one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dvxl.statuses import ReviewState

if TYPE_CHECKING:
    from dvxl.intake import Decision, Receipt

CLI, SHEET = "cli", "sheet"  # where a decision was made (Decision.source)


@dataclass(frozen=True)
class Review:
    """Where the review of a unit's current valid return stands."""

    state: ReviewState
    sha256: str  # the return the state is about
    name: str  # its file name
    reason: str = ""  # why it was returned
    decided_by: str = ""
    decided: dt.datetime | None = None  # None: never decided on (waiting)
    source: str = ""
    held: tuple[str, ...] = ()  # later valid files an accepted (locked) return holds back

    @property
    def who_when(self) -> str:
        """«Nguyễn Văn A, 01/12/2026 09:30» ("" when nobody decided)."""
        if self.decided is None:
            return ""
        by = self.decided_by or ("sổ tổng hợp" if self.source == SHEET else "")
        stamp = f"{self.decided:%d/%m/%Y %H:%M}"
        return f"{by}, {stamp}" if by else stamp


@dataclass(frozen=True)
class TypedReview:
    """A row of the master's «Duyệt báo cáo» with a state chosen."""

    period: str
    unit: str
    state: ReviewState
    reason: str
    decided_by: str
    where: str  # «Trang tính «Duyệt báo cáo», dòng 5», for messages


def resolve(mergeable: Sequence[Receipt], decisions: Sequence[Decision]
            ) -> tuple[Receipt, Review] | None:
    """The unit's current valid return and its review; None when it has no valid return.

    ``mergeable``: the unit's receipts without errors, oldest first (as merge orders them);
    ``decisions``: its decisions for the period, oldest first.
    """
    if not mergeable:
        return None
    latest = decisions[-1] if decisions else None
    if latest is not None and latest.state == ReviewState.ACCEPTED.value:
        for i, receipt in enumerate(mergeable):
            if receipt.sha256 == latest.sha256:  # locked
                held = tuple(r.name for r in mergeable[i + 1:])
                return receipt, _review(ReviewState.ACCEPTED, receipt, latest, held)
    current = mergeable[-1]
    if latest is not None and latest.sha256 == current.sha256:
        return current, _review(ReviewState(latest.state), current, latest)
    return current, Review(ReviewState.WAITING, current.sha256, current.name)


def accepted(decisions: Sequence[Decision]) -> dict[tuple[str, str], str]:
    """(period, unit) -> the SHA-256 of the return the secretariat accepted and has not
    reopened since: its latest decision (``decisions`` oldest first)."""
    latest = {(d.period, d.unit): d for d in decisions}
    return {key: d.sha256 for key, d in latest.items() if d.state == ReviewState.ACCEPTED.value}


def _review(state: ReviewState, receipt: Receipt, decision: Decision,
            held: tuple[str, ...] = ()) -> Review:
    return Review(state, receipt.sha256, receipt.name, decision.reason, decision.decided_by,
                  decision.decided, decision.source, held)


def changed_rows(rows: Sequence[TypedReview], decisions: Sequence[Decision]) -> list[TypedReview]:
    """The sheet's rows that differ from what the sheet said last (its latest recorded
    decision for the same period and unit): the ones to record now.

    The later of two rows for one period and unit counts (the reader reports the other).
    """
    last: dict[tuple[str, str], tuple[str, str, str]] = {}
    for d in decisions:
        if d.source == SHEET:
            last[(d.period, d.unit)] = (d.state, d.reason, d.decided_by)
    wanted = {(row.period, row.unit): row for row in rows}
    return [row for key, row in wanted.items()
            if last.get(key) != (row.state.value, row.reason, row.decided_by)]
