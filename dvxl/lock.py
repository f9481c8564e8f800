"""One run at a time per workspace (issue 14): two secretaries, or the Excel button and the
command line, never archive, record or write outputs at the same time.

The lock is the operating system's own lock on ``DIR/.dvxl.lock`` (``filelock``: fcntl on
Linux and macOS, msvcrt on Windows), so a run that is killed releases it with its
process; nothing is left to clean up by hand. Within one process it nests (the demo holds
it while it runs the merge).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from dvxl.errors import DvxlError

LOCK_NAME = ".dvxl.lock"
#: How long a command waits for another run to finish before it gives up.
WAIT_S = 600.0


class BusyError(DvxlError):
    """Another run holds the workspace."""


_held: dict[Path, int] = {}
_guard = threading.Lock()


@contextlib.contextmanager
def exclusive(
    root: Path, wait_s: float | None = None, waiting: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the workspace at ``root`` for the block; wait up to ``wait_s`` seconds (default
    :data:`WAIT_S`) for another run (``waiting`` is called once, when one is found), then
    refuse with :class:`BusyError`."""
    wait_s = WAIT_S if wait_s is None else wait_s
    key = root.resolve()
    with _guard:
        if key in _held:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(key / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if waiting is not None and wait_s > 0:
            waiting()
        try:
            lock.acquire(timeout=wait_s)
        except Timeout:
            raise BusyError(
                f"Một lượt chạy khác của dvxl đang dùng thư mục làm việc {root} (nút bấm trong "
                "Excel hoặc một máy khác). Hãy chờ lượt đó xong rồi chạy lại."
            ) from None
    except OSError as exc:
        raise DvxlError(
            f"Không khóa được thư mục làm việc {root} để chạy: {exc.strerror or exc}. Hãy "
            "kiểm tra quyền ghi vào thư mục này."
        ) from exc
    with _guard:
        _held[key] = 1
    try:
        yield
    finally:
        with _guard:
            del _held[key]
        lock.release()
