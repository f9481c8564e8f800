"""Property-based tests (hypothesis): real returns, mutated, never crash a run (issue 14).

A return filled from a real template is mutated — bytes flipped, its sheet's XML edited
(values replaced by odd numbers and text, references moved far away, elements cut), its
name made odd — and put in an inbox beside a good return. Whatever the mutation, the
checks and the marked copies finish within a bounded time without raising, every file
is reported once, and the good return still gets its copy.

Bounded for the test command: a fixed number of examples per property, a deadline per
example, derandomized so that CI runs the same cases every time (``max_examples`` and
the seed are here, not in a profile, so a failure reproduces with the test alone).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvxl import markup, sample, workspace
from dvxl.form import template_name
from dvxl.reader import Limits
from dvxl.validate import validate_inbox

import hostile

PERIOD = "2026-6T"
BOUNDED = settings(
    max_examples=20,
    deadline=dt.timedelta(seconds=20),
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


class Fixture:
    """A workspace with the period's templates, and two returns: one to mutate, one good."""

    def __init__(self, ws: workspace.Workspace, folder: Path) -> None:
        self.ws = ws
        self.catalog = ws.load()
        self.period = self.catalog.period(PERIOD)
        self.files: dict[str, bytes] = {}
        for unit, change in (("HU01", {"1.1.HN_SO": -1}), ("HU02", {"1.2.VB_SO": -2})):
            values = sample.good_values(self.catalog, self.catalog.unit(unit), self.period,
                                        random.Random(5)) | change
            source = ws.templates(PERIOD) / template_name(self.period, self.catalog.unit(unit))
            dest = folder / f"{unit}.xlsx"
            sample.write_return(source, dest, values, self.catalog, self.catalog.unit(unit))
            self.files[unit] = dest.read_bytes()

    def check(self, name: str, data: bytes) -> None:
        """Validate an inbox of the mutated file and the good one, make the copies, assert."""
        with tempfile.TemporaryDirectory() as tmp:
            inbox = Path(tmp) / "inbox"
            inbox.mkdir()
            (inbox / name).write_bytes(data)
            (inbox / "tot").mkdir()
            (inbox / "tot" / "HU02.xlsx").write_bytes(self.files["HU02"])
            batch = validate_inbox(self.catalog, inbox, self.period, Limits(), workers=1)
            assert len(batch.files) == 2
            assert all(f.message and f.code for r in batch.files for f in r.findings)
            copies = markup.write_marked_copies(batch, self.catalog, Path(tmp) / "tra-lai",
                                                workers=1)
            assert "HU02-can-sua.xlsx" in {p.name for p in copies}
            # Every file with errors has its copy, or a finding that says why not.
            wanted = [r for r in batch.files if r.errors and not r.superseded_by]
            failed = [r for r in wanted if "F011" in {f.code for f in r.findings}]
            assert len(copies) == len(wanted) - len(failed)
            assert all(len(p.name.encode()) <= 255 and p.name.isprintable() for p in copies)


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    root = tmp_path_factory.mktemp("fuzz")
    ws = workspace.init(root / "ws")
    workspace.make_templates(ws, PERIOD)
    return Fixture(ws, root)


@BOUNDED
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                      min_size=1, max_size=8))
def test_flipped_bytes_never_crash(fixture: Fixture, flips: list[tuple[float, int]]) -> None:
    data = bytearray(fixture.files["HU01"])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    fixture.check("HU01.xlsx", bytes(data))


ODD_NUMBERS = st.sampled_from([
    "NaN", "nan", "INF", "-Infinity", "1e308", "-1e308", "1e-320", "-0", "1E+15", "0x1F",
    "9" * 400, "", " ", "1,5", "１２", "٣", "1_000",
])
ODD_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="<&"), max_size=60)
FAR = st.sampled_from(["A99999999", "XFD1048576", "ZZZZ1", "A0", "A-1", "B2147483648",
                       "A1048577", "XFE1"])


def _edit(data: bytes, part: str, change: object) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    parts[part] = change(parts[part])  # type: ignore[operator]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


@BOUNDED
@given(edit=st.sampled_from(["value", "reference", "cut", "drop"]), number=ODD_NUMBERS,
       text=ODD_TEXT, far=FAR, at=st.floats(0, 1, exclude_max=True))
def test_edited_sheet_xml_never_crashes(
    fixture: Fixture, edit: str, number: str, text: str, far: str, at: float
) -> None:
    def change(xml: bytes) -> bytes:
        cells = list(re.finditer(rb"<v>[^<]*</v>", xml))
        refs = list(re.finditer(rb'<c r="[A-Z]+[0-9]+"', xml))
        if edit == "value" and cells:
            found = cells[int(at * len(cells))]
            value = (number or text).encode()
            value = value.replace(b"<", b"").replace(b"&", b"")
            return xml[: found.start()] + b"<v>" + value + b"</v>" + xml[found.end():]
        if edit == "reference" and refs:
            found = refs[int(at * len(refs))]
            return xml[: found.start()] + f'<c r="{far}"'.encode() + xml[found.end():]
        if edit == "cut":
            return xml[: int(at * len(xml))]
        elements = list(re.finditer(rb"<(row|c|v|sheetProtection|dataValidation)\b", xml))
        if elements:
            found = elements[int(at * len(elements))]
            return xml[: found.start()] + xml[found.end():]
        return xml

    fixture.check("HU01.xlsx", _edit(fixture.files["HU01"], hostile.SHEET2, change))


NAME = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1,
               max_size=120).filter(lambda n: n not in (".", "..") and not n.startswith("~$"))


@BOUNDED
@given(stem=NAME, raw=st.binary(min_size=1, max_size=40))
def test_odd_names_never_crash(fixture: Fixture, stem: str, raw: bytes) -> None:
    # A name in UTF-8, or raw bytes (a zip from another code page), within the 255 bytes
    # a Linux name may have.
    name = stem if raw[0] % 2 else stem[:40] + os.fsdecode(
        raw.replace(b"/", b"_").replace(b"\x00", b"_"))
    name = name.encode("utf-8", "surrogateescape")[:230].decode("utf-8", "surrogateescape")
    if name.endswith("\udc00") or name in (".", ".."):
        return
    fixture.check(name.rstrip("\n") + ".xlsx", fixture.files["HU01"])
