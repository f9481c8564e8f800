"""Where one ``dvxl merge`` spends its time, stage by stage.

``python -m bench.stages 1000 [--corpus findings]`` runs, on the cached corpus of that
size (the kind one, or the one where every return carries findings), the same
library calls as :func:`dvxl.workspace.merge` in a fresh workspace, one after the
other, and prints each stage's wall time. It is what the profile notes in
``bench/README.md`` are made from; the end-to-end figures come from ``python -m bench``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bench.generate import CACHE, CORPORA, KIND, PERIOD, corpus

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("n", type=int, help="corpus size (units)")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--corpus", choices=CORPORA, default=KIND,
                        help="kind: 5 %% of returns with a mistake; findings: warnings on "
                        "every return, errors on a fifth")
    args = parser.parse_args(argv)
    from dvxl import processes

    # As in dvxl.workspace.merge: without it the collector's passes over the batch are
    # charged to whichever stage they fall in (six seconds of the period workbook's at 10,000).
    with processes.collector_paused():
        return _stages(args)


def _stages(args: argparse.Namespace) -> int:
    from dvxl import intake, markup, periods, render, report, validate, workspace

    rows: list[tuple[str, float, int, int]] = []

    def timed(label: str, call: Callable[[], T]) -> T:
        began = time.perf_counter()
        value = call()
        rows.append((label, time.perf_counter() - began, *_memory()))
        return value

    made = corpus(args.n, cache=args.cache, kind=args.corpus)
    work = Path(tempfile.mkdtemp(prefix="stages-"))
    try:
        shutil.copy2(made.master, work / made.master.name)
        shutil.copy2(made.key, work / made.key.name)
        ws = workspace.Workspace(work)
        catalog = timed("read the master", ws.load)
        period = periods.find(catalog, PERIOD)
        sealed = ws.seal()
        batch = timed("read and check every file",
                      lambda: validate.validate_inbox(catalog, made.inbox, period, seal=sealed))
        odd = timed("outliers (W108; the ledger is empty)",
                    lambda: workspace.find_outliers(ws, catalog, batch))
        batch = odd.shown
        out = ws.outputs(period.code)
        out.mkdir(parents=True, exist_ok=True)
        timed("validation workbook",
              lambda: report.write_validation_workbook(batch, out / "kiem-tra.xlsx"))
        timed("validation JSON", lambda: report.write_json(batch, out / "kiem-tra.json"))
        marked = timed("marked copies",
                       lambda: markup.write_marked_copies(batch, catalog, out / "tra-lai",
                                                          seal=sealed))
        timed("archive and ledger", lambda: intake.intake(ws.root, batch))
        consolidated, _ = timed("receipts, assessments, merge, evaluation",
                                lambda: workspace.consolidate(ws, catalog, period))
        flagged, _ = timed("marks on outliers (workbook and ledger)",
                           lambda: workspace.flagged_with_marks(ws, period, odd.found,
                                                                consolidated.generated))
        timed("period workbook (and task workbooks)",
              lambda: render.write_consolidated(consolidated, out / "tong-hop.xlsx",
                                                flagged=flagged))
        # The same figures again with the period in the ledger: what a re-merge reads.
        again = timed("outliers again (the period in the ledger)",
                      lambda: workspace.find_outliers(ws, catalog, batch))
        print(f"{len(again.found)} figures flagged")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(row[1] for row in rows)
    found = sum(len(f.findings) for f in batch.files)
    print(f"N = {args.n} ({made.kind} corpus): {len(batch.files)} files, {found} findings, "
          f"{len(marked)} marked copies")
    print(f"  {'stage':<45} {'time':>9} {'RSS after':>10} {'peak so far':>12}")
    for label, seconds, rss, peak in rows:
        print(f"  {label:<45} {seconds:7.2f} s {rss:7d} MB {peak:9d} MB")
    print(f"  {'total':<45} {total:7.2f} s")
    return 0


def _memory() -> tuple[int, int]:
    """This process's resident set now and its peak so far (MB; 0 where /proc lacks them).
    Worker processes are not counted: the checks' two and the task workbooks' one."""
    found = {b"VmRSS:": 0, b"VmHWM:": 0}
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                key = line.split(b" ", 1)[0].split(b"\t", 1)[0]
                if key in found:
                    found[key] = int(line.split()[1]) // 1024
    except OSError:
        pass
    return found[b"VmRSS:"], found[b"VmHWM:"]


if __name__ == "__main__":
    sys.exit(main())
