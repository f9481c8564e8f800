"""The one set-up of dvxl's worker processes (dvxl/processes.py)."""

from __future__ import annotations

import gc
import os
import sys

import pytest

from dvxl import processes

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")


def _collecting(tag: str) -> tuple[str, bool, int]:
    return tag, gc.isenabled(), os.getpid()


def _remember(value: str) -> None:
    os.environ["DVXL_TEST_INIT"] = value


def _initialised() -> str:
    return os.environ.get("DVXL_TEST_INIT", "")


def test_pool_workers_collect_garbage_though_it_is_paused_here() -> None:
    with processes.collector_paused(), processes.pool(1) as pool:
        tag, enabled, pid = pool.submit(_collecting, "x").result()
    assert (tag, enabled) == ("x", True) and pid != os.getpid()


def test_pool_runs_the_initializer_in_each_worker() -> None:
    with processes.pool(1, _remember, ("job",)) as pool:
        assert pool.submit(_initialised).result() == "job"
    assert _initialised() == ""


@linux
def test_workers_fork_on_linux_and_start_afresh_once_this_process_is_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert processes.context().get_start_method() == "fork"
    # Small (whatever the tests before this one made of the test process's peak memory):
    monkeypatch.setattr(processes, "process_is_large", lambda: False)
    assert processes.fresh_context().get_start_method() == "fork"
    monkeypatch.setattr(processes, "process_is_large", lambda: True)
    assert processes.fresh_context().get_start_method() == "forkserver"


@linux
def test_a_call_aside_returns_its_result_or_raises_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(processes.WORKERS_ENV, "2")
    parent = os.getpid()
    aside = processes.start_aside(lambda: (os.getpid(), gc.isenabled()))
    assert aside is not None
    pid, enabled = aside.wait() or (parent, False)
    assert pid != parent and enabled

    def fail() -> None:
        raise ValueError("Không ghi được tệp.")

    failing = processes.start_aside(fail)
    assert failing is not None
    with pytest.raises(ValueError, match="Không ghi được"):
        failing.wait()
    dying = processes.start_aside(lambda: os._exit(3))
    assert dying is not None and dying.wait() is None  # the caller does the work


def test_no_call_aside_with_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(processes.WORKERS_ENV, "1")
    assert processes.start_aside(lambda: 1) is None
