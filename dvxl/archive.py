"""The archive: every received file kept once, under its SHA-256, never rewritten.

A run's new contents go into one *pack*, ``archive/<date>-<time>-<random>.zip``: a
plain zip whose members are stored (not compressed again) and named
``<sha256><suffix>``, so that Windows Explorer or any unzip tool opens it. A file
larger than :data:`PACK_MEMBER_MAX` is kept as a file of its own,
``archive/ab/<sha256><suffix>``: the layout of every file before packs, which the
ledger of an older workspace still names and which is read as before.

Why packs (issue #6): creating a file is the costly part of keeping one. On the
benchmark machine each new file costs 0.5–0.9 ms of kernel time, so archiving 986
returns as files took 0.55 s of the merge's 2.5 s; as one pack, 0.08 s. On Windows
the antivirus also scans every new ``.xlsx``. A pack is written to a temporary
name, synced to disk, then moved into place, so the archive never holds a partial
pack; only then does the ledger name its members.

A location, as the ledger records it, is relative to the workspace with ``/``
separators: ``archive/<pack>.zip/<member>`` for a pack member,
``archive/ab/<sha256><suffix>`` for a file of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from dvxl import atomic
from dvxl.errors import DvxlError
from dvxl.validate import FileReport, NotRegular, open_regular

ARCHIVE_DIR = "archive"
#: Larger files are kept as files of their own: a pack member is read whole into memory
#: before it is written, so that its bytes are checked before the pack holds them.
PACK_MEMBER_MAX = 64 << 20
_PACK_SUFFIX = ".zip"


class ArchiveError(DvxlError):
    """A received file cannot be written into the archive (no room, no permission)."""


def archive_path(root: Path, sha256: str, suffix: str) -> Path:
    """Where a file of its own is kept: ``root/archive/<2 hex>/<sha256><suffix>``."""
    return root / ARCHIVE_DIR / sha256[:2] / member_name(sha256, suffix)


def member_name(sha256: str, suffix: str) -> str:
    """``<sha256><suffix>``; a suffix that is no plain extension (a name's tail after its
    last dot: long, not UTF-8, with control characters) is left out (issue 14)."""
    return f"{sha256}{suffix.lower() if _PLAIN_SUFFIX.fullmatch(suffix) else ''}"


_PLAIN_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


def split(location: str) -> tuple[str, str | None]:
    """A location as (file relative to the workspace, member of that pack or None)."""
    parts = location.split("/")
    if len(parts) == 3 and parts[0] == ARCHIVE_DIR and parts[1].endswith(_PACK_SUFFIX):
        return f"{parts[0]}/{parts[1]}", parts[2]
    return location, None


def read(root: Path, location: str) -> bytes:
    """The bytes the archive keeps at ``location`` (as the ledger records it)."""
    file, member = split(location)
    if member is None:
        return (root / file).read_bytes()
    with zipfile.ZipFile(root / file) as pack:
        return pack.read(member)


class Holdings:
    """Whether the archive still holds what the ledger says it does, reading each pack's
    directory once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._packs: dict[str, dict[str, int]] = {}

    def holds(self, location: str, size: int) -> bool:
        """A file or member of this size is at ``location``."""
        file, member = split(location)
        if member is None:
            path = self.root / file
            return path.is_file() and path.stat().st_size == size
        if file not in self._packs:
            try:
                with zipfile.ZipFile(self.root / file) as pack:
                    self._packs[file] = {i.filename: i.file_size for i in pack.infolist()}
            except (OSError, zipfile.BadZipFile):  # gone or damaged: archived again
                self._packs[file] = {}
        return self._packs[file].get(member) == size


class Writer:
    """This run's additions to the archive. Use as a context manager; :meth:`commit` puts
    them in place, and leaving without it leaves the archive as it was.
    """

    def __init__(self, root: Path, now: dt.datetime | None = None) -> None:
        self.root = root
        self.folder = root / ARCHIVE_DIR
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        self.pack_name = f"{stamp}-{secrets.token_hex(4)}{_PACK_SUFFIX}"
        self._temp: Path | None = None
        self._handle: BinaryIO | None = None
        self._zip: zipfile.ZipFile | None = None
        self._members: set[str] = set()
        self._loose: list[tuple[Path, Path]] = []  # (temporary file, its place), synced

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    @property
    def location(self) -> str:
        """Where this run's pack will be, relative to the workspace."""
        return f"{ARCHIVE_DIR}/{self.pack_name}"

    def add(self, report: FileReport) -> str | None:
        """Copy the report's file into the archive and return its location; None when the
        file changed (or vanished) since it was validated, which leaves nothing behind.

        An e-mail's attachment has no file of its own: the bytes that were checked go
        into the pack (its message is archived by :meth:`add_file`)."""
        if report.data is not None:
            return self._add_bytes(report.sha256, Path(report.own_name).suffix, report.data,
                                   report.modified, report.name)
        return self.add_file(report.path, report.sha256, report.size, report.name)

    def add_file(self, path: Path, sha256: str, size: int, name: str) -> str | None:
        """:meth:`add` for a file of the inbox (``name``: as the messages show it)."""
        member = member_name(sha256, path.suffix)
        try:
            if size > PACK_MEMBER_MAX:
                return self._add_loose(path, sha256, size)
            if member in self._members:
                return f"{self.location}/{member}"
            try:
                with open_regular(path) as source:
                    data = source.read(PACK_MEMBER_MAX + 1)
                    saved = os.fstat(source.fileno())
            except (FileNotFoundError, NotRegular):
                return None
            if hashlib.sha256(data).hexdigest() != sha256:
                return None
            info = zipfile.ZipInfo(member, time.localtime(saved.st_mtime)[:6])
            info.external_attr = 0o644 << 16
            self._open().writestr(info, data)
        except OSError as exc:
            raise _error(name, self.folder, exc) from exc
        self._members.add(member)
        return f"{self.location}/{member}"

    def _add_bytes(self, sha256: str, suffix: str, data: bytes, saved: dt.datetime,
                   name: str) -> str | None:
        """Bytes held in memory, into the pack whatever their size (they are read already)."""
        member = member_name(sha256, suffix)
        if member in self._members:
            return f"{self.location}/{member}"
        if hashlib.sha256(data).hexdigest() != sha256:
            return None
        stamp = saved.timetuple()[:6] if saved.year >= 1980 else (1980, 1, 1, 0, 0, 0)
        info = zipfile.ZipInfo(member, stamp)
        info.external_attr = 0o644 << 16
        try:
            self._open().writestr(info, data)
        except OSError as exc:
            raise _error(name, self.folder, exc) from exc
        self._members.add(member)
        return f"{self.location}/{member}"

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._temp = atomic.temp_file(self.folder, ".zip")
            self._handle = self._temp.open("w+b")
            # Times before 1980 (a clock never set) are stored as 1980 instead of refused.
            self._zip = zipfile.ZipFile(self._handle, "w", zipfile.ZIP_STORED,
                                        strict_timestamps=False)
        return self._zip

    def _add_loose(self, path: Path, sha256: str, size: int) -> str | None:
        """A large file, copied to a file of its own beside its place, hashed as it is
        written, and synced; moved into place by :meth:`commit`. No more than the ``size``
        that was validated is copied: a file that grew, or was swapped for a link to an
        endless device, is no longer what was validated."""
        dest = archive_path(self.root, sha256, path.suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = atomic.temp_file(dest.parent, dest.suffix)
        try:
            digest = hashlib.sha256()
            copied = 0
            with temp.open("wb") as target, open_regular(path) as source:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    copied += len(chunk)
                    if copied > size:
                        break
                    digest.update(chunk)
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
                saved = os.fstat(source.fileno())
            if copied != size or digest.hexdigest() != sha256:
                temp.unlink()
                return None
            os.utime(temp, ns=(saved.st_atime_ns, saved.st_mtime_ns))  # when it was saved
        except (FileNotFoundError, NotRegular):
            temp.unlink(missing_ok=True)
            return None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        self._loose.append((temp, dest))
        return dest.relative_to(self.root).as_posix()

    def commit(self) -> None:
        """Sync the pack to disk and move it and the large files into place."""
        try:
            if self._zip is not None:
                assert self._handle is not None and self._temp is not None
                self._zip.close()
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()
                atomic.publish(self._temp, self.folder / self.pack_name)  # synced above
                self._zip = self._handle = self._temp = None
            folders = {self.folder}
            for temp, dest in self._loose:
                atomic.publish(temp, dest)  # synced when copied
                folders.add(dest.parent)
            self._loose = []
            for folder in folders:
                atomic.sync_folder(folder)
        except OSError as exc:
            raise ArchiveError(
                f"Không ghi được kho lưu trữ {self.folder}: {exc.strerror or exc}. Hãy kiểm "
                "tra quyền ghi và dung lượng ổ đĩa rồi chạy lại."
            ) from exc

    def discard(self) -> None:
        """Drop what was not put in place (a run that stops halfway)."""
        if self._zip is not None:  # closed first, or it writes its directory when collected
            with contextlib.suppress(Exception):
                self._zip.close()
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
        for temp, _ in self._loose:
            temp.unlink(missing_ok=True)
        self._zip = self._handle = self._temp = None
        self._loose = []


def _error(name: str, folder: Path, exc: OSError) -> ArchiveError:
    return ArchiveError(
        f"Không chép được tệp «{name}» vào kho lưu trữ {folder}: "
        f"{exc.strerror or exc}. Hãy kiểm tra quyền ghi và dung lượng ổ đĩa rồi chạy lại."
    )


def locations(root: Path) -> list[str]:
    """Every location the archive of the workspace at ``root`` holds, in text order:
    the members of its packs and its files of their own (temporary files left out)."""
    folder = root / ARCHIVE_DIR
    found: list[str] = []
    if not folder.is_dir():
        return found
    for path in folder.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        relative = path.relative_to(root).as_posix()
        if path.parent == folder and path.suffix == _PACK_SUFFIX:
            with zipfile.ZipFile(path) as pack:
                found += [f"{relative}/{name}" for name in pack.namelist()]
        else:
            found.append(relative)
    return sorted(found)


@dataclass(frozen=True)
class Damage:
    """A content the ledger records that the archive no longer holds as it was."""

    sha256: str
    location: str
    problem: str  # Vietnamese: missing, altered, unreadable


def verify(root: Path, held: list[tuple[str, str]]) -> list[Damage]:
    """Hash again every content the ledger records (``held``: sha256, location) and list
    what is missing or altered; each pack is opened once."""
    damage: list[Damage] = []
    by_file: dict[str, list[tuple[str, str, str | None]]] = {}
    for sha256, location in held:
        file, member = split(location)
        by_file.setdefault(file, []).append((sha256, location, member))
    for file, entries in sorted(by_file.items()):
        path = root / file
        pack: zipfile.ZipFile | None = None
        try:
            if entries[0][2] is not None:
                pack = zipfile.ZipFile(path)
            for sha256, location, member in entries:
                problem = _check(path, pack, member, sha256)
                if problem:
                    damage.append(Damage(sha256, location, problem))
        except FileNotFoundError:
            damage += [Damage(e[0], e[1], "mất tệp lưu trữ") for e in entries]
        except (OSError, zipfile.BadZipFile) as exc:
            damage += [Damage(e[0], e[1], f"không đọc được tệp lưu trữ ({exc})") for e in entries]
        finally:
            if pack is not None:
                pack.close()
    return damage


def _check(path: Path, pack: zipfile.ZipFile | None, member: str | None, sha256: str) -> str:
    digest = hashlib.sha256()
    try:
        handle = pack.open(member) if pack is not None and member else path.open("rb")
    except KeyError:
        return "mất trong gói lưu trữ"
    except FileNotFoundError:
        return "mất tệp lưu trữ"
    try:
        with handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, zipfile.BadZipFile) as exc:  # a CRC error in a damaged pack is here too
        return f"không đọc được ({exc})"
    if digest.hexdigest() != sha256:
        return "nội dung đã bị thay đổi (mã băm SHA-256 khác)"
    return ""


def packs(root: Path) -> list[str]:
    """Every pack of the archive, as a location prefix (``archive/<pack>.zip``)."""
    folder = root / ARCHIVE_DIR
    if not folder.is_dir():
        return []
    return sorted(f"{ARCHIVE_DIR}/{p.name}" for p in folder.glob(f"*{_PACK_SUFFIX}")
                  if p.is_file() and not p.name.startswith("."))


#: Where packs that no ledger row names are moved (kept: they may hold the only copy).
UNRECORDED_DIR = "chua-ghi-so"


def set_aside_unrecorded(root: Path, named: set[str]) -> list[Path]:
    """Move the packs that no ledger row names (a run stopped after writing its pack and
    before recording it) into ``archive/chua-ghi-so/``: kept, never read as held, listed
    by ``dvxl verify``. Their contents are archived again by the run that records them."""
    moved = []
    for pack in packs(root):
        if pack not in named:
            source = root / pack
            target = root / ARCHIVE_DIR / UNRECORDED_DIR / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moved.append(target)
    return moved
