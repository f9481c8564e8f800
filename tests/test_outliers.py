"""Figures that look wrong (dvxl.outliers): the scores, their fall-backs, no false alarms.

Pure functions on plain values; tests/test_outliers_ledger.py runs them on a ledger of
real template returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvxl import master, outliers, textio
from dvxl.catalog import build, fingerprint
from dvxl.errors import ConfigError
from dvxl.findings import make
from dvxl.model import Catalog, Period
from dvxl.outliers import (
    HISTORY,
    MODIFIED_Z,
    PEERS,
    RANGE,
    RATIO_METHOD,
    Z_SCORE,
    against,
    find,
    number_text,
)
from dvxl.outliersheet import Flagged, combine, marks_from_rows
from dvxl.validate import FileReport

KEY = "1.1.TT_SO"  # «Số tin, bài tuyên truyền»: a count of task 1.1, no rule on it


def _period(catalog: Catalog, code: str) -> Period:
    return catalog.period(code)


def _group(catalog: Catalog, size: int) -> list[str]:
    """``size`` units of one rating group that all report task 1.1."""
    by_group: dict[str, list[str]] = {}
    for unit in catalog.addressed_units():
        if any(t.code == "1.1" for t in catalog.tasks_for(unit)):
            by_group.setdefault(unit.rating_group, []).append(unit.code)
    members = max(by_group.values(), key=len)
    assert len(members) >= size
    return members[:size]


# The scores ----------------------------------------------------------------------------------


def test_modified_z_flags_a_hundredfold_jump_against_a_long_history() -> None:
    hit = against(1200, [10, 12, 14, 11], 3.5, HISTORY, 11)
    assert hit is not None and hit.method == MODIFIED_Z
    assert hit.reference == 11.5 and hit.spread == 1.0  # median, MAD
    assert hit.score == pytest.approx(0.6745 * (1200 - 11.5) / 1.0)
    assert "trung vị 4 kỳ trước là 11,5" in hit.describe()
    assert against(13, [10, 12, 14, 11], 3.5, HISTORY, 11) is None


def test_a_short_history_compares_with_the_last_period_by_ratio() -> None:
    hit = against(1200, [12], 3.5, HISTORY, 12, "Năm 2025")
    assert hit is not None and hit.method == RATIO_METHOD
    assert hit.score == pytest.approx((1200 + 10) / (12 + 10))
    assert hit.describe() == "kỳ trước (Năm 2025) là 12: chênh 55 lần"
    assert against(30, [12, 20], 3.5, HISTORY, 20) is None  # 40 / 30: a normal change
    assert against(12, [1200, 1180], 3.5, HISTORY, 1180) is not None  # a hundredfold fall


@pytest.mark.parametrize(
    ("history", "value"),
    [([0, 0, 0], 0), ([0, 0, 0, 0], 9), ([5, 5, 5], 6), ([0, 0, 0, 1], 5), ([0], 3), ([0, 0], 0)],
    ids=["all-zero", "zeros-then-small", "constant-then-near", "near-zero-spread", "short-zero",
         "short-all-zero"],
)
def test_zero_spread_alone_never_flags(history: list[float], value: float) -> None:
    assert against(value, history, 3.5, HISTORY, history[-1]) is None


def test_zero_mad_falls_back_to_the_z_score_and_flags_only_a_large_ratio() -> None:
    hit = against(500, [0, 0, 0, 1], 3.5, HISTORY, 1)
    assert hit is not None and hit.method == Z_SCORE
    assert hit.reference == 0.25 and hit.score == pytest.approx(499.75 / math.sqrt(0.1875))
    constant = against(500, [5, 5, 5], 3.5, HISTORY, 5)
    assert constant is not None and constant.method == RATIO_METHOD
    assert constant.describe() == "trung vị 3 kỳ trước là 5: chênh 34 lần"


def test_nothing_to_compare_with_flags_nothing() -> None:
    assert against(10**9, [], 3.5, HISTORY, 0) is None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(x=st.floats(-1e9, 1e9), values=st.lists(st.one_of(st.just(0.0), st.floats(-1e9, 1e9)),
                                                max_size=8))
def test_no_input_divides_by_zero(x: float, values: list[float]) -> None:
    hit = against(x, values, 3.5, PEERS, values[-1] if values else 0.0)
    if hit is not None:
        assert hit.score is not None and math.isfinite(hit.score)
        assert hit.describe()


def test_numbers_are_written_the_vietnamese_way() -> None:
    assert number_text(2500) == "2.500"
    assert number_text(8.4321) == "8,43"
    assert number_text(1234567.5, 1) == "1.234.567,5"


# The figures of a period -------------------------------------------------------------------


def _values(units: list[str], figures: list[float]) -> dict[str, dict[str, float]]:
    return {u: {KEY: v} for u, v in zip(units, figures, strict=True)}


def test_a_planted_jump_is_flagged_against_its_history_and_its_group(
    sample_catalog: Catalog,
) -> None:
    units = _group(sample_catalog, 4)
    earlier = [(_period(sample_catalog, "2025-N"), _values(units, [12, 20, 25, 30])),
               (_period(sample_catalog, "2026-6T"), _values(units, [12, 22, 24, 31]))]
    current = _values(units, [1200, 21, 26, 29])
    found = find(sample_catalog, current, earlier)
    assert [(o.unit, o.key, o.value) for o in found] == [(units[0], KEY, 1200)]
    bases = {c.basis: c for c in found[0].comparisons}
    assert set(bases) == {HISTORY, PEERS}
    assert bases[HISTORY].method == RATIO_METHOD and bases[HISTORY].reference == 12
    assert bases[HISTORY].label == "6 tháng đầu năm 2026"
    assert bases[PEERS].method == MODIFIED_Z and bases[PEERS].reference == 27.5
    assert found[0].score == bases[PEERS].score
    assert found[0].label.startswith("Số tin, bài")


def test_an_all_zero_unit_a_group_of_one_and_a_first_period_raise_no_alarm(
    sample_catalog: Catalog,
) -> None:
    units = _group(sample_catalog, 4)
    zeros = {u: {KEY: 0} for u in units}
    assert find(sample_catalog, zeros, [(_period(sample_catalog, "2025-N"), zeros)]) == []
    alone = {units[0]: {KEY: 10**6}}  # the only unit of its group that reported
    assert find(sample_catalog, alone) == []
    first = _values(units, [3, 40, 25, 17])  # no earlier period: only the group
    assert find(sample_catalog, first) == []


def test_a_small_group_compares_with_the_others_median_by_ratio(sample_catalog: Catalog) -> None:
    units = _group(sample_catalog, 3)
    found = find(sample_catalog, _values(units, [2500, 20, 30]))
    assert [o.unit for o in found] == [units[0]]
    (hit,) = found[0].comparisons
    assert (hit.basis, hit.method, hit.reference, hit.count) == (PEERS, RATIO_METHOD, 30, 3)
    assert hit.describe() == "trung vị nhóm (3 đơn vị, kể cả đơn vị này) là 30: chênh 62,8 lần"
    pair = find(sample_catalog, _values(units[:2], [2500, 20]))  # which one? both are shown
    assert [(o.unit, o.comparisons[0].describe()) for o in pair] == [
        (units[0], "đơn vị còn lại trong nhóm là 20: chênh 83,7 lần"),
        (units[1], "đơn vị còn lại trong nhóm là 2.500: chênh 83,7 lần")]


def test_the_catalogs_range_and_threshold_decide(sample_catalog: Catalog) -> None:
    units = _group(sample_catalog, 6)
    figures = [10, 12, 11, 13, 12, 120]
    assert find(sample_catalog, _values(units, figures)) != []
    ranged = _with(sample_catalog, usual_min=1, usual_max=50, outlier_threshold=1000)
    found = find(ranged, _values(units, figures))
    assert [(o.unit, [c.basis for c in o.comparisons]) for o in found] == [(units[5], [RANGE])]
    assert found[0].score is None
    assert found[0].describe() == "khoảng thường gặp 1–50"


def _with(catalog: Catalog, **fields: float) -> Catalog:
    indicators = tuple(dataclasses.replace(i, **fields) if f"{i.task}.{i.code}" == KEY else i
                       for i in catalog.indicators)
    return dataclasses.replace(catalog, indicators=indicators)


def test_text_and_self_scores_are_not_compared(sample_catalog: Catalog) -> None:
    units = _group(sample_catalog, 4)
    scores = {u: {"1.1.TU_CHAM": v, "1.1.KET_QUA": "x"} for u, v in zip(units, [1, 1, 1, 900],
                                                                           strict=True)}
    assert find(sample_catalog, scores) == []


# The catalog ------------------------------------------------------------------------------


def test_the_usual_range_and_threshold_round_trip_and_leave_templates_valid(
    sample_catalog: Catalog, tmp_path: Path
) -> None:
    ranged = _with(sample_catalog, usual_min=0, usual_max=500, outlier_threshold=3)
    assert fingerprint(ranged) == fingerprint(sample_catalog)
    texts = textio.dump_texts(ranged)
    assert "usual_max: 500" in texts["directive.yaml"]
    assert "usual_min" not in textio.dump_texts(sample_catalog)["directive.yaml"]
    textio.dump_catalog(ranged, tmp_path / "catalog")
    assert textio.load_catalog(tmp_path / "catalog") == ranged
    master.write_master(ranged, tmp_path / "master.xlsm")
    assert master.read_master(tmp_path / "master.xlsm").indicators == ranged.indicators


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [({"usual_min": 9, "usual_max": 1}, "«Thường từ» (9) lớn hơn «Thường đến» (1)"),
     ({"outlier_threshold": 0}, "«Ngưỡng bất thường» phải lớn hơn 0"),
     ({"usual_max": 5, "code_type": "text"}, "không phải số đếm hoặc số thập phân")],
    ids=["range-reversed", "threshold-zero", "range-on-text"],
)
def test_a_wrong_outlier_setting_is_a_config_error(
    sample_catalog: Catalog, fields: dict[str, object], complaint: str
) -> None:
    from dvxl.catalog import Row, to_tables

    tables = to_tables(sample_catalog)
    fields = dict(fields)
    as_text = fields.pop("code_type", None)
    target = next(r for r in tables["indicators"] if f"{r['task']}.{r['code']}" == KEY)
    target.update(fields)
    if as_text:
        target.update(type=as_text, minimum=None, maximum=None, summary="none")
    raw = {key: [Row(f"{key} #{i}", _raw(key, r)) for i, r in enumerate(rows, 1)]
           for key, rows in tables.items()}
    with pytest.raises(ConfigError) as caught:
        build(raw)
    assert any(complaint in p for p in caught.value.problems), caught.value.problems


def _raw(table: str, record: dict[str, object]) -> dict[str, object]:
    from dvxl.schema import TABLE, cell_value

    return {c.field: cell_value(c.kind, record.get(c.field)) for c in TABLE[table].columns}


# Marks -----------------------------------------------------------------------------------


def test_a_mark_belongs_to_the_figure_it_was_given_for() -> None:
    outlier = outliers.Outlier("HU01", "1.1", "TT_SO", "Số tin", 1200.0, ())
    mark = outliers.Mark("HU01", "1.1", "TT_SO", outliers.value_key(1200), "đã xác minh", "ok")
    assert Flagged([outlier], [mark]).mark_of(outlier) == mark
    other = dataclasses.replace(outlier, value=1300.0)
    assert Flagged([other], [mark]).mark_of(other) is None


def test_marks_are_read_from_the_sheet_by_their_headers() -> None:
    header = ["STT", "Mã đơn vị", "Tên đơn vị", "Nhiệm vụ", "Mã chỉ tiêu", "Chỉ tiêu", "Giá trị",
              "So sánh với", "Điểm", "Xác minh", "Ghi chú của văn phòng"]
    rows = [["SỐ LIỆU BẤT THƯỜNG"], ["Kỳ báo cáo 2026-6T: số liệu từ ngày …"], header,
            [1, "HU01", "", "1.1", "TT_SO", "", 1200.0, "", 55, " Đã xác minh ", "gọi điện"],
            [2, "HU02", "", "1.1", "TT_SO", "", 7.0, "", 5, "", ""],
            [3, "HU03", "", "1.1", "TT_SO", "", 9.0, "", 5, "xong", ""]]
    marks, problems = marks_from_rows(rows, "tong-hop.xlsx", "2026-6T")
    assert [(m.unit, m.value, m.mark, m.note) for m in marks] == [
        ("HU01", "1200.0", "đã xác minh", "gọi điện"), ("HU02", "7.0", "", "")]
    assert len(problems) == 1 and "dòng 6" in problems[0] and "«xong»" in problems[0]
    assert marks_from_rows(rows, "tong-hop.xlsx", "2026-6TC") == ([], [])  # another period's
    assert marks_from_rows([["x"]], "t.xlsx", "2026-6T") == ([], [])


def test_a_mark_typed_in_any_copy_of_the_sheet_counts() -> None:
    def mark(unit: str, text: str, note: str = "") -> outliers.Mark:
        return outliers.Mark(unit, "1.1", "TT_SO", "1.0", text, note)

    outputs = [mark("A", "đã xác minh"), mark("B", ""), mark("C", "cần xác minh")]
    in_master = [mark("A", ""), mark("B", "cần xác minh"), mark("C", "đã xác minh", "ok")]
    marks, _ = combine([(outputs, []), (in_master, ["p"])])
    assert [(m.unit, m.mark) for m in marks] == [
        ("A", "đã xác minh"), ("B", "cần xác minh"), ("C", "đã xác minh")]
    cleared, problems = combine([([mark("A", "")], []), ([], [])])
    assert [(m.unit, m.mark) for m in cleared] == [("A", "")] and problems == []


@settings(max_examples=400, deadline=None, derandomize=True)
@given(values=st.lists(st.one_of(st.integers(0, 60), st.integers(-5, 5000),
                                 st.floats(-1e6, 1e6)), min_size=1, max_size=9),
       threshold=st.sampled_from([1.0, 3.0, 3.5, 10.0]))
def test_the_quiet_band_only_skips_figures_that_would_not_be_flagged(
    values: list[float], threshold: float
) -> None:
    """find() skips the group comparison of a figure inside the band: it must be one that
    the comparison would not flag."""
    mates = outliers._Peers.of([float(v) for v in values], threshold)
    for x in values:
        if mates.low < x < mates.high:
            assert mates.compare(float(x), threshold) is None, (x, mates)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(x=st.one_of(st.integers(-5, 5000), st.floats(-1e6, 1e6)),
       past=st.lists(st.one_of(st.none(), st.integers(-5, 5000), st.floats(-1e6, 1e6)),
                     max_size=5))
def test_the_history_shortcut_only_skips_figures_that_would_not_be_flagged(
    x: float, past: list[float | None]
) -> None:
    period = Period("P", "Kỳ", dt.date(2025, 1, 1), dt.date(2025, 6, 1), dt.date(2025, 6, 5))
    held = [(period, {} if v is None else {KEY: v}) for v in past]
    if not outliers._may_differ(float(x), KEY, held):
        assert outliers._history(float(x), KEY, held, 3.5) is None


@dataclasses.dataclass(frozen=True)
class _Receipt:
    """A ledger receipt as :func:`outliers.current_returns` reads it."""

    id: int
    sha256: str
    unit: str
    received: dt.datetime
    proven: bool
    values: dict[str, object]
    mergeable: bool = True


def _file(sha: str, unit: str, received: dt.datetime, values: dict[str, object], *,
          proven: bool, superseded_by: str = "") -> FileReport:
    findings = [] if proven else [make("I001", f"{sha}.xlsx", unit=unit)]
    report = FileReport(f"{sha}.xlsx", Path(f"{sha}.xlsx"), 1, sha, received, format="xlsx",
                        unit=unit, period="2026-6T", identified_by="metadata" if proven
                        else "content", findings=findings, values=values,
                        superseded_by=superseded_by)
    assert report.proven is proven
    return report


def test_the_figures_compared_are_those_the_merge_takes() -> None:
    """An unproven later return never displaces a proven one (I015, issue 14), in the
    ledger or in the batch; a file the batch settled is not a candidate."""
    day = dt.datetime(2026, 6, 10, 9, 0)
    ledger = [_Receipt(1, "a", "HU01", day, True, {KEY: 12}),
              _Receipt(2, "b", "HU01", day + dt.timedelta(days=1), False, {KEY: 900})]
    batch = [_file("c", "HU02", day, {KEY: 5}, proven=True),
             _file("d", "HU02", day + dt.timedelta(days=2), {KEY: 700}, proven=False,
                   superseded_by="c.xlsx"),
             _file("e", "HU03", day, {KEY: 3}, proven=True, superseded_by="f.xlsx"),
             _file("f", "HU03", day + dt.timedelta(days=1), {KEY: 4}, proven=True)]

    chosen = outliers.current_returns(ledger, batch)

    assert {unit: sha for unit, (sha, _) in chosen.items()} == {
        "HU01": "a", "HU02": "c", "HU03": "f"}


def test_a_return_the_secretariat_accepted_stays_the_one_compared() -> None:
    """An accepted return is locked (issue 16): a later file of the unit is recorded but
    not merged, so its figures are not the unit's either."""
    day = dt.datetime(2026, 6, 10, 9, 0)
    ledger = [_Receipt(1, "a", "HU01", day, True, {KEY: 12}),
              _Receipt(2, "b", "HU01", day + dt.timedelta(days=1), True, {KEY: 900})]
    batch = [_file("c", "HU01", day + dt.timedelta(days=2), {KEY: 700}, proven=True)]

    assert outliers.current_returns(ledger, batch, {"HU01": "a"})["HU01"][0] == "a"
    assert outliers.current_returns(ledger, batch)["HU01"][0] == "c"
    assert outliers.accepted_values(ledger, {"HU01": "a"}) == {"HU01": {KEY: 12}}
