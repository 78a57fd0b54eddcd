"""A survey definition and its consistency checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from conversations.conditions import Condition
from conversations.localization import LocalizedText, localized_fields, resolve
from conversations.questions import Question, QuestionKind
from conversations.texts import text as localized_text


@dataclass(frozen=True)
class ThankYou:
    text: LocalizedText
    when: Condition | None = None


@dataclass(frozen=True)
class Survey:
    id: str
    title: LocalizedText
    questions: tuple[Question, ...]
    default_language: str = "en"
    intro: LocalizedText | None = None
    thanks: tuple[ThankYou, ...] = ()
    anonymous: bool = False
    customer_title: LocalizedText | None = None
    """What customers see the survey called (`title` is the team's name for it)."""

    def title_for_customer(self, language: str, organisation: str | None) -> str:
        """The customer-facing title: the survey's own, else "Feedback for <organisation>";
        never an internal id or a metric's name."""
        if self.customer_title:
            return resolve(self.customer_title, language, self.default_language)
        if organisation:
            return localized_text("survey_title_for", language, organisation=organisation)
        return localized_text("survey_title_plain", language)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    @property
    def languages(self) -> tuple[str, ...]:
        found: list[str] = [self.default_language]
        for text in self._texts():
            for language in text:
                if language not in found:
                    found.append(language)
        return tuple(found)

    @property
    def headline(self) -> Question | None:
        """The question whose score the survey is known by (the first NPS, CSAT or CES)."""
        for kind in (QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES):
            for question in self.questions:
                if question.kind is kind:
                    return question
        return None

    def required_properties(self) -> set[str]:
        """Touchpoint properties that the survey's texts use as `{placeholders}`."""
        fields: set[str] = set()
        for text in self._texts():
            fields |= localized_fields(text)
        return fields

    def problems(self) -> list[tuple[str, str]]:
        """Inconsistencies as (key path below the survey, message); empty when the survey is sound."""
        found: list[tuple[str, str]] = []
        if not self.questions:
            found.append(("questions", "a survey needs at least one question"))
        seen: set[str] = set()
        for index, question in enumerate(self.questions):
            path = f"questions[{index}]"
            if question.id in seen:
                found.append((f"{path}.id", f"question id {question.id!r} is used twice"))
            if question.when is not None:
                for name in sorted(question.when.names() - seen):
                    later = any(q.id == name for q in self.questions)
                    reason = "is asked later" if later else "is not a question of this survey"
                    found.append((f"{path}.when", f"condition refers to {name!r}, which {reason}"))
            seen.add(question.id)
        known = {q.id for q in self.questions}
        for index, thanks in enumerate(self.thanks):
            if thanks.when is not None:
                for name in sorted(thanks.when.names() - known):
                    found.append(
                        (f"thanks[{index}].when", f"condition refers to unknown question {name!r}")
                    )
        return found

    def _texts(self) -> Iterator[LocalizedText]:
        yield self.title
        if self.customer_title:
            yield self.customer_title
        if self.intro:
            yield self.intro
        for thanks in self.thanks:
            yield thanks.text
        for question in self.questions:
            yield question.text
            if question.low_label:
                yield question.low_label
            if question.high_label:
                yield question.high_label
            for choice in question.choices:
                yield choice.label
