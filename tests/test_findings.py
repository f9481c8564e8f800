"""The finding codes: every one has a message, every check declares what it emits.

A code is API (STYLE.md): these tests hold the :class:`~dvxl.findings.Code` names, the
message table, and each module's ``EMITS`` declaration to one another, and read the
source of every dvxl module so that a finding made with a code its module did not
declare, or with a bare string, fails here (mypy catches a misspelt name).
"""

from __future__ import annotations

import ast
import importlib
import re
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

from dvxl import checks, findings
from dvxl.findings import CODES, ERROR, WARNING, Code, make

PACKAGE = Path(findings.__file__).resolve().parent
#: Calls whose first argument is a finding code: they make (or raise) a finding.
MAKERS = {"make", "Refused", "add"}
CODE_TEXT = re.compile(r"[FIMSCWRU]\d{3}")
LEVEL_PREFIXES = {"file": "FMW", "identity": "I", "structure": "S", "cell": "CW", "rule": "R",
                  "upload": "U"}


def modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def source(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))


def made_codes(module: str) -> set[str]:
    """The ``Code`` names a module makes findings of (first argument of a maker call)."""
    names: set[str] = set()
    for node in ast.walk(source(module)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called not in MAKERS:
            continue
        for part in ast.walk(node.args[0]):
            if (isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name)
                    and part.value.id == "Code"):
                names.add(part.attr)
    return names


def code_strings(module: str) -> list[str]:
    """Every string literal of a module that is a finding code ("C003")."""
    return [node.value for node in ast.walk(source(module))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and CODE_TEXT.fullmatch(node.value)]


def emitters() -> dict[str, ModuleType]:
    """Every dvxl module that declares ``EMITS``."""
    found = {}
    for name in modules():
        module = importlib.import_module(f"dvxl.{name}")
        if hasattr(module, "EMITS"):
            found[name] = module
    return found


@pytest.mark.parametrize("code", list(Code), ids=lambda c: c.value)
def test_every_code_has_a_vietnamese_message(code: Code) -> None:
    spec = CODES[code]
    assert spec.code == code.value and type(spec.code) is str
    assert CODE_TEXT.fullmatch(spec.code)
    assert spec.severity in (ERROR, WARNING)
    assert spec.code[0] in LEVEL_PREFIXES[spec.level]
    assert spec.title and unicodedata.is_normalized("NFC", spec.title)
    message = make(code, "tep.xlsx").message  # every field blank: still renders
    assert message and "{" not in message and unicodedata.is_normalized("NFC", message)


def test_every_message_belongs_to_a_named_code() -> None:
    assert list(CODES) == [c.value for c in Code]  # one spec per code, in the enum's order
    assert len(findings._CODES) == len(CODES)


def test_a_finding_carries_the_code_as_plain_text() -> None:
    finding = make(Code.OUT_OF_RANGE, "tep.xlsx", value="-5", expected="không nhỏ hơn 0")
    assert finding.code == "C003" and type(finding.code) is str
    assert finding.as_dict()["code"] == "C003"


def test_every_declared_code_is_defined() -> None:
    declared = emitters()
    assert set(declared) >= {"checks", "gates", "ole", "reader", "sheetscan", "upload",
                             "validate", "zipparts"}
    for name, module in declared.items():
        emits = module.EMITS
        assert emits and all(isinstance(c, Code) for c in emits), name
        assert len(set(emits)) == len(emits), f"{name} declares a code twice"


@pytest.mark.parametrize("module", modules())
def test_a_module_makes_only_the_findings_it_declares(module: str) -> None:
    names = made_codes(module)
    assert all(hasattr(Code, n) for n in names), names
    declared = {c.name for c in getattr(emitters().get(module), "EMITS", ())}
    assert names <= declared, f"{module} makes {sorted(names - declared)} without declaring it"


@pytest.mark.parametrize("module", [m for m in modules() if m != "findings"])
def test_no_module_writes_a_code_as_a_string(module: str) -> None:
    assert code_strings(module) == [], f"{module}: name the code (findings.Code), not its text"


def test_every_code_is_declared_by_a_check() -> None:
    declared = {c for module in emitters().values() for c in module.EMITS}
    assert declared == set(Code)


@pytest.mark.parametrize(
    ("emits", "level"),
    [
        (checks.IDENTITY_EMITS, "identity"),
        (checks.STRUCTURE_EMITS, "structure"),
        (checks.CELL_EMITS, "cell"),
        (checks.RULE_EMITS, "rule"),
    ],
    ids=["identity", "structure", "cell", "rule"],
)
def test_each_check_declares_codes_of_its_level(emits: tuple[Code, ...], level: str) -> None:
    assert {CODES[c].level for c in emits} == {level}
