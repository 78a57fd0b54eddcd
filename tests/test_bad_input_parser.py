"""Fuzzing what customers type and what buttons carry: every input gets an answer or a reprompt.

Found by these tests: a typed choice answer in digits that str.isdigit() accepts but int()
refuses ("᧚", "𐩀") crashed the parser; "telegram:--5" and "telegram:²" passed as chat ids.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.answers.surveys import parse_answer_payload
from bot.delivery.triggers import ContactSpec, TriggerError
from bot.team.alerts import parse_followup_payload
from conversations.builtin import builtin_surveys
from conversations.definitions import survey_from_mapping
from conversations.engine import Conversation
from conversations.parsing import Accepted, Rejected, clean, parse_answer
from conversations.questions import QuestionKind
from conversations.survey import Survey

EVERY_KIND = survey_from_mapping(
    "every_kind",
    {
        "title": "Every kind",
        "default_language": "en",
        "questions": [
            {"id": "nps", "type": "nps", "text": "NPS?"},
            {"id": "csat", "type": "csat", "text": "CSAT?", "optional": True},
            {"id": "ces", "type": "ces", "text": "CES?"},
            {"id": "stars", "type": "rating", "points": 10, "text": "Stars?"},
            {"id": "ok", "type": "yes_no", "text": "OK?"},
            {
                "id": "pick",
                "type": "choice",
                "text": "Pick one",
                "choices": [
                    "Soup",
                    "Salad",
                    {"value": "p", "label": {"en": "Pasta", "fi": "Pasta"}},
                ],
            },
            {"id": "free", "type": "text", "text": "Anything else?", "max_length": 50},
        ],
    },
)
SURVEYS: list[Survey] = [EVERY_KIND, *builtin_surveys().values()]
QUESTIONS = [(survey, question) for survey in SURVEYS for question in survey.questions]

# Text customers send: any Unicode (NUL, control characters, RTL, emoji, surrogate-free),
# plus the shapes that come close to valid answers.
NASTY = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=5000),
    st.from_regex(r"\A\s*[+-]?\d{1,4}([.,]\d*)?\s*(/\s*\d{1,3})?\s*[.!]?\s*\Z"),
    st.sampled_from(
        [
            "",
            "\x00",
            "7\x00",
            "\u202e01",  # right-to-left override
            "٣",  # Arabic-Indic three
            "᧚",
            "𐩀",
            "²",
            "①",
            "１０",  # full-width
            "9\ufe0f\u20e3",  # keycap 9
            "10/10",
            "-0",
            "+5",
            "1e3",
            "NaN",
            "∞",
            "🤷" * 3000,
            "'; DROP TABLE answers; --",
            "<script>alert(1)</script>",
            "kyllä",
            "NO",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(QUESTIONS) - 1), raw=NASTY)
@example(index=[q.id for _, q in QUESTIONS].index("pick"), raw="᧚")
@example(index=[q.id for _, q in QUESTIONS].index("pick"), raw="𐩀")
def test_any_typed_reply_is_an_answer_or_a_reprompt(index: int, raw: str) -> None:
    survey, question = QUESTIONS[index]
    for language in ("en", "fi"):
        result = parse_answer(question, raw, language, survey.default_language)
        assert isinstance(result, Accepted | Rejected)
        if isinstance(result, Rejected):
            assert result.reprompt.strip()
            continue
        value = result.value
        if value is None:
            assert question.optional
        elif question.is_scale:
            low, high = question.bounds
            assert isinstance(value, int) and not isinstance(value, bool)
            assert low <= value <= high
        elif question.kind is QuestionKind.YES_NO:
            assert isinstance(value, bool)
        elif question.kind is QuestionKind.CHOICE:
            assert value in {choice.value for choice in question.choices}
        else:
            assert isinstance(value, str) and value == clean(raw)
            assert 0 < len(value) <= question.max_length
            assert not any(unicodedata.category(ch)[0] == "C" and ch not in "\n\t" for ch in value)


@settings(max_examples=200, deadline=None)
@given(
    survey_index=st.integers(min_value=0, max_value=len(SURVEYS) - 1),
    replies=st.lists(st.tuples(NASTY, st.one_of(st.none(), st.text(max_size=10))), max_size=8),
)
def test_a_conversation_takes_any_sequence_of_replies(
    survey_index: int, replies: list[tuple[str, str | None]]
) -> None:
    survey = SURVEYS[survey_index]
    properties = {name: "x" for name in survey.required_properties()}
    conversation = Conversation(survey, "en", properties, {}, frozenset())
    for raw, question_id in replies:
        step = conversation.answer(raw, question_id)
        conversation = step.conversation
        conversation.prompt()  # the next question or the thanks, always renderable


def test_digits_that_int_refuses_are_not_a_choice() -> None:
    pick = EVERY_KIND.question("pick")
    for raw in ("᧚", "𐩀"):
        result = parse_answer(pick, raw, "en", "en")
        assert isinstance(result, Rejected), raw
    assert parse_answer(pick, "2", "en", "en") == Accepted("salad")
    assert parse_answer(pick, "٢", "en", "en") == Accepted("salad")  # a decimal digit is fine
    assert parse_answer(pick, "²", "en", "en") == Accepted("salad")  # NFKC makes it "2"


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(st.text(), st.from_regex(r"\A[ao]:[0-9a-z]{0,8}:-?\d{0,4}:.{0,40}\Z")))
@example(payload="a:zzzzzzzzzzzzzzzzzzzzzz:0:9")
@example(payload="a:1:99999999999999999999:9")
@example(payload="o:²:0:zz")
@example(payload="f:²:claim")
def test_forged_button_payloads_parse_to_nothing_or_a_well_formed_answer(payload: str) -> None:
    parsed = parse_answer_payload(payload)
    if parsed is not None:
        assert parsed.invitation_id >= 0 and isinstance(parsed.question_index, int)
    parse_followup_payload(payload)  # the team's alert buttons: None or (id, action)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.builds(
            lambda kind, rest: f"{kind}:{rest}",
            st.sampled_from(["telegram", "slack", "web", "ref", "x"]),
            st.text(),
        ),
    )
)
@example(text="telegram:--5")
@example(text="telegram:²")
def test_contact_specs_are_valid_or_refused_with_a_reason(text: str) -> None:
    try:
        spec = ContactSpec.parse(text)
    except TriggerError as error:
        assert error.message
        return
    if spec.channel == "telegram":
        assert spec.address is not None
        int(spec.address)  # a chat id the Bot API takes


@pytest.mark.parametrize("raw", ["'; DROP TABLE answers; --", "<script>alert(1)</script>"])
def test_hostile_text_is_an_answer_like_any_other(raw: str) -> None:
    free = EVERY_KIND.question("free")
    assert parse_answer(free, raw, "en", "en") == Accepted(raw)
