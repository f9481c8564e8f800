"""Merge: from the ledger's receipts to what the consolidated workbook shows.

For each addressed unit the accepted return is its latest receipt without
errors (by time received); older accepted ones are superseded, and what the
newer one changed is listed. A unit's return proven by its signature is never
replaced by an unproven one (:func:`dvxl.seal.proven`, issue 14). Tracking
follows DHIS2's reporting-rate ideas: expected, received, valid, on time or
late by N days, missing. Everything here is plain data; :mod:`dvxl.render`
writes it.

A receipt's time is the ledger's (an e-mail's receipt time, else the file's date); a
time the secretariat typed in the master for the unit and period replaces the file's
date, never an e-mail's (:mod:`dvxl.receipt_time`). The typed times are read from the
master at every merge, never stored, so they survive every re-merge.

The secretariat's review (:mod:`dvxl.review`) has the last word on a valid return: a
returned one counts as not valid (tracked as «Không hợp lệ» with the reason, and chased);
an accepted one is locked against later files until it is reopened; with the master's
option «Chỉ tổng hợp báo cáo đã duyệt» only accepted returns reach the figures and the
report (tracking still shows every valid return).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from dvxl import review
from dvxl.intake import Decision, Receipt
from dvxl.model import Catalog, Period, Unit
from dvxl.receipt_time import FILE, FROM_MAIL, LABELS, OWN_RECEIPT, TYPED, TypedReceipt
from dvxl.review import Review
from dvxl.score import Accepted, Assessment, Evaluation, evaluate
from dvxl.statuses import ReviewState, TrackStatus


@dataclass
class Submission:
    """A unit's accepted return for the period."""

    unit: str
    name: str
    sha256: str
    received: dt.datetime
    values: dict[str, Any]
    warnings: int
    superseded: list[str] = field(default_factory=list)  # names of older accepted returns
    received_from: str = FILE  # a dvxl.receipt_time source


@dataclass
class Track:
    """One row of the tracking sheet: where a unit stands for the period."""

    unit: Unit
    status: TrackStatus
    days_late: int
    files: int  # receipts from this unit for the period
    last_received: dt.datetime | None
    last_name: str
    errors: int  # errors in its latest file (when that file was not accepted)
    note: str  # what is still missing, in Vietnamese
    received_from: str = ""  # where last_received comes from (dvxl.receipt_time); "" if none
    typed_note: str = ""  # the secretariat's note beside a typed receipt time
    review: Review | None = None  # the secretariat's review of its valid return, if it has one

    @property
    def review_label(self) -> str:
        """«Đã duyệt», «Chờ duyệt», «Trả lại»; "" without a valid return."""
        return self.review.state.label if self.review is not None else ""

    @property
    def returned(self) -> bool:
        """Its valid return was sent back by the secretariat (a reminder is due)."""
        return self.review is not None and self.review.state is ReviewState.RETURNED

    @property
    def needs_reminder(self) -> bool:
        return self.status in (TrackStatus.INVALID, TrackStatus.MISSING)

    @property
    def received_label(self) -> str:
        """Where the receipt time comes from, in words; a typed one says it was corrected."""
        if not self.received_from:
            return ""
        label = LABELS.get(self.received_from, self.received_from)
        if self.received_from == TYPED:
            label = "Văn phòng sửa" + (f": {self.typed_note}" if self.typed_note else "")
        return label


@dataclass
class Change:
    """A value a resubmission changed."""

    unit: str
    key: str
    old: Any
    new: Any
    old_file: str
    new_file: str


@dataclass
class GroupCount:
    """Reporting figures of one rating group (DHIS2: expected, actual, on time)."""

    group: str
    name: str
    expected: int
    received: int
    valid: int
    on_time: int
    late: int
    invalid: int
    missing: int


@dataclass
class Consolidated:
    catalog: Catalog
    period: Period
    generated: dt.datetime
    submissions: dict[str, Submission]
    tracking: list[Track]
    changes: list[Change]
    evaluation: Evaluation
    groups: list[GroupCount]


def consolidate(
    catalog: Catalog,
    period: Period,
    receipts: list[Receipt],
    assessments: list[Assessment],
    generated: dt.datetime | None = None,
    typed: list[TypedReceipt] | None = None,
    decisions: list[Decision] | None = None,
) -> Consolidated:
    """Decide each unit's accepted return, track every unit, evaluate, count by group.

    ``typed``: receipt times the secretariat typed in the master (any period; the last row
    of a unit and period counts). ``decisions``: the secretariat's review decisions, oldest
    first (:mod:`dvxl.review`; those of other periods are ignored).
    """
    units = catalog.addressed_units()
    by_unit: dict[str, list[Receipt]] = {u.code: [] for u in units}
    corrections = {t.unit: t for t in typed or [] if t.period == period.code}
    for receipt in receipts:
        if receipt.unit in by_unit:
            by_unit[receipt.unit].append(_corrected(receipt, corrections.get(receipt.unit)))
    decided: dict[str, list[Decision]] = {}
    for decision in decisions or []:
        if decision.period == period.code:
            decided.setdefault(decision.unit, []).append(decision)
    only_accepted = catalog.settings.only_accepted
    submissions: dict[str, Submission] = {}
    tracking: list[Track] = []
    changes: list[Change] = []
    for unit in units:
        own = sorted(by_unit[unit.code], key=lambda r: (r.received, r.id))
        accepted = [r for r in own if r.mergeable]
        if any(r.proven for r in accepted):  # an unproven return never replaces a proven one
            accepted = [r for r in accepted if r.proven]
        resolved = review.resolve(accepted, decided.get(unit.code, []))
        state: Review | None = None
        if resolved is not None:
            current, state = resolved
            earlier = accepted[: accepted.index(current)]
            submission = Submission(
                unit.code, current.name, current.sha256, current.received, current.values,
                current.warnings, [r.name for r in earlier], current.received_from)
            if state.state is ReviewState.RETURNED:
                track = _returned(unit, own, current, state.reason, period)
            else:
                track = _track(unit, own, submission, period)
                if earlier:
                    changes += _changes(unit.code, earlier[-1], current)
                if not only_accepted or state.state is ReviewState.ACCEPTED:
                    submissions[unit.code] = submission
            track.note = _with_review_note(track.note, state, only_accepted)
        else:
            track = _track(unit, own, None, period)
        track.review = state
        if track.received_from == TYPED:
            track.typed_note = corrections[unit.code].note
        tracking.append(track)
    evaluation = evaluate(
        catalog, period,
        {code: Accepted(code, s.values, s.received) for code, s in submissions.items()},
        assessments)
    return Consolidated(catalog, period, generated or dt.datetime.now(), submissions, tracking,
                        changes, evaluation, _group_counts(catalog, tracking))


def _corrected(receipt: Receipt, typed: TypedReceipt | None) -> Receipt:
    """The receipt with the typed time in place of its file's date (an e-mail's or the
    upload page's stays)."""
    if typed is None or receipt.received_from in OWN_RECEIPT:
        return receipt
    return replace(receipt, received=typed.received, received_from=TYPED)


def unused_typed(typed: list[TypedReceipt], receipts: list[Receipt]) -> list[str]:
    """Typed receipt times that change nothing because every file of that unit and period
    came by e-mail (whose own receipt time counts), in Vietnamese, for the secretariat."""
    by_key: dict[tuple[str, str], list[Receipt]] = {}
    for receipt in receipts:
        by_key.setdefault((receipt.period, receipt.unit), []).append(receipt)
    problems = []
    for row in typed:
        own = by_key.get((row.period, row.unit), [])
        if own and all(r.received_from in FROM_MAIL for r in own):
            first = min(own, key=lambda r: r.received)
            problems.append(
                f"{row.where}: đơn vị «{row.unit}» gửi báo cáo kỳ «{row.period}» qua thư điện "
                f"tử, nhận lúc {first.received:%H:%M} ngày {first.received:%d/%m/%Y} "
                f"({LABELS[first.received_from].lower()}); thời điểm trong thư được dùng, "
                "không dùng thời điểm nhập ở dòng này")
    return problems


def _track(unit: Unit, own: list[Receipt], accepted: Submission | None, period: Period) -> Track:
    last = own[-1] if own else None
    if accepted is not None:
        days = period.days_late(accepted.received)
        status = TrackStatus.LATE if days else TrackStatus.ON_TIME
        note = f"Nộp muộn {days} ngày" if days else ""
        if last is not None and last.sha256 != accepted.sha256 and not last.mergeable:
            note = (note + "; " if note else "") + (
                f"tệp gửi sau «{last.name}» còn {last.errors} lỗi, đang dùng tệp trước")
        elif last is not None and last.sha256 != accepted.sha256 and not last.proven:
            note = (note + "; " if note else "") + (
                f"tệp gửi sau «{last.name}» không có chữ ký xác thực của mẫu nên không thay "
                "tệp đã xác thực, đang dùng tệp trước")
        return Track(unit, status, days, len(own), accepted.received, accepted.name, 0, note,
                     accepted.received_from)
    if last is None:
        return Track(unit, TrackStatus.MISSING, 0, 0, None, "", 0, "Chưa nộp báo cáo")
    codes = Counter(f["code"] for f in last.findings if f.get("severity") == "error")
    shown = ", ".join(f"{code} ×{n}" if n > 1 else code for code, n in sorted(codes.items()))
    note = f"Tệp «{last.name}» còn {last.errors} lỗi ({shown}): cần sửa và gửi lại"
    if not last.unit or not last.format:
        note = f"Tệp «{last.name}» không đọc được: cần gửi lại đúng mẫu"
    return Track(unit, TrackStatus.INVALID, period.days_late(last.received), len(own),
                 last.received, last.name, last.errors, note, last.received_from)


def _returned(unit: Unit, own: list[Receipt], current: Receipt, reason: str,
              period: Period) -> Track:
    """The track of a unit whose valid return the secretariat sent back: not yet valid."""
    return Track(unit, TrackStatus.INVALID, period.days_late(current.received), len(own),
                 current.received, current.name, 0, f"Văn phòng trả lại: {reason}",
                 current.received_from)


def _with_review_note(note: str, state: Review, only_accepted: bool) -> str:
    """The tracking note with what the review adds: a locked return's held-back files, or
    a return left out of the figures until it is accepted."""
    extra = ""
    if state.state is ReviewState.ACCEPTED and state.held:
        shown = ", ".join(f"«{name}»" for name in state.held)
        extra = (f"đã duyệt tệp «{state.name}»; tệp gửi sau {shown} được ghi nhận nhưng chưa "
                 "thay thế (văn phòng mở lại duyệt để dùng)")
    elif state.state is ReviewState.WAITING and only_accepted:
        extra = "chưa duyệt: chưa đưa vào số liệu tổng hợp"
    if not extra:
        return note
    return f"{note}; {extra}" if note else extra[0].upper() + extra[1:]


def _changes(unit: str, old: Receipt, new: Receipt) -> list[Change]:
    keys = list(new.values) + [k for k in old.values if k not in new.values]
    return [Change(unit, key, old.values.get(key), new.values.get(key), old.name, new.name)
            for key in keys if old.values.get(key) != new.values.get(key)]


def _group_counts(catalog: Catalog, tracking: list[Track]) -> list[GroupCount]:
    rows = []
    for group in catalog.groups:
        tracks = [t for t in tracking if t.unit.rating_group == group.code]
        if not tracks:
            continue
        count = count_tracks(tracks)
        on_time, late = count[TrackStatus.ON_TIME], count[TrackStatus.LATE]
        rows.append(GroupCount(
            group.code, group.name, len(tracks),
            received=sum(1 for t in tracks if t.files),
            valid=on_time + late, on_time=on_time, late=late,
            invalid=count[TrackStatus.INVALID], missing=count[TrackStatus.MISSING]))
    return rows


def count_tracks(tracking: Iterable[Track]) -> dict[TrackStatus, int]:
    """Units per tracking status: every status, in :class:`TrackStatus` order, 0 when none.

    The one count of tracking statuses: the figures by group here, the period workbook,
    the terminal table, the command line and the Excel button show it.
    """
    counts = dict.fromkeys(TrackStatus, 0)
    for track in tracking:
        counts[track.status] += 1
    return counts
