"""A small, safe expression language for survey branching conditions.

A survey question may carry a ``when`` condition that decides whether it is
asked, based on the answers given so far::

    when = "nps <= 6"
    when = "nps >= 9 and reason != 'price'"
    when = "plan in ['basic', 'pro'] or not (csat > 3)"
    when = "would_return == true"

The text is parsed by a hand-written tokenizer and recursive-descent parser;
nothing is ever passed to ``eval``/``exec`` or the ``ast`` module.

Grammar (keywords are case-sensitive lower case)::

    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := operand (('<'|'<='|'>'|'>='|'=='|'!=') operand
                           | 'not'? 'in' list)?
    operand    := NAME | NUMBER | STRING | 'true' | 'false' | '(' or_expr ')'
    list       := '[' (literal (',' literal)*)? ']'
    literal    := NUMBER | STRING | 'true' | 'false'

* ``NAME`` is a question id, ``[A-Za-z_][A-Za-z0-9_]*`` (``True`` or ``AND``
  are names, not keywords).
* ``NUMBER`` is an int or a decimal with an optional leading minus: ``7``,
  ``-2``, ``3.5``. No exponents, no ``.5`` or ``5.``.
* ``STRING`` is ``'single'`` or ``"double"`` quoted; inside it ``\\'``,
  ``\\"`` and ``\\\\`` stand for the quote or backslash. Other escapes are errors.

Evaluation semantics (``Condition.evaluate``):

* ``answers`` maps question id to its answer (``int``, ``float``, ``str`` or
  ``bool``). A skipped or unanswered question is absent from the mapping; a
  ``None`` value is treated the same as absent.
* A bare name used as a whole condition (``"reason"``, ``"not reason"``,
  ``"reason and nps > 5"``) means "the question was answered".
* Any comparison (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``, ``in``,
  ``not in``) involving an absent name is False. Consequently
  ``not (nps > 5)`` is True when ``nps`` was skipped, and so is
  ``not (nps == 5)`` while ``nps != 5`` is False.
* Equality: ints and floats compare numerically, strings compare to strings,
  bools compare only to bools (``true == 1`` is False). Values of different
  kinds are never equal, so ``==`` is False and ``!=`` is True.
* Ordering (``<``, ``<=``, ``>``, ``>=``) is defined between two numbers or
  between two strings (code-point order); anything else is False.
* ``x in [...]`` tests membership with the same equality rule.
* Parentheses only group: ``(nps) > 5`` is ``nps > 5``. A parenthesised
  condition used as a value is its boolean result: ``(nps > 5) == false``.
* ``evaluate`` never raises.

Limits: a source longer than ``MAX_LENGTH`` (500) characters, or nested more
than ``MAX_DEPTH`` (32) parentheses deep, is rejected with ``ConditionError``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Condition", "ConditionError", "parse_condition"]

MAX_LENGTH: Final = 500
MAX_DEPTH: Final = 32

_Value = int | float | str | bool


class ConditionError(ValueError):
    """A condition could not be parsed.

    ``str(error)`` is safe to show to a config author, e.g.
    ``expected a value after '<=' at position 6 in 'nps <= '``.

    Attributes:
        expression: the condition source text.
        position: 0-based character offset of the problem in ``expression``.
        reason: the message without the position/expression suffix.
    """

    def __init__(self, expression: str, position: int, reason: str) -> None:
        self.expression = expression
        self.position = position
        self.reason = reason
        super().__init__(f"{reason} at position {position} in {_show(expression)}")

    def __reduce__(self) -> tuple[type[ConditionError], tuple[str, int, str]]:
        return (type(self), (self.expression, self.position, self.reason))


def _show(text: str, limit: int = 80) -> str:
    if len(text) > limit:
        return repr(text[:limit]) + "..."
    return repr(text)


# --------------------------------------------------------------------------- tokens

_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS: Final = frozenset("0123456789")
_NAME_CHARS: Final = _LETTERS | _DIGITS
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false"})
_COMPARISON_OPS: Final = ("<", "<=", ">", ">=", "==", "!=")
_EXPECTED_OPS: Final = "expected one of " + ", ".join(_COMPARISON_OPS)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name", "number", "string", "op", a keyword, a punctuation char, or "eof"
    text: str  # the raw source text of the token
    pos: int
    value: _Value | None = None

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of condition"
        if self.kind == "name":
            return f"question id {_show(self.text, 30)}"
        if self.kind == "number":
            return f"number {_show(self.text, 30)}"
        if self.kind == "string":
            return f"string {_show(self.text, 30)}"
        return f"'{self.text}'"


class _Lexer:
    """Produces tokens on demand so errors are reported left to right."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.index = 0
        self._peeked: _Token | None = None

    def error(self, position: int, reason: str) -> ConditionError:
        return ConditionError(self.source, position, reason)

    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def advance(self) -> _Token:
        token = self.peek()
        self._peeked = None
        return token

    def _scan(self) -> _Token:
        src = self.source
        n = len(src)
        i = self.index
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            self.index = n
            # Point just past the last meaningful character, not at trailing blanks.
            return _Token("eof", "", len(src.rstrip()))
        ch = src[i]
        nxt = src[i + 1] if i + 1 < n else ""

        if ch in _LETTERS:
            j = i + 1
            while j < n and src[j] in _NAME_CHARS:
                j += 1
            self.index = j
            word = src[i:j]
            if word in _KEYWORDS:
                value = {"true": True, "false": False}.get(word)
                return _Token(word, word, i, value)
            return _Token("name", word, i)

        if ch in _DIGITS or ch == "-":
            return self._number(i)

        if ch in "'\"":
            return self._string(i)

        if ch in "<>":
            if nxt == "=":
                self.index = i + 2
                return _Token("op", ch + "=", i)
            if ch == "<" and nxt == ">":
                raise self.error(i, f"unknown operator '<>'; {_EXPECTED_OPS} (did you mean '!='?)")
            self.index = i + 1
            return _Token("op", ch, i)
        if ch == "=":
            if nxt == "=":
                self.index = i + 2
                return _Token("op", "==", i)
            if nxt in ("<", ">"):
                hint = nxt + "="
                raise self.error(
                    i, f"unknown operator '={nxt}'; {_EXPECTED_OPS} (did you mean '{hint}'?)"
                )
            raise self.error(i, f"unknown operator '='; {_EXPECTED_OPS} (use '==' to compare)")
        if ch == "!":
            if nxt == "=":
                self.index = i + 2
                return _Token("op", "!=", i)
            raise self.error(
                i, "unknown operator '!'; expected '!=' to compare or the keyword 'not' to negate"
            )
        if ch in "&|":
            word = "and" if ch == "&" else "or"
            text = ch * 2 if nxt == ch else ch
            raise self.error(i, f"unknown operator '{text}'; expected the keyword '{word}'")
        if ch in "()[],":
            self.index = i + 1
            return _Token(ch, ch, i)
        raise self.error(
            i,
            f"unexpected character {ch!r}; expected a question id, number, string, "
            "operator, parenthesis, bracket or comma",
        )

    def _number(self, start: int) -> _Token:
        src = self.source
        n = len(src)
        i = start
        if src[i] == "-":
            i += 1
            if i >= n or src[i] not in _DIGITS:
                raise self.error(start, "expected a digit after '-'")
        while i < n and src[i] in _DIGITS:
            i += 1
        is_decimal = False
        if i < n and src[i] == ".":
            i += 1
            if i >= n or src[i] not in _DIGITS:
                raise self.error(i, "expected a digit after the decimal point")
            while i < n and src[i] in _DIGITS:
                i += 1
            is_decimal = True
        if i < n and (src[i] in _NAME_CHARS or src[i] == "."):
            j = i
            while j < n and (src[j] in _NAME_CHARS or src[j] == "."):
                j += 1
            raise self.error(
                start,
                f"malformed number {_show(src[start:j], 30)}; expected digits with an "
                "optional leading '-' and decimal point",
            )
        text = src[start:i]
        self.index = i
        value: int | float = float(text) if is_decimal else int(text)
        return _Token("number", text, start, value)

    def _string(self, start: int) -> _Token:
        src = self.source
        n = len(src)
        quote = src[start]
        chars: list[str] = []
        i = start + 1
        while i < n:
            ch = src[i]
            if ch == "\\":
                if i + 1 >= n:
                    break
                escaped = src[i + 1]
                if escaped not in ("\\", "'", '"'):
                    raise self.error(
                        i,
                        f"unknown escape {_show(src[i : i + 2])} in string; "
                        "expected \\\\, \\' or \\\"",
                    )
                chars.append(escaped)
                i += 2
                continue
            if ch == quote:
                self.index = i + 1
                return _Token("string", src[start : i + 1], start, "".join(chars))
            chars.append(ch)
            i += 1
        raise self.error(start, f"unterminated string; expected a closing quote ({quote})")


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True, slots=True)
class _Name:
    name: str


@dataclass(frozen=True, slots=True)
class _Literal:
    value: _Value
    token: _Token


@dataclass(frozen=True, slots=True)
class _Compare:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Member:
    operand: _Node
    options: tuple[_Value, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node
    count: int  # a chain 'not not not x' is kept flat so evaluation never recurses deeply


@dataclass(frozen=True, slots=True)
class _And:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Or:
    items: tuple[_Node, ...]


_Node = _Name | _Literal | _Compare | _Member | _Not | _And | _Or


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lexer = _Lexer(source)
        self.depth = 0
        self.names: set[str] = set()

    def error(self, position: int, reason: str) -> ConditionError:
        return ConditionError(self.source, position, reason)

    def got(self, reason: str, token: _Token) -> ConditionError:
        """An error at ``token``; says what was found unless it is the end of input."""
        if token.kind != "eof":
            reason = f"{reason}, got {token.describe()}"
        return self.error(token.pos, reason)

    def parse(self) -> _Node:
        if len(self.source) > MAX_LENGTH:
            raise self.error(
                MAX_LENGTH,
                f"condition is {len(self.source)} characters long; expected at most {MAX_LENGTH}",
            )
        if not self.source.strip():
            raise self.error(0, "empty condition; expected a comparison such as 'nps <= 6'")
        node = self.or_expr()
        token = self.lexer.peek()
        if token.kind != "eof":
            if token.kind == "op":
                raise self.got(
                    "comparisons cannot be chained; expected 'and', 'or' or end of condition",
                    token,
                )
            if token.kind == ")":
                raise self.error(
                    token.pos, "unmatched ')'; expected 'and', 'or' or end of condition"
                )
            raise self.got("expected 'and', 'or' or end of condition", token)
        return self.as_condition(node)

    def as_condition(self, node: _Node) -> _Node:
        """Check that ``node`` can stand as a truth value on its own."""
        if isinstance(node, _Literal) and not isinstance(node.value, bool):
            kind = "string" if isinstance(node.value, str) else "number"
            raise self.error(
                node.token.pos,
                f"expected a comparison after {node.token.describe()}; "
                f"a {kind} on its own is not a condition",
            )
        return node

    def or_expr(self) -> _Node:
        items = [self.and_expr()]
        while self.lexer.peek().kind == "or":
            self.lexer.advance()
            items.append(self.and_expr())
        if len(items) == 1:
            return items[0]
        return _Or(tuple(self.as_condition(item) for item in items))

    def and_expr(self) -> _Node:
        items = [self.not_expr()]
        while self.lexer.peek().kind == "and":
            self.lexer.advance()
            items.append(self.not_expr())
        if len(items) == 1:
            return items[0]
        return _And(tuple(self.as_condition(item) for item in items))

    def not_expr(self) -> _Node:
        count = 0
        while self.lexer.peek().kind == "not":
            self.lexer.advance()
            count += 1
        node = self.comparison()
        if count == 0:
            return node
        return _Not(self.as_condition(node), count)

    def comparison(self) -> _Node:
        left = self.operand(None)
        token = self.lexer.peek()
        if token.kind == "op":
            self.lexer.advance()
            right = self.operand(token)
            return _Compare(token.text, left, right)
        if token.kind == "in":
            self.lexer.advance()
            return _Member(left, self.literal_list(token), negated=False)
        if token.kind == "not":
            self.lexer.advance()
            after = self.lexer.peek()
            if after.kind != "in":
                raise self.got("expected 'in' after 'not'", after)
            self.lexer.advance()
            return _Member(left, self.literal_list(after), negated=True)
        return left

    def operand(self, after: _Token | None) -> _Node:
        token = self.lexer.peek()
        if token.kind == "name":
            self.lexer.advance()
            self.names.add(token.text)
            return _Name(token.text)
        if token.kind in ("number", "string", "true", "false"):
            self.lexer.advance()
            assert token.value is not None
            return _Literal(token.value, token)
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(token.pos, f"parentheses nested deeper than {MAX_DEPTH} levels")
            self.lexer.advance()
            inner = self.or_expr()
            closing = self.lexer.peek()
            if closing.kind != ")":
                raise self.got(f"expected ')' to close the '(' from position {token.pos}", closing)
            self.lexer.advance()
            self.depth -= 1
            return inner
        if after is not None:
            raise self.got(f"expected a value after '{after.text}'", token)
        raise self.got("expected a question id, value or '('", token)

    def literal_list(self, keyword: _Token) -> tuple[_Value, ...]:
        opening = self.lexer.peek()
        if opening.kind != "[":
            raise self.got(f"expected '[' after '{keyword.text}'", opening)
        self.lexer.advance()
        values: list[_Value] = []
        if self.lexer.peek().kind == "]":
            self.lexer.advance()
            return ()
        while True:
            token = self.lexer.peek()
            if token.kind not in ("number", "string", "true", "false"):
                what = "a number, string, true or false in the list"
                if token.kind == "eof":
                    what += f" from position {opening.pos}"
                raise self.got(f"expected {what}", token)
            self.lexer.advance()
            assert token.value is not None
            values.append(token.value)
            token = self.lexer.peek()
            if token.kind == "]":
                self.lexer.advance()
                return tuple(values)
            if token.kind != ",":
                raise self.got(
                    f"expected ',' or ']' to close the list from position {opening.pos}",
                    token,
                )
            self.lexer.advance()


# --------------------------------------------------------------------------- evaluation


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_MISSING: Final = _Sentinel("<missing>")  # absent or skipped answer
_OTHER: Final = _Sentinel("<unsupported>")  # answered, but not a comparable type

_ORDERING: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _lookup(answers: Mapping[str, object], name: str) -> object:
    """The answer for ``name`` as an exact builtin, ``_MISSING`` or ``_OTHER``."""
    try:
        if name not in answers:
            return _MISSING
        value = answers[name]
        if value is None:
            return _MISSING
        # Copy subclasses to the exact builtin so no user __eq__/__lt__ ever runs.
        if isinstance(value, bool):
            return value is True
        if isinstance(value, int):
            return int.__int__(value)
        if isinstance(value, float):
            return float.__float__(value)
        if isinstance(value, str):
            return str.__str__(value)
    except Exception:
        return _MISSING
    return _OTHER


def _kind(value: object) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _equal(left: object, right: object) -> bool:
    kind = _kind(left)
    return kind is not None and kind == _kind(right) and left == right


def _compare(op: str, left: object, right: object) -> bool:
    if left is _MISSING or right is _MISSING:
        return False
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    kind = _kind(left)
    if kind in ("number", "string") and kind == _kind(right):
        return _ORDERING[op](left, right)
    return False


def _value(node: _Node, answers: Mapping[str, object]) -> object:
    if isinstance(node, _Name):
        return _lookup(answers, node.name)
    if isinstance(node, _Literal):
        return node.value
    return _truth(node, answers)


def _truth(node: _Node, answers: Mapping[str, object]) -> bool:
    if isinstance(node, _Name):
        return _lookup(answers, node.name) is not _MISSING
    if isinstance(node, _Literal):
        return node.value is True
    if isinstance(node, _Compare):
        return _compare(node.op, _value(node.left, answers), _value(node.right, answers))
    if isinstance(node, _Member):
        value = _value(node.operand, answers)
        if value is _MISSING:
            return False
        found = any(_equal(value, option) for option in node.options)
        return found != node.negated
    if isinstance(node, _Not):
        result = _truth(node.operand, answers)
        return result if node.count % 2 == 0 else not result
    if isinstance(node, _And):
        return all(_truth(item, answers) for item in node.items)
    if isinstance(node, _Or):
        return any(_truth(item, answers) for item in node.items)
    return False  # pragma: no cover - every node type is handled above


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Condition:
    """A parsed branching condition. ``Condition(source)`` parses (or raises
    ``ConditionError``); equality and hashing go by ``source``."""

    source: str
    _root: _Node = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise TypeError(f"condition source must be str, not {type(self.source).__name__}")
        parser = _Parser(self.source)
        root = parser.parse()
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_names", frozenset(parser.names))

    def names(self) -> frozenset[str]:
        """The question ids the condition refers to."""
        return self._names

    def evaluate(self, answers: Mapping[str, object]) -> bool:
        """Whether the condition holds for ``answers`` (question id -> answer).

        Skipped questions are absent from ``answers``. Never raises.
        """
        return _truth(self._root, answers)


def parse_condition(source: str) -> Condition:
    """Parse ``source`` into a ``Condition``; raises ``ConditionError`` if invalid."""
    return Condition(source)
