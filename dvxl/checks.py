"""Check one returned workbook: who sent it, is the form intact, is every value right.

:func:`check_book` takes the plain rows of :mod:`dvxl.reader` and yields
findings (it never raises on bad input) plus the parsed values, keyed
``"1.1.HN_SO"``, for the merge. What people type is read forgivingly — numbers
as text, ``1.234`` and ``12,5`` the Vietnamese way, dates as text, decomposed
Unicode, stray spaces — and recorded as a warning rather than rejected.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvxl import periods, rules
from dvxl.findings import ERROR, Code, Finding, make, required_hint
from dvxl.form import (
    CELL_MAP,
    COL_CODE,
    COL_LABEL,
    COL_VALUE,
    FORM,
    IDENTITY,
    KEY_DIRECTIVE,
    KEY_FINGERPRINT,
    KEY_KEY_ID,
    KEY_KIND,
    KEY_PERIOD,
    KEY_SIGNATURE,
    KEY_UNIT,
    KEY_VERSION,
    KIND,
    META,
    FormRow,
    catalog_fingerprint,
    form_rows,
    slug,
)
from dvxl.model import Catalog, Indicator, Period, Rule, Task, Unit
from dvxl.printing import format_date
from dvxl.reader import Book, Sheet
from dvxl.seal import Seal


@dataclass
class Identity:
    """Who a return is from and what template it was made from."""

    unit: Unit | None = None
    period: str = ""
    version: str = ""
    fingerprint: str = ""
    by: str = ""  # "metadata" | "content" | ""


@dataclass
class Checked:
    """The outcome of checking one book."""

    identity: Identity
    findings: list[Finding] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)  # key -> A1 of its value cell

    @property
    def has_errors(self) -> bool:
        return any(f.severity == ERROR for f in self.findings)


# What every file of a batch looks up in the catalog, made once per catalog -------------------


class _Index:
    """Lookups into one catalog, so that checking a file costs the same for 40 units or
    10,000 (issue #6: the roster was searched, slugged and fingerprinted per file)."""

    def __init__(self, catalog: Catalog) -> None:
        # Weakly: a cache must not keep a 10,000-unit catalog alive once its batch is done.
        self.ref = weakref.ref(catalog, _forget)
        self.by_code = {u.code: u for u in reversed(catalog.units)}  # the first one wins
        # As _from_content has always looked them up: the last unit of a code or name wins.
        self.codes = {u.code.upper(): u for u in catalog.units}
        self.names = {_fold(u.name): u for u in catalog.units}
        self.code_tokens: dict[str, tuple[int, Unit]] = {}  # code -> its first unit, in order
        for position, unit in enumerate(catalog.units):
            self.code_tokens.setdefault(unit.code.upper(), (position, unit))
        self.slugs = [(slug(u.name), u) for u in catalog.units]
        self.fingerprint = catalog_fingerprint(catalog)
        self._forms: dict[tuple[str, ...], _Form] = {}
        self._rules: dict[str, list[tuple[Rule, rules.Check, set[str]]]] = {}
        self._points: dict[tuple[str, str], float | None] = {}
        self._choices: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}

    def form(self, unit: Unit) -> _Form:
        """The unit's form layout and what checking it needs; units of the same groups
        share one (it depends on nothing else), and callers only read it."""
        found = self._forms.get(unit.groups)
        if found is None:
            catalog = self._catalog()
            found = _Form(form_rows(catalog, unit), catalog.tasks_for(unit))
            self._forms[unit.groups] = found
        return found

    def tasks(self, unit: Unit) -> tuple[Task, ...]:
        """``catalog.tasks_for(unit)``, which depends on the unit's groups only."""
        return self.form(unit).tasks

    def rules(self, task: Task) -> list[tuple[Rule, rules.Check, set[str]]]:
        """The task's rules, compiled, each with the indicator codes it names."""
        found = self._rules.get(task.code)
        if found is None:
            found = []
            for rule in self._catalog().rules_for(task):
                node = rules.parse(rule.expression)
                found.append((rule, rules.compiled(node), rules.names(node)))
            self._rules[task.code] = found
        return found

    def points(self, group: str, task: str) -> float | None:
        """``catalog.points(group, task)``, looked up once."""
        key = (group, task)
        if key not in self._points:
            self._points[key] = self._catalog().points(group, task)
        return self._points[key]

    def choices(self, code: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """A choice list's values, and each folded value's first option."""
        found = self._choices.get(code)
        if found is None:
            allowed = self._catalog().choice_list(code).values
            folded: dict[str, str] = {}
            for option in allowed:
                folded.setdefault(_fold(option), option)
            found = self._choices[code] = (allowed, folded)
        return found

    def _catalog(self) -> Catalog:
        catalog = self.ref()
        assert catalog is not None, "an index is only used while its catalog is checked"
        return catalog


class _Input:
    """One input row of a form (identity or indicator), with what checking it needs."""

    __slots__ = ("exact", "identity", "indicator", "key", "printed", "task")

    def __init__(self, row: FormRow) -> None:
        self.key = row.key
        self.identity = row.kind == "identity"
        self.indicator = row.indicator
        self.task = row.task
        printed = ""
        if row.indicator is not None:
            printed = row.indicator.label + (" (*)" if row.indicator.required else "")
        self.printed = printed  # the label column as the template writes it
        # Whether a label cell holding exactly ``printed`` reads as ``printed``: then the
        # label of an untouched form needs no normalising.
        self.exact = _text(printed) == printed


class _Form:
    """One form layout (per group set) and the lookups that locating and checking it use."""

    def __init__(self, rows: list[FormRow], tasks: tuple[Task, ...]) -> None:
        self.rows = rows
        self.tasks = tasks
        self.expected = {r.key: r.row for r in rows}
        self.task_codes = {r.key for r in rows if r.kind == "task"}
        # For each task code t, the expected keys "t.<code>" by their <code>: the same test
        # as ``f"{t}.{code}" in expected``, without building the string per row and file.
        self.under: dict[str, dict[str, str]] = {
            t: {k[len(t) + 1 :]: k for k in self.expected if k.startswith(t + ".")}
            for t in self.task_codes
        }
        self.placed = [r for r in rows if r.kind != "text"]
        self.inputs = [_Input(r) for r in rows if r.kind not in ("task", "text")]


_IDENTITY_CODES = frozenset(code for code, *_ in IDENTITY)
# As ``next(... for c, ... in IDENTITY if c == code)`` finds them: the first of a code wins.
_IDENTITY_LABELS = {code: label for code, label, *_ in reversed(IDENTITY)}
_IDENTITY_REQUIRED = {code: required for code, _l, _k, required in reversed(IDENTITY)}
_IDENTITY_KINDS = {code: kind for code, _l, kind, _r in reversed(IDENTITY)}

_last: list[_Index] = []


def _forget(ref: weakref.ref[Catalog]) -> None:
    """The catalog of the cached index is gone: so is the index (and its units)."""
    if _last and _last[0].ref is ref:
        _last.clear()


def _index(catalog: Catalog) -> _Index:
    """The index of ``catalog``, kept while the same catalog object is being checked."""
    if _last and _last[0].ref() is catalog:
        return _last[0]
    index = _Index(catalog)
    _last[:] = [index]
    return index


# Identity ---------------------------------------------------------------------


def read_metadata(book: Book) -> dict[str, str]:
    """The key/value rows of the template's hidden metadata sheet ({} if absent or foreign)."""
    return read_identity(book, cells=False)[0]


def read_identity(book: Book, cells: bool = True) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The hidden sheet's metadata ({} if absent or foreign) and, with ``cells``, its
    input-cell map (the rows below :data:`~dvxl.form.CELL_MAP`): what a signature covers."""
    sheet = book.sheets.get(META)
    if sheet is None:
        return {}, []
    meta: dict[str, str] = {}
    rows = sheet.rows
    start = len(rows)  # of the input-cell map, after its header row
    for at, row in enumerate(rows):
        if len(row) >= 2 and str(row[0]).strip():
            key = str(row[0]).strip()
            if key == CELL_MAP[0]:
                start = at + 1
                break
            meta[key] = _text(row[1])
    if meta.get(KEY_KIND) != KIND:
        return {}, []
    found: list[tuple[str, str]] = []
    for row in rows[start:] if cells else ():
        if len(row) < 2:
            continue
        cell, key = row[0], row[1]
        if type(cell) is str and type(key) is str and cell.isascii() and key.isascii():
            cell, key = cell.strip(), key.strip()  # what _text makes of them, sooner
        else:
            cell, key = _text(cell), _text(key)
        if cell:
            found.append((cell, key))
    return meta, found


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if text.isascii():  # codes, numbers, empty cells: ASCII is NFC already
        return text.strip()
    return unicodedata.normalize("NFC", text).strip()


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^A-Za-z0-9]+", text.upper()) if t}


def _from_content(book: Book, catalog: Catalog) -> tuple[Unit | None, str]:
    """Find the unit from the form's unit code or name cells, then from the file name."""
    index = _index(catalog)
    codes, names = index.codes, index.names
    for sheet in book.sheets.values():
        for row in sheet.rows[:40]:
            for cell in row:
                text = _text(cell)
                if text.upper() in codes:
                    return codes[text.upper()], f"mã đơn vị ghi trong trang «{sheet.name}»"
                if _fold(text) in names:
                    return names[_fold(text)], f"tên đơn vị ghi trong trang «{sheet.name}»"
    return unit_in_name(book.path, catalog) or (None, "")


def _fold(text: str) -> str:
    if not text.isascii():  # ASCII is NFC already
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.casefold().split())


def unit_in_name(path: Path, catalog: Catalog) -> tuple[Unit, str] | None:
    """The unit a file's name or its folder's name («inbox/MTTQ/…») names, and where it was
    found (for messages), else None.

    The file name before its folder; in each, a unit code (a token) before a unit name
    (its slug), the longest name winning: "Văn phòng Đảng ủy xã Tân An" holds "Đảng ủy xã
    Tân An", and its own file must not be taken for that unit's (issue #6). Several codes
    in one name: the first in roster order.
    """
    index = _index(catalog)
    places = ((path.stem, f"tên tệp «{path.name}»"),
              (path.parent.name, f"tên thư mục «{path.parent.name}»"))
    for text, where in places:
        named = [index.code_tokens[t] for t in _tokens(text) if t in index.code_tokens]
        if named:
            return min(named, key=lambda found: found[0])[1], where
    for text, where in places:
        slugged = slug(text)
        best: tuple[int, Unit] | None = None
        for name, unit in index.slugs:
            if name in slugged and (best is None or len(name) > best[0]):
                best = (len(name), unit)
        if best is not None:
            return best[1], where
    return None


#: The finding codes :func:`identify` can emit (frictionless' ``Errors`` of a check).
IDENTITY_EMITS = (
    Code.OTHER_DIRECTIVE, Code.UNIT_UNKNOWN, Code.UNIT_UNIDENTIFIED, Code.METADATA_LOST,
    Code.UNIT_WITHOUT_TASKS, Code.WRONG_PERIOD, Code.CATALOG_CHANGED, Code.TEMPLATE_OLDER,
    Code.TEMPLATE_NEWER, Code.OTHER_UNITS_TEMPLATE, Code.SIGNATURE_INVALID,
    Code.OTHER_WORKSPACE_KEY, Code.UNSIGNED_TEMPLATE,
)


def identify(
    book: Book,
    catalog: Catalog,
    period: Period | None,
    checked: Checked,
    seal: Seal | None = None,
) -> Period | None:
    """Fill ``checked.identity``; add identity findings. The period the book is checked
    against, or None when checking cannot go on.

    ``period`` None: the book is checked against the period it claims (its metadata); a
    book that claims none of the catalog's periods is left for its batch to decide
    (:func:`dvxl.periods.from_claims`) and checked again once that is known.

    ``seal``: the workspace's (:mod:`dvxl.seal`); a book whose metadata it does not prove
    is identified as nobody's (I012, I013), or accepted with I014 when its period's
    templates went out unsigned. None: signatures are not looked at (library use)."""
    file = book.path.name
    meta, cells = read_identity(book, cells=seal is not None)
    ident = checked.identity
    add = checked.findings.append
    if meta and meta.get(KEY_DIRECTIVE, "") != catalog.directive.code:
        add(make(Code.OTHER_DIRECTIVE, file, value=meta.get(KEY_DIRECTIVE, ""),
                 expected=catalog.directive.code))
        return None
    if meta and seal is not None:
        sealed = _seal_finding(meta, cells, seal, file, period)
        if sealed is not None:
            add(sealed)
            if sealed.severity == ERROR:
                return None
    if meta:
        ident.by = "metadata"
        ident.period = meta.get(KEY_PERIOD, "")
        ident.version = meta.get(KEY_VERSION, "")
        ident.fingerprint = meta.get(KEY_FINGERPRINT, "")
        code = meta.get(KEY_UNIT, "")
        unit = _index(catalog).by_code.get(code)
        if unit is None:
            add(make(Code.UNIT_UNKNOWN, file, value=code, unit=code))
            return None
    else:
        unit, source = _from_content(book, catalog)
        if unit is None:
            add(make(Code.UNIT_UNIDENTIFIED, file))
            return None
        ident.by = "content"
        ident.period = period.code if period else ""
        add(make(Code.METADATA_LOST, file, unit=unit.code, value=source))
    ident.unit = unit
    if not _index(catalog).tasks(unit):
        add(make(Code.UNIT_WITHOUT_TASKS, file, unit=unit.code))
        return None
    if period is None:
        period = periods.known(catalog, ident.period)
        if period is None:
            return None
    if ident.period != period.code:
        add(make(Code.WRONG_PERIOD, file, unit=unit.code, value=ident.period, expected=period.code))
        return None
    if meta:
        current = str(catalog.settings.template_version)
        if ident.fingerprint != _index(catalog).fingerprint:
            add(make(Code.CATALOG_CHANGED, file, unit=unit.code, value=ident.version,
                     expected=current))
            return None
        if ident.version != current:
            older = _int(ident.version) < catalog.settings.template_version
            add(
                make(
                    Code.TEMPLATE_OLDER if older else Code.TEMPLATE_NEWER,
                    file,
                    unit=unit.code,
                    value=ident.version,
                    expected=current,
                )
            )
        named = (unit_in_name(book.path, catalog) or (None, ""))[0]
        if named is not None and named.code != unit.code:
            where = f"{book.path.parent.name}/{book.path.name}"
            add(make(Code.OTHER_UNITS_TEMPLATE, file, unit=unit.code, value=where,
                     expected=named.code))
    return period


def _seal_finding(
    meta: dict[str, str],
    cells: list[tuple[str, str]],
    seal: Seal,
    file: str,
    checking: Period | None,
) -> Finding | None:
    """What the signature of a template's metadata says, as a finding (None: it is proven).

    I012 (refused): the signature does not match (unit, period or layout edited, or the
    signature garbled), or is missing in a period whose templates all went out signed.
    I013 (refused): signed with a key this workspace does not have (lost, replaced, or
    another workspace's). I014 (accepted): unsigned, in a period whose templates went out
    before dvxl signed them.
    """
    unit, period = meta.get(KEY_UNIT, ""), meta.get(KEY_PERIOD, "")
    key_id, signature = meta.get(KEY_KEY_ID, ""), meta.get(KEY_SIGNATURE, "")
    if not key_id and not signature:
        if period in seal.signed:
            note = f"không có chữ ký xác thực, trong khi mọi mẫu kỳ {period} văn phòng gửi đều có"
            return make(Code.SIGNATURE_INVALID, file, value=unit, note=note)
        return make(Code.UNSIGNED_TEMPLATE, file, unit=unit)
    if key_id and signature and key_id != seal.key_id:
        note = (
            f"được ký bằng khóa «{key_id}», không phải khóa «{seal.key_id}» của thư mục làm việc"
            if seal.has_key
            else "thư mục làm việc không có tệp khóa ký mẫu .dvxl-key"
        )
        expected = checking.code if checking else period  # the period to make templates for
        return make(Code.OTHER_WORKSPACE_KEY, file, value=unit, expected=expected, note=note)
    if not seal.verifies(meta, cells):
        note = "chữ ký xác thực không khớp với đơn vị, kỳ hoặc bố cục ghi trong mẫu"
        return make(Code.SIGNATURE_INVALID, file, value=unit, note=note)
    return None


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return 0


# Structure --------------------------------------------------------------------


#: The finding codes of the structure checks (:func:`locate` and :func:`check_book`).
STRUCTURE_EMITS = (
    Code.SHEET_MISSING, Code.SHEET_UNPROTECTED, Code.ROWS_MOVED, Code.PRINTED_TEXT_EDITED,
)


def locate(sheet: Sheet, form: _Form, file: str, unit: str) -> tuple[dict[str, int], list[Finding]]:
    """Where each form key actually is, and S002 findings where it is not where it should be.

    Keys are found by reading the code column under each task heading, so a
    moved row is still read from where it went (the error still blocks the merge).
    """
    found: dict[str, int] = {}
    task_codes, under = form.task_codes, form.under
    current = ""
    keys: dict[str, str] = {}  # the expected keys under the current task, by code
    for index, row in enumerate(sheet.rows):
        code = _text(row[COL_CODE]) if len(row) > COL_CODE else ""
        if not code:
            continue
        if code in task_codes and code not in found:
            current = code
            keys = under[code]
            found[code] = index
        elif code in _IDENTITY_CODES and code not in found:
            found[code] = index
        elif current and code in keys and keys[code] not in found:
            found[keys[code]] = index
    findings = []
    reported_tasks: set[str] = set()
    for r in form.placed:
        actual = found.get(r.key)
        if actual == r.row:
            continue
        task = r.task.code if r.task else ""
        if task in reported_tasks:
            continue
        reported_tasks.add(task)
        # Named by the label the clerk sees: the code column is hidden (issue 15).
        shown = _text(sheet.value(r.row, COL_LABEL))
        findings.append(
            make(
                Code.ROWS_MOVED,
                file,
                unit=unit,
                sheet=FORM,
                cell=f"C{r.row + 1}",
                task=task,
                indicator=r.indicator.code if r.indicator else r.key,
                value=shown or "(trống)",
                expected=_printed_label(r),
            )
        )
    return found, findings


def _printed_label(row: FormRow) -> str:
    """The label column of ``row`` as the template writes it."""
    if row.indicator is not None:
        return row.indicator.label + (" (*)" if row.indicator.required else "")
    if row.kind == "task" and row.task is not None:
        return f"Nhiệm vụ {row.task.code}: {row.task.title}"
    return _IDENTITY_LABELS.get(row.key, row.key) + " (*)"


# Cells ------------------------------------------------------------------------

_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")
_US = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_DATE_NUMERIC = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})$")
_DATE_WORDS = re.compile(r"^(?:ngày\s*)?(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})$", re.I)
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$")
DOCUMENT = re.compile(
    r"(?:^|\s)(?:số\s*)?(\d+[a-zA-Z]?-[A-ZĐ][A-ZĐa-zđ0-9]*(?:/[A-ZĐa-zđ0-9-]+)+)"
    r"\s*[,;]?\s*(?:ngày\s*)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})",
    re.IGNORECASE,
)
# Characters that Vietnamese Unicode text never uses but TCVN3 (ABC) and VNI text
# shows when read as Unicode (e.g. "Hµ Néi", "Haø Noäi"); two or more mark a legacy font.
_LEGACY = re.compile(
    "[\u00a8\u00a9\u00aa\u00ab\u00ac\u00ae\u00b5\u00b6\u00b7\u00b8\u00b9"
    "\u00bb\u00bc\u00bd\u00be\u00c6\u00c7\u00cb\u00ce\u00cf\u00d1\u00d8"
    "\u00db\u00de\u00df\u00e4\u00e5\u00e6\u00e7\u00eb\u00ee\u00ef\u00f1"
    "\u00f6\u00f8\u00fb\u00fc\u00fe]"
)


#: A figure in a return is below this in size: Excel keeps 15 significant digits, and no
#: count, sum of money or score of a unit comes near it; beyond are typing or hostile values.
MAX_FIGURE = 1e15


def parse_number(text: str) -> float | None:
    """A number as a Vietnamese clerk might type it: 1.234 / 12,5 / 1.234,5 / 12."""
    t = text.replace("\u00a0", "").replace(" ", "")
    if _THOUSANDS_DOT.match(t):
        return float(t.replace(".", "").replace(",", "."))
    if _DECIMAL_COMMA.match(t):
        return float(t.replace(",", "."))
    if _PLAIN.match(t):
        return float(t)
    if _US.match(t):
        return float(t.replace(",", ""))
    return None


def parse_date(text: str) -> dt.date | None:
    t = " ".join(text.split())
    for pattern, order in (
        (_DATE_NUMERIC, (2, 1, 0)),
        (_DATE_WORDS, (2, 1, 0)),
        (_DATE_ISO, (0, 1, 2)),
    ):
        match = pattern.match(t)
        if match:
            parts = [int(g) for g in match.groups()[:3]]
            try:
                return dt.date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                return None
    return None


def _num(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.6g}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"từ {_num(lo)} đến {_num(hi)}"
    if lo is not None:
        return f"không nhỏ hơn {_num(lo)}"
    return f"không lớn hơn {_num(hi or 0)}"


#: The finding codes of the cell checks (:class:`_CellChecker`, identity cells included).
CELL_EMITS = (
    Code.REQUIRED_EMPTY, Code.WRONG_TYPE, Code.OUT_OF_RANGE, Code.NOT_IN_LIST,
    Code.DATE_OUTSIDE_PERIOD, Code.DOCUMENT_NUMBER_FORMAT, Code.FORMULA, Code.NOT_INTEGER,
    Code.NUMBER_AS_TEXT, Code.DATE_AS_TEXT, Code.DECOMPOSED_TEXT, Code.EXTRA_SPACES,
    Code.LEGACY_ENCODING, Code.REPORT_DATE_LATE, Code.PHONE_AS_NUMBER,
)


class _CellChecker:
    def __init__(self, catalog: Catalog, unit: Unit, period: Period, book: Book) -> None:
        self.catalog = catalog
        self.index = _index(catalog)
        self.unit = unit
        self.period = period
        self.file = book.path.name
        self.formulas = book.formulas.get(FORM, set())
        self.findings: list[Finding] = []

    def add(
        self,
        code: Code,
        cell: str,
        ind: Indicator | None,
        task: Task | None,
        *,
        indicator: str = "",
        label: str = "",
        **fields: Any,
    ) -> None:
        """A finding at ``cell``; ``indicator``/``label`` name identity cells (no Indicator)."""
        self.findings.append(
            make(
                code,
                self.file,
                unit=self.unit.code,
                sheet=FORM,
                cell=cell,
                task=task.code if task else "",
                indicator=ind.code if ind else indicator,
                label=ind.label if ind else label,
                **fields,
            )
        )

    def text(self, raw: Any, cell: str, ind: Indicator | None, task: Task | None,
             **names: str) -> Any:
        """Normalise text: NFC, trimmed; warn on each mend.

        ``names`` (``indicator``, ``label``) name an identity cell, which has no Indicator:
        without them its warnings would read «» (issue 15).
        """
        if not isinstance(raw, str):
            return raw
        value = raw
        # ASCII text is NFC already, and holds none of the _LEGACY characters.
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
            self.add(Code.DECOMPOSED_TEXT, cell, ind, task, value=value, **names)
        if value.isprintable():
            # No line breaks nor other control characters: one line, which the general
            # case below would strip alone.
            stripped = value.strip()
        else:
            stripped = "\n".join(line.strip() for line in value.strip().splitlines())
        if stripped != value and value.strip():
            self.add(Code.EXTRA_SPACES, cell, ind, task, value=value, **names)
        if not stripped.isascii() and len(_LEGACY.findall(stripped)) >= 2:
            self.add(Code.LEGACY_ENCODING, cell, ind, task, value=stripped[:60], **names)
        return stripped

    def value(self, raw: Any, cell: str, ind: Indicator, task: Task) -> Any:
        """The typed value of one indicator cell, or None (with findings) when unusable."""
        if cell in self.formulas:
            self.add(Code.FORMULA, cell, ind, task)
        if isinstance(raw, str):  # (text() leaves anything else as it is)
            raw = self.text(raw, cell, ind, task)
        if raw in ("", None):
            if ind.required:
                self.add(Code.REQUIRED_EMPTY, cell, ind, task, hint=required_hint(ind.type))
            return None
        kind = ind.type
        if kind in ("integer", "decimal", "score"):
            return self.number(raw, cell, ind, task)
        if kind == "date":
            day = self.date(raw, cell, ind, task)
            if day is not None and not self.period.start <= day <= self.period.end:
                self.add(
                    Code.DATE_OUTSIDE_PERIOD,
                    cell,
                    ind,
                    task,
                    value=format_date(day),
                    expected=f"trong kỳ từ {format_date(self.period.start)} "
                    f"đến {format_date(self.period.end)}",
                )
                return None
            return day
        if kind == "choice":
            allowed, folded = self.index.choices(ind.choices)
            option = folded.get(_fold(str(raw)))  # the first option that folds the same
            if option is not None:
                return option
            self.add(
                Code.NOT_IN_LIST, cell, ind, task, value=_text(raw), expected="; ".join(allowed)
            )
            return None
        text = _text(raw) if not isinstance(raw, str) else raw
        if kind == "doclist":
            for line in (ln.strip() for ln in text.splitlines()):
                if line and not DOCUMENT.search(line):
                    self.add(
                        Code.DOCUMENT_NUMBER_FORMAT,
                        cell,
                        ind,
                        task,
                        value=line,
                        expected="«45-KH/HU ngày 12/3/2020»",
                    )
        return text

    def number(self, raw: Any, cell: str, ind: Indicator, task: Task) -> float | None:
        if type(raw) is float:  # a typed number, by far the most common: the branch below
            number = raw
        elif isinstance(raw, bool | dt.date):
            self.add(Code.WRONG_TYPE, cell, ind, task, value=_text(raw), expected="một số")
            return None
        elif isinstance(raw, int | float):
            number = float(raw)
        else:
            parsed = parse_number(str(raw))
            if parsed is None or not math.isfinite(parsed) or abs(parsed) >= MAX_FIGURE:
                self.add(Code.WRONG_TYPE, cell, ind, task, value=str(raw), expected="một số")
                return None
            number = parsed
            self.add(Code.NUMBER_AS_TEXT, cell, ind, task, value=str(raw), expected=_num(number))
        if not math.isfinite(number) or abs(number) >= MAX_FIGURE:
            # NaN, an infinity, 1e308: no count or score is such a figure, and a NaN would
            # pass every bound and count as 0 (issue 14)
            self.add(Code.WRONG_TYPE, cell, ind, task, value=_text(raw)[:40],
                     expected=f"một số (nhỏ hơn {_num(MAX_FIGURE)})")
            return None
        if ind.type == "integer" and not number.is_integer():
            self.add(Code.NOT_INTEGER, cell, ind, task, value=_num(number))
            return None
        lo, hi = ind.minimum, ind.maximum
        if ind.type == "score":
            lo, hi = 0, self.index.points(self.unit.rating_group, task.code) or 0
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            self.add(
                Code.OUT_OF_RANGE, cell, ind, task, value=_num(number), expected=_bounds(lo, hi)
            )
            return None
        return number

    def date(
        self, raw: Any, cell: str, ind: Indicator | None, task: Task | None, label: str = ""
    ) -> dt.date | None:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        day = parse_date(str(raw)) if isinstance(raw, str) else None
        if day is None:
            self.add(
                Code.WRONG_TYPE,
                cell,
                ind,
                task,
                value=_text(raw),
                expected="một ngày (ngày/tháng/năm)",
                label=label,
            )
            return None
        self.add(
            Code.DATE_AS_TEXT,
            cell,
            ind,
            task,
            value=str(raw),
            expected=format_date(day),
            label=label,
        )
        return day


def check_book(
    book: Book, catalog: Catalog, period: Period | None, seal: Seal | None = None
) -> Checked:
    """Every check of one returned book (identity, structure, cells, rules); ``period``
    None: against the period the book claims; ``seal``: the workspace's (see
    :func:`identify`)."""
    checked = Checked(Identity())
    found_period = identify(book, catalog, period, checked, seal)
    if found_period is None:
        return checked
    period = found_period
    unit = checked.identity.unit
    assert unit is not None
    file = book.path.name
    sheet = book.sheets.get(FORM)
    if sheet is None:
        checked.findings.append(make(Code.SHEET_MISSING, file, unit=unit.code, expected=FORM))
        return checked
    if book.protected.get(FORM) is False:
        checked.findings.append(make(Code.SHEET_UNPROTECTED, file, unit=unit.code, sheet=FORM))
    index = _index(catalog)
    form = index.form(unit)
    found, moved = locate(sheet, form, file, unit.code)
    checked.findings += moved
    checker = _CellChecker(catalog, unit, period, book)
    by_task: dict[str, dict[str, Any]] = {}
    lines, cells, values = sheet.rows, checked.cells, checked.values
    for item in form.inputs:
        at = found.get(item.key)
        if at is None:
            continue
        cell = _value_cell(at)
        cells[item.key] = cell
        # sheet.value(at, ...) inlined: ``at`` was found by enumerating the sheet's rows.
        line = lines[at]
        raw = line[COL_VALUE] if len(line) > COL_VALUE else ""
        if item.identity:
            values[item.key] = _identity_value(checker, item.key, raw, cell)
            continue
        ind, task = item.indicator, item.task
        assert ind is not None and task is not None
        shown = line[COL_LABEL] if len(line) > COL_LABEL else ""
        if not (item.exact and shown == item.printed):  # else it reads as printed, surely
            label = _text(shown)
            if label != item.printed:
                checked.findings.append(
                    make(
                        Code.PRINTED_TEXT_EDITED,
                        file,
                        unit=unit.code,
                        sheet=FORM,
                        cell=f"C{at + 1}",
                        task=task.code,
                        indicator=ind.code,
                        value=label,
                        expected=item.printed,
                    )
                )
        value = checker.value(raw, cell, ind, task)
        values[item.key] = value
        by_task.setdefault(task.code, {})[ind.code] = value
    checked.findings += checker.findings
    for task in form.tasks:
        checked.findings += _check_rules(
            index, catalog, task, by_task.get(task.code, {}), checked.cells, file, unit
        )
    return checked


def _phone(checker: _CellChecker, code: str, raw: float, cell: str) -> str:
    """A phone number that arrived as a number (a template before issue 15, or a cell whose
    text format was pasted over): its leading zero is gone. Vietnamese numbers have 9 or 10
    digits after the 0, so such a number gets its zero back, with a W109 warning that says
    so and what to type; other numbers are kept as they read, with the same warning."""
    digits = _text(raw)
    phone = "0" + digits if digits.isdigit() and len(digits) in (9, 10) else digits
    checker.add(Code.PHONE_AS_NUMBER, cell, None, None, indicator=code,
                label=_IDENTITY_LABELS[code], value=digits, expected=phone)
    return phone


@functools.lru_cache(maxsize=4096)
def _value_cell(index: int) -> str:
    """The A1 address of the value cell of zero-based row ``index``: one string per address,
    shared by every report (and by their pickles, sent from the worker processes)."""
    return f"E{index + 1}"


def _identity_value(checker: _CellChecker, code: str, raw: Any, cell: str) -> Any:
    label = _IDENTITY_LABELS[code]
    raw = checker.text(raw, cell, None, None, indicator=code, label=label)
    required = _IDENTITY_REQUIRED[code]
    if raw in ("", None):
        if required:
            checker.add(Code.REQUIRED_EMPTY, cell, None, None, indicator=code, label=label,
                        hint=required_hint(_IDENTITY_KINDS[code]))
        return None
    if _IDENTITY_KINDS[code] == "phone" and isinstance(raw, int | float) \
            and not isinstance(raw, bool):
        return _phone(checker, code, raw, cell)
    if code != "NGAY_BC":
        return _text(raw)
    day = checker.date(raw, cell, None, None, label=label)
    p = checker.period
    if day is not None and day < p.start:
        checker.add(
            Code.DATE_OUTSIDE_PERIOD,
            cell,
            None,
            None,
            indicator=code,
            label=label,
            value=format_date(day),
            expected=f"từ ngày {format_date(p.start)} trở đi",
        )
        return None
    if day is not None and day > p.deadline + dt.timedelta(days=60):
        checker.add(
            Code.REPORT_DATE_LATE,
            cell,
            None,
            None,
            indicator=code,
            label=label,
            value=format_date(day),
            expected=format_date(p.deadline),
        )
    return day


#: The finding codes of the catalog's rules.
RULE_EMITS = (Code.RULE_FAILED, Code.RULE_TO_REVIEW)


def _check_rules(
    index: _Index,
    catalog: Catalog,
    task: Task,
    values: dict[str, Any],
    cells: dict[str, str],
    file: str,
    unit: Unit,
) -> list[Finding]:
    findings: list[Finding] = []
    checks = index.rules(task)
    if not checks:
        return findings
    present = set(values)
    # What the rules see: dates as written. Made once for all of the task's rules (none
    # changes it).
    data = {k: format_date(v) if isinstance(v, dt.date) else v for k, v in values.items()}
    for rule, check, names in checks:
        if not names <= present:
            continue  # a "*" rule about indicators this task does not have
        if check(data) is False:
            involved = [i.code for i in catalog.indicators_for(task) if i.code in names]
            shown = "; ".join(f"{code} = {_shown(values.get(code))}" for code in involved)
            first = involved[0] if involved else ""
            findings.append(
                make(
                    Code.RULE_FAILED if rule.severity == ERROR else Code.RULE_TO_REVIEW,
                    file,
                    unit=unit.code,
                    sheet=FORM,
                    cell=cells.get(f"{task.code}.{first}", ""),
                    task=task.code,
                    indicator=first,
                    value=shown,
                    expected=rule.expression,
                    rule=rule.code,
                    severity=rule.severity,
                    note=rule.message,
                )
            )
    return findings


def _shown(value: Any) -> str:
    """A value as the unit typed it, for a message: numbers the Vietnamese way, text clipped."""
    if value is None or value == "":
        return "(trống)"
    if isinstance(value, int | float):
        return _num(float(value))
    if isinstance(value, dt.date):
        return format_date(value)
    text = str(value).replace("\n", " / ")
    return text if len(text) <= 40 else text[:39] + "…"


#: Every finding code this module can emit.
EMITS = IDENTITY_EMITS + STRUCTURE_EMITS + CELL_EMITS + RULE_EMITS
