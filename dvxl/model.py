"""The catalog as plain data: what the directive asks, of whom, and how it is scored.

Every stage downstream (master, templates, validation, merge, scoring) works on
these dataclasses, never on a workbook object. A catalog is loaded either from
the text files in ``workbook/`` (:mod:`dvxl.textio`) or from the config sheets
of a master workbook (:mod:`dvxl.master`); both go through
:func:`dvxl.catalog.build` so both are checked the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: Indicator types a unit can be asked for. The template, the validation and
#: the config check all dispatch on these names.
INDICATOR_TYPES: dict[str, str] = {
    "integer": "Số nguyên",
    "decimal": "Số thập phân",
    "date": "Ngày",
    "text": "Văn bản ngắn",
    "longtext": "Văn bản dài",
    "choice": "Chọn từ danh mục",
    "doclist": "Danh sách văn bản đã ban hành",
    "score": "Điểm tự chấm",
}

NUMERIC_TYPES = frozenset({"integer", "decimal", "score"})

#: Where a common indicator goes in every task: before or after the task's own.
POSITIONS = ("before", "after")

SEVERITIES = ("error", "warning")

#: How an indicator is summed up over the units in the period report: ``sum``, ``mean``,
#: ``count`` (units per value), ``count:Có`` (units that chose «Có»), ``rate:CODE`` (this
#: indicator's total over the total of indicator CODE, e.g. resolved over received),
#: ``none``. Empty: numbers are summed, choices counted per value, text is not summed up.
SUMMARIES = ("sum", "mean", "count", "rate", "none")


@dataclass(frozen=True)
class CitedDocument:
    """A document the directive rests on, e.g. ``160-TB/TW`` of 15/01/2020."""

    number: str
    kind: str
    date: dt.date
    issuer: str
    title: str


@dataclass(frozen=True)
class Directive:
    """The identity of the directive being reported on."""

    code: str
    kind: str
    number: str
    date: dt.date | None
    issuer: str
    subject: str
    cited: tuple[CitedDocument, ...]


@dataclass(frozen=True)
class Group:
    """A group of addressed units, as the directive names them."""

    code: str
    name: str
    section: int
    #: The :class:`Letterhead` of its units' templates (code); "" is the default one.
    letterhead: str = ""


@dataclass(frozen=True)
class Indicator:
    """One thing a unit reports on a task.

    ``task`` is a task code, or ``"*"`` for an indicator every task carries
    (then ``position`` says whether it comes before or after the task's own).
    """

    task: str
    code: str
    label: str
    help: str
    type: str
    unit: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: str = ""
    position: str = ""
    #: How the period report sums it up over units (:data:`SUMMARIES`); "" is the type's default.
    summary: str = ""
    #: The usual range of a numeric figure: outside it the figure is flagged for a second
    #: look (W108, :mod:`dvxl.outliers`), never refused (``minimum``/``maximum`` refuse).
    usual_min: float | None = None
    usual_max: float | None = None
    #: The modified z-score above which a figure is flagged; None: the default (3.5).
    outlier_threshold: float | None = None

    @property
    def is_common(self) -> bool:
        return self.task == "*"


@dataclass(frozen=True)
class Task:
    """One bullet of the directive."""

    code: str
    section: int
    title: str
    text: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceList:
    """A named list of allowed values for ``choice`` indicators."""

    code: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: ``expression`` in the small language of :mod:`dvxl.rules`."""

    code: str
    task: str
    expression: str
    severity: str
    message: str


@dataclass(frozen=True)
class Unit:
    """An addressed unit. Its first group is the one it is scored and ranked in."""

    code: str
    name: str
    groups: tuple[str, ...]
    email: str = ""
    #: The :class:`Letterhead` of its template when not its rating group's (code); "" none.
    letterhead: str = ""

    @property
    def rating_group(self) -> str:
        return self.groups[0]


@dataclass(frozen=True)
class Period:
    """A reporting period: data from ``start`` to ``end`` (the cut-off), due by ``deadline``."""

    code: str
    name: str
    start: dt.date
    end: dt.date
    deadline: dt.date

    def days_late(self, received: dt.datetime) -> int:
        """Whole days after the deadline that ``received`` falls on; 0 on or before it.

        The one definition of "late": tracking (on time / late by N days) and the
        evaluation's ``so_ngay_tre`` both use it.
        """
        return max(0, (received.date() - self.deadline).days)


@dataclass(frozen=True)
class RubricItem:
    """Points a task is worth for the units scored in ``group``."""

    group: str
    task: str
    points: float


@dataclass(frozen=True)
class Level:
    """A classification level: reached with ``min_score`` and ``condition`` true.

    ``cap`` (0–1) limits this level to that share of the units rated at this
    level or above in a group (a province's "xuất sắc ≤ 20 %" rule); 0 means no cap.
    """

    code: str
    name: str
    min_score: float
    condition: str = ""
    cap: float = 0.0


@dataclass(frozen=True)
class Settings:
    """Workspace-wide settings kept in the master's ``Tham số`` sheet."""

    province: str
    template_version: int
    sheet_password: str = ""
    max_file_mb: float = 20.0
    not_rated: str = "Không đủ điều kiện xếp loại"
    #: Only returns the secretariat accepted reach the figures and the report (issue 16);
    #: off until the office starts reviewing.
    only_accepted: bool = False


@dataclass(frozen=True)
class Issuing:
    """Who issues the period report and how it is signed (the master's «Ban hành» sheet).

    Empty ``superior`` and ``place`` are taken from the province («TỈNH ỦY BÌNH AN», «Bình
    An») when the report is written; ``number`` empty leaves the number for the clerk.
    """

    superior: str = ""
    issuer: str = "BAN DÂN VẬN"
    issuer_name: str = "Ban Dân vận Tỉnh ủy"
    code: str = "BDVTU"
    number: str = ""
    place: str = ""
    reported_to: str = "Ban Thường vụ Tỉnh ủy"
    authority: str = ""
    signer_title: str = "TRƯỞNG BAN"
    signer_name: str = ""


@dataclass(frozen=True)
class FormatProfile:
    """The format of a printed Party document (the master's «Thể thức» sheet).

    Defaults: Hướng dẫn 36-HD/VPTW (03/4/2018), Phụ lục 3; sizes in points, lengths in
    millimetres. Data, not code: an office changes it when the rules change.
    """

    name: str = "Hướng dẫn 36-HD/VPTW ngày 03/4/2018 của Văn phòng Trung ương Đảng"
    font: str = "Times New Roman"
    paper_width_mm: float = 210
    paper_height_mm: float = 297
    margin_top_mm: float = 20
    margin_bottom_mm: float = 20
    margin_left_mm: float = 30
    margin_right_mm: float = 15
    size_party: float = 15
    size_bodies: float = 14
    size_number: float = 14
    size_place_date: float = 14
    size_type: float = 16
    size_subject: float = 14
    size_text: float = 14
    size_recipients: float = 12
    size_signature: float = 14
    size_table: float = 12
    size_page_number: float = 14
    first_line_indent_mm: float = 12.7
    space_after_pt: float = 6
    line_spacing: float = 1
    page_number_from: int = 2


#: What :attr:`Letterhead.superior` may name: the province («ĐẢNG BỘ TỈNH {tinh}»).
LETTERHEAD_FIELDS = ("tinh",)


@dataclass(frozen=True)
class Letterhead:
    """The heading and signature block of a unit's template (the master's «Tiêu đề mẫu»).

    A Party body (ban cán sự đảng, đảng đoàn, cấp ủy, ban of the Tỉnh ủy) reports in the
    Party's form (Hướng dẫn 36-HD/VPTW): superior body, the unit, «*», and «ĐẢNG CỘNG SẢN
    VIỆT NAM»; the Front and the mass organisations, addressed as organisations, in their
    own. Chosen per unit group (:attr:`Group.letterhead`), a unit may name its own
    (:attr:`Unit.letterhead`). Data, not code: the defaults are the Party's form, signed
    for the standing committee.
    """

    code: str = ""
    name: str = ""  # what it is for, shown to the secretariat only
    superior: str = "ĐẢNG BỘ TỈNH {tinh}"  # left, above the unit's name; {tinh}: the province
    mark: str = "*"  # left, below the unit's name («*» Party, «***» Đoàn, "" none)
    heading: str = "ĐẢNG CỘNG SẢN VIỆT NAM"  # right, first line, ruled below (or its motto)
    motto: str = ""  # right, second line («Độc lập - Tự do - Hạnh phúc»)
    authority: str = "T/M BAN THƯỜNG VỤ"  # signature: on whose behalf («T/M ĐẢNG ĐOÀN»)
    signer_title: str = ""  # signature: the signer's title («BÍ THƯ»); "" left to the unit


@dataclass(frozen=True)
class Catalog:
    """Everything the master workbook configures."""

    directive: Directive
    settings: Settings
    groups: tuple[Group, ...]
    tasks: tuple[Task, ...]
    indicators: tuple[Indicator, ...]
    lists: tuple[ChoiceList, ...]
    rules: tuple[Rule, ...]
    units: tuple[Unit, ...]
    periods: tuple[Period, ...]
    rubric: tuple[RubricItem, ...]
    levels: tuple[Level, ...]
    issuing: Issuing = Issuing()
    recipients: tuple[str, ...] = ()
    format: FormatProfile = FormatProfile()
    letterheads: tuple[Letterhead, ...] = ()

    # Lookups -----------------------------------------------------------------

    def task(self, code: str) -> Task:
        return next(t for t in self.tasks if t.code == code)

    def unit(self, code: str) -> Unit:
        return next(u for u in self.units if u.code == code)

    def period(self, code: str) -> Period:
        return next(p for p in self.periods if p.code == code)

    def letterhead(self, unit: Unit) -> Letterhead:
        """The letterhead of ``unit``'s template: its own, else its rating group's, else the
        default (:class:`Letterhead`)."""
        code = unit.letterhead or next(
            (g.letterhead for g in self.groups if g.code == unit.rating_group), ""
        )
        return next((h for h in self.letterheads if h.code == code), Letterhead())

    def choice_list(self, code: str) -> ChoiceList:
        return next(c for c in self.lists if c.code == code)

    def tasks_for(self, unit: Unit) -> tuple[Task, ...]:
        """The tasks addressed to any of the unit's groups, in catalog order."""
        wanted = set(unit.groups)
        return tuple(t for t in self.tasks if wanted.intersection(t.groups))

    def indicators_for(self, task: Task) -> tuple[Indicator, ...]:
        """A task's indicators in form order: common-before, its own, common-after."""
        before = [i for i in self.indicators if i.is_common and i.position == "before"]
        own = [i for i in self.indicators if i.task == task.code]
        after = [i for i in self.indicators if i.is_common and i.position == "after"]
        return tuple(before + own + after)

    def rules_for(self, task: Task) -> tuple[Rule, ...]:
        """Rules checked on a task: its own and those written for every task (``*``)."""
        return tuple(r for r in self.rules if r.task in ("*", task.code))

    def points(self, group: str, task: str) -> float | None:
        for item in self.rubric:
            if item.group == group and item.task == task:
                return item.points
        return None

    def addressed_units(self) -> tuple[Unit, ...]:
        """Units addressed by at least one task."""
        return tuple(u for u in self.units if self.tasks_for(u))
