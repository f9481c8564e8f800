"""Saved e-mails in the inbox: the spreadsheets they carry, who sent them, when they arrived.

Units send their returns by e-mail and offices save the e-mails (issue #12): Thunderbird,
Outlook's "Save as" .eml and webmail downloads give an ``.eml`` (read with the standard
library's :mod:`email`, ``policy.default``); Outlook's own format is ``.msg`` (read with
extract-msg, imported only when one is met). :func:`read_message` returns plain data:

* the receipt time and its source: the top-most ``Received:`` header with a date — the
  one the office's own mail server wrote when the message reached it — else, for a
  ``.msg`` without transport headers, its delivery time (also the office's server), else
  the ``Date`` header (the sender's clock); converted to this computer's local time
  without a zone, as dvxl keeps every time (:func:`dvxl.receipt_time.local_naive`);
* the sender and the subject;
* every spreadsheet attachment, found by its content (a zip package holding
  ``xl/workbook.xml`` or an OpenDocument spreadsheet, an OLE file holding a
  ``Workbook`` stream) or by a spreadsheet extension (so that a broken one gets its
  finding), with the name the sender gave it made safe: NFC, the last part of a path
  only (``../`` and ``C:\\`` dropped), unique within the message, ``tep-dinh-kem-N.xlsx``
  when it has none. Messages inside the message (an ``.eml`` or ``.msg`` attached, a
  ``message/rfc822`` part) give their attachments too, under the outer message's
  receipt time. Inline images, signatures and bodies are not attachments.

The work is bounded: the message and every attachment keep the reader's limits
(:class:`dvxl.gates.Limits`: size, number of parts), messages nest :data:`MAX_DEPTH`
deep at most. Whatever is wrong with a message becomes a finding, never an exception.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import io
import logging
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from pathlib import Path, PurePath
from typing import Any

from dvxl.findings import Code, Finding, make
from dvxl.gates import Limits, Refused, count, human
from dvxl.ole import Ole
from dvxl.receipt_time import RECEIVED, SENT, local_naive

#: The finding codes reading a message can give (F-codes of the reader's own gates).
EMITS = (Code.EMPTY_FILE, Code.CORRUPT_FILE, Code.TOO_LARGE, Code.UNPACKS_TOO_LARGE)

EML, MSG = "eml", "msg"
FORMATS = (EML, MSG)
#: Between a message's name and an attachment's, in every name the secretariat reads:
#: ``tin-nhan.eml › bao-cao.xlsx``.
SEPARATOR = " › "
MAX_DEPTH = 3  # a message attached to a message attached to a message
SPREADSHEET_SUFFIXES = frozenset(
    {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb", ".xltx", ".xltm", ".xlt", ".ots"})
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_SIGNATURES = frozenset({
    "application/pkcs7-signature", "application/x-pkcs7-signature",
    "application/pgp-signature", "application/pkcs7-mime", "application/x-pkcs7-mime",
})
_HEADERS = frozenset({
    "from", "date", "received", "subject", "message-id", "mime-version", "return-path",
    "to", "delivered-to", "x-mailer", "content-type", "reply-to", "cc", "x-received",
})
_HEADER_LINE = re.compile(r"^([!-9;-~]{1,76}):")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAME_MAX = 120


@dataclass(frozen=True)
class Attachment:
    """A spreadsheet the message carries: its name as the sender gave it (made safe) and
    its bytes."""

    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Message:
    """A saved e-mail as plain data."""

    format: str  # EML | MSG
    received: dt.datetime | None  # local time without a zone; None when the message has none
    received_from: str  # receipt_time.RECEIVED | receipt_time.SENT | "" (no time)
    sender: str  # "Tên <dia.chi@...>" as the message gives it
    sender_address: str  # the address alone, lower case; "" when none
    subject: str
    attachments: tuple[Attachment, ...]  # the spreadsheets
    others: tuple[str, ...]  # names of the other attachments (a cover letter…)


@dataclass(frozen=True)
class MailInfo:
    """The message a return came in, as the validation and the ledger record it."""

    name: str  # relative to the inbox, "/"-separated
    path: Path
    size: int
    sha256: str
    format: str
    received: dt.datetime | None
    received_from: str
    sender: str
    sender_address: str
    subject: str


@dataclass
class MailResult:
    message: Message | None
    findings: list[Finding]
    sha256: str = ""  # of the very bytes read; "" when the file was refused unread


def sniff(data: bytes) -> str:
    """``"eml"`` or ``"msg"`` when these bytes are a saved e-mail, else ``""``."""
    if data.startswith(_OLE):
        return MSG if _is_msg(data) else ""
    head = data[:8192].decode("latin-1")
    names = []
    for line in head.lstrip("\r\n").splitlines():
        if not line.strip():
            break
        if line[:1] in " \t":  # a folded header goes on
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            return ""
        names.append(match.group(1).lower())
    return EML if len(_HEADERS.intersection(names)) >= 2 else ""


def is_spreadsheet_name(name: str) -> bool:
    return PurePath(name).suffix.lower() in SPREADSHEET_SUFFIXES


def read_message(path: Path, limits: Limits, kind: str = "") -> MailResult:
    """Read the saved e-mail at ``path`` (``kind``: EML or MSG, else sniffed); on a problem,
    no message and its finding (F002, F003, F005)."""
    loaded: list[bytes] = []
    try:
        data = _load(path, limits)
        loaded.append(data)
        kind = sniff(data) or kind or (MSG if path.suffix.lower() == ".msg" else EML)
        collect = _Collect(limits)
        message = _read_msg(data, collect) if kind == MSG else _read_eml(data, collect)
        result = MailResult(message, [])
    except Refused as refused:
        result = MailResult(None, [make(refused.code, path.name, **refused.fields)])
    except Exception as exc:  # whatever a parser throws at a broken message
        what = "thư Outlook (.msg)" if kind == MSG else "thư điện tử"
        text = " ".join(str(exc).split())[:120]
        reason = f"{what} hỏng: {type(exc).__name__}" + (f": {text}" if text else "")
        result = MailResult(None, [make(Code.CORRUPT_FILE, path.name, value=reason)])
    if loaded:
        result.sha256 = hashlib.sha256(loaded[0]).hexdigest()
    return result


def _load(path: Path, limits: Limits) -> bytes:
    """The message's bytes, within the reader's size limit."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Refused(Code.CORRUPT_FILE, value="không phải tệp thông thường")
        too_big = {"expected": human(limits.max_file_bytes)}
        if info.st_size > limits.max_file_bytes:
            raise Refused(Code.TOO_LARGE, value=human(info.st_size), **too_big)
        with path.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise Refused(Code.CORRUPT_FILE, value=f"không mở được tệp: {exc.strerror or exc}") from exc
    if not data:
        raise Refused(Code.EMPTY_FILE)
    if len(data) > limits.max_file_bytes:
        raise Refused(Code.TOO_LARGE, value=f"hơn {too_big['expected']}", **too_big)
    return data


# --- what a message carries ----------------------------------------------------------------


class _Collect:
    """The attachments met while walking a message and the messages inside it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts = 0
        self.attachments: list[Attachment] = []
        self.others: list[str] = []
        self._taken: set[str] = set()

    def count(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise Refused(Code.UNPACKS_TOO_LARGE,
                          value=f"hơn {count(self.limits.max_parts)} phần (thư điện tử)",
                          expected=f"{count(self.limits.max_parts)} phần")

    def consider(self, raw_name: str | None, data: bytes, content_type: str, inline: bool,
                 depth: int) -> None:
        """One attached file: a spreadsheet, a message to look into, or something else."""
        name = raw_name or ""
        suffix = PurePath(_last_part(name)).suffix.lower()
        if depth < MAX_DEPTH and (suffix == ".eml" or content_type == "message/rfc822"):
            self._nested(lambda: _walk_eml(_parse_eml(data), depth + 1, self), name)
            return
        if depth < MAX_DEPTH and data.startswith(_OLE) and _is_msg(data):
            self._nested(lambda: _walk_msg(_open_msg(data), depth + 1, self), name)
            return
        fmt = spreadsheet_format(data)
        if fmt or suffix in SPREADSHEET_SUFFIXES:
            self.attachments.append(Attachment(self._unique(safe_name(name, fmt, len(
                self.attachments) + 1)), data))
        elif not inline and content_type not in _SIGNATURES and name:
            self.others.append(safe_name(name, "", 0))

    def _nested(self, walk: Any, name: str) -> None:
        try:
            walk()
        except Refused:
            raise
        except Exception:  # a broken message inside: listed, the rest still read
            self.others.append(safe_name(name or "thu-dinh-kem.eml", "", 0))

    def _unique(self, name: str) -> str:
        stem, suffix = _split(name)
        candidate, n = name, 2
        while candidate.casefold() in self._taken:
            candidate = f"{stem} ({n}){suffix}"
            n += 1
        self._taken.add(candidate.casefold())
        return candidate


def spreadsheet_format(data: bytes) -> str:
    """What spreadsheet these bytes are by their content (``xlsx``, ``xlsb``, ``ods``,
    ``xls``), else ``""``. Only the package's directory is read, never a part inflated."""
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                names = set(package.namelist())
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "xl/workbook.bin" in names:
                    return "xlsb"
                if "mimetype" in names:
                    info = package.getinfo("mimetype")
                    if info.file_size <= 128 and info.compress_size <= 128:
                        with package.open(info) as handle:
                            if handle.read(128).strip().startswith(_ODS_MIME):
                                return "ods"
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
                NotImplementedError, RuntimeError):
            return ""
        return ""
    if data.startswith(_OLE):
        try:
            names = Ole(data).names
        except Exception:  # a broken compound file is not recognised by its content
            return ""
        return "xls" if {"Workbook", "Book"} & names else ""
    return ""


def _is_msg(data: bytes) -> bool:
    try:
        names = Ole(data).names
    except Exception:
        return False
    return "__properties_version1.0" in names and any(n.startswith("__substg1.0_") for n in names)


def _last_part(name: str) -> str:
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _split(name: str) -> tuple[str, str]:
    suffix = PurePath(name).suffix
    if not suffix or len(suffix) > 8 or suffix == name:
        return name, ""
    return name[: -len(suffix)], suffix


def safe_name(raw: str, fmt: str, index: int) -> str:
    """The attachment's name as the sender gave it, safe to show and to name a copy after:
    NFC, the last part of a path, no control or reserved characters, at most
    :data:`_NAME_MAX` characters; ``tep-dinh-kem-N.<fmt>`` when nothing is left."""
    text = unicodedata.normalize("NFC", raw)
    text = _UNSAFE.sub("_", _last_part(text)).strip(" .")
    if not text:
        return f"tep-dinh-kem-{index}.{fmt or 'xlsx'}"
    if len(text) > _NAME_MAX:
        stem, suffix = _split(text)
        text = stem[: _NAME_MAX - len(suffix)] + suffix
    return text


# --- .eml: the standard library ------------------------------------------------------------


def _parse_eml(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not any(key.lower() in _HEADERS for key in message):
        raise Refused(Code.CORRUPT_FILE,
                      value="thư điện tử không có phần đầu thư (From, Date, Subject…)")
    return message


def _read_eml(data: bytes, collect: _Collect) -> Message:
    message = _parse_eml(data)
    received, source = _header_time(message)
    _walk_eml(message, 0, collect)
    name, address = _address(_text(message.get("From")))
    return Message(EML, received, source, _sender(name, address), address,
                   _text(message.get("Subject")), tuple(collect.attachments),
                   tuple(collect.others))


def _walk_eml(message: EmailMessage, depth: int, collect: _Collect) -> None:
    """Every leaf part of ``message``, messages inside it included (``depth`` deep)."""
    stack: list[tuple[EmailMessage, int]] = [(message, depth)]
    while stack:
        part, level = stack.pop()
        collect.count()
        content_type = part.get_content_type()
        if part.is_multipart():
            inner = level + 1 if content_type == "message/rfc822" else level
            if inner <= MAX_DEPTH:
                payload = part.get_payload()
                if isinstance(payload, list):
                    stack.extend((p, inner) for p in reversed(payload)
                                 if isinstance(p, EmailMessage))
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename is None and disposition != "attachment" and (
                content_type.startswith(("text/", "multipart/")) or part is message):
            continue  # a body
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        inline = disposition == "inline" or (
            content_type.startswith("image/") and part.get("Content-ID") is not None)
        collect.consider(filename, data, content_type, inline, level)


def _header_time(headers: Any) -> tuple[dt.datetime | None, str]:
    """The top-most ``Received:`` header's date, else ``Date``; local naive; and its source."""
    for value in headers.get_all("Received") or []:
        moment = _date(_text(value).rpartition(";")[2])
        if moment is not None:
            return moment, RECEIVED
    moment = _date(_text(headers.get("Date")))
    return (moment, SENT) if moment is not None else (None, "")


def _date(text: str) -> dt.datetime | None:
    text = " ".join(text.split())
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _plausible(moment)


def _plausible(moment: dt.datetime | None) -> dt.datetime | None:
    """A time worth trusting, local naive, or None (a clock never set, a garbled year)."""
    if moment is None or not 1990 <= moment.year <= 2200:
        return None
    try:
        return local_naive(moment)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value: object) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(_CONTROL.sub(" ", text).split())[:300]


def _address(text: str) -> tuple[str, str]:
    name, address = email.utils.parseaddr(text)
    return name.strip(), address.strip().lower() if "@" in address else ""


def _sender(name: str, address: str) -> str:
    if name and address:
        return f"{name} <{address}>"
    return name or address


# --- .msg: extract-msg ---------------------------------------------------------------------


def _open_msg(data: bytes) -> Any:
    import extract_msg
    from extract_msg.enums import ErrorBehavior

    # extract-msg logs what it finds odd in a file; dvxl reports files through findings.
    logging.getLogger("extract_msg").setLevel(logging.CRITICAL + 1)
    return extract_msg.openMsg(data, strict=False, delayAttachments=False,
                               errorBehavior=ErrorBehavior.SUPPRESS_ALL)


def _read_msg(data: bytes, collect: _Collect) -> Message:
    msg = _open_msg(data)
    try:
        headers = msg.header if getattr(msg, "header", None) is not None else None
        received: dt.datetime | None = None
        source = ""
        if headers is not None:
            for value in headers.get_all("Received") or []:
                received = _date(_text(value).rpartition(";")[2])
                if received is not None:
                    source = RECEIVED
                    break
        if received is None:  # the delivery time: the office's server again
            received = _plausible(_moment(getattr(msg, "receivedTime", None)))
            source = RECEIVED if received is not None else ""
        if received is None:
            received = _plausible(_moment(getattr(msg, "date", None)))
            source = SENT if received is not None else ""
        name, address = _address(_text(headers.get("From")) if headers is not None else "")
        if not address:
            name = name or _address(_text(getattr(msg, "sender", "")))[0] or _text(
                getattr(msg, "sender", ""))
            for stream in ("__substg1.0_5D01", "__substg1.0_0C1F", "__substg1.0_0065"):
                found = _address(_text(msg.getStringStream(stream)))[1]
                if found:
                    address = found
                    break
        subject = _text(getattr(msg, "subject", ""))
        _walk_msg(msg, 0, collect)
    finally:
        msg.close()
    return Message(MSG, received, source, _sender(name, address), address, subject,
                   tuple(collect.attachments), tuple(collect.others))


def _moment(value: object) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


def _walk_msg(msg: Any, depth: int, collect: _Collect) -> None:
    for attachment in getattr(msg, "attachments", None) or []:
        collect.count()
        name = (getattr(attachment, "longFilename", None)
                or getattr(attachment, "shortFilename", None)
                or getattr(attachment, "displayName", None) or "")
        payload = getattr(attachment, "data", None)
        if isinstance(payload, bytes):
            content_id = getattr(attachment, "contentId", None)
            inline = bool(getattr(attachment, "hidden", False)) or bool(content_id)
            collect.consider(name, payload, str(getattr(attachment, "mimetype", "") or ""),
                             inline, depth)
        elif hasattr(payload, "attachments") and depth + 1 <= MAX_DEPTH:  # a message inside
            _walk_msg(payload, depth + 1, collect)
