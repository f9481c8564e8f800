"""Worker processes: how many, how they start, what they inherit from this one.

The one set-up behind every process dvxl starts: the pools that check an inbox
(:mod:`dvxl.validate`), make the marked copies (:mod:`dvxl.markup`) and write a large
roster's task workbooks (:mod:`dvxl.render`), and the bare forked process that writes
the validation outputs while a merge goes on (:mod:`dvxl.workspace`).

- How many: :func:`worker_count`, ``DVXL_WORKERS`` or the CPUs this process may use.
- How they start: forked on Linux (a worker inherits the catalog and the batch instead
  of receiving them pickled), the platform's own way elsewhere; :func:`fresh_context`
  starts them afresh once this process has grown large (:func:`process_is_large`).
- What they inherit: the cyclic garbage collector is paused in a merge
  (:func:`collector_paused`) and runs again in every worker; objects inherited while
  :func:`frozen_heap` is on are left alone by the workers' collector, so that their
  pages stay shared.

Where no process can start (:data:`START_ERRORS`), callers do the work themselves.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")

#: The environment variable that sets the number of worker processes (1: none).
WORKERS_ENV = "DVXL_WORKERS"
#: What starting a process raises where there are none to have (a sandbox, a platform
#: without them): the caller then does the work in this process.
START_ERRORS = (OSError, ImportError, NotImplementedError)
#: Above this peak size of this process, workers start afresh (see :func:`fresh_context`).
FORK_MAX_MB = 256


def worker_count() -> int:
    """``DVXL_WORKERS`` if set to a whole number, else the CPUs this process may use."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text.isdigit():
        return max(1, int(text))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# The garbage collector ------------------------------------------------------------------------


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Worker processes forked inside leave the objects they inherit alone.

    A forked process shares its parent's memory until it writes to it, and the cyclic
    garbage collector writes to every object it scans: frozen objects it does not scan
    (without this, a worker forked from a merge holding 10,000 reports copied most of them).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process meanwhile (the state before is restored).

    A merge builds millions of small objects — reports, receipts, table rows — none of
    them in reference cycles, and the collector's passes over them free nothing: at
    10,000 returns they took 3.9 s of the merge. Worker processes started meanwhile
    collect as usual (:func:`start_collecting`), for the libraries they run.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def start_collecting() -> None:
    """In a worker process forked while the collector was paused: collect again."""
    gc.enable()


# Starting workers -----------------------------------------------------------------------------


def forks() -> bool:
    """Whether workers here are forked: on Linux, where forking is safe and cheapest."""
    return sys.platform.startswith("linux")


def context() -> multiprocessing.context.BaseContext:
    """How workers start: forked on Linux, the platform's default elsewhere."""
    return multiprocessing.get_context("fork" if forks() else None)


def fresh_context() -> multiprocessing.context.BaseContext:
    """How to start workers that need little of this process: forked while it is small,
    else afresh.

    A forked worker shares its parent's memory, but each object its allocator places
    next to an inherited one turns a shared page into a copy: forked from a merge holding
    10,000 reports, a worker took 250 MB of its own; started afresh, 90 MB. Forking is
    kept for smaller merges, where it saves the fresh start (a few tenths of a second).
    """
    if forks() and not process_is_large():
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context()


def process_is_large() -> bool:
    """Whether this process has grown past :data:`FORK_MAX_MB` (a national-scale merge)."""
    return _peak_mb() >= FORK_MAX_MB


def _peak_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows: no fork either
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)  # bytes on macOS


def pool(
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    mp_context: multiprocessing.context.BaseContext | None = None,
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (:func:`context` unless ``mp_context``) that collect
    garbage again (:func:`start_collecting`), then run ``initializer(*initargs)``.

    Raises one of :data:`START_ERRORS` where no process can start.
    """
    chosen = mp_context or context()
    # A forked worker's parent is this process; one started afresh has a server's.
    parent = os.getpid() if chosen.get_start_method() == "fork" else None
    return ProcessPoolExecutor(workers, mp_context=chosen, initializer=_start_worker,
                               initargs=(parent, initializer, initargs))


def _start_worker(parent: int | None, initializer: Callable[..., None] | None,
                  initargs: tuple[Any, ...]) -> None:
    die_with_parent(parent)
    start_collecting()
    if initializer is not None:
        initializer(*initargs)


#: Linux's prctl option that sends a process a signal when its parent ends.
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """In a worker: end when the process that started it ends, however it ends.

    A worker waits for work on a pipe it holds both ends of, so a merge killed mid-way
    left its workers waiting for ever (issue 14). On Linux the kernel sends them SIGTERM
    when their parent goes (``prctl(PR_SET_PDEATHSIG)``); ``parent`` (the pid that
    started it, when the worker is its direct child) closes the race of a parent that
    went before this ran. Elsewhere nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)


# One call in a forked process -----------------------------------------------------------------

_aside: tuple[Callable[[], Any], Connection] | None = None


class Aside(Generic[T]):
    """A call running in a forked process; its result comes back up a pipe.

    A bare process and a pipe, not a pool: a pool's thread in this process would make
    the forks that follow unsafe (:func:`start_aside`).
    """

    def __init__(self, process: BaseProcess, receiver: Connection) -> None:
        self.process = process
        self.receiver = receiver

    def wait(self) -> T | None:
        """The call's result; what it raised is raised here. None when the process died,
        or its result or exception could not be sent (then the caller does the work)."""
        try:
            kind, payload = self.receiver.recv()
        except (EOFError, OSError):  # the process died
            kind, payload = "failed", None
        finally:
            self.receiver.close()
            self.process.join()
        if kind == "done":
            return cast(T, payload)
        if isinstance(payload, BaseException):
            raise payload
        return None


def start_aside(call: Callable[[], T]) -> Aside[T] | None:
    """Run ``call`` in a forked process, which inherits everything ``call`` needs instead
    of receiving it pickled; None where processes do not fork or there is one CPU for
    dvxl (:func:`worker_count`): the caller then makes the call itself.

    The process runs with the garbage collector on and the inherited heap frozen.
    """
    global _aside
    if not forks() or worker_count() < 2:
        return None
    fork = multiprocessing.get_context("fork")
    receiver, sender = fork.Pipe(duplex=False)
    _aside = (call, sender)
    try:
        with frozen_heap():
            process = fork.Process(target=_run_aside, daemon=True)
            process.start()
    except START_ERRORS:
        receiver.close()
        return None
    finally:
        _aside = None
        sender.close()  # the child holds its own end: its exit closes the pipe
    return Aside(process, receiver)


def _run_aside() -> None:
    """In the forked process: send the call's result, or what stopped it, up the pipe."""
    assert _aside is not None, "the process was started without its call"
    die_with_parent()
    start_collecting()
    call, sender = _aside
    answer: tuple[str, object]
    try:
        answer = ("done", call())
    except BaseException as exc:  # raised again in the parent, where it is reported
        answer = ("failed", exc)
    try:
        sender.send(answer)
    except Exception:  # an exception that cannot be pickled: the parent does the work
        sender.send(("failed", None))
    sender.close()
