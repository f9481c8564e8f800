"""The statuses of a received file, of a unit's tracking and of the secretariat's review:
stable codes, Vietnamese labels.

Inside dvxl a status is a member of :class:`FileStatus` (decided by
:mod:`dvxl.validate`), :class:`TrackStatus` (decided by :mod:`dvxl.merge`) or
:class:`ReviewState` (decided by the secretariat, :mod:`dvxl.review`), whose value is a
stable ASCII code that programs read (the validation JSON's ``status_code`` and
``counts_by_code``). Its Vietnamese :attr:`label` («Hợp lệ», «Nộp muộn») is for people
only: the sheets, the terminal, the Excel buttons' messages, and the JSON fields kept
for readers of its first version (``status``, ``counts``). Members are plain
:class:`~enum.Enum`, not ``str``: writing one where text is expected is an error mypy
reports, not a code that lands in a cell.

The enumeration order is the order every list of them is shown in.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class FileStatus(Enum):
    """What became of one received file."""

    VALID = "valid"  # identified, current, no error nor warning: merged
    WARNINGS = "warnings"  # merged, with warnings
    ERRORS = "errors"  # identified, with errors: not merged
    UNREADABLE = "unreadable"  # refused by the reader (not a spreadsheet, corrupt, …)
    SUPERSEDED = "superseded"  # a newer file of the same unit in the batch is used instead
    IGNORED = "ignored"  # Excel's own lock file (~$…): not a submission

    @property
    def label(self) -> str:
        """How the secretariat reads it."""
        return _FILE_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> FileStatus:
        """The status a label names (the ledger stores labels); ``KeyError`` if none."""
        return _FILE_BY_LABEL[label]


class TrackStatus(Enum):
    """Where an addressed unit stands for a period (DHIS2: on time, late, …)."""

    ON_TIME = "on_time"
    LATE = "late"
    INVALID = "invalid"  # sent, but no return of it could be accepted
    MISSING = "missing"  # nothing received

    @property
    def label(self) -> str:
        """How the secretariat reads it."""
        return _TRACK_LABELS[self]


class ReviewState(Enum):
    """The secretariat's review of a unit's valid return (issue 16; DHIS2's approval)."""

    WAITING = "waiting"  # not decided yet, reopened, or a newer file came since
    ACCEPTED = "accepted"  # locked: a later file does not replace it until reopened
    RETURNED = "returned"  # sent back with a reason: counts as not yet valid

    @property
    def label(self) -> str:
        """How the secretariat reads it (and types it in the master's dropdown)."""
        return _REVIEW_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> ReviewState:
        """The state a label names (letter case and spaces aside); ``KeyError`` if none."""
        return _REVIEW_BY_LABEL[" ".join(label.split()).casefold()]


_FILE_LABELS = {
    FileStatus.VALID: "Hợp lệ",
    FileStatus.WARNINGS: "Có cảnh báo",
    FileStatus.ERRORS: "Có lỗi",
    FileStatus.UNREADABLE: "Không đọc được",
    FileStatus.SUPERSEDED: "Bị thay thế",
    FileStatus.IGNORED: "Bỏ qua",
}
_FILE_BY_LABEL = {label: status for status, label in _FILE_LABELS.items()}
_TRACK_LABELS = {
    TrackStatus.ON_TIME: "Đúng hạn",
    TrackStatus.LATE: "Nộp muộn",
    TrackStatus.INVALID: "Không hợp lệ",
    TrackStatus.MISSING: "Chưa nộp",
}

_REVIEW_LABELS = {
    ReviewState.WAITING: "Chờ duyệt",
    ReviewState.ACCEPTED: "Đã duyệt",
    ReviewState.RETURNED: "Trả lại",
}
_REVIEW_BY_LABEL = {label.casefold(): state for state, label in _REVIEW_LABELS.items()}


def tally(counts: Mapping[FileStatus, int] | Mapping[TrackStatus, int]) -> str:
    """«26 hợp lệ, 1 có cảnh báo»: the statuses counted at least once, in their order."""
    return ", ".join(f"{n} {status.label.lower()}" for status, n in counts.items() if n)
