"""The catalog: complete against the seed, and text → master → text is identical."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from dvxl import textio, workspace
from dvxl.catalog import fingerprint
from dvxl.model import Catalog

from conftest import REPO, SAMPLE

SEED = REPO / "tests" / "data" / "000_ebdb46170f0657d6.txt"
SHARED_SEED = REPO.parent / "shared" / "seeds" / SEED.name


def seed_bullets() -> list[tuple[str, str]]:
    """(task code, text) for every bullet of sections 1–3 and the paragraph of section 4."""
    text = SEED.read_text(encoding="utf-8")
    body = text.split("Nơi nhận:")[0]
    tasks: list[tuple[str, str]] = []
    section = 0
    current: list[str] | None = None

    def close() -> None:
        if current is not None:
            joined = " ".join(current).replace("*", "")
            tasks.append(
                (
                    f"{section}.{sum(1 for c, _ in tasks if c.startswith(f'{section}.')) + 1}",
                    unicodedata.normalize("NFC", re.sub(r"\s+", " ", joined).strip()),
                )
            )

    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        heading = re.match(r"^(\d)\.\s+(.*)$", line)
        if heading:
            close()
            section = int(heading.group(1))
            current = [heading.group(2)] if section == 4 else None
            continue
        if section == 0:
            continue
        if line.startswith("- "):
            close()
            current = [line[2:]]
        elif current is not None:
            current.append(line)  # a bullet broken by a page break goes on
    close()
    return tasks


def test_seed_copy_is_the_shared_seed() -> None:
    if not SHARED_SEED.is_file():
        pytest.skip("shared/ is not beside this clone")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_every_bullet_of_the_seed_is_one_task_none_invented(sample_catalog: Catalog) -> None:
    expected = seed_bullets()
    assert [c for c, _ in expected] == [
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "2.1",
        "2.2",
        "2.3",
        "3.1",
        "3.2",
        "3.3",
        "3.4",
        "4.1",
    ]
    assert [(t.code, t.text) for t in sample_catalog.tasks] == expected


@pytest.mark.parametrize(
    ("section", "groups"),
    [
        (1, {"BCS_DD", "CQTM", "MTCTXH_TINH", "HUYEN"}),
        (2, {"BCS_UBND"}),
        (3, {"MTCTXH"}),
        (4, {"BDV", "PHOIHOP"}),
    ],
    ids=["section-1", "section-2", "section-3", "section-4"],
)
def test_tasks_address_the_groups_their_section_names(
    sample_catalog: Catalog, section: int, groups: set[str]
) -> None:
    for task in sample_catalog.tasks:
        if task.section == section:
            assert set(task.groups) == groups, task.code
    assert {g.code for g in sample_catalog.groups if g.section == section} == groups


def test_cited_documents_are_those_of_the_seed(sample_catalog: Catalog) -> None:
    numbers = [d.number for d in sample_catalog.directive.cited]
    assert sorted(numbers) == sorted(["160-TB/TW", "62-KL/TW", "235-BS/TU", "212-QĐ/TW"])
    seed = SEED.read_text(encoding="utf-8")
    for doc in sample_catalog.directive.cited:
        assert doc.number in seed
        assert f"{doc.date.day:02d}/{doc.date.month:02d}/{doc.date.year}" in seed


def test_every_task_has_the_common_indicators_and_numbers_of_its_own(
    sample_catalog: Catalog,
) -> None:
    for task in sample_catalog.tasks:
        codes = [i.code for i in sample_catalog.indicators_for(task)]
        assert codes[:3] == ["TRANG_THAI", "VB_SO", "VB_DS"]
        assert codes[-4:] == ["KET_QUA", "KHO_KHAN", "DE_XUAT", "TU_CHAM"]
        own = [i for i in sample_catalog.indicators if i.task == task.code]
        assert any(i.type == "integer" for i in own), task.code


def test_rubric_sums_to_100_for_every_rating_group(sample_catalog: Catalog) -> None:
    for unit in sample_catalog.units:
        tasks = sample_catalog.tasks_for(unit)
        points = [sample_catalog.points(unit.rating_group, t.code) for t in tasks]
        assert None not in points, unit.code
        assert sum(p for p in points if p is not None) == pytest.approx(100)


def test_roster_covers_every_group_with_about_forty_units(sample_catalog: Catalog) -> None:
    assert 35 <= len(sample_catalog.units) <= 45
    used = {g for u in sample_catalog.units for g in u.groups}
    assert used == {g.code for g in sample_catalog.groups}
    assert len(sample_catalog.addressed_units()) == len(sample_catalog.units)


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2026-6T", "2025-12-15", "2026-06-14"),
        ("2026-N", "2025-12-15", "2026-12-14"),
    ],
    ids=["first-half", "year"],
)
def test_periods_follow_decree_09_2019(
    sample_catalog: Catalog, code: str, start: str, end: str
) -> None:
    period = sample_catalog.period(code)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)
    assert period.deadline > period.end


def test_all_text_is_nfc() -> None:
    for path in SAMPLE.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), path.name


def test_text_files_are_in_canonical_form(sample_catalog: Catalog) -> None:
    for name, text in textio.dump_texts(sample_catalog).items():
        assert (SAMPLE / name).read_text(encoding="utf-8") == text, name


def test_text_to_master_to_text_is_identical(tmp_path: Path) -> None:
    source = tmp_path / "catalog"
    source.mkdir()
    for name in textio.FILES:
        text = (SAMPLE / name).read_text(encoding="utf-8")
        text = text.replace("sheet_password: ''", "sheet_password: m4t-khau")
        (source / name).write_text(text, encoding="utf-8")
    ws = workspace.init(tmp_path / "ws", source)
    written = workspace.export_catalog(ws, tmp_path / "exported")
    assert sorted(p.name for p in written) == sorted(textio.FILES)
    for path in written:
        assert path.read_bytes() == (source / path.name).read_bytes(), path.name


def test_init_gives_each_workspace_its_own_template_password(tmp_path: Path) -> None:
    """The shipped catalog has none; every master gets a random one (issue 14)."""
    first = workspace.init(tmp_path / "a").load().settings.sheet_password
    second = workspace.init(tmp_path / "b").load().settings.sheet_password
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", first)
    assert first != second


def test_master_reads_back_the_same_catalog(
    sample_catalog: Catalog, fresh_workspace: workspace.Workspace
) -> None:
    back = fresh_workspace.load()
    # Except the template password init made for it.
    assert back.settings.sheet_password
    assert back == replace(
        sample_catalog,
        settings=replace(sample_catalog.settings, sheet_password=back.settings.sheet_password),
    )
    assert fingerprint(back) == fingerprint(sample_catalog)


def test_fingerprint_changes_when_an_indicator_changes(sample_catalog: Catalog) -> None:
    first = sample_catalog.indicators[0]
    changed = replace(
        sample_catalog,
        indicators=(replace(first, label=first.label + " mới"), *sample_catalog.indicators[1:]),
    )
    assert fingerprint(changed) != fingerprint(sample_catalog)
    assert fingerprint(replace(sample_catalog, units=sample_catalog.units[:3])) == fingerprint(
        sample_catalog
    )


@pytest.mark.parametrize(
    ("unit", "heading", "authority"),
    [
        ("HU01", "ĐẢNG CỘNG SẢN VIỆT NAM", "T/M BAN THƯỜNG VỤ"),
        ("DDHDND", "ĐẢNG CỘNG SẢN VIỆT NAM", "T/M ĐẢNG ĐOÀN"),
        ("BCSTAND", "ĐẢNG CỘNG SẢN VIỆT NAM", "T/M BAN CÁN SỰ ĐẢNG"),
        ("BCSUB", "ĐẢNG CỘNG SẢN VIỆT NAM", "T/M BAN CÁN SỰ ĐẢNG"),
        ("HLHPN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "TM. BAN THƯỜNG VỤ"),
        ("MTTQ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "TM. BAN THƯỜNG TRỰC"),
        ("TDOAN", "ĐOÀN TNCS HỒ CHÍ MINH", "TM. BAN THƯỜNG VỤ TỈNH ĐOÀN"),
    ],
)
def test_letterhead_follows_the_rating_group_unless_the_unit_names_its_own(
    sample_catalog: Catalog, unit: str, heading: str, authority: str
) -> None:
    head = sample_catalog.letterhead(sample_catalog.unit(unit))
    assert (head.heading, head.authority) == (heading, authority)


def test_every_rating_group_has_a_letterhead_and_party_bodies_the_party_form(
    sample_catalog: Catalog,
) -> None:
    rating = {u.rating_group for u in sample_catalog.units}
    by_code = {h.code: h for h in sample_catalog.letterheads}
    for group in sample_catalog.groups:
        if group.code in rating:
            assert group.letterhead in by_code, group.code
    for unit in sample_catalog.units:
        head = sample_catalog.letterhead(unit)
        party = unit.name.startswith(("Ban cán sự đảng", "Đảng đoàn", "Đảng ủy", "Huyện ủy",
                                      "Thị ủy", "Thành ủy", "Ban ", "Văn phòng Tỉnh ủy",
                                      "Ủy ban Kiểm tra Tỉnh ủy"))
        assert (head.heading == "ĐẢNG CỘNG SẢN VIỆT NAM" and head.mark == "*") == party, unit.code
        assert "THỦ TRƯỞNG" not in head.authority + head.signer_title


def test_a_catalog_without_letterheads_gives_the_party_form(sample_catalog: Catalog) -> None:
    bare = replace(sample_catalog, letterheads=())
    head = bare.letterhead(bare.unit("MTTQ"))
    assert (head.superior, head.heading, head.authority) == (
        "ĐẢNG BỘ TỈNH {tinh}", "ĐẢNG CỘNG SẢN VIỆT NAM", "T/M BAN THƯỜNG VỤ")
    texts = textio.dump_texts(bare)
    assert "letterheads" not in texts["units.yaml"].split("\n", 5)[-1]
