"""Whether a survey's messages fit a channel: for `palaute check` and for the trigger.

Every text the survey sends as a message is measured the way the channel counts it: the
greeting, each question (with room for the answer quoted under it once answered, which the
echo shortens to fit), the list of choices repeated after an answer palaute did not
understand, and the thanks. A question's buttons, Skip included, must fit on one message.

Placeholders of properties the config does not fix are measured as written ("{event_name}"); the
trigger measures again with the real values and names the property that makes a text too long.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bot.channels.capacity import MessageCapacity, text_length
from conversations.engine import Conversation
from conversations.localization import LocalizedText, localized_fields, render, resolve
from conversations.questions import AnswerValue, Question, QuestionKind
from conversations.survey import Survey
from conversations.texts import text

ELLIPSIS = "…"


@dataclass(frozen=True)
class Overflow:
    path: str
    """Key path below the survey ("questions[0].text")."""
    message: str
    fields: frozenset[str]
    """The property placeholders the text uses."""


def echo_frame(language: str) -> str:
    """What follows a question once answered, at its shortest (the answer cut to "…")."""
    answered = text("answered", language, answer=ELLIPSIS)
    skipped = text("skipped", language)
    return "\n\n" + max(answered, skipped, key=text_length)


def fitted_echo(
    conversation: Conversation, question: Question, value: AnswerValue | None, limit: int | None
) -> str:
    """A question with the answer quoted under it, the answer cut short with "…" when the
    whole would be longer than `limit` (a 4000-character story under its question)."""
    shown = conversation.question_text(question)
    echo = f"{shown}\n\n{conversation.describe(question, value)}"
    if limit is None or value is None or text_length(echo) <= limit:
        return echo
    frame = text("answered", conversation.language, answer=ELLIPSIS)
    room = max(limit - text_length(f"{shown}\n\n{frame}"), 0)
    answer = conversation.answer_label(question, value)[:room]
    while text_length(answer) > room:
        answer = answer[:-1]
    quoted = text("answered", conversation.language, answer=answer.rstrip() + ELLIPSIS)
    return f"{shown}\n\n{quoted}"


def survey_overflows(
    survey: Survey, capacity: MessageCapacity, properties: Mapping[str, str] | None = None
) -> list[Overflow]:
    """Every text or keyboard of `survey` that one message of the channel cannot carry."""
    values = {name: f"{{{name}}}" for name in survey.required_properties()}
    values.update(properties or {})
    found: dict[str, Overflow] = {}
    for language in survey.languages:
        conversation = Conversation(survey=survey, language=language, properties=values)
        for overflow in _language_overflows(conversation, capacity, values):
            found.setdefault(overflow.path, overflow)
    return list(found.values())


def property_overflows(
    survey: Survey, capacity: MessageCapacity, properties: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(property, message) for each property whose value makes a text of `survey` too long."""
    blamed: dict[str, str] = {}
    for overflow in survey_overflows(survey, capacity, properties):
        used = [name for name in overflow.fields if name in properties]
        if not used:
            continue
        name = max(used, key=lambda n: text_length(properties[n]))
        blamed.setdefault(
            name,
            f"is {text_length(properties[name])} characters, too long for survey "
            f'"{survey.id}": with it {overflow.path} {overflow.message}',
        )
    return list(blamed.items())


def _language_overflows(
    conversation: Conversation, capacity: MessageCapacity, values: Mapping[str, str]
) -> Iterator[Overflow]:
    survey, language = conversation.survey, conversation.language
    limit = capacity.max_text_length
    in_one = f"a {capacity.platform} message holds at most {limit}"

    def measured(
        path: str, shown: str, source: LocalizedText, room: int = limit
    ) -> Overflow | None:
        length = text_length(shown)
        if length > limit:
            return Overflow(
                path,
                f"is {length} characters in {language}; {in_one}",
                frozenset(localized_fields(source)),
            )
        if length > room:
            return Overflow(
                path,
                f"is {length} characters in {language}; with the answer quoted under it once "
                f"answered it must stay within {room} ({in_one})",
                frozenset(localized_fields(source)),
            )
        return None

    if survey.intro and (found := measured("intro", conversation.intro or "", survey.intro)):
        yield found
    room = limit - text_length(echo_frame(language))
    for index, question in enumerate(survey.questions):
        path = f"questions[{index}]"
        shown = conversation.question_text(question)
        if found := measured(f"{path}.text", shown, question.text, room):
            yield found
        options = conversation.options(question)
        key = f"{path}.choices" if question.kind is QuestionKind.CHOICE else f"{path}.points"
        if capacity.max_buttons is not None and len(options) > capacity.max_buttons:
            skip = " (the choices and Skip)" if question.optional else ""
            yield Overflow(
                key,
                f"needs {len(options)} buttons{skip}; a {capacity.platform} message holds at "
                f"most {capacity.max_buttons} buttons",
                frozenset(),
            )
        if question.kind is QuestionKind.CHOICE:
            labels = ", ".join(
                resolve(c.label, language, survey.default_language) for c in question.choices
            )
            reminder = text("reprompt_choice", language, options=labels)
            if text_length(reminder) > limit:
                yield Overflow(
                    key,
                    f"listed after an answer palaute does not understand, the choices make a "
                    f"{text_length(reminder)}-character message in {language}; {in_one}",
                    frozenset(),
                )
    for index, thanks in enumerate(survey.thanks):
        shown = render(resolve(thanks.text, language, survey.default_language), values)
        if found := measured(f"thanks[{index}].text", shown, thanks.text):
            yield found
