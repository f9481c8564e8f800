"""The benchmark's smoke run (N = 20), and the machinery that makes large batches fast.

No test here asserts a time: speed is measured by ``python -m bench`` only. What is
tested is that the generator and the harness work end to end, and that the worker
processes, the fast marking and the large-roster outputs give the same results as
the plain way.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bench import generate, run  # on the path through pytest's pythonpath = ["."]
from dvxl import markup, periods, processes, render, taskbooks, validate, workspace
from dvxl.findings import ERROR, WARNING, Code
from dvxl.statuses import FileStatus
from dvxl.validate import BatchReport

N = 20
SEED = 7


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> generate.Corpus:
    """Twenty units' returns from the real templates, without LibreOffice conversions."""
    cache = tmp_path_factory.mktemp("bench-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generate, "XLS_SHARE", 0.0)
        patch.setattr(generate, "ODS_SHARE", 0.0)
        patch.setattr(generate, "MISTAKE_SHARE", 0.3)  # enough wrong files for the markup
        return generate.corpus(N, SEED, cache=cache, workers=2)


@pytest.fixture(scope="module")
def findings_corpus(tmp_path_factory: pytest.TempPathFactory) -> generate.Corpus:
    """The corpus where every return carries findings (issue 18), twenty units, without
    LibreOffice conversions."""
    cache = tmp_path_factory.mktemp("bench-cache-findings")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generate, "XLS_SHARE", 0.0)
        patch.setattr(generate, "ODS_SHARE", 0.0)
        return generate.corpus(N, SEED, cache=cache, workers=2, kind=generate.FINDINGS)


def test_generator_makes_a_workspace_and_an_inbox_of_real_returns(
    corpus: generate.Corpus,
) -> None:
    assert corpus.master.is_file()
    files = validate.inbox_files(corpus.inbox)
    assert len(files) == corpus.files > 0
    assert corpus.units == N
    assert (corpus.root / "manifest.json").is_file()
    catalog = workspace.Workspace(corpus.root).load()
    assert len(catalog.units) == N
    assert len({u.groups for u in catalog.units}) > 1  # task sets vary
    # A second call takes the cached corpus.
    again = generate.corpus(N, SEED, cache=corpus.root.parent, workers=1)
    assert again == corpus


def test_generated_returns_validate_with_the_planned_mistakes(corpus: generate.Corpus) -> None:
    batch = _validate(corpus, workers=1)
    assert sum(1 for f in batch.files if f.status == FileStatus.UNREADABLE) == 0
    assert 0 < sum(1 for f in batch.files if f.errors) <= corpus.errors
    assert all(f.unit for f in batch.files)
    assert not {"I012", "I013", "I014"} & {f.code for f in batch.findings}  # signed, verified
    # Each return says it was saved before it was sent, as a clerk's Excel does.
    assert Code.RECEIPT_BEFORE_SAVED not in {f.code for f in batch.findings}


def test_findings_corpus_has_warnings_on_every_return_and_errors_on_about_a_fifth(
    findings_corpus: generate.Corpus,
) -> None:
    assert findings_corpus.kind == generate.FINDINGS
    batch = _validate(findings_corpus, workers=1)
    returns = [f for f in batch.files if f.unit]
    assert len(returns) == findings_corpus.files == findings_corpus.warned >= N - 1
    assert all(any(x.severity == WARNING for x in f.findings) for f in returns)
    wrong = [f for f in returns if any(x.severity == ERROR for x in f.findings)]
    assert len(wrong) == findings_corpus.errors  # each error mistake made its error
    assert 0.1 <= len(wrong) / len(returns) <= 0.35
    codes = {x.code for x in batch.findings}
    assert Code.RULE_TO_REVIEW in codes  # the province's rule a little too tight
    assert len(codes & {c.value for c in (Code.NUMBER_AS_TEXT, Code.DATE_AS_TEXT,
                                          Code.DECOMPOSED_TEXT, Code.EXTRA_SPACES,
                                          Code.PHONE_AS_NUMBER)}) >= 3
    assert Code.RECEIPT_BEFORE_SAVED not in codes


def test_findings_corpus_is_cached_apart_from_the_kind_one(
    corpus: generate.Corpus, findings_corpus: generate.Corpus
) -> None:
    assert corpus.kind == generate.KIND
    assert generate.folder(N, SEED, generate.FINDINGS, findings_corpus.root.parent) == \
        findings_corpus.root
    assert findings_corpus.root.name != corpus.root.name
    assert f"findings{generate.FINDINGS_VERSION}" in findings_corpus.root.name
    assert f"v{generate.VERSION}" in findings_corpus.root.name
    again = generate.corpus(N, SEED, cache=findings_corpus.root.parent, workers=1,
                            kind=generate.FINDINGS)
    assert again == findings_corpus
    assert generate.kinds("both") == (generate.KIND, generate.FINDINGS)
    with pytest.raises(ValueError):
        generate.folder(N, SEED, "noisy")


def test_table_shows_each_corpus_and_checks_targets_for_each(
    corpus: generate.Corpus, findings_corpus: generate.Corpus
) -> None:
    fast, slow = run.Run(1.0, 60, 90, ""), run.Run(10.0, 200, 200, "naive: read 9 files")
    results = [run.Result(1_000, corpus, [fast], [slow]),
               run.Result(1_000, findings_corpus, [run.Run(2.0, 70, 100, "")], [slow])]
    lines = run.table(results, runs=1, naive_runs_large=1)
    assert lines[2].startswith("| 1\u202f000 | kind |") and "10.0×" in lines[2]
    assert lines[3].startswith("| 1\u202f000 | findings |") and "5.0×" in lines[3]
    targets = [line for line in lines if line.startswith("- ")]
    assert any(t.endswith("(kind corpus)") and "1.00 s — met" in t for t in targets)
    assert any(t.endswith("(findings corpus)") and "5.0× — **not met**" in t
               for t in targets)


def test_harness_times_dvxl_and_the_naive_script_and_writes_the_table(
    corpus: generate.Corpus, tmp_path: Path
) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("psutil")
    results = run.bench([N], runs=1, naive_runs_large=1, cache=corpus.root.parent, log=False,
                        seed=SEED)
    (result,) = results
    assert result.n == N and len(result.dvxl) == 1 and len(result.naive) == 1
    assert "Sổ tổng hợp kỳ" in result.dvxl[0].output
    assert "naive: read" in result.naive[0].output
    assert result.dvxl[0].max_rss_mb > 0 and result.dvxl[0].tree_rss_mb > 0
    lines = run.table(results, runs=1, naive_runs_large=1)
    assert lines[0].startswith("| N units | corpus |")
    assert lines[2].startswith(f"| {N} | kind |")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Bench\n\nbefore\n{run.BEGIN}\nold\n{run.END}\nafter\n", encoding="utf-8")
    run.write_readme(lines, readme)
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text and lines[2] in text
    assert text.startswith("# Bench\n\nbefore\n") and text.endswith("after\n")
    assert "nproc" in text


# Worker processes ------------------------------------------------------------------------------


def _validate(corpus: generate.Corpus, workers: int) -> BatchReport:
    """The corpus checked with its signing key, which worker processes receive too."""
    ws = workspace.Workspace(corpus.root)
    catalog = ws.load()
    period = periods.find(catalog, generate.PERIOD)
    return validate.validate_inbox(catalog, corpus.inbox, period, workers=workers,
                                   seal=ws.seal())


def _outcome(batch: BatchReport) -> list[tuple[Any, ...]]:
    return [(f.name, f.sha256, f.status, f.unit, [x.as_dict() for x in f.findings], f.values,
             f.cells) for f in batch.files]


def test_pool_gives_the_same_reports_as_one_process(
    corpus: generate.Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(validate, "CHUNK_MAX", 3)
    assert _outcome(_validate(corpus, workers=2)) == _outcome(_validate(corpus, workers=1))


def test_workers_env_one_checks_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(processes.WORKERS_ENV, "1")
    assert processes.worker_count() == 1
    monkeypatch.setenv(processes.WORKERS_ENV, "3")
    assert processes.worker_count() == 3
    monkeypatch.setenv(processes.WORKERS_ENV, "beaucoup")
    assert processes.worker_count() >= 1


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="the crash is planted through a forked worker's memory")
def test_a_worker_that_dies_loses_only_its_file(
    corpus: generate.Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = validate.inbox_files(corpus.inbox)
    victim = files[len(files) // 2]
    plain = validate.check_file

    def crashing(path: Path, *args: Any) -> validate.FileReport:
        if path == victim and os.getpid() != parent:
            os._exit(70)  # as a parser aborting the process would
        return plain(path, *args)

    parent = os.getpid()
    monkeypatch.setattr(validate, "check_file", crashing)
    monkeypatch.setattr(validate, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(validate, "CHUNK_MAX", 4)
    batch = _validate(corpus, workers=2)
    monkeypatch.setattr(validate, "check_file", plain)
    serial = _validate(corpus, workers=1)
    by_name = {f.name: f for f in batch.files}
    crashed = by_name.pop(victim.relative_to(corpus.inbox).as_posix())
    assert [f.code for f in crashed.findings] == ["F003"]
    assert crashed.status == FileStatus.UNREADABLE and crashed.sha256
    others = [f for f in serial.files if f.name in by_name]
    assert _outcome(dataclasses.replace(serial, files=others)) == _outcome(
        dataclasses.replace(batch, files=[by_name[f.name] for f in others]))


# Marked copies --------------------------------------------------------------------------------


def test_marked_copies_are_the_same_made_fast_or_by_openpyxl(
    corpus: generate.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _validate(corpus, workers=1)
    catalog = workspace.Workspace(corpus.root).load()
    fast = markup.write_marked_copies(batch, catalog, tmp_path / "fast", workers=1)
    monkeypatch.setattr(markup, "_fast_copy", lambda *args: None)
    slow = markup.write_marked_copies(batch, catalog, tmp_path / "slow", workers=1)
    assert [p.name for p in fast] == [p.name for p in slow] and fast
    for a, b in zip(fast, slow, strict=True):
        assert _marks(a) == _marks(b)


def _marks(path: Path) -> dict[str, Any]:
    """What a unit sees in a marked copy: sheets, the list, coloured and commented cells."""
    book = openpyxl.load_workbook(path)
    seen: dict[str, Any] = {
        "sheets": book.sheetnames,
        "active": book.active.title,
        "states": [s.sheet_state for s in book],
        "list": [[c.value for c in row] for row in book[markup.LIST_SHEET].iter_rows()],
        "links": [(c.coordinate, c.hyperlink.location) for row in book[markup.LIST_SHEET]
                  for c in row if c.hyperlink],
    }
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.comment is not None:
                    seen[f"{sheet.title}!{cell.coordinate}"] = (
                        cell.value, cell.fill.fgColor.rgb, cell.font.color.rgb,
                        cell.comment.text, cell.comment.author)
    return seen


def test_marked_copies_from_workers_are_the_same(
    corpus: generate.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _validate(corpus, workers=1)
    catalog = workspace.Workspace(corpus.root).load()
    monkeypatch.setattr(markup, "POOL_MIN_COPIES", 1)
    monkeypatch.setattr(markup, "CHUNK", 1)
    pooled = markup.write_marked_copies(batch, catalog, tmp_path / "pooled", workers=2)
    alone = markup.write_marked_copies(batch, catalog, tmp_path / "alone", workers=1)
    assert [p.name for p in pooled] == [p.name for p in alone]
    assert [_marks(p) for p in pooled] == [_marks(p) for p in alone]
    assert not list((tmp_path / "pooled").glob(".~dvxl-*"))  # no temporary file left


# A large roster's period outputs --------------------------------------------------------------


def test_large_roster_gets_a_units_sheet_and_a_workbook_per_task(
    corpus: generate.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "UNIT_SHEETS_MAX", 5)
    ws = workspace.Workspace(tmp_path / "ws")
    ws.root.mkdir()
    (ws.root / corpus.master.name).write_bytes(corpus.master.read_bytes())
    (ws.root / corpus.key.name).write_bytes(corpus.key.read_bytes())
    result = workspace.merge(ws, corpus.inbox, generate.PERIOD)
    book = openpyxl.load_workbook(result.workbook)
    assert render.UNITS_SHEET in book.sheetnames
    assert not [n for n in book.sheetnames if n.startswith(taskbooks.TASK_SHEET_PREFIX)]
    units = [u.code for u in result.consolidated.catalog.addressed_units()]
    assert not set(units) & set(book.sheetnames)  # no sheet per unit
    sheet = book[render.UNITS_SHEET]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, r in enumerate(rows) if r[0] == "STT")
    assert [r[1] for r in rows[header + 1 :]] == units
    evaluation = book[render.EVALUATION_SHEET]
    totals = [c.value for c in evaluation["G"] if isinstance(c.value, str)
              and c.value.startswith(f"='{render.UNITS_SHEET}'!")]
    assert totals  # the evaluation refers to the units sheet's totals
    folder = taskbooks.tasks_folder(result.workbook)
    tasks = [t.code for t in result.consolidated.catalog.tasks
             if any(t in result.consolidated.catalog.tasks_for(u)
                    for u in result.consolidated.catalog.addressed_units())]
    made = sorted(p.name for p in folder.glob("*.xlsx"))
    assert made == sorted(f"{taskbooks.TASK_FILE_PREFIX}{code}.xlsx" for code in tasks)
    task_book = openpyxl.load_workbook(folder / f"{taskbooks.TASK_FILE_PREFIX}{tasks[0]}.xlsx")
    assert task_book.sheetnames == [f"{taskbooks.TASK_SHEET_PREFIX}{tasks[0]}"]
    monkeypatch.setenv(processes.WORKERS_ENV, "1")  # the same without worker processes
    again = workspace.merge(ws, corpus.inbox, generate.PERIOD)
    assert sorted(p.name for p in folder.glob("*.xlsx")) == made
    assert again.workbook == result.workbook
