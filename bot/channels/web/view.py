"""What a web survey page shows, built from a conversation: the chat so far and the question now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conversations.engine import Conversation, Option, Prompt
from conversations.localization import LocalizedText, normalize_language, render, resolve
from conversations.parsing import encode_value
from conversations.questions import SCALE_KINDS, Question, QuestionKind
from conversations.texts import text


@dataclass(frozen=True)
class Exchange:
    """One question already answered, as a pair of chat bubbles."""

    question: str
    answer: str
    skipped: bool


@dataclass(frozen=True)
class QuestionView:
    index: int
    """Position in the survey definition: what the form posts back."""
    kind: QuestionKind
    text: str
    rows: tuple[tuple[Option, ...], ...]
    skip: Option | None
    low_label: str | None
    high_label: str | None
    max_length: int

    @property
    def is_text(self) -> bool:
        return self.kind is QuestionKind.TEXT

    @property
    def is_scale(self) -> bool:
        return self.kind in SCALE_KINDS


@dataclass(frozen=True)
class SurveyView:
    language: str
    title: str
    intro: str | None
    history: tuple[Exchange, ...]
    question: QuestionView | None
    thanks: str | None
    error: str | None = None


def accepted_languages(header: str | None) -> list[str]:
    """Base language codes of an Accept-Language header, most preferred first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = normalize_language(tag)
        if code and code != "*" and quality > 0:
            ranked.append((-quality, position, code))
    seen: list[str] = []
    for _, _, code in sorted(ranked):
        if code not in seen:
            seen.append(code)
    return seen


def survey_view(
    conversation: Conversation, error: str | None = None, organisation: str | None = None
) -> SurveyView:
    survey = conversation.survey
    history = tuple(
        _exchange(conversation, question)
        for question in survey.questions
        if question.id in conversation.answers or question.id in conversation.skipped
    )
    prompt = conversation.prompt()
    question_view = None
    thanks = None
    if isinstance(prompt, Prompt):
        question_view = _question_view(conversation, prompt)
    else:
        thanks = prompt.text
    return SurveyView(
        language=conversation.language,
        title=survey.title_for_customer(conversation.language, organisation),
        intro=conversation.intro,
        history=history,
        question=question_view,
        thanks=thanks,
        error=error,
    )


def _localized(conversation: Conversation, localized: LocalizedText) -> str:
    chosen = resolve(localized, conversation.language, conversation.survey.default_language)
    return render(chosen, conversation.properties)


def _exchange(conversation: Conversation, question: Question) -> Exchange:
    body = _localized(conversation, question.text)
    if question.id in conversation.skipped:
        return Exchange(body, text("skipped", conversation.language), skipped=True)
    value = conversation.answers[question.id]
    labels: Mapping[str, str] = {o.value: o.label for o in conversation.options(question)}
    payload = encode_value(value)
    return Exchange(body, labels.get(payload, str(value)), skipped=False)


def _question_view(conversation: Conversation, prompt: Prompt) -> QuestionView:
    questions = conversation.survey.questions
    index = next(i for i, q in enumerate(questions) if q.id == prompt.question_id)
    question = questions[index]
    skip = next((o for o in prompt.options if o.value == "skip"), None)
    rows = tuple(
        row for row in (tuple(o for o in r if o.value != "skip") for r in prompt.rows) if row
    )
    return QuestionView(
        index=index,
        kind=question.kind,
        text=_localized(conversation, question.text),
        rows=rows,
        skip=skip,
        low_label=_localized(conversation, question.low_label) if question.low_label else None,
        high_label=_localized(conversation, question.high_label) if question.high_label else None,
        max_length=question.max_length,
    )
