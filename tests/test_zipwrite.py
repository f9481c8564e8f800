"""dvxl.zipwrite: kept parts are copied compressed as they are; the package reads back whole."""

from __future__ import annotations

import io
import zipfile

import pytest

from dvxl import zipparts, zipwrite
from dvxl.gates import Refused


def package(**members: tuple[bytes, int]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, (data, method) in members.items():
            info = zipfile.ZipInfo(name, (2026, 6, 20, 8, 30, 14))
            info.compress_type = method
            archive.writestr(info, data)
    return out.getvalue()


def test_copied_and_added_members_read_back_with_their_crcs() -> None:
    styles = b"<styleSheet>" + b"<xf/>" * 500 + b"</styleSheet>"
    source = package(**{"xl/styles.xml": (styles, zipfile.ZIP_DEFLATED),
                        "mimetype": (b"application/x", zipfile.ZIP_STORED)})
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        infos = archive.infolist()
    out = zipwrite.Package()
    for info in infos:
        out.copy(source, info)
    out.add("xl/worksheets/trang-lỗi.xml", "<worksheet>Lỗi cần sửa</worksheet>".encode())
    made = out.finish()
    with zipfile.ZipFile(io.BytesIO(made)) as archive:
        assert archive.testzip() is None  # every CRC checks
        assert archive.namelist() == ["xl/styles.xml", "mimetype", "xl/worksheets/trang-lỗi.xml"]
        assert archive.read("xl/styles.xml") == styles
        assert archive.read("xl/worksheets/trang-lỗi.xml").decode() == \
            "<worksheet>Lỗi cần sửa</worksheet>"
        kept = archive.getinfo("xl/styles.xml")
        assert kept.compress_type == zipfile.ZIP_DEFLATED
        assert kept.date_time == (2026, 6, 20, 8, 30, 14)
        assert archive.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("xl/worksheets/trang-lỗi.xml").flag_bits & 0x800  # UTF-8 name
    # The kept member's compressed bytes are the source's own, not deflated again.
    assert zipparts.raw_member(source, infos[0]).tobytes() in made


def test_a_member_named_twice_is_refused() -> None:
    out = zipwrite.Package()
    out.add("a.xml", b"<a/>")
    with pytest.raises(ValueError):
        out.add("a.xml", b"<b/>")


def test_a_member_whose_local_header_is_missing_is_refused() -> None:
    source = package(**{"a.xml": (b"<a/>", zipfile.ZIP_DEFLATED)})
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        info = archive.infolist()[0]
    with pytest.raises(Refused):
        zipwrite.Package().copy(b"x" * len(source), info)
