"""Time the whole ``dvxl merge`` against the naive pandas script, at N = 100, 1,000, 10,000.

``python -m bench`` (from the repository root) compiles dvxl's bytecode (as pip does when
it installs a package), then does, for each N:

1. makes (or takes from ``bench/.cache/``) the corpus of :mod:`bench.generate`;
2. runs ``dvxl merge INBOX -w FRESH -p 2026-6T`` as a child process, each run in a
   fresh workspace (a copy of the corpus's ``master.xlsm`` and key; empty ledger, archive
   and outputs), and records the wall time and the peak memory: the largest RSS
   of one process (each process's ``VmHWM``, polled) and the peak of the summed
   proportional set size (PSS) of the whole process tree (the main process and its
   workers, sampled with psutil at most every 100 ms and at most 2 % of one CPU);
3. runs, on the same files, the script an IT officer would write (``bench/naive.py``:
   ``pandas.read_excel(engine="openpyxl")`` on every file, ``pd.concat``,
   ``to_excel``; no validation) the same way;
4. writes the medians as a table into ``bench/README.md`` between the
   ``bench:results`` markers, with the machine described.

Options: ``--corpus findings`` (or ``both``) for the corpus where every return carries
warnings and a fifth errors (issue 18) instead of, or beside, the kind one (5 % with a
mistake); ``--sizes 100 1000`` to run only some sizes, ``--runs 3`` runs per size,
``--naive-runs-large 1`` runs of the naive script at 10,000 (it takes minutes),
``--no-readme`` to only print, ``--cache DIR`` for the corpora.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil

from bench.generate import CACHE, CORPORA, KIND, PERIOD, SEED, Corpus, corpus, kinds

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
NAIVE = HERE / "naive.py"
BEGIN, END = "<!-- bench:results -->", "<!-- /bench:results -->"
SIZES = (100, 1_000, 10_000)
LARGE = 10_000
#: The shortest pause between two samples of the process tree's memory.
SAMPLE_S = 0.1


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float  # peak RSS of the largest single process (VmHWM)
    tree_rss_mb: float  # peak of the summed proportional set size of the process tree
    output: str


@dataclass(frozen=True)
class Result:
    n: int
    corpus: Corpus
    dvxl: list[Run]
    naive: list[Run]

    @property
    def kind(self) -> str:
        """The corpus: :data:`bench.generate.KIND` or :data:`bench.generate.FINDINGS`."""
        return self.corpus.kind

    @staticmethod
    def median(runs: Sequence[Run], field: str) -> float:
        return float(statistics.median(float(getattr(r, field)) for r in runs))


def measure(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``command`` as a child process: wall time and peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = [0]
    high: dict[int, int] = {}  # pid -> peak RSS in bytes (VmHWM), for the largest process
    tree = {proc.pid}  # the processes seen so far, kept up to date by sample()
    done = threading.Event()

    def watch_high_water() -> None:
        """Each known process's own peak RSS, every 20 ms: the kernel's high-water mark, so
        only growth in the last 20 ms of a process's life can be missed. Reading it costs
        microseconds (finding the children, milliseconds, is left to sample())."""
        while not done.is_set():
            for pid in list(tree):
                value = _high_water(pid)
                if value:
                    high[pid] = max(high.get(pid, 0), value)
            done.wait(0.02)

    def sample() -> None:
        try:
            parent = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            began = time.perf_counter()
            total = 0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    tree.add(p.pid)
                    with contextlib.suppress(psutil.Error):  # it may have just ended
                        total += _proportional(p)
            except psutil.Error:
                break
            peak[0] = max(peak[0], total)
            # Reading a process's PSS walks its page tables: 8 ms for 500 MB, on a CPU the
            # measured run needs. Waiting 49 times as long keeps the sampler under 2 % of
            # one CPU (at 20 samples a second it took a third of one at N = 10,000).
            done.wait(max(SAMPLE_S, (time.perf_counter() - began) * 49))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    watcher = threading.Thread(target=watch_high_water, daemon=True)
    watcher.start()
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: some files have errors, as expected
        raise RuntimeError(f"{command[:4]} exited {proc.returncode}:\n{output[-3000:]}")
    # The kernel's own figure, ru_maxrss, starts from this process's size: Linux keeps the
    # peak across the fork and exec that start the child (the bench process has 100 MB when
    # it has just made a corpus). Each process's VmHWM starts afresh at exec; it is used
    # where /proc has it.
    max_rss = max(high.values()) / 2**20 if high else usage.ru_maxrss / 1024
    return Run(seconds, max_rss, max(peak[0] / 2**20, max_rss), output)


def _high_water(pid: int) -> int:
    """A process's peak resident set size (``VmHWM``) in bytes; 0 where /proc lacks it."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _proportional(process: psutil.Process) -> int:
    """The process's proportional set size: its own pages, and its share of the pages it
    shares with others (worker processes forked from dvxl share most of theirs), so that
    the sum over a process tree is the memory the tree really takes. RSS where PSS is not
    available."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(process.memory_info().rss)


def run_dvxl(made: Corpus, scratch: Path, pythonpath: str = "") -> Run:
    """One ``dvxl merge`` of the corpus's inbox in a fresh workspace.

    ``pythonpath`` puts another checkout of dvxl first, to measure an older revision.
    """
    work = Path(tempfile.mkdtemp(prefix="merge-", dir=scratch))
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    try:
        shutil.copy2(made.master, work / made.master.name)
        shutil.copy2(made.key, work / made.key.name)
        _settle()
        command = [sys.executable, "-m", "dvxl.cli", "merge", str(made.inbox), "-w", str(work),
                   "-p", PERIOD]
        return measure(command, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _settle() -> None:
    """Let the disk finish earlier runs' writes and deletions before timing the next one."""
    if hasattr(os, "sync"):
        os.sync()
    time.sleep(0.5)


def run_naive(made: Corpus, scratch: Path) -> Run:
    work = Path(tempfile.mkdtemp(prefix="naive-", dir=scratch))
    _settle()
    try:
        command = [sys.executable, str(NAIVE), str(made.inbox), str(work / "tong-hop.xlsx")]
        return measure(command, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compile_bytecode(pythonpath: str = "") -> Path:
    """Compile the measured dvxl's bytecode before timing it, as pip does when it installs.

    The naive script's pandas and openpyxl carry their bytecode, compiled when they were
    installed; a checkout of dvxl run with ``PYTHONDONTWRITEBYTECODE=1`` (this machine sets
    it) would be compiled again at every start: 0.05 s of each merge.
    """
    if pythonpath:
        folder = Path(pythonpath) / "dvxl"
    else:
        import dvxl

        folder = Path(dvxl.__file__).resolve().parent
    compileall.compile_dir(folder, quiet=1)
    return folder


def bench(sizes: Sequence[int], runs: int, naive_runs_large: int, cache: Path,
          log: bool = True, pythonpath: str = "", naive: bool = True,
          seed: int = SEED, corpora: Sequence[str] = (KIND,)) -> list[Result]:
    """Each size, on each of ``corpora`` (:data:`bench.generate.CORPORA`) in turn."""
    results = []
    compile_bytecode(pythonpath)
    with tempfile.TemporaryDirectory(prefix="dvxl-bench-") as tmp:
        scratch = Path(tmp)
        for n in sizes:
            for kind in corpora:
                made = corpus(n, seed, cache=cache, kind=kind)
                dvxl_runs = []
                for i in range(runs):
                    dvxl_runs.append(run_dvxl(made, scratch, pythonpath))
                    if log:
                        r = dvxl_runs[-1]
                        print(f"N={n} {kind} dvxl run {i + 1}: {r.seconds:.2f} s, "
                              f"{r.tree_rss_mb:.0f} MB", file=sys.stderr)
                naive_runs = []
                for i in range((naive_runs_large if n >= LARGE else runs) if naive else 0):
                    naive_runs.append(run_naive(made, scratch))
                    if log:
                        r = naive_runs[-1]
                        print(f"N={n} {kind} naive run {i + 1}: {r.seconds:.2f} s, "
                              f"{r.tree_rss_mb:.0f} MB", file=sys.stderr)
                results.append(Result(n, made, dvxl_runs, naive_runs))
    return results


# The table --------------------------------------------------------------------------------------


def machine() -> list[str]:
    """The machine and the software the figures were measured with."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    ram = psutil.virtual_memory().total / 2**30
    versions = []
    for name in ("dvxl", "python-calamine", "openpyxl", "XlsxWriter", "pandas", "numpy"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (absent)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"- CPU: {os.cpu_count()} cores (`nproc`), {model or 'unknown model'}; load average "
        f"when the run started: {load}",
        f"- RAM: {ram:.0f} GiB; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; " + ", ".join(versions),
    ]


def _n(number: int) -> str:
    """10 000: thousands apart by a space, as Vietnamese (and SI) write them."""
    return f"{number:,}".replace(",", "\u202f")


def _files(c: Corpus) -> str:
    f = c.formats
    return (f"{_n(c.files)} ({_n(f.get('xlsx', 0))} xlsx, {f.get('xls', 0)} xls, "
            f"{f.get('ods', 0)} ods, {f.get('pdf', 0)} pdf)")


def table(results: Sequence[Result], runs: int, naive_runs_large: int) -> list[str]:
    """The results as a Markdown table, with notes and the targets checked."""
    lines = [
        "| N units | corpus | files received | dvxl merge | per file | peak memory: largest "
        "process / all processes | naive pandas | per file | naive peak memory | dvxl faster "
        "by |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = Result.median(r.dvxl, "seconds")
        cells = [_n(r.n), r.kind, _files(r.corpus), f"{d:.2f} s",
                 f"{1000 * d / r.corpus.files:.2f} ms",
                 f"{Result.median(r.dvxl, 'max_rss_mb'):.0f} MB / "
                 f"{Result.median(r.dvxl, 'tree_rss_mb'):.0f} MB"]
        if r.naive:
            v = Result.median(r.naive, "seconds")
            cells += [f"{v:.2f} s", f"{1000 * v / r.corpus.files:.1f} ms",
                      f"{Result.median(r.naive, 'max_rss_mb'):.0f} MB", f"{v / d:.1f}×"]
        else:
            cells += ["—"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    note = f"Medians of {runs} runs each"
    if any(r.n == LARGE for r in results) and naive_runs_large != runs:
        note += f", except {naive_runs_large} of the naive script at {_n(LARGE)}"
    lines.append(note + ". " + _naive_note(results))
    kinds_run = [k for k in CORPORA if any(r.kind == k for r in results)]
    if len(kinds_run) > 1 or kinds_run != [KIND]:
        lines += ["", "Corpora: *kind*, about 5 % of returns with a mistake; *findings*, "
                  "warnings on every return and errors on about a fifth (issue 18)."]
    lines += ["", "Targets:", ""]
    for kind in kinds_run:
        by_n = {r.n: r for r in results if r.kind == kind}
        said = _targets(by_n)
        lines += said if kinds_run == [KIND] else [f"{line} ({kind} corpus)" for line in said]
    return lines


def _naive_note(results: Sequence[Result]) -> str:
    runs = [run for result in results for run in result.naive]
    if not runs:
        return ""
    said = next((line for line in reversed(runs[-1].output.strip().splitlines())
                 if line.startswith("naive:")), "")
    return ("The naive script reads only what openpyxl opens and skips the rest; at the "
            f"largest size: `{said[len('naive:'):].strip()}`.") if said else ""


def _targets(by_n: dict[int, Result]) -> list[str]:
    """Issue 18's targets (they tighten issue 6's: 3 s, 8×, 30 s, 500 MB, 11×)."""
    def mark(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = []
    if 1_000 in by_n:
        r = by_n[1_000]
        d = Result.median(r.dvxl, "seconds")
        lines.append(f"- 1 000 returns end to end in ≤ 1.0 s: {d:.2f} s — {mark(d <= 1.0)}")
        if r.naive:
            ratio = Result.median(r.naive, "seconds") / d
            lines.append(f"- ≥ 15× faster than the naive script at 1 000: {ratio:.1f}× — "
                         f"{mark(ratio >= 15)}")
    if LARGE in by_n:
        r = by_n[LARGE]
        d = Result.median(r.dvxl, "seconds")
        largest = Result.median(r.dvxl, "max_rss_mb")
        tree = Result.median(r.dvxl, "tree_rss_mb")
        lines.append(f"- 10 000 returns in ≤ 10 s: {d:.2f} s — {mark(d <= 10)}")
        lines.append(f"- peak memory at 10 000 ≤ 400 MB: {largest:.0f} MB for the largest "
                     f"process — {mark(largest <= 400)}; {tree:.0f} MB for the process tree "
                     f"— {mark(tree <= 400)}")
        if 1_000 in by_n:
            growth = d / Result.median(by_n[1_000].dvxl, "seconds")
            lines.append(f"- 10× the files in no more than 10× the time (1 000 → 10 000): "
                         f"{growth:.1f}× — {mark(growth <= 10)}")
    return lines


def write_readme(lines: list[str], readme: Path = README,
                 machine_lines: list[str] | None = None) -> None:
    """Replace the text between the result markers of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    body = [BEGIN, f"Measured {stamp} by `python -m bench` on:", "",
            *(machine_lines or machine()), "", *lines, END]
    readme.write_text(head + "\n".join(body) + tail, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    machine_lines = machine()  # the load average before the runs load the machine
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-runs-large", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--corpus", choices=(*CORPORA, "both"), default="both",
                        help="kind: 5 %% of returns with a mistake; findings: warnings on "
                        "every return, errors on a fifth; both (the default): one after the "
                        "other")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--no-naive", action="store_true", help="time dvxl only (implies "
                        "--no-readme)")
    parser.add_argument("--pythonpath", default="", help="run dvxl from this checkout instead "
                        "(to measure an older revision; implies --no-readme)")
    args = parser.parse_args(argv)
    results = bench(args.sizes, args.runs, args.naive_runs_large, args.cache,
                    pythonpath=args.pythonpath, naive=not args.no_naive,
                    corpora=kinds(args.corpus))
    if args.no_naive:
        for r in results:
            d = Result.median(r.dvxl, "seconds")
            print(f"N={r.n} ({r.kind}): dvxl {d:.2f} s, "
                  f"{1000 * d / r.corpus.files:.2f} ms/file, "
                  f"{Result.median(r.dvxl, 'tree_rss_mb'):.0f} MB")
        return 0
    lines = table(results, args.runs, args.naive_runs_large)
    print("\n".join(lines))
    if not args.no_readme and not args.pythonpath:
        write_readme(lines, machine_lines=machine_lines)
    return 0

