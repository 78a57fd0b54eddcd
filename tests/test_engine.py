"""The survey engine: question types, branching, typed answers, thanks, localisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.builtin import builtin_surveys
from conversations.definitions import DefinitionError, survey_from_mapping
from conversations.engine import Conversation, Done, Prompt
from conversations.parsing import Accepted, Rejected, parse_answer
from conversations.questions import Question, QuestionKind

SURVEYS = builtin_surveys()


def question(kind: QuestionKind, **kwargs: object) -> Question:
    return Question(id="q", kind=kind, text={"en": "Q?"}, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["9", " 9 ", "9/10", "9 / 10", "９", "9.", "9️⃣"])
def test_typed_nps_answers_parse(raw: str) -> None:
    assert parse_answer(question(QuestionKind.NPS), raw, "en", "en") == Accepted(9)


@pytest.mark.parametrize("raw", ["11", "-1", "nine", "", "9/5", "9.5", "1e1"])
def test_invalid_nps_answers_reprompt_with_the_range(raw: str) -> None:
    result = parse_answer(question(QuestionKind.NPS), raw, "en", "en")
    assert result == Rejected("Please answer with a number from 0 to 10.")


def test_reprompt_is_in_the_conversation_language() -> None:
    result = parse_answer(question(QuestionKind.CES), "8", "fi", "en")
    assert result == Rejected("Vastaa numerolla 1–7.")


@pytest.mark.parametrize(
    ("kind", "kwargs", "good", "value", "bad"),
    [
        (QuestionKind.CSAT, {}, "5", 5, "6"),
        (QuestionKind.CES, {}, "1", 1, "0"),
        (QuestionKind.RATING, {"points": 3}, "3", 3, "4"),
        (QuestionKind.YES_NO, {}, "kyllä", True, "maybe"),
        (QuestionKind.YES_NO, {}, "No", False, "2"),
        (QuestionKind.TEXT, {"max_length": 5}, " hello ", "hello", "toolong"),
    ],
)
def test_every_question_type(
    kind: QuestionKind, kwargs: dict[str, object], good: str, value: object, bad: str
) -> None:
    q = question(kind, **kwargs)
    assert parse_answer(q, good, "en", "en") == Accepted(value)  # type: ignore[arg-type]
    assert isinstance(parse_answer(q, bad, "en", "en"), Rejected)


def test_choice_by_value_label_or_number() -> None:
    survey = survey_from_mapping(
        "s",
        {"questions": [{"id": "c", "type": "choice", "text": "Where?", "choices": [
            {"value": "friend", "label": {"en": "A friend", "fi": "Ystävä"}}, "Search engine"]}]},
    )  # fmt: skip
    q = survey.questions[0]
    assert parse_answer(q, "ystävä", "fi", "en") == Accepted("friend")
    assert parse_answer(q, "2", "en", "en") == Accepted("search_engine")
    assert parse_answer(q, "other", "en", "en") == Rejected(
        "Please choose one of: A friend, Search engine."
    )


def test_skip_only_on_optional_questions() -> None:
    assert parse_answer(question(QuestionKind.TEXT, optional=True), "skip", "en", "en") == Accepted(
        None
    )
    assert parse_answer(question(QuestionKind.TEXT), "skip", "en", "en") == Accepted("skip")
    assert isinstance(parse_answer(question(QuestionKind.NPS), "ohita", "fi", "en"), Rejected)


def test_detractor_branch_and_thanks() -> None:
    conversation = Conversation(SURVEYS["nps"], "en")
    first = conversation.prompt()
    assert isinstance(first, Prompt) and first.question_id == "nps"
    assert [len(row) for row in first.rows] == [6, 5]
    assert "0 = not at all likely, 10 = extremely likely" in first.text
    step = conversation.answer("4")
    assert step.accepted and step.value == 4
    step = step.conversation.answer("Too slow")
    following = step.conversation.prompt()
    assert isinstance(following, Prompt) and following.question_id == "fix"
    done = step.conversation.answer("skip").conversation.prompt()
    assert done == Done("Thank you for being honest. Someone from our team will look into this.")


def test_promoter_skips_the_detractor_question() -> None:
    conversation = (
        Conversation(SURVEYS["nps"], "fi")
        .answer("10")
        .conversation.answer("Hyvä palvelu")
        .conversation
    )
    assert conversation.prompt() == Done("Kiitos palautteestasi!")
    assert conversation.answers == {"nps": 10, "why": "Hyvä palvelu"}


def test_old_button_is_stale_and_changes_nothing() -> None:
    conversation = Conversation(SURVEYS["nps"], "en").answer("9").conversation
    step = conversation.answer("3", question_id="nps")
    assert step.stale and not step.accepted
    assert step.conversation.answers == {"nps": 9}


def test_properties_are_templated_and_languages_fall_back() -> None:
    conversation = Conversation(SURVEYS["event"], "sv", {"event_name": "Kirppis"})
    assert conversation.intro == "Thank you for being part of Kirppis! Three quick questions."
    assert (
        conversation.answer("5")
        .conversation.answer("4")
        .conversation.prompt()
        .text.startswith("Afterwards")
    )  # type: ignore[union-attr]


def test_definition_errors_name_the_key() -> None:
    with pytest.raises(DefinitionError) as caught:
        survey_from_mapping(
            "s",
            {"questions": [{"id": "a", "type": "text", "text": "Why?", "when": "score > 3"},
                           {"id": "b", "type": "stars", "text": "x"}], "colour": "red"},
        )  # fmt: skip
    paths = [path for path, _ in caught.value.problems]
    assert paths == ["colour", "questions[1].type"]
    with pytest.raises(DefinitionError) as caught:
        survey_from_mapping("s", {"questions": [{"id": "a", "type": "text", "text": "Why?", "when": "later > 3"},
                                                {"id": "later", "type": "nps", "text": "x"}]})  # fmt: skip
    assert caught.value.problems == [
        ("questions[0].when", "condition refers to 'later', which is asked later")
    ]


@given(st.text(max_size=60))
def test_parser_never_raises(raw: str) -> None:
    for kind in QuestionKind:
        q = (
            question(kind, choices=())
            if kind is not QuestionKind.CHOICE
            else SURVEYS["nps"].questions[0]
        )
        result = parse_answer(q, raw, "fi", "en")
        assert isinstance(result, Accepted | Rejected)


@given(st.integers(min_value=0, max_value=10))
def test_every_button_payload_is_accepted(value: int) -> None:
    conversation = Conversation(SURVEYS["nps"], "en")
    prompt = conversation.prompt()
    assert isinstance(prompt, Prompt)
    payloads = [option.value for option in prompt.options]
    assert str(value) in payloads
    assert conversation.answer(str(value)).value == value
