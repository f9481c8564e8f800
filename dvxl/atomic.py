"""Files written whole or not at all: a temporary file beside the target, moved into place.

Every file dvxl writes goes through here, so that they all behave alike:

- the temporary file is ``.~dvxl-<random><suffix>`` in the target's own folder (the same
  file system, so the move is atomic), and a failure removes it;
- the finished file gets the permissions any saved file gets (``0666`` less the umask),
  not ``mkstemp``'s owner-only ``0600``: outputs are for other people (marked-up copies go
  back to units, the JSON to other programs, the archive to the next secretary);
- ``durable=True`` syncs the file to disk before the move. The archive asks for it: what
  was received must survive a power cut. Outputs that the next run makes again do not;
- ``private=True`` keeps ``mkstemp``'s owner-only ``0600`` instead: for the files that hold
  secrets (the upload codes and their list, :mod:`dvxl.uploadcodes`, :mod:`dvxl.codesheet`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from dvxl.errors import DvxlError

TEMP_PREFIX = ".~dvxl-"


class OutputError(DvxlError):
    """A file of the outputs could not be written; the message names the file the user
    knows (never a temporary one) and says what to do, in Vietnamese."""

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path, self.cause = path, exc
        super().__init__(f"Không ghi được {path}: {reason(exc)}")

    def __reduce__(self) -> tuple[type[OutputError], tuple[Path, OSError]]:
        return OutputError, (self.path, self.cause)  # raised in a worker, told here


#: errno values and what the secretariat should do about them.
_REASONS = {
    errno.EACCES: "không có quyền ghi, hoặc tệp đang mở trong Excel hay chương trình khác. "
                  "Hãy đóng tệp đó (hoặc xin quyền ghi vào thư mục) rồi chạy lại.",
    errno.EPERM: "không được phép ghi. Hãy đóng tệp nếu nó đang mở, hoặc xin quyền ghi vào "
                 "thư mục, rồi chạy lại.",
    errno.EBUSY: "tệp đang được một chương trình khác dùng. Hãy đóng tệp đó rồi chạy lại.",
    errno.ENOSPC: "ổ đĩa đã hết chỗ trống. Hãy giải phóng dung lượng rồi chạy lại.",
    errno.EDQUOT: "đã dùng hết dung lượng được cấp trên ổ đĩa. Hãy giải phóng dung lượng "
                  "rồi chạy lại.",
    errno.EROFS: "ổ đĩa hoặc thư mục chỉ cho đọc. Hãy chọn thư mục làm việc ghi được.",
    errno.ENOENT: "thư mục chứa nó không còn (bị xóa hoặc ổ đĩa mạng bị ngắt). Hãy kiểm tra "
                  "rồi chạy lại.",
    errno.EISDIR: "đã có một thư mục trùng tên. Hãy đổi tên hoặc chuyển thư mục đó đi.",
}
_WINDOWS_SHARING_VIOLATION = 32  # "being used by another process": a workbook open in Excel


def reason(exc: OSError) -> str:
    """What went wrong, and what to do, in Vietnamese (never the system's English)."""
    if getattr(exc, "winerror", None) == _WINDOWS_SHARING_VIOLATION:
        return _REASONS[errno.EBUSY]
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return f"lỗi hệ thống {code}. Hãy kiểm tra thư mục và ổ đĩa rồi chạy lại."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permissions a newly saved file gets under the current umask."""
    return 0o666 & ~_umask()


def temp_file(folder: Path, suffix: str = "") -> Path:
    """A new empty temporary file in ``folder`` (created when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputError(folder, exc) from exc
    os.close(handle)
    return Path(name)


def publish(temp: Path, path: Path, *, durable: bool = False, private: bool = False) -> None:
    """Give ``temp`` a saved file's permissions (owner-only with ``private``) and move it to
    ``path``."""
    try:
        os.chmod(temp, 0o600 if private else file_mode())
        if durable:
            handle = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)
        os.replace(temp, path)
    except OSError as exc:
        raise OutputError(path, exc) from exc


@contextlib.contextmanager
def replacing(path: Path, *, durable: bool = False, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content into; on success it replaces
    ``path``, on failure it is removed and ``path`` is left as it was. A write that fails
    for want of room or rights is an :class:`OutputError` naming ``path``."""
    temp = temp_file(path.parent, path.suffix)
    try:
        try:
            yield temp
        except OSError as exc:
            if exc.filename is not None and Path(exc.filename) != temp:
                raise  # about another file: its own message
            raise OutputError(path, exc) from exc
        publish(temp, path, durable=durable, private=private)
    finally:
        temp.unlink(missing_ok=True)


class Staging:
    """A run's outputs, written into ``DEST/.~dvxl-moi-…/`` and moved into ``DEST`` only when
    all of them are written (:meth:`commit`): the office never reads a mix of two runs, and
    a run that fails leaves the previous outputs as they were."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        try:
            dest.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "moi-", dir=dest))
        except OSError as exc:
            raise OutputError(dest, exc) from exc
        os.chmod(self.folder, 0o777 & ~_umask())

    def final(self, path: Path) -> Path:
        """Where a file written into the staging folder ends up."""
        return self.dest / path.relative_to(self.folder)

    def commit(self, owned: Iterable[str] = ()) -> None:
        """Move everything written into ``DEST``, folders whole (``tra-lai/`` holds this
        run's copies only); the folders named in ``owned`` that this run did not write are
        removed, being an earlier run's."""
        written = {entry.name for entry in self.folder.iterdir()}
        for name in sorted(written | set(owned)):
            source, target = self.folder / name, self.dest / name
            try:
                if source.is_dir() or (name in owned and not source.exists()):
                    self._swap_folder(source, target)
                else:
                    os.replace(source, target)
            except OSError as exc:
                raise OutputError(target, exc) from exc
        self.discard()

    def _swap_folder(self, source: Path, target: Path) -> None:
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "cu-", dir=self.dest))
            os.replace(target, old / target.name)
        if source.exists():
            os.replace(source, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextlib.contextmanager
    def writing(self, *, own: bool = True) -> Iterator[Path]:
        """The block writes outputs into the staging folder (and commits them): if it fails,
        the folder is discarded (when this caller ``own``s the staging) and a write failure
        is told by the output the user knows (:meth:`told`)."""
        try:
            yield self.folder
        except (OutputError, OSError) as error:
            if own:
                self.discard()
            told = self.told(error)
            if told is error:
                raise
            raise told from error
        except BaseException:
            if own:
                self.discard()
            raise

    def told(self, error: OSError | OutputError) -> BaseException:
        """``error`` naming the output the user knows, not its place in the staging folder
        (or a temporary file in it)."""
        if isinstance(error, OutputError):
            path, cause = error.path, error.cause
        elif error.filename is not None:
            path, cause = Path(str(error.filename)), error
        else:
            return error
        if not path.is_relative_to(self.folder):
            return error
        final = self.final(path)
        if final.name.startswith(TEMP_PREFIX):  # a library's own temporary file
            final = final.parent
        return OutputError(final, cause)


def write_bytes(path: Path, data: bytes, *, durable: bool = False,
                private: bool = False) -> None:
    with replacing(path, durable=durable, private=private) as temp:
        temp.write_bytes(data)


def write_text(path: Path, text: str, *, durable: bool = False, private: bool = False) -> None:
    """UTF-8, newlines as given (no translation on Windows)."""
    write_bytes(path, text.encode("utf-8"), durable=durable, private=private)


def sync_folder(folder: Path) -> None:
    """Make the folder's new names durable too, where the system can (POSIX; Windows cannot
    open a folder, and network file systems may refuse to sync one: the files themselves
    are synced already)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
