"""The rule language: parsed, never eval-ed; missing values skip a comparison."""

from __future__ import annotations

import pytest

from dvxl import rules
from dvxl.model import Catalog

CASES = [
    ("KN_XL <= KN_SO", {"KN_XL": 3, "KN_SO": 5}, True),
    ("KN_XL <= KN_SO", {"KN_XL": 6, "KN_SO": 5}, False),
    ("KN_XL <= KN_SO", {"KN_XL": 6}, None),
    ("A + B * 2 == 7", {"A": 1, "B": 3}, True),
    ("(A + B) * 2 == 8", {"A": 1, "B": 3}, True),
    ("-A < 0", {"A": 2}, True),
    ("A / B > 1", {"A": 3, "B": 0}, None),
    ('if T == "Đã triển khai" then VB > 0 or filled(KQ)', {"T": "Đã triển khai", "VB": 0}, False),
    (
        'if T == "Đã triển khai" then VB > 0 or filled(KQ)',
        {"T": "Đã triển khai", "VB": 0, "KQ": "Có kết quả"},
        True,
    ),
    ('if T == "Đã triển khai" then VB > 0', {"T": "Chưa triển khai", "VB": 0}, True),
    ('if T == "Đã triển khai" then VB > 0', {"VB": 0}, True),
    ("if filled(DS) then lines(DS) == SO", {"DS": "45-KH/HU\n\n12-CV/TU\n", "SO": 2}, True),
    ("if filled(DS) then lines(DS) == SO", {"DS": "45-KH/HU", "SO": 2}, False),
    ("empty(X)", {"X": "  "}, True),
    ("not A > 1 and B == 0", {"A": 1, "B": 0}, True),
    ("nếu A > 0 thì B > 0 hoặc C > 0", {"A": 1, "B": 0, "C": 1}, True),
    ("A == 1,5", {"A": 1.5}, True),
    ('T == "đã TRIỂN khai"', {"T": "Đã triển khai"}, True),
    ("A > 1 and B > 1", {"A": 0}, False),
    ("A > 1 or B > 1", {"A": 5}, True),
]


@pytest.mark.parametrize(
    ("text", "values", "expected"), CASES, ids=[f"{i}-{c[0][:30]}" for i, c in enumerate(CASES)]
)
def test_evaluate(text: str, values: dict[str, rules.Value], expected: bool | None) -> None:
    assert rules.evaluate(rules.parse(text), values) is expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "trống"),
        ("A <= ", "vị trí"),
        ("if A > 1 B > 1", "then"),
        ("A > 1)", "thừa"),
        ("filled(1)", "mã chỉ tiêu"),
        ("A > 1 ; B", "ký tự không hợp lệ"),
        ("__import__('os')", "ký tự không hợp lệ"),
    ],
    ids=["empty", "dangling", "no-then", "extra-paren", "func-arg", "bad-char", "python"],
)
def test_syntax_errors_are_vietnamese(text: str, words: str) -> None:
    with pytest.raises(rules.RuleSyntaxError, match=words):
        rules.parse(text)


def test_names_lists_every_reference() -> None:
    node = rules.parse('if T == "x" then lines(DS) == SO + 1 and not empty(KQ)')
    assert rules.names(node) == {"T", "DS", "SO", "KQ"}


def test_every_sample_rule_parses_and_holds_on_consistent_values(sample_catalog: Catalog) -> None:
    for rule in sample_catalog.rules:
        node = rules.parse(rule.expression)
        assert rules.evaluate(node, {}) is not False, rule.code  # nothing known: skipped
