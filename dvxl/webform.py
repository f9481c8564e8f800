"""The upload page's forms as they arrive (:mod:`dvxl.web`): CSRF tokens, the small
sign-in forms, and the upload streamed into a temporary file of the workspace.

The upload form is parsed as its bytes stream in (python-multipart's push parser), so
that nothing of it is held in memory or in a system temporary folder: the file part goes
straight into a file of ``DIR/uploads/.tmp/`` (:func:`dvxl.upload.new_temp`), the read
stops the moment it passes the size limit, and no byte of it is written unless the form's
CSRF field came before it and matched (the page's form puts it first).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl

import python_multipart
from python_multipart.multipart import parse_options_header

from dvxl import upload
from dvxl.gates import human

CSRF_FIELD = "csrf"
FILE_FIELD = "tep"
SMALL_FORM = 4 * 1024  # the sign-in and sign-out forms, and any field beside the file
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)

_STALE_FORM = ("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy mở lại trang rồi "
               "gửi lại.")
_NOT_A_FORM = "Yêu cầu không đúng dạng biểu mẫu gửi tệp."


class Refusal(Exception):
    """A request refused with a status and a Vietnamese message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def check_token(expected: str, sent: str) -> None:
    """The form's token must be the cookie's (double submit), compared in constant time."""
    if (len(expected) != TOKEN_LENGTH or not sent
            or not hmac.compare_digest(expected.encode(), sent.encode())):
        raise Refusal(403, _STALE_FORM)


def check_origin(origin: str, host: str) -> None:
    """A browser's Origin, when it sends one, must be this site (a second CSRF guard)."""
    if origin and origin != "null" and origin.split("://", 1)[-1] != host:
        raise Refusal(403, "Biểu mẫu không gửi từ trang này nên không được nhận.")


def too_large(limit: int) -> Refusal:
    return Refusal(413, f"Tệp quá lớn: giới hạn {human(limit)}. Mẫu báo cáo chỉ cần vài chục "
                   "KB: hãy xóa hình ảnh, dữ liệu dán thêm rồi gửi lại.")


async def small_form(stream: AsyncIterator[bytes], token: str) -> dict[str, str]:
    """A sign-in or sign-out form (urlencoded, a few bytes), its CSRF token checked."""
    body = b""
    async for chunk in stream:
        body += chunk
        if len(body) > SMALL_FORM:
            raise Refusal(413, "Biểu mẫu quá lớn.")
    text = body.decode("utf-8", "replace")
    fields = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=8))
    check_token(token, fields.get(CSRF_FIELD, ""))
    return fields


class FileForm:
    """The upload form's one file, streamed into a temporary file of the workspace."""

    def __init__(self, root: Path, limit: int, token: str) -> None:
        self.root, self.limit, self.token = root, limit, token
        self.token_ok = False
        self.temp: Path | None = None
        self.size = 0
        self.done = False
        self._handle: IO[bytes] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header, self._value = b"", b""
        self._name: str = ""
        self._filename: str | None = None
        self._data = bytearray()

    async def read(self, content_type: str, stream: AsyncIterator[bytes]) -> Path:
        """The temporary file holding the form's file; removed again on any refusal."""
        _, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            raise Refusal(400, _NOT_A_FORM)
        callbacks: Any = {name: getattr(self, name) for name in (
            "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
            "on_header_value", "on_header_end", "on_headers_finished")}
        parser = python_multipart.MultipartParser(boundary, callbacks)
        try:
            async for chunk in stream:
                parser.write(chunk)
            parser.finalize()
            if not self.token_ok:
                raise Refusal(403, _STALE_FORM)
            if not self.done or self.size == 0 or self.temp is None:
                raise Refusal(400, "Chưa chọn tệp báo cáo, hoặc tệp rỗng. Hãy chọn tệp rồi gửi.")
        except BaseException as exc:  # a refusal, a client gone, a server stopping
            self.discard()
            if isinstance(exc, python_multipart.exceptions.MultipartParseError):
                raise Refusal(400, _NOT_A_FORM) from None
            raise
        return self.temp

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)

    # python-multipart's callbacks ----------------------------------------------------------

    def on_part_begin(self) -> None:
        self._headers, self._name, self._filename = {}, "", None
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header.lower()] = self._value
        self._header, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._filename = None if filename is None else filename.decode("utf-8", "replace")
        if self._name != FILE_FIELD or self._filename is None:
            return
        if not self.token_ok:
            raise Refusal(403, _STALE_FORM)
        if self.temp is not None:
            raise Refusal(400, "Mỗi lần chỉ gửi một tệp.")
        # The client's file name only chooses among the spreadsheet suffixes.
        self.temp = upload.new_temp(self.root, upload.suffix_for(self._filename))
        self._handle = open(self.temp, "wb")  # noqa: SIM115 - closed in on_part_end/discard

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is not None:
            self.size += end - start
            if self.size > self.limit:
                raise too_large(self.limit)
            self._handle.write(data[start:end])
            return
        self._data += data[start:end]
        if len(self._data) > SMALL_FORM:
            raise Refusal(413, "Biểu mẫu quá lớn.")

    def on_part_end(self) -> None:
        if self._name == CSRF_FIELD and self._filename is None:
            check_token(self.token, self._data.decode("ascii", "replace"))
            self.token_ok = True
        elif self._handle is not None:
            self._handle.close()
            self._handle = None
            self.done = True
