"""The form: what a unit's template looks like, for the writer and every reader of returns.

A template (written by :mod:`dvxl.template`) has four sheets:

* ``Hướng dẫn`` — what to fill and how to send it back;
* ``Báo cáo`` — the form: the unit's letterhead (:meth:`dvxl.model.Catalog.letterhead`),
  its identity, then per task a heading row, the bullet's text and one row per indicator,
  the value typed in column E (the only unlocked, yellow cells). Column B holds the codes
  (task, indicator, identity) the readers find rows by: hidden since issue 15, so that the
  printed form shows no internal codes, and read the same whether hidden or not;
* ``Danh mục`` — hidden: the choice lists the dropdowns read (never inline lists:
  an inline list over 255 characters makes Excel "repair" the file);
* ``_dvxl`` — veryHidden: who and what the template is for (:func:`metadata`) and, in a
  workspace that signs its templates, the signature of that identity (:data:`SIGNED_KEYS`,
  :func:`signed_content`); then, after a blank row, where every input cell is
  (:data:`CELL_MAP`, :func:`layout`), so a returned file can be identified and checked.

The template goes out and the return comes back: both sides follow this module, and
neither imports the other. :func:`form_rows` is the single description of the form's
layout; :func:`template_name` names the file a unit receives.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dvxl import __version__
from dvxl.catalog import fingerprint
from dvxl.model import Catalog, Indicator, Period, Task, Unit

FORM = "Báo cáo"
GUIDE = "Hướng dẫn"
LISTS = "Danh mục"
META = "_dvxl"
KIND = "dvxl-mau-bao-cao"

# Form columns (zero-based): STT, code, label, unit of measure, value, help.
COL_NO, COL_CODE, COL_LABEL, COL_UNIT, COL_VALUE, COL_HELP = range(6)
HEADERS = ("STT", "Mã", "Nội dung, chỉ tiêu", "Đơn vị tính", "Kết quả báo cáo", "Hướng dẫn nhập")
HEADER_ROW = 14  # zero-based row of the table header, repeated on every printed page

#: Identity rows every form carries above the tasks: (code, label, type, required). A
#: ``phone`` is text (number format «@»), so that 0912345678 keeps its leading zero (issue 15).
IDENTITY: tuple[tuple[str, str, str, bool], ...] = (
    ("NGUOI_LAP", "Người lập báo cáo (họ và tên)", "text", True),
    ("DIEN_THOAI", "Số điện thoại liên hệ", "phone", True),
    ("NGAY_BC", "Ngày lập báo cáo", "date", True),
)
IDENTITY_FIRST_ROW = 10  # rows 8–9 show the unit's name and code, locked

# Keys of the metadata block of the ``_dvxl`` sheet (column A the key, column B the value).
KEY_KIND = "loai_tep"
KEY_UNIT = "ma_don_vi"
KEY_UNIT_NAME = "ten_don_vi"
KEY_PERIOD = "ma_ky"
KEY_PERIOD_NAME = "ten_ky"
KEY_DIRECTIVE = "ma_van_ban"
KEY_VERSION = "phien_ban_mau"
KEY_FINGERPRINT = "dau_van_tay"
KEY_DVXL_VERSION = "phien_ban_dvxl"
#: Which workspace key signed the template (a public name of the key, not the key).
KEY_KEY_ID = "ma_khoa"
#: The keyed checksum (HMAC-SHA256, hex) of :func:`signed_content` (:mod:`dvxl.seal`).
KEY_SIGNATURE = "chu_ky"
#: What the signature covers, besides the layout: who, for what period, from which template.
SIGNED_KEYS = (
    KEY_KIND,
    KEY_UNIT,
    KEY_PERIOD,
    KEY_DIRECTIVE,
    KEY_VERSION,
    KEY_FINGERPRINT,
    KEY_KEY_ID,
)
#: Header of the input-cell map below the metadata block: (cell, form key) rows follow.
CELL_MAP = ("o_nhap", "chi_tieu")


@dataclass(frozen=True)
class FormRow:
    """One row of the form: a task heading, a task's text, or an input (identity or indicator)."""

    row: int  # zero-based sheet row
    kind: str  # "identity" | "task" | "text" | "indicator"
    key: str  # "NGAY_BC", "1.1", "1.1.HN_SO"
    task: Task | None = None
    indicator: Indicator | None = None

    @property
    def cell(self) -> str:
        """The A1 address of the value cell (column E)."""
        return f"E{self.row + 1}"


def form_rows(catalog: Catalog, unit: Unit) -> list[FormRow]:
    """The layout of ``unit``'s form, row by row."""
    rows = [
        FormRow(IDENTITY_FIRST_ROW + i, "identity", code) for i, (code, *_) in enumerate(IDENTITY)
    ]
    r = HEADER_ROW + 1
    for task in catalog.tasks_for(unit):
        rows.append(FormRow(r, "task", task.code, task))
        rows.append(FormRow(r + 1, "text", task.code, task))
        r += 2
        for indicator in catalog.indicators_for(task):
            rows.append(FormRow(r, "indicator", f"{task.code}.{indicator.code}", task, indicator))
            r += 1
    return rows


def metadata(catalog: Catalog, unit: Unit, period: Period) -> dict[str, str]:
    """The metadata block of ``unit``'s template for ``period``, in the order it is written."""
    return {
        KEY_KIND: KIND,
        KEY_UNIT: unit.code,
        KEY_UNIT_NAME: unit.name,
        KEY_PERIOD: period.code,
        KEY_PERIOD_NAME: period.name,
        KEY_DIRECTIVE: catalog.directive.code,
        KEY_VERSION: str(catalog.settings.template_version),
        KEY_FINGERPRINT: catalog_fingerprint(catalog),
        KEY_DVXL_VERSION: __version__,
    }


def layout(rows: Iterable[FormRow]) -> list[tuple[str, str]]:
    """The input-cell map of a form: (A1 of the value cell, form key) of every input row,
    as the ``_dvxl`` sheet lists it below :data:`CELL_MAP`."""
    return [(r.cell, r.key) for r in rows if r.kind in ("identity", "indicator")]


def signed_content(meta: Mapping[str, str], cells: Iterable[tuple[str, str]]) -> bytes | None:
    """The bytes a template's signature is computed over: a scheme name, the
    :data:`SIGNED_KEYS` values of its metadata, then its input-cell map, the fields joined by
    the unit separator U+001F; None when a field holds that character itself (nothing then
    verifies: no two different blocks give the same bytes).

    Values are taken as they read back from a workbook (:func:`clean`: NFC, trimmed), which
    is what the writer signs too, so a LibreOffice re-save that keeps them keeps the
    signature valid. A few microseconds for a form of a hundred inputs: it runs per return.
    """
    fields = [SIGNATURE_SCHEME, *(meta.get(key, "") for key in SIGNED_KEYS)]
    for cell, key in cells:
        fields += (cell, key)
    text = _US.join(fields)
    if text.count(_US) != len(fields) - 1:
        return None
    return text.encode("utf-8")


SIGNATURE_SCHEME = "dvxl-mau/1"
_US = "\x1f"


def clean(text: str) -> str:
    """Text of the metadata sheet as it is compared: NFC, without surrounding spaces."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFC", text).strip()


_FINGERPRINTS: dict[tuple[object, ...], str] = {}


def catalog_fingerprint(catalog: Catalog) -> str:
    """:func:`dvxl.catalog.fingerprint`, without the cost of the roster.

    The fingerprint covers tasks, indicators, lists and rules only, but computing
    it converts the whole catalog; with 10,000 units that is 0.2 s, paid for every
    template written and every return checked. So it is computed on the catalog
    without its roster, and kept per content of those four tables.
    """
    key = (catalog.tasks, catalog.indicators, catalog.lists, catalog.rules)
    found = _FINGERPRINTS.get(key)
    if found is None:
        if len(_FINGERPRINTS) >= 16:
            _FINGERPRINTS.clear()
        bare = dataclasses.replace(catalog, units=(), periods=(), rubric=(), levels=())
        found = _FINGERPRINTS[key] = fingerprint(bare)
    return found


def slug(text: str) -> str:
    """ASCII file-name part: "Huyện ủy An Lạc" -> "huyen-uy-an-lac"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def template_name(period: Period, unit: Unit) -> str:
    """The file name of ``unit``'s template for ``period``: ``KỲ_MÃĐƠNVỊ_ten-don-vi.xlsx``."""
    return f"{period.code}_{unit.code}_{slug(unit.name)}.xlsx"
