"""Tests for the survey branching condition language (conversations.conditions)."""

from __future__ import annotations

import math
import operator
import pickle
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conversations.conditions import (
    MAX_DEPTH,
    MAX_LENGTH,
    Condition,
    ConditionError,
    parse_condition,
)


def holds(source: str, **answers: object) -> bool:
    return parse_condition(source).evaluate(answers)


def syntax_error(source: str) -> ConditionError:
    with pytest.raises(ConditionError) as info:
        parse_condition(source)
    return info.value


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("answers", "expected"),
    [({"nps": 0}, True), ({"nps": 6}, True), ({"nps": 6.0}, True), ({"nps": 7}, False)],
)
def test_nps_detractor(answers: dict[str, object], expected: bool) -> None:
    assert parse_condition("nps <= 6").evaluate(answers) is expected


def test_promoter_with_reason() -> None:
    condition = parse_condition("nps >= 9 and reason != 'price'")
    assert condition.evaluate({"nps": 10, "reason": "support"}) is True
    assert condition.evaluate({"nps": 10, "reason": "price"}) is False
    assert condition.evaluate({"nps": 8, "reason": "support"}) is False
    # a skipped reason makes the != comparison False
    assert condition.evaluate({"nps": 10}) is False


def test_channel_or_not_csat() -> None:
    condition = parse_condition("channel in ['telegram', 'slack'] or not (csat > 3)")
    assert condition.evaluate({"channel": "telegram", "csat": 5}) is True
    assert condition.evaluate({"channel": "slack", "csat": 5}) is True
    assert condition.evaluate({"channel": "web", "csat": 5}) is False
    assert condition.evaluate({"channel": "web", "csat": 2}) is True
    assert condition.evaluate({"channel": "web"}) is True  # not (absent comparison)
    assert condition.evaluate({}) is True


def test_boolean_literals() -> None:
    assert holds("would_return == true", would_return=True) is True
    assert holds("would_return == true", would_return=False) is False
    assert holds("would_return != false", would_return=True) is True
    assert holds("would_return == false", would_return=False) is True
    assert holds("true") is True
    assert holds("false") is False
    assert holds("not false") is True
    assert holds("true and x", x=1) is True


def test_keywords_are_case_sensitive() -> None:
    # 'True', 'AND', 'Not' are question ids, not keywords
    condition = parse_condition("True == 1 and AND == 'x' and Not")
    assert condition.names() == {"True", "AND", "Not"}
    assert condition.evaluate({"True": 1, "AND": "x", "Not": False}) is True
    assert condition.evaluate({"True": 1, "AND": "x"}) is False
    assert holds("x == TRUE", x=3, TRUE=3) is True
    with pytest.raises(ConditionError):
        parse_condition("a AND b")


# --------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        # and binds tighter than or: a or (b and c)
        ("a == 1 or b == 1 and c == 1", {"a": 1, "b": 0, "c": 0}, True),
        ("a == 1 or b == 1 and c == 1", {"a": 0, "b": 1, "c": 0}, False),
        ("(a == 1 or b == 1) and c == 1", {"a": 1, "b": 0, "c": 0}, False),
        ("b == 1 and c == 1 or a == 1", {"a": 1, "b": 0, "c": 0}, True),
        # not binds tighter than and/or, but looser than comparison
        ("not a == 1 and b == 1", {"a": 2, "b": 1}, True),
        ("not a == 1 and b == 1", {"a": 1, "b": 1}, False),
        ("not (a == 1 and b == 1)", {"a": 1, "b": 2}, True),
        ("not a == 1 or b == 1", {"a": 1, "b": 1}, True),
        ("not not a == 1", {"a": 1}, True),
        ("not not not a == 1", {"a": 1}, False),
        # parentheses
        ("((a == 1))", {"a": 1}, True),
        ("(a) == (1)", {"a": 1}, True),
        ("(a > 0) == true", {"a": 1}, True),
        ("(a > 0) == false", {"a": 1}, False),
        ("(a > 0) == false", {}, True),  # the inner comparison is False
        ("(a > 0 or b > 0) and (c > 0 or d > 0)", {"b": 1, "c": 1}, True),
        ("(a > 0 or b > 0) and (c > 0 or d > 0)", {"b": 1}, False),
        ("a==1 and(b==2)or(c==3)", {"c": 3}, True),
    ],
)
def test_precedence_and_parentheses(
    source: str, answers: dict[str, object], expected: bool
) -> None:
    assert parse_condition(source).evaluate(answers) is expected


# --------------------------------------------------------------------------- in / not in


def test_in_and_not_in() -> None:
    assert holds("x in [1, 2, 3]", x=2) is True
    assert holds("x in [1, 2, 3]", x=2.0) is True
    assert holds("x in [1, 2, 3]", x=4) is False
    assert holds("x not in [1, 2, 3]", x=4) is True
    assert holds("x not in [1, 2, 3]", x=3) is False
    assert holds("x in []", x=1) is False
    assert holds("x not in []", x=1) is True
    assert holds("x in ['a', \"b\", -1.5, true]", x=-1.5) is True
    assert holds("x in ['a', \"b\", -1.5, true]", x=True) is True
    assert holds("x in ['a', \"b\", -1.5, true]", x="b") is True
    # same equality rule as ==: no bool/int or str/int confusion
    assert holds("x in [1]", x=True) is False
    assert holds("x in [true]", x=1) is False
    assert holds("x in ['1']", x=1) is False
    assert holds("x not in ['1']", x=1) is True
    # absent: both forms are False, negation is True
    assert holds("x in [1]") is False
    assert holds("x not in [1]") is False
    assert holds("not x in [1]") is True
    assert holds("not (x not in [1])") is True


# --------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'price'", "price"),
        ('"price"', "price"),
        ("''", ""),
        ('"it\'s"', "it's"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'say \\\"hi\\\"'", 'say "hi"'),
        ("'back\\\\slash'", "back\\slash"),
        ("'a and b or not c'", "a and b or not c"),
        ("'(['", "(["),
        ("'hyvä 🙂'", "hyvä 🙂"),
        ("'two\nlines'", "two\nlines"),
    ],
)
def test_string_quoting_and_escapes(source: str, value: str) -> None:
    assert parse_condition(f"x == {source}").evaluate({"x": value}) is True
    assert parse_condition(f"x == {source}").evaluate({"x": value + "!"}) is False
    assert parse_condition(f"x in [{source}]").evaluate({"x": value}) is True


def test_string_ordering_is_lexicographic() -> None:
    assert holds("x < 'b'", x="a") is True
    assert holds("x >= 'b'", x="a") is False
    assert holds("'a' < 'b'") is True


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("x == 'abc", 5, "unterminated string; expected a closing quote (')"),
        ('x == "abc', 5, 'unterminated string; expected a closing quote (")'),
        ("x == 'abc\\'", 5, "unterminated string"),
        ("x == 'abc\\", 5, "unterminated string"),
        ("x == 'a\\nb'", 7, "unknown escape '\\\\n' in string; expected"),
    ],
)
def test_bad_strings(source: str, position: int, fragment: str) -> None:
    error = syntax_error(source)
    assert error.position == position
    assert fragment in str(error)


# --------------------------------------------------------------------------- semantics


def test_bare_name_means_answered() -> None:
    assert holds("reason", reason="slow") is True
    assert holds("reason", reason="") is True  # answered with empty text
    assert holds("reason", reason=0) is True
    assert holds("reason", reason=False) is True
    assert holds("reason") is False
    assert holds("reason", reason=None) is False  # None is treated as skipped
    assert holds("not reason") is True
    assert holds("not reason", reason="x") is False
    assert holds("reason and nps > 5", reason="x", nps=6) is True
    assert holds("(reason)", reason="x") is True


def test_missing_answers() -> None:
    for source in (
        "nps <= 6",
        "nps > 6",
        "nps == 6",
        "nps != 6",
        "nps in [6]",
        "nps not in [6]",
        "nps == other",
        "other != nps",
        "nps == nps",
    ):
        assert holds(source) is False, source
        assert holds(f"not ({source})") is True, source
        assert holds(source, other=6) is False, source
    assert holds("nps == other", nps=6) is False
    assert holds("nps == other", nps=6, other=6) is True
    assert holds("nps != 6 or nps == 6") is False  # absent satisfies neither


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("x == 5", {"x": "5"}, False),
        ("x != 5", {"x": "5"}, True),
        ("x < 5", {"x": "1"}, False),
        ("x >= 5", {"x": "9"}, False),
        ("x > 'a'", {"x": 3}, False),
        ("x <= 'a'", {"x": 3}, False),
        ("x == 1", {"x": True}, False),
        ("x != 1", {"x": True}, True),
        ("x == 0", {"x": False}, False),
        ("x == true", {"x": 1}, False),
        ("x != true", {"x": 1}, True),
        ("x > 0", {"x": True}, False),
        ("x < true", {"x": False}, False),  # no ordering between bools
        ("x == 'true'", {"x": True}, False),
        ("x == 3", {"x": 3.0}, True),
        ("x < 3.5", {"x": 3}, True),
        ("x == 0.1", {"x": 0.1}, True),
        ("x >= -2", {"x": -2.0}, True),
        ("x == y", {"x": 1, "y": "1"}, False),
        ("x != y", {"x": 1, "y": "1"}, True),
        ("x > y", {"x": 10**30, "y": 1e30 - 1}, False),
        ("x == 5", {"x": [5]}, False),  # unsupported answer type
        ("x != 5", {"x": [5]}, True),
        ("x", {"x": [5]}, True),
        ("x == 5", {"x": math.nan}, False),
        ("x != 5", {"x": math.nan}, True),
        ("x < 5", {"x": math.inf}, False),
    ],
)
def test_type_mismatches(source: str, answers: dict[str, object], expected: bool) -> None:
    assert parse_condition(source).evaluate(answers) is expected


def test_evaluate_never_raises_on_hostile_inputs() -> None:
    class Angry(int):
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no")

        def __lt__(self, other: object) -> bool:
            raise RuntimeError("no")

        __hash__ = int.__hash__

    class BrokenMapping(Mapping[str, object]):
        def __getitem__(self, key: str) -> object:
            raise RuntimeError("boom")

        def __contains__(self, key: object) -> bool:
            raise RuntimeError("boom")

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("boom")

        def __len__(self) -> int:
            return 1

    condition = parse_condition("x == 5 or x < 3 or x in [1] or x")
    assert condition.evaluate({"x": Angry(5)}) is True
    assert condition.evaluate({"x": Angry(7)}) is True  # answered
    assert parse_condition("x == 7").evaluate({"x": Angry(7)}) is True
    assert condition.evaluate(BrokenMapping()) is False
    assert parse_condition("not x").evaluate(BrokenMapping()) is True
    assert parse_condition("x == 1").evaluate({"x": object()}) is False


def test_numbers() -> None:
    assert holds("x == -3", x=-3) is True
    assert holds("x > -3.25", x=-3.2) is True
    assert holds("x == 007", x=7) is True
    assert holds("x==1", x=1) is True
    assert holds("x<=-1", x=-1) is True
    assert holds("-1 < 0") is True
    assert holds("x == 1.50", x=1.5) is True


# --------------------------------------------------------------------------- names()


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("nps <= 6", {"nps"}),
        ("nps >= 9 and reason != 'price'", {"nps", "reason"}),
        ("channel in ['telegram', 'slack'] or not (csat > 3)", {"channel", "csat"}),
        ("would_return == true", {"would_return"}),
        ("true", set()),
        ("'nps' == 'nps'", set()),
        ("a == b or (c and not (d_2 > a))", {"a", "b", "c", "d_2"}),
        ("_x", {"_x"}),
    ],
)
def test_names(source: str, names: set[str]) -> None:
    result = parse_condition(source).names()
    assert isinstance(result, frozenset)
    assert result == names


def test_condition_value_semantics() -> None:
    condition = parse_condition("nps <= 6")
    assert condition.source == "nps <= 6"
    assert condition == Condition("nps <= 6")
    assert hash(condition) == hash(Condition("nps <= 6"))
    assert condition != parse_condition("nps<=6")
    assert "nps <= 6" in repr(condition)
    assert pickle.loads(pickle.dumps(condition)).evaluate({"nps": 1}) is True
    with pytest.raises(ConditionError):
        Condition("nps <=")
    with pytest.raises(TypeError):
        parse_condition(5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- syntax errors


def test_error_message_example() -> None:
    error = syntax_error("nps <= ")
    assert str(error) == "expected a value after '<=' at position 6 in 'nps <= '"
    assert error.position == 6
    assert error.expression == "nps <= "
    assert error.reason == "expected a value after '<='"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        # empty
        ("", 0, "empty condition; expected a comparison"),
        ("   \t ", 0, "empty condition"),
        # missing operands
        ("nps <=", 6, "expected a value after '<='"),
        ("nps == and x", 7, "expected a value after '==', got 'and'"),
        ("nps > )", 6, "expected a value after '>', got ')'"),
        ("and x", 0, "expected a question id, value or '(', got 'and'"),
        ("x and", 5, "expected a question id, value or '('"),
        ("x or ", 4, "expected a question id, value or '('"),
        ("not", 3, "expected a question id, value or '('"),
        ("x == 1 and or y", 11, "expected a question id, value or '(', got 'or'"),
        ("== 1", 0, "expected a question id, value or '(', got '=='"),
        ("()", 1, "expected a question id, value or '(', got ')'"),
        ("x in", 4, "expected '[' after 'in'"),
        ("x in (1, 2)", 5, "expected '[' after 'in', got '('"),
        ("x not 5", 6, "expected 'in' after 'not', got number '5'"),
        ("x not", 5, "expected 'in' after 'not'"),
        # trailing tokens
        ("nps 6", 4, "expected 'and', 'or' or end of condition, got number '6'"),
        ("nps <= 6 7", 9, "expected 'and', 'or' or end of condition, got number '7'"),
        ("a b", 2, "got question id 'b'"),
        ("x == 1 'y'", 7, "got string"),
        ("x == 1 not", 7, "expected 'and', 'or' or end of condition, got 'not'"),
        ("1 < x < 5", 6, "comparisons cannot be chained"),
        ("x == 1)", 6, "unmatched ')'"),
        ("x == 1]", 6, "expected 'and', 'or' or end of condition, got ']'"),
        ("a-1", 1, "got number '-1'"),
        # unclosed parenthesis
        ("(x == 1", 7, "expected ')' to close the '(' from position 0"),
        ("((x == 1)", 9, "expected ')' to close the '(' from position 0"),
        ("x and (y or (z)", 15, "expected ')' to close the '(' from position 6"),
        ("(x == 1 y)", 8, "expected ')' to close the '(' from position 0, got question id 'y'"),
        # unknown operators
        ("nps => 5", 4, "unknown operator '=>'; expected one of <, <=, >, >=, ==, !="),
        ("nps =< 5", 4, "did you mean '<='?"),
        ("nps = 5", 4, "unknown operator '='; expected one of <, <=, >, >=, ==, !="),
        ("nps === 5", 6, "unknown operator '='"),
        ("nps <> 5", 4, "did you mean '!='?"),
        ("!x", 0, "unknown operator '!'; expected '!=' to compare or the keyword 'not'"),
        ("a && b", 2, "unknown operator '&&'; expected the keyword 'and'"),
        ("a || b", 2, "unknown operator '||'; expected the keyword 'or'"),
        ("a | b", 2, "unknown operator '|'"),
        ("x ~ 1", 2, "unexpected character '~'"),
        ("x == 1;", 6, "unexpected character ';'"),
        ("nps\x00", 3, "unexpected character '\\x00'"),
        ("päivä == 1", 1, "unexpected character 'ä'"),
        # numbers
        ("x == 1.", 7, "expected a digit after the decimal point"),
        ("x == .5", 5, "unexpected character '.'"),
        ("x == -", 5, "expected a digit after '-'"),
        ("x == - 5", 5, "expected a digit after '-'"),
        ("x == 5abc", 5, "malformed number '5abc'"),
        ("x == 1.2.3", 5, "malformed number '1.2.3'"),
        ("x == 1e5", 5, "malformed number '1e5'"),
        # lists
        ("x in [", 6, "expected a number, string, true or false in the list from position 5"),
        ("x in [1", 7, "expected ',' or ']' to close the list from position 5"),
        ("x in [1,]", 8, "expected a number, string, true or false in the list, got ']'"),
        ("x in [1 2]", 8, "expected ',' or ']' to close the list from position 5, got number"),
        ("x in [y]", 6, "got question id 'y'"),
        ("x in [[1]]", 6, "got '['"),
        ("x in [(1)]", 6, "got '('"),
        # a value on its own
        ("5", 0, "expected a comparison after number '5'; a number on its own is not"),
        ("'yes'", 0, "a string on its own is not a condition"),
        ("x and 5", 6, "a number on its own is not a condition"),
        ("not 'a'", 4, "a string on its own is not a condition"),
        ("(5) or x", 1, "a number on its own is not a condition"),
        # not a place for Python
        ("__import__('os').system('true')", 10, "expected 'and', 'or' or end of condition"),
        ("x.y == 1", 1, "unexpected character '.'"),
        ("f(x)", 1, "expected 'and', 'or' or end of condition, got '('"),
        ("x if y else z", 2, "got question id 'if'"),
    ],
)
def test_syntax_errors(source: str, position: int, fragment: str) -> None:
    error = syntax_error(source)
    assert fragment in str(error), str(error)
    assert error.position == position, str(error)
    assert error.expression == source
    assert str(error).endswith(f" at position {position} in {source!r}")


def test_too_long() -> None:
    source = "x == 1 or " * 60 + "x == 1"
    assert len(source) > MAX_LENGTH
    error = syntax_error(source)
    assert error.position == MAX_LENGTH
    assert f"expected at most {MAX_LENGTH}" in str(error)
    assert len(str(error)) < 300  # the expression is abbreviated in the message
    ok = "x" * MAX_LENGTH
    assert parse_condition(ok).names() == {ok}


def test_error_pickles() -> None:
    error = syntax_error("nps <= ")
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone, ConditionError)
    assert str(clone) == str(error)
    assert (clone.expression, clone.position, clone.reason) == (
        error.expression,
        error.position,
        error.reason,
    )


# --------------------------------------------------------------------------- nesting limit


def test_nesting_up_to_the_limit_is_fine() -> None:
    source = "(" * MAX_DEPTH + "x == 1" + ")" * MAX_DEPTH
    assert parse_condition(source).evaluate({"x": 1}) is True
    mixed = "not (" * MAX_DEPTH + "x" + ")" * MAX_DEPTH
    assert parse_condition(mixed).evaluate({"x": 1}) is True  # 32 negations


def test_long_flat_chains_are_fine() -> None:
    nots = "not " * 120 + "x"
    assert parse_condition(nots).evaluate({"x": 1}) is True
    assert parse_condition("not " + nots).evaluate({"x": 1}) is False
    ors = " or ".join(f"x == {i}" for i in range(45))
    assert len(ors) <= MAX_LENGTH
    assert parse_condition(ors).evaluate({"x": 44}) is True


@given(depth=st.integers(min_value=MAX_DEPTH + 1, max_value=(MAX_LENGTH - 1) // 2))
def test_deep_nesting_raises_condition_error(depth: int) -> None:
    source = "(" * depth + "a" + ")" * depth
    error = syntax_error(source)
    assert not isinstance(error, RecursionError)
    assert error.position == MAX_DEPTH
    assert f"nested deeper than {MAX_DEPTH}" in str(error)


@given(depth=st.integers(min_value=MAX_DEPTH + 1, max_value=2000))
def test_deep_nesting_of_any_length_raises_condition_error(depth: int) -> None:
    for source in ("(" * depth + "a" + ")" * depth, "(" * depth, "x == " + "(" * depth):
        with pytest.raises(ConditionError):
            parse_condition(source)


# --------------------------------------------------------------------------- fuzzing

_FRAGMENTS = [
    "nps", "x", "True", "and", "or", "not", "in", "true", "false", "(", ")", "[", "]", ",",
    "<", "<=", ">", ">=", "==", "!=", "=", "!", "=>", "-", ".", "0", "6", "-1.5", "'a'",
    '"b"', "'", '"', "\\", " ", "\t", "\n", "&", "|", "é", "\x00",
]  # fmt: skip


def _check_parse_only_raises_condition_error(source: str) -> None:
    try:
        condition = parse_condition(source)
    except ConditionError as error:
        assert error.expression == source
        assert 0 <= error.position <= len(source)
        assert str(error)
        return
    for answers in ({}, {name: 1 for name in condition.names()}, {"nps": "x", "x": True}):
        assert condition.evaluate(answers) in (True, False)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=MAX_LENGTH + 20))
def test_random_text_only_raises_condition_error(source: str) -> None:
    _check_parse_only_raises_condition_error(source)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40), st.sampled_from(["", " "]))
def test_random_token_soup_only_raises_condition_error(parts: list[str], sep: str) -> None:
    _check_parse_only_raises_condition_error(sep.join(parts))


# --------------------------------------------------------------------------- reference model
#
# Hypothesis builds random well-formed expressions as trees. Each generated node renders
# itself to source text and carries an independent reference evaluator, so evaluate() can
# be checked against a model of the documented semantics.

_MISSING = object()
_NAMES = ["nps", "csat", "reason", "True", "AND", "q_1"]
_STRING_ALPHABET = "ab '\"\\é"
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPS = ["==", "!=", *_ORDERINGS]

Answers = Mapping[str, object]

# precedence of a rendered node: what it may stand in for without parentheses
OR, AND, NOT, ATOM = 1, 2, 3, 4


def _ref_lookup(answers: Answers, name: str) -> object:
    value = answers.get(name, _MISSING)
    return _MISSING if value is None else value


def _ref_kind(value: object) -> str:
    if type(value) is bool:
        return "bool"
    if type(value) in (int, float):
        return "number"
    if type(value) is str:
        return "string"
    return "other"


def _ref_equal(left: object, right: object) -> bool:
    kind = _ref_kind(left)
    return kind != "other" and kind == _ref_kind(right) and left == right


def _ref_compare(op: str, left: object, right: object) -> bool:
    if left is _MISSING or right is _MISSING:
        return False
    if op == "==":
        return _ref_equal(left, right)
    if op == "!=":
        return not _ref_equal(left, right)
    kind = _ref_kind(left)
    return kind in ("number", "string") and kind == _ref_kind(right) and _ORDERINGS[op](left, right)


@dataclass(frozen=True)
class Value:
    """A comparison operand: renders as text and evaluates to an answer or literal."""

    text: str
    value: Callable[[Answers], object]
    names: frozenset[str]


@dataclass(frozen=True)
class Cond:
    """A condition node: its text, precedence, truth value and value as an operand."""

    text: str
    prec: int
    truth: Callable[[Answers], bool]
    value: Callable[[Answers], object]
    names: frozenset[str]

    def at(self, prec: int) -> str:
        return self.text if self.prec >= prec else f"({self.text})"


def _render_string(text: str, quote: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return quote + escaped + quote


def _literal(text: str, value: object) -> Value:
    return Value(text, lambda _answers: value, frozenset())


_ints = st.integers(-3, 12).map(lambda i: _literal(str(i), i))
_decimals = st.from_regex(r"-?[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True).map(
    lambda text: _literal(text, float(text))
)
_strings = st.builds(
    lambda text, quote: _literal(_render_string(text, quote), text),
    st.text(_STRING_ALPHABET, max_size=3),
    st.sampled_from(["'", '"']),
)
_bools = st.booleans().map(lambda b: _literal("true" if b else "false", b))
literals = st.one_of(_ints, _decimals, _strings, _bools)
names = st.sampled_from(_NAMES).map(
    lambda name: Value(name, lambda answers: _ref_lookup(answers, name), frozenset({name}))
)
operands = st.one_of(names, literals)
spaces = st.sampled_from([" ", "", "  "])


def _cond(text: str, prec: int, truth: Callable[[Answers], bool], names: frozenset[str]) -> Cond:
    return Cond(text, prec, truth, truth, names)


@st.composite
def comparisons(draw: st.DrawFn) -> Cond:
    left, right = draw(operands), draw(operands)
    op = draw(st.sampled_from(_OPS))
    text = f"{left.text}{draw(spaces)}{op}{draw(spaces)}{right.text}"
    return _cond(
        text,
        ATOM,
        lambda a: _ref_compare(op, left.value(a), right.value(a)),
        left.names | right.names,
    )


@st.composite
def memberships(draw: st.DrawFn) -> Cond:
    operand = draw(operands)
    options = draw(st.lists(literals, max_size=4))
    negated = draw(st.booleans())
    keyword = "not in" if negated else "in"
    items = ",".join(f"{draw(spaces)}{option.text}" for option in options)
    text = f"{operand.text} {keyword} [{items}]"

    def truth(answers: Answers) -> bool:
        value = operand.value(answers)
        if value is _MISSING:
            return False
        found = any(_ref_equal(value, option.value(answers)) for option in options)
        return found != negated

    return _cond(text, ATOM, truth, operand.names)


def _bare_name(value: Value) -> Cond:
    return Cond(
        value.text, ATOM, lambda a: value.value(a) is not _MISSING, value.value, value.names
    )


def _bare_bool(value: Value) -> Cond:
    return Cond(value.text, ATOM, lambda a: bool(value.value(a)), value.value, value.names)


leaves = st.one_of(comparisons(), memberships(), names.map(_bare_name), _bools.map(_bare_bool))


def _negate(child: Cond) -> Cond:
    return _cond(f"not {child.at(NOT)}", NOT, lambda a: not child.truth(a), child.names)


def _conjoin(children: list[Cond]) -> Cond:
    text = " and ".join(child.at(NOT) for child in children)
    items = tuple(children)
    names = frozenset().union(*(child.names for child in items))
    return _cond(text, AND, lambda a: all(child.truth(a) for child in items), names)


def _disjoin(children: list[Cond]) -> Cond:
    text = " or ".join(child.at(AND) for child in children)
    items = tuple(children)
    names = frozenset().union(*(child.names for child in items))
    return _cond(text, OR, lambda a: any(child.truth(a) for child in items), names)


def _parenthesise(child: Cond) -> Cond:
    # parentheses only group: the value (for a bare name, its answer) is unchanged
    return Cond(f"({child.text})", ATOM, child.truth, child.value, child.names)


@st.composite
def nested_comparisons(draw: st.DrawFn, children: st.SearchStrategy[Cond]) -> Cond:
    """A parenthesised condition used as an operand: '(a > 1) == true'."""
    left = draw(children)
    right = draw(st.one_of(children.map(lambda c: Value(f"({c.text})", c.value, c.names)),
                           operands))  # fmt: skip
    op = draw(st.sampled_from(_OPS))
    text = f"({left.text}) {op} {right.text}"
    return _cond(
        text,
        ATOM,
        lambda a: _ref_compare(op, left.value(a), right.value(a)),
        left.names | right.names,
    )


def _extend(children: st.SearchStrategy[Cond]) -> st.SearchStrategy[Cond]:
    return st.one_of(
        children.map(_negate),
        st.lists(children, min_size=2, max_size=4).map(_conjoin),
        st.lists(children, min_size=2, max_size=4).map(_disjoin),
        children.map(_parenthesise),
        nested_comparisons(children),
    )


conditions = st.recursive(leaves, _extend, max_leaves=12)

answer_values = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([0.0, 1.5, -2.0, 3.0, 0.25, 10.5, math.nan, math.inf]),
    st.from_regex(r"-?[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True).map(float),
    st.text(_STRING_ALPHABET, max_size=3),
    st.booleans(),
    st.none(),
)
answer_dicts = st.dictionaries(st.sampled_from(_NAMES), answer_values)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.lists(answer_dicts, min_size=1, max_size=4))
def test_evaluate_matches_reference(tree: Cond, answer_sets: list[dict[str, object]]) -> None:
    assume(len(tree.text) <= MAX_LENGTH)
    condition = parse_condition(tree.text)
    assert condition.names() == tree.names
    for answers in answer_sets:
        assert condition.evaluate(answers) is tree.truth(answers), (tree.text, answers)


@given(literals, st.sampled_from(_OPS), literals)
def test_literal_comparisons_match_reference(left: Value, op: str, right: Value) -> None:
    source = f"{left.text} {op} {right.text}"
    assert parse_condition(source).evaluate({}) is _ref_compare(op, left.value({}), right.value({}))
