"""Statuses: a stable ASCII code inside, one Vietnamese label for people."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

import pytest

from dvxl.statuses import FileStatus, TrackStatus, tally


@pytest.mark.parametrize("kind", [FileStatus, TrackStatus], ids=["file", "track"])
def test_every_status_has_a_code_and_its_own_vietnamese_label(kind: type[Enum]) -> None:
    codes = [status.value for status in kind]
    labels = [status.label for status in kind]  # type: ignore[attr-defined]
    assert all(re.fullmatch(r"[a-z_]+", code) for code in codes)
    assert len(set(labels)) == len(labels)
    assert all(label and unicodedata.is_normalized("NFC", label) for label in labels)


def test_a_status_is_not_text() -> None:
    # So that writing one where a label belongs is a type error, not "FileStatus.VALID".
    assert not isinstance(FileStatus.VALID, str) and not isinstance(TrackStatus.LATE, str)


def test_a_file_status_is_found_by_its_label() -> None:
    assert [FileStatus.from_label(s.label) for s in FileStatus] == list(FileStatus)
    with pytest.raises(KeyError):
        FileStatus.from_label("valid")


def test_tally_lists_the_counted_statuses_in_their_order() -> None:
    counts = {TrackStatus.ON_TIME: 24, TrackStatus.LATE: 0, TrackStatus.INVALID: 7,
              TrackStatus.MISSING: 3}
    assert tally(counts) == "24 đúng hạn, 7 không hợp lệ, 3 chưa nộp"
    assert tally(dict.fromkeys(FileStatus, 0)) == ""
