"""Files written whole or not at all: a temporary file beside the target, moved into place.

Every file dvxl writes goes through here, so that they all behave alike:

- the temporary file is ``.~dvxl-<random><suffix>`` in the target's own folder (the same
  file system, so the move is atomic), and a failure removes it;
- the finished file gets the permissions any saved file gets (``0666`` less the umask),
  not ``mkstemp``'s owner-only ``0600``: outputs are for other people (marked-up copies go
  back to units, the JSON to other programs, the archive to the next secretary);
- ``durable=True`` syncs the file to disk before the move. The archive asks for it: what
  was received must survive a power cut. Outputs that the next run makes again do not.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".~dvxl-"


def file_mode() -> int:
    """The permissions a newly saved file gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temp_file(folder: Path, suffix: str = "") -> Path:
    """A new empty temporary file in ``folder`` (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
    os.close(handle)
    return Path(name)


def publish(temp: Path, path: Path, *, durable: bool = False) -> None:
    """Give ``temp`` a saved file's permissions and move it to ``path``."""
    os.chmod(temp, file_mode())
    if durable:
        handle = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
    os.replace(temp, path)


@contextlib.contextmanager
def replacing(path: Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content into; on success it replaces
    ``path``, on failure it is removed and ``path`` is left as it was."""
    temp = temp_file(path.parent, path.suffix)
    try:
        yield temp
        publish(temp, path, durable=durable)
    finally:
        temp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes, *, durable: bool = False) -> None:
    with replacing(path, durable=durable) as temp:
        temp.write_bytes(data)


def write_text(path: Path, text: str, *, durable: bool = False) -> None:
    """UTF-8, newlines as given (no translation on Windows)."""
    write_bytes(path, text.encode("utf-8"), durable=durable)


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
