"""The period report (dvxl report): read back with python-docx and held against the returns.

Every figure the report prints is computed again here, independently, from the
values the ledger recorded for each return (the newest error-free file of each
unit counts); the format (paper, margins, fonts, header table, appendices) is
read from the document; LibreOffice renders it and the PDF's text is read back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Length, Pt

from dvxl import cli, form, periods, sample, workspace
from dvxl.docreport import maker, vn
from dvxl.intake import Ledger, Receipt
from dvxl.model import Catalog, Indicator

from conftest import SAMPLE

PERIOD, EARLIER = "2026-6T", "2025-N"
DAY = dt.date(2026, 7, 5)


# The workspace: two periods of simulated returns -------------------------------------------


def _simulate(ws: workspace.Workspace, period: str, inbox: Path, seed: int) -> None:
    workspace.make_templates(ws, period)
    catalog = ws.load()
    chosen = periods.find(catalog, period)
    inbox.mkdir(parents=True, exist_ok=True)
    sample.simulate_returns(catalog, chosen, ws.templates(period), inbox, seed=seed)
    workspace.merge(ws, inbox, period)


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> workspace.Workspace:
    """The sample workspace with 2025-N and 2026-6T returns merged, assessments typed."""
    ws = workspace.init(tmp_path_factory.mktemp("report") / "ws")
    catalog = ws.load()
    sample.type_assessments(ws.master, catalog, periods.find(catalog, PERIOD))
    _simulate(ws, EARLIER, ws.root / "inbox-2025", seed=7)
    _simulate(ws, PERIOD, ws.inbox, seed=2026)
    workspace.write_report(ws, PERIOD, DAY)
    return ws


@pytest.fixture(scope="module")
def doc(reported: workspace.Workspace) -> Any:
    return Document(str(reported.outputs(PERIOD) / f"bao-cao-{PERIOD}.docx"))


def accepted(ws: workspace.Workspace, period: str) -> dict[str, Receipt]:
    """Each addressed unit's newest error-free receipt: the rule, written again here."""
    catalog = ws.load()
    addressed = {u.code for u in catalog.addressed_units()}
    with Ledger(ws.root / "ledger.sqlite") as ledger:
        receipts = ledger.receipts(period)
    chosen: dict[str, Receipt] = {}
    for r in sorted(receipts, key=lambda r: (r.received, r.id)):
        if r.unit in addressed and r.errors == 0 and r.format and r.status != "Bỏ qua":
            chosen[r.unit] = r
    return chosen


def body_text(doc: Any) -> list[str]:
    """The body's paragraphs, table cells included, in document order."""
    lines: list[str] = []
    for block in doc.element.body.iter(qn("w:p")):
        lines.append("".join(t.text or "" for t in block.iter(qn("w:t"))))
    return lines


def by_unit(catalog: Catalog, task: str, returns: dict[str, Receipt]) -> list[dict[str, Any]]:
    units = [u for u in catalog.addressed_units() if set(u.groups) & set(catalog.task(task).groups)]
    return [returns[u.code].values for u in units if u.code in returns]


def expected_text(ind: Indicator, task: str, values: list[dict[str, Any]]) -> str | None:
    """The figure as the report must print it, computed from the returns."""
    key = f"{task}.{ind.code}"
    unit = f" {ind.unit}" if ind.unit else ""
    kind, _, arg = ind.summary.partition(":")
    if ind.type == "integer" and kind in ("", "sum"):
        return f"{vn.number(sum(v[key] for v in values))}{unit}"
    if kind == "rate":
        num = sum(v[key] for v in values)
        den = sum(v[f"{task}.{arg}"] for v in values)
        rate = f", đạt {vn.number(100 * num / den, 1)}%" if den else ""
        return f"{vn.number(num)}/{vn.number(den)}{unit}{rate}"
    if kind == "count" and arg:
        return f"{sum(1 for v in values if v[key] == arg)}/{len(values)} đơn vị"
    return None


# Figures ---------------------------------------------------------------------------------


def test_every_task_figure_in_the_body_is_the_sum_or_rate_of_the_returns(
    reported: workspace.Workspace, doc: Any
) -> None:
    catalog = reported.load()
    returns = accepted(reported, PERIOD)
    earlier = accepted(reported, EARLIER)
    lines = body_text(doc)
    headings = [lines.index(f"{n}. {t.title} (nhiệm vụ {t.code})")
                for n, t in enumerate(catalog.tasks, 1)]
    ends = [*headings[1:], lines.index("III- HẠN CHẾ, KHÓ KHĂN, VƯỚNG MẮC")]
    checked = 0
    for task, start, end in zip(catalog.tasks, headings, ends, strict=True):
        values = by_unit(catalog, task.code, returns)
        before = by_unit(catalog, task.code, earlier)
        section = lines[start:end]
        for ind in catalog.indicators_for(task):
            text = expected_text(ind, task.code, values)
            if text is None or not values:
                continue
            line = next(x for x in section if x.startswith(f"- {ind.label}: "))
            assert line.startswith(f"- {ind.label}: {text}"), (task.code, ind.code, line)
            if before and ind.type == "integer" and not ind.summary:
                previous = vn.number(sum(v[f"{task.code}.{ind.code}"] for v in before))
                assert f"(Năm 2025: {previous})" in line, line
            checked += 1
    assert checked > 50  # every numeric indicator of the 12 tasks


def test_part_one_counts_documents_and_names_late_invalid_missing_units(
    reported: workspace.Workspace, doc: Any
) -> None:
    catalog = reported.load()
    returns = accepted(reported, PERIOD)
    documents = sum(
        value for r in returns.values() for key, value in r.values.items()
        if key.endswith(".VB_SO")
    )
    text = "\n".join(body_text(doc))
    assert f"Các đơn vị đã ban hành {vn.number(documents)} văn bản" in text
    conferences = sum(v["1.1.HN_SO"] for v in by_unit(catalog, "1.1", returns))
    assert f"Đã tổ chức {vn.number(conferences)} hội nghị" in text
    addressed = catalog.addressed_units()
    with Ledger(reported.root / "ledger.sqlite") as ledger:
        sent = {r.unit for r in ledger.receipts(PERIOD)}
    missing = [u.name for u in addressed if u.code not in sent]
    assert missing and f"- Chưa gửi báo cáo: {vn.names(missing)}." in text
    deadline = periods.find(catalog, PERIOD).deadline
    late = [u for u in addressed if u.code in returns
            and returns[u.code].received.date() > deadline]
    assert late
    for unit in late:
        days = (returns[unit.code].received.date() - deadline).days
        assert f"{unit.name} ({days} ngày)" in text
    assert f"Văn bản giao nhiệm vụ cho {len(addressed)} đơn vị" in text
    assert f"{len(returns)} báo cáo hợp lệ" in text


def _tables_after(doc: Any, heading: str) -> Iterator[Any]:
    """The tables that follow the paragraph starting with ``heading``, up to the next heading."""
    seen = False
    for block in doc.element.body.iterchildren():
        if block.tag == qn("w:p"):
            text = "".join(t.text or "" for t in block.iter(qn("w:t")))
            if seen and (text.startswith("Phụ lục") or "Nhiệm vụ " in text[:14]):
                return
            seen = seen or text.startswith(heading)
        elif seen and block.tag == qn("w:tbl"):
            yield next(t for t in doc.tables if t._tbl is block)


def test_appendix_one_holds_each_units_values_and_the_totals(
    reported: workspace.Workspace, doc: Any
) -> None:
    catalog = reported.load()
    returns = accepted(reported, PERIOD)
    names = {u.name: u.code for u in catalog.units}
    for n, task in enumerate(catalog.tasks, 1):
        tables = list(_tables_after(doc, f"{n}. Nhiệm vụ {task.code}:"))
        assert len(tables) == 1, task.code
        rows = [[c.text for c in row.cells] for row in tables[0].rows]
        shown = [i for i in catalog.indicators_for(task)
                 if i.type in ("integer", "decimal", "score", "choice")]
        assert rows[0][2:] == [f"{i.label} ({i.unit})" if i.unit else i.label for i in shown]
        units = [names[r[1]] for r in rows[1:-1]]
        addressed = [u.code for u in catalog.addressed_units()
                     if set(u.groups) & set(task.groups) and u.code in returns]
        assert units == addressed
        for row in rows[1:-1]:
            values = returns[names[row[1]]].values
            for cell, ind in zip(row[2:], shown, strict=True):
                value = values[f"{task.code}.{ind.code}"]
                assert cell == (vn.number(value) if isinstance(value, int | float) else value)
        total = rows[-1]
        assert total[1] == "Tổng hợp"
        values = [returns[code].values for code in addressed]
        for cell, ind in zip(total[2:], shown, strict=True):
            text = expected_text(ind, task.code, values)
            if text is not None and ind.type == "integer" and ind.summary.startswith("rate"):
                num = text.partition(" ")[0]
                assert cell.startswith(num), (task.code, ind.code, cell)
            elif text is not None and ind.type == "integer":
                assert cell == text.split(" ")[0], (task.code, ind.code, cell)


def test_a_superseded_return_is_replaced_by_the_newer_one(
    reported: workspace.Workspace, doc: Any
) -> None:
    catalog = reported.load()
    with Ledger(reported.root / "ledger.sqlite") as ledger:
        receipts = ledger.receipts(PERIOD)
    amended = [r for r in receipts if "(lan 1)" in r.name and r.errors == 0]
    assert amended, "the sample has a unit that sent a second valid file"
    first = amended[0]
    newer = accepted(reported, PERIOD)[first.unit]
    assert newer.sha256 != first.sha256
    unit = catalog.unit(first.unit)
    task = catalog.tasks_for(unit)[0]
    key = f"{task.code}.VB_SO"
    tables = list(_tables_after(doc, f"1. Nhiệm vụ {task.code}:"))
    row = next(r for r in tables[0].rows if r.cells[1].text == unit.name)
    codes = [i.code for i in catalog.indicators_for(task)
             if i.type in ("integer", "decimal", "score", "choice")]
    assert row.cells[2 + codes.index("VB_SO")].text == vn.number(newer.values[key])
    tracking = next(_tables_after(doc, "TÌNH HÌNH GỬI BÁO CÁO"))
    line = next(r for r in tracking.rows if r.cells[1].text == unit.name)
    assert f"thay cho tệp gửi trước «{first.name}»" in line.cells[-1].text
    assert line.cells[3].text == "2"


def test_appendix_three_puts_the_self_score_beside_the_score_that_counts(
    reported: workspace.Workspace, doc: Any
) -> None:
    catalog = reported.load()
    returns = accepted(reported, PERIOD)
    typed = {(a.unit, a.task): a.score for a in reported.assessments(catalog)[0]
             if a.period == PERIOD}
    table = next(_tables_after(doc, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI"))
    names = {u.name: u for u in catalog.units}
    checked = 0
    for row in table.rows[1:]:
        cells = [c.text for c in row.cells]
        if cells[0] == cells[-1]:  # a group's heading, merged across
            continue
        unit = names[cells[1]]
        if unit.code not in returns:
            assert cells[2] == cells[3] == "" and cells[5] == "Không đủ điều kiện xếp loại"
            continue
        values = returns[unit.code].values
        own = {t.code: float(values[f"{t.code}.TU_CHAM"]) for t in catalog.tasks_for(unit)}
        counted = {t: typed.get((unit.code, t), s) for t, s in own.items()}
        assert cells[2] == vn.number(math.fsum(own.values()))
        assert cells[3] == vn.number(math.fsum(x for x in counted.values() if x is not None))
        assert cells[4] == str(sum(1 for t in own if (unit.code, t) in typed))
        checked += 1
    assert checked == len(returns)


def test_comparisons_name_the_earlier_period_the_ledger_has(doc: Any) -> None:
    text = "\n".join(body_text(doc))
    assert "(Năm 2025: hợp lệ" in text
    assert "So sánh: xếp loại năm 2025:" in text


# Format ----------------------------------------------------------------------------------


def _mm(*lengths: Any) -> tuple[float, ...]:
    """Lengths in millimetres to 0.1 mm (Word keeps them in twentieths of a point)."""
    return tuple(round(Length(x).mm, 1) for x in lengths)


def test_pages_are_a4_with_the_profiles_margins_and_landscape_appendices(doc: Any) -> None:
    first, last = doc.sections[0], doc.sections[-1]
    assert _mm(first.page_width, first.page_height) == (210, 297)
    assert _mm(last.page_width, last.page_height) == (297, 210)
    for section in doc.sections:
        margins = _mm(section.top_margin, section.bottom_margin, section.left_margin,
                      section.right_margin)
        assert margins == (20, 20, 30, 15)
    assert first.different_first_page_header_footer  # no number on page 1
    header = first.header._element
    assert "PAGE" in "".join(t.text or "" for t in header.iter(qn("w:instrText")))


def test_every_style_is_times_new_roman_in_every_slot_at_the_profiles_size(doc: Any) -> None:
    sizes = {maker.PARTY: 15, maker.ISSUER: 14, maker.SUPERIOR: 14, maker.NUMBER: 14,
             maker.PLACE_DATE: 14, maker.TYPE: 16, maker.SUBJECT: 14, maker.BODY: 14,
             maker.RECIPIENTS: 12, maker.SIGNATURE: 14, maker.PAGE_NUMBER: 14}
    for name, size in sizes.items():
        style = doc.styles[name]
        assert style.font.size == Pt(size), name
        fonts = style.element.rPr.find(qn("w:rFonts"))
        for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            assert fonts.get(qn(slot)) == "Times New Roman", (name, slot)
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(
        f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    assert defaults.get(qn("w:eastAsia")) == "Times New Roman"
    assert doc.styles[maker.ISSUER].font.bold and doc.styles[maker.PARTY].font.bold
    assert doc.styles[maker.PLACE_DATE].font.italic


def test_the_header_is_a_borderless_two_column_table(doc: Any) -> None:
    table = doc.tables[0]
    assert len(table.columns) == 2 and len(table.rows) == 1
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    left, right = ([p for p in c.paragraphs] for c in table.rows[0].cells)
    assert [p.text for p in left] == ["TỈNH ỦY BÌNH AN", "BAN DÂN VẬN", "*",
                                       "Số \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0-BC/BDVTU"]
    assert left[1].style.name == maker.ISSUER
    assert [p.text for p in right] == [
        "ĐẢNG CỘNG SẢN VIỆT NAM", "Bình An, ngày 05 tháng 7 năm 2026"
    ]
    assert right[0].style.element.pPr.find(qn("w:pBdr")) is not None  # the rule
    body = body_text(doc)
    type_at = body.index("BÁO CÁO")
    assert body[type_at + 1].startswith("kết quả thực hiện công văn của Ban Thường vụ Tỉnh ủy")
    assert body[type_at + 1].endswith(", 6 tháng đầu năm 2026")


def test_appendices_are_numbered_and_say_which_report_they_go_with(doc: Any) -> None:
    body = body_text(doc)
    numbered = [line for line in body if line.startswith("Phụ lục")]
    assert numbered == ["Phụ lục 1", "Phụ lục 2", "Phụ lục 3"]
    blank = "\u00a0" * 6
    note = f"(Kèm theo Báo cáo số {blank}-BC/BDVTU ngày 05 tháng 7 năm 2026"
    assert sum(1 for line in body if line.startswith(note)) == 3
    at = [body.index(n) for n in numbered]
    signature = body.index("TRƯỞNG BAN")
    assert signature < at[0]  # after the signature
    assert "Phụ lục 3" in "\n".join(body[:signature])  # part V points to it


def test_text_is_nfc_and_no_tag_is_left(doc: Any) -> None:
    text = "\n".join(body_text(doc))
    assert vn.nfc(text) == text
    for mark in ("{{", "}}", "{%", "%}", "\u27e6"):
        assert mark not in text


# PDF -------------------------------------------------------------------------------------


def _soffice() -> str:
    from dvxl.docreport.pdf import find_soffice

    found = find_soffice()
    if found is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs LibreOffice (Writer) and poppler-utils", pytrace=False)
        pytest.skip("LibreOffice or pdftotext missing")
    return found


def test_libreoffice_renders_the_report_and_its_text_reads_back(
    reported: workspace.Workspace,
) -> None:
    _soffice()
    result = workspace.write_report(reported, PERIOD, DAY, pdf=True)
    assert result.pdf is not None and result.pdf_problem == ""
    pages = subprocess.run(["pdftotext", "-layout", str(result.pdf), "-"], check=True,
                           capture_output=True, text=True, timeout=60).stdout.split("\f")
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in pages[0] and "BÁO CÁO" in pages[0]
    assert not pages[0].strip().startswith("1")  # no number on the first page
    assert pages[1].strip().startswith("2")
    text = "\f".join(pages)
    for needle in ("II- KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ", "V- ĐÁNH GIÁ, XẾP LOẠI", "Nơi nhận:",
                   "Phụ lục 3", "TRƯỞNG BAN"):
        assert needle in text
    info = subprocess.run(["pdfinfo", str(result.pdf)], check=True, capture_output=True,
                          text=True).stdout
    assert "A4" in info


def test_without_libreoffice_the_pdf_is_refused_in_vietnamese_and_the_docx_written(
    reported: workspace.Workspace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DVXL_SOFFICE", str(reported.root / "khong-co-soffice"))
    docx = reported.outputs(PERIOD) / f"bao-cao-{PERIOD}.docx"
    docx.unlink()
    code = cli.main(["report", "-w", str(reported.root), "-p", PERIOD, "--pdf",
                     "--date", "05/7/2026"])
    out, err = capsys.readouterr()
    assert code == 0
    assert docx.is_file() and f"Báo cáo kỳ {PERIOD}" in out
    assert "Không tìm thấy LibreOffice" in err


# Edge cases ------------------------------------------------------------------------------


def test_a_period_without_returns_still_makes_a_report(
    fresh_workspace: workspace.Workspace,
) -> None:
    result = workspace.write_report(fresh_workspace, PERIOD, DAY)
    doc = Document(str(result.docx))
    text = "\n".join(body_text(doc))
    catalog = fresh_workspace.load()
    assert "0 đơn vị đã gửi báo cáo" in text
    assert "Chưa có báo cáo hợp lệ nên chưa tổng hợp được kết quả." in text
    assert text.count("Chưa có đơn vị báo cáo hợp lệ.") == len(catalog.tasks)
    assert "Các đơn vị không nêu khó khăn, vướng mắc." in text
    assert result.compared == []


def test_a_single_return_gives_that_units_own_figures(tmp_path: Path) -> None:
    ws = workspace.init(tmp_path / "ws")
    workspace.make_templates(ws, PERIOD)
    catalog = ws.load()
    period = periods.find(catalog, PERIOD)
    unit = catalog.unit("MTTQ")
    import random

    values = sample.good_values(catalog, unit, period, random.Random(1))
    values["3.3.KN_CT"], values["3.3.KN_GQ"] = 8, 6
    values["3.3.KET_QUA"] = "Giám sát 12 chuyên đề & “điểm nóng” <đất đai>."
    sample.write_return(ws.templates(PERIOD) / form.template_name(period, unit),
                        ws.inbox / "mttq.xlsx", values, catalog, unit)
    workspace.merge(ws, period=PERIOD)
    result = workspace.write_report(ws, PERIOD, DAY)
    text = "\n".join(body_text(Document(str(result.docx))))
    kn = next(i for i in catalog.indicators if i.task == "3.3" and i.code == "KN_GQ")
    assert f"- {kn.label}: 6/8 kiến nghị, đạt 75%" in text
    assert f"- {unit.name}: “Giám sát 12 chuyên đề & “điểm nóng” <đất đai>”." in text
    assert "Văn bản giao nhiệm vụ cho 37 đơn vị. Đến ngày 05/7/2026, 1 đơn vị" in text


def test_the_profile_and_issuer_come_from_the_catalog(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(SAMPLE, folder)
    data = yaml.safe_load((folder / "report.yaml").read_text(encoding="utf-8"))
    data["format"].update(margin_left_mm=35, size_text=13, page_number_from=1)
    data["issuing"].update(number="12", authority="K/T TRƯỞNG BAN", signer_title="PHÓ TRƯỞNG BAN",
                           signer_name="Nguyễn Văn A")
    data["recipients"] = ["Thường trực Tỉnh ủy (để báo cáo)", "Lưu VT"]
    (folder / "report.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    ws = workspace.init(tmp_path / "ws", folder)
    catalog = ws.load()
    assert catalog.format.margin_left_mm == 35 and catalog.issuing.number == "12"
    result = workspace.write_report(ws, PERIOD, dt.date(2026, 2, 3))
    doc = Document(str(result.docx))
    assert _mm(doc.sections[0].left_margin) == (35,)
    assert doc.styles[maker.BODY].font.size == Pt(13)
    assert not doc.sections[0].different_first_page_header_footer
    body = body_text(doc)
    assert "Số 12-BC/BDVTU" in body and "Bình An, ngày 03 tháng 02 năm 2026" in body
    at = body.index("K/T TRƯỞNG BAN")
    assert body[at + 1] == "PHÓ TRƯỞNG BAN" and "Nguyễn Văn A" in body[at + 2:at + 8]
    assert "- Thường trực Tỉnh ủy (để báo cáo)," in body and "- Lưu VT." in body


def test_a_workspace_template_replaces_the_shipped_one(tmp_path: Path) -> None:
    ws = workspace.init(tmp_path / "ws")
    copied = workspace.copy_report_template(ws)
    own = Document(str(copied))
    paragraph = next(p for p in own.paragraphs if p.text.startswith("V- ĐÁNH GIÁ"))
    paragraph.runs[0].text = "V- TỰ ĐÁNH GIÁ CỦA VĂN PHÒNG"
    own.save(str(copied))
    text = "\n".join(body_text(Document(str(workspace.write_report(ws, PERIOD, DAY).docx))))
    assert "V- TỰ ĐÁNH GIÁ CỦA VĂN PHÒNG" in text and "V- ĐÁNH GIÁ, XẾP LOẠI" not in text
    with pytest.raises(Exception, match="đã có"):
        workspace.copy_report_template(ws)


def test_a_broken_tag_in_the_office_template_is_a_vietnamese_message(tmp_path: Path) -> None:
    ws = workspace.init(tmp_path / "ws")
    copied = workspace.copy_report_template(ws)
    own = Document(str(copied))
    own.add_paragraph("{% if %}")
    own.save(str(copied))
    code = cli.main(["report", "-w", str(ws.root), "-p", PERIOD])
    assert code == 2


def test_the_shipped_template_is_what_the_script_makes(tmp_path: Path) -> None:
    made = maker.write(tmp_path / "mau.docx")
    assert made.read_bytes() == maker.SHIPPED.read_bytes()


def test_a_bad_date_is_refused_in_vietnamese(
    fresh_workspace: workspace.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["report", "-w", str(fresh_workspace.root), "--date", "31/2/2026"])
    assert code == 2
    assert "Ngày báo cáo" in capsys.readouterr().err


# Vietnamese numbers and dates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1234, "1.234"), (1234567, "1.234.567"), (12.5, "12,5"), (0, "0"), (2.25, "2,25"),
     (-1500.5, "-1.500,5")],
    ids=["thousands", "millions", "decimal", "zero", "two-decimals", "negative"],
)
def test_numbers_are_written_the_vietnamese_way(value: float, shown: str) -> None:
    assert vn.number(value) == shown


def test_rates_and_dates_follow_the_party_format() -> None:
    assert vn.percent(1, 8) == "12,5%" and vn.percent(3, 4) == "75%" and vn.percent(1, 0) == ""
    assert vn.date_long(dt.date(2026, 7, 5)) == "ngày 05 tháng 7 năm 2026"
    assert vn.date_long(dt.date(2026, 2, 15)) == "ngày 15 tháng 02 năm 2026"
    assert vn.date_long(dt.date(2026, 12, 1)) == "ngày 01 tháng 12 năm 2026"
    assert vn.date_short(dt.date(2026, 1, 9)) == "09/01/2026"


def test_the_summaries_round_trip_through_the_master(sample_catalog: Catalog) -> None:
    from dvxl.schema import cell_value, parse_value

    for ind in sample_catalog.indicators:
        assert parse_value("summary", cell_value("summary", ind.summary)) == ind.summary
    assert parse_value("summary", "Tỷ lệ: DT_NHAN") == "rate:DT_NHAN"
    with pytest.raises(ValueError, match="không phải cách tổng hợp"):
        parse_value("summary", "tỷ lệ")
    assert dataclasses.asdict(sample_catalog.format)["margin_left_mm"] == 30
