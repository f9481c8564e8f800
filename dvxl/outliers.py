"""Figures that look wrong: each numeric figure against the unit's history, its peers, a range.

DHIS2's outlier analysis, kept small (``../shared/NOTES-report.md``). For every figure of
a counting or decimal indicator (a self-score is bounded by the rubric and assessed by the
secretariat: not compared) in a unit's accepted return of the period:

* **history** — the same figure in the unit's accepted returns of the earlier periods the
  ledger has. With three or more of them, the modified z-score
  ``M = 0.6745·|x − median| / MAD`` (Iglewicz and Hoaglin) flags above the threshold;
* **peers** — the same figure of the units of its rating group this period (the unit's
  own figure included in the median and MAD, as DHIS2 counts it), when there are three
  others or more; units differ in size, so the figure must also be :data:`PEER_RATIO`
  times the group's median, or that fraction of it;
* **range** — the usual range the catalog declares for the indicator (``usual_min``,
  ``usual_max``): outside it the figure is flagged, never refused (C003 refuses).

The threshold is the indicator's ``outlier_threshold``, else :data:`DEFAULT_THRESHOLD`
(3.5, Iglewicz and Hoaglin's; DHIS2 uses 3.0). When the spread is zero — MAD = 0: more
than half the values are equal — the z-score over the others' mean and standard deviation
is computed instead, and when the values compared with are fewer than
:data:`MIN_VALUES` the ratio: to the last period's figure (a short history), to the other
unit of a group of two, to the middle one of a group of three. A degenerate spread makes
every difference look infinite, so that a figure is never flagged on zero spread alone: a
z-score on a zero MAD, and a ratio, flag only a figure :data:`RATIO` times the usual one
or more, counted as
``(larger + SMOOTHING) / (smaller + SMOOTHING)`` — no division by zero, and 0 against 3
is no alarm. A unit whose figures are all zero, a group of one unit and a first period
(no history) give no flags; no spread, however small, is divided by unless it is one
(:func:`_spread`).

Each flagged figure is one :class:`Outlier` with the comparisons that flagged it: a W108
warning in the validation outputs (:func:`with_findings`) and a row of the period
workbook's «Số liệu bất thường» (:mod:`dvxl.outliersheet`), where the secretariat marks
it (:class:`Mark`, kept in the ledger).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dvxl.findings import Code, Finding, make
from dvxl.form import FORM
from dvxl.model import Catalog, Indicator, Period, Unit
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport, FileReport

EMITS = (Code.OUTLIER,)

DEFAULT_THRESHOLD = 3.5
K = 0.6745  # the normal distribution's 0.75 quantile: M is comparable to a z-score
#: Fewer values than this to compare with: the history is short, the group small.
MIN_VALUES = 3
#: How many times the usual figure a figure must be when the spread is zero or too few
#: values are compared with; and the smoothing that keeps small counts quiet.
RATIO = 10.0
SMOOTHING = 10.0
#: Units of a group differ in size (a province's Front, a small office): a figure far from
#: its group by the modified z-score is flagged only when it is also this many times the
#: group's median, or that fraction of it (smoothed as a ratio is).
PEER_RATIO = 5.0
#: The indicator types compared (see the module's docstring).
TYPES = frozenset({"integer", "decimal"})

HISTORY, PEERS, RANGE = "history", "peers", "range"
MODIFIED_Z, Z_SCORE, RATIO_METHOD, OUT_OF_RANGE = "modified_z", "z", "ratio", "range"

#: The marks the secretariat gives a flagged figure (DHIS2's follow-up).
TO_VERIFY, VERIFIED = "cần xác minh", "đã xác minh"
MARKS = (TO_VERIFY, VERIFIED)

Values = Mapping[str, Any]


@dataclass(frozen=True)
class Comparison:
    """What a figure was compared with, and by how much it differs."""

    basis: str  # HISTORY, PEERS or RANGE
    method: str  # MODIFIED_Z, Z_SCORE, RATIO_METHOD or OUT_OF_RANGE
    reference: float  # the median, the mean, the last period's figure, the bound crossed
    spread: float  # the MAD, the standard deviation; 0 for a ratio or a range
    count: int  # how many figures it was compared with
    score: float | None  # M, z or the ratio; None for a range
    threshold: float  # what the score exceeded (RATIO for a ratio)
    label: str = ""  # the last period's name, for a ratio to it
    low: float | None = None  # the usual range, for a range
    high: float | None = None

    def describe(self) -> str:
        """In Vietnamese, for the sheet and the W108 message."""
        ref = number_text(self.reference)
        if self.method == OUT_OF_RANGE:
            if self.low is not None and self.high is not None:
                return f"khoảng thường gặp {number_text(self.low)}–{number_text(self.high)}"
            if self.low is not None:
                return f"khoảng thường gặp: từ {number_text(self.low)} trở lên"
            return f"khoảng thường gặp: đến {number_text(self.reference)}"
        if self.basis == HISTORY:
            what = f"{self.count} kỳ trước"
        elif self.method == Z_SCORE:
            what = f"{self.count} đơn vị khác cùng nhóm"
        else:
            what = f"nhóm ({self.count} đơn vị, kể cả đơn vị này)"
        score = number_text(self.score or 0.0, 1)
        limit = number_text(self.threshold, 1)
        if self.method == MODIFIED_Z:
            return (f"trung vị {what} là {ref} (độ lệch tuyệt đối trung vị "
                    f"{number_text(self.spread)}): điểm z cải tiến {score} > {limit}")
        if self.method == Z_SCORE:
            return (f"trung bình {what} là {ref} (độ lệch chuẩn {number_text(self.spread)}): "
                    f"điểm z {score} > {limit}")
        if self.basis == HISTORY and self.label:
            return f"kỳ trước ({self.label}) là {ref}: chênh {score} lần"
        if self.count == 2:
            return f"đơn vị còn lại trong nhóm là {ref}: chênh {score} lần"
        return f"trung vị {what} là {ref}: chênh {score} lần"


@dataclass(frozen=True)
class Outlier:
    """A figure that looks wrong, with every comparison that flagged it."""

    unit: str
    task: str
    indicator: str
    label: str  # the indicator's label
    value: float
    comparisons: tuple[Comparison, ...]

    @property
    def key(self) -> str:
        return f"{self.task}.{self.indicator}"

    @property
    def score(self) -> float | None:
        """The largest score of its comparisons (None when only a range flagged it)."""
        scores = [c.score for c in self.comparisons if c.score is not None]
        return max(scores) if scores else None

    def describe(self) -> str:
        return "; ".join(c.describe() for c in self.comparisons)


@dataclass(frozen=True)
class Mark:
    """The secretariat's mark on a flagged figure: ``value`` is the figure it was given for
    (:func:`value_key`); a new figure from the unit is a new question, and the mark lapses."""

    unit: str
    task: str
    indicator: str
    value: str
    mark: str  # "" or one of MARKS
    note: str = ""


def value_key(value: float) -> str:
    """The figure a mark belongs to, as text that reads back equal from any cell."""
    return repr(float(value))


def number_text(value: float, decimals: int = 2) -> str:
    """A number the Vietnamese way: ``2.500``, ``8,4``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", ".")
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def figure(value: Any) -> float | None:
    """A reported value as a number to compare, or None (text, empty, a bool, NaN)."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
    if kind is bool or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# The scores ----------------------------------------------------------------------------------


def ratio(x: float, reference: float) -> float:
    """How many times the larger is the smaller, smoothed (1 for a negative figure)."""
    if x < 0 or reference < 0:
        return 1.0
    return (max(x, reference) + SMOOTHING) / (min(x, reference) + SMOOTHING)


def _spread(spread: float, centre: float) -> bool:
    """Whether a MAD or a standard deviation is a spread at all: not zero, and not the
    rounding noise of the arithmetic (which would make every score infinite)."""
    return spread > 1e-9 * max(1.0, abs(centre))


def _median_mad(values: Sequence[float]) -> tuple[float, float]:
    med = statistics.median(values)
    return med, statistics.median(abs(v - med) for v in values)


def against(x: float, values: Sequence[float], threshold: float, basis: str,
            short_reference: float, label: str = "") -> Comparison | None:
    """``x`` against ``values`` (not including it): the comparison that flags it, or None.

    ``short_reference``: what a ratio compares with when the values are fewer than
    :data:`MIN_VALUES` (the last period's figure, the peers' median).
    """
    n = len(values)
    if n == 0:
        return None
    if n < MIN_VALUES:
        r = ratio(x, short_reference)
        return Comparison(basis, RATIO_METHOD, short_reference, 0.0, n, r, RATIO, label) \
            if r >= RATIO else None
    med, mad = _median_mad(values)
    if _spread(mad, med):
        m = K * abs(x - med) / mad
        return Comparison(basis, MODIFIED_Z, med, mad, n, m, threshold) if m > threshold \
            else None
    mean, sd = statistics.fmean(values), statistics.pstdev(values)
    return _zero_spread(x, med, mean, sd, n, threshold, basis)


def _zero_spread(x: float, med: float, mean: float, sd: float, n: int, threshold: float,
                 basis: str) -> Comparison | None:
    """MAD = 0: the z-score when the values vary at all, and the ratio to the median."""
    r = ratio(x, med)
    if r < RATIO:
        return None  # zero spread alone never flags
    if _spread(sd, mean):
        z = abs(x - mean) / sd
        return Comparison(basis, Z_SCORE, mean, sd, n, z, threshold) if z > threshold else None
    return Comparison(basis, RATIO_METHOD, med, 0.0, n, r, RATIO)


@dataclass
class _Peers:
    """One rating group's figures of one indicator this period, summed up once."""

    values: list[float]
    median: float
    mad: float
    total: float
    squares: float
    low: float  # a figure strictly between low and high flags nothing: most figures
    high: float

    @classmethod
    def of(cls, values: list[float], threshold: float) -> _Peers:
        med, mad = _median_mad(values)
        low, high = _quiet(len(values), med, mad, threshold)
        return cls(values, med, mad, math.fsum(values), math.fsum(v * v for v in values),
                   low, high)

    def compare(self, x: float, threshold: float) -> Comparison | None:
        others = len(self.values) - 1
        if others <= 0:
            return None  # a group of one unit
        if others < MIN_VALUES:
            # Two units: each against the other. Three: against the middle one (the median
            # of the others would be pulled half-way to an outlier among them).
            ref = self.total - x if others == 1 else self.median
            r = ratio(x, ref)
            return Comparison(PEERS, RATIO_METHOD, ref, 0.0, others + 1, r, RATIO) \
                if r >= RATIO else None
        if _spread(self.mad, self.median):
            m = K * abs(x - self.median) / self.mad
            flagged = m > threshold and ratio(x, self.median) >= PEER_RATIO
            return Comparison(PEERS, MODIFIED_Z, self.median, self.mad, others + 1, m,
                              threshold) if flagged else None
        # The others' mean and deviation, in constant time (leaving the figure itself out).
        mean = (self.total - x) / others
        variance = max(0.0, (self.squares - x * x) / others - mean * mean)
        hit = _zero_spread(x, self.median, mean, math.sqrt(variance), others, threshold,
                           PEERS)
        if hit is not None and hit.method == RATIO_METHOD:  # to the median of them all
            hit = dataclasses.replace(hit, count=others + 1)
        return hit


def _quiet(n: int, med: float, mad: float, threshold: float) -> tuple[float, float]:
    """Where a figure of a group of ``n`` flags nothing, for :func:`find` to skip the
    comparison: where its ratio to the median is below the one a flag needs (a figure
    below zero never flags by ratio), and, with a spread, where M is within the threshold.
    A shortcut only: a figure outside is compared in full."""
    if n <= 1:
        return -math.inf, math.inf  # a group of one unit
    if n == 2:
        return math.inf, -math.inf  # each against the other: no shortcut
    spread = n > MIN_VALUES and _spread(mad, med)
    low, high = math.inf, -math.inf
    if med >= 0:
        limit = PEER_RATIO if spread else RATIO
        low, high = (med + SMOOTHING) / limit - SMOOTHING, limit * (med + SMOOTHING) - SMOOTHING
    if spread:
        band = threshold * mad / K
        low, high = min(low, med - band), max(high, med + band)
    return low, high


def _range(x: float, ind: Indicator) -> Comparison | None:
    lo, hi = ind.usual_min, ind.usual_max
    if lo is not None and x < lo:
        return Comparison(RANGE, OUT_OF_RANGE, lo, 0.0, 0, None, 0.0, "", lo, hi)
    if hi is not None and x > hi:
        return Comparison(RANGE, OUT_OF_RANGE, hi, 0.0, 0, None, 0.0, "", lo, hi)
    return None


# The figures of a period ------------------------------------------------------------------


def find(
    catalog: Catalog,
    current: Mapping[str, Values],
    earlier: Sequence[tuple[Period, Mapping[str, Values]]] = (),
) -> list[Outlier]:
    """The outliers of the period whose accepted values are ``current`` (unit -> values),
    against ``earlier`` periods' accepted values (oldest first); in roster and form order."""
    # The compared fields of each task, and of each set of groups, looked up once: per unit
    # they cost more than the comparing (issue #6's lesson).
    per_task = {t.code: [(f"{t.code}.{i.code}", i, i.outlier_threshold or DEFAULT_THRESHOLD)
                         for i in catalog.indicators_for(t) if i.type in TYPES]
                for t in catalog.tasks}
    per_groups: dict[tuple[str, ...], list[tuple[str, Indicator, float]]] = {}
    figures: list[tuple[Unit, list[tuple[str, Indicator, float, float]]]] = []
    by_group: dict[tuple[str, str], list[float]] = {}
    for unit in catalog.addressed_units():
        values = current.get(unit.code)
        if values is None:
            continue
        fields = per_groups.get(unit.groups)
        if fields is None:
            fields = per_groups[unit.groups] = [
                f for t in catalog.tasks_for(unit) for f in per_task[t.code]]
        own = []
        for key, ind, threshold in fields:
            x = figure(values.get(key))
            if x is not None:
                own.append((key, ind, threshold, x))
                by_group.setdefault((unit.rating_group, key), []).append(x)
        figures.append((unit, own))
    thresholds = {key: threshold for fields in per_task.values() for key, _, threshold in fields}
    peers = {k: _Peers.of(v, thresholds[k[1]]) for k, v in by_group.items()}
    found: list[Outlier] = []
    for unit, own in figures:
        past = [(p, e[unit.code]) for p, e in earlier if unit.code in e]
        group = unit.rating_group
        for key, ind, threshold, x in own:
            comparisons = []
            if past and _may_differ(x, key, past):
                hit = _history(x, key, past, threshold)
                if hit is not None:
                    comparisons.append(hit)
            mates = peers[(group, key)]
            if not mates.low < x < mates.high:  # most figures are: nothing to compare
                hit = mates.compare(x, threshold)
                if hit is not None:
                    comparisons.append(hit)
            if ind.usual_min is not None or ind.usual_max is not None:
                hit = _range(x, ind)
                if hit is not None:
                    comparisons.append(hit)
            if comparisons:
                task_code, _, code = key.rpartition(".")
                found.append(Outlier(unit.code, task_code, code, ind.label, x,
                                     tuple(comparisons)))
    return found


def _may_differ(x: float, key: str, past: list[tuple[Period, Values]]) -> bool:
    """False when a short history (the usual case) cannot flag ``x``: it is less than
    :data:`RATIO` times its last figure either way. The inner loop of :func:`find`, so
    plain arithmetic; anything unusual goes to :func:`_history`."""
    last = None
    n = 0
    for _, values in past:
        v = values.get(key)
        if v is not None:
            last, n = v, n + 1
    if n == 0:
        return False
    if n >= MIN_VALUES or not (type(last) is int or type(last) is float) or x < 0 or last < 0:
        return True
    low, high = (x, last) if x < last else (last, x)
    return high + SMOOTHING >= RATIO * (low + SMOOTHING)


def _history(x: float, key: str, past: list[tuple[Period, Values]],
             threshold: float) -> Comparison | None:
    """``x`` against the unit's figures of the earlier periods (the last one by name)."""
    history: list[float] = []
    last_period = None
    for period, values in past:
        v = figure(values.get(key))
        if v is not None:
            history.append(v)
            last_period = period
    if last_period is None:
        return None
    return against(x, history, threshold, HISTORY, history[-1], last_period.name)


class _Held(Protocol):
    """A receipt in the ledger, as :func:`accepted_values` reads it."""

    @property
    def id(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def received(self) -> Any: ...
    @property
    def mergeable(self) -> bool: ...
    @property
    def proven(self) -> bool: ...
    @property
    def values(self) -> dict[str, Any]: ...


def accepted_values(receipts: Iterable[_Held], locked: Mapping[str, str] | None = None
                    ) -> dict[str, Values]:
    """Each unit's accepted values, as the merge decides (see :func:`current_returns`)."""
    return {unit: values for unit, (_, values) in _latest(receipts, (), locked or {}).items()}


def current_returns(
    receipts: Iterable[_Held], batch: Iterable[FileReport],
    locked: Mapping[str, str] | None = None,
) -> dict[str, tuple[str, Values]]:
    """Each unit's accepted return (its SHA-256 and values) once ``batch`` is recorded:
    the ledger's receipts of the period and the batch's files, as the merge decides
    (:func:`dvxl.merge.consolidate`): the latest error-free return, except that an unproven
    one never displaces a proven one (issue 14) and a return the secretariat accepted
    (``locked``: unit -> its SHA-256, :mod:`dvxl.review`) stays while it is in the ledger;
    a batch's file already settled (superseded, or unproven and not taken: I009, I015) is
    not a candidate."""
    return _latest(receipts, batch, locked or {})


def _latest(receipts: Iterable[_Held], batch: Iterable[FileReport], locked: Mapping[str, str]
            ) -> dict[str, tuple[str, Values]]:
    best: dict[str, tuple[Any, int, str, Values]] = {}
    best_proven: dict[str, tuple[Any, int, str, Values]] = {}
    kept: dict[str, tuple[str, Values]] = {}
    held: set[str] = set()
    for r in receipts:
        held.add(r.sha256)
        if r.mergeable and r.unit:
            if locked.get(r.unit) == r.sha256:
                kept[r.unit] = (r.sha256, r.values)
            _keep(best_proven if r.proven else best, r.unit,
                  (r.received, r.id, r.sha256, r.values))
    order = 1 + max((b[1] for b in (*best.values(), *best_proven.values())), default=0)
    for report in batch:
        if (report.sha256 in held or not report.unit or report.errors or not report.readable
                or report.superseded_by):
            continue
        if report.status is FileStatus.IGNORED:
            continue
        order += 1
        _keep(best_proven if report.proven else best, report.unit,
              (report.received, order, report.sha256, report.values))
    best.update(best_proven)
    return {unit: (sha, values) for unit, (_, _, sha, values) in best.items()} | kept


def _keep(best: dict[str, tuple[Any, int, str, Values]], unit: str,
          candidate: tuple[Any, int, str, Values]) -> None:
    kept = best.get(unit)
    if kept is None or (candidate[0], candidate[1]) > (kept[0], kept[1]):
        best[unit] = candidate


# Into the validation outputs ------------------------------------------------------------------


def with_findings(batch: BatchReport, found: Sequence[Outlier],
                  chosen: Mapping[str, tuple[str, Values]]) -> BatchReport:
    """The batch with a W108 warning on each flagged figure of the file it comes from (the
    unit's accepted return, ``chosen``); the batch itself is left as it is (the ledger
    records what the checks found, not what the period's other returns make of it)."""
    by_unit: dict[str, list[Outlier]] = {}
    for outlier in found:
        by_unit.setdefault(outlier.unit, []).append(outlier)
    files = []
    for report in batch.files:
        own = by_unit.get(report.unit)
        if own and chosen.get(report.unit, ("",))[0] == report.sha256:
            extra = [finding(report, o) for o in own]
            report = dataclasses.replace(report, findings=[*report.findings, *extra])
        files.append(report)
    return dataclasses.replace(batch, files=files)


def finding(report: FileReport, outlier: Outlier) -> Finding:
    """The W108 warning of a flagged figure in its file."""
    return make(Code.OUTLIER, report.name, unit=report.unit, sheet=FORM,
                cell=report.cells.get(outlier.key, ""), task=outlier.task,
                indicator=outlier.indicator, label=outlier.label,
                value=number_text(outlier.value), expected=outlier.describe())
