"""Long choice labels in Telegram: a button's callback data stays short whatever the label says.

Real python-telegram-bot against FakeTelegram, which refuses callback data over 64 bytes as
Telegram does.
"""

# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.constants import InlineKeyboardButtonLimit

from bot.answers.surveys import answer_payload, option_key, parse_answer_payload
from bot.app import PalauteApp
from bot.delivery.triggers import ContactSpec, TriggerRequest
from bot.tokens import encode_id
from storage.records import InvitationState
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, FakeUser, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, settle, telegram_config, wait_for_text

LONG_LABEL = (
    "Erittäin ystävällinen ja asiantunteva henkilökunta myymälässä joka jaksoi neuvoa "
    "kärsivällisesti vaikka kysyin samaa asiaa monta kertaa, ja löysi lopulta aivan sopivan "
    "tuotteen varastosta minulle asti"
)
assert len(LONG_LABEL) == 200

SURVEYS = f"""
[surveys.first]
title = "Myymälä"
default_language = "fi"
[[surveys.first.questions]]
id = "best"
type = "choice"
text = "Mikä oli parasta?"
choices = ["{LONG_LABEL}", "Hinnat"]

[surveys.later]
title = "Myymälä"
default_language = "fi"
[[surveys.later.questions]]
id = "score"
type = "csat"
text = "Kuinka tyytyväinen olit?"
[[surveys.later.questions]]
id = "best"
type = "choice"
text = "Mikä oli parasta?"
optional = true
choices = ["Hinnat", "{LONG_LABEL}"]
"""


async def _start(app_factory: AppFactory, fake: FakeTelegram, db_path: Path) -> PalauteApp:
    return await app_factory(telegram_config(fake, db_path, SURVEYS), clock=MovableClock())


async def _trigger(app: PalauteApp, user: FakeUser, touchpoint: str) -> None:
    await app.triggers.trigger(TriggerRequest(touchpoint, ContactSpec("telegram", str(user.id))))
    await app.invitations.tick()


def _long_value(app: PalauteApp, survey: str) -> str:
    [choice] = [
        c for c in app.config.surveys[survey].question("best").choices if len(c.value) > 100
    ]
    return choice.value


async def test_a_200_character_choice_as_the_first_question_is_answered_by_a_tap(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await _start(app_factory, fake, db_path)
    aino, ville = fake.user(801, language_code="fi"), fake.user(802, language_code="fi")
    await _trigger(app, aino, "first")
    await _trigger(app, ville, "first")  # the next invitation is not held back

    question = await wait_for_text(fake, aino, "Mikä oli parasta?")
    assert all(len(b["callback_data"].encode()) <= 64 for b in question.buttons)
    fake.push_callback(aino, question, question.callback_data_for(LONG_LABEL))
    await wait_for_text(fake, aino, "Kiitos")
    assert question.text is not None and LONG_LABEL in question.text  # the answer, echoed
    await wait_for_text(fake, ville, "Mikä oli parasta?")

    ainos, villes = sorted(await app.store.invitations.listing(), key=lambda i: i.id)
    assert (ainos.state, villes.state) == (InvitationState.COMPLETED, InvitationState.SENT)
    answers, _ = await app.store.answers.for_invitation(ainos.id)
    assert answers == {"best": _long_value(app, "first")}


async def test_a_200_character_choice_as_a_later_question_keeps_the_earlier_answer(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    fake = fake_telegram
    app = await _start(app_factory, fake, db_path)
    aino = fake.user(803, language_code="fi")
    await _trigger(app, aino, "later")

    score = await wait_for_text(fake, aino, "Kuinka tyytyväinen")
    fake.push_callback(aino, score, score.callback_data_for("4"))
    best = await wait_for_text(fake, aino, "Mikä oli parasta?")
    assert best.button_texts == ["Hinnat", LONG_LABEL, "Ohita"]  # Skip is still there
    fake.push_callback(aino, best, best.callback_data_for(LONG_LABEL))
    await wait_for_text(fake, aino, "Kiitos")

    [invitation] = await app.store.invitations.listing()
    answers, _ = await app.store.answers.for_invitation(invitation.id)
    assert answers == {"score": 4, "best": _long_value(app, "later")}
    assert invitation.state is InvitationState.COMPLETED


async def test_a_button_sent_before_the_upgrade_still_answers(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path
) -> None:
    """Buttons already on customers' screens carry `a:<invitation>:<question>:<value>`."""
    fake = fake_telegram
    app = await _start(app_factory, fake, db_path)
    aino = fake.user(804, language_code="fi")
    await _trigger(app, aino, "later")
    score = await wait_for_text(fake, aino, "Kuinka tyytyväinen")
    [invitation] = await app.store.invitations.listing()
    old = [f"a:{encode_id(invitation.id)}:0:{value}" for value in range(1, 6)]
    # As the previous release sent it: the same message, the old payloads.
    assert score.reply_markup is not None
    score.reply_markup = {
        "inline_keyboard": [[{"text": str(v), "callback_data": d} for v, d in enumerate(old, 1)]]
    }
    fake.push_callback(aino, score, old[4])
    await wait_for_text(fake, aino, "Mikä oli parasta?")
    answers, _ = await app.store.answers.for_invitation(invitation.id)
    assert answers == {"score": 5}


REORDERED = """
[surveys.pick]
title = "Pick"
[[surveys.pick.questions]]
id = "fruit"
type = "choice"
text = "Which fruit?"
choices = [{choices}]
"""


async def test_a_tap_after_the_choices_were_reordered_or_removed_answers_right_or_not_at_all(
    app_factory: AppFactory,
    fake_telegram: FakeTelegram,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The organizer edits the config while questions are on customers' screens."""
    fake = fake_telegram
    before = REORDERED.format(choices='"Apple", "Banana", "Cherry"')
    first = PalauteApp(telegram_config(fake, db_path, before), clock=MovableClock())
    await first.start()
    aino, ville = fake.user(811), fake.user(812)
    try:
        await _trigger(first, aino, "pick")
        await _trigger(first, ville, "pick")
        ainos = await wait_for_text(fake, aino, "Which fruit?")
        villes = await wait_for_text(fake, ville, "Which fruit?")
    finally:
        await first.stop()

    after = REORDERED.format(choices='"Cherry", "Apple"')  # reordered, Banana gone
    app = await app_factory(telegram_config(fake, db_path, after), clock=MovableClock())
    fake.push_callback(aino, ainos, ainos.callback_data_for("Apple"))
    await wait_for_text(fake, aino, "Thank you")
    with caplog.at_level(logging.WARNING, logger="bot.answers.surveys"):
        fake.push_callback(ville, villes, villes.callback_data_for("Banana"))
        await fake.wait_for(lambda: "no longer offered" in caplog.text)
    await settle(app, fake)
    answers = {
        i.id: (await app.store.answers.for_invitation(i.id))[0]
        for i in await app.store.invitations.listing()
    }
    assert sorted(answers.values(), key=len) == [{}, {"fruit": "apple"}]


@settings(max_examples=200, deadline=None)
@given(
    invitation_id=st.integers(min_value=0, max_value=2**63 - 1),
    question_index=st.integers(min_value=0, max_value=999),
    value=st.text(max_size=500),
)
def test_every_answer_payload_fits_telegram_and_reads_back(
    invitation_id: int, question_index: int, value: str
) -> None:
    payload = answer_payload(invitation_id, question_index, value)
    assert 1 <= len(payload.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    parsed = parse_answer_payload(payload)
    assert parsed is not None
    assert (parsed.invitation_id, parsed.question_index) == (invitation_id, question_index)
    assert parsed.value is None and parsed.option_key == option_key(value)
