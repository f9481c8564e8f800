"""The small language of cross-field rules and classification conditions.

A rule compares two expressions with an operator, as DHIS2's validation rules
do, optionally under a condition::

    KN_XL <= KN_SO
    if TRANG_THAI == "Đã triển khai" then VB_SO > 0 or filled(KET_QUA)
    so_ngay_tre == 0 and so_nhiem_vu_duoi_50 == 0

Grammar (keywords also in Vietnamese: ``nếu``/``thì``/``và``/``hoặc``/``không``)::

    rule       := ["if" cond "then"] cond
    cond       := conj {"or" conj}
    conj       := neg {"and" neg}
    neg        := "not" neg | comparison
    comparison := sum [("=="|"!="|"<"|"<="|">"|">=") sum]
    sum        := term {("+"|"-") term}
    term       := atom {("*"|"/") atom}
    atom       := NUMBER | STRING | NAME | FUNC "(" NAME ")" | "(" cond ")" | "-" atom
    FUNC       := filled | empty | lines

Text is parsed into a tree, and the tree is turned once into nested Python
closures that evaluate it (:func:`compiled`); nothing is ever ``eval``-ed. A
comparison whose operands are missing values is skipped (it neither passes nor
fails), DHIS2's "skip if any value missing": emptiness is the job of the
"required" check, not of every rule that mentions the field.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

FUNCTIONS = ("filled", "empty", "lines")
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = {
    "if": "if",
    "nếu": "if",
    "then": "then",
    "thì": "then",
    "and": "and",
    "và": "and",
    "or": "or",
    "hoặc": "or",
    "not": "not",
    "không": "not",
}

Value = float | str | bool | None


class RuleSyntaxError(ValueError):
    """The rule text cannot be parsed; the message is Vietnamese."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Call:
    func: str
    arg: Ref


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Implies:
    condition: Node
    consequence: Node


Node = Num | Str | Ref | Call | Neg | BinOp | Compare | Not | BoolOp | Implies

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:[.,]\d+)?)
      | (?P<str>"[^"]*"|“[^”]*”)
      | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\))
      | (?P<name>[^\W\d][\w.]*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    text = unicodedata.normalize("NFC", text)
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise RuleSyntaxError(
                f"ký tự không hợp lệ «{text[pos:].strip()[:10]}» ở vị trí {pos + 1}"
            )
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind) + 1
        if kind == "name" and value.lower() in KEYWORDS:
            kind, value = "kw", KEYWORDS[value.lower()]
        tokens.append((kind, value, start))
        pos = match.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, kind: str, value: str) -> bool:
        if self.peek()[:2] == (kind, value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str, what: str) -> None:
        if not self.accept(kind, value):
            found = self.peek()
            shown = found[1] or "hết biểu thức"
            raise RuleSyntaxError(f"thiếu {what} ở vị trí {found[2]} (gặp «{shown}»)")

    def rule(self) -> Node:
        if self.accept("kw", "if"):
            condition = self.cond()
            self.expect("kw", "then", "«then» (thì)")
            node: Node = Implies(condition, self.cond())
        else:
            node = self.cond()
        if self.peek()[0] != "end":
            _, value, pos = self.peek()
            raise RuleSyntaxError(f"thừa «{value}» ở vị trí {pos}")
        return node

    def cond(self) -> Node:
        parts = [self.conj()]
        while self.accept("kw", "or"):
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def conj(self) -> Node:
        parts = [self.neg()]
        while self.accept("kw", "and"):
            parts.append(self.neg())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def neg(self) -> Node:
        if self.accept("kw", "not"):
            return Not(self.neg())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        kind, value, _ = self.peek()
        if kind == "op" and value in COMPARISONS:
            self.take()
            return Compare(value, left, self.sum())
        return left

    def sum(self) -> Node:
        node = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            node = BinOp(self.take()[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.atom()
        while self.peek()[0] == "op" and self.peek()[1] in "*/":
            node = BinOp(self.take()[1], node, self.atom())
        return node

    def atom(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num":
            return Num(float(value.replace(",", ".")))
        if kind == "str":
            return Str(unicodedata.normalize("NFC", value[1:-1]))
        if kind == "op" and value == "-":
            return Neg(self.atom())
        if kind == "op" and value == "(":
            node = self.cond()
            self.expect("op", ")", "dấu «)»")
            return node
        if kind == "name":
            if value in FUNCTIONS:
                self.expect("op", "(", f"dấu «(» sau {value}")
                arg_kind, arg, arg_pos = self.take()
                if arg_kind != "name":
                    raise RuleSyntaxError(f"{value}(...) cần mã chỉ tiêu ở vị trí {arg_pos}")
                self.expect("op", ")", "dấu «)»")
                return Call(value, Ref(arg))
            return Ref(value)
        shown = value or "hết biểu thức"
        raise RuleSyntaxError(f"cần số, chuỗi hoặc mã chỉ tiêu ở vị trí {pos} (gặp «{shown}»)")


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """Parse a rule; raise :class:`RuleSyntaxError` with a Vietnamese message.

    Cached: the tree is immutable, and every returned file reuses the catalog's rules.
    """
    if not text.strip():
        raise RuleSyntaxError("biểu thức trống")
    return _Parser(text).rule()


def names(node: Node) -> set[str]:
    """Every name (indicator code or variable) a rule refers to."""
    match node:
        case Ref(name):
            return {name}
        case Call(_, arg):
            return {arg.name}
        case Neg(operand) | Not(operand):
            return names(operand)
        case BinOp(_, left, right) | Compare(_, left, right):
            return names(left) | names(right)
        case BoolOp(_, operands):
            return set().union(*(names(o) for o in operands))
        case Implies(condition, consequence):
            return names(condition) | names(consequence)
    return set()


class _Missing(Exception):
    """A value needed for a comparison is empty: the comparison is skipped."""


def _is_empty(value: Value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# A rule is checked on every returned file, so its tree is turned once into nested
# closures (one per node) rather than walked with ``match`` for every file. The closures
# keep the walk's meaning exactly, down to which operands are evaluated and which
# exceptions escape ("and"/"or" evaluate every operand, as the walk did).

Values = Mapping[str, Value]
Check = Callable[[Values], bool | None]
_Get = Callable[[Values], Value]


@functools.lru_cache(maxsize=4096)
def compiled(node: Node) -> Check:
    """The rule as a function of the values: True (holds), False (violated) or None
    (skipped). Cached per tree, like :func:`parse`."""
    return _truth(node)


def evaluate(node: Node, values: Mapping[str, Value]) -> bool | None:
    """Evaluate a parsed rule: True (holds), False (violated) or None (skipped)."""
    return compiled(node)(values)


def _value(node: Node) -> _Get:
    """A function giving the node's value; it raises :class:`_Missing` where an operand
    is empty (or a divisor is zero)."""
    match node:
        case Num(number):
            return lambda values: number
        case Str(text):
            return lambda values: text
        case Ref(name):

            def ref(values: Values) -> Value:
                value = values.get(name)
                if _is_empty(value):
                    raise _Missing(name)
                return value

            return ref
        case Call("filled", arg):
            name = arg.name
            return lambda values: not _is_empty(values.get(name))
        case Call("empty", arg):
            name = arg.name
            return lambda values: _is_empty(values.get(name))
        case Call("lines", arg):
            name = arg.name

            def lines(values: Values) -> Value:
                raw = values.get(name)
                if _is_empty(raw):
                    return 0.0
                return float(sum(1 for line in str(raw).splitlines() if line.strip()))

            return lines
        case Call(func, _):
            raise ValueError(f"unknown function {func}")  # the parser only makes FUNCTIONS
        case Neg(operand):
            inner = _value(operand)
            return lambda values: -_number(inner(values))
        case BinOp(op, left, right):
            return _arithmetic(op, _value(left), _value(right))
    return _truth(node)


def _arithmetic(op: str, left: _Get, right: _Get) -> _Get:
    if op == "+":
        return lambda values: _number(left(values)) + _number(right(values))
    if op == "-":
        return lambda values: _number(left(values)) - _number(right(values))
    if op == "*":
        return lambda values: _number(left(values)) * _number(right(values))

    def divide(values: Values) -> Value:
        a, b = _number(left(values)), _number(right(values))
        if b == 0:
            raise _Missing("/0")
        return a / b

    return divide


def _number(value: Value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Missing(str(value))
    return float(value)


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "==": lambda x, y: abs(x - y) < 1e-9,
    "!=": lambda x, y: abs(x - y) >= 1e-9,
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y + 1e-9,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y - 1e-9,
}


def _truth(node: Node) -> Check:
    """A function giving True, False, or None when the outcome depends on a missing value."""
    match node:
        case Compare(op, left, right):
            return _compare(op, left, right)
        case Not(operand):
            inner = _truth(operand)

            def negation(values: Values) -> bool | None:
                result = inner(values)
                return None if result is None else not result

            return negation
        case BoolOp("and", operands):
            parts = tuple(_truth(o) for o in operands)

            def conjunction(values: Values) -> bool | None:
                results = [part(values) for part in parts]
                if False in results:
                    return False
                return None if None in results else True

            return conjunction
        case BoolOp(_, operands):
            parts = tuple(_truth(o) for o in operands)

            def disjunction(values: Values) -> bool | None:
                results = [part(values) for part in parts]
                if True in results:
                    return True
                return None if None in results else False

            return disjunction
        case Implies(condition, consequence):
            when, then = _truth(condition), _truth(consequence)
            return lambda values: True if when(values) is not True else then(values)
        case Call():
            call = _value(node)
            return lambda values: bool(call(values))
    get = _value(node)

    def truth(values: Values) -> bool | None:
        try:
            return bool(get(values))
        except _Missing:
            return None

    return truth


def _compare(op: str, left_node: Node, right_node: Node) -> Check:
    left, right = _value(left_node), _value(right_node)
    numeric = _NUMERIC[op]
    # A quoted operand ("Đã triển khai") always gives the same text: made once, here.
    left_text = _text(left_node.value) if isinstance(left_node, Str) else None
    right_text = _text(right_node.value) if isinstance(right_node, Str) else None

    def compare(values: Values) -> bool | None:
        try:
            a, b = left(values), right(values)
        except _Missing:
            return None
        if isinstance(a, str) or isinstance(b, str):
            if op not in ("==", "!="):
                return None
            same = (_text(a) if left_text is None else left_text) == (
                _text(b) if right_text is None else right_text
            )
            return same if op == "==" else not same
        return numeric(_number(a), _number(b))

    return compare


def _text(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if not text.isascii():  # ASCII text is already NFC: spare the normalisation
        text = unicodedata.normalize("NFC", text)
    return text.strip().casefold()
