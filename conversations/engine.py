"""The conversation: a survey, the answers so far and a language, stepping to the next prompt.

A `Conversation` is an immutable value. Channels render its `Prompt`s (buttons, blocks, HTML)
and feed replies back through `Conversation.answer`; storage rebuilds it from saved answers,
so nothing here depends on a process staying alive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from conversations.localization import render, resolve
from conversations.parsing import Accepted, Rejected, encode_value, parse_answer
from conversations.questions import AnswerValue, Question, QuestionKind
from conversations.survey import Survey
from conversations.texts import text

_EMPTY: Mapping[str, AnswerValue] = MappingProxyType({})


@dataclass(frozen=True)
class Option:
    value: str
    """The payload that `Conversation.answer` accepts for this option."""
    label: str


@dataclass(frozen=True)
class Prompt:
    question_id: str
    kind: QuestionKind
    text: str
    options: tuple[Option, ...]
    rows: tuple[tuple[Option, ...], ...]
    """A suggested button layout of `options` (NPS 0–10 in two rows)."""
    optional: bool
    position: int
    """1 for the first question asked, 2 for the second, …"""


@dataclass(frozen=True)
class Done:
    text: str


@dataclass(frozen=True)
class Step:
    """What one reply did."""

    conversation: Conversation
    question: Question | None
    """The question the reply was for; None when the survey was already finished."""
    accepted: bool
    value: AnswerValue | None = None
    reprompt: str | None = None
    stale: bool = False
    """The reply was for a question other than the current one (an old button): nothing changed."""

    @property
    def next(self) -> Prompt | Done:
        return self.conversation.prompt()


@dataclass(frozen=True)
class Conversation:
    survey: Survey
    language: str
    properties: Mapping[str, object] = field(default_factory=dict)
    answers: Mapping[str, AnswerValue] = field(default_factory=lambda: _EMPTY)
    skipped: frozenset[str] = frozenset()

    def _text(self, localized: Mapping[str, str]) -> str:
        return render(
            resolve(localized, self.language, self.survey.default_language), self.properties
        )

    @property
    def intro(self) -> str | None:
        return self._text(self.survey.intro) if self.survey.intro else None

    @property
    def finished(self) -> bool:
        return self.current_question() is None

    def current_question(self) -> Question | None:
        """The first question not yet answered or skipped whose condition holds."""
        for question in self.survey.questions:
            if question.id in self.answers or question.id in self.skipped:
                continue
            if question.when is None or question.when.evaluate(self.answers):
                return question
        return None

    def prompt(self) -> Prompt | Done:
        question = self.current_question()
        if question is None:
            return Done(self.thanks())
        options = self.options(question)
        return Prompt(
            question_id=question.id,
            kind=question.kind,
            text=self.question_text(question),
            options=options,
            rows=_layout(question, options),
            optional=question.optional,
            position=len(self.answers) + len(self.skipped) + 1,
        )

    def question_text(self, question: Question) -> str:
        body = self._text(question.text)
        if question.is_scale and question.low_label and question.high_label:
            low, high = question.bounds
            ends = text(
                "scale_ends",
                self.language,
                low=low,
                high=high,
                low_label=self._text(question.low_label),
                high_label=self._text(question.high_label),
            )
            body = f"{body}\n({ends})"
        return body

    def options(self, question: Question) -> tuple[Option, ...]:
        options: list[Option] = []
        if question.is_scale:
            low, high = question.bounds
            options = [Option(str(v), str(v)) for v in range(low, high + 1)]
        elif question.kind is QuestionKind.YES_NO:
            options = [
                Option("yes", text("yes", self.language)),
                Option("no", text("no", self.language)),
            ]
        elif question.kind is QuestionKind.CHOICE:
            options = [Option(c.value, self._text(c.label)) for c in question.choices]
        if question.optional:
            options.append(Option("skip", text("skip", self.language)))
        return tuple(options)

    def describe(self, question: Question, value: AnswerValue | None) -> str:
        """How a given answer reads back to the customer ("Your answer: 9")."""
        if value is None:
            return text("skipped", self.language)
        return text("answered", self.language, answer=self.answer_label(question, value))

    def answer_label(self, question: Question, value: AnswerValue) -> str:
        """An answer as the customer saw it: the tapped option's label, else what they typed."""
        payload = encode_value(value)
        for option in self.options(question):
            if option.value == payload:
                return option.label
        return str(value)

    def thanks(self) -> str:
        for candidate in self.survey.thanks:
            if candidate.when is None or candidate.when.evaluate(self.answers):
                return self._text(candidate.text)
        return text("default_thanks", self.language)

    def with_answer(self, question_id: str, value: AnswerValue | None) -> Conversation:
        if value is None:
            return replace(self, skipped=self.skipped | {question_id})
        return replace(self, answers=MappingProxyType({**self.answers, question_id: value}))

    def answer(self, raw: str, question_id: str | None = None) -> Step:
        """Apply one reply. `question_id` names the question a button belonged to, if known."""
        question = self.current_question()
        if question is None:
            return Step(self, None, accepted=False, stale=question_id is not None)
        if question_id is not None and question_id != question.id:
            return Step(self, question, accepted=False, stale=True)
        parsed = parse_answer(question, raw, self.language, self.survey.default_language)
        if isinstance(parsed, Rejected):
            return Step(self, question, accepted=False, reprompt=parsed.reprompt)
        assert isinstance(parsed, Accepted)
        return Step(
            self.with_answer(question.id, parsed.value), question, accepted=True, value=parsed.value
        )


def _layout(question: Question, options: tuple[Option, ...]) -> tuple[tuple[Option, ...], ...]:
    main = [o for o in options if o.value != "skip"]
    skip = [o for o in options if o.value == "skip"]
    rows: list[tuple[Option, ...]]
    if question.kind is QuestionKind.NPS:
        rows = [tuple(main[:6]), tuple(main[6:])]
    elif question.is_scale and len(main) > 7:
        half = (len(main) + 1) // 2
        rows = [tuple(main[:half]), tuple(main[half:])]
    elif question.kind is QuestionKind.CHOICE and len(main) > 3:
        rows = [(option,) for option in main]
    else:
        rows = [tuple(main)] if main else []
    if skip:
        rows.append(tuple(skip))
    return tuple(rows)
