"""Progress of a long run (validate, merge) on standard error: files done of the total, time left.

On a terminal, click's progress bar, redrawn in place. Otherwise (a log file, a pipe, a
scheduled task) a bar cannot be redrawn, and click prints its label once and nothing
after; so a whole line is written every :data:`LINES` th of the files or every
:data:`EVERY_S` seconds, whichever comes first, and one when the run is done. Standard
output is flushed before each line, so that when both streams go to one file a progress
line never lands inside a result line (issue 15: «…/nhiem-vuĐang kiểm tra»).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import click

#: About this many progress lines for a whole run when the output is not a terminal.
LINES = 10
#: And at least one line this often (seconds) on a slow run…
EVERY_S = 10.0
#: …but never more often than this: a short run says only where it starts and ends.
GAP_S = 1.0


def files(
    items: Iterator[Path],
    count: int,
    *,
    label: str = "Đang kiểm tra",
    done_label: str = "Đã kiểm tra",
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Path]:
    """``items`` again, telling ``stream`` (standard error) how many of ``count`` are done.

    An item counts as done when the next one is asked for (the caller checks a file between
    two requests).
    """
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        with click.progressbar(
            items, length=count, label=label, file=out, show_pos=True, show_eta=True,
            show_percent=False, info_sep=" tệp, còn khoảng ",
        ) as bar:
            yield from bar
        return
    yield from _lines(items, count, label, done_label, out, clock)


def _lines(
    items: Iterator[Path], count: int, label: str, done_label: str, out: TextIO,
    clock: Callable[[], float],
) -> Iterator[Path]:
    start = last_time = clock()
    step = max(1, math.ceil(count / LINES))
    last_done = done = 0
    _say(out, f"{label} {count} tệp…")
    for item in items:
        now = clock()
        waited = now - last_time
        if done and waited >= GAP_S and (done - last_done >= step or waited >= EVERY_S):
            left = (now - start) / done * max(0, count - done)
            _say(out, f"{label}: {done}/{count} tệp, {time_left(left)}.")
            last_done, last_time = done, now
        yield item
        done += 1  # the caller asks for the next one once this one is checked
    _say(out, f"{done_label} {done}/{count} tệp trong {duration(clock() - start)}.")


def _say(out: TextIO, line: str) -> None:
    """One whole line on ``out``, after whatever standard output holds back."""
    if sys.stdout is not None and sys.stdout is not out:
        sys.stdout.flush()
    click.echo(line, file=out)
    out.flush()


def time_left(seconds: float) -> str:
    """«còn khoảng 2 phút», or «sắp xong» under a second."""
    return "sắp xong" if seconds < 0.5 else f"còn khoảng {duration(seconds)}"


def duration(seconds: float) -> str:
    """``75.2`` → «1 phút 15 giây»; under a second → «dưới 1 giây»."""
    whole = round(seconds)
    if whole < 1:
        return "dưới 1 giây"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes} phút"
    if minutes:
        return f"{minutes} phút {secs} giây" if secs else f"{minutes} phút"
    return f"{secs} giây"
