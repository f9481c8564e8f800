"""Generate a national-scale batch of returns from the real templates, for the benchmark.

``python bench/generate.py N [--seed S] [--corpus kind|findings|both]`` (or :func:`corpus`
from Python) makes, under ``bench/.cache/n<N>-s<seed>-v<version>/`` (the *kind* corpus)
or ``bench/.cache/n<N>-s<seed>-findings<version>-v<version>/`` (the *findings* corpus):

* ``catalog/`` — the shipped sample catalog with a synthetic roster of N units
  ("Đảng ủy xã …", "Hội Nông dân xã …", …) spread over the sample's rating
  groups, so that task sets vary (4 to 9 tasks per unit);
* ``master.xlsm`` — built from that catalog by :func:`dvxl.workspace.init`, and
  ``.dvxl-key``, the key that signs the templates (as ``dvxl templates`` makes it);
* ``inbox/`` — what the units sent: each unit's own template for the period,
  filled in one pass by :func:`dvxl.template.write_template` with values from
  :func:`dvxl.sample.good_values`. About 5 % carry mistakes from
  :data:`dvxl.sample.MISTAKES`, 2 % are saved as ``.xls`` and 2 % as ``.ods``
  by real LibreOffice (one ``soffice --convert-to`` batch per format), about 3 %
  arrive late, 1 % are resubmitted (a wrong first file, then a corrected one),
  2 % of units send nothing and one file in a thousand is a PDF named ``.xlsx``;
* ``manifest.json`` — what was made, written last: a folder without it is
  incomplete and is made again.

The *findings* corpus is the same batch as real returns are early in a period, or under
a rule a province set a little too tight (issue 18): every return carries one to three
warnings from what clerks really do (:data:`HABITS`: documents listed on one line against
rule R03, counts typed as text, the phone number's leading zero lost, a date typed as
text, spaces pasted at the end of a text, combining accents), and about a fifth carry
errors too (:data:`ERROR_MISTAKES`, from :data:`dvxl.sample.MISTAKES`) instead of 5 %.

The inbox is only ever read by the benchmark, so one corpus serves every run.
Templates are written by a process pool, so N = 10,000 takes a few minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvxl import form, periods, sample, seal, template, textio, workspace
from dvxl.model import Catalog, Period, Unit

#: Bump when the corpus changes, so cached corpora are made again.
VERSION = 4  # 3: signed templates (issue 14); 4: saved before sent (W107)
#: Bump when only the findings corpus changes (its habits, its shares).
FINDINGS_VERSION = 1
#: The corpora: today's kind one (5 % of returns with a mistake) and one where every
#: return carries findings (issue 18).
KIND, FINDINGS = "kind", "findings"
CORPORA = (KIND, FINDINGS)
PERIOD = "2026-6T"
SEED = 2026
CACHE = Path(__file__).resolve().parent / ".cache"

# Shares of the batch (of the addressed units).
MISSING_SHARE = 0.02
MISTAKE_SHARE = 0.05
XLS_SHARE = 0.02
ODS_SHARE = 0.02
LATE_SHARE = 0.03
RESUBMIT_SHARE = 0.01
JUNK_PER_FILES = 1000
SAVED_BEFORE_SENT = dt.timedelta(minutes=20)
# The findings corpus: returns with errors (of the addressed units); returns whose
# documents are listed on one line, against the province's one-document-a-line rule.
ERROR_SHARE = 0.20
ONE_LINE_SHARE = 0.5

# (weight, groups, code prefix, name prefix): the commune-level organisations a national
# round addresses, in the sample's rating groups (HUYEN and BCS_DD/CQTM have 4 tasks,
# BDV 5, BCS_UBND 7, the Front and the mass organisations 9).
_FRONT = ("MTCTXH_TINH", "MTCTXH", "PHOIHOP")
SPECS: tuple[tuple[int, tuple[str, ...], str, str], ...] = (
    (40, ("HUYEN",), "DU", "Đảng ủy xã"),
    (10, _FRONT, "MT", "Ủy ban Mặt trận Tổ quốc Việt Nam xã"),
    (8, _FRONT, "ND", "Hội Nông dân xã"),
    (8, _FRONT, "PN", "Hội Liên hiệp Phụ nữ xã"),
    (6, _FRONT, "DT", "Đoàn Thanh niên Cộng sản Hồ Chí Minh xã"),
    (6, _FRONT, "CB", "Hội Cựu chiến binh xã"),
    (10, ("BCS_DD",), "DD", "Đảng ủy Ủy ban nhân dân xã"),
    (8, ("CQTM",), "VP", "Văn phòng Đảng ủy xã"),
    (3, ("BCS_UBND", "BCS_DD"), "UB", "Đảng ủy Hội đồng nhân dân xã"),
    (1, ("BDV", "CQTM"), "DV", "Ban Xây dựng Đảng xã"),
)
_SYLLABLE_TEXT = (
    "An Bình Cát Châu Đông Gia Hà Hải Hòa Hưng Khánh Lạc Lâm Lộc Long Minh Mỹ Nam Nghĩa "
    "Ngọc Nhơn Phong Phú Phước Quang Quý Sơn Tân Thạnh Thành Thiện Thịnh Thọ Thuận Thủy "
    "Tiến Trung Trường Tường Vĩnh Xuân Yên Đức Hiệp Hậu Hội Kim Lợi Lương Mai Nhân Ninh "
    "Phúc Tây Thái Thanh Thắng Thới Thượng Tín Toàn Trà Trạch Triều Tú Văn Vạn Việt Vinh"
)
_SYLLABLES = tuple(_SYLLABLE_TEXT.split())


@dataclass(frozen=True)
class Corpus:
    """A generated workspace and inbox."""

    root: Path  # the workspace: master.xlsm, catalog/, inbox/
    units: int
    files: int
    formats: dict[str, int]
    errors: int  # files made with at least one mistake (some mistakes only warn)
    late: int
    missing: int
    kind: str = KIND  # KIND or FINDINGS
    warned: int = 0  # files made with at least one of HABITS (the findings corpus)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def master(self) -> Path:
        return self.root / workspace.MASTER_NAME

    @property
    def key(self) -> Path:
        """The signing key a workspace checking these returns needs beside its master."""
        return seal.key_path(self.root)


def roster(n: int, seed: int) -> tuple[Unit, ...]:
    """N synthetic units over the sample's rating groups, with unique codes and names."""
    rng = random.Random(seed)
    weights = [spec[0] for spec in SPECS]
    places = [f"{a} {b}" for a in _SYLLABLES for b in _SYLLABLES if a != b]
    rng.shuffle(places)
    used: dict[str, int] = {}
    units = []
    for i in range(n):
        _, groups, prefix, name = SPECS[rng.choices(range(len(SPECS)), weights)[0]]
        k = used.get(prefix, 0)
        used[prefix] = k + 1
        place = places[k % len(places)]
        if k >= len(places):
            place += f" {k // len(places) + 1}"
        code = f"{prefix}{i + 1:05d}"
        units.append(Unit(code, f"{name} {place}", groups, f"{code.lower()}@xa.example.vn"))
    return tuple(units)


@dataclass(frozen=True)
class _Job:
    unit: str
    values: dict[str, Any]
    dest: str  # where the .xlsx goes (a staging folder for files LibreOffice converts)
    sent: float  # modification time, as a timestamp


_catalog: Catalog | None = None
_period: Period | None = None
_units: dict[str, Unit] = {}
_seal: seal.Seal | None = None


def _init_worker(catalog: Catalog, period: Period, sealed: seal.Seal) -> None:
    global _catalog, _period, _units, _seal
    _catalog, _period, _seal = catalog, period, sealed
    _units = {unit.code: unit for unit in catalog.units}


def _write(jobs: list[_Job]) -> int:
    assert _catalog is not None and _period is not None
    for job in jobs:
        dest = Path(job.dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        template.write_template(_catalog, _units[job.unit], _period, dest, job.values,
                                seal=_seal)
        # Saved by the clerk a little before it was sent: XlsxWriter stamps the time it
        # writes at, months after the period's receipts, which dvxl warns of (W107).
        saved = dt.datetime.fromtimestamp(job.sent) - SAVED_BEFORE_SENT
        sample.stamp_saved(dest, saved)
        os.utime(dest, (job.sent, job.sent))
    return len(jobs)


def _chunks(items: list[_Job], size: int) -> Iterable[list[_Job]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sent(period: Period, rng: random.Random, late: bool) -> dt.datetime:
    days = rng.randint(1, 10) if late else -rng.randint(0, 5)
    day = period.deadline + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(7 + rng.randint(0, 9), rng.randint(0, 59)))


def _mistaken(values: dict[str, Any], catalog: Catalog, unit: Unit, rng: random.Random) -> bool:
    """Put one or two of the sample's mistakes into ``values``; False if none applies."""
    usable = [m for m in sample.MISTAKES if sample.can_make(m, values)]
    if not usable:
        return False
    for mistake in rng.sample(usable, min(len(usable), rng.choice((1, 1, 2)))):
        sample.MISTAKES[mistake](values, catalog, unit)
    return True


Values = dict[str, Any]
Habit = Callable[[Values, random.Random], bool]
_TEXTS = (".KET_QUA", ".KHO_KHAN", ".DE_XUAT")


def _keys(values: Values, suffixes: tuple[str, ...]) -> list[str]:
    return [k for k in values if k.endswith(suffixes) and isinstance(values[k], str)
            and values[k].strip()]


def _documents_on_one_line(values: Values, rng: random.Random) -> bool:
    """R002 (rule R03, ``lines(VB_DS) == VB_SO``): the documents separated by semicolons
    on one line, where the province's rule wants one a line."""
    keys = [k for k in _keys(values, (".VB_DS",)) if "\n" in values[k]]
    if not keys:
        return False
    key = rng.choice(keys)
    values[key] = "; ".join(values[key].splitlines())
    return True


def _documents_not_listed(values: Values, rng: random.Random) -> bool:
    """R002 (rule R02, ``if VB_SO > 0 then filled(VB_DS)``): the count typed, the list
    left for later."""
    keys = _keys(values, (".VB_DS",))
    if not keys:
        return False
    values[rng.choice(keys)] = ""
    return True


def _count_as_text(values: Values, rng: random.Random) -> bool:
    """W101: a count typed into a cell formatted as text (or pasted from a Word table)."""
    keys = [k for k, v in values.items() if type(v) is int and v >= 0]
    if not keys:
        return False
    key = rng.choice(keys)
    values[key] = str(values[key])
    return True


def _phone_as_number(values: Values, rng: random.Random) -> bool:
    """W109: the phone number typed over the text cell as a number: its 0 is lost."""
    phone = values.get("DIEN_THOAI")
    if not isinstance(phone, str) or not phone.isdigit():
        return False
    values["DIEN_THOAI"] = int(phone)
    return True


def _date_as_text(values: Values, rng: random.Random) -> bool:
    """W102: the report's date typed as text, day/month/year."""
    day = values.get("NGAY_BC")
    if not isinstance(day, dt.date):
        return False
    values["NGAY_BC"] = f"{day.day}/{day.month}/{day.year}"
    return True


def _space_at_end(values: Values, rng: random.Random) -> bool:
    """W104: a text pasted with a space or a line break after it."""
    keys = _keys(values, _TEXTS)
    if not keys:
        return False
    key = rng.choice(keys)
    values[key] += rng.choice((" ", "  ", "\n"))
    return True


def _combining_accents(values: Values, rng: random.Random) -> bool:
    """W103: a text typed with combining accents (Unikey's «Unicode tổ hợp», a Mac)."""
    keys = [k for k in _keys(values, _TEXTS) if not values[k].isascii()]
    if not keys:
        return False
    key = rng.choice(keys)
    values[key] = unicodedata.normalize("NFD", values[key])
    return True


#: What clerks do that dvxl mends or flags with a warning, never an error: the findings
#: corpus puts one to three of these on every return.
HABITS: dict[str, Habit] = {
    "văn bản kê trên một dòng": _documents_on_one_line,
    "có số văn bản, chưa kê": _documents_not_listed,
    "số gõ dạng chữ": _count_as_text,
    "số điện thoại mất số 0": _phone_as_number,
    "ngày gõ dạng chữ": _date_as_text,
    "khoảng trắng thừa cuối ô": _space_at_end,
    "chữ Unicode tổ hợp": _combining_accents,
}
_ONE_LINE = "văn bản kê trên một dòng"
#: The sample's mistakes that are errors (the others only warn: a number written the
#: Vietnamese way, a date in words).
ERROR_MISTAKES = tuple(m for m in sample.MISTAKES
                       if m not in ("số nhập kiểu Việt Nam", "ngày dạng chữ"))


def _habits(values: Values, rng: random.Random, pristine: Values) -> bool:
    """Put one to three of :data:`HABITS` into ``values``, in cells that still hold what
    they hold in ``pristine`` (a mistake's cell is left as the mistake made it, so that
    its error stays); False if none applies."""
    free = {k: v for k, v in values.items() if k in pristine and pristine[k] == v}
    done = rng.random() < ONE_LINE_SHARE and HABITS[_ONE_LINE](free, rng)
    others = [name for name in HABITS if name != _ONE_LINE]
    rng.shuffle(others)
    wanted = rng.choice((0, 1, 1, 2)) if done else rng.choice((1, 1, 2))
    for name in others:
        if wanted == 0:
            break
        if HABITS[name](free, rng):
            done, wanted = True, wanted - 1
    values.update(free)
    return done


def _wrong(values: Values, catalog: Catalog, unit: Unit, rng: random.Random) -> bool:
    """Put one or two of :data:`ERROR_MISTAKES` into ``values``; False if none applies."""
    usable = [m for m in ERROR_MISTAKES if sample.can_make(m, values)]
    if not usable:
        return False
    for mistake in rng.sample(usable, min(len(usable), rng.choice((1, 1, 2)))):
        sample.MISTAKES[mistake](values, catalog, unit)
    return True


def generate(root: Path, n: int, seed: int, workers: int | None = None,
             kind: str = KIND) -> Corpus:
    """Make the corpus in ``root`` (emptied first); ``kind``: :data:`KIND` or
    :data:`FINDINGS`."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    base = textio.load_catalog(workspace.sample_catalog_dir())
    textio.dump_catalog(dataclasses.replace(base, units=roster(n, seed)), root / "catalog")
    ws = workspace.init(root, root / "catalog")
    catalog = ws.load()
    period = periods.find(catalog, PERIOD)
    sealed = seal.record_signed(root, seal.ensure(root), period.code)
    rng = random.Random(seed)
    staging = root / ".staging"
    jobs: list[_Job] = []
    convert: dict[str, list[tuple[Path, float]]] = {"xls": [], "ods": []}
    formats = {"xlsx": 0, "xls": 0, "ods": 0, "pdf": 0}
    errors = late_count = missing = warned = 0
    findings = kind == FINDINGS
    for unit in catalog.addressed_units():
        draw = rng.random()
        if draw < MISSING_SHARE:
            missing += 1
            continue
        values = sample.good_values(catalog, unit, period, rng)
        late = rng.random() < LATE_SHARE
        late_count += late
        sent = _sent(period, rng, late)
        name = form.template_name(period, unit)
        mistaken = _wrong if findings else _mistaken
        pristine = dict(values) if findings else values
        if rng.random() < RESUBMIT_SHARE:  # a first file with a mistake, a corrected one later
            first = dict(values)
            if mistaken(first, catalog, unit, rng):
                warned += findings and _habits(first, rng, pristine)
                earlier = (sent - dt.timedelta(days=2)).timestamp()
                dest = ws.inbox / f"{Path(name).stem} (lan 1).xlsx"
                jobs.append(_Job(unit.code, first, str(dest), earlier))
                formats["xlsx"] += 1
                errors += 1
        elif rng.random() < (ERROR_SHARE if findings else MISTAKE_SHARE) / (
            1 - MISSING_SHARE
        ) and mistaken(values, catalog, unit, rng):
            errors += 1
        if findings:
            warned += _habits(values, rng, pristine)
        fmt_draw = rng.random()
        fmt = "xls" if fmt_draw < XLS_SHARE else "ods" if fmt_draw < XLS_SHARE + ODS_SHARE else ""
        if fmt:
            dest = staging / fmt / name
            convert[fmt].append((dest, sent.timestamp()))
            formats[fmt] += 1
        else:
            dest = ws.inbox / name
            formats["xlsx"] += 1
        jobs.append(_Job(unit.code, values, str(dest), sent.timestamp()))
    workers = workers or os.cpu_count() or 1
    size = max(1, min(50, len(jobs) // (workers * 4) or 1))
    if workers > 1 and len(jobs) > 20:
        with ProcessPoolExecutor(workers, initializer=_init_worker,
                                 initargs=(catalog, period, sealed)) as pool:
            done = sum(pool.map(_write, _chunks(jobs, size)))
    else:
        _init_worker(catalog, period, sealed)
        done = sum(_write(chunk) for chunk in _chunks(jobs, size))
    assert done == len(jobs)
    for fmt, staged in convert.items():
        _convert(staged, fmt, ws.inbox)
    shutil.rmtree(staging, ignore_errors=True)
    for i in range(round(len(jobs) / JUNK_PER_FILES)):  # a PDF saved under a workbook's name
        stray = ws.inbox / f"Bao cao gui kem {i + 1}.xlsx"
        stray.write_bytes(b"%PDF-1.4\n% a PDF saved with the wrong extension\n")
        formats["pdf"] += 1
    total = sum(formats.values())
    corpus = Corpus(root, len(catalog.addressed_units()), total, formats, errors, late_count,
                    missing, kind, warned)
    manifest = {
        "version": VERSION, "corpus": kind, "n": n, "seed": seed, "period": PERIOD,
        "units": corpus.units, "files": total, "formats": formats, "errors": errors,
        "warned": warned, "late": late_count, "missing": missing,
        "made": dt.datetime.now().isoformat(timespec="seconds"),
    }
    if findings:
        manifest["findings_version"] = FINDINGS_VERSION
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return corpus


def _convert(files: list[tuple[Path, float]], fmt: str, inbox: Path) -> None:
    """Save the staged .xlsx files as ``fmt`` with LibreOffice, in one batch, into ``inbox``."""
    if not files:
        return
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is needed to make the .xls and .ods returns.")
    with tempfile.TemporaryDirectory(prefix="dvxl-bench-lo-") as profile:
        # A profile of its own: another LibreOffice (the tests' UNO server) may be running.
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", fmt, "--outdir", str(inbox), *(str(p) for p, _ in files)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600,
        )
    for path, sent in files:
        out = inbox / f"{path.stem}.{fmt}"
        if not out.is_file():
            raise SystemExit(f"LibreOffice did not write {out}")
        os.utime(out, (sent, sent))


def folder(n: int, seed: int = SEED, kind: str = KIND, cache: Path = CACHE) -> Path:
    """Where the corpus of (n, seed, kind) is cached: the kind corpus where it always was,
    the findings corpus under a name with its own version too."""
    if kind not in CORPORA:
        raise ValueError(f"corpus {kind!r}: one of {', '.join(CORPORA)}")
    tag = "" if kind == KIND else f"-{kind}{FINDINGS_VERSION}"
    return cache / f"n{n}-s{seed}{tag}-v{VERSION}"


def corpus(n: int, seed: int = SEED, cache: Path = CACHE, workers: int | None = None,
           kind: str = KIND) -> Corpus:
    """The corpus for (n, seed, kind), from the cache when it is there, else generated
    into it."""
    root = folder(n, seed, kind, cache)
    manifest = root / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return Corpus(root, data["units"], data["files"], data["formats"], data["errors"],
                      data["late"], data["missing"], data.get("corpus", KIND),
                      data.get("warned", 0))
    return generate(root, n, seed, workers, kind)


def kinds(choice: str) -> tuple[str, ...]:
    """The corpora a ``--corpus`` option names: one of :data:`CORPORA`, or ``both``."""
    return CORPORA if choice == "both" else (choice,)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="+", help="number of units (one corpus per N)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--corpus", choices=(*CORPORA, "both"), default=KIND,
                        help="kind: 5 %% of returns with a mistake; findings: warnings on "
                        "every return, errors on a fifth; both")
    args = parser.parse_args(argv)
    for n in args.n:
        for kind in kinds(args.corpus):
            start = time.perf_counter()
            made = corpus(n, args.seed, args.cache, kind=kind)
            print(f"N={n} ({kind}): {made.files} files {made.formats} in {made.root} "
                  f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
