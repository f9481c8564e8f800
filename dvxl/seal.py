"""The seal of a template: its identity signed with a key only the workspace holds.

The hidden metadata sheet says which unit and period a template is for, but any clerk can
edit it (LibreOffice shows a veryHidden sheet as merely hidden). So templates carry a keyed
checksum (HMAC-SHA256) of their identity and layout (:func:`dvxl.form.signed_content`), made
with a secret key kept in the workspace and nowhere else: a return relabelled to another
unit or period no longer matches its signature, and nobody outside the office can make one
that does.

The key file, ``DIR/.dvxl-key`` (owner-only), is made by the first ``dvxl templates`` and
never changed afterwards, except that each period whose templates it signed is appended:
a return for such a period that carries no signature is refused, while a period whose
templates went out before dvxl signed them is still accepted (with a warning). Lose the
file and signed templates can no longer be verified: restore it from a backup, or make and
send the templates again. The key never leaves this module's :class:`Seal` in memory; only
its public name (:attr:`Seal.key_id`) is written anywhere.

The other half of a template's seal is the lock on its workbook structure
(:func:`dvxl.printing.lock_structure`), with the master's «mật khẩu khóa mẫu»; a new
workspace gets a random one (:func:`new_password`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from dvxl.errors import UsageError
from dvxl.findings import Code
from dvxl.form import KEY_KEY_ID, KEY_SIGNATURE, clean, signed_content

KEY_FILE = ".dvxl-key"
_HEADER = (
    "# dvxl: khóa ký mẫu báo cáo của thư mục làm việc này. Giữ bí mật: không gửi tệp này cho "
    "ai, không sửa; sao lưu cùng master.xlsm (mất tệp này thì không xác minh được các mẫu đã "
    "gửi).\n"
)
_KEY, _PERIOD = "key", "period"


class Seal:
    """A workspace's signing key (or its absence) and the periods it signed templates for.

    Its ``repr`` never shows the key; it is pickled only to reach worker processes.
    """

    def __init__(
        self, secret: bytes | None = None, signed: Iterable[str] = (), path: Path | None = None
    ) -> None:
        self._secret = secret
        self.signed = frozenset(signed)
        self.path = path
        self.key_id = (
            hmac.new(secret, b"dvxl-key-id", hashlib.sha256).hexdigest()[:12] if secret else ""
        )

    def __repr__(self) -> str:
        return f"Seal(key_id={self.key_id!r}, signed={sorted(self.signed)!r})"

    @property
    def has_key(self) -> bool:
        return self._secret is not None

    def stamp(self, meta: Mapping[str, str], cells: Iterable[tuple[str, str]]) -> dict[str, str]:
        """The rows that sign a metadata block: the key's name and the signature; {} without
        a key (the template then goes out unsigned, as before dvxl signed templates).

        Signed as a reader will see the values (:func:`dvxl.form.clean`)."""
        if self._secret is None:
            return {}
        named = {key: clean(value) for key, value in meta.items()} | {KEY_KEY_ID: self.key_id}
        digest = self._digest(named, [(clean(cell), clean(key)) for cell, key in cells])
        if digest is None:
            raise ValueError("a signed field holds U+001F")  # the catalog's codes never do
        return {KEY_KEY_ID: self.key_id, KEY_SIGNATURE: digest}

    def verifies(self, meta: Mapping[str, str], cells: Iterable[tuple[str, str]]) -> bool:
        """Whether ``meta`` carries this key's signature of ``meta`` and ``cells`` (both as
        read back: :func:`dvxl.checks.read_identity`)."""
        if self._secret is None or meta.get(KEY_KEY_ID, "") != self.key_id:
            return False
        digest = self._digest(meta, cells)
        given = meta.get(KEY_SIGNATURE, "").lower()
        return digest is not None and hmac.compare_digest(
            given.encode("ascii", "replace"), digest.encode("ascii")
        )

    def _digest(self, meta: Mapping[str, str], cells: Iterable[tuple[str, str]]) -> str | None:
        assert self._secret is not None
        content = signed_content(meta, cells)
        if content is None:
            return None
        return hmac.new(self._secret, content, hashlib.sha256).hexdigest()


#: What a return that carries no proof of its identity was identified with: its content,
#: having lost the metadata (I001), or metadata its period's templates never signed (I014).
#: Why each proves nothing, in words for I015.
UNPROVEN = {
    Code.METADATA_LOST.value: "không còn trang thông tin ẩn của mẫu (nơi giữ chữ ký xác thực)",
    Code.UNSIGNED_TEMPLATE.value: "mẫu không có chữ ký xác thực",
}


def proven(codes: Iterable[str]) -> bool:
    """Whether a return identified with these finding codes proves its unit and period
    (read with the workspace's seal, as dvxl's commands read every return): an unproven
    one never replaces a proven one of the same unit and period (issue 14)."""
    return not any(code in UNPROVEN for code in codes)


def key_path(root: Path) -> Path:
    return root / KEY_FILE


def load(root: Path) -> Seal:
    """The workspace's seal; a seal without a key when the workspace has no key file."""
    path = key_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Seal(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(_broken(path, f"không đọc được ({exc.__class__.__name__})")) from None
    secret: bytes | None = None
    signed: list[str] = []
    for line in text.splitlines():
        word, _, value = line.strip().partition(" ")
        if word == _KEY and secret is None:
            try:
                secret = bytes.fromhex(value.strip())
            except ValueError:
                secret = None
                break
        elif word == _PERIOD and value.strip():
            signed.append(value.strip())
    if secret is None or len(secret) < 16:
        raise UsageError(_broken(path, "nội dung không đúng"))
    return Seal(secret, signed, path)


def _broken(path: Path, why: str) -> str:
    return (
        f"Tệp khóa ký mẫu {path} {why}. Hãy chép lại tệp này từ bản sao lưu của thư mục làm "
        "việc. Nếu không còn bản sao nào: đổi tên tệp hỏng (ví dụ thêm «.cu»), tạo lại mẫu "
        "(dvxl templates -p KỲ) và gửi lại cho các đơn vị, vì các mẫu đã gửi không còn xác "
        "minh được."
    )


def ensure(root: Path) -> Seal:
    """The workspace's seal, its key made first if it has none (32 random bytes, in a file
    only its owner may read). Never replaces an existing key: templates sent out need it."""
    path = key_path(root)
    if not path.exists():
        content = f"{_HEADER}{_KEY} {secrets.token_hex(32)}\n"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another run: that key is the key
            return load(root)
        try:
            os.write(handle, content.encode("utf-8"))
            os.fsync(handle)
        except BaseException:
            os.close(handle)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        os.close(handle)
    return load(root)


def record_signed(root: Path, seal: Seal, period: str) -> Seal:
    """Note in the key file that ``period``'s templates went out signed; the seal that knows."""
    if period in seal.signed:
        return seal
    with key_path(root).open("a", encoding="utf-8") as handle:
        handle.write(f"{_PERIOD} {period}\n")
    return load(root)


_PASSWORD_LETTERS = "abcdefghijkmnpqrstuvwxyz23456789"  # no l/1, no o/0


def new_password() -> str:
    """A password for the template lock that a secretary can read out and type: 3 × 4."""
    groups = ("".join(secrets.choice(_PASSWORD_LETTERS) for _ in range(4)) for _ in range(3))
    return "-".join(groups)
