"""Turn a button payload or a typed reply into an answer value, or say why it is not one."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from conversations.localization import resolve
from conversations.questions import AnswerValue, Question, QuestionKind
from conversations.texts import text

SKIP_WORDS = frozenset({"skip", "/skip", "ohita", "/ohita", "-", "pass", "ohi"})
YES_WORDS = frozenset(
    {"yes", "y", "yeah", "yep", "sure", "kyllä", "kylla", "joo", "k", "juu", "true"}
)
NO_WORDS = frozenset({"no", "n", "nope", "ei", "e", "false"})

_SCALE_PATTERN = re.compile(r"^([+-]?\d{1,3})(?:[.,]0+)?\s*(?:/\s*(\d{1,3}))?\s*[.!]?$")
_KEYCAP = "\ufe0f\u20e3"


@dataclass(frozen=True)
class Accepted:
    value: AnswerValue | None
    """None when the question was skipped."""

    @property
    def skipped(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Rejected:
    reprompt: str
    """A short message showing what is valid, in the conversation's language."""


ParseResult = Accepted | Rejected


def clean(raw: str) -> str:
    """Normalize what a customer typed: NFKC (full-width digits), no control characters."""
    normalized = unicodedata.normalize("NFKC", raw.replace(_KEYCAP, ""))
    kept = "".join(ch for ch in normalized if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return kept.strip()


def parse_answer(question: Question, raw: str, language: str, default_language: str) -> ParseResult:
    """Parse one reply to `question`. Never raises for any input string."""
    cleaned = clean(raw)
    if question.optional and cleaned.lower() in SKIP_WORDS:
        return Accepted(None)
    if question.is_scale:
        return _parse_scale(question, cleaned, language)
    if question.kind is QuestionKind.YES_NO:
        word = cleaned.lower().rstrip(".!")
        if word in YES_WORDS:
            return Accepted(True)
        if word in NO_WORDS:
            return Accepted(False)
        return Rejected(text("reprompt_yes_no", language))
    if question.kind is QuestionKind.CHOICE:
        return _parse_choice(question, cleaned, language, default_language)
    return _parse_text(question, cleaned, language)


def _parse_scale(question: Question, cleaned: str, language: str) -> ParseResult:
    low, high = question.bounds
    match = _SCALE_PATTERN.match(cleaned)
    if match:
        value = int(match.group(1))
        out_of = match.group(2)
        if low <= value <= high and (out_of is None or int(out_of) == high):
            return Accepted(value)
    key = "reprompt_scale_optional" if question.optional else "reprompt_scale"
    return Rejected(text(key, language, low=low, high=high))


def _parse_choice(
    question: Question, cleaned: str, language: str, default_language: str
) -> ParseResult:
    wanted = cleaned.casefold()
    for choice in question.choices:
        labels = {choice.value.casefold(), *(label.casefold() for label in choice.label.values())}
        if wanted in labels:
            return Accepted(choice.value)
    if wanted.isdecimal() and 1 <= int(wanted) <= len(question.choices):
        return Accepted(question.choices[int(wanted) - 1].value)
    options = ", ".join(resolve(c.label, language, default_language) for c in question.choices)
    return Rejected(text("reprompt_choice", language, options=options))


def _parse_text(question: Question, cleaned: str, language: str) -> ParseResult:
    if not cleaned:
        return Rejected(text("reprompt_text_empty", language))
    if len(cleaned) > question.max_length:
        return Rejected(text("reprompt_text_too_long", language, limit=question.max_length))
    return Accepted(cleaned)


def encode_value(value: AnswerValue | None) -> str:
    """The payload string a button carries for a value; parse_answer reads it back."""
    if value is None:
        return "skip"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
