"""Marking a returned .xlsx by editing its XML parts: the fast path of :mod:`dvxl.markup`.

openpyxl loads and saves a 27 KB return in about 55 ms; with 500 wrong files in a
national round that alone took half a minute (issue #6). A return still in the form
its template gave it (every template is) is marked here instead, in a few
milliseconds, by changing only what the marks need:

* ``styles.xml`` gains, for each style a marked cell had, a copy with the red (or
  amber) fill and font colour, and the styles of the list sheet;
* each marked cell's ``s`` points at its new style; its sheet gets a comments part, the
  VML drawing Excel shows comments with, and a ``legacyDrawing`` element;
* the sheet «Lỗi cần sửa» is added first, made active and the only selected one;
* ``workbook.xml``, the relationships and the content types list the new parts.

Every other part is copied as it is, compressed bytes and all (:mod:`dvxl.zipwrite`), so
the unit's file keeps everything openpyxl would have dropped (data validation extensions,
printer settings, custom XML). A package this module does not recognise raises
:class:`Unfit`, and openpyxl marks it.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from xml.sax.saxutils import escape, quoteattr

from dvxl import zipwrite
from dvxl.gates import Refused

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_WORKSHEET = f"{NS_REL}/worksheet"
REL_COMMENTS = f"{NS_REL}/comments"
REL_VML = f"{NS_REL}/vmlDrawing"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class Unfit(Exception):
    """The package is not in a form this module edits; openpyxl marks it instead."""


@dataclass(frozen=True)
class CellMark:
    """One cell to colour and comment."""

    sheet: str
    column: str  # letters, upper case
    row: int
    error: bool  # red; else amber
    text: str  # the comment
    height: int  # of the comment box, in pixels
    width: int


@dataclass(frozen=True)
class Look:
    """Colours (RRGGBB) of the marks and of the list sheet."""

    error_fill: str
    error_font: str
    warning_fill: str
    warning_font: str
    header_fill: str
    link_font: str
    font: str  # the font's name
    author: str


@dataclass
class ListSheet:
    """The sheet listing the findings, as :func:`dvxl.markup.list_content` describes it."""

    name: str
    columns: list[tuple[str, float]]  # (title, width)
    lines: list[tuple[str, str, float]]  # (text, look, row height)
    header: int  # 1-based row of the table header
    rows: list[tuple[list[int | str], bool, str, float]]  # values, error?, link target, height
    print_setup: dict[str, float] = field(default_factory=dict)  # margins, in inches


_BROKEN = (KeyError, ValueError, IndexError, zipfile.BadZipFile, ET.ParseError, UnicodeDecodeError,
           zipwrite.TooLarge, Refused)


class Package:
    """A returned .xlsx/.xlsm to be marked: read from its bytes, never from its path."""

    def __init__(self, data: bytes) -> None:
        try:
            self._package = _Package(data)
        except _BROKEN as exc:
            raise Unfit(f"{type(exc).__name__}: {exc}") from exc

    @property
    def sheet_names(self) -> list[str]:
        return [name for name, _ in self._package.sheets]

    def marked(self, marks: list[CellMark], sheet: ListSheet, look: Look) -> bytes:
        """The package with ``marks`` made and ``sheet`` added first (raises :class:`Unfit`)."""
        try:
            self._package.apply(marks, sheet, look)
            return self._package.save()
        except _BROKEN as exc:
            raise Unfit(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._package.archive.close()


def empty_package(font: str) -> bytes:
    """A workbook with no sheet yet, to which :meth:`Package.marked` adds the list sheet."""
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>'),
        "_rels/.rels": (
            f'<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><bookViews>'
            '<workbookView activeTab="0"/></bookViews><sheets></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{NS_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{NS_MAIN}"><fonts count="1">{_font(font, 12)}</fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
            'borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" '
            'fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1">'
            '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, XML_HEAD + text)
    return out.getvalue()


# The package ----------------------------------------------------------------------------------


class _Package:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.archive = zipfile.ZipFile(io.BytesIO(data))
        infos = self.archive.infolist()
        # The parts, inflated only when read; every part not changed is copied compressed.
        self.parts: dict[str, zipfile.ZipInfo] = {i.filename: i for i in infos}
        if len(self.parts) != len(infos):
            raise Unfit("two parts of one name")
        names = set(self.parts)
        if any("comments" in n.lower() or n.lower().endswith(".vml") for n in names):
            raise Unfit("the file has comments already (an earlier marked copy, or the unit's)")
        self.workbook = "xl/workbook.xml"
        self.workbook_rels = "xl/_rels/workbook.xml.rels"
        for needed in (self.workbook, self.workbook_rels, "xl/styles.xml", "[Content_Types].xml"):
            if needed not in names:
                raise Unfit(f"no part {needed}")
        self.text: dict[str, str] = {}  # parts changed or added, as text
        self.original: dict[str, str] = {}  # parts read, as text
        self.sheets = self._sheets()

    def read(self, name: str) -> str:
        """The part's text as it is now (changed or not)."""
        if name in self.text:
            return self.text[name]
        if name not in self.original:
            self.original[name] = self.archive.read(self.parts[name]).decode("utf-8")
        return self.original[name]

    def _sheets(self) -> list[tuple[str, str]]:
        """(sheet name, part name) in workbook order."""
        targets = {
            rel.get("Id", ""): rel.get("Target", "")
            for rel in ET.fromstring(self.read(self.workbook_rels))
            if rel.get("Type") == REL_WORKSHEET and rel.get("TargetMode") != "External"
        }
        root = ET.fromstring(self.read(self.workbook))
        if root.tag != f"{{{NS_MAIN}}}workbook":
            raise Unfit("not a transitional SpreadsheetML workbook")
        sheets = []
        for element in root.iter(f"{{{NS_MAIN}}}sheet"):
            target = targets.get(element.get(f"{{{NS_REL}}}id", ""), "")
            if not target:
                raise Unfit("a sheet without its part")
            part = target[1:] if target.startswith("/") else f"xl/{target}"
            if part not in self.parts:
                raise Unfit(f"no part {part}")
            sheets.append((element.get("name", ""), part))
        return sheets

    def apply(self, marks: list[CellMark], sheet: ListSheet, look: Look) -> None:
        names = [name for name, _ in self.sheets]
        if sheet.name in names:
            raise Unfit("the list sheet is there already")
        styles = _Styles(self.read("xl/styles.xml"))
        parts = dict(self.sheets)
        by_sheet: dict[str, dict[tuple[str, int], CellMark]] = {}
        merged: dict[str, list[tuple[int, int, int, int, str]]] = {}
        for m in marks:
            if m.sheet in parts:
                if m.sheet not in merged:
                    _check_root(self.read(parts[m.sheet]))
                    merged[m.sheet] = _merged_ranges(self.read(parts[m.sheet]))
                column, row = _top_left(merged[m.sheet], m.column, m.row)
                by_sheet.setdefault(m.sheet, {})[(column, row)] = m
        for number, (name, cells) in enumerate(by_sheet.items(), 1):
            self._mark_sheet(parts[name], cells, styles, look, number)
        for _, part in self.sheets:  # only the new sheet is selected
            text = self.read(part)
            if "tabSelected" in text:
                self.text[part] = re.sub(r'\stabSelected="(?:1|true)"', "", text)
        list_part = self._free("xl/worksheets/sheet{}.xml")
        self.text[list_part] = _list_sheet_xml(sheet, styles, look)
        self.text["xl/styles.xml"] = styles.result()
        self._add_to_workbook(sheet, list_part)
        self._content_type(f"/{list_part}", CT_WORKSHEET)
        if by_sheet and 'Extension="vml"' not in self.read("[Content_Types].xml"):
            types = self.read("[Content_Types].xml")
            self.text["[Content_Types].xml"] = _insert_before_end(
                types, "Types", f'<Default Extension="vml" ContentType="{CT_VML}"/>')
        if "docProps/app.xml" in self.parts:  # its list of sheets would be out of date
            self.text["docProps/app.xml"] = (
                XML_HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
                '2006/extended-properties"><Application>Microsoft Excel</Application>'
                "</Properties>")

    def _free(self, pattern: str) -> str:
        """The first name of ``pattern`` (numbered from 1) no part has."""
        taken = {n.lower() for n in [*self.parts, *self.text]}
        number = 1
        while pattern.format(number).lower() in taken:
            number += 1
        return pattern.format(number)

    def _content_type(self, part: str, kind: str) -> None:
        types = self.read("[Content_Types].xml")
        self.text["[Content_Types].xml"] = _insert_before_end(
            types, "Types", f'<Override PartName={quoteattr(part)} ContentType="{kind}"/>')

    def _relate(self, rels_part: str, kind: str, target: str) -> str:
        """Add a relationship to ``rels_part`` (made if missing); its new Id."""
        if rels_part in self.parts or rels_part in self.text:
            text = self.read(rels_part)
        else:
            text = f'{XML_HEAD}<Relationships xmlns="{NS_PKG_REL}"></Relationships>'
        taken = set(re.findall(r'\sId="([^"]*)"', text))
        number = 1
        while f"rIdDvxl{number}" in taken:
            number += 1
        rid = f"rIdDvxl{number}"
        self.text[rels_part] = _insert_before_end(
            text, "Relationships",
            f'<Relationship Id="{rid}" Type="{kind}" Target={quoteattr(target)}/>')
        return rid

    def _mark_sheet(self, part: str, cells: dict[tuple[str, int], CellMark], styles: _Styles,
                    look: Look, number: int) -> None:
        text = self.read(part)
        if "<legacyDrawing" in text:
            raise Unfit("the sheet has a legacy drawing already")
        for (column, row), m in cells.items():
            restyle = partial(styles.marked, error=m.error, look=look)
            text = _restyle(text, f"{column}{row}", restyle)
        comments = self._free("xl/comments{}.xml")
        vml = self._free("xl/drawings/vmlDrawing{}.vml")
        self.text[comments] = _comments_xml(cells, look.author)
        self.text[vml] = _vml_xml(cells, number)
        folder, _, base = part.rpartition("/")
        rels = f"{folder}/_rels/{base}.rels"
        self._relate(rels, REL_COMMENTS, f"/{comments}")
        rid = self._relate(rels, REL_VML, f"/{vml}")
        self._content_type(f"/{comments}", CT_COMMENTS)
        element = f'<legacyDrawing{_r(text)} r:id="{rid}"/>'
        self.text[part] = _insert_legacy_drawing(text, element)

    def _add_to_workbook(self, sheet: ListSheet, part: str) -> None:
        rid = self._relate(self.workbook_rels, REL_WORKSHEET, part[len("xl/"):])
        text = self.read(self.workbook)
        ids = [int(i) for i in re.findall(r'<sheet\b[^>]*\ssheetId="(\d+)"', text)]
        entry = (f"<sheet{_r(text)} name={quoteattr(sheet.name)} "
                 f'sheetId="{max(ids, default=0) + 1}" r:id="{rid}"/>')
        if text.count("<sheets>") != 1:
            raise Unfit("no plain <sheets> element")
        text = text.replace("<sheets>", "<sheets>" + entry, 1)
        # Sheet-local names move one place along; the list sheet's own come first.
        text = re.sub(r'(\slocalSheetId=")(\d+)(")',
                      lambda m: f"{m[1]}{int(m[2]) + 1}{m[3]}", text)
        quoted = "'" + sheet.name.replace("'", "''") + "'"
        last = sheet.header + max(len(sheet.rows), 1)
        letter = _letters(len(sheet.columns))
        names = (
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"{escape(quoted)}!$A${sheet.header}:${letter}${last}</definedName>"
            f'<definedName name="_xlnm.Print_Titles" localSheetId="0">'
            f"{escape(quoted)}!${sheet.header}:${sheet.header}</definedName>"
        )
        if "<definedNames>" in text:
            text = text.replace("<definedNames>", "<definedNames>" + names, 1)
        elif "<definedNames" in text:
            raise Unfit("unusual <definedNames>")
        else:
            text = text.replace("</sheets>", f"</sheets><definedNames>{names}</definedNames>", 1)
        view = re.search(r"<workbookView\b[^>]*?/?>", text)
        if view:
            tag = _set_attribute(_set_attribute(view[0], "activeTab", "0"), "firstSheet", None)
            text = text[: view.start()] + tag + text[view.end() :]
        self.text[self.workbook] = text

    def save(self) -> bytes:
        """The package: the parts changed deflated again, every other copied compressed."""
        out = zipwrite.Package()
        for name, info in self.parts.items():
            if name in self.text:
                out.add(name, self.text[name].encode())
            else:
                out.copy(self.data, info)
        for name, text in self.text.items():
            if name not in self.parts:
                out.add(name, text.encode())
        return out.finish()


# Cells and styles -----------------------------------------------------------------------------


def _r(text: str) -> str:
    """The declaration an element using the prefix ``r:`` needs in ``text``: none when the
    root element binds ``r`` to the relationships namespace (every writer we know does)."""
    root = re.search(r"<[A-Za-z_][^\s>]*\s[^>]*>", text)
    if root and f'xmlns:r="{NS_REL}"' in root[0]:
        return ""
    return f' xmlns:r="{NS_REL}"'


def _check_root(text: str) -> None:
    if not re.match(r"(?:<\?xml[^>]*\?>\s*)?<worksheet[\s>]", text):
        raise Unfit("a worksheet whose root is not a plain <worksheet>")


def _merged_ranges(text: str) -> list[tuple[int, int, int, int, str]]:
    """A sheet's merged ranges: (first row, last row, first column, last column, letters of
    the first column)."""
    ranges = []
    for ref in re.findall(r'<mergeCell\s+ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"', text):
        (c1, r1), (c2, r2) = (_split(a) for a in ref)
        ranges.append((r1, r2, column_number(c1), column_number(c2), c1))
    return ranges


def _top_left(merged: list[tuple[int, int, int, int, str]], column: str,
              row: int) -> tuple[str, int]:
    """The cell a mark goes to: the top-left one of the merged range holding it."""
    col = column_number(column)
    for r1, r2, col1, col2, c1 in merged:
        if r1 <= row <= r2 and col1 <= col <= col2:
            return c1, r1
    return column, row


def _split(address: str) -> tuple[str, int]:
    match = re.fullmatch(r"([A-Z]+)([0-9]+)", address)
    if match is None:
        raise Unfit(f"unusual cell reference {address}")
    return match[1], int(match[2])


def _restyle(text: str, address: str, new_style: Callable[[int], int]) -> str:
    """``text`` with the style of the cell at ``address`` replaced by ``new_style(old)``."""
    found = list(re.finditer(rf'<c\s+r="{address}"[^>]*?(/?)>', text))
    if len(found) != 1:
        raise Unfit(f"cell {address} is not written once, plainly")
    tag = found[0][0]
    style = re.search(r'\ss="(\d+)"', tag)
    new = new_style(int(style[1]) if style else 0)
    return text[: found[0].start()] + _set_attribute(tag, "s", str(new)) + text[found[0].end() :]


def _set_attribute(tag: str, name: str, value: str | None) -> str:
    """A start tag with attribute ``name`` set to ``value`` (removed when None)."""
    pattern = re.compile(rf'\s{name}="[^"]*"')
    tag = pattern.sub("", tag)
    if value is None:
        return tag
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'


class _Styles:
    """``styles.xml`` with fonts, fills, borders and cell formats appended."""

    SECTIONS = (("fonts", "font"), ("fills", "fill"), ("borders", "border"), ("cellXfs", "xf"))

    def __init__(self, text: str) -> None:
        self.text = text
        self.items: dict[str, list[str]] = {}
        self.added: dict[str, list[str]] = {}
        for section, child in self.SECTIONS:
            self.items[section] = _children(text, section, child)
            self.added[section] = []
        self._cache: dict[object, int] = {}

    def add(self, section: str, element: str) -> int:
        """The index of ``element`` in ``section``, appended once."""
        key = (section, element)
        if key not in self._cache:
            self.added[section].append(element)
            self._cache[key] = len(self.items[section]) + len(self.added[section]) - 1
        return self._cache[key]

    def marked(self, style: int, error: bool, look: Look) -> int:
        """The cell format ``style`` with the error (or warning) fill and font colour."""
        xf = self.items["cellXfs"][style]
        start = re.match(r"<xf\b[^>]*?/?>", xf)
        assert start is not None
        font_id = re.search(r'\sfontId="(\d+)"', start[0])
        font = self.items["fonts"][int(font_id[1]) if font_id else 0]
        colour = look.error_font if error else look.warning_font
        font = re.sub(r"<color\b[^>]*/>|<color\b[^>]*>.*?</color>", "", font, flags=re.S)
        if font.endswith("/>"):
            font = font[:-2] + ">" + "</font>"
        font = font[: -len("</font>")] + f'<color rgb="FF{colour}"/></font>'
        fill = _solid(look.error_fill if error else look.warning_fill)
        tag = start[0]
        for name, value in (("fontId", str(self.add("fonts", font))),
                            ("fillId", str(self.add("fills", fill))),
                            ("applyFont", "1"), ("applyFill", "1")):
            tag = _set_attribute(tag, name, value)
        return self.add("cellXfs", tag + xf[len(start[0]):])

    def cell(self, font: str, fill: int = 0, border: int = 0, align: str = "") -> int:
        """A cell format of the list sheet (``align``: the attributes of <alignment>)."""
        font_id = self.add("fonts", font)
        attrs = (f'numFmtId="0" fontId="{font_id}" fillId="{fill}" borderId="{border}" xfId="0" '
                 'applyFont="1"' + (' applyFill="1"' if fill else "")
                 + (' applyBorder="1"' if border else "") + ' applyAlignment="1"')
        return self.add("cellXfs", f"<xf {attrs}><alignment {align}/></xf>")

    def result(self) -> str:
        text = self.text
        for section, _ in self.SECTIONS:
            if not self.added[section]:
                continue
            count = len(self.items[section]) + len(self.added[section])
            text = _insert_before_end(text, section, "".join(self.added[section]))
            start = re.search(rf"<{section}\b[^>]*>", text)
            assert start is not None
            text = (text[: start.start()] + _set_attribute(start[0], "count", str(count))
                    + text[start.end() :])
        return text


def _children(text: str, section: str, child: str) -> list[str]:
    """The ``child`` elements of the one ``section`` element of ``text``."""
    if text.count(f"<{section}") != 1 or text.count(f"</{section}>") != 1:
        raise Unfit(f"no plain <{section}>")
    body = text[text.index(f"<{section}") : text.index(f"</{section}>")]
    body = body[body.index(">") + 1 :]
    found = re.findall(
        rf"<{child}\b[^>]*/>|<{child}\b[^>]*[^/]>.*?</{child}>|<{child}>.*?</{child}>",
        body, flags=re.S)
    if _squeezed("".join(found)) != _squeezed(body):
        raise Unfit(f"unusual content in <{section}>")
    return found


def _squeezed(xml: str) -> str:
    return re.sub(r">\s+<", "><", xml).strip()


def _solid(rgb: str) -> str:
    return (f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>'
            f'<bgColor rgb="FF{rgb}"/></patternFill></fill>')


def _font(name: str, size: int, *, bold: bool = False, italic: bool = False,
          colour: str = "", underline: bool = False) -> str:
    parts = ["<b/>" if bold else "", "<i/>" if italic else "", "<u/>" if underline else "",
             f'<sz val="{size}"/>', f'<color rgb="FF{colour}"/>' if colour else "",
             f"<name val={quoteattr(name)}/>"]
    return "<font>" + "".join(parts) + "</font>"


def _insert_before_end(text: str, element: str, inserted: str) -> str:
    end = text.rfind(f"</{element}>")
    if end < 0:
        raise Unfit(f"no </{element}>")
    return text[:end] + inserted + text[end:]


_AFTER_LEGACY = re.compile(
    r"<(?:legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts"
    r"|extLst)[\s/>]")
_BEFORE_LEGACY = re.compile(
    r"</sheetData>|<sheetData/>|</conditionalFormatting>|</dataValidations>|</hyperlinks>"
    r"|<pageSetup\b[^>]*>|</headerFooter>|<headerFooter/>|</rowBreaks>|</colBreaks>"
    r"|</customProperties>|</cellWatches>|</ignoredErrors>|</smartTags>|<drawing\b[^>]*>")


def _insert_legacy_drawing(text: str, element: str) -> str:
    """``element`` where the schema puts <legacyDrawing>: after every element that comes
    before it (so after any <extLst> nested in those), before the first that follows."""
    after = max((m.end() for m in _BEFORE_LEGACY.finditer(text)), default=-1)
    if after < 0:
        raise Unfit("no <sheetData>")
    found = _AFTER_LEGACY.search(text, after)
    at = found.start() if found else text.rfind("</worksheet>")
    if at < 0:
        raise Unfit("no </worksheet>")
    return text[:at] + element + text[at:]


# Comments ---------------------------------------------------------------------------------------


def _comments_xml(cells: dict[tuple[str, int], CellMark], author: str) -> str:
    body = "".join(
        f'<comment ref="{column}{row}" authorId="0"><text>'
        f'<t xml:space="preserve">{escape(m.text)}</t></text></comment>'
        for (column, row), m in cells.items()
    )
    return (f'{XML_HEAD}<comments xmlns="{NS_MAIN}"><authors><author>{escape(author)}</author>'
            f"</authors><commentList>{body}</commentList></comments>")


def _vml_xml(cells: dict[tuple[str, int], CellMark], number: int) -> str:
    """The VML shapes Excel draws comments with (the prefixes o, v, x as Excel writes them)."""
    shapes = []
    for i, ((column, row), m) in enumerate(cells.items(), 1):
        shapes.append(
            f'<v:shape id="_x0000_s{1024 * number + i}" type="#_x0000_t202" '
            'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;'
            f'width:{m.width}px;height:{m.height}px;z-index:{i};visibility:hidden" '
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
            '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row - 1}</x:Row>"
            f"<x:Column>{column_number(column) - 1}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{number}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        + "".join(shapes) + "</xml>"
    )


# The list sheet ---------------------------------------------------------------------------------


def _list_sheet_xml(sheet: ListSheet, styles: _Styles, look: Look) -> str:
    name = look.font
    top = 'vertical="top" wrapText="1"'
    border = styles.add("borders", "<border><left style=\"thin\"/><right style=\"thin\"/>"
                        "<top style=\"thin\"/><bottom style=\"thin\"/><diagonal/></border>")
    line_styles = {
        "title": styles.cell(_font(name, 14, bold=True), align=top),
        "bold": styles.cell(_font(name, 12, bold=True), align=top),
        "plain": styles.cell(_font(name, 12), align=top),
        "italic": styles.cell(_font(name, 12, italic=True), align=top),
    }
    header = styles.cell(_font(name, 12, bold=True), styles.add("fills", _solid(look.header_fill)),
                         border, 'horizontal="center" vertical="center" wrapText="1"')
    body = styles.cell(_font(name, 12), 0, border, top)
    link = styles.cell(_font(name, 12, colour=look.link_font, underline=True), 0, border, top)
    severity = {
        True: styles.cell(_font(name, 12, colour=look.error_font),
                          styles.add("fills", _solid(look.error_fill)), border, top),
        False: styles.cell(_font(name, 12, colour=look.warning_font),
                           styles.add("fills", _solid(look.warning_fill)), border, top),
    }
    ncols = len(sheet.columns)
    last_col = _letters(ncols)
    rows: list[str] = []
    for r, (text, look_name, height) in enumerate(sheet.lines, 1):
        rows.append(_row(r, height, [_cell(f"A{r}", text, line_styles[look_name])]))
    h = sheet.header
    rows.append(_row(h, None, [_cell(f"{_letters(c)}{h}", title, header)
                               for c, (title, _) in enumerate(sheet.columns, 1)]))
    links = []
    for i, (values, error, target, height) in enumerate(sheet.rows, 1):
        r = h + i
        cells = []
        for c, value in enumerate(values, 1):
            style = severity[error] if c == ncols else link if c == 2 and target else body
            cells.append(_cell(f"{_letters(c)}{r}", value, style))
        rows.append(_row(r, height, cells))
        if target:
            links.append(f'<hyperlink ref="B{r}" location={quoteattr(target)}/>')
    last = h + max(len(sheet.rows), 1)
    cols = "".join(f'<col min="{c}" max="{c}" width="{width}" customWidth="1"/>'
                   for c, (_, width) in enumerate(sheet.columns, 1))
    merges = "".join(f'<mergeCell ref="A{r}:{last_col}{r}"/>'
                     for r in range(1, len(sheet.lines) + 1))
    m = sheet.print_setup
    return (
        f'{XML_HEAD}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last_col}{max(last, h)}"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        f'<pane ySplit="{h}" topLeftCell="A{h + 1}" activePane="bottomLeft" state="frozen"/>'
        f'<selection pane="bottomLeft" activeCell="A{h + 1}" sqref="A{h + 1}"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15.75"/>'
        f"<cols>{cols}</cols><sheetData>{''.join(rows)}</sheetData>"
        f'<autoFilter ref="A{h}:{last_col}{last}"/>'
        f'<mergeCells count="{len(sheet.lines)}">{merges}</mergeCells>'
        + (f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "")
        + '<printOptions horizontalCentered="1"/>'
        f'<pageMargins left="{m["left"]}" right="{m["right"]}" top="{m["top"]}" '
        f'bottom="{m["bottom"]}" header="{m["header"]}" footer="{m["footer"]}"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        f"<headerFooter><oddHeader>{escape(_page_number(look.font))}</oddHeader></headerFooter>"
        "</worksheet>"
    )


def _page_number(font: str) -> str:
    return f'&C&"{font},Regular"&12&P'


def _row(r: int, height: float | None, cells: list[str]) -> str:
    size = f' ht="{height}" customHeight="1"' if height is not None else ""
    return f'<row r="{r}"{size}>{"".join(cells)}</row>'


def _cell(ref: str, value: int | str, style: int) -> str:
    if isinstance(value, int):
        return f'<c r="{ref}" s="{style}"><v>{value}</v></c>'
    if not value:
        return f'<c r="{ref}" s="{style}"/>'
    return (f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(value)}</t></is></c>")


def _letters(col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """1 for A, 27 for AA (upper-case letters)."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number
