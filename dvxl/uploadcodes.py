"""Upload codes: what a unit types on the upload page (:mod:`dvxl.web`) to send its return.

Each addressed unit gets one code per period, and the secretariat one of its own that
opens the period's tracking page. Codes live in the workspace only, in
``DIR/.dvxl-ma-nop.json``, readable by the workspace's owner alone (like the signing key,
:mod:`dvxl.seal`); they are never written into a template, an output or the ledger.
Regenerating a period's codes (``dvxl codes -p P --new``) replaces all of them: the old
ones stop working at once, also for a browser that is already signed in.

A code is eight characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown
as ``K7MX-4PQA``; a typed code is compared without case, spaces or dashes, in constant
time. 31^8 ≈ 8.5 · 10^11 codes with the page's rate limit on wrong codes.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from dvxl import atomic, lock
from dvxl.errors import DvxlError
from dvxl.model import Catalog, Period

CODES_FILE = ".dvxl-ma-nop.json"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
_VERSION = 1


@dataclass(frozen=True)
class Holder:
    """Who a code belongs to: a unit for a period, or the secretariat (``unit`` "")."""

    period: str
    unit: str

    @property
    def is_secretariat(self) -> bool:
        return not self.unit


@dataclass(frozen=True)
class PeriodCodes:
    """A period's codes: one per unit (by unit code) and the secretariat's."""

    period: str
    units: dict[str, str]
    secretariat: str


def shown(code: str) -> str:
    """``K7MX4PQA`` as ``K7MX-4PQA``: easier to read out over the phone."""
    return f"{code[:4]}-{code[4:]}" if len(code) == LENGTH else code


def normalise(typed: str) -> str:
    """A typed code without case, spaces or dashes (``k7mx 4pqa`` → ``K7MX4PQA``)."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())[: LENGTH * 4]


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def path(root: Path) -> Path:
    return root / CODES_FILE


def load(root: Path) -> dict[str, PeriodCodes]:
    """Every period's codes kept in the workspace ({} when none were made)."""
    where = path(root)
    try:
        raw = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DvxlError(
            f"Không đọc được tệp mã nộp báo cáo {where} ({exc}). Hãy tạo lại mã: "
            "dvxl codes -p KỲ --new (các đơn vị cần mã mới)."
        ) from exc
    found: dict[str, PeriodCodes] = {}
    for period, entry in (raw.get("periods") or {}).items():
        units = {str(k): str(v) for k, v in (entry.get("units") or {}).items()}
        found[str(period)] = PeriodCodes(str(period), units, str(entry.get("secretariat", "")))
    return found


def _save(root: Path, codes: dict[str, PeriodCodes]) -> None:
    """Write the codes owner-only and synced to disk."""
    data = {"version": _VERSION, "periods": {
        p.period: {"secretariat": p.secretariat, "units": p.units} for p in codes.values()}}
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    atomic.write_text(path(root), text, durable=True, private=True)


def ensure(root: Path, catalog: Catalog, period: Period, renew: bool = False) -> PeriodCodes:
    """The period's codes, made for every addressed unit that has none yet (all of them
    anew with ``renew``); the secretariat's too."""
    with lock.exclusive(root):
        codes = load(root)
        old = codes.get(period.code)
        units = {} if renew or old is None else dict(old.units)
        wanted = [u.code for u in catalog.addressed_units()]
        taken = set(units.values())
        for unit in wanted:
            if unit not in units:
                code = new_code()
                while code in taken:
                    code = new_code()
                units[unit] = code
                taken.add(code)
        secretariat = "" if renew or old is None else old.secretariat
        secretariat = secretariat or new_code()
        made = PeriodCodes(period.code, {u: units[u] for u in wanted if u in units}, secretariat)
        if made != old:
            codes[period.code] = made
            _save(root, codes)
        return made


def holder(codes: dict[str, PeriodCodes], typed: str) -> Holder | None:
    """Who ``typed`` belongs to, if anyone: every code is compared (constant time each)."""
    wanted = normalise(typed)
    if len(wanted) != LENGTH:
        return None
    found: Holder | None = None
    for entry in codes.values():
        if hmac.compare_digest(entry.secretariat, wanted):
            found = Holder(entry.period, "")
        for unit, code in entry.units.items():
            if hmac.compare_digest(code, wanted):
                found = Holder(entry.period, unit)
    return found
