"""A tapped reply button or list row counts only if the message it sat on carried it (as a
Telegram tap's callback data must be on the tapped message's keyboard): a forged id, or an id
of another message's button, is not taken as an answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.delivery.triggers import ContactSpec, TriggerRequest
from tests.conftest import AppFactory
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.telegram_helpers import MovableClock
from tests.whatsapp_helpers import connect, settle, wait_for_message, whatsapp_config

CUSTOMER = "358401234567"
SURVEY = """
[touchpoints.visit]
survey = "visit"

[surveys.visit]
title = "Visit"
[[surveys.visit.questions]]
id = "csat"
type = "csat"
text = "How satisfied were you with your visit?"
[[surveys.visit.questions]]
id = "again"
type = "choice"
text = "Would you come again?"
choices = ["Yes", "No"]
"""


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    fake = FakeWhatsApp()
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_forged_or_misplaced_button_id_is_not_taken_as_an_answer(
    app_factory: AppFactory, fake: FakeWhatsApp, db_path: Path
) -> None:
    app = await app_factory(whatsapp_config(fake, db_path, SURVEY), clock=MovableClock())
    await connect(app, fake)
    await fake.customer_text(CUSTOMER, "hi")  # within the 24-hour window: no template
    await wait_for_message(fake, CUSTOMER, "I ask short feedback surveys")
    await app.triggers.trigger(TriggerRequest("visit", ContactSpec.parse(f"whatsapp:+{CUSTOMER}")))
    await app.invitations.tick()
    question = await wait_for_message(fake, CUSTOMER, "How satisfied were you")
    assert question.type == "interactive" and len(question.rows) == 5
    one_star = question.rows[0][0]
    greeting = next(m for m in fake.sent_to(CUSTOMER) if "I ask short" in m.text)

    # An id the list does not carry, on the list message.
    await fake.customer_replies_with_id(
        CUSTOMER, question.id, one_star.replace("1", "6"), "6", list_reply=True
    )
    # The list's own id, quoting a message that never carried it.
    await fake.customer_replies_with_id(CUSTOMER, greeting.id, one_star, "1", list_reply=True)
    await settle(app, fake)
    assert (await app.store.answers.for_invitation(1))[0] == {}
    assert not any("Would you come again" in m.text for m in fake.sent_to(CUSTOMER))

    # The customer's own tap on the list is the answer.
    await fake.customer_taps(CUSTOMER, question.rows[3][1])
    again = await wait_for_message(fake, CUSTOMER, "Would you come again")
    assert again.button_titles == ["Yes", "No"]
    # A tap that quotes the answered list with the next question's id is not taken either.
    yes_id = again.buttons[0][0]
    await fake.customer_replies_with_id(CUSTOMER, question.id, yes_id, "Yes")
    await settle(app, fake)
    answers = await app.store.answers.for_invitation(1)
    assert answers[0] == {"csat": 4}
    await fake.customer_taps(CUSTOMER, "No")
    await wait_for_message(fake, CUSTOMER, "Thank you for your feedback!")
    answers = await app.store.answers.for_invitation(1)
    assert answers[0] == {"csat": 4, "again": "no"}
